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
 * searched around the first non-silent output sample), then measures the
 * normalized cross-correlation of the whole signal at that lag, the same
 * against the other channel (routing), and, sample by sample, how many
 * differ (for PCM, which must be exact). A run of silence in the output
 * where the input has signal (PipeWire plays whole 480-sample quanta of
 * silence when a client misses a cycle) is skipped and counted, not
 * compared, and the correlations follow the same path. The lag
 * between the two ears' outputs is the difference of their lags: both
 * opening chirps start on the same input sample.
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
	int64_t lag;         /* output index of input sample 0 */
	double corr;         /* vs its own input channel, at lag */
	double cross_corr;   /* vs the other channel, at lag (routing) */
	uint64_t compared;   /* input samples compared */
	uint64_t mismatches; /* output samples that differ from the input */
	uint64_t inserted_silence; /* output samples skipped as silence */
};

struct audiocheck_result {
	struct audiocheck_ear ear[2];
	int64_t inter_ear_lag; /* ear[0].lag - ear[1].lag, samples */
};

/*
 * in: in_frames interleaved stereo frames (the stimulus file as played);
 * out[ch]: out_frames[ch] mono samples (what ear ch decoded, indexed by
 * frame sequence). Returns 0 (ear[ch].found says whether each ear was
 * aligned), or -EINVAL when the input holds no signal.
 */
int audiocheck_compare(const int16_t *in, size_t in_frames,
		       const int16_t *const out[2], const size_t out_frames[2],
		       struct audiocheck_result *ret);

#endif
