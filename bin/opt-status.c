/*
 * opt-status: the state of every tunnel and channel, for people (a
 * table), scripts (-H, --json), monitoring (--check) and Prometheus
 * (--prometheus).  It only reads files and never waits on a tunnel,
 * except --check, which asks each running tunnel to probe its printers
 * and waits for the answers at most --timeout seconds.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "cli.h"
#include "clock.h"
#include "control.h"
#include "site.h"
#include "spoolstat.h"
#include "state.h"
#include "status.h"

enum {
	OPT_CHANNELS = CLI_OPT_FIRST_TOOL,
	OPT_CHECK,
	OPT_PROMETHEUS,
	OPT_TIMEOUT,
};

static const struct option longopts[] = {
    CLI_LONG_OPTS,
    {"channels", no_argument, NULL, OPT_CHANNELS},
    {"check", no_argument, NULL, OPT_CHECK},
    {"prometheus", no_argument, NULL, OPT_PROMETHEUS},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {NULL, 0, NULL, 0},
};

struct cli cli; /* status.h */

static void
usage(void)
{
	printf("usage: opt-status [-hqvV] [-C DIR] [SITE ...] [--channels] "
	       "[-H | --json | --prometheus]\n"
	       "  opt-status [-C DIR] [SITE ...] --check [--timeout "
	       "SECONDS]\n");
}

static void
human_bytes(char *buf, size_t len, unsigned long long n)
{
	static const char units[] = "KMGTP";
	double v = (double)n;
	int u = -1;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%llu", n);
	else
		snprintf(buf, len, "%.1f%c", v, units[u]);
}

/* A byte count or rate: in human units in the table, exact with -H. */
static void
bytes_cell(struct opt_table *t, const char *key, unsigned long long n,
    bool human)
{
	char buf[32];

	if (!human) {
		opt_table_int(t, key, (long long)n);
		return;
	}
	human_bytes(buf, sizeof(buf), n);
	opt_table_str(t, key, buf);
}

void
human_age(char *buf, size_t len, long long s)
{
	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(buf, len, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
}

static const struct opt_column site_cols[] = {
    {"site", "SITE", 0},
    {"state", "STATE", 0},
    {"pid", "PID", OPT_COL_RIGHT},
    {"uptime", "UPTIME", OPT_COL_RIGHT},
    {"channels", "CH", OPT_COL_RIGHT},
    {"active", "ACTIVE", OPT_COL_RIGHT},
    {"jobs", "JOBS", OPT_COL_RIGHT},
    {"sent", "SENT", OPT_COL_RIGHT},
    {"ratio", "RATIO", OPT_COL_RIGHT},
    {"rate_up", "UP/S", OPT_COL_RIGHT},
    {"rate_down", "DOWN/S", OPT_COL_RIGHT},
    {"last_error", "LAST ERROR", 0},
};

static const struct opt_column channel_cols[] = {
    {"site", "SITE", 0},
    {"id", "CH", OPT_COL_RIGHT},
    {"listen", "LISTEN", OPT_COL_RIGHT},
    {"printer", "PRINTER", 0},
    {"active", "ACTIVE", OPT_COL_RIGHT},
    {"jobs", "JOBS", OPT_COL_RIGHT},
    {"bytes_up", "SENT", OPT_COL_RIGHT},
    {"bytes_down", "RECEIVED", OPT_COL_RIGHT},
    {"probe", "PROBE", 0},
    {"last_error", "LAST ERROR", 0},
    {"mode", "MODE", 0},
    {"queued", "QUEUED", OPT_COL_RIGHT},
    {"queued_bytes", "BYTES", OPT_COL_RIGHT},
    {"oldest", "OLDEST", OPT_COL_RIGHT},
    {"failed", "FAILED", OPT_COL_RIGHT},
};

/* A channel's spool, as read from the disk (spoolstat.h). */

const char *
mode_of(const struct opt_state_channel *c)
{
	return c->mode[0] != '\0' ? c->mode : "direct";
}

/* defaults.conf, read once, the first time a spool is looked at: its
 * local_user owns the spools, and a site's spool_warn_age may come
 * from it. */
const struct opt_defaults *
defaults(struct opt_error *e)
{
	static struct opt_defaults d;
	static struct opt_error err;
	static int r = 1;

	if (r == 1)
		r = opt_defaults_load(&cli.paths, &d, &err);
	if (r == 0)
		return &d;
	*e = err;
	return NULL;
}

/* A site's spool, for reading: owned by local_user, or by root when
 * there is none (as for opt-queue). */
static int
spool_open(const char *site, struct opt_spool *sp, struct opt_error *e)
{
	const struct opt_defaults *d = defaults(e);
	struct opt_owner o;

	if (d == NULL ||
	    (opt_owner_of(d->local_user, &o, e) == -1 &&
	        opt_owner_of("root", &o, e) == -1))
		return -1;
	return opt_spool_open(sp, cli.paths.spool, site, &o, 0, 0, e);
}

/*
 * The spool of each spool-mode channel of a site, v[k] for
 * st->channels[k], counting as late the queued jobs accepted before
 * late_before.  False when one cannot be read (its e says why).
 */
bool
spool_views(const struct opt_state *st, long long late_before,
    struct spool_view *v)
{
	struct opt_spool sp;
	struct opt_error e;
	int opened = 0; /* 1: open, -1: it cannot be, e says why */
	bool ok = true;
	size_t k;

	for (k = 0; k < st->nchannels; k++) {
		memset(&v[k], 0, sizeof(v[k]));
		if (strcmp(mode_of(&st->channels[k]), "spool") != 0)
			continue;
		if (opened == 0)
			opened = spool_open(st->site, &sp, &e) == 0 ? 1 : -1;
		v[k].state = SPOOL_READ;
		if (opened == -1 ||
		    opt_spoolstat_read(&sp, st->channels[k].id, late_before,
		        &v[k].s, &e) == -1) {
			v[k].state = SPOOL_UNREADABLE;
			v[k].e = e;
			ok = false;
		}
	}
	if (opened == 1)
		opt_spool_close(&sp);
	return ok;
}

/* Says on stderr why a site's spools cannot be read, a line each (one
 * for the site when its whole spool cannot be); the exit status. */
static int
spool_warn(const struct opt_state *st, const struct spool_view *v)
{
	const char *said = "";
	int status = EX_OK;
	size_t k;

	for (k = 0; k < st->nchannels; k++) {
		if (v[k].state != SPOOL_UNREADABLE ||
		    strcmp(v[k].e.text, said) == 0)
			continue;
		cli_warn(&cli, st->site, &v[k].e);
		said = v[k].e.text;
		if (status == EX_OK)
			status = v[k].e.status ? v[k].e.status : EX_SOFTWARE;
	}
	return status;
}

/* The spool's figures of a channel: columns, and keys in JSON. */
static const char *const spool_keys[] = {"queued", "queued_bytes", "oldest",
    "failed"};
#define NSPOOL_KEYS (sizeof(spool_keys) / sizeof(spool_keys[0]))

/* How long the oldest queued job has waited, in seconds. */
long long
waited(const struct opt_spoolstat *s)
{
	long long age = (long long)time(NULL) - s->oldest;

	return s->queued == 0 || age < 0 ? 0 : age;
}

/* MODE and the spool's figures: "-" for a direct channel, "?" for a
 * spool that cannot be read (not 0: jobs may wait there). */
static void
spool_cells(struct opt_table *t, const struct opt_state_channel *c,
    const struct spool_view *v, bool human)
{
	char buf[32];
	size_t i;

	opt_table_str(t, "mode", mode_of(c));
	if (v->state == SPOOL_UNREADABLE)
		for (i = 0; i < NSPOOL_KEYS; i++)
			opt_table_str(t, spool_keys[i], "?");
	if (v->state != SPOOL_READ)
		return;
	opt_table_int(t, "queued", (long long)v->s.queued);
	bytes_cell(t, "queued_bytes", v->s.bytes, human);
	if (v->s.queued > 0 && human) {
		human_age(buf, sizeof(buf), waited(&v->s));
		opt_table_str(t, "oldest", buf);
	} else if (v->s.queued > 0) {
		opt_table_int(t, "oldest", waited(&v->s));
	}
	opt_table_int(t, "failed", (long long)v->s.failed);
}

void
printer_text(char *buf, size_t len, const struct opt_state_channel *c)
{
	bool v6 = strchr(c->printer, ':') != NULL;

	snprintf(buf, len, "%s%s%s:%d", v6 ? "[" : "", c->printer,
	    v6 ? "]" : "", c->printer_port);
}

/* The PROBE column: "offline: 41200 PAPER OUT" for a printer that said
 * more than that it is ready. */
static void
probe_text(char *buf, size_t len, const struct opt_state_channel *c)
{
	if (strcmp(c->probe, "no-pjl") == 0)
		strlcpy(buf, "tcp-ok, no-pjl", len);
	else if (c->pjl_code != 0 && strcmp(c->probe, "ready") != 0)
		snprintf(buf, len, "%s: %d%s%s", c->probe, c->pjl_code,
		    c->pjl_display[0] ? " " : "", c->pjl_display);
	else
		strlcpy(buf, c->probe, len);
}

/* The printer answers and prints (by its probe); -1: not known. */
int
printer_up(const struct opt_state_channel *c)
{
	static const char *const up[] = {"ok", "ready", "warning", "no-pjl"};
	size_t i;

	if (strcmp(c->probe, "failed") == 0 || strcmp(c->probe, "offline") == 0)
		return 0;
	for (i = 0; i < sizeof(up) / sizeof(up[0]); i++)
		if (strcmp(c->probe, up[i]) == 0)
			return 1;
	return -1;
}

/*
 * What is wrong with a site, in one line: a stale tunnel's silence,
 * then a reload the tunnel refused, then the tunnel's last error.
 */
void
site_error(char *buf, size_t len, const struct opt_state *st)
{
	buf[0] = '\0';
	if (st->age > 0)
		snprintf(buf, len, "no state written for %lld s (last: %s)",
		    st->age,
		    st->updated != 0 ? opt_tstate_name(st->reported) : "none");
	if (st->reload_error[0] != '\0') {
		if (buf[0] != '\0')
			strlcat(buf, "; ", len);
		strlcat(buf, "reload failed: ", len);
		strlcat(buf, st->reload_error, len);
	}
	if (st->last_error[0] != '\0') {
		if (buf[0] != '\0')
			strlcat(buf, "; ", len);
		strlcat(buf, st->last_error, len);
	}
}

/* Table or tab-separated lines; human units only in the table. */
static void
text_rows(struct opt_table *sites, struct opt_table *chans,
    const struct opt_state *st, const struct spool_view *sv)
{
	bool human = cli.format == OPT_FMT_TABLE;
	char buf[OPT_HOST_MAX + OPT_STATE_PJL_DISPLAY_MAX + 32],
	    why[3 * OPT_STATE_ERROR_MAX];
	unsigned active = 0;
	size_t i;

	for (i = 0; i < st->nchannels; i++)
		active += st->channels[i].active;
	if (opt_table_row(sites) == -1)
		return;
	opt_table_str(sites, "site", st->site);
	opt_table_str(sites, "state", opt_tstate_name(st->state));
	if (st->pid > 0)
		opt_table_int(sites, "pid", st->pid);
	if (st->state <= OPT_TS_HOSTKEY_MISMATCH && st->since > 0) {
		long long age = (long long)time(NULL) - st->since;
		if (human) {
			human_age(buf, sizeof(buf), age);
			opt_table_str(sites, "uptime", buf);
		} else {
			opt_table_int(sites, "uptime", age);
		}
	}
	opt_table_int(sites, "channels", (long long)st->nchannels);
	opt_table_int(sites, "active", active);
	opt_table_int(sites, "jobs", (long long)st->jobs);
	bytes_cell(sites, "sent", st->payload_up, human);
	if (st->wire_up > 0 && st->payload_up > 0) {
		snprintf(buf, sizeof(buf), "%.2f",
		    (double)st->payload_up / (double)st->wire_up);
		opt_table_str(sites, "ratio", buf);
	}
	if (st->pid > 0) {
		bytes_cell(sites, "rate_up", st->rate_up, human);
		bytes_cell(sites, "rate_down", st->rate_down, human);
	}
	site_error(why, sizeof(why), st);
	opt_table_str(sites, "last_error", why);

	for (i = 0; chans != NULL && i < st->nchannels; i++) {
		const struct opt_state_channel *c = &st->channels[i];

		if (opt_table_row(chans) == -1)
			return;
		opt_table_str(chans, "site", st->site);
		opt_table_int(chans, "id", c->id);
		opt_table_int(chans, "listen", c->listen);
		printer_text(buf, sizeof(buf), c);
		opt_table_str(chans, "printer", buf);
		opt_table_int(chans, "active", c->active);
		opt_table_int(chans, "jobs", (long long)c->jobs);
		bytes_cell(chans, "bytes_up", c->bytes_up, human);
		bytes_cell(chans, "bytes_down", c->bytes_down, human);
		probe_text(buf, sizeof(buf), c);
		opt_table_str(chans, "probe", buf);
		opt_table_str(chans, "last_error", c->last_error);
		spool_cells(chans, c, &sv[i], human);
	}
}

/* A channel's mode and spool: null where the table has "-" or "?". */
static void
json_spool(struct opt_json *j, const struct opt_state_channel *c,
    const struct spool_view *v)
{
	size_t i;

	opt_json_str(j, "mode", mode_of(c));
	if (v->state != SPOOL_READ) {
		for (i = 0; i < NSPOOL_KEYS; i++)
			opt_json_null(j, spool_keys[i]);
	} else {
		opt_json_uint(j, "queued", v->s.queued);
		opt_json_uint(j, "queued_bytes", v->s.bytes);
		if (v->s.queued > 0)
			opt_json_int(j, "oldest", waited(&v->s));
		else
			opt_json_null(j, "oldest");
		opt_json_uint(j, "failed", v->s.failed);
	}
	opt_json_str(j, "spool_error",
	    v->state == SPOOL_UNREADABLE ? v->e.text : "");
}

/* The keys are the state file's names (opt-status(1)); last_error is
 * the table's LAST ERROR. */
static void
json_site(struct opt_json *j, const struct opt_state *st,
    const struct spool_view *sv)
{
	char why[3 * OPT_STATE_ERROR_MAX];
	size_t i;

	opt_json_open(j, NULL, '{');
	opt_json_str(j, "site", st->site);
	opt_json_str(j, "state", opt_tstate_name(st->state));
	if (st->pid > 0)
		opt_json_int(j, "pid", st->pid);
	else
		opt_json_null(j, "pid");
	opt_json_int(j, "since", st->since);
	opt_json_int(j, "updated", st->updated);
	opt_json_uint(j, "reconnects", st->reconnects);
	site_error(why, sizeof(why), st);
	opt_json_str(j, "last_error", why);
	opt_json_uint(j, "interval", st->interval);
	opt_json_int(j, "age", st->age);
	opt_json_str(j, "generation", st->generation);
	opt_json_bool(j, "config_pending",
	    opt_tunnel_config_pending(&cli.paths, st->site, st));
	opt_json_uint(j, "reloads", st->reloads);
	opt_json_str(j, "reload_error", st->reload_error);
	opt_json_str(j, "compression",
	    st->compression[0] ? st->compression : "none");
	opt_json_uint(j, "wire_up", st->wire_up);
	opt_json_uint(j, "wire_down", st->wire_down);
	opt_json_uint(j, "payload_up", st->payload_up);
	opt_json_uint(j, "payload_down", st->payload_down);
	opt_json_uint(j, "jobs", st->jobs);
	opt_json_uint(j, "rate_up", st->rate_up);
	opt_json_uint(j, "rate_down", st->rate_down);
	opt_json_uint(j, "probes", st->probes);
	opt_json_open(j, "channels", '[');
	for (i = 0; i < st->nchannels; i++) {
		const struct opt_state_channel *c = &st->channels[i];
		char printer[OPT_HOST_MAX + 16];

		printer_text(printer, sizeof(printer), c);
		opt_json_open(j, NULL, '{');
		opt_json_int(j, "id", c->id);
		opt_json_int(j, "listen", c->listen);
		opt_json_str(j, "printer", printer);
		opt_json_uint(j, "active", c->active);
		opt_json_uint(j, "jobs", c->jobs);
		opt_json_uint(j, "bytes_up", c->bytes_up);
		opt_json_uint(j, "bytes_down", c->bytes_down);
		opt_json_str(j, "probe", c->probe);
		opt_json_int(j, "probe_at", c->probe_at);
		opt_json_int(j, "probe_since", c->probe_since);
		if (c->pjl_code != 0)
			opt_json_int(j, "pjl_code", c->pjl_code);
		else
			opt_json_null(j, "pjl_code");
		opt_json_str(j, "pjl_display", c->pjl_display);
		opt_json_str(j, "last_error", c->last_error);
		json_spool(j, c, &sv[i]);
		opt_json_close(j);
	}
	opt_json_close(j);
	opt_json_close(j);
}

/* --check: a site named that cannot be looked at is UNKNOWN. */
static void
check_fail(const struct cli *c, const char *site, const struct opt_error *e)
{
	(void)c;
	printf("OPT UNKNOWN - %s%s%s\n", site ? site : "", site ? ": " : "",
	    e->text);
	exit(CHECK_UNKNOWN);
}

/* -H --channels: each line starts with "site" or "channel". */
static void
tsv_tagged(const struct opt_table *t, const char *tag)
{
	char *buf = NULL, *line, *next;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return;
	opt_table_print(t, f, OPT_FMT_TSV, false);
	fclose(f);
	for (line = buf; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		printf("%s\t%s\n", tag, line);
	}
	free(buf);
}

int
main(int argc, char **argv)
{
	bool channels = false, checking = false, prom = false, timeout = false;
	struct opt_table sites_t, chans_t;
	struct spool_view **sv;
	struct opt_json json;
	struct opt_state *st;
	const char *errstr;
	int ch, timeout_s = 10, status;
	size_t i, n;
	char **sites;

	cli_init(&cli, "opt-status");
	while ((ch = cli_getopt(&cli, argc, argv, longopts, usage)) != -1) {
		switch (ch) {
		case OPT_CHANNELS:
			channels = true;
			break;
		case OPT_CHECK:
			checking = true;
			break;
		case OPT_PROMETHEUS:
			prom = true;
			break;
		case OPT_TIMEOUT:
			timeout = true;
			timeout_s = (int)strtonum(optarg, 1, 600, &errstr);
			if (errstr != NULL) {
				char q[OPT_QUOTE_BUF];
				cli_usage_error(&cli,
				    "--timeout '%s' is not a number of seconds "
				    "(1-600)",
				    opt_quote(q, sizeof(q), optarg));
			}
			break;
		}
	}
	argc -= optind;
	argv += optind;
	if (prom && cli.format != OPT_FMT_TABLE)
		cli_usage_error(&cli,
		    "--prometheus, -H and --json are "
		    "exclusive");
	if (timeout && !checking)
		cli_usage_error(&cli, "--timeout is an option of --check");
	if (checking && (prom || channels || cli.format != OPT_FMT_TABLE))
		cli_usage_error(&cli,
		    "--check prints one line; it takes no "
		    "output format");
	cli_paths(&cli);
	sites = cli_sites(&cli, argc, argv, &n, checking ? check_fail : NULL);
	if (checking) {
		status = check(sites, n, timeout_s * 1000);
		cli_sites_free(argc, sites, n);
		return cli_flush(&cli, status);
	}

	if ((st = calloc(n + 1, sizeof(*st))) == NULL ||
	    (sv = calloc(n + 1, sizeof(*sv))) == NULL)
		return EX_OSERR;
	status = EX_OK;
	for (i = 0; i < n; i++) {
		struct opt_error e;
		int r;

		if (opt_tunnel_status(&cli.paths, sites[i], true, &st[i], &e) ==
		    -1) {
			cli_warn(&cli, sites[i], &e);
			status = status ? status : e.status;
		}
		if ((sv[i] = calloc(st[i].nchannels + 1, sizeof(*sv[i]))) ==
		    NULL)
			return EX_OSERR;
		if (!spool_views(&st[i], 0, sv[i])) {
			r = spool_warn(&st[i], sv[i]);
			status = status ? status : r;
		}
	}
	if (prom) {
		prometheus(stdout, st, sv, n);
	} else if (cli.format == OPT_FMT_JSON) {
		opt_json_init(&json, stdout);
		opt_json_open(&json, NULL, '[');
		for (i = 0; i < n; i++)
			json_site(&json, &st[i], sv[i]);
		opt_json_close(&json);
	} else {
		opt_table_init(&sites_t, site_cols,
		    sizeof(site_cols) / sizeof(site_cols[0]));
		opt_table_init(&chans_t, channel_cols,
		    sizeof(channel_cols) / sizeof(channel_cols[0]));
		for (i = 0; i < n; i++)
			text_rows(&sites_t, channels ? &chans_t : NULL, &st[i],
			    sv[i]);
		if (channels && cli.format == OPT_FMT_TSV) {
			tsv_tagged(&sites_t, "site");
			tsv_tagged(&chans_t, "channel");
		} else {
			opt_table_print(&sites_t, stdout, cli.format,
			    cli.color);
			if (channels) {
				fputc('\n', stdout);
				opt_table_print(&chans_t, stdout, cli.format,
				    cli.color);
			}
		}
		opt_table_free(&sites_t);
		opt_table_free(&chans_t);
	}
	for (i = 0; i < n; i++) {
		opt_state_free(&st[i]);
		free(sv[i]);
	}
	free(st);
	free(sv);
	cli_sites_free(argc, sites, n);
	return cli_flush(&cli, status);
}
