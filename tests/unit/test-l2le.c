/* SPDX-License-Identifier: MIT */
/*
 * L2CAP LE credit-based channel tests (Core 5.4, Vol 3, Part A). Signaling
 * PDUs are written out by hand from section 4; channels are driven in
 * pairs, a central (a) and a peripheral (b), with every PDU passing
 * through the encoder and decoder as it would on the wire.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/acl.h"
#include "core/h4.h"
#include "core/l2le.h"
#include "core/macro.h"

#define data(args...) ((const uint8_t[]){ args })
#define raw_pdu(args...) .bytes = data(args), .len = sizeof(data(args))

#define SPSM 0x0080
#define CID_A 0x0040
#define CID_B 0x0041

/* ---- signaling, byte-exact ----------------------------------------- */

struct sig_row {
	const char *name;
	struct l2le_sig sig;
	const uint8_t *bytes; /* the whole C-frame, basic header included */
	size_t len;
};

static const struct sig_row sig_rows[] = {
	{
		/* 4.22: SPSM 0x0080, SCID 0x0040, MTU 512, MPS 247, 10. */
		"LE Credit Based Connection Request",
		{ .code = L2LE_LE_CREDIT_CONN_REQ, .ident = 1,
		  .conn_req = { SPSM, CID_A, 512, 247, 10 } },
		raw_pdu(0x0e, 0x00, 0x05, 0x00, 0x14, 0x01, 0x0a, 0x00, 0x80,
			0x00, 0x40, 0x00, 0x00, 0x02, 0xf7, 0x00, 0x0a, 0x00),
	},
	{
		/* 4.23: DCID 0x0041, MTU 300, MPS 100, 4 credits, success. */
		"LE Credit Based Connection Response",
		{ .code = L2LE_LE_CREDIT_CONN_RSP, .ident = 1,
		  .conn_rsp = { CID_B, 300, 100, 4, L2LE_RESULT_SUCCESS } },
		raw_pdu(0x0e, 0x00, 0x05, 0x00, 0x15, 0x01, 0x0a, 0x00, 0x41,
			0x00, 0x2c, 0x01, 0x64, 0x00, 0x04, 0x00, 0x00, 0x00),
	},
	{
		"LE Credit Based Connection Response, refused",
		{ .code = L2LE_LE_CREDIT_CONN_RSP, .ident = 9,
		  .conn_rsp = { .result = L2LE_RESULT_SPSM_NOT_SUPPORTED } },
		raw_pdu(0x0e, 0x00, 0x05, 0x00, 0x15, 0x09, 0x0a, 0x00, 0x00,
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00),
	},
	{
		/* 4.24: CID 0x0041, 4 credits. */
		"Flow Control Credit Ind",
		{ .code = L2LE_FLOW_CONTROL_CREDIT_IND, .ident = 5,
		  .credit_ind = { CID_B, 4 } },
		raw_pdu(0x08, 0x00, 0x05, 0x00, 0x16, 0x05, 0x04, 0x00, 0x41,
			0x00, 0x04, 0x00),
	},
	{
		/* 4.6 */
		"Disconnection Request",
		{ .code = L2LE_DISCONNECTION_REQ, .ident = 6,
		  .disconn = { CID_B, CID_A } },
		raw_pdu(0x08, 0x00, 0x05, 0x00, 0x06, 0x06, 0x04, 0x00, 0x41,
			0x00, 0x40, 0x00),
	},
	{
		/* 4.7 */
		"Disconnection Response",
		{ .code = L2LE_DISCONNECTION_RSP, .ident = 6,
		  .disconn = { CID_B, CID_A } },
		raw_pdu(0x08, 0x00, 0x05, 0x00, 0x07, 0x06, 0x04, 0x00, 0x41,
			0x00, 0x40, 0x00),
	},
	{
		/* 4.20: 7.5-15 ms, latency 0, 5 s. */
		"Connection Parameter Update Request",
		{ .code = L2LE_CONN_PARAM_UPDATE_REQ, .ident = 4,
		  .conn_param = { 6, 12, 0, 0x01f4 } },
		raw_pdu(0x0c, 0x00, 0x05, 0x00, 0x12, 0x04, 0x08, 0x00, 0x06,
			0x00, 0x0c, 0x00, 0x00, 0x00, 0xf4, 0x01),
	},
	{
		/* 4.21 */
		"Connection Parameter Update Response",
		{ .code = L2LE_CONN_PARAM_UPDATE_RSP, .ident = 4,
		  .conn_param_result = L2LE_PARAM_REJECTED },
		raw_pdu(0x06, 0x00, 0x05, 0x00, 0x13, 0x04, 0x02, 0x00, 0x01,
			0x00),
	},
	{
		/* 4.1: not understood, no data. */
		"Command Reject",
		{ .code = L2LE_COMMAND_REJECT, .ident = 7,
		  .reject = { .reason = L2LE_REJECT_NOT_UNDERSTOOD } },
		raw_pdu(0x06, 0x00, 0x05, 0x00, 0x01, 0x07, 0x02, 0x00, 0x00,
			0x00),
	},
	{
		/* 4.1: invalid CID, local and remote endpoints. */
		"Command Reject, invalid CID",
		{ .code = L2LE_COMMAND_REJECT, .ident = 7,
		  .reject = { .reason = L2LE_REJECT_INVALID_CID,
			      .data_len = 4,
			      .data = { 0x40, 0x00, 0x41, 0x00 } } },
		raw_pdu(0x0a, 0x00, 0x05, 0x00, 0x01, 0x07, 0x06, 0x00, 0x02,
			0x00, 0x40, 0x00, 0x41, 0x00),
	},
};

static void test_sig_encode(void **state)
{
	uint8_t buf[64];

	for (size_t i = 0; i < ARRAY_SIZE(sig_rows); i++) {
		const struct sig_row *r = &sig_rows[i];
		size_t n = 0;

		memset(buf, 0xee, sizeof(buf));
		assert_int_equal(l2le_sig_encode(&r->sig, buf, sizeof(buf), &n),
				 0);
		if (n != r->len || memcmp(buf, r->bytes, n) != 0) {
			fail_msg("%s: bytes differ", r->name);
		}
		assert_true(n <= L2LE_SIG_MAX);
		/* One short: nothing written. */
		memset(buf, 0xee, sizeof(buf));
		assert_int_equal(l2le_sig_encode(&r->sig, buf, r->len - 1, &n),
				 -ENOBUFS);
		assert_int_equal(buf[0], 0xee);
	}
}

static void test_sig_decode(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(sig_rows); i++) {
		const struct sig_row *r = &sig_rows[i];
		struct l2le_sig s;
		uint8_t again[64];
		size_t n;

		/* Decode the C-frame's payload, after the basic header. */
		memset(&s, 0x5a, sizeof(s));
		assert_int_equal(l2le_sig_decode(r->bytes + 4, r->len - 4, &s),
				 0);
		assert_int_equal(s.code, r->sig.code);
		assert_int_equal(s.ident, r->sig.ident);
		/* Fields: re-encoding gives the same octets. */
		assert_int_equal(l2le_sig_encode(&s, again, sizeof(again), &n),
				 0);
		assert_int_equal(n, r->len);
		assert_memory_equal(again, r->bytes, n);
	}
	/* And a few fields by name. */
	struct l2le_sig s;

	assert_int_equal(l2le_sig_decode(sig_rows[0].bytes + 4, 14, &s), 0);
	assert_int_equal(s.conn_req.spsm, SPSM);
	assert_int_equal(s.conn_req.scid, CID_A);
	assert_int_equal(s.conn_req.mtu, 512);
	assert_int_equal(s.conn_req.mps, 247);
	assert_int_equal(s.conn_req.credits, 10);
	assert_int_equal(l2le_sig_decode(sig_rows[1].bytes + 4, 14, &s), 0);
	assert_int_equal(s.conn_rsp.dcid, CID_B);
	assert_int_equal(s.conn_rsp.mtu, 300);
	assert_int_equal(s.conn_rsp.mps, 100);
	assert_int_equal(s.conn_rsp.credits, 4);
	assert_int_equal(s.conn_rsp.result, 0);
	assert_int_equal(l2le_sig_decode(sig_rows[9].bytes + 4, 10, &s), 0);
	assert_int_equal(s.reject.reason, L2LE_REJECT_INVALID_CID);
	assert_int_equal(s.reject.data_len, 4);
}

struct bad_sig {
	const char *name;
	const uint8_t *bytes;
	size_t len;
	int err;
};

static const struct bad_sig bad_sigs[] = {
	{ "short header", raw_pdu(0x14, 0x01, 0x0a), -EBADMSG },
	{ "length past the frame", raw_pdu(0x16, 0x02, 0x04, 0x00, 0x40, 0x00),
	  -EOVERFLOW },
	{ "two commands in one C-frame",
	  raw_pdu(0x16, 0x02, 0x04, 0x00, 0x40, 0x00, 0x05, 0x00, 0x16, 0x03,
		  0x04, 0x00, 0x40, 0x00, 0x05, 0x00),
	  -E2BIG },
	{ "identifier 0",
	  raw_pdu(0x16, 0x00, 0x04, 0x00, 0x40, 0x00, 0x05, 0x00), -EINVAL },
	{ "BR/EDR Connection Request on LE",
	  raw_pdu(0x02, 0x01, 0x04, 0x00, 0x01, 0x00, 0x40, 0x00), -ENOMSG },
	{ "credit ind short", raw_pdu(0x16, 0x02, 0x02, 0x00, 0x40, 0x00),
	  -ENODATA },
	{ "credit ind long",
	  raw_pdu(0x16, 0x02, 0x06, 0x00, 0x40, 0x00, 0x05, 0x00, 0x00, 0x00),
	  -EMSGSIZE },
	{ "connection request short",
	  raw_pdu(0x14, 0x01, 0x08, 0x00, 0x80, 0x00, 0x40, 0x00, 0x00, 0x02,
		  0xf7, 0x00),
	  -ENODATA },
	{ "reject without reason", raw_pdu(0x01, 0x07, 0x01, 0x00, 0x00),
	  -ENODATA },
	{ "reject with 5 octets of data",
	  raw_pdu(0x01, 0x07, 0x07, 0x00, 0x02, 0x00, 0x40, 0x00, 0x41, 0x00,
		  0xff),
	  -EMSGSIZE },
};

static void test_sig_malformed(void **state)
{
	uint8_t code = 0, ident = 0;
	uint8_t buf[32];
	size_t n;

	for (size_t i = 0; i < ARRAY_SIZE(bad_sigs); i++) {
		const struct bad_sig *r = &bad_sigs[i];
		struct l2le_sig s, before;
		int ret;

		memset(&s, 0x5a, sizeof(s));
		before = s;
		ret = l2le_sig_decode(r->bytes, r->len, &s);
		if (ret != r->err) {
			fail_msg("%s: got %d, want %d", r->name, ret, r->err);
		}
		assert_memory_equal(&s, &before, sizeof(s));
	}

	/* What cannot be decoded is answered with its own Identifier. */
	assert_int_equal(l2le_sig_peek(bad_sigs[4].bytes, bad_sigs[4].len,
				       &code, &ident),
			 0);
	assert_int_equal(code, 0x02);
	assert_int_equal(ident, 0x01);
	assert_int_equal(l2le_encode_reject(ident, L2LE_REJECT_NOT_UNDERSTOOD,
					    0, 0, buf, sizeof(buf), &n),
			 0);
	assert_memory_equal(buf, data(0x06, 0x00, 0x05, 0x00, 0x01, 0x01, 0x02,
				      0x00, 0x00, 0x00),
			    10);
	assert_int_equal(l2le_encode_reject(7, L2LE_REJECT_SIG_MTU_EXCEEDED,
					    23, 0, buf, sizeof(buf), &n),
			 0);
	assert_memory_equal(buf, data(0x08, 0x00, 0x05, 0x00, 0x01, 0x07, 0x04,
				      0x00, 0x01, 0x00, 0x17, 0x00),
			    12);
	assert_int_equal(l2le_sig_peek(buf, 1, &code, &ident), -EBADMSG);

	/* The encoder refuses what the decoder would. */
	struct l2le_sig s = { .code = 0x02, .ident = 1 };

	assert_int_equal(l2le_sig_encode(&s, buf, sizeof(buf), &n), -EINVAL);
	s.code = L2LE_FLOW_CONTROL_CREDIT_IND;
	s.ident = 0;
	assert_int_equal(l2le_sig_encode(&s, buf, sizeof(buf), &n), -EINVAL);
	s = (struct l2le_sig){ .code = L2LE_COMMAND_REJECT, .ident = 1,
			       .reject = { .data_len = 5 } };
	assert_int_equal(l2le_sig_encode(&s, buf, sizeof(buf), &n), -EINVAL);
}

/* ---- a pair of channels -------------------------------------------- */

struct pair {
	struct l2le_chan a; /* central */
	struct l2le_chan b; /* peripheral */
	uint8_t rx_a[1024];
	uint8_t rx_b[1024];
};

/* Strip the basic header of a C-frame and decode it. */
static void wire_sig(const uint8_t *frame, size_t n, struct l2le_sig *s)
{
	assert_true(n >= 4);
	assert_int_equal(frame[0] | frame[1] << 8, n - 4);
	assert_int_equal(frame[2] | frame[3] << 8, L2LE_CID_SIGNALING);
	assert_int_equal(l2le_sig_decode(frame + 4, n - 4, s), 0);
}

static void pair_open(struct pair *p, uint16_t mtu_a, uint16_t mps_a,
		      uint16_t credits_a, uint16_t mtu_b, uint16_t mps_b,
		      uint16_t credits_b)
{
	struct l2le_local la = { mtu_a, mps_a, credits_a };
	struct l2le_local lb = { mtu_b, mps_b, credits_b };
	struct l2le_sig s;
	uint8_t buf[64];
	uint16_t result = 0xffff;
	size_t n;

	assert_int_equal(l2le_chan_init(&p->a, &la, p->rx_a, sizeof(p->rx_a)),
			 0);
	assert_int_equal(l2le_chan_init(&p->b, &lb, p->rx_b, sizeof(p->rx_b)),
			 0);
	assert_int_equal(l2le_listen(&p->b, SPSM), 0);
	assert_int_equal(l2le_connect(&p->a, SPSM, CID_A, 1, buf, sizeof(buf),
				      &n),
			 0);
	assert_int_equal(p->a.state, L2LE_WAIT_CONNECT_RSP);
	wire_sig(buf, n, &s);
	assert_int_equal(s.code, L2LE_LE_CREDIT_CONN_REQ);
	assert_int_equal(l2le_on_connect_req(&p->b, s.ident, &s.conn_req, CID_B,
					     buf, sizeof(buf), &n, &result),
			 0);
	assert_int_equal(result, L2LE_RESULT_SUCCESS);
	wire_sig(buf, n, &s);
	assert_int_equal(s.code, L2LE_LE_CREDIT_CONN_RSP);
	assert_int_equal(l2le_on_connect_rsp(&p->a, s.ident, &s.conn_rsp), 0);
}

static void test_connect_round_trip(void **state)
{
	struct pair p;
	struct l2le_sig s;
	uint8_t buf[64];
	uint16_t result;
	size_t n;

	assert_int_equal(l2le_chan_init(&p.a, &(struct l2le_local){ 512, 247,
								    10 },
					p.rx_a, 512),
			 0);
	assert_int_equal(l2le_chan_init(&p.b, &(struct l2le_local){ 300, 100,
								    4 },
					p.rx_b, sizeof(p.rx_b)),
			 0);
	assert_int_equal(l2le_listen(&p.b, SPSM), 0);
	assert_int_equal(l2le_connect(&p.a, SPSM, CID_A, 1, buf, sizeof(buf),
				      &n),
			 0);
	/* The request on the wire is the row above, octet for octet. */
	assert_int_equal(n, sig_rows[0].len);
	assert_memory_equal(buf, sig_rows[0].bytes, n);

	wire_sig(buf, n, &s);
	assert_int_equal(l2le_on_connect_req(&p.b, s.ident, &s.conn_req, CID_B,
					     buf, sizeof(buf), &n, &result),
			 0);
	assert_int_equal(result, L2LE_RESULT_SUCCESS);
	assert_int_equal(n, sig_rows[1].len);
	assert_memory_equal(buf, sig_rows[1].bytes, n);
	assert_int_equal(p.b.state, L2LE_OPEN);
	assert_int_equal(p.b.local_cid, CID_B);
	assert_int_equal(p.b.remote_cid, CID_A);
	assert_int_equal(p.b.remote_mtu, 512);
	assert_int_equal(p.b.remote_mps, 247);
	assert_int_equal(p.b.tx_credits, 10);
	assert_int_equal(p.b.rx_credits, 4);

	wire_sig(buf, n, &s);
	/* A response with another Identifier is not ours. */
	assert_int_equal(l2le_on_connect_rsp(&p.a, 2, &s.conn_rsp), -ESRCH);
	assert_int_equal(p.a.state, L2LE_WAIT_CONNECT_RSP);
	assert_int_equal(l2le_on_connect_rsp(&p.a, s.ident, &s.conn_rsp), 0);
	assert_int_equal(p.a.state, L2LE_OPEN);
	assert_int_equal(p.a.remote_cid, CID_B);
	assert_int_equal(p.a.remote_mtu, 300);
	assert_int_equal(p.a.remote_mps, 100);
	assert_int_equal(p.a.tx_credits, 4);
	assert_int_equal(p.a.rx_credits, 10);
	assert_string_equal(l2le_state_name(p.a.state), "OPEN");
	/* A second response changes nothing. */
	assert_int_equal(l2le_on_connect_rsp(&p.a, s.ident, &s.conn_rsp),
			 -ESRCH);
	assert_int_equal(l2le_connect(&p.a, SPSM, CID_A, 3, buf, sizeof(buf),
				      &n),
			 -EISCONN);
}

/* Acceptor checks, each with its result code on the wire. */
static void test_connect_refused(void **state)
{
	static const struct {
		const char *name;
		uint16_t listen_spsm;
		struct l2le_conn_req req;
		uint16_t result;
	} rows[] = {
		{ "other SPSM", 0x0081, { SPSM, CID_A, 100, 100, 1 },
		  L2LE_RESULT_SPSM_NOT_SUPPORTED },
		{ "fixed CID as source", SPSM, { SPSM, 0x0004, 100, 100, 1 },
		  L2LE_RESULT_INVALID_SOURCE_CID },
		{ "CID above the LE range", SPSM, { SPSM, 0x0080, 100, 100, 1 },
		  L2LE_RESULT_INVALID_SOURCE_CID },
		{ "MTU 22", SPSM, { SPSM, CID_A, 22, 100, 1 },
		  L2LE_RESULT_UNACCEPTABLE_PARAMETERS },
		{ "MPS 22", SPSM, { SPSM, CID_A, 100, 22, 1 },
		  L2LE_RESULT_UNACCEPTABLE_PARAMETERS },
		{ "MPS 65534", SPSM, { SPSM, CID_A, 100, 65534, 1 },
		  L2LE_RESULT_UNACCEPTABLE_PARAMETERS },
		{ "minimum values", SPSM, { SPSM, CID_A, 23, 23, 0 },
		  L2LE_RESULT_SUCCESS },
	};
	struct pair p;
	struct l2le_sig s;
	uint8_t buf[64], req[64];
	uint16_t result;
	size_t n, rn;

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct l2le_local l = { 100, 100, 3 };

		assert_int_equal(l2le_chan_init(&p.a, &l, p.rx_a, 100), 0);
		assert_int_equal(l2le_chan_init(&p.b, &l, p.rx_b, 100), 0);
		assert_int_equal(l2le_listen(&p.b, rows[i].listen_spsm), 0);
		assert_int_equal(l2le_connect(&p.a, SPSM, CID_A, 9, req,
					      sizeof(req), &rn),
				 0);
		assert_int_equal(l2le_on_connect_req(&p.b, 9, &rows[i].req,
						     CID_B, buf, sizeof(buf),
						     &n, &result),
				 0);
		if (result != rows[i].result) {
			fail_msg("%s: result %u, want %u", rows[i].name, result,
				 rows[i].result);
		}
		wire_sig(buf, n, &s);
		assert_int_equal(s.conn_rsp.result, rows[i].result);
		if (rows[i].result == L2LE_RESULT_SUCCESS) {
			assert_int_equal(p.b.state, L2LE_OPEN);
			continue;
		}
		/* 4.23: a refusal carries zeros, and b keeps listening. */
		assert_int_equal(s.conn_rsp.dcid, 0);
		assert_int_equal(s.conn_rsp.mtu, 0);
		assert_int_equal(s.conn_rsp.mps, 0);
		assert_int_equal(s.conn_rsp.credits, 0);
		assert_int_equal(p.b.state, L2LE_LISTEN);
		assert_int_equal(l2le_on_connect_rsp(&p.a, 9, &s.conn_rsp),
				 -ECONNREFUSED);
		assert_int_equal(p.a.state, L2LE_CLOSED);
		assert_int_equal(p.a.result, rows[i].result);
	}

	/* A second request for a taken SPSM: no resources. */
	pair_open(&p, 100, 100, 3, 100, 100, 3);
	struct l2le_conn_req second = { SPSM, 0x0042, 100, 100, 1 };

	assert_int_equal(l2le_on_connect_req(&p.b, 4, &second, 0x0043, buf,
					     sizeof(buf), &n, &result),
			 0);
	assert_int_equal(result, L2LE_RESULT_NO_RESOURCES);
	assert_int_equal(p.b.remote_cid, CID_A);
	assert_int_equal(l2le_on_connect_req(&p.b, 4, &rows[0].req, 0x0004, buf,
					     sizeof(buf), &n, &result),
			 -EINVAL);
}

/* "Success" with values the specification forbids. */
static void test_connect_rsp_invalid(void **state)
{
	static const struct l2le_conn_rsp bad[] = {
		{ 0x0004, 100, 100, 1, 0 },
		{ CID_B, 22, 100, 1, 0 },
		{ CID_B, 100, 22, 1, 0 },
		{ CID_B, 100, 65534, 1, 0 },
	};
	struct l2le_local l = { 100, 100, 3 };
	struct l2le_chan a;
	uint8_t rx[100], buf[64];
	size_t n;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(l2le_chan_init(&a, &l, rx, sizeof(rx)), 0);
		assert_int_equal(l2le_connect(&a, SPSM, CID_A, 1, buf,
					      sizeof(buf), &n),
				 0);
		assert_int_equal(l2le_on_connect_rsp(&a, 1, &bad[i]), -EPROTO);
		assert_int_equal(a.state, L2LE_CLOSED);
	}
	assert_int_equal(l2le_connect(&a, 0, CID_A, 1, buf, sizeof(buf), &n),
			 -EINVAL);
	assert_int_equal(l2le_connect(&a, 0x0100, CID_A, 1, buf, sizeof(buf),
				      &n),
			 -EINVAL);
	assert_int_equal(l2le_connect(&a, SPSM, 0x0005, 1, buf, sizeof(buf),
				      &n),
			 -EINVAL);
	assert_int_equal(l2le_connect(&a, SPSM, CID_A, 0, buf, sizeof(buf),
				      &n),
			 -EINVAL);
	assert_int_equal(a.state, L2LE_CLOSED);
	l.mtu = 22;
	assert_int_equal(l2le_chan_init(&a, &l, rx, sizeof(rx)), -EINVAL);
	l = (struct l2le_local){ 101, 100, 3 };
	assert_int_equal(l2le_chan_init(&a, &l, rx, sizeof(rx)), -EINVAL);
}

/* ---- data ---------------------------------------------------------- */

/* K-frames a len-octet SDU takes at MPS m (3.4.3). */
static size_t kframes_for(size_t len, size_t m)
{
	if (len <= m - 2) {
		return 1;
	}
	return 1 + (len - (m - 2) + m - 1) / m;
}

static void test_kframe_bytes(void **state)
{
	uint8_t sdu[30], buf[64];
	struct l2le_sdu out;
	struct pair p;
	size_t n;

	for (size_t i = 0; i < sizeof(sdu); i++) {
		sdu[i] = (uint8_t)(0xa0 + i);
	}
	/* b accepts MPS 23: a's first K-frame holds 21 octets. */
	pair_open(&p, 100, 100, 5, 100, 23, 5);
	assert_int_equal(l2le_send(&p.a, sdu, sizeof(sdu)), 0);
	assert_true(l2le_tx_busy(&p.a));

	assert_int_equal(l2le_next_kframe(&p.a, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 4 + 23);
	/* Length 23, CID 0x0041, SDU Length 30, 21 octets. */
	assert_memory_equal(buf, data(0x17, 0x00, 0x41, 0x00, 0x1e, 0x00), 6);
	assert_memory_equal(buf + 6, sdu, 21);
	assert_int_equal(l2le_recv(&p.b, buf + 4, n - 4, &out), 0);

	assert_int_equal(l2le_next_kframe(&p.a, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 4 + 9);
	assert_memory_equal(buf, data(0x09, 0x00, 0x41, 0x00), 4);
	assert_memory_equal(buf + 4, sdu + 21, 9);
	assert_false(l2le_tx_busy(&p.a));
	assert_int_equal(l2le_recv(&p.b, buf + 4, n - 4, &out), 1);
	assert_int_equal(out.len, 30);
	assert_memory_equal(out.data, sdu, 30);
	assert_ptr_equal(out.data, p.rx_b);

	assert_int_equal(l2le_next_kframe(&p.a, buf, sizeof(buf), &n),
			 -ENODATA);
	assert_int_equal(p.a.tx_credits, 3);
	assert_int_equal(p.b.rx_credits, 3);
	assert_int_equal(p.a.stats.sdus_tx, 1);
	assert_int_equal(p.a.stats.kframes_tx, 2);
	assert_int_equal(p.b.stats.sdus_rx, 1);

	/* An SDU that fits one K-frame is handed out where it lies; an
	 * empty SDU is one K-frame with SDU Length 0. */
	assert_int_equal(l2le_send(&p.a, sdu, 5), 0);
	assert_int_equal(l2le_next_kframe(&p.a, buf, sizeof(buf), &n), 0);
	assert_int_equal(l2le_recv(&p.b, buf + 4, n - 4, &out), 1);
	assert_ptr_equal(out.data, buf + 6);
	assert_int_equal(l2le_send(&p.a, NULL, 0), 0);
	assert_int_equal(l2le_next_kframe(&p.a, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(buf, data(0x02, 0x00, 0x41, 0x00, 0x00, 0x00), 6);
	assert_int_equal(l2le_recv(&p.b, buf + 4, n - 4, &out), 1);
	assert_int_equal(out.len, 0);
}

/* b has room for 8 K-frames again: grant, and deliver the grant to a. */
static void top_up(struct pair *p, uint8_t *cbuf, size_t cap)
{
	uint16_t due = l2le_credits_due(&p->b, 8);
	struct l2le_sig s;
	size_t n;

	assert_true(due > 0);
	assert_int_equal(l2le_grant(&p->b, due, 1, cbuf, cap, &n), 0);
	wire_sig(cbuf, n, &s);
	assert_int_equal(s.credit_ind.cid, p->a.remote_cid);
	assert_int_equal(l2le_on_credits(&p->a, s.credit_ind.credits), 0);
}

/* Every SDU size 1..MTU at MPS values that put the boundaries in
 * different places: the right number of K-frames, none over MPS, the
 * SDU intact. Credits are topped up as a receiver with room would. */
static void test_sdu_sizes(void **state)
{
	static const uint16_t mps[] = { 23, 24, 100, 247 };
	static uint8_t sdu[600];
	uint8_t buf[300], cbuf[32];
	struct pair p;

	for (size_t i = 0; i < sizeof(sdu); i++) {
		sdu[i] = (uint8_t)(i * 31 + 7);
	}
	for (size_t m = 0; m < ARRAY_SIZE(mps); m++) {
		pair_open(&p, 600, 247, 8, 600, mps[m], 8);
		for (size_t len = 1; len <= 600; len++) {
			struct l2le_sdu out = { 0 };
			size_t n, frames = 0;
			int r = 0;

			assert_int_equal(l2le_send(&p.a, sdu, len), 0);
			while (l2le_tx_busy(&p.a)) {
				int k = l2le_next_kframe(&p.a, buf, sizeof(buf),
							 &n);

				if (k == -EAGAIN) {
					top_up(&p, cbuf, sizeof(cbuf));
					continue;
				}
				assert_int_equal(k, 0);
				assert_true(n - 4 <= mps[m]);
				assert_int_equal(r, 0);
				r = l2le_recv(&p.b, buf + 4, n - 4, &out);
				assert_true(r == 0 || r == 1);
				frames++;
			}
			assert_int_equal(r, 1);
			assert_int_equal(frames, kframes_for(len, mps[m]));
			assert_int_equal(out.len, len);
			assert_memory_equal(out.data, sdu, len);
		}
		assert_int_equal(p.b.stats.sdus_rx, 600);
		assert_int_equal(p.b.stats.err_no_credit, 0);
		assert_int_equal(p.a.stats.kframes_tx, p.b.stats.kframes_rx);
	}
}

/* Credits exhausted -> stall -> Flow Control Credit Ind -> resume. */
static void test_credit_stall_resume(void **state)
{
	uint8_t sdu[113], buf[64];
	struct l2le_sdu out;
	struct l2le_sig s;
	struct pair p;
	size_t n;

	memset(sdu, 0x3c, sizeof(sdu));
	/* b grants 4; at MPS 23 113 octets take 1 + 4 = 5 K-frames. */
	pair_open(&p, 200, 100, 10, 200, 23, 4);
	assert_int_equal(kframes_for(113, 23), 5);
	assert_int_equal(p.a.tx_credits, 4);
	assert_int_equal(l2le_send(&p.a, sdu, sizeof(sdu)), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(l2le_next_kframe(&p.a, buf, sizeof(buf), &n),
				 0);
		assert_int_equal(l2le_recv(&p.b, buf + 4, n - 4, &out), 0);
	}
	assert_int_equal(p.a.tx_credits, 0);
	assert_int_equal(p.b.rx_credits, 0);
	assert_int_equal(l2le_next_kframe(&p.a, buf, sizeof(buf), &n), -EAGAIN);
	assert_int_equal(l2le_next_kframe(&p.a, buf, sizeof(buf), &n), -EAGAIN);
	assert_int_equal(p.a.stats.stalls, 1);
	assert_true(l2le_tx_busy(&p.a));

	/* b has room for 4 again. */
	assert_int_equal(l2le_credits_due(&p.b, 4), 4);
	assert_int_equal(l2le_grant(&p.b, 4, 5, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, sig_rows[3].len);
	assert_memory_equal(buf, sig_rows[3].bytes, n);
	assert_int_equal(p.b.rx_credits, 4);
	wire_sig(buf, n, &s);
	assert_int_equal(s.credit_ind.cid, p.a.remote_cid);
	assert_int_equal(l2le_on_credits(&p.a, s.credit_ind.credits), 0);

	assert_int_equal(l2le_next_kframe(&p.a, buf, sizeof(buf), &n), 0);
	assert_int_equal(l2le_recv(&p.b, buf + 4, n - 4, &out), 1);
	assert_int_equal(out.len, 113);
	assert_memory_equal(out.data, sdu, 113);
	assert_int_equal(p.a.tx_credits, 3);
	assert_int_equal(p.b.rx_credits, 3);

	/* A second stall is counted again. */
	assert_int_equal(l2le_send(&p.a, sdu, sizeof(sdu)), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(l2le_next_kframe(&p.a, buf, sizeof(buf), &n),
				 0);
	}
	assert_int_equal(l2le_next_kframe(&p.a, buf, sizeof(buf), &n), -EAGAIN);
	assert_int_equal(p.a.stats.stalls, 2);
}

static void test_peer_without_credit(void **state)
{
	uint8_t buf[64];
	struct l2le_sdu out = { 0 };
	struct pair p;
	size_t n;

	pair_open(&p, 200, 100, 10, 200, 100, 1);
	assert_int_equal(l2le_send(&p.a, data(1, 2, 3), 3), 0);
	assert_int_equal(l2le_next_kframe(&p.a, buf, sizeof(buf), &n), 0);
	assert_int_equal(l2le_recv(&p.b, buf + 4, n - 4, &out), 1);
	/* The peer ignores credits and sends again: an error (10.1). */
	assert_int_equal(l2le_recv(&p.b, buf + 4, n - 4, &out), -ENOBUFS);
	assert_int_equal(p.b.stats.err_no_credit, 1);
	assert_int_equal(p.b.stats.sdus_rx, 1);
	assert_int_equal(p.b.rx_credits, 0);
}

static void test_credit_accounting(void **state)
{
	uint8_t buf[64];
	struct pair p;
	size_t n;

	pair_open(&p, 200, 100, 10, 200, 100, 4);
	/* Batched: nothing due while the peer holds more than half. */
	assert_int_equal(l2le_credits_due(&p.a, 10), 0);
	p.a.rx_credits = 6;
	assert_int_equal(l2le_credits_due(&p.a, 10), 0);
	p.a.rx_credits = 5;
	assert_int_equal(l2le_credits_due(&p.a, 10), 5);
	p.a.rx_credits = 0;
	assert_int_equal(l2le_credits_due(&p.a, 10), 10);
	assert_int_equal(l2le_credits_due(&p.a, 0), 0);

	/* 4.24: never more than 65535 credits. */
	assert_int_equal(l2le_on_credits(&p.a, 65532), -EOVERFLOW);
	assert_int_equal(p.a.tx_credits, 4);
	assert_int_equal(p.a.stats.err_credit_overflow, 1);
	assert_int_equal(l2le_on_credits(&p.a, 65531), 0);
	assert_int_equal(p.a.tx_credits, 65535);
	assert_int_equal(l2le_on_credits(&p.a, 0), 0);

	assert_int_equal(l2le_grant(&p.a, 0, 1, buf, sizeof(buf), &n), -EINVAL);
	p.a.rx_credits = 65535;
	assert_int_equal(l2le_grant(&p.a, 1, 1, buf, sizeof(buf), &n),
			 -EOVERFLOW);
	p.a.rx_credits = 0;
	assert_int_equal(l2le_grant(&p.a, 7, 1, buf, 11, &n), -ENOBUFS);
	assert_int_equal(p.a.rx_credits, 0);
	assert_int_equal(l2le_grant(&p.a, 7, 1, buf, 12, &n), 0);
	assert_int_equal(p.a.rx_credits, 7);
	assert_int_equal(p.a.stats.credits_granted, 7);
}

/* Receive errors, each counted and each dropping the partial SDU. */
static void test_recv_errors(void **state)
{
	uint8_t big[120] = { 0 };
	struct l2le_sdu out;
	struct pair p;

	/* b: MTU 50, MPS 30. */
	pair_open(&p, 200, 100, 10, 50, 30, 100);

	/* Payload over MPS. */
	assert_int_equal(l2le_recv(&p.b, big, 31, &out), -EMSGSIZE);
	assert_int_equal(p.b.stats.err_mps, 1);
	assert_int_equal(l2le_recv(&p.b, data(0x00, 0x00), 2, &out), 1);
	/* First K-frame without room for the SDU Length. */
	assert_int_equal(l2le_recv(&p.b, data(0x05), 1, &out), -EBADMSG);
	assert_int_equal(p.b.stats.err_short, 1);
	/* SDU Length over MTU. */
	assert_int_equal(l2le_recv(&p.b, data(0x33, 0x00, 1), 3, &out), -E2BIG);
	assert_int_equal(p.b.stats.err_mtu, 1);
	assert_int_equal(l2le_recv(&p.b, data(0x32, 0x00, 1), 3, &out), 0);
	/* ... that partial SDU of 50 is dropped by the next error: */
	assert_int_equal(l2le_recv(&p.b, big, 31, &out), -EMSGSIZE);
	/* First K-frame longer than its SDU. */
	assert_int_equal(l2le_recv(&p.b, data(0x02, 0x00, 1, 2, 3), 5, &out),
			 -EOVERFLOW);
	/* Later K-frames past the SDU Length. */
	assert_int_equal(l2le_recv(&p.b, data(0x04, 0x00, 1, 2), 4, &out), 0);
	assert_int_equal(l2le_recv(&p.b, data(3, 4, 5), 3, &out), -EOVERFLOW);
	assert_int_equal(p.b.stats.err_overrun, 2);
	/* Each error left the channel with no SDU in progress. */
	assert_int_equal(l2le_recv(&p.b, data(0x01, 0x00, 9), 3, &out), 1);
	assert_int_equal(out.len, 1);
	assert_int_equal(out.data[0], 9);
	assert_int_equal(p.b.stats.sdus_rx, 2);
	/* Every K-frame spent a credit, good or bad. */
	assert_int_equal(p.b.rx_credits, 100 - 10);
}

static void test_send_errors(void **state)
{
	uint8_t sdu[400] = { 0 }, buf[300];
	struct l2le_chan c;
	struct pair p;
	size_t n;

	assert_int_equal(l2le_chan_init(&c, &(struct l2le_local){ 100, 100, 1 },
					buf, sizeof(buf)),
			 0);
	assert_int_equal(l2le_send(&c, sdu, 1), -ENOTCONN);
	assert_int_equal(l2le_next_kframe(&c, buf, sizeof(buf), &n), -ENOTCONN);
	assert_int_equal(l2le_recv(&c, sdu, 3, NULL), -ENOTCONN);
	assert_int_equal(l2le_on_credits(&c, 1), -ENOTCONN);

	pair_open(&p, 200, 100, 10, 300, 100, 10);
	assert_int_equal(l2le_send(&p.a, sdu, 301), -EMSGSIZE);
	assert_int_equal(l2le_send(&p.a, sdu, 300), 0);
	assert_int_equal(l2le_send(&p.a, sdu, 1), -EBUSY);
	/* Room for the headers and 97 octets but not 98: nothing sent. */
	assert_int_equal(l2le_next_kframe(&p.a, buf, 4 + 2 + 97, &n), -ENOBUFS);
	assert_int_equal(p.a.tx_credits, 10);
	assert_int_equal(l2le_next_kframe(&p.a, buf, 4 + 2 + 98, &n), 0);
	assert_int_equal(p.a.tx_credits, 9);
}

static void test_disconnect(void **state)
{
	uint8_t buf[64];
	struct l2le_sdu out;
	struct l2le_sig s;
	struct pair p;
	size_t n;

	pair_open(&p, 200, 100, 10, 200, 100, 10);
	assert_int_equal(l2le_send(&p.a, data(1, 2, 3), 3), 0);
	assert_int_equal(l2le_disconnect(&p.a, 6, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, sig_rows[4].len);
	assert_memory_equal(buf, sig_rows[4].bytes, n);
	assert_int_equal(p.a.state, L2LE_WAIT_DISCONNECT_RSP);
	/* 4.6: no data once the request is out. */
	assert_false(l2le_tx_busy(&p.a));
	assert_int_equal(l2le_next_kframe(&p.a, buf + 32, 32, &n), -ENOTCONN);

	wire_sig(buf, sig_rows[4].len, &s);
	assert_int_equal(s.code, L2LE_DISCONNECTION_REQ);
	/* A request naming another channel: invalid CID, nothing else. */
	struct l2le_disconn other = { 0x0042, CID_A };

	assert_int_equal(l2le_on_disconnect_req(&p.b, s.ident, &other, buf,
						sizeof(buf), &n),
			 -ENOENT);
	assert_int_equal(p.b.state, L2LE_OPEN);
	assert_int_equal(l2le_encode_reject(s.ident, L2LE_REJECT_INVALID_CID,
					    other.dcid, other.scid, buf,
					    sizeof(buf), &n),
			 0);
	assert_memory_equal(buf, data(0x0a, 0x00, 0x05, 0x00, 0x01, 0x06, 0x06,
				      0x00, 0x02, 0x00, 0x42, 0x00, 0x40, 0x00),
			    14);

	assert_int_equal(l2le_on_disconnect_req(&p.b, s.ident, &s.disconn, buf,
						sizeof(buf), &n),
			 0);
	assert_int_equal(n, sig_rows[5].len);
	assert_memory_equal(buf, sig_rows[5].bytes, n);
	assert_int_equal(p.b.state, L2LE_CLOSED);
	assert_int_equal(l2le_recv(&p.b, data(0x01, 0x00, 9), 3, &out),
			 -ENOTCONN);

	wire_sig(buf, n, &s);
	assert_int_equal(s.code, L2LE_DISCONNECTION_RSP);
	other = (struct l2le_disconn){ CID_A, CID_B };
	assert_int_equal(l2le_on_disconnect_rsp(&p.a, &other), -ENOENT);
	assert_int_equal(l2le_on_disconnect_rsp(&p.a, &s.disconn), 0);
	assert_int_equal(p.a.state, L2LE_CLOSED);
	assert_int_equal(l2le_on_disconnect_rsp(&p.a, &s.disconn), -ENOENT);
	assert_int_equal(l2le_disconnect(&p.a, 7, buf, sizeof(buf), &n),
			 -ENOTCONN);

	/* Crossing requests: each end answers the other's and closes. */
	pair_open(&p, 200, 100, 10, 200, 100, 10);
	uint8_t ra[32], rb[32];
	size_t na, nb;
	struct l2le_sig sa, sb;

	assert_int_equal(l2le_disconnect(&p.a, 1, ra, sizeof(ra), &na), 0);
	assert_int_equal(l2le_disconnect(&p.b, 1, rb, sizeof(rb), &nb), 0);
	wire_sig(ra, na, &sa);
	wire_sig(rb, nb, &sb);
	assert_int_equal(l2le_on_disconnect_req(&p.b, sa.ident, &sa.disconn,
						buf, sizeof(buf), &n),
			 0);
	assert_int_equal(l2le_on_disconnect_req(&p.a, sb.ident, &sb.disconn,
						buf, sizeof(buf), &n),
			 0);
	assert_int_equal(p.a.state, L2LE_CLOSED);
	assert_int_equal(p.b.state, L2LE_CLOSED);
	/* Closed channels can be reused. */
	assert_int_equal(l2le_listen(&p.b, SPSM), 0);
	assert_int_equal(l2le_listen(&p.b, SPSM), -EISCONN);
}

/*
 * The whole receive path a host wires up: SDU -> K-frames -> ACL
 * fragments at 27 -> H4 -> a byte stream split at random -> framer ->
 * reassembly -> channel. Nothing lost, nothing reordered.
 */
static void test_through_acl_and_h4(void **state)
{
	static uint8_t stream[200000];
	static uint8_t sdu[500];
	uint8_t kf[300], pkt[64], mem[1100], slot[2][600];
	uint8_t *bufs[2] = { slot[0], slot[1] };
	struct acl_rx rx[2];
	struct acl_reasm ra;
	struct h4_config cfg;
	struct h4 h;
	struct pair p;
	size_t len = 0, got = 0, off = 0;
	uint32_t seed = 1;

	pair_open(&p, 500, 247, 100, 500, 247, 1000);
	for (size_t i = 0; i < sizeof(sdu); i++) {
		sdu[i] = (uint8_t)(i ^ 0x5a);
	}
	/* Sender side: 100 SDUs of growing size. */
	for (size_t k = 0; k < 100; k++) {
		size_t n, m, sl = 1 + k * 5;

		assert_int_equal(l2le_send(&p.a, sdu, sl), 0);
		while (l2le_next_kframe(&p.a, kf, sizeof(kf), &n) == 0) {
			struct acl_frag fr;

			assert_int_equal(acl_frag_init(&fr, 0x040, kf, n, 27,
						       ACL_PB_FIRST_FLUSHABLE),
					 0);
			while (acl_frag_next(&fr, pkt + 1, sizeof(pkt) - 1,
					     &m) == 0) {
				assert_int_equal(h4_encode(H4_ACL, pkt + 1, m,
							   pkt, sizeof(pkt),
							   &m),
						 0);
				assert_true(len + m <= sizeof(stream));
				memcpy(stream + len, pkt, m);
				len += m;
			}
		}
	}

	/* Receiver side. */
	h4_config_host(&cfg);
	cfg.acl_max_len = 27;
	assert_int_equal(h4_init(&h, &cfg, mem, sizeof(mem)), 0);
	assert_int_equal(acl_reasm_init(&ra, rx, 2, bufs, sizeof(slot[0])), 0);
	assert_int_equal(acl_reasm_add(&ra, 0x040), 0);
	while (off < len) {
		struct h4_pkt hp;
		size_t c;

		seed = seed * 1103515245 + 12345;
		c = MIN(len - off, 1 + (seed >> 16) % 300);
		off += h4_feed(&h, stream + off, c);
		while (h4_next(&h, &hp) == 0) {
			struct acl_pdu pdu;
			struct l2le_sdu out;

			assert_int_equal(hp.type, H4_ACL);
			if (acl_reasm_feed(&ra, hp.data, hp.len, &pdu) != 1) {
				continue;
			}
			assert_int_equal(pdu.cid, CID_B);
			if (l2le_recv(&p.b, pdu.payload, pdu.len, &out) == 1) {
				assert_int_equal(out.len, 1 + got * 5);
				assert_memory_equal(out.data, sdu, out.len);
				got++;
			}
		}
	}
	assert_int_equal(got, 100);
	assert_int_equal(h4_stats(&h)->resyncs, 0);
	assert_int_equal(ra.stats.pdus, p.a.stats.kframes_tx);
}

#define T(name, fn)                                                           \
	{                                                                     \
		"l2le/" name, fn, NULL, NULL, NULL                            \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("sig_encode", test_sig_encode),
		T("sig_decode", test_sig_decode),
		T("sig_malformed", test_sig_malformed),
		T("connect_round_trip", test_connect_round_trip),
		T("connect_refused", test_connect_refused),
		T("connect_rsp_invalid", test_connect_rsp_invalid),
		T("kframe_bytes", test_kframe_bytes),
		T("sdu_sizes", test_sdu_sizes),
		T("credit_stall_resume", test_credit_stall_resume),
		T("peer_without_credit", test_peer_without_credit),
		T("credit_accounting", test_credit_accounting),
		T("recv_errors", test_recv_errors),
		T("send_errors", test_send_errors),
		T("disconnect", test_disconnect),
		T("through_acl_and_h4", test_through_acl_and_h4),
	};

	return cmocka_run_group_tests_name("l2le", tests, NULL, NULL);
}
