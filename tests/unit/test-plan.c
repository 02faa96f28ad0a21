/* SPDX-License-Identifier: MIT */
/*
 * Frame timeline tests: exact frame boundaries, bounded slew, convergence
 * of the adaptive delay, and the per-ear presentation times through a
 * real servo.
 */

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/macro.h"
#include "core/plan.h"
#include "core/servo.h"

#define T0 UINT64_C(1234567890123)

/* Deterministic test randomness (splitmix64). */
static uint64_t rng_state = 0x706c616e00000001ULL;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in (0, 1]. */
static double rng_unit(void)
{
	return ((double)(rng() >> 11) + 1.0) / 9007199254740992.0;
}

static struct plan *new_plan(const struct plan_config *cfg)
{
	struct plan *p = NULL;

	assert_int_equal(plan_new(cfg, T0, &p), 0);
	assert_non_null(p);
	return p;
}

static void test_config_default(void **state)
{
	struct plan_config c;
	struct plan *p;

	plan_config_default(&c);
	assert_int_equal(c.frame_ns, 10000000);
	assert_int_equal(c.delay_initial_ns, 40000000);
	assert_int_equal(c.delay_min_ns, 20000000);
	assert_int_equal(c.delay_max_ns, 200000000);
	assert_int_equal(c.margin_ns, 5000000);
	assert_int_equal(c.window_frames, 100);
	assert_true(c.ewma_alpha == 0.2);
	assert_int_equal(c.max_slew_ns, 1000);

	p = new_plan(&c);
	assert_int_equal(plan_delay(p), c.delay_initial_ns);
	assert_int_equal(plan_delay_target(p), c.delay_initial_ns);
	assert_int_equal(plan_target(p, 0), T0 + c.delay_initial_ns);
	p = plan_free(p);
	assert_null(p);
	assert_null(plan_free(NULL));
}

static void test_new_invalid(void **state)
{
	struct plan_config good, c;
	struct plan *p = (struct plan *)&good; /* must stay as is */

	plan_config_default(&good);

	c = good;
	c.frame_ns = 0;
	assert_int_equal(plan_new(&c, T0, &p), -EINVAL);
	c = good;
	c.window_frames = 0;
	assert_int_equal(plan_new(&c, T0, &p), -EINVAL);
	c = good;
	c.delay_min_ns = c.delay_max_ns + 1;
	assert_int_equal(plan_new(&c, T0, &p), -EINVAL);
	c = good;
	c.delay_initial_ns = c.delay_min_ns - 1;
	assert_int_equal(plan_new(&c, T0, &p), -EINVAL);
	c = good;
	c.delay_initial_ns = c.delay_max_ns + 1;
	assert_int_equal(plan_new(&c, T0, &p), -EINVAL);
	c = good;
	c.ewma_alpha = 0.0;
	assert_int_equal(plan_new(&c, T0, &p), -EINVAL);
	c = good;
	c.ewma_alpha = 1.5;
	assert_int_equal(plan_new(&c, T0, &p), -EINVAL);
	c = good;
	c.ewma_alpha = NAN;
	assert_int_equal(plan_new(&c, T0, &p), -EINVAL);
	assert_int_equal(plan_new(NULL, T0, &p), -EINVAL);
	assert_ptr_equal(p, (struct plan *)&good);
}

/*
 * T_n = T_0 + n * frame + delay exactly, every consecutive pair exactly
 * one frame apart, for 2 * 10^6 frames; and frame 10^9 lands exactly on
 * 10^9 frames (a float or accumulated-sum timeline would be off).
 */
static void check_boundaries(uint64_t frame_ns)
{
	struct plan_config c;
	struct plan *p;
	uint64_t prev, d;

	plan_config_default(&c);
	c.frame_ns = frame_ns;
	p = new_plan(&c);
	d = plan_delay(p);

	/* No observations: the delay stays, which pins the bare grid. */
	prev = plan_target(p, 0);
	assert_int_equal(prev, T0 + d);
	for (uint64_t n = 1; n <= 2000000; n++) {
		uint64_t t = plan_target(p, n);

		if (t - prev != frame_ns || t != T0 + n * frame_ns + d) {
			fail_msg("frame %llu: %llu", (unsigned long long)n,
				 (unsigned long long)t);
		}
		prev = t;
	}
	assert_int_equal(plan_delay(p), d);
	assert_int_equal(plan_target(p, 1000000000), T0 + 1000000000 *
								 frame_ns +
							 d);
	assert_int_equal(plan_frame(p), 1000000000);
	plan_free(p);
}

static void test_boundaries_7500us(void **state)
{
	check_boundaries(7500000);
	/* 7.5 ms * 10^9 = 7.5 * 10^15 ns, written out. */
	{
		struct plan_config c;
		struct plan *p;

		plan_config_default(&c);
		c.frame_ns = 7500000;
		p = new_plan(&c);
		assert_int_equal(plan_target(p, 1000000000) - T0 -
					 plan_delay(p),
				 UINT64_C(7500000000000000));
		plan_free(p);
	}
}

static void test_boundaries_10ms(void **state)
{
	check_boundaries(10000000);
}

/*
 * While the delay adapts, consecutive targets stay within one slew of one
 * frame apart, and the delay never changes by more than max_slew_ns per
 * frame, nor by more than k * max_slew_ns over a jump of k frames.
 */
static void test_slew_bounded(void **state)
{
	struct plan_config c;
	struct plan *p;
	uint64_t prev_t, prev_d, n = 0, lo = UINT64_MAX, hi = 0;

	plan_config_default(&c);
	c.frame_ns = 7500000;
	c.max_slew_ns = 750;
	c.window_frames = 50;
	p = new_plan(&c);
	prev_t = plan_target(p, 0);
	prev_d = plan_delay(p);

	for (int i = 0; i < 400000; i++) {
		uint64_t step = (i % 1000 == 999) ? 1 + rng() % 500 : 1;
		uint64_t t, d, dd;
		int64_t dt;

		/* Phases of very different delivery delays. */
		if ((n / 20000) % 2 == 0) {
			plan_observe_delivery(p, 150 * NSEC_PER_MSEC +
							 rng() % NSEC_PER_MSEC);
		} else {
			plan_observe_delivery(p, rng() % NSEC_PER_MSEC);
		}
		n += step;
		t = plan_target(p, n);
		d = plan_delay(p);
		dd = d > prev_d ? d - prev_d : prev_d - d;
		assert_true(dd <= step * c.max_slew_ns);
		dt = (int64_t)(t - prev_t) - (int64_t)(step * c.frame_ns);
		assert_true(llabs(dt) <= (long long)(step * c.max_slew_ns));
		assert_true(d >= c.delay_min_ns && d <= c.delay_max_ns);
		assert_true(plan_delay_target(p) >= c.delay_min_ns &&
			    plan_delay_target(p) <= c.delay_max_ns);
		prev_t = t;
		prev_d = d;
		lo = MIN(lo, d);
		hi = MAX(hi, d);
	}
	/* The delay did travel (15 ms per phase): the bounds were live. */
	assert_true(hi - lo >= 10 * NSEC_PER_MSEC);
	plan_free(p);
}

/* Asking twice for one frame (once per ear) gives one instant. */
static void test_same_frame_twice(void **state)
{
	struct plan_config c;
	struct plan *p;

	plan_config_default(&c);
	c.window_frames = 1;
	p = new_plan(&c);
	for (uint64_t n = 0; n < 5000; n++) {
		uint64_t a, b;

		plan_observe_delivery(p, 100 * NSEC_PER_MSEC);
		a = plan_target(p, n);
		b = plan_target(p, n);
		assert_int_equal(a, b);
	}
	/* The delay did move: the test above was not vacuous. */
	assert_true(plan_delay(p) > c.delay_initial_ns);
	plan_free(p);
}

/*
 * A known distribution: two observations per frame cycling through
 * 30.0, 30.1, ..., 39.9 ms. Each 100-frame window holds every value
 * twice, so its P99 (rank 198 of 200) is 39.8 ms, reported at most 1/64
 * high by the histogram; target = P99 + 5 ms margin, and the applied delay
 * gets there at 1 us per frame.
 */
static void test_converges_known(void **state)
{
	struct plan_config c;
	struct plan *p;
	uint64_t want = 39800000 + 5000000, p99;

	plan_config_default(&c);
	p = new_plan(&c);
	assert_int_equal(plan_delivery_p99(p, &p99), -ENODATA);
	for (uint64_t n = 0; n < 20000; n++) {
		uint64_t k = n % 50;

		plan_observe_delivery(p, 30000000 + (2 * k) * 100000);
		plan_observe_delivery(p, 30000000 + (2 * k + 1) * 100000);
		plan_target(p, n);
	}
	assert_int_equal(plan_delivery_p99(p, &p99), 0);
	assert_true(p99 >= 39800000 && p99 <= 39800000 + 39800000 / 64);
	assert_true(plan_delay_target(p) >= want);
	assert_true(plan_delay_target(p) <= want + 39800000 / 64);
	/* 40 -> ~44.8 ms at 1 us/frame takes < 5500 frames. */
	assert_int_equal(plan_delay(p), plan_delay_target(p));
	plan_free(p);
}

/*
 * Random delivery: 20 ms floor + exponential tail of mean 2 ms, whose
 * P99 is 20 + 2 ln 100 = 29.21 ms. The smoothed per-window P99 lands
 * within 5 % of it, and the delay follows to P99 + margin.
 */
static void test_converges_random(void **state)
{
	struct plan_config c;
	struct plan *p;
	double p99 = 20e6 + 2e6 * log(100.0);
	double want = p99 + 5e6;

	plan_config_default(&c);
	c.frame_ns = 7500000;
	c.max_slew_ns = 2000;
	p = new_plan(&c);
	for (uint64_t n = 0; n < 30000; n++) {
		for (int ear = 0; ear < 2; ear++) {
			double x = 20e6 - 2e6 * log(rng_unit());

			plan_observe_delivery(p, (uint64_t)x);
		}
		plan_target(p, n);
	}
	assert_true(fabs((double)plan_delay_target(p) - want) < 0.05 * p99);
	assert_true(fabs((double)plan_delay(p) - want) < 0.05 * p99);
	plan_free(p);
}

/* The target, and so the delay, stays in [min, max] whatever is seen. */
static void test_clamped(void **state)
{
	struct plan_config c;
	struct plan *p;
	uint64_t n = 0;

	plan_config_default(&c);
	c.max_slew_ns = 100000;
	c.window_frames = 10;
	p = new_plan(&c);
	for (; n < 5000; n++) {
		plan_observe_delivery(p, UINT64_MAX - n);
		plan_target(p, n);
		assert_true(plan_delay(p) <= c.delay_max_ns);
	}
	assert_int_equal(plan_delay_target(p), c.delay_max_ns);
	assert_int_equal(plan_delay(p), c.delay_max_ns);
	for (; n < 10000; n++) {
		plan_observe_delivery(p, 0);
		plan_target(p, n);
		assert_true(plan_delay(p) >= c.delay_min_ns);
	}
	assert_int_equal(plan_delay_target(p), c.delay_min_ns);
	assert_int_equal(plan_delay(p), c.delay_min_ns);
	plan_free(p);
}

/* max_slew_ns 0: the target is tracked, the delay never moves. */
static void test_slew_zero_fixed(void **state)
{
	struct plan_config c;
	struct plan *p;

	plan_config_default(&c);
	c.max_slew_ns = 0;
	p = new_plan(&c);
	for (uint64_t n = 0; n < 1000; n++) {
		plan_observe_delivery(p, 100 * NSEC_PER_MSEC);
		assert_int_equal(plan_target(p, n),
				 T0 + n * c.frame_ns + c.delay_initial_ns);
	}
	assert_true(plan_delay_target(p) > 100 * NSEC_PER_MSEC);
	assert_int_equal(plan_delay(p), c.delay_initial_ns);
	plan_free(p);
}

/* Windows without observations leave the target alone. */
static void test_empty_window_keeps_target(void **state)
{
	struct plan_config c;
	struct plan *p;
	uint64_t target;

	plan_config_default(&c);
	p = new_plan(&c);
	for (uint64_t n = 0; n < 1000; n++) {
		plan_target(p, n);
	}
	assert_int_equal(plan_delay_target(p), c.delay_initial_ns);
	for (uint64_t n = 1000; n < 1100; n++) {
		plan_observe_delivery(p, 60 * NSEC_PER_MSEC);
		plan_target(p, n);
	}
	target = plan_delay_target(p);
	assert_true(target >= 65 * NSEC_PER_MSEC);
	for (uint64_t n = 1100; n < 3000; n++) {
		plan_target(p, n);
	}
	assert_int_equal(plan_delay_target(p), target);
	plan_free(p);
}

/*
 * A jump over many windows: the observations close one window, the slew
 * over the jump is bounded by k frames' worth, and huge frame numbers
 * saturate instead of wrapping.
 */
static void test_jump(void **state)
{
	struct plan_config c;
	struct plan *p;
	uint64_t d0;

	plan_config_default(&c);
	p = new_plan(&c);
	for (int i = 0; i < 50; i++) {
		plan_observe_delivery(p, 80 * NSEC_PER_MSEC);
	}
	d0 = plan_delay(p);
	plan_target(p, 10000);
	assert_true(plan_delay_target(p) >= 85 * NSEC_PER_MSEC);
	assert_true(plan_delay(p) - d0 <= 10000 * c.max_slew_ns);
	assert_true(plan_delay(p) > d0);
	assert_int_equal(plan_target(p, UINT64_MAX), UINT64_MAX);
	plan_free(p);
}

/* plan_frame_at() is the first frame at or after the instant. */
static void test_frame_at(void **state)
{
	struct plan_config c;
	struct plan *p;

	plan_config_default(&c);
	c.frame_ns = 7500000;
	p = new_plan(&c);
	assert_int_equal(plan_frame_at(p, 0), 0);
	assert_int_equal(plan_frame_at(p, T0 + c.delay_initial_ns), 0);
	assert_int_equal(plan_frame_at(p, T0 + c.delay_initial_ns + 1), 1);
	assert_int_equal(plan_frame_at(p, T0 + c.delay_initial_ns +
						  7500000),
			 1);
	for (int i = 0; i < 100000; i++) {
		uint64_t h = T0 + rng() % (UINT64_C(1) << 50);
		uint64_t n = plan_frame_at(p, h);
		uint64_t d = plan_delay(p);

		assert_true(T0 + n * c.frame_ns + d >= h);
		if (n > 0) {
			assert_true(T0 + (n - 1) * c.frame_ns + d < h);
		}
	}
	/* Nothing overflows at the far end. */
	assert_true(plan_frame_at(p, UINT64_MAX) > 0);
	plan_free(p);
}

/*
 * A symmetric exchange against an earbud clock ear = host + offset, with
 * no rate error: every estimator reads the offset exactly.
 */
static void feed_servo(struct servo *s, int64_t offset_ns, uint64_t t1)
{
	for (int i = 0; i < 16; i++) {
		uint64_t d = 400000, hold = 50000;
		uint64_t t2 = t1 + d + (uint64_t)offset_ns;
		uint64_t t3 = t2 + hold;
		uint64_t t4 = t3 - (uint64_t)offset_ns + d;

		assert_int_equal(servo_sync_sample(s, t1, t2, t3, t4), 0);
		t1 += 7500000;
	}
}

/*
 * plan_pts() is the servo's map of T_n: -EAGAIN while unlocked, then each
 * ear's own clock, and the two ears' PTS differ by exactly the difference
 * of their offsets (the same T_n for both).
 */
static void test_pts_servo(void **state)
{
	const int64_t off_l = 3000000000LL, off_r = 12345678;
	struct servo_config sc;
	struct plan_config c;
	struct servo *l = NULL, *r = NULL;
	struct plan *p;
	uint64_t pts_l = 42, pts_r, t, m;

	servo_config_default(&sc);
	sc.kind = SERVO_NAIVE;
	assert_int_equal(servo_new(&sc, &l), 0);
	assert_int_equal(servo_new(&sc, &r), 0);
	plan_config_default(&c);
	p = new_plan(&c);

	assert_int_equal(plan_pts(p, 0, l, &pts_l), -EAGAIN);
	assert_int_equal(pts_l, 42);

	feed_servo(l, off_l, T0 - NSEC_PER_SEC);
	feed_servo(r, off_r, T0 - NSEC_PER_SEC);

	for (uint64_t n = 0; n < 1000; n++) {
		plan_observe_delivery(p, 70 * NSEC_PER_MSEC);
		assert_int_equal(plan_pts(p, n, l, &pts_l), 0);
		assert_int_equal(plan_pts(p, n, r, &pts_r), 0);
		t = plan_target(p, n);
		assert_int_equal(servo_map(l, t, &m), 0);
		assert_int_equal(pts_l, m);
		assert_true(llabs((long long)(pts_l - t) - off_l) <= 1);
		assert_true(llabs((long long)(pts_r - t) - off_r) <= 1);
		assert_true(llabs((long long)(pts_l - pts_r) -
				  (off_l - off_r)) <= 2);
	}
	plan_free(p);
	servo_free(l);
	servo_free(r);
}

#define T(name, fn)                                                           \
	{                                                                     \
		"plan/" name, fn, NULL, NULL, NULL                            \
	}

/*
 * Bounds changed while playing: the target moves at once, the applied
 * delay never faster than the slew, and it settles inside the new bounds.
 */
static void test_set_bounds_live(void **state)
{
	struct plan_config c;
	struct plan *p;
	uint64_t n, prev, d;

	plan_config_default(&c);
	c.window_frames = 10;
	c.max_slew_ns = 1000;
	p = new_plan(&c);
	for (n = 0; n < 200; n++) {
		plan_observe_delivery(p, 30 * NSEC_PER_MSEC);
		plan_target(p, n);
	}
	/* 30 ms P99 + 5 ms margin. */
	assert_true(llabs((long long)plan_delay_target(p) -
			  35 * (long long)NSEC_PER_MSEC) < 100000);
	assert_int_equal(plan_set_bounds(p, 50 * NSEC_PER_MSEC,
					 40 * NSEC_PER_MSEC, 0),
			 -EINVAL);
	assert_int_equal(plan_set_bounds(NULL, 1, 2, 0), -EINVAL);
	/* A floor above what delivery needs: the target jumps to it. */
	assert_int_equal(plan_set_bounds(p, 60 * NSEC_PER_MSEC,
					 80 * NSEC_PER_MSEC,
					 5 * NSEC_PER_MSEC),
			 0);
	assert_int_equal(plan_delay_target(p), 60 * NSEC_PER_MSEC);
	prev = plan_delay(p);
	for (; n < 200 + 60000; n++) {
		plan_observe_delivery(p, 30 * NSEC_PER_MSEC);
		plan_target(p, n);
		d = plan_delay(p);
		assert_true(d >= prev && d - prev <= c.max_slew_ns);
		prev = d;
	}
	assert_int_equal(plan_delay(p), 60 * NSEC_PER_MSEC);
	/* A larger margin with a roomy ceiling: smoothed P99 + margin. */
	assert_int_equal(plan_set_bounds(p, 20 * NSEC_PER_MSEC,
					 200 * NSEC_PER_MSEC,
					 50 * NSEC_PER_MSEC),
			 0);
	assert_true(llabs((long long)plan_delay_target(p) -
			  80 * (long long)NSEC_PER_MSEC) < 100000);
	plan_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("config_default", test_config_default),
		T("new_invalid", test_new_invalid),
		T("boundaries_7500us", test_boundaries_7500us),
		T("boundaries_10ms", test_boundaries_10ms),
		T("slew_bounded", test_slew_bounded),
		T("same_frame_twice", test_same_frame_twice),
		T("converges_known", test_converges_known),
		T("converges_random", test_converges_random),
		T("clamped", test_clamped),
		T("slew_zero_fixed", test_slew_zero_fixed),
		T("empty_window_keeps_target", test_empty_window_keeps_target),
		T("jump", test_jump),
		T("frame_at", test_frame_at),
		T("pts_servo", test_pts_servo),
		T("set_bounds_live", test_set_bounds_live),
	};

	return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
