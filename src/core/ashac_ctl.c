/* SPDX-License-Identifier: MIT */
/*
 * ASHA's GATT client once ready: AudioControlPoint's Start, Stop and
 * Status (Write Requests), Volume (a Write Command), and AudioStatus.
 * Contracts: ashac.h. The operations queue behind the one out; a Start
 * holds the queue until settled, so that nothing (a Volume, a Stop)
 * reaches the aid while it decides whether to stream.
 */

#include <errno.h>

#include "core/ashac.h"
#include "core/ashac_private.h"

static int ctl_check(const struct ashac *c)
{
	return c->state == ASHAC_READY ? 0 : -ENOTCONN;
}

static int ctl_push(struct ashac *c, const struct ashac_op *op)
{
	if (c->q_len == ASHAC_QUEUE) {
		c->stats.queue_full++;
		return -ENOBUFS;
	}
	c->queue[(c->q_head + c->q_len) % ASHAC_QUEUE] = *op;
	c->q_len++;
	return 0;
}

static struct ashac_op *ctl_tail(struct ashac *c)
{
	if (!c->q_len) {
		return NULL;
	}
	return &c->queue[(c->q_head + c->q_len - 1) % ASHAC_QUEUE];
}

/* Whether a later Start or Stop waits: it decides what audio_on means. */
static bool ctl_queued_start_stop(const struct ashac *c)
{
	unsigned i;

	for (i = 0; i < c->q_len; i++) {
		enum ashac_op_kind k =
			c->queue[(c->q_head + i) % ASHAC_QUEUE].kind;

		if (k == ASHAC_OP_START || k == ASHAC_OP_STOP) {
			return true;
		}
	}
	return false;
}

static void ctl_send_volume(struct ashac *c, const struct ashac_op *op)
{
	struct att_pdu p = {.opcode = ATT_WRITE_CMD};
	uint8_t buf[ASHAC_PDU_MAX];
	size_t n;
	int r;

	p.hv.handle = c->chr[ASHAC_CHR_VOLUME].value;
	p.hv.value = op->value;
	p.hv.value_len = op->len;
	r = att_encode(&p, buf, sizeof(buf), &n);
	if (r == 0) {
		r = ashac_send(c, buf, n);
	}
	if (r < 0) {
		ashac_fail(c, r, "cannot send a command to the hearing aid");
	}
}

void ashac_ctl_pump(struct ashac *c, uint64_t now_ns)
{
	struct att_pdu p = {.opcode = ATT_WRITE_REQ};
	struct ashac_op op;

	while (c->state == ASHAC_READY && c->cur.kind == ASHAC_OP_NONE &&
	       !c->req && c->q_len) {
		op = c->queue[c->q_head];
		c->q_head = (c->q_head + 1) % ASHAC_QUEUE;
		c->q_len--;
		if (op.kind == ASHAC_OP_VOLUME) {
			ctl_send_volume(c, &op);
			continue;
		}
		c->cur = op;
		p.hv.handle = c->chr[ASHAC_CHR_CONTROL].value;
		p.hv.value = c->cur.value;
		p.hv.value_len = c->cur.len;
		if (ashac_request(c, &p, now_ns) < 0) {
			return;
		}
		if (op.kind == ASHAC_OP_START) {
			c->start_waiting = true;
			c->start_wrote = false;
			c->start_status_ok = false;
			c->start_deadline_ns = now_ns + c->cfg.start_timeout_ns;
		}
	}
}

/* The operation out is over once its write is answered and, for a
 * Start, once settled; then the next goes. */
static void ctl_maybe_done(struct ashac *c, uint64_t now_ns)
{
	if (c->cur.kind != ASHAC_OP_NONE && !c->req && !c->start_waiting) {
		c->cur.kind = ASHAC_OP_NONE;
	}
	ashac_ctl_pump(c, now_ns);
}

static void start_settle(struct ashac *c, int err, const char *why)
{
	c->start_waiting = false;
	if (err < 0) {
		c->stats.start_failures++;
		if (!ctl_queued_start_stop(c)) {
			c->audio_on = false;
		}
	}
	if (c->ops->start_done) {
		c->ops->start_done(c->user, err, why);
	}
}

void ashac_ctl_response(struct ashac *c, const struct att_pdu *p, int err,
			uint64_t now_ns)
{
	const char *why = "the hearing aid answered Start with a malformed "
			  "Write Response";

	if (err == 0 && p->opcode == ATT_ERROR_RSP) {
		err = att_error_errno(p->error.code);
		why = "the hearing aid refused Start (an Error Response to the "
		      "AudioControlPoint write)";
	}
	if (c->cur.kind == ASHAC_OP_START) {
		c->start_wrote = true;
		if (c->start_waiting && err < 0) {
			start_settle(c, err, why);
		} else if (c->start_waiting && c->start_status_ok) {
			start_settle(c, 0, NULL);
		}
	}
	ctl_maybe_done(c, now_ns);
}

static const char *status_why(int8_t st)
{
	switch (st) {
	case ASHA_STATUS_UNKNOWN_COMMAND:
		return "the hearing aid answered Start with AudioStatus -1 "
		       "(unknown command)";
	case ASHA_STATUS_ILLEGAL_PARAMETERS:
		return "the hearing aid answered Start with AudioStatus -2 "
		       "(illegal parameters)";
	default:
		return "the hearing aid answered Start with an AudioStatus "
		       "ASHA does not define";
	}
}

int ashac_ctl_status(struct ashac *c, const uint8_t *value, size_t len,
		     uint64_t now_ns)
{
	int8_t st;

	/* -EPROTO (a value ASHA does not define) still carries it. */
	if (asha_status_parse(value, len, &st) == -EMSGSIZE) {
		c->stats.malformed++;
		return -EMSGSIZE;
	}
	c->stats.notifications++;
	c->have_status = true;
	c->last_status = st;
	if (c->ops->status) {
		c->ops->status(c->user, st);
	}
	/* Only a notification after our Start answers it. */
	if (c->start_waiting) {
		if (st != ASHA_STATUS_OK) {
			start_settle(c, -EREMOTEIO, status_why(st));
		} else if (c->start_wrote) {
			start_settle(c, 0, NULL);
		} else {
			c->start_status_ok = true;
		}
	}
	ctl_maybe_done(c, now_ns);
	return 0;
}

void ashac_ctl_tick(struct ashac *c, uint64_t now_ns)
{
	if (!c->start_waiting || now_ns < c->start_deadline_ns) {
		return;
	}
	c->stats.start_timeouts++;
	start_settle(c, -ETIMEDOUT,
		     c->start_wrote ? "no AudioStatus notification from the "
				      "hearing aid within the start timeout" :
				      "the hearing aid did not answer Start "
				      "within the start timeout");
	ctl_maybe_done(c, now_ns);
}

/* ---- the calls ------------------------------------------------------ */

int ashac_audio_start(struct ashac *c, uint8_t codec,
		      enum asha_audio_type type, int volume,
		      bool other_connected, uint64_t now_ns)
{
	struct ashac_op op = {.kind = ASHAC_OP_START};
	size_t n;
	int r;

	r = ctl_check(c);
	if (r < 0) {
		return r;
	}
	if (c->audio_on) {
		return -EALREADY;
	}
	r = asha_encode_start(codec, type, volume, other_connected, op.value,
			      sizeof(op.value), &n);
	if (r < 0) {
		return r;
	}
	op.len = (uint8_t)n;
	r = ctl_push(c, &op);
	if (r < 0) {
		return r;
	}
	c->audio_on = true;
	ashac_ctl_pump(c, now_ns);
	return 0;
}

int ashac_audio_stop(struct ashac *c, uint64_t now_ns)
{
	struct ashac_op op = {.kind = ASHAC_OP_STOP};
	size_t n;
	int r;

	r = ctl_check(c);
	if (r < 0) {
		return r;
	}
	asha_encode_stop(op.value, sizeof(op.value), &n);
	op.len = (uint8_t)n;
	r = ctl_push(c, &op);
	if (r < 0) {
		return r;
	}
	c->audio_on = false;
	ashac_ctl_pump(c, now_ns);
	return 0;
}

int ashac_status_update(struct ashac *c, enum asha_update what,
			uint64_t now_ns)
{
	struct ashac_op op = {.kind = ASHAC_OP_STATUS};
	size_t n;
	int r;

	r = ctl_check(c);
	if (r < 0) {
		return r;
	}
	r = asha_encode_status(what, op.value, sizeof(op.value), &n);
	if (r < 0) {
		return r;
	}
	op.len = (uint8_t)n;
	r = ctl_push(c, &op);
	if (r < 0) {
		return r;
	}
	ashac_ctl_pump(c, now_ns);
	return 0;
}

int ashac_volume(struct ashac *c, int volume, uint64_t now_ns)
{
	struct ashac_op op = {.kind = ASHAC_OP_VOLUME};
	struct ashac_op *tail;
	size_t n;
	int r;

	r = ctl_check(c);
	if (r < 0) {
		return r;
	}
	r = asha_encode_volume(volume, op.value, sizeof(op.value), &n);
	if (r < 0) {
		return r;
	}
	op.len = (uint8_t)n;
	/* Only the last in line: one further ahead would overtake a Start
	 * that carries an older volume. */
	tail = ctl_tail(c);
	if (tail && tail->kind == ASHAC_OP_VOLUME) {
		*tail = op;
		return 0;
	}
	r = ctl_push(c, &op);
	if (r < 0) {
		return r;
	}
	ashac_ctl_pump(c, now_ns);
	return 0;
}
