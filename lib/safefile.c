#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "safefile.h"

int
opt_owner_of(const char *user, struct opt_owner *o, struct opt_error *e)
{
	struct passwd *pw;

	o->uid = geteuid();
	o->gid = getegid();
	if (o->uid != 0 || strcmp(user, "root") == 0) {
		pw = getpwuid(o->uid);
		snprintf(o->name, sizeof(o->name), "%s",
		    pw != NULL ? pw->pw_name : user);
		return 0;
	}
	if ((pw = getpwnam(user)) == NULL)
		return opt_error_set(e, EX_NOUSER,
		    "local_user %s does not exist", user);
	if (strlcpy(o->name, user, sizeof(o->name)) >= sizeof(o->name))
		return opt_error_set(e, EX_NOUSER,
		    "local_user %s: name too long", user);
	o->uid = pw->pw_uid;
	o->gid = pw->pw_gid;
	return 0;
}

static const char *
user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %lu", (unsigned long)uid);
	return buf;
}

/* A file or directory root, the owner (or the process) may own. */
static bool
trusted_uid(uid_t uid, const struct opt_owner *o)
{
	return uid == 0 || uid == geteuid() || (o != NULL && uid == o->uid);
}

/* What root makes for a tunnel that stays root is root:mast, as the
 * config is, so that the mast group may read it. */
static int
give(int fd, mode_t mode, const struct opt_owner *o)
{
	if (fchmod(fd, mode) == -1)
		return -1;
	if (geteuid() != 0 || o == NULL)
		return 0;
	if (o->uid == 0) {
		opt_file_own(fd);
		return 0;
	}
	return fchown(fd, o->uid, o->gid);
}

/* mkdir -p of PATH's parents, 0755: they are root's, as are /run, /var. */
static int
make_parents(const char *path, struct opt_error *e)
{
	char buf[PATH_MAX], *p;

	if (strlcpy(buf, path, sizeof(buf)) >= sizeof(buf))
		return opt_error_set(e, EX_USAGE, "%s: path too long", path);
	for (p = buf + 1; (p = strchr(p, '/')) != NULL; *p++ = '/') {
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return opt_error_errno(e, 0, "cannot create %s", buf);
	}
	return 0;
}

/* Made here: a directory of the process's own, empty, given away. */
static int
make_dir(const char *what, const char *path, mode_t mode,
    const struct opt_owner *o, struct opt_error *e)
{
	struct stat st;
	int fd;

	if (make_parents(path, e) == -1)
		return -1;
	if (mkdir(path, 0700) == -1)
		return errno == EEXIST
		    ? 0
		    : opt_error_errno(e, 0, "cannot create the %s directory %s",
		          what, path);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1 || st.st_uid != geteuid() ||
	    give(fd, mode, o) == -1) {
		opt_error_errno(e, 0, "cannot set up the %s directory %s", what,
		    path);
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
opt_safedir_open(const char *what, const char *path, mode_t mode, bool writer,
    const struct opt_owner *o, struct opt_error *e)
{
	char who[80];
	struct stat st;
	mode_t m;
	int fd;

	if (mode != 0 && make_dir(what, path, mode, o, e) == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return opt_error_errno(e, 0, "cannot open the %s directory %s",
		    what, path);
	if (fstat(fd, &st) == -1) {
		opt_error_errno(e, 0, "cannot stat %s", path);
		close(fd);
		return -1;
	}
	m = st.st_mode & 07777;
	user_name(st.st_uid, who, sizeof(who));
	if (m & (S_IWGRP | S_IWOTH))
		opt_error_set(e, EX_NOPERM,
		    "%s directory %s: mode %04o, writable by group or others, "
		    "refusing it",
		    what, path, (unsigned)m);
	else if (!trusted_uid(st.st_uid, o))
		opt_error_set(e, EX_NOPERM,
		    "%s directory %s: mode %04o, owned by %s, not root or "
		    "local_user %s, refusing it",
		    what, path, (unsigned)m, who, o->name);
	else if (writer && st.st_uid != o->uid)
		opt_error_set(e, EX_NOPERM,
		    "%s directory %s: mode %04o, owned by %s: local_user %s "
		    "cannot write in it, refusing it (chown %s %s)",
		    what, path, (unsigned)m, who, o->name, o->name, path);
	else
		return fd;
	close(fd);
	return -1;
}

/* The file open as fd may be used: a regular file of root's or the
 * owner's, with no other name. */
static int
check_file(int fd, const char *dir, const char *name, const struct opt_owner *o,
    struct opt_error *e)
{
	char who[80];
	struct stat st;

	if (fstat(fd, &st) == -1)
		return opt_error_errno(e, 0, "cannot stat %s/%s", dir, name);
	if (!S_ISREG(st.st_mode))
		return opt_error_set(e, EX_NOPERM,
		    "%s/%s: not a regular file, refusing it", dir, name);
	if (st.st_nlink != 1)
		return opt_error_set(e, EX_NOPERM,
		    "%s/%s: has %lu links, refusing it", dir, name,
		    (unsigned long)st.st_nlink);
	if (!trusted_uid(st.st_uid, o))
		return opt_error_set(e, EX_NOPERM,
		    "%s/%s: owned by %s, refusing it", dir, name,
		    user_name(st.st_uid, who, sizeof(who)));
	return 0;
}

int
opt_safefile_open(int dirfd, const char *dir, const char *name, int flags,
    mode_t mode, const struct opt_owner *o, struct opt_error *e)
{
	int safe = O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, fd, tries;
	bool made = false;

	/* O_EXCL first, to know whether the file is new (then it is
	 * given away); the file may come and go in between. */
	for (tries = 0; tries < 3; tries++) {
		if ((flags & O_CREAT) &&
		    (fd = openat(dirfd, name, flags | safe | O_EXCL, mode)) !=
		        -1) {
			made = true;
			break;
		}
		if ((flags & O_CREAT) && errno != EEXIST)
			break;
		fd = openat(dirfd, name, (flags & ~O_CREAT) | safe);
		if (fd != -1 || errno != ENOENT || !(flags & O_CREAT))
			break;
	}
	if (fd == -1) {
		if (errno == ELOOP)
			return opt_error_set(e, EX_NOPERM,
			    "%s/%s: a symbolic link, refusing it", dir, name);
		return opt_error_errno(e, 0, "cannot open %s/%s", dir, name);
	}
	if (check_file(fd, dir, name, o, e) == -1) {
		close(fd);
		return -1;
	}
	if (made && give(fd, mode, o) == -1) {
		opt_error_errno(e, 0, "cannot set up %s/%s", dir, name);
		close(fd);
		return -1;
	}
	return fd;
}

int
opt_safefile_unlink(int dirfd, const char *path)
{
	const char *name = strrchr(path, '/');

	return unlinkat(dirfd, name != NULL ? name + 1 : path, 0);
}
