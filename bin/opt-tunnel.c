/*
 * opt-tunnel: start, stop, restart and reload the tunnel processes, one
 * per site, or run one in the foreground.
 *
 * A tunnel holds an flock(2) on <run>/<site>.pid for its whole life, so
 * a stale pidfile never blocks a start and two starts never make two
 * tunnels.  `start` learns how the tunnel came up from its state file.
 *
 * The run and log directories are local_user's: root opens each once,
 * refuses one another user could change, and then works relative to
 * its descriptor, through no link (safefile.h); it never changes the
 * owner or mode of a directory it did not make.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "cli.h"
#include "conf.h"
#include "control.h"
#include "defaults.h"
#include "perm.h"
#include "pidfile.h"
#include "safefile.h"
#include "site.h"
#include "ssh.h"
#include "state.h"
#include "throttle.h"
#include "tunnel.h"

#define STOP_WAIT_MS 35000 /* the tunnel drains jobs for up to 30 s */

enum {
	OPT_WAIT = CLI_OPT_FIRST_TOOL,
};

static const struct option longopts[] = {
    CLI_LONG_OPTS,
    {"wait", required_argument, NULL, OPT_WAIT},
    {NULL, 0, NULL, 0},
};

static struct cli cli;

static void
usage(void)
{
	printf("usage: opt-tunnel [-hqvV] [-C DIR] COMMAND ...\n"
	       "  opt-tunnel start [--wait SECONDS] [SITE ...]\n"
	       "  opt-tunnel stop [SITE ...]\n"
	       "  opt-tunnel restart [--wait SECONDS] [SITE ...]\n"
	       "  opt-tunnel reload [SITE ...]\n"
	       "  opt-tunnel run SITE\n");
}

static void
run_path(const char *site, const char *suffix, char *buf, size_t len)
{
	struct opt_error e;

	if (opt_paths_run(&cli.paths, site, suffix, buf, len, &e) == -1)
		cli_fail(&cli, site, &e);
}

/* Every file of the site reads and checks. */
static int
check_config(const char *site, struct opt_error *e)
{
	struct opt_channels cs;
	struct opt_throttle th;
	struct opt_defaults d;
	struct opt_site s;

	if (opt_defaults_load(&cli.paths, &d, e) == -1 ||
	    opt_site_load(&cli.paths, &d, site, &s, e) == -1 ||
	    opt_channels_load(&cli.paths, site, &cs, e) == -1)
		return -1;
	opt_channels_free(&cs);
	return opt_throttle_load(&cli.paths, &d, site, &th, e);
}

/*
 * Run as root for another local_user, the tunnel reads these again once
 * it has become that user: each must be readable by it (opt-tunnel(1)).
 */
static int
readable_by_user(const char *site, const struct opt_defaults *d,
    const struct opt_site *s, struct opt_error *e)
{
	static const char *const files[] = {"site.conf", "channels.conf",
	    "throttle.conf", "known_hosts"};
	char buf[5][PATH_MAX];
	const char *paths[6];
	size_t i;

	if (geteuid() != 0 || strcmp(d->local_user, "root") == 0)
		return 0;
	if (opt_paths_join(buf[0], sizeof(buf[0]), e, cli.paths.config,
	        "defaults.conf", (char *)NULL) == -1)
		return -1;
	for (i = 0; i < 4; i++)
		if (opt_paths_site(&cli.paths, site, files[i], buf[i + 1],
		        sizeof(buf[i + 1]), e) == -1)
			return -1;
	for (i = 0; i < 5; i++)
		paths[i] = buf[i];
	paths[5] = s->identity;
	return opt_perm_readable(d->local_user, paths, 6, e);
}

/* What can be found wrong before a process is started, with its code. */
static int
preflight(const char *site, struct opt_error *e)
{
	struct opt_defaults d;
	struct opt_owner owner;
	struct opt_site s;
	int fd;

	if (!opt_site_exists(&cli.paths, site))
		return opt_error_set(e, EX_NOINPUT, "no such site");
	if (check_config(site, e) == -1 ||
	    opt_defaults_load(&cli.paths, &d, e) == -1 ||
	    opt_site_load(&cli.paths, &d, site, &s, e) == -1)
		return -1;
	if (opt_identity_check(s.identity, e) == -1 ||
	    readable_by_user(site, &d, &s, e) == -1)
		return -1;
	if ((fd = cli_run_dir(&cli, &owner, true, e)) == -1)
		return -1;
	close(fd);
	return 0;
}

static bool
dropping(const struct opt_owner *o)
{
	return geteuid() == 0 && o->uid != 0;
}

/* Root binds, then becomes local_user ("root" keeps root). */
static int
drop_privileges(const struct opt_owner *o, struct opt_error *e)
{
	if (!dropping(o))
		return 0;
	if (setgroups(0, NULL) == -1 || initgroups(o->name, o->gid) == -1 ||
	    setgid(o->gid) == -1 || setuid(o->uid) == -1)
		return opt_error_errno(e, EX_OSERR, "cannot become %s",
		    o->name);
	if (setuid(0) != -1)
		return opt_error_set(e, EX_OSERR,
		    "still root after becoming %s", o->name);
	return 0;
}

static void
title(void *arg, const char *site, const char *state, unsigned channels)
{
	(void)arg;
	/* "-": not argv[0]'s name, whatever it was, but the tool's. */
	setproctitle("-opt-tunnel: %s %s %uch", site, state, channels);
}

/* "already running", with the pid when it is known yet. */
static int
already_running(pid_t pid, struct opt_error *e)
{
	if (pid > 0)
		return opt_error_set(e, EX_TEMPFAIL,
		    "already running (pid %ld)", (long)pid);
	return opt_error_set(e, EX_TEMPFAIL, "already running (starting)");
}

/*
 * What the tunnel process needs of the process: its signals read
 * through the engine's signalfd, no SIGPIPE (a client that went away
 * is an error return), and every descriptor the hard limit allows (a
 * job is one; at the limit the engine pauses accepting).
 */
static int
tunnel_process(struct opt_error *e)
{
	struct rlimit rl;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return opt_error_errno(e, EX_OSERR, "sigprocmask");
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	return 0;
}

/* What a tunnel process holds for its life. */
struct held {
	struct opt_owner owner;
	int run_fd;
	struct opt_pidfile pid;
	struct opt_tunnel *t;
};

static void
release(struct held *h)
{
	opt_tunnel_free(h->t);
	h->t = NULL;
	opt_pidfile_remove(&h->pid);
	close(h->run_fd);
}

/* Takes the pidfile, prepares and drops privileges; for run and start.
 * PREP_RUNNING: another process has the site (e says which). */
enum { PREP_FAILED = -1, PREP_OK, PREP_RUNNING };

static int
prepare(const char *site, bool foreground, struct held *h, struct opt_error *e)
{
	struct opt_tunnel_opts o = {.paths = &cli.paths,
	    .site = site,
	    .foreground = foreground,
	    .on_state = title,
	    .owner = &h->owner};
	char path[PATH_MAX], name[OPT_SITE_ID_MAX + 8];
	pid_t other = 0;
	int r;

	memset(h, 0, sizeof(*h));
	if ((h->run_fd = cli_run_dir(&cli, &h->owner, true, e)) == -1)
		return PREP_FAILED;
	o.run_fd = h->run_fd;
	run_path(site, ".pid", path, sizeof(path));
	snprintf(name, sizeof(name), "%s.pid", site);
	r = opt_pidfile_take(&h->pid, h->run_fd, cli.paths.run, name, &h->owner,
	    e);
	if (r != 0) {
		close(h->run_fd);
		if (r == -1)
			return PREP_FAILED;
		/* A lock is a running tunnel, whatever its file says. */
		opt_pidfile_probe(path, &other);
		already_running(other, e);
		return PREP_RUNNING;
	}
	/* A killed tunnel's state goes; only the lock's holder may remove
	 * it (a start that lost the race would remove the winner's). */
	snprintf(name, sizeof(name), "%s.state", site);
	(void)unlinkat(h->run_fd, name, 0);
	if (tunnel_process(e) == -1 || opt_tunnel_prepare(&h->t, &o, e) == -1)
		goto fail;
	opt_file_group(h->owner.name);
	if (dropping(&h->owner))
		opt_tunnel_pin_first(h->t, 5000);
	if (drop_privileges(&h->owner, e) == -1 ||
	    opt_pidfile_write(&h->pid, e) == -1)
		goto fail;
	return PREP_OK;
fail:
	release(h);
	return PREP_FAILED;
}

static int
cmd_run(int argc, char **argv)
{
	struct opt_error e = {0};
	struct held h;
	int r;

	if (argc != 2)
		cli_usage_error(&cli, "run needs one SITE");
	cli_site_id(&cli, argv[1]);
	cli_paths(&cli);
	if (preflight(argv[1], &e) == -1 ||
	    prepare(argv[1], true, &h, &e) != PREP_OK)
		cli_fail(&cli, argv[1], &e);
	r = opt_tunnel_run(h.t, &e);
	release(&h);
	if (r == -1)
		cli_fail(&cli, argv[1], &e);
	return EX_OK;
}

/*
 * The child that becomes the site's tunnel.  It says on fd how
 * preparing went ("OK", or "E<status> <message>"), then runs.
 */
static void
daemon_child(const char *site, int fd)
{
	struct opt_error e = {0};
	struct held h;
	int null, r;

	setsid();
	if ((r = prepare(site, false, &h, &e)) != PREP_OK) {
		/* R: the site runs, as asked (another start won a race) */
		dprintf(fd, "%c%d %s\n", r == PREP_RUNNING ? 'R' : 'E',
		    e.status, e.text);
		_exit(e.status);
	}
	if (chdir("/") == -1)
		_exit(EX_OSERR);
	if ((null = open("/dev/null", O_RDWR)) != -1) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	dprintf(fd, "OK\n");
	close(fd);
	r = opt_tunnel_run(h.t, &e);
	release(&h);
	_exit(r == -1 ? e.status : EX_OK);
}

struct started {
	const char *site;
	bool waiting;
};

/* Starts one site; returns 1 if a tunnel was started, 0 if it already
 * ran, -1 on error (reported). */
static int
start_one(const char *site, int *status)
{
	char pidpath[PATH_MAX], msg[OPT_ERROR_MAX + 16];
	struct opt_error e;
	ssize_t n = 0, r;
	pid_t pid;
	int p[2], st;

	run_path(site, ".pid", pidpath, sizeof(pidpath));
	if (opt_pidfile_probe(pidpath, &pid) == OPT_PROC_RUNNING) {
		already_running(pid, &e);
		if (!cli.quiet)
			printf("%s: %s\n", site, e.text);
		return 0;
	}
	if (preflight(site, &e) == -1) {
		cli_warn(&cli, site, &e);
		*status = *status ? *status : e.status;
		return -1;
	}
	fflush(stdout);
	if (pipe(p) == -1 || (pid = fork()) == -1) {
		opt_error_errno(&e, EX_OSERR, "cannot start");
		cli_warn(&cli, site, &e);
		*status = *status ? *status : EX_OSERR;
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		daemon_child(site, p[1]);
	}
	close(p[1]);
	while ((r = read(p[0], msg + n, sizeof(msg) - 1 - (size_t)n)) > 0)
		n += r;
	close(p[0]);
	msg[n] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	if (strcmp(msg, "OK") == 0)
		return 1;
	waitpid(pid, &st, 0);
	if (msg[0] == 'E' || msg[0] == 'R') {
		char *sp = strchr(msg, ' ');
		opt_error_set(&e, atoi(msg + 1), "%s", sp ? sp + 1 : msg);
		if (msg[0] == 'R') {
			if (!cli.quiet)
				printf("%s: %s\n", site, e.text);
			return 0;
		}
	} else {
		opt_error_set(&e, EX_SOFTWARE, "the tunnel process died");
	}
	cli_warn(&cli, site, &e);
	*status = *status ? *status : e.status;
	return -1;
}

/* Waits for each started site to be up or to have failed. */
static void
wait_up(struct started *s, size_t n, int wait_s, int *status)
{
	struct timespec ts = {0, 50 * 1000000L};
	long long waited = 0;
	size_t left = 0, i;

	for (i = 0; i < n; i++)
		left += s[i].waiting;
	while (left > 0) {
		for (i = 0; i < n; i++) {
			struct opt_state st;
			bool running, fresh;

			if (!s[i].waiting)
				continue;
			opt_tunnel_status(&cli.paths, s[i].site, false, &st,
			    NULL);
			opt_state_free(&st); /* only the scalars are used */
			/* Stale with a pid: a live process that is silent. */
			running = st.state != OPT_TS_STOPPED &&
			    (st.state != OPT_TS_STALE || st.pid > 0);
			fresh = st.updated != 0;
			if (!fresh && running && waited < wait_s * 1000LL)
				continue;
			if (st.state == OPT_TS_UP) {
				if (!cli.quiet)
					printf("%s: up (pid %ld, compression "
					       "%s)\n",
					    s[i].site, st.pid, st.compression);
			} else if (st.state == OPT_TS_RETRYING ||
			    st.state == OPT_TS_HOSTKEY_MISMATCH || !running ||
			    waited >= wait_s * 1000LL) {
				struct opt_error e;
				opt_error_set(&e, EX_UNAVAILABLE,
				    "not up (%s%s%s)%s",
				    running ? opt_tstate_name(st.state)
				            : "the process ended",
				    st.last_error[0] ? ": " : "", st.last_error,
				    running ? "; it keeps trying" : "");
				cli_warn(&cli, s[i].site, &e);
				*status = *status ? *status : EX_UNAVAILABLE;
			} else {
				continue;
			}
			s[i].waiting = false;
			left--;
		}
		if (left == 0)
			break;
		nanosleep(&ts, NULL);
		waited += 50;
	}
}

static int wait_s = 10; /* --wait, of start and restart */

static int
cmd_start(int argc, char **argv)
{
	struct started *s;
	int status = EX_OK;
	size_t n, i;
	char **sites;

	cli_paths(&cli);
	sites = cli_sites(&cli, argc - 1, argv + 1, &n, NULL);
	if ((s = calloc(n + 1, sizeof(*s))) == NULL)
		return EX_OSERR;
	for (i = 0; i < n; i++) {
		s[i].site = sites[i];
		s[i].waiting = start_one(sites[i], &status) == 1;
	}
	wait_up(s, n, wait_s, &status);
	free(s);
	cli_sites_free(argc - 1, sites, n);
	return status;
}

/* Runs fn for each site a command names (or every site); the first
 * failure's status is the command's. */
static int
each_site(int argc, char **argv,
    int (*fn)(const char *, bool, struct opt_error *))
{
	struct opt_error e;
	int status = EX_OK;
	size_t n, i;
	char **sites;

	cli_paths(&cli);
	sites = cli_sites(&cli, argc - 1, argv + 1, &n, NULL);
	for (i = 0; i < n; i++) {
		if (fn(sites[i], argc > 1, &e) == -1) {
			cli_warn(&cli, sites[i], &e);
			status = status ? status : e.status;
		}
	}
	cli_sites_free(argc - 1, sites, n);
	return status;
}

static int
stop_one(const char *site, bool named, struct opt_error *e)
{
	char path[PATH_MAX];
	struct opt_owner owner;
	pid_t pid;
	int fd;

	if ((fd = cli_run_dir(&cli, &owner, false, e)) == -1) {
		if (errno != ENOENT)
			return -1;
		if (named && !cli.quiet)
			printf("%s: not running\n", site);
		return 0;
	}
	run_path(site, ".pid", path, sizeof(path));
	switch (opt_pidfile_probe(path, &pid)) {
	case OPT_PROC_RUNNING:
		if (opt_pidfile_stop(path, STOP_WAIT_MS, e) == -1) {
			close(fd);
			return -1;
		}
		if (!cli.quiet)
			printf("%s: stopped\n", site);
		break;
	case OPT_PROC_STALE:
		opt_safefile_unlink(fd, path);
		/* FALLTHROUGH */
	case OPT_PROC_NONE:
		if (named && !cli.quiet)
			printf("%s: not running\n", site);
		break;
	}
	/* What a tunnel killed without a chance to clean up left. */
	run_path(site, ".state", path, sizeof(path));
	opt_safefile_unlink(fd, path);
	close(fd);
	return 0;
}

/* The tunnel re-reads the site's files and reopens its log (which
 * logrotate needs); a file it cannot apply is reported here with the
 * tunnel's own reason, and the tunnel keeps its settings. */
static int
reload_one(const char *site, bool named, struct opt_error *e)
{
	char why[OPT_ERROR_MAX];
	pid_t pid;
	int r;

	r = opt_tunnel_reload(&cli.paths, site, OPT_RELOAD_WAIT_MS, &pid, e);
	if (r == 0)
		return named ? opt_error_set(e, EX_UNAVAILABLE, "not running")
		             : 0;
	if (r == -1 && e->status == EX_CONFIG) {
		strlcpy(why, e->text, sizeof(why));
		return opt_error_set(e, EX_CONFIG,
		    "the tunnel refused the files and keeps its old settings: "
		    "%s",
		    why);
	}
	if (r == -1)
		return -1;
	if (cli.verbose)
		printf("%s: reloaded (pid %ld)\n", site, (long)pid);
	return 0;
}

static int
cmd_stop(int argc, char **argv)
{
	return each_site(argc, argv, stop_one);
}

static int
cmd_restart(int argc, char **argv)
{
	int status = each_site(argc, argv, stop_one);

	return status != EX_OK ? status : cmd_start(argc, argv);
}

static int
cmd_reload(int argc, char **argv)
{
	return each_site(argc, argv, reload_one);
}

static const struct cli_cmd cmds[] = {
    {"run", cmd_run, 0, false},
    {"start", cmd_start, 1, false},
    {"stop", cmd_stop, 0, false},
    {"restart", cmd_restart, 1, false},
    {"reload", cmd_reload, 0, false},
};
static const char *const flags[] = {"--wait"};

int
main(int argc, char **argv, char **envp)
{
	const char *errstr;
	unsigned given = 0;
	int ch;

	setproctitle_init(argc, argv, envp);
	cli_init(&cli, "opt-tunnel");
	while ((ch = cli_getopt(&cli, argc, argv, longopts, usage)) != -1) {
		if (ch == OPT_WAIT) {
			wait_s = (int)strtonum(optarg, 0, 3600, &errstr);
			if (errstr != NULL) {
				char q[OPT_QUOTE_BUF];
				struct opt_error e;
				opt_error_set(&e, EX_USAGE,
				    "--wait '%s' is not a number of seconds "
				    "(0-3600)",
				    opt_quote(q, sizeof(q), optarg));
				cli_fail(&cli, NULL, &e);
			}
			given |= 1;
		}
	}
	return cli_run(&cli, cmds, sizeof(cmds) / sizeof(cmds[0]), flags, given,
	    argc - optind, argv + optind);
}
