/* SPDX-License-Identifier: MIT */
/*
 * ASHA's GATT client: set-up, what the aid sends, timeouts and the
 * getters. Contracts: ashac.h; discovery is in ashac_disc.c, the
 * control operations in ashac_ctl.c. "F" is Core 5.4, Vol 3, Part F
 * (ATT).
 */

#include <errno.h>
#include <string.h>

#include "core/ashac.h"
#include "core/ashac_private.h"

/* ---- plumbing ------------------------------------------------------- */

int ashac_init(struct ashac *c, const struct ashac_cfg *cfg,
	       const struct ashac_ops *ops, void *user)
{
	if (!cfg || cfg->mtu < ATT_MTU_DEFAULT || !cfg->att_timeout_ns ||
	    !cfg->start_timeout_ns || !ops || !ops->send || !ops->ready ||
	    !ops->failed) {
		return -EINVAL;
	}
	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	c->ops = ops;
	c->user = user;
	c->state = ASHAC_IDLE;
	c->mtu = ATT_MTU_DEFAULT;
	return 0;
}

int ashac_send(struct ashac *c, const uint8_t *pdu, size_t len)
{
	int r;

	/* After a transaction timeout nothing more goes out (F 3.3.3). */
	if (c->dead) {
		return -EPIPE;
	}
	if (len > c->mtu) {
		return -EMSGSIZE;
	}
	r = c->ops->send(c->user, pdu, len);
	if (r < 0) {
		c->stats.send_errors++;
		return r;
	}
	c->stats.pdus_tx++;
	return 0;
}

int ashac_request(struct ashac *c, const struct att_pdu *p, uint64_t now_ns)
{
	uint8_t buf[ASHAC_PDU_MAX];
	size_t n;
	int r;

	r = att_encode(p, buf, sizeof(buf), &n);
	if (r == 0) {
		r = ashac_send(c, buf, n);
	}
	if (r < 0) {
		ashac_fail(c, r, "cannot send a request to the hearing aid");
		return r;
	}
	c->req = p->opcode;
	c->req_deadline_ns = now_ns + c->cfg.att_timeout_ns;
	return 0;
}

void ashac_fail(struct ashac *c, int err, const char *why)
{
	if (c->state == ASHAC_FAILED) {
		return;
	}
	c->state = ASHAC_FAILED;
	c->q_len = 0;
	c->cur.kind = ASHAC_OP_NONE;
	c->start_waiting = false;
	c->audio_on = false;
	c->ops->failed(c->user, err, why);
}

static bool discovering(const struct ashac *c)
{
	return c->state > ASHAC_IDLE && c->state < ASHAC_READY;
}

/* F 3.4.2.2: min of the two Rx MTUs; a value under 23 changes nothing. */
void ashac_take_mtu(struct ashac *c, uint16_t theirs)
{
	if (theirs >= ATT_MTU_DEFAULT) {
		c->mtu = theirs < c->cfg.mtu ? theirs : c->cfg.mtu;
	}
}

int ashac_start(struct ashac *c, uint64_t now_ns)
{
	struct att_pdu p = {.opcode = ATT_MTU_REQ};

	if (c->state != ASHAC_IDLE) {
		return -EALREADY;
	}
	p.mtu = c->cfg.mtu;
	c->state = ASHAC_MTU;
	ashac_request(c, &p, now_ns);
	return 0;
}

/* ---- input ---------------------------------------------------------- */

/* What the aid's requests and indications are owed, whatever our state
 * (we are a server with no attributes to it). */
static void answer(struct ashac *c, const uint8_t *pdu, size_t len)
{
	uint8_t buf[ASHAC_PDU_MAX];
	size_t n;
	int r;

	if (c->dead) {
		return;
	}
	r = att_answer(pdu, len, c->cfg.mtu, buf, sizeof(buf), &n);
	if (r <= 0) {
		return;
	}
	r = ashac_send(c, buf, n);
	if (r < 0) {
		ashac_fail(c, r, "cannot answer the hearing aid");
		return;
	}
	if (pdu[0] == ATT_INDICATE) {
		c->stats.indications++;
	} else {
		c->stats.answered++;
	}
}

/* Whether pdu ends the transaction out: the request's response, or an
 * Error Response naming it (malformed or not: the aid meant to answer). */
static bool answers_req(const struct ashac *c, const uint8_t *pdu, size_t len)
{
	if (!c->req) {
		return false;
	}
	if (pdu[0] == ATT_ERROR_RSP) {
		return len >= 2 && pdu[1] == c->req;
	}
	return pdu[0] == att_response_opcode(c->req);
}

static int on_response(struct ashac *c, const uint8_t *pdu, size_t len,
		       int decoded, const struct att_pdu *p, uint64_t now_ns)
{
	if (!answers_req(c, pdu, len)) {
		c->stats.unexpected++;
		if (discovering(c)) {
			ashac_fail(c, -EPROTO, "the hearing aid sent a "
					       "response to no request of ours");
		}
		return -EPROTO;
	}
	c->req = 0;
	if (decoded < 0) {
		c->stats.malformed++;
	} else if (p->opcode == ATT_ERROR_RSP) {
		c->stats.errors_rx++;
		c->att_error = p->error.code;
	}
	if (discovering(c)) {
		if (decoded < 0) {
			ashac_fail(c, -EPROTO, "the hearing aid answered with "
					       "a malformed PDU");
		} else {
			ashac_disc_response(c, p, now_ns);
		}
	} else if (c->state == ASHAC_READY) {
		ashac_ctl_response(c, p, decoded < 0 ? -EPROTO : 0, now_ns);
	}
	return decoded < 0 ? decoded : 0;
}

static int on_notify(struct ashac *c, int decoded, const struct att_pdu *p,
		     uint64_t now_ns)
{
	const struct ashac_chr *st = &c->chr[ASHAC_CHR_STATUS];

	if (decoded == -ENOMSG) {
		/* Multiple Handle Value Notification: only for a client that
		 * asked for it (G 7.2), and we did not. */
		c->stats.unexpected++;
		return -EPROTO;
	}
	if (decoded < 0) {
		c->stats.malformed++;
		return decoded;
	}
	if (c->state == ASHAC_FAILED) {
		return 0; /* no callback after ops->failed */
	}
	if (!st->decl || p->hv.handle != st->value) {
		c->stats.unknown_handle++;
		return 0;
	}
	return ashac_ctl_status(c, p->hv.value, p->hv.value_len, now_ns);
}

int ashac_input(struct ashac *c, const uint8_t *pdu, size_t len,
		uint64_t now_ns)
{
	struct att_pdu p;
	int r;

	c->stats.pdus_rx++;
	if (!pdu || len == 0) {
		c->stats.malformed++;
		return -EBADMSG;
	}
	answer(c, pdu, len);
	r = att_decode(pdu, len, &p);
	switch (att_opcode_kind(pdu[0])) {
	case ATT_KIND_REQUEST:
	case ATT_KIND_UNKNOWN:
		if (r == 0 && p.opcode == ATT_MTU_REQ) {
			/* Applied once our response is out (F 3.4.2.2). */
			ashac_take_mtu(c, p.mtu);
		}
		if (r < 0 && r != -ENOMSG) {
			c->stats.malformed++;
			return r;
		}
		return 0;
	case ATT_KIND_RESPONSE:
		return on_response(c, pdu, len, r, &p, now_ns);
	case ATT_KIND_NOTIFICATION:
	case ATT_KIND_INDICATION:
		return on_notify(c, r, &p, now_ns);
	case ATT_KIND_COMMAND:
	case ATT_KIND_CONFIRMATION:
		/* We have nothing to write to and indicate nothing. */
		c->stats.unexpected++;
		return -EPROTO;
	}
	return 0;
}

/* ---- time ----------------------------------------------------------- */

void ashac_tick(struct ashac *c, uint64_t now_ns)
{
	if (c->state == ASHAC_IDLE || c->state == ASHAC_FAILED) {
		return;
	}
	if (c->req && now_ns >= c->req_deadline_ns) {
		/* F 3.3.3: the bearer is done; a new one starts over. */
		c->stats.timeouts++;
		c->req = 0;
		c->dead = true;
		ashac_fail(c, -ETIMEDOUT, "the hearing aid did not answer "
					  "within the ATT transaction timeout");
		return;
	}
	ashac_ctl_tick(c, now_ns);
}

uint64_t ashac_next_deadline(const struct ashac *c)
{
	uint64_t t = UINT64_MAX;

	if (c->state == ASHAC_IDLE || c->state == ASHAC_FAILED) {
		return t;
	}
	if (c->req) {
		t = c->req_deadline_ns;
	}
	if (c->start_waiting && c->start_deadline_ns < t) {
		t = c->start_deadline_ns;
	}
	return t;
}

/* ---- getters -------------------------------------------------------- */

enum ashac_state ashac_state(const struct ashac *c)
{
	return c->state;
}

const char *ashac_state_name(enum ashac_state s)
{
	switch (s) {
	case ASHAC_IDLE:
		return "IDLE";
	case ASHAC_MTU:
		return "MTU";
	case ASHAC_SERVICE:
		return "SERVICE";
	case ASHAC_CHARS:
		return "CHARS";
	case ASHAC_CCCD:
		return "CCCD";
	case ASHAC_PROPS:
		return "PROPS";
	case ASHAC_PSM:
		return "PSM";
	case ASHAC_SUBSCRIBE:
		return "SUBSCRIBE";
	case ASHAC_READY:
		return "READY";
	case ASHAC_FAILED:
		return "FAILED";
	}
	return NULL;
}

int ashac_props(const struct ashac *c, struct asha_props *ret)
{
	if (!c->have_props) {
		return -ENODATA;
	}
	*ret = c->props;
	return 0;
}

uint16_t ashac_psm(const struct ashac *c)
{
	return c->psm;
}

uint16_t ashac_mtu(const struct ashac *c)
{
	return c->mtu;
}

int ashac_last_status(const struct ashac *c, int8_t *ret)
{
	if (!c->have_status) {
		return -ENODATA;
	}
	*ret = c->last_status;
	return 0;
}
