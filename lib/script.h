/*
 * Install scripts for the clients of a site's channels: one printer per
 * channel, printing to HOST:LISTEN, this host's end of the channel.
 * Three languages: PowerShell (ps1), cmd.exe with Windows' printing
 * admin scripts (bat), and POSIX sh with lpadmin (cups).
 *
 * Text a user wrote (descriptions, a driver's name) reaches a script
 * only through the quoting function of its language, never as code; a
 * printer's name is a slug of safe characters (opt_script_names).
 */
#ifndef OPT_SCRIPT_H
#define OPT_SCRIPT_H

#include <stddef.h>
#include <stdio.h>

#include "channel.h"
#include "error.h"

#define OPT_PRINTER_NAME_MAX 127 /* CUPS' limit, and within Windows' */
#define OPT_DRIVER_MAX 255
#define OPT_WINDOWS_DRIVER "Generic / Text Only"

enum opt_script_format {
	OPT_SCRIPT_PS1,
	OPT_SCRIPT_BAT,
	OPT_SCRIPT_CUPS,
};

struct opt_script {
	enum opt_script_format format;
	const char *host; /* where clients connect: a valid host */
	const char *driver; /* NULL: the format's default */
};

int opt_script_format_parse(const char *, enum opt_script_format *,
    struct opt_error *);
int opt_script_driver_check(const char *, struct opt_error *);
int opt_script_local_host(char *, size_t, struct opt_error *);

/* The printer names of every channel of cs, in its order. */
typedef char opt_printer_name[OPT_PRINTER_NAME_MAX + 1];
int opt_script_names(const struct opt_channels *, opt_printer_name *,
    struct opt_error *);

/* The script for the channels ids (all of cs when nids is 0), in the
 * order of cs.  -1 (EX_NOINPUT) if an id is not a channel of cs, or
 * (EX_DATAERR) if a description could not be written safely; nothing
 * is written then. */
int opt_script_write(FILE *, const struct opt_script *,
    const struct opt_channels *, const int *, size_t, struct opt_error *);

#endif
