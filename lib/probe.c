#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "probe.h"

/* A probe reads a PJL answer at most: the smallest window libssh2
 * keeps is as large. */
#define PROBE_WINDOW OPT_PJL_ANSWER_MAX

void
opt_prober_init(struct opt_prober *p, struct opt_listener *const *listeners)
{
	memset(p, 0, sizeof(*p));
	opt_session_init(&p->s);
	p->s.probe = true;
	p->listeners = listeners;
}

static struct opt_listener *
listener_of(struct opt_prober *p, int id)
{
	struct opt_listener *l;

	for (l = *p->listeners; l != NULL && l->conf.id != id; l = l->next)
		;
	return l;
}

/* A channel's probe state: since when it holds. */
static void
set_state(struct opt_listener *l, const char *state)
{
	time_t now = time(NULL);

	if (strcmp(l->probe, state) != 0)
		l->probe_since = now;
	strlcpy(l->probe, state, sizeof(l->probe));
	l->probe_at = now;
}

/* A probe's end, state (state.h) or why it failed: logged, and kept by
 * its channel (if still there), with the printer's PJL answer. */
static void
result(struct opt_prober *p, int id, const char *state, const char *why,
    const struct opt_pjl_status *pjl)
{
	struct opt_listener *l;
	char q[OPT_WHY_MAX + 8];
	long long ms = opt_clock_ms() - p->started;

	if (why != NULL)
		opt_log(p->s.log, OPT_LOG_WARN, "probe-failed",
		    "channel=%d ms=%lld error=%s", id, ms,
		    opt_log_quote(q, sizeof(q), why));
	else if (pjl != NULL && pjl->code != 0)
		opt_log(p->s.log, OPT_LOG_INFO, "probe-ok",
		    "channel=%d ms=%lld state=%s code=%d display=%s", id, ms,
		    state, pjl->code,
		    opt_log_quote(q, sizeof(q), pjl->display));
	else
		opt_log(p->s.log, OPT_LOG_INFO, "probe-ok",
		    "channel=%d ms=%lld state=%s", id, ms, state);
	if ((l = listener_of(p, id)) == NULL)
		return; /* removed meanwhile */
	set_state(l, why != NULL ? "failed" : state);
	l->pjl_code = pjl != NULL ? pjl->code : 0;
	strlcpy(l->pjl_display, pjl != NULL ? pjl->display : "",
	    sizeof(l->pjl_display));
	if (why == NULL)
		l->last_error[0] = '\0';
	else
		opt_state_text(l->last_error, sizeof(l->last_error), why);
}

bool
opt_prober_running(const struct opt_prober *p)
{
	return p->phase != OPT_PR_IDLE;
}

static int
add(struct opt_prober *p, const struct opt_listener *l)
{
	struct opt_probe_target *t;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;

		if ((t = reallocarray(p->targets, cap, sizeof(*t))) == NULL)
			return -1;
		p->targets = t;
		p->cap = cap;
	}
	t = &p->targets[p->n++];
	t->channel_id = l->conf.id;
	strlcpy(t->printer, l->conf.printer, sizeof(t->printer));
	t->printer_port = l->conf.printer_port;
	t->kind = l->conf.probe;
	return 0;
}

static void
finish(struct opt_prober *p)
{
	opt_session_end(&p->s);
	p->ch = NULL;
	p->n = p->i = 0;
	p->phase = OPT_PR_IDLE;
}

/* Every probe left fails with why. */
static void
fail_rest(struct opt_prober *p, const char *why)
{
	for (; p->i < p->n; p->i++)
		result(p, p->targets[p->i].channel_id, NULL, why, NULL);
}

static void
connect_session(struct opt_prober *p, long long now)
{
	char why[OPT_WHY_MAX + 40];

	p->phase = OPT_PR_CONNECTING;
	if (opt_session_begin(&p->s, now) == OPT_SS_FAILED) {
		snprintf(why, sizeof(why), "cannot open a probe session: %s",
		    p->s.why);
		fail_rest(p, why);
		finish(p);
	}
}

/* A job began on the target's channel since the round started: it is
 * not asked (for tcp, the job proves the printer reachable). */
static bool
busy(struct opt_prober *p, const struct opt_probe_target *t)
{
	struct opt_listener *l = listener_of(p, t->channel_id);

	if (l == NULL || l->active == 0)
		return false;
	if (t->kind == OPT_PROBE_TCP)
		set_state(l, "ok");
	return true;
}

static void
next_target(struct opt_prober *p, long long now)
{
	p->ch = NULL;
	while (p->i < p->n && busy(p, &p->targets[p->i]))
		p->i++;
	if (p->i >= p->n) {
		finish(p);
		return;
	}
	p->phase = OPT_PR_OPENING;
	p->deadline = now + OPT_PROBE_OPEN_MS;
}

/* The session is of no more use: the rest of the round on a new one. */
static void
reconnect(struct opt_prober *p, long long now)
{
	opt_session_end(&p->s);
	p->ch = NULL;
	if (p->i >= p->n)
		finish(p);
	else
		connect_session(p, now);
}

static void
open_step(struct opt_prober *p, long long now)
{
	const struct opt_probe_target *t = &p->targets[p->i];
	char why[OPT_WHY_MAX + 200];
	int r;

	p->ch = opt_session_open_direct(&p->s, t->printer, t->printer_port,
	    PROBE_WINDOW);
	if (p->ch != NULL && t->kind == OPT_PROBE_PJL) {
		p->phase = OPT_PR_ASKING;
		p->deadline = now + OPT_PROBE_PJL_MS;
		p->alen = p->asked = 0;
		return;
	}
	if (p->ch != NULL) {
		result(p, t->channel_id, "ok", NULL, NULL);
		p->phase = OPT_PR_CLOSING;
		p->deadline = now + OPT_PROBE_OPEN_MS;
		return;
	}
	r = libssh2_session_last_errno(p->s.ssh);
	if (r == LIBSSH2_ERROR_EAGAIN) {
		if (now < p->deadline)
			return;
		snprintf(why, sizeof(why), "no answer from the printer in %d s",
		    OPT_PROBE_OPEN_MS / 1000);
		result(p, t->channel_id, NULL, why, NULL);
		p->i++;
		reconnect(p, now); /* an open cannot be taken back */
		return;
	}
	if (opt_session_broken(&p->s, r)) {
		snprintf(why, sizeof(why), "probe session lost: %s", p->s.why);
		fail_rest(p, why);
		finish(p);
		return;
	}
	snprintf(why, sizeof(why),
	    "cannot reach printer %s:%d from the site: %s", t->printer,
	    t->printer_port, opt_session_error(&p->s));
	result(p, t->channel_id, NULL, why, NULL);
	p->i++;
	next_target(p, now);
}

/* The printer's port opened: what it said of its state, if anything
 * (no-pjl: a printer that speaks no PJL is not down). */
static void
pjl_end(struct opt_prober *p, long long now)
{
	struct opt_pjl_status st;

	opt_pjl_parse(p->answer, p->alen, &st);
	result(p, p->targets[p->i].channel_id,
	    st.code != 0 ? opt_pjl_state_name(opt_pjl_state(&st)) : "no-pjl",
	    NULL, &st);
	p->phase = OPT_PR_CLOSING;
	p->deadline = now + OPT_PROBE_OPEN_MS;
}

static bool
pjl_lost(struct opt_prober *p, int r)
{
	char why[OPT_WHY_MAX + 40];

	if (!opt_session_broken(&p->s, r))
		return false;
	snprintf(why, sizeof(why), "probe session lost: %s", p->s.why);
	fail_rest(p, why);
	finish(p);
	return true;
}

static void
ask_step(struct opt_prober *p, long long now)
{
	static const char req[] = OPT_PJL_REQUEST;
	ssize_t w;

	if (p->asked == 0 && busy(p, &p->targets[p->i])) {
		p->phase = OPT_PR_CLOSING; /* a job came while it opened */
		p->deadline = now + OPT_PROBE_OPEN_MS;
		return;
	}
	while (p->asked < sizeof(req) - 1) {
		w = libssh2_channel_write(p->ch, req + p->asked,
		    sizeof(req) - 1 - p->asked);
		if (w == LIBSSH2_ERROR_EAGAIN) {
			if (now >= p->deadline)
				pjl_end(p, now);
			return;
		}
		if (w < 0) {
			if (!pjl_lost(p, (int)w))
				pjl_end(p, now); /* the printer hung up */
			return;
		}
		p->asked += (size_t)w;
	}
	p->phase = OPT_PR_READING;
}

/* Until the answer ended, filled its bound, or its time is up. */
static void
read_step(struct opt_prober *p, long long now)
{
	struct opt_pjl_status st;
	ssize_t n;

	while (p->alen < sizeof(p->answer)) {
		n = libssh2_channel_read(p->ch, p->answer + p->alen,
		    sizeof(p->answer) - p->alen);
		if (n == LIBSSH2_ERROR_EAGAIN && now < p->deadline)
			return;
		if (n == LIBSSH2_ERROR_EAGAIN)
			break;
		if (n < 0 && pjl_lost(p, (int)n))
			return;
		if (n <= 0)
			break; /* the printer closed */
		p->alen += (size_t)n;
		if (opt_pjl_parse(p->answer, p->alen, &st))
			break;
	}
	pjl_end(p, now);
}

static void
close_step(struct opt_prober *p, long long now)
{
	int r = libssh2_channel_free(p->ch);

	if (r == LIBSSH2_ERROR_EAGAIN) {
		if (now >= p->deadline) {
			p->i++;
			reconnect(p, now);
		}
		return;
	}
	p->i++;
	if (r != 0 && opt_session_broken(&p->s, r)) {
		reconnect(p, now);
		return;
	}
	next_target(p, now);
}

/*
 * A round: each idle channel's printer; a channel with a job running is
 * reachable by definition.  Nothing happens while a round runs (a
 * request then joins it).  True when the round ended at once.
 */
bool
opt_prober_round(struct opt_prober *p, long long now)
{
	struct opt_listener *l;

	if (opt_prober_running(p))
		return false;
	p->n = p->i = 0;
	p->started = now;
	for (l = *p->listeners; l != NULL; l = l->next) {
		if (l->conf.probe == OPT_PROBE_OFF)
			set_state(l, "off");
		else if (l->active > 0 && l->conf.probe == OPT_PROBE_TCP)
			set_state(l, "ok");
		else if (l->active > 0)
			continue; /* pjl: its state stays what it was */
		else if (add(p, l) == -1)
			result(p, l->conf.id, NULL, "out of memory", NULL);
	}
	if (p->n == 0) {
		finish(p);
		return true;
	}
	connect_session(p, now);
	return !opt_prober_running(p);
}

/* Ends a round before its time: what is left fails with why.  True
 * when a round was running. */
bool
opt_prober_abort(struct opt_prober *p, const char *why)
{
	if (!opt_prober_running(p))
		return false;
	fail_rest(p, why);
	finish(p);
	return true;
}

/* The steps that can be taken now: each either waits or moves on to
 * the next phase or target, so this ends. */
static void
run_steps(struct opt_prober *p, long long now)
{
	enum opt_probe_phase was;
	size_t i;

	do {
		was = p->phase;
		i = p->i;
		switch (p->phase) {
		case OPT_PR_OPENING:
			open_step(p, now);
			break;
		case OPT_PR_ASKING:
			ask_step(p, now);
			break;
		case OPT_PR_READING:
			read_step(p, now);
			break;
		case OPT_PR_CLOSING:
			close_step(p, now);
			break;
		default:
			return;
		}
	} while (p->phase != was || p->i != i);
}

/* One step of the round; true when the round has just ended. */
bool
opt_prober_step(struct opt_prober *p, short revents, long long now)
{
	char why[OPT_WHY_MAX + 40];

	switch (p->phase) {
	case OPT_PR_IDLE:
		return false;
	case OPT_PR_CONNECTING:
		switch (opt_session_step(&p->s, revents, now)) {
		case OPT_SS_FAILED:
			snprintf(why, sizeof(why),
			    "cannot open a probe session: %s", p->s.why);
			fail_rest(p, why);
			finish(p);
			return true;
		case OPT_SS_UP:
			next_target(p, now);
			break;
		default:
			return false;
		}
		break;
	default:
		/* libssh2 reads the socket inside the channel calls. */
		break;
	}
	run_steps(p, now);
	if (p->phase != OPT_PR_IDLE && p->s.sock != -1 &&
	    opt_session_flush(&p->s, now) == -1) {
		snprintf(why, sizeof(why), "probe session lost: %s", p->s.why);
		fail_rest(p, why);
		finish(p);
	}
	return p->phase == OPT_PR_IDLE;
}

void
opt_prober_pollfd(const struct opt_prober *p, struct pollfd *pfd, long long now)
{
	pfd->fd = -1;
	pfd->events = 0;
	if (p->phase != OPT_PR_IDLE)
		opt_session_pollfd(&p->s, pfd, true, now);
}

/* Milliseconds until a deadline of the round; -1 when idle. */
long long
opt_prober_wake(const struct opt_prober *p, long long now)
{
	long long d;

	if (p->phase == OPT_PR_IDLE)
		return -1;
	d = p->phase == OPT_PR_CONNECTING ? p->s.deadline : p->deadline;
	return d > now ? d - now : 0;
}

void
opt_prober_free(struct opt_prober *p)
{
	opt_session_free(&p->s);
	free(p->targets);
	p->targets = NULL;
	p->cap = 0;
}
