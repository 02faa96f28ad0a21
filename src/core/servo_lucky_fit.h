/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_SERVO_LUCKY_FIT_H
#define TTWS_CORE_SERVO_LUCKY_FIT_H

/*
 * SERVO_LUCKY_PI's frequency fit (servo_lucky_pi.c): a weighted
 * least-squares line through the lucky offsets, after chrony's
 * regression (sourcestats.c SST_DoNewRegression, regress.c
 * RGR_FindBestRegression). Pure arithmetic on caller-owned arrays.
 */

#include <stdbool.h>

struct servo_lucky_fit {
	bool ok;	 /* a line through at least 3 points of some span */
	unsigned n;	 /* the newest n points made it (the older failed) */
	double a;	 /* the line at x = 0, the newest point (ns) */
	double slope;	 /* d y / d x */
	double slope_sd; /* its standard error */
	double point_sd; /* sd of a typical point around the line (ns) */
	/* Largest delay above floor_long among the n points (ns): each point,
	 * and so the line, is within half its excess of the truth. */
	double max_excess;
};

/*
 * Fit y (offsets, ns) against x (host ns relative to the newest point,
 * <= 0), points [0, n) oldest first, delay[i] the round trip of point i
 * (ns). Weights fall with the delay above the points' least one, one sd
 * per scale of it (the median excess over 0.7, at least min_scale_ns).
 * The oldest points are dropped while the residuals fail a runs test or
 * the newest second's sit off the line (a frequency change), down to 8
 * points over 2 s. w and tmp are n doubles of scratch. Does not allocate.
 */
void servo_lucky_fit(const double *x, const double *y, const double *delay,
		     unsigned n, double min_scale_ns, double floor_long,
		     double *w, double *tmp, struct servo_lucky_fit *ret);

#endif
