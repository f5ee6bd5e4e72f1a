/*
 * SSH pieces that do not depend on the event loop: checking an identity
 * file before libssh2 sees it, host key fingerprints, and the site's
 * known_hosts (check and pin).
 */
#ifndef OPT_SSH_H
#define OPT_SSH_H

#include <libssh2.h>
#include <stddef.h>

#include "error.h"

#define OPT_FP_MAX 64 /* "SHA256:" + 43 characters of base64 */
/* What OpenSSH writes to known_hosts first, so that pins match it. */
#define OPT_HOSTKEY_METHODS                                                    \
	"ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,"                 \
	"ecdsa-sha2-nistp521"

enum opt_hostkey_result {
	OPT_HK_MATCH,
	OPT_HK_NOTFOUND,
	OPT_HK_MISMATCH,
};

struct opt_ssh_hostkey {
	int type; /* LIBSSH2_HOSTKEY_TYPE_* */
	const char *name;
	const unsigned char *blob;
	size_t len;
};

int opt_identity_check(const char *, struct opt_error *);
void opt_fingerprint(const unsigned char *, size_t, char *, size_t);
int opt_hostkey_get(LIBSSH2_SESSION *, struct opt_ssh_hostkey *);
int opt_knownhosts_check(const char *, const char *, int,
    const struct opt_ssh_hostkey *, char *, size_t, struct opt_error *);
int opt_hostkey_fetch(const char *, int, int, struct opt_ssh_hostkey *,
    unsigned char *, size_t, struct opt_error *);
int opt_knownhosts_replace(const char *, const char *, int,
    const struct opt_ssh_hostkey *, struct opt_error *);
int opt_knownhosts_pin(const char *, const char *, int,
    const struct opt_ssh_hostkey *, struct opt_error *);

#endif
