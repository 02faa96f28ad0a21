/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the H4 framer (src/core/h4.c).
 *
 * The first input octet picks a configuration and seeds the chunking; the
 * rest is the byte stream. Beyond "does not crash, does not read out of
 * bounds", every input checks:
 *   - framing depends on the octets only: the stream fed whole and fed in
 *     pseudo-random chunks yields the same packets and the same counters;
 *   - every delivered packet has a deliverable type, and its header
 *     describes exactly its length, within the configured maximum (so
 *     h4_encode() accepts it and reproduces it octet for octet);
 *   - every octet is accounted for: delivered + discarded + skipped +
 *     pending = fed, and resyncs = bad_type + bad_length;
 *   - h4_flush() leaves nothing pending.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/h4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_FRAMES 65536

static uint8_t mem_a[1 + 4 + H4_ACL_LEN_LIMIT + 4096];
static uint8_t mem_b[sizeof(mem_a)];
static size_t frame_off[FUZZ_MAX_FRAMES];
static size_t frame_len[FUZZ_MAX_FRAMES];

static void pick_config(uint8_t sel, struct h4_config *cfg)
{
	static const enum h4_policy pol[3] = { H4_REJECT, H4_DELIVER,
					       H4_DISCARD };

	h4_config_host(cfg);
	switch (sel & 3) {
	case 0:
		break;
	case 1:
		cfg->acl_max_len = 27;
		break;
	case 2:
		cfg->acl_max_len = 251;
		cfg->iso_max_len = 0;
		break;
	case 3:
		cfg->acl_max_len = H4_ACL_LEN_LIMIT;
		cfg->iso_max_len = H4_ISO_LEN_LIMIT;
		break;
	}
	cfg->cmd = pol[(sel >> 2) % 3];
	cfg->sco = pol[(sel >> 4) % 3];
	cfg->iso = pol[(sel >> 6) % 3];
}

static size_t payload_of(const struct h4_pkt *p)
{
	switch (p->type) {
	case H4_CMD:
	case H4_SCO:
		return p->data[2];
	case H4_ACL:
		return (size_t)(p->data[2] | p->data[3] << 8);
	case H4_EVT:
		return p->data[1];
	case H4_ISO:
		return (size_t)(p->data[2] | p->data[3] << 8) & 0x3fff;
	}
	abort();
}

static void check_pkt(const struct h4_config *cfg, const struct h4_pkt *p)
{
	static uint8_t enc[sizeof(mem_a)];
	size_t hs = h4_hdr_size(p->type), plen, n;
	enum h4_policy pol = H4_REJECT;
	size_t max = 255;

	switch (p->type) {
	case H4_CMD:
		pol = cfg->cmd;
		break;
	case H4_ACL:
		pol = cfg->acl;
		max = cfg->acl_max_len;
		break;
	case H4_SCO:
		pol = cfg->sco;
		break;
	case H4_EVT:
		pol = cfg->evt;
		break;
	case H4_ISO:
		pol = cfg->iso;
		max = cfg->iso_max_len;
		break;
	}
	if (pol != H4_DELIVER || hs == 0 || p->frame[0] != p->type ||
	    p->data != p->frame + 1 || p->len + 1 != p->frame_len) {
		abort();
	}
	plen = payload_of(p);
	if (plen > max || 1 + hs + plen != p->frame_len) {
		abort();
	}
	if (h4_encode(p->type, p->data, p->len, enc, sizeof(enc), &n) != 0 ||
	    n != p->frame_len || memcmp(enc, p->frame, n) != 0) {
		abort();
	}
}

static void check_stats(const struct h4 *h, size_t fed)
{
	const struct h4_stats *st = h4_stats(h);

	if (st->delivered_bytes + st->discarded_bytes + st->bytes_skipped +
		    h4_pending(h) !=
	    fed) {
		abort();
	}
	if (st->resyncs != st->bad_type + st->bad_length) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frames[1 << 20];
	struct h4_config cfg;
	struct h4 a, b;
	struct h4_pkt p;
	size_t off = 0, used = 0, n = 0, k = 0;
	uint32_t seed;

	if (size < 1) {
		return 0;
	}
	pick_config(data[0], &cfg);
	seed = data[0] * 2654435761u;
	data++;
	size--;
	if (size > sizeof(frames)) {
		size = sizeof(frames);
	}
	if (h4_init(&a, &cfg, mem_a, sizeof(mem_a)) != 0 ||
	    h4_init(&b, &cfg, mem_b, sizeof(mem_b)) != 0) {
		abort();
	}

	/* Whole (as much as fits), drained, until everything is in. */
	while (off < size) {
		size_t took = h4_feed(&a, data + off, size - off);

		/* Only a buffer full of unconsumed octets refuses input. */
		if (took == 0 && h4_pending(&a) != a.cap) {
			abort();
		}
		off += took;
		while (h4_next(&a, &p) == 0) {
			check_pkt(&cfg, &p);
			if (n == FUZZ_MAX_FRAMES ||
			    used + p.frame_len > sizeof(frames)) {
				abort();
			}
			memcpy(frames + used, p.frame, p.frame_len);
			frame_off[n] = used;
			frame_len[n] = p.frame_len;
			used += p.frame_len;
			n++;
		}
		/* ... and draining always makes room again. */
		if (h4_pending(&a) == a.cap) {
			abort();
		}
	}
	check_stats(&a, size);

	/* Chunked: the same packets in the same order. */
	off = 0;
	while (off < size) {
		size_t c;

		seed = seed * 1103515245u + 12345u;
		c = 1 + (seed >> 16) % 97;
		if (c > size - off) {
			c = size - off;
		}
		off += h4_feed(&b, data + off, c);
		while (h4_next(&b, &p) == 0) {
			if (k >= n || p.frame_len != frame_len[k] ||
			    memcmp(p.frame, frames + frame_off[k],
				   p.frame_len) != 0) {
				abort();
			}
			k++;
		}
	}
	check_stats(&b, size);
	if (k != n || memcmp(h4_stats(&a), h4_stats(&b),
			     sizeof(struct h4_stats)) != 0 ||
	    h4_pending(&a) != h4_pending(&b)) {
		abort();
	}

	h4_flush(&a);
	if (h4_pending(&a) != 0 || h4_next(&a, &p) != -EAGAIN) {
		abort();
	}
	return 0;
}
