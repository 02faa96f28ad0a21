/* SPDX-License-Identifier: MIT */
/*
 * ATT's UUIDs, the walks over list responses and GATT's characteristic
 * declaration. Contracts: att.h. Section numbers are of Core 5.4, Vol 3.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/att.h"

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* ---- UUIDs ---------------------------------------------------------- */

/* 00000000-0000-1000-8000-00805F9B34FB little-endian; a 16-bit UUID
 * goes in octets 12 and 13 (Part B, 2.5.1). */
static const uint8_t base_le[16] = {0xfb, 0x34, 0x9b, 0x5f, 0x80, 0x00,
				    0x00, 0x80, 0x00, 0x10, 0x00, 0x00,
				    0x00, 0x00, 0x00, 0x00};

void att_uuid16(uint16_t v, struct att_uuid *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->len = 2;
	ret->le[0] = (uint8_t)v;
	ret->le[1] = (uint8_t)(v >> 8);
}

int att_uuid_from_le(const uint8_t *buf, size_t len, struct att_uuid *ret)
{
	if (!buf || (len != 2 && len != 16)) {
		return -EINVAL;
	}
	memset(ret, 0, sizeof(*ret));
	ret->len = (uint8_t)len;
	memcpy(ret->le, buf, len);
	return 0;
}

static void uuid_to128(const struct att_uuid *u, uint8_t out[16])
{
	if (u->len == 16) {
		memcpy(out, u->le, 16);
		return;
	}
	memcpy(out, base_le, 16);
	out[12] = u->le[0];
	out[13] = u->le[1];
}

bool att_uuid_eq(const struct att_uuid *a, const struct att_uuid *b)
{
	uint8_t x[16], y[16];

	uuid_to128(a, x);
	uuid_to128(b, y);
	return memcmp(x, y, 16) == 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

int att_uuid_parse(const char *text, struct att_uuid *ret)
{
	uint8_t be[16];
	size_t len, i, n = 0;
	struct att_uuid u;

	if (!text) {
		return -EINVAL;
	}
	len = strlen(text);
	if (len != 4 && len != 36) {
		return -EINVAL;
	}
	for (i = 0; i < len; i += 2) {
		int hi, lo;

		/* Dashes at 8, 13, 18 and 23 of the long form only. */
		if (len == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (text[i] != '-') {
				return -EINVAL;
			}
			i--;
			continue;
		}
		hi = hex_digit(text[i]);
		lo = hex_digit(text[i + 1]);
		if (hi < 0 || lo < 0) {
			return -EINVAL;
		}
		be[n++] = (uint8_t)(hi << 4 | lo);
	}
	/* Text is most significant first; ATT is little-endian. */
	memset(&u, 0, sizeof(u));
	u.len = (uint8_t)n;
	for (i = 0; i < n; i++) {
		u.le[i] = be[n - 1 - i];
	}
	*ret = u;
	return 0;
}

void att_uuid_format(const struct att_uuid *u, char *buf)
{
	uint8_t le[16];
	size_t o = 0;
	int i;

	uuid_to128(u, le);
	for (i = 15; i >= 0; i--) {
		snprintf(buf + o, 3, "%02x", le[i]);
		o += 2;
		if (i == 12 || i == 10 || i == 8 || i == 6) {
			buf[o++] = '-';
		}
	}
	buf[o] = '\0';
}

/* ---- list walks ----------------------------------------------------- */

int att_iter_init(struct att_iter *it, const struct att_pdu *rsp,
		  struct att_range range)
{
	if (rsp->opcode != ATT_FIND_INFO_RSP &&
	    rsp->opcode != ATT_FIND_BY_TYPE_RSP &&
	    rsp->opcode != ATT_READ_BY_TYPE_RSP) {
		return -EINVAL;
	}
	if (range.start == 0 || range.start > range.end) {
		return -EINVAL;
	}
	memset(it, 0, sizeof(*it));
	it->opcode = rsp->opcode;
	it->elem_len = rsp->list.elem_len;
	it->p = rsp->list.data;
	/* A whole number of elements, as att_decode() left it. */
	it->left = rsp->list.elem_len ?
			   rsp->list.len - rsp->list.len % rsp->list.elem_len :
			   0;
	it->range = range;
	it->next_min = range.start;
	return 0;
}

/* The next element's first handle, checked; the element in *ret_p. */
static int iter_step(struct att_iter *it, uint8_t opcode,
		     const uint8_t **ret_p, uint16_t *ret_handle)
{
	uint16_t h;

	if (it->opcode != opcode) {
		return -EINVAL;
	}
	if (it->left < it->elem_len || it->elem_len < 2) {
		return 0;
	}
	h = get_le16(it->p);
	*ret_p = it->p;
	it->p += it->elem_len;
	it->left -= it->elem_len;
	if (h == 0) {
		it->left = 0;
		return -EPROTO;
	}
	if (h < it->range.start || h > it->range.end) {
		it->left = 0;
		return -ERANGE;
	}
	if (h < it->next_min) {
		it->left = 0;
		return -EPROTO;
	}
	it->next_min = (uint32_t)h + 1;
	*ret_handle = h;
	return 1;
}

int att_iter_info(struct att_iter *it, struct att_info *ret)
{
	const uint8_t *e;
	uint16_t h;
	int r = iter_step(it, ATT_FIND_INFO_RSP, &e, &h);

	if (r <= 0) {
		return r;
	}
	ret->handle = h;
	att_uuid_from_le(e + 2, it->elem_len - 2u, &ret->type);
	return 1;
}

int att_iter_group(struct att_iter *it, struct att_group *ret)
{
	const uint8_t *e;
	uint16_t h, end;
	int r = iter_step(it, ATT_FIND_BY_TYPE_RSP, &e, &h);

	if (r <= 0) {
		return r;
	}
	end = get_le16(e + 2);
	if (end < h) {
		it->left = 0;
		return -EPROTO;
	}
	/* Groups do not overlap: the next starts after this one ends. */
	it->next_min = (uint32_t)end + 1;
	ret->found = h;
	ret->group_end = end;
	return 1;
}

int att_iter_data(struct att_iter *it, struct att_data *ret)
{
	const uint8_t *e;
	uint16_t h;
	int r = iter_step(it, ATT_READ_BY_TYPE_RSP, &e, &h);

	if (r <= 0) {
		return r;
	}
	ret->handle = h;
	ret->value = e + 2;
	ret->value_len = it->elem_len - 2u;
	return 1;
}

/* ---- GATT ----------------------------------------------------------- */

int att_chr_parse(const struct att_data *d, struct att_chr *ret)
{
	struct att_chr c;

	/* Properties (1), value handle (2), UUID (2 or 16): Part G,
	 * 3.3.1. */
	if (d->value_len != 5 && d->value_len != 19) {
		return -EBADMSG;
	}
	memset(&c, 0, sizeof(c));
	c.decl = d->handle;
	c.props = d->value[0];
	c.value = get_le16(d->value + 1);
	att_uuid_from_le(d->value + 3, d->value_len - 3, &c.uuid);
	if (c.value <= c.decl) {
		return -EPROTO;
	}
	*ret = c;
	return 0;
}
