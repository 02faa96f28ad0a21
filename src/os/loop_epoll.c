/* SPDX-License-Identifier: MIT */
/*
 * epoll backend of the loop: the fallback when io_uring is unavailable
 * (DESIGN.md, "Transports"). Level-triggered EPOLLIN on every socket,
 * then recvmsg(MSG_DONTWAIT) until EAGAIN or rx_depth datagrams, so one
 * busy socket cannot starve the others; the rest waits for the next
 * round. The timerfd and the eventfd are O_NONBLOCK and read directly.
 *
 * Streams: EPOLLIN while receiving and EPOLLOUT while sends wait, both
 * level-triggered, read(2) and write(2) (send(2) on a socket); a stream
 * with neither is not in the epoll set at all, since EPOLLERR and
 * EPOLLHUP are reported whatever the mask says. Connects: one-shot
 * EPOLLOUT, deleted before the callback so that the fd may be added
 * again at once.
 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/macro.h"
#include "os/loop.h"
#include "os/loop_private.h"

/* What the epoll set holds for a stream slot. */
struct epoll_slot {
	uint32_t events;
	bool added;
};

struct loop_epoll {
	struct loop loop;
	int epfd;
	struct epoll_slot *slots; /* max_sockets */
	struct epoll_event *events;
	unsigned n_events;
	/* Events a busy-poll look (epoll_ready()) fetched, not handled yet. */
	int n_ready;
	unsigned char *rx_buf; /* max_msg: one datagram at a time */
	union {
		struct cmsghdr align;
		unsigned char buf[LOOP_CMSG_LEN];
	} cmsg;
};

static struct loop_epoll *to_epoll(struct loop *l)
{
	return container_of(l, struct loop_epoll, loop);
}

/*
 * Make the epoll set hold what stream s needs now: EPOLLIN while it
 * receives, EPOLLOUT while sends wait, or nothing.
 */
static int stream_update(struct loop_epoll *le, struct loop_sock *s)
{
	struct epoll_slot *es = &le->slots[s->idx];
	struct epoll_event ev = {
	    .data.u64 = loop_tag_make(LOOP_TAG_RECV, s->idx, s->gen),
	};
	uint32_t want = 0;

	if (!s->closing && s->can_read && !s->rx_stopped) {
		want |= EPOLLIN;
	}
	if (!s->closing && s->tx_head >= 0) {
		want |= EPOLLOUT;
	}
	s->rx_armed = want & EPOLLIN;
	if (es->added && want == es->events) {
		return 0;
	}
	if (!want) {
		if (es->added) {
			epoll_ctl(le->epfd, EPOLL_CTL_DEL, s->fd, NULL);
		}
		es->added = false;
		es->events = 0;
		return 0;
	}
	ev.events = want;
	if (epoll_ctl(le->epfd, es->added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
		      s->fd, &ev) < 0) {
		return -errno;
	}
	es->added = true;
	es->events = want;
	return 0;
}

static int stream_arm(struct loop_epoll *le, struct loop_sock *s)
{
	struct epoll_event ev = {.events = 0};

	le->slots[s->idx] = (struct epoll_slot){0};
	if (s->can_read) {
		return stream_update(le, s);
	}
	/*
	 * Send only: joins the set when sends wait. Check now that epoll
	 * takes the fd at all (-EPERM for a regular file), not at the
	 * first short write.
	 */
	if (epoll_ctl(le->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
		return -errno;
	}
	epoll_ctl(le->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	return 0;
}

static int epoll_sock_arm(struct loop *l, struct loop_sock *s)
{
	struct loop_epoll *le = to_epoll(l);
	struct epoll_event ev = {
	    .events = EPOLLIN,
	    .data.u64 = loop_tag_make(LOOP_TAG_RECV, s->idx, s->gen),
	};

	if (s->kind == LOOP_SLOT_STREAM) {
		return stream_arm(le, s);
	}
	if (epoll_ctl(le->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
		return -errno;
	}
	s->rx_armed = true;
	return 0;
}

static void sock_disarm(struct loop_epoll *le, struct loop_sock *s)
{
	if (!s->rx_armed) {
		return;
	}
	/* Level-triggered EPOLLHUP would otherwise wake us forever. */
	epoll_ctl(le->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	s->rx_armed = false;
}

static void epoll_sock_cancel(struct loop *l, struct loop_sock *s)
{
	struct loop_epoll *le = to_epoll(l);

	/* epoll_ctl is synchronous: nothing stays in flight. */
	if (s->kind != LOOP_SLOT_STREAM) {
		sock_disarm(le, s);
		return;
	}
	while (s->tx_head >= 0) {
		int i = s->tx_head;

		loop_tx_unlink(l, s, i);
		loop_tx_put(l, i);
	}
	stream_update(le, s); /* closing: leaves the set */
}

/* One write(2) (send(2) on a socket) of a stream: bytes or -errno. */
static ssize_t stream_write(struct loop_sock *s, const void *buf, size_t len)
{
	ssize_t n;

	do {
		if (s->type == SOCK_STREAM) {
			/* MSG_NOSIGNAL: EPIPE, not SIGPIPE. send(2). */
			n = send(s->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		} else {
			n = write(s->fd, buf, len);
		}
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
	return n;
}

/*
 * A stream send: write now when nothing waits; what the kernel does not
 * take (all of it on EAGAIN, the rest after a short write) waits in the
 * FIFO for EPOLLOUT. The tx slot is taken before the write, so that a
 * short write always has a place for its rest.
 */
static int stream_send(struct loop_epoll *le, struct loop_sock *s,
		       const void *buf, size_t len)
{
	struct loop *l = &le->loop;
	struct loop_tx *t;
	ssize_t n = 0;
	int i = loop_tx_get(l), r;

	if (i < 0) {
		LOOP_COUNT(l, tx_no_slot);
		return -EAGAIN;
	}
	t = &l->tx[i];
	if (s->tx_head < 0) {
		n = stream_write(s, buf, len);
		if (n >= 0 && (size_t)n == len) {
			loop_tx_put(l, i);
			LOOP_COUNT(l, tx);
			return 0;
		}
		if (n < 0 && n != -EAGAIN) {
			loop_tx_put(l, i);
			LOOP_COUNT(l, tx_errors);
			return (int)n;
		}
		if (n > 0) {
			LOOP_COUNT(l, tx_short);
		} else {
			n = 0;
		}
	}
	memcpy(t->buf, buf, len);
	t->len = len;
	t->off = (size_t)n;
	loop_tx_push(l, s, i);
	r = stream_update(le, s);
	if (r < 0 && n == 0) {
		loop_tx_unlink(l, s, i);
		loop_tx_put(l, i);
		LOOP_COUNT(l, tx_errors);
		return r;
	}
	return 0;
}

/* EPOLLOUT (or an error): write what waits, in order. */
static void stream_writable(struct loop_epoll *le, struct loop_sock *s)
{
	struct loop *l = &le->loop;

	while (s->tx_head >= 0 && !s->closing) {
		int i = s->tx_head;
		struct loop_tx *t = &l->tx[i];
		size_t left = t->len - t->off;
		ssize_t n = stream_write(s, t->buf + t->off, left);

		if (n >= 0 && (size_t)n == left) {
			loop_tx_unlink(l, s, i);
			loop_tx_put(l, i);
			LOOP_COUNT(l, tx);
		} else if (n >= 0) {
			t->off += (size_t)n;
			if (n > 0) {
				LOOP_COUNT(l, tx_short);
			}
			return;
		} else if (n == -EAGAIN) {
			return;
		} else {
			/* This send fails; the next ones try on their own. */
			loop_tx_unlink(l, s, i);
			loop_tx_put(l, i);
			loop_deliver_tx_error(l, s, (int)n);
		}
	}
}

/* EPOLLIN (or an error, or a hang-up): read(2) what is there. */
static void on_stream_event(struct loop_epoll *le, struct loop_sock *s,
			    uint32_t events)
{
	if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && s->can_read) {
		loop_stream_read(&le->loop, s, le->rx_buf);
	}
	if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
		stream_writable(le, s);
	}
	/*
	 * A closing stream left the set in loop_remove_socket(); a failed
	 * MOD leaves the old mask, which is still right for receive.
	 */
	if (!s->closing) {
		stream_update(le, s);
	}
}

static int epoll_connect_arm(struct loop *l, struct loop_sock *s)
{
	struct loop_epoll *le = to_epoll(l);
	struct epoll_event ev = {
	    .events = EPOLLOUT | EPOLLONESHOT,
	    .data.u64 = loop_tag_make(LOOP_TAG_CONNECT, s->idx, s->gen),
	};

	if (epoll_ctl(le->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
		return -errno;
	}
	return 0;
}

static void epoll_connect_cancel(struct loop *l, struct loop_sock *s)
{
	epoll_ctl(to_epoll(l)->epfd, EPOLL_CTL_DEL, s->fd, NULL);
}

static int epoll_send(struct loop *l, struct loop_sock *s, const void *buf,
		      size_t len)
{
	if (s->kind == LOOP_SLOT_STREAM) {
		return stream_send(to_epoll(l), s, buf, len);
	}
	/* MSG_NOSIGNAL: a closed peer is EPIPE, not SIGPIPE. send(2). */
	if (send(s->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		int r = -errno;

		if (r == -EAGAIN || r == -EWOULDBLOCK) {
			LOOP_COUNT(l, tx_no_slot);
			return -EAGAIN;
		}
		LOOP_COUNT(l, tx_errors);
		return r;
	}
	LOOP_COUNT(l, tx);
	return 0;
}

static int epoll_timer_set(struct loop *l, uint64_t when_ns)
{
	return loop_timerfd_set(l, when_ns);
}

static void on_readable(struct loop_epoll *le, struct loop_sock *s)
{
	struct loop *l = &le->loop;

	for (unsigned i = 0; i < l->cfg.rx_depth; i++) {
		struct iovec iov = {le->rx_buf, l->cfg.max_msg};
		struct msghdr mh = {
		    .msg_iov = &iov,
		    .msg_iovlen = 1,
		    .msg_control = le->cmsg.buf,
		    .msg_controllen = sizeof(le->cmsg.buf),
		};
		struct cmsghdr *c;
		uint64_t rt = 0;
		ssize_t n;
		bool stop;

		if (s->closing || s->rx_stopped) {
			break;
		}
		n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				break;
			}
			if (errno == EINTR) {
				continue;
			}
			/*
			 * Fatal or not, stop this round: level-triggered
			 * epoll brings a still-readable socket back.
			 */
			loop_deliver_rx_error(l, s, -errno);
			if (s->rx_stopped) {
				sock_disarm(le, s);
			}
			break;
		}
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			loop_cmsg_ts(c, &rt);
		}
		stop = loop_deliver_data(l, s, le->rx_buf, (size_t)n,
					 mh.msg_flags, rt);
		if (s->rx_stopped) {
			sock_disarm(le, s);
		}
		if (stop) {
			break;
		}
	}
}

/*
 * A datagram socket's event. EPOLLERR is level-triggered and cannot be
 * masked: while transmit reports wait in the error queue it stays up, so
 * read them first (loop_add_socket()); a POLLERR with the queue empty is
 * a socket error, which recvmsg() reports.
 */
static void on_socket_event(struct loop_epoll *le, struct loop_sock *s,
			    uint32_t events)
{
	unsigned reports = 0;

	if (events & EPOLLERR) {
		reports = loop_errqueue_drain(&le->loop, s);
	}
	if ((events & (EPOLLIN | EPOLLHUP)) ||
	    ((events & EPOLLERR) && reports == 0)) {
		if (!s->closing && s->rx_armed) {
			on_readable(le, s);
		}
	}
}

static void drain(struct loop *l, int fd, bool timer)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v)) {
		return; /* EAGAIN: a stale readiness */
	}
	if (timer) {
		loop_timer_fired(l);
	} else {
		loop_wake_fired(l);
	}
}

static int epoll_wait_dispatch(struct loop *l, bool block)
{
	struct loop_epoll *le = to_epoll(l);
	int n;

	if (le->n_ready > 0) {
		/* Fetched by the busy-poll; nothing ran since. */
		n = le->n_ready;
		le->n_ready = 0;
	} else {
		n = epoll_wait(le->epfd, le->events, (int)le->n_events,
			       block ? -1 : 0);
		if (n < 0) {
			return errno == EINTR ? 0 : -errno;
		}
	}
	loop_clock_sample(l);
	for (int i = 0; i < n; i++) {
		uint64_t ud = le->events[i].data.u64;
		struct loop_sock *s;

		switch (loop_tag_kind(ud)) {
		case LOOP_TAG_RECV:
			/* NULL or closing when an earlier callback removed it.
			 */
			s = loop_sock_lookup(l, loop_tag_idx(ud),
					     loop_tag_gen(ud));
			if (!s) {
				break;
			}
			if (s->kind == LOOP_SLOT_STREAM) {
				if (!s->closing) {
					on_stream_event(le, s,
							le->events[i].events);
				}
			} else if (s->rx_armed) {
				on_socket_event(le, s, le->events[i].events);
			}
			break;
		case LOOP_TAG_CONNECT:
			s = loop_sock_lookup(l, loop_tag_idx(ud),
					     loop_tag_gen(ud));
			if (s && s->kind == LOOP_SLOT_CONNECT) {
				/* Out of the set before fn may add it. */
				epoll_ctl(le->epfd, EPOLL_CTL_DEL, s->fd, NULL);
				loop_connect_done(l, s,
						  (int)le->events[i].events);
			}
			break;
		case LOOP_TAG_TIMER:
			drain(l, l->timer_fd, true);
			break;
		case LOOP_TAG_WAKE:
			drain(l, l->wake_fd, false);
			break;
		case LOOP_TAG_IGNORE:
		case LOOP_TAG_SEND:
		case LOOP_TAG_TIMEOUT:
		case LOOP_TAG_TXPOLL:
		case LOOP_TAG_ERRQ:
			break;
		}
	}
	return n;
}

/*
 * Busy-poll look: epoll_wait(2) with timeout 0 (a syscall: epoll has no
 * queue in memory), keeping what it returned for the wait that follows.
 */
static bool epoll_ready(struct loop *l)
{
	struct loop_epoll *le = to_epoll(l);
	int n;

	if (le->n_ready > 0) {
		return true;
	}
	n = epoll_wait(le->epfd, le->events, (int)le->n_events, 0);
	if (n > 0) {
		le->n_ready = n;
		return true;
	}
	return false;
}

static void epoll_free(struct loop *l)
{
	struct loop_epoll *le = to_epoll(l);

	if (le->epfd >= 0) {
		close(le->epfd);
	}
	free(le->events);
	free(le->rx_buf);
	free(le->slots);
	loop_common_fini(l);
	free(le);
}

static const struct loop_ops epoll_ops = {
    .free = epoll_free,
    .sock_arm = epoll_sock_arm,
    .sock_cancel = epoll_sock_cancel,
    .send = epoll_send,
    .connect_arm = epoll_connect_arm,
    .connect_cancel = epoll_connect_cancel,
    .timer_set = epoll_timer_set,
    .wait = epoll_wait_dispatch,
    .flush = NULL,
    .ready = epoll_ready,
};

static int add_fd(struct loop_epoll *le, int fd, enum loop_tag tag)
{
	struct epoll_event ev = {
	    .events = EPOLLIN,
	    .data.u64 = loop_tag_make(tag, 0, 0),
	};

	if (epoll_ctl(le->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		return -errno;
	}
	return 0;
}

int loop_epoll_new(const struct loop_config *cfg, struct wheel *w,
		   struct loop **ret)
{
	struct loop_epoll *le;
	struct loop *l;
	int r;

	if (cfg->timer == LOOP_TIMER_URING_TIMEOUT) {
		return -EINVAL;
	}
	le = calloc(1, sizeof(*le));
	if (!le) {
		return -ENOMEM;
	}
	l = &le->loop;
	le->epfd = -1;
	l->ops = &epoll_ops;
	l->backend = LOOP_EPOLL;
	l->rx_mode = LOOP_RX_EPOLL;
	r = loop_common_init(l, cfg, w, true, 1);
	/* LOOP_TIMER_URING_WAIT means the timerfd here (loop.h). */
	l->cfg.timer = LOOP_TIMER_TIMERFD;
	if (r < 0) {
		goto fail;
	}
	le->n_events = cfg->max_sockets + 2;
	le->events = calloc(le->n_events, sizeof(*le->events));
	le->rx_buf = malloc(cfg->max_msg);
	le->slots = calloc(cfg->max_sockets, sizeof(*le->slots));
	if (!le->events || !le->rx_buf || !le->slots) {
		r = -ENOMEM;
		goto fail;
	}
	le->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (le->epfd < 0) {
		r = -errno;
		goto fail;
	}
	r = add_fd(le, l->timer_fd, LOOP_TAG_TIMER);
	if (r < 0) {
		goto fail;
	}
	r = add_fd(le, l->wake_fd, LOOP_TAG_WAKE);
	if (r < 0) {
		goto fail;
	}
	snprintf(l->note, sizeof(l->note), "epoll, %s, timerfd",
		 loop_rx_mode_name(l->rx_mode));
	*ret = l;
	return 0;

fail:
	epoll_free(l);
	return r;
}
