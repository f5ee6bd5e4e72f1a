/*
 * Validators for everything a user or a config file supplies.  Each
 * returns 0 when the value is good, else -1 with a one-line message in
 * the error (status EX_DATAERR) that quotes the bad value safely.
 * Values that pass may go into paths, config files and log lines.
 */
#ifndef OPT_VALID_H
#define OPT_VALID_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define OPT_SITE_ID_MAX 63
#define OPT_HOST_MAX 253
#define OPT_USER_MAX 32
#define OPT_DESC_CHARS 80
#define OPT_DESC_MAX (OPT_DESC_CHARS * 4) /* bytes of UTF-8 */
#define OPT_ADDR_MAX 46 /* INET6_ADDRSTRLEN */
#define OPT_CIDR_MAX (OPT_ADDR_MAX + 4)
#define OPT_RATE_MAX (1024 * 1024) /* KiB/s: 1 GiB/s */
#define OPT_DURATION_BUF 24 /* "9223372036854775807s" */

int opt_valid_site_id(const char *, struct opt_error *);
int opt_valid_host(const char *, struct opt_error *);
int opt_valid_addr(const char *, struct opt_error *);
int opt_valid_cidr(const char *, struct opt_error *);
int opt_valid_user(const char *, struct opt_error *);
int opt_valid_description(const char *, struct opt_error *);
int opt_valid_path(const char *, const char *, struct opt_error *);
size_t opt_utf8_char(const unsigned char *, unsigned *);

int opt_parse_port(const char *, const char *, int *, struct opt_error *);
int opt_parse_int(const char *, const char *, long long, long long, int *,
    struct opt_error *);
int opt_parse_bool(const char *, const char *, bool *, struct opt_error *);
int opt_parse_rate(const char *, unsigned *, struct opt_error *);
int opt_parse_duration(const char *, const char *, long long, long long,
    long long *, struct opt_error *);
const char *opt_duration_str(long long, char *, size_t);

#endif
