/*
 * opt-status's parts: opt-status.c (the table, -H, --json and main),
 * status-prom.c (--prometheus), status-check.c (--check), and what
 * they share.
 */
#ifndef OPT_STATUS_H
#define OPT_STATUS_H

#include <stdbool.h>
#include <stdio.h>

#include "cli.h"
#include "spoolstat.h"
#include "state.h"

/* The monitoring convention of --check. */
enum { CHECK_OK, CHECK_WARNING, CHECK_CRITICAL, CHECK_UNKNOWN };

enum { SPOOL_NONE, SPOOL_READ, SPOOL_UNREADABLE };

struct spool_view {
	int state; /* SPOOL_NONE: a direct channel */
	struct opt_spoolstat s;
	struct opt_error e; /* SPOOL_UNREADABLE: why */
};

/* opt-status.c: the tool's options and paths, and the helpers the
 * parts share */
extern struct cli cli;
const char *mode_of(const struct opt_state_channel *);
const struct opt_defaults *defaults(struct opt_error *);
bool spool_views(const struct opt_state *, long long, struct spool_view *);
long long waited(const struct opt_spoolstat *);
void printer_text(char *, size_t, const struct opt_state_channel *);
int printer_up(const struct opt_state_channel *);
void site_error(char *, size_t, const struct opt_state *);
void human_age(char *, size_t, long long);

/* status-prom.c, status-check.c */
void prometheus(FILE *, const struct opt_state *, struct spool_view *const *,
    size_t);
int check(char **, size_t, int);

#endif
