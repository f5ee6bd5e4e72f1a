#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "error.h"

static int
status_of_errno(int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
		return EX_NOPERM;
	case ENOENT:
	case ENOTDIR:
	case ENAMETOOLONG:
		return EX_NOINPUT;
	case ENOSPC:
	case EDQUOT:
	case EROFS:
	case EEXIST:
		return EX_CANTCREAT;
	default:
		return EX_IOERR;
	}
}

int
opt_error_set(struct opt_error *e, int status, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	e->status = status;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	return -1;
}

/* Like opt_error_set, with ": strerror(errno)" appended; status 0 means
 * "derive it from errno". */
int
opt_error_errno(struct opt_error *e, int status, const char *fmt, ...)
{
	int saved = errno;
	size_t n;
	va_list ap;

	if (e == NULL)
		return -1;
	e->status = status ? status : status_of_errno(saved);
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	n = strlen(e->text);
	snprintf(e->text + n, sizeof(e->text) - n, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

void
opt_error_prefix(struct opt_error *e, const char *fmt, ...)
{
	char old[OPT_ERROR_MAX];
	size_t n;
	va_list ap;

	if (e == NULL)
		return;
	memcpy(old, e->text, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	n = strlen(e->text);
	snprintf(e->text + n, sizeof(e->text) - n, "%s", old);
}

/*
 * Bytes outside printable ASCII are shown as \xNN, so that a name with a
 * newline, an escape sequence or invalid UTF-8 can never break the one
 * line an error message is.  Long input is cut with "...".
 */
const char *
opt_quote(char *buf, size_t len, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (len < 8) {
		if (len > 0)
			buf[0] = '\0';
		return buf;
	}
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		size_t need = (c >= 0x20 && c < 0x7f && c != '\\') ? 1
		    : c == '\\'                                    ? 2
		                                                   : 4;

		if (o + need + 4 > len || o >= OPT_QUOTE_MAX) {
			memcpy(buf + o, "...", 4);
			return buf;
		}
		if (need == 1) {
			buf[o++] = (char)c;
		} else if (need == 2) {
			buf[o++] = '\\';
			buf[o++] = '\\';
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	buf[o] = '\0';
	return buf;
}

/*
 * A path for a message: as it is when it is printable ASCII, which
 * cannot break the line, and short enough to leave room for the rest
 * of the message; else quoted and cut by opt_quote.
 */
const char *
opt_quote_path(char *buf, size_t len, const char *path)
{
	const unsigned char *p;

	for (p = (const unsigned char *)path; *p != '\0'; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return opt_quote(buf, len, path);
	if (p - (const unsigned char *)path > 255)
		return opt_quote(buf, len, path);
	return path;
}
