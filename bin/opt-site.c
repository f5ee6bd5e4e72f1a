/*
 * opt-site: add, remove, list, show and change sites.
 *
 * Every value from the command line goes through lib/valid.c before it
 * reaches a path or a file; edits hold the config lock and replace files
 * atomically, so a failed edit leaves the old files as they were.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "channel.h"
#include "cli.h"
#include "conf.h"
#include "defaults.h"
#include "legacy.h"
#include "lock.h"
#include "pidfile.h"
#include "port.h"
#include "site.h"
#include "ssh.h"
#include "throttle.h"

#define STOP_WAIT_MS 35000 /* the tunnel drains jobs for up to 30 s */

enum {
	OPT_PORT = CLI_OPT_FIRST_TOOL,
	OPT_USER,
	OPT_IDENTITY,
	OPT_DESCRIPTION,
	OPT_HOST_KEY_CHECK,
	OPT_NO_COMPRESSION,
	OPT_FORCE,
	OPT_FINGERPRINT,
	OPT_PARTIAL,
};

static const struct option longopts[] = {
    CLI_LONG_OPTS,
    {"port", required_argument, NULL, OPT_PORT},
    {"user", required_argument, NULL, OPT_USER},
    {"identity", required_argument, NULL, OPT_IDENTITY},
    {"description", required_argument, NULL, OPT_DESCRIPTION},
    {"host-key-check", required_argument, NULL, OPT_HOST_KEY_CHECK},
    {"no-compression", no_argument, NULL, OPT_NO_COMPRESSION},
    {"force", no_argument, NULL, OPT_FORCE},
    {"fingerprint", required_argument, NULL, OPT_FINGERPRINT},
    {"partial", no_argument, NULL, OPT_PARTIAL},
    {NULL, 0, NULL, 0},
};

/* Options of `add`, as site.conf keys and values, in command-line order. */
struct add_opts {
	size_t n;
	struct {
		const char *flag;
		const char *key;
		const char *value;
	} v[16];
};

static struct cli cli;
/* The options given before the command: each is one command's. */
static struct add_opts add_opts;
static bool remove_force, import_partial;
static const char *trust_fingerprint;

static void
usage(void)
{
	printf("usage: opt-site [-hqvV] [-C DIR] COMMAND ...\n"
	       "  opt-site add SITE HOST [--port N] [--user U] [--identity F]\n"
	       "           [--description T] [--host-key-check MODE] "
	       "[--no-compression]\n"
	       "  opt-site remove SITE [--force]\n"
	       "  opt-site list [-H | --json]\n"
	       "  opt-site show SITE [-H | --json]\n"
	       "  opt-site set SITE KEY=VALUE ...\n"
	       "  opt-site trust SITE [--fingerprint SHA256:...]\n"
	       "  opt-site import [--partial] [FILE ...]\n");
}

static int
cmd_add(int argc, char **argv)
{
	const struct add_opts *o = &add_opts;
	struct opt_defaults d;
	struct opt_site s;
	struct opt_error e;
	struct opt_lock l;
	size_t i;

	if (argc != 3)
		cli_usage_error(&cli, "add needs SITE and HOST");
	cli_site_id(&cli, argv[1]);
	opt_site_builtin(&s);
	if (opt_site_set(&s, "host", argv[2], &e) == -1)
		cli_fail(&cli, argv[1], &e);
	for (i = 0; i < o->n; i++)
		if (opt_site_set(&s, o->v[i].key, o->v[i].value, &e) == -1)
			cli_fail(&cli, argv[1], &e);

	cli_paths(&cli);
	cli_defaults(&cli, &d);
	s = d.site;
	strlcpy(s.id, argv[1], sizeof(s.id));
	opt_site_set(&s, "host", argv[2], NULL);
	for (i = 0; i < o->n; i++)
		opt_site_set(&s, o->v[i].key, o->v[i].value, NULL);

	if (access(cli.paths.config, F_OK) == -1 &&
	    opt_dir_make(cli.paths.config, &e) == -1)
		cli_fail(&cli, NULL, &e);
	cli_lock(&cli, &l);
	if (opt_site_create(&cli.paths, &s, &d.throttle, NULL, &e) == -1)
		cli_fail(&cli, s.id, &e);
	opt_lock_release(&l);
	if (!cli.quiet)
		printf("%s: added, %s@%s port %d\n", s.id, s.user, s.host,
		    s.port);
	return EX_OK;
}

/* What the site's tunnel left in the run directory, removed through the
 * checked directory (cli_run_dir): nothing is removed from a directory
 * that another user may change. */
static void
remove_run_files(const char *site, const char *pidfile, const char *state)
{
	struct opt_owner owner;
	struct opt_error e;
	pid_t pid;
	int fd;

	if ((fd = cli_run_dir(&cli, &owner, false, &e)) == -1) {
		if (errno != ENOENT)
			cli_warn(&cli, site, &e);
		return;
	}
	if (opt_pidfile_probe(pidfile, &pid) == OPT_PROC_STALE)
		opt_safefile_unlink(fd, pidfile);
	opt_safefile_unlink(fd, state);
	close(fd);
}

static int
cmd_remove(int argc, char **argv)
{
	bool force = remove_force;
	char pidfile[PATH_MAX], state[PATH_MAX];
	const char *site;
	struct opt_error e;
	struct opt_lock l;
	pid_t pid;

	if (argc != 2)
		cli_usage_error(&cli, "remove needs SITE");
	site = argv[1];
	cli_site_id(&cli, site);
	cli_paths(&cli);
	cli_site_exists(&cli, site);
	if (opt_paths_run(&cli.paths, site, ".pid", pidfile, sizeof(pidfile),
	        &e) == -1 ||
	    opt_paths_run(&cli.paths, site, ".state", state, sizeof(state),
	        &e) == -1)
		cli_fail(&cli, site, &e);
	if (opt_pidfile_probe(pidfile, &pid) == OPT_PROC_RUNNING) {
		if (!force) {
			opt_error_set(&e, EX_TEMPFAIL,
			    "tunnel is running (pid %ld); stop it first with "
			    "'opt-tunnel stop %s', or use --force",
			    (long)pid, site);
			cli_fail(&cli, site, &e);
		}
		if (opt_pidfile_stop(pidfile, STOP_WAIT_MS, &e) == -1)
			cli_fail(&cli, site, &e);
	}
	cli_lock(&cli, &l);
	if (opt_site_remove(&cli.paths, site, &e) == -1)
		cli_fail(&cli, site, &e);
	opt_lock_release(&l);
	remove_run_files(site, pidfile, state);
	if (!cli.quiet)
		printf("%s: removed\n", site);
	return EX_OK;
}

static const struct opt_column site_cols[] = {
    {"site", "SITE", 0},
    {"host", "HOST", 0},
    {"port", "PORT", OPT_COL_RIGHT},
    {"user", "USER", 0},
    {"channels", "CHANNELS", OPT_COL_RIGHT},
    {"description", "DESCRIPTION", 0},
    {"identity", "IDENTITY", OPT_COL_JSON},
    {"host_key_check", "HOST_KEY_CHECK", OPT_COL_JSON},
    {"compression", "COMPRESSION", OPT_COL_JSON},
    {"keepalive_interval", "KEEPALIVE_INTERVAL", OPT_COL_JSON},
    {"keepalive_count", "KEEPALIVE_COUNT", OPT_COL_JSON},
    {"bind", "BIND", OPT_COL_JSON},
    {"allow", "ALLOW", OPT_COL_JSON},
    {"max_jobs", "MAX_JOBS", OPT_COL_JSON},
    {"spool_max_mb", "SPOOL_MAX_MB", OPT_COL_JSON},
    {"spool_keep", "SPOOL_KEEP", OPT_COL_JSON},
    {"spool_max_age", "SPOOL_MAX_AGE", OPT_COL_JSON},
    {"spool_warn_age", "SPOOL_WARN_AGE", OPT_COL_JSON},
    {"probe_interval", "PROBE_INTERVAL", OPT_COL_JSON},
    {"printer_down_critical", "PRINTER_DOWN_CRITICAL", OPT_COL_JSON},
    {"throttle_enabled", "THROTTLE", OPT_COL_JSON},
    {"throttle_up", "UP", OPT_COL_JSON},
    {"throttle_down", "DOWN", OPT_COL_JSON},
};
#define NSITE_COLS (sizeof(site_cols) / sizeof(site_cols[0]))

/* One row of a site: its site.conf, channel count and limits. */
static int
site_row(struct opt_table *t, const struct opt_defaults *d, const char *id,
    struct opt_error *e)
{
	char allow[OPT_ALLOW_MAX * OPT_CIDR_MAX], age[OPT_DURATION_BUF];
	struct opt_channels cs;
	struct opt_throttle th;
	struct opt_site s;
	size_t nchannels;

	if (opt_site_load(&cli.paths, d, id, &s, e) == -1 ||
	    opt_channels_load(&cli.paths, id, &cs, e) == -1)
		return -1;
	nchannels = cs.n;
	opt_channels_free(&cs);
	if (opt_throttle_load(&cli.paths, d, id, &th, e) == -1)
		return -1;
	if (opt_table_row(t) == -1)
		return opt_error_set(e, EX_OSERR, "out of memory");
	opt_table_str(t, "site", s.id);
	opt_table_str(t, "host", s.host);
	opt_table_int(t, "port", s.port);
	opt_table_str(t, "user", s.user);
	opt_table_int(t, "channels", (long long)nchannels);
	opt_table_str(t, "description", s.description);
	opt_table_str(t, "identity", s.identity);
	opt_table_str(t, "host_key_check", opt_hostkey_name(s.host_key_check));
	opt_table_bool(t, "compression", s.compression);
	opt_table_int(t, "keepalive_interval", s.keepalive_interval);
	opt_table_int(t, "keepalive_count", s.keepalive_count);
	opt_table_str(t, "bind", s.bind);
	opt_site_get(&s, "allow", allow, sizeof(allow));
	opt_table_list(t, "allow", allow);
	opt_table_int(t, "max_jobs", s.max_jobs);
	opt_table_int(t, "spool_max_mb", s.spool_max_mb);
	opt_table_int(t, "spool_keep", s.spool_keep);
	/* as site.conf and `set` have them: "7d" */
	opt_table_str(t, "spool_max_age",
	    opt_duration_str(s.spool_max_age, age, sizeof(age)));
	opt_table_str(t, "spool_warn_age",
	    opt_duration_str(s.spool_warn_age, age, sizeof(age)));
	opt_table_str(t, "probe_interval",
	    opt_duration_str(s.probe_interval, age, sizeof(age)));
	opt_table_str(t, "printer_down_critical",
	    opt_duration_str(s.printer_down_critical, age, sizeof(age)));
	opt_table_bool(t, "throttle_enabled", th.enabled);
	opt_table_int(t, "throttle_up", th.up);
	opt_table_int(t, "throttle_down", th.down);
	return 0;
}

/* A broken site is reported and skipped; the others are still listed. */
static int
cmd_list(int argc, char **argv)
{
	(void)argv;
	struct opt_defaults d;

	if (argc != 1)
		cli_usage_error(&cli, "list takes no SITE; see 'show'");
	cli_paths(&cli);
	cli_defaults(&cli, &d);
	return cli_flush(&cli,
	    cli_site_table(&cli, site_cols, NSITE_COLS, NULL, site_row, &d));
}

static int
cmd_show(int argc, char **argv)
{
	struct opt_defaults d;
	struct opt_table t;
	struct opt_error e;
	int status = EX_OK;

	if (argc != 2)
		cli_usage_error(&cli, "show needs SITE");
	cli_site_id(&cli, argv[1]);
	cli_paths(&cli);
	cli_defaults(&cli, &d);
	opt_table_init(&t, site_cols, NSITE_COLS);
	if (site_row(&t, &d, argv[1], &e) == -1)
		cli_fail(&cli, argv[1], &e);
	if (opt_table_print_record(&t, 0, stdout, cli.format) == -1)
		status = EX_IOERR;
	opt_table_free(&t);
	return cli_flush(&cli, status);
}

static int
cmd_set(int argc, char **argv)
{
	struct opt_defaults d;
	struct opt_site s;
	struct opt_error e;
	struct opt_lock l;
	const char *site;
	int i, status;

	if (argc < 3)
		cli_usage_error(&cli, "set needs SITE and KEY=VALUE");
	site = argv[1];
	cli_site_id(&cli, site);
	cli_split_pairs(&cli, argc, argv, 2);
	/* Checked before the lock: bad input never waits nor writes. */
	opt_site_builtin(&s);
	for (i = 2; i < argc; i++)
		if (opt_site_set(&s, argv[i], cli_value(argv[i]), &e) == -1)
			cli_fail(&cli, site, &e);

	cli_site_lock(&cli, site, &d, &l);
	if (opt_site_load(&cli.paths, &d, site, &s, &e) == -1)
		cli_fail(&cli, site, &e);
	for (i = 2; i < argc; i++)
		opt_site_set(&s, argv[i], cli_value(argv[i]), NULL);
	if (opt_site_save(&cli.paths, &s, &e) == -1)
		cli_fail(&cli, site, &e);
	opt_lock_release(&l);
	status = cli_reload_tunnel(&cli, site);
	if (cli.verbose)
		for (i = 2; i < argc; i++)
			printf("%s: %s = %s\n", site, argv[i],
			    cli_value(argv[i]));
	return cli_flush(&cli, status);
}

/*
 * Shows the site's host key and pins it.  A key different from the
 * pinned one is replaced only when --fingerprint names it: the operator
 * has checked it with the site.
 */
static int
cmd_trust(int argc, char **argv)
{
	const char *want = trust_fingerprint;
	char path[PATH_MAX], fp[OPT_FP_MAX], old[OPT_FP_MAX];
	unsigned char blob[4096];
	struct opt_ssh_hostkey k;
	struct opt_defaults d;
	struct opt_site s;
	struct opt_error e;
	struct opt_lock l;
	const char *site;
	int r, status;

	if (argc != 2)
		cli_usage_error(&cli, "trust needs SITE");
	site = argv[1];
	cli_site_id(&cli, site);
	if (want != NULL && strncmp(want, "SHA256:", 7) != 0) {
		char q[OPT_QUOTE_BUF];
		opt_error_set(&e, EX_DATAERR,
		    "fingerprint '%s' is not SHA256:... (as ssh-keygen -l "
		    "shows it)",
		    opt_quote(q, sizeof(q), want));
		cli_fail(&cli, site, &e);
	}
	cli_paths(&cli);
	cli_defaults(&cli, &d);
	cli_site_exists(&cli, site);
	if (opt_site_load(&cli.paths, &d, site, &s, &e) == -1 ||
	    opt_paths_site(&cli.paths, site, "known_hosts", path, sizeof(path),
	        &e) == -1 ||
	    opt_hostkey_fetch(s.host, s.port, 10000, &k, blob, sizeof(blob),
	        &e) == -1)
		cli_fail(&cli, site, &e);
	opt_fingerprint(k.blob, k.len, fp, sizeof(fp));
	if (!cli.quiet)
		printf("%s: %s port %d offers %s %s\n", site, s.host, s.port,
		    k.name, fp);
	if (want != NULL && strcmp(want, fp) != 0) {
		opt_error_set(&e, EX_DATAERR,
		    "the host key is %s, not %s; nothing pinned", fp, want);
		cli_fail(&cli, site, &e);
	}
	cli_lock(&cli, &l);
	r = opt_knownhosts_check(path, s.host, s.port, &k, old, sizeof(old),
	    &e);
	if (r == -1)
		cli_fail(&cli, site, &e);
	if (r == OPT_HK_MATCH) {
		if (!cli.quiet)
			printf("%s: already pinned\n", site);
		return EX_OK;
	}
	if (r == OPT_HK_MISMATCH && want == NULL) {
		opt_error_set(&e, EX_DATAERR,
		    "the host key changed: pinned %s, offered %s; if the site "
		    "really has a new key, run 'opt-site trust %s "
		    "--fingerprint %s'",
		    old[0] ? old : "another key", fp, site, fp);
		cli_fail(&cli, site, &e);
	}
	if ((r == OPT_HK_MISMATCH
	            ? opt_knownhosts_replace(path, s.host, s.port, &k, &e)
	            : opt_knownhosts_pin(path, s.host, s.port, &k, &e)) == -1)
		cli_fail(&cli, site, &e);
	opt_lock_release(&l);
	status = cli_reload_tunnel(&cli, site);
	if (!cli.quiet)
		printf("%s: pinned in %s\n", site, path);
	return status;
}

/* A file's text, whole; a mast config is small. */
static char *
slurp(const char *path, struct opt_error *e)
{
	char *buf, q[OPT_QUOTE_BUF];
	size_t len = 0;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		opt_error_errno(e, 0, "cannot read %s",
		    opt_quote_path(q, sizeof(q), path));
		return NULL;
	}
	if ((buf = malloc(1 << 20)) == NULL) {
		fclose(f);
		opt_error_set(e, EX_OSERR, "out of memory");
		return NULL;
	}
	len = fread(buf, 1, (1 << 20) - 1, f);
	if (ferror(f) || !feof(f) || memchr(buf, '\0', len) != NULL) {
		opt_error_set(e, EX_DATAERR,
		    "%s: not a mast configuration (binary, or over 1 MiB)",
		    opt_quote_path(q, sizeof(q), path));
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* mast's files directly in the config dir: regular, and setting
 * RemoteHost.  One that cannot be read as text is named on stderr, as it
 * may be a damaged mast file.  Returns how many were found. */
static size_t
legacy_files(char ***out)
{
	struct dirent *de;
	char **v = NULL, **nv, path[PATH_MAX], *text;
	size_t n = 0;
	DIR *dir;
	struct stat st;
	struct opt_error e;

	*out = NULL;
	if ((dir = opendir(cli.paths.config)) == NULL)
		return 0;
	while ((de = readdir(dir)) != NULL) {
		/* mast's own template is no site: mast skipped it too. */
		if (de->d_name[0] == '.' ||
		    strcmp(de->d_name, "defaults.conf") == 0 ||
		    strcmp(de->d_name, "template") == 0 ||
		    opt_paths_join(path, sizeof(path), NULL, cli.paths.config,
		        de->d_name, (char *)NULL) == -1 ||
		    lstat(path, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		if ((text = slurp(path, &e)) == NULL) {
			strlcat(e.text, "; left alone", sizeof(e.text));
			cli_warn(&cli, NULL, &e);
			continue;
		}
		if (opt_legacy_looks_like(text) &&
		    (nv = reallocarray(v, n + 2, sizeof(*v))) != NULL) {
			v = nv;
			v[n++] = strdup(path);
			v[n] = NULL;
		}
		free(text);
	}
	closedir(dir);
	*out = v;
	return n;
}

/* An RSA identity from mast cannot log in to current OpenSSH with a
 * libssh2 older than 1.11 (opt_identity_check refuses it): the site gets
 * the mast ed25519 key instead, and the operator is told how to install
 * it there.  With 1.11 and later the site keeps mast's key. */
static bool
replace_rsa(struct opt_site *s, const struct opt_defaults *d)
{
	struct opt_error e;

	if (opt_identity_check(s->identity, &e) == 0 ||
	    strstr(e.text, "RSA") == NULL)
		return false;
	strlcpy(s->identity, d->site.identity, sizeof(s->identity));
	return true;
}

static int
import_one(const char *path, const struct opt_defaults *d, unsigned flags)
{
	char id[OPT_SITE_ID_MAX + 1], old[PATH_MAX], q[OPT_QUOTE_BUF];
	char skipped[64] = "";
	const char *shown = opt_quote_path(q, sizeof(q), path);
	struct opt_legacy lg;
	struct opt_ports ports;
	struct opt_error e;
	struct opt_lock l;
	char *text;
	bool rsa;
	size_t i;

	if (opt_legacy_site_id(path, id, sizeof(id), &e) == -1 ||
	    (text = slurp(path, &e)) == NULL)
		goto fail;
	if (opt_legacy_parse(shown, id, text, flags, d, &lg, &e) == -1) {
		free(text);
		goto fail;
	}
	free(text);
	strlcpy(old, lg.site.identity, sizeof(old));
	rsa = replace_rsa(&lg.site, d);

	if (access(cli.paths.config, F_OK) == -1 &&
	    opt_dir_make(cli.paths.config, &e) == -1)
		goto fail;
	cli_lock(&cli, &l);
	if (opt_ports_load(&cli.paths, &ports, &e) == -1)
		goto fail_locked;
	for (i = 0; i < lg.channels.n; i++) {
		if (opt_port_check(&ports, lg.site.bind,
		        lg.channels.v[i].listen, id, 0, &e) == -1) {
			opt_ports_free(&ports);
			goto fail_locked;
		}
	}
	opt_ports_free(&ports);
	if (opt_site_create(&cli.paths, &lg.site, &lg.throttle, &lg.channels,
	        &e) == -1)
		goto fail_locked;
	opt_lock_release(&l);

	for (i = 0; i < lg.nskipped; i++) {
		opt_error_set(&e, EX_DATAERR, "%s; skipped",
		    lg.skipped[i].text);
		cli_warn(&cli, id, &e);
	}
	if (lg.nskipped > 0)
		snprintf(skipped, sizeof(skipped), ", %zu rule%s skipped",
		    lg.nskipped, lg.nskipped == 1 ? "" : "s");
	if (!cli.quiet)
		printf("%s: imported from %s: %s port %d, %zu channel%s, "
		       "throttle %s%s\n",
		    id, shown, lg.site.host, lg.site.port, lg.channels.n,
		    lg.channels.n == 1 ? "" : "s",
		    lg.throttle.enabled ? "on" : "off", skipped);
	if (rsa)
		printf("%s: mast's key %s is RSA, which cannot log in to "
		       "OpenSSH 8.8 or later with this libssh2; the site now "
		       "uses %s: install it there with 'opt-install-key %s'\n",
		    id, old, lg.site.identity, id);
	opt_legacy_free(&lg);
	return EX_OK;
fail_locked:
	opt_lock_release(&l);
	opt_legacy_free(&lg);
	opt_error_prefix(&e, "%s: ", shown);
fail:
	cli_warn(&cli, NULL, &e);
	return e.status;
}

/*
 * A mast file in the config dir goes to .mast-legacy/ first: its name
 * is the name the site's directory takes.  It comes back if the import
 * fails.
 */
static int
import_from_config(const char *path, const struct opt_defaults *d,
    unsigned flags)
{
	char legacy[PATH_MAX], dst[PATH_MAX];
	const char *base = strrchr(path, '/');
	char q[OPT_QUOTE_BUF];
	struct opt_error e;
	int r;

	errno = 0;
	if (opt_paths_join(legacy, sizeof(legacy), &e, cli.paths.config,
	        ".mast-legacy", (char *)NULL) == -1 ||
	    opt_dir_make(legacy, &e) == -1 ||
	    opt_paths_join(dst, sizeof(dst), &e, legacy, base ? base + 1 : path,
	        (char *)NULL) == -1) {
		cli_warn(&cli, NULL, &e);
		return e.status;
	}
	if (access(dst, F_OK) == 0)
		errno = EEXIST;
	if (errno == EEXIST || rename(path, dst) == -1) {
		opt_error_errno(&e, 0, "cannot move %s to %s",
		    opt_quote_path(q, sizeof(q), path), legacy);
		cli_warn(&cli, NULL, &e);
		return e.status;
	}
	if ((r = import_one(dst, d, flags)) != EX_OK)
		(void)rename(dst, path);
	return r;
}

/*
 * Imports mast's files, each into a site of its name, all or nothing
 * per file.  Without FILE: the mast files lying in the config dir, each
 * moved to .mast-legacy/ once imported.
 */
static int
cmd_import(int argc, char **argv)
{
	unsigned flags = import_partial ? OPT_LEGACY_PARTIAL : 0;
	struct opt_defaults d;
	char **files = NULL;
	int status = EX_OK, r, i;
	size_t n;

	cli_paths(&cli);
	cli_defaults(&cli, &d);
	if (argc > 1) {
		for (i = 1; i < argc; i++)
			if ((r = import_one(argv[i], &d, flags)) != EX_OK &&
			    status == EX_OK)
				status = r;
		return status;
	}
	if ((n = legacy_files(&files)) == 0) {
		if (!cli.quiet)
			printf("no mast configuration in %s\n",
			    cli.paths.config);
		return EX_OK;
	}
	for (i = 0; (size_t)i < n; i++) {
		if ((r = import_from_config(files[i], &d, flags)) != EX_OK &&
		    status == EX_OK)
			status = r;
		free(files[i]);
	}
	free(files);
	return status;
}

/* The bits of the options, in the order of flags[]. */
#define ADD_OPTS 0x3f
#define FORCE 0x40
#define FINGERPRINT 0x80
#define PARTIAL 0x100

static const struct cli_cmd cmds[] = {
    {"add", cmd_add, ADD_OPTS, false},
    {"remove", cmd_remove, FORCE, false},
    {"list", cmd_list, 0, true},
    {"show", cmd_show, 0, true},
    {"set", cmd_set, 0, false},
    {"trust", cmd_trust, FINGERPRINT, false},
    {"import", cmd_import, PARTIAL, false},
};
static const char *const flags[] = {"--port", "--user", "--identity",
    "--description", "--host-key-check", "--no-compression", "--force",
    "--fingerprint", "--partial"};

int
main(int argc, char **argv)
{
	struct add_opts *add = &add_opts;
	unsigned given = 0;
	int ch;

	cli_init(&cli, "opt-site");
	while ((ch = cli_getopt(&cli, argc, argv, longopts, usage)) != -1) {
		given |= 1u << (ch - OPT_PORT);
		if (ch == OPT_FORCE) {
			remove_force = true;
			continue;
		}
		if (ch == OPT_FINGERPRINT) {
			trust_fingerprint = optarg;
			continue;
		}
		if (ch == OPT_PARTIAL) {
			import_partial = true;
			continue;
		}
		if (add->n == sizeof(add->v) / sizeof(add->v[0]))
			cli_usage_error(&cli, "too many options");
		add->v[add->n].flag = flags[ch - OPT_PORT];
		add->v[add->n].value = optarg;
		switch (ch) {
		case OPT_PORT:
			add->v[add->n].key = "port";
			break;
		case OPT_USER:
			add->v[add->n].key = "user";
			break;
		case OPT_IDENTITY:
			add->v[add->n].key = "identity";
			break;
		case OPT_DESCRIPTION:
			add->v[add->n].key = "description";
			break;
		case OPT_HOST_KEY_CHECK:
			add->v[add->n].key = "host_key_check";
			break;
		case OPT_NO_COMPRESSION:
			add->v[add->n].key = "compression";
			add->v[add->n].value = "false";
			break;
		}
		add->n++;
	}
	return cli_run(&cli, cmds, sizeof(cmds) / sizeof(cmds[0]), flags, given,
	    argc - optind, argv + optind);
}
