/* SPDX-License-Identifier: MIT */
/*
 * core/hcihost's use of the controller's crypto for pairing
 * (hcihost_private.h): the requests of the pairings in progress (core/smp
 * asks for one thing at a time) turned into HCI commands, one out at a
 * time for the whole host because LE Read Local P-256 Public Key and LE
 * Generate DHKey answer by an event that names no link, and the answers
 * handed back. LE Encrypt and LE Rand answer by Command Complete. The
 * controller's P-256 key pair is shared by the pairings that hold it and
 * renewed once none does. "E" is Core 5.4, Vol 4, Part E; "H" Vol 3,
 * Part H.
 */
#include <errno.h>
#include <string.h>

#include "core/hcihost.h"
#include "core/hcihost_private.h"
#include "core/macro.h"

/* The controller's key pair: released by a pairing that has its DHKey
 * (or ended); renewed once nobody holds it (H 2.3.6 advises a new key
 * pair after every pairing). */
void hh_crypto_release_key(struct hcihost *h, struct hh_chan *c)
{
	if (!c->lkey_held) {
		return;
	}
	c->lkey_held = false;
	if (h->lkey_users > 0) {
		h->lkey_users--;
	}
	if (h->lkey_users == 0) {
		h->lkey_valid = false;
	}
}

void hh_sec_host_reset(struct hcihost *h)
{
	h->sec_busy = false;
	h->sec_owner = -1;
	h->sec_need = SMP_NEED_NONE;
	h->sec_deadline_ns = 0;
	h->lkey_valid = false;
	h->lkey_users = 0;
	for (unsigned i = 0; i < HCIHOST_MAX_CHANS; i++) {
		h->ch[i].lkey_held = false;
	}
}

/* The answer to the crypto request out; the owner's smp takes it. */
static struct hh_chan *hh_crypto_answer(struct hcihost *h,
					 enum smp_need need)
{
	int owner = h->sec_owner;

	if (!h->sec_busy || h->sec_need != need) {
		return NULL;
	}
	h->sec_busy = false;
	h->sec_owner = -1;
	h->sec_need = SMP_NEED_NONE;
	h->sec_deadline_ns = 0;
	if (owner < 0 || h->ch[owner].sec != HH_SEC_PAIRING) {
		return NULL;
	}
	return &h->ch[owner];
}

void hh_crypto_local_key(struct hcihost *h, uint8_t status,
			 const uint8_t key[SMP_P256_KEY_LEN])
{
	static const uint8_t none[SMP_P256_KEY_LEN];
	bool asked = h->sec_busy && h->sec_need == SMP_NEED_LOCAL_KEY;
	struct hh_chan *c = hh_crypto_answer(h, SMP_NEED_LOCAL_KEY);

	if (!asked) {
		/* Nobody asked: not a key of ours to use. */
		return;
	}
	if (status == HCI_SUCCESS) {
		/* The controller's key pair now, even if the pairing that
		 * asked has gone. */
		memcpy(h->lkey, key, SMP_P256_KEY_LEN);
		h->lkey_valid = true;
	}
	if (!c) {
		return;
	}
	if (status == HCI_SUCCESS) {
		c->lkey_held = true;
		h->lkey_users++;
	}
	smp_on_local_key(&c->smp, status, status == HCI_SUCCESS ? key : none,
			 h->now_ns);
}

void hh_crypto_dhkey(struct hcihost *h, uint8_t status,
		     const uint8_t dhkey[32])
{
	struct hh_chan *c = hh_crypto_answer(h, SMP_NEED_DHKEY);

	if (!c) {
		return;
	}
	smp_on_dhkey(&c->smp, status, dhkey, h->now_ns);
	/* The key pair has done its work for this pairing. */
	hh_crypto_release_key(h, c);
}

bool hh_crypto_cmd_answer(struct hcihost *h, const struct hh_cmd *c,
			  uint8_t status, const struct hci_evt_cmd_complete *cc)
{
	uint8_t data[16], out[16];
	struct hh_chan *owner;
	int r;

	switch (c->opcode) {
	case SMP_HCI_OP_LE_ENCRYPT:
	case SMP_HCI_OP_LE_RAND: {
		bool aes = c->opcode == SMP_HCI_OP_LE_ENCRYPT;
		size_t want = aes ? 16 : 8;

		owner = hh_crypto_answer(h, aes ? SMP_NEED_AES : SMP_NEED_RAND);
		/* Both answer by Command Complete; a Command Status (cc
		 * NULL) only refuses. */
		if (!cc) {
			status = status ? status : HH_STATUS_UNSPECIFIED;
		} else {
			r = smp_hci_cc_data(cc, data, want);
			if (r == -EBADMSG) {
				h->stats.evt_errors++;
				status = HH_STATUS_UNSPECIFIED;
			} else if (r < 0) {
				status = cc->status;
			} else {
				status = HCI_SUCCESS;
			}
		}
		if (!owner) {
			return true;
		}
		if (aes) {
			/* E 7.8.22: HCI order is the reverse of FIPS 197. */
			smp_swap(out, data, 16);
			smp_on_aes(&owner->smp, status, out, h->now_ns);
		} else {
			smp_on_rand(&owner->smp, status, data, h->now_ns);
		}
		return true;
	}
	case SMP_HCI_OP_LE_READ_LOCAL_P256:
		/* E 7.8.36: Command Status, then the event with the key. */
		if (status != HCI_SUCCESS) {
			static const uint8_t none[SMP_P256_KEY_LEN];

			hh_crypto_local_key(h, status, none);
		}
		return true;
	case SMP_HCI_OP_LE_GENERATE_DHKEY:
		if (status != HCI_SUCCESS) {
			static const uint8_t none[32];

			hh_crypto_dhkey(h, status, none);
		}
		return true;
	default:
		return false;
	}
}

/* Send channel i's request q, or answer it from the key pair we know.
 * False when it must wait. */
static bool hh_crypto_ask(struct hcihost *h, unsigned i,
			  const struct smp_request *q)
{
	struct hh_chan *c = &h->ch[i];
	uint8_t b[HCI_CMD_MAX], key[16], in[16];
	size_t n = 0;
	int r = -EINVAL;

	switch (q->need) {
	case SMP_NEED_LOCAL_KEY:
		if (h->lkey_valid) {
			smp_request_sent(&c->smp, q->need);
			c->lkey_held = true;
			h->lkey_users++;
			smp_on_local_key(&c->smp, HCI_SUCCESS, h->lkey,
					 h->now_ns);
			return true;
		}
		if (h->lkey_users > 0) {
			/* Another pairing still needs the current private
			 * key for its DHKey: a new pair would break it. */
			return false;
		}
		r = smp_hci_le_read_local_p256(b, sizeof(b), &n);
		break;
	case SMP_NEED_DHKEY:
		r = smp_hci_le_generate_dhkey(q->peer_key, b, sizeof(b), &n);
		break;
	case SMP_NEED_AES:
		smp_swap(key, q->aes.key, 16);
		smp_swap(in, q->aes.in, 16);
		r = smp_hci_le_encrypt(key, in, b, sizeof(b), &n);
		break;
	case SMP_NEED_RAND:
		r = smp_hci_le_rand(b, sizeof(b), &n);
		break;
	case SMP_NEED_NONE:
		return false;
	}
	if (!hh_cmd_queue(h, (int)i, r, b, n)) {
		return false;
	}
	smp_request_sent(&c->smp, q->need);
	h->sec_busy = true;
	h->sec_owner = (int)i;
	h->sec_need = q->need;
	/* The command's own timeout covers a missing Command Complete;
	 * this one a missing P-256 or DHKey event too. */
	h->sec_deadline_ns = h->now_ns + 2 * h->cfg.cmd_timeout_ns;
	return true;
}

void hh_sec_pump(struct hcihost *h)
{
	unsigned gen = h->gen;

	if (!hh_sec_any(h)) {
		return;
	}
	/* Pairings take turns, one request each. */
	for (unsigned k = 0; k < HCIHOST_MAX_CHANS && !h->sec_busy; k++) {
		unsigned i = (h->sec_rr + k) % HCIHOST_MAX_CHANS;
		struct hh_chan *c = &h->ch[i];
		struct smp_request q;

		while (!h->sec_busy && c->sec == HH_SEC_PAIRING &&
		       smp_request(&c->smp, &q)) {
			if (!hh_crypto_ask(h, i, &q) || gen != h->gen) {
				break;
			}
		}
		if (gen != h->gen) {
			return;
		}
	}
	h->sec_rr = (h->sec_rr + 1) % HCIHOST_MAX_CHANS;
}

bool hh_crypto_tick(struct hcihost *h)
{
	if (!h->sec_busy || h->now_ns < h->sec_deadline_ns) {
		return false;
	}
	/* A command without its event: the controller is not well. */
	h->stats.cmd_timeouts++;
	hh_debug(h, "security request %d: no answer", h->sec_need);
	hh_fail(h, -ETIMEDOUT);
	return true;
}
