/*
 * mast's configuration files, read without running them.  mast sourced
 * a bash file per site; here it is parsed: plain assignments and what
 * `declare -p` prints, with double and single quotes, arrays, comments,
 * and $NAME / ${NAME} of a variable set earlier in the same file.
 * Everything else ($(...), backticks, other $NAMEs) is text, and any
 * line that is not an assignment is refused with its line number.
 */
#ifndef OPT_LEGACY_H
#define OPT_LEGACY_H

#include <stdbool.h>

#include "channel.h"
#include "error.h"
#include "site.h"
#include "throttle.h"

struct opt_defaults;

struct opt_legacy {
	struct opt_site site;
	struct opt_throttle throttle;
	struct opt_channels channels;
};

int opt_legacy_parse(const char *, const char *, const char *,
    const struct opt_defaults *, struct opt_legacy *, struct opt_error *);
int opt_legacy_site_id(const char *, char *, size_t, struct opt_error *);
bool opt_legacy_looks_like(const char *);

#endif
