/* SPDX-License-Identifier: MIT */
/*
 * hcihost tests against the fake controller of hcifake.h, which checks
 * every exchange byte by byte against Core 5.4 rather than against our
 * own codecs.
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
#include "hcifake.h"

/* ---- tests --------------------------------------------------------- */

static void test_startup(void **state)
{
	struct hcihost_stats st;
	const uint8_t *p;
	uint8_t bd[7] = { 0x00 };
	size_t plen;
	uint64_t mask;

	(void)state;
	hf_fake_new(HCIHOST_CENTRAL);
	assert_int_equal(hcihost_state(F.h), HCIHOST_DOWN);
	hcihost_start(F.h, F.now);
	assert_int_equal(hcihost_state(F.h), HCIHOST_INIT);

	/* One command at a time: the next waits for the answer. */
	hf_expect_cmd(OP_RESET, &plen);
	assert_int_equal(plen, 0);
	hf_no_output();
	hf_cc_status(OP_RESET, 0);

	/* 7.3.1: Disconnection Complete (bit 4), Hardware Error (15), LE
	 * Meta (61). */
	p = hf_expect_cmd(OP_SET_EVENT_MASK, &plen);
	assert_int_equal(plen, 8);
	mask = 0;
	for (unsigned k = 0; k < 8; k++) {
		mask |= (uint64_t)p[k] << (8 * k);
	}
	assert_true(mask & (UINT64_C(1) << 4));
	assert_true(mask & (UINT64_C(1) << 15));
	assert_true(mask & (UINT64_C(1) << 61));
	hf_cc_status(OP_SET_EVENT_MASK, 0);

	/* 7.8.1: LE Connection Complete (bit 0) at least. */
	p = hf_expect_cmd(OP_LE_SET_EVENT_MASK, &plen);
	assert_int_equal(plen, 8);
	assert_true(p[0] & 0x01);
	hf_cc_status(OP_LE_SET_EVENT_MASK, 0);

	hf_expect_cmd(OP_READ_BD_ADDR, NULL);
	memcpy(bd + 1, LOCAL.b, 6);
	hf_cc(OP_READ_BD_ADDR, bd, sizeof(bd));

	/* v2 unknown to this controller, answered by Command Status:
	 * fall back to v1 (7.8.2). */
	hf_expect_cmd(OP_LE_READ_BUFFER_SIZE_V2, NULL);
	hf_cs(OP_LE_READ_BUFFER_SIZE_V2, 0x01);
	hf_expect_cmd(OP_LE_READ_BUFFER_SIZE, NULL);
	assert_int_equal(F.ready, 0);
	/* LE length 0: shared with BR/EDR, ask Read Buffer Size. */
	hf_cc(OP_LE_READ_BUFFER_SIZE, data(0x00, 0x00, 0x00, 0x00), 4);
	hf_expect_cmd(OP_READ_BUFFER_SIZE, NULL);
	assert_int_equal(F.ready, 0);
	assert_int_equal(hcihost_state(F.h), HCIHOST_INIT);
	/* 7.4.5: ACL length 60, SCO 0, 3 ACL packets, 0 SCO. */
	hf_cc(OP_READ_BUFFER_SIZE,
	   data(0x00, 60, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00), 8);
	assert_int_equal(F.ready, 1);
	assert_memory_equal(F.local.b, LOCAL.b, 6);
	assert_int_equal(hcihost_state(F.h), HCIHOST_READY);
	hf_no_output();

	/* Every packet both ways went to the trace. */
	assert_int_equal(F.trace_tx, F.out_wr);
	assert_int_equal(F.trace_rx, F.in_frames);
	hcihost_get_stats(F.h, &st);
	assert_int_equal(st.cmds, 7);
	assert_int_equal(st.evts, 7);

	/* The buffer size came from Read Buffer Size: 60-octet fragments,
	 * three in flight before a completion. */
	hf_central_open(0, &PEER_A, 0x0040, 2048, 500, 10);
	{
		uint8_t sdu[300];

		hf_fill(sdu, sizeof(sdu), 1);
		assert_int_equal(hcihost_send(F.h, 0, sdu, sizeof(sdu), 9),
				 0);
	}
	assert_int_equal(hf_pending(), 3);
	for (unsigned k = 0; k < 3; k++) {
		struct frame *f = hf_pop();

		assert_int_equal(hf_le16(f->b + 3), 60);
	}
	hf_no_output();
	hf_nocp(0x0040, 1);
	assert_int_equal(hf_pending(), 1);
}

static void test_startup_failures(void **state)
{
	(void)state;

	/* A refused Reset takes the host down. */
	hf_fake_new(HCIHOST_CENTRAL);
	hcihost_start(F.h, F.now);
	hf_expect_cmd(OP_RESET, NULL);
	hf_cc_status(OP_RESET, 0x1f);
	assert_int_equal(F.downs, 1);
	assert_int_equal(F.down_err, -EIO);
	assert_int_equal(hcihost_state(F.h), HCIHOST_DOWN);
	F.h = hcihost_free(F.h);

	/* v1 fails too: no buffers, no host. */
	hf_fake_new(HCIHOST_CENTRAL);
	hcihost_start(F.h, F.now);
	hf_expect_cmd(OP_RESET, NULL);
	hf_cc_status(OP_RESET, 0);
	hf_expect_cmd(OP_SET_EVENT_MASK, NULL);
	hf_cc_status(OP_SET_EVENT_MASK, 0);
	hf_expect_cmd(OP_LE_SET_EVENT_MASK, NULL);
	hf_cc_status(OP_LE_SET_EVENT_MASK, 0);
	hf_expect_cmd(OP_READ_BD_ADDR, NULL);
	hf_cc(OP_READ_BD_ADDR, data(0, 1, 2, 3, 4, 5, 6), 7);
	hf_expect_cmd(OP_LE_READ_BUFFER_SIZE_V2, NULL);
	/* Unknown command answered by Command Complete this time. */
	hf_cc_status(OP_LE_READ_BUFFER_SIZE_V2, 0x01);
	hf_expect_cmd(OP_LE_READ_BUFFER_SIZE, NULL);
	hf_cc_status(OP_LE_READ_BUFFER_SIZE, 0x01);
	assert_int_equal(F.downs, 1);
	assert_int_equal(F.ready, 0);
}

static void test_central_connect_two(void **state)
{
	const uint8_t *p;
	size_t plen;

	(void)state;
	hf_fake_new(HCIHOST_CENTRAL);
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
	hf_boot(27, 4);

	/* 7.8.12: scan 0x60/0x30, filter 0, peer type and address, own
	 * public, interval 6..6, latency 0, timeout 200, CE 0..0. */
	p = hf_expect_cmd(OP_LE_CREATE_CONN, &plen);
	assert_int_equal(plen, 25);
	assert_int_equal(hf_le16(p), 0x0060);
	assert_int_equal(hf_le16(p + 2), 0x0030);
	assert_int_equal(p[4], 0);
	assert_int_equal(p[5], HCI_ADDR_PUBLIC);
	assert_memory_equal(p + 6, PEER_A.b, 6);
	assert_int_equal(p[12], 0);
	assert_int_equal(hf_le16(p + 13), 6);
	assert_int_equal(hf_le16(p + 15), 6);
	assert_int_equal(hf_le16(p + 17), 0);
	assert_int_equal(hf_le16(p + 19), 200);
	hf_cs(OP_LE_CREATE_CONN, 0);
	/* One LE Create Connection at a time. */
	hf_no_output();
	assert_int_equal(hcihost_chan_state(F.h, 0), HCIHOST_CH_CONNECTING);
	assert_int_equal(hcihost_chan_state(F.h, 1), HCIHOST_CH_CONNECTING);

	hf_le_conn_complete(0, 0x0040, 0x00, &PEER_A);
	/* The second attempt goes out now, then channel 0's L2CAP
	 * request. */
	p = hf_expect_cmd(OP_LE_CREATE_CONN, &plen);
	assert_int_equal(p[5], HCI_ADDR_RANDOM);
	assert_memory_equal(p + 6, PEER_B.b, 6);
	hf_cs(OP_LE_CREATE_CONN, 0);
	{
		uint8_t ident, rsp[10];

		p = hf_sig_out(0x0040, 0x14, &ident, &plen);
		assert_int_equal(hf_le16(p), PSM);
		/* MPS from the controller: 27 - 4 (l2le.h). */
		assert_int_equal(hf_le16(p + 6), 23);
		assert_int_equal(F.opens[0], 0);
		/* A refusal (4.23: SPSM not supported) drops the link. */
		memset(rsp, 0, sizeof(rsp));
		hf_put16(rsp + 8, 0x0002);
		hf_sig_in(0x0040, 0x15, ident, rsp, sizeof(rsp));
		assert_int_equal(F.opens[0], 0);
		p = hf_expect_cmd(OP_DISCONNECT, &plen);
		assert_int_equal(hf_le16(p), 0x0040);
		assert_int_equal(p[2], 0x13);
		assert_int_equal(hcihost_chan_state(F.h, 0),
				 HCIHOST_CH_CLOSING);
		hf_cs(OP_DISCONNECT, 0);
		hf_disconn_complete(0x0040, 0x16);
		assert_int_equal(F.closes[0], 1);
		assert_int_equal(F.close_err[0], -ECONNREFUSED);
	}

	hf_le_conn_complete(0, 0x0041, 0x00, &PEER_B);
	{
		uint8_t ident, rsp[10];

		hf_sig_out(0x0041, 0x14, &ident, NULL);
		hf_put16(rsp, PEER_CID);
		hf_put16(rsp + 2, 512);
		hf_put16(rsp + 4, 100);
		hf_put16(rsp + 6, 4);
		hf_put16(rsp + 8, 0);
		hf_sig_in(0x0041, 0x15, ident, rsp, sizeof(rsp));
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
	hf_fake_new(HCIHOST_CENTRAL);
	hf_boot(27, 4);
	assert_int_equal(hcihost_open(F.h, 0, &PEER_A, HCI_ADDR_PUBLIC,
				      F.now),
			 0);
	hf_expect_cmd(OP_LE_CREATE_CONN, NULL);
	hf_cs(OP_LE_CREATE_CONN, 0);
	assert_int_equal(hcihost_next_deadline(F.h), F.now + 5000 * MS);

	F.now += 4999 * MS;
	hcihost_tick(F.h, F.now);
	hf_no_output();
	F.now += 1 * MS;
	hcihost_tick(F.h, F.now);
	/* 7.8.13, then LE Connection Complete with Unknown Connection
	 * Identifier. */
	hf_expect_cmd(OP_LE_CREATE_CONN_CANCEL, NULL);
	hf_cc_status(OP_LE_CREATE_CONN_CANCEL, 0);
	assert_int_equal(F.closes[0], 0);
	hf_le_conn_complete(0x02, 0, 0x00, &PEER_A);
	assert_int_equal(F.closes[0], 1);
	assert_int_equal(F.close_err[0], -ETIMEDOUT);
	assert_int_equal(hcihost_chan_state(F.h, 0), HCIHOST_CH_IDLE);
	hf_no_output();

	/* Retried on the next hcihost_open(). A controller error (7.7.65.1
	 * 0x3E) ends this one at once. */
	assert_int_equal(hcihost_open(F.h, 0, &PEER_A, HCI_ADDR_PUBLIC,
				      F.now),
			 0);
	hf_expect_cmd(OP_LE_CREATE_CONN, NULL);
	hf_cs(OP_LE_CREATE_CONN, 0);
	hf_le_conn_complete(0x3e, 0, 0x00, &PEER_A);
	assert_int_equal(F.closes[0], 2);
	assert_int_equal(F.close_err[0], -EHOSTUNREACH);

	/* Closing an attempt cancels it; the cancel failing (nothing left
	 * to cancel) still closes the channel. */
	assert_int_equal(hcihost_open(F.h, 0, &PEER_A, HCI_ADDR_PUBLIC,
				      F.now),
			 0);
	hf_expect_cmd(OP_LE_CREATE_CONN, NULL);
	hf_cs(OP_LE_CREATE_CONN, 0);
	hcihost_close(F.h, 0, F.now);
	hf_expect_cmd(OP_LE_CREATE_CONN_CANCEL, NULL);
	hf_cc_status(OP_LE_CREATE_CONN_CANCEL, 0x0c);
	assert_int_equal(F.closes[0], 3);
	assert_int_equal(F.close_err[0], -ECONNABORTED);
	{
		struct hcihost_stats st;

		hcihost_get_stats(F.h, &st);
		assert_int_equal(st.connect_fails, 3);
	}
}

/* Take the host's credit indications (4.24) off the wire. */
static void take_credits(unsigned ch, uint16_t handle)
{
	while (hf_pending() > 0) {
		uint8_t ident;
		size_t n;
		const uint8_t *p = hf_sig_out(handle, 0x16, &ident, &n);

		assert_int_equal(n, 4);
		assert_int_equal(hf_le16(p), HOST_CID);
		assert_true(hf_le16(p + 2) > 0);
		F.peer_credits[ch] =
			(uint16_t)(F.peer_credits[ch] + hf_le16(p + 2));
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
	hf_fake_new(HCIHOST_CENTRAL);
	hf_boot(27, 4);
	/* Peer MPS 100 > 27-octet ACL buffers: K-frames span ACL
	 * packets. 3 credits: the 300-octet SDU needs 4 K-frames. */
	hf_central_open(0, &PEER_A, 0x0040, 2048, 100, 3);

	hf_fill(sdu, 300, 5);
	assert_int_equal(hcihost_send(F.h, 0, sdu, 300, 0xc0ffee), 0);
	for (unsigned k = 0; k < 3; k++) {
		unsigned frags;

		assert_int_equal(hf_pdu_out(0x0040, got, &n, true, &frags),
				 PEER_CID);
		/* 27-octet fragments: ceil((4 + n) / 27). */
		assert_int_equal(frags, (4 + n + 26) / 27);
		frags_total += frags;
		if (k == 0) {
			/* SDU Length first, then MPS - 2 octets. */
			assert_int_equal(n, 100);
			assert_int_equal(hf_le16(got), 300);
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
	hf_no_output();
	hcihost_get_stats(F.h, &st);
	assert_int_equal(st.tx_stalls, 1);
	assert_int_equal(F.nsent, 0);
	/* 4.24: our (the peer's) CID and 2 credits resume it. */
	{
		uint8_t ind[4];

		hf_put16(ind, PEER_CID);
		hf_put16(ind + 2, 2);
		hf_sig_in(0x0040, 0x16, 7, ind, 4);
	}
	assert_int_equal(hf_pdu_out(0x0040, got, &n, false, NULL), PEER_CID);
	assert_int_equal(n, 2);
	assert_memory_equal(got, sdu + 298, 2);
	hf_no_output();
	/* The last packet completes: the SDU's cookie comes back. */
	assert_int_equal(F.nsent, 0);
	hf_nocp(0x0040, 1);
	assert_int_equal(F.nsent, 1);
	assert_int_equal(F.sent[0], 0xc0ffee);
	assert_int_equal(F.sent_ch[0], 0);
	/* 104 + 104 + 104 octets in 27-octet packets. */
	assert_int_equal(frags_total, 12);

	/* The other way: 700 octets from the peer, K-frames of the host's
	 * MPS (23), each split over two ACL packets (10 + rest). */
	sdu_len = 700;
	hf_fill(sdu, sdu_len, 9);
	off = 0;
	while (off < sdu_len) {
		uint8_t kf[23];
		size_t k;

		if (off == 0) {
			hf_put16(kf, (uint16_t)sdu_len);
			k = 21;
			memcpy(kf + 2, sdu, k);
			hf_kframe_in(0, 0x0040, kf, 23, 10);
		} else {
			k = MIN((size_t)23, sdu_len - off);
			memcpy(kf, sdu + off, k);
			hf_kframe_in(0, 0x0040, kf, k, 10);
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

		hf_kframe_in(0, 0x0040, kf, sizeof(kf), 27);
		hf_kframe_in(0, 0x0040, data(0, 0), 2, 27);
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
	hf_fake_new(HCIHOST_CENTRAL);
	/* A controller with 2 LE buffers. */
	hf_boot(251, 2);
	hf_central_open(0, &PEER_A, 0x0040, 2048, 247, 50);

	for (unsigned k = 0; k < HCIHOST_TX_QUEUE; k++) {
		hf_fill(b, sizeof(b), k);
		assert_int_equal(hcihost_send(F.h, 0, b, 10 + k, 100 + k), 0);
	}
	assert_int_equal(hcihost_tx_space(F.h, 0), 2);
	/* Two packets in the controller, the rest waits for Number Of
	 * Completed Packets (7.7.19). */
	assert_int_equal(hf_pending(), 2);
	assert_int_equal(hcihost_send(F.h, 0, b, 1, 1), 0);
	assert_int_equal(hcihost_send(F.h, 0, b, 1, 2), 0);
	assert_int_equal(hcihost_send(F.h, 0, b, 1, 3), -ENOBUFS);
	hcihost_get_stats(F.h, &st);
	assert_int_equal(st.tx_queue_full, 1);
	assert_int_equal(hf_pending(), 2);
	hf_pop();
	hf_pop();
	assert_int_equal(F.nsent, 0);

	/* One completes: its cookie, and one more packet goes. */
	hf_nocp(0x0040, 1);
	assert_int_equal(F.nsent, 1);
	assert_int_equal(F.sent[0], 100);
	assert_int_equal(hf_pending(), 1);
	hf_pop();
	/* Two at once, in order. */
	hf_nocp(0x0040, 2);
	assert_int_equal(F.nsent, 3);
	assert_int_equal(F.sent[1], 101);
	assert_int_equal(F.sent[2], 102);
	assert_int_equal(hf_pending(), 2);
	hf_pop();
	hf_pop();
	hf_nocp(0x0040, 2);
	assert_int_equal(hf_pending(), 1);
	hf_pop();
	hf_nocp(0x0040, 1);
	assert_int_equal(F.nsent, 6);
	assert_int_equal(F.sent[3], 103);
	assert_int_equal(F.sent[4], 1);
	assert_int_equal(F.sent[5], 2);
	hf_no_output();

	/* More completions than packets: counted, nothing reported. */
	hf_nocp(0x0040, 3);
	hcihost_get_stats(F.h, &st);
	assert_int_equal(st.acl_over_completed, 3);
	assert_int_equal(F.nsent, 6);
	assert_int_equal(st.acl_tx, 6 + 1); /* + the L2CAP request */
}

static void test_disconnect_reopen(void **state)
{
	uint8_t b[600];

	(void)state;
	hf_fake_new(HCIHOST_CENTRAL);
	hf_boot(251, 2);
	hf_central_open(0, &PEER_A, 0x0040, 2048, 247, 50);
	hf_central_open(1, &PEER_B, 0x0041, 2048, 247, 50);

	/* Channel 0 fills both controller buffers (a 600-octet SDU is 3
	 * ACL packets of 251); channel 1's SDU must wait. */
	hf_fill(b, sizeof(b), 3);
	assert_int_equal(hcihost_send(F.h, 0, b, 600, 1), 0);
	assert_int_equal(hcihost_send(F.h, 1, b, 20, 2), 0);
	assert_int_equal(hf_pending(), 2);
	hf_pop();
	hf_pop();

	/* The peer ends channel 0 (reason 0x13): both buffers are free
	 * again (Vol 4, Part E, 4.3) and channel 1's SDU goes out with no
	 * completion; channel 0's cookie is never reported. */
	hf_disconn_complete(0x0040, 0x13);
	assert_int_equal(F.closes[0], 1);
	assert_int_equal(F.close_err[0], -ECONNRESET);
	assert_int_equal(hcihost_chan_state(F.h, 0), HCIHOST_CH_IDLE);
	{
		size_t n;
		uint8_t got[100];

		assert_int_equal(hf_pdu_out(0x0041, got, &n, false, NULL),
				 PEER_CID);
		assert_int_equal(n, 22);
		assert_memory_equal(got + 2, b, 20);
	}
	hf_no_output();
	hf_nocp(0x0041, 1);
	assert_int_equal(F.nsent, 1);
	assert_int_equal(F.sent[0], 2);
	/* A completion for the dead handle is not ours any more. */
	hf_nocp(0x0040, 1);
	assert_int_equal(F.nsent, 1);
	/* Data for it is dropped and counted. */
	hf_acl_in(0x0040, 0x2, data(2, 0, 0x40, 0, 1, 2), 6);
	{
		struct hcihost_stats st;

		hcihost_get_stats(F.h, &st);
		assert_int_equal(st.acl_errors, 1);
		assert_int_equal(st.disconnects, 1);
	}

	/* Reopen: a new link and channel, on a new handle. */
	hf_central_open(0, &PEER_A, 0x0042, 2048, 247, 50);
	assert_int_equal(hcihost_send(F.h, 0, b, 30, 3), 0);
	{
		size_t n;
		uint8_t got[100];

		assert_int_equal(hf_pdu_out(0x0042, got, &n, true, NULL),
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
		const uint8_t *p = hf_expect_cmd(OP_DISCONNECT, &plen);

		assert_int_equal(hf_le16(p), 0x0041);
	}
	assert_int_equal(hcihost_chan_state(F.h, 1), HCIHOST_CH_CLOSING);
	assert_int_equal(hcihost_send(F.h, 1, b, 1, 0), -ENOTCONN);
	hf_cs(OP_DISCONNECT, 0);
	assert_int_equal(F.closes[1], 0);
	F.reopen_on_close = true;
	hf_disconn_complete(0x0041, 0x16);
	assert_int_equal(F.closes[1], 1);
	assert_int_equal(F.close_err[1], -ECONNABORTED);
	{
		size_t plen;
		const uint8_t *p = hf_expect_cmd(OP_LE_CREATE_CONN, &plen);

		assert_memory_equal(p + 6, PEER_B.b, 6);
	}
	assert_int_equal(hcihost_chan_state(F.h, 1), HCIHOST_CH_CONNECTING);
}

#define T(name, fn)                                                           \
	{                                                                     \
		"hcihost/" name, fn, NULL, hf_teardown, NULL                     \
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
	};

	return cmocka_run_group_tests_name("hcihost", tests, NULL, NULL);
}
