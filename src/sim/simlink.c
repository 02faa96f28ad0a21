/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/macro.h"
#include "sim/simlink.h"

/* No interval change in an epoch (simlink_epoch.change_j). */
#define NO_CHANGE UINT64_MAX

/*
 * A stretch of time during which the link is up with one anchor. Events
 * j <= change_j are ci_ns of dongle time apart, later ones new_ci_ns.
 */
struct simlink_epoch {
	uint64_t start_ns; /* host ns, the link came up */
	uint64_t end_ns;   /* host ns, the link dropped; UINT64_MAX never */
	uint64_t phase_ns; /* dongle ns from start to the first event */
	uint64_t ci_ns;    /* dongle ns, the interval the epoch starts with */
	uint64_t change_j; /* last event on the ci_ns grid, or NO_CHANGE */
	uint64_t new_ci_ns;
	uint64_t jitter_key; /* seed of this epoch's anchor jitter draws */
};

struct simlink {
	struct simclock *ear; /* borrowed */
	struct simrng rng;
	uint64_t ci_ns;          /* dongle ns, configured interval */
	double dongle_rate;      /* d dongle / d host */
	double loss;
	enum simlink_jitter jitter;
	double jitter_us;
	double anchor_jitter_ns; /* half width, 0: none */
	bool has_change;         /* a connection parameter update */
	uint64_t change_at_ns;   /* host ns it is asked for */
	uint64_t new_ci_ns;      /* dongle ns */
	uint64_t change_host_ns; /* host ns of the event it took effect */
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
	case SIMLINK_JITTER_PARETO:
		/*
		 * Shape 1.5, mean scale: xm = mean (alpha - 1) / alpha. The
		 * clamp is an outage guard, not physics (see the header).
		 */
		us = simrng_pareto(r, scale_us * (SIMLINK_PARETO_ALPHA - 1.0) /
					      SIMLINK_PARETO_ALPHA,
				   SIMLINK_PARETO_ALPHA);
		us = MIN(us, (double)SIMLINK_JITTER_MAX_NS / 1e3);
		break;
	case SIMLINK_JITTER_USB:
		/* The microframe wait needs the instant: jitter_at_ns. */
		us = simrng_exponential(r, scale_us);
		break;
	}
	return (uint64_t)llround(us * 1e3);
}

uint64_t simlink_jitter_at_ns(struct simrng *r, enum simlink_jitter dist,
			      double scale_us, uint64_t host_ns)
{
	uint64_t t = host_ns + simlink_jitter_ns(r, dist, scale_us);

	if (dist != SIMLINK_JITTER_USB) {
		return t - host_ns;
	}
	/*
	 * The host controller moves data only at (micro)frame starts: USB
	 * 2.0, 8.4.3.1, a high-speed microframe is 125 us. The grid is the
	 * host's: its controller generates the start-of-frame packets.
	 */
	t = (t + SIMLINK_USB_MICROFRAME_NS - 1) / SIMLINK_USB_MICROFRAME_NS *
	    SIMLINK_USB_MICROFRAME_NS;
	return t - host_ns;
}

static const char *const jitter_names[] = {
	[SIMLINK_JITTER_EXPONENTIAL] = "exponential",
	[SIMLINK_JITTER_LOGNORMAL] = "lognormal",
	[SIMLINK_JITTER_UNIFORM] = "uniform",
	[SIMLINK_JITTER_PARETO] = "pareto",
	[SIMLINK_JITTER_USB] = "usb",
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

static int simlink_check(const struct simlink_config *cfg)
{
	if (cfg->ci_us < SIMLINK_CI_MIN_US || cfg->ci_us > SIMLINK_CI_MAX_US ||
	    cfg->anchor_phase_us >= cfg->ci_us) {
		return -EINVAL;
	}
	if (cfg->ci_change_to_us != 0 &&
	    (cfg->ci_change_to_us < SIMLINK_CI_MIN_US ||
	     cfg->ci_change_to_us > SIMLINK_CI_MAX_US)) {
		return -EINVAL;
	}
	/* Under a quarter interval keeps events strictly ordered. */
	if (!(cfg->anchor_jitter_us >= 0.0 &&
	      cfg->anchor_jitter_us <= SIMLINK_ANCHOR_JITTER_MAX_US) ||
	    cfg->anchor_jitter_us * 4.0 >= (double)cfg->ci_us ||
	    (cfg->ci_change_to_us != 0 &&
	     cfg->anchor_jitter_us * 4.0 >= (double)cfg->ci_change_to_us)) {
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
	return 0;
}

/* Dongle ns from the start of epoch e to its nominal event j. */
static double epoch_dongle(const struct simlink_epoch *e, uint64_t j)
{
	if (j <= e->change_j) {
		/* The expression of the unchanged model, bit for bit. */
		return (double)e->phase_ns + (double)j * (double)e->ci_ns;
	}
	return (double)e->phase_ns + (double)e->change_j * (double)e->ci_ns +
	       (double)(j - e->change_j) * (double)e->new_ci_ns;
}

/*
 * Host instant of event j of epoch e: the nominal grid plus the anchor
 * jitter, a uniform draw on [-a, +a] that depends only on (epoch, j), so
 * every question about one event sees one instant. An early first event
 * is held at the epoch's start: nothing happens before the link is up.
 */
static uint64_t epoch_event(const struct simlink *l,
			    const struct simlink_epoch *e, uint64_t j)
{
	uint64_t h = e->start_ns +
		     (uint64_t)llround(epoch_dongle(e, j) / l->dongle_rate);
	struct simrng r;
	int64_t d;

	if (l->anchor_jitter_ns <= 0.0) {
		return h;
	}
	simrng_seed(&r, e->jitter_key, j);
	d = llround((2.0 * simrng_uniform(&r) - 1.0) * l->anchor_jitter_ns);
	if (d < 0 && h - e->start_ns < (uint64_t)-d) {
		return e->start_ns;
	}
	return h + (uint64_t)d;
}

/* Index of the first event of epoch e at or after host_ns. */
static uint64_t epoch_first(const struct simlink *l,
			    const struct simlink_epoch *e, uint64_t host_ns)
{
	double dongle, jd, at_change;
	uint64_t j;

	if (host_ns <= e->start_ns) {
		return 0;
	}
	dongle = (double)(host_ns - e->start_ns) * l->dongle_rate;
	at_change = e->change_j == NO_CHANGE ? INFINITY :
					       epoch_dongle(e, e->change_j);
	if (dongle > at_change) {
		jd = (double)e->change_j +
		     ceil((dongle - at_change) / (double)e->new_ci_ns);
	} else {
		jd = ceil((dongle - (double)e->phase_ns) / (double)e->ci_ns);
	}
	j = jd > 0.0 ? (uint64_t)jd : 0;
	/*
	 * The double guess may be one off after rounding to whole ns or by
	 * the anchor jitter (under a quarter interval).
	 */
	while (epoch_event(l, e, j) < host_ns) {
		j++;
	}
	while (j > 0 && epoch_event(l, e, j - 1) >= host_ns) {
		j--;
	}
	return j;
}

/*
 * Put the interval change into epoch e if its first event at or after
 * change_at_ns (the old grid's last) happens while e is up. BLE moves
 * to the new interval at an "instant" event (Core 5.4, Vol 6, Part B,
 * 5.1.1): the next event is one new interval after it.
 */
static void epoch_change(struct simlink *l, struct simlink_epoch *e)
{
	uint64_t j = epoch_first(l, e, l->change_at_ns);
	uint64_t h = epoch_event(l, e, j);

	if (h >= e->end_ns) {
		return;
	}
	e->change_j = j;
	e->new_ci_ns = l->new_ci_ns;
	l->change_host_ns = h;
}

static void simlink_epochs(struct simlink *l, const struct simlink_config *cfg)
{
	struct simlink_epoch *e0 = &l->epoch[0], *e1 = &l->epoch[1];
	/* Not l->rng: its draws stay those of the model without jitter. */
	struct simrng keys;
	uint64_t key;

	simrng_seed(&keys, cfg->seed, 2);
	key = simrng_next(&keys);
	*e0 = (struct simlink_epoch){
		.start_ns = cfg->start_host_ns,
		.end_ns = cfg->drop_for_ns > 0 ? cfg->drop_at_ns : UINT64_MAX,
		.phase_ns = (uint64_t)cfg->anchor_phase_us * NSEC_PER_USEC,
		.ci_ns = l->ci_ns,
		.change_j = NO_CHANGE,
		.jitter_key = key,
	};
	l->n_epochs = 1;
	if (l->has_change) {
		epoch_change(l, e0);
	}
	if (cfg->drop_for_ns == 0) {
		return;
	}
	/*
	 * The reconnected link's anchor is wherever the new connection
	 * lands: drawn now so it does not depend on the order of later
	 * questions. It keeps an interval change already made.
	 */
	*e1 = (struct simlink_epoch){
		.start_ns = cfg->drop_at_ns + cfg->drop_for_ns,
		.end_ns = UINT64_MAX,
		.ci_ns = e0->change_j != NO_CHANGE ? l->new_ci_ns : l->ci_ns,
		.change_j = NO_CHANGE,
		.jitter_key = key ^ 1,
	};
	e1->phase_ns = simrng_below(&l->rng, e1->ci_ns);
	l->n_epochs = 2;
	if (l->has_change && e0->change_j == NO_CHANGE) {
		epoch_change(l, e1);
	}
}

int simlink_new(const struct simlink_config *cfg, struct simclock *ear,
		struct simlink **ret)
{
	struct simlink *l;
	int r;

	if (!ear) {
		return -EINVAL;
	}
	r = simlink_check(cfg);
	if (r < 0) {
		return r;
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
	l->anchor_jitter_ns = cfg->anchor_jitter_us * 1e3;
	l->has_change = cfg->ci_change_to_us != 0;
	l->change_at_ns = cfg->ci_change_at_ns;
	l->new_ci_ns = (uint64_t)cfg->ci_change_to_us * NSEC_PER_USEC;
	simlink_epochs(l, cfg);
	*ret = l;
	return 0;
}

struct simlink *simlink_free(struct simlink *l)
{
	free(l);
	return NULL;
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

	at_dongle = send_host_ns + SIMLINK_HCI_DELAY_NS;
	at_dongle += simlink_jitter_at_ns(&l->rng, l->jitter, l->jitter_us,
					  at_dongle);
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
	rx = event + SIMLINK_HCI_DELAY_NS;
	rx += simlink_jitter_at_ns(&l->rng, l->jitter, l->jitter_us, rx);
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

uint32_t simlink_ci_us(const struct simlink *l, uint64_t host_ns)
{
	uint64_t ci_ns = l->ci_ns;

	if (l->has_change && host_ns >= l->change_host_ns) {
		ci_ns = l->new_ci_ns;
	}
	return (uint32_t)(ci_ns / NSEC_PER_USEC);
}

int simlink_ci_change(const struct simlink *l, uint64_t *ret_instant_host_ns)
{
	if (!l->has_change) {
		return -ENOENT;
	}
	*ret_instant_host_ns = l->change_host_ns;
	return 0;
}

void simlink_stats(const struct simlink *l, struct simlink_stats *ret)
{
	*ret = l->stats;
}
