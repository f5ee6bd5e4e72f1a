/* opt-status --check: one line and an exit status, as Nagios plugins
 * give them. */
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
int
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
