/*
 * The tunnel engine: one process, one site, one poll() loop.  Signals
 * arrive through a signalfd; the session socket, the probe session's,
 * the listen sockets and every job's client socket are polled together,
 * and nothing in the loop blocks.  The parts: session.c (the SSH
 * connection), forward.c (jobs), intake.c and deliver.c (spool
 * channels), probe.c (printer probes), listen.c (the channels' ports);
 * this file runs them and drains on SIGTERM; tunnelconf.c reads the
 * site's files, at start and on SIGHUP, tunnelstate.c writes the state
 * file.
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

#include "clock.h"
#include "generation.h"
#include "tunnelint.h"

#define DRAIN_MS 30000
#define ROOM_EVERY_MS 250
/* The first descriptors polled: signals, the session, the probes. */
#define PFD_SIG 0
#define PFD_SESSION 1
#define PFD_PROBE 2
#define PFD_FIXED 3

/* --- the session ------------------------------------------------------ */

static void probes_failed(struct opt_tunnel *, const char *);

/* A failed attempt or a lost session: every job on it ends, and the
 * next attempt comes as opt_backoff_next() says. */
void
tunnel_session_failed(struct opt_tunnel *t, const char *event, const char *why,
    bool mismatch)
{
	char q[OPT_WHY_MAX + 8];
	long long now = opt_clock_ms(), delay;

	if (t->session.phase == OPT_SP_UP &&
	    now - t->session.up_since >= OPT_BACKOFF_STABLE_MS)
		opt_backoff_reset(&t->backoff);
	tunnel_listen_all(t, false);
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
	tunnel_set_state(t,
	    mismatch ? OPT_TS_HOSTKEY_MISMATCH : OPT_TS_RETRYING, why);
}

static void
failed_step(struct opt_tunnel *t)
{
	char why[OPT_WHY_MAX];

	strlcpy(why, t->session.why, sizeof(why));
	tunnel_session_failed(t, t->session.fail_event, why,
	    t->session.mismatch);
}

static void
start_attempt(struct opt_tunnel *t, long long now)
{
	if (t->st.state != OPT_TS_RETRYING &&
	    t->st.state != OPT_TS_HOSTKEY_MISMATCH)
		tunnel_set_state(t, OPT_TS_CONNECTING, NULL);
	if (opt_session_begin(&t->session, now) == OPT_SS_FAILED)
		failed_step(t);
}

static void
session_up(struct opt_tunnel *t)
{
	strlcpy(t->st.compression, t->session.compression,
	    sizeof(t->st.compression));
	if (!t->draining)
		tunnel_listen_all(t, true);
	t->deliver.rescan = true;
	t->probe_due = opt_clock_ms(); /* with probe_interval: at once */
	opt_log(&t->log, OPT_LOG_INFO, "up", "compression=%s channels=%u",
	    t->st.compression, opt_listeners_count(t->listeners));
	t->st.last_error[0] = '\0';
	tunnel_set_state(t, OPT_TS_UP, NULL);
}

/* --- probes ----------------------------------------------------------- */

static void
round_done(struct opt_tunnel *t)
{
	t->st.probes++;
	opt_log(&t->log, OPT_LOG_INFO, "probed", "channels=%u",
	    opt_listeners_count(t->listeners));
	tunnel_write_state(t);
}

/* A round, asked or due: the next due one is probe_interval after it. */
static void
start_probes(struct opt_tunnel *t, long long now)
{
	t->probe_pending = false;
	t->probe_due = now + t->site.probe_interval * 1000;
	if (opt_prober_round(&t->prober, now))
		round_done(t);
}

static void
probes_failed(struct opt_tunnel *t, const char *why)
{
	if (opt_prober_abort(&t->prober, why))
		round_done(t);
}

/* --- signals and the loop --------------------------------------------- */

static void
start_drain(struct opt_tunnel *t)
{
	if (t->draining)
		return;
	t->draining = true;
	t->drain_deadline = opt_clock_ms() + DRAIN_MS;
	tunnel_listen_all(t, false);
	opt_forward_stop_queued(&t->fwd, "tunnel stopping");
	probes_failed(t, "tunnel stopping");
	opt_log(&t->log, OPT_LOG_INFO, "draining", "jobs=%u",
	    opt_forward_njobs(&t->fwd));
	if (t->session.phase == OPT_SP_UP)
		tunnel_set_state(t, OPT_TS_DRAINING, NULL);
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
			tunnel_reload(t);
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
		if (t->site.probe_interval > 0 && !t->draining &&
		    !opt_prober_running(&t->prober))
			until = earlier(until, now,
			    t->probe_due > now ? t->probe_due - now : 0);
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

	if (t->site.probe_interval > 0 && now >= t->probe_due &&
	    !opt_prober_running(&t->prober))
		t->probe_pending = true;
	if (t->probe_pending && !t->draining)
		start_probes(t, now);
	if (opt_forward_pass(&t->fwd, now) == -1 ||
	    opt_session_keep(&t->session, readable, now) == -1) {
		char why[OPT_WHY_MAX];

		strlcpy(why, t->session.why, sizeof(why));
		tunnel_session_failed(t, "down", why, false);
		return;
	}
}

/*
 * A spool with less room than OPT_SPOOL_HEADROOM_MB stops listening:
 * its clients are refused and try again later, as spoolers do, instead
 * of being reset after they sent a small job whole (which CUPS's socket
 * backend takes for printed).  Those already waiting are taken first.
 * It listens again at twice that room.
 */
static void
spool_room(struct opt_tunnel *t, long long now)
{
	const long long mib = 1024 * 1024;
	long long room = opt_intake_room(&t->intakes), need;
	struct opt_listener *l;
	bool full;

	t->room_at = now + ROOM_EVERY_MS;
	need = (t->spool_full ? 2 : 1) * OPT_SPOOL_HEADROOM_MB * mib;
	full = room < need;
	if (full == t->spool_full)
		return;
	for (l = t->listeners; full && l != NULL; l = l->next)
		if (l->conf.mode == OPT_MODE_SPOOL &&
		    opt_listener_polled(l, now))
			accept_on(t, l, now);
	t->spool_full = full;
	opt_log(&t->log, full ? OPT_LOG_WARN : OPT_LOG_INFO,
	    full ? "spool-full" : "spool-room", "room_mb=%lld", room / mib);
	for (l = t->listeners; l != NULL; l = l->next)
		if (l->conf.mode == OPT_MODE_SPOOL)
			opt_state_text(l->last_error, sizeof(l->last_error),
			    full ? "spool full: new jobs are refused" : "");
	tunnel_listen_all(t, t->session.phase == OPT_SP_UP);
	tunnel_write_state(t);
}

/* Every phase, first: the clients on the polled ports, and what spool
 * clients sent. */
static void
take_clients(struct opt_tunnel *t, long long now, bool reloaded)
{
	size_t i;

	for (i = 0; !reloaded && i < t->npolled; i++)
		if (t->pfd[PFD_FIXED + i].revents & POLLIN)
			accept_on(t, t->polled[i], now);
	opt_intake_pass(&t->intakes);
	if (t->spool.dirfd != -1 && (t->intakes.changed || now >= t->room_at))
		spool_room(t, now);
}

/* Every phase, last: deliveries that are due, listeners that may come
 * back. */
static void
any_pass(struct opt_tunnel *t, long long now)
{
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
	tunnel_listen_all(t, false); /* the spool channels */
	tunnel_set_state(t, OPT_TS_CONNECTING, NULL);

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

		/* After a reload the pass's listeners may be gone. */
		take_clients(t, now, reloads != t->reloads);
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
		any_pass(t, now);
		tunnel_maybe_write_state(t, opt_clock_ms());
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

	tunnel_generation(t, t->st.generation);
	strlcpy(t->st.reload_generation, t->st.generation,
	    sizeof(t->st.reload_generation));
	if (tunnel_load_config(t, &t->site, &t->allow, &cs, &t->throttle, e) ==
	    -1)
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
	if (tunnel_open_spool(t, &t->site, &cs, e) == -1)
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
