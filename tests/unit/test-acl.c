/* SPDX-License-Identifier: MIT */
/*
 * ACL fragmentation, reassembly and flow control tests (Core 5.4, Vol 4,
 * Part E, 5.4.2 and 4.1; Vol 3, Part A, 7.2). Packets are written by
 * hand where the bytes matter and generated where the sizes do.
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
#include "core/macro.h"

#define data(args...) ((const uint8_t[]){ args })

static uint64_t rng_state = 0xac10000000000001ULL;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* An L2CAP PDU: basic header (length, cid) + n octets of pattern. */
static size_t make_pdu(uint8_t *p, uint16_t cid, size_t n, uint8_t seed)
{
	p[0] = (uint8_t)n;
	p[1] = (uint8_t)(n >> 8);
	p[2] = (uint8_t)cid;
	p[3] = (uint8_t)(cid >> 8);
	for (size_t i = 0; i < n; i++) {
		p[4 + i] = (uint8_t)(seed + i * 7);
	}
	return 4 + n;
}

#define N_SLOTS 2
#define SLOT_CAP 2048

struct fixture {
	struct acl_reasm r;
	struct acl_rx slots[N_SLOTS];
	uint8_t mem[N_SLOTS][SLOT_CAP];
};

static void fixture_init(struct fixture *f, size_t cap)
{
	uint8_t *bufs[N_SLOTS] = { f->mem[0], f->mem[1] };

	assert_int_equal(acl_reasm_init(&f->r, f->slots, N_SLOTS, bufs, cap),
			 0);
	assert_int_equal(acl_reasm_add(&f->r, 0x040), 0);
	assert_int_equal(acl_reasm_add(&f->r, 0x041), 0);
}

/* ---- header -------------------------------------------------------- */

static void test_header(void **state)
{
	struct acl_hdr h;
	uint8_t buf[4];

	/* Handle 0x040, PB 0b10, BC 0b00, 5 octets. */
	assert_int_equal(acl_decode(data(0x40, 0x20, 0x05, 0x00, 1, 2, 3, 4,
					 5),
				    9, &h),
			 0);
	assert_int_equal(h.handle, 0x040);
	assert_int_equal(h.pb, ACL_PB_FIRST_FLUSHABLE);
	assert_int_equal(h.bc, 0);
	assert_int_equal(h.len, 5);
	/* Handle 0xABC, PB 0b01, BC 0b01. */
	assert_int_equal(acl_decode(data(0xbc, 0x5a, 0x00, 0x00), 4, &h), 0);
	assert_int_equal(h.handle, 0xabc);
	assert_int_equal(h.pb, ACL_PB_CONTINUING);
	assert_int_equal(h.bc, 1);
	assert_int_equal(acl_decode(data(0x40, 0x20, 0x05), 3, &h), -EBADMSG);
	assert_int_equal(acl_decode(data(0x40, 0x20, 0x02, 0x00, 1), 5, &h),
			 -EBADMSG);
	assert_int_equal(acl_decode(data(0x40, 0x20, 0x00, 0x00, 1), 5, &h),
			 -EBADMSG);

	assert_int_equal(acl_put_hdr(buf, 0x123, ACL_PB_FIRST_NON_FLUSHABLE,
				     0x0102),
			 0);
	assert_memory_equal(buf, data(0x23, 0x01, 0x02, 0x01), 4);
	assert_int_equal(acl_put_hdr(buf, 0x123, ACL_PB_CONTINUING, 27), 0);
	assert_memory_equal(buf, data(0x23, 0x11, 0x1b, 0x00), 4);
	assert_int_equal(acl_put_hdr(buf, 0xf00, ACL_PB_CONTINUING, 1),
			 -EINVAL);
	assert_int_equal(acl_put_hdr(buf, 0x1, (enum acl_pb)4, 1), -EINVAL);
}

/* ---- fragmentation ------------------------------------------------- */

static void test_frag_27(void **state)
{
	uint8_t pdu[64], out[64];
	struct acl_frag f;
	size_t n;

	/* 4 + 60 = 64 octets at 27: 27 + 27 + 10. */
	make_pdu(pdu, 0x0040, 60, 1);
	assert_int_equal(acl_frag_count(64, 27), 3);
	assert_int_equal(acl_frag_init(&f, 0x040, pdu, 64, 27,
				       ACL_PB_FIRST_NON_FLUSHABLE),
			 0);

	assert_int_equal(acl_frag_next(&f, out, sizeof(out), &n), 0);
	assert_int_equal(n, 31);
	assert_memory_equal(out, data(0x40, 0x00, 0x1b, 0x00), 4);
	assert_memory_equal(out + 4, pdu, 27);

	assert_int_equal(acl_frag_next(&f, out, sizeof(out), &n), 0);
	assert_int_equal(n, 31);
	assert_memory_equal(out, data(0x40, 0x10, 0x1b, 0x00), 4);
	assert_memory_equal(out + 4, pdu + 27, 27);

	assert_true(acl_frag_pending(&f));
	/* Too small for the last fragment: nothing written, state kept. */
	memset(out, 0xee, sizeof(out));
	assert_int_equal(acl_frag_next(&f, out, 13, &n), -ENOBUFS);
	assert_int_equal(out[0], 0xee);
	assert_int_equal(acl_frag_next(&f, out, 14, &n), 0);
	assert_int_equal(n, 14);
	assert_memory_equal(out, data(0x40, 0x10, 0x0a, 0x00), 4);
	assert_memory_equal(out + 4, pdu + 54, 10);

	assert_false(acl_frag_pending(&f));
	assert_int_equal(acl_frag_next(&f, out, sizeof(out), &n), -ENODATA);
}

static void test_frag_251(void **state)
{
	uint8_t pdu[504], out[300];
	struct acl_frag f;
	size_t n;

	/* Exactly one buffer: one fragment. */
	make_pdu(pdu, 0x0041, 247, 3);
	assert_int_equal(acl_frag_init(&f, 0x041, pdu, 251, 251,
				       ACL_PB_FIRST_FLUSHABLE),
			 0);
	assert_int_equal(acl_frag_next(&f, out, sizeof(out), &n), 0);
	assert_int_equal(n, 255);
	assert_memory_equal(out, data(0x41, 0x20, 0xfb, 0x00), 4);
	assert_int_equal(acl_frag_next(&f, out, sizeof(out), &n), -ENODATA);

	/* 504 octets: 251 + 251 + 2. */
	make_pdu(pdu, 0x0041, 500, 3);
	assert_int_equal(acl_frag_count(504, 251), 3);
	assert_int_equal(acl_frag_init(&f, 0x041, pdu, 504, 251,
				       ACL_PB_FIRST_NON_FLUSHABLE),
			 0);
	assert_int_equal(acl_frag_next(&f, out, sizeof(out), &n), 0);
	assert_int_equal(n, 255);
	assert_int_equal(out[1], 0x00);
	assert_int_equal(acl_frag_next(&f, out, sizeof(out), &n), 0);
	assert_int_equal(n, 255);
	assert_int_equal(out[1], 0x10);
	assert_memory_equal(out + 4, pdu + 251, 251);
	assert_int_equal(acl_frag_next(&f, out, sizeof(out), &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(out, data(0x41, 0x10, 0x02, 0x00), 4);
	assert_memory_equal(out + 4, pdu + 502, 2);
}

static void test_frag_in_place(void **state)
{
	uint8_t buf[64];
	struct acl_frag f;
	size_t n;

	/* The PDU built at buf + 4: only the header is written. */
	make_pdu(buf + 4, 0x0040, 10, 9);
	assert_int_equal(acl_frag_init(&f, 0x040, buf + 4, 14, 27,
				       ACL_PB_FIRST_NON_FLUSHABLE),
			 0);
	assert_int_equal(acl_frag_next(&f, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 18);
	assert_memory_equal(buf, data(0x40, 0x00, 0x0e, 0x00, 0x0a, 0x00, 0x40,
				      0x00, 9),
			    9);
}

static void test_frag_invalid(void **state)
{
	uint8_t pdu[8] = { 0 };
	struct acl_frag f;

	assert_int_equal(acl_frag_init(&f, 0xf00, pdu, 8, 27,
				       ACL_PB_FIRST_NON_FLUSHABLE),
			 -EINVAL);
	assert_int_equal(acl_frag_init(&f, 0x40, pdu, 8, 0,
				       ACL_PB_FIRST_NON_FLUSHABLE),
			 -EINVAL);
	assert_int_equal(acl_frag_init(&f, 0x40, pdu, 0, 27,
				       ACL_PB_FIRST_NON_FLUSHABLE),
			 -EINVAL);
	assert_int_equal(acl_frag_init(&f, 0x40, pdu, 8, 27, ACL_PB_CONTINUING),
			 -EINVAL);
	assert_int_equal(acl_frag_init(&f, 0x40, pdu, 8, 27, ACL_PB_COMPLETE),
			 -EINVAL);
	assert_int_equal(acl_frag_init(&f, 0x40, NULL, 8, 27,
				       ACL_PB_FIRST_NON_FLUSHABLE),
			 -EINVAL);
	assert_int_equal(acl_frag_count(0, 0), 0);
}

/* ---- reassembly ---------------------------------------------------- */

static void test_round_trip(void **state)
{
	static const uint16_t sizes[] = { 27, 251 };
	static uint8_t pdu[SLOT_CAP], pkt[300];
	struct fixture f;
	struct acl_pdu out;

	fixture_init(&f, SLOT_CAP);
	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		for (int k = 0; k < 300; k++) {
			size_t n = rng() % (SLOT_CAP - 4);
			size_t len = make_pdu(pdu, 0x0040 + (uint16_t)k % 8,
					      n, (uint8_t)k);
			struct acl_frag fr;
			size_t m, frags = 0;
			int r = 0;

			assert_int_equal(acl_frag_init(&fr, 0x041, pdu, len,
						       sizes[s],
						       ACL_PB_FIRST_FLUSHABLE),
					 0);
			while (acl_frag_next(&fr, pkt, sizeof(pkt), &m) == 0) {
				assert_true(m - 4 <= sizes[s]);
				/* Only the last fragment completes. */
				assert_int_equal(r, 0);
				r = acl_reasm_feed(&f.r, pkt, m, &out);
				assert_true(r == 0 || r == 1);
				frags++;
			}
			assert_int_equal(r, 1);
			assert_int_equal(frags, acl_frag_count(len, sizes[s]));
			assert_int_equal(out.handle, 0x041);
			assert_int_equal(out.cid, 0x0040 + k % 8);
			assert_int_equal(out.len, n);
			assert_memory_equal(out.payload, pdu + 4, n);
		}
	}
	assert_int_equal(f.r.stats.pdus, 600);
	assert_int_equal(f.r.stats.orphan + f.r.stats.overlong +
				 f.r.stats.oversize + f.r.stats.interrupted,
			 0);
}

/* Fragments of two handles interleaved: each PDU reassembles apart. */
static void test_interleaved_handles(void **state)
{
	uint8_t pa[100], pb[100], pkt[40];
	struct acl_frag fa, fb;
	struct fixture f;
	struct acl_pdu out;
	size_t la, lb, m;
	int done = 0;

	fixture_init(&f, SLOT_CAP);
	la = make_pdu(pa, 0x0040, 80, 0x10);
	lb = make_pdu(pb, 0x0041, 60, 0x80);
	acl_frag_init(&fa, 0x040, pa, la, 27, ACL_PB_FIRST_FLUSHABLE);
	acl_frag_init(&fb, 0x041, pb, lb, 27, ACL_PB_FIRST_FLUSHABLE);
	while (acl_frag_pending(&fa) || acl_frag_pending(&fb)) {
		if (acl_frag_next(&fa, pkt, sizeof(pkt), &m) == 0 &&
		    acl_reasm_feed(&f.r, pkt, m, &out) == 1) {
			assert_int_equal(out.handle, 0x040);
			assert_int_equal(out.len, 80);
			assert_memory_equal(out.payload, pa + 4, 80);
			done |= 1;
		}
		if (acl_frag_next(&fb, pkt, sizeof(pkt), &m) == 0 &&
		    acl_reasm_feed(&f.r, pkt, m, &out) == 1) {
			assert_int_equal(out.handle, 0x041);
			assert_int_equal(out.cid, 0x0041);
			assert_int_equal(out.len, 60);
			assert_memory_equal(out.payload, pb + 4, 60);
			done |= 2;
		}
	}
	assert_int_equal(done, 3);
	assert_int_equal(f.r.stats.interrupted, 0);
}

/* A PDU in one fragment points into the packet: no copy. */
static void test_single_fragment_zero_copy(void **state)
{
	static const uint8_t pkt[] = { 0x40, 0x20, 0x07, 0x00, 0x03, 0x00,
				       0x04, 0x00, 0xa, 0xb, 0xc };
	struct fixture f;
	struct acl_pdu out;

	fixture_init(&f, SLOT_CAP);
	assert_int_equal(acl_reasm_feed(&f.r, pkt, sizeof(pkt), &out), 1);
	assert_ptr_equal(out.payload, pkt + 8);
	assert_int_equal(out.len, 3);
	assert_int_equal(out.cid, 0x0004);
	/* An empty PDU (basic header only) is a PDU too. */
	assert_int_equal(acl_reasm_feed(&f.r,
					data(0x40, 0x20, 0x04, 0x00, 0x00, 0x00,
					     0x05, 0x00),
					8, &out),
			 1);
	assert_int_equal(out.len, 0);
	assert_int_equal(out.cid, 5);
}

/* The basic header itself split over fragments (2 + 1 + 1 + rest). */
static void test_split_header(void **state)
{
	struct fixture f;
	struct acl_pdu out;

	fixture_init(&f, SLOT_CAP);
	assert_int_equal(acl_reasm_feed(&f.r, data(0x40, 0x20, 0x02, 0x00,
						   0x03, 0x00),
					6, &out),
			 0);
	assert_int_equal(acl_reasm_feed(&f.r, data(0x40, 0x10, 0x01, 0x00,
						   0x44),
					5, &out),
			 0);
	assert_int_equal(acl_reasm_feed(&f.r, data(0x40, 0x10, 0x01, 0x00,
						   0x00),
					5, &out),
			 0);
	assert_int_equal(acl_reasm_feed(&f.r, data(0x40, 0x10, 0x03, 0x00, 7,
						   8, 9),
					7, &out),
			 1);
	assert_int_equal(out.cid, 0x0044);
	assert_int_equal(out.len, 3);
	assert_memory_equal(out.payload, data(7, 8, 9), 3);
	assert_ptr_equal(out.payload, f.mem[0] + 4);
	/* A start fragment with no data at all (found by fuzz-hci: it was
	 * taken for a complete empty PDU and its header read from nothing). */
	assert_int_equal(acl_reasm_feed(&f.r, data(0x41, 0x20, 0x00, 0x00), 4,
					&out),
			 0);
	assert_int_equal(acl_reasm_feed(&f.r, data(0x41, 0x10, 0x05, 0x00, 0x01,
						   0x00, 0x04, 0x00, 0x77),
					9, &out),
			 1);
	assert_int_equal(out.handle, 0x041);
	assert_int_equal(out.cid, 4);
	assert_int_equal(out.len, 1);
	assert_int_equal(out.payload[0], 0x77);
}

static void test_continuation_without_start(void **state)
{
	struct fixture f;
	struct acl_pdu out = { 0 };

	fixture_init(&f, SLOT_CAP);
	assert_int_equal(acl_reasm_feed(&f.r, data(0x40, 0x10, 0x02, 0x00, 1,
						   2),
					6, &out),
			 -EILSEQ);
	assert_int_equal(f.r.stats.orphan, 1);
	assert_int_equal(out.len, 0);
	/* After a complete PDU a continuation is an orphan too. */
	assert_int_equal(acl_reasm_feed(&f.r, data(0x40, 0x20, 0x05, 0x00, 0x01,
						   0x00, 0x04, 0x00, 0xaa),
					9, &out),
			 1);
	assert_int_equal(acl_reasm_feed(&f.r, data(0x40, 0x10, 0x01, 0x00, 1),
					5, &out),
			 -EILSEQ);
	assert_int_equal(f.r.stats.orphan, 2);
	assert_int_equal(f.r.stats.pdus, 1);
}

static void test_overlong(void **state)
{
	struct fixture f;
	struct acl_pdu out;

	fixture_init(&f, SLOT_CAP);
	/* L2CAP length 3 but 4 octets follow the header in one fragment. */
	assert_int_equal(acl_reasm_feed(&f.r, data(0x40, 0x20, 0x08, 0x00, 0x03,
						   0x00, 0x04, 0x00, 1, 2, 3,
						   4),
					12, &out),
			 -EOVERFLOW);
	assert_int_equal(f.r.stats.overlong, 1);
	/* Length 4: 2 in the start, then 3 in a continuation. */
	assert_int_equal(acl_reasm_feed(&f.r, data(0x40, 0x20, 0x06, 0x00, 0x04,
						   0x00, 0x04, 0x00, 1, 2),
					10, &out),
			 0);
	assert_int_equal(acl_reasm_feed(&f.r, data(0x40, 0x10, 0x03, 0x00, 3, 4,
						   5),
					7, &out),
			 -EOVERFLOW);
	assert_int_equal(f.r.stats.overlong, 2);
	/* The PDU is gone: the next continuation is an orphan. */
	assert_int_equal(acl_reasm_feed(&f.r, data(0x40, 0x10, 0x01, 0x00, 5),
					5, &out),
			 -EILSEQ);
	assert_int_equal(f.r.stats.pdus, 0);
}

static void test_oversize(void **state)
{
	struct fixture f;
	struct acl_pdu out;

	/* Slots of 16 octets: PDUs up to 12 octets of payload. */
	fixture_init(&f, 16);
	assert_int_equal(acl_reasm_feed(&f.r, data(0x40, 0x20, 0x06, 0x00, 0x0d,
						   0x00, 0x04, 0x00, 1, 2),
					10, &out),
			 -EMSGSIZE);
	assert_int_equal(f.r.stats.oversize, 1);
	/* Its continuations (11 more octets) are absorbed, uncounted. */
	assert_int_equal(acl_reasm_feed(&f.r, data(0x40, 0x10, 0x05, 0x00, 1, 2,
						   3, 4, 5),
					9, &out),
			 0);
	assert_int_equal(acl_reasm_feed(&f.r, data(0x40, 0x10, 0x06, 0x00, 1, 2,
						   3, 4, 5, 6),
					10, &out),
			 0);
	assert_int_equal(f.r.stats.orphan, 0);
	/* One octet more than the PDU had is an orphan. */
	assert_int_equal(acl_reasm_feed(&f.r, data(0x40, 0x10, 0x01, 0x00, 1),
					5, &out),
			 -EILSEQ);
	/* 12 octets fit exactly. */
	assert_int_equal(acl_reasm_feed(&f.r, data(0x40, 0x20, 0x06, 0x00, 0x0c,
						   0x00, 0x04, 0x00, 1, 2),
					10, &out),
			 0);
	assert_int_equal(acl_reasm_feed(&f.r, data(0x40, 0x10, 0x0a, 0x00, 3, 4,
						   5, 6, 7, 8, 9, 10, 11, 12),
					14, &out),
			 1);
	assert_int_equal(out.len, 12);
	assert_memory_equal(out.payload,
			    data(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), 12);
}

/* A new start while a PDU is partial: the partial one is lost (counted)
 * and the new one reassembles. */
static void test_out_of_order(void **state)
{
	struct fixture f;
	struct acl_pdu out;

	fixture_init(&f, SLOT_CAP);
	assert_int_equal(acl_reasm_feed(&f.r, data(0x40, 0x20, 0x06, 0x00, 0x05,
						   0x00, 0x04, 0x00, 1, 2),
					10, &out),
			 0);
	assert_int_equal(acl_reasm_feed(&f.r, data(0x40, 0x20, 0x06, 0x00, 0x03,
						   0x00, 0x05, 0x00, 7, 8),
					10, &out),
			 0);
	assert_int_equal(f.r.stats.interrupted, 1);
	assert_int_equal(acl_reasm_feed(&f.r, data(0x40, 0x10, 0x01, 0x00, 9),
					5, &out),
			 1);
	assert_int_equal(out.cid, 5);
	assert_memory_equal(out.payload, data(7, 8, 9), 3);
	assert_int_equal(f.r.stats.pdus, 1);
}

static void test_bad_packets(void **state)
{
	struct fixture f;
	struct acl_pdu out;

	fixture_init(&f, SLOT_CAP);
	assert_int_equal(acl_reasm_feed(&f.r, data(0x40, 0x20, 0x05), 3, &out),
			 -EBADMSG);
	assert_int_equal(acl_reasm_feed(&f.r, data(0x42, 0x20, 0x01, 0x00, 1),
					5, &out),
			 -ENXIO);
	/* PB 0b11: complete automatically flushable, not on LE. */
	assert_int_equal(acl_reasm_feed(&f.r, data(0x40, 0x30, 0x04, 0x00, 0x00,
						   0x00, 0x04, 0x00),
					8, &out),
			 -EPROTO);
	/* Broadcast flag set. */
	assert_int_equal(acl_reasm_feed(&f.r, data(0x40, 0x60, 0x04, 0x00, 0x00,
						   0x00, 0x04, 0x00),
					8, &out),
			 -EPROTO);
	assert_int_equal(f.r.stats.bad_header, 1);
	assert_int_equal(f.r.stats.unknown_handle, 1);
	assert_int_equal(f.r.stats.bad_flags, 2);
	assert_int_equal(f.r.stats.pdus, 0);
}

static void test_slots(void **state)
{
	struct fixture f;
	struct acl_pdu out;
	uint8_t *bufs[N_SLOTS] = { f.mem[0], f.mem[1] };

	assert_int_equal(acl_reasm_init(&f.r, f.slots, N_SLOTS, bufs, 3),
			 -EINVAL);
	fixture_init(&f, SLOT_CAP);
	assert_int_equal(acl_reasm_add(&f.r, 0x040), -EEXIST);
	assert_int_equal(acl_reasm_add(&f.r, 0x042), -ENOSPC);
	assert_int_equal(acl_reasm_add(&f.r, 0xf00), -EINVAL);
	assert_int_equal(acl_reasm_remove(&f.r, 0x042), -ENOENT);

	/* Removing a handle drops its partial PDU: a new connection that
	 * reuses the handle starts clean. */
	assert_int_equal(acl_reasm_feed(&f.r, data(0x41, 0x20, 0x06, 0x00, 0x05,
						   0x00, 0x04, 0x00, 1, 2),
					10, &out),
			 0);
	assert_int_equal(acl_reasm_remove(&f.r, 0x041), 0);
	assert_int_equal(acl_reasm_feed(&f.r, data(0x41, 0x10, 0x01, 0x00, 9),
					5, &out),
			 -ENXIO);
	assert_int_equal(acl_reasm_add(&f.r, 0x042), 0);
	assert_int_equal(acl_reasm_add(&f.r, 0x041), -ENOSPC);
	assert_int_equal(acl_reasm_remove(&f.r, 0x042), 0);
	assert_int_equal(acl_reasm_add(&f.r, 0x041), 0);
	assert_int_equal(acl_reasm_feed(&f.r, data(0x41, 0x10, 0x01, 0x00, 9),
					5, &out),
			 -EILSEQ);
	assert_int_equal(f.r.stats.interrupted, 0);
}

/* ---- flow control -------------------------------------------------- */

struct done_log {
	size_t n;
	uint16_t handle[16];
	uint64_t cookie[16];
};

static void on_done(void *user_data, uint16_t handle, uint64_t cookie)
{
	struct done_log *d = user_data;

	assert_true(d->n < ARRAY_SIZE(d->cookie));
	d->handle[d->n] = handle;
	d->cookie[d->n] = cookie;
	d->n++;
}

static void test_flow(void **state)
{
	struct done_log d = { 0 };
	struct acl_flow f;

	assert_int_equal(acl_flow_init(&f, 0), -EINVAL);
	assert_int_equal(acl_flow_init(&f, 3), 0);
	assert_int_equal(acl_flow_avail(&f), 3);
	assert_int_equal(acl_flow_sent(&f, 0x40, 1000), 0);
	assert_int_equal(acl_flow_sent(&f, 0x41, 1500), 0);
	assert_int_equal(acl_flow_sent(&f, 0x40, 2000), 0);
	assert_int_equal(acl_flow_avail(&f), 0);
	assert_int_equal(acl_flow_sent(&f, 0x41, 9), -ENOBUFS);
	assert_int_equal(acl_flow_outstanding(&f, 0x40), 2);
	assert_int_equal(acl_flow_outstanding(&f, 0x41), 1);
	assert_int_equal(acl_flow_outstanding(&f, 0x42), 0);

	/* Number Of Completed Packets returns the oldest of a handle. */
	assert_int_equal(acl_flow_completed(&f, 0x40, 1, on_done, &d), 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.handle[0], 0x40);
	assert_int_equal(d.cookie[0], 1000);
	assert_int_equal(acl_flow_avail(&f), 1);
	assert_int_equal(acl_flow_outstanding(&f, 0x40), 1);
	/* More than outstanding: the rest is credited, the excess counted. */
	assert_int_equal(acl_flow_completed(&f, 0x41, 3, on_done, &d),
			 -ERANGE);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.cookie[1], 1500);
	assert_int_equal(f.over_completed, 2);
	assert_int_equal(acl_flow_avail(&f), 2);
	assert_int_equal(acl_flow_completed(&f, 0x55, 1, on_done, &d), -ERANGE);
	assert_int_equal(f.over_completed, 3);
	assert_int_equal(acl_flow_avail(&f), 2);
	assert_int_equal(d.n, 2);

	/* Disconnection Complete frees everything of that handle (4.3),
	 * reporting nothing: those packets were flushed. */
	assert_int_equal(acl_flow_sent(&f, 0x40, 3000), 0);
	assert_int_equal(acl_flow_outstanding(&f, 0x40), 2);
	acl_flow_disconnected(&f, 0x40);
	assert_int_equal(acl_flow_outstanding(&f, 0x40), 0);
	assert_int_equal(acl_flow_avail(&f), 3);
	acl_flow_disconnected(&f, 0x40);
	assert_int_equal(acl_flow_avail(&f), 3);
	assert_int_equal(d.n, 2);
	assert_int_equal(acl_flow_sent(&f, 0xf00, 0), -EINVAL);
	/* A NULL callback is allowed. */
	assert_int_equal(acl_flow_sent(&f, 0x40, 1), 0);
	assert_int_equal(acl_flow_completed(&f, 0x40, 1, NULL, NULL), 0);
}

/* Cookies come back in send order across the ring's wrap. */
static void test_flow_fifo(void **state)
{
	struct done_log d;
	struct acl_flow f;
	uint64_t next_sent = 0, next_done = 0;

	assert_int_equal(acl_flow_init(&f, 1000), 0);
	assert_int_equal(acl_flow_avail(&f), ACL_FLOW_DEPTH);
	for (int round = 0; round < 50; round++) {
		/* Fill to the brim, then complete in uneven batches. */
		while (acl_flow_avail(&f) > 0) {
			assert_int_equal(acl_flow_sent(&f, 0x7, next_sent++),
					 0);
		}
		assert_int_equal(acl_flow_sent(&f, 0x7, 0), -ENOBUFS);
		for (uint16_t k = (uint16_t)(1 + round % 7); k > 0; k--) {
			uint16_t n = (uint16_t)(1 + (round + k) % 5);

			memset(&d, 0, sizeof(d));
			assert_int_equal(acl_flow_completed(&f, 0x7, n, on_done,
							    &d),
					 0);
			assert_int_equal(d.n, n);
			for (size_t i = 0; i < n; i++) {
				assert_int_equal(d.cookie[i], next_done++);
			}
		}
	}
	assert_int_equal(acl_flow_outstanding(&f, 0x7),
			 next_sent - next_done);
}

static void test_flow_handles_full(void **state)
{
	struct acl_flow f;

	assert_int_equal(acl_flow_init(&f, 60), 0);
	for (uint16_t h = 0; h < ACL_FLOW_MAX_HANDLES; h++) {
		assert_int_equal(acl_flow_sent(&f, h, h), 0);
	}
	assert_int_equal(acl_flow_sent(&f, 0x100, 0), -ENOSPC);
	assert_int_equal(acl_flow_avail(&f), 60 - ACL_FLOW_MAX_HANDLES);
	/* A handle with nothing in flight frees its entry. */
	assert_int_equal(acl_flow_completed(&f, 3, 1, NULL, NULL), 0);
	assert_int_equal(acl_flow_sent(&f, 0x100, 0), 0);
	assert_int_equal(acl_flow_outstanding(&f, 0x100), 1);
}

#define T(name, fn)                                                           \
	{                                                                     \
		"acl/" name, fn, NULL, NULL, NULL                             \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("header", test_header),
		T("frag_27", test_frag_27),
		T("frag_251", test_frag_251),
		T("frag_in_place", test_frag_in_place),
		T("frag_invalid", test_frag_invalid),
		T("round_trip", test_round_trip),
		T("interleaved_handles", test_interleaved_handles),
		T("single_fragment_zero_copy",
		  test_single_fragment_zero_copy),
		T("split_header", test_split_header),
		T("continuation_without_start",
		  test_continuation_without_start),
		T("overlong", test_overlong),
		T("oversize", test_oversize),
		T("out_of_order", test_out_of_order),
		T("bad_packets", test_bad_packets),
		T("slots", test_slots),
		T("flow", test_flow),
		T("flow_fifo", test_flow_fifo),
		T("flow_handles_full", test_flow_handles_full),
	};

	return cmocka_run_group_tests_name("acl", tests, NULL, NULL);
}
