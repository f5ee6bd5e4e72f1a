#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "pidfile.h"

enum opt_proc
opt_pidfile_probe(const char *path, pid_t *pid)
{
	char buf[32] = "";
	enum opt_proc r;
	ssize_t n;
	int fd;

	*pid = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1)
		return errno == ENOENT ? OPT_PROC_NONE : OPT_PROC_STALE;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0)
		*pid = (pid_t)strtol(buf, NULL, 10);
	if (flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK)
		r = OPT_PROC_RUNNING;
	else
		r = OPT_PROC_STALE;
	close(fd);
	return r;
}

/*
 * SIGTERM to the tunnel, then wait up to wait_ms for it to let go of
 * its pidfile (it drains its jobs first).
 */
int
opt_pidfile_stop(const char *path, int wait_ms, struct opt_error *e)
{
	struct timespec ts = {0, 50 * 1000000L};
	pid_t pid;
	int waited;

	if (opt_pidfile_probe(path, &pid) != OPT_PROC_RUNNING)
		return 0;
	if (pid <= 0)
		return opt_error_set(e, EX_SOFTWARE,
		    "%s is locked but names no process", path);
	if (kill(pid, SIGTERM) == -1 && errno != ESRCH)
		return opt_error_errno(e, 0, "cannot stop pid %ld", (long)pid);
	for (waited = 0; waited < wait_ms; waited += 50) {
		if (opt_pidfile_probe(path, &pid) != OPT_PROC_RUNNING)
			return 0;
		nanosleep(&ts, NULL);
	}
	return opt_error_set(e, EX_TEMPFAIL,
	    "tunnel (pid %ld) still running after %d s", (long)pid,
	    wait_ms / 1000);
}
