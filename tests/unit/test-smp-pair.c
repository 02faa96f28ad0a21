/* SPDX-License-Identifier: MIT */
/*
 * The SMP state machine (core/smp): an initiator and a responder paired
 * with each other through a scripted wire that can drop, change or
 * replace any PDU, each with a fake controller (AES from test-smp-aes.h,
 * counted random octets, fixed P-256 keys, a fixed DHKey). Checked: the
 * PDU sequence of Core 5.4, Vol 3, Part H, Appendix C.2.2.1 and the
 * keys; a refusal by the peer; a bad confirm value and bad DHKey checks;
 * bad public keys (off the curve, coordinates over p, zero, the debug
 * key, our own reflected); the 30 s timer; oversized, short, unknown and
 * out-of-order PDUs; a controller that fails a request.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/smp.h"
#include "test-smp-aes.h"

#define SEC UINT64_C(1000000000)
#define NPDU 32

struct side {
	struct smp s;
	const char *name;
	/* PDUs it sent, in order. */
	uint8_t pdu[NPDU][SMP_MTU];
	size_t len[NPDU];
	unsigned sent, delivered;
	/* Its controller. */
	uint8_t key[64];
	unsigned rand_calls, aes_calls;
	uint8_t fail_need;  /* enum smp_need the controller refuses */
	/* Outcome. */
	unsigned done;
	int err;
	uint8_t reason;
	struct smp_keys keys;
	unsigned encrypts;
	uint8_t ltk[16];
};

static struct side I, R;
static uint64_t now;
/* Change a PDU in flight (return false to drop it). */
static bool (*tamper)(struct side *from, uint8_t *pdu, size_t *len);

static void cb_send(void *u, const uint8_t *pdu, size_t len)
{
	struct side *s = u;

	assert_true(s->sent < NPDU);
	assert_true(len <= SMP_MTU);
	memcpy(s->pdu[s->sent], pdu, len);
	s->len[s->sent++] = len;
}

static void cb_encrypt(void *u, const uint8_t ltk[16])
{
	struct side *s = u;

	s->encrypts++;
	memcpy(s->ltk, ltk, 16);
}

static void cb_done(void *u, int err, uint8_t reason,
		    const struct smp_keys *keys)
{
	struct side *s = u;

	s->done++;
	s->err = err;
	s->reason = reason;
	if (err == 0) {
		assert_non_null(keys);
		s->keys = *keys;
	} else {
		assert_null(keys);
	}
}

static const struct smp_ops ops = {
	.send = cb_send,
	.encrypt = cb_encrypt,
	.done = cb_done,
};

/* Hex, most significant first, into wire order. */
static void wire(const char *hex, uint8_t *out, size_t n)
{
	size_t k = 0;
	uint8_t t[64];

	for (const char *p = hex; *p; p++) {
		unsigned v;

		if (*p == ' ') {
			continue;
		}
		assert_int_equal(sscanf(p, "%1x", &v), 1);
		t[k / 2] = (uint8_t)(k % 2 ? t[k / 2] | v : v << 4);
		k++;
	}
	assert_int_equal(k, 2 * n);
	smp_swap(out, t, n);
}

/* Two valid non-debug points: P-256 sample B (Vol 2, Part G, 7.1.2.1)
 * and its negation (x, p - y). */
static void key_b(uint8_t k[64])
{
	wire("1ea1f0f0 1faf1d96 09592284 f19e4c00 47b58afd 8615a69f 559077b2 "
	     "2faaa190",
	     k, 32);
	wire("4c55f33e 429dad37 7356703a 9ab85160 472d1130 e28e3676 5f89aff9 "
	     "15b1214a",
	     k + 32, 32);
}

static void key_minus_b(uint8_t k[64])
{
	uint8_t p[32];
	int borrow = 0;

	key_b(k);
	wire("ffffffff 00000001 00000000 00000000 00000000 ffffffff ffffffff "
	     "ffffffff",
	     p, 32);
	for (unsigned i = 0; i < 32; i++) {
		int d = p[i] - k[32 + i] - borrow;

		borrow = d < 0;
		k[32 + i] = (uint8_t)(d + (borrow ? 256 : 0));
	}
}

static void side_init(struct side *s, const char *name, enum smp_role role)
{
	struct smp_config c;

	memset(s, 0, sizeof(*s));
	s->name = name;
	memset(&c, 0, sizeof(c));
	c.role = role;
	/* A: 00:AA:01:00:00:42 public (central), B: 00:AA:01:01:00:42. */
	wire("00 00aa0100 0042", role == SMP_INITIATOR ? c.local_addr :
							     c.peer_addr,
	     7);
	wire("00 00aa0101 0042", role == SMP_INITIATOR ? c.peer_addr :
							     c.local_addr,
	     7);
	if (role == SMP_INITIATOR) {
		c.resp_key_dist = SMP_DIST_ID_KEY;
		key_b(s->key);
	} else {
		c.resp_key_dist = SMP_DIST_ID_KEY;
		memset(c.irk, 0x1d, 16);
		c.id_type = 0;
		memcpy(c.id_addr.b, c.local_addr, 6);
		key_minus_b(s->key);
	}
	smp_init(&s->s, &c, &ops, s);
}

static int setup(void **state)
{
	(void)state;
	now = 1000 * SEC;
	tamper = NULL;
	side_init(&I, "initiator", SMP_INITIATOR);
	side_init(&R, "responder", SMP_RESPONDER);
	return 0;
}

/* Answer one side's controller requests. */
static bool serve(struct side *s)
{
	struct smp_request q;
	uint8_t out[16], rnd[8], dh[32];
	bool any = false;

	while (smp_request(&s->s, &q)) {
		any = true;
		smp_request_sent(&s->s, q.need);
		/* Asked once: not again until answered. */
		{
			struct smp_request again;

			assert_false(smp_request(&s->s, &again));
		}
		if (q.need == s->fail_need) {
			/* 0x12 Invalid HCI Command Parameters. */
			switch (q.need) {
			case SMP_NEED_AES:
				smp_on_aes(&s->s, 0x12, NULL, now);
				break;
			case SMP_NEED_RAND:
				smp_on_rand(&s->s, 0x12, NULL, now);
				break;
			case SMP_NEED_LOCAL_KEY:
				smp_on_local_key(&s->s, 0x12, NULL, now);
				break;
			case SMP_NEED_DHKEY:
				smp_on_dhkey(&s->s, 0x12, NULL, now);
				break;
			case SMP_NEED_NONE:
				fail();
			}
			continue;
		}
		switch (q.need) {
		case SMP_NEED_AES:
			s->aes_calls++;
			refaes_encrypt(q.aes.key, q.aes.in, out);
			smp_on_aes(&s->s, 0, out, now);
			break;
		case SMP_NEED_RAND:
			memset(rnd, (int)(s == &I ? 0xa0 : 0xb0) +
					    (int)s->rand_calls++,
			       sizeof(rnd));
			smp_on_rand(&s->s, 0, rnd, now);
			break;
		case SMP_NEED_LOCAL_KEY:
			smp_on_local_key(&s->s, 0, s->key, now);
			break;
		case SMP_NEED_DHKEY:
			/* Both controllers agree on the secret (what the
			 * ECDH would give); SMP cannot tell. */
			assert_non_null(q.peer_key);
			memset(dh, 0xdd, sizeof(dh));
			smp_on_dhkey(&s->s, 0, dh, now);
			break;
		case SMP_NEED_NONE:
			fail();
		}
	}
	return any;
}

static bool deliver(struct side *from, struct side *to)
{
	bool any = false;

	while (from->delivered < from->sent) {
		uint8_t p[SMP_MTU + 8];
		size_t n = from->len[from->delivered];

		memcpy(p, from->pdu[from->delivered++], n);
		any = true;
		if (tamper && !tamper(from, p, &n)) {
			continue;
		}
		smp_input(&to->s, p, n, now);
	}
	return any;
}

/* The controllers start encryption when the initiator asks: the
 * responder answers the LTK request from its pairing. */
static bool encrypt_link(void)
{
	uint8_t ltk[16];

	if (I.encrypts == 0 || smp_phase(&I.s) != SMP_ENCRYPTING) {
		return false;
	}
	assert_int_equal(smp_ltk(&R.s, ltk), 0);
	assert_memory_equal(ltk, I.ltk, 16);
	smp_on_encrypted(&R.s, true, now);
	smp_on_encrypted(&I.s, true, now);
	return true;
}

static void run(void)
{
	for (unsigned k = 0; k < 200; k++) {
		bool any = serve(&I) | serve(&R) | deliver(&I, &R) |
			   deliver(&R, &I) | encrypt_link();

		if (!any) {
			return;
		}
	}
	fail_msg("pairing did not settle");
}

static void codes(const struct side *s, const uint8_t *want, unsigned n)
{
	assert_int_equal(s->sent, n);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(s->pdu[i][0], want[i]);
	}
}

static void test_success(void **state)
{
	(void)state;
	assert_int_equal(smp_phase(&I.s), SMP_IDLE);
	assert_int_equal(smp_deadline(&I.s), UINT64_MAX);
	assert_int_equal(smp_start(&I.s, now), 0);
	assert_int_equal(smp_start(&I.s, now), -EALREADY);
	assert_int_equal(smp_start(&R.s, now), -EINVAL);
	assert_int_equal(smp_phase(&I.s), SMP_ACTIVE);
	run();
	assert_int_equal(I.done, 1);
	assert_int_equal(R.done, 1);
	assert_int_equal(I.err, 0);
	assert_int_equal(R.err, 0);
	/* Appendix C.2.2.1: Request, Public Key, Random, DHKey Check from
	 * the initiator; Response, Public Key, Confirm, Random, DHKey Check
	 * and (encrypted) the identity from the responder. */
	codes(&I, (const uint8_t[]){ 0x01, 0x0c, 0x04, 0x0d }, 4);
	codes(&R, (const uint8_t[]){ 0x02, 0x0c, 0x03, 0x04, 0x0d, 0x08, 0x09 },
	      7);
	/* Our features: NoInputNoOutput, no OOB, Bonding | SC, 16, and the
	 * identity key asked for. */
	assert_memory_equal(I.pdu[0],
			    ((uint8_t[]){ 0x01, 0x03, 0x00, 0x09, 16, 0x00,
					  0x02 }),
			    7);
	assert_memory_equal(R.pdu[0],
			    ((uint8_t[]){ 0x02, 0x03, 0x00, 0x09, 16, 0x00,
					  0x02 }),
			    7);
	/* Our keys went out as the controller gave them. */
	assert_memory_equal(I.pdu[1] + 1, I.key, 64);
	assert_memory_equal(R.pdu[1] + 1, R.key, 64);
	/* One LTK, used for encryption, in both results. */
	assert_int_equal(I.encrypts, 1);
	assert_int_equal(R.encrypts, 0);
	assert_memory_equal(I.keys.ltk, R.keys.ltk, 16);
	assert_memory_equal(I.keys.ltk, I.ltk, 16);
	assert_int_equal(I.keys.key_size, 16);
	assert_false(I.keys.authenticated);
	/* The responder's identity reached the initiator. */
	assert_true(I.keys.have_irk);
	assert_memory_equal(I.keys.irk, R.s.cfg.irk, 16);
	assert_memory_equal(I.keys.id_addr.b, R.s.cfg.local_addr, 6);
	assert_int_equal(smp_phase(&I.s), SMP_DONE);
	assert_int_equal(smp_phase(&R.s), SMP_DONE);
	assert_int_equal(smp_deadline(&I.s), UINT64_MAX);
	/* Nonces came from the controller: two LE Rand each. */
	assert_int_equal(I.rand_calls, 2);
	assert_int_equal(R.rand_calls, 2);
	/* And nothing more on this link. */
	assert_int_equal(smp_input(&I.s, R.pdu[0], 7, now), -EALREADY);
	assert_int_equal(I.sent, 4);
}

/* The same pairing without the identity: done at encryption. */
static void test_no_identity(void **state)
{
	(void)state;
	R.s.cfg.resp_key_dist = 0;
	assert_int_equal(smp_start(&I.s, now), 0);
	run();
	assert_int_equal(I.err, 0);
	assert_int_equal(R.err, 0);
	assert_false(I.keys.have_irk);
	assert_int_equal(R.pdu[0][6], 0x00);
	assert_int_equal(R.sent, 5);
}

/* Another LTK each time: the nonces differ. */
static void test_fresh_keys(void **state)
{
	uint8_t first[16];

	(void)state;
	assert_int_equal(smp_start(&I.s, now), 0);
	run();
	memcpy(first, I.keys.ltk, 16);
	setup(NULL);
	I.rand_calls = 7;
	assert_int_equal(smp_start(&I.s, now), 0);
	run();
	assert_int_equal(I.err, 0);
	assert_memory_not_equal(first, I.keys.ltk, 16);
}

static uint8_t drop_code;
static bool drop_refuse(struct side *from, uint8_t *pdu, size_t *len)
{
	(void)from;
	(void)len;
	return pdu[0] != drop_code;
}

static void test_peer_refuses(void **state)
{
	uint8_t failed[2] = { 0x05, 0x05 };

	(void)state;
	/* The responder never answers; a Pairing Failed comes instead. */
	drop_code = 0x02;
	tamper = drop_refuse;
	assert_int_equal(smp_start(&I.s, now), 0);
	run();
	assert_int_equal(I.done, 0);
	assert_int_equal(smp_input(&I.s, failed, 2, now), 0);
	assert_int_equal(I.done, 1);
	assert_int_equal(I.err, -EACCES);
	assert_int_equal(I.reason, 0x05);
	/* Nothing sent in answer to a failure; nothing more taken. */
	assert_int_equal(I.sent, 1);
	assert_int_equal(smp_phase(&I.s), SMP_FAILED);
	assert_int_equal(smp_input(&I.s, failed, 2, now), -EALREADY);
	assert_int_equal(I.done, 1);
}

static void test_responder_refuses_legacy(void **state)
{
	/* A legacy request (no SC), then one with a 7-octet key, then one
	 * claiming OOB data. */
	static const uint8_t reqs[3][7] = {
		{ 0x01, 0x03, 0x00, 0x01, 16, 0x00, 0x02 },
		{ 0x01, 0x03, 0x00, 0x09, 7, 0x00, 0x02 },
		{ 0x01, 0x03, 0x01, 0x09, 16, 0x00, 0x02 },
	};
	static const uint8_t why[3] = { 0x03, 0x06, 0x02 };

	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		setup(NULL);
		assert_int_equal(smp_input(&R.s, reqs[i], 7, now), 0);
		assert_int_equal(R.done, 1);
		assert_int_equal(R.err, -EOPNOTSUPP);
		assert_int_equal(R.sent, 1);
		assert_int_equal(R.pdu[0][0], 0x05);
		assert_int_equal(R.pdu[0][1], why[i]);
	}
}

/* The initiator refuses a legacy response the same way. */
static bool make_legacy(struct side *from, uint8_t *pdu, size_t *len)
{
	(void)len;
	if (from == &R && pdu[0] == 0x02) {
		pdu[3] &= (uint8_t)~0x08;
	}
	return true;
}

static void test_initiator_refuses_legacy(void **state)
{
	(void)state;
	tamper = make_legacy;
	assert_int_equal(smp_start(&I.s, now), 0);
	run();
	assert_int_equal(I.err, -EOPNOTSUPP);
	assert_int_equal(I.reason, 0x03);
	assert_int_equal(I.pdu[I.sent - 1][0], 0x05);
	/* The responder learns of it and stops too. */
	assert_int_equal(R.err, -EACCES);
	assert_int_equal(R.reason, 0x03);
}

static uint8_t flip_code;
static struct side *flip_from;
static bool flip(struct side *from, uint8_t *pdu, size_t *len)
{
	if (from == flip_from && pdu[0] == flip_code) {
		pdu[*len - 1] ^= 0x01;
	}
	return true;
}

static void test_bad_confirm(void **state)
{
	(void)state;
	/* A man in the middle changes Cb: the initiator's check of Nb
	 * against it fails (2.3.5.6.2). */
	flip_code = 0x03;
	flip_from = &R;
	tamper = flip;
	assert_int_equal(smp_start(&I.s, now), 0);
	run();
	assert_int_equal(I.err, -EBADMSG);
	assert_int_equal(I.reason, 0x04);
	assert_memory_equal(I.pdu[I.sent - 1], ((uint8_t[]){ 0x05, 0x04 }), 2);
	assert_int_equal(I.encrypts, 0);
	assert_int_equal(R.err, -EACCES);
}

static void test_bad_dhkey_check(void **state)
{
	(void)state;
	/* Ea changed: the responder refuses. */
	flip_code = 0x0d;
	flip_from = &I;
	tamper = flip;
	assert_int_equal(smp_start(&I.s, now), 0);
	run();
	assert_int_equal(R.err, -EBADMSG);
	assert_int_equal(R.reason, 0x0b);
	assert_int_equal(I.err, -EACCES);
	assert_int_equal(I.encrypts, 0);
	/* Eb changed: the initiator refuses and never encrypts. */
	setup(NULL);
	flip_code = 0x0d;
	flip_from = &R;
	tamper = flip;
	assert_int_equal(smp_start(&I.s, now), 0);
	run();
	assert_int_equal(I.err, -EBADMSG);
	assert_int_equal(I.reason, 0x0b);
	assert_int_equal(I.encrypts, 0);
}

/* Replace the responder's public key in flight. */
static uint8_t bad_key[64];
static struct side *bad_from;
static bool swap_key(struct side *from, uint8_t *pdu, size_t *len)
{
	if (from == bad_from && pdu[0] == 0x0c) {
		assert_int_equal(*len, 65);
		memcpy(pdu + 1, bad_key, 64);
	}
	return true;
}

static void test_bad_public_key(void **state)
{
	uint8_t keys[6][64];

	(void)state;
	/* Off the curve (one bit of Y; Y zeroed, the fixed-coordinate
	 * attack); X over p; all zero; the debug key; our own. */
	key_minus_b(keys[0]);
	keys[0][40] ^= 0x10;
	key_minus_b(keys[1]);
	memset(keys[1] + 32, 0, 32);
	memset(keys[2], 0xff, 64);
	memset(keys[3], 0, 64);
	wire("20b003d2 f297be2c 5e2c83a7 e9f9a5b9 eff49111 acf4fddb cc030148 "
	     "0e359de6",
	     keys[4], 32);
	wire("dc809c49 652aeb6d 63329abf 5a52155c 766345c2 8fed3024 741c8ed0 "
	     "1589d28b",
	     keys[4] + 32, 32);
	key_b(keys[5]);
	for (unsigned from = 0; from < 2; from++) {
		for (unsigned i = 0; i < 6; i++) {
			struct side *victim;

			setup(NULL);
			bad_from = from ? &R : &I;
			victim = from ? &I : &R;
			/* "Our own": the victim's key reflected. */
			memcpy(bad_key, i == 5 ? victim->key : keys[i], 64);
			tamper = swap_key;
			assert_int_equal(smp_start(&I.s, now), 0);
			run();
			assert_int_equal(victim->err, -EKEYREJECTED);
			assert_int_equal(victim->reason, 0x0b);
			assert_int_equal(victim->pdu[victim->sent - 1][0],
					 0x05);
			assert_int_equal(I.encrypts, 0);
		}
	}
}

/* The controller refuses the DHKey (7.8.37: an invalid remote key). */
static void test_controller_failures(void **state)
{
	(void)state;
	I.fail_need = SMP_NEED_DHKEY;
	assert_int_equal(smp_start(&I.s, now), 0);
	run();
	assert_int_equal(I.err, -EKEYREJECTED);
	assert_int_equal(I.reason, 0x0b);
	setup(NULL);
	R.fail_need = SMP_NEED_RAND;
	assert_int_equal(smp_start(&I.s, now), 0);
	run();
	assert_int_equal(R.err, -EIO);
	assert_int_equal(R.reason, 0x08);
	assert_int_equal(I.err, -EACCES);
	setup(NULL);
	I.fail_need = SMP_NEED_AES;
	assert_int_equal(smp_start(&I.s, now), 0);
	run();
	assert_int_equal(I.err, -EIO);
	setup(NULL);
	R.fail_need = SMP_NEED_LOCAL_KEY;
	assert_int_equal(smp_start(&I.s, now), 0);
	run();
	assert_int_equal(R.err, -EIO);
}

static bool drop_all(struct side *from, uint8_t *pdu, size_t *len)
{
	(void)from;
	(void)pdu;
	(void)len;
	return false;
}

static void test_timeout(void **state)
{
	uint64_t t0 = now;

	(void)state;
	tamper = drop_all;
	assert_int_equal(smp_start(&I.s, now), 0);
	run();
	/* 3.4: 30 s from the last PDU queued. */
	assert_int_equal(smp_deadline(&I.s), t0 + 30 * SEC);
	smp_tick(&I.s, t0 + 30 * SEC - 1);
	assert_int_equal(I.done, 0);
	smp_tick(&I.s, t0 + 30 * SEC);
	assert_int_equal(I.done, 1);
	assert_int_equal(I.err, -ETIMEDOUT);
	/* No Pairing Failed: nothing more goes out after a timeout. */
	assert_int_equal(I.sent, 1);
	assert_int_equal(smp_deadline(&I.s), UINT64_MAX);
	assert_int_equal(smp_input(&I.s, (const uint8_t[]){ 0x05, 0x08 }, 2,
				   now),
			 -EALREADY);
	assert_int_equal(I.done, 1);

	/* Each PDU sent restarts the timer: a pairing that makes progress
	 * every 20 s does not time out. */
	setup(NULL);
	assert_int_equal(smp_start(&I.s, now), 0);
	now += 20 * SEC;
	serve(&I);
	deliver(&I, &R);
	serve(&R);
	deliver(&R, &I);
	serve(&I);
	assert_int_equal(smp_deadline(&I.s), now + 30 * SEC);
	smp_tick(&I.s, now + 20 * SEC);
	assert_int_equal(I.done, 0);
	run();
	assert_int_equal(I.err, 0);
}

static void test_malformed(void **state)
{
	static const struct {
		uint8_t pdu[80];
		size_t len;
		uint8_t reason;
	} bad[] = {
		/* Oversized: a response with an extra octet. */
		{ { 0x02, 0x03, 0x00, 0x09, 16, 0x00, 0x02, 0x00 }, 8, 0x0a },
		/* Short. */
		{ { 0x02, 0x03, 0x00, 0x09, 16, 0x00 }, 6, 0x0a },
		/* Over the SMP MTU. */
		{ { 0x0c }, 66, 0x0a },
		/* Reserved IO capability. */
		{ { 0x02, 0x07, 0x00, 0x09, 16, 0x00, 0x02 }, 7, 0x0a },
		/* Unknown code. */
		{ { 0x3f, 0x00 }, 2, 0x07 },
		/* Out of order: a Random before anything. */
		{ { 0x04 }, 17, 0x08 },
		/* Keys we never asked for. */
		{ { 0x06 }, 17, 0x08 },
		/* Empty. */
		{ { 0 }, 0, 0x0a },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setup(NULL);
		assert_int_equal(smp_start(&I.s, now), 0);
		assert_true(smp_input(&I.s, bad[i].pdu, bad[i].len, now) < 0);
		assert_int_equal(I.done, 1);
		assert_int_equal(I.err, -EPROTO);
		assert_int_equal(I.reason, bad[i].reason);
		assert_int_equal(I.sent, 2);
		assert_memory_equal(I.pdu[1],
				    ((uint8_t[]){ 0x05, bad[i].reason }), 2);
	}
	/* A responder refuses the same way before any request. */
	setup(NULL);
	assert_int_equal(smp_input(&R.s, (const uint8_t[]){ 0x01, 0x03 }, 2,
				   now),
			 -EMSGSIZE);
	assert_int_equal(R.err, -EPROTO);
	/* An initiator that has not started ignores stray PDUs. */
	setup(NULL);
	assert_int_equal(smp_input(&I.s, (const uint8_t[]){ 0x02, 0x03 }, 2,
				   now),
			 -EMSGSIZE);
	assert_int_equal(I.done, 0);
	assert_int_equal(I.sent, 0);
}

static bool inject_hints(struct side *from, uint8_t *pdu, size_t *len)
{
	(void)len;
	if (from == &R && pdu[0] == 0x03) {
		/* Before the confirm: a Security Request and a keypress. */
		assert_int_equal(smp_input(&I.s,
					   (const uint8_t[]){ 0x0b, 0x09 }, 2,
					   now),
				 0);
		assert_int_equal(smp_input(&I.s,
					   (const uint8_t[]){ 0x0e, 0x01 }, 2,
					   now),
				 0);
	}
	return true;
}

static void test_hints_ignored(void **state)
{
	(void)state;
	tamper = inject_hints;
	assert_int_equal(smp_start(&I.s, now), 0);
	run();
	assert_int_equal(I.err, 0);
	assert_int_equal(R.err, 0);
}

/* Encryption fails after the keys were agreed: the pairing fails. */
static void test_encryption_fails(void **state)
{
	uint8_t ltk[16];

	(void)state;
	assert_int_equal(smp_start(&I.s, now), 0);
	for (unsigned k = 0; k < 100 && I.encrypts == 0; k++) {
		serve(&I);
		serve(&R);
		deliver(&I, &R);
		deliver(&R, &I);
	}
	assert_int_equal(I.encrypts, 1);
	assert_int_equal(smp_phase(&I.s), SMP_ENCRYPTING);
	smp_on_encrypted(&I.s, false, now);
	assert_int_equal(I.err, -EIO);
	/* smp_ltk() only while waiting for encryption. */
	assert_int_equal(smp_ltk(&R.s, ltk), 0);
	smp_on_encrypted(&R.s, false, now);
	assert_int_equal(smp_ltk(&R.s, ltk), -ENOENT);
	assert_int_equal(smp_ltk(&I.s, ltk), -ENOENT);
}

#define T(name, fn)                                                           \
	{                                                                     \
		"smp-pair/" name, fn, setup, NULL, NULL                       \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("success", test_success),
		T("no_identity", test_no_identity),
		T("fresh_keys", test_fresh_keys),
		T("peer_refuses", test_peer_refuses),
		T("responder_refuses_legacy", test_responder_refuses_legacy),
		T("initiator_refuses_legacy", test_initiator_refuses_legacy),
		T("bad_confirm", test_bad_confirm),
		T("bad_dhkey_check", test_bad_dhkey_check),
		T("bad_public_key", test_bad_public_key),
		T("controller_failures", test_controller_failures),
		T("timeout", test_timeout),
		T("malformed", test_malformed),
		T("hints_ignored", test_hints_ignored),
		T("encryption_fails", test_encryption_fails),
	};

	return cmocka_run_group_tests_name("smp-pair", tests, NULL, NULL);
}
