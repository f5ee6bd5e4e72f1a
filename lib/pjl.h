/*
 * A printer's own state, by PJL: the request a probe sends through the
 * channel, and the parser of the printer's answer.  The answer is
 * hostile text: it is bounded by the caller, and the parser keeps only
 * a number, a flag and a display string made printable.
 */
#ifndef OPT_PJL_H
#define OPT_PJL_H

#include <stdbool.h>
#include <stddef.h>

/* UEL, the request, UEL: the printer's PJL parser gets it whatever
 * language it was in. */
#define OPT_PJL_REQUEST "\x1b%-12345X@PJL INFO STATUS\r\n\x1b%-12345X"
#define OPT_PJL_ANSWER_MAX 4096 /* bytes of an answer read at most */
#define OPT_PJL_DISPLAY_MAX 64

enum opt_pjl_state {
	OPT_PJL_READY, /* 10xxx: ready, idle, busy, warming up */
	OPT_PJL_WARNING, /* prints, but wants attention (toner low...) */
	OPT_PJL_OFFLINE, /* does not print (paper out, jam, door open...) */
};

struct opt_pjl_status {
	int code; /* 0: none seen */
	int online; /* 1 TRUE, 0 FALSE, -1 not said */
	char display[OPT_PJL_DISPLAY_MAX + 1];
	bool complete; /* the answer has ended */
};

bool opt_pjl_parse(const char *, size_t, struct opt_pjl_status *);
enum opt_pjl_state opt_pjl_state(const struct opt_pjl_status *);
const char *opt_pjl_state_name(enum opt_pjl_state);

#endif
