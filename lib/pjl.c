#include <string.h>

#include "pjl.h"

/*
 * The groups of the PJL Technical Reference Manual's status codes, by
 * their first two digits: what a printer in that condition does.  A
 * printer that says ONLINE=FALSE is offline whatever its code.
 */
static const struct {
	int group;
	enum opt_pjl_state state;
} groups[] = {
    {10, OPT_PJL_READY}, /* informational: ready, busy, warming up */
    {11, OPT_PJL_WARNING}, /* background paper mount: another tray feeds */
    {12, OPT_PJL_WARNING}, /* background tray status: tray open */
    {15, OPT_PJL_OFFLINE}, /* output bin full: the printer stops */
    {20, OPT_PJL_WARNING}, /* PJL parser errors */
    {25, OPT_PJL_WARNING}, /* PJL parser warnings */
    {27, OPT_PJL_WARNING}, /* PJL semantic errors */
    {30, OPT_PJL_WARNING}, /* auto-continuable conditions */
    {32, OPT_PJL_WARNING}, /* PJL file system errors */
    {35, OPT_PJL_WARNING}, /* possible operator intervention */
    {40, OPT_PJL_OFFLINE}, /* operator intervention required */
    {41, OPT_PJL_OFFLINE}, /* foreground paper mount: paper out */
    {42, OPT_PJL_OFFLINE}, /* paper jam */
    {43, OPT_PJL_OFFLINE}, /* optional paper handling device */
    {44, OPT_PJL_OFFLINE}, /* paper jam (LaserJet 4000/5000) */
    {50, OPT_PJL_OFFLINE}, /* hardware errors */
    {55, OPT_PJL_WARNING}, /* personality errors */
};

static const char *const state_names[] = {
    [OPT_PJL_READY] = "ready",
    [OPT_PJL_WARNING] = "warning",
    [OPT_PJL_OFFLINE] = "offline",
};

const char *
opt_pjl_state_name(enum opt_pjl_state s)
{
	return state_names[s];
}

enum opt_pjl_state
opt_pjl_state(const struct opt_pjl_status *st)
{
	size_t i;

	if (st->online == 0 || st->code == 10002) /* 10002: offline */
		return OPT_PJL_OFFLINE;
	if (st->code == 10006) /* toner low */
		return OPT_PJL_WARNING;
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (groups[i].group == st->code / 1000)
			return groups[i].state;
	return OPT_PJL_WARNING; /* a code of no known group */
}

static bool
key_is(const char *line, size_t len, const char *key, const char **value,
    size_t *vlen)
{
	size_t k = strlen(key);

	while (len > 0 && (*line == ' ' || *line == '\t'))
		line++, len--;
	if (len < k || strncmp(line, key, k) != 0)
		return false;
	line += k, len -= k;
	while (len > 0 && (*line == ' ' || *line == '\t'))
		line++, len--;
	if (len == 0 || *line != '=')
		return false;
	line++, len--;
	while (len > 0 && (*line == ' ' || *line == '\t'))
		line++, len--;
	*value = line;
	*vlen = len;
	return true;
}

/* DISPLAY="...": printable ASCII only, at most OPT_PJL_DISPLAY_MAX. */
static void
display(const char *v, size_t len, char *out)
{
	size_t i, n = 0;

	if (len > 0 && *v == '"') {
		const char *end = memchr(v + 1, '"', len - 1);

		len = end != NULL ? (size_t)(end - v - 1) : len - 1;
		v++;
	}
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	for (i = 0; i < len && n < OPT_PJL_DISPLAY_MAX; i++) {
		unsigned char c = (unsigned char)v[i];

		out[n++] = c < 0x20 || c == 0x7f ? ' '
		    : c > 0x7f                   ? '?'
		                                 : (char)c;
	}
	out[n] = '\0';
}

static void
parse_line(const char *line, size_t len, struct opt_pjl_status *st)
{
	const char *v;
	size_t vlen, i;
	int code = 0;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (key_is(line, len, "CODE", &v, &vlen)) {
		for (i = 0; i < vlen && i < 5; i++) {
			if (v[i] < '0' || v[i] > '9')
				break;
			code = code * 10 + (v[i] - '0');
		}
		if (i == 5 && (i == vlen || v[i] == ' ' || v[i] == '\t'))
			st->code = code;
	} else if (key_is(line, len, "DISPLAY", &v, &vlen)) {
		display(v, vlen, st->display);
	} else if (key_is(line, len, "ONLINE", &v, &vlen)) {
		if (vlen >= 4 && strncmp(v, "TRUE", 4) == 0)
			st->online = 1;
		else if (vlen >= 5 && strncmp(v, "FALSE", 5) == 0)
			st->online = 0;
	}
}

/*
 * The answer read so far, buf[0..len), from its start: CRLF or LF
 * lines after "@PJL INFO STATUS", ended by a form feed, or by the
 * first line that is no key of the answer once ONLINE was said.  Only
 * whole lines count; parsing again with more of the answer gives the
 * answer's whole state.  True once the answer has ended.
 */
bool
opt_pjl_parse(const char *buf, size_t len, struct opt_pjl_status *st)
{
	static const char head[] = "@PJL INFO STATUS";
	const char *p = buf, *end = buf + len, *nl;
	bool in = false;

	memset(st, 0, sizeof(*st));
	st->online = -1;
	for (; p < end; p = nl + 1) {
		if (in && *p == '\f') {
			st->complete = true;
			break;
		}
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		if (!in) {
			const char *h = p;

			/* the UEL or stray bytes may come before it */
			while (h < nl && *h != '@')
				h++;
			in = (size_t)(nl - h) >= sizeof(head) - 1 &&
			    strncmp(h, head, sizeof(head) - 1) == 0;
			continue;
		}
		parse_line(p, (size_t)(nl - p), st);
	}
	if (in && st->code != 0 && st->online != -1 && p >= end)
		st->complete = true; /* the three said; no form feed */
	return st->complete;
}
