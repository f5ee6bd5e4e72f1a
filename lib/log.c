#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *const levels[] = {"debug", "info", "warn", "error"};

/* <site>.log in the directory open as dirfd (dir in messages), given
 * to owner if it is made (NULL: the process); dirfd -1: to stderr. */
int
opt_log_open(struct opt_log *l, int dirfd, const char *dir, const char *site,
    const struct opt_owner *owner, struct opt_error *e)
{
	memset(l, 0, sizeof(*l));
	l->fd = STDERR_FILENO;
	l->dirfd = -1;
	l->min = OPT_LOG_INFO;
	strlcpy(l->site, site, sizeof(l->site));
	if (dirfd == -1)
		return 0;
	if (strlcpy(l->dir, dir, sizeof(l->dir)) >= sizeof(l->dir) ||
	    (size_t)snprintf(l->name, sizeof(l->name), "%s.log", site) >=
	        sizeof(l->name))
		return opt_error_set(e, EX_SOFTWARE, "%s: path too long", dir);
	l->owner.uid = geteuid();
	l->owner.gid = getegid();
	if (owner != NULL)
		l->owner = *owner;
	l->dirfd = dirfd;
	l->fd = -1;
	return opt_log_reopen(l, e);
}

/* For logrotate: the old file is closed only once the new one is open. */
int
opt_log_reopen(struct opt_log *l, struct opt_error *e)
{
	int fd;

	if (l->dirfd == -1)
		return 0;
	fd = opt_safefile_open(l->dirfd, l->dir, l->name,
	    O_WRONLY | O_APPEND | O_CREAT, 0640, &l->owner, e);
	if (fd == -1)
		return -1;
	if (l->fd != -1)
		close(l->fd);
	l->fd = fd;
	return 0;
}

void
opt_log_close(struct opt_log *l)
{
	if (l->fd != -1 && l->fd != STDERR_FILENO)
		close(l->fd);
	l->fd = -1;
}

/*
 * A logfmt value: bare when it is plain, else in double quotes with
 * backslash escapes, so that no value can forge a field or a line.
 */
const char *
opt_log_quote(char *buf, size_t len, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	size_t o = 0;
	int plain = *s != '\0';

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' ||
		    *p >= 0x7f)
			plain = 0;
	if (plain) {
		strlcpy(buf, s, len);
		return buf;
	}
	if (len < 8) {
		buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (p = (const unsigned char *)s; *p != '\0' && o + 6 < len; p++) {
		if (*p == '"' || *p == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)*p;
		} else if (*p < 0x20 || *p == 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[*p >> 4];
			buf[o++] = hex[*p & 15];
		} else {
			buf[o++] = (char)*p; /* UTF-8 passes as is */
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* fmt gives the event's own key=value fields; string values that may
 * hold anything must go through opt_log_quote. */
void
opt_log(struct opt_log *l, enum opt_log_level level, const char *event,
    const char *fmt, ...)
{
	char line[2048];
	struct tm tm;
	time_t now;
	size_t n;
	va_list ap;

	if (l == NULL || l->fd == -1 || level < l->min)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n,
	    " level=%s site=%s event=%s", levels[level], l->site, event);
	if (fmt != NULL && *fmt != '\0' && n < sizeof(line) - 2) {
		line[n++] = ' ';
		va_start(ap, fmt);
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		n = strlen(line);
	}
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(l->fd, line, n);
}
