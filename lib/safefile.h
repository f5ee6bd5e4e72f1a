/*
 * Files in the directories local_user writes (run, log, spool), for a
 * process that may be root.  The directory is opened once and checked:
 * a directory another user may change (writable by group or others, or
 * owned by anyone but root and local_user) is refused, never changed.
 * From then on everything is relative to its descriptor: no symbolic
 * link is followed, a file with another link elsewhere is refused, and
 * a file is handed over by its descriptor (fchown), never by its path.
 */
#ifndef OPT_SAFEFILE_H
#define OPT_SAFEFILE_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* Who the process is once it dropped root: local_user, or itself. */
struct opt_owner {
	uid_t uid;
	gid_t gid;
	char name[64];
};

int opt_owner_of(const char *, struct opt_owner *, struct opt_error *);

/* The directory WHAT ("run", "log") at PATH, made (and given to the
 * owner, with MODE) if missing and MODE is not 0; WRITER: the owner
 * must own it, since it writes there after dropping root.  The
 * descriptor, or -1 (status 77 for a directory refused). */
int opt_safedir_open(const char *what, const char *path, mode_t mode,
    bool writer, const struct opt_owner *, struct opt_error *);

/* NAME in the directory open as dirfd (DIR in messages): open(2) flags
 * and mode, never O_TRUNC (ftruncate the descriptor once it is known
 * to be safe).  A file it creates is given to the owner. */
int opt_safefile_open(int dirfd, const char *dir, const char *name, int flags,
    mode_t mode, const struct opt_owner *, struct opt_error *);
int opt_safefile_unlink(int dirfd, const char *path);

#endif
