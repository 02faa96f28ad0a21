/* SPDX-License-Identifier: MIT */
/*
 * SERVO_TTWS, the earbud side (the design is at the top of servo_ttws.c):
 * the earbud clock fitted per connection event over doubling windows
 * (ttws_fit_ear()), the numbering of events on the grid (ttws_number()),
 * and the segments and junctions at a change of interval
 * (ttws_junction(), ttws_refine()). Apart because it is the part that
 * reads the earbud's stamps against the dongle's events, with a window
 * rule of its own; servo_ttws.c fits the host line on the coordinates
 * it gives.
 */
#include <math.h>

#include "core/macro.h"
#include "core/servo_ttws_private.h"

/*
 * The earbud clock against the grid (ttws_fit_ear()): the shortest
 * window, the one that measures the stamp noise, how many windows at
 * most, and how many standard errors two of them may disagree by.
 */
#define TTWS_EAR_MIN 16
#define TTWS_EAR_SIGMA_N 32
#define TTWS_EAR_CHECKS 16
#define TTWS_EAR_GAMMA 3.5
/*
 * Junctions (ttws_junction()): a gap is averaged over at most this many
 * stamps or this much earbud time; a segment shorter than TTWS_SEG_MIN
 * stamps before the next miss counts towards TTWS_SHORT_SEGS in a row,
 * which give up the grid.
 */
#define TTWS_JUNCTION_N 256
#define TTWS_JUNCTION_SPAN_NS (5 * NSEC_PER_SEC)
#define TTWS_SEG_MIN 8
#define TTWS_SHORT_SEGS 3

/*
 * The earbud clock against the grid: how far the earbud ran ahead of the
 * dongle's events, z = (t3 - t3n) - x, is a line (rho, the earbud's rate
 * against the dongle's) plus the stamp noise: the tick (clock_res_ns, a
 * uniform error of one tick, zero-mean once servo.c moved each stamp to
 * the middle of its tick) and the anchor jitter. Fitting a line through
 * the newest m stamps rather than trusting the newest one averages the
 * noise down by sqrt(m); a longer window, though, lags a change of rate
 * (a crystal warming, wander). The window is chosen per fit by the
 * intersection of confidence intervals (Goldenshluger and Nemirovski,
 * "On spatially adaptive estimation of nonparametric regression", Math.
 * Methods of Statistics 6, 1997; Katkovnik's ICI rule): windows of
 * doubling length from the newest sample on, the longest whose estimate
 * of the ear time at the newest event still agrees with those of all
 * shorter ones within TTWS_EAR_GAMMA standard errors. One pass, newest to
 * oldest.
 */
struct ttws_ear_cp {
	unsigned m;
	double xbar, zbar;    /* means */
	double sxx, sxz, szz; /* centred sums */
};

/* Centre the running sums of the newest m samples into a checkpoint. */
static void ttws_ear_cp(struct ttws_ear_cp *c, unsigned m, double sx, double sz,
			double sxx, double sxz, double szz)
{
	c->m = m;
	c->xbar = sx / m;
	c->zbar = sz / m;
	c->sxx = MAX(sxx - sx * c->xbar, 0.0);
	c->sxz = sxz - sx * c->zbar;
	c->szz = MAX(szz - sz * c->zbar, 0.0);
}

/*
 * Variance of one stamp about the line (ns^2): the residual scatter of
 * the newest TTWS_EAR_SIGMA_N, but never below what the tick alone gives
 * (res^2 / 12) nor 1 ns^2 (stamps are integers).
 */
static double ttws_ear_sigma2(const struct servo_ttws *t,
			      const struct ttws_ear_cp *cp, unsigned ncp)
{
	double res = (double)t->servo.clock_res_ns;
	double var = MAX(res * res / 12.0, 1.0);

	for (unsigned c = 0; c < ncp; c++) {
		if (cp[c].m >= TTWS_EAR_SIGMA_N || c + 1 == ncp) {
			if (cp[c].m > 2 && cp[c].sxx > 0) {
				double rss = cp[c].szz -
					     cp[c].sxz * cp[c].sxz / cp[c].sxx;

				var = MAX(var, rss / (cp[c].m - 2));
			}
			break;
		}
	}
	return var;
}

/*
 * Sets rho_m1, ear_e0 (the fitted ear time at the newest event relative
 * to its stamp, ns) and their variances, from x[0..n-1].
 */
void ttws_fit_ear(struct servo_ttws *t, unsigned n, uint64_t t3n)
{
	struct ttws_ear_cp cp[TTWS_EAR_CHECKS];
	/* Slopes relative to the last fit keep z small. */
	double rho0 = t->rho_m1, var, lambda, lo = -INFINITY, hi = INFINITY;
	double sx = 0, sz = 0, sxx = 0, sxz = 0, szz = 0;
	unsigned ncp = 0, next = MIN(n, TTWS_EAR_MIN);

	for (unsigned m = 1; m <= n; m++) {
		unsigned i = n - m;
		double x = t->x[i];
		double z = (double)servo_diff(t->t3[ttws_index(t, i)], t3n) -
			   x - rho0 * x;

		sx += x;
		sz += z;
		sxx += x * x;
		sxz += x * z;
		szz += z * z;
		if (m == next) {
			ttws_ear_cp(&cp[ncp++], m, sx, sz, sxx, sxz, szz);
			next = ncp < TTWS_EAR_CHECKS - 1 ? MIN(2 * m, n) : n;
		}
	}
	var = ttws_ear_sigma2(t, cp, ncp);
	t->ear_sigma2 = var;
	/* The prior on rho, in this fit's units (as in ttws_wls()). */
	lambda = var / (t->rho_prior_sd * t->rho_prior_sd);
	for (unsigned c = 0; c < ncp; c++) {
		double den = cp[c].sxx + lambda;
		double b = (cp[c].sxz + lambda * (t->rho_prior - rho0)) / den;
		double a = cp[c].zbar - b * cp[c].xbar;
		double va =
		    var * (1.0 / cp[c].m + cp[c].xbar * cp[c].xbar / den);
		double half = TTWS_EAR_GAMMA * sqrt(va);

		lo = MAX(lo, a - half);
		hi = MIN(hi, a + half);
		if (c > 0 && lo > hi) {
			break;
		}
		t->rho_m1 = rho0 + b;
		t->ear_e0 = a;
		t->ear_var0 = va;
		t->rho_var = var / den;
	}
}

/*
 * From grid to plain coordinates for the rest of this window. The slopes
 * change meaning: plain b = 1 - (1 - grid b) / (1 + rho).
 */
static void ttws_leave_grid(struct servo_ttws *t)
{
	if (t->have_fit) {
		t->b = 1.0 - (1.0 - t->b) / (1.0 + t->rho_m1);
	}
	t->prior_b = 1.0 - (1.0 - t->prior_b) / (1.0 + t->rho_m1);
	t->grid = false;
	t->refining = false;
	t->junction_pending = false;
	t->share_p = 0;
	t->share_q = 0;
}

/*
 * A junction: a stamp off the current grid (a connection update, a wrong
 * ci_us hint, the earbud clock jumping). The dongle time from the newest
 * event to this one is their earbud time apart over the earbud's rate,
 * from the *fitted* ear time of the newest event, so that only this
 * stamp's noise enters; the grid goes on from there at the current
 * interval. Returns g of the stamp.
 */
static int64_t ttws_junction(struct servo_ttws *t, unsigned nw, uint64_t t3)
{
	double d =
	    ((double)servo_diff(t3, t->t3[nw]) - t->ear_e0) / (1.0 + t->rho_m1);

	t->junction_pending = false;
	t->refining = true;
	t->seg_n = 0;
	t->jref_t3 = t->t3[nw];
	t->jref_e0 = t->ear_e0;
	t->jref_rho = t->rho_m1;
	t->jref_g = t->g[nw];
	t->j_cur = llround(d);
	t->j_sum = 0;
	t->j_n = 0;
	t->seg_t3 = t3;
	return t->jref_g + t->j_cur;
}

/*
 * The gap of a junction carries one stamp's noise (a tick, the anchor
 * jitter), and an error in it shifts the whole window before the junction
 * against the part after it for the host line. So each of the segment's
 * first stamps measures it again, and the segment moves to the running
 * mean; until the segment is so long that the earbud's rate error over it
 * would matter more than the noise left.
 */
void ttws_refine(struct servo_ttws *t)
{
	unsigned nw = ttws_index(t, t->count - 1), m;
	double d;
	int64_t j;

	if (!t->refining) {
		return;
	}
	d = ((double)servo_diff(t->t3[nw], t->jref_t3) - t->jref_e0) /
		(1.0 + t->jref_rho) -
	    (double)(t->g[nw] - t->jref_g - t->j_cur);
	t->j_sum += d;
	t->j_n++;
	j = llround(t->j_sum / t->j_n);
	if (j != t->j_cur) {
		m = MIN(t->seg_n, t->count);
		for (unsigned i = t->count - m; i < t->count; i++) {
			t->g[ttws_index(t, i)] += j - t->j_cur;
		}
		t->j_cur = j;
	}
	if (t->j_n >= TTWS_JUNCTION_N ||
	    servo_diff(t->t3[nw], t->seg_t3) > (int64_t)TTWS_JUNCTION_SPAN_NS) {
		t->refining = false;
	}
}

/*
 * Is t3 on the grid? dk events after the newest, the earbud clock running
 * (1 + rho) per dongle ns and events ci dongle ns apart, within ci/16 and
 * a tick. *ret_g: where it lands (valid if so).
 */
bool ttws_on_grid(const struct servo_ttws *t, unsigned nw, uint64_t t3,
		  int64_t *ret_g)
{
	double per = (double)t->ci_ns * (1.0 + t->rho_m1);
	double q = (double)servo_diff(t3, t->t3[nw]) / per;
	double tol = (double)t->ci_ns / 16 + (double)t->servo.clock_res_ns;
	int64_t dk = llround(q);

	*ret_g = t->g[nw] + dk * (int64_t)t->ci_ns;
	return fabs(q - (double)dk) * per <= tol;
}

/*
 * Place the event of t3 on the grid. A stamp off it starts a junction;
 * the first after a connection update always does. Only stamps that keep
 * missing, junctions in a row with few stamps between them, mean there is
 * no grid at this interval (a wrong ci_us hint): then the fit falls back
 * to plain coordinates until the next reset or step.
 */
void ttws_number(struct servo_ttws *t, uint64_t t3, int64_t *ret_g)
{
	unsigned nw;

	*ret_g = 0;
	if (!t->grid || t->count == 0) {
		return;
	}
	nw = ttws_index(t, t->count - 1);
	if (t->junction_pending) {
		*ret_g = ttws_junction(t, nw, t3);
		return;
	}
	if (ttws_on_grid(t, nw, t3, ret_g)) {
		return;
	}
	t->short_segs = t->seg_n < TTWS_SEG_MIN ? t->short_segs + 1 : 1;
	if (t->short_segs >= TTWS_SHORT_SEGS) {
		ttws_leave_grid(t);
		*ret_g = 0;
		return;
	}
	*ret_g = ttws_junction(t, nw, t3);
}
