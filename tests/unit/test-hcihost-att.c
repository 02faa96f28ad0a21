/* SPDX-License-Identifier: MIT */
/*
 * hcihost's ATT bearers (hcihost_set_att(), hcihost_att.c) against the
 * fake controller of hcifake.h: with ATT the host reports link_up instead
 * of asking for the L2CAP channel, carries ATT PDUs on the fixed channel
 * 0x0004 both ways (Core 5.4, Vol 3, Part A, 2.1), and opens the L2CAP
 * channel on the PSM it is told later (4.22); without ATT, nothing on
 * CID 4 reaches anybody. Also hcihost_flush(), ASHA's other need: what
 * waits is dropped, an SDU that started goes out whole.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/hcihost.h"
#include "hcifake.h"

#define ATT 0x0004
#define H0 0x0040

/* Channel 0 with ATT, connected on H0: link_up, and nothing else sent. */
static void att_link_up(void)
{
	size_t plen;

	hf_fake_new(HCIHOST_CENTRAL);
	assert_int_equal(hcihost_set_att(F.h, 0, true), 0);
	hf_boot(251, 4);
	assert_int_equal(hcihost_open(F.h, 0, &PEER_A, HCI_ADDR_PUBLIC, F.now),
			 0);
	hf_expect_cmd(OP_LE_CREATE_CONN, &plen);
	hf_cs(OP_LE_CREATE_CONN, 0);
	assert_int_equal(F.link_ups[0], 0);
	hf_le_conn_complete(0, H0, 0x00, &PEER_A);
	assert_int_equal(F.link_ups[0], 1);
	assert_int_equal(hcihost_chan_state(F.h, 0), HCIHOST_CH_L2CAP);
	/* No L2CAP request: the PSM is not known yet. */
	hf_no_output();
}

static void test_att_both_ways(void **state)
{
	static const uint8_t mtu_req[] = { 0x02, 0x40, 0x00 };
	static const uint8_t mtu_rsp[] = { 0x03, 0x17, 0x00 };
	struct hcihost_stats st;
	uint8_t buf[64];
	size_t n;

	(void)state;
	att_link_up();
	assert_int_equal(hcihost_att_send(F.h, 0, mtu_req, sizeof(mtu_req)),
			 0);
	assert_int_equal(hf_pdu_out(H0, buf, &n, true, NULL), ATT);
	assert_int_equal(n, sizeof(mtu_req));
	assert_memory_equal(buf, mtu_req, n);

	F.now += 1000000;
	hf_pdu_in(H0, ATT, mtu_rsp, sizeof(mtu_rsp), 27);
	assert_int_equal(F.atts[0], 1);
	assert_int_equal(F.att_len[0], sizeof(mtu_rsp));
	assert_memory_equal(F.att[0], mtu_rsp, sizeof(mtu_rsp));

	/* In two ACL fragments, reassembled first. */
	hf_pdu_in(H0, ATT, mtu_req, sizeof(mtu_req), 5);
	assert_int_equal(F.atts[0], 2);
	assert_memory_equal(F.att[0], mtu_req, sizeof(mtu_req));

	hcihost_get_stats(F.h, &st);
	assert_int_equal(st.att_tx, 1);
	assert_int_equal(st.att_rx, 2);
	assert_int_equal(F.opens[0], 0);
	assert_int_equal(F.closes[0], 0);
}

static void test_att_then_l2cap(void **state)
{
	static const uint8_t write_cmd[] = { 0x52, 0x10, 0x00, 0xf0 };
	static const uint8_t notif[] = { 0x1b, 0x0c, 0x00, 0x00 };
	const uint8_t *p;
	uint8_t ident, rsp[10], buf[64];
	size_t plen, n;
	unsigned k;

	(void)state;
	att_link_up();
	assert_int_equal(hcihost_l2_open(F.h, 0, 0, F.now), -EINVAL);
	assert_int_equal(hcihost_l2_open(F.h, 0, 0x100, F.now), -EINVAL);
	assert_int_equal(hcihost_l2_open(F.h, 0, 0x0081, F.now), 0);
	assert_int_equal(hcihost_l2_open(F.h, 0, 0x0081, F.now), -EALREADY);

	/* 4.22 on the PSM given, not the configured one. */
	p = hf_sig_out(H0, 0x14, &ident, &plen);
	assert_int_equal(plen, 10);
	assert_int_equal(hf_le16(p), 0x0081);
	assert_int_not_equal(hf_le16(p), PSM);
	hf_put16(rsp, PEER_CID);
	hf_put16(rsp + 2, 167);
	hf_put16(rsp + 4, 167);
	hf_put16(rsp + 6, 8);
	hf_put16(rsp + 8, 0);
	hf_sig_in(H0, 0x15, ident, rsp, sizeof(rsp));
	assert_int_equal(F.opens[0], 1);
	assert_int_equal(hcihost_chan_state(F.h, 0), HCIHOST_CH_OPEN);

	/* ATT keeps flowing beside the K-frames, and goes first: with the
	 * controller's 4 buffers taken by SDUs, a queued SDU and then an
	 * ATT PDU wait; the first buffer freed carries the ATT PDU. */
	memset(buf, 0x5a, sizeof(buf));
	for (k = 0; k < 4; k++) {
		assert_int_equal(hcihost_send(F.h, 0, buf, 20, k), 0);
		assert_int_equal(hf_pdu_out(H0, buf, &n, false, NULL),
				 PEER_CID);
	}
	assert_int_equal(hcihost_send(F.h, 0, buf, 20, 4), 0);
	assert_int_equal(hcihost_att_send(F.h, 0, write_cmd,
					  sizeof(write_cmd)),
			 0);
	hf_no_output();
	hf_nocp(H0, 1);
	assert_int_equal(hf_pdu_out(H0, buf, &n, false, NULL), ATT);
	assert_memory_equal(buf, write_cmd, sizeof(write_cmd));
	hf_nocp(H0, 1);
	assert_int_equal(hf_pdu_out(H0, buf, &n, false, NULL), PEER_CID);
	hf_pdu_in(H0, ATT, notif, sizeof(notif), 27);
	assert_int_equal(F.atts[0], 1);
	assert_memory_equal(F.att[0], notif, sizeof(notif));
}

static void test_att_refusals(void **state)
{
	static const uint8_t pdu[] = { 0x0a, 0x03, 0x00 };
	uint8_t big[HCIHOST_ATT_MTU + 1] = { 0x1b, 0x03, 0x00 };
	struct hcihost_stats st;
	unsigned k;

	(void)state;
	hf_fake_new(HCIHOST_PERIPHERAL);
	assert_int_equal(hcihost_set_att(F.h, 0, true), -EOPNOTSUPP);
	hf_teardown(NULL);

	hf_fake_new(HCIHOST_CENTRAL);
	assert_int_equal(hcihost_set_att(F.h, HCIHOST_MAX_CHANS, true),
			 -EINVAL);
	assert_int_equal(hcihost_set_att(F.h, 0, true), 0);
	/* Not before link_up, not on a channel without ATT. */
	assert_int_equal(hcihost_att_send(F.h, 0, pdu, sizeof(pdu)),
			 -ENOTCONN);
	assert_int_equal(hcihost_l2_open(F.h, 0, 0x81, F.now), -ENOTCONN);
	assert_int_equal(hcihost_l2_open(F.h, 1, 0x81, F.now), -EPERM);
	hf_teardown(NULL);

	att_link_up();
	assert_int_equal(hcihost_set_att(F.h, 0, false), -EBUSY);
	assert_int_equal(hcihost_att_send(F.h, 0, pdu, 0), -EMSGSIZE);
	assert_int_equal(hcihost_att_send(F.h, 0, big, sizeof(big)),
			 -EMSGSIZE);
	/* The queue is bounded and its overflow counted (no ACL buffer
	 * frees while nothing completes: 4 go out, 4 wait). */
	for (k = 0; k < 64; k++) {
		if (hcihost_att_send(F.h, 0, pdu, sizeof(pdu)) == -ENOBUFS) {
			break;
		}
	}
	assert_true(k < 64);
	hcihost_get_stats(F.h, &st);
	assert_int_equal(st.att_queue_full, 1);

	/* A PDU over the ATT_MTU we offered is dropped, counted. */
	hf_pdu_in(H0, ATT, big, sizeof(big), 100);
	assert_int_equal(F.atts[0], 0);
	hcihost_get_stats(F.h, &st);
	assert_int_equal(st.att_oversize, 1);
}

/* Without ATT, CID 4 is nobody's; a link still opens its channel. */
static void test_no_att(void **state)
{
	static const uint8_t pdu[] = { 0x0a, 0x03, 0x00 };
	struct hcihost_stats st;

	(void)state;
	hf_fake_new(HCIHOST_CENTRAL);
	hf_boot(251, 4);
	hf_central_open(0, &PEER_A, H0, 100, 100, 4);
	assert_int_equal(F.link_ups[0], 0);
	hf_pdu_in(H0, ATT, pdu, sizeof(pdu), 27);
	assert_int_equal(F.atts[0], 0);
	assert_int_equal(hcihost_att_send(F.h, 0, pdu, sizeof(pdu)),
			 -ENOTCONN);
	assert_int_equal(hcihost_l2_open(F.h, 0, 0x81, F.now), -EPERM);
	hcihost_get_stats(F.h, &st);
	assert_int_equal(st.l2cap_unknown_cid, 1);
}

/*
 * No L2CAP timer while the GATT client works (it has its own); once the
 * PSM is asked for, the set-up has connect_timeout_ns. A link that drops
 * and comes back reports link_up again with the PSM forgotten.
 */
static void test_att_timers_and_relink(void **state)
{
	size_t plen;

	(void)state;
	att_link_up();
	F.now += 10 * F.cfg.connect_timeout_ns;
	hcihost_tick(F.h, F.now);
	hf_no_output();
	assert_int_equal(hcihost_chan_state(F.h, 0), HCIHOST_CH_L2CAP);

	assert_int_equal(hcihost_l2_open(F.h, 0, 0x0081, F.now), 0);
	hf_sig_out(H0, 0x14, NULL, NULL);
	F.now += F.cfg.connect_timeout_ns;
	hcihost_tick(F.h, F.now);
	hf_expect_cmd(OP_DISCONNECT, &plen);
	hf_cs(OP_DISCONNECT, 0);
	hf_disconn_complete(H0, 0x16);
	assert_int_equal(F.closes[0], 1);
	assert_int_equal(F.close_err[0], -ETIMEDOUT);

	assert_int_equal(hcihost_open(F.h, 0, &PEER_A, HCI_ADDR_PUBLIC, F.now),
			 0);
	hf_expect_cmd(OP_LE_CREATE_CONN, &plen);
	hf_cs(OP_LE_CREATE_CONN, 0);
	hf_le_conn_complete(0, H0, 0x00, &PEER_A);
	assert_int_equal(F.link_ups[0], 2);
	hf_no_output();
	assert_int_equal(hcihost_l2_open(F.h, 0, 0x0082, F.now), 0);
	assert_int_equal(hf_le16(hf_sig_out(H0, 0x14, NULL, NULL)), 0x0082);
}

static void test_flush(void **state)
{
	uint8_t sdu[40], buf[64];
	struct hcihost_stats st;
	unsigned n = 99, q, cr;
	size_t len;

	(void)state;
	hf_fake_new(HCIHOST_CENTRAL);
	hf_boot(251, 4);
	/* The peer grants no credit: the first SDU is lent to L2CAP and
	 * waits there, the others in the queue. */
	hf_central_open(0, &PEER_A, H0, 100, 100, 0);
	memset(sdu, 0x11, sizeof(sdu));
	for (unsigned k = 0; k < 3; k++) {
		assert_int_equal(hcihost_send(F.h, 0, sdu, sizeof(sdu), k), 0);
	}
	hf_no_output();
	/* What ASHA's balancing reads: 3 SDUs held, no credit. */
	hcihost_tx_state(F.h, 0, &q, &cr);
	assert_int_equal(q, 3);
	assert_int_equal(cr, 0);
	assert_int_equal(hcihost_flush(F.h, HCIHOST_MAX_CHANS, &n), -EINVAL);
	assert_int_equal(hcihost_flush(F.h, 0, &n), 0);
	assert_int_equal(n, 2);
	hcihost_get_stats(F.h, &st);
	assert_int_equal(st.sdus_flushed, 2);
	assert_int_equal(hcihost_tx_space(F.h, 0), HCIHOST_TX_QUEUE - 1);
	/* Credits come: the started SDU goes out whole, and nothing else. */
	{
		uint8_t ind[4];

		hf_put16(ind, PEER_CID);
		hf_put16(ind + 2, 5);
		hf_sig_in(H0, 0x16, 9, ind, sizeof(ind));
	}
	assert_int_equal(hf_pdu_out(H0, buf, &len, true, NULL), PEER_CID);
	assert_int_equal(len, 2 + sizeof(sdu));
	hf_no_output();
	hcihost_tx_state(F.h, 0, &q, &cr);
	assert_int_equal(q, 0);
	assert_int_equal(cr, 4);
	assert_int_equal(hcihost_flush(F.h, 0, &n), 0);
	assert_int_equal(n, 0);
}

int main(void)
{
#define T(name, fn) { "hcihost-att/" name, fn, NULL, hf_teardown, NULL }
	const struct CMUnitTest tests[] = {
		T("both ways", test_att_both_ways),
		T("then l2cap", test_att_then_l2cap),
		T("refusals", test_att_refusals),
		T("no att", test_no_att),
		T("timers and relink", test_att_timers_and_relink),
		T("flush", test_flush),
	};
#undef T
	return cmocka_run_group_tests_name("hcihost-att", tests, NULL, NULL);
}
