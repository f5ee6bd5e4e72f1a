/* Fuzz target: the mast config parser of opt-site import. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "defaults.h"
#include "legacy.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct opt_defaults d;
	struct opt_legacy lg;
	struct opt_error e;
	char *text = malloc(len + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, len);
	text[len] = '\0';
	opt_defaults_builtin(&d);
	if (opt_legacy_parse("fuzz", "site", text, OPT_LEGACY_PARTIAL, &d, &lg,
	        &e) == 0)
		opt_legacy_free(&lg);
	if (opt_legacy_parse("fuzz", "site", text, 0, &d, &lg, &e) == 0)
		opt_legacy_free(&lg);
	opt_legacy_looks_like(text);
	free(text);
	return 0;
}
