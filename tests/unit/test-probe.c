/* SPDX-License-Identifier: MIT */
/* Probe schedule tests: bounds, phase coverage, reproducibility. */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/macro.h"
#include "core/probe.h"

static const uint64_t cis_ns[] = {
    7500 * NSEC_PER_USEC,
    11250 * NSEC_PER_USEC,
    30000 * NSEC_PER_USEC,
    4 * NSEC_PER_SEC,
    1,
    3,
};

static void test_invalid(void **state)
{
	struct probe p;

	assert_int_equal(probe_init(NULL, 7500000, 1, 0, 0), -EINVAL);
	assert_int_equal(probe_init(&p, 0, 1, 0, 0), -EINVAL);
	assert_int_equal(probe_init(&p, 4 * NSEC_PER_SEC + 1, 1, 0, 0),
			 -EINVAL);
	assert_int_equal(probe_init(&p, 7500000, 0, 0, 0), -EINVAL);
	assert_int_equal(probe_init(&p, 7500000, 4, 0, 0), -EINVAL);
	assert_int_equal(probe_init(&p, 7500000, 3, 0, 0), 0);
	assert_int_equal(probe_set_ci(NULL, 7500000, 0), -EINVAL);
	assert_int_equal(probe_set_ci(&p, 0, 0), -EINVAL);
}

static void test_first_at_now(void **state)
{
	struct probe p;

	assert_int_equal(probe_init(&p, 7500000, 2, 99, 123456789), 0);
	assert_int_equal(probe_due(&p), 123456789);
	/* A clock origin near zero must not wrap the phase arithmetic. */
	assert_int_equal(probe_init(&p, 7500000, 1, 5, 0), 0);
	assert_int_equal(probe_due(&p), 0);
	assert_true(probe_sent(&p, 0) <= 7500000);
}

/*
 * Every request lands in (sent + (every - 1) ci, sent + every ci]: at
 * least one per every_events events (DESIGN.md), also when sends are late.
 */
static void test_period_bound(void **state)
{
	for (size_t c = 0; c < ARRAY_SIZE(cis_ns); c++) {
		uint64_t ci = cis_ns[c];

		for (uint32_t every = 1; every <= 3; every++) {
			struct probe p;
			uint64_t now = UINT64_C(1) << 50, seed = c * 7 + every;

			assert_int_equal(probe_init(&p, ci, every, seed, now),
					 0);
			for (int i = 0; i < 5000; i++) {
				uint64_t due = probe_due(&p), next;

				/* Sometimes late, by up to two intervals. */
				now = due + (i % 5 == 4
						 ? (uint64_t)i % (2 * ci + 1)
						 : 0);
				next = probe_sent(&p, now);
				assert_int_equal(next, probe_due(&p));
				assert_true(next > now + (every - 1) * ci);
				assert_true(next <= now + every * ci);
			}
		}
	}
}

/*
 * Phases cover the interval evenly: against a connection-event grid with
 * any anchor, every 1/8 of the interval is hit within 16 requests, from
 * any starting request.
 */
static void test_phases_cover(void **state)
{
	for (size_t c = 0; c < 4; c++) {
		uint64_t ci = cis_ns[c];

		for (uint32_t every = 1; every <= 3; every++) {
			for (uint64_t seed = 0; seed < 20; seed++) {
				struct probe p;
				uint64_t now = UINT64_C(987654321) * (seed + 1);
				uint64_t anchor =
				    (seed * 7919 * ci) / 20011 % ci;
				uint64_t due[64];

				assert_int_equal(
				    probe_init(&p, ci, every, seed, now), 0);
				due[0] = probe_due(&p);
				for (int i = 1; i < 64; i++) {
					due[i] = probe_sent(&p, due[i - 1]);
				}
				for (int start = 0; start + 16 <= 64; start++) {
					unsigned hit = 0;

					for (int i = start; i < start + 16;
					     i++) {
						uint64_t ph =
						    (due[i] - anchor) % ci;

						hit |= 1u << (ph * 8 / ci);
					}
					assert_int_equal(hit, 0xff);
				}
			}
		}
	}
}

/* Late sends do not disturb the sequence: the phases stay the same. */
static void test_late_keeps_phases(void **state)
{
	struct probe a, b;
	uint64_t ci = 7500 * NSEC_PER_USEC, now = UINT64_C(1) << 40;

	assert_int_equal(probe_init(&a, ci, 2, 11, now), 0);
	assert_int_equal(probe_init(&b, ci, 2, 11, now), 0);
	for (int i = 0; i < 100; i++) {
		uint64_t da = probe_sent(&a, probe_due(&a));
		uint64_t db = probe_sent(&b, probe_due(&b) + (i * 37 % 5000));

		assert_int_equal((da - now) % ci, (db - now) % ci);
	}
}

static void test_reproducible(void **state)
{
	struct probe a, b, c;
	uint64_t ci = 15 * NSEC_PER_MSEC, now = 1000;
	bool differ = false;

	assert_int_equal(probe_init(&a, ci, 3, 42, now), 0);
	assert_int_equal(probe_init(&b, ci, 3, 42, now), 0);
	assert_int_equal(probe_init(&c, ci, 3, 43, now), 0);
	for (int i = 0; i < 200; i++) {
		uint64_t x = probe_sent(&a, probe_due(&a));
		uint64_t y = probe_sent(&b, probe_due(&b));
		uint64_t z = probe_sent(&c, probe_due(&c));

		assert_int_equal(x, y);
		differ |= x != z;
	}
	assert_true(differ);
}

static void test_set_ci(void **state)
{
	struct probe p;
	uint64_t now = 5 * NSEC_PER_SEC;

	assert_int_equal(probe_init(&p, 7500000, 3, 1, 0), 0);
	assert_int_equal(probe_set_ci(&p, 30000000, now), 0);
	assert_int_equal(probe_due(&p), now);
	for (int i = 0; i < 100; i++) {
		uint64_t next = probe_sent(&p, now);

		assert_true(next > now + 2 * 30000000);
		assert_true(next <= now + 3 * 30000000);
		now = next;
	}
}

#define PROBE_TEST(n, f)                                                       \
	{                                                                      \
		.name = "probe/" n, .test_func = (f)                           \
	}

/* Long intervals probe every event; short ones keep the configuration. */
static void test_every_for_ci(void **state)
{
	(void)state;
	assert_int_equal(probe_every_for_ci(3, 7500 * NSEC_PER_USEC), 3);
	assert_int_equal(probe_every_for_ci(2, 11250 * NSEC_PER_USEC), 2);
	assert_int_equal(probe_every_for_ci(3, 15 * NSEC_PER_MSEC), 1);
	assert_int_equal(probe_every_for_ci(3, 30 * NSEC_PER_MSEC), 1);
	assert_int_equal(probe_every_for_ci(1, 7500 * NSEC_PER_USEC), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    PROBE_TEST("init_invalid", test_invalid),
	    PROBE_TEST("first_at_now", test_first_at_now),
	    PROBE_TEST("period_bound", test_period_bound),
	    PROBE_TEST("phases_cover_interval", test_phases_cover),
	    PROBE_TEST("late_sends_keep_phases", test_late_keeps_phases),
	    PROBE_TEST("reproducible_from_seed", test_reproducible),
	    PROBE_TEST("set_ci", test_set_ci),
	    PROBE_TEST("every_for_ci", test_every_for_ci),
	};

	return cmocka_run_group_tests_name("probe", tests, NULL, NULL);
}
