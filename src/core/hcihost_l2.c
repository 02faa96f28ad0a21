/* SPDX-License-Identifier: MIT */
/*
 * core/hcihost's L2CAP LE credit-based channels (hcihost_private.h): the
 * LE signaling channel, K-frames in and out, ACL fragmentation to the
 * controller's buffers and the completions that free them. "A" is
 * Core 5.4, Vol 3, Part A; "E" Vol 4, Part E.
 */

#include <errno.h>
#include <string.h>

#include "core/acl.h"
#include "core/h4.h"
#include "core/hcihost.h"
#include "core/hcihost_private.h"
#include "core/l2le.h"
#include "core/macro.h"

void hh_sig_push(struct hcihost *h, struct hh_chan *c,
		 const uint8_t *pdu, size_t len)
{
	unsigned k;

	if (c->sig_count == HH_SIG_QUEUE || len > L2LE_SIG_MAX) {
		h->stats.l2cap_errors++;
		if (c->sig_count == HH_SIG_QUEUE) {
			h->stats.sig_queue_full++;
		}
		return;
	}
	k = (c->sig_head + c->sig_count) % HH_SIG_QUEUE;
	memcpy(c->sig[k], pdu, len);
	c->sig_len[k] = (uint8_t)len;
	c->sig_count++;
}

uint8_t hh_next_ident(struct hh_chan *c)
{
	/* A 4: Identifier 0 is never used. */
	c->ident = (uint8_t)(c->ident + 1);
	if (c->ident == 0) {
		c->ident = 1;
	}
	return c->ident;
}

void hh_l2_init(struct hcihost *h, struct hh_chan *c)
{
	struct l2le_local local = {
		.mtu = h->cfg.mtu,
		.mps = h->cfg.mps,
		.credits = h->cfg.rx_credits,
	};

	if (local.mps == 0) {
		local.mps = h->acl_len > ACL_L2CAP_HDR_SIZE ?
				    (uint16_t)(h->acl_len - ACL_L2CAP_HDR_SIZE) :
				    L2LE_MPS_MIN;
		local.mps = MAX(local.mps, (uint16_t)L2LE_MPS_MIN);
		local.mps = MIN(local.mps, (uint16_t)HH_MPS_MAX);
	}
	/* Checked in hcihost_new(): cannot fail. */
	l2le_chan_init(&c->l2, &local, c->l2_rx, sizeof(c->l2_rx));
}

/* The next K-frame of channel c's SDU queue into pdu; false if none
 * (nothing queued, or no credit). */
static bool hh_next_kframe(struct hcihost *h, struct hh_chan *c,
			   uint8_t *pdu, size_t cap, size_t *ret_len)
{
	int r;

	if (c->state != HCIHOST_CH_OPEN) {
		return false;
	}
	while (!l2le_tx_busy(&c->l2) && c->txq_count > 0) {
		struct hh_sdu *s = &c->txq[c->txq_head];

		if (l2le_send(&c->l2, s->data, s->len) == 0) {
			c->txq_started = true;
			break;
		}
		/* Checked by hcihost_send(); the MTU cannot shrink. */
		h->stats.l2cap_errors++;
		c->txq_head = (c->txq_head + 1) % HCIHOST_TX_QUEUE;
		c->txq_count--;
	}
	r = l2le_next_kframe(&c->l2, pdu, cap, ret_len);
	if (r == -EAGAIN) {
		/* A 10.1: no credit; a Flow Control Credit Ind resumes. */
		if (!c->stalled) {
			c->stalled = true;
			h->stats.tx_stalls++;
		}
		return false;
	}
	if (r < 0) {
		return false;
	}
	c->stalled = false;
	if (!l2le_tx_busy(&c->l2)) {
		/* The SDU's last K-frame: its queue slot is free (the
		 * frame was copied out) and its cookie rides along. */
		c->frag_sdu_end = true;
		c->frag_cookie = c->txq[c->txq_head].cookie;
		c->txq_head = (c->txq_head + 1) % HCIHOST_TX_QUEUE;
		c->txq_count--;
		c->txq_started = false;
		h->stats.sdus_tx++;
	}
	return true;
}

/* The next L2CAP PDU of channel c, signaling first, into its txbuf;
 * false if none. */
static bool hh_next_pdu(struct hcihost *h, struct hh_chan *c)
{
	uint8_t *pdu = c->txbuf + 1 + ACL_HDR_SIZE;
	size_t cap = sizeof(c->txbuf) - 1 - ACL_HDR_SIZE;
	size_t n;

	c->frag_sdu_end = false;
	if (hh_sec_next_pdu(c, pdu, cap, &n)) {
		/* SMP first: pairing holds the channel back. */
	} else if (hh_att_next_pdu(c, pdu, cap, &n)) {
		/* ATT before audio: a control write must not wait for a
		 * queue of SDUs. */
	} else if (c->sig_count > 0) {
		n = c->sig_len[c->sig_head];
		memcpy(pdu, c->sig[c->sig_head], n);
		c->sig_head = (c->sig_head + 1) % HH_SIG_QUEUE;
		c->sig_count--;
	} else if (!hh_next_kframe(h, c, pdu, cap, &n)) {
		return false;
	}
	/* A first fragment from an LE host is non-flushable (E 5.4.2). */
	if (acl_frag_init(&c->frag, c->handle, pdu, n, h->acl_len,
			  ACL_PB_FIRST_NON_FLUSHABLE) < 0) {
		h->stats.l2cap_errors++;
		return false;
	}
	return true;
}

/* One ACL packet of channel i, if it has one and the controller room.
 * Returns 1 sent, 0 nothing to send, < 0 the host failed. */
static int hh_send_fragment(struct hcihost *h, unsigned i)
{
	struct hh_chan *c = &h->ch[i];
	size_t n, len;
	bool last;
	int r;

	if (c->handle == ACL_HANDLE_NONE || c->state == HCIHOST_CH_CLOSING) {
		return 0;
	}
	if (!acl_frag_pending(&c->frag) && !hh_next_pdu(h, c)) {
		return 0;
	}
	r = acl_frag_next(&c->frag, c->txbuf + 1, sizeof(c->txbuf) - 1, &n);
	if (r < 0) {
		h->stats.l2cap_errors++;
		memset(&c->frag, 0, sizeof(c->frag));
		return 0;
	}
	r = h4_encode(H4_ACL, c->txbuf + 1, n, c->txbuf, sizeof(c->txbuf),
		      &len);
	if (r < 0) {
		h->stats.l2cap_errors++;
		return 0;
	}
	last = !acl_frag_pending(&c->frag) && c->frag_sdu_end;
	if (last) {
		c->done[(c->done_head + c->done_count) % ACL_FLOW_DEPTH] =
			c->frag_cookie;
		c->done_count++;
	}
	r = hh_write(h, c->txbuf, len);
	if (r < 0) {
		return r;
	}
	/* Room was checked: cannot fail. */
	acl_flow_sent(&h->flow, c->handle, last ? HH_COOKIE_SDU_END : 0);
	h->stats.acl_tx++;
	return 1;
}

void hh_send_acl(struct hcihost *h)
{
	bool progress = true;

	while (progress) {
		progress = false;
		for (unsigned k = 0; k < HCIHOST_MAX_CHANS; k++) {
			unsigned i = (h->rr + k) % HCIHOST_MAX_CHANS;
			int r;

			if (acl_flow_avail(&h->flow) == 0) {
				return;
			}
			r = hh_send_fragment(h, i);
			if (r < 0) {
				return;
			}
			progress |= r > 0;
		}
		h->rr = (h->rr + 1) % HCIHOST_MAX_CHANS;
	}
}

/* Cookies of SDUs completed by one Number Of Completed Packets entry,
 * collected first so that no callback runs inside acl_flow. */
struct hh_done_ctx {
	struct hh_chan *c;
	unsigned n;
	uint64_t cookie[ACL_FLOW_DEPTH];
};

static void hh_done_fn(void *user_data, uint16_t handle, uint64_t cookie)
{
	struct hh_done_ctx *d = user_data;
	struct hh_chan *c = d->c;

	(void)handle;
	if (cookie != HH_COOKIE_SDU_END || !c || c->done_count == 0 ||
	    d->n == ACL_FLOW_DEPTH) {
		return;
	}
	d->cookie[d->n++] = c->done[c->done_head];
	c->done_head = (c->done_head + 1) % ACL_FLOW_DEPTH;
	c->done_count--;
}

void hh_on_completed(struct hcihost *h,
		     const struct hci_evt_num_completed *e)
{
	unsigned gen = h->gen;

	for (unsigned k = 0; k < e->num_handles; k++) {
		uint16_t handle = e->entry[k].handle;
		int i = hh_chan_by_handle(h, handle);
		struct hh_done_ctx d = { .c = i >= 0 ? &h->ch[i] : NULL };
		uint16_t have = acl_flow_outstanding(&h->flow, handle);
		uint16_t count = e->entry[k].count;

		/* E 4.1.1: these buffers are free again, oldest first. */
		acl_flow_completed(&h->flow, handle, count, hh_done_fn, &d);
		if (count > have) {
			h->stats.acl_over_completed += count - have;
		}
		for (unsigned p = 0; p < d.n && h->ops->sent; p++) {
			h->ops->sent(h->user_data, (unsigned)i, d.cookie[p],
				     h->now_ns);
			if (gen != h->gen) {
				return;
			}
		}
	}
}

static void hh_reject(struct hcihost *h, struct hh_chan *c, uint8_t ident,
		      enum l2le_reject_reason reason, uint16_t a, uint16_t b)
{
	uint8_t pdu[L2LE_SIG_MAX];
	size_t n;

	if (l2le_encode_reject(ident, reason, a, b, pdu, sizeof(pdu), &n) ==
	    0) {
		hh_sig_push(h, c, pdu, n);
	}
}

static void hh_chan_opened(struct hcihost *h, unsigned i)
{
	struct hh_chan *c = &h->ch[i];

	c->state = HCIHOST_CH_OPEN;
	c->deadline_ns = 0;
	hh_debug(h, "channel %u open: peer MTU %u MPS %u credits %u", i,
		 c->l2.remote_mtu, c->l2.remote_mps, c->l2.tx_credits);
	h->ops->chan_open(h->user_data, i);
}

/* A C-frame on the LE signaling channel (A 4) of channel i's link. */
static void hh_on_sig(struct hcihost *h, unsigned i, const uint8_t *p,
		      size_t len)
{
	struct hh_chan *c = &h->ch[i];
	uint8_t pdu[L2LE_SIG_MAX];
	struct l2le_sig s;
	uint16_t result;
	uint8_t code, ident;
	size_t n;
	int r;

	r = l2le_sig_decode(p, len, &s);
	if (r < 0) {
		h->stats.l2cap_errors++;
		/* A 4.1: a command we cannot understand is rejected. */
		if (r == -ENOMSG && l2le_sig_peek(p, len, &code, &ident) == 0) {
			hh_reject(h, c, ident, L2LE_REJECT_NOT_UNDERSTOOD, 0,
				  0);
		}
		return;
	}

	switch ((enum l2le_code)s.code) {
	case L2LE_COMMAND_REJECT:
		/* Our connection request refused as not understood. */
		if (c->l2.state == L2LE_WAIT_CONNECT_RSP &&
		    s.ident == c->l2.ident) {
			hh_drop_link(h, i, -ECONNREFUSED);
		}
		break;
	case L2LE_DISCONNECTION_REQ:
		r = l2le_on_disconnect_req(&c->l2, s.ident, &s.disconn, pdu,
					   sizeof(pdu), &n);
		if (r == 0) {
			hh_sig_push(h, c, pdu, n);
			/* One channel per link: the link has no use left. */
			hh_drop_link(h, i, -ECONNRESET);
		} else {
			/* A 4.6: an unknown channel is an invalid CID. */
			hh_reject(h, c, s.ident, L2LE_REJECT_INVALID_CID,
				  s.disconn.dcid, s.disconn.scid);
		}
		break;
	case L2LE_DISCONNECTION_RSP:
		l2le_on_disconnect_rsp(&c->l2, &s.disconn);
		break;
	case L2LE_CONN_PARAM_UPDATE_REQ:
		if (h->cfg.role == HCIHOST_PERIPHERAL) {
			/* A 4.20: only a central takes this request. */
			hh_reject(h, c, s.ident, L2LE_REJECT_NOT_UNDERSTOOD, 0,
				  0);
			break;
		} else {
			/* A 4.21: we keep the parameters we chose. */
			struct l2le_sig rsp = {
				.code = L2LE_CONN_PARAM_UPDATE_RSP,
				.ident = s.ident,
				.conn_param_result = L2LE_PARAM_REJECTED,
			};

			if (l2le_sig_encode(&rsp, pdu, sizeof(pdu), &n) == 0) {
				hh_sig_push(h, c, pdu, n);
			}
		}
		break;
	case L2LE_CONN_PARAM_UPDATE_RSP:
		break;
	case L2LE_LE_CREDIT_CONN_REQ:
		if (!hh_sec_allows_l2cap(h, c)) {
			/* A 4.23: not before the link is encrypted. */
			struct l2le_sig rsp = {
				.code = L2LE_LE_CREDIT_CONN_RSP,
				.ident = s.ident,
				.conn_rsp.result =
					L2LE_RESULT_INSUFFICIENT_ENCRYPTION,
			};

			h->stats.unencrypted_refusals++;
			if (l2le_sig_encode(&rsp, pdu, sizeof(pdu), &n) == 0) {
				hh_sig_push(h, c, pdu, n);
			}
			break;
		}
		r = l2le_on_connect_req(&c->l2, s.ident, &s.conn_req,
					HH_LOCAL_CID, pdu, sizeof(pdu), &n,
					&result);
		if (r < 0) {
			h->stats.l2cap_errors++;
			break;
		}
		hh_sig_push(h, c, pdu, n);
		if (result == L2LE_RESULT_SUCCESS &&
		    c->state == HCIHOST_CH_L2CAP) {
			hh_chan_opened(h, i);
		} else if (result != L2LE_RESULT_SUCCESS) {
			hh_debug(h, "channel %u: refused PSM 0x%02x: 0x%04x",
				 i, s.conn_req.spsm, result);
		}
		break;
	case L2LE_LE_CREDIT_CONN_RSP:
		r = l2le_on_connect_rsp(&c->l2, s.ident, &s.conn_rsp);
		if (r == 0) {
			hh_chan_opened(h, i);
		} else if (r == -ECONNREFUSED) {
			hh_debug(h, "channel %u: L2CAP refused: 0x%04x", i,
				 c->l2.result);
			hh_drop_link(h, i, -ECONNREFUSED);
		} else if (r == -EPROTO) {
			h->stats.l2cap_errors++;
			hh_drop_link(h, i, -EPROTO);
		} else {
			h->stats.l2cap_errors++;
		}
		break;
	case L2LE_FLOW_CONTROL_CREDIT_IND:
		/* A 4.24: the CID is the sender's, our remote CID. */
		if (c->l2.state != L2LE_OPEN ||
		    s.credit_ind.cid != c->l2.remote_cid) {
			h->stats.l2cap_errors++;
			break;
		}
		if (l2le_on_credits(&c->l2, s.credit_ind.credits) < 0) {
			/* A 10.1: credits past 65535 end the channel. */
			h->stats.l2cap_errors++;
			hh_drop_link(h, i, -EPROTO);
		}
		break;
	}
}

/* A K-frame for channel i (A 3.4.3). */
static void hh_on_kframe(struct hcihost *h, unsigned i, const uint8_t *p,
			 size_t len)
{
	struct hh_chan *c = &h->ch[i];
	unsigned gen = h->gen;
	struct l2le_sdu sdu;
	uint8_t pdu[L2LE_SIG_MAX];
	uint16_t due;
	size_t n;
	int r;

	r = l2le_recv(&c->l2, p, len, &sdu);
	if (r < 0) {
		/* A 3.4.3 and 10.1: a broken K-frame ends the channel. */
		h->stats.l2cap_errors++;
		if (r == -E2BIG) {
			h->stats.sdu_oversize++;
		}
		hh_drop_link(h, i, -EPROTO);
		return;
	}
	if (r == 1) {
		h->stats.sdus_rx++;
		h->ops->chan_msg(h->user_data, i, sdu.data, sdu.len,
				 h->now_ns);
		if (gen != h->gen || c->state != HCIHOST_CH_OPEN) {
			return;
		}
	}
	/* A 10.1: give credits back in batches, not one per K-frame. */
	due = l2le_credits_due(&c->l2, h->cfg.rx_credits);
	if (due > 0 && c->sig_count < HH_SIG_QUEUE &&
	    l2le_grant(&c->l2, due, hh_next_ident(c), pdu, sizeof(pdu), &n) ==
		    0) {
		hh_sig_push(h, c, pdu, n);
	}
}

void hh_on_acl(struct hcihost *h, const uint8_t *pkt, size_t len)
{
	struct acl_pdu pdu;
	struct hh_chan *c;
	int i, r;

	h->stats.acl_rx++;
	r = acl_reasm_feed(&h->reasm, pkt, len, &pdu);
	if (r < 0) {
		h->stats.acl_errors++;
		if (r == -EMSGSIZE) {
			h->stats.acl_oversize++;
		}
		return;
	}
	if (r == 0) {
		return;
	}
	i = hh_chan_by_handle(h, pdu.handle);
	if (i < 0) {
		h->stats.acl_errors++;
		return;
	}
	c = &h->ch[i];
	if (c->state == HCIHOST_CH_CLOSING) {
		return;
	}
	if (pdu.cid == L2LE_CID_SIGNALING) {
		hh_on_sig(h, (unsigned)i, pdu.payload, pdu.len);
	} else if (pdu.cid == SMP_CID &&
		   c->security != HCIHOST_SECURITY_NONE) {
		hh_sec_on_smp(h, (unsigned)i, pdu.payload, pdu.len);
	} else if (pdu.cid == HH_ATT_CID && c->att) {
		hh_att_on_pdu(h, (unsigned)i, pdu.payload, pdu.len);
	} else if (c->l2.state == L2LE_OPEN && pdu.cid == c->l2.local_cid) {
		hh_on_kframe(h, (unsigned)i, pdu.payload, pdu.len);
	} else {
		h->stats.l2cap_unknown_cid++;
	}
}

void hh_l2_connect(struct hcihost *h, unsigned i)
{
	struct hh_chan *c = &h->ch[i];
	uint8_t pdu[L2LE_SIG_MAX];
	size_t n;

	/* A 4.22: ask for the channel on the PSM. */
	if (l2le_connect(&c->l2, c->psm ? c->psm : h->cfg.psm, HH_LOCAL_CID, hh_next_ident(c),
			 pdu, sizeof(pdu), &n) < 0) {
		hh_drop_link(h, i, -EPROTO);
		return;
	}
	hh_sig_push(h, c, pdu, n);
}

/* ---- the send queue, as ASHA's balancing sees it ------------------- */

int hcihost_flush(struct hcihost *h, unsigned ch, unsigned *ret)
{
	struct hh_chan *c;
	unsigned keep;

	if (ch >= HCIHOST_MAX_CHANS) {
		return -EINVAL;
	}
	c = &h->ch[ch];
	/* The head is lent to l2le while txq_started: it goes out whole. */
	keep = c->txq_started && c->txq_count > 0 ? 1 : 0;
	*ret = c->txq_count - keep;
	c->txq_count = keep;
	h->stats.sdus_flushed += *ret;
	return 0;
}

void hcihost_tx_state(const struct hcihost *h, unsigned ch,
		      unsigned *ret_queued, unsigned *ret_credits)
{
	*ret_queued = 0;
	*ret_credits = 0;
	if (ch < HCIHOST_MAX_CHANS && h->ch[ch].state == HCIHOST_CH_OPEN) {
		*ret_queued = h->ch[ch].txq_count;
		*ret_credits = h->ch[ch].l2.tx_credits;
	}
}
