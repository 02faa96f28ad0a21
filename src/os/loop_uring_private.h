/* SPDX-License-Identifier: MIT */
#ifndef TTWS_OS_LOOP_URING_PRIVATE_H
#define TTWS_OS_LOOP_URING_PRIVATE_H

/*
 * What the files of the io_uring backend share (STYLE.md's seams):
 *   loop_uring.c        requests and the ring's dispatch: waiting, the
 *                       completion switch, the timer and wake readers,
 *                       connects, cancels, the ops table
 *   loop_uring_setup.c  ring set-up and teardown: the provided-buffer
 *                       rings, the multishot probe, loop_uring_new()
 *   loop_uring_rx.c     receive (multishot recvmsg with provided buffers,
 *                       single-shot, stream READs) and the error queue
 *   loop_uring_tx.c     transmit: datagram SENDs, stream WRITE chains
 * Not for anything outside the backend.
 */

#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/macro.h"
#include "os/loop_private.h"

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

	/* LOOP_TIMER_URING_WAIT: the wait's deadline (UINT64_MAX = none),
	 * and whether the kernel takes IORING_ENTER_ABS_TIMER. */
	uint64_t wait_until_ns;
	bool abs_timer;
	/* IORING_SETUP_DEFER_TASKRUN: completions wait for our wait. */
	bool defer_taskrun;
	bool waited_until; /* this round's wait had that deadline */

	unsigned koverflow_seen;
	int fatal; /* an error of our own fds: returned by the next wait */
};

static inline struct loop_uring *to_uring(struct loop *l)
{
	return container_of(l, struct loop_uring, loop);
}

/* io_uring_enter(2) flag of kernel 6.12, not in liburing 2.3's headers. */
#ifdef IORING_ENTER_ABS_TIMER
#define URING_ENTER_ABS_TIMER IORING_ENTER_ABS_TIMER
#else
#define URING_ENTER_ABS_TIMER (1U << 5)
#endif

/* loop_uring.c */

extern const struct loop_ops loop_uring_ops;

/* io_uring_submit(3), counted in lu->submits. */
int uring_ring_submit(struct loop_uring *lu);

/*
 * A free SQE (NULL when even a submit freed none). The SQ is sized for
 * every request the loop can have queued in one iteration, so the retry
 * after a submit is a safety net.
 */
struct io_uring_sqe *uring_sqe_get(struct loop_uring *lu);

/* Cancel the request whose user_data is target (its own completion
 * releases what it holds). */
void uring_cancel(struct loop_uring *lu, uint64_t target);

/* Queue the READ (or POLL_ADD) of a timerfd or eventfd reader. */
int uring_reader_arm(struct loop_uring *lu, struct uring_reader *rd);

/* loop_uring_setup.c */

void uring_free(struct loop *l);

/* loop_uring_rx.c */

/* Give buffer bid back to slot idx's provided-buffer ring. */
void uring_buf_recycle(struct loop_uring *lu, unsigned idx, unsigned bid);

/* Queue s's receive (datagram recvmsg or stream READ). 0 or -EBUSY. */
int uring_rx_arm(struct loop_uring *lu, struct loop_sock *s);

/* Queue the POLLERR watch of a datagram socket's error queue. */
int uring_errq_arm(struct loop_uring *lu, struct loop_sock *s);

/* Completions: a receive, and the error-queue watch. */
void uring_on_recv(struct loop_uring *lu, const struct io_uring_cqe *cqe);
void uring_on_errq(struct loop_uring *lu, uint64_t ud, int res);

/* loop_uring_tx.c */

/* loop_ops.send. */
int uring_send(struct loop *l, struct loop_sock *s, const void *buf,
	       size_t len);

/* Hand the waiting sends of kicked streams to the kernel (one linked
 * chain of WRITEs per stream). */
void uring_stream_tx_flush(struct loop_uring *lu);

/* Completions: a SEND or WRITE, and a stream's POLL_ADD(POLLOUT). */
void uring_on_send(struct loop_uring *lu, uint64_t ud, int res);
void uring_on_txpoll(struct loop_uring *lu, uint64_t ud);

#endif
