/* SHA-256 (FIPS 180-4), for host key fingerprints. */
#ifndef OPT_SHA256_H
#define OPT_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define OPT_SHA256_LEN 32

void opt_sha256(const void *, size_t, unsigned char[OPT_SHA256_LEN]);
size_t opt_b64_encode(const unsigned char *, size_t, char *, size_t, int);
long opt_b64_decode(const char *, size_t, unsigned char *, size_t);

#endif
