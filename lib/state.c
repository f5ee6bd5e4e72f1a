#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "state.h"

static const char *const names[] = {
    [OPT_TS_CONNECTING] = "connecting",
    [OPT_TS_UP] = "up",
    [OPT_TS_RETRYING] = "retrying",
    [OPT_TS_DRAINING] = "draining",
    [OPT_TS_HOSTKEY_MISMATCH] = "hostkey-mismatch",
    [OPT_TS_STOPPED] = "stopped",
    [OPT_TS_STALE] = "stale",
};

const char *
opt_tstate_name(enum opt_tstate s)
{
	return names[s];
}

static int
tstate_parse(const char *s, enum opt_tstate *out)
{
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(*names); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum opt_tstate)i;
			return 0;
		}
	}
	return -1;
}

/* Printable ASCII, in place: control characters become spaces and other
 * bytes '?', so that a value read from a state file can reach a
 * terminal, a tab-separated line or JSON as it is. */
static void
clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
		else if ((unsigned char)*s > 0x7f)
			*s = '?';
}

/* A value for the file: one line, printable. */
void
opt_state_text(char *dst, size_t len, const char *src)
{
	strlcpy(dst, src, len);
	clean(dst);
}

void
opt_state_format(FILE *f, const struct opt_state *s)
{
	size_t i;

	fprintf(f,
	    "site=%s\npid=%ld\nstate=%s\nsince=%lld\nupdated=%lld\n"
	    "reconnects=%llu\nlast_error=%s\ncompression=%s\n"
	    "wire_up=%llu\nwire_down=%llu\npayload_up=%llu\n"
	    "payload_down=%llu\njobs=%llu\nrate_up=%llu\nrate_down=%llu\n"
	    "probes=%llu\ninterval=%u\ngeneration=%s\nreloads=%llu\n"
	    "reload_generation=%s\nreload_error=%s\n",
	    s->site, s->pid, opt_tstate_name(s->state), s->since, s->updated,
	    s->reconnects, s->last_error, s->compression, s->wire_up,
	    s->wire_down, s->payload_up, s->payload_down, s->jobs, s->rate_up,
	    s->rate_down, s->probes, s->interval, s->generation, s->reloads,
	    s->reload_generation, s->reload_error);
	if (s->has_throttle)
		fprintf(f,
		    "throttle=%s\nthrottle_up=%llu\nthrottle_down=%llu\n",
		    s->throttle_on ? "on" : "off", s->throttle_up,
		    s->throttle_down);
	fprintf(f, "channels=%zu\n", s->nchannels);
	for (i = 0; i < s->nchannels; i++) {
		const struct opt_state_channel *c = &s->channels[i];
		fprintf(f,
		    "channel.%d.listen=%d\nchannel.%d.printer=%s:%d\n"
		    "channel.%d.active=%u\nchannel.%d.jobs=%llu\n"
		    "channel.%d.bytes_up=%llu\nchannel.%d.bytes_down=%llu\n"
		    "channel.%d.probe=%s\nchannel.%d.probe_at=%lld\n"
		    "channel.%d.last_error=%s\nchannel.%d.mode=%s\n",
		    c->id, c->listen, c->id, c->printer, c->printer_port, c->id,
		    c->active, c->id, c->jobs, c->id, c->bytes_up, c->id,
		    c->bytes_down, c->id, c->probe, c->id, c->probe_at, c->id,
		    c->last_error, c->id, c->mode[0] ? c->mode : "direct");
		fprintf(f,
		    "channel.%d.probe_since=%lld\nchannel.%d.pjl_code=%d\n"
		    "channel.%d.pjl_display=%s\n",
		    c->id, c->probe_since, c->id, c->pjl_code, c->id,
		    c->pjl_display);
	}
}

/* PATH names the file in the run directory open as dirfd: the temp
 * file and the rename are relative to it, and follow no link. */
int
opt_state_write(int dirfd, const char *path, const struct opt_state *s,
    struct opt_error *e)
{
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char tmp[NAME_MAX + 1], *buf = NULL;
	size_t len = 0, off = 0;
	int fd = -1, tries;
	FILE *f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return opt_error_errno(e, EX_OSERR, "state");
	opt_state_format(f, s);
	if (fclose(f) != 0) {
		free(buf);
		return opt_error_errno(e, EX_OSERR, "state");
	}
	for (tries = 0; fd == -1 && tries < 10; tries++) {
		if (snprintf(tmp, sizeof(tmp), "%s.%08x", name, arc4random()) >=
		    (int)sizeof(tmp)) {
			free(buf);
			return opt_error_set(e, EX_SOFTWARE,
			    "%s: path too long", path);
		}
		fd = openat(dirfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd == -1 && errno != EEXIST)
			break;
	}
	if (fd == -1) {
		free(buf);
		return opt_error_errno(e, 0, "cannot write %s", path);
	}
	(void)fchmod(fd, 0644);
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		off += (size_t)n;
	}
	free(buf);
	if (off < len || close(fd) == -1 ||
	    renameat(dirfd, tmp, dirfd, name) == -1) {
		opt_error_errno(e, 0, "cannot write %s", path);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	return 0;
}

static int
u64(const char *v, unsigned long long *out)
{
	char *end;

	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	*out = strtoull(v, &end, 10);
	return (errno || *end != '\0') ? -1 : 0;
}

static int
i64(const char *v, long long *out)
{
	char *end;

	if (!((*v >= '0' && *v <= '9') || *v == '-'))
		return -1;
	errno = 0;
	*out = strtoll(v, &end, 10);
	return (errno || *end != '\0') ? -1 : 0;
}

static struct opt_state_channel *
channel(struct opt_state *s, int id)
{
	struct opt_state_channel *nv;
	size_t i;

	for (i = 0; i < s->nchannels; i++)
		if (s->channels[i].id == id)
			return &s->channels[i];
	if (s->nchannels >= 65536)
		return NULL;
	nv = reallocarray(s->channels, s->nchannels + 1, sizeof(*nv));
	if (nv == NULL)
		return NULL;
	s->channels = nv;
	nv = &s->channels[s->nchannels++];
	memset(nv, 0, sizeof(*nv));
	nv->id = id;
	strlcpy(nv->probe, "unknown", sizeof(nv->probe));
	return nv;
}

static int
channel_field(struct opt_state *s, const char *key, const char *v)
{
	struct opt_state_channel *c;
	unsigned long long u;
	long long id, n;
	const char *dot;
	char num[16];

	dot = strchr(key, '.');
	if (dot == NULL || (size_t)(dot - key) >= sizeof(num))
		return -1;
	memcpy(num, key, (size_t)(dot - key));
	num[dot - key] = '\0';
	if (i64(num, &id) == -1 || id < 1 || id > INT_MAX ||
	    (c = channel(s, (int)id)) == NULL)
		return -1;
	key = dot + 1;
	if (strcmp(key, "listen") == 0)
		return i64(v, &n) == -1 || n < 0 || n > 65535
		    ? -1
		    : (c->listen = (int)n, 0);
	if (strcmp(key, "printer") == 0) {
		const char *colon = strrchr(v, ':');
		if (colon == NULL || i64(colon + 1, &n) == -1 || n < 0 ||
		    n > 65535 || (size_t)(colon - v) >= sizeof(c->printer))
			return -1;
		memcpy(c->printer, v, (size_t)(colon - v));
		c->printer[colon - v] = '\0';
		clean(c->printer);
		c->printer_port = (int)n;
		return 0;
	}
	if (strcmp(key, "active") == 0)
		return u64(v, &u) == -1 || u > UINT_MAX
		    ? -1
		    : (c->active = (unsigned)u, 0);
	if (strcmp(key, "jobs") == 0)
		return u64(v, &c->jobs);
	if (strcmp(key, "bytes_up") == 0)
		return u64(v, &c->bytes_up);
	if (strcmp(key, "bytes_down") == 0)
		return u64(v, &c->bytes_down);
	if (strcmp(key, "mode") == 0)
		return opt_state_text(c->mode, sizeof(c->mode), v), 0;
	if (strcmp(key, "probe") == 0)
		return opt_state_text(c->probe, sizeof(c->probe), v), 0;
	if (strcmp(key, "probe_at") == 0)
		return i64(v, &c->probe_at);
	if (strcmp(key, "probe_since") == 0)
		return i64(v, &c->probe_since);
	if (strcmp(key, "pjl_code") == 0)
		return i64(v, &n) == -1 || n < 0 || n > 99999
		    ? -1
		    : (c->pjl_code = (int)n, 0);
	if (strcmp(key, "pjl_display") == 0)
		return opt_state_text(c->pjl_display, sizeof(c->pjl_display),
		           v),
		       0;
	if (strcmp(key, "last_error") == 0)
		return opt_state_text(c->last_error, sizeof(c->last_error), v),
		       0;
	return 0;
}

static int
field(struct opt_state *s, const char *key, const char *v)
{
	unsigned long long u;
	long long n;

	if (strncmp(key, "channel.", 8) == 0)
		return channel_field(s, key + 8, v);
	if (strcmp(key, "site") == 0)
		return opt_valid_site_id(v, NULL) == -1
		    ? -1
		    : (strlcpy(s->site, v, sizeof(s->site)), 0);
	if (strcmp(key, "pid") == 0)
		return i64(v, &n) == -1 || n < 0 || n > INT_MAX
		    ? -1
		    : (s->pid = (long)n, 0);
	if (strcmp(key, "state") == 0)
		return tstate_parse(v, &s->state);
	if (strcmp(key, "since") == 0)
		return i64(v, &s->since);
	if (strcmp(key, "updated") == 0)
		return i64(v, &s->updated);
	if (strcmp(key, "reconnects") == 0)
		return u64(v, &s->reconnects);
	if (strcmp(key, "last_error") == 0)
		return opt_state_text(s->last_error, sizeof(s->last_error), v),
		       0;
	if (strcmp(key, "compression") == 0)
		return opt_state_text(s->compression, sizeof(s->compression),
		           v),
		       0;
	if (strcmp(key, "wire_up") == 0)
		return u64(v, &s->wire_up);
	if (strcmp(key, "wire_down") == 0)
		return u64(v, &s->wire_down);
	if (strcmp(key, "payload_up") == 0)
		return u64(v, &s->payload_up);
	if (strcmp(key, "payload_down") == 0)
		return u64(v, &s->payload_down);
	if (strcmp(key, "jobs") == 0)
		return u64(v, &s->jobs);
	if (strcmp(key, "probes") == 0)
		return u64(v, &s->probes);
	if (strcmp(key, "rate_up") == 0)
		return u64(v, &s->rate_up);
	if (strcmp(key, "rate_down") == 0)
		return u64(v, &s->rate_down);
	if (strcmp(key, "interval") == 0)
		return u64(v, &u) == -1 || u > 86400
		    ? -1
		    : (s->interval = (unsigned)u, 0);
	if (strcmp(key, "generation") == 0)
		return opt_state_text(s->generation, sizeof(s->generation), v),
		       0;
	if (strcmp(key, "reloads") == 0)
		return u64(v, &s->reloads);
	if (strcmp(key, "reload_generation") == 0)
		return opt_state_text(s->reload_generation,
		           sizeof(s->reload_generation), v),
		       0;
	if (strcmp(key, "reload_error") == 0)
		return opt_state_text(s->reload_error, sizeof(s->reload_error),
		           v),
		       0;
	if (strcmp(key, "throttle") == 0) {
		s->has_throttle = true;
		s->throttle_on = strcmp(v, "on") == 0;
		return 0;
	}
	if (strcmp(key, "throttle_up") == 0)
		return u64(v, &s->throttle_up);
	if (strcmp(key, "throttle_down") == 0)
		return u64(v, &s->throttle_down);
	return 0; /* unknown keys are for newer readers */
}

/* Parses a state file's text; -1 when it is not one (no site= line). */
int
opt_state_parse(const char *text, size_t len, struct opt_state *s)
{
	const char *p = text, *end = text + len;
	char line[512];

	memset(s, 0, sizeof(*s));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *eq;

		if (n < sizeof(line)) {
			memcpy(line, p, n);
			line[n] = '\0';
			if (memchr(line, '\0', n) == NULL &&
			    (eq = strchr(line, '=')) != NULL) {
				*eq = '\0';
				if (field(s, line, eq + 1) == -1)
					goto bad;
			}
		}
		p += n + 1;
	}
	if (s->site[0] == '\0')
		goto bad;
	return 0;
bad:
	opt_state_free(s);
	return -1;
}

int
opt_state_read(const char *path, struct opt_state *s, struct opt_error *e)
{
	char buf[1 << 16], *big = NULL;
	size_t len = 0, cap = sizeof(buf);
	struct stat st;
	char *p = buf;
	ssize_t n;
	int fd, r;

	memset(s, 0, sizeof(*s));
	/* Never block: a FIFO put there must not hang opt-status. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1)
		return opt_error_errno(e, 0, "cannot read %s", path);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return opt_error_set(e, EX_DATAERR, "%s: not a regular file",
		    path);
	}
	for (;;) {
		if (len == cap) {
			char *nb;
			if (cap >= (64u << 20) ||
			    (nb = realloc(big, cap * 2)) == NULL) {
				free(big);
				close(fd);
				return opt_error_set(e, EX_DATAERR,
				    "%s: too large", path);
			}
			if (big == NULL)
				memcpy(nb, buf, len);
			big = p = nb;
			cap *= 2;
		}
		n = read(fd, p + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	r = n == -1 ? -1 : opt_state_parse(p, len, s);
	free(big);
	if (r == -1)
		return opt_error_set(e, EX_DATAERR, "%s: not a state file",
		    path);
	return 0;
}

void
opt_state_free(struct opt_state *s)
{
	free(s->channels);
	s->channels = NULL;
	s->nchannels = 0;
}
