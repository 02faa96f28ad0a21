/* SPDX-License-Identifier: MIT */
/*
 * core/hcihost's link security (hcihost.h, "Security"; the shared state
 * in hcihost_private.h): encryption with a stored bond, LE Secure
 * Connections pairing (core/smp) on the controller's crypto, the
 * controller's LTK requests, and the rule that no L2CAP channel opens on
 * a plain link. "E" is Core 5.4, Vol 4, Part E; "H" Vol 3, Part H.
 *
 * A link's path (c->sec):
 *   central:    link up -> ENCRYPTING (bond) -> SECURE -> L2CAP connect
 *                       -> PAIRING (no bond, or "key missing" once)
 *                          -> SECURE -> L2CAP connect
 *   peripheral: link up -> WAIT -> SECURE (the central encrypted with our
 *                                  bond) or PAIRING -> SECURE
 *   any failure -> FAILED: the Pairing Failed PDU leaves in this pump,
 *                  the link drops at the next tick.
 *
 * The controller's crypto for pairing is hcihost_crypto.c's.
 */
#include <errno.h>
#include <string.h>

#include "core/acl.h"
#include "core/hcihost.h"
#include "core/hcihost_private.h"
#include "core/l2le.h"
#include "core/macro.h"

static void hh_sec_report(struct hcihost *h, unsigned i,
			  enum hcihost_sec_event ev, int err, uint8_t reason,
			  uint8_t status, bool bonded)
{
	struct hcihost_sec_info info = {
		.event = ev,
		.err = err,
		.smp_reason = reason,
		.hci_status = status,
		.bonded = bonded,
	};

	if (h->ops->security) {
		h->ops->security(h->user_data, i, &info);
	}
}

/* Give up on channel i's link: it drops at the next tick, after the
 * Pairing Failed PDU (if any) left. */
static void hh_sec_fail(struct hcihost *h, unsigned i, int err)
{
	struct hh_chan *c = &h->ch[i];

	if (c->sec == HH_SEC_FAILED) {
		return;
	}
	c->sec = HH_SEC_FAILED;
	c->sec_err = err;
	c->sec_deadline_ns = h->now_ns;
	c->deadline_ns = 0;
}

/* The link is encrypted and paired as needed: the central opens the
 * channel, the peripheral accepts it. */
static void hh_sec_secured(struct hcihost *h, unsigned i)
{
	struct hh_chan *c = &h->ch[i];

	c->sec = HH_SEC_SECURE;
	c->sec_deadline_ns = 0;
	c->deadline_ns = h->now_ns + h->cfg.connect_timeout_ns;
	if (h->cfg.role == HCIHOST_CENTRAL && c->state == HCIHOST_CH_L2CAP) {
		hh_link_secured(h, i);
	}
}

bool hh_sec_any(const struct hcihost *h)
{
	for (unsigned i = 0; i < HCIHOST_MAX_CHANS; i++) {
		if (h->ch[i].security != HCIHOST_SECURITY_NONE) {
			return true;
		}
	}
	return false;
}

void hh_sec_chan_reset(struct hcihost *h, struct hh_chan *c)
{
	hh_crypto_release_key(h, c);
	if (h->sec_busy && h->sec_owner == (int)c->index) {
		/* Its request is out: the answer is dropped when it comes. */
		h->sec_owner = -1;
	}
	smp_reset(&c->smp);
	c->sec = HH_SEC_OFF;
	c->encrypted = false;
	c->repaired = false;
	c->sec_err = 0;
	c->sec_deadline_ns = 0;
	c->smp_head = 0;
	c->smp_count = 0;
}

/* ---- SMP's callbacks ------------------------------------------------ */

static void hh_smp_send(void *user_data, const uint8_t *pdu, size_t len)
{
	struct hh_chan *c = user_data;
	struct hcihost *h = c->host;
	unsigned k;
	uint8_t *f;

	if (c->smp_count == HH_SMP_QUEUE || len > SMP_MTU) {
		h->stats.l2cap_errors++;
		return;
	}
	/* A 3.1: a basic frame, Length and Channel ID then the PDU. */
	k = (c->smp_head + c->smp_count) % HH_SMP_QUEUE;
	f = c->smp_tx[k];
	f[0] = (uint8_t)len;
	f[1] = (uint8_t)(len >> 8);
	f[2] = (uint8_t)SMP_CID;
	f[3] = (uint8_t)(SMP_CID >> 8);
	memcpy(f + L2LE_HDR_SIZE, pdu, len);
	c->smp_tx_len[k] = (uint8_t)(L2LE_HDR_SIZE + len);
	c->smp_count++;
}

static void hh_sec_enable(struct hcihost *h, unsigned i, const uint8_t ltk[16],
			  const uint8_t rand[8], uint16_t ediv)
{
	struct hh_chan *c = &h->ch[i];
	uint8_t b[HCI_CMD_MAX];
	size_t n = 0;
	int r;

	/* E 7.8.24: the central starts encryption with the LTK. */
	r = smp_hci_le_enable_encryption(c->handle, rand, ediv, ltk, b,
					 sizeof(b), &n);
	if (!hh_cmd_queue(h, (int)i, r, b, n)) {
		hh_sec_fail(h, i, -EIO);
	}
}

static void hh_smp_encrypt(void *user_data, const uint8_t ltk[16])
{
	static const uint8_t zero[8];
	struct hh_chan *c = user_data;

	/* H 2.4.4: Secure Connections keys have EDIV and Rand zero. */
	hh_sec_enable(c->host, c->index, ltk, zero, 0);
}

static void hh_smp_done(void *user_data, int err, uint8_t reason,
			const struct smp_keys *keys)
{
	struct hh_chan *c = user_data;
	struct hcihost *h = c->host;
	unsigned i = c->index;
	struct smp_bond bond;

	hh_crypto_release_key(h, c);
	if (err < 0) {
		h->stats.pairing_failures++;
		if (err == -ETIMEDOUT) {
			h->stats.smp_timeouts++;
		} else if (err == -EKEYREJECTED) {
			h->stats.bad_public_keys++;
		}
		hh_debug(h, "channel %u: pairing failed: %d (%s)", i, err,
			 reason ? smp_reason_name(reason) : "no reason");
		hh_sec_fail(h, i, err == -ETIMEDOUT ? -ETIMEDOUT : -EACCES);
		hh_sec_report(h, i, HCIHOST_SEC_FAILED, err, reason, 0, false);
		return;
	}
	h->stats.pairings++;
	memset(&bond, 0, sizeof(bond));
	bond.local = h->local;
	if (h->cfg.role == HCIHOST_CENTRAL) {
		/* Stored under the address we connect to. */
		bond.peer = c->peer;
		bond.peer_type = c->peer_type & 0x01;
	} else {
		bond.peer = c->conn_peer;
		bond.peer_type = c->conn_peer_type;
	}
	memcpy(bond.ltk, keys->ltk, 16);
	bond.key_size = keys->key_size;
	bond.authenticated = keys->authenticated;
	bond.secure_connections = true;
	bond.have_irk = keys->have_irk;
	memcpy(bond.irk, keys->irk, 16);
	bond.id_type = keys->id_type;
	bond.id_addr = keys->id_addr;
	hh_debug(h, "channel %u: paired", i);
	hh_sec_secured(h, i);
	if (h->ops->bond_new) {
		h->ops->bond_new(h->user_data, i, &bond);
	}
	hh_sec_report(h, i, HCIHOST_SEC_PAIRED, 0, 0, 0, false);
}

static const struct smp_ops hh_smp_ops = {
	.send = hh_smp_send,
	.encrypt = hh_smp_encrypt,
	.done = hh_smp_done,
};

/* ---- links ------------------------------------------------------------ */

static void hh_sec_pair(struct hcihost *h, unsigned i)
{
	struct hh_chan *c = &h->ch[i];

	c->sec = HH_SEC_PAIRING;
	c->sec_deadline_ns = 0;
	c->deadline_ns = 0; /* the Security Manager timer instead (H 3.4) */
	smp_reset(&c->smp);
	hh_sec_report(h, i, HCIHOST_SEC_PAIRING, 0, 0, 0, false);
	if (h->cfg.role == HCIHOST_CENTRAL && c->sec == HH_SEC_PAIRING &&
	    c->state == HCIHOST_CH_L2CAP) {
		smp_start(&c->smp, h->now_ns);
	}
}

static int hh_sec_find(struct hcihost *h, unsigned i, struct smp_bond *ret)
{
	struct hh_chan *c = &h->ch[i];
	const struct hci_bdaddr *peer;
	uint8_t type;
	int r;

	if (!h->ops->bond_find) {
		return -ENOENT;
	}
	if (h->cfg.role == HCIHOST_CENTRAL) {
		peer = &c->peer;
		type = c->peer_type & 0x01;
	} else {
		peer = &c->conn_peer;
		type = c->conn_peer_type;
	}
	r = h->ops->bond_find(h->user_data, i, &h->local, peer, type, ret);
	if (r < 0) {
		return r;
	}
	/* Only what pairing would give now: a full-size key. */
	return ret->key_size == SMP_KEY_SIZE_MAX ? 0 : -ENOENT;
}

bool hh_sec_link_up(struct hcihost *h, unsigned i)
{
	struct hh_chan *c = &h->ch[i];
	struct smp_config sc;
	struct smp_bond bond;

	if (c->security == HCIHOST_SECURITY_NONE) {
		c->sec = HH_SEC_OFF;
		return true;
	}
	memset(&sc, 0, sizeof(sc));
	sc.role = h->cfg.role == HCIHOST_CENTRAL ? SMP_INITIATOR :
						   SMP_RESPONDER;
	/* H 2.2.7: our public address (type 0) and the peer's as the link
	 * reports it. */
	memcpy(sc.local_addr, h->local.b, 6);
	sc.local_addr[6] = 0;
	memcpy(sc.peer_addr, c->conn_peer.b, 6);
	sc.peer_addr[6] = c->conn_peer_type;
	if (h->cfg.role == HCIHOST_CENTRAL) {
		/* The earbud's identity, in case it moves to a private
		 * address one day; we distribute nothing. */
		sc.resp_key_dist = SMP_DIST_ID_KEY;
	} else if (h->cfg.send_identity) {
		sc.resp_key_dist = SMP_DIST_ID_KEY;
		memcpy(sc.irk, h->cfg.irk, 16);
		sc.id_type = 0;
		sc.id_addr = h->local;
	}
	smp_init(&c->smp, &sc, &hh_smp_ops, c);
	c->deadline_ns = h->now_ns + h->cfg.connect_timeout_ns;
	if (h->cfg.role == HCIHOST_PERIPHERAL) {
		c->sec = HH_SEC_WAIT;
		return false;
	}
	if (hh_sec_find(h, i, &bond) == 0) {
		c->sec = HH_SEC_ENCRYPTING;
		c->deadline_ns = 0;
		c->sec_deadline_ns = h->now_ns + h->cfg.connect_timeout_ns;
		hh_sec_enable(h, i, bond.ltk, bond.rand, bond.ediv);
		return false;
	}
	hh_sec_pair(h, i);
	return false;
}

bool hh_sec_allows_l2cap(const struct hcihost *h, const struct hh_chan *c)
{
	return c->security == HCIHOST_SECURITY_NONE || c->sec == HH_SEC_SECURE;
}

void hh_sec_on_smp(struct hcihost *h, unsigned i, const uint8_t *p,
		   size_t len)
{
	struct hh_chan *c = &h->ch[i];

	if (c->sec == HH_SEC_WAIT && smp_phase(&c->smp) == SMP_IDLE) {
		/* The central pairs (no bond, or it lost ours). */
		hh_sec_pair(h, i);
	}
	if (c->sec != HH_SEC_PAIRING) {
		/* Before or after our pairing: not taken (H 3.4: nothing
		 * after a failure). */
		h->stats.smp_errors++;
		return;
	}
	if (smp_input(&c->smp, p, len, h->now_ns) < 0) {
		h->stats.smp_errors++;
	}
}

bool hh_sec_next_pdu(struct hh_chan *c, uint8_t *pdu, size_t cap,
		     size_t *ret_len)
{
	unsigned k = c->smp_head;
	size_t n = c->smp_tx_len[k];

	if (c->smp_count == 0 || n > cap) {
		return false;
	}
	memcpy(pdu, c->smp_tx[k], n);
	c->smp_head = (k + 1) % HH_SMP_QUEUE;
	c->smp_count--;
	*ret_len = n;
	return true;
}

/* ---- encryption ------------------------------------------------------- */

static void hh_sec_encryption_failed(struct hcihost *h, unsigned i,
				     uint8_t status)
{
	struct hh_chan *c = &h->ch[i];

	c->encrypted = false;
	if (c->sec == HH_SEC_WAIT) {
		/* A peripheral leaves it to the central: it pairs again
		 * or drops the link. */
		h->stats.encrypt_failures++;
		return;
	}
	if (c->sec == HH_SEC_PAIRING) {
		/* The pairing's own key was refused: SMP fails it. */
		h->stats.encrypt_failures++;
		smp_on_encrypted(&c->smp, false, h->now_ns);
		return;
	}
	if (c->sec == HH_SEC_ENCRYPTING &&
	    status == SMP_HCI_PIN_OR_KEY_MISSING) {
		/* The peer has no key for us (E 7.7.8: it answered the LTK
		 * request negatively): it was reset or forgot us. Pair
		 * again, once on this link. */
		h->stats.key_missing++;
		hh_sec_report(h, i, HCIHOST_SEC_KEY_MISSING, -EACCES, 0,
			      status, true);
		if (!c->repaired && c->sec == HH_SEC_ENCRYPTING) {
			c->repaired = true;
			hh_sec_pair(h, i);
			return;
		}
	}
	if (c->sec == HH_SEC_FAILED || c->sec == HH_SEC_OFF) {
		return;
	}
	h->stats.encrypt_failures++;
	hh_debug(h, "channel %u: encryption failed: 0x%02x", i, status);
	hh_sec_fail(h, i, -EACCES);
	hh_sec_report(h, i, HCIHOST_SEC_FAILED, -EACCES, 0, status, false);
}

static void hh_sec_on_change(struct hcihost *h, unsigned i, uint8_t status,
			     bool on)
{
	struct hh_chan *c = &h->ch[i];

	if (status != HCI_SUCCESS || !on) {
		hh_sec_encryption_failed(h, i,
					 status ? status :
						  HH_STATUS_UNSPECIFIED);
		return;
	}
	c->encrypted = true;
	h->stats.encryptions++;
	switch (c->sec) {
	case HH_SEC_PAIRING:
		/* Key distribution, then smp's done. */
		smp_on_encrypted(&c->smp, true, h->now_ns);
		return;
	case HH_SEC_ENCRYPTING:
	case HH_SEC_WAIT:
		/* With the stored bond, no pairing. */
		hh_debug(h, "channel %u: encrypted with the bond", i);
		hh_sec_secured(h, i);
		hh_sec_report(h, i, HCIHOST_SEC_ENCRYPTED, 0, 0, 0, true);
		return;
	case HH_SEC_SECURE:
	case HH_SEC_OFF:
	case HH_SEC_FAILED:
		return;
	}
}

/* Peripheral: the controller asks for the LTK of the central's
 * encryption request (E 7.7.65.5): the pairing's, or the bond's. */
static void hh_sec_ltk_request(struct hcihost *h, const struct smp_hci_evt *e)
{
	static const uint8_t zero[8];
	int i = hh_chan_by_handle(h, e->handle);
	uint8_t ltk[16], b[HCI_CMD_MAX];
	struct smp_bond bond;
	size_t n = 0;
	int r = -ENOENT;

	if (i >= 0 && h->cfg.role == HCIHOST_PERIPHERAL) {
		struct hh_chan *c = &h->ch[i];

		if (smp_ltk(&c->smp, ltk) == 0) {
			r = 0;
		} else if (c->sec == HH_SEC_WAIT && e->ediv == 0 &&
			   memcmp(e->rand, zero, 8) == 0 &&
			   hh_sec_find(h, (unsigned)i, &bond) == 0) {
			/* H 2.4.4: EDIV and Rand zero name an SC key. */
			memcpy(ltk, bond.ltk, 16);
			r = 0;
		}
	}
	if (r == 0) {
		r = smp_hci_le_ltk_reply(e->handle, ltk, b, sizeof(b), &n);
	} else {
		/* E 7.8.26: the central sees "PIN or Key Missing". */
		r = smp_hci_le_ltk_neg_reply(e->handle, b, sizeof(b), &n);
	}
	hh_cmd_queue(h, i, r, b, n);
}

void hh_sec_on_event(struct hcihost *h, const struct smp_hci_evt *e)
{
	int i;

	switch (e->kind) {
	case SMP_HCI_ENCRYPTION_CHANGE:
	case SMP_HCI_KEY_REFRESH_COMPLETE:
		i = hh_chan_by_handle(h, e->handle);
		if (i < 0 || h->ch[i].security == HCIHOST_SECURITY_NONE) {
			return;
		}
		/* E 7.7.39: a refresh keeps the link encrypted. */
		hh_sec_on_change(h, (unsigned)i, e->status,
				 e->kind == SMP_HCI_KEY_REFRESH_COMPLETE ?
					 h->ch[i].encrypted :
					 e->enabled != 0);
		return;
	case SMP_HCI_LTK_REQUEST:
		hh_sec_ltk_request(h, e);
		return;
	case SMP_HCI_LOCAL_P256:
		hh_crypto_local_key(h, e->status, e->key);
		return;
	case SMP_HCI_DHKEY:
		hh_crypto_dhkey(h, e->status, e->dhkey);
		return;
	}
}

bool hh_sec_cmd_answer(struct hcihost *h, const struct hh_cmd *c,
		       uint8_t status, const struct hci_evt_cmd_complete *cc)
{
	if (hh_crypto_cmd_answer(h, c, status, cc)) {
		return true;
	}
	switch (c->opcode) {
	case SMP_HCI_OP_LE_ENABLE_ENCRYPTION:
		/* E 7.8.24: refused at once; else Encryption Change. */
		if (status != HCI_SUCCESS && c->ch >= 0 &&
		    (unsigned)c->ch < HCIHOST_MAX_CHANS &&
		    h->ch[c->ch].handle != ACL_HANDLE_NONE) {
			hh_sec_encryption_failed(h, (unsigned)c->ch, status);
		}
		return true;
	case SMP_HCI_OP_LE_LTK_REPLY:
	case SMP_HCI_OP_LE_LTK_NEG_REPLY:
		if (status != HCI_SUCCESS) {
			hh_debug(h, "LTK reply 0x%04x: status 0x%02x",
				 c->opcode, status);
		}
		return true;
	default:
		return false;
	}
}

void hh_sec_tick(struct hcihost *h)
{
	uint64_t now = h->now_ns;

	if (hh_crypto_tick(h)) {
		return;
	}
	for (unsigned i = 0; i < HCIHOST_MAX_CHANS; i++) {
		struct hh_chan *c = &h->ch[i];

		switch (c->sec) {
		case HH_SEC_PAIRING:
			smp_tick(&c->smp, now);
			break;
		case HH_SEC_ENCRYPTING:
			if (now >= c->sec_deadline_ns) {
				/* E 7.8.24: no Encryption Change. */
				h->stats.encrypt_failures++;
				hh_sec_fail(h, i, -ETIMEDOUT);
				hh_sec_report(h, i, HCIHOST_SEC_FAILED,
					      -ETIMEDOUT, 0, 0, false);
			}
			break;
		case HH_SEC_OFF:
		case HH_SEC_WAIT:
		case HH_SEC_SECURE:
		case HH_SEC_FAILED:
			break;
		}
		if (c->sec == HH_SEC_FAILED && now >= c->sec_deadline_ns &&
		    c->state != HCIHOST_CH_CLOSING) {
			hh_drop_link(h, i, c->sec_err);
		}
	}
}

uint64_t hh_sec_deadline(const struct hcihost *h)
{
	uint64_t t = UINT64_MAX;

	if (h->state != HCIHOST_READY || !hh_sec_any(h)) {
		return t;
	}
	if (h->sec_busy) {
		/* The crypto request out (hcihost_crypto.c). */
		t = h->sec_deadline_ns;
	}
	for (unsigned i = 0; i < HCIHOST_MAX_CHANS; i++) {
		const struct hh_chan *c = &h->ch[i];

		if (c->sec == HH_SEC_PAIRING) {
			t = MIN(t, smp_deadline(&c->smp));
		} else if (c->sec == HH_SEC_ENCRYPTING ||
			   (c->sec == HH_SEC_FAILED &&
			    c->state != HCIHOST_CH_CLOSING)) {
			t = MIN(t, c->sec_deadline_ns);
		}
	}
	return t;
}
