/* SPDX-License-Identifier: MIT */
/*
 * daemon/ashapw's queue between ttws.sink's ring and ASHA's slots, fed
 * with records written as the sink writes them (struct framer_quantum +
 * stereo F32): frames cut per ear at 16 kHz, the left channel to the left
 * ear; a slot waits for ASHAPW_PRIME frames before it takes any, and
 * again after the queue ran dry (underruns counted); while an aid plays
 * the queue keeps ASHAPW_QUEUE frames and drops the oldest beyond (its
 * bound, asha_frames, counted); while none plays, frames beyond the
 * priming are dropped as unheard, not as overruns. The pacing timer and
 * the sink's own counters are PipeWire's and not run here.
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

#include "core/framer.h"
#include "core/spsc.h"
#include "daemon/ashapw.h"
#include "daemon/bounds.h"

#define RING (1u << 20)

static struct spsc ring;
static uint8_t ring_mem[RING];
static uint64_t position;

/* One quantum of n samples: left = +k/1000, right = -k/1000 for sample
 * k of the stream, so that a frame's first sample says which it is. */
static void push(uint32_t n)
{
	static float pcm[2 * 4096];
	struct framer_quantum q = {
		.nsec = 1000000000ull + position * 62500ull,
		.position = position,
		.rate_diff = 1.0,
		.samples = n,
	};

	for (uint32_t i = 0; i < n; i++) {
		float v = (float)((position + i) % 1000) / 1000.0f;

		pcm[2 * i] = v;
		pcm[2 * i + 1] = -v;
	}
	position += n;
	assert_int_equal(spsc_write(&ring, &q, sizeof(q)), 0);
	assert_int_equal(spsc_write(&ring, pcm, n * 2 * sizeof(float)), 0);
}

static struct ashapw *make(void)
{
	/* The sink is only touched by the pacing timer and the stats,
	 * which these tests do not run: any non-NULL pointer will do. */
	static char not_a_sink;
	struct stream_pw pw = {
		.sink = (struct pw_sink *)&not_a_sink,
		.ring = &ring,
	};
	struct ashapw *a = NULL;

	spsc_init(&ring, ring_mem, sizeof(ring_mem));
	position = 0;
	assert_int_equal(ashapw_new(&pw, NULL, &a), 0);
	return a;
}

static uint64_t asha_frames_overflows(void)
{
	struct bounds_table t;

	bounds_take(&t);
	return t.row[BOUNDS_ASHA_FRAMES].overflows;
}

static void test_prime_and_channels(void **state)
{
	struct ashapw *a = make();
	int16_t l[G722_FRAME_SAMPLES], r[G722_FRAME_SAMPLES];

	(void)state;
	ashapw_set_listening(a, true);
	assert_int_equal(ashapw_frame(a, l, r), -ENODATA);
	push(341); /* one frame and a bit: not primed yet */
	ashapw_pull(a);
	assert_int_equal(ashapw_queued(a), 1);
	assert_int_equal(ashapw_frame(a, l, r), -ENODATA);
	push(341);
	ashapw_pull(a);
	assert_int_equal(ashapw_queued(a), 2);
	assert_int_equal(ashapw_frame(a, l, r), 0);
	/* Sample 0 and 319 of the stream, left positive, right negative. */
	assert_int_equal(l[0], 0);
	assert_int_equal(l[319], (int16_t)lrint(0.319 * 32768));
	assert_int_equal(r[319], (int16_t)lrint(-0.319 * 32768));
	assert_int_equal(ashapw_frame(a, l, r), 0);
	assert_int_equal(l[0], (int16_t)lrint(0.320 * 32768));
	/* Dry: silence asked for (counted), then primed again. */
	assert_int_equal(ashapw_frame(a, l, r), -ENODATA);
	push(700);
	ashapw_pull(a);
	assert_int_equal(ashapw_frame(a, l, r), 0);
	ashapw_free(a);
}

static void test_bound_while_listening(void **state)
{
	struct ashapw *a = make();
	int16_t l[G722_FRAME_SAMPLES], r[G722_FRAME_SAMPLES];
	uint64_t before = asha_frames_overflows();

	(void)state;
	ashapw_set_listening(a, true);
	/* Ten frames at once: eight kept, the two oldest dropped. */
	push(10 * G722_FRAME_SAMPLES);
	ashapw_pull(a);
	assert_int_equal(ashapw_queued(a), ASHAPW_QUEUE);
	assert_int_equal(asha_frames_overflows() - before, 2);
	assert_int_equal(ashapw_frame(a, l, r), 0);
	/* The third frame of the stream is the oldest kept. */
	assert_int_equal(l[0], (int16_t)lrint(0.640 * 32768));
	ashapw_free(a);
}

static void test_unheard_while_nobody_plays(void **state)
{
	struct ashapw *a = make();
	int16_t l[G722_FRAME_SAMPLES], r[G722_FRAME_SAMPLES];
	uint64_t before = asha_frames_overflows();

	(void)state;
	ashapw_set_listening(a, false);
	push(10 * G722_FRAME_SAMPLES);
	ashapw_pull(a);
	/* Only the priming fill kept, the freshest; not an overflow. */
	assert_int_equal(ashapw_queued(a), ASHAPW_PRIME);
	assert_int_equal(asha_frames_overflows(), before);
	ashapw_set_listening(a, true);
	assert_int_equal(ashapw_frame(a, l, r), 0);
	assert_int_equal(l[0], (int16_t)lrint(
				       (double)((8 * G722_FRAME_SAMPLES) % 1000) /
				       1000.0 * 32768));
	ashapw_free(a);
}

/* A record the framer refuses is dropped, the queue goes on. */
static void test_bad_record(void **state)
{
	struct ashapw *a = make();
	struct framer_quantum q = { .rate_diff = 1.0, .samples = 0 };

	(void)state;
	ashapw_set_listening(a, true);
	assert_int_equal(spsc_write(&ring, &q, sizeof(q)), 0);
	push(2 * G722_FRAME_SAMPLES);
	ashapw_pull(a);
	assert_int_equal(ashapw_queued(a), 2);
	ashapw_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prime_and_channels),
		cmocka_unit_test(test_bound_while_listening),
		cmocka_unit_test(test_unheard_while_nobody_plays),
		cmocka_unit_test(test_bad_record),
	};

	return cmocka_run_group_tests_name("ashapw", tests, NULL, NULL);
}
