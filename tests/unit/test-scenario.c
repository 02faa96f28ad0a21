/* SPDX-License-Identifier: MIT */
/*
 * Scenario files of ttws-earbud-sim: defaults, every key, and errors that
 * name file:line and the reason.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
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
	assert_true(sc.pair_ppm_spread == 10.0);
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
		/* The issue 11 keys: exact stamps, no jitter, no events. */
		assert_int_equal(e->ts_res_ns, 1);
		assert_true(e->anchor_jitter_us == 0.0);
		assert_true(e->render_res_us == 0.0);
		assert_true(e->ppm_step_at_s == 0.0 && e->ppm_step == 0.0);
		assert_true(e->ci_change_at_s == 0.0);
		assert_int_equal(e->ci_change_to_us, 0);
		assert_true(e->freeze_at_s == 0.0 && e->freeze_for_s == 0.0);
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
		"pair_ppm_spread = 2.5\n"
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
		"ts_res_ns = 1000\n"
		"anchor_jitter_us = 2\n"
		"render_res_us = 20.833\n"
		"ppm_step_at_s = 20\n"
		"ppm_step = 3\n"
		"ci_change_at_s = 30\n"
		"ci_change_to_us = 15000\n"
		"freeze_at_s = 40\n"
		"freeze_for_s = 0.5\n"
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
		"drop_for_s = 0.25\n"
		"ts_res_ns = 30518\n"
		"anchor_jitter_us = 1000\n"
		"render_res_us = 1000\n"
		"ppm_step_at_s = 0\n"
		"ppm_step = -950.5\n"
		"ci_change_at_s = 3599.5\n"
		"ci_change_to_us = 4000000\n"
		"freeze_at_s = 3599\n"
		"freeze_for_s = 1e6\n";
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
	assert_true(sc.pair_ppm_spread == 2.5);
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
	assert_int_equal(l->ts_res_ns, 1000);
	assert_int_equal(r->ts_res_ns, 30518);
	assert_true(l->anchor_jitter_us == 2.0);
	assert_true(r->anchor_jitter_us == 1000.0);
	assert_true(l->render_res_us == 20.833 && r->render_res_us == 1000.0);
	assert_true(l->ppm_step_at_s == 20.0 && r->ppm_step_at_s == 0.0);
	assert_true(l->ppm_step == 3.0 && r->ppm_step == -950.5);
	assert_true(l->ci_change_at_s == 30.0 && r->ci_change_at_s == 3599.5);
	assert_int_equal(l->ci_change_to_us, 15000);
	assert_int_equal(r->ci_change_to_us, 4000000);
	assert_true(l->freeze_at_s == 40.0 && r->freeze_at_s == 3599.0);
	assert_true(l->freeze_for_s == 0.5 && r->freeze_for_s == 1e6);
}

static void test_jitter_kinds(void **state)
{
	struct scenario sc;
	char err[256] = "";

	assert_int_equal(parse_text("j.ini",
				    "[left]\nhci_jitter_dist = pareto\n"
				    "[right]\nhci_jitter_dist = usb\n",
				    &sc, err, sizeof(err)),
			 0);
	assert_int_equal(sc.ear[SCENARIO_LEFT].hci_jitter_dist,
			 SIMLINK_JITTER_PARETO);
	assert_int_equal(sc.ear[SCENARIO_RIGHT].hci_jitter_dist,
			 SIMLINK_JITTER_USB);
	/* No interval change: 0 is accepted as "none". */
	assert_int_equal(parse_text("j.ini", "[left]\nci_change_to_us = 0\n",
				    &sc, err, sizeof(err)),
			 0);
	assert_int_equal(sc.ear[SCENARIO_LEFT].ci_change_to_us, 0);
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
		     "exponential, lognormal, uniform, pareto or usb");
	expect_error("[run]\npair_ppm_spread = 101\n",
		     "dir/bad.ini:2: pair_ppm_spread: 101 is out of range "
		     "[0, 100]");
	expect_error("[left]\npair_ppm_spread = 1\n",
		     "dir/bad.ini:2: unknown key 'pair_ppm_spread' in [left]");
	expect_error("[left]\nwander_ppb_per_s = -1\n",
		     "dir/bad.ini:2: wander_ppb_per_s: -1 is out of range "
		     "[0, 1000]");
}

/* Each issue 11 key refuses what is outside its range, at its line. */
static void test_bad_value_new_keys(void **state)
{
	expect_error("[left]\nts_res_ns = 0\n",
		     "dir/bad.ini:2: ts_res_ns: 0 is out of range [1, 1e+06]");
	expect_error("[right]\nppm = 1\nts_res_ns = 1000001\n",
		     "dir/bad.ini:3: ts_res_ns: 1000001 is out of range "
		     "[1, 1e+06]");
	expect_error("[left]\nts_res_ns = 1.5\n",
		     "dir/bad.ini:2: ts_res_ns: '1.5' is not an integer");
	expect_error("[left]\nanchor_jitter_us = -0.5\n",
		     "dir/bad.ini:2: anchor_jitter_us: -0.5 is out of range "
		     "[0, 1000]");
	expect_error("[left]\nci_us = 30000\nanchor_jitter_us = 1001\n",
		     "dir/bad.ini:3: anchor_jitter_us: 1001 is out of range "
		     "[0, 1000]");
	expect_error("[left]\nrender_res_us = 1000.5\n",
		     "dir/bad.ini:2: render_res_us: 1000.5 is out of range "
		     "[0, 1000]");
	expect_error("[left]\nrender_res_us = -1\n",
		     "dir/bad.ini:2: render_res_us: -1 is out of range "
		     "[0, 1000]");
	expect_error("[left]\nppm_step_at_s = -1\n",
		     "dir/bad.ini:2: ppm_step_at_s: -1 is out of range "
		     "[0, 1e+06]");
	expect_error("[right]\nppm_step = 1000.5\n",
		     "dir/bad.ini:2: ppm_step: 1000.5 is out of range "
		     "[-1000, 1000]");
	expect_error("[left]\nci_change_at_s = 2e6\n",
		     "dir/bad.ini:2: ci_change_at_s: 2e6 is out of range "
		     "[0, 1e+06]");
	expect_error("[left]\nci_change_to_us = 6250\n",
		     "dir/bad.ini:2: ci_change_to_us: 6250 is out of range "
		     "[7500, 4e+06] (or 0: none)");
	expect_error("[left]\nci_change_to_us = 4001250\n",
		     "dir/bad.ini:2: ci_change_to_us: 4001250 is out of range "
		     "[7500, 4e+06] (or 0: none)");
	expect_error("[left]\nci_change_to_us = 10500\n",
		     "dir/bad.ini:2: ci_change_to_us: 10500 is not a multiple "
		     "of 1250 (BLE intervals come in 1.25 ms units)");
	expect_error("[left]\nci_change_to_us = -7500\n",
		     "dir/bad.ini:2: ci_change_to_us: '-7500' is not an "
		     "integer");
	expect_error("[left]\nfreeze_at_s = -3\n",
		     "dir/bad.ini:2: freeze_at_s: -3 is out of range "
		     "[0, 1e+06]");
	expect_error("[right]\nfreeze_for_s = 1e7\n",
		     "dir/bad.ini:2: freeze_for_s: 1e7 is out of range "
		     "[0, 1e+06]");
	expect_error("[left]\nts_res_ns = 1000\n[left]\nts_res_ns = 1000\n",
		     "dir/bad.ini:4: 'ts_res_ns' given twice in [left]");
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

static void test_cross_checks_new_keys(void **state)
{
	struct scenario sc;
	char err[256] = "";

	/*
	 * Anchor jitter under a quarter of either interval: the ranges
	 * imply it today (4 * 1000 us < 7500 us), so the widest jitter on
	 * the shortest intervals must pass.
	 */
	assert_int_equal(parse_text("ok.ini",
				    "[left]\nanchor_jitter_us = 1000\n"
				    "ci_us = 7500\nci_change_to_us = 7500\n",
				    &sc, err, sizeof(err)),
			 0);
	/* The crystal after its step stays within +-1000 ppm. */
	expect_error("[left]\nppm = 900\nloss = 0\nppm_step = 100.5\n",
		     "dir/bad.ini:4: [left] ppm 900 + ppm_step 100.5 is "
		     "outside [-1000, 1000]");
	expect_error("[right]\nppm_step = -600\nppm = -500\n",
		     "dir/bad.ini:3: [right] ppm -500 + ppm_step -600 is "
		     "outside [-1000, 1000]");
	assert_int_equal(parse_text("ok.ini",
				    "[left]\nppm = 900\nppm_step = 100\n"
				    "[right]\nppm = 1000\nppm_step = -1000\n",
				    &sc, err, sizeof(err)),
			 0);
	/* A moment that is in use must fall inside the run. */
	expect_error("[run]\nduration_s = 10\n[left]\nppm_step = 1\n"
		     "ppm_step_at_s = 10\n",
		     "dir/bad.ini:5: [left] ppm_step_at_s 10 is not before the "
		     "end of the run (duration_s 10)");
	expect_error("[run]\nduration_s = 10\n[right]\nci_change_at_s = 11\n"
		     "ci_change_to_us = 15000\n",
		     "dir/bad.ini:5: [right] ci_change_at_s 11 is not before "
		     "the end of the run (duration_s 10)");
	expect_error("[right]\nfreeze_for_s = 3\nfreeze_at_s = 60\n",
		     "dir/bad.ini:3: [right] freeze_at_s 60 is not before the "
		     "end of the run (duration_s 60)");
	/* Unused, the moment is not checked (as drop_at_s). */
	assert_int_equal(parse_text("ok.ini",
				    "[left]\nppm_step_at_s = 100\n"
				    "ci_change_at_s = 100\nfreeze_at_s = 100\n",
				    &sc, err, sizeof(err)),
			 0);
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
		"nominal", "stress",  "asym",   "reconnect",
		"realistic", "rtc32k", "freeze",
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
	snprintf(path, sizeof(path), "%s/realistic.ini", dir);
	assert_int_equal(scenario_load(path, &sc, err, sizeof(err)), 0);
	for (int s = 0; s < SCENARIO_SIDES; s++) {
		const struct scenario_ear *e = &sc.ear[s];

		assert_int_equal(e->ts_res_ns, 1000);
		assert_true(e->anchor_jitter_us == 2.0);
		assert_int_equal(e->hci_jitter_dist, SIMLINK_JITTER_PARETO);
		assert_true(fabs(e->ppm) >= 30.0 && fabs(e->ppm) <= 40.0);
		assert_true(e->wander_ppb_per_s > 0.0);
		assert_int_equal(e->ci_us, 7500);
		assert_int_equal(e->ci_change_to_us, 15000);
		assert_true(e->ci_change_at_s == 30.0);
		assert_true(e->loss == 0.01);
		assert_true(e->render_res_us == 20.833);
	}
	assert_true((sc.ear[0].ppm_step != 0.0) != (sc.ear[1].ppm_step != 0.0));
	assert_true(sc.duration_s == 60.0);
	snprintf(path, sizeof(path), "%s/rtc32k.ini", dir);
	assert_int_equal(scenario_load(path, &sc, err, sizeof(err)), 0);
	for (int s = 0; s < SCENARIO_SIDES; s++) {
		assert_int_equal(sc.ear[s].ts_res_ns, 30518);
		assert_int_equal(sc.ear[s].hci_jitter_dist, SIMLINK_JITTER_EXPONENTIAL);
	}
	snprintf(path, sizeof(path), "%s/freeze.ini", dir);
	assert_int_equal(scenario_load(path, &sc, err, sizeof(err)), 0);
	assert_true(sc.ear[SCENARIO_RIGHT].freeze_at_s == 20.0);
	assert_true(sc.ear[SCENARIO_RIGHT].freeze_for_s == 3.0);
	assert_true(sc.ear[SCENARIO_LEFT].freeze_for_s == 0.0);
	assert_true(sc.ear[SCENARIO_RIGHT].drop_for_s == 0.0);
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
		scenario_unit_test(jitter_kinds),
		scenario_unit_test(bad_value),
		scenario_unit_test(bad_value_new_keys),
		scenario_unit_test(cross_checks),
		scenario_unit_test(cross_checks_new_keys),
		scenario_unit_test(syntax_error),
		scenario_unit_test(first_error_wins),
		scenario_unit_test(missing_file),
		scenario_unit_test(shipped_files),
	};

	return cmocka_run_group_tests_name("scenario", tests, NULL, NULL);
}
