#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "channel.h"
#include "defaults.h"
#include "port.h"
#include "site.h"

/* Every channel of every site; a broken channels.conf stops the count,
 * since a port it names could be given twice. */
int
opt_ports_load(const struct opt_paths *p, struct opt_ports *ports,
    struct opt_error *e)
{
	char(*ids)[OPT_SITE_ID_MAX + 1];
	struct opt_channels cs;
	size_t i, j, n;

	ports->owner = calloc(65536, sizeof(*ports->owner));
	if (ports->owner == NULL)
		return opt_error_errno(e, EX_OSERR, "listing ports");
	if (opt_site_list(p, &ids, &n, e) == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		if (opt_channels_load(p, ids[i], &cs, e) == -1) {
			free(ids);
			goto fail;
		}
		for (j = 0; j < cs.n; j++) {
			struct opt_port_owner *o =
			    &ports->owner[cs.v[j].listen];
			strlcpy(o->site, ids[i], sizeof(o->site));
			o->channel = cs.v[j].id;
		}
		opt_channels_free(&cs);
	}
	free(ids);
	return 0;
fail:
	opt_ports_free(ports);
	return -1;
}

void
opt_ports_free(struct opt_ports *ports)
{
	free(ports->owner);
	ports->owner = NULL;
}

/*
 * 1 when another process holds the port on the bind address, as a test
 * bind shows; 0 when free, or when it cannot tell (no permission for a
 * low port, an address not configured yet): the tunnel will say then.
 */
static int
port_held(const char *bind_addr, int port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1, held;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, bind_addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)port);
		len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, bind_addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)port);
		len = sizeof(*sin6);
	} else {
		return 0;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	/* As the tunnel binds: a port in TIME_WAIT is free to it. */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	held =
	    bind(fd, (struct sockaddr *)&ss, len) == -1 && errno == EADDRINUSE;
	close(fd);
	return held;
}

/* Whether channel (site, id) may listen on port; id 0 for a new one. */
int
opt_port_check(const struct opt_ports *ports, const char *bind_addr, int port,
    const char *site, int id, struct opt_error *e)
{
	const struct opt_port_owner *o = &ports->owner[port];

	if (o->channel != 0 &&
	    !(strcmp(o->site, site) == 0 && o->channel == id))
		return opt_error_set(e, EX_CANTCREAT,
		    "port %d is already channel %d of site %s", port,
		    o->channel, o->site);
	if (o->channel == 0 && port_held(bind_addr, port))
		return opt_error_set(e, EX_CANTCREAT,
		    "port %d is held by another process on %s", port,
		    bind_addr);
	return 0;
}

int
opt_port_allocate(const struct opt_ports *ports, const struct opt_defaults *d,
    const char *bind_addr, int *port, struct opt_error *e)
{
	int p;

	for (p = d->port_lo; p <= d->port_hi; p++) {
		if (ports->owner[p].channel == 0 && !port_held(bind_addr, p)) {
			*port = p;
			return 0;
		}
	}
	return opt_error_set(e, EX_CANTCREAT,
	    "no free port left in port_range %d-%d", d->port_lo, d->port_hi);
}
