/* SPDX-License-Identifier: MIT */
/*
 * HCI ACL fragmentation, reassembly and flow control. Contracts: acl.h.
 * Packet layout: Core 5.4, Vol 4, Part E, 5.4.2; fragmentation of L2CAP
 * PDUs over HCI: Vol 3, Part A, 7.2.
 */

#include <errno.h>
#include <string.h>

#include "core/acl.h"
#include "core/macro.h"

/* Vol 4, Part E, 5.4.2: Connection_Handle range. */
#define ACL_HANDLE_MAX 0x0eff

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

int acl_decode(const uint8_t *pkt, size_t len, struct acl_hdr *ret)
{
	uint16_t hf;
	uint16_t dlen;

	if (len < ACL_HDR_SIZE) {
		return -EBADMSG;
	}
	hf = get_le16(pkt);
	dlen = get_le16(pkt + 2);
	if (len - ACL_HDR_SIZE != dlen) {
		return -EBADMSG;
	}
	ret->handle = hf & 0x0fff;
	ret->pb = (enum acl_pb)((hf >> 12) & 0x3);
	ret->bc = (uint8_t)(hf >> 14);
	ret->len = dlen;
	ret->data = pkt + ACL_HDR_SIZE;
	return 0;
}

static bool pb_valid(enum acl_pb pb)
{
	switch (pb) {
	case ACL_PB_FIRST_NON_FLUSHABLE:
	case ACL_PB_CONTINUING:
	case ACL_PB_FIRST_FLUSHABLE:
	case ACL_PB_COMPLETE:
		return true;
	}
	return false;
}

int acl_put_hdr(uint8_t *buf, uint16_t handle, enum acl_pb pb, uint16_t len)
{
	if (handle > ACL_HANDLE_MAX || !pb_valid(pb)) {
		return -EINVAL;
	}
	/* Broadcast_Flag 0b00: point-to-point, the only value on LE. */
	put_le16(buf, (uint16_t)(handle | (unsigned)pb << 12));
	put_le16(buf + 2, len);
	return 0;
}

/* ---- fragmentation ------------------------------------------------- */

int acl_frag_init(struct acl_frag *f, uint16_t handle, const uint8_t *pdu,
		  size_t len, uint16_t buf_len, enum acl_pb first_pb)
{
	if (handle > ACL_HANDLE_MAX || buf_len == 0 || !pdu || len == 0 ||
	    len > ACL_L2CAP_HDR_SIZE + 0xffff) {
		return -EINVAL;
	}
	if (first_pb != ACL_PB_FIRST_NON_FLUSHABLE &&
	    first_pb != ACL_PB_FIRST_FLUSHABLE) {
		return -EINVAL;
	}
	*f = (struct acl_frag){
		.pdu = pdu,
		.len = len,
		.off = 0,
		.handle = handle,
		.buf_len = buf_len,
		.first_pb = first_pb,
	};
	return 0;
}

size_t acl_frag_count(size_t len, uint16_t buf_len)
{
	if (buf_len == 0) {
		return 0;
	}
	return (len + buf_len - 1) / buf_len;
}

bool acl_frag_pending(const struct acl_frag *f)
{
	return f->off < f->len;
}

int acl_frag_next(struct acl_frag *f, uint8_t *buf, size_t cap,
		  size_t *ret_len)
{
	const uint8_t *src;
	size_t n;
	enum acl_pb pb;

	if (f->off >= f->len) {
		return -ENODATA;
	}
	n = MIN((size_t)f->buf_len, f->len - f->off);
	if (cap < ACL_HDR_SIZE + n) {
		return -ENOBUFS;
	}
	src = f->pdu + f->off;
	if (src != buf + ACL_HDR_SIZE) {
		memmove(buf + ACL_HDR_SIZE, src, n);
	}
	/* Vol 3, Part A, 7.2.1: the first fragment carries the start flag,
	 * every later one "continuing". */
	pb = f->off == 0 ? f->first_pb : ACL_PB_CONTINUING;
	acl_put_hdr(buf, f->handle, pb, (uint16_t)n);
	f->off += n;
	*ret_len = ACL_HDR_SIZE + n;
	return 0;
}

/* ---- reassembly ---------------------------------------------------- */

static void rx_clear(struct acl_rx *s)
{
	s->len = 0;
	s->want = 0;
	s->busy = false;
}

int acl_reasm_init(struct acl_reasm *r, struct acl_rx *slots, size_t n,
		   uint8_t *const *bufs, size_t cap)
{
	if (!r || !slots || !bufs || n == 0 || cap < ACL_L2CAP_HDR_SIZE) {
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!bufs[i]) {
			return -EINVAL;
		}
	}
	memset(r, 0, sizeof(*r));
	r->slots = slots;
	r->n_slots = n;
	for (size_t i = 0; i < n; i++) {
		slots[i] = (struct acl_rx){
			.handle = ACL_HANDLE_NONE,
			.buf = bufs[i],
			.cap = cap,
		};
	}
	return 0;
}

static struct acl_rx *rx_find(struct acl_reasm *r, uint16_t handle)
{
	for (size_t i = 0; i < r->n_slots; i++) {
		if (r->slots[i].handle == handle) {
			return &r->slots[i];
		}
	}
	return NULL;
}

int acl_reasm_add(struct acl_reasm *r, uint16_t handle)
{
	struct acl_rx *s;

	if (handle > ACL_HANDLE_MAX) {
		return -EINVAL;
	}
	if (rx_find(r, handle)) {
		return -EEXIST;
	}
	s = rx_find(r, ACL_HANDLE_NONE);
	if (!s) {
		return -ENOSPC;
	}
	s->handle = handle;
	s->skip = 0;
	rx_clear(s);
	return 0;
}

int acl_reasm_remove(struct acl_reasm *r, uint16_t handle)
{
	struct acl_rx *s;

	if (handle > ACL_HANDLE_MAX) {
		return -ENOENT;
	}
	s = rx_find(r, handle);
	if (!s) {
		return -ENOENT;
	}
	s->handle = ACL_HANDLE_NONE;
	s->skip = 0;
	rx_clear(s);
	return 0;
}

static void pdu_out(const struct acl_rx *s, const uint8_t *pdu, size_t len,
		    struct acl_pdu *ret)
{
	ret->handle = s->handle;
	ret->cid = get_le16(pdu + 2);
	ret->payload = pdu + ACL_L2CAP_HDR_SIZE;
	ret->len = (uint16_t)(len - ACL_L2CAP_HDR_SIZE);
}

/*
 * Append n octets of a fragment to the PDU in s (a start fragment to an
 * empty s, or a continuation). Learns the PDU size once the basic header
 * is in, which may take more than one fragment.
 */
static int rx_append(struct acl_reasm *r, struct acl_rx *s, const uint8_t *d,
		     size_t n, struct acl_pdu *ret)
{
	size_t total = s->len + n;

	if (s->want == 0 && total >= ACL_L2CAP_HDR_SIZE) {
		uint8_t hdr[ACL_L2CAP_HDR_SIZE];

		for (size_t i = 0; i < sizeof(hdr); i++) {
			hdr[i] = i < s->len ? s->buf[i] : d[i - s->len];
		}
		s->want = ACL_L2CAP_HDR_SIZE + (size_t)get_le16(hdr);
		if (s->want > s->cap) {
			s->skip = s->want > total ? s->want - total : 0;
			rx_clear(s);
			r->stats.oversize++;
			return -EMSGSIZE;
		}
	}
	if (s->want != 0 && total > s->want) {
		rx_clear(s);
		r->stats.overlong++;
		return -EOVERFLOW;
	}

	/* A PDU in one fragment is handed out where it lies. */
	if (s->want != 0 && s->len == 0 && total == s->want) {
		rx_clear(s);
		pdu_out(s, d, total, ret);
		r->stats.pdus++;
		return 1;
	}

	memcpy(s->buf + s->len, d, n);
	s->len = total;
	if (s->want != 0 && total == s->want) {
		rx_clear(s);
		pdu_out(s, s->buf, total, ret);
		r->stats.pdus++;
		return 1;
	}
	s->busy = true;
	return 0;
}

int acl_reasm_feed(struct acl_reasm *r, const uint8_t *pkt, size_t len,
		   struct acl_pdu *ret_pdu)
{
	struct acl_hdr h;
	struct acl_rx *s;

	if (acl_decode(pkt, len, &h) < 0) {
		r->stats.bad_header++;
		return -EBADMSG;
	}
	s = h.handle <= ACL_HANDLE_MAX ? rx_find(r, h.handle) : NULL;
	if (!s) {
		r->stats.unknown_handle++;
		return -ENXIO;
	}
	if (h.bc != 0) {
		r->stats.bad_flags++;
		return -EPROTO;
	}

	switch (h.pb) {
	case ACL_PB_FIRST_NON_FLUSHABLE:
	case ACL_PB_FIRST_FLUSHABLE:
		if (s->busy) {
			r->stats.interrupted++;
		}
		rx_clear(s);
		s->skip = 0;
		return rx_append(r, s, h.data, h.len, ret_pdu);
	case ACL_PB_CONTINUING:
		if (s->busy) {
			return rx_append(r, s, h.data, h.len, ret_pdu);
		}
		/* The tail of a PDU already refused as oversize. */
		if (s->skip > 0 && h.len <= s->skip) {
			s->skip -= h.len;
			return 0;
		}
		s->skip = 0;
		r->stats.orphan++;
		return -EILSEQ;
	case ACL_PB_COMPLETE:
		/* Vol 4, Part E, 5.4.2: not allowed on LE-U. */
		r->stats.bad_flags++;
		return -EPROTO;
	}
	r->stats.bad_flags++;
	return -EPROTO;
}

/* ---- flow control -------------------------------------------------- */

int acl_flow_init(struct acl_flow *f, uint16_t total)
{
	if (total == 0) {
		return -EINVAL;
	}
	memset(f, 0, sizeof(*f));
	/* Using fewer controller buffers than it has is always allowed. */
	f->total = MIN(total, (uint16_t)ACL_FLOW_DEPTH);
	for (size_t i = 0; i < ARRAY_SIZE(f->h); i++) {
		f->h[i].handle = ACL_HANDLE_NONE;
	}
	return 0;
}

uint16_t acl_flow_avail(const struct acl_flow *f)
{
	return (uint16_t)(f->total - f->in_flight);
}

static int flow_find(const struct acl_flow *f, uint16_t handle)
{
	for (size_t i = 0; i < ARRAY_SIZE(f->h); i++) {
		if (f->h[i].handle == handle) {
			return (int)i;
		}
	}
	return -1;
}

int acl_flow_sent(struct acl_flow *f, uint16_t handle, uint64_t cookie)
{
	int i;

	if (handle > ACL_HANDLE_MAX) {
		return -EINVAL;
	}
	if (f->in_flight >= f->total) {
		return -ENOBUFS;
	}
	i = flow_find(f, handle);
	if (i < 0) {
		i = flow_find(f, ACL_HANDLE_NONE);
		if (i < 0) {
			return -ENOSPC;
		}
		f->h[i].handle = handle;
		f->h[i].count = 0;
		f->h[i].head = 0;
	}
	/* count < total <= ACL_FLOW_DEPTH: the ring has room. */
	f->h[i].cookie[(f->h[i].head + f->h[i].count) % ACL_FLOW_DEPTH] =
		cookie;
	f->h[i].count++;
	f->in_flight++;
	return 0;
}

uint16_t acl_flow_outstanding(const struct acl_flow *f, uint16_t handle)
{
	int i = handle == ACL_HANDLE_NONE ? -1 : flow_find(f, handle);

	return i < 0 ? 0 : f->h[i].count;
}

/* Release the n oldest packets of entry i, reporting their cookies. A
 * handle with nothing in flight gives its entry back. */
static void flow_release(struct acl_flow *f, int i, uint16_t n,
			 acl_flow_done_fn fn, void *user_data)
{
	uint16_t handle = f->h[i].handle;

	for (uint16_t k = 0; k < n; k++) {
		uint64_t c = f->h[i].cookie[f->h[i].head];

		f->h[i].head = (uint16_t)((f->h[i].head + 1) % ACL_FLOW_DEPTH);
		f->h[i].count--;
		f->in_flight--;
		if (fn) {
			fn(user_data, handle, c);
		}
	}
	if (f->h[i].count == 0) {
		f->h[i].handle = ACL_HANDLE_NONE;
	}
}

int acl_flow_completed(struct acl_flow *f, uint16_t handle, uint16_t count,
		       acl_flow_done_fn fn, void *user_data)
{
	int i = handle == ACL_HANDLE_NONE ? -1 : flow_find(f, handle);
	uint16_t have = i < 0 ? 0 : f->h[i].count;
	uint16_t n = MIN(count, have);

	if (n > 0) {
		flow_release(f, i, n, fn, user_data);
	}
	if (count > have) {
		f->over_completed += (uint64_t)(count - have);
		return -ERANGE;
	}
	return 0;
}

void acl_flow_disconnected(struct acl_flow *f, uint16_t handle)
{
	int i = handle == ACL_HANDLE_NONE ? -1 : flow_find(f, handle);

	if (i >= 0) {
		flow_release(f, i, f->h[i].count, NULL, NULL);
	}
}
