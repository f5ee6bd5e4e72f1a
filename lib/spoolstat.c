#include <string.h>

#include "spoolstat.h"

static void
older(long long *oldest, long long accepted)
{
	if (*oldest == 0 || accepted < *oldest)
		*oldest = accepted;
}

int
opt_spoolstat_read(struct opt_spool *s, int channel, long long late_before,
    struct opt_spoolstat *st, struct opt_error *e)
{
	struct opt_spool_list l;
	size_t i;

	memset(st, 0, sizeof(*st));
	if (opt_spool_list(s, channel, 0, &l, e) == -1)
		return -1;
	for (i = 0; i < l.n; i++) {
		const struct opt_spool_job *j = &l.v[i];

		if (j->state == OPT_SPOOL_FAILED) {
			st->failed++;
			older(&st->oldest_failed, j->accepted);
			continue;
		}
		st->queued++;
		st->bytes += (unsigned long long)j->bytes;
		older(&st->oldest, j->accepted);
		if (j->accepted < late_before)
			st->late++;
	}
	opt_spool_list_free(&l);
	return 0;
}
