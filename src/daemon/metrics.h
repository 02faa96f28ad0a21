/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_METRICS_H
#define TTWS_DAEMON_METRICS_H

/*
 * ttwsd's metrics as text for Prometheus-style collectors: the counters,
 * gauges and latency histograms of one engine snapshot. Every family is
 * prefixed ttws_, carries its unit in its name (seconds for time, ratio
 * for fractions), per-ear series have ear="left" / "right" and an
 * unconfigured ear (transport none) has none. With [pair.NAME] sections
 * the per-ear and per-pair series (stream, delay, PipeWire) also have
 * pair="NAME", every pair exported; the older [link.*] form has no pair
 * label, as before pairs. The family list is in metrics.c and ttwsd(8).
 *
 * Two dialects, because no single text is valid in both (checked with
 * promtool 2.42 and prometheus_client's OpenMetrics parser):
 * - OpenMetrics 1.0 (GetMetrics): counters "# TYPE x counter" with the
 *   sample x_total, "# UNIT" lines, stateset and info types, "# EOF".
 * - the Prometheus text format 0.0.4 (node_exporter's textfile
 *   collector, promtool check metrics): its parser takes "x_total" from a
 *   "# TYPE x counter" family as another, untyped family and rejects the
 *   stateset and info types. Here counters are declared by their _total
 *   name, statesets and infos are gauges, and there is no UNIT or EOF.
 * The samples themselves (names, labels, values) are the same in both,
 * so queries do not depend on the path the text took.
 *
 * Histograms share one fixed set of "le" boundaries, 1, 2 and 5 per
 * decade from 100 ns to 1 s, with counts from hist_count_le(): a sample
 * counts under a boundary only when its core/hist bucket lies wholly at
 * or below it, so no bucket count is too high and only samples within
 * 1/64 below a boundary can move to the next one up (daemon/omtext.h).
 * _count is exact, _sum the exact sum in seconds as a double.
 */

#include <stdint.h>
#include <stdio.h>

#include "core/conf.h"
#include "core/hist.h"
#include "daemon/bounds.h"
#include "daemon/engine.h"

struct pw_sink_stats;

enum metrics_format {
	METRICS_OPENMETRICS = 0, /* application/openmetrics-text; 1.0.0 */
	METRICS_PROMETHEUS = 1,	 /* text/plain; version=0.0.4 */
};

/*
 * What one exposition shows. Nothing is owned; everything must stay
 * unchanged during the call. The caller copies the histograms out of the
 * engine (engine_hist_get()) beforehand: ~30 KiB each, so keep them off
 * small stacks.
 */
struct metrics_input {
	/* Required. Its pairs[] (n_pairs of them, in conf's pair order);
	 * with n_pairs 0 its ear[] and stream are the one pair's. */
	const struct engine_snapshot *snap;
	const struct conf *conf;	    /* required: the running config */
	uint64_t uptime_ns;
	/* snap->dongle[i]'s tty (engine_dongle_path()); NULL skips it. */
	const char *dongle_path[ENGINE_MAX_DONGLES];
	/* The first pair's sink counters; NULL without a sink (source =
	 * tone). */
	const struct pw_sink_stats *pw;
	/* Pair i's sink counters (i >= 1; NULL: none). */
	const struct pw_sink_stats *pair_pw[CONF_MAX_PAIRS];
	/* Histograms in ns, by engine id; NULL = not available. ear_hist
	 * is the first pair's, used when hist_get is NULL. */
	const struct hist *ear_hist[CONF_N_EARS][ENGINE_N_EAR_HISTS];
	const struct hist *global_hist[ENGINE_N_GLOBAL_HISTS];
	/*
	 * Every pair's ear histograms, fetched one at a time into a buffer
	 * of the exposition's (engine_pair_hist_get() fits, with the engine
	 * as hist_data): 0, or an error to skip that one. NULL: ear_hist.
	 */
	int (*hist_get)(void *hist_data, unsigned pair, enum conf_ear ear,
			unsigned id, struct hist *ret);
	void *hist_data;
	/*
	 * Every bound and what hit it (bounds_take()): the families
	 * ttws_queue_overflows_total, ttws_queue_capacity and
	 * ttws_queue_high_water, labelled queue="NAME" (and unit="..." on
	 * the gauges). NULL: left out.
	 */
	const struct bounds_table *bounds;
};

/*
 * Write the exposition of in to f in format fmt; OpenMetrics ends with
 * "# EOF\n". Returns 0, -EINVAL (no snapshot or config, unknown format),
 * -ENOMEM (hist_get's buffer) or -EIO when f reports a write error.
 */
int metrics_write_as(FILE *f, const struct metrics_input *in,
		     enum metrics_format fmt);

/* metrics_write_as(f, in, METRICS_OPENMETRICS): what GetMetrics returns. */
int metrics_write(FILE *f, const struct metrics_input *in);

/*
 * For node_exporter's textfile collector (which reads only files named
 * *.prom, in the Prometheus format): write in to PATH.tmp (mode 0644
 * whatever the umask, O_CLOEXEC, not through a symlink), fsync it and
 * rename() it over path, so a reader sees the old file or the new one,
 * never a part. Returns 0 or -errno; on failure path is untouched and
 * PATH.tmp removed. -ENAMETOOLONG if PATH.tmp would pass PATH_MAX.
 */
int metrics_write_textfile(const char *path, const struct metrics_input *in);

#endif
