/* SPDX-License-Identifier: MIT */
/*
 * core/hcihost's ATT bearers (hcihost_private.h): on a channel asked for
 * with hcihost_set_att(), the host carries ATT PDUs on the LE link's
 * fixed channel 0x0004 for a GATT client above it, and opens the L2CAP
 * channel only when that client has learnt the PSM (ASHA's LE_PSM_OUT:
 * the audio channel's PSM is an attribute of the hearing aid, not ours
 * to configure). The host never parses ATT: it only frames and routes.
 * "A" is Core 5.4, Vol 3, Part A.
 */

#include <errno.h>
#include <string.h>

#include "core/hcihost.h"
#include "core/hcihost_private.h"
#include "core/l2le.h"

void hh_link_secured(struct hcihost *h, unsigned i)
{
	struct hh_chan *c = &h->ch[i];

	if (!c->att) {
		hh_l2_connect(h, i);
		return;
	}
	/* The GATT client's transactions have their own timeout (30 s,
	 * Vol 3, Part F, 3.3.3); the L2CAP set-up timer starts with
	 * hcihost_l2_open(). */
	c->att_up = true;
	c->deadline_ns = 0;
	hh_debug(h, "channel %u: ATT bearer up", i);
	if (h->ops->link_up) {
		h->ops->link_up(h->user_data, i);
	}
}

void hh_att_chan_reset(struct hh_chan *c)
{
	c->att_up = false;
	c->l2_asked = false;
	c->psm = 0;
	c->att_head = 0;
	c->att_count = 0;
}

void hh_att_on_pdu(struct hcihost *h, unsigned i, const uint8_t *p,
		   size_t len)
{
	struct hh_chan *c = &h->ch[i];

	if (!c->att_up) {
		/* Before the link is secured nothing reaches the client:
		 * what it would read must not come over a plain link. */
		h->stats.att_early++;
		return;
	}
	if (len == 0 || len > HCIHOST_ATT_MTU) {
		/* We never offer more than HCIHOST_ATT_MTU (Vol 3, Part F,
		 * 3.2.8): a longer PDU breaks ATT's own rule. */
		h->stats.att_oversize++;
		return;
	}
	h->stats.att_rx++;
	if (h->ops->att) {
		h->ops->att(h->user_data, i, p, len, h->now_ns);
	}
}

bool hh_att_next_pdu(struct hh_chan *c, uint8_t *pdu, size_t cap,
		     size_t *ret_len)
{
	unsigned k = c->att_head;
	size_t n = c->att_tx_len[k];

	if (c->att_count == 0 || n > cap) {
		return false;
	}
	memcpy(pdu, c->att_tx[k], n);
	c->att_head = (k + 1) % HCIHOST_ATT_QUEUE;
	c->att_count--;
	return *ret_len = n, true;
}

int hcihost_set_att(struct hcihost *h, unsigned ch, bool on)
{
	if (ch >= HCIHOST_MAX_CHANS) {
		return -EINVAL;
	}
	if (on && h->cfg.role != HCIHOST_CENTRAL) {
		return -EOPNOTSUPP;
	}
	if (h->ch[ch].state != HCIHOST_CH_IDLE) {
		return -EBUSY;
	}
	h->ch[ch].att = on;
	return 0;
}

int hcihost_att_send(struct hcihost *h, unsigned ch, const uint8_t *pdu,
		     size_t len)
{
	struct hh_chan *c;
	uint8_t *f;
	unsigned k;

	if (ch >= HCIHOST_MAX_CHANS || !pdu) {
		return -EINVAL;
	}
	if (len == 0 || len > HCIHOST_ATT_MTU) {
		return -EMSGSIZE;
	}
	c = &h->ch[ch];
	if (!c->att_up || c->state == HCIHOST_CH_CLOSING) {
		return -ENOTCONN;
	}
	if (c->att_count == HCIHOST_ATT_QUEUE) {
		h->stats.att_queue_full++;
		return -ENOBUFS;
	}
	/* A 3.1: a basic frame, Length and Channel ID then the PDU. */
	k = (c->att_head + c->att_count) % HCIHOST_ATT_QUEUE;
	f = c->att_tx[k];
	f[0] = (uint8_t)len;
	f[1] = (uint8_t)(len >> 8);
	f[2] = (uint8_t)HH_ATT_CID;
	f[3] = (uint8_t)(HH_ATT_CID >> 8);
	memcpy(f + L2LE_HDR_SIZE, pdu, len);
	c->att_tx_len[k] = (uint8_t)(L2LE_HDR_SIZE + len);
	c->att_count++;
	h->stats.att_tx++;
	hh_enter(h, 0);
	hh_leave(h);
	return 0;
}

int hcihost_l2_open(struct hcihost *h, unsigned ch, uint16_t psm,
		    uint64_t now_ns)
{
	struct hh_chan *c;

	/* A 4.22: an LE SPSM is 0x0001-0x00ff. */
	if (ch >= HCIHOST_MAX_CHANS || psm == 0 || psm > 0x00ff) {
		return -EINVAL;
	}
	c = &h->ch[ch];
	if (!c->att) {
		return -EPERM;
	}
	if (!c->att_up || c->state != HCIHOST_CH_L2CAP) {
		return -ENOTCONN;
	}
	if (c->l2_asked) {
		return -EALREADY;
	}
	hh_enter(h, now_ns);
	c->l2_asked = true;
	c->psm = psm;
	c->deadline_ns = h->now_ns + h->cfg.connect_timeout_ns;
	hh_l2_connect(h, ch);
	hh_leave(h);
	return 0;
}
