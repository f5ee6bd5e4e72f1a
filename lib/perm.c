/*
 * The paths are opened by a child that has become the user (groups,
 * gid, uid, as the tunnel does), never by root: a path the user may
 * change leads root nowhere, and the kernel, not a reading of modes
 * and ACLs, says what the user can open.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "perm.h"

struct verdict {
	long index; /* of the path refused; -1 none, -2 cannot become */
	int err;
};

static void
child(const struct passwd *pw, const char *const *paths, size_t n, int fd)
{
	struct verdict v = {-1, 0};
	size_t i;
	int f;

	if (setgroups(0, NULL) == -1 ||
	    initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1 ||
	    setuid(0) != -1) {
		v.index = -2;
		v.err = errno;
	}
	for (i = 0; v.index == -1 && i < n; i++) {
		/* O_NONBLOCK: a FIFO in a path does not hold the check */
		f = open(paths[i],
		    O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		if (f != -1)
			close(f);
		else if (errno != ENOENT) /* a missing file is not read */
			v = (struct verdict){(long)i, errno};
	}
	_exit(write(fd, &v, sizeof(v)) == (ssize_t)sizeof(v) ? 0 : 1);
}

/*
 * Run as root: 0 when user can open every path of paths that exists,
 * else -1 with EX_NOPERM naming the first it cannot.
 */
int
opt_perm_readable(const char *user, const char *const *paths, size_t n,
    struct opt_error *e)
{
	struct verdict v;
	struct passwd *pw;
	ssize_t got;
	pid_t pid;
	int p[2], st;

	if ((pw = getpwnam(user)) == NULL)
		return opt_error_set(e, EX_NOUSER,
		    "local_user %s does not exist", user);
	if (pipe(p) == -1)
		return opt_error_errno(e, EX_OSERR, "cannot check as %s", user);
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return opt_error_errno(e, EX_OSERR, "cannot check as %s", user);
	}
	if (pid == 0) {
		close(p[0]);
		child(pw, paths, n, p[1]);
	}
	close(p[1]);
	while ((got = read(p[0], &v, sizeof(v))) == -1 && errno == EINTR)
		;
	close(p[0]);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (got != (ssize_t)sizeof(v))
		return opt_error_set(e, EX_OSERR, "cannot check as %s", user);
	if (v.index == -2) {
		errno = v.err;
		return opt_error_errno(e, EX_OSERR, "cannot become %s", user);
	}
	if (v.index >= 0) {
		errno = v.err;
		return opt_error_errno(e, EX_NOPERM,
		    "cannot read %s as local_user %s", paths[v.index], user);
	}
	return 0;
}
