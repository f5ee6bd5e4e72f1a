/*
 * <config>/defaults.conf: the defaults of every site.conf and
 * throttle.conf field, the range listen ports are allocated from, the
 * user tunnels run as, and the name clients print to.  A missing file
 * means the built-in defaults.
 */
#ifndef OPT_DEFAULTS_H
#define OPT_DEFAULTS_H

#include "channel.h"
#include "error.h"
#include "paths.h"
#include "site.h"
#include "throttle.h"

struct opt_defaults {
	struct opt_site site;
	struct opt_throttle throttle;
	int port_lo;
	int port_hi;
	char local_user[OPT_USER_MAX + 1];
	enum opt_channel_mode channel_mode; /* of new channels */
	char public_host[OPT_HOST_MAX + 1]; /* "": this host's FQDN */
};

void opt_defaults_builtin(struct opt_defaults *);
int opt_defaults_load(const struct opt_paths *, struct opt_defaults *,
    struct opt_error *);

#endif
