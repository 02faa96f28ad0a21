/* SPDX-License-Identifier: MIT */
#ifndef TTWS_SIM_AUDIOCHECK_PRIVATE_H
#define TTWS_SIM_AUDIOCHECK_PRIVATE_H

/*
 * What audiocheck.c (the stimulus, finding the opening lag, the measure
 * between the ears) and audiowalk.c (the walk along one ear: slips,
 * inserted silence, resyncs) share. Not for other modules: they see
 * sim/audiocheck.h only.
 */

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/audiocheck.h"

/* The stimulus's chirps (audiocheck_sample()). */
#define AC_CHIRP_LEN 960u /* 20 ms */
#define AC_CHIRP_EVERY 24000u /* 0.5 s */

/* Per 0.5 s chirp period of the input (from its first non-zero sample):
 * the walk's lag summed over the samples with signal compared, how many,
 * and whether the lag jumped there (silence, resync). */
struct ac_period {
	double lag_sum;
	uint64_t count;
	bool skipped;
};

struct ac_periods {
	size_t first; /* input index where period 0 starts */
	size_t n;
	struct ac_period *p;
};

/* Normalized correlation from the sums (0 when either side is silent). */
static inline double ac_norm(double xy, double xx, double yy)
{
	return xx > 0 && yy > 0 ? xy / sqrt(xx * yy) : 0.0;
}

/* audiocheck.c */

/* Normalized correlation of input channel ch [i0, i1) (in: interleaved
 * stereo) with out (out_n mono samples) at lag. */
double ac_corr(const int16_t *in, unsigned ch, size_t i0, size_t i1,
	       const int16_t *out, size_t out_n, int64_t lag);

/* audiowalk.c */

/*
 * Walk input channel ch (in: in_n interleaved stereo frames) and the
 * output y (out_n samples) together from e->lag on: adds to e's counts,
 * sets its correlations, and adds to pp's periods (p[] allocated by the
 * caller, covering the input to its end).
 */
void ac_walk(const int16_t *in, size_t in_n, unsigned ch, const int16_t *y,
	     size_t out_n, struct audiocheck_ear *e, struct ac_periods *pp);

#endif
