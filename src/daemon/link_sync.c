/* SPDX-License-Identifier: MIT */
/*
 * The link's timing exchanges (ttws-link(7)): the dithered probe timer
 * that sends SYNC_REQ, SYNC_RESP and its two-step SYNC_FOLLOWUP into the
 * servos, RENDER_REPORT's forward sample into the servos and its delivery
 * delay into the plan, and the channel's send stamps (the better t1).
 * RT thread only; see link_private.h.
 */
#include <errno.h>
#include <string.h>

#include "core/hist.h"
#include "core/macro.h"
#include "core/plan.h"
#include "core/probe.h"
#include "core/servo.h"
#include "core/wheel.h"
#include "daemon/link_private.h"

/* A latency sample, ns, into a histogram the engine may not have given. */
static void link_hist(struct hist *h, uint64_t ns)
{
	if (h) {
		hist_record(h, ns);
	}
}

void link_lat_rx(struct link *l, const struct chan_rx_time *t)
{
	/* The kernel layer only where the kernel stamped the arrival: on
	 * hci-uart the arrival is the loop's own look (engine.h). */
	if (t->has_kernel_ts && t->seen_ns >= t->arrival_ns) {
		link_hist(l->hists.rx_kernel, t->seen_ns - t->arrival_ns);
	}
	if (t->handler_ns >= t->seen_ns) {
		link_hist(l->hists.rx_loop, t->handler_ns - t->seen_ns);
	}
}

void link_lat_handler(struct link *l, const struct chan_rx_time *t)
{
	uint64_t now;

	if (l->hists.rx_handler) {
		now = link_now(l);
		if (now >= t->handler_ns) {
			hist_record(l->hists.rx_handler, now - t->handler_ns);
		}
	}
}

void link_lat_submit(struct link *l, uint32_t id, uint64_t planned_ns)
{
	/* link_send_id() read the clock right after chan_send(). */
	uint64_t sent_ns = l->sent[id % LINK_SENT_RING].ns;

	if (planned_ns && sent_ns >= planned_ns) {
		link_hist(l->hists.tx_submit, sent_ns - planned_ns);
	}
}

/*
 * The reply's transport (rx_transport), before the servo takes the
 * exchange: t3 is the earbud's instant at the connection event that
 * carried the reply, t4 its host arrival stamp. The earbud's clock gives
 * no host instant by itself, so the departure is mapped through the
 * servo's model as it stands before this sample, and the delay is
 * (map(t4) - t3) / rate: how much later than map's own origin the reply
 * arrived. For SERVO_TTWS that origin is the reverse-delay floor
 * (servo.h: map(h) is the earbud time a reply arriving at h at the
 * quickest would carry), precisely the floor D plus the weighted mean
 * jitter of the lucky replies its fit keeps (servo_ttws.c: the lowest
 * TTWS_GATE_Q of the window, weighted towards the smallest). So the
 * number is the reverse transit minus that origin: the jitter and
 * queueing above the luckiest replies (HCI/USB jitter, a late host), 0
 * for a reply at or below the origin, and never the constant part (D,
 * the HCI delay and the air time: one-way delays cannot be measured
 * without a common clock). On the scenario model (tests/scenarios,
 * reply = 100 us + jitter) it is the jitter minus the lucky mean: with
 * nominal's exponential 20 us about 11-12 us P50, 90 us P99. For the
 * baselines (naive, median-iir), whose model is the NTP midpoint, it is
 * about half the round trip's asymmetric delays instead.
 */
static void link_lat_transport(struct link *l)
{
	uint64_t at_t4;
	int64_t d;

	if (!l->hists.rx_transport || servo_map(l->servo, l->t4, &at_t4) < 0) {
		return;
	}
	d = (int64_t)(at_t4 - l->t3);
	link_hist(l->hists.rx_transport,
		  d > 0 ? (uint64_t)((double)d / servo_rate(l->servo)) : 0);
}

/* A send stamp from the channel: latency statistics, and the t1 of the
 * timing exchange in flight. */
void link_chan_sent(void *user_data, uint32_t id, enum chan_tx_point point,
		    uint64_t ns)
{
	struct link *l = user_data;
	struct link_tx_lat *lat = point == CHAN_TX_DONE ? &l->st.tx_done :
							  &l->st.tx_kernel;
	uint64_t sent_ns = 0;

	if (l->sent[id % LINK_SENT_RING].valid &&
	    l->sent[id % LINK_SENT_RING].id == id) {
		sent_ns = l->sent[id % LINK_SENT_RING].ns;
	}
	lat->stamps++;
	if (sent_ns && ns >= sent_ns) {
		uint64_t d = ns - sent_ns;

		link_hist(point == CHAN_TX_DONE ? l->hists.tx_done :
						  l->hists.tx_kernel,
			  d);
		lat->timed++;
		lat->sum_ns += d;
		if (lat->timed == 1 || d < lat->min_ns) {
			lat->min_ns = d;
		}
		if (d > lat->max_ns) {
			lat->max_ns = d;
		}
	}
	if (point == CHAN_TX_DONE && l->sync_pending && id == l->sync_tx_id) {
		l->t1_done = ns;
		l->have_t1_done = true;
	}
}

static void link_feed(struct link *l)
{
	struct servo_status before, after;
	uint64_t t1 = l->t1;
	unsigned k;
	int r;

	/*
	 * The controller's completion says when the request really left
	 * the host; it must lie between the send() and the reply's
	 * arrival, else it belongs to something else and the send instant
	 * stands (servo.h: "TX completion if known").
	 */
	if (l->have_t1_done) {
		if (l->t1_done >= l->t1 && l->t1_done <= l->t4) {
			t1 = l->t1_done;
			l->st.t1_from_done++;
		} else {
			l->st.t1_done_rejected++;
		}
	}
	/* An announced connection update whose instant this sample
	 * reached: the servos count events on the new grid from it. */
	link_ci_due(l, l->t3, l->t4);
	link_each_servo(l, k) {
		if (l->kinds[k] != l->servo) {
			servo_sync_sample(l->kinds[k], t1, l->t2, l->t3, l->t4);
		}
	}
	link_lat_transport(l);
	servo_status(l->servo, &before);
	r = servo_sync_sample(l->servo, t1, l->t2, l->t3, l->t4);
	l->sync_pending = false;
	if (r == 0) {
		l->st.sync_samples++;
		l->last_sample_ns = l->t4;
	}
	/* |residual| of each sample the servo accepted (not gated out). */
	servo_status(l->servo, &after);
	if (after.samples > before.samples) {
		link_hist(l->hists.residual,
			  (uint64_t)(after.last_residual_ns < 0 ?
					     -after.last_residual_ns :
					     after.last_residual_ns));
	}
	link_servo_note(l);
}

/* The exchange done and fed: its answers from now on are replays. */
static void link_sync_done(struct link *l)
{
	l->sync_done_valid = true;
	l->sync_done_id = l->sync_req_id;
	l->sync_done_two_step = l->sync_two_step;
	link_feed(l);
}

/*
 * An answer naming request req_id, which is not the one in flight: an
 * earlier request's (superseded: out of order), or one never sent.
 * Requests are numbered up from 1 per link (RFC 1982 comparison, as for
 * seq: up to 2^31 - 1 behind is earlier).
 */
static enum link_rx link_sync_other(const struct link *l, uint32_t req_id)
{
	uint32_t behind = l->sync_req_id - req_id;

	if (req_id != 0 && behind != 0 && behind < 0x80000000u) {
		return LINK_RX_OUT_OF_ORDER;
	}
	return LINK_RX_UNEXPECTED;
}

enum link_rx link_on_sync_resp(struct link *l, const struct link_msg *m,
			       uint64_t rx_ns)
{
	const struct link_sync_resp *s = &m->sync_resp;

	if (l->sync_done_valid && !l->sync_pending &&
	    s->req_id == l->sync_done_id && s->t1_host_ns == l->t1) {
		/* The exchange was answered and fed already. */
		return LINK_RX_REPLAYED;
	}
	if (!l->sync_pending || s->req_id != l->sync_req_id) {
		return link_sync_other(l, s->req_id);
	}
	if (s->t1_host_ns != l->t1) {
		/* Our own t1 echoed wrong: not an answer to our request. */
		return LINK_RX_UNEXPECTED;
	}
	if (l->sync_have_resp) {
		/* One answer per request: a second would pair a later t4
		 * with the first one's t2 and t3. */
		return LINK_RX_REPLAYED;
	}
	l->t2 = s->t2_ear_ns;
	l->t3 = s->t3_ear_ns;
	l->t4 = rx_ns;
	l->sync_have_resp = true;
	l->sync_two_step = (m->hdr.flags & LINK_F_TWO_STEP) != 0;
	/* Two-step: the precise t3 comes in SYNC_FOLLOWUP (PTP Follow_Up). */
	if (!l->sync_two_step) {
		link_sync_done(l);
	}
	return LINK_RX_TAKEN;
}

enum link_rx link_on_followup(struct link *l, const struct link_msg *m)
{
	uint32_t req_id = m->sync_followup.req_id;

	if (l->sync_done_valid && !l->sync_pending &&
	    req_id == l->sync_done_id) {
		/* After a two-step exchange took its SYNC_FOLLOWUP, another
		 * is a replay; after a one-step one, none was due. */
		return l->sync_done_two_step ? LINK_RX_REPLAYED :
					       LINK_RX_UNEXPECTED;
	}
	if (!l->sync_pending || req_id != l->sync_req_id) {
		return link_sync_other(l, req_id);
	}
	if (!l->sync_have_resp) {
		/* ttws-link(7): it follows its SYNC_RESP, never precedes. */
		return LINK_RX_OUT_OF_ORDER;
	}
	if (!l->sync_two_step) {
		return LINK_RX_UNEXPECTED;
	}
	l->t3 = m->sync_followup.t3_ear_ns;
	link_sync_done(l);
	return LINK_RX_TAKEN;
}

/*
 * A frame the earbud did not render: how late it came (host ns, from its
 * receive stamp and presentation time in the earbud's clock), for the
 * plan's penalty. 0 when not known.
 */
static uint64_t link_lateness(const struct link *l,
			      const struct link_render_report *r,
			      const struct link_tx *tx)
{
	if (tx->seq != r->frame_seq || tx->pts_ear_ns == 0 ||
	    r->rx_ear_ns <= tx->pts_ear_ns ||
	    r->rx_ear_ns - tx->pts_ear_ns > LINK_DELIVERY_MAX_NS) {
		return 0;
	}
	return (uint64_t)((double)(r->rx_ear_ns - tx->pts_ear_ns) /
			  servo_rate(l->servo));
}

enum link_rx link_on_report(struct link *l, const struct link_msg *m)
{
	const struct link_render_report *r = &m->render_report;
	struct link_tx *tx = &l->tx[r->frame_seq % LINK_TX_HISTORY];
	uint64_t mapped;
	unsigned k;

	/* A frame of the history, reported once: anything else would feed
	 * the servos and the plan a sample twice, or one of another frame. */
	if (tx->seq != r->frame_seq || tx->tx_ns == 0) {
		/* Older than the history: it waited behind LINK_TX_HISTORY
		 * newer frames. Newer: a frame never sent. */
		return tx->tx_ns != 0 && r->frame_seq < tx->seq ?
			       LINK_RX_OUT_OF_ORDER :
			       LINK_RX_UNEXPECTED;
	}
	if (tx->reported) {
		return LINK_RX_REPLAYED;
	}
	tx->reported = true;
	l->st.reports++;
	l->st.ear_late = r->late_frames;
	l->st.ear_underruns = r->underruns;
	l->st.ear_buffer = r->buffer_frames;
	if (r->render_ear_ns == 0) {
		l->st.not_rendered++;
		/* A gap the listener heard: the presentation delay learns
		 * from it at once (core/plan). */
		plan_observe_late(l->env.plan, link_lateness(l, r, tx));
	}
	link_each_servo(l, k) {
		servo_forward_sample(l->kinds[k], tx->tx_ns, r->rx_ear_ns);
	}
	/* Delivery delay in host time for the adaptive presentation delay:
	 * how long after it was due to go the frame was in the earbud (a
	 * late send is part of what the delay must cover). */
	if (servo_map(l->servo, tx->planned_ns, &mapped) == 0 &&
	    r->rx_ear_ns > mapped) {
		double rate = servo_rate(l->servo);
		uint64_t delivery = (uint64_t)((double)(r->rx_ear_ns - mapped) /
					       rate);

		/* A frame that took longer than the largest presentation
		 * delay there can be was not delivered: a wrong stamp, and
		 * it must not drag the delay to its ceiling. */
		if (delivery > LINK_DELIVERY_MAX_NS) {
			/* Counted, not dropped: the report itself (render
			 * time, counters) stands. */
			l->st.out_of_range++;
			return LINK_RX_TAKEN;
		}
		plan_observe_delivery(l->env.plan, delivery);
		link_hist(l->hists.delivery, delivery);
	}
	return LINK_RX_TAKEN;
}

void link_probe_fire(struct wheel_timer *t, uint64_t now_ns)
{
	struct link *l = container_of(t, struct link, probe_timer);
	struct link_sync_req q;
	size_t len;

	if (l->sync_pending) {
		if (now_ns - l->t1 < LINK_SYNC_STALE_NS) {
			/* One exchange at a time: the reply of the last is
			 * still on its way (loss, a long interval). */
			wheel_add(l->env.wheel, t,
				  probe_sent(&l->probe, now_ns));
			return;
		}
		l->st.sync_lost++;
	}
	q.req_id = ++l->sync_req_id;
	/* Read the clock as late as possible before the send. */
	q.t1_host_ns = link_now(l);
	if (proto_encode_sync_req(&q, l->tx_seq++, 0, l->buf, sizeof(l->buf),
				  &len) == 0 &&
	    link_send_id(l, l->buf, len, &l->sync_tx_id) == 0) {
		l->sync_pending = true;
		l->sync_have_resp = false;
		l->have_t1_done = false;
		l->t1 = q.t1_host_ns;
		l->st.sync_sent++;
	}
	wheel_add(l->env.wheel, t, probe_sent(&l->probe, now_ns));
}
