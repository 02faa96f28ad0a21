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
 *  - Anchor jitter (anchor_jitter_us = a > 0): event j's instant is the
 *    grid's plus a uniform draw on [-a, +a] us, the same for every
 *    question about it (the host's HCI delivery and the earbud's t2/t3
 *    both see the moved instant). Core 5.4, Vol 6, Part B, 4.2 lets each
 *    event deviate from the average timing by up to 2 us (active clock)
 *    or 16 us (sleep clock); the peripheral widens its receive window for
 *    it (4.5.7). a < ci / 4 keeps events in order; a first event moved
 *    before the link came up is held at its start.
 *  - A connection parameter update (ci_change_to_us != 0): the first
 *    event at or after ci_change_at_ns is the last on the old grid, the
 *    next one ci_change_to_us (dongle time) later and so on (BLE's
 *    "instant", Core 5.4, Vol 6, Part B, 5.1.1). A link that reconnects
 *    after the change keeps the new interval; one that reconnects before
 *    it makes the change after reconnecting.
 *
 * HCI jitter: exponential with mean jitter_us, lognormal jitter_us *
 * exp(0.5 Z - 0.125) (mean jitter_us), uniform on [0, jitter_us], pareto
 * (shape 1.5, mean jitter_us: minimum jitter_us / 3, P(X > x) =
 * (jitter_us / 3x)^1.5; a heavy tail: 0.6 % of draws exceed ten times the
 * mean, 4.5e-5 for an exponential), or usb: an exponential of mean
 * jitter_us, then the wait for the next 125 us USB microframe of the host
 * clock, mean about jitter_us + 62.5 us. A pareto draw is clamped at
 * SIMLINK_JITTER_MAX_NS: a longer stall is an outage (a drop models that),
 * and it would outrun the earbud clock's history; the clamp lowers the
 * mean by 2 xm^1.5 / sqrt(1 s) (0.3 % for a 50 us mean).
 *
 * The link draws its randomness (HCI jitter, loss, the new phase) from its
 * own generator, in the order the questions are asked: the same questions
 * in the same order give the same answers. The anchor jitter is drawn
 * apart, per event, and does not depend on the questions at all. A link
 * configured without the newer keys (anchor jitter, interval change,
 * pareto, usb) answers exactly as it did before they existed. Pure: no
 * syscalls.
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

/* The largest anchor jitter (us) a link accepts, besides a < ci / 4. */
#define SIMLINK_ANCHOR_JITTER_MAX_US 1000.0

/* Pareto shape, and the clamp of a pareto HCI delay draw (ns). */
#define SIMLINK_PARETO_ALPHA 1.5
#define SIMLINK_JITTER_MAX_NS UINT64_C(1000000000)

/* USB 2.0, 8.4.3.1: a high-speed microframe lasts 125 us. */
#define SIMLINK_USB_MICROFRAME_NS UINT64_C(125000)

enum simlink_jitter {
	SIMLINK_JITTER_EXPONENTIAL = 0,
	SIMLINK_JITTER_LOGNORMAL = 1,
	SIMLINK_JITTER_UNIFORM = 2,
	SIMLINK_JITTER_PARETO = 3,
	SIMLINK_JITTER_USB = 4,
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
	double anchor_jitter_us;  /* [0, 1000], < ci_us / 4; 0: exact */
	uint64_t ci_change_at_ns; /* host ns; ignored if ci_change_to_us 0 */
	uint32_t ci_change_to_us; /* 0: no change; else 7500..4000000 */
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
 * for an interval (either one) outside SIMLINK_CI_MIN_US..MAX, a phase >=
 * ci_us, an anchor jitter outside [0, 1000] or not below a quarter of
 * either interval, a loss outside [0, 0.9], a bad jitter, or -ENOMEM.
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

/*
 * The connection interval (us, dongle time) in force at host_ns: the
 * configured one, or ci_change_to_us from the event where the change took
 * effect on (simlink_ci_change()).
 */
uint32_t simlink_ci_us(const struct simlink *l, uint64_t host_ns);

/*
 * The interval change: returns 0 and the host instant of the event where
 * it took effect (the last event on the old grid; the next one is a new
 * interval later), or -ENOENT if none is configured. Draws nothing.
 */
int simlink_ci_change(const struct simlink *l, uint64_t *ret_instant_host_ns);

void simlink_stats(const struct simlink *l, struct simlink_stats *ret);

/*
 * One HCI jitter draw (ns) of the given distribution and scale (us), for
 * SIMLINK_JITTER_USB its exponential part only (the microframe wait needs
 * the instant: simlink_jitter_at_ns()). 0 for a scale <= 0.
 */
uint64_t simlink_jitter_ns(struct simrng *r, enum simlink_jitter dist,
			   double scale_us);

/*
 * The HCI jitter (ns) of a packet that reaches the HCI transport at host
 * instant host_ns: host_ns + the result is when it is handed over. The
 * same draws as simlink_jitter_ns(); for SIMLINK_JITTER_USB it adds the
 * wait for the next 125 us microframe boundary of the host clock (a
 * multiple of SIMLINK_USB_MICROFRAME_NS; one already on a boundary goes
 * at once), also with a scale of 0.
 */
uint64_t simlink_jitter_at_ns(struct simrng *r, enum simlink_jitter dist,
			      double scale_us, uint64_t host_ns);

const char *simlink_jitter_name(enum simlink_jitter dist);
int simlink_jitter_from_string(const char *name, enum simlink_jitter *ret);

#endif
