#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "valid.h"

void
opt_table_init(struct opt_table *t, const struct opt_column *cols, size_t n)
{
	memset(t, 0, sizeof(*t));
	t->cols = cols;
	t->ncols = n;
}

void
opt_table_free(struct opt_table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i].s);
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}

int
opt_table_row(struct opt_table *t)
{
	struct opt_cell *nc;

	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		nc = reallocarray(t->cells, cap * t->ncols, sizeof(*nc));
		if (nc == NULL) {
			t->failed = true;
			return -1;
		}
		t->cells = nc;
		t->cap = cap;
	}
	memset(&t->cells[t->nrows * t->ncols], 0, t->ncols * sizeof(*t->cells));
	t->nrows++;
	return 0;
}

static struct opt_cell *
cell(struct opt_table *t, const char *key)
{
	size_t i;

	if (t->nrows == 0)
		return NULL;
	for (i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i].key, key) == 0)
			return &t->cells[(t->nrows - 1) * t->ncols + i];
	return NULL;
}

static void
set(struct opt_table *t, const char *key, enum opt_cell_type type,
    const char *s, long long n)
{
	struct opt_cell *c = cell(t, key);

	if (c == NULL) {
		t->failed = true;
		return;
	}
	free(c->s);
	c->type = type;
	c->n = n;
	c->s = NULL;
	if (s != NULL && (c->s = strdup(s)) == NULL)
		t->failed = true;
}

void
opt_table_str(struct opt_table *t, const char *key, const char *s)
{
	set(t, key, OPT_CELL_STR, s, 0);
}

void
opt_table_int(struct opt_table *t, const char *key, long long n)
{
	set(t, key, OPT_CELL_INT, NULL, n);
}

void
opt_table_bool(struct opt_table *t, const char *key, bool b)
{
	set(t, key, OPT_CELL_BOOL, NULL, b);
}

void
opt_table_list(struct opt_table *t, const char *key, const char *s)
{
	set(t, key, OPT_CELL_LIST, s, 0);
}

/* Text of a cell for a table or a tab-separated line. */
static const char *
text(const struct opt_cell *c, char *buf, size_t len)
{
	switch (c->type) {
	case OPT_CELL_INT:
		snprintf(buf, len, "%lld", c->n);
		return buf;
	case OPT_CELL_BOOL:
		return c->n ? "yes" : "no";
	case OPT_CELL_STR:
	case OPT_CELL_LIST:
		return c->s ? c->s : "";
	default:
		return "";
	}
}

/* Width on a terminal: UTF-8 characters, not bytes. */
static size_t
width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

void
opt_json_init(struct opt_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

static void
string(FILE *f, const char *s)
{
	const unsigned char *p;
	size_t len;
	unsigned cp;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p != '\0'; p += len) {
		len = 1;
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else if (*p < 0x80)
				fputc(*p, f);
			else if ((len = opt_utf8_char(p, &cp)) == 0) {
				fputs("\\ufffd", f);
				len = 1;
			} else
				fwrite(p, 1, len, f);
		}
	}
	fputc('"', f);
}

/* The comma before a value and its key. */
static void
value(struct opt_json *j, const char *key)
{
	if (j->depth > 0) {
		if (j->more[j->depth - 1])
			fputs(j->depth == 1 && j->close[0] == ']' ? ",\n "
			                                          : ",",
			    j->f);
		j->more[j->depth - 1] = true;
	}
	if (key != NULL) {
		string(j->f, key);
		fputc(':', j->f);
	}
}

static void
ended(struct opt_json *j)
{
	if (j->depth == 0)
		fputc('\n', j->f);
}

void
opt_json_open(struct opt_json *j, const char *key, char bracket)
{
	if (j->depth == OPT_JSON_DEPTH) {
		j->failed = true;
		return;
	}
	value(j, key);
	fputc(bracket, j->f);
	j->close[j->depth] = bracket == '[' ? ']' : '}';
	j->more[j->depth++] = false;
}

void
opt_json_close(struct opt_json *j)
{
	if (j->depth == 0) {
		j->failed = true;
		return;
	}
	fputc(j->close[--j->depth], j->f);
	ended(j);
}

void
opt_json_str(struct opt_json *j, const char *key, const char *s)
{
	value(j, key);
	string(j->f, s);
	ended(j);
}

void
opt_json_int(struct opt_json *j, const char *key, long long n)
{
	value(j, key);
	fprintf(j->f, "%lld", n);
	ended(j);
}

void
opt_json_uint(struct opt_json *j, const char *key, unsigned long long n)
{
	value(j, key);
	fprintf(j->f, "%llu", n);
	ended(j);
}

void
opt_json_bool(struct opt_json *j, const char *key, bool b)
{
	value(j, key);
	fputs(b ? "true" : "false", j->f);
	ended(j);
}

void
opt_json_null(struct opt_json *j, const char *key)
{
	value(j, key);
	fputs("null", j->f);
	ended(j);
}

static void
json_cell(struct opt_json *j, const char *key, const struct opt_cell *c)
{
	char *copy, *p, *item;

	switch (c->type) {
	case OPT_CELL_INT:
		opt_json_int(j, key, c->n);
		break;
	case OPT_CELL_BOOL:
		opt_json_bool(j, key, c->n);
		break;
	case OPT_CELL_STR:
		opt_json_str(j, key, c->s ? c->s : "");
		break;
	case OPT_CELL_LIST:
		opt_json_open(j, key, '[');
		if (c->s != NULL && *c->s != '\0' &&
		    (copy = strdup(c->s)) != NULL) {
			for (p = copy; (item = strsep(&p, ",")) != NULL;)
				opt_json_str(j, NULL, item);
			free(copy);
		}
		opt_json_close(j);
		break;
	default:
		opt_json_null(j, key);
	}
}

static void
json_object(const struct opt_table *t, size_t row, struct opt_json *j)
{
	size_t i;

	opt_json_open(j, NULL, '{');
	for (i = 0; i < t->ncols; i++)
		json_cell(j, t->cols[i].key, &t->cells[row * t->ncols + i]);
	opt_json_close(j);
}

static int
done(const struct opt_table *t, FILE *f)
{
	if (t->failed || fflush(f) != 0 || ferror(f))
		return -1;
	return 0;
}

int
opt_table_print(const struct opt_table *t, FILE *f, enum opt_format fmt,
    bool color)
{
	struct opt_json j;
	char buf[32];
	size_t r, i, *w, last = 0;

	if (t->failed)
		return -1;
	if (fmt == OPT_FMT_JSON) {
		opt_json_init(&j, f);
		opt_json_open(&j, NULL, '[');
		for (r = 0; r < t->nrows; r++)
			json_object(t, r, &j);
		opt_json_close(&j);
		return j.failed ? -1 : done(t, f);
	}
	if (fmt == OPT_FMT_TSV) {
		for (r = 0; r < t->nrows; r++) {
			const char *sep = "";
			for (i = 0; i < t->ncols; i++) {
				if (t->cols[i].flags & OPT_COL_JSON)
					continue;
				fprintf(f, "%s%s", sep,
				    text(&t->cells[r * t->ncols + i], buf,
				        sizeof(buf)));
				sep = "\t";
			}
			fputc('\n', f);
		}
		return done(t, f);
	}

	if ((w = calloc(t->ncols, sizeof(*w))) == NULL)
		return -1;
	for (i = 0; i < t->ncols; i++) {
		if (t->cols[i].flags & OPT_COL_JSON)
			continue;
		last = i;
		w[i] = width(t->cols[i].head);
		for (r = 0; r < t->nrows; r++) {
			size_t n = width(text(&t->cells[r * t->ncols + i], buf,
			    sizeof(buf)));
			if (n > w[i])
				w[i] = n;
		}
	}
	for (r = 0; r <= t->nrows; r++) {
		if (r == 0 && color)
			fputs("\033[1m", f);
		for (i = 0; i < t->ncols; i++) {
			const char *s;
			size_t pad;

			if (t->cols[i].flags & OPT_COL_JSON)
				continue;
			s = r == 0 ? t->cols[i].head
			           : text(&t->cells[(r - 1) * t->ncols + i],
			                 buf, sizeof(buf));
			if (*s == '\0' && r > 0)
				s = "-";
			pad = w[i] - width(s);
			if (t->cols[i].flags & OPT_COL_RIGHT)
				fprintf(f, "%*s%s", (int)pad, "", s);
			else if (i == last)
				fputs(s, f);
			else
				fprintf(f, "%s%*s", s, (int)pad, "");
			if (i != last)
				fputs("  ", f);
		}
		if (r == 0 && color)
			fputs("\033[0m", f);
		fputc('\n', f);
	}
	free(w);
	return done(t, f);
}

/* One row as "key  value" lines, "key<TAB>value" lines, or one object. */
int
opt_table_print_record(const struct opt_table *t, size_t row, FILE *f,
    enum opt_format fmt)
{
	struct opt_json j;
	char buf[32];
	size_t i, w = 0;

	if (t->failed || row >= t->nrows)
		return -1;
	if (fmt == OPT_FMT_JSON) {
		opt_json_init(&j, f);
		json_object(t, row, &j);
		return j.failed ? -1 : done(t, f);
	}
	for (i = 0; i < t->ncols; i++)
		if (strlen(t->cols[i].key) > w)
			w = strlen(t->cols[i].key);
	for (i = 0; i < t->ncols; i++) {
		const char *s =
		    text(&t->cells[row * t->ncols + i], buf, sizeof(buf));
		if (fmt == OPT_FMT_TSV)
			fprintf(f, "%s\t%s\n", t->cols[i].key, s);
		else
			fprintf(f, "%-*s  %s\n", (int)w, t->cols[i].key, s);
	}
	return done(t, f);
}
