/*
 * Output of listing commands, one table three ways: aligned columns for
 * people (bold header on a colour terminal), tab-separated lines without
 * header for cut and awk (-H), and JSON (--json).  Columns flagged
 * OPT_COL_JSON appear only in JSON.  Every --json goes through the
 * one JSON writer below.
 */
#ifndef OPT_OUTPUT_H
#define OPT_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum opt_format {
	OPT_FMT_TABLE,
	OPT_FMT_TSV,
	OPT_FMT_JSON,
};

#define OPT_COL_RIGHT 0x1 /* numbers: right-aligned in a table */
#define OPT_COL_JSON 0x2 /* only in JSON */

struct opt_column {
	const char *key; /* JSON key */
	const char *head;
	unsigned flags;
};

enum opt_cell_type {
	OPT_CELL_NONE,
	OPT_CELL_STR,
	OPT_CELL_INT,
	OPT_CELL_BOOL,
	OPT_CELL_LIST, /* comma-separated in text, an array in JSON */
};

struct opt_cell {
	enum opt_cell_type type;
	char *s;
	long long n;
};

struct opt_table {
	const struct opt_column *cols;
	size_t ncols;
	size_t nrows;
	size_t cap;
	struct opt_cell *cells;
	bool failed;
};

void opt_table_init(struct opt_table *, const struct opt_column *, size_t);
void opt_table_free(struct opt_table *);
int opt_table_row(struct opt_table *);
void opt_table_str(struct opt_table *, const char *, const char *);
void opt_table_int(struct opt_table *, const char *, long long);
void opt_table_bool(struct opt_table *, const char *, bool);
void opt_table_list(struct opt_table *, const char *, const char *);
int opt_table_print(const struct opt_table *, FILE *, enum opt_format, bool);
int opt_table_print_record(const struct opt_table *, size_t, FILE *,
    enum opt_format);

/*
 * A JSON writer: values in order, each with its key inside an object
 * (NULL in an array); it writes the commas, escapes strings (control
 * characters as \uXXXX, a byte that is not UTF-8 as U+FFFD) and ends
 * the top-level value with a newline.  The elements of a top-level
 * array go one a line.
 */
#define OPT_JSON_DEPTH 8

struct opt_json {
	FILE *f;
	unsigned depth;
	char close[OPT_JSON_DEPTH];
	bool more[OPT_JSON_DEPTH];
	bool failed;
};

void opt_json_init(struct opt_json *, FILE *);
void opt_json_open(struct opt_json *, const char *, char);
void opt_json_close(struct opt_json *);
void opt_json_str(struct opt_json *, const char *, const char *);
void opt_json_int(struct opt_json *, const char *, long long);
void opt_json_uint(struct opt_json *, const char *, unsigned long long);
void opt_json_bool(struct opt_json *, const char *, bool);
void opt_json_null(struct opt_json *, const char *);

#endif
