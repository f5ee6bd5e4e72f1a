/*
 * The spool's files, shared by spool.c (the store: layout, metadata,
 * listing) and spooljob.c (what is done to a job) only.
 */
#ifndef OPT_SPOOLFILE_H
#define OPT_SPOOLFILE_H

#include "spool.h"

void spool_name(char *, size_t, const char *, unsigned long long, const char *);
void spool_clean(char *, size_t, const char *);
int spool_dir(struct opt_spool *, int, enum opt_spool_state, bool, char *,
    size_t, struct opt_error *);
int spool_sync_dir(int, const char *, struct opt_error *);
int spool_write_all(int, const void *, size_t);
int spool_meta_write(struct opt_spool *, int, const char *,
    const struct opt_spool_job *, struct opt_error *);
int spool_meta_read(struct opt_spool *, int, const char *, unsigned long long,
    int, enum opt_spool_state, struct opt_spool_job *, struct opt_error *);
bool spool_is_sending(int, unsigned long long);
bool spool_exists(int, const char *);
int spool_note_last_id(struct opt_spool *, unsigned long long,
    struct opt_error *);
int spool_recount(struct opt_spool *, struct opt_error *);

#endif
