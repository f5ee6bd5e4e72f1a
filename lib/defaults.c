#include <limits.h>
#include <string.h>
#include <sysexits.h>

#include "conf.h"
#include "defaults.h"

void
opt_defaults_builtin(struct opt_defaults *d)
{
	memset(d, 0, sizeof(*d));
	opt_site_builtin(&d->site);
	opt_throttle_builtin(&d->throttle);
	d->port_lo = 9100;
	d->port_hi = 9999;
	strlcpy(d->local_user, "mast", sizeof(d->local_user));
}

static int
apply_port_range(const char *path, const config_setting_t *v,
    struct opt_defaults *d, struct opt_error *e)
{
	int lo, hi;

	if ((config_setting_type(v) != CONFIG_TYPE_ARRAY &&
	        config_setting_type(v) != CONFIG_TYPE_LIST) ||
	    config_setting_length(v) != 2) {
		opt_error_set(e, EX_CONFIG, "must be [FIRST, LAST]");
		return opt_conf_fail(path, v, e);
	}
	if (opt_conf_int(path, config_setting_get_elem(v, 0), 1, 65535, &lo,
	        e) == -1 ||
	    opt_conf_int(path, config_setting_get_elem(v, 1), 1, 65535, &hi,
	        e) == -1)
		return -1;
	if (lo > hi) {
		opt_error_set(e, EX_CONFIG, "first port %d is above last %d",
		    lo, hi);
		return opt_conf_fail(path, v, e);
	}
	d->port_lo = lo;
	d->port_hi = hi;
	return 0;
}

/* A string setting that valid accepts, into buf (len bytes, as large as
 * any value valid accepts), which is left alone when the setting is not
 * there. */
static int
apply_str(const char *path, const config_setting_t *root, const char *key,
    char *buf, size_t len, int (*valid)(const char *, struct opt_error *),
    struct opt_error *e)
{
	const config_setting_t *v = config_setting_get_member(root, key);
	char text[OPT_HOST_MAX + 1];

	if (v == NULL)
		return 0;
	if (opt_conf_str(path, v, text, sizeof(text), e) == -1)
		return -1;
	if (valid(text, e) == -1)
		return opt_conf_fail(path, v, e);
	strlcpy(buf, text, len); /* what valid accepts fits */
	return 0;
}

/* public_host: a host, or "" for none. */
static int
valid_public_host(const char *s, struct opt_error *e)
{
	return s[0] == '\0' ? 0 : opt_valid_host(s, e);
}

int
opt_defaults_load(const struct opt_paths *p, struct opt_defaults *d,
    struct opt_error *e)
{
	static const char *const keys[] = {"port", "user", "identity",
	    "host_key_check", "compression", "keepalive_interval",
	    "keepalive_count", "bind", "allow", "max_jobs", "spool_max_mb",
	    "spool_keep", "spool_max_age", "spool_warn_age", "probe_interval",
	    "printer_down_critical", "enabled", "up", "down", "port_range",
	    "local_user", "channel_mode", "public_host", NULL};
	char path[PATH_MAX], mode[64];
	const config_setting_t *root, *v;
	config_t cfg;
	int r;

	opt_defaults_builtin(d);
	if (opt_paths_join(path, sizeof(path), e, p->config, "defaults.conf",
	        (char *)NULL) == -1)
		return -1;
	config_init(&cfg);
	r = opt_conf_read(path, &cfg, true, e);
	if (r != 1)
		goto out;
	root = config_root_setting(&cfg);
	r = -1;
	if (opt_conf_keys(path, root, keys, e) == -1 ||
	    opt_site_apply(path, root, &d->site, e) == -1 ||
	    opt_throttle_apply(path, root, &d->throttle, e) == -1)
		goto out;
	if ((v = config_setting_get_member(root, "port_range")) != NULL &&
	    apply_port_range(path, v, d, e) == -1)
		goto out;
	if (apply_str(path, root, "local_user", d->local_user,
	        sizeof(d->local_user), opt_valid_user, e) == -1)
		goto out;
	if ((v = config_setting_get_member(root, "channel_mode")) != NULL) {
		if (opt_conf_str(path, v, mode, sizeof(mode), e) == -1)
			goto out;
		if (opt_channel_mode_parse(mode, &d->channel_mode, e) == -1) {
			opt_conf_fail(path, v, e);
			goto out;
		}
	}
	if (apply_str(path, root, "public_host", d->public_host,
	        sizeof(d->public_host), valid_public_host, e) == -1)
		goto out;
	r = 0;
out:
	config_destroy(&cfg);
	return r == -1 ? -1 : 0;
}
