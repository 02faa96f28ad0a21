/* SPDX-License-Identifier: MIT */
/*
 * The frequency fit of SERVO_LUCKY_PI (servo_lucky_fit.h). chrony's
 * regression (sourcestats.c, regress.c) is the model: weights from the
 * delay, and a runs test on the signs of the residuals that drops the
 * oldest points until the rest look like noise around one line, so a
 * frequency change shortens the window by itself. chrony polls every
 * minute or so; with a sample every few tens of milliseconds a change is
 * visible as a bias of the newest points long before the runs test sees
 * it, so that is tested too.
 */
#include <math.h>

#include "core/macro.h"
#include "core/servo_lucky_fit.h"
#include "core/servo_private.h"

/* chrony's SD_TO_DIST_RATIO: delay spread per unit of offset sd. */
#define FIT_SD_TO_DELAY 0.7
/* The tests never cut the fit below this many points nor this span. */
#define FIT_MIN 8
#define FIT_MIN_SPAN_NS (2.0 * NSEC_PER_SEC)
/* Each failed test drops this fraction (1/32) of the oldest points. */
#define FIT_CUT 32
/* The newest second's mean residual: a change beyond 3 of its standard
 * errors, and once cutting, cut until it is within 1. */
#define FIT_RECENT_NS (1.0 * NSEC_PER_SEC)
#define FIT_RECENT_Z 3.0
#define FIT_RECENT_Z_CUT 1.0

struct fit_wls {
	double a;   /* intercept at x = 0 */
	double b;   /* slope */
	double sxx; /* weighted spread of x */
	double w;   /* weight sum */
};

static struct fit_wls fit_wls(const double *x, const double *y, const double *w,
			      unsigned n)
{
	struct fit_wls f = {0};
	double sx = 0, sy = 0, sxy = 0, xbar, ybar;

	for (unsigned i = 0; i < n; i++) {
		f.w += w[i];
		sx += w[i] * x[i];
		sy += w[i] * y[i];
	}
	xbar = sx / f.w;
	ybar = sy / f.w;
	for (unsigned i = 0; i < n; i++) {
		double dx = x[i] - xbar;

		f.sxx += w[i] * dx * dx;
		sxy += w[i] * dx * (y[i] - ybar);
	}
	f.b = f.sxx > 0 ? sxy / f.sxx : 0;
	f.a = ybar - f.b * xbar;
	return f;
}

/*
 * Wald-Wolfowitz runs test, one-sided at 5 %: too few runs of equal
 * residual signs for their numbers means the residuals follow a curve,
 * not noise (chrony keeps a table of the same critical values).
 */
static bool fit_too_few_runs(const struct fit_wls *f, const double *x,
			     const double *y, unsigned n)
{
	unsigned runs = 1, pos = 0;
	bool last = false;
	double m = n, mu, var;

	for (unsigned i = 0; i < n; i++) {
		bool p = y[i] - f->a - f->b * x[i] >= 0;

		pos += p;
		runs += i > 0 && p != last;
		last = p;
	}
	if (pos == 0 || pos == n) {
		return n > 2;
	}
	mu = 1.0 + 2.0 * pos * (m - pos) / m;
	var = (mu - 1.0) * (mu - 2.0) / (m - 1.0);
	return (double)runs < mu - 1.645 * sqrt(var);
}

/*
 * The points of the newest FIT_RECENT_NS sit off the line by more than z
 * of their mean's standard error. Only while they are at most a third of
 * the span, so a short fit is not cut further by its own noise.
 */
static bool fit_recent_off(const struct fit_wls *f, const double *x,
			   const double *y, const double *w, unsigned n,
			   double z)
{
	double ss = 0, sr = 0, sw = 0;
	unsigned k = 0;

	if (n < 3 || -x[0] < 3.0 * FIT_RECENT_NS) {
		return false;
	}
	for (unsigned i = 0; i < n; i++) {
		double r = y[i] - f->a - f->b * x[i];

		ss += w[i] * r * r;
		if (x[i] >= -FIT_RECENT_NS) {
			sr += w[i] * r;
			sw += w[i];
			k++;
		}
	}
	ss /= (double)(n - 2);
	return k >= FIT_MIN && fabs(sr / sw) > z * sqrt(ss / sw);
}

/* chrony's weights: 1 / (1 + excess / scale)^2. */
static void fit_weights(const double *delay, unsigned n, double min_scale_ns,
			double *w, double *tmp)
{
	double floor = INFINITY, scale;

	for (unsigned i = 0; i < n; i++) {
		floor = MIN(floor, delay[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		tmp[i] = delay[i] - floor;
	}
	scale = servo_select(tmp, n, n / 2) / FIT_SD_TO_DELAY;
	scale = MAX(scale, min_scale_ns);
	for (unsigned i = 0; i < n; i++) {
		double u = 1.0 + (delay[i] - floor) / scale;

		w[i] = 1.0 / (u * u);
	}
}

void servo_lucky_fit(const double *x, const double *y, const double *delay,
		     unsigned n, double min_scale_ns, double floor_long,
		     double *w, double *tmp, struct servo_lucky_fit *ret)
{
	unsigned start = 0, m;
	double ss = 0;
	struct fit_wls f;

	*ret = (struct servo_lucky_fit){0};
	if (n < 3) {
		return;
	}
	fit_weights(delay, n, min_scale_ns, w, tmp);
	for (;;) {
		m = n - start;
		f = fit_wls(x + start, y + start, w + start, m);
		if (m <= FIT_MIN || -x[start] < FIT_MIN_SPAN_NS ||
		    (!fit_too_few_runs(&f, x + start, y + start, m) &&
		     !fit_recent_off(&f, x + start, y + start, w + start, m,
				     start ? FIT_RECENT_Z_CUT
					   : FIT_RECENT_Z))) {
			break;
		}
		start += MAX(1u, m / FIT_CUT);
	}
	if (f.sxx <= 0) {
		return;
	}
	for (unsigned i = start; i < n; i++) {
		double r = y[i] - f.a - f.b * x[i];

		ss += w[i] * r * r;
		ret->max_excess = MAX(ret->max_excess, delay[i] - floor_long);
	}
	ss /= (double)(m - 2);
	ret->ok = true;
	ret->n = m;
	ret->a = f.a;
	ret->slope = f.b;
	ret->slope_sd = sqrt(ss / f.sxx);
	/* A typical point's variance: per unit weight over the mean weight
	 * (chrony's est_var). */
	ret->point_sd = sqrt(ss * (double)m / f.w);
}
