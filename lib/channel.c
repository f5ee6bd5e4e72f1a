#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "channel.h"
#include "conf.h"

static const char *const channel_keys[] = {"id", "listen", "printer",
    "printer_port", "max_jobs", "mode", "probe", "description", NULL};

static const char *const mode_names[] = {
    [OPT_MODE_DIRECT] = "direct",
    [OPT_MODE_SPOOL] = "spool",
};

static const char *const probe_names[] = {
    [OPT_PROBE_TCP] = "tcp",
    [OPT_PROBE_PJL] = "pjl",
    [OPT_PROBE_OFF] = "off",
};

/* A channel with every default: what a new one and a file's one start as. */
void
opt_channel_builtin(struct opt_channel *c)
{
	memset(c, 0, sizeof(*c));
	c->printer_port = OPT_PRINTER_PORT;
	c->max_jobs = OPT_CHANNEL_MAX_JOBS;
}

const char *
opt_channel_mode_name(enum opt_channel_mode m)
{
	return mode_names[m];
}

/* The index of s in names[0..n), or -1. */
static int
name_index(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

int
opt_channel_mode_parse(const char *s, enum opt_channel_mode *out,
    struct opt_error *e)
{
	char q[OPT_QUOTE_BUF];
	int i =
	    name_index(mode_names, sizeof(mode_names) / sizeof(*mode_names), s);

	if (i == -1)
		return opt_error_set(e, EX_DATAERR,
		    "mode '%s' is not one of direct, spool",
		    opt_quote(q, sizeof(q), s));
	*out = (enum opt_channel_mode)i;
	return 0;
}

const char *
opt_probe_kind_name(enum opt_probe_kind k)
{
	return probe_names[k];
}

int
opt_probe_kind_parse(const char *s, enum opt_probe_kind *out,
    struct opt_error *e)
{
	char q[OPT_QUOTE_BUF];
	int i = name_index(probe_names,
	    sizeof(probe_names) / sizeof(*probe_names), s);

	if (i == -1)
		return opt_error_set(e, EX_DATAERR,
		    "probe '%s' is not one of tcp, pjl, off",
		    opt_quote(q, sizeof(q), s));
	*out = (enum opt_probe_kind)i;
	return 0;
}

/*
 * PRINTER[:PORT]: a host name, an IPv4 address, an IPv6 address (bare,
 * or in brackets when a port follows: [fd00::5]:9100).
 */
int
opt_channel_target(const char *arg, struct opt_channel *c, struct opt_error *e)
{
	char host[OPT_HOST_MAX + 3], q[OPT_QUOTE_BUF];
	const char *colon, *port = NULL;
	bool bracketed = false;
	size_t n;

	if (arg[0] == '[') {
		const char *end = strchr(arg, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			goto bad;
		n = (size_t)(end - arg - 1);
		if (end[1] == ':')
			port = end + 2;
		arg++;
		bracketed = true;
	} else if ((colon = strchr(arg, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		n = (size_t)(colon - arg);
		port = colon + 1;
	} else {
		n = strlen(arg);
	}
	if (n >= sizeof(host))
		n = sizeof(host) - 1;
	memcpy(host, arg, n);
	host[n] = '\0';
	if (opt_valid_host(host, e) == -1)
		return -1;
	if (bracketed && strchr(host, ':') == NULL)
		goto bad; /* brackets are for IPv6 only */
	if (port != NULL &&
	    opt_parse_port("printer port", port, &c->printer_port, e) == -1)
		return -1;
	if (port == NULL)
		c->printer_port = OPT_PRINTER_PORT;
	strlcpy(c->printer, host, sizeof(c->printer));
	return 0;
bad:
	return opt_error_set(e, EX_DATAERR,
	    "printer '%s' is not HOST, HOST:PORT or [IPV6]:PORT",
	    opt_quote(q, sizeof(q), arg));
}

int
opt_channel_set(struct opt_channel *c, const char *key, const char *value,
    struct opt_error *e)
{
	char q[OPT_QUOTE_BUF];

	if (strcmp(key, "listen") == 0)
		return opt_parse_port("listen port", value, &c->listen, e);
	if (strcmp(key, "printer") == 0) {
		if (opt_valid_host(value, e) == -1)
			return -1;
		strlcpy(c->printer, value, sizeof(c->printer));
		return 0;
	}
	if (strcmp(key, "printer_port") == 0)
		return opt_parse_port("printer port", value, &c->printer_port,
		    e);
	if (strcmp(key, "max_jobs") == 0)
		return opt_parse_int("max_jobs", value, 1,
		    OPT_CHANNEL_MAX_JOBS_MAX, &c->max_jobs, e);
	if (strcmp(key, "mode") == 0)
		return opt_channel_mode_parse(value, &c->mode, e);
	if (strcmp(key, "probe") == 0)
		return opt_probe_kind_parse(value, &c->probe, e);
	if (strcmp(key, "description") == 0) {
		if (opt_valid_description(value, e) == -1)
			return -1;
		strlcpy(c->description, value, sizeof(c->description));
		return 0;
	}
	return opt_error_set(e, EX_USAGE,
	    "unknown setting '%s' (listen, printer, printer_port, "
	    "max_jobs, mode, probe, description)",
	    opt_quote(q, sizeof(q), key));
}

void
opt_channels_init(struct opt_channels *cs, const char *site)
{
	memset(cs, 0, sizeof(*cs));
	strlcpy(cs->site, site, sizeof(cs->site));
	cs->next_id = 1;
}

void
opt_channels_free(struct opt_channels *cs)
{
	free(cs->v);
	cs->v = NULL;
	cs->n = cs->cap = 0;
}

struct opt_channel *
opt_channels_find(const struct opt_channels *cs, int id)
{
	size_t i;

	for (i = 0; i < cs->n; i++)
		if (cs->v[i].id == id)
			return &cs->v[i];
	return NULL;
}

static struct opt_channel *
append(struct opt_channels *cs, const struct opt_channel *c,
    struct opt_error *e)
{
	struct opt_channel *nv;

	if (cs->n == cs->cap) {
		size_t cap = cs->cap ? cs->cap * 2 : 8;
		if ((nv = reallocarray(cs->v, cap, sizeof(*nv))) == NULL) {
			opt_error_errno(e, EX_OSERR, "adding a channel");
			return NULL;
		}
		cs->v = nv;
		cs->cap = cap;
	}
	cs->v[cs->n] = *c;
	return &cs->v[cs->n++];
}

/* Gives the channel the next id; the caller has checked its port. */
struct opt_channel *
opt_channels_add(struct opt_channels *cs, const struct opt_channel *c,
    struct opt_error *e)
{
	struct opt_channel *nc;

	if (cs->next_id == INT_MAX) {
		opt_error_set(e, EX_CANTCREAT, "no channel id left");
		return NULL;
	}
	if ((nc = append(cs, c, e)) == NULL)
		return NULL;
	nc->id = cs->next_id++;
	return nc;
}

int
opt_channels_remove(struct opt_channels *cs, int id, struct opt_error *e)
{
	struct opt_channel *c = opt_channels_find(cs, id);

	if (c == NULL)
		return opt_error_set(e, EX_NOINPUT,
		    "channel %d: no such channel", id);
	memmove(c, c + 1, (size_t)(cs->v + cs->n - (c + 1)) * sizeof(*c));
	cs->n--;
	return 0;
}

static int
parse_channel(const char *path, const config_setting_t *g,
    struct opt_channels *cs, struct opt_error *e)
{
	const config_setting_t *v;
	char text[OPT_HOST_MAX + 1];
	struct opt_channel c;
	size_t i;

	opt_channel_builtin(&c);
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		opt_error_set(e, EX_CONFIG, "a channel must be { id = ...; }");
		return opt_conf_fail(path, g, e);
	}
	if (opt_conf_keys(path, g, channel_keys, e) == -1)
		return -1;
	if ((v = config_setting_get_member(g, "id")) == NULL ||
	    config_setting_get_member(g, "listen") == NULL ||
	    config_setting_get_member(g, "printer") == NULL) {
		opt_error_set(e, EX_CONFIG,
		    "a channel needs id, listen and printer");
		return opt_conf_fail(path, g, e);
	}
	if (opt_conf_int(path, v, 1, INT_MAX - 1, &c.id, e) == -1)
		return -1;
	if (opt_channels_find(cs, c.id) != NULL) {
		opt_error_set(e, EX_CONFIG, "id %d is used twice", c.id);
		return opt_conf_fail(path, v, e);
	}
	v = config_setting_get_member(g, "listen");
	if (opt_conf_int(path, v, 1, 65535, &c.listen, e) == -1)
		return -1;
	for (i = 0; i < cs->n; i++) {
		if (cs->v[i].listen == c.listen) {
			opt_error_set(e, EX_CONFIG,
			    "port %d is also channel %d's", c.listen,
			    cs->v[i].id);
			return opt_conf_fail(path, v, e);
		}
	}
	v = config_setting_get_member(g, "printer");
	if (opt_conf_str(path, v, text, sizeof(text), e) == -1)
		return -1;
	if (opt_channel_set(&c, "printer", text, e) == -1)
		return opt_conf_fail(path, v, e);
	if ((v = config_setting_get_member(g, "printer_port")) != NULL &&
	    opt_conf_int(path, v, 1, 65535, &c.printer_port, e) == -1)
		return -1;
	if ((v = config_setting_get_member(g, "max_jobs")) != NULL &&
	    opt_conf_int(path, v, 1, OPT_CHANNEL_MAX_JOBS_MAX, &c.max_jobs,
	        e) == -1)
		return -1;
	if ((v = config_setting_get_member(g, "mode")) != NULL) {
		if (opt_conf_str(path, v, text, sizeof(text), e) == -1)
			return -1;
		if (opt_channel_mode_parse(text, &c.mode, e) == -1)
			return opt_conf_fail(path, v, e);
	}
	if ((v = config_setting_get_member(g, "probe")) != NULL) {
		if (opt_conf_str(path, v, text, sizeof(text), e) == -1)
			return -1;
		if (opt_probe_kind_parse(text, &c.probe, e) == -1)
			return opt_conf_fail(path, v, e);
	}
	if ((v = config_setting_get_member(g, "description")) != NULL) {
		if (opt_conf_str(path, v, c.description, sizeof(c.description),
		        e) == -1)
			return -1;
		if (opt_valid_description(c.description, e) == -1)
			return opt_conf_fail(path, v, e);
	}
	if (append(cs, &c, e) == NULL)
		return -1;
	if (c.id >= cs->next_id)
		cs->next_id = c.id + 1;
	return 0;
}

/* A missing channels.conf is a site without channels. */
int
opt_channels_load(const struct opt_paths *p, const char *site,
    struct opt_channels *cs, struct opt_error *e)
{
	static const char *const keys[] = {"next_id", "channels", NULL};
	const config_setting_t *root, *list, *v;
	char path[PATH_MAX];
	config_t cfg;
	int r, i, n, next = 1;

	opt_channels_init(cs, site);
	if (opt_paths_site(p, site, "channels.conf", path, sizeof(path), e) ==
	    -1)
		return -1;
	config_init(&cfg);
	if ((r = opt_conf_read(path, &cfg, true, e)) != 1)
		goto out;
	r = -1;
	root = config_root_setting(&cfg);
	if (opt_conf_keys(path, root, keys, e) == -1)
		goto out;
	if ((v = config_setting_get_member(root, "next_id")) != NULL &&
	    opt_conf_int(path, v, 1, INT_MAX, &next, e) == -1)
		goto out;
	if ((list = config_setting_get_member(root, "channels")) != NULL) {
		if (config_setting_type(list) != CONFIG_TYPE_LIST) {
			opt_error_set(e, EX_CONFIG,
			    "must be a list ( { ... }, { ... } )");
			opt_conf_fail(path, list, e);
			goto out;
		}
		n = config_setting_length(list);
		for (i = 0; i < n; i++)
			if (parse_channel(path,
			        config_setting_get_elem(list, (unsigned)i), cs,
			        e) == -1)
				goto out;
	}
	if (next > cs->next_id)
		cs->next_id = next;
	r = 0;
out:
	config_destroy(&cfg);
	if (r == -1)
		opt_channels_free(cs);
	return r == -1 ? -1 : 0;
}

void
opt_channels_write(FILE *f, const struct opt_channels *cs)
{
	size_t i;

	fprintf(f,
	    "# channels.conf of %s, written by opt-channel; see opt.conf(5)\n"
	    "# ids are never reused: next_id only grows\n"
	    "next_id = %d;\nchannels = (",
	    cs->site, cs->next_id);
	for (i = 0; i < cs->n; i++) {
		const struct opt_channel *c = &cs->v[i];

		fprintf(f,
		    "%s\n  { id = %d; listen = %d; printer = ", i ? "," : "",
		    c->id, c->listen);
		opt_conf_put_quoted(f, c->printer);
		fprintf(f, "; printer_port = %d;\n    ", c->printer_port);
		/* Only when not the default: the files of channels that
		 * never set them stay as they were before they existed. */
		if (c->mode != OPT_MODE_DIRECT)
			fprintf(f, "mode = \"%s\"; ",
			    opt_channel_mode_name(c->mode));
		if (c->probe != OPT_PROBE_TCP)
			fprintf(f, "probe = \"%s\"; ",
			    opt_probe_kind_name(c->probe));
		if (c->max_jobs != OPT_CHANNEL_MAX_JOBS)
			fprintf(f, "max_jobs = %d; ", c->max_jobs);
		fputs("description = ", f);
		opt_conf_put_quoted(f, c->description);
		fputs("; }", f);
	}
	fputs(cs->n ? "\n);\n" : " );\n", f);
}

static void
emit(FILE *f, const void *cs)
{
	opt_channels_write(f, cs);
}

int
opt_channels_save(const struct opt_paths *p, const struct opt_channels *cs,
    struct opt_error *e)
{
	char path[PATH_MAX];

	if (opt_paths_site(p, cs->site, "channels.conf", path, sizeof(path),
	        e) == -1)
		return -1;
	return opt_conf_save(path, emit, cs, e);
}
