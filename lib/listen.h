/*
 * A site's listeners: one bound TCP socket per channel.  Ports are
 * bound when the tunnel is prepared (before privileges are dropped) and
 * kept for its whole life; a socket listens only while the session is
 * up, and leaves poll while its channel or site is at its job limit or
 * the process is out of file descriptors (clients then wait in the
 * kernel's backlog: nothing accepted is dropped).
 */
#ifndef OPT_LISTEN_H
#define OPT_LISTEN_H

#include <stdbool.h>

#include "allow.h"
#include "channel.h"
#include "error.h"
#include "log.h"
#include "pjl.h"
#include "state.h"

#define OPT_LISTEN_BACKLOG 64
/* A client gets about this far ahead of the tunnel (and as much in its
 * own socket buffer): see opt-tunnel(1), WRITE-AHEAD. */
#define OPT_LISTEN_RCVBUF (64 * 1024)
#define OPT_FD_RETRY_MS 1000

enum opt_pause {
	OPT_PAUSE_NONE,
	OPT_PAUSE_CHANNEL, /* the channel's max_jobs */
	OPT_PAUSE_SITE, /* the site's max_jobs */
	OPT_PAUSE_FD, /* accept(): EMFILE or ENFILE */
};

struct opt_listener {
	struct opt_listener *next;
	struct opt_channel conf;
	int fd;
	bool listening;
	enum opt_pause paused;
	bool episode; /* paused since its backlog was last empty */
	long long retry_at; /* OPT_PAUSE_FD: when to try again */
	bool seen; /* reload: still configured */
	unsigned active;
	unsigned abandoned; /* channels whose close never came */
	unsigned long long jobs, bytes_up, bytes_down;
	char probe[16]; /* state.h: unknown, ok, failed, ready... */
	long long probe_at, probe_since; /* last probe; its state since */
	int pjl_code; /* probe = pjl: the printer's CODE, 0: none */
	char pjl_display[OPT_PJL_DISPLAY_MAX + 1];
	char last_error[OPT_STATE_ERROR_MAX];
};

enum opt_listen_change {
	OPT_LC_KEEP, /* same socket, settings may change */
	OPT_LC_REBIND, /* another port or address: a new socket */
};

struct opt_listener *opt_listener_new(const struct opt_channel *);
void opt_listener_free(struct opt_listener *);
int opt_listener_bind(struct opt_listener *, const char *, struct opt_error *);
void opt_listener_listen(struct opt_listener *, bool, struct opt_log *);
bool opt_listener_polled(const struct opt_listener *, long long);
void opt_listener_pause(struct opt_listener *, enum opt_pause, long long,
    struct opt_log *);
void opt_listener_resume(struct opt_listener *);
void opt_listener_drained(struct opt_listener *, struct opt_log *);
int opt_listener_take(struct opt_listener *, const struct opt_allow *, unsigned,
    unsigned, long long, struct opt_log *, char *, size_t);
void opt_client_reset(int);
enum opt_pause opt_job_limit(unsigned, unsigned, unsigned, unsigned);
enum opt_listen_change opt_listen_diff(const struct opt_channel *,
    const struct opt_channel *, bool);
unsigned opt_listeners_count(const struct opt_listener *);

#endif
