/*
 * The install scripts of `opt-channel script`.
 *
 * Every value put into a script goes through the quoting function of
 * the script's language (ps_quote, cmd_quote, sh_quote), even a value
 * that was checked and cannot hold anything special (a host, a site id,
 * a printer name): no path from configuration text to code skips one.
 * Descriptions are checked once more before anything is written (UTF-8
 * text without control characters), so that a script never depends on
 * how channels.conf was read.
 */
#include <netdb.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include "script.h"
#include "valid.h"

#define SLUG_MAX 48 /* bytes: site, slug and "-ID" stay within 127 */

static const char *const format_names[] = {"ps1", "bat", "cups"};

int
opt_script_format_parse(const char *s, enum opt_script_format *out,
    struct opt_error *e)
{
	char q[OPT_QUOTE_BUF];
	size_t i;

	for (i = 0; i < sizeof(format_names) / sizeof(*format_names); i++) {
		if (strcmp(s, format_names[i]) == 0) {
			*out = (enum opt_script_format)i;
			return 0;
		}
	}
	return opt_error_set(e, EX_DATAERR,
	    "format '%s' is not one of ps1, bat, cups",
	    opt_quote(q, sizeof(q), s));
}

/* A driver's name is text of every script language: UTF-8 without
 * control characters, and without a double quote, which a batch file
 * cannot pass (see cmd_quote). */
int
opt_script_driver_check(const char *s, struct opt_error *e)
{
	const unsigned char *p = (const unsigned char *)s;
	char q[OPT_QUOTE_BUF];
	size_t len;
	unsigned cp;

	if (*p == '\0' || strlen(s) > OPT_DRIVER_MAX)
		goto bad;
	for (; *p != '\0'; p += len)
		if ((len = opt_utf8_char(p, &cp)) == 0 || cp < 0x20 ||
		    (cp >= 0x7f && cp < 0xa0) || cp == '"')
			goto bad;
	return 0;
bad:
	return opt_error_set(e, EX_DATAERR,
	    "driver '%s' is not a driver name (1 to 255 bytes of UTF-8 "
	    "text, without control characters or double quotes)",
	    opt_quote(q, sizeof(q), s));
}

/* This host's FQDN: the canonical name of gethostname(), else the name
 * itself. */
int
opt_script_local_host(char *buf, size_t len, struct opt_error *e)
{
	struct addrinfo hints, *res;
	char name[OPT_HOST_MAX + 2], q[OPT_QUOTE_BUF];
	bool done = false;

	if (gethostname(name, sizeof(name)) == -1)
		return opt_error_errno(e, EX_OSERR,
		    "cannot get this host's name");
	name[sizeof(name) - 1] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_CANONNAME;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, NULL, &hints, &res) == 0) {
		if (res->ai_canonname != NULL &&
		    opt_valid_host(res->ai_canonname, NULL) == 0)
			done = strlcpy(buf, res->ai_canonname, len) < len;
		freeaddrinfo(res);
	}
	if (done)
		return 0;
	if (opt_valid_host(name, NULL) == 0 && strlcpy(buf, name, len) < len)
		return 0;
	return opt_error_set(e, EX_DATAERR,
	    "this host's name '%s' is not a valid host name: set public_host "
	    "in defaults.conf, or give --host",
	    opt_quote(q, sizeof(q), name));
}

/* ---- Printer names ---------------------------------------------------- */

/* Latin-1 letters, U+00C0 to U+00FF, without their accents. */
static const char *const latin1[64] = {"A", "A", "A", "A", "A", "A", "AE", "C",
    "E", "E", "E", "E", "I", "I", "I", "I", "D", "N", "O", "O", "O", "O", "O",
    NULL, "O", "U", "U", "U", "U", "Y", "TH", "ss", "a", "a", "a", "a", "a",
    "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i", "d", "n", "o", "o",
    "o", "o", "o", NULL, "o", "u", "u", "u", "u", "y", "th", "y"};

/* What a character of a description keeps in a slug: itself (ASCII
 * letters and digits), its letters without accents, or NULL. */
static const char *
slug_char(const unsigned char *p, unsigned cp, char *one)
{
	if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
	    (cp >= '0' && cp <= '9')) {
		one[0] = (char)*p;
		one[1] = '\0';
		return one;
	}
	if (cp >= 0xc0 && cp <= 0xff)
		return latin1[cp - 0xc0];
	if (cp == 0x152)
		return "OE";
	if (cp == 0x153)
		return "oe";
	return NULL;
}

/*
 * The slug of a description, at most SLUG_MAX bytes: its letters and
 * digits, each run of other characters between them made one '_', or
 * kept when it is a lone '-' or '_'.  Empty when nothing is left.
 */
static void
slug(char *out, size_t size, const char *desc)
{
	const unsigned char *p = (const unsigned char *)desc;
	size_t n = 0, run = 0, len;
	char one[2], sep, last = '\0';
	const char *keep;
	unsigned cp;

	out[0] = '\0';
	for (; *p != '\0'; p += len) {
		if ((len = opt_utf8_char(p, &cp)) == 0) {
			len = 1;
			cp = 0xfffd;
		}
		if ((keep = slug_char(p, cp, one)) == NULL) {
			run++;
			last = (char)(cp < 0x80 ? cp : '\0');
			continue;
		}
		sep = run == 1 && (last == '-' || last == '_') ? last : '_';
		if (n + (run && n ? 1 : 0) + strlen(keep) >= size)
			break;
		if (run && n)
			out[n++] = sep;
		run = 0;
		memcpy(out + n, keep, strlen(keep) + 1);
		n += strlen(keep);
	}
}

/*
 * A channel's printer is named SITE-SLUG, the slug of its description,
 * or SITE-ID when that slug is empty.  Names are unique within the
 * site, whatever the case of their letters, as Windows and CUPS compare
 * them: of the channels whose SITE-SLUG is the same, the lowest id keeps
 * it and the others are SITE-SLUG-ID; and a channel whose SITE-SLUG is
 * another's name with an id gets its own id as well.  Names with an id
 * are unique since their id is what follows their last '-'.
 */
static void
names_make(const struct opt_channels *cs, opt_printer_name *names, bool *bare)
{
	char s[SLUG_MAX + 1];
	bool changed;
	size_t i, j, n;

	for (i = 0; i < cs->n; i++) {
		slug(s, sizeof(s), cs->v[i].description);
		bare[i] = s[0] != '\0';
		snprintf(names[i], sizeof(*names), "%s%s%s", cs->site,
		    bare[i] ? "-" : "", s);
	}
	for (i = 0; i < cs->n; i++)
		for (j = 0; j < cs->n && bare[i]; j++)
			if (bare[j] && cs->v[j].id < cs->v[i].id &&
			    strcasecmp(names[i], names[j]) == 0)
				bare[i] = false;
	for (i = 0; i < cs->n; i++) {
		n = strlen(names[i]);
		if (!bare[i])
			snprintf(names[i] + n, sizeof(*names) - n, "-%d",
			    cs->v[i].id);
	}
	do {
		changed = false;
		for (i = 0; i < cs->n; i++)
			for (j = 0; j < cs->n && bare[i]; j++) {
				if (bare[j] || strcasecmp(names[i], names[j]))
					continue;
				bare[i] = false;
				changed = true;
				n = strlen(names[i]);
				snprintf(names[i] + n, sizeof(*names) - n,
				    "-%d", cs->v[i].id);
			}
	} while (changed);
}

int
opt_script_names(const struct opt_channels *cs, opt_printer_name *names,
    struct opt_error *e)
{
	bool *bare;

	if ((bare = calloc(cs->n + 1, sizeof(*bare))) == NULL)
		return opt_error_set(e, EX_OSERR, "out of memory");
	names_make(cs, names, bare);
	free(bare);
	return 0;
}

/* ---- Quoting, one function per language ------------------------------- */

/* PowerShell: a single-quoted string, in which nothing is special but
 * the quote, written twice.  PowerShell takes U+2018 to U+201B (‘ ’ ‚ ‛)
 * for single quotes too, and reads each of them twice as itself. */
static void
ps_quote(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	putc('\'', f);
	for (; *p != '\0'; p++) {
		if (*p == '\'') {
			fputs("''", f);
		} else if (p[0] == 0xe2 && p[1] == 0x80 && p[2] >= 0x98 &&
		    p[2] <= 0x9b) {
			fwrite(p, 1, 3, f);
			fwrite(p, 1, 3, f);
			p += 2;
		} else {
			putc(*p, f);
		}
	}
	putc('\'', f);
}

/* cmd.exe: a double-quoted argument, in which & | < > ^ ( ) are plain
 * text.  A batch file still expands %, so it is written twice; ! is
 * plain text too, since the script turns delayed expansion off.  A
 * double quote cannot reach a WSH script at all (WScript.Arguments has
 * no escape for one), so it becomes a single quote. */
static void
cmd_quote(FILE *f, const char *s)
{
	putc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '%')
			fputs("%%", f);
		else if (*s == '"')
			putc('\'', f);
		else
			putc(*s, f);
	}
	putc('"', f);
}

/* sh: a single-quoted word, in which nothing is special but the quote,
 * written as '\''. */
static void
sh_quote(FILE *f, const char *s)
{
	putc('\'', f);
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else
			putc(*s, f);
	}
	putc('\'', f);
}

/* ---- The scripts ---------------------------------------------------- */

struct gen {
	FILE *f;
	const char *eol;
	const struct opt_script *sc;
	const struct opt_channels *cs;
	const bool *want;
	const opt_printer_name *names;
};

static void
lines(const struct gen *g, const char *const *v)
{
	for (; *v != NULL; v++) {
		fputs(*v, g->f);
		fputs(g->eol, g->f);
	}
}

/* HOST:PORT, an IPv6 address in brackets. */
static void
endpoint(char *buf, size_t len, const char *host, int port)
{
	bool v6 = strchr(host, ':') != NULL;

	snprintf(buf, len, "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "",
	    port);
}

/* What every script says of a channel, and the names of its two ports:
 * the tunnel's, HOST:LISTEN, and the printer's own, direct:PRINTER:PORT. */
struct ports {
	char tunnel[OPT_HOST_MAX + 16];
	char printer[OPT_HOST_MAX + 16];
	char direct[OPT_HOST_MAX + 24];
};

static void
channel_head(const struct gen *g, const struct opt_channel *c,
    const char *comment, struct ports *p)
{
	endpoint(p->tunnel, sizeof(p->tunnel), g->sc->host, c->listen);
	endpoint(p->printer, sizeof(p->printer), c->printer, c->printer_port);
	snprintf(p->direct, sizeof(p->direct), "direct:%s", p->printer);
	fprintf(g->f, "%s%s channel %d: %s%s", g->eol, comment, c->id,
	    p->printer, g->eol);
}

/* A raw TCP port NAME to HOST:PORT. */
static void
ps1_port(const struct gen *g, const char *name, const char *host, int port)
{
	fputs("Add-OptPort -Name ", g->f);
	ps_quote(g->f, name);
	fputs(" -Address ", g->f);
	ps_quote(g->f, host);
	fprintf(g->f, " -Number %d%s", port, g->eol);
}

static void
write_ps1(const struct gen *g)
{
	static const char *const head[] = {
	    "# opt-channel script, see opt-channel(1).  Run it in an elevated",
	    "# PowerShell on the terminal server: it adds the driver, the ports and",
	    "# the printers that are missing and keeps those that exist, so it can",
	    "# run again.  Each printer prints through the tunnel; the port",
	    "# direct:PRINTER:PORT reaches the printer without it, as a fallback.",
	    "$ErrorActionPreference = 'Stop'",
	    "",
	    "function Add-OptPort([string]$Name, [string]$Address, "
	    "[uint32]$Number) {",
	    "    if (Get-PrinterPort | Where-Object { $_.Name -eq $Name }) {",
	    "        Write-Host \"port $Name exists, kept\"",
	    "    } else {",
	    "        Add-PrinterPort -Name $Name -PrinterHostAddress $Address "
	    "-PortNumber $Number",
	    "        Write-Host \"port $Name added\"",
	    "    }",
	    "}",
	    "",
	    "function Add-OptPrinter([string]$Name, [string]$Driver, "
	    "[string]$Port, [string]$Location, [string]$Comment) {",
	    "    if (Get-Printer | Where-Object { $_.Name -eq $Name }) {",
	    "        Write-Host \"printer $Name exists, kept\"",
	    "    } else {",
	    "        Add-Printer -Name $Name -DriverName $Driver -PortName $Port "
	    "-Location $Location -Comment $Comment",
	    "        Write-Host \"printer $Name added\"",
	    "    }",
	    "}",
	    "",
	    NULL,
	};
	static const char *const driver[] = {
	    "if (-not (Get-PrinterDriver | Where-Object { $_.Name -eq $Driver "
	    "})) {",
	    "    Add-PrinterDriver -Name $Driver",
	    "    Write-Host \"driver $Driver added\"",
	    "}",
	    NULL,
	};
	const struct opt_channels *cs = g->cs;
	struct ports p;
	size_t i;

	/* Windows PowerShell reads a file without a BOM as ANSI text. */
	fputs("\xef\xbb\xbf", g->f);
	fprintf(g->f,
	    "# Printers of site %s through opt, one per channel: made by%s",
	    cs->site, g->eol);
	lines(g, head);
	fputs("$Driver = ", g->f);
	ps_quote(g->f, g->sc->driver ? g->sc->driver : OPT_WINDOWS_DRIVER);
	fputs(g->eol, g->f);
	lines(g, driver);
	for (i = 0; i < cs->n; i++) {
		const struct opt_channel *c = &cs->v[i];

		if (!g->want[i])
			continue;
		channel_head(g, c, "#", &p);
		ps1_port(g, p.tunnel, g->sc->host, c->listen);
		ps1_port(g, p.direct, c->printer, c->printer_port);
		fputs("Add-OptPrinter -Name ", g->f);
		ps_quote(g->f, g->names[i]);
		fputs(" -Driver $Driver -Port ", g->f);
		ps_quote(g->f, p.tunnel);
		fputs(" -Location ", g->f);
		ps_quote(g->f, cs->site);
		fputs(" -Comment ", g->f);
		ps_quote(g->f, c->description);
		fputs(g->eol, g->f);
	}
}

static bool
ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* Does the script have text that is not ASCII? */
static bool
non_ascii(const struct gen *g)
{
	size_t i;

	if (g->sc->driver != NULL && !ascii(g->sc->driver))
		return true;
	for (i = 0; i < g->cs->n; i++)
		if (g->want[i] && !ascii(g->cs->v[i].description))
			return true;
	return false;
}

/* cscript //nologo "%OPT_PRN%\SCRIPT.vbs" */
static void
vbs(const struct gen *g, const char *script)
{
	fprintf(g->f, "cscript //nologo \"%%OPT_PRN%%\\%s.vbs\"", script);
}

/* A raw TCP port NAME to HOST:PORT, without SNMP. */
static void
bat_port(const struct gen *g, const char *name, const char *host, int port)
{
	vbs(g, "prnport");
	fputs(" -a -r ", g->f);
	cmd_quote(g->f, name);
	fputs(" -h ", g->f);
	cmd_quote(g->f, host);
	fprintf(g->f, " -o raw -n %d -md%s", port, g->eol);
}

static void
write_bat(const struct gen *g)
{
	static const char *const head[] = {
	    "rem opt-channel script, see opt-channel(1).  Run it as an administrator",
	    "rem on the terminal server.  A port or printer that exists already is",
	    "rem reported by its command and kept, and the script goes on, so it can",
	    "rem run again; prncnfg.vbs sets each printer's location and comment.",
	    "rem Each printer prints through the tunnel; the port direct:PRINTER:PORT",
	    "rem reaches the printer without it, as a fallback.",
	    "setlocal EnableExtensions DisableDelayedExpansion",
	    "set \"OPT_PRN=\"",
	    "for /d %%D in (\"%WINDIR%\\System32\\Printing_Admin_Scripts\\*\") "
	    "do if exist \"%%D\\prnport.vbs\" set \"OPT_PRN=%%D\"",
	    "if not defined OPT_PRN (",
	    "    echo prnport.vbs is not in "
	    "%WINDIR%\\System32\\Printing_Admin_Scripts 1>&2",
	    "    exit /b 1",
	    ")",
	    NULL,
	};
	/* cmd reads a batch file in the console's code page. */
	static const char *const utf8[] = {
	    "for /f \"tokens=2 delims=:.\" %%C in ('chcp') do set \"OPT_CP=%%C\"",
	    "chcp 65001 >nul",
	    NULL,
	};
	const struct opt_channels *cs = g->cs;
	const char *driver = g->sc->driver ? g->sc->driver : OPT_WINDOWS_DRIVER;
	bool cp = non_ascii(g);
	struct ports p;
	size_t i;

	fprintf(g->f, "@echo off%s", g->eol);
	fprintf(g->f,
	    "rem Printers of site %s through opt, one per channel: made by%s",
	    cs->site, g->eol);
	lines(g, head);
	if (cp)
		lines(g, utf8);
	vbs(g, "prndrvr");
	fputs(" -a -m ", g->f);
	cmd_quote(g->f, driver);
	fputs(g->eol, g->f);
	for (i = 0; i < cs->n; i++) {
		const struct opt_channel *c = &cs->v[i];

		if (!g->want[i])
			continue;
		channel_head(g, c, "rem", &p);
		bat_port(g, p.tunnel, g->sc->host, c->listen);
		bat_port(g, p.direct, c->printer, c->printer_port);
		vbs(g, "prnmngr");
		fputs(" -a -p ", g->f);
		cmd_quote(g->f, g->names[i]);
		fputs(" -m ", g->f);
		cmd_quote(g->f, driver);
		fputs(" -r ", g->f);
		cmd_quote(g->f, p.tunnel);
		fputs(g->eol, g->f);
		vbs(g, "prncnfg");
		fputs(" -t -p ", g->f);
		cmd_quote(g->f, g->names[i]);
		fputs(" -l ", g->f);
		cmd_quote(g->f, cs->site);
		/* an empty argument is no comment to WSH: leave it out */
		if (c->description[0] != '\0') {
			fputs(" -m ", g->f);
			cmd_quote(g->f, c->description);
		}
		fputs(g->eol, g->f);
	}
	if (cp)
		fprintf(g->f, "%sif defined OPT_CP chcp %%OPT_CP%% >nul%s",
		    g->eol, g->eol);
}

static void
write_cups(const struct gen *g)
{
	static const char *const head[] = {
	    "# opt-channel script, see opt-channel(1).  Run it as root on the print",
	    "# server: lpadmin makes each queue, or sets it again, so it can run",
	    "# again.  A queue made without a driver (-m) sends each job to the",
	    "# printer as it is (raw).",
	    "set -e",
	    NULL,
	};
	const struct opt_channels *cs = g->cs;
	struct ports p;
	char uri[OPT_HOST_MAX + 32];
	size_t i;

	fprintf(g->f, "#!/bin/sh%s", g->eol);
	fprintf(g->f,
	    "# Printers of site %s through opt, one queue per channel: "
	    "made by%s",
	    cs->site, g->eol);
	lines(g, head);
	for (i = 0; i < cs->n; i++) {
		const struct opt_channel *c = &cs->v[i];

		if (!g->want[i])
			continue;
		channel_head(g, c, "#", &p);
		snprintf(uri, sizeof(uri), "socket://%s", p.tunnel);
		fputs("lpadmin -p ", g->f);
		sh_quote(g->f, g->names[i]);
		fputs(" -E -v ", g->f);
		sh_quote(g->f, uri);
		fputs(" -D ", g->f);
		sh_quote(g->f, c->description);
		fputs(" -L ", g->f);
		sh_quote(g->f, cs->site);
		if (g->sc->driver != NULL) {
			fputs(" -m ", g->f);
			sh_quote(g->f, g->sc->driver);
		}
		fprintf(g->f, " -o printer-error-policy=retry-job%s", g->eol);
	}
}

int
opt_script_write(FILE *f, const struct opt_script *sc,
    const struct opt_channels *cs, const int *ids, size_t nids,
    struct opt_error *e)
{
	opt_printer_name *names = NULL;
	bool *want = NULL;
	struct gen g;
	size_t i, k;
	int r = -1;

	if (sc->driver != NULL && opt_script_driver_check(sc->driver, e) == -1)
		return -1;
	if (cs->n == 0)
		return opt_error_set(e, EX_NOINPUT, "no channels");
	if ((want = calloc(cs->n, sizeof(*want))) == NULL ||
	    (names = calloc(cs->n, sizeof(*names))) == NULL) {
		opt_error_set(e, EX_OSERR, "out of memory");
		goto out;
	}
	for (i = 0; i < cs->n; i++)
		want[i] = nids == 0;
	for (k = 0; k < nids; k++) {
		for (i = 0; i < cs->n && cs->v[i].id != ids[k]; i++)
			;
		if (i == cs->n) {
			opt_error_set(e, EX_NOINPUT,
			    "channel %d: no such channel", ids[k]);
			goto out;
		}
		want[i] = true;
	}
	for (i = 0; i < cs->n; i++)
		if (want[i] &&
		    opt_valid_description(cs->v[i].description, e) == -1) {
			opt_error_prefix(e, "channel %d: ", cs->v[i].id);
			goto out;
		}
	if (opt_script_names(cs, names, e) == -1)
		goto out;

	g.f = f;
	g.eol = sc->format == OPT_SCRIPT_CUPS ? "\n" : "\r\n";
	g.sc = sc;
	g.cs = cs;
	g.want = want;
	g.names = names;
	if (sc->format == OPT_SCRIPT_PS1)
		write_ps1(&g);
	else if (sc->format == OPT_SCRIPT_BAT)
		write_bat(&g);
	else
		write_cups(&g);
	r = 0;
out:
	free(want);
	free(names);
	return r;
}
