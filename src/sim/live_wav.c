/* SPDX-License-Identifier: MIT */
/*
 * --wav-prefix: what each earbud of the live mode played, decoded (sim/
 * lc3dec) into a mono 48 kHz WAV at the instants it played it, so that
 * --compare-audio (sim/audiocheck) can check it against the input.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/proto.h"
#include "sim/lc3dec.h"
#include "sim/live_private.h"
#include "sim/simear.h"
#include "sim/wav.h"

/* A gap in what an earbud played is filled with concealment for up to
 * this many frames in the WAV; the rest of a longer one (a reconnect, a
 * restart) with silence, without decoding. */
#define LIVE_WAV_MAX_CONCEAL 100u
#define LIVE_WAV_MAX_GAP (UINT64_C(48000) * 3600) /* an hour of samples */

/*
 * The decoder for the session HELLO announces, (re)made when the codec or
 * the frame changes. Returns LINK_HELLO_OK, LINK_HELLO_E_PARAMS or
 * LINK_HELLO_E_CODEC.
 */
uint8_t live_decoder_setup(struct live_ear *e, const struct link_hello *hl)
{
	struct lc3dec_config c = {
		.kind = hl->codec == LINK_CODEC_LC3 ? LC3DEC_LC3 : LC3DEC_PCM,
		.rate_hz = hl->sample_rate_hz,
		.frame_us = hl->frame_us,
	};
	uint32_t n = (uint32_t)((uint64_t)c.rate_hz * c.frame_us / 1000000);

	/* What this earbud can play: one channel, 48 kHz, 7.5 or 10 ms,
	 * and octets that fit the codec (LC3 spec v1.0, 3.2.5: 20..400). */
	if (hl->channels != 1 || c.rate_hz != LIVE_RATE ||
	    (c.frame_us != 7500 && c.frame_us != 10000) ||
	    (c.kind == LC3DEC_PCM && hl->octets_per_frame != 2 * n) ||
	    (c.kind == LC3DEC_LC3 && (hl->octets_per_frame < 20 ||
				      hl->octets_per_frame > 400))) {
		return LINK_HELLO_E_PARAMS;
	}
	if (!e->pair->po->wav_prefix) {
		return LINK_HELLO_OK;
	}
	if (e->dec && e->dec_cfg.kind == c.kind &&
	    e->dec_cfg.frame_us == c.frame_us) {
		return LINK_HELLO_OK;
	}
	e->dec = lc3dec_free(e->dec);
	if (lc3dec_new(&c, &e->dec) < 0) {
		return LINK_HELLO_E_CODEC;
	}
	e->dec_cfg = c;
	return LINK_HELLO_OK;
}

/* A frame's slot in the WAV: samples of 48 kHz host time since the
 * model's origin, which every ear of this process shares. */
static uint64_t live_wav_index(uint64_t model_ns)
{
	return (uint64_t)llround((double)(model_ns - LIVE_MODEL_T0_NS) *
				 LIVE_RATE / 1e9);
}

/*
 * Fill the WAV up to sample idx: whole frames missed are concealed (LC3's
 * PLC; silence for PCM) up to LIVE_WAV_MAX_CONCEAL of them, then silence;
 * a gap shorter than a frame (the earbud's clock runs slower than the
 * host's, so its frames land a little further apart) repeats the last
 * sample.
 */
static void live_wav_fill(struct live_ear *e, uint64_t idx)
{
	uint32_t n = lc3dec_frame_samples(e->dec);
	uint64_t gap = idx - e->wav_pos, frames = gap / n;

	if (!e->wav_started) {
		/* Before the first frame: silence, nothing concealed. */
		frames = 0;
		gap = idx - e->wav_pos;
		e->wav_started = true;
	}
	for (uint64_t k = 0; k < frames; k++) {
		if (k < LIVE_WAV_MAX_CONCEAL) {
			lc3dec_decode(e->dec, NULL, 0, e->dec_pcm);
			e->concealed++;
		} else if (k == LIVE_WAV_MAX_CONCEAL) {
			memset(e->dec_pcm, 0, sizeof(e->dec_pcm));
		}
		wav_write(e->wav, e->dec_pcm, n);
	}
	gap -= frames * n;
	for (uint64_t k = 0; k < gap; k++) {
		wav_write(e->wav, &e->wav_last, 1);
	}
	e->wav_pos = idx;
}

/*
 * Keep what the earbud played at the instant it played it: frame r's
 * samples start at its true render instant (the acoustic start, sample
 * grid included), on a time line both ears share, so an offset of one
 * sample between the ears shows as a lag of one sample. A frame that came
 * after its presentation time (or to a frozen earbud) was not there when
 * its turn came: the earbud played its concealment there (LC3's PLC;
 * silence for PCM), as for a lost one. A frame starting before the end of
 * the previous one (the earbud's clock runs faster) overwrites nothing:
 * its first samples are dropped.
 */
void live_wav_frame(struct live_ear *e, const struct simear_render *r,
		    bool missing)
{
	uint64_t at = missing ? r->pts_host_ns : r->render_host_ns;
	uint64_t idx, skip;
	uint32_t n;

	if (!e->wav || !e->dec || at < LIVE_MODEL_T0_NS) {
		return;
	}
	n = lc3dec_frame_samples(e->dec);
	idx = live_wav_index(at);
	if (idx + n <= e->wav_pos ||
	    (idx > e->wav_pos && idx - e->wav_pos > LIVE_WAV_MAX_GAP)) {
		return;
	}
	if (idx > e->wav_pos) {
		live_wav_fill(e, idx);
	}
	if (lc3dec_decode(e->dec, missing ? NULL : r->audio->data,
			  missing ? 0 : r->audio->data_len, e->dec_pcm) != 0 ||
	    missing) {
		e->concealed++;
	} else {
		e->decoded++;
	}
	skip = e->wav_pos - idx;
	wav_write(e->wav, e->dec_pcm + skip, n - (uint32_t)skip);
	e->wav_last = e->dec_pcm[n - 1];
	e->wav_pos = idx + n;
}

/* --wav-prefix P (the pair's): P-left.wav and P-right.wav, mono S16 at
 * 48 kHz. */
int live_wav_open(struct live_pair *p)
{
	char path[4096];
	unsigned i;
	int r;

	for (i = 0; i < SCENARIO_SIDES; i++) {
		if (!p->ear[i].on) {
			continue;
		}
		snprintf(path, sizeof(path), "%s-%s.wav", p->po->wav_prefix,
			 scenario_side_name(i));
		r = wav_create(path, LIVE_RATE, 1, &p->ear[i].wav);
		if (r < 0) {
			fprintf(stderr, "ttws-earbud-sim: %s: %s\n", path,
				strerror(-r));
			return r;
		}
	}
	return 0;
}
