/* SPDX-License-Identifier: MIT */
/*
 * core/ashabal: Android's ASHA balancing rule. An ear past the flush
 * threshold with credits close to the other's (or no other ear) drops
 * the slot on both; one stuck alone is flushed and the other left be;
 * drops on both are spaced by min_drop_gap_ns, a refused one flushing
 * instead; nothing is done below the threshold. Time is the test's.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/ashabal.h"

#define MS 1000000ull
#define T0 (1000 * MS)

static struct ashabal bal(uint16_t init_credits)
{
	const struct ashabal_cfg cfg = {
	    .flush_threshold = 8,
	    .init_credits = init_credits,
	    .min_drop_gap_ns = 100 * MS,
	};
	struct ashabal b;

	assert_int_equal(ashabal_init(&b, &cfg), 0);
	return b;
}

static unsigned decide(struct ashabal *b, uint16_t lq, uint16_t lc,
		       uint16_t rq, uint16_t rc, uint64_t now)
{
	const struct ashabal_ear ears[2] = {{true, lq, lc}, {true, rq, rc}};
	unsigned v = 0xff;

	ashabal_decide(b, ears, now, &v);
	return v;
}

static void test_quiet(void **state)
{
	struct ashabal b = bal(8);

	(void)state;
	assert_int_equal(decide(&b, 0, 8, 0, 8, T0), 0);
	/* At the threshold itself, not past it: nothing. */
	assert_int_equal(decide(&b, 8, 0, 8, 0, T0), 0);
	assert_false(b.dropped);
}

static void test_alike_drops_both_spaced(void **state)
{
	struct ashabal b = bal(8);

	(void)state;
	/* Left behind, credits 0 and 1: they differ by 1 < 8/2 - 1. */
	assert_int_equal(decide(&b, 9, 0, 2, 1, T0), ASHABAL_DROP_BOTH);
	assert_true(b.dropped);
	/* 20 ms later, still behind: too soon for another drop on both,
	 * so the left ear alone is flushed. */
	assert_int_equal(decide(&b, 9, 0, 2, 1, T0 + 20 * MS),
			 ASHABAL_FLUSH_LEFT);
	assert_int_equal(b.last_drop_ns, T0);
	/* Past the gap: a drop again. */
	assert_int_equal(decide(&b, 9, 0, 2, 1, T0 + 100 * MS),
			 ASHABAL_DROP_BOTH);
	assert_int_equal(b.last_drop_ns, T0 + 100 * MS);
	/* Both behind alike: one drop, no flush. */
	assert_int_equal(decide(&b, 12, 0, 10, 2, T0 + 300 * MS),
			 ASHABAL_DROP_BOTH);
}

static void test_stuck_alone_flushed(void **state)
{
	struct ashabal b = bal(8);

	(void)state;
	/* Right behind with no credits while the left has all 8: the
	 * right alone is stuck. */
	assert_int_equal(decide(&b, 0, 8, 9, 0, T0), ASHABAL_FLUSH_RIGHT);
	/* Credits 3 apart, at the limit (8/2 - 1 = 3): not alike. */
	assert_int_equal(decide(&b, 9, 0, 0, 3, T0), ASHABAL_FLUSH_LEFT);
	/* 2 apart: alike. */
	assert_int_equal(decide(&b, 9, 0, 0, 2, T0), ASHABAL_DROP_BOTH);
	/* Each stuck alone, far apart in credits: each flushed. */
	b = bal(40);
	assert_int_equal(decide(&b, 9, 0, 9, 30, T0),
			 ASHABAL_FLUSH_LEFT | ASHABAL_FLUSH_RIGHT);
}

static void test_one_ear(void **state)
{
	struct ashabal b = bal(8);
	struct ashabal_ear ears[2] = {{true, 9, 5}, {false, 0, 0}};
	unsigned v;

	(void)state;
	/* The other ear missing: drop (Android's rule), never a flush of
	 * the missing one. */
	ashabal_decide(&b, ears, T0, &v);
	assert_int_equal(v, ASHABAL_DROP_BOTH);
	ears[0].present = false;
	ears[1] = (struct ashabal_ear){true, 20, 0};
	ashabal_decide(&b, ears, T0 + 200 * MS, &v);
	assert_int_equal(v, ASHABAL_DROP_BOTH);
	/* Neither present: nothing. */
	ears[1].present = false;
	ashabal_decide(&b, ears, T0 + 400 * MS, &v);
	assert_int_equal(v, 0);
}

static void test_config(void **state)
{
	const struct ashabal_cfg bad = {0, 8, 0};
	struct ashabal b;

	(void)state;
	assert_int_equal(ashabal_init(&b, &bad), -EINVAL);
	assert_int_equal(ashabal_init(&b, NULL), -EINVAL);
	/* One initial credit: init/2 - 1 is 0, so never alike: flush. */
	b = bal(1);
	assert_int_equal(decide(&b, 9, 0, 0, 0, T0), ASHABAL_FLUSH_LEFT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_quiet),
	    cmocka_unit_test(test_alike_drops_both_spaced),
	    cmocka_unit_test(test_stuck_alone_flushed),
	    cmocka_unit_test(test_one_ear),
	    cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
