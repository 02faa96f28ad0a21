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
	double jit_us;	 /* mean of each leg's exponential jitter */
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
	size_t frames[SERVO_N_KINDS]; /* locked ones after the warm-up */
	double p99_us[SERVO_N_KINDS];
	double mean_us[SERVO_N_KINDS];	/* signed */
	double rate_ppm[SERVO_N_KINDS]; /* at the end */
	size_t unlocked[SERVO_N_KINDS]; /* frames after the warm-up */
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
static void feed_until(struct feeder *f, struct servo **s, int n, uint64_t h)
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

/* map(h) - ear(h) in ns; NAN while unlocked. */
static double map_err_or_nan(const struct link *k, const struct servo *s,
			     uint64_t h)
{
	uint64_t m;

	if (servo_map(s, h, &m) < 0) {
		return NAN;
	}
	return (double)(int64_t)(m - ear_at(k, h));
}

static double map_err(const struct link *k, const struct servo *s, uint64_t h)
{
	double e = map_err_or_nan(k, s, h);

	assert_false(isnan(e));
	return e;
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
		ret->frames[e] = 0;
	}
	for (uint64_t t = H0; t < end; t += FRAME_NS) {
		feed_until(&f, s, SERVO_N_KINDS, t);
		if (t < warm) {
			continue;
		}
		for (int e = 0; e < SERVO_N_KINDS; e++) {
			double v = map_err_or_nan(k, s[e], t) / US;

			if (!isnan(v)) {
				err[e][ret->frames[e]++] = v;
				ret->mean_us[e] += v;
			}
		}
		n++;
	}
	for (int e = 0; e < SERVO_N_KINDS; e++) {
		struct servo_status st;
		size_t m = ret->frames[e];

		ret->mean_us[e] /= (double)MAX(m, 1u);
		for (size_t i = 0; i < m; i++) {
			err[e][i] = fabs(err[e][i]);
		}
		qsort(err[e], m, sizeof(double), dbl_cmp);
		ret->p99_us[e] =
		    m ? err[e][(size_t)(0.99 * (double)(m - 1))] : INFINITY;
		ret->unlocked[e] = n - m;
		ret->rate_ppm[e] = (servo_rate(s[e]) - 1.0) * 1e6;
		servo_status(s[e], &st);
		ret->steps[e] = st.steps;
		print_message(
		    "  %-10s P99 %8.2f us  mean %+8.2f us  rate %+.3f "
		    "ppm  steps %llu  unlocked %zu frames\n",
		    servo_kind_name((enum servo_kind)e), ret->p99_us[e],
		    ret->mean_us[e], ret->rate_ppm[e],
		    (unsigned long long)ret->steps[e], ret->unlocked[e]);
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
	assert_int_equal(r.unlocked[SERVO_LUCKY_PI], 0);
	assert_true(r.p99_us[SERVO_LUCKY_PI] < 20);
	assert_true(r.p99_us[SERVO_LUCKY_PI] < r.p99_us[SERVO_MEDIAN_IIR]);
	assert_true(r.p99_us[SERVO_LUCKY_PI] < r.p99_us[SERVO_NAIVE]);
	assert_true(fabs(r.rate_ppm[SERVO_LUCKY_PI] - 40.0) < 0.5);
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
	assert_true(fabs((servo_rate(s) - 1.0) * 1e6 - 40.0) < 0.5);
	for (int i = 0; i < 2000; i++) {
		double t = 20 + 0.01 * i, e;

		feed_until(&f, &s, 1, (uint64_t)at_s(t));
		e = fabs(map_err(&k, s, (uint64_t)at_s(t)));
		if (i >= 500) {
			worst = MAX(worst, e);
		}
		if (i == 500) {
			/* 5 s after the step. */
			print_message("  3 ppm step: rate error %+.3f ppm 5 s "
				      "later\n",
				      (servo_rate(s) - 1.0) * 1e6 - 43.0);
			assert_true(fabs((servo_rate(s) - 1.0) * 1e6 - 43.0) <
				    0.75);
		}
	}
	print_message("  3 ppm step: worst map error from 5 s on %.2f us\n",
		      worst / US);
	assert_true(worst < 20 * US);
	assert_true(fabs((servo_rate(s) - 1.0) * 1e6 - true_ppm(&k, 40)) < 0.5);
	servo_status(s, &st);
	assert_int_equal(st.steps, 0);
	servo_free(s);
}

/*
 * An earbud that counts in 30.5 us ticks (32768 Hz): every ear stamp is
 * early by half a tick on average. Told the tick, the servo takes the
 * bias out; not told, the map runs early by that half tick.
 */
static void test_clock_res_bias(void **state)
{
	struct link k = link_exp;
	struct run told, blind;

	(void)state;
	k.seconds = 60;
	k.res_ns = 30518;
	k.tell_res = true;
	run_link(&k, &told);
	k.tell_res = false;
	run_link(&k, &blind);
	print_message("  tick 30518 ns: lucky-pi mean error %+.2f us told, "
		      "%+.2f us not told\n",
		      told.mean_us[SERVO_LUCKY_PI],
		      blind.mean_us[SERVO_LUCKY_PI]);
	assert_true(fabs(told.mean_us[SERVO_LUCKY_PI]) < 3);
	assert_true(blind.mean_us[SERVO_LUCKY_PI] < -12);
	/* The lucky band widened by the tick: still plenty accepted. */
	assert_true(told.p99_us[SERVO_LUCKY_PI] < 20);
	assert_int_equal(told.unlocked[SERVO_LUCKY_PI], 0);
	assert_int_equal(told.steps[SERVO_LUCKY_PI], 0);
	assert_true(fabs(told.rate_ppm[SERVO_LUCKY_PI] - 40.0) < 1);
	/* The bias correction is the servo's, not the estimator's. */
	assert_true(fabs(told.mean_us[SERVO_MEDIAN_IIR]) + 10 <
		    fabs(blind.mean_us[SERVO_MEDIAN_IIR]));
}

static void test_clock_res_invalid(void **state)
{
	struct servo *s = new_servo(SERVO_LUCKY_PI);

	(void)state;
	assert_int_equal(servo_set_clock_res(NULL, 1), -EINVAL);
	assert_int_equal(servo_set_clock_res(s, 0), -EINVAL);
	assert_int_equal(servo_set_clock_res(s, 1000001), -EINVAL);
	assert_int_equal(servo_set_clock_res(s, 1000000), 0);
	assert_int_equal(servo_set_clock_res(s, 1), 0);
	servo_free(s);
}

/* A RENDER_REPORT's rx_ear is a truncated earbud stamp too. */
static void test_clock_res_forward(void **state)
{
	struct servo *s = new_servo(SERVO_LUCKY_PI);
	struct servo_status st;
	struct feeder f;
	uint64_t h = (uint64_t)at_s(5), m;

	(void)state;
	feeder_init(&f, &link_exp);
	feed_until(&f, &s, 1, h);
	assert_int_equal(servo_map(s, h, &m), 0);
	/* 20 us before the model with exact stamps: the model runs ahead. */
	assert_int_equal(servo_forward_sample(s, h, m - 20000), 0);
	servo_status(s, &st);
	assert_int_equal(st.forward_violations, 1);
	/* The same stamp from a 30.5 us tick is 15 us early on average. */
	assert_int_equal(servo_set_clock_res(s, 30518), 0);
	assert_int_equal(servo_forward_sample(s, h, m - 20000), 0);
	servo_status(s, &st);
	assert_int_equal(st.forward_violations, 1);
	servo_free(s);
}

/* No allocation after servo_new(), no clock read: a replay is exact. */
static void test_pure(void **state)
{
	struct servo *s[2] = {new_servo(SERVO_LUCKY_PI),
			      new_servo(SERVO_LUCKY_PI)};
	struct servo_status st[2];
	struct feeder f;
	unsigned long before;
	uint64_t m[2];

	(void)state;
	feeder_init(&f, &link_exp);
	before = alloccount_n;
	feed_until(&f, s, 2, (uint64_t)at_s(20));
	assert_int_equal(alloccount_n, before);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(servo_map(s[i], (uint64_t)at_s(20), &m[i]), 0);
		servo_status(s[i], &st[i]);
	}
	assert_true(m[0] == m[1]);
	assert_memory_equal(&st[0], &st[1], sizeof(st[0]));
	assert_int_equal(st[0].state, SERVO_STABLE);
	assert_true(st[0].samples > 100 && st[0].rejected > st[0].samples);
	assert_true(st[0].offset_sd_ns > 0 && st[0].offset_sd_ns < 2000);
	servo_free(s[0]);
	servo_free(s[1]);
}

/*
 * One corrupt reply is an outlier and moves nothing; an earbud clock that
 * jumps for good steps once, and the map follows it.
 */
static void test_step(void **state)
{
	struct servo *s = new_servo(SERVO_LUCKY_PI);
	struct servo_status st0, st;
	struct feeder f;
	uint64_t h = (uint64_t)at_s(10), m0, m1;
	int64_t jump = 200 * NSEC_PER_USEC;
	double before;

	(void)state;
	feeder_init(&f, &link_exp);
	feed_until(&f, &s, 1, h);
	before = map_err(&link_exp, s, h);
	servo_status(s, &st0);
	assert_int_equal(servo_map(s, f.x.t4, &m0), 0);
	assert_int_equal(servo_sync_sample(s, f.x.t1, f.x.t2 + (uint64_t)jump,
					   f.x.t3 + (uint64_t)jump, f.x.t4),
			 0);
	servo_status(s, &st);
	assert_int_equal(st.steps, 0);
	assert_int_equal(st.rejected, st0.rejected + 1);
	assert_int_equal(servo_map(s, f.x.t4, &m1), 0);
	assert_true(m1 == m0);
	/* From here on every stamp of the earbud is 200 us later. */
	for (int i = 0; i < 1000; i++) {
		f.t1 += 7500 * NSEC_PER_USEC;
		exchange(&link_exp, f.t1, &f.rng, &f.x);
		assert_int_equal(
		    servo_sync_sample(s, f.x.t1, f.x.t2 + (uint64_t)jump,
				      f.x.t3 + (uint64_t)jump, f.x.t4),
		    0);
		servo_status(s, &st);
		assert_int_not_equal(st.state, SERVO_UNLOCKED);
	}
	assert_int_equal(st.steps, 1);
	h = f.x.t4;
	assert_true(fabs(map_err(&link_exp, s, h) - (double)jump - before) <
		    5 * US);
	servo_free(s);
}

/* A reconnect keeps the rate as a prior: the first lock already has it. */
static void test_reset_keeps_rate(void **state)
{
	struct servo *s = new_servo(SERVO_LUCKY_PI);
	struct servo *fresh = new_servo(SERVO_LUCKY_PI);
	struct servo *both[2] = {s, fresh};
	struct feeder f;
	uint64_t m;

	(void)state;
	feeder_init(&f, &link_exp);
	feed_until(&f, &s, 1, (uint64_t)at_s(10));
	servo_reset(s);
	assert_int_equal(servo_map(s, (uint64_t)at_s(10), &m), -EAGAIN);
	feed_until(&f, both, 2, (uint64_t)at_s(10.2));
	print_message("  0.2 s after a reset: rate %+.3f ppm, a new servo's "
		      "%+.3f ppm\n",
		      (servo_rate(s) - 1.0) * 1e6,
		      (servo_rate(fresh) - 1.0) * 1e6);
	assert_true(fabs((servo_rate(s) - 1.0) * 1e6 - 40.0) < 1);
	assert_true(fabs((servo_rate(fresh) - 1.0) * 1e6 - 40.0) > 2);
	assert_true(fabs(map_err(&link_exp, s, (uint64_t)at_s(10.2))) <
		    20 * US);
	servo_free(s);
	servo_free(fresh);
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
	    LUCKY_TEST("clock_res_bias_removed", test_clock_res_bias),
	    LUCKY_TEST("clock_res_invalid", test_clock_res_invalid),
	    LUCKY_TEST("clock_res_forward", test_clock_res_forward),
	    LUCKY_TEST("no_alloc_deterministic", test_pure),
	    LUCKY_TEST("step_two_outliers_not_one", test_step),
	    LUCKY_TEST("reset_keeps_rate", test_reset_keeps_rate),
	};

	return cmocka_run_group_tests_name("servo-lucky", tests, NULL, NULL);
}
