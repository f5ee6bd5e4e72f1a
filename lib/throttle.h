/*
 * A site's bandwidth limits, <config>/<site>/throttle.conf: KiB/s of
 * wire bytes per direction, up (to the site) and down.
 */
#ifndef OPT_THROTTLE_H
#define OPT_THROTTLE_H

#include <libconfig.h>
#include <stdbool.h>
#include <stdio.h>

#include "error.h"
#include "paths.h"

struct opt_defaults;

struct opt_throttle {
	bool enabled;
	int up;
	int down;
};

struct opt_throttle_file {
	const char *id;
	const struct opt_throttle *t;
};

void opt_throttle_builtin(struct opt_throttle *);
int opt_throttle_apply(const char *, const config_setting_t *,
    struct opt_throttle *, struct opt_error *);
int opt_throttle_load(const struct opt_paths *, const struct opt_defaults *,
    const char *, struct opt_throttle *, struct opt_error *);
int opt_throttle_save(const struct opt_paths *, const char *,
    const struct opt_throttle *, struct opt_error *);
void opt_throttle_emit(FILE *, const void *);

/*
 * A token bucket on wire bytes, one per direction: tokens come at the
 * rate and are spent by what crosses the socket; they may go below
 * zero (what was read could not be refused), which delays what follows.
 * It holds at most max(16 KiB, 100 ms of the rate): the largest burst.
 */
struct opt_bucket {
	bool on;
	double rate; /* bytes per ms */
	double cap;
	double tokens;
	long long last;
};

#define OPT_BUCKET_MIN_BURST (16 * 1024)

void opt_bucket_set(struct opt_bucket *, bool, int, long long);
size_t opt_bucket_allow(struct opt_bucket *, long long);
void opt_bucket_take(struct opt_bucket *, size_t);
long long opt_bucket_wait(const struct opt_bucket *, size_t);

/*
 * The site's shaper: a bucket per direction, set from throttle.conf.
 * The engine asks it for room, spends what crossed and asks when to
 * wake; it never reads a bucket's fields.
 */
enum opt_dir {
	OPT_DIR_UP, /* to the site */
	OPT_DIR_DOWN,
};

struct opt_shaper {
	struct opt_bucket b[2];
};

void opt_shaper_set(struct opt_shaper *, const struct opt_throttle *,
    long long);
bool opt_shaper_on(const struct opt_shaper *, enum opt_dir);
size_t opt_shaper_room(struct opt_shaper *, enum opt_dir, long long);
void opt_shaper_spend(struct opt_shaper *, enum opt_dir, size_t);
long long opt_shaper_wait(const struct opt_shaper *, enum opt_dir, size_t);
size_t opt_shaper_burst(const struct opt_shaper *, enum opt_dir);

#endif
