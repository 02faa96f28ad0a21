/* SPDX-License-Identifier: MIT */
#ifndef TTWS_SIM_SCENARIO_H
#define TTWS_SIM_SCENARIO_H

/*
 * Scenario files for ttws-earbud-sim: INI (libinih), semantics pinned in
 * DESIGN.md "The scenario model, pinned". Every key is optional; a key
 * left out takes the default below, which is ideal hardware: perfect
 * crystals, the shortest interval, no loss, no jitter, no drop.
 *
 *  section   key               default      range / meaning
 *  [run]     duration_s        60           (0, 1e6] seconds of audio
 *            seed              1            0..2^64-1 (decimal or 0x hex)
 *            frame_ms          10           [1, 100] ms per audio frame
 *            pair_ppm_spread   10           [0, 100] ppm: with several
 *                                           pairs from one scenario
 *                                           (live --pairs N), each pair
 *                                           after the first moves every
 *                                           crystal by a uniform draw in
 *                                           [-spread, +spread]
 *                                           (sim/simpairs.h)
 *  [dongle]  ppm               0            [-1000, 1000] dongle crystal
 *  [left]    ppm               0            [-1000, 1000] earbud crystal
 *  [right]   wander_ppb_per_s  0            [0, 1000] frequency random
 *                                           walk, ppb per sqrt(s)
 *            offset_ms         0            [-1e7, 1e9] ear - host at h=0
 *            ci_us             7500         multiple of 1250 in
 *                                           [7500, 4000000] (BLE, Core
 *                                           5.4, Vol 6, Part B, 4.5.1)
 *            anchor_phase_us   0            [0, ci_us) dongle us from
 *                                           link start to first event
 *            loss              0            [0, 0.9] per-event loss
 *            hci_jitter_dist   exponential  exponential | lognormal |
 *                                           uniform | pareto | usb
 *            hci_jitter_us     0            [0, 100000] jitter scale:
 *                                           the mean (exponential,
 *                                           lognormal, pareto, usb
 *                                           before its microframe
 *                                           wait) or the width
 *                                           (uniform)
 *            drop_at_s         0            [0, 1e6] link goes down, s
 *                                           after the start
 *            drop_for_s        0            [0, 1e6] down this long; 0
 *                                           means the link never drops
 *            ts_res_ns         1            [1, 1e6] earbud timestamp
 *                                           tick: t2, t3 and render
 *                                           stamps are truncated to it
 *            anchor_jitter_us  0            [0, 1000], < ci_us / 4 and
 *                                           < ci_change_to_us / 4: each
 *                                           event moves by U(-a, +a)
 *            render_res_us     0            [0, 1000] render start
 *                                           grid, 0 = fractional (ASRC)
 *            ppm_step_at_s     0            [0, 1e6] s after the start
 *            ppm_step          0            [-1000, 1000] the crystal's
 *                                           rate error changes by this
 *                                           then; |ppm + ppm_step| <=
 *                                           1000
 *            ci_change_at_s    0            [0, 1e6] s after the start
 *            ci_change_to_us   0            0 = none, else like ci_us:
 *                                           the interval after the
 *                                           first event at or after
 *                                           ci_change_at_s
 *            freeze_at_s       0            [0, 1e6] s after the start
 *            freeze_for_s      0            [0, 1e6] the earbud stops
 *                                           answering this long with
 *                                           its link up; 0 = never
 *
 * The physics behind each key is in tests/scenarios/README.md. Where a
 * key sets a moment (drop, step, change, freeze) that moment must come
 * before duration_s once the key is in use.
 *
 * Anything else is an error: an unknown section or key, a key outside a
 * section, a key given twice, a value that does not parse or is out of
 * range, or an INI syntax error. The message names file:line and the
 * reason.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/simlink.h"

/* [run] pair_ppm_spread: its default and bound, ppm. */
#define SCENARIO_PAIR_PPM_SPREAD_DEFAULT 10.0
#define SCENARIO_PAIR_PPM_SPREAD_MAX 100.0

enum scenario_side {
	SCENARIO_LEFT = 0,
	SCENARIO_RIGHT = 1,
};
#define SCENARIO_SIDES 2

struct scenario_ear {
	double ppm;
	double wander_ppb_per_s;
	double offset_ms;
	uint32_t ci_us;
	uint32_t anchor_phase_us;
	double loss;
	enum simlink_jitter hci_jitter_dist;
	double hci_jitter_us;
	double drop_at_s;
	double drop_for_s;
	/*
	 * Added with issue 11; their defaults change nothing. Stored only:
	 * ts_res_ns, render_res_us, freeze_* (the earbud's protocol side
	 * applies them); the others feed simclock_config / simlink_config.
	 */
	uint32_t ts_res_ns;      /* earbud timestamp tick, ns */
	double anchor_jitter_us; /* half width of the event instant jitter */
	double render_res_us;    /* render start grid, us; 0: fractional */
	double ppm_step_at_s;    /* s after the start */
	double ppm_step;         /* rate error change, ppm */
	double ci_change_at_s;   /* s after the start */
	uint32_t ci_change_to_us; /* 0: no interval change */
	double freeze_at_s;      /* s after the start */
	double freeze_for_s;     /* 0: never freezes */
};

struct scenario {
	char name[64]; /* file name without directory and ".ini" */
	double duration_s;
	uint64_t seed;
	double frame_ms;
	double pair_ppm_spread; /* ppm; only pairs 1.. of a --pairs run */
	double dongle_ppm;
	struct scenario_ear ear[SCENARIO_SIDES];
};

/* Fill *ret with the defaults of the table above, name "default". */
void scenario_default(struct scenario *ret);

/*
 * Parse a scenario from f; path names it in messages and gives the
 * scenario its name. Returns 0 and *ret, or -EINVAL with a message
 * "path:line: reason" in err (err_size bytes, always terminated; err may
 * be NULL). *ret is untouched on error.
 */
int scenario_parse(FILE *f, const char *path, struct scenario *ret,
		   char *err, size_t err_size);

/*
 * scenario_parse() on the file at path; -errno and "path: reason" if it
 * cannot be opened.
 */
int scenario_load(const char *path, struct scenario *ret, char *err,
		  size_t err_size);

const char *scenario_side_name(enum scenario_side side);

#endif
