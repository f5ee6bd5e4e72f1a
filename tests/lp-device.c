/*
 * lp-device: the printer device behind p910nd, for the spool tests.
 * p910nd opens its device (-f) for each job it accepts, writes the job
 * and closes it; with FIFO as that device, this reads every open to its
 * end: the bytes are appended to DIR/stream, and a line "N OFFSET BYTES"
 * to DIR/index once the job's writer closed.  (p910nd opens a plain
 * file without O_TRUNC or O_APPEND: each job would overwrite the last.)
 * One open is one job as p910nd saw it, unless p910nd opened the next
 * one before this read the end of the last: then both are one line of
 * the index, and the stream stays the bytes in the order printed.
 *
 * usage: lp-device FIFO DIR [--read-delay MS]
 * --read-delay: a slow printer, a pause before each read of 64 KiB.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
usage(void)
{
	fprintf(stderr, "usage: lp-device FIFO DIR [--read-delay MS]\n");
	return 64;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"read-delay", required_argument, NULL, 'w'},
	    {NULL, 0, NULL, 0},
	};
	static char buf[65536];
	struct timespec pause = {0, 0};
	char path[4096];
	long long off = 0;
	int ch, out, index, n;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'w')
			return usage();
		pause.tv_sec = atoi(optarg) / 1000;
		pause.tv_nsec = (atoi(optarg) % 1000) * 1000000L;
	}
	if (argc - optind != 2)
		return usage();
	if (mkfifo(argv[optind], 0600) == -1 && errno != EEXIST) {
		perror(argv[optind]);
		return 73;
	}
	snprintf(path, sizeof(path), "%s/stream", argv[optind + 1]);
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	snprintf(path, sizeof(path), "%s/index", argv[optind + 1]);
	index = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (out == -1 || index == -1) {
		perror(path);
		return 73;
	}
	for (n = 1;; n++) {
		long long start = off;
		char line[64];
		ssize_t r;
		int in = open(argv[optind], O_RDONLY);

		if (in == -1) {
			if (errno == EINTR)
				continue;
			perror(argv[optind]);
			return 66;
		}
		for (;;) {
			if (pause.tv_sec > 0 || pause.tv_nsec > 0)
				nanosleep(&pause, NULL);
			r = read(in, buf, sizeof(buf));
			if (r == -1 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			if (write_all(out, buf, (size_t)r) == -1) {
				perror("lp-device: write");
				return 74;
			}
			off += r;
		}
		close(in);
		snprintf(line, sizeof(line), "%d %lld %lld\n", n, start,
		    off - start);
		if (write_all(index, line, strlen(line)) == -1)
			return 74;
	}
}
