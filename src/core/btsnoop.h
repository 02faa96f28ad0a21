/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_BTSNOOP_H
#define TTWS_CORE_BTSNOOP_H

/*
 * btsnoop capture encoder (the format of RFC 1761 "snoop", as Wireshark
 * and BlueZ btmon read it): a 16-octet file header, then one record per
 * packet. Pure: bytes into a caller buffer; the daemon writes them to a
 * file. All integers are big-endian.
 *
 * File header: "btsnoop\0", version (4) = 1, datalink (4) = 1002, HCI
 * UART (H4): each record's data is an H4 frame, indicator octet first.
 *
 * Record header (24 octets): original length (4), included length (4),
 * flags (4), cumulative drops (4), timestamp (8, signed) in microseconds
 * since midnight 1 January 0 AD (nominal Gregorian). Flags: bit 0
 * direction (0 sent by the host, 1 received by it), bit 1 (0 data, 1
 * command or event).
 *
 * On the timestamp: the format's own text gives 0x00E03AB44A676000 as
 * the value of midnight 1 January *2000* AD, and that is how BlueZ
 * (btmon, hcidump) and Wireshark read it: unix_s = (ts -
 * 0x00E03AB44A676000) / 1e6 + 946684800. It is not the Unix epoch; using
 * it as one puts every packet 30 years late. The Unix epoch is
 * 0x00E03AB44A676000 - 946684800 * 10^6 = 0x00DCDDB30F2F8000.
 */

#include <stddef.h>
#include <stdint.h>

#define BTSNOOP_HDR_SIZE 16
#define BTSNOOP_REC_HDR_SIZE 24
#define BTSNOOP_VERSION 1
#define BTSNOOP_DATALINK_H4 1002
/* Timestamps of midnight 1 January 2000 and 1970, microseconds since 0 AD. */
#define BTSNOOP_TS_2000_US INT64_C(0x00E03AB44A676000)
#define BTSNOOP_TS_UNIX_EPOCH_US INT64_C(0x00DCDDB30F2F8000)

enum btsnoop_dir {
	BTSNOOP_SENT = 0,     /* host to controller */
	BTSNOOP_RECEIVED = 1, /* controller to host */
};

#define BTSNOOP_FLAG_RECEIVED 0x1
#define BTSNOOP_FLAG_CMD_EVT 0x2

struct btsnoop_rec {
	enum btsnoop_dir dir;
	uint32_t drops;      /* packets lost since the capture began */
	int64_t ts_unix_us;  /* wall-clock time, microseconds since 1970 */
	size_t snaplen;      /* keep at most this many octets; 0: all */
};

/* The file header. Returns 0 and *ret_len = 16, or -ENOBUFS. */
int btsnoop_encode_header(uint8_t *buf, size_t cap, size_t *ret_len);

/* Flags for an H4 frame of indicator type in direction dir. */
uint32_t btsnoop_flags(uint8_t type, enum btsnoop_dir dir);

/*
 * One record for the H4 frame (indicator + HCI packet, len octets, at
 * least 1) into buf: header, then the frame, truncated to rec->snaplen
 * when that is set (the original length still says len). The frame may
 * already sit at buf + BTSNOOP_REC_HDR_SIZE (nothing is copied) or
 * overlap buf otherwise (moved as by memmove()). Returns 0 and *ret_len,
 * -EINVAL (len 0, len over UINT32_MAX, dir out of range, a time before
 * year 0 or past the 64-bit range) or -ENOBUFS; nothing written on error.
 */
int btsnoop_encode_record(const struct btsnoop_rec *rec,
			  const uint8_t *frame, size_t len, uint8_t *buf,
			  size_t cap, size_t *ret_len);

#endif
