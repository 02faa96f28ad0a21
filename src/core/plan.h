/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_PLAN_H
#define TTWS_CORE_PLAN_H

/*
 * The frame timeline. Frame n's target instant (host ns, CLOCK_MONOTONIC):
 *     T_n = T_0 + n * frame_ns + delay_n
 * where delay_n is the presentation delay, common to both ears (a delay
 * common to both ears shifts latency, never the stereo image). Each ear's
 * presentation time is that ear's servo map of T_n.
 *
 * The delay adapts to what the earbuds report, so that frames arrive in
 * time (late frames are dropped by the earbud: a gap a listener hears):
 *  - every delivery delay observed (from the instant the frame was due to
 *    go to its arrival in the earbud, host time) is kept in its window
 *    (window_frames frames) if it is among the window's largest; the
 *    target covers the deliveries of the last hold_windows windows plus
 *    margin, clamped to [delay_min, delay_max]: their largest, or, while
 *    the late budget is not spent, their largest but k, k = late_budget
 *    times the deliveries seen less the frames reported late (a heavy
 *    tail's lone outlier then costs one late frame, not five minutes of
 *    a huge delay). A delivery above the target raises it at once; the
 *    target comes down only as windows expire;
 *  - a frame an earbud reports late (or not rendered) counts as a
 *    delivery of the applied delay plus how late it was, spends budget,
 *    and raises the target at once: the SLA penalty of load-aware
 *    scheduling, where a missed deadline costs more than the latency
 *    that would have met it.
 * The applied delay moves toward the target by at most max_slew_up_ns per
 * frame upward and max_slew_ns per frame downward (faster when far above
 * the target), so it never jumps while playing (a common shift of both
 * ears: the stereo image is untouched).
 * Pure: no clock reads. */

#include <stdbool.h>
#include <stdint.h>

#include "core/hist.h"

struct servo;

struct plan_config {
	uint64_t frame_ns;         /* 7_500_000 or 10_000_000 */
	uint64_t delay_initial_ns; /* starting presentation delay */
	uint64_t delay_min_ns;
	uint64_t delay_max_ns;
	uint64_t margin_ns;        /* added to the held peak delivery */
	uint64_t window_frames;    /* frames per window */
	uint32_t hold_windows;     /* windows a peak is held, 1..PLAN_HOLD_MAX */
	/* Fraction of deliveries the hold may leave uncovered, 0..0.01, less
	 * the frames reported late (see above); 0: cover the largest. */
	double late_budget;
	double ewma_alpha;         /* smoothing of the per-window P99 (status) */
	uint64_t max_slew_ns;      /* down, per frame; 0 = delay fixed */
	uint64_t max_slew_up_ns;   /* up, per frame; 0 = as max_slew_ns */
};

/* The longest peak hold, in windows. */
#define PLAN_HOLD_MAX 1024u

/*
 * Defaults: 10 ms frames, delay 40 ms in [20, 200] ms, margin 1 ms,
 * windows of 100 frames held 300 windows (5 min at 10 ms frames), late
 * budget 8e-5 (under the 1e-4 late frames ttws allows), alpha 0.2,
 * slew down 1 us per frame (100 ppm; faster, up to 50 us, when far above
 * the target), up 100 us per frame (1 %: catching up after a late frame
 * costs a short pitch shift rather than more gaps).
 */
void plan_config_default(struct plan_config *ret);

struct plan;

/* Create a plan whose frame 0 starts at t0_host_ns. -EINVAL / -ENOMEM. */
int plan_new(const struct plan_config *cfg, uint64_t t0_host_ns,
	     struct plan **ret);
struct plan *plan_free(struct plan *p);

/*
 * Target instant of frame n (host ns). Frames must be asked for in
 * nondecreasing n: asking for frame n applies the slew for frames up to n
 * (and closes the delivery window if n reaches its end). Asking again for
 * the same n returns the same instant, so both ears can ask for it. A
 * smaller n than already asked gets the current delay, unslewed.
 */
uint64_t plan_target(struct plan *p, uint64_t n);

/*
 * Presentation time of frame n in one ear's clock (ear ns): the servo's
 * map of plan_target(p, n). -EAGAIN while that servo is unlocked.
 */
int plan_pts(struct plan *p, uint64_t n, const struct servo *s,
	     uint64_t *ret_ear_ns);

/*
 * New delay bounds and margin (ns) while playing: the target is
 * recomputed at once and clamped into [delay_min_ns, delay_max_ns]; the
 * applied delay then slews to it (max_slew_up_ns up, the down rate down)
 * per frame, never
 * jumping. Returns 0, or -EINVAL (NULL, min > max; nothing changed).
 */
int plan_set_bounds(struct plan *p, uint64_t delay_min_ns,
		    uint64_t delay_max_ns, uint64_t margin_ns);

/* One observed delivery delay (host ns) of a frame to either ear. */
void plan_observe_delivery(struct plan *p, uint64_t delay_ns);

/*
 * An earbud reported a frame late (it arrived late_ns after its
 * presentation time, host ns; 0 if not known): a delivery of the applied
 * delay + late_ns, budget spent, the target raised at once.
 */
void plan_observe_late(struct plan *p, uint64_t late_ns);

/*
 * A link runs at connection interval ci_ns (HELLO_ACK, a connection
 * update). Only a longer interval than any told before counts: before
 * any delivery was observed, the delay starts at once at
 * 4 * ci_ns + margin (a frame may wait an interval for each of a few
 * lost tries); later, everything the hold covers grows by the ratio of
 * the intervals, the target follows at once (a longer interval makes
 * every frame wait longer for its events) and the applied delay jumps to
 * the target: see plan_take_jump().
 */
void plan_set_interval(struct plan *p, uint64_t ci_ns);

/*
 * Whether the delay jumped (plan_set_interval()) since the last call:
 * the next frame must go out marked discontinuous (LINK_F_DISCONT), so
 * the earbuds fill the gap rather than wait for what never comes.
 */
bool plan_take_jump(struct plan *p);

/* Frames reported late so far. */
uint64_t plan_late(const struct plan *p);

/* Current applied and target presentation delays (ns). */
uint64_t plan_delay(const struct plan *p);
uint64_t plan_delay_target(const struct plan *p);

/*
 * The smoothed per-window P99 of delivery delays (ns) the target is built
 * on. Returns 0, or -ENODATA before the first window with observations
 * closed (*ret_ns untouched).
 */
int plan_delivery_p99(const struct plan *p, uint64_t *ret_ns);

/* The highest frame asked for so far (0 before any). */
uint64_t plan_frame(const struct plan *p);

/*
 * First frame whose target is at or after host_ns (for a late start),
 * computed with the current applied delay: ask for it promptly, as the
 * delay may slew by up to max_slew_up_ns per frame skipped.
 */
uint64_t plan_frame_at(const struct plan *p, uint64_t host_ns);

#endif
