/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_SERVO_TTWS_PRIVATE_H
#define TTWS_CORE_SERVO_TTWS_PRIVATE_H

/*
 * What the two parts of SERVO_TTWS share: servo_ttws.c (the design, the
 * host line over the window, the verdicts, the ops table) and
 * servo_ttws_ear.c (the earbud clock per connection event, the event
 * grid and its junctions). Not for other modules: they see core/servo.h
 * only.
 */

#include <stdbool.h>
#include <stdint.h>

#include "core/servo_private.h"

#define TTWS_WINDOW 4096

struct servo_ttws {
	struct servo servo;
	uint64_t ci_ns; /* connection interval, dongle ns */

	/* Ring of raw stamps, oldest at (head - count). */
	uint64_t t4[TTWS_WINDOW];
	uint64_t t3[TTWS_WINDOW];
	/* Dongle ns of the event of t3 on the window's grid (see the
	 * top of servo_ttws.c). */
	int64_t g[TTWS_WINDOW];
	unsigned head;
	unsigned count;
	unsigned fresh;	 /* samples since reset or step */
	unsigned lock_n; /* samples needed for a model */
	unsigned neg_run;
	/* Coordinates are connection events (see the top of servo_ttws.c). */
	bool grid;

	/*
	 * The junction that started the current grid segment (a connection
	 * update, or a stamp off the grid): the fitted earbud time of the
	 * event before it and the rate then, against which the segment's
	 * stamps measure the dongle time across it (ttws_junction()).
	 */
	bool junction_pending; /* set_ci(): the next sample starts one */
	bool refining;	       /* the gap is still being averaged */
	unsigned seg_n;	       /* samples in the current segment */
	unsigned short_segs;   /* junctions in a row with short segments */
	uint64_t jref_t3;      /* ear ns, stamp of the event before */
	double jref_e0;	       /* its fitted ear time - jref_t3, ns */
	double jref_rho;
	int64_t jref_g; /* its g */
	int64_t j_cur;	/* the gap in use, dongle ns */
	double j_sum;	/* sum of the segment's measures of it */
	unsigned j_n;
	uint64_t seg_t3; /* ear ns, first stamp of the segment */

	/* Prior of the slope b of the host line (see ttws_fit()). */
	double prior_b;
	double prior_sd;

	/* Results of the last fit. */
	bool have_fit;
	double b;	   /* slope of o over the coordinate */
	double rho_m1;	   /* earbud ns per dongle ns - 1, last grid fit */
	double ear_e0;	   /* fitted ear time at the newest event - t3, ns */
	double ear_var0;   /* its variance, ns^2 */
	double rho_var;	   /* variance of rho_m1 */
	double ear_sigma2; /* of one stamp about the earbud fit, ns^2 */
	/* Prior of rho_m1: what a reset knew (same crystals). */
	double rho_prior;
	double rho_prior_sd;
	double rate_sd;	  /* standard error of b */
	double offset_sd; /* of the offset at the newest sample, ns */
	double lift;	  /* envelope height above the model line, ns */
	double near_frac; /* window fraction within the threshold of it */
	double gate_ns;	  /* excess delay gate, ns */
	double newest_excess_ns;
	/*
	 * What this window alone says of the grid slope b, for the peer:
	 * precision (sum of weighted squared abscissae / scale^2, ns^-2
	 * ns^2) and its product with the slope. 0 when not on the grid.
	 */
	double share_p;
	double share_q;

	/* Scratch for the fit, sized once. */
	double x[TTWS_WINDOW];
	double o[TTWS_WINDOW];
	double e[TTWS_WINDOW];
	double tmp[TTWS_WINDOW];
	unsigned hull[TTWS_WINDOW];
};

static inline unsigned ttws_index(const struct servo_ttws *t, unsigned i)
{
	/* i-th oldest sample of the ring. */
	return (t->head + TTWS_WINDOW - t->count + i) % TTWS_WINDOW;
}

/* servo_ttws_ear.c */

/*
 * The earbud clock against the grid, x[0..n-1] loaded: sets rho_m1,
 * ear_e0 (ns) and their variances, and ear_sigma2.
 */
void ttws_fit_ear(struct servo_ttws *t, unsigned n, uint64_t t3n);

/* Is t3 on the grid after the newest sample nw? *ret_g: where it lands. */
bool ttws_on_grid(const struct servo_ttws *t, unsigned nw, uint64_t t3,
		  int64_t *ret_g);

/*
 * Place the event of t3 before it joins the window (*ret_g, 0 when not
 * on the grid): on the grid, or a junction, or the grid given up.
 */
void ttws_number(struct servo_ttws *t, uint64_t t3, int64_t *ret_g);

/* The newest sample joined: average the current junction's gap again. */
void ttws_refine(struct servo_ttws *t);

/* servo_ttws_host.c */

/* Fraction of the window, by smallest excess delay, used by the fit. */
#define TTWS_GATE_Q 0.7

/*
 * Fit the window (the host line, and on the grid the earbud side too):
 * sets the model of t->servo, t->b, the standard errors, gate_ns and
 * newest_excess_ns. At least one sample in the window.
 */
void ttws_fit(struct servo_ttws *t);

/* servo_ttws.c */

/* Whether s is a SERVO_TTWS (a peer's evidence is read only from one). */
bool ttws_is(const struct servo *s);

#endif
