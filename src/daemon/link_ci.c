/* SPDX-License-Identifier: MIT */
/*
 * The link's connection interval while a session runs: a connection
 * update announced by the earbud (CONN_UPDATE, possibly ahead of its
 * instant) or reported by our own controller (hci-uart), and what follows
 * from it: the plan's delay, the servos' event numbering, the request
 * rate. RT thread only; see link_private.h.
 */
#include <stdbool.h>
#include <stdint.h>

#include "core/macro.h"
#include "core/plan.h"
#include "core/probe.h"
#include "core/servo.h"
#include "core/wheel.h"
#include "daemon/link_private.h"
#include "daemon/log.h"

/*
 * The central changed the connection interval (LL_CONNECTION_UPDATE_IND)
 * and the earbud says so (ttws-link(7), CONN_UPDATE; the value is range
 * checked already): the servos number connection events with the new
 * interval, and the timing requests follow it, from now on.
 */
void link_set_interval(struct link *l, uint32_t ci_us,
			      uint64_t now_ns)
{
	uint64_t ci_ns = (uint64_t)ci_us * NSEC_PER_USEC;
	unsigned k;

	l->st.ci_updates++;
	if (ci_us == l->st.ci_us) {
		return;
	}
	l->st.ci_us = ci_us;
	link_each_servo(l, k) {
		servo_set_ci(l->kinds[k], ci_us);
	}
	plan_set_interval(l->env.plan, ci_ns);
	probe_set_every(&l->probe,
			probe_every_for_ci(l->env.conf->servo.probe_every_events,
					   ci_ns));
	probe_set_ci(&l->probe, ci_ns, now_ns);
	wheel_cancel(l->env.wheel, &l->probe_timer);
	wheel_add(l->env.wheel, &l->probe_timer, probe_due(&l->probe));
	log_rt_pair_event(
	    LOG_INFO, LOG_EV_NONE, log_link_pair(l->env.conf, l->ear), l->ear,
	    LOG_KVS(LOG_KV(LOG_K_CI_US, ci_us)),
	    "%s ear: connection interval now %u us", link_name(l), ci_us);
}

/*
 * The earbud announces a connection update, possibly ahead of its instant
 * (ttws-link(7)): a longer interval raises the presentation delay now,
 * before the first frame waits longer; the timing itself switches at the
 * instant (link_ci_due()), since samples before it are on the old grid.
 */
enum link_rx link_on_conn_update(struct link *l, const struct link_msg *m,
				 uint64_t now_ns)
{
	const struct link_conn_update *u = &m->conn_update;
	uint64_t now_ear;

	if (l->state != LINK_ST_SYNCING && l->state != LINK_ST_STREAMING) {
		return LINK_RX_UNEXPECTED;
	}
	/* One message per procedure, in the order they took effect
	 * (ttws-link(7)): the same one again is a replay, an earlier
	 * instant one that was overtaken and no longer in force. */
	if (l->ci_seen && u->instant_ear_ns == l->ci_seen_ear_ns &&
	    u->ci_us == l->ci_seen_us) {
		return LINK_RX_REPLAYED;
	}
	if (l->ci_seen && u->instant_ear_ns < l->ci_seen_ear_ns) {
		return LINK_RX_OUT_OF_ORDER;
	}
	l->ci_seen = true;
	l->ci_seen_us = u->ci_us;
	l->ci_seen_ear_ns = u->instant_ear_ns;
	plan_set_interval(l->env.plan, (uint64_t)u->ci_us * NSEC_PER_USEC);
	if (servo_map(l->servo, now_ns, &now_ear) == 0 &&
	    u->instant_ear_ns > now_ear &&
	    u->instant_ear_ns - now_ear < LINK_DELIVERY_MAX_NS) {
		l->ci_next_us = u->ci_us;
		l->ci_next_ear_ns = u->instant_ear_ns;
		return LINK_RX_TAKEN;
	}
	l->ci_next_us = 0;
	link_set_interval(l, u->ci_us, now_ns);
	return LINK_RX_TAKEN;
}

void link_ci_due(struct link *l, uint64_t t3_ear_ns, uint64_t now_ns)
{
	uint64_t now_ear;
	bool due;

	if (!l->ci_next_us) {
		return;
	}
	if (t3_ear_ns) {
		due = t3_ear_ns >= l->ci_next_ear_ns;
	} else {
		due = servo_map(l->servo, now_ns, &now_ear) < 0 ||
		      now_ear >= l->ci_next_ear_ns + NSEC_PER_SEC;
	}
	if (due) {
		uint32_t ci_us = l->ci_next_us;

		l->ci_next_us = 0;
		link_set_interval(l, ci_us, now_ns);
	}
}

/* chan_cb.interval: our own controller's word (hci-uart), range-checked
 * by the HCI host. The earbud's CONN_UPDATE, if it follows, then finds
 * the interval already in force. */
void link_chan_interval(void *user_data, uint32_t ci_us,
			       uint64_t now_ns)
{
	struct link *l = user_data;

	if (l->state == LINK_ST_SYNCING || l->state == LINK_ST_STREAMING) {
		link_set_interval(l, ci_us, now_ns);
	} else {
		/* Not in a session yet: HELLO_ACK will say the interval. */
		l->st.ci_us = ci_us;
	}
}

