/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_RATEDIFF_H
#define TTWS_CORE_RATEDIFF_H

/*
 * The rate_diff a PipeWire driver puts in its spa_io_clock, and the rest
 * of that clock's bookkeeping, as pure arithmetic.
 *
 * spa_io_clock.rate_diff is "rate difference between clock and monotonic
 * time" (spa/node/io.h): PipeWire's own drivers set it to the ratio of the
 * device's sample clock to CLOCK_MONOTONIC and schedule the next cycle at
 * nsec + duration / rate_diff * 1e9 / rate (spa/plugins/alsa, the dummy
 * driver in spa/plugins/support/node-driver.c). For ttws the device is
 * the earbud pair, so rate_diff is the servo's d ear / d host
 * (servo_rate()): an earbud running 500 ppm fast eats 1.0005 times as
 * many samples per host second, so cycles come 1.0005 times as often.
 *
 * The servo's estimate is noisy from one update to the next and a wild
 * value must not make the graph lurch, so the ratio is clamped to
 * 1 +- max_ppm and smoothed with a first-order IIR (EWMA).
 */

#include <stdbool.h>
#include <stdint.h>

struct ratediff_config {
	uint32_t max_ppm; /* clamp |rate_diff - 1| to this, 1..100000 */
	double alpha;     /* EWMA weight of a new estimate, (0, 1] */
};

struct ratediff {
	double max_dev;     /* max_ppm * 1e-6 */
	double alpha;
	double value;       /* current rate_diff */
	bool primed;        /* value came from an estimate */
	uint64_t updates;
	uint64_t clamped;   /* estimates outside 1 +- max_ppm */
	uint64_t rejected;  /* not finite or <= 0 */
};

/* Defaults: 1000 ppm (twice the widest crystal the design expects, ±50
 * ppm plus wander, with a wide margin) and alpha 1/16. */
#define RATEDIFF_DEFAULT_MAX_PPM 1000u
#define RATEDIFF_DEFAULT_ALPHA (1.0 / 16.0)

/* value = 1.0. Returns 0 or -EINVAL (limits out of range). */
int ratediff_init(struct ratediff *r, const struct ratediff_config *c);

/*
 * Feed one estimate of d ear / d host. The first accepted estimate is
 * taken as is (clamped); later ones move value by alpha * (estimate -
 * value). Non-finite or non-positive estimates are ignored. Returns the
 * new value.
 */
double ratediff_update(struct ratediff *r, double ear_per_host);

/* Convenience for servo_state.rate_ppb: 1 + ppb * 1e-9. */
double ratediff_from_ppb(int64_t rate_ppb);

static inline double ratediff_get(const struct ratediff *r)
{
	return r->value;
}

/*
 * A driver's clock, cycle by cycle: the fields of spa_io_clock that a
 * driver fills before it starts a graph cycle.
 */
struct ratediff_clock {
	uint64_t nsec;      /* host ns the cycle starts */
	uint64_t position;  /* graph samples before this cycle */
	uint64_t duration;  /* samples in this cycle (the quantum) */
	double rate_diff;
	uint64_t next_nsec; /* expected start of the next cycle, host ns */
};

struct ratediff_driver {
	uint32_t rate_hz;
	bool started;
	uint64_t position;  /* position of the next cycle */
	uint64_t cycles;
	double carry_ns;    /* rounding remainder of the last next_nsec */
};

/* rate_hz > 0. Returns 0 or -EINVAL. */
int ratediff_driver_init(struct ratediff_driver *d, uint32_t rate_hz);

/*
 * The clock of the cycle that starts at host time nsec and lasts duration
 * samples at rate_diff (<= 0 or not finite means 1.0). The first cycle
 * starts at position nsec * rate / 1e9 (the dummy driver's origin, so a
 * graph moving from the system driver to ttws.sink keeps a plausible
 * position); every cycle after starts where the previous one ended, so
 * positions never jump whatever the timing. next_nsec = nsec + duration
 * * 1e9 / (rate * rate_diff), rounded to the nearest ns with the
 * remainder carried into the next cycle, so a driver triggered at each
 * next_nsec keeps the exact rate over any number of cycles.
 */
void ratediff_driver_cycle(struct ratediff_driver *d, uint64_t nsec,
			   uint64_t duration, double rate_diff,
			   struct ratediff_clock *ret);

/* Host ns that `samples` take at rate_diff (rounded to the nearest ns). */
uint64_t ratediff_samples_to_ns(uint32_t rate_hz, uint64_t samples,
				double rate_diff);

#endif
