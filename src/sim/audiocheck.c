/* SPDX-License-Identifier: MIT */
#include "sim/audiocheck.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/audiocheck_private.h"

#define AC_TONE_AMP 0.24
#define AC_CHIRP_AMP 0.24
#define AC_TONE_START 4800u    /* the opening chirp plays alone 100 ms */
#define AC_F_LOW 500.0
#define AC_F_HIGH 5000.0
/* Alignment: the opening chirp (plus a little silence before it) is
 * searched for within this many samples of the first loud output sample,
 * which finds it whatever the codec's delay or pre-echo. */
#define AC_SEG_LEN 1024
#define AC_SEARCH 2048
#define AC_ONSET_LEVEL 200

static const double ac_tone_hz[2] = { 440.0, 660.0 };

/* Chirp sample j (0..AC_CHIRP_LEN) of channel ch: up on the left, down on
 * the right, so the two channels never correlate. Hann-windowed. */
static double ac_chirp(unsigned ch, uint64_t j)
{
	double t = (double)j / AUDIOCHECK_RATE;
	double dur = (double)AC_CHIRP_LEN / AUDIOCHECK_RATE;
	double f0 = ch == 0 ? AC_F_LOW : AC_F_HIGH;
	double f1 = ch == 0 ? AC_F_HIGH : AC_F_LOW;
	double w = sin(M_PI * (double)j / AC_CHIRP_LEN);

	/* Phase of a linear sweep: 2 pi (f0 t + (f1 - f0) t^2 / (2 dur)). */
	return w * w *
	       sin(2.0 * M_PI * (f0 * t + (f1 - f0) * t * t / (2.0 * dur)));
}

int16_t audiocheck_sample(unsigned ch, uint64_t k)
{
	/* The right ear's periodic chirps sit between the left's. */
	uint64_t off = ch == 0 ? 0 : AC_CHIRP_EVERY / 2;
	double v = 0.0;

	if (k < AC_CHIRP_LEN) {
		v += AC_CHIRP_AMP * ac_chirp(ch, k);
	} else if (k >= AC_CHIRP_EVERY &&
		   (k - off) % AC_CHIRP_EVERY < AC_CHIRP_LEN && k >= off) {
		v += AC_CHIRP_AMP * ac_chirp(ch, (k - off) % AC_CHIRP_EVERY);
	}
	if (k >= AC_TONE_START) {
		v += AC_TONE_AMP *
		     sin(2.0 * M_PI * ac_tone_hz[ch & 1] * (double)k /
			 AUDIOCHECK_RATE);
	}
	return (int16_t)lrint(v * 32768.0);
}

int audiocheck_generate(double seconds, double lead_s, double tail_s,
			int16_t **ret_pcm, size_t *ret_frames)
{
	size_t lead, n, tail, i;
	int16_t *pcm;

	if (!(seconds > 0) || !(lead_s >= 0) || !(tail_s >= 0) ||
	    seconds + lead_s + tail_s > 3600) {
		return -EINVAL;
	}
	lead = (size_t)(lead_s * AUDIOCHECK_RATE);
	n = (size_t)(seconds * AUDIOCHECK_RATE);
	tail = (size_t)(tail_s * AUDIOCHECK_RATE);
	pcm = calloc(2 * (lead + n + tail), sizeof(*pcm));
	if (!pcm) {
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		pcm[2 * (lead + i)] = audiocheck_sample(0, i);
		pcm[2 * (lead + i) + 1] = audiocheck_sample(1, i);
	}
	*ret_pcm = pcm;
	*ret_frames = lead + n + tail;
	return 0;
}

/* Normalized correlation of input channel ch [i0, i1) with out at lag. */
double ac_corr(const int16_t *in, unsigned ch, size_t i0, size_t i1,
	       const int16_t *out, size_t out_n, int64_t lag)
{
	double xy = 0, xx = 0, yy = 0;
	size_t i;

	for (i = i0; i < i1; i++) {
		int64_t j = (int64_t)i + lag;
		double x = in[2 * i + ch], y;

		if (j < 0 || (uint64_t)j >= out_n) {
			/* Missing output counts against the match. */
			xx += x * x;
			continue;
		}
		y = out[j];
		xy += x * y;
		xx += x * x;
		yy += y * y;
	}
	return ac_norm(xy, xx, yy);
}

static void ac_ear(const int16_t *in, size_t in_n, size_t first, unsigned ch,
		   const int16_t *y, size_t out_n, struct audiocheck_ear *e,
		   struct ac_periods *pp)
{
	size_t seg0 = first > 16 ? first - 16 : 0;
	size_t seg1 = seg0 + AC_SEG_LEN < in_n ? seg0 + AC_SEG_LEN : in_n;
	size_t onset = 0;
	int64_t guess, lag, best_lag = 0;
	double c, best = -2.0;

	memset(e, 0, sizeof(*e));
	while (onset < out_n && abs(y[onset]) < AC_ONSET_LEVEL) {
		onset++;
	}
	if (onset == out_n) {
		return;
	}
	/* The input's first loud sample, for the same level. */
	while (first < in_n && abs(in[2 * first + ch]) < AC_ONSET_LEVEL) {
		first++;
	}
	guess = (int64_t)onset - (int64_t)first;
	for (lag = guess - AC_SEARCH; lag <= guess + AC_SEARCH; lag++) {
		c = ac_corr(in, ch, seg0, seg1, y, out_n, lag);
		if (c > best) {
			best = c;
			best_lag = lag;
		}
	}
	if (best < 0.5) {
		return;
	}
	e->found = true;
	e->lag = best_lag;
	ac_walk(in, in_n, ch, y, out_n, e, pp);
}

/*
 * The per-period measure between the ears: periods where each ear
 * compared at least half the samples (a period an ear skipped as silence
 * or never played says nothing about timing).
 */
static void ac_inter_ear(const struct ac_periods pp[2],
			 struct audiocheck_result *r)
{
	double sum = 0;
	size_t p;

	for (p = 0; p < pp[0].n; p++) {
		const struct ac_period *a = &pp[0].p[p], *b = &pp[1].p[p];
		double diff;

		if (2 * a->count < AC_CHIRP_EVERY || a->skipped ||
		    2 * b->count < AC_CHIRP_EVERY || b->skipped) {
			continue;
		}
		diff = a->lag_sum / (double)a->count -
		       b->lag_sum / (double)b->count;
		sum += diff;
		r->inter_ear_periods++;
		if (fabs(diff) > r->inter_ear_lag_max_mean) {
			r->inter_ear_lag_max_mean = fabs(diff);
		}
	}
	r->inter_ear_lag_max = llround(r->inter_ear_lag_max_mean);
	if (r->inter_ear_periods > 0) {
		r->inter_ear_lag_mean = sum / (double)r->inter_ear_periods;
	}
}

int audiocheck_compare(const int16_t *in, size_t in_frames,
		       const int16_t *const out[2], const size_t out_frames[2],
		       struct audiocheck_result *ret)
{
	struct audiocheck_result r;
	struct ac_periods pp[2];
	size_t first = 0;
	unsigned ch;
	int rc = -ENOMEM;

	memset(&r, 0, sizeof(r));
	memset(pp, 0, sizeof(pp));
	/* Both opening chirps start on the same input sample. */
	while (first < in_frames && in[2 * first] == 0 &&
	       in[2 * first + 1] == 0) {
		first++;
	}
	if (first == in_frames) {
		return -EINVAL;
	}
	for (ch = 0; ch < 2; ch++) {
		pp[ch].first = first;
		pp[ch].n = (in_frames - first) / AC_CHIRP_EVERY + 1;
		pp[ch].p = calloc(pp[ch].n, sizeof(*pp[ch].p));
		if (!pp[ch].p) {
			goto out;
		}
	}
	for (ch = 0; ch < 2; ch++) {
		ac_ear(in, in_frames, first, ch, out[ch], out_frames[ch],
		       &r.ear[ch], &pp[ch]);
	}
	r.inter_ear_lag = r.ear[0].lag - r.ear[1].lag;
	if (r.ear[0].found && r.ear[1].found) {
		ac_inter_ear(pp, &r);
	}
	*ret = r;
	rc = 0;
out:
	for (ch = 0; ch < 2; ch++) {
		free(pp[ch].p);
	}
	return rc;
}
