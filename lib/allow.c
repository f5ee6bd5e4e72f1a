#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "allow.h"

/* ADDR or ADDR/BITS; -1 when it is neither. */
int
opt_net_parse(const char *cidr, struct opt_net *n)
{
	char addr[OPT_CIDR_MAX], *end;
	const char *slash = strchr(cidr, '/');
	long bits;

	if (strlcpy(addr, cidr, sizeof(addr)) >= sizeof(addr))
		return -1;
	if (slash != NULL)
		addr[slash - cidr] = '\0';
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, addr, n->addr) == 1)
		n->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, n->addr) == 1)
		n->family = AF_INET6;
	else
		return -1;
	n->bits = n->family == AF_INET ? 32 : 128;
	if (slash == NULL)
		return 0;
	bits = strtol(slash + 1, &end, 10);
	if (slash[1] == '\0' || *end != '\0' || bits < 0 || bits > n->bits)
		return -1;
	n->bits = (int)bits;
	return 0;
}

int
opt_allow_parse(struct opt_allow *a, const struct opt_site *s,
    struct opt_error *e)
{
	size_t i;

	a->n = 0;
	for (i = 0; i < s->nallow && i < OPT_ALLOW_MAX; i++) {
		if (opt_net_parse(s->allow[i], &a->v[a->n]) == -1)
			return opt_error_set(e, EX_CONFIG,
			    "allow: '%s' is not a network", s->allow[i]);
		a->n++;
	}
	return 0;
}

static bool
net_match(const struct opt_net *n, const struct sockaddr_storage *ss)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff};
	const unsigned char *have;
	int bits, i;

	if (ss->ss_family == AF_INET) {
		if (n->family != AF_INET)
			return false;
		have = (const unsigned char *)&((const struct sockaddr_in *)ss)
		           ->sin_addr;
	} else if (ss->ss_family == AF_INET6) {
		have = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
		/* An IPv4 client of a dual-stack socket. */
		if (n->family == AF_INET && memcmp(have, mapped, 12) == 0)
			have += 12;
		else if (n->family != AF_INET6)
			return false;
	} else {
		return false;
	}
	for (i = 0, bits = n->bits; bits > 0; i++, bits -= 8) {
		unsigned char mask =
		    bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));
		if ((have[i] & mask) != (n->addr[i] & mask))
			return false;
	}
	return true;
}

bool
opt_allow_match(const struct opt_allow *a, const struct sockaddr_storage *ss)
{
	size_t i;

	if (a->n == 0)
		return true;
	for (i = 0; i < a->n; i++)
		if (net_match(&a->v[i], ss))
			return true;
	return false;
}

void
opt_peer_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		port = ntohs(s->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		port = ntohs(s->sin6_port);
	}
	snprintf(buf, len, "%s:%d", a, port);
}
