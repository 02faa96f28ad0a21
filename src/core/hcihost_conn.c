/* SPDX-License-Identifier: MIT */
/*
 * core/hcihost's LE connections (hcihost_private.h): a channel's life
 * from idle to closed, LE Create Connection one at a time (central),
 * connectable advertising (peripheral), and the link events. "E" is
 * Core 5.4, Vol 4, Part E; "A" Vol 3, Part A.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/acl.h"
#include "core/hcihost.h"
#include "core/hcihost_private.h"
#include "core/l2le.h"
#include "core/macro.h"

/* Back to idle: the link, its buffers and every queued byte forgotten.
 * The controller's buffers held by the link are free again (E 4.3). */
void hh_chan_reset(struct hcihost *h, struct hh_chan *c)
{
	if (c->handle != ACL_HANDLE_NONE) {
		acl_reasm_remove(&h->reasm, c->handle);
		acl_flow_disconnected(&h->flow, c->handle);
	}
	c->state = HCIHOST_CH_IDLE;
	c->want_connect = false;
	c->user_closed = false;
	c->close_err = 0;
	c->handle = ACL_HANDLE_NONE;
	c->ident = 0;
	c->deadline_ns = 0;
	c->stalled = false;
	hh_l2_init(h, c);
	c->sig_head = 0;
	c->sig_count = 0;
	c->txq_head = 0;
	c->txq_count = 0;
	c->txq_started = false;
	c->done_head = 0;
	c->done_count = 0;
	memset(&c->frag, 0, sizeof(c->frag));
	c->frag_sdu_end = false;
	hh_sec_chan_reset(h, c);
	hh_att_chan_reset(c);
}

/* Reset channel i and tell the caller. */
void hh_chan_finish(struct hcihost *h, unsigned i, int err)
{
	hh_chan_reset(h, &h->ch[i]);
	hh_debug(h, "channel %u closed: %d", i, err);
	h->ops->chan_closed(h->user_data, i, err);
}

/* End channel i's LE link: Disconnect (E 7.1.6), then Disconnection
 * Complete finishes the channel. */
void hh_drop_link(struct hcihost *h, unsigned i, int err)
{
	struct hh_chan *c = &h->ch[i];
	uint8_t b[HCI_CMD_MAX];
	struct hh_cmd *cmd;
	size_t n = 0;
	int r;

	if (c->state == HCIHOST_CH_CLOSING || c->handle == ACL_HANDLE_NONE) {
		return;
	}
	if (c->close_err == 0) {
		c->close_err = err;
	}
	c->state = HCIHOST_CH_CLOSING;
	/* If Disconnection Complete never comes, forget the link anyway. */
	c->deadline_ns = h->now_ns + 2 * h->cfg.cmd_timeout_ns;
	r = hci_cmd_disconnect(c->handle, HH_DISCONNECT_REASON, b, sizeof(b),
			       &n);
	cmd = hh_cmd_queue(h, (int)i, r, b, n);
	if (cmd) {
		cmd->handle = c->handle;
	}
}

/* A connection nobody asked for (E 7.1.6). */
static void hh_drop_stray(struct hcihost *h, uint16_t handle)
{
	uint8_t b[HCI_CMD_MAX];
	struct hh_cmd *cmd;
	size_t n = 0;
	int r;

	h->stats.stray_links++;
	hh_debug(h, "stray link 0x%03x: disconnecting", handle);
	r = hci_cmd_disconnect(handle, HH_DISCONNECT_REASON, b, sizeof(b), &n);
	cmd = hh_cmd_queue(h, -1, r, b, n);
	if (cmd) {
		cmd->handle = handle;
	}
}

/*
 * Every link forgotten (controller reset or gone): channels with one
 * report closed; channels still connecting or listening stay so and
 * start over once the controller is ready again.
 */
void hh_forget_links(struct hcihost *h, int err)
{
	unsigned gen = h->gen;

	h->connecting = -1;
	h->cancel_sent = false;
	h->adv_on = false;
	h->adv_busy = false;
	h->adv_ch = -1;
	for (unsigned i = 0; i < HCIHOST_MAX_CHANS; i++) {
		struct hh_chan *c = &h->ch[i];

		if (c->state == HCIHOST_CH_IDLE) {
			continue;
		}
		if (c->state == HCIHOST_CH_CONNECTING) {
			c->want_connect = h->cfg.role == HCIHOST_CENTRAL;
			c->close_err = 0;
			c->user_closed = false;
			continue;
		}
		hh_chan_finish(h, i, err);
		if (gen != h->gen) {
			return;
		}
	}
}

void hh_schedule_connect(struct hcihost *h)
{
	uint8_t b[HCI_CMD_MAX];
	size_t n = 0;
	int r;

	if (h->cfg.role != HCIHOST_CENTRAL || h->connecting >= 0) {
		return;
	}
	for (unsigned k = 0; k < HCIHOST_MAX_CHANS; k++) {
		unsigned i = (h->next_connect + k) % HCIHOST_MAX_CHANS;
		struct hh_chan *c = &h->ch[i];
		struct hci_le_conn_params p = {
			.scan_interval = HH_SCAN_INTERVAL,
			.scan_window = HH_SCAN_WINDOW,
			.filter_policy = 0,
			.peer_addr_type = c->peer_type,
			.peer_addr = c->peer,
			.own_addr_type = HCI_ADDR_PUBLIC,
			.interval_min = h->cfg.conn_interval,
			.interval_max = h->cfg.conn_interval,
			.max_latency = 0,
			.supervision_timeout = h->cfg.supervision_timeout,
		};

		if (c->state != HCIHOST_CH_CONNECTING || !c->want_connect) {
			continue;
		}
		r = hci_cmd_le_create_conn(&p, b, sizeof(b), &n);
		if (!hh_cmd_queue(h, (int)i, r, b, n)) {
			return;
		}
		c->want_connect = false;
		h->connecting = (int)i;
		h->cancel_sent = false;
		h->connect_deadline_ns = h->now_ns + h->cfg.connect_timeout_ns;
		/* Next time start after this one: both ears get a turn. */
		h->next_connect = (i + 1) % HCIHOST_MAX_CHANS;
		hh_debug(h, "channel %u: LE Create Connection", i);
		return;
	}
}

static int hh_listening(const struct hcihost *h)
{
	if (h->cfg.role != HCIHOST_PERIPHERAL) {
		return -1;
	}
	if (h->adv_ch >= 0 &&
	    h->ch[h->adv_ch].state == HCIHOST_CH_CONNECTING) {
		return h->adv_ch;
	}
	for (unsigned i = 0; i < HCIHOST_MAX_CHANS; i++) {
		if (h->ch[i].state == HCIHOST_CH_CONNECTING) {
			return (int)i;
		}
	}
	return -1;
}

/*
 * Advertising data: Flags (LE General Discoverable, BR/EDR not
 * supported) and the Complete Local Name (Core Specification Supplement,
 * Part A, 1.2 and 1.3).
 */
static size_t hh_adv_data(const struct hcihost *h, unsigned ch, uint8_t *ad)
{
	char dflt[8];
	const char *name = h->cfg.name;
	size_t n;

	if (name[0] == '\0') {
		snprintf(dflt, sizeof(dflt), "ttws-%c", ch == 0 ? 'L' : 'R');
		name = dflt;
	}
	n = strnlen(name, HCIHOST_NAME_MAX);
	ad[0] = 2;
	ad[1] = 0x01; /* Flags */
	ad[2] = 0x06;
	ad[3] = (uint8_t)(n + 1);
	ad[4] = 0x09; /* Complete Local Name */
	memcpy(ad + 5, name, n);
	return 5 + n;
}

void hh_schedule_adv(struct hcihost *h)
{
	int want = hh_listening(h);
	struct hci_le_adv_params p = {
		.interval_min = h->cfg.adv_interval,
		.interval_max = h->cfg.adv_interval,
		.type = HCI_ADV_IND,
		.own_addr_type = HCI_ADDR_PUBLIC,
		.peer_addr_type = HCI_ADDR_PUBLIC,
		.channel_map = 0x07,
		.filter_policy = 0,
	};
	uint8_t ad[HCI_ADV_DATA_MAX], b[HCI_CMD_MAX];
	struct hh_cmd *cmd;
	size_t adlen, n = 0;
	int r;

	if (h->cfg.role != HCIHOST_PERIPHERAL || h->adv_busy) {
		return;
	}
	if (want >= 0 && !h->adv_on) {
		/* E 7.8.5, 7.8.7, 7.8.9: connectable undirected. */
		adlen = hh_adv_data(h, (unsigned)want, ad);
		r = hci_cmd_le_set_adv_params(&p, b, sizeof(b), &n);
		if (!hh_cmd_queue(h, want, r, b, n)) {
			return;
		}
		r = hci_cmd_le_set_adv_data(ad, adlen, b, sizeof(b), &n);
		if (!hh_cmd_queue(h, want, r, b, n)) {
			return;
		}
		r = hci_cmd_le_set_adv_enable(1, b, sizeof(b), &n);
		cmd = hh_cmd_queue(h, want, r, b, n);
		if (!cmd) {
			return;
		}
		cmd->arg = 1;
		h->adv_busy = true;
		h->adv_ch = want;
		hh_debug(h, "channel %d: advertising", want);
	} else if (want < 0 && h->adv_on) {
		r = hci_cmd_le_set_adv_enable(0, b, sizeof(b), &n);
		cmd = hh_cmd_queue(h, -1, r, b, n);
		if (!cmd) {
			return;
		}
		cmd->arg = 0;
		h->adv_busy = true;
	}
}

/* E 7.8.13: stop the attempt. LE Connection Complete with Unknown
 * Connection Identifier follows, or the cancel fails because nothing was
 * left to stop (the connection completed or failed meanwhile). */
void hh_cancel_connect(struct hcihost *h)
{
	uint8_t b[HCI_CMD_MAX];
	size_t n = 0;
	int r;

	if (h->connecting < 0 || h->cancel_sent) {
		return;
	}
	h->cancel_sent = true;
	h->connect_deadline_ns = h->now_ns + h->cfg.cmd_timeout_ns;
	r = hci_cmd_le_create_conn_cancel(b, sizeof(b), &n);
	hh_cmd_queue(h, h->connecting, r, b, n);
}

void hh_connect_failed(struct hcihost *h, int err)
{
	int i = h->connecting;
	struct hh_chan *c;

	if (i < 0) {
		return;
	}
	c = &h->ch[i];
	h->connecting = -1;
	h->cancel_sent = false;
	h->stats.connect_fails++;
	hh_chan_finish(h, (unsigned)i, c->close_err ? c->close_err : err);
}

static void hh_link_up(struct hcihost *h, unsigned i,
		       const struct hci_evt_le_conn_complete *e)
{
	struct hh_chan *c = &h->ch[i];

	if (acl_reasm_add(&h->reasm, e->handle) < 0) {
		hh_drop_stray(h, e->handle);
		return;
	}
	c->handle = e->handle;
	c->state = HCIHOST_CH_L2CAP;
	/* The peer's address as connected: SMP's A or B (Vol 3, Part H,
	 * 2.2.7), and a peripheral's bond lookup. Identity types (0x02,
	 * 0x03) are public or random on the air. */
	c->conn_peer = e->peer_addr;
	c->conn_peer_type = e->peer_addr_type & 0x01;
	c->ident = 0;
	c->deadline_ns = h->now_ns + h->cfg.connect_timeout_ns;
	hh_l2_init(h, c);
	h->stats.connects++;
	hh_debug(h, "channel %u: link 0x%03x up", i, e->handle);
}

void hh_on_conn_complete(struct hcihost *h,
			 const struct hci_evt_le_conn_complete *e)
{
	int i;
	struct hh_chan *c;

	if (e->role == HCI_ROLE_CENTRAL) {
		i = h->connecting;
		if (e->status != HCI_SUCCESS) {
			hh_connect_failed(h, hh_status_err(e->status));
			return;
		}
		if (i < 0) {
			hh_drop_stray(h, e->handle);
			return;
		}
		c = &h->ch[i];
		h->connecting = -1;
		h->cancel_sent = false;
		hh_link_up(h, (unsigned)i, e);
		if (c->handle == ACL_HANDLE_NONE) {
			hh_chan_finish(h, (unsigned)i,
				       c->user_closed ? -ECONNABORTED : -ENOSPC);
			return;
		}
		if (c->user_closed) {
			/* Closed while connecting and the cancel lost the
			 * race: the link is only taken to end it. */
			hh_drop_link(h, (unsigned)i, -ECONNABORTED);
			return;
		}
		/* A timed-out attempt that made it after all is welcome. */
		c->close_err = 0;
		/* Security first, when asked for: the channel opens once the
		 * link is encrypted (hcihost_sec.c). */
		if (hh_sec_link_up(h, (unsigned)i)) {
			hh_link_secured(h, (unsigned)i);
		}
		return;
	}

	if (e->status != HCI_SUCCESS) {
		/* Only directed advertising ends this way (E 7.7.65.1). */
		return;
	}
	/* E 7.8.9: connectable advertising stops with the connection. */
	h->adv_on = false;
	i = hh_listening(h);
	if (i < 0) {
		hh_drop_stray(h, e->handle);
		return;
	}
	c = &h->ch[i];
	hh_link_up(h, (unsigned)i, e);
	if (c->handle == ACL_HANDLE_NONE) {
		hh_chan_finish(h, (unsigned)i, -ENOSPC);
		return;
	}
	/* A 4.22: the central asks; we answer on the PSM (once the link is
	 * encrypted, with security). */
	l2le_listen(&c->l2, h->cfg.psm);
	hh_sec_link_up(h, (unsigned)i);
}

void hh_on_disconn(struct hcihost *h,
		   const struct hci_evt_disconn_complete *e)
{
	int i;
	struct hh_chan *c;

	if (e->status != HCI_SUCCESS) {
		hh_debug(h, "disconnection of 0x%03x failed: 0x%02x",
			 e->handle, e->status);
		return;
	}
	i = hh_chan_by_handle(h, e->handle);
	if (i < 0) {
		return;
	}
	c = &h->ch[i];
	h->stats.disconnects++;
	hh_chan_finish(h, (unsigned)i,
		       c->close_err ? c->close_err : hh_status_err(e->reason));
}

void hh_on_remote_param_req(struct hcihost *h,
			    const struct hci_evt_le_conn_param_req *e)
{
	struct hci_le_conn_update p = {
		.handle = e->handle,
		.interval_min = e->interval_min,
		.interval_max = e->interval_max,
		.max_latency = e->max_latency,
		.supervision_timeout = e->timeout,
	};

	uint8_t b[HCI_CMD_MAX];
	size_t n = 0;
	int r;

	/* E 7.8.31: the peer's wish is fine by us; parameters the encoder
	 * refuses get the negative reply (E 7.8.32). */
	r = hci_cmd_le_remote_conn_param_reply(&p, b, sizeof(b), &n);
	if (r < 0) {
		r = hci_cmd_le_remote_conn_param_neg_reply(
			e->handle, HCI_UNACCEPTABLE_CONN_PARAMS, b, sizeof(b),
			&n);
	}
	hh_cmd_queue(h, -1, r, b, n);
}

/*
 * The link runs at a new connection interval: the owner's timing follows
 * it (its servo numbers connection events with it). The value is the
 * controller's: range-checked like any (Vol 4, Part E, 7.7.65.3:
 * 0x0006..0x0C80).
 */
void hh_on_conn_update(struct hcihost *h,
		       const struct hci_evt_le_conn_update_complete *e,
		       uint64_t now_ns)
{
	int i;

	if (e->status != HCI_SUCCESS || e->interval < 0x0006 ||
	    e->interval > 0x0C80) {
		return;
	}
	i = hh_chan_by_handle(h, e->handle);
	if (i >= 0 && h->ops->interval) {
		h->ops->interval(h->user_data, (unsigned)i,
				 (uint32_t)e->interval * 1250u, now_ns);
	}
}
