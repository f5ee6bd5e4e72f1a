#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sysexits.h>

#include "clock.h"
#include "deliver.h"

/* One job on its way: the claim holds the data file and its lock. */
struct delivery {
	struct opt_deliver *d;
	struct opt_spool_claim c;
};

static long long
wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void
opt_deliver_init(struct opt_deliver *d, struct opt_spool *spool,
    struct opt_forward *fwd, struct opt_log *log, const struct opt_site *site)
{
	memset(d, 0, sizeof(*d));
	d->spool = spool;
	d->fwd = fwd;
	d->log = log;
	d->site = site;
	d->rescan = true;
}

/* The wait after the attempt-th failed attempt the printer's side made. */
long long
opt_deliver_backoff(int attempt)
{
	long long ms = OPT_DELIVER_RETRY_MS;

	while (--attempt > 0 && ms < OPT_DELIVER_RETRY_MAX_MS)
		ms *= 2;
	return ms < OPT_DELIVER_RETRY_MAX_MS ? ms : OPT_DELIVER_RETRY_MAX_MS;
}

static void
ended(void *arg, const struct opt_job *j, unsigned long long wire_down,
    long long ms)
{
	struct delivery *dl = arg;
	struct opt_deliver *d = dl->d;
	struct opt_spool_job *job = &dl->c.job;
	struct opt_error e;
	char q[OPT_ERROR_MAX + 8], raw[sizeof(j->reply) + 1],
	    r[sizeof(j->reply) * 4 + 8];
	long long wait;

	d->rescan = true;
	if (!j->failed) {
		job->attempts++;
		if (opt_spool_delivered(d->spool, &dl->c, d->site->spool_keep,
		        &e) == -1)
			opt_log(d->log, OPT_LOG_ERROR, "spool-error",
			    "channel=%d job=%010llu error=%s", j->channel_id,
			    job->id, opt_log_quote(q, sizeof(q), e.text));
		d->delivered++;
		memcpy(raw, j->reply, j->reply_len);
		raw[j->reply_len] = '\0';
		opt_log(d->log, OPT_LOG_INFO, "job-delivered",
		    "channel=%d job=%010llu attempts=%d bytes_up=%llu "
		    "bytes_down=%llu wire_up=%llu wire_down=%llu ms=%lld%s%s",
		    j->channel_id, job->id, job->attempts, j->bytes_up,
		    j->bytes_down, j->wire_up, wire_down, ms,
		    j->reply_len ? " reply=" : "",
		    j->reply_len ? opt_log_quote(r, sizeof(r), raw) : "");
	} else if (j->phase == OPT_JOB_QUEUED) {
		/* Never sent: not an attempt. */
		opt_log(d->log, OPT_LOG_INFO, "delivery-stopped",
		    "channel=%d job=%010llu error=%s", j->channel_id, job->id,
		    opt_log_quote(q, sizeof(q), j->why));
		opt_spool_release(&dl->c);
	} else {
		wait = j->session_lost ? 0
		                       : opt_deliver_backoff(job->attempts + 1);
		opt_log(d->log, OPT_LOG_WARN, "delivery-failed",
		    "channel=%d job=%010llu attempt=%d bytes_up=%llu ms=%lld "
		    "error=%s retry_in_ms=%lld",
		    j->channel_id, job->id, job->attempts + 1, j->bytes_up, ms,
		    opt_log_quote(q, sizeof(q), j->why), wait);
		if (opt_spool_attempt_failed(d->spool, &dl->c, j->why,
		        wall_ms() + wait, &e) == -1)
			opt_log(d->log, OPT_LOG_ERROR, "spool-error",
			    "channel=%d job=%010llu error=%s", j->channel_id,
			    job->id, opt_log_quote(q, sizeof(q), e.text));
	}
	free(dl);
}

static bool
busy(const struct opt_deliver *d, int channel)
{
	const struct opt_job *j;

	for (j = d->fwd->jobs; j != NULL; j = j->next)
		if (j->on_end == ended && j->channel_id == channel)
			return true;
	return false;
}

static void
later(struct opt_deliver *d, long long at)
{
	if (d->due == 0 || at < d->due)
		d->due = at;
}

static void
start(struct opt_deliver *d, struct opt_listener *l,
    const struct opt_spool_job *job)
{
	struct delivery *dl = calloc(1, sizeof(*dl));
	struct opt_error e;
	char q[OPT_ERROR_MAX + 8];

	if (dl == NULL) {
		later(d, wall_ms() + 1000);
		return;
	}
	dl->d = d;
	if (opt_spool_claim(d->spool, job, &dl->c, &e) == -1) {
		free(dl);
		if (e.status == EX_TEMPFAIL) { /* opt-queue holds it a moment */
			later(d, wall_ms() + 1000);
			return;
		}
		opt_log(d->log, OPT_LOG_ERROR, "spool-error",
		    "channel=%d job=%010llu error=%s", job->channel, job->id,
		    opt_log_quote(q, sizeof(q), e.text));
		later(d, wall_ms() + OPT_DELIVER_RETRY_MAX_MS);
		return;
	}
	if (opt_forward_deliver(d->fwd, l, dl->c.fd, "spool", ended, dl) ==
	    NULL) {
		opt_spool_release(&dl->c);
		free(dl);
		later(d, wall_ms() + 1000);
		return;
	}
	opt_log(d->log, OPT_LOG_INFO, "delivery-start",
	    "channel=%d job=%010llu attempt=%d bytes=%lld", job->channel,
	    job->id, dl->c.job.attempts + 1, dl->c.job.bytes);
}

/* The channel's oldest queued job, if it is due. */
static void
next_of(struct opt_deliver *d, struct opt_listener *l, long long now)
{
	struct opt_spool_list list;
	struct opt_error e;
	char q[OPT_ERROR_MAX + 8];
	size_t i;

	if (opt_spool_list(d->spool, l->conf.id, 0, &list, &e) == -1) {
		opt_log(d->log, OPT_LOG_ERROR, "spool-error",
		    "channel=%d error=%s", l->conf.id,
		    opt_log_quote(q, sizeof(q), e.text));
		later(d, now + OPT_DELIVER_RETRY_MS);
		return;
	}
	for (i = 0; i < list.n; i++) {
		const struct opt_spool_job *job = &list.v[i];

		if (job->state == OPT_SPOOL_FAILED)
			continue;
		if (job->state == OPT_SPOOL_SENDING)
			later(d, now + 1000);
		else if (job->next_try > now)
			later(d, job->next_try);
		else
			start(d, l, job);
		break;
	}
	opt_spool_list_free(&list);
}

static void
expired(void *arg, const struct opt_spool_job *job)
{
	struct opt_deliver *d = arg;
	char q[OPT_SPOOL_ERROR_MAX + 8];

	opt_log(d->log, OPT_LOG_ERROR, "job-expired",
	    "channel=%d job=%010llu age=%lld attempts=%d error=%s",
	    job->channel, job->id,
	    (long long)(wall_ms() / 1000) - job->accepted, job->attempts,
	    opt_log_quote(q, sizeof(q), job->last_error));
}

/*
 * Starts what is due: a queue's next job on each channel that has none
 * on its way (up: the session is up and the tunnel not stopping), and
 * the housekeeping.  Every channel's queue is delivered, whatever its
 * mode is now: a channel set back to direct still sends what it holds.
 */
void
opt_deliver_step(struct opt_deliver *d, struct opt_listener *ls, bool up,
    long long clock)
{
	struct opt_error e;
	char q[OPT_ERROR_MAX + 8];
	long long now = wall_ms();
	struct opt_listener *l;

	if (clock >= d->expire_at) {
		d->expire_at = clock + OPT_DELIVER_EXPIRE_MS;
		d->rescan = true; /* a change no signal told of, too */
		if (opt_spool_expire(d->spool, now / 1000,
		        d->site->spool_max_age, d->site->spool_keep, expired, d,
		        &e) == -1)
			opt_log(d->log, OPT_LOG_ERROR, "spool-error",
			    "error=%s", opt_log_quote(q, sizeof(q), e.text));
	}
	if (!up || (!d->rescan && (d->due == 0 || now < d->due)))
		return;
	d->rescan = false;
	d->due = 0;
	for (l = ls; l != NULL; l = l->next)
		if (!busy(d, l->conf.id))
			next_of(d, l, now);
}

/* Milliseconds until a step is due; -1 for never. */
long long
opt_deliver_wake(const struct opt_deliver *d, bool up, long long clock)
{
	long long ms = d->expire_at > clock ? d->expire_at - clock : 0, w;

	if (up && d->rescan)
		return 0;
	if (up && d->due != 0) {
		w = d->due - wall_ms();
		if (w < ms)
			ms = w > 0 ? w : 0;
	}
	return ms;
}
