/* The engine's pure parts: state files, token buckets, log quoting,
 * host key fingerprints. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "output.h"
#include "ssh.h"
#include "state.h"
#include "tap.h"
#include "throttle.h"

/* As ssh-keygen -l shows them: unpadded base64 of a SHA-256. */
static void
fingerprints(void)
{
	unsigned char big[56];
	char fp[OPT_FP_MAX];

	opt_fingerprint((const unsigned char *)"abc", 3, fp, sizeof(fp));
	is_str(fp, "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0",
	    "fingerprint of abc");
	opt_fingerprint((const unsigned char *)"", 0, fp, sizeof(fp));
	is_str(fp, "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
	    "fingerprint of nothing");
	memset(big, 'a', sizeof(big)); /* the padding edge of SHA-256 */
	opt_fingerprint(big, sizeof(big), fp, sizeof(fp));
	is_str(fp, "SHA256:s1Q5pKxvCUi21vnjxq8PX1kM4g8b3nCQ73lwaG7Gc4o",
	    "fingerprint of 56 bytes");
}

/* Every --json goes through this writer: escapes, commas, nesting. */
static void
json(void)
{
	struct opt_json j;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return;
	opt_json_init(&j, f);
	opt_json_open(&j, NULL, '[');
	opt_json_open(&j, NULL, '{');
	opt_json_str(&j, "d",
	    "q\" b\\ \x01\x1f\x7f\n\t\r Z\xc3\xbcrich \xf0\x9f\x96\xa8");
	opt_json_str(&j, "bad", "a\xff\xc3(b\xed\xa0\x80");
	opt_json_null(&j, "n");
	opt_json_open(&j, "l", '[');
	opt_json_int(&j, NULL, -1);
	opt_json_uint(&j, NULL, 18446744073709551615ULL);
	opt_json_bool(&j, NULL, true);
	opt_json_close(&j);
	opt_json_close(&j);
	opt_json_open(&j, NULL, '{');
	opt_json_close(&j);
	opt_json_close(&j);
	fclose(f);
	is_str(buf,
	    "[{\"d\":\"q\\\" b\\\\ \\u0001\\u001f\\u007f\\n\\t\\r "
	    "Z\xc3\xbcrich \xf0\x9f\x96\xa8\",\"bad\":\"a\\ufffd\\ufffd(b"
	    "\\ufffd\\ufffd\\ufffd\",\"n\":null,\"l\":[-1,18446744073709551615,"
	    "true]},\n {}]\n",
	    "json: control characters escaped, UTF-8 kept, bad bytes U+FFFD, "
	    "one top-level element a line");
	ok(!j.failed, "json: balanced");
	free(buf);
}

static void
quoting(void)
{
	char q[64];

	is_str(opt_log_quote(q, sizeof(q), "plain-value_1.2"),
	    "plain-value_1.2", "a plain value stays bare");
	is_str(opt_log_quote(q, sizeof(q), "two words"), "\"two words\"",
	    "spaces are quoted");
	is_str(opt_log_quote(q, sizeof(q), "a=b"), "\"a=b\"",
	    "an = is quoted, so no field can be forged");
	is_str(opt_log_quote(q, sizeof(q), "x\ny \"z\""),
	    "\"x\\x0ay \\\"z\\\"\"", "newline and quotes are escaped");
	is_str(opt_log_quote(q, sizeof(q), ""), "\"\"", "empty is \"\"");
}

static void
states(void)
{
	static const char text[] =
	    "site=nautilus\npid=42\nstate=up\nsince=100\nreconnects=2\n"
	    "last_error=it broke\nwire_up=10\nwire_down=20\npayload_up=30\n"
	    "payload_down=40\njobs=5\nrate_up=7\nrate_down=8\nprobes=3\n"
	    "future_key=whatever\nchannel.2.listen=9101\n"
	    "channel.2.printer=fd00::5:9100\nchannel.2.probe=failed\n"
	    "channel.2.jobs=4\n";
	struct opt_state s, back;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	ok(opt_state_parse(text, strlen(text), &s) == 0, "a state parses");
	ok(s.pid == 42 && s.state == OPT_TS_UP && s.reconnects == 2 &&
	        s.jobs == 5 && s.rate_up == 7 && s.probes == 3,
	    "...its numbers");
	is_str(s.last_error, "it broke", "...its last error");
	ok(s.nchannels == 1 && s.channels[0].id == 2 &&
	        s.channels[0].listen == 9101 &&
	        s.channels[0].printer_port == 9100 &&
	        strcmp(s.channels[0].printer, "fd00::5") == 0 &&
	        strcmp(s.channels[0].probe, "failed") == 0,
	    "...its channel, an IPv6 printer split at the last colon");
	f = open_memstream(&buf, &len);
	opt_state_format(f, &s);
	fclose(f);
	ok(opt_state_parse(buf, len, &back) == 0 && back.jobs == 5 &&
	        back.nchannels == 1 && back.channels[0].jobs == 4,
	    "format and parse round trip");
	free(buf);
	opt_state_free(&back);
	opt_state_free(&s);

	ok(opt_state_parse("garbage", 7, &s) == -1, "garbage is no state");
	ok(opt_state_parse("site=x\npid=abc\n", 15, &s) == -1,
	    "a bad number is no state");
	ok(opt_state_parse("site=../x\n", 10, &s) == -1,
	    "a bad site id is no state");
	ok(opt_state_parse("site=x\nstate=bogus\n", 19, &s) == -1,
	    "an unknown state is no state");
	ok(opt_state_parse("site=x\nchannel.0.listen=1\n", 26, &s) == -1,
	    "channel 0 is no channel");
	ok(opt_state_parse("site=x\nstate=up\npid=4", 21, &s) == 0 &&
	        s.pid == 4,
	    "a last line without newline is read");
	opt_state_free(&s);
	ok(opt_state_parse("site=x\nlast_error=a\x01"
	                   "b\n",
	       22, &s) == 0 &&
	        strcmp(s.last_error, "a b") == 0,
	    "control characters in text become spaces");
	opt_state_free(&s);
}

static void
buckets(void)
{
	struct opt_bucket b = {0};

	opt_bucket_set(&b, false, 100, 1000);
	ok(opt_bucket_allow(&b, 1000) == SIZE_MAX, "off: no limit");
	opt_bucket_set(&b, true, 100, 1000);
	is_int((long long)opt_bucket_allow(&b, 1000), 16384,
	    "100 KiB/s: a burst of 16 KiB (100 ms would be 10 KiB)");
	opt_bucket_take(&b, 16384);
	is_int((long long)opt_bucket_allow(&b, 1000), 0, "spent");
	is_int((long long)opt_bucket_allow(&b, 1100), 10240,
	    "100 ms later: 10 KiB");
	opt_bucket_take(&b, 20480);
	is_int(opt_bucket_wait(&b, 4096), 141,
	    "in debt by 10 KiB: 4 KiB more in 140 ms");
	opt_bucket_set(&b, true, 2048, 1100);
	ok(b.cap > 209000 && b.cap < 210000,
	    "2 MiB/s: a burst of 100 ms = 204.8 KiB");
	is_int((long long)opt_bucket_allow(&b, 100000), (long long)b.cap,
	    "tokens never exceed the burst");
}

int
main(void)
{
	fingerprints();
	json();
	quoting();
	states();
	buckets();
	return done_testing();
}
