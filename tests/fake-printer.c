/*
 * fake-printer: a raw (port 9100) printer for the tests.  Listens on
 * 127.0.0.1, stores each job (one connection) as DIR/job-N.part while it
 * arrives; once the client has sent EOF, sends the --reply text, then the
 * --reply-file, as raw printers report status after the end of a job,
 * renames the job to DIR/job-N and closes.  A reply is written as the
 * client takes it, without blocking: a client that does not read its
 * reply holds up only its own job.
 *
 * With --pjl CODE, it answers a PJL INFO STATUS request as soon as
 * it reads one, in the middle of a job as a real printer would:
 * CODE, DISPLAY (--pjl-display) and ONLINE (--pjl-online) lines, CRLF
 * (or LF, --pjl-lf), then a form feed; --pjl-raw TEXT answers TEXT
 * instead (garbage, overlong, hostile).  --pjl-split N writes the
 * answer N bytes at a time, 10 ms apart.  Without either it speaks no
 * PJL: the request is a job like any other.
 *
 * usage: fake-printer -d DIR [-p PORT] [--reply TEXT] [--reply-file F]
 *                     [--stall] [--close-after N] [--read-delay MS]
 *                     [--pjl CODE [--pjl-display T] [--pjl-online B]
 *                     [--pjl-lf] | --pjl-raw TEXT] [--pjl-split N]
 * Prints "port N" on stdout once listening (PORT 0: any free port).
 */
#define _GNU_SOURCE /* memmem */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXCONN 1024

struct job {
	int fd;
	int out;
	int n;
	long long bytes;
	int replying; /* EOF seen, the reply is being sent */
	size_t text_off; /* of --reply sent */
	int rf; /* --reply-file, or -1 */
	off_t file_off; /* of it sent */
};

static const char *dir, *reply, *reply_file;
static const char *pjl_code, *pjl_display = "READY", *pjl_online = "TRUE";
static const char *pjl_raw;
static char *pjl_answer;
static int stall, read_delay, pjl_lf, pjl_split;
static long long close_after = -1;

static void
job_name(const struct job *j, const char *suffix, char *buf, size_t len)
{
	snprintf(buf, len, "%s/job-%d%s", dir, j->n, suffix);
}

static void
done(struct job *j, const char *suffix)
{
	char part[4096], name[4096];

	job_name(j, ".part", part, sizeof(part));
	job_name(j, suffix, name, sizeof(name));
	rename(part, name);
	if (j->rf != -1)
		close(j->rf);
	j->rf = -1;
	j->replying = 0;
	close(j->fd);
	j->fd = -1;
}

/* Sends what the client takes of the reply now; the job is done once
 * all of it went (or the client is gone). */
static void
reply_more(struct job *j)
{
	char buf[65536];

	for (;;) {
		const char *p;
		ssize_t n, w;

		if (reply != NULL && j->text_off < strlen(reply)) {
			p = reply + j->text_off;
			n = (ssize_t)(strlen(reply) - j->text_off);
		} else if (j->rf != -1) {
			n = pread(j->rf, buf, sizeof(buf), j->file_off);
			if (n <= 0)
				break;
			p = buf;
		} else {
			break;
		}
		w = write(j->fd, p, (size_t)n);
		if (w == -1 && (errno == EAGAIN || errno == EINTR))
			return; /* poll says when it takes more */
		if (w <= 0)
			break;
		if (p == buf)
			j->file_off += w;
		else
			j->text_off += (size_t)w;
	}
	done(j, "");
}

/* The answer, blocking (it is small, or a test's hostile one). */
static void
pjl_reply(int fd)
{
	size_t len = strlen(pjl_answer), off = 0, n;
	struct timespec ts = {0, 10 * 1000000L};

	while (off < len) {
		n = pjl_split > 0 && (size_t)pjl_split < len - off
		    ? (size_t)pjl_split
		    : len - off;
		if (write(fd, pjl_answer + off, n) != (ssize_t)n)
			return;
		off += n;
		if (off < len && pjl_split > 0)
			nanosleep(&ts, NULL);
	}
}

static void
pjl_build(void)
{
	const char *eol = pjl_lf ? "\n" : "\r\n";
	size_t len;

	if (pjl_raw != NULL) {
		pjl_answer = strdup(pjl_raw);
		return;
	}
	len = strlen(pjl_code) + strlen(pjl_display) + strlen(pjl_online) + 64;
	pjl_answer = malloc(len);
	snprintf(pjl_answer, len,
	    "@PJL INFO STATUS%sCODE=%s%sDISPLAY=\"%s\"%sONLINE=%s%s\f", eol,
	    pjl_code, eol, pjl_display, eol, pjl_online, eol);
}

static void
finish(struct job *j, int complete)
{
	close(j->out);
	if (!complete) {
		done(j, ".cut");
		return;
	}
	j->replying = 1;
	j->text_off = 0;
	j->file_off = 0;
	j->rf = reply_file != NULL ? open(reply_file, O_RDONLY) : -1;
	fcntl(j->fd, F_SETFL, fcntl(j->fd, F_GETFL) | O_NONBLOCK);
	reply_more(j);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"reply", required_argument, NULL, 'r'},
	    {"reply-file", required_argument, NULL, 'f'},
	    {"stall", no_argument, NULL, 's'},
	    {"close-after", required_argument, NULL, 'c'},
	    {"read-delay", required_argument, NULL, 'w'},
	    {"pjl", required_argument, NULL, 'P'},
	    {"pjl-display", required_argument, NULL, 'D'},
	    {"pjl-online", required_argument, NULL, 'O'},
	    {"pjl-lf", no_argument, NULL, 'L'},
	    {"pjl-raw", required_argument, NULL, 'R'},
	    {"pjl-split", required_argument, NULL, 'S'},
	    {NULL, 0, NULL, 0},
	};
	struct job jobs[MAXCONN];
	struct pollfd pfd[MAXCONN + 1];
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int ls, ch, port = 0, njobs = 0, one = 1, i;
	char buf[65536];

	while ((ch = getopt_long(argc, argv, "d:p:", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'r':
			reply = optarg;
			break;
		case 'f':
			reply_file = optarg;
			break;
		case 's':
			stall = 1;
			break;
		case 'c':
			close_after = atoll(optarg);
			break;
		case 'w':
			read_delay = atoi(optarg);
			break;
		case 'P':
			pjl_code = optarg;
			break;
		case 'D':
			pjl_display = optarg;
			break;
		case 'O':
			pjl_online = optarg;
			break;
		case 'L':
			pjl_lf = 1;
			break;
		case 'R':
			pjl_raw = optarg;
			break;
		case 'S':
			pjl_split = atoi(optarg);
			break;
		default:
			fprintf(stderr,
			    "usage: fake-printer -d DIR [-p PORT] "
			    "[--reply TEXT] [--reply-file F] [--stall] "
			    "[--close-after N] [--read-delay MS] [--pjl CODE "
			    "[--pjl-display T] [--pjl-online B] [--pjl-lf] | "
			    "--pjl-raw TEXT] [--pjl-split N]\n");
			return 64;
		}
	}
	if (dir == NULL)
		return 64;
	if (pjl_code != NULL || pjl_raw != NULL)
		pjl_build();
	signal(SIGPIPE, SIG_IGN);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(ls, 256) == -1) {
		perror("fake-printer: bind");
		return 69;
	}
	getsockname(ls, (struct sockaddr *)&sin, &sl);
	printf("port %d\n", ntohs(sin.sin_port));
	fflush(stdout);
	for (i = 0; i < MAXCONN; i++) {
		jobs[i].fd = -1;
		jobs[i].rf = -1;
		jobs[i].replying = 0;
	}

	for (;;) {
		int n = 0, idx[MAXCONN];

		pfd[n].fd = ls;
		pfd[n++].events = POLLIN;
		for (i = 0; i < MAXCONN; i++) {
			if (jobs[i].fd == -1)
				continue;
			idx[n - 1] = i;
			pfd[n].fd = jobs[i].fd;
			if (jobs[i].replying)
				pfd[n++].events = POLLOUT;
			else
				pfd[n++].events = stall ? 0 : POLLIN;
		}
		if (poll(pfd, (nfds_t)n, -1) == -1 && errno != EINTR)
			return 1;
		if (pfd[0].revents & POLLIN) {
			int fd = accept(ls, NULL, NULL);
			for (i = 0; fd != -1 && i < MAXCONN; i++) {
				char part[4096];
				if (jobs[i].fd != -1)
					continue;
				jobs[i].fd = fd;
				jobs[i].n = ++njobs;
				jobs[i].bytes = 0;
				snprintf(part, sizeof(part), "%s/job-%d.part",
				    dir, jobs[i].n);
				jobs[i].out = open(part,
				    O_WRONLY | O_CREAT | O_TRUNC, 0644);
				break;
			}
			if (fd != -1 && i == MAXCONN)
				close(fd);
		}
		for (i = 1; i < n; i++) {
			struct job *j = &jobs[idx[i - 1]];
			ssize_t r;

			if (j->replying) {
				if (pfd[i].revents &
				    (POLLOUT | POLLHUP | POLLERR))
					reply_more(j);
				continue;
			}
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (read_delay > 0) {
				struct timespec ts = {0,
				    (long)read_delay * 1000000L};
				nanosleep(&ts, NULL);
			}
			r = read(j->fd, buf, sizeof(buf));
			if (r > 0) {
				if (write(j->out, buf, (size_t)r) != r)
					return 1;
				j->bytes += r;
				if (pjl_answer != NULL &&
				    memmem(buf, (size_t)r, "@PJL INFO STATUS",
				        16) != NULL)
					pjl_reply(j->fd);
				if (close_after >= 0 && j->bytes >= close_after)
					finish(j, 0);
			} else if (r == 0) {
				finish(j, 1);
			} else if (errno != EINTR && errno != EAGAIN) {
				finish(j, 0);
			}
		}
	}
}
