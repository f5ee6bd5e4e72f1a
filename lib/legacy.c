#include <ctype.h>
#include <stdarg.h>
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

/* What declare's flags say of a variable's value. */
#define ATTR_ARRAY 0x1
#define ATTR_INTEGER 0x2

struct item {
	char *text;
	int line;
};

struct var {
	char name[64];
	int line;
	bool array;
	bool set; /* `declare -i X` declares X without a value */
	bool integer;
	char *value;
	struct item *items;
	size_t nitems;
};

struct parser {
	const char *p, *end;
	int line;
	const char *file;
	unsigned flags;
	struct var vars[MAX_VARS];
	size_t nvars;
	struct opt_legacy *out;
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

static int failf(struct parser *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static int
failf(struct parser *ps, int line, const char *fmt, ...)
{
	char msg[OPT_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return opt_error_set(ps->e, EX_DATAERR, "%s:%d: %s; nothing imported",
	    ps->file, line, msg);
}

/* fmt has one %s, for arg quoted (or "" without arg). */
static int
fail(struct parser *ps, int line, const char *fmt, const char *arg)
{
	char q[OPT_QUOTE_BUF], msg[OPT_ERROR_MAX];

	snprintf(msg, sizeof(msg), fmt,
	    arg ? opt_quote(q, sizeof(q), arg) : "");
	return failf(ps, line, "%s", msg);
}

static int
oom(struct parser *ps)
{
	return opt_error_set(ps->e, EX_OSERR, "out of memory");
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

/* The length of the variable name at p, 0 when there is none. */
static size_t
name_at(struct parser *ps, char *buf, size_t size)
{
	size_t n;

	for (n = 0;
	     ps->p + n < ps->end && name_char((unsigned char)ps->p[n], n == 0);
	     n++)
		;
	if (n == 0 || n >= size)
		return 0;
	memcpy(buf, ps->p, n);
	buf[n] = '\0';
	return n;
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

/* Up to max digits of base at p; how many were read. */
static int
digits(struct parser *ps, int base, int max, unsigned long *v)
{
	int n;

	*v = 0;
	for (n = 0; n < max && ps->p < ps->end; n++) {
		int c = (unsigned char)*ps->p, d;

		if (isdigit(c))
			d = c - '0';
		else if (base == 16 && isxdigit(c))
			d = tolower(c) - 'a' + 10;
		else
			break;
		if (d >= base)
			break;
		*v = *v * (unsigned long)base + (unsigned long)d;
		ps->p++;
	}
	return n;
}

static void
put_utf8(struct sbuf *b, unsigned long cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else if (cp < 0x110000) {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	} else {
		return; /* no such character: bash writes none either */
	}
	put(b, u, n);
}

/*
 * $'...', bash's ANSI-C quotes: declare -p writes them for what the
 * locale cannot print, $'caf\303\251' under LC_ALL=C.  As in bash, a
 * \0 ends the string; the rest up to the quote is dropped.
 */
static int
ansi_c(struct parser *ps, struct sbuf *b, int line)
{
	struct sbuf drop = {0}, *to = b;
	unsigned long v;
	char c;

	ps->p += 2; /* $' */
	while (ps->p < ps->end && *ps->p != '\'') {
		c = *ps->p++;
		if (c != '\\' || ps->p >= ps->end) {
			ps->line += c == '\n';
			put(to, &c, 1);
			continue;
		}
		c = *ps->p++;
		v = (unsigned char)c;
		switch (c) {
		case 'a':
			v = '\a';
			break;
		case 'b':
			v = '\b';
			break;
		case 'e':
		case 'E':
			v = 033;
			break;
		case 'f':
			v = '\f';
			break;
		case 'n':
			v = '\n';
			break;
		case 'r':
			v = '\r';
			break;
		case 't':
			v = '\t';
			break;
		case 'v':
			v = '\v';
			break;
		case '\\':
		case '\'':
		case '"':
		case '?':
			break;
		case 'c':
			if (ps->p < ps->end && *ps->p != '\'')
				v = (unsigned char)*ps->p++ & 0x1f;
			else
				put(to, "\\", 1);
			break;
		case 'x':
		case 'u':
		case 'U':
			if (digits(ps, 16,
			        c == 'x'       ? 2
			            : c == 'u' ? 4
			                       : 8,
			        &v) == 0) {
				put(to, "\\", 1);
				v = (unsigned char)c;
			} else if (c != 'x' && v != 0) {
				put_utf8(to, v);
				continue;
			}
			break;
		default:
			if (c >= '0' && c <= '7') {
				ps->p--;
				digits(ps, 8, 3, &v);
				v &= 0xff;
			} else {
				ps->line += c == '\n';
				put(to, "\\", 1);
			}
		}
		if (v == 0) {
			to = &drop;
			continue;
		}
		c = (char)v;
		put(to, &c, 1);
	}
	free(drop.s);
	if (ps->p >= ps->end)
		return fail(ps, line, "a $' is not closed%s", NULL);
	ps->p++;
	return 0;
}

/*
 * One shell word: unquoted text, "double", 'single' and $'ANSI-C'
 * quoted parts.  Returns 1 when a word was read, 0 at a delimiter, -1
 * on an error.
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
		} else if (c == '$' && ps->p + 1 < ps->end &&
		    ps->p[1] == '\'') {
			if (ansi_c(ps, b, line) == -1)
				return -1;
		} else if (c == '$' && ps->p + 1 < ps->end && ps->p[1] == '"') {
			ps->p++; /* $"...", translated: here as "..." */
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

/* Blanks and line continuations between words. */
static void
blanks(struct parser *ps)
{
	for (;;) {
		if (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t')) {
			ps->p++;
		} else if (ps->p + 1 < ps->end && ps->p[0] == '\\' &&
		    ps->p[1] == '\n') {
			ps->p += 2;
			ps->line++;
		} else {
			return;
		}
	}
}

static void
comment(struct parser *ps)
{
	while (ps->p < ps->end && *ps->p != '\n')
		ps->p++;
}

/* The end of a statement: its line, a ';', a comment, the file. */
static bool
at_end(const struct parser *ps)
{
	return ps->p >= ps->end || *ps->p == '\n' || *ps->p == ';' ||
	    *ps->p == '#';
}

static void
var_clear(struct var *v)
{
	free(v->value);
	v->value = NULL;
	while (v->nitems > 0)
		free(v->items[--v->nitems].text);
}

static struct var *
var_get(struct parser *ps, const char *name, int line)
{
	struct var *v;

	if ((v = lookup(ps, name)) != NULL)
		return v;
	if (ps->nvars == MAX_VARS) {
		fail(ps, line, "too many variables%s", NULL);
		return NULL;
	}
	v = &ps->vars[ps->nvars++];
	strlcpy(v->name, name, sizeof(v->name));
	v->line = line;
	return v;
}

static int
add_item(struct parser *ps, struct var *v, char *text, int line)
{
	if (text == NULL)
		return oom(ps);
	if (v->items == NULL &&
	    (v->items = calloc(MAX_ITEMS, sizeof(*v->items))) == NULL) {
		free(text);
		return oom(ps);
	}
	if (v->nitems == MAX_ITEMS) {
		free(text);
		return fail(ps, line, "more than 512 items%s", NULL);
	}
	v->items[v->nitems].text = text;
	v->items[v->nitems++].line = line;
	return 0;
}

/* ( item ... ) with optional [KEY]= before items; comments inside. */
static int
array(struct parser *ps, struct var *v)
{
	struct sbuf b = {0};
	bool keyed;
	int r, line;

	ps->p++; /* ( */
	for (;;) {
		for (;;) {
			blanks(ps);
			if (ps->p >= ps->end || !isspace((unsigned char)*ps->p))
				break;
			ps->line += *ps->p++ == '\n';
		}
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
		keyed = false;
		if (*ps->p == '[') {
			const char *q = ps->p + 1;
			while (q < ps->end && *q != ']' && *q != '\n')
				q++;
			if (q + 1 < ps->end && q[0] == ']' && q[1] == '=') {
				ps->p = q + 2;
				keyed = true;
			}
		}
		line = ps->line;
		if ((r = word(ps, &b)) == -1 || (r == 0 && !keyed)) {
			free(b.s);
			return r == -1
			    ? -1
			    : fail(ps, ps->line,
			          "unexpected text in the list%s", NULL);
		}
		if (add_item(ps, v, take(&b), line) == -1)
			return -1;
	}
}

/* declare -a NAME='( ... )': arrays as bash 4.3 and before wrote them. */
static int
array_string(struct parser *ps, struct var *v, char *text, int line)
{
	const char *p = ps->p, *end = ps->end;
	int outer = ps->line, r;

	ps->p = text;
	ps->end = text + strlen(text);
	ps->line = line;
	r = array(ps, v);
	if (r == 0 && ps->p != ps->end)
		r = fail(ps, line, "unexpected text after the list of %s",
		    v->name);
	ps->p = p;
	ps->end = end;
	ps->line = outer;
	free(text);
	return r;
}

/* NAME=VALUE or NAME+=VALUE, ps->p after the operator. */
static int
assign(struct parser *ps, const char *name, int line, bool append,
    unsigned attrs)
{
	struct sbuf b = {0};
	struct var *v;
	size_t len;
	char *text;

	if ((v = var_get(ps, name, line)) == NULL)
		return -1;
	v->line = line;
	v->integer |= (attrs & ATTR_INTEGER) != 0;
	if (append && v->integer)
		return failf(ps, line,
		    "%s+= adds, as %s is an integer: opt cannot tell the sum",
		    name, name);
	if (ps->p < ps->end && *ps->p == '(') {
		if (!append || !v->array)
			var_clear(v);
		v->array = v->set = true;
		return array(ps, v);
	}
	/* Read first: X=$X.suffix sees the old X. */
	if (word(ps, &b) == -1) {
		free(b.s);
		return -1;
	}
	if ((text = take(&b)) == NULL)
		return oom(ps);
	len = strlen(text);
	if ((attrs & ATTR_ARRAY) && !append && len >= 2 && text[0] == '(' &&
	    text[len - 1] == ')') {
		var_clear(v);
		v->array = v->set = true;
		return array_string(ps, v, text, line);
	}
	if (v->array) {
		/* As in bash: NAME=x sets item 0, NAME+=x adds an item. */
		if (append || v->nitems == 0)
			return add_item(ps, v, text, line);
		free(v->items[0].text);
		v->items[0].text = text;
		v->items[0].line = line;
		return 0;
	}
	if (append && v->value != NULL) {
		put(&b, v->value, strlen(v->value));
		put(&b, text, len);
		free(text);
		if ((text = take(&b)) == NULL)
			return oom(ps);
	}
	free(v->value);
	v->value = text;
	v->set = true;
	return 0;
}

/*
 * The flags of declare, typeset, export and readonly: those that only
 * say how bash keeps a value (-i, -x, -r, -g...) are accepted, -a and -A
 * make arrays, and the others (-f, -n, -l, -u, -p...) change what the
 * file means: refused.
 */
static int
flags(struct parser *ps, const char *builtin, int line, unsigned *attrs)
{
	for (;;) {
		blanks(ps);
		if (ps->p >= ps->end || (*ps->p != '-' && *ps->p != '+'))
			return 0;
		if (ps->p + 1 < ps->end && ps->p[0] == '-' && ps->p[1] == '-' &&
		    (ps->p + 2 >= ps->end ||
		        isspace((unsigned char)ps->p[2]))) {
			ps->p += 2;
			blanks(ps);
			return 0;
		}
		bool minus = *ps->p == '-';

		for (ps->p++; ps->p < ps->end &&
		     !isspace((unsigned char)*ps->p) && *ps->p != ';';
		     ps->p++) {
			char c = *ps->p;
			if ((c == 'a' || c == 'A') && minus)
				*attrs |= ATTR_ARRAY;
			else if (c == 'i' && minus)
				*attrs |= ATTR_INTEGER;
			else if (!isalpha((unsigned char)c) ||
			    strchr("aAgirtxI", c) == NULL)
				return failf(ps, line,
				    "'%s -%c' is not an assignment opt can "
				    "read",
				    builtin,
				    isprint((unsigned char)c) ? c : '?');
		}
	}
}

static bool
is_builtin(const char *name)
{
	return strcmp(name, "declare") == 0 || strcmp(name, "typeset") == 0 ||
	    strcmp(name, "export") == 0 || strcmp(name, "readonly") == 0;
}

/* An operator = or += at p, skipped. */
static bool
assign_op(struct parser *ps, bool *append)
{
	*append = ps->p + 1 < ps->end && ps->p[0] == '+' && ps->p[1] == '=';
	if (*append || (ps->p < ps->end && *ps->p == '=')) {
		ps->p += *append ? 2 : 1;
		return true;
	}
	return false;
}

static int
not_assignment(struct parser *ps, int line)
{
	const char *eol = memchr(ps->p, '\n', (size_t)(ps->end - ps->p));
	char text[64];

	snprintf(text, sizeof(text), "%.*s",
	    (int)((eol ? eol : ps->end) - ps->p), ps->p);
	return fail(ps, line, "'%s' is not an assignment", text);
}

/*
 * NAME=VALUE ...: one or more assignments; or declare [FLAGS] NAME[=VALUE]
 * ...: names with or without a value.  Anything else is a command.
 */
static int
statement(struct parser *ps)
{
	char name[64], builtin[64], last[sizeof(name) + 1] = "";
	bool decl = false, append;
	unsigned attrs = 0;
	int line = ps->line;
	size_t n;

	n = name_at(ps, name, sizeof(name));
	if (n > 0 && is_builtin(name) &&
	    (ps->p + n >= ps->end || isspace((unsigned char)ps->p[n]) ||
	        ps->p[n] == ';')) {
		decl = true;
		strlcpy(builtin, name, sizeof(builtin));
		ps->p += n;
		if (flags(ps, builtin, line, &attrs) == -1)
			return -1;
		if (at_end(ps))
			return fail(ps, line, "'%s' names no variable",
			    builtin);
		n = name_at(ps, name, sizeof(name));
	}
	for (;;) {
		if (n == 0 && last[0] != '\0')
			return fail(ps, line, "unexpected text after %s", last);
		if (n == 0)
			return not_assignment(ps, line);
		ps->p += n;
		if (assign_op(ps, &append)) {
			if (assign(ps, name, line, append, attrs) == -1)
				return -1;
			snprintf(last, sizeof(last), "%s=", name);
		} else if (decl) {
			struct var *v = var_get(ps, name, line);
			if (v == NULL)
				return -1;
			if (!v->set)
				v->array = (attrs & ATTR_ARRAY) != 0;
			v->integer |= (attrs & ATTR_INTEGER) != 0;
			strlcpy(last, name, sizeof(last));
		} else if (last[0] != '\0') {
			return fail(ps, line, "unexpected text after %s", last);
		} else {
			return fail(ps, line, "'%s' is not an assignment",
			    name);
		}
		blanks(ps);
		if (at_end(ps))
			break;
		n = name_at(ps, name, sizeof(name));
	}
	if (ps->p < ps->end && *ps->p == '#')
		comment(ps);
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
		} else if (c == '\\' && ps->p + 1 < ps->end &&
		    ps->p[1] == '\n') {
			blanks(ps);
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
		var_clear(&ps->vars[i]);
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
unfilled(struct parser *ps, const struct var *v, int line, const char *s)
{
	const char *p = placeholder(s);
	char q[OPT_QUOTE_BUF];

	/* The first templates' placeholders were bare words. */
	if (p == NULL && strcmp(v->name, "RemoteHost") == 0 &&
	    (strcmp(s, "CUSTOMER_HOST") == 0 || strcmp(s, "HOST") == 0))
		p = s;
	if (p == NULL)
		return 0;
	return failf(ps, line,
	    "%s holds '%s', a placeholder of mast's template that "
	    "'make add-host' fills in: this file is a template, not a site",
	    v->name, opt_quote(q, sizeof(q), s));
}

/* A rule opt cannot make: refused, or with --partial skipped and listed. */
static int
refuse_rule(struct parser *ps, int line, const struct opt_error *why)
{
	struct opt_legacy *out = ps->out;
	struct opt_legacy_skip *ns;
	struct opt_error said;

	if (why->status == EX_OSERR) {
		*ps->e = *why;
		return -1;
	}
	if (!(ps->flags & OPT_LEGACY_PARTIAL))
		return opt_error_set(ps->e, EX_DATAERR,
		    "%s:%d: %s; nothing imported (--partial skips such "
		    "rules)",
		    ps->file, line, why->text);
	if ((ns = reallocarray(out->skipped, out->nskipped + 1, sizeof(*ns))) ==
	    NULL)
		return oom(ps);
	out->skipped = ns;
	ns += out->nskipped++;
	ns->line = line;
	opt_error_set(&said, EX_DATAERR, "%s:%d: %s", ps->file, line,
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
		for (j = strlen(desc);
		     j > 0 && isspace((unsigned char)desc[j - 1]); j--)
			desc[j - 1] = '\0';
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
rule(struct parser *ps, const struct var *v, const char *text, int line,
    char *bind, size_t bindlen)
{
	struct opt_error why;

	if (unfilled(ps, v, line, text) == -1)
		return -1;
	if (forward(text, ps->out, bind, bindlen, &why) == -1)
		return refuse_rule(ps, line, &why);
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

	if (!v->set)
		return 0; /* declared, never given a value */
	if (strcmp(v->name, "ForwardPort") == 0) {
		if (!v->array)
			return rule(ps, v, v->value, v->line, bind, bindlen);
		for (i = 0; i < v->nitems; i++)
			if (rule(ps, v, v->items[i].text, v->items[i].line,
			        bind, bindlen) == -1)
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
	if (unfilled(ps, v, v->line, v->value) == -1)
		return -1;
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
	ps->flags = flags;
	ps->out = out;
	ps->e = e;
	out->site = d->site;
	strlcpy(out->site.id, site, sizeof(out->site.id));
	out->site.host[0] = '\0';
	out->site.description[0] = '\0';
	out->throttle = d->throttle;
	out->skipped = NULL;
	out->nskipped = 0;
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
		opt_legacy_free(out);
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
