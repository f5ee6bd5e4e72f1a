/*
 * Reading and writing the libconfig files under the config dir.
 *
 * Reading refuses a file that group or others may write (like sshd and
 * doas do), and reports every problem as "PATH:LINE: ..." with EX_CONFIG;
 * a broken file is never rewritten.  Writing is atomic: a temp file in
 * the same directory, fsync, rename, fsync of the directory, so a reader
 * (or a crash) sees the old file or the new one, never a torn one.
 */
#ifndef OPT_CONF_H
#define OPT_CONF_H

#include <libconfig.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "error.h"

#define OPT_FILE_MODE 0640
#define OPT_DIR_MODE 0750
#define OPT_GROUP "mast"

int opt_conf_read(const char *, config_t *, bool, struct opt_error *);
int opt_conf_keys(const char *, const config_setting_t *, const char *const *,
    struct opt_error *);
int opt_conf_fail(const char *, const config_setting_t *, struct opt_error *);
int opt_conf_str(const char *, const config_setting_t *, char *, size_t,
    struct opt_error *);
int opt_conf_int(const char *, const config_setting_t *, long long, long long,
    int *, struct opt_error *);
int opt_conf_bool(const char *, const config_setting_t *, bool *,
    struct opt_error *);

void opt_conf_put_str(FILE *, const char *, const char *);
void opt_conf_put_quoted(FILE *, const char *);

int opt_file_replace(const char *, const char *, size_t, struct opt_error *);
int opt_dir_sync(const char *, struct opt_error *);
int opt_dir_make(const char *, struct opt_error *);
void opt_file_group(const char *);
void opt_file_own(int);
int opt_conf_save(const char *, void (*)(FILE *, const void *), const void *,
    struct opt_error *);

#endif
