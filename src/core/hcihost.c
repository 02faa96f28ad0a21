/* SPDX-License-Identifier: MIT */
/*
 * A minimal LE host over one HCI controller (contracts: hcihost.h): the
 * public entry points, the pump that sends what the parts queued, and
 * the dispatch of controller events to them. The parts and the shape
 * they share: hcihost_private.h.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/acl.h"
#include "core/h4.h"
#include "core/hcihost.h"
#include "core/hcihost_private.h"
#include "core/l2le.h"
#include "core/macro.h"

void hh_debug(struct hcihost *h, const char *fmt, ...)
{
	char text[160];
	va_list ap;

	if (!h->ops->debug) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	h->ops->debug(h->user_data, text);
}

int hh_chan_by_handle(const struct hcihost *h, uint16_t handle)
{
	for (unsigned i = 0; i < HCIHOST_MAX_CHANS; i++) {
		if (h->ch[i].handle == handle) {
			return (int)i;
		}
	}
	return -1;
}

int hh_write(struct hcihost *h, const uint8_t *frame, size_t len)
{
	int r;

	if (h->ops->trace) {
		h->ops->trace(h->user_data, false, frame, len, h->now_ns);
	}
	r = h->ops->write(h->user_data, frame, len);
	if (r < 0) {
		h->stats.write_errors++;
		hh_debug(h, "write failed: %d", r);
		hh_fail(h, r);
		return r;
	}
	return 0;
}

static void hh_pump(struct hcihost *h)
{
	h->depth++;
	do {
		h->repump = false;
		if (h->state == HCIHOST_READY) {
			hh_schedule_connect(h);
			hh_schedule_adv(h);
			hh_sec_pump(h);
		}
		hh_send_cmds(h);
		if (h->state == HCIHOST_READY && h->flow_ready) {
			hh_send_acl(h);
		}
	} while (h->repump && h->state != HCIHOST_DOWN);
	h->depth--;
}

void hh_enter(struct hcihost *h, uint64_t now_ns)
{
	h->depth++;
	if (now_ns > h->now_ns) {
		h->now_ns = now_ns;
	}
}

void hh_leave(struct hcihost *h)
{
	h->depth--;
	if (h->depth == 0) {
		hh_pump(h);
	} else {
		h->repump = true;
	}
}

static void hh_on_event(struct hcihost *h, const uint8_t *pkt, size_t len)
{
	struct hci_evt e;
	int r;

	r = hci_evt_decode(pkt, len, &e);
	if (r == -ENOMSG && hh_sec_any(h)) {
		/* Maybe one of security's (smp_hci.h). */
		struct smp_hci_evt se;

		r = smp_hci_evt_decode(pkt, len, &se);
		if (r == 0) {
			h->stats.evts++;
			if (h->state == HCIHOST_READY) {
				hh_sec_on_event(h, &se);
			}
			return;
		}
	}
	if (r == -ENOMSG) {
		h->stats.evt_unknown++;
		return;
	}
	if (r < 0) {
		h->stats.evt_errors++;
		hh_debug(h, "bad event 0x%02x: %s", len ? pkt[0] : 0,
			 hci_error_name(r));
		return;
	}
	h->stats.evts++;

	switch (e.kind) {
	case HCI_KIND_COMMAND_COMPLETE:
		h->ncmd = e.cmd_complete.ncmd;
		hh_cmd_answer(h, e.cmd_complete.opcode, e.cmd_complete.status,
			      &e.cmd_complete);
		break;
	case HCI_KIND_COMMAND_STATUS:
		h->ncmd = e.cmd_status.ncmd;
		hh_cmd_answer(h, e.cmd_status.opcode, e.cmd_status.status,
			      NULL);
		break;
	case HCI_KIND_HARDWARE_ERROR:
		/* E 7.7.16: the controller needs a reset; the caller
		 * decides when (hcihost_start()). */
		h->stats.hardware_errors++;
		hh_debug(h, "hardware error 0x%02x", e.hardware_code);
		hh_fail(h, -EIO);
		break;
	case HCI_KIND_DISCONNECTION_COMPLETE:
		if (h->state == HCIHOST_READY) {
			hh_on_disconn(h, &e.disconn_complete);
		}
		break;
	case HCI_KIND_NUMBER_OF_COMPLETED_PACKETS:
		if (h->state == HCIHOST_READY) {
			hh_on_completed(h, &e.num_completed);
		}
		break;
	case HCI_KIND_LE_CONNECTION_COMPLETE:
		if (h->state == HCIHOST_READY) {
			hh_on_conn_complete(h, &e.le_conn_complete);
		}
		break;
	case HCI_KIND_LE_REMOTE_CONN_PARAM_REQUEST:
		if (h->state == HCIHOST_READY) {
			hh_on_remote_param_req(h, &e.le_remote_conn_param_req);
		}
		break;
	case HCI_KIND_LE_CONNECTION_UPDATE_COMPLETE:
		hh_on_conn_update(h, &e.le_conn_update_complete, h->now_ns);
		break;
	case HCI_KIND_LE_ADVERTISING_REPORT:
		break;
	}
}

void hcihost_config_default(struct hcihost_config *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->role = HCIHOST_CENTRAL;
	ret->psm = 0x80;
	ret->mtu = HCIHOST_MAX_SDU;
	ret->rx_credits = 8;
	ret->conn_interval = 6;
	ret->supervision_timeout = 200;
	ret->cmd_timeout_ns = 2 * NSEC_PER_SEC;
	ret->connect_timeout_ns = 5 * NSEC_PER_SEC;
	ret->mps = 0;
	ret->adv_interval = 0x30;
	ret->name[0] = '\0';
}

static bool hh_config_ok(const struct hcihost_config *cfg)
{
	struct hci_le_conn_params cp = {
		.scan_interval = HH_SCAN_INTERVAL,
		.scan_window = HH_SCAN_WINDOW,
		.interval_min = cfg->conn_interval,
		.interval_max = cfg->conn_interval,
		.supervision_timeout = cfg->supervision_timeout,
	};
	struct hci_le_adv_params ap = {
		.interval_min = cfg->adv_interval,
		.interval_max = cfg->adv_interval,
		.type = HCI_ADV_IND,
		.channel_map = 0x07,
	};
	uint8_t buf[HCI_CMD_MAX];
	size_t n;

	if (cfg->role != HCIHOST_CENTRAL && cfg->role != HCIHOST_PERIPHERAL) {
		return false;
	}
	if (cfg->psm == 0 || cfg->psm > L2LE_SPSM_MAX ||
	    cfg->mtu < L2LE_MTU_MIN || cfg->mtu > HCIHOST_MAX_SDU ||
	    cfg->rx_credits == 0 || cfg->cmd_timeout_ns == 0 ||
	    cfg->connect_timeout_ns == 0) {
		return false;
	}
	if (cfg->mps != 0 &&
	    (cfg->mps < L2LE_MPS_MIN || cfg->mps > HH_MPS_MAX)) {
		return false;
	}
	if (strnlen(cfg->name, sizeof(cfg->name)) > HCIHOST_NAME_MAX) {
		return false;
	}
	if (cfg->security != HCIHOST_SECURITY_NONE &&
	    cfg->security != HCIHOST_SECURITY_ENCRYPT) {
		return false;
	}
	/* The encoders know the ranges (E 7.8.5, 7.8.12). */
	return hci_cmd_le_create_conn(&cp, buf, sizeof(buf), &n) == 0 &&
	       hci_cmd_le_set_adv_params(&ap, buf, sizeof(buf), &n) == 0;
}

int hcihost_new(const struct hcihost_config *cfg,
		const struct hcihost_ops *ops, void *user_data,
		struct hcihost **ret)
{
	struct h4_config hc;
	uint8_t *bufs[HCIHOST_MAX_CHANS];
	struct hcihost *h;

	if (!cfg || !ops || !ret || !ops->write || !ops->ready ||
	    !ops->down || !ops->chan_open || !ops->chan_msg ||
	    !ops->chan_closed || !hh_config_ok(cfg)) {
		return -EINVAL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		return -ENOMEM;
	}
	h->cfg = *cfg;
	h->ops = ops;
	h->user_data = user_data;

	/* Events and ACL in, SCO and ISO framed and dropped; room for a
	 * read's worth beyond the largest frame. */
	h4_config_host(&hc);
	h->h4cap = h4_frame_max(&hc) + 4096;
	h->h4mem = malloc(h->h4cap);
	if (!h->h4mem || h4_init(&h->h4, &hc, h->h4mem, h->h4cap) < 0) {
		free(h->h4mem);
		free(h);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < HCIHOST_MAX_CHANS; i++) {
		bufs[i] = h->ch[i].rxpdu;
		h->ch[i].handle = ACL_HANDLE_NONE;
		h->ch[i].host = h;
		h->ch[i].index = i;
		h->ch[i].security = cfg->security;
	}
	h->sec_owner = -1;
	acl_reasm_init(&h->reasm, h->slots, HCIHOST_MAX_CHANS, bufs,
		       sizeof(h->ch[0].rxpdu));
	/* Usable (and harmless) before the controller's count is known. */
	acl_flow_init(&h->flow, 1);
	h->state = HCIHOST_DOWN;
	h->connecting = -1;
	h->adv_ch = -1;
	for (unsigned i = 0; i < HCIHOST_MAX_CHANS; i++) {
		hh_chan_reset(h, &h->ch[i]);
	}
	*ret = h;
	return 0;
}

struct hcihost *hcihost_free(struct hcihost *h)
{
	if (h) {
		free(h->h4mem);
		free(h);
	}
	return NULL;
}

void hcihost_start(struct hcihost *h, uint64_t now_ns)
{
	uint8_t b[HCI_CMD_MAX];
	unsigned gen;
	size_t n = 0;
	int r;

	hh_enter(h, now_ns);
	gen = ++h->gen;
	h->state = HCIHOST_INIT;
	h->cmd_count = 0;
	h->cmd_out = false;
	h->cmd_deadline_ns = 0;
	/* E 4.4: after power-on or reset the host may send one command. */
	h->ncmd = 1;
	h4_reset(&h->h4);
	hh_sec_host_reset(h);
	hh_forget_links(h, -ECONNABORTED);
	h->flow_ready = false;
	/* A chan_closed callback may have restarted us; that start queued
	 * the Reset. */
	if (gen == h->gen) {
		r = hci_cmd_reset(b, sizeof(b), &n);
		hh_cmd_queue(h, -1, r, b, n);
	}
	hh_leave(h);
}

void hcihost_input(struct hcihost *h, const uint8_t *bytes, size_t len,
		   uint64_t now_ns)
{
	unsigned gen = h->gen;
	struct h4_pkt pkt;

	hh_enter(h, now_ns);
	/* Not started, or failed: nothing to say to anyone. A restart or
	 * failure from a callback ends the loop: the rest of the input is
	 * from before it. */
	while (len > 0 && h->state != HCIHOST_DOWN && gen == h->gen) {
		size_t n = h4_feed(&h->h4, bytes, len);

		bytes += n;
		len -= n;
		while (gen == h->gen && h4_next(&h->h4, &pkt) == 0) {
			if (h->ops->trace) {
				h->ops->trace(h->user_data, true, pkt.frame,
					      pkt.frame_len, h->now_ns);
			}
			switch (pkt.type) {
			case H4_EVT:
				hh_on_event(h, pkt.data, pkt.len);
				break;
			case H4_ACL:
				if (h->state == HCIHOST_READY) {
					hh_on_acl(h, pkt.data, pkt.len);
				}
				break;
			case H4_CMD:
			case H4_SCO:
			case H4_ISO:
				break;
			}
		}
		if (n == 0) {
			/* Cannot happen: the buffer holds a frame and a
			 * read more, and draining leaves less than a frame. */
			break;
		}
	}
	h->stats.h4_resyncs = h4_stats(&h->h4)->resyncs;
	h->stats.h4_bytes_skipped = h4_stats(&h->h4)->bytes_skipped;
	hh_leave(h);
}

void hcihost_tick(struct hcihost *h, uint64_t now_ns)
{
	hh_enter(h, now_ns);
	now_ns = h->now_ns;
	if (h->state != HCIHOST_DOWN && h->cmd_deadline_ns != 0 &&
	    now_ns >= h->cmd_deadline_ns) {
		h->stats.cmd_timeouts++;
		hh_debug(h, "command 0x%04x timed out",
			 h->cmd_out ? h->out.opcode : 0);
		hh_fail(h, -ETIMEDOUT);
		hh_leave(h);
		return;
	}
	if (h->state == HCIHOST_READY && h->connecting >= 0 &&
	    now_ns >= h->connect_deadline_ns) {
		struct hh_chan *c = &h->ch[h->connecting];

		if (!h->cancel_sent) {
			if (c->close_err == 0) {
				c->close_err = -ETIMEDOUT;
			}
			hh_debug(h, "channel %d: connect timed out",
				 h->connecting);
			hh_cancel_connect(h);
		} else {
			/* Not even the cancel came back: forget it. */
			hh_connect_failed(h, -ETIMEDOUT);
		}
	}
	for (unsigned i = 0; i < HCIHOST_MAX_CHANS; i++) {
		struct hh_chan *c = &h->ch[i];

		if (h->state != HCIHOST_READY || c->deadline_ns == 0 ||
		    now_ns < c->deadline_ns) {
			continue;
		}
		if (c->state == HCIHOST_CH_L2CAP) {
			hh_debug(h, "channel %u: L2CAP set-up timed out", i);
			hh_drop_link(h, i, -ETIMEDOUT);
		} else if (c->state == HCIHOST_CH_CLOSING) {
			hh_chan_finish(h, i, c->close_err);
		}
	}
	if (h->state == HCIHOST_READY) {
		hh_sec_tick(h);
	}
	hh_leave(h);
}

uint64_t hcihost_next_deadline(const struct hcihost *h)
{
	uint64_t t = UINT64_MAX;

	if (h->state == HCIHOST_DOWN) {
		return t;
	}
	if (h->cmd_deadline_ns != 0) {
		t = MIN(t, h->cmd_deadline_ns);
	}
	if (h->connecting >= 0) {
		t = MIN(t, h->connect_deadline_ns);
	}
	for (unsigned i = 0; i < HCIHOST_MAX_CHANS; i++) {
		if (h->ch[i].deadline_ns != 0) {
			t = MIN(t, h->ch[i].deadline_ns);
		}
	}
	return MIN(t, hh_sec_deadline(h));
}

int hcihost_open(struct hcihost *h, unsigned ch, const struct hci_bdaddr *peer,
		 enum hci_addr_type peer_type, uint64_t now_ns)
{
	struct hh_chan *c;

	if (ch >= HCIHOST_MAX_CHANS) {
		return -EINVAL;
	}
	if (h->cfg.role == HCIHOST_CENTRAL &&
	    (!peer || (unsigned)peer_type > HCI_ADDR_RANDOM_IDENTITY)) {
		return -EINVAL;
	}
	c = &h->ch[ch];
	if (c->state != HCIHOST_CH_IDLE) {
		return -EALREADY;
	}
	hh_enter(h, now_ns);
	c->state = HCIHOST_CH_CONNECTING;
	c->close_err = 0;
	c->user_closed = false;
	if (h->cfg.role == HCIHOST_CENTRAL) {
		c->peer = *peer;
		c->peer_type = (uint8_t)peer_type;
		c->want_connect = true;
	}
	hh_leave(h);
	return 0;
}

void hcihost_close(struct hcihost *h, unsigned ch, uint64_t now_ns)
{
	struct hh_chan *c;

	if (ch >= HCIHOST_MAX_CHANS) {
		return;
	}
	c = &h->ch[ch];
	hh_enter(h, now_ns);
	switch (c->state) {
	case HCIHOST_CH_IDLE:
	case HCIHOST_CH_CLOSING:
		break;
	case HCIHOST_CH_CONNECTING:
		c->user_closed = true;
		c->close_err = -ECONNABORTED;
		if (h->connecting == (int)ch) {
			/* The channel closes on the cancel's outcome. */
			hh_cancel_connect(h);
			break;
		}
		hh_cmd_withdraw(h, HCI_OP_LE_CREATE_CONNECTION, (int)ch);
		hh_chan_finish(h, ch, -ECONNABORTED);
		break;
	case HCIHOST_CH_L2CAP:
	case HCIHOST_CH_OPEN:
		c->user_closed = true;
		hh_drop_link(h, ch, -ECONNABORTED);
		break;
	}
	hh_leave(h);
}

int hcihost_send(struct hcihost *h, unsigned ch, const uint8_t *sdu,
		 size_t len, uint64_t cookie)
{
	struct hh_chan *c;
	struct hh_sdu *s;

	if (ch >= HCIHOST_MAX_CHANS || (len > 0 && !sdu)) {
		return -EINVAL;
	}
	c = &h->ch[ch];
	if (c->state != HCIHOST_CH_OPEN) {
		return -ENOTCONN;
	}
	if (len > HCIHOST_MAX_SDU || len > c->l2.remote_mtu) {
		return -EMSGSIZE;
	}
	if (c->txq_count == HCIHOST_TX_QUEUE) {
		h->stats.tx_queue_full++;
		return -ENOBUFS;
	}
	s = &c->txq[(c->txq_head + c->txq_count) % HCIHOST_TX_QUEUE];
	s->len = (uint16_t)len;
	s->cookie = cookie;
	if (len > 0) {
		memcpy(s->data, sdu, len);
	}
	c->txq_count++;
	hh_enter(h, 0);
	hh_leave(h);
	return 0;
}

unsigned hcihost_tx_space(const struct hcihost *h, unsigned ch)
{
	if (ch >= HCIHOST_MAX_CHANS || h->ch[ch].state != HCIHOST_CH_OPEN) {
		return 0;
	}
	return HCIHOST_TX_QUEUE - h->ch[ch].txq_count;
}

enum hcihost_state hcihost_state(const struct hcihost *h)
{
	return h->state;
}

enum hcihost_chan_state hcihost_chan_state(const struct hcihost *h,
					   unsigned ch)
{
	if (ch >= HCIHOST_MAX_CHANS) {
		return HCIHOST_CH_IDLE;
	}
	return h->ch[ch].state;
}

void hcihost_get_stats(const struct hcihost *h, struct hcihost_stats *ret)
{
	*ret = h->stats;
}

int hcihost_set_security(struct hcihost *h, unsigned ch,
			 enum hcihost_security sec)
{
	if (ch >= HCIHOST_MAX_CHANS || (sec != HCIHOST_SECURITY_NONE &&
					sec != HCIHOST_SECURITY_ENCRYPT)) {
		return -EINVAL;
	}
	/* The event masks follow at the next start. */
	if (h->state != HCIHOST_DOWN && sec != HCIHOST_SECURITY_NONE &&
	    !hh_sec_any(h)) {
		return -EBUSY;
	}
	if (h->ch[ch].state != HCIHOST_CH_IDLE) {
		return -EBUSY;
	}
	h->ch[ch].security = sec;
	return 0;
}

bool hcihost_chan_encrypted(const struct hcihost *h, unsigned ch)
{
	return ch < HCIHOST_MAX_CHANS && h->ch[ch].encrypted;
}
