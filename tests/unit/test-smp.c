/* SPDX-License-Identifier: MIT */
/*
 * The pure parts under LE Secure Connections pairing, against published
 * data: AES-CMAC against RFC 4493's examples, f4/f5/f6 against the
 * sample data of Core 5.4, Vol 3, Part H, Appendix D (D.2 to D.4), the
 * P-256 check against the P-256 sample data set 1 (Vol 2, Part G,
 * 7.1.2.1, whose DHKey is D.3's W) and against keys that are off the
 * curve; the SMP PDU codec, the bond file parser, and the HCI security
 * codec byte by byte against Vol 4, Part E. The AES under the CMAC is
 * test-smp-aes.h's (FIPS 197), itself checked against FIPS 197, C.1.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/smp_bond.h"
#include "core/smp_crypto.h"
#include "core/smp_hci.h"
#include "core/smp_p256.h"
#include "core/smp_pdu.h"
#include "test-smp-aes.h"

/* Hex as the spec prints it (most significant first, spaces allowed)
 * into n octets; wire order reverses it. */
static void msb(const char *hex, uint8_t *out, size_t n)
{
	size_t k = 0;

	for (const char *p = hex; *p; p++) {
		unsigned v;

		if (*p == ' ') {
			continue;
		}
		assert_true(k < 2 * n);
		assert_int_equal(sscanf(p, "%1x", &v), 1);
		if (k % 2 == 0) {
			out[k / 2] = (uint8_t)(v << 4);
		} else {
			out[k / 2] |= (uint8_t)v;
		}
		k++;
	}
	assert_int_equal(k, 2 * n);
}

static void wire(const char *hex, uint8_t *out, size_t n)
{
	uint8_t t[64];

	assert_true(n <= sizeof(t));
	msb(hex, t, n);
	smp_swap(out, t, n);
}

/* Run a CMAC with the reference AES. */
static void run_cmac(struct smp_cmac *m)
{
	struct smp_aes req;
	uint8_t out[16];
	unsigned blocks = 0;

	while (smp_cmac_next(m, &req)) {
		refaes_encrypt(req.key, req.in, out);
		smp_cmac_feed(m, out);
		blocks++;
		assert_true(blocks < 16);
	}
}

static unsigned run_fn(struct smp_fn *f)
{
	struct smp_aes req;
	uint8_t out[16];
	unsigned blocks = 0;

	while (smp_fn_next(f, &req)) {
		refaes_encrypt(req.key, req.in, out);
		smp_fn_feed(f, out);
		blocks++;
		assert_true(blocks < 32);
	}
	assert_true(f->done);
	return blocks;
}

static void test_aes_fips197(void **state)
{
	uint8_t key[16], in[16], out[16], want[16];

	(void)state;
	/* FIPS 197, Appendix C.1. */
	msb("000102030405060708090a0b0c0d0e0f", key, 16);
	msb("00112233445566778899aabbccddeeff", in, 16);
	msb("69c4e0d86a7b0430d8cdb78070b4c55a", want, 16);
	refaes_encrypt(key, in, out);
	assert_memory_equal(out, want, 16);
}

static void test_cmac_rfc4493(void **state)
{
	static const struct {
		const char *msg;
		size_t len;
		const char *mac;
	} ex[] = {
		{ "", 0, "bb1d6929 e9593728 7fa37d12 9b756746" },
		{ "6bc1bee2 2e409f96 e93d7e11 7393172a", 16,
		  "070a16b4 6b4d4144 f79bdd9d d04a287c" },
		{ "6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c "
		  "9eb76fac 45af8e51 30c81c46 a35ce411",
		  40, "dfa66747 de9ae630 30ca3261 1497c827" },
		{ "6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c "
		  "9eb76fac 45af8e51 30c81c46 a35ce411 e5fbc119 1a0a52ef "
		  "f69f2445 df4f9b17 ad2b417b e66c3710",
		  64, "51f0bebf 7e3b9d92 fc497417 79363cfe" },
	};
	uint8_t key[16], msg[64], mac[16], want[16], k1[16], k2[16];
	struct smp_cmac m;

	(void)state;
	msb("2b7e1516 28aed2a6 abf71588 09cf4f3c", key, 16);
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		if (ex[i].len) {
			msb(ex[i].msg, msg, ex[i].len);
		}
		assert_int_equal(smp_cmac_start(&m, key, msg, ex[i].len), 0);
		run_cmac(&m);
		smp_cmac_result(&m, mac);
		msb(ex[i].mac, want, 16);
		assert_memory_equal(mac, want, 16);
	}
	/* RFC 4493 4: the subkeys of this key. */
	msb("fbeed618 35713366 7c85e08f 7236a8de", k1, 16);
	msb("f7ddac30 6ae266cc f90bc11e e46d513b", k2, 16);
	assert_memory_equal(m.k1, k1, 16);
	assert_memory_equal(m.k2, k2, 16);
	/* Longer than any SMP function needs: refused, not truncated. */
	assert_int_equal(smp_cmac_start(&m, key, msg, SMP_CMAC_MSG_MAX + 1),
			 -EMSGSIZE);
}

/* D.2, D.3, D.4 share these. */
#define D_U                                                                   \
	"20b003d2 f297be2c 5e2c83a7 e9f9a5b9 eff49111 acf4fddb cc030148 "      \
	"0e359de6"
#define D_V                                                                   \
	"55188b3d 32f6bb9a 900afcfb eed4e72a 59cb9ac2 f19d7cfb 6b4fdd49 "      \
	"f47fc5fd"
#define D_N1 "d5cb8454 d177733e ffffb2ec 712baeab"
#define D_N2 "a6e8e7cc 25a75f6e 216583f7 ff3dc4cf"
#define D_W                                                                   \
	"ec0234a3 57c8ad05 341010a6 0a397d9b 99796b13 b4f866f1 868d34f3 "      \
	"73bfa698"
#define D_A1 "00561237 37bfce"
#define D_A2 "00a71370 2dcfc1"
#define D_MACKEY "2965f176 a1084a02 fd3f6a20 ce636e20"
#define D_LTK "69867911 69d7cd23 980522b5 94750a38"

static void test_f4_sample(void **state)
{
	uint8_t u[32], v[32], x[16], want[16];
	struct smp_fn f;

	(void)state;
	/* D.2: f4(U, V, X, 0). */
	wire(D_U, u, 32);
	wire(D_V, v, 32);
	wire(D_N1, x, 16);
	wire("f2c916f1 07a9bd1c f1eda1be a974872d", want, 16);
	smp_f4_start(&f, u, v, x, 0);
	/* 65 octets: the subkey and five blocks. */
	assert_int_equal(run_fn(&f), 6);
	assert_memory_equal(f.out, want, 16);
	/* Z is part of the message. */
	smp_f4_start(&f, u, v, x, 1);
	run_fn(&f);
	assert_memory_not_equal(f.out, want, 16);
}

static void test_f5_sample(void **state)
{
	uint8_t w[32], n1[16], n2[16], a1[7], a2[7], mackey[16], ltk[16];
	struct smp_fn f;

	(void)state;
	/* D.3 */
	wire(D_W, w, 32);
	wire(D_N1, n1, 16);
	wire(D_N2, n2, 16);
	wire(D_A1, a1, 7);
	wire(D_A2, a2, 7);
	wire(D_MACKEY, mackey, 16);
	wire(D_LTK, ltk, 16);
	smp_f5_start(&f, w, n1, n2, a1, a2);
	run_fn(&f);
	assert_memory_equal(f.out, mackey, 16);
	assert_memory_equal(f.out + 16, ltk, 16);
}

static void test_f6_sample(void **state)
{
	uint8_t w[16], n1[16], n2[16], r[16], io[3], a1[7], a2[7], want[16];
	struct smp_fn f;

	(void)state;
	/* D.4: IOcap 010102 (AuthReq 01, OOB 01, IO capability 02). */
	wire(D_MACKEY, w, 16);
	wire(D_N1, n1, 16);
	wire(D_N2, n2, 16);
	wire("12a3343b b453bb54 08da42d2 0c2d0fc8", r, 16);
	wire("010102", io, 3);
	wire(D_A1, a1, 7);
	wire(D_A2, a2, 7);
	wire("e3c47398 9cd0e8c5 d26c0b09 da958f61", want, 16);
	smp_f6_start(&f, w, n1, n2, r, io, a1, a2);
	run_fn(&f);
	assert_memory_equal(f.out, want, 16);
	/* The wire order of IOcap: its first octet is the IO capability. */
	assert_int_equal(io[0], 0x02);
}

/* P-256 data set 1 (Vol 2, Part G, 7.1.2.1), wire order X || Y. */
static void key_a(uint8_t k[64])
{
	wire(D_U, k, 32);
	wire("dc809c49 652aeb6d 63329abf 5a52155c 766345c2 8fed3024 741c8ed0 "
	     "1589d28b",
	     k + 32, 32);
}

static void key_b(uint8_t k[64])
{
	wire("1ea1f0f0 1faf1d96 09592284 f19e4c00 47b58afd 8615a69f 559077b2 "
	     "2faaa190",
	     k, 32);
	wire("4c55f33e 429dad37 7356703a 9ab85160 472d1130 e28e3676 5f89aff9 "
	     "15b1214a",
	     k + 32, 32);
}

static void test_p256_check(void **state)
{
	uint8_t a[64], b[64], k[64];

	(void)state;
	key_a(a);
	key_b(b);
	assert_int_equal(smp_p256_check(a), 0);
	assert_int_equal(smp_p256_check(b), 0);
	/* Key A is the debug key (Vol 3, Part H, 2.3.5.6.1); B is not. */
	assert_true(smp_p256_is_debug_key(a));
	assert_false(smp_p256_is_debug_key(b));

	/* Off the curve: one bit of Y (the fixed-coordinate attack sends a
	 * point whose Y is changed, often to 0). */
	memcpy(k, b, 64);
	k[32] ^= 0x01;
	assert_int_equal(smp_p256_check(k), -EINVAL);
	memcpy(k, b, 64);
	memset(k + 32, 0, 32);
	assert_int_equal(smp_p256_check(k), -EINVAL);
	/* The point at infinity as some stacks write it. */
	memset(k, 0, 64);
	assert_int_equal(smp_p256_check(k), -EINVAL);
	/* Coordinates at or over p, even when they reduce to a point:
	 * X + p has the same X mod p. p is 2^256 - 2^224 + 2^192 + 2^96 - 1. */
	memset(k, 0xff, 64);
	assert_int_equal(smp_p256_check(k), -EINVAL);
	wire("ffffffff 00000001 00000000 00000000 00000000 ffffffff ffffffff "
	     "ffffffff",
	     k, 32);
	memcpy(k + 32, b + 32, 32);
	assert_int_equal(smp_p256_check(k), -EINVAL);
	/* (x, -y) is on the curve too. */
	{
		/* -y = p - y: computed by hand from B's Y. */
		uint8_t p[32], y[32], neg[32];
		int borrow = 0;

		wire("ffffffff 00000001 00000000 00000000 00000000 ffffffff "
		     "ffffffff ffffffff",
		     p, 32);
		memcpy(y, b + 32, 32);
		for (unsigned i = 0; i < 32; i++) {
			int d = p[i] - y[i] - borrow;

			borrow = d < 0;
			neg[i] = (uint8_t)(d + (borrow ? 256 : 0));
		}
		memcpy(k, b, 32);
		memcpy(k + 32, neg, 32);
		assert_int_equal(smp_p256_check(k), 0);
	}
}

/* ---- PDUs ---------------------------------------------------------- */

static void test_pdu_table(void **state)
{
	static const struct {
		uint8_t code;
		size_t len;
	} sizes[] = {
		{ 0x01, 7 },  { 0x02, 7 },  { 0x03, 17 }, { 0x04, 17 },
		{ 0x05, 2 },  { 0x06, 17 }, { 0x07, 11 }, { 0x08, 17 },
		{ 0x09, 8 },  { 0x0a, 17 }, { 0x0b, 2 },  { 0x0c, 65 },
		{ 0x0d, 17 }, { 0x0e, 2 },
	};
	uint8_t b[80];
	struct smp_pdu m;

	(void)state;
	memset(b, 0, sizeof(b));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		b[0] = sizes[i].code;
		/* Valid field values for the pairing features. */
		b[1] = 0x01; /* valid IO capability, address type, keypress */
		b[2] = 0;
		b[4] = 16;
		assert_int_equal(smp_pdu_size(sizes[i].code), sizes[i].len);
		assert_int_equal(smp_pdu_decode(b, sizes[i].len, &m), 0);
		/* One octet short, one long: refused (3.3). */
		assert_int_equal(smp_pdu_decode(b, sizes[i].len - 1, &m),
				 -EMSGSIZE);
		assert_int_equal(smp_pdu_decode(b, sizes[i].len + 1, &m),
				 -EMSGSIZE);
	}
	assert_int_equal(smp_pdu_decode(b, 0, &m), -EBADMSG);
	b[0] = 0x00;
	assert_int_equal(smp_pdu_decode(b, 2, &m), -ENOMSG);
	b[0] = 0x0f;
	assert_int_equal(smp_pdu_decode(b, 2, &m), -ENOMSG);
	b[0] = 0xff;
	assert_int_equal(smp_pdu_decode(b, 2, &m), -ENOMSG);
}

static void test_pdu_pairing_ranges(void **state)
{
	uint8_t req[7] = { 0x01, 0x03, 0x00, 0xcd, 16, 0xf3, 0xf2 };
	struct smp_pdu m;
	uint8_t out[7];
	size_t n;

	(void)state;
	assert_int_equal(smp_pdu_decode(req, 7, &m), 0);
	assert_int_equal(m.pairing.io_cap, SMP_IO_NO_INPUT_NO_OUTPUT);
	/* Reserved bits ignored and cleared (3.5.1). */
	assert_int_equal(m.pairing.auth_req, 0x0d);
	assert_int_equal(m.pairing.init_key_dist, 0x03);
	assert_int_equal(m.pairing.resp_key_dist, 0x02);
	assert_int_equal(smp_pdu_encode(&m, out, sizeof(out), &n), 0);
	assert_int_equal(n, 7);
	assert_memory_equal(out, ((uint8_t[]){ 0x01, 0x03, 0x00, 0x0d, 16,
					       0x03, 0x02 }),
			    7);
	/* Reserved IO capability, OOB flag and key sizes. */
	req[1] = 0x05;
	assert_int_equal(smp_pdu_decode(req, 7, &m), -ERANGE);
	req[1] = 0x04;
	req[2] = 0x02;
	assert_int_equal(smp_pdu_decode(req, 7, &m), -ERANGE);
	req[2] = 0x01;
	req[4] = 6;
	assert_int_equal(smp_pdu_decode(req, 7, &m), -ERANGE);
	req[4] = 17;
	assert_int_equal(smp_pdu_decode(req, 7, &m), -ERANGE);
	req[4] = 7;
	assert_int_equal(smp_pdu_decode(req, 7, &m), 0);
	/* Identity address type: public or static random only. */
	assert_int_equal(
		smp_pdu_decode((uint8_t[]){ 0x09, 0x02, 1, 2, 3, 4, 5, 6 }, 8,
			       &m),
		-ERANGE);
	assert_int_equal(
		smp_pdu_decode((uint8_t[]){ 0x09, 0x01, 1, 2, 3, 4, 5, 6 }, 8,
			       &m),
		0);
	assert_int_equal(m.id_addr.addr.b[0], 1);
	assert_int_equal(smp_pdu_decode((uint8_t[]){ 0x0e, 0x05 }, 2, &m),
			 -ERANGE);
	/* The encoder refuses what the decoder would. */
	m.code = SMP_PAIRING_REQUEST;
	m.pairing.io_cap = 9;
	m.pairing.max_key_size = 16;
	assert_int_equal(smp_pdu_encode(&m, out, sizeof(out), &n), -EINVAL);
	m.code = 0x42;
	assert_int_equal(smp_pdu_encode(&m, out, sizeof(out), &n), -EINVAL);
	m.code = SMP_PAIRING_FAILED;
	m.reason = 4;
	assert_int_equal(smp_pdu_encode(&m, out, 1, &n), -ENOBUFS);
	assert_string_equal(smp_reason_name(4), "confirm value failed");
	assert_string_equal(smp_reason_name(0x99), "unknown reason");
}

/* ---- bonds --------------------------------------------------------- */

static void sample_bond(struct smp_bond *b)
{
	memset(b, 0, sizeof(*b));
	assert_int_equal(smp_bdaddr_parse("00:AA:01:00:00:42", 17, &b->local),
			 0);
	assert_int_equal(smp_bdaddr_parse("00:AA:01:01:00:42", 17, &b->peer),
			 0);
	for (unsigned i = 0; i < 16; i++) {
		b->ltk[i] = (uint8_t)(0xa0 + i);
		b->irk[i] = (uint8_t)i;
	}
	b->key_size = 16;
	b->secure_connections = true;
	b->have_irk = true;
	b->id_type = 0;
	b->id_addr = b->peer;
}

static void test_bond_round_trip(void **state)
{
	char text[SMP_BOND_TEXT_MAX], name[SMP_BOND_NAME_MAX];
	struct smp_bond b, c;
	unsigned line = 99;
	size_t n;

	(void)state;
	sample_bond(&b);
	assert_int_equal(b.local.b[0], 0x42);
	assert_int_equal(b.local.b[5], 0x00);
	assert_int_equal(smp_bond_format(&b, text, sizeof(text), &n), 0);
	assert_int_equal(strlen(text), n);
	assert_non_null(strstr(text, "ltk=a0a1a2a3"));
	assert_non_null(strstr(text, "local=00:AA:01:00:00:42\n"));
	assert_int_equal(smp_bond_parse(text, n, &c, &line), 0);
	assert_memory_equal(&b, &c, sizeof(b));
	b.have_irk = false;
	assert_int_equal(smp_bond_format(&b, text, sizeof(text), &n), 0);
	assert_null(strstr(text, "irk="));
	assert_int_equal(smp_bond_parse(text, n, &c, NULL), 0);
	assert_false(c.have_irk);
	assert_int_equal(smp_bond_format(&b, text, 40, &n), -ENOBUFS);
	assert_int_equal(smp_bond_name(&b.local, &b.peer, 1, name,
				       sizeof(name)),
			 0);
	assert_string_equal(name, "bond-00AA01000042-00AA01010042-random");
	assert_int_equal(smp_bond_name(&b.local, &b.peer, 2, name,
				       sizeof(name)),
			 -EINVAL);
}

/* Each row breaks one thing in a valid file: the parser refuses it. */
static void test_bond_hostile(void **state)
{
	static const struct {
		const char *find, *replace;
		unsigned line; /* 0: a missing key */
	} bad[] = {
		{ "version=1", "version=2", 2 },
		{ "version=1\n", "", 0 },
		{ "ltk=a0a1a2a3", "ltk=a0a1a2", 6 },
		{ "ltk=a0a1a2a3", "ltk=g0a1a2a3", 6 },
		{ "key_size=16", "key_size=17", 9 },
		{ "key_size=16", "key_size=6", 9 },
		{ "key_size=16", "key_size=016", 9 },
		{ "ediv=0", "ediv=65536", 7 },
		{ "ediv=0", "ediv=-1", 7 },
		{ "peer_type=public", "peer_type=both", 5 },
		{ "authenticated=no", "authenticated=0", 10 },
		{ "local=00:AA:01:00:00:42", "local=00:AA:01:00:00:4", 3 },
		{ "local=00:AA:01:00:00:42", "local=00-AA-01-00-00-42", 3 },
		{ "peer=", "peer =", 4 },
		{ "rand=", "rand=00", 8 },
		{ "identity_type=public\n", "", 0 },
		{ "secure_connections=yes\n",
		  "secure_connections=yes\nsecure_connections=yes\n", 12 },
		{ "# ttws", "bogus line\n# ttws", 1 },
		{ "secure_connections=yes\n", "secure_connections=yes\nx=1\n",
		  12 },
	};
	char text[SMP_BOND_TEXT_MAX], bent[SMP_BOND_TEXT_MAX + 64];
	struct smp_bond b, c;
	size_t n;

	(void)state;
	sample_bond(&b);
	assert_int_equal(smp_bond_format(&b, text, sizeof(text), &n), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *at = strstr(text, bad[i].find);
		unsigned line = 999;
		size_t pre;

		assert_non_null(at);
		pre = (size_t)(at - text);
		snprintf(bent, sizeof(bent), "%.*s%s%s", (int)pre, text,
			 bad[i].replace, at + strlen(bad[i].find));
		memset(&c, 0x5a, sizeof(c));
		assert_int_equal(smp_bond_parse(bent, strlen(bent), &c, &line),
				 -EBADMSG);
		assert_int_equal(line, bad[i].line);
		/* Untouched on error. */
		assert_int_equal(c.key_size, 0x5a);
	}
	/* An all-zero LTK is no key. */
	memset(b.ltk, 0, sizeof(b.ltk));
	assert_int_equal(smp_bond_format(&b, text, sizeof(text), &n), 0);
	assert_int_equal(smp_bond_parse(text, n, &c, NULL), -EBADMSG);
	/* A NUL inside, and a line too long. */
	sample_bond(&b);
	assert_int_equal(smp_bond_format(&b, text, sizeof(text), &n), 0);
	text[10] = '\0';
	assert_int_equal(smp_bond_parse(text, n, &c, NULL), -EBADMSG);
	memset(bent, '#', 200);
	assert_int_equal(smp_bond_parse(bent, 200, &c, NULL), -EBADMSG);
	/* Comments and blank lines are fine; so is a missing last newline. */
	sample_bond(&b);
	assert_int_equal(smp_bond_format(&b, text, sizeof(text), &n), 0);
	snprintf(bent, sizeof(bent), "\n# x\n\n%.*s", (int)(n - 1), text);
	assert_int_equal(smp_bond_parse(bent, strlen(bent), &c, NULL), 0);
}

/* ---- HCI ------------------------------------------------------------ */

static void test_hci_commands(void **state)
{
	uint8_t k[16], p[16], ltk[16], rnd[8], key[64], b[300];
	size_t n;

	(void)state;
	for (unsigned i = 0; i < 16; i++) {
		k[i] = (uint8_t)i;
		p[i] = (uint8_t)(0x10 + i);
		ltk[i] = (uint8_t)(0x20 + i);
	}
	memset(rnd, 0x77, sizeof(rnd));
	memset(key, 0x33, sizeof(key));
	/* 7.8.22: opcode 0x2017, 32 octets: Key, Plaintext_Data. */
	assert_int_equal(smp_hci_le_encrypt(k, p, b, sizeof(b), &n), 0);
	assert_int_equal(n, 35);
	assert_memory_equal(b, ((uint8_t[]){ 0x17, 0x20, 32 }), 3);
	assert_memory_equal(b + 3, k, 16);
	assert_memory_equal(b + 19, p, 16);
	/* 7.8.23 */
	assert_int_equal(smp_hci_le_rand(b, sizeof(b), &n), 0);
	assert_memory_equal(b, ((uint8_t[]){ 0x18, 0x20, 0 }), 3);
	/* 7.8.24: handle, Random_Number, EDIV, LTK. */
	assert_int_equal(smp_hci_le_enable_encryption(0x0102, rnd, 0xbeef, ltk,
						      b, sizeof(b), &n),
			 0);
	assert_int_equal(n, 31);
	assert_memory_equal(b, ((uint8_t[]){ 0x19, 0x20, 28, 0x02, 0x01 }),
			    5);
	assert_memory_equal(b + 5, rnd, 8);
	assert_memory_equal(b + 13, ((uint8_t[]){ 0xef, 0xbe }), 2);
	assert_memory_equal(b + 15, ltk, 16);
	assert_int_equal(smp_hci_le_enable_encryption(0x0f00, rnd, 0, ltk, b,
						      sizeof(b), &n),
			 -EINVAL);
	/* 7.8.25, 7.8.26 */
	assert_int_equal(smp_hci_le_ltk_reply(0x0040, ltk, b, sizeof(b), &n),
			 0);
	assert_memory_equal(b, ((uint8_t[]){ 0x1a, 0x20, 18, 0x40, 0x00 }), 5);
	assert_memory_equal(b + 5, ltk, 16);
	assert_int_equal(smp_hci_le_ltk_neg_reply(0x0040, b, sizeof(b), &n),
			 0);
	assert_int_equal(n, 5);
	assert_memory_equal(b, ((uint8_t[]){ 0x1b, 0x20, 2, 0x40, 0x00 }), 5);
	/* 7.8.36, 7.8.37 */
	assert_int_equal(smp_hci_le_read_local_p256(b, sizeof(b), &n), 0);
	assert_memory_equal(b, ((uint8_t[]){ 0x25, 0x20, 0 }), 3);
	assert_int_equal(smp_hci_le_generate_dhkey(key, b, sizeof(b), &n), 0);
	assert_int_equal(n, 67);
	assert_memory_equal(b, ((uint8_t[]){ 0x26, 0x20, 64 }), 3);
	assert_memory_equal(b + 3, key, 64);
	assert_int_equal(smp_hci_le_generate_dhkey(key, b, 20, &n), -ENOBUFS);
}

static void test_hci_events(void **state)
{
	uint8_t e[80];
	struct smp_hci_evt m;

	(void)state;
	/* 7.7.8: Encryption Change v1. */
	assert_int_equal(smp_hci_evt_decode((uint8_t[]){ 0x08, 4, 0x00, 0x41,
							 0xf0, 0x01 },
					    6, &m),
			 0);
	assert_int_equal(m.kind, SMP_HCI_ENCRYPTION_CHANGE);
	assert_int_equal(m.handle, 0x041);
	assert_int_equal(m.enabled, 1);
	assert_int_equal(smp_hci_evt_decode((uint8_t[]){ 0x08, 3, 0, 0x41, 0 },
					    5, &m),
			 -ENODATA);
	assert_int_equal(smp_hci_evt_decode((uint8_t[]){ 0x08, 5, 0, 0x41, 0,
							 1, 9 },
					    7, &m),
			 -EMSGSIZE);
	assert_int_equal(smp_hci_evt_decode((uint8_t[]){ 0x08, 4, 0, 0x41 }, 4,
					    &m),
			 -EOVERFLOW);
	assert_int_equal(smp_hci_evt_decode((uint8_t[]){ 0x08 }, 1, &m),
			 -EBADMSG);
	/* 7.7.39 */
	assert_int_equal(smp_hci_evt_decode((uint8_t[]){ 0x30, 3, 0x06, 0x41,
							 0x00 },
					    5, &m),
			 0);
	assert_int_equal(m.kind, SMP_HCI_KEY_REFRESH_COMPLETE);
	assert_int_equal(m.status, 0x06);
	/* 7.7.65.5: LTK Request: handle, Random_Number, EDIV. */
	memset(e, 0, sizeof(e));
	e[0] = 0x3e;
	e[1] = 13;
	e[2] = 0x05;
	e[3] = 0x42;
	e[4] = 0x00;
	e[5] = 0x11;
	e[13] = 0x34;
	e[14] = 0x12;
	assert_int_equal(smp_hci_evt_decode(e, 15, &m), 0);
	assert_int_equal(m.kind, SMP_HCI_LTK_REQUEST);
	assert_int_equal(m.handle, 0x042);
	assert_int_equal(m.rand[0], 0x11);
	assert_int_equal(m.ediv, 0x1234);
	e[1] = 12;
	assert_int_equal(smp_hci_evt_decode(e, 14, &m), -ENODATA);
	/* 7.7.65.8, 7.7.65.9 */
	memset(e, 0xab, sizeof(e));
	e[0] = 0x3e;
	e[1] = 66;
	e[2] = 0x08;
	e[3] = 0x00;
	assert_int_equal(smp_hci_evt_decode(e, 68, &m), 0);
	assert_int_equal(m.kind, SMP_HCI_LOCAL_P256);
	assert_int_equal(m.key[63], 0xab);
	e[1] = 34;
	e[2] = 0x09;
	e[3] = 0x12;
	assert_int_equal(smp_hci_evt_decode(e, 36, &m), 0);
	assert_int_equal(m.kind, SMP_HCI_DHKEY);
	assert_int_equal(m.status, 0x12);
	e[1] = 35;
	assert_int_equal(smp_hci_evt_decode(e, 37, &m), -EMSGSIZE);
	/* Not ours: hci.c's events and other LE subevents. */
	assert_int_equal(smp_hci_evt_decode((uint8_t[]){ 0x05, 4, 0, 1, 0,
							 0x13 },
					    6, &m),
			 -ENOMSG);
	assert_int_equal(smp_hci_evt_decode((uint8_t[]){ 0x3e, 1, 0x01 }, 3,
					    &m),
			 -ENOMSG);
	assert_int_equal(smp_hci_evt_decode((uint8_t[]){ 0x3e, 0 }, 2, &m),
			 -ENOMSG);
}

static void test_hci_cc_data(void **state)
{
	uint8_t params[17], out[16];
	struct hci_evt_cmd_complete cc = { .params = params };

	(void)state;
	memset(params, 0x5c, sizeof(params));
	params[0] = 0;
	cc.params_len = 17;
	cc.status = 0;
	assert_int_equal(smp_hci_cc_data(&cc, out, 16), 0);
	assert_int_equal(out[15], 0x5c);
	cc.params_len = 16;
	assert_int_equal(smp_hci_cc_data(&cc, out, 16), -EBADMSG);
	cc.params_len = 18;
	assert_int_equal(smp_hci_cc_data(&cc, out, 16), -EBADMSG);
	cc.params_len = 1;
	cc.status = 0x0c;
	params[0] = 0x0c;
	assert_int_equal(smp_hci_cc_data(&cc, out, 16), -EIO);
	cc.params = NULL;
	cc.params_len = 0;
	cc.status = 0;
	assert_int_equal(smp_hci_cc_data(&cc, out, 16), -EBADMSG);
}

#define T(name, fn)                                                           \
	{                                                                     \
		"smp/" name, fn, NULL, NULL, NULL                             \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("aes_fips197", test_aes_fips197),
		T("cmac_rfc4493", test_cmac_rfc4493),
		T("f4_sample", test_f4_sample),
		T("f5_sample", test_f5_sample),
		T("f6_sample", test_f6_sample),
		T("p256_check", test_p256_check),
		T("pdu_table", test_pdu_table),
		T("pdu_pairing_ranges", test_pdu_pairing_ranges),
		T("bond_round_trip", test_bond_round_trip),
		T("bond_hostile", test_bond_hostile),
		T("hci_commands", test_hci_commands),
		T("hci_events", test_hci_events),
		T("hci_cc_data", test_hci_cc_data),
	};

	return cmocka_run_group_tests_name("smp", tests, NULL, NULL);
}
