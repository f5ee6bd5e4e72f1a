/*
 * Whether a site's tunnel runs: its process holds an flock(2) on
 * <run>/<site>.pid for its whole life, so a live lock means a live
 * tunnel and an unlocked pidfile is stale, whatever pid it names.  The
 * run directory is local_user's: the tunnel takes its pidfile relative
 * to the checked directory (safefile.h), never through a link.
 */
#ifndef OPT_PIDFILE_H
#define OPT_PIDFILE_H

#include <sys/types.h>

#include <limits.h>

#include "error.h"
#include "safefile.h"

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

struct opt_pidfile {
	int dirfd; /* the run directory, the caller's */
	int fd;
	char dir[PATH_MAX];
	char name[NAME_MAX + 1];
};

/* 0: taken, locked and emptied; 1: another process holds it; -1. */
int opt_pidfile_take(struct opt_pidfile *, int, const char *, const char *,
    const struct opt_owner *, struct opt_error *);
int opt_pidfile_write(struct opt_pidfile *, struct opt_error *);
void opt_pidfile_remove(struct opt_pidfile *);

#endif
