/* SPDX-License-Identifier: MIT */
/*
 * bounds-earbud: an earbud that fills ttwsd's receive-side bounds. It
 * listens on a unix seqpacket socket like ttws-earbud-sim, never answers
 * HELLO, and on every connection sends, as fast as the socket takes them:
 *   - COUNT datagrams that are not ttws-link messages (each one a
 *     "malformed" record in ttwsd's RT log ring, more than its main
 *     thread drains between two looks), with a well-formed STATUS after
 *     every BAD_RUN of them, so that the link, which resets a session
 *     after 16 unusable messages in a row, keeps this one;
 *   - one datagram of BIG bytes, over ttwsd's receive size (the loop
 *     cuts it: "loop_rx_msg").
 * Then it waits for the next connection (ttwsd reconnects after its
 * HELLO timeout) until killed.
 *
 *	bounds-earbud PATH COUNT BIG
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/proto.h"

/* Malformed messages between two STATUS: below the link's reset (16). */
#define BAD_RUN 8

static int listen_on(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(a.sun_path)) {
		return -ENAMETOOLONG;
	}
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 4) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* One session: the flood, the oversize datagram; 0 or -errno. */
static int flood(int fd, unsigned long count, size_t big)
{
	/* A wrong magic: proto_decode() says bad-magic, whatever follows. */
	static const unsigned char junk[32] = {0xde, 0xad, 0xbe, 0xef};
	const struct link_status st = {.battery_pct = 50};
	uint8_t ok[64];
	size_t ok_len;
	uint16_t seq = 1;
	unsigned char *b;
	unsigned long i;

	for (i = 0; i < count; i++) {
		if (send(fd, junk, sizeof(junk), MSG_NOSIGNAL) < 0) {
			return -errno;
		}
		if (i % BAD_RUN != BAD_RUN - 1) {
			continue;
		}
		if (proto_encode_status(&st, seq++, 0, ok, sizeof(ok),
					&ok_len) < 0) {
			return -EINVAL;
		}
		if (send(fd, ok, ok_len, MSG_NOSIGNAL) < 0) {
			return -errno;
		}
	}
	b = calloc(1, big);
	if (!b) {
		return -ENOMEM;
	}
	if (send(fd, b, big, MSG_NOSIGNAL) < 0) {
		free(b);
		return -errno;
	}
	free(b);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long count;
	size_t big;
	int lfd, fd, r;

	if (argc != 4) {
		fprintf(stderr, "usage: bounds-earbud PATH COUNT BIG\n");
		return 2;
	}
	count = strtoul(argv[2], NULL, 10);
	big = strtoul(argv[3], NULL, 10);
	if (big == 0 || big > 1 << 20) {
		fprintf(stderr, "bounds-earbud: BIG out of 1..1048576\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	lfd = listen_on(argv[1]);
	if (lfd < 0) {
		fprintf(stderr, "bounds-earbud: %s: %s\n", argv[1],
			strerror(-lfd));
		return 1;
	}
	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR) {
				continue;
			}
			perror("bounds-earbud: accept");
			return 1;
		}
		r = flood(fd, count, big);
		printf("session: %s\n", r < 0 ? strerror(-r) : "flooded");
		fflush(stdout);
		/* Hold the session until ttwsd ends it (HELLO timeout). */
		while (r == 0) {
			char buf[4096];
			ssize_t n = recv(fd, buf, sizeof(buf), 0);

			if (n <= 0) {
				break;
			}
		}
		close(fd);
	}
}
