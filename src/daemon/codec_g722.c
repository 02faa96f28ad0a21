/* SPDX-License-Identifier: MIT */
/*
 * G.722 through libspandsp (codec_g722.h). The state lives in our own
 * struct (spandsp's private layout, which its headers publish for this
 * use), so that a reset is an init in place and nothing is allocated
 * after g722enc_new().
 */
#include "daemon/codec_g722.h"

#include <errno.h>
#include <stdlib.h>

#include <spandsp/telephony.h>
#include <spandsp/g722.h>
#include <spandsp/private/g722.h>

struct g722enc {
	g722_encode_state_t st;
};

int g722enc_new(struct g722enc **ret)
{
	struct g722enc *e = calloc(1, sizeof(*e));

	if (!e) {
		return -ENOMEM;
	}
	g722enc_reset(e);
	*ret = e;
	return 0;
}

struct g722enc *g722enc_free(struct g722enc *e)
{
	free(e);
	return NULL;
}

void g722enc_reset(struct g722enc *e)
{
	/* 64 kbit/s, 16 kHz input, unpacked octets (options 0). */
	g722_encode_init(&e->st, 64000, 0);
}

int g722enc_frame(struct g722enc *e, const int16_t pcm[G722_FRAME_SAMPLES],
		  uint8_t out[G722_FRAME_OCTETS])
{
	int n = g722_encode(&e->st, out, pcm, G722_FRAME_SAMPLES);

	return n == G722_FRAME_OCTETS ? 0 : -EIO;
}
