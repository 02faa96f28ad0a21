/* SPDX-License-Identifier: MIT */
/*
 * A misbehaving earbud for tests/integration/bad-earbud.sh: listens on a
 * unix seqpacket socket like ttws-earbud-sim, and answers each HELLO with
 * a well-formed HELLO_ACK carrying one out-of-range value, the next
 * connection the next value; then a STATUS with a battery of 150 %.
 * Prints "served N" once every value went out and ttwsd came back after
 * it, then exits 0 (1 on an error of its own).
 *
 *   bad-earbud SOCKET
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/macro.h"
#include "core/proto.h"
#include "os/unix.h"

struct bad_value {
	const char *what;
	uint32_t ci_us;
	uint32_t clock_res_ns;
};

/* Each one the trust boundary must refuse (core/protorange.h). */
static const struct bad_value bad_values[] = {
	{ "ci_us 5000000 (over 4 s)", 5000000, 1000 },
	{ "ci_us 1", 1, 1000 },
	{ "ci_us 7499", 7499, 1000 },
	{ "ci_us 0xffffffff", 0xffffffffu, 1000 },
	{ "clock_res_ns 0", 7500, 0 },
	{ "clock_res_ns 2000000", 7500, 2000000 },
};

/* Wait up to timeout_ms for fd to be readable. 1, 0 (timeout) or -errno. */
static int wait_in(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r = poll(&p, 1, timeout_ms);

	return r < 0 ? -errno : r;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* 0 once the peer closed fd, -ETIMEDOUT if it is still open after
 * timeout_ms (whatever it sends meanwhile is read and dropped). */
static int wait_closed(int fd, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	char b[512];

	while (now_ms() < end) {
		int r = wait_in(fd, 100);

		if (r < 0) {
			return r;
		}
		if (r > 0 && recv(fd, b, sizeof(b), MSG_DONTWAIT) <= 0) {
			return 0;
		}
	}
	return -ETIMEDOUT;
}

static int send_msg(int fd, const struct link_msg *m)
{
	uint8_t buf[128];
	size_t len;
	int r = proto_encode(m, buf, sizeof(buf), &len);

	if (r < 0) {
		return r;
	}
	return send(fd, buf, len, 0) == (ssize_t)len ? 0 : -errno;
}

/* One session: read the HELLO, answer it with value v. */
static int serve(int cfd, const struct bad_value *v, bool left)
{
	struct link_msg m, ack = { 0 }, st = { 0 };
	uint8_t buf[512];
	ssize_t n;

	if (wait_in(cfd, 5000) <= 0) {
		return -ETIMEDOUT;
	}
	n = recv(cfd, buf, sizeof(buf), 0);
	if (n <= 0 || proto_decode(buf, (size_t)n, &m) < 0 ||
	    m.hdr.type != LINK_HELLO) {
		return -EPROTO;
	}
	/* An out-of-range STATUS first: dropped, the session goes on. */
	st.hdr.type = LINK_STATUS;
	st.hdr.seq = 0;
	st.status.battery_pct = 150;
	ack.hdr.type = LINK_HELLO_ACK;
	ack.hdr.seq = 1;
	ack.hello_ack.version = LINK_VERSION;
	ack.hello_ack.role = left ? LINK_ROLE_LEFT : LINK_ROLE_RIGHT;
	ack.hello_ack.codec = m.hello.codec;
	ack.hello_ack.status = LINK_HELLO_OK;
	ack.hello_ack.clock_res_ns = v->clock_res_ns;
	ack.hello_ack.buffer_frames = 64;
	ack.hello_ack.ci_us = v->ci_us;
	if (send_msg(cfd, &st) < 0 || send_msg(cfd, &ack) < 0) {
		return -EIO;
	}
	printf("sent %s\n", v->what);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned i;
	int lfd, cfd, r;

	if (argc != 2) {
		fprintf(stderr, "usage: bad-earbud SOCKET\n");
		return 2;
	}
	r = unix_seqpacket_listen(argv[1], 4, &lfd);
	if (r < 0) {
		fprintf(stderr, "bad-earbud: %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	/* One connection per value, then one more: ttwsd reset the link
	 * after the last value and came back (with back-off). */
	for (i = 0; i <= ARRAY_SIZE(bad_values); i++) {
		if (wait_in(lfd, 10000) <= 0 || unix_accept(lfd, &cfd) < 0) {
			fprintf(stderr, "bad-earbud: no connection %u\n", i);
			return 1;
		}
		if (i == ARRAY_SIZE(bad_values)) {
			close(cfd);
			break;
		}
		r = serve(cfd, &bad_values[i], true);
		if (r < 0) {
			fprintf(stderr, "bad-earbud: value %u: %s\n", i,
				strerror(-r));
			return 1;
		}
		/* ttwsd must close it (the link resets) within a second or
		 * two; a link that took the value goes on sending. */
		r = wait_closed(cfd, 3000);
		close(cfd);
		if (r < 0) {
			fprintf(stderr, "bad-earbud: ttwsd kept the link after "
					"%s\n",
				bad_values[i].what);
			return 1;
		}
	}
	printf("served %zu\n", ARRAY_SIZE(bad_values));
	close(lfd);
	unlink(argv[1]);
	return 0;
}
