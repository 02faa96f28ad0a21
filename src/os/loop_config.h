/* SPDX-License-Identifier: MIT */
#ifndef TTWS_OS_LOOP_CONFIG_H
#define TTWS_OS_LOOP_CONFIG_H

/*
 * The event loop's configuration (os/loop.h): backends, timers and the
 * struct loop_new() takes, with their names for the configuration file
 * and the reports. Implemented in loop_config.c; no syscalls.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum loop_backend {
	LOOP_AUTO = 0,	   /* io_uring, else epoll (reason in the note) */
	LOOP_IO_URING = 1, /* io_uring or fail */
	LOOP_EPOLL = 2,
};

/*
 * What wakes the loop for the wheel's next deadline. Both arm an absolute
 * CLOCK_MONOTONIC instant, so neither accumulates drift.
 */
enum loop_timer {
	/* One timerfd (TFD_TIMER_ABSTIME); both backends. */
	LOOP_TIMER_TIMERFD = 0,
	/*
	 * IORING_OP_TIMEOUT with IORING_TIMEOUT_ABS (io_uring_prep_timeout(3)),
	 * updated in place with io_uring_prep_timeout_update(3): no timerfd
	 * syscall per deadline. io_uring backend only (-EINVAL with
	 * LOOP_EPOLL; LOOP_AUTO falling back to epoll uses the timerfd).
	 */
	LOOP_TIMER_URING_TIMEOUT = 1,
	/*
	 * The wait's own timeout: io_uring_enter(2) with IORING_ENTER_EXT_ARG
	 * and IORING_ENTER_ABS_TIMER (kernel 6.12; a relative timeout
	 * computed from one clock read on older kernels). The expiry wakes
	 * the sleeping thread straight from the hrtimer, as
	 * clock_nanosleep(2) does for cyclictest, with no timer file, no
	 * request and no syscall to re-arm: one syscall per wake-up.
	 * ttwsd's timer whenever it coalesces receives (rx_defer_ns; the
	 * loop's default is the timerfd, loop_config.c says why). The
	 * epoll backend, which has no such wait, uses the timerfd instead.
	 */
	LOOP_TIMER_URING_WAIT = 2,
};

/* "timerfd", "uring-timeout", "uring-wait" -> *ret; -EINVAL otherwise. */
int loop_timer_from_string(const char *s, enum loop_timer *ret);

/* The names above; "unknown" for a value out of range. */
const char *loop_timer_name(enum loop_timer t);

struct loop_config {
	enum loop_backend backend;
	enum loop_timer timer;
	unsigned max_sockets; /* socket slots, 1..1024 */
	size_t max_msg;	      /* bytes per datagram, rx and tx, 1..65536 */
	/*
	 * Receive buffers per socket, 1..32768 (rounded up to a power of two
	 * on io_uring, where it is the provided-buffer ring size). A burst
	 * larger than this is not lost: the datagrams wait in the socket's
	 * receive queue until buffers come back (counted as rx_nobufs).
	 */
	unsigned rx_depth;
	unsigned tx_slots; /* sends in flight, shared by all sockets, 1..4096 */
	/*
	 * Wake this long before a hard deadline and spin on the clock for
	 * the rest (rt_spin_until()), to hide the wake-up latency of the
	 * kernel. 0 = off. At most 10 ms (a longer spin starves the CPU).
	 */
	uint64_t spin_guard_ns;
	/*
	 * Busy-poll window, ns; 0 = off (sleep at once). After an iteration
	 * that handled something, keep looking at the completion queue for
	 * up to this long before sleeping: io_uring reads the CQ ring in
	 * memory (io_uring_cq_ready(3), no syscall), epoll calls
	 * epoll_wait(2) with timeout 0. A completion found is handled at
	 * once, without the wake-up latency of the kernel; the window
	 * never reaches past the timer's next wake-up minus
	 * LOOP_BUSY_POLL_MARGIN_NS (a hard deadline minus the spin guard).
	 * Costs CPU: up to the window per wake-up. At most 1 ms.
	 */
	uint64_t busy_poll_ns;
	/*
	 * Receive coalescing, ns; 0 = off. io_uring with timer
	 * LOOP_TIMER_URING_WAIT only (loop_new() refuses it elsewhere).
	 * While the next timer is at most this far away, completions do
	 * not wake the thread one by one: the ring is set up with
	 * IORING_SETUP_DEFER_TASKRUN (6.1) and the wait asks for more
	 * completions than come before its deadline, so they are all
	 * handled at that timer, in one wake-up. Safe for datagram
	 * sockets, whose receive instant is the kernel's timestamp
	 * (SO_TIMESTAMPNS, set by loop_add_socket()), not the handling
	 * instant; a stream (loop_add_stream(): a tty has no timestamp) or
	 * loop_set_expecting() turns it off for the wait. The delay it adds
	 * to a completion is at most this window; a frame tick every 10 ms
	 * bounds it at 10 ms. At most 100 ms. Each wake-up costs tens of us
	 * of CPU on a VM (context switch, syscall, timer), which is what
	 * this saves.
	 */
	uint64_t rx_defer_ns;
	/*
	 * io_uring: use single-shot recvmsg even where multishot works.
	 * For benchmarks and tests of that path; false in production.
	 */
	bool uring_singleshot;
	/*
	 * io_uring: treat every stream (loop_add_stream()) as if its first
	 * IORING_OP_READ had completed with -EAGAIN: receive with
	 * IORING_OP_POLL_ADD(POLLIN) then read(2), and wait for POLLOUT
	 * (IORING_OP_POLL_ADD) before each batch of writes, as after a WRITE
	 * that said -EAGAIN. For tests of that path; false in production.
	 * Ignored by epoll.
	 */
	bool uring_stream_poll;
};

/* Busy-polling stops this long before the timer's next wake-up. */
#define LOOP_BUSY_POLL_MARGIN_NS (5 * 1000ull)
#define LOOP_BUSY_POLL_MAX_NS (1000 * 1000ull)
#define LOOP_RX_DEFER_MAX_NS (100 * 1000 * 1000ull)

/*
 * auto, timerfd, 8 sockets, 2048 bytes, rx_depth 64, 64 tx slots, guard 0,
 * busy-poll 0, no receive coalescing, multishot where the kernel has it.
 */
void loop_config_default(struct loop_config *ret);

/* "auto", "io_uring", "epoll" -> *ret. -EINVAL for anything else. */
int loop_backend_from_string(const char *s, enum loop_backend *ret);

/* "auto", "io_uring", "epoll"; "unknown" for a value out of range. */
const char *loop_backend_name(enum loop_backend b);

#endif
