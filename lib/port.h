/*
 * Listen ports: which are taken by a channel of any site, which another
 * process holds, and the lowest free one of port_range.  Callers hold
 * the config lock, so two allocations can never pick the same port.
 */
#ifndef OPT_PORT_H
#define OPT_PORT_H

#include "error.h"
#include "paths.h"
#include "valid.h"

struct opt_defaults;

struct opt_port_owner {
	char site[OPT_SITE_ID_MAX + 1];
	int channel;
};

struct opt_ports {
	struct opt_port_owner *owner; /* indexed by port; channel 0 = free */
};

int opt_ports_load(const struct opt_paths *, struct opt_ports *,
    struct opt_error *);
void opt_ports_free(struct opt_ports *);
int opt_port_check(const struct opt_ports *, const char *, int, const char *,
    int, struct opt_error *);
int opt_port_allocate(const struct opt_ports *, const struct opt_defaults *,
    const char *, int *, struct opt_error *);

#endif
