#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"

/*
 * The line of a string that is never closed, else 0.  libconfig 1.5
 * leaks memory on that error, so it is caught before.
 */
static int
open_string(const char *s)
{
	int line = 1, start = 0;

	for (; *s != '\0'; s++) {
		if (*s == '\n')
			line++;
		if (start) {
			if (*s == '\\' && s[1] != '\0')
				line += *++s == '\n';
			else if (*s == '"')
				start = 0;
		} else if (*s == '"') {
			start = line;
		} else if (*s == '#' || (*s == '/' && s[1] == '/')) {
			while (s[1] != '\0' && s[1] != '\n')
				s++;
		} else if (*s == '/' && s[1] == '*') {
			for (s += 2; *s != '\0' && !(*s == '*' && s[1] == '/');
			     s++)
				line += *s == '\n';
			if (*s == '\0')
				return 0; /* libconfig says what is wrong */
			s++;
		}
	}
	return start;
}

/*
 * The text is read whole and scanned before libconfig sees it: an
 * @include would pull in a file that was never checked, so it is refused.
 */
static int
parse(const char *path, int fd, off_t size, config_t *cfg, struct opt_error *e)
{
	char *buf, *line;
	size_t len = 0, cap;
	int lineno = 1;
	ssize_t n;

	if (size > (1 << 24)) {
		close(fd);
		return opt_error_set(e, EX_CONFIG, "%s: larger than 16 MiB",
		    path);
	}
	cap = (size_t)size + 1;
	if ((buf = malloc(cap)) == NULL) {
		close(fd);
		return opt_error_errno(e, EX_OSERR, "cannot read %s", path);
	}
	while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			opt_error_errno(e, 0, "cannot read %s", path);
			goto fail;
		}
		len += (size_t)n;
	}
	close(fd);
	fd = -1;
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		opt_error_set(e, EX_CONFIG, "%s: contains a NUL byte", path);
		goto fail;
	}
	for (line = buf; line != NULL; lineno++) {
		char *p = line + strspn(line, " \t");
		if (strncmp(p, "@include", 8) == 0) {
			opt_error_set(e, EX_CONFIG,
			    "%s:%d: @include is not supported", path, lineno);
			goto fail;
		}
		if ((line = strchr(line, '\n')) != NULL)
			line++;
	}
	if ((lineno = open_string(buf)) != 0) {
		opt_error_set(e, EX_CONFIG, "%s:%d: a \" is not closed", path,
		    lineno);
		goto fail;
	}
	if (config_read_string(cfg, buf) != CONFIG_TRUE) {
		opt_error_set(e, EX_CONFIG, "%s:%d: %s", path,
		    config_error_line(cfg),
		    config_error_text(cfg) ? config_error_text(cfg)
		                           : "cannot parse");
		goto fail;
	}
	free(buf);
	return 1;
fail:
	if (fd != -1)
		close(fd);
	free(buf);
	return -1;
}

/*
 * Returns 1 when read, 0 when the file is missing and that is allowed,
 * -1 on error.
 */
int
opt_conf_read(const char *path, config_t *cfg, bool missing_ok,
    struct opt_error *e)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT && missing_ok)
			return 0;
		if (errno == ELOOP)
			return opt_error_set(e, EX_CONFIG,
			    "%s: a symbolic link, refusing it", path);
		return opt_error_errno(e, errno == ENOENT ? EX_CONFIG : 0,
		    "cannot read %s", path);
	}
	if (fstat(fd, &st) == -1) {
		close(fd);
		return opt_error_errno(e, 0, "cannot stat %s", path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return opt_error_set(e, EX_CONFIG, "%s: not a regular file",
		    path);
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		close(fd);
		return opt_error_set(e, EX_CONFIG,
		    "%s: writable by group or others, refusing it "
		    "(chmod go-w %s)",
		    path, path);
	}
	return parse(path, fd, st.st_size, cfg, e);
}

/* Turns the error a validator left into "PATH:LINE: NAME: message". */
int
opt_conf_fail(const char *path, const config_setting_t *s, struct opt_error *e)
{
	const char *name = config_setting_name(s);

	if (e == NULL)
		return -1;
	if (name == NULL && config_setting_parent(s) != NULL)
		name = config_setting_name(config_setting_parent(s));
	opt_error_prefix(e, "%s:%u: %s: ", path, config_setting_source_line(s),
	    name ? name : "value");
	e->status = EX_CONFIG;
	return -1;
}

int
opt_conf_keys(const char *path, const config_setting_t *group,
    const char *const *known, struct opt_error *e)
{
	int i, n = config_setting_length(group);

	for (i = 0; i < n; i++) {
		const config_setting_t *s =
		    config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		const char *const *k;

		for (k = known; *k != NULL; k++)
			if (name != NULL && strcmp(name, *k) == 0)
				break;
		if (*k == NULL) {
			opt_error_set(e, EX_CONFIG, "unknown setting");
			return opt_conf_fail(path, s, e);
		}
	}
	return 0;
}

int
opt_conf_str(const char *path, const config_setting_t *s, char *buf, size_t len,
    struct opt_error *e)
{
	const char *v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		opt_error_set(e, EX_CONFIG, "must be a \"string\"");
		return opt_conf_fail(path, s, e);
	}
	v = config_setting_get_string(s);
	if (strlcpy(buf, v, len) >= len) {
		opt_error_set(e, EX_CONFIG, "value is too long");
		return opt_conf_fail(path, s, e);
	}
	return 0;
}

int
opt_conf_int(const char *path, const config_setting_t *s, long long min,
    long long max, int *out, struct opt_error *e)
{
	long long v;

	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		opt_error_set(e, EX_CONFIG, "must be a whole number");
		return opt_conf_fail(path, s, e);
	}
	v = config_setting_get_int64(s);
	if (v < min || v > max) {
		opt_error_set(e, EX_CONFIG, "%lld is out of range (%lld-%lld)",
		    v, min, max);
		return opt_conf_fail(path, s, e);
	}
	*out = (int)v;
	return 0;
}

int
opt_conf_bool(const char *path, const config_setting_t *s, bool *out,
    struct opt_error *e)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		opt_error_set(e, EX_CONFIG, "must be true or false");
		return opt_conf_fail(path, s, e);
	}
	*out = config_setting_get_bool(s) != 0;
	return 0;
}

/* A libconfig string literal; values are validated, escaping is a guard. */
void
opt_conf_put_quoted(FILE *f, const char *v)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

void
opt_conf_put_str(FILE *f, const char *key, const char *v)
{
	fprintf(f, "%s = ", key);
	opt_conf_put_quoted(f, v);
	fputs(";\n", f);
}

/*
 * The mast group's id, looked up once, in /etc/group only: the package
 * makes mast a local group, a directory service (LDAP, sssd) does not
 * get to choose who reads site configs, and fgetgrent() loads no NSS
 * module into a tunnel that runs for months.  -1 when there is none.
 */
static gid_t
mast_gid(void)
{
	static bool looked;
	static gid_t gid = (gid_t)-1;
	struct group *gr;
	FILE *f;

	if (looked)
		return gid;
	looked = true;
	if ((f = fopen("/etc/group", "re")) == NULL)
		return gid;
	while ((gr = fgetgrent(f)) != NULL)
		if (strcmp(gr->gr_name, OPT_GROUP) == 0) {
			gid = gr->gr_gid;
			break;
		}
	fclose(f);
	return gid;
}

/* Root writes files as root:mast, so the mast user can read them. */
void
opt_file_own(int fd)
{
	gid_t gid;

	if (geteuid() != 0 || (gid = mast_gid()) == (gid_t)-1)
		return;
	if (fchown(fd, 0, gid) == -1)
		return; /* best effort: the file is root's then, still 0640 */
}

int
opt_dir_sync(const char *dir, struct opt_error *e)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1)
		return opt_error_errno(e, 0, "cannot open %s", dir);
	if (fsync(fd) == -1 && errno != EINVAL) {
		opt_error_errno(e, 0, "cannot sync %s", dir);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* mkdir -p, each new directory 0750 (root:mast when root). */
int
opt_dir_make(const char *dir, struct opt_error *e)
{
	char path[PATH_MAX], *p;
	int fd;

	if (strlcpy(path, dir, sizeof(path)) >= sizeof(path))
		return opt_error_set(e, EX_USAGE, "%s: path too long", dir);
	for (p = path + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(path, 0755) == -1 && errno != EEXIST)
			return opt_error_errno(e, 0, "cannot create %s", path);
		*p = '/';
	}
	if (mkdir(dir, OPT_DIR_MODE) == -1) {
		if (errno == EEXIST)
			return 0; /* its owner and mode are left as they are */
		return opt_error_errno(e, 0, "cannot create %s", dir);
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		opt_file_own(fd);
		close(fd);
	}
	return 0;
}

int
opt_file_replace(const char *path, const char *data, size_t len,
    struct opt_error *e)
{
	char dir[PATH_MAX], tmp[PATH_MAX], copy[PATH_MAX];
	const char *base;
	size_t off = 0;
	int fd;

	if (strlcpy(copy, path, sizeof(copy)) >= sizeof(copy))
		return opt_error_set(e, EX_SOFTWARE, "%s: path too long", path);
	strlcpy(dir, dirname(copy), sizeof(dir));
	strlcpy(copy, path, sizeof(copy));
	base = basename(copy);
	if (snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, base) >=
	    (int)sizeof(tmp))
		return opt_error_set(e, EX_SOFTWARE, "%s: path too long", path);

	if ((fd = mkstemp(tmp)) == -1)
		return opt_error_errno(e, 0, "cannot write %s", path);
	if (fchmod(fd, OPT_FILE_MODE) == -1)
		goto fail;
	opt_file_own(fd);
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	return opt_dir_sync(dir, e);
fail:
	opt_error_errno(e, 0, "cannot write %s", path);
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return -1;
}

/* Renders a file with emit() in memory, then replaces path with it. */
int
opt_conf_save(const char *path, void (*emit)(FILE *, const void *),
    const void *arg, struct opt_error *e)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return opt_error_errno(e, EX_OSERR, "cannot write %s", path);
	emit(f, arg);
	if (fclose(f) != 0) {
		free(buf);
		return opt_error_errno(e, EX_OSERR, "cannot write %s", path);
	}
	r = opt_file_replace(path, buf, len, e);
	free(buf);
	return r;
}
