/*
 * The tunnel engine's own parts, shared by tunnel.c (the loop, the
 * session, signals, setting up), tunnelconf.c (the site's files, at
 * start and on SIGHUP: listeners and the spool as they say) and
 * tunnelstate.c (the state file) only.
 */
#ifndef OPT_TUNNELINT_H
#define OPT_TUNNELINT_H

#include <poll.h>
#include <stdbool.h>

#include "allow.h"
#include "channel.h"
#include "defaults.h"
#include "deliver.h"
#include "forward.h"
#include "intake.h"
#include "listen.h"
#include "log.h"
#include "probe.h"
#include "session.h"
#include "site.h"
#include "spool.h"
#include "ssh.h"
#include "state.h"
#include "throttle.h"
#include "tunnel.h"

#define STATE_HEARTBEAT_MS (OPT_STATE_INTERVAL * 1000 - 250)

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
	bool spool_full; /* less room than OPT_SPOOL_HEADROOM_MB */
	long long room_at; /* when to look at the room again */
	struct opt_prober prober;
	struct opt_backoff backoff;
	long long retry_at;
	unsigned reloads; /* listener pointers of a pass are stale after one */
	unsigned prev_active;

	bool draining;
	long long drain_deadline;
	bool probe_pending;
	long long probe_due; /* probe_interval: when the next round is */

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

/* tunnelstate.c */
void tunnel_write_state(struct opt_tunnel *);
void tunnel_set_state(struct opt_tunnel *, enum opt_tstate, const char *);
void tunnel_maybe_write_state(struct opt_tunnel *, long long);

/* tunnelconf.c */
void tunnel_generation(struct opt_tunnel *, char *);
int tunnel_load_config(struct opt_tunnel *, struct opt_site *,
    struct opt_allow *, struct opt_channels *, struct opt_throttle *,
    struct opt_error *);
void tunnel_listen_one(struct opt_tunnel *, struct opt_listener *, bool);
void tunnel_listen_all(struct opt_tunnel *, bool);
int tunnel_open_spool(struct opt_tunnel *, const struct opt_site *,
    const struct opt_channels *, struct opt_error *);
void tunnel_reload(struct opt_tunnel *);

/* tunnel.c */
void tunnel_session_failed(struct opt_tunnel *, const char *, const char *,
    bool);

#endif
