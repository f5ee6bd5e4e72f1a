/* Validators: what may reach a path, a config file or a log line. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "error.h"
#include "tap.h"
#include "valid.h"

static void
site_ids(void)
{
	static const char *good[] = {"a", "0", "nautilus", "site-2_b",
	    "a23456789012345678901234567890123456789012345678901234567890123"};
	static const char *bad[] = {"", "../x", "A B", "Caf\xc3\xa9", "_x",
	    "-x", "a.b", "a/b", "Upper", "a b", "a\nb", "%n", "\"q\"",
	    "a234567890123456789012345678901234567890123456789012345678901234"};
	struct opt_error e;
	char name[128];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(*good); i++) {
		snprintf(name, sizeof(name), "site id '%s' is valid", good[i]);
		ok(opt_valid_site_id(good[i], &e) == 0, name);
	}
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		snprintf(name, sizeof(name), "site id #%zu is refused", i);
		e.status = 0;
		ok(opt_valid_site_id(bad[i], &e) == -1 &&
		        e.status == EX_DATAERR && strchr(e.text, '\n') == NULL,
		    name);
	}
}

static void
hosts(void)
{
	static const char *good[] = {"203.0.113.10", "::1", "fd00::5",
	    "printer", "print-1.lan", "a.b.c.", "xn--caf-dma.example",
	    "1a.example"};
	static const char *bad[] = {"", "x y", "-host", "host-", "a..b",
	    "host_name", "999.1.1.1", "1.2.3", "10.0.0.300", ".a", "a/b", "h\n",
	    "[::1]"};
	struct opt_error e;
	char name[128], longname[300];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(*good); i++) {
		snprintf(name, sizeof(name), "host '%s' is valid", good[i]);
		ok(opt_valid_host(good[i], &e) == 0, name);
	}
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		snprintf(name, sizeof(name), "host #%zu is refused", i);
		ok(opt_valid_host(bad[i], &e) == -1, name);
	}
	/* 4 labels of 63 = 255 characters: over 253. */
	memset(longname, 'a', sizeof(longname));
	longname[63] = longname[127] = longname[191] = '.';
	longname[255] = '\0';
	ok(opt_valid_host(longname, &e) == -1,
	    "a 255-character name is refused");
	longname[253] = '\0';
	ok(opt_valid_host(longname, &e) == 0, "a 253-character name is valid");
	memset(longname, 'a', 64);
	longname[64] = '\0';
	ok(opt_valid_host(longname, &e) == -1,
	    "a 64-character label is refused");
}

static void
descriptions(void)
{
	struct opt_error e;
	char buf[400];
	int i;

	ok(opt_valid_description("", &e) == 0, "empty description");
	ok(opt_valid_description("Accounting \"HP\" # 2", &e) == 0,
	    "quotes and # are fine");
	for (buf[0] = '\0', i = 0; i < 80; i++)
		strcat(buf, "\xc3\xa9");
	ok(opt_valid_description(buf, &e) == 0, "80 two-byte characters");
	strcat(buf, "x");
	ok(opt_valid_description(buf, &e) == -1, "81 characters are refused");
	ok(strstr(e.text, "longer than 80") != NULL, "...saying why");
	ok(opt_valid_description("a\tb", &e) == -1, "tab is refused");
	ok(opt_valid_description("a\x7f", &e) == -1, "DEL is refused");
	ok(opt_valid_description("a\xc2\x85", &e) == -1, "C1 NEL is refused");
	ok(opt_valid_description("\xff", &e) == -1, "invalid UTF-8");
	ok(opt_valid_description("\xc0\xaf", &e) == -1, "overlong UTF-8");
	ok(opt_valid_description("\xed\xa0\x80", &e) == -1, "surrogate");
	ok(opt_valid_description("\xe2\x82", &e) == -1, "truncated UTF-8");
	ok(opt_valid_description("\xf0\x9f\x96\xa8 printer", &e) == 0,
	    "4-byte UTF-8 is fine");
}

static void
numbers(void)
{
	struct opt_error e;
	unsigned r = 0;
	bool b = false;
	int v = 0;

	ok(opt_parse_port("port", "22", &v, &e) == 0 && v == 22, "port 22");
	ok(opt_parse_port("port", "65535", &v, &e) == 0, "port 65535");
	ok(opt_parse_port("port", "0", &v, &e) == -1, "port 0");
	ok(opt_parse_port("port", "65536", &v, &e) == -1, "port 65536");
	ok(opt_parse_port("port", " 22", &v, &e) == -1, "port ' 22'");
	ok(opt_parse_port("port", "+22", &v, &e) == -1, "port '+22'");
	ok(opt_parse_port("port", "22x", &v, &e) == -1, "port '22x'");
	ok(opt_parse_port("port", "", &v, &e) == -1, "empty port");
	is_str(e.text, "port '' is not a port number (1-65535)",
	    "port message");

	ok(opt_parse_bool("x", "yes", &b, &e) == 0 && b, "yes");
	ok(opt_parse_bool("x", "OFF", &b, &e) == 0 && !b, "OFF");
	ok(opt_parse_bool("x", "maybe", &b, &e) == -1, "maybe");

	ok(opt_parse_rate("100", &r, &e) == 0 && r == 100, "rate 100");
	ok(opt_parse_rate("512K", &r, &e) == 0 && r == 512, "rate 512K");
	ok(opt_parse_rate("2M", &r, &e) == 0 && r == 2048, "rate 2M");
	ok(opt_parse_rate("2mib", &r, &e) == 0 && r == 2048, "rate 2mib");
	is_int(opt_parse_rate("800kbit", &r, &e) == 0 ? r : 0, 98,
	    "800kbit = 100000 B/s = 98 KiB/s (rounded)");
	is_int(opt_parse_rate("10mbit", &r, &e) == 0 ? r : 0, 1221,
	    "10mbit = 1221 KiB/s");
	ok(opt_parse_rate("1G", &r, &e) == -1, "rate 1G");
	ok(opt_parse_rate("0", &r, &e) == -1, "rate 0");
	ok(strstr(e.text, "out of range") != NULL, "...is out of range");
	ok(opt_parse_rate("4kbit", &r, &e) == -1, "4kbit rounds to 0");
	ok(opt_parse_rate("1.5M", &r, &e) == -1, "rate 1.5M");
	ok(strstr(e.text, "like 100, 512K, 2M") != NULL,
	    "...with accepted forms");
	ok(opt_parse_rate("-5", &r, &e) == -1, "rate -5");
	ok(opt_parse_rate("99999999999999999999", &r, &e) == -1, "huge rate");
	ok(opt_parse_rate("1048576", &r, &e) == 0, "1 GiB/s is the top");
	ok(opt_parse_rate("1048577", &r, &e) == -1, "over 1 GiB/s");
}

static void
durations(void)
{
	static const struct {
		const char *text;
		long long seconds;
		const char *shown;
	} good[] = {
	    {"90", 90, "90s"},
	    {"90s", 90, "90s"},
	    {"15m", 900, "15m"},
	    {"900", 900, "15m"},
	    {"7d", 604800, "7d"},
	    {"168h", 604800, "7d"},
	    {"36h", 129600, "36h"},
	    {"2D", 172800, "2d"},
	    {"0060", 60, "1m"},
	    {"1", 1, "1s"},
	    {"31536000", 31536000, "365d"},
	};
	static const char *bad[] = {"", "d", "7x", "7dd", "7 d", " 7", "+7",
	    "-7", "1.5h", "7d ", "1w", "0x10", "7\n"};
	static const char *range[] = {"0", "0d", "31536001", "366d", "8761h",
	    "99999999999999999999999999999", "99999999999999999999999999d"};
	char name[96], buf[OPT_DURATION_BUF];
	struct opt_error e;
	long long v;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(*good); i++) {
		snprintf(name, sizeof(name), "duration '%s' is %lld s",
		    good[i].text, good[i].seconds);
		v = -1;
		ok(opt_parse_duration("age", good[i].text, 1, 365 * 86400LL, &v,
		       &e) == 0 &&
		        v == good[i].seconds,
		    name);
		snprintf(name, sizeof(name), "%lld s is written '%s'",
		    good[i].seconds, good[i].shown);
		is_str(opt_duration_str(good[i].seconds, buf, sizeof(buf)),
		    good[i].shown, name);
	}
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		snprintf(name, sizeof(name), "duration #%zu is not one", i);
		v = 5;
		ok(opt_parse_duration("age", bad[i], 1, 365 * 86400LL, &v,
		       &e) == -1 &&
		        e.status == EX_DATAERR && v == 5 &&
		        strstr(e.text, "is not a duration") != NULL &&
		        strchr(e.text, '\n') == NULL,
		    name);
	}
	for (i = 0; i < sizeof(range) / sizeof(*range); i++) {
		snprintf(name, sizeof(name), "duration '%.20s' is out of range",
		    range[i]);
		ok(opt_parse_duration("age", range[i], 1, 365 * 86400LL, &v,
		       &e) == -1 &&
		        strstr(e.text, "is out of range (1s to 365d)") != NULL,
		    name);
	}
	ok(opt_parse_duration("spool_max_age", "59", 60, 365 * 86400LL, &v,
	       &e) == -1 &&
	        strcmp(e.text,
	            "spool_max_age '59' is out of range (1m to 365d)") == 0,
	    "the message names the setting, the value and the range");
	is_str(opt_duration_str(0, buf, sizeof(buf)), "0s", "0 is '0s'");
	is_str(opt_duration_str(LLONG_MAX, buf, sizeof(buf)),
	    "9223372036854775807s", "the longest fits OPT_DURATION_BUF");
}

static void
networks(void)
{
	struct opt_error e;

	ok(opt_valid_cidr("10.0.0.0/8", &e) == 0, "10.0.0.0/8");
	ok(opt_valid_cidr("192.168.1.7", &e) == 0, "bare address");
	ok(opt_valid_cidr("fd00::/8", &e) == 0, "fd00::/8");
	ok(opt_valid_cidr("10.0.0.0/33", &e) == -1, "/33");
	ok(opt_valid_cidr("fd00::/129", &e) == -1, "/129");
	ok(opt_valid_cidr("10.0.0.0/", &e) == -1, "empty prefix");
	ok(opt_valid_cidr("10.0.0.0/-1", &e) == -1, "negative prefix");
	ok(opt_valid_cidr("host/8", &e) == -1, "a name is no network");
	ok(opt_valid_addr("0.0.0.0", &e) == 0, "bind 0.0.0.0");
	ok(opt_valid_addr("::", &e) == 0, "bind ::");
	ok(opt_valid_addr("localhost", &e) == -1, "bind takes no name");
	ok(opt_valid_user("opt", &e) == 0, "user opt");
	ok(opt_valid_user("-o", &e) == -1, "user -o");
	ok(opt_valid_user("a b", &e) == -1, "user 'a b'");
	ok(opt_valid_user("a23456789012345678901234567890123", &e) == -1,
	    "33-character user");
	ok(opt_valid_path("identity", "key", &e) == -1, "relative path");
	ok(opt_valid_path("identity", "/k\ney", &e) == -1, "newline in path");
}

static void
quoting(void)
{
	char q[OPT_QUOTE_BUF], big[300];

	is_str(opt_quote(q, sizeof(q), "a\nb\\c\x1b"), "a\\x0ab\\\\c\\x1b",
	    "quote escapes control characters and backslash");
	is_str(opt_quote(q, sizeof(q), "Caf\xc3\xa9"), "Caf\\xc3\\xa9",
	    "quote shows bytes above ASCII");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	opt_quote(q, sizeof(q), big);
	ok(strlen(q) <= OPT_QUOTE_MAX + 3 &&
	        strcmp(q + strlen(q) - 3, "...") == 0,
	    "long input is cut with ...");
}

int
main(void)
{
	site_ids();
	hosts();
	descriptions();
	numbers();
	durations();
	networks();
	quoting();
	return done_testing();
}
