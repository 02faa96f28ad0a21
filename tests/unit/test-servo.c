/* SPDX-License-Identifier: MIT */
/*
 * Servo tests. Most run on traces from a small generator of DESIGN.md's
 * pinned scenario model ("The scenario model, pinned"), written here
 * independently of src/sim so that the servo and the simulator do not
 * share a mistake:
 *
 *   ear(h) = off + (1 + ppm 1e-6) (h - h0) + W(h - h0), W the integral of
 *            a frequency random walk (wander_ppb_per_s 1e-9 sqrt(dt))
 *   events every ci on the dongle clock (1 + dongle_ppm 1e-6) h, from an
 *            anchor phase
 *   request: HCI 100 us + jitter, first event at or after, each event lost
 *            with probability loss; t2 = ear(event) + 300 us
 *   reply:   queued 50 us after t2, next event (same loss); t3 = ear(that
 *            event); t4 = event + 100 us + jitter
 *
 * and the truth is the host instant, so the inter-ear error
 * (map_L(T) - ear_L(T)) - (map_R(T) - ear_R(T)) is measured, not guessed.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/macro.h"
#include "core/probe.h"
#include "core/servo.h"
#include "core/servo_private.h"

#define US 1000.0
#define MS 1000000.0

/*
 * Generator
 */

enum jit_kind {
	JIT_EXP,
	JIT_LOGNORMAL,
	JIT_UNIFORM,
};

struct gen_ear {
	uint64_t off_ns; /* ear clock at h0 */
	double ppm;
	double wander_ppb_per_s;
	uint32_t ci_us;
	double anchor_us;
	double loss;
};

struct scenario {
	const char *name;
	double seconds;
	double warmup_s; /* errors before this are not counted */
	double dongle_ppm;
	enum jit_kind jit;
	double jit_us; /* mean (exp), scale (lognormal, uniform) */
	uint32_t every_events;
	uint64_t seed;
	struct gen_ear ear[2];
	/*
	 * The right link drops at this instant (0: never) for drop_for_s,
	 * then comes back with a new anchor phase (reconnect.ini).
	 */
	double drop_s;
	double drop_for_s;
	/* A step of the left earbud clock at this instant (0: never). */
	double clock_step_s;
	int64_t clock_step_ns;
	/* Do not servo_pair() the two ears. */
	bool unpaired;
};

#define KNOT_NS (10 * NSEC_PER_MSEC)

struct gen {
	const struct scenario *sc;
	uint64_t h0;
	uint64_t rng;
	size_t nknots;
	double *phase[2]; /* W at knot k, ns */
	double *freq[2];  /* W' on [k, k + 1), fractional */
	double anchor_us[2];
};

static uint64_t gen_u64(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static double gen_unit(uint64_t *s)
{
	return (double)(gen_u64(s) >> 11) * 0x1.0p-53;
}

static double gen_normal(uint64_t *s)
{
	double u = gen_unit(s), v = gen_unit(s);

	return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * v);
}

static uint64_t gen_jitter(struct gen *g)
{
	double j = 0;

	switch (g->sc->jit) {
	case JIT_EXP:
		j = -g->sc->jit_us * log(1.0 - gen_unit(&g->rng));
		break;
	case JIT_LOGNORMAL:
		j = g->sc->jit_us * exp(0.5 * gen_normal(&g->rng) - 0.125);
		break;
	case JIT_UNIFORM:
		j = g->sc->jit_us * gen_unit(&g->rng);
		break;
	}
	return (uint64_t)llround(j * US);
}

static void gen_init(struct gen *g, const struct scenario *sc)
{
	*g = (struct gen){
	    .sc = sc,
	    .h0 = UINT64_C(1000000000000000), /* 11.6 days of uptime */
	    .rng = sc->seed,
	};
	g->nknots = (size_t)(sc->seconds * 1e9 / KNOT_NS) + 16;
	for (int e = 0; e < 2; e++) {
		double sd = sc->ear[e].wander_ppb_per_s * 1e-9 *
			    sqrt((double)KNOT_NS / 1e9);

		g->phase[e] = calloc(g->nknots, sizeof(double));
		g->freq[e] = calloc(g->nknots, sizeof(double));
		assert_non_null(g->phase[e]);
		assert_non_null(g->freq[e]);
		for (size_t k = 1; k < g->nknots; k++) {
			g->freq[e][k] =
			    g->freq[e][k - 1] + sd * gen_normal(&g->rng);
			g->phase[e][k] = g->phase[e][k - 1] +
					 g->freq[e][k - 1] * (double)KNOT_NS;
		}
		g->anchor_us[e] = sc->ear[e].anchor_us;
	}
}

static void gen_fini(struct gen *g)
{
	for (int e = 0; e < 2; e++) {
		free(g->phase[e]);
		free(g->freq[e]);
	}
}

static uint64_t gen_ear_at(const struct gen *g, int e, uint64_t h)
{
	const struct scenario *sc = g->sc;
	double dt = (double)(h - g->h0);
	size_t k = (size_t)(dt / (double)KNOT_NS);
	double w, frac;
	uint64_t v;

	k = MIN(k, g->nknots - 1);
	w = g->phase[e][k] + g->freq[e][k] * (dt - (double)k * KNOT_NS);
	frac = sc->ear[e].ppm * 1e-6 * dt + w;
	v = sc->ear[e].off_ns + (h - g->h0) + (uint64_t)llround(frac);
	if (sc->clock_step_s > 0 && e == 0 &&
	    h >= g->h0 + (uint64_t)(sc->clock_step_s * 1e9)) {
		v += (uint64_t)sc->clock_step_ns;
	}
	return v;
}

/* Host instant of the first connection event of ear e at or after h. */
static uint64_t gen_event(const struct gen *g, int e, uint64_t h)
{
	double rate = 1.0 + g->sc->dongle_ppm * 1e-6;
	double ci = g->sc->ear[e].ci_us * US;
	double anchor = g->anchor_us[e] * US;
	double d = (double)(h - g->h0) * rate;
	double k = ceil((d - anchor) / ci);
	uint64_t ev;

	for (;;) {
		ev = g->h0 + (uint64_t)llround((anchor + k * ci) / rate);
		if (ev >= h) {
			return ev;
		}
		k += 1;
	}
}

static uint64_t gen_event_lossy(struct gen *g, int e, uint64_t h)
{
	uint64_t ev = gen_event(g, e, h);

	while (gen_unit(&g->rng) < g->sc->ear[e].loss) {
		ev = gen_event(g, e, ev + 1);
	}
	return ev;
}

struct xchg {
	int ear;
	uint64_t t1, t2, t3, t4;
};

static void gen_exchange(struct gen *g, int e, uint64_t t1, struct xchg *x)
{
	uint64_t ev, ev2;

	ev = gen_event_lossy(g, e, t1 + 100 * NSEC_PER_USEC + gen_jitter(g));
	x->ear = e;
	x->t1 = t1;
	x->t2 = gen_ear_at(g, e, ev) + 300 * NSEC_PER_USEC;
	ev2 = gen_event_lossy(g, e, ev + 350 * NSEC_PER_USEC);
	x->t3 = gen_ear_at(g, e, ev2);
	x->t4 = ev2 + 100 * NSEC_PER_USEC + gen_jitter(g);
}

static int xchg_cmp(const void *a, const void *b)
{
	const struct xchg *x = a, *y = b;

	if (x->t4 != y->t4) {
		return x->t4 < y->t4 ? -1 : 1;
	}
	return x->ear - y->ear;
}

/* All exchanges of both ears, in host order of t4. Caller frees. */
static struct xchg *gen_trace(struct gen *g, size_t *ret_n)
{
	const struct scenario *sc = g->sc;
	uint64_t end = g->h0 + (uint64_t)(sc->seconds * 1e9);
	uint64_t drop =
	    sc->drop_s > 0 ? g->h0 + (uint64_t)(sc->drop_s * 1e9) : UINT64_MAX;
	uint64_t back = drop + (uint64_t)(sc->drop_for_s * 1e9);
	size_t cap = 0, n = 0;
	struct xchg *v = NULL;

	for (int e = 0; e < 2; e++) {
		struct probe p;
		uint64_t t;
		bool dropped = false;

		assert_int_equal(probe_init(&p,
					    sc->ear[e].ci_us * NSEC_PER_USEC,
					    sc->every_events, sc->seed + e,
					    g->h0 + 1000 * (uint64_t)e),
				 0);
		g->anchor_us[e] = sc->ear[e].anchor_us;
		for (t = probe_due(&p); t < end; t = probe_sent(&p, t)) {
			if (e == 1 && !dropped && t >= drop) {
				/* Back with a new phase; requests restart. */
				dropped = true;
				g->anchor_us[e] =
				    gen_unit(&g->rng) * sc->ear[e].ci_us;
				t = back;
				assert_int_equal(
				    probe_init(
					&p, sc->ear[e].ci_us * NSEC_PER_USEC,
					sc->every_events, sc->seed + 2, t),
				    0);
			}
			if (n == cap) {
				cap = cap ? 2 * cap : 4096;
				v = realloc(v, cap * sizeof(*v));
				assert_non_null(v);
			}
			gen_exchange(g, e, t, &v[n++]);
		}
	}
	qsort(v, n, sizeof(*v), xchg_cmp);
	*ret_n = n;
	return v;
}

/*
 * Driver: feed identical input to one servo pair per estimator and
 * measure the inter-ear error at every 10 ms audio frame.
 */

#define NKINDS SERVO_N_KINDS
#define FRAME_NS (10 * NSEC_PER_MSEC)
#define RELOCK_NS (15 * NSEC_PER_USEC)

struct result {
	double p99_us;
	double max_us;
	double rate_err_ppm[2]; /* at the end */
	size_t frames;
	uint64_t steps;
	uint64_t forward_violations;
	/* After the right link returned: until |error| < 15 us for good. */
	double relock_s;
};

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double true_rate_ppm(const struct gen *g, int e, uint64_t h)
{
	size_t k = MIN((size_t)((double)(h - g->h0) / KNOT_NS), g->nknots - 1);

	return g->sc->ear[e].ppm + g->freq[e][k] * 1e6;
}

static void run_scenario(const struct scenario *sc, struct result res[NKINDS])
{
	struct gen g;
	struct servo *s[NKINDS][2];
	struct xchg *tr;
	size_t n, next = 0, cap, nerr[NKINDS] = {0};
	double *err[NKINDS];
	uint64_t end, warm, drop, back, t, good_since[NKINDS] = {0};
	bool reset_done = false;

	gen_init(&g, sc);
	tr = gen_trace(&g, &n);
	end = g.h0 + (uint64_t)(sc->seconds * 1e9);
	warm = g.h0 + (uint64_t)(sc->warmup_s * 1e9);
	drop =
	    sc->drop_s > 0 ? g.h0 + (uint64_t)(sc->drop_s * 1e9) : UINT64_MAX;
	back = drop + (uint64_t)(sc->drop_for_s * 1e9);
	cap = (size_t)(sc->seconds * 1e9 / FRAME_NS) + 1;
	for (int k = 0; k < NKINDS; k++) {
		struct servo_config cfg;

		servo_config_default(&cfg);
		cfg.kind = (enum servo_kind)k;
		for (int e = 0; e < 2; e++) {
			cfg.ci_us = sc->ear[e].ci_us;
			assert_int_equal(servo_new(&cfg, &s[k][e]), 0);
		}
		if (!sc->unpaired) {
			assert_int_equal(servo_pair(s[k][0], s[k][1]), 0);
		}
		err[k] = calloc(cap, sizeof(double));
		assert_non_null(err[k]);
		res[k] = (struct result){.relock_s = -1};
	}

	for (t = g.h0; t < end; t += FRAME_NS) {
		bool down = t >= drop && t < back;

		if (!reset_done && t >= back) {
			/* HELLO again: the servos start over (simvirt.c). */
			reset_done = true;
			for (int k = 0; k < NKINDS; k++) {
				servo_reset(s[k][1]);
			}
		}
		for (; next < n && tr[next].t4 <= t; next++) {
			const struct xchg *x = &tr[next];

			for (int k = 0; k < NKINDS; k++) {
				assert_int_equal(
				    servo_sync_sample(s[k][x->ear], x->t1,
						      x->t2, x->t3, x->t4),
				    0);
			}
		}
		for (int k = 0; k < NKINDS; k++) {
			uint64_t m[2];
			double d;

			for (int e = 0; e < 2; e++) {
				servo_tick(s[k][e], t);
			}
			if (servo_map(s[k][0], t, &m[0]) < 0 ||
			    servo_map(s[k][1], t, &m[1]) < 0 || down) {
				good_since[k] = 0;
				continue;
			}
			for (int e = 0; e < 2; e++) {
				/* This frame as a RENDER_REPORT sample. */
				uint64_t ev =
				    gen_event(&g, e, t + 100 * NSEC_PER_USEC);

				servo_forward_sample(s[k][e], t,
						     gen_ear_at(&g, e, ev) +
							 300 * NSEC_PER_USEC);
			}
			d = (double)((int64_t)(m[0] - gen_ear_at(&g, 0, t)) -
				     (int64_t)(m[1] - gen_ear_at(&g, 1, t)));
			if (t >= warm) {
				err[k][nerr[k]++] = fabs(d) / US;
			}
			if (fabs(d) >= RELOCK_NS) {
				good_since[k] = 0;
			} else if (good_since[k] == 0) {
				good_since[k] = t;
			}
		}
	}

	for (int k = 0; k < NKINDS; k++) {
		struct servo_status st;

		qsort(err[k], nerr[k], sizeof(double), dbl_cmp);
		res[k].frames = nerr[k];
		if (nerr[k]) {
			res[k].p99_us = err[k][(size_t)(0.99 * (nerr[k] - 1))];
			res[k].max_us = err[k][nerr[k] - 1];
		}
		if (reset_done && good_since[k]) {
			res[k].relock_s = (double)(good_since[k] - back) / 1e9;
		}
		for (int e = 0; e < 2; e++) {
			servo_status(s[k][e], &st);
			res[k].steps += st.steps;
			res[k].forward_violations += st.forward_violations;
			res[k].rate_err_ppm[e] =
			    (servo_rate(s[k][e]) - 1.0) * 1e6 -
			    true_rate_ppm(&g, e, end);
			s[k][e] = servo_free(s[k][e]);
		}
		free(err[k]);
	}
	free(tr);
	gen_fini(&g);
}

static void print_result(const struct scenario *sc,
			 const struct result res[NKINDS])
{
	for (int k = 0; k < NKINDS; k++) {
		print_message("  %-30s %-10s P99 %8.2f us  max %8.2f us  "
			      "rate err %+.3f/%+.3f ppm  steps %llu\n",
			      sc->name, servo_kind_name((enum servo_kind)k),
			      res[k].p99_us, res[k].max_us,
			      res[k].rate_err_ppm[0], res[k].rate_err_ppm[1],
			      (unsigned long long)res[k].steps);
	}
}

/* Two ears that differ in everything the model lets them differ in. */
static const struct scenario sc_nominal = {
    .name = "7.5/15 ms, exp 20 us, 1% loss",
    .seconds = 60,
    .warmup_s = 2,
    .dongle_ppm = 12,
    .jit = JIT_EXP,
    .jit_us = 20,
    .every_events = 2,
    .seed = 1,
    .ear =
	{
	    {.off_ns = UINT64_C(700000000000000000),
	     .ppm = 23.0,
	     .wander_ppb_per_s = 5,
	     .ci_us = 7500,
	     .anchor_us = 1234,
	     .loss = 0.01},
	    {.off_ns = UINT64_C(123456789),
	     .ppm = -41.0,
	     .wander_ppb_per_s = 5,
	     .ci_us = 15000,
	     .anchor_us = 9876,
	     .loss = 0.01},
	},
};

/* The brief's hard case: 30 ms, lognormal, 5 % loss, every 3 events. */
static const struct scenario sc_hard = {
    .name = "30 ms, lognormal 50 us, 5% loss",
    .seconds = 60,
    .warmup_s = 2,
    .dongle_ppm = -20,
    .jit = JIT_LOGNORMAL,
    .jit_us = 50,
    .every_events = 3,
    .seed = 7,
    .ear =
	{
	    {.off_ns = UINT64_C(18000000000000000000),
	     .ppm = 48.0,
	     .wander_ppb_per_s = 10,
	     .ci_us = 30000,
	     .anchor_us = 100,
	     .loss = 0.05},
	    {.off_ns = UINT64_C(5000000000),
	     .ppm = -47.0,
	     .wander_ppb_per_s = 10,
	     .ci_us = 30000,
	     .anchor_us = 17000,
	     .loss = 0.05},
	},
};

/* tests/scenarios/stress.ini, probed every 2 events as simvirt.c does. */
static const struct scenario sc_stress = {
    .name = "stress.ini (lognormal 80 us)",
    .seconds = 60,
    .warmup_s = 2,
    .dongle_ppm = -10,
    .jit = JIT_LOGNORMAL,
    .jit_us = 80,
    .every_events = 2,
    .seed = 77,
    .ear =
	{
	    {.off_ns = UINT64_C(777500000),
	     .ppm = 50.0,
	     .wander_ppb_per_s = 5,
	     .ci_us = 30000,
	     .anchor_us = 2500,
	     .loss = 0.05},
	    {.off_ns = UINT64_C(31337000000),
	     .ppm = -50.0,
	     .wander_ppb_per_s = 5,
	     .ci_us = 30000,
	     .anchor_us = 17000,
	     .loss = 0.05},
	},
};

/* tests/scenarios/reconnect.ini: the right link gone 3 s at 20 s. */
static const struct scenario sc_reconnect = {
    .name = "reconnect.ini",
    .seconds = 40,
    .warmup_s = 2,
    .jit = JIT_EXP,
    .jit_us = 20,
    .every_events = 2,
    .seed = 5,
    .drop_s = 20,
    .drop_for_s = 3,
    .ear =
	{
	    {.off_ns = UINT64_C(1234567000),
	     .ppm = 20.0,
	     .ci_us = 7500,
	     .anchor_us = 1000},
	    {.off_ns = UINT64_C(4000000000000),
	     .ppm = -20.0,
	     .ci_us = 7500,
	     .anchor_us = 4800},
	},
};

/*
 * Small helpers for the state-machine tests: one ear of the pinned model,
 * fed sample by sample.
 */

struct feed {
	struct gen g;
	struct xchg *tr;
	size_t n;
	size_t next;
};

static void feed_init(struct feed *f, const struct scenario *sc)
{
	gen_init(&f->g, sc);
	f->tr = gen_trace(&f->g, &f->n);
	f->next = 0;
}

static void feed_fini(struct feed *f)
{
	free(f->tr);
	gen_fini(&f->g);
}

/* Next exchange of ear 0, or NULL at the end of the trace. */
static const struct xchg *feed_next(struct feed *f)
{
	while (f->next < f->n && f->tr[f->next].ear != 0) {
		f->next++;
	}
	return f->next < f->n ? &f->tr[f->next++] : NULL;
}

/* Feed ear 0's samples up to host instant until (ns after h0). */
static void feed_until(struct feed *f, struct servo *s, double until_s,
		       int64_t ear_shift_ns)
{
	uint64_t until = f->g.h0 + (uint64_t)(until_s * 1e9);

	while (f->next < f->n && f->tr[f->next].t4 <= until) {
		const struct xchg *x = feed_next(f);

		if (!x || x->t4 > until) {
			break;
		}
		assert_int_equal(
		    servo_sync_sample(s, x->t1, x->t2 + (uint64_t)ear_shift_ns,
				      x->t3 + (uint64_t)ear_shift_ns, x->t4),
		    0);
	}
}

/* map(h) - ear(h) for ear 0 at h0 + at_s, in ns. */
static double feed_err(struct feed *f, struct servo *s, double at_s,
		       int64_t ear_shift_ns)
{
	uint64_t h = f->g.h0 + (uint64_t)(at_s * 1e9), m;

	assert_int_equal(servo_map(s, h, &m), 0);
	return (double)(int64_t)(m - gen_ear_at(&f->g, 0, h) -
				 (uint64_t)ear_shift_ns);
}

static struct servo *new_servo(enum servo_kind kind, uint32_t ci_us)
{
	struct servo_config cfg;
	struct servo *s = NULL;

	servo_config_default(&cfg);
	cfg.kind = kind;
	cfg.ci_us = ci_us;
	assert_int_equal(servo_new(&cfg, &s), 0);
	assert_non_null(s);
	return s;
}

static enum servo_state state_of(const struct servo *s)
{
	struct servo_status st;

	servo_status(s, &st);
	return st.state;
}

/*
 * Interface and input validation.
 */

static void test_config_default(void **state)
{
	struct servo_config cfg;

	memset(&cfg, 0xff, sizeof(cfg));
	servo_config_default(&cfg);
	assert_int_equal(cfg.kind, SERVO_TTWS);
	assert_int_equal(cfg.resync_threshold_ns, 15000);
	assert_int_equal(cfg.holdover_after_ns, NSEC_PER_SEC);
	assert_int_equal(cfg.ci_us, 7500);
	servo_config_default(NULL);
}

static void test_new_invalid(void **state)
{
	struct servo_config cfg, bad;
	struct servo *s = (struct servo *)&cfg;

	servo_config_default(&cfg);
	assert_int_equal(servo_new(NULL, &s), -EINVAL);
	assert_int_equal(servo_new(&cfg, NULL), -EINVAL);
	bad = cfg;
	bad.kind = (enum servo_kind)SERVO_N_KINDS;
	assert_int_equal(servo_new(&bad, &s), -EINVAL);
	bad = cfg;
	bad.resync_threshold_ns = 0;
	assert_int_equal(servo_new(&bad, &s), -EINVAL);
	bad = cfg;
	bad.holdover_after_ns = 0;
	assert_int_equal(servo_new(&bad, &s), -EINVAL);
	bad = cfg;
	bad.ci_us = 0;
	assert_int_equal(servo_new(&bad, &s), -EINVAL);
	bad = cfg;
	bad.ci_us = 4000001;
	assert_int_equal(servo_new(&bad, &s), -EINVAL);
	/* Untouched on failure. */
	assert_ptr_equal(s, (struct servo *)&cfg);
	assert_null(servo_free(NULL));
}

static void test_sample_invalid(void **state)
{
	for (int k = 0; k < NKINDS; k++) {
		struct servo *s = new_servo((enum servo_kind)k, 7500);
		struct servo_status st;

		assert_int_equal(servo_sync_sample(NULL, 1, 2, 3, 4), -EINVAL);
		/* t4 < t1 */
		assert_int_equal(servo_sync_sample(s, 1000, 5, 6, 999),
				 -EINVAL);
		/* t3 < t2 */
		assert_int_equal(servo_sync_sample(s, 1000, 7, 6, 2000),
				 -EINVAL);
		assert_int_equal(servo_forward_sample(NULL, 1, 2), -EINVAL);
		servo_status(s, &st);
		assert_int_equal(st.samples + st.rejected, 0);
		assert_int_equal(st.state, SERVO_UNLOCKED);
		servo_free(s);
	}
}

static void test_map_unlocked(void **state)
{
	for (int k = 0; k < NKINDS; k++) {
		struct servo *s = new_servo((enum servo_kind)k, 7500);
		uint64_t m = 42;

		assert_int_equal(servo_map(s, 1000, &m), -EAGAIN);
		assert_int_equal(m, 42);
		assert_int_equal(servo_map(s, 1000, NULL), -EINVAL);
		assert_int_equal(servo_map(NULL, 1000, &m), -EINVAL);
		assert_true(servo_rate(s) == 1.0);
		assert_true(servo_rate(NULL) == 1.0);
		/* One exchange is not a lock. */
		assert_int_equal(servo_sync_sample(s, 1000000, 5000000,
						   5000000 + 7500000,
						   1000000 + 8000000),
				 0);
		assert_int_equal(servo_map(s, 1000, &m), -EAGAIN);
		assert_int_equal(state_of(s), SERVO_UNLOCKED);
		servo_tick(s, 100 * NSEC_PER_SEC);
		assert_int_equal(state_of(s), SERVO_UNLOCKED);
		servo_free(s);
	}
}

static void test_names(void **state)
{
	enum servo_kind k;

	for (int i = 0; i < NKINDS; i++) {
		assert_int_equal(servo_kind_from_string(
				     servo_kind_name((enum servo_kind)i), &k),
				 0);
		assert_int_equal(k, i);
	}
	assert_string_equal(servo_kind_name(SERVO_MEDIAN_IIR), "median-iir");
	assert_string_equal(servo_kind_name(SERVO_LUCKY_PI), "lucky-pi");
	assert_null(servo_kind_name((enum servo_kind)SERVO_N_KINDS));
	assert_int_equal(servo_kind_from_string("pi", &k), -EINVAL);
	assert_int_equal(servo_kind_from_string(NULL, &k), -EINVAL);
	assert_int_equal(servo_kind_from_string("ttws", NULL), -EINVAL);
	assert_string_equal(servo_state_name(SERVO_UNLOCKED), "unlocked");
	assert_string_equal(servo_state_name(SERVO_LOCKED), "locked");
	assert_string_equal(servo_state_name(SERVO_STABLE), "stable");
	assert_string_equal(servo_state_name(SERVO_HOLDOVER), "holdover");
	assert_null(servo_state_name((enum servo_state)4));
}

static void test_pair(void **state)
{
	struct servo *a = new_servo(SERVO_TTWS, 7500);
	struct servo *b = new_servo(SERVO_TTWS, 15000);
	struct servo *c = new_servo(SERVO_NAIVE, 7500);
	struct servo *d = new_servo(SERVO_TTWS, 7500);

	assert_int_equal(servo_pair(a, NULL), -EINVAL);
	assert_int_equal(servo_pair(a, a), -EINVAL);
	assert_int_equal(servo_pair(a, c), -EINVAL);
	assert_int_equal(servo_pair(a, b), 0);
	/* Re-pairing unlinks the old partner; freeing unlinks too. */
	assert_int_equal(servo_pair(a, d), 0);
	servo_free(a);
	assert_int_equal(servo_pair(b, d), 0);
	servo_free(b);
	servo_free(d);
	servo_free(c);
}

/* Selection against a sorted reference, on random and ordered data. */
static void test_select(void **state)
{
	static double v[600], w[600], sorted[600], tmp[600];
	uint64_t rng = 11;

	for (int round = 0; round < 300; round++) {
		unsigned n = 1 + (unsigned)(gen_u64(&rng) % 600);

		for (unsigned i = 0; i < n; i++) {
			switch (round % 3) {
			case 0:
				v[i] = gen_unit(&rng);
				break;
			case 1: /* ties */
				v[i] = (double)(gen_u64(&rng) % 5);
				break;
			default: /* ordered runs, as delays over time */
				v[i] = (double)(i % 50) + 0.5 * gen_unit(&rng);
				break;
			}
			sorted[i] = v[i];
		}
		qsort(sorted, n, sizeof(double), dbl_cmp);
		for (int t = 0; t < 5; t++) {
			unsigned k = (unsigned)(gen_u64(&rng) % n);
			double lo = sorted[k] - gen_unit(&rng);
			double hi = lo + 2.0 * gen_unit(&rng);

			memcpy(w, v, n * sizeof(double));
			assert_true(servo_select(w, n, k) == sorted[k]);
			/* Exact whether the guessed band holds it or not. */
			assert_true(servo_select_near(v, tmp, n, k, lo, hi) ==
				    sorted[k]);
		}
	}
}

/*
 * Convergence on traces with known truth.
 */

/* Symmetric delays: the case the NTP offset is right for. */
static void feed_symmetric(struct servo *s, uint64_t h0, double ppm,
			   uint64_t off, int n, uint64_t *rng)
{
	for (int i = 0; i < n; i++) {
		uint64_t t1 = h0 + (uint64_t)i * 20 * NSEC_PER_MSEC;
		uint64_t d =
		    500 * NSEC_PER_USEC + (uint64_t)(gen_unit(rng) * 20000);
		uint64_t t4 = t1 + 2 * d + 50 * NSEC_PER_USEC;
		uint64_t t2 =
		    off + (t1 + d - h0) +
		    (uint64_t)llround(ppm * 1e-6 * (double)(t1 + d - h0));
		uint64_t t3 = t2 + 50 * NSEC_PER_USEC;

		assert_int_equal(servo_sync_sample(s, t1, t2, t3, t4), 0);
	}
}

static double converge_symmetric(enum servo_kind kind, double *ret_rate)
{
	struct servo *s = new_servo(kind, 7500);
	uint64_t h0 = UINT64_C(5000000000000), off = UINT64_C(42) << 56;
	uint64_t rng = 3, last = h0 + 3999 * 20 * NSEC_PER_MSEC, m;
	uint64_t truth =
	    off + (last - h0) + (uint64_t)llround(30e-6 * (double)(last - h0));

	feed_symmetric(s, h0, 30.0, off, 4000, &rng);
	assert_int_equal(servo_map(s, last, &m), 0);
	*ret_rate = (servo_rate(s) - 1.0) * 1e6;
	servo_free(s);
	return (double)(int64_t)(m - truth);
}

static void test_converge_naive(void **state)
{
	double rate, err = converge_symmetric(SERVO_NAIVE, &rate);

	assert_true(fabs(err) < 15 * US);
	assert_true(fabs(rate - 30.0) < 5);
}

static void test_converge_median_iir(void **state)
{
	double rate, err = converge_symmetric(SERVO_MEDIAN_IIR, &rate);

	assert_true(fabs(err) < 15 * US);
	assert_true(fabs(rate - 30.0) < 5);
}

static void test_converge_ttws_symmetric(void **state)
{
	/*
	 * ttws follows the reverse floor, so here it lands the one-way
	 * delay (500 us plus some of the 20 us of jitter) early, by design.
	 * These stamps are not on a connection-event grid either: this is
	 * also the plain-coordinate path.
	 */
	double rate, err = converge_symmetric(SERVO_TTWS, &rate);

	assert_true(err < -500 * US && err > -520 * US);
	assert_true(fabs(rate - 30.0) < 0.1);
}

static void test_converge_ttws(void **state)
{
	struct scenario sc = sc_nominal;
	struct servo *s = new_servo(SERVO_TTWS, sc.ear[0].ci_us);
	struct feed f;
	double first, later;

	sc.seconds = 30;
	feed_init(&f, &sc);
	feed_until(&f, s, 1, 0);
	first = feed_err(&f, s, 1, 0);
	feed_until(&f, s, 29, 0);
	later = feed_err(&f, s, 29, 0);
	/* The reverse floor: 100 us of HCI, plus a little luck. */
	assert_true(later < -100 * US && later > -110 * US);
	assert_true(fabs(first - later) < 5 * US);
	assert_true(fabs((servo_rate(s) - 1.0) * 1e6 -
			 true_rate_ppm(&f.g, 0, f.g.h0 + 29 * NSEC_PER_SEC)) <
		    0.1);
	feed_fini(&f);
	servo_free(s);
}

/* The ci_us hint is wrong: no event grid, plain coordinates still work. */
static void test_grid_fallback(void **state)
{
	struct scenario sc = sc_nominal;
	struct servo *s = new_servo(SERVO_TTWS, 11250);
	struct feed f;
	double err;

	sc.seconds = 30;
	sc.ear[0].wander_ppb_per_s = 0;
	feed_init(&f, &sc);
	feed_until(&f, s, 29, 0);
	err = feed_err(&f, s, 29, 0);
	assert_true(err < -100 * US && err > -110 * US);
	assert_true(fabs((servo_rate(s) - 1.0) * 1e6 - 23.0) < 0.1);
	assert_int_equal(state_of(s), SERVO_STABLE);
	feed_fini(&f);
	servo_free(s);
}

/* The interval HELLO settled on, before and during a connection. */
static void test_set_ci(void **state)
{
	struct scenario sc = sc_nominal;
	struct servo *s = new_servo(SERVO_TTWS, 11250);
	struct servo_status st;
	struct feed f;
	double err;

	assert_int_equal(servo_set_ci(NULL, 7500), -EINVAL);
	assert_int_equal(servo_set_ci(s, 0), -EINVAL);
	assert_int_equal(servo_set_ci(s, 4000001), -EINVAL);
	assert_int_equal(servo_set_ci(s, 7500), 0);
	sc.seconds = 30;
	feed_init(&f, &sc);
	feed_until(&f, s, 15, 0);
	err = feed_err(&f, s, 15, 0);
	assert_true(err < -100 * US && err > -110 * US);
	/* Mid-connection: the model goes on, no step, no unlock. */
	assert_int_equal(servo_set_ci(s, 15000), 0);
	feed_until(&f, s, 29, 0);
	servo_status(s, &st);
	assert_int_equal(st.steps, 0);
	assert_true(st.state == SERVO_LOCKED || st.state == SERVO_STABLE);
	assert_true(fabs(feed_err(&f, s, 29, 0) - err) < 5 * US);
	feed_fini(&f);
	servo_free(s);
}

/*
 * State machine.
 */

static void test_lock_stable(void **state)
{
	struct scenario sc = sc_nominal;
	struct servo *s = new_servo(SERVO_TTWS, sc.ear[0].ci_us);
	struct feed f;
	struct servo_status st;
	int i;

	sc.seconds = 20;
	feed_init(&f, &sc);
	for (i = 0; i < 3; i++) {
		const struct xchg *x = feed_next(&f);

		servo_sync_sample(s, x->t1, x->t2, x->t3, x->t4);
		assert_int_equal(state_of(s), SERVO_UNLOCKED);
	}
	feed_until(&f, s, 0.1, 0);
	assert_int_equal(state_of(s), SERVO_LOCKED);
	feed_until(&f, s, 19, 0);
	servo_status(s, &st);
	assert_int_equal(st.state, SERVO_STABLE);
	assert_true(st.samples > 500);
	assert_int_equal(st.steps, 0);
	assert_true(st.offset_sd_ns > 0 && st.offset_sd_ns < 2000);
	assert_true(fabs((double)st.rate_ppb / 1e3 - 23.0) < 0.2);
	feed_fini(&f);
	servo_free(s);
}

/*
 * Two consecutive residuals over the threshold step, one does not. For
 * the baselines "over the threshold" is over their own scatter (a good
 * part of a connection interval), so their jump is 20 ms.
 */
static void check_step(enum servo_kind kind, int64_t jump_ns)
{
	struct scenario sc = sc_nominal;
	struct servo *s = new_servo(kind, sc.ear[0].ci_us);
	struct servo_status st, st0;
	const struct xchg *x;
	struct feed f;
	double before, tol = 3000 * US;
	uint64_t m0, m1;

	if (kind == SERVO_TTWS) {
		tol = 5 * US;
	} else if (kind == SERVO_LUCKY_PI) {
		tol = 150 * US;
	}
	sc.seconds = 30;
	feed_init(&f, &sc);
	feed_until(&f, s, 10, 0);
	before = feed_err(&f, s, 10, 0);
	servo_status(s, &st0);

	/* One early reply (a corrupt stamp): rejected, no step. */
	x = feed_next(&f);
	assert_int_equal(servo_map(s, x->t4, &m0), 0);
	assert_int_equal(servo_sync_sample(s, x->t1, x->t2 + (uint64_t)jump_ns,
					   x->t3 + (uint64_t)jump_ns, x->t4),
			 0);
	servo_status(s, &st);
	assert_int_equal(st.steps, 0);
	assert_int_equal(st.rejected, st0.rejected + 1);
	assert_int_equal(st.state, st0.state);
	assert_int_equal(servo_map(s, x->t4, &m1), 0);
	assert_true(llabs((int64_t)(m1 - m0)) < 2 * NSEC_PER_USEC);
	feed_until(&f, s, 12, 0);
	assert_true(fabs(feed_err(&f, s, 12, 0) - before) < tol);

	/* The earbud clock jumps for good: two outliers, one step. */
	feed_until(&f, s, 12.1, jump_ns);
	servo_status(s, &st);
	assert_int_equal(st.steps, 1);
	assert_int_not_equal(st.state, SERVO_UNLOCKED);
	feed_until(&f, s, 25, jump_ns);
	servo_status(s, &st);
	assert_int_equal(st.steps, 1);
	assert_true(fabs(feed_err(&f, s, 25, jump_ns) - before) < tol);
	feed_fini(&f);
	servo_free(s);
}

static void test_step_ttws(void **state)
{
	check_step(SERVO_TTWS, 200 * NSEC_PER_USEC);
	check_step(SERVO_TTWS, 1000 * NSEC_PER_USEC);
}

static void test_step_baselines(void **state)
{
	check_step(SERVO_NAIVE, 20 * NSEC_PER_MSEC);
	check_step(SERVO_MEDIAN_IIR, 20 * NSEC_PER_MSEC);
	/* Lucky exchanges bound its error by a few hundred us here. */
	check_step(SERVO_LUCKY_PI, 1000 * NSEC_PER_USEC);
}

/* The earbud clock jumps back: replies look late, not impossible. */
static void test_step_backwards(void **state)
{
	struct scenario sc = sc_nominal;
	struct servo *s = new_servo(SERVO_TTWS, sc.ear[0].ci_us);
	int64_t jump = -(int64_t)(500 * NSEC_PER_USEC);
	struct servo_status st;
	struct feed f;
	double before;

	sc.seconds = 40;
	feed_init(&f, &sc);
	feed_until(&f, s, 10, 0);
	before = feed_err(&f, s, 10, 0);
	/* A few late-looking replies are just queueing... */
	feed_until(&f, s, 10.05, jump);
	servo_status(s, &st);
	assert_int_equal(st.steps, 0);
	/* ...a run the window says cannot happen is a step. */
	feed_until(&f, s, 20, jump);
	servo_status(s, &st);
	assert_int_equal(st.steps, 1);
	feed_until(&f, s, 35, jump);
	assert_true(fabs(feed_err(&f, s, 35, jump) - before) < 5 * US);
	feed_fini(&f);
	servo_free(s);
}

static void test_holdover(void **state)
{
	struct scenario sc = sc_nominal;
	struct servo *s = new_servo(SERVO_TTWS, sc.ear[0].ci_us);
	struct feed f;
	double before;
	uint64_t h;

	sc.seconds = 40;
	sc.ear[0].wander_ppb_per_s = 0;
	feed_init(&f, &sc);
	feed_until(&f, s, 15, 0);
	before = feed_err(&f, s, 15, 0);
	assert_int_equal(state_of(s), SERVO_STABLE);
	/* Silence: 1 s is not yet holdover, more is. */
	h = f.g.h0 + 15 * NSEC_PER_SEC + 900 * NSEC_PER_MSEC;
	servo_tick(s, h);
	assert_int_equal(state_of(s), SERVO_STABLE);
	servo_tick(s, h + 200 * NSEC_PER_MSEC);
	assert_int_equal(state_of(s), SERVO_HOLDOVER);
	/* The map keeps extrapolating, on the learnt rate. */
	while (f.next < f.n && f.tr[f.next].t4 < f.g.h0 + 25 * NSEC_PER_SEC) {
		f.next++;
	}
	servo_tick(s, f.g.h0 + 25 * NSEC_PER_SEC);
	assert_int_equal(state_of(s), SERVO_HOLDOVER);
	assert_true(fabs(feed_err(&f, s, 25, 0) - before) < 5 * US);
	/* Samples again: out of holdover, no step. */
	feed_until(&f, s, 26, 0);
	assert_int_not_equal(state_of(s), SERVO_HOLDOVER);
	assert_int_not_equal(state_of(s), SERVO_UNLOCKED);
	feed_until(&f, s, 35, 0);
	assert_int_equal(state_of(s), SERVO_STABLE);
	assert_true(fabs(feed_err(&f, s, 35, 0) - before) < 3 * US);
	feed_fini(&f);
	servo_free(s);
}

/* Limits changed live: the lock stays, the new holdover time rules. */
static void test_set_limits(void **state)
{
	struct scenario sc = sc_nominal;
	struct servo *s = new_servo(SERVO_TTWS, sc.ear[0].ci_us);
	struct feed f;
	uint64_t h;

	sc.seconds = 20;
	feed_init(&f, &sc);
	feed_until(&f, s, 15, 0);
	assert_int_equal(state_of(s), SERVO_STABLE);
	assert_int_equal(servo_set_limits(s, 0, NSEC_PER_SEC), -EINVAL);
	assert_int_equal(servo_set_limits(s, 15 * US, 0), -EINVAL);
	assert_int_equal(servo_set_limits(NULL, 15 * US, 1), -EINVAL);
	assert_int_equal(servo_set_limits(s, 20 * US, 100 * NSEC_PER_MSEC), 0);
	assert_int_equal(state_of(s), SERVO_STABLE);
	/* 150 ms of silence: holdover now, where the default 1 s would not
	 * be yet. */
	h = f.g.h0 + 15 * NSEC_PER_SEC + 150 * NSEC_PER_MSEC;
	servo_tick(s, h);
	assert_int_equal(state_of(s), SERVO_HOLDOVER);
	feed_fini(&f);
	servo_free(s);
}

/* Reconnect: reset, then a new earbud clock origin; re-lock from scratch. */
static void test_reset_relock(void **state)
{
	for (int k = 0; k < NKINDS; k++) {
		struct scenario sc = sc_nominal;
		struct servo *s =
		    new_servo((enum servo_kind)k, sc.ear[0].ci_us);
		int64_t shift = (int64_t)(123 * NSEC_PER_SEC);
		struct servo_status st;
		struct feed f;
		uint64_t m;
		double before;

		sc.seconds = 30;
		feed_init(&f, &sc);
		feed_until(&f, s, 10, 0);
		before = feed_err(&f, s, 10, 0);
		servo_reset(s);
		servo_status(s, &st);
		assert_int_equal(st.state, SERVO_UNLOCKED);
		assert_int_equal(servo_map(s, f.g.h0, &m), -EAGAIN);
		/* The earbud restarted its clock 123 s later. */
		feed_until(&f, s, 10.2, shift);
		assert_int_not_equal(state_of(s), SERVO_UNLOCKED);
		if (k == SERVO_TTWS) {
			assert_true(fabs(feed_err(&f, s, 10.2, shift) -
					 before) < 10 * US);
			feed_until(&f, s, 11, shift);
			assert_true(fabs(feed_err(&f, s, 11, shift) - before) <
				    5 * US);
		} else {
			feed_until(&f, s, 11, shift);
			assert_true(fabs(feed_err(&f, s, 11, shift)) <
				    5000 * US);
		}
		servo_status(s, &st);
		assert_int_equal(st.steps, 0);
		feed_fini(&f);
		servo_free(s);
	}
}

static void test_forward(void **state)
{
	struct scenario sc = sc_nominal;
	struct servo *s = new_servo(SERVO_TTWS, sc.ear[0].ci_us);
	struct servo_status st;
	struct feed f;
	uint64_t h, m;

	sc.seconds = 10;
	feed_init(&f, &sc);
	/* Before a lock a forward sample is only counted. */
	assert_int_equal(servo_forward_sample(s, f.g.h0, 5), 0);
	feed_until(&f, s, 5, 0);
	h = f.g.h0 + 5 * NSEC_PER_SEC;
	assert_int_equal(servo_map(s, h, &m), 0);
	/* A frame that arrived 500 us after it left: fine. */
	assert_int_equal(servo_forward_sample(s, h, m + 500000), 0);
	/* One that arrived 1 ms before it left: the model runs ahead. */
	assert_int_equal(servo_forward_sample(s, h, m - 1000000), 0);
	servo_status(s, &st);
	assert_int_equal(st.forward_samples, 3);
	assert_int_equal(st.forward_violations, 1);
	/* It does not move the model. */
	assert_int_equal(servo_map(s, h, &h), 0);
	assert_int_equal(h, m);
	feed_fini(&f);
	servo_free(s);
}

/* Replies out of host order are gated, not fitted. */
static void test_out_of_order(void **state)
{
	struct scenario sc = sc_nominal;
	struct servo *s = new_servo(SERVO_TTWS, sc.ear[0].ci_us);
	const struct xchg *a, *b;
	struct servo_status st0, st;
	struct feed f;

	sc.seconds = 10;
	feed_init(&f, &sc);
	feed_until(&f, s, 5, 0);
	a = feed_next(&f);
	b = feed_next(&f);
	servo_status(s, &st0);
	assert_int_equal(servo_sync_sample(s, b->t1, b->t2, b->t3, b->t4), 0);
	assert_int_equal(servo_sync_sample(s, a->t1, a->t2, a->t3, a->t4), 0);
	servo_status(s, &st);
	assert_int_equal(st.samples + st.rejected,
			 st0.samples + st0.rejected + 2);
	assert_true(st.rejected >= st0.rejected + 1);
	assert_int_equal(st.steps, 0);
	feed_fini(&f);
	servo_free(s);
}

/*
 * Identical pinned-model traces into all four estimators.
 */

static void check_inter_ear(const struct scenario *sc, double p99_us,
			    double max_us)
{
	struct result r[NKINDS];

	run_scenario(sc, r);
	print_result(sc, r);
	assert_true(r[SERVO_TTWS].frames > 1000);
	assert_true(r[SERVO_TTWS].p99_us < p99_us);
	assert_true(r[SERVO_TTWS].max_us < max_us);
	assert_true(r[SERVO_TTWS].p99_us * 10 < r[SERVO_NAIVE].p99_us);
	assert_true(r[SERVO_TTWS].p99_us * 10 < r[SERVO_MEDIAN_IIR].p99_us);
	assert_int_equal(r[SERVO_TTWS].steps, 0);
	assert_int_equal(r[SERVO_TTWS].forward_violations, 0);
	for (int e = 0; e < 2; e++) {
		assert_true(fabs(r[SERVO_TTWS].rate_err_ppm[e]) < 0.1);
	}
}

static void test_inter_ear_nominal(void **state)
{
	check_inter_ear(&sc_nominal, 1.5, 3);
}

static void test_inter_ear_hard(void **state)
{
	check_inter_ear(&sc_hard, 5, 15);
}

static void test_inter_ear_stress(void **state)
{
	check_inter_ear(&sc_stress, 8, 20);
}

/* Without servo_pair() each ear guesses the dongle's rate on its own. */
static void test_inter_ear_unpaired(void **state)
{
	struct scenario sc = sc_nominal;

	sc.name = "7.5/15 ms, unpaired";
	sc.unpaired = true;
	check_inter_ear(&sc, 3, 6);
}

static void test_reconnect(void **state)
{
	struct result r[NKINDS];

	run_scenario(&sc_reconnect, r);
	print_result(&sc_reconnect, r);
	print_message("  reconnect: ttws back under 15 us for good %.3f s "
		      "after the link returned\n",
		      r[SERVO_TTWS].relock_s);
	assert_true(r[SERVO_TTWS].relock_s >= 0);
	assert_true(r[SERVO_TTWS].relock_s < 1.0);
	assert_true(r[SERVO_TTWS].max_us < 15);
}

#define SERVO_TEST(n, f)                                                       \
	{                                                                      \
		.name = "servo/" n, .test_func = (f)                           \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    SERVO_TEST("config_default", test_config_default),
	    SERVO_TEST("new_invalid", test_new_invalid),
	    SERVO_TEST("sample_invalid", test_sample_invalid),
	    SERVO_TEST("map_eagain_unlocked", test_map_unlocked),
	    SERVO_TEST("names", test_names),
	    SERVO_TEST("pair", test_pair),
	    SERVO_TEST("select", test_select),
	    SERVO_TEST("converge_naive", test_converge_naive),
	    SERVO_TEST("converge_median_iir", test_converge_median_iir),
	    SERVO_TEST("converge_ttws_symmetric", test_converge_ttws_symmetric),
	    SERVO_TEST("converge_ttws", test_converge_ttws),
	    SERVO_TEST("grid_fallback", test_grid_fallback),
	    SERVO_TEST("set_ci", test_set_ci),
	    SERVO_TEST("lock_stable", test_lock_stable),
	    SERVO_TEST("step_two_outliers_not_one", test_step_ttws),
	    SERVO_TEST("step_baselines", test_step_baselines),
	    SERVO_TEST("step_backwards", test_step_backwards),
	    SERVO_TEST("holdover", test_holdover),
	    SERVO_TEST("set_limits", test_set_limits),
	    SERVO_TEST("reset_relock", test_reset_relock),
	    SERVO_TEST("forward_causality", test_forward),
	    SERVO_TEST("out_of_order", test_out_of_order),
	    SERVO_TEST("inter_ear_nominal", test_inter_ear_nominal),
	    SERVO_TEST("inter_ear_30ms_lognormal_loss", test_inter_ear_hard),
	    SERVO_TEST("inter_ear_stress", test_inter_ear_stress),
	    SERVO_TEST("inter_ear_unpaired", test_inter_ear_unpaired),
	    SERVO_TEST("reconnect", test_reconnect),
	};

	return cmocka_run_group_tests_name("servo", tests, NULL, NULL);
}
