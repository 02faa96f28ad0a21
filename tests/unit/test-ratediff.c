/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/ratediff.h"

static void init_default(struct ratediff *r)
{
	struct ratediff_config c = {
		.max_ppm = RATEDIFF_DEFAULT_MAX_PPM,
		.alpha = RATEDIFF_DEFAULT_ALPHA,
	};

	assert_int_equal(ratediff_init(r, &c), 0);
}

static void ratediff_rejects_bad_config(void **state)
{
	struct ratediff r;
	struct ratediff_config c = { .max_ppm = 0, .alpha = 0.5 };
	struct ratediff_driver d;

	(void)state;
	assert_int_equal(ratediff_init(&r, &c), -EINVAL);
	c.max_ppm = 100001;
	assert_int_equal(ratediff_init(&r, &c), -EINVAL);
	c.max_ppm = 100;
	c.alpha = 0.0;
	assert_int_equal(ratediff_init(&r, &c), -EINVAL);
	c.alpha = 1.5;
	assert_int_equal(ratediff_init(&r, &c), -EINVAL);
	c.alpha = NAN;
	assert_int_equal(ratediff_init(&r, &c), -EINVAL);
	c.alpha = 1.0;
	assert_int_equal(ratediff_init(&r, &c), 0);
	assert_true(ratediff_get(&r) == 1.0);
	assert_int_equal(ratediff_driver_init(&d, 0), -EINVAL);
}

/* First estimate taken as is, then y += alpha * (x - y). */
static void ratediff_ewma_arithmetic(void **state)
{
	struct ratediff_config c = { .max_ppm = 1000, .alpha = 0.25 };
	struct ratediff r;
	double v;

	(void)state;
	assert_int_equal(ratediff_init(&r, &c), 0);
	v = ratediff_update(&r, 1.0002);
	assert_true(v == 1.0002);
	v = ratediff_update(&r, 1.0006);
	assert_true(fabs(v - (1.0002 + 0.25 * (1.0006 - 1.0002))) < 1e-15);
	v = ratediff_update(&r, 0.9998);
	assert_true(fabs(v - (1.0003 + 0.25 * (0.9998 - 1.0003))) < 1e-15);
	assert_true(ratediff_get(&r) == v);
	assert_int_equal(r.updates, 3);
	assert_true(fabs(ratediff_from_ppb(500000) - 1.0005) < 1e-15);
	assert_true(fabs(ratediff_from_ppb(-50000) - 0.99995) < 1e-15);
}

/* Wild estimates are clamped to 1 +- max_ppm; garbage is ignored. */
static void ratediff_clamps_and_rejects(void **state)
{
	struct ratediff_config c = { .max_ppm = 1000, .alpha = 1.0 };
	struct ratediff r;

	(void)state;
	assert_int_equal(ratediff_init(&r, &c), 0);
	assert_true(fabs(ratediff_update(&r, 1.01) - 1.001) < 1e-15);
	assert_true(fabs(ratediff_update(&r, 0.5) - 0.999) < 1e-15);
	assert_int_equal(r.clamped, 2);
	assert_true(fabs(ratediff_update(&r, NAN) - 0.999) < 1e-15);
	assert_true(fabs(ratediff_update(&r, INFINITY) - 0.999) < 1e-15);
	assert_true(fabs(ratediff_update(&r, 0.0) - 0.999) < 1e-15);
	assert_true(fabs(ratediff_update(&r, -1.0) - 0.999) < 1e-15);
	assert_int_equal(r.rejected, 4);
	assert_int_equal(r.updates, 2);
}

/*
 * The earbuds turn out to run at 1.0005 (500 ppm fast): noisy estimates
 * around it, after a stretch at 1.0, bring rate_diff to within 2 ppm
 * of 1.0005 and keep it there.
 */
static void ratediff_follows_1_0005(void **state)
{
	struct ratediff r;
	double v = 1.0, noise;
	int i;

	(void)state;
	init_default(&r);
	for (i = 0; i < 50; i++) {
		ratediff_update(&r, 1.0);
	}
	assert_true(ratediff_get(&r) == 1.0);
	for (i = 0; i < 400; i++) {
		/* +-20 ppm of deterministic, zero-mean noise. */
		noise = 20e-6 * sin(i * 2.399963);
		v = ratediff_update(&r, 1.0005 + noise);
		if (i == 5) {
			/* Smoothed: not there after a few updates. */
			assert_true(v < 1.0004);
		}
	}
	assert_true(fabs(v - 1.0005) < 2e-6);
	assert_int_equal(r.clamped, 0);
}

static void ratediff_driver_bookkeeping(void **state)
{
	struct ratediff_driver d;
	struct ratediff_clock ck;

	(void)state;
	assert_int_equal(ratediff_driver_init(&d, 48000), 0);
	/* The first cycle starts at the dummy driver's origin:
	 * position = nsec * rate / 1e9. */
	ratediff_driver_cycle(&d, 1000000000ull, 480, 1.0, &ck);
	assert_int_equal(ck.nsec, 1000000000ull);
	assert_int_equal(ck.position, 48000);
	assert_int_equal(ck.duration, 480);
	assert_true(ck.rate_diff == 1.0);
	assert_int_equal(ck.next_nsec, 1010000000ull);
	/* Every later cycle continues where the previous one ended, even
	 * when it comes late or the quantum changes. */
	ratediff_driver_cycle(&d, 1010300000ull, 1024, 1.0005, &ck);
	assert_int_equal(ck.position, 48480);
	assert_int_equal(ck.duration, 1024);
	/* 1024 / (48000 * 1.0005) s = 21322672.0...; nearest ns. */
	assert_int_equal(ck.next_nsec,
			 1010300000ull + (uint64_t)llround(1024 * 1e9 /
							  (48000 * 1.0005)));
	assert_int_equal(ck.next_nsec - 1010300000ull, 21322672ull);
	ratediff_driver_cycle(&d, 1031000000ull, 480, 0.0, &ck);
	assert_int_equal(ck.position, 49504);
	assert_true(ck.rate_diff == 1.0); /* nonsense reads as 1.0 */
	assert_int_equal(d.cycles, 3);
	assert_int_equal(ratediff_samples_to_ns(48000, 480, 1.0005),
			 9995002ull);

	/* Ten days of uptime: nsec * rate overflows 64 bits. */
	assert_int_equal(ratediff_driver_init(&d, 48000), 0);
	ratediff_driver_cycle(&d, 864000000000000ull, 480, 1.0, &ck);
	assert_int_equal(ck.position, 41472000000ull);
}

/*
 * Triggered at each next_nsec with rate_diff 1.0005, the driver runs the
 * graph 1.0005 times faster than nominal in host time: over 100000 cycles
 * (1000 s) position advances 48000 * 1.0005 samples per host second.
 */
static void ratediff_driver_follows_rate(void **state)
{
	struct ratediff_driver d;
	struct ratediff_clock ck;
	uint64_t t = 5000000000ull, p0 = 0, t0 = t;
	double host_s, rate;
	int i;

	(void)state;
	assert_int_equal(ratediff_driver_init(&d, 48000), 0);
	for (i = 0; i < 100000; i++) {
		ratediff_driver_cycle(&d, t, 480, 1.0005, &ck);
		if (i == 0) {
			p0 = ck.position;
		}
		assert_int_equal(ck.position, p0 + (uint64_t)i * 480);
		t = ck.next_nsec;
	}
	host_s = (double)(t - t0) * 1e-9;
	rate = (double)(ck.position + ck.duration - p0) / host_s;
	assert_true(fabs(rate / 48000.0 - 1.0005) < 1e-9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ratediff_rejects_bad_config),
		cmocka_unit_test(ratediff_ewma_arithmetic),
		cmocka_unit_test(ratediff_clamps_and_rejects),
		cmocka_unit_test(ratediff_follows_1_0005),
		cmocka_unit_test(ratediff_driver_bookkeeping),
		cmocka_unit_test(ratediff_driver_follows_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
