/* Config files: round trips, refusals, atomic replacement, the lock. */
#define _XOPEN_SOURCE 700
#include <sys/file.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "channel.h"
#include "conf.h"
#include "defaults.h"
#include "lock.h"
#include "output.h"
#include "pidfile.h"
#include "site.h"
#include "tap.h"
#include "throttle.h"

static struct opt_paths paths;

static void
put(const char *name, const char *text, mode_t mode)
{
	char path[2 * PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", paths.config, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static char *
slurp(const char *name)
{
	static char buf[8192];
	char path[2 * PATH_MAX];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", paths.config, name);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
site_round_trip(void)
{
	struct opt_defaults d;
	struct opt_throttle t;
	struct opt_site s, back;
	struct opt_error e;
	const char *const *k;

	opt_defaults_builtin(&d);
	s = d.site;
	strcpy(s.id, "nautilus");
	ok(opt_site_set(&s, "host", "203.0.113.10", &e) == 0, "set host");
	ok(opt_site_set(&s, "allow", "10.0.0.0/8, fd00::/8", &e) == 0,
	    "set allow with a space");
	ok(opt_site_set(&s, "description", "Caf\xc3\xa9 \"HQ\" \\ #1", &e) == 0,
	    "set a description with quotes, backslash and UTF-8");
	is_int(s.max_jobs, OPT_SITE_MAX_JOBS, "max_jobs is 256 by default");
	ok(opt_site_set(&s, "max_jobs", "1000", &e) == 0, "set max_jobs");
	ok(opt_site_set(&s, "max_jobs", "65537", &e) == -1 &&
	        e.status == EX_DATAERR && s.max_jobs == 1000,
	    "max_jobs above 65536 is refused and changes nothing");
	is_int(s.spool_max_age, 7 * 86400, "spool_max_age is 7 days");
	is_int(s.spool_warn_age, 15 * 60, "spool_warn_age is 15 minutes");
	ok(opt_site_set(&s, "spool_max_age", "36h", &e) == 0 &&
	        s.spool_max_age == 36 * 3600,
	    "set spool_max_age=36h");
	ok(opt_site_set(&s, "spool_warn_age", "59s", &e) == 0 &&
	        opt_site_set(&s, "spool_max_mb", "512", &e) == 0 &&
	        opt_site_set(&s, "spool_keep", "48", &e) == 0,
	    "set the other spool settings");
	ok(opt_site_set(&s, "spool_max_age", "59s", &e) == -1 &&
	        e.status == EX_DATAERR && s.spool_max_age == 36 * 3600,
	    "spool_max_age under a minute is refused and changes nothing");
	ok(opt_site_set(&s, "hots", "x", &e) == -1 && e.status == EX_USAGE,
	    "an unknown key is a usage error");
	t = d.throttle;
	ok(opt_site_create(&paths, &s, &t, NULL, &e) == 0, "create the site");
	ok(opt_site_create(&paths, &s, &t, NULL, &e) == -1 &&
	        e.status == EX_CANTCREAT,
	    "creating it twice is EX_CANTCREAT");
	ok(opt_site_load(&paths, &d, "nautilus", &back, &e) == 0,
	    "load it back");
	is_str(back.description, s.description, "description round trip");
	is_int((long long)back.nallow, 2, "two networks");
	is_str(back.allow[1], "fd00::/8", "second network");
	for (k = opt_site_keys; *k != NULL; k++) {
		char a[OPT_ALLOW_MAX * OPT_CIDR_MAX], b[sizeof(a)];

		opt_site_get(&s, *k, a, sizeof(a));
		opt_site_get(&back, *k, b, sizeof(b));
		is_str(b, a, *k);
	}
	ok(opt_site_load(&paths, &d, "nosuch", &back, &e) == -1 &&
	        e.status == EX_NOINPUT,
	    "a missing site is EX_NOINPUT");
	ok(opt_throttle_load(&paths, &d, "nautilus", &t, &e) == 0 &&
	        t.up == 100 && !t.enabled,
	    "throttle.conf from the defaults");
}

static void
broken_files(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"host = \"h\";\nport = = 22;\n", "site.conf:2: syntax error"},
	    {"host = \"h\";\nport = \"22\";\n",
	        "site.conf:2: port: must be a whole number"},
	    {"host = \"h\";\nport = 70000;\n",
	        "site.conf:2: port: port '70000' is not a port"},
	    {"host = \"h\";\nhots = \"x\";\n",
	        "site.conf:2: hots: unknown setting"},
	    {"host = \"x y\";\n", "site.conf:1: host: host 'x y' is not"},
	    {"port = 22;\n", "site.conf: host is not set"},
	    {"host = \"h\";\nallow = [\"10.0.0.0/99\"];\n",
	        "site.conf:2: allow: network '10.0.0.0/99'"},
	    {"host = \"h\";\ncompression = 1;\n",
	        "site.conf:2: compression: must be true or false"},
	    {"host = \"h\";\nmax_jobs = 0;\n",
	        "site.conf:2: max_jobs: max_jobs '0' is not a number from 1 "
	        "to 65536"},
	    {"host = \"h\";\nmax_jobs = \"8\";\n",
	        "site.conf:2: max_jobs: must be a whole number"},
	    {"host = \"h\";\nspool_max_age = \"1s\";\n",
	        "site.conf:2: spool_max_age: spool_max_age '1s' is out of "
	        "range (1m to 365d)"},
	    {"host = \"h\";\nspool_warn_age = 1.0;\n",
	        "site.conf:2: spool_warn_age: must be a duration like \"7d\" "
	        "or whole seconds"},
	    {"host = \"h\";\nspool_keep = 8761;\n",
	        "site.conf:2: spool_keep: spool_keep '8761' is not a number "
	        "from 0 to 8760"},
	};
	struct opt_defaults d;
	struct opt_site s;
	struct opt_error e;
	char name[160];
	size_t i;

	opt_defaults_builtin(&d);
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		put("broken/site.conf", cases[i].text, 0640);
		e.text[0] = '\0';
		snprintf(name, sizeof(name), "broken site.conf #%zu: %s", i,
		    cases[i].want);
		ok(opt_site_load(&paths, &d, "broken", &s, &e) == -1 &&
		        e.status == EX_CONFIG &&
		        strstr(e.text, cases[i].want) != NULL &&
		        strstr(e.text, paths.config) != NULL,
		    name);
		if (strstr(e.text, cases[i].want) == NULL)
			printf("#   got '%s'\n", e.text);
		is_str(slurp("broken/site.conf"), cases[i].text,
		    "...and the file is left as it was");
	}
	put("broken/site.conf", "host = \"h\";\n", 0660);
	ok(opt_site_load(&paths, &d, "broken", &s, &e) == -1 &&
	        e.status == EX_CONFIG && strstr(e.text, "writable by group"),
	    "a group-writable file is refused");
	put("broken/site.conf", "host = \"h\";\n", 0646);
	ok(opt_site_load(&paths, &d, "broken", &s, &e) == -1 &&
	        strstr(e.text, "writable by group or others"),
	    "an other-writable file is refused");

	put("defaults.conf", "port_range = [9200, 9100];\n", 0640);
	ok(opt_defaults_load(&paths, &d, &e) == -1 && e.status == EX_CONFIG &&
	        strstr(e.text, "first port 9200 is above last 9100"),
	    "an upside-down port_range is refused");
	put("defaults.conf", "host = \"x\";\n", 0640);
	ok(opt_defaults_load(&paths, &d, &e) == -1 &&
	        strstr(e.text, "host: unknown setting"),
	    "defaults.conf has no host");
	put("defaults.conf",
	    "port = 2222;\nup = 64;\nport_range = [9200, 9300];\n"
	    "public_host = \"print.example.com\";\n",
	    0640);
	ok(opt_defaults_load(&paths, &d, &e) == 0 && d.site.port == 2222 &&
	        d.throttle.up == 64 && d.port_lo == 9200 && d.port_hi == 9300 &&
	        strcmp(d.public_host, "print.example.com") == 0,
	    "defaults.conf overrides the built-in defaults");
	put("defaults.conf", "public_host = \"\";\n", 0640);
	ok(opt_defaults_load(&paths, &d, &e) == 0 && d.public_host[0] == '\0',
	    "an empty public_host is none");
	put("defaults.conf", "public_host = \"a b\";\n", 0640);
	ok(opt_defaults_load(&paths, &d, &e) == -1 && e.status == EX_CONFIG &&
	        strstr(e.text,
	            "defaults.conf:1: public_host: host 'a b' is "
	            "not a valid host name or address") != NULL,
	    "a public_host that is no host name is refused");
	unlink("etc/defaults.conf");
}

static void
channels(void)
{
	struct opt_channels cs, back;
	struct opt_channel c, *nc;
	struct opt_error e;

	opt_channel_builtin(&c);
	is_int(c.max_jobs, OPT_CHANNEL_MAX_JOBS, "max_jobs is 32 by default");
	ok(opt_channel_target("192.168.1.20", &c, &e) == 0 &&
	        c.printer_port == 9100,
	    "printer without port is :9100");
	ok(opt_channel_target("printer.lan:515", &c, &e) == 0 &&
	        c.printer_port == 515 && strcmp(c.printer, "printer.lan") == 0,
	    "HOST:PORT");
	ok(opt_channel_target("[fd00::5]:9101", &c, &e) == 0 &&
	        c.printer_port == 9101 && strcmp(c.printer, "fd00::5") == 0,
	    "[IPV6]:PORT");
	ok(opt_channel_target("fd00::5", &c, &e) == 0 && c.printer_port == 9100,
	    "bare IPv6");
	ok(opt_channel_target("[fd00::5", &c, &e) == -1, "unclosed bracket");
	ok(opt_channel_target("p:0", &c, &e) == -1, "port 0");
	ok(opt_channel_target("p:", &c, &e) == -1, "empty port");

	opt_channels_init(&cs, "nautilus");
	c.listen = 9100;
	nc = opt_channels_add(&cs, &c, &e);
	ok(nc != NULL && nc->id == 1, "first id is 1");
	c.listen = 9101;
	nc = opt_channels_add(&cs, &c, &e);
	ok(nc != NULL && nc->id == 2, "second id is 2");
	ok(opt_channels_remove(&cs, 2, &e) == 0, "remove 2");
	ok(opt_channels_remove(&cs, 2, &e) == -1 && e.status == EX_NOINPUT,
	    "remove 2 again: no such channel");
	ok(opt_channels_save(&paths, &cs, &e) == 0, "save");
	ok(opt_channels_load(&paths, "nautilus", &back, &e) == 0, "load");
	is_int(back.next_id, 3, "next_id survives the removal of the last");
	ok(strstr(slurp("nautilus/channels.conf"), "max_jobs") == NULL,
	    "max_jobs at its default is not written");
	nc = opt_channels_add(&back, &c, &e);
	ok(nc != NULL && nc->id == 3, "so id 2 is not given again");
	ok(opt_channel_set(nc, "max_jobs", "4097", &e) == -1 &&
	        e.status == EX_DATAERR && nc->max_jobs == OPT_CHANNEL_MAX_JOBS,
	    "max_jobs above 4096 is refused and changes nothing");
	ok(opt_channel_set(nc, "max_jobs", "7", &e) == 0, "set max_jobs");
	ok(opt_channels_save(&paths, &back, &e) == 0 &&
	        strstr(slurp("nautilus/channels.conf"),
	            "max_jobs = 7; description") != NULL,
	    "max_jobs other than the default is written");
	opt_channels_free(&cs);
	opt_channels_free(&back);
	ok(opt_channels_load(&paths, "nautilus", &back, &e) == 0 &&
	        back.n == 2 && back.v[0].max_jobs == OPT_CHANNEL_MAX_JOBS &&
	        back.v[1].max_jobs == 7,
	    "max_jobs reads back, the default where it is left out");
	opt_channels_free(&back);
	put("nautilus/channels.conf",
	    "channels = ( { id = 1; listen = 9100; printer = \"p\";\n"
	    "  mode = \"spool\"; } );\n",
	    0640);
	ok(opt_channels_load(&paths, "nautilus", &back, &e) == 0 &&
	        back.v[0].mode == OPT_MODE_SPOOL,
	    "mode = \"spool\" is read");
	ok(opt_channel_set(&back.v[0], "mode", "direct", &e) == 0 &&
	        back.v[0].mode == OPT_MODE_DIRECT &&
	        opt_channels_save(&paths, &back, &e) == 0 &&
	        strstr(slurp("nautilus/channels.conf"), "mode") == NULL,
	    "direct, the default, is not written");
	ok(opt_channel_set(&back.v[0], "mode", "Spool", &e) == -1 &&
	        e.status == EX_DATAERR &&
	        strcmp(e.text, "mode 'Spool' is not one of direct, spool") ==
	            0 &&
	        back.v[0].mode == OPT_MODE_DIRECT,
	    "mode Spool is refused and changes nothing");
	is_str(opt_channel_mode_name(OPT_MODE_SPOOL), "spool",
	    "the mode's name");
	opt_channels_free(&back);
	put("nautilus/channels.conf",
	    "channels = ( { id = 1; listen = 9100; printer = \"p\";\n"
	    "  mode = \"store\"; } );\n",
	    0640);
	ok(opt_channels_load(&paths, "nautilus", &back, &e) == -1 &&
	        e.status == EX_CONFIG &&
	        strstr(e.text,
	            "channels.conf:2: mode: mode 'store' is not one of "
	            "direct, spool") != NULL,
	    "mode store is refused with the file and line");
	put("nautilus/channels.conf",
	    "channels = ( { id = 1; listen = 9100; printer = \"p\";\n"
	    "  max_jobs = 0; } );\n",
	    0640);
	ok(opt_channels_load(&paths, "nautilus", &back, &e) == -1 &&
	        e.status == EX_CONFIG &&
	        strstr(e.text,
	            "channels.conf:2: max_jobs: 0 is out of range "
	            "(1-4096)") != NULL,
	    "max_jobs 0 is refused with the file and line");

	put("nautilus/channels.conf",
	    "channels = ( { id = 4; listen = 9100; printer = \"p\"; },\n"
	    "  { id = 4; listen = 9101; printer = \"q\"; } );\n",
	    0640);
	ok(opt_channels_load(&paths, "nautilus", &back, &e) == -1 &&
	        e.status == EX_CONFIG && strstr(e.text, "id 4 is used twice"),
	    "a duplicate id is refused");
	put("nautilus/channels.conf",
	    "channels = ( { id = 7; listen = 9100; printer = \"p\"; } );\n",
	    0640);
	ok(opt_channels_load(&paths, "nautilus", &back, &e) == 0 &&
	        back.next_id == 8 && back.v[0].printer_port == 9100,
	    "without next_id, ids continue after the highest");
	opt_channels_free(&back);
}

static void
locking(void)
{
	struct opt_lock a, b;
	struct opt_error e;

	ok(opt_lock_take(&paths, 1000, &a, &e) == 0, "take the lock");
	ok(opt_lock_take(&paths, 200, &b, &e) == -1 &&
	        e.status == EX_TEMPFAIL && strstr(e.text, "busy"),
	    "a second taker gives up with EX_TEMPFAIL");
	opt_lock_release(&a);
	ok(opt_lock_take(&paths, 200, &b, &e) == 0, "free again");
	opt_lock_release(&b);
}

static void
pidfiles(void)
{
	char path[2 * PATH_MAX];
	pid_t pid;
	int fd;

	snprintf(path, sizeof(path), "%s/x.pid", paths.run);
	is_int(opt_pidfile_probe(path, &pid), OPT_PROC_NONE, "no pidfile");
	fd = open(path, O_RDWR | O_CREAT, 0644);
	(void)!write(fd, "12345\n", 6);
	is_int(opt_pidfile_probe(path, &pid), OPT_PROC_STALE,
	    "an unlocked pidfile is stale");
	is_int(pid, 12345, "...naming its pid");
	flock(fd, LOCK_EX);
	is_int(opt_pidfile_probe(path, &pid), OPT_PROC_RUNNING,
	    "a locked pidfile is a running tunnel");
	is_int(opt_pidfile_probe_exact(path, &pid), OPT_PROC_RUNNING,
	    "...also to the exact probe");
	is_int(pid, getpid(),
	    "...which names the lock's holder, not the file's pid");
	close(fd);
}

static void
output(void)
{
	static const struct opt_column cols[] = {
	    {"name", "NAME", 0},
	    {"n", "N", OPT_COL_RIGHT},
	    {"list", "LIST", OPT_COL_JSON},
	};
	struct opt_table t;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	opt_table_init(&t, cols, 3);
	opt_table_row(&t);
	opt_table_str(&t, "name", "a \"q\" \\ \x01 \xc3\xa9");
	opt_table_int(&t, "n", 5);
	opt_table_list(&t, "list", "x,y");
	opt_table_row(&t);
	opt_table_str(&t, "name", "bb");
	opt_table_int(&t, "n", 12);
	opt_table_list(&t, "list", "");

	f = open_memstream(&buf, &len);
	opt_table_print(&t, f, OPT_FMT_JSON, false);
	fclose(f);
	is_str(buf,
	    "[{\"name\":\"a \\\"q\\\" \\\\ \\u0001 \xc3\xa9\",\"n\":5,"
	    "\"list\":[\"x\",\"y\"]},\n {\"name\":\"bb\",\"n\":12,"
	    "\"list\":[]}]\n",
	    "JSON escapes quotes, backslashes and control characters");
	free(buf);

	f = open_memstream(&buf, &len);
	opt_table_print(&t, f, OPT_FMT_TSV, false);
	fclose(f);
	is_str(buf, "a \"q\" \\ \x01 \xc3\xa9\t5\nbb\t12\n",
	    "TSV: no header, JSON-only columns left out");
	free(buf);

	f = open_memstream(&buf, &len);
	opt_table_print(&t, f, OPT_FMT_TABLE, false);
	fclose(f);
	is_str(buf,
	    "NAME          N\na \"q\" \\ \x01 \xc3\xa9   5\nbb           12\n",
	    "table: aligned by characters, numbers to the right");
	free(buf);
	opt_table_free(&t);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int
main(void)
{
	char dir[] = "/tmp/opt-unit.XXXXXX";

	if (mkdtemp(dir) == NULL || chdir(dir) == -1)
		return 2;
	mkdir("etc", 0750);
	mkdir("etc/broken", 0750);
	mkdir("run", 0750);
	snprintf(paths.config, sizeof(paths.config), "%s/etc", dir);
	snprintf(paths.run, sizeof(paths.run), "%s/run", dir);
	snprintf(paths.log, sizeof(paths.log), "%s/log", dir);
	umask(022);

	site_round_trip();
	broken_files();
	channels();
	locking();
	pidfiles();
	output();

	if (chdir("/") == 0)
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
