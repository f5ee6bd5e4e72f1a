#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "bashvars.h"
#include "defaults.h"
#include "legacy.h"

/* One file's import: what it makes, and where its errors point. */
struct import {
	const char *file;
	unsigned flags;
	struct opt_legacy *out;
	char bind[OPT_ADDR_MAX]; /* of the ForwardPorts so far */
	struct opt_error *e;
};

/* The end of every refusal: a file is imported whole or not at all. */
static int
nothing_imported(struct opt_error *e)
{
	strlcat(e->text, "; nothing imported", sizeof(e->text));
	e->status = EX_DATAERR;
	return -1;
}

/* The error in im->e, as said of the file's line: "FILE:LINE: ...". */
static int
refuse(struct import *im, int line)
{
	opt_error_prefix(im->e, "%s:%d: ", im->file, line);
	return nothing_imported(im->e);
}

/* The error a validator left, as "FILE:LINE: NAME: ...". */
static int
bad_value(struct import *im, const struct opt_bashvar *v)
{
	opt_error_prefix(im->e, "%s: ", v->name);
	return refuse(im, v->line);
}

/* mast's {{HOST}} in a value: a template, or add-host did not fill it. */
static const char *
placeholder(const char *s)
{
	const char *p, *q;

	for (p = strstr(s, "{{"); p != NULL; p = strstr(p + 1, "{{")) {
		for (q = p + 2; *q == '_' || isupper((unsigned char)*q); q++)
			;
		if (q > p + 2 && q[0] == '}' && q[1] == '}')
			return p;
	}
	return NULL;
}

static int
unfilled(struct import *im, const struct opt_bashvar *v, int line,
    const char *s)
{
	const char *p = placeholder(s);
	char q[OPT_QUOTE_BUF];

	/* The first templates' placeholders were bare words. */
	if (p == NULL && strcmp(v->name, "RemoteHost") == 0 &&
	    (strcmp(s, "CUSTOMER_HOST") == 0 || strcmp(s, "HOST") == 0))
		p = s;
	if (p == NULL)
		return 0;
	opt_error_set(im->e, EX_DATAERR,
	    "%s holds '%s', a placeholder of mast's template that "
	    "'make add-host' fills in: this file is a template, not a site",
	    v->name, opt_quote(q, sizeof(q), s));
	return refuse(im, line);
}

/* A rule opt cannot make: refused, or with --partial skipped and listed. */
static int
refuse_rule(struct import *im, int line, const struct opt_error *why)
{
	struct opt_legacy *out = im->out;
	struct opt_legacy_skip *ns;
	struct opt_error said;

	if (why->status == EX_OSERR) {
		*im->e = *why;
		return -1;
	}
	if (!(im->flags & OPT_LEGACY_PARTIAL))
		return opt_error_set(im->e, EX_DATAERR,
		    "%s:%d: %s; nothing imported (--partial skips such "
		    "rules)",
		    im->file, line, why->text);
	if ((ns = reallocarray(out->skipped, out->nskipped + 1, sizeof(*ns))) ==
	    NULL)
		return opt_error_set(im->e, EX_OSERR, "out of memory");
	out->skipped = ns;
	ns += out->nskipped++;
	ns->line = line;
	opt_error_set(&said, EX_DATAERR, "%s:%d: %s", im->file, line,
	    why->text);
	strlcpy(ns->text, said.text, sizeof(ns->text));
	return 0;
}

/* The error of a validator on a rule, as "ForwardPort: ...". */
static int
bad_rule(struct opt_error *e)
{
	opt_error_prefix(e, "ForwardPort: ");
	e->status = EX_DATAERR;
	return -1;
}

/*
 * "L [BIND:]LISTEN:PRINTER:PORT # description", as mast gave ssh -L,
 * into a channel; -1 with why it cannot be one in e.
 */
static int
forward(const char *item, struct opt_legacy *out, char *bind, size_t bindlen,
    struct opt_error *e)
{
	char spec[512], *desc = NULL, *p, *f[4], q[OPT_QUOTE_BUF];
	struct opt_channel c;
	int nf = 0, i;
	size_t j;

	opt_channel_builtin(&c);
	strlcpy(spec, item, sizeof(spec));
	for (p = spec; *p != '\0'; p++) {
		if (*p == '#' && (p == spec || isspace((unsigned char)p[-1]))) {
			*p = '\0';
			desc = p + 1;
			break;
		}
	}
	p = spec + strspn(spec, " \t");
	if (*p == '-')
		p++;
	if ((*p == 'R' || *p == 'D') &&
	    (p[1] == '\0' || isspace((unsigned char)p[1])))
		return opt_error_set(e, EX_DATAERR,
		    "ForwardPort '%s' is %s, which opt cannot make",
		    opt_quote(q, sizeof(q), item),
		    *p == 'R' ? "a remote forward (ssh -R)"
		              : "a SOCKS proxy (ssh -D)");
	if (*p == 'L' && isspace((unsigned char)p[1]))
		p += 1 + strspn(p + 1, " \t");
	for (j = strlen(p); j > 0 && isspace((unsigned char)p[j - 1]); j--)
		p[j - 1] = '\0';
	/* Fields from the right; an IPv6 printer is in brackets. */
	while (nf < 4 && *p != '\0') {
		char *cut;
		if (nf == 1 && p[strlen(p) - 1] == ']') {
			cut = strrchr(p, '[');
			if (cut == NULL)
				break;
			p[strlen(p) - 1] = '\0';
			f[nf++] = cut + 1;
			*cut = '\0';
			if (cut > p && cut[-1] == ':')
				cut[-1] = '\0';
			else if (cut != p)
				break;
			continue;
		}
		cut = strrchr(p, ':');
		f[nf++] = cut ? cut + 1 : p;
		if (cut == NULL)
			break;
		*cut = '\0';
	}
	if (nf < 3 || (nf == 4 && f[3] != p && *p != '\0'))
		return opt_error_set(e, EX_DATAERR,
		    "ForwardPort '%s' is not [BIND:]PORT:PRINTER:PORT",
		    opt_quote(q, sizeof(q), item));
	if (opt_parse_port("listen port", f[2], &c.listen, e) == -1 ||
	    opt_channel_set(&c, "printer", f[1], e) == -1 ||
	    opt_parse_port("printer port", f[0], &c.printer_port, e) == -1)
		return bad_rule(e);
	/* ssh -L: '*' and an empty address are every interface. */
	if (nf == 4) {
		const char *addr = *f[3] == '\0' || strcmp(f[3], "*") == 0
		    ? "0.0.0.0"
		    : strcmp(f[3], "localhost") == 0 ? "127.0.0.1"
		                                     : f[3];
		if (opt_valid_addr(addr, e) == -1)
			return bad_rule(e);
		if (*bind != '\0' && strcmp(bind, addr) != 0)
			return opt_error_set(e, EX_DATAERR,
			    "ForwardPort binds '%s', unlike the ones before: "
			    "a site has one bind address",
			    opt_quote(q, sizeof(q), f[3]));
		strlcpy(bind, addr, bindlen);
	}
	if (desc != NULL) {
		desc += strspn(desc, " \t");
		j = strlen(desc);
		while (j > 0 && isspace((unsigned char)desc[j - 1]))
			desc[--j] = '\0';
		if (opt_channel_set(&c, "description", desc, e) == -1)
			return bad_rule(e);
	}
	for (i = 0; (size_t)i < out->channels.n; i++)
		if (out->channels.v[i].listen == c.listen)
			return opt_error_set(e, EX_DATAERR,
			    "ForwardPort listens twice on port %d", c.listen);
	if (opt_channels_add(&out->channels, &c, e) == NULL)
		return -1;
	return 0;
}

static int
rule(struct import *im, const struct opt_bashvar *v, const char *text, int line)
{
	struct opt_error why;

	if (unfilled(im, v, line, text) == -1)
		return -1;
	if (forward(text, im->out, im->bind, sizeof(im->bind), &why) == -1)
		return refuse_rule(im, line, &why);
	return 0;
}

static int
map_var(struct import *im, const struct opt_bashvar *v)
{
	static const struct {
		const char *mast, *key;
	} direct[] = {
	    {"RemoteHost", "host"},
	    {"RemoteUser", "user"},
	    {"RemotePort", "port"},
	    {"Compression", "compression"},
	    {"ServerAliveInterval", "keepalive_interval"},
	    {"ServerAliveCountMax", "keepalive_count"},
	};
	struct opt_legacy *out = im->out;
	char path[PATH_MAX];
	unsigned rate;
	bool on;
	size_t i;

	if (!v->set)
		return 0; /* declared, never given a value */
	if (strcmp(v->name, "ForwardPort") == 0) {
		if (!v->array)
			return rule(im, v, v->value, v->line);
		for (i = 0; i < v->nitems; i++)
			if (rule(im, v, v->items[i].text, v->items[i].line) ==
			    -1)
				return -1;
		return 0;
	}
	if (strcmp(v->name, "LocalUser") == 0)
		return 0; /* opt's local_user is one for all sites */
	if (v->array) {
		opt_error_set(im->e, EX_DATAERR,
		    "%s is a list; nothing in mast made it one", v->name);
		return refuse(im, v->line);
	}
	if (unfilled(im, v, v->line, v->value) == -1)
		return -1;
	for (i = 0; i < sizeof(direct) / sizeof(direct[0]); i++)
		if (strcmp(v->name, direct[i].mast) == 0)
			return opt_site_set(&out->site, direct[i].key, v->value,
			           im->e) == -1
			    ? bad_value(im, v)
			    : 0;
	if (strcmp(v->name, "StrictHostKeyChecking") == 0) {
		const char *m = strcasecmp(v->value, "no") == 0 ? "off"
		    : strcasecmp(v->value, "yes") == 0 ||
		        strcasecmp(v->value, "ask") == 0
		    ? "strict"
		    : v->value;
		return opt_site_set(&out->site, "host_key_check", m, im->e) ==
		        -1
		    ? bad_value(im, v)
		    : 0;
	}
	if (strcmp(v->name, "IdentityFile") == 0) {
		/* mast ran as mast, whose home was /var/lib/mast. */
		if (strncmp(v->value, "~/", 2) == 0)
			snprintf(path, sizeof(path), "/var/lib/mast/%s",
			    v->value + 2);
		else
			strlcpy(path, v->value, sizeof(path));
		return opt_site_set(&out->site, "identity", path, im->e) == -1
		    ? bad_value(im, v)
		    : 0;
	}
	if (strcmp(v->name, "BandwidthLimitation") == 0) {
		if (opt_parse_bool(v->name, v->value, &on, im->e) == -1)
			return bad_value(im, v);
		out->throttle.enabled = on;
		return 0;
	}
	if (strcmp(v->name, "UploadLimit") == 0 ||
	    strcmp(v->name, "DownloadLimit") == 0) {
		/* trickle's rates are KB/s, which opt reads as KiB/s. */
		if (opt_parse_rate(v->value, &rate, im->e) == -1)
			return bad_value(im, v);
		if (v->name[0] == 'U')
			out->throttle.up = (int)rate;
		else
			out->throttle.down = (int)rate;
		return 0;
	}
	opt_error_set(im->e, EX_DATAERR, "mast's %s has no place in opt",
	    v->name);
	return refuse(im, v->line);
}

void
opt_legacy_free(struct opt_legacy *lg)
{
	opt_channels_free(&lg->channels);
	free(lg->skipped);
	lg->skipped = NULL;
	lg->nskipped = 0;
}

int
opt_legacy_parse(const char *file, const char *site, const char *text,
    unsigned flags, const struct opt_defaults *d, struct opt_legacy *out,
    struct opt_error *e)
{
	struct import im = {.file = file, .flags = flags, .out = out, .e = e};
	struct opt_bashvars vars = {0};
	size_t i;
	int r = -1;

	out->site = d->site;
	strlcpy(out->site.id, site, sizeof(out->site.id));
	out->site.host[0] = '\0';
	out->site.description[0] = '\0';
	out->throttle = d->throttle;
	out->skipped = NULL;
	out->nskipped = 0;
	opt_channels_init(&out->channels, site);
	if (opt_bashvars_read(file, text, &vars, e) == -1) {
		if (e->status == EX_DATAERR)
			nothing_imported(e);
		goto out;
	}
	for (i = 0; i < vars.n; i++)
		if (map_var(&im, &vars.v[i]) == -1)
			goto out;
	if (out->site.host[0] == '\0') {
		opt_error_set(e, EX_DATAERR,
		    "%s: RemoteHost is not set; nothing imported", file);
		goto out;
	}
	if (im.bind[0] != '\0')
		strlcpy(out->site.bind, im.bind, sizeof(out->site.bind));
	for (i = 0; i < out->channels.n; i++)
		out->channels.v[i].mode = d->channel_mode; /* new channels */
	r = 0;
out:
	if (r == -1)
		opt_legacy_free(out);
	opt_bashvars_free(&vars);
	return r;
}

/* A mast file's site id: its name, without .conf or .sh. */
int
opt_legacy_site_id(const char *path, char *id, size_t len, struct opt_error *e)
{
	const char *base = strrchr(path, '/');
	const char *name = base ? base + 1 : path;
	size_t n = strlen(name);
	char q[OPT_QUOTE_BUF];

	if (n > 5 && strcmp(name + n - 5, ".conf") == 0)
		n -= 5;
	else if (n > 3 && strcmp(name + n - 3, ".sh") == 0)
		n -= 3;
	/* A name too long for an id is refused whole, never cut to one. */
	if (n < len) {
		memcpy(id, name, n);
		id[n] = '\0';
	}
	if (opt_valid_site_id(n < len ? id : name, e) == -1) {
		opt_error_prefix(e, "%s: its name gives no site id: ",
		    opt_quote_path(q, sizeof(q), path));
		return -1;
	}
	return 0;
}

/* A file in the config dir that mast wrote: it sets RemoteHost. */
bool
opt_legacy_looks_like(const char *text)
{
	const char *const key = "RemoteHost=";
	const char *p;

	for (p = strstr(text, key); p != NULL; p = strstr(p + 1, key))
		if (p == text || p[-1] == '\n' || p[-1] == ' ' || p[-1] == '\t')
			return true;
	return false;
}
