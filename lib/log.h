/*
 * The site's log: one logfmt line per event, appended to
 * <log>/<site>.log (or to stderr for `opt-tunnel run`), e.g.
 *   2026-11-22T11:14:03Z level=info site=nautilus event=up ms=312
 * Each line is one write(2) on an O_APPEND file, so lines never mix.
 * The log directory is local_user's: the file is opened relative to the
 * checked directory, at start and on every reopen (safefile.h).
 */
#ifndef OPT_LOG_H
#define OPT_LOG_H

#include <limits.h>
#include <stddef.h>

#include "error.h"
#include "safefile.h"

enum opt_log_level {
	OPT_LOG_DEBUG,
	OPT_LOG_INFO,
	OPT_LOG_WARN,
	OPT_LOG_ERROR,
};

struct opt_log {
	int fd;
	int dirfd; /* the log directory, the caller's; -1 for stderr */
	char dir[PATH_MAX];
	char name[80];
	char site[64];
	struct opt_owner owner;
	enum opt_log_level min;
};

int opt_log_open(struct opt_log *, int, const char *, const char *,
    const struct opt_owner *, struct opt_error *);
int opt_log_reopen(struct opt_log *, struct opt_error *);
void opt_log_close(struct opt_log *);
void opt_log(struct opt_log *, enum opt_log_level, const char *, const char *,
    ...) __attribute__((format(printf, 4, 5)));
const char *opt_log_quote(char *, size_t, const char *);

#endif
