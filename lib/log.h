/*
 * The site's log: one logfmt line per event, appended to
 * <log>/<site>.log (or to stderr for `opt-tunnel run`), e.g.
 *   2026-11-22T11:14:03Z level=info site=nautilus event=up ms=312
 * Each line is one write(2) on an O_APPEND file, so lines never mix.
 */
#ifndef OPT_LOG_H
#define OPT_LOG_H

#include <limits.h>
#include <stddef.h>

#include "error.h"

enum opt_log_level {
	OPT_LOG_DEBUG,
	OPT_LOG_INFO,
	OPT_LOG_WARN,
	OPT_LOG_ERROR,
};

struct opt_log {
	int fd;
	char path[PATH_MAX]; /* "" for stderr */
	char site[64];
	enum opt_log_level min;
};

int opt_log_open(struct opt_log *, const char *, const char *,
    struct opt_error *);
int opt_log_reopen(struct opt_log *, struct opt_error *);
void opt_log_close(struct opt_log *);
void opt_log(struct opt_log *, enum opt_log_level, const char *, const char *,
    ...) __attribute__((format(printf, 4, 5)));
const char *opt_log_quote(char *, size_t, const char *);

#endif
