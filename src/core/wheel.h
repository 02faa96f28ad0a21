/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_WHEEL_H
#define TTWS_CORE_WHEEL_H

/*
 * Hierarchical timer wheel in nanoseconds of CLOCK_MONOTONIC.
 *
 * The wheel never reads a clock: the caller passes "now" in, so the same
 * code runs in the daemon and in a virtual-time bench and can be replayed
 * from a trace (the habit of William Ahern's timeout.c).
 *
 * Timers are embedded in the caller's structs; the wheel allocates nothing
 * after wheel_new(). Add and cancel are O(1); wheel_expire() costs in
 * proportion to what expires (plus the cascades its advance passes).
 *
 * Two classes:
 *  - WHEEL_HARD: fires exactly at its deadline (never early; late only by
 *    the caller's wake-up). The frame clock and timing requests.
 *  - WHEEL_SOFT: may fire anywhere in [deadline, deadline + slack] so that
 *    several soft timers share one wake-up. Supervision, back-off, stats.
 *    Precisely: at the deadline rounded up to a multiple of the largest
 *    power of two <= slack_ns, so soft timers with nearby deadlines land
 *    on the same instant (the deadline itself if that would pass
 *    UINT64_MAX, or when slack_ns < 2).
 *
 * The "firing instant" below is the deadline for hard timers and that
 * rounded value for soft ones. Not thread-safe: one wheel, one thread.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

enum wheel_class {
	WHEEL_HARD = 0,
	WHEEL_SOFT = 1,
};

struct wheel;
struct wheel_timer;

/*
 * Expiry callback. now_ns is the time passed to wheel_expire(). The timer
 * is no longer pending when this runs: the callback may re-add or free it,
 * and may add or cancel any other timer of the same wheel. It must not call
 * wheel_free() on that wheel (wheel_expire() from a callback does nothing).
 */
typedef void (*wheel_fn)(struct wheel_timer *t, uint64_t now_ns);

/* Private to wheel.c: a circular doubly linked list node. */
struct wheel_link {
	struct wheel_link *next;
	struct wheel_link *prev; /* NULL when the timer is not pending */
};

struct wheel_timer {
	/*
	 * Private to wheel.c. link comes first so a list node converts to
	 * its timer without arithmetic.
	 */
	struct wheel_link link;
	uint64_t expires_ns; /* firing instant the wheel files it under */
	uint32_t where;	     /* slot index, or the due or run list */
	/* Read-only for users once added. */
	enum wheel_class cls;
	uint64_t deadline_ns; /* as passed to wheel_add() */
	uint64_t slack_ns;    /* soft timers only, 0 for hard */
	wheel_fn fn;
};

/*
 * Prepare a timer: not pending, slack_ns (ns) kept for WHEEL_SOFT only.
 * Does not add it. t must not be pending in a wheel.
 */
void wheel_timer_init(struct wheel_timer *t, enum wheel_class cls,
		      uint64_t slack_ns, wheel_fn fn);

/* True while the timer is filed in a wheel. */
bool wheel_pending(const struct wheel_timer *t);

/*
 * Create a wheel whose current time is now_ns. Returns NULL on ENOMEM.
 * This is the only allocation the wheel ever makes.
 */
struct wheel *wheel_new(uint64_t now_ns);

/* Free a wheel (pending timers are forgotten, not called). NULL is fine. */
struct wheel *wheel_free(struct wheel *w);

/*
 * File t to fire at deadline_ns (ns, CLOCK_MONOTONIC). O(1). A pending
 * timer is moved, and counts as added now for the order of equal firing
 * instants. A firing instant at or before the wheel's current time fires
 * at the next wheel_expire() call (never in the one running, so a callback
 * re-adding itself in the past cannot loop). The wheel does not own t; a
 * timer is pending in at most one wheel at a time. Returns 0, or -EINVAL
 * if t has no callback or no valid class (t is then left untouched).
 */
int wheel_add(struct wheel *w, struct wheel_timer *t, uint64_t deadline_ns);

/* Remove t if pending; a no-op otherwise. O(1). */
void wheel_cancel(struct wheel *w, struct wheel_timer *t);

/*
 * The instant (ns) the caller should next call wheel_expire(): the
 * earliest firing instant, exact (a hard timer's deadline to the ns, a
 * soft timer's coalesced instant), or the wheel's current time when a
 * timer is already due. UINT64_MAX when empty (or when the only timers
 * are at UINT64_MAX). *ret_hard (may be NULL) says whether a hard timer
 * fires at that instant, so the loop can apply its spin guard only to
 * hard deadlines. O(levels) with bitmaps; after the earliest timer of a
 * slot was cancelled, the first call rescans that one slot. Timers of a
 * batch wheel_expire() is running are not considered.
 */
uint64_t wheel_next_deadline(struct wheel *w, bool *ret_hard);

/*
 * Advance the wheel to now_ns and call every timer whose firing instant is
 * <= now_ns, in nondecreasing firing-instant order, equal instants in the
 * order they were added. The batch is fixed on entry: a timer of it that a
 * callback cancels or moves does not run, and timers added by callbacks
 * run at a later call. Returns the number of callbacks run. now_ns earlier
 * than the wheel's time is treated as the wheel's time. A call from inside
 * a callback does nothing and returns 0.
 */
unsigned wheel_expire(struct wheel *w, uint64_t now_ns);

/* Number of pending timers. */
size_t wheel_count(const struct wheel *w);

/* The wheel's current time (ns): the last now_ns given to it. */
uint64_t wheel_now(const struct wheel *w);

/*
 * Verify every internal invariant (each timer filed in the slot its
 * firing instant maps to, list links consistent, counts, bitmaps and
 * per-slot minima agree). O(timers + slots). May be called from a
 * callback. Returns 0, or -EUCLEAN at the first violation. For tests.
 */
int wheel_check(const struct wheel *w);

#endif
