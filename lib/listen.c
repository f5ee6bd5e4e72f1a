#define _GNU_SOURCE /* accept4 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "listen.h"

struct opt_listener *
opt_listener_new(const struct opt_channel *c)
{
	struct opt_listener *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->conf = *c;
	l->fd = -1;
	strlcpy(l->probe, "unknown", sizeof(l->probe));
	return l;
}

void
opt_listener_free(struct opt_listener *l)
{
	if (l == NULL)
		return;
	if (l->fd != -1)
		close(l->fd);
	free(l);
}

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

/*
 * A small receive buffer, set before listen() so that accepted sockets
 * have it: the kernel would otherwise grow it to megabytes, and a
 * client would hand over a job the tunnel has not sent (and may lose).
 */
int
opt_listener_bind(struct opt_listener *l, const char *addr, struct opt_error *e)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, rcvbuf = OPT_LISTEN_RCVBUF;

	if (sockaddr_of(addr, l->conf.listen, &ss, &len) == -1)
		return opt_error_set(e, EX_CONFIG, "bind address %s is invalid",
		    addr);
	l->fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->fd == -1)
		return opt_error_errno(e, EX_OSERR, "socket");
	(void)setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	(void)setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(l->fd, (struct sockaddr *)&ss, len) == -1) {
		opt_error_errno(e, errno == EADDRINUSE ? EX_CANTCREAT : 0,
		    "channel %d: cannot bind port %d on %s", l->conf.id,
		    l->conf.listen, addr);
		close(l->fd);
		l->fd = -1;
		return -1;
	}
	l->listening = false;
	return 0;
}

/*
 * A bound socket that does not listen refuses connections, as ssh -L
 * did while down; connect(AF_UNSPEC) takes a listening socket back to
 * that state on Linux and keeps its port, so it can be rebound without
 * privileges and nobody can take the port meanwhile.
 */
void
opt_listener_listen(struct opt_listener *l, bool on, struct opt_log *log)
{
	struct sockaddr sa = {.sa_family = AF_UNSPEC};

	if (l->fd == -1 || l->listening == on)
		return;
	if (on) {
		if (listen(l->fd, OPT_LISTEN_BACKLOG) == -1) {
			opt_log(log, OPT_LOG_ERROR, "listen-failed",
			    "channel=%d port=%d errno=%d", l->conf.id,
			    l->conf.listen, errno);
			return;
		}
	} else {
		(void)connect(l->fd, &sa, sizeof(sa));
		l->paused = OPT_PAUSE_NONE;
		l->episode = false;
	}
	l->listening = on;
}

/* Whether poll() should watch it for clients now. */
bool
opt_listener_polled(const struct opt_listener *l, long long now)
{
	if (!l->listening)
		return false;
	return l->paused == OPT_PAUSE_NONE ||
	    (l->paused == OPT_PAUSE_FD && now >= l->retry_at);
}

static const char *
pause_name(enum opt_pause p)
{
	switch (p) {
	case OPT_PAUSE_CHANNEL:
		return "channel-limit";
	case OPT_PAUSE_SITE:
		return "site-limit";
	case OPT_PAUSE_FD:
		return "fd-limit";
	default:
		return "none";
	}
}

/*
 * One log line an episode: from the first pause until the channel has
 * taken every client that waited (accept() finds none), however often
 * it pauses and resumes meanwhile, as a busy channel does at each job.
 */
void
opt_listener_pause(struct opt_listener *l, enum opt_pause why, long long now,
    struct opt_log *log)
{
	if (why == OPT_PAUSE_FD)
		l->retry_at = now + OPT_FD_RETRY_MS;
	l->paused = why;
	if (l->episode)
		return;
	l->episode = true;
	opt_log(log, OPT_LOG_WARN, "accept-paused",
	    "channel=%d reason=%s active=%u", l->conf.id, pause_name(why),
	    l->active);
}

void
opt_listener_resume(struct opt_listener *l)
{
	l->paused = OPT_PAUSE_NONE;
}

/* accept() found nobody waiting: the episode is over. */
void
opt_listener_drained(struct opt_listener *l, struct opt_log *log)
{
	if (!l->episode || l->paused != OPT_PAUSE_NONE)
		return;
	l->episode = false;
	opt_log(log, OPT_LOG_INFO, "accept-resumed", "channel=%d active=%u",
	    l->conf.id, l->active);
}

/* A reset, not a clean close: the spooler must retry, not believe the
 * job printed. */
void
opt_client_reset(int fd)
{
	struct linger lin = {1, 0};

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
	close(fd);
}

/*
 * The next client waiting on the channel's port that allow lets in
 * (others get a reset), or -1: the channel or the site (site_active
 * jobs) is at its job limit or the process out of descriptors (the
 * listener leaves poll and the rest wait in the kernel's backlog), or
 * nobody waits.
 */
int
opt_listener_take(struct opt_listener *l, const struct opt_allow *allow,
    unsigned site_active, unsigned site_max, long long now, struct opt_log *log,
    char *peer, size_t len)
{
	struct sockaddr_storage ss;
	char q[80];

	for (;;) {
		socklen_t sslen = sizeof(ss);
		enum opt_pause limit = opt_job_limit(l->active + l->abandoned,
		    (unsigned)l->conf.max_jobs, site_active, site_max);
		int fd;

		if (limit != OPT_PAUSE_NONE) {
			opt_listener_pause(l, limit, now, log);
			return -1;
		}
		fd = accept4(l->fd, (struct sockaddr *)&ss, &sslen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				opt_listener_pause(l, OPT_PAUSE_FD, now, log);
			else if (errno == EINTR || errno == ECONNABORTED)
				continue;
			else if (errno == EAGAIN || errno == EWOULDBLOCK) {
				opt_listener_resume(l);
				opt_listener_drained(l, log);
			}
			return -1;
		}
		if (l->paused == OPT_PAUSE_FD)
			opt_listener_resume(l);
		opt_peer_text(&ss, peer, len);
		if (opt_allow_match(allow, &ss))
			return fd;
		opt_log(log, OPT_LOG_WARN, "refused",
		    "channel=%d peer=%s reason=not-allowed", l->conf.id,
		    opt_log_quote(q, sizeof(q), peer));
		opt_client_reset(fd);
	}
}

/* Whether one more job may start: the channel's bound, then the site's. */
enum opt_pause
opt_job_limit(unsigned chan_active, unsigned chan_max, unsigned site_active,
    unsigned site_max)
{
	if (chan_active >= chan_max)
		return OPT_PAUSE_CHANNEL;
	if (site_active >= site_max)
		return OPT_PAUSE_SITE;
	return OPT_PAUSE_NONE;
}

/* What a reload does to a channel's socket. */
enum opt_listen_change
opt_listen_diff(const struct opt_channel *old, const struct opt_channel *new,
    bool rebind)
{
	if (rebind || old->listen != new->listen)
		return OPT_LC_REBIND;
	return OPT_LC_KEEP;
}

unsigned
opt_listeners_count(const struct opt_listener *l)
{
	unsigned n = 0;

	for (; l != NULL; l = l->next)
		n++;
	return n;
}
