/* The spool: intake, leftovers, limits, order, delivery, by hand, expiry. */
#define _XOPEN_SOURCE 700
#include <sys/stat.h>

#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"
#include "tap.h"

static char root[64], dir[128];
static struct opt_owner me;

static bool
there(const char *rel)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/nautilus/%s", dir, rel);
	return lstat(p, &st) == 0;
}

static void
plant(const char *rel, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/nautilus/%s", dir, rel);
	if ((f = fopen(p, "w")) != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static int
writer(struct opt_spool *s, long long max)
{
	struct opt_error e;
	int r =
	    opt_spool_open(s, dir, "nautilus", &me, OPT_SPOOL_WRITER, max, &e);

	if (r == -1)
		printf("# open: %s\n", e.text);
	return r;
}

static unsigned long long
store(struct opt_spool *s, int channel, const char *data)
{
	struct opt_spool_intake in;
	struct opt_spool_job j;
	struct opt_error e;

	if (opt_spool_intake_begin(s, channel, "10.1.2.3", &in, &e) == -1 ||
	    opt_spool_intake_write(&in, data, strlen(data), &e) == -1) {
		printf("# store: %s\n", e.text);
		opt_spool_intake_abort(&in);
		return 0;
	}
	if (opt_spool_intake_commit(&in, &j, &e) == -1) {
		printf("# commit: %s\n", e.text);
		return 0;
	}
	return j.id;
}

static void
intake(void)
{
	static const char abc[] =
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	unsigned char big[100000];
	char hex[SHA256_DIGEST_STRING_LENGTH];
	struct opt_spool_intake in;
	struct opt_spool_job j;
	struct opt_spool s;
	struct opt_error e;
	size_t i;

	ok(writer(&s, 0) == 0, "a writer makes the spool");
	is_int(s.next_id, 1, "the first id is 1");
	ok(opt_spool_intake_begin(&s, 1, "10.1.2.3\nx", &in, &e) == 0 &&
	        there("1/.0000000001.part"),
	    "intake writes a hidden .part");
	opt_spool_intake_write(&in, "a", 1, &e);
	opt_spool_intake_write(&in, "bc", 2, &e);
	ok(opt_spool_intake_commit(&in, &j, &e) == 0, "commit");
	is_str(j.sha256, abc, "sha256 of the bytes as they came");
	ok(there("1/0000000001.data") && there("1/0000000001.job") &&
	        !there("1/.0000000001.part") && !there("1/.0000000001.meta"),
	    "committed: <id>.data and <id>.job, nothing hidden");
	ok(opt_spool_find(&s, 1, &j, &e) == 0, "found again");
	is_str(j.peer, "10.1.2.3?x", "the peer, one printable line");
	is_int(j.bytes, 3, "bytes");
	ok(j.accepted > 0 && j.accepted <= (long long)time(NULL), "accepted");

	for (i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7 + i / 251);
	opt_spool_intake_begin(&s, 1, "p", &in, &e);
	for (i = 0; i < sizeof(big); i += 4096)
		opt_spool_intake_write(&in, big + i,
		    i + 4096 > sizeof(big) ? sizeof(big) - i : 4096, &e);
	opt_spool_intake_commit(&in, &j, &e);
	SHA256Data(big, sizeof(big), hex);
	is_str(j.sha256, hex, "sha256 of 100000 bytes in pieces");

	opt_spool_intake_begin(&s, 1, "p", &in, &e);
	opt_spool_intake_write(&in, "partial", 7, &e);
	opt_spool_intake_abort(&in);
	ok(!there("1/.0000000003.part") && !there("1/0000000003.data"),
	    "abort leaves nothing");
	is_int(s.used, 100003, "used counts committed bytes only");
	opt_spool_close(&s);
}

static void
leftovers_and_limit(void)
{
	struct opt_spool_intake in;
	struct opt_spool_list l;
	struct opt_spool s;
	struct opt_error e;
	char p[512];

	plant("1/.0000000009.part", "x");
	plant("1/.0000000004.meta", "id=4\n");
	plant("1/0000000010.data", "never committed");
	/* A fail cut between its two renames. */
	snprintf(p, sizeof(p), "%s/nautilus/1/failed", dir);
	mkdir(p, 0750);
	plant("1/failed/0000000005.job", "id=0000000005\nbytes=4\n");
	plant("1/0000000005.data", "five");
	ok(writer(&s, 100050) == 0, "reopen");
	ok(!there("1/.0000000009.part") && !there("1/.0000000004.meta") &&
	        !there("1/0000000010.data"),
	    "open removes .part, .meta and a .data without .job");
	ok(there("1/failed/0000000005.data") && !there("1/0000000005.data"),
	    "a cut move is finished: the .data goes to its .job");
	is_int(s.next_id, 11, "next id: after the largest seen");
	is_int(s.used, 100007, "used: every data file");
	opt_spool_intake_begin(&s, 1, "p", &in, &e);
	ok(opt_spool_intake_write(&in, "0123456789", 10, &e) == 0,
	    "under the limit");
	ok(opt_spool_intake_write(&in,
	       "0123456789012345678901234567890123456"
	       "7890123456789",
	       50, &e) == -1 &&
	        e.status == EX_TEMPFAIL && strstr(e.text, "spool full"),
	    "the limit refuses a write");
	opt_spool_intake_abort(&in);
	ok(!there("1/.0000000011.part"), "and abort leaves nothing");
	is_int(s.used, 100007, "used is back");
	opt_spool_list(&s, 0, 0, &l, &e);
	is_int(l.n, 3, "three jobs");
	opt_spool_list_free(&l);
	opt_spool_close(&s);
}

static void
order_and_delivery(void)
{
	struct opt_spool_claim c, c2;
	struct opt_spool_list l;
	struct opt_spool_job j;
	struct opt_spool s, r;
	struct opt_error e;
	unsigned long long a, b, d;

	writer(&s, 0);
	a = store(&s, 2, "two-a");
	b = store(&s, 1, "one-b");
	d = store(&s, 2, "two-c");
	ok(a == 6 && b == 7 && d == 8,
	    "ids grow across channels (after the highest committed)");
	opt_spool_list(&s, 2, 0, &l, &e);
	ok(l.n == 2 && l.v[0].id == a && l.v[1].id == d, "channel 2, in order");
	opt_spool_list_free(&l);
	opt_spool_list(&s, 0, 0, &l, &e);
	ok(l.n == 6 && l.v[0].id == 1 && l.v[5].id == d &&
	        l.v[2].state == OPT_SPOOL_FAILED,
	    "all channels, sorted by id, with state");
	opt_spool_find(&s, a, &j, &e);
	opt_spool_list_free(&l);

	ok(opt_spool_claim(&s, &j, &c, &e) == 0 && c.fd != -1, "claim");
	ok(opt_spool_open(&r, dir, "nautilus", &me, 0, 0, &e) == 0 &&
	        opt_spool_find(&r, a, &j, &e) == 0 &&
	        j.state == OPT_SPOOL_SENDING,
	    "a reader sees it sending");
	ok(opt_spool_claim(&r, &j, &c2, &e) == -1 && e.status == EX_TEMPFAIL,
	    "a second claim: busy");
	ok(opt_spool_remove(&r, &j, &e) == -1 && e.status == EX_TEMPFAIL,
	    "remove refuses a job being sent");
	ok(opt_spool_retry(&r, &j, &e) == -1 && e.status == EX_TEMPFAIL,
	    "so does retry");
	ok(opt_spool_attempt_failed(&s, &c, "link\ndown", 12345, &e) == 0,
	    "attempt failed");
	opt_spool_find(&r, a, &j, &e);
	ok(j.state == OPT_SPOOL_QUEUED && j.attempts == 1 &&
	        j.next_try == 12345 && strcmp(j.last_error, "link?down") == 0,
	    "attempts, next_try, last_error (one line); queued again");
	ok(opt_spool_retry(&r, &j, &e) == 0 &&
	        opt_spool_find(&r, a, &j, &e) == 0 && j.next_try == 0 &&
	        j.attempts == 1,
	    "retry of a queued job: due now");

	opt_spool_claim(&s, &j, &c, &e);
	ok(opt_spool_fail(&s, &c, "by hand", &e) == 0 &&
	        there("2/failed/0000000006.job") &&
	        there("2/failed/0000000006.data") && !there("2/0000000006.job"),
	    "fail moves both files to failed/");
	opt_spool_find(&r, a, &j, &e);
	ok(j.state == OPT_SPOOL_FAILED && opt_spool_claim(&s, &j, &c, &e) == -1,
	    "a failed job is not claimed");
	ok(opt_spool_retry(&r, &j, &e) == 0 && there("2/0000000006.job") &&
	        there("2/0000000006.data"),
	    "retry puts it back in the queue");

	opt_spool_find(&s, b, &j, &e);
	opt_spool_claim(&s, &j, &c, &e);
	ok(opt_spool_delivered(&s, &c, 0, &e) == 0 &&
	        !there("1/0000000007.job") && !there("1/0000000007.data"),
	    "delivered: removed");
	opt_spool_find(&s, d, &j, &e);
	opt_spool_claim(&s, &j, &c, &e);
	ok(opt_spool_delivered(&s, &c, 2, &e) == 0 &&
	        there("2/done/0000000008.job") &&
	        there("2/done/0000000008.data"),
	    "delivered, kept: done/");
	ok(opt_spool_find(&s, d, &j, &e) == -1 && e.status == EX_NOINPUT,
	    "a done job is not listed");
	opt_spool_find(&r, 1, &j, &e);
	ok(opt_spool_remove(&r, &j, &e) == 0 && !there("1/0000000001.job"),
	    "remove");
	opt_spool_close(&r);
	opt_spool_close(&s);
}

static int expired;

static void
count(void *arg, const struct opt_spool_job *j)
{
	(void)arg;
	if (strstr(j->last_error, "spool_max_age") != NULL)
		expired++;
}

static void
expiry(void)
{
	struct opt_spool_list l;
	struct opt_spool s;
	struct opt_error e;
	long long now = (long long)time(NULL);
	size_t i;

	writer(&s, 0);
	ok(opt_spool_expire(&s, now + 3600, 7 * 86400, 2, count, NULL, &e) ==
	            0 &&
	        there("2/done/0000000008.job") && expired == 0,
	    "nothing expires early");
	ok(opt_spool_expire(&s, now + 3 * 3600, 7 * 86400, 2, count, NULL,
	       &e) == 0 &&
	        !there("2/done/0000000008.job") &&
	        !there("2/done/0000000008.data"),
	    "a done job goes after keep hours");
	ok(opt_spool_expire(&s, now + 8 * 86400, 7 * 86400, 2, count, NULL,
	       &e) == 0,
	    "expire after max age");
	is_int(expired, 2, "each queued job moved to failed/ is told");
	opt_spool_list(&s, 0, 0, &l, &e);
	for (i = 0; i < l.n; i++)
		if (l.v[i].state != OPT_SPOOL_FAILED)
			break;
	ok(l.n == 3 && i == l.n, "all are failed, none deleted");
	opt_spool_list_free(&l);
	for (i = 0; i < 3; i++) {
		if (opt_spool_list(&s, 0, 0, &l, &e) == 0 && l.n > 0)
			opt_spool_remove(&s, &l.v[0], &e);
		opt_spool_list_free(&l);
	}
	opt_spool_close(&s);
	writer(&s, 0);
	is_int(s.next_id, 9, "ids are not given again once all are gone");
	is_int(s.used, 0, "an empty spool");
	opt_spool_close(&s);
}

static void
hostile(void)
{
	struct opt_spool_list l;
	struct opt_spool s;
	struct opt_error e;
	char p[512];

	writer(&s, 0);
	snprintf(p, sizeof(p), "%s/nautilus/1/0000000050.job", dir);
	ok(symlink("/etc/passwd", p) == 0, "a planted symlink");
	ok(opt_spool_list(&s, 0, 0, &l, &e) == -1 && e.status == EX_NOPERM &&
	        strstr(e.text, "symbolic link"),
	    "is refused, not followed");
	unlink(p);
	snprintf(p, sizeof(p), "%s/nautilus/7", dir);
	ok(symlink("/etc", p) == 0 && opt_spool_list(&s, 0, 0, &l, &e) == -1 &&
	        e.status == EX_NOPERM,
	    "a channel directory that is a link is refused");
	unlink(p);
	opt_spool_close(&s);
	ok(opt_spool_open(&s, "/nonexistent/spool", "nautilus", &me, 0, 0,
	       &e) == 0 &&
	        opt_spool_list(&s, 0, 0, &l, &e) == 0 && l.n == 0,
	    "a reader finds no spool an empty one");
	opt_spool_close(&s);
}

static int
rm(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st, (void)type, (void)f;
	return remove(path);
}

int
main(void)
{
	struct opt_error e;
	struct passwd *pw = getpwuid(geteuid());

	umask(022);
	snprintf(root, sizeof(root), "/tmp/spool-test.XXXXXX");
	if (mkdtemp(root) == NULL || pw == NULL ||
	    opt_owner_of(pw->pw_name, &me, &e) == -1)
		return 1;
	snprintf(dir, sizeof(dir), "%s/spool", root);
	intake();
	leftovers_and_limit();
	order_and_delivery();
	expiry();
	hostile();
	nftw(root, rm, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
