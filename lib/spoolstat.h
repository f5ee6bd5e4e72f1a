/*
 * A channel's spool in figures, for opt-status: counted from the files
 * (spool.h) each time, so that they hold also while no tunnel runs and
 * jobs wait all the same.
 */
#ifndef OPT_SPOOLSTAT_H
#define OPT_SPOOLSTAT_H

#include "error.h"
#include "spool.h"

struct opt_spoolstat {
	unsigned long long queued; /* queued or sending */
	unsigned long long bytes; /* of the queued ones */
	long long oldest; /* accepted (unix s) of the oldest queued, 0: none */
	unsigned long long late; /* queued ones accepted before late_before */
	unsigned long long failed;
	long long oldest_failed; /* accepted, unix s, 0: none */
};

/* The figures of one channel of a spool open for reading; a channel
 * that has no directory has none.  -1 when it cannot be read. */
int opt_spoolstat_read(struct opt_spool *, int channel, long long late_before,
    struct opt_spoolstat *, struct opt_error *);

#endif
