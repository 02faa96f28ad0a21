/* SPDX-License-Identifier: MIT */
/*
 * The event loop's configuration: its defaults, the names of backends,
 * timers and receive modes (for the configuration file, the command
 * line and the reports), and the check loop_new() makes of a
 * struct loop_config before any backend sees it. No syscalls here.
 */

#include <errno.h>
#include <string.h>

#include "core/macro.h"
#include "os/loop_config.h"
#include "os/loop.h"
#include "os/loop_private.h"

/* loop.h, spin_guard_ns: a longer spin starves the CPU. */
#define LOOP_SPIN_GUARD_MAX_NS (10 * NSEC_PER_MSEC)

void loop_config_default(struct loop_config *ret)
{
	*ret = (struct loop_config){
	    .backend = LOOP_AUTO,
	    /* timerfd, not LOOP_TIMER_URING_WAIT, although the latency
	     * bench measured the latter's wake-up P99 lower: with it the
	     * control test under ASan on a loaded 2-core VM lost a frame
	     * in 2 of 5 runs, against none in 8 with timerfd, cause not
	     * found yet. ttwsd --latency-test --timer picks either. ttwsd
	     * itself takes uring-wait whenever it coalesces receives
	     * ([loop] rx_coalesce_us, on by default): coalescing needs the
	     * wait's own deadline (loop.h). */
	    .timer = LOOP_TIMER_TIMERFD,
	    .max_sockets = 8,
	    .max_msg = 2048,
	    .rx_depth = 64,
	    .tx_slots = 64,
	    .spin_guard_ns = 0,
	};
}

int loop_backend_from_string(const char *s, enum loop_backend *ret)
{
	static const struct {
		const char *name;
		enum loop_backend b;
	} names[] = {
	    {"auto", LOOP_AUTO},
	    {"io_uring", LOOP_IO_URING},
	    {"epoll", LOOP_EPOLL},
	};

	if (!s || !ret) {
		return -EINVAL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*ret = names[i].b;
			return 0;
		}
	}
	return -EINVAL;
}

const char *loop_backend_name(enum loop_backend b)
{
	switch (b) {
	case LOOP_AUTO:
		return "auto";
	case LOOP_IO_URING:
		return "io_uring";
	case LOOP_EPOLL:
		return "epoll";
	}
	return "unknown";
}

static const struct {
	const char *name;
	enum loop_timer t;
} timer_names[] = {
    {"timerfd", LOOP_TIMER_TIMERFD},
    {"uring-timeout", LOOP_TIMER_URING_TIMEOUT},
    {"uring-wait", LOOP_TIMER_URING_WAIT},
};

int loop_timer_from_string(const char *s, enum loop_timer *ret)
{
	if (!s || !ret) {
		return -EINVAL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(timer_names); i++) {
		if (strcmp(s, timer_names[i].name) == 0) {
			*ret = timer_names[i].t;
			return 0;
		}
	}
	return -EINVAL;
}

const char *loop_timer_name(enum loop_timer t)
{
	for (size_t i = 0; i < ARRAY_SIZE(timer_names); i++) {
		if (timer_names[i].t == t) {
			return timer_names[i].name;
		}
	}
	return "unknown";
}

const char *loop_rx_mode_name(enum loop_rx_mode m)
{
	switch (m) {
	case LOOP_RX_URING_MULTISHOT:
		return "multishot recvmsg";
	case LOOP_RX_URING_SINGLESHOT:
		return "single-shot recvmsg";
	case LOOP_RX_EPOLL:
		return "epoll + recvmsg";
	}
	return "unknown";
}

int loop_config_check(const struct loop_config *c)
{
	switch (c->backend) {
	case LOOP_AUTO:
	case LOOP_IO_URING:
	case LOOP_EPOLL:
		break;
	default:
		return -EINVAL;
	}
	switch (c->timer) {
	case LOOP_TIMER_TIMERFD:
		break;
	case LOOP_TIMER_URING_WAIT:
		break;
	case LOOP_TIMER_URING_TIMEOUT:
		if (c->backend == LOOP_EPOLL) {
			return -EINVAL;
		}
		break;
	default:
		return -EINVAL;
	}
	if (c->max_sockets < 1 || c->max_sockets > 1024) {
		return -EINVAL;
	}
	if (c->max_msg < 1 || c->max_msg > 65536) {
		return -EINVAL;
	}
	if (c->rx_depth < 1 || c->rx_depth > 32768) {
		return -EINVAL;
	}
	if (c->tx_slots < 1 || c->tx_slots > 4096) {
		return -EINVAL;
	}
	if (c->spin_guard_ns > LOOP_SPIN_GUARD_MAX_NS) {
		return -EINVAL;
	}
	if (c->busy_poll_ns > LOOP_BUSY_POLL_MAX_NS) {
		return -EINVAL;
	}
	/* Coalescing needs the wait's own deadline (loop.h). */
	if (c->rx_defer_ns > LOOP_RX_DEFER_MAX_NS ||
	    (c->rx_defer_ns && (c->backend == LOOP_EPOLL ||
				c->timer != LOOP_TIMER_URING_WAIT))) {
		return -EINVAL;
	}
	return 0;
}
