#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "bashvars.h"

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

struct parser {
	const char *p, *end;
	int line;
	const char *file;
	struct opt_bashvars *vars;
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
	return opt_error_set(ps->e, EX_DATAERR, "%s:%d: %s", ps->file, line,
	    msg);
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

static struct opt_bashvar *
lookup(struct parser *ps, const char *name)
{
	size_t i;

	for (i = 0; i < ps->vars->n; i++)
		if (strcmp(ps->vars->v[i].name, name) == 0)
			return &ps->vars->v[i];
	return NULL;
}

/* How long the name that starts at p is: letters, digits, '_'. */
static size_t
name_len(const char *p, const char *end)
{
	size_t n;

	for (n = 0; p + n < end; n++) {
		int c = (unsigned char)p[n];
		if (c != '_' && !isalpha(c) && (n == 0 || !isdigit(c)))
			break;
	}
	return n;
}

/* The length of the variable name at p, 0 when there is none. */
static size_t
name_at(struct parser *ps, char *buf, size_t size)
{
	size_t n = name_len(ps->p, ps->end);

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
	char buf[OPT_BASHVAR_NAME_MAX + 1];
	size_t n;
	struct opt_bashvar *v;

	name = ps->p + 1 + brace;
	n = name_len(name, ps->end);
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
	/* The escapes that stand for one byte, and those bytes. */
	static const char escapes[] = "abeEfnrtv\\'\"?";
	static const char bytes[] = "\a\b\033\033\f\n\r\t\v\\'\"?";
	struct sbuf drop = {0}, *to = b;
	const char *k;
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
			if (c != '\0' && (k = strchr(escapes, c)) != NULL) {
				v = (unsigned char)bytes[k - escapes];
			} else if (c >= '0' && c <= '7') {
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
var_clear(struct opt_bashvar *v)
{
	free(v->value);
	v->value = NULL;
	while (v->nitems > 0)
		free(v->items[--v->nitems].text);
}

static struct opt_bashvar *
var_get(struct parser *ps, const char *name, int line)
{
	struct opt_bashvar *v;

	if ((v = lookup(ps, name)) != NULL)
		return v;
	if (ps->vars->n == OPT_BASHVARS_MAX) {
		fail(ps, line, "too many variables%s", NULL);
		return NULL;
	}
	v = &ps->vars->v[ps->vars->n++];
	strlcpy(v->name, name, sizeof(v->name));
	v->line = line;
	return v;
}

static int
add_item(struct parser *ps, struct opt_bashvar *v, char *text, int line)
{
	if (text == NULL)
		return oom(ps);
	if (v->items == NULL &&
	    (v->items = calloc(OPT_BASHVAR_ITEMS_MAX, sizeof(*v->items))) ==
	        NULL) {
		free(text);
		return oom(ps);
	}
	if (v->nitems == OPT_BASHVAR_ITEMS_MAX) {
		free(text);
		return failf(ps, line, "more than %d items",
		    OPT_BASHVAR_ITEMS_MAX);
	}
	v->items[v->nitems].text = text;
	v->items[v->nitems++].line = line;
	return 0;
}

/* ( item ... ) with optional [KEY]= before items; comments inside. */
static int
array(struct parser *ps, struct opt_bashvar *v)
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
array_string(struct parser *ps, struct opt_bashvar *v, char *text, int line)
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
	struct opt_bashvar *v;
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
		char c;

		while (++ps->p < ps->end && (c = *ps->p) != ';' &&
		    !isspace((unsigned char)c)) {
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
	char name[OPT_BASHVAR_NAME_MAX + 1], builtin[64],
	    last[sizeof(name) + 1] = "";
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
			struct opt_bashvar *v = var_get(ps, name, line);
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

void
opt_bashvars_free(struct opt_bashvars *vars)
{
	size_t i;

	for (i = 0; i < vars->n; i++) {
		var_clear(&vars->v[i]);
		free(vars->v[i].items);
	}
	free(vars->v);
	vars->v = NULL;
	vars->n = 0;
}

int
opt_bashvars_read(const char *file, const char *text, struct opt_bashvars *vars,
    struct opt_error *e)
{
	struct parser ps = {.p = text,
	    .end = text + strlen(text),
	    .line = 1,
	    .file = file,
	    .vars = vars,
	    .e = e};

	vars->n = 0;
	if ((vars->v = calloc(OPT_BASHVARS_MAX, sizeof(*vars->v))) == NULL)
		return oom(&ps);
	if (parse(&ps) == -1) {
		opt_bashvars_free(vars);
		return -1;
	}
	return 0;
}
