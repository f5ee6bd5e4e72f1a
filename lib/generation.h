/*
 * A site's config generation: a token that changes whenever one of the
 * files a tunnel reads changes (defaults.conf and the site's site.conf,
 * channels.conf, throttle.conf).  The tunnel records the generation it
 * applied in its state file; a tool computes the generation of the
 * files as they are now and compares, so that it can tell whether the
 * tunnel runs them.
 */
#ifndef OPT_GENERATION_H
#define OPT_GENERATION_H

#include <stddef.h>

#include "error.h"
#include "paths.h"

#define OPT_GENERATION_MAX 17 /* 16 hex digits */

int opt_generation_of(const struct opt_paths *, const char *, char *, size_t,
    struct opt_error *);

#endif
