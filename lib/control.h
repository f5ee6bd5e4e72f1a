/*
 * A site's tunnel as the other tools see it, from outside the process:
 * whether it runs (pidfile.h), its state file, and how to signal it.
 * Used by opt-status, opt-throttle, opt-tunnel and every tool whose
 * edit a running tunnel must apply.
 */
#ifndef OPT_CONTROL_H
#define OPT_CONTROL_H

#include <sys/types.h>

#include <stdbool.h>

#include "error.h"
#include "paths.h"
#include "state.h"

int opt_tunnel_status(const struct opt_paths *, const char *, bool,
    struct opt_state *, struct opt_error *);
int opt_tunnel_signal(const struct opt_paths *, const char *, int, pid_t *,
    struct opt_error *);

/* How long a tool waits for a tunnel to apply or refuse its files. */
#define OPT_RELOAD_WAIT_MS 2000
int opt_tunnel_reload(const struct opt_paths *, const char *, int, pid_t *,
    struct opt_error *);
bool opt_tunnel_config_pending(const struct opt_paths *, const char *,
    const struct opt_state *);

#endif
