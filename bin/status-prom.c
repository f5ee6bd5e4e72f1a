/* opt-status --prometheus: the text format of Prometheus, one sample a
 * line. */
#include <errno.h>
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
#include "clock.h"
#include "control.h"
#include "site.h"
#include "status.h"

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
void
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
