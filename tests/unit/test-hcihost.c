/* SPDX-License-Identifier: MIT */
/*
 * hcihost tests against a fake controller written here: it decodes what
 * the host writes (commands by opcode and parameters, ACL by handle and
 * L2CAP PDU) and answers with hand-built events and ACL packets, so that
 * every exchange is checked byte by byte against Core 5.4 (Vol 4, Part E
 * for HCI; Vol 3, Part A for L2CAP) rather than against our own codecs.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/hcihost.h"
#include "core/macro.h"

#define data(args...) ((const uint8_t[]){ args })

#define MS (UINT64_C(1000000))
#define FRAME_MAX 600
#define NOUT 512
#define NMSG 16
#define NSENT 64

/* Opcodes, written out from Vol 4, Part E, 7 (not taken from hci.h). */
#define OP_RESET 0x0c03
#define OP_SET_EVENT_MASK 0x0c01
#define OP_LE_SET_EVENT_MASK 0x2001
#define OP_READ_BD_ADDR 0x1009
#define OP_LE_READ_BUFFER_SIZE_V2 0x2060
#define OP_LE_READ_BUFFER_SIZE 0x2002
#define OP_READ_BUFFER_SIZE 0x1005
#define OP_LE_CREATE_CONN 0x200d
#define OP_LE_CREATE_CONN_CANCEL 0x200e
#define OP_DISCONNECT 0x0406
#define OP_LE_SET_ADV_PARAMS 0x2006
#define OP_LE_SET_ADV_DATA 0x2008
#define OP_LE_SET_ADV_ENABLE 0x200a

#define PSM 0x0080
#define PEER_CID 0x0055 /* the fake peer's L2CAP CID */
#define HOST_CID 0x0040

static const struct hci_bdaddr LOCAL = { { 0x01, 0x02, 0x03, 0x04, 0x05,
					   0x06 } };
static const struct hci_bdaddr PEER_A = { { 0xa1, 0xa2, 0xa3, 0xa4, 0xa5,
					    0xa6 } };
static const struct hci_bdaddr PEER_B = { { 0xb1, 0xb2, 0xb3, 0xb4, 0xb5,
					    0xb6 } };

struct frame {
	uint8_t b[FRAME_MAX];
	size_t len;
};

struct fake {
	struct hcihost *h;
	struct hcihost_config cfg;
	uint64_t now;

	/* What the host wrote, oldest first. */
	struct frame out[NOUT];
	unsigned out_rd, out_wr;
	int write_err; /* make ops->write fail */

	unsigned ready, downs;
	int down_err;
	struct hci_bdaddr local;
	unsigned opens[HCIHOST_MAX_CHANS], closes[HCIHOST_MAX_CHANS];
	int close_err[HCIHOST_MAX_CHANS];
	bool reopen_on_close; /* re-open from inside chan_closed */

	uint8_t msg[NMSG][HCIHOST_MAX_SDU];
	size_t msg_len[NMSG];
	unsigned msg_ch[NMSG], nmsg;

	uint64_t sent[NSENT];
	unsigned sent_ch[NSENT], nsent;
	unsigned intervals[HCIHOST_MAX_CHANS];
	uint32_t interval_us[HCIHOST_MAX_CHANS];

	unsigned trace_tx, trace_rx, in_frames;

	/* The fake peer's L2CAP view of channel ch. */
	uint16_t peer_credits[HCIHOST_MAX_CHANS]; /* K-frames it may send */
	uint16_t host_mps[HCIHOST_MAX_CHANS];
	unsigned credit_inds[HCIHOST_MAX_CHANS];
};

static struct fake F;

/* ---- host callbacks ------------------------------------------------ */

static int cb_write(void *u, const uint8_t *frame, size_t len)
{
	struct frame *f;

	(void)u;
	if (F.write_err) {
		return F.write_err;
	}
	assert_true(len <= FRAME_MAX);
	assert_true(F.out_wr - F.out_rd < NOUT);
	f = &F.out[F.out_wr++ % NOUT];
	memcpy(f->b, frame, len);
	f->len = len;
	return 0;
}

static void cb_ready(void *u, const struct hci_bdaddr *local)
{
	(void)u;
	F.ready++;
	F.local = *local;
}

static void cb_down(void *u, int err)
{
	(void)u;
	F.downs++;
	F.down_err = err;
}

static void cb_open(void *u, unsigned ch)
{
	(void)u;
	assert_true(ch < HCIHOST_MAX_CHANS);
	F.opens[ch]++;
}

static void cb_msg(void *u, unsigned ch, const uint8_t *sdu, size_t len,
		   uint64_t rx_ns)
{
	(void)u;
	assert_true(F.nmsg < NMSG);
	assert_int_equal(rx_ns, F.now);
	memcpy(F.msg[F.nmsg], sdu, len);
	F.msg_len[F.nmsg] = len;
	F.msg_ch[F.nmsg] = ch;
	F.nmsg++;
}

static void cb_closed(void *u, unsigned ch, int err)
{
	(void)u;
	assert_true(ch < HCIHOST_MAX_CHANS);
	F.closes[ch]++;
	F.close_err[ch] = err;
	if (F.reopen_on_close) {
		assert_int_equal(hcihost_chan_state(F.h, ch), HCIHOST_CH_IDLE);
		assert_int_equal(hcihost_open(F.h, ch, ch ? &PEER_B : &PEER_A,
					      HCI_ADDR_PUBLIC, F.now),
				 0);
	}
}

static void cb_sent(void *u, unsigned ch, uint64_t cookie, uint64_t now_ns)
{
	(void)u;
	assert_true(F.nsent < NSENT);
	assert_int_equal(now_ns, F.now);
	F.sent[F.nsent] = cookie;
	F.sent_ch[F.nsent] = ch;
	F.nsent++;
}

static void cb_interval(void *u, unsigned ch, uint32_t interval_us,
			uint64_t now_ns)
{
	(void)u;
	assert_true(ch < HCIHOST_MAX_CHANS);
	assert_int_equal(now_ns, F.now);
	F.intervals[ch]++;
	F.interval_us[ch] = interval_us;
}

static void cb_trace(void *u, bool rx, const uint8_t *frame, size_t len,
		     uint64_t now_ns)
{
	(void)u;
	(void)frame;
	(void)len;
	(void)now_ns;
	if (rx) {
		F.trace_rx++;
	} else {
		F.trace_tx++;
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
	.interval = cb_interval,
	.trace = cb_trace,
};

/* ---- the fake controller ------------------------------------------- */

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static unsigned pending(void)
{
	return F.out_wr - F.out_rd;
}

static struct frame *pop(void)
{
	assert_true(pending() > 0);
	return &F.out[F.out_rd++ % NOUT];
}

static void no_output(void)
{
	assert_int_equal(pending(), 0);
}

/* The next frame must be command opcode; returns its parameters. */
static const uint8_t *expect_cmd(uint16_t opcode, size_t *ret_plen)
{
	struct frame *f = pop();

	assert_int_equal(f->b[0], 0x01);
	assert_int_equal(le16(f->b + 1), opcode);
	assert_int_equal(f->b[3], f->len - 4);
	if (ret_plen) {
		*ret_plen = f->b[3];
	}
	return f->b + 4;
}

/* Feed raw H4 bytes to the host. */
static void feed(const uint8_t *b, size_t len)
{
	hcihost_input(F.h, b, len, F.now);
}

static void evt(uint8_t code, const uint8_t *p, size_t plen)
{
	uint8_t b[260];

	b[0] = 0x04;
	b[1] = code;
	b[2] = (uint8_t)plen;
	memcpy(b + 3, p, plen);
	F.in_frames++;
	feed(b, plen + 3);
}

/* Command Complete (7.7.14) with Num_HCI_Command_Packets 1. */
static void cc(uint16_t opcode, const uint8_t *ret, size_t n)
{
	uint8_t p[255];

	p[0] = 1;
	put16(p + 1, opcode);
	memcpy(p + 3, ret, n);
	evt(0x0e, p, n + 3);
}

static void cc_status(uint16_t opcode, uint8_t status)
{
	cc(opcode, &status, 1);
}

/* Command Status (7.7.15). */
static void cs(uint16_t opcode, uint8_t status)
{
	uint8_t p[4] = { status, 1 };

	put16(p + 2, opcode);
	evt(0x0f, p, 4);
}

/* LE Connection Complete (7.7.65.1). */
static void le_conn_complete(uint8_t status, uint16_t handle, uint8_t role,
			     const struct hci_bdaddr *peer)
{
	uint8_t p[19] = { 0x01, status };

	put16(p + 2, handle);
	p[4] = role;
	p[5] = 0x00;
	memcpy(p + 6, peer->b, 6);
	put16(p + 12, 6);   /* interval */
	put16(p + 14, 0);   /* latency */
	put16(p + 16, 200); /* supervision timeout */
	p[18] = 0;
	evt(0x3e, p, sizeof(p));
}

static void disconn_complete(uint16_t handle, uint8_t reason)
{
	uint8_t p[4] = { 0x00 };

	put16(p + 1, handle);
	p[3] = reason;
	evt(0x05, p, 4);
}

/* Number Of Completed Packets (7.7.19), one handle. */
static void nocp(uint16_t handle, uint16_t count)
{
	uint8_t p[5] = { 1 };

	put16(p + 1, handle);
	put16(p + 3, count);
	evt(0x13, p, 5);
}

/* An ACL packet from the controller (5.4.2). */
static void acl_in(uint16_t handle, uint8_t pb, const uint8_t *d, size_t n)
{
	uint8_t b[1 + 4 + 2100];

	b[0] = 0x02;
	put16(b + 1, (uint16_t)(handle | pb << 12));
	put16(b + 3, (uint16_t)n);
	memcpy(b + 5, d, n);
	F.in_frames++;
	feed(b, n + 5);
}

/* An L2CAP PDU to the host, in ACL fragments of at most frag octets. */
static void pdu_in(uint16_t handle, uint16_t cid, const uint8_t *d, size_t n,
		   size_t frag)
{
	uint8_t pdu[4 + 2100];
	size_t off = 0;

	put16(pdu, (uint16_t)n);
	put16(pdu + 2, cid);
	memcpy(pdu + 4, d, n);
	n += 4;
	while (off < n) {
		size_t k = MIN(frag, n - off);

		acl_in(handle, off == 0 ? 0x2 : 0x1, pdu + off, k);
		off += k;
	}
}

/* A signaling command on CID 0x0005 (Vol 3, Part A, 4). */
static void sig_in(uint16_t handle, uint8_t code, uint8_t ident,
		   const uint8_t *d, size_t n)
{
	uint8_t c[64];

	c[0] = code;
	c[1] = ident;
	put16(c + 2, (uint16_t)n);
	memcpy(c + 4, d, n);
	pdu_in(handle, 0x0005, c, n + 4, 100);
}

/*
 * The host's next L2CAP PDU on handle: ACL fragments in order (first
 * non-flushable, then continuing, Vol 4, Part E, 5.4.2), each completed
 * with Number Of Completed Packets when complete_each is set. Returns the
 * CID and the payload length; the payload goes to buf.
 */
static uint16_t pdu_out(uint16_t handle, uint8_t *buf, size_t *ret_len,
			bool complete_each, unsigned *ret_frags)
{
	size_t have = 0, want = 0;
	uint8_t pdu[4 + 2100];
	unsigned frags = 0;

	do {
		struct frame *f = pop();
		uint16_t hf, n;

		assert_int_equal(f->b[0], 0x02);
		hf = le16(f->b + 1);
		n = le16(f->b + 3);
		assert_int_equal(f->len, 5 + n);
		assert_int_equal(hf & 0x0fff, handle);
		assert_int_equal(hf >> 12, have == 0 ? 0x0 : 0x1);
		assert_true(have + n <= sizeof(pdu));
		memcpy(pdu + have, f->b + 5, n);
		have += n;
		frags++;
		if (want == 0 && have >= 4) {
			want = 4 + le16(pdu);
		}
		if (complete_each) {
			nocp(handle, 1);
		}
	} while (want == 0 || have < want);
	assert_int_equal(have, want);
	memcpy(buf, pdu + 4, have - 4);
	*ret_len = have - 4;
	if (ret_frags) {
		*ret_frags = frags;
	}
	return le16(pdu + 2);
}

/* The host's next signaling command on handle; returns its data. */
static const uint8_t *sig_out(uint16_t handle, uint8_t code,
			      uint8_t *ret_ident, size_t *ret_len)
{
	static uint8_t buf[2100];
	size_t n;

	assert_int_equal(pdu_out(handle, buf, &n, true, NULL), 0x0005);
	assert_true(n >= 4);
	assert_int_equal(buf[0], code);
	assert_int_equal(le16(buf + 2), n - 4);
	if (ret_ident) {
		*ret_ident = buf[1];
	}
	if (ret_len) {
		*ret_len = n - 4;
	}
	return buf + 4;
}

/* ---- set-up -------------------------------------------------------- */

static void fake_new(enum hcihost_role role)
{
	memset(&F, 0, sizeof(F));
	hcihost_config_default(&F.cfg);
	F.cfg.role = role;
	F.now = 1000 * MS;
	assert_int_equal(hcihost_new(&F.cfg, &ops, NULL, &F.h), 0);
}

static int teardown(void **state)
{
	(void)state;
	F.h = hcihost_free(F.h);
	return 0;
}

/* The standard start-up with LE Read Buffer Size v2 answered. */
static void boot(uint16_t acl_len, uint8_t acl_num)
{
	uint8_t rbs[7] = { 0x00 };
	uint8_t bd[7] = { 0x00 };
	unsigned ready = F.ready;

	hcihost_start(F.h, F.now);
	expect_cmd(OP_RESET, NULL);
	cc_status(OP_RESET, 0);
	expect_cmd(OP_SET_EVENT_MASK, NULL);
	cc_status(OP_SET_EVENT_MASK, 0);
	expect_cmd(OP_LE_SET_EVENT_MASK, NULL);
	cc_status(OP_LE_SET_EVENT_MASK, 0);
	expect_cmd(OP_READ_BD_ADDR, NULL);
	memcpy(bd + 1, LOCAL.b, 6);
	cc(OP_READ_BD_ADDR, bd, sizeof(bd));
	expect_cmd(OP_LE_READ_BUFFER_SIZE_V2, NULL);
	assert_int_equal(F.ready, ready);
	put16(rbs + 1, acl_len);
	rbs[3] = acl_num;
	cc(OP_LE_READ_BUFFER_SIZE_V2, rbs, sizeof(rbs));
	assert_int_equal(F.ready, ready + 1);
	assert_int_equal(hcihost_state(F.h), HCIHOST_READY);
}

/* Central: channel ch opened to peer on handle, the fake peer answering
 * with its MTU, MPS and credits. */
static void central_open(unsigned ch, const struct hci_bdaddr *peer,
			 uint16_t handle, uint16_t mtu, uint16_t mps,
			 uint16_t credits)
{
	unsigned opens = F.opens[ch];
	const uint8_t *p;
	uint8_t ident, rsp[10];
	size_t plen;

	assert_int_equal(hcihost_open(F.h, ch, peer, HCI_ADDR_PUBLIC, F.now),
			 0);
	p = expect_cmd(OP_LE_CREATE_CONN, &plen);
	assert_int_equal(plen, 25);
	assert_memory_equal(p + 6, peer->b, 6);
	cs(OP_LE_CREATE_CONN, 0);
	le_conn_complete(0, handle, 0x00, peer);
	assert_int_equal(hcihost_chan_state(F.h, ch), HCIHOST_CH_L2CAP);

	/* Vol 3, Part A, 4.22: SPSM, SCID, MTU, MPS, initial credits. */
	p = sig_out(handle, 0x14, &ident, &plen);
	assert_int_equal(plen, 10);
	assert_int_equal(le16(p), PSM);
	assert_int_equal(le16(p + 2), HOST_CID);
	assert_int_equal(le16(p + 4), F.cfg.mtu);
	F.host_mps[ch] = le16(p + 6);
	F.peer_credits[ch] = le16(p + 8);
	assert_int_equal(F.peer_credits[ch], F.cfg.rx_credits);

	/* 4.23: DCID, MTU, MPS, credits, result. */
	put16(rsp, PEER_CID);
	put16(rsp + 2, mtu);
	put16(rsp + 4, mps);
	put16(rsp + 6, credits);
	put16(rsp + 8, 0);
	assert_int_equal(F.opens[ch], opens);
	sig_in(handle, 0x15, ident, rsp, sizeof(rsp));
	assert_int_equal(F.opens[ch], opens + 1);
	assert_int_equal(hcihost_chan_state(F.h, ch), HCIHOST_CH_OPEN);
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		b[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
	}
}

/* ---- tests --------------------------------------------------------- */

static void test_startup(void **state)
{
	struct hcihost_stats st;
	const uint8_t *p;
	uint8_t bd[7] = { 0x00 };
	size_t plen;
	uint64_t mask;

	(void)state;
	fake_new(HCIHOST_CENTRAL);
	assert_int_equal(hcihost_state(F.h), HCIHOST_DOWN);
	hcihost_start(F.h, F.now);
	assert_int_equal(hcihost_state(F.h), HCIHOST_INIT);

	/* One command at a time: the next waits for the answer. */
	expect_cmd(OP_RESET, &plen);
	assert_int_equal(plen, 0);
	no_output();
	cc_status(OP_RESET, 0);

	/* 7.3.1: Disconnection Complete (bit 4), Hardware Error (15), LE
	 * Meta (61). */
	p = expect_cmd(OP_SET_EVENT_MASK, &plen);
	assert_int_equal(plen, 8);
	mask = 0;
	for (unsigned k = 0; k < 8; k++) {
		mask |= (uint64_t)p[k] << (8 * k);
	}
	assert_true(mask & (UINT64_C(1) << 4));
	assert_true(mask & (UINT64_C(1) << 15));
	assert_true(mask & (UINT64_C(1) << 61));
	cc_status(OP_SET_EVENT_MASK, 0);

	/* 7.8.1: LE Connection Complete (bit 0) at least. */
	p = expect_cmd(OP_LE_SET_EVENT_MASK, &plen);
	assert_int_equal(plen, 8);
	assert_true(p[0] & 0x01);
	cc_status(OP_LE_SET_EVENT_MASK, 0);

	expect_cmd(OP_READ_BD_ADDR, NULL);
	memcpy(bd + 1, LOCAL.b, 6);
	cc(OP_READ_BD_ADDR, bd, sizeof(bd));

	/* v2 unknown to this controller, answered by Command Status:
	 * fall back to v1 (7.8.2). */
	expect_cmd(OP_LE_READ_BUFFER_SIZE_V2, NULL);
	cs(OP_LE_READ_BUFFER_SIZE_V2, 0x01);
	expect_cmd(OP_LE_READ_BUFFER_SIZE, NULL);
	assert_int_equal(F.ready, 0);
	/* LE length 0: shared with BR/EDR, ask Read Buffer Size. */
	cc(OP_LE_READ_BUFFER_SIZE, data(0x00, 0x00, 0x00, 0x00), 4);
	expect_cmd(OP_READ_BUFFER_SIZE, NULL);
	assert_int_equal(F.ready, 0);
	assert_int_equal(hcihost_state(F.h), HCIHOST_INIT);
	/* 7.4.5: ACL length 60, SCO 0, 3 ACL packets, 0 SCO. */
	cc(OP_READ_BUFFER_SIZE,
	   data(0x00, 60, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00), 8);
	assert_int_equal(F.ready, 1);
	assert_memory_equal(F.local.b, LOCAL.b, 6);
	assert_int_equal(hcihost_state(F.h), HCIHOST_READY);
	no_output();

	/* Every packet both ways went to the trace. */
	assert_int_equal(F.trace_tx, F.out_wr);
	assert_int_equal(F.trace_rx, F.in_frames);
	hcihost_get_stats(F.h, &st);
	assert_int_equal(st.cmds, 7);
	assert_int_equal(st.evts, 7);

	/* The buffer size came from Read Buffer Size: 60-octet fragments,
	 * three in flight before a completion. */
	central_open(0, &PEER_A, 0x0040, 2048, 500, 10);
	{
		uint8_t sdu[300];

		fill(sdu, sizeof(sdu), 1);
		assert_int_equal(hcihost_send(F.h, 0, sdu, sizeof(sdu), 9),
				 0);
	}
	assert_int_equal(pending(), 3);
	for (unsigned k = 0; k < 3; k++) {
		struct frame *f = pop();

		assert_int_equal(le16(f->b + 3), 60);
	}
	no_output();
	nocp(0x0040, 1);
	assert_int_equal(pending(), 1);
}

static void test_startup_failures(void **state)
{
	(void)state;

	/* A refused Reset takes the host down. */
	fake_new(HCIHOST_CENTRAL);
	hcihost_start(F.h, F.now);
	expect_cmd(OP_RESET, NULL);
	cc_status(OP_RESET, 0x1f);
	assert_int_equal(F.downs, 1);
	assert_int_equal(F.down_err, -EIO);
	assert_int_equal(hcihost_state(F.h), HCIHOST_DOWN);
	F.h = hcihost_free(F.h);

	/* v1 fails too: no buffers, no host. */
	fake_new(HCIHOST_CENTRAL);
	hcihost_start(F.h, F.now);
	expect_cmd(OP_RESET, NULL);
	cc_status(OP_RESET, 0);
	expect_cmd(OP_SET_EVENT_MASK, NULL);
	cc_status(OP_SET_EVENT_MASK, 0);
	expect_cmd(OP_LE_SET_EVENT_MASK, NULL);
	cc_status(OP_LE_SET_EVENT_MASK, 0);
	expect_cmd(OP_READ_BD_ADDR, NULL);
	cc(OP_READ_BD_ADDR, data(0, 1, 2, 3, 4, 5, 6), 7);
	expect_cmd(OP_LE_READ_BUFFER_SIZE_V2, NULL);
	/* Unknown command answered by Command Complete this time. */
	cc_status(OP_LE_READ_BUFFER_SIZE_V2, 0x01);
	expect_cmd(OP_LE_READ_BUFFER_SIZE, NULL);
	cc_status(OP_LE_READ_BUFFER_SIZE, 0x01);
	assert_int_equal(F.downs, 1);
	assert_int_equal(F.ready, 0);
}

static void test_central_connect_two(void **state)
{
	const uint8_t *p;
	size_t plen;

	(void)state;
	fake_new(HCIHOST_CENTRAL);
	/* Asked before the controller is ready: waits for READY. */
	assert_int_equal(hcihost_open(F.h, 0, &PEER_A, HCI_ADDR_PUBLIC,
				      F.now),
			 0);
	assert_int_equal(hcihost_open(F.h, 1, &PEER_B, HCI_ADDR_RANDOM,
				      F.now),
			 0);
	assert_int_equal(hcihost_open(F.h, 1, &PEER_B, HCI_ADDR_RANDOM,
				      F.now),
			 -EALREADY);
	assert_int_equal(hcihost_open(F.h, 2, &PEER_B, HCI_ADDR_RANDOM,
				      F.now),
			 -EINVAL);
	assert_int_equal(hcihost_open(F.h, 1, NULL, HCI_ADDR_RANDOM, F.now),
			 -EINVAL);
	boot(27, 4);

	/* 7.8.12: scan 0x60/0x30, filter 0, peer type and address, own
	 * public, interval 6..6, latency 0, timeout 200, CE 0..0. */
	p = expect_cmd(OP_LE_CREATE_CONN, &plen);
	assert_int_equal(plen, 25);
	assert_int_equal(le16(p), 0x0060);
	assert_int_equal(le16(p + 2), 0x0030);
	assert_int_equal(p[4], 0);
	assert_int_equal(p[5], HCI_ADDR_PUBLIC);
	assert_memory_equal(p + 6, PEER_A.b, 6);
	assert_int_equal(p[12], 0);
	assert_int_equal(le16(p + 13), 6);
	assert_int_equal(le16(p + 15), 6);
	assert_int_equal(le16(p + 17), 0);
	assert_int_equal(le16(p + 19), 200);
	cs(OP_LE_CREATE_CONN, 0);
	/* One LE Create Connection at a time. */
	no_output();
	assert_int_equal(hcihost_chan_state(F.h, 0), HCIHOST_CH_CONNECTING);
	assert_int_equal(hcihost_chan_state(F.h, 1), HCIHOST_CH_CONNECTING);

	le_conn_complete(0, 0x0040, 0x00, &PEER_A);
	/* The second attempt goes out now, then channel 0's L2CAP
	 * request. */
	p = expect_cmd(OP_LE_CREATE_CONN, &plen);
	assert_int_equal(p[5], HCI_ADDR_RANDOM);
	assert_memory_equal(p + 6, PEER_B.b, 6);
	cs(OP_LE_CREATE_CONN, 0);
	{
		uint8_t ident, rsp[10];

		p = sig_out(0x0040, 0x14, &ident, &plen);
		assert_int_equal(le16(p), PSM);
		/* MPS from the controller: 27 - 4 (l2le.h). */
		assert_int_equal(le16(p + 6), 23);
		assert_int_equal(F.opens[0], 0);
		/* A refusal (4.23: SPSM not supported) drops the link. */
		memset(rsp, 0, sizeof(rsp));
		put16(rsp + 8, 0x0002);
		sig_in(0x0040, 0x15, ident, rsp, sizeof(rsp));
		assert_int_equal(F.opens[0], 0);
		p = expect_cmd(OP_DISCONNECT, &plen);
		assert_int_equal(le16(p), 0x0040);
		assert_int_equal(p[2], 0x13);
		assert_int_equal(hcihost_chan_state(F.h, 0),
				 HCIHOST_CH_CLOSING);
		cs(OP_DISCONNECT, 0);
		disconn_complete(0x0040, 0x16);
		assert_int_equal(F.closes[0], 1);
		assert_int_equal(F.close_err[0], -ECONNREFUSED);
	}

	le_conn_complete(0, 0x0041, 0x00, &PEER_B);
	{
		uint8_t ident, rsp[10];

		sig_out(0x0041, 0x14, &ident, NULL);
		put16(rsp, PEER_CID);
		put16(rsp + 2, 512);
		put16(rsp + 4, 100);
		put16(rsp + 6, 4);
		put16(rsp + 8, 0);
		sig_in(0x0041, 0x15, ident, rsp, sizeof(rsp));
	}
	assert_int_equal(F.opens[1], 1);
	assert_int_equal(hcihost_chan_state(F.h, 1), HCIHOST_CH_OPEN);
	assert_int_equal(hcihost_tx_space(F.h, 1), HCIHOST_TX_QUEUE);
	assert_int_equal(hcihost_tx_space(F.h, 0), 0);
	/* The peer's MTU bounds an SDU. */
	{
		uint8_t big[513] = { 0 };

		assert_int_equal(hcihost_send(F.h, 1, big, 513, 0),
				 -EMSGSIZE);
		assert_int_equal(hcihost_send(F.h, 0, big, 10, 0), -ENOTCONN);
	}
}

static void test_connect_timeout(void **state)
{
	(void)state;
	fake_new(HCIHOST_CENTRAL);
	boot(27, 4);
	assert_int_equal(hcihost_open(F.h, 0, &PEER_A, HCI_ADDR_PUBLIC,
				      F.now),
			 0);
	expect_cmd(OP_LE_CREATE_CONN, NULL);
	cs(OP_LE_CREATE_CONN, 0);
	assert_int_equal(hcihost_next_deadline(F.h), F.now + 5000 * MS);

	F.now += 4999 * MS;
	hcihost_tick(F.h, F.now);
	no_output();
	F.now += 1 * MS;
	hcihost_tick(F.h, F.now);
	/* 7.8.13, then LE Connection Complete with Unknown Connection
	 * Identifier. */
	expect_cmd(OP_LE_CREATE_CONN_CANCEL, NULL);
	cc_status(OP_LE_CREATE_CONN_CANCEL, 0);
	assert_int_equal(F.closes[0], 0);
	le_conn_complete(0x02, 0, 0x00, &PEER_A);
	assert_int_equal(F.closes[0], 1);
	assert_int_equal(F.close_err[0], -ETIMEDOUT);
	assert_int_equal(hcihost_chan_state(F.h, 0), HCIHOST_CH_IDLE);
	no_output();

	/* Retried on the next hcihost_open(). A controller error (7.7.65.1
	 * 0x3E) ends this one at once. */
	assert_int_equal(hcihost_open(F.h, 0, &PEER_A, HCI_ADDR_PUBLIC,
				      F.now),
			 0);
	expect_cmd(OP_LE_CREATE_CONN, NULL);
	cs(OP_LE_CREATE_CONN, 0);
	le_conn_complete(0x3e, 0, 0x00, &PEER_A);
	assert_int_equal(F.closes[0], 2);
	assert_int_equal(F.close_err[0], -EHOSTUNREACH);

	/* Closing an attempt cancels it; the cancel failing (nothing left
	 * to cancel) still closes the channel. */
	assert_int_equal(hcihost_open(F.h, 0, &PEER_A, HCI_ADDR_PUBLIC,
				      F.now),
			 0);
	expect_cmd(OP_LE_CREATE_CONN, NULL);
	cs(OP_LE_CREATE_CONN, 0);
	hcihost_close(F.h, 0, F.now);
	expect_cmd(OP_LE_CREATE_CONN_CANCEL, NULL);
	cc_status(OP_LE_CREATE_CONN_CANCEL, 0x0c);
	assert_int_equal(F.closes[0], 3);
	assert_int_equal(F.close_err[0], -ECONNABORTED);
	{
		struct hcihost_stats st;

		hcihost_get_stats(F.h, &st);
		assert_int_equal(st.connect_fails, 3);
	}
}

/* Send a K-frame (3.4.3) of an SDU to the host, in ACL fragments of
 * frag octets; spends one of the fake peer's credits. */
static void kframe_in(unsigned ch, uint16_t handle, const uint8_t *d,
		      size_t n, size_t frag)
{
	assert_true(F.peer_credits[ch] > 0);
	F.peer_credits[ch]--;
	pdu_in(handle, HOST_CID, d, n, frag);
}

/* Take the host's credit indications (4.24) off the wire. */
static void take_credits(unsigned ch, uint16_t handle)
{
	while (pending() > 0) {
		uint8_t ident;
		size_t n;
		const uint8_t *p = sig_out(handle, 0x16, &ident, &n);

		assert_int_equal(n, 4);
		assert_int_equal(le16(p), HOST_CID);
		assert_true(le16(p + 2) > 0);
		F.peer_credits[ch] =
			(uint16_t)(F.peer_credits[ch] + le16(p + 2));
		F.credit_inds[ch]++;
	}
}

static void test_sdu_both_ways(void **state)
{
	uint8_t sdu[HCIHOST_MAX_SDU], got[2100];
	unsigned kframes = 0, frags_total = 0;
	size_t off = 0, sdu_len, n;
	struct hcihost_stats st;

	(void)state;
	fake_new(HCIHOST_CENTRAL);
	boot(27, 4);
	/* Peer MPS 100 > 27-octet ACL buffers: K-frames span ACL
	 * packets. 3 credits: the 300-octet SDU needs 4 K-frames. */
	central_open(0, &PEER_A, 0x0040, 2048, 100, 3);

	fill(sdu, 300, 5);
	assert_int_equal(hcihost_send(F.h, 0, sdu, 300, 0xc0ffee), 0);
	for (unsigned k = 0; k < 3; k++) {
		unsigned frags;

		assert_int_equal(pdu_out(0x0040, got, &n, true, &frags),
				 PEER_CID);
		/* 27-octet fragments: ceil((4 + n) / 27). */
		assert_int_equal(frags, (4 + n + 26) / 27);
		frags_total += frags;
		if (k == 0) {
			/* SDU Length first, then MPS - 2 octets. */
			assert_int_equal(n, 100);
			assert_int_equal(le16(got), 300);
			assert_memory_equal(got + 2, sdu, 98);
			off = 98;
		} else {
			assert_int_equal(n, 100);
			assert_memory_equal(got, sdu + off, 100);
			off += 100;
		}
	}
	/* Out of credit: stalled, nothing more however free the
	 * controller is, and no completion reported. */
	no_output();
	hcihost_get_stats(F.h, &st);
	assert_int_equal(st.tx_stalls, 1);
	assert_int_equal(F.nsent, 0);
	/* 4.24: our (the peer's) CID and 2 credits resume it. */
	{
		uint8_t ind[4];

		put16(ind, PEER_CID);
		put16(ind + 2, 2);
		sig_in(0x0040, 0x16, 7, ind, 4);
	}
	assert_int_equal(pdu_out(0x0040, got, &n, false, NULL), PEER_CID);
	assert_int_equal(n, 2);
	assert_memory_equal(got, sdu + 298, 2);
	no_output();
	/* The last packet completes: the SDU's cookie comes back. */
	assert_int_equal(F.nsent, 0);
	nocp(0x0040, 1);
	assert_int_equal(F.nsent, 1);
	assert_int_equal(F.sent[0], 0xc0ffee);
	assert_int_equal(F.sent_ch[0], 0);
	/* 104 + 104 + 104 octets in 27-octet packets. */
	assert_int_equal(frags_total, 12);

	/* The other way: 700 octets from the peer, K-frames of the host's
	 * MPS (23), each split over two ACL packets (10 + rest). */
	sdu_len = 700;
	fill(sdu, sdu_len, 9);
	off = 0;
	while (off < sdu_len) {
		uint8_t kf[23];
		size_t k;

		if (off == 0) {
			put16(kf, (uint16_t)sdu_len);
			k = 21;
			memcpy(kf + 2, sdu, k);
			kframe_in(0, 0x0040, kf, 23, 10);
		} else {
			k = MIN((size_t)23, sdu_len - off);
			memcpy(kf, sdu + off, k);
			kframe_in(0, 0x0040, kf, k, 10);
		}
		off += k;
		kframes++;
		take_credits(0, 0x0040);
		if (off < sdu_len) {
			assert_int_equal(F.nmsg, 0);
		}
	}
	assert_int_equal(F.nmsg, 1);
	assert_int_equal(F.msg_ch[0], 0);
	assert_int_equal(F.msg_len[0], sdu_len);
	assert_memory_equal(F.msg[0], sdu, sdu_len);
	/* Credits came back in batches (half the window), not one per
	 * K-frame: 31 K-frames took at most 31 / 4 + 1 indications. */
	assert_int_equal(kframes, 31);
	assert_true(F.credit_inds[0] >= 6);
	assert_true(F.credit_inds[0] <= kframes / 4 + 1);

	/* An SDU in one K-frame of one ACL packet, and an empty one. */
	{
		uint8_t kf[6] = { 4, 0, 'p', 'i', 'n', 'g' };

		kframe_in(0, 0x0040, kf, sizeof(kf), 27);
		kframe_in(0, 0x0040, data(0, 0), 2, 27);
		take_credits(0, 0x0040);
	}
	assert_int_equal(F.nmsg, 3);
	assert_int_equal(F.msg_len[1], 4);
	assert_memory_equal(F.msg[1], "ping", 4);
	assert_int_equal(F.msg_len[2], 0);
	hcihost_get_stats(F.h, &st);
	assert_int_equal(st.sdus_rx, 3);
	assert_int_equal(st.sdus_tx, 1);
	assert_int_equal(st.l2cap_errors, 0);
	assert_int_equal(st.acl_errors, 0);
}

static void test_flow_control(void **state)
{
	struct hcihost_stats st;
	uint8_t b[40];

	(void)state;
	fake_new(HCIHOST_CENTRAL);
	/* A controller with 2 LE buffers. */
	boot(251, 2);
	central_open(0, &PEER_A, 0x0040, 2048, 247, 50);

	for (unsigned k = 0; k < HCIHOST_TX_QUEUE; k++) {
		fill(b, sizeof(b), k);
		assert_int_equal(hcihost_send(F.h, 0, b, 10 + k, 100 + k), 0);
	}
	assert_int_equal(hcihost_tx_space(F.h, 0), 2);
	/* Two packets in the controller, the rest waits for Number Of
	 * Completed Packets (7.7.19). */
	assert_int_equal(pending(), 2);
	assert_int_equal(hcihost_send(F.h, 0, b, 1, 1), 0);
	assert_int_equal(hcihost_send(F.h, 0, b, 1, 2), 0);
	assert_int_equal(hcihost_send(F.h, 0, b, 1, 3), -ENOBUFS);
	hcihost_get_stats(F.h, &st);
	assert_int_equal(st.tx_queue_full, 1);
	assert_int_equal(pending(), 2);
	pop();
	pop();
	assert_int_equal(F.nsent, 0);

	/* One completes: its cookie, and one more packet goes. */
	nocp(0x0040, 1);
	assert_int_equal(F.nsent, 1);
	assert_int_equal(F.sent[0], 100);
	assert_int_equal(pending(), 1);
	pop();
	/* Two at once, in order. */
	nocp(0x0040, 2);
	assert_int_equal(F.nsent, 3);
	assert_int_equal(F.sent[1], 101);
	assert_int_equal(F.sent[2], 102);
	assert_int_equal(pending(), 2);
	pop();
	pop();
	nocp(0x0040, 2);
	assert_int_equal(pending(), 1);
	pop();
	nocp(0x0040, 1);
	assert_int_equal(F.nsent, 6);
	assert_int_equal(F.sent[3], 103);
	assert_int_equal(F.sent[4], 1);
	assert_int_equal(F.sent[5], 2);
	no_output();

	/* More completions than packets: counted, nothing reported. */
	nocp(0x0040, 3);
	hcihost_get_stats(F.h, &st);
	assert_int_equal(st.acl_over_completed, 3);
	assert_int_equal(F.nsent, 6);
	assert_int_equal(st.acl_tx, 6 + 1); /* + the L2CAP request */
}

static void test_disconnect_reopen(void **state)
{
	uint8_t b[600];

	(void)state;
	fake_new(HCIHOST_CENTRAL);
	boot(251, 2);
	central_open(0, &PEER_A, 0x0040, 2048, 247, 50);
	central_open(1, &PEER_B, 0x0041, 2048, 247, 50);

	/* Channel 0 fills both controller buffers (a 600-octet SDU is 3
	 * ACL packets of 251); channel 1's SDU must wait. */
	fill(b, sizeof(b), 3);
	assert_int_equal(hcihost_send(F.h, 0, b, 600, 1), 0);
	assert_int_equal(hcihost_send(F.h, 1, b, 20, 2), 0);
	assert_int_equal(pending(), 2);
	pop();
	pop();

	/* The peer ends channel 0 (reason 0x13): both buffers are free
	 * again (Vol 4, Part E, 4.3) and channel 1's SDU goes out with no
	 * completion; channel 0's cookie is never reported. */
	disconn_complete(0x0040, 0x13);
	assert_int_equal(F.closes[0], 1);
	assert_int_equal(F.close_err[0], -ECONNRESET);
	assert_int_equal(hcihost_chan_state(F.h, 0), HCIHOST_CH_IDLE);
	{
		size_t n;
		uint8_t got[100];

		assert_int_equal(pdu_out(0x0041, got, &n, false, NULL),
				 PEER_CID);
		assert_int_equal(n, 22);
		assert_memory_equal(got + 2, b, 20);
	}
	no_output();
	nocp(0x0041, 1);
	assert_int_equal(F.nsent, 1);
	assert_int_equal(F.sent[0], 2);
	/* A completion for the dead handle is not ours any more. */
	nocp(0x0040, 1);
	assert_int_equal(F.nsent, 1);
	/* Data for it is dropped and counted. */
	acl_in(0x0040, 0x2, data(2, 0, 0x40, 0, 1, 2), 6);
	{
		struct hcihost_stats st;

		hcihost_get_stats(F.h, &st);
		assert_int_equal(st.acl_errors, 1);
		assert_int_equal(st.disconnects, 1);
	}

	/* Reopen: a new link and channel, on a new handle. */
	central_open(0, &PEER_A, 0x0042, 2048, 247, 50);
	assert_int_equal(hcihost_send(F.h, 0, b, 30, 3), 0);
	{
		size_t n;
		uint8_t got[100];

		assert_int_equal(pdu_out(0x0042, got, &n, true, NULL),
				 PEER_CID);
		assert_int_equal(n, 32);
	}
	assert_int_equal(F.sent[1], 3);

	/* We close channel 1: Disconnect, then chan_closed on the
	 * Disconnection Complete, not before. The caller reopening from
	 * inside chan_closed works. */
	hcihost_close(F.h, 1, F.now);
	{
		size_t plen;
		const uint8_t *p = expect_cmd(OP_DISCONNECT, &plen);

		assert_int_equal(le16(p), 0x0041);
	}
	assert_int_equal(hcihost_chan_state(F.h, 1), HCIHOST_CH_CLOSING);
	assert_int_equal(hcihost_send(F.h, 1, b, 1, 0), -ENOTCONN);
	cs(OP_DISCONNECT, 0);
	assert_int_equal(F.closes[1], 0);
	F.reopen_on_close = true;
	disconn_complete(0x0041, 0x16);
	assert_int_equal(F.closes[1], 1);
	assert_int_equal(F.close_err[1], -ECONNABORTED);
	{
		size_t plen;
		const uint8_t *p = expect_cmd(OP_LE_CREATE_CONN, &plen);

		assert_memory_equal(p + 6, PEER_B.b, 6);
	}
	assert_int_equal(hcihost_chan_state(F.h, 1), HCIHOST_CH_CONNECTING);
}

static void test_command_timeout(void **state)
{
	struct hcihost_stats st;

	(void)state;
	fake_new(HCIHOST_CENTRAL);
	hcihost_start(F.h, F.now);
	expect_cmd(OP_RESET, NULL);
	assert_int_equal(hcihost_next_deadline(F.h), F.now + 2000 * MS);
	F.now += 1999 * MS;
	hcihost_tick(F.h, F.now);
	assert_int_equal(F.downs, 0);
	F.now += 1 * MS;
	hcihost_tick(F.h, F.now);
	assert_int_equal(F.downs, 1);
	assert_int_equal(F.down_err, -ETIMEDOUT);
	assert_int_equal(hcihost_state(F.h), HCIHOST_DOWN);
	hcihost_get_stats(F.h, &st);
	assert_int_equal(st.cmd_timeouts, 1);
	assert_int_equal(hcihost_next_deadline(F.h), UINT64_MAX);

	/* A late answer is ignored; a restart begins again. */
	cc_status(OP_RESET, 0);
	no_output();
	boot(27, 2);

	/* A controller that answers with Num_HCI_Command_Packets 0 and
	 * never raises it times out too. */
	assert_int_equal(hcihost_open(F.h, 0, &PEER_A, HCI_ADDR_PUBLIC,
				      F.now),
			 0);
	expect_cmd(OP_LE_CREATE_CONN, NULL);
	evt(0x0f, data(0x00, 0x00, 0x0d, 0x20), 4);
	assert_int_equal(hcihost_open(F.h, 1, &PEER_B, HCI_ADDR_PUBLIC,
				      F.now),
			 0);
	le_conn_complete(0, 0x0040, 0x00, &PEER_A);
	/* The next Create Connection is queued, not written. */
	while (pending() > 0) {
		assert_int_equal(pop()->b[0], 0x02);
	}
	F.now += 2000 * MS;
	hcihost_tick(F.h, F.now);
	assert_int_equal(F.downs, 2);
	assert_int_equal(F.down_err, -ETIMEDOUT);
	assert_int_equal(F.closes[0], 1);
	assert_int_equal(F.close_err[0], -ETIMEDOUT);
}

static void test_hardware_error(void **state)
{
	(void)state;
	fake_new(HCIHOST_CENTRAL);
	boot(27, 2);
	central_open(0, &PEER_A, 0x0040, 2048, 100, 5);
	/* 7.7.16 */
	evt(0x10, data(0x42), 1);
	assert_int_equal(F.downs, 1);
	assert_int_equal(F.down_err, -EIO);
	assert_int_equal(F.closes[0], 1);
	assert_int_equal(F.close_err[0], -EIO);
	assert_int_equal(hcihost_state(F.h), HCIHOST_DOWN);
	assert_int_equal(hcihost_chan_state(F.h, 0), HCIHOST_CH_IDLE);
	/* Nothing goes out while down. */
	no_output();
	assert_int_equal(hcihost_send(F.h, 0, data(1), 1, 0), -ENOTCONN);
	/* A write failure takes it down just the same. */
	boot(27, 2);
	F.write_err = -EPIPE;
	assert_int_equal(hcihost_open(F.h, 0, &PEER_A, HCI_ADDR_PUBLIC,
				      F.now),
			 0);
	assert_int_equal(F.downs, 2);
	assert_int_equal(F.down_err, -EPIPE);
	{
		struct hcihost_stats st;

		hcihost_get_stats(F.h, &st);
		assert_int_equal(st.write_errors, 1);
	}
}

static void test_malformed(void **state)
{
	struct hcihost_stats st;
	const uint8_t *p;
	uint8_t ident;
	size_t n;

	(void)state;
	fake_new(HCIHOST_CENTRAL);
	boot(27, 4);
	central_open(0, &PEER_A, 0x0040, 2048, 100, 5);

	/* Garbage before an event: the framer resynchronises. */
	feed(data(0x09, 0x77, 0x04, 0x13, 0x05, 0x01, 0x40, 0x00, 0x00, 0x00),
	     10);
	/* Disconnection Complete one octet short (7.7.5). */
	evt(0x05, data(0x00, 0x40, 0x00), 3);
	/* An event this host does not handle (Encryption Change). */
	evt(0x08, data(0x00, 0x40, 0x00, 0x01), 4);
	/* ACL for a handle nobody has. */
	acl_in(0x0123, 0x2, data(2, 0, 0x40, 0, 1, 2), 6);
	/* A signaling command with an unknown code: Command Reject, "not
	 * understood", with its Identifier (Vol 3, Part A, 4.1). */
	sig_in(0x0040, 0x3f, 0x21, data(1, 2), 2);
	p = sig_out(0x0040, 0x01, &ident, &n);
	assert_int_equal(ident, 0x21);
	assert_int_equal(n, 2);
	assert_int_equal(le16(p), 0x0000);
	/* A PDU for an unknown CID (ATT). */
	pdu_in(0x0040, 0x0004, data(0x02, 0x17, 0x00), 3, 27);

	hcihost_get_stats(F.h, &st);
	assert_true(st.h4_resyncs >= 1);
	assert_true(st.h4_bytes_skipped >= 2);
	assert_int_equal(st.evt_errors, 1);
	assert_int_equal(st.evt_unknown, 1);
	assert_int_equal(st.acl_errors, 1);
	assert_int_equal(st.l2cap_errors, 1);
	assert_int_equal(st.l2cap_unknown_cid, 1);
	/* The channel survived all of it. */
	assert_int_equal(hcihost_chan_state(F.h, 0), HCIHOST_CH_OPEN);
	assert_int_equal(F.closes[0], 0);

	/* A K-frame over our MPS (23) breaks the channel (3.4.3): the
	 * link goes. */
	{
		uint8_t kf[30] = { 28, 0 };

		kframe_in(0, 0x0040, kf, sizeof(kf), 27);
	}
	hcihost_get_stats(F.h, &st);
	assert_int_equal(st.l2cap_errors, 2);
	p = expect_cmd(OP_DISCONNECT, &n);
	assert_int_equal(le16(p), 0x0040);
	cs(OP_DISCONNECT, 0);
	disconn_complete(0x0040, 0x16);
	assert_int_equal(F.close_err[0], -EPROTO);
}

static void test_peripheral(void **state)
{
	const uint8_t *p;
	uint8_t req[10], ident;
	size_t n;

	(void)state;
	fake_new(HCIHOST_PERIPHERAL);
	F.cfg.rx_credits = 6;
	F.h = hcihost_free(F.h);
	assert_int_equal(hcihost_new(&F.cfg, &ops, NULL, &F.h), 0);
	boot(251, 8);
	no_output();

	assert_int_equal(hcihost_open(F.h, 1, NULL, HCI_ADDR_PUBLIC, F.now),
			 0);
	/* 7.8.5: interval 0x30..0x30, ADV_IND, public, channels 37-39. */
	p = expect_cmd(OP_LE_SET_ADV_PARAMS, &n);
	assert_int_equal(n, 15);
	assert_int_equal(le16(p), 0x30);
	assert_int_equal(le16(p + 2), 0x30);
	assert_int_equal(p[4], 0x00);
	assert_int_equal(p[5], 0x00);
	assert_int_equal(p[13], 0x07);
	cc_status(OP_LE_SET_ADV_PARAMS, 0);
	/* 7.8.7: Flags, then the Complete Local Name of channel 1. */
	p = expect_cmd(OP_LE_SET_ADV_DATA, &n);
	assert_int_equal(n, 32);
	assert_int_equal(p[0], 11);
	assert_memory_equal(p + 1,
			    data(2, 0x01, 0x06, 7, 0x09, 't', 't', 'w', 's',
				 '-', 'R'),
			    11);
	cc_status(OP_LE_SET_ADV_DATA, 0);
	p = expect_cmd(OP_LE_SET_ADV_ENABLE, &n);
	assert_int_equal(p[0], 1);
	cc_status(OP_LE_SET_ADV_ENABLE, 0);
	assert_int_equal(hcihost_chan_state(F.h, 1), HCIHOST_CH_CONNECTING);
	/* Channel 0 listens too; advertising is already on. */
	assert_int_equal(hcihost_open(F.h, 0, NULL, HCI_ADDR_PUBLIC, F.now),
			 0);
	no_output();

	/* A central connects: channel 1, the one advertised. */
	le_conn_complete(0, 0x0007, 0x01, &PEER_A);
	assert_int_equal(hcihost_chan_state(F.h, 1), HCIHOST_CH_L2CAP);
	/* Advertising stopped with the connection (7.8.9): it comes back
	 * for channel 0, with its name. */
	expect_cmd(OP_LE_SET_ADV_PARAMS, NULL);
	cc_status(OP_LE_SET_ADV_PARAMS, 0);
	p = expect_cmd(OP_LE_SET_ADV_DATA, &n);
	assert_memory_equal(p + 6, "ttws-L", 6);
	cc_status(OP_LE_SET_ADV_DATA, 0);
	expect_cmd(OP_LE_SET_ADV_ENABLE, NULL);
	cc_status(OP_LE_SET_ADV_ENABLE, 0);

	/* A request for another PSM is refused (4.23: 0x0002). */
	put16(req, 0x0081);
	put16(req + 2, 0x0060);
	put16(req + 4, 300);
	put16(req + 6, 100);
	put16(req + 8, 4);
	sig_in(0x0007, 0x14, 3, req, sizeof(req));
	p = sig_out(0x0007, 0x15, &ident, &n);
	assert_int_equal(ident, 3);
	assert_int_equal(le16(p + 8), 0x0002);
	assert_int_equal(F.opens[1], 0);

	/* The central's request on our PSM: accepted, from our CID, with
	 * our MTU, MPS (251 - 4) and credits. */
	put16(req, PSM);
	put16(req + 2, PEER_CID);
	put16(req + 4, 300);
	put16(req + 6, 100);
	put16(req + 8, 4);
	sig_in(0x0007, 0x14, 4, req, sizeof(req));
	p = sig_out(0x0007, 0x15, &ident, &n);
	assert_int_equal(ident, 4);
	assert_int_equal(n, 10);
	assert_int_equal(le16(p), HOST_CID);
	assert_int_equal(le16(p + 2), 2048);
	assert_int_equal(le16(p + 4), 247);
	assert_int_equal(le16(p + 6), 6);
	assert_int_equal(le16(p + 8), 0);
	assert_int_equal(F.opens[1], 1);
	assert_int_equal(hcihost_chan_state(F.h, 1), HCIHOST_CH_OPEN);

	/* Data both ways. */
	F.peer_credits[1] = 6;
	kframe_in(1, 0x0007, data(3, 0, 'a', 'b', 'c'), 5, 27);
	assert_int_equal(F.nmsg, 1);
	assert_int_equal(F.msg_ch[0], 1);
	assert_memory_equal(F.msg[0], "abc", 3);
	assert_int_equal(hcihost_send(F.h, 1, data('x', 'y'), 2, 5), 0);
	{
		uint8_t got[64];

		assert_int_equal(pdu_out(0x0007, got, &n, true, NULL),
				 PEER_CID);
		assert_int_equal(n, 4);
		assert_memory_equal(got, data(2, 0, 'x', 'y'), 4);
	}
	assert_int_equal(F.nsent, 1);
	assert_int_equal(F.sent[0], 5);

	/* The central goes: channel 1 closed; channel 0 still listens and
	 * advertising is still on for it. Reopening channel 1 needs no new
	 * advertising either. */
	disconn_complete(0x0007, 0x13);
	assert_int_equal(F.closes[1], 1);
	assert_int_equal(F.close_err[1], -ECONNRESET);
	no_output();
	/* Channel 0 gets the next central. */
	le_conn_complete(0, 0x0008, 0x01, &PEER_B);
	assert_int_equal(hcihost_chan_state(F.h, 0), HCIHOST_CH_L2CAP);
	no_output();
	/* Channel 1 listens again: advertising again, with its name. */
	assert_int_equal(hcihost_open(F.h, 1, NULL, HCI_ADDR_PUBLIC, F.now),
			 0);
	expect_cmd(OP_LE_SET_ADV_PARAMS, NULL);
	cc_status(OP_LE_SET_ADV_PARAMS, 0);
	p = expect_cmd(OP_LE_SET_ADV_DATA, &n);
	assert_memory_equal(p + 6, "ttws-R", 6);
	cc_status(OP_LE_SET_ADV_DATA, 0);
	expect_cmd(OP_LE_SET_ADV_ENABLE, NULL);
	cc_status(OP_LE_SET_ADV_ENABLE, 0);
	/* Nobody listening any more: advertising off (7.8.9). */
	hcihost_close(F.h, 1, F.now);
	assert_int_equal(F.closes[1], 2);
	assert_int_equal(F.close_err[1], -ECONNABORTED);
	p = expect_cmd(OP_LE_SET_ADV_ENABLE, NULL);
	assert_int_equal(p[0], 0);
	cc_status(OP_LE_SET_ADV_ENABLE, 0);

	/* No L2CAP request within the connect timeout: the link goes. */
	F.now += 5000 * MS;
	hcihost_tick(F.h, F.now);
	p = expect_cmd(OP_DISCONNECT, &n);
	assert_int_equal(le16(p), 0x0008);
	cs(OP_DISCONNECT, 0);
	disconn_complete(0x0008, 0x16);
	assert_int_equal(F.closes[0], 1);
	assert_int_equal(F.close_err[0], -ETIMEDOUT);
	/* A connection nobody listens for is refused. */
	le_conn_complete(0, 0x0009, 0x01, &PEER_A);
	p = expect_cmd(OP_DISCONNECT, &n);
	assert_int_equal(le16(p), 0x0009);
}

static void test_remote_param_request(void **state)
{
	const uint8_t *p;
	size_t n;

	(void)state;
	fake_new(HCIHOST_CENTRAL);
	boot(27, 2);
	central_open(0, &PEER_A, 0x0040, 2048, 100, 5);
	/* 7.7.65.6: handle, interval 24..40, latency 4, timeout 500. */
	evt(0x3e,
	    data(0x06, 0x40, 0x00, 24, 0, 40, 0, 4, 0, 0xf4, 0x01), 11);
	/* 7.8.31: accepted as asked, CE lengths 0. */
	p = expect_cmd(0x2020, &n);
	assert_int_equal(n, 14);
	assert_int_equal(le16(p), 0x0040);
	assert_int_equal(le16(p + 2), 24);
	assert_int_equal(le16(p + 4), 40);
	assert_int_equal(le16(p + 6), 4);
	assert_int_equal(le16(p + 8), 500);
	cc(0x2020, data(0x00, 0x40, 0x00), 3);
	/* Impossible parameters (timeout too short for the interval) get
	 * the negative reply (7.8.32), Unacceptable Connection Parameters. */
	evt(0x3e,
	    data(0x06, 0x40, 0x00, 24, 0, 40, 0, 4, 0, 0x0a, 0x00), 11);
	p = expect_cmd(0x2021, &n);
	assert_int_equal(n, 3);
	assert_int_equal(le16(p), 0x0040);
	assert_int_equal(p[2], 0x3b);
}

/*
 * LE Connection Update Complete (7.7.65.3): the owner hears the new
 * interval of that channel's link, and only from a successful update
 * with an interval the specification allows, on a link it knows.
 */
static void test_conn_update(void **state)
{
	(void)state;
	fake_new(HCIHOST_CENTRAL);
	boot(27, 2);
	central_open(0, &PEER_A, 0x0040, 2048, 100, 5);
	/* Subevent, status, handle, interval 12 (15 ms), latency, timeout. */
	evt(0x3e, data(0x03, 0x00, 0x40, 0x00, 12, 0, 0, 0, 0xf4, 0x01), 10);
	assert_int_equal(F.intervals[0], 1);
	assert_int_equal(F.interval_us[0], 15000);
	/* Failed, out of range (5 < 6, 0x0C81 > 0x0C80), another link. */
	evt(0x3e, data(0x03, 0x3b, 0x40, 0x00, 24, 0, 0, 0, 0xf4, 0x01), 10);
	evt(0x3e, data(0x03, 0x00, 0x40, 0x00, 5, 0, 0, 0, 0xf4, 0x01), 10);
	evt(0x3e, data(0x03, 0x00, 0x40, 0x00, 0x81, 0x0c, 0, 0, 0xf4, 0x01),
	    10);
	evt(0x3e, data(0x03, 0x00, 0x41, 0x00, 24, 0, 0, 0, 0xf4, 0x01), 10);
	assert_int_equal(F.intervals[0], 1);
	assert_int_equal(F.intervals[1], 0);
	assert_int_equal(F.interval_us[0], 15000);
}

static void test_restart(void **state)
{
	const uint8_t *p;
	size_t n;

	(void)state;
	fake_new(HCIHOST_CENTRAL);
	boot(27, 2);
	central_open(0, &PEER_A, 0x0040, 2048, 100, 5);
	assert_int_equal(hcihost_open(F.h, 1, &PEER_B, HCI_ADDR_PUBLIC,
				      F.now),
			 0);
	expect_cmd(OP_LE_CREATE_CONN, NULL);
	/* Restart: the open channel reports closed, the one connecting
	 * connects again once the controller is ready. */
	hcihost_start(F.h, F.now);
	assert_int_equal(F.closes[0], 1);
	assert_int_equal(F.close_err[0], -ECONNABORTED);
	assert_int_equal(F.closes[1], 0);
	assert_int_equal(hcihost_chan_state(F.h, 0), HCIHOST_CH_IDLE);
	assert_int_equal(hcihost_chan_state(F.h, 1), HCIHOST_CH_CONNECTING);
	/* The Reset alone goes out: the old attempt is not repeated to a
	 * controller being reset. */
	assert_int_equal(pending(), 1);
	expect_cmd(OP_RESET, NULL);
	{
		unsigned ready = F.ready;

		cc_status(OP_RESET, 0);
		expect_cmd(OP_SET_EVENT_MASK, NULL);
		cc_status(OP_SET_EVENT_MASK, 0);
		expect_cmd(OP_LE_SET_EVENT_MASK, NULL);
		cc_status(OP_LE_SET_EVENT_MASK, 0);
		expect_cmd(OP_READ_BD_ADDR, NULL);
		cc(OP_READ_BD_ADDR, data(0, 1, 2, 3, 4, 5, 6), 7);
		expect_cmd(OP_LE_READ_BUFFER_SIZE_V2, NULL);
		cc(OP_LE_READ_BUFFER_SIZE_V2, data(0, 27, 0, 2, 0, 0, 0), 7);
		assert_int_equal(F.ready, ready + 1);
	}
	p = expect_cmd(OP_LE_CREATE_CONN, &n);
	assert_memory_equal(p + 6, PEER_B.b, 6);
	no_output();
}

static void test_config(void **state)
{
	struct hcihost_config cfg;
	struct hcihost *h = NULL;

	(void)state;
	memset(&F, 0, sizeof(F));
	hcihost_config_default(&cfg);
	assert_int_equal(cfg.psm, 0x80);
	assert_int_equal(cfg.mtu, HCIHOST_MAX_SDU);
	cfg.mtu = HCIHOST_MAX_SDU + 1;
	assert_int_equal(hcihost_new(&cfg, &ops, NULL, &h), -EINVAL);
	hcihost_config_default(&cfg);
	cfg.supervision_timeout = 1; /* shorter than the interval allows */
	assert_int_equal(hcihost_new(&cfg, &ops, NULL, &h), -EINVAL);
	hcihost_config_default(&cfg);
	cfg.psm = 0;
	assert_int_equal(hcihost_new(&cfg, &ops, NULL, &h), -EINVAL);
	hcihost_config_default(&cfg);
	cfg.mps = 22;
	assert_int_equal(hcihost_new(&cfg, &ops, NULL, &h), -EINVAL);
	assert_null(h);
	assert_null(hcihost_free(NULL));

	/* A configured name is advertised as is, for every channel. */
	hcihost_config_default(&F.cfg);
	F.cfg.role = HCIHOST_PERIPHERAL;
	strcpy(F.cfg.name, "left-bud");
	F.now = 1;
	assert_int_equal(hcihost_new(&F.cfg, &ops, NULL, &F.h), 0);
	boot(27, 1);
	assert_int_equal(hcihost_open(F.h, 1, NULL, HCI_ADDR_PUBLIC, F.now),
			 0);
	expect_cmd(OP_LE_SET_ADV_PARAMS, NULL);
	cc_status(OP_LE_SET_ADV_PARAMS, 0);
	{
		size_t n;
		const uint8_t *p = expect_cmd(OP_LE_SET_ADV_DATA, &n);

		assert_int_equal(p[0], 5 + 8);
		assert_int_equal(p[4], 9);
		assert_memory_equal(p + 6, "left-bud", 8);
	}
}

#define T(name, fn)                                                           \
	{                                                                     \
		"hcihost/" name, fn, NULL, teardown, NULL                     \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("startup", test_startup),
		T("startup_failures", test_startup_failures),
		T("central_connect_two", test_central_connect_two),
		T("connect_timeout", test_connect_timeout),
		T("sdu_both_ways", test_sdu_both_ways),
		T("flow_control", test_flow_control),
		T("disconnect_reopen", test_disconnect_reopen),
		T("command_timeout", test_command_timeout),
		T("hardware_error", test_hardware_error),
		T("malformed", test_malformed),
		T("peripheral", test_peripheral),
		T("remote_param_request", test_remote_param_request),
		T("conn_update", test_conn_update),
		T("restart", test_restart),
		T("config", test_config),
	};

	return cmocka_run_group_tests_name("hcihost", tests, NULL, NULL);
}
