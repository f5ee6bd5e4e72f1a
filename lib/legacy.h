/*
 * mast's configuration files, read without running them.  mast sourced
 * a bash file per site; here it is parsed: plain assignments, `declare`,
 * `typeset`, `export` and `readonly` with any flags, with or without a
 * value, several names a line, and whatever `declare -p` prints in any
 * bash and locale: double, single and $'...' quotes, arrays, and the
 * '(...)' string form of arrays of bash 4.3 and before.  Comments may
 * be anywhere a word may start.  $NAME and ${NAME} of a variable set
 * earlier in the same file are expanded; everything else ($(...),
 * backquotes, other $NAMEs) is text, and any line that is not an
 * assignment is refused with its line number.
 */
#ifndef OPT_LEGACY_H
#define OPT_LEGACY_H

#include <stdbool.h>

#include "channel.h"
#include "error.h"
#include "site.h"
#include "throttle.h"

struct opt_defaults;

/* A ForwardPort rule opt cannot make into a channel: "FILE:LINE: why". */
struct opt_legacy_skip {
	int line;
	char text[OPT_ERROR_MAX];
};

struct opt_legacy {
	struct opt_site site;
	struct opt_throttle throttle;
	struct opt_channels channels;
	struct opt_legacy_skip *skipped;
	size_t nskipped;
};

/* Rules opt cannot make are skipped and listed, not a refusal. */
#define OPT_LEGACY_PARTIAL 0x1

int opt_legacy_parse(const char *, const char *, const char *, unsigned,
    const struct opt_defaults *, struct opt_legacy *, struct opt_error *);
void opt_legacy_free(struct opt_legacy *);
int opt_legacy_site_id(const char *, char *, size_t, struct opt_error *);
bool opt_legacy_looks_like(const char *);

#endif
