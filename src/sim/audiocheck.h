/* SPDX-License-Identifier: MIT */
#ifndef TTWS_SIM_AUDIOCHECK_H
#define TTWS_SIM_AUDIOCHECK_H

/*
 * What the earbuds played against what was played into ttws.sink.
 *
 * The stimulus (audiocheck_sample()) is a stereo test signal with a
 * distinct tone per channel (440 Hz left, 660 Hz right) and, for
 * alignment, a 20 ms linear chirp per channel (up on the left, down on
 * the right) alone at the start and then every 0.5 s on top of the tone.
 * Peaks stay below half of full scale, so S16 -> F32 -> S16 through
 * PipeWire and core/framer is exact.
 *
 * audiocheck_compare() finds, per ear, where the input channel starts in
 * the decoded output (the lag at which the opening chirp correlates best,
 * searched around the first non-silent output sample), then walks input
 * and output together from there: it measures the normalized
 * cross-correlation of the whole signal along the walk, the same against
 * the other channel (routing), and, sample by sample, how many differ
 * (for PCM, which must be exact).
 *
 * The walk follows slips. An earbud's WAV places each frame at its true
 * render instant rounded to the 48 kHz sample (sim/live.c), so
 * consecutive frames land 480 +- 1 samples apart now and then (a render
 * instant jittering across a sample boundary, the presentation delay
 * slewing; a fast slew moves them by up to 5): repeated last samples or
 * dropped first samples. Every 480 output samples, and at the first
 * wrong sample of output that has been exact, the walk re-searches its
 * lag within +-6 samples over the next 480 (exact output: the longest
 * exact run wins; a lossy codec's: the least squared error, by a margin)
 * and counts each change as a slip. A run of silence in the output where
 * the input has signal (PipeWire plays whole 480-sample quanta of
 * silence when a client misses a cycle) is skipped and counted, not
 * compared, and the correlations follow the same path. When the output
 * stops lining up and neither explains it (LC3 smears such a glitch over
 * its frames), the walk finds the ear's next chirp and goes on from
 * there: a resync.
 *
 * Between the ears: the opening chirps start on the same input sample,
 * so the difference of the opening lags is one measure; the other is per
 * 0.5 s chirp period (each holds one chirp per channel) of the input:
 * each ear's mean lag over the period, along its walk, and their
 * difference. A one-sample timing error between the ears shows as 1
 * there. The mean, not the lag at one instant: each ear's frames are
 * placed by rounding its own render instant, so a true offset of a few
 * microseconds between the ears makes the placements differ by one
 * sample for a while (the common phase has to cross the rounding
 * boundary between them), and the mean over a period counts how long.
 * That resolution is the file's: 20.8 us. A period is long enough when
 * the frames drift across the sample grid (the presentation delay
 * slewing) and may not be when they do not (at the start); the mean
 * over all periods is the steadier figure.
 *
 * Pure: no I/O; the caller reads and writes the WAV files (sim/wav).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIOCHECK_RATE 48000u

/* Sample k (0 = the first after the lead silence) of channel ch (0 left,
 * 1 right) of the stimulus, S16. */
int16_t audiocheck_sample(unsigned ch, uint64_t k);

/*
 * The whole stimulus: lead_s of silence, seconds of signal, tail_s of
 * silence (pw-cat drops the last partial quantum), interleaved stereo at
 * 48 kHz into *ret_pcm (malloc'd, the caller frees), *ret_frames sample
 * frames. Returns 0, -EINVAL (negative or absurd lengths) or -ENOMEM.
 */
int audiocheck_generate(double seconds, double lead_s, double tail_s,
			int16_t **ret_pcm, size_t *ret_frames);

struct audiocheck_ear {
	bool found;          /* the opening chirp was found */
	int64_t lag;         /* output index of input sample 0 (opening) */
	double corr;         /* vs its own input channel, along the walk */
	double cross_corr;   /* vs the other channel, same path (routing) */
	uint64_t compared;   /* input samples compared */
	/* Compared samples that differ, and input samples with signal the
	 * output never held (before it, after it, skipped by a resync). */
	uint64_t mismatches;
	uint64_t inserted_silence; /* output samples skipped as silence */
	uint64_t slips;      /* lag changes of 1 to 6 samples followed */
	/* The output stopped lining up, unexplained, and was found again
	 * at the next chirp, at another lag (the input between is lost). */
	uint64_t resyncs;
	/* Largest |lag - opening lag| from slips (inserted silence aside),
	 * samples. */
	int64_t max_lag_drift;
};

struct audiocheck_result {
	struct audiocheck_ear ear[2];
	int64_t inter_ear_lag; /* ear[0].lag - ear[1].lag, samples */
	/* Per 0.5 s chirp period both ears played (most of; periods where
	 * either's lag jumped, by inserted silence or a resync, left out):
	 * the mean lag of ear 0 minus that of ear 1. The largest magnitude,
	 * rounded to whole samples and unrounded; the mean over the periods
	 * (signed, samples); how many periods (0: nothing was measured). */
	int64_t inter_ear_lag_max;
	double inter_ear_lag_max_mean;
	double inter_ear_lag_mean;
	uint64_t inter_ear_periods;
};

/*
 * in: in_frames interleaved stereo frames (the stimulus file as played);
 * out[ch]: out_frames[ch] mono samples (what ear ch decoded, indexed by
 * frame sequence). Returns 0 (ear[ch].found says whether each ear was
 * aligned), -EINVAL when the input holds no signal, or -ENOMEM.
 */
int audiocheck_compare(const int16_t *in, size_t in_frames,
		       const int16_t *const out[2], const size_t out_frames[2],
		       struct audiocheck_result *ret);

#endif
