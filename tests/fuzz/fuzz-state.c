/* Fuzz target: the state file reader of opt-status. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct opt_state s, back;
	char *buf = NULL;
	size_t n = 0;
	FILE *f;

	if (opt_state_parse((const char *)data, len, &s) == -1)
		return 0;
	/* What parses must format and parse again to the same. */
	if ((f = open_memstream(&buf, &n)) != NULL) {
		opt_state_format(f, &s);
		fclose(f);
		if (opt_state_parse(buf, n, &back) == -1 ||
		    back.nchannels != s.nchannels || back.jobs != s.jobs)
			abort();
		opt_state_free(&back);
		free(buf);
	}
	opt_state_free(&s);
	return 0;
}
