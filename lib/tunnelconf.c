/*
 * A tunnel's site files: read at start and again on SIGHUP, where the
 * session is kept unless how to reach the site changed and a broken
 * file changes nothing; which channels listen when; the site's spool,
 * opened once a channel needs it.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "generation.h"
#include "tunnelint.h"

/* The generation of the site's files now, "" if it cannot be known. */
void
tunnel_generation(struct opt_tunnel *t, char *out)
{
	if (opt_generation_of(&t->paths, t->site_id, out, OPT_GENERATION_MAX,
	        NULL) == -1)
		out[0] = '\0';
}

int
tunnel_load_config(struct opt_tunnel *t, struct opt_site *site,
    struct opt_allow *allow, struct opt_channels *cs, struct opt_throttle *th,
    struct opt_error *e)
{
	if (opt_defaults_load(&t->paths, &t->defaults, e) == -1 ||
	    opt_site_load(&t->paths, &t->defaults, t->site_id, site, e) == -1 ||
	    opt_allow_parse(allow, site, e) == -1 ||
	    opt_channels_load(&t->paths, t->site_id, cs, e) == -1)
		return -1;
	if (opt_throttle_load(&t->paths, &t->defaults, t->site_id, th, e) ==
	    -1) {
		opt_channels_free(cs);
		return -1;
	}
	return 0;
}

/* A spool channel listens whenever the process runs and its spool has
 * room; a direct one while the session is up (on). */
void
tunnel_listen_one(struct opt_tunnel *t, struct opt_listener *l, bool on)
{
	if (l->conf.mode == OPT_MODE_SPOOL)
		on = t->spool.dirfd != -1 && !t->spool_full;
	opt_listener_listen(l, on && !t->draining, &t->log);
}

void
tunnel_listen_all(struct opt_tunnel *t, bool on)
{
	struct opt_listener *l;

	for (l = t->listeners; l != NULL; l = l->next)
		tunnel_listen_one(t, l, on);
}

/* The site's spool, once a channel needs it or it holds jobs. */
int
tunnel_open_spool(struct opt_tunnel *t, const struct opt_site *site,
    const struct opt_channels *cs, struct opt_error *e)
{
	struct opt_error ignored;
	char dir[PATH_MAX];
	bool need = false;
	size_t i;

	if (t->spool.dirfd != -1) {
		t->spool.max_bytes =
		    (long long)site->spool_max_mb * 1024 * 1024;
		return 0;
	}
	for (i = 0; i < cs->n; i++)
		if (cs->v[i].mode == OPT_MODE_SPOOL)
			need = true;
	if (!need &&
	    (opt_paths_join(dir, sizeof(dir), &ignored, t->paths.spool,
	         t->site_id, (char *)NULL) == -1 ||
	        access(dir, F_OK) == -1))
		return 0;
	return opt_spool_open(&t->spool, t->paths.spool, t->site_id,
	    t->opts.owner, OPT_SPOOL_WRITER,
	    (long long)site->spool_max_mb * 1024 * 1024, e);
}

static struct opt_listener *
find_listener(const struct opt_tunnel *t, int id)
{
	struct opt_listener *l;

	for (l = t->listeners; l != NULL && l->conf.id != id; l = l->next)
		;
	return l;
}

static bool
connection_changed(const struct opt_site *a, const struct opt_site *b)
{
	return strcmp(a->host, b->host) != 0 || a->port != b->port ||
	    strcmp(a->user, b->user) != 0 ||
	    strcmp(a->identity, b->identity) != 0 ||
	    a->host_key_check != b->host_key_check ||
	    a->compression != b->compression;
}

/* The listeners as channels.conf now says; running jobs keep going. */
static void
update_listeners(struct opt_tunnel *t, const struct opt_channels *cs,
    bool rebind)
{
	struct opt_listener *l, **pp;
	struct opt_error e;
	char q[OPT_ERROR_MAX + 8];
	size_t i;

	for (l = t->listeners; l != NULL; l = l->next)
		l->seen = false;
	for (i = 0; i < cs->n; i++) {
		const struct opt_channel *c = &cs->v[i];

		l = find_listener(t, c->id);
		if (l != NULL &&
		    opt_listen_diff(&l->conf, c, rebind) == OPT_LC_REBIND) {
			close(l->fd);
			l->fd = -1;
			l->listening = false;
			l->paused = OPT_PAUSE_NONE;
		}
		if (l == NULL) {
			if ((l = opt_listener_new(c)) == NULL)
				continue;
			l->next = t->listeners;
			t->listeners = l;
			opt_log(&t->log, OPT_LOG_INFO, "channel-added",
			    "channel=%d listen=%d", c->id, c->listen);
		}
		l->conf = *c;
		l->seen = true;
		if (l->fd == -1 &&
		    opt_listener_bind(l, t->site.bind, &e) == -1) {
			opt_log(&t->log, OPT_LOG_ERROR, "bind-failed",
			    "channel=%d error=%s", c->id,
			    opt_log_quote(q, sizeof(q), e.text));
			opt_state_text(l->last_error, sizeof(l->last_error),
			    e.text);
		}
		tunnel_listen_one(t, l, t->session.phase == OPT_SP_UP);
	}
	for (pp = &t->listeners; (l = *pp) != NULL;) {
		if (l->seen) {
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		opt_forward_detach(&t->fwd, l);
		opt_intake_detach(&t->intakes, l);
		opt_log(&t->log, OPT_LOG_INFO, "channel-removed", "channel=%d",
		    l->conf.id);
		opt_listener_free(l);
	}
}

static void
reload_failed(struct opt_tunnel *t, const struct opt_error *e)
{
	char q[OPT_ERROR_MAX + 8];

	opt_log(&t->log, OPT_LOG_ERROR, "reload-failed", "error=%s",
	    opt_log_quote(q, sizeof(q), e->text));
	opt_state_text(t->st.reload_error, sizeof(t->st.reload_error), e->text);
	tunnel_write_state(t);
}

/*
 * SIGHUP: the site's files again.  The session is kept unless how to
 * reach the site changed.  A broken file changes nothing.
 */
void
tunnel_reload(struct opt_tunnel *t)
{
	struct opt_channels cs;
	struct opt_throttle th;
	struct opt_site site;
	struct opt_allow allow;
	struct opt_error e;
	char q[OPT_ERROR_MAX + 8];
	bool reconnect, rebind;

	t->reloads++;
	if (opt_log_reopen(&t->log, &e) == -1) /* the old file is kept */
		opt_log(&t->log, OPT_LOG_ERROR, "log-reopen-failed", "error=%s",
		    opt_log_quote(q, sizeof(q), e.text));
	/* Before the files are read: an edit after this point is another
	 * generation, whose tool signals again. */
	tunnel_generation(t, t->st.reload_generation);
	t->st.reloads++;
	if (tunnel_load_config(t, &site, &allow, &cs, &th, &e) == -1) {
		reload_failed(t, &e);
		return;
	}
	/* A spool channel needs its spool: none, and nothing changes. */
	if (tunnel_open_spool(t, &site, &cs, &e) == -1) {
		opt_channels_free(&cs);
		reload_failed(t, &e);
		return;
	}
	strlcpy(t->st.generation, t->st.reload_generation,
	    sizeof(t->st.generation));
	t->st.reload_error[0] = '\0';
	reconnect = connection_changed(&t->site, &site);
	rebind = strcmp(t->site.bind, site.bind) != 0;
	t->site = site;
	t->allow = allow;
	t->throttle = th;
	opt_shaper_set(&t->shaper, &t->throttle, opt_clock_ms());
	t->deliver.rescan = true;
	update_listeners(t, &cs, rebind);
	opt_channels_free(&cs);
	opt_log(&t->log, OPT_LOG_INFO, "reloaded", "channels=%u reconnect=%s",
	    opt_listeners_count(t->listeners), reconnect ? "yes" : "no");
	if (t->session.phase == OPT_SP_IDLE) {
		/* Whatever kept it down may be fixed now: try at once. */
		opt_backoff_reset(&t->backoff);
		t->retry_at = opt_clock_ms();
	} else if (reconnect) {
		opt_backoff_reset(&t->backoff);
		tunnel_session_failed(t, "down", "connection settings changed",
		    false);
		t->retry_at = opt_clock_ms();
	}
	tunnel_set_state(t, t->st.state, NULL);
}
