/* SPDX-License-Identifier: MIT */
#ifndef TTWS_OS_LOOP_PRIVATE_H
#define TTWS_OS_LOOP_PRIVATE_H

/*
 * What the loop backends share, in the manner of linuxptp's
 * servo_private.h: struct loop is embedded in each backend's own struct
 * (container_of), and the backend fills in an ops table. The common
 * part owns everything else: loop.c the timerfd, the eventfd, the wheel,
 * the iteration and the counters; loop_config.c the configuration's
 * defaults, names and checks; loop_sock.c the socket slots and tx
 * buffers; loop_deliver.c timestamps and what reaches the callbacks. A
 * backend only waits, receives and sends.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "os/loop.h"

/*
 * user_data of an io_uring request and data.u64 of an epoll event:
 * the kind of request in bits 0-7, a socket or tx slot index in bits
 * 8-31, the socket's generation in bits 32-63. The generation keeps a
 * late cancel from matching a request of the slot's next socket.
 */
enum loop_tag {
	LOOP_TAG_IGNORE = 0, /* cancels, timeout updates: nothing to do */
	LOOP_TAG_RECV = 1,
	LOOP_TAG_SEND = 2,
	LOOP_TAG_TIMER = 3,   /* timerfd read (or poll) */
	LOOP_TAG_WAKE = 4,    /* eventfd read (or poll) */
	LOOP_TAG_TIMEOUT = 5, /* IORING_OP_TIMEOUT */
	LOOP_TAG_TXPOLL = 6,  /* io_uring: POLLOUT before writing a stream */
	LOOP_TAG_CONNECT = 7, /* POLLOUT of a socket in loop_add_connecting() */
	LOOP_TAG_ERRQ = 8,    /* io_uring: POLLERR, the error queue */
};

static inline uint64_t loop_tag_make(enum loop_tag tag, uint32_t idx,
				     uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint64_t)(idx & 0xffffff) << 8 |
	       (uint64_t)tag;
}

static inline enum loop_tag loop_tag_kind(uint64_t ud)
{
	return (enum loop_tag)(ud & 0xff);
}

static inline uint32_t loop_tag_idx(uint64_t ud)
{
	return (uint32_t)(ud >> 8) & 0xffffff;
}

static inline uint32_t loop_tag_gen(uint64_t ud)
{
	return (uint32_t)(ud >> 32);
}

/*
 * Control buffer per datagram: SCM_TIMESTAMPNS (CMSG_SPACE(16) = 32) and
 * room for one more small cmsg the owner may have enabled (e.g.
 * SCM_CREDENTIALS); anything beyond is cut (MSG_CTRUNC) without harm.
 */
#define LOOP_CMSG_LEN 64

/* What a slot holds. */
enum loop_slot_kind {
	LOOP_SLOT_SOCKET = 0,  /* loop_add_socket(): datagrams */
	LOOP_SLOT_STREAM = 1,  /* loop_add_stream(): bytes */
	LOOP_SLOT_CONNECT = 2, /* loop_add_connecting(): waits for POLLOUT */
};

/*
 * A preallocated send buffer (cfg.tx_slots of them, max_msg bytes each).
 * Datagram sends (io_uring) hold one while the kernel has it; a stream
 * keeps its unwritten sends in a FIFO of them, linked through next.
 */
struct loop_tx {
	struct loop_sock *sock; /* NULL when free */
	unsigned char *buf;
	size_t len;    /* bytes to send */
	size_t off;    /* stream: bytes the kernel took already */
	int next;      /* free list, or the stream's FIFO; -1 = end */
	bool inflight; /* io_uring: a request for it is in the kernel */
	uint32_t seq;  /* loop_send_seq()'s number of this send */
};

struct loop_sock {
	struct loop *loop;
	unsigned idx; /* slot index, also the io_uring buffer group id */
	uint32_t gen; /* bumped at each loop_add_socket() of this slot */
	int fd;
	int type; /* SO_TYPE: decides whether 0 bytes is EOF; 0 = no socket */
	enum loop_slot_kind kind;
	bool can_read;	/* stream: not O_WRONLY (receive is armed) */
	bool can_write; /* stream: not O_RDONLY */
	int tx_head;	/* stream: FIFO of unwritten struct loop_tx, -1 = */
	int tx_tail;	/* empty; the head is the one being written */
	loop_rx_fn fn;
	loop_connect_fn connect_fn; /* LOOP_SLOT_CONNECT */
	void *user_data;
	loop_released_fn released;
	void *released_data;
	/*
	 * Requests in the kernel that name this slot (receive, sends). The
	 * slot is released when it is closing and this drops to 0.
	 */
	unsigned inflight;
	bool used;
	bool closing;	 /* loop_remove_socket() called */
	bool rx_armed;	 /* a receive request is in the kernel */
	bool rx_stopped; /* EOF or fatal error: do not re-arm */
	bool errq_armed; /* io_uring: the POLLERR watch is in the kernel */
	int next;	 /* free list / release queue link, -1 = end */
	/*
	 * Transmit timestamps: tx_seq_next numbers loop_send_seq() calls
	 * the backend accepted; tx_key_next counts the sends that succeeded,
	 * which is the kernel's OPT_ID key of the next one; key_seq maps the
	 * last LOOP_TXKEY_RING keys to their seq (see loop_add_socket()).
	 */
	uint32_t tx_seq_next;
	uint32_t tx_key_next;
	uint32_t key_seq[LOOP_TXKEY_RING];
};

struct loop_ops {
	/* Free the backend (and, through loop_common_fini(), the loop). */
	void (*free)(struct loop *l);
	/* Arm receive on a new socket; may take an SQE. */
	int (*sock_arm)(struct loop *l, struct loop_sock *s);
	/* Start removal: cancel or unregister; inflight says when done. */
	void (*sock_cancel)(struct loop *l, struct loop_sock *s);
	/*
	 * Send len bytes (len <= max_msg, s not closing; on a stream
	 * 0 < len and s->can_write).
	 */
	int (*send)(struct loop *l, struct loop_sock *s, const void *buf,
		    size_t len);
	/* Wait for POLLOUT on a LOOP_SLOT_CONNECT slot. */
	int (*connect_arm)(struct loop *l, struct loop_sock *s);
	/*
	 * Forget a connect: after this nothing in flight can reach fn (the
	 * slot's generation is bumped when it is taken again) and the
	 * kernel holds no reference by fd number.
	 */
	void (*connect_cancel)(struct loop *l, struct loop_sock *s);
	/* Arm the timer to when_ns (abs. CLOCK_MONOTONIC); UINT64_MAX = off. */
	int (*timer_set)(struct loop *l, uint64_t when_ns);
	/* Wait (or not) and dispatch; returns completions handled. */
	int (*wait)(struct loop *l, bool block);
	/* Hand queued requests to the kernel; NULL when there is no queue. */
	int (*flush)(struct loop *l);
	/*
	 * Busy-poll: true when wait(l, false) has something to handle.
	 * Must not sleep; io_uring makes no syscall (reads the CQ ring),
	 * epoll keeps what epoll_wait(2) with timeout 0 returned for the
	 * wait that follows.
	 */
	bool (*ready)(struct loop *l);
};

struct loop {
	const struct loop_ops *ops;
	enum loop_backend backend; /* LOOP_IO_URING or LOOP_EPOLL */
	enum loop_rx_mode rx_mode;
	struct loop_config cfg;
	struct wheel *wheel; /* not owned */

	struct loop_sock *socks; /* cfg.max_sockets slots */
	int free_head;		 /* free slot list */
	int release_head;	 /* slots to release at the end of run_once */
	int release_tail;

	struct loop_tx *tx; /* cfg.tx_slots */
	unsigned char *tx_mem;
	int tx_free; /* free list of tx */

	int timer_fd;		 /* CLOCK_MONOTONIC, TFD_TIMER_ABSTIME */
	uint64_t timer_armed_ns; /* what the kernel holds, UINT64_MAX = off */
	bool timer_fired;	 /* a timer completion came in this round */

	int wake_fd; /* eventfd for loop_wake() */
	/* loop_set_expecting(): a loop_wake() is due, coalescing off. */
	bool expecting;
	/* Stream slots in use (loop_add_stream()): coalescing off. */
	unsigned n_streams;
	/* The backend can coalesce (io_uring with DEFER_TASKRUN). */
	bool can_coalesce;
	atomic_bool wake_pending;
	loop_wake_fn wake_fn;
	void *wake_data;
	atomic_bool stop;

	/* CLOCK_REALTIME - CLOCK_MONOTONIC (ns), sampled per dispatch. */
	int64_t realtime_offset_ns;
	/*
	 * CLOCK_MONOTONIC ns at which the completions now being handled
	 * were seen: read once per dispatch round (loop_clock_sample()),
	 * and again by io_uring for completions that came in while the
	 * round ran (loop_rx.seen_ns).
	 */
	uint64_t seen_ns;

	/* Control data of one recvmsg(MSG_ERRQUEUE): SCM_TIMESTAMPING (48
	 * bytes of data) and the extended error with an IPv6 offender
	 * address (16 + 28), each a cmsg. */
	union {
		unsigned char buf[256];
		struct cmsghdr align;
	} errq_cmsg;

	int fallback_err;
	char note[256];

	/* loop_hooks; now_fn is never NULL (rt_now_ns by default). */
	uint64_t (*now_fn)(void *user_data);
	void (*poll_hook)(struct loop *l, void *user_data);
	void *hook_data;
	/* The last iteration handled something: open a busy-poll window. */
	bool busy_next;

	/*
	 * NAPI (loop_napi_format()): the registration's outcome (0, or a
	 * negative errno; -EOPNOTSUPP when not built or not io_uring,
	 * -ENODATA when busy-poll is off) and what loop_add_socket() read:
	 * sockets with a NAPI id, without one, and the families of the
	 * latter (bit 0 AF_UNIX, 1 AF_BLUETOOTH, 2 IP, 3 other).
	 */
	int napi_err;
	unsigned napi_socks;
	unsigned no_napi_socks;
	unsigned no_napi_families;

	struct loop_counters counters;
};

/*
 * Single writer: a relaxed atomic store (GCC/Clang builtin on a plain
 * field) makes a concurrent snapshot well-defined at no cost on x86-64
 * and aarch64.
 */
#define LOOP_COUNT_ADD(l, field, n)                                            \
	__atomic_store_n(&(l)->counters.field, (l)->counters.field + (n),      \
			 __ATOMIC_RELAXED)
#define LOOP_COUNT(l, field) LOOP_COUNT_ADD(l, field, 1)

/*
 * Set up the common part inside a backend's struct: copies cfg, allocates
 * the socket slots and the tx buffers, creates the eventfd and (unless the
 * backend needs none) the timerfd. fd_flags are added to EFD_CLOEXEC /
 * TFD_CLOEXEC (the epoll backend wants O_NONBLOCK). On failure everything it
 * made is undone by loop_common_fini(), which the backend calls either way.
 */
int loop_common_init(struct loop *l, const struct loop_config *cfg,
		     struct wheel *w, bool want_timerfd, int fd_flags);
void loop_common_fini(struct loop *l);

/*
 * Whether c is a configuration loop_new() can build (loop_config.c): the
 * enums in range, the timer one the backend has, and the sizes and
 * times within the bounds loop.h gives. 0, or -EINVAL.
 */
int loop_config_check(const struct loop_config *c);

/* Backend constructors: 0 and *ret, or negative errno. */
int loop_uring_new(const struct loop_config *cfg, struct wheel *w,
		   struct loop **ret);
int loop_epoll_new(const struct loop_config *cfg, struct wheel *w,
		   struct loop **ret);

/* timerfd_settime(TFD_TIMER_ABSTIME) to when_ns, UINT64_MAX disarms. */
int loop_timerfd_set(struct loop *l, uint64_t when_ns);

/*
 * Sample CLOCK_REALTIME - CLOCK_MONOTONIC before a dispatch batch, and
 * take the instant as seen_ns: the backend calls it right after its wait
 * returned, after looking at what completed (io_uring_cq_ready(3)), so
 * everything it found was there by then.
 */
void loop_clock_sample(struct loop *l);

/*
 * If c is a receive timestamp (SCM_TIMESTAMPNS, also the y2038 _NEW
 * layout), store it as CLOCK_REALTIME ns and return true.
 */
bool loop_cmsg_ts(const struct cmsghdr *c, uint64_t *ret_realtime_ns);

/*
 * Hand a received datagram (or 0 bytes) to s's callback. flags are the
 * recvmsg msg_flags (MSG_TRUNC), realtime_ns 0 when no timestamp came.
 * Handles EOF (0 bytes on a connection-oriented socket): sets
 * rx_stopped and reports LOOP_EV_EOF once. Nothing is delivered to a
 * closing or stopped socket. Returns true when receive must stop.
 */
bool loop_deliver_data(struct loop *l, struct loop_sock *s, const void *data,
		       size_t len, int flags, uint64_t realtime_ns);

/*
 * Report a receive error (negative errno). Returns true, after setting
 * rx_stopped, when the error cannot clear (on a stream: any error).
 */
bool loop_deliver_rx_error(struct loop *l, struct loop_sock *s, int err);

/*
 * read(2) a ready stream until EAGAIN or rx_depth reads, each into buf
 * (max_msg bytes) and delivered; an error other than EAGAIN/EINTR is
 * delivered as LOOP_EV_RX_ERROR. Both backends' poll paths.
 */
void loop_stream_read(struct loop *l, struct loop_sock *s, void *buf);

/*
 * A datagram send numbered seq was accepted: it gets the kernel's next
 * OPT_ID key (loop_send_seq()). When it fails later (io_uring),
 * loop_tx_unsent() takes it out again: the kernel never gave it a key.
 */
void loop_tx_sent(struct loop *l, struct loop_sock *s, uint32_t seq);
void loop_tx_unsent(struct loop *l, struct loop_sock *s, uint32_t seq);

/*
 * Read s's error queue until it is empty or rx_depth entries were read,
 * delivering LOOP_EV_TX_STAMP / LOOP_EV_TX_ERROR. Returns the entries
 * read (0: the queue was empty).
 */
unsigned loop_errqueue_drain(struct loop *l, struct loop_sock *s);

/* Report a failed send to s's callback (unless it is closing). */
void loop_deliver_tx_error(struct loop *l, struct loop_sock *s, int err);

/* A free tx buffer (its index) or -1; loop_tx_put() gives it back. */
int loop_tx_get(struct loop *l);
void loop_tx_put(struct loop *l, int i);

/* Append tx buffer i to s's FIFO / take it out from wherever it is. */
void loop_tx_push(struct loop *l, struct loop_sock *s, int i);
void loop_tx_unlink(struct loop *l, struct loop_sock *s, int i);

/*
 * A LOOP_SLOT_CONNECT poll completed with res (poll revents, or a
 * negative errno): give the slot back, read SO_ERROR and call fn.
 */
void loop_connect_done(struct loop *l, struct loop_sock *s, int res);

/* A request naming s completed: release s when closing and idle. */
void loop_sock_put(struct loop *l, struct loop_sock *s);

/*
 * Run the released callbacks of the slots whose last request completed
 * (loop_run_once(), after the dispatch). The slot goes back to the free
 * list first, so that a callback may add a new socket at once.
 */
void loop_release_run(struct loop *l);

/* Slot i if it holds a socket of generation gen, else NULL. */
struct loop_sock *loop_sock_lookup(struct loop *l, uint32_t idx, uint32_t gen);

/* The timer completed: the kernel holds no armed value any more. */
void loop_timer_fired(struct loop *l);


/* The eventfd was read: clear the pending flag, run the wake callback. */
void loop_wake_fired(struct loop *l);

#endif
