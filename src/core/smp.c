/* SPDX-License-Identifier: MIT */
/*
 * LE Secure Connections Just Works pairing (contracts: smp.h). Sections
 * are of Core 5.4, Vol 3, Part H. The sequence (2.3.5.6.2, Figure 2.3,
 * and Appendix C.2.2.1), I the initiator (central), R the responder:
 *
 *   I -> R  Pairing Request          R -> I  Pairing Response
 *   I -> R  Public Key PKa           R -> I  Public Key PKb
 *   R -> I  Confirm Cb = f4(PKbx, PKax, Nb, 0)
 *   I -> R  Random Na                R -> I  Random Nb
 *   I checks Cb; both: MacKey || LTK = f5(DHKey, Na, Nb, A, B)
 *   I -> R  DHKey Check Ea = f6(MacKey, Na, Nb, 0, IOcapA, A, B)
 *   R checks Ea; R -> I DHKey Check Eb = f6(MacKey, Nb, Na, 0, IOcapB, B, A)
 *   I checks Eb, starts encryption with the LTK; then key distribution
 *   (3.6.1), the responder first.
 */
#include "core/smp.h"

#include <errno.h>
#include <string.h>

#include "core/macro.h"
#include "core/smp_private.h"

bool smp_active(const struct smp *s)
{
	return s->step != SMP_S_IDLE && s->step != SMP_S_DONE &&
	       s->step != SMP_S_FAILED;
}

/* Before key agreement: still exchanging pairing values. */
bool smp_exchanging(const struct smp *s)
{
	return smp_active(s) && s->step != SMP_S_ENCRYPT &&
	       s->step != SMP_S_KEY_DIST;
}

void smp_init(struct smp *s, const struct smp_config *cfg,
	      const struct smp_ops *ops, void *user_data)
{
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	s->ops = ops;
	s->user_data = user_data;
}

void smp_reset(struct smp *s)
{
	struct smp_config cfg = s->cfg;
	const struct smp_ops *ops = s->ops;
	void *user_data = s->user_data;

	/* Wipe the secrets with everything else. */
	smp_init(s, &cfg, ops, user_data);
}

/* 3.4: every PDU queued restarts the Security Manager timer. */
void smp_send(struct smp *s, const struct smp_pdu *m, uint64_t now_ns)
{
	uint8_t b[SMP_MTU];
	size_t n;

	if (smp_pdu_encode(m, b, sizeof(b), &n) < 0) {
		return;
	}
	s->deadline_ns = now_ns + SMP_TIMEOUT_NS;
	s->ops->send(s->user_data, b, n);
}

void smp_send_value(struct smp *s, uint8_t code, const uint8_t v[16],
		    uint64_t now_ns)
{
	struct smp_pdu m = { .code = code };

	memcpy(m.value, v, 16);
	smp_send(s, &m, now_ns);
}

/* The end: no callback follows ops->done for this pairing. */
static void smp_finish(struct smp *s, int err, uint8_t reason)
{
	s->step = err < 0 ? SMP_S_FAILED : SMP_S_DONE;
	s->calc = SMP_C_NONE;
	s->asked = SMP_NEED_NONE;
	s->ops->done(s->user_data, err, reason, err < 0 ? NULL : &s->keys);
}

/* Fail and tell the peer why (3.5.5). */
void smp_fail(struct smp *s, int err, uint8_t reason, uint64_t now_ns)
{
	struct smp_pdu m = { .code = SMP_PAIRING_FAILED, .reason = reason };

	smp_send(s, &m, now_ns);
	smp_finish(s, err, reason);
}

static void smp_pairing_pdu(uint8_t code, const struct smp_pairing *p,
			    uint8_t raw[7])
{
	raw[0] = code;
	raw[1] = p->io_cap;
	raw[2] = p->oob;
	raw[3] = p->auth_req;
	raw[4] = p->max_key_size;
	raw[5] = p->init_key_dist;
	raw[6] = p->resp_key_dist;
}

/* Our features: no input or output, bonding, Secure Connections, no
 * MITM (we cannot provide it), the longest key (3.5.1). */
static void smp_our_features(const struct smp *s, struct smp_pairing *p)
{
	memset(p, 0, sizeof(*p));
	p->io_cap = SMP_IO_NO_INPUT_NO_OUTPUT;
	p->oob = 0;
	p->auth_req = SMP_AUTH_BONDING | SMP_AUTH_SC;
	p->max_key_size = SMP_KEY_SIZE_MAX;
	p->init_key_dist = s->cfg.init_key_dist;
	p->resp_key_dist = s->cfg.resp_key_dist;
}

/*
 * What both ends must offer (2.3.5.6, 3.5.1): LE Secure Connections, a
 * 16-octet key, no OOB data (we have none to give). 0 or the reason to
 * refuse with.
 */
static uint8_t smp_features_refusal(const struct smp_pairing *p)
{
	if (!(p->auth_req & SMP_AUTH_SC)) {
		return SMP_AUTHENTICATION_REQUIREMENTS;
	}
	if (p->max_key_size < SMP_KEY_SIZE_MAX) {
		return SMP_ENCRYPTION_KEY_SIZE;
	}
	if (p->oob) {
		return SMP_OOB_NOT_AVAILABLE;
	}
	return 0;
}

/* A peer key we refuse: off the curve, the debug key (its private key
 * is published), or our own reflected back. */
bool smp_key_bad(const struct smp *s)
{
	if (smp_p256_check(s->peer_key) < 0 ||
	    smp_p256_is_debug_key(s->peer_key)) {
		return true;
	}
	return s->have_local_key &&
	       smp_equal(s->peer_key, s->local_key, SMP_P256_KEY_LEN);
}

/* ---- PDUs ---------------------------------------------------------- */

static void smp_on_request(struct smp *s, const struct smp_pdu *m,
			   const uint8_t *raw, uint64_t now_ns)
{
	struct smp_pairing rsp;
	struct smp_pdu out = { .code = SMP_PAIRING_RESPONSE };
	uint8_t why = smp_features_refusal(&m->pairing);

	memcpy(s->preq, raw, 7);
	if (why) {
		smp_fail(s, -EOPNOTSUPP, why, now_ns);
		return;
	}
	/* 3.6.1: each side distributes what both asked for. */
	smp_our_features(s, &rsp);
	rsp.init_key_dist = m->pairing.init_key_dist & s->cfg.init_key_dist;
	rsp.resp_key_dist = m->pairing.resp_key_dist & s->cfg.resp_key_dist;
	smp_pairing_pdu(SMP_PAIRING_RESPONSE, &rsp, s->prsp);
	s->keys_due = rsp.init_key_dist & SMP_DIST_ID_KEY;
	out.pairing = rsp;
	s->step = SMP_S_WAIT_PK;
	smp_send(s, &out, now_ns);
}

static void smp_on_response(struct smp *s, const struct smp_pdu *m,
			    const uint8_t *raw, uint64_t now_ns)
{
	const struct smp_pairing *p = &m->pairing;
	uint8_t why = smp_features_refusal(p);

	if (why) {
		smp_fail(s, -EOPNOTSUPP, why, now_ns);
		return;
	}
	/* 3.5.2: the responder may only drop keys from our request. */
	if ((p->init_key_dist & ~s->preq[5]) ||
	    (p->resp_key_dist & ~s->preq[6])) {
		smp_fail(s, -EPROTO, SMP_INVALID_PARAMETERS, now_ns);
		return;
	}
	memcpy(s->prsp, raw, 7);
	/* 3.6.1: with Secure Connections EncKey is not distributed; ttws
	 * asks for the identity only. */
	s->keys_due = p->resp_key_dist & SMP_DIST_ID_KEY;
	s->step = SMP_S_SEND_PK;
}

static void smp_on_public_key(struct smp *s, const struct smp_pdu *m,
			      uint64_t now_ns)
{
	memcpy(s->peer_key, m->public_key.key, SMP_P256_KEY_LEN);
	if (smp_key_bad(s)) {
		/* 2.3.5.6.1 and the invalid-curve erratum: the pairing
		 * fails. The reason is the one a failed DHKey computation
		 * leads to (no reason is named for this case). */
		smp_fail(s, -EKEYREJECTED, SMP_DHKEY_CHECK_FAILED, now_ns);
		return;
	}
	s->have_peer_key = true;
	s->step = s->cfg.role == SMP_INITIATOR ? SMP_S_WAIT_CONFIRM :
						 SMP_S_SEND_PK;
}

static void smp_on_random(struct smp *s, const struct smp_pdu *m,
			  uint64_t now_ns)
{
	memcpy(s->peer_nonce, m->value, 16);
	if (s->cfg.role == SMP_INITIATOR) {
		/* Check Cb = f4(PKbx, PKax, Nb, 0) before anything else. */
		smp_f4_start(&s->fn, s->peer_key, s->local_key, s->peer_nonce,
			     0);
		s->calc = SMP_C_CONFIRM;
	} else {
		smp_send_value(s, SMP_PAIRING_RANDOM, s->nonce, now_ns);
	}
	s->step = SMP_S_KEYS;
}

static void smp_on_check(struct smp *s, const struct smp_pdu *m,
			 uint64_t now_ns)
{
	memcpy(s->peer_check, m->value, 16);
	s->have_peer_check = true;
	if (s->cfg.role == SMP_INITIATOR) {
		smp_start_check(s, SMP_C_EB);
	} else {
		smp_resp_check(s, now_ns);
	}
}

/* Both sides distributed what they agreed to. */
static void smp_keys_received(struct smp *s)
{
	if (s->keys_due == 0) {
		smp_finish(s, 0, 0);
	}
}

static void smp_on_identity(struct smp *s, const struct smp_pdu *m)
{
	if (m->code == SMP_IDENTITY_INFORMATION) {
		memcpy(s->keys.irk, m->value, 16);
		s->got_irk = true;
		return;
	}
	s->keys.id_type = m->id_addr.type;
	s->keys.id_addr = m->id_addr.addr;
	s->keys.have_irk = true;
	s->keys_due &= (uint8_t)~SMP_DIST_ID_KEY;
	smp_keys_received(s);
}

/* Whether m is what the current step waits for. */
static bool smp_expected(const struct smp *s, const struct smp_pdu *m)
{
	bool init = s->cfg.role == SMP_INITIATOR;

	switch ((enum smp_code)m->code) {
	case SMP_PAIRING_REQUEST:
		return !init && s->step == SMP_S_IDLE;
	case SMP_PAIRING_RESPONSE:
		return init && s->step == SMP_S_WAIT_RSP;
	case SMP_PAIRING_PUBLIC_KEY:
		return s->step == SMP_S_WAIT_PK;
	case SMP_PAIRING_CONFIRM:
		return init && s->step == SMP_S_WAIT_CONFIRM;
	case SMP_PAIRING_RANDOM:
		return s->step == SMP_S_WAIT_RANDOM;
	case SMP_PAIRING_DHKEY_CHECK:
		if (init) {
			return s->step == SMP_S_WAIT_CHECK &&
			       s->calc == SMP_C_NONE;
		}
		return s->step == SMP_S_KEYS && !s->have_peer_check;
	case SMP_IDENTITY_INFORMATION:
		return s->step == SMP_S_KEY_DIST &&
		       (s->keys_due & SMP_DIST_ID_KEY) && !s->got_irk;
	case SMP_IDENTITY_ADDRESS_INFORMATION:
		return s->step == SMP_S_KEY_DIST && s->got_irk;
	case SMP_PAIRING_FAILED:
	case SMP_ENCRYPTION_INFORMATION:
	case SMP_CENTRAL_IDENTIFICATION:
	case SMP_SIGNING_INFORMATION:
	case SMP_SECURITY_REQUEST:
	case SMP_KEYPRESS_NOTIFICATION:
		return false;
	}
	return false;
}

int smp_input(struct smp *s, const uint8_t *pdu, size_t len, uint64_t now_ns)
{
	struct smp_pdu m;
	int r;

	if (s->step == SMP_S_DONE || s->step == SMP_S_FAILED) {
		/* 3.4: after a failure nothing more; after success a new
		 * pairing needs a new link (ttws never re-pairs on one). */
		return -EALREADY;
	}
	r = smp_pdu_decode(pdu, len, &m);
	if (r < 0) {
		if (smp_active(s) || s->cfg.role == SMP_RESPONDER) {
			smp_fail(s, -EPROTO,
				 r == -ENOMSG ? SMP_COMMAND_NOT_SUPPORTED :
						SMP_INVALID_PARAMETERS,
				 now_ns);
		}
		return r;
	}
	if (m.code == SMP_PAIRING_FAILED) {
		if (!smp_active(s)) {
			return -EPROTO;
		}
		smp_finish(s, -EACCES, m.reason);
		return 0;
	}
	/* Hints we need not act on: a peripheral asking for security (we
	 * start it anyway) and keypresses (not Just Works). */
	if ((m.code == SMP_SECURITY_REQUEST &&
	     s->cfg.role == SMP_INITIATOR) ||
	    m.code == SMP_KEYPRESS_NOTIFICATION) {
		return 0;
	}
	if (!smp_expected(s, &m)) {
		if (smp_active(s) || s->cfg.role == SMP_RESPONDER) {
			smp_fail(s, -EPROTO, SMP_UNSPECIFIED_REASON, now_ns);
		}
		return -EPROTO;
	}
	switch ((enum smp_code)m.code) {
	case SMP_PAIRING_REQUEST:
		smp_on_request(s, &m, pdu, now_ns);
		break;
	case SMP_PAIRING_RESPONSE:
		smp_on_response(s, &m, pdu, now_ns);
		break;
	case SMP_PAIRING_PUBLIC_KEY:
		smp_on_public_key(s, &m, now_ns);
		break;
	case SMP_PAIRING_CONFIRM:
		memcpy(s->peer_confirm, m.value, 16);
		s->step = SMP_S_SEND_RANDOM;
		break;
	case SMP_PAIRING_RANDOM:
		smp_on_random(s, &m, now_ns);
		break;
	case SMP_PAIRING_DHKEY_CHECK:
		smp_on_check(s, &m, now_ns);
		break;
	case SMP_IDENTITY_INFORMATION:
	case SMP_IDENTITY_ADDRESS_INFORMATION:
		smp_on_identity(s, &m);
		return 0;
	case SMP_PAIRING_FAILED:
	case SMP_ENCRYPTION_INFORMATION:
	case SMP_CENTRAL_IDENTIFICATION:
	case SMP_SIGNING_INFORMATION:
	case SMP_SECURITY_REQUEST:
	case SMP_KEYPRESS_NOTIFICATION:
		return 0;
	}
	if (smp_active(s)) {
		smp_advance(s, now_ns);
	}
	return 0;
}

int smp_start(struct smp *s, uint64_t now_ns)
{
	struct smp_pdu m = { .code = SMP_PAIRING_REQUEST };

	if (s->cfg.role != SMP_INITIATOR) {
		return -EINVAL;
	}
	if (s->step != SMP_S_IDLE) {
		return -EALREADY;
	}
	smp_our_features(s, &m.pairing);
	smp_pairing_pdu(SMP_PAIRING_REQUEST, &m.pairing, s->preq);
	s->step = SMP_S_WAIT_RSP;
	smp_send(s, &m, now_ns);
	return 0;
}

void smp_on_encrypted(struct smp *s, bool ok, uint64_t now_ns)
{
	struct smp_pdu m;

	if (s->step != SMP_S_ENCRYPT) {
		return;
	}
	if (!ok) {
		smp_finish(s, -EIO, 0);
		return;
	}
	s->step = SMP_S_KEY_DIST;
	/* 3.6.1: the responder distributes first. */
	if (s->cfg.role == SMP_RESPONDER &&
	    (s->prsp[6] & SMP_DIST_ID_KEY)) {
		smp_send_value(s, SMP_IDENTITY_INFORMATION, s->cfg.irk,
			       now_ns);
		memset(&m, 0, sizeof(m));
		m.code = SMP_IDENTITY_ADDRESS_INFORMATION;
		m.id_addr.type = s->cfg.id_type;
		m.id_addr.addr = s->cfg.id_addr;
		smp_send(s, &m, now_ns);
	}
	smp_keys_received(s);
}

int smp_ltk(const struct smp *s, uint8_t ltk[16])
{
	if (s->cfg.role != SMP_RESPONDER || s->step != SMP_S_ENCRYPT) {
		return -ENOENT;
	}
	memcpy(ltk, s->keys.ltk, 16);
	return 0;
}

uint64_t smp_deadline(const struct smp *s)
{
	return smp_active(s) ? s->deadline_ns : UINT64_MAX;
}

void smp_tick(struct smp *s, uint64_t now_ns)
{
	if (smp_active(s) && now_ns >= s->deadline_ns) {
		/* 3.4: failed; no more SMP PDUs on this link. */
		smp_finish(s, -ETIMEDOUT, 0);
	}
}

enum smp_phase smp_phase(const struct smp *s)
{
	switch (s->step) {
	case SMP_S_IDLE:
		return SMP_IDLE;
	case SMP_S_ENCRYPT:
		return SMP_ENCRYPTING;
	case SMP_S_KEY_DIST:
		return SMP_KEY_DIST;
	case SMP_S_DONE:
		return SMP_DONE;
	case SMP_S_FAILED:
		return SMP_FAILED;
	case SMP_S_WAIT_RSP:
	case SMP_S_SEND_PK:
	case SMP_S_WAIT_PK:
	case SMP_S_WAIT_CONFIRM:
	case SMP_S_SEND_RANDOM:
	case SMP_S_WAIT_RANDOM:
	case SMP_S_MAKE_CONFIRM:
	case SMP_S_KEYS:
	case SMP_S_WAIT_CHECK:
		return SMP_ACTIVE;
	}
	return SMP_ACTIVE;
}
