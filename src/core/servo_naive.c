/* SPDX-License-Identifier: MIT */
/*
 * SERVO_NAIVE: what a first implementation does. Each exchange gives the
 * NTP four-timestamp offset (RFC 5905, 8), which assumes the two
 * directions take equally long; the estimate is the running mean of the
 * last NAIVE_WINDOW offsets at the mean of their midpoints, and the rate a
 * crude long-baseline slope of that mean. Over BLE the forward leg waits
 * for a connection event and the reverse one does not, so every offset is
 * off by half a wait (DESIGN.md, "What this model teaches"): this
 * estimator exists to be measured against, not to be used.
 */
#include <math.h>
#include <stdlib.h>

#include "core/macro.h"
#include "core/servo_private.h"

#define NAIVE_WINDOW 32
/* Lock once this many offsets are averaged. */
#define NAIVE_LOCK_N 4
/* No outlier verdicts until the mean has this many offsets behind it. */
#define NAIVE_FRESH_N 8

struct servo_naive {
	struct servo servo;
	/* Ring of offsets (ear - host, ns) at their midpoints (host ns). */
	uint64_t mid[NAIVE_WINDOW];
	int64_t theta[NAIVE_WINDOW];
	unsigned head;
	unsigned count;
	unsigned fresh;
	struct servo_crude_rate crude;
	/* Mean absolute deviation of the window from its mean (ns). */
	double spread_ns;
};

static struct servo_naive *to_naive(struct servo *s)
{
	return container_of(s, struct servo_naive, servo);
}

static void naive_free(struct servo *s)
{
	free(to_naive(s));
}

static void naive_reset(struct servo *s)
{
	struct servo_naive *n = to_naive(s);

	n->head = 0;
	n->count = 0;
	n->fresh = 0;
	n->spread_ns = 0;
	servo_crude_rate_reset(&n->crude);
}

static void naive_step(struct servo *s)
{
	struct servo_naive *n = to_naive(s);
	struct servo_crude_rate crude = n->crude;

	naive_reset(s);
	n->crude = crude;
}

static void naive_fit(struct servo_naive *n)
{
	struct servo *s = &n->servo;
	unsigned newest = (n->head + NAIVE_WINDOW - 1) % NAIVE_WINDOW;
	uint64_t mid0 = n->mid[newest];
	int64_t theta0 = n->theta[newest];
	double sum_dt = 0, sum_dth = 0, mean_dth, dev = 0;
	uint64_t ref_host;

	/* Means of differences to the newest sample: no overflow. */
	for (unsigned i = 0; i < n->count; i++) {
		unsigned k = (newest + NAIVE_WINDOW - i) % NAIVE_WINDOW;

		sum_dt += (double)servo_diff(n->mid[k], mid0);
		sum_dth += (double)(n->theta[k] - theta0);
	}
	mean_dth = sum_dth / n->count;
	for (unsigned i = 0; i < n->count; i++) {
		unsigned k = (newest + NAIVE_WINDOW - i) % NAIVE_WINDOW;

		dev += fabs((double)(n->theta[k] - theta0) - mean_dth);
	}
	n->spread_ns = dev / n->count;

	ref_host = mid0 + (uint64_t)llround(sum_dt / n->count);
	s->model.ref_host = ref_host;
	s->model.ref_ear =
	    ref_host + (uint64_t)theta0 + (uint64_t)llround(mean_dth);
	if (n->count == NAIVE_WINDOW) {
		servo_crude_rate_update(&n->crude, s->model.ref_host,
					s->model.ref_ear);
	}
	s->model.rate = n->crude.have_rate ? n->crude.rate : 0.0;
	s->model.valid = n->count >= NAIVE_LOCK_N;
	s->model.settled = n->crude.have_rate;
	/* Mean absolute deviation to sigma (normal), then over the mean. */
	s->model.offset_sd_ns = 1.25 * n->spread_ns / sqrt(n->count);
	s->model.rate_sd =
	    n->crude.have_rate
		? M_SQRT2 * s->model.offset_sd_ns / n->crude.span_ns
		: SERVO_RATE_SD_UNKNOWN;
}

static enum servo_verdict naive_sample(struct servo *s,
				       const struct servo_sync *x,
				       int64_t *ret_residual_ns)
{
	struct servo_naive *n = to_naive(s);
	int64_t theta = servo_ntp_offset(x);
	uint64_t mid = servo_ntp_midpoint(x);

	*ret_residual_ns = 0;
	if (s->model.valid) {
		int64_t r = servo_diff(mid + (uint64_t)theta,
				       servo_model_map(&s->model, mid));

		*ret_residual_ns = r;
		/*
		 * The offsets scatter by a good part of a connection
		 * interval, so only a jump well beyond that scatter is an
		 * outlier; a 15 us rule alone would step on every sample.
		 */
		if (n->fresh >= NAIVE_FRESH_N &&
		    fabs((double)r) > (double)s->cfg.resync_threshold_ns +
					  4.0 * n->spread_ns) {
			return SERVO_OUTLIER;
		}
	}

	n->mid[n->head] = mid;
	n->theta[n->head] = theta;
	n->head = (n->head + 1) % NAIVE_WINDOW;
	n->count = MIN(n->count + 1, NAIVE_WINDOW);
	n->fresh++;
	naive_fit(n);
	return SERVO_ACCEPT;
}

static const struct servo_ops naive_ops = {
    .free = naive_free,
    .reset = naive_reset,
    .sample = naive_sample,
    .step = naive_step,
};

struct servo *servo_naive_new(const struct servo_config *cfg)
{
	struct servo_naive *n = calloc(1, sizeof(*n));

	if (!n) {
		return NULL;
	}
	n->servo.ops = &naive_ops;
	return &n->servo;
}
