/*
 * Security rules of this file: a private key readable by group or
 * others is refused, like ssh does; its contents are only inspected for
 * its type and never logged or copied.  A host key is accepted only when
 * it matches known_hosts, or when none is pinned yet and the site says
 * accept-new; a different key is always refused.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netdb.h>
#include <poll.h>
#include <resolv.h>
#include <sha2.h>
#include <stdbool.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "site.h"
#include "ssh.h"

#define KEY_FILE_MAX (64 * 1024)

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Reads an SSH string at *off: its bytes in (*s, *n). */
static int
sshstr(const unsigned char *b, size_t len, size_t *off, const char **s,
    size_t *n)
{
	uint32_t l;

	if (len - *off < 4)
		return -1;
	l = be32(b + *off);
	if (l > len - *off - 4)
		return -1;
	*s = (const char *)b + *off + 4;
	*n = l;
	*off += 4 + l;
	return 0;
}

/*
 * Whether the libssh2 this process runs with signs RSA user keys with
 * rsa-sha2-256/512, as OpenSSH 8.8 and later require.  Asked of the
 * library at run time, not of the header it was built with: the signing
 * is libssh2's, and a binary built on Debian 12 keeps running with
 * Debian 13's libssh2 (libssh2-1t64 provides libssh2-1) during an
 * upgrade.  A binary built with 1.11.1 does not start with 1.10 at all.
 */
bool
opt_ssh_rsa_signs(void)
{
	return libssh2_version(OPT_LIBSSH2_RSA_SHA2) != NULL;
}

/*
 * The ciphers and MACs a tunnel offers, best first, chosen by
 * bench/results/ciphers-debian12.md and ciphers-debian13.md (the
 * figures and the choice are in bench/LIMITS.md).  Asked of the library
 * at run time, as for RSA keys.  After the chosen ones come the others
 * libssh2 and OpenSSH share, so that a site offering only older ones
 * still connects, AES-CBC last; libssh2's arcfour, blowfish, cast128,
 * 3des, MD5 and RIPEMD-160 are no longer offered.  libssh2 drops the
 * names it does not know from a list, and refuses only a list of which
 * it knows none.
 */
#define OPT_CIPHERS_111                                                        \
	"chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"      \
	"aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes256-cbc,"            \
	"aes192-cbc,aes128-cbc"
#define OPT_CIPHERS_110                                                        \
	"aes128-ctr,aes192-ctr,aes256-ctr,aes256-cbc,aes192-cbc,aes128-cbc"
#define OPT_MACS_111                                                           \
	"hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,"         \
	"hmac-sha2-256,hmac-sha2-512,hmac-sha1"
#define OPT_MACS_110 "hmac-sha2-256,hmac-sha2-512,hmac-sha1"

/*
 * Sets those preferences on a session before its handshake.  On an
 * error, *what names the list libssh2 refused (its last error says
 * why); the session then keeps libssh2's own order for that list and
 * the others still apply.
 */
int
opt_ssh_prefer_ciphers(LIBSSH2_SESSION *s, const char **what)
{
	static const int types[] = {LIBSSH2_METHOD_CRYPT_CS,
	    LIBSSH2_METHOD_CRYPT_SC, LIBSSH2_METHOD_MAC_CS,
	    LIBSSH2_METHOD_MAC_SC};
	static const char *const names[] = {"ciphers", "ciphers", "MACs",
	    "MACs"};
	bool v111 = libssh2_version(0x010b00) != NULL;
	const char *ciphers = v111 ? OPT_CIPHERS_111 : OPT_CIPHERS_110;
	const char *macs = v111 ? OPT_MACS_111 : OPT_MACS_110;
	int r = 0;

	*what = NULL;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (libssh2_session_method_pref(s, types[i],
		        i < 2 ? ciphers : macs) != 0 &&
		    r == 0) {
			*what = names[i];
			r = -1;
		}
	}
	return r;
}

/* The version of the libssh2 this process runs with. */
const char *
opt_ssh_version(void)
{
	const char *v = libssh2_version(0);

	return v != NULL ? v : "unknown";
}

static int
rsa_refused(const char *path, struct opt_error *e)
{
	return opt_error_set(e, EX_DATAERR,
	    "identity %s is an RSA key, which this libssh2 cannot use "
	    "with OpenSSH 8.8 or later (no rsa-sha2 signatures); make "
	    "an ed25519 key: ssh-keygen -t ed25519 -N '' -f FILE",
	    path);
}

static int
passphrase_refused(const char *path, struct opt_error *e)
{
	return opt_error_set(e, EX_DATAERR,
	    "identity %s is protected by a passphrase; a tunnel needs a key "
	    "without one",
	    path);
}

/*
 * The type of an "openssh-key-v1" key: the cipher must be "none" (a
 * tunnel has nobody to type a passphrase) and the first public key's
 * type must be one this libssh2 can sign with against current OpenSSH
 * (RSA only from libssh2 1.11 on).
 */
static int
openssh_key(const char *path, char *text, struct opt_error *e)
{
	char *begin = strstr(text, "-----BEGIN OPENSSH PRIVATE KEY-----");
	char *end = strstr(text, "-----END OPENSSH PRIVATE KEY-----");
	unsigned char *b;
	const char *s, *type;
	size_t off = 15, n, tn;
	int len;
	int r = -1;

	begin += strlen("-----BEGIN OPENSSH PRIVATE KEY-----");
	if (end == NULL || end < begin ||
	    (b = malloc((size_t)(end - begin))) == NULL)
		goto bad;
	*end = '\0'; /* b64_pton reads a string; the END line is not needed */
	len = b64_pton(begin, b, (size_t)(end - begin));
	if (len < 15 || memcmp(b, "openssh-key-v1", 15) != 0 ||
	    sshstr(b, (size_t)len, &off, &s, &n) == -1)
		goto out;
	if (n != 4 || memcmp(s, "none", 4) != 0) {
		r = passphrase_refused(path, e);
		goto out_set;
	}
	if (sshstr(b, (size_t)len, &off, &s, &n) == -1 || /* kdf name */
	    sshstr(b, (size_t)len, &off, &s, &n) == -1 || /* kdf options */
	    (size_t)len - off < 4)
		goto out;
	off += 4; /* number of keys */
	if (sshstr(b, (size_t)len, &off, &s, &n) == -1)
		goto out;
	off = 0;
	if (sshstr((const unsigned char *)s, n, &off, &type, &tn) == -1)
		goto out;
	if (tn == 7 && memcmp(type, "ssh-rsa", 7) == 0)
		r = opt_ssh_rsa_signs() ? 0 : rsa_refused(path, e);
	else if ((tn == 11 && memcmp(type, "ssh-ed25519", 11) == 0) ||
	    (tn > 11 && memcmp(type, "ecdsa-sha2-", 11) == 0))
		r = 0;
	else
		r = opt_error_set(e, EX_DATAERR,
		    "identity %s is of a type this tunnel cannot use; use an "
		    "ed25519 or ECDSA key",
		    path);
	goto out_set;
out:
	r = opt_error_set(e, EX_DATAERR, "identity %s is not a valid key",
	    path);
out_set:
	explicit_bzero(b, (size_t)(end - begin)); /* the private key too */
	free(b);
	return r;
bad:
	return opt_error_set(e, EX_DATAERR, "identity %s is not a valid key",
	    path);
}

int
opt_identity_check(const char *path, struct opt_error *e)
{
	char text[KEY_FILE_MAX + 1];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return opt_error_errno(e, 0, "cannot read identity %s", path);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return opt_error_set(e, EX_DATAERR,
		    "identity %s is not a regular file", path);
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		close(fd);
		return opt_error_set(e, EX_NOPERM,
		    "identity %s is %s by group or others (mode %04o); "
		    "refusing it, like ssh does (chmod 600 %s)",
		    path,
		    st.st_mode & (S_IRGRP | S_IROTH)       ? "readable"
		        : st.st_mode & (S_IWGRP | S_IWOTH) ? "writable"
		                                           : "executable",
		    (unsigned)(st.st_mode & 07777), path);
	}
	while (len < KEY_FILE_MAX &&
	    (n = read(fd, text + len, KEY_FILE_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	text[len] = '\0';
	if (strstr(text, "-----BEGIN OPENSSH PRIVATE KEY-----") != NULL)
		r = openssh_key(path, text, e);
	else if (strstr(text, "-----BEGIN RSA PRIVATE KEY-----") != NULL)
		r = !opt_ssh_rsa_signs()        ? rsa_refused(path, e)
		    : strstr(text, "ENCRYPTED") ? passphrase_refused(path, e)
		                                : 0;
	else if (strstr(text, "-----BEGIN EC PRIVATE KEY-----") != NULL)
		r = strstr(text, "ENCRYPTED") ? passphrase_refused(path, e) : 0;
	else
		r = opt_error_set(e, EX_DATAERR,
		    "identity %s is not an OpenSSH private key", path);
	explicit_bzero(text, sizeof(text));
	return r;
}

/* "SHA256:" and unpadded base64, as ssh-keygen -l shows it. */
void
opt_fingerprint(const unsigned char *blob, size_t len, char *out, size_t cap)
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	SHA2_CTX ctx;
	char b[48];
	int n;

	SHA256Init(&ctx);
	SHA256Update(&ctx, blob, len);
	SHA256Final(md, &ctx);
	n = b64_ntop(md, sizeof(md), b, sizeof(b));
	while (n > 0 && b[n - 1] == '=')
		b[--n] = '\0';
	snprintf(out, cap, "SHA256:%s", b);
}

static int
hostkey_get(LIBSSH2_SESSION *s, struct opt_ssh_hostkey *k)
{
	static const char *const names[] = {"unknown", "ssh-rsa", "ssh-dss",
	    "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
	    "ssh-ed25519"};
	const char *blob;

	blob = libssh2_session_hostkey(s, &k->len, &k->type);
	if (blob == NULL || k->type < 0 || k->type > 6)
		return -1;
	k->blob = (const unsigned char *)blob;
	k->name = names[k->type];
	return 0;
}

static int
kh_mask(int type)
{
	switch (type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA:
		return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
	case LIBSSH2_HOSTKEY_TYPE_DSS:
		return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
	case LIBSSH2_HOSTKEY_TYPE_ED25519:
		return LIBSSH2_KNOWNHOST_KEY_ED25519;
	default:
		return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
	}
}

/* The known_hosts name of host:port, as OpenSSH writes it. */
static void
kh_name(char *buf, size_t len, const char *host, int port)
{
	if (port == 22)
		snprintf(buf, len, "%s", host);
	else
		snprintf(buf, len, "[%s]:%d", host, port);
}

static void
entry_fingerprint(const struct libssh2_knownhost *k, char *fp, size_t len)
{
	unsigned char blob[4096];
	int n;

	if (k->key == NULL)
		return;
	n = b64_pton(k->key, blob, sizeof(blob));
	if (n > 0)
		opt_fingerprint(blob, (size_t)n, fp, len);
}

/*
 * libssh2 matches keys of one type only: a site pinned with an ECDSA
 * key that now offers ed25519 would be "not found" and pinned anew.  A
 * different type is a different key: any entry for the name counts.
 */
static bool
other_type(LIBSSH2_KNOWNHOSTS *kh, const char *host, int port, char *fp,
    size_t len)
{
	struct libssh2_knownhost *k = NULL, *prev = NULL;
	char name[300];

	kh_name(name, sizeof(name), host, port);
	while (libssh2_knownhost_get(kh, &k, prev) == 0) {
		if (k->name != NULL && strcmp(k->name, name) == 0) {
			entry_fingerprint(k, fp, len);
			return true;
		}
		prev = k;
	}
	return false;
}

/*
 * Checks the server's key against known_hosts with libssh2's own
 * matcher.  On a mismatch, old_fp gets the pinned key's fingerprint.
 * A missing file means nothing is pinned yet.
 */
int
opt_knownhosts_check(const char *path, const char *host, int port,
    const struct opt_ssh_hostkey *k, char *old_fp, size_t fplen,
    struct opt_error *e)
{
	struct libssh2_knownhost *known = NULL;
	LIBSSH2_KNOWNHOSTS *kh;
	LIBSSH2_SESSION *dummy;
	int r;

	old_fp[0] = '\0';
	if (access(path, R_OK) == -1) {
		if (errno == ENOENT)
			return OPT_HK_NOTFOUND;
		return opt_error_errno(e, 0, "cannot read %s", path);
	}
	if ((dummy = libssh2_session_init()) == NULL)
		return opt_error_set(e, EX_OSERR, "out of memory");
	if ((kh = libssh2_knownhost_init(dummy)) == NULL) {
		libssh2_session_free(dummy);
		return opt_error_set(e, EX_OSERR, "out of memory");
	}
	if (libssh2_knownhost_readfile(kh, path,
	        LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
		r = opt_error_set(e, EX_CONFIG,
		    "%s: cannot read it as a "
		    "known_hosts file",
		    path);
		goto out;
	}
	r = libssh2_knownhost_checkp(kh, host, port, (const char *)k->blob,
	    k->len,
	    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
	        kh_mask(k->type),
	    &known);
	switch (r) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		r = OPT_HK_MATCH;
		break;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		r = other_type(kh, host, port, old_fp, fplen) ? OPT_HK_MISMATCH
		                                              : OPT_HK_NOTFOUND;
		break;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		if (known != NULL)
			entry_fingerprint(known, old_fp, fplen);
		r = OPT_HK_MISMATCH;
		break;
	default:
		r = opt_error_set(e, EX_SOFTWARE, "%s: host key check failed",
		    path);
	}
out:
	libssh2_knownhost_free(kh);
	libssh2_session_free(dummy);
	return r;
}

/* Appends the key to known_hosts, atomically (the file is replaced). */
int
opt_knownhosts_pin(const char *path, const char *host, int port,
    const struct opt_ssh_hostkey *k, struct opt_error *e)
{
	char name[300], b64[8192], *old = NULL, *data = NULL;
	size_t oldlen = 0, cap = 0, len = 0;
	FILE *f;
	ssize_t n;
	int fd, r;

	kh_name(name, sizeof(name), host, port);
	if (b64_ntop(k->blob, k->len, b64, sizeof(b64)) == -1)
		return opt_error_set(e, EX_DATAERR, "host key too long");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) != -1) {
		for (;;) {
			if (oldlen == cap) {
				char *nb = realloc(old, cap + 4096);
				if (nb == NULL)
					break;
				old = nb;
				cap += 4096;
			}
			n = read(fd, old + oldlen, cap - oldlen);
			if (n <= 0)
				break;
			oldlen += (size_t)n;
		}
		close(fd);
	} else if (errno != ENOENT) {
		return opt_error_errno(e, 0, "cannot read %s", path);
	}
	if ((f = open_memstream(&data, &len)) == NULL) {
		free(old);
		return opt_error_set(e, EX_OSERR, "out of memory");
	}
	if (oldlen > 0) {
		fwrite(old, 1, oldlen, f);
		if (old[oldlen - 1] != '\n')
			fputc('\n', f);
	}
	fprintf(f, "%s %s %s\n", name, k->name, b64);
	if (fclose(f) != 0) {
		free(old);
		return opt_error_set(e, EX_OSERR, "out of memory");
	}
	r = opt_file_replace(path, data, len, e);
	free(data);
	free(old);
	return r;
}

/* A blocking TCP connect bounded by timeout_ms; -1 with errno. */
static int
connect_timeout(const char *host, int port, int timeout_ms)
{
	struct addrinfo hints = {0}, *res, *ai;
	char portstr[8];
	int fd = -1, err = ETIMEDOUT;

	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if (getaddrinfo(host, portstr, &hints, &res) != 0) {
		errno = EHOSTUNREACH;
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd p;
		socklen_t len = sizeof(err);

		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd == -1)
			continue;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1 &&
		    errno != EINPROGRESS) {
			err = errno;
			close(fd);
			fd = -1;
			continue;
		}
		p.fd = fd;
		p.events = POLLOUT;
		if (poll(&p, 1, timeout_ms) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
		    err == 0) {
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
			break;
		}
		if (err == 0)
			err = ETIMEDOUT;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		errno = err;
	return fd;
}

/*
 * Connects to host:port and takes its host key, as the tunnel would be
 * offered it (same host key preference), for `opt-site trust`.
 */
int
opt_hostkey_fetch(const char *host, int port, int timeout_ms,
    struct opt_ssh_hostkey *k, unsigned char *blob, size_t cap,
    struct opt_error *e)
{
	struct opt_ssh_hostkey got;
	LIBSSH2_SESSION *s;
	char *msg = NULL;
	int fd, r = -1;

	if ((fd = connect_timeout(host, port, timeout_ms)) == -1)
		return opt_error_errno(e, EX_UNAVAILABLE,
		    "cannot connect to %s port %d", host, port);
	if ((s = libssh2_session_init()) == NULL) {
		close(fd);
		return opt_error_set(e, EX_OSERR, "out of memory");
	}
	libssh2_session_set_timeout(s, timeout_ms);
	libssh2_session_method_pref(s, LIBSSH2_METHOD_HOSTKEY,
	    OPT_HOSTKEY_METHODS);
	if (libssh2_session_handshake(s, fd) != 0) {
		libssh2_session_last_error(s, &msg, NULL, 0);
		opt_error_set(e, EX_UNAVAILABLE,
		    "ssh handshake with %s port "
		    "%d failed: %s",
		    host, port, msg ? msg : "unknown error");
	} else if (hostkey_get(s, &got) == -1 || got.len > cap) {
		opt_error_set(e, EX_PROTOCOL, "%s offered no usable host key",
		    host);
	} else {
		memcpy(blob, got.blob, got.len);
		*k = got;
		k->blob = blob;
		r = 0;
	}
	libssh2_session_disconnect(s, "host key taken");
	libssh2_session_free(s);
	close(fd);
	return r;
}

/* Drops every line for host:port, then pins the key: a deliberate
 * re-trust after the site's key changed. */
int
opt_knownhosts_replace(const char *path, const char *host, int port,
    const struct opt_ssh_hostkey *k, struct opt_error *e)
{
	char name[300], *data = NULL;
	size_t len = 0;
	FILE *in, *out;
	int r;

	kh_name(name, sizeof(name), host, port);
	if ((out = open_memstream(&data, &len)) == NULL)
		return opt_error_set(e, EX_OSERR, "out of memory");
	if ((in = fopen(path, "re")) != NULL) {
		char buf[16384];
		while (fgets(buf, sizeof(buf), in) != NULL) {
			char first[1024], *save = NULL, *tok;
			bool match = false;

			strlcpy(first, buf, sizeof(first));
			first[strcspn(first, " \t\n")] = '\0';
			tok = strtok_r(first, ",", &save);
			for (; tok != NULL; tok = strtok_r(NULL, ",", &save))
				if (strcmp(tok, name) == 0)
					match = true;
			if (!match)
				fputs(buf, out);
		}
		fclose(in);
	}
	fclose(out);
	r = opt_file_replace(path, data, len, e);
	free(data);
	if (r == -1)
		return -1;
	return opt_knownhosts_pin(path, host, port, k, e);
}

void
opt_hostkey_verify(LIBSSH2_SESSION *s, const struct opt_hostkey_policy *p,
    struct opt_hostkey_report *r)
{
	struct opt_ssh_hostkey k;
	struct opt_error e;
	int m;

	memset(r, 0, sizeof(*r));
	r->type = "?";
	if (hostkey_get(s, &k) == -1) {
		r->verdict = OPT_HKV_FAILED;
		strlcpy(r->why, "no host key", sizeof(r->why));
		return;
	}
	r->type = k.name;
	opt_fingerprint(k.blob, k.len, r->fp, sizeof(r->fp));
	if (p->check == OPT_HOSTKEY_OFF) {
		r->event = "hostkey-unchecked";
		return;
	}
	m = opt_knownhosts_check(p->known_hosts, p->host, p->port, &k, r->old,
	    sizeof(r->old), &e);
	if (m == -1) {
		r->verdict = OPT_HKV_FAILED;
		strlcpy(r->why, e.text, sizeof(r->why));
		return;
	}
	if (m == OPT_HK_NOTFOUND && p->pinned_fp[0] != '\0') {
		if (strcmp(p->pinned_fp, r->fp) == 0)
			return;
		m = OPT_HK_MISMATCH;
		strlcpy(r->old, p->pinned_fp, sizeof(r->old));
	}
	if (m == OPT_HK_MATCH)
		return;
	if (m == OPT_HK_MISMATCH) {
		r->verdict = OPT_HKV_MISMATCH;
		r->event = "hostkey-mismatch";
		snprintf(r->why, sizeof(r->why),
		    "host key %s does not match the pinned %s", r->fp,
		    r->old[0] ? r->old : "key");
		return;
	}
	if (p->check == OPT_HOSTKEY_STRICT) {
		r->verdict = OPT_HKV_UNKNOWN;
		r->event = "hostkey-unknown";
		snprintf(r->why, sizeof(r->why),
		    "host key %s is not pinned in %s (host_key_check = "
		    "strict; see opt-site trust)",
		    r->fp, p->known_hosts);
		return;
	}
	if (opt_knownhosts_pin(p->known_hosts, p->host, p->port, &k, &e) ==
	    -1) {
		strlcpy(p->pinned_fp, r->fp, OPT_FP_MAX);
		r->event = "hostkey-pinned-in-memory";
		strlcpy(r->detail, e.text, sizeof(r->detail));
		return;
	}
	r->event = "hostkey-pinned";
}
