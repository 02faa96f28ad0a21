/* SPDX-License-Identifier: MIT */
/*
 * A link's servos: one per estimator, all fed the same samples so that a
 * live change of [servo] estimator takes one already locked
 * (link_reconf()); pairing with the other ear's; holdover ticks; and the
 * journal events of the configured servo's state (lock, unlock, step,
 * holdover). RT thread after link_new().
 */
#include <stdint.h>

#include "core/macro.h"
#include "core/probe.h"
#include "core/servo.h"
#include "daemon/link_private.h"
#include "daemon/log.h"

int link_pair(struct link *a, struct link *b)
{
	unsigned k;
	int r;

	link_each_servo(a, k) {
		r = servo_pair(a->kinds[k], b->kinds[k]);
		if (r < 0) {
			return r;
		}
	}
	return 0;
}

const struct servo *link_servo(const struct link *l)
{
	return l->servo;
}

const struct servo *link_shadow(const struct link *l)
{
	return l->shadow;
}

/* The journal event for a change of the configured servo's state. */
static enum log_event link_servo_event(enum servo_state from,
				       enum servo_state to, int *ret_level)
{
	switch (to) {
	case SERVO_LOCKED:
	case SERVO_STABLE:
		*ret_level = from == SERVO_HOLDOVER ? LOG_NOTICE : LOG_INFO;
		return LOG_EV_SERVO_LOCK;
	case SERVO_UNLOCKED:
		*ret_level = LOG_WARNING;
		return LOG_EV_SERVO_UNLOCK;
	case SERVO_HOLDOVER:
		*ret_level = LOG_WARNING;
		return LOG_EV_SERVO_HOLDOVER;
	}
	*ret_level = LOG_INFO;
	return LOG_EV_NONE;
}

void link_servo_note(struct link *l)
{
	struct servo_status ss;
	int level;
	enum log_event ev;

	servo_status(l->servo, &ss);
	if (ss.steps > l->seen_steps) {
		log_rt_pair_event(
		    LOG_NOTICE, LOG_EV_SERVO_STEP,
		    log_link_pair(l->env.conf, l->ear), l->ear,
		    LOG_KVS(LOG_KV(LOG_K_SERVO_STEPS, ss.steps),
			    LOG_KV(LOG_K_RESIDUAL_NS, ss.last_residual_ns),
			    LOG_KV(LOG_K_OFFSET_NS, ss.offset_ns)),
		    "%s ear: servo stepped (resynchronised), "
		    "residual %lld ns",
		    link_name(l), (long long)ss.last_residual_ns);
	}
	l->seen_steps = ss.steps;
	if (ss.state == l->seen_servo) {
		return;
	}
	ev = link_servo_event(l->seen_servo, ss.state, &level);
	log_rt_pair_event(level, ev, log_link_pair(l->env.conf, l->ear), l->ear,
			  LOG_KVS(LOG_KV(LOG_K_SERVO_STATE, ss.state),
				  LOG_KV(LOG_K_OFFSET_NS, ss.offset_ns),
				  LOG_KV(LOG_K_RATE_PPB, ss.rate_ppb)),
			  "%s ear: servo %s -> %s", link_name(l),
			  servo_state_name(l->seen_servo),
			  servo_state_name(ss.state));
	l->seen_servo = ss.state;
}

/*
 * How far the holdover model may have drifted by now (ns): its own error
 * at the last sample plus the rate's uncertainty over the time since.
 */
static uint64_t link_holdover_error_ns(const struct link *l,
				       const struct servo_status *ss,
				       uint64_t now_ns)
{
	uint64_t since = now_ns > l->last_sample_ns ?
				 now_ns - l->last_sample_ns :
				 0;

	return ss->offset_sd_ns +
	       (uint64_t)((double)ss->rate_sd_ppb * 1e-9 * (double)since);
}

void link_tick(struct link *l, uint64_t now_ns)
{
	const struct conf *c = l->env.conf;
	struct servo_status ss;
	unsigned k;

	link_each_servo(l, k) {
		servo_tick(l->kinds[k], now_ns);
	}
	link_servo_note(l);
	/* An announced interval without a timing sample past its instant. */
	link_ci_due(l, 0, now_ns);
	if (l->state < LINK_ST_SYNCING) {
		return;
	}
	/* Supervision: an earbud that stopped answering while its link
	 * stays up is lost all the same (DESIGN.md, issue 11). */
	if (now_ns > l->last_rx_ns &&
	    now_ns - l->last_rx_ns > c->sync.supervision_ns) {
		l->st.supervision_timeouts++;
		link_drop(l, now_ns, "no message within [sync] supervision_ms");
		return;
	}
	if (l->state != LINK_ST_STREAMING) {
		return;
	}
	servo_status(l->servo, &ss);
	if (ss.state == SERVO_UNLOCKED) {
		l->state = LINK_ST_SYNCING;
		log_rt_pair_event(LOG_WARNING, LOG_EV_LINK_SYNCING,
				  log_link_pair(l->env.conf, l->ear), l->ear,
				  LOG_KVS(LOG_KV(LOG_K_SERVO_STATE, ss.state)),
				  "%s ear: servo unlocked, syncing again",
				  link_name(l));
	} else if (ss.state == SERVO_HOLDOVER &&
		   link_holdover_error_ns(l, &ss, now_ns) >
			   c->servo.resync_threshold_ns) {
		/* Holdover is worth its name only while the model's
		 * predicted error stays under the step threshold: past it,
		 * silence beats a smeared image. */
		l->state = LINK_ST_SYNCING;
		log_rt_pair_event(LOG_WARNING, LOG_EV_LINK_SYNCING,
				  log_link_pair(l->env.conf, l->ear), l->ear,
				  LOG_KVS(LOG_KV(LOG_K_SERVO_STATE, ss.state)),
				  "%s ear: holdover error over the resync "
				  "threshold, syncing again",
				  link_name(l));
	}
}

void link_reconf(struct link *l, uint64_t now_ns)
{
	const struct conf *c = l->env.conf;
	struct servo_status ss;
	enum servo_kind kind;
	unsigned k;

	/* The configuration was validated whole, so the name is known. */
	if (servo_kind_from_string(c->servo.estimator, &kind) == 0 &&
	    l->servo != l->kinds[kind]) {
		/* Warm since the link started: the next PTS comes from a
		 * model already locked on the same samples. */
		l->servo = l->kinds[kind];
		/* Its own history is not a change of state. */
		servo_status(l->servo, &ss);
		l->seen_servo = ss.state;
		l->seen_steps = ss.steps;
		log_rt_pair_event(LOG_NOTICE, LOG_EV_NONE,
				  log_link_pair(l->env.conf, l->ear), l->ear,
				  NULL, 0, "%s ear: estimator now %s",
				  link_name(l), c->servo.estimator);
	}
	link_each_servo(l, k) {
		servo_set_limits(l->kinds[k], c->servo.resync_threshold_ns,
				 c->servo.holdover_ns);
	}
	if (l->backoff_ns < c->reconnect.backoff_min_ns) {
		l->backoff_ns = c->reconnect.backoff_min_ns;
	}
	if (l->backoff_ns > c->reconnect.backoff_max_ns) {
		l->backoff_ns = c->reconnect.backoff_max_ns;
	}
	if (l->state >= LINK_ST_SYNCING) {
		/* The request rate follows [servo] probe_every_events from
		 * the next request on (the next connect sets it anyway). */
		probe_set_every(&l->probe,
				probe_every_for_ci(c->servo.probe_every_events,
						   (uint64_t)l->st.ci_us *
							   NSEC_PER_USEC));
	}
}
