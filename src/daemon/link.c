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
	l->ci_seen = false;
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
	/* The earbud numbers from 0 again, and owes us nothing yet. */
	protoseq_reset(&l->rx_seq);
	l->bad_run = 0;
	l->ci_seen = false;
	l->sync_done_valid = false;

	h.version_max = LINK_VERSION;
	h.role = l->ear == CONF_EAR_LEFT ? LINK_ROLE_LEFT : LINK_ROLE_RIGHT;
	h.codec = l->env.conf->stream.codec == CONF_CODEC_LC3 ?
			  LINK_CODEC_LC3 :
			  LINK_CODEC_PCM_S16;
	l->hello_codec = h.codec;
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
	/* The channel opened and our HELLO waited hello_timeout_ms for an
	 * answer: that wait already spaces the attempts, so the next one
	 * follows after the shortest back-off. An earbud that was frozen
	 * (its socket open, the kernel accepting for it) then answers within
	 * backoff_min_ms of running again, however long it was away. */
	if (l->state == LINK_ST_HELLO) {
		l->backoff_ns = l->env.conf->reconnect.backoff_min_ns;
	}
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
	l->tx[seq % LINK_TX_HISTORY].reported = false;
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
	st->bad_resets = 0;
	l->rx_seq.gaps = 0;
	l->rx_seq.late = 0;
	st->rx_seq_gaps = 0;
	st->rx_seq_late = 0;
	st->rx_no_kernel_ts = 0;
	memset(&st->tx_kernel, 0, sizeof(st->tx_kernel));
	memset(&st->tx_done, 0, sizeof(st->tx_done));
	st->tx_kernel.min_ns = UINT64_MAX;
	st->tx_done.min_ns = UINT64_MAX;
	st->t1_from_done = 0;
	st->t1_done_rejected = 0;
}
