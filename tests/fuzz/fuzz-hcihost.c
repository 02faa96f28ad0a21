/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the HCI host (src/core/hcihost*.c, through its
 * public API only: hcihost.h) driven by a hostile controller and a hostile
 * peer behind it.
 *
 * The input is a script. Its first octet picks the host's configuration
 * (central or peripheral, MPS, credits, MTU); then each step is one
 * octet naming an action and the octets that action takes:
 *   - answers to the command the host has outstanding (Command Complete
 *     with fuzzed return parameters, Command Status), connection and
 *     disconnection events, completions, connection updates, hardware
 *     errors;
 *   - L2CAP from the peer: LE credit-based connection requests and
 *     responses with fuzzed MTU/MPS/credits/result, credit indications,
 *     arbitrary signaling commands, K-frames (fragmented into ACL packets
 *     as the input says);
 *   - raw octets (anything at all, split anywhere);
 *   - the host's own API (open, close, send, start; ATT channels:
 *     set_att, att_send, l2_open; flush) and the passing of time (tick);
 *   - ATT PDUs from the peer on CID 0x0004, fuzzed;
 *   - "auto": a well-behaved controller's next answer, so that the fuzzer
 *     reaches open channels cheaply and spends its effort past them;
 *   - with security (the configuration's top bit): Encryption Change,
 *     the controller's crypto events (P-256 key, DHKey, LTK request)
 *     and SMP PDUs from the peer, all with fuzzed contents.
 *
 * Beyond memory safety, UB and leaks, the harness decodes everything the
 * host writes and checks that it keeps the rules a controller and a peer
 * rely on (Core 5.4; "E" Vol 4 Part E, "A" Vol 3 Part A):
 *   - every write is one well-formed H4 command or ACL packet;
 *   - one command at a time, and only with the controller's credit
 *     (E 4.4), except the HCI Reset of a restart;
 *   - ACL packets no longer than the controller's buffers and never more
 *     in flight than it has (E 4.1.1), on links that exist;
 *   - K-frames only with a credit, within the peer's MPS, SDUs within
 *     its MTU, each SDU's K-frames adding up to its length (A 3.4.3,
 *     10.1);
 *   - with security, no L2CAP channel asked for or accepted on a link
 *     the controller has not reported encrypted;
 *   - callbacks in order: a channel opens once, delivers SDUs within our
 *     MTU only while open, closes with a negative errno; completions name
 *     SDUs sent on that channel, oldest first, each once; intervals are
 *     in 7.5 ms .. 4 s.
 * Rules that depend on mirroring what the controller said are checked
 * only until the script injects raw octets (which the harness cannot
 * mirror).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hcihost.h"

#include "fuzz-check.h"
#include "fuzz-input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MS 1000000ull

/* Opcodes and codes, written from the specification (E 7). */
#define OP_RESET 0x0c03
#define OP_READ_BUFFER_SIZE 0x1005
#define OP_READ_BD_ADDR 0x1009
#define OP_LE_READ_BUFFER_SIZE 0x2002
#define OP_LE_READ_BUFFER_SIZE_V2 0x2060
#define OP_LE_CREATE_CONN 0x200d
#define OP_LE_CREATE_CONN_CANCEL 0x200e
#define OP_DISCONNECT 0x0406

#define SIG_CONN_REQ 0x14
#define SIG_CONN_RSP 0x15
#define SIG_CREDIT_IND 0x16

#define NHANDLES 8
#define NCOOKIES 128

/* What the harness knows of one link (by handle) from both sides. */
struct link {
	bool up;             /* connected, as far as the controller said */
	uint16_t handle;
	int ch;              /* host channel it carries, -1 unknown */
	unsigned in_flight;  /* host ACL packets not completed */
	/* Host -> peer PDU being reassembled from the host's ACL. */
	uint8_t pdu[4 + 2 + HCIHOST_MAX_SDU + 64];
	size_t pdu_have, pdu_want;
	/* L2CAP, host side, as its signaling said. */
	uint16_t host_cid;   /* CID the host receives on */
	uint8_t host_ident;  /* its LE credit connection request */
	bool host_req;
	/* L2CAP, peer side, as our signaling said. */
	uint16_t peer_cid;
	uint16_t peer_mtu, peer_mps;
	uint32_t host_credits; /* K-frames the host may still send us */
	bool open;           /* the host reported the channel open */
	bool credits_known;
	uint32_t sdu_left;   /* octets of the host's SDU still to come */
	bool encrypted;      /* the controller said so (Encryption Change) */
	/* K-frames we send the host: the SDU in progress. */
	uint16_t to_host_credits;
};

static struct {
	struct hcihost *h;
	struct hcihost_config cfg;
	uint64_t now;
	bool tainted;        /* raw octets went in: stop mirroring */
	bool in_callback;

	/* Commands. */
	bool cmd_pending;
	uint16_t cmd_op;
	uint16_t cmd_disc_handle;
	struct hci_bdaddr create_peer;
	uint8_t create_peer_type;
	unsigned ncmd;

	/* Buffers the controller announced, and what the host took. */
	uint16_t buf_len, buf_num;
	uint16_t acl_len, acl_num;
	bool ready;

	struct link link[NHANDLES];

	/* Channels. */
	bool open[HCIHOST_MAX_CHANS];
	uint64_t cookies[HCIHOST_MAX_CHANS][NCOOKIES];
	unsigned ck_head[HCIHOST_MAX_CHANS], ck_n[HCIHOST_MAX_CHANS];
	uint64_t next_cookie;
	/* The link whose packet is being delivered (maps chan_open). */
	int delivering;
	bool trace; /* TTWS_FUZZ_DEBUG=2: every step and packet */
} F;

static struct link *link_of(uint16_t handle)
{
	for (unsigned i = 0; i < NHANDLES; i++) {
		if (F.link[i].up && F.link[i].handle == handle) {
			return &F.link[i];
		}
	}
	return NULL;
}

static struct link *link_of_ch(int ch)
{
	for (unsigned i = 0; i < NHANDLES; i++) {
		if (F.link[i].up && F.link[i].ch == ch) {
			return &F.link[i];
		}
	}
	return NULL;
}

static unsigned in_flight(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < NHANDLES; i++) {
		n += F.link[i].in_flight;
	}
	return n;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* ---- what the host writes ------------------------------------------ */

static void on_host_cmd(const uint8_t *f, size_t len)
{
	uint16_t op;

	check(len >= 4 && f[3] == len - 4);
	op = le16(f + 1);
	if (!F.tainted) {
		/* E 4.4; a restart may abandon the one in flight. */
		check(!F.cmd_pending || op == OP_RESET);
		check(F.ncmd > 0 || op == OP_RESET);
	}
	F.cmd_pending = true;
	F.cmd_op = op;
	if (F.ncmd > 0) {
		F.ncmd--;
	}
	if (op == OP_RESET) {
		/* The controller forgets every link and buffer. */
		for (unsigned i = 0; i < NHANDLES; i++) {
			memset(&F.link[i], 0, sizeof(F.link[i]));
			F.link[i].ch = -1;
		}
		F.ready = false;
	} else if (op == OP_LE_CREATE_CONN && len >= 4 + 25) {
		F.create_peer_type = f[4 + 5];
		memcpy(F.create_peer.b, f + 4 + 6, 6);
	} else if (op == OP_DISCONNECT && len >= 4 + 3) {
		F.cmd_disc_handle = le16(f + 4) & 0x0fff;
	}
}

/* A whole L2CAP PDU the host sent on link l. */
static void on_host_pdu(struct link *l, const uint8_t *p, size_t len)
{
	uint16_t plen = le16(p), cid = le16(p + 2);

	check(len == 4u + plen);
	p += 4;
	if (cid == 0x0005) {
		/* Signaling: one command per C-frame on LE (A 4). */
		check(plen >= 4 && le16(p + 2) == plen - 4u);
		if (p[0] == SIG_CONN_REQ && plen >= 4 + 10) {
			/* With security, no channel before encryption. */
			check(F.cfg.security == HCIHOST_SECURITY_NONE ||
			      F.tainted || l->encrypted);
			l->host_req = true;
			l->host_ident = p[1];
			l->host_cid = le16(p + 6);
		} else if (p[0] == SIG_CONN_RSP && plen >= 4 + 10) {
			check(F.cfg.security == HCIHOST_SECURITY_NONE ||
			      F.tainted || l->encrypted ||
			      le16(p + 4 + 8) != 0);
			l->host_cid = le16(p + 4);
		}
		return;
	}
	if (!l->open || cid != l->peer_cid || F.tainted || !l->credits_known) {
		return;
	}
	/* A K-frame to the peer: a credit, the peer's MPS (A 10.1). */
	check(l->host_credits > 0);
	l->host_credits--;
	check(plen <= l->peer_mps);
	if (l->sdu_left == 0) {
		uint16_t sdu_len;

		check(plen >= 2);
		sdu_len = le16(p);
		check(sdu_len <= l->peer_mtu);
		check(plen - 2u <= sdu_len);
		l->sdu_left = sdu_len - (plen - 2u);
	} else {
		check(plen <= l->sdu_left && plen > 0);
		l->sdu_left -= plen;
	}
}

static void on_host_acl(const uint8_t *f, size_t len)
{
	uint16_t hdr, handle, dlen;
	uint8_t pb;
	struct link *l;

	check(len >= 5);
	hdr = le16(f + 1);
	handle = hdr & 0x0fff;
	pb = (hdr >> 12) & 3;
	dlen = le16(f + 3);
	check(len == 5u + dlen && dlen > 0);
	l = link_of(handle);
	if (F.tainted) {
		return;
	}
	/* E 4.1.1, 5.4.2: on a link, within the buffers it has. */
	check(l != NULL && F.ready);
	check(dlen <= F.acl_len);
	check(in_flight() < F.acl_num);
	l->in_flight++;
	/* The host refuses an LE ACL buffer under E 7.8.2's 27 octets
	 * (regress/hcihost/le-acl-len-below-27): never here with one. */
	check(F.acl_len >= 27);
	if (pb != 0x01) {
		/* A first fragment: a new PDU, the last one complete. */
		check(l->pdu_have == l->pdu_want);
		check(dlen >= 4);
		l->pdu_want = 4u + le16(f + 5);
		l->pdu_have = 0;
		check(l->pdu_want <= sizeof(l->pdu));
	} else {
		check(l->pdu_have < l->pdu_want);
	}
	check(l->pdu_have + dlen <= l->pdu_want);
	memcpy(l->pdu + l->pdu_have, f + 5, dlen);
	l->pdu_have += dlen;
	if (l->pdu_have == l->pdu_want) {
		on_host_pdu(l, l->pdu, l->pdu_have);
	}
}

/* ---- host callbacks ------------------------------------------------ */

static int cb_write(void *u, const uint8_t *frame, size_t len)
{
	(void)u;
	check(len >= 1);
	if (F.trace) {
		fprintf(stderr, "  host writes %02x", frame[0]);
		for (size_t i = 1; i < len && i < 16; i++) {
			fprintf(stderr, " %02x", frame[i]);
		}
		fprintf(stderr, "%s (in flight %u of %u)\n",
			len > 16 ? " ..." : "", in_flight(), F.acl_num);
	}
	switch (frame[0]) {
	case 0x01:
		on_host_cmd(frame, len);
		break;
	case 0x02:
		on_host_acl(frame, len);
		break;
	default:
		abort();
	}
	return 0;
}

static void cb_ready(void *u, const struct hci_bdaddr *local)
{
	(void)u;
	(void)local;
	check(hcihost_state(F.h) == HCIHOST_READY);
	F.ready = true;
	F.acl_len = F.buf_len;
	F.acl_num = F.buf_num;
}

static void forget_channel(unsigned ch)
{
	struct link *l = link_of_ch((int)ch);

	F.open[ch] = false;
	F.ck_n[ch] = 0;
	if (l) {
		/* The host frees what the link held (E 4.3), whether or not
		 * the controller said the link is gone. */
		l->in_flight = 0;
		l->open = false;
		l->ch = -1;
		l->pdu_have = l->pdu_want = 0;
		l->sdu_left = 0;
	}
}

static void cb_down(void *u, int err)
{
	(void)u;
	check(err < 0 && hcihost_state(F.h) == HCIHOST_DOWN);
	F.ready = false;
	F.cmd_pending = false;
}

static void cb_chan_open(void *u, unsigned ch)
{
	struct link *l;

	(void)u;
	if (F.trace) {
		fprintf(stderr, "  channel %u open\n", ch);
	}
	check(ch < HCIHOST_MAX_CHANS && !F.open[ch]);
	check(hcihost_chan_state(F.h, ch) == HCIHOST_CH_OPEN);
	F.open[ch] = true;
	F.ck_n[ch] = 0;
	l = link_of_ch((int)ch);
	if (!l && F.delivering >= 0) {
		l = &F.link[F.delivering];
		l->ch = (int)ch;
	}
	if (l) {
		l->open = true;
		l->sdu_left = 0;
	}
}

static void cb_chan_msg(void *u, unsigned ch, const uint8_t *sdu, size_t len,
			uint64_t rx_ns)
{
	(void)u;
	check(ch < HCIHOST_MAX_CHANS && F.open[ch]);
	check(len <= F.cfg.mtu && len <= HCIHOST_MAX_SDU);
	check(rx_ns == F.now);
	/* Every octet readable (ASan checks the read). */
	if (len) {
		volatile uint8_t x = sdu[0] ^ sdu[len - 1];

		(void)x;
	}
}

static void cb_chan_closed(void *u, unsigned ch, int err)
{
	(void)u;
	if (F.trace) {
		fprintf(stderr, "  channel %u closed: %d\n", ch, err);
	}
	check(ch < HCIHOST_MAX_CHANS && err < 0);
	check(hcihost_chan_state(F.h, ch) == HCIHOST_CH_IDLE);
	forget_channel(ch);
}

static void cb_sent(void *u, unsigned ch, uint64_t cookie, uint64_t now_ns)
{
	(void)u;
	check(ch < HCIHOST_MAX_CHANS && now_ns == F.now);
	/* The oldest SDU of that channel not yet reported. */
	check(F.ck_n[ch] > 0 && F.cookies[ch][F.ck_head[ch]] == cookie);
	F.ck_head[ch] = (F.ck_head[ch] + 1) % NCOOKIES;
	F.ck_n[ch]--;
}

static void cb_interval(void *u, unsigned ch, uint32_t interval_us,
			uint64_t now_ns)
{
	(void)u;
	check(ch < HCIHOST_MAX_CHANS && now_ns == F.now);
	check(interval_us >= 7500 && interval_us <= 4000000);
}

/* ATT channels: link_up only on a link that is up and not open yet;
 * an ATT PDU within what the host offers, dated now. */
static void cb_link_up(void *u, unsigned ch)
{
	(void)u;
	check(ch < HCIHOST_MAX_CHANS &&
	      hcihost_chan_state(F.h, ch) == HCIHOST_CH_L2CAP);
}

static void cb_att(void *u, unsigned ch, const uint8_t *pdu, size_t len,
		   uint64_t rx_ns)
{
	(void)u;
	(void)pdu;
	check(ch < HCIHOST_MAX_CHANS && rx_ns == F.now);
	check(len >= 1 && len <= HCIHOST_ATT_MTU);
}

static const struct hcihost_ops ops = {
	.write = cb_write,
	.link_up = cb_link_up,
	.att = cb_att,
	.ready = cb_ready,
	.down = cb_down,
	.chan_open = cb_chan_open,
	.chan_msg = cb_chan_msg,
	.chan_closed = cb_chan_closed,
	.sent = cb_sent,
	.interval = cb_interval,
};

/* ---- what the controller says -------------------------------------- */

static void feed(const uint8_t *b, size_t n)
{
	if (F.trace) {
		fprintf(stderr, "  controller says");
		for (size_t i = 0; i < n && i < 16; i++) {
			fprintf(stderr, " %02x", b[i]);
		}
		fprintf(stderr, "%s\n", n > 16 ? " ..." : "");
	}
	hcihost_input(F.h, b, n, F.now);
}

static void event(uint8_t code, const uint8_t *params, uint8_t plen)
{
	uint8_t b[3 + 255];

	b[0] = 0x04;
	b[1] = code;
	b[2] = plen;
	memcpy(b + 3, params, plen);
	feed(b, 3u + plen);
}

/* Status octets: mostly success, sometimes anything. */
static uint8_t pick_status(struct input *in)
{
	uint8_t s = take8(in);

	return s < 192 ? 0 : s;
}

/* Command Complete for the outstanding command. */
static void answer_complete(struct input *in, bool sane)
{
	uint8_t p[64];
	uint8_t n = 4;
	uint16_t op = F.cmd_op;
	uint8_t status = sane ? 0 : pick_status(in);
	uint8_t ncmd = sane ? 1 : (uint8_t)(take8(in) % 4);

	p[0] = ncmd;
	put16(p + 1, op);
	p[3] = status;
	switch (op) {
	case OP_READ_BD_ADDR:
		for (int i = 0; i < 6; i++) {
			p[4 + i] = sane ? (uint8_t)(0x11 * i) : take8(in);
		}
		n = 10;
		break;
	case OP_LE_READ_BUFFER_SIZE_V2:
	case OP_LE_READ_BUFFER_SIZE: {
		uint16_t blen = sane ? 251 : take16(in);
		uint8_t bnum = sane ? 8 : take8(in);

		put16(p + 4, blen);
		p[6] = bnum;
		n = 7;
		if (op == OP_LE_READ_BUFFER_SIZE_V2) {
			put16(p + 7, 0);
			p[9] = 0;
			n = 10;
		}
		if (status == 0) {
			F.buf_len = blen;
			F.buf_num = bnum;
		}
		break;
	}
	case OP_READ_BUFFER_SIZE: {
		uint16_t blen = sane ? 1021 : take16(in);
		uint16_t bnum = sane ? 8 : take16(in);

		put16(p + 4, blen);
		p[6] = 64;
		put16(p + 7, bnum);
		put16(p + 9, 0);
		n = 11;
		if (status == 0) {
			F.buf_len = blen;
			F.buf_num = bnum;
		}
		break;
	}
	default:
		break;
	}
	if (F.cmd_pending) {
		F.cmd_pending = false;
	}
	F.ncmd = ncmd;
	event(0x0e, p, n);
}

static void answer_status(struct input *in, bool sane)
{
	uint8_t p[4];

	p[0] = sane ? 0 : pick_status(in);
	p[1] = sane ? 1 : (uint8_t)(take8(in) % 4);
	put16(p + 2, F.cmd_op);
	F.cmd_pending = false;
	F.ncmd = p[1];
	event(0x0f, p, 4);
}

/* The handle a script octet names: one of a few, so that they repeat. */
static uint16_t pick_handle(uint8_t v)
{
	return (uint16_t)(0x0040 + (v % NHANDLES));
}

static struct link *new_link(uint16_t handle)
{
	struct link *l = link_of(handle);

	if (l) {
		return l;
	}
	for (unsigned i = 0; i < NHANDLES; i++) {
		if (!F.link[i].up) {
			l = &F.link[i];
			memset(l, 0, sizeof(*l));
			l->up = true;
			l->handle = handle;
			l->ch = -1;
			return l;
		}
	}
	return NULL;
}

/* LE Connection Complete (E 7.7.65.1). */
static void conn_complete(struct input *in, bool sane)
{
	uint8_t p[19];
	uint8_t status = sane ? 0 : pick_status(in);
	uint16_t handle = pick_handle(sane ? 0 : take8(in));
	bool peripheral = F.cfg.role == HCIHOST_PERIPHERAL;
	uint16_t interval = sane ? 6 : take16(in);

	if (!sane && (take8(in) & 0x80)) {
		peripheral = !peripheral;
	}
	/* A well-behaved controller numbers a new link afresh. */
	for (uint8_t k = 0; sane && k < NHANDLES && link_of(handle); k++) {
		handle = pick_handle(k);
	}
	p[0] = 0x01;
	p[1] = status;
	put16(p + 2, handle);
	p[4] = peripheral ? 0x01 : 0x00;
	p[5] = F.create_peer_type;
	memcpy(p + 6, F.create_peer.b, 6);
	put16(p + 12, interval);
	put16(p + 14, 0);
	put16(p + 16, 200);
	p[18] = 0;
	struct link *l = NULL;
	enum hcihost_chan_state before[HCIHOST_MAX_CHANS];

	if (status == 0 && !link_of(handle)) {
		l = new_link(handle);
	} else if (status == 0) {
		/*
		 * A handle still connected, given out again: no controller
		 * does that (a handle is unique while its link exists), and
		 * the mirror cannot follow what the host then frees. (A
		 * failed Disconnect of the first link used to end the
		 * second: fixed, regress/hcihost/stray-disconnect.)
		 */
		F.tainted = true;
	}
	for (unsigned i = 0; i < HCIHOST_MAX_CHANS; i++) {
		before[i] = hcihost_chan_state(F.h, i);
	}
	event(0x3e, p, sizeof(p));
	/* The channel that took the link: the one that left CONNECTING for
	 * a state with a link. */
	for (unsigned i = 0; l && l->up && i < HCIHOST_MAX_CHANS; i++) {
		enum hcihost_chan_state s = hcihost_chan_state(F.h, i);

		if (before[i] == HCIHOST_CH_CONNECTING &&
		    (s == HCIHOST_CH_L2CAP || s == HCIHOST_CH_CLOSING ||
		     s == HCIHOST_CH_OPEN)) {
			l->ch = (int)i;
		}
	}
}

static void disconn_complete(struct input *in)
{
	uint8_t p[4];
	uint8_t v = take8(in);
	uint16_t handle = v & 0x80 ? F.cmd_disc_handle : pick_handle(v);
	struct link *l = link_of(handle);

	p[0] = pick_status(in);
	put16(p + 1, handle);
	p[3] = take8(in);
	if (p[0] == 0 && l && F.ready) {
		/* E 4.3: the link's buffers are free. */
		l->in_flight = 0;
		l->up = false;
	}
	event(0x05, p, 4);
}

static void completed(struct input *in)
{
	uint8_t p[1 + 4 * 2];
	uint8_t k = (uint8_t)(1 + take8(in) % 2);

	p[0] = k;
	for (unsigned i = 0; i < k; i++) {
		uint16_t handle = pick_handle(take8(in));
		uint16_t count = (uint16_t)(take8(in) % 6);
		struct link *l = link_of(handle);

		put16(p + 1 + 4 * i, handle);
		put16(p + 3 + 4 * i, count);
		if (l && F.ready) {
			l->in_flight -= count < l->in_flight ? count :
							       l->in_flight;
		}
	}
	event(0x13, p, (uint8_t)(1 + 4 * k));
}

/* One L2CAP PDU from the peer on link handle, in ACL packets whose size
 * the script picks (frag 0: one packet). */
static void peer_pdu(uint16_t handle, uint16_t cid, const uint8_t *payload,
		     size_t len, size_t frag)
{
	static uint8_t pdu[4 + 4096];
	uint8_t b[5 + 4096];
	size_t total = 4 + len, off = 0;

	if (len > 4096) {
		return;
	}
	put16(pdu, (uint16_t)len);
	put16(pdu + 2, cid);
	memcpy(pdu + 4, payload, len);
	if (frag == 0 || frag > total) {
		frag = total;
	}
	struct link *l = link_of(handle);

	F.delivering = l ? (int)(l - F.link) : -1;
	while (off < total) {
		size_t n = total - off < frag ? total - off : frag;

		b[0] = 0x02;
		put16(b + 1, (uint16_t)(handle | (off ? 0x1000 : 0x2000)));
		put16(b + 3, (uint16_t)n);
		memcpy(b + 5, pdu + off, n);
		feed(b, 5 + n);
		off += n;
	}
	F.delivering = -1;
}

static void peer_sig(uint16_t handle, uint8_t code, uint8_t ident,
		     const uint8_t *data, uint16_t dlen)
{
	uint8_t s[4 + 64];

	if (dlen > 64) {
		return;
	}
	s[0] = code;
	s[1] = ident;
	put16(s + 2, dlen);
	memcpy(s + 4, data, dlen);
	peer_pdu(handle, 0x0005, s, 4u + dlen, 0);
}

/* Our side of a channel: the values the host must then respect. */
static void note_peer(struct link *l, uint16_t cid, uint16_t mtu,
		      uint16_t mps, uint16_t credits)
{
	l->peer_cid = cid;
	l->peer_mtu = mtu;
	l->peer_mps = mps;
	l->host_credits = credits;
	l->credits_known = true;
}

/* LE Credit Based Connection Response to the host's request (A 4.23). */
static void conn_rsp(struct input *in, bool sane)
{
	struct link *l = NULL;
	uint8_t d[10];
	uint16_t cid, mtu, mps, credits, result;

	for (unsigned i = 0; i < NHANDLES; i++) {
		if (F.link[i].up && F.link[i].host_req && !F.link[i].open) {
			l = &F.link[i];
			break;
		}
	}
	if (!l) {
		return;
	}
	cid = sane ? 0x0055 : (uint16_t)(0x0040 + take8(in) % 0x50);
	mtu = sane ? 2048 : take16(in);
	mps = sane ? 247 : take16(in);
	credits = sane ? 10 : take16(in);
	result = sane ? 0 : (take8(in) < 200 ? 0 : take16(in));
	put16(d, cid);
	put16(d + 2, mtu);
	put16(d + 4, mps);
	put16(d + 6, credits);
	put16(d + 8, result);
	note_peer(l, cid, mtu, mps, credits);
	l->host_req = false;
	peer_sig(l->handle, SIG_CONN_RSP,
		 sane || (take8(in) & 1) ? l->host_ident : take8(in), d, 10);
}

/* Peripheral: the peer asks for the channel (A 4.22). */
static void conn_req(struct input *in, bool sane)
{
	struct link *l = NULL;
	uint8_t d[10];
	uint16_t cid, mtu, mps, credits;

	for (unsigned i = 0; i < NHANDLES; i++) {
		if (F.link[i].up && !F.link[i].open) {
			l = &F.link[i];
			break;
		}
	}
	if (!l) {
		return;
	}
	cid = sane ? 0x0055 : (uint16_t)(0x0040 + take8(in) % 0x50);
	mtu = sane ? 2048 : take16(in);
	mps = sane ? 247 : take16(in);
	credits = sane ? 10 : take16(in);
	put16(d, sane ? F.cfg.psm : (take8(in) & 1 ? F.cfg.psm : take16(in)));
	put16(d + 2, cid);
	put16(d + 4, mtu);
	put16(d + 6, mps);
	put16(d + 8, credits);
	note_peer(l, cid, mtu, mps, credits);
	peer_sig(l->handle, SIG_CONN_REQ, sane ? 1 : take8(in), d, 10);
}

static struct link *pick_link(struct input *in)
{
	uint8_t v = take8(in);

	for (unsigned k = 0; k < NHANDLES; k++) {
		struct link *l = &F.link[(v + k) % NHANDLES];

		if (l->up) {
			return l;
		}
	}
	return NULL;
}

static void credit_ind(struct input *in)
{
	struct link *l = pick_link(in);
	uint8_t d[4];
	uint16_t credits = take8(in) & 1 ? take16(in) : take8(in);

	if (!l) {
		return;
	}
	put16(d, l->peer_cid);
	put16(d + 2, credits);
	/* Counted by the host only on an open channel, for our CID, and
	 * only up to 65535 in all (A 10.1): beyond, the channel ends. */
	if (l->open) {
		l->host_credits += credits;
		if (l->host_credits > 65535) {
			l->credits_known = false;
		}
	}
	peer_sig(l->handle, SIG_CREDIT_IND, take8(in), d, 4);
}

static void any_sig(struct input *in)
{
	struct link *l = pick_link(in);
	uint8_t d[64];
	uint8_t code = take8(in), ident = take8(in);
	uint16_t n = take8(in) % 24;

	for (unsigned i = 0; i < n; i++) {
		d[i] = take8(in);
	}
	if (l) {
		/* A response the harness did not mirror. */
		if (code == SIG_CONN_RSP || code == SIG_CONN_REQ ||
		    code == SIG_CREDIT_IND) {
			F.tainted = true;
		}
		peer_sig(l->handle, code, ident, d, n);
	}
}

/* K-frames to the host on its CID: an SDU of the script's length, in
 * K-frames of the script's size. */
static void kframes(struct input *in)
{
	static uint8_t pl[4096];
	struct link *l = pick_link(in);
	uint16_t sdu = take16(in) % (HCIHOST_MAX_SDU + 64);
	uint16_t mps = (uint16_t)(1 + take8(in) * 4);
	uint8_t frag = take8(in);
	bool first = true;
	size_t left = sdu;

	if (!l) {
		return;
	}
	do {
		size_t room = mps, n;

		if (first) {
			put16(pl, sdu);
			room = room > 2 ? room - 2 : 0;
		}
		n = left < room ? left : room;
		for (size_t i = 0; i < n; i++) {
			pl[(first ? 2 : 0) + i] = (uint8_t)(i + sdu);
		}
		peer_pdu(l->handle, l->host_cid ? l->host_cid : 0x0040, pl,
			 n + (first ? 2 : 0), frag);
		left -= n;
		first = false;
	} while (left > 0 && take8(in) != 0xff);
}

/* Encryption Change (E 7.7.8) on a link. */
static void enc_change(struct input *in)
{
	struct link *l = pick_link(in);
	uint8_t p[4];

	if (!l) {
		return;
	}
	p[0] = pick_status(in);
	put16(p + 1, l->handle);
	p[3] = take8(in) & 1;
	if (p[0] == 0 && p[3] && F.ready) {
		l->encrypted = true;
	}
	event(0x08, p, 4);
}

/* An SMP PDU from the peer (Vol 3, Part H, 3.3) on CID 0x0006. */
static void smp_pdu(struct input *in)
{
	struct link *l = pick_link(in);
	uint8_t d[80];
	uint8_t n = take8(in) % sizeof(d);

	for (unsigned i = 0; i < n; i++) {
		d[i] = take8(in);
	}
	if (n && (d[0] & 0x80)) {
		/* Mostly the codes SMP defines (0x01..0x0e). */
		d[0] = (uint8_t)(1 + d[0] % 14);
	}
	if (l) {
		peer_pdu(l->handle, 0x0006, d, n, take8(in));
	}
}

/* The controller's crypto answers (E 7.7.65.8, .9; 7.8.22, .23): an LE
 * meta event or a Command Complete with fuzzed contents. */
static void crypto_event(struct input *in)
{
	uint8_t p[80];
	uint8_t v = take8(in) % 3;

	if (v == 0 || v == 1) {
		/* Read Local P-256 Public Key / Generate DHKey Complete. */
		p[0] = v == 0 ? 0x08 : 0x09;
		p[1] = pick_status(in);
		for (unsigned i = 0; i < (v == 0 ? 64u : 32u); i++) {
			p[2 + i] = take8(in);
		}
		event(0x3e, p, (uint8_t)(v == 0 ? 66 : 34));
		return;
	}
	/* LE Long Term Key Request (E 7.7.65.5) from the peer's start. */
	{
		struct link *l = pick_link(in);

		if (!l) {
			return;
		}
		p[0] = 0x05;
		put16(p + 1, l->handle);
		for (unsigned i = 0; i < 10; i++) {
			p[3 + i] = take8(in);
		}
		event(0x3e, p, 13);
	}
}

static void other_event(struct input *in)
{
	uint8_t p[32];
	uint8_t v = take8(in) % 5;

	switch (v) {
	case 0: /* Hardware Error (E 7.7.16) */
		p[0] = take8(in);
		event(0x10, p, 1);
		break;
	case 1: /* LE Connection Update Complete (E 7.7.65.3) */
		p[0] = 0x03;
		p[1] = pick_status(in);
		put16(p + 2, pick_handle(take8(in)));
		put16(p + 4, take16(in));
		put16(p + 6, take16(in));
		put16(p + 8, take16(in));
		event(0x3e, p, 10);
		break;
	case 2: /* LE Remote Connection Parameter Request (E 7.7.65.6) */
		p[0] = 0x06;
		put16(p + 1, pick_handle(take8(in)));
		put16(p + 3, take16(in));
		put16(p + 5, take16(in));
		put16(p + 7, take16(in));
		put16(p + 9, take16(in));
		event(0x3e, p, 11);
		break;
	case 3: /* Command Complete for no command (a credit update) */
		p[0] = (uint8_t)(take8(in) % 4);
		put16(p + 1, take8(in) & 1 ? 0 : take16(in));
		p[3] = 0;
		if (le16(p + 1) != 0) {
			F.tainted = true;
		}
		F.ncmd = p[0];
		event(0x0e, p, 4);
		break;
	default: { /* anything, well framed */
		uint8_t code = take8(in), n = take8(in) % 32;

		for (unsigned i = 0; i < n; i++) {
			p[i] = take8(in);
		}
		if (code == 0x0e || code == 0x0f || code == 0x13 ||
		    code == 0x05 || code == 0x3e) {
			F.tainted = true;
		}
		event(code, p, n);
		break;
	}
	}
}

/* What a well-behaved controller and peer do next. */
static void auto_step(struct input *in)
{
	if (F.cmd_pending) {
		if (F.cmd_op == OP_LE_CREATE_CONN || F.cmd_op == OP_DISCONNECT) {
			answer_status(in, true);
		} else {
			answer_complete(in, true);
		}
		return;
	}
	for (unsigned i = 0; i < NHANDLES; i++) {
		if (F.link[i].up && F.link[i].host_req && !F.link[i].open) {
			conn_rsp(in, true);
			return;
		}
	}
	if (F.ready && F.cfg.role == HCIHOST_PERIPHERAL) {
		for (unsigned i = 0; i < NHANDLES; i++) {
			if (F.link[i].up && !F.link[i].open) {
				conn_req(in, true);
				return;
			}
		}
	}
	if (F.ready) {
		conn_complete(in, true);
	}
}

static void api_send(struct input *in)
{
	static uint8_t sdu[HCIHOST_MAX_SDU + 16];
	unsigned ch = take8(in) & 1;
	uint16_t len = take16(in) % (HCIHOST_MAX_SDU + 16);
	uint64_t cookie = ++F.next_cookie;
	int r;

	memset(sdu, (int)cookie, len);
	r = hcihost_send(F.h, ch, sdu, len, cookie);
	check(r == 0 || r == -ENOTCONN || r == -EMSGSIZE || r == -ENOBUFS);
	if (r == 0) {
		check(F.open[ch] && F.ck_n[ch] < NCOOKIES);
		F.cookies[ch][(F.ck_head[ch] + F.ck_n[ch]) % NCOOKIES] = cookie;
		F.ck_n[ch]++;
	}
}

/* The ATT side of the API (hcihost_set_att() and what follows it) and
 * hcihost_flush(): each within its documented results; a flush drops the
 * newest SDUs only (the harness's cookies then still come back in
 * order). */
static void api_att(struct input *in)
{
	static uint8_t pdu[HCIHOST_ATT_MTU + 8];
	unsigned ch = take8(in) & 1, n;
	uint8_t v = take8(in) % 4;
	size_t len;
	int r;

	switch (v) {
	case 0:
		r = hcihost_set_att(F.h, ch, take8(in) & 1);
		check(r == 0 || r == -EBUSY || r == -EOPNOTSUPP);
		break;
	case 1:
		len = take8(in) % sizeof(pdu);
		memset(pdu, take8(in), len);
		r = hcihost_att_send(F.h, ch, pdu, len);
		check(r == 0 || r == -EMSGSIZE || r == -ENOTCONN ||
		      r == -ENOBUFS);
		break;
	case 2:
		r = hcihost_l2_open(F.h, ch, take16(in), F.now);
		check(r == 0 || r == -EINVAL || r == -ENOTCONN ||
		      r == -EALREADY || r == -EPERM);
		break;
	default:
		r = hcihost_flush(F.h, ch, &n);
		check(r == 0 && n <= F.ck_n[ch] && n <= HCIHOST_TX_QUEUE);
		F.ck_n[ch] -= n;
		break;
	}
}

/* An ATT PDU from the peer (Vol 3, Part F) on CID 0x0004. */
static void att_pdu(struct input *in)
{
	struct link *l = pick_link(in);
	uint8_t d[80];
	uint8_t n = take8(in) % sizeof(d);

	for (unsigned i = 0; i < n; i++) {
		d[i] = take8(in);
	}
	if (l) {
		peer_pdu(l->handle, 0x0004, d, n, take8(in));
	}
}

static void step(struct input *in)
{
	static const struct hci_bdaddr peers[2] = {
		{ { 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6 } },
		{ { 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6 } },
	};
	uint8_t op = take8(in);
	unsigned ch;

	if (F.trace) {
		fprintf(stderr, "step %u\n", op % 23);
	}
	switch (op % 23) {
	case 0: { /* raw octets, split where the script says */
		uint8_t raw[256];
		uint8_t n = take8(in);

		for (unsigned i = 0; i < n; i++) {
			raw[i] = take8(in);
		}
		F.tainted = true;
		feed(raw, n / 2);
		feed(raw + n / 2, n - n / 2);
		break;
	}
	case 1:
	case 2:
		if (F.cmd_pending) {
			answer_complete(in, false);
		}
		break;
	case 3:
		if (F.cmd_pending) {
			answer_status(in, false);
		}
		break;
	case 4:
		conn_complete(in, false);
		break;
	case 5:
		disconn_complete(in);
		break;
	case 6:
		completed(in);
		break;
	case 7:
		conn_rsp(in, false);
		break;
	case 8:
		conn_req(in, false);
		break;
	case 9:
		credit_ind(in);
		break;
	case 10:
		any_sig(in);
		break;
	case 11:
		kframes(in);
		break;
	case 12: {
		uint64_t d = take8(in);

		F.now += d < 200 ? d * MS : (d - 199) * 1000 * MS;
		hcihost_tick(F.h, F.now);
		break;
	}
	case 13:
		ch = take8(in) & 1;
		check(hcihost_open(F.h, ch, &peers[ch], HCI_ADDR_PUBLIC,
				   F.now) != -EINVAL);
		break;
	case 14:
		ch = take8(in) & 1;
		hcihost_close(F.h, ch, F.now);
		break;
	case 15:
		api_send(in);
		break;
	case 16:
		if (take8(in) < 16) {
			hcihost_start(F.h, F.now);
		}
		break;
	case 17:
		other_event(in);
		break;
	case 18:
		api_att(in);
		break;
	case 19:
		att_pdu(in);
		break;
	case 20:
		enc_change(in);
		break;
	case 21:
		smp_pdu(in);
		break;
	case 22:
		crypto_event(in);
		break;
	default:
		auto_step(in);
		break;
	}
	check(hcihost_state(F.h) <= HCIHOST_READY);
	if (F.trace) {
		fprintf(stderr, "  -> host %d, channels %d %d\n",
			hcihost_state(F.h), hcihost_chan_state(F.h, 0),
			hcihost_chan_state(F.h, 1));
	}
	for (unsigned i = 0; i < HCIHOST_MAX_CHANS; i++) {
		enum hcihost_chan_state s = hcihost_chan_state(F.h, i);

		check(s <= HCIHOST_CH_CLOSING);
		check(F.open[i] == (s == HCIHOST_CH_OPEN) ||
		      (F.open[i] && s == HCIHOST_CH_CLOSING));
		check(hcihost_tx_space(F.h, i) <= HCIHOST_TX_QUEUE);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct hcihost_stats st;
	uint8_t sel = take8(&in);
	int r;

	memset(&F, 0, sizeof(F));
	for (unsigned i = 0; i < NHANDLES; i++) {
		F.link[i].ch = -1;
	}
	F.delivering = -1;
	F.ncmd = 1;
	F.trace = getenv("TTWS_FUZZ_DEBUG") &&
		  strcmp(getenv("TTWS_FUZZ_DEBUG"), "2") == 0;
	F.now = 1000 * MS;
	hcihost_config_default(&F.cfg);
	F.cfg.role = sel & 1 ? HCIHOST_PERIPHERAL : HCIHOST_CENTRAL;
	F.cfg.mps = sel & 2 ? 0 : 64;
	F.cfg.rx_credits = (uint16_t)(1 + (sel >> 2 & 7) * 3);
	F.cfg.mtu = sel & 0x20 ? 100 : HCIHOST_MAX_SDU;
	/* Encryption first (LE Secure Connections on the controller's
	 * crypto, no bonds: every link pairs). */
	F.cfg.security = sel & 0x80 ? HCIHOST_SECURITY_ENCRYPT :
				      HCIHOST_SECURITY_NONE;
	r = hcihost_new(&F.cfg, &ops, NULL, &F.h);
	check(r == 0);
	hcihost_start(F.h, F.now);
	if (sel & 0x40) {
		/* Channels wanted from the start, as ttwsd does. */
		static const struct hci_bdaddr p = {
			{ 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6 } };

		hcihost_open(F.h, 0, &p, HCI_ADDR_PUBLIC, F.now);
		hcihost_open(F.h, 1, &p, HCI_ADDR_RANDOM, F.now);
	}
	while (in.n > 0) {
		step(&in);
	}
	hcihost_get_stats(F.h, &st);
	check(st.sdus_rx <= st.acl_rx);
	if (getenv("TTWS_FUZZ_DEBUG")) {
		/* Where a script got to: for writing seeds (gen-corpus.py). */
		fprintf(stderr,
			"hcihost: state %d, channels %d %d, %llu cmds, %llu "
			"acl out, %llu sdus in, %llu sdus out\n",
			hcihost_state(F.h), hcihost_chan_state(F.h, 0),
			hcihost_chan_state(F.h, 1),
			(unsigned long long)st.cmds,
			(unsigned long long)st.acl_tx,
			(unsigned long long)st.sdus_rx,
			(unsigned long long)st.sdus_tx);
	}
	F.h = hcihost_free(F.h);
	check(F.h == NULL);
	return 0;
}
