/*
 * opt-throttle: a site's bandwidth limits (KiB/s of wire bytes, up to
 * the site and down from it), and the rates measured now.  A running
 * tunnel takes a change at once (SIGHUP) without reconnecting.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "control.h"
#include "defaults.h"
#include "lock.h"
#include "site.h"
#include "state.h"
#include "throttle.h"

enum {
	OPT_UP = CLI_OPT_FIRST_TOOL,
	OPT_DOWN,
};

static const struct option longopts[] = {
    CLI_LONG_OPTS,
    {"up", required_argument, NULL, OPT_UP},
    {"down", required_argument, NULL, OPT_DOWN},
    {NULL, 0, NULL, 0},
};

static struct cli cli;
/* set's options, given before the command */
static const char *set_up, *set_down;

static void
usage(void)
{
	printf("usage: opt-throttle [-hqvV] [-C DIR] COMMAND ...\n"
	       "  opt-throttle set SITE [--up RATE] [--down RATE]\n"
	       "  opt-throttle on SITE\n"
	       "  opt-throttle off SITE\n"
	       "  opt-throttle show [SITE] [-H | --json]\n");
}

static int
rate_of(const char *site, const char *opt, const char *arg)
{
	struct opt_error e;
	unsigned r;

	if (opt_parse_rate(arg, &r, &e) == -1) {
		opt_error_prefix(&e, "%s: ", opt);
		cli_fail(&cli, site, &e);
	}
	return (int)r;
}

/* set, on and off: one edit of throttle.conf under the lock. */
static int
edit(int argc, char **argv)
{
	const char *cmd = argv[0], *up = set_up, *down = set_down;
	struct opt_throttle th;
	struct opt_defaults d;
	struct opt_error e;
	struct opt_lock l;
	const char *site;
	int upk = 0, downk = 0, status;

	if (argc != 2)
		cli_usage_error(&cli, "%s needs one SITE", cmd);
	site = argv[1];
	cli_site_id(&cli, site);
	if (strcmp(cmd, "set") == 0 && up == NULL && down == NULL)
		cli_usage_error(&cli, "set needs --up RATE or --down RATE");
	if (up != NULL)
		upk = rate_of(site, "--up", up);
	if (down != NULL)
		downk = rate_of(site, "--down", down);
	cli_site_lock(&cli, site, &d, &l);
	if (opt_throttle_load(&cli.paths, &d, site, &th, &e) == -1)
		cli_fail(&cli, site, &e);
	if (up != NULL)
		th.up = upk;
	if (down != NULL)
		th.down = downk;
	/* Setting a limit means having it: set turns the throttle on. */
	th.enabled = strcmp(cmd, "off") != 0;
	if (opt_throttle_save(&cli.paths, site, &th, &e) == -1)
		cli_fail(&cli, site, &e);
	opt_lock_release(&l);
	status = cli_reload_tunnel(&cli, site);
	if (!cli.quiet)
		printf("%s: throttle %s, up %d KiB/s, down %d KiB/s\n", site,
		    th.enabled ? "on" : "off", th.up, th.down);
	return status;
}

static const struct opt_column cols[] = {
    {"site", "SITE", 0},
    {"enabled", "THROTTLE", 0},
    {"up", "UP", OPT_COL_RIGHT},
    {"down", "DOWN", OPT_COL_RIGHT},
    {"rate_up", "RATE_UP", OPT_COL_RIGHT},
    {"rate_down", "RATE_DOWN", OPT_COL_RIGHT},
    {"applied", "APPLIED", 0},
};

/*
 * The limits in force (KiB/s) and, if the tunnel runs, its rates: a
 * running tunnel's own limits, which are those of throttle.conf only
 * once it has applied the files (APPLIED yes); pending while it runs
 * older ones (a reload not done yet, or refused).  No tunnel: the
 * file's, which apply when it starts.
 */
static int
show_row(struct opt_table *t, const struct opt_defaults *d, const char *site,
    struct opt_error *e)
{
	struct opt_throttle th;
	struct opt_state st;
	bool live, pending;

	if (opt_throttle_load(&cli.paths, d, site, &th, e) == -1)
		return -1;
	/* Only the scalars are used: the rates of a running tunnel. */
	opt_tunnel_status(&cli.paths, site, false, &st, NULL);
	opt_state_free(&st);
	live = st.updated != 0 && st.state != OPT_TS_STALE;
	pending = live && opt_tunnel_config_pending(&cli.paths, site, &st);
	if (live && st.has_throttle) {
		th.enabled = st.throttle_on;
		th.up = (int)st.throttle_up;
		th.down = (int)st.throttle_down;
	}
	if (opt_table_row(t) == -1)
		return opt_error_set(e, EX_OSERR, "out of memory");
	opt_table_str(t, "site", site);
	opt_table_bool(t, "enabled", th.enabled);
	opt_table_int(t, "up", th.up);
	opt_table_int(t, "down", th.down);
	if (live) {
		opt_table_int(t, "rate_up", (long long)(st.rate_up / 1024));
		opt_table_int(t, "rate_down", (long long)(st.rate_down / 1024));
		opt_table_str(t, "applied", pending ? "pending" : "yes");
	}
	return 0;
}

static int
cmd_show(int argc, char **argv)
{
	struct opt_defaults d;

	if (argc > 2)
		cli_usage_error(&cli, "show takes at most one SITE");
	if (argc == 2)
		cli_site_id(&cli, argv[1]);
	cli_paths(&cli);
	cli_defaults(&cli, &d);
	return cli_site_table(&cli, cols, sizeof(cols) / sizeof(cols[0]),
	    argc == 2 ? argv[1] : NULL, show_row, &d);
}

static const struct cli_cmd cmds[] = {
    {"set", edit, 1 | 2, false},
    {"on", edit, 0, false},
    {"off", edit, 0, false},
    {"show", cmd_show, 0, true},
};
static const char *const flags[] = {"--up", "--down"};

int
main(int argc, char **argv)
{
	unsigned given = 0;
	int ch;

	cli_init(&cli, "opt-throttle");
	while ((ch = cli_getopt(&cli, argc, argv, longopts, usage)) != -1) {
		if (ch == OPT_UP) {
			set_up = optarg;
			given |= 1;
		} else if (ch == OPT_DOWN) {
			set_down = optarg;
			given |= 2;
		}
	}
	return cli_run(&cli, cmds, sizeof(cmds) / sizeof(cmds[0]), flags, given,
	    argc - optind, argv + optind);
}
