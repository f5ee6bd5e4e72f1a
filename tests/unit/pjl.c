/* The PJL answer parser and its states: what a printer's INFO STATUS
 * answer, whole, split or hostile, is taken for. */
#include <string.h>

#include "pjl.h"
#include "tap.h"

#define ANSWER(code, display, online)                                          \
	"\x1b%-12345X@PJL INFO STATUS\r\nCODE=" code "\r\nDISPLAY=\"" display  \
	"\"\r\nONLINE=" online "\r\n\f"

static void
whole(void)
{
	struct opt_pjl_status st;
	const char *a = ANSWER("10001", "Ready", "TRUE");

	ok(opt_pjl_parse(a, strlen(a), &st), "a whole answer is complete");
	is_int(st.code, 10001, "CODE=10001");
	is_str(st.display, "Ready", "DISPLAY=\"Ready\"");
	is_int(st.online, 1, "ONLINE=TRUE");
	is_str(opt_pjl_state_name(opt_pjl_state(&st)), "ready", "10001 ready");
}

/* Every split of the answer: incomplete until its last byte came. */
static void
split(void)
{
	const char *a = "@PJL INFO STATUS\nCODE=41200\nDISPLAY=\"LOAD "
	                "PAPER\"\nONLINE=FALSE\n\f";
	struct opt_pjl_status st;
	size_t n, len = strlen(a), early = 0;

	for (n = 0; n < len; n++)
		if (opt_pjl_parse(a, n, &st) && n < len - 1)
			early++;
	is_int(early, 0, "a part before the three lines is never complete");
	ok(opt_pjl_parse(a, len, &st) && st.code == 41200 &&
	        strcmp(st.display, "LOAD PAPER") == 0 && st.online == 0,
	    "LF lines: the whole answer");
	is_str(opt_pjl_state_name(opt_pjl_state(&st)), "offline",
	    "41200 with ONLINE=FALSE: offline");
	ok(opt_pjl_parse(a, len - 1, &st) && st.code == 41200,
	    "without its form feed, the three said are complete");
}

static void
states(void)
{
	static const struct {
		int code, online;
		const char *want;
	} v[] = {
	    {10001, 1, "ready"},
	    {10003, 1, "ready"}, /* warming up */
	    {10023, 1, "ready"}, /* printing */
	    {10002, -1, "offline"},
	    {10006, 1, "warning"}, /* toner low */
	    {11204, 1, "warning"},
	    {30016, 1, "warning"},
	    {35078, 1, "warning"},
	    {40021, 1, "offline"}, /* door open, even if it says online */
	    {41200, 1, "offline"},
	    {42000, 1, "offline"},
	    {44000, 1, "offline"},
	    {50000, 1, "offline"},
	    {99999, 1, "warning"},
	    {10001, 0, "offline"},
	    {35078, 0, "offline"},
	};
	struct opt_pjl_status st;
	char name[64];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		memset(&st, 0, sizeof(st));
		st.code = v[i].code;
		st.online = v[i].online;
		snprintf(name, sizeof(name), "%d online=%d: %s", v[i].code,
		    v[i].online, v[i].want);
		is_str(opt_pjl_state_name(opt_pjl_state(&st)), v[i].want, name);
	}
}

static void
hostile(void)
{
	char big[OPT_PJL_ANSWER_MAX];
	struct opt_pjl_status st;
	const char *a;
	size_t i;

	a = "@PJL INFO STATUS\r\nCODE=10001\r\nDISPLAY=\"\x1b[31mRED\x07\xc3\xa9"
	    "\"\r\nONLINE=TRUE\r\n";
	opt_pjl_parse(a, strlen(a), &st);
	is_str(st.display, " [31mRED ??",
	    "control bytes become spaces, others '?'");
	memset(big, 'A', sizeof(big));
	memcpy(big, "@PJL INFO STATUS\nCODE=10001\nDISPLAY=\"", 38);
	ok(!opt_pjl_parse(big, sizeof(big), &st), "no terminator: incomplete");
	is_int(st.code, 10001, "...but its CODE is kept");
	is_int(strlen(st.display), 0, "...and no unfinished DISPLAY");
	big[sizeof(big) - 2] = '"';
	big[sizeof(big) - 1] = '\n';
	opt_pjl_parse(big, sizeof(big), &st);
	is_int(strlen(st.display), OPT_PJL_DISPLAY_MAX,
	    "an overlong DISPLAY is cut");
	a = "garbage\r\nCODE=40021\r\nONLINE=FALSE\r\n\f";
	ok(!opt_pjl_parse(a, strlen(a), &st) && st.code == 0,
	    "no @PJL INFO STATUS line: nothing is taken");
	a = "@PJL INFO STATUS\nCODE=4OO21\nCODE=123456\nONLINE=TRUE\n\f";
	opt_pjl_parse(a, strlen(a), &st);
	is_int(st.code, 0, "a CODE that is not five digits is not taken");
	for (i = 0; i < 3; i++) {
		const char *b[] = {"", "\f", "\x1b%-12345X"};
		ok(!opt_pjl_parse(b[i], strlen(b[i]), &st) && st.code == 0,
		    "no answer: nothing");
	}
}

int
main(void)
{
	whole();
	split();
	states();
	hostile();
	return done_testing();
}
