/* SPDX-License-Identifier: MIT */
/*
 * A minimal LE host over one HCI controller. Contracts: hcihost.h.
 * Section numbers are of Core 5.4: "E" is Vol 4, Part E (HCI), "A" is
 * Vol 3, Part A (L2CAP).
 *
 * Shape: every public entry point updates the time, does its work and
 * then pumps: queued commands go out as the controller's command credit
 * (Num_HCI_Command_Packets) allows, ACL packets as its buffers allow
 * (acl_flow), one fragment per channel in turn so that a busy channel
 * cannot starve the other. Callbacks may re-enter: a nested call only
 * queues, and the outermost call pumps once everything is consistent.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/acl.h"
#include "core/h4.h"
#include "core/hcihost.h"
#include "core/l2le.h"
#include "core/macro.h"

/* Commands waiting for the controller's command credit. */
#define HH_CMD_QUEUE 16
/* Signaling PDUs waiting per channel (a response, a credit grant, a
 * reject: a handful at most). */
#define HH_SIG_QUEUE 4
/* One L2CAP channel per LE link: its CID on both ends (A 2.1). */
#define HH_LOCAL_CID L2LE_CID_DYN_MIN
/* Disconnect reason for every link we end (E 7.1.6). */
#define HH_DISCONNECT_REASON HCI_REMOTE_USER_TERMINATED
/* Central scanning for the peer's advertisements while connecting, in
 * 0.625 ms units (E 7.8.12): 60 ms interval, 30 ms window. */
#define HH_SCAN_INTERVAL 0x0060
#define HH_SCAN_WINDOW 0x0030
/* Largest L2CAP PDU built or received: a K-frame of a whole SDU
 * (basic header, SDU Length, data) (A 3.4.3). */
#define HH_PDU_MAX (L2LE_HDR_SIZE + L2LE_SDU_LEN_SIZE + HCIHOST_MAX_SDU)
#define HH_MPS_MAX (L2LE_SDU_LEN_SIZE + HCIHOST_MAX_SDU)
/* The flow-control cookie of the last ACL packet of an SDU; every other
 * packet carries 0 and completes silently. */
#define HH_COOKIE_SDU_END 1

/* What a queued command is about, for its answer. */
struct hh_cmd {
	uint8_t frame[1 + HCI_CMD_MAX];
	uint16_t len;
	uint16_t opcode;
	int ch;          /* channel it acts for, -1 for none */
	uint16_t handle; /* Disconnect: the link */
	uint8_t arg;     /* LE Set Advertising Enable: the value */
	bool dead;       /* withdrawn before it went out */
};

struct hh_sdu {
	uint16_t len;
	uint64_t cookie;
	uint8_t data[HCIHOST_MAX_SDU];
};

struct hh_chan {
	enum hcihost_chan_state state;
	bool want_connect;   /* central: Create Connection still to send */
	bool user_closed;    /* hcihost_close() asked for it */
	int close_err;       /* what chan_closed will say, 0 until known */
	struct hci_bdaddr peer;
	uint8_t peer_type;
	uint16_t handle;     /* ACL_HANDLE_NONE: no LE link */
	uint8_t ident;       /* last signaling Identifier we used */
	uint64_t deadline_ns; /* L2CAP set-up or Disconnect answer; 0: none */
	bool stalled;        /* counted in tx_stalls once per stall */
	struct l2le_chan l2;
	uint8_t l2_rx[HCIHOST_MAX_SDU];

	/* Signaling PDUs to send, before any K-frame. */
	uint8_t sig[HH_SIG_QUEUE][L2LE_SIG_MAX];
	uint8_t sig_len[HH_SIG_QUEUE];
	unsigned sig_head, sig_count;

	/* SDUs to send; the head is lent to l2le while txq_started. */
	struct hh_sdu txq[HCIHOST_TX_QUEUE];
	unsigned txq_head, txq_count;
	bool txq_started;

	/* Cookies of SDUs whose last ACL packet is in the controller,
	 * oldest first: completions come back in order per handle (E 4.1.1
	 * and acl.h). */
	uint64_t done[ACL_FLOW_DEPTH];
	unsigned done_head, done_count;

	/* The PDU being fragmented, built in place at txbuf + 5 so that
	 * each fragment becomes an H4 frame at txbuf without a copy. */
	struct acl_frag frag;
	bool frag_sdu_end;
	uint64_t frag_cookie;
	uint8_t txbuf[1 + ACL_HDR_SIZE + HH_PDU_MAX];

	/* Backs one reassembly slot (slots follow handles, not channels). */
	uint8_t rxpdu[HH_PDU_MAX];
};

struct hcihost {
	struct hcihost_config cfg;
	const struct hcihost_ops *ops;
	void *user_data;

	enum hcihost_state state;
	uint64_t now_ns;
	/* Bumped by every restart and failure: a loop over input or events
	 * that sees it change stops, its packet is gone. */
	unsigned gen;
	int depth;      /* entry points in progress (re-entry from callbacks) */
	bool repump;

	/* Framer over h4mem. */
	struct h4 h4;
	uint8_t *h4mem;
	size_t h4cap;

	/* Commands. */
	struct hh_cmd cmdq[HH_CMD_QUEUE];
	unsigned cmd_head, cmd_count;
	uint8_t ncmd;         /* Num_HCI_Command_Packets (E 7.7.14) */
	bool cmd_out;         /* a command awaits its Complete/Status */
	struct hh_cmd out;    /* ... this one */
	uint64_t cmd_deadline_ns;

	/* The controller. */
	struct hci_bdaddr local;
	uint16_t acl_len;     /* LE_ACL_Data_Packet_Length */
	uint16_t acl_num;
	bool flow_ready;
	struct acl_flow flow;
	struct acl_reasm reasm;
	struct acl_rx slots[HCIHOST_MAX_CHANS];

	/* Central: the one LE Create Connection outstanding (E 7.8.12
	 * allows one at a time). */
	int connecting;       /* channel, -1: none */
	bool cancel_sent;
	uint64_t connect_deadline_ns;
	unsigned next_connect;

	/* Peripheral. */
	bool adv_on;          /* advertising enabled, as far as we know */
	bool adv_busy;        /* an advertising command is queued */
	int adv_ch;           /* the channel advertised for */

	unsigned rr;          /* next channel to send a fragment */
	struct hcihost_stats stats;
	struct hh_chan ch[HCIHOST_MAX_CHANS];
};

static void hh_pump(struct hcihost *h);

/* ---- small helpers ------------------------------------------------- */

static void hh_debug(struct hcihost *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void hh_debug(struct hcihost *h, const char *fmt, ...)
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

static void hh_enter(struct hcihost *h, uint64_t now_ns)
{
	h->depth++;
	if (now_ns > h->now_ns) {
		h->now_ns = now_ns;
	}
}

static void hh_leave(struct hcihost *h)
{
	h->depth--;
	if (h->depth == 0) {
		hh_pump(h);
	} else {
		h->repump = true;
	}
}

static int hh_chan_by_handle(const struct hcihost *h, uint16_t handle)
{
	for (unsigned i = 0; i < HCIHOST_MAX_CHANS; i++) {
		if (h->ch[i].handle == handle) {
			return (int)i;
		}
	}
	return -1;
}

/*
 * The errno a channel reports for an HCI error code (Vol 1, Part F):
 * the link ended by the peer or lost, or never made.
 */
static int hh_status_err(uint8_t status)
{
	switch (status) {
	case HCI_CONNECTION_TIMEOUT:
	case 0x22: /* LL Response Timeout */
		return -ETIMEDOUT;
	case HCI_UNKNOWN_CONNECTION_ID: /* answers our Create Cancel */
		return -ETIMEDOUT;
	case HCI_LOCAL_HOST_TERMINATED:
		return -ECONNABORTED;
	case HCI_CONNECTION_FAILED_TO_ESTABLISH:
		return -EHOSTUNREACH;
	case HCI_AUTHENTICATION_FAILURE:
	case HCI_PAIRING_UNIT_KEY_UNSUPPORTED:
		return -EACCES;
	case HCI_UNSUPPORTED_REMOTE_FEATURE:
		return -EOPNOTSUPP;
	case HCI_UNACCEPTABLE_CONN_PARAMS:
	case HCI_INVALID_PARAMETERS:
		return -EINVAL;
	case HCI_COMMAND_DISALLOWED:
		return -EBUSY;
	default:
		return -ECONNRESET;
	}
}

/* ---- output -------------------------------------------------------- */

static void hh_fail(struct hcihost *h, int err);

static int hh_write(struct hcihost *h, const uint8_t *frame, size_t len)
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

/*
 * Queue the command an encoder wrote into pkt (r: the encoder's result,
 * n its length). Returns the entry, for the caller to annotate, or NULL
 * (encoder refused or queue full: logged through ops->debug).
 */
static struct hh_cmd *hh_cmd_queue(struct hcihost *h, int ch, int r,
				   const uint8_t *pkt, size_t n)
{
	struct hh_cmd *c;
	size_t len;

	if (r < 0 || h->cmd_count == HH_CMD_QUEUE) {
		hh_debug(h, "cannot queue command: %d", r < 0 ? r : -ENOBUFS);
		return NULL;
	}
	c = &h->cmdq[(h->cmd_head + h->cmd_count) % HH_CMD_QUEUE];
	if (h4_encode(H4_CMD, pkt, n, c->frame, sizeof(c->frame), &len) < 0) {
		return NULL;
	}
	c->len = (uint16_t)len;
	c->opcode = (uint16_t)(pkt[0] | pkt[1] << 8);
	c->ch = ch;
	c->handle = ACL_HANDLE_NONE;
	c->arg = 0;
	c->dead = false;
	h->cmd_count++;
	return c;
}

static void hh_send_cmds(struct hcihost *h)
{
	/* E 4.4: at most Num_HCI_Command_Packets commands, and we keep one
	 * in flight so that every answer is unambiguous. */
	while (!h->cmd_out && h->ncmd > 0 && h->cmd_count > 0 &&
	       h->state != HCIHOST_DOWN) {
		struct hh_cmd *c = &h->cmdq[h->cmd_head];
		unsigned gen = h->gen;

		h->cmd_head = (h->cmd_head + 1) % HH_CMD_QUEUE;
		h->cmd_count--;
		if (c->dead) {
			continue;
		}
		h->out = *c;
		h->cmd_out = true;
		h->ncmd--;
		h->cmd_deadline_ns = h->now_ns + h->cfg.cmd_timeout_ns;
		h->stats.cmds++;
		if (hh_write(h, h->out.frame, h->out.len) < 0 ||
		    gen != h->gen) {
			return;
		}
	}
	/* Nothing in flight but the controller gave no credit: an answer
	 * that raises it must come within the command timeout too. */
	if (!h->cmd_out && h->cmd_count > 0 && h->ncmd == 0) {
		if (h->cmd_deadline_ns == 0) {
			h->cmd_deadline_ns =
				h->now_ns + h->cfg.cmd_timeout_ns;
		}
	} else if (!h->cmd_out) {
		h->cmd_deadline_ns = 0;
	}
}

/* Withdraw queued, unsent commands of one opcode for a channel. */
static void hh_cmd_withdraw(struct hcihost *h, uint16_t opcode, int ch)
{
	for (unsigned k = 0; k < h->cmd_count; k++) {
		struct hh_cmd *c = &h->cmdq[(h->cmd_head + k) % HH_CMD_QUEUE];

		if (c->opcode == opcode && c->ch == ch) {
			c->dead = true;
		}
	}
}

static void hh_sig_push(struct hcihost *h, struct hh_chan *c,
			const uint8_t *pdu, size_t len)
{
	unsigned k;

	if (c->sig_count == HH_SIG_QUEUE || len > L2LE_SIG_MAX) {
		h->stats.l2cap_errors++;
		return;
	}
	k = (c->sig_head + c->sig_count) % HH_SIG_QUEUE;
	memcpy(c->sig[k], pdu, len);
	c->sig_len[k] = (uint8_t)len;
	c->sig_count++;
}

static uint8_t hh_next_ident(struct hh_chan *c)
{
	/* A 4: Identifier 0 is never used. */
	c->ident = (uint8_t)(c->ident + 1);
	if (c->ident == 0) {
		c->ident = 1;
	}
	return c->ident;
}

/* ---- channel life -------------------------------------------------- */

static void hh_l2_init(struct hcihost *h, struct hh_chan *c)
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

/* Back to idle: the link, its buffers and every queued byte forgotten.
 * The controller's buffers held by the link are free again (E 4.3). */
static void hh_chan_reset(struct hcihost *h, struct hh_chan *c)
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
}

/* Reset channel i and tell the caller. */
static void hh_chan_finish(struct hcihost *h, unsigned i, int err)
{
	hh_chan_reset(h, &h->ch[i]);
	hh_debug(h, "channel %u closed: %d", i, err);
	h->ops->chan_closed(h->user_data, i, err);
}

/* End channel i's LE link: Disconnect (E 7.1.6), then Disconnection
 * Complete finishes the channel. */
static void hh_drop_link(struct hcihost *h, unsigned i, int err)
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
static void hh_forget_links(struct hcihost *h, int err)
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

/* The controller failed: report it and stop until hcihost_start(). */
static void hh_fail(struct hcihost *h, int err)
{
	if (h->state == HCIHOST_DOWN) {
		return;
	}
	h->state = HCIHOST_DOWN;
	h->gen++;
	h->cmd_count = 0;
	h->cmd_out = false;
	h->cmd_deadline_ns = 0;
	h->flow_ready = false;
	hh_forget_links(h, err);
	/* Unless a chan_closed callback already restarted the host. */
	if (h->state == HCIHOST_DOWN) {
		h->ops->down(h->user_data, err);
	}
}

/* ---- pump ---------------------------------------------------------- */

static void hh_schedule_connect(struct hcihost *h)
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

static void hh_schedule_adv(struct hcihost *h)
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
	if (c->sig_count > 0) {
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

static void hh_send_acl(struct hcihost *h)
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

static void hh_pump(struct hcihost *h)
{
	h->depth++;
	do {
		h->repump = false;
		if (h->state == HCIHOST_READY) {
			hh_schedule_connect(h);
			hh_schedule_adv(h);
		}
		hh_send_cmds(h);
		if (h->state == HCIHOST_READY && h->flow_ready) {
			hh_send_acl(h);
		}
	} while (h->repump && h->state != HCIHOST_DOWN);
	h->depth--;
}

/* ---- start-up ------------------------------------------------------ */

static void hh_setup_done(struct hcihost *h)
{
	if (h->acl_len == 0 || h->acl_num == 0 ||
	    acl_flow_init(&h->flow, h->acl_num) < 0) {
		hh_debug(h, "controller has no ACL buffers");
		hh_fail(h, -EIO);
		return;
	}
	h->flow_ready = true;
	h->state = HCIHOST_READY;
	hh_debug(h, "ready: LE ACL %u x %u", h->acl_len, h->acl_num);
	h->ops->ready(h->user_data, &h->local);
}

/* The start-up command that follows opcode's success (E 4.4 leaves the
 * order to the host; masks first, so no event is missed). */
static int hh_setup_next(uint16_t opcode, uint8_t *b, size_t cap,
			 size_t *ret_len)
{
	switch (opcode) {
	case HCI_OP_RESET:
		return hci_cmd_set_event_mask(
			HCI_EVENT_MASK_DISCONNECTION_COMPLETE |
				HCI_EVENT_MASK_HARDWARE_ERROR |
				HCI_EVENT_MASK_LE_META,
			b, cap, ret_len);
	case HCI_OP_SET_EVENT_MASK:
		return hci_cmd_le_set_event_mask(
			HCI_LE_EVENT_MASK_CONNECTION_COMPLETE |
				HCI_LE_EVENT_MASK_CONNECTION_UPDATE_COMPLETE |
				HCI_LE_EVENT_MASK_REMOTE_CONN_PARAM_REQUEST,
			b, cap, ret_len);
	case HCI_OP_LE_SET_EVENT_MASK:
		return hci_cmd_read_bd_addr(b, cap, ret_len);
	case HCI_OP_READ_BD_ADDR:
		return hci_cmd_le_read_buffer_size_v2(b, cap, ret_len);
	default:
		return -EINVAL;
	}
}

/* The answer to a start-up command: cc is NULL for a Command Status,
 * which for these commands only ever carries a refusal. */
static void hh_setup_step(struct hcihost *h, uint16_t opcode, uint8_t status,
			  const struct hci_evt_cmd_complete *cc)
{
	bool ok = status == HCI_SUCCESS && cc;
	uint8_t b[HCI_CMD_MAX];
	size_t n = 0;
	int r;

	switch (opcode) {
	case HCI_OP_RESET:
	case HCI_OP_SET_EVENT_MASK:
	case HCI_OP_LE_SET_EVENT_MASK:
	case HCI_OP_READ_BD_ADDR:
		if (!ok) {
			break;
		}
		if (opcode == HCI_OP_READ_BD_ADDR) {
			h->local = cc->read_bd_addr;
		}
		r = hh_setup_next(opcode, b, sizeof(b), &n);
		if (!hh_cmd_queue(h, -1, r, b, n)) {
			hh_fail(h, -ENOBUFS);
		}
		return;
	case HCI_OP_LE_READ_BUFFER_SIZE_V2:
	case HCI_OP_LE_READ_BUFFER_SIZE:
		if (!ok && opcode == HCI_OP_LE_READ_BUFFER_SIZE_V2) {
			/* E 7.8.2: v2 is Core 5.2; older controllers answer
			 * Unknown HCI Command, by Status or Complete. */
			r = hci_cmd_le_read_buffer_size(b, sizeof(b), &n);
			if (!hh_cmd_queue(h, -1, r, b, n)) {
				hh_fail(h, -ENOBUFS);
			}
			return;
		}
		if (!ok) {
			break;
		}
		h->acl_len = cc->le_read_buffer_size.acl_len;
		h->acl_num = cc->le_read_buffer_size.acl_num;
		if (h->acl_len == 0) {
			/* E 7.8.2: LE shares the BR/EDR buffers, which
			 * Read Buffer Size sizes (E 7.4.5). */
			r = hci_cmd_read_buffer_size(b, sizeof(b), &n);
			if (!hh_cmd_queue(h, -1, r, b, n)) {
				hh_fail(h, -ENOBUFS);
			}
			return;
		}
		hh_setup_done(h);
		return;
	case HCI_OP_READ_BUFFER_SIZE:
		if (!ok) {
			break;
		}
		h->acl_len = cc->read_buffer_size.acl_len;
		h->acl_num = cc->read_buffer_size.acl_num;
		hh_setup_done(h);
		return;
	default:
		return;
	}
	hh_debug(h, "set-up command 0x%04x failed: 0x%02x", opcode, status);
	hh_fail(h, -EIO);
}

/* ---- command answers ----------------------------------------------- */

/* E 7.8.13: stop the attempt. LE Connection Complete with Unknown
 * Connection Identifier follows, or the cancel fails because nothing was
 * left to stop (the connection completed or failed meanwhile). */
static void hh_cancel_connect(struct hcihost *h)
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

static void hh_connect_failed(struct hcihost *h, int err)
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

static void hh_cmd_answer(struct hcihost *h, uint16_t opcode, uint8_t status,
			  const struct hci_evt_cmd_complete *cc)
{
	struct hh_cmd c;

	if (!h->cmd_out || opcode != h->out.opcode) {
		/* A NOP credit update (opcode 0) or a stray answer. */
		return;
	}
	c = h->out;
	h->cmd_out = false;
	h->cmd_deadline_ns = 0;

	if (h->state == HCIHOST_INIT) {
		hh_setup_step(h, opcode, status, cc);
		return;
	}

	switch (opcode) {
	case HCI_OP_LE_CREATE_CONNECTION:
		/* E 7.8.12: the Status tells whether it started; LE
		 * Connection Complete ends it. */
		if (status != HCI_SUCCESS && h->connecting == c.ch) {
			hh_connect_failed(h, hh_status_err(status));
		}
		break;
	case HCI_OP_LE_CREATE_CONNECTION_CANCEL:
		/* E 7.8.13: on success LE Connection Complete follows with
		 * Unknown Connection Identifier; a failure means nothing was
		 * pending (it completed or failed meanwhile). */
		if (status != HCI_SUCCESS && h->cancel_sent &&
		    h->connecting == c.ch) {
			hh_connect_failed(h, -ETIMEDOUT);
		}
		break;
	case HCI_OP_DISCONNECT:
		/* The link is gone or never was: finish without waiting
		 * for a Disconnection Complete that will not come. */
		if (status != HCI_SUCCESS) {
			int i = hh_chan_by_handle(h, c.handle);

			if (i >= 0) {
				struct hh_chan *ch = &h->ch[i];

				hh_chan_finish(h, (unsigned)i,
					       ch->close_err ? ch->close_err :
							       -ECONNRESET);
			}
		}
		break;
	case HCI_OP_LE_SET_ADVERTISING_ENABLE:
		h->adv_busy = false;
		if (status == HCI_SUCCESS) {
			h->adv_on = c.arg != 0;
		} else if (c.arg && status == HCI_COMMAND_DISALLOWED) {
			/* Already advertising (E 7.8.9). */
			h->adv_on = true;
		} else {
			hh_debug(h, "advertising enable %u: 0x%02x", c.arg,
				 status);
			hh_fail(h, -EIO);
		}
		break;
	default:
		if (status != HCI_SUCCESS) {
			hh_debug(h, "command 0x%04x: status 0x%02x", opcode,
				 status);
		}
		break;
	}
}

/* ---- events -------------------------------------------------------- */

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
	c->ident = 0;
	c->deadline_ns = h->now_ns + h->cfg.connect_timeout_ns;
	hh_l2_init(h, c);
	h->stats.connects++;
	hh_debug(h, "channel %u: link 0x%03x up", i, e->handle);
}

static void hh_on_conn_complete(struct hcihost *h,
				const struct hci_evt_le_conn_complete *e)
{
	int i;
	struct hh_chan *c;
	uint8_t pdu[L2LE_SIG_MAX];
	size_t n;

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
		/* A 4.22: ask for the channel on the PSM. */
		if (l2le_connect(&c->l2, h->cfg.psm, HH_LOCAL_CID,
				 hh_next_ident(c), pdu, sizeof(pdu), &n) < 0) {
			hh_drop_link(h, (unsigned)i, -EPROTO);
			return;
		}
		hh_sig_push(h, c, pdu, n);
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
	/* A 4.22: the central asks; we answer on the PSM. */
	l2le_listen(&c->l2, h->cfg.psm);
}

static void hh_on_disconn(struct hcihost *h,
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

static void hh_on_completed(struct hcihost *h,
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

static void hh_on_remote_param_req(struct hcihost *h,
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

static void hh_on_conn_update(struct hcihost *h,
			      const struct hci_evt_le_conn_update_complete *e,
			      uint64_t now_ns);

static void hh_on_event(struct hcihost *h, const uint8_t *pkt, size_t len)
{
	struct hci_evt e;
	int r;

	r = hci_evt_decode(pkt, len, &e);
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

/*
 * The link runs at a new connection interval: the owner's timing follows
 * it (its servo numbers connection events with it). The value is the
 * controller's: range-checked like any (Vol 4, Part E, 7.7.65.3:
 * 0x0006..0x0C80).
 */
static void hh_on_conn_update(struct hcihost *h,
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

/* ---- L2CAP --------------------------------------------------------- */

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

static void hh_on_acl(struct hcihost *h, const uint8_t *pkt, size_t len)
{
	struct acl_pdu pdu;
	struct hh_chan *c;
	int i, r;

	h->stats.acl_rx++;
	r = acl_reasm_feed(&h->reasm, pkt, len, &pdu);
	if (r < 0) {
		h->stats.acl_errors++;
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
	} else if (c->l2.state == L2LE_OPEN && pdu.cid == c->l2.local_cid) {
		hh_on_kframe(h, (unsigned)i, pdu.payload, pdu.len);
	} else {
		h->stats.l2cap_unknown_cid++;
	}
}

/* ---- public -------------------------------------------------------- */

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
	}
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
	return t;
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
