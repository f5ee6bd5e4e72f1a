/*
 * What local_user can read.  A tunnel started as root reads its config
 * as root, binds, then runs as local_user and reads its files again
 * (known_hosts at each connect, the identity, every file on reload):
 * root checks beforehand that local_user can, without opening any of
 * them itself.
 */
#ifndef OPT_PERM_H
#define OPT_PERM_H

#include <stddef.h>

#include "error.h"

int opt_perm_readable(const char *, const char *const *, size_t,
    struct opt_error *);

#endif
