/* SPDX-License-Identifier: MIT */
/*
 * The earbud model of ttws-earbud-sim: random numbers, the crystal, the
 * BLE connection-event link, against DESIGN.md "The scenario model,
 * pinned". Statistical checks use fixed seeds, so they are deterministic;
 * their tolerances are several standard errors wide, and narrow enough to
 * fail if a distribution or a scale were wrong.
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

#include "core/macro.h"
#include "sim/simclock.h"
#include "sim/simlink.h"
#include "sim/simrng.h"

/* A host instant far from zero, as CLOCK_MONOTONIC is on a running box. */
#define H0 (UINT64_C(20000) * NSEC_PER_SEC)

static void test_rng_reproducible(void **state)
{
	struct simrng a, b, c;
	int same_c = 0;

	simrng_seed(&a, 42, 7);
	simrng_seed(&b, 42, 7);
	simrng_seed(&c, 42, 8);
	for (int i = 0; i < 1000; i++) {
		uint64_t x = simrng_next(&a);

		assert_int_equal(x, simrng_next(&b));
		same_c += x == simrng_next(&c);
	}
	assert_int_equal(same_c, 0);
	/* The first output of xoshiro256** never depends on s[0]: not 0. */
	simrng_seed(&a, 0, 0);
	assert_true(simrng_next(&a) != 0 || simrng_next(&a) != 0);
}

static void test_rng_uniform(void **state)
{
	struct simrng r;
	double sum = 0, lo = 1, hi = 0;
	const int n = 200000;
	uint64_t below[10] = { 0 };

	simrng_seed(&r, 1, 0);
	for (int i = 0; i < n; i++) {
		double u = simrng_uniform(&r);

		sum += u;
		lo = MIN(lo, u);
		hi = MAX(hi, u);
		below[simrng_below(&r, 10)]++;
	}
	assert_true(lo >= 0.0 && hi < 1.0);
	/* std of the mean: sqrt(1/12/n) = 6.5e-4. */
	assert_true(fabs(sum / n - 0.5) < 0.003);
	for (int i = 0; i < 10; i++) {
		assert_true(below[i] > n / 10 * 0.97 && below[i] < n / 10 * 1.03);
	}
}

static void test_rng_normal(void **state)
{
	struct simrng r;
	double sum = 0, sq = 0;
	int beyond2 = 0;
	const int n = 200000;

	simrng_seed(&r, 2, 0);
	for (int i = 0; i < n; i++) {
		double z = simrng_normal(&r);

		sum += z;
		sq += z * z;
		beyond2 += fabs(z) > 2.0;
	}
	assert_true(fabs(sum / n) < 0.01);
	assert_true(fabs(sq / n - 1.0) < 0.02);
	/* P(|Z| > 2) = 4.55 %: tells a normal from, say, a uniform. */
	assert_true(fabs((double)beyond2 / n - 0.0455) < 0.003);
}

/* Mean of n jitter draws, in us, and the fraction above `above_us`. */
static double jitter_mean(enum simlink_jitter dist, double scale_us, int n,
			  double above_us, double *ret_frac_above,
			  double *ret_max_us)
{
	struct simrng r;
	double sum = 0, max = 0;
	int above = 0;

	simrng_seed(&r, 3, (uint64_t)dist);
	for (int i = 0; i < n; i++) {
		double us = (double)simlink_jitter_ns(&r, dist, scale_us) / 1e3;

		sum += us;
		above += us > above_us;
		max = MAX(max, us);
	}
	*ret_frac_above = (double)above / n;
	*ret_max_us = max;
	return sum / n;
}

static void test_jitter_exponential(void **state)
{
	double frac, max;
	double mean = jitter_mean(SIMLINK_JITTER_EXPONENTIAL, 20.0, 200000,
				  20.0, &frac, &max);

	/* Mean 20 us; std of the mean 0.045 us. */
	assert_true(fabs(mean - 20.0) < 0.2);
	/* P(X > mean) = 1/e for an exponential (0.5 for a symmetric law). */
	assert_true(fabs(frac - exp(-1.0)) < 0.005);
	/* A one-sided tail: the max of 2e5 draws is near 20 * ln(2e5). */
	assert_true(max > 150.0);
}

static void test_jitter_lognormal(void **state)
{
	double frac, max;
	/* Median of scale * exp(0.5 Z - 0.125) is scale * exp(-0.125). */
	double median = 80.0 * exp(-0.125);
	double mean = jitter_mean(SIMLINK_JITTER_LOGNORMAL, 80.0, 200000,
				  median, &frac, &max);

	/* Mean = scale (pinned); std of the mean 80 * 0.53 / 447 = 0.1 us. */
	assert_true(fabs(mean - 80.0) < 0.6);
	assert_true(fabs(frac - 0.5) < 0.005);
}

static void test_jitter_uniform(void **state)
{
	double frac, max;
	double mean = jitter_mean(SIMLINK_JITTER_UNIFORM, 40.0, 200000, 30.0,
				  &frac, &max);

	assert_true(fabs(mean - 20.0) < 0.15);
	assert_true(fabs(frac - 0.25) < 0.005);
	assert_true(max <= 40.0);
}

static void test_jitter_zero(void **state)
{
	struct simrng r;

	simrng_seed(&r, 4, 0);
	assert_int_equal(simlink_jitter_ns(&r, SIMLINK_JITTER_LOGNORMAL, 0), 0);
}

static struct simclock *clock_make(double ppm, double wander,
				   int64_t offset_ns, uint64_t seed)
{
	struct simclock_config cfg = {
		.offset_ns = offset_ns,
		.ppm = ppm,
		.wander_ppb_per_s = wander,
		.start_host_ns = H0,
		.seed = seed,
	};
	struct simclock *c = NULL;

	assert_int_equal(simclock_new(&cfg, &c), 0);
	return c;
}

static void test_clock_exact(void **state)
{
	const double ppms[] = { 0.0, 20.0, -20.0, 50.0, -49.999, 999.0 };
	const int64_t offsets[] = { 0, 123456789, -5000000000LL };

	for (unsigned i = 0; i < ARRAY_SIZE(ppms); i++) {
		for (unsigned j = 0; j < ARRAY_SIZE(offsets); j++) {
			struct simclock *c =
				clock_make(ppms[i], 0.0, offsets[j], 1);

			for (uint64_t h = H0; h < H0 + 3600 * NSEC_PER_SEC;
			     h += 7777777777ULL) {
				uint64_t ear, back;
				int64_t want = (int64_t)h + offsets[j] +
					       llround(ppms[i] * 1e-6 *
						       (double)h);

				assert_int_equal(
					simclock_ear_of_host(c, h, &ear), 0);
				assert_int_equal((int64_t)ear, want);
				assert_int_equal(
					simclock_host_of_ear(c, ear, &back), 0);
				assert_true(llabs((int64_t)(back - h)) <= 1);
			}
			/* One ppm is 1 us per second, to the ns. */
			if (ppms[i] == 20.0 && offsets[j] == 0) {
				uint64_t a, b;

				assert_int_equal(simclock_ear_of_host(c, H0, &a),
						 0);
				assert_int_equal(simclock_ear_of_host(
							 c, H0 + NSEC_PER_SEC,
							 &b),
						 0);
				assert_int_equal(b - a, NSEC_PER_SEC + 20000);
			}
			simclock_free(c);
		}
	}
}

static void test_clock_inverse(void **state)
{
	struct simclock *c = clock_make(-37.5, 50.0, 987654321, 9);
	struct simrng r;
	uint64_t ear, host;

	simrng_seed(&r, 5, 0);
	/* March forward with random back-steps inside the history. */
	for (int i = 0; i < 100000; i++) {
		uint64_t h = H0 + (uint64_t)i * 36 * NSEC_PER_MSEC +
			     simrng_below(&r, 5 * NSEC_PER_SEC);

		if (i > 0 && i % 1000 == 0) {
			/* 30 s back stays inside the 41 s of history. */
			h -= 30 * NSEC_PER_SEC;
		}
		assert_int_equal(simclock_ear_of_host(c, h, &ear), 0);
		assert_int_equal(simclock_host_of_ear(c, ear, &host), 0);
		assert_true(llabs((int64_t)(host - h)) <= 1);
		/* And the other way round, from an ear instant. */
		assert_int_equal(simclock_host_of_ear(c, ear + 12345, &host),
				 0);
		assert_int_equal(simclock_ear_of_host(c, host, &ear), 0);
	}
	simclock_free(c);
}

static void test_clock_monotonic(void **state)
{
	struct simclock *c = clock_make(-999.0, 1000.0, 0, 10);
	uint64_t prev = 0;

	for (uint64_t h = H0; h < H0 + 60 * NSEC_PER_SEC;
	     h += 999 * NSEC_PER_USEC) {
		uint64_t ear;

		assert_int_equal(simclock_ear_of_host(c, h, &ear), 0);
		assert_true(ear > prev);
		prev = ear;
	}
	simclock_free(c);
}

static void test_clock_wander_steps(void **state)
{
	/*
	 * Increments of the frequency over 1 s have std wander ppb
	 * (the random-walk steps add up in variance: 100 steps of
	 * wander * sqrt(0.01 s)). 3600 increments estimate it to 1.2 %.
	 */
	struct simclock *c = clock_make(10.0, 2.0, 0, 11);
	double prev, f, sum = 0, sq = 0;
	const int n = 3600;

	assert_int_equal(simclock_rate_ppb(c, H0, &prev), 0);
	assert_true(fabs(prev - 10000.0) < 1e-6);
	for (int i = 1; i <= n; i++) {
		assert_int_equal(simclock_rate_ppb(c, H0 + (uint64_t)i *
								 NSEC_PER_SEC,
						   &f),
				 0);
		sum += f - prev;
		sq += (f - prev) * (f - prev);
		prev = f;
	}
	{
		double mean = sum / n;
		double sd = sqrt(sq / n - mean * mean);

		assert_true(fabs(sd - 2.0) < 0.1);
		assert_true(fabs(mean) < 0.15);
	}
	simclock_free(c);
}

static void test_clock_wander_integral(void **state)
{
	/*
	 * W is the integral of the walk: Var W(T) = sigma^2 T^3 / 3 for a
	 * walk of sigma per sqrt(s). 200 clocks estimate it to 10 %.
	 */
	const double sigma = 1e-9; /* 1 ppb per sqrt(s) */
	const double t = 100.0;
	const int n = 200;
	double sq = 0, want = sigma * sigma * t * t * t / 3.0 * 1e18;

	for (int i = 0; i < n; i++) {
		struct simclock *c = clock_make(0.0, 1.0, 0, 1000 + i);
		uint64_t h = H0 + (uint64_t)(t * 1e9), ear;
		double w;

		assert_int_equal(simclock_ear_of_host(c, h, &ear), 0);
		w = (double)((int64_t)ear - (int64_t)h);
		sq += w * w;
		simclock_free(c);
	}
	/* want is in ns^2: (1e-9 * 1000 s^1.5 / sqrt 3) s = 577 ns rms. */
	assert_true(sq / n > want * 0.7 && sq / n < want * 1.3);
}

static void test_clock_history(void **state)
{
	struct simclock *c = clock_make(5.0, 1.0, 0, 12);
	struct simclock *still = clock_make(5.0, 0.0, 0, 12);
	uint64_t ear;

	assert_int_equal(simclock_ear_of_host(c, H0 + 100 * NSEC_PER_SEC,
					      &ear),
			 0);
	assert_int_equal(simclock_ear_of_host(c, H0 + 70 * NSEC_PER_SEC,
					      &ear),
			 0);
	assert_int_equal(simclock_ear_of_host(c, H0 + 50 * NSEC_PER_SEC,
					      &ear),
			 -ERANGE);
	/* Before the wander starts W is 0: no history needed. */
	assert_int_equal(simclock_ear_of_host(c, H0 - NSEC_PER_SEC, &ear), 0);
	/* Without wander there is nothing to remember. */
	assert_int_equal(simclock_ear_of_host(still, H0 + 1000 * NSEC_PER_SEC,
					      &ear),
			 0);
	assert_int_equal(simclock_ear_of_host(still, H0, &ear), 0);
	simclock_free(c);
	simclock_free(still);
}

static void test_clock_invalid(void **state)
{
	struct simclock_config cfg = { .ppm = 2000.0 };
	struct simclock *c = NULL;

	assert_int_equal(simclock_new(&cfg, &c), -EINVAL);
	cfg.ppm = 0;
	cfg.wander_ppb_per_s = -1;
	assert_int_equal(simclock_new(&cfg, &c), -EINVAL);
	cfg.wander_ppb_per_s = NAN;
	assert_int_equal(simclock_new(&cfg, &c), -EINVAL);
	assert_null(c);
	/* The earbud clock cannot read below zero. */
	cfg.wander_ppb_per_s = 0;
	cfg.offset_ns = -(int64_t)H0 * 2;
	assert_int_equal(simclock_new(&cfg, &c), 0);
	{
		uint64_t ear;

		assert_int_equal(simclock_ear_of_host(c, H0, &ear), -ERANGE);
	}
	simclock_free(c);
}

static void test_jitter_pareto(void **state)
{
	double frac, max;
	double mean = jitter_mean(SIMLINK_JITTER_PARETO, 50.0, 1000000, 500.0,
				  &frac, &max);
	struct simrng r;
	double lo = 1e9;

	/*
	 * Mean = scale (pinned). The variance is infinite, so the sample mean
	 * converges like n^(-1/3): 10 % is several of its spreads at 1e6.
	 */
	assert_true(fabs(mean - 50.0) < 5.0);
	/*
	 * Heavy tail: P(X > 10 mean) = (1/30)^1.5 = 0.61 %, against
	 * e^-10 = 0.0045 % for an exponential of the same mean.
	 */
	assert_true(frac > 0.005 && frac < 0.0072);
	assert_true(frac > 100.0 * exp(-10.0));
	/* The clamp: never more than 1 s. */
	assert_true(max <= 1e6);
	/* The minimum is mean / 3 (to the ns the draw is rounded to). */
	simrng_seed(&r, 6, 0);
	for (int i = 0; i < 100000; i++) {
		double ns = (double)simlink_jitter_ns(&r, SIMLINK_JITTER_PARETO,
						      50.0);

		lo = MIN(lo, ns);
	}
	assert_true(lo >= 16666.0 && lo < 16700.0);
}

static void test_jitter_usb(void **state)
{
	struct simrng r, pos, a, b;
	double sum = 0, frac, max;
	const int n = 200000;

	simrng_seed(&r, 7, 0);
	simrng_seed(&pos, 8, 0);
	for (int i = 0; i < n; i++) {
		uint64_t h = H0 + simrng_below(&pos, 10 * NSEC_PER_SEC);
		uint64_t d = simlink_jitter_at_ns(&r, SIMLINK_JITTER_USB, 20.0,
						  h);

		/* Handed over on the host's 125 us microframe grid. */
		assert_int_equal((h + d) % SIMLINK_USB_MICROFRAME_NS, 0);
		sum += (double)d;
	}
	/*
	 * Exponential 20 us, then on average half a microframe: 82.5 us.
	 * One draw's std is about 42 us, the mean's 0.1 us.
	 */
	assert_true(fabs(sum / n / 1e3 - 82.5) < 0.6);
	/* Without the instant, only the exponential part. */
	assert_true(fabs(jitter_mean(SIMLINK_JITTER_USB, 20.0, n, 20.0, &frac,
				     &max) -
			 20.0) < 0.2);
	assert_true(fabs(frac - exp(-1.0)) < 0.005);
	/* The microframe wait is there with no jitter at all. */
	assert_int_equal(simlink_jitter_at_ns(&r, SIMLINK_JITTER_USB, 0.0,
					      H0 + 1),
			 SIMLINK_USB_MICROFRAME_NS - 1);
	assert_int_equal(simlink_jitter_at_ns(&r, SIMLINK_JITTER_USB, 0.0, H0),
			 0);
	/* Every other kind: the same draws as simlink_jitter_ns(). */
	for (int k = 0; k <= SIMLINK_JITTER_PARETO; k++) {
		simrng_seed(&a, 9, 0);
		simrng_seed(&b, 9, 0);
		for (int i = 0; i < 1000; i++) {
			assert_int_equal(simlink_jitter_at_ns(&a, k, 30.0,
							      H0 + 77 * i),
					 simlink_jitter_ns(&b, k, 30.0));
		}
	}
}

static struct simclock *clock_step_make(double ppm, double wander,
					uint64_t step_at, double step_ppm)
{
	struct simclock_config cfg = {
		.offset_ns = 5 * (int64_t)NSEC_PER_SEC,
		.ppm = ppm,
		.wander_ppb_per_s = wander,
		.start_host_ns = H0,
		.seed = 21,
		.step_at_host_ns = step_at,
		.step_ppm = step_ppm,
	};
	struct simclock *c = NULL;

	assert_int_equal(simclock_new(&cfg, &c), 0);
	return c;
}

/* ear(h + 1 s) - ear(h) - 1 s, in ns. */
static int64_t clock_gain_1s(struct simclock *c, uint64_t h)
{
	uint64_t a, b;

	assert_int_equal(simclock_ear_of_host(c, h, &a), 0);
	assert_int_equal(simclock_ear_of_host(c, h + NSEC_PER_SEC, &b), 0);
	return (int64_t)(b - a) - (int64_t)NSEC_PER_SEC;
}

static void test_clock_step(void **state)
{
	const uint64_t at = H0 + 100 * NSEC_PER_SEC + 123;
	const double steps[] = { 3.0, -7.25, 1000.0 - 20.0 };

	for (unsigned i = 0; i < ARRAY_SIZE(steps); i++) {
		struct simclock *c = clock_step_make(20.0, 0.0, at, steps[i]);
		struct simclock *flat = clock_step_make(20.0, 0.0, 0, steps[i]);
		int64_t step_ns = llround(steps[i] * 1e3);
		uint64_t e, f, e1;
		double ppb;

		/* The rate over 1 s spans: 20 ppm before, + step after. */
		assert_true(llabs(clock_gain_1s(c, at - 5 * NSEC_PER_SEC) -
				  20000) <= 1);
		assert_true(llabs(clock_gain_1s(c, at + 5 * NSEC_PER_SEC) -
				  20000 - step_ns) <= 1);
		assert_true(llabs(clock_gain_1s(c, at + 3600 * NSEC_PER_SEC) -
				  20000 - step_ns) <= 1);
		assert_int_equal(simclock_rate_ppb(c, at - 1, &ppb), 0);
		assert_true(fabs(ppb - 20000.0) < 1e-6);
		assert_int_equal(simclock_rate_ppb(c, at, &ppb), 0);
		assert_true(fabs(ppb - 20000.0 - steps[i] * 1e3) < 1e-6);
		/* Phase continuous: no jump at the step, same as unstepped. */
		for (uint64_t h = at - 3; h <= at + 3; h++) {
			assert_int_equal(simclock_ear_of_host(c, h, &e), 0);
			assert_int_equal(simclock_ear_of_host(flat, h, &f), 0);
			assert_true(llabs((int64_t)(e - f)) <= 1);
		}
		assert_int_equal(simclock_ear_of_host(c, at, &e), 0);
		assert_int_equal(simclock_ear_of_host(c, at + 1, &e1), 0);
		assert_true(e1 - e <= 2);
		/* After it, the step term exactly. */
		assert_int_equal(simclock_ear_of_host(c, at + 50 * NSEC_PER_SEC,
						      &e),
				 0);
		assert_int_equal(simclock_ear_of_host(flat,
						      at + 50 * NSEC_PER_SEC,
						      &f),
				 0);
		assert_true(llabs((int64_t)(e - f) - 50 * step_ns) <= 1);
		simclock_free(c);
		simclock_free(flat);
	}
}

static void test_clock_step_inverse(void **state)
{
	const uint64_t at = H0 + 30 * NSEC_PER_SEC;
	struct simclock *c = clock_step_make(-37.5, 5.0, at, 12.5);
	struct simclock *far = clock_step_make(-900.0, 0.0, at, -100.0);
	uint64_t ear, back;

	/* Around the step, ns by ns, and well past it. */
	for (uint64_t h = at - 2000; h < at + 2000; h += 7) {
		assert_int_equal(simclock_ear_of_host(c, h, &ear), 0);
		assert_int_equal(simclock_host_of_ear(c, ear, &back), 0);
		assert_true(llabs((int64_t)(back - h)) <= 1);
	}
	for (uint64_t h = H0; h < H0 + 120 * NSEC_PER_SEC;
	     h += 3 * NSEC_PER_MSEC + 17) {
		assert_int_equal(simclock_ear_of_host(c, h, &ear), 0);
		assert_int_equal(simclock_host_of_ear(c, ear, &back), 0);
		assert_true(llabs((int64_t)(back - h)) <= 1);
	}
	/* -1000 ppm after the step, a million seconds on. */
	for (uint64_t h = H0; h < H0 + 1000000 * NSEC_PER_SEC;
	     h += 999999999937ULL) {
		assert_int_equal(simclock_ear_of_host(far, h, &ear), 0);
		assert_int_equal(simclock_host_of_ear(far, ear, &back), 0);
		assert_true(llabs((int64_t)(back - h)) <= 1);
	}
	simclock_free(c);
	simclock_free(far);
}

static void test_clock_step_invalid(void **state)
{
	struct simclock_config cfg = {
		.ppm = 900.0,
		.step_at_host_ns = H0,
		.step_ppm = 100.5,
	};
	struct simclock *c = NULL;

	assert_int_equal(simclock_new(&cfg, &c), -EINVAL);
	cfg.ppm = -500;
	cfg.step_ppm = -600;
	assert_int_equal(simclock_new(&cfg, &c), -EINVAL);
	cfg.step_ppm = NAN;
	assert_int_equal(simclock_new(&cfg, &c), -EINVAL);
	cfg.ppm = 0;
	cfg.step_ppm = 1000.5;
	assert_int_equal(simclock_new(&cfg, &c), -EINVAL);
	assert_null(c);
	cfg.ppm = 1000;
	cfg.step_ppm = -2000;
	assert_int_equal(simclock_new(&cfg, &c), -EINVAL);
	cfg.step_ppm = -1000;
	assert_int_equal(simclock_new(&cfg, &c), 0);
	simclock_free(c);
}

struct rig {
	struct simclock *ear;
	struct simlink *link;
	struct simlink_config cfg;
};

static void rig_make(struct rig *g, const struct simlink_config *cfg,
		     double ear_ppm)
{
	g->ear = clock_make(ear_ppm, 0.0, 777 * (int64_t)NSEC_PER_MSEC, 13);
	g->cfg = *cfg;
	assert_int_equal(simlink_new(cfg, g->ear, &g->link), 0);
}

static void rig_free(struct rig *g)
{
	g->link = simlink_free(g->link);
	g->ear = simclock_free(g->ear);
}

/* Event j of the first epoch, straight from the pinned formula. */
static uint64_t want_event(const struct simlink_config *cfg, uint64_t j)
{
	double dongle = (double)cfg->anchor_phase_us * 1e3 +
			(double)j * cfg->ci_us * 1e3;

	return cfg->start_host_ns +
	       (uint64_t)llround(dongle / (1.0 + cfg->dongle_ppm * 1e-6));
}

static const struct simlink_config base_cfg = {
	.start_host_ns = H0,
	.ci_us = 7500,
	.anchor_phase_us = 1234,
	.dongle_ppm = 30.0,
	.loss = 0.0,
	.jitter = SIMLINK_JITTER_EXPONENTIAL,
	.jitter_us = 0.0,
	.seed = 99,
};

static void test_link_events(void **state)
{
	struct rig g;
	uint64_t ev, prev = 0;

	rig_make(&g, &base_cfg, 20.0);
	/* Before the first event, the first event. */
	assert_int_equal(simlink_next_event(g.link, H0 - 5, &ev), 0);
	assert_int_equal(ev, H0 + (uint64_t)llround(1234e3 / (1 + 30e-6)));
	for (uint64_t j = 0; j < 480000; j++) {
		uint64_t e = want_event(&base_cfg, j);

		/* At or after: the event itself, then the next one. */
		assert_int_equal(simlink_next_event(g.link, e, &ev), 0);
		assert_int_equal(ev, e);
		assert_int_equal(simlink_next_event(g.link, e - 1, &ev), 0);
		assert_int_equal(ev, e);
		assert_int_equal(simlink_next_event(g.link, e + 1, &ev), 0);
		assert_int_equal(ev, want_event(&base_cfg, j + 1));
		/*
		 * Spaced one interval of dongle time: 7.5 ms / (1 + 30e-6)
		 * host ns, give or take the rounding to whole ns.
		 */
		if (j > 0) {
			double gap = (double)(e - prev);

			assert_true(fabs(gap - 7500000.0 / (1 + 30e-6)) <= 1.0);
		}
		prev = e;
	}
	/*
	 * After an hour of events the dongle's +30 ppm shows: they come
	 * 3600 s * 30e-6 / (1 + 30e-6) = 107.997 ms early in host time.
	 */
	{
		int64_t early = (int64_t)(H0 + 1234000 +
					  479999ULL * 7500000ULL - prev);

		assert_true(early > 107990000 && early < 108000000);
	}
	rig_free(&g);
}

static void test_link_downlink(void **state)
{
	struct rig g;
	uint64_t ev, t2, ear;

	rig_make(&g, &base_cfg, -20.0);
	for (uint64_t j = 10; j < 20; j++) {
		uint64_t e = want_event(&base_cfg, j);

		/* Reaches the dongle exactly at the event: goes then. */
		assert_int_equal(simlink_downlink(g.link,
						  e - SIMLINK_HCI_DELAY_NS, &ev,
						  &t2),
				 0);
		assert_int_equal(ev, e);
		assert_int_equal(simclock_ear_of_host(g.ear, e, &ear), 0);
		assert_int_equal(t2, ear + SIMLINK_AIR_NS);
		/* One ns late: waits a whole interval. */
		assert_int_equal(simlink_downlink(g.link,
						  e - SIMLINK_HCI_DELAY_NS + 1,
						  &ev, &t2),
				 0);
		assert_int_equal(ev, want_event(&base_cfg, j + 1));
	}
	rig_free(&g);
}

static void test_link_uplink(void **state)
{
	struct rig g;
	uint64_t ev, t3, rx, ear, t2, dev, ready;

	rig_make(&g, &base_cfg, 45.0);
	for (uint64_t j = 3; j < 300; j += 7) {
		uint64_t e = want_event(&base_cfg, j);

		assert_int_equal(simlink_uplink(g.link, e, &ev, &t3, &rx), 0);
		assert_int_equal(ev, e);
		assert_int_equal(simclock_ear_of_host(g.ear, e, &ear), 0);
		assert_int_equal(t3, ear);
		assert_int_equal(rx, e + SIMLINK_HCI_DELAY_NS);
		/*
		 * A whole exchange: the reply, queued 50 us after t2, leaves
		 * at the event after the one that brought the request.
		 */
		assert_int_equal(simlink_downlink(g.link, e - 3000000, &dev,
						  &t2),
				 0);
		assert_int_equal(dev, e);
		assert_int_equal(simclock_host_of_ear(g.ear,
						      t2 + SIMLINK_REPLY_NS,
						      &ready),
				 0);
		assert_int_equal(simlink_uplink(g.link, ready, &ev, &t3, &rx),
				 0);
		assert_int_equal(ev, want_event(&base_cfg, j + 1));
		assert_int_equal(simclock_ear_of_host(g.ear, ev, &ear), 0);
		assert_int_equal(t3, ear);
		assert_true(t3 > t2);
	}
	rig_free(&g);
}

static void test_link_loss(void **state)
{
	struct simlink_config cfg = base_cfg;
	struct simlink_stats st;
	struct rig g;
	uint64_t waits[4] = { 0 };
	const int n = 100000;

	cfg.loss = 0.5;
	rig_make(&g, &cfg, 0.0);
	for (int i = 0; i < n; i++) {
		uint64_t e = want_event(&cfg, 100 + (uint64_t)i);
		uint64_t ev, t2, k;

		assert_int_equal(simlink_downlink(g.link,
						  e - SIMLINK_HCI_DELAY_NS, &ev,
						  &t2),
				 0);
		/* Retries land on later events, never between them. */
		for (k = 0; k < 64; k++) {
			if (want_event(&cfg, 100 + (uint64_t)i + k) == ev) {
				break;
			}
		}
		assert_true(k < 64);
		waits[MIN(k, 3)]++;
	}
	/* Geometric: half go at once, a quarter one event later, ... */
	assert_true(fabs((double)waits[0] / n - 0.5) < 0.01);
	assert_true(fabs((double)waits[1] / n - 0.25) < 0.01);
	assert_true(fabs((double)waits[2] / n - 0.125) < 0.01);
	simlink_stats(g.link, &st);
	assert_int_equal(st.packets, n);
	assert_true(fabs((double)st.lost_tries / n - 1.0) < 0.03);
	rig_free(&g);
}

static void test_link_jitter(void **state)
{
	struct simlink_config cfg = base_cfg;
	struct rig g;
	double sum = 0;
	int late = 0;
	const int n = 50000;

	cfg.jitter = SIMLINK_JITTER_EXPONENTIAL;
	cfg.jitter_us = 20.0;
	rig_make(&g, &cfg, 0.0);
	for (int i = 0; i < n; i++) {
		uint64_t e = want_event(&cfg, 10 + (uint64_t)i);
		uint64_t ev, t3, rx, t2;

		assert_int_equal(simlink_uplink(g.link, e, &ev, &t3, &rx), 0);
		assert_true(rx >= e + SIMLINK_HCI_DELAY_NS);
		sum += (double)(rx - e - SIMLINK_HCI_DELAY_NS);
		/*
		 * A request sent 110 us before an event makes it only if its
		 * jitter is under 10 us: 1 - exp(-0.5) = 39 % of the time.
		 */
		assert_int_equal(simlink_downlink(g.link, e - 110000, &ev,
						  &t2),
				 0);
		late += ev != e;
	}
	assert_true(fabs(sum / n / 1e3 - 20.0) < 0.4);
	assert_true(fabs((double)late / n - exp(-0.5)) < 0.01);
	rig_free(&g);
}

static void test_link_drop(void **state)
{
	struct simlink_config cfg = base_cfg;
	uint64_t down = H0 + 20 * NSEC_PER_SEC, up = down + 3 * NSEC_PER_SEC;
	uint64_t d, u, ev, t2, t3, rx, ear, first_after;
	struct rig g;

	cfg.drop_at_ns = down;
	cfg.drop_for_ns = 3 * NSEC_PER_SEC;
	rig_make(&g, &cfg, 10.0);
	assert_int_equal(simlink_drop(g.link, &d, &u), 0);
	assert_int_equal(d, down);
	assert_int_equal(u, up);
	assert_true(simlink_up(g.link, down - 1));
	assert_false(simlink_up(g.link, down));
	assert_false(simlink_up(g.link, up - 1));
	assert_true(simlink_up(g.link, up));
	/* Nothing passes either way while down. */
	assert_int_equal(simlink_downlink(g.link, down + 1000, &ev, &t2),
			 -ENOTCONN);
	assert_int_equal(simlink_uplink(g.link, up - 1000, &ev, &t3, &rx),
			 -ENOTCONN);
	/* Sent just before the drop, its event would fall inside it. */
	assert_int_equal(simlink_downlink(g.link, down - 150000, &ev, &t2),
			 -ENOTCONN);
	/* Still fine well before. */
	assert_int_equal(simlink_downlink(g.link, down - 20000000, &ev, &t2),
			 0);
	assert_true(ev < down);
	/* Back with a new anchor: events in [up, up + ci), spaced ci. */
	assert_int_equal(simlink_next_event(g.link, up, &first_after), 0);
	assert_true(first_after >= up && first_after < up + 7500000);
	for (int j = 0; j < 100; j++) {
		assert_int_equal(simlink_next_event(g.link, first_after +
								    (uint64_t)j *
									    7499775 +
								    100,
						    &ev),
				 0);
		assert_true(llabs((int64_t)(ev - first_after) -
				  (int64_t)llround((j + 1) * 7500000 /
						   (1 + 30e-6))) <= 1);
	}
	/* The earbud clock kept running through the drop. */
	assert_int_equal(simlink_uplink(g.link, up, &ev, &t3, &rx), 0);
	assert_int_equal(ev, first_after);
	assert_int_equal(simclock_ear_of_host(g.ear, ev, &ear), 0);
	assert_int_equal(t3, ear);
	rig_free(&g);
}

static void test_link_reproducible(void **state)
{
	struct simlink_config cfg = base_cfg;
	struct rig a, b;
	uint64_t da, ua, db, ub;

	cfg.loss = 0.2;
	cfg.jitter = SIMLINK_JITTER_LOGNORMAL;
	cfg.jitter_us = 80.0;
	cfg.drop_at_ns = H0 + 10 * NSEC_PER_SEC;
	cfg.drop_for_ns = NSEC_PER_SEC;
	rig_make(&a, &cfg, 50.0);
	rig_make(&b, &cfg, 50.0);
	assert_int_equal(simlink_drop(a.link, &da, &ua), 0);
	assert_int_equal(simlink_drop(b.link, &db, &ub), 0);
	for (uint64_t h = H0; h < H0 + 30 * NSEC_PER_SEC; h += 3333333) {
		uint64_t e1 = 0, e2 = 0, s1 = 0, s2 = 0, r1 = 0, r2 = 0;
		int x = simlink_downlink(a.link, h, &e1, &s1);
		int y = simlink_downlink(b.link, h, &e2, &s2);

		assert_int_equal(x, y);
		assert_int_equal(e1, e2);
		assert_int_equal(s1, s2);
		x = simlink_uplink(a.link, h, &e1, &s1, &r1);
		y = simlink_uplink(b.link, h, &e2, &s2, &r2);
		assert_int_equal(x, y);
		assert_int_equal(r1, r2);
	}
	rig_free(&a);
	rig_free(&b);
}

static void test_link_invalid(void **state)
{
	struct simclock *c = clock_make(0, 0, 0, 1);
	struct simlink_config cfg = base_cfg;
	struct simlink *l = NULL;

	cfg.ci_us = 7000;
	assert_int_equal(simlink_new(&cfg, c, &l), -EINVAL);
	cfg = base_cfg;
	cfg.anchor_phase_us = cfg.ci_us;
	assert_int_equal(simlink_new(&cfg, c, &l), -EINVAL);
	cfg = base_cfg;
	cfg.loss = 0.95;
	assert_int_equal(simlink_new(&cfg, c, &l), -EINVAL);
	cfg = base_cfg;
	cfg.jitter_us = -1;
	assert_int_equal(simlink_new(&cfg, c, &l), -EINVAL);
	cfg = base_cfg;
	assert_int_equal(simlink_new(&cfg, NULL, &l), -EINVAL);
	assert_null(l);
	simclock_free(c);
}

static void test_link_anchor_jitter(void **state)
{
	struct simlink_config cfg = base_cfg;
	const uint64_t n = 20000;
	struct rig g, h;
	uint64_t ev, prev = 0, t2, ear, *seen;
	double sum = 0, sq = 0, worst = 0;

	cfg.anchor_jitter_us = 2.0;
	rig_make(&g, &cfg, 20.0);
	rig_make(&h, &cfg, 20.0);
	seen = calloc(n, sizeof(*seen));
	assert_non_null(seen);
	/* Walk the events in order: each within +-2 us of the grid. */
	for (uint64_t j = 0; j < n; j++) {
		double d;

		assert_int_equal(simlink_next_event(g.link, prev + 1, &ev), 0);
		assert_true(ev > prev);
		d = (double)((int64_t)(ev - want_event(&cfg, j)));
		assert_true(fabs(d) <= 2000.0);
		sum += d;
		sq += d * d;
		worst = MAX(worst, fabs(d));
		seen[j] = ev;
		prev = ev;
	}
	/* Uniform on [-2, 2] us: mean 0, std 2 / sqrt(3) us. */
	assert_true(fabs(sum / n) < 30.0);
	assert_true(fabs(sqrt(sq / n) - 2000.0 / sqrt(3.0)) < 20.0);
	assert_true(worst > 1990.0);
	/*
	 * Asked backwards, on another link, from just before each event's
	 * window: the same instants. The draw is the event's, not the
	 * question's.
	 */
	for (uint64_t j = n; j-- > 0;) {
		assert_int_equal(simlink_next_event(h.link,
						    want_event(&cfg, j) - 2001,
						    &ev),
				 0);
		assert_int_equal(ev, seen[j]);
	}
	/* Both ends see the moved instant: delivery and t2 refer to it. */
	for (uint64_t j = 100; j < 200; j++) {
		uint64_t send = seen[j] - SIMLINK_HCI_DELAY_NS;

		assert_int_equal(simlink_downlink(h.link, send, &ev, &t2), 0);
		assert_int_equal(ev, seen[j]);
		assert_int_equal(simclock_ear_of_host(h.ear, ev, &ear), 0);
		assert_int_equal(t2, ear + SIMLINK_AIR_NS);
		assert_int_equal(simlink_uplink(h.link, seen[j] + 1, &ev, NULL,
						NULL),
				 0);
		assert_int_equal(ev, seen[j + 1]);
	}
	free(seen);
	rig_free(&g);
	rig_free(&h);
}

static void test_link_anchor_jitter_edges(void **state)
{
	struct simlink_config cfg = base_cfg;
	struct rig g;
	uint64_t ev, prev, d, u;
	int moved = 0;

	/* The widest jitter on a long interval, a first event at the start. */
	cfg.ci_us = 30000;
	cfg.anchor_phase_us = 0;
	cfg.anchor_jitter_us = 1000.0;
	cfg.drop_at_ns = H0 + 10 * NSEC_PER_SEC;
	cfg.drop_for_ns = NSEC_PER_SEC;
	rig_make(&g, &cfg, 0.0);
	assert_int_equal(simlink_next_event(g.link, 0, &ev), 0);
	assert_true(ev >= H0 && ev <= H0 + 1000000);
	prev = ev;
	for (uint64_t j = 1; j < 300; j++) {
		assert_int_equal(simlink_next_event(g.link, prev + 1, &ev), 0);
		assert_true(llabs((int64_t)(ev - want_event(&cfg, j))) <=
			    1000000);
		moved += ev != want_event(&cfg, j);
		prev = ev;
	}
	assert_true(moved > 290);
	/* After the reconnect too: never before the link is up. */
	assert_int_equal(simlink_drop(g.link, &d, &u), 0);
	assert_int_equal(simlink_next_event(g.link, u, &ev), 0);
	assert_true(ev >= u && ev < u + 31000000);
	rig_free(&g);
}

static void test_link_new_keys_keep_draws(void **state)
{
	/*
	 * The anchor jitter has its own draws: the loss and HCI jitter of a
	 * link with it are those of the same link without, packet by packet.
	 */
	struct simlink_config cfg = base_cfg;
	struct rig a, b;

	cfg.loss = 0.3;
	cfg.jitter = SIMLINK_JITTER_LOGNORMAL;
	cfg.jitter_us = 40.0;
	cfg.drop_at_ns = H0 + 5 * NSEC_PER_SEC;
	cfg.drop_for_ns = NSEC_PER_SEC;
	rig_make(&a, &cfg, 0.0);
	cfg.anchor_jitter_us = 1.5;
	rig_make(&b, &cfg, 0.0);
	for (uint64_t h = H0; h < H0 + 10 * NSEC_PER_SEC; h += 2 * 7500000) {
		uint64_t ea, eb, na, nb, ra = 0, rb = 0, ta, tb;
		int x = simlink_uplink(a.link, h, &ea, NULL, &ra);
		int y = simlink_uplink(b.link, h, &eb, NULL, &rb);

		assert_int_equal(x, y);
		if (x < 0) {
			continue;
		}
		/* The same number of lost events, the same HCI delay. */
		assert_int_equal(simlink_next_event(a.link, h, &na), 0);
		assert_int_equal(simlink_next_event(b.link, h, &nb), 0);
		assert_true(llabs((int64_t)(ea - na) - (int64_t)(eb - nb)) <=
			    3000);
		assert_int_equal(ra - ea, rb - eb);
		x = simlink_downlink(a.link, h, &ea, &ta);
		y = simlink_downlink(b.link, h, &eb, &tb);
		assert_int_equal(x, y);
	}
	rig_free(&a);
	rig_free(&b);
}

/* Events from `from` on: n instants, asked one after the other. */
static void link_walk(struct simlink *l, uint64_t from, uint64_t *ev,
		      unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(simlink_next_event(l, from, &ev[i]), 0);
		from = ev[i] + 1;
	}
}

/* Host ns of `ci_us` of dongle time at +30 ppm (base_cfg). */
static double host_of_ci(uint32_t ci_us)
{
	return ci_us * 1e3 / (1 + 30e-6);
}

static void test_link_ci_change(void **state)
{
	struct simlink_config cfg = base_cfg;
	uint64_t ev[3000], at, instant;
	unsigned k = 0;
	struct rig g;

	cfg.ci_change_at_ns = H0 + 10 * NSEC_PER_SEC;
	cfg.ci_change_to_us = 15000;
	rig_make(&g, &cfg, 20.0);
	assert_int_equal(simlink_ci_change(g.link, &instant), 0);
	link_walk(g.link, H0, ev, ARRAY_SIZE(ev));
	/* The change's event: the first at or after the asked instant. */
	while (ev[k] < cfg.ci_change_at_ns) {
		k++;
	}
	assert_int_equal(ev[k], instant);
	assert_int_equal(ev[k], want_event(&cfg, k));
	for (unsigned i = 1; i < ARRAY_SIZE(ev); i++) {
		double gap = (double)(ev[i] - ev[i - 1]);

		assert_true(fabs(gap - host_of_ci(i <= k ? 7500 : 15000)) <=
			    1.0);
	}
	/* The interval in force switches at that event. */
	assert_int_equal(simlink_ci_us(g.link, H0), 7500);
	assert_int_equal(simlink_ci_us(g.link, instant - 1), 7500);
	assert_int_equal(simlink_ci_us(g.link, instant), 15000);
	assert_int_equal(simlink_ci_us(g.link, instant + 3600 * NSEC_PER_SEC),
			 15000);
	/* A packet after the instant waits for the new grid. */
	{
		uint64_t e, t2;

		assert_int_equal(simlink_downlink(g.link,
						  instant + 1 -
							  SIMLINK_HCI_DELAY_NS,
						  &e, &t2),
				 0);
		assert_int_equal(e, ev[k + 1]);
	}
	rig_free(&g);
	/* An event exactly at the asked instant is the last of the old. */
	cfg.ci_change_at_ns = want_event(&cfg, 100);
	rig_make(&g, &cfg, 20.0);
	assert_int_equal(simlink_ci_change(g.link, &at), 0);
	assert_int_equal(at, cfg.ci_change_at_ns);
	link_walk(g.link, at, ev, 3);
	assert_true(fabs((double)(ev[1] - ev[0]) - host_of_ci(15000)) <= 1.0);
	rig_free(&g);
	/* None configured. */
	rig_make(&g, &base_cfg, 20.0);
	assert_int_equal(simlink_ci_change(g.link, &at), -ENOENT);
	assert_int_equal(simlink_ci_us(g.link, H0 + 3600 * NSEC_PER_SEC),
			 7500);
	rig_free(&g);
}

static void test_link_ci_change_drop(void **state)
{
	struct simlink_config cfg = base_cfg;
	uint64_t ev[200], down, up, instant;
	struct rig g;

	/* Changed before the drop: the reconnected link keeps it. */
	cfg.ci_change_at_ns = H0 + 2 * NSEC_PER_SEC;
	cfg.ci_change_to_us = 30000;
	cfg.drop_at_ns = H0 + 5 * NSEC_PER_SEC;
	cfg.drop_for_ns = NSEC_PER_SEC;
	rig_make(&g, &cfg, 0.0);
	assert_int_equal(simlink_drop(g.link, &down, &up), 0);
	assert_int_equal(simlink_ci_change(g.link, &instant), 0);
	assert_true(instant >= cfg.ci_change_at_ns && instant < down);
	link_walk(g.link, up, ev, ARRAY_SIZE(ev));
	assert_true(ev[0] >= up && ev[0] < up + 30000000);
	for (unsigned i = 1; i < ARRAY_SIZE(ev); i++) {
		assert_true(fabs((double)(ev[i] - ev[i - 1]) -
				 host_of_ci(30000)) <= 1.0);
	}
	assert_int_equal(simlink_ci_us(g.link, up), 30000);
	rig_free(&g);
	/*
	 * Asked for while the link is down: the reconnected link's first
	 * event is the old grid's last, then the new interval.
	 */
	cfg.ci_change_at_ns = H0 + 5500 * NSEC_PER_MSEC;
	rig_make(&g, &cfg, 0.0);
	assert_int_equal(simlink_ci_change(g.link, &instant), 0);
	link_walk(g.link, up, ev, 10);
	assert_int_equal(ev[0], instant);
	assert_true(ev[0] >= up);
	assert_int_equal(simlink_ci_us(g.link, down + 1), 7500);
	for (unsigned i = 1; i < 10; i++) {
		assert_true(fabs((double)(ev[i] - ev[i - 1]) -
				 host_of_ci(30000)) <= 1.0);
	}
	rig_free(&g);
	/* Asked for after the reconnect: old interval, then the change. */
	cfg.ci_change_at_ns = H0 + 8 * NSEC_PER_SEC;
	cfg.ci_change_to_us = 7500;
	cfg.ci_us = 15000;
	rig_make(&g, &cfg, 0.0);
	assert_int_equal(simlink_ci_change(g.link, &instant), 0);
	assert_true(instant >= cfg.ci_change_at_ns &&
		    instant < cfg.ci_change_at_ns + 15000000);
	link_walk(g.link, up, ev, ARRAY_SIZE(ev));
	for (unsigned i = 1; i < ARRAY_SIZE(ev); i++) {
		uint32_t ci = ev[i - 1] < instant ? 15000 : 7500;

		assert_true(fabs((double)(ev[i] - ev[i - 1]) -
				 host_of_ci(ci)) <= 1.0);
	}
	rig_free(&g);
}

static void test_link_usb(void **state)
{
	struct simlink_config cfg = base_cfg;
	struct rig g;
	double sum = 0;
	const int n = 50000;

	cfg.jitter = SIMLINK_JITTER_USB;
	cfg.jitter_us = 50.0;
	rig_make(&g, &cfg, 0.0);
	for (int i = 0; i < n; i++) {
		uint64_t e = want_event(&cfg, 10 + (uint64_t)i);
		uint64_t ev, rx, t2;

		assert_int_equal(simlink_uplink(g.link, e, &ev, NULL, &rx), 0);
		assert_int_equal(ev, e);
		/* The host has it at a microframe start of its own clock. */
		assert_int_equal(rx % SIMLINK_USB_MICROFRAME_NS, 0);
		assert_true(rx >= e + SIMLINK_HCI_DELAY_NS);
		sum += (double)(rx - e - SIMLINK_HCI_DELAY_NS);
		assert_int_equal(simlink_downlink(g.link, e - 500000, &ev, &t2),
				 0);
	}
	/*
	 * Mean 50 us, plus half a microframe on average: the dongle's
	 * +30 ppm slides the events over the grid.
	 */
	assert_true(fabs(sum / n / 1e3 - 112.5) < 1.0);
	rig_free(&g);
}

static void test_link_invalid_new_keys(void **state)
{
	struct simclock *c = clock_make(0, 0, 0, 1);
	struct simlink_config cfg = base_cfg;
	struct simlink *l = NULL;

	cfg.anchor_jitter_us = -1;
	assert_int_equal(simlink_new(&cfg, c, &l), -EINVAL);
	cfg.anchor_jitter_us = 1000.5;
	cfg.ci_us = 30000;
	assert_int_equal(simlink_new(&cfg, c, &l), -EINVAL);
	cfg.anchor_jitter_us = NAN;
	assert_int_equal(simlink_new(&cfg, c, &l), -EINVAL);
	cfg = base_cfg;
	cfg.ci_change_to_us = 6250;
	assert_int_equal(simlink_new(&cfg, c, &l), -EINVAL);
	cfg.ci_change_to_us = 4001250;
	assert_int_equal(simlink_new(&cfg, c, &l), -EINVAL);
	cfg = base_cfg;
	cfg.jitter = (enum simlink_jitter)(SIMLINK_JITTER_USB + 1);
	assert_int_equal(simlink_new(&cfg, c, &l), -EINVAL);
	assert_null(l);
	/* The widest allowed. */
	cfg = base_cfg;
	cfg.anchor_jitter_us = 1000.0;
	cfg.ci_change_to_us = 7500;
	cfg.jitter = SIMLINK_JITTER_USB;
	assert_int_equal(simlink_new(&cfg, c, &l), 0);
	l = simlink_free(l);
	simclock_free(c);
}

static void test_jitter_names(void **state)
{
	enum simlink_jitter j;

	for (int i = 0; i <= SIMLINK_JITTER_USB; i++) {
		assert_int_equal(simlink_jitter_from_string(
					 simlink_jitter_name(i), &j),
				 0);
		assert_int_equal(j, i);
	}
	assert_int_equal(simlink_jitter_from_string("gaussian", &j), -EINVAL);
}

/* cmocka_unit_test() with the "module/what_it_checks" name. */
#define simmodel_unit_test(what)                                              \
	{                                                                     \
		"simmodel/" #what, test_##what, NULL, NULL, NULL              \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		simmodel_unit_test(rng_reproducible),
		simmodel_unit_test(rng_uniform),
		simmodel_unit_test(rng_normal),
		simmodel_unit_test(jitter_exponential),
		simmodel_unit_test(jitter_lognormal),
		simmodel_unit_test(jitter_uniform),
		simmodel_unit_test(jitter_zero),
		simmodel_unit_test(jitter_pareto),
		simmodel_unit_test(jitter_usb),
		simmodel_unit_test(jitter_names),
		simmodel_unit_test(clock_exact),
		simmodel_unit_test(clock_inverse),
		simmodel_unit_test(clock_monotonic),
		simmodel_unit_test(clock_wander_steps),
		simmodel_unit_test(clock_wander_integral),
		simmodel_unit_test(clock_history),
		simmodel_unit_test(clock_invalid),
		simmodel_unit_test(clock_step),
		simmodel_unit_test(clock_step_inverse),
		simmodel_unit_test(clock_step_invalid),
		simmodel_unit_test(link_events),
		simmodel_unit_test(link_downlink),
		simmodel_unit_test(link_uplink),
		simmodel_unit_test(link_loss),
		simmodel_unit_test(link_jitter),
		simmodel_unit_test(link_drop),
		simmodel_unit_test(link_reproducible),
		simmodel_unit_test(link_invalid),
		simmodel_unit_test(link_anchor_jitter),
		simmodel_unit_test(link_anchor_jitter_edges),
		simmodel_unit_test(link_new_keys_keep_draws),
		simmodel_unit_test(link_ci_change),
		simmodel_unit_test(link_ci_change_drop),
		simmodel_unit_test(link_usb),
		simmodel_unit_test(link_invalid_new_keys),
	};

	return cmocka_run_group_tests_name("simmodel", tests, NULL, NULL);
}
