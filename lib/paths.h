/*
 * Where the files are: built-in defaults from configure, overridden by
 * MAST_CONFIG_DIR, MAST_RUN_DIR, MAST_LOG_DIR, MAST_SPOOL_DIR, and the
 * config dir by -C.
 */
#ifndef OPT_PATHS_H
#define OPT_PATHS_H

#include <limits.h>
#include <stddef.h>

#include "error.h"

struct opt_paths {
	char config[PATH_MAX];
	char run[PATH_MAX];
	char log[PATH_MAX];
	char spool[PATH_MAX];
};

int opt_paths_init(struct opt_paths *, const char *, struct opt_error *);
int opt_paths_site(const struct opt_paths *, const char *, const char *, char *,
    size_t, struct opt_error *);
int opt_paths_run(const struct opt_paths *, const char *, const char *, char *,
    size_t, struct opt_error *);
int opt_paths_join(char *, size_t, struct opt_error *, const char *, ...)
    __attribute__((sentinel));

#endif
