/* SPDX-License-Identifier: MIT */
#include "daemon/sockchan.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/macro.h"
#include "os/loop.h"
#include "os/rt.h"
#include "os/unix.h"

struct sockchan {
	struct chan chan;
	struct loop *loop;
	const struct conf_link *cfg;
	struct loop_sock *sock;
	int fd; /* ours until the loop releases it */
};

static void sockchan_released(struct loop *l, int fd, void *user_data)
{
	close(fd);
}

static void sockchan_drop(struct sockchan *s)
{
	if (s->sock) {
		/* The released callback closes it once the loop is done. */
		loop_remove_socket(s->loop, s->sock, sockchan_released, s);
		s->sock = NULL;
		s->fd = -1;
	}
	s->chan.is_open = false;
}

static void sockchan_rx(struct loop *l, struct loop_sock *sock,
			const struct loop_rx *rx, void *user_data)
{
	struct sockchan *s = user_data;
	struct chan *c = &s->chan;

	switch (rx->ev) {
	case LOOP_EV_DATA:
		c->cb.msg(c->user_data, rx->data, rx->len,
			  rx->has_kernel_ts ? rx->kernel_ts_ns : rx->user_ts_ns,
			  rx->has_kernel_ts);
		return;
	case LOOP_EV_EOF:
		sockchan_drop(s);
		c->cb.closed(c->user_data, -ECONNRESET, rx->user_ts_ns);
		return;
	case LOOP_EV_RX_ERROR:
	case LOOP_EV_TX_ERROR:
		/* A transient error (a full socket buffer) costs one message;
		 * anything that stops receive or breaks the pipe ends the
		 * session, and the link reconnects. */
		if (rx->rx_stopped || rx->err == -EPIPE ||
		    rx->err == -ECONNRESET || rx->err == -ENOTCONN) {
			sockchan_drop(s);
			c->cb.closed(c->user_data, rx->err ? rx->err : -EIO,
				     rx->user_ts_ns);
		}
		return;
	}
}

static int sockchan_open(struct chan *c, uint64_t now_ns)
{
	struct sockchan *s = container_of(c, struct sockchan, chan);
	int fd = -1, r;

	switch (s->cfg->transport) {
	case CONF_TRANSPORT_UNIX:
		r = unix_seqpacket_connect(s->cfg->path, &fd);
		break;
	case CONF_TRANSPORT_L2CAP:
	case CONF_TRANSPORT_HCI_UART:
	case CONF_TRANSPORT_NONE:
	default:
		r = -EPROTONOSUPPORT;
		break;
	}
	if (r < 0) {
		c->cb.closed(c->user_data, r, now_ns);
		return 0;
	}
	r = loop_add_socket(s->loop, fd, sockchan_rx, s, &s->sock);
	if (r < 0) {
		close(fd);
		c->cb.closed(c->user_data, r, now_ns);
		return 0;
	}
	s->fd = fd;
	c->is_open = true;
	c->cb.open(c->user_data, now_ns);
	return 0;
}

static int sockchan_send(struct chan *c, const void *msg, size_t len)
{
	struct sockchan *s = container_of(c, struct sockchan, chan);

	return loop_send(s->loop, s->sock, msg, len);
}

static void sockchan_close(struct chan *c)
{
	sockchan_drop(container_of(c, struct sockchan, chan));
}

static void sockchan_free(struct chan *c)
{
	struct sockchan *s = container_of(c, struct sockchan, chan);

	/* At exit the loop is gone already (it forgets its sockets), so
	 * an fd still open is ours to close. */
	if (s->fd >= 0) {
		close(s->fd);
	}
	free(s);
}

static const struct chan_ops sockchan_ops = {
	.name = "socket",
	.open = sockchan_open,
	.send = sockchan_send,
	.close = sockchan_close,
	.free = sockchan_free,
};

int sockchan_new(struct loop *l, const struct conf_link *cfg,
		 struct chan **ret)
{
	struct sockchan *s;

	if (cfg->transport != CONF_TRANSPORT_UNIX &&
	    cfg->transport != CONF_TRANSPORT_L2CAP) {
		return -EPROTONOSUPPORT;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		return -ENOMEM;
	}
	s->chan.ops = &sockchan_ops;
	s->loop = l;
	s->fd = -1;
	s->cfg = cfg;
	*ret = &s->chan;
	return 0;
}
