/*
 * What is done to a job: stored (intake), delivered, retried, failed,
 * removed, expired.  A queued job is changed only under the flock of
 * its data file, which a delivery holds; every move takes the .job
 * first and the .data after it (spool.h says why).
 */
#define _GNU_SOURCE /* sync_file_range */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"
#include "spoolfile.h"

#define SYNC_STEP (1024 * 1024)

int
opt_spool_intake_begin(struct opt_spool *s, int channel, const char *peer,
    struct opt_spool_intake *in, struct opt_error *e)
{
	char part[32];

	memset(in, 0, sizeof(*in));
	in->fd = -1;
	in->spool = s;
	if (!s->writer)
		return opt_error_set(e, EX_SOFTWARE, "%s: not open to write",
		    s->dir);
	if (s->next_id > OPT_SPOOL_ID_MAX)
		return opt_error_set(e, EX_SOFTWARE, "%s: out of job ids",
		    s->dir);
	if ((in->chfd = spool_dir(s, channel, OPT_SPOOL_QUEUED, true, in->dir,
	         sizeof(in->dir), e)) == -1)
		return -1;
	in->job.id = s->next_id++;
	in->job.channel = channel;
	in->job.accepted = (long long)time(NULL);
	spool_clean(in->job.peer, sizeof(in->job.peer), peer ? peer : "");
	spool_name(part, sizeof(part), ".", in->job.id, ".part");
	if ((in->fd = opt_safefile_open(in->chfd, in->dir, part,
	         O_WRONLY | O_CREAT | O_EXCL, 0640, &s->owner, e)) == -1) {
		close(in->chfd);
		return -1;
	}
	SHA256Init(&in->sha);
	return 0;
}

int
opt_spool_intake_write(struct opt_spool_intake *in, const void *p, size_t n,
    struct opt_error *e)
{
	struct opt_spool *s = in->spool;

	if (s->max_bytes > 0 && s->used + (long long)n > s->max_bytes)
		return opt_error_set(e, EX_TEMPFAIL,
		    "%s: spool full (%lld MiB), job %010llu refused", s->dir,
		    s->max_bytes / (1024 * 1024), in->job.id);
	if (spool_write_all(in->fd, p, n) == -1)
		return opt_error_errno(e, EX_IOERR,
		    "%s: cannot store job %010llu", in->dir, in->job.id);
	SHA256Update(&in->sha, p, n);
	/* Each MiB is on its way to the disk as soon as it is whole, so
	 * that the fsync of the commit has little left to wait for. */
	if ((in->job.bytes + (long long)n) / SYNC_STEP >
	    in->job.bytes / SYNC_STEP)
		(void)sync_file_range(in->fd,
		    (in->job.bytes + (long long)n) / SYNC_STEP * SYNC_STEP -
		        SYNC_STEP,
		    SYNC_STEP, SYNC_FILE_RANGE_WRITE);
	in->job.bytes += (long long)n;
	s->used += (long long)n;
	s->pending += (long long)n;
	return 0;
}

static void
intake_end(struct opt_spool_intake *in)
{
	in->spool->pending -= in->job.bytes;
	if (in->fd != -1)
		close(in->fd);
	close(in->chfd);
	in->fd = in->chfd = -1;
}

int
opt_spool_intake_commit(struct opt_spool_intake *in, struct opt_spool_job *out,
    struct opt_error *e)
{
	char part[32], data[32];
	struct opt_spool_job *j = &in->job;
	const char *path = in->dir;

	spool_name(part, sizeof(part), ".", j->id, ".part");
	spool_name(data, sizeof(data), "", j->id, ".data");
	SHA256End(&in->sha, j->sha256);
	if (fsync(in->fd) == -1) {
		opt_error_errno(e, EX_IOERR, "cannot fsync %s/%s", path, part);
		goto fail;
	}
	if (renameat(in->chfd, part, in->chfd, data) == -1) {
		opt_error_errno(e, 0, "cannot rename %s/%s", path, part);
		goto fail;
	}
	if (spool_meta_write(in->spool, in->chfd, path, j, e) == -1 ||
	    spool_sync_dir(in->chfd, path, e) == -1) {
		unlinkat(in->chfd, data, 0);
		goto fail;
	}
	if (out != NULL)
		*out = *j;
	intake_end(in);
	return 0;
fail:
	opt_spool_intake_abort(in);
	return -1;
}

void
opt_spool_intake_abort(struct opt_spool_intake *in)
{
	char part[32];

	if (in->chfd == -1)
		return;
	spool_name(part, sizeof(part), ".", in->job.id, ".part");
	unlinkat(in->chfd, part, 0);
	in->spool->used -= in->job.bytes;
	intake_end(in);
}

/* Opens a queued job's data and takes its flock; the job's directory
 * is left open in *dfd. */
static int
lock_job(struct opt_spool *s, const struct opt_spool_job *j, int *dfd,
    char *path, size_t len, struct opt_error *e)
{
	char data[32];
	int fd;

	if ((*dfd = spool_dir(s, j->channel, OPT_SPOOL_QUEUED, false, path, len,
	         e)) == -1)
		return -1;
	spool_name(data, sizeof(data), "", j->id, ".data");
	if ((fd = opt_safefile_open(*dfd, path, data, O_RDONLY, 0, &s->owner,
	         e)) == -1)
		goto fail;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	if (errno == EWOULDBLOCK)
		opt_error_set(e, EX_TEMPFAIL, "job %010llu is being sent",
		    j->id);
	else
		opt_error_errno(e, 0, "cannot lock %s/%s", path, data);
	close(fd);
fail:
	close(*dfd);
	return -1;
}

static int
move(struct opt_spool *s, const struct opt_spool_job *j,
    enum opt_spool_state from, enum opt_spool_state to, struct opt_error *e)
{
	char fpath[PATH_MAX], tpath[PATH_MAX], name[32];
	int ffd, tfd = -1, r = -1;

	if ((ffd = spool_dir(s, j->channel, from, false, fpath, sizeof(fpath),
	         e)) == -1 ||
	    (tfd = spool_dir(s, j->channel, to, true, tpath, sizeof(tpath),
	         e)) == -1)
		goto out;
	spool_name(name, sizeof(name), "", j->id, ".job");
	if (renameat(ffd, name, tfd, name) == -1) {
		opt_error_errno(e, 0, "cannot move %s/%s", fpath, name);
		goto out;
	}
	spool_name(name, sizeof(name), "", j->id, ".data");
	if (renameat(ffd, name, tfd, name) == -1) {
		opt_error_errno(e, 0, "cannot move %s/%s", fpath, name);
		goto out;
	}
	if (spool_sync_dir(tfd, tpath, e) == 0 &&
	    spool_sync_dir(ffd, fpath, e) == 0)
		r = 0;
out:
	if (ffd != -1)
		close(ffd);
	if (tfd != -1)
		close(tfd);
	return r;
}

/* Removes a job's files from dfd, the .job first. */
static int
unlink_job(struct opt_spool *s, int dfd, const char *path,
    const struct opt_spool_job *j, struct opt_error *e)
{
	char name[32];

	if (spool_note_last_id(s, j->id, e) == -1)
		return -1;
	spool_name(name, sizeof(name), "", j->id, ".job");
	if (unlinkat(dfd, name, 0) == -1)
		return opt_error_errno(e, 0, "cannot remove %s/%s", path, name);
	spool_name(name, sizeof(name), "", j->id, ".data");
	unlinkat(dfd, name, 0);
	if (s->writer)
		s->used -= j->bytes;
	return spool_sync_dir(dfd, path, e);
}

int
opt_spool_claim(struct opt_spool *s, const struct opt_spool_job *j,
    struct opt_spool_claim *c, struct opt_error *e)
{
	char path[PATH_MAX];
	struct stat st;
	int dfd;

	memset(c, 0, sizeof(*c));
	if (j->state == OPT_SPOOL_FAILED || j->state == OPT_SPOOL_DONE) {
		c->fd = -1;
		return opt_error_set(e, EX_DATAERR, "job %010llu is %s", j->id,
		    opt_spool_state_name(j->state));
	}
	if ((c->fd = lock_job(s, j, &dfd, path, sizeof(path), e)) == -1)
		return -1;
	if (spool_meta_read(s, dfd, path, j->id, j->channel, OPT_SPOOL_SENDING,
	        &c->job, e) == -1)
		goto fail;
	if (fstat(c->fd, &st) == -1 || st.st_size != c->job.bytes) {
		opt_error_set(e, EX_DATAERR,
		    "%s/%010llu.data: %lld bytes, its metadata says %lld", path,
		    j->id, (long long)st.st_size, c->job.bytes);
		goto fail;
	}
	close(dfd);
	return 0;
fail:
	close(dfd);
	opt_spool_release(c);
	return -1;
}

void
opt_spool_release(struct opt_spool_claim *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

/* The claimed job's metadata rewritten in its queue directory. */
static int
rewrite(struct opt_spool *s, const struct opt_spool_job *j,
    enum opt_spool_state st, struct opt_error *e)
{
	char path[PATH_MAX];
	int dfd, r;

	if ((dfd = spool_dir(s, j->channel, st, false, path, sizeof(path),
	         e)) == -1)
		return -1;
	r = spool_meta_write(s, dfd, path, j, e);
	if (r == 0)
		r = spool_sync_dir(dfd, path, e);
	close(dfd);
	return r;
}

int
opt_spool_delivered(struct opt_spool *s, struct opt_spool_claim *c,
    int keep_hours, struct opt_error *e)
{
	char path[PATH_MAX];
	int dfd, r;

	if (keep_hours > 0) {
		c->job.delivered = (long long)time(NULL);
		r = rewrite(s, &c->job, OPT_SPOOL_QUEUED, e);
		if (r == 0)
			r = move(s, &c->job, OPT_SPOOL_QUEUED, OPT_SPOOL_DONE,
			    e);
	} else if ((dfd = spool_dir(s, c->job.channel, OPT_SPOOL_QUEUED, false,
	                path, sizeof(path), e)) == -1) {
		r = -1;
	} else {
		r = unlink_job(s, dfd, path, &c->job, e);
		close(dfd);
	}
	opt_spool_release(c);
	return r;
}

int
opt_spool_attempt_failed(struct opt_spool *s, struct opt_spool_claim *c,
    const char *why, long long next_try, struct opt_error *e)
{
	int r;

	c->job.attempts++;
	spool_clean(c->job.last_error, sizeof(c->job.last_error), why);
	c->job.next_try = next_try;
	r = rewrite(s, &c->job, OPT_SPOOL_QUEUED, e);
	opt_spool_release(c);
	return r;
}

int
opt_spool_fail(struct opt_spool *s, struct opt_spool_claim *c, const char *why,
    struct opt_error *e)
{
	int r;

	spool_clean(c->job.last_error, sizeof(c->job.last_error), why);
	c->job.next_try = 0;
	r = rewrite(s, &c->job, OPT_SPOOL_QUEUED, e);
	if (r == 0)
		r = move(s, &c->job, OPT_SPOOL_QUEUED, OPT_SPOOL_FAILED, e);
	c->job.state = OPT_SPOOL_FAILED;
	opt_spool_release(c);
	return r;
}

int
opt_spool_retry(struct opt_spool *s, const struct opt_spool_job *j,
    struct opt_error *e)
{
	struct opt_spool_claim c;
	struct opt_spool_job n = *j;
	int r;

	if (j->state == OPT_SPOOL_FAILED) {
		n.next_try = 0;
		if (rewrite(s, &n, OPT_SPOOL_FAILED, e) == -1)
			return -1;
		return move(s, &n, OPT_SPOOL_FAILED, OPT_SPOOL_QUEUED, e);
	}
	if (opt_spool_claim(s, j, &c, e) == -1)
		return -1;
	c.job.next_try = 0;
	c.job.state = OPT_SPOOL_QUEUED;
	r = rewrite(s, &c.job, OPT_SPOOL_QUEUED, e);
	opt_spool_release(&c);
	return r;
}

int
opt_spool_remove(struct opt_spool *s, const struct opt_spool_job *j,
    struct opt_error *e)
{
	char path[PATH_MAX];
	enum opt_spool_state st = j->state;
	int dfd, fd = -1, r;

	if (st == OPT_SPOOL_QUEUED || st == OPT_SPOOL_SENDING)
		fd = lock_job(s, j, &dfd, path, sizeof(path), e);
	else
		fd = dfd =
		    spool_dir(s, j->channel, st, false, path, sizeof(path), e);
	if (fd == -1)
		return -1;
	r = unlink_job(s, dfd, path, j, e);
	if (fd != dfd)
		close(fd);
	close(dfd);
	return r;
}

static void
age_text(char *buf, size_t len, long long s)
{
	if (s % 86400 == 0)
		snprintf(buf, len, "%lld day%s", s / 86400,
		    s == 86400 ? "" : "s");
	else if (s % 3600 == 0)
		snprintf(buf, len, "%lld h", s / 3600);
	else
		snprintf(buf, len, "%lld s", s);
}

int
opt_spool_expire(struct opt_spool *s, long long now, long long max_age,
    int keep_hours, opt_spool_job_fn *fn, void *arg, struct opt_error *e)
{
	struct opt_spool_claim c;
	struct opt_spool_list l;
	struct opt_spool_job *j;
	char why[OPT_ERROR_MAX], age[32];
	size_t i;
	int r = 0;

	if (opt_spool_list(s, 0, OPT_SPOOL_LIST_DONE, &l, e) == -1)
		return -1;
	age_text(age, sizeof(age), max_age);
	for (i = 0; r == 0 && i < l.n; i++) {
		j = &l.v[i];
		if (j->state == OPT_SPOOL_DONE &&
		    j->delivered + keep_hours * 3600LL <= now) {
			r = opt_spool_remove(s, j, e);
			continue;
		}
		if (j->state != OPT_SPOOL_QUEUED || max_age <= 0 ||
		    j->accepted + max_age > now)
			continue;
		if (opt_spool_claim(s, j, &c, e) == -1) {
			r = e->status == EX_TEMPFAIL ? 0 : -1;
			continue;
		}
		snprintf(why, sizeof(why),
		    "not delivered within %s (spool_max_age), %d attempts%s%s",
		    age, c.job.attempts, c.job.last_error[0] ? ", last: " : "",
		    c.job.last_error);
		if ((r = opt_spool_fail(s, &c, why, e)) == 0 && fn != NULL)
			fn(arg, &c.job);
	}
	opt_spool_list_free(&l);
	return r == 0 ? spool_recount(s, e) : -1;
}
