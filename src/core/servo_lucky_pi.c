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
 *    host time over at most LP_SPAN_NS, after chrony's sourcestats.c
 *    (SST_DoNewRegression) and regress.c (RGR_FindBestRegression): the
 *    weight falls with the delay above the floor, and the oldest points
 *    go while the residuals say the frequency changed
 *    (servo_lucky_fit.c).
 * 3. Phase: a PI loop on the residuals of the lucky offsets with the
 *    fitted frequency as feed-forward, after linuxptp's pi.c with its
 *    default gains (kp 0.7 s^-0.3 capped at 0.7 per sample, ki 0.3 s^0.4
 *    capped at 0.3 per sample: pi_proportional_scale/_exponent/_norm_max
 *    and the pi_integral_ ones, HWTS_KP_SCALE/HWTS_KI_SCALE) scaled to the
 *    measured interval between lucky samples.
 *
 * Like the other baselines it maps to the NTP midpoint, so a path whose
 * quickest forward and reverse legs differ keeps half that difference in
 * the map; unlike them it is not led by the bulk of the delays.
 */
#include <math.h>
#include <stdlib.h>

#include "core/macro.h"
#include "core/servo_lucky_fit.h"
#include "core/servo_private.h"

/*
 * Delay window (exchanges) and the gate's quantile in it: the second
 * quickest of 32. With one-sided jitter whose density grows from zero
 * at the floor (two exponential legs) the quantile hardly matters: from
 * the 1st to the 8th quickest, the P99 on test-servo-lucky.c's link
 * stays between 2.4 and 3 us. With the uniform wait for a BLE connection
 * event the error grows with it: on test-servo.c's 30 ms scenario the
 * inter-ear P99 is 250 us at the 2nd and 2.2 ms at the 4th.
 */
#define LP_DWIN 32
#define LP_GATE_K 2
/* Below this many delays in the window nothing counts as lucky (the
 * phase seeds from the quickest exchange so far instead). */
#define LP_DWIN_MIN 8
/* The narrowest lucky band above the floor, ns (before 2 res). */
#define LP_GATE_MIN_NS 2000.0
/*
 * Lucky exchanges kept for the fit: at most this many, this recent. A
 * 30 ms link yields a couple per second, whose rate needs a minute; a
 * change of frequency cuts the window (servo_lucky_fit.c).
 */
#define LP_RING 256
#define LP_SPAN_NS (60.0 * NSEC_PER_SEC)
/* Exchanges before a lock (the quickest of them sets the phase); lucky
 * ones before outlier verdicts, and over which the phase re-seeds from a
 * quicker one. */
#define LP_LOCK_N 4
#define LP_FRESH_N 16
#define LP_ACQ_N 8
/* The integrator is held inside this many sigmas of the feed-forward,
 * and inside twice the +-50 ppm of a crystal. */
#define LP_I_SIGMAS 3.0
#define LP_FREQ_MAX 100e-6
/* The long-term delay floor: the least delay of the last 8 blocks of 2 s. */
#define LP_FLOOR_BLOCKS 8
#define LP_FLOOR_BLOCK_NS (2 * NSEC_PER_SEC)
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

struct servo_lucky_pi {
	struct servo servo;
	/* Delays (ns) of the last LP_DWIN valid exchanges, lucky or not. */
	double dwin[LP_DWIN];
	double dtmp[LP_DWIN];
	unsigned dhead;
	unsigned dcount;
	/* Least delay (ns) per block of LP_FLOOR_BLOCK_NS, a ring. */
	double fblock[LP_FLOOR_BLOCKS];
	unsigned fcur;
	uint64_t fblock_start;
	bool have_fblock;
	/* Lucky exchanges, a ring; ring[rhead] is the next slot. */
	struct lp_point ring[LP_RING];
	unsigned rhead;
	unsigned rcount;
	/* Fit input and scratch, oldest first. */
	double fx[LP_RING];
	double fy[LP_RING];
	double fd[LP_RING];
	double fw[LP_RING];
	double ftmp[LP_RING];
	struct servo_lucky_fit fit;
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
	double freq_ff;	   /* the fit, pulled towards the prior */
	double freq_i;	   /* the PI integrator */
	double freq_i_var; /* its mean square, the rate error it adds */
	double tau_ns;	   /* mean interval between accepted samples, ns */
	double seed_delay;
	unsigned accepted; /* since the last reset or step */
	unsigned seen;	   /* exchanges since the last reset or step */
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
	l->fit = (struct servo_lucky_fit){0};
	l->have_base = false;
	l->have_phase = false;
	l->freq_ff = l->prior_rate;
	l->freq_i = 0;
	l->freq_i_var = 0;
	l->tau_ns = 0;
	l->accepted = 0;
	l->seen = 0;
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
	l->have_fblock = false;
	l->fcur = 0;
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
	s->model.settled = false;
}

/* Round trip minus the earbud's turnaround, both in host ns. */
static double lp_delay(const struct servo_lucky_pi *l,
		       const struct servo_sync *x)
{
	double rate =
	    l->servo.model.valid ? l->servo.model.rate : l->prior_rate;
	double rtt = (double)servo_diff(x->t4_host, x->t1_host);
	double turn = (double)servo_diff(x->t3_ear, x->t2_ear);

	return rtt - turn / (1.0 + rate);
}

/*
 * Floor of the delay window and the lucky band above it (ns); false
 * while the window holds too few delays to tell a lucky exchange.
 */
static bool lp_gate(struct servo_lucky_pi *l, double *ret_floor,
		    double *ret_band)
{
	double res = (double)l->servo.clock_res_ns, floor = INFINITY, q;
	unsigned k;

	if (l->dcount < LP_DWIN_MIN) {
		return false;
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
	return true;
}

static void lp_push_delay(struct servo_lucky_pi *l, double d)
{
	l->dwin[l->dhead] = d;
	l->dhead = (l->dhead + 1) % LP_DWIN;
	l->dcount = MIN(l->dcount + 1, LP_DWIN);
}

/*
 * The long-term floor, for the outlier test only: a window of LP_DWIN
 * exchanges can lack a quick one for a while (on a BLE link its floor is
 * about a connection interval over LP_DWIN above the path's), and an
 * offset is within half its delay above the path's floor of the truth.
 */
static void lp_push_floor(struct servo_lucky_pi *l, uint64_t h, double d)
{
	if (!l->have_fblock) {
		l->have_fblock = true;
		l->fblock_start = h;
		for (unsigned i = 0; i < LP_FLOOR_BLOCKS; i++) {
			l->fblock[i] = INFINITY;
		}
	}
	for (unsigned i = 0;
	     i < LP_FLOOR_BLOCKS &&
	     servo_diff(h, l->fblock_start) >= (int64_t)LP_FLOOR_BLOCK_NS;
	     i++) {
		l->fcur = (l->fcur + 1) % LP_FLOOR_BLOCKS;
		l->fblock[l->fcur] = INFINITY;
		l->fblock_start += LP_FLOOR_BLOCK_NS;
	}
	if (servo_diff(h, l->fblock_start) >= (int64_t)LP_FLOOR_BLOCK_NS) {
		/* A long silence: everything was cleared, start here. */
		l->fblock_start = h;
	}
	l->fblock[l->fcur] = MIN(l->fblock[l->fcur], d);
}

static double lp_floor_long(const struct servo_lucky_pi *l)
{
	double f = INFINITY;

	for (unsigned i = 0; i < LP_FLOOR_BLOCKS; i++) {
		f = MIN(f, l->fblock[i]);
	}
	return f;
}

/* Offset the model predicts at host h (ear - host - base, ns). */
static double lp_predict(const struct servo_lucky_pi *l, uint64_t h)
{
	return l->phase +
	       (l->freq_ff + l->freq_i) * (double)servo_diff(h, l->ref_host);
}

/*
 * The frequency fit: the lucky offsets against host time, as chrony's
 * regression (sourcestats.c, regress.c), with the window shortened by a
 * runs test and by a bias of the newest points.
 */
static void lp_fit(struct servo_lucky_pi *l)
{
	unsigned n = l->rcount;
	unsigned first = (l->rhead + LP_RING - n) % LP_RING;
	uint64_t h0 = l->ring[(l->rhead + LP_RING - 1) % LP_RING].host;
	struct servo_lucky_fit f;

	for (unsigned i = 0; i < n; i++) {
		const struct lp_point *p = &l->ring[(first + i) % LP_RING];

		l->fx[i] = (double)servo_diff(p->host, h0);
		l->fy[i] = p->offset;
		l->fd[i] = p->delay;
	}
	servo_lucky_fit(l->fx, l->fy, l->fd, n,
			LP_GATE_MIN_NS + (double)l->servo.clock_res_ns,
			lp_floor_long(l), l->fw, l->ftmp, &f);
	l->fit = f;
	if (f.ok) {
		/*
		 * What the tests cut goes for good, as chrony's
		 * prune_register(): else the window would grow back over an
		 * old frequency as new points arrive, diluting the new one.
		 */
		l->rcount = f.n;
	}
}

/* The fitted rate, pulled towards the prior by their precisions. */
static double lp_rate_estimate(const struct servo_lucky_pi *l, double *ret_sd)
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

static void lp_seed(struct servo_lucky_pi *l, uint64_t h, double off, double d)
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
static void lp_pi(struct servo_lucky_pi *l, uint64_t h, double measured)
{
	double p = lp_predict(l, h), r = measured - p, kp, ki;

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
	l->freq_i_var += (l->freq_i * l->freq_i - l->freq_i_var) / 16;
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
	double rate_sd, kp, ki, var, hyst;

	m->valid = l->have_phase && l->seen >= l->lock_n;
	if (!l->have_phase) {
		m->settled = false;
		return;
	}
	l->freq_ff = lp_rate_estimate(l, &rate_sd);
	m->ref_host = l->ref_host;
	m->ref_ear =
	    l->ref_host + (uint64_t)l->base + (uint64_t)llround(l->phase);
	m->rate = l->freq_ff + l->freq_i;
	/*
	 * The integrator moves the rate off the fit by noise as much as by
	 * information; count its mean square as error, or the status (and
	 * a holdover that trusts it) would promise several times too much.
	 */
	m->rate_sd = sqrt(rate_sd * rate_sd + l->freq_i_var);
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
	/* Leaving STABLE takes twice the error entering it did, so that
	 * the state does not flap with the noise of the estimate. */
	hyst = m->settled ? 2.0 : 1.0;
	m->settled = m->valid && l->fit.ok && l->fit.n >= LP_FRESH_N &&
		     m->rate_sd < hyst * LP_SETTLED_RATE_SD &&
		     m->offset_sd_ns < hyst * LP_SETTLED_SD_NS;
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
	bool seed = !l->have_phase || !lucky ||
		    (l->accepted < LP_ACQ_N && d < l->seed_delay);

	if (l->have_phase) {
		double dt = (double)servo_diff(h, l->ref_host);

		l->tau_ns =
		    l->tau_ns > 0 ? l->tau_ns + (dt - l->tau_ns) / 8 : dt;
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
	double d = lp_delay(l, x), floor = 0, band = 0, off, floor_long;
	bool judged;

	*ret_residual_ns = 0;
	l->seen++;
	if (!l->have_base) {
		l->have_base = true;
		l->base = servo_ntp_offset(x);
	}
	off = (double)(servo_ntp_offset(x) - l->base);
	judged = lp_gate(l, &floor, &band);
	/*
	 * Every exchange's delay counts for the floor, outliers too: a step
	 * of the earbud clock moves t2 and t3 alike and leaves the delay
	 * alone, and leaving the quickest out whenever the model is off
	 * would raise the floor and lock the model out of its own
	 * correction.
	 */
	lp_push_delay(l, d);
	lp_push_floor(l, h, d);
	floor_long = lp_floor_long(l);
	if (l->have_phase) {
		double r = off - lp_predict(l, h);
		double tol =
		    (double)s->cfg.resync_threshold_ns + l->fit.max_excess / 2 +
		    3.0 * s->model.offset_sd_ns + (double)s->clock_res_ns;

		*ret_residual_ns = llround(r);
		/*
		 * The truth lies within half the excess delay of an NTP
		 * offset (the delay bounds the asymmetry): a sample outside
		 * that band, widened by the threshold and the model's own
		 * uncertainty, disagrees whatever its luck.
		 */
		if (s->model.valid && l->accepted >= LP_FRESH_N &&
		    fabs(r) > (d - floor_long) / 2 + tol) {
			return SERVO_OUTLIER;
		}
	}
	if (l->have_phase && servo_diff(h, l->ref_host) < 0) {
		return SERVO_GATED; /* out of host order */
	}
	if (judged && d - floor <= band) {
		lp_accept(l, h, off, d, true);
		return SERVO_ACCEPT;
	}
	/*
	 * Unlucky, or no window to tell yet. With no phase at all (the
	 * start, a step) any exchange seeds it; while the window fills the
	 * quickest so far re-seeds it, as the NTP clock filter picks the
	 * least-delay sample of the last eight.
	 */
	if (!l->have_phase || (!judged && d < l->seed_delay)) {
		lp_accept(l, h, off, d, false);
		return SERVO_ACCEPT;
	}
	return SERVO_GATED;
}

static const struct servo_ops lucky_pi_ops = {
    .free = lp_free, .reset = lp_reset, .sample = lp_sample, .step = lp_step,
    /* No set_clock_res: the gate reads s->clock_res_ns on every sample. */
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
