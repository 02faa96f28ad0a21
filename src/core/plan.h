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
 * The delay adapts: once per window the P99 of the observed delivery delays
 * (host send -> earbud receive, mapped into host time) feeds an EWMA; the
 * target is EWMA + margin clamped to [delay_min, delay_max]. The applied
 * delay moves toward the target by at most max_slew_ns per frame, so it
 * never changes abruptly while playing. Pure: no clock reads.
 */

#include <stdbool.h>
#include <stdint.h>

#include "core/hist.h"

struct servo;

struct plan_config {
	uint64_t frame_ns;         /* 7_500_000 or 10_000_000 */
	uint64_t delay_initial_ns; /* starting presentation delay */
	uint64_t delay_min_ns;
	uint64_t delay_max_ns;
	uint64_t margin_ns;        /* added to the smoothed P99 */
	uint64_t window_frames;    /* frames per P99 window */
	double ewma_alpha;         /* smoothing of the per-window P99 */
	uint64_t max_slew_ns;      /* per frame; 0 = delay fixed */
};

/*
 * Defaults: 10 ms frames, delay 40 ms in [20, 200] ms, margin 5 ms,
 * windows of 100 frames, alpha 0.2, slew 1 us per frame (100 ppm).
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
 * applied delay then slews to it at max_slew_ns per frame, never
 * jumping. Returns 0, or -EINVAL (NULL, min > max; nothing changed).
 */
int plan_set_bounds(struct plan *p, uint64_t delay_min_ns,
		    uint64_t delay_max_ns, uint64_t margin_ns);

/* One observed delivery delay (host ns) of a frame to either ear. */
void plan_observe_delivery(struct plan *p, uint64_t delay_ns);

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
 * delay may slew by up to max_slew_ns per frame skipped.
 */
uint64_t plan_frame_at(const struct plan *p, uint64_t host_ns);

#endif
