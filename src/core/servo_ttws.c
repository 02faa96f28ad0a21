/* SPDX-License-Identifier: MIT */
/*
 * SERVO_TTWS, the default estimator: the reverse-path lower envelope, on
 * the connection-event grid.
 *
 * Why the reverse path only. Over BLE a request waits for the next
 * connection event, so t2 - t1 carries a wait anywhere in one connection
 * interval, and the midpoint of the two directions is off by about half an
 * interval, differently for each link (DESIGN.md, "What this model
 * teaches"). The reply is stamped two-step at the connection event that
 * carried it, so
 *
 *	t4 = host_instant(event) + D + j,   t3 = ear(event),
 *
 * j >= 0 the one-sided HCI/USB jitter and D a constant of the host's
 * transport, the same for both ears. The envelope of the luckiest replies
 * is that line shifted by D: D drops out of the inter-ear difference. The
 * map is the earbud clock D (plus the mean of the lucky jitter) early:
 * latency, not misalignment.
 *
 * Why the grid. Connection events are ci_us apart on the *dongle's* clock
 * and the earbud stamps each one, so each sample splits into two clean
 * relations: earbud time per event (t3 against the event's dongle time g,
 * a line up to the earbud's wander and its stamp noise) and host time per
 * event (t4 against g, noisy but a straight line, because the dongle
 * crystal sits in a host at room temperature). The first is fitted over a
 * window that adapts to how fast the earbud's rate moves against how
 * noisy its stamps are (ttws_fit_ear(): a 32 kHz tick averages down over
 * minutes, a crystal warming by 3 ppm is followed in seconds); the second
 * needs the envelope fit below, and with no wander in it the window can
 * be minutes long. Events are numbered from t3 differences
 * (ttws_number()). A connection update moves the events to a new grid:
 * the gap to it is measured with the earbud clock and averaged over the
 * first stamps after it (ttws_junction()), and the grid goes on, so the
 * window keeps its minutes of host line. Only stamps that keep missing
 * the grid (a wrong ci_us hint) make the fit use the earbud time itself
 * as coordinate ("plain"), as a classic two-clock fit does, with a window
 * short enough for the earbud's wander.
 *
 * Coarse earbud stamps (servo_set_clock_res(): t3 truncated to a tick,
 * servo.c moves it to the middle of its tick) enter only the earbud fit,
 * as zero-mean noise of res^2 / 12 that its least squares average out;
 * the envelope on the grid is in host time and never sees them. (In plain
 * coordinates an envelope would pick the stamps whose tick error happens
 * to be largest, half a tick high: one more reason to keep the grid.)
 *
 * The host line, per sample, over the window: an envelope slope, a gate
 * on the delay, a delay-weighted regression with a prior on the slope
 * (servo_ttws_host.c says how and from where).
 *
 * Step rule (servo.c counts two in a row). On the grid the earbud clock is
 * checked by itself: a stamp more than the threshold (plus its noise and
 * three standard errors) off the earbud fit is an outlier either way, kept
 * out of the window. Its delay is not: a reply quicker than the envelope
 * says the host's transport got quicker, not that the earbud clock moved.
 * That matters on USB, where replies reach the host only at 125 us
 * microframes of the host clock (USB 2.0, 8.4.3.1): as the dongle's
 * events drift through the microframe grid, each link's delay floor is a
 * 125 us sawtooth, and judging by delay stepped at every wrap; a window
 * longer than a period (125 us over the dongle's ppm against the host)
 * holds its tips, the true floor. A dongle locked to the host's frames
 * keeps the same phase for ever: its floor is then off by up to 125 us,
 * differently per link, and no reply says by how much. A stamp off the
 * grid is judged by the model: above the envelope is impossible; far
 * below, a long queue, unless a run of them longer than the window says
 * unlucky delays can be (probability < 1e-9) shows a clock that jumped
 * back. Without the grid every sample is judged so.
 *
 * Numerics: samples are kept as the raw uint64_t stamps; every fit works
 * on differences to the newest sample, which fit a double exactly. Cost:
 * O(window) per sample (a few tens of us for a full window of 4096),
 * nothing allocated after servo_new().
 *
 * The earbud side (ttws_fit_ear(), the event grid and its junctions)
 * is in servo_ttws_ear.c, the host line (ttws_fit()) in
 * servo_ttws_host.c.
 */
#include <math.h>
#include <stdlib.h>

#include "core/macro.h"
#include "core/servo_ttws_private.h"

/* Samples before the first lock, and after a step (which keeps the rate). */
#define TTWS_LOCK_N 4
#define TTWS_STEP_LOCK_N 2
/*
 * No outlier verdicts until this many samples since reset or step: the
 * envelope of a young window may still be well above the delay floor.
 */
#define TTWS_FRESH_N 32
/* Rate prior: +-50 ppm crystal (DESIGN.md); same crystal after reconnect. */
#define TTWS_PRIOR_SD_COLD 50e-6
#define TTWS_PRIOR_SD_WARM 2e-6
/* A run of far-below samples this unlikely is a clock jump (see top). */
#define TTWS_RUN_LOG_P (-20.7) /* ln(1e-9) */
#define TTWS_RUN_MIN 8

static struct servo_ttws *to_ttws(struct servo *s)
{
	return container_of(s, struct servo_ttws, servo);
}

static void ttws_free(struct servo *s)
{
	free(to_ttws(s));
}

/*
 * Forget the samples. What we knew of the rates becomes the prior of the
 * next lock: a reconnect changes neither crystal, and in grid coordinates
 * b is the dongle against the host, not even the earbud's.
 */
static void ttws_forget(struct servo_ttws *t, unsigned lock_n)
{
	if (t->have_fit) {
		double b = t->b;

		if (!t->grid) {
			/* Plain b = 1 - (1 - b_grid) / (1 + rho): undo. */
			b = 1.0 - (1.0 - b) * (1.0 + t->rho_m1);
		}
		t->prior_b = b;
		t->prior_sd = MAX(t->rate_sd, TTWS_PRIOR_SD_WARM);
		t->rho_prior = t->rho_m1;
		t->rho_prior_sd = MAX(sqrt(t->rho_var), TTWS_PRIOR_SD_WARM);
	}
	t->head = 0;
	t->count = 0;
	t->fresh = 0;
	t->lock_n = lock_n;
	t->neg_run = 0;
	t->have_fit = false;
	t->grid = t->ci_ns > 0;
	t->share_p = 0;
	t->share_q = 0;
	t->junction_pending = false;
	t->refining = false;
	t->seg_n = 0;
	t->short_segs = 0;
	t->rho_m1 = t->rho_prior;
	t->ear_e0 = 0;
}

static const struct servo_ops ttws_ops;

bool ttws_is(const struct servo *s)
{
	return s && s->ops == &ttws_ops;
}

static void ttws_reset(struct servo *s)
{
	ttws_forget(to_ttws(s), TTWS_LOCK_N);
}

static void ttws_step(struct servo *s)
{
	ttws_forget(to_ttws(s), TTWS_STEP_LOCK_N);
}

/*
 * Before the sample joins the window: is it an outlier against the model?
 * r is the sample's ear time minus the model's, both at t4.
 */
static bool ttws_outlier(struct servo_ttws *t, int64_t r_env)
{
	struct servo *s = &t->servo;
	/* r carries the stamp's own tick error, up to half a tick. */
	double thr =
	    (double)s->cfg.resync_threshold_ns + (double)s->clock_res_ns / 2;
	double tol = thr + 3.0 * t->offset_sd;
	double run;

	if (t->fresh < TTWS_FRESH_N) {
		return false;
	}
	if ((double)r_env > tol) {
		return true;
	}
	if ((double)r_env >= -thr) {
		t->neg_run = 0;
		return false;
	}
	/*
	 * Far below: a long queue, unless the window says runs this long
	 * do not happen (a fraction near_frac of samples lands within the
	 * threshold of the envelope; halved, because the envelope of a long
	 * window is a lucky extreme that new samples reach less often).
	 */
	t->neg_run++;
	if (t->near_frac <= 0.0) {
		run = TTWS_WINDOW;
	} else {
		run = ceil(TTWS_RUN_LOG_P / log1p(-t->near_frac / 2));
	}
	run = MAX(run, TTWS_RUN_MIN);
	run = MIN(run, TTWS_WINDOW / 2);
	return t->neg_run > (unsigned)run;
}

/* What to do with a sample before it joins the window. */
enum ttws_judgement {
	TTWS_KEEP,	   /* into the window */
	TTWS_KEEP_OUTLIER, /* into the window, but reported (a late run) */
	TTWS_HOLD,	   /* not into the window, gated: maybe a late one */
	TTWS_REJECT,	   /* not into the window, outlier */
};

/*
 * On the grid the earbud clock is checked on its own: a stamp on the grid
 * is an outlier only if it leaves the earbud fit (both ways: the fit is
 * tight); its delay says nothing about the earbud clock, so a reply
 * quicker than the envelope is the host's transport getting quicker (the
 * USB microframe phase moving, see the top) and joins the window. A stamp
 * off the grid is a junction when its delay looks plausible; one that
 * looks late is held back until the run of them says the earbud clock
 * jumped back rather than queues grew. Without the grid the delay is all
 * there is (ttws_outlier()).
 */
static enum ttws_judgement ttws_judge(struct servo_ttws *t, uint64_t t3,
				      int64_t r_env)
{
	struct servo *s = &t->servo;
	double res = (double)s->clock_res_ns;
	double thr = (double)s->cfg.resync_threshold_ns + res / 2;
	unsigned nw = ttws_index(t, t->count - 1);
	double r, dx, tol;
	int64_t g;

	if (t->fresh < TTWS_FRESH_N || t->junction_pending) {
		return TTWS_KEEP;
	}
	if (!t->grid) {
		if (!ttws_outlier(t, r_env)) {
			return TTWS_KEEP;
		}
		return r_env > 0 ? TTWS_REJECT : TTWS_KEEP_OUTLIER;
	}
	if (ttws_on_grid(t, nw, t3, &g)) {
		dx = (double)(g - t->g[nw]);
		r = (double)servo_diff(t3, t->t3[nw]) - t->ear_e0 -
		    (1.0 + t->rho_m1) * dx;
		tol = thr + 3.0 * sqrt(t->ear_sigma2 + t->ear_var0 +
				       t->rho_var * dx * dx);
		t->neg_run = 0;
		return fabs(r) > tol ? TTWS_REJECT : TTWS_KEEP;
	}
	if (!ttws_outlier(t, r_env)) {
		return r_env < -thr ? TTWS_HOLD : TTWS_KEEP;
	}
	return TTWS_REJECT;
}

static enum servo_verdict ttws_sample(struct servo *s,
				      const struct servo_sync *x,
				      int64_t *ret_residual_ns)
{
	struct servo_ttws *t = to_ttws(s);
	enum ttws_judgement j = TTWS_KEEP;
	int64_t g;

	*ret_residual_ns = 0;
	if (t->count > 0) {
		unsigned nw = ttws_index(t, t->count - 1);

		/* The envelope needs samples in order, in both clocks. */
		if (x->t4_host < t->t4[nw] || x->t3_ear < t->t3[nw]) {
			return SERVO_GATED;
		}
	}
	if (s->model.valid) {
		int64_t r = servo_diff(x->t3_ear,
				       servo_model_map(&s->model, x->t4_host));

		*ret_residual_ns = r - llround(t->lift);
		j = ttws_judge(t, x->t3_ear, *ret_residual_ns);
	}
	switch (j) {
	case TTWS_KEEP:
	case TTWS_KEEP_OUTLIER:
		break;
	case TTWS_HOLD:
		return SERVO_GATED;
	case TTWS_REJECT:
		return SERVO_OUTLIER;
	}

	ttws_number(t, x->t3_ear, &g);
	t->t4[t->head] = x->t4_host;
	t->t3[t->head] = x->t3_ear;
	t->g[t->head] = g;
	t->head = (t->head + 1) % TTWS_WINDOW;
	t->count = MIN(t->count + 1, TTWS_WINDOW);
	t->fresh++;
	t->seg_n++;
	ttws_refine(t);
	ttws_fit(t);
	if (j == TTWS_KEEP_OUTLIER) {
		return SERVO_OUTLIER;
	}
	return t->newest_excess_ns > t->gate_ns ? SERVO_GATED : SERVO_ACCEPT;
}

/*
 * A new connection interval. Events before and after it are on two grids
 * with an unknown offset between them (Core 5.4, Vol 6, Part B, 5.1.1:
 * the new anchor falls anywhere in the transmit window): the next stamp
 * starts a junction (ttws_junction()), and the grid goes on at the new
 * interval. A window already in plain coordinates stays so; the next
 * reset or step starts a grid on the new interval.
 */
static void ttws_set_ci(struct servo *s)
{
	struct servo_ttws *t = to_ttws(s);
	uint64_t ci_ns = (uint64_t)s->cfg.ci_us * NSEC_PER_USEC;

	if (ci_ns == t->ci_ns) {
		return;
	}
	t->ci_ns = ci_ns;
	if (t->count == 0) {
		t->grid = true;
	} else if (t->grid) {
		t->junction_pending = true;
	}
}

static const struct servo_ops ttws_ops = {
    .free = ttws_free,
    .reset = ttws_reset,
    .sample = ttws_sample,
    .step = ttws_step,
    .set_ci = ttws_set_ci,
};

struct servo *servo_ttws_new(const struct servo_config *cfg)
{
	struct servo_ttws *t = calloc(1, sizeof(*t));

	if (!t) {
		return NULL;
	}
	t->servo.ops = &ttws_ops;
	t->ci_ns = (uint64_t)cfg->ci_us * NSEC_PER_USEC;
	t->prior_b = 0.0;
	t->prior_sd = TTWS_PRIOR_SD_COLD;
	t->rho_prior = 0.0;
	t->rho_prior_sd = TTWS_PRIOR_SD_COLD;
	ttws_forget(t, TTWS_LOCK_N);
	return &t->servo;
}
