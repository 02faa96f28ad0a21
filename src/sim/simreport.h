/* SPDX-License-Identifier: MIT */
#ifndef TTWS_SIM_SIMREPORT_H
#define TTWS_SIM_SIMREPORT_H

/*
 * Printing a virtual run's result: a report for people, and one JSON line
 * for scripts (tests/bench/sync.sh) of exactly this shape, estimators in
 * the order naive, median_iir, ttws and only those that ran:
 *
 *   {"scenario":"NAME","naive":{"p50_us":..,"p99_us":..,"max_us":..,
 *    "late":..},"median_iir":{...},"ttws":{...,"relock_s":..}}
 *
 * Errors are |render_L - render_R| in us (3 decimals), null if no frame
 * was counted; late is the frames of both ears that arrived after their
 * pts. relock_s (ttws only) is null when no link dropped, -1 when the
 * error never came back under 15 us, else the slowest ear's relock time.
 */

#include <stdio.h>

#include "sim/simvirt.h"

void simreport_human(FILE *f, const struct simvirt_result *res);
void simreport_json(FILE *f, const struct simvirt_result *res);

#endif
