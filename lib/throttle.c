#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sysexits.h>

#include "conf.h"
#include "defaults.h"
#include "throttle.h"
#include "valid.h"

static const char *const throttle_keys[] = {"enabled", "up", "down", NULL};

void
opt_throttle_builtin(struct opt_throttle *t)
{
	t->enabled = false;
	t->up = 100;
	t->down = 10000;
}

int
opt_throttle_apply(const char *path, const config_setting_t *root,
    struct opt_throttle *t, struct opt_error *e)
{
	const config_setting_t *v;

	if ((v = config_setting_get_member(root, "enabled")) != NULL &&
	    opt_conf_bool(path, v, &t->enabled, e) == -1)
		return -1;
	if ((v = config_setting_get_member(root, "up")) != NULL &&
	    opt_conf_int(path, v, 1, OPT_RATE_MAX, &t->up, e) == -1)
		return -1;
	if ((v = config_setting_get_member(root, "down")) != NULL &&
	    opt_conf_int(path, v, 1, OPT_RATE_MAX, &t->down, e) == -1)
		return -1;
	return 0;
}

int
opt_throttle_load(const struct opt_paths *p, const struct opt_defaults *d,
    const char *id, struct opt_throttle *t, struct opt_error *e)
{
	char path[PATH_MAX];
	config_t cfg;
	int r;

	if (opt_paths_site(p, id, "throttle.conf", path, sizeof(path), e) == -1)
		return -1;
	*t = d->throttle;
	config_init(&cfg);
	r = opt_conf_read(path, &cfg, true, e);
	if (r == 1 &&
	    (opt_conf_keys(path, config_root_setting(&cfg), throttle_keys, e) ==
	            -1 ||
	        opt_throttle_apply(path, config_root_setting(&cfg), t, e) ==
	            -1))
		r = -1;
	config_destroy(&cfg);
	return r == -1 ? -1 : 0;
}

static void
throttle_write(FILE *f, const char *id, const struct opt_throttle *t)
{
	fprintf(f,
	    "# throttle.conf of %s; see opt.conf(5)\n"
	    "# KiB/s of wire bytes; up = to the site, down = from it\n"
	    "enabled = %s;\nup = %d;\ndown = %d;\n",
	    id, t->enabled ? "true" : "false", t->up, t->down);
}

/* For opt_conf_save: arg is a struct opt_throttle_file. */
void
opt_throttle_emit(FILE *f, const void *arg)
{
	const struct opt_throttle_file *a = arg;

	throttle_write(f, a->id, a->t);
}

int
opt_throttle_save(const struct opt_paths *p, const char *id,
    const struct opt_throttle *t, struct opt_error *e)
{
	char path[PATH_MAX];
	struct opt_throttle_file a = {id, t};

	if (opt_paths_site(p, id, "throttle.conf", path, sizeof(path), e) == -1)
		return -1;
	return opt_conf_save(path, opt_throttle_emit, &a, e);
}

/* kib: the limit in KiB/s; off means no limit.  Tokens carry over. */
void
opt_bucket_set(struct opt_bucket *b, bool on, int kib, long long now)
{
	double cap;

	b->on = on;
	if (!on)
		return;
	b->rate = kib * 1024.0 / 1000.0;
	cap = b->rate * 100.0;
	b->cap = cap > OPT_BUCKET_MIN_BURST ? cap : OPT_BUCKET_MIN_BURST;
	if (b->last == 0) {
		b->tokens = b->cap;
		b->last = now;
	}
	if (b->tokens > b->cap)
		b->tokens = b->cap;
}

/* How many bytes may cross now (SIZE_MAX without a limit). */
size_t
opt_bucket_allow(struct opt_bucket *b, long long now)
{
	if (!b->on)
		return SIZE_MAX;
	if (now > b->last) {
		b->tokens += (double)(now - b->last) * b->rate;
		if (b->tokens > b->cap)
			b->tokens = b->cap;
		b->last = now;
	}
	return b->tokens >= 1 ? (size_t)b->tokens : 0;
}

void
opt_bucket_take(struct opt_bucket *b, size_t n)
{
	if (b->on)
		b->tokens -= (double)n;
}

/* Milliseconds until n bytes may cross (n is capped at the burst). */
long long
opt_bucket_wait(const struct opt_bucket *b, size_t n)
{
	double need = (double)n;

	if (!b->on)
		return 0;
	if (need > b->cap)
		need = b->cap;
	if (b->tokens >= need)
		return 0;
	return (long long)((need - b->tokens) / b->rate) + 1;
}

void
opt_shaper_set(struct opt_shaper *s, const struct opt_throttle *t,
    long long now)
{
	opt_bucket_set(&s->b[OPT_DIR_UP], t->enabled, t->up, now);
	opt_bucket_set(&s->b[OPT_DIR_DOWN], t->enabled, t->down, now);
}

bool
opt_shaper_on(const struct opt_shaper *s, enum opt_dir d)
{
	return s != NULL && s->b[d].on;
}

/* Bytes that may cross now; SIZE_MAX without a limit (or a shaper). */
size_t
opt_shaper_room(struct opt_shaper *s, enum opt_dir d, long long now)
{
	return s == NULL ? SIZE_MAX : opt_bucket_allow(&s->b[d], now);
}

void
opt_shaper_spend(struct opt_shaper *s, enum opt_dir d, size_t n)
{
	if (s != NULL)
		opt_bucket_take(&s->b[d], n);
}

long long
opt_shaper_wait(const struct opt_shaper *s, enum opt_dir d, size_t n)
{
	return s == NULL ? 0 : opt_bucket_wait(&s->b[d], n);
}

/* The largest burst: what the engine lets queue; SIZE_MAX when off. */
size_t
opt_shaper_burst(const struct opt_shaper *s, enum opt_dir d)
{
	if (!opt_shaper_on(s, d))
		return SIZE_MAX;
	return (size_t)s->b[d].cap;
}
