/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_OMTEXT_H
#define TTWS_DAEMON_OMTEXT_H

/*
 * A writer of metric expositions in the two text dialects:
 *
 * - OpenMetrics 1.0 (OpenObservability/OpenMetrics,
 *   specification/OpenMetrics.md, "Text format"): metadata in the order
 *   TYPE, UNIT, HELP; a counter family "x" has the sample x_total; the
 *   stateset and info types; "# EOF" last.
 * - the Prometheus text format 0.0.4 as prometheus/common's
 *   expfmt.TextParser reads it (promtool, node_exporter's textfile
 *   collector): HELP then TYPE under the samples' own name (x_total,
 *   x_info), stateset and info as gauges, no UNIT, no EOF.
 *
 * Sample lines are the same in both. A family's metadata is written
 * before its first sample, so a family without samples leaves no trace.
 * The caller writes each family's samples together, and each labelset's
 * together (neither format allows interleaving).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/hist.h"

enum omtext_type {
	OMTEXT_COUNTER,
	OMTEXT_GAUGE,
	OMTEXT_STATESET,
	OMTEXT_INFO,
	OMTEXT_HISTOGRAM,
};

/*
 * One MetricFamily, usually a static const. name is the OpenMetrics
 * family name: without _total or _info (added per type), ending in
 * "_" unit when unit is not "". help must hold no double quote, backslash
 * or newline: the Prometheus parser knows no \" in HELP, so it is written
 * as is.
 */
struct omtext_family {
	const char *name;
	enum omtext_type type;
	const char *unit;
	const char *help;
};

/* value is escaped on output; invalid UTF-8 becomes U+FFFD. */
struct omtext_label {
	const char *name;
	const char *value;
};

/* Labels a sample may carry, including the stateset's and "le". */
#define OMTEXT_MAX_LABELS 4

struct omtext {
	/* Private: use the functions. */
	FILE *f;
	bool openmetrics;
	const struct omtext_family *open; /* metadata already written */
};

/* Write to f (not owned) in OpenMetrics, or else the Prometheus format. */
void omtext_init(struct omtext *w, FILE *f, bool openmetrics);

/*
 * One sample of family m with labels l[0..n) (n < OMTEXT_MAX_LABELS, l
 * may be NULL when n is 0). u64 for counters and integer gauges, f64 for
 * other gauges (shortest text that reads back exactly; NaN, +Inf).
 */
void omtext_u64(struct omtext *w, const struct omtext_family *m,
		const struct omtext_label *l, size_t n, uint64_t v);
void omtext_f64(struct omtext *w, const struct omtext_family *m,
		const struct omtext_label *l, size_t n, double v);

/*
 * A stateset of states[0..n_states): one sample each, labelled with the
 * family's own name, 1 for states[current] and 0 for the others.
 */
void omtext_stateset(struct omtext *w, const struct omtext_family *m,
		     const struct omtext_label *l, size_t n,
		     const char *const *states, size_t n_states,
		     size_t current);

/*
 * A histogram of h (core/hist, values in ns) in seconds: the fixed "le"
 * boundaries 1e-07 .. 1.0 (1, 2, 5 per decade from 100 ns to 1 s), +Inf,
 * _count and _sum. Bucket counts come from hist_count_le(): a sample
 * counts under a boundary only when its core/hist bucket lies wholly at
 * or below it, so no count is too high and only samples within 1/64
 * below a boundary can move to the next one up. Cumulative and at most
 * _count even from an inconsistent copy. _sum is the exact sum rounded
 * to double.
 */
void omtext_hist(struct omtext *w, const struct omtext_family *m,
		 const struct omtext_label *l, size_t n, const struct hist *h);

/* End the exposition ("# EOF" in OpenMetrics). 0, or -EIO after a write
 * error on the stream. */
int omtext_finish(struct omtext *w);

#endif
