/*
 * The spool: jobs of spool-mode channels, kept on disk until delivered.
 *
 * Layout, under <spool> (MAST_SPOOL_DIR, /var/spool/mast), owned by
 * local_user, directories 0750, files 0640:
 *   <site>/<channel>/<id>.data         the job's bytes, raw
 *   <site>/<channel>/<id>.job          its metadata: the job exists
 *                                      exactly when this file does
 *   <site>/<channel>/failed/<id>.*     given up: too old, or by hand
 *   <site>/<channel>/done/<id>.*       delivered, kept spool_keep hours
 *   <site>/last_id                     the highest id given so far
 * <channel> is the channel's numeric id.  <id> is a site-wide decimal
 * number, 10 digits zero-padded (0000000042), so that name order is the
 * order jobs were accepted in; ids only grow, also once every job is
 * gone (last_id keeps the highest when the last ones are removed).
 *
 * <id>.job is text, one key=value a line, in this order:
 *   id=0000000042  channel=2  peer=10.1.2.3  accepted=<unix s>
 *   bytes=812345  sha256=<64 hex, of the data file>  attempts=0
 *   next_try=<unix ms, 0 = now>  last_error=<one line, printable>
 *   delivered=<unix s, in done/ only>
 * Readers skip keys they do not know.
 *
 * Intake is crash-safe: the bytes go to .<id>.part (hashed as they
 * arrive); commit fsyncs it, renames it <id>.data, writes .<id>.meta,
 * fsyncs that, renames it <id>.job and fsyncs the directory.  Only then
 * is the client told.  A writer's open removes what a crash left: .part,
 * .meta, and a .data without its .job.  Every move takes the .job first
 * and the .data after it, so after a crash the .job says where the job
 * is and the open of a writer moves its .data there.
 *
 * States: queued; sending while a process holds the data file's flock
 * (LOCK_EX, so it ends with that process); failed in failed/.
 *
 * Raw, not compressed: 20 MB of print-like data is stored (write,
 * SHA-256, fsync) in 140-160 ms raw and in 390-450 ms at deflate level
 * 1, which saves 2.5 x of disk; the session compresses on the wire
 * anyway (bench/results/experiments/spool-raw-vs-deflate.md).
 *
 * Every file is opened relative to a checked directory descriptor, no
 * symbolic link is followed (safefile.h): root may run the readers.
 * One writer per site (the tunnel, which holds the site's pidfile);
 * others (opt-queue) only list, retry, remove and fail, each under the
 * job's flock.  Nothing holds job data in memory.
 */
#ifndef OPT_SPOOL_H
#define OPT_SPOOL_H

#include <limits.h>
#include <sha2.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "paths.h"
#include "safefile.h"

#define OPT_SPOOL_ID_MAX 9999999999ULL
#define OPT_SPOOL_ERROR_MAX 200

enum opt_spool_state {
	OPT_SPOOL_QUEUED,
	OPT_SPOOL_SENDING,
	OPT_SPOOL_FAILED,
	OPT_SPOOL_DONE,
};

struct opt_spool_job {
	unsigned long long id;
	int channel;
	enum opt_spool_state state;
	char peer[64];
	long long accepted; /* unix s */
	long long bytes;
	char sha256[SHA256_DIGEST_STRING_LENGTH];
	int attempts;
	long long next_try; /* unix ms, 0 = at once */
	char last_error[OPT_SPOOL_ERROR_MAX];
	long long delivered; /* unix s, done/ only */
};

struct opt_spool {
	int dirfd; /* <spool>/<site>; -1: a reader, and no spool yet */
	char dir[PATH_MAX];
	char site[64];
	struct opt_owner owner;
	bool writer;
	unsigned long long next_id;
	long long max_bytes; /* 0 = no limit */
	long long used; /* data bytes held, intakes under way included */
	long long pending; /* of which intakes under way */
};

/* Opens a site's spool.  OPT_SPOOL_WRITER: the tunnel, which makes the
 * directories, removes the leftovers of a crash and stores jobs, up to
 * max_bytes of data in all (0: no limit).  A reader finds no spool an
 * empty one. */
#define OPT_SPOOL_WRITER 0x1
int opt_spool_open(struct opt_spool *, const char *spool_dir, const char *site,
    const struct opt_owner *, unsigned flags, long long max_bytes,
    struct opt_error *);
void opt_spool_close(struct opt_spool *);

/* A job being stored: begin, write its bytes as they come, then commit
 * (fsync'd: now tell the client) or abort it: nothing is left.  A write
 * over max_bytes or on a full disk fails (EX_TEMPFAIL, EX_IOERR): the
 * caller aborts.  Several intakes may run at once. */
struct opt_spool_intake {
	struct opt_spool *spool;
	int chfd;
	int fd;
	char dir[PATH_MAX];
	struct opt_spool_job job;
	SHA2_CTX sha;
};

int opt_spool_intake_begin(struct opt_spool *, int channel, const char *peer,
    struct opt_spool_intake *, struct opt_error *);
int opt_spool_intake_write(struct opt_spool_intake *, const void *, size_t,
    struct opt_error *);
int opt_spool_intake_commit(struct opt_spool_intake *, struct opt_spool_job *,
    struct opt_error *);
void opt_spool_intake_abort(struct opt_spool_intake *);

/* The jobs of one channel (or of all, channel 0), queued and failed
 * (done ones with OPT_SPOOL_LIST_DONE), sorted by id. */
struct opt_spool_list {
	struct opt_spool_job *v;
	size_t n;
};

#define OPT_SPOOL_LIST_DONE 0x1
int opt_spool_list(struct opt_spool *, int channel, unsigned flags,
    struct opt_spool_list *, struct opt_error *);
void opt_spool_list_free(struct opt_spool_list *);
/* Job id's metadata, wherever it is (EX_NOINPUT: no such job). */
int opt_spool_find(struct opt_spool *, unsigned long long,
    struct opt_spool_job *, struct opt_error *);
int opt_spool_parse_id(const char *, unsigned long long *, struct opt_error *);

/*
 * Delivery: claim opens a queued job's data (fd, at offset 0) and holds
 * its flock until delivered, attempt_failed (the job stays queued, its
 * metadata says when to try again), fail (to failed/) or release.  A job
 * another process holds: EX_TEMPFAIL.
 */
struct opt_spool_claim {
	struct opt_spool_job job;
	int fd;
};

int opt_spool_claim(struct opt_spool *, const struct opt_spool_job *,
    struct opt_spool_claim *, struct opt_error *);
int opt_spool_delivered(struct opt_spool *, struct opt_spool_claim *,
    int keep_hours, struct opt_error *);
int opt_spool_attempt_failed(struct opt_spool *, struct opt_spool_claim *,
    const char *why, long long next_try, struct opt_error *);
int opt_spool_fail(struct opt_spool *, struct opt_spool_claim *,
    const char *why, struct opt_error *);
void opt_spool_release(struct opt_spool_claim *);

/* By hand (opt-queue): retry puts a failed job back in its queue, or
 * makes a queued one due now; remove deletes a job.  Both refuse a job
 * being sent (EX_TEMPFAIL). */
int opt_spool_retry(struct opt_spool *, const struct opt_spool_job *,
    struct opt_error *);
int opt_spool_remove(struct opt_spool *, const struct opt_spool_job *,
    struct opt_error *);

/* Housekeeping, now and then by the writer: a queued job accepted more
 * than max_age seconds ago moves to failed/ (fn is told of each), a
 * done one delivered more than keep_hours ago is removed, and the bytes
 * used are counted again.  A job being sent is left for the next time. */
typedef void opt_spool_job_fn(void *, const struct opt_spool_job *);
int opt_spool_expire(struct opt_spool *, long long now, long long max_age,
    int keep_hours, opt_spool_job_fn *, void *, struct opt_error *);

const char *opt_spool_state_name(enum opt_spool_state);

#endif
