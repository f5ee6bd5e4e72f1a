#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "valid.h"

static int
bad(struct opt_error *e, const char *what, const char *value, const char *why)
{
	char q[OPT_QUOTE_BUF];

	return opt_error_set(e, EX_DATAERR, "%s '%s' %s", what,
	    opt_quote(q, sizeof(q), value), why);
}

int
opt_valid_site_id(const char *s, struct opt_error *e)
{
	size_t i, n = strlen(s);
	static const char why[] =
	    "is not a valid site id (1-63 of a-z 0-9 _ -, "
	    "starting with a letter or digit)";

	if (n == 0 || n > OPT_SITE_ID_MAX)
		return bad(e, "site", s, why);
	if (!islower((unsigned char)s[0]) && !isdigit((unsigned char)s[0]))
		return bad(e, "site", s, why);
	for (i = 1; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(c >= 'a' && c <= 'z') && !isdigit(c) && c != '_' &&
		    c != '-')
			return bad(e, "site", s, why);
	}
	return 0;
}

static bool
is_ip(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1;
}

/*
 * RFC 1123 host names: dot-separated labels of letters, digits and
 * hyphens, no label starting or ending with a hyphen; the last label is
 * not all digits, so that "10.0.0.300" is not taken for a name.
 */
static bool
is_hostname(const char *s)
{
	size_t n = strlen(s), label = 0;
	bool digits_only = true;
	const char *p;

	if (n == 0 || n > OPT_HOST_MAX)
		return false;
	if (s[n - 1] == '.')
		n--;
	for (p = s; p < s + n; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '.') {
			if (label == 0 || p[-1] == '-')
				return false;
			label = 0;
			digits_only = true;
			continue;
		}
		if (!isalnum(c) && c != '-')
			return false;
		if (c == '-' && label == 0)
			return false;
		if (!isdigit(c))
			digits_only = false;
		if (++label > 63)
			return false;
	}
	return label > 0 && p[-1] != '-' && !digits_only;
}

int
opt_valid_host(const char *s, struct opt_error *e)
{
	if (is_ip(s) || is_hostname(s))
		return 0;
	return bad(e, "host", s, "is not a valid host name or address");
}

int
opt_valid_addr(const char *s, struct opt_error *e)
{
	if (is_ip(s))
		return 0;
	return bad(e, "address", s, "is not an IPv4 or IPv6 address");
}

int
opt_valid_cidr(const char *s, struct opt_error *e)
{
	char addr[OPT_CIDR_MAX];
	unsigned char buf[sizeof(struct in6_addr)];
	const char *slash, *errstr;
	int max;
	size_t n;

	if (strlen(s) >= OPT_CIDR_MAX)
		goto fail;
	slash = strchr(s, '/');
	n = slash ? (size_t)(slash - s) : strlen(s);
	if (n == 0 || n >= OPT_ADDR_MAX)
		goto fail;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, buf) == 1)
		max = 32;
	else if (inet_pton(AF_INET6, addr, buf) == 1)
		max = 128;
	else
		goto fail;
	if (slash != NULL) {
		if (!isdigit((unsigned char)slash[1]))
			goto fail;
		strtonum(slash + 1, 0, max, &errstr);
		if (errstr != NULL)
			goto fail;
	}
	return 0;
fail:
	return bad(e, "network", s,
	    "is not an address or network (like 10.0.0.0/8 or fd00::/8)");
}

/* Portable user names (POSIX), as sshd would accept them. */
int
opt_valid_user(const char *s, struct opt_error *e)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > OPT_USER_MAX || s[0] == '-')
		goto fail;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '_' && c != '-' && c != '.')
			goto fail;
	}
	return 0;
fail:
	return bad(e, "user", s,
	    "is not a valid user name (1-32 of A-Z a-z 0-9 _ . -)");
}

/*
 * The length of the UTF-8 character at p, its code point in *cp; 0 when
 * p is not one (a stray byte, an overlong form, a surrogate, beyond
 * U+10FFFF).
 */
size_t
opt_utf8_char(const unsigned char *p, unsigned *cp)
{
	unsigned len, i;

	if (*p < 0x80) {
		*cp = *p;
		return 1;
	} else if ((*p & 0xe0) == 0xc0) {
		*cp = *p & 0x1f;
		len = 2;
	} else if ((*p & 0xf0) == 0xe0) {
		*cp = *p & 0x0f;
		len = 3;
	} else if ((*p & 0xf8) == 0xf0) {
		*cp = *p & 0x07;
		len = 4;
	} else {
		return 0;
	}
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 2 && *cp < 0x80) || (len == 3 && *cp < 0x800) ||
	    (len == 4 && *cp < 0x10000) || *cp > 0x10ffff ||
	    (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return len;
}

/* C0, DEL and C1. */
static bool
control(unsigned cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
}

/*
 * A description is UTF-8 text of at most 80 characters with no control
 * characters (C0, DEL, C1): it goes into tables, one-line logs and
 * config files.
 */
int
opt_valid_description(const char *s, struct opt_error *e)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t chars = 0, len;
	unsigned cp;

	for (; *p != '\0'; p += len) {
		if ((len = opt_utf8_char(p, &cp)) == 0)
			return bad(e, "description", s,
			    "is not valid UTF-8 text");
		if (control(cp))
			return bad(e, "description", s,
			    "contains a control character");
		if (++chars > OPT_DESC_CHARS)
			return bad(e, "description", s,
			    "is longer than 80 characters");
	}
	return 0;
}

int
opt_valid_path(const char *what, const char *s, struct opt_error *e)
{
	const unsigned char *p;
	size_t len;
	unsigned cp;

	if (s[0] != '/')
		return bad(e, what, s, "is not an absolute path");
	if (strlen(s) >= PATH_MAX)
		return bad(e, what, s, "is too long");
	/* It goes into tables, JSON and one-line messages as it is. */
	for (p = (const unsigned char *)s; *p != '\0'; p += len) {
		if ((len = opt_utf8_char(p, &cp)) == 0)
			return bad(e, what, s, "is not valid UTF-8");
		if (control(cp))
			return bad(e, what, s, "contains a control character");
	}
	return 0;
}

int
opt_parse_int(const char *what, const char *s, long long min, long long max,
    int *out, struct opt_error *e)
{
	char q[OPT_QUOTE_BUF];
	const char *errstr;
	long long v;

	/* strtonum would take " 12" and "+12"; a config value should not. */
	if (!isdigit((unsigned char)s[0]) &&
	    !(s[0] == '-' && isdigit((unsigned char)s[1])))
		errstr = "invalid";
	else
		v = strtonum(s, min, max, &errstr);
	if (errstr != NULL)
		return opt_error_set(e, EX_DATAERR,
		    "%s '%s' is not a number from %lld to %lld", what,
		    opt_quote(q, sizeof(q), s), min, max);
	*out = (int)v;
	return 0;
}

int
opt_parse_port(const char *what, const char *s, int *out, struct opt_error *e)
{
	char q[OPT_QUOTE_BUF];

	if (opt_parse_int(what, s, 1, 65535, out, NULL) == 0)
		return 0;
	return opt_error_set(e, EX_DATAERR,
	    "%s '%s' is not a port number (1-65535)", what,
	    opt_quote(q, sizeof(q), s));
}

int
opt_parse_bool(const char *what, const char *s, bool *out, struct opt_error *e)
{
	static const char *yes[] = {"true", "yes", "on", "1"};
	static const char *no[] = {"false", "no", "off", "0"};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return bad(e, what, s, "is not a yes/no value (true or false)");
}

/*
 * A rate in KiB/s: a whole number, optionally followed by K or KiB
 * (KiB/s), M or MiB (MiB/s), kbit (1000 bit/s) or mbit (10^6 bit/s).
 * Bit rates are rounded to the nearest KiB/s.
 */
int
opt_parse_rate(const char *s, unsigned *out, struct opt_error *e)
{
	static const struct {
		const char *suffix;
		unsigned long long num, den; /* KiB/s per unit */
	} units[] = {
	    {"", 1, 1},
	    {"k", 1, 1},
	    {"kib", 1, 1},
	    {"m", 1024, 1},
	    {"mib", 1024, 1},
	    {"kbit", 1000, 8 * 1024},
	    {"mbit", 1000000, 8 * 1024},
	};
	char q[OPT_QUOTE_BUF];
	unsigned long long n = 0, kib;
	const char *p = s;
	size_t i;

	if (!isdigit((unsigned char)*p))
		goto fail;
	for (; isdigit((unsigned char)*p); p++) {
		n = n * 10 + (unsigned)(*p - '0');
		if (n > 10ULL * 1000 * 1000 * 1000)
			goto fail;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(p, units[i].suffix) != 0)
			continue;
		kib = (n * units[i].num + units[i].den / 2) / units[i].den;
		if (kib < 1 || kib > OPT_RATE_MAX)
			return opt_error_set(e, EX_DATAERR,
			    "rate '%s' is out of range (1 KiB/s to 1 GiB/s)",
			    opt_quote(q, sizeof(q), s));
		*out = (unsigned)kib;
		return 0;
	}
fail:
	return opt_error_set(e, EX_DATAERR,
	    "rate '%s' is not valid (KiB/s, like 100, 512K, 2M, 800kbit or "
	    "10mbit)",
	    opt_quote(q, sizeof(q), s));
}

static const struct {
	char suffix;
	long long seconds;
} duration_units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
#define NUNITS (sizeof(duration_units) / sizeof(*duration_units))

/*
 * A duration in seconds: a whole number, optionally followed by s, m, h
 * or d ("90", "15m", "7d"), from min to max seconds.
 */
int
opt_parse_duration(const char *what, const char *s, long long min,
    long long max, long long *out, struct opt_error *e)
{
	char q[OPT_QUOTE_BUF], lo[OPT_DURATION_BUF], hi[OPT_DURATION_BUF];
	long long n = 0, unit = 0;
	const char *p;
	size_t i;

	/* Past max it is out of range whatever follows: n stops growing. */
	for (p = s; isdigit((unsigned char)*p); p++)
		if (n <= max)
			n = n * 10 + (*p - '0');
	if (p > s && *p == '\0')
		unit = 1;
	else if (p > s && p[1] == '\0')
		for (i = 0; i < NUNITS; i++)
			if (tolower((unsigned char)*p) ==
			    duration_units[i].suffix)
				unit = duration_units[i].seconds;
	if (unit == 0)
		return opt_error_set(e, EX_DATAERR,
		    "%s '%s' is not a duration (seconds, or a number with s, "
		    "m, h or d, like 90, 15m or 7d)",
		    what, opt_quote(q, sizeof(q), s));
	if (n > max / unit || n * unit < min)
		return opt_error_set(e, EX_DATAERR,
		    "%s '%s' is out of range (%s to %s)", what,
		    opt_quote(q, sizeof(q), s),
		    opt_duration_str(min, lo, sizeof(lo)),
		    opt_duration_str(max, hi, sizeof(hi)));
	*out = n * unit;
	return 0;
}

/* The shortest exact text of a duration: 604800 is "7d", 90 is "90s". */
const char *
opt_duration_str(long long seconds, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < NUNITS - 1; i++)
		if (seconds != 0 && seconds % duration_units[i].seconds == 0)
			break;
	snprintf(buf, len, "%lld%c", seconds / duration_units[i].seconds,
	    duration_units[i].suffix);
	return buf;
}
