/*
 * One SSH session to a site over one TCP connection: resolving the
 * name, connecting, the handshake, the host key, authentication, the
 * idle keeper channel, liveness, and the send buffer that takes every
 * packet whole (see session.c).  Nothing here blocks: the owner polls
 * the descriptor opt_session_pollfd() names and calls the step
 * functions.  Also the schedule of reconnection attempts.
 */
#ifndef OPT_SESSION_H
#define OPT_SESSION_H

#include <sys/socket.h>
#include <sys/types.h>

#include <libssh2.h>
#include <poll.h>
#include <stdbool.h>

#include "log.h"
#include "site.h"
#include "ssh.h"
#include "throttle.h"

#define OPT_SESSION_ADDRS 8
#define OPT_WHY_MAX (OPT_ERROR_MAX + 200)

enum opt_session_phase {
	OPT_SP_IDLE,
	OPT_SP_RESOLVE, /* the resolver child works */
	OPT_SP_CONNECT, /* TCP connect in progress */
	OPT_SP_HANDSHAKE,
	OPT_SP_AUTH,
	OPT_SP_KEEPER, /* opening the idle session channel */
	OPT_SP_UP,
};

enum opt_session_step {
	OPT_SS_WORKING,
	OPT_SS_UP, /* it has just come up */
	OPT_SS_FAILED, /* fail_event and why say what happened */
};

/* One record of the resolver child: written whole, read to EOF. */
struct opt_resolved {
	socklen_t len;
	struct sockaddr_storage addr;
};

struct opt_session {
	/* Set by the owner before opt_session_begin(). */
	const struct opt_site *site;
	const char *known_hosts;
	char *pinned_fp; /* OPT_FP_MAX bytes, shared by a site's sessions */
	struct opt_log *log;
	bool probe; /* a probe round's: logs probe-connect, not auth */
	struct opt_shaper *shaper; /* NULL: not limited */
	bool want_keeper;

	enum opt_session_phase phase;
	LIBSSH2_SESSION *ssh;
	int sock;
	struct sockaddr_storage addrs[OPT_SESSION_ADDRS];
	socklen_t addrlens[OPT_SESSION_ADDRS];
	int naddrs, addr_i;
	pid_t resolver;
	int resolver_fd;
	struct opt_resolved rbuf[OPT_SESSION_ADDRS];
	size_t rlen;
	long long deadline, up_since, last_rx, last_tx;
	long long asked; /* the first send since the site last spoke, or 0 */
	LIBSSH2_CHANNEL *keeper;
	int unread; /* bytes queued in the socket, without a keeper */
	unsigned char *obuf;
	size_t olen, ooff, ocap;
	unsigned long long wire_up, wire_down;
	/* The wire counter of the channel whose libssh2 call is under
	 * way: the packets that call makes are its own. */
	unsigned long long *cur_up;
	char compression[32];

	const char *fail_event;
	char why[OPT_WHY_MAX];
	bool mismatch;
};

void opt_session_init(struct opt_session *);
enum opt_session_step opt_session_begin(struct opt_session *, long long);
void opt_session_pollfd(const struct opt_session *, struct pollfd *, bool,
    long long);
enum opt_session_step opt_session_step(struct opt_session *, short, long long);
int opt_session_flush(struct opt_session *, long long);
int opt_session_keep(struct opt_session *, bool, long long);
long long opt_session_wake(struct opt_session *, long long);
size_t opt_session_pending(const struct opt_session *);
size_t opt_session_high(const struct opt_session *);
LIBSSH2_CHANNEL *opt_session_open_direct(struct opt_session *, const char *,
    int, unsigned);
int opt_session_broken(struct opt_session *, int);
const char *opt_session_error(struct opt_session *);
void opt_session_end(struct opt_session *);
void opt_session_free(struct opt_session *);

/*
 * Reconnection: 1, 2, 4, 8, then 10 s between attempts for the first
 * ten minutes of an outage, then 20, 40 and 60 s; each delay varied at
 * random by up to a fifth either way, so that sites lost together do
 * not come back together, but never above 10 s (60 s after ten
 * minutes).  A session that stayed up a minute ends the outage.
 */
#define OPT_BACKOFF_FAST_MS (10 * 60 * 1000)
#define OPT_BACKOFF_STABLE_MS 60000

struct opt_backoff {
	long long since; /* when the outage began; 0: none */
	unsigned attempt, late;
};

long long opt_backoff_next(struct opt_backoff *, long long, unsigned);
void opt_backoff_reset(struct opt_backoff *);

#endif
