/* SPDX-License-Identifier: MIT */
/*
 * The loop's socket slots, shared by both backends: taking and giving
 * back slots (loop_add_socket(), loop_add_stream(), loop_add_connecting(),
 * loop_remove_socket() and the released callbacks), the tx buffers and
 * loop_send(). See loop.h for the contract, loop_private.h for the split.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/macro.h"
#include "os/loop.h"
#include "os/loop_private.h"

int loop_sock_fd(const struct loop_sock *s)
{
	return s->fd;
}

struct loop_sock *loop_sock_lookup(struct loop *l, uint32_t idx, uint32_t gen)
{
	struct loop_sock *s;

	if (idx >= l->cfg.max_sockets) {
		return NULL;
	}
	s = &l->socks[idx];
	if (!s->used || s->gen != gen) {
		return NULL;
	}
	return s;
}

/* Take the first free slot for fd (the caller checked there is one). */
static struct loop_sock *slot_take(struct loop *l, int fd,
				   enum loop_slot_kind kind)
{
	struct loop_sock *s = &l->socks[l->free_head];

	l->free_head = s->next;
	s->next = -1;
	s->gen++;
	s->fd = fd;
	s->type = 0;
	s->kind = kind;
	if (kind == LOOP_SLOT_STREAM) {
		l->n_streams++; /* no receive timestamps: rx_defer_ns off */
	}
	s->can_read = true;
	s->can_write = true;
	s->tx_head = -1;
	s->tx_tail = -1;
	s->fn = NULL;
	s->connect_fn = NULL;
	s->user_data = NULL;
	s->released = NULL;
	s->released_data = NULL;
	s->inflight = 0;
	s->used = true;
	s->closing = false;
	s->rx_armed = false;
	s->rx_stopped = false;
	s->errq_armed = false;
	s->tx_seq_next = 0;
	s->tx_key_next = 0;
	return s;
}

/* Back on the free list at once (nothing in the kernel names it). */
static void slot_give(struct loop *l, struct loop_sock *s)
{
	if (s->kind == LOOP_SLOT_STREAM && l->n_streams > 0) {
		l->n_streams--;
	}
	s->used = false;
	s->closing = false;
	s->fd = -1;
	s->fn = NULL;
	s->connect_fn = NULL;
	s->next = l->free_head;
	l->free_head = (int)s->idx;
}

/*
 * Whether NAPI busy polling can ever help fd (loop_napi_format()): the
 * kernel stores the NAPI id of the device queue a socket's packets came
 * from (SO_INCOMING_NAPI_ID, socket(7); 0 = none yet). Only sockets fed
 * by a NAPI network driver get one: AF_UNIX and Bluetooth (L2CAP over
 * HCI, not a netdev) never do. Set-up only, never in the hot path.
 */
static void napi_note(struct loop *l, int fd)
{
	int id = 0, dom = -1;
	socklen_t sl = sizeof(id);
	unsigned bit;

#ifdef SO_INCOMING_NAPI_ID
	if (getsockopt(fd, SOL_SOCKET, SO_INCOMING_NAPI_ID, &id, &sl) < 0) {
		id = 0;
	}
#endif
	if (id != 0) {
		l->napi_socks++;
		return;
	}
	sl = sizeof(dom);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &sl) < 0) {
		dom = -1;
	}
	switch (dom) {
	case AF_UNIX:
		bit = 0;
		break;
	case AF_BLUETOOTH:
		bit = 1;
		break;
	case AF_INET:
	case AF_INET6:
		bit = 2; /* none yet: it may come with the first packet */
		break;
	default:
		bit = 3;
		break;
	}
	l->no_napi_socks++;
	l->no_napi_families |= 1u << bit;
}

int loop_add_socket(struct loop *l, int fd, loop_rx_fn fn, void *user_data,
		    struct loop_sock **ret)
{
	struct loop_sock *s;
	socklen_t sl;
	int type, one = 1, r;

	if (!l || fd < 0 || !fn || !ret) {
		return -EINVAL;
	}
	if (l->free_head < 0) {
		return -ENOSPC;
	}
	sl = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) < 0) {
		return -errno;
	}
	/*
	 * The kernel's receive timestamp is the only one without the
	 * one-sided wake-up delay the servo must not see (DESIGN.md,
	 * "Transports"); socket(7), SO_TIMESTAMPNS.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0) {
		return -errno;
	}

	s = slot_take(l, fd, LOOP_SLOT_SOCKET);
	s->type = type;
	s->fn = fn;
	s->user_data = user_data;

	r = l->ops->sock_arm(l, s);
	if (r < 0) {
		slot_give(l, s);
		return r;
	}
	napi_note(l, fd);
	*ret = s;
	return 0;
}

int loop_add_stream(struct loop *l, int fd, loop_rx_fn fn, void *user_data,
		    struct loop_sock **ret)
{
	struct loop_sock *s;
	socklen_t sl;
	int fl, type = 0, r;

	if (!l || fd < 0 || !fn || !ret) {
		return -EINVAL;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0) {
		return -errno;
	}
	if (!(fl & O_NONBLOCK)) {
		return -EINVAL;
	}
	sl = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) < 0) {
		if (errno != ENOTSOCK) {
			return -errno;
		}
		type = 0;
	} else if (type != SOCK_STREAM) {
		return -EPROTOTYPE;
	}
	if (l->free_head < 0) {
		return -ENOSPC;
	}

	s = slot_take(l, fd, LOOP_SLOT_STREAM);
	s->type = type;
	s->can_read = (fl & O_ACCMODE) != O_WRONLY;
	s->can_write = (fl & O_ACCMODE) != O_RDONLY;
	s->fn = fn;
	s->user_data = user_data;

	r = l->ops->sock_arm(l, s);
	if (r < 0) {
		slot_give(l, s);
		return r;
	}
	*ret = s;
	return 0;
}

static struct loop_sock *connect_find(struct loop *l, int fd)
{
	for (unsigned i = 0; i < l->cfg.max_sockets; i++) {
		struct loop_sock *s = &l->socks[i];

		if (s->used && s->kind == LOOP_SLOT_CONNECT && s->fd == fd) {
			return s;
		}
	}
	return NULL;
}

int loop_add_connecting(struct loop *l, int fd, loop_connect_fn fn,
			void *user_data)
{
	struct loop_sock *s;
	socklen_t sl;
	int type, r;

	if (!l || fd < 0 || !fn) {
		return -EINVAL;
	}
	sl = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) < 0) {
		return -errno;
	}
	if (connect_find(l, fd)) {
		return -EEXIST;
	}
	if (l->free_head < 0) {
		return -ENOSPC;
	}
	s = slot_take(l, fd, LOOP_SLOT_CONNECT);
	s->type = type;
	s->connect_fn = fn;
	s->user_data = user_data;
	r = l->ops->connect_arm(l, s);
	if (r < 0) {
		slot_give(l, s);
		return r;
	}
	return 0;
}

int loop_cancel_connecting(struct loop *l, int fd)
{
	struct loop_sock *s;

	if (!l || fd < 0) {
		return -EINVAL;
	}
	s = connect_find(l, fd);
	if (!s) {
		return -ENOENT;
	}
	l->ops->connect_cancel(l, s);
	slot_give(l, s);
	return 0;
}

/*
 * Whether the connect behind a POLLOUT (or POLLERR / POLLHUP) worked:
 * SO_ERROR, as connect(2) says for EINPROGRESS. Reading it also clears
 * it.
 */
static int connect_result(int fd, unsigned revents)
{
	socklen_t sl = sizeof(int);
	int err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0) {
		return -errno;
	}
	if (err) {
		return -err;
	}
	if (!(revents & POLLOUT) && (revents & (POLLERR | POLLHUP))) {
		return -ENOTCONN;
	}
	return 0;
}

void loop_connect_done(struct loop *l, struct loop_sock *s, int res)
{
	loop_connect_fn fn = s->connect_fn;
	void *data = s->user_data;
	int fd = s->fd, err;

	/* The slot first: fn may take it again (loop_add_socket()). */
	slot_give(l, s);
	err = res < 0 ? res : connect_result(fd, (unsigned)res);
	LOOP_COUNT(l, connects);
	fn(l, fd, err, data);
}

int loop_tx_get(struct loop *l)
{
	int i = l->tx_free;

	if (i >= 0) {
		l->tx_free = l->tx[i].next;
		l->tx[i].next = -1;
		l->tx[i].off = 0;
		l->tx[i].inflight = false;
	}
	return i;
}

void loop_tx_put(struct loop *l, int i)
{
	l->tx[i].sock = NULL;
	l->tx[i].inflight = false;
	l->tx[i].next = l->tx_free;
	l->tx_free = i;
}

void loop_tx_push(struct loop *l, struct loop_sock *s, int i)
{
	l->tx[i].sock = s;
	l->tx[i].next = -1;
	if (s->tx_tail >= 0) {
		l->tx[s->tx_tail].next = i;
	} else {
		s->tx_head = i;
	}
	s->tx_tail = i;
}

void loop_tx_unlink(struct loop *l, struct loop_sock *s, int i)
{
	int prev = -1;

	for (int j = s->tx_head; j >= 0; prev = j, j = l->tx[j].next) {
		if (j != i) {
			continue;
		}
		if (prev >= 0) {
			l->tx[prev].next = l->tx[i].next;
		} else {
			s->tx_head = l->tx[i].next;
		}
		if (s->tx_tail == i) {
			s->tx_tail = prev;
		}
		l->tx[i].next = -1;
		return;
	}
}

static void release_queue(struct loop *l, struct loop_sock *s)
{
	s->next = -1;
	if (l->release_tail >= 0) {
		l->socks[l->release_tail].next = (int)s->idx;
	} else {
		l->release_head = (int)s->idx;
	}
	l->release_tail = (int)s->idx;
}

void loop_sock_put(struct loop *l, struct loop_sock *s)
{
	if (s->inflight > 0) {
		s->inflight--;
	}
	if (s->closing && s->inflight == 0) {
		release_queue(l, s);
	}
}

int loop_remove_socket(struct loop *l, struct loop_sock *s,
		       loop_released_fn released, void *user_data)
{
	if (!l || !s || s->loop != l || !s->used) {
		return -EINVAL;
	}
	if (s->closing) {
		return -EALREADY;
	}
	s->closing = true;
	s->released = released;
	s->released_data = user_data;
	l->ops->sock_cancel(l, s);
	if (s->inflight == 0) {
		release_queue(l, s);
	}
	return 0;
}

/*
 * Run the released callbacks. The slot goes back to the free list first,
 * so that a callback may add a new socket at once.
 */
void loop_release_run(struct loop *l)
{
	while (l->release_head >= 0) {
		struct loop_sock *s = &l->socks[l->release_head];
		loop_released_fn fn = s->released;
		void *data = s->released_data;
		int fd = s->fd;

		l->release_head = s->next;
		if (l->release_head < 0) {
			l->release_tail = -1;
		}
		slot_give(l, s);
		if (fn) {
			fn(l, fd, data);
		}
	}
}

int loop_send(struct loop *l, struct loop_sock *s, const void *buf, size_t len)
{
	return loop_send_seq(l, s, buf, len, NULL);
}

int loop_send_seq(struct loop *l, struct loop_sock *s, const void *buf,
		  size_t len, uint32_t *ret_seq)
{
	int r;

	if (!l || !s || s->loop != l || !s->used || (!buf && len)) {
		return -EINVAL;
	}
	if (len > l->cfg.max_msg) {
		return -EMSGSIZE;
	}
	if (s->closing) {
		return -ESHUTDOWN;
	}
	if (s->kind == LOOP_SLOT_STREAM) {
		if (!s->can_write) {
			return -EBADF;
		}
		if (len == 0) {
			return 0;
		}
	}
	/* The backend reads tx_seq_next as this send's number. */
	r = l->ops->send(l, s, buf, len);
	if (r == 0) {
		if (ret_seq) {
			*ret_seq = s->tx_seq_next;
		}
		if (s->kind == LOOP_SLOT_SOCKET) {
			loop_tx_sent(l, s, s->tx_seq_next);
		}
		s->tx_seq_next++;
	}
	return r;
}
