/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the loop's busy-poll window (loop_config.busy_poll_ns),
 * on io_uring with the timerfd, io_uring with the wait's own timeout,
 * and epoll: names are busypoll/<variant>/<what_it_checks>.
 *
 * No timing assertions: the loop's clock is injected (loop_set_hooks(),
 * one step per read) and the hook that runs at every look at the queue
 * posts the datagram, so what happens inside the window is decided by
 * the number of looks, not by how fast this machine is. "Without
 * sleeping" is the loop's count of blocking waits (loop_counters.sleeps)
 * not moving.
 */

#include <errno.h>
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

#define US (UINT64_C(1000))

struct variant {
	const char *name;
	enum loop_backend backend;
	enum loop_timer timer;
};

static const struct variant variants[] = {
    {"io_uring", LOOP_IO_URING, LOOP_TIMER_TIMERFD},
    {"io_uring_wait", LOOP_IO_URING, LOOP_TIMER_URING_WAIT},
    {"epoll", LOOP_EPOLL, LOOP_TIMER_TIMERFD},
};

struct bp {
	struct wheel *w;
	struct loop *l;
	int sv[2];
	struct loop_sock *s;
	unsigned rx; /* datagrams delivered */

	/* Injected clock: base + step per read. */
	uint64_t clock_ns;
	uint64_t step_ns;
	/* Hook: looks at the queue, the clock at the last one, and at
	 * which look to send a datagram (0 = never). */
	unsigned looks;
	uint64_t last_look_ns;
	unsigned send_at;

	struct wheel_timer t;
	unsigned fired;
};

static struct bp bp; /* one test at a time */

static uint64_t fake_now(void *user_data)
{
	struct bp *b = user_data;

	b->clock_ns += b->step_ns;
	return b->clock_ns;
}

static void on_look(struct loop *l, void *user_data)
{
	struct bp *b = user_data;
	uint32_t v = 2;

	(void)l;
	b->looks++;
	b->last_look_ns = b->clock_ns;
	if (b->send_at && b->looks == b->send_at) {
		assert_int_equal(send(b->sv[1], &v, sizeof(v), 0),
				 (ssize_t)sizeof(v));
	}
}

static void on_rx(struct loop *l, struct loop_sock *s, const struct loop_rx *rx,
		  void *user_data)
{
	struct bp *b = user_data;

	(void)l;
	(void)s;
	if (rx->ev == LOOP_EV_DATA) {
		b->rx++;
	}
}

static void on_timer(struct wheel_timer *t, uint64_t now_ns)
{
	struct bp *b = container_of(t, struct bp, t);

	(void)now_ns;
	b->fired++;
}

/* A loop with busy_poll_ns, the injected clock from real now, stepping
 * step_ns per read, and one AF_UNIX datagram socket. */
static struct bp *bp_open(void **state, uint64_t busy_poll_ns,
			  uint64_t step_ns)
{
	const struct variant *v = *state;
	struct bp *b = &bp;
	struct loop_config c;
	struct loop_hooks h = {
	    .now_ns = fake_now,
	    .busy_poll = on_look,
	    .user_data = b,
	};

	memset(b, 0, sizeof(*b));
	loop_config_default(&c);
	c.backend = v->backend;
	c.timer = v->timer;
	c.busy_poll_ns = busy_poll_ns;
	b->w = wheel_new(rt_now_ns());
	assert_non_null(b->w);
	assert_int_equal(loop_new(&c, b->w, &b->l), 0);
	assert_int_equal(
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
		       0, b->sv),
	    0);
	assert_int_equal(loop_add_socket(b->l, b->sv[0], on_rx, b, &b->s), 0);
	b->clock_ns = rt_now_ns();
	b->step_ns = step_ns;
	loop_set_hooks(b->l, &h);
	wheel_timer_init(&b->t, WHEEL_HARD, 0, on_timer);
	return b;
}

static void bp_close(struct bp *b)
{
	b->l = loop_free(b->l);
	close(b->sv[0]);
	close(b->sv[1]);
	b->w = wheel_free(b->w);
}

/* Handle one datagram, so that the next iteration opens a window. */
static void handle_one(struct bp *b)
{
	uint32_t v = 1;
	unsigned rx = b->rx;

	assert_int_equal(send(b->sv[1], &v, sizeof(v), 0), (ssize_t)sizeof(v));
	for (int i = 0; i < 10 && b->rx == rx; i++) {
		assert_true(loop_run_once(b->l, true) >= 0);
	}
	assert_int_equal(b->rx, rx + 1);
}

/*
 * A datagram posted at the third look of the window is handled by that
 * iteration, and the loop never entered a blocking wait for it.
 */
static void test_completion_in_window(void **state)
{
	struct bp *b = bp_open(state, LOOP_BUSY_POLL_MAX_NS, 1 * US);
	struct loop_counters c0, c1;

	/* A watchdog far beyond the window, so a bug cannot hang. */
	assert_int_equal(wheel_add(b->w, &b->t, b->clock_ns + 2000000 * US),
			 0);
	handle_one(b);
	loop_get_counters(b->l, &c0);
	b->looks = 0;
	b->send_at = 3;
	assert_true(loop_run_once(b->l, true) >= 1);
	loop_get_counters(b->l, &c1);

	assert_int_equal(b->rx, 2);
	assert_int_equal(b->looks, 3);
	assert_int_equal(c1.sleeps, c0.sleeps);
	assert_int_equal(c1.busy_polls, c0.busy_polls + 1);
	assert_int_equal(c1.busy_poll_hits, c0.busy_poll_hits + 1);
	assert_int_equal(b->fired, 0);
	bp_close(b);
}

/*
 * A hard deadline 300 us out and a window of 1 ms: the looks stop
 * before the deadline minus the margin, the loop then sleeps, and the
 * timer still fires. With 10 us per clock read the whole window would
 * have taken 100 looks.
 */
static void test_never_past_deadline(void **state)
{
	struct bp *b = bp_open(state, LOOP_BUSY_POLL_MAX_NS, 10 * US);
	struct loop_counters c0, c1;
	uint64_t dl;

	handle_one(b);
	dl = b->clock_ns + 300 * US;
	assert_int_equal(wheel_add(b->w, &b->t, dl), 0);
	loop_get_counters(b->l, &c0);
	b->looks = 0;
	for (int i = 0; i < 1000 && !b->fired; i++) {
		assert_true(loop_run_once(b->l, true) >= 0);
	}
	loop_get_counters(b->l, &c1);

	assert_int_equal(b->fired, 1);
	assert_true(b->looks >= 1);
	assert_true(b->looks <= 30);
	assert_true(b->last_look_ns < dl - LOOP_BUSY_POLL_MARGIN_NS);
	assert_int_equal(c1.busy_polls, c0.busy_polls + 1);
	assert_int_equal(c1.busy_poll_hits, c0.busy_poll_hits);
	assert_true(c1.sleeps >= c0.sleeps + 1);
	bp_close(b);
}

/* busy_poll_ns 0: after handling, the next wait blocks at once. */
static void test_zero_sleeps_at_once(void **state)
{
	struct bp *b = bp_open(state, 0, 200 * US);
	struct loop_counters c0, c1;

	handle_one(b);
	assert_int_equal(wheel_add(b->w, &b->t, b->clock_ns + 1000 * US), 0);
	loop_get_counters(b->l, &c0);
	b->looks = 0;
	for (int i = 0; i < 1000 && !b->fired; i++) {
		assert_true(loop_run_once(b->l, true) >= 0);
	}
	loop_get_counters(b->l, &c1);

	assert_int_equal(b->fired, 1);
	assert_int_equal(b->looks, 0);
	assert_int_equal(c1.busy_polls, 0);
	assert_true(c1.sleeps >= c0.sleeps + 1);
	bp_close(b);
}

/* No window after an iteration that handled nothing (a signal, a
 * spurious return): busy-poll follows work, it does not replace sleep. */
static void test_no_window_without_work(void **state)
{
	struct bp *b = bp_open(state, LOOP_BUSY_POLL_MAX_NS, 200 * US);
	struct loop_counters c;

	assert_int_equal(loop_run_once(b->l, false), 0);
	assert_int_equal(wheel_add(b->w, &b->t, b->clock_ns + 1000 * US), 0);
	assert_true(loop_run_once(b->l, true) >= 0);
	loop_get_counters(b->l, &c);
	assert_int_equal(b->looks, 0);
	assert_int_equal(c.busy_polls, 0);
	bp_close(b);
}

static void test_config(void **state)
{
	struct loop_config c;
	struct wheel *w = wheel_new(rt_now_ns());
	struct loop *l = NULL;
	enum loop_timer t;

	(void)state;
	loop_config_default(&c);
	assert_int_equal(c.busy_poll_ns, 0);
	c.busy_poll_ns = LOOP_BUSY_POLL_MAX_NS + 1;
	assert_int_equal(loop_new(&c, w, &l), -EINVAL);
	c.busy_poll_ns = 0;
	/* The default: a timerfd (loop_config.c says why). */
	assert_int_equal(c.timer, LOOP_TIMER_TIMERFD);
	c.backend = LOOP_EPOLL;
	assert_int_equal(loop_new(&c, w, &l), 0);
	assert_non_null(strstr(loop_backend_note(l), "timerfd"));
	l = loop_free(l);
	c.timer = LOOP_TIMER_URING_TIMEOUT;
	assert_int_equal(loop_new(&c, w, &l), -EINVAL);
	assert_null(l);
	assert_int_equal(loop_timer_from_string("uring-wait", &t), 0);
	assert_int_equal(t, LOOP_TIMER_URING_WAIT);
	assert_string_equal(loop_timer_name(LOOP_TIMER_URING_TIMEOUT),
			    "uring-timeout");
	assert_int_equal(loop_timer_from_string("nope", &t), -EINVAL);
	wheel_free(w);
}

int main(void)
{
	static const struct {
		const char *name;
		CMUnitTestFunction fn;
	} cases[] = {
	    {"completion_in_window_without_sleep", test_completion_in_window},
	    {"never_polls_past_deadline", test_never_past_deadline},
	    {"zero_sleeps_at_once", test_zero_sleeps_at_once},
	    {"no_window_without_work", test_no_window_without_work},
	};
	static char names[ARRAY_SIZE(variants) * ARRAY_SIZE(cases)][96];
	static struct CMUnitTest tests[ARRAY_SIZE(names) + 1];
	size_t n = 0;

	tests[n++] = (struct CMUnitTest){
	    .name = "busypoll/config",
	    .test_func = test_config,
	};
	for (size_t v = 0; v < ARRAY_SIZE(variants); v++) {
		for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
			char *name = names[v * ARRAY_SIZE(cases) + c];

			snprintf(name, sizeof(names[0]), "busypoll/%s/%s",
				 variants[v].name, cases[c].name);
			tests[n++] = (struct CMUnitTest){
			    .name = name,
			    .test_func = cases[c].fn,
			    .initial_state = (void *)&variants[v],
			};
		}
	}
	return _cmocka_run_group_tests("loop-busypoll", tests, n, NULL, NULL);
}
