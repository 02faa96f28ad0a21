/* SPDX-License-Identifier: MIT */
/*
 * io_uring backend: ring set-up and teardown. The provided-buffer rings
 * (one per socket slot) or the single-shot buffers, the probe for
 * multishot recvmsg, loop_uring_new() and uring_free(). See
 * loop_uring_private.h.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
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

void uring_free(struct loop *l)
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
	if (uring_ring_submit(lu) != 1) {
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
			uring_buf_recycle(
			    lu, 0, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
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
	l->ops = &loop_uring_ops;
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
	/*
	 * COOP_TASKRUN + TASKRUN_FLAG (5.19): a completion that needs our
	 * task to run its work (socket receives do) raises IORING_SQ_TASKRUN
	 * in the SQ ring instead of interrupting the thread with an IPI. A
	 * sleeping thread is woken the same way either way; a busy-polling
	 * one sees the flag in memory at once and enters the kernel once to
	 * post the completion (uring_ready()), where an IPI costs tens of us
	 * on a VM. Older kernels refuse the flags: set up without them.
	 */
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP |
		  IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
	p.cq_entries = cq;
	/*
	 * Receive coalescing (loop.h, rx_defer_ns): DEFER_TASKRUN (6.1)
	 * keeps a completion's work until this thread waits and wakes it
	 * only when as many are ready as the wait asked for; without it
	 * every receive wakes the thread. It needs SINGLE_ISSUER: the ring
	 * is used by the thread that creates it, the RT thread, only.
	 */
	if (cfg->rx_defer_ns) {
		p.flags |= IORING_SETUP_SINGLE_ISSUER |
			   IORING_SETUP_DEFER_TASKRUN;
		r = io_uring_queue_init_params(sq, &lu->ring, &p);
		lu->defer_taskrun = r == 0;
		lu->loop.can_coalesce = r == 0;
		if (r == -EINVAL) {
			memset(&p, 0, sizeof(p));
			p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP |
				  IORING_SETUP_COOP_TASKRUN |
				  IORING_SETUP_TASKRUN_FLAG;
			p.cq_entries = cq;
			r = io_uring_queue_init_params(sq, &lu->ring, &p);
		}
	} else {
		r = io_uring_queue_init_params(sq, &lu->ring, &p);
	}
	if (r == -EINVAL) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
		p.cq_entries = cq;
		r = io_uring_queue_init_params(sq, &lu->ring, &p);
	}
	if (r < 0) {
		goto fail;
	}
	lu->ring_ok = true;
	lu->wait_until_ns = UINT64_MAX;
	lu->abs_timer = true;
	/* The wait's timeout travels in IORING_ENTER_EXT_ARG (5.11). */
	if (cfg->timer == LOOP_TIMER_URING_WAIT &&
	    !(p.features & IORING_FEAT_EXT_ARG)) {
		r = -EOPNOTSUPP;
		goto fail;
	}

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
	r = uring_reader_arm(lu, &lu->wake);
	if (r < 0) {
		goto fail;
	}
	if (cfg->timer == LOOP_TIMER_TIMERFD) {
		lu->timer = (struct uring_reader){.fd = l->timer_fd,
						  .tag = LOOP_TAG_TIMER};
		r = uring_reader_arm(lu, &lu->timer);
		if (r < 0) {
			goto fail;
		}
	}
	r = uring_ring_submit(lu);
	if (r < 0) {
		goto fail;
	}

	if (cfg->busy_poll_ns) {
		struct sockopt_napi_report rep;

		/* Reported by loop_napi_format(), never fatal. */
		(void)sockopt_uring_napi(
		    &lu->ring, (unsigned)(cfg->busy_poll_ns / NSEC_PER_USEC),
		    false, &rep);
		l->napi_err = rep.err;
	}
	/* The timer by its configuration name: the note must fit the
	 * 80 columns of `ttwsctl stats`. */
	snprintf(l->note, sizeof(l->note), "io_uring, %s, timer %s",
		 loop_rx_mode_name(l->rx_mode), loop_timer_name(cfg->timer));
	*ret = l;
	return 0;

fail:
	uring_free(l);
	return r;
}
