/*
 * The tunnel engine: one process, one site, one poll() loop.  Signals
 * arrive through a signalfd; the session socket, the probe session's,
 * the listen sockets and every job's client socket are polled together,
 * and nothing in the loop blocks.  The parts: session.c (the SSH
 * connection), forward.c (jobs), probe.c (printer probes), listen.c
 * (the channels' ports); this file runs them, reloads the site's files
 * on SIGHUP, drains on SIGTERM and writes the state file.
 *
 * Reads are session-wide: a read on one channel may queue another
 * channel's data inside libssh2, so the loop does not sleep while any
 * channel has data queued there (opt_forward_wake).
 *
 * Security rules: listen ports are bound before privileges are dropped;
 * a client outside `allow` is closed before anything is read from it;
 * a host key is accepted only as ssh.c says.
 */
#include <sys/signalfd.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "allow.h"
#include "channel.h"
#include "clock.h"
#include "conf.h"
#include "defaults.h"
#include "deliver.h"
#include "forward.h"
#include "generation.h"
#include "intake.h"
#include "listen.h"
#include "log.h"
#include "probe.h"
#include "session.h"
#include "site.h"
#include "ssh.h"
#include "state.h"
#include "throttle.h"
#include "tunnel.h"

#define DRAIN_MS 30000
#define STATE_EVERY_MS 1000
#define STATE_HEARTBEAT_MS (OPT_STATE_INTERVAL * 1000 - 250)
/* The first descriptors polled: signals, the session, the probes. */
#define PFD_SIG 0
#define PFD_SESSION 1
#define PFD_PROBE 2
#define PFD_FIXED 3

struct opt_tunnel {
	struct opt_tunnel_opts opts;
	struct opt_paths paths;
	char site_id[OPT_SITE_ID_MAX + 1];
	struct opt_defaults defaults;
	struct opt_site site;
	struct opt_allow allow;
	struct opt_throttle throttle;
	struct opt_shaper shaper;
	struct opt_log log;
	int log_fd;
	char state_path[PATH_MAX];
	char known_hosts[PATH_MAX];
	char pinned_fp[OPT_FP_MAX]; /* accept-new, known_hosts read-only */
	int sigfd;

	struct opt_listener *listeners;
	struct opt_session session;
	struct opt_forward fwd;
	struct opt_spool spool; /* dirfd -1: no spool channel yet */
	struct opt_intakes intakes;
	struct opt_deliver deliver;
	struct opt_prober prober;
	struct opt_backoff backoff;
	long long retry_at;
	unsigned reloads; /* listener pointers of a pass are stale after one */
	unsigned prev_active;

	bool draining;
	long long drain_deadline;
	bool probe_pending;

	struct opt_state st;
	long long state_written;
	bool state_failing; /* logged once, until a write succeeds */
	unsigned long long written_up, written_down;
	long long rate_at[5]; /* wire counters a second apart, for rates */
	unsigned long long rate_up[5], rate_down[5];
	unsigned rate_i;

	struct pollfd *pfd;
	struct opt_listener **polled; /* npolled, in pfd from PFD_FIXED */
	size_t npolled;
	size_t cap;
};

/* --- state ------------------------------------------------------------ */

/*
 * Wire rates over the last few seconds: a sample of the counters each
 * second (state writes come at least that often while anything moves).
 */
static void
measure_rates(struct opt_tunnel *t)
{
	long long now = opt_clock_ms();
	unsigned last = (t->rate_i + 4) % 5, old = t->rate_i;
	long long span;

	if (t->rate_at[last] == 0 || now - t->rate_at[last] >= 1000) {
		t->rate_at[t->rate_i] = now;
		t->rate_up[t->rate_i] = t->st.wire_up;
		t->rate_down[t->rate_i] = t->st.wire_down;
		t->rate_i = (t->rate_i + 1) % 5;
		old = t->rate_i;
	}
	if (t->rate_at[old] == 0)
		old = 0;
	span = now - t->rate_at[old];
	if (span < 500) {
		t->st.rate_up = t->st.rate_down = 0;
		return;
	}
	t->st.rate_up =
	    (t->st.wire_up - t->rate_up[old]) * 1000 / (unsigned long long)span;
	t->st.rate_down = (t->st.wire_down - t->rate_down[old]) * 1000 /
	    (unsigned long long)span;
}

static void
write_state(struct opt_tunnel *t)
{
	struct opt_state_channel *cs = NULL;
	struct opt_listener *l;
	struct opt_error e;
	char q[OPT_ERROR_MAX + 8];
	size_t n = opt_listeners_count(t->listeners), i = 0;

	if (n > 0 && (cs = calloc(n, sizeof(*cs))) == NULL)
		return;
	for (l = t->listeners; l != NULL; l = l->next, i++) {
		cs[i].id = l->conf.id;
		cs[i].listen = l->conf.listen;
		strlcpy(cs[i].printer, l->conf.printer, sizeof(cs[i].printer));
		cs[i].printer_port = l->conf.printer_port;
		strlcpy(cs[i].mode, opt_channel_mode_name(l->conf.mode),
		    sizeof(cs[i].mode));
		cs[i].active = l->active;
		cs[i].jobs = l->jobs;
		cs[i].bytes_up = l->bytes_up;
		cs[i].bytes_down = l->bytes_down;
		strlcpy(cs[i].probe, l->probe, sizeof(cs[i].probe));
		cs[i].probe_at = l->probe_at;
		strlcpy(cs[i].last_error, l->last_error,
		    sizeof(cs[i].last_error));
	}
	t->st.wire_up = t->session.wire_up;
	t->st.wire_down = t->session.wire_down;
	t->st.payload_up = t->fwd.payload_up;
	t->st.payload_down = t->fwd.payload_down;
	t->st.jobs = t->fwd.jobs_total;
	t->st.channels = cs;
	t->st.nchannels = n;
	t->st.updated = time(NULL);
	t->st.has_throttle = true;
	t->st.throttle_on = t->throttle.enabled;
	t->st.throttle_up = (unsigned long long)t->throttle.up;
	t->st.throttle_down = (unsigned long long)t->throttle.down;
	measure_rates(t);
	if (opt_state_write(t->opts.run_fd, t->state_path, &t->st, &e) == -1) {
		if (!t->state_failing)
			opt_log(&t->log, OPT_LOG_WARN, "state-write-failed",
			    "error=%s", opt_log_quote(q, sizeof(q), e.text));
		t->state_failing = true;
	} else if (t->state_failing) {
		opt_log(&t->log, OPT_LOG_INFO, "state-write-recovered",
		    "path=%s", opt_log_quote(q, sizeof(q), t->state_path));
		t->state_failing = false;
	}
	free(cs);
	t->st.channels = NULL;
	t->st.nchannels = 0;
	t->state_written = opt_clock_ms();
	t->written_up = t->st.wire_up;
	t->written_down = t->st.wire_down;
	t->fwd.dirty = false;
}

/* A transition: written at once, and shown in the process title. */
static void
set_state(struct opt_tunnel *t, enum opt_tstate s, const char *error)
{
	if (t->st.state != s)
		t->st.since = time(NULL);
	t->st.state = s;
	if (error != NULL)
		opt_state_text(t->st.last_error, sizeof(t->st.last_error),
		    error);
	if (t->opts.on_state != NULL)
		t->opts.on_state(t->opts.arg, t->site_id, opt_tstate_name(s),
		    opt_listeners_count(t->listeners));
	write_state(t);
}

/* Due once a second while anything moved, but not while a channel
 * open is in flight (it would sit between a job's connect and its
 * first byte); and in every phase, idle or not, within the interval
 * the file promises, so that a file that ages says the tunnel is stuck
 * or cannot write it. */
static void
maybe_write_state(struct opt_tunnel *t, long long now)
{
	long long age = now - t->state_written;

	if (age >= STATE_HEARTBEAT_MS ||
	    (age >= STATE_EVERY_MS && t->fwd.opening == NULL &&
	        (t->fwd.dirty || t->session.wire_up != t->written_up ||
	            t->session.wire_down != t->written_down || t->st.rate_up ||
	            t->st.rate_down)))
		write_state(t);
}

/* --- configuration ---------------------------------------------------- */

/* The generation of the site's files now, "" if it cannot be known. */
static void
generation(struct opt_tunnel *t, char *out)
{
	if (opt_generation_of(&t->paths, t->site_id, out, OPT_GENERATION_MAX,
	        NULL) == -1)
		out[0] = '\0';
}

static int
load_config(struct opt_tunnel *t, struct opt_site *site,
    struct opt_allow *allow, struct opt_channels *cs, struct opt_throttle *th,
    struct opt_error *e)
{
	if (opt_defaults_load(&t->paths, &t->defaults, e) == -1 ||
	    opt_site_load(&t->paths, &t->defaults, t->site_id, site, e) == -1 ||
	    opt_allow_parse(allow, site, e) == -1 ||
	    opt_channels_load(&t->paths, t->site_id, cs, e) == -1)
		return -1;
	if (opt_throttle_load(&t->paths, &t->defaults, t->site_id, th, e) ==
	    -1) {
		opt_channels_free(cs);
		return -1;
	}
	return 0;
}

/* A spool channel listens whenever the process runs, and has a spool;
 * a direct one while the session is up (on). */
static void
listen_one(struct opt_tunnel *t, struct opt_listener *l, bool on)
{
	if (l->conf.mode == OPT_MODE_SPOOL)
		on = t->spool.dirfd != -1;
	opt_listener_listen(l, on && !t->draining, &t->log);
}

static void
listen_all(struct opt_tunnel *t, bool on)
{
	struct opt_listener *l;

	for (l = t->listeners; l != NULL; l = l->next)
		listen_one(t, l, on);
}

/* The site's spool, once a channel needs it or it holds jobs. */
static int
open_spool(struct opt_tunnel *t, const struct opt_channels *cs,
    struct opt_error *e)
{
	struct opt_error ignored;
	char dir[PATH_MAX];
	bool need = false;
	size_t i;

	t->spool.max_bytes = (long long)t->site.spool_max_mb * 1024 * 1024;
	if (t->spool.dirfd != -1)
		return 0;
	for (i = 0; i < cs->n; i++)
		if (cs->v[i].mode == OPT_MODE_SPOOL)
			need = true;
	if (!need &&
	    (opt_paths_join(dir, sizeof(dir), &ignored, t->paths.spool,
	         t->site_id, (char *)NULL) == -1 ||
	        access(dir, F_OK) == -1))
		return 0;
	return opt_spool_open(&t->spool, t->paths.spool, t->site_id,
	    t->opts.owner, OPT_SPOOL_WRITER, t->spool.max_bytes, e);
}

static struct opt_listener *
find_listener(const struct opt_tunnel *t, int id)
{
	struct opt_listener *l;

	for (l = t->listeners; l != NULL && l->conf.id != id; l = l->next)
		;
	return l;
}

/* --- the session ------------------------------------------------------ */

static void probes_failed(struct opt_tunnel *, const char *);

/* A failed attempt or a lost session: every job on it ends, and the
 * next attempt comes as opt_backoff_next() says. */
static void
session_failed(struct opt_tunnel *t, const char *event, const char *why,
    bool mismatch)
{
	char q[OPT_WHY_MAX + 8];
	long long now = opt_clock_ms(), delay;

	if (t->session.phase == OPT_SP_UP &&
	    now - t->session.up_since >= OPT_BACKOFF_STABLE_MS)
		opt_backoff_reset(&t->backoff);
	listen_all(t, false);
	opt_forward_drop_all(&t->fwd, "session lost", "job-failed");
	probes_failed(t, "the site's session is down");
	opt_session_end(&t->session);
	delay = opt_backoff_next(&t->backoff, now, arc4random());
	t->retry_at = now + delay;
	t->st.reconnects++;
	opt_log(&t->log, mismatch ? OPT_LOG_ERROR : OPT_LOG_WARN, event,
	    "reason=%s", opt_log_quote(q, sizeof(q), why));
	opt_log(&t->log, OPT_LOG_INFO, "retry", "delay_ms=%lld attempt=%u",
	    delay, t->backoff.attempt);
	if (t->draining)
		return;
	set_state(t, mismatch ? OPT_TS_HOSTKEY_MISMATCH : OPT_TS_RETRYING, why);
}

static void
failed_step(struct opt_tunnel *t)
{
	char why[OPT_WHY_MAX];

	strlcpy(why, t->session.why, sizeof(why));
	session_failed(t, t->session.fail_event, why, t->session.mismatch);
}

static void
start_attempt(struct opt_tunnel *t, long long now)
{
	if (t->st.state != OPT_TS_RETRYING &&
	    t->st.state != OPT_TS_HOSTKEY_MISMATCH)
		set_state(t, OPT_TS_CONNECTING, NULL);
	if (opt_session_begin(&t->session, now) == OPT_SS_FAILED)
		failed_step(t);
}

static void
session_up(struct opt_tunnel *t)
{
	strlcpy(t->st.compression, t->session.compression,
	    sizeof(t->st.compression));
	if (!t->draining)
		listen_all(t, true);
	t->deliver.rescan = true;
	opt_log(&t->log, OPT_LOG_INFO, "up", "compression=%s channels=%u",
	    t->st.compression, opt_listeners_count(t->listeners));
	t->st.last_error[0] = '\0';
	set_state(t, OPT_TS_UP, NULL);
}

/* --- probes ----------------------------------------------------------- */

static void
round_done(struct opt_tunnel *t)
{
	t->st.probes++;
	opt_log(&t->log, OPT_LOG_INFO, "probed", "channels=%u",
	    opt_listeners_count(t->listeners));
	write_state(t);
}

static void
start_probes(struct opt_tunnel *t, long long now)
{
	t->probe_pending = false;
	if (opt_prober_round(&t->prober, now))
		round_done(t);
}

static void
probes_failed(struct opt_tunnel *t, const char *why)
{
	if (opt_prober_abort(&t->prober, why))
		round_done(t);
}

/* --- reload ----------------------------------------------------------- */

static bool
connection_changed(const struct opt_site *a, const struct opt_site *b)
{
	return strcmp(a->host, b->host) != 0 || a->port != b->port ||
	    strcmp(a->user, b->user) != 0 ||
	    strcmp(a->identity, b->identity) != 0 ||
	    a->host_key_check != b->host_key_check ||
	    a->compression != b->compression;
}

/* The listeners as channels.conf now says; running jobs keep going. */
static void
update_listeners(struct opt_tunnel *t, const struct opt_channels *cs,
    bool rebind)
{
	struct opt_listener *l, **pp;
	struct opt_error e;
	char q[OPT_ERROR_MAX + 8];
	size_t i;

	for (l = t->listeners; l != NULL; l = l->next)
		l->seen = false;
	for (i = 0; i < cs->n; i++) {
		const struct opt_channel *c = &cs->v[i];

		l = find_listener(t, c->id);
		if (l != NULL &&
		    opt_listen_diff(&l->conf, c, rebind) == OPT_LC_REBIND) {
			close(l->fd);
			l->fd = -1;
			l->listening = false;
			l->paused = OPT_PAUSE_NONE;
		}
		if (l == NULL) {
			if ((l = opt_listener_new(c)) == NULL)
				continue;
			l->next = t->listeners;
			t->listeners = l;
			opt_log(&t->log, OPT_LOG_INFO, "channel-added",
			    "channel=%d listen=%d", c->id, c->listen);
		}
		l->conf = *c;
		l->seen = true;
		if (l->fd == -1 &&
		    opt_listener_bind(l, t->site.bind, &e) == -1) {
			opt_log(&t->log, OPT_LOG_ERROR, "bind-failed",
			    "channel=%d error=%s", c->id,
			    opt_log_quote(q, sizeof(q), e.text));
			opt_state_text(l->last_error, sizeof(l->last_error),
			    e.text);
		}
		listen_one(t, l, t->session.phase == OPT_SP_UP);
	}
	for (pp = &t->listeners; (l = *pp) != NULL;) {
		if (l->seen) {
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		opt_forward_detach(&t->fwd, l);
		opt_intake_detach(&t->intakes, l);
		opt_log(&t->log, OPT_LOG_INFO, "channel-removed", "channel=%d",
		    l->conf.id);
		opt_listener_free(l);
	}
}

/*
 * SIGHUP: the site's files again.  The session is kept unless how to
 * reach the site changed.  A broken file changes nothing.
 */
static void
reload(struct opt_tunnel *t)
{
	struct opt_channels cs;
	struct opt_throttle th;
	struct opt_site site;
	struct opt_allow allow;
	struct opt_error e;
	char q[OPT_ERROR_MAX + 8];
	bool reconnect, rebind;

	t->reloads++;
	if (opt_log_reopen(&t->log, &e) == -1) /* the old file is kept */
		opt_log(&t->log, OPT_LOG_ERROR, "log-reopen-failed", "error=%s",
		    opt_log_quote(q, sizeof(q), e.text));
	/* Before the files are read: an edit after this point is another
	 * generation, whose tool signals again. */
	generation(t, t->st.reload_generation);
	t->st.reloads++;
	if (load_config(t, &site, &allow, &cs, &th, &e) == -1) {
		opt_log(&t->log, OPT_LOG_ERROR, "reload-failed", "error=%s",
		    opt_log_quote(q, sizeof(q), e.text));
		opt_state_text(t->st.reload_error, sizeof(t->st.reload_error),
		    e.text);
		write_state(t);
		return;
	}
	strlcpy(t->st.generation, t->st.reload_generation,
	    sizeof(t->st.generation));
	t->st.reload_error[0] = '\0';
	reconnect = connection_changed(&t->site, &site);
	rebind = strcmp(t->site.bind, site.bind) != 0;
	t->site = site;
	t->allow = allow;
	t->throttle = th;
	opt_shaper_set(&t->shaper, &t->throttle, opt_clock_ms());
	if (open_spool(t, &cs, &e) == -1) /* its channels do not listen */
		opt_log(&t->log, OPT_LOG_ERROR, "spool-failed", "error=%s",
		    opt_log_quote(q, sizeof(q), e.text));
	t->deliver.rescan = true;
	update_listeners(t, &cs, rebind);
	opt_channels_free(&cs);
	opt_log(&t->log, OPT_LOG_INFO, "reloaded", "channels=%u reconnect=%s",
	    opt_listeners_count(t->listeners), reconnect ? "yes" : "no");
	if (t->session.phase == OPT_SP_IDLE) {
		/* Whatever kept it down may be fixed now: try at once. */
		opt_backoff_reset(&t->backoff);
		t->retry_at = opt_clock_ms();
	} else if (reconnect) {
		opt_backoff_reset(&t->backoff);
		session_failed(t, "down", "connection settings changed", false);
		t->retry_at = opt_clock_ms();
	}
	set_state(t, t->st.state, NULL);
}

/* --- signals and the loop --------------------------------------------- */

static void
start_drain(struct opt_tunnel *t)
{
	if (t->draining)
		return;
	t->draining = true;
	t->drain_deadline = opt_clock_ms() + DRAIN_MS;
	listen_all(t, false);
	opt_forward_stop_queued(&t->fwd, "tunnel stopping");
	probes_failed(t, "tunnel stopping");
	opt_log(&t->log, OPT_LOG_INFO, "draining", "jobs=%u",
	    opt_forward_njobs(&t->fwd));
	if (t->session.phase == OPT_SP_UP)
		set_state(t, OPT_TS_DRAINING, NULL);
}

static void
handle_signals(struct opt_tunnel *t)
{
	struct signalfd_siginfo si;

	while (read(t->sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			opt_log(&t->log, OPT_LOG_INFO, "stop", "signal=%u",
			    si.ssi_signo);
			start_drain(t);
			break;
		case SIGHUP:
			reload(t);
			break;
		case SIGUSR1:
			t->probe_pending = true;
			break;
		default:
			break;
		}
	}
}

static void
accept_on(struct opt_tunnel *t, struct opt_listener *l, long long now)
{
	if (l->conf.mode == OPT_MODE_SPOOL)
		opt_intake_accept(&t->intakes, l, &t->allow, t->fwd.active,
		    (unsigned)t->site.max_jobs, now);
	else if (t->session.phase == OPT_SP_UP)
		opt_forward_accept(&t->fwd, l, &t->allow, t->intakes.active,
		    (unsigned)t->site.max_jobs, now);
}

/* Listeners paused at a job limit come back when there is room; one
 * paused for descriptors is tried again once a job ended. */
static void
resume_listeners(struct opt_tunnel *t, long long now)
{
	struct opt_listener *l;

	unsigned active = t->fwd.active + t->intakes.active;
	bool ended = active < t->prev_active;

	for (l = t->listeners; l != NULL; l = l->next) {
		if (l->paused == OPT_PAUSE_NONE ||
		    (l->paused == OPT_PAUSE_FD && !ended) ||
		    opt_job_limit(opt_forward_load(l),
		        (unsigned)l->conf.max_jobs, active,
		        (unsigned)t->site.max_jobs) != OPT_PAUSE_NONE)
			continue;
		/* At once: who waits is taken, or the episode ends. */
		opt_listener_resume(l);
		accept_on(t, l, now);
	}
	t->prev_active = t->fwd.active + t->intakes.active;
}

static long long
earlier(long long until, long long now, long long ms)
{
	return ms >= 0 && now + ms < until ? now + ms : until;
}

static int
poll_timeout(struct opt_tunnel *t, long long now)
{
	long long until = now + 1000;
	const struct opt_listener *l;

	/* The heartbeat is on time: the file promises its interval. */
	if (t->state_written + STATE_HEARTBEAT_MS < until)
		until = t->state_written + STATE_HEARTBEAT_MS;

	if (t->session.phase == OPT_SP_IDLE && t->retry_at < until)
		until = t->retry_at;
	if (t->draining && t->drain_deadline < until)
		until = t->drain_deadline;
	if (t->session.phase == OPT_SP_UP) {
		until = earlier(until, now, opt_forward_wake(&t->fwd, now));
		until = earlier(until, now, opt_session_wake(&t->session, now));
		for (l = t->listeners; l != NULL; l = l->next)
			if (l->listening && l->paused == OPT_PAUSE_FD)
				until = earlier(until, now,
				    l->retry_at > now ? l->retry_at - now : 0);
	}
	until = earlier(until, now, opt_prober_wake(&t->prober, now));
	if (t->spool.dirfd != -1)
		until = earlier(until, now,
		    opt_deliver_wake(&t->deliver,
		        t->session.phase == OPT_SP_UP && !t->draining, now));
	for (l = t->listeners; l != NULL; l = l->next)
		if (l->conf.mode == OPT_MODE_SPOOL && l->listening &&
		    l->paused == OPT_PAUSE_FD)
			until = earlier(until, now,
			    l->retry_at > now ? l->retry_at - now : 0);
	return until <= now ? 0 : (int)(until - now);
}

/* Each pass: what to poll for on every descriptor. */
static int
build_poll(struct opt_tunnel *t, long long now, nfds_t *np, struct opt_error *e)
{
	size_t want = PFD_FIXED + opt_listeners_count(t->listeners) +
	    opt_forward_njobs(&t->fwd) + t->intakes.active;
	struct opt_listener *l;
	size_t n = PFD_FIXED, i = 0;

	if (want > t->cap) {
		size_t cap = want * 2;
		struct pollfd *p = reallocarray(t->pfd, cap, sizeof(*p));
		struct opt_listener **ls;

		if (p == NULL)
			return opt_error_errno(e, EX_OSERR, "poll list");
		t->pfd = p;
		if ((ls = reallocarray(t->polled, cap, sizeof(*ls))) == NULL)
			return opt_error_errno(e, EX_OSERR, "poll list");
		t->polled = ls;
		t->cap = cap;
	}
	t->pfd[PFD_SIG].fd = t->sigfd;
	t->pfd[PFD_SIG].events = POLLIN;
	opt_session_pollfd(&t->session, &t->pfd[PFD_SESSION],
	    t->fwd.jobs != NULL || t->fwd.abandoned != NULL, now);
	opt_prober_pollfd(&t->prober, &t->pfd[PFD_PROBE], now);
	for (l = t->listeners; l != NULL; l = l->next) {
		if (!opt_listener_polled(l, now))
			continue;
		t->polled[i++] = l;
		t->pfd[n].fd = l->fd;
		t->pfd[n++].events = POLLIN;
	}
	n += opt_forward_pollfds(&t->fwd, t->pfd + n, t->cap - n);
	n += opt_intake_pollfds(&t->intakes, t->pfd + n, t->cap - n);
	t->npolled = i;
	*np = (nfds_t)n;
	return 0;
}

/* One pass while the session is up. */
static void
up_pass(struct opt_tunnel *t, long long now)
{
	bool readable = (t->pfd[PFD_SESSION].revents & POLLIN) != 0;

	if (t->probe_pending && !t->draining)
		start_probes(t, now);
	if (opt_forward_pass(&t->fwd, now) == -1 ||
	    opt_session_keep(&t->session, readable, now) == -1) {
		char why[OPT_WHY_MAX];

		strlcpy(why, t->session.why, sizeof(why));
		session_failed(t, "down", why, false);
		return;
	}
}

/* Every phase: clients on the polled ports, spool intakes, deliveries
 * that are due, listeners that may come back. */
static void
any_pass(struct opt_tunnel *t, long long now, bool reloaded)
{
	size_t i;

	for (i = 0; !reloaded && i < t->npolled; i++)
		if (t->pfd[PFD_FIXED + i].revents & POLLIN)
			accept_on(t, t->polled[i], now);
	opt_intake_pass(&t->intakes);
	if (t->spool.dirfd != -1) {
		if (t->intakes.changed) {
			t->intakes.changed = false;
			t->deliver.rescan = true;
		}
		opt_deliver_step(&t->deliver, t->listeners,
		    t->session.phase == OPT_SP_UP && !t->draining, now);
	}
	resume_listeners(t, now);
}

int
opt_tunnel_run(struct opt_tunnel *t, struct opt_error *e)
{
	char q[OPT_ERROR_MAX + 8];
	int r = 0;

	opt_log(&t->log, OPT_LOG_INFO, "start", "pid=%ld channels=%u",
	    (long)getpid(), opt_listeners_count(t->listeners));
	t->retry_at = opt_clock_ms();
	listen_all(t, false); /* the spool channels */
	set_state(t, OPT_TS_CONNECTING, NULL);

	for (;;) {
		long long now = opt_clock_ms();
		unsigned reloads = t->reloads;
		nfds_t n = 0;

		if (build_poll(t, now, &n, e) == -1) {
			r = -1;
			break;
		}
		if (poll(t->pfd, n, poll_timeout(t, now)) == -1 &&
		    errno != EINTR) {
			r = opt_error_errno(e, EX_OSERR, "poll");
			break;
		}
		now = opt_clock_ms();
		if (t->pfd[PFD_SIG].revents & POLLIN) {
			handle_signals(t);
			if (t->draining && t->session.phase != OPT_SP_UP &&
			    t->intakes.jobs == NULL)
				break; /* nothing to drain */
		}
		if (t->draining &&
		    ((t->fwd.jobs == NULL && t->intakes.jobs == NULL) ||
		        now >= t->drain_deadline))
			break;
		if (opt_prober_running(&t->prober) &&
		    opt_prober_step(&t->prober, t->pfd[PFD_PROBE].revents, now))
			round_done(t);

		switch (t->session.phase) {
		case OPT_SP_IDLE:
			if (now >= t->retry_at)
				start_attempt(t, now);
			break;
		case OPT_SP_UP:
			up_pass(t, now);
			break;
		default:
			switch (opt_session_step(&t->session,
			    t->pfd[PFD_SESSION].revents, now)) {
			case OPT_SS_FAILED:
				failed_step(t);
				break;
			case OPT_SS_UP:
				session_up(t);
				break;
			default:
				break;
			}
		}
		/* After a reload the pass's listeners may be gone. */
		any_pass(t, now, reloads != t->reloads);
		maybe_write_state(t, opt_clock_ms());
	}
	if (r == -1)
		opt_log(&t->log, OPT_LOG_ERROR, "fatal", "error=%s",
		    opt_log_quote(q, sizeof(q), e->text));
	opt_intake_drop_all(&t->intakes,
	    r == -1 ? "the tunnel failed" : "the tunnel stopped");
	if (t->fwd.jobs != NULL)
		opt_forward_drop_all(&t->fwd,
		    r == -1 ? "the tunnel failed"
		            : "cut: still running when the drain time ended",
		    "job-cut");
	opt_prober_abort(&t->prober, "tunnel stopping");
	if (t->session.ssh != NULL) {
		libssh2_session_disconnect(t->session.ssh, "tunnel stopped");
		(void)opt_session_flush(&t->session, opt_clock_ms());
	}
	opt_session_end(&t->session);
	opt_log(&t->log, OPT_LOG_INFO, "exit", "reconnects=%llu jobs=%llu",
	    t->st.reconnects, t->fwd.jobs_total);
	opt_safefile_unlink(t->opts.run_fd, t->state_path);
	return r;
}

/* --- setting up ------------------------------------------------------- */

static void
init_session(struct opt_tunnel *t, struct opt_session *s)
{
	s->site = &t->site;
	s->known_hosts = t->known_hosts;
	s->pinned_fp = t->pinned_fp;
	s->log = &t->log;
}

/*
 * Loads the site, opens the log and binds every channel's port: all of
 * them or none (an address in use is an error here, not at run time).
 * The signals of the tunnel (TERM, INT, HUP, USR1) must be blocked by
 * the caller: they are read through a signalfd.
 */
int
opt_tunnel_prepare(struct opt_tunnel **out, const struct opt_tunnel_opts *o,
    struct opt_error *e)
{
	struct opt_channels cs;
	struct opt_tunnel *t;
	struct opt_listener *l;
	sigset_t set;
	size_t i;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return opt_error_errno(e, EX_OSERR, "out of memory");
	t->opts = *o;
	t->paths = *o->paths;
	t->sigfd = -1;
	t->spool.dirfd = -1;
	t->log.fd = -1;
	t->log_fd = -1;
	strlcpy(t->site_id, o->site, sizeof(t->site_id));
	strlcpy(t->st.site, o->site, sizeof(t->st.site));
	strlcpy(t->st.compression, "none", sizeof(t->st.compression));
	t->st.pid = (long)getpid();
	t->st.interval = OPT_STATE_INTERVAL;
	opt_session_init(&t->session);
	init_session(t, &t->session);
	t->session.shaper = &t->shaper;
	t->session.want_keeper = true;
	opt_forward_init(&t->fwd, &t->session, &t->shaper, &t->log);
	opt_intakes_init(&t->intakes, &t->spool, &t->log);
	opt_deliver_init(&t->deliver, &t->spool, &t->fwd, &t->log, &t->site);
	opt_prober_init(&t->prober, &t->listeners);
	init_session(t, &t->prober.s);

	generation(t, t->st.generation);
	strlcpy(t->st.reload_generation, t->st.generation,
	    sizeof(t->st.reload_generation));
	if (load_config(t, &t->site, &t->allow, &cs, &t->throttle, e) == -1)
		goto fail;
	opt_shaper_set(&t->shaper, &t->throttle, opt_clock_ms());
	if (opt_paths_site(&t->paths, o->site, "known_hosts", t->known_hosts,
	        sizeof(t->known_hosts), e) == -1 ||
	    opt_paths_run(&t->paths, o->site, ".state", t->state_path,
	        sizeof(t->state_path), e) == -1)
		goto fail_cs;
	if (!o->foreground &&
	    (t->log_fd = opt_safedir_open("log", t->paths.log, 0750, false,
	         o->owner, e)) == -1)
		goto fail_cs;
	if (opt_log_open(&t->log, t->log_fd, t->paths.log, o->site, o->owner,
	        e) == -1)
		goto fail_cs;
	for (i = cs.n; i-- > 0;) {
		if ((l = opt_listener_new(&cs.v[i])) == NULL) {
			opt_error_errno(e, EX_OSERR, "out of memory");
			goto fail_cs;
		}
		l->next = t->listeners;
		t->listeners = l;
		if (opt_listener_bind(l, t->site.bind, e) == -1)
			goto fail_cs;
	}
	if (open_spool(t, &cs, e) == -1)
		goto fail_cs;
	opt_channels_free(&cs);

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if ((t->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		opt_error_errno(e, EX_OSERR, "signalfd");
		goto fail;
	}
	*out = t;
	return 0;
fail_cs:
	opt_channels_free(&cs);
fail:
	opt_tunnel_free(t);
	return -1;
}

/*
 * For a tunnel about to drop root: with accept-new and nothing pinned
 * yet, take the key now and pin it while known_hosts is still writable.
 * It blocks (at most timeout_ms), so it runs before the loop; failing
 * is fine, the loop pins the key in memory then.
 */
void
opt_tunnel_pin_first(struct opt_tunnel *t, int timeout_ms)
{
	char old[OPT_FP_MAX], fp[OPT_FP_MAX];
	unsigned char blob[4096];
	struct opt_ssh_hostkey k;
	struct opt_error e;

	if (t->site.host_key_check != OPT_HOSTKEY_ACCEPT_NEW ||
	    opt_hostkey_fetch(t->site.host, t->site.port, timeout_ms, &k, blob,
	        sizeof(blob), &e) == -1 ||
	    opt_knownhosts_check(t->known_hosts, t->site.host, t->site.port, &k,
	        old, sizeof(old), &e) != OPT_HK_NOTFOUND ||
	    opt_knownhosts_pin(t->known_hosts, t->site.host, t->site.port, &k,
	        &e) == -1)
		return;
	opt_fingerprint(k.blob, k.len, fp, sizeof(fp));
	opt_log(&t->log, OPT_LOG_INFO, "hostkey-pinned",
	    "type=%s fingerprint=%s", k.name, fp);
}

void
opt_tunnel_free(struct opt_tunnel *t)
{
	struct opt_listener *l;

	if (t == NULL)
		return;
	opt_intake_drop_all(&t->intakes, "tunnel freed");
	opt_forward_drop_all(&t->fwd, "tunnel freed", "job-failed");
	opt_spool_close(&t->spool);
	opt_prober_free(&t->prober);
	opt_session_free(&t->session);
	while ((l = t->listeners) != NULL) {
		t->listeners = l->next;
		opt_listener_free(l);
	}
	if (t->sigfd != -1)
		close(t->sigfd);
	opt_log_close(&t->log);
	if (t->log_fd != -1)
		close(t->log_fd);
	free(t->pfd);
	free(t->polled);
	free(t);
}
