/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim/audiocheck.h"

#define LEAD 0.25
#define SECS 1.5
#define TAIL 0.25

struct fixture {
	int16_t *in;
	size_t n;
	int16_t *out[2];
	size_t out_n[2];
};

/* Ear ch's output: the input channel delayed by lag samples (after
 * lead silence of the output), optionally with a gap of silence. */
static void make_out(struct fixture *f, unsigned ch, unsigned from_ch,
		     size_t lag, size_t gap_at, size_t gap_len)
{
	size_t i, j = lag;

	f->out_n[ch] = f->n + lag + gap_len;
	f->out[ch] = calloc(f->out_n[ch], sizeof(int16_t));
	assert_non_null(f->out[ch]);
	for (i = 0; i < f->n; i++, j++) {
		if (gap_len && i == gap_at) {
			j += gap_len;
		}
		f->out[ch][j] = f->in[2 * i + from_ch];
	}
}

/* The longer stimulus for slips: 100 frames are 1 s. */
#define LONG_SECS 8.0
#define FRAME 480
#define SIGNAL_END ((size_t)((LEAD + LONG_SECS) * AUDIOCHECK_RATE))

/* What happens to the output before an input frame. */
struct ev {
	int slip;       /* > 0: the last sample repeated that many times;
			 * < 0: that many of the frame's first samples dropped */
	size_t silence; /* zeros inserted (before the slip) */
	size_t garbage; /* loud pseudo-random samples inserted (a glitch) */
};

/* Numerical Recipes' LCG: the same noise every run; in [-amp, amp]. */
static int16_t lcg(uint32_t *rnd, unsigned amp)
{
	*rnd = *rnd * 1664525u + 1013904223u;
	return (int16_t)((int)(*rnd >> 16) % (int)(2 * amp + 1) - (int)amp);
}

/*
 * Ear ch's output as the live simulator writes it: the input channel
 * delayed by lag samples, cut in frames of FRAME input samples, with
 * ev[k] applied before frame k. noise > 0 adds an error in [-noise,
 * noise] to every output sample that is not silent (a lossy codec).
 */
static void make_out_ev(struct fixture *f, unsigned ch, size_t lag,
			const struct ev *ev, unsigned noise)
{
	size_t i, j = lag, k, frames = f->n / FRAME + 1, extra = 0;
	uint32_t rnd = 12345u + ch;
	int16_t last = 0;

	for (k = 0; k < frames; k++) {
		extra += ev[k].silence + ev[k].garbage + 2;
	}
	f->out[ch] = calloc(f->n + lag + extra, sizeof(int16_t));
	assert_non_null(f->out[ch]);
	for (i = 0; i < f->n; i++) {
		const struct ev *e = &ev[i / FRAME];

		if (i % FRAME == 0) {
			j += e->silence;
			for (k = 0; k < e->garbage; k++) {
				f->out[ch][j++] = lcg(&rnd, 12000);
			}
			for (k = 0; e->slip > 0 && k < (size_t)e->slip; k++) {
				f->out[ch][j++] = last;
			}
			i += e->slip < 0 ? (size_t)-e->slip : 0;
		}
		last = f->in[2 * i + ch];
		f->out[ch][j++] = last;
	}
	f->out_n[ch] = j;
	for (j = 0; noise && j < f->out_n[ch]; j++) {
		f->out[ch][j] += f->out[ch][j] ? lcg(&rnd, noise) : 0;
	}
}

/* An event table for the stimulus: one entry per input frame. */
static struct ev *evs_new(const struct fixture *f)
{
	struct ev *ev = calloc(f->n / FRAME + 1, sizeof(*ev));

	assert_non_null(ev);
	return ev;
}

static void compare(struct fixture *f, struct audiocheck_result *r)
{
	assert_int_equal(audiocheck_compare(f->in, f->n,
					    (const int16_t *const *)f->out,
					    f->out_n, r),
			 0);
	assert_true(r->ear[0].found && r->ear[1].found);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_int_equal(audiocheck_generate(SECS, LEAD, TAIL, &f->in, &f->n),
			 0);
	*state = f;
	return 0;
}

static int setup_long(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_int_equal(audiocheck_generate(LONG_SECS, LEAD, TAIL, &f->in,
					     &f->n),
			 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->in);
	free(f->out[0]);
	free(f->out[1]);
	free(f);
	return 0;
}

static void audiocheck_signal_shape(void **state)
{
	struct fixture *f = *state;
	size_t lead = (size_t)(LEAD * AUDIOCHECK_RATE), i;
	int peak = 0;

	assert_int_equal(f->n, (size_t)((LEAD + SECS + TAIL) *
					AUDIOCHECK_RATE));
	for (i = 0; i < lead; i++) {
		assert_int_equal(f->in[2 * i], 0);
	}
	for (i = 0; i < f->n * 2; i++) {
		peak = abs(f->in[i]) > peak ? abs(f->in[i]) : peak;
	}
	/* Exact through S16 -> F32 -> S16 needs |s| < 16384. */
	assert_true(peak > 8000 && peak < 16384);
	assert_int_equal(f->in[2 * (lead + 5000)], audiocheck_sample(0, 5000));
	assert_int_equal(f->in[2 * (lead + 5000) + 1],
			 audiocheck_sample(1, 5000));
	assert_int_not_equal(audiocheck_sample(0, 5000),
			     audiocheck_sample(1, 5000));
}

/* Both ears delayed alike (PCM): exact, lag found, inter-ear lag 0. */
static void audiocheck_exact_same_lag(void **state)
{
	struct fixture *f = *state;
	struct audiocheck_result r;

	make_out(f, 0, 0, 3456, 0, 0);
	make_out(f, 1, 1, 3456, 0, 0);
	assert_int_equal(audiocheck_compare(f->in, f->n,
					    (const int16_t *const *)f->out,
					    f->out_n, &r),
			 0);
	assert_true(r.ear[0].found && r.ear[1].found);
	assert_int_equal(r.ear[0].lag, 3456);
	assert_int_equal(r.ear[1].lag, 3456);
	assert_int_equal(r.inter_ear_lag, 0);
	assert_true(r.ear[0].corr > 0.9999 && r.ear[1].corr > 0.9999);
	assert_true(r.ear[0].cross_corr < 0.2 && r.ear[1].cross_corr < 0.2);
	assert_int_equal(r.ear[0].mismatches, 0);
	assert_int_equal(r.ear[1].mismatches, 0);
	assert_int_equal(r.ear[0].compared, f->n);
	assert_int_equal(r.ear[0].slips + r.ear[1].slips, 0);
	assert_int_equal(r.ear[0].resyncs + r.ear[1].resyncs, 0);
	assert_int_equal(r.inter_ear_lag_max, 0);
	assert_true(r.inter_ear_lag_mean == 0);
	/* 1.5 s of signal: 3 periods (the tail's holds no signal). */
	assert_int_equal(r.inter_ear_periods, 3);
}

/* One ear a frame late: the inter-ear lag says so. */
static void audiocheck_inter_ear_lag(void **state)
{
	struct fixture *f = *state;
	struct audiocheck_result r;

	make_out(f, 0, 0, 1000, 0, 0);
	make_out(f, 1, 1, 1480, 0, 0);
	assert_int_equal(audiocheck_compare(f->in, f->n,
					    (const int16_t *const *)f->out,
					    f->out_n, &r),
			 0);
	assert_int_equal(r.inter_ear_lag, -480);
	assert_int_equal(r.inter_ear_lag_max, 480);
}

/* A quantum of silence inserted mid-signal is skipped, not a mismatch;
 * one wrong sample is one mismatch. */
static void audiocheck_silence_and_error(void **state)
{
	struct fixture *f = *state;
	struct audiocheck_result r;

	make_out(f, 0, 0, 500, 40000, 960);
	make_out(f, 1, 1, 500, 0, 0);
	f->out[1][500 + 30000] ^= 0x10;
	assert_int_equal(audiocheck_compare(f->in, f->n,
					    (const int16_t *const *)f->out,
					    f->out_n, &r),
			 0);
	assert_int_equal(r.ear[0].mismatches, 0);
	assert_int_equal(r.ear[0].inserted_silence, 960);
	/* The correlation follows the skip: still the same signal. */
	assert_true(r.ear[0].corr > 0.9999);
	assert_int_equal(r.ear[1].mismatches, 1);
	assert_int_equal(r.ear[0].slips + r.ear[1].slips, 0);
	assert_int_equal(r.ear[0].resyncs + r.ear[1].resyncs, 0);
}

/* A frame replaced by silence in place (a late frame a PCM earbud
 * concealed) is a mismatch of that frame only, not inserted silence:
 * the rest stays aligned. */
static void audiocheck_silence_in_place(void **state)
{
	struct fixture *f = *state;
	struct audiocheck_result r;
	size_t k, at = 500 + 48000;

	make_out(f, 0, 0, 500, 0, 0);
	make_out(f, 1, 1, 500, 0, 0);
	for (k = 0; k < 480; k++) {
		f->out[0][at + k] = 0;
	}
	assert_int_equal(audiocheck_compare(f->in, f->n,
					    (const int16_t *const *)f->out,
					    f->out_n, &r),
			 0);
	assert_int_equal(r.ear[0].inserted_silence, 0);
	assert_true(r.ear[0].mismatches > 400 && r.ear[0].mismatches <= 480);
	assert_true(r.ear[0].corr > 0.98);
	assert_int_equal(r.ear[1].mismatches, 0);
}

/* Left and right swapped: each ear matches the other channel. */
static void audiocheck_swapped(void **state)
{
	struct fixture *f = *state;
	struct audiocheck_result r;

	make_out(f, 0, 1, 700, 0, 0);
	make_out(f, 1, 0, 700, 0, 0);
	assert_int_equal(audiocheck_compare(f->in, f->n,
					    (const int16_t *const *)f->out,
					    f->out_n, &r),
			 0);
	assert_true(!r.ear[0].found || r.ear[0].corr < 0.5);
	assert_true(!r.ear[1].found || r.ear[1].corr < 0.5);
}

/* Silence in, or nothing out. */
static void audiocheck_degenerate(void **state)
{
	struct fixture *f = *state;
	struct audiocheck_result r;
	int16_t zeros[64] = { 0 };
	const int16_t *out[2] = { zeros, zeros };
	size_t n[2] = { 64, 64 };

	assert_int_equal(audiocheck_compare(zeros, 32, out, n, &r), -EINVAL);
	assert_int_equal(audiocheck_compare(f->in, f->n, out, n, &r), 0);
	assert_false(r.ear[0].found);
	assert_false(r.ear[1].found);
	assert_int_equal(audiocheck_generate(-1, 0, 0, &f->out[0], n),
			 -EINVAL);
}

/*
 * (a) One ear slips every 100 frames, both kinds in turn (a repeated
 * last sample at frames 100, 300, ..., a dropped first sample at 200,
 * 400, ...): the walk follows each, so the output still matches
 * exactly, and counts them. That ear is one sample late from frame 100
 * to 200, 300 to 400, ... (a second at a time): the ears' opening lags
 * agree, the per-period measure sees the offset.
 */
static void audiocheck_slips_one_ear(void **state)
{
	struct fixture *f = *state;
	struct audiocheck_result r;
	struct ev *ev = evs_new(f);
	size_t k, n = 0;

	for (k = 100; k < f->n / FRAME; k += 100, n++) {
		ev[k].slip = k % 200 ? 1 : -1;
	}
	make_out_ev(f, 0, 700, ev, 0);
	free(ev);
	ev = evs_new(f);
	make_out_ev(f, 1, 700, ev, 0);
	free(ev);
	compare(f, &r);
	assert_int_equal(n, 8);
	assert_true(r.ear[0].corr >= 0.99 && r.ear[1].corr >= 0.99);
	assert_int_equal(r.ear[0].slips, n);
	assert_int_equal(r.ear[1].slips, 0);
	assert_true(r.ear[0].mismatches <= 2 * r.ear[0].slips);
	assert_int_equal(r.ear[1].mismatches, 0);
	assert_int_equal(r.ear[0].max_lag_drift, 1);
	assert_int_equal(r.ear[0].inserted_silence, 0);
	assert_int_equal(r.ear[0].resyncs, 0);
	assert_int_equal(r.inter_ear_lag, 0);
	assert_int_equal(r.inter_ear_lag_max, 1);
}

/*
 * A good run as the live simulator writes it: the presentation delay
 * slews by 100 ppm, so both ears drop a first sample every 21 frames,
 * the right ear 4 frames after the left (the ears a few microseconds
 * apart, each frame placed by rounding); the right one also jitters
 * across a sample boundary (a repeat at frame 250, a drop at 252), and
 * PipeWire inserts a quantum of silence in both at frame 500, a frame
 * after the left ear's slip, and five at frame 600. Exact, or with a lossy codec's noise: every
 * slip followed and counted, none invented, the silence skipped, and
 * the ears 0 samples apart in every period.
 */
static void good_run(struct fixture *f, unsigned noise)
{
	struct audiocheck_result r;
	struct ev *ev[2] = { evs_new(f), evs_new(f) };
	size_t k, n = 0;
	unsigned ch;

	/* In the signal: a slip in silence changes nothing to follow. */
	for (k = 42; k + 4 < SIGNAL_END / FRAME; k += 21, n++) {
		ev[0][k].slip = -1;
		ev[1][k + 4].slip = -1;
	}
	ev[1][250].slip = 1;
	ev[1][252].slip = -1;
	ev[0][500].silence = ev[1][500].silence = FRAME;
	/* Five quanta: the tones alone look the same 2400 samples on. */
	ev[0][600].silence = ev[1][600].silence = 5 * FRAME;
	for (ch = 0; ch < 2; ch++) {
		make_out_ev(f, ch, 2345, ev[ch], noise);
		free(ev[ch]);
	}
	compare(f, &r);
	assert_int_equal(n, 38);
	assert_int_equal(r.ear[0].slips, n);
	assert_int_equal(r.ear[1].slips, n + 2);
	assert_int_equal(r.ear[0].max_lag_drift, (int64_t)n);
	for (ch = 0; ch < 2; ch++) {
		assert_true(r.ear[ch].corr >= (noise ? 0.99 : 0.99999));
		assert_true(r.ear[ch].cross_corr < 0.2);
		assert_int_equal(r.ear[ch].inserted_silence, 6 * FRAME);
		assert_int_equal(r.ear[ch].resyncs, 0);
		if (!noise) {
			assert_int_equal(r.ear[ch].mismatches, 0);
		}
	}
	assert_int_equal(r.inter_ear_lag, 0);
	assert_int_equal(r.inter_ear_lag_max, 0);
	assert_true(r.inter_ear_lag_max_mean < 0.5);
	assert_true(r.inter_ear_lag_mean > -0.5 && r.inter_ear_lag_mean < 0);
	/* 8 s of signal: 16 periods, less the two with silence. */
	assert_int_equal(r.inter_ear_periods, 14);
}

static void audiocheck_slips_good_run(void **state)
{
	good_run(*state, 0);
}

static void audiocheck_slips_good_run_lossy(void **state)
{
	/* About 40 dB under the signal. */
	good_run(*state, 100);
}

/* (b) The right ear one sample late throughout. */
static void audiocheck_one_sample_apart(void **state)
{
	struct fixture *f = *state;
	struct audiocheck_result r;
	struct ev *ev = evs_new(f);

	make_out_ev(f, 0, 900, ev, 0);
	make_out_ev(f, 1, 901, ev, 0);
	free(ev);
	compare(f, &r);
	assert_int_equal(r.inter_ear_lag, -1);
	assert_int_equal(r.inter_ear_lag_max, 1);
	assert_true(r.inter_ear_lag_max_mean > 0.99 &&
		    r.inter_ear_lag_max_mean < 1.01);
	assert_true(r.inter_ear_lag_mean > -1.01 &&
		    r.inter_ear_lag_mean < -0.99);
	assert_int_equal(r.inter_ear_periods, 16);
	assert_int_equal(r.ear[0].slips + r.ear[1].slips, 0);
	assert_int_equal(r.ear[0].mismatches + r.ear[1].mismatches, 0);
}

/* (c) The left ear one sample late from 5 s on: the opening chirps
 * agree, the periods after 5 s do not. */
static void audiocheck_offset_after_5s(void **state)
{
	struct fixture *f = *state;
	struct audiocheck_result r;
	struct ev *ev = evs_new(f);
	size_t lead = (size_t)(LEAD * AUDIOCHECK_RATE);

	make_out_ev(f, 1, 900, ev, 0);
	ev[(lead + 5 * AUDIOCHECK_RATE) / FRAME].slip = 1;
	make_out_ev(f, 0, 900, ev, 0);
	free(ev);
	compare(f, &r);
	assert_int_equal(r.inter_ear_lag, 0);
	assert_int_equal(r.inter_ear_lag_max, 1);
	assert_int_equal(r.ear[0].slips, 1);
	assert_int_equal(r.ear[0].mismatches, 0);
}

/*
 * A slip a frame before inserted silence (seen live): the exact run up
 * to the silence wins over the least squared error, which the silence
 * spoils for the right lag; nothing is a mismatch.
 */
static void audiocheck_slip_before_silence(void **state)
{
	struct fixture *f = *state;
	struct audiocheck_result r;
	struct ev *ev = evs_new(f);

	size_t k;
	unsigned ch;

	/* Where the signal is, at ten phases of the tones. */
	for (k = 100; k < 700; k += 61) {
		ev[k].slip = -1;
		ev[k + 1].silence = FRAME;
	}
	for (ch = 0; ch < 2; ch++) {
		make_out_ev(f, ch, 600, ev, 0);
	}
	free(ev);
	compare(f, &r);
	for (ch = 0; ch < 2; ch++) {
		assert_int_equal(r.ear[ch].slips, 10);
		assert_int_equal(r.ear[ch].inserted_silence, 10 * FRAME);
		assert_int_equal(r.ear[ch].mismatches, 0);
	}
}

/*
 * A glitch upstream that is not clean silence (LC3 smears a few quanta
 * of silence over its frames): 1437 samples of noise in both ears at
 * 4 s. Each walk loses the lock, finds its next chirp and goes on (one
 * resync each); the input in between is lost, a mismatch for exact
 * output, and the ears stay 0 samples apart.
 */
static void audiocheck_resync(void **state)
{
	struct fixture *f = *state;
	struct audiocheck_result r;
	struct ev *ev = evs_new(f);

	ev[400].garbage = 1437;
	make_out_ev(f, 0, 800, ev, 0);
	make_out_ev(f, 1, 800, ev, 100);
	free(ev);
	compare(f, &r);
	assert_int_equal(r.ear[0].resyncs, 1);
	assert_int_equal(r.ear[1].resyncs, 1);
	assert_true(r.ear[0].mismatches > 0);
	/* Up to half a second of the 8 s lost. */
	assert_true(r.ear[0].corr >= 0.95 && r.ear[1].corr >= 0.95);
	assert_int_equal(r.ear[0].slips + r.ear[1].slips, 0);
	assert_int_equal(r.inter_ear_lag_max, 0);
	assert_true(r.inter_ear_periods >= 12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(audiocheck_signal_shape, setup,
						teardown),
		cmocka_unit_test_setup_teardown(audiocheck_exact_same_lag,
						setup, teardown),
		cmocka_unit_test_setup_teardown(audiocheck_inter_ear_lag,
						setup, teardown),
		cmocka_unit_test_setup_teardown(audiocheck_silence_and_error,
						setup, teardown),
		cmocka_unit_test_setup_teardown(audiocheck_silence_in_place,
						setup, teardown),
		cmocka_unit_test_setup_teardown(audiocheck_swapped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(audiocheck_degenerate, setup,
						teardown),
		cmocka_unit_test_setup_teardown(audiocheck_slips_one_ear,
						setup_long, teardown),
		cmocka_unit_test_setup_teardown(audiocheck_slips_good_run,
						setup_long, teardown),
		cmocka_unit_test_setup_teardown(
			audiocheck_slips_good_run_lossy, setup_long, teardown),
		cmocka_unit_test_setup_teardown(audiocheck_one_sample_apart,
						setup_long, teardown),
		cmocka_unit_test_setup_teardown(audiocheck_offset_after_5s,
						setup_long, teardown),
		cmocka_unit_test_setup_teardown(
			audiocheck_slip_before_silence, setup_long, teardown),
		cmocka_unit_test_setup_teardown(audiocheck_resync, setup_long,
						teardown),
	};

	return cmocka_run_group_tests_name("audiocheck", tests, NULL, NULL);
}
