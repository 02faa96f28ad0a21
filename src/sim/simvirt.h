/* SPDX-License-Identifier: MIT */
#ifndef TTWS_SIM_SIMVIRT_H
#define TTWS_SIM_SIMVIRT_H

/*
 * Virtual-time mode of ttws-earbud-sim: a discrete-event bench that drives
 * src/core (servo, plan, probe, with struct wheel as its event queue)
 * against the earbud model (simclock, simlink) of one scenario. No clock
 * is read and nothing sleeps: an hour of audio runs in seconds, and the
 * whole run follows from the scenario seed, bit for bit.
 *
 * What runs, per ear (host time is truth):
 *  - Timing exchanges: a probe (core/probe) dithers SYNC_REQs over the
 *    connection interval, one at least every probe_every events. t1 =
 *    send, t2/t3/t4 from simlink; the precise t3 travels two-step in the
 *    earbud's next message (a follow-up at the next connection event),
 *    and the servo gets the sample when that follow-up reaches the host.
 *  - Audio: frame n is captured and sent at T0 + n * frame; its target
 *    T_n = plan_target(), its pts = plan_pts() with that ear's servo. The
 *    earbud renders it at pts of its own clock, i.e. at host instant
 *    simclock_host_of_ear(pts), if it arrived (t2) by pts; else it is
 *    late. The earbud answers every frame with a RENDER_REPORT queued
 *    50 us after t2, whose arrival gives the servo a forward sample
 *    (tx host, rx ear) and the plan a delivery delay.
 *  - A link drop: frames and exchanges meet -ENOTCONN; when the link is
 *    back (HELLO again) the ear's servos are reset and its probe
 *    restarts.
 *
 * Estimators are compared on identical input: every enabled estimator has
 * its own servo per ear and its own plan, all fed the same samples, and
 * the link and clock draws never depend on an estimator's state (a frame
 * crosses the link whether or not a servo would have sent it). So a run
 * of one estimator gives exactly that estimator's numbers in a run of all.
 *
 * Truth: the inter-ear error of frame n is render_L - render_R in host
 * ns. Metrics count frames captured after the warm-up (default 2 s, the
 * initial lock) that both ears rendered. Each other frame of each ear is
 * late (arrived after pts), lost (the link could not deliver it) or
 * unsent (that ear's servo was unlocked, so no pts).
 *
 * relock_s, for an ear whose link dropped: from the link's return to the
 * render instant (T_n) of the first frame after which every frame that
 * ear was sent or should have been is rendered with |error| < 15 us
 * (unsent, late or over-threshold frames reset it; frames the link lost
 * or that the other ear could not play do not count either way). The
 * error criterion, not the servo state: a servo may say "locked" while
 * still off.
 */

#include <stdbool.h>
#include <stdint.h>

#include "core/hist.h"
#include "core/servo.h"
#include "sim/scenario.h"
#include "sim/simlink.h"

#define SIMVIRT_ESTIMATORS 3 /* SERVO_NAIVE .. SERVO_TTWS */
#define SIMVIRT_RELOCK_NS UINT64_C(15000) /* DESIGN.md: 15 us */

struct simvirt_options {
	double duration_s;    /* > 0 overrides the scenario's */
	double warmup_s;      /* frames captured before are not counted */
	unsigned estimators;  /* bit (1 << enum servo_kind) per estimator */
	uint32_t probe_every; /* SYNC_REQ at least every this many events */
};

/* Defaults: the scenario's duration, 2 s warm-up, all three, every 2. */
void simvirt_options_default(struct simvirt_options *ret);

struct simvirt_ear {
	uint64_t rendered; /* after warm-up, per estimator */
	uint64_t late;
	uint64_t lost;
	uint64_t unsent;
	bool dropped;    /* this ear's link dropped during the run */
	bool relocked;   /* ... and the error came back under 15 us */
	double relock_s; /* valid if relocked */
	struct servo_status status; /* at the end of the run */
};

struct simvirt_estimator {
	bool enabled;
	enum servo_kind kind;
	struct hist err;     /* |render_L - render_R| (ns), counted frames */
	double err_sum_ns;   /* signed, for the mean */
	uint64_t over_15us;  /* counted frames with |error| >= 15 us */
	uint64_t delay_ns;   /* the plan's presentation delay at the end */
	struct simvirt_ear ear[SCENARIO_SIDES];
};

struct simvirt_result {
	struct scenario scenario; /* as run (duration overridden) */
	struct simvirt_options options;
	uint64_t frames;          /* captured during the run */
	uint64_t counted_from;    /* first frame after the warm-up */
	uint64_t exchanges[SCENARIO_SIDES];  /* SYNC_REQs sent */
	uint64_t samples[SCENARIO_SIDES];    /* and delivered to servos */
	struct simlink_stats link[SCENARIO_SIDES];
	uint64_t events;          /* wheel callbacks run */
	struct simvirt_estimator est[SIMVIRT_ESTIMATORS];
};

/*
 * Run sc under opt. Returns 0 and fills *ret (caller storage, ~100 KiB:
 * allocate it), or a negative errno: -EINVAL for options out of range
 * (no estimator, probe_every outside 1..3, a negative warm-up), -ENOMEM,
 * or the error of a core module.
 */
int simvirt_run(const struct scenario *sc, const struct simvirt_options *opt,
		struct simvirt_result *ret);

#endif
