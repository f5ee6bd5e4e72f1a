/*
 * Whether a site's tunnel runs: its process holds an flock(2) on
 * <run>/<site>.pid for its whole life (libbsd pidfile_open), so a live
 * lock means a live tunnel and an unlocked pidfile is stale, whatever
 * pid it names.
 */
#ifndef OPT_PIDFILE_H
#define OPT_PIDFILE_H

#include <sys/types.h>

#include "error.h"

enum opt_proc {
	OPT_PROC_NONE,
	OPT_PROC_RUNNING,
	OPT_PROC_STALE,
};

/* The pid: the file's while that process lives, else the lock holder's
 * (/proc/locks), else 0 (starting).  _exact always asks /proc/locks:
 * for a pid to be signalled (the file may name a process that is not
 * the tunnel); it costs a read of /proc/locks, too much for a display
 * of hundreds of sites. */
enum opt_proc opt_pidfile_probe(const char *, pid_t *);
enum opt_proc opt_pidfile_probe_exact(const char *, pid_t *);
int opt_pidfile_stop(const char *, int, struct opt_error *);

#endif
