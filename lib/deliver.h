/*
 * Delivery: the jobs of the spool (spool.h) to their printers, through
 * the session, as jobs of forward.c whose source is the data file.  Per
 * channel in the order the jobs were accepted, one at a time.  A job is
 * delivered once all its bytes crossed and the printer closed its side;
 * then it is removed (or kept spool_keep hours in done/).  A delivery
 * cut with the session is tried again from its start as soon as the
 * session is back; one the printer's side failed (no connection, closed
 * early) after a backoff.  Now and then jobs older than spool_max_age
 * move to failed/ and are reported.
 */
#ifndef OPT_DELIVER_H
#define OPT_DELIVER_H

#include <stdbool.h>

#include "forward.h"
#include "listen.h"
#include "log.h"
#include "site.h"
#include "spool.h"

#define OPT_DELIVER_RETRY_MS 5000 /* the first backoff, doubled each time */
#define OPT_DELIVER_RETRY_MAX_MS 300000
#define OPT_DELIVER_EXPIRE_MS 60000 /* housekeeping that often */

struct opt_deliver {
	struct opt_spool *spool;
	struct opt_forward *fwd;
	struct opt_log *log;
	const struct opt_site *site; /* spool_keep, spool_max_age */
	bool rescan; /* every queue to be looked at again */
	long long due; /* unix ms of the earliest retry known, 0: none */
	long long expire_at; /* when housekeeping is next due (clock ms) */
	unsigned long long delivered;
};

void opt_deliver_init(struct opt_deliver *, struct opt_spool *,
    struct opt_forward *, struct opt_log *, const struct opt_site *);
long long opt_deliver_backoff(int);
void opt_deliver_step(struct opt_deliver *, struct opt_listener *, bool,
    long long);
long long opt_deliver_wake(const struct opt_deliver *, bool, long long);

#endif
