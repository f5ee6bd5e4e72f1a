/*
 * Builds spools for the tests through lib/spool.h, as a tunnel would:
 *   spool-put put DIR SITE CHANNEL [PEER] < DATA   stores a job, prints its id
 *   spool-put hold DIR SITE JOB    claims it, prints "held", keeps it
 *                                  until its standard input ends
 *   spool-put fail DIR SITE JOB WHY   claims it and moves it to failed/
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

static int
die(const struct opt_error *e)
{
	fprintf(stderr, "spool-put: %s\n", e->text);
	return e->status ? e->status : 1;
}

int
main(int argc, char **argv)
{
	struct passwd *pw = getpwuid(geteuid());
	struct opt_spool_intake in;
	struct opt_spool_claim c;
	struct opt_spool_job j;
	struct opt_owner o;
	struct opt_spool s;
	struct opt_error e;
	unsigned long long id;
	char buf[65536];
	ssize_t n;

	if (argc < 5 || pw == NULL) {
		fprintf(stderr,
		    "usage: spool-put put|hold|fail DIR SITE ...\n");
		return 64;
	}
	if (opt_owner_of(pw->pw_name, &o, &e) == -1 ||
	    opt_spool_open(&s, argv[2], argv[3], &o, OPT_SPOOL_WRITER, 0, &e) ==
	        -1)
		return die(&e);
	if (strcmp(argv[1], "put") == 0) {
		if (opt_spool_intake_begin(&s, atoi(argv[4]),
		        argc > 5 ? argv[5] : "127.0.0.1", &in, &e) == -1)
			return die(&e);
		while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
			if (opt_spool_intake_write(&in, buf, (size_t)n, &e) ==
			    -1) {
				opt_spool_intake_abort(&in);
				return die(&e);
			}
		if (opt_spool_intake_commit(&in, &j, &e) == -1)
			return die(&e);
		printf("%010llu\n", j.id);
		return 0;
	}
	if (opt_spool_parse_id(argv[4], &id, &e) == -1 ||
	    opt_spool_find(&s, id, &j, &e) == -1 ||
	    opt_spool_claim(&s, &j, &c, &e) == -1)
		return die(&e);
	if (strcmp(argv[1], "fail") == 0)
		return opt_spool_fail(&s, &c, argc > 5 ? argv[5] : "failed",
		           &e) == -1
		    ? die(&e)
		    : 0;
	printf("held\n");
	fflush(stdout);
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
	opt_spool_release(&c);
	return 0;
}
