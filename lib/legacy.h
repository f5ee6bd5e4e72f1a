/*
 * mast's site files, imported without running them.  mast sourced a
 * bash file per site; here its variables are read (bashvars.h) and
 * given their meaning in opt: RemoteHost, RemoteUser, RemotePort and
 * the ssh options make the site, BandwidthLimitation, UploadLimit and
 * DownloadLimit its throttle, each ForwardPort "L" rule a channel.  A
 * file is imported whole or not at all: what opt cannot read or map,
 * a value that still holds a placeholder of mast's template among
 * them, is refused as "FILE:LINE: why; nothing imported".
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
