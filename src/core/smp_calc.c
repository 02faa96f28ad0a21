/* SPDX-License-Identifier: MIT */
/*
 * What an LE Secure Connections pairing computes and asks the controller
 * for (contracts: smp.h; the parts: smp_private.h). Sections are of
 * Core 5.4, Vol 3, Part H. The order of the work: the local public key
 * first, then the DHKey once the peer's key is in, the nonce from two LE
 * Rand, and the f4/f5/f6 computations (one AES block per request) when
 * the values they need have arrived.
 */
#include <errno.h>
#include <string.h>

#include "core/macro.h"
#include "core/smp.h"
#include "core/smp_private.h"

/* ---- the computations ---------------------------------------------- */

static const uint8_t *smp_initiator_addr(const struct smp *s)
{
	return s->cfg.role == SMP_INITIATOR ? s->cfg.local_addr :
					      s->cfg.peer_addr;
}

static const uint8_t *smp_responder_addr(const struct smp *s)
{
	return s->cfg.role == SMP_INITIATOR ? s->cfg.peer_addr :
					      s->cfg.local_addr;
}

static const uint8_t *smp_na(const struct smp *s)
{
	return s->cfg.role == SMP_INITIATOR ? s->nonce : s->peer_nonce;
}

static const uint8_t *smp_nb(const struct smp *s)
{
	return s->cfg.role == SMP_INITIATOR ? s->peer_nonce : s->nonce;
}

/* 2.2.8: Just Works uses R = 0 on both sides; IOcap is the three
 * feature octets of each side's feature PDU, in wire order. */
void smp_start_check(struct smp *s, enum smp_calc which)
{
	static const uint8_t r_zero[16];

	s->calc = which;
	if (which == SMP_C_EA) {
		smp_f6_start(&s->fn, s->mackey, smp_na(s), smp_nb(s), r_zero,
			     s->preq + 1, smp_initiator_addr(s),
			     smp_responder_addr(s));
	} else {
		smp_f6_start(&s->fn, s->mackey, smp_nb(s), smp_na(s), r_zero,
			     s->prsp + 1, smp_responder_addr(s),
			     smp_initiator_addr(s));
	}
}

/* Responder: Ea received and computed: compare, then make Eb. */
void smp_resp_check(struct smp *s, uint64_t now_ns)
{
	if (!s->have_peer_check || !s->have_want_check ||
	    s->calc != SMP_C_NONE) {
		return;
	}
	if (!smp_equal(s->peer_check, s->want_check, 16)) {
		smp_fail(s, -EBADMSG, SMP_DHKEY_CHECK_FAILED, now_ns);
		return;
	}
	smp_start_check(s, SMP_C_EB);
}

static void smp_calc_done(struct smp *s, uint64_t now_ns)
{
	enum smp_calc which = s->calc;

	s->calc = SMP_C_NONE;
	switch (which) {
	case SMP_C_NONE:
		return;
	case SMP_C_CONFIRM:
		if (s->cfg.role == SMP_RESPONDER) {
			smp_send_value(s, SMP_PAIRING_CONFIRM, s->fn.out,
				       now_ns);
			s->step = SMP_S_WAIT_RANDOM;
		} else if (!smp_equal(s->fn.out, s->peer_confirm, 16)) {
			/* 2.3.5.6.2: Cb does not match Nb: abort. */
			smp_fail(s, -EBADMSG, SMP_CONFIRM_VALUE_FAILED, now_ns);
		}
		return;
	case SMP_C_F5:
		memcpy(s->mackey, s->fn.out, 16);
		memcpy(s->keys.ltk, s->fn.out + 16, 16);
		s->keys.key_size = SMP_KEY_SIZE_MAX;
		s->keys.authenticated = false;
		s->have_mackey = true;
		/* The initiator sends Ea; the responder computes the Ea it
		 * expects. */
		smp_start_check(s, SMP_C_EA);
		return;
	case SMP_C_EA:
		if (s->cfg.role == SMP_INITIATOR) {
			smp_send_value(s, SMP_PAIRING_DHKEY_CHECK, s->fn.out,
				       now_ns);
			s->step = SMP_S_WAIT_CHECK;
			return;
		}
		memcpy(s->want_check, s->fn.out, 16);
		s->have_want_check = true;
		smp_resp_check(s, now_ns);
		return;
	case SMP_C_EB:
		if (s->cfg.role == SMP_RESPONDER) {
			smp_send_value(s, SMP_PAIRING_DHKEY_CHECK, s->fn.out,
				       now_ns);
			s->step = SMP_S_ENCRYPT;
			return;
		}
		if (!smp_equal(s->fn.out, s->peer_check, 16)) {
			smp_fail(s, -EBADMSG, SMP_DHKEY_CHECK_FAILED, now_ns);
			return;
		}
		s->step = SMP_S_ENCRYPT;
		s->ops->encrypt(s->user_data, s->keys.ltk);
		return;
	}
}

/* Move on with whatever is known now. */
void smp_advance(struct smp *s, uint64_t now_ns)
{
	struct smp_pdu m;

	for (;;) {
		switch (s->step) {
		case SMP_S_SEND_PK:
			if (!s->have_local_key) {
				return;
			}
			m.code = SMP_PAIRING_PUBLIC_KEY;
			memcpy(m.public_key.key, s->local_key,
			       SMP_P256_KEY_LEN);
			smp_send(s, &m, now_ns);
			s->step = s->cfg.role == SMP_INITIATOR ?
					  SMP_S_WAIT_PK :
					  SMP_S_MAKE_CONFIRM;
			continue;
		case SMP_S_SEND_RANDOM:
			if (s->nonce_len < 16) {
				return;
			}
			smp_send_value(s, SMP_PAIRING_RANDOM, s->nonce, now_ns);
			s->step = SMP_S_WAIT_RANDOM;
			return;
		case SMP_S_MAKE_CONFIRM:
			if (s->nonce_len < 16 || s->calc != SMP_C_NONE) {
				return;
			}
			/* 2.3.5.6.2: Cb = f4(PKbx, PKax, Nb, 0). */
			smp_f4_start(&s->fn, s->local_key, s->peer_key,
				     s->nonce, 0);
			s->calc = SMP_C_CONFIRM;
			return;
		case SMP_S_KEYS:
			if (s->calc != SMP_C_NONE || s->have_mackey ||
			    !s->have_dhkey) {
				return;
			}
			smp_f5_start(&s->fn, s->dhkey, smp_na(s), smp_nb(s),
				     smp_initiator_addr(s),
				     smp_responder_addr(s));
			s->calc = SMP_C_F5;
			return;
		case SMP_S_IDLE:
		case SMP_S_WAIT_RSP:
		case SMP_S_WAIT_PK:
		case SMP_S_WAIT_CONFIRM:
		case SMP_S_WAIT_RANDOM:
		case SMP_S_WAIT_CHECK:
		case SMP_S_ENCRYPT:
		case SMP_S_KEY_DIST:
		case SMP_S_DONE:
		case SMP_S_FAILED:
			return;
		}
	}
}

/* ---- the controller's answers --------------------------------------- */

bool smp_request(const struct smp *s, struct smp_request *ret)
{
	enum smp_need need = SMP_NEED_NONE;

	if (s->asked != SMP_NEED_NONE || !smp_exchanging(s)) {
		return false;
	}
	memset(ret, 0, sizeof(*ret));
	if (s->calc != SMP_C_NONE) {
		if (smp_fn_next(&s->fn, &ret->aes)) {
			need = SMP_NEED_AES;
		}
	} else if (!s->have_local_key) {
		/* Asked for at once: the key is the first thing we send
		 * (initiator) or wait to send (responder). */
		need = SMP_NEED_LOCAL_KEY;
	} else if (s->have_peer_key && !s->have_dhkey) {
		need = SMP_NEED_DHKEY;
		ret->peer_key = s->peer_key;
	} else if (s->nonce_len < 16) {
		need = SMP_NEED_RAND;
	}
	if (need == SMP_NEED_NONE) {
		return false;
	}
	ret->need = need;
	return true;
}

void smp_request_sent(struct smp *s, enum smp_need need)
{
	s->asked = need;
}

/* Take an answer for need; false when none was asked for (stray). */
static bool smp_answer(struct smp *s, enum smp_need need, uint8_t status,
		       uint64_t now_ns)
{
	if (s->asked != need || !smp_exchanging(s)) {
		return false;
	}
	s->asked = SMP_NEED_NONE;
	if (status != HCI_SUCCESS) {
		/* Vol 4, Part E, 7.8.37: LE Generate DHKey fails for an
		 * invalid remote key (Core 5.1 and later). */
		smp_fail(s, need == SMP_NEED_DHKEY ? -EKEYREJECTED : -EIO,
			 need == SMP_NEED_DHKEY ? SMP_DHKEY_CHECK_FAILED :
						  SMP_UNSPECIFIED_REASON,
			 now_ns);
		return false;
	}
	return true;
}

void smp_on_aes(struct smp *s, uint8_t status, const uint8_t out[16],
		uint64_t now_ns)
{
	if (!smp_answer(s, SMP_NEED_AES, status, now_ns)) {
		return;
	}
	smp_fn_feed(&s->fn, out);
	if (s->fn.done) {
		smp_calc_done(s, now_ns);
	}
	if (smp_active(s)) {
		smp_advance(s, now_ns);
	}
}

void smp_on_rand(struct smp *s, uint8_t status, const uint8_t rand[8],
		 uint64_t now_ns)
{
	if (!smp_answer(s, SMP_NEED_RAND, status, now_ns)) {
		return;
	}
	if (s->nonce_len <= 8) {
		memcpy(s->nonce + s->nonce_len, rand, 8);
		s->nonce_len += 8;
	}
	smp_advance(s, now_ns);
}

void smp_on_local_key(struct smp *s, uint8_t status,
		      const uint8_t key[SMP_P256_KEY_LEN], uint64_t now_ns)
{
	if (!smp_answer(s, SMP_NEED_LOCAL_KEY, status, now_ns)) {
		return;
	}
	memcpy(s->local_key, key, SMP_P256_KEY_LEN);
	s->have_local_key = true;
	if (s->have_peer_key && smp_key_bad(s)) {
		smp_fail(s, -EKEYREJECTED, SMP_DHKEY_CHECK_FAILED, now_ns);
		return;
	}
	smp_advance(s, now_ns);
}

void smp_on_dhkey(struct smp *s, uint8_t status, const uint8_t dhkey[32],
		  uint64_t now_ns)
{
	if (!smp_answer(s, SMP_NEED_DHKEY, status, now_ns)) {
		return;
	}
	memcpy(s->dhkey, dhkey, 32);
	s->have_dhkey = true;
	smp_advance(s, now_ns);
}
