#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "defaults.h"
#include "legacy.h"

#define MAX_VARS 64
#define MAX_ITEMS 512
#define MAX_WORD (64 * 1024) /* $A$A on each line would double it */

struct sbuf {
	char *s;
	size_t n, cap;
	bool failed;
	bool too_long;
};

struct var {
	char name[64];
	int line;
	bool array;
	char *value;
	char **items;
	size_t nitems;
};

struct parser {
	const char *p, *end;
	int line;
	const char *file;
	struct var vars[MAX_VARS];
	size_t nvars;
	struct opt_error *e;
};

static void
put(struct sbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->n + n > MAX_WORD) {
		b->failed = b->too_long = true;
		return;
	}
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *ns;
		while (cap < b->n + n + 1)
			cap *= 2;
		if ((ns = realloc(b->s, cap)) == NULL) {
			b->failed = true;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

static char *
take(struct sbuf *b)
{
	char *s = b->s;

	if (b->failed) {
		free(s);
		return NULL;
	}
	if (s == NULL)
		s = strdup("");
	memset(b, 0, sizeof(*b));
	return s;
}

static int
fail(struct parser *ps, int line, const char *fmt, const char *arg)
{
	char q[OPT_QUOTE_BUF], msg[OPT_ERROR_MAX];

	snprintf(msg, sizeof(msg), fmt,
	    arg ? opt_quote(q, sizeof(q), arg) : "");
	return opt_error_set(ps->e, EX_DATAERR, "%s:%d: %s; nothing imported",
	    ps->file, line, msg);
}

static struct var *
lookup(struct parser *ps, const char *name)
{
	size_t i;

	for (i = 0; i < ps->nvars; i++)
		if (strcmp(ps->vars[i].name, name) == 0)
			return &ps->vars[i];
	return NULL;
}

static bool
name_char(int c, bool first)
{
	return c == '_' || isalpha(c) || (!first && isdigit(c));
}

/* $NAME or ${NAME}: a scalar set earlier in the file, else the text. */
static void
dollar(struct parser *ps, struct sbuf *b)
{
	const char *start = ps->p, *name;
	bool brace = ps->p + 1 < ps->end && ps->p[1] == '{';
	char buf[64];
	size_t n;
	struct var *v;

	name = ps->p + 1 + brace;
	for (n = 0;
	     name + n < ps->end && name_char((unsigned char)name[n], n == 0);
	     n++)
		;
	if (n == 0 || n >= sizeof(buf) ||
	    (brace && (name + n >= ps->end || name[n] != '}'))) {
		put(b, "$", 1); /* $(...), $1 and the like stay text */
		ps->p++;
		return;
	}
	memcpy(buf, name, n);
	buf[n] = '\0';
	ps->p = name + n + brace;
	v = lookup(ps, buf);
	if (v != NULL && !v->array && v->value != NULL)
		put(b, v->value, strlen(v->value));
	else
		put(b, start, (size_t)(ps->p - start));
}

/*
 * One shell word: unquoted text, "double" and 'single' quoted parts.
 * Returns 1 when a word was read, 0 at a delimiter, -1 on an error.
 */
static int
word(struct parser *ps, struct sbuf *b)
{
	bool any = false;
	int line = ps->line;

	while (ps->p < ps->end) {
		char c = *ps->p;

		if (c == ' ' || c == '\t' || c == '\n' || c == ';' ||
		    c == '(' || c == ')' || c == '&' || c == '|' || c == '<' ||
		    c == '>')
			break;
		any = true;
		if (c == '\'') {
			const char *q = memchr(ps->p + 1, '\'',
			    (size_t)(ps->end - ps->p - 1));
			if (q == NULL)
				return fail(ps, line, "a ' is not closed%s",
				    NULL);
			for (const char *x = ps->p + 1; x < q; x++)
				ps->line += *x == '\n';
			put(b, ps->p + 1, (size_t)(q - ps->p - 1));
			ps->p = q + 1;
		} else if (c == '"') {
			ps->p++;
			while (ps->p < ps->end && *ps->p != '"') {
				if (*ps->p == '\\' && ps->p + 1 < ps->end &&
				    strchr("$`\"\\\n", ps->p[1])) {
					if (ps->p[1] == '\n')
						ps->line++;
					else
						put(b, ps->p + 1, 1);
					ps->p += 2;
				} else if (*ps->p == '$') {
					dollar(ps, b);
				} else {
					ps->line += *ps->p == '\n';
					put(b, ps->p++, 1);
				}
			}
			if (ps->p >= ps->end)
				return fail(ps, line, "a \" is not closed%s",
				    NULL);
			ps->p++;
		} else if (c == '\\' && ps->p + 1 < ps->end) {
			if (ps->p[1] == '\n')
				ps->line++;
			else
				put(b, ps->p + 1, 1);
			ps->p += 2;
		} else if (c == '$') {
			dollar(ps, b);
		} else {
			put(b, ps->p++, 1);
		}
	}
	if (b->too_long)
		return fail(ps, line, "a value is longer than 64 KiB%s", NULL);
	return any ? 1 : 0;
}

static void
blanks(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
}

static void
comment(struct parser *ps)
{
	while (ps->p < ps->end && *ps->p != '\n')
		ps->p++;
}

/* NAME=( item ... ) with optional [N]= before items; comments inside. */
static int
array(struct parser *ps, struct var *v)
{
	struct sbuf b = {0};
	int r;

	ps->p++; /* ( */
	for (;;) {
		while (ps->p < ps->end && isspace((unsigned char)*ps->p))
			ps->line += *ps->p++ == '\n';
		if (ps->p >= ps->end)
			return fail(ps, v->line, "the list of %s is not closed",
			    v->name);
		if (*ps->p == ')') {
			ps->p++;
			return 0;
		}
		if (*ps->p == '#') {
			comment(ps);
			continue;
		}
		if (*ps->p == '[') {
			const char *q = ps->p + 1;
			while (q < ps->end && isdigit((unsigned char)*q))
				q++;
			if (q + 1 < ps->end && q[0] == ']' && q[1] == '=')
				ps->p = q + 2;
		}
		if ((r = word(ps, &b)) == -1 || r == 0) {
			free(b.s);
			return r == -1
			    ? -1
			    : fail(ps, ps->line,
			          "unexpected text in the list%s", NULL);
		}
		if (v->nitems == MAX_ITEMS) {
			free(b.s);
			return fail(ps, ps->line, "more than 512 items%s",
			    NULL);
		}
		v->items[v->nitems] = take(&b);
		if (v->items[v->nitems++] == NULL)
			return opt_error_set(ps->e, EX_OSERR, "out of memory");
	}
}

static int
statement(struct parser *ps)
{
	struct sbuf b = {0};
	char name[64];
	struct var *v;
	int line = ps->line, r;
	size_t n;

	/* declare -a, typeset -i, export: their flags do not matter. */
	for (;;) {
		const char *s = ps->p;
		for (n = 0;
		     s + n < ps->end && name_char((unsigned char)s[n], n == 0);
		     n++)
			;
		if (n == 0 || n >= sizeof(name)) {
			const char *eol =
			    memchr(s, '\n', (size_t)(ps->end - s));
			char text[64];
			snprintf(text, sizeof(text), "%.*s",
			    (int)((eol ? eol : ps->end) - s), s);
			return fail(ps, line, "'%s' is not an assignment",
			    text);
		}
		memcpy(name, s, n);
		name[n] = '\0';
		ps->p = s + n;
		if (ps->p < ps->end && *ps->p == '=')
			break;
		if (strcmp(name, "declare") != 0 &&
		    strcmp(name, "typeset") != 0 &&
		    strcmp(name, "export") != 0 &&
		    strcmp(name, "readonly") != 0)
			return fail(ps, line, "'%s' is not an assignment",
			    name);
		blanks(ps);
		while (ps->p < ps->end && *ps->p == '-') {
			while (
			    ps->p < ps->end && !isspace((unsigned char)*ps->p))
				ps->p++;
			blanks(ps);
		}
	}
	ps->p++; /* = */
	if ((v = lookup(ps, name)) == NULL) {
		if (ps->nvars == MAX_VARS)
			return fail(ps, line, "too many variables%s", NULL);
		v = &ps->vars[ps->nvars++];
		strlcpy(v->name, name, sizeof(v->name));
	}
	v->line = line;
	if (ps->p < ps->end && *ps->p == '(') {
		free(v->value);
		v->value = NULL;
		while (v->nitems > 0)
			free(v->items[--v->nitems]);
		v->array = true;
		if (v->items == NULL &&
		    (v->items = calloc(MAX_ITEMS, sizeof(*v->items))) == NULL)
			return opt_error_set(ps->e, EX_OSERR, "out of memory");
		if (array(ps, v) == -1)
			return -1;
	} else {
		/* Read first: X=$X.suffix sees the old X. */
		if ((r = word(ps, &b)) == -1) {
			free(b.s);
			return -1;
		}
		free(v->value);
		while (v->nitems > 0)
			free(v->items[--v->nitems]);
		v->array = false;
		if ((v->value = take(&b)) == NULL)
			return opt_error_set(ps->e, EX_OSERR, "out of memory");
	}
	blanks(ps);
	if (ps->p < ps->end && *ps->p == '#')
		comment(ps);
	if (ps->p < ps->end && *ps->p != '\n' && *ps->p != ';')
		return fail(ps, line, "unexpected text after %s=", name);
	return 0;
}

static int
parse(struct parser *ps)
{
	while (ps->p < ps->end) {
		char c = *ps->p;

		if (c == '\n') {
			ps->line++;
			ps->p++;
		} else if (c == ' ' || c == '\t' || c == ';' || c == '\r') {
			ps->p++;
		} else if (c == '#') {
			comment(ps);
		} else if (statement(ps) == -1) {
			return -1;
		}
	}
	return 0;
}

static void
free_vars(struct parser *ps)
{
	size_t i;

	for (i = 0; i < ps->nvars; i++) {
		free(ps->vars[i].value);
		while (ps->vars[i].nitems > 0)
			free(ps->vars[i].items[--ps->vars[i].nitems]);
		free(ps->vars[i].items);
	}
}

/* The error a validator left, as "FILE:LINE: NAME: ...". */
static int
bad_value(struct parser *ps, const struct var *v)
{
	opt_error_prefix(ps->e, "%s:%d: %s: ", ps->file, v->line, v->name);
	strlcat(ps->e->text, "; nothing imported", sizeof(ps->e->text));
	ps->e->status = EX_DATAERR;
	return -1;
}

/* "L [BIND:]LISTEN:PRINTER:PORT # description", as mast gave ssh -L. */
static int
forward(struct parser *ps, const struct var *v, const char *item,
    struct opt_legacy *out, char *bind, size_t bindlen)
{
	char spec[512], *desc = NULL, *p, *f[4];
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
	if (nf < 3)
		return fail(ps, v->line,
		    "ForwardPort '%s' is not "
		    "[BIND:]PORT:PRINTER:PORT",
		    item);
	if (opt_parse_port("listen port", f[2], &c.listen, ps->e) == -1 ||
	    opt_channel_set(&c, "printer", f[1], ps->e) == -1 ||
	    opt_parse_port("printer port", f[0], &c.printer_port, ps->e) == -1)
		return bad_value(ps, v);
	if (nf == 4 && *f[3] != '\0' && strcmp(f[3], "*") != 0) {
		const char *addr =
		    strcmp(f[3], "localhost") == 0 ? "127.0.0.1" : f[3];
		if (opt_valid_addr(addr, ps->e) == -1)
			return bad_value(ps, v);
		if (*bind != '\0' && strcmp(bind, addr) != 0)
			return fail(ps, v->line,
			    "ForwardPort binds '%s', "
			    "unlike the ones before: a site "
			    "has one bind address",
			    addr);
		strlcpy(bind, addr, bindlen);
	}
	if (desc != NULL) {
		desc += strspn(desc, " \t");
		for (j = strlen(desc);
		     j > 0 && isspace((unsigned char)desc[j - 1]); j--)
			desc[j - 1] = '\0';
		if (opt_channel_set(&c, "description", desc, ps->e) == -1)
			return bad_value(ps, v);
	}
	for (i = 0; (size_t)i < out->channels.n; i++)
		if (out->channels.v[i].listen == c.listen)
			return fail(ps, v->line,
			    "ForwardPort listens twice on port %s", f[2]);
	if (opt_channels_add(&out->channels, &c, ps->e) == NULL)
		return -1;
	return 0;
}

static int
map_var(struct parser *ps, struct var *v, struct opt_legacy *out, char *bind,
    size_t bindlen)
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
	char path[PATH_MAX];
	unsigned rate;
	bool on;
	size_t i;

	if (strcmp(v->name, "ForwardPort") == 0) {
		if (!v->array)
			return forward(ps, v, v->value, out, bind, bindlen);
		for (i = 0; i < v->nitems; i++)
			if (forward(ps, v, v->items[i], out, bind, bindlen) ==
			    -1)
				return -1;
		return 0;
	}
	if (strcmp(v->name, "LocalUser") == 0)
		return 0; /* opt's local_user is one for all sites */
	if (v->array)
		return fail(ps, v->line,
		    "%s is a list; nothing in mast made "
		    "it one",
		    v->name);
	for (i = 0; i < sizeof(direct) / sizeof(direct[0]); i++)
		if (strcmp(v->name, direct[i].mast) == 0)
			return opt_site_set(&out->site, direct[i].key, v->value,
			           ps->e) == -1
			    ? bad_value(ps, v)
			    : 0;
	if (strcmp(v->name, "StrictHostKeyChecking") == 0) {
		const char *m = strcasecmp(v->value, "no") == 0 ? "off"
		    : strcasecmp(v->value, "yes") == 0 ||
		        strcasecmp(v->value, "ask") == 0
		    ? "strict"
		    : v->value;
		return opt_site_set(&out->site, "host_key_check", m, ps->e) ==
		        -1
		    ? bad_value(ps, v)
		    : 0;
	}
	if (strcmp(v->name, "IdentityFile") == 0) {
		/* mast ran as mast, whose home was /var/lib/mast. */
		if (strncmp(v->value, "~/", 2) == 0)
			snprintf(path, sizeof(path), "/var/lib/mast/%s",
			    v->value + 2);
		else
			strlcpy(path, v->value, sizeof(path));
		return opt_site_set(&out->site, "identity", path, ps->e) == -1
		    ? bad_value(ps, v)
		    : 0;
	}
	if (strcmp(v->name, "BandwidthLimitation") == 0) {
		if (opt_parse_bool(v->name, v->value, &on, ps->e) == -1)
			return bad_value(ps, v);
		out->throttle.enabled = on;
		return 0;
	}
	if (strcmp(v->name, "UploadLimit") == 0 ||
	    strcmp(v->name, "DownloadLimit") == 0) {
		/* trickle's rates are KB/s, which opt reads as KiB/s. */
		if (opt_parse_rate(v->value, &rate, ps->e) == -1)
			return bad_value(ps, v);
		if (v->name[0] == 'U')
			out->throttle.up = (int)rate;
		else
			out->throttle.down = (int)rate;
		return 0;
	}
	return fail(ps, v->line, "mast's %s has no place in opt", v->name);
}

int
opt_legacy_parse(const char *file, const char *site, const char *text,
    const struct opt_defaults *d, struct opt_legacy *out, struct opt_error *e)
{
	struct parser *ps = calloc(1, sizeof(*ps));
	char bind[OPT_ADDR_MAX] = "";
	size_t i;
	int r = -1;

	if (ps == NULL)
		return opt_error_set(e, EX_OSERR, "out of memory");
	ps->p = text;
	ps->end = text + strlen(text);
	ps->line = 1;
	ps->file = file;
	ps->e = e;
	out->site = d->site;
	strlcpy(out->site.id, site, sizeof(out->site.id));
	out->site.host[0] = '\0';
	out->site.description[0] = '\0';
	out->throttle = d->throttle;
	opt_channels_init(&out->channels, site);
	if (parse(ps) == -1)
		goto out;
	for (i = 0; i < ps->nvars; i++)
		if (map_var(ps, &ps->vars[i], out, bind, sizeof(bind)) == -1)
			goto out;
	if (out->site.host[0] == '\0') {
		opt_error_set(e, EX_DATAERR,
		    "%s: RemoteHost is not set; nothing imported", file);
		goto out;
	}
	if (bind[0] != '\0')
		strlcpy(out->site.bind, bind, sizeof(out->site.bind));
	r = 0;
out:
	if (r == -1)
		opt_channels_free(&out->channels);
	free_vars(ps);
	free(ps);
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
	const char *p;

	for (p = strstr(text, "RemoteHost="); p != NULL;
	     p = strstr(p + 1, "RemoteHost="))
		if (p == text || p[-1] == '\n' || p[-1] == ' ' || p[-1] == '\t')
			return true;
	return false;
}
