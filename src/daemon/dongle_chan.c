/* SPDX-License-Identifier: MIT */
/*
 * The per-ear channels of an hci-uart dongle (struct chan, daemon/chan.h)
 * on core/hcihost's LE credit-based channels: the chan ops the link calls
 * and the host's channel callbacks, which date what they report with the
 * loop's stamps of the tty read (dongle.c). RT thread only; see
 * dongle_private.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/hcihost.h"
#include "core/macro.h"
#include "daemon/dongle_private.h"
#include "daemon/log.h"
#include "os/l2cap.h"
#include "os/rt.h"

/* ---- hcihost channel callbacks --------------------------------------- */

void dongle_chan_open_cb(void *user_data, unsigned ch)
{
	struct dongle *d = user_data;
	struct donglechan *c = ch < CONF_N_EARS ? d->ch[ch] : NULL;

	if (c) {
		c->chan.is_open = true;
		c->chan.tx_completion = CHAN_TXC_CONTROLLER;
		c->tx_next = 0;
		c->chan.cb.open(c->chan.user_data, rt_now_ns());
	}
}

/*
 * The controller completed the SDU sent as cookie: our own host counts
 * Number Of Completed Packets, so this is the instant the SDU left the
 * dongle's buffers (as read from the tty: the UART's delay is in it).
 * Dated like a received SDU, to when the loop saw the event's bytes, so
 * a completion and a reply read in one go compare as they happened.
 */
void dongle_sent(void *user_data, unsigned ch, uint64_t cookie,
		 uint64_t now_ns)
{
	struct dongle *d = user_data;
	struct donglechan *c = ch < CONF_N_EARS ? d->ch[ch] : NULL;

	if (c && c->chan.is_open && c->chan.cb.sent) {
		c->chan.cb.sent(c->chan.user_data, (uint32_t)cookie,
				CHAN_TX_DONE,
				d->in_input ? d->in_seen_ns : now_ns);
	}
}

/* hcihost_ops.interval: the controller updated the link's interval. */
void dongle_interval(void *user_data, unsigned ch, uint32_t interval_us,
		     uint64_t now_ns)
{
	struct dongle *d = user_data;
	struct donglechan *c = ch < CONF_N_EARS ? d->ch[ch] : NULL;

	if (c && c->chan.is_open && c->chan.cb.interval) {
		c->chan.cb.interval(c->chan.user_data, interval_us,
				    d->in_input ? d->in_seen_ns : now_ns);
	}
}

void dongle_chan_msg(void *user_data, unsigned ch, const uint8_t *sdu,
		     size_t len, uint64_t rx_ns)
{
	struct dongle *d = user_data;
	struct donglechan *c = ch < CONF_N_EARS ? d->ch[ch] : NULL;
	struct chan_rx_time t = {
		.arrival_ns = rx_ns,
		.seen_ns = rx_ns,
		.handler_ns = rx_ns,
	};

	/* No kernel timestamp on a tty: the SDU arrived when the loop saw
	 * the read that completed it, which the UART's own buffering
	 * already delays; the handler is the loop's call of dongle_rx(),
	 * which parsed what came before it in that read too. */
	if (d->in_input) {
		t.arrival_ns = t.seen_ns = d->in_seen_ns;
		t.handler_ns = d->in_handler_ns;
	}
	if (c && c->chan.is_open) {
		c->chan.cb.msg(c->chan.user_data, sdu, len, &t);
	}
}

void dongle_chan_closed(void *user_data, unsigned ch, int err)
{
	struct dongle *d = user_data;
	struct donglechan *c = ch < CONF_N_EARS ? d->ch[ch] : NULL;

	if (!c) {
		return;
	}
	c->chan.is_open = false;
	if (c->closing || c->stale) {
		/* The link closed it and expects no callback (chan_close()),
		 * or heard of it when the dongle went (dongle_lost()); a
		 * reopen asked for meanwhile can go now. */
		c->closing = false;
		c->stale = false;
		if (c->want_open && d->ready) {
			c->want_open = false;
			if (hcihost_open(d->host, ch, &c->peer, c->peer_type,
					 rt_now_ns()) < 0) {
				c->chan.cb.closed(c->chan.user_data, -EIO,
						  rt_now_ns());
			}
		}
		return;
	}
	/* An open that never completed is reported too: the link is
	 * waiting for either outcome. */
	c->chan.cb.closed(c->chan.user_data, err < 0 ? err : -ECONNRESET,
			  rt_now_ns());
}

/* hcihost_ops.link_up: an ATT channel's link is up and secured. */
void dongle_chan_link_up(void *user_data, unsigned ch)
{
	struct dongle *d = user_data;
	struct donglechan *c = ch < CONF_N_EARS ? d->ch[ch] : NULL;

	if (c && !c->closing && !c->stale && c->chan.cb.link_up) {
		c->chan.cb.link_up(c->chan.user_data, rt_now_ns());
	}
}

/* hcihost_ops.att: an ATT PDU from the earbud, dated like an SDU. */
void dongle_chan_att(void *user_data, unsigned ch, const uint8_t *pdu,
		     size_t len, uint64_t rx_ns)
{
	struct dongle *d = user_data;
	struct donglechan *c = ch < CONF_N_EARS ? d->ch[ch] : NULL;

	if (c && !c->closing && !c->stale && c->chan.cb.att) {
		c->chan.cb.att(c->chan.user_data, pdu, len,
			       d->in_input ? d->in_seen_ns : rx_ns);
	}
}

/* ---- chan ops ---------------------------------------------------------- */

static int donglechan_open(struct chan *ch, uint64_t now_ns)
{
	struct donglechan *c = container_of(ch, struct donglechan, chan);
	struct dongle *d = c->d;
	int r;

	if (!d->ready || c->closing) {
		/* Opened when the controller is set up (dongle_ready), or
		 * when the host has closed the last session
		 * (dongle_chan_closed). */
		c->want_open = true;
		return 0;
	}
	r = hcihost_open(d->host, c->ear, &c->peer, c->peer_type, now_ns);
	if (r < 0) {
		ch->cb.closed(ch->user_data, r, now_ns);
	}
	return 0;
}

static int donglechan_send(struct chan *ch, const void *msg, size_t len,
			   uint32_t *ret_id)
{
	struct donglechan *c = container_of(ch, struct donglechan, chan);
	int r;

	r = hcihost_send(c->d->host, c->ear, msg, len, c->tx_next);
	if (r == 0) {
		if (ret_id) {
			*ret_id = c->tx_next;
		}
		c->tx_next++;
	}
	return r;
}

static void donglechan_close(struct chan *ch)
{
	struct donglechan *c = container_of(ch, struct donglechan, chan);

	c->want_open = false;
	if (c->d->ready && hcihost_chan_state(c->d->host, c->ear) !=
				   HCIHOST_CH_IDLE) {
		c->closing = true;
		hcihost_close(c->d->host, c->ear, rt_now_ns());
	}
}

static void donglechan_free(struct chan *ch)
{
	struct donglechan *c = container_of(ch, struct donglechan, chan);

	c->d->ch[c->ear] = NULL;
	free(c);
}

static int donglechan_set_att(struct chan *ch, bool on)
{
	struct donglechan *c = container_of(ch, struct donglechan, chan);

	return hcihost_set_att(c->d->host, c->ear, on);
}

static int donglechan_att_send(struct chan *ch, const void *pdu, size_t len)
{
	struct donglechan *c = container_of(ch, struct donglechan, chan);

	return hcihost_att_send(c->d->host, c->ear, pdu, len);
}

static int donglechan_l2_open(struct chan *ch, uint16_t psm, uint64_t now_ns)
{
	struct donglechan *c = container_of(ch, struct donglechan, chan);

	return hcihost_l2_open(c->d->host, c->ear, psm, now_ns);
}

static int donglechan_flush(struct chan *ch, unsigned *ret)
{
	struct donglechan *c = container_of(ch, struct donglechan, chan);

	return hcihost_flush(c->d->host, c->ear, ret);
}

static int donglechan_tx_state(struct chan *ch, unsigned *ret_queued,
			       unsigned *ret_credits)
{
	struct donglechan *c = container_of(ch, struct donglechan, chan);

	hcihost_tx_state(c->d->host, c->ear, ret_queued, ret_credits);
	return 0;
}

static const struct chan_ops donglechan_ops = {
	.name = "hci-uart",
	.open = donglechan_open,
	.send = donglechan_send,
	.close = donglechan_close,
	.free = donglechan_free,
	.set_att = donglechan_set_att,
	.att_send = donglechan_att_send,
	.l2_open = donglechan_l2_open,
	.flush = donglechan_flush,
	.tx_state = donglechan_tx_state,
};

/*
 * ttwsd.conf's security for ear on this dongle's own host: medium is
 * LE Secure Connections, Just Works, or the bond; none is warned about at
 * every start; high cannot be met (no authenticated pairing without the
 * earbud's input or output) and is refused rather than weakened.
 */
static int dongle_chan_security(struct dongle *d, enum conf_ear ear,
				const struct conf_link *cl)
{
	enum hcihost_security sec = HCIHOST_SECURITY_NONE;
	int r;

	switch (cl->security) {
	case CONF_SECURITY_NONE:
		log_rt_event(LOG_WARNING, LOG_EV_NONE, (int)ear, NULL, 0,
			     "%s ear: hci-uart %s: %s", conf_ear_name(ear),
			     cl->address,
			     conf_security_warning(cl) ?
				     conf_security_warning(cl) :
				     "security = none");
		break;
	case CONF_SECURITY_MEDIUM:
		sec = HCIHOST_SECURITY_ENCRYPT;
		break;
	case CONF_SECURITY_HIGH:
		log_rt_event(LOG_ERR, LOG_EV_NONE, (int)ear, NULL, 0,
			     "%s ear: hci-uart %s: security = high needs a "
			     "key authenticated against a man in the middle, "
			     "which ttwsd's own host cannot get from an earbud "
			     "without input or output (Just Works only): use "
			     "medium",
			     conf_ear_name(ear), cl->address);
		return -EOPNOTSUPP;
	}
	if (sec != HCIHOST_SECURITY_NONE) {
		r = dongle_keys_init(d);
		if (r < 0) {
			return r;
		}
	}
	return hcihost_set_security(d->host, ear, sec);
}

int dongle_chan_new(struct dongle *d, enum conf_ear ear,
		    const struct conf_link *cl, struct chan **ret)
{
	struct l2cap_bdaddr a;
	struct donglechan *c;
	int r;

	if (ear >= CONF_N_EARS) {
		return -EINVAL;
	}
	if (d->ch[ear]) {
		return -EEXIST;
	}
	r = l2cap_bdaddr_parse(cl->address, &a);
	if (r < 0) {
		return r;
	}
	r = dongle_chan_security(d, ear, cl);
	if (r < 0) {
		return r;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		return -ENOMEM;
	}
	c->chan.ops = &donglechan_ops;
	c->d = d;
	c->ear = ear;
	/* Both keep BD_ADDR least significant octet first. */
	memcpy(c->peer.b, a.b, sizeof(c->peer.b));
	c->peer_type = cl->address_random ? HCI_ADDR_RANDOM : HCI_ADDR_PUBLIC;
	if (cl->security != CONF_SECURITY_NONE) {
		dongle_keys_load(d, cl, &c->peer, c->peer_type);
	}
	d->ch[ear] = c;
	*ret = &c->chan;
	return 0;
}
