/* SPDX-License-Identifier: MIT */
/*
 * Servo interface, state machine and the helpers the estimators share.
 *
 * The state machine follows linuxptp's servo (servo.c, pi.c): unlocked
 * until the estimator has a model, locked once it has, stable once the
 * estimator says its errors are small. The step rule is DESIGN.md's: two
 * consecutive residuals over resync_threshold_ns step the offset (one is
 * noise, two in a row is the clock). What counts as a residual over the
 * threshold is the estimator's call, because one-sided delay noise means
 * different things to different estimators (see servo_ttws.c). Holdover
 * is entered from servo_tick() when samples stop and left by the next
 * sample; the model meanwhile extrapolates on its rate.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/macro.h"
#include "core/servo.h"
#include "core/servo_private.h"

static const char *const servo_kind_names[] = {
    [SERVO_NAIVE] = "naive",
    [SERVO_MEDIAN_IIR] = "median-iir",
    [SERVO_TTWS] = "ttws",
    [SERVO_LUCKY_PI] = "lucky-pi",
};

static const char *const servo_state_names[] = {
    [SERVO_UNLOCKED] = "unlocked",
    [SERVO_LOCKED] = "locked",
    [SERVO_STABLE] = "stable",
    [SERVO_HOLDOVER] = "holdover",
};

/* Bluetooth LE connection intervals: Core 5.4, Vol 6, Part B, 4.5.1. */
#define SERVO_CI_US_MAX UINT32_C(4000000)
/* A coarser earbud tick than 1 ms could not keep audio in sync anyway. */
#define SERVO_CLOCK_RES_NS_MAX UINT32_C(1000000)

void servo_config_default(struct servo_config *ret)
{
	if (!ret) {
		return;
	}
	*ret = (struct servo_config){
	    .kind = SERVO_TTWS,
	    .resync_threshold_ns = 15 * NSEC_PER_USEC,
	    .holdover_after_ns = NSEC_PER_SEC,
	    .ci_us = 7500,
	};
}

static bool servo_config_valid(const struct servo_config *cfg)
{
	switch (cfg->kind) {
	case SERVO_NAIVE:
	case SERVO_MEDIAN_IIR:
	case SERVO_TTWS:
	case SERVO_LUCKY_PI:
		break;
	default:
		/* An int from a config file, not necessarily one of ours. */
		return false;
	}
	if (cfg->resync_threshold_ns == 0 ||
	    cfg->resync_threshold_ns > NSEC_PER_SEC) {
		return false;
	}
	if (cfg->holdover_after_ns == 0) {
		return false;
	}
	if (cfg->ci_us == 0 || cfg->ci_us > SERVO_CI_US_MAX) {
		return false;
	}
	return true;
}

int servo_new(const struct servo_config *cfg, struct servo **ret)
{
	struct servo *s = NULL;

	if (!cfg || !ret || !servo_config_valid(cfg)) {
		return -EINVAL;
	}
	switch (cfg->kind) {
	case SERVO_NAIVE:
		s = servo_naive_new(cfg);
		break;
	case SERVO_MEDIAN_IIR:
		s = servo_median_iir_new(cfg);
		break;
	case SERVO_TTWS:
		s = servo_ttws_new(cfg);
		break;
	case SERVO_LUCKY_PI:
		s = servo_lucky_pi_new(cfg);
		break;
	}
	if (!s) {
		return -ENOMEM;
	}
	s->cfg = *cfg;
	s->state = SERVO_UNLOCKED;
	s->clock_res_ns = 1;
	*ret = s;
	return 0;
}

struct servo *servo_free(struct servo *s)
{
	if (s) {
		if (s->peer) {
			s->peer->peer = NULL;
		}
		s->ops->free(s);
	}
	return NULL;
}

int servo_pair(struct servo *a, struct servo *b)
{
	if (!a || !b || a == b || a->cfg.kind != b->cfg.kind) {
		return -EINVAL;
	}
	if (a->peer) {
		a->peer->peer = NULL;
	}
	if (b->peer) {
		b->peer->peer = NULL;
	}
	a->peer = b;
	b->peer = a;
	return 0;
}

int servo_set_ci(struct servo *s, uint32_t ci_us)
{
	if (!s || ci_us == 0 || ci_us > SERVO_CI_US_MAX) {
		return -EINVAL;
	}
	s->cfg.ci_us = ci_us;
	if (s->ops->set_ci) {
		s->ops->set_ci(s);
	}
	return 0;
}

int servo_set_clock_res(struct servo *s, uint32_t res_ns)
{
	if (!s || res_ns == 0 || res_ns > SERVO_CLOCK_RES_NS_MAX) {
		return -EINVAL;
	}
	s->clock_res_ns = res_ns;
	if (s->ops->set_clock_res) {
		s->ops->set_clock_res(s);
	}
	return 0;
}

/*
 * An earbud stamp truncated to its tick is early by [0, res) ns, res/2
 * on average: move it to the middle of its tick (servo.h,
 * servo_set_clock_res()). Exact stamps (res 1) are left alone.
 */
static uint64_t servo_unbias_ear(const struct servo *s, uint64_t ear_ns)
{
	return s->clock_res_ns > 1 ? ear_ns + s->clock_res_ns / 2 : ear_ns;
}

int servo_set_limits(struct servo *s, uint64_t resync_threshold_ns,
		     uint64_t holdover_after_ns)
{
	if (!s || resync_threshold_ns == 0 || holdover_after_ns == 0) {
		return -EINVAL;
	}
	/* Both are read where they are used, so the next sample and the
	 * next tick obey them; the model is untouched. */
	s->cfg.resync_threshold_ns = resync_threshold_ns;
	s->cfg.holdover_after_ns = holdover_after_ns;
	return 0;
}

void servo_reset(struct servo *s)
{
	if (!s) {
		return;
	}
	s->ops->reset(s);
	s->model.valid = false;
	s->model.settled = false;
	s->state = SERVO_UNLOCKED;
	s->have_last = false;
	s->outliers_in_row = 0;
	s->last_residual_ns = 0;
}

static void servo_update_state(struct servo *s)
{
	if (!s->model.valid) {
		s->state = SERVO_UNLOCKED;
	} else if (s->model.settled) {
		s->state = SERVO_STABLE;
	} else {
		s->state = SERVO_LOCKED;
	}
}

static void servo_count(struct servo *s, enum servo_verdict v)
{
	switch (v) {
	case SERVO_ACCEPT:
		s->samples++;
		break;
	case SERVO_GATED:
	case SERVO_OUTLIER:
		s->rejected++;
		break;
	}
}

int servo_sync_sample(struct servo *s, uint64_t t1_host, uint64_t t2_ear,
		      uint64_t t3_ear, uint64_t t4_host)
{
	struct servo_sync x = {
	    .t1_host = t1_host,
	    .t2_ear = t2_ear,
	    .t3_ear = t3_ear,
	    .t4_host = t4_host,
	};
	enum servo_verdict v;
	int64_t res = 0;

	if (!s || t4_host < t1_host || t3_ear < t2_ear) {
		return -EINVAL;
	}
	/* Both ear stamps move alike, so t3 - t2 (the turnaround) stays. */
	x.t2_ear = servo_unbias_ear(s, t2_ear);
	x.t3_ear = servo_unbias_ear(s, t3_ear);

	v = s->ops->sample(s, &x, &res);
	s->last_residual_ns = res;
	servo_count(s, v);
	s->last_host = s->have_last ? MAX(s->last_host, t4_host) : t4_host;
	s->have_last = true;

	if (v != SERVO_OUTLIER) {
		s->outliers_in_row = 0;
	} else if (++s->outliers_in_row < 2) {
		s->pending = x;
	} else {
		/*
		 * Two in a row: the earbud clock moved, not the delay. Step
		 * (linuxptp keeps the frequency across a step, so do we) and
		 * re-acquire from the two samples that showed it.
		 */
		s->ops->step(s);
		s->steps++;
		s->outliers_in_row = 0;
		servo_count(s, s->ops->sample(s, &s->pending, &res));
		servo_count(s, s->ops->sample(s, &x, &res));
	}
	servo_update_state(s);
	return 0;
}

int servo_forward_sample(struct servo *s, uint64_t tx_host, uint64_t rx_ear)
{
	if (!s) {
		return -EINVAL;
	}
	/* rx_ear is an earbud stamp too, truncated alike. */
	rx_ear = servo_unbias_ear(s, rx_ear);
	s->forward_samples++;
	if (s->model.valid) {
		/*
		 * Causality: a frame cannot arrive before it left. The
		 * forward delay is at least the HCI and air time, so a
		 * frame the model puts earlier than its own departure by
		 * more than the threshold says the model runs ahead. It is
		 * only counted: the forward floor depends on the connection
		 * interval and phase of each link, so letting it move the
		 * model would bias the inter-ear difference (DESIGN.md,
		 * "What this model teaches").
		 */
		int64_t r =
		    servo_diff(rx_ear, servo_model_map(&s->model, tx_host));

		if (r < -(int64_t)s->cfg.resync_threshold_ns) {
			s->forward_violations++;
		}
	}
	if (s->ops->forward) {
		s->ops->forward(s, tx_host, rx_ear);
	}
	return 0;
}

void servo_tick(struct servo *s, uint64_t now_host)
{
	if (!s || !s->model.valid || !s->have_last) {
		return;
	}
	if (now_host > s->last_host &&
	    now_host - s->last_host > s->cfg.holdover_after_ns) {
		s->state = SERVO_HOLDOVER;
	}
}

uint64_t servo_model_map(const struct servo_model *m, uint64_t host_ns)
{
	int64_t d = servo_diff(host_ns, m->ref_host);

	return m->ref_ear + (uint64_t)d + (uint64_t)llround(m->rate * d);
}

int servo_map(const struct servo *s, uint64_t host_ns, uint64_t *ret_ear)
{
	if (!s || !ret_ear) {
		return -EINVAL;
	}
	if (!s->model.valid) {
		return -EAGAIN;
	}
	*ret_ear = servo_model_map(&s->model, host_ns);
	return 0;
}

double servo_rate(const struct servo *s)
{
	if (!s || !s->model.valid) {
		return 1.0;
	}
	return 1.0 + s->model.rate;
}

void servo_status(const struct servo *s, struct servo_status *ret)
{
	if (!s || !ret) {
		return;
	}
	*ret = (struct servo_status){
	    .state = s->state,
	    .samples = s->samples,
	    .rejected = s->rejected,
	    .steps = s->steps,
	    .last_residual_ns = s->last_residual_ns,
	    .forward_samples = s->forward_samples,
	    .forward_violations = s->forward_violations,
	};
	if (s->model.valid) {
		ret->offset_ns =
		    servo_diff(s->model.ref_ear, s->model.ref_host);
		ret->rate_ppb = llround(s->model.rate * 1e9);
		ret->offset_sd_ns = (uint64_t)llround(s->model.offset_sd_ns);
		ret->rate_sd_ppb = (uint64_t)llround(s->model.rate_sd * 1e9);
	}
}

const char *servo_kind_name(enum servo_kind k)
{
	if ((unsigned)k >= ARRAY_SIZE(servo_kind_names)) {
		return NULL;
	}
	return servo_kind_names[k];
}

int servo_kind_from_string(const char *name, enum servo_kind *ret)
{
	if (!name || !ret) {
		return -EINVAL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(servo_kind_names); i++) {
		if (strcmp(name, servo_kind_names[i]) == 0) {
			*ret = (enum servo_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *servo_state_name(enum servo_state st)
{
	if ((unsigned)st >= ARRAY_SIZE(servo_state_names)) {
		return NULL;
	}
	return servo_state_names[st];
}

int64_t servo_ntp_offset(const struct servo_sync *x)
{
	/*
	 * ((t2 - t1) + (t3 - t4)) / 2 = (t3 - t4) + ((t4 - t1) - (t3 - t2)) /
	 * 2: one possibly large clock difference plus half of the round trip
	 * minus the turnaround, which is small.
	 */
	int64_t rtt = servo_diff(x->t4_host, x->t1_host);
	int64_t turn = servo_diff(x->t3_ear, x->t2_ear);

	return servo_diff(x->t3_ear, x->t4_host) + (rtt - turn) / 2;
}

uint64_t servo_ntp_midpoint(const struct servo_sync *x)
{
	return x->t1_host + (x->t4_host - x->t1_host) / 2;
}

void servo_crude_rate_reset(struct servo_crude_rate *c)
{
	*c = (struct servo_crude_rate){0};
}

void servo_crude_rate_update(struct servo_crude_rate *c, uint64_t host_ns,
			     uint64_t ear_ns)
{
	int64_t dh;

	if (!c->have_anchor) {
		c->have_anchor = true;
		c->anchor_host = host_ns;
		c->anchor_ear = ear_ns;
		return;
	}
	dh = servo_diff(host_ns, c->anchor_host);
	if (dh < (int64_t)SERVO_CRUDE_RATE_SPAN_NS) {
		return;
	}
	c->have_rate = true;
	c->rate = (double)(servo_diff(ear_ns, c->anchor_ear) - dh) / (double)dh;
	c->span_ns = (double)dh;
}

/*
 * Hoare's selection (quickselect, Wirth's formulation), in place, with a
 * median-of-three pivot (Sedgewick) so that ordered runs, which a window
 * of delays has, stay linear. After the partition pass v[lo..j] <= pivot
 * <= v[i..hi]; anything between j and i equals the pivot, so k there is
 * done.
 */
double servo_select(double *v, unsigned n, unsigned k)
{
	int lo = 0, hi = (int)n - 1, kk = (int)k;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2, i = lo, j = hi;
		double a = v[lo], b = v[mid], c = v[hi], pivot;

		if (a < b) {
			pivot = b < c ? b : (a < c ? c : a);
		} else {
			pivot = a < c ? a : (b < c ? c : b);
		}
		while (i <= j) {
			while (v[i] < pivot) {
				i++;
			}
			while (v[j] > pivot) {
				j--;
			}
			if (i <= j) {
				double t = v[i];

				v[i] = v[j];
				v[j] = t;
				i++;
				j--;
			}
		}
		if (kk <= j) {
			hi = j;
		} else if (kk >= i) {
			lo = i;
		} else {
			break;
		}
	}
	return v[kk];
}

double servo_select_near(const double *src, double *tmp, unsigned n, unsigned k,
			 double lo, double hi)
{
	unsigned below = 0, m = 0;

	/* One pass: count what is below the band, keep what is inside. */
	for (unsigned i = 0; i < n; i++) {
		if (src[i] < lo) {
			below++;
		} else if (src[i] <= hi) {
			tmp[m++] = src[i];
		}
	}
	if (k >= below && k < below + m) {
		return servo_select(tmp, m, k - below);
	}
	memcpy(tmp, src, n * sizeof(*tmp));
	return servo_select(tmp, n, k);
}
