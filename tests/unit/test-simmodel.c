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
#include "sim/simvirt.h"

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

static void test_jitter_names(void **state)
{
	enum simlink_jitter j;

	for (int i = 0; i <= SIMLINK_JITTER_UNIFORM; i++) {
		assert_int_equal(simlink_jitter_from_string(
					 simlink_jitter_name(i), &j),
				 0);
		assert_int_equal(j, i);
	}
	assert_int_equal(simlink_jitter_from_string("gaussian", &j), -EINVAL);
}

/* A hard little scenario: every feature of the model at once. */
static void virt_scenario(struct scenario *sc)
{
	scenario_default(sc);
	sc->duration_s = 30.0;
	sc->seed = 4242;
	sc->dongle_ppm = 15.0;
	sc->ear[0].ppm = 35.0;
	sc->ear[0].wander_ppb_per_s = 3.0;
	sc->ear[0].offset_ms = 4321.0;
	sc->ear[0].ci_us = 15000;
	sc->ear[0].anchor_phase_us = 1000;
	sc->ear[0].loss = 0.05;
	sc->ear[0].hci_jitter_dist = SIMLINK_JITTER_LOGNORMAL;
	sc->ear[0].hci_jitter_us = 50.0;
	sc->ear[1].ppm = -25.0;
	sc->ear[1].ci_us = 7500;
	sc->ear[1].anchor_phase_us = 5000;
	sc->ear[1].hci_jitter_dist = SIMLINK_JITTER_UNIFORM;
	sc->ear[1].hci_jitter_us = 40.0;
	sc->ear[1].drop_at_s = 10.0;
	sc->ear[1].drop_for_s = 3.0;
}

static struct simvirt_result *virt_run(const struct scenario *sc,
				       unsigned estimators)
{
	struct simvirt_result *res = malloc(sizeof(*res));
	struct simvirt_options opt;

	assert_non_null(res);
	simvirt_options_default(&opt);
	opt.estimators = estimators;
	assert_int_equal(simvirt_run(sc, &opt, res), 0);
	return res;
}

static void assert_est_equal(const struct simvirt_estimator *a,
			     const struct simvirt_estimator *b)
{
	assert_int_equal(a->enabled, b->enabled);
	assert_memory_equal(&a->err, &b->err, sizeof(a->err));
	assert_memory_equal(&a->err_sum_ns, &b->err_sum_ns,
			    sizeof(a->err_sum_ns));
	assert_int_equal(a->over_15us, b->over_15us);
	assert_int_equal(a->delay_ns, b->delay_ns);
	for (int s = 0; s < SCENARIO_SIDES; s++) {
		const struct simvirt_ear *x = &a->ear[s], *y = &b->ear[s];

		assert_int_equal(x->rendered, y->rendered);
		assert_int_equal(x->late, y->late);
		assert_int_equal(x->lost, y->lost);
		assert_int_equal(x->unsent, y->unsent);
		assert_int_equal(x->relocked, y->relocked);
		assert_memory_equal(&x->relock_s, &y->relock_s,
				    sizeof(x->relock_s));
		assert_int_equal(x->status.samples, y->status.samples);
		assert_int_equal(x->status.offset_ns, y->status.offset_ns);
		assert_int_equal(x->status.rate_ppb, y->status.rate_ppb);
	}
}

static void test_virtual_reproducible(void **state)
{
	const unsigned all = (1u << SIMVIRT_ESTIMATORS) - 1;
	struct simvirt_result *a, *b, *c;
	struct scenario sc;

	virt_scenario(&sc);
	a = virt_run(&sc, all);
	b = virt_run(&sc, all);
	assert_int_equal(a->frames, b->frames);
	assert_int_equal(a->events, b->events);
	for (int s = 0; s < SCENARIO_SIDES; s++) {
		assert_int_equal(a->exchanges[s], b->exchanges[s]);
		assert_int_equal(a->samples[s], b->samples[s]);
		assert_memory_equal(&a->link[s], &b->link[s],
				    sizeof(a->link[s]));
	}
	for (int k = 0; k < SIMVIRT_ESTIMATORS; k++) {
		assert_true(a->est[k].enabled);
		assert_est_equal(&a->est[k], &b->est[k]);
	}
	/* Another seed, another run: the seed really drives it. */
	sc.seed++;
	c = virt_run(&sc, all);
	assert_true(memcmp(&a->est[SERVO_TTWS].err, &c->est[SERVO_TTWS].err,
			   sizeof(a->est[0].err)) != 0);
	free(a);
	free(b);
	free(c);
}

static void test_virtual_identical_input(void **state)
{
	const unsigned all = (1u << SIMVIRT_ESTIMATORS) - 1;
	struct simvirt_result *both, *one;
	struct scenario sc;

	/*
	 * The link never depends on an estimator: each estimator alone gives
	 * exactly its numbers of a run of all three.
	 */
	virt_scenario(&sc);
	both = virt_run(&sc, all);
	for (int k = 0; k < SIMVIRT_ESTIMATORS; k++) {
		one = virt_run(&sc, 1u << k);
		for (int j = 0; j < SIMVIRT_ESTIMATORS; j++) {
			assert_int_equal(one->est[j].enabled, j == k);
		}
		assert_est_equal(&one->est[k], &both->est[k]);
		for (int s = 0; s < SCENARIO_SIDES; s++) {
			assert_memory_equal(&one->link[s], &both->link[s],
					    sizeof(one->link[s]));
		}
		free(one);
	}
	free(both);
}

static void test_virtual_accounting(void **state)
{
	const unsigned all = (1u << SIMVIRT_ESTIMATORS) - 1;
	struct simvirt_result *res;
	struct scenario sc;

	virt_scenario(&sc);
	res = virt_run(&sc, all);
	/* 30 s of 10 ms frames; 2 s of warm-up are not counted. */
	assert_int_equal(res->frames, 3000);
	assert_int_equal(res->counted_from, 200);
	for (int k = 0; k < SIMVIRT_ESTIMATORS; k++) {
		const struct simvirt_estimator *e = &res->est[k];
		const struct simvirt_ear *l = &e->ear[SCENARIO_LEFT];
		const struct simvirt_ear *r = &e->ear[SCENARIO_RIGHT];

		for (int s = 0; s < SCENARIO_SIDES; s++) {
			const struct simvirt_ear *x = &e->ear[s];

			assert_int_equal(x->rendered + x->late + x->lost +
						 x->unsent,
					 2800);
		}
		/* Only frames both ears played are in the error. */
		assert_true(hist_count(&e->err) <= MIN(l->rendered,
						       r->rendered));
		assert_true(hist_count(&e->err) > 2000);
		/* The right link was down 3 s: 300 frames never got there. */
		assert_int_equal(l->lost, 0);
		assert_true(r->lost + r->unsent >= 300);
		assert_true(r->lost <= 301);
		assert_false(l->dropped);
		assert_true(r->dropped);
	}
	/* Exchanges of a 7.5 ms link probed at least every 2 events. */
	assert_true(res->exchanges[SCENARIO_RIGHT] >= 30000 / 15);
	assert_true(res->samples[SCENARIO_RIGHT] <
		    res->exchanges[SCENARIO_RIGHT]);
	free(res);
}

static void test_virtual_invalid(void **state)
{
	struct simvirt_result *res = malloc(sizeof(*res));
	struct simvirt_options opt;
	struct scenario sc;

	assert_non_null(res);
	virt_scenario(&sc);
	simvirt_options_default(&opt);
	opt.estimators = 0;
	assert_int_equal(simvirt_run(&sc, &opt, res), -EINVAL);
	simvirt_options_default(&opt);
	opt.probe_every = 4;
	assert_int_equal(simvirt_run(&sc, &opt, res), -EINVAL);
	simvirt_options_default(&opt);
	opt.warmup_s = -1;
	assert_int_equal(simvirt_run(&sc, &opt, res), -EINVAL);
	free(res);
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
		simmodel_unit_test(jitter_names),
		simmodel_unit_test(clock_exact),
		simmodel_unit_test(clock_inverse),
		simmodel_unit_test(clock_monotonic),
		simmodel_unit_test(clock_wander_steps),
		simmodel_unit_test(clock_wander_integral),
		simmodel_unit_test(clock_history),
		simmodel_unit_test(clock_invalid),
		simmodel_unit_test(link_events),
		simmodel_unit_test(link_downlink),
		simmodel_unit_test(link_uplink),
		simmodel_unit_test(link_loss),
		simmodel_unit_test(link_jitter),
		simmodel_unit_test(link_drop),
		simmodel_unit_test(link_reproducible),
		simmodel_unit_test(link_invalid),
		simmodel_unit_test(virtual_reproducible),
		simmodel_unit_test(virtual_identical_input),
		simmodel_unit_test(virtual_accounting),
		simmodel_unit_test(virtual_invalid),
	};

	return cmocka_run_group_tests_name("simmodel", tests, NULL, NULL);
}
