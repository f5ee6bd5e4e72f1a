/*
 * The tunnel engine: one site's SSH session and its channels, driven by
 * one poll() loop in one process.  opt-tunnel's main() prepares it (as
 * root, if it was started as root: the listen ports are bound here),
 * drops privileges, then runs it until SIGTERM has drained the jobs.
 */
#ifndef OPT_TUNNEL_H
#define OPT_TUNNEL_H

#include <stdbool.h>

#include "error.h"
#include "paths.h"
#include "safefile.h"

struct opt_tunnel;

struct opt_tunnel_opts {
	const struct opt_paths *paths;
	const char *site;
	bool foreground; /* log to stderr instead of <log>/<site>.log */
	/* Told of each state change, for setproctitle. */
	void (*on_state)(void *, const char *, const char *, unsigned);
	void *arg;
	int run_fd; /* the checked run directory (safefile.h), the caller's */
	const struct opt_owner *owner; /* who the process is once not root */
};

int opt_tunnel_prepare(struct opt_tunnel **, const struct opt_tunnel_opts *,
    struct opt_error *);
void opt_tunnel_pin_first(struct opt_tunnel *, int);
int opt_tunnel_run(struct opt_tunnel *, struct opt_error *);
void opt_tunnel_free(struct opt_tunnel *);

#endif
