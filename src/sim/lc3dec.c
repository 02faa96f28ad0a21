/* SPDX-License-Identifier: MIT */
#include "sim/lc3dec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#if HAVE_LC3
#include <lc3.h>
#endif

struct lc3dec {
	struct lc3dec_config cfg;
	uint32_t samples;
	void *mem;
#if HAVE_LC3
	lc3_decoder_t dec;
#endif
	struct lc3dec_stats st;
};

int lc3dec_new(const struct lc3dec_config *c, struct lc3dec **ret)
{
	struct lc3dec *d;

	if (!c || !ret || (c->frame_us != 10000 && c->frame_us != 7500) ||
	    (c->kind != LC3DEC_PCM && c->kind != LC3DEC_LC3)) {
		return -EINVAL;
	}
	if (c->rate_hz != 8000 && c->rate_hz != 16000 &&
	    c->rate_hz != 24000 && c->rate_hz != 32000 &&
	    c->rate_hz != 48000) {
		return -EINVAL;
	}
#if !HAVE_LC3
	if (c->kind == LC3DEC_LC3) {
		return -ENOTSUP;
	}
#endif
	d = calloc(1, sizeof(*d));
	if (!d) {
		return -ENOMEM;
	}
	d->cfg = *c;
	d->samples = (uint32_t)((uint64_t)c->rate_hz * c->frame_us / 1000000u);
#if HAVE_LC3
	if (c->kind == LC3DEC_LC3) {
		unsigned sz = lc3_decoder_size((int)c->frame_us,
					       (int)c->rate_hz);

		d->mem = sz ? malloc(sz) : NULL;
		if (d->mem) {
			d->dec = lc3_setup_decoder((int)c->frame_us,
						   (int)c->rate_hz, 0, d->mem);
		}
		if (!d->mem || !d->dec) {
			lc3dec_free(d);
			return -ENOMEM;
		}
	}
#endif
	*ret = d;
	return 0;
}

struct lc3dec *lc3dec_free(struct lc3dec *d)
{
	if (!d) {
		return NULL;
	}
	free(d->mem);
	free(d);
	return NULL;
}

uint32_t lc3dec_frame_samples(const struct lc3dec *d)
{
	return d->samples;
}

static int decode_pcm(struct lc3dec *d, const uint8_t *in, size_t len,
		      int16_t *pcm)
{
	uint32_t i;

	if (!in || len != 2 * (size_t)d->samples) {
		if (in) {
			d->st.bad++;
		}
		memset(pcm, 0, 2 * (size_t)d->samples);
		d->st.plc++;
		return 1;
	}
	for (i = 0; i < d->samples; i++) {
		pcm[i] = (int16_t)(uint16_t)(in[2 * i] |
					     (uint16_t)in[2 * i + 1] << 8);
	}
	d->st.frames++;
	return 0;
}

int lc3dec_decode(struct lc3dec *d, const void *payload, size_t len,
		  int16_t *pcm)
{
	if (!d || !pcm) {
		return -EINVAL;
	}
	switch (d->cfg.kind) {
	case LC3DEC_PCM:
		return decode_pcm(d, payload, len, pcm);
	case LC3DEC_LC3:
#if HAVE_LC3
	{
		int r;

		/* LC3 spec v1.0, 3.2.5: 20..400 octets; anything else is
		 * treated as lost rather than handed to the decoder. */
		if (payload && (len < LC3_MIN_FRAME_BYTES ||
				len > LC3_MAX_FRAME_BYTES)) {
			d->st.bad++;
			payload = NULL;
		}
		r = lc3_decode(d->dec, payload, payload ? (int)len : 0,
			       LC3_PCM_FORMAT_S16, pcm, 1);
		if (r < 0) {
			return -EINVAL;
		}
		if (r == 1 || !payload) {
			d->st.plc++;
			return 1;
		}
		d->st.frames++;
		return 0;
	}
#else
		return -ENOTSUP;
#endif
	}
	return -EINVAL;
}

void lc3dec_get_stats(const struct lc3dec *d, struct lc3dec_stats *ret)
{
	*ret = d->st;
}
