/* SPDX-License-Identifier: MIT */
/*
 * Dithered timing-request schedule.
 *
 * The phase of request k within the connection interval, measured from
 * the instant probe_init() was called, is the golden-ratio additive
 * recurrence u_k = frac(u_0 + k / phi), the one-dimensional sequence with
 * the lowest discrepancy of its kind (Weyl; Kuipers and Niederreiter,
 * "Uniform Distribution of Sequences", 1974, ch. 1, 2.3): any n
 * consecutive phases split [0, ci) into gaps of at most three lengths, the
 * largest below 2.62 / n of the interval (the three-distance theorem), so
 * the envelope of the delay distribution is sampled evenly whatever the
 * link's unknown anchor phase. u_0 comes from the seed. The recurrence runs
 * in 0.64 fixed point, where 1/phi is 0x9E3779B97F4A7C15 (the Weyl
 * constant of SplitMix64), so it is exact and never drifts.
 *
 * Request k+1 goes at the one instant with phase u_{k+1} in
 * (sent + (every - 1) * ci, sent + every * ci], so consecutive requests
 * are never more than every_events intervals apart (DESIGN.md: calibrate
 * at least every 3 events) and a late send does not shift later phases.
 */
#include <errno.h>

#include "core/probe.h"
#include "core/macro.h"

/* 2^64 / phi, rounded to odd. */
#define PROBE_GOLDEN UINT64_C(0x9E3779B97F4A7C15)
/* Bluetooth LE: Core 5.4, Vol 6, Part B, 4.5.1 (interval <= 4 s). */
#define PROBE_CI_MAX_NS UINT64_C(4000000000)
#define PROBE_EVERY_MAX 3

/* SplitMix64's finaliser (Steele, Lea, Flood, OOPSLA 2014): seed -> u_0. */
static uint64_t probe_mix(uint64_t z)
{
	z += PROBE_GOLDEN;
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* frac * ci_ns for a 0.64 fixed-point fraction. */
static uint64_t probe_scale(uint64_t frac, uint64_t ci_ns)
{
	return (uint64_t)(((unsigned __int128)frac * ci_ns) >> 64);
}

uint32_t probe_every_for_ci(uint32_t configured, uint64_t ci_ns)
{
	return ci_ns >= 15 * NSEC_PER_MSEC ? 1 : configured;
}

int probe_init(struct probe *p, uint64_t ci_ns, uint32_t every_events,
	       uint64_t seed, uint64_t now_ns)
{
	if (!p || ci_ns == 0 || ci_ns > PROBE_CI_MAX_NS || every_events == 0 ||
	    every_events > PROBE_EVERY_MAX) {
		return -EINVAL;
	}
	*p = (struct probe){
	    .ci_ns = ci_ns,
	    .every_events = every_events,
	    .rng = probe_mix(seed),
	    .base_ns = now_ns,
	    .next_ns = now_ns,
	    .origin_ns = now_ns,
	};
	/* The first request is at now: that is phase u_0 by definition. */
	p->origin_ns -= probe_scale(p->rng, ci_ns);
	return 0;
}

uint64_t probe_due(const struct probe *p)
{
	return p->next_ns;
}

uint64_t probe_sent(struct probe *p, uint64_t now_ns)
{
	uint64_t lo, target, at;

	p->rng += PROBE_GOLDEN;
	p->base_ns = now_ns;
	/* Window (lo, lo + ci]; the target phase occurs once in it. */
	lo = now_ns + (uint64_t)(p->every_events - 1) * p->ci_ns;
	target = probe_scale(p->rng, p->ci_ns);
	at = (lo - p->origin_ns) % p->ci_ns;
	/* Distance from lo forward to the next instant of phase target. */
	if (target > at) {
		p->next_ns = lo + (target - at);
	} else {
		p->next_ns = lo + p->ci_ns - (at - target);
	}
	return p->next_ns;
}

int probe_set_ci(struct probe *p, uint64_t ci_ns, uint64_t now_ns)
{
	if (!p || ci_ns == 0 || ci_ns > PROBE_CI_MAX_NS) {
		return -EINVAL;
	}
	/* A new interval has a new anchor: restart the phases at now. */
	p->ci_ns = ci_ns;
	p->origin_ns = now_ns - probe_scale(p->rng, ci_ns);
	p->base_ns = now_ns;
	p->next_ns = now_ns;
	return 0;
}

int probe_set_every(struct probe *p, uint32_t every_events)
{
	if (!p || every_events == 0 || every_events > PROBE_EVERY_MAX) {
		return -EINVAL;
	}
	/* The phase sequence and the due instant stay: only the period
	 * that probe_sent() adds from the next request on changes. */
	p->every_events = every_events;
	return 0;
}
