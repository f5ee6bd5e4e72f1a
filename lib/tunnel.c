/*
 * The tunnel engine.
 *
 * One process, one site, one poll() loop: signals arrive through a
 * signalfd, the session socket, the listen sockets and every job's
 * client socket are polled together, and nothing in the loop blocks
 * (a host name is resolved by a child process).
 *
 * libssh2 allows one outgoing packet in flight per session: after a
 * send that would block, the very same call must be repeated before any
 * other call that sends.  We never let a send block.  The send callback
 * takes every packet whole into the session's output buffer, and the
 * loop writes that buffer to the socket when it is writable; the loop
 * stops feeding channel data while the buffer holds more than OBUF_HIGH
 * bytes, which is the backpressure.  Reads are session-wide: a read on
 * one channel may queue another channel's data inside libssh2, so the
 * loop does not sleep while any channel has data queued there.
 *
 * Security rules: listen ports are bound before privileges are dropped;
 * a client outside `allow` is closed before anything is read from it;
 * a host key is accepted only as ssh.c says.
 */
#define _GNU_SOURCE /* accept4, pipe2: this engine is for Linux */
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libssh2.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "clock.h"
#include "conf.h"
#include "defaults.h"
#include "log.h"
#include "site.h"
#include "ssh.h"
#include "state.h"
#include "throttle.h"
#include "tunnel.h"

/* libssh2_channel_write() sends at most this much in one packet */
#define PKT_MAX 32700
/* client -> site: room for four whole packets per read */
#define UP_BUF (4 * PKT_MAX)
/* site -> client: printer replies are small */
#define DOWN_BUF (32 * 1024)
#define OBUF_HIGH (256 * 1024)
#define CLOSE_WAIT_MS 10000
#define DRAIN_MS 30000
#define BACKOFF_MIN_S 1
#define BACKOFF_MAX_S 60
#define STABLE_MS 60000
#define MAX_ADDRS 8
#define MIN(a, b) ((a) < (b) ? (a) : (b))

enum phase {
	PH_WAIT, /* for the next attempt */
	PH_RESOLVE, /* the resolver child works */
	PH_CONNECT, /* TCP connect in progress */
	PH_HANDSHAKE,
	PH_AUTH,
	PH_KEEPER, /* opening the idle session channel */
	PH_UP,
};

struct listener {
	struct listener *next;
	struct opt_channel conf;
	int fd;
	bool listening;
	bool seen; /* reload: still configured */
	unsigned active;
	unsigned long long jobs, bytes_up, bytes_down;
	char probe[16];
	long long probe_at;
	char last_error[OPT_STATE_ERROR_MAX];
};

enum job_phase {
	JOB_QUEUED, /* waiting for its turn to open a channel */
	JOB_OPENING, /* direct-tcpip open sent */
	JOB_RUNNING,
	JOB_CLOSING, /* channel close sent, waiting for the peer's */
};

struct job {
	struct job *next;
	struct listener *l; /* NULL once its channel is removed */
	int channel_id;
	int fd; /* client; -1 for a probe */
	bool probe;
	enum job_phase phase;
	LIBSSH2_CHANNEL *ch;
	char printer[OPT_HOST_MAX + 1];
	int printer_port;
	char peer[64];
	unsigned char *up, *down; /* UP_BUF and DOWN_BUF, not zeroed */
	size_t up_off, up_len, down_off, down_len;
	bool client_eof, eof_sent, chan_eof, client_shut;
	bool failed;
	char why[OPT_STATE_ERROR_MAX];
	unsigned long long bytes_up, bytes_down, wire_up0, wire_down0;
	long long start_ms, close_ms;
};

struct opt_tunnel {
	struct opt_tunnel_opts opts;
	struct opt_paths paths;
	char site_id[OPT_SITE_ID_MAX + 1];
	struct opt_defaults defaults;
	struct opt_site site;
	struct opt_throttle throttle;
	struct opt_log log;
	char state_path[PATH_MAX];
	char known_hosts[PATH_MAX];
	int sigfd;

	struct listener *listeners;
	struct job *jobs;
	struct job *opening; /* the one job whose channel open is in flight */
	unsigned rr; /* round-robin start for fairness */
	/* wire_down when the last pass began: bytes read during a pass may
	 * hold a reply that another call queued inside libssh2 */
	unsigned long long pass_rx;

	enum phase phase;
	LIBSSH2_SESSION *session;
	int sock;
	struct sockaddr_storage addrs[MAX_ADDRS];
	socklen_t addrlens[MAX_ADDRS];
	int naddrs, addr_i;
	pid_t resolver;
	int resolver_fd;
	long long deadline;
	long long retry_at;
	long long up_since;
	unsigned backoff;
	long long last_rx, last_tx;
	struct opt_bucket up_bucket, down_bucket;
	long long rate_at[5]; /* wire counters a second apart, for rates */
	unsigned long long rate_up[5], rate_down[5];
	unsigned rate_i;
	LIBSSH2_CHANNEL *keeper; /* an idle session channel, see drain() */
	int unread; /* bytes queued in the socket, if no keeper */
	unsigned char *obuf;
	size_t olen, ooff, ocap;
	char pinned_fp[OPT_FP_MAX]; /* accept-new, when known_hosts is read-only
	                             */

	bool draining;
	long long drain_deadline;
	bool probe_pending;
	unsigned probes_running;

	struct opt_state st;
	long long state_written;
	unsigned long long written_up, written_down;
	bool state_dirty;
};

static void
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl != -1)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

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
	struct listener *l;
	struct opt_error e;
	char q[OPT_ERROR_MAX + 8];
	size_t n = 0, i = 0;

	for (l = t->listeners; l != NULL; l = l->next)
		n++;
	if (n > 0 && (cs = calloc(n, sizeof(*cs))) == NULL)
		return;
	for (l = t->listeners; l != NULL; l = l->next, i++) {
		cs[i].id = l->conf.id;
		cs[i].listen = l->conf.listen;
		strlcpy(cs[i].printer, l->conf.printer, sizeof(cs[i].printer));
		cs[i].printer_port = l->conf.printer_port;
		cs[i].active = l->active;
		cs[i].jobs = l->jobs;
		cs[i].bytes_up = l->bytes_up;
		cs[i].bytes_down = l->bytes_down;
		strlcpy(cs[i].probe, l->probe, sizeof(cs[i].probe));
		cs[i].probe_at = l->probe_at;
		strlcpy(cs[i].last_error, l->last_error,
		    sizeof(cs[i].last_error));
	}
	t->st.channels = cs;
	t->st.nchannels = n;
	t->st.updated = time(NULL);
	measure_rates(t);
	if (opt_state_write(t->state_path, &t->st, &e) == -1)
		opt_log(&t->log, OPT_LOG_WARN, "state-write-failed", "error=%s",
		    opt_log_quote(q, sizeof(q), e.text));
	free(cs);
	t->st.channels = NULL;
	t->st.nchannels = 0;
	t->state_written = opt_clock_ms();
	t->state_dirty = false;
}

static unsigned
nchannels(const struct opt_tunnel *t)
{
	const struct listener *l;
	unsigned n = 0;

	for (l = t->listeners; l != NULL; l = l->next)
		n++;
	return n;
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
		    nchannels(t));
	write_state(t);
}

/* --- configuration ---------------------------------------------------- */

static int
load_config(struct opt_tunnel *t, struct opt_site *site,
    struct opt_channels *cs, struct opt_throttle *th, struct opt_error *e)
{
	if (opt_defaults_load(&t->paths, &t->defaults, e) == -1 ||
	    opt_site_load(&t->paths, &t->defaults, t->site_id, site, e) == -1 ||
	    opt_channels_load(&t->paths, t->site_id, cs, e) == -1)
		return -1;
	if (opt_throttle_load(&t->paths, &t->defaults, t->site_id, th, e) ==
	    -1) {
		opt_channels_free(cs);
		return -1;
	}
	return 0;
}

/* --- listeners -------------------------------------------------------- */

static int
sockaddr_of(const char *addr, int port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

static int
bind_listener(struct opt_tunnel *t, struct listener *l, struct opt_error *e)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;

	if (sockaddr_of(t->site.bind, l->conf.listen, &ss, &len) == -1)
		return opt_error_set(e, EX_CONFIG, "bind address %s is invalid",
		    t->site.bind);
	l->fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->fd == -1)
		return opt_error_errno(e, EX_OSERR, "socket");
	(void)setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l->fd, (struct sockaddr *)&ss, len) == -1) {
		opt_error_errno(e, errno == EADDRINUSE ? EX_CANTCREAT : 0,
		    "channel %d: cannot bind port %d on %s", l->conf.id,
		    l->conf.listen, t->site.bind);
		close(l->fd);
		l->fd = -1;
		return -1;
	}
	return 0;
}

/*
 * A bound socket that does not listen refuses connections, as ssh -L
 * did while down; connect(AF_UNSPEC) takes a listening socket back to
 * that state on Linux and keeps its port, so it can be rebound without
 * privileges and nobody can take the port meanwhile.
 */
static void
set_listening(struct opt_tunnel *t, struct listener *l, bool on)
{
	struct sockaddr sa = {.sa_family = AF_UNSPEC};

	if (l->fd == -1 || l->listening == on)
		return;
	if (on) {
		if (listen(l->fd, 64) == -1) {
			opt_log(&t->log, OPT_LOG_ERROR, "listen-failed",
			    "channel=%d port=%d errno=%d", l->conf.id,
			    l->conf.listen, errno);
			return;
		}
	} else {
		(void)connect(l->fd, &sa, sizeof(sa));
	}
	l->listening = on;
}

static void
listen_all(struct opt_tunnel *t, bool on)
{
	struct listener *l;

	for (l = t->listeners; l != NULL; l = l->next)
		set_listening(t, l, on);
}

static struct listener *
new_listener(const struct opt_channel *c)
{
	struct listener *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->conf = *c;
	l->fd = -1;
	strlcpy(l->probe, "unknown", sizeof(l->probe));
	return l;
}

static void
free_listener(struct listener *l)
{
	if (l->fd != -1)
		close(l->fd);
	free(l);
}

/* --- allow ------------------------------------------------------------ */

static bool
in_network(const struct sockaddr_storage *ss, const char *cidr)
{
	unsigned char want[16], have[16];
	char addr[OPT_CIDR_MAX];
	const char *slash = strchr(cidr, '/');
	int bits, family, len, i;

	strlcpy(addr, cidr, sizeof(addr));
	if (slash != NULL)
		addr[slash - cidr] = '\0';
	if (inet_pton(AF_INET, addr, want) == 1)
		family = AF_INET, len = 4;
	else if (inet_pton(AF_INET6, addr, want) == 1)
		family = AF_INET6, len = 16;
	else
		return false;
	bits = slash ? atoi(slash + 1) : len * 8;

	if (ss->ss_family == AF_INET) {
		memcpy(have, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		if (family != AF_INET)
			return false;
	} else {
		const unsigned char *a =
		    ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0,
		    0, 0, 0xff, 0xff};
		if (family == AF_INET && memcmp(a, mapped, 12) == 0)
			memcpy(have, a + 12, 4);
		else if (family == AF_INET6)
			memcpy(have, a, 16);
		else
			return false;
	}
	for (i = 0; bits > 0; i++, bits -= 8) {
		unsigned char mask =
		    bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));
		if ((have[i] & mask) != (want[i] & mask))
			return false;
	}
	return true;
}

static bool
allowed(const struct opt_tunnel *t, const struct sockaddr_storage *ss)
{
	size_t i;

	if (t->site.nallow == 0)
		return true;
	for (i = 0; i < t->site.nallow; i++)
		if (in_network(ss, t->site.allow[i]))
			return true;
	return false;
}

static void
peer_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		port = ntohs(s->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		port = ntohs(s->sin6_port);
	}
	snprintf(buf, len, "%s:%d", a, port);
}

/* --- jobs ------------------------------------------------------------- */

/* A reset, not a clean close: the spooler must retry, not believe the
 * job printed. */
static void
reset_client(int fd)
{
	struct linger lin = {1, 0};

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
	close(fd);
}

static void
unlink_job(struct opt_tunnel *t, struct job *j)
{
	struct job **pp;

	for (pp = &t->jobs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	}
	if (t->opening == j)
		t->opening = NULL;
}

static void
account(struct opt_tunnel *t, struct job *j, const char *event,
    enum opt_log_level level)
{
	char why[OPT_STATE_ERROR_MAX + 8];
	long long ms = opt_clock_ms() - j->start_ms;

	if (j->probe) {
		opt_log(&t->log, j->failed ? OPT_LOG_WARN : OPT_LOG_INFO,
		    j->failed ? "probe-failed" : "probe-ok",
		    "channel=%d ms=%lld%s%s", j->channel_id, ms,
		    j->failed ? " error=" : "",
		    j->failed ? opt_log_quote(why, sizeof(why), j->why) : "");
		return;
	}
	if (j->l != NULL) {
		j->l->active--;
		if (j->failed)
			opt_state_text(j->l->last_error,
			    sizeof(j->l->last_error), j->why);
		else
			j->l->last_error[0] = '\0';
	}
	opt_log(&t->log, level, event,
	    "channel=%d peer=%s bytes_up=%llu bytes_down=%llu wire_up=%llu "
	    "wire_down=%llu ms=%lld%s%s",
	    j->channel_id, j->peer, j->bytes_up, j->bytes_down,
	    t->st.wire_up - j->wire_up0, t->st.wire_down - j->wire_down0, ms,
	    j->failed ? " error=" : "",
	    j->failed ? opt_log_quote(why, sizeof(why), j->why) : "");
	t->state_dirty = true;
}

/* Ends a job whose channel is gone or never was: no libssh2 call. */
static void
drop_job(struct opt_tunnel *t, struct job *j, const char *event)
{
	unlink_job(t, j);
	if (j->fd != -1) {
		if (j->failed)
			reset_client(j->fd);
		else
			close(j->fd);
	}
	account(t, j, event, j->failed ? OPT_LOG_WARN : OPT_LOG_INFO);
	if (j->probe && t->probes_running > 0)
		t->probes_running--;
	free(j->up);
	free(j->down);
	free(j);
}

static void
fail_job(struct job *j, const char *why)
{
	if (!j->failed) {
		j->failed = true;
		strlcpy(j->why, why, sizeof(j->why));
	}
}

/* Starts closing the job's channel; the loop finishes it. */
static void
close_job(struct opt_tunnel *t, struct job *j)
{
	if (j->fd != -1 && j->failed) {
		reset_client(j->fd);
		j->fd = -1;
	}
	if (j->ch == NULL) {
		drop_job(t, j, j->failed ? "job-failed" : "job-done");
		return;
	}
	j->phase = JOB_CLOSING;
	j->close_ms = opt_clock_ms();
}

static struct job *
new_job(struct opt_tunnel *t, struct listener *l, int fd)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	if (fd != -1 &&
	    ((j->up = malloc(UP_BUF)) == NULL ||
	        (j->down = malloc(DOWN_BUF)) == NULL)) {
		free(j->up);
		free(j);
		return NULL;
	}
	j->l = l;
	j->channel_id = l->conf.id;
	j->fd = fd;
	strlcpy(j->printer, l->conf.printer, sizeof(j->printer));
	j->printer_port = l->conf.printer_port;
	j->start_ms = opt_clock_ms();
	j->wire_up0 = t->st.wire_up;
	j->wire_down0 = t->st.wire_down;
	strlcpy(j->peer, "-", sizeof(j->peer));
	/* Appended: channel opens are served in arrival order. */
	if (t->jobs == NULL) {
		t->jobs = j;
	} else {
		struct job *p = t->jobs;
		while (p->next != NULL)
			p = p->next;
		p->next = j;
	}
	return j;
}

static void
accept_jobs(struct opt_tunnel *t, struct listener *l)
{
	struct sockaddr_storage ss;
	char peer[64], q[80];
	int i;

	for (i = 0; i < 16; i++) {
		socklen_t len = sizeof(ss);
		struct job *j;
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd == -1)
			return;
		peer_text(&ss, peer, sizeof(peer));
		if (!allowed(t, &ss)) {
			opt_log(&t->log, OPT_LOG_WARN, "refused",
			    "channel=%d peer=%s reason=not-allowed", l->conf.id,
			    opt_log_quote(q, sizeof(q), peer));
			reset_client(fd);
			continue;
		}
		if ((j = new_job(t, l, fd)) == NULL) {
			reset_client(fd);
			continue;
		}
		strlcpy(j->peer, peer, sizeof(j->peer));
		l->active++;
		l->jobs++;
		t->st.jobs++;
		t->state_dirty = true;
		opt_log(&t->log, OPT_LOG_INFO, "job-start",
		    "channel=%d peer=%s", l->conf.id,
		    opt_log_quote(q, sizeof(q), peer));
	}
}

/* --- session I/O ------------------------------------------------------ */

/*
 * Every packet is taken whole, so libssh2 never sees a send block (see
 * the top of this file).  The loop writes the buffer out.
 */
static ssize_t
send_cb(libssh2_socket_t fd, const void *buf, size_t len, int flags,
    void **abstract)
{
	struct opt_tunnel *t = *abstract;

	(void)fd;
	(void)flags;
	if (t->olen + len > t->ocap) {
		size_t cap = t->ocap ? t->ocap : 65536;
		unsigned char *nb;

		if (t->ooff > 0) {
			memmove(t->obuf, t->obuf + t->ooff, t->olen - t->ooff);
			t->olen -= t->ooff;
			t->ooff = 0;
		}
		while (cap < t->olen + len)
			cap *= 2;
		if (cap != t->ocap) {
			if ((nb = realloc(t->obuf, cap)) == NULL)
				return -ENOMEM;
			t->obuf = nb;
			t->ocap = cap;
		}
	}
	memcpy(t->obuf + t->olen, buf, len);
	t->olen += len;
	return (ssize_t)len;
}

static ssize_t
recv_cb(libssh2_socket_t fd, void *buf, size_t len, int flags, void **abstract)
{
	struct opt_tunnel *t = *abstract;
	ssize_t n = recv(fd, buf, len, flags);

	if (n < 0)
		return -errno;
	if (n > 0) {
		t->st.wire_down += (unsigned long long)n;
		t->last_rx = opt_clock_ms();
		opt_bucket_take(&t->down_bucket, (size_t)n);
	}
	return n;
}

static size_t
obuf_pending(const struct opt_tunnel *t)
{
	return t->olen - t->ooff;
}

/* Under a limit the output buffer holds about one burst, so that
 * keepalives and other channels do not queue behind seconds of data. */
static size_t
obuf_high(const struct opt_tunnel *t)
{
	if (!t->up_bucket.on || t->up_bucket.cap >= OBUF_HIGH)
		return OBUF_HIGH;
	return (size_t)t->up_bucket.cap;
}

static void
apply_throttle(struct opt_tunnel *t)
{
	long long now = opt_clock_ms();

	opt_bucket_set(&t->up_bucket, t->throttle.enabled, t->throttle.up, now);
	opt_bucket_set(&t->down_bucket, t->throttle.enabled, t->throttle.down,
	    now);
}

/* Returns -1 when the socket failed. */
static int
flush_obuf(struct opt_tunnel *t)
{
	while (obuf_pending(t) > 0) {
		size_t len = obuf_pending(t),
		       allow = opt_bucket_allow(&t->up_bucket, opt_clock_ms());
		ssize_t n;

		if (allow == 0)
			return 0; /* the limit: the loop waits for tokens */
		n = send(t->sock, t->obuf + t->ooff, len < allow ? len : allow,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		}
		opt_bucket_take(&t->up_bucket, (size_t)n);
		t->ooff += (size_t)n;
		t->st.wire_up += (unsigned long long)n;
		t->last_tx = opt_clock_ms();
	}
	t->ooff = t->olen = 0;
	return 0;
}

/* --- session lifecycle ------------------------------------------------ */

static long long
dead_after_ms(const struct opt_tunnel *t)
{
	return (long long)t->site.keepalive_interval * t->site.keepalive_count *
	    1000;
}

static long long
setup_ms(const struct opt_tunnel *t)
{
	long long ms = dead_after_ms(t);

	return ms < 10000 ? 10000 : ms;
}

static void
stop_resolver(struct opt_tunnel *t)
{
	if (t->resolver > 0) {
		kill(t->resolver, SIGKILL);
		waitpid(t->resolver, NULL, 0);
		t->resolver = 0;
	}
	if (t->resolver_fd != -1) {
		close(t->resolver_fd);
		t->resolver_fd = -1;
	}
}

/* Drops the session and every job on it; jobs' clients get a reset. */
static void
teardown(struct opt_tunnel *t)
{
	struct job *j;

	listen_all(t, false);
	while ((j = t->jobs) != NULL) {
		if (!j->failed && j->phase != JOB_CLOSING)
			fail_job(j, "session lost");
		j->ch = NULL; /* freed with the session */
		drop_job(t, j,
		    j->phase == JOB_CLOSING && !j->failed ? "job-done"
		                                          : "job-failed");
	}
	t->probes_running = 0;
	t->keeper = NULL; /* freed with the session */
	/*
	 * The socket goes first: libssh2_session_free() closes the channels
	 * left and, without a socket, cannot wait for the peer (it would
	 * answer EAGAIN and free nothing).
	 */
	if (t->sock != -1) {
		close(t->sock);
		t->sock = -1;
	}
	if (t->session != NULL) {
		int tries = 0;

		while (
		    libssh2_session_free(t->session) == LIBSSH2_ERROR_EAGAIN &&
		    ++tries < 100)
			;
		t->session = NULL;
	}
	stop_resolver(t);
	t->olen = t->ooff = 0;
}

/* A failed attempt or a lost session: back off, 1 s to 60 s with
 * jitter, reset once a session stayed up a minute. */
static void
session_failed(struct opt_tunnel *t, const char *event, const char *why,
    bool mismatch)
{
	char q[OPT_STATE_ERROR_MAX + 8];
	long long now = opt_clock_ms(), delay;

	if (t->phase == PH_UP && now - t->up_since >= STABLE_MS)
		t->backoff = 0;
	teardown(t);
	delay = (long long)BACKOFF_MIN_S << (t->backoff < 6 ? t->backoff : 6);
	if (delay > BACKOFF_MAX_S)
		delay = BACKOFF_MAX_S;
	delay = delay * 1000 * (80 + random() % 41) / 100; /* +-20% */
	if (t->backoff < 16)
		t->backoff++;
	t->retry_at = now + delay;
	t->phase = PH_WAIT;
	t->st.reconnects++;
	opt_log(&t->log, mismatch ? OPT_LOG_ERROR : OPT_LOG_WARN, event,
	    "reason=%s", opt_log_quote(q, sizeof(q), why));
	opt_log(&t->log, OPT_LOG_INFO, "retry", "delay_ms=%lld attempt=%u",
	    delay, t->backoff);
	if (t->draining)
		return;
	set_state(t, mismatch ? OPT_TS_HOSTKEY_MISMATCH : OPT_TS_RETRYING, why);
}

static int
set_addrs_numeric(struct opt_tunnel *t)
{
	struct addrinfo hints = {0}, *res, *ai;
	char port[8];

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", t->site.port);
	if (getaddrinfo(t->site.host, port, &hints, &res) != 0)
		return -1;
	t->naddrs = 0;
	for (ai = res; ai != NULL && t->naddrs < MAX_ADDRS; ai = ai->ai_next) {
		memcpy(&t->addrs[t->naddrs], ai->ai_addr, ai->ai_addrlen);
		t->addrlens[t->naddrs++] = ai->ai_addrlen;
	}
	freeaddrinfo(res);
	return 0;
}

/*
 * getaddrinfo() blocks, so a name is resolved by a child that writes
 * the addresses to a pipe; the loop reads them when they come.
 */
static void
start_resolver(struct opt_tunnel *t)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) == -1) {
		session_failed(t, "resolve-failed", strerror(errno), false);
		return;
	}
	t->resolver = fork();
	if (t->resolver == -1) {
		close(p[0]);
		close(p[1]);
		t->resolver = 0;
		session_failed(t, "resolve-failed", strerror(errno), false);
		return;
	}
	if (t->resolver == 0) {
		struct addrinfo hints = {0}, *res, *ai;
		char port[8];
		int n = 0;

		close(p[0]);
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_NUMERICSERV;
		snprintf(port, sizeof(port), "%d", t->site.port);
		if (getaddrinfo(t->site.host, port, &hints, &res) != 0)
			_exit(1);
		for (ai = res; ai != NULL && n < MAX_ADDRS;
		     ai = ai->ai_next, n++) {
			struct sockaddr_storage ss = {0};
			socklen_t len = ai->ai_addrlen;
			memcpy(&ss, ai->ai_addr, len);
			if (write(p[1], &len, sizeof(len)) != sizeof(len) ||
			    write(p[1], &ss, sizeof(ss)) != sizeof(ss))
				_exit(1);
		}
		_exit(0);
	}
	close(p[1]);
	t->resolver_fd = p[0];
	set_nonblock(t->resolver_fd);
	t->phase = PH_RESOLVE;
}

static void connect_next(struct opt_tunnel *);

static void
resolver_done(struct opt_tunnel *t)
{
	char q[300];
	socklen_t len;
	int status = 0;

	t->naddrs = 0;
	while (t->naddrs < MAX_ADDRS &&
	    read(t->resolver_fd, &len, sizeof(len)) == sizeof(len) &&
	    read(t->resolver_fd, &t->addrs[t->naddrs], sizeof(t->addrs[0])) ==
	        sizeof(t->addrs[0]))
		t->addrlens[t->naddrs++] = len;
	waitpid(t->resolver, &status, 0);
	t->resolver = 0;
	close(t->resolver_fd);
	t->resolver_fd = -1;
	if (t->naddrs == 0) {
		snprintf(q, sizeof(q), "cannot resolve %s", t->site.host);
		session_failed(t, "resolve-failed", q, false);
		return;
	}
	t->addr_i = 0;
	connect_next(t);
}

static void
start_attempt(struct opt_tunnel *t)
{
	struct opt_error e;
	char q[300];

	opt_log(&t->log, OPT_LOG_INFO, "connect", "host=%s port=%d",
	    opt_log_quote(q, sizeof(q), t->site.host), t->site.port);
	if (t->st.state != OPT_TS_RETRYING &&
	    t->st.state != OPT_TS_HOSTKEY_MISMATCH)
		set_state(t, OPT_TS_CONNECTING, NULL);
	/* Checked on every attempt: the key may be fixed meanwhile. */
	if (opt_identity_check(t->site.identity, &e) == -1) {
		session_failed(t, "identity-refused", e.text, false);
		return;
	}
	t->deadline = opt_clock_ms() + setup_ms(t);
	if (set_addrs_numeric(t) == 0) {
		t->addr_i = 0;
		connect_next(t);
	} else {
		start_resolver(t);
	}
}

static void
tune_socket(struct opt_tunnel *t)
{
	int one = 1, idle = t->site.keepalive_interval,
	    cnt = t->site.keepalive_count;
	unsigned timeout = (unsigned)dead_after_ms(t);

	(void)setsockopt(t->sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(t->sock, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	(void)setsockopt(t->sock, IPPROTO_TCP, TCP_KEEPIDLE, &idle,
	    sizeof(idle));
	(void)setsockopt(t->sock, IPPROTO_TCP, TCP_KEEPINTVL, &idle,
	    sizeof(idle));
	(void)setsockopt(t->sock, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	(void)setsockopt(t->sock, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout,
	    sizeof(timeout));
}

static void
connect_next(struct opt_tunnel *t)
{
	const struct sockaddr_storage *ss;

	if (t->sock != -1) {
		close(t->sock);
		t->sock = -1;
	}
	for (; t->addr_i < t->naddrs; t->addr_i++) {
		ss = &t->addrs[t->addr_i];
		t->sock = socket(ss->ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (t->sock == -1)
			continue;
		tune_socket(t);
		if (connect(t->sock, (const struct sockaddr *)ss,
		        t->addrlens[t->addr_i]) == 0 ||
		    errno == EINPROGRESS) {
			t->phase = PH_CONNECT;
			return;
		}
		close(t->sock);
		t->sock = -1;
	}
	session_failed(t, "connect-failed", "cannot connect", false);
}

static void
start_handshake(struct opt_tunnel *t)
{
	static const char *const comp = "zlib@openssh.com,zlib,none";

	t->session = libssh2_session_init_ex(NULL, NULL, NULL, t);
	if (t->session == NULL) {
		session_failed(t, "connect-failed", "out of memory", false);
		return;
	}
	libssh2_session_callback_set(t->session, LIBSSH2_CALLBACK_SEND,
	    (void *)send_cb);
	libssh2_session_callback_set(t->session, LIBSSH2_CALLBACK_RECV,
	    (void *)recv_cb);
	libssh2_session_set_blocking(t->session, 0);
	libssh2_session_method_pref(t->session, LIBSSH2_METHOD_HOSTKEY,
	    OPT_HOSTKEY_METHODS);
	if (t->site.compression) {
		libssh2_session_flag(t->session, LIBSSH2_FLAG_COMPRESS, 1);
		libssh2_session_method_pref(t->session, LIBSSH2_METHOD_COMP_CS,
		    comp);
		libssh2_session_method_pref(t->session, LIBSSH2_METHOD_COMP_SC,
		    comp);
	}
	t->last_rx = opt_clock_ms();
	t->phase = PH_HANDSHAKE;
}

static bool
session_broken(int r)
{
	return r == LIBSSH2_ERROR_SOCKET_SEND ||
	    r == LIBSSH2_ERROR_SOCKET_RECV ||
	    r == LIBSSH2_ERROR_SOCKET_DISCONNECT ||
	    r == LIBSSH2_ERROR_TIMEOUT || r == LIBSSH2_ERROR_BAD_USE ||
	    r == LIBSSH2_ERROR_DECRYPT || r == LIBSSH2_ERROR_ALLOC;
}

static const char *
ssh_error(LIBSSH2_SESSION *s)
{
	char *msg = NULL;

	libssh2_session_last_error(s, &msg, NULL, 0);
	return msg != NULL && *msg != '\0' ? msg : "unknown error";
}

/* Returns 0 to go on to authentication. */
static int
check_hostkey(struct opt_tunnel *t)
{
	char fp[OPT_FP_MAX], old[OPT_FP_MAX], why[PATH_MAX + 600];
	char q[OPT_ERROR_MAX + 8];
	struct opt_ssh_hostkey k;
	struct opt_error e;
	int r;

	if (opt_hostkey_get(t->session, &k) == -1) {
		session_failed(t, "hostkey-failed", "no host key", false);
		return -1;
	}
	opt_fingerprint(k.blob, k.len, fp, sizeof(fp));
	if (t->site.host_key_check == OPT_HOSTKEY_OFF) {
		opt_log(&t->log, OPT_LOG_WARN, "hostkey-unchecked",
		    "type=%s fingerprint=%s", k.name, fp);
		return 0;
	}
	r = opt_knownhosts_check(t->known_hosts, t->site.host, t->site.port, &k,
	    old, sizeof(old), &e);
	if (r == -1) {
		session_failed(t, "hostkey-failed", e.text, false);
		return -1;
	}
	if (r == OPT_HK_NOTFOUND && t->pinned_fp[0] != '\0') {
		/* Pinned in memory only (known_hosts was not writable). */
		if (strcmp(t->pinned_fp, fp) == 0)
			return 0;
		r = OPT_HK_MISMATCH;
		strlcpy(old, t->pinned_fp, sizeof(old));
	}
	if (r == OPT_HK_MATCH)
		return 0;
	if (r == OPT_HK_MISMATCH) {
		opt_log(&t->log, OPT_LOG_ERROR, "hostkey-mismatch",
		    "type=%s fingerprint=%s pinned=%s file=%s", k.name, fp,
		    old[0] ? old : "unknown",
		    opt_log_quote(q, sizeof(q), t->known_hosts));
		snprintf(why, sizeof(why),
		    "host key %s does not match the pinned %s", fp,
		    old[0] ? old : "key");
		session_failed(t, "down", why, true);
		return -1;
	}
	if (t->site.host_key_check == OPT_HOSTKEY_STRICT) {
		snprintf(why, sizeof(why),
		    "host key %s is not pinned in %s (host_key_check = "
		    "strict; see opt-site trust)",
		    fp, t->known_hosts);
		opt_log(&t->log, OPT_LOG_ERROR, "hostkey-unknown",
		    "type=%s fingerprint=%s", k.name, fp);
		session_failed(t, "down", why, false);
		return -1;
	}
	if (opt_knownhosts_pin(t->known_hosts, t->site.host, t->site.port, &k,
	        &e) == -1) {
		strlcpy(t->pinned_fp, fp, sizeof(t->pinned_fp));
		opt_log(&t->log, OPT_LOG_WARN, "hostkey-pinned-in-memory",
		    "type=%s fingerprint=%s error=%s", k.name, fp,
		    opt_log_quote(q, sizeof(q), e.text));
		return 0;
	}
	opt_log(&t->log, OPT_LOG_INFO, "hostkey-pinned",
	    "type=%s fingerprint=%s", k.name, fp);
	return 0;
}

static void
session_up(struct opt_tunnel *t)
{
	const char *comp;

	comp = libssh2_session_methods(t->session, LIBSSH2_METHOD_COMP_CS);
	strlcpy(t->st.compression, comp ? comp : "none",
	    sizeof(t->st.compression));
	libssh2_keepalive_config(t->session, 1,
	    (unsigned)t->site.keepalive_interval);
	t->phase = PH_UP;
	t->up_since = opt_clock_ms();
	t->last_rx = t->up_since;
	t->last_tx = t->up_since;
	t->unread = 0;
	listen_all(t, true);
	opt_log(&t->log, OPT_LOG_INFO, "up", "compression=%s channels=%u",
	    t->st.compression, nchannels(t));
	t->st.last_error[0] = '\0';
	set_state(t, OPT_TS_UP, NULL);
}

/* One step of connect, handshake or authentication. */
static void
setup_step(struct opt_tunnel *t, short revents)
{
	char why[PATH_MAX + 600];
	int r, err;
	socklen_t len = sizeof(err);

	switch (t->phase) {
	case PH_RESOLVE:
		if (revents)
			resolver_done(t);
		return;
	case PH_CONNECT:
		if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
			return;
		if (getsockopt(t->sock, SOL_SOCKET, SO_ERROR, &err, &len) ==
		        -1 ||
		    err != 0) {
			snprintf(why, sizeof(why),
			    "cannot connect to %s port %d: %s", t->site.host,
			    t->site.port, strerror(err));
			if (++t->addr_i < t->naddrs) {
				connect_next(t);
				return;
			}
			session_failed(t, "connect-failed", why, false);
			return;
		}
		start_handshake(t);
		/* FALLTHROUGH */
	case PH_HANDSHAKE:
		r = libssh2_session_handshake(t->session, t->sock);
		if (r == LIBSSH2_ERROR_EAGAIN)
			return;
		if (r != 0) {
			snprintf(why, sizeof(why), "ssh handshake failed: %s",
			    ssh_error(t->session));
			session_failed(t, "connect-failed", why, false);
			return;
		}
		if (check_hostkey(t) == -1)
			return;
		t->phase = PH_AUTH;
		/* FALLTHROUGH */
	case PH_AUTH:
		r = libssh2_userauth_publickey_fromfile_ex(t->session,
		    t->site.user, (unsigned)strlen(t->site.user), NULL,
		    t->site.identity, NULL);
		if (r == LIBSSH2_ERROR_EAGAIN)
			return;
		if (r != 0) {
			snprintf(why, sizeof(why),
			    "authentication as %s with %s failed: %s",
			    t->site.user, t->site.identity,
			    ssh_error(t->session));
			opt_log(&t->log, OPT_LOG_ERROR, "auth-failed",
			    "user=%s", t->site.user);
			session_failed(t, "down", why, false);
			return;
		}
		opt_log(&t->log, OPT_LOG_INFO, "auth",
		    "user=%s method=publickey", t->site.user);
		t->phase = PH_KEEPER;
		/* FALLTHROUGH */
	case PH_KEEPER:
		t->keeper = libssh2_channel_open_session(t->session);
		if (t->keeper == NULL) {
			r = libssh2_session_last_errno(t->session);
			if (r == LIBSSH2_ERROR_EAGAIN)
				return;
			if (session_broken(r)) {
				session_failed(t, "down", ssh_error(t->session),
				    false);
				return;
			}
			opt_log(&t->log, OPT_LOG_WARN, "no-idle-channel",
			    "error=%s",
			    opt_log_quote(why, sizeof(why),
			        ssh_error(t->session)));
		}
		session_up(t);
		return;
	default:
		return;
	}
}

/* --- forwarding ------------------------------------------------------- */

/*
 * direct-tcpip, as libssh2_channel_direct_tcpip_ex opens it, but with
 * our receive window: under a download limit it is small, since what
 * the site may send unasked is the window (RFC 4254 7.2).
 */
static LIBSSH2_CHANNEL *
open_direct(struct opt_tunnel *t, struct job *j)
{
	unsigned char msg[OPT_HOST_MAX + 64], *p = msg;
	size_t hl = strlen(j->printer);
	unsigned window = LIBSSH2_CHANNEL_WINDOW_DEFAULT;

	if (t->down_bucket.on && 2 * t->down_bucket.cap < window)
		window = (unsigned)(2 * t->down_bucket.cap) < 65536
		    ? 65536
		    : (unsigned)(2 * t->down_bucket.cap);
	p[0] = (unsigned char)(hl >> 24), p[1] = (unsigned char)(hl >> 16);
	p[2] = (unsigned char)(hl >> 8), p[3] = (unsigned char)hl;
	memcpy(p + 4, j->printer, hl);
	p += 4 + hl;
	p[0] = 0, p[1] = 0, p[2] = (unsigned char)(j->printer_port >> 8);
	p[3] = (unsigned char)j->printer_port;
	p += 4;
	memcpy(p,
	    "\0\0\0\x09"
	    "127.0.0.1"
	    "\0\0\0\0",
	    17);
	p += 17;
	return libssh2_channel_open_ex(t->session, "direct-tcpip",
	    sizeof("direct-tcpip") - 1, window, LIBSSH2_CHANNEL_PACKET_DEFAULT,
	    (char *)msg, (unsigned)(p - msg));
}

/* Returns -1 when the session is broken. */
static int
open_step(struct opt_tunnel *t)
{
	struct job *j = t->opening;
	char why[400];
	int r;

	if (j == NULL) {
		for (j = t->jobs; j != NULL && j->phase != JOB_QUEUED;
		     j = j->next)
			;
		if (j == NULL || t->draining)
			return 0;
		t->opening = j;
		j->phase = JOB_OPENING;
	}
	j->ch = open_direct(t, j);
	if (j->ch != NULL) {
		t->opening = NULL;
		j->phase = JOB_RUNNING;
		if (j->probe) {
			if (j->l != NULL) {
				strlcpy(j->l->probe, "ok", sizeof(j->l->probe));
				j->l->probe_at = time(NULL);
				j->l->last_error[0] = '\0';
			}
			close_job(t, j);
		}
		return 0;
	}
	r = libssh2_session_last_errno(t->session);
	if (r == LIBSSH2_ERROR_EAGAIN)
		return flush_obuf(t); /* the open goes on the wire now */
	t->opening = NULL;
	if (session_broken(r))
		return -1;
	snprintf(why, sizeof(why),
	    "cannot reach printer %s:%d from the site: %s", j->printer,
	    j->printer_port, ssh_error(t->session));
	fail_job(j, why);
	if (j->probe && j->l != NULL) {
		strlcpy(j->l->probe, "failed", sizeof(j->l->probe));
		j->l->probe_at = time(NULL);
		opt_state_text(j->l->last_error, sizeof(j->l->last_error), why);
	}
	drop_job(t, j, j->probe ? "probe-failed" : "job-failed");
	return 0;
}

static void
compact(unsigned char *buf, size_t size, size_t *off, size_t *len)
{
	if (*off == *len) {
		*off = *len = 0;
	} else if (*off > size / 2) {
		memmove(buf, buf + *off, *len - *off);
		*len -= *off;
		*off = 0;
	}
}

/* Moves what can move for one running job; -1 when the session broke. */
static int
pump(struct opt_tunnel *t, struct job *j)
{
	size_t sent, room;
	ssize_t n;
	bool more = false; /* the client had more than the buffer took */

	/* client -> up buffer */
	compact(j->up, UP_BUF, &j->up_off, &j->up_len);
	if (!j->client_eof && j->up_len < UP_BUF) {
		size_t want = UP_BUF - j->up_len;

		n = read(j->fd, j->up + j->up_len, want);
		if (n > 0) {
			j->up_len += (size_t)n;
			more = (size_t)n == want;
		} else if (n == 0) {
			j->client_eof = true;
		} else if (errno != EAGAIN && errno != EINTR) {
			fail_job(j, "client connection aborted");
			close_job(t, j);
			return 0;
		}
	}
	/* up buffer -> channel, while the session's output has room; under
	 * a limit a job takes half the room per pass, so jobs take turns */
	sent = 0;
	while (j->up_off < j->up_len && obuf_pending(t) < obuf_high(t) &&
	    (!t->up_bucket.on || sent < obuf_high(t) / 2)) {
		size_t len = j->up_len - j->up_off;

		/* Whole packets while the client keeps sending: a short
		 * tail waits for the next read (work_pending() makes that
		 * pass come at once) instead of becoming a packet of its
		 * own, with its own MAC, padding and flush. */
		if (more && len < PKT_MAX)
			break;
		if (t->up_bucket.on && len > obuf_high(t) / 2)
			len = obuf_high(t) / 2;
		n = libssh2_channel_write(j->ch, (char *)j->up + j->up_off,
		    len);
		if (n > 0) {
			sent += (size_t)n;
			j->up_off += (size_t)n;
			j->bytes_up += (unsigned long long)n;
			t->st.payload_up += (unsigned long long)n;
			if (j->l != NULL)
				j->l->bytes_up += (unsigned long long)n;
			continue;
		}
		if (n == 0 || n == LIBSSH2_ERROR_EAGAIN)
			break; /* the channel's window is full */
		if (session_broken((int)n))
			return -1;
		fail_job(j, "printer connection closed during the job");
		close_job(t, j);
		return 0;
	}
	compact(j->up, UP_BUF, &j->up_off, &j->up_len);
	if (j->client_eof && j->up_off == j->up_len && !j->eof_sent) {
		n = libssh2_channel_send_eof(j->ch);
		if (n == 0)
			j->eof_sent = true;
		else if (n != LIBSSH2_ERROR_EAGAIN) {
			if (session_broken((int)n))
				return -1;
			fail_job(j, "cannot end the job on the printer side");
			close_job(t, j);
			return 0;
		}
	}
	/* channel -> down buffer; under a limit only as much as the
	 * tokens allow: what is not read is not acknowledged, and the site
	 * stops sending once the channel's window is used up */
	compact(j->down, DOWN_BUF, &j->down_off, &j->down_len);
	while (!j->chan_eof && j->down_len < DOWN_BUF &&
	    (room = opt_bucket_allow(&t->down_bucket, opt_clock_ms())) > 0) {
		if (room > DOWN_BUF - j->down_len)
			room = DOWN_BUF - j->down_len;
		n = libssh2_channel_read(j->ch, (char *)j->down + j->down_len,
		    room);
		if (n > 0) {
			j->down_len += (size_t)n;
			j->bytes_down += (unsigned long long)n;
			t->st.payload_down += (unsigned long long)n;
			if (j->l != NULL)
				j->l->bytes_down += (unsigned long long)n;
			continue;
		}
		if (n == 0 || n == LIBSSH2_ERROR_EAGAIN) {
			if (libssh2_channel_eof(j->ch))
				j->chan_eof = true;
			break;
		}
		if (session_broken((int)n))
			return -1;
		j->chan_eof = true;
	}
	/* down buffer -> client */
	while (j->down_off < j->down_len) {
		n = send(j->fd, j->down + j->down_off,
		    j->down_len - j->down_off, MSG_NOSIGNAL);
		if (n > 0) {
			j->down_off += (size_t)n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		/* Once the whole job went out, a client that no longer
		 * reads the printer's reply does not fail it. */
		if (!j->eof_sent)
			fail_job(j, "client connection lost");
		close_job(t, j);
		return 0;
	}
	compact(j->down, DOWN_BUF, &j->down_off, &j->down_len);
	if (j->chan_eof && j->down_off == j->down_len) {
		if (!j->client_eof || j->up_off < j->up_len) {
			fail_job(j,
			    "the printer closed before the end of the "
			    "job");
			close_job(t, j);
			return 0;
		}
		if (!j->client_shut) {
			shutdown(j->fd, SHUT_WR);
			j->client_shut = true;
		}
		if (j->eof_sent)
			close_job(t, j);
	}
	return 0;
}

/* Returns -1 when the session broke. */
static int
close_step(struct opt_tunnel *t, struct job *j)
{
	int r = libssh2_channel_free(j->ch);

	if (r == LIBSSH2_ERROR_EAGAIN) {
		if (opt_clock_ms() - j->close_ms > CLOSE_WAIT_MS)
			return -1; /* the peer never closes: drop it all */
		return 0;
	}
	j->ch = NULL;
	if (session_broken(r))
		return -1;
	drop_job(t, j, j->failed ? "job-failed" : "job-done");
	return 0;
}

static void
start_probes(struct opt_tunnel *t)
{
	struct listener *l;
	struct job *j;

	t->probe_pending = false;
	for (l = t->listeners; l != NULL; l = l->next) {
		if (l->active > 0) {
			/* A running job proves the printer is reachable. */
			strlcpy(l->probe, "ok", sizeof(l->probe));
			l->probe_at = time(NULL);
			continue;
		}
		if ((j = new_job(t, l, -1)) == NULL)
			continue;
		j->probe = true;
		t->probes_running++;
	}
	if (t->probes_running == 0) {
		t->st.probes++;
		write_state(t);
	}
}

/* A probe round ends when no probe is left. */
static void
probes_check(struct opt_tunnel *t, unsigned before)
{
	if (before > 0 && t->probes_running == 0) {
		t->st.probes++;
		opt_log(&t->log, OPT_LOG_INFO, "probed", "channels=%u",
		    nchannels(t));
		write_state(t);
	}
}

/*
 * libssh2 reads the socket only inside calls made for a channel, so an
 * idle session would leave keepalive replies unread: a read on the idle
 * session channel makes it read everything that came.  Without one (the
 * site refused it), arriving bytes still show the peer is alive.
 */
static int
drain(struct opt_tunnel *t, bool readable)
{
	char buf[256];
	ssize_t n;
	int q = 0;

	if (t->keeper == NULL) {
		if (ioctl(t->sock, FIONREAD, &q) == 0 && q != t->unread) {
			if (q > t->unread)
				t->last_rx = opt_clock_ms();
			t->unread = q;
		}
		return 0;
	}
	if (!readable)
		return 0; /* no recv() that can only say EAGAIN */
	while ((n = libssh2_channel_read(t->keeper, buf, sizeof(buf))) > 0)
		;
	if (n < 0 && n != LIBSSH2_ERROR_EAGAIN && session_broken((int)n))
		return -1;
	if (libssh2_channel_eof(t->keeper))
		t->keeper = NULL; /* freed with the session */
	return 0;
}

/* Returns -1 when the session broke. */
static int
forward(struct opt_tunnel *t, bool readable)
{
	struct job *j, *next;
	unsigned probes = t->probes_running, i = 0, start;
	size_t count = 0;

	t->pass_rx = t->st.wire_down;
	if (drain(t, readable) == -1 || open_step(t) == -1)
		return -1;
	/*
	 * Round robin: the pass starts after the job that last moved bytes.
	 * Under a limit the room a refill opens goes to whoever comes
	 * first; turning by passes instead would hand it to the same job
	 * whenever passes come in pairs (a refill, then a client wakeup).
	 */
	for (j = t->jobs; j != NULL; j = j->next)
		count++;
	start = count ? t->rr % (unsigned)count : 0;
	for (i = 0; i < 2; i++) {
		unsigned k = 0;
		for (j = t->jobs; j != NULL; j = next, k++) {
			unsigned long long moved =
			    t->st.payload_up + t->st.payload_down;

			next = j->next;
			if ((i == 0) != (k >= start))
				continue;
			if (j->phase == JOB_RUNNING && !j->probe &&
			    pump(t, j) == -1)
				return -1;
			if (j->phase == JOB_CLOSING && close_step(t, j) == -1)
				return -1;
			if (t->st.payload_up + t->st.payload_down != moved)
				t->rr = k + 1;
		}
	}
	probes_check(t, probes);
	return 0;
}

/*
 * Whether a pass can move data without waiting for the sockets: libssh2
 * holds data a channel can take, or a channel's window opened (a window
 * adjust is often read by another channel's call, leaving nothing to
 * poll for).
 */
static bool
work_pending(const struct opt_tunnel *t)
{
	const struct job *j;

	for (j = t->jobs; j != NULL; j = j->next) {
		unsigned long avail = 0;

		if (j->phase != JOB_RUNNING || j->probe)
			continue;
		if (j->up_off < j->up_len && obuf_pending(t) < obuf_high(t) &&
		    libssh2_channel_window_write_ex(j->ch, NULL) > 0)
			return true;
		if (j->chan_eof || j->down_len >= DOWN_BUF ||
		    (t->down_bucket.on && t->down_bucket.tokens < 1))
			continue;
		libssh2_channel_window_read_ex(j->ch, &avail, NULL);
		if (avail > 0)
			return true;
	}
	return false;
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

/*
 * SIGHUP: the site's files again.  Listeners come and go with their
 * channels; running jobs keep going; the session is kept unless how to
 * reach the site changed.  A broken file changes nothing.
 */
static void
reload(struct opt_tunnel *t)
{
	struct opt_channels cs;
	struct opt_throttle th;
	struct opt_site site;
	struct opt_error e;
	struct listener *l, **pp;
	char q[OPT_ERROR_MAX + 8];
	bool reconnect, rebind;
	size_t i;

	if (opt_log_reopen(&t->log, &e) == -1) /* the old file is kept */
		opt_log(&t->log, OPT_LOG_ERROR, "log-reopen-failed", "error=%s",
		    opt_log_quote(q, sizeof(q), e.text));
	if (load_config(t, &site, &cs, &th, &e) == -1) {
		opt_log(&t->log, OPT_LOG_ERROR, "reload-failed", "error=%s",
		    opt_log_quote(q, sizeof(q), e.text));
		return;
	}
	reconnect = connection_changed(&t->site, &site);
	rebind = strcmp(t->site.bind, site.bind) != 0;
	t->site = site;
	t->throttle = th;
	apply_throttle(t);

	for (l = t->listeners; l != NULL; l = l->next)
		l->seen = false;
	for (i = 0; i < cs.n; i++) {
		const struct opt_channel *c = &cs.v[i];

		for (l = t->listeners; l != NULL; l = l->next)
			if (l->conf.id == c->id)
				break;
		if (l != NULL && (rebind || l->conf.listen != c->listen)) {
			close(l->fd);
			l->fd = -1;
			l->listening = false;
		}
		if (l == NULL) {
			if ((l = new_listener(c)) == NULL)
				continue;
			l->next = t->listeners;
			t->listeners = l;
			opt_log(&t->log, OPT_LOG_INFO, "channel-added",
			    "channel=%d listen=%d", c->id, c->listen);
		}
		l->conf = *c;
		l->seen = true;
		if (l->fd == -1 && bind_listener(t, l, &e) == -1) {
			opt_log(&t->log, OPT_LOG_ERROR, "bind-failed",
			    "channel=%d error=%s", c->id,
			    opt_log_quote(q, sizeof(q), e.text));
			opt_state_text(l->last_error, sizeof(l->last_error),
			    e.text);
		}
		if (t->phase == PH_UP && !t->draining)
			set_listening(t, l, true);
	}
	opt_channels_free(&cs);
	for (pp = &t->listeners; (l = *pp) != NULL;) {
		struct job *j;

		if (l->seen) {
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		for (j = t->jobs; j != NULL; j = j->next)
			if (j->l == l)
				j->l = NULL; /* it runs on to its end */
		opt_log(&t->log, OPT_LOG_INFO, "channel-removed", "channel=%d",
		    l->conf.id);
		free_listener(l);
	}
	opt_log(&t->log, OPT_LOG_INFO, "reloaded", "channels=%u reconnect=%s",
	    nchannels(t), reconnect ? "yes" : "no");
	if (t->phase == PH_WAIT) {
		/* Whatever kept it down may be fixed now: try at once. */
		t->backoff = 0;
		t->retry_at = opt_clock_ms();
	}
	if (reconnect && t->phase != PH_WAIT) {
		t->backoff = 0;
		session_failed(t, "down", "connection settings changed", false);
		t->retry_at = opt_clock_ms();
	}
	set_state(t, t->st.state, NULL);
}

/* --- signals and the loop --------------------------------------------- */

static unsigned
njobs(const struct opt_tunnel *t)
{
	const struct job *j;
	unsigned n = 0;

	for (j = t->jobs; j != NULL; j = j->next)
		n += !j->probe;
	return n;
}

static void
start_drain(struct opt_tunnel *t)
{
	struct job *j, *next;

	if (t->draining)
		return;
	t->draining = true;
	t->drain_deadline = opt_clock_ms() + DRAIN_MS;
	listen_all(t, false);
	for (j = t->jobs; j != NULL; j = next) {
		next = j->next;
		if (j->phase == JOB_QUEUED) {
			fail_job(j, "tunnel stopping");
			drop_job(t, j, "job-failed");
		}
	}
	opt_log(&t->log, OPT_LOG_INFO, "draining", "jobs=%u", njobs(t));
	if (t->phase == PH_UP)
		set_state(t, OPT_TS_DRAINING, NULL);
}

static bool
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
	return t->draining;
}

/* Cuts what is left when the drain time is over. */
static void
cut_jobs(struct opt_tunnel *t)
{
	struct job *j;

	while ((j = t->jobs) != NULL) {
		fail_job(j, "cut: still running when the drain time ended");
		j->ch = NULL;
		drop_job(t, j, "job-cut");
	}
}

static bool
closing_jobs(const struct opt_tunnel *t)
{
	const struct job *j;

	for (j = t->jobs; j != NULL; j = j->next)
		if (j->phase == JOB_CLOSING)
			return true;
	return false;
}

static int
poll_timeout(struct opt_tunnel *t, long long now)
{
	long long until = now + 1000;

	if (t->phase == PH_WAIT && t->retry_at < until)
		until = t->retry_at;
	if (t->draining && t->drain_deadline < until)
		until = t->drain_deadline;
	if (t->phase == PH_UP && work_pending(t))
		until = now;
	/* A channel open's or close's answer read by another channel's
	 * call waits inside libssh2, with nothing left to poll for. */
	if (t->phase == PH_UP && t->st.wire_down != t->pass_rx &&
	    (t->opening != NULL || closing_jobs(t)))
		until = now;
	/* Under a limit, wake when tokens come (at once if they came
	 * since build_poll() left POLLOUT out). */
	if (t->phase == PH_UP && obuf_pending(t) > 0 && t->up_bucket.on) {
		opt_bucket_allow(&t->up_bucket, now);
		until = MIN(until,
		    now +
		        opt_bucket_wait(&t->up_bucket,
		            MIN(obuf_pending(t), 4096)));
	}
	if (t->phase == PH_UP && t->jobs != NULL && t->down_bucket.on &&
	    opt_bucket_allow(&t->down_bucket, now) == 0)
		until =
		    MIN(until, now + opt_bucket_wait(&t->down_bucket, 4096));
	return until <= now ? 0 : (int)(until - now);
}

/* Each pass: what to poll for on every descriptor. */
static nfds_t
build_poll(struct opt_tunnel *t, struct pollfd *pfd, size_t cap,
    struct job **jobs, struct listener **ls, size_t *nl)
{
	struct listener *l;
	struct job *j;
	nfds_t n = 0;

	pfd[n].fd = t->sigfd;
	pfd[n++].events = POLLIN;
	pfd[n].fd = -1;
	pfd[n].events = 0;
	if (t->phase == PH_RESOLVE) {
		pfd[n].fd = t->resolver_fd;
		pfd[n].events = POLLIN;
	} else if (t->phase == PH_CONNECT) {
		pfd[n].fd = t->sock;
		pfd[n].events = POLLOUT;
	} else if (t->sock != -1) {
		pfd[n].fd = t->sock;
		if (t->phase != PH_UP || t->keeper != NULL || t->jobs != NULL)
			pfd[n].events = POLLIN;
		if (obuf_pending(t) > 0 &&
		    opt_bucket_allow(&t->up_bucket, opt_clock_ms()) > 0)
			pfd[n].events |= POLLOUT;
	}
	n++;
	*nl = 0;
	for (l = t->listeners; l != NULL && n < cap; l = l->next) {
		if (!l->listening)
			continue;
		ls[(*nl)++] = l;
		pfd[n].fd = l->fd;
		pfd[n++].events = POLLIN;
	}
	for (j = t->jobs; j != NULL && n < cap; j = j->next) {
		short ev = 0;

		if (j->fd == -1 || j->phase != JOB_RUNNING)
			continue;
		if (!j->client_eof && j->up_len < UP_BUF)
			ev |= POLLIN;
		if (j->down_off < j->down_len)
			ev |= POLLOUT;
		jobs[n] = j;
		pfd[n].fd = j->fd;
		pfd[n++].events = ev;
	}
	return n;
}

int
opt_tunnel_run(struct opt_tunnel *t, struct opt_error *e)
{
	struct pollfd *pfd = NULL;
	struct job **jobs = NULL;
	struct listener **ls = NULL;
	size_t cap = 0;

	(void)e;
	opt_log(&t->log, OPT_LOG_INFO, "start", "pid=%ld channels=%u",
	    (long)getpid(), nchannels(t));
	t->retry_at = opt_clock_ms();
	t->phase = PH_WAIT;
	set_state(t, OPT_TS_CONNECTING, NULL);

	for (;;) {
		size_t want = 2 + nchannels(t), nl, i;
		long long now;
		nfds_t n;
		struct job *j;

		for (j = t->jobs; j != NULL; j = j->next)
			want++;
		if (want > cap) {
			cap = want * 2;
			free(pfd);
			free(jobs);
			free(ls);
			pfd = calloc(cap, sizeof(*pfd));
			jobs = calloc(cap, sizeof(*jobs));
			ls = calloc(cap, sizeof(*ls));
			if (pfd == NULL || jobs == NULL || ls == NULL)
				abort(); /* a few KiB: nothing sane to do */
		}
		n = build_poll(t, pfd, cap, jobs, ls, &nl);
		now = opt_clock_ms();
		if (poll(pfd, n, poll_timeout(t, now)) == -1 && errno != EINTR)
			break;
		now = opt_clock_ms();

		if ((pfd[0].revents & POLLIN) && handle_signals(t) &&
		    t->phase != PH_UP)
			break; /* nothing to drain */
		if (t->draining &&
		    (t->jobs == NULL || now >= t->drain_deadline))
			break;

		if (t->phase == PH_WAIT) {
			if (now >= t->retry_at)
				start_attempt(t);
			continue;
		}
		if (t->phase != PH_UP) {
			if (now >= t->deadline) {
				session_failed(t, "connect-failed",
				    "timed out connecting", false);
				continue;
			}
			setup_step(t, pfd[1].revents);
			if (t->sock != -1 && flush_obuf(t) == -1)
				session_failed(t, "connect-failed",
				    strerror(errno), false);
			continue;
		}

		for (i = 0; i < nl; i++)
			if (pfd[2 + i].revents & POLLIN)
				accept_jobs(t, ls[i]);
		if (t->probe_pending && !t->draining)
			start_probes(t);
		if (forward(t, (pfd[1].revents & POLLIN) != 0) == -1) {
			session_failed(t, "down", ssh_error(t->session), false);
			continue;
		}
		libssh2_keepalive_send(t->session, NULL);
		if (flush_obuf(t) == -1) {
			session_failed(t, "down", strerror(errno), false);
			continue;
		}
		/* Under a low upload limit our keepalive may wait behind a
		 * burst of data; the stalled-send check below covers that. */
		if (now - t->last_rx > dead_after_ms(t) &&
		    !(t->up_bucket.on && obuf_pending(t) > 0)) {
			char why[96];
			snprintf(why, sizeof(why),
			    "no answer from the site for %lld s",
			    (now - t->last_rx) / 1000);
			session_failed(t, "down", why, false);
			continue;
		}
		if (obuf_pending(t) > 0 &&
		    now - t->last_tx > dead_after_ms(t)) {
			session_failed(t, "down", "the site takes no data",
			    false);
			continue;
		}
		/* Not while a channel open is in flight: the state write
		 * would sit between a job's connect and its first byte. */
		if (t->opening == NULL &&
		    (t->state_dirty || t->st.wire_up != t->written_up ||
		        t->st.wire_down != t->written_down || t->st.rate_up ||
		        t->st.rate_down) &&
		    now - t->state_written >= 1000) {
			t->written_up = t->st.wire_up;
			t->written_down = t->st.wire_down;
			write_state(t);
		}
	}
	if (t->draining && t->jobs != NULL)
		cut_jobs(t);
	if (t->session != NULL) {
		libssh2_session_disconnect(t->session, "tunnel stopped");
		(void)flush_obuf(t);
	}
	teardown(t);
	free(pfd);
	free(jobs);
	free(ls);
	opt_log(&t->log, OPT_LOG_INFO, "exit", "reconnects=%llu jobs=%llu",
	    t->st.reconnects, t->st.jobs);
	unlink(t->state_path);
	return 0;
}

/* --- setting up ------------------------------------------------------- */

/*
 * Loads the site, opens the log and binds every channel's port: all of
 * them or none (an address in use is an error here, not at run time).
 * Signals are blocked and read through a signalfd from here on.
 */
int
opt_tunnel_prepare(struct opt_tunnel **out, const struct opt_tunnel_opts *o,
    struct opt_error *e)
{
	char logpath[PATH_MAX], name[OPT_SITE_ID_MAX + 8];
	struct opt_channels cs;
	struct opt_tunnel *t;
	struct listener *l;
	sigset_t set;
	size_t i;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return opt_error_errno(e, EX_OSERR, "out of memory");
	t->opts = *o;
	t->paths = *o->paths;
	t->sock = t->sigfd = t->resolver_fd = -1;
	strlcpy(t->site_id, o->site, sizeof(t->site_id));
	strlcpy(t->st.site, o->site, sizeof(t->st.site));
	strlcpy(t->st.compression, "none", sizeof(t->st.compression));
	t->st.pid = (long)getpid();
	srandom((unsigned)getpid() ^ (unsigned)time(NULL));

	if (load_config(t, &t->site, &cs, &t->throttle, e) == -1)
		goto fail;
	apply_throttle(t);
	snprintf(name, sizeof(name), "%s.log", o->site);
	if (opt_paths_site(&t->paths, o->site, "known_hosts", t->known_hosts,
	        sizeof(t->known_hosts), e) == -1 ||
	    opt_paths_run(&t->paths, o->site, ".state", t->state_path,
	        sizeof(t->state_path), e) == -1 ||
	    opt_paths_join(logpath, sizeof(logpath), e, t->paths.log, name,
	        (char *)NULL) == -1)
		goto fail_cs;
	if (!o->foreground && opt_dir_make(t->paths.log, e) == -1)
		goto fail_cs;
	if (opt_log_open(&t->log, o->foreground ? NULL : logpath, o->site, e) ==
	    -1)
		goto fail_cs;
	for (i = cs.n; i-- > 0;) {
		if ((l = new_listener(&cs.v[i])) == NULL) {
			opt_error_errno(e, EX_OSERR, "out of memory");
			goto fail_cs;
		}
		l->next = t->listeners;
		t->listeners = l;
		if (bind_listener(t, l, e) == -1)
			goto fail_cs;
	}
	opt_channels_free(&cs);

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (t->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		opt_error_errno(e, EX_OSERR, "signalfd");
		goto fail;
	}
	signal(SIGPIPE, SIG_IGN);
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

const char *
opt_tunnel_local_user(const struct opt_tunnel *t)
{
	return t->defaults.local_user;
}

void
opt_tunnel_free(struct opt_tunnel *t)
{
	struct listener *l;

	if (t == NULL)
		return;
	teardown(t);
	while ((l = t->listeners) != NULL) {
		t->listeners = l->next;
		free_listener(l);
	}
	if (t->sigfd != -1)
		close(t->sigfd);
	opt_log_close(&t->log);
	free(t->obuf);
	free(t);
}
