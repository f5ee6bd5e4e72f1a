/*
 * A site: one remote box reached by SSH, described by
 * <config>/<site>/site.conf.  Fields a site.conf leaves out come from
 * defaults.conf, then from the built-in defaults.
 */
#ifndef OPT_SITE_H
#define OPT_SITE_H

#include <libconfig.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "error.h"
#include "paths.h"
#include "valid.h"

#define OPT_ALLOW_MAX 64
#define OPT_SITE_MAX_JOBS 256 /* jobs at once over the tunnel: default */
#define OPT_SITE_MAX_JOBS_MAX 65536
/* A spool stops taking jobs when it has less room than this, and
 * takes them again at twice as much: a client whose whole job went into
 * its socket buffers is refused then, not reset after its last byte
 * (which CUPS's socket backend takes for printed). */
#define OPT_SPOOL_HEADROOM_MB 16
#define OPT_SPOOL_MIN_MB 64
#define OPT_SPOOL_MAX_MB_MAX 16777216 /* MiB: 16 TiB */
#define OPT_SPOOL_KEEP_MAX 8760 /* hours: a year */
#define OPT_SPOOL_AGE_MAX (365LL * 24 * 3600) /* s: a year */

enum opt_hostkey {
	OPT_HOSTKEY_STRICT,
	OPT_HOSTKEY_ACCEPT_NEW,
	OPT_HOSTKEY_OFF,
};

struct opt_site {
	char id[OPT_SITE_ID_MAX + 1];
	char host[OPT_HOST_MAX + 1];
	int port;
	char user[OPT_USER_MAX + 1];
	char identity[PATH_MAX];
	enum opt_hostkey host_key_check;
	bool compression;
	int keepalive_interval;
	int keepalive_count;
	char bind[OPT_ADDR_MAX];
	size_t nallow;
	char allow[OPT_ALLOW_MAX][OPT_CIDR_MAX];
	int max_jobs;
	/* the spool of its spool-mode channels (spool.h) */
	int spool_max_mb; /* data held at most, 0: no limit */
	int spool_keep; /* hours a delivered job is kept, 0: removed */
	long long spool_max_age; /* s: older undelivered jobs fail */
	long long spool_warn_age; /* s: opt-status warns of older ones */
	long long probe_interval; /* s between probe rounds, 0: on request */
	long long printer_down_critical; /* s offline: --check CRITICAL */
	char description[OPT_DESC_MAX + 1];
};

#define OPT_PROBE_INTERVAL_MAX (24 * 3600)
#define OPT_PRINTER_DOWN_MAX (7 * 24 * 3600)

struct opt_channels;
struct opt_defaults;
struct opt_throttle;

/* The keys of site.conf, in the order files and `show` list them. */
extern const char *const opt_site_keys[];

void opt_site_builtin(struct opt_site *);
const char *opt_hostkey_name(enum opt_hostkey);
int opt_site_apply(const char *, const config_setting_t *, struct opt_site *,
    struct opt_error *);
int opt_site_set(struct opt_site *, const char *, const char *,
    struct opt_error *);
int opt_site_get(const struct opt_site *, const char *, char *, size_t);

int opt_site_exists(const struct opt_paths *, const char *);
int opt_site_load(const struct opt_paths *, const struct opt_defaults *,
    const char *, struct opt_site *, struct opt_error *);
int opt_site_save(const struct opt_paths *, const struct opt_site *,
    struct opt_error *);
int opt_site_list(const struct opt_paths *, char (**)[OPT_SITE_ID_MAX + 1],
    size_t *, struct opt_error *);
int opt_site_create(const struct opt_paths *, const struct opt_site *,
    const struct opt_throttle *, const struct opt_channels *,
    struct opt_error *);
int opt_site_remove(const struct opt_paths *, const char *, struct opt_error *);

#endif
