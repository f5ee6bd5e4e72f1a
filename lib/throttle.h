/*
 * A site's bandwidth limits, <config>/<site>/throttle.conf: KiB/s of
 * wire bytes per direction, up (to the site) and down.
 */
#ifndef OPT_THROTTLE_H
#define OPT_THROTTLE_H

#include <libconfig.h>
#include <stdbool.h>
#include <stdio.h>

#include "error.h"
#include "paths.h"

struct opt_defaults;

struct opt_throttle {
	bool enabled;
	int up;
	int down;
};

struct opt_throttle_file {
	const char *id;
	const struct opt_throttle *t;
};

extern const char *const opt_throttle_keys[];

void opt_throttle_builtin(struct opt_throttle *);
int opt_throttle_apply(const char *, const config_setting_t *,
    struct opt_throttle *, struct opt_error *);
int opt_throttle_load(const struct opt_paths *, const struct opt_defaults *,
    const char *, struct opt_throttle *, struct opt_error *);
int opt_throttle_save(const struct opt_paths *, const char *,
    const struct opt_throttle *, struct opt_error *);
void opt_throttle_write(FILE *, const char *, const struct opt_throttle *);
void opt_throttle_emit(FILE *, const void *);

#endif
