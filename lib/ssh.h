/*
 * SSH pieces that do not depend on the event loop: checking an identity
 * file before libssh2 sees it, host key fingerprints, and the site's
 * known_hosts (check and pin).
 */
#ifndef OPT_SSH_H
#define OPT_SSH_H

#include <libssh2.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define OPT_FP_MAX 64 /* "SHA256:" + 43 characters of base64 */
/* What OpenSSH writes to known_hosts first, so that pins match it. */
#define OPT_HOSTKEY_METHODS                                                    \
	"ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,"                 \
	"ecdsa-sha2-nistp521"
/* libssh2 1.11.0 signs RSA user keys with rsa-sha2-256/512 (RFC 8332). */
#define OPT_LIBSSH2_RSA_SHA2 0x010b00

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

/*
 * The host-key policy of a site's session, applied once the handshake
 * gave the server's key.  pinned_fp is the key taken in memory when
 * known_hosts could not be written (accept-new), shared by the site's
 * sessions.
 */
struct opt_hostkey_policy {
	const char *host;
	int port;
	int check; /* enum opt_hostkey of site.h */
	const char *known_hosts;
	char *pinned_fp; /* OPT_FP_MAX bytes */
};

enum opt_hostkey_verdict {
	OPT_HKV_OK, /* go on to authentication */
	OPT_HKV_FAILED, /* no key, or known_hosts unreadable */
	OPT_HKV_MISMATCH,
	OPT_HKV_UNKNOWN, /* strict, and nothing pinned */
};

/* What happened, for the log: event is NULL when there is nothing to say. */
struct opt_hostkey_report {
	enum opt_hostkey_verdict verdict;
	const char *event;
	const char *type;
	char fp[OPT_FP_MAX], old[OPT_FP_MAX];
	char detail[OPT_ERROR_MAX]; /* an error behind event, or "" */
	char why[OPT_ERROR_MAX + 200]; /* for a verdict other than OK */
};

void opt_hostkey_verify(LIBSSH2_SESSION *, const struct opt_hostkey_policy *,
    struct opt_hostkey_report *);
int opt_identity_check(const char *, struct opt_error *);
bool opt_ssh_rsa_signs(void);
int opt_ssh_prefer_ciphers(LIBSSH2_SESSION *, const char **);
const char *opt_ssh_version(void);
void opt_fingerprint(const unsigned char *, size_t, char *, size_t);
int opt_knownhosts_check(const char *, const char *, int,
    const struct opt_ssh_hostkey *, char *, size_t, struct opt_error *);
int opt_hostkey_fetch(const char *, int, int, struct opt_ssh_hostkey *,
    unsigned char *, size_t, struct opt_error *);
int opt_knownhosts_replace(const char *, const char *, int,
    const struct opt_ssh_hostkey *, struct opt_error *);
int opt_knownhosts_pin(const char *, const char *, int,
    const struct opt_ssh_hostkey *, struct opt_error *);

#endif
