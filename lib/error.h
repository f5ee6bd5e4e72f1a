/*
 * Errors of the library: a sysexits status and a one-line message.
 * The library fills a struct opt_error and returns -1; only a main()
 * decides what to print and how to exit.
 */
#ifndef OPT_ERROR_H
#define OPT_ERROR_H

#include <stddef.h>

#define OPT_ERROR_MAX 512

struct opt_error {
	int status; /* sysexits.h code */
	char text[OPT_ERROR_MAX];
};

int opt_error_set(struct opt_error *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));
int opt_error_errno(struct opt_error *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));
void opt_error_prefix(struct opt_error *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Quote untrusted text for a message: printable, one line, bounded. */
#define OPT_QUOTE_MAX 100
#define OPT_QUOTE_BUF (OPT_QUOTE_MAX + 8)
const char *opt_quote(char *, size_t, const char *);
const char *opt_quote_path(char *, size_t, const char *);

#endif
