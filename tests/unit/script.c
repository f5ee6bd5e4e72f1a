/* Install scripts: printer names, refusals, and the exact text of each
 * language for hostile descriptions. */
#define _XOPEN_SOURCE 700
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "channel.h"
#include "script.h"
#include "tap.h"

/* A site's channels, made as opt-channel add makes them. */
static void
channel(struct opt_channels *cs, const char *printer, int port, int listen,
    const char *desc)
{
	struct opt_channel c;
	struct opt_error e;

	opt_channel_builtin(&c);
	strlcpy(c.printer, printer, sizeof(c.printer));
	c.printer_port = port;
	c.listen = listen;
	strlcpy(c.description, desc, sizeof(c.description));
	if (opt_channels_add(cs, &c, &e) == NULL)
		abort();
}

/* The script, or NULL with the error in e. */
static char *
script(enum opt_script_format fmt, const char *host, const char *driver,
    const struct opt_channels *cs, const int *ids, size_t nids,
    struct opt_error *e)
{
	struct opt_script sc = {fmt, host, driver};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int r = opt_script_write(f, &sc, cs, ids, nids, e);

	fclose(f);
	if (r == 0)
		return text;
	if (len != 0)
		printf("#   %zu bytes written before the error\n", len);
	free(text);
	return NULL;
}

/* text with each "\n" made "\r\n", as a Windows script has it */
static char *
crlf(const char *s)
{
	char *out = malloc(2 * strlen(s) + 1), *o = out;

	for (; *s != '\0'; s++) {
		if (*s == '\n')
			*o++ = '\r';
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

static void
formats(void)
{
	static const char *names[] = {"ps1", "bat", "cups"};
	static const char *bad[] = {"", "PS1", "sh", "cups ", "ps1\n"};
	enum opt_script_format f;
	struct opt_error e;
	size_t i;

	for (i = 0; i < 3; i++)
		ok(opt_script_format_parse(names[i], &f, &e) == 0 &&
		        f == (enum opt_script_format)i,
		    names[i]);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ok(opt_script_format_parse(bad[i], &f, &e) == -1 &&
		        e.status == EX_DATAERR &&
		        strstr(e.text, "is not one of ps1, bat, cups") != NULL,
		    "a bad format is refused");
	opt_script_format_parse("ps1\n", &f, &e);
	is_str(e.text, "format 'ps1\\x0a' is not one of ps1, bat, cups",
	    "...quoted in the message");
}

static void
drivers(void)
{
	static const char *good[] = {"Generic / Text Only",
	    "drv:///sample.drv/generic.ppd", "HP LaserJet 4 (PCL) 100% 'x'",
	    "Caf\xc3\xa9 \xe2\x80\x99"};
	static const char *bad[] = {"", "a\nb", "a\rb", "a\"b", "\xff", "a\x7f",
	    "a\xc2\x85", "a\tb"};
	struct opt_error e;
	char longest[OPT_DRIVER_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(*good); i++)
		ok(opt_script_driver_check(good[i], &e) == 0, good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ok(opt_script_driver_check(bad[i], &e) == -1 &&
		        e.status == EX_DATAERR && strchr(e.text, '\n') == NULL,
		    "a bad driver name is refused");
	memset(longest, 'd', sizeof(longest));
	longest[OPT_DRIVER_MAX] = '\0';
	ok(opt_script_driver_check(longest, &e) == 0,
	    "a driver name of 255 bytes is taken");
	longest[OPT_DRIVER_MAX] = 'd';
	longest[OPT_DRIVER_MAX + 1] = '\0';
	ok(opt_script_driver_check(longest, &e) == -1,
	    "...one of 256 is refused");
}

/* Every name is made of safe characters, within CUPS' 127. */
static int
safe_names(const struct opt_channels *cs, opt_printer_name *n)
{
	size_t i, j;

	for (i = 0; i < cs->n; i++) {
		if (strlen(n[i]) == 0 || strlen(n[i]) > 127 ||
		    strspn(n[i],
		        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
		        "TUVWXYZ0123456789-_") != strlen(n[i]))
			return 0;
		for (j = 0; j < i; j++)
			if (strcasecmp(n[i], n[j]) == 0)
				return 0;
	}
	return 1;
}

static void
names(void)
{
	static const struct {
		const char *desc, *name;
	} cases[] = {
	    {"Accounting HP", "nautilus-Accounting_HP"},
	    {"HP-4050 / 2nd floor", "nautilus-HP-4050_2nd_floor"},
	    {"  lead_and  trail  ", "nautilus-lead_and_trail"},
	    {"Caf\xc3\xa9 \xc5\x92uvre Stra\xc3\x9f"
	     "e \xc3\x86",
	        "nautilus-Cafe_OEuvre_Strasse_AE"},
	    {"a--b__c-_d", "nautilus-a_b_c_d"},
	    {"\xe2\x98\x83", "nautilus-6"},
	    {"", "nautilus-7"},
	    {"'; rm -rf / #", "nautilus-rm_rf"},
	    {"HP", "nautilus-HP"},
	    {"hp", "nautilus-hp-10"},
	    {"HP-10", "nautilus-HP-10-11"},
	    {"6", "nautilus-6-12"},
	    {"7", "nautilus-7-13"},
	};
	opt_printer_name n[32];
	struct opt_channels cs;
	struct opt_error e;
	char name[200], desc[OPT_DESC_MAX + 1];
	size_t i;

	opt_channels_init(&cs, "nautilus");
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		channel(&cs, "192.0.2.1", 9100, 9101 + (int)i, cases[i].desc);
	ok(opt_script_names(&cs, n, &e) == 0, "names are made");
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		snprintf(name, sizeof(name), "channel %d is %s", cs.v[i].id,
		    cases[i].name);
		is_str(n[i], cases[i].name, name);
	}
	ok(safe_names(&cs, n), "every name is safe and unique");

	/* The lowest id keeps the name, whatever the order of the file. */
	cs.v[8].id = 40;
	opt_script_names(&cs, n, &e);
	is_str(n[8], "nautilus-HP-40", "a higher id loses a name it shares");
	is_str(n[9], "nautilus-hp", "...to the lower one, listed after it");
	opt_channels_free(&cs);

	/* The longest site id, description and channel id. */
	opt_channels_init(&cs,
	    "s23456789012345678901234567890123456789012345678"
	    "901234567890123");
	memset(desc, 'D', 80);
	desc[80] = '\0';
	channel(&cs, "192.0.2.1", 9100, 9101, desc);
	channel(&cs, "192.0.2.1", 9100, 9102, desc);
	cs.v[1].id = INT_MAX;
	opt_script_names(&cs, n, &e);
	is_int(strlen(n[0]), 63 + 1 + 48, "a slug is cut at 48 bytes");
	is_int(strlen(n[1]), 63 + 1 + 48 + 11, "...and its id still fits");
	ok(safe_names(&cs, n), "...within 127 bytes");
	opt_channels_free(&cs);
}

/* The hostile descriptions: quotes of every kind, what cmd, PowerShell
 * and sh expand or run, UTF-8. */
static void
hostile(struct opt_channels *cs)
{
	opt_channels_init(cs, "nautilus");
	channel(cs, "192.168.1.20", 9100, 9101,
	    "Q 'single' \"double\" \xe2\x80\x98left\xe2\x80\x99 "
	    "\xe2\x80\x99right\xe2\x80\x99 \xe2\x80\x9alow\xe2\x80\x9b");
	channel(cs, "fd00::5", 9100, 9102,
	    "100% & ^ | < > ! $HOME `id`; (x) %PATH% ^&");
	channel(cs, "printer.lan", 9200, 9103,
	    "Caf\xc3\xa9 \xe2\x98\x83 \xe2\x80\x9c"
	    "dq\xe2\x80\x9d "
	    "\xe2\x80\x9elow\xe2\x80\x9c");
}

static const char ps1_hostile[] =
    "\xef\xbb\xbf"
    "# Printers of site nautilus through opt, one per channel: made by\n"
    "# opt-channel script, see opt-channel(1).  Run it in an elevated\n"
    "# PowerShell on the terminal server: it adds the driver, the ports and\n"
    "# the printers that are missing and keeps those that exist, so it can\n"
    "# run again.  Each printer prints through the tunnel; the port\n"
    "# direct:PRINTER:PORT reaches the printer without it, as a fallback.\n"
    "$ErrorActionPreference = 'Stop'\n"
    "\n"
    "function Add-OptPort([string]$Name, [string]$Address, [uint32]$Number) {\n"
    "    if (Get-PrinterPort | Where-Object { $_.Name -eq $Name }) {\n"
    "        Write-Host \"port $Name exists, kept\"\n"
    "    } else {\n"
    "        Add-PrinterPort -Name $Name -PrinterHostAddress $Address -PortNumber $Number\n"
    "        Write-Host \"port $Name added\"\n"
    "    }\n"
    "}\n"
    "\n"
    "function Add-OptPrinter([string]$Name, [string]$Driver, [string]$Port, [string]$Location, [string]$Comment) {\n"
    "    if (Get-Printer | Where-Object { $_.Name -eq $Name }) {\n"
    "        Write-Host \"printer $Name exists, kept\"\n"
    "    } else {\n"
    "        Add-Printer -Name $Name -DriverName $Driver -PortName $Port -Location $Location -Comment $Comment\n"
    "        Write-Host \"printer $Name added\"\n"
    "    }\n"
    "}\n"
    "\n"
    "$Driver = 'Generic / Text Only'\n"
    "if (-not (Get-PrinterDriver | Where-Object { $_.Name -eq $Driver })) {\n"
    "    Add-PrinterDriver -Name $Driver\n"
    "    Write-Host \"driver $Driver added\"\n"
    "}\n"
    "\n"
    "# channel 1: 192.168.1.20:9100\n"
    "Add-OptPort -Name 'opt.example.com:9101' -Address 'opt.example.com' -Number 9101\n"
    "Add-OptPort -Name 'direct:192.168.1.20:9100' -Address '192.168.1.20' -Number 9100\n"
    "Add-OptPrinter -Name 'nautilus-Q_single_double_left_right_low' -Driver $Driver -Port 'opt.example.com:9101' -Location 'nautilus' -Comment "
    "'Q ''single'' \"double\" \xe2\x80\x98\xe2\x80\x98left\xe2\x80\x99\xe2\x80\x99 "
    "\xe2\x80\x99\xe2\x80\x99right\xe2\x80\x99\xe2\x80\x99 "
    "\xe2\x80\x9a\xe2\x80\x9alow\xe2\x80\x9b\xe2\x80\x9b'\n"
    "\n"
    "# channel 2: [fd00::5]:9100\n"
    "Add-OptPort -Name 'opt.example.com:9102' -Address 'opt.example.com' -Number 9102\n"
    "Add-OptPort -Name 'direct:[fd00::5]:9100' -Address 'fd00::5' -Number 9100\n"
    "Add-OptPrinter -Name 'nautilus-100_HOME_id_x_PATH' -Driver $Driver -Port 'opt.example.com:9102' -Location 'nautilus' -Comment "
    "'100% & ^ | < > ! $HOME `id`; (x) %PATH% ^&'\n"
    "\n"
    "# channel 3: printer.lan:9200\n"
    "Add-OptPort -Name 'opt.example.com:9103' -Address 'opt.example.com' -Number 9103\n"
    "Add-OptPort -Name 'direct:printer.lan:9200' -Address 'printer.lan' -Number 9200\n"
    "Add-OptPrinter -Name 'nautilus-Cafe_dq_low' -Driver $Driver -Port 'opt.example.com:9103' -Location 'nautilus' -Comment "
    "'Caf\xc3\xa9 \xe2\x98\x83 \xe2\x80\x9c"
    "dq\xe2\x80\x9d \xe2\x80\x9elow\xe2\x80\x9c'\n";

static const char bat_hostile[] =
    "@echo off\n"
    "rem Printers of site nautilus through opt, one per channel: made by\n"
    "rem opt-channel script, see opt-channel(1).  Run it as an administrator\n"
    "rem on the terminal server.  A port or printer that exists already is\n"
    "rem reported by its command and kept, and the script goes on, so it can\n"
    "rem run again; prncnfg.vbs sets each printer's location and comment.\n"
    "rem Each printer prints through the tunnel; the port direct:PRINTER:PORT\n"
    "rem reaches the printer without it, as a fallback.\n"
    "setlocal EnableExtensions DisableDelayedExpansion\n"
    "set \"OPT_PRN=\"\n"
    "for /d %%D in (\"%WINDIR%\\System32\\Printing_Admin_Scripts\\*\") do if exist \"%%D\\prnport.vbs\" set \"OPT_PRN=%%D\"\n"
    "if not defined OPT_PRN (\n"
    "    echo prnport.vbs is not in %WINDIR%\\System32\\Printing_Admin_Scripts 1>&2\n"
    "    exit /b 1\n"
    ")\n"
    "for /f \"tokens=2 delims=:.\" %%C in ('chcp') do set \"OPT_CP=%%C\"\n"
    "chcp 65001 >nul\n"
    "cscript //nologo \"%OPT_PRN%\\prndrvr.vbs\" -a -m \"Generic / Text Only\"\n"
    "\n"
    "rem channel 1: 192.168.1.20:9100\n"
    "cscript //nologo \"%OPT_PRN%\\prnport.vbs\" -a -r \"opt.example.com:9101\" -h \"opt.example.com\" -o raw -n 9101 -md\n"
    "cscript //nologo \"%OPT_PRN%\\prnport.vbs\" -a -r \"direct:192.168.1.20:9100\" -h \"192.168.1.20\" -o raw -n 9100 -md\n"
    "cscript //nologo \"%OPT_PRN%\\prnmngr.vbs\" -a -p \"nautilus-Q_single_double_left_right_low\" -m \"Generic / Text Only\" -r \"opt.example.com:9101\"\n"
    "cscript //nologo \"%OPT_PRN%\\prncnfg.vbs\" -t -p \"nautilus-Q_single_double_left_right_low\" -l \"nautilus\" -m "
    "\"Q 'single' 'double' \xe2\x80\x98left\xe2\x80\x99 \xe2\x80\x99right\xe2\x80\x99 \xe2\x80\x9alow\xe2\x80\x9b\"\n"
    "\n"
    "rem channel 2: [fd00::5]:9100\n"
    "cscript //nologo \"%OPT_PRN%\\prnport.vbs\" -a -r \"opt.example.com:9102\" -h \"opt.example.com\" -o raw -n 9102 -md\n"
    "cscript //nologo \"%OPT_PRN%\\prnport.vbs\" -a -r \"direct:[fd00::5]:9100\" -h \"fd00::5\" -o raw -n 9100 -md\n"
    "cscript //nologo \"%OPT_PRN%\\prnmngr.vbs\" -a -p \"nautilus-100_HOME_id_x_PATH\" -m \"Generic / Text Only\" -r \"opt.example.com:9102\"\n"
    "cscript //nologo \"%OPT_PRN%\\prncnfg.vbs\" -t -p \"nautilus-100_HOME_id_x_PATH\" -l \"nautilus\" -m "
    "\"100%% & ^ | < > ! $HOME `id`; (x) %%PATH%% ^&\"\n"
    "\n"
    "rem channel 3: printer.lan:9200\n"
    "cscript //nologo \"%OPT_PRN%\\prnport.vbs\" -a -r \"opt.example.com:9103\" -h \"opt.example.com\" -o raw -n 9103 -md\n"
    "cscript //nologo \"%OPT_PRN%\\prnport.vbs\" -a -r \"direct:printer.lan:9200\" -h \"printer.lan\" -o raw -n 9200 -md\n"
    "cscript //nologo \"%OPT_PRN%\\prnmngr.vbs\" -a -p \"nautilus-Cafe_dq_low\" -m \"Generic / Text Only\" -r \"opt.example.com:9103\"\n"
    "cscript //nologo \"%OPT_PRN%\\prncnfg.vbs\" -t -p \"nautilus-Cafe_dq_low\" -l \"nautilus\" -m "
    "\"Caf\xc3\xa9 \xe2\x98\x83 \xe2\x80\x9c"
    "dq\xe2\x80\x9d \xe2\x80\x9elow\xe2\x80\x9c\"\n"
    "\n"
    "if defined OPT_CP chcp %OPT_CP% >nul\n";

static const char cups_hostile[] =
    "#!/bin/sh\n"
    "# Printers of site nautilus through opt, one queue per channel: made by\n"
    "# opt-channel script, see opt-channel(1).  Run it as root on the print\n"
    "# server: lpadmin makes each queue, or sets it again, so it can run\n"
    "# again.  A queue made without a driver (-m) sends each job to the\n"
    "# printer as it is (raw).\n"
    "set -e\n"
    "\n"
    "# channel 1: 192.168.1.20:9100\n"
    "lpadmin -p 'nautilus-Q_single_double_left_right_low' -E -v 'socket://opt.example.com:9101' -D "
    "'Q '\\''single'\\'' \"double\" \xe2\x80\x98left\xe2\x80\x99 \xe2\x80\x99right\xe2\x80\x99 \xe2\x80\x9alow\xe2\x80\x9b'"
    " -L 'nautilus' -o printer-error-policy=retry-job\n"
    "\n"
    "# channel 2: [fd00::5]:9100\n"
    "lpadmin -p 'nautilus-100_HOME_id_x_PATH' -E -v 'socket://opt.example.com:9102' -D "
    "'100% & ^ | < > ! $HOME `id`; (x) %PATH% ^&'"
    " -L 'nautilus' -o printer-error-policy=retry-job\n"
    "\n"
    "# channel 3: printer.lan:9200\n"
    "lpadmin -p 'nautilus-Cafe_dq_low' -E -v 'socket://opt.example.com:9103' -D "
    "'Caf\xc3\xa9 \xe2\x98\x83 \xe2\x80\x9c"
    "dq\xe2\x80\x9d \xe2\x80\x9elow\xe2\x80\x9c'"
    " -L 'nautilus' -o printer-error-policy=retry-job\n";

static void
hostile_text(void)
{
	struct opt_channels cs;
	struct opt_error e;
	char *got, *want;

	hostile(&cs);
	got = script(OPT_SCRIPT_PS1, "opt.example.com", NULL, &cs, NULL, 0, &e);
	want = crlf(ps1_hostile);
	is_str(got, want, "ps1: the exact script, every description quoted");
	free(got);
	free(want);
	got = script(OPT_SCRIPT_BAT, "opt.example.com", NULL, &cs, NULL, 0, &e);
	want = crlf(bat_hostile);
	is_str(got, want, "bat: the exact script, every description quoted");
	free(got);
	free(want);
	got =
	    script(OPT_SCRIPT_CUPS, "opt.example.com", NULL, &cs, NULL, 0, &e);
	is_str(got, cups_hostile,
	    "cups: the exact script, every description "
	    "quoted");
	free(got);
	opt_channels_free(&cs);
}

/* One ASCII channel, a driver with a quote and a %, an IPv6 host. */
static const char ps1_driver[] =
    "$Driver = 'Kyocera ''Mita'' 100%'\n"
    "if (-not (Get-PrinterDriver | Where-Object { $_.Name -eq $Driver })) {\n"
    "    Add-PrinterDriver -Name $Driver\n"
    "    Write-Host \"driver $Driver added\"\n"
    "}\n"
    "\n"
    "# channel 2: 192.0.2.7:9100\n"
    "Add-OptPort -Name '[fd00::1]:9102' -Address 'fd00::1' -Number 9102\n"
    "Add-OptPort -Name 'direct:192.0.2.7:9100' -Address '192.0.2.7' -Number 9100\n"
    "Add-OptPrinter -Name 'ship-Plotter' -Driver $Driver -Port '[fd00::1]:9102' -Location 'ship' -Comment 'Plotter'\n";

static const char bat_driver[] =
    ")\n"
    "cscript //nologo \"%OPT_PRN%\\prndrvr.vbs\" -a -m \"Kyocera 'Mita' 100%%\"\n"
    "\n"
    "rem channel 2: 192.0.2.7:9100\n"
    "cscript //nologo \"%OPT_PRN%\\prnport.vbs\" -a -r \"[fd00::1]:9102\" -h \"fd00::1\" -o raw -n 9102 -md\n"
    "cscript //nologo \"%OPT_PRN%\\prnport.vbs\" -a -r \"direct:192.0.2.7:9100\" -h \"192.0.2.7\" -o raw -n 9100 -md\n"
    "cscript //nologo \"%OPT_PRN%\\prnmngr.vbs\" -a -p \"ship-Plotter\" -m \"Kyocera 'Mita' 100%%\" -r \"[fd00::1]:9102\"\n"
    "cscript //nologo \"%OPT_PRN%\\prncnfg.vbs\" -t -p \"ship-Plotter\" -l \"ship\" -m \"Plotter\"\n";

static const char cups_driver[] =
    "set -e\n"
    "\n"
    "# channel 2: 192.0.2.7:9100\n"
    "lpadmin -p 'ship-Plotter' -E -v 'socket://[fd00::1]:9102' -D 'Plotter' -L 'ship' -m 'Kyocera '\\''Mita'\\'' 100%' -o printer-error-policy=retry-job\n";

/* got ends with want */
static int
ends_with(const char *got, const char *want)
{
	size_t g = got ? strlen(got) : 0, w = strlen(want);

	if (g >= w && strcmp(got + g - w, want) == 0)
		return 1;
	printf("#   got '%s'\n#  want '...%s'\n", got ? got : "(null)", want);
	return 0;
}

static void
driver_text(void)
{
	static const char driver[] = "Kyocera 'Mita' 100%";
	static const int two[] = {2};
	struct opt_channels cs;
	struct opt_error e;
	char *got, *want;

	opt_channels_init(&cs, "ship");
	channel(&cs, "192.0.2.5", 9100, 9101, "Front desk");
	channel(&cs, "192.0.2.7", 9100, 9102, "Plotter");
	got = script(OPT_SCRIPT_PS1, "fd00::1", driver, &cs, two, 1, &e);
	want = crlf(ps1_driver);
	ok(ends_with(got, want),
	    "ps1: the driver named, an IPv6 host, "
	    "channel 2 alone");
	free(got);
	free(want);
	got = script(OPT_SCRIPT_BAT, "fd00::1", driver, &cs, two, 1, &e);
	want = crlf(bat_driver);
	ok(ends_with(got, want), "bat: the same, without chcp: all is ASCII");
	ok(got != NULL && strstr(got, "chcp") == NULL &&
	        strstr(got, "Front desk") == NULL,
	    "...and nothing of channel 1");
	free(got);
	free(want);
	got = script(OPT_SCRIPT_CUPS, "fd00::1", driver, &cs, two, 1, &e);
	ok(ends_with(got, cups_driver), "cups: the same, with -m");
	free(got);
	opt_channels_free(&cs);
}

static void
selection(void)
{
	static const int ids[] = {3, 1, 3};
	static const int bad[] = {1, 9};
	struct opt_channels cs;
	struct opt_error e;
	char *got;
	const char *one, *three;

	hostile(&cs);
	got = script(OPT_SCRIPT_CUPS, "h", NULL, &cs, ids, 3, &e);
	one = got ? strstr(got, "# channel 1:") : NULL;
	three = got ? strstr(got, "# channel 3:") : NULL;
	ok(one != NULL && three != NULL && one < three &&
	        strstr(got, "# channel 2:") == NULL &&
	        strstr(three + 1, "# channel 3:") == NULL,
	    "ids 3 1 3: channels 1 and 3, once each, in the file's order");
	free(got);
	e.text[0] = '\0';
	ok(script(OPT_SCRIPT_PS1, "h", NULL, &cs, bad, 2, &e) == NULL &&
	        e.status == EX_NOINPUT,
	    "an id that is not a channel is refused, and nothing is written");
	is_str(e.text, "channel 9: no such channel", "...saying which");
	opt_channels_free(&cs);

	opt_channels_init(&cs, "empty");
	ok(script(OPT_SCRIPT_BAT, "h", NULL, &cs, NULL, 0, &e) == NULL &&
	        e.status == EX_NOINPUT && strcmp(e.text, "no channels") == 0,
	    "a site without channels has no script");
	opt_channels_free(&cs);
}

/* A description that holds a line break (channels.conf refuses one; a
 * struct filled otherwise may not) never reaches a script. */
static void
line_breaks(void)
{
	static const int one[] = {1};
	static const char *breaks[] = {"a\nRemove-Item C:\\ #",
	    "a\r\ndel /q C:\\", "a\x85next", "a\x1a"};
	struct opt_channels cs;
	struct opt_error e;
	char name[96], *got;
	size_t i;
	int f;

	for (i = 0; i < sizeof(breaks) / sizeof(*breaks); i++) {
		for (f = OPT_SCRIPT_PS1; f <= OPT_SCRIPT_CUPS; f++) {
			hostile(&cs);
			strlcpy(cs.v[1].description, breaks[i],
			    sizeof(cs.v[1].description));
			snprintf(name, sizeof(name),
			    "format %d, break #%zu: refused, nothing written",
			    f, i);
			e.text[0] = '\0';
			ok(script((enum opt_script_format)f, "h", NULL, &cs,
			       NULL, 0, &e) == NULL &&
			        e.status == EX_DATAERR &&
			        strncmp(e.text, "channel 2: description '",
			            24) == 0 &&
			        strchr(e.text, '\n') == NULL &&
			        strchr(e.text, '\r') == NULL,
			    name);
			opt_channels_free(&cs);
		}
	}
	hostile(&cs);
	strlcpy(cs.v[1].description, "a\nb", sizeof(cs.v[1].description));
	got = script(OPT_SCRIPT_CUPS, "h", NULL, &cs, one, 1, &e);
	ok(got != NULL, "a channel not asked for is not checked");
	free(got);
	opt_channels_free(&cs);
}

int
main(void)
{
	formats();
	drivers();
	names();
	hostile_text();
	driver_text();
	selection();
	line_breaks();
	return done_testing();
}
