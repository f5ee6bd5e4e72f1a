/*
 * <run>/<site>.state: the live state of a site's tunnel, key=value
 * lines written atomically (temp file and rename) by the tunnel and read
 * by opt-status and `opt-tunnel start`.  Readers ignore keys they do
 * not know, so the file can grow.
 */
#ifndef OPT_STATE_H
#define OPT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "error.h"
#include "generation.h"
#include "valid.h"

enum opt_tstate {
	OPT_TS_CONNECTING,
	OPT_TS_UP,
	OPT_TS_RETRYING,
	OPT_TS_DRAINING,
	OPT_TS_HOSTKEY_MISMATCH,
	OPT_TS_STOPPED, /* opt-status: no process */
	OPT_TS_STALE, /* opt-status: a pidfile, no process */
};

#define OPT_STATE_ERROR_MAX 200
#define OPT_STATE_PJL_DISPLAY_MAX 65
/* Seconds: a tunnel writes its state at least this often, idle or not
 * (the file says so in `interval`); a live tunnel whose file is older
 * than OPT_STATE_STALE_AFTER intervals is stale. */
#define OPT_STATE_INTERVAL 2
#define OPT_STATE_STALE_AFTER 3

struct opt_state_channel {
	int id;
	int listen;
	char printer[OPT_HOST_MAX + 1];
	int printer_port;
	char mode[8]; /* direct, spool */
	unsigned active;
	unsigned long long jobs;
	unsigned long long bytes_up;
	unsigned long long bytes_down;
	/* unknown, off, failed; a tcp probe: ok; a pjl probe: ready,
	 * warning, offline, no-pjl (tcp ok, no PJL answer) */
	char probe[16];
	long long probe_at, probe_since; /* the last probe; its state since */
	int pjl_code; /* the printer's PJL CODE, 0: none */
	char pjl_display[OPT_STATE_PJL_DISPLAY_MAX]; /* its DISPLAY */
	char last_error[OPT_STATE_ERROR_MAX];
};

struct opt_state {
	char site[OPT_SITE_ID_MAX + 1];
	long pid;
	enum opt_tstate state;
	long long since; /* seconds since the epoch */
	unsigned long long reconnects;
	char last_error[OPT_STATE_ERROR_MAX];
	char compression[32]; /* negotiated method, "none" */
	unsigned long long wire_up, wire_down;
	unsigned long long payload_up, payload_down;
	unsigned long long jobs;
	unsigned long long rate_up, rate_down; /* wire bytes/s, recently */
	unsigned long long probes; /* completed probe rounds */
	long long updated;
	unsigned interval; /* seconds between writes at most; 0: not said */
	/* The config generation applied, and the last reload's. */
	char generation[OPT_GENERATION_MAX];
	unsigned long long reloads;
	char reload_generation[OPT_GENERATION_MAX];
	char reload_error[OPT_STATE_ERROR_MAX];
	bool has_throttle; /* the limits applied (KiB/s), if the file says */
	bool throttle_on;
	unsigned long long throttle_up, throttle_down;
	/* Readers only: a stale live tunnel's last state and how old the
	 * file is, in seconds. */
	enum opt_tstate reported;
	long long age;
	size_t nchannels;
	struct opt_state_channel *channels;
};

const char *opt_tstate_name(enum opt_tstate);
void opt_state_text(char *, size_t, const char *);
void opt_state_format(FILE *, const struct opt_state *);
int opt_state_write(int, const char *, const struct opt_state *,
    struct opt_error *);
int opt_state_parse(const char *, size_t, struct opt_state *);
int opt_state_read(const char *, struct opt_state *, struct opt_error *);
void opt_state_free(struct opt_state *);

#endif
