/* SPDX-License-Identifier: MIT */
/*
 * The RT thread's event loop: what both backends share. See loop.h for
 * the contract and loop_private.h for the split. This file: the common
 * set-up, the timer, the wake-up and the iteration (loop_run_once());
 * the configuration and its names are in loop_config.c, socket slots in
 * loop_sock.c, what is delivered to the callbacks in loop_deliver.c.
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

#include "config.h"
#include "core/macro.h"
#include "core/strbuf.h"
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

static uint64_t clock_now(void *user_data)
{
	(void)user_data;
	return rt_now_ns();
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
	l->now_fn = clock_now;
	l->napi_err = -ENODATA;
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

/* ", busy-poll 50 us, napi: unavailable (...)" after the backend's note. */
static void note_busy_poll(struct loop *l)
{
	size_t len = strlen(l->note);
	char napi[160];

	if (!l->cfg.busy_poll_ns) {
		return;
	}
	if (loop_napi_format(l, napi, sizeof(napi)) < 0 && !napi[0]) {
		return;
	}
	snprintf(l->note + len, sizeof(l->note) - len, ", busy-poll %llu us, %s",
		 (unsigned long long)(l->cfg.busy_poll_ns / NSEC_PER_USEC),
		 napi);
}

/* Receive coalescing in the report: on, or why not (loop.h). */
static void note_coalesce(struct loop *l)
{
	size_t len = strlen(l->note);

	if (!l->cfg.rx_defer_ns) {
		return;
	}
	if (l->can_coalesce) {
		snprintf(l->note + len, sizeof(l->note) - len,
			 ", rx coalescing %llu us",
			 (unsigned long long)(l->cfg.rx_defer_ns /
					      NSEC_PER_USEC));
	} else {
		snprintf(l->note + len, sizeof(l->note) - len,
			 ", rx coalescing off (no DEFER_TASKRUN: "
			 "Linux < 6.1)");
	}
}

int loop_new(const struct loop_config *cfg, struct wheel *w, struct loop **ret)
{
	struct loop *l = NULL;
	int r;

	if (!cfg || !w || !ret) {
		return -EINVAL;
	}
	r = loop_config_check(cfg);
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

			/* Only io_uring has IORING_OP_TIMEOUT and waits
			 * with a timeout of their own. */
			c.timer = LOOP_TIMER_TIMERFD;
			c.rx_defer_ns = 0;
			r = loop_epoll_new(&c, w, &l);
			if (r < 0) {
				break;
			}
			l->fallback_err = uring_err;
			snprintf(l->note, sizeof(l->note),
				 "io_uring unavailable (%s), using epoll%s",
				 strerror(-uring_err),
				 cfg->timer != LOOP_TIMER_TIMERFD
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
	if (l->backend == LOOP_EPOLL && cfg->busy_poll_ns) {
		l->napi_err = -EOPNOTSUPP;
	}
	note_busy_poll(l);
	note_coalesce(l);
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

void loop_set_expecting(struct loop *l, bool on)
{
	l->expecting = on;
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

/* Between two looks at the queue: PAUSE/YIELD, as rt_spin_until() does. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/*
 * The busy-poll window: look at the completion queue until something is
 * there, loop_stop() is called, or end_ns (the caller's clock) comes.
 * True when the wait that follows must not block.
 */
static bool busy_poll(struct loop *l, uint64_t end_ns)
{
	uint64_t t0 = l->now_fn(l->hook_data), now = t0;

	LOOP_COUNT(l, busy_polls);
	while (now < end_ns) {
		if (l->poll_hook) {
			l->poll_hook(l, l->hook_data);
		}
		if (l->ops->ready(l)) {
			LOOP_COUNT(l, busy_poll_hits);
			return true;
		}
		if (atomic_load_explicit(&l->stop, memory_order_relaxed)) {
			return true;
		}
		cpu_relax();
		now = l->now_fn(l->hook_data);
	}
	LOOP_COUNT_ADD(l, busy_poll_ns, now - t0);
	return false;
}

/*
 * Spin to (within the guard) and expire the wheel's timers that are due
 * now; returns how many expired.
 */
static unsigned expire_due(struct loop *l)
{
	uint64_t dl, guard, now;
	bool hard = false;
	unsigned e = 0;

	dl = wheel_next_deadline(l->wheel, &hard);
	if (dl == UINT64_MAX) {
		return 0;
	}
	guard = hard ? l->cfg.spin_guard_ns : 0;
	now = l->now_fn(l->hook_data);
	if (guard && now < dl && dl - now <= guard + LOOP_SPIN_MARGIN_NS) {
		uint64_t t0 = now;

		now = rt_spin_until(dl, guard + LOOP_SPIN_MARGIN_NS);
		LOOP_COUNT(l, spins);
		LOOP_COUNT_ADD(l, spin_ns, now - t0);
	}
	if (now >= dl) {
		e = wheel_expire(l->wheel, now);
		LOOP_COUNT_ADD(l, timers_expired, e);
	}
	return e;
}

int loop_run_once(struct loop *l, bool block)
{
	uint64_t dl, target = UINT64_MAX, guard, now = 0;
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
		now = l->now_fn(l->hook_data);
		if (target <= now) {
			block = false;
		}
	}
	/*
	 * Busy-poll after an iteration that handled something, up to the
	 * window and never past the timer's wake-up (minus the margin it
	 * takes to arm it and go to sleep). The window starts here, at the
	 * end of the handling.
	 */
	if (block && l->busy_next && l->cfg.busy_poll_ns) {
		uint64_t end;

		if (!now) {
			now = l->now_fn(l->hook_data);
		}
		end = now + l->cfg.busy_poll_ns;
		if (target != UINT64_MAX) {
			end = MIN(end, target > LOOP_BUSY_POLL_MARGIN_NS
					   ? target - LOOP_BUSY_POLL_MARGIN_NS
					   : 0);
		}
		if (end > now && busy_poll(l, end)) {
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
	if (block) {
		LOOP_COUNT(l, sleeps);
	}
	n = l->ops->wait(l, block);
	if (n < 0) {
		return n;
	}
	if (n > 0) {
		LOOP_COUNT(l, wakeups);
	}

	/* Callbacks may have added or cancelled timers: ask again. */
	n += (int)expire_due(l);

	loop_release_run(l);

	if (l->ops->flush) {
		r = l->ops->flush(l);
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			return r;
		}
	}
	l->busy_next = n > 0;
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

void loop_set_hooks(struct loop *l, const struct loop_hooks *h)
{
	l->now_fn = h && h->now_ns ? h->now_ns : clock_now;
	l->poll_hook = h ? h->busy_poll : NULL;
	l->hook_data = h ? h->user_data : NULL;
}

int loop_napi_format(const struct loop *l, char *buf, size_t size)
{
	static const char *const fam[] = {"AF_UNIX", "AF_BLUETOOTH", "IP",
					  "other"};
	struct strbuf o = {.buf = buf, .size = size};
	const char *sep = "";

	if (!l || !buf || size == 0) {
		return -EINVAL;
	}
	buf[0] = '\0';
	if (l->napi_err == 0) {
		strbuf_put(&o, "napi: registered (busy poll %llu us)",
			   (unsigned long long)(l->cfg.busy_poll_ns /
						NSEC_PER_USEC));
	} else if (l->napi_err == -ENODATA) {
		strbuf_put(&o, "napi: off (busy-poll 0)");
	} else if (l->backend == LOOP_EPOLL) {
		strbuf_put(&o, "napi: unavailable (epoll backend)");
	} else if (!HAVE_IO_URING_NAPI) {
		strbuf_put(&o,
			   "napi: unavailable (liburing %s has no "
			   "io_uring_register_napi(3))",
			   LIBURING_VERSION);
	} else {
		strbuf_put(&o, "napi: unavailable (%s)",
			   strerror(-l->napi_err));
	}
	if (l->napi_socks || l->no_napi_socks) {
		strbuf_put(&o, "; %u socket(s) with a NAPI id, %u without",
			   l->napi_socks, l->no_napi_socks);
		for (unsigned i = 0; i < ARRAY_SIZE(fam); i++) {
			if (l->no_napi_families & (1u << i)) {
				strbuf_put(&o, "%s%s", *sep ? ", " : ": ",
					   fam[i]);
				sep = ",";
			}
		}
	}
	return o.overflow ? -ENOBUFS : (int)o.len;
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
