/*
 * Intake: the clients of spool-mode channels.  A client's job is
 * written to the spool as it comes (spool.h), whatever the session is
 * doing; once the client ended its side, the job is committed
 * (fsync'd) and only then does the client see the connection end
 * cleanly.  A job that cannot be stored whole (the spool is full, the
 * disk is, the client reset) leaves nothing behind, and the client gets
 * a reset so that its spooler tries again.
 */
#ifndef OPT_INTAKE_H
#define OPT_INTAKE_H

#include <poll.h>
#include <stdbool.h>

#include "allow.h"
#include "listen.h"
#include "log.h"
#include "spool.h"

struct opt_intake_job {
	struct opt_intake_job *next;
	struct opt_listener *l; /* NULL once its channel is removed */
	int channel_id;
	int fd; /* the client */
	struct pollfd *pfd; /* its entry in this pass's poll(), or NULL */
	struct opt_spool_intake in;
	char peer[64];
	long long start_ms;
};

struct opt_intakes {
	struct opt_spool *spool;
	struct opt_log *log;
	struct opt_intake_job *jobs;
	unsigned active;
	unsigned long long stored; /* jobs stored by this process */
	bool changed; /* a job was stored since the deliveries looked */
};

void opt_intakes_init(struct opt_intakes *, struct opt_spool *,
    struct opt_log *);
void opt_intake_accept(struct opt_intakes *, struct opt_listener *,
    const struct opt_allow *, unsigned, unsigned, long long);
void opt_intake_pass(struct opt_intakes *);
size_t opt_intake_pollfds(struct opt_intakes *, struct pollfd *, size_t);
void opt_intake_drop_all(struct opt_intakes *, const char *);
long long opt_intake_room(const struct opt_intakes *);
void opt_intake_detach(struct opt_intakes *, const struct opt_listener *);

#endif
