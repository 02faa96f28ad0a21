/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for LE Secure Connections pairing (src/core/smp*.c,
 * through smp.h, smp_pdu.h, smp_hci.h and smp_p256.h), without the HCI
 * host around it (fuzz-hcihost reaches it only behind a whole link).
 *
 * Two pairings run against each other: an initiator I and a responder R,
 * both core/smp, each with its own controller played by the harness. The
 * input is a script (first octet: the two configurations, then one octet
 * naming each step and the octets it takes) that makes the wire and the
 * controllers hostile:
 *   - deliver, drop or tamper with (flip an octet, change the length or
 *     the code) the next PDU one side sent, or inject any PDU (mostly the
 *     codes 0x01..0x0e, fuzzed fields, mostly their right lengths; public
 *     keys from a table of valid and invalid points or raw);
 *   - answer the request a side has out (smp_request()): honestly, with
 *     fuzzed data (a P-256 key off the table or raw, a DHKey, an AES
 *     block, random octets), with a failure status, or answer something
 *     that was not asked;
 *   - Encryption Change, honest (the responder's LTK must be the
 *     initiator's) or raw; the passing of time (smp_tick()); smp_start()
 *     and smp_reset() (a new link);
 *   - "auto": what an honest wire and controller do next, so that the
 *     fuzzer reaches key distribution cheaply and spends its effort past
 *     it;
 *   - raw octets into the decoders: smp_pdu_decode() against the sizes
 *     and ranges of Core 5.4, Vol 3, Part H, 3.3 to 3.6 written again
 *     here, smp_hci_evt_decode(), smp_hci_cc_data() and
 *     smp_p256_check().
 *
 * The controller's AES is a cheap keyed mixing function, not AES: the
 * block cipher is the controller's, not under test, and f4/f5/f6 and the
 * state machine are the same whatever block they are built on (the unit
 * tests check them against the specification's vectors with real AES).
 * The P-256 check is the real one; it costs ~0.1 ms unoptimized, so one
 * input may present at most KEY_BUDGET public keys (further ones are
 * not delivered).
 *
 * TTWS_FUZZ_DEBUG=1 traces the steps, the PDUs and how each side ended.
 *
 * Beyond memory safety, UB and leaks, every step checks, for each side:
 *   - every PDU it sends decodes with smp_pdu_decode(), fits SMP_MTU and
 *     is one its role sends, in the order of Appendix C.2.2.1, each at
 *     most once: features, public key (the one its controller gave),
 *     confirm (responder), random (the nonce its controller gave), DHKey
 *     check, identity (responder, only once encrypted); Pairing Failed at
 *     most once, and after it and after ops->done nothing at all;
 *   - its own features are Just Works, Secure Connections, 16 octets; a
 *     Pairing Response offers only what the request asked for;
 *   - a peer's features are taken only with Secure Connections, no OOB
 *     and a 16-octet key (so never a size outside 7..16);
 *   - a peer's public key is taken (asked a DHKey for) only if it is one
 *     of the valid, non-debug points of the table and not our own: raw
 *     octets, points off the curve or with a coordinate over p never;
 *   - ops->done once per pairing, with an error smp.h names, at the step
 *     that error belongs to (-ETIMEDOUT from smp_tick() at or after 30 s
 *     from the last PDU sent, -EACCES on the peer's Pairing Failed, both
 *     sending nothing; -EPROTO, -EBADMSG, -EKEYREJECTED, -EOPNOTSUPP after
 *     sending Pairing Failed with the reason reported);
 *   - success only after the DHKey check stage and encryption: the
 *     initiator called ops->encrypt once, after the peer's DHKey check,
 *     with the LTK it reports; with honest AES, the confirm and check
 *     values the peer sent are the ones f4/f5/f6 give on the values seen
 *     on the wire and the DHKey the controller gave, and so is the LTK;
 *     the identity reported is the one received, when it was agreed;
 *   - the phase only moves forward; smp_deadline() is 30 s after the
 *     last PDU sent while pairing, UINT64_MAX otherwise; smp_ltk() only
 *     at a responder waiting for encryption; one request out at a time,
 *     each consistent with what the pairing already has.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/smp.h"
#include "core/smp_hci.h"

#include "fuzz-check.h"
#include "fuzz-input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MS 1000000ull
#define SEC (1000 * MS)
/* Public keys one input may present (a P-256 check each, at most). */
#define KEY_BUDGET 6
/* smp_reset()s one input may do (each new pairing may check keys). */
#define RESET_MAX 2
#define NQUEUE 32

static void take(struct input *in, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		out[i] = take8(in);
	}
}

/*
 * Points for public keys, wire order (X then Y, least significant octet
 * first). The first NVALID are on P-256 and neither the debug key nor
 * special: G, 2G, 3G, -G (SEC 2, 2.4.2), sample B of Core 5.4, Vol 2,
 * Part G, 7.1.2.1, and (0, sqrt(b)). Then the debug key (on the curve,
 * refused), (p, sqrt(b)) (on the curve modulo p, but X is not a field
 * element), zero, and G with Y off by one.
 */
#define NVALID 6
#define NKEYS 10
static const uint8_t keys[NKEYS][64] = {
	{ 0x96, 0xc2, 0x98, 0xd8, 0x45, 0x39, 0xa1, 0xf4, 0xa0, 0x33, 0xeb,
	  0x2d, 0x81, 0x7d, 0x03, 0x77, 0xf2, 0x40, 0xa4, 0x63, 0xe5, 0xe6,
	  0xbc, 0xf8, 0x47, 0x42, 0x2c, 0xe1, 0xf2, 0xd1, 0x17, 0x6b, 0xf5,
	  0x51, 0xbf, 0x37, 0x68, 0x40, 0xb6, 0xcb, 0xce, 0x5e, 0x31, 0x6b,
	  0x57, 0x33, 0xce, 0x2b, 0x16, 0x9e, 0x0f, 0x7c, 0x4a, 0xeb, 0xe7,
	  0x8e, 0x9b, 0x7f, 0x1a, 0xfe, 0xe2, 0x42, 0xe3, 0x4f },
	{ 0x78, 0x99, 0x66, 0x47, 0xfc, 0x48, 0x0b, 0xa6, 0x35, 0x1b, 0xf2,
	  0x77, 0xe2, 0x69, 0x89, 0xc0, 0xc3, 0x1a, 0xb5, 0x04, 0x03, 0x38,
	  0x52, 0x8a, 0x7e, 0x4f, 0x03, 0x8d, 0x18, 0x7b, 0xf2, 0x7c, 0xd1,
	  0x73, 0x78, 0x22, 0x9d, 0xb7, 0x04, 0x9e, 0x29, 0x82, 0xe9, 0x3c,
	  0xe6, 0xad, 0x7d, 0xba, 0xdb, 0x30, 0x74, 0x9f, 0xc6, 0x9a, 0x3d,
	  0x29, 0x40, 0xd0, 0x8e, 0xdb, 0x10, 0x55, 0x77, 0x07 },
	{ 0x6c, 0xfd, 0xe7, 0xc6, 0x1b, 0x66, 0x41, 0xfb, 0x85, 0xa9, 0xad,
	  0xef, 0x21, 0xb7, 0xc6, 0xe6, 0x65, 0xf1, 0x4b, 0x1d, 0x95, 0xef,
	  0xf7, 0xc8, 0x44, 0x0a, 0x33, 0xa6, 0xd1, 0xe4, 0xcb, 0x5e, 0x32,
	  0x50, 0x7d, 0xa2, 0x27, 0xb1, 0x79, 0x9a, 0x3d, 0xb8, 0x4f, 0x38,
	  0x36, 0xb0, 0x2a, 0xd8, 0xec, 0xa2, 0x64, 0x1a, 0xce, 0x06, 0x4b,
	  0x37, 0x7e, 0xff, 0x98, 0x49, 0x0c, 0x64, 0x34, 0x87 },
	{ 0x96, 0xc2, 0x98, 0xd8, 0x45, 0x39, 0xa1, 0xf4, 0xa0, 0x33, 0xeb,
	  0x2d, 0x81, 0x7d, 0x03, 0x77, 0xf2, 0x40, 0xa4, 0x63, 0xe5, 0xe6,
	  0xbc, 0xf8, 0x47, 0x42, 0x2c, 0xe1, 0xf2, 0xd1, 0x17, 0x6b, 0x0a,
	  0xae, 0x40, 0xc8, 0x97, 0xbf, 0x49, 0x34, 0x31, 0xa1, 0xce, 0x94,
	  0xa9, 0xcc, 0x31, 0xd4, 0xe9, 0x61, 0xf0, 0x83, 0xb5, 0x14, 0x18,
	  0x71, 0x65, 0x80, 0xe5, 0x01, 0x1c, 0xbd, 0x1c, 0xb0 },
	{ 0x90, 0xa1, 0xaa, 0x2f, 0xb2, 0x77, 0x90, 0x55, 0x9f, 0xa6, 0x15,
	  0x86, 0xfd, 0x8a, 0xb5, 0x47, 0x00, 0x4c, 0x9e, 0xf1, 0x84, 0x22,
	  0x59, 0x09, 0x96, 0x1d, 0xaf, 0x1f, 0xf0, 0xf0, 0xa1, 0x1e, 0x4a,
	  0x21, 0xb1, 0x15, 0xf9, 0xaf, 0x89, 0x5f, 0x76, 0x36, 0x8e, 0xe2,
	  0x30, 0x11, 0x2d, 0x47, 0x60, 0x51, 0xb8, 0x9a, 0x3a, 0x70, 0x56,
	  0x73, 0x37, 0xad, 0x9d, 0x42, 0x3e, 0xf3, 0x55, 0x4c },
	{ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf4,
	  0x93, 0x4f, 0x17, 0x6a, 0x85, 0xbf, 0x28, 0x17, 0x87, 0xae, 0x1d,
	  0xf3, 0x2a, 0x1c, 0x54, 0xb6, 0x6b, 0xa0, 0x84, 0x5d, 0xbd, 0x33,
	  0x24, 0xd7, 0x83, 0x2f, 0x0e, 0x78, 0x5c, 0x48, 0x66 },
	/* Vol 3, Part H, 2.3.5.6.1: the debug key. */
	{ 0xe6, 0x9d, 0x35, 0x0e, 0x48, 0x01, 0x03, 0xcc, 0xdb, 0xfd, 0xf4,
	  0xac, 0x11, 0x91, 0xf4, 0xef, 0xb9, 0xa5, 0xf9, 0xe9, 0xa7, 0x83,
	  0x2c, 0x5e, 0x2c, 0xbe, 0x97, 0xf2, 0xd2, 0x03, 0xb0, 0x20, 0x8b,
	  0xd2, 0x89, 0x15, 0xd0, 0x8e, 0x1c, 0x74, 0x24, 0x30, 0xed, 0x8f,
	  0xc2, 0x45, 0x63, 0x76, 0x5c, 0x15, 0x52, 0x5a, 0xbf, 0x9a, 0x32,
	  0x63, 0x6d, 0xeb, 0x2a, 0x65, 0x49, 0x9c, 0x80, 0xdc },
	{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	  0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xf4,
	  0x93, 0x4f, 0x17, 0x6a, 0x85, 0xbf, 0x28, 0x17, 0x87, 0xae, 0x1d,
	  0xf3, 0x2a, 0x1c, 0x54, 0xb6, 0x6b, 0xa0, 0x84, 0x5d, 0xbd, 0x33,
	  0x24, 0xd7, 0x83, 0x2f, 0x0e, 0x78, 0x5c, 0x48, 0x66 },
	{ 0 },
	{ 0x96, 0xc2, 0x98, 0xd8, 0x45, 0x39, 0xa1, 0xf4, 0xa0, 0x33, 0xeb,
	  0x2d, 0x81, 0x7d, 0x03, 0x77, 0xf2, 0x40, 0xa4, 0x63, 0xe5, 0xe6,
	  0xbc, 0xf8, 0x47, 0x42, 0x2c, 0xe1, 0xf2, 0xd1, 0x17, 0x6b, 0xf6,
	  0x51, 0xbf, 0x37, 0x68, 0x40, 0xb6, 0xcb, 0xce, 0x5e, 0x31, 0x6b,
	  0x57, 0x33, 0xce, 0x2b, 0x16, 0x9e, 0x0f, 0x7c, 0x4a, 0xeb, 0xe7,
	  0x8e, 0x9b, 0x7f, 0x1a, 0xfe, 0xe2, 0x42, 0xe3, 0x4f },
};

/* Index of key in the table, or -1. */
static int key_index(const uint8_t key[64])
{
	for (int i = 0; i < NKEYS; i++) {
		if (memcmp(key, keys[i], 64) == 0) {
			return i;
		}
	}
	return -1;
}

/* PDU sizes of Vol 3, Part H, 3.3 to 3.6, written again. */
static size_t spec_size(uint8_t code)
{
	static const uint8_t size[] = {
		0, 7, 7, 17, 17, 2, 17, 11, 17, 8, 17, 2, 65, 17, 2,
	};

	return code < sizeof(size) ? size[code] : 0;
}

/* The controller's block cipher, a stand-in (header comment). */
static uint64_t ld64(const uint8_t *p)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 8; i++) {
		v |= (uint64_t)p[i] << (8 * i);
	}
	return v;
}

static void st64(uint8_t *p, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static uint64_t rotl(uint64_t v, unsigned k)
{
	return v << k | v >> (64 - k);
}

static void block(const uint8_t key[16], const uint8_t in[16],
		  uint8_t out[16])
{
	uint64_t k0 = ld64(key), k1 = ld64(key + 8);
	uint64_t a = ld64(in) ^ k0, b = ld64(in + 8) ^ k1;

	for (unsigned r = 0; r < 4; r++) {
		a += b;
		b = rotl(b, 17) ^ a;
		a = rotl(a, 29) * 0x9e3779b97f4a7c15ull + k1;
		b = b * 0xbf58476d1ce4e5b9ull + k0;
	}
	st64(out, a);
	st64(out + 8, b);
}

/* A "DHKey" both sides agree on: a function of the two public keys. */
static void fake_dhkey(const uint8_t a[64], const uint8_t b[64],
		       uint8_t out[32])
{
	const uint8_t *k[2] = { a, b };
	uint8_t h[16] = { 0 }, t[16];

	if (memcmp(a, b, 64) > 0) {
		k[0] = b;
		k[1] = a;
	}
	for (unsigned i = 0; i < 8; i++) {
		block(k[i / 4] + 16 * (i % 4), h, t);
		memcpy(h, t, 16);
	}
	memcpy(out, h, 16);
	block(h, h, out + 16);
}

/* Run an f4/f5/f6 job to the end on the stand-in cipher. */
static void fn_run(struct smp_fn *f)
{
	struct smp_aes a;
	uint8_t out[16];

	while (smp_fn_next(f, &a)) {
		block(a.key, a.in, out);
		smp_fn_feed(f, out);
	}
	check(f->done);
}

/* ---- one side --------------------------------------------------------- */

enum call {
	CALL_NONE,
	CALL_INPUT,
	CALL_TICK,
	CALL_START,
	CALL_AES,
	CALL_RAND,
	CALL_KEY,
	CALL_DHKEY,
	CALL_ENC,
};

struct pdu {
	uint8_t b[SMP_MTU];
	uint8_t len;
	uint32_t seq;
};

struct side {
	struct smp s;
	struct smp_config cfg;
	bool init;
	const char *name;

	/* The current pairing (since smp_init or smp_reset). */
	unsigned done_n;
	int err;
	uint8_t reason;
	enum smp_phase phase;
	int tx_last;          /* index in the role's PDU order, -1 none */
	bool tx_failed;       /* sent Pairing Failed */
	uint64_t last_tx_ns;  /* the Security Manager timer's start */
	/* What the harness's controller gave. */
	enum smp_need asked;  /* the request out, as the harness sent it */
	struct smp_request req; /* ... and what it was */
	bool aes_honest;      /* every AES answer was the cipher's */
	uint8_t local_key[64];
	bool have_local_key;
	uint8_t dhkey[32];
	bool have_dhkey;
	uint8_t nonce[16];
	unsigned nonce_len;
	unsigned rand_n;      /* honest random octets, for variety */
	/* PDUs taken from the peer (smp_input() 0, not failed); recorded
	 * before the call, so that what it sends may depend on them. */
	struct rx {
		uint8_t feat[7], pk[64], confirm[16], random[16];
		uint8_t check[16], irk[16], id[7];
		bool have_feat, have_pk, have_confirm, have_random;
		bool have_check, have_irk, have_id;
	} rx;
	/* PDUs sent. */
	uint8_t tx_feat[7];
	/* Encryption. */
	unsigned encrypts;
	uint8_t enc_ltk[16];
	bool enc_pending;     /* the initiator asked; the link not yet */
	bool encrypted;       /* on_encrypted(true) while encrypting */

	/* During one smp_*() call. */
	enum call call;
	uint8_t call_code;    /* CALL_INPUT: the PDU's code */
	unsigned call_tx;
	uint8_t call_tx_code, call_tx_reason;

	/* PDUs in flight to the other side. */
	struct pdu q[NQUEUE];
	unsigned qn;
};

static struct {
	struct side side[2]; /* I, R */
	uint64_t now;
	uint32_t seq;
	unsigned key_budget, resets, p256_raw;
	bool debug;
} F;

#define I (&F.side[0])
#define R (&F.side[1])

static struct side *other(struct side *x)
{
	return x == I ? R : I;
}

/* Appendix C.2.2.1: what each role sends, in order. */
static const uint8_t order_init[] = {
	SMP_PAIRING_REQUEST, SMP_PAIRING_PUBLIC_KEY, SMP_PAIRING_RANDOM,
	SMP_PAIRING_DHKEY_CHECK,
};
static const uint8_t order_resp[] = {
	SMP_PAIRING_RESPONSE, SMP_PAIRING_PUBLIC_KEY, SMP_PAIRING_CONFIRM,
	SMP_PAIRING_RANDOM, SMP_PAIRING_DHKEY_CHECK,
	SMP_IDENTITY_INFORMATION, SMP_IDENTITY_ADDRESS_INFORMATION,
};

static int order_index(const struct side *x, uint8_t code)
{
	const uint8_t *o = x->init ? order_init : order_resp;
	size_t n = x->init ? sizeof(order_init) : sizeof(order_resp);

	for (size_t i = 0; i < n; i++) {
		if (o[i] == code) {
			return (int)i;
		}
	}
	return -1;
}

static int phase_rank(enum smp_phase p)
{
	switch (p) {
	case SMP_IDLE:
		return 0;
	case SMP_ACTIVE:
		return 1;
	case SMP_ENCRYPTING:
		return 2;
	case SMP_KEY_DIST:
		return 3;
	case SMP_DONE:
	case SMP_FAILED:
		return 4;
	}
	return -1;
}

static bool pairing(enum smp_phase p)
{
	return p == SMP_ACTIVE || p == SMP_ENCRYPTING || p == SMP_KEY_DIST;
}

/* Addresses A and B of f5/f6 (Vol 3, Part H, 2.2.7). */
static const uint8_t *addr_a(const struct side *x)
{
	return x->init ? x->cfg.local_addr : x->cfg.peer_addr;
}

static const uint8_t *addr_b(const struct side *x)
{
	return x->init ? x->cfg.peer_addr : x->cfg.local_addr;
}

/* Our nonce and the peer's, as Na and Nb. */
static const uint8_t *na(const struct side *x)
{
	return x->init ? x->nonce : x->rx.random;
}

static const uint8_t *nb(const struct side *x)
{
	return x->init ? x->rx.random : x->nonce;
}

/*
 * With honest AES and every value known: MacKey and LTK from what the
 * wire and the controller said. false when it cannot be known.
 */
static bool oracle_f5(const struct side *x, uint8_t mackey[16],
		      uint8_t ltk[16])
{
	struct smp_fn f;

	if (!x->aes_honest || !x->have_dhkey || x->nonce_len < 16 ||
	    !x->rx.have_random) {
		return false;
	}
	smp_f5_start(&f, x->dhkey, na(x), nb(x), addr_a(x), addr_b(x));
	fn_run(&f);
	memcpy(mackey, f.out, 16);
	memcpy(ltk, f.out + 16, 16);
	return true;
}

/* Ea (the initiator's check) or Eb (the responder's), 2.2.8 with R 0. */
static bool oracle_check(const struct side *x, bool ea, uint8_t out[16])
{
	static const uint8_t r_zero[16];
	uint8_t mackey[16], ltk[16];
	const uint8_t *iocap;
	struct smp_fn f;

	if (!oracle_f5(x, mackey, ltk) || !x->rx.have_feat) {
		return false;
	}
	/* IOcap: octets 1..3 of the feature PDU of the side it is for. */
	if (ea) {
		iocap = (x->init ? x->tx_feat : x->rx.feat) + 1;
		smp_f6_start(&f, mackey, na(x), nb(x), r_zero, iocap,
			     addr_a(x), addr_b(x));
	} else {
		iocap = (x->init ? x->rx.feat : x->tx_feat) + 1;
		smp_f6_start(&f, mackey, nb(x), na(x), r_zero, iocap,
			     addr_b(x), addr_a(x));
	}
	fn_run(&f);
	memcpy(out, f.out, 16);
	return true;
}

/* The responder's confirm Cb = f4(PKbx, PKax, Nb, 0) (2.2.6). */
static bool oracle_confirm(const struct side *x, uint8_t out[16])
{
	const uint8_t *pkb, *pka;
	struct smp_fn f;

	if (!x->aes_honest || !x->have_local_key || !x->rx.have_pk ||
	    x->nonce_len < 16) {
		return false;
	}
	pkb = x->init ? x->rx.pk : x->local_key;
	pka = x->init ? x->local_key : x->rx.pk;
	if (x->init) {
		if (!x->rx.have_random) {
			return false;
		}
		smp_f4_start(&f, pkb, pka, x->rx.random, 0);
	} else {
		smp_f4_start(&f, pkb, pka, x->nonce, 0);
	}
	fn_run(&f);
	memcpy(out, f.out, 16);
	return true;
}

/* A peer key that may be taken: valid, not the debug key, not ours. */
static bool key_acceptable(const struct side *x, const uint8_t key[64])
{
	int k = key_index(key);

	return k >= 0 && k < NVALID &&
	       !(x->have_local_key && memcmp(key, x->local_key, 64) == 0);
}

/* ---- callbacks -------------------------------------------------------- */

static void check_sent(struct side *x, const uint8_t *pdu, size_t len)
{
	struct smp_pdu m;
	int k;

	check(len > 0 && len <= SMP_MTU);
	check(smp_pdu_decode(pdu, len, &m) == 0);
	check(len == smp_pdu_size(pdu[0]));
	check(x->done_n == 0 && !x->tx_failed);
	check(x->call != CALL_TICK && x->call != CALL_NONE);
	x->call_tx++;
	x->call_tx_code = m.code;
	x->last_tx_ns = F.now;
	if (m.code == SMP_PAIRING_FAILED) {
		x->tx_failed = true;
		x->call_tx_reason = m.reason;
		check(m.reason >= SMP_PASSKEY_ENTRY_FAILED &&
		      m.reason <= SMP_KEY_REJECTED);
		return;
	}
	k = order_index(x, m.code);
	check(k > x->tx_last);
	x->tx_last = k;
	switch ((enum smp_code)m.code) {
	case SMP_PAIRING_REQUEST:
	case SMP_PAIRING_RESPONSE:
		/* Just Works, bonding, Secure Connections, 16 octets. */
		check(m.pairing.io_cap == SMP_IO_NO_INPUT_NO_OUTPUT);
		check(m.pairing.oob == 0);
		check(m.pairing.auth_req == (SMP_AUTH_BONDING | SMP_AUTH_SC));
		check(m.pairing.max_key_size == SMP_KEY_SIZE_MAX);
		if (m.code == SMP_PAIRING_REQUEST) {
			check(m.pairing.init_key_dist ==
			      (x->cfg.init_key_dist & SMP_DIST_DEFINED));
			check(m.pairing.resp_key_dist ==
			      (x->cfg.resp_key_dist & SMP_DIST_DEFINED));
		} else {
			/* 3.6.1: no more than the request asked for. */
			check(x->rx.have_feat);
			check(!(m.pairing.init_key_dist & ~x->rx.feat[5]));
			check(!(m.pairing.resp_key_dist & ~x->rx.feat[6]));
			check(!(m.pairing.init_key_dist &
				~x->cfg.init_key_dist));
			check(!(m.pairing.resp_key_dist &
				~x->cfg.resp_key_dist));
		}
		memcpy(x->tx_feat, pdu, 7);
		break;
	case SMP_PAIRING_PUBLIC_KEY:
		check(x->have_local_key);
		check(memcmp(m.public_key.key, x->local_key, 64) == 0);
		break;
	case SMP_PAIRING_CONFIRM: {
		uint8_t want[16];

		check(x->rx.have_pk && x->nonce_len == 16);
		if (oracle_confirm(x, want)) {
			check(memcmp(m.value, want, 16) == 0);
		}
		break;
	}
	case SMP_PAIRING_RANDOM:
		check(x->nonce_len == 16);
		check(memcmp(m.value, x->nonce, 16) == 0);
		/* The initiator reveals Na only after Cb. */
		check(!x->init || x->rx.have_confirm);
		break;
	case SMP_PAIRING_DHKEY_CHECK: {
		uint8_t want[16];

		check(x->have_dhkey && x->rx.have_random);
		if (x->init) {
			check(x->rx.have_confirm);
			/* Cb checked before anything depends on Nb. */
			if (oracle_confirm(x, want)) {
				check(memcmp(x->rx.confirm, want, 16) == 0);
			}
		} else {
			/* Eb only once Ea is in and right. */
			check(x->rx.have_check);
			if (oracle_check(x, true, want)) {
				check(memcmp(x->rx.check, want, 16) == 0);
			}
		}
		if (oracle_check(x, x->init, want)) {
			check(memcmp(m.value, want, 16) == 0);
		}
		break;
	}
	case SMP_IDENTITY_INFORMATION:
		check(x->encrypted && (x->tx_feat[6] & SMP_DIST_ID_KEY));
		check(memcmp(m.value, x->cfg.irk, 16) == 0);
		break;
	case SMP_IDENTITY_ADDRESS_INFORMATION:
		check(x->encrypted);
		check(m.id_addr.type == x->cfg.id_type);
		check(memcmp(m.id_addr.addr.b, x->cfg.id_addr.b, 6) == 0);
		break;
	case SMP_PAIRING_FAILED:
	case SMP_ENCRYPTION_INFORMATION:
	case SMP_CENTRAL_IDENTIFICATION:
	case SMP_SIGNING_INFORMATION:
	case SMP_SECURITY_REQUEST:
	case SMP_KEYPRESS_NOTIFICATION:
		check(false); /* order_index() has none of them */
		break;
	}
}

static void cb_send(void *user_data, const uint8_t *pdu, size_t len)
{
	struct side *x = user_data;
	struct pdu *q;

	check_sent(x, pdu, len);
	if (F.debug) {
		fprintf(stderr, "  %s sends 0x%02x (%zu)\n", x->name, pdu[0],
			len);
	}
	if (x->qn == NQUEUE) {
		return; /* the wire is full: lost */
	}
	q = &x->q[x->qn++];
	memcpy(q->b, pdu, len);
	q->len = (uint8_t)len;
	q->seq = ++F.seq;
}

static void cb_encrypt(void *user_data, const uint8_t ltk[16])
{
	struct side *x = user_data;
	uint8_t want[16], mackey[16], eb[16];

	check(x->init && x->call == CALL_AES);
	check(x->done_n == 0 && x->encrypts == 0);
	/* After the DHKey check stage: Eb in and right. */
	check(x->rx.have_check && x->tx_last == 3);
	if (oracle_f5(x, mackey, want)) {
		check(memcmp(ltk, want, 16) == 0);
	}
	if (oracle_check(x, false, eb)) {
		check(memcmp(x->rx.check, eb, 16) == 0);
	}
	x->encrypts++;
	memcpy(x->enc_ltk, ltk, 16);
	x->enc_pending = true;
}

static void check_success(struct side *x, const struct smp_keys *k)
{
	uint8_t mackey[16], ltk[16], e[16];
	bool want_id;

	check(k != NULL);
	check(x->call == CALL_ENC || (x->call == CALL_INPUT &&
		x->call_code == SMP_IDENTITY_ADDRESS_INFORMATION));
	/* The DHKey check stage, both ways, then encryption. */
	check(x->rx.have_check && x->encrypted);
	check(x->tx_last >= 4 - (x->init ? 1 : 0));
	check(k->key_size == SMP_KEY_SIZE_MAX && !k->authenticated);
	if (oracle_f5(x, mackey, ltk)) {
		check(memcmp(k->ltk, ltk, 16) == 0);
	}
	if (oracle_check(x, !x->init, e)) {
		check(memcmp(x->rx.check, e, 16) == 0);
	}
	if (x->init) {
		check(x->encrypts == 1);
		check(memcmp(k->ltk, x->enc_ltk, 16) == 0);
	} else {
		check(x->encrypts == 0);
	}
	/* The peer's identity: when agreed, and as received. */
	want_id = x->init ? (x->rx.feat[6] & SMP_DIST_ID_KEY) :
			    (x->tx_feat[5] & SMP_DIST_ID_KEY);
	check(k->have_irk == want_id);
	if (k->have_irk) {
		check(x->rx.have_irk && x->rx.have_id);
		check(memcmp(k->irk, x->rx.irk, 16) == 0);
		check(k->id_type == x->rx.id[0] && k->id_type <= 1);
		check(memcmp(k->id_addr.b, x->rx.id + 1, 6) == 0);
	}
}

static void cb_done(void *user_data, int err, uint8_t reason,
		    const struct smp_keys *k)
{
	struct side *x = user_data;

	check(x->done_n == 0);
	check(x->call != CALL_NONE && x->call != CALL_START);
	x->done_n++;
	x->err = err;
	x->reason = reason;
	if (F.debug) {
		fprintf(stderr, "  %s done %d reason %u\n", x->name, err,
			reason);
	}
	if (err == 0) {
		check_success(x, k);
		return;
	}
	check(k == NULL);
	switch (err) {
	case -ETIMEDOUT:
		/* 3.4: at or after 30 s from the last PDU; nothing sent. */
		check(x->call == CALL_TICK);
		check(F.now >= x->last_tx_ns + SMP_TIMEOUT_NS);
		check(x->call_tx == 0);
		return;
	case -EACCES:
		check(x->call == CALL_INPUT &&
		      x->call_code == SMP_PAIRING_FAILED);
		check(x->call_tx == 0);
		return;
	case -EIO:
		check(x->call == CALL_ENC || x->call == CALL_AES ||
		      x->call == CALL_RAND || x->call == CALL_KEY);
		check(x->call == CALL_ENC ? x->call_tx == 0 :
					    x->call_tx > 0);
		break;
	case -EKEYREJECTED:
		check(x->call == CALL_INPUT || x->call == CALL_KEY ||
		      x->call == CALL_DHKEY);
		check(x->call_tx > 0);
		break;
	case -EBADMSG:
		check(x->call == CALL_AES || x->call == CALL_INPUT);
		check(x->call_tx > 0);
		break;
	case -EPROTO:
	case -EOPNOTSUPP:
		check(x->call == CALL_INPUT);
		check(x->call_tx > 0);
		break;
	default:
		check(false);
	}
	/* Pairing Failed, with the reason reported, just before. */
	if (x->call_tx > 0) {
		check(x->call_tx_code == SMP_PAIRING_FAILED);
		check(x->call_tx_reason == reason);
	}
}

static const struct smp_ops ops = {
	.send = cb_send,
	.encrypt = cb_encrypt,
	.done = cb_done,
};

/* ---- calls into smp, with the checks around them ---------------------- */

static void call_begin(struct side *x, enum call c, uint8_t code)
{
	x->call = c;
	x->call_code = code;
	x->call_tx = 0;
}

/* What must hold after any call, and between calls. */
static void check_side(struct side *x)
{
	enum smp_phase ph = smp_phase(&x->s);
	struct smp_request req;
	uint8_t ltk[16];

	x->call = CALL_NONE;
	check(phase_rank(ph) >= phase_rank(x->phase));
	x->phase = ph;
	check((ph == SMP_DONE) == (x->done_n == 1 && x->err == 0));
	check((ph == SMP_FAILED) == (x->done_n == 1 && x->err != 0));
	if (pairing(ph)) {
		check(smp_deadline(&x->s) == x->last_tx_ns + SMP_TIMEOUT_NS);
	} else {
		check(smp_deadline(&x->s) == UINT64_MAX);
	}
	if (smp_ltk(&x->s, ltk) == 0) {
		uint8_t mackey[16], want[16];

		check(!x->init && ph == SMP_ENCRYPTING);
		if (oracle_f5(x, mackey, want)) {
			check(memcmp(ltk, want, 16) == 0);
		}
	} else {
		check(x->init || ph != SMP_ENCRYPTING);
	}
	if (!smp_request(&x->s, &req)) {
		return;
	}
	/* One request out at a time, and only while pairing. */
	check(x->asked == SMP_NEED_NONE && ph == SMP_ACTIVE);
	switch (req.need) {
	case SMP_NEED_NONE:
		check(false);
		break;
	case SMP_NEED_AES:
		break;
	case SMP_NEED_RAND:
		check(x->nonce_len < 16);
		break;
	case SMP_NEED_LOCAL_KEY:
		check(!x->have_local_key);
		break;
	case SMP_NEED_DHKEY:
		/* Only for a key taken from the wire, and a good one. */
		check(!x->have_dhkey && x->have_local_key && x->rx.have_pk);
		check(req.peer_key != NULL);
		check(memcmp(req.peer_key, x->rx.pk, 64) == 0);
		check(key_acceptable(x, req.peer_key));
		break;
	}
}

static void check_all(void)
{
	check_side(I);
	check_side(R);
}

/* The harness's view of a new pairing; x->s is smp's to reset. */
static void side_reset(struct side *x, bool init)
{
	struct smp_config cfg = x->cfg;
	struct smp s = x->s;

	memset(x, 0, sizeof(*x));
	x->s = s;
	x->cfg = cfg;
	x->init = init;
	x->name = init ? "I" : "R";
	x->tx_last = -1;
	x->aes_honest = true;
	x->phase = SMP_IDLE;
}

/* Record a PDU from the peer as if taken (do_input() undoes it if not). */
static void record(struct side *x, const uint8_t *pdu, size_t len)
{
	struct rx *rx = &x->rx;

	if (len != spec_size(pdu[0])) {
		return;
	}
	switch (pdu[0]) {
	case SMP_PAIRING_REQUEST:
	case SMP_PAIRING_RESPONSE:
		memcpy(rx->feat, pdu, 7);
		rx->have_feat = true;
		break;
	case SMP_PAIRING_PUBLIC_KEY:
		memcpy(rx->pk, pdu + 1, 64);
		rx->have_pk = true;
		break;
	case SMP_PAIRING_CONFIRM:
		memcpy(rx->confirm, pdu + 1, 16);
		rx->have_confirm = true;
		break;
	case SMP_PAIRING_RANDOM:
		memcpy(rx->random, pdu + 1, 16);
		rx->have_random = true;
		break;
	case SMP_PAIRING_DHKEY_CHECK:
		memcpy(rx->check, pdu + 1, 16);
		rx->have_check = true;
		break;
	case SMP_IDENTITY_INFORMATION:
		memcpy(rx->irk, pdu + 1, 16);
		rx->have_irk = true;
		break;
	case SMP_IDENTITY_ADDRESS_INFORMATION:
		memcpy(rx->id, pdu + 1, 7);
		rx->have_id = true;
		break;
	}
}

static void do_input(struct side *x, const uint8_t *pdu, size_t len)
{
	enum smp_phase before = smp_phase(&x->s);
	uint8_t code = len ? pdu[0] : 0;
	struct rx saved = x->rx;
	bool taken;
	int r;

	if (code == SMP_PAIRING_PUBLIC_KEY && len == 65) {
		/* Each may cost a P-256 check. */
		if (F.key_budget == 0) {
			return;
		}
		F.key_budget--;
	}
	if (F.debug) {
		fprintf(stderr, "  %s gets 0x%02x (%zu)\n", x->name, code, len);
	}
	if (len) {
		record(x, pdu, len);
	}
	call_begin(x, CALL_INPUT, code);
	r = smp_input(&x->s, pdu, len, F.now);
	if (before == SMP_DONE || before == SMP_FAILED) {
		check(r == -EALREADY && x->call_tx == 0);
	}
	check(r == 0 || r == -EBADMSG || r == -ENOMSG || r == -EMSGSIZE ||
	      r == -ERANGE || r == -EPROTO || r == -EALREADY);
	taken = r == 0 && smp_phase(&x->s) != SMP_FAILED;
	if (!taken) {
		x->rx = saved;
	}
	if (taken) {
		switch (code) {
		case SMP_PAIRING_REQUEST:
		case SMP_PAIRING_RESPONSE:
			check(code == (x->init ? SMP_PAIRING_RESPONSE :
						 SMP_PAIRING_REQUEST));
			/* Secure Connections, no OOB, a 16-octet key. */
			check(pdu[1] <= SMP_IO_KEYBOARD_DISPLAY);
			check(pdu[2] == 0 && (pdu[3] & SMP_AUTH_SC));
			check(pdu[4] == SMP_KEY_SIZE_MAX);
			break;
		case SMP_PAIRING_PUBLIC_KEY:
			check(key_acceptable(x, pdu + 1));
			break;
		case SMP_PAIRING_CONFIRM:
			check(x->init);
			break;
		case SMP_PAIRING_RANDOM:
		case SMP_PAIRING_DHKEY_CHECK:
		case SMP_IDENTITY_INFORMATION:
		case SMP_IDENTITY_ADDRESS_INFORMATION:
			break;
		default:
			/* Hints (Security Request, Keypress): no change. */
			check(smp_phase(&x->s) == before && x->call_tx == 0);
			break;
		}
	}
	check_all();
}

/* The next PDU x sent, off the wire. */
static bool pop(struct side *x, struct pdu *ret)
{
	if (x->qn == 0) {
		return false;
	}
	*ret = x->q[0];
	memmove(x->q, x->q + 1, (x->qn - 1) * sizeof(x->q[0]));
	x->qn--;
	return true;
}

/* ---- the controller --------------------------------------------------- */

enum answer_how {
	ANS_HONEST,
	ANS_FUZZED,
	ANS_FAIL,
};

static void answer(struct side *x, enum smp_need need, enum answer_how how,
		   struct input *in)
{
	uint8_t status = 0, buf[64];
	bool asked = x->asked == need;
	enum smp_phase before = smp_phase(&x->s);
	unsigned n, done_n = x->done_n;

	if (how == ANS_FAIL) {
		status = take8(in) | 1;
	}
	if (asked) {
		x->asked = SMP_NEED_NONE;
	}
	switch (need) {
	case SMP_NEED_NONE:
		return;
	case SMP_NEED_AES:
		if (how == ANS_HONEST && asked) {
			block(x->req.aes.key, x->req.aes.in, buf);
		} else {
			take(in, buf, 16);
			if (asked && status == 0) {
				x->aes_honest = false;
			}
		}
		call_begin(x, CALL_AES, 0);
		smp_on_aes(&x->s, status, buf, F.now);
		break;
	case SMP_NEED_RAND:
		if (how == ANS_HONEST) {
			for (unsigned i = 0; i < 8; i++) {
				buf[i] = (uint8_t)(x->rand_n++ * 37 +
						   (x->init ? 1 : 101));
			}
		} else {
			take(in, buf, 8);
		}
		if (asked && status == 0 && x->nonce_len < 16) {
			memcpy(x->nonce + x->nonce_len, buf, 8);
			x->nonce_len += 8;
		}
		call_begin(x, CALL_RAND, 0);
		smp_on_rand(&x->s, status, buf, F.now);
		break;
	case SMP_NEED_LOCAL_KEY:
		if (how == ANS_HONEST) {
			memcpy(buf, keys[x->init ? 4 : 1], 64);
		} else {
			n = take8(in);
			if (n < 0xc0) {
				memcpy(buf, keys[n % NKEYS], 64);
			} else {
				take(in, buf, 64);
			}
		}
		if (asked && status == 0) {
			if (x->rx.have_pk) {
				if (F.key_budget == 0) {
					x->asked = need;
					return;
				}
				F.key_budget--;
			}
			memcpy(x->local_key, buf, 64);
			x->have_local_key = true;
		}
		call_begin(x, CALL_KEY, 0);
		smp_on_local_key(&x->s, status, buf, F.now);
		break;
	case SMP_NEED_DHKEY:
		if (how == ANS_HONEST && x->rx.have_pk && x->have_local_key) {
			fake_dhkey(x->local_key, x->rx.pk, buf);
		} else {
			take(in, buf, 32);
		}
		if (asked && status == 0) {
			memcpy(x->dhkey, buf, 32);
			x->have_dhkey = true;
		}
		call_begin(x, CALL_DHKEY, 0);
		smp_on_dhkey(&x->s, status, buf, F.now);
		break;
	}
	if (!asked) {
		/* A stray answer changes nothing. */
		check(x->call_tx == 0 && x->done_n == done_n &&
		      smp_phase(&x->s) == before);
	} else if (status != 0 && before == SMP_ACTIVE) {
		check(smp_phase(&x->s) == SMP_FAILED);
	}
	check_all();
}

/* Send the request x has (if it has one and none is out). */
static enum smp_need ask(struct side *x)
{
	struct smp_request req;

	if (x->asked == SMP_NEED_NONE && smp_request(&x->s, &req)) {
		smp_request_sent(&x->s, req.need);
		x->asked = req.need;
		x->req = req;
		check(!smp_request(&x->s, &req));
	}
	return x->asked;
}

/* ---- steps ------------------------------------------------------------ */

static void deliver(struct side *from, struct input *in, bool tamper)
{
	struct pdu p;
	uint8_t t, b[80];
	size_t len;

	if (!pop(from, &p)) {
		return;
	}
	memset(b, 0, sizeof(b));
	memcpy(b, p.b, p.len);
	len = p.len;
	if (tamper) {
		t = take8(in);
		switch (t & 3) {
		case 0: { /* an octet changed */
			uint8_t pos = take8(in);

			b[pos % len] ^= take8(in) | 1;
			break;
		}
		case 1: /* shorter or longer */
			len = take8(in) % sizeof(b);
			break;
		case 2: /* another code */
			b[0] = take8(in);
			break;
		case 3: /* a public key from the table */
			if (b[0] == SMP_PAIRING_PUBLIC_KEY) {
				memcpy(b + 1, keys[take8(in) % NKEYS], 64);
			}
			break;
		}
	}
	do_input(other(from), b, len);
}

static void raw_pdu(const uint8_t *p, size_t len)
{
	struct smp_pdu m, m2;
	uint8_t out[SMP_MTU], sentinel;
	size_t n = 0;
	int r, want = 0;

	if (len == 0) {
		want = -EBADMSG;
	} else if (spec_size(p[0]) == 0) {
		want = -ENOMSG;
	} else if (len != spec_size(p[0])) {
		want = -EMSGSIZE;
	} else if (p[0] == SMP_PAIRING_REQUEST ||
		   p[0] == SMP_PAIRING_RESPONSE) {
		if (p[1] > 4 || p[2] > 1 || p[4] < 7 || p[4] > 16) {
			want = -ERANGE;
		}
	} else if (p[0] == SMP_KEYPRESS_NOTIFICATION) {
		want = p[1] > 4 ? -ERANGE : 0;
	} else if (p[0] == SMP_IDENTITY_ADDRESS_INFORMATION) {
		want = p[1] > 1 ? -ERANGE : 0;
	}
	memset(&m, 0xa5, sizeof(m));
	sentinel = ((uint8_t *)&m)[sizeof(m) - 1];
	r = smp_pdu_decode(p, len, &m);
	check(r == want);
	check(len == 0 || smp_pdu_size(p[0]) == spec_size(p[0]));
	check(smp_reason_name(len ? p[0] : 0) != NULL);
	if (r < 0) {
		/* *ret untouched. */
		check(((uint8_t *)&m)[sizeof(m) - 1] == sentinel);
		return;
	}
	check(m.code == p[0]);
	check(smp_pdu_encode(&m, out, sizeof(out), &n) == 0 && n == len);
	for (size_t i = 0; i < n; i++) {
		uint8_t mask = 0xff;

		/* Reserved bits are dropped on receipt (3.5.1). */
		if ((m.code == SMP_PAIRING_REQUEST ||
		     m.code == SMP_PAIRING_RESPONSE) && i == 3) {
			mask = SMP_AUTH_DEFINED;
		} else if ((m.code == SMP_PAIRING_REQUEST ||
			    m.code == SMP_PAIRING_RESPONSE) && i >= 5) {
			mask = SMP_DIST_DEFINED;
		} else if (m.code == SMP_SECURITY_REQUEST && i == 1) {
			mask = SMP_AUTH_DEFINED;
		}
		check(out[i] == (p[i] & mask));
	}
	check(smp_pdu_encode(&m, out, n - 1, &n) == -ENOBUFS);
	check(smp_pdu_decode(out, len, &m2) == 0 && m2.code == m.code);
}

/* The return parameters of LE Encrypt (16), LE Rand (8), the LTK
 * replies (2), out of a Command Complete: smp_hci_cc_data(). */
static void raw_cc(const uint8_t *p, size_t len)
{
	static const size_t sizes[] = { 2, 8, 16 };
	struct hci_evt ev;
	uint8_t out[16];

	if (hci_evt_decode(p, len, &ev) < 0 ||
	    ev.kind != HCI_KIND_COMMAND_COMPLETE) {
		return;
	}
	for (unsigned i = 0; i < 3; i++) {
		const struct hci_evt_cmd_complete *cc = &ev.cmd_complete;
		size_t n = sizes[i];
		int r = smp_hci_cc_data(cc, out, n);

		if (cc->params_len >= 1 && cc->params[0] != HCI_SUCCESS) {
			check(r == -EIO);
		} else if (cc->params_len != 1 + n) {
			check(r == -EBADMSG);
		} else {
			check(r == 0 && memcmp(out, cc->params + 1, n) == 0);
		}
	}
}

static void raw_hci(const uint8_t *p, size_t len)
{
	struct smp_hci_evt e;
	size_t n;
	int r;

	raw_cc(p, len);
	r = smp_hci_evt_decode(p, len, &e);
	if (r < 0) {
		check(r == -EBADMSG || r == -EOVERFLOW || r == -E2BIG ||
		      r == -ENODATA || r == -EMSGSIZE || r == -ENOMSG);
		return;
	}
	check(len >= 2 && len == 2u + p[1]);
	n = p[1];
	switch (e.kind) {
	case SMP_HCI_ENCRYPTION_CHANGE:
		check(p[0] == SMP_HCI_EVT_ENCRYPTION_CHANGE && n == 4);
		check(e.status == p[2] && e.enabled == p[5]);
		check(e.handle == ((p[3] | p[4] << 8) & 0x0fff));
		break;
	case SMP_HCI_KEY_REFRESH_COMPLETE:
		check(p[0] == SMP_HCI_EVT_KEY_REFRESH_COMPLETE && n == 3);
		check(e.status == p[2]);
		break;
	case SMP_HCI_LTK_REQUEST:
		check(p[0] == 0x3e && n == 13 &&
		      p[2] == SMP_HCI_LE_LTK_REQUEST);
		check(memcmp(e.rand, p + 5, 8) == 0);
		check(e.ediv == (p[13] | p[14] << 8));
		break;
	case SMP_HCI_LOCAL_P256:
		check(p[0] == 0x3e && n == 66 &&
		      p[2] == SMP_HCI_LE_READ_LOCAL_P256_COMPLETE);
		check(e.status == p[3] && memcmp(e.key, p + 4, 64) == 0);
		break;
	case SMP_HCI_DHKEY:
		check(p[0] == 0x3e && n == 34 &&
		      p[2] == SMP_HCI_LE_GENERATE_DHKEY_COMPLETE);
		check(e.status == p[3] && memcmp(e.dhkey, p + 4, 32) == 0);
		break;
	}
}

static void raw_step(struct input *in)
{
	uint8_t b[80];
	uint8_t n = take8(in) % sizeof(b);

	take(in, b, n);
	raw_pdu(b, n);
	raw_hci(b, n);
	if (n == 64 && F.p256_raw < 2) {
		int k = key_index(b), r;

		F.p256_raw++;
		r = smp_p256_check(b);
		/* The table's valid points and the debug key are on the
		 * curve; nothing else the fuzzer can make is. */
		check(r == ((k >= 0 && k <= NVALID) ? 0 : -EINVAL));
		check(smp_p256_is_debug_key(b) == (k == NVALID));
	}
}

static void inject(struct side *x, struct input *in)
{
	uint8_t b[80];
	uint8_t c = take8(in), l = take8(in);
	size_t len;

	memset(b, 0, sizeof(b));
	/* Mostly the codes SMP defines, at their length. */
	b[0] = c < 0xe0 ? (uint8_t)(1 + c % 14) : take8(in);
	len = l < 0xf0 ? spec_size(b[0]) : take8(in) % sizeof(b);
	if (len == 0 && l < 0xf0) {
		len = 1 + l % 16;
	}
	if (b[0] == SMP_PAIRING_PUBLIC_KEY && len == 65 && l < 0x80) {
		memcpy(b + 1, keys[l % NKEYS], 64);
	} else if (b[0] == SMP_PAIRING_REQUEST ||
		   b[0] == SMP_PAIRING_RESPONSE) {
		/* Features: a good set with a fuzzed field now and then. */
		b[1] = SMP_IO_NO_INPUT_NO_OUTPUT;
		b[3] = SMP_AUTH_BONDING | SMP_AUTH_SC;
		b[4] = 16;
		b[5] = 0;
		b[6] = SMP_DIST_ID_KEY;
		if (l & 1) {
			b[1 + l / 2 % 6] = take8(in);
		}
	} else if (len > 1) {
		take(in, b + 1, len - 1);
	}
	raw_pdu(b, len);
	do_input(x, b, len);
}

/* The link encrypts with the initiator's LTK, if the responder's is the
 * same (Vol 6, Part B, 5.1.3: otherwise the MIC fails). */
static void link_encrypt(void)
{
	uint8_t ltk[16];
	bool ok;

	if (!I->enc_pending) {
		return;
	}
	I->enc_pending = false;
	ok = smp_ltk(&R->s, ltk) == 0 && memcmp(ltk, I->enc_ltk, 16) == 0;
	if (ok) {
		if (smp_phase(&R->s) == SMP_ENCRYPTING) {
			R->encrypted = true;
		}
		call_begin(R, CALL_ENC, 0);
		smp_on_encrypted(&R->s, true, F.now);
		check_all();
	}
	if (smp_phase(&I->s) == SMP_ENCRYPTING && ok) {
		I->encrypted = true;
	}
	call_begin(I, CALL_ENC, 0);
	smp_on_encrypted(&I->s, ok, F.now);
	check_all();
}

static void raw_encrypted(struct side *x, bool ok)
{
	enum smp_phase before = smp_phase(&x->s);

	if (before == SMP_ENCRYPTING && ok) {
		x->encrypted = true;
	}
	call_begin(x, CALL_ENC, 0);
	smp_on_encrypted(&x->s, ok, F.now);
	if (before != SMP_ENCRYPTING) {
		check(x->call_tx == 0 && smp_phase(&x->s) == before);
	}
	check_all();
}

static void tick(uint8_t d)
{
	uint64_t to = F.now;

	if (d == 255 || d == 254) {
		/* To the earliest timer, or just before it. */
		uint64_t t = smp_deadline(&I->s);

		if (smp_deadline(&R->s) < t) {
			t = smp_deadline(&R->s);
		}

		if (t != UINT64_MAX && t > F.now) {
			to = d == 255 ? t : t - 1;
		}
	} else {
		to += d < 200 ? d * 100 * MS : (d - 199) * SEC;
	}
	F.now = to;
	for (unsigned i = 0; i < 2; i++) {
		struct side *x = &F.side[i];
		bool due = pairing(smp_phase(&x->s)) &&
			   F.now >= x->last_tx_ns + SMP_TIMEOUT_NS;

		call_begin(x, CALL_TICK, 0);
		smp_tick(&x->s, F.now);
		/* 3.4: fails at expiry, not before. */
		check(due ? x->done_n == 1 && x->err == -ETIMEDOUT :
			    x->call_tx == 0 && x->phase == smp_phase(&x->s));
		check_side(x);
	}
}

static void start(struct side *x)
{
	enum smp_phase before = smp_phase(&x->s);
	int r;

	call_begin(x, CALL_START, 0);
	r = smp_start(&x->s, F.now);
	if (!x->init) {
		check(r == -EINVAL);
	} else if (before != SMP_IDLE) {
		check(r == -EALREADY);
	} else {
		check(r == 0 && x->call_tx == 1);
	}
	check_all();
}

static void reset(struct side *x)
{
	if (F.resets >= RESET_MAX) {
		return;
	}
	F.resets++;
	smp_reset(&x->s);
	side_reset(x, x == I);
	/* A new link: nothing of the old one in flight either way. */
	other(x)->qn = 0;
	check_all();
}

/* What an honest wire and controllers do next. */
static void auto_step(struct input *in)
{
	struct side *from = NULL;

	if (smp_phase(&I->s) == SMP_IDLE) {
		start(I);
		return;
	}
	for (unsigned i = 0; i < 2; i++) {
		struct side *x = &F.side[i];
		enum smp_need need = ask(x);

		if (need != SMP_NEED_NONE) {
			answer(x, need, ANS_HONEST, in);
			return;
		}
	}
	if (I->qn && (!R->qn || I->q[0].seq < R->q[0].seq)) {
		from = I;
	} else if (R->qn) {
		from = R;
	}
	if (from) {
		deliver(from, in, false);
		return;
	}
	link_encrypt();
}

static void step(struct input *in)
{
	uint8_t op = take8(in);
	struct side *x = &F.side[op >> 7];

	if (F.debug) {
		fprintf(stderr, "step %u %s (t %llu ms)\n", (op & 0x7f) % 12,
			x->name, (unsigned long long)(F.now / MS));
	}
	switch ((op & 0x7f) % 12) {
	case 1:
		deliver(x, in, true);
		break;
	case 2: {
		struct pdu p;

		pop(x, &p);
		break;
	}
	case 3:
		inject(x, in);
		break;
	case 4: {
		uint8_t how = take8(in);
		enum smp_need need = ask(x);

		if (how >= 0xf0) {
			/* An answer nobody asked for (or the one asked). */
			need = (enum smp_need)(1 + how % 4);
		}
		answer(x, need, how < 0xa0 ? ANS_HONEST :
				how < 0xd0 ? ANS_FUZZED : ANS_FAIL, in);
		break;
	}
	case 5:
		link_encrypt();
		break;
	case 6:
		raw_encrypted(x, take8(in) & 1);
		break;
	case 7:
		tick(take8(in));
		break;
	case 8:
		start(x);
		break;
	case 9:
		reset(x);
		break;
	case 10:
		raw_step(in);
		break;
	default:
		auto_step(in);
		break;
	}
}

static void setup(uint8_t sel)
{
	static const uint8_t addr_i[6] = { 0x42, 0x00, 0x00, 0x01, 0xaa, 0x00 };
	static const uint8_t addr_r[6] = { 0x42, 0x00, 0x01, 0x01, 0xaa, 0x00 };
	struct smp_config ci, cr;

	memset(&ci, 0, sizeof(ci));
	memset(&cr, 0, sizeof(cr));
	ci.role = SMP_INITIATOR;
	cr.role = SMP_RESPONDER;
	memcpy(ci.local_addr, addr_i, 6);
	memcpy(ci.peer_addr, addr_r, 6);
	memcpy(cr.local_addr, addr_r, 6);
	memcpy(cr.peer_addr, addr_i, 6);
	ci.local_addr[6] = cr.peer_addr[6] = sel >> 3 & 1;
	ci.peer_addr[6] = cr.local_addr[6] = sel >> 4 & 1;
	if (sel & 0x80) {
		/* R sees I under another address: the checks fail. */
		cr.peer_addr[0] ^= 0x01;
	}
	/* As hcihost: the central asks for the earbud's identity and
	 * gives none; the peripheral may give its own. */
	ci.resp_key_dist = sel & 1 ? SMP_DIST_ID_KEY : 0;
	cr.resp_key_dist = sel & 2 ? SMP_DIST_ID_KEY : 0;
	cr.init_key_dist = sel & 4 ? SMP_DIST_ID_KEY : 0;
	if (sel & 0x20) {
		/* Keys ttws never distributes, asked for anyway. */
		ci.resp_key_dist |= SMP_DIST_ENC_KEY | SMP_DIST_SIGN_KEY;
		cr.resp_key_dist |= SMP_DIST_ENC_KEY | SMP_DIST_SIGN_KEY;
	}
	if (sel & 0x40) {
		/* An initiator that offers its identity (it never sends
		 * it: the responder waits until the timer). */
		ci.init_key_dist = SMP_DIST_ID_KEY;
	}
	for (unsigned i = 0; i < 16; i++) {
		cr.irk[i] = (uint8_t)(0x10 + i);
	}
	cr.id_type = sel >> 4 & 1;
	memcpy(cr.id_addr.b, addr_r, 6);
	I->cfg = ci;
	R->cfg = cr;
	side_reset(I, true);
	side_reset(R, false);
	smp_init(&I->s, &ci, &ops, I);
	smp_init(&R->s, &cr, &ops, R);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };

	memset(&F, 0, sizeof(F));
	F.debug = getenv("TTWS_FUZZ_DEBUG") != NULL;
	F.now = 1000 * SEC;
	F.key_budget = KEY_BUDGET;
	setup(take8(&in));
	check_all();
	while (in.n > 0) {
		step(&in);
	}
	if (F.debug) {
		/* Where a script got to: for writing seeds (gen-corpus.py). */
		fprintf(stderr, "smp: I phase %d done %u err %d, R phase %d "
				"done %u err %d\n",
			smp_phase(&I->s), I->done_n, I->err, smp_phase(&R->s),
			R->done_n, R->err);
	}
	return 0;
}
