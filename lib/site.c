#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "channel.h"
#include "conf.h"
#include "defaults.h"
#include "site.h"
#include "throttle.h"

const char *const opt_site_keys[] = {"host", "port", "user", "identity",
    "host_key_check", "compression", "keepalive_interval", "keepalive_count",
    "bind", "allow", "max_jobs", "spool_max_mb", "spool_keep", "spool_max_age",
    "spool_warn_age", "probe_interval", "printer_down_critical", "description",
    NULL};

static const char *const hostkey_names[] = {
    [OPT_HOSTKEY_STRICT] = "strict",
    [OPT_HOSTKEY_ACCEPT_NEW] = "accept-new",
    [OPT_HOSTKEY_OFF] = "off",
};

void
opt_site_builtin(struct opt_site *s)
{
	memset(s, 0, sizeof(*s));
	s->port = 22;
	strlcpy(s->user, "opt", sizeof(s->user));
	strlcpy(s->identity, "/var/lib/mast/.ssh/id_ed25519",
	    sizeof(s->identity));
	s->host_key_check = OPT_HOSTKEY_ACCEPT_NEW;
	s->compression = true;
	s->keepalive_interval = 5;
	s->keepalive_count = 3;
	strlcpy(s->bind, "0.0.0.0", sizeof(s->bind));
	s->max_jobs = OPT_SITE_MAX_JOBS;
	s->spool_max_age = 7 * 24 * 3600;
	s->spool_warn_age = 15 * 60;
	s->printer_down_critical = 15 * 60;
}

const char *
opt_hostkey_name(enum opt_hostkey k)
{
	return hostkey_names[k];
}

/* allow: comma-separated networks; empty means anyone. */
static int
set_allow(struct opt_site *s, const char *value, struct opt_error *e)
{
	char list[OPT_ALLOW_MAX][OPT_CIDR_MAX];
	char *copy, *p, *item;
	size_t n = 0;

	if ((copy = strdup(value)) == NULL)
		return opt_error_errno(e, EX_OSERR, "allow");
	for (p = copy; (item = strsep(&p, ",")) != NULL;) {
		size_t len;

		item += strspn(item, " ");
		for (len = strlen(item); len > 0 && item[len - 1] == ' '; len--)
			item[len - 1] = '\0';
		if (*item == '\0' && p == NULL && n == 0)
			break;
		if (opt_valid_cidr(item, e) == -1)
			goto fail;
		if (n == OPT_ALLOW_MAX) {
			opt_error_set(e, EX_DATAERR,
			    "allow has more than %d networks", OPT_ALLOW_MAX);
			goto fail;
		}
		strlcpy(list[n++], item, OPT_CIDR_MAX);
	}
	free(copy);
	memcpy(s->allow, list, sizeof(list));
	s->nallow = n;
	return 0;
fail:
	free(copy);
	return -1;
}

static int
set_str(char *dst, size_t len, const char *value,
    int (*valid)(const char *, struct opt_error *), struct opt_error *e)
{
	if (valid(value, e) == -1)
		return -1;
	strlcpy(dst, value, len); /* valid() bounds the length */
	return 0;
}

/* The spool stops taking jobs OPT_SPOOL_HEADROOM_MB short of its
 * limit (intake.h): a limit must leave room above that. */
static int
set_spool_max(struct opt_site *s, const char *value, struct opt_error *e)
{
	char q[OPT_QUOTE_BUF];
	int mb;

	if (opt_parse_int("spool_max_mb", value, 0, OPT_SPOOL_MAX_MB_MAX, &mb,
	        e) == -1)
		return -1;
	if (mb > 0 && mb < OPT_SPOOL_MIN_MB)
		return opt_error_set(e, EX_DATAERR,
		    "spool_max_mb '%s' is below %d: the spool keeps %d MiB "
		    "free for the job that comes (0: no limit)",
		    opt_quote(q, sizeof(q), value), OPT_SPOOL_MIN_MB,
		    OPT_SPOOL_HEADROOM_MB);
	s->spool_max_mb = mb;
	return 0;
}

int
opt_site_set(struct opt_site *s, const char *key, const char *value,
    struct opt_error *e)
{
	char q[OPT_QUOTE_BUF];
	size_t i;

	if (strcmp(key, "host") == 0)
		return set_str(s->host, sizeof(s->host), value, opt_valid_host,
		    e);
	if (strcmp(key, "port") == 0)
		return opt_parse_port("port", value, &s->port, e);
	if (strcmp(key, "user") == 0)
		return set_str(s->user, sizeof(s->user), value, opt_valid_user,
		    e);
	if (strcmp(key, "identity") == 0) {
		if (opt_valid_path("identity", value, e) == -1)
			return -1;
		strlcpy(s->identity, value, sizeof(s->identity));
		return 0;
	}
	if (strcmp(key, "host_key_check") == 0) {
		size_t n = sizeof(hostkey_names) / sizeof(*hostkey_names);

		for (i = 0; i < n; i++) {
			if (strcmp(value, hostkey_names[i]) == 0) {
				s->host_key_check = (enum opt_hostkey)i;
				return 0;
			}
		}
		return opt_error_set(e, EX_DATAERR,
		    "host_key_check '%s' is not one of strict, accept-new, off",
		    opt_quote(q, sizeof(q), value));
	}
	if (strcmp(key, "compression") == 0)
		return opt_parse_bool("compression", value, &s->compression, e);
	if (strcmp(key, "keepalive_interval") == 0)
		return opt_parse_int("keepalive_interval", value, 1, 3600,
		    &s->keepalive_interval, e);
	if (strcmp(key, "keepalive_count") == 0)
		return opt_parse_int("keepalive_count", value, 1, 100,
		    &s->keepalive_count, e);
	if (strcmp(key, "bind") == 0)
		return set_str(s->bind, sizeof(s->bind), value, opt_valid_addr,
		    e);
	if (strcmp(key, "allow") == 0)
		return set_allow(s, value, e);
	if (strcmp(key, "max_jobs") == 0)
		return opt_parse_int("max_jobs", value, 1,
		    OPT_SITE_MAX_JOBS_MAX, &s->max_jobs, e);
	if (strcmp(key, "spool_max_mb") == 0)
		return set_spool_max(s, value, e);
	if (strcmp(key, "spool_keep") == 0)
		return opt_parse_int("spool_keep", value, 0, OPT_SPOOL_KEEP_MAX,
		    &s->spool_keep, e);
	if (strcmp(key, "spool_max_age") == 0)
		return opt_parse_duration("spool_max_age", value, 60,
		    OPT_SPOOL_AGE_MAX, &s->spool_max_age, e);
	if (strcmp(key, "spool_warn_age") == 0)
		return opt_parse_duration("spool_warn_age", value, 1,
		    OPT_SPOOL_AGE_MAX, &s->spool_warn_age, e);
	if (strcmp(key, "probe_interval") == 0)
		return opt_parse_duration("probe_interval", value, 0,
		    OPT_PROBE_INTERVAL_MAX, &s->probe_interval, e);
	if (strcmp(key, "printer_down_critical") == 0)
		return opt_parse_duration("printer_down_critical", value, 1,
		    OPT_PRINTER_DOWN_MAX, &s->printer_down_critical, e);
	if (strcmp(key, "description") == 0)
		return set_str(s->description, sizeof(s->description), value,
		    opt_valid_description, e);
	return opt_error_set(e, EX_USAGE,
	    "unknown setting '%s' (host, port, user, identity, "
	    "host_key_check, compression, keepalive_interval, "
	    "keepalive_count, bind, allow, max_jobs, spool_max_mb, "
	    "spool_keep, spool_max_age, spool_warn_age, probe_interval, "
	    "printer_down_critical, description)",
	    opt_quote(q, sizeof(q), key));
}

/* The text form of a field, as `opt-site set` takes it back. */
int
opt_site_get(const struct opt_site *s, const char *key, char *buf, size_t len)
{
	size_t i;

	buf[0] = '\0';
	if (strcmp(key, "host") == 0)
		strlcpy(buf, s->host, len);
	else if (strcmp(key, "port") == 0)
		snprintf(buf, len, "%d", s->port);
	else if (strcmp(key, "user") == 0)
		strlcpy(buf, s->user, len);
	else if (strcmp(key, "identity") == 0)
		strlcpy(buf, s->identity, len);
	else if (strcmp(key, "host_key_check") == 0)
		strlcpy(buf, opt_hostkey_name(s->host_key_check), len);
	else if (strcmp(key, "compression") == 0)
		strlcpy(buf, s->compression ? "true" : "false", len);
	else if (strcmp(key, "keepalive_interval") == 0)
		snprintf(buf, len, "%d", s->keepalive_interval);
	else if (strcmp(key, "keepalive_count") == 0)
		snprintf(buf, len, "%d", s->keepalive_count);
	else if (strcmp(key, "bind") == 0)
		strlcpy(buf, s->bind, len);
	else if (strcmp(key, "allow") == 0)
		for (i = 0; i < s->nallow; i++) {
			if (i > 0)
				strlcat(buf, ",", len);
			strlcat(buf, s->allow[i], len);
		}
	else if (strcmp(key, "max_jobs") == 0)
		snprintf(buf, len, "%d", s->max_jobs);
	else if (strcmp(key, "spool_max_mb") == 0)
		snprintf(buf, len, "%d", s->spool_max_mb);
	else if (strcmp(key, "spool_keep") == 0)
		snprintf(buf, len, "%d", s->spool_keep);
	else if (strcmp(key, "spool_max_age") == 0)
		opt_duration_str(s->spool_max_age, buf, len);
	else if (strcmp(key, "spool_warn_age") == 0)
		opt_duration_str(s->spool_warn_age, buf, len);
	else if (strcmp(key, "probe_interval") == 0)
		opt_duration_str(s->probe_interval, buf, len);
	else if (strcmp(key, "printer_down_critical") == 0)
		opt_duration_str(s->printer_down_critical, buf, len);
	else if (strcmp(key, "description") == 0)
		strlcpy(buf, s->description, len);
	else
		return -1;
	return 0;
}

/*
 * Applies the site.conf keys present in a parsed file; other keys are
 * the caller's to check.  Values are checked for their libconfig type,
 * then go through the same validation as command-line values.
 */
int
opt_site_apply(const char *path, const config_setting_t *root,
    struct opt_site *s, struct opt_error *e)
{
	char text[PATH_MAX];
	const char *const *k;

	for (k = opt_site_keys; *k != NULL; k++) {
		const config_setting_t *v = config_setting_get_member(root, *k);
		int type, n, i;
		bool whole, duration;

		if (v == NULL)
			continue;
		type = config_setting_type(v);
		if (strcmp(*k, "allow") == 0) {
			if (type != CONFIG_TYPE_ARRAY &&
			    type != CONFIG_TYPE_LIST) {
				opt_error_set(e, EX_CONFIG,
				    "must be a list like [ \"10.0.0.0/8\" ]");
				return opt_conf_fail(path, v, e);
			}
			n = config_setting_length(v);
			if (n > OPT_ALLOW_MAX) {
				opt_error_set(e, EX_CONFIG,
				    "more than %d networks", OPT_ALLOW_MAX);
				return opt_conf_fail(path, v, e);
			}
			s->nallow = 0;
			for (i = 0; i < n; i++) {
				const config_setting_t *el =
				    config_setting_get_elem(v, (unsigned)i);
				if (opt_conf_str(path, el, text, sizeof(text),
				        e) == -1)
					return -1;
				if (opt_valid_cidr(text, e) == -1)
					return opt_conf_fail(path, el, e);
				strlcpy(s->allow[s->nallow++], text,
				    OPT_CIDR_MAX);
			}
			continue;
		}
		if (strcmp(*k, "compression") == 0) {
			if (opt_conf_bool(path, v, &s->compression, e) == -1)
				return -1;
			continue;
		}
		whole = type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64;
		/* a duration: "7d", or whole seconds */
		duration = strcmp(*k, "spool_max_age") == 0 ||
		    strcmp(*k, "spool_warn_age") == 0 ||
		    strcmp(*k, "probe_interval") == 0 ||
		    strcmp(*k, "printer_down_critical") == 0;
		if ((duration && whole) || strcmp(*k, "port") == 0 ||
		    strcmp(*k, "keepalive_interval") == 0 ||
		    strcmp(*k, "keepalive_count") == 0 ||
		    strcmp(*k, "max_jobs") == 0 ||
		    strcmp(*k, "spool_max_mb") == 0 ||
		    strcmp(*k, "spool_keep") == 0) {
			if (!whole) {
				opt_error_set(e, EX_CONFIG,
				    "must be a whole number");
				return opt_conf_fail(path, v, e);
			}
			snprintf(text, sizeof(text), "%lld",
			    config_setting_get_int64(v));
		} else if (duration && type != CONFIG_TYPE_STRING) {
			opt_error_set(e, EX_CONFIG,
			    "must be a duration like \"7d\" or whole seconds");
			return opt_conf_fail(path, v, e);
		} else if (opt_conf_str(path, v, text, sizeof(text), e) == -1) {
			return -1;
		}
		if (opt_site_set(s, *k, text, e) == -1)
			return opt_conf_fail(path, v, e);
	}
	return 0;
}

int
opt_site_exists(const struct opt_paths *p, const char *id)
{
	char path[PATH_MAX];
	struct stat st;

	if (opt_paths_site(p, id, "site.conf", path, sizeof(path), NULL) == -1)
		return 0;
	return stat(path, &st) == 0;
}

int
opt_site_load(const struct opt_paths *p, const struct opt_defaults *d,
    const char *id, struct opt_site *s, struct opt_error *e)
{
	char path[PATH_MAX];
	config_t cfg;
	int r;

	if (opt_paths_site(p, id, "site.conf", path, sizeof(path), e) == -1)
		return -1;
	*s = d->site;
	strlcpy(s->id, id, sizeof(s->id));
	s->host[0] = '\0';
	s->description[0] = '\0';

	config_init(&cfg);
	r = opt_conf_read(path, &cfg, true, e);
	if (r == 0) {
		config_destroy(&cfg);
		return opt_error_set(e, EX_NOINPUT, "no such site");
	}
	if (r == 1 &&
	    (opt_conf_keys(path, config_root_setting(&cfg), opt_site_keys, e) ==
	            -1 ||
	        opt_site_apply(path, config_root_setting(&cfg), s, e) == -1))
		r = -1;
	config_destroy(&cfg);
	if (r == -1)
		return -1;
	if (s->host[0] == '\0')
		return opt_error_set(e, EX_CONFIG, "%s: host is not set", path);
	return 0;
}

static void
site_write(FILE *f, const struct opt_site *s)
{
	char age[OPT_DURATION_BUF];
	size_t i;

	fprintf(f, "# site.conf of %s, written by opt-site; see opt.conf(5)\n",
	    s->id);
	opt_conf_put_str(f, "host", s->host);
	fprintf(f, "port = %d;\n", s->port);
	opt_conf_put_str(f, "user", s->user);
	opt_conf_put_str(f, "identity", s->identity);
	opt_conf_put_str(f, "host_key_check",
	    opt_hostkey_name(s->host_key_check));
	fprintf(f, "compression = %s;\n", s->compression ? "true" : "false");
	fprintf(f, "keepalive_interval = %d;\n", s->keepalive_interval);
	fprintf(f, "keepalive_count = %d;\n", s->keepalive_count);
	opt_conf_put_str(f, "bind", s->bind);
	fputs("allow = [", f);
	for (i = 0; i < s->nallow; i++) {
		fputs(i > 0 ? ", " : " ", f);
		opt_conf_put_quoted(f, s->allow[i]);
	}
	fputs(" ];\n", f);
	fprintf(f, "max_jobs = %d;\n", s->max_jobs);
	fprintf(f, "spool_max_mb = %d;\n", s->spool_max_mb);
	fprintf(f, "spool_keep = %d;\n", s->spool_keep);
	opt_conf_put_str(f, "spool_max_age",
	    opt_duration_str(s->spool_max_age, age, sizeof(age)));
	opt_conf_put_str(f, "spool_warn_age",
	    opt_duration_str(s->spool_warn_age, age, sizeof(age)));
	opt_conf_put_str(f, "probe_interval",
	    opt_duration_str(s->probe_interval, age, sizeof(age)));
	opt_conf_put_str(f, "printer_down_critical",
	    opt_duration_str(s->printer_down_critical, age, sizeof(age)));
	opt_conf_put_str(f, "description", s->description);
}

static void
emit_site(FILE *f, const void *s)
{
	site_write(f, s);
}

int
opt_site_save(const struct opt_paths *p, const struct opt_site *s,
    struct opt_error *e)
{
	char path[PATH_MAX];

	if (opt_paths_site(p, s->id, "site.conf", path, sizeof(path), e) == -1)
		return -1;
	return opt_conf_save(path, emit_site, s, e);
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Sites are the directories of the config dir named by a valid site id
 * that hold a site.conf; anything else there is not a site. */
int
opt_site_list(const struct opt_paths *p, char (**ids)[OPT_SITE_ID_MAX + 1],
    size_t *count, struct opt_error *e)
{
	char(*v)[OPT_SITE_ID_MAX + 1] = NULL, (*nv)[OPT_SITE_ID_MAX + 1];
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *dir;

	*ids = NULL;
	*count = 0;
	if ((dir = opendir(p->config)) == NULL) {
		if (errno == ENOENT)
			return 0;
		return opt_error_errno(e, 0, "cannot read %s", p->config);
	}
	while ((de = readdir(dir)) != NULL) {
		if (opt_valid_site_id(de->d_name, NULL) == -1 ||
		    !opt_site_exists(p, de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			nv = reallocarray(v, cap, sizeof(*v));
			if (nv == NULL) {
				free(v);
				closedir(dir);
				return opt_error_errno(e, EX_OSERR,
				    "listing sites");
			}
			v = nv;
		}
		strlcpy(v[n++], de->d_name, sizeof(*v));
	}
	closedir(dir);
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_id);
	*ids = v;
	*count = n;
	return 0;
}

static int
rm_tree(int parent, const char *name)
{
	struct dirent *de;
	DIR *dir;
	int fd, r = 0;

	fd = openat(parent, name,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(fd, de->d_name, 0) == -1) {
			if (errno != EISDIR && errno != EPERM)
				r = -1;
			else if (rm_tree(fd, de->d_name) == -1)
				r = -1;
		}
	}
	closedir(dir);
	if (unlinkat(parent, name, AT_REMOVEDIR) == -1)
		r = -1;
	return r;
}

static int
write_into(const char *dir, const char *file,
    void (*emit)(FILE *, const void *), const void *arg, struct opt_error *e)
{
	char path[PATH_MAX];

	if (opt_paths_join(path, sizeof(path), e, dir, file, (char *)NULL) ==
	    -1)
		return -1;
	return opt_conf_save(path, emit, arg, e);
}

static void
emit_channels(FILE *f, const void *cs)
{
	opt_channels_write(f, cs);
}

/*
 * The site's directory is made and filled under a temporary name, then
 * renamed into place: a site appears whole or not at all.
 */
int
opt_site_create(const struct opt_paths *p, const struct opt_site *s,
    const struct opt_throttle *t, const struct opt_channels *channels,
    struct opt_error *e)
{
	struct opt_channels none;
	char tmp[PATH_MAX], dst[PATH_MAX], name[OPT_SITE_ID_MAX + 16];
	struct opt_throttle_file tf = {s->id, t};
	int fd;

	if (opt_paths_site(p, s->id, NULL, dst, sizeof(dst), e) == -1)
		return -1;
	opt_channels_init(&none, s->id);
	if (opt_site_exists(p, s->id) || access(dst, F_OK) == 0)
		return opt_error_set(e, EX_CANTCREAT, "site already exists");
	if (mkdir(p->config, OPT_DIR_MODE) == 0)
		opt_dir_sync(p->config, NULL);
	else if (errno != EEXIST)
		return opt_error_errno(e, 0, "cannot create %s", p->config);
	snprintf(name, sizeof(name), ".%s.XXXXXX", s->id);
	if (opt_paths_join(tmp, sizeof(tmp), e, p->config, name,
	        (char *)NULL) == -1)
		return -1;
	if (mkdtemp(tmp) == NULL)
		return opt_error_errno(e, 0, "cannot create a directory in %s",
		    p->config);
	if ((fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fchmod(fd, OPT_DIR_MODE);
		opt_file_own(fd);
		close(fd);
	}
	if (write_into(tmp, "site.conf", emit_site, s, e) == -1 ||
	    write_into(tmp, "channels.conf", emit_channels,
	        channels ? channels : &none, e) == -1 ||
	    write_into(tmp, "throttle.conf", opt_throttle_emit, &tf, e) == -1)
		goto fail;
	if (rename(tmp, dst) == -1) {
		opt_error_errno(e, errno == ENOTEMPTY ? EX_CANTCREAT : 0,
		    "cannot create %s", dst);
		goto fail;
	}
	return opt_dir_sync(p->config, e);
fail:
	rm_tree(AT_FDCWD, tmp);
	return -1;
}

/* Renamed away first, so that a removal cut short leaves no half site. */
int
opt_site_remove(const struct opt_paths *p, const char *id, struct opt_error *e)
{
	char src[PATH_MAX], tmp[PATH_MAX], name[OPT_SITE_ID_MAX + 24];

	if (opt_paths_site(p, id, NULL, src, sizeof(src), e) == -1)
		return -1;
	if (!opt_site_exists(p, id))
		return opt_error_set(e, EX_NOINPUT, "no such site");
	snprintf(name, sizeof(name), ".%s.removed.XXXXXX", id);
	if (opt_paths_join(tmp, sizeof(tmp), e, p->config, name,
	        (char *)NULL) == -1)
		return -1;
	if (mkdtemp(tmp) == NULL)
		return opt_error_errno(e, 0, "cannot remove %s", src);
	if (rename(src, tmp) == -1) {
		opt_error_errno(e, 0, "cannot remove %s", src);
		rmdir(tmp);
		return -1;
	}
	if (opt_dir_sync(p->config, e) == -1)
		return -1;
	if (rm_tree(AT_FDCWD, tmp) == -1)
		return opt_error_errno(e, 0,
		    "site removed, but cannot delete its old files in %s", tmp);
	return 0;
}
