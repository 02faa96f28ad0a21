/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_SERVO_PRIVATE_H
#define TTWS_CORE_SERVO_PRIVATE_H

/*
 * The estimator plug-in interface behind servo.h, after linuxptp's
 * servo_private.h: each estimator embeds a struct servo as its first
 * member, fills in an ops table and recovers its own struct with
 * container_of(). servo.c owns everything the estimators share: input
 * validation, the state machine (unlocked, locked, stable, holdover), the
 * step rule and the affine map. An estimator only turns samples into a
 * model and says how much a new sample disagrees with it.
 */

#include <stdbool.h>
#include <stdint.h>

#include "core/servo.h"

/* One validated timing exchange, stamps as in servo_sync_sample(). */
struct servo_sync {
	uint64_t t1_host;
	uint64_t t2_ear;
	uint64_t t3_ear;
	uint64_t t4_host;
};

/* What an estimator made of one sample. */
enum servo_verdict {
	SERVO_ACCEPT = 0,  /* used by the model */
	SERVO_GATED = 1,   /* consistent but not used (long delay, late) */
	SERVO_OUTLIER = 2, /* disagrees with the model beyond the threshold */
};

/*
 * The affine map every estimator produces, in the absolute time bases:
 *
 *	ear(h) = ref_ear + (h - ref_host) + rate * (h - ref_host)
 *
 * Only the difference h - ref_host is ever turned into a double, so the
 * ~1e18 ns magnitudes of the clocks never meet floating point.
 */
struct servo_model {
	bool valid;	     /* there is an estimate (LOCKED at least) */
	bool settled;	     /* the rate has settled (STABLE) */
	uint64_t ref_host;   /* host ns */
	uint64_t ref_ear;    /* ear ns at ref_host */
	double rate;	     /* d ear / d host - 1 */
	double offset_sd_ns; /* standard error of ear(now), ns */
	double rate_sd;	     /* standard error of rate */
};

struct servo;

struct servo_ops {
	/* Release the estimator's container (servo.c frees nothing). */
	void (*free)(struct servo *s);
	/*
	 * Reconnect: forget all samples and the offset. An estimator may
	 * keep its rate as a prior: a reconnect does not change the crystal.
	 */
	void (*reset)(struct servo *s);
	/*
	 * Take one sample; update s->model. *ret_residual_ns is the sample's
	 * disagreement with the model as it stood before the sample (ns, 0
	 * while there is no model), in the estimator's own terms.
	 */
	enum servo_verdict (*sample)(struct servo *s,
				     const struct servo_sync *x,
				     int64_t *ret_residual_ns);
	/*
	 * Two consecutive outliers: drop the offset history, keep the rate,
	 * and be ready to re-acquire from the samples fed next (no outlier
	 * verdicts until the estimator has a fresh model).
	 */
	void (*step)(struct servo *s);
	/* Optional: a RENDER_REPORT forward sample. */
	void (*forward)(struct servo *s, uint64_t tx_host, uint64_t rx_ear);
	/* Optional: s->cfg.ci_us changed (servo_set_ci()). */
	void (*set_ci)(struct servo *s);
	/*
	 * Optional: s->clock_res_ns changed (servo_set_clock_res()). The
	 * stamps an estimator sees are already bias-corrected (res/2 added
	 * to each ear stamp); what is left is a zero-mean +-res/2 error per
	 * ear stamp, which an estimator may widen its gates by.
	 */
	void (*set_clock_res)(struct servo *s);
};

struct servo {
	const struct servo_ops *ops;
	struct servo_config cfg;
	/* The other ear behind the same dongle (servo_pair()), or NULL. */
	struct servo *peer;
	struct servo_model model;
	enum servo_state state;
	/* The earbud's timestamp tick (ns, >= 1; servo_set_clock_res()). */
	uint32_t clock_res_ns;

	/* State machine (servo.c). */
	bool have_last;
	uint64_t last_host; /* t4 of the newest valid sample */
	unsigned outliers_in_row;
	struct servo_sync pending; /* the first of two consecutive outliers */

	/* Counters, cumulative since servo_new(). */
	uint64_t samples;
	uint64_t rejected;
	uint64_t steps;
	uint64_t forward_samples;
	uint64_t forward_violations;
	int64_t last_residual_ns;
};

/* Estimator constructors: allocate, set ops, return &container->servo. */
struct servo *servo_naive_new(const struct servo_config *cfg);
struct servo *servo_median_iir_new(const struct servo_config *cfg);
struct servo *servo_ttws_new(const struct servo_config *cfg);
struct servo *servo_lucky_pi_new(const struct servo_config *cfg);

/*
 * Shared helpers (servo.c).
 */

/* ear(h) of a model (valid or not). */
uint64_t servo_model_map(const struct servo_model *m, uint64_t host_ns);

/* Signed a - b for instants of one clock, exact while |a - b| < 2^63 ns. */
static inline int64_t servo_diff(uint64_t a, uint64_t b)
{
	return (int64_t)(a - b);
}

/*
 * The NTP four-timestamp offset (RFC 5905, 8: theta = ((T2 - T1) +
 * (T3 - T4)) / 2) as ear - host in ns, and its host instant, the midpoint
 * (t1 + t4) / 2. Computed from small differences so that arbitrary clock
 * origins cannot overflow.
 */
int64_t servo_ntp_offset(const struct servo_sync *x);
uint64_t servo_ntp_midpoint(const struct servo_sync *x);

/*
 * A crude rate for the baseline estimators: the slope of their filtered
 * offset between an anchor taken when they first lock and now, once the
 * two are at least SERVO_CRUDE_RATE_SPAN_NS apart. With millisecond noise
 * on the offset, only a long baseline gives a usable slope.
 */
#define SERVO_CRUDE_RATE_SPAN_NS (60 * UINT64_C(1000000000))
/* A rate nobody measured: the +-50 ppm of a crystal (DESIGN.md). */
#define SERVO_RATE_SD_UNKNOWN 50e-6

struct servo_crude_rate {
	bool have_anchor;
	bool have_rate;
	uint64_t anchor_host;
	uint64_t anchor_ear;
	double rate;
	double span_ns; /* anchor to the last update */
};

void servo_crude_rate_reset(struct servo_crude_rate *c);
void servo_crude_rate_update(struct servo_crude_rate *c, uint64_t host_ns,
			     uint64_t ear_ns);

/* k-th smallest (0-based) of v[0..n-1], reordering v. n >= 1, k < n. */
double servo_select(double *v, unsigned n, unsigned k);

/*
 * k-th smallest of src[0..n-1] (left as is), using tmp[0..n-1] as scratch,
 * and expecting it in [lo, hi]: one counting pass and a selection among
 * the values in the band, which is cheap when the guess is good (a gate
 * that moves little between fits). Exact either way: a wrong guess costs
 * a full selection.
 */
double servo_select_near(const double *src, double *tmp, unsigned n, unsigned k,
			 double lo, double hi);

#endif
