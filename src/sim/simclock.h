/* SPDX-License-Identifier: MIT */
#ifndef TTWS_SIM_SIMCLOCK_H
#define TTWS_SIM_SIMCLOCK_H

/*
 * An earbud crystal, as pinned in DESIGN.md "The scenario model, pinned"
 * (host CLOCK_MONOTONIC is truth, h in host ns):
 *
 *	ear(h) = offset + (1 + ppm * 1e-6) * h + W(h)
 *		 + step_ppm * 1e-6 * max(0, h - step_at)
 *
 * The last term is a step of the crystal's rate error at step_at (a
 * temperature jump, a supply change): the rate changes there by step_ppm
 * while ear(h) stays continuous, as a real oscillator's phase does.
 *
 * W is the integral of a frequency random walk: the fractional frequency
 * error f starts at 0 at start_host_ns and every SIMCLOCK_STEP_NS takes a
 * step of standard deviation wander_ppb_per_s * 1e-9 * sqrt(dt / 1 s);
 * between steps f is constant, so W is continuous and piecewise linear.
 * Before start_host_ns, W = 0.
 *
 * The wander path is drawn lazily, in step order, from the clock's own
 * generator: it depends only on the seed, never on which instants are
 * asked for. The clock remembers the last SIMCLOCK_HISTORY steps (about
 * 41 s), which bounds how far back a question may go.
 *
 * Pure: no syscalls, no clock reads. Allocates only in simclock_new().
 */

#include <stdint.h>

/* Wander step (host ns) and the number of steps remembered. */
#define SIMCLOCK_STEP_NS UINT64_C(10000000)
#define SIMCLOCK_HISTORY 4096u

struct simclock_config {
	int64_t offset_ns;       /* ear - host offset term (ns) */
	double ppm;              /* constant rate error, parts per million */
	double wander_ppb_per_s; /* frequency random-walk strength, >= 0 */
	uint64_t start_host_ns;  /* the wander starts here (host ns) */
	uint64_t seed;           /* of the wander path */
	uint64_t step_at_host_ns; /* the rate steps here (host ns); 0: never */
	double step_ppm;         /* by this much; |ppm + step_ppm| <= 1000 */
};

struct simclock;

/*
 * Create a clock. Returns 0 and *ret (owned by the caller, release with
 * simclock_free()), -EINVAL for a rate error outside +-1000 ppm (before
 * or after the step), a negative or non-finite wander, -ENOMEM.
 */
int simclock_new(const struct simclock_config *cfg, struct simclock **ret);
struct simclock *simclock_free(struct simclock *c);

/*
 * The earbud clock at host instant host_ns, rounded to the nearest ns.
 * Returns 0 and *ret_ear_ns, or -ERANGE if host_ns is older than the
 * remembered history or the earbud time would be negative or past 2^62.
 */
int simclock_ear_of_host(struct simclock *c, uint64_t host_ns,
			 uint64_t *ret_ear_ns);

/*
 * The inverse: the host instant at which the earbud clock reads ear_ns,
 * rounded to the nearest ns (so |host - true| <= 0.5 ns). Same errors.
 */
int simclock_host_of_ear(struct simclock *c, uint64_t ear_ns,
			 uint64_t *ret_host_ns);

/*
 * The clock's instantaneous rate error at host_ns, in ppb:
 * (d ear / d host - 1) * 1e9 = ppm * 1e3 + f(host_ns) * 1e9, plus
 * step_ppm * 1e3 from step_at_host_ns on.
 * Returns 0, or -ERANGE as above.
 */
int simclock_rate_ppb(struct simclock *c, uint64_t host_ns, double *ret_ppb);

#endif
