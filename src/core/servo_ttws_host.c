/* SPDX-License-Identifier: MIT */
/*
 * SERVO_TTWS's host line (servo_ttws.c has the whole estimator): the
 * host time of each connection event (or, off the grid, of each earbud
 * instant) as a straight line fitted to the luckiest replies.
 *
 * The host line, per sample, over the window:
 *  1. Envelope slope: Moon, Skelly and Towsley, "Estimation and removal of
 *     clock skew from network delay measurements", INFOCOM 1999: the line
 *     on one side of all points that minimises the summed distance to
 *     them touches the convex hull on the edge spanning the mean abscissa
 *     (their linear program, solved by the hull in O(n) since samples come
 *     in order). Between hulls, and until the window is long enough for
 *     one, the previous fit's slope (or the prior) stands in.
 *  2. Delay-quantile gating ("lucky packets"): each sample's excess delay
 *     over that envelope; only the lowest TTWS_GATE_Q of them are used.
 *  3. Delay-weighted regression of the gated samples, weights
 *     1 / (1 + excess / scale)^2 as chrony weights samples by their extra
 *     delay over the minimum (sourcestats.c), with a Bayesian prior on the
 *     slope: a cold start assumes 0 +- 50 ppm; a reconnect or step keeps
 *     the last slope at +- 2 ppm (neither crystal changed). The slope and
 *     the offset at the newest sample are the model, as linuxptp's linreg
 *     servo fits phase and frequency over a window instead of integrating
 *     them. A servo_pair()ed peer behind the same dongle contributes its
 *     own evidence on the slope, which is the same quantity for both ears.
 * The gate and weights target the same statistic of the delay
 * distribution whatever the window size, so two ears sharing a transport
 * are biased alike (TTWS_GATE_Q was chosen on exponential, lognormal and
 * uniform jitter: near the floor helps sharp-edged delays, a wider gate
 * the lognormal body).
 */
#include <math.h>
#include <stdlib.h>

#include "core/macro.h"
#include "core/servo_ttws_private.h"

/*
 * Age limits of the window. On the event grid only the dongle's crystal,
 * which sits in a host at room temperature, limits the window; without
 * the grid the earbud's own wander does.
 */
#define TTWS_GRID_MAX_AGE_NS (180 * NSEC_PER_SEC)
#define TTWS_PLAIN_MAX_AGE_NS (60 * NSEC_PER_SEC)
/* ... never fewer than this many samples in the gate (TTWS_GATE_Q). */
#define TTWS_GATE_MIN 4
/* Weight scale as a fraction of the gate (chrony-style weights). */
#define TTWS_WEIGHT_SCALE 0.25
/* The hull needs this much to be better than the previous slope. */
#define TTWS_HULL_MIN_N 16
#define TTWS_HULL_MIN_SPAN_NS (2 * NSEC_PER_SEC)
#define TTWS_HULL_EVERY 16
/* Floor of the weight scale: timestamps are not better than this (ns). */
#define TTWS_SCALE_MIN_NS 100.0
/* Stable: rate and offset known to this (standard error). */
#define TTWS_STABLE_RATE_SD 0.2e-6
#define TTWS_STABLE_OFFSET_SD_NS 2000.0
#define TTWS_STABLE_SPAN_NS (2 * NSEC_PER_SEC)
#define TTWS_STABLE_N 32

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
	}
	k = (unsigned)ceil(TTWS_GATE_Q * n);
	k = MAX(k, MIN(n, TTWS_GATE_MIN));
	/* The gate of the last fit is a good guess of this one. */
	return servo_select_near(t->e, t->tmp, n, k - 1,
				 t->gate_ns * 0.9 - 100.0,
				 t->gate_ns * 1.1 + 100.0);
}

struct ttws_line {
	double b;     /* slope */
	double a0;    /* offset at the newest sample (x = 0), ns */
	double sw;    /* sum of weights */
	double xbar;  /* weighted mean abscissa, ns */
	double sxx;   /* weighted spread of the abscissae plus the prior */
	double scale; /* standard deviation of a unit-weight sample, ns */
};

/*
 * chrony's weighting (sourcestats.c): a sample's standard deviation grows
 * as 1 + its extra delay over the minimum in units of scale.
 */
static double ttws_weight(double e, double scale)
{
	double d = 1.0 + e / scale;

	return 1.0 / (d * d);
}

/* The peer's evidence on the dongle slope, if it has any on the grid. */
static void ttws_peer(const struct servo_ttws *t, double *ret_p, double *ret_q)
{
	const struct servo *peer = t->servo.peer;
	const struct servo_ttws *pt;

	*ret_p = 0;
	*ret_q = 0;
	if (!t->grid || !ttws_is(peer)) {
		return;
	}
	pt = container_of(peer, const struct servo_ttws, servo);
	if (pt->grid) {
		*ret_p = pt->share_p;
		*ret_q = pt->share_q;
	}
}

/* Step 3: the delay-weighted fit of the gated samples, with the prior. */
static void ttws_wls(struct servo_ttws *t, unsigned n, double gate,
		     struct ttws_line *ret)
{
	const double *x = t->x, *o = t->o, *e = t->e;
	double *w = t->tmp; /* the gate's selection scratch is free again */
	double scale = MAX(gate * TTWS_WEIGHT_SCALE, TTWS_SCALE_MIN_NS);
	double sw = 0, sx = 0, so = 0, sxx = 0, sxo = 0, xbar, obar, lambda;
	double pp, pq;

	for (unsigned i = 0; i < n; i++) {
		w[i] = e[i] > gate ? 0.0 : ttws_weight(e[i], scale);
		sw += w[i];
		sx += w[i] * x[i];
		so += w[i] * o[i];
	}
	xbar = sx / sw;
	obar = so / sw;
	for (unsigned i = 0; i < n; i++) {
		double dx = x[i] - xbar;

		sxx += w[i] * dx * dx;
		sxo += w[i] * dx * (o[i] - obar);
	}
	if (t->grid) {
		t->share_p = sxx / (scale * scale);
		t->share_q = sxo / (scale * scale);
	}
	ttws_peer(t, &pp, &pq);
	/*
	 * Posterior of the slope: prior, this window, and the peer's window
	 * (the same dongle), each weighted by its precision, in the units
	 * of this window's data, (scale / sd)^2.
	 */
	lambda = (scale * scale) / (t->prior_sd * t->prior_sd);
	pp *= scale * scale;
	pq *= scale * scale;
	ret->b = (sxo + pq + lambda * t->prior_b) / (sxx + pp + lambda);
	ret->a0 = obar - ret->b * xbar;
	ret->sw = sw;
	ret->xbar = xbar;
	ret->sxx = sxx + pp + lambda;
	ret->scale = scale;
}

/*
 * Age the window out (keeping at least the newest sample) and fill x and
 * o (see ttws_fit()). Returns the sample count; *ret_span the host ns
 * the window spans.
 */
static unsigned ttws_load(struct servo_ttws *t, int64_t *ret_span)
{
	unsigned nw = ttws_index(t, t->count - 1);
	uint64_t t4n = t->t4[nw], t3n = t->t3[nw];
	uint64_t max_age =
	    t->grid ? TTWS_GRID_MAX_AGE_NS : TTWS_PLAIN_MAX_AGE_NS;

	while (t->count > 1 &&
	       servo_diff(t4n, t->t4[ttws_index(t, 0)]) > (int64_t)max_age) {
		t->count--;
	}
	for (unsigned i = 0; i < t->count; i++) {
		unsigned j = ttws_index(t, i);

		if (t->grid) {
			t->x[i] = (double)(t->g[j] - t->g[nw]);
		} else {
			t->x[i] = (double)servo_diff(t->t3[j], t3n);
		}
		t->o[i] = t->x[i] - (double)servo_diff(t->t4[j], t4n);
	}
	*ret_span = servo_diff(t4n, t->t4[ttws_index(t, 0)]);
	return t->count;
}

/*
 * 1. Envelope slope: Moon's hull once the window is long enough to have
 * one; in between (it moves little from one sample to the next, and costs
 * as much as the rest of the fit) the previous fit's.
 */
static double ttws_envelope_slope(struct servo_ttws *t, unsigned n,
				  int64_t span)
{
	double b = t->have_fit ? t->b : t->prior_b, db;

	if (n >= TTWS_HULL_MIN_N && span >= (int64_t)TTWS_HULL_MIN_SPAN_NS &&
	    t->fresh % TTWS_HULL_EVERY == 0) {
		for (unsigned i = 0; i < n; i++) {
			t->tmp[i] = t->o[i] - b * t->x[i];
		}
		if (ttws_hull_slope(t, t->tmp, n, &db)) {
			b += db;
		}
	}
	return b;
}

/*
 * Uncertainty of the host line, and where the envelope sits above it.
 * The gated mean of the lowest fraction q of n samples is a one-sided
 * trimmed mean; from its influence function its variance is
 * Var((G - e)^+) / (n q^2) (Hampel, Ronchetti, Rousseeuw and Stahel,
 * "Robust Statistics", 1986, 2.1b and 2.3), whatever the delay
 * distribution. The slope's variance relates to it as in any weighted
 * regression, through sw / sxx. Sets rate_sd, offset_sd, lift, near_frac.
 */
static void ttws_spread(struct servo_ttws *t, unsigned n, double gate,
			const struct ttws_line *line)
{
	const double *x = t->x, *o = t->o;
	double thr = (double)t->servo.cfg.resync_threshold_ns, b = line->b;
	double env = -INFINITY, m1 = 0, m2 = 0, q, loc_var, rate_var;
	unsigned near = 0, gated = 0;

	for (unsigned i = 0; i < n; i++) {
		env = MAX(env, o[i] - b * x[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		double d = MAX(gate - t->e[i], 0.0);

		m1 += d;
		m2 += d * d;
		gated += t->e[i] <= gate;
		near += env - (o[i] - b * x[i]) <= thr;
	}
	m1 /= n;
	m2 /= n;
	q = (double)gated / n;
	loc_var = MAX(m2 - m1 * m1, 0.0) / (n * q * q) +
		  TTWS_SCALE_MIN_NS * TTWS_SCALE_MIN_NS / n;
	rate_var = loc_var * line->sw / line->sxx;
	t->rate_sd = sqrt(rate_var);
	t->offset_sd = sqrt(loc_var + rate_var * line->xbar * line->xbar);
	t->lift = env - line->a0;
	t->near_frac = (double)near / n;
}

/*
 * Fit the window. Coordinates, relative to the newest sample:
 *   grid:  x = (k - k_newest) ci, the dongle time of the event (exact);
 *   plain: x = t3 - t3_newest, the earbud time of the event.
 * y = t4 - t4_newest, the host time the reply arrived, is the event's
 * host time plus D + j; o = x - y, so j >= 0 pushes o down and the model
 * is the upper envelope o = a0 + b x. The host instant h of coordinate x
 * solves x - (a0 + b x) = h, and the earbud time of x is the ear fit.
 */
void ttws_fit(struct servo_ttws *t)
{
	struct servo *s = &t->servo;
	unsigned nw = ttws_index(t, t->count - 1), n;
	uint64_t t4n = t->t4[nw], t3n = t->t3[nw];
	double b, gate, e0 = 0, rho = 0, x0, ear0, ear_var = 0, rho_var = 0;
	struct ttws_line line;
	int64_t span;

	n = ttws_load(t, &span);
	if (t->grid) {
		ttws_fit_ear(t, n, t3n);
		e0 = t->ear_e0;
		rho = t->rho_m1;
		ear_var = t->ear_var0;
		rho_var = t->rho_var;
	}
	b = ttws_envelope_slope(t, n, span);
	/* 2. and 3. */
	gate = ttws_gate(t, n, b);
	ttws_wls(t, n, gate, &line);
	ttws_spread(t, n, gate, &line);

	t->have_fit = true;
	b = t->b = line.b;
	/* The earbud fit's errors add to the host line's. */
	t->rate_sd = sqrt(t->rate_sd * t->rate_sd + rho_var);
	t->offset_sd = sqrt(t->offset_sd * t->offset_sd + ear_var);
	t->gate_ns = gate;
	t->newest_excess_ns = t->e[n - 1];

	/* The coordinate of host t4n, then its earbud time. */
	x0 = line.a0 / (1.0 - b);
	ear0 = e0 + (1.0 + rho) * x0;
	s->model.ref_host = t4n;
	s->model.ref_ear = t3n + (uint64_t)llround(ear0);
	s->model.rate = (rho + b) / (1.0 - b);
	s->model.valid = t->fresh >= t->lock_n;
	s->model.offset_sd_ns = t->offset_sd;
	s->model.rate_sd = t->rate_sd;
	s->model.settled = s->model.valid && n >= TTWS_STABLE_N &&
			   span >= (int64_t)TTWS_STABLE_SPAN_NS &&
			   t->rate_sd <= TTWS_STABLE_RATE_SD &&
			   t->offset_sd <= TTWS_STABLE_OFFSET_SD_NS;
}
