/* SPDX-License-Identifier: MIT */
/*
 * Scenario files of ttws-earbud-sim: defaults, every key, and errors that
 * name file:line and the reason.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sim/scenario.h"

/* Parse text as if it were the file at path. */
static int parse_text(const char *path, const char *text,
		      struct scenario *ret, char *err, size_t err_size)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int r;

	assert_non_null(f);
	r = scenario_parse(f, path, ret, err, err_size);
	fclose(f);
	return r;
}

/* The text must fail with exactly this message. */
static void expect_error(const char *text, const char *want)
{
	struct scenario sc;
	char err[256] = "";

	memset(&sc, 0xa5, sizeof(sc));
	assert_int_equal(parse_text("dir/bad.ini", text, &sc, err,
				    sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, want);
	/* Untouched on error. */
	assert_int_equal(((unsigned char *)&sc)[0], 0xa5);
}

static void test_defaults(void **state)
{
	struct scenario sc, def;
	char err[256] = "";

	assert_int_equal(parse_text("some/where/quiet.ini",
				    "# nothing but a comment\n\n[left]\n", &sc,
				    err, sizeof(err)),
			 0);
	assert_string_equal(sc.name, "quiet");
	assert_true(sc.duration_s == 60.0);
	assert_int_equal(sc.seed, 1);
	assert_true(sc.frame_ms == 10.0);
	assert_true(sc.dongle_ppm == 0.0);
	for (int i = 0; i < SCENARIO_SIDES; i++) {
		const struct scenario_ear *e = &sc.ear[i];

		assert_true(e->ppm == 0.0 && e->wander_ppb_per_s == 0.0);
		assert_true(e->offset_ms == 0.0 && e->loss == 0.0);
		assert_int_equal(e->ci_us, 7500);
		assert_int_equal(e->anchor_phase_us, 0);
		assert_int_equal(e->hci_jitter_dist,
				 SIMLINK_JITTER_EXPONENTIAL);
		assert_true(e->hci_jitter_us == 0.0);
		assert_true(e->drop_at_s == 0.0 && e->drop_for_s == 0.0);
	}
	scenario_default(&def);
	assert_string_equal(def.name, "default");
	strcpy(def.name, "quiet");
	assert_memory_equal(&sc, &def, sizeof(sc));
}

static void test_every_key(void **state)
{
	static const char text[] =
		"[run]\n"
		"duration_s = 3600\n"
		"seed = 0xdeadbeefcafe\n"
		"frame_ms = 7.5\n"
		"[dongle]\n"
		"ppm = -12.5 ; inline comment\n"
		"[left]\n"
		"ppm = 50\n"
		"wander_ppb_per_s = 5\n"
		"offset_ms = -1234.5\n"
		"ci_us = 30000\n"
		"anchor_phase_us = 29999\n"
		"loss = 0.05\n"
		"hci_jitter_dist = lognormal\n"
		"hci_jitter_us = 80\n"
		"drop_at_s = 20\n"
		"drop_for_s = 3\n"
		"[right]\n"
		"ppm = -49.5\n"
		"wander_ppb_per_s = 0.25\n"
		"offset_ms = 1e6\n"
		"ci_us = 11250\n"
		"anchor_phase_us = 6250\n"
		"loss = 0.9\n"
		"hci_jitter_dist = uniform\n"
		"hci_jitter_us = 40\n"
		"drop_at_s = 100.5\n"
		"drop_for_s = 0.25\n";
	struct scenario sc;
	const struct scenario_ear *l = &sc.ear[SCENARIO_LEFT];
	const struct scenario_ear *r = &sc.ear[SCENARIO_RIGHT];
	char err[256] = "";

	assert_int_equal(parse_text("every.ini", text, &sc, err, sizeof(err)),
			 0);
	assert_string_equal(sc.name, "every");
	assert_true(sc.duration_s == 3600.0);
	assert_int_equal(sc.seed, 0xdeadbeefcafeULL);
	assert_true(sc.frame_ms == 7.5);
	assert_true(sc.dongle_ppm == -12.5);
	assert_true(l->ppm == 50.0 && r->ppm == -49.5);
	assert_true(l->wander_ppb_per_s == 5.0 && r->wander_ppb_per_s == 0.25);
	assert_true(l->offset_ms == -1234.5 && r->offset_ms == 1e6);
	assert_int_equal(l->ci_us, 30000);
	assert_int_equal(r->ci_us, 11250);
	assert_int_equal(l->anchor_phase_us, 29999);
	assert_int_equal(r->anchor_phase_us, 6250);
	assert_true(l->loss == 0.05 && r->loss == 0.9);
	assert_int_equal(l->hci_jitter_dist, SIMLINK_JITTER_LOGNORMAL);
	assert_int_equal(r->hci_jitter_dist, SIMLINK_JITTER_UNIFORM);
	assert_true(l->hci_jitter_us == 80.0 && r->hci_jitter_us == 40.0);
	assert_true(l->drop_at_s == 20.0 && r->drop_at_s == 100.5);
	assert_true(l->drop_for_s == 3.0 && r->drop_for_s == 0.25);
}

static void test_unknown_key(void **state)
{
	expect_error("# comment\n[run]\nseed = 3\n\n[left]\nppm = 1\n"
		     "ci = 7500\n",
		     "dir/bad.ini:7: unknown key 'ci' in [left]");
	/* A key of one section is unknown in another. */
	expect_error("[dongle]\nseed = 3\n",
		     "dir/bad.ini:2: unknown key 'seed' in [dongle]");
	expect_error("[run]\nppm = 3\n",
		     "dir/bad.ini:2: unknown key 'ppm' in [run]");
}

static void test_unknown_section(void **state)
{
	expect_error("[run]\nseed = 3\n[middle]\n",
		     "dir/bad.ini:3: unknown section [middle] (expected run, "
		     "dongle, left or right)");
	expect_error("[Left]\nppm = 3\n",
		     "dir/bad.ini:1: unknown section [Left] (expected run, "
		     "dongle, left or right)");
}

static void test_outside_section(void **state)
{
	expect_error("seed = 3\n[run]\n",
		     "dir/bad.ini:1: 'seed' is outside a section");
}

static void test_twice(void **state)
{
	expect_error("[right]\nppm = 3\n[left]\nppm = 3\n[right]\nppm = 4\n",
		     "dir/bad.ini:6: 'ppm' given twice in [right]");
}

static void test_bad_value(void **state)
{
	expect_error("[left]\nppm = fast\n",
		     "dir/bad.ini:2: ppm: 'fast' is not a number");
	expect_error("[left]\nppm = 20ppm\n",
		     "dir/bad.ini:2: ppm: '20ppm' is not a number");
	expect_error("[left]\nppm = nan\n",
		     "dir/bad.ini:2: ppm: 'nan' is not a number");
	expect_error("[right]\nloss = 0.95\n",
		     "dir/bad.ini:2: loss: 0.95 is out of range [0, 0.9]");
	expect_error("[run]\nduration_s = 0\n",
		     "dir/bad.ini:2: duration_s: 0 is out of range (0, 1e+06]");
	expect_error("[run]\nseed = -1\n",
		     "dir/bad.ini:2: seed: '-1' is not an unsigned 64-bit "
		     "integer");
	expect_error("[left]\nci_us = 7000\n",
		     "dir/bad.ini:2: ci_us: 7000 is out of range [7500, 4e+06]");
	expect_error("[left]\nci_us = 8000\n",
		     "dir/bad.ini:2: ci_us: 8000 is not a multiple of 1250 "
		     "(BLE intervals come in 1.25 ms units)");
	expect_error("[left]\nci_us = 7500.5\n",
		     "dir/bad.ini:2: ci_us: '7500.5' is not an integer");
	expect_error("[right]\nhci_jitter_dist = gaussian\n",
		     "dir/bad.ini:2: hci_jitter_dist: 'gaussian' is not "
		     "exponential, lognormal or uniform");
	expect_error("[left]\nwander_ppb_per_s = -1\n",
		     "dir/bad.ini:2: wander_ppb_per_s: -1 is out of range "
		     "[0, 1000]");
}

static void test_cross_checks(void **state)
{
	expect_error("[left]\nanchor_phase_us = 7500\n",
		     "dir/bad.ini:2: [left] anchor_phase_us 7500 must be below "
		     "ci_us 7500");
	/* Reported at the later of the two keys. */
	expect_error("[right]\nanchor_phase_us = 9000\nppm = 1\n"
		     "ci_us = 8750\n",
		     "dir/bad.ini:4: [right] anchor_phase_us 9000 must be below "
		     "ci_us 8750");
	expect_error("[run]\nduration_s = 10\n[right]\ndrop_at_s = 20\n"
		     "drop_for_s = 1\n",
		     "dir/bad.ini:5: [right] drop_at_s 20 is not before the end "
		     "of the run (duration_s 10)");
}

static void test_syntax_error(void **state)
{
	expect_error("[run]\nseed = 3\nthis line is not ini\n",
		     "dir/bad.ini:3: syntax error (expected [section], key = "
		     "value or a comment)");
	expect_error("[run\nseed = 3\n",
		     "dir/bad.ini:1: syntax error (expected [section], key = "
		     "value or a comment)");
}

static void test_first_error_wins(void **state)
{
	expect_error("[left]\nppm = x\nloss = 2\n",
		     "dir/bad.ini:2: ppm: 'x' is not a number");
	/* A syntax error before a value error is the one reported. */
	expect_error("[left]\nnonsense\nloss = 2\n",
		     "dir/bad.ini:2: syntax error (expected [section], key = "
		     "value or a comment)");
}

static void test_missing_file(void **state)
{
	struct scenario sc;
	char err[256] = "";

	assert_int_equal(scenario_load("/nonexistent/none.ini", &sc, err,
				       sizeof(err)),
			 -ENOENT);
	assert_string_equal(err,
			    "/nonexistent/none.ini: No such file or directory");
	/* err may be NULL. */
	assert_int_equal(scenario_load("/nonexistent/none.ini", &sc, NULL, 0),
			 -ENOENT);
}

/*
 * tests/scenarios, found from this file's path as the compiler saw it
 * (relative to the build directory, where meson runs the test).
 */
static int scenarios_dir(char *buf, size_t size)
{
	char file[PATH_MAX];

	snprintf(file, sizeof(file), "%s", __FILE__);
	snprintf(buf, size, "%s/../scenarios", dirname(file));
	return access(buf, R_OK) == 0 ? 0 : -ENOENT;
}

static void test_shipped_files(void **state)
{
	static const char *const names[] = {
		"nominal", "stress", "asym", "reconnect",
	};
	char dir[PATH_MAX], path[PATH_MAX + 32], err[256] = "";
	struct scenario sc;

	if (scenarios_dir(dir, sizeof(dir)) < 0) {
		skip();
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s.ini", dir, names[i]);
		assert_int_equal(scenario_load(path, &sc, err, sizeof(err)),
				 0);
		assert_string_equal(sc.name, names[i]);
	}
	/* What each file says it models. */
	snprintf(path, sizeof(path), "%s/asym.ini", dir);
	assert_int_equal(scenario_load(path, &sc, err, sizeof(err)), 0);
	assert_int_not_equal(sc.ear[0].ci_us, sc.ear[1].ci_us);
	assert_true(sc.dongle_ppm == 30.0);
	snprintf(path, sizeof(path), "%s/reconnect.ini", dir);
	assert_int_equal(scenario_load(path, &sc, err, sizeof(err)), 0);
	assert_true(sc.ear[SCENARIO_RIGHT].drop_at_s == 20.0);
	assert_true(sc.ear[SCENARIO_RIGHT].drop_for_s == 3.0);
	assert_true(sc.ear[SCENARIO_LEFT].drop_for_s == 0.0);
}

/* cmocka_unit_test() with the "module/what_it_checks" name. */
#define scenario_unit_test(what)                                              \
	{                                                                     \
		"scenario/" #what, test_##what, NULL, NULL, NULL              \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		scenario_unit_test(defaults),
		scenario_unit_test(every_key),
		scenario_unit_test(unknown_key),
		scenario_unit_test(unknown_section),
		scenario_unit_test(outside_section),
		scenario_unit_test(twice),
		scenario_unit_test(bad_value),
		scenario_unit_test(cross_checks),
		scenario_unit_test(syntax_error),
		scenario_unit_test(first_error_wins),
		scenario_unit_test(missing_file),
		scenario_unit_test(shipped_files),
	};

	return cmocka_run_group_tests_name("scenario", tests, NULL, NULL);
}
