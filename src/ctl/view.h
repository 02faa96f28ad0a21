/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CTL_VIEW_H
#define TTWS_CTL_VIEW_H

/*
 * ttwsctl's human output, pure: each view takes the parsed answer of the
 * daemon (json-c trees, borrowed) and writes aligned text that fits
 * CTL_WIDTH columns to f. A member the daemon did not send prints as "-".
 * Views return 0, or -ENOMEM / -EIO.
 *
 * The --json documents of status and ears are built here too, from the
 * D-Bus properties (keys are the property names), so the human and the
 * JSON views read the same tree.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <json-c/json.h>

/* How a value cell is written (view_value.c). */
enum ctl_kind {
	CTL_KIND_TEXT,	  /* any scalar as text */
	CTL_KIND_NS,	  /* signed ns: ctl_fmt_ns() */
	CTL_KIND_PPB,	  /* ppb as ppm */
	CTL_KIND_BATTERY, /* percent, 255 unknown */
	CTL_KIND_US_MS,	  /* us as ms */
	CTL_KIND_SUM,	  /* the sum of an object's numeric members */
};

/* The value at path under o, formatted by kind, "-" when missing. */
char *ctl_view_value(struct json_object *o, const char *path,
		     enum ctl_kind kind, char *buf, size_t size);

/* A row of the per-ear tables (label | left | right): member, format. */
struct ctl_ear_row {
	const char *label;
	const char *path;
	enum ctl_kind kind;
};

/* The table "label | left | right" of rows, values from left and right
 * (either may be NULL: "-"). */
int ctl_view_ear_table(FILE *f, struct json_object *left,
		       struct json_object *right,
		       const struct ctl_ear_row *rows, size_t n);

/* ---- status and ears (view_status.c) ----
 * status: {"daemon": {Daemon1 properties}, "ears": {"left": {Ear1
 * properties}, "right": {...}}, "bounds": GetStats' "bounds"};
 * RtPlacement as [{"item", "status", "detail"}]
 * (ctl_view_rt_objects()). */
int ctl_view_status(FILE *f, struct json_object *status);

/*
 * GetStats' "bounds" ([{"queue", "overflows", ...}]) in one line: "ok
 * (27 bounds, none hit)", or "hit: log_ring 12, link_tx 3" (the bounds
 * hit since ttwsd started, with how often); "-" when bounds is not an
 * array.
 */
void ctl_view_bounds_summary(struct json_object *bounds, char *buf,
			     size_t size);

/* Is the ear streaming with a locked (or stable) servo? */
bool ctl_view_ear_in_sync(struct json_object *ear);

/* "ok", or "1 failed (sched), 2 warnings (memlock, cpuset)". */
void ctl_view_rt_summary(struct json_object *rt, char *buf, size_t size);

/* Replace a(sss) arrays ([[item, status, detail], ...]) in place by
 * objects {"item", "status", "detail"}. Returns 0 or -ENOMEM. */
int ctl_view_rt_objects(struct json_object *rt);

/* ears: {"left": {Ear1 properties, "stats": GetStats' ears.left}, ...}. */
int ctl_view_ears(FILE *f, struct json_object *ears);

/* ---- pairs (view_pairs.c) ----
 * pairs: {"pairs": [{Pair1 properties, "ears": {"left": {Ear1
 * properties}, "right": {...}}}, ...]}: one row per pair. */
int ctl_view_pairs(FILE *f, struct json_object *doc);

/* The object of GetStats' "pairs" named name (borrowed), or NULL. */
struct json_object *ctl_stats_pair(struct json_object *stats, const char *name);

/*
 * --pair NAME on GetStats' document, in place: "ears", the stream's
 * frames, delays and codec, and the ears' "histograms" become that
 * pair's ("pair": NAME is added). 0, or -ENOENT when there is no such
 * pair.
 */
int ctl_stats_select_pair(struct json_object *stats, const char *name);

/* ---- stats (view_stats.c): GetStats' object ---- */
int ctl_view_stats(FILE *f, struct json_object *stats, bool histogram);

/* The percentile tables of GetStats' "histograms" (stats --histogram). */
int ctl_view_histograms(FILE *f, struct json_object *histograms);

/* ---- latency (view_latency.c) ---- */

/* One layer of one direction: the percentiles of its TABLE. */
struct ctl_layer {
	const char *name; /* "transport", "kernel", ... */
	bool present;	  /* the TABLE has samples (count > 0, p99 given) */
	int64_t count;
	double p50_us, p99_us, max_us;
};

enum ctl_dir {
	CTL_DIR_RX,
	CTL_DIR_TX,
};

#define CTL_LAYERS_MAX 4

/* The layers of one direction from one ear's histograms object
 * (GetStats' histograms.left); returns how many (4 rx, 3 tx). */
size_t ctl_latency_layers(struct json_object *ear_hist, enum ctl_dir dir,
			  struct ctl_layer ret[CTL_LAYERS_MAX]);

/* The layer with the largest P99 among the present ones (the first on a
 * tie), or -1 when none has samples. */
int ctl_latency_dominant(const struct ctl_layer *l, size_t n);

int ctl_view_latency(FILE *f, struct json_object *stats);

/* latency --json: {"left": {"rx": {"transport": {"count", "p50_us",
 * "p99_us", "max_us"} or null, ...}, "tx": {...}, "dominant_rx": NAME or
 * null, "dominant_tx": ...}, "right": ...}. NULL on ENOMEM. */
struct json_object *ctl_latency_json(struct json_object *stats);

/* ---- keys (view_keys.c): [{"name", "value", "mode", "range"}] ---- */
int ctl_view_keys(FILE *f, struct json_object *keys);

/* ---- monitor (view_monitor.c) ---- */

/* The object's short name for a path: "daemon", "left", "right", a
 * pair's "NAME" or "NAME/ear/left" (NAME escaped, as in the path), else
 * the path itself. Borrowed from path. */
const char *ctl_monitor_object(const char *path);

/*
 * One change: "12:03:04.123  right   State       streaming -> connecting"
 * at local time `when` (realtime clock); with json one object per line:
 * {"time": ISO 8601 local with offset, "object": path, "property",
 * "old", "new"} (old is null when unknown). Flushes f. Returns 0,
 * -EINVAL (no local time for when), -ENOMEM or -EIO.
 */
int ctl_monitor_line(FILE *f, const struct timespec *when, const char *path,
		     const char *property, struct json_object *old_value,
		     struct json_object *new_value, bool json);

#endif
