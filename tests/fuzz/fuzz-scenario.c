/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the scenario parser (src/sim/scenario.c): the
 * input is a scenario file. Beyond memory safety and UB (a value such as
 * 1e400 or nan must not reach a conversion it overflows), every input
 * checks:
 *   - a failure is -EINVAL with a "path:line: reason" message and leaves
 *     the output untouched;
 *   - an accepted scenario holds every value inside the range its header
 *     documents (sim/scenario.h), so nothing downstream divides by a zero
 *     interval or draws from a NaN distribution;
 *   - parsing is deterministic.
 */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/scenario.h"

#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool in(double v, double lo, double hi)
{
	return isfinite(v) && v >= lo && v <= hi;
}

static void check_ear(const struct scenario_ear *e, double duration_s)
{
	check(in(e->ppm, -1000, 1000));
	check(in(e->wander_ppb_per_s, 0, 1000));
	check(in(e->offset_ms, -1e7, 1e9));
	check(e->ci_us >= 7500 && e->ci_us <= 4000000 && e->ci_us % 1250 == 0);
	check(e->anchor_phase_us < e->ci_us);
	check(in(e->loss, 0, 0.9));
	check(in(e->hci_jitter_us, 0, 100000));
	check(in(e->drop_at_s, 0, 1e6) && in(e->drop_for_s, 0, 1e6));
	check(e->ts_res_ns >= 1 && e->ts_res_ns <= 1000000);
	check(in(e->anchor_jitter_us, 0, 1000) &&
	      (e->anchor_jitter_us == 0 || e->anchor_jitter_us < e->ci_us / 4.0));
	check(in(e->render_res_us, 0, 1000));
	check(in(e->ppm_step_at_s, 0, 1e6) && in(e->ppm_step, -1000, 1000) &&
	      fabs(e->ppm + e->ppm_step) <= 1000);
	check(in(e->ci_change_at_s, 0, 1e6));
	check(e->ci_change_to_us == 0 ||
	      (e->ci_change_to_us >= 7500 && e->ci_change_to_us <= 4000000 &&
	       e->ci_change_to_us % 1250 == 0 &&
	       (e->anchor_jitter_us == 0 ||
		e->anchor_jitter_us < e->ci_change_to_us / 4.0)));
	check(in(e->freeze_at_s, 0, 1e6) && in(e->freeze_for_s, 0, 1e6));
	/* A moment in use comes before the end of the run. */
	check(e->drop_for_s == 0 || e->drop_at_s < duration_s);
	check(e->freeze_for_s == 0 || e->freeze_at_s < duration_s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scenario s, s2, before;
	char err[256], err2[256];
	FILE *f;
	int r, r2;

	if (size > 65536) {
		return 0;
	}
	memset(&s, 0x5a, sizeof(s));
	before = s;
	f = fmemopen((void *)data, size ? size : 1, "r");
	if (!f) {
		return 0;
	}
	if (!size) {
		/* fmemopen() refuses a zero size: an empty file is one NUL
		 * short of this. */
		fclose(f);
		f = fopen("/dev/null", "re");
		if (!f) {
			return 0;
		}
	}
	err[0] = 'x';
	r = scenario_parse(f, "fuzz.ini", &s, err, sizeof(err));
	fclose(f);
	if (r < 0) {
		check(r == -EINVAL && memchr(err, 0, sizeof(err)) &&
		      strncmp(err, "fuzz.ini", 8) == 0 &&
		      memcmp(&s, &before, sizeof(s)) == 0);
		return 0;
	}
	check(r == 0);
	check(in(s.duration_s, 1e-300, 1e6) && s.duration_s > 0);
	check(in(s.frame_ms, 1, 100));
	check(in(s.pair_ppm_spread, 0, SCENARIO_PAIR_PPM_SPREAD_MAX));
	check(in(s.dongle_ppm, -1000, 1000));
	check(memchr(s.name, 0, sizeof(s.name)) != NULL);
	for (int i = 0; i < SCENARIO_SIDES; i++) {
		check_ear(&s.ear[i], s.duration_s);
	}

	f = fmemopen((void *)data, size, "r");
	if (!f) {
		return 0;
	}
	r2 = scenario_parse(f, "fuzz.ini", &s2, err2, sizeof(err2));
	fclose(f);
	check(r2 == 0 && memcmp(&s, &s2, sizeof(s)) == 0);
	return 0;
}
