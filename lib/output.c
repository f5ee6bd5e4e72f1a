#include <stdlib.h>
#include <string.h>

#include "output.h"

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
opt_json_string(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
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
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void
json_value(FILE *f, const struct opt_cell *c)
{
	char *copy, *p, *item;
	bool first = true;

	switch (c->type) {
	case OPT_CELL_INT:
		fprintf(f, "%lld", c->n);
		break;
	case OPT_CELL_BOOL:
		fputs(c->n ? "true" : "false", f);
		break;
	case OPT_CELL_STR:
		opt_json_string(f, c->s ? c->s : "");
		break;
	case OPT_CELL_LIST:
		fputc('[', f);
		if (c->s != NULL && *c->s != '\0' &&
		    (copy = strdup(c->s)) != NULL) {
			for (p = copy; (item = strsep(&p, ",")) != NULL;) {
				if (!first)
					fputc(',', f);
				opt_json_string(f, item);
				first = false;
			}
			free(copy);
		}
		fputc(']', f);
		break;
	default:
		fputs("null", f);
	}
}

static void
json_object(const struct opt_table *t, size_t row, FILE *f)
{
	size_t i;

	fputc('{', f);
	for (i = 0; i < t->ncols; i++) {
		if (i > 0)
			fputc(',', f);
		opt_json_string(f, t->cols[i].key);
		fputc(':', f);
		json_value(f, &t->cells[row * t->ncols + i]);
	}
	fputc('}', f);
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
	char buf[32];
	size_t r, i, *w, last = 0;

	if (t->failed)
		return -1;
	if (fmt == OPT_FMT_JSON) {
		fputc('[', f);
		for (r = 0; r < t->nrows; r++) {
			fputs(r ? ",\n " : "", f);
			json_object(t, r, f);
		}
		fputs("]\n", f);
		return done(t, f);
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
	char buf[32];
	size_t i, w = 0;

	if (t->failed || row >= t->nrows)
		return -1;
	if (fmt == OPT_FMT_JSON) {
		json_object(t, row, f);
		fputc('\n', f);
		return done(t, f);
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
