/* SPDX-License-Identifier: MIT */
/*
 * SERVO_MEDIAN_IIR: the commonly published filter for offset estimates
 * from noisy exchanges, and the baseline ttws has to beat. The NTP
 * offset of each exchange (RFC 5905, 8) goes through a median of the last
 * seven (which removes isolated spikes), then a first-order IIR low-pass
 * with alpha = 0.15 (which averages what is left). The rate is the same
 * crude long-baseline slope as SERVO_NAIVE. It cannot see that the noise
 * is one-sided, so it converges to the median of the forward wait, not to
 * its floor, and that median depends on each link's interval.
 */
#include <math.h>
#include <stdlib.h>

#include "core/macro.h"
#include "core/servo_private.h"

#define MEDIAN_N 7
#define IIR_ALPHA 0.15
/* Lock once the median has this many inputs. */
#define MEDIAN_LOCK_N 4
/* No outlier verdicts before the filter has settled for this long. */
#define MEDIAN_FRESH_N 16

struct servo_median_iir {
	struct servo servo;
	int64_t theta[MEDIAN_N]; /* offsets relative to base, ns */
	unsigned head;
	unsigned count;
	unsigned fresh;
	/*
	 * The absolute offset (ear - host) is arbitrary: keep the filter
	 * relative to the first offset seen so that it runs on small
	 * numbers.
	 */
	int64_t base;
	double iir;	  /* filtered offset relative to base, ns */
	double spread_ns; /* EWMA of |offset - model|, ns */
	struct servo_crude_rate crude;
};

static struct servo_median_iir *to_median_iir(struct servo *s)
{
	return container_of(s, struct servo_median_iir, servo);
}

static void median_iir_free(struct servo *s)
{
	free(to_median_iir(s));
}

static void median_iir_reset(struct servo *s)
{
	struct servo_median_iir *m = to_median_iir(s);

	m->head = 0;
	m->count = 0;
	m->fresh = 0;
	m->iir = 0;
	m->spread_ns = 0;
	servo_crude_rate_reset(&m->crude);
}

static void median_iir_step(struct servo *s)
{
	struct servo_median_iir *m = to_median_iir(s);
	struct servo_crude_rate crude = m->crude;

	median_iir_reset(s);
	m->crude = crude;
}

static enum servo_verdict median_iir_sample(struct servo *s,
					    const struct servo_sync *x,
					    int64_t *ret_residual_ns)
{
	struct servo_median_iir *m = to_median_iir(s);
	int64_t theta = servo_ntp_offset(x);
	uint64_t mid = servo_ntp_midpoint(x);
	int64_t tmp[MEDIAN_N];
	double med;

	*ret_residual_ns = 0;
	if (m->count == 0) {
		m->base = theta;
	}
	if (s->model.valid) {
		int64_t r = servo_diff(mid + (uint64_t)theta,
				       servo_model_map(&s->model, mid));

		*ret_residual_ns = r;
		/* As in servo_naive.c: a jump beyond the offsets' scatter. */
		if (m->fresh >= MEDIAN_FRESH_N &&
		    fabs((double)r) > (double)s->cfg.resync_threshold_ns +
					  4.0 * m->spread_ns) {
			return SERVO_OUTLIER;
		}
		m->spread_ns += IIR_ALPHA * (fabs((double)r) - m->spread_ns);
	}

	m->theta[m->head] = theta - m->base;
	m->head = (m->head + 1) % MEDIAN_N;
	m->count = MIN(m->count + 1, MEDIAN_N);
	m->fresh++;
	/* Insertion sort: seven values. */
	for (unsigned i = 0; i < m->count; i++) {
		unsigned j = i;

		for (; j > 0 && tmp[j - 1] > m->theta[i]; j--) {
			tmp[j] = tmp[j - 1];
		}
		tmp[j] = m->theta[i];
	}
	med = (double)tmp[m->count / 2];
	if (m->fresh == 1) {
		m->iir = med;
	} else {
		m->iir += IIR_ALPHA * (med - m->iir);
	}

	/* The filter output stands for the newest midpoint. */
	s->model.ref_host = mid;
	s->model.ref_ear = mid + (uint64_t)m->base + (uint64_t)llround(m->iir);
	if (m->fresh >= MEDIAN_FRESH_N) {
		servo_crude_rate_update(&m->crude, s->model.ref_host,
					s->model.ref_ear);
	}
	s->model.rate = m->crude.have_rate ? m->crude.rate : 0.0;
	s->model.valid = m->fresh >= MEDIAN_LOCK_N;
	s->model.settled = m->crude.have_rate;
	/*
	 * Roughly: the offsets' sigma, through a first-order IIR
	 * (variance alpha / (2 - alpha)); the median's gain is ignored.
	 */
	s->model.offset_sd_ns =
	    1.25 * m->spread_ns * sqrt(IIR_ALPHA / (2.0 - IIR_ALPHA));
	s->model.rate_sd =
	    m->crude.have_rate
		? M_SQRT2 * s->model.offset_sd_ns / m->crude.span_ns
		: SERVO_RATE_SD_UNKNOWN;
	return SERVO_ACCEPT;
}

static const struct servo_ops median_iir_ops = {
    .free = median_iir_free,
    .reset = median_iir_reset,
    .sample = median_iir_sample,
    .step = median_iir_step,
};

struct servo *servo_median_iir_new(const struct servo_config *cfg)
{
	struct servo_median_iir *m = calloc(1, sizeof(*m));

	if (!m) {
		return NULL;
	}
	m->servo.ops = &median_iir_ops;
	return &m->servo;
}
