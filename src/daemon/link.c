/* SPDX-License-Identifier: MIT */
#include "daemon/link.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/macro.h"
#include "core/plan.h"
#include "core/probe.h"
#include "core/protorange.h"
#include "core/servo.h"
#include "core/wheel.h"
#include "daemon/codec.h"
#include "daemon/log.h"
#include "os/loop.h"
#include "os/rt.h"
#include "daemon/chan.h"
#include "daemon/link_private.h"

static void link_retry_fire(struct wheel_timer *t, uint64_t now_ns);
static void link_hello_fire(struct wheel_timer *t, uint64_t now_ns);

static const struct chan_cb link_chan_cb;

int link_new(const struct link_env *env, enum conf_ear ear, struct chan *chan,
	     struct link **ret)
{
	struct servo_config sc;
	enum servo_kind active;
	struct link *l;
	unsigned k;
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
	r = servo_kind_from_string(env->conf->servo.estimator, &active);
	if (r < 0) {
		goto fail;
	}
	sc.resync_threshold_ns = env->conf->servo.resync_threshold_ns;
	sc.holdover_after_ns = env->conf->servo.holdover_ns;
	sc.ci_us = env->conf->servo.ci_us;
	link_each_servo(l, k) {
		sc.kind = (enum servo_kind)k;
		r = servo_new(&sc, &l->kinds[k]);
		if (r < 0) {
			goto fail;
		}
	}
	l->servo = l->kinds[active];
	l->shadow = l->kinds[SERVO_NAIVE];
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
	unsigned k;

	chan_free(l->chan);
	link_each_servo(l, k) {
		servo_free(l->kinds[k]);
	}
	free(l);
	return NULL;
}

uint64_t link_now(const struct link *l)
{
	return l->env.now ? l->env.now(l->env.now_ctx) : rt_now_ns();
}

const char *link_name(const struct link *l)
{
	return conf_ear_name(l->ear);
}

int link_send_id(struct link *l, const uint8_t *buf, size_t len,
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
	l->sent[id % LINK_SENT_RING].ns = link_now(l);
	if (ret_id) {
		*ret_id = id;
	}
	return 0;
}

static int link_send(struct link *l, const uint8_t *buf, size_t len)
{
	return link_send_id(l, buf, len, NULL);
}

/* Back to IDLE: drop the socket, forget the clock model (the earbud may
 * have rebooted), try again after the back-off, doubled each time. */
void link_drop(struct link *l, uint64_t now_ns, const char *why)
{
	struct wheel *w = l->env.wheel;
	unsigned k;

	log_rt_pair_event(
	    LOG_WARNING,
	    l->st.connected ? LOG_EV_LINK_DISCONNECT : LOG_EV_LINK_BACKOFF,
	    log_link_pair(l->env.conf, l->ear), l->ear,
	    LOG_KVS(LOG_KV(LOG_K_BACKOFF_MS, l->backoff_ns / NSEC_PER_MSEC)),
	    "%s ear: %s; reconnecting in %llu ms", link_name(l), why,
	    (unsigned long long)(l->backoff_ns / NSEC_PER_MSEC));
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
	/* The next session's HELLO_ACK (or CONN_UPDATE) says it again. */
	l->ci_next_us = 0;
	link_each_servo(l, k) {
		servo_reset(l->kinds[k]);
	}
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
	unsigned k;

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
}

/* One message in, arrived at rx_ns: the state machine. */
static void link_dispatch(struct link *l, const void *data, size_t len,
			  uint64_t rx_ns, bool has_kernel_ts)
{
	struct link_msg m;
	const char *field = "?";
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
		log_rt_pair_event(
		    LOG_WARNING, LOG_EV_MALFORMED,
		    log_link_pair(l->env.conf, l->ear), l->ear,
		    LOG_KVS(LOG_KV(LOG_K_MALFORMED, r), LOG_KV(LOG_K_LEN, len)),
		    "%s ear: malformed message dropped: %s, %zu bytes",
		    link_name(l),
		    proto_error_name(r) ? proto_error_name(r) : "?", len);
		return;
	}
	if (protorange_check(&m, &field) < 0) {
		l->st.out_of_range++;
		log_rt_pair_event(LOG_WARNING, LOG_EV_MALFORMED,
				  log_link_pair(l->env.conf, l->ear), l->ear,
				  LOG_KVS(LOG_KV(LOG_K_LEN, len)),
				  "%s ear: %s with %s out of range dropped",
				  link_name(l), proto_type_name(m.hdr.type),
				  field);
		/* Without a usable interval or clock there is no session. */
		if (m.hdr.type == LINK_HELLO_ACK &&
		    l->state == LINK_ST_HELLO) {
			link_drop(l, rx_ns, "HELLO_ACK out of range");
		}
		return;
	}
	l->last_rx_ns = rx_ns;
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
	case LINK_CONN_UPDATE:
		link_on_conn_update(l, &m, rx_ns);
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

/* chan_cb.msg: the message, timed in its latency layers. */
static void link_chan_msg(void *user_data, const void *data, size_t len,
			  const struct chan_rx_time *t)
{
	struct link *l = user_data;

	link_lat_rx(l, t);
	link_dispatch(l, data, len, t->arrival_ns, t->has_kernel_ts);
	link_lat_handler(l, t);
}

static void link_chan_closed(void *user_data, int err, uint64_t now_ns)
{
	struct link *l = user_data;

	log_rt_pair_event(
	    LOG_DEBUG, LOG_EV_NONE, log_link_pair(l->env.conf, l->ear), l->ear,
	    LOG_KVS(LOG_KV(LOG_K_ERRNO, err)), "%s ear: %s channel closed: %s",
	    link_name(l), chan_name(l->chan), strerror(-err));
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
		log_rt_pair_event(
		    LOG_INFO, LOG_EV_LINK_CONNECTED,
		    log_link_pair(l->env.conf, l->ear), l->ear,
		    LOG_KVS(LOG_KV(LOG_K_MTU_RX, l->chan->mtu_rx),
			    LOG_KV(LOG_K_MTU_TX, l->chan->mtu_tx)),
		    "%s ear: %s channel open, MTU %u in, %u out, "
		    "completions: %s",
		    link_name(l), chan_name(l->chan), l->chan->mtu_rx,
		    l->chan->mtu_tx, chan_txc_name(l->st.tx_completion));
	} else {
		log_rt_pair_event(
		    LOG_INFO, LOG_EV_LINK_CONNECTED,
		    log_link_pair(l->env.conf, l->ear), l->ear, NULL, 0,
		    "%s ear: %s channel open, completions: %s", link_name(l),
		    chan_name(l->chan), chan_txc_name(l->st.tx_completion));
	}
}

static const struct chan_cb link_chan_cb = {
	.open = link_chan_open,
	.msg = link_chan_msg,
	.closed = link_chan_closed,
	.sent = link_chan_sent,
	.interval = link_chan_interval,
};

static void link_connect(struct link *l, uint64_t now_ns)
{
	int r;

	l->state = LINK_ST_CONNECTING;
	log_rt_pair_event(LOG_DEBUG, LOG_EV_LINK_CONNECT,
			  log_link_pair(l->env.conf, l->ear), l->ear, NULL, 0,
			  "%s ear: connecting (%s)", link_name(l),
			  chan_name(l->chan));
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
		    uint64_t now_ns, uint64_t planned_ns)
{
	/* Header + fixed part + one 10 ms mono S16 frame at 48 kHz. */
	uint8_t buf[LINK_HEADER_SIZE + LINK_AUDIO_FIXED_SIZE + 2048];
	struct link_audio a = {
		.frame_seq = seq,
		.pts_ear_ns = pts_ear_ns,
		.data_len = (uint16_t)len,
		.data = data,
	};
	uint32_t id;
	size_t n;
	int r;

	if (len > 2048) {
		return -EMSGSIZE;
	}
	r = proto_encode_audio(&a, l->tx_seq, flags, buf, sizeof(buf), &n);
	if (r < 0) {
		return r;
	}
	r = link_send_id(l, buf, n, &id);
	if (r < 0) {
		return r;
	}
	link_lat_submit(l, id, planned_ns);
	l->tx_seq++;
	l->tx[seq % LINK_TX_HISTORY].seq = seq;
	l->tx[seq % LINK_TX_HISTORY].tx_ns = now_ns;
	l->tx[seq % LINK_TX_HISTORY].planned_ns =
		planned_ns && planned_ns <= now_ns ? planned_ns : now_ns;
	l->tx[seq % LINK_TX_HISTORY].pts_ear_ns = pts_ear_ns;
	l->st.frames_sent++;
	return 0;
}





void link_set_hists(struct link *l, const struct link_hists *h)
{
	l->hists = *h;
}

void link_get_stats(const struct link *l, struct link_stats *ret)
{
	*ret = l->st;
	ret->state = l->state;
}


void link_reset_stats(struct link *l)
{
	struct link_stats *st = &l->st;

	/* Counters only; states, the interval, MTUs, the earbud's own
	 * cumulative counts and battery describe now and stay. */
	st->connects = st->connected ? 1 : 0;
	st->connect_fails = 0;
	st->disconnects = 0;
	st->hello_timeouts = 0;
	st->supervision_timeouts = 0;
	st->sync_sent = 0;
	st->sync_samples = 0;
	st->sync_lost = 0;
	st->frames_sent = 0;
	st->send_errors = 0;
	st->reports = 0;
	st->not_rendered = 0;
	memset(st->malformed, 0, sizeof(st->malformed));
	st->unexpected = 0;
	st->out_of_range = 0;
	st->rx_no_kernel_ts = 0;
	memset(&st->tx_kernel, 0, sizeof(st->tx_kernel));
	memset(&st->tx_done, 0, sizeof(st->tx_done));
	st->tx_kernel.min_ns = UINT64_MAX;
	st->tx_done.min_ns = UINT64_MAX;
	st->t1_from_done = 0;
	st->t1_done_rejected = 0;
}
