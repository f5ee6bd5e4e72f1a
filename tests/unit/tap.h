/* A small TAP producer for the unit tests of lib/. */
#ifndef OPT_TAP_H
#define OPT_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static int
tap_ok(int pass, const char *name, const char *file, int line)
{
	tap_n++;
	printf("%sok %d - %s\n", pass ? "" : "not ", tap_n, name);
	if (!pass) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	return pass;
}

#define ok(cond, name) tap_ok((cond) != 0, (name), __FILE__, __LINE__)
#define is_int(got, want, name)                                                \
	do {                                                                   \
		long long g_ = (got), w_ = (want);                             \
		if (!ok(g_ == w_, (name)))                                     \
			printf("#   got %lld, want %lld\n", g_, w_);           \
	} while (0)
#define is_str(got, want, name)                                                \
	do {                                                                   \
		const char *g_ = (got), *w_ = (want);                          \
		if (!ok(g_ != NULL && strcmp(g_, w_) == 0, (name)))            \
			printf("#   got '%s'\n#  want '%s'\n",                 \
			    g_ ? g_ : "(null)", w_);                           \
	} while (0)

static int
done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed != 0;
}

#endif
