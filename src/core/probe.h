/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_PROBE_H
#define TTWS_CORE_PROBE_H

/*
 * When to send the next timing request (SYNC_REQ) on one link.
 *
 * A request waits for the next connection event, so a request sent at a
 * fixed phase of the connection interval samples the same point of the
 * delay distribution every time. Dithering the send phase across the
 * interval makes the minimum-delay envelope visible to the servo. At least
 * one request every `every_events` connection events (<= 3, DESIGN.md).
 * Pure: the caller passes now and a seed.
 */

#include <stdint.h>

struct probe {
	uint64_t ci_ns;
	uint32_t every_events;
	uint64_t rng;      /* PRNG state */
	uint64_t base_ns;  /* start of the current period */
	uint64_t next_ns;  /* next send instant */
};

/*
 * ci_ns: connection interval (host ns); every_events in 1..3; the first
 * request goes at now_ns. Returns 0 or -EINVAL.
 */
int probe_init(struct probe *p, uint64_t ci_ns, uint32_t every_events,
	       uint64_t seed, uint64_t now_ns);

/* The instant (host ns) the next request is due. */
uint64_t probe_due(const struct probe *p);

/*
 * A request was sent at now_ns: schedule the next one in the next period
 * at a dithered phase. Returns the new due instant (host ns).
 */
uint64_t probe_sent(struct probe *p, uint64_t now_ns);

#endif
