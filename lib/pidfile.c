#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "pidfile.h"

/*
 * The process that holds the flock(2) on the file open as fd, from
 * /proc/locks; 0 if it cannot tell.  A tunnel takes the lock before it
 * writes its pid, so for a moment the file is empty or still names the
 * process before it, which may be gone or, worse, another program now.
 */
static pid_t
lock_holder(int fd)
{
	unsigned long long ino;
	unsigned int maj, min;
	struct stat sb;
	char line[256];
	pid_t pid = 0;
	long p;
	FILE *f;

	if (fstat(fd, &sb) == -1 || (f = fopen("/proc/locks", "re")) == NULL)
		return 0;
	/* "1: FLOCK  ADVISORY  WRITE 2817 fe:00:1095 0 EOF"; a waiter's
	 * line has "->" before FLOCK and does not match. */
	while (pid == 0 && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%*[^:]: FLOCK %*s %*s %ld %x:%x:%llu", &p,
		        &maj, &min, &ino) == 4 &&
		    ino == (unsigned long long)sb.st_ino &&
		    maj == major(sb.st_dev) && min == minor(sb.st_dev) && p > 0)
			pid = (pid_t)p;
	}
	fclose(f);
	return pid;
}

static bool
alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

static enum opt_proc
probe(const char *path, pid_t *pid, bool exact)
{
	char buf[32] = "";
	enum opt_proc r;
	pid_t holder;
	ssize_t n;
	bool known;
	int fd;

	*pid = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1)
		return errno == ENOENT ? OPT_PROC_NONE : OPT_PROC_STALE;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0)
		*pid = (pid_t)strtol(buf, NULL, 10);
	if (flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK) {
		r = OPT_PROC_RUNNING;
		/* The holder is the tunnel, whatever the file says yet.
		 * (/proc/locks names the process that took the lock: if
		 * that one is gone, a process that inherited it holds it,
		 * and the file's pid is the best word there is.) */
		known = *pid > 0 && alive(*pid);
		if ((exact || !known) && (holder = lock_holder(fd)) > 0 &&
		    alive(holder))
			*pid = holder;
		else if (!known)
			*pid = 0;
	} else {
		r = OPT_PROC_STALE;
	}
	close(fd);
	return r;
}

enum opt_proc
opt_pidfile_probe(const char *path, pid_t *pid)
{
	return probe(path, pid, false);
}

enum opt_proc
opt_pidfile_probe_exact(const char *path, pid_t *pid)
{
	return probe(path, pid, true);
}

/*
 * SIGTERM to the tunnel, then wait up to wait_ms for it to let go of
 * its pidfile (it drains its jobs first).
 */
int
opt_pidfile_stop(const char *path, int wait_ms, struct opt_error *e)
{
	struct timespec ts = {0, 50 * 1000000L};
	pid_t pid, signalled = 0;
	int waited;

	for (waited = 0;; waited += 50) {
		if (opt_pidfile_probe_exact(path, &pid) != OPT_PROC_RUNNING)
			return 0;
		/* No pid yet: the tunnel is starting; it is told once
		 * it is known. */
		if (pid > 0 && signalled == 0) {
			if (kill(pid, SIGTERM) == -1 && errno != ESRCH)
				return opt_error_errno(e, 0,
				    "cannot stop pid %ld", (long)pid);
			signalled = pid;
		}
		if (waited >= wait_ms)
			break;
		nanosleep(&ts, NULL);
	}
	if (signalled == 0)
		return opt_error_set(e, EX_SOFTWARE,
		    "%s is locked but names no process", path);
	return opt_error_set(e, EX_TEMPFAIL,
	    "tunnel (pid %ld) still running after %d s", (long)signalled,
	    wait_ms / 1000);
}

static bool
same_file(int dirfd, const char *name, int fd)
{
	struct stat a, b;

	return fstatat(dirfd, name, &a, AT_SYMLINK_NOFOLLOW) == 0 &&
	    fstat(fd, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int
opt_pidfile_take(struct opt_pidfile *p, int dirfd, const char *dir,
    const char *name, const struct opt_owner *o, struct opt_error *e)
{
	int tries;

	p->dirfd = dirfd;
	p->fd = -1;
	if (strlcpy(p->dir, dir, sizeof(p->dir)) >= sizeof(p->dir) ||
	    strlcpy(p->name, name, sizeof(p->name)) >= sizeof(p->name))
		return opt_error_set(e, EX_SOFTWARE, "%s/%s: path too long",
		    dir, name);
	/* The tunnel that held it may remove it between our open and our
	 * lock: the lock must be on the file that has the name. */
	for (tries = 0; tries < 10; tries++) {
		p->fd = opt_safefile_open(dirfd, dir, name, O_WRONLY | O_CREAT,
		    0644, o, e);
		if (p->fd == -1)
			return -1;
		if (flock(p->fd, LOCK_EX | LOCK_NB) == -1) {
			int err = errno;
			close(p->fd);
			p->fd = -1;
			if (err == EWOULDBLOCK)
				return 1;
			errno = err;
			return opt_error_errno(e, 0, "cannot lock %s/%s", dir,
			    name);
		}
		if (same_file(dirfd, name, p->fd))
			break;
		close(p->fd);
		p->fd = -1;
	}
	if (p->fd == -1)
		return opt_error_set(e, EX_TEMPFAIL, "%s/%s keeps changing",
		    dir, name);
	if (ftruncate(p->fd, 0) == -1) {
		opt_error_errno(e, 0, "cannot write %s/%s", dir, name);
		opt_pidfile_remove(p);
		return -1;
	}
	return 0;
}

int
opt_pidfile_write(struct opt_pidfile *p, struct opt_error *e)
{
	char buf[32];
	int n;

	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(p->fd, 0) == -1 || pwrite(p->fd, buf, (size_t)n, 0) != n)
		return opt_error_errno(e, 0, "cannot write %s/%s", p->dir,
		    p->name);
	return 0;
}

/* Only the file this process locked: another may have the name now. */
void
opt_pidfile_remove(struct opt_pidfile *p)
{
	if (p->fd == -1)
		return;
	if (same_file(p->dirfd, p->name, p->fd))
		(void)unlinkat(p->dirfd, p->name, 0);
	close(p->fd);
	p->fd = -1;
}
