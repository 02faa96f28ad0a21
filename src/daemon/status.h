/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_STATUS_H
#define TTWS_DAEMON_STATUS_H

#include <stdio.h>

#include "daemon/engine.h"
#include "os/rt.h"

struct pw_sink_stats;
struct notify;

/* What the status document is made of; pointers not owned. */
struct status_input {
	const struct engine_snapshot *snap;
	const struct conf *conf;         /* the running configuration */
	const char *backend_note;
	const struct pw_sink_stats *pw;  /* NULL: source = tone */
	/* Optional (NULL / 0: the section is left out): */
	struct engine *engine;           /* histograms */
	const struct rt_report *rt;      /* real-time placement */
	const char *config_path;
	uint64_t config_generation;      /* live changes adopted */
	double uptime_s;
	const struct notify *notify;     /* what systemd was told */
	/* Each pair's PipeWire node, in the engine's order (NULL: none). */
	const char *sink_node[CONF_MAX_PAIRS];
};

/*
 * Write the status as one JSON object and a newline (GetStats, and
 * --stats-file at exit): version, configuration, real-time placement,
 * service manager (READY, STATUS, watchdog pings), stream, PipeWire (pw,
 * with ttws.sink gone and back), loop, per-ear link and servo state
 * ("stream", "pw" and "ears" are the first pair's), "pairs" (per pair:
 * name, sink, stream, delay and its ears), dongles and the histograms
 * as percentile tables in us. Strings are
 * escaped.
 * 0 or -errno.
 */
int status_write_json(FILE *f, const struct status_input *in);

/* One human line per ear, for the log. */
void status_log_summary(const struct engine_snapshot *s,
			const struct conf *c);

struct ashapair_stats;

/* status_asha.c: an ASHA pair's "asha":{...} member (no leading comma). */
void status_asha_json(FILE *f, const struct ashapair_stats *p);

#endif
