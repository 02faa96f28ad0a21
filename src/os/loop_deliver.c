/* SPDX-License-Identifier: MIT */
/*
 * What the loop hands its owners, shared by both backends: receive
 * timestamps (CLOCK_REALTIME cmsg -> CLOCK_MONOTONIC), datagrams, EOF
 * and errors to the socket callbacks, transmit stamps from the error
 * queue (mapped back to loop_send_seq()'s numbers) and stream reads.
 * See loop.h for the contract, loop_private.h for the split.
 */

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/macro.h"
#include "core/txstamp.h"
#include "os/loop.h"
#include "os/loop_private.h"
#include "os/rt.h"

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
	l->seen_ns = m1;
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

/*
 * When the loop saw the completion it is handling at user_ns: the round's
 * instant, never after user_ns (a callback run outside a dispatch round
 * has none).
 */
static uint64_t seen_at(const struct loop *l, uint64_t user_ns)
{
	return l->seen_ns && l->seen_ns <= user_ns ? l->seen_ns : user_ns;
}

/* A data callback ran from user_ns to now: loop_counters.rx_handler_*. */
static void count_handler(struct loop *l, uint64_t user_ns)
{
	uint64_t d = rt_now_ns() - user_ns;

	LOOP_COUNT_ADD(l, rx_handler_ns, d);
	if (d > l->counters.rx_handler_max_ns) {
		__atomic_store_n(&l->counters.rx_handler_max_ns, d,
				 __ATOMIC_RELAXED);
	}
}

bool loop_deliver_data(struct loop *l, struct loop_sock *s, const void *data,
		       size_t len, int flags, uint64_t realtime_ns)
{
	struct loop_rx rx = {.ev = LOOP_EV_DATA};

	if (s->closing || s->rx_stopped) {
		return true;
	}
	/* The handler's start: the last thing before the callback. */
	rx.user_ts_ns = rt_now_ns();
	rx.seen_ns = seen_at(l, rx.user_ts_ns);
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
		/* Stamped after the round's look (read later in the round):
		 * seen no earlier than it existed. */
		if (rx.seen_ns < rx.kernel_ts_ns) {
			rx.seen_ns = rx.kernel_ts_ns;
		}
	} else {
		LOOP_COUNT(l, rx_no_kernel_ts);
	}
	LOOP_COUNT(l, rx);
	s->fn(l, s, &rx, s->user_data);
	count_handler(l, rx.user_ts_ns);
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
	rx.seen_ns = seen_at(l, rx.user_ts_ns);
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
	uint32_t n =
	    s->tx_key_next < LOOP_TXKEY_RING ? s->tx_key_next : LOOP_TXKEY_RING;

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
	rx.seen_ns = seen_at(l, rx.user_ts_ns);
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
	rx.seen_ns = seen_at(l, rx.user_ts_ns);
	s->fn(l, s, &rx, s->user_data);
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
