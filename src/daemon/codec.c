/* SPDX-License-Identifier: MIT */
#include "daemon/codec.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/macro.h"

#if HAVE_LC3
#include <lc3.h>
#endif

struct codec {
	struct codec_config cfg;
	uint32_t samples;
	uint32_t octets;
	uint64_t delay_ns;
#if HAVE_LC3
	lc3_encoder_t enc;
#endif
	void *mem; /* the LC3 encoder's state, pointer-aligned (lc3.h) */
};

static int frame_samples(uint32_t frame_us, uint32_t rate_hz)
{
	if (frame_us != 10000 && frame_us != 7500) {
		return -EINVAL;
	}
	if (rate_hz != 8000 && rate_hz != 16000 && rate_hz != 24000 &&
	    rate_hz != 32000 && rate_hz != 48000) {
		return -EINVAL;
	}
	return (int)((uint64_t)rate_hz * frame_us / 1000000u);
}

int codec_lc3_octets(uint32_t frame_us, uint32_t bitrate_bps)
{
#if HAVE_LC3
	int n;

	if (frame_us != 10000 && frame_us != 7500) {
		return -EINVAL;
	}
	if (bitrate_bps < LC3_MIN_BITRATE || bitrate_bps > LC3_MAX_BITRATE) {
		return -EINVAL;
	}
	n = lc3_frame_bytes((int)frame_us, (int)bitrate_bps);
	return n < 0 ? -EINVAL : n;
#else
	return -ENOTSUP;
#endif
}

int codec_new(const struct codec_config *c, struct codec **ret)
{
	struct codec *k;
	int n, o;

	if (!c || !ret) {
		return -EINVAL;
	}
	n = frame_samples(c->frame_us, c->rate_hz);
	if (n < 0 || (c->kind != CODEC_PCM && c->kind != CODEC_LC3)) {
		return -EINVAL;
	}
	o = 0;
	switch (c->kind) {
	case CODEC_PCM:
		o = 2 * n;
		break;
	case CODEC_LC3:
		o = codec_lc3_octets(c->frame_us, c->bitrate_bps);
		if (o < 0) {
			return o;
		}
		break;
	}

	k = calloc(1, sizeof(*k));
	if (!k) {
		return -ENOMEM;
	}
	k->cfg = *c;
	k->samples = (uint32_t)n;
	k->octets = (uint32_t)o;
	k->delay_ns = (uint64_t)c->frame_us * 1000u;

#if HAVE_LC3
	if (c->kind == CODEC_LC3) {
		unsigned sz = lc3_encoder_size((int)c->frame_us,
					       (int)c->rate_hz);
		int d = lc3_delay_samples((int)c->frame_us, (int)c->rate_hz);

		/* malloc's alignment covers lc3.h's "aligned to pointer
		 * type" requirement. */
		k->mem = sz ? malloc(sz) : NULL;
		if (!k->mem) {
			free(k);
			return sz ? -ENOMEM : -EINVAL;
		}
		k->enc = lc3_setup_encoder((int)c->frame_us, (int)c->rate_hz,
					   0, k->mem);
		if (!k->enc || d < 0) {
			free(k->mem);
			free(k);
			return -EINVAL;
		}
		k->delay_ns += (uint64_t)d * 1000000000u / c->rate_hz;
	}
#else
	if (c->kind == CODEC_LC3) {
		free(k);
		return -ENOTSUP;
	}
#endif
	*ret = k;
	return 0;
}

struct codec *codec_free(struct codec *c)
{
	if (!c) {
		return NULL;
	}
	free(c->mem);
	free(c);
	return NULL;
}

enum codec_kind codec_get_kind(const struct codec *c)
{
	return c->cfg.kind;
}

uint32_t codec_frame_samples(const struct codec *c)
{
	return c->samples;
}

uint32_t codec_frame_octets(const struct codec *c)
{
	return c->octets;
}

uint64_t codec_delay_ns(const struct codec *c)
{
	return c->delay_ns;
}

static int16_t f32_to_s16(float v)
{
	long l;

	if (!(v > -1.0f)) {
		return v <= -1.0f ? INT16_MIN : 0;
	}
	if (v >= 1.0f) {
		return INT16_MAX;
	}
	l = lrintf(v * 32768.0f);
	return (int16_t)MIN(l, 32767L);
}

/* The wire format of PCM frames is S16 little-endian (ttws-link(7)). */
static void encode_pcm(const struct codec *c, enum codec_pcm fmt,
		       const void *pcm, uint8_t *out)
{
	const uint8_t *in = pcm;
	uint32_t i;
	int16_t s;
	float f;

	for (i = 0; i < c->samples; i++) {
		if (fmt == CODEC_PCM_S16) {
			memcpy(&s, in + 2 * (size_t)i, sizeof(s));
		} else {
			memcpy(&f, in + 4 * (size_t)i, sizeof(f));
			s = f32_to_s16(f);
		}
		out[2 * i] = (uint8_t)((uint16_t)s & 0xff);
		out[2 * i + 1] = (uint8_t)((uint16_t)s >> 8);
	}
}

int codec_encode(struct codec *c, enum codec_pcm fmt, const void *pcm,
		 void *out, size_t cap, size_t *ret_len)
{
	if (!pcm || !out || (fmt != CODEC_PCM_S16 && fmt != CODEC_PCM_F32)) {
		return -EINVAL;
	}
	if (cap < c->octets) {
		return -ENOBUFS;
	}
	switch (c->cfg.kind) {
	case CODEC_PCM:
		encode_pcm(c, fmt, pcm, out);
		break;
	case CODEC_LC3:
#if HAVE_LC3
		if (lc3_encode(c->enc,
			       fmt == CODEC_PCM_S16 ? LC3_PCM_FORMAT_S16 :
						      LC3_PCM_FORMAT_FLOAT,
			       pcm, 1, (int)c->octets, out) < 0) {
			return -EINVAL;
		}
		break;
#else
		return -ENOTSUP;
#endif
	}
	*ret_len = c->octets;
	return 0;
}
