/* The engine's pure parts: state files, token buckets, log quoting,
 * SHA-256 and base64 for fingerprints. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sha256.h"
#include "state.h"
#include "tap.h"
#include "throttle.h"

static void
hashes(void)
{
	unsigned char md[OPT_SHA256_LEN], back[64];
	char hex[65], b[128];
	char big[1000];
	long n;
	int i;

	opt_sha256("abc", 3, md);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	is_str(hex,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	    "sha256(abc)");
	opt_sha256("", 0, md);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	is_str(hex,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "sha256 of nothing");
	memset(big, 'a', sizeof(big));
	opt_sha256(big, 56, md); /* the padding edge: 56 bytes */
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	is_str(hex,
	    "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a",
	    "sha256 of 56 bytes");
	opt_b64_encode((const unsigned char *)"hello", 5, b, sizeof(b), 1);
	is_str(b, "aGVsbG8=", "base64 with padding");
	opt_b64_encode((const unsigned char *)"hello", 5, b, sizeof(b), 0);
	is_str(b, "aGVsbG8", "base64 without padding");
	n = opt_b64_decode("aGVs\nbG8=", 9, back, sizeof(back));
	ok(n == 5 && memcmp(back, "hello", 5) == 0, "base64 decodes");
	ok(opt_b64_decode("a*b", 3, back, sizeof(back)) == -1,
	    "a bad character");
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
	hashes();
	quoting();
	states();
	buckets();
	return done_testing();
}
