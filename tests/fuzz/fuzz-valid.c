/* Fuzz target: every validator, on the same input. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "error.h"
#include "valid.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1), q[OPT_QUOTE_BUF], d[OPT_DURATION_BUF];
	enum opt_channel_mode mode;
	long long secs, again;
	struct opt_channel c;
	struct opt_error e;
	unsigned rate;
	bool b;
	int n;

	if (s == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	/* What passes may go into paths and config files: check it. */
	if (opt_valid_site_id(s, &e) == 0 &&
	    (strchr(s, '/') != NULL || strchr(s, '.') != NULL || s[0] == '-'))
		abort();
	if (opt_valid_host(s, &e) == 0 && strpbrk(s, " \"\\\n/") != NULL)
		abort();
	if (opt_valid_description(s, &e) == 0 && strpbrk(s, "\n\r\t") != NULL)
		abort();
	opt_valid_addr(s, &e);
	opt_valid_cidr(s, &e);
	opt_valid_user(s, &e);
	opt_valid_path("path", s, &e);
	opt_parse_port("port", s, &n, &e);
	opt_parse_bool("bool", s, &b, &e);
	if (opt_parse_rate(s, &rate, &e) == 0 &&
	    (rate < 1 || rate > OPT_RATE_MAX))
		abort();
	/* A duration written back reads as the same one. */
	if (opt_parse_duration("age", s, 1, 365 * 86400LL, &secs, &e) == 0 &&
	    (opt_parse_duration("age", opt_duration_str(secs, d, sizeof(d)), 1,
	         365 * 86400LL, &again, &e) == -1 ||
	        again != secs))
		abort();
	if (opt_channel_mode_parse(s, &mode, &e) == 0 &&
	    strcmp(opt_channel_mode_name(mode), s) != 0)
		abort();
	opt_channel_target(s, &c, &e);
	opt_quote(q, sizeof(q), s);
	if (strlen(q) >= sizeof(q) || strchr(q, '\n') != NULL)
		abort();
	free(s);
	return 0;
}
