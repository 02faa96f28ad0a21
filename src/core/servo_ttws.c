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
 * The host line, per sample, over the window:
 *  1. Envelope slope: Moon, Skelly and Towsley, "Estimation and removal of
 *     clock skew from network delay measurements", INFOCOM 1999: the line
 *     on one side of all points that minimises the summed distance to
 *     them touches the convex hull on the edge spanning the mean abscissa
 *     (their linear program, solved by the hull in O(n) since samples come
 *     in order). Between hulls, and until the window is long enough for
 *     one, the previous fit's slope (or the prior) stands in.
 *  2. Delay-quantile gating ("lucky packets"): each sample's excess delay
 *     over that envelope; only the lowest TTWS_GATE_Q of them are used.
 *  3. Delay-weighted regression of the gated samples, weights
 *     1 / (1 + excess / scale)^2 as chrony weights samples by their extra
 *     delay over the minimum (sourcestats.c), with a Bayesian prior on the
 *     slope: a cold start assumes 0 +- 50 ppm; a reconnect or step keeps
 *     the last slope at +- 2 ppm (neither crystal changed). The slope and
 *     the offset at the newest sample are the model, as linuxptp's linreg
 *     servo fits phase and frequency over a window instead of integrating
 *     them. A servo_pair()ed peer behind the same dongle contributes its
 *     own evidence on the slope, which is the same quantity for both ears.
 * The gate and weights target the same statistic of the delay
 * distribution whatever the window size, so two ears sharing a transport
 * are biased alike (TTWS_GATE_Q was chosen on exponential, lognormal and
 * uniform jitter: near the floor helps sharp-edged delays, a wider gate
 * the lognormal body).
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
 * is in servo_ttws_ear.c.
 */
#include <math.h>
#include <stdlib.h>

#include "core/macro.h"
#include "core/servo_ttws_private.h"

/*
 * Age limits of the window. On the event grid only the dongle's crystal,
 * which sits in a host at room temperature, limits the window; without
 * the grid the earbud's own wander does.
 */
#define TTWS_GRID_MAX_AGE_NS (180 * NSEC_PER_SEC)
#define TTWS_PLAIN_MAX_AGE_NS (60 * NSEC_PER_SEC)
/* Fraction of the window, by smallest excess delay, used by the fit. */
#define TTWS_GATE_Q 0.7
/* ... but never fewer than this many samples. */
#define TTWS_GATE_MIN 4
/* Weight scale as a fraction of the gate (chrony-style weights). */
#define TTWS_WEIGHT_SCALE 0.25
/* Samples before the first lock, and after a step (which keeps the rate). */
#define TTWS_LOCK_N 4
#define TTWS_STEP_LOCK_N 2
/*
 * No outlier verdicts until this many samples since reset or step: the
 * envelope of a young window may still be well above the delay floor.
 */
#define TTWS_FRESH_N 32
/* The hull needs this much to be better than the previous slope. */
#define TTWS_HULL_MIN_N 16
#define TTWS_HULL_MIN_SPAN_NS (2 * NSEC_PER_SEC)
#define TTWS_HULL_EVERY 16
/* Rate prior: +-50 ppm crystal (DESIGN.md); same crystal after reconnect. */
#define TTWS_PRIOR_SD_COLD 50e-6
#define TTWS_PRIOR_SD_WARM 2e-6
/* Floor of the weight scale: timestamps are not better than this (ns). */
#define TTWS_SCALE_MIN_NS 100.0
/* Stable: rate and offset known to this (standard error). */
#define TTWS_STABLE_RATE_SD 0.2e-6
#define TTWS_STABLE_OFFSET_SD_NS 2000.0
#define TTWS_STABLE_SPAN_NS (2 * NSEC_PER_SEC)
#define TTWS_STABLE_N 32
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

static void ttws_reset(struct servo *s)
{
	ttws_forget(to_ttws(s), TTWS_LOCK_N);
}

static void ttws_step(struct servo *s)
{
	ttws_forget(to_ttws(s), TTWS_STEP_LOCK_N);
}

/*
 * Moon et al. 1999, section III: slope of the upper-hull edge of
 * (x[i], v[i]) that spans the mean abscissa. x is non-decreasing.
 * Returns false for a degenerate window (all x equal).
 */
static bool ttws_hull_slope(struct servo_ttws *t, const double *v, unsigned n,
			    double *ret)
{
	const double *x = t->x;
	unsigned *h = t->hull;
	unsigned m = 0;
	double xbar = 0;

	for (unsigned i = 0; i < n; i++) {
		xbar += x[i];
		/* Andrew's monotone chain: keep right turns only. */
		while (m >= 2) {
			unsigned a = h[m - 2], b = h[m - 1];
			double cross = (x[b] - x[a]) * (v[i] - v[a]) -
				       (v[b] - v[a]) * (x[i] - x[a]);

			if (cross < 0) {
				break;
			}
			m--;
		}
		h[m++] = i;
	}
	xbar /= n;
	for (unsigned k = 0; k + 1 < m; k++) {
		unsigned a = h[k], b = h[k + 1];

		if (x[b] > x[a] && x[a] <= xbar && xbar <= x[b]) {
			*ret = (v[b] - v[a]) / (x[b] - x[a]);
			return true;
		}
	}
	return false;
}

/*
 * Excess delay of every sample over the envelope of slope b (e[i] >= 0,
 * 0 at the envelope), and the gate: the TTWS_GATE_Q quantile of e.
 */
static double ttws_gate(struct servo_ttws *t, unsigned n, double b)
{
	const double *x = t->x, *o = t->o;
	double vmax = -INFINITY;
	unsigned k;

	for (unsigned i = 0; i < n; i++) {
		vmax = MAX(vmax, o[i] - b * x[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		t->e[i] = vmax - (o[i] - b * x[i]);
	}
	k = (unsigned)ceil(TTWS_GATE_Q * n);
	k = MAX(k, MIN(n, TTWS_GATE_MIN));
	/* The gate of the last fit is a good guess of this one. */
	return servo_select_near(t->e, t->tmp, n, k - 1,
				 t->gate_ns * 0.9 - 100.0,
				 t->gate_ns * 1.1 + 100.0);
}

struct ttws_line {
	double b;     /* slope */
	double a0;    /* offset at the newest sample (x = 0), ns */
	double sw;    /* sum of weights */
	double xbar;  /* weighted mean abscissa, ns */
	double sxx;   /* weighted spread of the abscissae plus the prior */
	double scale; /* standard deviation of a unit-weight sample, ns */
};

/*
 * chrony's weighting (sourcestats.c): a sample's standard deviation grows
 * as 1 + its extra delay over the minimum in units of scale.
 */
static double ttws_weight(double e, double scale)
{
	double d = 1.0 + e / scale;

	return 1.0 / (d * d);
}

static const struct servo_ops ttws_ops;

/* The peer's evidence on the dongle slope, if it has any on the grid. */
static void ttws_peer(const struct servo_ttws *t, double *ret_p, double *ret_q)
{
	const struct servo *peer = t->servo.peer;
	const struct servo_ttws *pt;

	*ret_p = 0;
	*ret_q = 0;
	if (!t->grid || !peer || peer->ops != &ttws_ops) {
		return;
	}
	pt = container_of(peer, const struct servo_ttws, servo);
	if (pt->grid) {
		*ret_p = pt->share_p;
		*ret_q = pt->share_q;
	}
}

/* Step 3: the delay-weighted fit of the gated samples, with the prior. */
static void ttws_wls(struct servo_ttws *t, unsigned n, double gate,
		     struct ttws_line *ret)
{
	const double *x = t->x, *o = t->o, *e = t->e;
	double *w = t->tmp; /* the gate's selection scratch is free again */
	double scale = MAX(gate * TTWS_WEIGHT_SCALE, TTWS_SCALE_MIN_NS);
	double sw = 0, sx = 0, so = 0, sxx = 0, sxo = 0, xbar, obar, lambda;
	double pp, pq;

	for (unsigned i = 0; i < n; i++) {
		w[i] = e[i] > gate ? 0.0 : ttws_weight(e[i], scale);
		sw += w[i];
		sx += w[i] * x[i];
		so += w[i] * o[i];
	}
	xbar = sx / sw;
	obar = so / sw;
	for (unsigned i = 0; i < n; i++) {
		double dx = x[i] - xbar;

		sxx += w[i] * dx * dx;
		sxo += w[i] * dx * (o[i] - obar);
	}
	if (t->grid) {
		t->share_p = sxx / (scale * scale);
		t->share_q = sxo / (scale * scale);
	}
	ttws_peer(t, &pp, &pq);
	/*
	 * Posterior of the slope: prior, this window, and the peer's window
	 * (the same dongle), each weighted by its precision, in the units
	 * of this window's data, (scale / sd)^2.
	 */
	lambda = (scale * scale) / (t->prior_sd * t->prior_sd);
	pp *= scale * scale;
	pq *= scale * scale;
	ret->b = (sxo + pq + lambda * t->prior_b) / (sxx + pp + lambda);
	ret->a0 = obar - ret->b * xbar;
	ret->sw = sw;
	ret->xbar = xbar;
	ret->sxx = sxx + pp + lambda;
	ret->scale = scale;
}

/*
 * Age the window out (keeping at least the newest sample) and fill x and
 * o (see ttws_fit()). Returns the sample count; *ret_span the host ns
 * the window spans.
 */
static unsigned ttws_load(struct servo_ttws *t, int64_t *ret_span)
{
	unsigned nw = ttws_index(t, t->count - 1);
	uint64_t t4n = t->t4[nw], t3n = t->t3[nw];
	uint64_t max_age =
	    t->grid ? TTWS_GRID_MAX_AGE_NS : TTWS_PLAIN_MAX_AGE_NS;

	while (t->count > 1 &&
	       servo_diff(t4n, t->t4[ttws_index(t, 0)]) > (int64_t)max_age) {
		t->count--;
	}
	for (unsigned i = 0; i < t->count; i++) {
		unsigned j = ttws_index(t, i);

		if (t->grid) {
			t->x[i] = (double)(t->g[j] - t->g[nw]);
		} else {
			t->x[i] = (double)servo_diff(t->t3[j], t3n);
		}
		t->o[i] = t->x[i] - (double)servo_diff(t->t4[j], t4n);
	}
	*ret_span = servo_diff(t4n, t->t4[ttws_index(t, 0)]);
	return t->count;
}

/*
 * 1. Envelope slope: Moon's hull once the window is long enough to have
 * one; in between (it moves little from one sample to the next, and costs
 * as much as the rest of the fit) the previous fit's.
 */
static double ttws_envelope_slope(struct servo_ttws *t, unsigned n,
				  int64_t span)
{
	double b = t->have_fit ? t->b : t->prior_b, db;

	if (n >= TTWS_HULL_MIN_N && span >= (int64_t)TTWS_HULL_MIN_SPAN_NS &&
	    t->fresh % TTWS_HULL_EVERY == 0) {
		for (unsigned i = 0; i < n; i++) {
			t->tmp[i] = t->o[i] - b * t->x[i];
		}
		if (ttws_hull_slope(t, t->tmp, n, &db)) {
			b += db;
		}
	}
	return b;
}

/*
 * Uncertainty of the host line, and where the envelope sits above it.
 * The gated mean of the lowest fraction q of n samples is a one-sided
 * trimmed mean; from its influence function its variance is
 * Var((G - e)^+) / (n q^2) (Hampel, Ronchetti, Rousseeuw and Stahel,
 * "Robust Statistics", 1986, 2.1b and 2.3), whatever the delay
 * distribution. The slope's variance relates to it as in any weighted
 * regression, through sw / sxx. Sets rate_sd, offset_sd, lift, near_frac.
 */
static void ttws_spread(struct servo_ttws *t, unsigned n, double gate,
			const struct ttws_line *line)
{
	const double *x = t->x, *o = t->o;
	double thr = (double)t->servo.cfg.resync_threshold_ns, b = line->b;
	double env = -INFINITY, m1 = 0, m2 = 0, q, loc_var, rate_var;
	unsigned near = 0, gated = 0;

	for (unsigned i = 0; i < n; i++) {
		env = MAX(env, o[i] - b * x[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		double d = MAX(gate - t->e[i], 0.0);

		m1 += d;
		m2 += d * d;
		gated += t->e[i] <= gate;
		near += env - (o[i] - b * x[i]) <= thr;
	}
	m1 /= n;
	m2 /= n;
	q = (double)gated / n;
	loc_var = MAX(m2 - m1 * m1, 0.0) / (n * q * q) +
		  TTWS_SCALE_MIN_NS * TTWS_SCALE_MIN_NS / n;
	rate_var = loc_var * line->sw / line->sxx;
	t->rate_sd = sqrt(rate_var);
	t->offset_sd = sqrt(loc_var + rate_var * line->xbar * line->xbar);
	t->lift = env - line->a0;
	t->near_frac = (double)near / n;
}

/*
 * Fit the window. Coordinates, relative to the newest sample:
 *   grid:  x = (k - k_newest) ci, the dongle time of the event (exact);
 *   plain: x = t3 - t3_newest, the earbud time of the event.
 * y = t4 - t4_newest, the host time the reply arrived, is the event's
 * host time plus D + j; o = x - y, so j >= 0 pushes o down and the model
 * is the upper envelope o = a0 + b x. The host instant h of coordinate x
 * solves x - (a0 + b x) = h, and the earbud time of x is the ear fit.
 */
static void ttws_fit(struct servo_ttws *t)
{
	struct servo *s = &t->servo;
	unsigned nw = ttws_index(t, t->count - 1), n;
	uint64_t t4n = t->t4[nw], t3n = t->t3[nw];
	double b, gate, e0 = 0, rho = 0, x0, ear0, ear_var = 0, rho_var = 0;
	struct ttws_line line;
	int64_t span;

	n = ttws_load(t, &span);
	if (t->grid) {
		ttws_fit_ear(t, n, t3n);
		e0 = t->ear_e0;
		rho = t->rho_m1;
		ear_var = t->ear_var0;
		rho_var = t->rho_var;
	}
	b = ttws_envelope_slope(t, n, span);
	/* 2. and 3. */
	gate = ttws_gate(t, n, b);
	ttws_wls(t, n, gate, &line);
	ttws_spread(t, n, gate, &line);

	t->have_fit = true;
	b = t->b = line.b;
	/* The earbud fit's errors add to the host line's. */
	t->rate_sd = sqrt(t->rate_sd * t->rate_sd + rho_var);
	t->offset_sd = sqrt(t->offset_sd * t->offset_sd + ear_var);
	t->gate_ns = gate;
	t->newest_excess_ns = t->e[n - 1];

	/* The coordinate of host t4n, then its earbud time. */
	x0 = line.a0 / (1.0 - b);
	ear0 = e0 + (1.0 + rho) * x0;
	s->model.ref_host = t4n;
	s->model.ref_ear = t3n + (uint64_t)llround(ear0);
	s->model.rate = (rho + b) / (1.0 - b);
	s->model.valid = t->fresh >= t->lock_n;
	s->model.offset_sd_ns = t->offset_sd;
	s->model.rate_sd = t->rate_sd;
	s->model.settled = s->model.valid && n >= TTWS_STABLE_N &&
			   span >= (int64_t)TTWS_STABLE_SPAN_NS &&
			   t->rate_sd <= TTWS_STABLE_RATE_SD &&
			   t->offset_sd <= TTWS_STABLE_OFFSET_SD_NS;
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
