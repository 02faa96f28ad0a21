/* SPDX-License-Identifier: MIT */
/*
 * The frame timeline: T_n = T_0 + n * frame_ns + delay_n (see plan.h).
 *
 * Integer nanoseconds throughout, and every T_n is computed from T_0, never
 * by adding frame_ns to the previous target, so nothing accumulates: a
 * 7.5 ms frame is exactly 7 500 000 ns (360 samples at 48 kHz; LC3 frame
 * durations of the Bluetooth LC3 specification 1.0) and frame 10^9 is exactly
 * 7.5 * 10^15 ns after frame 0.
 *
 * While playing the adaptive delay only changes through slew_to(), by at
 * most max_slew_up_ns (up) or the down rate per frame, so a new estimate
 * never makes a jump in the presentation times both ears are given; only
 * plan_set_interval() sets it directly: before anything was delivered,
 * and by a jump the stream announces (plan_take_jump()) when a longer
 * connection interval is announced.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/macro.h"
#include "core/plan.h"
#include "core/servo.h"

/* The largest deliveries kept per window: enough for any budget a
 * five-minute hold gives (late_budget * frames, a handful). */
#define PLAN_TOP 8
/* Connection events a frame may wait before the first deliveries are
 * seen (plan_set_interval()). */
#define PLAN_START_EVENTS 4
/* The fastest the delay comes down (ns per frame). */
#define PLAN_SLEW_DOWN_MAX_NS (50 * NSEC_PER_USEC)

/* What a window of frames saw. */
struct plan_win {
	uint64_t top[PLAN_TOP]; /* its largest deliveries, descending; 0: none */
	uint32_t count;         /* deliveries observed */
	uint32_t late;          /* frames reported late */
};

struct plan {
	struct plan_config cfg;
	uint64_t t0_ns;
	uint64_t n;          /* frame the applied delay belongs to */
	uint64_t delay_ns;   /* applied delay of frame n */
	uint64_t target_ns;  /* where delay_ns is slewing to */
	uint64_t window_end; /* first frame of the next window; > n */
	struct ewma p99;     /* smoothed per-window P99 (ns) */
	struct hist window;  /* delivery delays seen in this window */
	struct plan_win cur; /* the window being filled */
	/* The last hold_windows closed windows, a ring. */
	struct plan_win held[PLAN_HOLD_MAX];
	uint32_t held_next;  /* slot of the next window to close */
	uint64_t late;
	/* The closed windows merged: their largest deliveries, how many
	 * deliveries and late frames (held_sum()). */
	uint64_t held_best[PLAN_TOP];
	uint64_t held_n, held_late;
	uint64_t ci_ns;      /* the longest connection interval told */
	uint64_t jumps, jumps_taken; /* plan_take_jump() */
	bool observed;       /* a delivery or late frame seen */
};

void plan_config_default(struct plan_config *ret)
{
	*ret = (struct plan_config){
		.frame_ns = 10 * NSEC_PER_MSEC,
		.delay_initial_ns = 40 * NSEC_PER_MSEC,
		.delay_min_ns = 20 * NSEC_PER_MSEC,
		.delay_max_ns = 200 * NSEC_PER_MSEC,
		.margin_ns = 1 * NSEC_PER_MSEC,
		.window_frames = 100,
		.hold_windows = 300,
		.late_budget = 8e-5,
		.ewma_alpha = 0.2,
		.max_slew_ns = 1 * NSEC_PER_USEC,
		.max_slew_up_ns = 100 * NSEC_PER_USEC,
	};
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* A nonnegative double of ns, rounded and saturated: 2^64 is exact. */
static uint64_t round_ns(double v)
{
	if (!(v > 0.0)) {
		return 0;
	}
	if (v >= 18446744073709551616.0) {
		return UINT64_MAX;
	}
	return (uint64_t)(v + 0.5);
}

static uint64_t clamp_delay(const struct plan *p, uint64_t d)
{
	return MIN(MAX(d, p->cfg.delay_min_ns), p->cfg.delay_max_ns);
}

/* T_0 + n * frame + delay, saturating (only after ~5 * 10^4 years). */
static uint64_t target_at(const struct plan *p, uint64_t n, uint64_t delay)
{
	if (n > UINT64_MAX / p->cfg.frame_ns) {
		return UINT64_MAX;
	}
	return add_sat(add_sat(p->t0_ns, n * p->cfg.frame_ns), delay);
}

/* Advance the applied delay to frame n: up at max_slew_up_ns per frame,
 * down at max_slew_ns (faster when far above the target). */
static void slew_to(struct plan *p, uint64_t n)
{
	uint64_t steps, diff, slew = p->cfg.max_slew_ns;

	if (n <= p->n) {
		return;
	}
	if (p->delay_ns < p->target_ns && p->cfg.max_slew_up_ns && slew) {
		slew = p->cfg.max_slew_up_ns;
	} else if (p->delay_ns > p->target_ns && slew) {
		/* Far above the target (an outlier's hold expired): come down
		 * faster, a 2000th of the excess per frame, at most
		 * PLAN_SLEW_DOWN_MAX_NS (0.5 % at 10 ms frames). */
		slew = MAX(slew, MIN((p->delay_ns - p->target_ns) / 2000,
				     PLAN_SLEW_DOWN_MAX_NS));
	}
	steps = n - p->n;
	p->n = n;
	if (slew == 0 || p->delay_ns == p->target_ns) {
		return;
	}
	diff = p->delay_ns < p->target_ns ? p->target_ns - p->delay_ns
					  : p->delay_ns - p->target_ns;
	/* steps * slew <= diff here, so the product cannot overflow. */
	if (steps <= diff / slew) {
		diff = steps * slew;
	}
	if (p->delay_ns < p->target_ns) {
		p->delay_ns += diff;
	} else {
		p->delay_ns -= diff;
	}
}

/* The target for a held delivery (ns). */
static uint64_t target_of(const struct plan *p, uint64_t d)
{
	return clamp_delay(p, add_sat(d, p->cfg.margin_ns));
}

static void win_add(struct plan_win *w, uint64_t d)
{
	unsigned i;

	w->count++;
	if (d <= w->top[PLAN_TOP - 1]) {
		return;
	}
	for (i = PLAN_TOP - 1; i > 0 && w->top[i - 1] < d; i--) {
		w->top[i] = w->top[i - 1];
	}
	w->top[i] = d;
}

/* Merge w's largest into best (descending, PLAN_TOP long). */
static void win_merge(uint64_t *best, const struct plan_win *w)
{
	for (unsigned j = 0; j < PLAN_TOP && w->top[j]; j++) {
		struct plan_win t = { .count = 0 };

		memcpy(t.top, best, sizeof(t.top));
		win_add(&t, w->top[j]);
		memcpy(best, t.top, sizeof(t.top));
	}
}

/*
 * The delivery the target must cover: of the deliveries the hold keeps
 * (the current window and hold_windows closed ones), the largest but k,
 * where k is the late budget (late_budget of the deliveries seen) not
 * yet spent by frames the earbuds reported late. With no budget left it
 * is the largest: every late report spends budget, so late frames turn
 * the quantile back into the peak. 0 when nothing was observed.
 */
static uint64_t held_delivery(const struct plan *p)
{
	uint64_t best[PLAN_TOP], n = p->held_n + p->cur.count;
	uint64_t late = p->held_late + p->cur.late, allowed, k;

	/* The closed windows' merge is kept (held_sum()); only the current
	 * window joins it here: O(PLAN_TOP^2) per call. */
	memcpy(best, p->held_best, sizeof(best));
	win_merge(best, &p->cur);
	allowed = (uint64_t)(p->cfg.late_budget * (double)n);
	k = allowed > late ? MIN(allowed - late, PLAN_TOP - 1) : 0;
	while (k > 0 && best[k] == 0) {
		k--;
	}
	return best[k];
}

/* Re-merge the closed windows (when one closes or all shift: once a
 * window at most, O(hold_windows * PLAN_TOP^2)). */
static void held_sum(struct plan *p)
{
	memset(p->held_best, 0, sizeof(p->held_best));
	p->held_n = 0;
	p->held_late = 0;
	for (uint32_t i = 0; i < p->cfg.hold_windows; i++) {
		p->held_n += p->held[i].count;
		p->held_late += p->held[i].late;
		win_merge(p->held_best, &p->held[i]);
	}
}

/*
 * End of a window: it joins the held ones (the oldest expires) and the
 * target follows what they hold; its P99 feeds the EWMA the status
 * shows. A window without observations (no render reports yet, a link
 * down) says nothing about delivery, so it leaves the target where it
 * was.
 */
static void close_window(struct plan *p)
{
	uint64_t p99;

	if (hist_percentile(&p->window, 99.0, &p99) < 0) {
		return;
	}
	hist_reset(&p->window);
	ewma_update(&p->p99, (double)p99);
	p->held[p->held_next] = p->cur;
	p->held_next = (p->held_next + 1) % p->cfg.hold_windows;
	memset(&p->cur, 0, sizeof(p->cur));
	held_sum(p);
	/* This window had deliveries, so 0 means every held one was 0 ns
	 * (top[] keeps no zeros): margin alone, not "keep the target". */
	p->target_ns = target_of(p, held_delivery(p));
}

/* Something raised what the hold covers: the target follows at once
 * (never down here: that waits for a window to close). */
static void raise_target(struct plan *p)
{
	uint64_t d = held_delivery(p);

	if (d) {
		p->target_ns = MAX(p->target_ns, target_of(p, d));
	}
}

int plan_new(const struct plan_config *cfg, uint64_t t0_host_ns,
	     struct plan **ret)
{
	struct plan *p;
	int r;

	if (!cfg || !ret) {
		return -EINVAL;
	}
	if (cfg->frame_ns == 0 || cfg->window_frames == 0 ||
	    cfg->hold_windows == 0 || cfg->hold_windows > PLAN_HOLD_MAX ||
	    !(cfg->late_budget >= 0.0 && cfg->late_budget <= 0.01) ||
	    cfg->delay_min_ns > cfg->delay_max_ns ||
	    cfg->delay_initial_ns < cfg->delay_min_ns ||
	    cfg->delay_initial_ns > cfg->delay_max_ns) {
		return -EINVAL;
	}

	p = calloc(1, sizeof(*p));
	if (!p) {
		return -ENOMEM;
	}
	r = ewma_init(&p->p99, cfg->ewma_alpha);
	if (r < 0) {
		free(p);
		return r;
	}
	p->cfg = *cfg;
	p->t0_ns = t0_host_ns;
	p->n = 0;
	p->delay_ns = cfg->delay_initial_ns;
	p->target_ns = cfg->delay_initial_ns;
	p->window_end = cfg->window_frames;
	hist_init(&p->window);

	*ret = p;
	return 0;
}

int plan_set_bounds(struct plan *p, uint64_t delay_min_ns,
		    uint64_t delay_max_ns, uint64_t margin_ns)
{
	if (!p || delay_min_ns > delay_max_ns) {
		return -EINVAL;
	}
	p->cfg.delay_min_ns = delay_min_ns;
	p->cfg.delay_max_ns = delay_max_ns;
	p->cfg.margin_ns = margin_ns;
	/* Only the target moves now; the applied delay slews to it as
	 * always, so nobody hears the change. */
	{
		uint64_t d = held_delivery(p);

		p->target_ns = d ? target_of(p, d) : clamp_delay(p, p->target_ns);
	}
	return 0;
}

struct plan *plan_free(struct plan *p)
{
	free(p);
	return NULL;
}

uint64_t plan_target(struct plan *p, uint64_t n)
{
	uint64_t wf = p->cfg.window_frames;

	if (n > p->n) {
		if (n >= p->window_end) {
			/*
			 * Slew under the old target up to the window's end,
			 * then under the new one. A jump over several
			 * windows closes one: only one had observations.
			 */
			slew_to(p, p->window_end);
			close_window(p);
			p->window_end = n / wf >= UINT64_MAX / wf
						? UINT64_MAX
						: (n / wf + 1) * wf;
		}
		slew_to(p, n);
	}
	/* n < p->n (not allowed by the contract): the current delay. */
	return target_at(p, n, p->delay_ns);
}

int plan_pts(struct plan *p, uint64_t n, const struct servo *s,
	     uint64_t *ret_ear_ns)
{
	/* Both ears map the same T_n: only the servos differ. */
	return servo_map(s, plan_target(p, n), ret_ear_ns);
}

void plan_observe_delivery(struct plan *p, uint64_t delay_ns)
{
	p->observed = true;
	hist_record(&p->window, delay_ns);
	win_add(&p->cur, delay_ns);
	/* Above what the target covers: up at once, not at the window's
	 * end (by then a frame may have missed its time). Not when the
	 * target is at its ceiling already. */
	if (add_sat(delay_ns, p->cfg.margin_ns) > p->target_ns &&
	    p->target_ns < p->cfg.delay_max_ns) {
		raise_target(p);
	}
}

/*
 * Scale every held delivery by num / den (> 1): a delivery is mostly
 * waits for connection events (the next one, one more per lost try),
 * which all grow with the interval.
 */
static void scale_held(struct plan *p, uint64_t num, uint64_t den)
{
	for (uint32_t i = 0; i <= p->cfg.hold_windows; i++) {
		struct plan_win *w = i < p->cfg.hold_windows ? &p->held[i] :
							       &p->cur;

		for (unsigned j = 0; j < PLAN_TOP && w->top[j]; j++) {
			w->top[j] = round_ns((double)w->top[j] * (double)num /
					     (double)den);
		}
	}
}

void plan_set_interval(struct plan *p, uint64_t ci_ns)
{
	uint64_t want;

	if (ci_ns <= p->ci_ns) {
		return;
	}
	if (!p->observed) {
		/*
		 * Nothing delivered yet, so nothing plays yet: start where a
		 * frame that waits a whole interval for each of
		 * PLAN_START_EVENTS events (lost tries) still makes it, at
		 * once, no slew needed.
		 */
		want = clamp_delay(p, add_sat(PLAN_START_EVENTS * ci_ns,
					      p->cfg.margin_ns));
		p->delay_ns = MAX(p->delay_ns, want);
		p->target_ns = MAX(p->target_ns, want);
	} else if (p->ci_ns) {
		/*
		 * A connection update to a longer interval: every delivery
		 * from now on waits longer for its events, so what the hold
		 * covers grows by the ratio of the intervals now, and the
		 * delay jumps to the target: slewing there would leave
		 * frames late for most of a second, and one announced gap
		 * (plan_take_jump(): the next frame goes out marked
		 * discontinuous) is kinder than several unannounced ones.
		 */
		scale_held(p, ci_ns, p->ci_ns);
		held_sum(p);
		raise_target(p);
		if (p->target_ns > p->delay_ns) {
			p->delay_ns = p->target_ns;
			p->jumps++;
		}
	}
	p->ci_ns = ci_ns;
}

void plan_observe_late(struct plan *p, uint64_t late_ns)
{
	p->observed = true;
	p->late++;
	p->cur.late++;
	/* It needed the delay plus its lateness: a delivery that long. */
	win_add(&p->cur, add_sat(p->delay_ns, late_ns));
	raise_target(p);
}

bool plan_take_jump(struct plan *p)
{
	if (p->jumps_taken == p->jumps) {
		return false;
	}
	p->jumps_taken = p->jumps;
	return true;
}

uint64_t plan_late(const struct plan *p)
{
	return p->late;
}

uint64_t plan_delay(const struct plan *p)
{
	return p->delay_ns;
}

uint64_t plan_delay_target(const struct plan *p)
{
	return p->target_ns;
}

int plan_delivery_p99(const struct plan *p, uint64_t *ret_ns)
{
	double v;
	int r;

	r = ewma_value(&p->p99, &v);
	if (r < 0) {
		return r;
	}
	*ret_ns = round_ns(v);
	return 0;
}

uint64_t plan_frame_at(const struct plan *p, uint64_t host_ns)
{
	uint64_t base = add_sat(p->t0_ns, p->delay_ns);
	uint64_t d;

	if (host_ns <= base) {
		return 0;
	}
	d = host_ns - base;
	/* ceil(d / frame) without overflowing d + frame - 1. */
	return d / p->cfg.frame_ns + (d % p->cfg.frame_ns != 0);
}

uint64_t plan_frame(const struct plan *p)
{
	return p->n;
}
