/*
 * opt-channel: add, remove, list and change the printer channels of a
 * site, allocate their listen ports, and write the scripts that install
 * their printers on the clients.
 *
 * Port allocation reads every site's channels under the config lock, so
 * concurrent adds never pick the same port; ids come from next_id, which
 * only grows, so an id is never given to a second channel.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "channel.h"
#include "cli.h"
#include "defaults.h"
#include "lock.h"
#include "port.h"
#include "script.h"
#include "site.h"

enum {
	OPT_LISTEN = CLI_OPT_FIRST_TOOL,
	OPT_DESCRIPTION,
	OPT_MODE,
	OPT_FORMAT,
	OPT_HOST,
	OPT_DRIVER,
};

static const struct option longopts[] = {
    CLI_LONG_OPTS,
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"description", required_argument, NULL, OPT_DESCRIPTION},
    {"mode", required_argument, NULL, OPT_MODE},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"host", required_argument, NULL, OPT_HOST},
    {"driver", required_argument, NULL, OPT_DRIVER},
    {NULL, 0, NULL, 0},
};

static struct cli cli;
/* add's options, given before the command */
static const char *add_listen, *add_desc, *add_mode;
/* script's */
static const char *script_format, *script_host, *script_driver;

static void
usage(void)
{
	printf("usage: opt-channel [-hqvV] [-C DIR] COMMAND ...\n"
	       "  opt-channel add SITE PRINTER[:PORT] [--listen N] "
	       "[--description T]\n"
	       "           [--mode direct|spool]\n"
	       "  opt-channel remove SITE ID\n"
	       "  opt-channel list [SITE] [-H | --json]\n"
	       "  opt-channel set SITE ID KEY=VALUE ...\n"
	       "  opt-channel script SITE [ID ...] --format ps1|bat|cups "
	       "[--host NAME]\n"
	       "           [--driver NAME]\n");
}

static int
channel_id(const char *site, const char *arg)
{
	struct opt_error e;
	int id;

	if (opt_parse_int("channel id", arg, 1, INT_MAX, &id, &e) == -1)
		cli_fail(&cli, site, &e);
	return id;
}

/* An edit of a site's channels.conf: what it reads, under the lock. */
struct edit {
	struct opt_defaults d;
	struct opt_site s;
	struct opt_channels cs;
	struct opt_lock l;
};

/* Takes the lock and loads what an edit needs, in the order that reports
 * problems best. */
static void
edit_begin(const char *site, struct edit *ed)
{
	struct opt_error e;

	cli_site_lock(&cli, site, &ed->d, &ed->l);
	if (opt_site_load(&cli.paths, &ed->d, site, &ed->s, &e) == -1 ||
	    opt_channels_load(&cli.paths, site, &ed->cs, &e) == -1)
		cli_fail(&cli, site, &e);
}

/* Saves channels.conf and releases the lock; a running tunnel of the
 * site re-reads it.  Returns the status to exit with. */
static int
edit_end(const char *site, struct edit *ed)
{
	struct opt_error e;

	if (opt_channels_save(&cli.paths, &ed->cs, &e) == -1)
		cli_fail(&cli, site, &e);
	opt_lock_release(&ed->l);
	opt_channels_free(&ed->cs);
	return cli_reload_tunnel(&cli, site);
}

static void
check_port(const struct opt_site *s, int port, int id)
{
	struct opt_ports ports;
	struct opt_error e;

	if (opt_ports_load(&cli.paths, &ports, &e) == -1 ||
	    opt_port_check(&ports, s->bind, port, s->id, id, &e) == -1)
		cli_fail(&cli, s->id, &e);
	opt_ports_free(&ports);
}

static const struct opt_column channel_cols[] = {
    {"site", "SITE", 0},
    {"id", "ID", OPT_COL_RIGHT},
    {"listen", "LISTEN", OPT_COL_RIGHT},
    {"printer", "PRINTER", 0},
    {"printer_port", "PORT", OPT_COL_RIGHT},
    {"description", "DESCRIPTION", 0},
    {"max_jobs", "MAX_JOBS", OPT_COL_JSON},
    /* last: -H keeps the fields it had before it, in their places */
    {"mode", "MODE", 0},
    {"probe", "PROBE", 0},
};

/* A channel's row of list, and of add --json. */
static void
channel_row(struct opt_table *t, const char *site, const struct opt_channel *c)
{
	opt_table_str(t, "site", site);
	opt_table_int(t, "id", c->id);
	opt_table_int(t, "listen", c->listen);
	opt_table_str(t, "printer", c->printer);
	opt_table_int(t, "printer_port", c->printer_port);
	opt_table_str(t, "description", c->description);
	opt_table_int(t, "max_jobs", c->max_jobs);
	opt_table_str(t, "mode", opt_channel_mode_name(c->mode));
	opt_table_str(t, "probe", opt_probe_kind_name(c->probe));
}

static int
cmd_add(int argc, char **argv)
{
	const char *listen = add_listen, *desc = add_desc, *mode = add_mode;
	struct opt_channel c, *nc;
	struct opt_table t;
	struct opt_ports ports;
	struct opt_error e;
	struct edit ed;
	const char *site;
	int status;

	opt_channel_builtin(&c);
	if (argc != 3)
		cli_usage_error(&cli, "add needs SITE and PRINTER[:PORT]");
	site = argv[1];
	cli_site_id(&cli, site);
	if (opt_channel_target(argv[2], &c, &e) == -1 ||
	    (listen && opt_channel_set(&c, "listen", listen, &e) == -1) ||
	    (desc && opt_channel_set(&c, "description", desc, &e) == -1) ||
	    (mode && opt_channel_set(&c, "mode", mode, &e) == -1))
		cli_fail(&cli, site, &e);

	edit_begin(site, &ed);
	if (mode == NULL)
		c.mode = ed.d.channel_mode;
	if (listen != NULL) {
		check_port(&ed.s, c.listen, 0);
	} else {
		if (opt_ports_load(&cli.paths, &ports, &e) == -1 ||
		    opt_port_allocate(&ports, &ed.d, ed.s.bind, &c.listen,
		        &e) == -1)
			cli_fail(&cli, site, &e);
		opt_ports_free(&ports);
	}
	if ((nc = opt_channels_add(&ed.cs, &c, &e)) == NULL)
		cli_fail(&cli, site, &e);
	c = *nc;
	status = edit_end(site, &ed);

	if (cli.format == OPT_FMT_JSON) {
		opt_table_init(&t, channel_cols,
		    sizeof(channel_cols) / sizeof(channel_cols[0]));
		if (opt_table_row(&t) == 0)
			channel_row(&t, site, &c);
		if (opt_table_print_record(&t, 0, stdout, OPT_FMT_JSON) == -1 &&
		    status == EX_OK)
			status = EX_IOERR;
		opt_table_free(&t);
	} else if (cli.format == OPT_FMT_TSV) {
		printf("%d\t%d\n", c.id, c.listen);
	} else if (cli.quiet) {
		printf("%d\n", c.listen);
	} else {
		bool v6 = strchr(c.printer, ':') != NULL;
		printf("%s: channel %d: port %d -> %s%s%s:%d%s\n", site, c.id,
		    c.listen, v6 ? "[" : "", c.printer, v6 ? "]" : "",
		    c.printer_port, c.mode == OPT_MODE_SPOOL ? " (spool)" : "");
	}
	return status;
}

static int
cmd_remove(int argc, char **argv)
{
	const struct opt_channel *c;
	struct opt_error e;
	struct edit ed;
	const char *site;
	int id, port, status;

	if (argc != 3)
		cli_usage_error(&cli, "remove needs SITE and ID");
	site = argv[1];
	cli_site_id(&cli, site);
	id = channel_id(site, argv[2]);
	edit_begin(site, &ed);
	c = opt_channels_find(&ed.cs, id);
	port = c != NULL ? c->listen : 0;
	if (opt_channels_remove(&ed.cs, id, &e) == -1)
		cli_fail(&cli, site, &e);
	status = edit_end(site, &ed);
	if (!cli.quiet)
		printf("%s: channel %d removed, port %d is free\n", site, id,
		    port);
	return status;
}

static int
site_rows(struct opt_table *t, const struct opt_defaults *d, const char *site,
    struct opt_error *e)
{
	struct opt_channels cs;
	size_t i;

	(void)d; /* channels.conf has no defaults */
	if (opt_channels_load(&cli.paths, site, &cs, e) == -1)
		return -1;
	for (i = 0; i < cs.n; i++) {
		if (opt_table_row(t) == -1)
			break;
		channel_row(t, site, &cs.v[i]);
	}
	opt_channels_free(&cs);
	return 0;
}

static int
cmd_list(int argc, char **argv)
{
	if (argc > 2)
		cli_usage_error(&cli, "list takes at most one SITE");
	if (argc == 2)
		cli_site_id(&cli, argv[1]);
	cli_paths(&cli);
	return cli_site_table(&cli, channel_cols,
	    sizeof(channel_cols) / sizeof(channel_cols[0]),
	    argc == 2 ? argv[1] : NULL, site_rows, NULL);
}

static int
cmd_set(int argc, char **argv)
{
	struct opt_channel scratch = {0}, *c;
	struct opt_error e;
	struct edit ed;
	const char *site;
	int i, id, old_listen, status;

	if (argc < 4)
		cli_usage_error(&cli, "set needs SITE, ID and KEY=VALUE");
	site = argv[1];
	cli_site_id(&cli, site);
	id = channel_id(site, argv[2]);
	cli_split_pairs(&cli, argc, argv, 3);
	for (i = 3; i < argc; i++)
		if (opt_channel_set(&scratch, argv[i], cli_value(argv[i]),
		        &e) == -1)
			cli_fail(&cli, site, &e);

	edit_begin(site, &ed);
	if ((c = opt_channels_find(&ed.cs, id)) == NULL) {
		opt_error_set(&e, EX_NOINPUT, "channel %d: no such channel",
		    id);
		cli_fail(&cli, site, &e);
	}
	old_listen = c->listen;
	for (i = 3; i < argc; i++)
		opt_channel_set(c, argv[i], cli_value(argv[i]), NULL);
	if (c->listen != old_listen)
		check_port(&ed.s, c->listen, id);
	status = edit_end(site, &ed);
	if (cli.verbose)
		for (i = 3; i < argc; i++)
			printf("%s: channel %d: %s = %s\n", site, id, argv[i],
			    cli_value(argv[i]));
	return status;
}

/* Where the clients print to: --host, public_host, this host's FQDN. */
static void
script_target(const struct opt_defaults *d, const char *site, char *host,
    size_t len)
{
	struct opt_error e;

	if (script_host != NULL)
		strlcpy(host, script_host, len); /* checked: it fits */
	else if (d->public_host[0] != '\0')
		strlcpy(host, d->public_host, len);
	else if (opt_script_local_host(host, len, &e) == -1)
		cli_fail(&cli, site, &e);
}

static int
cmd_script(int argc, char **argv)
{
	char host[OPT_HOST_MAX + 1];
	struct opt_script sc = {.driver = script_driver};
	struct opt_defaults d;
	struct opt_channels cs;
	struct opt_error e;
	const char *site;
	int i, *ids;

	if (argc < 2)
		cli_usage_error(&cli, "script needs SITE");
	if (script_format == NULL)
		cli_usage_error(&cli, "script needs --format ps1|bat|cups");
	site = argv[1];
	cli_site_id(&cli, site);
	if (opt_script_format_parse(script_format, &sc.format, &e) == -1 ||
	    (script_host != NULL && opt_valid_host(script_host, &e) == -1) ||
	    (script_driver != NULL &&
	        opt_script_driver_check(script_driver, &e) == -1))
		cli_fail(&cli, site, &e);
	if ((ids = calloc((size_t)argc, sizeof(*ids))) == NULL) {
		opt_error_set(&e, EX_OSERR, "out of memory");
		cli_fail(&cli, site, &e);
	}
	for (i = 2; i < argc; i++)
		ids[i - 2] = channel_id(site, argv[i]);

	cli_paths(&cli);
	cli_defaults(&cli, &d);
	cli_site_exists(&cli, site);
	if (opt_channels_load(&cli.paths, site, &cs, &e) == -1)
		cli_fail(&cli, site, &e);
	script_target(&d, site, host, sizeof(host));
	sc.host = host;
	if (opt_script_write(stdout, &sc, &cs, ids, (size_t)argc - 2, &e) == -1)
		cli_fail(&cli, site, &e);
	opt_channels_free(&cs);
	free(ids);
	return EX_OK;
}

static const struct cli_cmd cmds[] = {
    {"list", cmd_list, 0, true},
    {"add", cmd_add, 1 | 2 | 4, true},
    {"remove", cmd_remove, 0, false},
    {"set", cmd_set, 0, false},
    {"script", cmd_script, 8 | 16 | 32, false},
};
static const char *const flags[] = {"--listen", "--description", "--mode",
    "--format", "--host", "--driver"};

int
main(int argc, char **argv)
{
	unsigned given = 0;
	int ch;

	cli_init(&cli, "opt-channel");
	while ((ch = cli_getopt(&cli, argc, argv, longopts, usage)) != -1) {
		if (ch == OPT_LISTEN) {
			add_listen = optarg;
			given |= 1;
		} else if (ch == OPT_DESCRIPTION) {
			add_desc = optarg;
			given |= 2;
		} else if (ch == OPT_MODE) {
			add_mode = optarg;
			given |= 4;
		} else if (ch == OPT_FORMAT) {
			script_format = optarg;
			given |= 8;
		} else if (ch == OPT_HOST) {
			script_host = optarg;
			given |= 16;
		} else if (ch == OPT_DRIVER) {
			script_driver = optarg;
			given |= 32;
		}
	}
	return cli_run(&cli, cmds, sizeof(cmds) / sizeof(cmds[0]), flags, given,
	    argc - optind, argv + optind);
}
