/* SPDX-License-Identifier: MIT */
/*
 * The RT thread's event loop: what both backends share. See loop.h for
 * the contract and loop_private.h for the split.
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

int loop_sock_fd(const struct loop_sock *s)
{
	return s->fd;
}

struct loop_sock *loop_sock_lookup(struct loop *l, uint32_t idx, uint32_t gen)
{
	struct loop_sock *s;

	if (idx >= l->cfg.max_sockets) {
		return NULL;
	}
	s = &l->socks[idx];
	if (!s->used || s->gen != gen) {
		return NULL;
	}
	return s;
}

/* Take the first free slot for fd (the caller checked there is one). */
static struct loop_sock *slot_take(struct loop *l, int fd,
				   enum loop_slot_kind kind)
{
	struct loop_sock *s = &l->socks[l->free_head];

	l->free_head = s->next;
	s->next = -1;
	s->gen++;
	s->fd = fd;
	s->type = 0;
	s->kind = kind;
	s->can_read = true;
	s->can_write = true;
	s->tx_head = -1;
	s->tx_tail = -1;
	s->fn = NULL;
	s->connect_fn = NULL;
	s->user_data = NULL;
	s->released = NULL;
	s->released_data = NULL;
	s->inflight = 0;
	s->used = true;
	s->closing = false;
	s->rx_armed = false;
	s->rx_stopped = false;
	s->errq_armed = false;
	s->tx_seq_next = 0;
	s->tx_key_next = 0;
	return s;
}

/* Back on the free list at once (nothing in the kernel names it). */
static void slot_give(struct loop *l, struct loop_sock *s)
{
	s->used = false;
	s->closing = false;
	s->fd = -1;
	s->fn = NULL;
	s->connect_fn = NULL;
	s->next = l->free_head;
	l->free_head = (int)s->idx;
}

int loop_add_socket(struct loop *l, int fd, loop_rx_fn fn, void *user_data,
		    struct loop_sock **ret)
{
	struct loop_sock *s;
	socklen_t sl;
	int type, one = 1, r;

	if (!l || fd < 0 || !fn || !ret) {
		return -EINVAL;
	}
	if (l->free_head < 0) {
		return -ENOSPC;
	}
	sl = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) < 0) {
		return -errno;
	}
	/*
	 * The kernel's receive timestamp is the only one without the
	 * one-sided wake-up delay the servo must not see (DESIGN.md,
	 * "Transports"); socket(7), SO_TIMESTAMPNS.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0) {
		return -errno;
	}

	s = slot_take(l, fd, LOOP_SLOT_SOCKET);
	s->type = type;
	s->fn = fn;
	s->user_data = user_data;

	r = l->ops->sock_arm(l, s);
	if (r < 0) {
		slot_give(l, s);
		return r;
	}
	*ret = s;
	return 0;
}

int loop_add_stream(struct loop *l, int fd, loop_rx_fn fn, void *user_data,
		    struct loop_sock **ret)
{
	struct loop_sock *s;
	socklen_t sl;
	int fl, type = 0, r;

	if (!l || fd < 0 || !fn || !ret) {
		return -EINVAL;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0) {
		return -errno;
	}
	if (!(fl & O_NONBLOCK)) {
		return -EINVAL;
	}
	sl = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) < 0) {
		if (errno != ENOTSOCK) {
			return -errno;
		}
		type = 0;
	} else if (type != SOCK_STREAM) {
		return -EPROTOTYPE;
	}
	if (l->free_head < 0) {
		return -ENOSPC;
	}

	s = slot_take(l, fd, LOOP_SLOT_STREAM);
	s->type = type;
	s->can_read = (fl & O_ACCMODE) != O_WRONLY;
	s->can_write = (fl & O_ACCMODE) != O_RDONLY;
	s->fn = fn;
	s->user_data = user_data;

	r = l->ops->sock_arm(l, s);
	if (r < 0) {
		slot_give(l, s);
		return r;
	}
	*ret = s;
	return 0;
}

static struct loop_sock *connect_find(struct loop *l, int fd)
{
	for (unsigned i = 0; i < l->cfg.max_sockets; i++) {
		struct loop_sock *s = &l->socks[i];

		if (s->used && s->kind == LOOP_SLOT_CONNECT && s->fd == fd) {
			return s;
		}
	}
	return NULL;
}

int loop_add_connecting(struct loop *l, int fd, loop_connect_fn fn,
			void *user_data)
{
	struct loop_sock *s;
	socklen_t sl;
	int type, r;

	if (!l || fd < 0 || !fn) {
		return -EINVAL;
	}
	sl = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) < 0) {
		return -errno;
	}
	if (connect_find(l, fd)) {
		return -EEXIST;
	}
	if (l->free_head < 0) {
		return -ENOSPC;
	}
	s = slot_take(l, fd, LOOP_SLOT_CONNECT);
	s->type = type;
	s->connect_fn = fn;
	s->user_data = user_data;
	r = l->ops->connect_arm(l, s);
	if (r < 0) {
		slot_give(l, s);
		return r;
	}
	return 0;
}

int loop_cancel_connecting(struct loop *l, int fd)
{
	struct loop_sock *s;

	if (!l || fd < 0) {
		return -EINVAL;
	}
	s = connect_find(l, fd);
	if (!s) {
		return -ENOENT;
	}
	l->ops->connect_cancel(l, s);
	slot_give(l, s);
	return 0;
}

/*
 * Whether the connect behind a POLLOUT (or POLLERR / POLLHUP) worked:
 * SO_ERROR, as connect(2) says for EINPROGRESS. Reading it also clears
 * it.
 */
static int connect_result(int fd, unsigned revents)
{
	socklen_t sl = sizeof(int);
	int err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0) {
		return -errno;
	}
	if (err) {
		return -err;
	}
	if (!(revents & POLLOUT) && (revents & (POLLERR | POLLHUP))) {
		return -ENOTCONN;
	}
	return 0;
}

void loop_connect_done(struct loop *l, struct loop_sock *s, int res)
{
	loop_connect_fn fn = s->connect_fn;
	void *data = s->user_data;
	int fd = s->fd, err;

	/* The slot first: fn may take it again (loop_add_socket()). */
	slot_give(l, s);
	err = res < 0 ? res : connect_result(fd, (unsigned)res);
	LOOP_COUNT(l, connects);
	fn(l, fd, err, data);
}

int loop_tx_get(struct loop *l)
{
	int i = l->tx_free;

	if (i >= 0) {
		l->tx_free = l->tx[i].next;
		l->tx[i].next = -1;
		l->tx[i].off = 0;
		l->tx[i].inflight = false;
	}
	return i;
}

void loop_tx_put(struct loop *l, int i)
{
	l->tx[i].sock = NULL;
	l->tx[i].inflight = false;
	l->tx[i].next = l->tx_free;
	l->tx_free = i;
}

void loop_tx_push(struct loop *l, struct loop_sock *s, int i)
{
	l->tx[i].sock = s;
	l->tx[i].next = -1;
	if (s->tx_tail >= 0) {
		l->tx[s->tx_tail].next = i;
	} else {
		s->tx_head = i;
	}
	s->tx_tail = i;
}

void loop_tx_unlink(struct loop *l, struct loop_sock *s, int i)
{
	int prev = -1;

	for (int j = s->tx_head; j >= 0; prev = j, j = l->tx[j].next) {
		if (j != i) {
			continue;
		}
		if (prev >= 0) {
			l->tx[prev].next = l->tx[i].next;
		} else {
			s->tx_head = l->tx[i].next;
		}
		if (s->tx_tail == i) {
			s->tx_tail = prev;
		}
		l->tx[i].next = -1;
		return;
	}
}

static void release_queue(struct loop *l, struct loop_sock *s)
{
	s->next = -1;
	if (l->release_tail >= 0) {
		l->socks[l->release_tail].next = (int)s->idx;
	} else {
		l->release_head = (int)s->idx;
	}
	l->release_tail = (int)s->idx;
}

void loop_sock_put(struct loop *l, struct loop_sock *s)
{
	if (s->inflight > 0) {
		s->inflight--;
	}
	if (s->closing && s->inflight == 0) {
		release_queue(l, s);
	}
}

int loop_remove_socket(struct loop *l, struct loop_sock *s,
		       loop_released_fn released, void *user_data)
{
	if (!l || !s || s->loop != l || !s->used) {
		return -EINVAL;
	}
	if (s->closing) {
		return -EALREADY;
	}
	s->closing = true;
	s->released = released;
	s->released_data = user_data;
	l->ops->sock_cancel(l, s);
	if (s->inflight == 0) {
		release_queue(l, s);
	}
	return 0;
}

/*
 * Run the released callbacks. The slot goes back to the free list first,
 * so that a callback may add a new socket at once.
 */
static void release_run(struct loop *l)
{
	while (l->release_head >= 0) {
		struct loop_sock *s = &l->socks[l->release_head];
		loop_released_fn fn = s->released;
		void *data = s->released_data;
		int fd = s->fd;

		l->release_head = s->next;
		if (l->release_head < 0) {
			l->release_tail = -1;
		}
		slot_give(l, s);
		if (fn) {
			fn(l, fd, data);
		}
	}
}

int loop_send(struct loop *l, struct loop_sock *s, const void *buf, size_t len)
{
	return loop_send_seq(l, s, buf, len, NULL);
}

int loop_send_seq(struct loop *l, struct loop_sock *s, const void *buf,
		  size_t len, uint32_t *ret_seq)
{
	int r;

	if (!l || !s || s->loop != l || !s->used || (!buf && len)) {
		return -EINVAL;
	}
	if (len > l->cfg.max_msg) {
		return -EMSGSIZE;
	}
	if (s->closing) {
		return -ESHUTDOWN;
	}
	if (s->kind == LOOP_SLOT_STREAM) {
		if (!s->can_write) {
			return -EBADF;
		}
		if (len == 0) {
			return 0;
		}
	}
	/* The backend reads tx_seq_next as this send's number. */
	r = l->ops->send(l, s, buf, len);
	if (r == 0) {
		if (ret_seq) {
			*ret_seq = s->tx_seq_next;
		}
		if (s->kind == LOOP_SLOT_SOCKET) {
			loop_tx_sent(l, s, s->tx_seq_next);
		}
		s->tx_seq_next++;
	}
	return r;
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

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * NSEC_PER_SEC + (uint64_t)ts->tv_nsec;
}

void loop_clock_sample(struct loop *l)
{
	struct timespec rt;
	uint64_t m1, m2;

	/*
	 * Bracket the CLOCK_REALTIME read between two CLOCK_MONOTONIC
	 * reads and pair it with their midpoint: the offset is then wrong
	 * by at most half the bracket (vDSO reads, tens of ns).
	 */
	m1 = rt_now_ns();
	clock_gettime(CLOCK_REALTIME, &rt);
	m2 = rt_now_ns();
	l->realtime_offset_ns = (int64_t)(ts_ns(&rt) - (m1 + (m2 - m1) / 2));
}

bool loop_cmsg_ts(const struct cmsghdr *c, uint64_t *ret_realtime_ns)
{
	if (c->cmsg_level != SOL_SOCKET) {
		return false;
	}
	if (c->cmsg_type == SCM_TIMESTAMPNS &&
	    c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
		struct timespec ts;

		memcpy(&ts, CMSG_DATA(c), sizeof(ts));
		*ret_realtime_ns = ts_ns(&ts);
		return true;
	}
#if defined(SO_TIMESTAMPNS_NEW)
	/*
	 * 32-bit ABIs with a 64-bit time_t get the y2038-safe layout
	 * (struct __kernel_timespec) under its own type: socket(7).
	 */
	if (SO_TIMESTAMPNS_NEW != SCM_TIMESTAMPNS &&
	    c->cmsg_type == SO_TIMESTAMPNS_NEW &&
	    c->cmsg_len >= CMSG_LEN(2 * sizeof(int64_t))) {
		int64_t v[2];

		memcpy(v, CMSG_DATA(c), sizeof(v));
		*ret_realtime_ns =
		    (uint64_t)v[0] * NSEC_PER_SEC + (uint64_t)v[1];
		return true;
	}
#endif
	return false;
}

/* 0 bytes is EOF only where the socket type has a connection to end. */
static bool zero_is_eof(const struct loop_sock *s)
{
	return s->kind == LOOP_SLOT_STREAM || s->type == SOCK_SEQPACKET ||
	       s->type == SOCK_STREAM;
}

/*
 * A kernel timestamp (CLOCK_REALTIME ns) on CLOCK_MONOTONIC, with the
 * offset sampled for this dispatch; clamped to user_ns, so the order
 * kernel <= user holds even across a clock step (loop.h).
 */
static uint64_t kernel_mono_ns(const struct loop *l, uint64_t realtime_ns,
			       uint64_t user_ns)
{
	int64_t mono = (int64_t)realtime_ns - l->realtime_offset_ns;
	uint64_t ns = mono > 0 ? (uint64_t)mono : 0;

	return ns < user_ns ? ns : user_ns;
}

bool loop_deliver_data(struct loop *l, struct loop_sock *s, const void *data,
		       size_t len, int flags, uint64_t realtime_ns)
{
	struct loop_rx rx = {.ev = LOOP_EV_DATA};

	if (s->closing || s->rx_stopped) {
		return true;
	}
	rx.user_ts_ns = rt_now_ns();
	if (len == 0 && zero_is_eof(s)) {
		s->rx_stopped = true;
		rx.ev = LOOP_EV_EOF;
		rx.err = -ECONNRESET;
		rx.rx_stopped = true;
		s->fn(l, s, &rx, s->user_data);
		return true;
	}

	rx.data = data;
	rx.len = len;
	if (flags & MSG_TRUNC) {
		rx.err = -EMSGSIZE;
		LOOP_COUNT(l, rx_truncated);
	}
	if (realtime_ns) {
		rx.has_kernel_ts = true;
		rx.kernel_ts_ns = kernel_mono_ns(l, realtime_ns, rx.user_ts_ns);
	} else {
		LOOP_COUNT(l, rx_no_kernel_ts);
	}
	LOOP_COUNT(l, rx);
	s->fn(l, s, &rx, s->user_data);
	return s->closing || s->rx_stopped;
}

/* Errors after which receiving again can only fail the same way. */
static bool rx_error_is_fatal(int err)
{
	switch (-err) {
	case EBADF:
	case ENOTSOCK:
	case EINVAL:
	case EFAULT:
	case EOPNOTSUPP:
	case ENOTCONN:
	case EBUSY: /* ours: no SQE to re-arm the receive with */
		return true;
	default:
		return false;
	}
}

bool loop_deliver_rx_error(struct loop *l, struct loop_sock *s, int err)
{
	struct loop_rx rx = {.ev = LOOP_EV_RX_ERROR, .err = err};

	if (s->closing || s->rx_stopped) {
		return true;
	}
	/* A byte stream that failed has lost its place: see loop.h. */
	if (s->kind == LOOP_SLOT_STREAM || rx_error_is_fatal(err)) {
		s->rx_stopped = true;
		rx.rx_stopped = true;
	}
	rx.user_ts_ns = rt_now_ns();
	LOOP_COUNT(l, rx_errors);
	s->fn(l, s, &rx, s->user_data);
	return s->closing || s->rx_stopped;
}

void loop_tx_sent(struct loop *l, struct loop_sock *s, uint32_t seq)
{
	(void)l;
	s->key_seq[s->tx_key_next % LOOP_TXKEY_RING] = seq;
	s->tx_key_next++;
}

void loop_tx_unsent(struct loop *l, struct loop_sock *s, uint32_t seq)
{
	uint32_t n = s->tx_key_next < LOOP_TXKEY_RING ? s->tx_key_next :
							 LOOP_TXKEY_RING;

	(void)l;
	/* Newest first: a failure is normally among the last few sends. */
	for (uint32_t i = 1; i <= n; i++) {
		uint32_t k = s->tx_key_next - i;

		if (s->key_seq[k % LOOP_TXKEY_RING] != seq) {
			continue;
		}
		/* The kernel gave the later sends one key less. */
		for (; k + 1 != s->tx_key_next; k++) {
			s->key_seq[k % LOOP_TXKEY_RING] =
			    s->key_seq[(k + 1) % LOOP_TXKEY_RING];
		}
		s->tx_key_next--;
		return;
	}
}

/* One error-queue entry (its control data in l->errq_cmsg) delivered. */
static void errqueue_deliver(struct loop *l, struct loop_sock *s,
			     size_t controllen)
{
	struct loop_rx rx = {.ev = LOOP_EV_TX_STAMP};
	struct txstamp ts;
	int r, err;

	r = txstamp_parse(l->errq_cmsg.buf, controllen, &ts, &err);
	if (r < 0) {
		LOOP_COUNT(l, errqueue_errors);
		if (r == -ENOMSG && err < 0) {
			loop_deliver_tx_error(l, s, err);
		}
		return;
	}
	/* Keys older than the ring (or never given) are unknown. */
	if (s->tx_key_next - ts.key - 1 >= LOOP_TXKEY_RING) {
		LOOP_COUNT(l, tx_stamps_unmatched);
		return;
	}
	rx.tx_seq = s->key_seq[ts.key % LOOP_TXKEY_RING];
	rx.tx_kind = ts.kind;
	rx.user_ts_ns = rt_now_ns();
	rx.kernel_ts_ns = kernel_mono_ns(l, ts.realtime_ns, rx.user_ts_ns);
	rx.has_kernel_ts = true;
	rx.rx_stopped = s->rx_stopped;
	LOOP_COUNT(l, tx_stamps);
	s->fn(l, s, &rx, s->user_data);
}

unsigned loop_errqueue_drain(struct loop *l, struct loop_sock *s)
{
	unsigned n = 0;

	while (n < l->cfg.rx_depth && !s->closing) {
		/* OPT_TSONLY reports carry no payload; anything else is cut
		 * (MSG_TRUNC) into this byte: only the cmsgs matter. */
		unsigned char byte;
		struct iovec iov = {&byte, sizeof(byte)};
		struct msghdr mh = {
		    .msg_iov = &iov,
		    .msg_iovlen = 1,
		    .msg_control = l->errq_cmsg.buf,
		    .msg_controllen = sizeof(l->errq_cmsg.buf),
		};

		if (recvmsg(s->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
			if (errno == EINTR) {
				continue;
			}
			break; /* EAGAIN: empty; anything else: receive says */
		}
		n++;
		errqueue_deliver(l, s, mh.msg_controllen);
	}
	return n;
}

void loop_deliver_tx_error(struct loop *l, struct loop_sock *s, int err)
{
	struct loop_rx rx = {.ev = LOOP_EV_TX_ERROR, .err = err};

	LOOP_COUNT(l, tx_errors);
	if (s->closing) {
		return;
	}
	rx.rx_stopped = s->rx_stopped;
	rx.user_ts_ns = rt_now_ns();
	s->fn(l, s, &rx, s->user_data);
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

	release_run(l);

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

void loop_stream_read(struct loop *l, struct loop_sock *s, void *buf)
{
	for (unsigned i = 0; i < l->cfg.rx_depth; i++) {
		ssize_t n;

		if (s->closing || s->rx_stopped) {
			return;
		}
		n = read(s->fd, buf, l->cfg.max_msg);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				loop_deliver_rx_error(l, s, -errno);
			}
			return;
		}
		if (loop_deliver_data(l, s, buf, (size_t)n, 0, 0)) {
			return;
		}
	}
}
