/* SPDX-License-Identifier: MIT */
/*
 * H4 framer and encoder tests. Byte streams are written out by hand in
 * the style of BlueZ unit/test-hfp.c raw_pdu(); each malformed stream is
 * one table row with the exact outcome: which packets come out, how many
 * octets are skipped, discarded or left pending, and how many losses of
 * sync of which kind. Every row is replayed at several chunk sizes,
 * because framing must depend on the octets only, never on how read()
 * happened to split them.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/h4.h"
#include "core/macro.h"

#define data(args...) ((const uint8_t[]){ args })
#define raw_pdu(args...) { .bytes = data(args), .len = sizeof(data(args)) }

struct raw {
	const uint8_t *bytes;
	size_t len;
};

/* Command Complete for HCI_Reset: code, plen 4, ncmd 1, opcode, status. */
#define E1 0x04, 0x0e, 0x04, 0x01, 0x03, 0x0c, 0x00
/* ACL handle 0x040, PB 0b10, 5 octets: L2CAP length 1, CID 4, one octet. */
#define A1 0x02, 0x40, 0x20, 0x05, 0x00, 0x01, 0x00, 0x04, 0x00, 0xaa
/* SCO handle 0x040, 2 octets. */
#define S1 0x03, 0x40, 0x00, 0x02, 0x11, 0x22
/* ISO handle 0x040, 2 octets. */
#define I1 0x05, 0x40, 0x00, 0x02, 0x00, 0x11, 0x22
/* Disconnection Complete. */
#define E2 0x04, 0x05, 0x04, 0x00, 0x40, 0x00, 0x13

static uint64_t rng_state = 0x6834000000000001ULL;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* ---- a driver that collects delivered frames ------------------------ */

#define OUT_MAX 256
#define OUT_BYTES 8192

struct out {
	size_t n;
	size_t off[OUT_MAX];
	size_t len[OUT_MAX];
	enum h4_type type[OUT_MAX];
	uint8_t bytes[OUT_BYTES];
	size_t used;
};

static void drain(struct h4 *h, struct out *o)
{
	struct h4_pkt pkt;

	while (h4_next(h, &pkt) == 0) {
		assert_true(o->n < OUT_MAX);
		assert_true(o->used + pkt.frame_len <= OUT_BYTES);
		assert_ptr_equal(pkt.data, pkt.frame + 1);
		assert_int_equal(pkt.len, pkt.frame_len - 1);
		assert_int_equal(pkt.frame[0], pkt.type);
		memcpy(o->bytes + o->used, pkt.frame, pkt.frame_len);
		o->off[o->n] = o->used;
		o->len[o->n] = pkt.frame_len;
		o->type[o->n] = pkt.type;
		o->used += pkt.frame_len;
		o->n++;
	}
}

/* Feed len octets in chunks of chunk (0: random 1..64) and drain. */
static void run(struct h4 *h, const uint8_t *bytes, size_t len, size_t chunk,
		struct out *o)
{
	size_t off = 0;

	while (off < len) {
		size_t c = chunk ? chunk : 1 + rng() % 64;
		size_t took;

		c = MIN(c, len - off);
		took = h4_feed(h, bytes + off, c);
		assert_true(took > 0 || h4_pending(h) == h->cap);
		off += took;
		drain(h, o);
	}
}

static void host_cfg(struct h4_config *cfg, uint16_t acl_max)
{
	h4_config_host(cfg);
	if (acl_max) {
		cfg->acl_max_len = acl_max;
	}
}

/* ---- encoder ------------------------------------------------------- */

static void test_encode(void **state)
{
	static const uint8_t reset[] = { 0x03, 0x0c, 0x00 };
	static const uint8_t acl[] = { 0x40, 0x00, 0x02, 0x00, 0xaa, 0xbb };
	static const uint8_t sco[] = { 0x40, 0x00, 0x01, 0x99 };
	static const uint8_t evt[] = { 0x10, 0x01, 0x07 };
	static const uint8_t iso[] = { 0x40, 0x00, 0x01, 0x40, 0x77 };
	uint8_t buf[16];
	size_t n = 0;

	assert_int_equal(h4_encode(H4_CMD, reset, 3, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(buf, data(0x01, 0x03, 0x0c, 0x00), 4);

	assert_int_equal(h4_encode(H4_ACL, acl, 6, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 7);
	assert_memory_equal(buf, data(0x02, 0x40, 0x00, 0x02, 0x00, 0xaa, 0xbb),
			    7);

	assert_int_equal(h4_encode(H4_SCO, sco, 4, buf, sizeof(buf), &n), 0);
	assert_memory_equal(buf, data(0x03, 0x40, 0x00, 0x01, 0x99), 5);

	assert_int_equal(h4_encode(H4_EVT, evt, 3, buf, sizeof(buf), &n), 0);
	assert_memory_equal(buf, data(0x04, 0x10, 0x01, 0x07), 4);

	/* ISO: 14-bit length, the top two bits of the field are RFU. */
	assert_int_equal(h4_encode(H4_ISO, iso, 5, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(buf, data(0x05, 0x40, 0x00, 0x01, 0x40, 0x77), 6);
}

static void test_encode_errors(void **state)
{
	static const uint8_t acl[] = { 0x40, 0x00, 0x02, 0x00, 0xaa, 0xbb };
	uint8_t buf[16];
	size_t n = 1234;

	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(h4_encode((enum h4_type)0x06, acl, 6, buf, 16, &n),
			 -EINVAL);
	assert_int_equal(h4_encode((enum h4_type)0x00, acl, 6, buf, 16, &n),
			 -EINVAL);
	/* Header says 2 octets of data, the packet has 1 or 3. */
	assert_int_equal(h4_encode(H4_ACL, acl, 5, buf, 16, &n), -EBADMSG);
	assert_int_equal(h4_encode(H4_ACL, data(0x40, 0x00, 0x02, 0x00, 1, 2,
						3),
				   7, buf, 16, &n),
			 -EBADMSG);
	/* Shorter than the header. */
	assert_int_equal(h4_encode(H4_ACL, acl, 3, buf, 16, &n), -EBADMSG);
	assert_int_equal(h4_encode(H4_EVT, acl, 1, buf, 16, &n), -EBADMSG);
	assert_int_equal(h4_encode(H4_EVT, NULL, 0, buf, 16, &n), -EBADMSG);
	/* One octet short of room for the indicator. */
	assert_int_equal(h4_encode(H4_ACL, acl, 6, buf, 6, &n), -ENOBUFS);
	assert_int_equal(n, 1234);
	for (size_t i = 0; i < sizeof(buf); i++) {
		assert_int_equal(buf[i], 0x5a);
	}
	assert_int_equal(h4_encode(H4_ACL, acl, 6, buf, 7, &n), 0);
}

/* Built in place after one spare octet: one write, no copy. */
static void test_encode_in_place(void **state)
{
	uint8_t buf[8] = { 0, 0x03, 0x0c, 0x00, 0xee, 0xee };
	size_t n;

	assert_int_equal(h4_encode(H4_CMD, buf + 1, 3, buf, sizeof(buf), &n),
			 0);
	assert_int_equal(n, 4);
	assert_memory_equal(buf, data(0x01, 0x03, 0x0c, 0x00, 0xee), 5);

	/* Overlapping the other way: moved, not corrupted. */
	uint8_t buf2[8] = { 0x03, 0x0c, 0x00, 0xee };

	assert_int_equal(h4_encode(H4_CMD, buf2, 3, buf2, sizeof(buf2), &n),
			 0);
	assert_memory_equal(buf2, data(0x01, 0x03, 0x0c, 0x00), 4);
}

/* ---- clean streams ------------------------------------------------- */

static void test_byte_by_byte(void **state)
{
	static const uint8_t stream[] = { E1, A1, E2 };
	static const size_t ends[] = { 7, 17, 24 };
	uint8_t mem[2048];
	struct h4_config cfg;
	struct h4_pkt pkt;
	struct h4 h;
	size_t next = 0;

	h4_config_host(&cfg);
	assert_int_equal(h4_init(&h, &cfg, mem, sizeof(mem)), 0);
	/* Each packet comes out exactly when its last octet arrives. */
	for (size_t i = 0; i < sizeof(stream); i++) {
		assert_int_equal(h4_feed(&h, stream + i, 1), 1);
		if (next < ARRAY_SIZE(ends) && i + 1 == ends[next]) {
			size_t start = next ? ends[next - 1] : 0;

			assert_int_equal(h4_next(&h, &pkt), 0);
			assert_int_equal(pkt.frame_len, ends[next] - start);
			assert_memory_equal(pkt.frame, stream + start,
					    pkt.frame_len);
			next++;
		}
		assert_int_equal(h4_next(&h, &pkt), -EAGAIN);
	}
	assert_int_equal(next, 3);
	assert_int_equal(h4_stats(&h)->delivered, 3);
	assert_int_equal(h4_stats(&h)->delivered_bytes, sizeof(stream));
	assert_int_equal(h4_stats(&h)->resyncs, 0);
	assert_int_equal(h4_pending(&h), 0);
}

static void test_concatenated(void **state)
{
	static const uint8_t stream[] = { E1, A1, E2, A1, E1 };
	uint8_t mem[2048];
	struct h4_config cfg;
	struct h4_pkt p[5];
	struct h4 h;

	h4_config_host(&cfg);
	assert_int_equal(h4_init(&h, &cfg, mem, sizeof(mem)), 0);
	assert_int_equal(h4_feed(&h, stream, sizeof(stream)), sizeof(stream));
	/* Several packets held at once: h4_next() never moves data. */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(h4_next(&h, &p[i]), 0);
	}
	assert_int_equal(h4_next(&h, &p[0]), -EAGAIN);
	assert_int_equal(p[0].type, H4_EVT);
	assert_int_equal(p[1].type, H4_ACL);
	assert_int_equal(p[2].type, H4_EVT);
	assert_int_equal(p[3].type, H4_ACL);
	assert_int_equal(p[4].type, H4_EVT);
	assert_memory_equal(p[1].data, data(0x40, 0x20, 0x05, 0x00, 0x01, 0x00,
					    0x04, 0x00, 0xaa),
			    9);
	assert_int_equal(p[1].len, 9);
	assert_memory_equal(p[2].frame, data(E2), 7);
	assert_ptr_equal(p[4].frame, mem + sizeof(stream) - 7);
}

/* ---- the malformed table ------------------------------------------- */

struct row {
	const char *name;
	struct raw in;
	const struct h4_config *cfg; /* NULL: h4_config_host() */
	uint16_t acl_max;            /* 0: the config's */
	struct raw out[4];           /* delivered frames, in order */
	uint64_t resyncs;
	uint64_t bad_type;
	uint64_t bad_length;
	uint64_t skipped;
	uint64_t discarded;
	size_t pending;
};

static const struct h4_config cfg_strict = {
	.cmd = H4_REJECT, .acl = H4_DELIVER, .sco = H4_REJECT,
	.evt = H4_DELIVER, .iso = H4_REJECT,
	.acl_max_len = 251, .iso_max_len = 0,
};

static const struct h4_config cfg_all = {
	.cmd = H4_DELIVER, .acl = H4_DELIVER, .sco = H4_DELIVER,
	.evt = H4_DELIVER, .iso = H4_DELIVER,
	.acl_max_len = 1021, .iso_max_len = 300,
};

static const struct row rows[] = {
	{
		.name = "clean pair",
		.in = raw_pdu(E1, A1),
		.out = { raw_pdu(E1), raw_pdu(A1) },
	},
	{
		.name = "garbage before the first packet",
		.in = raw_pdu(0xff, 0x00, E1),
		.out = { raw_pdu(E1) },
		.resyncs = 1, .bad_type = 1, .skipped = 2,
	},
	{
		.name = "garbage between packets",
		.in = raw_pdu(E1, 0xff, 0xfe, 0x07, A1),
		.out = { raw_pdu(E1), raw_pdu(A1) },
		.resyncs = 1, .bad_type = 1, .skipped = 3,
	},
	{
		.name = "two separate losses",
		.in = raw_pdu(0x06, E1, 0x80, E2),
		.out = { raw_pdu(E1), raw_pdu(E2) },
		.resyncs = 2, .bad_type = 2, .skipped = 2,
	},
	{
		.name = "only garbage",
		.in = raw_pdu(0xff, 0xfe, 0xfd, 0x00),
		.resyncs = 1, .bad_type = 1, .skipped = 4,
	},
	{
		/* 4095 > 1021: the indicator and the four octets behind it
		 * (none a valid indicator) are skipped. */
		.name = "ACL length over the maximum",
		.in = raw_pdu(0x02, 0x40, 0x20, 0xff, 0x0f, E1),
		.out = { raw_pdu(E1) },
		.resyncs = 1, .bad_length = 1, .skipped = 5,
	},
	{
		.name = "ACL length at the maximum",
		.in = raw_pdu(0x02, 0x40, 0x20, 0x03, 0x00, 1, 2, 3, E1),
		.acl_max = 3,
		.out = { raw_pdu(0x02, 0x40, 0x20, 0x03, 0x00, 1, 2, 3),
			 raw_pdu(E1) },
	},
	{
		/* One over: skip 02; 40 20 invalid; 04 is an event
		 * indicator: code 0x00 is implausible while hunting; then
		 * 00 81 82 83 84 are skipped up to E1's 04. */
		.name = "ACL length one over the maximum",
		.in = raw_pdu(0x02, 0x40, 0x20, 0x04, 0x00, 0x81, 0x82, 0x83,
			      0x84, E1),
		.acl_max = 3,
		.out = { raw_pdu(E1) },
		.resyncs = 1, .bad_length = 1, .skipped = 9,
	},
	{
		.name = "zero-length ACL",
		.in = raw_pdu(0x02, 0x40, 0x20, 0x00, 0x00, E1),
		.out = { raw_pdu(0x02, 0x40, 0x20, 0x00, 0x00), raw_pdu(E1) },
	},
	{
		/* In step the framer trusts the header. */
		.name = "event code 0x00 in step",
		.in = raw_pdu(0x04, 0x00, 0x00, E1),
		.out = { raw_pdu(0x04, 0x00, 0x00), raw_pdu(E1) },
	},
	{
		.name = "event code 0x00 while hunting",
		.in = raw_pdu(0xff, 0x04, 0x00, 0x00, E1),
		.out = { raw_pdu(E1) },
		.resyncs = 1, .bad_type = 1, .skipped = 4,
	},
	{
		.name = "unknown event code in step",
		.in = raw_pdu(0x04, 0x70, 0x01, 0x00, E1),
		.out = { raw_pdu(0x04, 0x70, 0x01, 0x00), raw_pdu(E1) },
	},
	{
		/* 04 70 is implausible while hunting; 70 01 skipped; 01 is
		 * a command indicator, invalid on a host. */
		.name = "unknown event code while hunting",
		.in = raw_pdu(0xee, 0x04, 0x70, 0x01, 0x00, E1),
		.out = { raw_pdu(E1) },
		.resyncs = 1, .bad_type = 1, .skipped = 5,
	},
	{
		.name = "vendor event while hunting",
		.in = raw_pdu(0xee, 0x04, 0xff, 0x01, 0x00, E1),
		.out = { raw_pdu(0x04, 0xff, 0x01, 0x00), raw_pdu(E1) },
		.resyncs = 1, .bad_type = 1, .skipped = 1,
	},
	{
		/* Handle 0xFFF > 0x0EFF: implausible while hunting. */
		.name = "ACL handle over 0x0EFF while hunting",
		.in = raw_pdu(0xff, 0x02, 0xff, 0x0f, 0x00, 0x00, E1),
		.out = { raw_pdu(E1) },
		.resyncs = 1, .bad_type = 1, .skipped = 6,
	},
	{
		.name = "ACL handle over 0x0EFF in step",
		.in = raw_pdu(0x02, 0xff, 0x0f, 0x00, 0x00, E1),
		.out = { raw_pdu(0x02, 0xff, 0x0f, 0x00, 0x00), raw_pdu(E1) },
	},
	{
		.name = "SCO discarded on a host",
		.in = raw_pdu(S1, E1),
		.out = { raw_pdu(E1) },
		.discarded = 1,
	},
	{
		.name = "ISO discarded on a host",
		.in = raw_pdu(I1, E1, I1),
		.out = { raw_pdu(E1) },
		.discarded = 2,
	},
	{
		/* 03 rejected; 40 00 02 invalid; 11 22 invalid. */
		.name = "SCO rejected as configured",
		.in = raw_pdu(S1, E1),
		.cfg = &cfg_strict,
		.out = { raw_pdu(E1) },
		.resyncs = 1, .bad_type = 1, .skipped = 6,
	},
	{
		/* 05 rejected; 40 00; 02 is ACL with handle 0x100 and
		 * length 0x0422 > 251; 00 11 22 invalid. */
		.name = "ISO rejected as configured",
		.in = raw_pdu(I1, E1),
		.cfg = &cfg_strict,
		.out = { raw_pdu(E1) },
		.resyncs = 1, .bad_type = 1, .skipped = 7,
	},
	{
		.name = "every type delivered as configured",
		.in = raw_pdu(0x01, 0x03, 0x0c, 0x00, S1, I1, A1),
		.cfg = &cfg_all,
		.out = { raw_pdu(0x01, 0x03, 0x0c, 0x00), raw_pdu(S1),
			 raw_pdu(I1), raw_pdu(A1) },
	},
	{
		/* OGF 0x00 does not exist: implausible while hunting (then
		 * 01 00 00 is opcode 0x0000, also OGF 0x00). */
		.name = "command with OGF 0x00 while hunting",
		.in = raw_pdu(0xff, 0x01, 0x01, 0x00, 0x00, E1),
		.cfg = &cfg_all,
		.out = { raw_pdu(E1) },
		.resyncs = 1, .bad_type = 1, .skipped = 5,
	},
	{
		.name = "command with OGF 0x00 in step",
		.in = raw_pdu(0x01, 0x01, 0x00, 0x00, E1),
		.cfg = &cfg_all,
		.out = { raw_pdu(0x01, 0x01, 0x00, 0x00), raw_pdu(E1) },
	},
	{
		.name = "vendor command (OGF 0x3F) while hunting",
		.in = raw_pdu(0xff, 0x01, 0x01, 0xfc, 0x00, E1),
		.cfg = &cfg_all,
		.out = { raw_pdu(0x01, 0x01, 0xfc, 0x00), raw_pdu(E1) },
		.resyncs = 1, .bad_type = 1, .skipped = 1,
	},
	{
		/* The last packet of cfg_all's row, checked on its own so
		 * that out[] stays at four. ISO length 0x3ff0 > 300. */
		.name = "ISO length over the maximum",
		.in = raw_pdu(0x05, 0x40, 0x00, 0xf0, 0x3f, E1),
		.cfg = &cfg_all,
		.out = { raw_pdu(E1) },
		.resyncs = 1, .bad_length = 1, .skipped = 5,
	},
	{
		.name = "command indicator on a host",
		.in = raw_pdu(0x01, 0x03, 0x0c, 0x00, E1),
		.cfg = &cfg_strict,
		.out = { raw_pdu(E1) },
		.resyncs = 1, .bad_type = 1, .skipped = 4,
	},
	{
		/* The same with SCO discarded: 03 0c 00 04 is a plausible
		 * SCO header (handle 0x00c, 4 octets) whose length is E1's
		 * indicator, so eight octets go as one SCO packet, and E1's
		 * tail (0c 00) is garbage in step: a second loss. */
		.name = "SCO-shaped garbage swallows a packet",
		.in = raw_pdu(0x01, 0x03, 0x0c, 0x00, E1),
		.resyncs = 2, .bad_type = 2, .skipped = 3, .discarded = 1,
	},
	{
		/* The first event's plen was corrupted 4 -> 5: it swallows
		 * E1's indicator; 0e is invalid; 04 01 03 starts a
		 * plausible event that waits for its last octet. */
		.name = "corrupted length swallows the next indicator",
		.in = raw_pdu(0x04, 0x0e, 0x05, 0x01, 0x03, 0x0c, 0x00, E1),
		.out = { raw_pdu(0x04, 0x0e, 0x05, 0x01, 0x03, 0x0c, 0x00,
				 0x04) },
		.resyncs = 1, .bad_type = 1, .skipped = 1, .pending = 5,
	},
	{
		.name = "truncated at the end",
		.in = raw_pdu(E1, 0x04, 0x0e),
		.out = { raw_pdu(E1) },
		.pending = 2,
	},
	{
		.name = "header still arriving",
		.in = raw_pdu(0x02, 0x40, 0x20),
		.pending = 3,
	},
	{
		/* A corrupted indicator that is still valid (EVT -> ACL):
		 * 02 0e 04 01 reads as handle 0x40e, length 0x0301 = 769,
		 * possible, so the framer waits for it. Only a flush or more
		 * data resolves this: the cost of trusting headers. */
		.name = "indicator corrupted into another valid one",
		.in = raw_pdu(0x02, 0x0e, 0x04, 0x01, 0x03, 0x0c, 0x00, E1),
		.pending = 14,
	},
	{
		/* With ACL capped at 251 the length is impossible, but the
		 * hunt then locks onto 04 01 03 (a plausible event made of
		 * the old packet's octets and E1's indicator); E1's tail
		 * is garbage again and 04 01 03 0c 00 waits. Corruption of
		 * an indicator costs up to two packets. */
		.name = "strict config: a false lock after the corruption",
		.in = raw_pdu(0x02, 0x0e, 0x04, 0x01, 0x03, 0x0c, 0x00, E1),
		.cfg = &cfg_strict,
		.out = { raw_pdu(0x04, 0x01, 0x03, 0x0c, 0x00, 0x04) },
		.resyncs = 2, .bad_type = 1, .bad_length = 1, .skipped = 3,
		.pending = 5,
	},
};

static void check_row(const struct row *r, size_t chunk)
{
	uint8_t mem[4096];
	struct h4_config cfg;
	const struct h4_stats *st;
	struct out o = { 0 };
	struct h4 h;
	size_t nout = 0;

	if (r->cfg) {
		cfg = *r->cfg;
	} else {
		host_cfg(&cfg, 0);
	}
	if (r->acl_max) {
		cfg.acl_max_len = r->acl_max;
	}
	assert_int_equal(h4_init(&h, &cfg, mem, sizeof(mem)), 0);
	run(&h, r->in.bytes, r->in.len, chunk, &o);

	while (nout < ARRAY_SIZE(r->out) && r->out[nout].bytes) {
		nout++;
	}
	if (o.n != nout) {
		fail_msg("%s (chunk %zu): %zu packets, want %zu", r->name,
			 chunk, o.n, nout);
	}
	for (size_t i = 0; i < nout; i++) {
		if (o.len[i] != r->out[i].len ||
		    memcmp(o.bytes + o.off[i], r->out[i].bytes, o.len[i])) {
			fail_msg("%s (chunk %zu): packet %zu differs", r->name,
				 chunk, i);
		}
	}
	st = h4_stats(&h);
	if (st->resyncs != r->resyncs || st->bad_type != r->bad_type ||
	    st->bad_length != r->bad_length ||
	    st->bytes_skipped != r->skipped ||
	    st->discarded != r->discarded || h4_pending(&h) != r->pending) {
		fail_msg("%s (chunk %zu): resyncs %llu/%llu bad_type %llu/%llu "
			 "bad_length %llu/%llu skipped %llu/%llu discarded "
			 "%llu/%llu pending %zu/%zu",
			 r->name, chunk, (unsigned long long)st->resyncs,
			 (unsigned long long)r->resyncs,
			 (unsigned long long)st->bad_type,
			 (unsigned long long)r->bad_type,
			 (unsigned long long)st->bad_length,
			 (unsigned long long)r->bad_length,
			 (unsigned long long)st->bytes_skipped,
			 (unsigned long long)r->skipped,
			 (unsigned long long)st->discarded,
			 (unsigned long long)r->discarded, h4_pending(&h),
			 r->pending);
	}
	/* Every octet accounted for. */
	assert_int_equal(st->delivered, nout);
	assert_int_equal(st->delivered_bytes + st->discarded_bytes +
				 st->bytes_skipped + h4_pending(&h),
			 r->in.len);
	assert_int_equal(st->resyncs, st->bad_type + st->bad_length);
}

static void test_malformed_table(void **state)
{
	static const size_t chunks[] = { 1, 2, 3, 5, 4096, 0 };

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		for (size_t c = 0; c < ARRAY_SIZE(chunks); c++) {
			check_row(&rows[i], chunks[c]);
		}
	}
}

/* ---- behaviour ----------------------------------------------------- */

/* A random stream of good packets and garbage: the packets framed do not
 * depend on the chunking, and all good packets after a clean gap come
 * out. */
static void test_chunking_invariance(void **state)
{
	static uint8_t stream[6000];
	static struct out a, b;
	size_t len = 0, npkt = 0;
	uint8_t mem[2048];
	struct h4_config cfg;
	struct h4 h;

	while (len + 300 < sizeof(stream)) {
		uint64_t k = rng() % 4;

		if (k == 0) {
			/* garbage: octets that are never an indicator */
			size_t g = 1 + rng() % 5;

			for (size_t i = 0; i < g; i++) {
				stream[len++] = 0x80 | (uint8_t)rng();
			}
		} else if (k == 1) {
			size_t pl = rng() % 40;

			npkt++;
			stream[len++] = H4_EVT;
			stream[len++] = 0x13;
			stream[len++] = (uint8_t)pl;
			for (size_t i = 0; i < pl; i++) {
				stream[len++] = (uint8_t)rng();
			}
		} else {
			size_t dl = rng() % 252;

			npkt++;
			stream[len++] = H4_ACL;
			stream[len++] = 0x41;
			stream[len++] = 0x20;
			stream[len++] = (uint8_t)dl;
			stream[len++] = 0;
			for (size_t i = 0; i < dl; i++) {
				stream[len++] = (uint8_t)rng();
			}
		}
	}

	host_cfg(&cfg, 251);
	assert_int_equal(h4_init(&h, &cfg, mem, sizeof(mem)), 0);
	run(&h, stream, len, len, &a);
	for (int round = 0; round < 20; round++) {
		memset(&b, 0, sizeof(b));
		assert_int_equal(h4_init(&h, &cfg, mem, sizeof(mem)), 0);
		run(&h, stream, len, round == 0 ? 1 : 0, &b);
		assert_int_equal(a.n, b.n);
		assert_int_equal(a.used, b.used);
		assert_memory_equal(a.bytes, b.bytes, a.used);
	}
	/* Garbage never contains an indicator, so no packet is lost. */
	assert_int_equal(a.n, npkt);
	assert_true(npkt > 10);
}

static void test_buffer_full(void **state)
{
	static const uint8_t stream[] = { E1, E1, E1 };
	struct h4_config cfg = {
		.evt = H4_DELIVER, .acl_max_len = 0, .iso_max_len = 0,
	};
	uint8_t mem[258];
	struct h4_pkt pkt;
	struct h4 h;

	/* 1 + 2 + 255: events only. */
	assert_int_equal(h4_frame_max(&cfg), 258);
	assert_int_equal(h4_init(&h, &cfg, mem, 257), -EINVAL);
	assert_int_equal(h4_init(&h, &cfg, mem, sizeof(mem)), 0);

	/* Fill the buffer completely, then no more is taken. */
	for (size_t i = 0; i < 36; i++) {
		assert_int_equal(h4_feed(&h, stream, 7), 7);
	}
	assert_int_equal(h4_feed(&h, stream, 21), 6);
	assert_int_equal(h4_pending(&h), 258);
	assert_int_equal(h4_feed(&h, stream, 7), 0);
	uint8_t *sp;
	size_t sl;

	assert_int_equal(h4_space(&h, &sp, &sl), -ENOBUFS);
	/* Draining makes room; the partial packet moves to the front. */
	for (int i = 0; i < 36; i++) {
		assert_int_equal(h4_next(&h, &pkt), 0);
	}
	assert_int_equal(h4_next(&h, &pkt), -EAGAIN);
	assert_int_equal(h4_pending(&h), 6);
	assert_int_equal(h4_feed(&h, stream + 6, 1), 1);
	assert_int_equal(h4_next(&h, &pkt), 0);
	assert_ptr_equal(pkt.frame, mem);
	assert_memory_equal(pkt.frame, data(E1), 7);
	assert_int_equal(h4_stats(&h)->delivered, 37);
}

static void test_zero_copy_input(void **state)
{
	static const uint8_t stream[] = { E1, A1 };
	uint8_t mem[2048];
	struct h4_config cfg;
	struct h4_pkt pkt;
	struct h4 h;
	uint8_t *sp;
	size_t sl;

	h4_config_host(&cfg);
	assert_int_equal(h4_init(&h, &cfg, mem, sizeof(mem)), 0);
	assert_int_equal(h4_space(&h, &sp, &sl), 0);
	assert_ptr_equal(sp, mem);
	assert_int_equal(sl, sizeof(mem));
	memcpy(sp, stream, 12);
	assert_int_equal(h4_commit(&h, 12), 0);
	assert_int_equal(h4_next(&h, &pkt), 0);
	assert_memory_equal(pkt.frame, data(E1), 7);
	assert_int_equal(h4_next(&h, &pkt), -EAGAIN);

	/* The partial ACL moves to the front to give the largest span. */
	assert_int_equal(h4_space(&h, &sp, &sl), 0);
	assert_ptr_equal(sp, mem + 5);
	assert_int_equal(sl, sizeof(mem) - 5);
	memcpy(sp, stream + 12, sizeof(stream) - 12);
	assert_int_equal(h4_commit(&h, sl + 1), -EINVAL);
	assert_int_equal(h4_commit(&h, sizeof(stream) - 12), 0);
	assert_int_equal(h4_next(&h, &pkt), 0);
	assert_ptr_equal(pkt.frame, mem);
	assert_memory_equal(pkt.frame, data(A1), 10);
}

static void test_flush(void **state)
{
	uint8_t mem[2048];
	struct h4_config cfg;
	struct h4_pkt pkt;
	struct h4 h;

	h4_config_host(&cfg);
	assert_int_equal(h4_init(&h, &cfg, mem, sizeof(mem)), 0);
	/* A corrupted but possible length waits for octets that never come;
	 * the caller's idle timer flushes, and the next packet is clean. */
	h4_feed(&h, data(0x02, 0x40, 0x20, 0xff, 0x02, 1, 2, 3), 8);
	assert_int_equal(h4_next(&h, &pkt), -EAGAIN);
	h4_flush(&h);
	assert_int_equal(h4_stats(&h)->flushes, 1);
	assert_int_equal(h4_stats(&h)->bytes_flushed, 8);
	assert_int_equal(h4_pending(&h), 0);
	h4_flush(&h);
	assert_int_equal(h4_stats(&h)->flushes, 1);
	h4_feed(&h, data(E1), 7);
	assert_int_equal(h4_next(&h, &pkt), 0);
	assert_int_equal(pkt.type, H4_EVT);

	/* Flushing while hunting returns to step. */
	h4_feed(&h, data(0xff, 0x04, 0x70), 3);
	assert_int_equal(h4_next(&h, &pkt), -EAGAIN);
	assert_true(h4_hunting(&h));
	h4_flush(&h);
	assert_false(h4_hunting(&h));
	h4_feed(&h, data(0x04, 0x70, 0x00), 3);
	assert_int_equal(h4_next(&h, &pkt), 0);
}

static void test_hunting_state(void **state)
{
	uint8_t mem[2048];
	struct h4_config cfg;
	struct h4_pkt pkt;
	struct h4 h;

	h4_config_host(&cfg);
	assert_int_equal(h4_init(&h, &cfg, mem, sizeof(mem)), 0);
	assert_false(h4_hunting(&h));
	h4_feed(&h, data(0x99), 1);
	assert_int_equal(h4_next(&h, &pkt), -EAGAIN);
	assert_true(h4_hunting(&h));
	/* More garbage while hunting is the same loss, not a new one. */
	h4_feed(&h, data(0x98, 0x97), 2);
	assert_int_equal(h4_next(&h, &pkt), -EAGAIN);
	assert_int_equal(h4_stats(&h)->resyncs, 1);
	assert_int_equal(h4_stats(&h)->bytes_skipped, 3);
	h4_feed(&h, data(E1), 7);
	assert_int_equal(h4_next(&h, &pkt), 0);
	assert_false(h4_hunting(&h));

	h4_reset(&h);
	assert_int_equal(h4_pending(&h), 0);
	assert_int_equal(h4_stats(&h)->delivered, 1);
}

static void test_init_invalid(void **state)
{
	uint8_t mem[2048];
	struct h4_config cfg;
	struct h4 h;

	h4_config_host(&cfg);
	assert_int_equal(h4_frame_max(&cfg), 1 + 4 + 1021);
	assert_int_equal(h4_init(&h, &cfg, mem, 1025), -EINVAL);
	assert_int_equal(h4_init(&h, &cfg, mem, 1026), 0);
	assert_int_equal(h4_init(&h, &cfg, NULL, 1026), -EINVAL);
	cfg.sco = (enum h4_policy)3;
	assert_int_equal(h4_init(&h, &cfg, mem, sizeof(mem)), -EINVAL);
	h4_config_host(&cfg);
	cfg.iso_max_len = H4_ISO_LEN_LIMIT + 1;
	assert_int_equal(h4_init(&h, &cfg, mem, sizeof(mem)), -EINVAL);
	cfg = (struct h4_config){ 0 };
	assert_int_equal(h4_init(&h, &cfg, mem, sizeof(mem)), -EINVAL);
}

static void test_names(void **state)
{
	assert_string_equal(h4_type_name(H4_CMD), "CMD");
	assert_string_equal(h4_type_name(H4_ISO), "ISO");
	assert_null(h4_type_name(0));
	assert_null(h4_type_name(6));
	assert_int_equal(h4_hdr_size(H4_ACL), 4);
	assert_int_equal(h4_hdr_size(H4_EVT), 2);
	assert_int_equal(h4_hdr_size(H4_SCO), 3);
	assert_int_equal(h4_hdr_size(0x07), 0);
}

#define T(name, fn)                                                           \
	{                                                                     \
		"h4/" name, fn, NULL, NULL, NULL                              \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("encode", test_encode),
		T("encode_errors", test_encode_errors),
		T("encode_in_place", test_encode_in_place),
		T("byte_by_byte", test_byte_by_byte),
		T("concatenated", test_concatenated),
		T("malformed_table", test_malformed_table),
		T("chunking_invariance", test_chunking_invariance),
		T("buffer_full", test_buffer_full),
		T("zero_copy_input", test_zero_copy_input),
		T("flush", test_flush),
		T("hunting_state", test_hunting_state),
		T("init_invalid", test_init_invalid),
		T("names", test_names),
	};

	return cmocka_run_group_tests_name("h4", tests, NULL, NULL);
}
