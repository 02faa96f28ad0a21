/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of receive coalescing (loop_config.rx_defer_ns) on a real
 * io_uring with IORING_SETUP_DEFER_TASKRUN, real AF_UNIX datagrams and
 * the wait's own timeout.
 *
 * No timing assertions on speed: what is checked is WHEN a datagram sent
 * before the loop waits is handled relative to a timer's deadline: at or
 * after it, in the timer's wake-up, when coalescing holds it; at once,
 * long before it, when it does not. Its kernel receive timestamp stays
 * before the deadline (held, not late). The deadlines are far enough
 * (50..500 ms) that only a stall of that length could change an answer.
 */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/macro.h"
#include "core/wheel.h"
#include "os/loop.h"
#include "os/loop_private.h"
#include "os/rt.h"

#define MS (UINT64_C(1000000))

struct co {
	struct wheel *w;
	struct loop *l;
	int sv[2];
	struct loop_sock *s;
	struct wheel_timer t;
	uint64_t deadline_ns;
	unsigned fired;
	unsigned rx;
	uint64_t handled_ns; /* when the last datagram's callback ran */
	uint64_t rx_ts_ns;   /* the last datagram's kernel timestamp */
};

static struct co co; /* one test at a time */

static void on_rx(struct loop *l, struct loop_sock *s, const struct loop_rx *rx,
		  void *user_data)
{
	struct co *c = user_data;

	(void)l;
	(void)s;
	if (rx->ev != LOOP_EV_DATA) {
		return;
	}
	c->rx++;
	c->rx_ts_ns = rx->kernel_ts_ns;
	c->handled_ns = rt_now_ns();
}

static void on_timer(struct wheel_timer *t, uint64_t now_ns)
{
	struct co *c = container_of(t, struct co, t);

	(void)now_ns;
	c->fired++;
}

/* A uring-wait loop coalescing for rx_defer_ns, one datagram socket and
 * a hard timer deadline_ms from now; NULL (test skipped) where the
 * kernel has no DEFER_TASKRUN. */
static struct co *co_open(uint64_t rx_defer_ns, uint64_t deadline_ms)
{
	struct co *c = &co;
	struct loop_config cfg;
	char note[256];
	uint64_t now = rt_now_ns();
	int r;

	memset(c, 0, sizeof(*c));
	c->w = wheel_new(now);
	assert_non_null(c->w);
	loop_config_default(&cfg);
	cfg.backend = LOOP_IO_URING;
	cfg.timer = LOOP_TIMER_URING_WAIT;
	cfg.rx_defer_ns = rx_defer_ns;
	r = loop_new(&cfg, c->w, &c->l);
	if (r == -ENOSYS || r == -EPERM) {
		wheel_free(c->w);
		return NULL; /* no io_uring here */
	}
	assert_int_equal(r, 0);
	snprintf(note, sizeof(note), "%s", loop_backend_note(c->l));
	if (!strstr(note, "rx coalescing") ||
	    strstr(note, "rx coalescing off")) {
		loop_free(c->l);
		wheel_free(c->w);
		return NULL;
	}
	assert_int_equal(socketpair(AF_UNIX,
				    SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
				    0, c->sv),
			 0);
	assert_int_equal(loop_add_socket(c->l, c->sv[0], on_rx, c, &c->s), 0);
	wheel_timer_init(&c->t, WHEEL_HARD, 0, on_timer);
	c->deadline_ns = now + deadline_ms * MS;
	wheel_add(c->w, &c->t, c->deadline_ns);
	return c;
}

static void co_close(struct co *c)
{
	loop_remove_socket(c->l, c->s, NULL, NULL);
	loop_run_once(c->l, false);
	c->l = loop_free(c->l);
	close(c->sv[0]);
	close(c->sv[1]);
	c->w = wheel_free(c->w);
}

static void co_send(struct co *c)
{
	uint32_t v = 7;

	assert_int_equal(send(c->sv[1], &v, sizeof(v), 0), (ssize_t)sizeof(v));
}

/* Run until the datagram and the timer were both handled (bounded). */
static void co_run(struct co *c)
{
	for (unsigned i = 0; i < 50 && (!c->fired || !c->rx); i++) {
		assert_true(loop_run_once(c->l, true) >= 0);
	}
	assert_int_equal(c->fired, 1);
	assert_int_equal(c->rx, 1);
}

/* Held: the datagram came at once, was handled at the deadline, and its
 * timestamp is the kernel's (before the deadline), not the handling's. */
static void test_held_to_deadline(void **state)
{
	struct co *c = co_open(90 * MS, 50);
	struct loop_counters k;

	(void)state;
	if (!c) {
		skip();
	}
	co_send(c);
	co_run(c);
	assert_true(c->handled_ns >= c->deadline_ns);
	assert_true(c->rx_ts_ns < c->deadline_ns);
	loop_get_counters(c->l, &k);
	assert_true(k.coalesced_waits >= 1);
	co_close(c);
}

/* loop_set_expecting(): the first completion ends the wait. */
static void test_expecting_wakes_at_once(void **state)
{
	struct co *c = co_open(90 * MS, 80);

	(void)state;
	if (!c) {
		skip();
	}
	loop_set_expecting(c->l, true);
	co_send(c);
	co_run(c);
	assert_true(c->handled_ns < c->deadline_ns);
	co_close(c);
}

/* A deadline further away than the window: not held. */
static void test_not_beyond_window(void **state)
{
	struct co *c = co_open(20 * MS, 500);
	struct loop_counters k;

	(void)state;
	if (!c) {
		skip();
	}
	co_send(c);
	co_run(c);
	assert_true(c->handled_ns < c->deadline_ns);
	loop_get_counters(c->l, &k);
	assert_int_equal(k.coalesced_waits, 0);
	co_close(c);
}

static void on_stream(struct loop *l, struct loop_sock *s,
		      const struct loop_rx *rx, void *user_data)
{
	(void)l;
	(void)s;
	(void)rx;
	(void)user_data;
}

/* A stream (a tty's bytes have no kernel timestamp): not held. */
static void test_stream_turns_it_off(void **state)
{
	struct co *c = co_open(90 * MS, 80);
	struct loop_sock *ss;
	int p[2];

	(void)state;
	if (!c) {
		skip();
	}
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(loop_add_stream(c->l, p[0], on_stream, c, &ss), 0);
	co_send(c);
	co_run(c);
	assert_true(c->handled_ns < c->deadline_ns);
	loop_remove_socket(c->l, ss, NULL, NULL);
	loop_run_once(c->l, false);
	close(p[0]);
	close(p[1]);
	co_close(c);
}

/* Only io_uring's own wait timeout can carry it: refused elsewhere. */
static void test_config_refused(void **state)
{
	struct loop_config cfg;

	(void)state;
	loop_config_default(&cfg);
	cfg.rx_defer_ns = 10 * MS;
	cfg.timer = LOOP_TIMER_TIMERFD;
	assert_int_equal(loop_config_check(&cfg), -EINVAL);
	cfg.timer = LOOP_TIMER_URING_WAIT;
	cfg.backend = LOOP_EPOLL;
	assert_int_equal(loop_config_check(&cfg), -EINVAL);
	cfg.backend = LOOP_IO_URING;
	assert_int_equal(loop_config_check(&cfg), 0);
	cfg.rx_defer_ns = LOOP_RX_DEFER_MAX_NS + 1;
	assert_int_equal(loop_config_check(&cfg), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_held_to_deadline),
	    cmocka_unit_test(test_expecting_wakes_at_once),
	    cmocka_unit_test(test_not_beyond_window),
	    cmocka_unit_test(test_stream_turns_it_off),
	    cmocka_unit_test(test_config_refused),
	};

	return cmocka_run_group_tests_name("loop-coalesce", tests, NULL, NULL);
}
