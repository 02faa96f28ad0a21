/* SPDX-License-Identifier: MIT */
/*
 * H4 framer and encoder. Rules and ownership: h4.h. Packet layouts: Core
 * 5.4, Vol 4, Part E, 5.4; the indicator octet: Vol 4, Part A, 2.
 *
 * The buffer is linear with a read and a write offset; unconsumed octets
 * move to the front only when the tail lacks room for new input, which
 * costs at most one partial packet per refill. A packet therefore always
 * sits contiguous in the buffer and h4_next() hands out a pointer to it
 * instead of copying.
 */

#include <errno.h>
#include <string.h>

#include "core/h4.h"
#include "core/macro.h"

/* Vol 4, Part E, 5.4.2-5.4.5: Connection_Handle range 0x0000-0x0EFF. */
#define H4_HANDLE_MAX 0x0eff

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

size_t h4_hdr_size(uint8_t type)
{
	switch ((enum h4_type)type) {
	case H4_CMD:
		return H4_CMD_HDR_SIZE;
	case H4_ACL:
		return H4_ACL_HDR_SIZE;
	case H4_SCO:
		return H4_SCO_HDR_SIZE;
	case H4_EVT:
		return H4_EVT_HDR_SIZE;
	case H4_ISO:
		return H4_ISO_HDR_SIZE;
	}
	return 0;
}

const char *h4_type_name(uint8_t type)
{
	switch ((enum h4_type)type) {
	case H4_CMD:
		return "CMD";
	case H4_ACL:
		return "ACL";
	case H4_SCO:
		return "SCO";
	case H4_EVT:
		return "EVT";
	case H4_ISO:
		return "ISO";
	}
	return NULL;
}

/* Payload length from a complete header of a known type. */
static inline size_t payload_len(uint8_t type, const uint8_t *hdr)
{
	switch ((enum h4_type)type) {
	case H4_CMD:
	case H4_SCO:
		return hdr[2];
	case H4_ACL:
		return get_le16(hdr + 2);
	case H4_EVT:
		return hdr[1];
	case H4_ISO:
		/* Vol 4, Part E, 5.4.5: 14-bit length, 2 RFU bits. */
		return get_le16(hdr + 2) & 0x3fff;
	}
	return 0;
}

/* The stricter header check applied while hunting (rule 3 of h4.h). */
static bool plausible(uint8_t type, const uint8_t *hdr)
{
	uint16_t v;

	switch ((enum h4_type)type) {
	case H4_CMD:
		/* Vol 4, Part E, 5.4.1: OGF is the top 6 bits of the opcode;
		 * 0x01-0x08 are defined and 0x3F is vendor-specific. */
		v = get_le16(hdr) >> 10;
		return (v >= 0x01 && v <= 0x08) || v == 0x3f;
	case H4_ACL:
	case H4_SCO:
	case H4_ISO:
		return (get_le16(hdr) & 0x0fff) <= H4_HANDLE_MAX;
	case H4_EVT:
		return hdr[0] != 0x00 &&
		       (hdr[0] <= H4_EVT_CODE_MAX || hdr[0] == 0xff);
	}
	return false;
}

void h4_config_host(struct h4_config *cfg)
{
	*cfg = (struct h4_config){
		.cmd = H4_REJECT,
		.acl = H4_DELIVER,
		.sco = H4_DISCARD,
		.evt = H4_DELIVER,
		.iso = H4_DISCARD,
		.acl_max_len = 1021,
		.iso_max_len = 1021,
	};
}

static bool policy_valid(enum h4_policy p)
{
	switch (p) {
	case H4_REJECT:
	case H4_DELIVER:
	case H4_DISCARD:
		return true;
	}
	return false;
}

size_t h4_frame_max(const struct h4_config *cfg)
{
	size_t m = 0;

	if (cfg->cmd != H4_REJECT) {
		m = MAX(m, H4_CMD_HDR_SIZE + 255);
	}
	if (cfg->acl != H4_REJECT) {
		m = MAX(m, H4_ACL_HDR_SIZE + (size_t)cfg->acl_max_len);
	}
	if (cfg->sco != H4_REJECT) {
		m = MAX(m, H4_SCO_HDR_SIZE + 255);
	}
	if (cfg->evt != H4_REJECT) {
		m = MAX(m, H4_EVT_HDR_SIZE + 255);
	}
	if (cfg->iso != H4_REJECT) {
		m = MAX(m, H4_ISO_HDR_SIZE + (size_t)cfg->iso_max_len);
	}
	return m + 1;
}

int h4_init(struct h4 *h, const struct h4_config *cfg, void *mem,
	    size_t cap)
{
	if (!h || !cfg || !mem) {
		return -EINVAL;
	}
	if (!policy_valid(cfg->cmd) || !policy_valid(cfg->acl) ||
	    !policy_valid(cfg->sco) || !policy_valid(cfg->evt) ||
	    !policy_valid(cfg->iso)) {
		return -EINVAL;
	}
	if (cfg->iso_max_len > H4_ISO_LEN_LIMIT) {
		return -EINVAL;
	}
	if (cfg->cmd == H4_REJECT && cfg->acl == H4_REJECT &&
	    cfg->sco == H4_REJECT && cfg->evt == H4_REJECT &&
	    cfg->iso == H4_REJECT) {
		return -EINVAL;
	}
	if (cap < h4_frame_max(cfg)) {
		return -EINVAL;
	}

	memset(h, 0, sizeof(*h));
	h->buf = mem;
	h->cap = cap;
	h->policy[H4_CMD] = (uint8_t)cfg->cmd;
	h->policy[H4_ACL] = (uint8_t)cfg->acl;
	h->policy[H4_SCO] = (uint8_t)cfg->sco;
	h->policy[H4_EVT] = (uint8_t)cfg->evt;
	h->policy[H4_ISO] = (uint8_t)cfg->iso;
	h->max_len[H4_CMD] = 255;
	h->max_len[H4_ACL] = cfg->acl_max_len;
	h->max_len[H4_SCO] = 255;
	h->max_len[H4_EVT] = 255;
	h->max_len[H4_ISO] = cfg->iso_max_len;
	return 0;
}

void h4_reset(struct h4 *h)
{
	h->rd = 0;
	h->wr = 0;
	h->hunting = false;
}

/* Make the tail as large as possible: unconsumed octets to the front. */
static void compact(struct h4 *h)
{
	size_t n = h->wr - h->rd;

	if (h->rd == 0) {
		return;
	}
	if (n > 0) {
		memmove(h->buf, h->buf + h->rd, n);
	}
	h->rd = 0;
	h->wr = n;
}

size_t h4_feed(struct h4 *h, const uint8_t *bytes, size_t len)
{
	size_t room;

	if (h->rd == h->wr) {
		h->rd = 0;
		h->wr = 0;
	} else if (h->cap - h->wr < len) {
		compact(h);
	}
	room = h->cap - h->wr;
	if (len > room) {
		len = room;
	}
	if (len > 0) {
		memcpy(h->buf + h->wr, bytes, len);
		h->wr += len;
	}
	return len;
}

int h4_space(struct h4 *h, uint8_t **ret_ptr, size_t *ret_len)
{
	compact(h);
	if (h->wr == h->cap) {
		return -ENOBUFS;
	}
	*ret_ptr = h->buf + h->wr;
	*ret_len = h->cap - h->wr;
	return 0;
}

int h4_commit(struct h4 *h, size_t n)
{
	if (n > h->cap - h->wr) {
		return -EINVAL;
	}
	h->wr += n;
	return 0;
}

enum h4_loss {
	H4_LOSS_TYPE,
	H4_LOSS_LENGTH,
	H4_LOSS_IMPLAUSIBLE,
};

/* Skip the octet at rd; count a loss of sync if this is the first. */
static void skip_one(struct h4 *h, enum h4_loss why)
{
	if (!h->hunting) {
		h->hunting = true;
		h->stats.resyncs++;
		switch (why) {
		case H4_LOSS_TYPE:
			h->stats.bad_type++;
			break;
		case H4_LOSS_LENGTH:
			h->stats.bad_length++;
			break;
		case H4_LOSS_IMPLAUSIBLE:
			/* Only checked while hunting: cannot lose sync. */
			break;
		}
	}
	h->stats.bytes_skipped++;
	h->rd++;
}

int h4_next(struct h4 *h, struct h4_pkt *ret_pkt)
{
	for (;;) {
		const uint8_t *p = h->buf + h->rd;
		size_t avail = h->wr - h->rd;
		size_t hs, plen, total;
		uint8_t t, pol;

		if (avail == 0) {
			return -EAGAIN;
		}
		t = p[0];
		pol = t < ARRAY_SIZE(h->policy) ? h->policy[t] : H4_REJECT;
		if (pol == H4_REJECT) {
			skip_one(h, H4_LOSS_TYPE);
			continue;
		}
		hs = h4_hdr_size(t);
		if (avail < 1 + hs) {
			return -EAGAIN;
		}
		plen = payload_len(t, p + 1);
		if (plen > h->max_len[t]) {
			skip_one(h, H4_LOSS_LENGTH);
			continue;
		}
		if (h->hunting && !plausible(t, p + 1)) {
			skip_one(h, H4_LOSS_IMPLAUSIBLE);
			continue;
		}
		total = 1 + hs + plen;
		if (avail < total) {
			return -EAGAIN;
		}

		h->rd += total;
		h->hunting = false;
		if (pol == H4_DISCARD) {
			h->stats.discarded++;
			h->stats.discarded_bytes += total;
			continue;
		}
		h->stats.delivered++;
		h->stats.delivered_bytes += total;
		ret_pkt->type = (enum h4_type)t;
		ret_pkt->frame = p;
		ret_pkt->frame_len = total;
		ret_pkt->data = p + 1;
		ret_pkt->len = total - 1;
		return 0;
	}
}

size_t h4_pending(const struct h4 *h)
{
	return h->wr - h->rd;
}

bool h4_hunting(const struct h4 *h)
{
	return h->hunting;
}

void h4_flush(struct h4 *h)
{
	size_t n = h->wr - h->rd;

	if (n > 0) {
		h->stats.flushes++;
		h->stats.bytes_flushed += n;
	}
	h4_reset(h);
}

const struct h4_stats *h4_stats(const struct h4 *h)
{
	return &h->stats;
}

int h4_encode(enum h4_type type, const uint8_t *pkt, size_t len,
	      uint8_t *buf, size_t cap, size_t *ret_len)
{
	size_t hs = h4_hdr_size((uint8_t)type);

	if (hs == 0) {
		return -EINVAL;
	}
	if (!pkt || len < hs || hs + payload_len((uint8_t)type, pkt) != len) {
		return -EBADMSG;
	}
	if (cap < len + 1) {
		return -ENOBUFS;
	}
	if (pkt != buf + 1) {
		memmove(buf + 1, pkt, len);
	}
	buf[0] = (uint8_t)type;
	*ret_len = len + 1;
	return 0;
}
