/* SPDX-License-Identifier: MIT */
/*
 * io_uring backend of the loop (liburing).
 *
 * Receive: per socket one multishot IORING_OP_RECVMSG drawing from the
 * socket's own provided-buffer ring (buffer group id = slot index), so
 * one burst cannot starve another socket of buffers
 * (io_uring_prep_recvmsg_multishot(3), io_uring_register_buf_ring(3)).
 * Where the kernel or liburing lacks that, one single-shot
 * IORING_OP_RECVMSG per socket, re-armed after each completion.
 *
 * Send: IORING_OP_SEND from a preallocated tx slot.
 *
 * Streams (loop_add_stream()): one IORING_OP_READ at a time, re-armed,
 * with IOSQE_BUFFER_SELECT from the slot's buffer ring (multishot mode)
 * or into the slot's buffer (single-shot mode); POLL_ADD plus read(2)
 * for a file whose READ says -EAGAIN. Sends wait in the stream's FIFO
 * and go out as one IOSQE_IO_LINK chain of WRITEs per iteration, the
 * next chain only after the last one completed, so that they reach the
 * file in order and a short write is finished before anything follows.
 *
 * Connects (loop_add_connecting()): IORING_OP_POLL_ADD(POLLOUT).
 *
 * Timer: a READ of the timerfd (or IORING_OP_TIMEOUT with
 * IORING_TIMEOUT_ABS). Wake: a READ of the eventfd.
 */

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "core/macro.h"
#include "os/loop.h"
#include "os/loop_private.h"
#include "os/sockopt.h"

struct uring_sock {
	/*
	 * Multishot: only msg_namelen and msg_controllen matter; they lay
	 * out every buffer as struct io_uring_recvmsg_out, name, control,
	 * payload (io_uring_recvmsg_out(3)). Single-shot: the full msghdr,
	 * which must stay valid until the completion.
	 */
	struct msghdr mh;
	struct iovec iov;
	struct io_uring_buf_ring *br; /* multishot only */
	unsigned char *bufs;	      /* rx_entries buffers of buf_size */
	unsigned char *cmsg;	      /* single-shot control buffer */

	/* Streams. */
	bool rx_poll;	      /* receive with POLL_ADD + read(2) */
	bool rx_req_poll;     /* the receive in flight is a POLL_ADD */
	unsigned tx_inflight; /* WRITEs of the current chain in the kernel */
	bool tx_pollout;      /* a POLL_ADD(POLLOUT) is in the kernel */
	bool tx_need_poll;    /* wait for POLLOUT before the next chain */
	bool kicked;	      /* on the kick list */
	int kick_next;

	/* Connects: the POLL_ADD and the submit count when it was made. */
	struct io_uring_sqe *conn_sqe;
	unsigned conn_submits;
};

/*
 * A fd the loop reads through the ring (timerfd, eventfd). Kernels whose
 * READ of an O_NONBLOCK file completes with -EAGAIN instead of waiting
 * (the file lacks FMODE_NOWAIT there) switch to POLL_ADD plus read(2).
 */
struct uring_reader {
	int fd;
	enum loop_tag tag;
	uint64_t val;
	bool poll;
};

struct loop_uring {
	struct loop loop;
	struct io_uring ring;
	bool ring_ok;

	unsigned rx_entries; /* buffers per socket, power of two */
	size_t buf_size;     /* stride between receive buffers */
	unsigned buf_len;    /* bytes the kernel may fill: max_msg exactly */
	void *rx_mem;
	size_t rx_mem_len;
	void *br_mem; /* the buffer rings, one page-aligned stride each */
	size_t br_mem_len;
	size_t br_stride;
	unsigned br_registered;
	struct uring_sock *us;
	unsigned char *cmsg_mem;
	unsigned char *scratch; /* max_msg: read(2) of polled streams */

	/* Streams with sends to hand to the kernel at the next flush. */
	int kick_head;
	int kick_tail;
	/*
	 * Bumped before every submit: an SQE prepared while it still has
	 * the value it had then has not reached the kernel yet.
	 */
	unsigned submits;

	struct uring_reader timer;
	struct uring_reader wake;

	struct __kernel_timespec timeout_ts;
	bool timeout_inflight;

	unsigned koverflow_seen;
	int fatal; /* an error of our own fds: returned by the next wait */
};

static struct loop_uring *to_uring(struct loop *l)
{
	return container_of(l, struct loop_uring, loop);
}

static unsigned roundup_pow2(unsigned v)
{
	unsigned p = 1;

	while (p < v) {
		p <<= 1;
	}
	return p;
}

static size_t round_up(size_t v, size_t a)
{
	return (v + a - 1) / a * a;
}

static int ring_submit(struct loop_uring *lu)
{
	lu->submits++;
	return io_uring_submit(&lu->ring);
}

/*
 * A free SQE. The SQ is sized for every request the loop can have queued
 * in one iteration, so the retry after a submit is a safety net.
 */
static struct io_uring_sqe *sqe_get(struct loop_uring *lu)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&lu->ring);

	if (!sqe) {
		ring_submit(lu);
		sqe = io_uring_get_sqe(&lu->ring);
	}
	return sqe;
}

static int reader_arm(struct loop_uring *lu, struct uring_reader *rd)
{
	struct io_uring_sqe *sqe = sqe_get(lu);

	if (!sqe) {
		return -EBUSY;
	}
	if (rd->poll) {
		io_uring_prep_poll_add(sqe, rd->fd, POLLIN);
	} else {
		io_uring_prep_read(sqe, rd->fd, &rd->val, sizeof(rd->val), 0);
	}
	io_uring_sqe_set_data64(sqe, loop_tag_make(rd->tag, 0, 0));
	return 0;
}

/*
 * A timerfd or eventfd completion: true when the fd was read (the timer
 * expired, a wake came). Re-arms the request either way.
 */
static bool reader_done(struct loop_uring *lu, struct uring_reader *rd, int res)
{
	bool got = false;
	int r;

	if (!rd->poll && res == -EAGAIN) {
		rd->poll = true;
	} else if (rd->poll && res > 0) {
		got = read(rd->fd, &rd->val, sizeof(rd->val)) ==
		      (ssize_t)sizeof(rd->val);
	} else if (!rd->poll && res == (int)sizeof(rd->val)) {
		got = true;
	} else if (res < 0 && res != -EINTR && res != -ECANCELED) {
		lu->fatal = res;
	}
	r = reader_arm(lu, rd);
	if (r < 0) {
		lu->fatal = r;
	}
	return got;
}

static void buf_recycle(struct loop_uring *lu, unsigned idx, unsigned bid)
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

static int rx_arm(struct loop_uring *lu, struct loop_sock *s)
{
	struct uring_sock *us = &lu->us[s->idx];
	struct io_uring_sqe *sqe = sqe_get(lu);

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
static int errq_arm(struct loop_uring *lu, struct loop_sock *s)
{
	struct io_uring_sqe *sqe = sqe_get(lu);

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

static int uring_sock_arm(struct loop *l, struct loop_sock *s)
{
	struct loop_uring *lu = to_uring(l);
	struct uring_sock *us = &lu->us[s->idx];
	int r;

	if (s->kind == LOOP_SLOT_STREAM) {
		/* kicked and kick_next belong to the kick list: keep them. */
		us->rx_poll = l->cfg.uring_stream_poll;
		us->rx_req_poll = false;
		us->tx_inflight = 0;
		us->tx_pollout = false;
		us->tx_need_poll = l->cfg.uring_stream_poll;
		if (!s->can_read) {
			return 0;
		}
		if (us->rx_poll) {
			LOOP_COUNT(l, stream_poll);
		}
		return rx_arm(lu, s);
	}
	r = rx_arm(lu, s);
	if (r < 0) {
		return r;
	}
	/* Without the watch the socket still works; reports wait. */
	if (errq_arm(lu, s) < 0) {
		LOOP_COUNT(l, errqueue_stopped);
	}
	return 0;
}

static void cancel(struct loop_uring *lu, uint64_t target)
{
	struct io_uring_sqe *sqe = sqe_get(lu);

	/*
	 * Cancel by user_data (io_uring_prep_cancel(3), kernel 5.5); the
	 * target's own completion (-ECANCELED, or its result if it won the
	 * race) is what releases the slot, so a failed cancel needs no
	 * handling. Without an SQE the request completes on its own.
	 */
	if (!sqe) {
		return;
	}
	io_uring_prep_cancel64(sqe, target, 0);
	io_uring_sqe_set_data64(sqe, loop_tag_make(LOOP_TAG_IGNORE, 0, 0));
}

static void uring_sock_cancel(struct loop *l, struct loop_sock *s)
{
	struct loop_uring *lu = to_uring(l);
	struct uring_sock *us = &lu->us[s->idx];

	if (s->rx_armed) {
		cancel(lu, loop_tag_make(LOOP_TAG_RECV, s->idx, s->gen));
	}
	if (s->errq_armed) {
		cancel(lu, loop_tag_make(LOOP_TAG_ERRQ, s->idx, s->gen));
	}
	/*
	 * A send to a peer that stopped reading would otherwise wait
	 * forever. Cancelling a chain's running head fails the rest of it
	 * (-ECANCELED); a stream's sends still waiting in its FIFO never
	 * reached the kernel and go back at once.
	 */
	for (unsigned i = 0; i < l->cfg.tx_slots; i++) {
		struct loop_tx *t = &l->tx[i];

		if (t->sock != s) {
			continue;
		}
		if (t->inflight) {
			cancel(lu, loop_tag_make(LOOP_TAG_SEND, i, s->gen));
		} else {
			loop_tx_unlink(l, s, (int)i);
			loop_tx_put(l, (int)i);
		}
	}
	if (s->kind == LOOP_SLOT_STREAM && us->tx_pollout) {
		cancel(lu, loop_tag_make(LOOP_TAG_TXPOLL, s->idx, s->gen));
	}
}

/* Have s's waiting sends looked at by the next stream_tx_flush(). */
static void kick(struct loop_uring *lu, struct loop_sock *s)
{
	struct uring_sock *us = &lu->us[s->idx];

	if (us->kicked) {
		return;
	}
	us->kicked = true;
	us->kick_next = -1;
	if (lu->kick_tail >= 0) {
		lu->us[lu->kick_tail].kick_next = (int)s->idx;
	} else {
		lu->kick_head = (int)s->idx;
	}
	lu->kick_tail = (int)s->idx;
}

static int uring_send(struct loop *l, struct loop_sock *s, const void *buf,
		      size_t len)
{
	struct loop_uring *lu = to_uring(l);
	struct io_uring_sqe *sqe;
	struct loop_tx *t;
	int i = loop_tx_get(l);

	if (i < 0) {
		LOOP_COUNT(l, tx_no_slot);
		return -EAGAIN;
	}
	t = &l->tx[i];
	memcpy(t->buf, buf, len);
	t->len = len;
	if (s->kind == LOOP_SLOT_STREAM) {
		/*
		 * Written in order by stream_tx_flush(), at the latest at
		 * the end of this iteration.
		 */
		loop_tx_push(l, s, i);
		kick(lu, s);
		return 0;
	}
	sqe = sqe_get(lu);
	if (!sqe) {
		loop_tx_put(l, i);
		return -EBUSY;
	}
	t->sock = s;
	t->inflight = true;
	t->seq = s->tx_seq_next;
	/* MSG_NOSIGNAL: a closed peer is an error, not SIGPIPE. send(2). */
	io_uring_prep_send(sqe, s->fd, t->buf, len, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(
	    sqe, loop_tag_make(LOOP_TAG_SEND, (uint32_t)i, s->gen));
	s->inflight++;
	return 0;
}

/*
 * Hand the sends waiting on kicked streams to the kernel: per stream one
 * chain, each WRITE linked to the next (IOSQE_IO_LINK) so that it starts
 * only after the one before completed in full; a short write or an error
 * ends the chain and the rest completes with -ECANCELED. Links join
 * neighbouring SQEs, so a chain is prepared in one go, and never longer
 * than the SQ has room for: a submit in its middle would cut it.
 */
static void stream_tx_flush(struct loop_uring *lu)
{
	struct loop *l = &lu->loop;

	while (lu->kick_head >= 0) {
		struct loop_sock *s = &l->socks[lu->kick_head];
		struct uring_sock *us = &lu->us[s->idx];
		struct io_uring_sqe *sqe;
		unsigned space, n = 0;

		lu->kick_head = us->kick_next;
		if (lu->kick_head < 0) {
			lu->kick_tail = -1;
		}
		us->kicked = false;
		if (!s->used || s->closing || s->kind != LOOP_SLOT_STREAM ||
		    s->tx_head < 0 || us->tx_inflight > 0 || us->tx_pollout) {
			continue;
		}
		if (us->tx_need_poll) {
			sqe = sqe_get(lu);
			if (!sqe) {
				kick(lu, s);
				return;
			}
			io_uring_prep_poll_add(sqe, s->fd, POLLOUT);
			io_uring_sqe_set_data64(
			    sqe,
			    loop_tag_make(LOOP_TAG_TXPOLL, s->idx, s->gen));
			us->tx_pollout = true;
			s->inflight++;
			continue;
		}
		space = io_uring_sq_space_left(&lu->ring);
		if (space == 0) {
			ring_submit(lu);
			space = io_uring_sq_space_left(&lu->ring);
		}
		for (int i = s->tx_head; i >= 0 && n < space;
		     i = l->tx[i].next, n++) {
			struct loop_tx *t = &l->tx[i];
			size_t left = t->len - t->off;

			sqe = io_uring_get_sqe(&lu->ring);
			if (s->type == SOCK_STREAM) {
				/*
				 * MSG_WAITALL: io_uring sends the rest of a
				 * short send itself and only then completes,
				 * so a short send cannot let the next one
				 * through; MSG_NOSIGNAL: EPIPE, not SIGPIPE.
				 */
				io_uring_prep_send(sqe, s->fd, t->buf + t->off,
						   left,
						   MSG_NOSIGNAL | MSG_WAITALL);
			} else {
				io_uring_prep_write(sqe, s->fd, t->buf + t->off,
						    (unsigned)left,
						    (uint64_t)-1);
			}
			io_uring_sqe_set_data64(
			    sqe,
			    loop_tag_make(LOOP_TAG_SEND, (uint32_t)i, s->gen));
			if (t->next >= 0 && n + 1 < space) {
				sqe->flags |= IOSQE_IO_LINK;
			}
			t->inflight = true;
			us->tx_inflight++;
			s->inflight++;
		}
		if (n == 0) {
			/* No room even after a submit: next time. */
			kick(lu, s);
			return;
		}
	}
}

/* A WRITE of a stream's chain completed. */
static void on_stream_send(struct loop_uring *lu, struct loop_sock *s, int i,
			   int res)
{
	struct loop *l = &lu->loop;
	struct uring_sock *us = &lu->us[s->idx];
	struct loop_tx *t = &l->tx[i];
	size_t left = t->len - t->off;

	t->inflight = false;
	if (us->tx_inflight > 0) {
		us->tx_inflight--;
	}
	if (s->closing) {
		loop_tx_unlink(l, s, i);
		loop_tx_put(l, i);
	} else if (res >= 0 && (size_t)res >= left) {
		loop_tx_unlink(l, s, i);
		loop_tx_put(l, i);
		LOOP_COUNT(l, tx);
	} else if (res > 0) {
		/* Short: the rest goes first in the next chain. */
		t->off += (size_t)res;
		LOOP_COUNT(l, tx_short);
	} else if (res == 0 || res == -EAGAIN) {
		/* Full, and the file cannot make io_uring wait: poll. */
		us->tx_need_poll = true;
	} else if (res == -ECANCELED || res == -EINTR) {
		/* An earlier link ended short or failed: send it again. */
	} else {
		loop_tx_unlink(l, s, i);
		loop_tx_put(l, i);
		loop_deliver_tx_error(l, s, res);
	}
	if (us->tx_inflight == 0 && !s->closing) {
		if (l->cfg.uring_stream_poll) {
			us->tx_need_poll = true;
		}
		kick(lu, s);
	}
	loop_sock_put(l, s);
}

static void on_send(struct loop_uring *lu, uint64_t ud, int res)
{
	struct loop *l = &lu->loop;
	uint32_t i = loop_tag_idx(ud);
	struct loop_sock *s;

	if (i >= l->cfg.tx_slots || !l->tx[i].sock || !l->tx[i].inflight) {
		return;
	}
	s = l->tx[i].sock;
	if (s->kind == LOOP_SLOT_STREAM) {
		on_stream_send(lu, s, (int)i, res);
		return;
	}
	loop_tx_put(l, (int)i);
	if (res < 0) {
		loop_tx_unsent(l, s, l->tx[i].seq);
		loop_deliver_tx_error(l, s, res);
	} else {
		LOOP_COUNT(l, tx);
	}
	loop_sock_put(l, s);
}

/* The POLL_ADD(POLLOUT) before a stream's next chain completed. */
static void on_txpoll(struct loop_uring *lu, uint64_t ud)
{
	struct loop *l = &lu->loop;
	struct loop_sock *s;
	struct uring_sock *us;

	s = loop_sock_lookup(l, loop_tag_idx(ud), loop_tag_gen(ud));
	if (!s || s->kind != LOOP_SLOT_STREAM) {
		return;
	}
	us = &lu->us[s->idx];
	us->tx_pollout = false;
	if (!s->closing) {
		/* Writable, or in error: the WRITE tells which. */
		us->tx_need_poll = false;
		kick(lu, s);
	}
	loop_sock_put(l, s);
}

static int uring_connect_arm(struct loop *l, struct loop_sock *s)
{
	struct loop_uring *lu = to_uring(l);
	struct io_uring_sqe *sqe = sqe_get(lu);

	if (!sqe) {
		return -EBUSY;
	}
	/* POLLERR and POLLHUP come without asking: poll(2). */
	io_uring_prep_poll_add(sqe, s->fd, POLLOUT);
	io_uring_sqe_set_data64(
	    sqe, loop_tag_make(LOOP_TAG_CONNECT, s->idx, s->gen));
	lu->us[s->idx].conn_sqe = sqe;
	lu->us[s->idx].conn_submits = lu->submits;
	return 0;
}

static void uring_connect_cancel(struct loop *l, struct loop_sock *s)
{
	struct loop_uring *lu = to_uring(l);
	struct uring_sock *us = &lu->us[s->idx];

	if (us->conn_sqe && us->conn_submits == lu->submits) {
		/*
		 * Still in our part of the SQ: the kernel never sees the
		 * poll, so it never takes a reference to the fd (which the
		 * caller may close, and the number be reused, before the
		 * next submit).
		 */
		io_uring_prep_nop(us->conn_sqe);
		io_uring_sqe_set_data64(us->conn_sqe,
					loop_tag_make(LOOP_TAG_IGNORE, 0, 0));
	} else {
		/* Its late completion, if any, fails loop_sock_lookup(). */
		cancel(lu, loop_tag_make(LOOP_TAG_CONNECT, s->idx, s->gen));
	}
	us->conn_sqe = NULL;
}

static void on_connect(struct loop_uring *lu, uint64_t ud, int res)
{
	struct loop *l = &lu->loop;
	struct loop_sock *s;

	s = loop_sock_lookup(l, loop_tag_idx(ud), loop_tag_gen(ud));
	if (!s || s->kind != LOOP_SLOT_CONNECT) {
		return;
	}
	lu->us[s->idx].conn_sqe = NULL;
	loop_connect_done(l, s, res);
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
		buf_recycle(lu, s->idx, bid);
	}

	s->rx_armed = false;
	if (!s->closing && !s->rx_stopped) {
		if (rx_arm(lu, s) < 0) {
			loop_deliver_rx_error(l, s, -EBUSY);
		} else {
			LOOP_COUNT(l, rx_rearms);
		}
	}
	loop_sock_put(l, s);
}

static void on_recv(struct loop_uring *lu, const struct io_uring_cqe *cqe)
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
			buf_recycle(lu, loop_tag_idx(ud), bid);
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
			buf_recycle(lu, s->idx, bid);
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
			cancel(lu, ud);
		}
		return;
	}
	s->rx_armed = false;
	if (!s->closing && !s->rx_stopped) {
		if (rx_arm(lu, s) < 0) {
			loop_deliver_rx_error(l, s, -EBUSY);
		} else {
			LOOP_COUNT(l, rx_rearms);
		}
	}
	loop_sock_put(l, s);
}

/* The POLLERR watch completed: read the error queue, watch again. */
static void on_errq(struct loop_uring *lu, uint64_t ud, int res)
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
		} else if (!s->closing && errq_arm(lu, s) < 0) {
			LOOP_COUNT(l, errqueue_stopped);
		}
	}
	loop_sock_put(l, s);
}

static void on_timeout(struct loop_uring *lu, int res)
{
	lu->timeout_inflight = false;
	/* -ETIME: expired; -ECANCELED: removed by uring_timer_set(). */
	if (res == -ETIME) {
		loop_timer_fired(&lu->loop);
	}
}

static void on_cqe(struct loop_uring *lu, const struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);

	switch (loop_tag_kind(ud)) {
	case LOOP_TAG_IGNORE:
		break;
	case LOOP_TAG_RECV:
		on_recv(lu, cqe);
		break;
	case LOOP_TAG_SEND:
		on_send(lu, ud, cqe->res);
		break;
	case LOOP_TAG_TIMER:
		if (reader_done(lu, &lu->timer, cqe->res)) {
			loop_timer_fired(&lu->loop);
		}
		break;
	case LOOP_TAG_WAKE:
		if (reader_done(lu, &lu->wake, cqe->res)) {
			loop_wake_fired(&lu->loop);
		}
		break;
	case LOOP_TAG_TIMEOUT:
		on_timeout(lu, cqe->res);
		break;
	case LOOP_TAG_TXPOLL:
		on_txpoll(lu, ud);
		break;
	case LOOP_TAG_CONNECT:
		on_connect(lu, ud, cqe->res);
		break;
	case LOOP_TAG_ERRQ:
		on_errq(lu, ud, cqe->res);
		break;
	}
}

static int uring_timer_set(struct loop *l, uint64_t when_ns)
{
	struct loop_uring *lu = to_uring(l);
	uint64_t ud = loop_tag_make(LOOP_TAG_TIMEOUT, 0, 0);
	struct io_uring_sqe *sqe;

	if (l->cfg.timer == LOOP_TIMER_TIMERFD) {
		return loop_timerfd_set(l, when_ns);
	}

	if (when_ns == UINT64_MAX && !lu->timeout_inflight) {
		return 0;
	}
	sqe = sqe_get(lu);
	if (!sqe) {
		return -EBUSY;
	}
	/*
	 * The kernel copies the timespec when it takes the SQE, at the
	 * submit at the start of this iteration's wait, so one buffer is
	 * enough. count 0: a pure timer (io_uring_prep_timeout(3)).
	 */
	lu->timeout_ts.tv_sec = (long long)(when_ns / NSEC_PER_SEC);
	lu->timeout_ts.tv_nsec = (long long)(when_ns % NSEC_PER_SEC);
	if (when_ns == UINT64_MAX) {
		io_uring_prep_timeout_remove(sqe, ud, 0);
		ud = loop_tag_make(LOOP_TAG_IGNORE, 0, 0);
	} else if (lu->timeout_inflight) {
		/*
		 * -ENOENT if it already expired: its -ETIME completion is
		 * then on the way and on_timeout() makes the loop arm anew.
		 */
		io_uring_prep_timeout_update(sqe, &lu->timeout_ts, ud,
					     IORING_TIMEOUT_ABS);
		ud = loop_tag_make(LOOP_TAG_IGNORE, 0, 0);
	} else {
		io_uring_prep_timeout(sqe, &lu->timeout_ts, 0,
				      IORING_TIMEOUT_ABS);
		lu->timeout_inflight = true;
	}
	io_uring_sqe_set_data64(sqe, ud);
	return 0;
}

static void count_overflow(struct loop_uring *lu)
{
	unsigned ov = IO_URING_READ_ONCE(*lu->ring.cq.koverflow);

	/*
	 * With IORING_FEAT_NODROP the kernel keeps overflowed completions
	 * and flushes them on the next enter; koverflow counts those it
	 * could not keep. Either is a sizing bug worth a counter.
	 */
	if (ov != lu->koverflow_seen) {
		LOOP_COUNT_ADD(&lu->loop, cq_overflow, ov - lu->koverflow_seen);
		lu->koverflow_seen = ov;
	}
	if (IO_URING_READ_ONCE(*lu->ring.sq.kflags) & IORING_SQ_CQ_OVERFLOW) {
		LOOP_COUNT(&lu->loop, cq_overflow);
	}
}

static int uring_wait(struct loop *l, bool block)
{
	struct loop_uring *lu = to_uring(l);
	struct io_uring_cqe *cqe;
	unsigned n = 0;
	int r;

	if (lu->fatal) {
		return lu->fatal;
	}
	/* Stream sends made outside a callback since the last flush. */
	stream_tx_flush(lu);
	lu->submits++;
	if (block) {
		r = io_uring_submit_and_wait(&lu->ring, 1);
	} else {
		r = io_uring_submit(&lu->ring);
	}
	/*
	 * -EINTR: a signal; -EBUSY/-EAGAIN: the CQ is full of overflow,
	 * reaping below makes room (io_uring_enter(2)).
	 */
	if (r < 0 && r != -EINTR && r != -EBUSY && r != -EAGAIN &&
	    r != -ETIME) {
		return r;
	}
	loop_clock_sample(l);
	/*
	 * One completion at a time, marked seen after its handler: a
	 * handler may submit (re-arm, send), and io_uring_peek_cqe(3) also
	 * flushes completions the kernel kept back on CQ overflow. At most
	 * one ring's worth, so a flood cannot hold off the timers.
	 */
	while (n < lu->ring.cq.ring_entries &&
	       io_uring_peek_cqe(&lu->ring, &cqe) == 0) {
		on_cqe(lu, cqe);
		io_uring_cqe_seen(&lu->ring, cqe);
		n++;
	}
	count_overflow(lu);
	return (int)n;
}

static int uring_flush(struct loop *l)
{
	struct loop_uring *lu = to_uring(l);

	stream_tx_flush(lu);
	if (io_uring_sq_ready(&lu->ring) == 0) {
		return 0;
	}
	return ring_submit(lu);
}

static void bufrings_free(struct loop_uring *lu)
{
	if (lu->ring_ok) {
		for (unsigned i = 0; i < lu->br_registered; i++) {
			io_uring_unregister_buf_ring(&lu->ring, (int)i);
		}
	}
	lu->br_registered = 0;
	if (lu->br_mem) {
		munmap(lu->br_mem, lu->br_mem_len);
		lu->br_mem = NULL;
	}
	if (lu->rx_mem) {
		munmap(lu->rx_mem, lu->rx_mem_len);
		lu->rx_mem = NULL;
	}
}

static void *map(size_t len)
{
	/* Prefaulted: the RT thread should not take the page faults. */
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void uring_free(struct loop *l)
{
	struct loop_uring *lu = to_uring(l);

	/*
	 * io_uring_queue_exit(3) cancels what is in flight; after the ring
	 * fd is closed the kernel drops its socket references, so the
	 * buffers may go.
	 */
	if (lu->ring_ok) {
		io_uring_queue_exit(&lu->ring);
		lu->ring_ok = false;
	}
	bufrings_free(lu);
	free(lu->us);
	free(lu->cmsg_mem);
	free(lu->scratch);
	loop_common_fini(l);
	free(lu);
}

/* Memory for the single-shot mode: one buffer and one cmsg per socket. */
static int singleshot_setup(struct loop_uring *lu)
{
	const struct loop_config *cfg = &lu->loop.cfg;

	lu->rx_entries = 1;
	lu->buf_size = round_up(cfg->max_msg, 64);
	lu->rx_mem_len = lu->buf_size * cfg->max_sockets;
	lu->rx_mem = map(lu->rx_mem_len);
	lu->cmsg_mem = calloc(cfg->max_sockets, LOOP_CMSG_LEN);
	if (!lu->rx_mem || !lu->cmsg_mem) {
		return -ENOMEM;
	}
	for (unsigned i = 0; i < cfg->max_sockets; i++) {
		lu->us[i].bufs = (unsigned char *)lu->rx_mem + i * lu->buf_size;
		lu->us[i].cmsg = lu->cmsg_mem + i * LOOP_CMSG_LEN;
	}
	lu->loop.rx_mode = LOOP_RX_URING_SINGLESHOT;
	return 0;
}

#if HAVE_IO_URING_RECVMSG_MULTISHOT
/*
 * One provided-buffer ring per socket slot, registered now so that
 * loop_add_socket() makes no registration syscall. The ring memory is
 * page aligned: kernels before 6.4 require it (io_uring_register_buf_ring
 * (3)). Fails on kernels before 5.19 (-EINVAL).
 */
static int bufrings_setup(struct loop_uring *lu)
{
	const struct loop_config *cfg = &lu->loop.cfg;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	lu->rx_entries = roundup_pow2(cfg->rx_depth);
	/*
	 * Exactly max_msg of payload fits, so a longer datagram is cut
	 * (MSG_TRUNC) the same way on every backend.
	 */
	lu->buf_len = (unsigned)(sizeof(struct io_uring_recvmsg_out) +
				 LOOP_CMSG_LEN + cfg->max_msg);
	lu->buf_size = round_up(lu->buf_len, 64);
	lu->br_stride =
	    round_up(lu->rx_entries * sizeof(struct io_uring_buf), page);
	lu->br_mem_len = lu->br_stride * cfg->max_sockets;
	lu->rx_mem_len = lu->buf_size * lu->rx_entries * cfg->max_sockets;
	lu->br_mem = map(lu->br_mem_len);
	lu->rx_mem = map(lu->rx_mem_len);
	if (!lu->br_mem || !lu->rx_mem) {
		return -ENOMEM;
	}

	for (unsigned i = 0; i < cfg->max_sockets; i++) {
		struct uring_sock *us = &lu->us[i];
		struct io_uring_buf_reg reg = {0};
		int r;

		us->br = (struct io_uring_buf_ring *)((char *)lu->br_mem +
						      i * lu->br_stride);
		us->bufs = (unsigned char *)lu->rx_mem +
			   (size_t)i * lu->rx_entries * lu->buf_size;
		us->mh = (struct msghdr){.msg_controllen = LOOP_CMSG_LEN};

		reg.ring_addr = (uint64_t)(uintptr_t)us->br;
		reg.ring_entries = lu->rx_entries;
		reg.bgid = (__u16)i;
		r = io_uring_register_buf_ring(&lu->ring, &reg, 0);
		if (r < 0) {
			return r;
		}
		lu->br_registered++;

		io_uring_buf_ring_init(us->br);
		for (unsigned b = 0; b < lu->rx_entries; b++) {
			io_uring_buf_ring_add(
			    us->br, us->bufs + (size_t)b * lu->buf_size,
			    lu->buf_len, (unsigned short)b,
			    io_uring_buf_ring_mask(lu->rx_entries), (int)b);
		}
		io_uring_buf_ring_advance(us->br, (int)lu->rx_entries);
	}
	return 0;
}

/*
 * Multishot recvmsg came with kernel 6.0; older kernels reject the flag
 * with -EINVAL, and no opcode probe tells flags apart. So try it on a
 * socketpair with slot 0's buffer ring: queue a datagram and EOF, arm,
 * and see whether the first completion says IORING_CQE_F_MORE. Setup
 * time only: blocks up to a second.
 */
static bool multishot_works(struct loop_uring *lu)
{
	struct __kernel_timespec to = {.tv_sec = 1};
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	bool works = false, done = false;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
		       0, sv) < 0) {
		return false;
	}
	if (send(sv[1], "p", 1, MSG_NOSIGNAL) != 1) {
		goto out;
	}
	close(sv[1]);
	sv[1] = -1;

	sqe = io_uring_get_sqe(&lu->ring);
	if (!sqe) {
		goto out;
	}
	io_uring_prep_recvmsg_multishot(sqe, sv[0], &lu->us[0].mh, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 0;
	/* IGNORE: a completion that outlives the probe is dropped. */
	io_uring_sqe_set_data64(sqe, loop_tag_make(LOOP_TAG_IGNORE, 0, 0));
	if (ring_submit(lu) != 1) {
		goto out;
	}
	/* Data (F_MORE when multishot works), then EOF ends it. */
	for (int i = 0; i < 4 && !done; i++) {
		if (io_uring_wait_cqe_timeout(&lu->ring, &cqe, &to) < 0) {
			break;
		}
		if (i == 0) {
			works =
			    cqe->res > 0 && (cqe->flags & IORING_CQE_F_MORE);
		}
		if (cqe->flags & IORING_CQE_F_BUFFER) {
			buf_recycle(lu, 0,
				    cqe->flags >> IORING_CQE_BUFFER_SHIFT);
		}
		done = !(cqe->flags & IORING_CQE_F_MORE);
		io_uring_cqe_seen(&lu->ring, cqe);
	}
	if (!done) {
		/* Never leave a request on a fd we are about to close. */
		works = false;
	}
out:
	close(sv[0]);
	if (sv[1] >= 0) {
		close(sv[1]);
	}
	return works;
}
#endif

static int uring_napi(struct loop *l, unsigned busy_poll_us, bool prefer,
		      struct sockopt_napi_report *ret)
{
	return sockopt_uring_napi(&to_uring(l)->ring, busy_poll_us, prefer,
				  ret);
}

static const struct loop_ops uring_ops = {
    .free = uring_free,
    .sock_arm = uring_sock_arm,
    .sock_cancel = uring_sock_cancel,
    .send = uring_send,
    .connect_arm = uring_connect_arm,
    .connect_cancel = uring_connect_cancel,
    .timer_set = uring_timer_set,
    .wait = uring_wait,
    .flush = uring_flush,
    .napi = uring_napi,
};

int loop_uring_new(const struct loop_config *cfg, struct wheel *w,
		   struct loop **ret)
{
	struct io_uring_params p = {0};
	struct loop_uring *lu;
	struct loop *l;
	unsigned sq, cq;
	int r;

	lu = calloc(1, sizeof(*lu));
	if (!lu) {
		return -ENOMEM;
	}
	l = &lu->loop;
	l->ops = &uring_ops;
	l->backend = LOOP_IO_URING;
	lu->kick_head = -1;
	lu->kick_tail = -1;
	/*
	 * O_NONBLOCK like the epoll backend: current kernels still wait on a
	 * READ of it (the files support IOCB_NOWAIT and io_uring polls);
	 * older ones answer -EAGAIN, handled by struct uring_reader.
	 */
	r = loop_common_init(l, cfg, w, cfg->timer == LOOP_TIMER_TIMERFD, 1);
	if (r < 0) {
		goto fail;
	}

	/*
	 * SQ: per slot a receive and a cancel, a stream's POLLOUT and its
	 * cancel (or a connect's poll and its cancel, or a socket's POLLERR
	 * watch and its cancel), per tx slot a send
	 * and a cancel, the timer (and its update) and the wake, all in one
	 * iteration at worst. CQ: every buffer of every socket completing
	 * before we reap, plus the terminating completions, so the CQ does
	 * not overflow by construction. IORING_SETUP_CLAMP caps both at the
	 * kernel's limits (io_uring_setup(2)).
	 */
	sq = roundup_pow2(4 * cfg->max_sockets + 2 * cfg->tx_slots + 8);
	cq = roundup_pow2(cfg->max_sockets * (roundup_pow2(cfg->rx_depth) + 6) +
			  2 * cfg->tx_slots + 16);
	if (sq > 32768) {
		sq = 32768;
	}
	if (cq < 2 * sq) {
		cq = 2 * sq;
	}
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
	p.cq_entries = cq;
	r = io_uring_queue_init_params(sq, &lu->ring, &p);
	if (r < 0) {
		goto fail;
	}
	lu->ring_ok = true;

	lu->us = calloc(cfg->max_sockets, sizeof(*lu->us));
	if (!lu->us) {
		r = -ENOMEM;
		goto fail;
	}

	r = -EOPNOTSUPP;
#if HAVE_IO_URING_RECVMSG_MULTISHOT
	if (!cfg->uring_singleshot) {
		r = bufrings_setup(lu);
		if (r == 0 && !multishot_works(lu)) {
			r = -EOPNOTSUPP;
		}
		if (r == 0) {
			l->rx_mode = LOOP_RX_URING_MULTISHOT;
		} else if (r == -ENOMEM) {
			goto fail;
		}
	}
#endif
	if (r < 0) {
		bufrings_free(lu);
		r = singleshot_setup(lu);
		if (r < 0) {
			goto fail;
		}
	}

	lu->scratch = malloc(cfg->max_msg);
	if (!lu->scratch) {
		r = -ENOMEM;
		goto fail;
	}

	lu->wake =
	    (struct uring_reader){.fd = l->wake_fd, .tag = LOOP_TAG_WAKE};
	r = reader_arm(lu, &lu->wake);
	if (r < 0) {
		goto fail;
	}
	if (cfg->timer == LOOP_TIMER_TIMERFD) {
		lu->timer = (struct uring_reader){.fd = l->timer_fd,
						  .tag = LOOP_TAG_TIMER};
		r = reader_arm(lu, &lu->timer);
		if (r < 0) {
			goto fail;
		}
	}
	r = ring_submit(lu);
	if (r < 0) {
		goto fail;
	}

	snprintf(l->note, sizeof(l->note), "io_uring, %s, %s",
		 loop_rx_mode_name(l->rx_mode),
		 cfg->timer == LOOP_TIMER_TIMERFD
		     ? "timerfd"
		     : "absolute io_uring timeout");
	*ret = l;
	return 0;

fail:
	uring_free(l);
	return r;
}
