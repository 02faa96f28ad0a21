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
 *
 * This file: requests and dispatch. The rest of the backend is in
 * loop_uring_setup.c, loop_uring_rx.c and loop_uring_tx.c
 * (loop_uring_private.h).
 */

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "core/macro.h"
#include "os/loop.h"
#include "os/loop_private.h"
#include "os/loop_uring_private.h"
#include "os/rt.h"
#include "os/sockopt.h"

static bool uring_taskrun(const struct loop_uring *lu)
{
	return IO_URING_READ_ONCE(*lu->ring.sq.kflags) & IORING_SQ_TASKRUN;
}

int uring_ring_submit(struct loop_uring *lu)
{
	lu->submits++;
	return io_uring_submit(&lu->ring);
}

/*
 * A free SQE. The SQ is sized for every request the loop can have queued
 * in one iteration, so the retry after a submit is a safety net.
 */
struct io_uring_sqe *uring_sqe_get(struct loop_uring *lu)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&lu->ring);

	if (!sqe) {
		uring_ring_submit(lu);
		sqe = io_uring_get_sqe(&lu->ring);
	}
	return sqe;
}

int uring_reader_arm(struct loop_uring *lu, struct uring_reader *rd)
{
	struct io_uring_sqe *sqe = uring_sqe_get(lu);

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
	r = uring_reader_arm(lu, rd);
	if (r < 0) {
		lu->fatal = r;
	}
	return got;
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
		return uring_rx_arm(lu, s);
	}
	r = uring_rx_arm(lu, s);
	if (r < 0) {
		return r;
	}
	/* Without the watch the socket still works; reports wait. */
	if (uring_errq_arm(lu, s) < 0) {
		LOOP_COUNT(l, errqueue_stopped);
	}
	return 0;
}

void uring_cancel(struct loop_uring *lu, uint64_t target)
{
	struct io_uring_sqe *sqe = uring_sqe_get(lu);

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
		uring_cancel(lu, loop_tag_make(LOOP_TAG_RECV, s->idx, s->gen));
	}
	if (s->errq_armed) {
		uring_cancel(lu, loop_tag_make(LOOP_TAG_ERRQ, s->idx, s->gen));
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
			uring_cancel(lu,
				     loop_tag_make(LOOP_TAG_SEND, i, s->gen));
		} else {
			loop_tx_unlink(l, s, (int)i);
			loop_tx_put(l, (int)i);
		}
	}
	if (s->kind == LOOP_SLOT_STREAM && us->tx_pollout) {
		uring_cancel(lu,
			     loop_tag_make(LOOP_TAG_TXPOLL, s->idx, s->gen));
	}
}

static int uring_connect_arm(struct loop *l, struct loop_sock *s)
{
	struct loop_uring *lu = to_uring(l);
	struct io_uring_sqe *sqe = uring_sqe_get(lu);

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
		uring_cancel(lu,
			     loop_tag_make(LOOP_TAG_CONNECT, s->idx, s->gen));
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
		uring_on_recv(lu, cqe);
		break;
	case LOOP_TAG_SEND:
		uring_on_send(lu, ud, cqe->res);
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
		uring_on_txpoll(lu, ud);
		break;
	case LOOP_TAG_CONNECT:
		on_connect(lu, ud, cqe->res);
		break;
	case LOOP_TAG_ERRQ:
		uring_on_errq(lu, ud, cqe->res);
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
	if (l->cfg.timer == LOOP_TIMER_URING_WAIT) {
		/* Nothing to tell the kernel until the wait itself. */
		lu->wait_until_ns = when_ns;
		return 0;
	}

	if (when_ns == UINT64_MAX && !lu->timeout_inflight) {
		return 0;
	}
	sqe = uring_sqe_get(lu);
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

/*
 * Wait for nr completions or until lu->wait_until_ns (CLOCK_MONOTONIC,
 * the ring's default clock): io_uring_enter(2) with IORING_ENTER_EXT_ARG
 * and IORING_ENTER_ABS_TIMER. liburing 2.3 has no call that passes
 * ABS_TIMER, hence the raw syscall; the SQ is empty here (the caller
 * submitted it). A kernel older than 6.12 refuses the flag with -EINVAL:
 * from then on the timeout is relative, computed from one clock read
 * (the wake-up is late by the syscall's entry, well under 1 us).
 * Returns 0, -ETIME (the deadline came first) or a negative errno.
 */
static int wait_until(struct loop_uring *lu, unsigned nr)
{
	struct __kernel_timespec ts;
	struct io_uring_getevents_arg arg = {
	    .ts = (uint64_t)(uintptr_t)&ts,
	};
	uint64_t t = lu->wait_until_ns;
	unsigned flags;

	lu->waited_until = true;
	long r;

	for (;;) {
		flags = IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG;
		if (lu->abs_timer) {
			flags |= URING_ENTER_ABS_TIMER;
		} else {
			uint64_t now = rt_now_ns();

			t = lu->wait_until_ns > now ? lu->wait_until_ns - now
						    : 0;
		}
		ts.tv_sec = (long long)(t / NSEC_PER_SEC);
		ts.tv_nsec = (long long)(t % NSEC_PER_SEC);
		r = syscall(__NR_io_uring_enter, lu->ring.ring_fd, 0, nr, flags,
			    &arg, sizeof(arg));
		if (r >= 0) {
			return 0;
		}
		r = -errno;
		if (r == -EINVAL && lu->abs_timer) {
			lu->abs_timer = false;
			continue;
		}
		return (int)r;
	}
}

/*
 * How many completions the coming wait (until lu->wait_until_ns) asks
 * for: 1, or, when receive coalescing may hold them (loop.h,
 * rx_defer_ns), more than can come before the deadline, so that the
 * deadline ends it. Half the CQ: a flood still ends the wait early.
 */
static unsigned wait_nr(struct loop_uring *lu)
{
	struct loop *l = &lu->loop;
	uint64_t now;

	if (!lu->defer_taskrun || l->expecting || l->n_streams ||
	    lu->wait_until_ns == UINT64_MAX) {
		return 1;
	}
	now = rt_now_ns();
	if (lu->wait_until_ns > now &&
	    lu->wait_until_ns - now > l->cfg.rx_defer_ns) {
		return 1;
	}
	LOOP_COUNT(l, coalesced_waits);
	return lu->ring.cq.ring_entries / 2;
}

static int uring_wait(struct loop *l, bool block)
{
	struct loop_uring *lu = to_uring(l);
	struct io_uring_cqe *cqe;
	unsigned n = 0, seen, nr = 1;
	int r;

	if (lu->fatal) {
		return lu->fatal;
	}
	/* Stream sends made outside a callback since the last flush. */
	uring_stream_tx_flush(lu);
	lu->submits++;
	if (block && l->cfg.timer == LOOP_TIMER_URING_WAIT &&
	    lu->wait_until_ns != UINT64_MAX) {
		/* Usually empty: the last iteration's flush submitted. */
		r = io_uring_sq_ready(&lu->ring) ? io_uring_submit(&lu->ring)
						 : 0;
		if (r >= 0) {
			nr = wait_nr(lu);
			r = wait_until(lu, nr);
		}
	} else if (block) {
		r = io_uring_submit_and_wait(&lu->ring, 1);
	} else {
		r = io_uring_submit(&lu->ring);
		/* Completions waiting for our task (COOP_TASKRUN): post
		 * them; the busy-poll found this flag. */
		if (r >= 0 && uring_taskrun(lu)) {
			r = io_uring_get_events(&lu->ring);
		}
	}
	/*
	 * -EINTR: a signal; -EBUSY/-EAGAIN: the CQ is full of overflow,
	 * reaping below makes room (io_uring_enter(2)).
	 */
	if (r < 0 && r != -EINTR && r != -EBUSY && r != -EAGAIN &&
	    r != -ETIME) {
		return r;
	}
	/* What is there now was seen at the clock read that follows. */
	seen = io_uring_cq_ready(&lu->ring);
	loop_clock_sample(l);
	if (lu->waited_until) {
		/* The wait's deadline passed: the timer fired, whether the
		 * timeout or a completion ended the wait. */
		lu->waited_until = false;
		if (l->seen_ns >= lu->wait_until_ns) {
			loop_timer_fired(l);
		}
	}
	/*
	 * A wait that its deadline ended leaves the coalesced completions'
	 * work with the ring (DEFER_TASKRUN): run it now. They are handled
	 * before the timers, in the order they came, as without
	 * coalescing: a timer's handler sees every reply that arrived
	 * before it (one timing exchange at a time: a probe must see the
	 * last exchange's follow-up, link_probe_fire()).
	 */
	if (nr > 1) {
		int g = io_uring_get_events(&lu->ring);

		if (g < 0 && g != -EINTR && g != -EBUSY && g != -EAGAIN) {
			return g;
		}
		if (seen == 0) {
			seen = io_uring_cq_ready(&lu->ring);
		}
	}
	/*
	 * One completion at a time, marked seen after its handler: a
	 * handler may submit (re-arm, send), and io_uring_peek_cqe(3) also
	 * flushes completions the kernel kept back on CQ overflow. At most
	 * one ring's worth, so a flood cannot hold off the timers.
	 */
	while (n < lu->ring.cq.ring_entries &&
	       io_uring_peek_cqe(&lu->ring, &cqe) == 0) {
		if (seen == 0) {
			/* Posted while the handlers ran (task work on the
			 * way out of a syscall): seen now, not at the
			 * round's start (loop_rx.seen_ns). */
			seen = io_uring_cq_ready(&lu->ring);
			l->seen_ns = rt_now_ns();
		}
		on_cqe(lu, cqe);
		io_uring_cqe_seen(&lu->ring, cqe);
		n++;
		if (seen > 0) {
			seen--;
		}
	}
	count_overflow(lu);
	return (int)n;
}

static int uring_flush(struct loop *l)
{
	struct loop_uring *lu = to_uring(l);

	uring_stream_tx_flush(lu);
	if (io_uring_sq_ready(&lu->ring) == 0) {
		return 0;
	}
	return uring_ring_submit(lu);
}

/*
 * Busy-poll look, in memory only: the CQ ring's tail against its head,
 * and IORING_SQ_TASKRUN (a completion waits for our task to post it).
 */
static bool uring_ready(struct loop *l)
{
	struct loop_uring *lu = to_uring(l);

	return io_uring_cq_ready(&lu->ring) > 0 || uring_taskrun(lu) ||
	       lu->fatal;
}

const struct loop_ops loop_uring_ops = {
    .free = uring_free,
    .sock_arm = uring_sock_arm,
    .sock_cancel = uring_sock_cancel,
    .send = uring_send,
    .connect_arm = uring_connect_arm,
    .connect_cancel = uring_connect_cancel,
    .timer_set = uring_timer_set,
    .wait = uring_wait,
    .flush = uring_flush,
    .ready = uring_ready,
};
