/* SPDX-License-Identifier: MIT */
/*
 * SERVO_LUCKY_PI and the clock resolution (servo_set_clock_res()).
 *
 * The link here is the case the NTP offset is right for, so that the map
 * error is measured against a known truth: both legs take the same
 * 150 us plus an exponential jitter (mean 50 us), the earbud turns a
 * request round in 500 us, a request leaves every 7.5 ms, and the earbud
 * clock runs at +40 ppm from an arbitrary origin. Its stamps are exact or
 * truncated to a tick. Every estimator gets identical input; the error is
 * map(h) - ear(h) at every 10 ms frame. (test-servo.c runs the four
 * estimators on the BLE connection-event model as well.)
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloccount.h"
#include "core/macro.h"
#include "core/servo.h"

#define US 1000.0
#define FRAME_NS (10 * NSEC_PER_MSEC)
#define H0 UINT64_C(1000000000000000) /* 11.6 days of uptime */

struct link {
	double seconds;
	double warmup_s; /* errors before this are not counted */
	double ppm;
	double jit_us; /* mean of each leg's exponential jitter */
	uint32_t res_ns; /* earbud tick the stamps are truncated to */
	bool tell_res;	 /* call servo_set_clock_res() with it */
	/* The earbud frequency steps by step_ppm at step_s (0: never). */
	double step_s;
	double step_ppm;
	uint64_t seed;
};

static const struct link link_exp = {
    .seconds = 30,
    .warmup_s = 2,
    .ppm = 40,
    .jit_us = 50,
    .res_ns = 1,
    .seed = 1,
};

static uint64_t rng_u64(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static double rng_exp(uint64_t *s, double mean)
{
	return -mean * log(1.0 - (double)(rng_u64(s) >> 11) * 0x1.0p-53);
}

/* The earbud clock at host instant h (exact, ns). */
static uint64_t ear_at(const struct link *k, uint64_t h)
{
	double dt = (double)(h - H0), frac = k->ppm * 1e-6 * dt;
	double from = k->step_s * 1e9;

	if (k->step_s > 0 && dt > from) {
		frac += k->step_ppm * 1e-6 * (dt - from);
	}
	return UINT64_C(7000000000000000000) + (h - H0) +
	       (uint64_t)llround(frac);
}

static double true_ppm(const struct link *k, double at_s)
{
	return k->ppm + (k->step_s > 0 && at_s > k->step_s ? k->step_ppm : 0);
}

static uint64_t truncate_to(uint64_t v, uint32_t res)
{
	return v - v % res;
}

struct xchg {
	uint64_t t1, t2, t3, t4;
};

static void exchange(const struct link *k, uint64_t t1, uint64_t *rng,
		     struct xchg *x)
{
	uint64_t fwd = 150 * NSEC_PER_USEC +
		       (uint64_t)llround(rng_exp(rng, k->jit_us) * US);
	uint64_t rev = 150 * NSEC_PER_USEC +
		       (uint64_t)llround(rng_exp(rng, k->jit_us) * US);
	uint64_t turn = 500 * NSEC_PER_USEC;

	x->t1 = t1;
	x->t2 = truncate_to(ear_at(k, t1 + fwd), k->res_ns);
	x->t3 = truncate_to(ear_at(k, t1 + fwd + turn), k->res_ns);
	x->t4 = t1 + fwd + turn + rev;
}

struct run {
	double p99_us[SERVO_N_KINDS];
	double mean_us[SERVO_N_KINDS]; /* signed */
	double rate_ppm[SERVO_N_KINDS]; /* at the end */
	uint64_t steps[SERVO_N_KINDS];
};

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static struct servo *new_servo(enum servo_kind kind)
{
	struct servo_config cfg;
	struct servo *s = NULL;

	servo_config_default(&cfg);
	cfg.kind = kind;
	assert_int_equal(servo_new(&cfg, &s), 0);
	return s;
}

/* One link's exchanges in host order of departure, 7.5 ms apart. */
struct feeder {
	const struct link *k;
	uint64_t rng;
	uint64_t t1;
	struct xchg x;
};

static void feeder_init(struct feeder *f, const struct link *k)
{
	*f = (struct feeder){.k = k, .rng = k->seed, .t1 = H0};
	exchange(k, f->t1, &f->rng, &f->x);
}

/* Feed every exchange whose reply has arrived by h to all of s[0..n). */
static void feed_until(struct feeder *f, struct servo **s, int n,
		       uint64_t h)
{
	while (f->x.t4 <= h) {
		for (int e = 0; e < n; e++) {
			assert_int_equal(servo_sync_sample(s[e], f->x.t1,
							   f->x.t2, f->x.t3,
							   f->x.t4),
					 0);
		}
		f->t1 += 7500 * NSEC_PER_USEC;
		exchange(f->k, f->t1, &f->rng, &f->x);
	}
}

static double at_s(double s)
{
	return (double)H0 + s * 1e9;
}

/* map(h) - ear(h) in ns. */
static double map_err(const struct link *k, const struct servo *s,
		      uint64_t h)
{
	uint64_t m;

	assert_int_equal(servo_map(s, h, &m), 0);
	return (double)(int64_t)(m - ear_at(k, h));
}

/* All four estimators on one trace, the error at every 10 ms frame. */
static void run_link(const struct link *k, struct run *ret)
{
	struct servo *s[SERVO_N_KINDS];
	size_t cap = (size_t)(k->seconds * 1e9 / FRAME_NS) + 1, n = 0;
	double *err[SERVO_N_KINDS];
	uint64_t end = (uint64_t)at_s(k->seconds);
	uint64_t warm = (uint64_t)at_s(k->warmup_s);
	struct feeder f;

	feeder_init(&f, k);
	for (int e = 0; e < SERVO_N_KINDS; e++) {
		s[e] = new_servo((enum servo_kind)e);
		if (k->tell_res) {
			assert_int_equal(servo_set_clock_res(s[e], k->res_ns),
					 0);
		}
		err[e] = calloc(cap, sizeof(double));
		assert_non_null(err[e]);
		ret->mean_us[e] = 0;
	}
	for (uint64_t t = H0; t < end; t += FRAME_NS) {
		feed_until(&f, s, SERVO_N_KINDS, t);
		if (t < warm) {
			continue;
		}
		for (int e = 0; e < SERVO_N_KINDS; e++) {
			err[e][n] = map_err(k, s[e], t) / US;
			ret->mean_us[e] += err[e][n];
		}
		n++;
	}
	for (int e = 0; e < SERVO_N_KINDS; e++) {
		struct servo_status st;

		ret->mean_us[e] /= (double)n;
		for (size_t i = 0; i < n; i++) {
			err[e][i] = fabs(err[e][i]);
		}
		qsort(err[e], n, sizeof(double), dbl_cmp);
		ret->p99_us[e] = err[e][(size_t)(0.99 * (double)(n - 1))];
		ret->rate_ppm[e] = (servo_rate(s[e]) - 1.0) * 1e6;
		servo_status(s[e], &st);
		ret->steps[e] = st.steps;
		print_message("  %-10s P99 %8.2f us  mean %+8.2f us  rate %+.3f "
			      "ppm  steps %llu\n",
			      servo_kind_name((enum servo_kind)e),
			      ret->p99_us[e], ret->mean_us[e],
			      ret->rate_ppm[e],
			      (unsigned long long)ret->steps[e]);
		free(err[e]);
		servo_free(s[e]);
	}
}

/*
 * Exact stamps, exponential jitter: the lucky exchanges pin the offset,
 * the median of seven does not.
 */
static void test_exp_jitter(void **state)
{
	struct run r;

	(void)state;
	run_link(&link_exp, &r);
	assert_true(r.p99_us[SERVO_LUCKY_PI] < 20);
	assert_true(r.p99_us[SERVO_LUCKY_PI] < r.p99_us[SERVO_MEDIAN_IIR]);
	assert_true(r.p99_us[SERVO_LUCKY_PI] < r.p99_us[SERVO_NAIVE]);
	assert_true(fabs(r.rate_ppm[SERVO_LUCKY_PI] - 40.0) < 0.3);
	assert_int_equal(r.steps[SERVO_LUCKY_PI], 0);
}

/* The earbud's frequency moves by 3 ppm: tracked within 5 s. */
static void test_freq_step(void **state)
{
	struct link k = link_exp;
	struct servo *s = new_servo(SERVO_LUCKY_PI);
	struct servo_status st;
	struct feeder f;
	double worst = 0;

	(void)state;
	k.seconds = 40;
	k.step_s = 20;
	k.step_ppm = 3;
	feeder_init(&f, &k);
	feed_until(&f, &s, 1, (uint64_t)at_s(19.9));
	assert_true(fabs((servo_rate(s) - 1.0) * 1e6 - 40.0) < 0.3);
	for (double t = 20; t < 40; t += 0.01) {
		double e;

		feed_until(&f, &s, 1, (uint64_t)at_s(t));
		e = fabs(map_err(&k, s, (uint64_t)at_s(t)));
		if (t >= 25) {
			worst = MAX(worst, e);
		}
		if (fabs(t - 25) < 0.005) {
			print_message("  3 ppm step: rate error %+.3f ppm 5 s "
				      "later\n",
				      (servo_rate(s) - 1.0) * 1e6 - 43.0);
			assert_true(fabs((servo_rate(s) - 1.0) * 1e6 - 43.0) <
				    0.5);
		}
	}
	print_message("  3 ppm step: worst map error from 5 s on %.2f us\n",
		      worst / US);
	assert_true(worst < 20 * US);
	assert_true(fabs((servo_rate(s) - 1.0) * 1e6 - true_ppm(&k, 40)) < 0.3);
	servo_status(s, &st);
	assert_int_equal(st.steps, 0);
	servo_free(s);
}

#define LUCKY_TEST(n, f)                                                       \
	{                                                                      \
		.name = "servo-lucky/" n, .test_func = (f)                     \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    LUCKY_TEST("exp_jitter_beats_baselines", test_exp_jitter),
	    LUCKY_TEST("freq_step_tracked", test_freq_step),
	};

	return cmocka_run_group_tests_name("servo-lucky", tests, NULL, NULL);
}
