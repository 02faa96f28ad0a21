/* SPDX-License-Identifier: MIT */
/*
 * What the earbud says (ttws-link(7)), message by message: decoded
 * (core/proto), new (core/protoseq), in range (core/protorange), then
 * taken by the state machine or dropped, every drop counted under its
 * kind, and the session reset after a run of drops or a HELLO_ACK it
 * cannot run on. RT thread only; see link_private.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/macro.h"
#include "core/plan.h"
#include "core/probe.h"
#include "core/proto.h"
#include "core/protorange.h"
#include "core/protoseq.h"
#include "core/servo.h"
#include "core/wheel.h"
#include "daemon/link_private.h"
#include "daemon/log.h"

static enum link_rx link_on_hello_ack(struct link *l,
				      const struct link_msg *m,
				      uint64_t now_ns)
{
	const struct link_hello_ack *a = &m->hello_ack;
	uint64_t ci_ns;
	unsigned k;

	if (l->state != LINK_ST_HELLO) {
		/* The session's one HELLO was answered already. */
		return l->state >= LINK_ST_SYNCING ? LINK_RX_REPLAYED :
						     LINK_RX_UNEXPECTED;
	}
	if (a->status != LINK_HELLO_OK) {
		link_drop(l, now_ns, "earbud refused HELLO");
		return LINK_RX_TAKEN;
	}
	if ((l->ear == CONF_EAR_LEFT && a->role != LINK_ROLE_LEFT) ||
	    (l->ear == CONF_EAR_RIGHT && a->role != LINK_ROLE_RIGHT)) {
		link_drop(l, now_ns, "earbud answered with the wrong role");
		return LINK_RX_TAKEN;
	}
	/* ttws-link(7): the earbud accepts the HELLO's codec or refuses;
	 * frames in another codec would play as noise. */
	if (a->codec != l->hello_codec) {
		link_drop(l, now_ns, "earbud answered with another codec");
		return LINK_RX_TAKEN;
	}
	wheel_cancel(l->env.wheel, &l->hello_timer);
	l->backoff_ns = l->env.conf->reconnect.backoff_min_ns;
	/* Supervision counts from the session's start. */
	l->last_rx_ns = now_ns;
	l->last_sample_ns = now_ns;
	l->st.ci_us = a->ci_us ? a->ci_us : l->env.conf->servo.ci_us;
	ci_ns = (uint64_t)l->st.ci_us * NSEC_PER_USEC;
	plan_set_interval(l->env.plan, ci_ns);
	/* The servo models connection events: give it the interval this
	 * session actually runs at. */
	link_each_servo(l, k) {
		servo_set_ci(l->kinds[k], l->st.ci_us);
	}
	/* Its timestamp tick: stamps truncated to it (servo.h). */
	link_each_servo(l, k) {
		servo_set_clock_res(l->kinds[k],
				    a->clock_res_ns ? a->clock_res_ns : 1);
	}
	l->st.clock_res_ns = a->clock_res_ns;
	probe_init(&l->probe, ci_ns,
		   probe_every_for_ci(l->env.conf->servo.probe_every_events,
				      ci_ns),
		   l->env.seed ^ ((uint64_t)l->ear << 32) ^ l->st.connects,
		   now_ns);
	l->state = LINK_ST_SYNCING;
	wheel_add(l->env.wheel, &l->probe_timer, probe_due(&l->probe));
	log_rt_pair_event(LOG_INFO, LOG_EV_LINK_HELLO,
			  log_link_pair(l->env.conf, l->ear), l->ear,
			  LOG_KVS(LOG_KV(LOG_K_PROTO_VERSION, a->version),
				  LOG_KV(LOG_K_CI_US, l->st.ci_us),
				  LOG_KV(LOG_K_CAPS, a->caps)),
			  "%s ear: HELLO_ACK v%u, ci %u us, caps 0x%x",
			  link_name(l), a->version, l->st.ci_us, a->caps);
	return LINK_RX_TAKEN;
}

#define LINK_STR_(x) #x
#define LINK_STR(x) LINK_STR_(x)

/*
 * A message dropped: counted by kind (err: its kind in core/proto's
 * table, for the kinds counted there), and the session reset once
 * LINK_BAD_RUN have come in a row.
 */
static void link_dropped(struct link *l, enum link_rx v, int err,
			 uint64_t rx_ns)
{
	int i;

	switch (v) {
	case LINK_RX_TAKEN:
		return;
	case LINK_RX_UNEXPECTED:
		l->st.unexpected++;
		break;
	case LINK_RX_OUT_OF_RANGE:
		l->st.out_of_range++;
		break;
	case LINK_RX_MALFORMED:
	case LINK_RX_OUT_OF_ORDER:
	case LINK_RX_REPLAYED:
		i = proto_error_index(err);
		if (i >= 0) {
			l->st.malformed[i]++;
		}
		break;
	}
	if (++l->bad_run < LINK_BAD_RUN || !l->chan->is_open) {
		return;
	}
	l->st.bad_resets++;
	link_drop(l, rx_ns,
		  "nothing usable: " LINK_STR(LINK_BAD_RUN) " messages in a "
		  "row dropped");
}

/* The kind in core/proto's table of a place-in-session verdict. */
static int link_rx_err(enum link_rx v)
{
	return v == LINK_RX_REPLAYED ? -EEXIST : -ESTALE;
}

/* What the earbud's message says, once it is known to be well-formed,
 * new and in range. */
static enum link_rx link_take(struct link *l, const struct link_msg *m,
			      uint64_t rx_ns)
{
	switch (m->hdr.type) {
	case LINK_HELLO_ACK:
		return link_on_hello_ack(l, m, rx_ns);
	case LINK_SYNC_RESP:
		return link_on_sync_resp(l, m, rx_ns);
	case LINK_SYNC_FOLLOWUP:
		return link_on_followup(l, m);
	case LINK_RENDER_REPORT:
		return link_on_report(l, m);
	case LINK_CONN_UPDATE:
		return link_on_conn_update(l, m, rx_ns);
	case LINK_STATUS:
		l->st.battery_pct = m->status.battery_pct;
		l->st.ear_buffer = m->status.buffer_frames;
		return LINK_RX_TAKEN;
	default:
		/* Host-bound types only; a HELLO or AUDIO from an earbud is
		 * a confused peer, not a fatal one. */
		return LINK_RX_UNEXPECTED;
	}
}

/* One message in, arrived at rx_ns: the state machine. */
static void link_dispatch(struct link *l, const void *data, size_t len,
			  uint64_t rx_ns, bool has_kernel_ts)
{
	struct link_msg m;
	const char *field = "?";
	enum link_rx v;
	int r;

	if (!has_kernel_ts) {
		l->st.rx_no_kernel_ts++;
	}
	r = proto_decode(data, len, &m);
	if (r < 0) {
		/* Counted and dropped; the session goes on (ttws-link(7))
		 * unless nothing else comes (link_dropped()). */
		log_rt_pair_event(
		    LOG_WARNING, LOG_EV_MALFORMED,
		    log_link_pair(l->env.conf, l->ear), l->ear,
		    LOG_KVS(LOG_KV(LOG_K_MALFORMED, r), LOG_KV(LOG_K_LEN, len)),
		    "%s ear: malformed message dropped: %s, %zu bytes",
		    link_name(l),
		    proto_error_name(r) ? proto_error_name(r) : "?", len);
		link_dropped(l, LINK_RX_MALFORMED, r, rx_ns);
		return;
	}
	/* Its number: a replay, or too far behind to tell (core/protoseq). */
	r = protoseq_check(&l->rx_seq, m.hdr.seq);
	l->st.rx_seq_gaps = l->rx_seq.gaps;
	l->st.rx_seq_late = l->rx_seq.late;
	if (r < 0) {
		log_rt_pair_event(LOG_WARNING, LOG_EV_MALFORMED,
				  log_link_pair(l->env.conf, l->ear), l->ear,
				  LOG_KVS(LOG_KV(LOG_K_MALFORMED, r),
					  LOG_KV(LOG_K_LEN, len)),
				  "%s ear: %s seq %u dropped: %s", link_name(l),
				  proto_type_name(m.hdr.type) ?
					  proto_type_name(m.hdr.type) :
					  "message",
				  m.hdr.seq, proto_error_name(r));
		link_dropped(l,
			     r == -EEXIST ? LINK_RX_REPLAYED :
					    LINK_RX_OUT_OF_ORDER,
			     r, rx_ns);
		return;
	}
	if (protorange_check(&m, &field) < 0) {
		log_rt_pair_event(LOG_WARNING, LOG_EV_MALFORMED,
				  log_link_pair(l->env.conf, l->ear), l->ear,
				  LOG_KVS(LOG_KV(LOG_K_LEN, len)),
				  "%s ear: %s with %s out of range dropped",
				  link_name(l), proto_type_name(m.hdr.type),
				  field);
		/* Without a usable interval or clock there is no session. */
		if (m.hdr.type == LINK_HELLO_ACK &&
		    l->state == LINK_ST_HELLO) {
			l->st.out_of_range++;
			link_drop(l, rx_ns, "HELLO_ACK out of range");
			return;
		}
		link_dropped(l, LINK_RX_OUT_OF_RANGE, 0, rx_ns);
		return;
	}
	v = link_take(l, &m, rx_ns);
	if (l->state == LINK_ST_IDLE) {
		/* It ended the session (a refusal, the wrong role). */
		return;
	}
	if (v != LINK_RX_TAKEN) {
		if (v == LINK_RX_OUT_OF_ORDER || v == LINK_RX_REPLAYED) {
			log_rt_pair_event(
			    LOG_WARNING, LOG_EV_MALFORMED,
			    log_link_pair(l->env.conf, l->ear), l->ear,
			    LOG_KVS(LOG_KV(LOG_K_LEN, len)),
			    "%s ear: %s dropped: %s", link_name(l),
			    proto_type_name(m.hdr.type),
			    proto_error_name(link_rx_err(v)));
		}
		link_dropped(l, v, link_rx_err(v), rx_ns);
		return;
	}
	l->last_rx_ns = rx_ns;
	l->bad_run = 0;
	if (l->state == LINK_ST_SYNCING) {
		struct servo_status ss;

		servo_status(l->servo, &ss);
		/* Not from holdover: that model is only extrapolating. */
		if (ss.state == SERVO_LOCKED || ss.state == SERVO_STABLE) {
			l->state = LINK_ST_STREAMING;
			log_rt_pair_event(
			    LOG_INFO, LOG_EV_LINK_STREAMING,
			    log_link_pair(l->env.conf, l->ear), l->ear,
			    LOG_KVS(LOG_KV(LOG_K_SERVO_STATE, ss.state),
				    LOG_KV(LOG_K_OFFSET_NS, ss.offset_ns),
				    LOG_KV(LOG_K_RATE_PPB, ss.rate_ppb)),
			    "%s ear: servo locked, streaming", link_name(l));
		}
	}
}

void link_chan_msg(void *user_data, const void *data, size_t len,
		   const struct chan_rx_time *t)
{
	struct link *l = user_data;

	link_lat_rx(l, t);
	link_dispatch(l, data, len, t->arrival_ns, t->has_kernel_ts);
	link_lat_handler(l, t);
}
