#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "paths.h"
#include "valid.h"

#ifndef OPT_CONFIG_DIR
#define OPT_CONFIG_DIR "/etc/mast"
#endif
#ifndef OPT_RUN_DIR
#define OPT_RUN_DIR "/run/mast"
#endif
#ifndef OPT_LOG_DIR
#define OPT_LOG_DIR "/var/log/mast"
#endif
#ifndef OPT_SPOOL_DIR
#define OPT_SPOOL_DIR "/var/spool/mast"
#endif

/* Joins path parts with '/'; refuses (rather than cuts) a path too long. */
int
opt_paths_join(char *buf, size_t len, struct opt_error *e, const char *first,
    ...)
{
	const char *part;
	va_list ap;

	buf[0] = '\0';
	va_start(ap, first);
	for (part = first; part != NULL; part = va_arg(ap, const char *)) {
		if ((buf[0] != '\0' && strlcat(buf, "/", len) >= len) ||
		    strlcat(buf, part, len) >= len) {
			va_end(ap);
			return opt_error_set(e, EX_USAGE,
			    "path %s/...: name too long", buf);
		}
	}
	va_end(ap);
	return 0;
}

static int
pick(char *buf, size_t len, const char *flag, const char *env,
    const char *builtin, struct opt_error *e)
{
	const char *v = flag;

	if (flag != NULL && *flag == '\0')
		return opt_error_set(e, EX_USAGE, "-C: the directory is empty");
	if (v == NULL)
		v = getenv(env);
	if (v == NULL || *v == '\0')
		v = builtin;
	if (opt_valid_path("directory", v, e) == -1) {
		opt_error_prefix(e, "%s: ", flag ? "-C" : env);
		e->status = EX_USAGE;
		return -1;
	}
	if (strlcpy(buf, v, len) >= len)
		return opt_error_set(e, EX_USAGE, "%s: path too long", env);
	return 0;
}

int
opt_paths_init(struct opt_paths *p, const char *config_flag,
    struct opt_error *e)
{
	if (pick(p->config, sizeof(p->config), config_flag, "MAST_CONFIG_DIR",
	        OPT_CONFIG_DIR, e) == -1 ||
	    pick(p->run, sizeof(p->run), NULL, "MAST_RUN_DIR", OPT_RUN_DIR,
	        e) == -1 ||
	    pick(p->log, sizeof(p->log), NULL, "MAST_LOG_DIR", OPT_LOG_DIR,
	        e) == -1 ||
	    pick(p->spool, sizeof(p->spool), NULL, "MAST_SPOOL_DIR",
	        OPT_SPOOL_DIR, e) == -1)
		return -1;
	return 0;
}

/* <config>/<site>[/<file>]; the site id must be valid before it is used. */
int
opt_paths_site(const struct opt_paths *p, const char *site, const char *file,
    char *buf, size_t len, struct opt_error *e)
{
	if (opt_valid_site_id(site, e) == -1)
		return -1;
	return opt_paths_join(buf, len, e, p->config, site, file, (char *)NULL);
}

/* <run>/<site><suffix>, like /run/mast/nautilus.pid. */
int
opt_paths_run(const struct opt_paths *p, const char *site, const char *suffix,
    char *buf, size_t len, struct opt_error *e)
{
	char name[OPT_SITE_ID_MAX + 16];

	if (opt_valid_site_id(site, e) == -1)
		return -1;
	snprintf(name, sizeof(name), "%s%s", site, suffix);
	return opt_paths_join(buf, len, e, p->run, name, (char *)NULL);
}
