/* SPDX-License-Identifier: MIT */
/*
 * core/ashac: ASHA's GATT client against a scripted hearing aid, a tiny
 * ATT server over an attribute table laid out as Google's Bumble lays
 * out its ASHA service (bumble/profiles/asha.py), answering the
 * client's PDUs with core/att's encoders. Discovery to ready with the
 * right properties and PSM, paging, every way discovery can fail and
 * the reason given, the aid's own requests answered mid-discovery,
 * the transaction timeout, Start settled by Write Response and
 * AudioStatus in either order, refused or timed out, the queue behind
 * a Start, and malformed PDUs counted without harm.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/ashac.h"

#define SEC UINT64_C(1000000000)
#define NO_STATUS 1000 /* the aid does not notify after Start */

struct attr {
	uint16_t handle;
	struct att_uuid type;
	uint8_t value[24];
	size_t len;
};

struct pdu {
	uint8_t b[64];
	size_t len;
};

struct fake {
	/* The aid. */
	struct attr db[32];
	unsigned n;
	uint16_t rx_mtu; /* the aid's Rx MTU */
	uint16_t mtu;    /* ATT_MTU as the aid sees it */
	unsigned page_max; /* Read By Type elements per response */
	bool hold;       /* keep requests unanswered */
	int start_status; /* AudioStatus after a Start, or NO_STATUS */
	bool notify_first; /* notify before the Write Response */
	uint8_t refuse_op; /* answer this request with refuse_code */
	uint8_t refuse_code;
	uint16_t refuse_handle; /* ... only for this handle, if non-zero */
	bool mtu_req_on_chars; /* send our own MTU Request before the first
				* Read By Type response */
	struct pdu held;
	uint16_t rbt_start[8]; /* Read By Type requests' Starting Handles */
	unsigned rbt_n;
	/* What the client sent. */
	struct pdu out[32];
	unsigned out_n;
	uint8_t log[256];
	unsigned log_n;
	struct pdu last[8]; /* the last PDUs sent, newest last */
	int send_err;
	uint8_t client_req; /* the client's request out, as the aid saw it */
	/* What it reported. */
	unsigned ready_n, failed_n, start_n, status_n;
	struct asha_props props;
	uint16_t psm;
	int err, start_err;
	const char *why, *start_why;
	int8_t status;
	uint64_t now;
	struct ashac c;
};

enum {
	H_ROP = 0x12,
	H_ACP = 0x14,
	H_AS = 0x16,
	H_CCCD = 0x17,
	H_VOL = 0x19,
	H_PSM = 0x1b,
};

static void db_add(struct fake *f, uint16_t handle, const struct att_uuid *t,
		   const uint8_t *v, size_t len)
{
	struct attr *a = &f->db[f->n++];

	a->handle = handle;
	a->type = *t;
	memcpy(a->value, v, len);
	a->len = len;
}

static void db_add16(struct fake *f, uint16_t handle, uint16_t type,
		     const uint8_t *v, size_t len)
{
	struct att_uuid t;

	att_uuid16(type, &t);
	db_add(f, handle, &t, v, len);
}

/* A characteristic declaration at handle, its value at handle + 1. */
static void db_chr(struct fake *f, uint16_t handle, uint8_t props,
		   const struct att_uuid *u, const uint8_t *v, size_t len)
{
	uint8_t decl[19];

	decl[0] = props;
	decl[1] = (uint8_t)(handle + 1);
	decl[2] = (uint8_t)((handle + 1) >> 8);
	memcpy(decl + 3, u->le, u->len);
	db_add16(f, handle, ATT_UUID_CHARACTERISTIC, decl, 3u + u->len);
	db_add(f, (uint16_t)(handle + 1), u, v, len);
}

static const uint8_t rop_ok[ASHA_PROPS_SIZE] = {
	0x01, 0x03, 0x0a, 0x01, 1, 2, 3, 4, 5, 6, 0x01, 0x2c, 0x01, 0, 0,
	0x02, 0x00}; /* right, binaural, render delay 300 ms, G.722 */

static void db_asha(struct fake *f, const uint8_t *rop, uint8_t vol_props)
{
	struct att_uuid u;

	db_add16(f, 0x01, ATT_UUID_PRIMARY_SERVICE, (uint8_t[]){0x00, 0x18},
		 2);
	att_uuid16(0x2a00, &u);
	db_chr(f, 0x02, ATT_PROP_READ, &u, (const uint8_t *)"aid", 3);
	db_add16(f, 0x10, ATT_UUID_PRIMARY_SERVICE, (uint8_t[]){0xf0, 0xfd},
		 2);
	db_chr(f, 0x11, ATT_PROP_READ, ashac_chr_uuid(ASHAC_CHR_PROPS), rop,
	       ASHA_PROPS_SIZE);
	db_chr(f, 0x13, ATT_PROP_WRITE | ATT_PROP_WRITE_NO_RSP,
	       ashac_chr_uuid(ASHAC_CHR_CONTROL), (uint8_t[]){0}, 1);
	db_chr(f, 0x15, ATT_PROP_READ | ATT_PROP_NOTIFY,
	       ashac_chr_uuid(ASHAC_CHR_STATUS), (uint8_t[]){0}, 1);
	db_add16(f, H_CCCD, ATT_UUID_CCCD, (uint8_t[]){0, 0}, 2);
	db_chr(f, 0x18, vol_props, ashac_chr_uuid(ASHAC_CHR_VOLUME),
	       (uint8_t[]){0}, 1);
	db_chr(f, 0x1a, ATT_PROP_READ, ashac_chr_uuid(ASHAC_CHR_PSM),
	       (uint8_t[]){0x81, 0x00}, 2);
	db_add16(f, 0x20, ATT_UUID_PRIMARY_SERVICE, (uint8_t[]){0x0f, 0x18},
		 2);
	att_uuid16(0x2a19, &u);
	db_chr(f, 0x21, ATT_PROP_READ | ATT_PROP_NOTIFY, &u, (uint8_t[]){80},
	       1);
}

static struct attr *db_find(struct fake *f, uint16_t handle)
{
	unsigned i;

	for (i = 0; i < f->n; i++) {
		if (f->db[i].handle == handle) {
			return &f->db[i];
		}
	}
	return NULL;
}

/* ---- the client's callbacks ---------------------------------------- */

static int cb_send(void *user, const uint8_t *pdu, size_t len)
{
	struct fake *f = user;

	if (f->send_err) {
		return f->send_err;
	}
	/* One request at a time (Core 5.4, Vol 3, Part F, 3.3.2). */
	if (att_opcode_kind(pdu[0]) == ATT_KIND_REQUEST) {
		assert_int_equal(f->client_req, 0);
		f->client_req = pdu[0];
	}
	assert_true(len <= sizeof(f->out[0].b));
	assert_true(len <= ashac_mtu(&f->c));
	assert_true(f->out_n < 32);
	memcpy(f->out[f->out_n].b, pdu, len);
	f->out[f->out_n++].len = len;
	if (f->log_n < sizeof(f->log)) {
		f->log[f->log_n++] = pdu[0];
	}
	memmove(f->last, f->last + 1, sizeof(f->last) - sizeof(f->last[0]));
	memcpy(f->last[7].b, pdu, len);
	f->last[7].len = len;
	return 0;
}

static void cb_ready(void *user, const struct asha_props *props, uint16_t psm)
{
	struct fake *f = user;

	f->ready_n++;
	f->props = *props;
	f->psm = psm;
}

static void cb_failed(void *user, int err, const char *why)
{
	struct fake *f = user;

	f->failed_n++;
	f->err = err;
	f->why = why;
}

static void cb_status(void *user, int8_t status)
{
	struct fake *f = user;

	f->status_n++;
	f->status = status;
}

static void cb_start_done(void *user, int err, const char *why)
{
	struct fake *f = user;

	f->start_n++;
	f->start_err = err;
	f->start_why = why;
}

static const struct ashac_ops ops = {
	.send = cb_send,
	.ready = cb_ready,
	.failed = cb_failed,
	.status = cb_status,
	.start_done = cb_start_done,
};

static const struct ashac_cfg cfg = {
	.mtu = 185,
	.att_timeout_ns = ASHAC_ATT_TIMEOUT_NS,
	.start_timeout_ns = 2 * SEC,
};

static void fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->rx_mtu = 185;
	f->mtu = ATT_MTU_DEFAULT;
	f->page_max = 8;
	f->now = 1000 * SEC;
	assert_int_equal(ashac_init(&f->c, &cfg, &ops, f), 0);
}

/* ---- the aid -------------------------------------------------------- */

static void to_client(struct fake *f, const uint8_t *pdu, size_t len)
{
	if (len && att_opcode_kind(pdu[0]) == ATT_KIND_RESPONSE) {
		f->client_req = 0;
	}
	ashac_input(&f->c, pdu, len, f->now);
}

static void send_pdu(struct fake *f, const struct att_pdu *p)
{
	uint8_t buf[256];
	size_t n;

	assert_int_equal(att_encode(p, buf, f->mtu, &n), 0);
	to_client(f, buf, n);
}

static void send_error(struct fake *f, uint8_t op, uint16_t h, uint8_t code)
{
	uint8_t buf[5];
	size_t n;

	assert_int_equal(att_encode_error(op, h, code, buf, sizeof(buf), &n),
			 0);
	to_client(f, buf, n);
}

static uint16_t group_end(struct fake *f, unsigned i)
{
	for (i++; i < f->n; i++) {
		if (f->db[i].type.len == 2 &&
		    f->db[i].type.le[0] == 0x00 && f->db[i].type.le[1] == 0x28) {
			return (uint16_t)(f->db[i].handle - 1);
		}
	}
	return 0xffff;
}

/* Find By Type Value (3.4.3.3), Read By Type (3.4.4.1), Find
 * Information (3.4.3.1): the matches in range, as many as fit. */
static void serve_list(struct fake *f, const struct att_pdu *q)
{
	struct att_range r = q->opcode == ATT_FIND_INFO_REQ ? q->range :
			     q->opcode == ATT_FIND_BY_TYPE_REQ ?
							      q->fbt.range :
							      q->type_req.range;
	uint8_t data[256];
	struct att_pdu p = {.opcode = (uint8_t)(q->opcode + 1)};
	struct att_uuid t;
	size_t len = 0, elem = 0, room = f->mtu - 2u;
	unsigned i, count = 0;

	if (q->opcode == ATT_FIND_BY_TYPE_REQ) {
		att_uuid16(q->fbt.type, &t);
	} else if (q->opcode == ATT_READ_BY_TYPE_REQ) {
		t = q->type_req.type;
	}
	for (i = 0; i < f->n && count < f->page_max; i++) {
		const struct attr *a = &f->db[i];
		size_t e;

		if (a->handle < r.start || a->handle > r.end) {
			continue;
		}
		if (q->opcode != ATT_FIND_INFO_REQ && !att_uuid_eq(&a->type, &t)) {
			continue;
		}
		if (q->opcode == ATT_FIND_BY_TYPE_REQ) {
			if (a->len != q->fbt.value_len ||
			    memcmp(a->value, q->fbt.value, a->len)) {
				continue;
			}
			e = 4;
			data[len] = (uint8_t)a->handle;
			data[len + 1] = (uint8_t)(a->handle >> 8);
			data[len + 2] = (uint8_t)group_end(f, i);
			data[len + 3] = (uint8_t)(group_end(f, i) >> 8);
		} else {
			e = 2 + (q->opcode == ATT_FIND_INFO_REQ ? a->type.len :
								  a->len);
			if ((elem && e != elem) || len + e > room) {
				break;
			}
			data[len] = (uint8_t)a->handle;
			data[len + 1] = (uint8_t)(a->handle >> 8);
			if (q->opcode == ATT_FIND_INFO_REQ) {
				memcpy(data + len + 2, a->type.le, a->type.len);
			} else {
				memcpy(data + len + 2, a->value, a->len);
			}
		}
		elem = e;
		len += e;
		count++;
	}
	if (!count) {
		send_error(f, q->opcode, r.start, ATT_E_ATTRIBUTE_NOT_FOUND);
		return;
	}
	p.list.data = data;
	p.list.len = len;
	p.list.elem_len = (uint8_t)elem;
	p.list.format = elem == 4 ? 1 : 2;
	send_pdu(f, &p);
}

static void notify_status(struct fake *f)
{
	struct att_pdu p = {.opcode = ATT_NOTIFY};
	uint8_t v = (uint8_t)(int8_t)f->start_status;

	if (f->start_status == NO_STATUS) {
		return;
	}
	p.hv.handle = H_AS;
	p.hv.value = &v;
	p.hv.value_len = 1;
	send_pdu(f, &p);
}

static void serve_write(struct fake *f, const struct att_pdu *q)
{
	struct att_pdu p = {.opcode = ATT_WRITE_RSP};
	struct attr *a = db_find(f, q->hv.handle);
	bool start = q->hv.handle == H_ACP && q->hv.value_len &&
		     q->hv.value[0] == ASHA_OP_START;

	if (!a) {
		send_error(f, q->opcode, q->hv.handle, ATT_E_INVALID_HANDLE);
		return;
	}
	memcpy(a->value, q->hv.value, q->hv.value_len);
	a->len = q->hv.value_len;
	if (start && f->notify_first) {
		notify_status(f);
	}
	send_pdu(f, &p);
	if (start && !f->notify_first) {
		notify_status(f);
	}
}

static void serve(struct fake *f, const uint8_t *pdu, size_t len)
{
	struct att_pdu q, p;
	struct attr *a;

	assert_int_equal(att_decode(pdu, len, &q), 0);
	if (q.opcode == ATT_WRITE_CMD) {
		a = db_find(f, q.hv.handle);
		assert_non_null(a);
		memcpy(a->value, q.hv.value, q.hv.value_len);
		return;
	}
	if (q.opcode == ATT_MTU_RSP || q.opcode == ATT_ERROR_RSP ||
	    q.opcode == ATT_CONFIRM) {
		return; /* the client's answers to our requests */
	}
	if (f->hold) {
		f->held.len = len;
		memcpy(f->held.b, pdu, len);
		return;
	}
	if (q.opcode == f->refuse_op &&
	    (!f->refuse_handle || f->refuse_handle == q.hv.handle)) {
		send_error(f, q.opcode, 0, f->refuse_code);
		return;
	}
	switch (q.opcode) {
	case ATT_MTU_REQ:
		memset(&p, 0, sizeof(p));
		p.opcode = ATT_MTU_RSP;
		p.mtu = f->rx_mtu;
		send_pdu(f, &p);
		f->mtu = q.mtu < f->rx_mtu ? q.mtu : f->rx_mtu;
		break;
	case ATT_READ_BY_TYPE_REQ:
		if (f->rbt_n < 8) {
			f->rbt_start[f->rbt_n++] = q.type_req.range.start;
		}
		if (f->mtu_req_on_chars) {
			f->mtu_req_on_chars = false;
			to_client(f, (const uint8_t[]){0x02, 0x30, 0x00}, 3);
			f->mtu = 0x30;
		}
		serve_list(f, &q);
		break;
	case ATT_FIND_BY_TYPE_REQ:
	case ATT_FIND_INFO_REQ:
		serve_list(f, &q);
		break;
	case ATT_READ_REQ:
		a = db_find(f, q.hv.handle);
		if (!a) {
			send_error(f, q.opcode, q.hv.handle,
				   ATT_E_INVALID_HANDLE);
			break;
		}
		memset(&p, 0, sizeof(p));
		p.opcode = ATT_READ_RSP;
		p.value.value = a->value;
		p.value.value_len = a->len;
		send_pdu(f, &p);
		break;
	case ATT_WRITE_REQ:
		serve_write(f, &q);
		break;
	default:
		fail_msg("the client sent opcode 0x%02x", q.opcode);
	}
}

/* The aid takes the client's oldest PDU. */
static void serve_one(struct fake *f)
{
	struct pdu first = f->out[0];
	unsigned i;

	f->out_n--;
	for (i = 0; i < f->out_n; i++) {
		f->out[i] = f->out[i + 1];
	}
	serve(f, first.b, first.len);
}

/* The aid takes what the client has sent so far (not what it sends in
 * answer). */
static void step(struct fake *f)
{
	unsigned n = f->out_n;

	while (n--) {
		serve_one(f);
	}
}

/* Let the two talk until neither has anything to say. */
static void run(struct fake *f)
{
	while (f->out_n) {
		serve_one(f);
	}
}

static void release(struct fake *f)
{
	f->hold = false;
	serve(f, f->held.b, f->held.len);
	f->held.len = 0;
	run(f);
}

static unsigned sent_count(const struct fake *f, uint8_t opcode)
{
	unsigned i, n = 0;

	for (i = 0; i < f->log_n; i++) {
		n += f->log[i] == opcode;
	}
	return n;
}

static void to_ready(struct fake *f)
{
	assert_int_equal(ashac_start(&f->c, f->now), 0);
	run(f);
	assert_int_equal(f->failed_n, 0);
	assert_int_equal(f->ready_n, 1);
	assert_int_equal(ashac_state(&f->c), ASHAC_READY);
}

/* ---- the cases ------------------------------------------------------ */

static void test_uuids(void **state)
{
	static const char *const text[ASHAC_CHR_COUNT] = {
		"6333651e-c481-4a3e-9169-7c902aad37bb",
		"f0d4de7e-4a88-476c-9d9f-1937b0996cc0",
		"38663f1a-e711-4cac-b641-326b56404837",
		"00e4ca9e-ab14-41e4-8823-f9e70c7e91df",
		"2d410339-82b6-42aa-b34e-e2e01df8cc1a",
	};
	struct att_uuid u;
	unsigned id;

	(void)state;
	for (id = 0; id < ASHAC_CHR_COUNT; id++) {
		assert_int_equal(att_uuid_parse(text[id], &u), 0);
		assert_true(att_uuid_eq(&u, ashac_chr_uuid(id)));
	}
	assert_string_equal(ashac_chr_name(ASHAC_CHR_PSM), "LE_PSM_OUT");
	assert_null(ashac_chr_uuid(ASHAC_CHR_COUNT));
	assert_string_equal(ashac_state_name(ASHAC_SUBSCRIBE), "SUBSCRIBE");
}

static void test_happy_path(void **state)
{
	struct fake f;
	struct asha_props p;
	struct attr *cccd;

	(void)state;
	fake_init(&f);
	db_asha(&f, rop_ok, ATT_PROP_WRITE_NO_RSP);
	assert_int_equal(ashac_props(&f.c, &p), -ENODATA);
	assert_int_equal(ashac_mtu(&f.c), 23);
	assert_int_equal(ashac_next_deadline(&f.c), UINT64_MAX);
	to_ready(&f);
	assert_true(f.props.right);
	assert_true(f.props.binaural);
	assert_int_equal(f.props.render_delay_ms, 300);
	assert_int_equal(f.props.company_id, 0x010a);
	assert_int_equal(f.psm, 0x81);
	assert_int_equal(ashac_psm(&f.c), 0x81);
	assert_int_equal(ashac_props(&f.c, &p), 0);
	assert_int_equal(p.render_delay_ms, 300);
	/* min(64, 185) */
	assert_int_equal(ashac_mtu(&f.c), 185);
	/* The sequence: MTU, service, characteristics (one page, then
	 * Attribute Not Found after 0x1a), descriptors, two reads, the
	 * subscription. */
	assert_memory_equal(f.log, ((uint8_t[]){0x02, 0x06, 0x08, 0x08, 0x04,
						 0x0a, 0x0a, 0x12}),
			    8);
	assert_int_equal(f.log_n, 8);
	cccd = db_find(&f, H_CCCD);
	assert_memory_equal(cccd->value, ((uint8_t[]){0x01, 0x00}), 2);
	assert_int_equal(f.c.stats.pdus_tx, 8);
	assert_int_equal(f.c.stats.pdus_rx, 8);
	assert_int_equal(f.c.stats.errors_rx, 1);
	assert_int_equal(f.c.stats.malformed, 0);
	assert_int_equal(ashac_next_deadline(&f.c), UINT64_MAX);
	assert_int_equal(ashac_start(&f.c, f.now), -EALREADY);
}

static void test_paging(void **state)
{
	struct fake f;

	(void)state;
	/* Three declarations per response: two pages, then Attribute Not
	 * Found from 0x1b to the service's end, 0x1f. */
	fake_init(&f);
	f.page_max = 3;
	db_asha(&f, rop_ok, ATT_PROP_WRITE_NO_RSP);
	to_ready(&f);
	assert_int_equal(sent_count(&f, ATT_READ_BY_TYPE_REQ), 3);
	assert_int_equal(f.psm, 0x81);
	/* Each page starts after the last declaration of the one before. */
	assert_int_equal(f.rbt_n, 3);
	assert_int_equal(f.rbt_start[0], 0x10);
	assert_int_equal(f.rbt_start[1], 0x16);
	assert_int_equal(f.rbt_start[2], 0x1b);

	/* At ATT_MTU 23 a 21-octet element fills a response: five pages,
	 * then Attribute Not Found from 0x1b to 0x1f. */
	fake_init(&f);
	f.rx_mtu = 23;
	db_asha(&f, rop_ok, ATT_PROP_WRITE_NO_RSP);
	to_ready(&f);
	assert_int_equal(ashac_mtu(&f.c), 23);
	assert_int_equal(sent_count(&f, ATT_READ_BY_TYPE_REQ), 6);
	assert_int_equal(f.c.stats.errors_rx, 1);
}

static void test_missing(void **state)
{
	struct fake f;

	(void)state;
	fake_init(&f);
	db_asha(&f, rop_ok, ATT_PROP_WRITE_NO_RSP);
	/* Volume's declaration names another UUID, 0x2b7d. */
	db_find(&f, 0x18)->value[3] = 0x7d;
	db_find(&f, 0x18)->value[4] = 0x2b;
	db_find(&f, 0x18)->len = 5;
	assert_int_equal(ashac_start(&f.c, f.now), 0);
	run(&f);
	assert_int_equal(f.failed_n, 1);
	assert_int_equal(f.err, -ENOENT);
	assert_non_null(strstr(f.why, "Volume"));
	assert_int_equal(f.ready_n, 0);
	assert_int_equal(ashac_state(&f.c), ASHAC_FAILED);

	/* A Volume that needs a Write Request. */
	fake_init(&f);
	db_asha(&f, rop_ok, ATT_PROP_WRITE);
	assert_int_equal(ashac_start(&f.c, f.now), 0);
	run(&f);
	assert_int_equal(f.err, -ENOTSUP);
	assert_non_null(strstr(f.why, "Volume cannot be written"));

	/* No service at all. */
	fake_init(&f);
	db_asha(&f, rop_ok, ATT_PROP_WRITE_NO_RSP);
	db_find(&f, 0x10)->value[0] = 0xf1;
	assert_int_equal(ashac_start(&f.c, f.now), 0);
	run(&f);
	assert_int_equal(f.err, -ENOENT);
	assert_non_null(strstr(f.why, "no ASHA service"));

	/* No CCCD: AudioStatus's descriptor becomes another one. */
	fake_init(&f);
	db_asha(&f, rop_ok, ATT_PROP_WRITE_NO_RSP);
	att_uuid16(0x2901, &db_find(&f, H_CCCD)->type);
	assert_int_equal(ashac_start(&f.c, f.now), 0);
	run(&f);
	assert_int_equal(f.err, -ENOENT);
	assert_non_null(strstr(f.why, "Client Characteristic Configuration"));
}

static void test_bad_values(void **state)
{
	uint8_t rop[ASHA_PROPS_SIZE];
	struct fake f;

	(void)state;
	memcpy(rop, rop_ok, sizeof(rop));
	rop[0] = 2;
	fake_init(&f);
	db_asha(&f, rop, ATT_PROP_WRITE_NO_RSP);
	assert_int_equal(ashac_start(&f.c, f.now), 0);
	run(&f);
	assert_int_equal(f.failed_n, 1);
	assert_int_equal(f.err, -EPROTONOSUPPORT);
	assert_non_null(strstr(f.why, "version"));
	assert_int_equal(sent_count(&f, ATT_READ_REQ), 1);

	/* LE_PSM_OUT 0x0100: not an LE SPSM. */
	fake_init(&f);
	db_asha(&f, rop_ok, ATT_PROP_WRITE_NO_RSP);
	db_find(&f, H_PSM)->value[0] = 0x00;
	db_find(&f, H_PSM)->value[1] = 0x01;
	assert_int_equal(ashac_start(&f.c, f.now), 0);
	run(&f);
	assert_int_equal(f.err, -ERANGE);
	assert_non_null(strstr(f.why, "LE_PSM_OUT"));
	assert_int_equal(ashac_psm(&f.c), 0);
}

static void test_server_requests(void **state)
{
	struct fake f;
	unsigned answered;

	(void)state;
	fake_init(&f);
	db_asha(&f, rop_ok, ATT_PROP_WRITE_NO_RSP);
	f.mtu_req_on_chars = true;
	to_ready(&f);
	/* Our MTU Response (185) to its 48, and discovery went on. */
	assert_int_equal(sent_count(&f, ATT_MTU_RSP), 1);
	assert_int_equal(ashac_mtu(&f.c), 48);
	assert_int_equal(f.c.stats.answered, 1);

	/* Requests to our (empty) database, an indication, a command. */
	answered = (unsigned)f.c.stats.answered;
	to_client(&f, (const uint8_t[]){0x0a, 0x03, 0x00}, 3);
	assert_int_equal(f.last[7].len, 5);
	assert_memory_equal(f.last[7].b, ((uint8_t[]){0x01, 0x0a, 0, 0, 0x06}),
			    5);
	to_client(&f, (const uint8_t[]){0x10, 0x01, 0x00, 0xff, 0xff, 0x00,
					0x28},
		  7);
	assert_memory_equal(f.last[7].b,
			    ((uint8_t[]){0x01, 0x10, 0x01, 0x00, 0x0a}), 5);
	assert_int_equal(f.c.stats.answered, answered + 2);
	to_client(&f, (const uint8_t[]){0x1d, 0x21, 0x00, 80}, 4);
	assert_int_equal(f.last[7].b[0], ATT_CONFIRM);
	assert_int_equal(f.c.stats.indications, 1);
	assert_int_equal(f.c.stats.unknown_handle, 1);
	assert_int_equal(ashac_input(&f.c, (const uint8_t[]){0x52, 0x03, 0x00,
							     0x01},
				     4, f.now),
			 -EPROTO);
	assert_int_equal(f.c.stats.unexpected, 1);
	assert_int_equal(f.failed_n, 0);
	run(&f);
}

static void test_discovery_errors(void **state)
{
	struct fake f;

	(void)state;
	/* The aid wants encryption before ReadOnlyProperties. */
	fake_init(&f);
	db_asha(&f, rop_ok, ATT_PROP_WRITE_NO_RSP);
	f.refuse_op = ATT_READ_REQ;
	f.refuse_code = ATT_E_INSUFFICIENT_ENCRYPTION;
	assert_int_equal(ashac_start(&f.c, f.now), 0);
	run(&f);
	assert_int_equal(f.failed_n, 1);
	assert_int_equal(f.err, -EACCES);
	assert_non_null(strstr(f.why, "ReadOnlyProperties"));
	assert_int_equal(f.c.att_error, ATT_E_INSUFFICIENT_ENCRYPTION);
	/* That and the end of the characteristics. */
	assert_int_equal(f.c.stats.errors_rx, 2);
	/* Nothing more asked of it. */
	assert_int_equal(f.log_n, 6);

	/* No Exchange MTU at the aid: ATT_MTU stays 23, discovery goes
	 * on. */
	fake_init(&f);
	db_asha(&f, rop_ok, ATT_PROP_WRITE_NO_RSP);
	f.refuse_op = ATT_MTU_REQ;
	f.refuse_code = ATT_E_REQUEST_NOT_SUPPORTED;
	to_ready(&f);
	assert_int_equal(ashac_mtu(&f.c), 23);

	/* A response to nothing we asked, mid-discovery. */
	fake_init(&f);
	db_asha(&f, rop_ok, ATT_PROP_WRITE_NO_RSP);
	f.hold = true;
	assert_int_equal(ashac_start(&f.c, f.now), 0);
	run(&f);
	assert_int_equal(ashac_input(&f.c, (const uint8_t[]){0x13}, 1, f.now),
			 -EPROTO);
	assert_int_equal(f.failed_n, 1);
	assert_int_equal(f.err, -EPROTO);
	assert_int_equal(f.c.stats.unexpected, 1);

	/* A malformed answer: the MTU Response one octet short. */
	fake_init(&f);
	f.hold = true;
	assert_int_equal(ashac_start(&f.c, f.now), 0);
	run(&f);
	assert_int_equal(ashac_input(&f.c, (const uint8_t[]){0x03, 0x40}, 2,
				     f.now),
			 -EBADMSG);
	assert_int_equal(f.failed_n, 1);
	assert_int_equal(f.c.stats.malformed, 1);

	/* ops->send fails. */
	fake_init(&f);
	f.send_err = -ENOBUFS;
	assert_int_equal(ashac_start(&f.c, f.now), 0);
	assert_int_equal(f.failed_n, 1);
	assert_int_equal(f.err, -ENOBUFS);
	assert_int_equal(f.c.stats.send_errors, 1);
}

static void test_timeout(void **state)
{
	struct fake f;

	(void)state;
	fake_init(&f);
	db_asha(&f, rop_ok, ATT_PROP_WRITE_NO_RSP);
	assert_int_equal(ashac_start(&f.c, f.now), 0);
	step(&f); /* the MTU exchange goes; Find By Type Value is held */
	f.hold = true;
	run(&f);
	assert_int_equal(ashac_state(&f.c), ASHAC_SERVICE);
	assert_int_equal(ashac_next_deadline(&f.c), f.now + 30 * SEC);
	ashac_tick(&f.c, f.now + 30 * SEC - 1);
	assert_int_equal(f.failed_n, 0);
	ashac_tick(&f.c, f.now + 30 * SEC);
	assert_int_equal(f.failed_n, 1);
	assert_int_equal(f.err, -ETIMEDOUT);
	assert_int_equal(f.c.stats.timeouts, 1);
	assert_int_equal(ashac_next_deadline(&f.c), UINT64_MAX);
	/* The bearer is dead: not even an answer goes out (F 3.3.3). */
	f.log_n = 0;
	to_client(&f, (const uint8_t[]){0x02, 0x30, 0x00}, 3);
	assert_int_equal(f.log_n, 0);
	ashac_tick(&f.c, f.now + 60 * SEC);
	assert_int_equal(f.failed_n, 1);
}

static void start_once(struct fake *f, int status, bool notify_first)
{
	f->start_status = status;
	f->notify_first = notify_first;
	f->start_n = 0;
	assert_int_equal(ashac_audio_start(&f->c, ASHA_CODEC_G722_16K,
					   ASHA_AUDIO_MEDIA, -20, true,
					   f->now),
			 0);
	run(f);
}

static void test_start(void **state)
{
	struct fake f;
	int8_t st;

	(void)state;
	fake_init(&f);
	db_asha(&f, rop_ok, ATT_PROP_WRITE_NO_RSP);
	assert_int_equal(ashac_audio_start(&f.c, 1, ASHA_AUDIO_MEDIA, 0, false,
					   f.now),
			 -ENOTCONN);
	to_ready(&f);
	assert_int_equal(ashac_last_status(&f.c, &st), -ENODATA);
	start_once(&f, 0, false);
	assert_int_equal(f.start_n, 1);
	assert_int_equal(f.start_err, 0);
	assert_int_equal(f.status_n, 1);
	assert_int_equal(f.status, 0);
	assert_int_equal(ashac_last_status(&f.c, &st), 0);
	assert_int_equal(st, 0);
	/* Start, G.722, media, -20 dB, the other side connected. */
	assert_memory_equal(db_find(&f, H_ACP)->value,
			    ((uint8_t[]){1, 1, 3, 0xec, 1}), 5);
	assert_int_equal(ashac_audio_start(&f.c, 1, ASHA_AUDIO_MEDIA, 0, false,
					   f.now),
			 -EALREADY);
	assert_int_equal(ashac_next_deadline(&f.c), UINT64_MAX);

	/* Stop, then Start again with the notification first. */
	assert_int_equal(ashac_audio_stop(&f.c, f.now), 0);
	run(&f);
	assert_int_equal(db_find(&f, H_ACP)->value[0], ASHA_OP_STOP);
	start_once(&f, 0, true);
	assert_int_equal(f.start_n, 1);
	assert_int_equal(f.start_err, 0);

	/* Status: a Write Request, nothing awaited. */
	assert_int_equal(ashac_status_update(&f.c, ASHA_UPDATE_CONN_PARAMS,
					     f.now),
			 0);
	run(&f);
	assert_memory_equal(db_find(&f, H_ACP)->value, ((uint8_t[]){3, 3}), 2);
	assert_int_equal(ashac_status_update(&f.c, (enum asha_update)9, f.now),
			 -EINVAL);
	assert_int_equal(f.c.req, 0);
}

static void test_start_refused(void **state)
{
	struct fake f;

	(void)state;
	fake_init(&f);
	db_asha(&f, rop_ok, ATT_PROP_WRITE_NO_RSP);
	to_ready(&f);
	start_once(&f, ASHA_STATUS_ILLEGAL_PARAMETERS, false);
	assert_int_equal(f.start_n, 1);
	assert_int_equal(f.start_err, -EREMOTEIO);
	assert_non_null(strstr(f.start_why, "illegal parameters"));
	assert_int_equal(f.status, -2);
	assert_int_equal(f.failed_n, 0);
	assert_int_equal(ashac_state(&f.c), ASHAC_READY);
	assert_int_equal(f.c.stats.start_failures, 1);
	/* Before the Write Response, too; then a Start may be tried again. */
	start_once(&f, ASHA_STATUS_UNKNOWN_COMMAND, true);
	assert_int_equal(f.start_err, -EREMOTEIO);
	start_once(&f, 0, false);
	assert_int_equal(f.start_err, 0);

	/* The Write itself refused. */
	fake_init(&f);
	db_asha(&f, rop_ok, ATT_PROP_WRITE_NO_RSP);
	to_ready(&f);
	f.refuse_op = ATT_WRITE_REQ;
	f.refuse_code = ATT_E_VALUE_NOT_ALLOWED;
	f.refuse_handle = H_ACP;
	start_once(&f, NO_STATUS, false);
	assert_int_equal(f.start_n, 1);
	assert_int_equal(f.start_err, -EPROTO);
	assert_int_equal(ashac_state(&f.c), ASHAC_READY);
}

static void test_start_timeout(void **state)
{
	struct fake f;

	(void)state;
	fake_init(&f);
	db_asha(&f, rop_ok, ATT_PROP_WRITE_NO_RSP);
	to_ready(&f);
	start_once(&f, NO_STATUS, false);
	assert_int_equal(f.start_n, 0);
	assert_int_equal(ashac_next_deadline(&f.c), f.now + 2 * SEC);
	ashac_tick(&f.c, f.now + 2 * SEC - 1);
	assert_int_equal(f.start_n, 0);
	ashac_tick(&f.c, f.now + 2 * SEC);
	assert_int_equal(f.start_n, 1);
	assert_int_equal(f.start_err, -ETIMEDOUT);
	assert_non_null(strstr(f.start_why, "AudioStatus"));
	assert_int_equal(f.c.stats.start_timeouts, 1);
	assert_int_equal(ashac_state(&f.c), ASHAC_READY);
	assert_int_equal(ashac_next_deadline(&f.c), UINT64_MAX);
	/* A late AudioStatus is reported, but settles nothing. */
	to_client(&f, (const uint8_t[]){0x1b, H_AS, 0x00, 0x00}, 4);
	assert_int_equal(f.status_n, 1);
	assert_int_equal(f.start_n, 1);
	/* Not started: Start is allowed again. */
	start_once(&f, 0, false);
	assert_int_equal(f.start_err, 0);
}

static void test_queue(void **state)
{
	struct fake f;

	(void)state;
	fake_init(&f);
	db_asha(&f, rop_ok, ATT_PROP_WRITE_NO_RSP);
	to_ready(&f);
	f.hold = true;
	f.start_status = 0;
	f.log_n = 0;
	assert_int_equal(ashac_audio_start(&f.c, ASHA_CODEC_G722_16K,
					   ASHA_AUDIO_MEDIA, -10, false, f.now),
			 0);
	run(&f);
	assert_int_equal(f.log_n, 1);
	/* A volume waits behind the Start, and a newer one replaces it. */
	assert_int_equal(ashac_volume(&f.c, -20, f.now), 0);
	assert_int_equal(ashac_volume(&f.c, -30, f.now), 0);
	assert_int_equal(f.c.q_len, 1);
	assert_int_equal(ashac_volume(&f.c, 3, f.now), -EINVAL);
	assert_int_equal(f.log_n, 1);
	/* Stop, Status, Status, then full. */
	assert_int_equal(ashac_audio_stop(&f.c, f.now), 0);
	assert_int_equal(ashac_status_update(&f.c, ASHA_UPDATE_OTHER_CONNECTED,
					     f.now),
			 0);
	assert_int_equal(ashac_status_update(&f.c, ASHA_UPDATE_CONN_PARAMS,
					     f.now),
			 0);
	assert_int_equal(ashac_volume(&f.c, -40, f.now), -ENOBUFS);
	assert_int_equal(f.c.stats.queue_full, 1);
	assert_int_equal(f.log_n, 1);
	/* The aid answers: the Start settles, then the rest in order, one
	 * request at a time (cb_send checks). */
	release(&f);
	assert_int_equal(f.start_n, 1);
	assert_int_equal(f.start_err, 0);
	assert_int_equal(f.c.q_len, 0);
	assert_memory_equal(f.log, ((uint8_t[]){0x12, 0x52, 0x12, 0x12, 0x12}),
			    5);
	assert_int_equal(f.log_n, 5);
	assert_int_equal((int8_t)db_find(&f, H_VOL)->value[0], -30);
	assert_memory_equal(db_find(&f, H_ACP)->value, ((uint8_t[]){3, 3}), 2);
	/* With nothing out, a volume goes at once. */
	assert_int_equal(ashac_volume(&f.c, -128, f.now), 0);
	assert_int_equal(f.log_n, 6);
	run(&f);
	assert_int_equal(db_find(&f, H_VOL)->value[0], 0x80);
}

static void test_malformed(void **state)
{
	static const uint8_t junk[][6] = {
		{0x1b, 0x00, 0x00, 0x00}, /* notification on handle 0 */
		{0x1b, 0x16},             /* short */
		{0x1d, 0x16},             /* short indication: no confirm */
		{0x02, 0x17},             /* short MTU Request */
		{0x04, 0x01},             /* short Find Information */
	};
	struct fake f;
	unsigned i, rounds = 0;

	(void)state;
	fake_init(&f);
	db_asha(&f, rop_ok, ATT_PROP_WRITE_NO_RSP);
	assert_int_equal(ashac_input(&f.c, NULL, 0, f.now), -EBADMSG);
	assert_int_equal(ashac_start(&f.c, f.now), 0);
	/* Junk before each answer of discovery. */
	while (f.ready_n == 0 && f.failed_n == 0 && rounds++ < 20) {
		for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
			to_client(&f, junk[i], i < 1 ? 4 : 2);
		}
		step(&f);
	}
	assert_int_equal(f.ready_n, 1);
	assert_int_equal(f.failed_n, 0);
	assert_int_equal(rounds, 8);
	assert_int_equal(f.c.stats.malformed, 1 + 5 * 8);
	/* The short requests were answered with Invalid PDU. */
	assert_int_equal(sent_count(&f, ATT_ERROR_RSP), 2 * 8);
	assert_int_equal(sent_count(&f, ATT_CONFIRM), 0);
	/* AudioStatus of two octets: malformed, not a status. */
	to_client(&f, (const uint8_t[]){0x1b, H_AS, 0x00, 0x00, 0x00}, 5);
	assert_int_equal(f.status_n, 0);
	assert_int_equal(f.c.stats.notifications, 0);
	/* A malformed Write Response settles a Start as -EPROTO, and the
	 * client goes on. */
	f.hold = true;
	start_once(&f, 0, false);
	f.hold = false;
	to_client(&f, (const uint8_t[]){0x13, 0x00}, 2);
	assert_int_equal(f.start_n, 1);
	assert_int_equal(f.start_err, -EPROTO);
	assert_int_equal(ashac_state(&f.c), ASHAC_READY);
	/* A response to nothing once ready: counted, not fatal. */
	assert_int_equal(ashac_input(&f.c, (const uint8_t[]){0x0b, 1}, 2,
				     f.now),
			 -EPROTO);
	assert_int_equal(ashac_state(&f.c), ASHAC_READY);
	assert_int_equal(f.c.req, 0);
}

static void test_init(void **state)
{
	struct ashac c;
	struct ashac_cfg bad = cfg;
	struct ashac_ops no_send = ops;

	(void)state;
	bad.mtu = 22;
	assert_int_equal(ashac_init(&c, &bad, &ops, NULL), -EINVAL);
	bad = cfg;
	bad.start_timeout_ns = 0;
	assert_int_equal(ashac_init(&c, &bad, &ops, NULL), -EINVAL);
	no_send.send = NULL;
	assert_int_equal(ashac_init(&c, &cfg, &no_send, NULL), -EINVAL);
	assert_int_equal(ashac_init(&c, &cfg, &ops, NULL), 0);
	assert_int_equal(ashac_volume(&c, 0, 0), -ENOTCONN);
	assert_int_equal(ashac_audio_stop(&c, 0), -ENOTCONN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uuids),
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_happy_path),
		cmocka_unit_test(test_paging),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_server_requests),
		cmocka_unit_test(test_discovery_errors),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_start),
		cmocka_unit_test(test_start_refused),
		cmocka_unit_test(test_start_timeout),
		cmocka_unit_test(test_queue),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
