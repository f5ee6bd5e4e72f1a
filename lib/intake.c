#include <sys/socket.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "intake.h"

/* What one read takes; a pass reads a client at most this many times,
 * so that every client and the session get their turn. */
#define CHUNK (64 * 1024)
#define READS_PER_PASS 4

void
opt_intakes_init(struct opt_intakes *ia, struct opt_spool *spool,
    struct opt_log *log)
{
	memset(ia, 0, sizeof(*ia));
	ia->spool = spool;
	ia->log = log;
}

static void
unlink_intake(struct opt_intakes *ia, struct opt_intake_job *j)
{
	struct opt_intake_job **pp;

	for (pp = &ia->jobs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	}
	if (j->l != NULL)
		j->l->active--;
	ia->active--;
	free(j);
}

/* Nothing of the job is left; its client gets a reset. */
static void
refuse(struct opt_intakes *ia, struct opt_intake_job *j, const char *why)
{
	char q[OPT_ERROR_MAX + 8], p[80];

	opt_spool_intake_abort(&j->in);
	opt_client_reset(j->fd);
	opt_log(ia->log, OPT_LOG_WARN, "job-refused",
	    "channel=%d peer=%s bytes=%lld ms=%lld error=%s", j->channel_id,
	    opt_log_quote(p, sizeof(p), j->peer), j->in.job.bytes,
	    opt_clock_ms() - j->start_ms, opt_log_quote(q, sizeof(q), why));
	if (j->l != NULL)
		opt_state_text(j->l->last_error, sizeof(j->l->last_error), why);
	unlink_intake(ia, j);
}

/* The client ended its side: the job is stored for good, then the
 * client sees the end. */
static void
commit(struct opt_intakes *ia, struct opt_intake_job *j)
{
	struct opt_spool_job job;
	struct opt_error e;
	char p[80];

	/* A connection that sent nothing (a port check) is no job. */
	if (j->in.job.bytes == 0) {
		opt_spool_intake_abort(&j->in);
		close(j->fd);
		opt_log(ia->log, OPT_LOG_INFO, "job-empty",
		    "channel=%d peer=%s", j->channel_id,
		    opt_log_quote(p, sizeof(p), j->peer));
		unlink_intake(ia, j);
		return;
	}
	if (opt_spool_intake_commit(&j->in, &job, &e) == -1) {
		refuse(ia, j, e.text);
		return;
	}
	(void)shutdown(j->fd, SHUT_WR);
	close(j->fd);
	opt_log(ia->log, OPT_LOG_INFO, "job-stored",
	    "channel=%d job=%010llu peer=%s bytes=%lld ms=%lld", j->channel_id,
	    job.id, opt_log_quote(p, sizeof(p), j->peer), job.bytes,
	    opt_clock_ms() - j->start_ms);
	if (j->l != NULL)
		j->l->last_error[0] = '\0';
	ia->stored++;
	ia->changed = true;
	unlink_intake(ia, j);
}

/*
 * Takes the clients waiting on a spool channel's port, up to the job
 * limits: the channel's, and the site's (others: the jobs the site's
 * session runs).
 */
void
opt_intake_accept(struct opt_intakes *ia, struct opt_listener *l,
    const struct opt_allow *allow, unsigned others, unsigned site_max,
    long long now)
{
	struct opt_intake_job *j;
	struct opt_error e;
	char peer[64], q[80], qe[OPT_ERROR_MAX + 8];
	int i, fd;

	for (i = 0; i < 16; i++) {
		if ((fd = opt_listener_take(l, allow, others + ia->active,
		         site_max, now, ia->log, peer, sizeof(peer))) == -1)
			return;
		opt_log_quote(q, sizeof(q), peer);
		if ((j = calloc(1, sizeof(*j))) == NULL) {
			opt_log(ia->log, OPT_LOG_ERROR, "refused",
			    "channel=%d peer=%s reason=out-of-memory",
			    l->conf.id, q);
			opt_client_reset(fd);
			continue;
		}
		if (opt_spool_intake_begin(ia->spool, l->conf.id, peer, &j->in,
		        &e) == -1) {
			opt_log(ia->log, OPT_LOG_ERROR, "job-refused",
			    "channel=%d peer=%s bytes=0 ms=0 error=%s",
			    l->conf.id, q,
			    opt_log_quote(qe, sizeof(qe), e.text));
			opt_state_text(l->last_error, sizeof(l->last_error),
			    e.text);
			opt_client_reset(fd);
			free(j);
			continue;
		}
		j->l = l;
		j->channel_id = l->conf.id;
		j->fd = fd;
		j->start_ms = now;
		strlcpy(j->peer, peer, sizeof(j->peer));
		j->next = ia->jobs;
		ia->jobs = j;
		l->active++;
		ia->active++;
	}
}

/* What a client sent since the last pass, into the spool. */
static void
take(struct opt_intakes *ia, struct opt_intake_job *j)
{
	unsigned char buf[CHUNK];
	struct opt_error e;
	ssize_t n;
	int i;

	for (i = 0; i < READS_PER_PASS; i++) {
		n = read(j->fd, buf, sizeof(buf));
		if (n == 0) {
			commit(ia, j);
			return;
		}
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			refuse(ia, j, "client connection aborted");
			return;
		}
		if (opt_spool_intake_write(&j->in, buf, (size_t)n, &e) == -1) {
			refuse(ia, j, e.text);
			return;
		}
		if ((size_t)n < sizeof(buf))
			return;
	}
}

void
opt_intake_pass(struct opt_intakes *ia)
{
	struct opt_intake_job *j, *next;

	for (j = ia->jobs; j != NULL; j = next) {
		next = j->next;
		if (j->pfd == NULL || j->pfd->revents == 0)
			continue;
		if (j->pfd->revents & (POLLIN | POLLHUP | POLLERR))
			take(ia, j);
	}
}

/* The clients to poll; cap bounds what is written to pfd. */
size_t
opt_intake_pollfds(struct opt_intakes *ia, struct pollfd *pfd, size_t cap)
{
	struct opt_intake_job *j;
	size_t n = 0;

	for (j = ia->jobs; j != NULL; j = j->next) {
		j->pfd = NULL;
		if (n == cap)
			continue;
		j->pfd = &pfd[n];
		pfd[n].fd = j->fd;
		pfd[n].events = POLLIN;
		pfd[n++].revents = 0;
	}
	return n;
}

/* The tunnel stops: jobs not yet stored whole are refused. */
void
opt_intake_drop_all(struct opt_intakes *ia, const char *why)
{
	while (ia->jobs != NULL)
		refuse(ia, ia->jobs, why);
}

/* Its channel is removed: its clients' jobs are stored all the same. */
void
opt_intake_detach(struct opt_intakes *ia, const struct opt_listener *l)
{
	struct opt_intake_job *j;

	for (j = ia->jobs; j != NULL; j = j->next)
		if (j->l == l)
			j->l = NULL;
}

/* Bytes the spool can still take: what its limit and its file system
 * leave, the least of the two. */
long long
opt_intake_room(const struct opt_intakes *ia)
{
	const struct opt_spool *s = ia->spool;
	long long room = LLONG_MAX, disk;
	struct statvfs v;

	if (s->max_bytes > 0)
		room = s->max_bytes - s->used;
	if (fstatvfs(s->dirfd, &v) == 0) {
		disk = (long long)v.f_bavail * (long long)v.f_frsize;
		if (disk < room)
			room = disk;
	}
	return room;
}
