/* SPDX-License-Identifier: MIT */
/*
 * daemon/notify: what ttwsd tells its service manager, from made-up
 * snapshots and times (no clock, no socket: messages are captured).
 * READY=1 waits for the RT heartbeat and carries the first snapshot
 * STATUS=; STATUS= goes only on change; WATCHDOG=1 goes every quarter of
 * the timeout only while the heartbeat advances and PipeWire is not gone
 * past the grace period; the status line names each configured ear and
 * the source, and is cut, not overrun, in a small buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/engine.h"
#include "daemon/notify.h"

#define SEC UINT64_C(1000000000)
#define T0 (1000 * SEC)
#define WD (2 * SEC) /* WATCHDOG_USEC=2000000 */
#define TICK (50 * UINT64_C(1000000)) /* the main loop's */

#define CAP_MAX 256

static struct {
	unsigned n;
	char msg[CAP_MAX][NOTIFY_STATUS_MAX + 32];
} cap;

static int cap_send(const char *msg, void *user_data)
{
	assert_ptr_equal(user_data, &cap);
	assert_true(cap.n < CAP_MAX);
	assert_true(strlen(msg) < sizeof(cap.msg[0]));
	strcpy(cap.msg[cap.n++], msg);
	return 1;
}

static unsigned cap_count(const char *msg)
{
	unsigned i, n = 0;

	for (i = 0; i < cap.n; i++) {
		n += strcmp(cap.msg[i], msg) == 0;
	}
	return n;
}

static struct conf cf;
static struct engine_snapshot snap;
static struct notify_view view;
static struct notify nt;

static int setup(void **state)
{
	memset(&cap, 0, sizeof(cap));
	memset(&cf, 0, sizeof(cf));
	memset(&snap, 0, sizeof(snap));
	cf.link[CONF_EAR_LEFT].transport = CONF_TRANSPORT_UNIX;
	cf.link[CONF_EAR_RIGHT].transport = CONF_TRANSPORT_UNIX;
	view = (struct notify_view){ .snap = &snap, .conf = &cf };
	notify_init(&nt, WD, cap_send, &cap);
	return 0;
}

static void text(uint64_t now, char *buf, size_t size)
{
	notify_status_text(&view, now, buf, size);
}

/* READY=1 only once the heartbeat is seen, with the snapshot's STATUS=,
 * and after the starting STATUS=. */
static void notify_ready_after_heartbeat(void **state)
{
	uint64_t t = T0;

	notify_starting(&nt, "configuration loaded");
	assert_int_equal(cap.n, 1);
	assert_string_equal(cap.msg[0],
			    "STATUS=starting: configuration loaded");
	snap.ear[CONF_EAR_LEFT].link.state = LINK_ST_CONNECTING;
	snap.ear[CONF_EAR_RIGHT].link.state = LINK_ST_CONNECTING;
	for (; t < T0 + SEC; t += TICK) {
		notify_tick(&nt, &view, t);
	}
	assert_int_equal(cap.n, 1); /* heartbeat 0: nothing */
	assert_false(nt.ready);
	snap.heartbeat = 1;
	notify_tick(&nt, &view, t);
	assert_true(nt.ready);
	assert_string_equal(cap.msg[1],
			    "READY=1\nSTATUS=left connecting, right "
			    "connecting; test tone");
	/* The first ping goes with it: the heartbeat moved. */
	assert_int_equal(cap_count("WATCHDOG=1"), 1);
	for (t += TICK; t < T0 + 5 * SEC; t += TICK) {
		snap.heartbeat++;
		notify_tick(&nt, &view, t);
	}
	assert_int_equal(nt.ready, true);
	for (unsigned i = 2; i < cap.n; i++) {
		assert_null(strstr(cap.msg[i], "READY=1"));
	}
}

/* STATUS= only when the line changes. */
static void notify_status_on_change(void **state)
{
	uint64_t t = T0;
	unsigned i, statuses = 0;

	snap.heartbeat = 1;
	notify_tick(&nt, &view, t);
	for (i = 0; i < 40; i++) {
		t += TICK;
		snap.heartbeat++;
		if (i == 10) {
			snap.ear[CONF_EAR_LEFT].link.state = LINK_ST_STREAMING;
		}
		if (i == 20) {
			snap.ear[CONF_EAR_RIGHT].link.state =
				LINK_ST_STREAMING;
		}
		notify_tick(&nt, &view, t);
	}
	for (i = 0; i < cap.n; i++) {
		statuses += strstr(cap.msg[i], "STATUS=") != NULL;
	}
	assert_int_equal(statuses, 3); /* READY's, left locked, both */
	assert_int_equal(cap_count("STATUS=left locked, right disconnected; "
				   "test tone"),
			 1);
	assert_int_equal(
		cap_count("STATUS=left locked, right locked; test tone"), 1);
	assert_string_equal(nt.status,
			    "left locked, right locked; test tone");
}

/* Every quarter of the timeout while the heartbeat advances; none while
 * it stands still, and again as soon as it moves. */
static void notify_watchdog_follows_heartbeat(void **state)
{
	uint64_t t, last = 0, gap, max_gap = 0;
	unsigned before;

	for (t = T0; t < T0 + 10 * SEC; t += TICK) {
		snap.heartbeat++;
		before = nt.pings;
		notify_tick(&nt, &view, t);
		if (nt.pings != before) {
			if (last) {
				gap = t - last;
				assert_true(gap >= WD / 4);
				max_gap = gap > max_gap ? gap : max_gap;
			}
			last = t;
		}
	}
	assert_true(max_gap <= WD / 4 + TICK);
	assert_true(nt.pings >= 19);
	/* The RT loop stalls for 5 s: at most the one ping its progress
	 * since the last earned, within a quarter of the timeout; then
	 * none. */
	before = nt.pings;
	for (; t < T0 + 10 * SEC + WD / 4 + TICK; t += TICK) {
		notify_tick(&nt, &view, t);
	}
	assert_true(nt.pings <= before + 1);
	before = nt.pings;
	for (; t < T0 + 15 * SEC; t += TICK) {
		notify_tick(&nt, &view, t);
	}
	assert_int_equal(nt.pings, before);
	assert_true(nt.withheld >= 8);
	snap.heartbeat++;
	notify_tick(&nt, &view, t);
	assert_int_equal(nt.pings, before + 1);
}

/* No watchdog configured: never a ping. */
static void notify_watchdog_off(void **state)
{
	uint64_t t;

	notify_init(&nt, 0, cap_send, &cap);
	for (t = T0; t < T0 + 5 * SEC; t += TICK) {
		snap.heartbeat++;
		notify_tick(&nt, &view, t);
	}
	assert_int_equal(cap_count("WATCHDOG=1"), 0);
	assert_true(nt.ready);
}

/* PipeWire gone: pings go on through the grace period, stop after it,
 * and start again when it is back. */
static void notify_watchdog_sink_grace(void **state)
{
	uint64_t t = T0, gone_at = T0 + SEC;
	unsigned at_grace;

	view.pipewire = true;
	view.sink_registered = true;
	for (; t <= gone_at; t += TICK) {
		snap.heartbeat++;
		notify_tick(&nt, &view, t);
	}
	view.sink_registered = false;
	view.sink_gone_since_ns = gone_at;
	for (; t <= gone_at + NOTIFY_SINK_GRACE_NS; t += TICK) {
		snap.heartbeat++;
		notify_tick(&nt, &view, t);
	}
	/* Within the grace: a ping every 0.5 s all along. */
	assert_true(nt.pings >= (NOTIFY_SINK_GRACE_NS + SEC) / (WD / 4) - 2);
	assert_string_equal(nt.status, "left disconnected, right "
				       "disconnected; PipeWire gone since "
				       "30 s, reconnecting");
	at_grace = nt.pings;
	for (; t <= gone_at + NOTIFY_SINK_GRACE_NS + 10 * SEC; t += TICK) {
		snap.heartbeat++;
		notify_tick(&nt, &view, t);
	}
	assert_true(nt.pings <= at_grace + 1);
	assert_true(nt.withheld >= 15);
	/* The grace counts the same when PipeWire was never there. */
	view.sink_waiting = true;
	snap.heartbeat++;
	assert_false(notify_healthy(&nt, &view, t));
	view.sink_waiting = false;
	/* Back: the next tick pings. */
	at_grace = nt.pings;
	view.sink_gone_since_ns = 0;
	view.sink_registered = true;
	snap.heartbeat++;
	notify_tick(&nt, &view, t);
	assert_int_equal(nt.pings, at_grace + 1);
	assert_string_equal(nt.status,
			    "left disconnected, right disconnected; "
			    "ttws.sink idle");
	/* A source other than PipeWire ignores the sink entirely. */
	view.pipewire = false;
	view.sink_gone_since_ns = T0;
	snap.heartbeat++;
	assert_true(notify_healthy(&nt, &view,
				   T0 + 10 * NOTIFY_SINK_GRACE_NS));
	view.pipewire = true;
	assert_false(notify_healthy(&nt, &view,
				    T0 + 10 * NOTIFY_SINK_GRACE_NS));
}

/* The line: configured ears only, the sink's states, cut safely. */
static void notify_status_text_cases(void **state)
{
	char buf[NOTIFY_STATUS_MAX], small[12];

	cf.link[CONF_EAR_LEFT].transport = CONF_TRANSPORT_NONE;
	snap.ear[CONF_EAR_RIGHT].link.state = LINK_ST_SYNCING;
	text(T0, buf, sizeof(buf));
	assert_string_equal(buf, "right syncing; test tone");
	cf.link[CONF_EAR_LEFT].transport = CONF_TRANSPORT_L2CAP;
	snap.ear[CONF_EAR_LEFT].link.state = LINK_ST_HELLO;
	view.pipewire = true;
	text(T0, buf, sizeof(buf));
	assert_string_equal(buf, "left handshaking, right syncing; "
				 "ttws.sink registering");
	view.sink_registered = true;
	view.sink_streaming = true;
	text(T0, buf, sizeof(buf));
	assert_string_equal(buf, "left handshaking, right syncing; "
				 "ttws.sink streaming");
	view.sink_gone_since_ns = T0;
	text(T0 + 4 * SEC + SEC / 2, buf, sizeof(buf));
	assert_string_equal(buf, "left handshaking, right syncing; PipeWire "
				 "gone since 4 s, reconnecting");
	/* Not there yet at start: waiting, not reconnecting. */
	view.sink_waiting = true;
	text(T0 + 2 * SEC, buf, sizeof(buf));
	assert_string_equal(buf, "left handshaking, right syncing; waiting "
				 "for PipeWire since 2 s");
	view.sink_waiting = false;
	/* A clock that reads before the loss (not possible, but safe). */
	text(T0 - SEC, buf, sizeof(buf));
	assert_non_null(strstr(buf, "gone since 0 s"));
	memset(small, 'x', sizeof(small));
	text(T0, small, sizeof(small) - 1);
	assert_int_equal(strlen(small), sizeof(small) - 2);
	assert_int_equal(small[sizeof(small) - 1], 'x');
	assert_string_equal(small, "left hands");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(notify_ready_after_heartbeat, setup),
		cmocka_unit_test_setup(notify_status_on_change, setup),
		cmocka_unit_test_setup(notify_watchdog_follows_heartbeat,
				       setup),
		cmocka_unit_test_setup(notify_watchdog_off, setup),
		cmocka_unit_test_setup(notify_watchdog_sink_grace, setup),
		cmocka_unit_test_setup(notify_status_text_cases, setup),
	};

	return cmocka_run_group_tests_name("notify", tests, NULL, NULL);
}
