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

/* The monitoring convention of --check. */
enum { CHECK_OK, CHECK_WARNING, CHECK_CRITICAL, CHECK_UNKNOWN };

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

static struct cli cli;

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

static void
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
enum { SPOOL_NONE, SPOOL_READ, SPOOL_UNREADABLE };

struct spool_view {
	int state; /* SPOOL_NONE: a direct channel */
	struct opt_spoolstat s;
	struct opt_error e; /* SPOOL_UNREADABLE: why */
};

static const char *
mode_of(const struct opt_state_channel *c)
{
	return c->mode[0] != '\0' ? c->mode : "direct";
}

/* defaults.conf, read once, the first time a spool is looked at: its
 * local_user owns the spools, and a site's spool_warn_age may come
 * from it. */
static const struct opt_defaults *
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
static bool
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
static long long
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

static void
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
static int
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
static void
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

/* The metrics of --prometheus, in the order they are printed. */
enum {
	M_UP,
	M_STATE,
	M_WIRE_BYTES,
	M_PAYLOAD_BYTES,
	M_JOBS,
	M_RECONNECTS,
	M_CONFIG_PENDING,
	M_CHANNEL_ACTIVE, /* the first metric of each channel */
	M_CHANNEL_JOBS,
	M_CHANNEL_BYTES,
	M_CHANNEL_REACHABLE,
	M_PRINTER_UP,
	M_PRINTER_CODE,
	M_SPOOL_JOBS,
	M_SPOOL_BYTES,
	M_SPOOL_OLDEST,
	M_COUNT
};

/* label: the name of the label that tells a metric's samples apart. */
static const struct {
	const char *name, *type, *help, *label;
} metrics[M_COUNT] = {
    [M_UP] = {"opt_tunnel_up", "gauge",
        "Whether the site's tunnel is up (1) or not (0).", NULL},
    [M_STATE] = {"opt_tunnel_state", "gauge",
        "The tunnel's state: 1 on the current one.", "state"},
    [M_WIRE_BYTES] = {"opt_tunnel_wire_bytes_total", "counter",
        "Bytes on the SSH connection, by direction.", "direction"},
    [M_PAYLOAD_BYTES] = {"opt_tunnel_payload_bytes_total", "counter",
        "Print data bytes, by direction.", "direction"},
    [M_JOBS] = {"opt_tunnel_jobs_total", "counter", "Jobs accepted.", NULL},
    [M_RECONNECTS] = {"opt_tunnel_reconnects_total", "counter",
        "Sessions lost or attempts failed since the tunnel started.", NULL},
    [M_CONFIG_PENDING] = {"opt_tunnel_config_pending", "gauge",
        "Whether the tunnel runs an older configuration than its files "
        "(1) or not (0).",
        NULL},
    [M_CHANNEL_ACTIVE] = {"opt_tunnel_channel_active", "gauge",
        "Jobs running on the channel.", NULL},
    [M_CHANNEL_JOBS] = {"opt_tunnel_channel_jobs_total", "counter",
        "Jobs accepted on the channel.", NULL},
    [M_CHANNEL_BYTES] = {"opt_tunnel_channel_bytes_total", "counter",
        "Print data bytes of the channel, by direction.", "direction"},
    [M_CHANNEL_REACHABLE] = {"opt_tunnel_channel_reachable", "gauge",
        "The last probe of the printer: 1 reachable, 0 not.", NULL},
    [M_PRINTER_UP] = {"opt_printer_up", "gauge",
        "The printer by its last probe: 1 reachable and not offline, 0 "
        "unreachable or offline (paper out, jam, door open...).",
        NULL},
    [M_PRINTER_CODE] = {"opt_printer_status_code", "gauge",
        "The PJL status code the printer gave at its last probe.", NULL},
    [M_SPOOL_JOBS] = {"opt_tunnel_channel_spool_jobs", "gauge",
        "Jobs in the spool of a spool-mode channel: queued (sending "
        "included) or failed.",
        "state"},
    [M_SPOOL_BYTES] = {"opt_tunnel_channel_spool_bytes", "gauge",
        "Bytes of the jobs queued in the spool of a spool-mode channel.", NULL},
    [M_SPOOL_OLDEST] = {"opt_tunnel_channel_spool_oldest_seconds", "gauge",
        "How long the oldest queued job of a spool-mode channel has "
        "waited, 0 when none waits.",
        NULL},
};

/* One line: NAME{site="SITE"[,channel="ID"][,LABEL="VAL"]} VALUE */
static void
prom_sample(FILE *f, int m, const char *site, const struct opt_state_channel *c,
    const char *val, unsigned long long value)
{
	fprintf(f, "%s{site=\"%s\"", metrics[m].name, site);
	if (c != NULL)
		fprintf(f, ",channel=\"%d\"", c->id);
	if (val != NULL)
		fprintf(f, ",%s=\"%s\"", metrics[m].label, val);
	fprintf(f, "} %llu\n", value);
}

/* A spool that cannot be read has no samples: its figures are unknown. */
static void
prom_spool(FILE *f, int m, const char *site, const struct opt_state_channel *c,
    const struct spool_view *v)
{
	if (v->state != SPOOL_READ)
		return;
	switch (m) {
	case M_SPOOL_JOBS:
		prom_sample(f, m, site, c, "queued", v->s.queued);
		prom_sample(f, m, site, c, "failed", v->s.failed);
		break;
	case M_SPOOL_BYTES:
		prom_sample(f, m, site, c, NULL, v->s.bytes);
		break;
	case M_SPOOL_OLDEST:
		prom_sample(f, m, site, c, NULL,
		    (unsigned long long)waited(&v->s));
		break;
	}
}

static void
prom_channel(FILE *f, int m, const char *site,
    const struct opt_state_channel *c, const struct spool_view *v)
{
	if (m >= M_SPOOL_JOBS) {
		prom_spool(f, m, site, c, v);
		return;
	}
	switch (m) {
	case M_CHANNEL_ACTIVE:
		prom_sample(f, m, site, c, NULL, c->active);
		break;
	case M_CHANNEL_JOBS:
		prom_sample(f, m, site, c, NULL, c->jobs);
		break;
	case M_CHANNEL_BYTES:
		prom_sample(f, m, site, c, "up", c->bytes_up);
		prom_sample(f, m, site, c, "down", c->bytes_down);
		break;
	case M_CHANNEL_REACHABLE:
		if (printer_up(c) != -1)
			prom_sample(f, m, site, c, NULL,
			    strcmp(c->probe, "failed") != 0);
		break;
	case M_PRINTER_UP:
		if (printer_up(c) != -1)
			prom_sample(f, m, site, c, NULL,
			    (unsigned long long)printer_up(c));
		break;
	case M_PRINTER_CODE:
		if (c->pjl_code != 0)
			prom_sample(f, m, site, c, NULL,
			    (unsigned long long)c->pjl_code);
		break;
	}
}

/* The lines of metric m for one site, or for each of its channels. */
static void
prom_site(FILE *f, int m, const struct opt_state *s,
    const struct spool_view *sv)
{
	size_t k;
	int t;

	if (m >= M_CHANNEL_ACTIVE) {
		for (k = 0; k < s->nchannels; k++)
			prom_channel(f, m, s->site, &s->channels[k], &sv[k]);
		return;
	}
	switch (m) {
	case M_UP:
		prom_sample(f, m, s->site, NULL, NULL, s->state == OPT_TS_UP);
		break;
	case M_STATE:
		for (t = OPT_TS_CONNECTING; t <= OPT_TS_STALE; t++)
			prom_sample(f, m, s->site, NULL,
			    opt_tstate_name((enum opt_tstate)t),
			    (int)s->state == t);
		break;
	case M_WIRE_BYTES:
		prom_sample(f, m, s->site, NULL, "up", s->wire_up);
		prom_sample(f, m, s->site, NULL, "down", s->wire_down);
		break;
	case M_PAYLOAD_BYTES:
		prom_sample(f, m, s->site, NULL, "up", s->payload_up);
		prom_sample(f, m, s->site, NULL, "down", s->payload_down);
		break;
	case M_JOBS:
		prom_sample(f, m, s->site, NULL, NULL, s->jobs);
		break;
	case M_RECONNECTS:
		prom_sample(f, m, s->site, NULL, NULL, s->reconnects);
		break;
	case M_CONFIG_PENDING:
		prom_sample(f, m, s->site, NULL, NULL,
		    opt_tunnel_config_pending(&cli.paths, s->site, s));
		break;
	}
}

/* node_exporter's textfile format; site ids need no label escaping. */
static void
prometheus(FILE *f, const struct opt_state *v, struct spool_view *const *sv,
    size_t n)
{
	size_t i;
	int m;

	for (m = 0; m < M_COUNT; m++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", metrics[m].name,
		    metrics[m].help, metrics[m].name, metrics[m].type);
		for (i = 0; i < n; i++)
			prom_site(f, m, &v[i], sv[i]);
	}
}

static const char *const check_names[] = {"OK", "WARNING", "CRITICAL",
    "UNKNOWN"};

static void note(char *buf, size_t len, int *worst, int level, const char *fmt,
    ...) __attribute__((format(printf, 5, 6)));

/* Severity, not code order: UNKNOWN hides no WARNING or CRITICAL. */
static int
severity(int level)
{
	static const int rank[] = {[CHECK_OK] = 0,
	    [CHECK_UNKNOWN] = 1,
	    [CHECK_WARNING] = 2,
	    [CHECK_CRITICAL] = 3};

	return rank[level];
}

/* Adds a problem to the summary; the most severe level wins. */
static void
note(char *buf, size_t len, int *worst, int level, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (severity(level) > severity(*worst))
		*worst = level;
	if (n > 0 && n < len - 2)
		strlcat(buf, "; ", len);
	n = strlen(buf);
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

/*
 * The spools of a site's spool-mode channels: CRITICAL for a job that
 * failed, WARNING for one queued longer than the site's spool_warn_age,
 * UNKNOWN for a spool that cannot be read.  The tunnel need not run:
 * its jobs wait all the same.
 */
static void
spool_check(char *msg, size_t len, int *worst, const struct opt_state *s,
    unsigned long long *queued)
{
	const struct opt_defaults *d;
	char age[32], limit[32];
	struct spool_view *v;
	struct opt_site site;
	struct opt_error e;
	size_t k;

	for (k = 0; k < s->nchannels; k++)
		if (strcmp(mode_of(&s->channels[k]), "spool") == 0)
			break;
	if (k == s->nchannels)
		return;
	if ((d = defaults(&e)) == NULL ||
	    opt_site_load(&cli.paths, d, s->site, &site, &e) == -1) {
		note(msg, len, worst, CHECK_UNKNOWN, "%s: %s", s->site, e.text);
		return;
	}
	if ((v = calloc(s->nchannels, sizeof(*v))) == NULL) {
		note(msg, len, worst, CHECK_UNKNOWN, "%s: out of memory",
		    s->site);
		return;
	}
	spool_views(s, (long long)time(NULL) - site.spool_warn_age, v);
	human_age(limit, sizeof(limit), site.spool_warn_age);
	for (k = 0; k < s->nchannels; k++) {
		const struct opt_spoolstat *f = &v[k].s;
		int id = s->channels[k].id;

		*queued += f->queued;
		if (v[k].state == SPOOL_UNREADABLE)
			note(msg, len, worst, CHECK_UNKNOWN,
			    "%s channel %d: %s", s->site, id, v[k].e.text);
		if (v[k].state != SPOOL_READ)
			continue;
		if (f->failed > 0) {
			human_age(age, sizeof(age),
			    (long long)time(NULL) - f->oldest_failed);
			note(msg, len, worst, CHECK_CRITICAL,
			    "%s channel %d: %llu job%s failed (the oldest "
			    "accepted %s ago)",
			    s->site, id, f->failed, f->failed == 1 ? "" : "s",
			    age);
		}
		if (f->late > 0) {
			human_age(age, sizeof(age), waited(f));
			note(msg, len, worst, CHECK_WARNING,
			    "%s channel %d: %llu job%s waiting longer than %s "
			    "(the oldest for %s)",
			    s->site, id, f->late, f->late == 1 ? "" : "s",
			    limit, age);
		}
	}
	free(v);
}

/* The printers of the sites up, for --check: the problems by level,
 * and the performance data. */
struct printer_figures {
	char crit[1024], warn[1024], unknown[512];
	size_t printers, offline, warning;
	unsigned long long queued, rate_up, rate_down;
};

/* A site's printer_down_critical; -1 when its files cannot be read. */
static long long
down_critical(const char *id, struct opt_error *e)
{
	const struct opt_defaults *d;
	struct opt_site site;

	if ((d = defaults(e)) == NULL ||
	    opt_site_load(&cli.paths, d, id, &site, e) == -1)
		return -1;
	return site.printer_down_critical;
}

/*
 * WARNING for a printer unreachable or in a warning state, or offline
 * for less than its site's printer_down_critical; CRITICAL for one
 * offline for longer.
 */
static void
printers_check(struct printer_figures *pf, const struct opt_state *s)
{
	char printer[OPT_HOST_MAX + 16], age[32], limit[32];
	long long crit = 0, off;
	struct opt_error e;
	int ignored = 0;
	size_t k;

	for (k = 0; k < s->nchannels; k++) {
		const struct opt_state_channel *c = &s->channels[k];

		pf->printers++;
		printer_text(printer, sizeof(printer), c);
		if (strcmp(c->probe, "failed") == 0) {
			note(pf->warn, sizeof(pf->warn), &ignored,
			    CHECK_WARNING,
			    "%s channel %d: printer %s unreachable", s->site,
			    c->id, printer);
		} else if (strcmp(c->probe, "warning") == 0) {
			pf->warning++;
			note(pf->warn, sizeof(pf->warn), &ignored,
			    CHECK_WARNING, "%s channel %d: printer %s: %d %s",
			    s->site, c->id, printer, c->pjl_code,
			    c->pjl_display);
		} else if (strcmp(c->probe, "offline") == 0) {
			pf->offline++;
			if (crit == 0 &&
			    (crit = down_critical(s->site, &e)) == -1)
				note(pf->unknown, sizeof(pf->unknown), &ignored,
				    CHECK_UNKNOWN, "%s: %s", s->site, e.text);
			off = (long long)time(NULL) - c->probe_since;
			human_age(age, sizeof(age), off);
			human_age(limit, sizeof(limit), crit);
			if (crit > 0 && off >= crit)
				note(pf->crit, sizeof(pf->crit), &ignored,
				    CHECK_CRITICAL,
				    "%s channel %d: printer %s offline for %s "
				    "(%d %s), longer than %s",
				    s->site, c->id, printer, age, c->pjl_code,
				    c->pjl_display, limit);
			else
				note(pf->warn, sizeof(pf->warn), &ignored,
				    CHECK_WARNING,
				    "%s channel %d: printer %s offline for %s "
				    "(%d %s)",
				    s->site, c->id, printer, age, c->pjl_code,
				    c->pjl_display);
		}
	}
}

/*
 * --check: running tunnels probe their idle printers (SIGUSR1); the
 * answers are awaited until timeout_ms.  One line, for a monitoring
 * system, and its exit code.
 */
static int
check(char **sites, size_t n, int timeout_ms)
{
	struct opt_state *st;
	unsigned long long *before;
	bool *asked;
	char msg[2048] = "", why[3 * OPT_STATE_ERROR_MAX];
	struct printer_figures pf;
	size_t i, waiting = 0, up = 0;
	long long deadline = opt_clock_ms() + timeout_ms;
	int worst = CHECK_OK, r;
	struct opt_error e;
	pid_t pid;

	memset(&pf, 0, sizeof(pf));
	if (n == 0) {
		printf("OPT UNKNOWN - no site is configured in %s\n",
		    cli.paths.config);
		return CHECK_UNKNOWN;
	}
	st = calloc(n, sizeof(*st));
	before = calloc(n, sizeof(*before));
	asked = calloc(n, sizeof(*asked));
	if (st == NULL || before == NULL || asked == NULL) {
		free(st);
		free(before);
		free(asked);
		printf("OPT UNKNOWN - out of memory\n");
		return CHECK_UNKNOWN;
	}
	for (i = 0; i < n; i++) {
		opt_tunnel_status(&cli.paths, sites[i], true, &st[i], NULL);
		if (st[i].state != OPT_TS_UP || st[i].pid <= 0)
			continue;
		r = opt_tunnel_signal(&cli.paths, sites[i], SIGUSR1, &pid, &e);
		if (r == 0)
			continue; /* it has just ended: judged as it was */
		if (r == -1) {
			note(msg, sizeof(msg), &worst, CHECK_UNKNOWN,
			    "%s: cannot ask the tunnel to probe (%s); run as "
			    "root or local_user",
			    st[i].site, e.text);
			st[i].state = OPT_TS_STOPPED + 100; /* judged above */
			continue;
		}
		before[i] = st[i].probes;
		asked[i] = true;
		waiting++;
	}
	while (waiting > 0 && opt_clock_ms() < deadline) {
		struct timespec ts = {0, 50 * 1000000L};

		nanosleep(&ts, NULL);
		for (i = 0; i < n; i++) {
			struct opt_state now;

			if (!asked[i] ||
			    opt_tunnel_status(&cli.paths, sites[i], true, &now,
			        NULL) == -1)
				continue;
			if (now.probes > before[i] || now.state != OPT_TS_UP) {
				opt_state_free(&st[i]);
				st[i] = now;
				asked[i] = false;
				waiting--;
			} else {
				opt_state_free(&now);
			}
		}
	}
	for (i = 0; i < n; i++) {
		const struct opt_state *s = &st[i];

		if ((int)s->state >= OPT_TS_STOPPED + 100) {
			spool_check(msg, sizeof(msg), &worst, s, &pf.queued);
			continue;
		}
		site_error(why, sizeof(why), s);
		if (s->state != OPT_TS_STALE &&
		    opt_tunnel_config_pending(&cli.paths, s->site, s))
			note(msg, sizeof(msg), &worst, CHECK_WARNING,
			    "%s runs an older configuration than its files "
			    "(%s%s)",
			    s->site,
			    s->reload_error[0]
			        ? "reload failed: "
			        : "not reloaded since they changed",
			    s->reload_error);
		switch (s->state) {
		case OPT_TS_STOPPED:
		case OPT_TS_STALE:
		case OPT_TS_HOSTKEY_MISMATCH:
			/* A stale tunnel's why is its silence. */
			note(msg, sizeof(msg), &worst, CHECK_CRITICAL,
			    "%s %s%s%s", s->site, opt_tstate_name(s->state),
			    s->age > 0 ? ": " : "", s->age > 0 ? why : "");
			break;
		case OPT_TS_UP:
			break;
		default:
			note(msg, sizeof(msg), &worst, CHECK_WARNING,
			    "%s %s%s%s", s->site, opt_tstate_name(s->state),
			    why[0] ? ": " : "", why);
			break;
		}
		spool_check(msg, sizeof(msg), &worst, s, &pf.queued);
		if (s->state != OPT_TS_UP)
			continue;
		up++;
		pf.rate_up += s->rate_up;
		pf.rate_down += s->rate_down;
		if (asked[i]) {
			note(msg, sizeof(msg), &worst, CHECK_UNKNOWN,
			    "%s did not answer the probe within %d s", s->site,
			    timeout_ms / 1000);
			continue;
		}
		printers_check(&pf, s);
	}
	/* The worst printers first: the line may be cut by the monitor. */
	if (pf.crit[0] != '\0')
		note(msg, sizeof(msg), &worst, CHECK_CRITICAL, "%s", pf.crit);
	if (pf.warn[0] != '\0')
		note(msg, sizeof(msg), &worst, CHECK_WARNING, "%s", pf.warn);
	if (pf.unknown[0] != '\0')
		note(msg, sizeof(msg), &worst, CHECK_UNKNOWN, "%s", pf.unknown);
	if (worst == CHECK_OK)
		printf("OPT OK - %zu site%s up, %zu printer%s reachable", up,
		    up == 1 ? "" : "s", pf.printers,
		    pf.printers == 1 ? "" : "s");
	else
		printf("OPT %s - %s", check_names[worst], msg);
	printf(" | sites=%zu up=%zu printers=%zu offline=%zu warning=%zu "
	       "queued=%llu rate_up=%llu rate_down=%llu\n",
	    n, up, pf.printers, pf.offline, pf.warning, pf.queued, pf.rate_up,
	    pf.rate_down);
	for (i = 0; i < n; i++)
		opt_state_free(&st[i]);
	free(st);
	free(before);
	free(asked);
	return worst;
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
