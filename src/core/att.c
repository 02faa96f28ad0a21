/* SPDX-License-Identifier: MIT */
/*
 * ATT PDUs on the wire. Contracts: att.h. Section numbers are of Core
 * 5.4, Vol 3, Part F unless said otherwise. UUIDs and list walks are in
 * att_list.c.
 */

#include <errno.h>
#include <string.h>

#include "core/att.h"

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* ---- opcodes -------------------------------------------------------- */

enum att_kind att_opcode_kind(uint8_t opcode)
{
	switch (opcode) {
	case ATT_MTU_REQ:
	case ATT_FIND_INFO_REQ:
	case ATT_FIND_BY_TYPE_REQ:
	case ATT_READ_BY_TYPE_REQ:
	case ATT_READ_REQ:
	case ATT_READ_BLOB_REQ:
	case ATT_READ_MULT_REQ:
	case ATT_READ_BY_GROUP_REQ:
	case ATT_WRITE_REQ:
	case ATT_PREP_WRITE_REQ:
	case ATT_EXEC_WRITE_REQ:
	case ATT_READ_MULT_VAR_REQ:
		return ATT_KIND_REQUEST;
	case ATT_ERROR_RSP:
	case ATT_MTU_RSP:
	case ATT_FIND_INFO_RSP:
	case ATT_FIND_BY_TYPE_RSP:
	case ATT_READ_BY_TYPE_RSP:
	case ATT_READ_RSP:
	case ATT_READ_BLOB_RSP:
	case ATT_READ_MULT_RSP:
	case ATT_READ_BY_GROUP_RSP:
	case ATT_WRITE_RSP:
	case ATT_PREP_WRITE_RSP:
	case ATT_EXEC_WRITE_RSP:
	case ATT_READ_MULT_VAR_RSP:
		return ATT_KIND_RESPONSE;
	case ATT_NOTIFY:
	case ATT_MULT_NOTIFY:
		return ATT_KIND_NOTIFICATION;
	case ATT_INDICATE:
		return ATT_KIND_INDICATION;
	case ATT_CONFIRM:
		return ATT_KIND_CONFIRMATION;
	default:
		break;
	}
	return att_opcode_is_command(opcode) ? ATT_KIND_COMMAND :
					       ATT_KIND_UNKNOWN;
}

bool att_opcode_is_command(uint8_t opcode)
{
	return opcode & ATT_OP_COMMAND_FLAG;
}

bool att_opcode_needs_answer(uint8_t opcode)
{
	enum att_kind k = att_opcode_kind(opcode);

	return k == ATT_KIND_REQUEST || k == ATT_KIND_UNKNOWN;
}

uint8_t att_response_opcode(uint8_t req)
{
	/* Every request's response is the next opcode (3.4.8). */
	if (att_opcode_kind(req) != ATT_KIND_REQUEST) {
		return 0;
	}
	return (uint8_t)(req + 1);
}

/* ---- decoding ------------------------------------------------------- */

/* Exactly want octets: -EBADMSG below, -EMSGSIZE above. */
static int size_exact(size_t len, size_t want)
{
	if (len < want) {
		return -EBADMSG;
	}
	return len > want ? -EMSGSIZE : 0;
}

static int range_check(struct att_range r)
{
	return r.start == 0 || r.start > r.end ? -ERANGE : 0;
}

/* A list of elem-octet elements after hdr octets: at least one, whole. */
static int list_take(const uint8_t *buf, size_t len, size_t hdr, size_t elem,
		     struct att_list *ret)
{
	if (len < hdr + elem || (len - hdr) % elem != 0) {
		return -EBADMSG;
	}
	ret->elem_len = (uint8_t)elem;
	ret->data = buf + hdr;
	ret->len = len - hdr;
	return 0;
}

static int decode_find_info_rsp(const uint8_t *buf, size_t len,
				struct att_pdu *p)
{
	if (len < 2) {
		return -EBADMSG;
	}
	/* Format 1: handle + 16-bit UUID; 2: handle + 128-bit (3.4.3.2). */
	if (buf[1] != 1 && buf[1] != 2) {
		return -EPROTO;
	}
	p->list.format = buf[1];
	return list_take(buf, len, 2, buf[1] == 1 ? 4 : 18, &p->list);
}

static int decode_read_by_type_rsp(const uint8_t *buf, size_t len,
				   struct att_pdu *p)
{
	if (len < 2) {
		return -EBADMSG;
	}
	/* Length covers the handle too (3.4.4.2). */
	if (buf[1] < 2) {
		return -EPROTO;
	}
	return list_take(buf, len, 2, buf[1], &p->list);
}

static int decode_type_req(const uint8_t *buf, size_t len, struct att_pdu *p)
{
	/* The type is a 2- or 16-octet UUID (3.4.4.1). */
	if (len < 7) {
		return -EBADMSG;
	}
	if (len != 7 && len != 21) {
		return -EMSGSIZE;
	}
	p->type_req.range.start = get_le16(buf + 1);
	p->type_req.range.end = get_le16(buf + 3);
	att_uuid_from_le(buf + 5, len - 5, &p->type_req.type);
	return range_check(p->type_req.range);
}

static int decode_hv(const uint8_t *buf, size_t len, size_t min,
		     struct att_pdu *p)
{
	if (len < min) {
		return -EBADMSG;
	}
	p->hv.handle = get_le16(buf + 1);
	p->hv.value = buf + 3;
	p->hv.value_len = len - 3;
	/* 0x0000 is reserved, never an attribute (3.2.2). */
	return p->hv.handle == 0 ? -EPROTO : 0;
}

/* Requests and the one-octet PDUs: every layout with a fixed part. */
static int decode_fixed(const uint8_t *buf, size_t len, struct att_pdu *p)
{
	int r;

	switch (buf[0]) {
	case ATT_ERROR_RSP:
		r = size_exact(len, ATT_ERROR_RSP_SIZE);
		if (r == 0) {
			p->error.req_opcode = buf[1];
			p->error.handle = get_le16(buf + 2);
			p->error.code = buf[4];
			/* 0x00 is reserved (3.4.1.1). */
			r = buf[4] == 0 ? -EPROTO : 0;
		}
		return r;
	case ATT_MTU_REQ:
	case ATT_MTU_RSP:
		r = size_exact(len, 3);
		if (r == 0) {
			p->mtu = get_le16(buf + 1);
		}
		return r;
	case ATT_FIND_INFO_REQ:
		r = size_exact(len, 5);
		if (r == 0) {
			p->range.start = get_le16(buf + 1);
			p->range.end = get_le16(buf + 3);
			r = range_check(p->range);
		}
		return r;
	case ATT_READ_REQ:
		r = size_exact(len, 3);
		return r == 0 ? decode_hv(buf, len, 3, p) : r;
	case ATT_WRITE_RSP:
	case ATT_CONFIRM:
		return size_exact(len, 1);
	default:
		return -ENOMSG;
	}
}

int att_decode(const uint8_t *buf, size_t len, struct att_pdu *ret)
{
	struct att_pdu p;
	int r;

	if (!buf || len == 0) {
		return -EBADMSG;
	}
	memset(&p, 0, sizeof(p));
	p.opcode = buf[0];
	switch (buf[0]) {
	case ATT_FIND_INFO_RSP:
		r = decode_find_info_rsp(buf, len, &p);
		break;
	case ATT_FIND_BY_TYPE_REQ:
		if (len < 7) {
			r = -EBADMSG;
			break;
		}
		p.fbt.range.start = get_le16(buf + 1);
		p.fbt.range.end = get_le16(buf + 3);
		p.fbt.type = get_le16(buf + 5);
		p.fbt.value = buf + 7;
		p.fbt.value_len = len - 7;
		r = range_check(p.fbt.range);
		break;
	case ATT_FIND_BY_TYPE_RSP:
		/* Found Attribute Handle, Group End Handle (3.4.3.4). */
		r = list_take(buf, len, 1, 4, &p.list);
		break;
	case ATT_READ_BY_TYPE_REQ:
	case ATT_READ_BY_GROUP_REQ:
		r = decode_type_req(buf, len, &p);
		break;
	case ATT_READ_BY_TYPE_RSP:
		r = decode_read_by_type_rsp(buf, len, &p);
		break;
	case ATT_READ_RSP:
		p.value.value = buf + 1;
		p.value.value_len = len - 1;
		r = 0;
		break;
	case ATT_WRITE_REQ:
	case ATT_WRITE_CMD:
	case ATT_NOTIFY:
	case ATT_INDICATE:
		r = decode_hv(buf, len, 3, &p);
		break;
	default:
		r = decode_fixed(buf, len, &p);
		break;
	}
	if (r < 0) {
		return r;
	}
	*ret = p;
	return 0;
}

/* ---- encoding ------------------------------------------------------- */

/* Whether a list would decode: the element size its opcode implies. */
static bool list_ok(uint8_t opcode, const struct att_list *l)
{
	size_t elem;

	switch (opcode) {
	case ATT_FIND_INFO_RSP:
		if (l->format != 1 && l->format != 2) {
			return false;
		}
		elem = l->format == 1 ? 4 : 18;
		break;
	case ATT_FIND_BY_TYPE_RSP:
		elem = 4;
		break;
	default:
		elem = l->elem_len;
		if (elem < 2) {
			return false;
		}
		break;
	}
	return l->elem_len == elem && l->len >= elem && l->len % elem == 0 &&
	       (l->data || l->len == 0);
}

/* The encoded size of p, or 0 when att_decode() would refuse p. */
static size_t encoded_size(const struct att_pdu *p)
{
	switch (p->opcode) {
	case ATT_ERROR_RSP:
		return p->error.code ? ATT_ERROR_RSP_SIZE : 0;
	case ATT_MTU_REQ:
	case ATT_MTU_RSP:
		return 3;
	case ATT_FIND_INFO_REQ:
		return range_check(p->range) ? 0 : 5;
	case ATT_FIND_BY_TYPE_REQ:
		if (range_check(p->fbt.range) ||
		    (p->fbt.value_len && !p->fbt.value)) {
			return 0;
		}
		return 7 + p->fbt.value_len;
	case ATT_READ_BY_TYPE_REQ:
	case ATT_READ_BY_GROUP_REQ:
		if (range_check(p->type_req.range) ||
		    (p->type_req.type.len != 2 && p->type_req.type.len != 16)) {
			return 0;
		}
		return 5 + (size_t)p->type_req.type.len;
	case ATT_FIND_INFO_RSP:
	case ATT_READ_BY_TYPE_RSP:
		return list_ok(p->opcode, &p->list) ? 2 + p->list.len : 0;
	case ATT_FIND_BY_TYPE_RSP:
		return list_ok(p->opcode, &p->list) ? 1 + p->list.len : 0;
	case ATT_READ_REQ:
		return p->hv.handle ? 3 : 0;
	case ATT_READ_RSP:
		return p->value.value_len && !p->value.value ?
			       0 :
			       1 + p->value.value_len;
	case ATT_WRITE_REQ:
	case ATT_WRITE_CMD:
	case ATT_NOTIFY:
	case ATT_INDICATE:
		if (!p->hv.handle || (p->hv.value_len && !p->hv.value)) {
			return 0;
		}
		return 3 + p->hv.value_len;
	case ATT_WRITE_RSP:
	case ATT_CONFIRM:
		return 1;
	default:
		return 0;
	}
}

static void put_range(uint8_t *b, struct att_range r)
{
	put_le16(b, r.start);
	put_le16(b + 2, r.end);
}

static void encode_body(const struct att_pdu *p, uint8_t *b, size_t n)
{
	switch (p->opcode) {
	case ATT_ERROR_RSP:
		b[1] = p->error.req_opcode;
		put_le16(b + 2, p->error.handle);
		b[4] = p->error.code;
		break;
	case ATT_MTU_REQ:
	case ATT_MTU_RSP:
		put_le16(b + 1, p->mtu);
		break;
	case ATT_FIND_INFO_REQ:
		put_range(b + 1, p->range);
		break;
	case ATT_FIND_BY_TYPE_REQ:
		put_range(b + 1, p->fbt.range);
		put_le16(b + 5, p->fbt.type);
		if (n > 7) {
			memcpy(b + 7, p->fbt.value, n - 7);
		}
		break;
	case ATT_READ_BY_TYPE_REQ:
	case ATT_READ_BY_GROUP_REQ:
		put_range(b + 1, p->type_req.range);
		memcpy(b + 5, p->type_req.type.le, p->type_req.type.len);
		break;
	case ATT_FIND_INFO_RSP:
	case ATT_READ_BY_TYPE_RSP:
		b[1] = p->opcode == ATT_FIND_INFO_RSP ? p->list.format :
							p->list.elem_len;
		memcpy(b + 2, p->list.data, p->list.len);
		break;
	case ATT_FIND_BY_TYPE_RSP:
		memcpy(b + 1, p->list.data, p->list.len);
		break;
	case ATT_READ_RSP:
		if (n > 1) {
			memcpy(b + 1, p->value.value, n - 1);
		}
		break;
	case ATT_READ_REQ:
	case ATT_WRITE_REQ:
	case ATT_WRITE_CMD:
	case ATT_NOTIFY:
	case ATT_INDICATE:
		put_le16(b + 1, p->hv.handle);
		if (n > 3) {
			memcpy(b + 3, p->hv.value, n - 3);
		}
		break;
	default:
		break;
	}
}

int att_encode(const struct att_pdu *p, uint8_t *buf, size_t cap,
	       size_t *ret_len)
{
	size_t n = encoded_size(p);

	if (n == 0) {
		return -EINVAL;
	}
	if (n > cap) {
		return -ENOBUFS;
	}
	buf[0] = p->opcode;
	encode_body(p, buf, n);
	*ret_len = n;
	return 0;
}

int att_encode_error(uint8_t req_opcode, uint16_t handle, uint8_t code,
		     uint8_t *buf, size_t cap, size_t *ret_len)
{
	struct att_pdu p = {.opcode = ATT_ERROR_RSP};

	p.error.req_opcode = req_opcode;
	p.error.handle = handle;
	p.error.code = code;
	return att_encode(&p, buf, cap, ret_len);
}

/* ---- answering the peer --------------------------------------------- */

/* A discovery request to a database with no attributes (3.4.3.1,
 * 3.4.3.3, 3.4.4.1, 3.4.4.9): each names a range, and a range with
 * nothing in it gets Attribute Not Found at its Starting Handle. */
static int answer_discovery(const uint8_t *pdu, size_t len, uint8_t *buf,
			    size_t cap, size_t *ret_len)
{
	struct att_uuid primary, secondary;
	struct att_pdu p;
	int r = att_decode(pdu, len, &p);

	if (r == -ERANGE) {
		/* Only a range failed: the length was checked first. */
		return att_encode_error(pdu[0], get_le16(pdu + 1),
					ATT_E_INVALID_HANDLE, buf, cap,
					ret_len);
	}
	if (r < 0) {
		return att_encode_error(pdu[0], 0, ATT_E_INVALID_PDU, buf, cap,
					ret_len);
	}
	if (p.opcode == ATT_READ_BY_GROUP_REQ) {
		/* Of GATT's grouping types only services may be read by
		 * group (Part G, 2.5.3). */
		att_uuid16(ATT_UUID_PRIMARY_SERVICE, &primary);
		att_uuid16(ATT_UUID_SECONDARY_SERVICE, &secondary);
		if (!att_uuid_eq(&p.type_req.type, &primary) &&
		    !att_uuid_eq(&p.type_req.type, &secondary)) {
			return att_encode_error(p.opcode, p.type_req.range.start,
						ATT_E_UNSUPPORTED_GROUP_TYPE,
						buf, cap, ret_len);
		}
	}
	/* Every request here starts with its range. */
	return att_encode_error(p.opcode, get_le16(pdu + 1),
				ATT_E_ATTRIBUTE_NOT_FOUND, buf, cap, ret_len);
}

static int answer_one(const uint8_t *pdu, size_t len, uint16_t our_mtu,
		      uint8_t *buf, size_t cap, size_t *ret_len)
{
	struct att_pdu p;

	switch (pdu[0]) {
	case ATT_MTU_REQ:
		if (att_decode(pdu, len, &p) < 0) {
			return att_encode_error(pdu[0], 0, ATT_E_INVALID_PDU,
						buf, cap, ret_len);
		}
		p.opcode = ATT_MTU_RSP;
		p.mtu = our_mtu;
		return att_encode(&p, buf, cap, ret_len);
	case ATT_FIND_INFO_REQ:
	case ATT_FIND_BY_TYPE_REQ:
	case ATT_READ_BY_TYPE_REQ:
	case ATT_READ_BY_GROUP_REQ:
		return answer_discovery(pdu, len, buf, cap, ret_len);
	default:
		/* With no attributes, every other request is one this
		 * server does not support (3.4.1.1: handle 0x0000). */
		return att_encode_error(pdu[0], 0, ATT_E_REQUEST_NOT_SUPPORTED,
					buf, cap, ret_len);
	}
}

int att_answer(const uint8_t *pdu, size_t len, uint16_t our_mtu,
	       uint8_t *buf, size_t cap, size_t *ret_len)
{
	struct att_pdu p;
	int r;

	if (our_mtu < ATT_MTU_DEFAULT) {
		return -EINVAL;
	}
	if (!pdu || len == 0) {
		return 0;
	}
	if (pdu[0] == ATT_INDICATE) {
		if (att_decode(pdu, len, &p) < 0) {
			return 0;
		}
		p.opcode = ATT_CONFIRM;
		r = att_encode(&p, buf, cap, ret_len);
		return r < 0 ? r : 1;
	}
	if (!att_opcode_needs_answer(pdu[0])) {
		return 0;
	}
	r = answer_one(pdu, len, our_mtu, buf, cap, ret_len);
	return r < 0 ? r : 1;
}

/* ---- error codes ---------------------------------------------------- */

static const char *const error_names[] = {
	[ATT_E_INVALID_HANDLE] = "Invalid Handle",
	[ATT_E_READ_NOT_PERMITTED] = "Read Not Permitted",
	[ATT_E_WRITE_NOT_PERMITTED] = "Write Not Permitted",
	[ATT_E_INVALID_PDU] = "Invalid PDU",
	[ATT_E_INSUFFICIENT_AUTHENTICATION] = "Insufficient Authentication",
	[ATT_E_REQUEST_NOT_SUPPORTED] = "Request Not Supported",
	[ATT_E_INVALID_OFFSET] = "Invalid Offset",
	[ATT_E_INSUFFICIENT_AUTHORIZATION] = "Insufficient Authorization",
	[ATT_E_PREPARE_QUEUE_FULL] = "Prepare Queue Full",
	[ATT_E_ATTRIBUTE_NOT_FOUND] = "Attribute Not Found",
	[ATT_E_ATTRIBUTE_NOT_LONG] = "Attribute Not Long",
	[ATT_E_KEY_SIZE_TOO_SHORT] = "Encryption Key Size Too Short",
	[ATT_E_INVALID_VALUE_LENGTH] = "Invalid Attribute Value Length",
	[ATT_E_UNLIKELY] = "Unlikely Error",
	[ATT_E_INSUFFICIENT_ENCRYPTION] = "Insufficient Encryption",
	[ATT_E_UNSUPPORTED_GROUP_TYPE] = "Unsupported Group Type",
	[ATT_E_INSUFFICIENT_RESOURCES] = "Insufficient Resources",
	[ATT_E_DATABASE_OUT_OF_SYNC] = "Database Out Of Sync",
	[ATT_E_VALUE_NOT_ALLOWED] = "Value Not Allowed",
};

const char *att_error_name(uint8_t code)
{
	if (code < sizeof(error_names) / sizeof(error_names[0]) &&
	    error_names[code]) {
		return error_names[code];
	}
	/* 0x80-0x9F application, 0xE0-0xFF common profile and service
	 * error codes (3.4.1.1; Core Specification Supplement, Part B). */
	if (code >= 0x80 && code <= 0x9f) {
		return "an application error";
	}
	if (code >= 0xe0) {
		return "a common profile or service error";
	}
	return "a reserved error code";
}

int att_error_errno(uint8_t code)
{
	switch (code) {
	case ATT_E_INSUFFICIENT_AUTHENTICATION:
	case ATT_E_INSUFFICIENT_AUTHORIZATION:
	case ATT_E_KEY_SIZE_TOO_SHORT:
	case ATT_E_INSUFFICIENT_ENCRYPTION:
		return -EACCES;
	case ATT_E_ATTRIBUTE_NOT_FOUND:
	case ATT_E_INVALID_HANDLE:
		return -ENOENT;
	case ATT_E_REQUEST_NOT_SUPPORTED:
		return -EOPNOTSUPP;
	default:
		return -EPROTO;
	}
}
