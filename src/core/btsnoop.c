/* SPDX-License-Identifier: MIT */
/*
 * btsnoop encoder. Layout: btsnoop.h (RFC 1761 with the Bluetooth
 * datalink types, as BlueZ src/shared/btsnoop and Wireshark read it).
 */

#include <errno.h>
#include <string.h>

#include "core/btsnoop.h"

_Static_assert(BTSNOOP_TS_2000_US - BTSNOOP_TS_UNIX_EPOCH_US ==
		       INT64_C(946684800) * 1000000,
	       "the two epochs are 946684800 s apart");

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

int btsnoop_encode_header(uint8_t *buf, size_t cap, size_t *ret_len)
{
	static const uint8_t magic[8] = { 'b', 't', 's', 'n',
					  'o', 'o', 'p', '\0' };

	if (cap < BTSNOOP_HDR_SIZE) {
		return -ENOBUFS;
	}
	memcpy(buf, magic, sizeof(magic));
	put_be32(buf + 8, BTSNOOP_VERSION);
	put_be32(buf + 12, BTSNOOP_DATALINK_H4);
	*ret_len = BTSNOOP_HDR_SIZE;
	return 0;
}

uint32_t btsnoop_flags(uint8_t type, enum btsnoop_dir dir)
{
	uint32_t f = dir == BTSNOOP_RECEIVED ? BTSNOOP_FLAG_RECEIVED : 0;

	/* H4 indicators 0x01 (command) and 0x04 (event): Core 5.4, Vol 4,
	 * Part A, 2. */
	if (type == 0x01 || type == 0x04) {
		f |= BTSNOOP_FLAG_CMD_EVT;
	}
	return f;
}

int btsnoop_encode_record(const struct btsnoop_rec *rec,
			  const uint8_t *frame, size_t len, uint8_t *buf,
			  size_t cap, size_t *ret_len)
{
	size_t incl = len;
	uint32_t flags;
	int64_t ts;

	if (!frame || len == 0 || len > UINT32_MAX) {
		return -EINVAL;
	}
	if (rec->dir != BTSNOOP_SENT && rec->dir != BTSNOOP_RECEIVED) {
		return -EINVAL;
	}
	/* The format counts from year 0: nothing earlier is expressible. */
	if (rec->ts_unix_us < -BTSNOOP_TS_UNIX_EPOCH_US ||
	    rec->ts_unix_us > INT64_MAX - BTSNOOP_TS_UNIX_EPOCH_US) {
		return -EINVAL;
	}
	if (rec->snaplen > 0 && incl > rec->snaplen) {
		incl = rec->snaplen;
	}
	if (cap < BTSNOOP_REC_HDR_SIZE || cap - BTSNOOP_REC_HDR_SIZE < incl) {
		return -ENOBUFS;
	}

	/* Read the type before the frame may be moved over. */
	flags = btsnoop_flags(frame[0], rec->dir);
	ts = rec->ts_unix_us + BTSNOOP_TS_UNIX_EPOCH_US;

	if (frame != buf + BTSNOOP_REC_HDR_SIZE) {
		memmove(buf + BTSNOOP_REC_HDR_SIZE, frame, incl);
	}
	put_be32(buf, (uint32_t)len);
	put_be32(buf + 4, (uint32_t)incl);
	put_be32(buf + 8, flags);
	put_be32(buf + 12, rec->drops);
	put_be64(buf + 16, (uint64_t)ts);
	*ret_len = BTSNOOP_REC_HDR_SIZE + incl;
	return 0;
}
