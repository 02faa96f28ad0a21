/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_PROTO_H
#define TTWS_CORE_PROTO_H

/*
 * The ttws-link codec: bytes <-> struct link_msg (include/ttws/link.h).
 * Bytes in, struct out; the socket lives elsewhere. Pure: no allocation,
 * no syscalls, no logging; every function is reentrant.
 *
 * Decode errors, one per failure so that each can have its own counter.
 * Checks run in this order and the first failure is returned:
 *
 *	-ENODATA          empty datagram (len == 0)
 *	-EBADMSG          shorter than the 8-octet header
 *	-EILSEQ           magic is not LINK_MAGIC: not a ttws-link message
 *	-EPROTONOSUPPORT  header version is not LINK_VERSION
 *	-EMSGSIZE         datagram over LINK_MSG_MAX octets, or length field
 *	                  over LINK_PAYLOAD_MAX
 *	-EOVERFLOW        length field runs past the datagram (truncated
 *	                  payload)
 *	-E2BIG            octets after the payload (trailing bytes)
 *	-ENOMSG           unknown message type
 *	-EPROTO           payload size is not the size of that type
 *	-ERANGE           AUDIO data_len disagrees with the payload size
 *
 * Framing is checked before the type, so a well-framed message of a type
 * this version does not know is always -ENOMSG, never a size error: the
 * receiver can tell "newer peer" from "corrupt peer".
 *
 * Two more kinds of dropped message share the table (and so the per-kind
 * counters of the receiver), though proto_decode() never returns them:
 * they are about a well-formed message's place in the session, which the
 * receiver (daemon/link) judges:
 *
 *	-ESTALE           out of order: behind what it must follow (its
 *	                  seq further behind than core/protoseq's window, a
 *	                  SYNC_FOLLOWUP before its SYNC_RESP, an answer to
 *	                  an exchange that was superseded, a CONN_UPDATE
 *	                  older than the one in force)
 *	-EEXIST           replayed: taken already (a seq seen before, a
 *	                  second answer to one request, a second report of
 *	                  one frame)
 *
 * The decoder checks structure only. Field values (codec, role, a pts in
 * the past, a sequence gap) are the session's business: see ttws-link(7).
 * Reserved fields and flag bits are ignored on decode and written as 0 on
 * encode, so decode(encode(m)) == m and encode(decode(b)) == b up to those.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ttws/link.h"

/* Number of distinct kinds above (decode errors and the two session
 * kinds), for an array of counters. */
#define PROTO_N_ERRORS 12

/*
 * Decode one datagram of len octets at buf into *ret. Never reads outside
 * [buf, buf + len). For AUDIO, ret->audio.data points into buf (no copy):
 * it lives as long as buf does. Returns 0, or a negative errno from the
 * table above with *ret untouched. buf may be NULL when len is 0.
 */
int proto_decode(const uint8_t *buf, size_t len, struct link_msg *ret);

/*
 * Octets that m encodes to (header + payload), or 0 if m->hdr.type is not
 * a known type. For AUDIO this counts m->audio.data_len.
 */
size_t proto_encoded_size(const struct link_msg *m);

/*
 * Encode m into buf (cap octets). The encoder fills hdr.magic,
 * hdr.version and hdr.length itself and ignores what m holds there;
 * hdr.type, hdr.flags and hdr.seq are taken as given.
 * Returns 0 and *ret_len, or:
 *	-EINVAL    unknown type, or AUDIO data NULL with data_len > 0
 *	-EMSGSIZE  AUDIO data_len over LINK_AUDIO_DATA_MAX
 *	-ENOBUFS   cap too small
 * On error buf and *ret_len are untouched: nothing is written before every
 * check has passed.
 * AUDIO data may overlap buf: a codec frame encoded in place at offset
 * LINK_HEADER_SIZE + LINK_AUDIO_FIXED_SIZE is not copied at all, and any
 * other overlap is moved as by memmove() before the header is written.
 */
int proto_encode(const struct link_msg *m, uint8_t *buf, size_t cap,
		 size_t *ret_len);

/*
 * One encoder per message type, the same as proto_encode() with the type
 * set, for call sites that build one kind of message. seq and flags go to
 * the header.
 */
int proto_encode_hello(const struct link_hello *m, uint16_t seq,
		       uint8_t flags, uint8_t *buf, size_t cap,
		       size_t *ret_len);
int proto_encode_hello_ack(const struct link_hello_ack *m, uint16_t seq,
			   uint8_t flags, uint8_t *buf, size_t cap,
			   size_t *ret_len);
int proto_encode_sync_req(const struct link_sync_req *m, uint16_t seq,
			  uint8_t flags, uint8_t *buf, size_t cap,
			  size_t *ret_len);
int proto_encode_sync_resp(const struct link_sync_resp *m, uint16_t seq,
			   uint8_t flags, uint8_t *buf, size_t cap,
			   size_t *ret_len);
int proto_encode_sync_followup(const struct link_sync_followup *m,
			       uint16_t seq, uint8_t flags, uint8_t *buf,
			       size_t cap, size_t *ret_len);
int proto_encode_audio(const struct link_audio *m, uint16_t seq,
		       uint8_t flags, uint8_t *buf, size_t cap,
		       size_t *ret_len);
int proto_encode_render_report(const struct link_render_report *m,
			       uint16_t seq, uint8_t flags, uint8_t *buf,
			       size_t cap, size_t *ret_len);
int proto_encode_volume(const struct link_volume *m, uint16_t seq,
			uint8_t flags, uint8_t *buf, size_t cap,
			size_t *ret_len);
int proto_encode_stop(const struct link_stop *m, uint16_t seq, uint8_t flags,
		      uint8_t *buf, size_t cap, size_t *ret_len);
int proto_encode_status(const struct link_status *m, uint16_t seq,
			uint8_t flags, uint8_t *buf, size_t cap,
			size_t *ret_len);
int proto_encode_conn_update(const struct link_conn_update *m, uint16_t seq,
			     uint8_t flags, uint8_t *buf, size_t cap,
			     size_t *ret_len);

/*
 * Index in [0, PROTO_N_ERRORS) of a kind from the table above, in table
 * order, or -EINVAL for any other value.
 */
int proto_error_index(int err);

/*
 * The errno of the kind at index i (the inverse of proto_error_index()),
 * or 0 for i >= PROTO_N_ERRORS: for walking the counters.
 */
int proto_error_at(unsigned i);

/*
 * Short stable name of a kind ("empty", "short-header", "bad-magic",
 * "version", "too-long", "short-payload", "trailing", "unknown-type",
 * "bad-size", "audio-len", "out-of-order", "replayed"), usable as a
 * counter label; NULL for any other value.
 */
const char *proto_error_name(int err);

/* "HELLO", "SYNC_RESP", ...; NULL for an unknown type. */
const char *proto_type_name(uint8_t type);

/* Whether type is one this version knows. */
bool proto_type_known(uint8_t type);

/* Whether type is sent by the earbud (bit 6), known or not. */
bool proto_type_from_earbud(uint8_t type);

#endif
