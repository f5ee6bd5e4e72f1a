#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"

/*
 * libconfig reads whole numbers into C ints, differently from version
 * to version: 1.5 with atoi(), 1.7 with strtoll(s, NULL, 0) (so 022 is
 * 18 there, 22 in 1.5), and both keep a hex number without L in an int.
 * A number past what that holds comes out wrapped (port = 4294967318 is
 * 22, 0x80000016 is negative) before any check can see it, so the text
 * is scanned first, with libconfig's own tokens, and such a number is
 * refused: every version then reads a file the same way, or refuses it.
 * Whole numbers: [-+]?[0-9]+(L|LL)? and 0[xX][0-9a-fA-F]+(L|LL)?; without
 * L they must fit in 32 bits (hex: 0-0x7fffffff), with L in 64.
 */
#define NAME_CHARS                                                             \
	"-*0123456789_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

struct scan {
	const char *path;
	const char *name; /* the setting the next value is of */
	int namelen;
	int line;
	struct opt_error *e;
};

static int
number_fail(const struct scan *sc, const char *num, size_t len, const char *why)
{
	return opt_error_set(sc->e, EX_CONFIG, "%s:%d: %.*s: %.*s%s %s",
	    sc->path, sc->line, sc->namelen, sc->name,
	    (int)(len > 40 ? 40 : len), num, len > 40 ? "..." : "", why);
}

/* The length of [eE][-+]?[0-9]+ at s, or 0. */
static size_t
exponent_len(const char *s)
{
	size_t n = 1;

	if (*s != 'e' && *s != 'E')
		return 0;
	n += s[1] == '-' || s[1] == '+';
	if (!isdigit((unsigned char)s[n]))
		return 0;
	return n + strspn(s + n, "0123456789");
}

/* The length of the float at s, as libconfig's scanner takes it, or 0. */
static size_t
float_len(const char *s)
{
	size_t n = s[0] == '-' || s[0] == '+', d, x;

	d = strspn(s + n, "0123456789");
	n += d;
	if (s[n] == '.') {
		n++;
		n += strspn(s + n, "0123456789");
		return n + exponent_len(s + n);
	}
	if (d == 0 || (x = exponent_len(s + n)) == 0)
		return 0;
	return n + x;
}

/*
 * Checks the whole number (or float) at s; returns its length, or 0
 * with sc->e set when it is refused.
 */
static size_t
number_check(const struct scan *sc, const char *s)
{
	unsigned long long v = 0, max;
	bool neg = false, hex = false, over = false, lead0, wide;
	size_t n, digits, i;
	int base = 10;

	if ((n = float_len(s)) != 0)
		return n;
	n = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
	    isxdigit((unsigned char)s[2])) {
		hex = true;
		base = 16;
		n = 2;
	} else if (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-';
		n = 1;
	}
	digits = strspn(s + n, hex ? "0123456789abcdefABCDEF" : "0123456789");
	if (digits == 0)
		return 1; /* a lone sign: libconfig says what is wrong */
	for (i = n; i < n + digits; i++) {
		unsigned d = isdigit((unsigned char)s[i])
		    ? (unsigned)(s[i] - '0')
		    : (unsigned)(tolower((unsigned char)s[i]) - 'a' + 10);
		if (v > (ULLONG_MAX - d) / (unsigned)base)
			over = true;
		else
			v = v * (unsigned)base + d;
	}
	lead0 = !hex && digits > 1 && s[n] == '0';
	n += digits;
	wide = s[n] == 'L';
	n += wide ? 1 + (s[n + 1] == 'L') : 0;
	if (lead0) {
		number_fail(sc, s, n,
		    "has a leading zero (octal to libconfig 1.7, decimal to "
		    "1.5)");
		return 0;
	}
	max = (wide ? (unsigned long long)LLONG_MAX : INT_MAX) + (unsigned)neg;
	if (over || v > max) {
		number_fail(sc, s, n, "is out of range");
		return 0;
	}
	return n;
}

/*
 * Walks the text with libconfig's tokens: refuses a whole number that
 * libconfig would not hold exactly (above), and a string that is never
 * closed (libconfig 1.5 leaks memory on that error).
 */
static int
scan_text(const char *path, const char *s, struct opt_error *e)
{
	struct scan sc = {path, "value", 5, 1, e};
	const char *end;
	size_t n;
	int start;

	while (*s != '\0') {
		if (*s == '\n') {
			sc.line++;
			s++;
		} else if (*s == '"') {
			for (start = sc.line, s++; *s != '"'; s++) {
				if (*s == '\0')
					return opt_error_set(e, EX_CONFIG,
					    "%s:%d: a \" is not closed", path,
					    start);
				if (*s == '\\' && s[1] != '\0')
					s++;
				sc.line += *s == '\n';
			}
			s++;
		} else if (*s == '#' || (s[0] == '/' && s[1] == '/')) {
			s += strcspn(s, "\n");
		} else if (s[0] == '/' && s[1] == '*') {
			if ((end = strstr(s + 2, "*/")) == NULL)
				return 0; /* libconfig says what is wrong */
			for (; s < end; s++)
				sc.line += *s == '\n';
			s += 2;
		} else if (isalpha((unsigned char)*s) || *s == '*') {
			n = 1 + strspn(s + 1, NAME_CHARS);
			end = s + n + strspn(s + n, " \t\r\n");
			if (*end == '=' || *end == ':') {
				sc.name = s;
				sc.namelen = (int)n;
			}
			s += n;
		} else if (isdigit((unsigned char)*s) || *s == '-' ||
		    *s == '+' || *s == '.') {
			if ((n = number_check(&sc, s)) == 0)
				return -1;
			s += n;
		} else {
			s++;
		}
	}
	return 0;
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
	if (scan_text(path, buf, e) == -1)
		goto fail;
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

/*
 * The group root gives what it writes: mast, else the primary group of
 * local_user, so that a tunnel can read its files once it has dropped
 * root; (gid_t)-1 keeps root's.  Set once by main(), like a umask.
 */
static gid_t file_gid = (gid_t)-1;
static bool file_gid_set;

void
opt_file_group(const char *local_user)
{
	struct passwd *pw;

	file_gid_set = true;
	file_gid = mast_gid();
	if (file_gid == (gid_t)-1 && strcmp(local_user, "root") != 0 &&
	    (pw = getpwnam(local_user)) != NULL)
		file_gid = pw->pw_gid;
}

/* Run as root, a file or directory becomes root's and the group's. */
void
opt_file_own(int fd)
{
	gid_t gid = file_gid_set ? file_gid : mast_gid();

	if (geteuid() != 0 || gid == (gid_t)-1)
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

/* mkdir -p, each new directory 0750 (opt_file_own()). */
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
