/* The engine's parts that decide without a peer: who may connect, what
 * a reload does to a port, when to reconnect or deliver again, how much
 * may cross, job limits and their log lines, and probe rounds. */
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allow.h"
#include "deliver.h"
#include "listen.h"
#include "log.h"
#include "probe.h"
#include "session.h"
#include "tap.h"
#include "throttle.h"

static struct sockaddr_storage
addr_of(const char *a)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, a, &in->sin_addr) == 1)
		in->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, a, &in6->sin6_addr) == 1)
		in6->sin6_family = AF_INET6;
	return ss;
}

static bool
allowed(const char *cidr, const char *a)
{
	struct opt_allow al = {0};
	struct sockaddr_storage ss = addr_of(a);

	if (cidr != NULL) {
		if (opt_net_parse(cidr, &al.v[0]) == -1)
			return false;
		al.n = 1;
	}
	return opt_allow_match(&al, &ss);
}

static void
cidrs(void)
{
	struct opt_net n;

	ok(allowed(NULL, "203.0.113.7"), "no allow list: anyone");
	ok(allowed("10.0.0.0/8", "10.200.3.4"), "inside a /8");
	ok(!allowed("10.0.0.0/8", "11.0.0.1"), "outside a /8");
	ok(allowed("192.168.1.0/25", "192.168.1.127"), "last of a /25");
	ok(!allowed("192.168.1.0/25", "192.168.1.128"), "past a /25");
	ok(allowed("192.168.1.5", "192.168.1.5"), "a bare address is a /32");
	ok(!allowed("192.168.1.5", "192.168.1.6"), "...and only itself");
	ok(allowed("0.0.0.0/0", "8.8.8.8"), "/0 is everyone");
	ok(allowed("10.0.0.0/8", "::ffff:10.1.2.3"),
	    "an IPv4 client of a dual-stack socket matches IPv4 networks");
	ok(!allowed("10.0.0.0/8", "fd00::1"), "an IPv6 client does not");
	ok(allowed("fd00::/8", "fd12::1"), "inside an IPv6 /8");
	ok(!allowed("fd00::/16", "fd01::1"), "outside an IPv6 /16");
	ok(allowed("2001:db8::/127", "2001:db8::1"), "odd prefix, inside");
	ok(!allowed("2001:db8::/127", "2001:db8::2"), "odd prefix, outside");
	ok(!allowed("fd00::/8", "10.0.0.1"), "an IPv4 client, IPv6 network");
	ok(opt_net_parse("10.0.0.0/33", &n) == -1, "/33 is refused");
	ok(opt_net_parse("10.0.0.0/", &n) == -1, "an empty prefix is refused");
	ok(opt_net_parse("10.0.0.0/8x", &n) == -1, "a prefix with junk");
	ok(opt_net_parse("fd00::/129", &n) == -1, "/129 is refused");
	ok(opt_net_parse("nautilus/8", &n) == -1, "a name is not a network");
}

static void
reload_diff(void)
{
	struct opt_channel a = {.id = 1, .listen = 9101}, b = a;

	is_int(opt_listen_diff(&a, &b, false), OPT_LC_KEEP,
	    "same port: the socket is kept");
	strlcpy(b.printer, "10.0.0.9", sizeof(b.printer));
	b.printer_port = 9102;
	b.max_jobs = 4;
	is_int(opt_listen_diff(&a, &b, false), OPT_LC_KEEP,
	    "another printer or limit: the socket is kept");
	b.listen = 9105;
	is_int(opt_listen_diff(&a, &b, false), OPT_LC_REBIND,
	    "another port: a new socket");
	b.listen = 9101;
	is_int(opt_listen_diff(&a, &b, true), OPT_LC_REBIND,
	    "another bind address: a new socket");
}

static void
backoff(void)
{
	struct opt_backoff b = {0};
	long long now = 1000000,
	          want[] = {1000, 2000, 4000, 8000, 10000, 10000, 10000};
	long long d, max = 0;
	unsigned i;

	for (i = 0; i < 7; i++) {
		d = opt_backoff_next(&b, now, 20); /* rnd % 41 == 20: as is */
		is_int(d, want[i], "the schedule without jitter");
		now += d;
	}
	opt_backoff_reset(&b);
	is_int(opt_backoff_next(&b, now, 0), 800,
	    "after a reset it starts again; jitter cuts at most a fifth");
	is_int(opt_backoff_next(&b, now, 40), 2400, "...or adds a fifth");
	opt_backoff_next(&b, now, 20);
	opt_backoff_next(&b, now, 20);
	is_int(opt_backoff_next(&b, now, 40), 10000,
	    "but a wait is never above 10 s in the first ten minutes");
	opt_backoff_reset(&b);
	for (now = 0, i = 0; now < OPT_BACKOFF_FAST_MS; i++) {
		d = opt_backoff_next(&b, now + 1, (unsigned)rand());
		if (d > max)
			max = d;
		now += d;
	}
	ok(max <= 10000, "never above 10 s in the first ten minutes");
	d = opt_backoff_next(&b, now + 1, 20);
	is_int(d, 20000, "then 20 s");
	d = opt_backoff_next(&b, now + 1 + d, 20);
	is_int(d, 40000, "then 40 s");
	d = opt_backoff_next(&b, now + 1 + d, 20);
	is_int(d, 60000, "then 60 s");
	d = opt_backoff_next(&b, now + 1 + d, 20);
	is_int(d, 60000, "and 60 s from then on");
	d = opt_backoff_next(&b, now, 0);
	is_int(d, 48000, "jitter: 48 s at least");
	d = opt_backoff_next(&b, now, 40);
	is_int(d, 60000, "...and 60 s at most");
}

static void
shaper(void)
{
	struct opt_throttle th = {true, 100, 1000};
	struct opt_shaper s = {0};

	ok(opt_shaper_room(NULL, OPT_DIR_UP, 0) == SIZE_MAX,
	    "no shaper: no limit");
	opt_shaper_set(&s, &th, 1000);
	ok(opt_shaper_on(&s, OPT_DIR_UP), "on");
	is_int((long long)opt_shaper_burst(&s, OPT_DIR_UP), 16384,
	    "100 KiB/s: the burst is the 16 KiB floor");
	is_int((long long)opt_shaper_burst(&s, OPT_DIR_DOWN), 102400,
	    "1000 KiB/s: the burst is 100 ms of it");
	is_int((long long)opt_shaper_room(&s, OPT_DIR_UP, 1000), 16384,
	    "full at first");
	opt_shaper_spend(&s, OPT_DIR_UP, 20000);
	is_int((long long)opt_shaper_room(&s, OPT_DIR_UP, 1000), 0,
	    "overspent: no room");
	is_int(opt_shaper_wait(&s, OPT_DIR_UP, 1024), 46,
	    "wake when 1 KiB is there again (3.6 KB owed + 1 KiB at 102.4/ms)");
	is_int((long long)opt_shaper_room(&s, OPT_DIR_UP, 1100), 6624,
	    "refilled at the rate");
	is_int((long long)opt_shaper_room(&s, OPT_DIR_UP, 100000), 16384,
	    "never above the burst");
	th.enabled = false;
	opt_shaper_set(&s, &th, 2000);
	ok(opt_shaper_room(&s, OPT_DIR_DOWN, 2000) == SIZE_MAX, "off again");
	is_int(opt_shaper_wait(&s, OPT_DIR_DOWN, 4096), 0, "nothing to wait");
}

static int
count_lines(const char *path, const char *what)
{
	char line[512];
	FILE *f = fopen(path, "r");
	int n = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, what) != NULL;
	fclose(f);
	return n;
}

static void
limits(const char *dir)
{
	struct opt_channel c = {.id = 3, .listen = 0, .max_jobs = 2};
	struct opt_listener *l = opt_listener_new(&c);
	struct opt_log log;
	struct opt_error e;
	char path[256];
	int dfd;

	is_int(opt_job_limit(0, 32, 0, 256), OPT_PAUSE_NONE, "room");
	is_int(opt_job_limit(32, 32, 40, 256), OPT_PAUSE_CHANNEL,
	    "the channel's bound");
	is_int(opt_job_limit(3, 32, 256, 256), OPT_PAUSE_SITE,
	    "the site's bound");
	is_int(opt_job_limit(32, 32, 256, 256), OPT_PAUSE_CHANNEL,
	    "both: the channel's is named");
	snprintf(path, sizeof(path), "%s/limits.log", dir);
	ok((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1 &&
	        opt_log_open(&log, dfd, dir, "limits", NULL, &e) == 0,
	    "a log");
	ok(opt_listener_bind(l, "127.0.0.1", &e) == 0, "bound");
	opt_listener_listen(l, true, &log);
	ok(opt_listener_polled(l, 0), "listening: polled");
	opt_listener_pause(l, OPT_PAUSE_CHANNEL, 0, &log);
	ok(!opt_listener_polled(l, 0), "paused: not polled");
	opt_listener_pause(l, OPT_PAUSE_SITE, 0, &log);
	opt_listener_pause(l, OPT_PAUSE_FD, 5000, &log);
	ok(!opt_listener_polled(l, 5999), "out of descriptors: not polled");
	ok(opt_listener_polled(l, 6000), "...until a second later");
	opt_listener_resume(l);
	ok(opt_listener_polled(l, 6000), "resumed: polled");
	opt_listener_pause(l, OPT_PAUSE_CHANNEL, 7000, &log);
	opt_listener_drained(l, &log);
	opt_listener_resume(l);
	opt_listener_drained(l, &log);
	opt_listener_drained(l, &log);
	opt_listener_pause(l, OPT_PAUSE_CHANNEL, 8000, &log);
	opt_listener_listen(l, false, &log);
	ok(!opt_listener_polled(l, 8000), "not listening: not polled");
	is_int(l->paused, OPT_PAUSE_NONE, "down: no pause left over");
	opt_log_close(&log);
	close(dfd);
	is_int(count_lines(path,
	           "event=accept-paused channel=3 "
	           "reason=channel-limit"),
	    2, "one line an episode (two episodes)");
	is_int(count_lines(path, "event=accept-paused"), 2,
	    "...pausing and resuming within one is not logged again");
	is_int(count_lines(path, "event=accept-resumed channel=3"), 1,
	    "the episode ends once, when nobody waits any more");
	opt_listener_free(l);
}

static void remove_in(const char *, const char *);

/* A throwaway key, so that a probe session gets as far as connecting. */
static int
make_key(const char *path)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		execlp("ssh-keygen", "ssh-keygen", "-q", "-t", "ed25519", "-N",
		    "", "-f", path, (char *)NULL);
		_exit(127);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid &&
	        WIFEXITED(status) && WEXITSTATUS(status) == 0
	    ? 0
	    : -1;
}

static void
probes(const char *dir)
{
	struct opt_channel c = {.id = 1,
	    .printer = "10.0.0.1",
	    .printer_port = 9100};
	struct opt_listener *list, *busy, *hole = opt_listener_new(&c);
	struct opt_site site = {.host = "127.0.0.1",
	    .keepalive_interval = 1,
	    .keepalive_count = 1};
	struct opt_prober p;
	struct opt_log log;
	struct opt_error e;
	struct pollfd pfd;
	char path[256], fp[OPT_FP_MAX] = "";
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int silent = socket(AF_INET, SOCK_STREAM, 0), dfd;

	c.id = 2;
	busy = opt_listener_new(&c);
	busy->active = 1;
	busy->next = hole;
	list = busy;
	snprintf(site.identity, sizeof(site.identity), "%s/no-such-key", dir);
	snprintf(path, sizeof(path), "%s/probe.log", dir);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	opt_log_open(&log, dfd, dir, "probe", NULL, &e);
	opt_prober_init(&p, &list);
	p.s.site = &site;
	p.s.known_hosts = path;
	p.s.pinned_fp = fp;
	p.s.log = &log;
	ok(!opt_prober_running(&p), "idle at first");
	ok(opt_prober_round(&p, 0),
	    "the probe session cannot start: the round ends at once");
	is_str(busy->probe, "ok", "a channel with a job is reachable");
	is_str(hole->probe, "failed", "the idle channel's probe failed");
	ok(strstr(hole->last_error, "cannot open a probe session") != NULL,
	    "...saying why");

	/* A server that never speaks SSH: the round waits, bounded. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(silent, (struct sockaddr *)&sin, sizeof(sin));
	listen(silent, 4);
	getsockname(silent, (struct sockaddr *)&sin, &len);
	site.port = ntohs(sin.sin_port);
	snprintf(site.identity, sizeof(site.identity), "%s/key", dir);
	if (make_key(site.identity) == -1) {
		ok(0, "ssh-keygen made a key");
		return;
	}
	ok(!opt_prober_round(&p, 1000) && opt_prober_running(&p),
	    "a round against a silent server runs");
	is_int((long long)p.n, 1, "one channel to probe: the idle one");
	ok(!opt_prober_round(&p, 1100) && p.n == 1,
	    "a request during the round joins it");
	opt_prober_pollfd(&p, &pfd, 1100);
	ok(pfd.fd != -1, "its session is polled");
	ok(opt_prober_wake(&p, 1100) > 0, "...with a deadline");
	ok(opt_prober_abort(&p, "tunnel stopping"), "aborted");
	ok(!opt_prober_running(&p) && !opt_prober_abort(&p, "again"),
	    "...once");
	is_str(hole->last_error, "tunnel stopping", "the probe says why");
	opt_prober_free(&p);
	opt_log_close(&log);
	close(dfd);
	is_int(count_lines(path, "event=probe-failed channel=1"), 2,
	    "each failed probe logged once");
	is_int(count_lines(path, "event=probe-failed channel=2"), 0,
	    "the busy channel is not probed");
	close(silent);
	remove_in(dir, "key");
	remove_in(dir, "key.pub");
	opt_listener_free(hole);
	opt_listener_free(busy);
}

static void
remove_in(const char *dir, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

/* A spool delivery the printer's side failed: 5 s, doubled, at most
 * 5 min. */
static void
redelivery(void)
{
	is_int(opt_deliver_backoff(1), 5000, "first redelivery after 5 s");
	is_int(opt_deliver_backoff(2), 10000, "then 10 s");
	is_int(opt_deliver_backoff(4), 40000, "then doubled: 40 s at the 4th");
	is_int(opt_deliver_backoff(7), 300000, "at most 5 min (7th: 320 s)");
	is_int(opt_deliver_backoff(100000), 300000,
	    "and no overflow however many attempts");
}

int
main(void)
{
	char dir[] = "/tmp/opt-unit.XXXXXX";

	if (mkdtemp(dir) == NULL)
		return 1;
	cidrs();
	reload_diff();
	backoff();
	redelivery();
	shaper();
	limits(dir);
	probes(dir);
	remove_in(dir, "limits.log");
	remove_in(dir, "probe.log");
	rmdir(dir);
	return done_testing();
}
