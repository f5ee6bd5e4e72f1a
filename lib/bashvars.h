/*
 * The variables a bash file sets, read without running it: plain
 * assignments, `declare`, `typeset`, `export` and `readonly` with any
 * flags, with or without a value, several names a line, and whatever
 * `declare -p` prints in any bash and locale: double, single and $'...'
 * quotes, arrays, and the '(...)' string form of arrays of bash 4.3 and
 * before.  Comments may be anywhere a word may start.  $NAME and ${NAME}
 * of a variable set earlier in the same file are expanded; everything
 * else ($(...), backquotes, other $NAMEs) is text, and any line that is
 * not an assignment is refused with its line number.
 *
 * Errors are "FILE:LINE: why" with EX_DATAERR, or "out of memory" with
 * EX_OSERR.
 */
#ifndef OPT_BASHVARS_H
#define OPT_BASHVARS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define OPT_BASHVARS_MAX 64 /* variables in a file */
#define OPT_BASHVAR_NAME_MAX 63
#define OPT_BASHVAR_ITEMS_MAX 512

/* An item of an array, with the line it starts on. */
struct opt_bashvar_item {
	char *text;
	int line;
};

/*
 * One variable.  line is that of its last assignment, or of its
 * declaration while it has none.  An array has items and no value.
 */
struct opt_bashvar {
	char name[OPT_BASHVAR_NAME_MAX + 1];
	int line;
	bool array;
	bool set; /* `declare -i X` declares X without a value */
	bool integer;
	char *value;
	struct opt_bashvar_item *items;
	size_t nitems;
};

/* The variables of a file, in the order it first names them. */
struct opt_bashvars {
	struct opt_bashvar *v;
	size_t n;
};

/* FILE's text into vars; on -1 vars holds nothing to free. */
int opt_bashvars_read(const char *, const char *, struct opt_bashvars *,
    struct opt_error *);
void opt_bashvars_free(struct opt_bashvars *);

#endif
