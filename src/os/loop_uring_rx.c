/* SPDX-License-Identifier: MIT */
/*
 * io_uring backend: receive. Multishot IORING_OP_RECVMSG from the
 * socket's provided-buffer ring, or single-shot recvmsg; a stream's READ
 * (or POLL_ADD plus read(2)); the POLLERR watch of the error queue. See
 * loop_uring_private.h.
 */

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "core/macro.h"
#include "os/loop.h"
#include "os/loop_private.h"
#include "os/loop_uring_private.h"

void uring_buf_recycle(struct loop_uring *lu, unsigned idx, unsigned bid)
{
	struct uring_sock *us = &lu->us[idx];

	if (bid >= lu->rx_entries) {
		return;
	}
	io_uring_buf_ring_add(us->br, us->bufs + (size_t)bid * lu->buf_size,
			      lu->buf_len, (unsigned short)bid,
			      io_uring_buf_ring_mask(lu->rx_entries), 0);
	io_uring_buf_ring_advance(us->br, 1);
}

/*
 * A stream's receive: one READ (offset -1: the file position, which a
 * tty or pipe does not have), or POLL_ADD when READ cannot wait.
 */
static void stream_rx_prep(struct loop_uring *lu, struct loop_sock *s,
			   struct io_uring_sqe *sqe)
{
	struct uring_sock *us = &lu->us[s->idx];
	unsigned len = (unsigned)lu->loop.cfg.max_msg;

	us->rx_req_poll = us->rx_poll;
	if (us->rx_poll) {
		io_uring_prep_poll_add(sqe, s->fd, POLLIN);
	} else if (lu->loop.rx_mode == LOOP_RX_URING_MULTISHOT) {
		/* The kernel reads at most len into one ring buffer. */
		io_uring_prep_read(sqe, s->fd, NULL, len, (uint64_t)-1);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = (__u16)s->idx;
	} else {
		io_uring_prep_read(sqe, s->fd, us->bufs, len, (uint64_t)-1);
	}
}

int uring_rx_arm(struct loop_uring *lu, struct loop_sock *s)
{
	struct uring_sock *us = &lu->us[s->idx];
	struct io_uring_sqe *sqe = uring_sqe_get(lu);

	if (!sqe) {
		return -EBUSY;
	}
	if (s->kind == LOOP_SLOT_STREAM) {
		stream_rx_prep(lu, s, sqe);
		goto armed;
	}
	switch (lu->loop.rx_mode) {
	case LOOP_RX_URING_MULTISHOT:
#if HAVE_IO_URING_RECVMSG_MULTISHOT
		io_uring_prep_recvmsg_multishot(sqe, s->fd, &us->mh, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = (__u16)s->idx;
		break;
#endif
	case LOOP_RX_URING_SINGLESHOT:
	case LOOP_RX_EPOLL:
		/* The kernel writes msg_controllen back: reset it each time. */
		us->iov.iov_base = us->bufs;
		us->iov.iov_len = lu->loop.cfg.max_msg;
		us->mh = (struct msghdr){
		    .msg_iov = &us->iov,
		    .msg_iovlen = 1,
		    .msg_control = us->cmsg,
		    .msg_controllen = LOOP_CMSG_LEN,
		};
		io_uring_prep_recvmsg(sqe, s->fd, &us->mh, 0);
		break;
	}
armed:
	io_uring_sqe_set_data64(sqe,
				loop_tag_make(LOOP_TAG_RECV, s->idx, s->gen));
	s->rx_armed = true;
	s->inflight++;
	return 0;
}

/*
 * Watch the error queue of a datagram socket: one POLL_ADD(POLLERR),
 * re-armed after each drain (level: it completes at once while reports
 * wait). loop_add_socket() says why every socket has one.
 */
int uring_errq_arm(struct loop_uring *lu, struct loop_sock *s)
{
	struct io_uring_sqe *sqe = uring_sqe_get(lu);

	if (!sqe) {
		return -EBUSY;
	}
	io_uring_prep_poll_add(sqe, s->fd, POLLERR);
	io_uring_sqe_set_data64(sqe,
				loop_tag_make(LOOP_TAG_ERRQ, s->idx, s->gen));
	s->errq_armed = true;
	s->inflight++;
	return 0;
}

/* Deliver what a multishot buffer holds: header, control, payload. */
static void rx_multishot_buf(struct loop_uring *lu, struct loop_sock *s,
			     unsigned bid, int res)
{
#if HAVE_IO_URING_RECVMSG_MULTISHOT
	struct uring_sock *us = &lu->us[s->idx];
	struct io_uring_recvmsg_out *o;
	struct cmsghdr *c;
	uint64_t rt = 0;

	if (bid >= lu->rx_entries) {
		return;
	}
	o = io_uring_recvmsg_validate(us->bufs + (size_t)bid * lu->buf_size,
				      res, &us->mh);
	if (!o) {
		loop_deliver_rx_error(&lu->loop, s, -EBADMSG);
		return;
	}
	for (c = io_uring_recvmsg_cmsg_firsthdr(o, &us->mh); c;
	     c = io_uring_recvmsg_cmsg_nexthdr(o, &us->mh, c)) {
		loop_cmsg_ts(c, &rt);
	}
	loop_deliver_data(&lu->loop, s, io_uring_recvmsg_payload(o, &us->mh),
			  io_uring_recvmsg_payload_length(o, res, &us->mh),
			  (int)o->flags, rt);
#else
	(void)lu;
	(void)s;
	(void)bid;
	(void)res;
#endif
}

static void rx_singleshot(struct loop_uring *lu, struct loop_sock *s, int res)
{
	struct uring_sock *us = &lu->us[s->idx];
	struct cmsghdr *c;
	uint64_t rt = 0;

	for (c = CMSG_FIRSTHDR(&us->mh); c; c = CMSG_NXTHDR(&us->mh, c)) {
		loop_cmsg_ts(c, &rt);
	}
	loop_deliver_data(&lu->loop, s, us->bufs, (size_t)res, us->mh.msg_flags,
			  rt);
}

/* read(2) a polled stream until EAGAIN or rx_depth chunks. */
/* A stream's READ or POLL_ADD(POLLIN) completed. */
static void on_stream_recv(struct loop_uring *lu, struct loop_sock *s,
			   const struct io_uring_cqe *cqe)
{
	struct loop *l = &lu->loop;
	struct uring_sock *us = &lu->us[s->idx];
	bool has_buf = cqe->flags & IORING_CQE_F_BUFFER;
	unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
	int res = cqe->res;

	if (us->rx_req_poll) {
		if (res >= 0) {
			loop_stream_read(&lu->loop, s, lu->scratch);
		} else if (res != -ECANCELED && res != -EINTR) {
			loop_deliver_rx_error(l, s, res);
		}
	} else if (res >= 0) {
		const unsigned char *data = us->bufs;

		if (has_buf) {
			data = bid < lu->rx_entries
				   ? us->bufs + (size_t)bid * lu->buf_size
				   : NULL;
		}
		if (data || res == 0) {
			/* 0 bytes: EOF, see loop_deliver_data(). */
			loop_deliver_data(l, s, data, (size_t)res, 0, 0);
		}
	} else if (res == -EAGAIN) {
		/*
		 * An O_NONBLOCK file io_uring cannot wait on (no
		 * FMODE_NOWAIT): poll for it and read(2) from here on.
		 */
		us->rx_poll = true;
		LOOP_COUNT(l, stream_poll);
	} else if (res == -ENOBUFS) {
		/* One READ at a time cannot empty the ring; be safe. */
		LOOP_COUNT(l, rx_nobufs);
	} else if (res != -ECANCELED && res != -EINTR) {
		loop_deliver_rx_error(l, s, res);
	}
	if (has_buf) {
		uring_buf_recycle(lu, s->idx, bid);
	}

	s->rx_armed = false;
	if (!s->closing && !s->rx_stopped) {
		if (uring_rx_arm(lu, s) < 0) {
			loop_deliver_rx_error(l, s, -EBUSY);
		} else {
			LOOP_COUNT(l, rx_rearms);
		}
	}
	loop_sock_put(l, s);
}

void uring_on_recv(struct loop_uring *lu, const struct io_uring_cqe *cqe)
{
	struct loop *l = &lu->loop;
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	bool has_buf = cqe->flags & IORING_CQE_F_BUFFER;
	bool more = cqe->flags & IORING_CQE_F_MORE;
	unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
	struct loop_sock *s;

	s = loop_sock_lookup(l, loop_tag_idx(ud), loop_tag_gen(ud));
	if (!s) {
		/* Cannot happen while inflight holds the slot; be safe. */
		if (has_buf && loop_tag_idx(ud) < l->cfg.max_sockets) {
			uring_buf_recycle(lu, loop_tag_idx(ud), bid);
		}
		return;
	}
	if (s->kind == LOOP_SLOT_STREAM) {
		on_stream_recv(lu, s, cqe);
		return;
	}

	if (cqe->res >= 0) {
		if (has_buf) {
			rx_multishot_buf(lu, s, bid, cqe->res);
			/* The callback is done with it: give it back now. */
			uring_buf_recycle(lu, s->idx, bid);
		} else if (l->rx_mode == LOOP_RX_URING_SINGLESHOT) {
			rx_singleshot(lu, s, cqe->res);
		}
	} else if (cqe->res == -ENOBUFS) {
		/*
		 * The socket's buffer ring ran dry and the multishot request
		 * ended; the datagrams wait in the socket. Every buffer was
		 * recycled as its completion was handled, so re-arming below
		 * picks them up.
		 */
		LOOP_COUNT(l, rx_nobufs);
	} else if (cqe->res != -ECANCELED) {
		loop_deliver_rx_error(l, s, cqe->res);
	}

	if (more) {
		/* Still armed; an EOF never keeps it, but do not rely on it. */
		if (s->rx_stopped && !s->closing) {
			uring_cancel(lu, ud);
		}
		return;
	}
	s->rx_armed = false;
	if (!s->closing && !s->rx_stopped) {
		if (uring_rx_arm(lu, s) < 0) {
			loop_deliver_rx_error(l, s, -EBUSY);
		} else {
			LOOP_COUNT(l, rx_rearms);
		}
	}
	loop_sock_put(l, s);
}

/* The POLLERR watch completed: read the error queue, watch again. */
void uring_on_errq(struct loop_uring *lu, uint64_t ud, int res)
{
	struct loop *l = &lu->loop;
	struct loop_sock *s;

	s = loop_sock_lookup(l, loop_tag_idx(ud), loop_tag_gen(ud));
	if (!s || s->kind != LOOP_SLOT_SOCKET) {
		return;
	}
	s->errq_armed = false;
	if (!s->closing && res > 0 && (res & POLLERR)) {
		if (loop_errqueue_drain(l, s) == 0) {
			/* A socket error: receive reports it (loop.h). */
			LOOP_COUNT(l, errqueue_stopped);
		} else if (!s->closing && uring_errq_arm(lu, s) < 0) {
			LOOP_COUNT(l, errqueue_stopped);
		}
	}
	loop_sock_put(l, s);
}
