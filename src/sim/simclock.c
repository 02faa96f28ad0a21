/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "sim/simclock.h"
#include "sim/simrng.h"

/* Past this, (double)host loses whole nanoseconds. */
#define SIMCLOCK_MAX_NS (UINT64_C(1) << 62)

struct simclock {
	int64_t offset_ns;
	double rate_err; /* ppm * 1e-6 */
	double step_sigma; /* std of one frequency step, fractional */
	uint64_t start_host_ns;
	/*
	 * The rate step: from step_at (host ns) on, the rate error is
	 * rate_err + step_err. has_step false: none (step_err 0).
	 */
	bool has_step;
	double step_at;
	double step_err; /* step_ppm * 1e-6 */
	struct simrng rng;
	/*
	 * Steps [hi - SIMCLOCK_HISTORY, hi) are known: step k covers host
	 * [start + k * STEP, start + (k + 1) * STEP) with frequency freq[k]
	 * and W = w[k] at its start. hi == 0 until a question needs one.
	 */
	uint64_t hi;
	double w[SIMCLOCK_HISTORY];
	double freq[SIMCLOCK_HISTORY];
};

int simclock_new(const struct simclock_config *cfg, struct simclock **ret)
{
	struct simclock *c;

	if (!isfinite(cfg->ppm) || fabs(cfg->ppm) > 1000.0) {
		return -EINVAL;
	}
	if (!isfinite(cfg->wander_ppb_per_s) || cfg->wander_ppb_per_s < 0) {
		return -EINVAL;
	}
	if (!isfinite(cfg->step_ppm) || fabs(cfg->step_ppm) > 1000.0 ||
	    fabs(cfg->ppm + cfg->step_ppm) > 1000.0 ||
	    cfg->step_at_host_ns >= SIMCLOCK_MAX_NS) {
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		return -ENOMEM;
	}
	c->offset_ns = cfg->offset_ns;
	c->rate_err = cfg->ppm * 1e-6;
	c->step_sigma = cfg->wander_ppb_per_s * 1e-9 *
			sqrt((double)SIMCLOCK_STEP_NS * 1e-9);
	c->start_host_ns = cfg->start_host_ns;
	c->has_step = cfg->step_at_host_ns > 0 && cfg->step_ppm != 0.0;
	if (c->has_step) {
		c->step_at = (double)cfg->step_at_host_ns;
		c->step_err = cfg->step_ppm * 1e-6;
	}
	simrng_seed(&c->rng, cfg->seed, 0);
	*ret = c;
	return 0;
}

struct simclock *simclock_free(struct simclock *c)
{
	free(c);
	return NULL;
}

/* Make step k known; -ERANGE if it has left the history. */
static int simclock_step(struct simclock *c, uint64_t k, double *ret_w,
			 double *ret_f)
{
	unsigned i;

	if (c->hi > SIMCLOCK_HISTORY && k < c->hi - SIMCLOCK_HISTORY) {
		return -ERANGE;
	}
	if (c->hi == 0) {
		c->w[0] = 0.0;
		c->freq[0] = 0.0;
		c->hi = 1;
	}
	while (c->hi <= k) {
		unsigned prev = (c->hi - 1) % SIMCLOCK_HISTORY;
		unsigned cur = c->hi % SIMCLOCK_HISTORY;

		c->w[cur] = c->w[prev] +
			    c->freq[prev] * (double)SIMCLOCK_STEP_NS;
		c->freq[cur] = c->freq[prev] +
			       c->step_sigma * simrng_normal(&c->rng);
		c->hi++;
	}
	i = k % SIMCLOCK_HISTORY;
	*ret_w = c->w[i];
	*ret_f = c->freq[i];
	return 0;
}

/*
 * ear - host - offset at host instant h (may be fractional), in ns:
 * the rate term, W(h) and the rate step.
 */
static int simclock_delta(struct simclock *c, double h, double *ret_delta,
			  double *ret_f)
{
	double rel = h - (double)c->start_host_ns;
	double w = 0.0, f = 0.0;

	if (c->step_sigma > 0.0 && rel > 0.0) {
		double kd = floor(rel / (double)SIMCLOCK_STEP_NS);
		uint64_t k = (uint64_t)kd;
		int r = simclock_step(c, k, &w, &f);

		if (r < 0) {
			return r;
		}
		w += f * (rel - kd * (double)SIMCLOCK_STEP_NS);
	}
	*ret_delta = c->rate_err * h + w;
	/* A separate term, so a clock without a step computes as before. */
	if (c->has_step && h > c->step_at) {
		*ret_delta += c->step_err * (h - c->step_at);
	}
	if (ret_f) {
		*ret_f = f;
	}
	return 0;
}

int simclock_ear_of_host(struct simclock *c, uint64_t host_ns,
			 uint64_t *ret_ear_ns)
{
	double delta;
	int64_t ear;
	int r;

	if (host_ns >= SIMCLOCK_MAX_NS) {
		return -ERANGE;
	}
	r = simclock_delta(c, (double)host_ns, &delta, NULL);
	if (r < 0) {
		return r;
	}
	ear = (int64_t)host_ns + c->offset_ns + llround(delta);
	if (ear < 0 || (uint64_t)ear >= SIMCLOCK_MAX_NS) {
		return -ERANGE;
	}
	*ret_ear_ns = (uint64_t)ear;
	return 0;
}

int simclock_host_of_ear(struct simclock *c, uint64_t ear_ns,
			 uint64_t *ret_host_ns)
{
	double x, h, delta;
	int r;

	if (ear_ns >= SIMCLOCK_MAX_NS) {
		return -ERANGE;
	}
	/*
	 * Solve h + delta(h) = x by fixed-point iteration. The first guess
	 * inverts the rate, step included, exactly (the two-piece line is
	 * increasing: past the step its slope is 1 + rate_err + step_err >=
	 * 1 - 1e-3), leaving only W's error; each round then shrinks the
	 * error by delta's slope (the rate error, below 1e-3), so four
	 * rounds are far below a nanosecond and the piecewise-linear W
	 * needs no bracketing.
	 */
	x = (double)((int64_t)ear_ns - c->offset_ns);
	h = x / (1.0 + c->rate_err);
	if (c->has_step && h > c->step_at) {
		h = (x + c->step_err * c->step_at) /
		    (1.0 + c->rate_err + c->step_err);
	}
	for (int i = 0; i < 4; i++) {
		r = simclock_delta(c, h, &delta, NULL);
		if (r < 0) {
			return r;
		}
		h = x - delta;
	}
	if (!(h >= 0.0) || h >= (double)SIMCLOCK_MAX_NS) {
		return -ERANGE;
	}
	*ret_host_ns = (uint64_t)llround(h);
	return 0;
}

int simclock_rate_ppb(struct simclock *c, uint64_t host_ns, double *ret_ppb)
{
	double delta, f;
	int r;

	r = simclock_delta(c, (double)host_ns, &delta, &f);
	if (r < 0) {
		return r;
	}
	*ret_ppb = (c->rate_err + f) * 1e9;
	if (c->has_step && (double)host_ns >= c->step_at) {
		*ret_ppb += c->step_err * 1e9;
	}
	return 0;
}
