/*
 * A site's channels, <config>/<site>/channels.conf: one forwarded
 * printer each, listen port here to printer:printer_port there.  Channel
 * ids are stable: next_id only grows, so an id is never given twice.
 */
#ifndef OPT_CHANNEL_H
#define OPT_CHANNEL_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"
#include "paths.h"
#include "valid.h"

#define OPT_PRINTER_PORT 9100
#define OPT_CHANNEL_MAX_JOBS 32 /* jobs at once on one channel: default */
#define OPT_CHANNEL_MAX_JOBS_MAX 4096

/* direct: each client's connection is forwarded as it comes; spool:
 * a job is stored on disk first, then delivered (spool.h). */
enum opt_channel_mode {
	OPT_MODE_DIRECT,
	OPT_MODE_SPOOL,
};

/* What a probe asks of the printer (probe.h): whether its port opens
 * (tcp), its own status by PJL (pjl), or nothing (off). */
enum opt_probe_kind {
	OPT_PROBE_TCP,
	OPT_PROBE_PJL,
	OPT_PROBE_OFF,
};

struct opt_channel {
	int id;
	int listen;
	char printer[OPT_HOST_MAX + 1];
	int printer_port;
	int max_jobs;
	enum opt_channel_mode mode;
	enum opt_probe_kind probe;
	char description[OPT_DESC_MAX + 1];
};

struct opt_channels {
	char site[OPT_SITE_ID_MAX + 1];
	int next_id;
	size_t n;
	size_t cap;
	struct opt_channel *v;
};

void opt_channel_builtin(struct opt_channel *);
const char *opt_channel_mode_name(enum opt_channel_mode);
int opt_channel_mode_parse(const char *, enum opt_channel_mode *,
    struct opt_error *);
const char *opt_probe_kind_name(enum opt_probe_kind);
int opt_probe_kind_parse(const char *, enum opt_probe_kind *,
    struct opt_error *);
int opt_channel_target(const char *, struct opt_channel *, struct opt_error *);
int opt_channel_set(struct opt_channel *, const char *, const char *,
    struct opt_error *);

void opt_channels_init(struct opt_channels *, const char *);
void opt_channels_free(struct opt_channels *);
int opt_channels_load(const struct opt_paths *, const char *,
    struct opt_channels *, struct opt_error *);
int opt_channels_save(const struct opt_paths *, const struct opt_channels *,
    struct opt_error *);
void opt_channels_write(FILE *, const struct opt_channels *);
struct opt_channel *opt_channels_find(const struct opt_channels *, int);
struct opt_channel *opt_channels_add(struct opt_channels *,
    const struct opt_channel *, struct opt_error *);
int opt_channels_remove(struct opt_channels *, int, struct opt_error *);

#endif
