/* SPDX-License-Identifier: MIT */
#include "sim/simchan.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/macro.h"
#include "core/wheel.h"
#include "sim/simlink.h"
#include "ttws/link.h"

/* Earbud messages are small (the largest is a RENDER_REPORT). */
#define SIMCHAN_MSG_MAX 64
#define SIMCHAN_CHUNK 64

struct simchan;

struct simchan_msg {
	struct wheel_timer timer;
	struct simchan *c;
	struct simchan_msg *next_free;
	uint64_t session;
	size_t len;
	uint8_t buf[SIMCHAN_MSG_MAX];
};

struct simchan_chunk {
	struct simchan_chunk *next;
	struct simchan_msg msg[SIMCHAN_CHUNK];
};

struct simchan {
	struct chan chan; /* first: the link sees this */
	struct wheel *wheel;
	struct simlink *link;
	struct simchan_ops ops;
	void *user_data;
	uint64_t session; /* counts opens; stale deliveries are dropped */
	uint32_t next_id;
	bool opening;
	bool open_ok;
	struct wheel_timer open_timer; /* the connect completes */
	struct wheel_timer down_timer; /* the radio link drops */
	struct simchan_msg *free_msgs;
	struct simchan_chunk *chunks;
};

static struct simchan *to_simchan(struct chan *c)
{
	return container_of(c, struct simchan, chan);
}

static void simchan_down_fire(struct wheel_timer *t, uint64_t now_ns)
{
	struct simchan *s = container_of(t, struct simchan, down_timer);

	if (!s->chan.is_open) {
		return;
	}
	s->chan.is_open = false;
	s->session++;
	if (s->ops.closed) {
		s->ops.closed(s->user_data, -ENOTCONN, now_ns);
	}
	if (s->chan.cb.closed) {
		s->chan.cb.closed(s->chan.user_data, -ENOTCONN, now_ns);
	}
}

static void simchan_open_fire(struct wheel_timer *t, uint64_t now_ns)
{
	struct simchan *s = container_of(t, struct simchan, open_timer);
	uint64_t down, up;

	s->opening = false;
	if (!s->open_ok || !simlink_up(s->link, now_ns)) {
		if (s->ops.closed) {
			s->ops.closed(s->user_data, -EHOSTUNREACH, now_ns);
		}
		if (s->chan.cb.closed) {
			s->chan.cb.closed(s->chan.user_data, -EHOSTUNREACH,
					  now_ns);
		}
		return;
	}
	s->chan.is_open = true;
	s->session++;
	s->next_id = 0;
	if (simlink_drop(s->link, &down, &up) == 0 && down > now_ns) {
		wheel_add(s->wheel, &s->down_timer, down);
	}
	s->ops.opened(s->user_data, now_ns);
	if (s->chan.cb.open) {
		s->chan.cb.open(s->chan.user_data, now_ns);
	}
}

static int simchan_open(struct chan *c, uint64_t now_ns)
{
	struct simchan *s = to_simchan(c);
	uint64_t ci = (uint64_t)simlink_ci_us(s->link, now_ns) * NSEC_PER_USEC;

	if (s->opening) {
		return -EALREADY;
	}
	s->opening = true;
	s->open_ok = simlink_up(s->link, now_ns);
	return wheel_add(s->wheel, &s->open_timer,
			 now_ns + SIMCHAN_OPEN_EVENTS * ci);
}

static int simchan_send(struct chan *c, const void *msg, size_t len,
			uint32_t *ret_id)
{
	struct simchan *s = to_simchan(c);
	uint64_t now = wheel_now(s->wheel);

	if (ret_id) {
		*ret_id = s->next_id;
	}
	s->next_id++;
	s->ops.to_ear(s->user_data, msg, len, now);
	return 0;
}

static void simchan_close(struct chan *c)
{
	struct simchan *s = to_simchan(c);

	s->session++;
	s->opening = false;
	wheel_cancel(s->wheel, &s->open_timer);
	wheel_cancel(s->wheel, &s->down_timer);
}

static void simchan_free(struct chan *c)
{
	struct simchan *s = to_simchan(c);

	while (s->chunks) {
		struct simchan_chunk *k = s->chunks;

		s->chunks = k->next;
		free(k);
	}
	free(s);
}

static const struct chan_ops simchan_chan_ops = {
	.name = "virtual",
	.open = simchan_open,
	.send = simchan_send,
	.close = simchan_close,
	.free = simchan_free,
};

int simchan_new(struct wheel *wheel, struct simlink *link,
		const struct simchan_ops *ops, void *user_data,
		struct chan **ret)
{
	struct simchan *s = calloc(1, sizeof(*s));

	if (!s) {
		return -ENOMEM;
	}
	s->chan.ops = &simchan_chan_ops;
	s->chan.tx_completion = CHAN_TXC_NONE;
	s->wheel = wheel;
	s->link = link;
	s->ops = *ops;
	s->user_data = user_data;
	wheel_timer_init(&s->open_timer, WHEEL_HARD, 0, simchan_open_fire);
	wheel_timer_init(&s->down_timer, WHEEL_HARD, 0, simchan_down_fire);
	*ret = &s->chan;
	return 0;
}

static struct simchan_msg *simchan_msg_get(struct simchan *s)
{
	struct simchan_msg *m;

	if (!s->free_msgs) {
		struct simchan_chunk *k = calloc(1, sizeof(*k));

		if (!k) {
			return NULL;
		}
		k->next = s->chunks;
		s->chunks = k;
		for (int i = 0; i < SIMCHAN_CHUNK; i++) {
			k->msg[i].next_free = s->free_msgs;
			s->free_msgs = &k->msg[i];
		}
	}
	m = s->free_msgs;
	s->free_msgs = m->next_free;
	return m;
}

static void simchan_msg_fire(struct wheel_timer *t, uint64_t now_ns)
{
	struct simchan_msg *m = container_of(t, struct simchan_msg, timer);
	struct simchan *s = m->c;
	struct chan_rx_time rt = {
		.arrival_ns = now_ns,
		.seen_ns = now_ns,
		.handler_ns = now_ns,
		.has_kernel_ts = true,
	};

	if (m->session == s->session && s->chan.is_open) {
		if (s->ops.from_ear) {
			s->ops.from_ear(s->user_data, m->buf, m->len, now_ns);
		}
		if (s->chan.cb.msg) {
			s->chan.cb.msg(s->chan.user_data, m->buf, m->len, &rt);
		}
	}
	m->next_free = s->free_msgs;
	s->free_msgs = m;
}

void simchan_deliver(struct chan *c, const uint8_t *msg, size_t len,
		     uint64_t rx_ns)
{
	struct simchan *s = to_simchan(c);
	struct simchan_msg *m;

	if (len > SIMCHAN_MSG_MAX || !s->chan.is_open) {
		return;
	}
	m = simchan_msg_get(s);
	if (!m) {
		return;
	}
	wheel_timer_init(&m->timer, WHEEL_HARD, 0, simchan_msg_fire);
	m->c = s;
	m->session = s->session;
	m->len = len;
	memcpy(m->buf, msg, len);
	if (wheel_add(s->wheel, &m->timer, MAX(rx_ns, wheel_now(s->wheel))) <
	    0) {
		m->next_free = s->free_msgs;
		s->free_msgs = m;
	}
}
