/*
 * argv-exec: runs a program with an argument vector a shell cannot make,
 * for the tests of hostile command lines.
 *
 * usage: argv-exec [-0 ARGV0] PROG [ARG...]
 *        argv-exec -n PROG
 *   -0 ARGV0  PROG gets ARGV0 as its argv[0] (any bytes, may be empty)
 *   -n        PROG gets an empty argument vector (argc == 0); since
 *             Linux 5.18 the kernel turns that into argv[0] == "" with
 *             argc == 1, which the tools must survive as well
 * Without either, argv[0] is PROG.  PROG is taken as a path (no PATH
 * search).  execve() takes C strings, so no argument can hold a NUL.
 * Exit: PROG's, or 126 with a message when execve() fails (an argument
 * over MAX_ARG_STRLEN gives E2BIG), 64 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int
main(int argc, char **argv)
{
	const char *argv0 = NULL;
	char **v;
	int i = 1, n, empty = 0;

	if (i < argc && strcmp(argv[i], "-n") == 0) {
		empty = 1;
		i++;
	} else if (i + 1 < argc && strcmp(argv[i], "-0") == 0) {
		argv0 = argv[i + 1];
		i += 2;
	}
	if (i >= argc || (empty && i + 1 != argc)) {
		fprintf(stderr,
		    "usage: argv-exec [-0 ARGV0] PROG [ARG...]\n"
		    "       argv-exec -n PROG\n");
		return 64;
	}
	if ((v = calloc((size_t)(argc - i + 1), sizeof(*v))) == NULL) {
		perror("argv-exec");
		return 126;
	}
	n = 0;
	if (!empty) {
		v[n++] = (char *)(argv0 != NULL ? argv0 : argv[i]);
		for (int j = i + 1; j < argc; j++)
			v[n++] = argv[j];
	}
	execve(argv[i], v, environ);
	fprintf(stderr, "argv-exec: %s: %s\n", argv[i], strerror(errno));
	free(v);
	return 126;
}
