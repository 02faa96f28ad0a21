/* SPDX-License-Identifier: MIT */
/*
 * Several pairs in one simulator (sim/simpairs): names, the per-pair file
 * names, and each pair's scenario: pair 0 the scenario itself, the others
 * with their own seeds and crystals, so two pairs' earbuds really differ
 * (their simear_parts clocks read differently).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sim/scenario.h"
#include "sim/simclock.h"
#include "sim/simear.h"
#include "sim/simpairs.h"

static void test_names(void **state)
{
	char names[SIMPAIRS_MAX][SIMPAIRS_NAME_MAX + 1];

	assert_true(simpairs_name_valid("a"));
	assert_true(simpairs_name_valid("hall-2_b"));
	assert_true(simpairs_name_valid("abcdefghijklmnopqrstuvwxyz01234"));
	assert_false(simpairs_name_valid("abcdefghijklmnopqrstuvwxyz012345"));
	assert_false(simpairs_name_valid(""));
	assert_false(simpairs_name_valid("A"));
	assert_false(simpairs_name_valid("a.b"));
	assert_false(simpairs_name_valid("a/b"));

	assert_int_equal(simpairs_names_parse("hall,desk,p3", names, 8), 3);
	assert_string_equal(names[0], "hall");
	assert_string_equal(names[1], "desk");
	assert_string_equal(names[2], "p3");
	assert_int_equal(simpairs_names_parse("one", names, 8), 1);
	assert_int_equal(simpairs_names_parse("a,,b", names, 8), -EINVAL);
	assert_int_equal(simpairs_names_parse("a,b,", names, 8), -EINVAL);
	assert_int_equal(simpairs_names_parse("a,b,a", names, 8), -EINVAL);
	assert_int_equal(simpairs_names_parse("a,B", names, 8), -EINVAL);
	assert_int_equal(simpairs_names_parse("a,b,c", names, 2), -E2BIG);
	assert_int_equal(simpairs_names_parse("a,b,c,d,e,f,g,h,i", names,
					      SIMPAIRS_MAX),
			 -E2BIG);

	simpairs_default_name(0, names[0], sizeof(names[0]));
	simpairs_default_name(7, names[1], sizeof(names[1]));
	assert_string_equal(names[0], "p0");
	assert_string_equal(names[1], "p7");
}

static void expect_path(const char *path, const char *want)
{
	char buf[64];

	assert_int_equal(simpairs_path(path, "p1", buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void test_paths(void **state)
{
	char buf[16];

	expect_path("/run/x/left.sock", "/run/x/left-p1.sock");
	expect_path("render.csv", "render-p1.csv");
	expect_path("/tmp/ear-left", "/tmp/ear-left-p1");
	/* Only the last component's extension; a leading dot is none. */
	expect_path("/tmp/run.d/left", "/tmp/run.d/left-p1");
	expect_path("/tmp/.left", "/tmp/.left-p1");
	expect_path("a.tar.gz", "a.tar-p1.gz");
	assert_int_equal(simpairs_prefix("/tmp/ear.x", "b", buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "/tmp/ear.x-b");
	/* Too long: an error, not a cut name. */
	assert_int_equal(simpairs_path("/tmp/left.sock", "p1", buf,
				       sizeof(buf)),
			 -ENAMETOOLONG);
	assert_int_equal(simpairs_prefix("/tmp/0123456789", "p1", buf,
					 sizeof(buf)),
			 -ENAMETOOLONG);
}

/* nominal.ini's crystals. */
static void nominal(struct scenario *sc)
{
	scenario_default(sc);
	sc->ear[SCENARIO_LEFT].ppm = 20;
	sc->ear[SCENARIO_RIGHT].ppm = -20;
	sc->ear[SCENARIO_LEFT].hci_jitter_us = 20;
	sc->ear[SCENARIO_RIGHT].hci_jitter_us = 20;
}

static void test_pair0_is_the_scenario(void **state)
{
	struct scenario base, p0;

	nominal(&base);
	simpairs_scenario(&base, 0, &p0);
	assert_memory_equal(&base, &p0, sizeof(base));
}

static void test_pairs_differ(void **state)
{
	struct scenario base, p[SIMPAIRS_MAX], again;
	unsigned i, j;
	int s;

	nominal(&base);
	assert_true(base.pair_ppm_spread == SCENARIO_PAIR_PPM_SPREAD_DEFAULT);
	for (i = 0; i < SIMPAIRS_MAX; i++) {
		simpairs_scenario(&base, i, &p[i]);
	}
	for (i = 1; i < SIMPAIRS_MAX; i++) {
		/* Within the spread, everything else as the scenario. */
		for (s = 0; s < SCENARIO_SIDES; s++) {
			assert_true(fabs(p[i].ear[s].ppm - base.ear[s].ppm) <=
				    base.pair_ppm_spread);
			assert_true(p[i].ear[s].hci_jitter_us == 20);
		}
		assert_true(fabs(p[i].dongle_ppm) <= base.pair_ppm_spread);
		assert_true(p[i].frame_ms == base.frame_ms);
		for (j = 0; j < i; j++) {
			assert_true(p[i].seed != p[j].seed);
			for (s = 0; s < SCENARIO_SIDES; s++) {
				assert_true(p[i].ear[s].ppm !=
					    p[j].ear[s].ppm);
			}
		}
		/* Replays: the same pair from the same scenario. */
		simpairs_scenario(&base, i, &again);
		assert_memory_equal(&again, &p[i], sizeof(again));
	}
	/* Another scenario seed, other pairs. */
	base.seed = 2;
	simpairs_scenario(&base, 1, &again);
	assert_true(again.seed != p[1].seed);
	assert_true(again.ear[0].ppm != p[1].ear[0].ppm);
}

static void test_spread_zero_and_clamp(void **state)
{
	struct scenario base, p;

	nominal(&base);
	base.pair_ppm_spread = 0;
	simpairs_scenario(&base, 3, &p);
	assert_true(p.ear[0].ppm == 20 && p.ear[1].ppm == -20);
	assert_true(p.seed != base.seed); /* its own links still */

	/* At the edge of the range, with a step: kept inside it. */
	base.pair_ppm_spread = SCENARIO_PAIR_PPM_SPREAD_MAX;
	base.ear[0].ppm = 1000;
	base.ear[1].ppm = -990;
	base.ear[1].ppm_step = -10;
	for (unsigned i = 1; i < 50; i++) {
		simpairs_scenario(&base, i, &p);
		assert_true(p.ear[0].ppm <= 1000 && p.ear[0].ppm >= 900);
		assert_true(p.ear[1].ppm >= -990 && p.ear[1].ppm <= -890);
		assert_true(fabs(p.ear[1].ppm + p.ear[1].ppm_step) <= 1000);
	}
}

/* The earbuds built from two pairs' scenarios: their clocks run apart. */
static void test_crystals_differ(void **state)
{
	const uint64_t t0 = UINT64_C(20000000000000);
	struct simear_parts a, b;
	struct scenario base, sa, sb;
	uint64_t ea0, ea1, eb0, eb1;
	double da, db;

	nominal(&base);
	simpairs_scenario(&base, 0, &sa);
	simpairs_scenario(&base, 1, &sb);
	assert_int_equal(simear_parts_new(&sa, SCENARIO_LEFT, t0, t0, &a), 0);
	assert_int_equal(simear_parts_new(&sb, SCENARIO_LEFT, t0, t0, &b), 0);
	assert_int_equal(simclock_ear_of_host(a.clock, t0, &ea0), 0);
	assert_int_equal(simclock_ear_of_host(a.clock, t0 + 10000000000, &ea1),
			 0);
	assert_int_equal(simclock_ear_of_host(b.clock, t0, &eb0), 0);
	assert_int_equal(simclock_ear_of_host(b.clock, t0 + 10000000000, &eb1),
			 0);
	/* 10 s of host time, in ppm of each earbud's rate error. */
	da = ((double)(ea1 - ea0) - 1e10) / 1e4;
	db = ((double)(eb1 - eb0) - 1e10) / 1e4;
	assert_true(fabs(da - sa.ear[0].ppm) < 0.01);
	assert_true(fabs(db - sb.ear[0].ppm) < 0.01);
	assert_true(fabs(da - db) > 0.01);
	simear_parts_free(&a);
	simear_parts_free(&b);
}

#define simpairs_unit_test(what)                                              \
	{                                                                     \
		"simpairs/" #what, test_##what, NULL, NULL, NULL              \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		simpairs_unit_test(names),
		simpairs_unit_test(paths),
		simpairs_unit_test(pair0_is_the_scenario),
		simpairs_unit_test(pairs_differ),
		simpairs_unit_test(spread_zero_and_clamp),
		simpairs_unit_test(crystals_differ),
	};

	return cmocka_run_group_tests_name("simpairs", tests, NULL, NULL);
}
