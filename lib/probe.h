/*
 * Probes: whether each idle channel's printer can be reached from the
 * site, asked by SIGUSR1 (opt-status --check).  A round opens and
 * closes a direct-tcpip channel to each printer in turn, on a session
 * of its own: SSH opens one channel at a time per session, and a
 * printer that does not answer would hold up every job's open behind
 * it.  One round at a time (a request during a round joins it), one
 * probe at a time, each bounded: an open the site has not answered in
 * OPT_PROBE_OPEN_MS fails, and the probe session is dropped with it.
 *
 * A channel's probe setting says what is asked: tcp, whether the open
 * succeeds; pjl, then also the printer's own state (pjl.h), the answer
 * read for at most OPT_PROBE_PJL_MS and OPT_PJL_ANSWER_MAX bytes; off,
 * nothing.  A channel with a job running is not probed: the job holds
 * the printer (a PJL request would reach it in the middle of a job's
 * data), and it proves the printer reachable.
 */
#ifndef OPT_PROBE_H
#define OPT_PROBE_H

#include <stdbool.h>

#include "listen.h"
#include "session.h"

#define OPT_PROBE_OPEN_MS 5000
#define OPT_PROBE_PJL_MS 5000

struct opt_probe_target {
	int channel_id;
	char printer[OPT_HOST_MAX + 1];
	int printer_port;
	enum opt_probe_kind kind;
};

enum opt_probe_phase {
	OPT_PR_IDLE,
	OPT_PR_CONNECTING,
	OPT_PR_OPENING,
	OPT_PR_ASKING, /* pjl: the request is being written */
	OPT_PR_READING, /* pjl: the answer is being read */
	OPT_PR_CLOSING,
};

/* The results go to the listeners (probe, probe_at, probe_since,
 * pjl_code, pjl_display, last_error) and the log (probe-ok,
 * probe-failed). */
struct opt_prober {
	struct opt_session s;
	struct opt_listener *const *listeners;
	enum opt_probe_phase phase;
	struct opt_probe_target *targets;
	size_t n, i, cap;
	LIBSSH2_CHANNEL *ch;
	long long deadline, started;
	char answer[OPT_PJL_ANSWER_MAX];
	size_t alen, asked; /* of the answer read, of the request sent */
};

void opt_prober_init(struct opt_prober *, struct opt_listener *const *);
bool opt_prober_running(const struct opt_prober *);
bool opt_prober_round(struct opt_prober *, long long);
bool opt_prober_abort(struct opt_prober *, const char *);
void opt_prober_pollfd(const struct opt_prober *, struct pollfd *, long long);
bool opt_prober_step(struct opt_prober *, short, long long);
long long opt_prober_wake(const struct opt_prober *, long long);
void opt_prober_free(struct opt_prober *);

#endif
