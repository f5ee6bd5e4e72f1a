/*
 * Who may connect to a site's channel ports: the site's `allow` list of
 * networks (CIDR), parsed once when the site is loaded, and matched on
 * every accepted connection.  An empty list lets anyone in.
 */
#ifndef OPT_ALLOW_H
#define OPT_ALLOW_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "site.h"

struct opt_net {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int bits;
};

struct opt_allow {
	size_t n;
	struct opt_net v[OPT_ALLOW_MAX];
};

int opt_net_parse(const char *, struct opt_net *);
int opt_allow_parse(struct opt_allow *, const struct opt_site *,
    struct opt_error *);
bool opt_allow_match(const struct opt_allow *, const struct sockaddr_storage *);
void opt_peer_text(const struct sockaddr_storage *, char *, size_t);

#endif
