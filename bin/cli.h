/*
 * What every opt tool's main() shares: the common options, the one
 * error format ("opt-site: nautilus: no such site"), exit codes, and
 * checked writes to stdout.  Only tools link this; lib/ never prints.
 */
#ifndef OPT_CLI_H
#define OPT_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdnoreturn.h>

#include "defaults.h"
#include "error.h"
#include "lock.h"
#include "output.h"
#include "paths.h"
#include "safefile.h"

struct cli {
	const char *prog;
	const char *config_dir; /* -C */
	enum opt_format format;
	bool quiet;
	int verbose;
	bool color;
	struct opt_paths paths;
};

/* Long options every tool takes; CLI_OPT_* are their getopt values. */
enum {
	CLI_OPT_JSON = 0x100,
	CLI_OPT_FIRST_TOOL,
};
#define CLI_SHORT_OPTS ":hVqvC:H"
/* clang-format off */
#define CLI_LONG_OPTS \
	{"help", no_argument, NULL, 'h'}, \
	{"version", no_argument, NULL, 'V'}, \
	{"quiet", no_argument, NULL, 'q'}, \
	{"verbose", no_argument, NULL, 'v'}, \
	{"config-dir", required_argument, NULL, 'C'}, \
	{"json", no_argument, NULL, CLI_OPT_JSON}
/* clang-format on */

void cli_init(struct cli *, const char *);
int cli_getopt(struct cli *, int, char **, const struct option *,
    void (*)(void));

/*
 * A tool's commands.  Each names the tool's own options it takes (bit i
 * of opts: the tool's flags[i], such as "--listen") and whether it
 * takes -H and --json.  cli_run refuses an option given to a command
 * that does not take it, saying which do, then runs the command with
 * argv[0] its name, and flushes standard output.
 */
struct cli_cmd {
	const char *name;
	int (*run)(int, char **);
	unsigned opts;
	bool formats;
};

int cli_run(struct cli *, const struct cli_cmd *, size_t,
    const char *const *flags, unsigned given, int, char **);

/* The sites named (each a valid id of a site that exists), or, with
 * none named, every site.  An error goes to fail first, if not NULL
 * (it may exit in its own way), then to cli_fail.  cli_sites_free
 * frees what it made. */
typedef void cli_fail_fn(const struct cli *, const char *,
    const struct opt_error *);
char **cli_sites(const struct cli *, int, char **, size_t *, cli_fail_fn *);
void cli_sites_free(int, char **, size_t);
void cli_paths(struct cli *);
void cli_site_id(const struct cli *, const char *);
void cli_site_exists(const struct cli *, const char *);
void cli_defaults(const struct cli *, struct opt_defaults *);
void cli_lock(const struct cli *, struct opt_lock *);
void cli_site_lock(struct cli *, const char *, struct opt_defaults *,
    struct opt_lock *);

/* Adds the rows of a site to a listing; -1 with the error if it cannot. */
typedef int cli_rows_fn(struct opt_table *, const struct opt_defaults *,
    const char *, struct opt_error *);
int cli_site_table(const struct cli *, const struct opt_column *, size_t,
    const char *, cli_rows_fn *, const struct opt_defaults *);
void cli_split_pairs(const struct cli *, int, char **, int);
const char *cli_value(const char *);
int cli_run_dir(const struct cli *, struct opt_owner *, bool,
    struct opt_error *);
int cli_reload_tunnel(const struct cli *, const char *);

noreturn void cli_fail(const struct cli *, const char *,
    const struct opt_error *);
noreturn void cli_usage_error(const struct cli *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
void cli_warn(const struct cli *, const char *, const struct opt_error *);
int cli_flush(const struct cli *, int);

#endif
