#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "control.h"
#include "lock.h"
#include "safefile.h"
#include "site.h"
#include "ssh.h"
#include "valid.h"

#ifndef OPT_VERSION
#define OPT_VERSION "unknown"
#endif

void
cli_init(struct cli *c, const char *prog)
{
	memset(c, 0, sizeof(*c));
	c->prog = prog;
	c->format = OPT_FMT_TABLE;
	c->color = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
	/* getopt says nothing itself: cli_option does, in the one format. */
	opterr = 0;
}

/*
 * Handles an option every tool shares; returns 1 if it was one.  An
 * unknown option or a missing value is a usage error here, so that each
 * tool's switch only lists its own options.
 */
static int
cli_option(struct cli *c, int ch, char *const *argv, void (*usage)(void))
{
	char q[OPT_QUOTE_BUF];

	switch (ch) {
	case 'h':
		usage();
		exit(cli_flush(c, EX_OK));
	case 'V':
		/* The second line is read by opt-install-key and the tests. */
		printf("%s (opt) %s\nlibssh2 %s, RSA user keys: %s\n", c->prog,
		    OPT_VERSION, opt_ssh_version(),
		    opt_ssh_rsa_signs() ? "yes (rsa-sha2-256/512)"
		                        : "no (no rsa-sha2 signatures)");
		exit(cli_flush(c, EX_OK));
	case 'q':
		c->quiet = true;
		return 1;
	case 'v':
		c->verbose++;
		return 1;
	case 'C':
		c->config_dir = optarg;
		return 1;
	case 'H':
		if (c->format == OPT_FMT_JSON)
			cli_usage_error(c, "-H and --json are exclusive");
		c->format = OPT_FMT_TSV;
		return 1;
	case CLI_OPT_JSON:
		if (c->format == OPT_FMT_TSV)
			cli_usage_error(c, "-H and --json are exclusive");
		c->format = OPT_FMT_JSON;
		return 1;
	case ':':
		cli_usage_error(c, "option '%s' needs a value",
		    opt_quote(q, sizeof(q), argv[optind - 1]));
	case '?':
		/* optopt: 0 for an unknown long option; a known option's
		 * value when it was given a value it does not take (a letter
		 * of CLI_SHORT_OPTS, or 0x100 and up); else the byte of an
		 * unknown short option, negative above 0x7f where char is
		 * signed, and quoted like any other hostile input. */
		if (optopt != 0 && optopt < 0x100 &&
		    (optopt < 0 || optopt == ':' ||
		        strchr(CLI_SHORT_OPTS, optopt) == NULL)) {
			char o[3] = {'-', (char)optopt, '\0'};
			cli_usage_error(c, "unknown option '%s'",
			    opt_quote(q, sizeof(q), o));
		}
		if (optopt != 0)
			cli_usage_error(c, "option '%s' takes no value",
			    opt_quote(q, sizeof(q), argv[optind - 1]));
		cli_usage_error(c, "unknown option '%s'",
		    opt_quote(q, sizeof(q), argv[optind - 1]));
	default:
		return 0;
	}
}

/*
 * getopt_long(3) over the tool's options and those every tool shares,
 * which are handled here; returns the tool's own, and -1 at the end.
 */
int
cli_getopt(struct cli *c, int argc, char **argv, const struct option *longopts,
    void (*usage)(void))
{
	int ch;

	while ((ch = getopt_long(argc, argv, CLI_SHORT_OPTS, longopts, NULL)) !=
	    -1)
		if (!cli_option(c, ch, argv, usage))
			break;
	return ch;
}

/* The command: the first operand, which every tool but opt-status needs. */
/* The names of the commands that take an option (bit) or, with bit 0,
 * -H and --json: "'add'", "'start' and 'restart'", "list and show". */
static void
takers(const struct cli_cmd *cmds, size_t n, unsigned bit, bool quote,
    char *buf, size_t len)
{
	size_t i, k = 0, count = 0;

	for (i = 0; i < n; i++)
		count += bit ? (cmds[i].opts & bit) != 0 : cmds[i].formats;
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (bit ? !(cmds[i].opts & bit) : !cmds[i].formats)
			continue;
		k++;
		strlcat(buf, k == 1 ? "" : k == count ? " and " : ", ", len);
		strlcat(buf, quote ? "'" : "", len);
		strlcat(buf, cmds[i].name, len);
		strlcat(buf, quote ? "'" : "", len);
	}
}

int
cli_run(struct cli *c, const struct cli_cmd *cmds, size_t n,
    const char *const *flags, unsigned given, int argc, char **argv)
{
	const struct cli_cmd *cmd = NULL;
	char q[OPT_QUOTE_BUF], who[256];
	unsigned bit;
	size_t i;

	if (argc < 1)
		cli_usage_error(c, "missing command");
	for (i = 0; i < n && cmd == NULL; i++)
		if (strcmp(argv[0], cmds[i].name) == 0)
			cmd = &cmds[i];
	/* An unknown command takes nothing: its options are refused first,
	 * as for any command that does not take them. */
	for (i = 0, bit = 1; bit != 0; i++, bit <<= 1) {
		if (!(given & bit) || (cmd != NULL && (cmd->opts & bit)))
			continue;
		takers(cmds, n, bit, true, who, sizeof(who));
		cli_usage_error(c, "%s is an option of %s only", flags[i], who);
	}
	if (c->format != OPT_FMT_TABLE && (cmd == NULL || !cmd->formats)) {
		takers(cmds, n, 0, false, who, sizeof(who));
		cli_usage_error(c, "-H and --json are for %s",
		    who[0] != '\0' ? who : "listings");
	}
	if (cmd == NULL)
		cli_usage_error(c, "unknown command '%s'",
		    opt_quote(q, sizeof(q), argv[0]));
	return cli_flush(c, cmd->run(argc, argv));
}

static noreturn void
sites_fail(const struct cli *c, cli_fail_fn *fail, const char *site,
    const struct opt_error *e)
{
	if (fail != NULL)
		fail(c, site, e);
	cli_fail(c, site, e);
}

char **
cli_sites(const struct cli *c, int named, char **sites, size_t *n,
    cli_fail_fn *fail)
{
	char(*ids)[OPT_SITE_ID_MAX + 1];
	struct opt_error e;
	char **v;
	size_t i;

	if (named > 0) {
		for (i = 0; i < (size_t)named; i++)
			if (opt_valid_site_id(sites[i], &e) == -1)
				sites_fail(c, fail, NULL, &e);
		for (i = 0; i < (size_t)named; i++)
			if (!opt_site_exists(&c->paths, sites[i])) {
				opt_error_set(&e, EX_NOINPUT, "no such site");
				sites_fail(c, fail, sites[i], &e);
			}
		*n = (size_t)named;
		return sites;
	}
	if (opt_site_list(&c->paths, &ids, n, &e) == -1)
		sites_fail(c, fail, NULL, &e);
	if ((v = calloc(*n + 1, sizeof(*v))) == NULL) {
		opt_error_set(&e, EX_OSERR, "out of memory");
		sites_fail(c, fail, NULL, &e);
	}
	for (i = 0; i < *n; i++)
		if ((v[i] = strdup(ids[i])) == NULL) {
			opt_error_set(&e, EX_OSERR, "out of memory");
			sites_fail(c, fail, NULL, &e);
		}
	free(ids);
	return v;
}

void
cli_sites_free(int named, char **sites, size_t n)
{
	size_t i;

	if (named > 0) /* they are the caller's */
		return;
	for (i = 0; i < n; i++)
		free(sites[i]);
	free(sites);
}

void
cli_paths(struct cli *c)
{
	struct opt_error e;

	if (opt_paths_init(&c->paths, c->config_dir, &e) == -1)
		cli_fail(c, NULL, &e);
}

/* MAST_LOCK_TIMEOUT: seconds to wait for the config lock (default 10). */
static int
lock_wait_ms(void)
{
	const char *v = getenv("MAST_LOCK_TIMEOUT"), *errstr;
	long long s;

	if (v == NULL || *v == '\0')
		return OPT_LOCK_WAIT_MS;
	s = strtonum(v, 0, 3600, &errstr);
	return errstr ? OPT_LOCK_WAIT_MS : (int)(s * 1000);
}

/* The helpers below end the program with the error when they fail. */
void
cli_site_id(const struct cli *c, const char *site)
{
	struct opt_error e;

	if (opt_valid_site_id(site, &e) == -1)
		cli_fail(c, NULL, &e);
}

void
cli_site_exists(const struct cli *c, const char *site)
{
	struct opt_error e;

	if (!opt_site_exists(&c->paths, site)) {
		opt_error_set(&e, EX_NOINPUT, "no such site");
		cli_fail(c, site, &e);
	}
}

void
cli_defaults(const struct cli *c, struct opt_defaults *d)
{
	struct opt_error e;

	if (opt_defaults_load(&c->paths, d, &e) == -1)
		cli_fail(c, NULL, &e);
	opt_file_group(d->local_user);
}

void
cli_lock(const struct cli *c, struct opt_lock *l)
{
	struct opt_error e;

	if (opt_lock_take(&c->paths, lock_wait_ms(), l, &e) == -1)
		cli_fail(c, NULL, &e);
}

/* Before an edit of a site: the paths, the defaults, the site, then the
 * config lock. */
void
cli_site_lock(struct cli *c, const char *site, struct opt_defaults *d,
    struct opt_lock *l)
{
	cli_paths(c);
	cli_defaults(c, d);
	cli_site_exists(c, site);
	cli_lock(c, l);
}

/*
 * A listing: the rows of the one site named, or of every site (site is
 * NULL), printed in the format asked for.  The site named must exist
 * and read, or the program ends with its error; of every site, a broken
 * one is reported and skipped, and the others are still listed.
 * Returns the status to exit with: the first error's, if any.
 */
int
cli_site_table(const struct cli *c, const struct opt_column *cols, size_t ncols,
    const char *site, cli_rows_fn *rows, const struct opt_defaults *d)
{
	char(*ids)[OPT_SITE_ID_MAX + 1] = NULL;
	struct opt_table t;
	struct opt_error e;
	size_t i, n = 1;
	int status = EX_OK;

	if (site != NULL)
		cli_site_exists(c, site);
	else if (opt_site_list(&c->paths, &ids, &n, &e) == -1)
		cli_fail(c, NULL, &e);
	opt_table_init(&t, cols, ncols);
	for (i = 0; i < n; i++) {
		const char *id = ids != NULL ? ids[i] : site;

		if (rows(&t, d, id, &e) == 0)
			continue;
		if (ids == NULL)
			cli_fail(c, id, &e);
		cli_warn(c, id, &e);
		if (status == EX_OK)
			status = e.status;
	}
	free(ids);
	if (opt_table_print(&t, stdout, c->format, c->color) == -1 &&
	    status == EX_OK)
		status = EX_IOERR;
	opt_table_free(&t);
	return status;
}

/* The run directory, checked, and who the tunnel runs as (owner).  A
 * tunnel writes there once it dropped root; the others only remove what
 * a tunnel left, and need neither the directory made nor local_user. */
int
cli_run_dir(const struct cli *c, struct opt_owner *owner, bool tunnel,
    struct opt_error *e)
{
	struct opt_defaults d;

	if (opt_defaults_load(&c->paths, &d, e) == -1)
		return -1;
	if (opt_owner_of(d.local_user, owner, e) == -1 &&
	    (tunnel || opt_owner_of("root", owner, e) == -1))
		return -1;
	return opt_safedir_open("run", c->paths.run, tunnel ? 0755 : 0, tunnel,
	    owner, e);
}

/*
 * After an edit: a running tunnel of the site re-reads its files
 * (SIGHUP), so the change is live without dropping anything; the tool
 * waits until it did, or refused.  The edit stays stored either way.
 * Returns the status to exit with.
 */
int
cli_reload_tunnel(const struct cli *c, const char *site)
{
	char why[OPT_ERROR_MAX];
	struct opt_error e;
	pid_t pid;
	int r =
	    opt_tunnel_reload(&c->paths, site, OPT_RELOAD_WAIT_MS, &pid, &e);

	if (r == 1 && c->verbose)
		printf("%s: tunnel (pid %ld) applied it\n", site, (long)pid);
	if (r != -1)
		return EX_OK;
	strlcpy(why, e.text, sizeof(why));
	if (e.status == EX_CONFIG)
		opt_error_set(&e, e.status,
		    "stored, but the tunnel refused it and keeps its old "
		    "settings: %s",
		    why);
	else if (e.status == EX_TEMPFAIL)
		opt_error_set(&e, e.status,
		    "stored, but not confirmed: %s; see 'opt-status %s'", why,
		    site);
	else
		opt_error_set(&e, e.status,
		    "stored, but not applied: %s; run 'opt-tunnel reload %s'",
		    why, site);
	cli_warn(c, site, &e);
	return e.status ? e.status : EX_SOFTWARE;
}

/*
 * Splits argv[first..] KEY=VALUE in place: argv[i] becomes KEY, and
 * cli_value(argv[i]) its VALUE.  Nothing is allocated, so an error exit
 * leaks nothing.
 */
void
cli_split_pairs(const struct cli *c, int argc, char **argv, int first)
{
	char q[OPT_QUOTE_BUF], *eq;
	int i;

	for (i = first; i < argc; i++) {
		if ((eq = strchr(argv[i], '=')) == NULL || eq == argv[i])
			cli_usage_error(c, "'%s' is not KEY=VALUE",
			    opt_quote(q, sizeof(q), argv[i]));
		*eq = '\0';
	}
}

const char *
cli_value(const char *key)
{
	return key + strlen(key) + 1;
}

static void
vmessage(const struct cli *c, const char *site, const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "%s: ", c->prog);
	if (site != NULL && opt_valid_site_id(site, NULL) == 0)
		fprintf(stderr, "%s: ", site);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void
message(const struct cli *c, const char *site, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(c, site, fmt, ap);
	va_end(ap);
}

/* "PROG: SITE: text", then exit with the error's status. */
void
cli_fail(const struct cli *c, const char *site, const struct opt_error *e)
{
	message(c, site, "%s", e->text);
	exit(e->status ? e->status : EX_SOFTWARE);
}

void
cli_warn(const struct cli *c, const char *site, const struct opt_error *e)
{
	message(c, site, "%s", e->text);
}

void
cli_usage_error(const struct cli *c, const char *fmt, ...)
{
	char text[OPT_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	message(c, NULL, "%s (see %s --help)", text, c->prog);
	exit(EX_USAGE);
}

/* A failed write to stdout is an error: a full disk must not pass for
 * an empty listing. */
int
cli_flush(const struct cli *c, int status)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		message(c, NULL, "cannot write to standard output: %s",
		    strerror(errno));
		return status ? status : EX_IOERR;
	}
	return status;
}
