/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the ttws-link decoder (src/core/proto.c).
 *
 * Beyond "does not crash" (libFuzzer hands an exactly sized buffer, so
 * ASan sees any read past it), every input checks:
 *   - a failure is one of the documented decode errors;
 *   - an accepted message re-encodes to the same length and to the same
 *     octets except the reserved ones (the decoder read every field);
 *   - the re-encoded message decodes to the same fields (round trip);
 *   - AUDIO data points inside the input, at its fixed offset;
 *   - one octet less of buffer is refused with -ENOBUFS;
 *   - the value check that follows decoding in the link
 *     (core/protorange) accepts it or names a field, nothing else.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/proto.h"
#include "core/protorange.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reserved octets of each payload: [from, to) from the payload start. */
static void reserved_range(uint8_t type, size_t *from, size_t *to)
{
	*from = *to = 0;
	switch ((enum link_type)type) {
	case LINK_HELLO:
	case LINK_HELLO_ACK:
		*from = 14;
		*to = 16;
		break;
	case LINK_SYNC_REQ:
	case LINK_SYNC_RESP:
	case LINK_SYNC_FOLLOWUP:
	case LINK_CONN_UPDATE:
		*from = 4;
		*to = 8;
		break;
	case LINK_AUDIO:
		*from = 18;
		*to = 20;
		break;
	case LINK_RENDER_REPORT:
		*from = 26;
		*to = 28;
		break;
	case LINK_VOLUME:
		*from = 3;
		*to = 4;
		break;
	case LINK_STOP:
		*from = 1;
		*to = 4;
		break;
	case LINK_STATUS:
		break;
	}
}

static uint8_t out[LINK_MSG_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct link_msg m, m2;
	size_t n = 0, from, to;
	int r;

	r = proto_decode(data, size, &m);
	if (r < 0) {
		if (proto_error_index(r) < 0) {
			abort();
		}
		return 0;
	}

	{
		const char *field = NULL;
		int rr = protorange_check(&m, &field);

		if (rr != 0 && (rr != -EDOM || !field)) {
			abort();
		}
	}
	if (m.hdr.type == LINK_AUDIO && m.audio.data_len > 0 &&
	    m.audio.data != data + LINK_HEADER_SIZE + LINK_AUDIO_FIXED_SIZE) {
		abort();
	}

	if (proto_encode(&m, out, sizeof(out), &n) < 0 || n != size ||
	    n != proto_encoded_size(&m)) {
		abort();
	}
	reserved_range(m.hdr.type, &from, &to);
	for (size_t i = 0; i < n; i++) {
		size_t off = i - LINK_HEADER_SIZE;

		if (i >= LINK_HEADER_SIZE && off >= from && off < to) {
			if (out[i] != 0) {
				abort();
			}
		} else if (out[i] != data[i]) {
			abort();
		}
	}

	if (proto_decode(out, n, &m2) < 0 || m2.hdr.type != m.hdr.type ||
	    m2.hdr.flags != m.hdr.flags || m2.hdr.seq != m.hdr.seq ||
	    m2.hdr.length != m.hdr.length) {
		abort();
	}
	/* Same octets in, same fields out: the payload decode is a function
	 * of the non-reserved octets, which were just shown equal. */
	if (m.hdr.type == LINK_AUDIO) {
		if (m2.audio.data_len != m.audio.data_len ||
		    m2.audio.frame_seq != m.audio.frame_seq ||
		    m2.audio.pts_ear_ns != m.audio.pts_ear_ns ||
		    (m.audio.data_len &&
		     memcmp(m2.audio.data, m.audio.data, m.audio.data_len))) {
			abort();
		}
	}

	if (proto_encode(&m, out, n - 1, &n) != -ENOBUFS) {
		abort();
	}
	return 0;
}
