/*
 * The spool's files (the format is in spool.h).  Security: the site's
 * spool belongs to local_user, and a reader may be root, so every
 * directory is opened with O_NOFOLLOW relative to a checked parent and
 * checked in turn (a directory, root's or the owner's, writable by no
 * one else), and every file through opt_safefile_open.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"
#include "spoolfile.h"
#include "valid.h"

#define META_MAX 4096
#define ID_LEN 10

static const char *const subdirs[] = {".", "failed", "done"};

static const char *
sub_of(enum opt_spool_state st)
{
	return st == OPT_SPOOL_FAILED ? "failed"
	    : st == OPT_SPOOL_DONE    ? "done"
	                              : ".";
}

const char *
opt_spool_state_name(enum opt_spool_state st)
{
	static const char *const names[] = {"queued", "sending", "failed",
	    "done"};

	return names[st];
}

void
spool_name(char *buf, size_t len, const char *pre, unsigned long long id,
    const char *suffix)
{
	snprintf(buf, len, "%s%010llu%s", pre, id, suffix);
}

/* 0000000042.job -> 42 with the suffix; 0 if the name is not one. */
static unsigned long long
id_of(const char *name, const char *suffix)
{
	unsigned long long id = 0;
	int i;

	for (i = 0; i < ID_LEN; i++) {
		if (!isdigit((unsigned char)name[i]))
			return 0;
		id = id * 10 + (unsigned)(name[i] - '0');
	}
	return strcmp(name + ID_LEN, suffix) == 0 ? id : 0;
}

int
opt_spool_parse_id(const char *s, unsigned long long *id, struct opt_error *e)
{
	char q[OPT_QUOTE_BUF];
	size_t i, n = strlen(s);

	*id = 0;
	for (i = 0; i < n && n <= ID_LEN; i++) {
		if (!isdigit((unsigned char)s[i]))
			break;
		*id = *id * 10 + (unsigned)(s[i] - '0');
	}
	if (n == 0 || i != n || *id == 0)
		return opt_error_set(e, EX_DATAERR, "job '%s': not a job id",
		    opt_quote(q, sizeof(q), s));
	return 0;
}

/* One line of printable ASCII, so that a file or a log line stays one. */
void
spool_clean(char *dst, size_t len, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < len; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

static int
give_dir(int fd, const struct opt_owner *o)
{
	if (fchmod(fd, 0750) == -1)
		return -1;
	if (geteuid() == 0 && o != NULL && o->uid != 0)
		return fchown(fd, o->uid, o->gid);
	return 0;
}

/* NAME under dirfd as a checked directory descriptor (made when MAKE);
 * -1 with errno ENOENT when it does not exist. */
static int
open_dir(int dirfd, const char *parent, const char *name, bool make,
    const struct opt_owner *o, struct opt_error *e)
{
	int fd, made = make && mkdirat(dirfd, name, 0700) == 0;
	struct stat st;

	if (make && !made && errno != EEXIST)
		return opt_error_errno(e, 0, "cannot create %s/%s", parent,
		    name);
	fd = openat(dirfd, name,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ELOOP || errno == ENOTDIR) {
			opt_error_set(e, EX_NOPERM,
			    "%s/%s: not a directory (a symbolic link?), "
			    "refusing it",
			    parent, name);
			errno = ENOTDIR;
			return -1;
		}
		return opt_error_errno(e, 0, "cannot open %s/%s", parent, name);
	}
	if (fstat(fd, &st) == -1 || (made && give_dir(fd, o) == -1)) {
		opt_error_errno(e, 0, "cannot set up %s/%s", parent, name);
	} else if ((st.st_mode & (S_IWGRP | S_IWOTH)) ||
	    (st.st_uid != 0 && st.st_uid != geteuid() && st.st_uid != o->uid)) {
		opt_error_set(e, EX_NOPERM,
		    "%s/%s: mode %04o, uid %lu: another user may change it, "
		    "refusing it",
		    parent, name, (unsigned)(st.st_mode & 07777),
		    (unsigned long)st.st_uid);
		errno = EPERM;
	} else {
		return fd;
	}
	close(fd);
	return -1;
}

/* The directory of a channel, or its failed/ or done/ (path in PATH). */
int
spool_dir(struct opt_spool *s, int channel, enum opt_spool_state st, bool make,
    char *path, size_t len, struct opt_error *e)
{
	char name[16];
	int chfd, fd;

	snprintf(name, sizeof(name), "%d", channel);
	snprintf(path, len, "%s/%d", s->dir, channel);
	if (s->dirfd == -1) {
		errno = ENOENT;
		return opt_error_set(e, EX_NOINPUT, "%s: no spool", path);
	}
	chfd = open_dir(s->dirfd, s->dir, name, make, &s->owner, e);
	if (chfd == -1 || st == OPT_SPOOL_QUEUED || st == OPT_SPOOL_SENDING)
		return chfd;
	fd = open_dir(chfd, path, sub_of(st), make, &s->owner, e);
	snprintf(path, len, "%s/%d/%s", s->dir, channel, sub_of(st));
	close(chfd);
	return fd;
}

int
spool_sync_dir(int fd, const char *path, struct opt_error *e)
{
	if (fsync(fd) == -1)
		return opt_error_errno(e, 0, "cannot fsync %s", path);
	return 0;
}

int
spool_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, c, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* <id>.job, atomically: .<id>.meta written, fsync'd, renamed over it. */
int
spool_meta_write(struct opt_spool *s, int dfd, const char *dir,
    const struct opt_spool_job *j, struct opt_error *e)
{
	char tmp[32], name[32], buf[META_MAX];
	int fd, n;

	spool_name(tmp, sizeof(tmp), ".", j->id, ".meta");
	spool_name(name, sizeof(name), "", j->id, ".job");
	n = snprintf(buf, sizeof(buf),
	    "id=%010llu\nchannel=%d\npeer=%s\naccepted=%lld\nbytes=%lld\n"
	    "sha256=%s\nattempts=%d\nnext_try=%lld\nlast_error=%s\n",
	    j->id, j->channel, j->peer, j->accepted, j->bytes, j->sha256,
	    j->attempts, j->next_try, j->last_error);
	if (j->delivered != 0)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n,
		    "delivered=%lld\n", j->delivered);
	if ((fd = opt_safefile_open(dfd, dir, tmp, O_WRONLY | O_CREAT, 0640,
	         &s->owner, e)) == -1)
		return -1;
	if (ftruncate(fd, 0) == -1 ||
	    spool_write_all(fd, buf, (size_t)n) == -1 || fsync(fd) == -1) {
		opt_error_errno(e, 0, "cannot write %s/%s", dir, tmp);
		close(fd);
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	close(fd);
	if (renameat(dfd, tmp, dfd, name) == -1) {
		opt_error_errno(e, 0, "cannot rename %s/%s", dir, tmp);
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	return 0;
}

static long long
num(const char *v)
{
	const char *errstr;
	long long n = strtonum(v, 0, LLONG_MAX, &errstr);

	return errstr != NULL ? 0 : n;
}

static void
meta_set(struct opt_spool_job *j, const char *k, const char *v)
{
	if (strcmp(k, "peer") == 0)
		spool_clean(j->peer, sizeof(j->peer), v);
	else if (strcmp(k, "accepted") == 0)
		j->accepted = num(v);
	else if (strcmp(k, "bytes") == 0)
		j->bytes = num(v);
	else if (strcmp(k, "sha256") == 0)
		spool_clean(j->sha256, sizeof(j->sha256), v);
	else if (strcmp(k, "attempts") == 0)
		j->attempts = (int)(num(v) > INT_MAX ? INT_MAX : num(v));
	else if (strcmp(k, "next_try") == 0)
		j->next_try = num(v);
	else if (strcmp(k, "last_error") == 0)
		spool_clean(j->last_error, sizeof(j->last_error), v);
	else if (strcmp(k, "delivered") == 0)
		j->delivered = num(v);
}

/* Job ID's <id>.job in dfd; the id and channel are those of its place. */
int
spool_meta_read(struct opt_spool *s, int dfd, const char *dir,
    unsigned long long id, int channel, enum opt_spool_state st,
    struct opt_spool_job *j, struct opt_error *e)
{
	char name[32], buf[META_MAX + 1], *line, *next, *eq;
	ssize_t n;
	int fd;

	spool_name(name, sizeof(name), "", id, ".job");
	if ((fd = opt_safefile_open(dfd, dir, name, O_RDONLY, 0, &s->owner,
	         e)) == -1)
		return -1;
	n = read(fd, buf, META_MAX);
	close(fd);
	if (n == -1)
		return opt_error_errno(e, 0, "cannot read %s/%s", dir, name);
	buf[n] = '\0';
	memset(j, 0, sizeof(*j));
	j->id = id;
	j->channel = channel;
	j->state = st;
	for (line = buf; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((eq = strchr(line, '=')) == NULL)
			continue;
		*eq = '\0';
		meta_set(j, line, eq + 1);
	}
	return 0;
}

/* Whether another open file holds the data file's flock. */
bool
spool_is_sending(int dfd, unsigned long long id)
{
	char name[32];
	bool busy;
	int fd;

	spool_name(name, sizeof(name), "", id, ".data");
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return false;
	busy = flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK;
	close(fd);
	return busy;
}

bool
spool_exists(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Calls fn for each <id>.job (or SUFFIX) in dfd. */
static int
each_name(int dfd, const char *dir, const char *suffix,
    int (*fn)(void *, int, const char *, unsigned long long), void *arg,
    struct opt_error *e)
{
	struct dirent *de;
	unsigned long long id;
	DIR *d;
	int fd, r = 0;

	if ((fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return opt_error_errno(e, 0, "cannot read %s", dir);
	}
	while (r == 0 && (de = readdir(d)) != NULL)
		if (suffix == NULL || (id = id_of(de->d_name, suffix)) != 0)
			r = fn(arg, dfd, de->d_name, suffix ? id : 0);
	closedir(d);
	return r;
}

/* The channels of the site: directories named by a number. */
struct channels {
	int v[256];
	size_t n;
	bool more;
};

static int
add_channel(void *arg, int dfd, const char *name, unsigned long long id)
{
	struct channels *c = arg;
	const char *errstr;
	long long ch = strtonum(name, 1, INT_MAX, &errstr);

	(void)dfd, (void)id;
	if (errstr != NULL)
		return 0;
	if (c->n == sizeof(c->v) / sizeof(c->v[0])) {
		c->more = true;
		return 0;
	}
	c->v[c->n++] = (int)ch;
	return 0;
}

static int
channels_of(struct opt_spool *s, struct channels *c, struct opt_error *e)
{
	memset(c, 0, sizeof(*c));
	if (s->dirfd == -1)
		return 0;
	return each_name(s->dirfd, s->dir, NULL, add_channel, c, e);
}

/* Recovery, at a writer's open: fd[] are the channel's directories. */
struct scan {
	struct opt_spool *s;
	int fd[3];
	int sub;
};

static int
scan_name(void *arg, int dfd, const char *name, unsigned long long unused)
{
	struct scan *sc = arg;
	unsigned long long id;
	char job[32];
	int i;

	(void)unused;
	if (name[0] == '.' &&
	    (strstr(name, ".part") != NULL || strstr(name, ".meta") != NULL)) {
		unlinkat(dfd, name, 0);
		return 0;
	}
	if ((id = id_of(name, ".job")) == 0 && (id = id_of(name, ".data")) == 0)
		return 0;
	if (id > sc->s->next_id)
		sc->s->next_id = id;
	spool_name(job, sizeof(job), "", id, ".job");
	if (id_of(name, ".job") != 0 || spool_exists(dfd, job))
		return 0;
	/* A move cut short: the .data goes where its .job is; a .data
	 * without a .job anywhere was never committed, or delivered. */
	for (i = 0; i < 3; i++) {
		if (i == sc->sub || sc->fd[i] == -1 ||
		    !spool_exists(sc->fd[i], job))
			continue;
		if (renameat(dfd, name, sc->fd[i], name) == 0)
			fsync(sc->fd[i]);
		return 0;
	}
	unlinkat(dfd, name, 0);
	return 0;
}

static int
scan_channel(struct opt_spool *s, int channel, struct opt_error *e)
{
	char path[PATH_MAX];
	struct scan sc = {s, {-1, -1, -1}, 0};
	int i, r = -1;

	if ((sc.fd[0] = spool_dir(s, channel, OPT_SPOOL_QUEUED, false, path,
	         sizeof(path), e)) == -1)
		return -1;
	for (i = 1; i < 3; i++)
		if ((sc.fd[i] = open_dir(sc.fd[0], path, subdirs[i], false,
		         &s->owner, e)) == -1 &&
		    errno != ENOENT)
			goto out;
	for (i = 0, r = 0; r == 0 && i < 3; i++) {
		sc.sub = i;
		if (sc.fd[i] != -1)
			r = each_name(sc.fd[i], path, NULL, scan_name, &sc, e);
	}
	if (r == 0)
		r = spool_sync_dir(sc.fd[0], path, e);
out:
	for (i = 0; i < 3; i++)
		if (sc.fd[i] != -1)
			close(sc.fd[i]);
	return r;
}

static unsigned long long
read_last_id(struct opt_spool *s)
{
	char buf[32];
	ssize_t n;
	int fd;

	if ((fd = opt_safefile_open(s->dirfd, s->dir, "last_id", O_RDONLY, 0,
	         &s->owner, NULL)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return (unsigned long long)num(buf);
}

/* Before a job's files go: the highest id is kept, so it is not given
 * again once every job is gone. */
int
spool_note_last_id(struct opt_spool *s, unsigned long long id,
    struct opt_error *e)
{
	char buf[32];
	int fd;

	if (read_last_id(s) >= id)
		return 0;
	snprintf(buf, sizeof(buf), "%010llu\n", id);
	if ((fd = opt_safefile_open(s->dirfd, s->dir, ".last_id",
	         O_WRONLY | O_CREAT, 0640, &s->owner, e)) == -1)
		return -1;
	if (ftruncate(fd, 0) == -1 ||
	    spool_write_all(fd, buf, strlen(buf)) == -1 || fsync(fd) == -1 ||
	    renameat(s->dirfd, ".last_id", s->dirfd, "last_id") == -1) {
		opt_error_errno(e, 0, "cannot write %s/last_id", s->dir);
		close(fd);
		return -1;
	}
	close(fd);
	return spool_sync_dir(s->dirfd, s->dir, e);
}

/* The bytes held, counted again (another process may have removed jobs). */
int
spool_recount(struct opt_spool *s, struct opt_error *e)
{
	struct opt_spool_list l;
	size_t i;

	if (opt_spool_list(s, 0, OPT_SPOOL_LIST_DONE, &l, e) == -1)
		return -1;
	s->used = s->pending;
	for (i = 0; i < l.n; i++)
		s->used += l.v[i].bytes;
	opt_spool_list_free(&l);
	return 0;
}

int
opt_spool_open(struct opt_spool *s, const char *spool_dir, const char *site,
    const struct opt_owner *o, unsigned flags, long long max_bytes,
    struct opt_error *e)
{
	struct channels c;
	int top;
	size_t i;

	memset(s, 0, sizeof(*s));
	s->dirfd = -1;
	s->owner = *o;
	s->writer = (flags & OPT_SPOOL_WRITER) != 0;
	s->max_bytes = max_bytes;
	if (opt_valid_site_id(site, e) == -1)
		return -1;
	strlcpy(s->site, site, sizeof(s->site));
	if (opt_paths_join(s->dir, sizeof(s->dir), e, spool_dir, site,
	        (char *)NULL) == -1)
		return -1;
	if (!s->writer && access(spool_dir, F_OK) == -1 && errno == ENOENT)
		return 0;
	if ((top = opt_safedir_open("spool", spool_dir, s->writer ? 0750 : 0,
	         s->writer, o, e)) == -1)
		return -1;
	s->dirfd = open_dir(top, spool_dir, site, s->writer, o, e);
	close(top);
	if (s->dirfd == -1)
		return !s->writer && errno == ENOENT ? 0 : -1;
	if (!s->writer)
		return 0;
	if (channels_of(s, &c, e) == -1)
		goto fail;
	for (i = 0; i < c.n; i++)
		if (scan_channel(s, c.v[i], e) == -1)
			goto fail;
	if (read_last_id(s) > s->next_id)
		s->next_id = read_last_id(s);
	s->next_id++;
	if (spool_recount(s, e) == -1)
		goto fail;
	return 0;
fail:
	opt_spool_close(s);
	return -1;
}

void
opt_spool_close(struct opt_spool *s)
{
	if (s->dirfd != -1)
		close(s->dirfd);
	s->dirfd = -1;
}

/* Listing: the jobs of one directory appended to the list. */
struct collect {
	struct opt_spool *s;
	struct opt_spool_list *l;
	size_t cap;
	int channel;
	enum opt_spool_state st;
	const char *dir;
	struct opt_error *e;
};

static int
collect_job(void *arg, int dfd, const char *name, unsigned long long id)
{
	struct collect *c = arg;
	struct opt_spool_job *v, j;

	(void)name;
	if (spool_meta_read(c->s, dfd, c->dir, id, c->channel, c->st, &j,
	        c->e) == -1) {
		/* Gone in between: delivered or moved, not an error. */
		return errno == ENOENT ? 0 : -1;
	}
	if (j.state == OPT_SPOOL_QUEUED && spool_is_sending(dfd, id))
		j.state = OPT_SPOOL_SENDING;
	if (c->l->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		if ((v = reallocarray(c->l->v, c->cap, sizeof(*v))) == NULL)
			return opt_error_set(c->e, EX_OSERR, "out of memory");
		c->l->v = v;
	}
	c->l->v[c->l->n++] = j;
	return 0;
}

static int
by_id(const void *a, const void *b)
{
	const struct opt_spool_job *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

int
opt_spool_list(struct opt_spool *s, int channel, unsigned flags,
    struct opt_spool_list *l, struct opt_error *e)
{
	struct collect c = {s, l, 0, 0, 0, NULL, e};
	char path[PATH_MAX];
	struct channels chs;
	size_t i;
	int st, fd, r = 0, last = OPT_SPOOL_DONE;

	memset(l, 0, sizeof(*l));
	if (channel != 0) {
		chs.n = 1;
		chs.v[0] = channel;
	} else if (channels_of(s, &chs, e) == -1) {
		return -1;
	}
	for (i = 0; r == 0 && i < chs.n; i++) {
		for (st = OPT_SPOOL_QUEUED; r == 0 && st <= last; st++) {
			if (st == OPT_SPOOL_SENDING ||
			    (st == OPT_SPOOL_DONE &&
			        !(flags & OPT_SPOOL_LIST_DONE)))
				continue;
			fd = spool_dir(s, chs.v[i], st, false, path,
			    sizeof(path), e);
			if (fd == -1) {
				r = errno == ENOENT ? 0 : -1;
				continue;
			}
			c.channel = chs.v[i];
			c.st = st;
			c.dir = path;
			r = each_name(fd, path, ".job", collect_job, &c, e);
			close(fd);
		}
	}
	if (r == -1) {
		opt_spool_list_free(l);
		return -1;
	}
	if (l->n > 0)
		qsort(l->v, l->n, sizeof(l->v[0]), by_id);
	return 0;
}

void
opt_spool_list_free(struct opt_spool_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int
opt_spool_find(struct opt_spool *s, unsigned long long id,
    struct opt_spool_job *j, struct opt_error *e)
{
	struct opt_spool_list l;
	bool found;
	size_t i;

	if (opt_spool_list(s, 0, 0, &l, e) == -1)
		return -1;
	for (i = 0; i < l.n && l.v[i].id != id; i++)
		;
	found = i < l.n;
	if (found)
		*j = l.v[i];
	opt_spool_list_free(&l);
	if (!found)
		return opt_error_set(e, EX_NOINPUT, "job %010llu: no such job",
		    id);
	return 0;
}
