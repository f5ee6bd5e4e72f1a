/*
 * Jobs: a client connection accepted on a channel's port, forwarded
 * through a direct-tcpip channel of the site's session to the printer.
 * Both ways with backpressure (a job never holds more than its two
 * small buffers and its channel's receive window), half-close passed
 * on, failures reset the client so that its spooler retries.  Jobs
 * share the session by turns.
 */
#ifndef OPT_FORWARD_H
#define OPT_FORWARD_H

#include <libssh2.h>
#include <poll.h>
#include <stdbool.h>

#include "allow.h"
#include "listen.h"
#include "log.h"
#include "session.h"
#include "throttle.h"

/* The receive window of a job's channel: what the site may send before
 * the client read it (RFC 4254 5.2); printer replies are small. */
#define OPT_JOB_WINDOW (64 * 1024)
#define OPT_CLOSE_WAIT_MS 10000

enum opt_job_phase {
	OPT_JOB_QUEUED, /* waiting for its turn to open a channel */
	OPT_JOB_OPENING, /* direct-tcpip open sent */
	OPT_JOB_RUNNING,
	OPT_JOB_CLOSING, /* channel close sent, waiting for the peer's */
};

struct opt_job;
/* A job that is a delivery from the spool (deliver.c): its source is
 * the job's data file, what the printer says goes to reply, and at its
 * end this is called instead of a client being closed.  wire_down is
 * the job's share of the wire bytes down, ms how long it ran. */
typedef void opt_job_end_fn(void *, const struct opt_job *,
    unsigned long long wire_down, long long ms);

struct opt_job {
	struct opt_job *next;
	struct opt_listener *l; /* NULL once its channel is removed */
	int channel_id;
	int fd; /* the client */
	struct pollfd *pfd; /* its entry in this pass's poll(), or NULL */
	enum opt_job_phase phase;
	LIBSSH2_CHANNEL *ch;
	char printer[OPT_HOST_MAX + 1];
	int printer_port;
	char peer[64];
	unsigned char *up, *down;
	size_t up_off, up_len, down_off, down_len;
	bool client_eof, eof_sent, chan_eof, client_shut;
	bool failed;
	char why[OPT_STATE_ERROR_MAX];
	unsigned long long bytes_up, bytes_down, wire_up;
	/* the session's down counters when it began, see job_wire_down() */
	unsigned long long wire_down0, payload_down0;
	long long start_ms, close_ms;
	opt_job_end_fn *on_end; /* NULL: fd is a client */
	void *arg;
	bool session_lost; /* ended because the session did */
	char reply[80]; /* the printer's first bytes, deliveries only */
	size_t reply_len;
};

/* A channel whose close never completed, left to the session. */
struct opt_abandoned {
	struct opt_abandoned *next;
	struct opt_listener *l;
	LIBSSH2_CHANNEL *ch;
	int channel_id;
	long long next_try;
};

struct opt_forward {
	struct opt_session *s;
	struct opt_shaper *shaper;
	struct opt_log *log;
	struct opt_job *jobs;
	struct opt_job *opening; /* the one job whose open is in flight */
	struct opt_abandoned *abandoned;
	unsigned rr; /* the pass starts after the job that last moved */
	unsigned long long pass_rx; /* wire_down when the pass began */
	unsigned active; /* jobs, and abandoned channels: the site's count */
	unsigned long long payload_up, payload_down, jobs_total;
	bool dirty; /* counters changed: the state file is due */
};

void opt_forward_init(struct opt_forward *, struct opt_session *,
    struct opt_shaper *, struct opt_log *);
unsigned opt_forward_load(const struct opt_listener *);
struct opt_job *opt_forward_deliver(struct opt_forward *, struct opt_listener *,
    int, const char *, opt_job_end_fn *, void *);
void opt_forward_accept(struct opt_forward *, struct opt_listener *,
    const struct opt_allow *, unsigned, unsigned, long long);
int opt_forward_pass(struct opt_forward *, long long);
long long opt_forward_wake(struct opt_forward *, long long);
size_t opt_forward_pollfds(struct opt_forward *, struct pollfd *, size_t);
unsigned opt_forward_njobs(const struct opt_forward *);
void opt_forward_stop_queued(struct opt_forward *, const char *);
void opt_forward_drop_all(struct opt_forward *, const char *, const char *);
void opt_forward_detach(struct opt_forward *, const struct opt_listener *);

#endif
