/* SPDX-License-Identifier: MIT */
#include "core/ratediff.h"

#include <errno.h>
#include <math.h>
#include <string.h>

int ratediff_init(struct ratediff *r, const struct ratediff_config *c)
{
	if (!c || c->max_ppm == 0 || c->max_ppm > 100000 ||
	    !(c->alpha > 0.0 && c->alpha <= 1.0)) {
		return -EINVAL;
	}
	memset(r, 0, sizeof(*r));
	r->max_dev = c->max_ppm * 1e-6;
	r->alpha = c->alpha;
	r->value = 1.0;
	return 0;
}

double ratediff_update(struct ratediff *r, double ear_per_host)
{
	double x = ear_per_host;

	if (!isfinite(x) || x <= 0.0) {
		r->rejected++;
		return r->value;
	}
	if (x > 1.0 + r->max_dev) {
		x = 1.0 + r->max_dev;
		r->clamped++;
	} else if (x < 1.0 - r->max_dev) {
		x = 1.0 - r->max_dev;
		r->clamped++;
	}
	if (!r->primed) {
		r->value = x;
		r->primed = true;
	} else {
		r->value += r->alpha * (x - r->value);
	}
	r->updates++;
	return r->value;
}

double ratediff_from_ppb(int64_t rate_ppb)
{
	return 1.0 + (double)rate_ppb * 1e-9;
}

int ratediff_driver_init(struct ratediff_driver *d, uint32_t rate_hz)
{
	if (rate_hz == 0) {
		return -EINVAL;
	}
	memset(d, 0, sizeof(*d));
	d->rate_hz = rate_hz;
	return 0;
}

static double sane(double rd)
{
	return (isfinite(rd) && rd > 0.0) ? rd : 1.0;
}

uint64_t ratediff_samples_to_ns(uint32_t rate_hz, uint64_t samples,
				double rate_diff)
{
	double ns = (double)samples * 1e9 / ((double)rate_hz * sane(rate_diff));

	return (uint64_t)llround(ns);
}

void ratediff_driver_cycle(struct ratediff_driver *d, uint64_t nsec,
			   uint64_t duration, double rate_diff,
			   struct ratediff_clock *ret)
{
	double rd = sane(rate_diff), exact;
	int64_t step;

	if (!d->started) {
		/* 128-bit: nsec * 48000 overflows 64 bits after ~4.5 days
		 * of uptime. */
		d->position = (uint64_t)((unsigned __int128)nsec * d->rate_hz /
					 1000000000u);
		d->started = true;
	}
	ret->nsec = nsec;
	ret->position = d->position;
	ret->duration = duration;
	ret->rate_diff = rd;
	/* Carry the sub-ns remainder: rounding 9995002.4987 ns to
	 * 9995002 every cycle would run a driver triggered at each
	 * next_nsec 0.05 ppm fast. */
	exact = (double)duration * 1e9 / ((double)d->rate_hz * rd) +
		d->carry_ns;
	step = llround(exact);
	d->carry_ns = exact - (double)step;
	ret->next_nsec = nsec + (uint64_t)step;
	d->position += duration;
	d->cycles++;
}
