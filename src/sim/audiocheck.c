/* SPDX-License-Identifier: MIT */
#include "sim/audiocheck.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define AC_TONE_AMP 0.24
#define AC_CHIRP_AMP 0.24
#define AC_CHIRP_LEN 960u      /* 20 ms */
#define AC_TONE_START 4800u    /* the opening chirp plays alone 100 ms */
#define AC_CHIRP_EVERY 24000u  /* 0.5 s */
#define AC_F_LOW 500.0
#define AC_F_HIGH 5000.0
/* Alignment: the opening chirp (plus a little silence before it) is
 * searched for within this many samples of the first loud output sample,
 * which finds it whatever the codec's delay or pre-echo. */
#define AC_SEG_LEN 1024
#define AC_SEARCH 2048
#define AC_ONSET_LEVEL 200
/* A run of zeros this long where the input has signal is inserted
 * silence, not wrong samples: PipeWire plays whole quanta of silence (480
 * samples, one frame, in ttws.sink's graph) when a client misses a cycle.
 * A codec's overlap shortens the run by less than half a quantum (LC3:
 * 2.5 ms at most), so the skip is the run rounded to whole quanta. */
#define AC_QUANTUM 480
#define AC_SILENCE_RUN (AC_QUANTUM / 2)

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
static double ac_corr(const int16_t *in, unsigned ch, size_t i0, size_t i1,
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
	if (xx <= 0 || yy <= 0) {
		return 0.0;
	}
	return xy / sqrt(xx * yy);
}

static size_t ac_zero_run(const int16_t *y, size_t j, size_t n)
{
	size_t k = j;

	while (k < n && y[k] == 0) {
		k++;
	}
	return k - j;
}

struct ac_sums {
	double xy, xx, yy, zy, zz;
};

static void ac_add(struct ac_sums *a, double x, double z, double y)
{
	a->xy += x * y;
	a->xx += x * x;
	a->yy += y * y;
	a->zy += z * y;
	a->zz += z * z;
}

static double ac_norm(double xy, double xx, double yy)
{
	return xx > 0 && yy > 0 ? xy / sqrt(xx * yy) : 0.0;
}

/* Normalized correlation of input channel ch from i and out from j, over
 * AC_LOOKAHEAD samples (or what there is). */
#define AC_LOOKAHEAD (2 * AC_QUANTUM)

static double ac_local(const int16_t *in, size_t in_n, unsigned ch, size_t i,
		       const int16_t *y, size_t out_n, size_t j)
{
	double xy = 0, xx = 0, yy = 0;
	size_t k;

	for (k = 0; k < AC_LOOKAHEAD && i + k < in_n && j + k < out_n; k++) {
		double x = in[2 * (i + k) + ch], v = y[j + k];

		xy += x * v;
		xx += x * x;
		yy += v * v;
	}
	return ac_norm(xy, xx, yy);
}

/*
 * A run of zeros at output j where input i has signal: silence inserted
 * before the input goes on (the input resumes after `skip` output
 * samples), or input replaced by silence in place (a frame the earbud
 * concealed with silence: the input resumes `run` samples on, on both
 * sides)? Whichever lines up better after the run.
 */
static bool ac_inserted(const int16_t *in, size_t in_n, unsigned ch, size_t i,
			const int16_t *y, size_t out_n, size_t j, size_t run,
			size_t skip)
{
	double ins = ac_local(in, in_n, ch, i, y, out_n, j + skip);
	double inplace = ac_local(in, in_n, ch, i + run, y, out_n, j + run);

	return ins > inplace + 0.1;
}

/*
 * Walk input channel ch and the output together from the lag on, sample
 * by sample, skipping inserted silence: count what differs and correlate
 * along the same path (with the other channel too, for routing).
 */
static void ac_walk(const int16_t *in, size_t in_n, unsigned ch,
		    const int16_t *y, size_t out_n, struct audiocheck_ear *e)
{
	struct ac_sums a = { 0 };
	size_t i = 0, run, skip;
	int64_t j = e->lag;

	for (; i < in_n && j < 0; i++, j++) {
		ac_add(&a, in[2 * i + ch], in[2 * i + (ch ^ 1)], 0);
		if (in[2 * i + ch] != 0) {
			e->mismatches++;
		}
	}
	while (i < in_n && (uint64_t)j < out_n) {
		int16_t x = in[2 * i + ch];

		if (y[j] == 0 && x != 0) {
			run = ac_zero_run(y, (size_t)j, out_n);
			skip = (run + AC_QUANTUM / 2) / AC_QUANTUM * AC_QUANTUM;
			if (run >= AC_SILENCE_RUN &&
			    ac_inserted(in, in_n, ch, i, y, out_n, (size_t)j,
					run, skip)) {
				e->inserted_silence += skip;
				j += (int64_t)skip;
				continue;
			}
		}
		ac_add(&a, x, in[2 * i + (ch ^ 1)], y[j]);
		e->compared++;
		if (y[j] != x) {
			e->mismatches++;
		}
		i++;
		j++;
	}
	/* Input the output never got to: lost unless silent. */
	for (; i < in_n; i++) {
		ac_add(&a, in[2 * i + ch], in[2 * i + (ch ^ 1)], 0);
		if (in[2 * i + ch] != 0) {
			e->mismatches++;
		}
	}
	e->corr = ac_norm(a.xy, a.xx, a.yy);
	e->cross_corr = ac_norm(a.zy, a.zz, a.yy);
}

static void ac_ear(const int16_t *in, size_t in_n, size_t first, unsigned ch,
		   const int16_t *y, size_t out_n, struct audiocheck_ear *e)
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
	ac_walk(in, in_n, ch, y, out_n, e);
}

int audiocheck_compare(const int16_t *in, size_t in_frames,
		       const int16_t *const out[2], const size_t out_frames[2],
		       struct audiocheck_result *ret)
{
	struct audiocheck_result r;
	size_t first = 0;
	unsigned ch;

	memset(&r, 0, sizeof(r));
	/* Both opening chirps start on the same input sample. */
	while (first < in_frames && in[2 * first] == 0 &&
	       in[2 * first + 1] == 0) {
		first++;
	}
	if (first == in_frames) {
		return -EINVAL;
	}
	for (ch = 0; ch < 2; ch++) {
		ac_ear(in, in_frames, first, ch, out[ch], out_frames[ch],
		       &r.ear[ch]);
	}
	r.inter_ear_lag = r.ear[0].lag - r.ear[1].lag;
	*ret = r;
	return 0;
}
