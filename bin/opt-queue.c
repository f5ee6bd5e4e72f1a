/*
 * opt-queue: the jobs that spool-mode channels hold (spool.h): list,
 * show, retry, remove.  A retry or remove is signalled to the site's
 * tunnel (SIGHUP), which rescans its spool; a remove is logged in the
 * site's log, since a job removed by hand is a job not printed.
 */
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "control.h"
#include "log.h"
#include "site.h"
#include "spool.h"

enum {
	OPT_ALL = CLI_OPT_FIRST_TOOL,
};

static const struct option longopts[] = {
    CLI_LONG_OPTS,
    {"all", no_argument, NULL, OPT_ALL},
    {NULL, 0, NULL, 0},
};

static struct cli cli;
static bool all;
static struct opt_owner owner;

static void
usage(void)
{
	printf("usage: opt-queue [-hqvV] [-C DIR] COMMAND ...\n"
	       "  opt-queue list [SITE ...] [-H | --json]\n"
	       "  opt-queue show SITE JOB [-H | --json]\n"
	       "  opt-queue retry SITE JOB | --all\n"
	       "  opt-queue remove SITE JOB\n");
}

/* The paths, and who owns the spool: local_user, or root without one. */
static void
setup(void)
{
	struct opt_defaults d;
	struct opt_error e;

	cli_paths(&cli);
	cli_defaults(&cli, &d);
	if (opt_owner_of(d.local_user, &owner, &e) == -1 &&
	    opt_owner_of("root", &owner, &e) == -1)
		cli_fail(&cli, NULL, &e);
}

static void
open_site(const char *site, struct opt_spool *s)
{
	struct opt_error e;

	cli_site_id(&cli, site);
	cli_site_exists(&cli, site);
	if (opt_spool_open(s, cli.paths.spool, site, &owner, 0, 0, &e) == -1)
		cli_fail(&cli, site, &e);
}

static void
find_job(struct opt_spool *s, const char *arg, struct opt_spool_job *j)
{
	unsigned long long id;
	struct opt_error e;

	if (opt_spool_parse_id(arg, &id, &e) == -1 ||
	    opt_spool_find(s, id, j, &e) == -1)
		cli_fail(&cli, s->site, &e);
}

static const struct opt_column cols[] = {
    {"site", "SITE", 0},
    {"channel", "CHANNEL", OPT_COL_RIGHT},
    {"job", "JOB", 0},
    {"state", "STATE", 0},
    {"bytes", "BYTES", OPT_COL_RIGHT},
    {"age", "AGE", OPT_COL_RIGHT},
    {"attempts", "ATTEMPTS", OPT_COL_RIGHT},
    {"last_error", "LAST_ERROR", 0},
    {"peer", "PEER", OPT_COL_JSON},
    {"accepted", "ACCEPTED", OPT_COL_JSON},
    {"sha256", "SHA256", OPT_COL_JSON},
    {"next_try", "NEXT_TRY", OPT_COL_JSON},
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static void
job_row(struct opt_table *t, const char *site, const struct opt_spool_job *j)
{
	char id[16];
	long long age = (long long)time(NULL) - j->accepted;

	if (opt_table_row(t) == -1)
		return;
	snprintf(id, sizeof(id), "%010llu", j->id);
	opt_table_str(t, "site", site);
	opt_table_int(t, "channel", j->channel);
	opt_table_str(t, "job", id);
	opt_table_str(t, "state", opt_spool_state_name(j->state));
	opt_table_int(t, "bytes", j->bytes);
	opt_table_int(t, "age", age > 0 ? age : 0);
	opt_table_int(t, "attempts", j->attempts);
	opt_table_str(t, "last_error", j->last_error);
	opt_table_str(t, "peer", j->peer);
	opt_table_int(t, "accepted", j->accepted);
	opt_table_str(t, "sha256", j->sha256);
	opt_table_int(t, "next_try", j->next_try);
}

/* The rows of one site; -1 with the error if its spool cannot be read. */
static int
site_rows(struct opt_table *t, const char *site, struct opt_error *e)
{
	struct opt_spool_list l;
	struct opt_spool s;
	size_t i;

	if (opt_spool_open(&s, cli.paths.spool, site, &owner, 0, 0, e) == -1)
		return -1;
	if (opt_spool_list(&s, 0, 0, &l, e) == -1) {
		opt_spool_close(&s);
		return -1;
	}
	for (i = 0; i < l.n; i++)
		job_row(t, site, &l.v[i]);
	opt_spool_list_free(&l);
	opt_spool_close(&s);
	return 0;
}

/* Every site named (each must exist), or every site; a spool that
 * cannot be read is reported and the others are still listed. */
static int
cmd_list(int argc, char **argv)
{
	char(*ids)[OPT_SITE_ID_MAX + 1] = NULL;
	struct opt_table t;
	struct opt_error e;
	size_t i, n;
	int status = EX_OK;

	for (i = 1; i < (size_t)argc; i++)
		cli_site_id(&cli, argv[i]);
	setup();
	for (i = 1; i < (size_t)argc; i++)
		cli_site_exists(&cli, argv[i]);
	if (argc == 1 && opt_site_list(&cli.paths, &ids, &n, &e) == -1)
		cli_fail(&cli, NULL, &e);
	if (argc > 1)
		n = (size_t)argc - 1;
	opt_table_init(&t, cols, NCOLS);
	for (i = 0; i < n; i++) {
		const char *site = ids != NULL ? ids[i] : argv[i + 1];

		if (site_rows(&t, site, &e) == 0)
			continue;
		cli_warn(&cli, site, &e);
		if (status == EX_OK)
			status = e.status ? e.status : EX_SOFTWARE;
	}
	free(ids);
	if (opt_table_print(&t, stdout, cli.format, cli.color) == -1 &&
	    status == EX_OK)
		status = EX_IOERR;
	opt_table_free(&t);
	return status;
}

static int
cmd_show(int argc, char **argv)
{
	struct opt_spool_job j;
	struct opt_spool s;
	struct opt_table t;
	int status = EX_OK;

	if (argc != 3)
		cli_usage_error(&cli, "show needs SITE and JOB");
	setup();
	open_site(argv[1], &s);
	find_job(&s, argv[2], &j);
	opt_table_init(&t, cols, NCOLS);
	job_row(&t, argv[1], &j);
	if (opt_table_print_record(&t, 0, stdout, cli.format) == -1)
		status = EX_IOERR;
	opt_table_free(&t);
	opt_spool_close(&s);
	return status;
}

/* The tunnel rescans its spool on reload; none running is fine. */
static void
tell_tunnel(const char *site)
{
	struct opt_error e;
	pid_t pid;
	int r = opt_tunnel_signal(&cli.paths, site, SIGHUP, &pid, &e);

	if (r == -1)
		cli_warn(&cli, site, &e);
	else if (r == 1 && cli.verbose)
		printf("%s: tunnel (pid %ld) told to rescan its spool\n", site,
		    (long)pid);
}

static int
cmd_retry(int argc, char **argv)
{
	struct opt_spool_job j;
	struct opt_spool_list l;
	struct opt_spool s;
	struct opt_error e;
	size_t i, done = 0;

	if (argc != (all ? 2 : 3))
		cli_usage_error(&cli,
		    "retry needs SITE and JOB, or SITE --all");
	setup();
	open_site(argv[1], &s);
	if (!all) {
		find_job(&s, argv[2], &j);
		if (opt_spool_retry(&s, &j, &e) == -1)
			cli_fail(&cli, argv[1], &e);
		done = 1;
	} else {
		if (opt_spool_list(&s, 0, 0, &l, &e) == -1)
			cli_fail(&cli, argv[1], &e);
		for (i = 0; i < l.n; i++)
			if (l.v[i].state != OPT_SPOOL_SENDING &&
			    opt_spool_retry(&s, &l.v[i], &e) == 0)
				done++;
		opt_spool_list_free(&l);
	}
	opt_spool_close(&s);
	if (done > 0)
		tell_tunnel(argv[1]);
	if (!cli.quiet)
		printf("%s: %zu job%s to be sent again\n", argv[1], done,
		    done == 1 ? "" : "s");
	return EX_OK;
}

/* One line in the site's log, written as the tunnel writes it. */
static void
log_remove(const char *site, const struct opt_spool_job *j)
{
	struct passwd *pw = getpwuid(getuid());
	struct opt_error e;
	struct opt_log l;
	int fd;

	if ((fd = opt_safedir_open("log", cli.paths.log, 0, false, &owner,
	         &e)) == -1 ||
	    opt_log_open(&l, fd, cli.paths.log, site, &owner, &e) == -1) {
		opt_error_prefix(&e, "job removed, but not logged: ");
		cli_warn(&cli, site, &e);
		if (fd != -1)
			close(fd);
		return;
	}
	opt_log(&l, OPT_LOG_INFO, "queue-remove",
	    "job=%010llu channel=%d state=%s bytes=%lld by=%s", j->id,
	    j->channel, opt_spool_state_name(j->state), j->bytes,
	    pw != NULL ? pw->pw_name : "?");
	opt_log_close(&l);
	close(fd);
}

static int
cmd_remove(int argc, char **argv)
{
	struct opt_spool_job j;
	struct opt_spool s;
	struct opt_error e;

	if (argc != 3)
		cli_usage_error(&cli, "remove needs SITE and JOB");
	setup();
	open_site(argv[1], &s);
	find_job(&s, argv[2], &j);
	if (opt_spool_remove(&s, &j, &e) == -1)
		cli_fail(&cli, argv[1], &e);
	opt_spool_close(&s);
	log_remove(argv[1], &j);
	tell_tunnel(argv[1]);
	if (!cli.quiet)
		printf("%s: job %010llu removed (%lld bytes, not printed)\n",
		    argv[1], j.id, j.bytes);
	return EX_OK;
}

static const struct cli_cmd cmds[] = {
    {"list", cmd_list, 0, true},
    {"show", cmd_show, 0, true},
    {"retry", cmd_retry, 1, false},
    {"remove", cmd_remove, 0, false},
};
static const char *const flags[] = {"--all"};

int
main(int argc, char **argv)
{
	unsigned given = 0;
	int ch;

	cli_init(&cli, "opt-queue");
	while ((ch = cli_getopt(&cli, argc, argv, longopts, usage)) != -1)
		if (ch == OPT_ALL) {
			all = true;
			given |= 1;
		}
	return cli_run(&cli, cmds, sizeof(cmds) / sizeof(cmds[0]), flags, given,
	    argc - optind, argv + optind);
}
