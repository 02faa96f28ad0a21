/* SPDX-License-Identifier: MIT */
/*
 * One ASHA hearing aid (daemon/ashaear.h): its ATT channel, core/ashac's
 * discovery and control writes on it, the audio channel on the PSM the
 * aid names, and the back-off when any of it fails.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/ashac.h"
#include "core/hcihost.h"
#include "core/macro.h"
#include "core/wheel.h"
#include "daemon/ashaear.h"
#include "daemon/bounds.h"
#include "daemon/chan.h"
#include "daemon/log.h"
#include "os/rt.h"

/* Start until the aid's AudioStatus: Android gives it no deadline; 2 s
 * is ten times what Bumble and real aids take (tests/asha). */
#define ASHAEAR_START_TIMEOUT_NS (2 * NSEC_PER_SEC)
/* Slack of the soft timers (ATT timeouts, back-off). */
#define ASHAEAR_SLACK_NS (10 * NSEC_PER_MSEC)

struct ashaear {
	unsigned ear;
	struct chan *chan;
	struct wheel *wheel;
	const struct conf *conf;
	const char *pair;
	const struct ashaear_ops *ops;
	void *user;
	enum ashaear_state state;
	bool link_up;          /* the LE link was up this attempt */
	uint64_t now_ns;       /* of the entry point running */
	struct ashac gc;
	struct wheel_timer tick_timer;  /* ashac's deadline */
	struct wheel_timer retry_timer; /* back-off, or Start again */
	uint64_t backoff_ns;
	struct ashaear_stats st;
};

/* ashac's next deadline on the wheel (after every entry point). */
static void ashaear_rearm(struct ashaear *a)
{
	uint64_t t = ashac_next_deadline(&a->gc);

	wheel_cancel(a->wheel, &a->tick_timer);
	if (t != UINT64_MAX && a->state >= ASHAEAR_DISCOVERING &&
	    a->state <= ASHAEAR_STREAMING) {
		wheel_add(a->wheel, &a->tick_timer, t);
	}
}

static void ashaear_retry_in(struct ashaear *a, uint64_t delay_ns)
{
	wheel_cancel(a->wheel, &a->retry_timer);
	wheel_add(a->wheel, &a->retry_timer, a->now_ns + delay_ns);
}

/* The next back-off: [reconnect] backoff_min_ms, doubling to _max_ms. */
static uint64_t ashaear_backoff(struct ashaear *a)
{
	uint64_t d = a->backoff_ns;

	if (d < a->conf->reconnect.backoff_min_ns) {
		d = a->conf->reconnect.backoff_min_ns;
	}
	a->backoff_ns = MIN(2 * d, a->conf->reconnect.backoff_max_ns);
	return d;
}

/* This attempt is over (err): close, tell the pair, retry later. */
static void ashaear_fail(struct ashaear *a, int err, const char *why)
{
	bool had_link = a->link_up;
	enum ashaear_state was = a->state;
	uint64_t d;

	a->st.last_err = err;
	chan_close(a->chan);
	a->link_up = false;
	a->state = ASHAEAR_BACKOFF;
	wheel_cancel(a->wheel, &a->tick_timer);
	d = ashaear_backoff(a);
	ashaear_retry_in(a, d);
	log_rt_pair_event(LOG_WARNING, LOG_EV_NONE, a->pair, (int)a->ear,
			  LOG_KVS(LOG_KV(LOG_K_ERRNO, -err)),
			  "%s aid (asha): %s while %s; again in %llu ms",
			  conf_ear_name(a->ear), why,
			  ashaear_state_name(was),
			  (unsigned long long)(d / NSEC_PER_MSEC));
	if (had_link) {
		if (was >= ASHAEAR_READY) {
			a->st.disconnects++;
		}
		a->ops->gone(a->user, a->ear, err, a->now_ns);
	}
}

/* ---- ashac's callbacks --------------------------------------------- */

static int ashaear_gc_send(void *user, const uint8_t *pdu, size_t len)
{
	struct ashaear *a = user;

	return chan_att_send(a->chan, pdu, len);
}

static void ashaear_gc_ready(void *user, const struct asha_props *props,
			     uint16_t psm)
{
	struct ashaear *a = user;
	const char *why = "refused";
	int r;

	a->st.discoveries++;
	a->st.have_props = true;
	a->st.props = *props;
	a->st.psm = psm;
	r = a->ops->discovered(a->user, a->ear, props, &why);
	if (r < 0) {
		a->st.refusals++;
		ashaear_fail(a, r, why);
		return;
	}
	a->state = ASHAEAR_OPENING;
	r = chan_l2_open(a->chan, psm, a->now_ns);
	if (r < 0) {
		ashaear_fail(a, r, "the audio channel could not be asked for");
	}
}

static void ashaear_gc_failed(void *user, int err, const char *why)
{
	struct ashaear *a = user;

	if (a->state == ASHAEAR_DISCOVERING) {
		a->st.discovery_failures++;
	}
	ashaear_fail(a, err, why);
}

static void ashaear_gc_status(void *user, int8_t status)
{
	struct ashaear *a = user;

	a->st.last_status = status;
}

static void ashaear_gc_start_done(void *user, int err, const char *why)
{
	struct ashaear *a = user;
	int8_t status = 0;

	if (a->state != ASHAEAR_STARTING) {
		return;
	}
	ashac_last_status(&a->gc, &status);
	if (err == 0) {
		a->state = ASHAEAR_STREAMING;
		a->backoff_ns = 0;
		log_rt_pair_event(LOG_INFO, LOG_EV_NONE, a->pair, (int)a->ear,
				  NULL, 0, "%s aid (asha): streaming",
				  conf_ear_name(a->ear));
		a->ops->started(a->user, a->ear, 0, status, a->now_ns);
		return;
	}
	a->st.start_failures++;
	if (err == -ETIMEDOUT) {
		a->st.start_timeouts++;
	}
	/* The link stays; Start again after the back-off (ready again). */
	a->state = ASHAEAR_READY;
	ashac_audio_stop(&a->gc, a->now_ns);
	a->ops->started(a->user, a->ear, err == -ETIMEDOUT ? -ETIMEDOUT :
							   -EPROTO,
			status, a->now_ns);
	log_rt_pair_event(LOG_WARNING, LOG_EV_NONE, a->pair, (int)a->ear,
			  LOG_KVS(LOG_KV(LOG_K_ERRNO, -err)),
			  "%s aid (asha): Start refused: %s (AudioStatus %d)",
			  conf_ear_name(a->ear), why, status);
	ashaear_retry_in(a, ashaear_backoff(a));
}

static const struct ashac_ops ashaear_gc_ops = {
	.send = ashaear_gc_send,
	.ready = ashaear_gc_ready,
	.failed = ashaear_gc_failed,
	.status = ashaear_gc_status,
	.start_done = ashaear_gc_start_done,
};

/* ---- the channel's callbacks ---------------------------------------- */

static void ashaear_link_up(void *user, uint64_t now_ns)
{
	struct ashaear *a = user;
	struct ashac_cfg cfg = {
		.mtu = HCIHOST_ATT_MTU,
		.att_timeout_ns = ASHAC_ATT_TIMEOUT_NS,
		.start_timeout_ns = ASHAEAR_START_TIMEOUT_NS,
	};

	a->now_ns = now_ns;
	a->link_up = true;
	a->st.connects++;
	a->state = ASHAEAR_DISCOVERING;
	/* Cannot fail: the configuration above is valid. */
	ashac_init(&a->gc, &cfg, &ashaear_gc_ops, a);
	ashac_start(&a->gc, now_ns);
	ashaear_rearm(a);
}

static void ashaear_att(void *user, const uint8_t *pdu, size_t len,
			uint64_t now_ns)
{
	struct ashaear *a = user;

	a->now_ns = now_ns;
	if (ashac_input(&a->gc, pdu, len, now_ns) < 0) {
		a->st.att_malformed++;
	}
	ashaear_rearm(a);
}

static void ashaear_open(void *user, uint64_t now_ns)
{
	struct ashaear *a = user;

	a->now_ns = now_ns;
	if (a->state != ASHAEAR_OPENING) {
		return;
	}
	a->state = ASHAEAR_READY;
	a->ops->ready(a->user, a->ear, now_ns);
	ashaear_rearm(a);
}

static void ashaear_msg(void *user, const void *msg, size_t len,
			const struct chan_rx_time *t)
{
	/* ASHA's audio channel carries audio one way only. */
	(void)user;
	(void)msg;
	(void)len;
	(void)t;
}

static void ashaear_closed(void *user, int err, uint64_t now_ns)
{
	struct ashaear *a = user;

	a->now_ns = now_ns;
	if (a->state == ASHAEAR_STOPPING || a->state == ASHAEAR_IDLE) {
		/* Let go: nothing to retry. */
		a->state = ASHAEAR_IDLE;
		a->link_up = false;
		return;
	}
	ashaear_fail(a, err, a->link_up ? "the link went" :
					  "no link");
}

static void ashaear_sent(void *user, uint32_t id, enum chan_tx_point point,
			 uint64_t ns)
{
	struct ashaear *a = user;

	if (point == CHAN_TX_DONE && a->state == ASHAEAR_STREAMING) {
		a->ops->sent(a->user, a->ear, id, ns);
	}
}

/*
 * The controller moved the aid's link to a new connection interval (LE
 * Connection Update Complete): an aid that streams is told, as Android
 * does (ASHA's Status "connection parameters updated"), so that it can
 * re-time its playback to the new connection events.
 */
static void ashaear_interval(void *user, uint32_t ci_us, uint64_t now_ns)
{
	struct ashaear *a = user;

	a->now_ns = now_ns;
	a->st.conn_interval_us = ci_us;
	a->st.interval_updates++;
	if (a->state == ASHAEAR_STREAMING &&
	    ashaear_status(a, ASHA_UPDATE_CONN_PARAMS, now_ns) == 0) {
		a->st.conn_params_told++;
	}
}

static const struct chan_cb ashaear_chan_cb = {
	.open = ashaear_open,
	.msg = ashaear_msg,
	.closed = ashaear_closed,
	.sent = ashaear_sent,
	.interval = ashaear_interval,
	.link_up = ashaear_link_up,
	.att = ashaear_att,
};

/* ---- timers ------------------------------------------------------- */

static void ashaear_tick(struct wheel_timer *t, uint64_t now_ns)
{
	struct ashaear *a = container_of(t, struct ashaear, tick_timer);

	a->now_ns = now_ns;
	ashac_tick(&a->gc, now_ns);
	ashaear_rearm(a);
}

static void ashaear_retry(struct wheel_timer *t, uint64_t now_ns)
{
	struct ashaear *a = container_of(t, struct ashaear, retry_timer);

	a->now_ns = now_ns;
	if (a->state == ASHAEAR_READY) {
		a->ops->ready(a->user, a->ear, now_ns);
		ashaear_rearm(a);
	} else if (a->state == ASHAEAR_BACKOFF) {
		ashaear_connect(a, now_ns);
	}
}

/* ---- the pair's calls ---------------------------------------------- */

int ashaear_new(unsigned ear, struct chan *c, struct wheel *w,
		const struct conf *conf, const char *pair,
		const struct ashaear_ops *ops, void *user_data,
		struct ashaear **ret)
{
	struct ashaear *a;
	int r;

	r = chan_set_att(c, true);
	if (r < 0) {
		chan_free(c);
		return r;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		chan_free(c);
		return -ENOMEM;
	}
	a->ear = ear;
	a->chan = c;
	a->wheel = w;
	a->conf = conf;
	a->pair = pair;
	a->ops = ops;
	a->user = user_data;
	wheel_timer_init(&a->tick_timer, WHEEL_SOFT, ASHAEAR_SLACK_NS,
			 ashaear_tick);
	wheel_timer_init(&a->retry_timer, WHEEL_SOFT, ASHAEAR_SLACK_NS,
			 ashaear_retry);
	chan_set_cb(c, &ashaear_chan_cb, a);
	*ret = a;
	return 0;
}

struct ashaear *ashaear_free(struct ashaear *a)
{
	if (!a) {
		return NULL;
	}
	wheel_cancel(a->wheel, &a->tick_timer);
	wheel_cancel(a->wheel, &a->retry_timer);
	chan_free(a->chan);
	free(a);
	return NULL;
}

void ashaear_connect(struct ashaear *a, uint64_t now_ns)
{
	int r;

	a->now_ns = now_ns;
	a->state = ASHAEAR_CONNECTING;
	a->link_up = false;
	r = chan_open(a->chan, now_ns);
	if (r < 0) {
		ashaear_fail(a, r, "the channel could not be opened");
	}
}

int ashaear_audio_start(struct ashaear *a, bool other_connected, int volume,
			uint64_t now_ns)
{
	int r;

	if (a->state != ASHAEAR_READY) {
		return -EBUSY;
	}
	a->now_ns = now_ns;
	r = ashac_audio_start(&a->gc, ASHA_CODEC_G722_16K, ASHA_AUDIO_MEDIA,
			      volume, other_connected, now_ns);
	if (r == 0) {
		a->st.starts++;
		a->state = ASHAEAR_STARTING;
	} else {
		/* Not written (the client's queue is full, say): the aid
		 * stays ready and is offered to the pair again later. */
		if (r == -ENOBUFS) {
			bounds_count(BOUNDS_ASHA_CONTROL, 1);
		}
		a->st.start_failures++;
		ashaear_retry_in(a, ashaear_backoff(a));
	}
	ashaear_rearm(a);
	return r;
}

int ashaear_status(struct ashaear *a, enum asha_update what, uint64_t now_ns)
{
	int r;

	if (a->state != ASHAEAR_STREAMING) {
		return -ENOTCONN;
	}
	a->now_ns = now_ns;
	r = ashac_status_update(&a->gc, what, now_ns);
	if (r == 0) {
		a->st.status_writes++;
	} else if (r == -ENOBUFS) {
		bounds_count(BOUNDS_ASHA_CONTROL, 1);
	}
	ashaear_rearm(a);
	return r;
}

int ashaear_volume(struct ashaear *a, int volume, uint64_t now_ns)
{
	int r;

	a->now_ns = now_ns;
	r = ashac_volume(&a->gc, volume, now_ns);
	if (r == 0) {
		a->st.volume_writes++;
	} else if (r == -ENOBUFS) {
		bounds_count(BOUNDS_ASHA_CONTROL, 1);
	}
	ashaear_rearm(a);
	return r;
}

int ashaear_send(struct ashaear *a, const uint8_t *sdu, size_t len,
		 uint32_t *ret_id)
{
	int r;

	if (a->state != ASHAEAR_STREAMING) {
		return -ENOTCONN;
	}
	r = chan_send(a->chan, sdu, len, ret_id);
	if (r == 0) {
		a->st.sdus_sent++;
	} else {
		a->st.tx_full++;
	}
	return r;
}

void ashaear_tx_state(const struct ashaear *a, unsigned *ret_queued,
		      unsigned *ret_credits)
{
	chan_tx_state(a->chan, ret_queued, ret_credits);
}

int ashaear_flush(struct ashaear *a, unsigned *ret)
{
	return chan_flush(a->chan, ret);
}

void ashaear_close(struct ashaear *a, uint64_t now_ns)
{
	a->now_ns = now_ns;
	wheel_cancel(a->wheel, &a->retry_timer);
	if (a->state == ASHAEAR_STREAMING &&
	    ashac_audio_stop(&a->gc, now_ns) == 0) {
		/* Written behind whatever ATT work is queued: the link stays
		 * until it went (ashaear_stopped()). */
		a->st.stops++;
		a->state = ASHAEAR_STOPPING;
		return;
	}
	wheel_cancel(a->wheel, &a->tick_timer);
	chan_close(a->chan);
	a->state = ASHAEAR_IDLE;
	a->link_up = false;
}

/* Whether the client has no ATT work left: nothing out, nothing queued,
 * or a bearer that will carry nothing more. (Reads struct ashac's
 * fields, which ashac.h makes public for embedding.) */
static bool ashaear_gc_idle(const struct ashac *c)
{
	return c->dead || c->state == ASHAC_FAILED ||
	       (c->req == 0 && c->q_len == 0 && c->cur.kind == ASHAC_OP_NONE);
}

bool ashaear_stopped(struct ashaear *a, bool force)
{
	if (a->state != ASHAEAR_STOPPING) {
		return true;
	}
	/* Nothing of ATT left to send or to wait for: Stop was answered
	 * (the Write Response), or the bearer is dead. */
	if (!force && !ashaear_gc_idle(&a->gc)) {
		return false;
	}
	wheel_cancel(a->wheel, &a->tick_timer);
	chan_close(a->chan);
	a->state = ASHAEAR_IDLE;
	a->link_up = false;
	return true;
}

enum ashaear_state ashaear_state(const struct ashaear *a)
{
	return a->state;
}

void ashaear_get_stats(const struct ashaear *a, struct ashaear_stats *ret)
{
	*ret = a->st;
	ret->state = a->state;
	ret->att_mtu = a->link_up ? ashac_mtu(&a->gc) : 0;
	ret->att_malformed += a->link_up ? a->gc.stats.malformed : 0;
}

void ashaear_reset_stats(struct ashaear *a)
{
	struct ashaear_stats keep = a->st;

	memset(&a->st, 0, sizeof(a->st));
	a->st.have_props = keep.have_props;
	a->st.props = keep.props;
	a->st.psm = keep.psm;
	a->st.last_status = keep.last_status;
}
