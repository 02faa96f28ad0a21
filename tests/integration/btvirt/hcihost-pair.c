/* SPDX-License-Identifier: MIT */
/*
 * hcihost against BlueZ's controller emulator: one central and two
 * peripherals, each an hcihost on its own emulated controller of one
 * btvirt (run under with-btvirt.sh, which gives the socket in
 * TTWS_BTVIRT_LE).
 *
 *   hcihost-pair BTMON
 *
 * Asserts: both LE links and both L2CAP channels open; 500 SDUs of 1 to
 * HCIHOST_MAX_SDU octets each way on each channel arrive intact and in
 * order, every cookie coming back from Number Of Completed Packets, in
 * order; peripheral 0 disconnects, the central sees its channel close and
 * reopens it once the peripheral advertises again, while channel 1 keeps
 * flowing; the central's btsnoop capture reads back in `btmon -r` with LE
 * Connection Complete and the L2CAP LE Connection Request in it.
 *
 * A test driver, not ttws code: it polls, reads the clock and prints.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/btsnoop.h"
#include "core/hcihost.h"

#define N_SDU 500        /* per direction per channel, phase 1 */
#define N_SDU_OUTAGE 200 /* channel 1, while channel 0 is down */
#define N_SDU_AFTER 50   /* channel 0 after reopening */
#define RETRY_NS (50 * UINT64_C(1000000))
#define LIMIT_NS (90 * UINT64_C(1000000000))

enum phase {
	PHASE_CONNECT,  /* until all four channel ends are open */
	PHASE_STREAM,   /* N_SDU each way on both channels */
	PHASE_OUTAGE,   /* peripheral 0 closed, central reconnecting */
	PHASE_AFTER,    /* channel 0 back: N_SDU_AFTER each way */
	PHASE_DONE,
};

/* One direction of one channel end: what it sent and received. */
struct stream {
	unsigned tx;          /* SDUs queued */
	unsigned rx;          /* SDUs received and checked */
	unsigned done;        /* cookies returned */
	unsigned tx_limit;
};

struct node {
	const char *name;
	int fd;
	bool central;
	unsigned ch;          /* peripheral: its channel number */
	struct hcihost *h;
	bool ready;
	struct hci_bdaddr addr;
	unsigned opens[HCIHOST_MAX_CHANS], closes[HCIHOST_MAX_CHANS];
	int close_err[HCIHOST_MAX_CHANS];
	int outage_err;       /* channel 0's first close in PHASE_OUTAGE */
	uint64_t retry_at[HCIHOST_MAX_CHANS]; /* 0: no reopen due */
	struct stream s[HCIHOST_MAX_CHANS];
	FILE *snoop;
};

static struct node nodes[3];
static struct node *const central = &nodes[0];
static enum phase phase;
static uint64_t now;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2),
						     noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* SDU seq of a stream: its size (1 and the maximum among them) and
 * contents are a function of who sends it, on which channel, and seq. */
static size_t sdu_len(bool from_central, unsigned ch, unsigned seq)
{
	if (seq == 0) {
		return 1;
	}
	if (seq == 1) {
		return HCIHOST_MAX_SDU;
	}
	return 1 + (seq * 7919u + ch * 101u + (from_central ? 13u : 0u)) %
			   HCIHOST_MAX_SDU;
}

static void sdu_fill(uint8_t *b, size_t len, bool from_central, unsigned ch,
		     unsigned seq)
{
	for (size_t i = 0; i < len; i++) {
		b[i] = (uint8_t)(seq * 131u + i * 7u + ch * 17u +
				 (from_central ? 0x55u : 0u) + (i >> 8));
	}
}

/* Cookies name the stream and the SDU so that order can be checked. */
static uint64_t cookie_of(unsigned ch, unsigned seq)
{
	return (uint64_t)0xc0de << 48 | (uint64_t)ch << 32 | seq;
}

/* ---- hcihost callbacks --------------------------------------------- */

static int cb_write(void *u, const uint8_t *frame, size_t len)
{
	struct node *n = u;
	ssize_t w = write(n->fd, frame, len);

	if (w < 0) {
		return -errno;
	}
	if ((size_t)w != len) {
		/* One write per packet (DESIGN.md, Transports). */
		fail("%s: short write %zd of %zu", n->name, w, len);
	}
	return 0;
}

static void cb_ready(void *u, const struct hci_bdaddr *local)
{
	struct node *n = u;

	n->ready = true;
	n->addr = *local;
	printf("%s ready: %02X:%02X:%02X:%02X:%02X:%02X\n", n->name,
	       local->b[5], local->b[4], local->b[3], local->b[2],
	       local->b[1], local->b[0]);
}

static void cb_down(void *u, int err)
{
	struct node *n = u;

	fail("%s: controller down: %s", n->name, strerror(-err));
}

static void cb_open(void *u, unsigned ch)
{
	struct node *n = u;

	n->opens[ch]++;
	n->retry_at[ch] = 0;
	/* A new channel starts its streams over. */
	memset(&n->s[ch], 0, sizeof(n->s[ch]));
	printf("%s: channel %u open (%u)\n", n->name, ch, n->opens[ch]);
}

static void cb_msg(void *u, unsigned ch, const uint8_t *sdu, size_t len,
		   uint64_t rx_ns)
{
	struct node *n = u;
	struct stream *s = &n->s[ch];
	uint8_t want[HCIHOST_MAX_SDU];
	size_t wlen = sdu_len(!n->central, ch, s->rx);

	(void)rx_ns;
	if (len != wlen) {
		fail("%s ch %u SDU %u: %zu octets, want %zu", n->name, ch,
		     s->rx, len, wlen);
	}
	sdu_fill(want, wlen, !n->central, ch, s->rx);
	if (memcmp(sdu, want, len) != 0) {
		fail("%s ch %u SDU %u: contents differ", n->name, ch, s->rx);
	}
	s->rx++;
}

static void cb_closed(void *u, unsigned ch, int err)
{
	struct node *n = u;

	n->closes[ch]++;
	n->close_err[ch] = err;
	printf("%s: channel %u closed: %s\n", n->name, ch, strerror(-err));
	if (phase == PHASE_OUTAGE && ch == 0 && n->outage_err == 0) {
		n->outage_err = err;
	}
	if (phase == PHASE_CONNECT || (phase == PHASE_OUTAGE && ch == 0)) {
		/* Not there yet (not advertising): try again soon. */
		n->retry_at[ch] = now + RETRY_NS;
		return;
	}
	fail("%s: channel %u closed in phase %d", n->name, ch, phase);
}

static void cb_sent(void *u, unsigned ch, uint64_t cookie, uint64_t now_ns)
{
	struct node *n = u;
	struct stream *s = &n->s[ch];

	(void)now_ns;
	if (cookie != cookie_of(ch, s->done)) {
		fail("%s ch %u: cookie %#llx, want SDU %u", n->name, ch,
		     (unsigned long long)cookie, s->done);
	}
	s->done++;
}

/* btsnoop record of every packet of the central (btsnoop.h). */
static void cb_trace(void *u, bool rx, const uint8_t *frame, size_t len,
		     uint64_t now_ns)
{
	struct node *n = u;
	uint8_t rec[BTSNOOP_REC_HDR_SIZE + 4096];
	struct btsnoop_rec r = {
		.dir = rx ? BTSNOOP_RECEIVED : BTSNOOP_SENT,
	};
	struct timespec ts;
	size_t rlen;

	(void)now_ns;
	if (!n->snoop) {
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	r.ts_unix_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	if (btsnoop_encode_record(&r, frame, len, rec, sizeof(rec), &rlen) <
		    0 ||
	    fwrite(rec, 1, rlen, n->snoop) != rlen) {
		fail("btsnoop record");
	}
}

static const struct hcihost_ops ops = {
	.write = cb_write,
	.ready = cb_ready,
	.down = cb_down,
	.chan_open = cb_open,
	.chan_msg = cb_msg,
	.chan_closed = cb_closed,
	.sent = cb_sent,
	.trace = cb_trace,
};

/* ---- driver -------------------------------------------------------- */

static int connect_controller(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path)) {
		fail("socket: %s", strerror(errno));
	}
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fail("connect %s: %s", path, strerror(errno));
	}
	return fd;
}

static void node_init(struct node *n, const char *name, bool is_central,
		      unsigned ch, const char *path)
{
	struct hcihost_config cfg;
	int r;

	memset(n, 0, sizeof(*n));
	n->name = name;
	n->central = is_central;
	n->ch = ch;
	n->fd = connect_controller(path);
	hcihost_config_default(&cfg);
	cfg.role = is_central ? HCIHOST_CENTRAL : HCIHOST_PERIPHERAL;
	/* Peripherals take K-frames larger than btvirt's 192-octet ACL
	 * buffers, so the central's packets are fragmented on the way;
	 * the central keeps the default (one K-frame per ACL packet). */
	if (!is_central) {
		cfg.mps = 400;
	}
	r = hcihost_new(&cfg, &ops, n, &n->h);
	if (r < 0) {
		fail("hcihost_new: %s", strerror(-r));
	}
}

/* Queue what each open channel end still has to send. */
static void feed_streams(struct node *n)
{
	uint8_t b[HCIHOST_MAX_SDU];

	for (unsigned ch = 0; ch < HCIHOST_MAX_CHANS; ch++) {
		struct stream *s = &n->s[ch];

		if (hcihost_chan_state(n->h, ch) != HCIHOST_CH_OPEN) {
			continue;
		}
		while (s->tx < s->tx_limit && hcihost_tx_space(n->h, ch) > 0) {
			size_t len = sdu_len(n->central, ch, s->tx);
			int r;

			sdu_fill(b, len, n->central, ch, s->tx);
			r = hcihost_send(n->h, ch, b, len,
					 cookie_of(ch, s->tx));
			if (r < 0) {
				fail("%s ch %u send: %s", n->name, ch,
				     strerror(-r));
			}
			s->tx++;
		}
	}
}

static void service(struct node *n)
{
	for (unsigned ch = 0; ch < HCIHOST_MAX_CHANS; ch++) {
		const struct hci_bdaddr *peer =
			n->central ? &nodes[1 + ch].addr : NULL;

		if (n->retry_at[ch] != 0 && now >= n->retry_at[ch] &&
		    hcihost_chan_state(n->h, ch) == HCIHOST_CH_IDLE) {
			n->retry_at[ch] = 0;
			if (hcihost_open(n->h, ch, peer, HCI_ADDR_PUBLIC,
					 now) < 0) {
				fail("%s: reopen %u", n->name, ch);
			}
		}
	}
	hcihost_tick(n->h, now);
	feed_streams(n);
}

static void poll_once(void)
{
	struct pollfd pfd[3];
	uint8_t buf[65536];

	for (unsigned i = 0; i < 3; i++) {
		pfd[i] = (struct pollfd){ .fd = nodes[i].fd, .events = POLLIN };
	}
	if (poll(pfd, 3, 5) < 0 && errno != EINTR) {
		fail("poll: %s", strerror(errno));
	}
	now = mono_ns();
	for (unsigned i = 0; i < 3; i++) {
		ssize_t r;

		if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) {
			continue;
		}
		r = read(nodes[i].fd, buf, sizeof(buf));
		if (r <= 0) {
			fail("%s: controller socket: %s", nodes[i].name,
			     r == 0 ? "EOF" : strerror(errno));
		}
		hcihost_input(nodes[i].h, buf, (size_t)r, now);
	}
	for (unsigned i = 0; i < 3; i++) {
		service(&nodes[i]);
	}
}

/* Read exactly len octets from fd within 2 s. */
static void read_exact(int fd, uint8_t *b, size_t len)
{
	size_t have = 0;

	while (have < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&pfd, 1, 2000) <= 0) {
			fail("raw HCI: no answer");
		}
		r = read(fd, b + have, len - have);
		if (r <= 0) {
			fail("raw HCI read: %s", r ? strerror(errno) : "EOF");
		}
		have += (size_t)r;
	}
}

static void raw_cmd(int fd, const uint8_t *cmd, size_t len, uint8_t *ret,
		    size_t ret_len)
{
	if (write(fd, cmd, len) != (ssize_t)len) {
		fail("raw HCI write: %s", strerror(errno));
	}
	read_exact(fd, ret, ret_len);
}

/*
 * btvirt 5.66 numbers a link's handle separately on each controller (the
 * lowest free from 0x002A), reports the central's number to both in LE
 * Connection Complete, and forwards ACL headers unchanged. A central's
 * second link (0x002B) thus reaches a peripheral whose own number for it
 * is 0x002A: what the peripheral sends on the reported handle is dropped
 * without a completion, and what it would send on 0x002A arrives at the
 * central as the first link's. The numbers agree when 0x002A is taken on
 * that peripheral: a spare controller holds a link to it, made behind its
 * hcihost's back (after its Reset, which drops btvirt links, and before
 * the central's second connection). Returns the spare's socket, to be
 * kept open.
 */
static int btvirt_take_handle(struct node *p, const char *path)
{
	int spare = connect_controller(path);
	uint8_t cmd[4 + 25] = { 0x01, 0x0d, 0x20, 25 };
	uint8_t ans[64];

	/* The spare: its address (Read BD_ADDR), then advertising. */
	raw_cmd(spare, (const uint8_t[]){ 0x01, 0x09, 0x10, 0x00 }, 4, ans,
		13);
	if (ans[0] != 0x04 || ans[1] != 0x0e || ans[6] != 0x00) {
		fail("spare: Read BD_ADDR");
	}
	memcpy(cmd + 4 + 6, ans + 7, 6);
	raw_cmd(spare, (const uint8_t[]){ 0x01, 0x0a, 0x20, 0x01, 0x01 }, 5,
		ans, 7);
	if (ans[6] != 0x00) {
		fail("spare: advertising");
	}
	/* The peripheral's controller connects to it: Command Status (7
	 * octets) and LE Connection Complete (22), which its host never
	 * sees. Scan 0x60/0x30, interval 6, timeout 200. */
	cmd[4] = 0x60;
	cmd[6] = 0x30;
	cmd[4 + 13] = 6;
	cmd[4 + 15] = 6;
	cmd[4 + 19] = 200;
	raw_cmd(p->fd, cmd, sizeof(cmd), ans, 7 + 22);
	if (ans[7] != 0x04 || ans[8] != 0x3e || ans[11] != 0x00 ||
	    ans[12] != 0x2a) {
		fail("spare link: status 0x%02x handle 0x%02x", ans[11],
		     ans[12]);
	}
	return spare;
}

static bool central_link0(void)
{
	return hcihost_chan_state(central->h, 0) >= HCIHOST_CH_L2CAP;
}

static bool all_open(void)
{
	for (unsigned ch = 0; ch < HCIHOST_MAX_CHANS; ch++) {
		if (hcihost_chan_state(central->h, ch) != HCIHOST_CH_OPEN ||
		    hcihost_chan_state(nodes[1 + ch].h, ch) !=
			    HCIHOST_CH_OPEN) {
			return false;
		}
	}
	return true;
}

/* Channel ch's four streams have all been sent, received and their
 * cookies returned. */
static bool streams_done(unsigned ch, unsigned want)
{
	struct node *p = &nodes[1 + ch];

	return central->s[ch].done == want && p->s[ch].done == want &&
	       central->s[ch].rx == want && p->s[ch].rx == want;
}

static void set_limit(unsigned ch, unsigned limit)
{
	central->s[ch].tx_limit = limit;
	nodes[1 + ch].s[ch].tx_limit = limit;
}

static void run_until(bool (*cond)(void), const char *what, uint64_t start)
{
	while (!cond()) {
		if (mono_ns() - start > LIMIT_NS) {
			fail("timed out waiting for %s", what);
		}
		poll_once();
	}
}

static bool all_ready(void)
{
	return nodes[0].ready && nodes[1].ready && nodes[2].ready;
}

static bool phase1_done(void)
{
	return streams_done(0, N_SDU) && streams_done(1, N_SDU);
}

static bool closed0(void)
{
	return central->outage_err != 0 && nodes[1].outage_err != 0;
}

static bool reopened0(void)
{
	return central->opens[0] >= 2 && nodes[1].opens[0] >= 2 &&
	       hcihost_chan_state(central->h, 0) == HCIHOST_CH_OPEN &&
	       hcihost_chan_state(nodes[1].h, 0) == HCIHOST_CH_OPEN;
}

static bool phase3_done(void)
{
	return streams_done(0, N_SDU_AFTER) &&
	       streams_done(1, N_SDU + N_SDU_OUTAGE);
}

/* btmon reads the capture back and names what we look for. */
static void check_btmon(const char *btmon, const char *path)
{
	char cmd[512], line[1024];
	bool conn_complete = false, l2cap_req = false, l2cap_rsp = false;
	unsigned lines = 0;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "'%s' -r '%s' 2>&1", btmon, path);
	p = popen(cmd, "r");
	if (!p) {
		fail("popen btmon: %s", strerror(errno));
	}
	while (fgets(line, sizeof(line), p)) {
		lines++;
		conn_complete |= strstr(line, "LE Connection Complete") != NULL;
		l2cap_req |= strstr(line, "LE Connection Request") != NULL;
		l2cap_rsp |= strstr(line, "LE Connection Response") != NULL;
	}
	st = pclose(p);
	printf("btmon: %u lines; LE Connection Complete %s, L2CAP LE "
	       "Connection Request %s, Response %s\n",
	       lines, conn_complete ? "yes" : "no", l2cap_req ? "yes" : "no",
	       l2cap_rsp ? "yes" : "no");
	if (st != 0 || !conn_complete || !l2cap_req || !l2cap_rsp) {
		fail("btmon -r %s (status %d)", path, st);
	}
}

int main(int argc, char **argv)
{
	const char *path = getenv("TTWS_BTVIRT_LE");
	char snoop_path[] = "/tmp/ttws-hcihost-pair-XXXXXX.btsnoop";
	uint8_t hdr[BTSNOOP_HDR_SIZE];
	struct hcihost_stats st;
	uint64_t start = mono_ns(), t;
	unsigned rx1_at_close;
	int fd, spare;
	size_t n;

	if (argc != 2 || !path) {
		fprintf(stderr, "usage: with-btvirt.sh %s BTMON\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	node_init(&nodes[0], "central", true, 0, path);
	node_init(&nodes[1], "peripheral0", false, 0, path);
	node_init(&nodes[2], "peripheral1", false, 1, path);

	fd = mkstemps(snoop_path, 8);
	if (fd < 0) {
		fail("mkstemps: %s", strerror(errno));
	}
	/* Kept when the test fails, for a look with btmon or Wireshark. */
	printf("central's capture: %s\n", snoop_path);
	central->snoop = fdopen(fd, "w");
	if (!central->snoop ||
	    btsnoop_encode_header(hdr, sizeof(hdr), &n) < 0 ||
	    fwrite(hdr, 1, n, central->snoop) != n) {
		fail("btsnoop header");
	}

	now = mono_ns();
	for (unsigned i = 0; i < 3; i++) {
		hcihost_start(nodes[i].h, now);
	}
	run_until(all_ready, "three controllers", start);
	spare = btvirt_take_handle(&nodes[2], path);
	/* Both ends at once: the central retries until the peripheral's
	 * advertising is on (btvirt fails a connection to a controller
	 * that does not advertise at once, 0x3E). Channel 0's link first,
	 * so that it is 0x002A (btvirt_take_handle()). */
	for (unsigned ch = 0; ch < HCIHOST_MAX_CHANS; ch++) {
		if (hcihost_open(nodes[1 + ch].h, ch, NULL, HCI_ADDR_PUBLIC,
				 now) < 0 ||
		    hcihost_open(central->h, ch, &nodes[1 + ch].addr,
				 HCI_ADDR_PUBLIC, now) < 0) {
			fail("open %u", ch);
		}
		if (ch == 0) {
			run_until(central_link0, "channel 0's link", start);
		}
	}
	run_until(all_open, "both channels open", start);
	printf("both LE links and L2CAP channels open after %.1f ms\n",
	       (double)(mono_ns() - start) / 1e6);

	/* Phase 1: 500 SDUs each way on each channel. */
	phase = PHASE_STREAM;
	t = mono_ns();
	set_limit(0, N_SDU);
	set_limit(1, N_SDU);
	run_until(phase1_done, "500 SDUs each way", start);
	printf("phase 1: 4 x %u SDUs in %.1f ms\n", N_SDU,
	       (double)(mono_ns() - t) / 1e6);

	/* Phase 2: peripheral 0 leaves; channel 1 keeps going. */
	phase = PHASE_OUTAGE;
	set_limit(1, N_SDU + N_SDU_OUTAGE);
	rx1_at_close = central->s[1].rx;
	hcihost_close(nodes[1].h, 0, now);
	run_until(closed0, "channel 0 closed at both ends", start);
	/* The peripheral closed it; the central heard the peer end it. */
	if (central->outage_err != -ECONNRESET ||
	    nodes[1].outage_err != -ECONNABORTED) {
		fail("close errors: central %d, peripheral %d",
		     central->outage_err, nodes[1].outage_err);
	}
	/* The central retries (cb_closed); the peripheral comes back a
	 * little later, so some attempts find nobody advertising. */
	nodes[1].retry_at[0] = now + 4 * RETRY_NS;
	central->retry_at[0] = now + RETRY_NS;
	run_until(reopened0, "channel 0 reopened", start);
	if (central->s[1].rx == rx1_at_close) {
		fail("channel 1 stalled while channel 0 was down");
	}
	printf("channel 0 reopened; channel 1 moved %u SDUs meanwhile\n",
	       central->s[1].rx - rx1_at_close);

	/* Phase 3: the reopened channel carries data; channel 1 ends. */
	phase = PHASE_AFTER;
	set_limit(0, N_SDU_AFTER);
	run_until(phase3_done, "the reopened channel's SDUs", start);

	phase = PHASE_DONE;
	for (unsigned i = 0; i < 3; i++) {
		hcihost_get_stats(nodes[i].h, &st);
		printf("%s: cmds %llu evts %llu acl tx %llu rx %llu sdus tx "
		       "%llu rx %llu stalls %llu errors evt %llu acl %llu "
		       "l2cap %llu connects %llu fails %llu\n",
		       nodes[i].name, (unsigned long long)st.cmds,
		       (unsigned long long)st.evts,
		       (unsigned long long)st.acl_tx,
		       (unsigned long long)st.acl_rx,
		       (unsigned long long)st.sdus_tx,
		       (unsigned long long)st.sdus_rx,
		       (unsigned long long)st.tx_stalls,
		       (unsigned long long)st.evt_errors,
		       (unsigned long long)st.acl_errors,
		       (unsigned long long)st.l2cap_errors,
		       (unsigned long long)st.connects,
		       (unsigned long long)st.connect_fails);
		if (st.evt_errors || st.acl_errors || st.l2cap_errors ||
		    st.h4_resyncs || st.acl_over_completed) {
			fail("%s: errors counted", nodes[i].name);
		}
	}
	hcihost_get_stats(central->h, &st);
	if (st.connects != 3 || st.disconnects != 1) {
		fail("central: %llu connects, %llu disconnects",
		     (unsigned long long)st.connects,
		     (unsigned long long)st.disconnects);
	}
	/* The peripherals' K-frames are larger than an ACL buffer: the
	 * central must have fragmented. */
	if (st.acl_tx <= st.sdus_tx * 2) {
		fail("central: %llu ACL packets for %llu SDUs",
		     (unsigned long long)st.acl_tx,
		     (unsigned long long)st.sdus_tx);
	}

	if (fclose(central->snoop) != 0) {
		fail("btsnoop close");
	}
	central->snoop = NULL;
	check_btmon(argv[1], snoop_path);
	unlink(snoop_path);

	for (unsigned i = 0; i < 3; i++) {
		nodes[i].h = hcihost_free(nodes[i].h);
		close(nodes[i].fd);
	}
	close(spare);
	printf("PASS\n");
	return 0;
}
