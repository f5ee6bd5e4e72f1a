/*
 * tcpcount: a counting TCP relay for the benchmarks.  Listens on
 * 127.0.0.1:LISTEN, relays every connection to 127.0.0.1:TARGET and
 * keeps running totals of the bytes relayed each way in COUNTER_FILE
 * (three native uint64: up = client to target, down, connections),
 * a shared mapping that the harness reads whenever it likes.
 *
 * It sits between a tunnel (opt-tunnel, or ssh under trickle) and the
 * site's sshd, so both are measured on the wire by the same counter.
 *
 * usage: tcpcount LISTEN TARGET COUNTER_FILE
 * Prints "ready" on stdout once listening.  SIGTERM ends it.
 */
#include <sys/mman.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXPAIRS 512
#define BUF (64 * 1024)

struct half {
	int from, to;
	char buf[BUF];
	size_t off, len;
	int eof; /* read side ended; shut the write side once empty */
	int done;
	volatile uint64_t *count;
};

struct pair {
	int used;
	int a, b; /* client, target */
	struct half up, down;
};

static struct pair pairs[MAXPAIRS];

static struct sockaddr_in
loopback(int port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

static void
nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void
close_pair(struct pair *p)
{
	close(p->a);
	close(p->b);
	p->used = 0;
}

/* Moves what it can; -1 when the pair is broken. */
static int
step(struct half *h)
{
	ssize_t n;

	if (!h->eof && h->len == 0) {
		n = read(h->from, h->buf, BUF);
		if (n > 0) {
			h->off = 0;
			h->len = (size_t)n;
		} else if (n == 0) {
			h->eof = 1;
		} else if (errno != EAGAIN && errno != EINTR) {
			return -1;
		}
	}
	while (h->off < h->len) {
		n = write(h->to, h->buf + h->off, h->len - h->off);
		if (n > 0) {
			h->off += (size_t)n;
			__atomic_add_fetch(h->count, (uint64_t)n,
			    __ATOMIC_RELAXED);
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		return -1;
	}
	if (h->off == h->len)
		h->off = h->len = 0;
	if (h->eof && h->len == 0 && !h->done) {
		shutdown(h->to, SHUT_WR);
		h->done = 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	struct pollfd pfd[1 + 2 * MAXPAIRS];
	int idx[1 + 2 * MAXPAIRS];
	volatile uint64_t *ctr;
	int ls, one = 1, target, cfd, i;

	if (argc != 4) {
		fprintf(stderr, "usage: tcpcount LISTEN TARGET COUNTER_FILE\n");
		return 64;
	}
	target = atoi(argv[2]);
	signal(SIGPIPE, SIG_IGN);
	cfd = open(argv[3], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (cfd == -1 || ftruncate(cfd, 4096) == -1) {
		perror("tcpcount: counter file");
		return 73;
	}
	ctr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
	if (ctr == MAP_FAILED) {
		perror("tcpcount: mmap");
		return 71;
	}
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sin = loopback(atoi(argv[1]));
	if (bind(ls, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(ls, 512) == -1) {
		perror("tcpcount: bind");
		return 69;
	}
	nonblock(ls);
	printf("ready\n");
	fflush(stdout);

	for (;;) {
		int n = 0;

		pfd[n].fd = ls;
		pfd[n++].events = POLLIN;
		for (i = 0; i < MAXPAIRS; i++) {
			struct pair *p = &pairs[i];
			if (!p->used)
				continue;
			/* a: read for up unless full, write for down if due */
			pfd[n].fd = p->a;
			pfd[n].events =
			    (short)((!p->up.eof && p->up.len == 0 ? POLLIN
			                                          : 0) |
			        (p->down.len > p->down.off ? POLLOUT : 0));
			idx[n++] = i;
			pfd[n].fd = p->b;
			pfd[n].events =
			    (short)((!p->down.eof && p->down.len == 0 ? POLLIN
			                                              : 0) |
			        (p->up.len > p->up.off ? POLLOUT : 0));
			idx[n++] = i;
		}
		if (poll(pfd, (nfds_t)n, -1) == -1 && errno != EINTR)
			return 1;
		if (pfd[0].revents & POLLIN) {
			int c;
			while ((c = accept(ls, NULL, NULL)) != -1) {
				int s = socket(AF_INET, SOCK_STREAM, 0);
				struct sockaddr_in t = loopback(target);
				for (i = 0; i < MAXPAIRS && pairs[i].used; i++)
					;
				setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one,
				    sizeof(one));
				setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one,
				    sizeof(one));
				if (i == MAXPAIRS ||
				    connect(s, (struct sockaddr *)&t,
				        sizeof(t)) == -1) {
					close(c);
					close(s);
					continue;
				}
				nonblock(c);
				nonblock(s);
				memset(&pairs[i], 0, sizeof(pairs[i]));
				pairs[i].used = 1;
				pairs[i].a = c;
				pairs[i].b = s;
				pairs[i].up.from = c;
				pairs[i].up.to = s;
				pairs[i].up.count = &ctr[0];
				pairs[i].down.from = s;
				pairs[i].down.to = c;
				pairs[i].down.count = &ctr[1];
				__atomic_add_fetch(&ctr[2], 1,
				    __ATOMIC_RELAXED);
			}
		}
		for (i = 1; i < n; i += 2) {
			struct pair *p = &pairs[idx[i]];
			if (!p->used ||
			    !((pfd[i].revents | pfd[i + 1].revents) &
			        (POLLIN | POLLOUT | POLLHUP | POLLERR)))
				continue;
			if (step(&p->up) == -1 || step(&p->down) == -1 ||
			    (p->up.done && p->down.done))
				close_pair(p);
		}
	}
}
