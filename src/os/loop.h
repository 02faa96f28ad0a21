/* SPDX-License-Identifier: MIT */
#ifndef TTWS_OS_LOOP_H
#define TTWS_OS_LOOP_H

/*
 * The RT thread's event loop: link sockets (receive with kernel
 * timestamps, send), one timer driving a core/wheel, and a cross-thread
 * wake-up (DESIGN.md, "Threads and the hot path", "Transports").
 *
 * Two backends behind one interface: io_uring (liburing) and an epoll
 * fallback chosen at start-up when io_uring is unavailable, e.g. blocked
 * by a seccomp profile.
 *
 * Every byte the loop uses is allocated by loop_new(): socket slots,
 * receive buffers, send buffers, the io_uring rings. After that no
 * function here allocates, takes a lock or logs; the only call that
 * blocks is the wait inside loop_run_once(block = true) and loop_run().
 * Errors are returned as negative errno; the daemon logs them.
 *
 * Threading: one loop belongs to one thread (the "loop thread"). Every
 * function must be called from it, except loop_wake(), loop_stop() and
 * loop_get_counters(), which any thread may call. Callbacks run in the
 * loop thread, from inside loop_run_once(); they may call any loop_*
 * function except loop_run_once(), loop_run() and loop_free().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/txstamp.h"
#include "os/loop_config.h"
#include "os/sockopt.h"

struct wheel;
struct loop;
struct loop_sock;

/*
 * Create a loop. w is driven by the loop (wheel_next_deadline(),
 * wheel_expire() with CLOCK_MONOTONIC ns) and is not owned: it must
 * outlive the loop, and only the loop thread may touch it.
 *
 * With LOOP_AUTO a failing io_uring set-up (io_uring_queue_init(3):
 * EPERM or ENOSYS under seccomp, EPERM with kernel.io_uring_disabled,
 * ENOMEM under RLIMIT_MEMLOCK on old kernels) falls back to epoll and
 * the reason is kept: see loop_fallback_err() and loop_backend_note().
 *
 * Errors (*ret untouched): -EINVAL for a configuration out of range or
 * LOOP_TIMER_URING_TIMEOUT with LOOP_EPOLL; -ENOMEM; with LOOP_IO_URING
 * the io_uring error itself (e.g. -EPERM); any error of eventfd(2),
 * timerfd_create(2) or epoll_create1(2).
 */
int loop_new(const struct loop_config *cfg, struct wheel *w, struct loop **ret);

/*
 * Free the loop, its buffers and its own fds (ring, timerfd, eventfd,
 * epoll). Sockets still added are forgotten without callbacks: once this
 * returns the kernel holds no reference from the loop to their fds and
 * the caller may close them. NULL is fine. Returns NULL.
 */
struct loop *loop_free(struct loop *l);

/* The backend in use: LOOP_IO_URING or LOOP_EPOLL, never LOOP_AUTO. */
enum loop_backend loop_backend(const struct loop *l);

/*
 * Why LOOP_AUTO is not on io_uring: the negative errno of the failed
 * set-up, or 0 when io_uring is in use or epoll was asked for.
 */
int loop_fallback_err(const struct loop *l);

/*
 * One line for status, owned by the loop: e.g. "io_uring, multishot
 * recvmsg with provided buffers, timerfd" or "io_uring unavailable
 * (Operation not permitted), using epoll".
 */
const char *loop_backend_note(const struct loop *l);

/* How datagrams are received; fixed at loop_new(). */
enum loop_rx_mode {
	/* IORING_OP_RECVMSG with IORING_RECV_MULTISHOT and a provided-buffer
	 * ring per socket (io_uring_prep_recvmsg_multishot(3), kernel 6.0). */
	LOOP_RX_URING_MULTISHOT = 0,
	/* One IORING_OP_RECVMSG per socket, re-armed after each completion:
	 * kernels or liburing without multishot recvmsg. */
	LOOP_RX_URING_SINGLESHOT = 1,
	/* EPOLLIN, then recvmsg(MSG_DONTWAIT) until EAGAIN or rx_depth. */
	LOOP_RX_EPOLL = 2,
};

enum loop_rx_mode loop_rx_mode(const struct loop *l);
const char *loop_rx_mode_name(enum loop_rx_mode m);

/* What a socket callback is told. */
enum loop_event {
	/*
	 * A datagram; err is 0 or -EMSGSIZE. On a stream the bytes that
	 * arrived (see loop_add_stream()); err is 0.
	 */
	LOOP_EV_DATA = 0,
	LOOP_EV_EOF = 1,      /* peer closed: err = -ECONNRESET */
	LOOP_EV_RX_ERROR = 2, /* receive failed with err */
	LOOP_EV_TX_ERROR = 3, /* a send queued by loop_send() failed (err) */
	/*
	 * A transmit timestamp from the socket's error queue (datagram
	 * sockets): the send numbered tx_seq (loop_send_seq()) reached the
	 * point tx_kind says at kernel_ts_ns. See loop_add_socket().
	 */
	LOOP_EV_TX_STAMP = 4,
};

struct loop_rx {
	enum loop_event ev;
	/*
	 * 0, or a negative errno: -EMSGSIZE with LOOP_EV_DATA when the
	 * datagram was longer than max_msg (data holds its first max_msg
	 * bytes, the rest is gone: MSG_TRUNC), -ECONNRESET with
	 * LOOP_EV_EOF.
	 */
	int err;
	/*
	 * Receive is no longer armed: no LOOP_EV_DATA will follow for this
	 * socket. True with LOOP_EV_EOF and with errors that cannot clear
	 * (-EBADF, -ENOTSOCK, -EINVAL, -EFAULT, -EOPNOTSUPP, -ENOTCONN,
	 * and -EBUSY when the loop could not queue the next receive);
	 * transient errors (e.g. -ECONNREFUSED on UDP) keep receiving.
	 * On a stream every receive error stops it (loop_add_stream()).
	 * The owner should loop_remove_socket().
	 */
	bool rx_stopped;
	/* Payload, owned by the loop, valid only during the callback. */
	const void *data;
	size_t len; /* bytes at data */
	/*
	 * The kernel's receive timestamp (SO_TIMESTAMPNS), converted from
	 * CLOCK_REALTIME to CLOCK_MONOTONIC ns by subtracting realtime -
	 * monotonic, read once per batch of completions as they are handled
	 * (a realtime read between two monotonic reads, paired with their
	 * midpoint: offset error at most half their spacing, tens of ns).
	 * What is left: a step of CLOCK_REALTIME
	 * (settimeofday) between reception and handling shifts the result by
	 * the step, and an NTP slew by at most 500 ppm of the delay (25 ns
	 * for 50 us). Clamped to user_ts_ns so the order kernel <= user
	 * holds. 0 and has_kernel_ts = false when the datagram came without
	 * a timestamp cmsg.
	 */
	uint64_t kernel_ts_ns;
	bool has_kernel_ts;
	/*
	 * CLOCK_MONOTONIC ns at which the loop saw this completion: the
	 * first clock read after the wait returned with it. io_uring: the
	 * read that follows the look at the completion queue which found
	 * it (one per round, and one more for each group of completions
	 * posted while the round's callbacks ran); epoll: epoll_wait(2)'s
	 * return. A datagram stamped later than that (read in the same
	 * round, after it came in) takes its kernel_ts_ns instead, so the
	 * order kernel_ts_ns <= seen_ns <= user_ts_ns always holds. For a
	 * stream read with read(2) after readiness (epoll, or io_uring's
	 * poll fallback) it is the readiness instant, which bytes that came
	 * in between then and the read are dated to as well. Latency
	 * layers: kernel_ts_ns -> seen_ns is the wake-up (kernel and
	 * scheduler), seen_ns -> user_ts_ns the wait behind the callbacks
	 * before this one in the round.
	 */
	uint64_t seen_ns;
	/*
	 * CLOCK_MONOTONIC ns read when the loop handled this completion,
	 * right before the callback: the handler's start. How long the
	 * callbacks run goes into loop_counters.rx_handler_ns.
	 */
	uint64_t user_ts_ns;
	/* LOOP_EV_TX_STAMP: which send (loop_send_seq()) and which instant;
	 * the instant is in kernel_ts_ns (has_kernel_ts true), converted as
	 * above. */
	uint32_t tx_seq;
	enum txstamp_kind tx_kind;
};

/*
 * Socket callback: s and user_data as given to loop_add_socket(). Runs in
 * the loop thread; may call loop_send() and loop_remove_socket() (also
 * on s itself).
 */
typedef void (*loop_rx_fn)(struct loop *l, struct loop_sock *s,
			   const struct loop_rx *rx, void *user_data);

/*
 * Called once the kernel holds no reference to the socket's fd through
 * the loop and its slot is free again; from here on the caller may close
 * fd. Runs in the loop thread from loop_run_once() (never from inside
 * loop_remove_socket()).
 */
typedef void (*loop_released_fn)(struct loop *l, int fd, void *user_data);

/*
 * Add a connected datagram-style socket (SOCK_SEQPACKET, SOCK_DGRAM) to
 * the loop: takes a preallocated slot, enables SO_TIMESTAMPNS on fd and
 * arms receive (see loop_rx_mode()). A zero-length read is EOF on
 * SOCK_SEQPACKET and SOCK_STREAM and an empty datagram on SOCK_DGRAM.
 *
 * The fd stays the caller's: the loop never closes it. The caller must
 * not close it before the socket is released (loop_released_fn), or
 * before loop_free().
 *
 * Error queue. The loop also watches the socket's error queue
 * (IORING_OP_POLL_ADD(POLLERR), re-armed after each drain; epoll reports
 * EPOLLERR anyway) and reads it with recvmsg(MSG_ERRQUEUE) (at most
 * rx_depth reports per wake): a socket whose owner enabled SO_TIMESTAMPING
 * transmit reports would otherwise fill it, and on epoll wake the loop
 * forever. Each report (core/txstamp) becomes a LOOP_EV_TX_STAMP naming
 * the send it belongs to: the kernel numbers a socket's sends from 0
 * (SOF_TIMESTAMPING_OPT_ID, which must be set before the first send), the
 * loop maps that key back to loop_send_seq()'s number for the last
 * LOOP_TXKEY_RING sends, in the order they were handed over, taking a
 * send that fails later (io_uring) out again; this is the kernel's order
 * on an O_NONBLOCK socket, where sends are tried at once and fail rather
 * than wait (on a blocking one, io_uring retries a full socket's sends
 * in the order they wait); reports for older sends are
 * counted in tx_stamps_unmatched and dropped. Another queued error (an
 * ICMP error on UDP with IP_RECVERR) is a LOOP_EV_TX_ERROR. A POLLERR that
 * finds the queue empty is a socket error for receive to report: the
 * watch is not re-armed (io_uring; counted in errqueue_stopped).
 *
 * Errors (*ret untouched): -ENOSPC when all max_sockets slots are taken
 * (also by sockets removed but not yet released), -EBADF, -ENOTSOCK, any
 * error of setsockopt(SO_TIMESTAMPNS), epoll_ctl(2) or of queueing the
 * receive (-EBUSY: submission queue full).
 */
int loop_add_socket(struct loop *l, int fd, loop_rx_fn fn, void *user_data,
		    struct loop_sock **ret);

/*
 * Add a byte stream: a tty or pty (a serial HCI dongle), a pipe, a
 * connected SOCK_STREAM socket. It takes one of the max_sockets slots,
 * like a socket, and everything said of sockets holds for it: the fd
 * stays the caller's and may be closed once released (loop_remove_socket()
 * with a loop_released_fn) or after loop_free(); loop_sock_fd() gives it.
 *
 * fd must be O_NONBLOCK: the epoll backend and the poll fallback below
 * read(2) and write(2) it from the loop thread, which must not block. A
 * tty should be raw (cfmakeraw(3)) with VMIN=1 VTIME=0, and opened
 * O_NOCTTY. An O_WRONLY fd (the write end of a pipe) only sends: receive
 * is not armed. An O_RDONLY fd only receives: loop_send() says -EBADF.
 *
 * Receive: each LOOP_EV_DATA carries the bytes that arrived, at most
 * max_msg, in order; where one call ends says nothing about the sender's
 * writes (a framer, e.g. core/h4, reassembles). user_ts_ns is set;
 * has_kernel_ts is false (a tty has no receive timestamp; the chunk
 * counts in rx and rx_no_kernel_ts). io_uring: one IORING_OP_READ per
 * stream, re-armed after each completion, into a buffer of the slot's
 * provided-buffer ring (IOSQE_BUFFER_SELECT; LOOP_RX_URING_MULTISHOT)
 * or the slot's own buffer (single-shot). A READ of an O_NONBLOCK file
 * the kernel cannot wait on (the file lacks FMODE_NOWAIT: ttys on
 * some kernels; 6.18 waits) completes with -EAGAIN at once; the stream then
 * switches for good to IORING_OP_POLL_ADD(POLLIN) followed by read(2) until
 * EAGAIN or rx_depth chunks (counted in stream_poll). epoll: level-triggered
 * EPOLLIN, then read(2) until EAGAIN or rx_depth chunks.
 *
 * End of a stream, always with rx_stopped:
 *  - 0 bytes: LOOP_EV_EOF (err -ECONNRESET). The writer of a pipe
 *    closed, the peer of a socket shut down, or a tty was hung up: a pty
 *    slave whose master was closed reads 0 (the kernel hangs it up with
 *    tty_vhangup(); input not read yet is discarded), and so does the
 *    tty of an unplugged USB-serial dongle once usb-serial has hung it
 *    up.
 *  - any read error: LOOP_EV_RX_ERROR. -EIO: a pty master whose slave
 *    was closed, or a read that raced the hangup of an unplugged
 *    USB-serial dongle (TTY_IO_ERROR); -ENODEV / -ENXIO: a device that
 *    went away under its driver; -EBADF. A byte stream that failed has
 *    lost its place, so no error is treated as transient.
 *  After a hangup writes fail with -EIO (LOOP_EV_TX_ERROR or returned),
 *  and reopening a vanished dongle fails with -ENODEV or -ENXIO.
 *
 * Send: see loop_send().
 *
 * Errors (*ret untouched): -EINVAL (also: fd not O_NONBLOCK), -EBADF,
 * -ENOSPC (no free slot), -EPROTOTYPE for a socket that is not
 * SOCK_STREAM (use loop_add_socket()), any error of epoll_ctl(2) (-EPERM:
 * the file cannot be polled) or of queueing the read (-EBUSY).
 */
int loop_add_stream(struct loop *l, int fd, loop_rx_fn fn, void *user_data,
		    struct loop_sock **ret);

/*
 * Result of loop_add_connecting(): err is 0 (connected) or the socket's
 * negative errno (SO_ERROR: -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH, ...;
 * -ENOTCONN if the poll reported an error or hang-up but SO_ERROR held
 * none). Runs once, in the loop thread, from loop_run_once(). By then the
 * slot is free again and the loop holds no reference to fd: fn may close
 * fd, or hand it to loop_add_socket() / loop_add_stream() (which may take
 * the very slot the connect used).
 */
typedef void (*loop_connect_fn)(struct loop *l, int fd, int err,
				void *user_data);

/*
 * Wait, without blocking, for the asynchronous connect(2) of a
 * non-blocking socket (it returned -EINPROGRESS; BlueZ L2CAP and TCP do):
 * IORING_OP_POLL_ADD(POLLOUT) / one-shot EPOLLOUT, then SO_ERROR, then fn.
 * Also fine after a connect that succeeded at once (AF_UNIX does): fn
 * then runs with 0 in the next iteration. fd is not added for receive:
 * call loop_add_socket() or loop_add_stream() from fn. There is no
 * timeout: run a wheel timer and call loop_cancel_connecting() from it.
 *
 * fd stays the caller's and takes one of the max_sockets slots until fn
 * runs or the connect is cancelled. Between this call and then, fd must
 * not be closed (the result would be lost and the slot with it).
 *
 * Errors: -EINVAL, -EBADF, -ENOTSOCK, -EEXIST (a connect of fd is
 * already waited for), -ENOSPC (no free slot), -EBUSY (submission queue
 * full), any error of epoll_ctl(2).
 */
int loop_add_connecting(struct loop *l, int fd, loop_connect_fn fn,
			void *user_data);

/*
 * Stop waiting for fd's connect. When this returns 0, fn will never run,
 * the slot is free (another loop_add_* may take it at once) and fd may be
 * closed at once, also from inside a callback.
 *
 * When the socket then goes away (connection attempt aborted, bound port
 * or PSM free): epoll drops its registration inside this call, so at
 * close(fd). io_uring: a poll not yet submitted is turned into a no-op,
 * so at close(fd) too; a poll the kernel has taken holds a reference to
 * the socket itself (not to the fd number, which may be reused at once),
 * dropped when the cancel queued by this call is submitted: by the end of
 * the current loop_run_once(), or of the next one when called from
 * outside the loop's callbacks. A socket closed right after this call is
 * torn down when that loop_run_once() returns. The caller must not close
 * fd before this call.
 *
 * Errors: -EINVAL; -ENOENT when no connect of fd is waited for (fn has
 * run already, or it was cancelled).
 */
int loop_cancel_connecting(struct loop *l, int fd);

/*
 * Stop receiving and sending on s and give the slot back. No callback of
 * s runs after this returns, except released (may be NULL), which runs
 * once later, when in-flight receives and sends are cancelled or
 * completed (io_uring: IORING_OP_ASYNC_CANCEL, io_uring_prep_cancel(3)).
 * Safe from inside s's own callback. s must not be used afterwards.
 * Errors: -EALREADY when s is already being removed.
 */
int loop_remove_socket(struct loop *l, struct loop_sock *s,
		       loop_released_fn released, void *user_data);

/* The fd given to loop_add_socket(). */
int loop_sock_fd(const struct loop_sock *s);

/*
 * Send one datagram: buf is copied into a preallocated tx slot, so it is
 * free again on return.
 *
 * io_uring: IORING_OP_SEND (MSG_NOSIGNAL), submitted at the end of the
 * current loop iteration, or at the next one when called from outside a
 * callback; the completion frees the slot; a failure is delivered to s's
 * callback as LOOP_EV_TX_ERROR.
 * epoll: send(MSG_DONTWAIT | MSG_NOSIGNAL) now; a failure is returned.
 *
 * On a stream (loop_add_stream()) buf is one packet: it goes to the
 * kernel whole in ONE write, because some HCI controllers and emulators
 * misparse a header split across writes (DESIGN.md, "Transports"), and
 * sends on one stream are written strictly in the order of the calls.
 * When the kernel takes only a prefix (a short write), the loop writes
 * the rest next, before any later send of that stream; so a packet is
 * split across writes only after the kernel accepted a prefix of it,
 * which a real tty does only when its output buffer is full (and a pipe
 * only for packets over PIPE_BUF). Sends wait in a FIFO of tx slots until
 * written; a stream that cannot take more data (POLLOUT) holds them.
 * io_uring: the waiting sends go out at the end of the iteration as one
 * chain of IORING_OP_WRITE (IORING_OP_SEND with MSG_NOSIGNAL |
 * MSG_WAITALL on a socket) linked with IOSQE_IO_LINK, so the kernel
 * starts each only after the previous one completed in full (unlinked
 * WRITEs on one file may complete out of order); a short write breaks
 * the chain (-ECANCELED for the rest, which the loop sends again after
 * the remainder), and no new chain starts while one is in flight. A
 * WRITE that says -EAGAIN (a file without FMODE_NOWAIT) waits for
 * IORING_OP_POLL_ADD(POLLOUT) before the next chain. Failures are
 * delivered as LOOP_EV_TX_ERROR, one per send, and that send is dropped.
 * epoll: when nothing waits, write(2) (send(2) with MSG_DONTWAIT |
 * MSG_NOSIGNAL on a socket) now: the kernel's error is returned; on
 * -EAGAIN or a short write the send (or its rest) waits for EPOLLOUT and
 * later failures are delivered as LOOP_EV_TX_ERROR. Writing a pipe
 * whose reader is gone raises SIGPIPE, as write(2) does (ttwsd ignores
 * it); sockets do not (MSG_NOSIGNAL).
 *
 * Errors: -EMSGSIZE when len > max_msg; -EAGAIN when no tx slot is free
 * (io_uring, and epoll streams) or the socket buffer is full (epoll
 * datagrams); -ESHUTDOWN when s is being removed; on epoll any error of
 * send(2) (write(2) on a stream). Streams: -EBADF for an O_RDONLY fd;
 * len 0 sends nothing and returns 0.
 */
int loop_send(struct loop *l, struct loop_sock *s, const void *buf, size_t len);

/*
 * loop_send(), and on success the send's number in *ret_seq (may be
 * NULL): a datagram socket's accepted sends are numbered from 0 after
 * loop_add_socket(), and LOOP_EV_TX_STAMP names them by it. Streams are
 * numbered too but get no stamps.
 */
int loop_send_seq(struct loop *l, struct loop_sock *s, const void *buf,
		  size_t len, uint32_t *ret_seq);

/* Sends remembered for matching transmit timestamps (per socket). */
#define LOOP_TXKEY_RING 32u

/*
 * Callback for loop_wake(): runs in the loop thread, at least once after
 * every loop_wake() call (several calls may share one run).
 */
typedef void (*loop_wake_fn)(struct loop *l, void *user_data);

/* Set (or with NULL clear) the wake callback. Loop thread only. */
void loop_set_wake_fn(struct loop *l, loop_wake_fn fn, void *user_data);

/*
 * Wake the loop from any thread: lock-free, async-signal-safe, never
 * blocks (an eventfd write, skipped while a wake is already pending).
 * Returns 0 or the negative errno of write(2).
 */
int loop_wake(struct loop *l);

/*
 * One iteration: arm the timer to the wheel's next deadline (minus the
 * spin guard when it is hard), wait for completions if block (returns at
 * once when something is due), dispatch socket, wake and timer events,
 * spin up to the guard for a hard deadline, run wheel_expire(), call
 * released callbacks and submit queued sends.
 *
 * Returns the number of events handled (completions plus expired
 * timers; 0 when a signal interrupted the wait) or a negative errno of
 * the wait itself (io_uring_submit_and_wait(3), epoll_wait(2)).
 */
int loop_run_once(struct loop *l, bool block);

/*
 * loop_run_once(l, true) until loop_stop(). Returns 0 after loop_stop(),
 * or the first error of loop_run_once(). The stop request is consumed.
 */
int loop_run(struct loop *l);

/* Make loop_run() return; any thread (sets a flag, then loop_wake()). */
void loop_stop(struct loop *l);

/*
 * Counters since loop_new(). Written only by the loop thread, each with a
 * relaxed atomic store, so another thread may take a snapshot: every
 * field is a value it had, the fields need not be from the same instant.
 */
struct loop_counters {
	uint64_t wakeups;	  /* returns from the wait with events */
	uint64_t timer_fires;	  /* timer completions; uring-wait: waits
				   * that ended at or after their deadline */
	uint64_t timer_rearms;	  /* timerfd_settime() / timeout updates */
	uint64_t timers_expired;  /* wheel callbacks run */
	uint64_t spins;		  /* hard deadlines spun for */
	uint64_t spin_ns;	  /* total ns spent spinning */
	uint64_t rx;		  /* datagrams (stream chunks) delivered */
	uint64_t rx_no_kernel_ts; /* of which without a kernel timestamp */
	uint64_t rx_truncated;	  /* of which cut at max_msg */
	uint64_t rx_errors;	  /* LOOP_EV_RX_ERROR delivered */
	uint64_t rx_rearms;	  /* receive requests re-armed */
	uint64_t rx_nobufs;   /* io_uring: buffer ring ran empty (ENOBUFS) */
	uint64_t cq_overflow; /* io_uring: completions the CQ overflowed */
	uint64_t tx;	      /* datagrams sent */
	uint64_t tx_errors;   /* sends failed (returned or delivered) */
	uint64_t tx_no_slot;  /* loop_send() -EAGAIN: no slot / buffer full */
	uint64_t wakes;	      /* wake callbacks run */
	uint64_t tx_short;    /* stream writes the kernel took only part of */
	uint64_t stream_poll; /* io_uring: streams on POLL_ADD + read(2) */
	uint64_t connects;    /* connect results delivered (loop_connect_fn) */
	uint64_t tx_stamps;   /* LOOP_EV_TX_STAMP delivered */
	uint64_t tx_stamps_unmatched; /* reports for sends no longer known */
	uint64_t errqueue_errors; /* other or malformed error-queue entries */
	uint64_t errqueue_stopped; /* io_uring: POLLERR, queue empty: unwatched */
	/*
	 * Time in LOOP_EV_DATA callbacks (user_ts_ns to their return, one
	 * clock read after each), in total and the longest, ns.
	 */
	uint64_t rx_handler_ns;
	uint64_t rx_handler_max_ns;
	/*
	 * Busy-poll (loop_config.busy_poll_ns): blocking waits entered (the
	 * thread may sleep there), poll windows opened, windows that found
	 * a completion (handled without sleeping), and ns spent polling in
	 * the windows that found none.
	 */
	uint64_t sleeps;
	uint64_t busy_polls;
	uint64_t busy_poll_hits;
	uint64_t busy_poll_ns;
	/*
	 * Receive coalescing (loop_config.rx_defer_ns): blocking waits
	 * that let completions gather until their deadline.
	 */
	uint64_t coalesced_waits;
};

/*
 * NAPI busy polling, as it stands, in one line for status: e.g. "napi:
 * unavailable (liburing 2.3 has no io_uring_register_napi(3); 2 sockets
 * without a NAPI id: AF_UNIX)". io_uring NAPI polling (liburing 2.6,
 * kernel 6.9) polls the device queues of the ring's sockets while it
 * waits, and is registered by loop_new() when busy_poll_ns > 0 and
 * liburing has it (HAVE_IO_URING_NAPI). It only helps sockets the kernel
 * gave a NAPI id (SO_INCOMING_NAPI_ID, read by loop_add_socket(); IP
 * sockets after their first packet from a NAPI device); AF_UNIX and
 * Bluetooth sockets never have one, so on them "busy-poll" is the
 * loop's own completion-queue polling (loop_config.busy_poll_ns) and
 * nothing else. Returns the length, -ENOBUFS (buf holds a truncated
 * prefix) or -EINVAL.
 */
int loop_napi_format(const struct loop *l, char *buf, size_t size);

/*
 * Test hooks (unit tests only; NULL fields = the defaults): now_ns
 * replaces CLOCK_MONOTONIC in loop_run_once()'s deadline and busy-poll
 * arithmetic (not in the receive timestamps nor the spin guard), and
 * busy_poll runs once per look at the completion queue inside a
 * busy-poll window, before the look. Loop thread; h is copied.
 */
/*
 * The owner waits for a loop_wake() soon (PipeWire's quantum after a
 * trigger): the waits end at the first completion, receive coalescing
 * (loop_config.rx_defer_ns) off, until called with false. The loop
 * thread only.
 */
void loop_set_expecting(struct loop *l, bool on);

struct loop_hooks {
	uint64_t (*now_ns)(void *user_data);
	void (*busy_poll)(struct loop *l, void *user_data);
	void *user_data;
};

void loop_set_hooks(struct loop *l, const struct loop_hooks *h);

/* Copy the counters into *ret. Any thread. */
void loop_get_counters(const struct loop *l, struct loop_counters *ret);

/* Zero every counter (a statistics reset). The loop thread only. */
void loop_reset_counters(struct loop *l);

#endif
