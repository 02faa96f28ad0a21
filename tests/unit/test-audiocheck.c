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

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_int_equal(audiocheck_generate(SECS, LEAD, TAIL, &f->in, &f->n),
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
	};

	return cmocka_run_group_tests_name("audiocheck", tests, NULL, NULL);
}
