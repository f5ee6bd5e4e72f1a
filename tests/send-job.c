/*
 * send-job: a print client for the tests.  Sends FILE (or nothing) to
 * 127.0.0.1:PORT, half-closes, and copies what comes back to stdout
 * until the server closes.
 *
 * usage: send-job PORT [FILE]
 * Exit: 0 the job ended cleanly, 2 refused, 3 reset or error (the
 * spooler would retry), 64 usage.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	char buf[65536];
	ssize_t n;
	int fd, in = -1;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: send-job PORT [FILE]\n");
		return 64;
	}
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && (in = open(argv[2], O_RDONLY)) == -1) {
		perror(argv[2]);
		return 64;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		fprintf(stderr, "send-job: connect: %s\n", strerror(errno));
		return errno == ECONNREFUSED ? 2 : 3;
	}
	while (in != -1 && (n = read(in, buf, sizeof(buf))) > 0) {
		ssize_t off = 0;
		while (off < n) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w <= 0) {
				fprintf(stderr, "send-job: write: %s\n",
				    strerror(errno));
				return 3;
			}
			off += w;
		}
	}
	shutdown(fd, SHUT_WR);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return 1;
	if (n < 0) {
		fprintf(stderr, "send-job: read: %s\n", strerror(errno));
		return 3;
	}
	return 0;
}
