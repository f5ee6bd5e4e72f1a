#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "forward.h"

/* libssh2_channel_write() sends at most this much in one packet */
#define PKT_MAX 32700
/* client -> site: room for four whole packets per read */
#define UP_BUF (4 * PKT_MAX)
/* site -> client: printer replies are small */
#define DOWN_BUF (32 * 1024)
#define ABANDON_RETRY_MS 1000

void
opt_forward_init(struct opt_forward *f, struct opt_session *s,
    struct opt_shaper *shaper, struct opt_log *log)
{
	memset(f, 0, sizeof(*f));
	f->s = s;
	f->shaper = shaper;
	f->log = log;
}

/* What counts against a channel's max_jobs. */
unsigned
opt_forward_load(const struct opt_listener *l)
{
	return l->active + l->abandoned;
}

static void
fail_job(struct opt_job *j, const char *why)
{
	if (!j->failed) {
		j->failed = true;
		strlcpy(j->why, why, sizeof(j->why));
	}
}

static void
unlink_job(struct opt_forward *f, struct opt_job *j)
{
	struct opt_job **pp;

	for (pp = &f->jobs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	}
	if (f->opening == j)
		f->opening = NULL;
}

/*
 * What came from the site is read session-wide (a read for one channel,
 * or the keeper's, takes every channel's packets off the socket), so a
 * job's share of the wire bytes down is its share of the payload down
 * while it ran.  Up, each packet is counted for the channel whose write
 * made it (mine()).
 */
static unsigned long long
job_wire_down(const struct opt_forward *f, const struct opt_job *j)
{
	unsigned long long wire = f->s->wire_down - j->wire_down0,
	                   pay = f->payload_down - j->payload_down0;

	if (pay == 0 || j->bytes_down == 0)
		return 0;
	return (unsigned long long)((double)wire * (double)j->bytes_down /
	    (double)pay);
}

/* Ends a job whose channel is gone, or never was, or was abandoned:
 * no libssh2 call. */
static void
drop_job(struct opt_forward *f, struct opt_job *j, const char *event)
{
	char why[OPT_STATE_ERROR_MAX + 8];
	long long ms = opt_clock_ms() - j->start_ms;

	unlink_job(f, j);
	if (j->on_end == NULL && j->fd != -1) {
		if (j->failed)
			opt_client_reset(j->fd);
		else
			close(j->fd);
	}
	if (j->l != NULL) {
		j->l->active--;
		if (j->failed)
			opt_state_text(j->l->last_error,
			    sizeof(j->l->last_error), j->why);
		else
			j->l->last_error[0] = '\0';
	}
	f->active--;
	if (j->on_end != NULL)
		j->on_end(j->arg, j, job_wire_down(f, j), ms);
	else
		opt_log(f->log, j->failed ? OPT_LOG_WARN : OPT_LOG_INFO, event,
		    "channel=%d peer=%s bytes_up=%llu bytes_down=%llu "
		    "wire_up=%llu wire_down=%llu ms=%lld%s%s",
		    j->channel_id, j->peer, j->bytes_up, j->bytes_down,
		    j->wire_up, job_wire_down(f, j), ms,
		    j->failed ? " error=" : "",
		    j->failed ? opt_log_quote(why, sizeof(why), j->why) : "");
	f->dirty = true;
	free(j->up);
	free(j->down);
	free(j);
}

static const char *
end_event(const struct opt_job *j)
{
	return j->failed ? "job-failed" : "job-done";
}

/* Starts closing the job's channel; the pass finishes it. */
static void
close_job(struct opt_forward *f, struct opt_job *j)
{
	if (j->on_end == NULL && j->fd != -1 && j->failed) {
		opt_client_reset(j->fd);
		j->fd = -1;
	}
	if (j->ch == NULL) {
		drop_job(f, j, end_event(j));
		return;
	}
	j->phase = OPT_JOB_CLOSING;
	j->close_ms = opt_clock_ms();
}

static struct opt_job *
new_job(struct opt_forward *f, struct opt_listener *l, int fd, const char *peer,
    opt_job_end_fn *on_end, void *arg)
{
	struct opt_job *j = calloc(1, sizeof(*j)), **pp;

	if (j == NULL)
		return NULL;
	if ((j->up = malloc(UP_BUF)) == NULL ||
	    (j->down = malloc(DOWN_BUF)) == NULL) {
		free(j->up);
		free(j);
		return NULL;
	}
	j->l = l;
	j->channel_id = l->conf.id;
	j->fd = fd;
	j->on_end = on_end;
	j->arg = arg;
	strlcpy(j->printer, l->conf.printer, sizeof(j->printer));
	j->printer_port = l->conf.printer_port;
	j->start_ms = opt_clock_ms();
	strlcpy(j->peer, peer, sizeof(j->peer));
	j->wire_down0 = f->s->wire_down;
	j->payload_down0 = f->payload_down;
	/* Appended: channel opens are served in arrival order. */
	for (pp = &f->jobs; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = j;
	l->active++;
	l->jobs++;
	f->active++;
	f->jobs_total++;
	f->dirty = true;
	return j;
}

/*
 * A delivery from the spool: fd is the job's data file, read from its
 * start; on_end is told how the job ended (and owns fd).  NULL when out
 * of memory.
 */
struct opt_job *
opt_forward_deliver(struct opt_forward *f, struct opt_listener *l, int fd,
    const char *peer, opt_job_end_fn *on_end, void *arg)
{
	return new_job(f, l, fd, peer, on_end, arg);
}

/* Takes the clients waiting on a channel's port, up to the job limits
 * (opt_listener_take): the channel's, and the site's, of which others
 * are taken by spool intakes. */
void
opt_forward_accept(struct opt_forward *f, struct opt_listener *l,
    const struct opt_allow *allow, unsigned others, unsigned site_max,
    long long now)
{
	char peer[64], q[80];
	int i, fd;

	for (i = 0; i < 16; i++) {
		if ((fd = opt_listener_take(l, allow, f->active + others,
		         site_max, now, f->log, peer, sizeof(peer))) == -1)
			return;
		opt_log_quote(q, sizeof(q), peer);
		if (new_job(f, l, fd, peer, NULL, NULL) == NULL) {
			opt_log(f->log, OPT_LOG_ERROR, "refused",
			    "channel=%d peer=%s reason=out-of-memory",
			    l->conf.id, q);
			opt_client_reset(fd);
			continue;
		}
		opt_log(f->log, OPT_LOG_INFO, "job-start", "channel=%d peer=%s",
		    l->conf.id, q);
	}
}

/* The job's libssh2 calls: what they send and read is the job's. */
static void
mine(struct opt_forward *f, struct opt_job *j)
{
	f->s->cur_up = j != NULL ? &j->wire_up : NULL;
}

/*
 * One channel open at a time (SSH's rule per session), in arrival
 * order: when one is answered the next is sent at once.  Returns 0
 * when an open waits for its answer or none is queued, -1 when the
 * session is broken.
 */
static int
open_one(struct opt_forward *f, struct opt_job *j, long long now)
{
	char why[400];
	int r;

	f->opening = j;
	j->phase = OPT_JOB_OPENING;
	mine(f, j);
	j->ch = opt_session_open_direct(f->s, j->printer, j->printer_port,
	    OPT_JOB_WINDOW);
	mine(f, NULL);
	if (j->ch != NULL) {
		f->opening = NULL;
		j->phase = OPT_JOB_RUNNING;
		return 1;
	}
	r = libssh2_session_last_errno(f->s->ssh);
	if (r == LIBSSH2_ERROR_EAGAIN)
		return opt_session_flush(f->s, now); /* on the wire now */
	f->opening = NULL;
	if (opt_session_broken(f->s, r))
		return -1;
	snprintf(why, sizeof(why),
	    "cannot reach printer %s:%d from the site: %s", j->printer,
	    j->printer_port, opt_session_error(f->s));
	fail_job(j, why);
	drop_job(f, j, "job-failed");
	return 1;
}

static int
open_step(struct opt_forward *f, long long now)
{
	struct opt_job *j;
	int r;

	do {
		if ((j = f->opening) == NULL)
			for (j = f->jobs; j != NULL; j = j->next)
				if (j->phase == OPT_JOB_QUEUED)
					break;
		if (j == NULL)
			return 0;
	} while ((r = open_one(f, j, now)) == 1);
	return r;
}

static void
compact(unsigned char *buf, size_t size, size_t *off, size_t *len)
{
	if (*off == *len) {
		*off = *len = 0;
	} else if (*off > size / 2) {
		memmove(buf, buf + *off, *len - *off);
		*len -= *off;
		*off = 0;
	}
}

/* client -> channel; -1 when the session broke, 1 when the job ended */
static int
pump_up(struct opt_forward *f, struct opt_job *j)
{
	size_t sent = 0, high = opt_session_high(f->s);
	bool limited = opt_shaper_on(f->shaper, OPT_DIR_UP), more = false;
	ssize_t n;

	compact(j->up, UP_BUF, &j->up_off, &j->up_len);
	if (!j->client_eof && j->up_len < UP_BUF) {
		size_t want = UP_BUF - j->up_len;

		n = read(j->fd, j->up + j->up_len, want);
		if (n > 0) {
			j->up_len += (size_t)n;
			more = (size_t)n == want;
		} else if (n == 0) {
			j->client_eof = true;
		} else if (errno != EAGAIN && errno != EINTR) {
			fail_job(j,
			    j->on_end != NULL ? "cannot read the spooled job"
			                      : "client connection aborted");
			close_job(f, j);
			return 1;
		}
	}
	/* Under a limit a job takes half the room per pass, so jobs take
	 * turns. */
	while (j->up_off < j->up_len && opt_session_pending(f->s) < high &&
	    (!limited || sent < high / 2)) {
		size_t len = j->up_len - j->up_off;

		/* Whole packets while the client keeps sending: a short
		 * tail waits for the next read (opt_forward_wake() makes
		 * that pass come at once) instead of becoming a packet of
		 * its own, with its own MAC, padding and flush. */
		if (more && len < PKT_MAX)
			break;
		if (limited && len > high / 2)
			len = high / 2;
		n = libssh2_channel_write(j->ch, (char *)j->up + j->up_off,
		    len);
		if (n > 0) {
			sent += (size_t)n;
			j->up_off += (size_t)n;
			j->bytes_up += (unsigned long long)n;
			f->payload_up += (unsigned long long)n;
			if (j->l != NULL)
				j->l->bytes_up += (unsigned long long)n;
			continue;
		}
		if (n == 0 || n == LIBSSH2_ERROR_EAGAIN)
			break; /* the channel's window is full */
		if (opt_session_broken(f->s, (int)n))
			return -1;
		fail_job(j, "printer connection closed during the job");
		close_job(f, j);
		return 1;
	}
	compact(j->up, UP_BUF, &j->up_off, &j->up_len);
	if (j->client_eof && j->up_off == j->up_len && !j->eof_sent) {
		n = libssh2_channel_send_eof(j->ch);
		if (n == 0) {
			j->eof_sent = true;
		} else if (n != LIBSSH2_ERROR_EAGAIN) {
			if (opt_session_broken(f->s, (int)n))
				return -1;
			fail_job(j, "cannot end the job on the printer side");
			close_job(f, j);
			return 1;
		}
	}
	return 0;
}

/* channel -> client; -1 when the session broke, 1 when the job ended */
static int
pump_down(struct opt_forward *f, struct opt_job *j, long long now)
{
	size_t room;
	ssize_t n;

	/* Under a limit only as much as the tokens allow: what is not read
	 * is not acknowledged, and the site stops once the window is
	 * used up. */
	compact(j->down, DOWN_BUF, &j->down_off, &j->down_len);
	while (!j->chan_eof && j->down_len < DOWN_BUF &&
	    (room = opt_shaper_room(f->shaper, OPT_DIR_DOWN, now)) > 0) {
		if (room > DOWN_BUF - j->down_len)
			room = DOWN_BUF - j->down_len;
		n = libssh2_channel_read(j->ch, (char *)j->down + j->down_len,
		    room);
		if (n > 0) {
			j->down_len += (size_t)n;
			j->bytes_down += (unsigned long long)n;
			f->payload_down += (unsigned long long)n;
			if (j->l != NULL)
				j->l->bytes_down += (unsigned long long)n;
			continue;
		}
		if (n == 0 || n == LIBSSH2_ERROR_EAGAIN) {
			if (libssh2_channel_eof(j->ch))
				j->chan_eof = true;
			break;
		}
		if (opt_session_broken(f->s, (int)n))
			return -1;
		j->chan_eof = true;
	}
	if (j->on_end != NULL) { /* a delivery: the reply is kept, not sent */
		size_t take = j->down_len - j->down_off;

		if (take > sizeof(j->reply) - j->reply_len)
			take = sizeof(j->reply) - j->reply_len;
		memcpy(j->reply + j->reply_len, j->down + j->down_off, take);
		j->reply_len += take;
		j->down_off = j->down_len;
	}
	while (j->down_off < j->down_len) {
		n = send(j->fd, j->down + j->down_off,
		    j->down_len - j->down_off, MSG_NOSIGNAL);
		if (n > 0) {
			j->down_off += (size_t)n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		/* Once the whole job went out, a client that no longer
		 * reads the printer's reply does not fail it. */
		if (!j->eof_sent)
			fail_job(j, "client connection lost");
		close_job(f, j);
		return 1;
	}
	compact(j->down, DOWN_BUF, &j->down_off, &j->down_len);
	if (j->chan_eof && j->down_off == j->down_len) {
		if (!j->client_eof || j->up_off < j->up_len) {
			fail_job(j,
			    "the printer closed before the end of the job");
			close_job(f, j);
			return 1;
		}
		if (!j->client_shut && j->on_end == NULL) {
			shutdown(j->fd, SHUT_WR);
			j->client_shut = true;
		}
		if (j->eof_sent) {
			close_job(f, j);
			return 1;
		}
	}
	return 0;
}

/*
 * A client that reset its connection while the job does not read it
 * (its buffer is full: the printer is slow) is seen by poll() alone,
 * and poll() would say so again and again.
 */
static bool
client_gone(struct opt_forward *f, struct opt_job *j)
{
	if (j->pfd == NULL || !(j->pfd->revents & (POLLERR | POLLHUP)))
		return false;
	if (!j->eof_sent)
		fail_job(j, "client connection aborted");
	close_job(f, j);
	return true;
}

static int
pump(struct opt_forward *f, struct opt_job *j, long long now)
{
	int r;

	if (client_gone(f, j))
		return 0;
	mine(f, j);
	r = pump_up(f, j);
	if (r == 0)
		r = pump_down(f, j, now);
	mine(f, NULL);
	return r == -1 ? -1 : 0;
}

/*
 * A channel whose close the site never answers (its printer stopped
 * reading, so the site's side cannot finish) is left to the session:
 * the job ends, the client was already told, and the channel is freed
 * when the site lets go, or with the session.  It counts against its
 * channel's limit meanwhile.
 */
static void
abandon(struct opt_forward *f, struct opt_job *j, long long now)
{
	struct opt_abandoned *a = calloc(1, sizeof(*a));

	if (a != NULL) {
		a->l = j->l;
		a->ch = j->ch;
		a->channel_id = j->channel_id;
		a->next_try = now + ABANDON_RETRY_MS;
		a->next = f->abandoned;
		f->abandoned = a;
		if (a->l != NULL)
			a->l->abandoned++;
		f->active++;
	}
	opt_log(f->log, OPT_LOG_WARN, "channel-abandoned",
	    "channel=%d waited_ms=%lld", j->channel_id, now - j->close_ms);
	j->ch = NULL;
	drop_job(f, j, end_event(j));
}

/* Returns -1 when the session broke. */
static int
close_step(struct opt_forward *f, struct opt_job *j, long long now)
{
	int r;

	mine(f, j);
	r = libssh2_channel_free(j->ch);
	mine(f, NULL);
	if (r == LIBSSH2_ERROR_EAGAIN) {
		if (now - j->close_ms > OPT_CLOSE_WAIT_MS)
			abandon(f, j, now);
		return 0;
	}
	j->ch = NULL;
	if (opt_session_broken(f->s, r))
		return -1;
	drop_job(f, j, end_event(j));
	return 0;
}

static void
forget_abandoned(struct opt_forward *f, struct opt_abandoned **pp)
{
	struct opt_abandoned *a = *pp;

	*pp = a->next;
	if (a->l != NULL)
		a->l->abandoned--;
	f->active--;
	free(a);
}

static int
retry_abandoned(struct opt_forward *f, long long now)
{
	struct opt_abandoned **pp, *a;
	int r;

	for (pp = &f->abandoned; (a = *pp) != NULL;) {
		if (now < a->next_try) {
			pp = &a->next;
			continue;
		}
		r = libssh2_channel_free(a->ch);
		if (r == LIBSSH2_ERROR_EAGAIN) {
			a->next_try = now + ABANDON_RETRY_MS;
			pp = &a->next;
			continue;
		}
		if (opt_session_broken(f->s, r))
			return -1;
		opt_log(f->log, OPT_LOG_INFO, "channel-freed", "channel=%d",
		    a->channel_id);
		forget_abandoned(f, pp);
		f->dirty = true;
	}
	return 0;
}

/* One pass over the jobs; -1 when the session broke (why says how). */
int
opt_forward_pass(struct opt_forward *f, long long now)
{
	struct opt_job *j, *next;
	unsigned i, start, count = 0;

	f->pass_rx = f->s->wire_down;
	if (open_step(f, now) == -1 || retry_abandoned(f, now) == -1)
		return -1;
	/*
	 * Round robin: the pass starts after the job that last moved bytes.
	 * Under a limit the room a refill opens goes to whoever comes
	 * first; turning by passes instead would hand it to the same job
	 * whenever passes come in pairs (a refill, then a client wakeup).
	 */
	for (j = f->jobs; j != NULL; j = j->next)
		count++;
	start = count ? f->rr % count : 0;
	for (i = 0; i < 2; i++) {
		unsigned k = 0;

		for (j = f->jobs; j != NULL; j = next, k++) {
			unsigned long long moved =
			    f->payload_up + f->payload_down;

			next = j->next;
			if ((i == 0) != (k >= start))
				continue;
			if (j->phase == OPT_JOB_RUNNING &&
			    pump(f, j, now) == -1)
				return -1;
			if (j->phase == OPT_JOB_CLOSING &&
			    close_step(f, j, now) == -1)
				return -1;
			if (f->payload_up + f->payload_down != moved)
				f->rr = k + 1;
		}
	}
	return 0;
}

/*
 * Whether a pass can move data without waiting for the sockets: libssh2
 * holds data a channel can take, or a channel's window opened (a window
 * adjust is often read by another channel's call, leaving nothing to
 * poll for).
 */
static bool
work_pending(struct opt_forward *f, long long now)
{
	const struct opt_job *j;

	for (j = f->jobs; j != NULL; j = j->next) {
		unsigned long avail = 0;

		if (j->phase != OPT_JOB_RUNNING)
			continue;
		/* A data file is always readable: no poll() says so. */
		if ((j->up_off < j->up_len ||
		        (j->on_end != NULL && !j->client_eof)) &&
		    opt_session_pending(f->s) < opt_session_high(f->s) &&
		    libssh2_channel_window_write_ex(j->ch, NULL) > 0)
			return true;
		if (j->chan_eof || j->down_len >= DOWN_BUF ||
		    opt_shaper_room(f->shaper, OPT_DIR_DOWN, now) == 0)
			continue;
		libssh2_channel_window_read_ex(j->ch, &avail, NULL);
		if (avail > 0)
			return true;
	}
	return false;
}

/* A job that came after the pass (a delivery, say) waits for its open. */
static bool
queued_jobs(const struct opt_forward *f)
{
	const struct opt_job *j;

	for (j = f->jobs; j != NULL; j = j->next)
		if (j->phase == OPT_JOB_QUEUED)
			return true;
	return false;
}

static bool
closing_jobs(const struct opt_forward *f)
{
	const struct opt_job *j;

	for (j = f->jobs; j != NULL; j = j->next)
		if (j->phase == OPT_JOB_CLOSING)
			return true;
	return false;
}

/* Milliseconds until the jobs need a pass without any socket; -1 for
 * never. */
long long
opt_forward_wake(struct opt_forward *f, long long now)
{
	long long ms = -1;
	const struct opt_abandoned *a;

	if (work_pending(f, now) || (f->opening == NULL && queued_jobs(f)))
		return 0;
	/* A channel open's or close's answer read by another channel's
	 * call waits inside libssh2, with nothing left to poll for. */
	if (f->s->wire_down != f->pass_rx &&
	    (f->opening != NULL || closing_jobs(f)))
		return 0;
	if (f->jobs != NULL && opt_shaper_on(f->shaper, OPT_DIR_DOWN) &&
	    opt_shaper_room(f->shaper, OPT_DIR_DOWN, now) == 0)
		ms = opt_shaper_wait(f->shaper, OPT_DIR_DOWN, 4096);
	for (a = f->abandoned; a != NULL; a = a->next)
		if (ms == -1 || a->next_try - now < ms)
			ms = a->next_try > now ? a->next_try - now : 0;
	return ms;
}

/* The clients to poll; cap bounds what is written to pfd. */
size_t
opt_forward_pollfds(struct opt_forward *f, struct pollfd *pfd, size_t cap)
{
	struct opt_job *j;
	size_t n = 0;

	for (j = f->jobs; j != NULL; j = j->next) {
		short ev = 0;

		j->pfd = NULL;
		/* Once its side is shut, a client's socket hangs up: it
		 * would wake every poll() until the job ends. */
		if (n == cap || j->fd == -1 || j->phase != OPT_JOB_RUNNING ||
		    j->client_shut || j->on_end != NULL)
			continue;
		if (!j->client_eof && j->up_len < UP_BUF)
			ev |= POLLIN;
		if (j->down_off < j->down_len)
			ev |= POLLOUT;
		j->pfd = &pfd[n];
		pfd[n].fd = j->fd;
		pfd[n].revents = 0;
		pfd[n++].events = ev;
	}
	return n;
}

unsigned
opt_forward_njobs(const struct opt_forward *f)
{
	const struct opt_job *j;
	unsigned n = 0;

	for (j = f->jobs; j != NULL; j = j->next)
		n++;
	return n;
}

/* Draining: jobs not yet started are refused (reset). */
void
opt_forward_stop_queued(struct opt_forward *f, const char *why)
{
	struct opt_job *j, *next;

	for (j = f->jobs; j != NULL; j = next) {
		next = j->next;
		if (j->phase == OPT_JOB_QUEUED) {
			fail_job(j, why);
			drop_job(f, j, "job-failed");
		}
	}
}

/*
 * The session is gone (or the drain time is over): every job ends, and
 * its client gets a reset unless its job had already ended cleanly.
 * The channels go with the session.
 */
void
opt_forward_drop_all(struct opt_forward *f, const char *why, const char *event)
{
	struct opt_job *j;

	while ((j = f->jobs) != NULL) {
		bool done = j->phase == OPT_JOB_CLOSING && !j->failed;

		if (!done) {
			fail_job(j, why);
			j->session_lost = true;
		}
		j->ch = NULL;
		drop_job(f, j, done ? "job-done" : event);
	}
	while (f->abandoned != NULL)
		forget_abandoned(f, &f->abandoned);
	f->opening = NULL;
}

/* Its channel is removed: its jobs run on to their end. */
void
opt_forward_detach(struct opt_forward *f, const struct opt_listener *l)
{
	struct opt_job *j;
	struct opt_abandoned *a;

	for (j = f->jobs; j != NULL; j = j->next)
		if (j->l == l)
			j->l = NULL;
	for (a = f->abandoned; a != NULL; a = a->next)
		if (a->l == l)
			a->l = NULL;
}
