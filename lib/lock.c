#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "lock.h"

/* The holder writes its pid into the lock file, for the busy message. */
static int
busy(int fd, const char *path, int wait_ms, struct opt_error *e)
{
	char buf[32] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	int pid = n > 0 ? atoi(buf) : 0;

	/* A holder that died leaves its pid; only a live one is named. */
	if (pid > 0 && kill(pid, 0) == -1 && errno == ESRCH)
		pid = 0;
	if (pid > 0)
		return opt_error_set(e, EX_TEMPFAIL,
		    "config lock %s is busy (held by pid %d for more than "
		    "%d ms); try again",
		    path, pid, wait_ms);
	return opt_error_set(e, EX_TEMPFAIL,
	    "config lock %s is busy (for more than %d ms); try again", path,
	    wait_ms);
}

int
opt_lock_take(const struct opt_paths *p, int wait_ms, struct opt_lock *l,
    struct opt_error *e)
{
	char path[PATH_MAX], pid[32];
	long long deadline = opt_clock_ms() + (wait_ms > 0 ? wait_ms : 0);
	unsigned seed = (unsigned)getpid();
	int fd, len;

	l->fd = -1;
	if (opt_paths_join(path, sizeof(path), e, p->config, ".lock",
	        (char *)NULL) == -1)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    OPT_FILE_MODE);
	if (fd == -1)
		return opt_error_errno(e, 0, "cannot open lock %s", path);
	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		struct timespec ts = {0, 0};

		if (errno != EWOULDBLOCK && errno != EINTR) {
			opt_error_errno(e, 0, "cannot lock %s", path);
			close(fd);
			return -1;
		}
		if (opt_clock_ms() >= deadline) {
			busy(fd, path, wait_ms, e);
			close(fd);
			return -1;
		}
		/* 5-20 ms, spread so that waiters do not march in step. */
		ts.tv_nsec = (5 + rand_r(&seed) % 16) * 1000000L;
		nanosleep(&ts, NULL);
	}
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0)
		(void)!pwrite(fd, pid, (size_t)len, 0);
	l->fd = fd;
	return 0;
}

void
opt_lock_release(struct opt_lock *l)
{
	if (l->fd == -1)
		return;
	(void)!ftruncate(l->fd, 0);
	close(l->fd);
	l->fd = -1;
}
