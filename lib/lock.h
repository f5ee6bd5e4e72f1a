/*
 * The config lock: one flock(2) on <config>/.lock serializes every edit
 * that allocates ports or touches several sites.  Waiting is bounded;
 * a lock still busy then is EX_TEMPFAIL.
 */
#ifndef OPT_LOCK_H
#define OPT_LOCK_H

#include "error.h"
#include "paths.h"

#define OPT_LOCK_WAIT_MS 10000

struct opt_lock {
	int fd;
};

int opt_lock_take(const struct opt_paths *, int, struct opt_lock *,
    struct opt_error *);
void opt_lock_release(struct opt_lock *);

#endif
