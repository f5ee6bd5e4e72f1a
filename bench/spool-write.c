/*
 * How long a spool takes to store a job: the file written in 64 KiB
 * pieces as a client's bytes arrive, SHA-256 of them, then fsync,
 * stored raw or deflated at level 1.  For the decision recorded in
 * lib/spool.h.  usage: spool-write raw|deflate IN OUTDIR
 */
#include <sys/stat.h>

#include <err.h>
#include <fcntl.h>
#include <sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
put(int fd, const void *p, size_t n)
{
	if (write(fd, p, n) != (ssize_t)n)
		err(1, "write");
}

int
main(int argc, char **argv)
{
	static unsigned char in[65536], out[65536];
	size_t total = 0, wire = 0;
	SHA2_CTX sha;
	z_stream z;
	ssize_t n;
	double t0, t1, t2;
	int fd, ofd, dfl;
	char path[4096];

	if (argc != 4)
		errx(64, "usage: spool-write raw|deflate IN OUTDIR");
	dfl = strcmp(argv[1], "deflate") == 0;
	if ((fd = open(argv[2], O_RDONLY)) == -1)
		err(1, "%s", argv[2]);
	snprintf(path, sizeof(path), "%s/job.%s", argv[3], argv[1]);
	if ((ofd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640)) == -1)
		err(1, "%s", path);
	memset(&z, 0, sizeof(z));
	if (dfl && deflateInit(&z, 1) != Z_OK)
		errx(1, "deflateInit");
	SHA256Init(&sha);
	t0 = now();
	while ((n = read(fd, in, sizeof(in))) > 0) {
		total += (size_t)n;
		SHA256Update(&sha, in, (size_t)n);
		if (!dfl) {
			put(ofd, in, (size_t)n);
			continue;
		}
		z.next_in = in;
		z.avail_in = (unsigned)n;
		while (z.avail_in > 0) {
			z.next_out = out;
			z.avail_out = sizeof(out);
			deflate(&z, Z_NO_FLUSH);
			put(ofd, out, sizeof(out) - z.avail_out);
			wire += sizeof(out) - z.avail_out;
		}
	}
	if (dfl) {
		int r;
		do {
			z.next_out = out;
			z.avail_out = sizeof(out);
			r = deflate(&z, Z_FINISH);
			put(ofd, out, sizeof(out) - z.avail_out);
			wire += sizeof(out) - z.avail_out;
		} while (r != Z_STREAM_END);
		deflateEnd(&z);
	} else {
		wire = total;
	}
	t1 = now();
	if (fsync(ofd) == -1)
		err(1, "fsync");
	t2 = now();
	printf("%s bytes=%zu stored=%zu write_ms=%.1f fsync_ms=%.1f "
	       "total_ms=%.1f\n",
	    argv[1], total, wire, (t1 - t0) * 1e3, (t2 - t1) * 1e3,
	    (t2 - t0) * 1e3);
	close(ofd);
	unlink(path);
	return 0;
}
