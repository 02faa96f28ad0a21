/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_ACL_H
#define TTWS_CORE_ACL_H

/*
 * The HCI ACL data path of an LE host (Core 5.4, Vol 4, Part E, 5.4.2
 * and 4.1; Vol 3, Part A, 7.2): fragmenting L2CAP PDUs to the
 * controller's LE_ACL_Data_Packet_Length, reassembling received
 * fragments per connection handle, and host-to-controller flow control
 * by Number Of Completed Packets. Pure: bytes in, structs out; every
 * buffer belongs to the caller and nothing is allocated.
 *
 * An ACL packet is handle + flags (2), Data_Total_Length (2), data. The
 * L2CAP PDU it carries starts with the basic header, Length (2) and
 * Channel ID (2) (Vol 3, Part A, 3.1), which is what tells reassembly
 * where a PDU ends.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACL_HDR_SIZE 4
#define ACL_L2CAP_HDR_SIZE 4 /* basic L2CAP header, Vol 3, Part A, 3.1 */

/* Packet_Boundary_Flag, Vol 4, Part E, 5.4.2. */
enum acl_pb {
	/* Host to controller: first fragment, not automatically flushable
	 * (what an LE host sends). */
	ACL_PB_FIRST_NON_FLUSHABLE = 0x0,
	ACL_PB_CONTINUING = 0x1,
	/* First fragment, automatically flushable; what a controller sends
	 * to the host for LE. */
	ACL_PB_FIRST_FLUSHABLE = 0x2,
	/* A complete automatically flushable PDU: BR/EDR only (not
	 * allowed on LE-U), rejected here. */
	ACL_PB_COMPLETE = 0x3,
};

struct acl_hdr {
	uint16_t handle;   /* 12 bits */
	enum acl_pb pb;
	uint8_t bc;        /* Broadcast_Flag: 0 on LE */
	uint16_t len;      /* Data_Total_Length */
	const uint8_t *data; /* into the packet */
};

/*
 * Parse an ACL packet (header + data, no H4 indicator). Returns 0 and
 * *ret, or -EBADMSG (shorter than the header, or Data_Total_Length
 * disagrees with len); *ret is untouched on error.
 */
int acl_decode(const uint8_t *pkt, size_t len, struct acl_hdr *ret);

/*
 * Write an ACL header for handle/pb/len into buf (ACL_HDR_SIZE octets).
 * Returns 0, or -EINVAL for a handle over 0x0EFF or a pb out of range.
 */
int acl_put_hdr(uint8_t *buf, uint16_t handle, enum acl_pb pb, uint16_t len);

/* ---- fragmentation ------------------------------------------------- */

/*
 * Splits one L2CAP PDU (basic header included) into ACL packets of at
 * most buf_len data octets: the controller's LE_ACL_Data_Packet_Length
 * from LE Read Buffer Size (27 is the minimum, 251 the largest an LE
 * link-layer PDU carries). The PDU is borrowed: it must stay put until
 * the last fragment is written.
 */
struct acl_frag {
	const uint8_t *pdu;
	size_t len;
	size_t off;
	uint16_t handle;
	uint16_t buf_len;
	enum acl_pb first_pb;
};

/*
 * Returns 0, or -EINVAL (handle over 0x0EFF, buf_len 0, first_pb not a
 * first-fragment flag, pdu NULL or len 0, len over 0xFFFF + 4).
 */
int acl_frag_init(struct acl_frag *f, uint16_t handle, const uint8_t *pdu,
		  size_t len, uint16_t buf_len, enum acl_pb first_pb);

/* Fragments a PDU of len octets takes at buf_len (0 if buf_len is 0). */
size_t acl_frag_count(size_t len, uint16_t buf_len);

/*
 * Write the next fragment (ACL header + up to buf_len data octets) into
 * buf. Returns 0 and *ret_len, -ENODATA when every fragment has been
 * written, -ENOBUFS if cap is too small for this fragment (nothing
 * written, state unchanged). The data may already sit at buf + 4 (built
 * in place): then nothing is copied.
 */
int acl_frag_next(struct acl_frag *f, uint8_t *buf, size_t cap,
		  size_t *ret_len);

/* Whether fragments remain. */
bool acl_frag_pending(const struct acl_frag *f);

/* ---- reassembly ---------------------------------------------------- */

#define ACL_HANDLE_NONE 0xffff

/* Per-handle reassembly state: embed one per connection. */
struct acl_rx {
	uint16_t handle;   /* ACL_HANDLE_NONE when the slot is free */
	uint8_t *buf;      /* caller's, cap octets: the largest PDU */
	size_t cap;
	size_t len;        /* octets collected of the current PDU */
	size_t want;       /* 4 + L2CAP Length once known, else 0 */
	size_t skip;       /* continuation octets left of a dropped PDU */
	bool busy;         /* a PDU is in progress */
};

/* A complete L2CAP PDU. payload points into the caller's packet (a PDU
 * in one fragment is not copied) or into the slot's buffer: valid until
 * the next acl_reasm_feed() for that handle, and as long as the packet
 * passed in. */
struct acl_pdu {
	uint16_t handle;
	uint16_t cid;
	const uint8_t *payload; /* after the basic header */
	uint16_t len;           /* L2CAP Length */
};

struct acl_reasm_stats {
	uint64_t pdus;           /* complete PDUs returned */
	uint64_t bad_header;     /* -EBADMSG */
	uint64_t unknown_handle; /* -ENXIO */
	uint64_t bad_flags;      /* -EPROTO */
	uint64_t orphan;         /* -EILSEQ: continuation without a start */
	uint64_t oversize;       /* -EMSGSIZE: PDU larger than the slot */
	uint64_t overlong;       /* -EOVERFLOW: fragment past the PDU end */
	uint64_t interrupted;    /* partial PDUs lost to a new start */
};

struct acl_reasm {
	struct acl_rx *slots;
	size_t n_slots;
	struct acl_reasm_stats stats;
};

/*
 * Set up reassembly over n caller-owned slots; bufs[i] (cap octets each,
 * at least ACL_L2CAP_HDR_SIZE) backs slot i. cap bounds the PDU (basic
 * header included) a slot reassembles. All slots start free.
 * Returns 0 or -EINVAL.
 */
int acl_reasm_init(struct acl_reasm *r, struct acl_rx *slots, size_t n,
		   uint8_t *const *bufs, size_t cap);

/* Bind a free slot to handle (on LE Connection Complete). Returns 0,
 * -EEXIST (already bound), -ENOSPC (no free slot) or -EINVAL. */
int acl_reasm_add(struct acl_reasm *r, uint16_t handle);

/* Unbind (on Disconnection Complete), dropping a partial PDU uncounted.
 * Returns 0 or -ENOENT. */
int acl_reasm_remove(struct acl_reasm *r, uint16_t handle);

/*
 * Feed one received ACL packet (header + data). Returns:
 *	1           a PDU is complete: *ret_pdu
 *	0           fragment stored, the PDU is not complete yet
 *	-EBADMSG    malformed ACL header or length
 *	-ENXIO      handle not bound
 *	-EPROTO     Packet_Boundary_Flag 0b11 or Broadcast_Flag set (not
 *	            allowed on LE-U)
 *	-EILSEQ     continuation without a start (dropped)
 *	-EMSGSIZE   the PDU's L2CAP Length exceeds the slot; the PDU's
 *	            continuations are then dropped silently
 *	-EOVERFLOW  a fragment runs past the PDU's L2CAP Length (the whole
 *	            PDU is dropped)
 * A start fragment while a PDU is partial drops the partial one
 * (stats.interrupted, Vol 4, Part E, 5.4.2: a new start means the
 * previous PDU was flushed) and proceeds with the new one. Every error
 * is counted in r->stats; *ret_pdu is written only on 1.
 */
int acl_reasm_feed(struct acl_reasm *r, const uint8_t *pkt, size_t len,
		   struct acl_pdu *ret_pdu);

/* ---- host to controller flow control ------------------------------- */

#define ACL_FLOW_MAX_HANDLES 8
/* Packets tracked per handle; a larger controller total is clamped. */
#define ACL_FLOW_DEPTH 64

/*
 * Vol 4, Part E, 4.1.1: the host may have at most Total_Num_LE_ACL_Data_
 * Packets (LE Read Buffer Size) ACL packets in the controller; Number Of
 * Completed Packets returns them per handle, oldest first, and a
 * Disconnection Complete returns all of that handle's (4.3). One
 * fragment is one packet.
 *
 * Each packet sent carries a caller's cookie that comes back when the
 * controller reports it complete: the send side's best timestamp
 * (DESIGN.md "Transports": the instant a packet left is known from its
 * completion, not from write()). A cookie may be the write time in ns of
 * CLOCK_MONOTONIC, a frame number, anything 64-bit.
 */
struct acl_flow {
	uint16_t total;      /* MIN(controller total, ACL_FLOW_DEPTH) */
	uint16_t in_flight;
	struct {
		uint16_t handle; /* ACL_HANDLE_NONE when free */
		uint16_t count;
		uint16_t head;   /* oldest cookie */
		uint64_t cookie[ACL_FLOW_DEPTH];
	} h[ACL_FLOW_MAX_HANDLES];
	uint64_t over_completed; /* completions beyond what was in flight */
};

/* Called per completed packet, oldest first, with its cookie. */
typedef void (*acl_flow_done_fn)(void *user_data, uint16_t handle,
				 uint64_t cookie);

/* total > 0 (clamped to ACL_FLOW_DEPTH), else -EINVAL. */
int acl_flow_init(struct acl_flow *f, uint16_t total);

/* Packets the controller can take now. */
uint16_t acl_flow_avail(const struct acl_flow *f);

/* Account one packet sent on handle. Returns 0, -ENOBUFS (controller
 * full: do not send), -ENOSPC (ACL_FLOW_MAX_HANDLES handles in flight)
 * or -EINVAL (bad handle); nothing recorded on error. */
int acl_flow_sent(struct acl_flow *f, uint16_t handle, uint64_t cookie);

/* Packets outstanding on handle. */
uint16_t acl_flow_outstanding(const struct acl_flow *f, uint16_t handle);

/*
 * Account a Number Of Completed Packets entry: the count oldest packets
 * of handle are done; fn (may be NULL) gets each one's cookie, oldest
 * first. Returns 0, or -ERANGE when count exceeds what is outstanding
 * on handle (a controller bug or a lost Disconnection Complete): the
 * excess is counted in over_completed, the rest credited.
 */
int acl_flow_completed(struct acl_flow *f, uint16_t handle, uint16_t count,
		       acl_flow_done_fn fn, void *user_data);

/* Disconnection Complete: every packet of handle is freed (4.3); their
 * cookies are dropped, they were flushed, not sent. */
void acl_flow_disconnected(struct acl_flow *f, uint16_t handle);

#endif
