#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "channel.h"
#include "control.h"
#include "pidfile.h"

/*
 * The site's state: its state file while its process runs and the file
 * is that process's; otherwise connecting (a process without a state
 * yet), stale (a pidfile no process holds) or stopped, then with the
 * channels from channels.conf if `channels` asks for them.
 * st->updated is 0 unless the state came from the file.  -1 only when
 * that channels.conf is broken; st is filled all the same.
 */
int
opt_tunnel_status(const struct opt_paths *p, const char *site, bool channels,
    struct opt_state *st, struct opt_error *e)
{
	char path[PATH_MAX];
	struct opt_channels cs;
	enum opt_proc proc;
	pid_t pid = 0;
	size_t i;

	memset(st, 0, sizeof(*st));
	if (opt_paths_run(p, site, ".pid", path, sizeof(path), e) == -1)
		return -1;
	proc = opt_pidfile_probe(path, &pid);
	if (proc == OPT_PROC_RUNNING &&
	    opt_paths_run(p, site, ".state", path, sizeof(path), NULL) == 0 &&
	    opt_state_read(path, st, NULL) == 0) {
		/* Another process's state is none of this one's. */
		if (pid <= 0 || st->pid == (long)pid)
			return 0;
		opt_state_free(st);
	}
	memset(st, 0, sizeof(*st));
	strlcpy(st->site, site, sizeof(st->site));
	st->state = proc == OPT_PROC_RUNNING ? OPT_TS_CONNECTING
	    : proc == OPT_PROC_STALE         ? OPT_TS_STALE
	                                     : OPT_TS_STOPPED;
	st->pid = proc == OPT_PROC_RUNNING ? (long)pid : 0;
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
