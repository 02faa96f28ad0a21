/* SPDX-License-Identifier: MIT */
#ifndef TTWS_SIM_SIMREPORT_H
#define TTWS_SIM_SIMREPORT_H

/*
 * Printing a virtual run's result: a report for people, and one JSON line
 * for scripts (tests/bench/sync.sh) of exactly this shape, estimators in
 * the order naive, median_iir, ttws, lucky_pi and only those that ran:
 *
 *   {"scenario":"NAME","fixed_delay_ms":null,
 *    "naive":{"p99_us":..,"max_us":..,"p50_us":..,"late_frac":..,
 *     "lost_frac":..,"unsent_frac":..,"delay_ms":..,"delay_max_ms":..},
 *    "median_iir":{...},"ttws":{...[,"relock_s":..][,"acoustic_p99_us":..]},
 *    "lucky_pi":{...}}
 *
 * fixed_delay_ms is the run's fixed presentation delay (ms), null when
 * the delay was ttwsd's adaptive one.
 *
 * p50/p99/max_us: the mapping error |pts_L - pts_R| (us, 3 decimals) over
 * the counted frames both ears rendered; null if there was none.
 * late/lost/unsent_frac: frames of both ears with that fate over twice
 * the counted frames (every frame judged after the warm-up, for each
 * ear), printed with 9 significant digits so that two runs of the same
 * length compare exactly as their counts do; null if nothing was
 * counted. delay_ms: the plan's presentation delay averaged over the
 * counted frames; delay_max_ms its largest (ms, 4 decimals; both null
 * if nothing was counted).
 *
 * ttws only: relock_s is present when an ear's link dropped or its
 * earbud froze: the slowest ear's relock time (s), null if the error
 * never came back under 15 us. acoustic_p99_us is present when either
 * ear renders on a sample grid (render_res_us > 0): the p99 of
 * |render_L - render_R| (us).
 */

#include <stdio.h>

#include "sim/simvirt.h"

void simreport_human(FILE *f, const struct simvirt_result *res);
void simreport_json(FILE *f, const struct simvirt_result *res);

#endif
