/* SPDX-License-Identifier: MIT */
/*
 * daemon/codec_g722: 1 s of a two-tone signal through ttws's encoder,
 * 50 frames of exactly 160 octets, decoded by libspandsp's own decoder
 * and matched against the input (correlation >= 0.99 at the codec's
 * delay, found by search); a reset encodes the same frames again bit for
 * bit; and, outside the sanitizer build, no allocator call while
 * encoding or resetting, libspandsp's included (this binary's malloc
 * family interposes the library's calls and counts them).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <spandsp/telephony.h>
#include <spandsp/g722.h>

#include "daemon/codec_g722.h"

#define FRAMES 50
#define N (FRAMES * G722_FRAME_SAMPLES)
#define MAX_LAG 80

/* Allocator calls so far (only counted outside ASan, which owns malloc). */
static volatile unsigned long allocs;

#if defined(__SANITIZE_ADDRESS__)
#define COUNT_ALLOC 0
#else
#define COUNT_ALLOC 1
/* glibc's own entry points, which these forward to. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
void *malloc(size_t n)
{
	allocs++;
	return __libc_malloc(n);
}
void *calloc(size_t n, size_t m)
{
	allocs++;
	return __libc_calloc(n, m);
}
void *realloc(void *p, size_t n)
{
	allocs++;
	return __libc_realloc(p, n);
}
#endif

static int16_t in[N], out[N];
static uint8_t coded[FRAMES][G722_FRAME_OCTETS];

static void make_input(void)
{
	unsigned i;

	for (i = 0; i < N; i++) {
		double t = (double)i / G722_RATE_HZ;

		in[i] = (int16_t)(6000.0 * sin(2 * M_PI * 440.0 * t) +
				  3000.0 * sin(2 * M_PI * 2500.0 * t));
	}
}

static double corr_at(unsigned lag)
{
	double sxy = 0, sxx = 0, syy = 0;
	unsigned i;

	for (i = 0; i + lag < N; i++) {
		sxy += (double)in[i] * out[i + lag];
		sxx += (double)in[i] * in[i];
		syy += (double)out[i + lag] * out[i + lag];
	}
	return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : 0.0;
}

static void test_roundtrip(void **state)
{
	struct g722enc *e = NULL;
	g722_decode_state_t *d;
	unsigned f, lag, best_lag = 0;
	unsigned long before;
	double c, best = -1;
	uint8_t again[G722_FRAME_OCTETS];

	(void)state;
	make_input();
	assert_int_equal(g722enc_new(&e), 0);
	before = COUNT_ALLOC ? allocs : 0;
	for (f = 0; f < FRAMES; f++) {
		assert_int_equal(
		    g722enc_frame(e, in + f * G722_FRAME_SAMPLES, coded[f]), 0);
	}
	g722enc_reset(e);
	assert_int_equal(g722enc_frame(e, in, again), 0);
	if (COUNT_ALLOC) {
		assert_int_equal(allocs, before);
	}
	/* Reset: the first frame again, bit for bit. */
	assert_memory_equal(again, coded[0], G722_FRAME_OCTETS);

	before = COUNT_ALLOC ? allocs : 0;
	d = g722_decode_init(NULL, 64000, 0);
	assert_non_null(d);
	/* The counter sees libspandsp's own allocations: it allocates the
	 * decoder it was given no room for. */
	if (COUNT_ALLOC) {
		assert_true(allocs > before);
	}
	for (f = 0; f < FRAMES; f++) {
		assert_int_equal(g722_decode(d, out + f * G722_FRAME_SAMPLES,
					     coded[f], G722_FRAME_OCTETS),
				 G722_FRAME_SAMPLES);
	}
	g722_decode_free(d);
	for (lag = 0; lag < MAX_LAG; lag++) {
		c = corr_at(lag);
		if (c > best) {
			best = c;
			best_lag = lag;
		}
	}
	print_message("G.722 round trip: correlation %.5f at a delay of %u "
		      "samples\n",
		      best, best_lag);
	assert_true(best >= 0.99);
	assert_true(best_lag < MAX_LAG - 1);
	/* Nothing like it without the delay search's peak: the signal is
	 * not its own echo. */
	assert_true(corr_at(best_lag + 7) < best - 0.05);
	e = g722enc_free(e);
	assert_null(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
