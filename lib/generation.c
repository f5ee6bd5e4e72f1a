/*
 * The generation is made of what stat(2) says of each file, not of its
 * bytes: a tunnel that dropped root can still stat a file it may not
 * read, so a tool and the tunnel agree on the generation of a file the
 * tunnel refuses.  Every save of the tools is a rename (a new inode),
 * a hand edit changes the mtime or the size, and a chmod the ctime; a
 * file touched without a change counts as changed, which costs one
 * reload at the most.
 */
#include <sys/stat.h>

#include <errno.h>
#include <sha2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "generation.h"

static const char *const files[] = {"site.conf", "channels.conf",
    "throttle.conf"};

/* One line of what the generation is made of, at buf[*n]; a file
 * missing or that cannot be stat'ed is its errno. */
static void
describe(char *buf, size_t len, size_t *n, const char *path)
{
	struct stat sb;
	int r;

	if (stat(path, &sb) == -1)
		r = snprintf(buf + *n, len - *n, "%s -%d\n", path, errno);
	else
		r = snprintf(buf + *n, len - *n,
		    "%s %ju %ju %jd %jd.%09ld %jd.%09ld %o %ju %ju\n", path,
		    (uintmax_t)sb.st_dev, (uintmax_t)sb.st_ino,
		    (intmax_t)sb.st_size, (intmax_t)sb.st_mtim.tv_sec,
		    sb.st_mtim.tv_nsec, (intmax_t)sb.st_ctim.tv_sec,
		    sb.st_ctim.tv_nsec, (unsigned)sb.st_mode,
		    (uintmax_t)sb.st_uid, (uintmax_t)sb.st_gid);
	if (r > 0)
		*n += (size_t)r < len - *n ? (size_t)r : len - *n - 1;
}

/* The site's generation, as 16 hex digits of a SHA-256. */
int
opt_generation_of(const struct opt_paths *p, const char *site, char *out,
    size_t len, struct opt_error *e)
{
	char text[4 * (PATH_MAX + 160)], path[PATH_MAX];
	char hex[SHA256_DIGEST_STRING_LENGTH];
	size_t n = 0, i;

	if (len < OPT_GENERATION_MAX)
		return opt_error_set(e, EX_SOFTWARE, "generation buffer");
	if (opt_paths_join(path, sizeof(path), e, p->config, "defaults.conf",
	        (char *)NULL) == -1)
		return -1;
	describe(text, sizeof(text), &n, path);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (opt_paths_site(p, site, files[i], path, sizeof(path), e) ==
		    -1)
			return -1;
		describe(text, sizeof(text), &n, path);
	}
	SHA256Data((const uint8_t *)text, n, hex);
	strlcpy(out, hex, OPT_GENERATION_MAX); /* its first 16 digits */
	return 0;
}
