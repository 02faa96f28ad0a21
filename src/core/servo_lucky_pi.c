/* SPDX-License-Identifier: MIT */
/*
 * SERVO_LUCKY_PI: the estimator a careful engineer builds from what
 * time-sync daemons publish, knowing nothing of BLE connection events.
 * It is the strong baseline ttws is measured against. Three parts, each
 * after a well-known implementation (read for the idea, nothing copied):
 *
 * 1. Minimum-delay ("lucky packet") selection, as the NTP clock filter
 *    (RFC 5905, 10) and chrony's delay tests (ntp_core.c,
 *    maxdelaydevratio) do it: an exchange whose round trip is close to
 *    the quickest of the recent ones can hide only a small asymmetry, so
 *    its NTP offset is close to the truth. Of the last LP_DWIN exchanges
 *    the quickest sets the floor; an exchange is lucky if its delay is
 *    within max(2 us + 2 res, q - floor) of it, q the LP_GATE_K-th
 *    quickest. Everything else is gated.
 * 2. Frequency: a weighted least-squares fit of the lucky offsets against
 *    host time over the last LP_SPAN_NS, after chrony's sourcestats.c
 *    (SST_DoNewRegression) and regress.c (RGR_FindBestRegression): the
 *    weight falls with the delay above the floor, and a runs test on the
 *    signs of the residuals drops the oldest points until the rest look
 *    like noise around a line, so a frequency change shortens the window
 *    by itself.
 * 3. Phase: a PI loop on the residuals of the lucky offsets with the
 *    fitted frequency as feed-forward, after linuxptp's pi.c with its
 *    default gains (kp 0.7 s^-0.3 capped at 0.7 per sample, ki 0.3 s^0.4
 *    capped at 0.3 per sample: pi_proportional_scale/_exponent/_norm_max
 *    and the pi_integral_ ones) scaled to the measured interval between
 *    lucky samples.
 *
 * Like the other baselines it maps to the NTP midpoint, so a path whose
 * quickest forward and reverse legs differ keeps half that difference in
 * the map; unlike them it is not led by the bulk of the delays.
 */
#include <math.h>
#include <stdlib.h>

#include "core/macro.h"
#include "core/servo_private.h"

/* Delay window (exchanges) and the gate's quantile in it (1/8). */
#define LP_DWIN 32
#define LP_GATE_K 4
/* The narrowest lucky band above the floor, ns (before 2 res). */
#define LP_GATE_MIN_NS 2000.0
/* Lucky exchanges kept for the fit: at most this many, this recent. */
#define LP_RING 256
#define LP_SPAN_NS (10.0 * NSEC_PER_SEC)
/* The runs test never cuts the fit below this many points. */
#define LP_FIT_MIN 8
/* Lucky exchanges before a lock (with no rate prior), before outlier
 * verdicts, and over which the phase re-seeds from a quicker one. */
#define LP_LOCK_N 4
#define LP_FRESH_N 16
#define LP_ACQ_N 8
/* chrony's SD_TO_DIST_RATIO: delay spread per unit of offset sd. */
#define LP_SD_TO_DELAY 0.7
/* The integrator is held inside this many sigmas of the feed-forward,
 * and inside twice the +-50 ppm of a crystal. */
#define LP_I_SIGMAS 3.0
#define LP_FREQ_MAX 100e-6
/* A reconnect keeps the rate as a +-2 ppm prior, as SERVO_TTWS. */
#define LP_PRIOR_SD_RESET 2e-6
/* STABLE once the rate is known to this (one sigma) and the phase to
 * LP_SETTLED_SD_NS, as SERVO_TTWS. */
#define LP_SETTLED_RATE_SD 0.2e-6
#define LP_SETTLED_SD_NS 2000.0
/* linuxptp's default PI scales (pi.c, HWTS_KP_SCALE, HWTS_KI_SCALE). */
#define LP_KP_SCALE 0.7
#define LP_KI_SCALE 0.3

struct lp_point {
	uint64_t host; /* NTP midpoint, host ns */
	double offset; /* ear - host - base, ns */
	double delay;  /* round trip, ns */
};

struct lp_fit {
	bool ok;
	unsigned n;	 /* points the runs test kept */
	double slope;	 /* d offset / d host */
	double slope_sd; /* its standard error */
	double point_sd; /* sd of a typical lucky offset around the line, ns */
	double a;
};

struct servo_lucky_pi {
	struct servo servo;
	/* Delays (ns) of the last LP_DWIN valid exchanges, lucky or not. */
	double dwin[LP_DWIN];
	double dtmp[LP_DWIN];
	unsigned dhead;
	unsigned dcount;
	/* Lucky exchanges, a ring; ring[rhead] is the next slot. */
	struct lp_point ring[LP_RING];
	unsigned rhead;
	unsigned rcount;
	/* Fit scratch, oldest first. */
	double fx[LP_RING];
	double fy[LP_RING];
	double fw[LP_RING];
	double ftmp[LP_RING];
	struct lp_fit fit;
	/*
	 * Offsets are kept relative to the first one since the last reset,
	 * so the doubles hold small numbers whatever the clock origins.
	 */
	bool have_base;
	int64_t base;
	/* PI state: phase (ear - host - base, ns) at ref_host (host ns). */
	bool have_phase;
	uint64_t ref_host;
	double phase;
	double freq_ff; /* the fit, pulled towards the prior */
	double freq_i;	/* the PI integrator */
	double tau_ns;	/* mean interval between accepted samples, ns */
	double seed_delay;
	unsigned accepted; /* since the last reset or step */
	unsigned lock_n;
	/* The rate before any fit: 0 +- 50 ppm, or the last one. */
	double prior_rate;
	double prior_sd;
};

static struct servo_lucky_pi *to_lp(struct servo *s)
{
	return container_of(s, struct servo_lucky_pi, servo);
}

static void lp_free(struct servo *s)
{
	free(to_lp(s));
}

/* Forget the offsets; keep the delay window and the rate prior. */
static void lp_clear_phase(struct servo_lucky_pi *l)
{
	l->rhead = 0;
	l->rcount = 0;
	l->fit = (struct lp_fit){0};
	l->have_base = false;
	l->have_phase = false;
	l->freq_ff = l->prior_rate;
	l->freq_i = 0;
	l->tau_ns = 0;
	l->accepted = 0;
}

static void lp_reset(struct servo *s)
{
	struct servo_lucky_pi *l = to_lp(s);

	/* A reconnect changes neither crystal (servo.h). */
	if (s->model.valid) {
		l->prior_rate = s->model.rate;
		l->prior_sd = LP_PRIOR_SD_RESET;
	}
	l->dhead = 0;
	l->dcount = 0;
	lp_clear_phase(l);
	l->lock_n = LP_LOCK_N;
}

static void lp_step(struct servo *s)
{
	struct servo_lucky_pi *l = to_lp(s);

	/*
	 * The earbud clock moved, not its rate nor the path: keep the rate
	 * with the certainty the fit had and the delay floor, and take the
	 * next exchange as the new phase (servo.c feeds the two that showed
	 * the step right after).
	 */
	l->prior_rate = s->model.rate;
	l->prior_sd = MAX(s->model.rate_sd, 0.05e-6);
	lp_clear_phase(l);
	l->lock_n = 1;
}

static void lp_set_clock_res(struct servo *s)
{
	/* The gate reads s->clock_res_ns on every sample. */
	(void)s;
}

/* Round trip minus the earbud's turnaround, both in host ns. */
static double lp_delay(const struct servo_lucky_pi *l,
		       const struct servo_sync *x)
{
	double rate = l->servo.model.valid ? l->servo.model.rate : l->prior_rate;
	double rtt = (double)servo_diff(x->t4_host, x->t1_host);
	double turn = (double)servo_diff(x->t3_ear, x->t2_ear);

	return rtt - turn / (1.0 + rate);
}

/* Floor of the delay window and the lucky band above it (ns). */
static void lp_gate(struct servo_lucky_pi *l, double d, double *ret_floor,
		    double *ret_band)
{
	double res = (double)l->servo.clock_res_ns, floor = d, q;
	unsigned k;

	if (l->dcount == 0) {
		*ret_floor = d;
		*ret_band = INFINITY;
		return;
	}
	for (unsigned i = 0; i < l->dcount; i++) {
		floor = MIN(floor, l->dwin[i]);
		l->dtmp[i] = l->dwin[i];
	}
	k = MIN(LP_GATE_K, l->dcount) - 1;
	q = servo_select(l->dtmp, l->dcount, k);
	*ret_floor = floor;
	/* Each of t2, t3 is off by up to res/2 after servo.c's correction
	 * (with the truncation a whole tick), so a delay by up to 2 res. */
	*ret_band = MAX(LP_GATE_MIN_NS + 2.0 * res, q - floor);
}

static void lp_push_delay(struct servo_lucky_pi *l, double d)
{
	l->dwin[l->dhead] = d;
	l->dhead = (l->dhead + 1) % LP_DWIN;
	l->dcount = MIN(l->dcount + 1, LP_DWIN);
}

/* Offset the model predicts at host h (ear - host - base, ns). */
static double lp_predict(const struct servo_lucky_pi *l, uint64_t h)
{
	return l->phase +
	       (l->freq_ff + l->freq_i) * (double)servo_diff(h, l->ref_host);
}

/*
 * Weighted least squares of y on x over points [0, n): intercept at x = 0
 * and slope; *ret_sxx and *ret_w the weighted spread and weight sum.
 */
struct lp_wls {
	double a, b, sxx, w, xbar;
};

static struct lp_wls lp_wls(const double *x, const double *y,
			    const double *w, unsigned n)
{
	struct lp_wls f = {0};
	double sx = 0, sy = 0, sxy = 0, ybar;

	for (unsigned i = 0; i < n; i++) {
		f.w += w[i];
		sx += w[i] * x[i];
		sy += w[i] * y[i];
	}
	f.xbar = sx / f.w;
	ybar = sy / f.w;
	for (unsigned i = 0; i < n; i++) {
		double dx = x[i] - f.xbar;

		f.sxx += w[i] * dx * dx;
		sxy += w[i] * dx * (y[i] - ybar);
	}
	f.b = f.sxx > 0 ? sxy / f.sxx : 0;
	f.a = ybar - f.b * f.xbar;
	return f;
}

/*
 * Wald-Wolfowitz runs test, one-sided at 5 %: too few runs of equal
 * residual signs for their numbers means the residuals follow a curve,
 * not noise (chrony uses a table of the same critical values).
 */
static bool lp_too_few_runs(const struct lp_wls *f, const double *x,
			    const double *y, unsigned n)
{
	unsigned runs = 1, pos = 0;
	bool last = false;
	double m = n, mu, var;

	for (unsigned i = 0; i < n; i++) {
		bool p = y[i] - f->a - f->b * x[i] >= 0;

		pos += p;
		runs += i > 0 && p != last;
		last = p;
	}
	if (pos == 0 || pos == n) {
		return n > 2;
	}
	mu = 1.0 + 2.0 * pos * (m - pos) / m;
	var = (mu - 1.0) * (mu - 2.0) / (m - 1.0);
	return (double)runs < mu - 1.645 * sqrt(var);
}

static void lp_fit(struct servo_lucky_pi *l)
{
	unsigned n = l->rcount, start = 0, m;
	unsigned first = (l->rhead + LP_RING - n) % LP_RING;
	uint64_t h0 = l->ring[(l->rhead + LP_RING - 1) % LP_RING].host;
	double floor = INFINITY, scale, ss = 0;
	struct lp_wls f;

	l->fit.ok = false;
	if (n < 3) {
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct lp_point *p = &l->ring[(first + i) % LP_RING];

		l->fx[i] = (double)servo_diff(p->host, h0);
		l->fy[i] = p->offset;
		l->fw[i] = p->delay;
		floor = MIN(floor, p->delay);
	}
	/*
	 * chrony's weights: a point's sd grows by one unit per scale of
	 * delay above the floor, scale the median excess over 0.7.
	 */
	for (unsigned i = 0; i < n; i++) {
		l->ftmp[i] = l->fw[i] - floor;
	}
	scale = servo_select(l->ftmp, n, n / 2) / LP_SD_TO_DELAY;
	scale = MAX(scale, LP_GATE_MIN_NS + (double)l->servo.clock_res_ns);
	for (unsigned i = 0; i < n; i++) {
		double u = 1.0 + (l->fw[i] - floor) / scale;

		l->fw[i] = 1.0 / (u * u);
	}
	for (;;) {
		m = n - start;
		f = lp_wls(l->fx + start, l->fy + start, l->fw + start, m);
		if (m <= LP_FIT_MIN ||
		    !lp_too_few_runs(&f, l->fx + start, l->fy + start, m)) {
			break;
		}
		start += MAX(1u, m / 16);
	}
	if (f.sxx <= 0 || m < 3) {
		return;
	}
	for (unsigned i = start; i < n; i++) {
		double r = l->fy[i] - f.a - f.b * l->fx[i];

		ss += l->fw[i] * r * r;
	}
	ss /= (double)(m - 2);
	l->fit.ok = true;
	l->fit.n = m;
	l->fit.slope = f.b;
	l->fit.a = f.a;
	l->fit.slope_sd = sqrt(ss / f.sxx);
	/* A typical point's variance: ss per unit weight over the mean
	 * weight (chrony's est_var). */
	l->fit.point_sd = sqrt(ss * (double)m / f.w);
}

/* The fitted rate, pulled towards the prior by their precisions. */
static double lp_rate_estimate(const struct servo_lucky_pi *l,
			       double *ret_sd)
{
	double pp = 1.0 / (l->prior_sd * l->prior_sd), fp;

	if (!l->fit.ok || l->fit.slope_sd <= 0) {
		*ret_sd = l->prior_sd;
		return l->prior_rate;
	}
	fp = 1.0 / (l->fit.slope_sd * l->fit.slope_sd);
	*ret_sd = 1.0 / sqrt(pp + fp);
	return (l->prior_rate * pp + l->fit.slope * fp) / (pp + fp);
}

static void lp_seed(struct servo_lucky_pi *l, uint64_t h, double off,
		    double d)
{
	l->have_phase = true;
	l->ref_host = h;
	l->phase = off;
	l->seed_delay = d;
}

/* linuxptp's pi_sync_interval(): gains for an interval of tau_ns. */
static void lp_gains(const struct servo_lucky_pi *l, double *ret_kp,
		     double *ret_ki)
{
	double t = l->tau_ns / 1e9;

	*ret_kp = MIN(LP_KP_SCALE * pow(t, 0.7), 0.7);
	*ret_ki = MIN(LP_KI_SCALE * pow(t, 1.4), 0.3);
}

/*
 * Anti-windup. The integrator is there for what the feed-forward cannot
 * know yet, which is its own uncertainty: a correction beyond a few of
 * its sigmas is the scatter of the offsets integrated, not information
 * (with the hundreds of microseconds a BLE connection event adds, ki
 * alone would swing the rate by tens of ppm).
 */
static void lp_clamp_integrator(struct servo_lucky_pi *l)
{
	double sd, lim;

	(void)lp_rate_estimate(l, &sd);
	lim = MIN(LP_FREQ_MAX, LP_I_SIGMAS * sd);
	l->freq_i = MAX(-lim, MIN(lim, l->freq_i));
}

/* One PI step on the residual of an accepted offset at host h. */
static void lp_pi(struct servo_lucky_pi *l, uint64_t h, double off)
{
	double p = lp_predict(l, h), r = off - p, kp, ki;

	if (l->tau_ns <= 0) {
		/* Two exchanges with one midpoint: nothing to learn. */
		return;
	}
	lp_gains(l, &kp, &ki);
	/*
	 * pi.c: the phase takes kp of the residual, the frequency ki of it
	 * per interval (its drift += ki * offset, in ppb per ns of offset
	 * per second of interval).
	 */
	l->phase = p + kp * r;
	l->ref_host = h;
	l->freq_i += ki * r / l->tau_ns;
	lp_clamp_integrator(l);
}

/*
 * The feed-forward moved by delta: what of it the integrator had already
 * found, it hands back, so the two do not count one frequency twice.
 */
static void lp_hand_over(struct servo_lucky_pi *l, double delta)
{
	double take;

	if (delta * l->freq_i <= 0) {
		return;
	}
	take = MIN(fabs(delta), fabs(l->freq_i));
	l->freq_i -= copysign(take, l->freq_i);
}

static void lp_push_point(struct servo_lucky_pi *l, uint64_t h, double off,
			  double d)
{
	unsigned first;

	l->ring[l->rhead] = (struct lp_point){
	    .host = h,
	    .offset = off,
	    .delay = d,
	};
	l->rhead = (l->rhead + 1) % LP_RING;
	l->rcount = MIN(l->rcount + 1, LP_RING);
	/* Drop what is older than the span (the ring is in host order). */
	first = (l->rhead + LP_RING - l->rcount) % LP_RING;
	while (l->rcount > 3 &&
	       (double)servo_diff(h, l->ring[first].host) > LP_SPAN_NS) {
		first = (first + 1) % LP_RING;
		l->rcount--;
	}
}

static void lp_publish(struct servo_lucky_pi *l)
{
	struct servo_model *m = &l->servo.model;
	double rate_sd, kp, ki, var;

	m->valid = l->have_phase && l->accepted >= l->lock_n;
	if (!l->have_phase) {
		m->settled = false;
		return;
	}
	l->freq_ff = lp_rate_estimate(l, &rate_sd);
	m->ref_host = l->ref_host;
	m->ref_ear = l->ref_host + (uint64_t)l->base +
		     (uint64_t)llround(l->phase);
	m->rate = l->freq_ff + l->freq_i;
	m->rate_sd = rate_sd;
	/*
	 * The phase is an exponential average of the lucky offsets with
	 * gain kp: variance kp / (2 - kp) of a point's, from the fit's
	 * residuals (the whole delay spread while there is no fit).
	 */
	if (l->fit.ok && l->tau_ns > 0) {
		lp_gains(l, &kp, &ki);
		var = l->fit.point_sd * l->fit.point_sd * kp / (2.0 - kp);
		m->offset_sd_ns = sqrt(var);
	} else {
		m->offset_sd_ns = l->seed_delay / 2;
	}
	m->settled = m->valid && l->fit.ok && l->fit.n >= LP_FRESH_N &&
		     m->rate_sd < LP_SETTLED_RATE_SD &&
		     m->offset_sd_ns < LP_SETTLED_SD_NS;
}

/*
 * An accepted exchange: the first seeds the phase, and while there are
 * few a quicker one re-seeds it (the NTP clock filter's choice: the
 * least delay bounds the error best); after that, one PI step. The loop
 * measures the fitted line at h rather than the raw offset: the line has
 * the same mean with a fraction of the scatter, which would otherwise
 * reach the rate through ki (about 1.4 ppm rms against 0.4 ppm on the
 * link of test-servo-lucky.c), and the runs test keeps it from lagging.
 */
static void lp_accept(struct servo_lucky_pi *l, uint64_t h, double off,
		      double d, bool lucky)
{
	double before = l->freq_ff, sd;
	bool seed = !l->have_phase ||
		    (l->accepted < LP_ACQ_N && d < l->seed_delay);

	if (l->have_phase) {
		double dt = (double)servo_diff(h, l->ref_host);

		l->tau_ns = l->tau_ns > 0 ? l->tau_ns + (dt - l->tau_ns) / 8
					  : dt;
	}
	if (seed) {
		lp_seed(l, h, off, d);
	}
	if (lucky) {
		lp_push_point(l, h, off, d);
		lp_fit(l);
	}
	if (!seed) {
		lp_pi(l, h,
		      l->fit.ok && l->accepted >= LP_ACQ_N ? l->fit.a : off);
	}
	lp_hand_over(l, lp_rate_estimate(l, &sd) - before);
	l->accepted++;
	lp_publish(l);
}

static enum servo_verdict lp_sample(struct servo *s, const struct servo_sync *x,
				    int64_t *ret_residual_ns)
{
	struct servo_lucky_pi *l = to_lp(s);
	uint64_t h = servo_ntp_midpoint(x);
	double d = lp_delay(l, x), floor, band, excess, off;

	*ret_residual_ns = 0;
	if (!l->have_base) {
		l->have_base = true;
		l->base = servo_ntp_offset(x);
	}
	off = (double)(servo_ntp_offset(x) - l->base);
	lp_gate(l, d, &floor, &band);
	excess = MAX(0.0, d - floor);
	/*
	 * Every exchange's delay counts for the floor, outliers too: a step
	 * of the earbud clock moves t2 and t3 alike and leaves the delay
	 * alone, and leaving the quickest out whenever the model is off
	 * would raise the floor and lock the model out of its own
	 * correction.
	 */
	lp_push_delay(l, d);
	if (l->have_phase) {
		double r = off - lp_predict(l, h);
		double tol = (double)s->cfg.resync_threshold_ns +
			     3.0 * s->model.offset_sd_ns +
			     (double)s->clock_res_ns;

		*ret_residual_ns = llround(r);
		/*
		 * The truth lies within half the excess delay of an NTP
		 * offset (the delay bounds the asymmetry): a sample outside
		 * that band, widened by the threshold and the model's own
		 * uncertainty, disagrees whatever its luck.
		 */
		if (s->model.valid && l->accepted >= LP_FRESH_N &&
		    fabs(r) > excess / 2 + tol) {
			return SERVO_OUTLIER;
		}
	}
	if (l->have_phase && (servo_diff(h, l->ref_host) < 0 || excess > band)) {
		/* Out of host order, or unlucky. */
		return SERVO_GATED;
	}
	lp_accept(l, h, off, d, excess <= band);
	return SERVO_ACCEPT;
}

static const struct servo_ops lucky_pi_ops = {
    .free = lp_free,
    .reset = lp_reset,
    .sample = lp_sample,
    .step = lp_step,
    .set_clock_res = lp_set_clock_res,
};

struct servo *servo_lucky_pi_new(const struct servo_config *cfg)
{
	struct servo_lucky_pi *l = calloc(1, sizeof(*l));

	(void)cfg;
	if (!l) {
		return NULL;
	}
	l->servo.ops = &lucky_pi_ops;
	l->prior_rate = 0;
	l->prior_sd = SERVO_RATE_SD_UNKNOWN;
	l->lock_n = LP_LOCK_N;
	lp_clear_phase(l);
	return &l->servo;
}
