/* SPDX-License-Identifier: MIT */
/*
 * SERVO_TTWS, the default estimator: the reverse-path lower envelope.
 *
 * Why the reverse path only. Over BLE a request waits for the next
 * connection event, so t2 - t1 carries a wait anywhere in one connection
 * interval, and the midpoint of the two directions is off by about half an
 * interval, differently for each link (DESIGN.md, "What this model
 * teaches"). The reply is stamped two-step at the connection event that
 * carried it, so
 *
 *	t4 = host_instant(t3) + D + j,   j >= 0 one-sided HCI/USB jitter,
 *
 * with D a constant of the host's transport, the same for both ears. The
 * offset samples o = t3 - t4 therefore lie *below* the line
 * ear(h) - h - D, touching it when j is small: estimate that line from the
 * upper envelope of the o, and D drops out of the inter-ear difference.
 * The map this estimator produces is the earbud clock D (plus the mean of
 * the luckiest jitter) earlier than the truth: latency, not misalignment.
 *
 * Per sample, over a window of the last TTWS_WINDOW exchanges no older
 * than TTWS_MAX_AGE_NS:
 *  1. Envelope slope: Moon, Skelly and Towsley, "Estimation and removal of
 *     clock skew from network delay measurements", INFOCOM 1999: the line
 *     above all points that minimises the summed distance to them is the
 *     upper convex hull edge spanning the mean abscissa (their linear
 *     program, solved by the hull in O(n) since samples come in order).
 *     Until the window is long enough for the hull, the previous fit's
 *     slope (or the prior) stands in.
 *  2. Delay-quantile gating ("lucky packets"): each sample's excess delay
 *     over that envelope; only the lowest TTWS_GATE_Q quantile is used.
 *  3. Delay-weighted regression over the gated samples, weights
 *     1 / (1 + excess / scale)^2 as chrony weights its samples by their
 *     extra delay over the minimum (sourcestats.c), with a ridge prior on
 *     the slope (Bayesian linear regression): a cold start assumes
 *     0 +- 50 ppm, a reconnect or step keeps the last rate at +-2 ppm, so
 *     the first seconds after a re-lock are not left to a rate fitted on a
 *     fraction of a second. The slope and the offset at the newest sample
 *     are the model, as linuxptp's linreg servo fits phase and frequency
 *     over a window instead of integrating them.
 *
 * Step rule (servo.c counts two in a row). The noise is one-sided, so a
 * sample far *below* the envelope is a long queue, not an outlier; but a
 * sample *above* it by more than the threshold (plus the model's own
 * uncertainty) is impossible for a correct model: outlier, and not used.
 * A clock that jumped back shows as a run of samples all far below the
 * envelope; the run must be longer than the window says a run of unlucky
 * delays can be (probability < 1e-6) before it counts.
 *
 * Numerics: samples are kept as the raw uint64_t stamps; every fit works
 * on differences to the newest sample, which fit a double exactly.
 */
#include <math.h>
#include <stdlib.h>

#include "core/macro.h"
#include "core/servo_private.h"

#define TTWS_WINDOW 512
#define TTWS_MAX_AGE_NS (20 * NSEC_PER_SEC)
/* Fraction of the window, by smallest excess delay, used by the fit. */
#define TTWS_GATE_Q 0.25
/* ... but never fewer than this many samples. */
#define TTWS_GATE_MIN 4
/* Samples before the first lock, and after a step (which keeps the rate). */
#define TTWS_LOCK_N 4
#define TTWS_STEP_LOCK_N 2
/* No outlier verdicts until this many samples since reset or step. */
#define TTWS_FRESH_N 32
/* The hull needs this much to be better than the previous slope. */
#define TTWS_HULL_MIN_N 16
#define TTWS_HULL_MIN_SPAN_NS (2 * NSEC_PER_SEC)
/* Rate prior: +-50 ppm crystal (DESIGN.md); same crystal after reconnect. */
#define TTWS_PRIOR_SD_COLD 50e-6
#define TTWS_PRIOR_SD_WARM 2e-6
/* Floor of the weight scale: timestamps are not better than this (ns). */
#define TTWS_SCALE_MIN_NS 100.0
/* Stable: rate known to this (standard error), over at least this span. */
#define TTWS_STABLE_RATE_SD 0.2e-6
#define TTWS_STABLE_SPAN_NS (2 * NSEC_PER_SEC)
#define TTWS_STABLE_N 32
/* A run of far-below samples this unlikely is a clock jump (see top). */
#define TTWS_RUN_LOG_P (-20.7) /* ln(1e-9) */
#define TTWS_RUN_MIN 8
#define TTWS_ITER 1
#define TTWS_ENV_MODE 0

struct servo_ttws {
	struct servo servo;
	/* Ring of raw stamps, oldest at (head - count). */
	uint64_t t4[TTWS_WINDOW];
	uint64_t t3[TTWS_WINDOW];
	unsigned head;
	unsigned count;
	unsigned fresh;  /* samples since reset or step */
	unsigned lock_n; /* samples needed for a model */
	unsigned neg_run;

	double prior_rate;
	double prior_sd;

	/* Results of the last fit. */
	bool have_fit;
	double rate;      /* d ear / d host - 1 */
	double rate_sd;   /* its standard error */
	double offset_sd; /* of the offset at the newest sample, ns */
	double lift;      /* envelope height above the model line, ns */
	double near_frac; /* window fraction within the threshold of it */
	double gate_ns;   /* excess delay gate, ns */
	double newest_excess_ns;

	/* Scratch for the fit, sized once. */
	double x[TTWS_WINDOW];
	double o[TTWS_WINDOW];
	double e[TTWS_WINDOW];
	double tmp[TTWS_WINDOW];
	unsigned hull[TTWS_WINDOW];
};

static struct servo_ttws *to_ttws(struct servo *s)
{
	return container_of(s, struct servo_ttws, servo);
}

static void ttws_free(struct servo *s)
{
	free(to_ttws(s));
}

static void ttws_forget(struct servo_ttws *t, unsigned lock_n)
{
	/* Whatever rate we had becomes the prior of the next lock. */
	if (t->have_fit) {
		t->prior_rate = t->rate;
		t->prior_sd = MAX(t->rate_sd, TTWS_PRIOR_SD_WARM);
	}
	t->head = 0;
	t->count = 0;
	t->fresh = 0;
	t->lock_n = lock_n;
	t->neg_run = 0;
	t->have_fit = false;
}

static void ttws_reset(struct servo *s)
{
	ttws_forget(to_ttws(s), TTWS_LOCK_N);
}

static void ttws_step(struct servo *s)
{
	ttws_forget(to_ttws(s), TTWS_STEP_LOCK_N);
}

static unsigned ttws_index(const struct servo_ttws *t, unsigned i)
{
	/* i-th oldest sample of the ring. */
	return (t->head + TTWS_WINDOW - t->count + i) % TTWS_WINDOW;
}

/*
 * Moon et al. 1999, section III: slope of the upper-hull edge of
 * (x[i], v[i]) that spans the mean abscissa. x is non-decreasing.
 * Returns false for a degenerate window (all x equal).
 */
static bool ttws_hull_slope(struct servo_ttws *t, const double *v, unsigned n,
			    double *ret)
{
	const double *x = t->x;
	unsigned *h = t->hull;
	unsigned m = 0;
	double xbar = 0;

	for (unsigned i = 0; i < n; i++) {
		xbar += x[i];
		/* Andrew's monotone chain: keep right turns only. */
		while (m >= 2) {
			unsigned a = h[m - 2], b = h[m - 1];
			double cross = (x[b] - x[a]) * (v[i] - v[a]) -
				       (v[b] - v[a]) * (x[i] - x[a]);

			if (cross < 0) {
				break;
			}
			m--;
		}
		h[m++] = i;
	}
	xbar /= n;
	for (unsigned k = 0; k + 1 < m; k++) {
		unsigned a = h[k], b = h[k + 1];

		if (x[b] > x[a] && x[a] <= xbar && xbar <= x[b]) {
			*ret = (v[b] - v[a]) / (x[b] - x[a]);
			return true;
		}
	}
	return false;
}

/*
 * Excess delay of every sample over the envelope of slope b (e[i] >= 0,
 * 0 at the envelope), and the gate: the TTWS_GATE_Q quantile of e.
 */
static double ttws_gate(struct servo_ttws *t, unsigned n, double b)
{
	const double *x = t->x, *o = t->o;
	double vmax = -INFINITY;
	unsigned k;

	for (unsigned i = 0; i < n; i++) {
		vmax = MAX(vmax, o[i] - b * x[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		t->e[i] = vmax - (o[i] - b * x[i]);
		t->tmp[i] = t->e[i];
	}
	k = (unsigned)ceil(TTWS_GATE_Q * n);
	k = MAX(k, MIN(n, TTWS_GATE_MIN));
	return servo_select(t->tmp, n, k - 1);
}

struct ttws_line {
	double b;      /* slope */
	double a0;     /* offset at the newest sample (x = 0), ns */
	double sw;     /* sum of weights */
	double xbar;   /* weighted mean abscissa, ns */
	double sxx;    /* weighted spread of the abscissae plus the prior */
	double scale;  /* standard deviation of a unit-weight sample, ns */
};

/* Step 3: the delay-weighted, ridge-regularised fit of the gated samples. */
static void ttws_wls(const struct servo_ttws *t, unsigned n, double gate,
		     struct ttws_line *ret)
{
	const double *x = t->x, *o = t->o, *e = t->e;
	double scale = MAX(gate / 2, TTWS_SCALE_MIN_NS);
	double sw = 0, sx = 0, so = 0, sxx = 0, sxo = 0, xbar, obar, lambda;

	for (unsigned i = 0; i < n; i++) {
		double w;

		if (e[i] > gate) {
			continue;
		}
		w = 1.0 / ((1.0 + e[i] / scale) * (1.0 + e[i] / scale));
		sw += w;
		sx += w * x[i];
		so += w * o[i];
	}
	xbar = sx / sw;
	obar = so / sw;
	for (unsigned i = 0; i < n; i++) {
		double w, dx;

		if (e[i] > gate) {
			continue;
		}
		w = 1.0 / ((1.0 + e[i] / scale) * (1.0 + e[i] / scale));
		dx = x[i] - xbar;
		sxx += w * dx * dx;
		sxo += w * dx * (o[i] - obar);
	}
	/* Prior precision in the units of the data: (scale / sd)^2. */
	lambda = (scale * scale) / (t->prior_sd * t->prior_sd);
	ret->b = (sxo + lambda * t->prior_rate) / (sxx + lambda);
	ret->a0 = obar - ret->b * xbar;
	ret->sw = sw;
	ret->xbar = xbar;
	ret->sxx = sxx + lambda;
	ret->scale = scale;
}

static void ttws_fit(struct servo_ttws *t)
{
	struct servo *s = &t->servo;
	unsigned nw = ttws_index(t, t->count - 1);
	uint64_t t4n = t->t4[nw], t3n = t->t3[nw];
	double *x = t->x, *o = t->o;
	double thr = (double)s->cfg.resync_threshold_ns;
	double b, gate = 0, env;
	struct ttws_line line = { 0 };
	unsigned n, near = 0;
	int64_t span;

	/* Age out, keeping at least the newest sample. */
	while (t->count > 1 &&
	       servo_diff(t4n, t->t4[ttws_index(t, 0)]) >
		       (int64_t)TTWS_MAX_AGE_NS) {
		t->count--;
	}
	n = t->count;
	for (unsigned i = 0; i < n; i++) {
		unsigned j = ttws_index(t, i);
		int64_t dx = servo_diff(t->t4[j], t4n);

		x[i] = (double)dx;
		o[i] = (double)(servo_diff(t->t3[j], t3n) - dx);
	}
	span = (int64_t)-x[0];

	/*
	 * 1. Envelope slope: the previous fit's, or the prior; Moon's hull
	 * once the window is long enough to have one.
	 */
	b = t->have_fit ? t->rate : t->prior_rate;
	if (TTWS_ENV_MODE != 1 && n >= TTWS_HULL_MIN_N &&
	    span >= (int64_t)TTWS_HULL_MIN_SPAN_NS) {
		double db;

		for (unsigned i = 0; i < n; i++) {
			t->tmp[i] = o[i] - b * x[i];
		}
		if (ttws_hull_slope(t, t->tmp, n, &db)) {
			b += db;
		}
	}

	/* 2. and 3., iterated so the gate follows the fitted slope. */
	for (unsigned it = 0; it < TTWS_ITER; it++) {
		gate = ttws_gate(t, n, b);
		ttws_wls(t, n, gate, &line);
		b = line.b;
	}

	near = 0;
	env = -INFINITY;
	for (unsigned i = 0; i < n; i++) {
		env = MAX(env, o[i] - b * x[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		if (env - (o[i] - b * x[i]) <= thr) {
			near++;
		}
	}

	t->have_fit = true;
	t->rate = b;
	t->rate_sd = line.scale / sqrt(line.sxx);
	t->offset_sd = line.scale * sqrt(1.0 / line.sw +
					 line.xbar * line.xbar / line.sxx);
	t->lift = env - line.a0;
	t->near_frac = (double)near / n;
	t->gate_ns = gate;
	t->newest_excess_ns = t->e[n - 1];

	s->model.ref_host = t4n;
	s->model.ref_ear = t3n + (uint64_t)llround(line.a0);
	s->model.rate = b;
	s->model.valid = t->fresh >= t->lock_n;
	s->model.settled = s->model.valid && n >= TTWS_STABLE_N &&
			   span >= (int64_t)TTWS_STABLE_SPAN_NS &&
			   t->rate_sd <= TTWS_STABLE_RATE_SD;
}

/*
 * Before the sample joins the window: is it an outlier against the model?
 * r is the sample's ear time minus the model's, both at t4.
 */
static bool ttws_outlier(struct servo_ttws *t, int64_t r_env)
{
	struct servo *s = &t->servo;
	double thr = (double)s->cfg.resync_threshold_ns;
	/*
	 * A new sample may beat the envelope of a young or heavy-tailed
	 * window by about the spread of its lucky samples (the gate) without
	 * anything being wrong: a lognormal floor is approached slowly.
	 */
	double tol = thr + 3.0 * t->offset_sd + t->gate_ns;
	double run;

	if (t->fresh < TTWS_FRESH_N) {
		return false;
	}
	if ((double)r_env > tol) {
		return true;
	}
	if ((double)r_env >= -thr) {
		t->neg_run = 0;
		return false;
	}
	/*
	 * Far below: a long queue, unless the window says runs this long
	 * do not happen (a fraction near_frac of samples lands within the
	 * threshold of the envelope; halved, because the envelope of a long
	 * window is a lucky extreme that new samples reach less often).
	 */
	t->neg_run++;
	if (t->near_frac <= 0.0) {
		run = TTWS_WINDOW;
	} else {
		run = ceil(TTWS_RUN_LOG_P / log1p(-t->near_frac / 2));
	}
	run = MAX(run, TTWS_RUN_MIN);
	run = MIN(run, TTWS_WINDOW / 2);
	return t->neg_run > (unsigned)run;
}

static enum servo_verdict ttws_sample(struct servo *s,
				      const struct servo_sync *x,
				      int64_t *ret_residual_ns)
{
	struct servo_ttws *t = to_ttws(s);
	bool outlier = false;

	*ret_residual_ns = 0;
	if (t->count > 0) {
		unsigned nw = ttws_index(t, t->count - 1);

		/* The envelope needs samples in host order. */
		if (x->t4_host < t->t4[nw]) {
			return SERVO_GATED;
		}
	}
	if (s->model.valid) {
		int64_t r = servo_diff(x->t3_ear,
				       servo_model_map(&s->model, x->t4_host));
		int64_t r_env = r - llround(t->lift);

		*ret_residual_ns = r_env;
		outlier = ttws_outlier(t, r_env);
		/* Above the envelope: impossible, keep it out. */
		if (outlier && r_env > 0) {
			return SERVO_OUTLIER;
		}
	}

	t->t4[t->head] = x->t4_host;
	t->t3[t->head] = x->t3_ear;
	t->head = (t->head + 1) % TTWS_WINDOW;
	t->count = MIN(t->count + 1, TTWS_WINDOW);
	t->fresh++;
	ttws_fit(t);
	if (outlier) {
		return SERVO_OUTLIER;
	}
	return t->newest_excess_ns > t->gate_ns ? SERVO_GATED : SERVO_ACCEPT;
}

static const struct servo_ops ttws_ops = {
	.free = ttws_free,
	.reset = ttws_reset,
	.sample = ttws_sample,
	.step = ttws_step,
};

struct servo *servo_ttws_new(const struct servo_config *cfg)
{
	struct servo_ttws *t = calloc(1, sizeof(*t));

	if (!t) {
		return NULL;
	}
	t->servo.ops = &ttws_ops;
	t->prior_rate = 0.0;
	t->prior_sd = TTWS_PRIOR_SD_COLD;
	t->lock_n = TTWS_LOCK_N;
	return &t->servo;
}
