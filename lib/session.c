/*
 * libssh2 allows one outgoing packet in flight per session: after a
 * send that would block, the very same call must be repeated before any
 * other call that sends.  We never let a send block.  The send callback
 * takes every packet whole into the session's output buffer, and the
 * owner's loop writes that buffer to the socket when it is writable; it
 * stops feeding channel data while the buffer holds more than
 * opt_session_high() bytes, which is the backpressure.
 *
 * A host name is resolved by a child process (getaddrinfo() blocks):
 * it writes one whole record per address to a pipe and exits; the
 * session reads the pipe to its end.
 */
#define _GNU_SOURCE /* pipe2 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "session.h"

#define OBUF_HIGH (256 * 1024)
#define SETUP_MIN_MS 10000

void
opt_session_init(struct opt_session *s)
{
	memset(s, 0, sizeof(*s));
	s->sock = s->resolver_fd = -1;
	strlcpy(s->compression, "none", sizeof(s->compression));
}

static long long
dead_after_ms(const struct opt_session *s)
{
	return (long long)s->site->keepalive_interval *
	    s->site->keepalive_count * 1000;
}

/* How long an attempt may take, from resolving to the keeper. */
static long long
setup_ms(const struct opt_session *s)
{
	long long dead = dead_after_ms(s);

	return dead > SETUP_MIN_MS ? dead : SETUP_MIN_MS;
}

static enum opt_session_step failed(struct opt_session *s, const char *event,
    bool mismatch, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum opt_session_step
failed(struct opt_session *s, const char *event, bool mismatch, const char *fmt,
    ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	s->fail_event = event;
	s->mismatch = mismatch;
	opt_session_end(s);
	return OPT_SS_FAILED;
}

/* A failure whose why is already written. */
static enum opt_session_step
failed_why(struct opt_session *s, const char *event)
{
	s->fail_event = event;
	s->mismatch = false;
	opt_session_end(s);
	return OPT_SS_FAILED;
}

/* --- the send buffer -------------------------------------------------- */

static ssize_t
send_cb(libssh2_socket_t fd, const void *buf, size_t len, int flags,
    void **abstract)
{
	struct opt_session *s = *abstract;

	(void)fd;
	(void)flags;
	if (s->olen + len > s->ocap) {
		size_t cap = s->ocap ? s->ocap : 65536;
		unsigned char *nb;

		if (s->ooff > 0) {
			memmove(s->obuf, s->obuf + s->ooff, s->olen - s->ooff);
			s->olen -= s->ooff;
			s->ooff = 0;
		}
		while (cap < s->olen + len)
			cap *= 2;
		if (cap != s->ocap) {
			if ((nb = realloc(s->obuf, cap)) == NULL)
				return -ENOMEM;
			s->obuf = nb;
			s->ocap = cap;
		}
	}
	memcpy(s->obuf + s->olen, buf, len);
	s->olen += len;
	if (s->cur_up != NULL)
		*s->cur_up += len;
	return (ssize_t)len;
}

static ssize_t
recv_cb(libssh2_socket_t fd, void *buf, size_t len, int flags, void **abstract)
{
	struct opt_session *s = *abstract;
	ssize_t n = recv(fd, buf, len, flags);

	if (n < 0)
		return -errno;
	if (n > 0) {
		s->wire_down += (unsigned long long)n;
		s->last_rx = opt_clock_ms();
		s->asked = 0;
		opt_shaper_spend(s->shaper, OPT_DIR_DOWN, (size_t)n);
	}
	return n;
}

size_t
opt_session_pending(const struct opt_session *s)
{
	return s->olen - s->ooff;
}

/* Under a limit the buffer holds about one burst, so that keepalives
 * and other channels do not queue behind seconds of data. */
size_t
opt_session_high(const struct opt_session *s)
{
	size_t burst = opt_shaper_burst(s->shaper, OPT_DIR_UP);

	return burst < OBUF_HIGH ? burst : OBUF_HIGH;
}

/* Returns -1 when the socket failed (why says how). */
int
opt_session_flush(struct opt_session *s, long long now)
{
	while (opt_session_pending(s) > 0) {
		size_t len = opt_session_pending(s),
		       room = opt_shaper_room(s->shaper, OPT_DIR_UP, now);
		ssize_t n;

		if (room == 0)
			return 0; /* the limit: the loop waits for tokens */
		n = send(s->sock, s->obuf + s->ooff, len < room ? len : room,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			snprintf(s->why, sizeof(s->why),
			    "cannot send to the site: %s", strerror(errno));
			return -1;
		}
		opt_shaper_spend(s->shaper, OPT_DIR_UP, (size_t)n);
		s->ooff += (size_t)n;
		s->wire_up += (unsigned long long)n;
		s->last_tx = now;
		if (s->asked == 0)
			s->asked = now;
	}
	s->ooff = s->olen = 0;
	return 0;
}

/* --- resolving and connecting ----------------------------------------- */

static void
stop_resolver(struct opt_session *s)
{
	if (s->resolver > 0) {
		kill(s->resolver, SIGKILL);
		waitpid(s->resolver, NULL, 0);
		s->resolver = 0;
	}
	if (s->resolver_fd != -1) {
		close(s->resolver_fd);
		s->resolver_fd = -1;
	}
}

static int
resolve_numeric(struct opt_session *s)
{
	struct addrinfo hints = {0}, *res, *ai;
	char port[8];

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", s->site->port);
	if (getaddrinfo(s->site->host, port, &hints, &res) != 0)
		return -1;
	s->naddrs = 0;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (s->naddrs == OPT_SESSION_ADDRS)
			break;
		memcpy(&s->addrs[s->naddrs], ai->ai_addr, ai->ai_addrlen);
		s->addrlens[s->naddrs++] = ai->ai_addrlen;
	}
	freeaddrinfo(res);
	return 0;
}

/* The child: one write per record (smaller than PIPE_BUF, so whole). */
static void __attribute__((noreturn))
resolver_child(const struct opt_session *s, int fd)
{
	struct addrinfo hints = {0}, *res, *ai;
	char port[8];
	int n;

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", s->site->port);
	if (getaddrinfo(s->site->host, port, &hints, &res) != 0)
		_exit(1);
	for (ai = res, n = 0; ai != NULL; ai = ai->ai_next) {
		struct opt_resolved r = {0};

		if (n++ == OPT_SESSION_ADDRS)
			break;

		r.len = ai->ai_addrlen;
		memcpy(&r.addr, ai->ai_addr, r.len);
		if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
			_exit(1);
	}
	_exit(0);
}

static enum opt_session_step
start_resolver(struct opt_session *s)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1)
		return failed(s, "resolve-failed", false, "pipe: %s",
		    strerror(errno));
	s->resolver = fork();
	if (s->resolver == -1) {
		close(p[0]);
		close(p[1]);
		s->resolver = 0;
		return failed(s, "resolve-failed", false, "fork: %s",
		    strerror(errno));
	}
	if (s->resolver == 0) {
		close(p[0]);
		resolver_child(s, p[1]);
	}
	close(p[1]);
	s->resolver_fd = p[0];
	s->rlen = 0;
	s->phase = OPT_SP_RESOLVE;
	return OPT_SS_WORKING;
}

static void
tune_socket(struct opt_session *s)
{
	int one = 1, idle = s->site->keepalive_interval,
	    cnt = s->site->keepalive_count;
	unsigned timeout = (unsigned)dead_after_ms(s);

	(void)setsockopt(s->sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(s->sock, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	(void)setsockopt(s->sock, IPPROTO_TCP, TCP_KEEPIDLE, &idle,
	    sizeof(idle));
	(void)setsockopt(s->sock, IPPROTO_TCP, TCP_KEEPINTVL, &idle,
	    sizeof(idle));
	(void)setsockopt(s->sock, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	(void)setsockopt(s->sock, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout,
	    sizeof(timeout));
}

static enum opt_session_step
connect_next(struct opt_session *s, const char *last)
{
	if (s->sock != -1) {
		close(s->sock);
		s->sock = -1;
	}
	for (; s->addr_i < s->naddrs; s->addr_i++) {
		const struct sockaddr_storage *ss = &s->addrs[s->addr_i];

		s->sock = socket(ss->ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (s->sock == -1) {
			last = strerror(errno);
			continue;
		}
		tune_socket(s);
		if (connect(s->sock, (const struct sockaddr *)ss,
		        s->addrlens[s->addr_i]) == 0 ||
		    errno == EINPROGRESS) {
			s->phase = OPT_SP_CONNECT;
			return OPT_SS_WORKING;
		}
		last = strerror(errno);
		close(s->sock);
		s->sock = -1;
	}
	return failed(s, "connect-failed", false,
	    "cannot connect to %s port %d: %s", s->site->host, s->site->port,
	    last);
}

/* Reads the resolver's records until the pipe's end. */
static enum opt_session_step
resolver_step(struct opt_session *s)
{
	size_t cap = sizeof(s->rbuf);
	ssize_t n;
	size_t i;

	while ((n = read(s->resolver_fd, (char *)s->rbuf + s->rlen,
	            cap - s->rlen)) > 0)
		s->rlen += (size_t)n;
	if (n == -1 && (errno == EAGAIN || errno == EINTR) && s->rlen < cap)
		return OPT_SS_WORKING;
	waitpid(s->resolver, NULL, 0);
	s->resolver = 0;
	close(s->resolver_fd);
	s->resolver_fd = -1;
	s->naddrs = 0;
	for (i = 0; i < s->rlen / sizeof(s->rbuf[0]); i++) {
		if (s->rbuf[i].len == 0 ||
		    s->rbuf[i].len > sizeof(s->rbuf[i].addr))
			continue;
		s->addrs[s->naddrs] = s->rbuf[i].addr;
		s->addrlens[s->naddrs++] = s->rbuf[i].len;
	}
	if (s->naddrs == 0)
		return failed(s, "resolve-failed", false, "cannot resolve %s",
		    s->site->host);
	s->addr_i = 0;
	return connect_next(s, "no address");
}

enum opt_session_step
opt_session_begin(struct opt_session *s, long long now)
{
	struct opt_error e;
	char q[300];

	opt_session_end(s);
	s->fail_event = NULL;
	s->why[0] = '\0';
	s->mismatch = false;
	opt_log(s->log, OPT_LOG_INFO, s->probe ? "probe-connect" : "connect",
	    "host=%s port=%d", opt_log_quote(q, sizeof(q), s->site->host),
	    s->site->port);
	/* Checked on every attempt: the key may be fixed meanwhile. */
	if (opt_identity_check(s->site->identity, &e) == -1)
		return failed(s, "identity-refused", false, "%s", e.text);
	s->deadline = now + setup_ms(s);
	if (resolve_numeric(s) == 0) {
		s->addr_i = 0;
		return connect_next(s, "no address");
	}
	return start_resolver(s);
}

/* --- handshake, host key, authentication ------------------------------ */

static void
start_handshake(struct opt_session *s)
{
	static const char *const comp = "zlib@openssh.com,zlib,none";
	const char *what;
	char q[256];

	s->ssh = libssh2_session_init_ex(NULL, NULL, NULL, s);
	if (s->ssh == NULL)
		return;
#if LIBSSH2_VERSION_NUM >= 0x010b01
	/* 1.11.1 takes a function pointer, no longer a void *. */
	libssh2_session_callback_set2(s->ssh, LIBSSH2_CALLBACK_SEND,
	    (libssh2_cb_generic *)send_cb);
	libssh2_session_callback_set2(s->ssh, LIBSSH2_CALLBACK_RECV,
	    (libssh2_cb_generic *)recv_cb);
#else
	libssh2_session_callback_set(s->ssh, LIBSSH2_CALLBACK_SEND,
	    (void *)send_cb);
	libssh2_session_callback_set(s->ssh, LIBSSH2_CALLBACK_RECV,
	    (void *)recv_cb);
#endif
	libssh2_session_set_blocking(s->ssh, 0);
	libssh2_session_method_pref(s->ssh, LIBSSH2_METHOD_HOSTKEY,
	    OPT_HOSTKEY_METHODS);
	if (opt_ssh_prefer_ciphers(s->ssh, &what) == -1)
		opt_log(s->log, OPT_LOG_WARN, "cipher-prefs",
		    "what=%s error=%s libssh2=%s", what,
		    opt_log_quote(q, sizeof(q), opt_session_error(s)),
		    opt_ssh_version());
	if (s->site->compression) {
		libssh2_session_flag(s->ssh, LIBSSH2_FLAG_COMPRESS, 1);
		libssh2_session_method_pref(s->ssh, LIBSSH2_METHOD_COMP_CS,
		    comp);
		libssh2_session_method_pref(s->ssh, LIBSSH2_METHOD_COMP_SC,
		    comp);
	}
	s->last_rx = opt_clock_ms();
	s->phase = OPT_SP_HANDSHAKE;
}

const char *
opt_session_error(struct opt_session *s)
{
	char *msg = NULL;
	int r;

	if (s->ssh == NULL)
		return "no session";
	r = libssh2_session_last_error(s->ssh, &msg, NULL, 0);
	if (msg == NULL || *msg == '\0')
		return r == 0 ? "no error" : "unknown error";
	return msg;
}

/*
 * Whether a libssh2 result means the session is gone; then why says
 * what libssh2 reported.  Other errors belong to one channel.
 */
int
opt_session_broken(struct opt_session *s, int r)
{
	if (r != LIBSSH2_ERROR_SOCKET_SEND && r != LIBSSH2_ERROR_SOCKET_RECV &&
	    r != LIBSSH2_ERROR_SOCKET_DISCONNECT &&
	    r != LIBSSH2_ERROR_TIMEOUT && r != LIBSSH2_ERROR_BAD_USE &&
	    r != LIBSSH2_ERROR_DECRYPT && r != LIBSSH2_ERROR_ALLOC)
		return 0;
	snprintf(s->why, sizeof(s->why), "ssh: %s (libssh2 error %d)",
	    opt_session_error(s), r);
	return 1;
}

static int
hostkey_ok(struct opt_session *s)
{
	struct opt_hostkey_policy p = {s->site->host, s->site->port,
	    (int)s->site->host_key_check, s->known_hosts, s->pinned_fp};
	struct opt_hostkey_report r;
	char q[OPT_ERROR_MAX + 8], f[PATH_MAX + 8];

	opt_hostkey_verify(s->ssh, &p, &r);
	if (r.event != NULL && r.detail[0] != '\0')
		opt_log(s->log, OPT_LOG_WARN, r.event,
		    "type=%s fingerprint=%s error=%s", r.type, r.fp,
		    opt_log_quote(q, sizeof(q), r.detail));
	else if (r.verdict == OPT_HKV_MISMATCH)
		opt_log(s->log, OPT_LOG_ERROR, r.event,
		    "type=%s fingerprint=%s pinned=%s file=%s", r.type, r.fp,
		    r.old[0] ? r.old : "unknown",
		    opt_log_quote(f, sizeof(f), s->known_hosts));
	else if (r.event != NULL)
		opt_log(s->log,
		    r.verdict == OPT_HKV_UNKNOWN ? OPT_LOG_ERROR
		        : strcmp(r.event, "hostkey-unchecked") == 0
		        ? OPT_LOG_WARN
		        : OPT_LOG_INFO,
		    r.event, "type=%s fingerprint=%s", r.type, r.fp);
	switch (r.verdict) {
	case OPT_HKV_OK:
		return 0;
	case OPT_HKV_FAILED:
		failed(s, "hostkey-failed", false, "%s", r.why);
		return -1;
	case OPT_HKV_MISMATCH:
		failed(s, "down", true, "%s", r.why);
		return -1;
	default:
		failed(s, "down", false, "%s", r.why);
		return -1;
	}
}

static enum opt_session_step
came_up(struct opt_session *s, long long now)
{
	const char *comp =
	    libssh2_session_methods(s->ssh, LIBSSH2_METHOD_COMP_CS);

	strlcpy(s->compression, comp ? comp : "none", sizeof(s->compression));
	libssh2_keepalive_config(s->ssh, 1,
	    (unsigned)s->site->keepalive_interval);
	s->phase = OPT_SP_UP;
	s->up_since = s->last_rx = s->last_tx = now;
	s->asked = 0;
	s->unread = 0;
	return OPT_SS_UP;
}

static enum opt_session_step
setup_step(struct opt_session *s, short revents, long long now)
{
	int r, err = 0;
	socklen_t len = sizeof(err);

	switch (s->phase) {
	case OPT_SP_RESOLVE:
		return revents ? resolver_step(s) : OPT_SS_WORKING;
	case OPT_SP_CONNECT:
		if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
			return OPT_SS_WORKING;
		if (getsockopt(s->sock, SOL_SOCKET, SO_ERROR, &err, &len) ==
		        -1 ||
		    err != 0) {
			s->addr_i++;
			return connect_next(s, strerror(err ? err : errno));
		}
		start_handshake(s);
		if (s->ssh == NULL)
			return failed(s, "connect-failed", false,
			    "out of memory");
		/* FALLTHROUGH */
	case OPT_SP_HANDSHAKE:
		r = libssh2_session_handshake(s->ssh, s->sock);
		if (r == LIBSSH2_ERROR_EAGAIN)
			return OPT_SS_WORKING;
		if (r != 0)
			return failed(s, "connect-failed", false,
			    "ssh handshake failed: %s", opt_session_error(s));
		if (hostkey_ok(s) == -1)
			return OPT_SS_FAILED;
		s->phase = OPT_SP_AUTH;
		/* FALLTHROUGH */
	case OPT_SP_AUTH:
		r = libssh2_userauth_publickey_fromfile_ex(s->ssh,
		    s->site->user, (unsigned)strlen(s->site->user), NULL,
		    s->site->identity, NULL);
		if (r == LIBSSH2_ERROR_EAGAIN)
			return OPT_SS_WORKING;
		if (r != 0) {
			opt_log(s->log, OPT_LOG_ERROR, "auth-failed", "user=%s",
			    s->site->user);
			return failed(s, "down", false,
			    "authentication as %s with %s failed: %s",
			    s->site->user, s->site->identity,
			    opt_session_error(s));
		}
		if (!s->probe)
			opt_log(s->log, OPT_LOG_INFO, "auth",
			    "user=%s method=publickey", s->site->user);
		if (!s->want_keeper)
			return came_up(s, now);
		s->phase = OPT_SP_KEEPER;
		/* FALLTHROUGH */
	case OPT_SP_KEEPER:
		s->keeper = libssh2_channel_open_session(s->ssh);
		if (s->keeper == NULL) {
			char q[OPT_ERROR_MAX + 8];

			r = libssh2_session_last_errno(s->ssh);
			if (r == LIBSSH2_ERROR_EAGAIN)
				return OPT_SS_WORKING;
			if (opt_session_broken(s, r))
				return failed_why(s, "down");
			opt_log(s->log, OPT_LOG_WARN, "no-idle-channel",
			    "error=%s",
			    opt_log_quote(q, sizeof(q), opt_session_error(s)));
		}
		return came_up(s, now);
	default:
		return OPT_SS_WORKING;
	}
}

/* One step of setting up: resolve, connect, handshake, authenticate. */
enum opt_session_step
opt_session_step(struct opt_session *s, short revents, long long now)
{
	enum opt_session_step r;

	if (s->phase == OPT_SP_IDLE || s->phase == OPT_SP_UP)
		return OPT_SS_WORKING;
	if (now >= s->deadline)
		return failed(s, "connect-failed", false,
		    "timed out connecting to %s port %d after %lld s",
		    s->site->host, s->site->port, setup_ms(s) / 1000);
	r = setup_step(s, revents, now);
	if (r != OPT_SS_FAILED && s->sock != -1 &&
	    opt_session_flush(s, now) == -1)
		return failed_why(s, "connect-failed");
	return r;
}

void
opt_session_pollfd(const struct opt_session *s, struct pollfd *p, bool busy,
    long long now)
{
	p->fd = -1;
	p->events = 0;
	if (s->phase == OPT_SP_RESOLVE) {
		p->fd = s->resolver_fd;
		p->events = POLLIN;
	} else if (s->phase == OPT_SP_CONNECT) {
		p->fd = s->sock;
		p->events = POLLOUT;
	} else if (s->sock != -1) {
		p->fd = s->sock;
		if (s->phase != OPT_SP_UP || s->keeper != NULL || busy)
			p->events = POLLIN;
		if (opt_session_pending(s) > 0 &&
		    opt_shaper_room(s->shaper, OPT_DIR_UP, now) > 0)
			p->events |= POLLOUT;
	}
}

/* When the session wants to run again without its socket: tokens for
 * what waits in the send buffer. */
long long
opt_session_wake(struct opt_session *s, long long now)
{
	size_t n = opt_session_pending(s);

	if (s->phase != OPT_SP_UP || n == 0 ||
	    !opt_shaper_on(s->shaper, OPT_DIR_UP))
		return -1;
	opt_shaper_room(s->shaper, OPT_DIR_UP, now);
	return opt_shaper_wait(s->shaper, OPT_DIR_UP, n < 4096 ? n : 4096);
}

/* --- an up session ---------------------------------------------------- */

/*
 * libssh2 reads the socket only inside calls made for a channel, so an
 * idle session would leave keepalive replies unread: a read on the idle
 * session channel makes it read everything that came.  Without one (the
 * site refused it), arriving bytes still show the peer is alive.
 */
static int
drain(struct opt_session *s, bool readable, long long now)
{
	char buf[256];
	ssize_t n;
	int q = 0;

	if (s->keeper == NULL) {
		if (ioctl(s->sock, FIONREAD, &q) == 0 && q != s->unread) {
			if (q > s->unread) {
				s->last_rx = now;
				s->asked = 0;
			}
			s->unread = q;
		}
		return 0;
	}
	if (!readable)
		return 0; /* no recv() that can only say EAGAIN */
	while ((n = libssh2_channel_read(s->keeper, buf, sizeof(buf))) > 0)
		;
	if (n < 0 && n != LIBSSH2_ERROR_EAGAIN && opt_session_broken(s, (int)n))
		return -1;
	if (libssh2_channel_eof(s->keeper))
		s->keeper = NULL; /* freed with the session */
	return 0;
}

/*
 * Reads what came, sends a keepalive when due, writes what waits, and
 * applies the liveness rule: a site silent for keepalive_interval x
 * keepalive_count after we sent it something is gone.  -1 when the session is
 * gone (why says so).
 */
int
opt_session_keep(struct opt_session *s, bool readable, long long now)
{
	long long dead = dead_after_ms(s);

	if (drain(s, readable, now) == -1)
		return -1;
	libssh2_keepalive_send(s->ssh, NULL);
	if (opt_session_flush(s, now) == -1)
		return -1;
	/* Under a low upload limit our keepalive may wait behind a burst
	 * of data; the stalled-send check below covers that. */
	/* Counted from what we sent since it last spoke: a tunnel that was
	 * busy or stopped and sent nothing has nothing unanswered. */
	if (s->asked != 0 && now - s->asked > dead &&
	    !(opt_shaper_on(s->shaper, OPT_DIR_UP) &&
	        opt_session_pending(s) > 0)) {
		snprintf(s->why, sizeof(s->why),
		    "no answer from the site for %lld s (keepalive %d s x %d)",
		    (now - s->last_rx) / 1000, s->site->keepalive_interval,
		    s->site->keepalive_count);
		return -1;
	}
	if (opt_session_pending(s) > 0 && now - s->last_tx > dead) {
		snprintf(s->why, sizeof(s->why),
		    "the site took no data for %lld s",
		    (now - s->last_tx) / 1000);
		return -1;
	}
	return 0;
}

/*
 * direct-tcpip, as libssh2_channel_direct_tcpip_ex opens it, but with
 * our receive window: what the site may send unasked is the window
 * (RFC 4254 7.2), so it bounds what a job whose client does not read
 * can cost here.
 */
LIBSSH2_CHANNEL *
opt_session_open_direct(struct opt_session *s, const char *host, int port,
    unsigned window)
{
	unsigned char msg[OPT_HOST_MAX + 64], *p = msg;
	size_t hl = strlen(host);

	p[0] = (unsigned char)(hl >> 24), p[1] = (unsigned char)(hl >> 16);
	p[2] = (unsigned char)(hl >> 8), p[3] = (unsigned char)hl;
	memcpy(p + 4, host, hl);
	p += 4 + hl;
	p[0] = 0, p[1] = 0, p[2] = (unsigned char)(port >> 8);
	p[3] = (unsigned char)port;
	p += 4;
	memcpy(p,
	    "\0\0\0\x09"
	    "127.0.0.1"
	    "\0\0\0\0",
	    17);
	p += 17;
	return libssh2_channel_open_ex(s->ssh, "direct-tcpip",
	    sizeof("direct-tcpip") - 1, window, LIBSSH2_CHANNEL_PACKET_DEFAULT,
	    (char *)msg, (unsigned)(p - msg));
}

/* Drops the connection; the counters stay. */
void
opt_session_end(struct opt_session *s)
{
	s->keeper = NULL; /* freed with the session */
	/*
	 * The socket goes first: libssh2_session_free() closes the channels
	 * left and, without a socket, cannot wait for the peer (it would
	 * answer EAGAIN and free nothing).
	 */
	if (s->sock != -1) {
		close(s->sock);
		s->sock = -1;
	}
	if (s->ssh != NULL) {
		int tries = 0;

		while (libssh2_session_free(s->ssh) == LIBSSH2_ERROR_EAGAIN &&
		    ++tries < 100)
			;
		s->ssh = NULL;
	}
	stop_resolver(s);
	s->olen = s->ooff = 0;
	s->cur_up = NULL;
	s->phase = OPT_SP_IDLE;
}

void
opt_session_free(struct opt_session *s)
{
	opt_session_end(s);
	free(s->obuf);
	s->obuf = NULL;
	s->ocap = 0;
}

/* --- reconnection ----------------------------------------------------- */

/* The delay before the next attempt; rnd is any random number. */
long long
opt_backoff_next(struct opt_backoff *b, long long now, unsigned rnd)
{
	long long base, cap = 60000;

	if (b->since == 0)
		b->since = now;
	if (now - b->since < OPT_BACKOFF_FAST_MS) {
		cap = 10000;
		base = b->attempt < 4 ? 1000LL << b->attempt : 10000;
	} else {
		base = b->late < 2 ? 20000LL << b->late : 60000;
		if (b->late < 16)
			b->late++;
	}
	if (b->attempt < 64)
		b->attempt++;
	base = base * (80 + rnd % 41) / 100;
	return base < cap ? base : cap;
}

void
opt_backoff_reset(struct opt_backoff *b)
{
	b->since = 0;
	b->attempt = b->late = 0;
}
