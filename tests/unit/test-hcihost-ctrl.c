/* SPDX-License-Identifier: MIT */
/*
 * hcihost against the fake controller of hcifake.h (every exchange
 * checked byte by byte against Core 5.4): the controller's failures
 * (command timeouts, Hardware Error, malformed input), the peripheral
 * role, connection parameter updates, restarts and the configuration's
 * checks. test-hcihost.c has start-up, connections and data.
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

static void test_command_timeout(void **state)
{
	struct hcihost_stats st;

	(void)state;
	hf_fake_new(HCIHOST_CENTRAL);
	hcihost_start(F.h, F.now);
	hf_expect_cmd(OP_RESET, NULL);
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
	hf_cc_status(OP_RESET, 0);
	hf_no_output();
	hf_boot(27, 2);

	/* A controller that answers with Num_HCI_Command_Packets 0 and
	 * never raises it times out too. */
	assert_int_equal(hcihost_open(F.h, 0, &PEER_A, HCI_ADDR_PUBLIC,
				      F.now),
			 0);
	hf_expect_cmd(OP_LE_CREATE_CONN, NULL);
	hf_evt(0x0f, data(0x00, 0x00, 0x0d, 0x20), 4);
	assert_int_equal(hcihost_open(F.h, 1, &PEER_B, HCI_ADDR_PUBLIC,
				      F.now),
			 0);
	hf_le_conn_complete(0, 0x0040, 0x00, &PEER_A);
	/* The next Create Connection is queued, not written. */
	while (hf_pending() > 0) {
		assert_int_equal(hf_pop()->b[0], 0x02);
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
	hf_fake_new(HCIHOST_CENTRAL);
	hf_boot(27, 2);
	hf_central_open(0, &PEER_A, 0x0040, 2048, 100, 5);
	/* 7.7.16 */
	hf_evt(0x10, data(0x42), 1);
	assert_int_equal(F.downs, 1);
	assert_int_equal(F.down_err, -EIO);
	assert_int_equal(F.closes[0], 1);
	assert_int_equal(F.close_err[0], -EIO);
	assert_int_equal(hcihost_state(F.h), HCIHOST_DOWN);
	assert_int_equal(hcihost_chan_state(F.h, 0), HCIHOST_CH_IDLE);
	/* Nothing goes out while down. */
	hf_no_output();
	assert_int_equal(hcihost_send(F.h, 0, data(1), 1, 0), -ENOTCONN);
	/* A write failure takes it down just the same. */
	hf_boot(27, 2);
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
	hf_fake_new(HCIHOST_CENTRAL);
	hf_boot(27, 4);
	hf_central_open(0, &PEER_A, 0x0040, 2048, 100, 5);

	/* Garbage before an event: the framer resynchronises. */
	hf_feed(data(0x09, 0x77, 0x04, 0x13, 0x05, 0x01, 0x40, 0x00, 0x00, 0x00),
	     10);
	/* Disconnection Complete one octet short (7.7.5). */
	hf_evt(0x05, data(0x00, 0x40, 0x00), 3);
	/* An event this host does not handle (Encryption Change). */
	hf_evt(0x08, data(0x00, 0x40, 0x00, 0x01), 4);
	/* ACL for a handle nobody has. */
	hf_acl_in(0x0123, 0x2, data(2, 0, 0x40, 0, 1, 2), 6);
	/* A signaling command with an unknown code: Command Reject, "not
	 * understood", with its Identifier (Vol 3, Part A, 4.1). */
	hf_sig_in(0x0040, 0x3f, 0x21, data(1, 2), 2);
	p = hf_sig_out(0x0040, 0x01, &ident, &n);
	assert_int_equal(ident, 0x21);
	assert_int_equal(n, 2);
	assert_int_equal(hf_le16(p), 0x0000);
	/* A PDU for an unknown CID (ATT). */
	hf_pdu_in(0x0040, 0x0004, data(0x02, 0x17, 0x00), 3, 27);

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

		hf_kframe_in(0, 0x0040, kf, sizeof(kf), 27);
	}
	hcihost_get_stats(F.h, &st);
	assert_int_equal(st.l2cap_errors, 2);
	p = hf_expect_cmd(OP_DISCONNECT, &n);
	assert_int_equal(hf_le16(p), 0x0040);
	hf_cs(OP_DISCONNECT, 0);
	hf_disconn_complete(0x0040, 0x16);
	assert_int_equal(F.close_err[0], -EPROTO);
}

static void test_peripheral(void **state)
{
	const uint8_t *p;
	uint8_t req[10], ident;
	size_t n;

	(void)state;
	hf_fake_new(HCIHOST_PERIPHERAL);
	F.cfg.rx_credits = 6;
	F.h = hcihost_free(F.h);
	assert_int_equal(hcihost_new(&F.cfg, &hf_ops, NULL, &F.h), 0);
	hf_boot(251, 8);
	hf_no_output();

	assert_int_equal(hcihost_open(F.h, 1, NULL, HCI_ADDR_PUBLIC, F.now),
			 0);
	/* 7.8.5: interval 0x30..0x30, ADV_IND, public, channels 37-39. */
	p = hf_expect_cmd(OP_LE_SET_ADV_PARAMS, &n);
	assert_int_equal(n, 15);
	assert_int_equal(hf_le16(p), 0x30);
	assert_int_equal(hf_le16(p + 2), 0x30);
	assert_int_equal(p[4], 0x00);
	assert_int_equal(p[5], 0x00);
	assert_int_equal(p[13], 0x07);
	hf_cc_status(OP_LE_SET_ADV_PARAMS, 0);
	/* 7.8.7: Flags, then the Complete Local Name of channel 1. */
	p = hf_expect_cmd(OP_LE_SET_ADV_DATA, &n);
	assert_int_equal(n, 32);
	assert_int_equal(p[0], 11);
	assert_memory_equal(p + 1,
			    data(2, 0x01, 0x06, 7, 0x09, 't', 't', 'w', 's',
				 '-', 'R'),
			    11);
	hf_cc_status(OP_LE_SET_ADV_DATA, 0);
	p = hf_expect_cmd(OP_LE_SET_ADV_ENABLE, &n);
	assert_int_equal(p[0], 1);
	hf_cc_status(OP_LE_SET_ADV_ENABLE, 0);
	assert_int_equal(hcihost_chan_state(F.h, 1), HCIHOST_CH_CONNECTING);
	/* Channel 0 listens too; advertising is already on. */
	assert_int_equal(hcihost_open(F.h, 0, NULL, HCI_ADDR_PUBLIC, F.now),
			 0);
	hf_no_output();

	/* A central connects: channel 1, the one advertised. */
	hf_le_conn_complete(0, 0x0007, 0x01, &PEER_A);
	assert_int_equal(hcihost_chan_state(F.h, 1), HCIHOST_CH_L2CAP);
	/* Advertising stopped with the connection (7.8.9): it comes back
	 * for channel 0, with its name. */
	hf_expect_cmd(OP_LE_SET_ADV_PARAMS, NULL);
	hf_cc_status(OP_LE_SET_ADV_PARAMS, 0);
	p = hf_expect_cmd(OP_LE_SET_ADV_DATA, &n);
	assert_memory_equal(p + 6, "ttws-L", 6);
	hf_cc_status(OP_LE_SET_ADV_DATA, 0);
	hf_expect_cmd(OP_LE_SET_ADV_ENABLE, NULL);
	hf_cc_status(OP_LE_SET_ADV_ENABLE, 0);

	/* A request for another PSM is refused (4.23: 0x0002). */
	hf_put16(req, 0x0081);
	hf_put16(req + 2, 0x0060);
	hf_put16(req + 4, 300);
	hf_put16(req + 6, 100);
	hf_put16(req + 8, 4);
	hf_sig_in(0x0007, 0x14, 3, req, sizeof(req));
	p = hf_sig_out(0x0007, 0x15, &ident, &n);
	assert_int_equal(ident, 3);
	assert_int_equal(hf_le16(p + 8), 0x0002);
	assert_int_equal(F.opens[1], 0);

	/* The central's request on our PSM: accepted, from our CID, with
	 * our MTU, MPS (251 - 4) and credits. */
	hf_put16(req, PSM);
	hf_put16(req + 2, PEER_CID);
	hf_put16(req + 4, 300);
	hf_put16(req + 6, 100);
	hf_put16(req + 8, 4);
	hf_sig_in(0x0007, 0x14, 4, req, sizeof(req));
	p = hf_sig_out(0x0007, 0x15, &ident, &n);
	assert_int_equal(ident, 4);
	assert_int_equal(n, 10);
	assert_int_equal(hf_le16(p), HOST_CID);
	assert_int_equal(hf_le16(p + 2), 2048);
	assert_int_equal(hf_le16(p + 4), 247);
	assert_int_equal(hf_le16(p + 6), 6);
	assert_int_equal(hf_le16(p + 8), 0);
	assert_int_equal(F.opens[1], 1);
	assert_int_equal(hcihost_chan_state(F.h, 1), HCIHOST_CH_OPEN);

	/* Data both ways. */
	F.peer_credits[1] = 6;
	hf_kframe_in(1, 0x0007, data(3, 0, 'a', 'b', 'c'), 5, 27);
	assert_int_equal(F.nmsg, 1);
	assert_int_equal(F.msg_ch[0], 1);
	assert_memory_equal(F.msg[0], "abc", 3);
	assert_int_equal(hcihost_send(F.h, 1, data('x', 'y'), 2, 5), 0);
	{
		uint8_t got[64];

		assert_int_equal(hf_pdu_out(0x0007, got, &n, true, NULL),
				 PEER_CID);
		assert_int_equal(n, 4);
		assert_memory_equal(got, data(2, 0, 'x', 'y'), 4);
	}
	assert_int_equal(F.nsent, 1);
	assert_int_equal(F.sent[0], 5);

	/* The central goes: channel 1 closed; channel 0 still listens and
	 * advertising is still on for it. Reopening channel 1 needs no new
	 * advertising either. */
	hf_disconn_complete(0x0007, 0x13);
	assert_int_equal(F.closes[1], 1);
	assert_int_equal(F.close_err[1], -ECONNRESET);
	hf_no_output();
	/* Channel 0 gets the next central. */
	hf_le_conn_complete(0, 0x0008, 0x01, &PEER_B);
	assert_int_equal(hcihost_chan_state(F.h, 0), HCIHOST_CH_L2CAP);
	hf_no_output();
	/* Channel 1 listens again: advertising again, with its name. */
	assert_int_equal(hcihost_open(F.h, 1, NULL, HCI_ADDR_PUBLIC, F.now),
			 0);
	hf_expect_cmd(OP_LE_SET_ADV_PARAMS, NULL);
	hf_cc_status(OP_LE_SET_ADV_PARAMS, 0);
	p = hf_expect_cmd(OP_LE_SET_ADV_DATA, &n);
	assert_memory_equal(p + 6, "ttws-R", 6);
	hf_cc_status(OP_LE_SET_ADV_DATA, 0);
	hf_expect_cmd(OP_LE_SET_ADV_ENABLE, NULL);
	hf_cc_status(OP_LE_SET_ADV_ENABLE, 0);
	/* Nobody listening any more: advertising off (7.8.9). */
	hcihost_close(F.h, 1, F.now);
	assert_int_equal(F.closes[1], 2);
	assert_int_equal(F.close_err[1], -ECONNABORTED);
	p = hf_expect_cmd(OP_LE_SET_ADV_ENABLE, NULL);
	assert_int_equal(p[0], 0);
	hf_cc_status(OP_LE_SET_ADV_ENABLE, 0);

	/* No L2CAP request within the connect timeout: the link goes. */
	F.now += 5000 * MS;
	hcihost_tick(F.h, F.now);
	p = hf_expect_cmd(OP_DISCONNECT, &n);
	assert_int_equal(hf_le16(p), 0x0008);
	hf_cs(OP_DISCONNECT, 0);
	hf_disconn_complete(0x0008, 0x16);
	assert_int_equal(F.closes[0], 1);
	assert_int_equal(F.close_err[0], -ETIMEDOUT);
	/* A connection nobody listens for is refused. */
	hf_le_conn_complete(0, 0x0009, 0x01, &PEER_A);
	p = hf_expect_cmd(OP_DISCONNECT, &n);
	assert_int_equal(hf_le16(p), 0x0009);
}

static void test_remote_param_request(void **state)
{
	const uint8_t *p;
	size_t n;

	(void)state;
	hf_fake_new(HCIHOST_CENTRAL);
	hf_boot(27, 2);
	hf_central_open(0, &PEER_A, 0x0040, 2048, 100, 5);
	/* 7.7.65.6: handle, interval 24..40, latency 4, timeout 500. */
	hf_evt(0x3e,
	    data(0x06, 0x40, 0x00, 24, 0, 40, 0, 4, 0, 0xf4, 0x01), 11);
	/* 7.8.31: accepted as asked, CE lengths 0. */
	p = hf_expect_cmd(0x2020, &n);
	assert_int_equal(n, 14);
	assert_int_equal(hf_le16(p), 0x0040);
	assert_int_equal(hf_le16(p + 2), 24);
	assert_int_equal(hf_le16(p + 4), 40);
	assert_int_equal(hf_le16(p + 6), 4);
	assert_int_equal(hf_le16(p + 8), 500);
	hf_cc(0x2020, data(0x00, 0x40, 0x00), 3);
	/* Impossible parameters (timeout too short for the interval) get
	 * the negative reply (7.8.32), Unacceptable Connection Parameters. */
	hf_evt(0x3e,
	    data(0x06, 0x40, 0x00, 24, 0, 40, 0, 4, 0, 0x0a, 0x00), 11);
	p = hf_expect_cmd(0x2021, &n);
	assert_int_equal(n, 3);
	assert_int_equal(hf_le16(p), 0x0040);
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
	hf_fake_new(HCIHOST_CENTRAL);
	hf_boot(27, 2);
	hf_central_open(0, &PEER_A, 0x0040, 2048, 100, 5);
	/* Subevent, status, handle, interval 12 (15 ms), latency, timeout. */
	hf_evt(0x3e, data(0x03, 0x00, 0x40, 0x00, 12, 0, 0, 0, 0xf4, 0x01), 10);
	assert_int_equal(F.intervals[0], 1);
	assert_int_equal(F.interval_us[0], 15000);
	/* Failed, out of range (5 < 6, 0x0C81 > 0x0C80), another link. */
	hf_evt(0x3e, data(0x03, 0x3b, 0x40, 0x00, 24, 0, 0, 0, 0xf4, 0x01), 10);
	hf_evt(0x3e, data(0x03, 0x00, 0x40, 0x00, 5, 0, 0, 0, 0xf4, 0x01), 10);
	hf_evt(0x3e, data(0x03, 0x00, 0x40, 0x00, 0x81, 0x0c, 0, 0, 0xf4, 0x01),
	    10);
	hf_evt(0x3e, data(0x03, 0x00, 0x41, 0x00, 24, 0, 0, 0, 0xf4, 0x01), 10);
	assert_int_equal(F.intervals[0], 1);
	assert_int_equal(F.intervals[1], 0);
	assert_int_equal(F.interval_us[0], 15000);
}

static void test_restart(void **state)
{
	const uint8_t *p;
	size_t n;

	(void)state;
	hf_fake_new(HCIHOST_CENTRAL);
	hf_boot(27, 2);
	hf_central_open(0, &PEER_A, 0x0040, 2048, 100, 5);
	assert_int_equal(hcihost_open(F.h, 1, &PEER_B, HCI_ADDR_PUBLIC,
				      F.now),
			 0);
	hf_expect_cmd(OP_LE_CREATE_CONN, NULL);
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
	assert_int_equal(hf_pending(), 1);
	hf_expect_cmd(OP_RESET, NULL);
	{
		unsigned ready = F.ready;

		hf_cc_status(OP_RESET, 0);
		hf_expect_cmd(OP_SET_EVENT_MASK, NULL);
		hf_cc_status(OP_SET_EVENT_MASK, 0);
		hf_expect_cmd(OP_LE_SET_EVENT_MASK, NULL);
		hf_cc_status(OP_LE_SET_EVENT_MASK, 0);
		hf_expect_cmd(OP_READ_BD_ADDR, NULL);
		hf_cc(OP_READ_BD_ADDR, data(0, 1, 2, 3, 4, 5, 6), 7);
		hf_expect_cmd(OP_LE_READ_BUFFER_SIZE_V2, NULL);
		hf_cc(OP_LE_READ_BUFFER_SIZE_V2, data(0, 27, 0, 2, 0, 0, 0), 7);
		assert_int_equal(F.ready, ready + 1);
	}
	p = hf_expect_cmd(OP_LE_CREATE_CONN, &n);
	assert_memory_equal(p + 6, PEER_B.b, 6);
	hf_no_output();
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
	assert_int_equal(hcihost_new(&cfg, &hf_ops, NULL, &h), -EINVAL);
	hcihost_config_default(&cfg);
	cfg.supervision_timeout = 1; /* shorter than the interval allows */
	assert_int_equal(hcihost_new(&cfg, &hf_ops, NULL, &h), -EINVAL);
	hcihost_config_default(&cfg);
	cfg.psm = 0;
	assert_int_equal(hcihost_new(&cfg, &hf_ops, NULL, &h), -EINVAL);
	hcihost_config_default(&cfg);
	cfg.mps = 22;
	assert_int_equal(hcihost_new(&cfg, &hf_ops, NULL, &h), -EINVAL);
	assert_null(h);
	assert_null(hcihost_free(NULL));

	/* A configured name is advertised as is, for every channel. */
	hcihost_config_default(&F.cfg);
	F.cfg.role = HCIHOST_PERIPHERAL;
	strcpy(F.cfg.name, "left-bud");
	F.now = 1;
	assert_int_equal(hcihost_new(&F.cfg, &hf_ops, NULL, &F.h), 0);
	hf_boot(27, 1);
	assert_int_equal(hcihost_open(F.h, 1, NULL, HCI_ADDR_PUBLIC, F.now),
			 0);
	hf_expect_cmd(OP_LE_SET_ADV_PARAMS, NULL);
	hf_cc_status(OP_LE_SET_ADV_PARAMS, 0);
	{
		size_t n;
		const uint8_t *p = hf_expect_cmd(OP_LE_SET_ADV_DATA, &n);

		assert_int_equal(p[0], 5 + 8);
		assert_int_equal(p[4], 9);
		assert_memory_equal(p + 6, "left-bud", 8);
	}
}

#define T(name, fn)                                                           \
	{                                                                     \
		"hcihost/" name, fn, NULL, hf_teardown, NULL                     \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("command_timeout", test_command_timeout),
		T("hardware_error", test_hardware_error),
		T("malformed", test_malformed),
		T("peripheral", test_peripheral),
		T("remote_param_request", test_remote_param_request),
		T("conn_update", test_conn_update),
		T("restart", test_restart),
		T("config", test_config),
	};

	return cmocka_run_group_tests_name("hcihost-ctrl", tests, NULL, NULL);
}
