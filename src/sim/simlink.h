/* SPDX-License-Identifier: MIT */
#ifndef TTWS_SIM_SIMLINK_H
#define TTWS_SIM_SIMLINK_H

/*
 * One BLE link between the host's dongle and one earbud, as pinned in
 * DESIGN.md "The scenario model, pinned". Every question is asked and
 * answered in host ns (CLOCK_MONOTONIC is truth), so the virtual-time
 * bench and a live simulator use the same answers:
 *
 *  - Connection events every ci_us of *dongle* time, the dongle clock
 *    being (1 + dongle_ppm * 1e-6) * h. The first event is anchor_phase_us
 *    of dongle time after the link comes up (start_host_ns): events at
 *	start + (anchor_phase + j * ci) / (1 + dongle_ppm * 1e-6), j >= 0.
 *  - host -> earbud (simlink_downlink): HCI delay = 100 us + jitter; the
 *    packet goes at the first event at or after it reaches the dongle;
 *    each event loses it with probability `loss` (retried at the next);
 *    t2 = ear(event) + 300 us of air time.
 *  - earbud -> host (simlink_uplink): a message ready at some instant
 *    leaves at the first event at or after it (same loss); t3 = ear(that
 *    event), the precise two-step t3; the host has it an HCI delay
 *    (100 us + jitter) after the event.
 *  - A drop: from drop_at_ns for drop_for_ns nothing passes either way
 *    (-ENOTCONN); then the link is up again with a new random anchor
 *    phase, while the earbud clock keeps running.
 *
 * Jitter: exponential with mean jitter_us, lognormal jitter_us *
 * exp(0.5 Z - 0.125) (mean jitter_us), or uniform on [0, jitter_us].
 *
 * The link draws its randomness (jitter, loss, the new phase) from its own
 * generator, in the order the questions are asked: the same questions
 * in the same order give the same answers. Pure: no syscalls.
 */

#include <stdbool.h>
#include <stdint.h>

#include "sim/simclock.h"
#include "sim/simrng.h"

/* Fixed parts of the pinned model (ns). */
#define SIMLINK_HCI_DELAY_NS UINT64_C(100000)
#define SIMLINK_AIR_NS UINT64_C(300000)
#define SIMLINK_REPLY_NS UINT64_C(50000) /* t2 -> reply queued */
/*
 * Give up on a packet after this many lost events: at the largest loss a
 * scenario may set (0.9) that happens once in 1e45 packets.
 */
#define SIMLINK_MAX_TRIES 1000u

/*
 * BLE connection interval bounds, Core 5.4, Vol 6, Part B, 4.5.1:
 * connInterval = 1.25 ms * [6, 3200], i.e. 7.5 ms to 4 s.
 */
#define SIMLINK_CI_MIN_US 7500u
#define SIMLINK_CI_MAX_US 4000000u
#define SIMLINK_CI_STEP_US 1250u

enum simlink_jitter {
	SIMLINK_JITTER_EXPONENTIAL = 0,
	SIMLINK_JITTER_LOGNORMAL = 1,
	SIMLINK_JITTER_UNIFORM = 2,
};

struct simlink_config {
	uint64_t start_host_ns;   /* the link comes up (host ns) */
	uint32_t ci_us;           /* connection interval, dongle time */
	uint32_t anchor_phase_us; /* first event after start, < ci_us */
	double dongle_ppm;        /* dongle clock rate error */
	double loss;              /* per-event loss probability, [0, 0.9] */
	enum simlink_jitter jitter;
	double jitter_us;         /* HCI jitter scale (us), >= 0 */
	uint64_t drop_at_ns;      /* host ns; ignored if drop_for_ns == 0 */
	uint64_t drop_for_ns;     /* 0: the link never drops */
	uint64_t seed;
};

struct simlink_stats {
	uint64_t packets;   /* packets carried */
	uint64_t lost_tries; /* events that lost a packet (then retried) */
	uint64_t refused;   /* -ENOTCONN / -ETIMEDOUT answers */
};

struct simlink;

/*
 * Create a link to the earbud whose clock is ear (borrowed: it must
 * outlive the link; the link advances it). Returns 0 and *ret, -EINVAL
 * for an interval outside SIMLINK_CI_MIN_US..MAX, a phase >= ci_us, a
 * loss outside [0, 0.9], a bad jitter, or -ENOMEM.
 */
int simlink_new(const struct simlink_config *cfg, struct simclock *ear,
		struct simlink **ret);
struct simlink *simlink_free(struct simlink *l);

/*
 * Host -> earbud: a packet the host sends at send_host_ns. Returns 0,
 * the connection event that delivered it (*ret_event_host_ns) and the
 * earbud's receive stamp t2 (*ret_t2_ear_ns, ear ns); -ENOTCONN if it
 * meets the link down, -ETIMEDOUT after SIMLINK_MAX_TRIES lost events,
 * -ERANGE if the question is older than the earbud clock's history.
 */
int simlink_downlink(struct simlink *l, uint64_t send_host_ns,
		     uint64_t *ret_event_host_ns, uint64_t *ret_t2_ear_ns);

/*
 * Earbud -> host: a message the earbud has ready at ready_host_ns (host
 * ns; convert an earbud instant with simclock_host_of_ear()). Returns 0,
 * the event that carried it (*ret_event_host_ns), t3 = ear(event)
 * (*ret_t3_ear_ns) and the instant the host has it (*ret_rx_host_ns).
 * Errors as simlink_downlink(). Any ret pointer may be NULL.
 */
int simlink_uplink(struct simlink *l, uint64_t ready_host_ns,
		   uint64_t *ret_event_host_ns, uint64_t *ret_t3_ear_ns,
		   uint64_t *ret_rx_host_ns);

/*
 * The first connection event at or after host_ns, loss aside. Returns 0,
 * or -ENOTCONN if the link is down at host_ns or drops before that event.
 * Draws no randomness.
 */
int simlink_next_event(const struct simlink *l, uint64_t host_ns,
		       uint64_t *ret_event_host_ns);

/* Whether the link is up at host_ns (it is, before start_host_ns, too). */
bool simlink_up(const struct simlink *l, uint64_t host_ns);

/*
 * The drop, if any: [*ret_down_ns, *ret_up_ns) in host ns. Returns 0, or
 * -ENOENT if this link never drops.
 */
int simlink_drop(const struct simlink *l, uint64_t *ret_down_ns,
		 uint64_t *ret_up_ns);

void simlink_stats(const struct simlink *l, struct simlink_stats *ret);

/* One HCI jitter draw (ns) of the given distribution and scale (us). */
uint64_t simlink_jitter_ns(struct simrng *r, enum simlink_jitter dist,
			   double scale_us);

const char *simlink_jitter_name(enum simlink_jitter dist);
int simlink_jitter_from_string(const char *name, enum simlink_jitter *ret);

#endif
