/* SPDX-License-Identifier: MIT */
/*
 * io_uring backend: transmit. Datagram IORING_OP_SEND from a tx slot;
 * a stream's waiting sends as one IOSQE_IO_LINK chain of WRITEs, the
 * next only after it completed; POLL_ADD(POLLOUT) for a file that cannot
 * make io_uring wait. See loop_uring_private.h.
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

/* Have s's waiting sends looked at by the next uring_stream_tx_flush(). */
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

int uring_send(struct loop *l, struct loop_sock *s, const void *buf, size_t len)
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
		 * Written in order by uring_stream_tx_flush(), at the latest at
		 * the end of this iteration.
		 */
		loop_tx_push(l, s, i);
		kick(lu, s);
		return 0;
	}
	sqe = uring_sqe_get(lu);
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
void uring_stream_tx_flush(struct loop_uring *lu)
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
			sqe = uring_sqe_get(lu);
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
			uring_ring_submit(lu);
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

void uring_on_send(struct loop_uring *lu, uint64_t ud, int res)
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
void uring_on_txpoll(struct loop_uring *lu, uint64_t ud)
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
