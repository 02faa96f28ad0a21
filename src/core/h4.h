/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_H4_H
#define TTWS_CORE_H4_H

/*
 * H4, the HCI UART transport (Core 5.4, Vol 4, Part A): one packet
 * indicator octet, then the HCI packet exactly as Vol 4, Part E, 5.4
 * lays it out. UART has no other framing, so the length field in each
 * packet header is the only boundary. A corrupted or lost octet puts the
 * receiver out of step; this framer notices (an invalid indicator, a
 * length no packet may have) and hunts for the next plausible header.
 *
 * Bytes in, packets out: h4_feed() (or h4_space() + h4_commit() to let
 * read() land in the framer's buffer), then h4_next() until -EAGAIN.
 * The fd lives elsewhere (src/os/hci_uart). Pure: no allocation, no
 * syscalls, no logging. One framer, one thread.
 *
 * Resynchronisation rules, in the order h4_next() applies them at the
 * first unconsumed octet:
 *  1. the indicator must name a type whose policy is not H4_REJECT;
 *  2. once the header is in, the payload length must be at most that
 *     type's configured maximum (H4_CMD/H4_SCO/H4_EVT lengths are one
 *     octet, so only ACL and ISO can be impossible);
 *  3. while hunting only (after a loss of sync, before the next good
 *     packet), the header must also be plausible: connection handle at
 *     most 0x0EFF (Vol 4, Part E, 5.4.2), event code neither 0x00 nor
 *     above H4_EVT_CODE_MAX unless 0xFF (vendor), command OGF one that
 *     exists (0x01..0x08, 0x3F). In step, the framer trusts headers:
 *     a new event code from a newer controller must not cost a resync.
 * A failure skips exactly one octet and retries at the next, so the
 * framer stops at the first offset where a plausible header starts.
 * Every octet is accounted for: delivered, discarded (whole packets of
 * an H4_DISCARD type), skipped while hunting, flushed, or still pending.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Packet indicators, Core 5.4, Vol 4, Part A, 2 (Table 2.1). */
enum h4_type {
	H4_CMD = 0x01,
	H4_ACL = 0x02,
	H4_SCO = 0x03,
	H4_EVT = 0x04,
	H4_ISO = 0x05,
};

/* Header octets after the indicator, Vol 4, Part E, 5.4.1 to 5.4.5. */
#define H4_CMD_HDR_SIZE 3 /* opcode (2), parameter length (1) */
#define H4_ACL_HDR_SIZE 4 /* handle + flags (2), data length (2) */
#define H4_SCO_HDR_SIZE 3 /* handle + flags (2), data length (1) */
#define H4_EVT_HDR_SIZE 2 /* event code (1), parameter length (1) */
#define H4_ISO_HDR_SIZE 4 /* handle + flags (2), length (14 bits) */

/* Largest length an ACL or ISO header can carry. */
#define H4_ACL_LEN_LIMIT 0xffff
#define H4_ISO_LEN_LIMIT 0x3fff

/* Highest event code the hunting check accepts (codes run to 0x59 in
 * Core 5.4; the margin covers a few versions). 0xFF is vendor-specific. */
#define H4_EVT_CODE_MAX 0x5f

/* What to do with a packet of one type. */
enum h4_policy {
	/* The indicator is invalid on this link: resynchronise. */
	H4_REJECT = 0,
	/* Frame it and return it from h4_next(). */
	H4_DELIVER = 1,
	/* Frame it by its length, drop it, count it in stats.discarded. */
	H4_DISCARD = 2,
};

struct h4_config {
	enum h4_policy cmd; /* H4_REJECT on a host: commands go out only */
	enum h4_policy acl;
	enum h4_policy sco;
	enum h4_policy evt;
	enum h4_policy iso;
	/* Largest payload accepted (octets after the header). A smaller
	 * value catches more corrupted lengths at once. */
	uint16_t acl_max_len; /* at most H4_ACL_LEN_LIMIT */
	uint16_t iso_max_len; /* at most H4_ISO_LEN_LIMIT */
};

/*
 * The configuration of a host reading a controller: events and ACL
 * delivered, SCO and ISO discarded, commands invalid; ACL payloads up to
 * 1021 octets (the largest BR/EDR controller buffer in common use; an
 * LE-only host may lower it to its LE_ACL_Data_Packet_Length), ISO up to
 * 1021.
 */
void h4_config_host(struct h4_config *cfg);

/* Counters since h4_init(). Octets include the indicator. */
struct h4_stats {
	uint64_t delivered;        /* packets returned by h4_next() */
	uint64_t delivered_bytes;
	uint64_t discarded;        /* whole packets of an H4_DISCARD type */
	uint64_t discarded_bytes;
	uint64_t resyncs;          /* losses of sync: bad_type + bad_length */
	uint64_t bad_type;         /* ... caused by an invalid indicator */
	uint64_t bad_length;       /* ... by an impossible length (a
				    * packet dropped) */
	uint64_t bytes_skipped;    /* octets thrown away while hunting,
				    * including the one that lost sync */
	uint64_t flushes;          /* h4_flush() calls that dropped data */
	uint64_t bytes_flushed;
};

/* A framed packet. Points into the framer's buffer: valid until the next
 * h4_feed(), h4_space(), h4_flush() or h4_reset(); h4_next() itself
 * never moves data, so several packets may be held at once. */
struct h4_pkt {
	enum h4_type type;
	const uint8_t *frame; /* indicator + header + payload */
	size_t frame_len;
	const uint8_t *data;  /* header + payload: frame + 1 */
	size_t len;           /* frame_len - 1 */
};

/* Public so that it can be embedded; the fields are private to h4.c. */
struct h4 {
	uint8_t *buf;
	size_t cap;
	size_t rd;   /* first unconsumed octet */
	size_t wr;   /* end of buffered octets */
	bool hunting;
	uint8_t policy[8]; /* by indicator; 0 = H4_REJECT */
	uint16_t max_len[8];
	struct h4_stats stats;
};

/*
 * Largest frame (indicator + header + payload) cfg admits; the buffer
 * passed to h4_init() must hold at least this many octets, and should
 * hold a read's worth more.
 */
size_t h4_frame_max(const struct h4_config *cfg);

/*
 * Set up a framer over mem (cap octets, owned by the caller, outliving h).
 * Starts in step, empty, counters zero. Returns 0, or -EINVAL (a policy
 * out of range, a maximum over its limit, or cap < h4_frame_max(cfg)).
 */
int h4_init(struct h4 *h, const struct h4_config *cfg, void *mem,
	    size_t cap);

/* Drop buffered octets (uncounted) and return to step; counters stay. */
void h4_reset(struct h4 *h);

/*
 * Copy up to len octets in; returns how many were taken (less than len
 * only when the buffer is full of unconsumed data: call h4_next() until
 * -EAGAIN and feed the rest). Invalidates held packets.
 */
size_t h4_feed(struct h4 *h, const uint8_t *bytes, size_t len);

/*
 * Zero-copy input: the largest free span at the end of the buffer (after
 * moving unconsumed octets to the front when that makes room). Read into
 * it, then h4_commit() what arrived. Returns 0 and the span, or -ENOBUFS
 * when the buffer is full of unconsumed data (drain with h4_next()).
 * Invalidates held packets.
 */
int h4_space(struct h4 *h, uint8_t **ret_ptr, size_t *ret_len);

/* Account for n octets written into the span h4_space() returned.
 * Returns 0, or -EINVAL if n exceeds the free space. */
int h4_commit(struct h4 *h, size_t n);

/*
 * The next packet of a deliverable type. Returns 0 and *ret_pkt, or
 * -EAGAIN when the buffered octets hold no complete packet (feed more).
 * Skips, counts and discards as the rules above say; never fails
 * otherwise. *ret_pkt is untouched on -EAGAIN.
 */
int h4_next(struct h4 *h, struct h4_pkt *ret_pkt);

/* Octets buffered and not yet consumed (a partial packet or a header
 * still being checked). */
size_t h4_pending(const struct h4 *h);

/* Whether the framer is hunting for a header after a loss of sync. */
bool h4_hunting(const struct h4 *h);

/*
 * Throw away pending octets, counted in flushes/bytes_flushed, and return
 * to step: the caller's remedy for a partial packet that never completes
 * (a corrupted length on a line that then went idle). The framer has no
 * clock; the caller decides what "idle" means.
 */
void h4_flush(struct h4 *h);

const struct h4_stats *h4_stats(const struct h4 *h);

/* Header octets after the indicator for a type, 0 for an unknown one. */
size_t h4_hdr_size(uint8_t type);

/*
 * Encode an outgoing packet: indicator + pkt (an HCI packet, header
 * included) into buf, so that it goes out in one write (Vol 4, Part A
 * has no framing to reassemble a split header, and some controllers and
 * emulators misparse one). pkt's header must describe exactly len octets.
 * pkt may be buf + 1 (built in place after one spare octet: nothing is
 * copied) or overlap buf in any other way (moved as by memmove()).
 * Returns 0 and *ret_len = len + 1, or:
 *	-EINVAL    type is not one of enum h4_type
 *	-EBADMSG   len is shorter than the header, or the header's length
 *	           field disagrees with len
 *	-ENOBUFS   cap < len + 1
 * buf and *ret_len are untouched on error.
 */
int h4_encode(enum h4_type type, const uint8_t *pkt, size_t len,
	      uint8_t *buf, size_t cap, size_t *ret_len);

/* "CMD", "ACL", "SCO", "EVT", "ISO"; NULL for anything else. */
const char *h4_type_name(uint8_t type);

#endif
