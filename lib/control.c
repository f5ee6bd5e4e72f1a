#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "channel.h"
#include "clock.h"
#include "control.h"
#include "generation.h"
#include "pidfile.h"

/*
 * A live tunnel whose state is older than OPT_STATE_STALE_AFTER of its
 * write intervals is stale: stopped (SIGSTOP), stuck, or unable to
 * write the file.  `since` is when it was last known: the file's
 * `updated`, or for a tunnel that never wrote one, its pidfile's mtime
 * (written just before the first state).
 */
static void
judge_age(struct opt_state *st, long long since, unsigned interval)
{
	long long age = (long long)time(NULL) - since;

	st->reported = st->state;
	if (since <= 0 || interval == 0 ||
	    age <= (long long)interval * OPT_STATE_STALE_AFTER)
		return;
	st->state = OPT_TS_STALE;
	st->age = age;
}

/*
 * The site's state: its state file while its process runs and the file
 * is that process's; otherwise connecting (a process without a state
 * yet), stale (a pidfile no process holds) or stopped, then with the
 * channels from channels.conf if `channels` asks for them.
 * st->updated is 0 unless the state came from the file.  -1 only when
 * that channels.conf is broken; st is filled all the same.
 * A live tunnel's state that is too old is made stale (judge_age).
 */
int
opt_tunnel_status(const struct opt_paths *p, const char *site, bool channels,
    struct opt_state *st, struct opt_error *e)
{
	char path[PATH_MAX];
	struct opt_channels cs;
	enum opt_proc proc;
	long long started = 0;
	struct stat sb;
	pid_t pid = 0;
	size_t i;

	memset(st, 0, sizeof(*st));
	if (opt_paths_run(p, site, ".pid", path, sizeof(path), e) == -1)
		return -1;
	proc = opt_pidfile_probe(path, &pid);
	if (proc == OPT_PROC_RUNNING && pid > 0 && stat(path, &sb) == 0)
		started = (long long)sb.st_mtim.tv_sec;
	if (proc == OPT_PROC_RUNNING &&
	    opt_paths_run(p, site, ".state", path, sizeof(path), NULL) == 0 &&
	    opt_state_read(path, st, NULL) == 0) {
		/* Another process's state is none of this one's. */
		if (pid <= 0 || st->pid == (long)pid) {
			judge_age(st, st->updated, st->interval);
			return 0;
		}
		opt_state_free(st);
	}
	memset(st, 0, sizeof(*st));
	strlcpy(st->site, site, sizeof(st->site));
	st->state = proc == OPT_PROC_RUNNING ? OPT_TS_CONNECTING
	    : proc == OPT_PROC_STALE         ? OPT_TS_STALE
	                                     : OPT_TS_STOPPED;
	st->pid = proc == OPT_PROC_RUNNING ? (long)pid : 0;
	if (st->pid > 0)
		judge_age(st, started, OPT_STATE_INTERVAL);
	if (!channels)
		return 0;
	if (opt_channels_load(p, site, &cs, e) == -1)
		return -1;
	st->channels = calloc(cs.n + 1, sizeof(*st->channels));
	for (i = 0; st->channels != NULL && i < cs.n; i++) {
		struct opt_state_channel *c = &st->channels[i];

		c->id = cs.v[i].id;
		c->listen = cs.v[i].listen;
		strlcpy(c->printer, cs.v[i].printer, sizeof(c->printer));
		c->printer_port = cs.v[i].printer_port;
		strlcpy(c->mode, opt_channel_mode_name(cs.v[i].mode),
		    sizeof(c->mode));
		strlcpy(c->probe, "unknown", sizeof(c->probe));
	}
	if (st->channels != NULL)
		st->nchannels = cs.n;
	opt_channels_free(&cs);
	return 0;
}

/*
 * Sends sig to the site's tunnel: the process that holds its lock, not
 * whatever pid its file says.  1 when it was sent (*pid says to whom),
 * 0 when no tunnel runs, -1 when it could not be sent.
 */
int
opt_tunnel_signal(const struct opt_paths *p, const char *site, int sig,
    pid_t *pid, struct opt_error *e)
{
	char path[PATH_MAX];

	*pid = 0;
	if (opt_paths_run(p, site, ".pid", path, sizeof(path), e) == -1)
		return -1;
	if (opt_pidfile_probe_exact(path, pid) != OPT_PROC_RUNNING || *pid <= 0)
		return 0;
	if (kill(*pid, sig) == -1)
		return opt_error_errno(e, errno == EPERM ? EX_NOPERM : 0,
		    "cannot signal the tunnel (pid %ld)", (long)*pid);
	return 1;
}

/*
 * Whether the site's tunnel runs on other files than those there now:
 * its state says which generation it applied, and the files have
 * another.  False when no tunnel runs, or one that says no generation.
 */
bool
opt_tunnel_config_pending(const struct opt_paths *p, const char *site,
    const struct opt_state *st)
{
	char gen[OPT_GENERATION_MAX];

	if (st->updated == 0 || st->pid <= 0 || st->generation[0] == '\0' ||
	    opt_generation_of(p, site, gen, sizeof(gen), NULL) == -1)
		return false;
	return strcmp(gen, st->generation) != 0;
}

/*
 * Sends SIGHUP to the site's tunnel and waits, at most timeout_ms,
 * until its state file says that it runs the site's files as they are
 * now (1), or that its reload of them failed: -1, EX_CONFIG, and the
 * tunnel's reason.  0: no tunnel runs (or it ended meanwhile), the
 * files apply when it starts.  -1 with EX_TEMPFAIL: no answer in time;
 * with another status: the signal could not be sent.
 *
 * The files are compared as they are at each look, not as they were
 * at the signal: an edit made meanwhile by another tool (whose signal
 * may be merged with this one) is awaited too.  A refusal counts only
 * from a reload after the signal, so that an older failure of the same
 * files is not taken for the answer (the cause may have gone).
 */
int
opt_tunnel_reload(const struct opt_paths *p, const char *site, int timeout_ms,
    pid_t *pid, struct opt_error *e)
{
	struct timespec ts = {0, 10 * 1000000L};
	char gen[OPT_GENERATION_MAX];
	unsigned long long before;
	struct opt_state st;
	long long deadline;
	int r;

	opt_tunnel_status(p, site, false, &st, NULL);
	opt_state_free(&st); /* only the scalars are used */
	before = st.reloads;
	if ((r = opt_tunnel_signal(p, site, SIGHUP, pid, e)) != 1)
		return r;
	deadline = opt_clock_ms() + timeout_ms;
	for (;;) {
		nanosleep(&ts, NULL);
		if (opt_generation_of(p, site, gen, sizeof(gen), e) == -1)
			return -1;
		opt_tunnel_status(p, site, false, &st, NULL);
		opt_state_free(&st);
		if (st.state == OPT_TS_STOPPED || st.pid <= 0)
			return 0;
		if (st.updated != 0 && st.state != OPT_TS_STALE) {
			/* An older tunnel, which does not say: as before. */
			if (st.generation[0] == '\0' ||
			    strcmp(st.generation, gen) == 0)
				return 1;
			if (st.reloads > before && st.reload_error[0] != '\0' &&
			    strcmp(st.reload_generation, gen) == 0)
				return opt_error_set(e, EX_CONFIG, "%s",
				    st.reload_error);
		}
		if (opt_clock_ms() >= deadline)
			return opt_error_set(e, EX_TEMPFAIL,
			    "the tunnel (pid %ld) did not answer within %d s",
			    (long)*pid, timeout_ms / 1000);
	}
}
