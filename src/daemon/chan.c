/* SPDX-License-Identifier: MIT */
#include "daemon/chan.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "daemon/bounds.h"

void chan_set_cb(struct chan *c, const struct chan_cb *cb, void *user_data)
{
	c->cb = *cb;
	c->user_data = user_data;
}

int chan_open(struct chan *c, uint64_t now_ns)
{
	if (c->is_open) {
		return -EALREADY;
	}
	return c->ops->open(c, now_ns);
}

/* The errors of a bound, not of a broken channel (chan.h). */
static bool chan_err_is_full(int err)
{
	return err == -EAGAIN || err == -ENOBUFS || err == -ENOSPC;
}

int chan_send(struct chan *c, const void *msg, size_t len, uint32_t *ret_id)
{
	int r;

	if (!c->is_open) {
		return -ENOTCONN;
	}
	r = c->ops->send(c, msg, len, ret_id);
	if (r < 0 && chan_err_is_full(r)) {
		c->tx_full++;
		bounds_count(BOUNDS_LINK_TX, 1);
	}
	return r;
}

uint64_t chan_tx_full(const struct chan *c)
{
	return c->tx_full;
}

enum chan_txc chan_tx_completion(const struct chan *c)
{
	return c->is_open ? c->tx_completion : CHAN_TXC_NONE;
}

const char *chan_txc_name(enum chan_txc t)
{
	switch (t) {
	case CHAN_TXC_NONE:
		return "none";
	case CHAN_TXC_KERNEL:
		return "kernel";
	case CHAN_TXC_CONTROLLER:
		return "controller";
	}
	return "?";
}

int chan_set_att(struct chan *c, bool on)
{
	if (!c->ops->set_att) {
		return on ? -EOPNOTSUPP : 0;
	}
	return c->ops->set_att(c, on);
}

int chan_att_send(struct chan *c, const void *pdu, size_t len)
{
	if (!c->ops->att_send) {
		return -EOPNOTSUPP;
	}
	return c->ops->att_send(c, pdu, len);
}

int chan_l2_open(struct chan *c, uint16_t psm, uint64_t now_ns)
{
	if (!c->ops->l2_open) {
		return -EOPNOTSUPP;
	}
	return c->ops->l2_open(c, psm, now_ns);
}

int chan_flush(struct chan *c, unsigned *ret)
{
	*ret = 0;
	if (!c->ops->flush) {
		return -EOPNOTSUPP;
	}
	return c->ops->flush(c, ret);
}

int chan_tx_state(struct chan *c, unsigned *ret_queued,
		  unsigned *ret_credits)
{
	*ret_queued = 0;
	*ret_credits = 0;
	if (!c->ops->tx_state) {
		return -EOPNOTSUPP;
	}
	return c->ops->tx_state(c, ret_queued, ret_credits);
}

void chan_close(struct chan *c)
{
	c->ops->close(c);
	c->is_open = false;
}

struct chan *chan_free(struct chan *c)
{
	if (c) {
		c->ops->free(c);
	}
	return NULL;
}

const char *chan_name(const struct chan *c)
{
	return c->ops->name;
}
