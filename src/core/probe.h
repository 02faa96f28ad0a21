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

/* Plain struct so it can be embedded; fields are private to probe.c. */
struct probe {
	uint64_t ci_ns;
	uint32_t every_events;
	uint64_t rng;	    /* phase of the next request, 0.64 fixed point */
	uint64_t base_ns;   /* start of the current period (the last send) */
	uint64_t next_ns;   /* next send instant */
	uint64_t origin_ns; /* host instant of phase 0 (added) */
};

/*
 * ci_ns: connection interval (host ns, 1 ns .. 4 s); every_events in
 * 1..3; the first request goes at now_ns; the same seed gives the same
 * schedule. Returns 0 or -EINVAL.
 */
int probe_init(struct probe *p, uint64_t ci_ns, uint32_t every_events,
	       uint64_t seed, uint64_t now_ns);

/*
 * The request period to use on a link of interval ci_ns when configured
 * for every `configured` events (1..3): at intervals of 15 ms and longer,
 * every event. Few connection events per second leave few replies near
 * the delay floor, which the servo's envelope needs (DESIGN.md: "more
 * timing exchanges per second help"); a request per event is still only
 * 33..67 exchanges per second there.
 */
uint32_t probe_every_for_ci(uint32_t configured, uint64_t ci_ns);

/* The instant (host ns) the next request is due. */
uint64_t probe_due(const struct probe *p);

/*
 * A request was sent at now_ns: schedule the next one in the next period
 * at a dithered phase. Returns the new due instant (host ns), which lies
 * in (now_ns + (every_events - 1) * ci_ns, now_ns + every_events * ci_ns].
 * The phases (due instant modulo ci_ns) follow the golden-ratio sequence
 * from the instant of probe_init(), so they stay evenly spread even when
 * sends are late.
 */
uint64_t probe_sent(struct probe *p, uint64_t now_ns);

/*
 * Added: the link's connection interval changed (LL connection update).
 * The next request is due at now_ns. Returns 0 or -EINVAL (ci_ns 0 or
 * over 4 s).
 */
int probe_set_ci(struct probe *p, uint64_t ci_ns, uint64_t now_ns);

/*
 * Added: a request every every_events (1..3) events from the next one on
 * (a live reconfiguration); the pending due instant stays. Returns 0 or
 * -EINVAL.
 */
int probe_set_every(struct probe *p, uint32_t every_events);

#endif
