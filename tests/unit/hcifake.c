/* SPDX-License-Identifier: MIT */
/* The fake controller of the hcihost tests: hcifake.h. */

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
#include "hcifake.h"

const struct hci_bdaddr LOCAL = { { 0x01, 0x02, 0x03, 0x04, 0x05,
					   0x06 } };
const struct hci_bdaddr PEER_A = { { 0xa1, 0xa2, 0xa3, 0xa4, 0xa5,
					    0xa6 } };
const struct hci_bdaddr PEER_B = { { 0xb1, 0xb2, 0xb3, 0xb4, 0xb5,
					    0xb6 } };

struct fake F;

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

static void cb_link_up(void *u, unsigned ch)
{
	(void)u;
	assert_true(ch < HCIHOST_MAX_CHANS);
	F.link_ups[ch]++;
}

static void cb_att(void *u, unsigned ch, const uint8_t *pdu, size_t len,
		   uint64_t rx_ns)
{
	(void)u;
	assert_true(ch < HCIHOST_MAX_CHANS);
	assert_true(len <= sizeof(F.att[ch]));
	assert_int_equal(rx_ns, F.now);
	memcpy(F.att[ch], pdu, len);
	F.att_len[ch] = len;
	F.atts[ch]++;
}

const struct hcihost_ops hf_ops = {
	.write = cb_write,
	.ready = cb_ready,
	.down = cb_down,
	.chan_open = cb_open,
	.chan_msg = cb_msg,
	.chan_closed = cb_closed,
	.sent = cb_sent,
	.interval = cb_interval,
	.trace = cb_trace,
	.link_up = cb_link_up,
	.att = cb_att,
};

/* ---- the fake controller ------------------------------------------- */

uint16_t hf_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

void hf_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

unsigned hf_pending(void)
{
	return F.out_wr - F.out_rd;
}

struct frame *hf_pop(void)
{
	assert_true(hf_pending() > 0);
	return &F.out[F.out_rd++ % NOUT];
}

void hf_no_output(void)
{
	assert_int_equal(hf_pending(), 0);
}

/* The next frame must be command opcode; returns its parameters. */
const uint8_t *hf_expect_cmd(uint16_t opcode, size_t *ret_plen)
{
	struct frame *f = hf_pop();

	assert_int_equal(f->b[0], 0x01);
	assert_int_equal(hf_le16(f->b + 1), opcode);
	assert_int_equal(f->b[3], f->len - 4);
	if (ret_plen) {
		*ret_plen = f->b[3];
	}
	return f->b + 4;
}

/* Feed raw H4 bytes to the host. */
void hf_feed(const uint8_t *b, size_t len)
{
	hcihost_input(F.h, b, len, F.now);
}

void hf_evt(uint8_t code, const uint8_t *p, size_t plen)
{
	uint8_t b[260];

	b[0] = 0x04;
	b[1] = code;
	b[2] = (uint8_t)plen;
	memcpy(b + 3, p, plen);
	F.in_frames++;
	hf_feed(b, plen + 3);
}

/* Command Complete (7.7.14) with Num_HCI_Command_Packets 1. */
void hf_cc(uint16_t opcode, const uint8_t *ret, size_t n)
{
	uint8_t p[255];

	p[0] = 1;
	hf_put16(p + 1, opcode);
	memcpy(p + 3, ret, n);
	hf_evt(0x0e, p, n + 3);
}

void hf_cc_status(uint16_t opcode, uint8_t status)
{
	hf_cc(opcode, &status, 1);
}

/* Command Status (7.7.15). */
void hf_cs(uint16_t opcode, uint8_t status)
{
	uint8_t p[4] = { status, 1 };

	hf_put16(p + 2, opcode);
	hf_evt(0x0f, p, 4);
}

/* LE Connection Complete (7.7.65.1). */
void hf_le_conn_complete(uint8_t status, uint16_t handle, uint8_t role,
			     const struct hci_bdaddr *peer)
{
	uint8_t p[19] = { 0x01, status };

	hf_put16(p + 2, handle);
	p[4] = role;
	p[5] = 0x00;
	memcpy(p + 6, peer->b, 6);
	hf_put16(p + 12, 6);   /* interval */
	hf_put16(p + 14, 0);   /* latency */
	hf_put16(p + 16, 200); /* supervision timeout */
	p[18] = 0;
	hf_evt(0x3e, p, sizeof(p));
}

void hf_disconn_complete(uint16_t handle, uint8_t reason)
{
	uint8_t p[4] = { 0x00 };

	hf_put16(p + 1, handle);
	p[3] = reason;
	hf_evt(0x05, p, 4);
}

/* Number Of Completed Packets (7.7.19), one handle. */
void hf_nocp(uint16_t handle, uint16_t count)
{
	uint8_t p[5] = { 1 };

	hf_put16(p + 1, handle);
	hf_put16(p + 3, count);
	hf_evt(0x13, p, 5);
}

/* An ACL packet from the controller (5.4.2). */
void hf_acl_in(uint16_t handle, uint8_t pb, const uint8_t *d, size_t n)
{
	uint8_t b[1 + 4 + 2100];

	b[0] = 0x02;
	hf_put16(b + 1, (uint16_t)(handle | pb << 12));
	hf_put16(b + 3, (uint16_t)n);
	memcpy(b + 5, d, n);
	F.in_frames++;
	hf_feed(b, n + 5);
}

/* An L2CAP PDU to the host, in ACL fragments of at most frag octets. */
void hf_pdu_in(uint16_t handle, uint16_t cid, const uint8_t *d, size_t n,
		   size_t frag)
{
	uint8_t pdu[4 + 2100];
	size_t off = 0;

	hf_put16(pdu, (uint16_t)n);
	hf_put16(pdu + 2, cid);
	memcpy(pdu + 4, d, n);
	n += 4;
	while (off < n) {
		size_t k = MIN(frag, n - off);

		hf_acl_in(handle, off == 0 ? 0x2 : 0x1, pdu + off, k);
		off += k;
	}
}

/* A signaling command on CID 0x0005 (Vol 3, Part A, 4). */
void hf_sig_in(uint16_t handle, uint8_t code, uint8_t ident,
		   const uint8_t *d, size_t n)
{
	uint8_t c[64];

	c[0] = code;
	c[1] = ident;
	hf_put16(c + 2, (uint16_t)n);
	memcpy(c + 4, d, n);
	hf_pdu_in(handle, 0x0005, c, n + 4, 100);
}

/*
 * The host's next L2CAP PDU on handle: ACL fragments in order (first
 * non-flushable, then continuing, Vol 4, Part E, 5.4.2), each completed
 * with Number Of Completed Packets when complete_each is set. Returns the
 * CID and the payload length; the payload goes to buf.
 */
uint16_t hf_pdu_out(uint16_t handle, uint8_t *buf, size_t *ret_len,
			bool complete_each, unsigned *ret_frags)
{
	size_t have = 0, want = 0;
	uint8_t pdu[4 + 2100];
	unsigned frags = 0;

	do {
		struct frame *f = hf_pop();
		uint16_t hf, n;

		assert_int_equal(f->b[0], 0x02);
		hf = hf_le16(f->b + 1);
		n = hf_le16(f->b + 3);
		assert_int_equal(f->len, 5 + n);
		assert_int_equal(hf & 0x0fff, handle);
		assert_int_equal(hf >> 12, have == 0 ? 0x0 : 0x1);
		assert_true(have + n <= sizeof(pdu));
		memcpy(pdu + have, f->b + 5, n);
		have += n;
		frags++;
		if (want == 0 && have >= 4) {
			want = 4 + hf_le16(pdu);
		}
		if (complete_each) {
			hf_nocp(handle, 1);
		}
	} while (want == 0 || have < want);
	assert_int_equal(have, want);
	memcpy(buf, pdu + 4, have - 4);
	*ret_len = have - 4;
	if (ret_frags) {
		*ret_frags = frags;
	}
	return hf_le16(pdu + 2);
}

/* The host's next signaling command on handle; returns its data. */
const uint8_t *hf_sig_out(uint16_t handle, uint8_t code,
			      uint8_t *ret_ident, size_t *ret_len)
{
	static uint8_t buf[2100];
	size_t n;

	assert_int_equal(hf_pdu_out(handle, buf, &n, true, NULL), 0x0005);
	assert_true(n >= 4);
	assert_int_equal(buf[0], code);
	assert_int_equal(hf_le16(buf + 2), n - 4);
	if (ret_ident) {
		*ret_ident = buf[1];
	}
	if (ret_len) {
		*ret_len = n - 4;
	}
	return buf + 4;
}

/* ---- set-up -------------------------------------------------------- */

void hf_fake_new(enum hcihost_role role)
{
	memset(&F, 0, sizeof(F));
	hcihost_config_default(&F.cfg);
	F.cfg.role = role;
	F.now = 1000 * MS;
	assert_int_equal(hcihost_new(&F.cfg, &hf_ops, NULL, &F.h), 0);
}

int hf_teardown(void **state)
{
	(void)state;
	F.h = hcihost_free(F.h);
	return 0;
}

/* The standard start-up with LE Read Buffer Size v2 answered. */
void hf_boot(uint16_t acl_len, uint8_t acl_num)
{
	uint8_t rbs[7] = { 0x00 };
	uint8_t bd[7] = { 0x00 };
	unsigned ready = F.ready;

	hcihost_start(F.h, F.now);
	hf_expect_cmd(OP_RESET, NULL);
	hf_cc_status(OP_RESET, 0);
	hf_expect_cmd(OP_SET_EVENT_MASK, NULL);
	hf_cc_status(OP_SET_EVENT_MASK, 0);
	hf_expect_cmd(OP_LE_SET_EVENT_MASK, NULL);
	hf_cc_status(OP_LE_SET_EVENT_MASK, 0);
	hf_expect_cmd(OP_READ_BD_ADDR, NULL);
	memcpy(bd + 1, LOCAL.b, 6);
	hf_cc(OP_READ_BD_ADDR, bd, sizeof(bd));
	hf_expect_cmd(OP_LE_READ_BUFFER_SIZE_V2, NULL);
	assert_int_equal(F.ready, ready);
	hf_put16(rbs + 1, acl_len);
	rbs[3] = acl_num;
	hf_cc(OP_LE_READ_BUFFER_SIZE_V2, rbs, sizeof(rbs));
	assert_int_equal(F.ready, ready + 1);
	assert_int_equal(hcihost_state(F.h), HCIHOST_READY);
}

/* Central: channel ch opened to peer on handle, the fake peer answering
 * with its MTU, MPS and credits. */
void hf_central_open(unsigned ch, const struct hci_bdaddr *peer,
			 uint16_t handle, uint16_t mtu, uint16_t mps,
			 uint16_t credits)
{
	unsigned opens = F.opens[ch];
	const uint8_t *p;
	uint8_t ident, rsp[10];
	size_t plen;

	assert_int_equal(hcihost_open(F.h, ch, peer, HCI_ADDR_PUBLIC, F.now),
			 0);
	p = hf_expect_cmd(OP_LE_CREATE_CONN, &plen);
	assert_int_equal(plen, 25);
	assert_memory_equal(p + 6, peer->b, 6);
	hf_cs(OP_LE_CREATE_CONN, 0);
	hf_le_conn_complete(0, handle, 0x00, peer);
	assert_int_equal(hcihost_chan_state(F.h, ch), HCIHOST_CH_L2CAP);

	/* Vol 3, Part A, 4.22: SPSM, SCID, MTU, MPS, initial credits. */
	p = hf_sig_out(handle, 0x14, &ident, &plen);
	assert_int_equal(plen, 10);
	assert_int_equal(hf_le16(p), PSM);
	assert_int_equal(hf_le16(p + 2), HOST_CID);
	assert_int_equal(hf_le16(p + 4), F.cfg.mtu);
	F.host_mps[ch] = hf_le16(p + 6);
	F.peer_credits[ch] = hf_le16(p + 8);
	assert_int_equal(F.peer_credits[ch], F.cfg.rx_credits);

	/* 4.23: DCID, MTU, MPS, credits, result. */
	hf_put16(rsp, PEER_CID);
	hf_put16(rsp + 2, mtu);
	hf_put16(rsp + 4, mps);
	hf_put16(rsp + 6, credits);
	hf_put16(rsp + 8, 0);
	assert_int_equal(F.opens[ch], opens);
	hf_sig_in(handle, 0x15, ident, rsp, sizeof(rsp));
	assert_int_equal(F.opens[ch], opens + 1);
	assert_int_equal(hcihost_chan_state(F.h, ch), HCIHOST_CH_OPEN);
}

void hf_fill(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		b[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
	}
}

/* Send a K-frame (Vol 3, Part A, 3.4.3) of an SDU to the host, in ACL
 * fragments of frag octets; spends one of the fake peer's credits. */
void hf_kframe_in(unsigned ch, uint16_t handle, const uint8_t *d,
		      size_t n, size_t frag)
{
	assert_true(F.peer_credits[ch] > 0);
	F.peer_credits[ch]--;
	hf_pdu_in(handle, HOST_CID, d, n, frag);
}
