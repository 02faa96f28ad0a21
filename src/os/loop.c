/* SPDX-License-Identifier: MIT */
/*
 * The RT thread's event loop: what both backends share. See loop.h for
 * the contract and loop_private.h for the split. This file: the
 * configuration, the common set-up, the timer, the wake-up and the
 * iteration (loop_run_once()); socket slots are in loop_sock.c, what is
 * delivered to the callbacks in loop_deliver.c.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "core/macro.h"
#include "core/wheel.h"
#include "os/loop.h"
#include "os/loop_private.h"
#include "os/rt.h"

/*
 * Slack given to rt_spin_until() beyond the guard itself: the timer may
 * wake us a little before dl - guard is reached on the clock we compare
 * with (timerfd expiry is checked against the same clock, so this only
 * covers the reads in between), and the spin must stay bounded anyway.
 */
#define LOOP_SPIN_MARGIN_NS (20 * NSEC_PER_USEC)
#define LOOP_SPIN_GUARD_MAX_NS (10 * NSEC_PER_MSEC)

void loop_config_default(struct loop_config *ret)
{
	*ret = (struct loop_config){
	    .backend = LOOP_AUTO,
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

const char *loop_rx_mode_name(enum loop_rx_mode m)
{
	switch (m) {
	case LOOP_RX_URING_MULTISHOT:
		return "multishot recvmsg with provided buffers";
	case LOOP_RX_URING_SINGLESHOT:
		return "single-shot recvmsg";
	case LOOP_RX_EPOLL:
		return "epoll + recvmsg";
	}
	return "unknown";
}

static int config_check(const struct loop_config *c)
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
	return 0;
}

int loop_common_init(struct loop *l, const struct loop_config *cfg,
		     struct wheel *w, bool want_timerfd, int fd_flags)
{
	l->cfg = *cfg;
	l->wheel = w;
	l->timer_fd = -1;
	l->wake_fd = -1;
	l->timer_armed_ns = UINT64_MAX;
	l->free_head = -1;
	l->release_head = -1;
	l->release_tail = -1;
	l->tx_free = -1;
	atomic_init(&l->wake_pending, false);
	atomic_init(&l->stop, false);

	l->socks = calloc(cfg->max_sockets, sizeof(*l->socks));
	if (!l->socks) {
		return -ENOMEM;
	}
	for (unsigned i = cfg->max_sockets; i-- > 0;) {
		struct loop_sock *s = &l->socks[i];

		s->loop = l;
		s->idx = i;
		s->fd = -1;
		s->tx_head = -1;
		s->tx_tail = -1;
		s->next = l->free_head;
		l->free_head = (int)i;
	}

	l->tx = calloc(cfg->tx_slots, sizeof(*l->tx));
	l->tx_mem = calloc(cfg->tx_slots, cfg->max_msg);
	if (!l->tx || !l->tx_mem) {
		return -ENOMEM;
	}
	for (unsigned i = cfg->tx_slots; i-- > 0;) {
		l->tx[i].buf = l->tx_mem + (size_t)i * cfg->max_msg;
		l->tx[i].next = l->tx_free;
		l->tx_free = (int)i;
	}

	l->wake_fd = eventfd(0, EFD_CLOEXEC | (fd_flags ? EFD_NONBLOCK : 0));
	if (l->wake_fd < 0) {
		return -errno;
	}
	if (want_timerfd) {
		l->timer_fd =
		    timerfd_create(CLOCK_MONOTONIC,
				   TFD_CLOEXEC | (fd_flags ? TFD_NONBLOCK : 0));
		if (l->timer_fd < 0) {
			return -errno;
		}
	}
	return 0;
}

void loop_common_fini(struct loop *l)
{
	if (l->timer_fd >= 0) {
		close(l->timer_fd);
	}
	if (l->wake_fd >= 0) {
		close(l->wake_fd);
	}
	free(l->tx);
	free(l->tx_mem);
	free(l->socks);
}

int loop_new(const struct loop_config *cfg, struct wheel *w, struct loop **ret)
{
	struct loop *l = NULL;
	int r;

	if (!cfg || !w || !ret) {
		return -EINVAL;
	}
	r = config_check(cfg);
	if (r < 0) {
		return r;
	}

	switch (cfg->backend) {
	case LOOP_IO_URING:
		r = loop_uring_new(cfg, w, &l);
		break;
	case LOOP_EPOLL:
		r = loop_epoll_new(cfg, w, &l);
		break;
	case LOOP_AUTO:
		r = loop_uring_new(cfg, w, &l);
		if (r < 0) {
			struct loop_config c = *cfg;
			int uring_err = r;

			/* Only io_uring knows IORING_OP_TIMEOUT. */
			c.timer = LOOP_TIMER_TIMERFD;
			r = loop_epoll_new(&c, w, &l);
			if (r < 0) {
				break;
			}
			l->fallback_err = uring_err;
			snprintf(l->note, sizeof(l->note),
				 "io_uring unavailable (%s), using epoll%s",
				 strerror(-uring_err),
				 cfg->timer == LOOP_TIMER_URING_TIMEOUT
				     ? " and a timerfd"
				     : "");
		}
		break;
	default:
		return -EINVAL;
	}
	if (r < 0) {
		return r;
	}
	*ret = l;
	return 0;
}

struct loop *loop_free(struct loop *l)
{
	if (l) {
		l->ops->free(l);
	}
	return NULL;
}

enum loop_backend loop_backend(const struct loop *l)
{
	return l->backend;
}

int loop_fallback_err(const struct loop *l)
{
	return l->fallback_err;
}

const char *loop_backend_note(const struct loop *l)
{
	return l->note;
}

enum loop_rx_mode loop_rx_mode(const struct loop *l)
{
	return l->rx_mode;
}

void loop_set_wake_fn(struct loop *l, loop_wake_fn fn, void *user_data)
{
	l->wake_fn = fn;
	l->wake_data = user_data;
}

int loop_wake(struct loop *l)
{
	uint64_t one = 1;

	/*
	 * Coalesce: while a wake is pending the loop will run the callback
	 * anyway, after clearing the flag (loop_wake_fired()), so a caller
	 * that sees true has its wake covered.
	 */
	if (atomic_exchange(&l->wake_pending, true)) {
		return 0;
	}
	if (write(l->wake_fd, &one, sizeof(one)) < 0) {
		int r = -errno;

		/* EAGAIN: the counter is saturated, a wake is pending. */
		if (r == -EAGAIN) {
			return 0;
		}
		atomic_store(&l->wake_pending, false);
		return r;
	}
	return 0;
}

void loop_wake_fired(struct loop *l)
{
	/*
	 * An exchange, not a store: reading the flag a waker's exchange
	 * wrote makes that waker's earlier writes visible to the callback
	 * (acquire/release through the read-modify-write).
	 */
	(void)atomic_exchange(&l->wake_pending, false);
	LOOP_COUNT(l, wakes);
	if (l->wake_fn) {
		l->wake_fn(l, l->wake_data);
	}
}

void loop_stop(struct loop *l)
{
	atomic_store(&l->stop, true);
	(void)loop_wake(l);
}

int loop_timerfd_set(struct loop *l, uint64_t when_ns)
{
	struct itimerspec its = {0};

	/* An all-zero it_value disarms: timerfd_create(2). */
	if (when_ns != UINT64_MAX) {
		its.it_value.tv_sec = (time_t)(when_ns / NSEC_PER_SEC);
		its.it_value.tv_nsec = (long)(when_ns % NSEC_PER_SEC);
	}
	if (timerfd_settime(l->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		return -errno;
	}
	return 0;
}

void loop_timer_fired(struct loop *l)
{
	l->timer_armed_ns = UINT64_MAX;
	l->timer_fired = true;
	LOOP_COUNT(l, timer_fires);
}

int loop_run_once(struct loop *l, bool block)
{
	uint64_t dl, target = UINT64_MAX, guard, now;
	bool hard = false;
	int n, r;

	if (atomic_load_explicit(&l->stop, memory_order_relaxed) ||
	    l->release_head >= 0) {
		block = false;
	}

	dl = wheel_next_deadline(l->wheel, &hard);
	guard = hard ? l->cfg.spin_guard_ns : 0;
	if (dl != UINT64_MAX) {
		/* 0 would disarm a timerfd: arm to 1 ns instead (past). */
		target = dl > guard ? dl - guard : 1;
		if (target <= rt_now_ns()) {
			block = false;
		}
	}
	/*
	 * Re-arm only when the value changes: the kernel keeps an absolute
	 * expiry, so an unchanged deadline costs no syscall. A target
	 * already past needs no timer (we do not block).
	 */
	if (block && target != l->timer_armed_ns) {
		r = l->ops->timer_set(l, target);
		if (r < 0) {
			return r;
		}
		l->timer_armed_ns = target;
		LOOP_COUNT(l, timer_rearms);
	}

	l->timer_fired = false;
	n = l->ops->wait(l, block);
	if (n < 0) {
		return n;
	}
	if (n > 0) {
		LOOP_COUNT(l, wakeups);
	}

	/* Callbacks may have added or cancelled timers: ask again. */
	dl = wheel_next_deadline(l->wheel, &hard);
	if (dl != UINT64_MAX) {
		guard = hard ? l->cfg.spin_guard_ns : 0;
		now = rt_now_ns();
		if (guard && now < dl &&
		    dl - now <= guard + LOOP_SPIN_MARGIN_NS) {
			uint64_t t0 = now;

			now = rt_spin_until(dl, guard + LOOP_SPIN_MARGIN_NS);
			LOOP_COUNT(l, spins);
			LOOP_COUNT_ADD(l, spin_ns, now - t0);
		}
		if (now >= dl) {
			unsigned e = wheel_expire(l->wheel, now);

			LOOP_COUNT_ADD(l, timers_expired, e);
			n += (int)e;
		}
	}

	loop_release_run(l);

	if (l->ops->flush) {
		r = l->ops->flush(l);
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			return r;
		}
	}
	return n;
}

int loop_run(struct loop *l)
{
	int r = 0;

	while (!atomic_load(&l->stop)) {
		r = loop_run_once(l, true);
		if (r < 0) {
			break;
		}
		r = 0;
	}
	atomic_store(&l->stop, false);
	return r;
}

int loop_set_napi(struct loop *l, unsigned busy_poll_us, bool prefer_busy_poll,
		  struct sockopt_napi_report *ret)
{
	if (!l || !ret) {
		return -EINVAL;
	}
	if (!l->ops->napi) {
		*ret = (struct sockopt_napi_report){
		    .requested = true,
		    .busy_poll_us = busy_poll_us,
		    .prefer_busy_poll = prefer_busy_poll,
		    .err = -EOPNOTSUPP,
		};
		snprintf(ret->note, sizeof(ret->note),
			 "not with the %s backend (use SO_BUSY_POLL)",
			 loop_backend_name(l->backend));
		return 0;
	}
	return l->ops->napi(l, busy_poll_us, prefer_busy_poll, ret);
}

_Static_assert(sizeof(struct loop_counters) % sizeof(uint64_t) == 0,
	       "loop_counters must hold uint64_t only");

void loop_get_counters(const struct loop *l, struct loop_counters *ret)
{
	const uint64_t *src = (const uint64_t *)&l->counters;
	uint64_t *dst = (uint64_t *)ret;

	/* A struct of uint64_t only: copy it field by field, atomically. */
	for (size_t i = 0; i < sizeof(*ret) / sizeof(uint64_t); i++) {
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	}
}

void loop_reset_counters(struct loop *l)
{
	uint64_t *c = (uint64_t *)&l->counters;

	for (size_t i = 0; i < sizeof(l->counters) / sizeof(uint64_t); i++) {
		__atomic_store_n(&c[i], 0, __ATOMIC_RELAXED);
	}
}
