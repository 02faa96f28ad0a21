/* SPDX-License-Identifier: MIT */
#include "daemon/link.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/macro.h"
#include "core/plan.h"
#include "core/probe.h"
#include "core/servo.h"
#include "core/wheel.h"
#include "daemon/codec.h"
#include "daemon/log.h"
#include "os/loop.h"
#include "os/rt.h"
#include "daemon/chan.h"

#define LINK_TX_HISTORY 512 /* frames whose send instant we remember */
/* Sends whose instant we remember to time their completion stamps (a
 * power of two; stamps come back within a few connection events). */
#define LINK_SENT_RING 64u
#define LINK_SYNC_STALE_NS (2 * NSEC_PER_SEC)

struct link_tx {
	uint64_t seq;
	uint64_t tx_ns;
};

struct link {
	struct link_env env;
	enum conf_ear ear;
	const struct conf_link *cf;
	enum link_state state;

	struct chan *chan; /* owned */
	uint16_t tx_seq;

	struct wheel_timer retry_timer; /* soft: reconnect back-off */
	struct wheel_timer hello_timer; /* soft: HELLO_ACK timeout */
	struct wheel_timer probe_timer; /* hard: next SYNC_REQ */
	struct probe probe;
	uint64_t backoff_ns;

	struct servo *servo;  /* configured estimator */
	struct servo *shadow; /* naive, same samples, for comparison */

	/* The timing exchange in flight (one at a time). */
	bool sync_pending;
	bool sync_have_resp;
	uint32_t sync_req_id;
	uint64_t t1, t2, t3, t4;
	/* The SYNC_REQ's send id (chan_send()) and, once the controller
	 * completed it, that instant: the better t1 (DESIGN.md,
	 * "Transports"). */
	uint32_t sync_tx_id;
	bool have_t1_done;
	uint64_t t1_done;

	/* Send id -> host instant of the send, for stamp latencies. */
	struct {
		uint32_t id;
		bool valid;
		uint64_t ns;
	} sent[LINK_SENT_RING];

	struct link_tx tx[LINK_TX_HISTORY];
	struct link_stats st;
	uint8_t buf[LINK_HEADER_SIZE + 64];
};

const char *link_state_name(enum link_state s)
{
	switch (s) {
	case LINK_ST_IDLE:
		return "idle";
	case LINK_ST_CONNECTING:
		return "connecting";
	case LINK_ST_HELLO:
		return "hello";
	case LINK_ST_SYNCING:
		return "syncing";
	case LINK_ST_STREAMING:
		return "streaming";
	}
	return "?";
}

static void link_retry_fire(struct wheel_timer *t, uint64_t now_ns);
static void link_hello_fire(struct wheel_timer *t, uint64_t now_ns);
static void link_probe_fire(struct wheel_timer *t, uint64_t now_ns);

static const struct chan_cb link_chan_cb;

int link_new(const struct link_env *env, enum conf_ear ear, struct chan *chan,
	     struct link **ret)
{
	struct servo_config sc;
	struct link *l;
	int r;

	l = calloc(1, sizeof(*l));
	if (!l) {
		chan_free(chan);
		return -ENOMEM;
	}
	l->env = *env;
	l->ear = ear;
	l->cf = &env->conf->link[ear];
	l->backoff_ns = env->conf->reconnect.backoff_min_ns;
	l->chan = chan;
	wheel_timer_init(&l->retry_timer, WHEEL_SOFT, 10 * NSEC_PER_MSEC,
			 link_retry_fire);
	wheel_timer_init(&l->hello_timer, WHEEL_SOFT, 10 * NSEC_PER_MSEC,
			 link_hello_fire);
	wheel_timer_init(&l->probe_timer, WHEEL_HARD, 0, link_probe_fire);

	servo_config_default(&sc);
	r = servo_kind_from_string(env->conf->servo.estimator, &sc.kind);
	if (r < 0) {
		goto fail;
	}
	sc.resync_threshold_ns = env->conf->servo.resync_threshold_ns;
	sc.holdover_after_ns = env->conf->servo.holdover_ns;
	sc.ci_us = env->conf->servo.ci_us;
	r = servo_new(&sc, &l->servo);
	if (r < 0) {
		goto fail;
	}
	sc.kind = SERVO_NAIVE;
	r = servo_new(&sc, &l->shadow);
	if (r < 0) {
		goto fail;
	}
	l->st.ci_us = env->conf->servo.ci_us;
	l->st.battery_pct = 0xff;
	chan_set_cb(chan, &link_chan_cb, l);
	*ret = l;
	return 0;
fail:
	/* The channel is ours from the call on: it goes with the link. */
	link_free(l);
	return r;
}

struct link *link_free(struct link *l)
{
	if (!l) {
		return NULL;
	}
	chan_free(l->chan);
	servo_free(l->servo);
	servo_free(l->shadow);
	free(l);
	return NULL;
}

static const char *link_name(const struct link *l)
{
	return conf_ear_name(l->ear);
}

/* Send; *ret_id (may be NULL) the channel's number for the send. */
static int link_send_id(struct link *l, const uint8_t *buf, size_t len,
			uint32_t *ret_id)
{
	uint32_t id;
	int r;

	r = chan_send(l->chan, buf, len, &id);
	if (r < 0) {
		l->st.send_errors++;
		return r;
	}
	l->sent[id % LINK_SENT_RING].id = id;
	l->sent[id % LINK_SENT_RING].valid = true;
	l->sent[id % LINK_SENT_RING].ns = rt_now_ns();
	if (ret_id) {
		*ret_id = id;
	}
	return 0;
}

static int link_send(struct link *l, const uint8_t *buf, size_t len)
{
	return link_send_id(l, buf, len, NULL);
}

/* A send stamp from the channel: latency statistics, and the t1 of the
 * timing exchange in flight. */
static void link_chan_sent(void *user_data, uint32_t id,
			   enum chan_tx_point point, uint64_t ns)
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

/* Back to IDLE: drop the socket, forget the clock model (the earbud may
 * have rebooted), try again after the back-off, doubled each time. */
static void link_drop(struct link *l, uint64_t now_ns, const char *why)
{
	struct wheel *w = l->env.wheel;

	if (l->chan->is_open) {
		chan_close(l->chan);
	}
	if (l->st.connected) {
		l->st.disconnects++;
	}
	wheel_cancel(w, &l->hello_timer);
	wheel_cancel(w, &l->probe_timer);
	l->state = LINK_ST_IDLE;
	l->st.connected = false;
	l->sync_pending = false;
	servo_reset(l->servo);
	servo_reset(l->shadow);
	log_rt(LOG_WARNING, "%s ear: %s; reconnecting in %llu ms",
	       link_name(l), why,
	       (unsigned long long)(l->backoff_ns / NSEC_PER_MSEC));
	wheel_add(w, &l->retry_timer, now_ns + l->backoff_ns);
	l->st.backoff_ns = l->backoff_ns;
	l->backoff_ns *= 2;
	if (l->backoff_ns > l->env.conf->reconnect.backoff_max_ns) {
		l->backoff_ns = l->env.conf->reconnect.backoff_max_ns;
	}
}

static void link_on_hello_ack(struct link *l, const struct link_msg *m,
			      uint64_t now_ns)
{
	const struct link_hello_ack *a = &m->hello_ack;
	uint64_t ci_ns;

	if (l->state != LINK_ST_HELLO) {
		l->st.unexpected++;
		return;
	}
	if (a->status != LINK_HELLO_OK) {
		link_drop(l, now_ns, "earbud refused HELLO");
		return;
	}
	if ((l->ear == CONF_EAR_LEFT && a->role != LINK_ROLE_LEFT) ||
	    (l->ear == CONF_EAR_RIGHT && a->role != LINK_ROLE_RIGHT)) {
		link_drop(l, now_ns, "earbud answered with the wrong role");
		return;
	}
	wheel_cancel(l->env.wheel, &l->hello_timer);
	l->backoff_ns = l->env.conf->reconnect.backoff_min_ns;
	l->st.ci_us = a->ci_us ? a->ci_us : l->env.conf->servo.ci_us;
	ci_ns = (uint64_t)l->st.ci_us * NSEC_PER_USEC;
	/* The servo models connection events: give it the interval this
	 * session actually runs at. */
	servo_set_ci(l->servo, l->st.ci_us);
	servo_set_ci(l->shadow, l->st.ci_us);
	probe_init(&l->probe, ci_ns,
		   probe_every_for_ci(l->env.conf->servo.probe_every_events,
				      ci_ns),
		   l->env.seed ^ ((uint64_t)l->ear << 32) ^ l->st.connects,
		   now_ns);
	l->state = LINK_ST_SYNCING;
	wheel_add(l->env.wheel, &l->probe_timer, probe_due(&l->probe));
	log_rt(LOG_INFO, "%s ear: HELLO_ACK v%u, ci %u us, caps 0x%x",
	       link_name(l), a->version, l->st.ci_us, a->caps);
}

static void link_feed(struct link *l)
{
	uint64_t t1 = l->t1;
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
	r = servo_sync_sample(l->servo, t1, l->t2, l->t3, l->t4);
	servo_sync_sample(l->shadow, t1, l->t2, l->t3, l->t4);
	l->sync_pending = false;
	if (r == 0) {
		l->st.sync_samples++;
	}
}

static void link_on_sync_resp(struct link *l, const struct link_msg *m,
			      uint64_t rx_ns)
{
	const struct link_sync_resp *s = &m->sync_resp;

	if (!l->sync_pending || s->req_id != l->sync_req_id ||
	    s->t1_host_ns != l->t1) {
		l->st.unexpected++;
		return;
	}
	l->t2 = s->t2_ear_ns;
	l->t3 = s->t3_ear_ns;
	l->t4 = rx_ns;
	l->sync_have_resp = true;
	/* Two-step: the precise t3 comes in SYNC_FOLLOWUP (PTP Follow_Up). */
	if (!(m->hdr.flags & LINK_F_TWO_STEP)) {
		link_feed(l);
	}
}

static void link_on_followup(struct link *l, const struct link_msg *m)
{
	if (!l->sync_pending || !l->sync_have_resp ||
	    m->sync_followup.req_id != l->sync_req_id) {
		l->st.unexpected++;
		return;
	}
	l->t3 = m->sync_followup.t3_ear_ns;
	link_feed(l);
}

static void link_on_report(struct link *l, const struct link_msg *m)
{
	const struct link_render_report *r = &m->render_report;
	const struct link_tx *tx = &l->tx[r->frame_seq % LINK_TX_HISTORY];
	uint64_t mapped;

	l->st.reports++;
	l->st.ear_late = r->late_frames;
	l->st.ear_underruns = r->underruns;
	l->st.ear_buffer = r->buffer_frames;
	if (r->render_ear_ns == 0) {
		l->st.not_rendered++;
	}
	if (tx->seq != r->frame_seq || tx->tx_ns == 0) {
		return;
	}
	servo_forward_sample(l->servo, tx->tx_ns, r->rx_ear_ns);
	servo_forward_sample(l->shadow, tx->tx_ns, r->rx_ear_ns);
	/* Delivery delay in host time for the adaptive presentation delay:
	 * how long after its send the frame was in the earbud. */
	if (servo_map(l->servo, tx->tx_ns, &mapped) == 0 &&
	    r->rx_ear_ns > mapped) {
		double rate = servo_rate(l->servo);

		plan_observe_delivery(l->env.plan,
				      (uint64_t)((double)(r->rx_ear_ns - mapped) /
						 rate));
	}
}

static void link_chan_msg(void *user_data, const void *data, size_t len,
			  uint64_t rx_ns, bool has_kernel_ts)
{
	struct link *l = user_data;
	struct link_msg m;
	int r;

	if (!has_kernel_ts) {
		l->st.rx_no_kernel_ts++;
	}
	r = proto_decode(data, len, &m);
	if (r < 0) {
		int i = proto_error_index(r);

		/* Counted and dropped; the session goes on (ttws-link(7)). */
		if (i >= 0) {
			l->st.malformed[i]++;
		}
		return;
	}
	switch (m.hdr.type) {
	case LINK_HELLO_ACK:
		link_on_hello_ack(l, &m, rx_ns);
		break;
	case LINK_SYNC_RESP:
		link_on_sync_resp(l, &m, rx_ns);
		break;
	case LINK_SYNC_FOLLOWUP:
		link_on_followup(l, &m);
		break;
	case LINK_RENDER_REPORT:
		link_on_report(l, &m);
		break;
	case LINK_STATUS:
		l->st.battery_pct = m.status.battery_pct;
		l->st.ear_buffer = m.status.buffer_frames;
		break;
	default:
		/* Host-bound types only; a HELLO or AUDIO from an earbud is
		 * a confused peer, not a fatal one. */
		l->st.unexpected++;
		break;
	}
	if (l->state == LINK_ST_SYNCING) {
		struct servo_status ss;

		servo_status(l->servo, &ss);
		if (ss.state != SERVO_UNLOCKED) {
			l->state = LINK_ST_STREAMING;
			log_rt(LOG_INFO, "%s ear: servo locked, streaming",
			       link_name(l));
		}
	}
}

static void link_chan_closed(void *user_data, int err, uint64_t now_ns)
{
	struct link *l = user_data;

	log_rt(LOG_DEBUG, "%s ear: %s channel closed: %s", link_name(l),
	       chan_name(l->chan), strerror(-err));
	if (l->state == LINK_ST_CONNECTING) {
		l->st.connect_fails++;
		link_drop(l, now_ns, err == -EPROTONOSUPPORT ?
					     "transport not available" :
					     "connect failed");
		return;
	}
	link_drop(l, now_ns, "earbud closed the link");
}

/* One channel per ear at 48 kHz: the codec's octets per frame. */
static uint16_t link_hello_octets(const struct link *l)
{
	const struct conf *c = l->env.conf;
	int n;

	switch (c->stream.codec) {
	case CONF_CODEC_LC3:
		n = codec_lc3_octets((uint32_t)(c->stream.frame_ns /
						NSEC_PER_USEC),
				     l->cf->bitrate);
		return n > 0 ? (uint16_t)n : 0;
	case CONF_CODEC_PCM:
		break;
	}
	/* S16: samples per frame x 2. */
	return (uint16_t)(c->stream.frame_ns * 48000 / NSEC_PER_SEC * 2);
}

static void link_chan_open(void *user_data, uint64_t now_ns)
{
	struct link *l = user_data;
	struct link_hello h = { 0 };
	size_t len;

	l->tx_seq = 0;
	/* The channel numbers its sends from 0 again. */
	memset(l->sent, 0, sizeof(l->sent));
	l->st.tx_completion = chan_tx_completion(l->chan);
	l->st.mtu_rx = l->chan->mtu_rx;
	l->st.mtu_tx = l->chan->mtu_tx;
	l->st.connects++;
	l->st.connected = true;
	l->state = LINK_ST_HELLO;

	h.version_max = LINK_VERSION;
	h.role = l->ear == CONF_EAR_LEFT ? LINK_ROLE_LEFT : LINK_ROLE_RIGHT;
	h.codec = l->env.conf->stream.codec == CONF_CODEC_LC3 ?
			  LINK_CODEC_LC3 :
			  LINK_CODEC_PCM_S16;
	h.channels = 1;
	h.sample_rate_hz = 48000;
	h.frame_us = (uint32_t)(l->env.conf->stream.frame_ns / NSEC_PER_USEC);
	h.octets_per_frame = link_hello_octets(l);
	h.delay_us = (uint32_t)(plan_delay(l->env.plan) / NSEC_PER_USEC);
	if (proto_encode_hello(&h, l->tx_seq++, 0, l->buf, sizeof(l->buf),
			       &len) == 0) {
		link_send(l, l->buf, len);
	}
	wheel_cancel(l->env.wheel, &l->hello_timer);
	wheel_add(l->env.wheel, &l->hello_timer,
		  now_ns + l->env.conf->reconnect.hello_timeout_ns);
	if (l->chan->mtu_rx) {
		log_rt(LOG_INFO, "%s ear: %s channel open, MTU %u in, %u out, "
				 "completions: %s",
		       link_name(l), chan_name(l->chan), l->chan->mtu_rx,
		       l->chan->mtu_tx, chan_txc_name(l->st.tx_completion));
	} else {
		log_rt(LOG_INFO, "%s ear: %s channel open, completions: %s",
		       link_name(l), chan_name(l->chan),
		       chan_txc_name(l->st.tx_completion));
	}
}

static const struct chan_cb link_chan_cb = {
	.open = link_chan_open,
	.msg = link_chan_msg,
	.closed = link_chan_closed,
	.sent = link_chan_sent,
};

static void link_connect(struct link *l, uint64_t now_ns)
{
	int r;

	l->state = LINK_ST_CONNECTING;
	/* Opening may take connection events (l2cap, hci-uart): the HELLO
	 * timeout bounds it too. */
	wheel_add(l->env.wheel, &l->hello_timer,
		  now_ns + l->env.conf->reconnect.hello_timeout_ns);
	r = chan_open(l->chan, now_ns);
	if (r < 0) {
		l->st.connect_fails++;
		link_drop(l, now_ns, "cannot start connecting");
	}
}

static void link_retry_fire(struct wheel_timer *t, uint64_t now_ns)
{
	link_connect(container_of(t, struct link, retry_timer), now_ns);
}

static void link_hello_fire(struct wheel_timer *t, uint64_t now_ns)
{
	struct link *l = container_of(t, struct link, hello_timer);

	l->st.hello_timeouts++;
	link_drop(l, now_ns, l->state == LINK_ST_CONNECTING ?
				     "connect timed out" :
				     "no HELLO_ACK");
}

static void link_probe_fire(struct wheel_timer *t, uint64_t now_ns)
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
	q.t1_host_ns = rt_now_ns();
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

void link_start(struct link *l, uint64_t now_ns)
{
	if (l->cf->transport == CONF_TRANSPORT_NONE) {
		return;
	}
	wheel_add(l->env.wheel, &l->retry_timer, now_ns);
}

void link_shutdown(struct link *l)
{
	struct link_stop s = { .reason = LINK_STOP_SHUTDOWN };
	size_t len;

	wheel_cancel(l->env.wheel, &l->retry_timer);
	wheel_cancel(l->env.wheel, &l->hello_timer);
	wheel_cancel(l->env.wheel, &l->probe_timer);
	if (l->chan->is_open &&
	    proto_encode_stop(&s, l->tx_seq++, 0, l->buf, sizeof(l->buf),
			      &len) == 0) {
		link_send(l, l->buf, len);
	}
}

bool link_ready(const struct link *l)
{
	return l->state == LINK_ST_STREAMING && l->chan->is_open;
}

int link_send_audio(struct link *l, uint64_t seq, uint64_t pts_ear_ns,
		    uint8_t flags, const void *data, size_t len,
		    uint64_t now_ns)
{
	/* Header + fixed part + one 10 ms mono S16 frame at 48 kHz. */
	uint8_t buf[LINK_HEADER_SIZE + LINK_AUDIO_FIXED_SIZE + 2048];
	struct link_audio a = {
		.frame_seq = seq,
		.pts_ear_ns = pts_ear_ns,
		.data_len = (uint16_t)len,
		.data = data,
	};
	size_t n;
	int r;

	if (len > 2048) {
		return -EMSGSIZE;
	}
	r = proto_encode_audio(&a, l->tx_seq, flags, buf, sizeof(buf), &n);
	if (r < 0) {
		return r;
	}
	r = link_send(l, buf, n);
	if (r < 0) {
		return r;
	}
	l->tx_seq++;
	l->tx[seq % LINK_TX_HISTORY].seq = seq;
	l->tx[seq % LINK_TX_HISTORY].tx_ns = now_ns;
	l->st.frames_sent++;
	return 0;
}

int link_pair(struct link *a, struct link *b)
{
	int r = servo_pair(a->servo, b->servo);

	if (r == 0) {
		r = servo_pair(a->shadow, b->shadow);
	}
	return r;
}

const struct servo *link_servo(const struct link *l)
{
	return l->servo;
}

const struct servo *link_shadow(const struct link *l)
{
	return l->shadow;
}

void link_tick(struct link *l, uint64_t now_ns)
{
	servo_tick(l->servo, now_ns);
	servo_tick(l->shadow, now_ns);
	if (l->state == LINK_ST_STREAMING) {
		struct servo_status ss;

		servo_status(l->servo, &ss);
		if (ss.state == SERVO_UNLOCKED) {
			l->state = LINK_ST_SYNCING;
		}
	}
}

void link_get_stats(const struct link *l, struct link_stats *ret)
{
	*ret = l->st;
	ret->state = l->state;
}
