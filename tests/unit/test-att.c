/* SPDX-License-Identifier: MIT */
/*
 * core/att: the ATT PDUs a GATT client sends and receives, octet by
 * octet from the layouts of Core 5.4, Vol 3, Part F, 3.4 (each vector
 * written from the specification's tables, not from the encoder), both
 * ways; every malformed layout refused with its documented error; the
 * list walks' handle checks; UUIDs and the Bluetooth Base UUID; the
 * answers a client with no attributes owes; and random bytes that
 * either decode and re-encode to themselves or are refused cleanly.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/att.h"

#define B(...) ((const uint8_t[]){__VA_ARGS__})
#define BL(...) B(__VA_ARGS__), sizeof((const uint8_t[]){__VA_ARGS__})

/* ASHA's ReadOnlyProperties UUID, 6333651e-c481-4a3e-9169-7c902aad37bb,
 * little-endian. */
#define ROP_LE                                                               \
	0xbb, 0x37, 0xad, 0x2a, 0x90, 0x7c, 0x69, 0x91, 0x3e, 0x4a, 0x81,    \
		0xc4, 0x1e, 0x65, 0x33, 0x63

/* p encodes to exactly want (len octets), and want decodes back to a PDU
 * that encodes to want again. */
static void check_encodes(const struct att_pdu *p, const uint8_t *want,
			  size_t len)
{
	uint8_t buf[64], again[64];
	struct att_pdu q;
	size_t n = 0, m = 0;

	assert_int_equal(att_encode(p, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, len);
	assert_memory_equal(buf, want, len);
	assert_int_equal(att_decode(want, len, &q), 0);
	assert_int_equal(q.opcode, p->opcode);
	assert_int_equal(att_encode(&q, again, sizeof(again), &m), 0);
	assert_int_equal(m, len);
	assert_memory_equal(again, want, len);
	/* One octet short: refused, nothing written. */
	memset(buf, 0xa5, sizeof(buf));
	assert_int_equal(att_encode(p, buf, len - 1, &n), -ENOBUFS);
	assert_int_equal(buf[0], 0xa5);
}

static void test_client_vectors(void **state)
{
	struct att_pdu p;
	static const uint8_t asha[] = {0xf0, 0xfd};

	(void)state;
	memset(&p, 0, sizeof(p));
	p.opcode = ATT_MTU_REQ; /* 3.4.2.1: Client Rx MTU 185 */
	p.mtu = 185;
	check_encodes(&p, BL(0x02, 0xb9, 0x00));

	/* G 4.4.2: Find By Type Value, 0x0001-0xFFFF, Primary Service,
	 * value 0xFDF0 (3.4.3.3). */
	memset(&p, 0, sizeof(p));
	p.opcode = ATT_FIND_BY_TYPE_REQ;
	p.fbt.range.start = 0x0001;
	p.fbt.range.end = 0xffff;
	p.fbt.type = ATT_UUID_PRIMARY_SERVICE;
	p.fbt.value = asha;
	p.fbt.value_len = 2;
	check_encodes(&p, BL(0x06, 0x01, 0x00, 0xff, 0xff, 0x00, 0x28, 0xf0,
			     0xfd));

	/* G 4.6.1: Read By Type 0x2803 over 0x0010-0x0020 (3.4.4.1). */
	memset(&p, 0, sizeof(p));
	p.opcode = ATT_READ_BY_TYPE_REQ;
	p.type_req.range.start = 0x0010;
	p.type_req.range.end = 0x0020;
	att_uuid16(ATT_UUID_CHARACTERISTIC, &p.type_req.type);
	check_encodes(&p, BL(0x08, 0x10, 0x00, 0x20, 0x00, 0x03, 0x28));
	assert_int_equal(att_uuid_parse("6333651e-c481-4a3e-9169-7c902aad37bb",
					&p.type_req.type),
			 0);
	check_encodes(&p, BL(0x08, 0x10, 0x00, 0x20, 0x00, ROP_LE));

	memset(&p, 0, sizeof(p));
	p.opcode = ATT_FIND_INFO_REQ; /* 3.4.3.1 */
	p.range.start = 0x0015;
	p.range.end = 0x0016;
	check_encodes(&p, BL(0x04, 0x15, 0x00, 0x16, 0x00));

	memset(&p, 0, sizeof(p));
	p.opcode = ATT_READ_REQ; /* 3.4.4.3 */
	p.hv.handle = 0x0012;
	check_encodes(&p, BL(0x0a, 0x12, 0x00));

	memset(&p, 0, sizeof(p));
	p.opcode = ATT_WRITE_REQ; /* 3.4.5.1: CCCD := notifications */
	p.hv.handle = 0x0016;
	p.hv.value = B(0x01, 0x00);
	p.hv.value_len = 2;
	check_encodes(&p, BL(0x12, 0x16, 0x00, 0x01, 0x00));
	p.opcode = ATT_WRITE_CMD; /* 3.4.5.3 */
	p.hv.value_len = 1;
	check_encodes(&p, BL(0x52, 0x16, 0x00, 0x01));

	memset(&p, 0, sizeof(p));
	p.opcode = ATT_CONFIRM; /* 3.4.7.3 */
	check_encodes(&p, BL(0x1e));

	/* 3.4.1.1: Read By Type at 0x0010 failed, Attribute Not Found. */
	memset(&p, 0, sizeof(p));
	p.opcode = ATT_ERROR_RSP;
	p.error.req_opcode = ATT_READ_BY_TYPE_REQ;
	p.error.handle = 0x0010;
	p.error.code = ATT_E_ATTRIBUTE_NOT_FOUND;
	check_encodes(&p, BL(0x01, 0x08, 0x10, 0x00, 0x0a));
}

static void test_server_vectors(void **state)
{
	struct att_pdu p;
	uint8_t buf[64];
	size_t n;

	(void)state;
	assert_int_equal(att_decode(BL(0x03, 0x40, 0x00), &p), 0);
	assert_int_equal(p.opcode, ATT_MTU_RSP);
	assert_int_equal(p.mtu, 64);

	/* 3.4.3.4: one group, 0x0010 to 0x0020. */
	assert_int_equal(att_decode(BL(0x07, 0x10, 0x00, 0x20, 0x00), &p), 0);
	assert_int_equal(p.list.elem_len, 4);
	assert_int_equal(p.list.len, 4);

	/* 3.4.4.2: Length 21 = handle + properties + value handle + a
	 * 128-bit UUID. */
	assert_int_equal(att_decode(BL(0x09, 21, 0x11, 0x00, 0x02, 0x12, 0x00,
				       ROP_LE),
				    &p),
			 0);
	assert_int_equal(p.list.elem_len, 21);
	assert_int_equal(p.list.len, 21);

	/* 3.4.3.2: format 1, CCCD at 0x0017. */
	assert_int_equal(att_decode(BL(0x05, 0x01, 0x17, 0x00, 0x02, 0x29),
				    &p),
			 0);
	assert_int_equal(p.list.format, 1);
	assert_int_equal(p.list.elem_len, 4);

	assert_int_equal(att_decode(BL(0x0b, 0x01, 0x02, 0x03), &p), 0);
	assert_int_equal(p.value.value_len, 3);
	assert_int_equal(p.value.value[2], 0x03);
	assert_int_equal(att_decode(BL(0x0b), &p), 0); /* empty value */
	assert_int_equal(p.value.value_len, 0);

	assert_int_equal(att_decode(BL(0x13), &p), 0);
	assert_int_equal(p.opcode, ATT_WRITE_RSP);

	assert_int_equal(att_decode(BL(0x1b, 0x14, 0x00, 0xfe), &p), 0);
	assert_int_equal(p.hv.handle, 0x0014);
	assert_int_equal(p.hv.value_len, 1);
	assert_int_equal(p.hv.value[0], 0xfe);
	assert_int_equal(att_decode(BL(0x1d, 0x14, 0x00), &p), 0);
	assert_int_equal(p.hv.value_len, 0);

	assert_int_equal(att_decode(BL(0x01, 0x0a, 0x12, 0x00, 0x05), &p), 0);
	assert_int_equal(p.error.req_opcode, ATT_READ_REQ);
	assert_int_equal(p.error.handle, 0x0012);
	assert_int_equal(p.error.code, ATT_E_INSUFFICIENT_AUTHENTICATION);
	assert_int_equal(att_encode_error(ATT_READ_REQ, 0x0012,
					  ATT_E_INSUFFICIENT_AUTHENTICATION,
					  buf, sizeof(buf), &n),
			 0);
	assert_int_equal(n, 5);
	assert_memory_equal(buf, B(0x01, 0x0a, 0x12, 0x00, 0x05), 5);
	assert_int_equal(att_encode_error(ATT_READ_REQ, 1, 0, buf, sizeof(buf),
					  &n),
			 -EINVAL);
}

struct row {
	const uint8_t *pdu;
	size_t len;
	int want;
};

#define ROW(want, ...) {B(__VA_ARGS__), sizeof((uint8_t[]){__VA_ARGS__}), want}

static void test_hostile_layouts(void **state)
{
	const struct row rows[] = {
		ROW(-EBADMSG, 0x01, 0x08, 0x10, 0x00),
		ROW(-EMSGSIZE, 0x01, 0x08, 0x10, 0x00, 0x0a, 0x00),
		ROW(-EPROTO, 0x01, 0x08, 0x10, 0x00, 0x00),
		ROW(-EBADMSG, 0x02, 0x17),
		ROW(-EMSGSIZE, 0x03, 0x17, 0x00, 0x00),
		ROW(-EBADMSG, 0x04, 0x01, 0x00),
		ROW(-ERANGE, 0x04, 0x00, 0x00, 0xff, 0xff),
		ROW(-ERANGE, 0x04, 0x05, 0x00, 0x04, 0x00),
		ROW(-EBADMSG, 0x05, 0x01),             /* no element */
		ROW(-EBADMSG, 0x05, 0x01, 0x17, 0x00, 0x02), /* a part */
		ROW(-EPROTO, 0x05, 0x03, 0x17, 0x00, 0x02, 0x29),
		ROW(-EBADMSG, 0x05, 0x02, 0x17, 0x00, 0x02, 0x29),
		ROW(-EBADMSG, 0x06, 0x01, 0x00, 0xff, 0xff, 0x00),
		ROW(-ERANGE, 0x06, 0x00, 0x00, 0xff, 0xff, 0x00, 0x28),
		ROW(-EBADMSG, 0x07),
		ROW(-EBADMSG, 0x07, 0x10, 0x00, 0x20),
		ROW(-EBADMSG, 0x07, 0x10, 0x00, 0x20, 0x00, 0x30),
		ROW(-EBADMSG, 0x08, 0x01, 0x00, 0xff, 0xff, 0x03),
		ROW(-EMSGSIZE, 0x08, 0x01, 0x00, 0xff, 0xff, 0x03, 0x28, 0x00),
		ROW(-ERANGE, 0x08, 0x10, 0x00, 0x0f, 0x00, 0x03, 0x28),
		ROW(-EBADMSG, 0x09),
		ROW(-EPROTO, 0x09, 0x01, 0x10),
		ROW(-EBADMSG, 0x09, 0x07, 0x11, 0x00, 0x02, 0x12, 0x00, 0x00),
		ROW(-EBADMSG, 0x09, 0x07, 0x11, 0x00, 0x02, 0x12, 0x00, 0x00,
		    0x2a, 0x13),
		ROW(-EBADMSG, 0x0a, 0x01),
		ROW(-EMSGSIZE, 0x0a, 0x01, 0x00, 0x00),
		ROW(-EPROTO, 0x0a, 0x00, 0x00),
		ROW(-EBADMSG, 0x12, 0x16),
		ROW(-EPROTO, 0x12, 0x00, 0x00, 0x01),
		ROW(-EMSGSIZE, 0x13, 0x00),
		ROW(-EBADMSG, 0x1b, 0x14),
		ROW(-EPROTO, 0x1b, 0x00, 0x00, 0x00),
		ROW(-EPROTO, 0x1d, 0x00, 0x00),
		ROW(-EMSGSIZE, 0x1e, 0x00),
		ROW(-ENOMSG, 0x0c, 0x12, 0x00, 0x00, 0x00), /* Read Blob */
		ROW(-ENOMSG, 0x23, 0x14, 0x00, 0x01, 0x00, 0x00),
		ROW(-ENOMSG, 0xff),
	};
	struct att_pdu p;
	unsigned i;

	(void)state;
	assert_int_equal(att_decode(NULL, 0, &p), -EBADMSG);
	assert_int_equal(att_decode(B(0x13), 0, &p), -EBADMSG);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&p, 0x5a, sizeof(p));
		assert_int_equal(att_decode(rows[i].pdu, rows[i].len, &p),
				 rows[i].want);
		/* Untouched on error. */
		assert_int_equal(p.opcode, 0x5a);
	}
}

static void test_iterators(void **state)
{
	struct att_range all = {1, 0xffff}, svc = {0x10, 0x20};
	struct att_uuid u, cccd;
	struct att_group g;
	struct att_info info;
	struct att_data d;
	struct att_chr k;
	struct att_iter it;
	struct att_pdu p;

	(void)state;
	/* Two groups, then the same list with a group inside the first. */
	assert_int_equal(att_decode(BL(0x07, 0x01, 0x00, 0x05, 0x00, 0x10,
				       0x00, 0x20, 0x00),
				    &p),
			 0);
	assert_int_equal(att_iter_init(&it, &p, all), 0);
	assert_int_equal(att_iter_group(&it, &g), 1);
	assert_int_equal(g.found, 1);
	assert_int_equal(g.group_end, 5);
	assert_int_equal(att_iter_group(&it, &g), 1);
	assert_int_equal(g.found, 0x10);
	assert_int_equal(att_iter_group(&it, &g), 0);
	assert_int_equal(att_decode(BL(0x07, 0x01, 0x00, 0x05, 0x00, 0x03,
				       0x00, 0x04, 0x00),
				    &p),
			 0);
	assert_int_equal(att_iter_init(&it, &p, all), 0);
	assert_int_equal(att_iter_group(&it, &g), 1);
	assert_int_equal(att_iter_group(&it, &g), -EPROTO);
	assert_int_equal(att_iter_group(&it, &g), 0); /* the walk is over */
	/* Group end before found; handle 0; the wrong walk. */
	assert_int_equal(att_decode(BL(0x07, 0x05, 0x00, 0x04, 0x00), &p), 0);
	assert_int_equal(att_iter_init(&it, &p, all), 0);
	assert_int_equal(att_iter_data(&it, &d), -EINVAL);
	assert_int_equal(att_iter_group(&it, &g), -EPROTO);
	assert_int_equal(att_decode(BL(0x07, 0x00, 0x00, 0x04, 0x00), &p), 0);
	assert_int_equal(att_iter_init(&it, &p, all), 0);
	assert_int_equal(att_iter_group(&it, &g), -EPROTO);

	/* Read By Type: increasing inside the range, else refused. */
	assert_int_equal(att_decode(BL(0x09, 0x07, 0x11, 0x00, 0x02, 0x12,
				       0x00, 0x00, 0x2a, 0x13, 0x00, 0x10,
				       0x14, 0x00, 0x01, 0x2a),
				    &p),
			 0);
	assert_int_equal(att_iter_init(&it, &p, svc), 0);
	assert_int_equal(att_iter_data(&it, &d), 1);
	assert_int_equal(att_chr_parse(&d, &k), 0);
	assert_int_equal(k.decl, 0x11);
	assert_int_equal(k.props, ATT_PROP_READ);
	assert_int_equal(k.value, 0x12);
	att_uuid16(0x2a00, &u);
	assert_true(att_uuid_eq(&k.uuid, &u));
	assert_int_equal(att_iter_data(&it, &d), 1);
	assert_int_equal(att_chr_parse(&d, &k), 0);
	assert_int_equal(k.props, ATT_PROP_NOTIFY);
	assert_int_equal(att_iter_data(&it, &d), 0);
	assert_int_equal(att_iter_init(&it, &p, (struct att_range){0x12, 0x20}),
			 0);
	assert_int_equal(att_iter_data(&it, &d), -ERANGE);
	assert_int_equal(att_decode(BL(0x09, 0x07, 0x13, 0x00, 0x02, 0x14,
				       0x00, 0x00, 0x2a, 0x11, 0x00, 0x10,
				       0x12, 0x00, 0x01, 0x2a),
				    &p),
			 0);
	assert_int_equal(att_iter_init(&it, &p, svc), 0);
	assert_int_equal(att_iter_data(&it, &d), 1);
	assert_int_equal(att_iter_data(&it, &d), -EPROTO); /* decreasing */
	/* A declaration whose value comes before it; a 4-octet value. */
	d.handle = 0x11;
	d.value = B(0x02, 0x11, 0x00, 0x00, 0x2a);
	d.value_len = 5;
	assert_int_equal(att_chr_parse(&d, &k), -EPROTO);
	d.value_len = 4;
	assert_int_equal(att_chr_parse(&d, &k), -EBADMSG);
	d.value_len = 19;
	d.value = B(0x02, 0x12, 0x00, ROP_LE);
	assert_int_equal(att_chr_parse(&d, &k), 0);
	assert_int_equal(k.uuid.len, 16);

	/* Find Information, format 2: the CCCD as a 128-bit UUID. */
	assert_int_equal(att_decode(BL(0x05, 0x02, 0x17, 0x00, 0xfb, 0x34,
				       0x9b, 0x5f, 0x80, 0x00, 0x00, 0x80,
				       0x00, 0x10, 0x00, 0x00, 0x02, 0x29,
				       0x00, 0x00),
				    &p),
			 0);
	assert_int_equal(att_iter_init(&it, &p, svc), 0);
	assert_int_equal(att_iter_info(&it, &info), 1);
	assert_int_equal(info.handle, 0x17);
	assert_int_equal(info.type.len, 16);
	att_uuid16(ATT_UUID_CCCD, &cccd);
	assert_true(att_uuid_eq(&info.type, &cccd));
	assert_int_equal(att_iter_info(&it, &info), 0);

	/* Not a list; a bad range. */
	assert_int_equal(att_decode(BL(0x13), &p), 0);
	assert_int_equal(att_iter_init(&it, &p, all), -EINVAL);
	assert_int_equal(att_decode(BL(0x07, 0x05, 0x00, 0x06, 0x00), &p), 0);
	assert_int_equal(att_iter_init(&it, &p, (struct att_range){0, 5}),
			 -EINVAL);
	assert_int_equal(att_iter_init(&it, &p, (struct att_range){6, 5}),
			 -EINVAL);
}

static void test_uuid(void **state)
{
	struct att_uuid a, b;
	char text[ATT_UUID_STR_SIZE];

	(void)state;
	assert_int_equal(att_uuid_parse("6333651E-c481-4a3e-9169-7c902aad37bb",
					&a),
			 0);
	assert_int_equal(a.len, 16);
	assert_memory_equal(a.le, B(ROP_LE), 16);
	att_uuid_format(&a, text);
	assert_string_equal(text, "6333651e-c481-4a3e-9169-7c902aad37bb");

	/* 0xFDF0 is 0000fdf0-0000-1000-8000-00805f9b34fb. */
	att_uuid16(0xfdf0, &a);
	assert_int_equal(att_uuid_parse("0000fdf0-0000-1000-8000-00805f9b34fb",
					&b),
			 0);
	assert_true(att_uuid_eq(&a, &b));
	assert_true(att_uuid_eq(&b, &a));
	att_uuid_format(&a, text);
	assert_string_equal(text, "0000fdf0-0000-1000-8000-00805f9b34fb");
	assert_int_equal(att_uuid_parse("fdf0", &b), 0);
	assert_int_equal(b.len, 2);
	assert_true(att_uuid_eq(&a, &b));
	b.le[15] ^= 1;
	att_uuid16(0xfdf1, &b);
	assert_false(att_uuid_eq(&a, &b));
	assert_int_equal(att_uuid_parse("0001fdf0-0000-1000-8000-00805f9b34fb",
					&b),
			 0);
	assert_false(att_uuid_eq(&a, &b));

	assert_int_equal(att_uuid_parse("6333651e-c481-4a3e-9169-7c902aad37b",
					&b),
			 -EINVAL);
	assert_int_equal(att_uuid_parse("6333651e+c481-4a3e-9169-7c902aad37bb",
					&b),
			 -EINVAL);
	assert_int_equal(att_uuid_parse("6333651e-c481-4a3e-9169-7c902aad37bg",
					&b),
			 -EINVAL);
	assert_int_equal(att_uuid_parse("6333651ec4814a3e91697c902aad37bb00"
					"00",
					&b),
			 -EINVAL);
	assert_int_equal(att_uuid_parse("fdf", &b), -EINVAL);
	assert_int_equal(att_uuid_parse(NULL, &b), -EINVAL);
	assert_int_equal(att_uuid_from_le(B(1, 2, 3), 3, &b), -EINVAL);
	assert_int_equal(att_uuid_from_le(B(0x02, 0x29), 2, &b), 0);
	assert_int_equal(b.le[1], 0x29);
}

static void test_kinds(void **state)
{
	(void)state;
	assert_int_equal(att_opcode_kind(0x02), ATT_KIND_REQUEST);
	assert_int_equal(att_opcode_kind(0x0c), ATT_KIND_REQUEST);
	assert_int_equal(att_opcode_kind(0x20), ATT_KIND_REQUEST);
	assert_int_equal(att_opcode_kind(0x01), ATT_KIND_RESPONSE);
	assert_int_equal(att_opcode_kind(0x13), ATT_KIND_RESPONSE);
	assert_int_equal(att_opcode_kind(0x1b), ATT_KIND_NOTIFICATION);
	assert_int_equal(att_opcode_kind(0x23), ATT_KIND_NOTIFICATION);
	assert_int_equal(att_opcode_kind(0x1d), ATT_KIND_INDICATION);
	assert_int_equal(att_opcode_kind(0x1e), ATT_KIND_CONFIRMATION);
	assert_int_equal(att_opcode_kind(0x52), ATT_KIND_COMMAND);
	assert_int_equal(att_opcode_kind(0xd2), ATT_KIND_COMMAND);
	assert_int_equal(att_opcode_kind(0x7f), ATT_KIND_COMMAND);
	assert_int_equal(att_opcode_kind(0x14), ATT_KIND_UNKNOWN);
	assert_int_equal(att_opcode_kind(0x3f), ATT_KIND_UNKNOWN);
	assert_true(att_opcode_is_command(0x52));
	assert_false(att_opcode_is_command(0x12));
	assert_true(att_opcode_needs_answer(0x02));
	assert_true(att_opcode_needs_answer(0x18));
	assert_true(att_opcode_needs_answer(0x3f));
	assert_false(att_opcode_needs_answer(0x52));
	assert_false(att_opcode_needs_answer(0x1b));
	assert_false(att_opcode_needs_answer(0x1d));
	assert_false(att_opcode_needs_answer(0x13));
	assert_int_equal(att_response_opcode(0x02), 0x03);
	assert_int_equal(att_response_opcode(0x12), 0x13);
	assert_int_equal(att_response_opcode(0x13), 0);
	assert_int_equal(att_response_opcode(0x52), 0);
	assert_string_equal(att_error_name(0x0a), "Attribute Not Found");
	assert_string_equal(att_error_name(0x00), "a reserved error code");
	assert_string_equal(att_error_name(0x80), "an application error");
	assert_string_equal(att_error_name(0xfd),
			    "a common profile or service error");
	assert_int_equal(att_error_errno(0x05), -EACCES);
	assert_int_equal(att_error_errno(0x0f), -EACCES);
	assert_int_equal(att_error_errno(0x0a), -ENOENT);
	assert_int_equal(att_error_errno(0x06), -EOPNOTSUPP);
	assert_int_equal(att_error_errno(0x0e), -EPROTO);
}

struct answer_row {
	const uint8_t *pdu;
	size_t len;
	const uint8_t *want; /* NULL: nothing owed */
	size_t want_len;
};

#define ANS(pdu, want)                                                        \
	{(const uint8_t *)pdu, sizeof(pdu) - 1, (const uint8_t *)want,        \
	 sizeof(want) - 1}
#define NONE(pdu) {(const uint8_t *)pdu, sizeof(pdu) - 1, NULL, 0}

static void test_answer(void **state)
{
	static const struct answer_row rows[] = {
		/* MTU with ours (64); malformed: Invalid PDU. */
		ANS("\x02\x17\x00", "\x03\x40\x00"),
		ANS("\x02\x17", "\x01\x02\x00\x00\x04"),
		/* Discovery: Attribute Not Found at the Starting Handle. */
		ANS("\x04\x01\x00\xff\xff", "\x01\x04\x01\x00\x0a"),
		ANS("\x04\x00\x00\xff\xff", "\x01\x04\x00\x00\x01"),
		ANS("\x04\x05\x00\x01\x00", "\x01\x04\x05\x00\x01"),
		ANS("\x04\x05\x00", "\x01\x04\x00\x00\x04"),
		ANS("\x08\x01\x00\xff\xff\x00\x2a", "\x01\x08\x01\x00\x0a"),
		ANS("\x10\x01\x00\xff\xff\x00\x28", "\x01\x10\x01\x00\x0a"),
		ANS("\x10\x01\x00\xff\xff\x03\x28", "\x01\x10\x01\x00\x10"),
		ANS("\x06\x01\x00\xff\xff\x00\x28\xf0\xfd",
		    "\x01\x06\x01\x00\x0a"),
		/* Everything else: Request Not Supported, handle 0. */
		ANS("\x0a\x03\x00", "\x01\x0a\x00\x00\x06"),
		ANS("\x12\x03\x00\x01", "\x01\x12\x00\x00\x06"),
		ANS("\x0c\x03\x00\x00\x00", "\x01\x0c\x00\x00\x06"),
		ANS("\x3f", "\x01\x3f\x00\x00\x06"),
		ANS("\x1d\x14\x00\x00", "\x1e"),
		NONE("\x1d\x00\x00"),
		NONE("\x52\x03\x00\x01"),
		NONE("\xd2\x03\x00\x01"),
		NONE("\x1b\x14\x00\x00"),
		NONE("\x01\x0a\x03\x00\x0a"),
		NONE("\x13"),
		NONE("\x1e"),
	};
	uint8_t buf[16];
	size_t n;
	unsigned i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		n = 0;
		r = att_answer(rows[i].pdu, rows[i].len, 64, buf, sizeof(buf),
			       &n);
		if (!rows[i].want) {
			assert_int_equal(r, 0);
			continue;
		}
		assert_int_equal(r, 1);
		assert_int_equal(n, rows[i].want_len);
		assert_memory_equal(buf, rows[i].want, n);
	}
	assert_int_equal(att_answer(B(0x0a, 0x03, 0x00), 3, 64, buf, 4, &n),
			 -ENOBUFS);
	assert_int_equal(att_answer(B(0x0a, 0x03, 0x00), 3, 22, buf, 16, &n),
			 -EINVAL);
	assert_int_equal(att_answer(NULL, 0, 23, buf, 16, &n), 0);
}

static void test_encode_refuses(void **state)
{
	struct att_pdu p;
	uint8_t buf[32];
	size_t n;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.opcode = ATT_READ_REQ; /* handle 0 */
	assert_int_equal(att_encode(&p, buf, sizeof(buf), &n), -EINVAL);
	p.opcode = ATT_NOTIFY;
	assert_int_equal(att_encode(&p, buf, sizeof(buf), &n), -EINVAL);
	p.opcode = ATT_FIND_INFO_REQ;
	p.range.start = 5;
	p.range.end = 4;
	assert_int_equal(att_encode(&p, buf, sizeof(buf), &n), -EINVAL);
	memset(&p, 0, sizeof(p));
	p.opcode = ATT_READ_BY_TYPE_REQ;
	p.type_req.range.start = 1;
	p.type_req.range.end = 2;
	p.type_req.type.len = 4;
	assert_int_equal(att_encode(&p, buf, sizeof(buf), &n), -EINVAL);
	memset(&p, 0, sizeof(p));
	p.opcode = ATT_FIND_INFO_RSP;
	p.list.format = 3;
	p.list.elem_len = 4;
	p.list.data = B(1, 0, 2, 0x29);
	p.list.len = 4;
	assert_int_equal(att_encode(&p, buf, sizeof(buf), &n), -EINVAL);
	p.list.format = 1;
	p.list.len = 3;
	assert_int_equal(att_encode(&p, buf, sizeof(buf), &n), -EINVAL);
	p.list.len = 4;
	assert_int_equal(att_encode(&p, buf, sizeof(buf), &n), 0);
	assert_memory_equal(buf, B(0x05, 0x01, 1, 0, 2, 0x29), 6);
	p.opcode = ATT_READ_BY_TYPE_RSP;
	p.list.elem_len = 1;
	p.list.len = 1;
	assert_int_equal(att_encode(&p, buf, sizeof(buf), &n), -EINVAL);
	memset(&p, 0, sizeof(p));
	p.opcode = ATT_READ_BLOB_REQ;
	assert_int_equal(att_encode(&p, buf, sizeof(buf), &n), -EINVAL);
}

static uint32_t xorshift(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static int walk(const struct att_pdu *p)
{
	struct att_range all = {1, 0xffff};
	struct att_info info;
	struct att_group g;
	struct att_data d;
	struct att_chr k;
	struct att_iter it;
	int r, count = 0;

	if (att_iter_init(&it, p, all) < 0) {
		return 0;
	}
	for (;;) {
		if (p->opcode == ATT_FIND_INFO_RSP) {
			r = att_iter_info(&it, &info);
		} else if (p->opcode == ATT_FIND_BY_TYPE_RSP) {
			r = att_iter_group(&it, &g);
		} else {
			r = att_iter_data(&it, &d);
			if (r == 1) {
				int rc = att_chr_parse(&d, &k);

				assert_true(rc == 0 || rc == -EBADMSG ||
					    rc == -EPROTO);
			}
		}
		if (r <= 0) {
			assert_true(r == 0 || r == -EPROTO);
			return count;
		}
		count++;
	}
}

/* Random octets with every opcode in front: refused with a documented
 * error, or decoded to a PDU that encodes back to the same octets. */
static void test_hostile_random(void **state)
{
	uint8_t in[64], out[80], ans[16];
	struct att_pdu p, q;
	uint32_t x = 0x9e3779b9;
	unsigned round, i;
	size_t len, n, m;
	int r;

	(void)state;
	for (round = 0; round < 60000; round++) {
		for (i = 0; i < sizeof(in); i++) {
			in[i] = (uint8_t)xorshift(&x);
		}
		in[0] = (uint8_t)round;
		len = 1 + xorshift(&x) % (round % 4 == 0 ? 63 : 24);
		r = att_decode(in, len, &p);
		assert_true(r == 0 || r == -EBADMSG || r == -EMSGSIZE ||
			    r == -ENOMSG || r == -EPROTO || r == -ERANGE);
		if (r == 0) {
			assert_int_equal(att_encode(&p, out, sizeof(out), &n),
					 0);
			assert_int_equal(n, len);
			assert_memory_equal(out, in, len);
			walk(&p);
		}
		r = att_answer(in, len, 23, ans, sizeof(ans), &m);
		assert_true(r == 0 || r == 1);
		if (r == 1) {
			assert_true(m <= ATT_ERROR_RSP_SIZE);
			assert_int_equal(att_decode(ans, m, &q), 0);
			assert_true(q.opcode == ATT_ERROR_RSP ||
				    q.opcode == ATT_MTU_RSP ||
				    q.opcode == ATT_CONFIRM);
			assert_true(att_opcode_needs_answer(in[0]) ||
				    in[0] == ATT_INDICATE);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_vectors),
		cmocka_unit_test(test_server_vectors),
		cmocka_unit_test(test_hostile_layouts),
		cmocka_unit_test(test_iterators),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_hostile_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
