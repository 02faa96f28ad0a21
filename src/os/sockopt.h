/* SPDX-License-Identifier: MIT */
#ifndef TTWS_OS_SOCKOPT_H
#define TTWS_OS_SOCKOPT_H

/*
 * Latency socket options of a link socket, applied and then read back,
 * with a per-option report instead of a failure: what the kernel, the
 * socket family or our privileges refuse is status, not a reason to stop
 * (DESIGN.md, "Transports", "Real-time placement"). Nothing here logs.
 */

#include <stdbool.h>
#include <stddef.h>

struct io_uring;

struct sockopt_config {
	/*
	 * SO_BUSY_POLL, us of busy polling on a blocking receive. socket(7)
	 * says raising it above the socket's current value (net.core.
	 * busy_read at creation) needs CAP_NET_ADMIN, and older kernels
	 * answer -EPERM; 6.18 (measured here) accepts it unprivileged.
	 * -ENOPROTOOPT without CONFIG_NET_RX_BUSY_POLL. Negative = leave.
	 */
	int busy_poll_us;
	/*
	 * SO_PRIORITY, 0..6 without privileges; higher needs CAP_NET_ADMIN
	 * or CAP_NET_RAW: socket(7). Negative = leave alone.
	 */
	int priority;
	/* SO_RCVLOWAT, bytes (the kernel stores 0 as 1). Negative = leave. */
	int rcvlowat;
	/* Enable SO_TIMESTAMPNS; false = leave alone (never disables). */
	bool timestamps;
};

/* Everything left alone. */
void sockopt_config_default(struct sockopt_config *ret);

/* One option: what was asked, what setsockopt said, what reads back. */
struct sockopt_result {
	bool requested;
	int value;	  /* as asked (timestamps: 1) */
	int err;	  /* 0 or negative errno of setsockopt(2) */
	int readback;	  /* getsockopt(2) afterwards, when readback_err == 0 */
	int readback_err; /* 0 or negative errno of getsockopt(2) */
	bool ok;	  /* requested, err == 0 and readback as expected */
};

struct sockopt_report {
	struct sockopt_result busy_poll;
	struct sockopt_result priority;
	struct sockopt_result rcvlowat;
	struct sockopt_result timestamps;
};

/*
 * Apply cfg to the socket fd, then read every option back, requested or
 * not (the report then shows the socket's state). Returns 0 even when
 * options failed: *ret says which and why. Errors (ret untouched):
 * -EINVAL for NULL or fd < 0; -EBADF / -ENOTSOCK when fd is not a
 * socket.
 */
int sockopt_apply(int fd, const struct sockopt_config *cfg,
		  struct sockopt_report *ret);

/* Number of requested options not obtained. */
unsigned sockopt_report_n_failed(const struct sockopt_report *r);

/*
 * One line, e.g. "busy_poll 50 us: EPERM (Operation not permitted),
 * reads 0; priority 6: ok; rcvlowat: left (1); timestamps: ok". Returns
 * the length or -ENOBUFS (buf holds a truncated prefix), -EINVAL on NULL.
 */
int sockopt_report_format(const struct sockopt_report *r, char *buf,
			  size_t size);

/*
 * io_uring NAPI busy polling (io_uring_register_napi(3): liburing 2.6,
 * kernel 6.9): the ring polls the device queue of its sockets while it
 * waits.
 */
struct sockopt_napi_report {
	bool requested;
	unsigned busy_poll_us;
	bool prefer_busy_poll;
	int err;       /* 0, -EOPNOTSUPP when not built in, or the kernel's */
	char note[96]; /* e.g. "not available in liburing 2.3" */
};

/*
 * Register NAPI busy polling on ring. Built only when liburing has it
 * (HAVE_IO_URING_NAPI); otherwise reports -EOPNOTSUPP with "not
 * available in liburing <version>". Returns 0 (the report holds the
 * outcome) or -EINVAL for NULL arguments.
 */
int sockopt_uring_napi(struct io_uring *ring, unsigned busy_poll_us,
		       bool prefer_busy_poll, struct sockopt_napi_report *ret);

#endif
