/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/wheel.h"
#include "core/macro.h"

#define HOUR_NS (3600 * NSEC_PER_SEC)
#define DAY_NS (24 * HOUR_NS)

/* A test timer: records every firing in the global log. */
struct tt {
	struct wheel_timer t;
	unsigned id;
	unsigned fired;
	uint64_t fired_at;
	void (*action)(struct tt *x, uint64_t now_ns);
};

#define LOG_MAX 4096
static struct {
	unsigned id;
	uint64_t now;
} fire_log[LOG_MAX];
static unsigned nlog;
static struct wheel *cur_wheel; /* for actions run from callbacks */

static void tt_fn(struct wheel_timer *t, uint64_t now_ns)
{
	struct tt *x = container_of(t, struct tt, t);

	assert_false(wheel_pending(t));
	assert_true(nlog < LOG_MAX);
	fire_log[nlog].id = x->id;
	fire_log[nlog].now = now_ns;
	nlog++;
	x->fired++;
	x->fired_at = now_ns;
	if (x->action) {
		x->action(x, now_ns);
	}
}

static void tt_init(struct tt *x, unsigned id, enum wheel_class cls,
		    uint64_t slack_ns)
{
	memset(x, 0, sizeof(*x));
	x->id = id;
	wheel_timer_init(&x->t, cls, slack_ns, tt_fn);
}

static void tt_add(struct wheel *w, struct tt *x, uint64_t deadline_ns)
{
	assert_int_equal(wheel_add(w, &x->t, deadline_ns), 0);
	assert_true(wheel_pending(&x->t));
	assert_int_equal(wheel_check(w), 0);
}

static unsigned expire(struct wheel *w, uint64_t now_ns)
{
	unsigned n = wheel_expire(w, now_ns);

	assert_int_equal(wheel_check(w), 0);
	return n;
}

static struct wheel *new_wheel(uint64_t now_ns)
{
	struct wheel *w = wheel_new(now_ns);

	assert_non_null(w);
	assert_int_equal(wheel_now(w), now_ns);
	assert_int_equal(wheel_check(w), 0);
	nlog = 0;
	cur_wheel = w;
	return w;
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/*
 * Deadlines spread over every level, several per slot of the higher levels
 * and added out of order, with duplicates: one big jump must deliver them
 * sorted, duplicates in add order.
 */
#define ORD_N 300
static void test_ordering(void **state)
{
	static struct tt tt[ORD_N];
	uint64_t dl[ORD_N], base = 1000003, seed = 42;
	unsigned order[ORD_N], i, j;
	struct wheel *w = new_wheel(base);

	for (i = 0; i < ORD_N; i++) {
		uint64_t mag = UINT64_C(1) << (splitmix64(&seed) % 44);

		if (i % 7 == 3) {
			dl[i] = dl[i / 2]; /* duplicate of an earlier one */
		} else {
			dl[i] = base + 1 + splitmix64(&seed) % mag;
		}
		tt_init(&tt[i], i, i % 3 ? WHEEL_HARD : WHEEL_SOFT, 0);
		tt_add(w, &tt[i], dl[i]);
	}
	assert_int_equal(wheel_count(w), ORD_N);

	/* Expected: stable sort of the add order by deadline. */
	for (i = 0; i < ORD_N; i++) {
		order[i] = i;
	}
	for (i = 1; i < ORD_N; i++) {
		unsigned v = order[i];

		for (j = i; j > 0 && dl[order[j - 1]] > dl[v]; j--) {
			order[j] = order[j - 1];
		}
		order[j] = v;
	}

	assert_int_equal(expire(w, base + (UINT64_C(1) << 44)), ORD_N);
	assert_int_equal(nlog, ORD_N);
	for (i = 0; i < ORD_N; i++) {
		assert_int_equal(fire_log[i].id, order[i]);
	}
	assert_int_equal(wheel_count(w), 0);

	/* Same set, reached in uneven steps: each fires at its step. */
	nlog = 0;
	base = wheel_now(w);
	for (i = 0; i < ORD_N; i++) {
		dl[i] += base;
		tt_add(w, &tt[i], dl[i]);
	}
	while (wheel_count(w)) {
		uint64_t prev = wheel_now(w);
		uint64_t now =
		    prev + 1 + splitmix64(&seed) % (prev - base + 97);
		unsigned first = nlog;

		expire(w, now);
		for (i = first; i < nlog; i++) {
			assert_true(dl[fire_log[i].id] > prev);
			assert_true(dl[fire_log[i].id] <= now);
		}
	}
	for (i = 0; i < ORD_N; i++) {
		assert_int_equal(fire_log[i].id, order[i]);
	}
	wheel_free(w);
}

static void test_fifo(void **state)
{
	struct tt tt[10];
	const uint64_t d = 1000000;
	struct wheel *w = new_wheel(0);
	unsigned i, want[] = {0, 1, 2, 4, 5, 6, 7, 8, 9, 3};

	/*
	 * Added at different times, so first filed at different levels and
	 * cascaded at different moments: the add order must survive.
	 */
	for (i = 0; i < 10; i++) {
		tt_init(&tt[i], i, i & 1 ? WHEEL_SOFT : WHEEL_HARD, 1);
		tt_add(w, &tt[i], d);
		expire(w, d - (d >> (i + 1)));
	}
	tt_add(w, &tt[3], d); /* a move is a new add: goes last */
	assert_int_equal(expire(w, d - 1), 0);
	assert_int_equal(expire(w, d), 10);
	for (i = 0; i < 10; i++) {
		assert_int_equal(fire_log[i].id, want[i]);
	}

	/*
	 * Two instants interleaved in one level 2 slot: a big jump must sort
	 * them and keep each instant's add order.
	 */
	nlog = 0;
	tt_add(w, &tt[0], d + 6000);
	tt_add(w, &tt[1], d + 5000);
	tt_add(w, &tt[2], d + 6000);
	tt_add(w, &tt[3], d + 5000);
	tt_add(w, &tt[4], d + 6000);
	tt_add(w, &tt[5], d + 5000);
	assert_int_equal(expire(w, d + 10000), 6);
	assert_int_equal(fire_log[0].id, 1);
	assert_int_equal(fire_log[1].id, 3);
	assert_int_equal(fire_log[2].id, 5);
	assert_int_equal(fire_log[3].id, 0);
	assert_int_equal(fire_log[4].id, 2);
	assert_int_equal(fire_log[5].id, 4);
	wheel_free(w);
}

static const uint64_t exact_deltas[] = {
    1,
    2,
    3,
    63,
    64,
    65,
    127,
    4095,
    4096,
    4097,
    262143,
    1000 + 7,
    999999,
    7500000 + 13,
    NSEC_PER_SEC - 1,
    NSEC_PER_SEC + 1,
    10 * NSEC_PER_SEC + 123457,
    (UINT64_C(1) << 36) + 1,
    HOUR_NS + 12345,
    5 * HOUR_NS - 1,
};

static const uint64_t exact_bases[] = {
    0,
    123456789,
    (UINT64_C(1) << 36) - 1,
    (UINT64_C(1) << 42) - 3,
    UINT64_C(0x0123456789abcdef),
};

static void check_exact(uint64_t base, uint64_t d, unsigned mode)
{
	struct wheel *w = new_wheel(base);
	struct tt a, other;
	uint64_t now = base;
	bool hard = false;

	tt_init(&a, 1, WHEEL_HARD, 0);
	tt_init(&other, 2, WHEEL_HARD, 0);
	tt_add(w, &a, d);
	/* A later neighbour so the slot is shared and cascades carry two. */
	tt_add(w, &other, sat_add(d, 1 + (d - base) / 3));
	assert_int_equal(wheel_next_deadline(w, &hard), d);
	assert_true(hard);

	if (mode == 1) {
		/* Approach by halving the rest: cascades at every level. */
		while (d - now > 1) {
			now += (d - now) / 2;
			assert_int_equal(expire(w, now), 0);
			assert_int_equal(wheel_next_deadline(w, NULL), d);
		}
	} else if (mode == 2) {
		/* Approach in 63 ns steps over the last stretch. */
		now = d - 1 - MIN(d - 1 - base, UINT64_C(4000));
		assert_int_equal(expire(w, now), 0);
		while (now < d - 1) {
			now = MIN(now + 63, d - 1);
			assert_int_equal(expire(w, now), 0);
		}
	}
	assert_int_equal(expire(w, d - 1), 0);
	assert_int_equal(a.fired, 0);
	assert_true(wheel_pending(&a.t));
	assert_int_equal(expire(w, d), 1);
	assert_int_equal(a.fired, 1);
	assert_int_equal(a.fired_at, d);
	assert_int_equal(other.fired, 0);
	wheel_free(w);
}

static void test_hard_exact(void **state)
{
	unsigned b, i, mode;

	for (b = 0; b < ARRAY_SIZE(exact_bases); b++) {
		for (i = 0; i < ARRAY_SIZE(exact_deltas); i++) {
			for (mode = 0; mode < 3; mode++) {
				check_exact(exact_bases[b],
					    exact_bases[b] + exact_deltas[i],
					    mode);
			}
		}
	}
}

static void test_soft_window(void **state)
{
	static const uint64_t slacks[] = {
	    1, 2, 3, 1000, 1023, 1024, 1000000, 7300000, NSEC_PER_SEC,
	};
	unsigned i, b;

	for (i = 0; i < ARRAY_SIZE(slacks); i++) {
		for (b = 0; b < ARRAY_SIZE(exact_bases); b++) {
			uint64_t d =
			    exact_bases[b] + 10 * NSEC_PER_MSEC + 7 * i + 1;
			struct wheel *w = new_wheel(exact_bases[b]);
			uint64_t at;
			bool hard = true;
			struct tt s;

			tt_init(&s, 1, WHEEL_SOFT, slacks[i]);
			tt_add(w, &s, d);
			assert_int_equal(s.t.deadline_ns, d);
			assert_int_equal(s.t.slack_ns, slacks[i]);
			at = wheel_next_deadline(w, &hard);
			assert_false(hard);
			assert_true(at >= d);
			assert_true(at - d < slacks[i]);
			/* Never early, and not at the instant before at. */
			assert_int_equal(expire(w, d - 1), 0);
			assert_int_equal(expire(w, at - 1), 0);
			assert_int_equal(s.fired, 0);
			assert_int_equal(expire(w, at), 1);
			assert_int_equal(s.fired_at, at);
			wheel_free(w);
		}
	}
}

/* Wake-ups needed when the loop always sleeps until next_deadline. */
static unsigned count_wakeups(struct wheel *w)
{
	unsigned wakeups = 0;

	while (wheel_count(w)) {
		uint64_t at = wheel_next_deadline(w, NULL);

		assert_true(expire(w, at) > 0);
		wakeups++;
	}
	return wakeups;
}

static void test_soft_coalesce(void **state)
{
	const uint64_t base = 5 * NSEC_PER_SEC + 777;
	const uint64_t slack = 10 * NSEC_PER_MSEC;
	struct wheel *w = new_wheel(base);
	struct tt tt[8];
	uint64_t dl[8];
	unsigned i;

	/* Deadlines 0.1 ms apart at odd offsets, inside one window. */
	for (i = 0; i < 8; i++) {
		dl[i] =
		    base + 3 * NSEC_PER_MSEC + i * 100 * NSEC_PER_USEC + i * 17;
	}
	/* Control: as hard timers they need one wake-up each. */
	for (i = 0; i < 8; i++) {
		tt_init(&tt[i], i, WHEEL_HARD, 0);
		tt_add(w, &tt[i], dl[i]);
	}
	assert_int_equal(count_wakeups(w), 8);
	wheel_free(w);

	w = new_wheel(base);
	for (i = 0; i < 8; i++) {
		tt_init(&tt[i], i, WHEEL_SOFT, slack);
		tt_add(w, &tt[i], dl[i]);
	}
	assert_int_equal(count_wakeups(w), 1);
	for (i = 0; i < 8; i++) {
		assert_int_equal(tt[i].fired, 1);
		assert_true(tt[i].fired_at >= dl[i]);
		assert_true(tt[i].fired_at <= dl[i] + slack);
		assert_int_equal(fire_log[i].id, i);
	}
	wheel_free(w);
}

static void readd_period(struct tt *x, uint64_t now_ns)
{
	tt_add(cur_wheel, x, now_ns + 7500013);
}

static void readd_past(struct tt *x, uint64_t now_ns)
{
	tt_add(cur_wheel, x, now_ns - 5);
}

static void test_callback_readds_self(void **state)
{
	struct wheel *w = new_wheel(1000);
	struct tt p, q;
	unsigned i;

	tt_init(&p, 1, WHEEL_HARD, 0);
	p.action = readd_period;
	tt_add(w, &p, 1000 + 7500013);
	for (i = 1; i <= 100; i++) {
		uint64_t at = wheel_next_deadline(w, NULL);

		assert_int_equal(at, 1000 + i * UINT64_C(7500013));
		assert_int_equal(expire(w, at - 1), 0);
		assert_int_equal(expire(w, at), 1);
		assert_int_equal(p.fired, i);
		assert_int_equal(p.fired_at, at);
		assert_true(wheel_pending(&p.t));
	}
	wheel_cancel(w, &p.t);

	/* Re-added in the past: once per wheel_expire(), never a loop. */
	tt_init(&q, 2, WHEEL_HARD, 0);
	q.action = readd_past;
	tt_add(w, &q, wheel_now(w) + 10);
	assert_int_equal(expire(w, wheel_now(w) + 10), 1);
	assert_int_equal(wheel_next_deadline(w, NULL), wheel_now(w));
	assert_int_equal(expire(w, wheel_now(w)), 1);
	assert_int_equal(expire(w, wheel_now(w)), 1);
	assert_int_equal(q.fired, 3);
	assert_true(wheel_pending(&q.t));
	wheel_free(w);
}

static struct tt oth[6];

static void act_on_others(struct tt *x, uint64_t now_ns)
{
	wheel_cancel(cur_wheel, &oth[2].t);	   /* in this batch */
	tt_add(cur_wheel, &oth[3], now_ns - 1);	   /* batch -> due */
	tt_add(cur_wheel, &oth[4], now_ns + 1000); /* batch -> later */
	tt_add(cur_wheel, &oth[5], now_ns - 40);   /* new -> due */
	wheel_cancel(cur_wheel, &oth[1].t);	   /* already ran */
}

static void test_callback_cancels_others(void **state)
{
	struct wheel *w = new_wheel(0);
	unsigned i;

	for (i = 0; i < 6; i++) {
		tt_init(&oth[i], i, WHEEL_HARD, 0);
	}
	tt_add(w, &oth[1], 10);
	tt_add(w, &oth[0], 20);
	oth[0].action = act_on_others;
	tt_add(w, &oth[2], 30);
	tt_add(w, &oth[3], 40);
	tt_add(w, &oth[4], 50);
	assert_int_equal(expire(w, 100), 2);
	assert_int_equal(nlog, 2);
	assert_int_equal(fire_log[0].id, 1);
	assert_int_equal(fire_log[1].id, 0);
	assert_int_equal(oth[2].fired, 0);
	assert_false(wheel_pending(&oth[2].t));
	assert_int_equal(wheel_count(w), 3);

	/* Due ones at the next call, by instant: 5 (60) before 3 (99). */
	oth[0].action = NULL;
	assert_int_equal(wheel_next_deadline(w, NULL), 100);
	assert_int_equal(expire(w, 100), 2);
	assert_int_equal(fire_log[2].id, 5);
	assert_int_equal(fire_log[3].id, 3);
	assert_int_equal(oth[4].fired, 0);
	assert_int_equal(expire(w, 1099), 0);
	assert_int_equal(expire(w, 1100), 1);
	assert_int_equal(oth[4].fired_at, 1100);
	assert_int_equal(oth[2].fired, 0);
	wheel_free(w);
}

static unsigned nested_ret;

static void expire_nested(struct tt *x, uint64_t now_ns)
{
	nested_ret = wheel_expire(cur_wheel, now_ns + 1000);
	assert_int_equal(wheel_now(cur_wheel), now_ns);
}

static void test_expire_from_callback(void **state)
{
	struct wheel *w = new_wheel(0);
	struct tt a, b, c;

	tt_init(&a, 1, WHEEL_HARD, 0);
	tt_init(&b, 2, WHEEL_HARD, 0);
	tt_init(&c, 3, WHEEL_HARD, 0);
	a.action = expire_nested;
	tt_add(w, &a, 10);
	tt_add(w, &b, 10);
	tt_add(w, &c, 500);
	nested_ret = 99;
	/* The nested call must neither run b early nor advance to 1010. */
	assert_int_equal(expire(w, 10), 2);
	assert_int_equal(nested_ret, 0);
	assert_int_equal(nlog, 2);
	assert_int_equal(fire_log[1].id, 2);
	assert_int_equal(c.fired, 0);
	assert_int_equal(wheel_now(w), 10);
	assert_int_equal(wheel_next_deadline(w, NULL), 500);
	wheel_free(w);
}

static void test_cancel_not_pending(void **state)
{
	struct wheel *w = new_wheel(50);
	struct tt a, b;
	struct wheel_timer zero;

	memset(&zero, 0, sizeof(zero));
	tt_init(&a, 1, WHEEL_HARD, 0);
	tt_init(&b, 2, WHEEL_SOFT, 100);
	assert_false(wheel_pending(&a.t));
	wheel_cancel(w, &a.t);
	wheel_cancel(w, &zero);
	assert_int_equal(wheel_count(w), 0);
	assert_int_equal(wheel_check(w), 0);

	tt_add(w, &a, 1000);
	tt_add(w, &b, 1000);
	wheel_cancel(w, &a.t);
	wheel_cancel(w, &a.t);
	assert_false(wheel_pending(&a.t));
	assert_int_equal(wheel_count(w), 1);
	assert_int_equal(wheel_check(w), 0);
	assert_int_equal(expire(w, 2000), 1);
	assert_int_equal(b.fired, 1);
	assert_int_equal(a.fired, 0);
	wheel_cancel(w, &b.t); /* after it fired */
	assert_int_equal(wheel_count(w), 0);
	assert_int_equal(wheel_next_deadline(w, NULL), UINT64_MAX);
	wheel_free(w);
}

static void test_beyond_span(void **state)
{
	const uint64_t base = 987654321;
	const uint64_t far[] = {
	    base + HOUR_NS + 7,	      base + 3 * HOUR_NS + 1,
	    base + DAY_NS + 3,	      base + 10 * DAY_NS - 1,
	    base + 400 * DAY_NS + 11, UINT64_C(1) << 62,
	    UINT64_MAX - 1,	      UINT64_MAX,
	};
	struct tt tt[ARRAY_SIZE(far)];
	struct wheel *w = new_wheel(base);
	unsigned i, n = ARRAY_SIZE(far);
	uint64_t now = base;

	for (i = 0; i < n; i++) {
		tt_init(&tt[i], i, WHEEL_HARD, 0);
		tt_add(w, &tt[i], far[i]);
	}
	/* Each is hit exactly: stop 1 ns short, then on it. */
	for (i = 0; i < n; i++) {
		bool hard = false;

		assert_int_equal(wheel_next_deadline(w, &hard), far[i]);
		assert_true(hard);
		assert_int_equal(expire(w, far[i] - 1), 0);
		assert_int_equal(tt[i].fired, 0);
		assert_int_equal(expire(w, far[i]), 1);
		assert_int_equal(tt[i].fired_at, far[i]);
	}
	assert_int_equal(wheel_count(w), 0);
	wheel_free(w);

	/* Walking in ~1 h strides fires each in the stride covering it. */
	w = new_wheel(base);
	for (i = 0; i < 5; i++) {
		tt_add(w, &tt[i], far[i]);
	}
	while (now < far[4]) {
		uint64_t prev = now;

		now += HOUR_NS - 23;
		expire(w, now);
		for (i = 0; i < 5; i++) {
			assert_int_equal(tt[i].fired, far[i] <= now ? 2 : 1);
			if (far[i] > prev && far[i] <= now) {
				assert_int_equal(tt[i].fired_at, now);
			}
		}
	}
	wheel_free(w);

	/* A wheel started at the very top of the range. */
	w = new_wheel(UINT64_MAX - 5);
	tt_init(&tt[0], 0, WHEEL_HARD, 0);
	tt_init(&tt[1], 1, WHEEL_SOFT, 1000);
	tt_add(w, &tt[0], UINT64_MAX);
	tt_add(w, &tt[1], UINT64_MAX - 2);
	assert_int_equal(wheel_next_deadline(w, NULL), UINT64_MAX - 2);
	assert_int_equal(expire(w, UINT64_MAX - 3), 0);
	assert_int_equal(expire(w, UINT64_MAX - 1), 1);
	assert_int_equal(expire(w, UINT64_MAX), 1);
	assert_int_equal(tt[0].fired_at, UINT64_MAX);
	wheel_free(w);
}

static void test_next_deadline(void **state)
{
	struct wheel *w = new_wheel(0);
	struct tt s, h1, h2, a, b, c, p;
	bool hard = true;

	assert_int_equal(wheel_next_deadline(w, &hard), UINT64_MAX);
	assert_false(hard);

	/* Soft 1000 with slack 500 rounds up to a multiple of 256. */
	tt_init(&s, 1, WHEEL_SOFT, 500);
	tt_add(w, &s, 1000);
	assert_int_equal(wheel_next_deadline(w, &hard), 1024);
	assert_false(hard);
	tt_init(&h1, 2, WHEEL_HARD, 0);
	tt_add(w, &h1, 1500);
	assert_int_equal(wheel_next_deadline(w, &hard), 1024);
	assert_false(hard);
	tt_init(&h2, 3, WHEEL_HARD, 0);
	tt_add(w, &h2, 1024);
	assert_int_equal(wheel_next_deadline(w, &hard), 1024);
	assert_true(hard);
	wheel_cancel(w, &h2.t);
	assert_int_equal(wheel_next_deadline(w, &hard), 1024);
	assert_false(hard);
	wheel_cancel(w, &s.t);
	assert_int_equal(wheel_next_deadline(w, &hard), 1500);
	assert_true(hard);
	wheel_cancel(w, &h1.t);

	/* Three in one level 2 slot: cancelling the earliest is exact. */
	tt_init(&a, 4, WHEEL_HARD, 0);
	tt_init(&b, 5, WHEEL_SOFT, 1);
	tt_init(&c, 6, WHEEL_HARD, 0);
	tt_add(w, &a, 5000);
	tt_add(w, &b, 5001);
	tt_add(w, &c, 5002);
	assert_int_equal(wheel_next_deadline(w, &hard), 5000);
	assert_true(hard);
	wheel_cancel(w, &a.t);
	assert_int_equal(wheel_next_deadline(w, &hard), 5001);
	assert_false(hard);
	wheel_cancel(w, &b.t);
	assert_int_equal(wheel_next_deadline(w, &hard), 5002);
	assert_true(hard);
	tt_add(w, &b, 4999);
	assert_int_equal(wheel_next_deadline(w, &hard), 4999);
	assert_false(hard);
	assert_int_equal(wheel_next_deadline(w, NULL), 4999);

	/* UINT64_MAX is a real instant too: only a hard one is hard. */
	{
		struct wheel *w2 = new_wheel(0);
		struct tt us, uh;

		tt_init(&us, 8, WHEEL_SOFT, 0);
		tt_add(w2, &us, UINT64_MAX);
		assert_int_equal(wheel_next_deadline(w2, &hard), UINT64_MAX);
		assert_false(hard);
		tt_init(&uh, 9, WHEEL_HARD, 0);
		tt_add(w2, &uh, UINT64_MAX);
		assert_int_equal(wheel_next_deadline(w2, &hard), UINT64_MAX);
		assert_true(hard);
		wheel_free(w2);
		cur_wheel = w;
	}

	/* After an advance the earliest is again exact. */
	assert_int_equal(expire(w, 4999), 1);
	assert_int_equal(wheel_next_deadline(w, &hard), 5002);
	assert_true(hard);

	/* Something already due: wake now; hard only if a hard one is. */
	tt_init(&p, 7, WHEEL_SOFT, 10);
	tt_add(w, &p, 10);
	assert_int_equal(wheel_next_deadline(w, &hard), 4999);
	assert_false(hard);
	tt_add(w, &a, 20);
	assert_int_equal(wheel_next_deadline(w, &hard), 4999);
	assert_true(hard);
	wheel_cancel(w, &a.t);
	assert_int_equal(wheel_next_deadline(w, &hard), 4999);
	assert_false(hard);
	assert_int_equal(expire(w, 4999), 1);
	assert_int_equal(wheel_next_deadline(w, &hard), 5002);
	assert_true(hard);
	wheel_free(w);
}

static void test_add_needs_callback(void **state)
{
	struct wheel *w = new_wheel(0);
	struct wheel_timer t;

	wheel_timer_init(&t, WHEEL_HARD, 0, NULL);
	assert_int_equal(wheel_add(w, &t, 100), -EINVAL);
	assert_false(wheel_pending(&t));
	assert_int_equal(wheel_count(w), 0);
	assert_int_equal(wheel_check(w), 0);
	wheel_free(w);
}

static void test_check_detects_corruption(void **state)
{
	struct wheel *w = new_wheel(0);
	struct wheel_link *saved_link;
	struct tt a, b;
	uint64_t saved;

	tt_init(&a, 1, WHEEL_HARD, 0);
	tt_init(&b, 2, WHEEL_HARD, 0);
	tt_add(w, &a, 100000);
	tt_add(w, &b, 100);
	/* Filed under 100000: claiming 100 puts it in the wrong slot. */
	saved = a.t.expires_ns;
	a.t.expires_ns = 100;
	a.t.deadline_ns = 100;
	assert_int_equal(wheel_check(w), -EUCLEAN);
	a.t.expires_ns = saved;
	a.t.deadline_ns = saved;
	assert_int_equal(wheel_check(w), 0);
	/* A broken back link. */
	saved_link = b.t.link.prev;
	b.t.link.prev = &a.t.link;
	assert_int_equal(wheel_check(w), -EUCLEAN);
	b.t.link.prev = saved_link;
	assert_int_equal(wheel_check(w), 0);
	wheel_free(w);
}

static void test_free_forgets(void **state)
{
	struct wheel *w = new_wheel(0);
	struct tt a, b;

	tt_init(&a, 1, WHEEL_HARD, 0);
	tt_init(&b, 2, WHEEL_HARD, 0);
	tt_add(w, &a, 100000);
	tt_add(w, &b, 0);
	assert_null(wheel_free(w));
	assert_false(wheel_pending(&a.t));
	assert_false(wheel_pending(&b.t));
	assert_null(wheel_free(NULL));
	assert_int_equal(a.fired + b.fired, 0);
}

/*
 * Randomized: 100k operations on a pool of timers against a sorted-array
 * reference, with callbacks that themselves cancel and re-add.
 */
#define RT_N 96
#define RT_OPS 100000

struct rt_ref {
	bool pending;
	bool in_batch;
	enum wheel_class cls;
	uint64_t slack;
	uint64_t deadline;
	uint64_t expires;
	uint64_t seq;
};

static struct {
	struct wheel *w;
	struct tt tt[RT_N];
	struct rt_ref ref[RT_N];
	uint64_t seq;
	uint64_t rng;
	unsigned batch_fired;
	unsigned checks;
} rt;

/* The spec written out the slow way: round up to the largest 2^k <= slack. */
static uint64_t rt_fire(enum wheel_class cls, uint64_t deadline, uint64_t slack)
{
	uint64_t g = 1, rem;

	if (cls == WHEEL_HARD) {
		return deadline;
	}
	while (g <= slack / 2) {
		g *= 2;
	}
	rem = deadline % g;
	if (!rem) {
		return deadline;
	}
	if (deadline > UINT64_MAX - (g - rem)) {
		return deadline;
	}
	return deadline + (g - rem);
}

static uint64_t rt_rand(uint64_t n)
{
	return n ? splitmix64(&rt.rng) % n : 0;
}

static uint64_t rt_deadline(void)
{
	uint64_t now = wheel_now(rt.w);
	unsigned k = rt_rand(100);

	if (k < 5) {
		return now - rt_rand(MIN(now, UINT64_C(1) << rt_rand(40)) + 1);
	}
	if (k < 7) {
		return now;
	}
	if (k < 8) {
		return UINT64_MAX - rt_rand(3);
	}
	if (k < 25) {
		/* Share an instant with another timer: ties test FIFO. */
		const struct rt_ref *o = &rt.ref[rt_rand(RT_N)];

		return o->pending ? o->deadline : now + 1;
	}
	return sat_add(now, 1 + rt_rand(UINT64_C(1) << rt_rand(48)));
}

static void rt_add(unsigned i)
{
	struct rt_ref *r = &rt.ref[i];
	uint64_t d = rt_deadline();

	assert_int_equal(wheel_add(rt.w, &rt.tt[i].t, d), 0);
	r->pending = true;
	r->in_batch = false;
	r->deadline = d;
	r->expires = rt_fire(r->cls, d, r->slack);
	r->seq = rt.seq++;
	assert_int_equal(rt.tt[i].t.expires_ns, r->expires);
}

static void rt_cancel(unsigned i)
{
	wheel_cancel(rt.w, &rt.tt[i].t);
	rt.ref[i].pending = false;
	rt.ref[i].in_batch = false;
}

static void rt_verify(void)
{
	uint64_t now = wheel_now(rt.w), want = UINT64_MAX;
	bool want_hard = false, hard;
	size_t n = 0;
	unsigned i;

	assert_int_equal(wheel_check(rt.w), 0);
	for (i = 0; i < RT_N; i++) {
		const struct rt_ref *r = &rt.ref[i];

		assert_int_equal(wheel_pending(&rt.tt[i].t), r->pending);
		if (!r->pending) {
			continue;
		}
		n++;
		if (MAX(r->expires, now) < want) {
			want = MAX(r->expires, now);
			want_hard = false;
		}
		if (MAX(r->expires, now) == want && r->cls == WHEEL_HARD) {
			want_hard = true;
		}
	}
	assert_int_equal(wheel_count(rt.w), n);
	assert_int_equal(wheel_next_deadline(rt.w, &hard), want);
	assert_int_equal(hard, want_hard);
	rt.checks++;
}

static void rt_fn(struct wheel_timer *t, uint64_t now_ns)
{
	struct tt *x = container_of(t, struct tt, t);
	struct rt_ref *r = &rt.ref[x->id];
	unsigned i, best = RT_N;

	/* It must be the earliest (instant, add order) left in the batch. */
	for (i = 0; i < RT_N; i++) {
		const struct rt_ref *o = &rt.ref[i];

		if (!o->in_batch) {
			continue;
		}
		if (best == RT_N || o->expires < rt.ref[best].expires ||
		    (o->expires == rt.ref[best].expires &&
		     o->seq < rt.ref[best].seq)) {
			best = i;
		}
	}
	assert_int_equal(x->id, best);
	assert_true(r->expires <= now_ns);
	assert_true(r->deadline <= now_ns);
	assert_false(wheel_pending(t));
	r->pending = false;
	r->in_batch = false;
	rt.batch_fired++;

	switch (rt_rand(8)) {
	case 0:
		rt_add(x->id);
		break;
	case 1:
		rt_add(rt_rand(RT_N));
		break;
	case 2:
		rt_cancel(rt_rand(RT_N));
		break;
	case 3:
		assert_int_equal(wheel_check(rt.w), 0);
		break;
	default:
		break;
	}
}

static void rt_expire(void)
{
	uint64_t now = wheel_now(rt.w), to;
	unsigned k = rt_rand(100), i, n;

	if (k < 10) {
		to = now;
	} else if (k < 25) {
		to = wheel_next_deadline(rt.w, NULL);
		if (to == UINT64_MAX) {
			to = now;
		}
	} else if (k < 35) {
		to = wheel_next_deadline(rt.w, NULL);
		to = to > now && to != UINT64_MAX ? to - 1 : now;
	} else if (k < 45) {
		to = now + rt_rand(64);
	} else if (k < 99) {
		to = sat_add(now, rt_rand(UINT64_C(1) << rt_rand(40)));
	} else {
		to = sat_add(now, rt_rand(UINT64_C(1) << 50));
	}
	if (k % 17 == 0) {
		to = now - rt_rand(now + 1); /* backwards: treated as now */
	}
	for (i = 0; i < RT_N; i++) {
		struct rt_ref *r = &rt.ref[i];

		r->in_batch = r->pending && r->expires <= MAX(to, now);
	}
	rt.batch_fired = 0;
	n = wheel_expire(rt.w, to);
	assert_int_equal(n, rt.batch_fired);
	assert_int_equal(wheel_now(rt.w), MAX(to, now));
	for (i = 0; i < RT_N; i++) {
		assert_false(rt.ref[i].in_batch);
	}
}

static void rt_run(uint64_t seed, uint64_t start, unsigned ops)
{
	unsigned i, op, n;

	memset(&rt, 0, sizeof(rt));
	rt.rng = seed;
	rt.w = wheel_new(start);
	assert_non_null(rt.w);
	for (i = 0; i < RT_N; i++) {
		struct rt_ref *r = &rt.ref[i];

		r->cls = rt_rand(2) ? WHEEL_SOFT : WHEEL_HARD;
		r->slack = r->cls == WHEEL_SOFT
			       ? rt_rand(UINT64_C(1) << rt_rand(34))
			       : 0;
		memset(&rt.tt[i], 0, sizeof(rt.tt[i]));
		rt.tt[i].id = i;
		wheel_timer_init(&rt.tt[i].t, r->cls, r->slack, rt_fn);
	}
	for (op = 0; op < ops; op++) {
		unsigned k = rt_rand(100);

		if (k < 45) {
			rt_add(rt_rand(RT_N));
		} else if (k < 60) {
			rt_cancel(rt_rand(RT_N));
		} else {
			rt_expire();
		}
		rt_verify();
	}
	/* Drain: everything left fires, in order, at the end of time. */
	for (i = 0; i < 4 && wheel_count(rt.w); i++) {
		unsigned j;

		for (j = 0; j < RT_N; j++) {
			rt.ref[j].in_batch = rt.ref[j].pending;
		}
		rt.batch_fired = 0;
		n = wheel_expire(rt.w, UINT64_MAX);
		assert_int_equal(n, rt.batch_fired);
		rt_verify();
	}
	wheel_free(rt.w);
}

static void test_random_vs_reference(void **state)
{
	uint64_t seed = 0x77a5eed;
	const char *env = getenv("TTWS_WHEEL_SEED");

	if (env) {
		seed = strtoull(env, NULL, 0);
	}
	print_message("seed 0x%llx\n", (unsigned long long)seed);
	rt_run(seed, 1000, RT_OPS * 7 / 10);
	/* Near the top of the range, where the highest level is used. */
	rt_run(seed + 1, UINT64_MAX - (UINT64_C(1) << 52), RT_OPS * 3 / 10);
	assert_true(rt.checks >= RT_OPS * 3 / 10);
}

/* cmocka_unit_test() with the "module/what_it_checks" name. */
#define wheel_unit_test(what)                                                  \
	{                                                                      \
		"wheel/" #what, test_##what, NULL, NULL, NULL                  \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    wheel_unit_test(ordering),
	    wheel_unit_test(fifo),
	    wheel_unit_test(hard_exact),
	    wheel_unit_test(soft_window),
	    wheel_unit_test(soft_coalesce),
	    wheel_unit_test(callback_readds_self),
	    wheel_unit_test(callback_cancels_others),
	    wheel_unit_test(expire_from_callback),
	    wheel_unit_test(cancel_not_pending),
	    wheel_unit_test(beyond_span),
	    wheel_unit_test(next_deadline),
	    wheel_unit_test(add_needs_callback),
	    wheel_unit_test(check_detects_corruption),
	    wheel_unit_test(free_forgets),
	    wheel_unit_test(random_vs_reference),
	};

	return cmocka_run_group_tests_name("wheel", tests, NULL, NULL);
}
