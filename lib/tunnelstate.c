/*
 * The state file of a tunnel (state.h): written at each transition,
 * once a second while anything moves, and within its interval however
 * idle the tunnel is.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "tunnelint.h"

#define STATE_EVERY_MS 1000

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

void
tunnel_write_state(struct opt_tunnel *t)
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
		cs[i].probe_since = l->probe_since;
		cs[i].pjl_code = l->pjl_code;
		opt_state_text(cs[i].pjl_display, sizeof(cs[i].pjl_display),
		    l->pjl_display);
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
void
tunnel_set_state(struct opt_tunnel *t, enum opt_tstate s, const char *error)
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
	tunnel_write_state(t);
}

/* Due once a second while anything moved, but not while a channel
 * open is in flight (it would sit between a job's connect and its
 * first byte); and in every phase, idle or not, within the interval
 * the file promises, so that a file that ages says the tunnel is stuck
 * or cannot write it. */
void
tunnel_maybe_write_state(struct opt_tunnel *t, long long now)
{
	long long age = now - t->state_written;

	if (age >= STATE_HEARTBEAT_MS ||
	    (age >= STATE_EVERY_MS && t->fwd.opening == NULL &&
	        (t->fwd.dirty || t->session.wire_up != t->written_up ||
	            t->session.wire_down != t->written_down || t->st.rate_up ||
	            t->st.rate_down)))
		tunnel_write_state(t);
}
