/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/macro.h"
#include "sim/simlink.h"

/* A stretch of time during which the link is up with one anchor. */
struct simlink_epoch {
	uint64_t start_ns; /* host ns, the link came up */
	uint64_t end_ns;   /* host ns, the link dropped; UINT64_MAX never */
	uint64_t phase_ns; /* dongle ns from start to the first event */
};

struct simlink {
	struct simclock *ear; /* borrowed */
	struct simrng rng;
	uint64_t ci_ns;          /* dongle ns */
	double dongle_rate;      /* d dongle / d host */
	double loss;
	enum simlink_jitter jitter;
	double jitter_us;
	struct simlink_epoch epoch[2];
	unsigned n_epochs;
	struct simlink_stats stats;
};

uint64_t simlink_jitter_ns(struct simrng *r, enum simlink_jitter dist,
			   double scale_us)
{
	double us = 0.0;

	if (scale_us <= 0.0) {
		return 0;
	}
	switch (dist) {
	case SIMLINK_JITTER_EXPONENTIAL:
		us = simrng_exponential(r, scale_us);
		break;
	case SIMLINK_JITTER_LOGNORMAL:
		us = simrng_lognormal(r, scale_us);
		break;
	case SIMLINK_JITTER_UNIFORM:
		us = simrng_uniform(r) * scale_us;
		break;
	}
	return (uint64_t)llround(us * 1e3);
}

static const char *const jitter_names[] = {
	[SIMLINK_JITTER_EXPONENTIAL] = "exponential",
	[SIMLINK_JITTER_LOGNORMAL] = "lognormal",
	[SIMLINK_JITTER_UNIFORM] = "uniform",
};

const char *simlink_jitter_name(enum simlink_jitter dist)
{
	if ((unsigned)dist >= ARRAY_SIZE(jitter_names)) {
		return "invalid";
	}
	return jitter_names[dist];
}

int simlink_jitter_from_string(const char *name, enum simlink_jitter *ret)
{
	for (unsigned i = 0; i < ARRAY_SIZE(jitter_names); i++) {
		if (strcmp(name, jitter_names[i]) == 0) {
			*ret = (enum simlink_jitter)i;
			return 0;
		}
	}
	return -EINVAL;
}

int simlink_new(const struct simlink_config *cfg, struct simclock *ear,
		struct simlink **ret)
{
	struct simlink *l;

	if (!ear || cfg->ci_us < SIMLINK_CI_MIN_US ||
	    cfg->ci_us > SIMLINK_CI_MAX_US ||
	    cfg->anchor_phase_us >= cfg->ci_us) {
		return -EINVAL;
	}
	if (!(cfg->loss >= 0.0 && cfg->loss <= 0.9)) {
		return -EINVAL;
	}
	if (!(cfg->jitter_us >= 0.0 && cfg->jitter_us <= 1e6) ||
	    (unsigned)cfg->jitter >= ARRAY_SIZE(jitter_names)) {
		return -EINVAL;
	}
	if (!isfinite(cfg->dongle_ppm) || fabs(cfg->dongle_ppm) > 1000.0) {
		return -EINVAL;
	}
	if (cfg->drop_for_ns > 0 &&
	    (cfg->drop_at_ns < cfg->start_host_ns ||
	     cfg->drop_at_ns > UINT64_MAX - cfg->drop_for_ns)) {
		return -EINVAL;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		return -ENOMEM;
	}
	l->ear = ear;
	simrng_seed(&l->rng, cfg->seed, 1);
	l->ci_ns = (uint64_t)cfg->ci_us * NSEC_PER_USEC;
	l->dongle_rate = 1.0 + cfg->dongle_ppm * 1e-6;
	l->loss = cfg->loss;
	l->jitter = cfg->jitter;
	l->jitter_us = cfg->jitter_us;
	l->epoch[0].start_ns = cfg->start_host_ns;
	l->epoch[0].end_ns = UINT64_MAX;
	l->epoch[0].phase_ns = (uint64_t)cfg->anchor_phase_us * NSEC_PER_USEC;
	l->n_epochs = 1;
	if (cfg->drop_for_ns > 0) {
		/*
		 * The reconnected link's anchor is wherever the new
		 * connection lands: drawn now so it does not depend on the
		 * order of later questions.
		 */
		l->epoch[0].end_ns = cfg->drop_at_ns;
		l->epoch[1].start_ns = cfg->drop_at_ns + cfg->drop_for_ns;
		l->epoch[1].end_ns = UINT64_MAX;
		l->epoch[1].phase_ns = simrng_below(&l->rng, l->ci_ns);
		l->n_epochs = 2;
	}
	*ret = l;
	return 0;
}

struct simlink *simlink_free(struct simlink *l)
{
	free(l);
	return NULL;
}

/* Host instant of event j of epoch e. */
static uint64_t epoch_event(const struct simlink *l,
			    const struct simlink_epoch *e, uint64_t j)
{
	double dongle = (double)e->phase_ns + (double)j * (double)l->ci_ns;

	return e->start_ns + (uint64_t)llround(dongle / l->dongle_rate);
}

/* Index of the first event of epoch e at or after host_ns. */
static uint64_t epoch_first(const struct simlink *l,
			    const struct simlink_epoch *e, uint64_t host_ns)
{
	double dongle, jd;
	uint64_t j;

	if (host_ns <= e->start_ns) {
		return 0;
	}
	dongle = (double)(host_ns - e->start_ns) * l->dongle_rate;
	jd = ceil((dongle - (double)e->phase_ns) / (double)l->ci_ns);
	j = jd > 0.0 ? (uint64_t)jd : 0;
	/* The double guess may be one off after rounding to whole ns. */
	while (epoch_event(l, e, j) < host_ns) {
		j++;
	}
	while (j > 0 && epoch_event(l, e, j - 1) >= host_ns) {
		j--;
	}
	return j;
}

/* The epoch in force at host_ns, or NULL while the link is down. */
static const struct simlink_epoch *simlink_epoch_at(const struct simlink *l,
						    uint64_t host_ns)
{
	for (unsigned i = l->n_epochs; i-- > 0;) {
		if (host_ns >= l->epoch[i].start_ns || i == 0) {
			if (host_ns >= l->epoch[i].end_ns) {
				return NULL;
			}
			return &l->epoch[i];
		}
	}
	return NULL;
}

bool simlink_up(const struct simlink *l, uint64_t host_ns)
{
	return simlink_epoch_at(l, host_ns) != NULL;
}

int simlink_drop(const struct simlink *l, uint64_t *ret_down_ns,
		 uint64_t *ret_up_ns)
{
	if (l->n_epochs < 2) {
		return -ENOENT;
	}
	*ret_down_ns = l->epoch[0].end_ns;
	*ret_up_ns = l->epoch[1].start_ns;
	return 0;
}

int simlink_next_event(const struct simlink *l, uint64_t host_ns,
		       uint64_t *ret_event_host_ns)
{
	const struct simlink_epoch *e = simlink_epoch_at(l, host_ns);
	uint64_t h;

	if (!e) {
		return -ENOTCONN;
	}
	h = epoch_event(l, e, epoch_first(l, e, host_ns));
	if (h >= e->end_ns) {
		return -ENOTCONN;
	}
	*ret_event_host_ns = h;
	return 0;
}

/*
 * Carry one packet that is ready at the radio at host_ns: the first event
 * at or after it that does not lose it. Returns 0 and the event's host
 * instant, -ENOTCONN or -ETIMEDOUT.
 */
static int simlink_carry(struct simlink *l, uint64_t host_ns,
			 uint64_t *ret_event_ns)
{
	const struct simlink_epoch *e = simlink_epoch_at(l, host_ns);
	uint64_t j;

	if (!e) {
		l->stats.refused++;
		return -ENOTCONN;
	}
	j = epoch_first(l, e, host_ns);
	for (unsigned tries = 0; tries < SIMLINK_MAX_TRIES; tries++, j++) {
		uint64_t h = epoch_event(l, e, j);

		if (h >= e->end_ns) {
			l->stats.refused++;
			return -ENOTCONN;
		}
		if (l->loss > 0.0 && simrng_uniform(&l->rng) < l->loss) {
			l->stats.lost_tries++;
			continue;
		}
		l->stats.packets++;
		*ret_event_ns = h;
		return 0;
	}
	l->stats.refused++;
	return -ETIMEDOUT;
}

int simlink_downlink(struct simlink *l, uint64_t send_host_ns,
		     uint64_t *ret_event_host_ns, uint64_t *ret_t2_ear_ns)
{
	uint64_t at_dongle, event, ear;
	int r;

	at_dongle = send_host_ns + SIMLINK_HCI_DELAY_NS +
		    simlink_jitter_ns(&l->rng, l->jitter, l->jitter_us);
	r = simlink_carry(l, at_dongle, &event);
	if (r < 0) {
		return r;
	}
	r = simclock_ear_of_host(l->ear, event, &ear);
	if (r < 0) {
		return r;
	}
	*ret_event_host_ns = event;
	*ret_t2_ear_ns = ear + SIMLINK_AIR_NS;
	return 0;
}

int simlink_uplink(struct simlink *l, uint64_t ready_host_ns,
		   uint64_t *ret_event_host_ns, uint64_t *ret_t3_ear_ns,
		   uint64_t *ret_rx_host_ns)
{
	uint64_t event, ear, rx;
	int r;

	r = simlink_carry(l, ready_host_ns, &event);
	if (r < 0) {
		return r;
	}
	r = simclock_ear_of_host(l->ear, event, &ear);
	if (r < 0) {
		return r;
	}
	rx = event + SIMLINK_HCI_DELAY_NS +
	     simlink_jitter_ns(&l->rng, l->jitter, l->jitter_us);
	if (ret_event_host_ns) {
		*ret_event_host_ns = event;
	}
	if (ret_t3_ear_ns) {
		*ret_t3_ear_ns = ear;
	}
	if (ret_rx_host_ns) {
		*ret_rx_host_ns = rx;
	}
	return 0;
}

void simlink_stats(const struct simlink *l, struct simlink_stats *ret)
{
	*ret = l->stats;
}
