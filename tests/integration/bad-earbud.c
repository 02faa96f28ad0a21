/* SPDX-License-Identifier: MIT */
/*
 * A misbehaving earbud for tests/integration/bad-earbud.sh, in two modes.
 *
 *   bad-earbud SOCKET
 * Listens on a unix seqpacket socket like ttws-earbud-sim, and answers
 * each HELLO with a well-formed HELLO_ACK carrying one out-of-range value,
 * the next connection the next value; then a STATUS with a battery of
 * 150 %. Prints "served N" once every value went out and ttwsd came back
 * after it, then exits 0 (1 on an error of its own).
 *
 *   bad-earbud --proxy LISTEN UPSTREAM
 * Sits between ttwsd (connecting to LISTEN) and a real earbud, the
 * simulator listening on UPSTREAM, and passes everything on, until the
 * session has streamed for a while; then, between the earbud's genuine
 * messages, it sends ttwsd one misbehaviour after another (the table
 * "steps" below: malformed, truncated, oversized, unexpected,
 * out-of-order and replayed messages, then a flood), each printed as
 * "injected NAME" when it went out. After the flood ttwsd must reset the
 * link: the proxy sees the channel close ("reset"), drops its upstream
 * connection, takes ttwsd's next connection to a fresh one, and prints
 * "done" once that session has streamed again. It then keeps passing
 * messages on until killed (SIGTERM: exit 0).
 *
 * To inject messages of its own between the earbud's, the proxy numbers
 * them in the earbud's sequence (ttws-link(7), seq) and moves every
 * later earbud message up by one, so that only what is meant to be out
 * of order or replayed is.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
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

/* ---- proxy mode ------------------------------------------------------ */

#define PX_MSG_MAX 8192
#define PX_RESPS 16
#define PX_MAX_INJECT 64

static volatile sig_atomic_t px_stop;

static void px_on_term(int sig)
{
	(void)sig;
	px_stop = 1;
}

struct proxy {
	int lfd, cfd, ufd;   /* listening, ttwsd's side, the earbud's side */
	const char *upstream;
	unsigned session;    /* connections from ttwsd so far */
	uint64_t audio;      /* AUDIO passed to the earbud this session */
	unsigned step;       /* next injection */
	uint64_t step_at;    /* AUDIO count at which it goes */
	bool done;

	/* Renumbering: an earbud number above thr[i] moves up one for each
	 * injection i (proxy_out_seq()). */
	uint16_t thr[PX_MAX_INJECT];
	unsigned ninject;
	bool any;
	uint16_t max_orig;   /* highest earbud number seen this session */
	uint16_t max_out;    /* highest number ttwsd got this session */

	/* Kept for replays and stale answers. */
	uint8_t resp[PX_RESPS][LINK_HEADER_SIZE + LINK_SYNC_RESP_SIZE];
	unsigned nresp;
	uint8_t report[LINK_HEADER_SIZE + LINK_RENDER_REPORT_SIZE];
	bool have_report;
	uint8_t status55[LINK_HEADER_SIZE + LINK_STATUS_SIZE];
	size_t status55_len;
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* RFC 1982: a is after b. */
static bool seq_after(uint16_t a, uint16_t b)
{
	uint16_t d = (uint16_t)(a - b);

	return d != 0 && d < 0x8000u;
}

static uint16_t proxy_out_seq(const struct proxy *p, uint16_t orig)
{
	uint16_t out = orig;

	for (unsigned i = 0; i < p->ninject; i++) {
		if (seq_after(orig, p->thr[i])) {
			out++;
		}
	}
	return out;
}

/* One datagram to fd, waiting a little for room. */
static int px_send(int fd, const void *b, size_t len)
{
	for (int tries = 0; tries < 100; tries++) {
		ssize_t n = send(fd, b, len, MSG_NOSIGNAL);

		if (n == (ssize_t)len) {
			return 0;
		}
		if (n < 0 && errno != EAGAIN) {
			return -errno;
		}
		poll(NULL, 0, 1);
	}
	return -EAGAIN;
}

/* A number of ours between the earbud's: the next one ttwsd expects, and
 * every later earbud message one up. */
static uint16_t proxy_fresh_seq(struct proxy *p)
{
	uint16_t seq = (uint16_t)(p->max_out + 1);

	if (p->ninject < PX_MAX_INJECT) {
		p->thr[p->ninject++] = p->max_orig;
	}
	p->max_out = seq;
	return seq;
}

static int proxy_inject(struct proxy *p, const uint8_t *b, size_t len,
			const char *name)
{
	int r = px_send(p->cfd, b, len);

	if (r == 0) {
		printf("injected %s\n", name);
		fflush(stdout);
	}
	return r;
}

/* A well-formed earbud message of ours, with a fresh number. */
static int proxy_inject_msg(struct proxy *p, struct link_msg *m,
			    const char *name, uint8_t *keep, size_t *keep_len)
{
	uint8_t b[128];
	size_t len;

	m->hdr.seq = proxy_fresh_seq(p);
	if (proto_encode(m, b, sizeof(b), &len) < 0) {
		return -EINVAL;
	}
	if (keep) {
		memcpy(keep, b, len);
		*keep_len = len;
	}
	return proxy_inject(p, b, len, name);
}

static void status_msg(struct link_msg *m, uint8_t battery)
{
	memset(m, 0, sizeof(*m));
	m->hdr.type = LINK_STATUS;
	m->status.battery_pct = battery;
	m->status.buffer_frames = 8;
}

/* A raw header: magic, version, type, flags, length, seq. */
static void raw_hdr(uint8_t *b, uint8_t magic, uint8_t version, uint8_t type,
		    uint16_t length, uint16_t seq)
{
	b[0] = magic;
	b[1] = version;
	b[2] = type;
	b[3] = 0;
	put16(b + 4, length);
	put16(b + 6, seq);
}

/*
 * The misbehaviours, in order, each between genuine messages (a run of
 * LINK_BAD_RUN drops would reset the link before the flood). What ttwsd
 * must count for each is asserted by bad-earbud.sh.
 */
static int proxy_step(struct proxy *p, unsigned step)
{
	static uint8_t big[70000];
	uint8_t b[64];
	struct link_msg m;
	size_t n;

	memset(b, 0, sizeof(b));
	switch (step) {
	case 0: /* malformed: not a ttws-link message at all */
		raw_hdr(b, 0x00, LINK_VERSION, LINK_STATUS, LINK_STATUS_SIZE,
			0);
		return proxy_inject(p, b, 8 + LINK_STATUS_SIZE, "bad-magic");
	case 1: /* malformed: a version nobody agreed on */
		raw_hdr(b, LINK_MAGIC, 9, LINK_STATUS, LINK_STATUS_SIZE, 0);
		return proxy_inject(p, b, 8 + LINK_STATUS_SIZE, "version");
	case 2: /* malformed: a type this version does not define */
		raw_hdr(b, LINK_MAGIC, LINK_VERSION, 0x7e, 0, 0);
		return proxy_inject(p, b, 8, "unknown-type");
	case 3: /* malformed: a STATUS of the wrong size */
		raw_hdr(b, LINK_MAGIC, LINK_VERSION, LINK_STATUS, 4, 0);
		return proxy_inject(p, b, 8 + 4, "bad-size");
	case 4: /* malformed: octets after the payload */
		raw_hdr(b, LINK_MAGIC, LINK_VERSION, LINK_STATUS,
			LINK_STATUS_SIZE, 0);
		return proxy_inject(p, b, 8 + LINK_STATUS_SIZE + 3,
				    "trailing");
	case 5: /* truncated: not even a header */
		raw_hdr(b, LINK_MAGIC, LINK_VERSION, LINK_STATUS,
			LINK_STATUS_SIZE, 0);
		return proxy_inject(p, b, 5, "short-header");
	case 6: /* truncated: the payload cut short */
		raw_hdr(b, LINK_MAGIC, LINK_VERSION, LINK_RENDER_REPORT,
			LINK_RENDER_REPORT_SIZE, 0);
		return proxy_inject(p, b, 8 + 20, "short-payload");
	case 7: /* oversized: a length over any message's */
		raw_hdr(b, LINK_MAGIC, LINK_VERSION, LINK_STATUS, 0xffff, 0);
		return proxy_inject(p, b, 8 + LINK_STATUS_SIZE, "too-long");
	case 8: /* oversized: a datagram over the largest SDU (ttwsd's
		 * receive buffer cuts it; its length field still tells) */
		memset(big, 0x5a, sizeof(big));
		raw_hdr(big, LINK_MAGIC, LINK_VERSION, LINK_STATUS, 0xffff, 0);
		return proxy_inject(p, big, sizeof(big), "oversized-datagram");
	case 9: /* unexpected: a host-to-earbud type from the earbud */
		memset(&m, 0, sizeof(m));
		m.hdr.type = LINK_VOLUME;
		return proxy_inject_msg(p, &m, "unexpected", NULL, NULL);
	case 10: /* taken: a battery of 55 % (kept for the replay) */
		status_msg(&m, 55);
		return proxy_inject_msg(p, &m, "status-55", p->status55,
					&p->status55_len);
	case 11: /* taken: 77 %, the value that must stand at the end */
		status_msg(&m, 77);
		return proxy_inject_msg(p, &m, "status-77", NULL, NULL);
	case 12: /* replayed: the 55 % STATUS again, octet for octet */
		return proxy_inject(p, p->status55, p->status55_len,
				    "replayed-status");
	case 13: /* out of order: a STATUS numbered far behind (42 %) */
		status_msg(&m, 42);
		m.hdr.seq = (uint16_t)(p->max_out - 300);
		if (proto_encode(&m, b, sizeof(b), &n) < 0) {
			return -EINVAL;
		}
		return proxy_inject(p, b, n, "stale-status");
	case 14: /* out of order: an answer to a superseded request */
		if (p->nresp < PX_RESPS) {
			return -EAGAIN;
		}
		memcpy(b, p->resp[p->nresp % PX_RESPS], sizeof(p->resp[0]));
		put16(b + 6, proxy_fresh_seq(p));
		return proxy_inject(p, b, sizeof(p->resp[0]), "stale-sync-resp");
	case 15: /* replayed: the last report again, numbered afresh */
		if (!p->have_report) {
			return -EAGAIN;
		}
		memcpy(b, p->report, sizeof(p->report));
		put16(b + 6, proxy_fresh_seq(p));
		return proxy_inject(p, b, sizeof(p->report), "replayed-report");
	case 16: /* a flood: nothing usable any more */
		raw_hdr(b, 0x00, LINK_VERSION, LINK_STATUS, LINK_STATUS_SIZE,
			0);
		for (unsigned i = 0; i < 16; i++) {
			if (px_send(p->cfd, b, 8 + LINK_STATUS_SIZE) < 0) {
				return -EIO;
			}
		}
		printf("injected flood\n");
		fflush(stdout);
		return 0;
	default:
		return -ENOENT;
	}
}

/* An earbud message on its way to ttwsd: kept if useful, renumbered. */
static int proxy_from_earbud(struct proxy *p, uint8_t *b, size_t len)
{
	uint16_t orig;

	if (len < LINK_HEADER_SIZE || b[0] != LINK_MAGIC) {
		return px_send(p->cfd, b, len);
	}
	orig = get16(b + 6);
	if (!p->any || seq_after(orig, p->max_orig)) {
		p->max_orig = orig;
	}
	put16(b + 6, proxy_out_seq(p, orig));
	if (!p->any || seq_after(get16(b + 6), p->max_out)) {
		p->max_out = get16(b + 6);
	}
	p->any = true;
	if (b[2] == LINK_SYNC_RESP && len == sizeof(p->resp[0])) {
		memcpy(p->resp[p->nresp++ % PX_RESPS], b, len);
	} else if (b[2] == LINK_RENDER_REPORT && len == sizeof(p->report)) {
		memcpy(p->report, b, len);
		p->have_report = true;
	}
	return px_send(p->cfd, b, len);
}

/* A message of ttwsd's on its way to the earbud; AUDIO paces the steps. */
static int proxy_from_host(struct proxy *p, const uint8_t *b, size_t len)
{
	if (len >= LINK_HEADER_SIZE && b[2] == LINK_AUDIO) {
		p->audio++;
	}
	return px_send(p->ufd, b, len);
}

static void proxy_close_session(struct proxy *p)
{
	if (p->cfd >= 0) {
		close(p->cfd);
	}
	if (p->ufd >= 0) {
		close(p->ufd);
	}
	p->cfd = p->ufd = -1;
}

static int proxy_accept(struct proxy *p)
{
	int r = unix_accept(p->lfd, &p->cfd);

	if (r < 0) {
		return r;
	}
	r = unix_seqpacket_connect(p->upstream, &p->ufd);
	if (r < 0) {
		close(p->cfd);
		p->cfd = -1;
		return r;
	}
	p->session++;
	p->audio = 0;
	p->any = false;
	p->ninject = 0;
	p->nresp = 0;
	p->have_report = false;
	/* Two seconds of audio (the servo locked) before the first step. */
	p->step_at = 200;
	return 0;
}

/* After each session's audio reaches step_at: the next step, or done. */
static int proxy_pace(struct proxy *p)
{
	int r;

	if (p->audio < p->step_at) {
		return 0;
	}
	if (p->session == 1) {
		r = proxy_step(p, p->step);
		if (r == -ENOENT) {
			return 0; /* all sent: wait for the reset */
		}
		if (r == -EAGAIN) {
			p->step_at += 5;
			return 0;
		}
		if (r < 0) {
			return r;
		}
		p->step++;
		/* 150 ms of genuine traffic between two steps. */
		p->step_at += 15;
		return 0;
	}
	if (!p->done) {
		printf("done\n");
		fflush(stdout);
		p->done = true;
	}
	return 0;
}

static int proxy_run(const char *listen_path, const char *upstream)
{
	struct proxy p = { .cfd = -1, .ufd = -1, .upstream = upstream };
	static uint8_t b[PX_MSG_MAX];
	int r;

	signal(SIGTERM, px_on_term);
	r = unix_seqpacket_listen(listen_path, 4, &p.lfd);
	if (r < 0) {
		fprintf(stderr, "bad-earbud: %s: %s\n", listen_path,
			strerror(-r));
		return 1;
	}
	while (!px_stop) {
		struct pollfd fds[2];
		ssize_t n;

		if (p.cfd < 0) {
			if (wait_in(p.lfd, 200) > 0 && proxy_accept(&p) < 0) {
				fprintf(stderr, "bad-earbud: cannot reach %s\n",
					upstream);
				return 1;
			}
			continue;
		}
		fds[0] = (struct pollfd){ .fd = p.cfd, .events = POLLIN };
		fds[1] = (struct pollfd){ .fd = p.ufd, .events = POLLIN };
		if (poll(fds, 2, 100) < 0) {
			continue;
		}
		r = 0;
		if (fds[0].revents) {
			n = recv(p.cfd, b, sizeof(b), MSG_DONTWAIT);
			if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
				/* ttwsd closed the link. */
				printf("reset\n");
				fflush(stdout);
				proxy_close_session(&p);
				continue;
			}
			if (n > 0) {
				r = proxy_from_host(&p, b, (size_t)n);
			}
		}
		if (r == 0 && fds[1].revents) {
			n = recv(p.ufd, b, sizeof(b), MSG_DONTWAIT);
			if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
				fprintf(stderr, "bad-earbud: the earbud left\n");
				return 1;
			}
			if (n > 0) {
				r = proxy_from_earbud(&p, b, (size_t)n);
			}
		}
		if (r == 0) {
			r = proxy_pace(&p);
		}
		if (r < 0) {
			fprintf(stderr, "bad-earbud: %s\n", strerror(-r));
			return 1;
		}
	}
	proxy_close_session(&p);
	close(p.lfd);
	unlink(listen_path);
	return 0;
}

/* ---- out-of-range mode ----------------------------------------------- */

static int serve_all(const char *path)
{
	unsigned i;
	int lfd, cfd, r;

	r = unix_seqpacket_listen(path, 4, &lfd);
	if (r < 0) {
		fprintf(stderr, "bad-earbud: %s: %s\n", path, strerror(-r));
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
	unlink(path);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--proxy") == 0) {
		return proxy_run(argv[2], argv[3]);
	}
	if (argc != 2) {
		fprintf(stderr, "usage: bad-earbud SOCKET\n"
				"       bad-earbud --proxy LISTEN UPSTREAM\n");
		return 2;
	}
	return serve_all(argv[1]);
}
