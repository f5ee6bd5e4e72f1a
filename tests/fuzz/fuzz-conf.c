/* Fuzz target: the loaders of site.conf, channels.conf, throttle.conf
 * and defaults.conf, on files in a scratch directory. */
#include <sys/stat.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channel.h"
#include "defaults.h"
#include "site.h"
#include "throttle.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct opt_paths paths;

static void
put(const char *name, const uint8_t *data, size_t len)
{
	char path[2 * PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", paths.config, name);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fwrite(data, 1, len, f);
	fclose(f);
	chmod(path, 0640);
}

static void
cleanup(void)
{
	static const char *const files[] = {"defaults.conf", "s/site.conf",
	    "s/channels.conf", "s/throttle.conf", "s", ""};
	char path[2 * PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(*files); i++) {
		snprintf(path, sizeof(path), "%s/%s", paths.config, files[i]);
		remove(path);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct opt_defaults d;
	struct opt_channels cs;
	struct opt_throttle th;
	struct opt_site s;
	struct opt_error e;

	if (paths.config[0] == '\0') {
		char dir[] = "/tmp/opt-fuzz.XXXXXX", sub[sizeof(dir) + 2];
		if (mkdtemp(dir) == NULL)
			abort();
		snprintf(paths.config, sizeof(paths.config), "%s", dir);
		snprintf(paths.run, sizeof(paths.run), "%s", dir);
		snprintf(paths.log, sizeof(paths.log), "%s", dir);
		snprintf(sub, sizeof(sub), "%s/s", dir);
		mkdir(sub, 0750);
		atexit(cleanup);
	}
	put("defaults.conf", data, len);
	put("s/site.conf", data, len);
	put("s/channels.conf", data, len);
	put("s/throttle.conf", data, len);
	if (opt_defaults_load(&paths, &d, &e) == -1)
		opt_defaults_builtin(&d);
	opt_site_load(&paths, &d, "s", &s, &e);
	if (opt_channels_load(&paths, "s", &cs, &e) == 0)
		opt_channels_free(&cs);
	opt_throttle_load(&paths, &d, "s", &th, &e);
	return 0;
}
