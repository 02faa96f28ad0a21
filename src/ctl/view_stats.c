/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "core/macro.h"
#include "ctl/fmt.h"
#include "ctl/jsonpath.h"
#include "ctl/para.h"
#include "ctl/table.h"
#include "ctl/view.h"

/* Label column of the stats sections. */
#define CTL_STATS_LABEL 11

/* Per-ear counters of GetStats' "ears" (schema: contract, status.c). */
static const struct ctl_ear_row ctl_stats_ear_rows[] = {
    {"transport", "transport", CTL_KIND_TEXT},
    {"state", "state", CTL_KIND_TEXT},
    {"connects", "connects", CTL_KIND_TEXT},
    {"disconnects", "disconnects", CTL_KIND_TEXT},
    {"frames sent", "frames_sent", CTL_KIND_TEXT},
    {"reports", "reports", CTL_KIND_TEXT},
    {"not rendered", "not_rendered", CTL_KIND_TEXT},
    {"late at earbud", "ear_late", CTL_KIND_TEXT},
    {"frames lost", "frames_lost", CTL_KIND_TEXT},
    {"ear underruns", "ear_underruns", CTL_KIND_TEXT},
    {"sync requests", "sync_sent", CTL_KIND_TEXT},
    {"sync samples", "sync_samples", CTL_KIND_TEXT},
    {"sync lost", "sync_lost", CTL_KIND_TEXT},
    {"servo", "servo.state", CTL_KIND_TEXT},
    {"servo samples", "servo.samples", CTL_KIND_TEXT},
    {"servo rejected", "servo.rejected", CTL_KIND_TEXT},
    {"servo steps", "servo.steps", CTL_KIND_TEXT},
    {"malformed", "malformed", CTL_KIND_SUM},
    {"unexpected", "unexpected", CTL_KIND_TEXT},
    {"rx no kernel ts", "rx_no_kernel_ts", CTL_KIND_TEXT},
    {"battery", "battery_pct", CTL_KIND_BATTERY},
};

/* Every scalar under o as "name value", nested names dotted; arrays of
 * scalars as "a/b" (the per-ear octets). */
static void ctl_stats_flatten(struct ctl_para *p, struct json_object *o,
			      const char *prefix)
{
	char name[128], text[CTL_PARA_ITEM_MAX];

	json_object_object_foreach(o, key, v)
	{
		snprintf(name, sizeof(name), "%s%s", prefix, key);
		if (json_object_is_type(v, json_type_object)) {
			strncat(name, ".", sizeof(name) - strlen(name) - 1);
			ctl_stats_flatten(p, v, name);
		} else {
			ctl_para_item(p, "%s %s", name,
				      ctl_json_text(v, text, sizeof(text)));
		}
	}
}

/* One section: "label      k v, k v, ..." of every scalar in o. */
static void ctl_stats_section(FILE *f, const char *label, struct json_object *o)
{
	struct ctl_para p;

	ctl_para_begin(&p, f, label, CTL_STATS_LABEL, CTL_WIDTH);
	if (o && json_object_is_type(o, json_type_object)) {
		ctl_stats_flatten(&p, o, "");
	}
	ctl_para_end(&p);
}

static void ctl_stats_head(FILE *f, struct json_object *s)
{
	char a[CTL_FMT_MAX], b[CTL_FMT_MAX], text[256];
	const char *note = ctl_json_string(s, "backend_note");
	struct ctl_para p;
	double up;

	fprintf(
	    f, "ttwsd %s",
	    ctl_view_value(s, "version", CTL_KIND_TEXT, text, sizeof(text)));
	if (ctl_json_double(s, "uptime_s", &up) == 0 && up >= 0) {
		fprintf(f, ", up %s",
			ctl_fmt_uptime_us(a, sizeof(a), (uint64_t)(up * 1e6)));
	}
	fprintf(
	    f, ", backend %s\n",
	    ctl_view_value(s, "backend", CTL_KIND_TEXT, text, sizeof(text)));
	if (note && note[0]) {
		ctl_para_begin(&p, f, "note", CTL_STATS_LABEL, CTL_WIDTH);
		ctl_para_item(&p, "%s", note);
		ctl_para_end(&p);
	}
	ctl_para_begin(&p, f, "config", CTL_STATS_LABEL, CTL_WIDTH);
	ctl_para_item(&p, "%s",
		      ctl_view_value(s, "config.file", CTL_KIND_TEXT, text,
				     sizeof(text)));
	ctl_para_item(&p, "generation %s",
		      ctl_view_value(s, "config.generation", CTL_KIND_TEXT, a,
				     sizeof(a)));
	ctl_para_item(
	    &p, "estimator %s",
	    ctl_view_value(s, "config.estimator", CTL_KIND_TEXT, a, sizeof(a)));
	ctl_para_item(&p, "delay %s .. %s",
		      ctl_view_value(s, "config.delay_min_us", CTL_KIND_US_MS,
				     a, sizeof(a)),
		      ctl_view_value(s, "config.delay_max_us", CTL_KIND_US_MS,
				     b, sizeof(b)));
	if (ctl_json_at(s, "config.delay_margin_us")) {
		ctl_para_item(&p, "margin %s",
			      ctl_view_value(s, "config.delay_margin_us",
					     CTL_KIND_US_MS, a, sizeof(a)));
	}
	ctl_para_end(&p);
}

static void ctl_stats_stream(FILE *f, struct json_object *s)
{
	char a[CTL_FMT_MAX], b[CTL_FMT_MAX];
	struct ctl_para p;

	ctl_para_begin(&p, f, "stream", CTL_STATS_LABEL, CTL_WIDTH);
	ctl_para_item(
	    &p, "%s, %s",
	    ctl_view_value(s, "stream.source", CTL_KIND_TEXT, a, sizeof(a)),
	    ctl_view_value(s, "stream.codec", CTL_KIND_TEXT, b, sizeof(b)));
	ctl_para_item(
	    &p, "frames %s",
	    ctl_view_value(s, "stream.frames", CTL_KIND_TEXT, a, sizeof(a)));
	ctl_para_item(&p, "late ticks %s",
		      ctl_view_value(s, "stream.late_ticks", CTL_KIND_TEXT, a,
				     sizeof(a)));
	ctl_para_item(&p, "encode errors %s",
		      ctl_view_value(s, "stream.encode_errors", CTL_KIND_TEXT,
				     a, sizeof(a)));
	ctl_para_item(
	    &p, "delay %s",
	    ctl_view_value(s, "stream.delay_us", CTL_KIND_US_MS, a, sizeof(a)));
	ctl_para_item(&p, "target %s",
		      ctl_view_value(s, "stream.delay_target_us",
				     CTL_KIND_US_MS, a, sizeof(a)));
	ctl_para_item(&p, "latency %s",
		      ctl_view_value(s, "stream.latency_us", CTL_KIND_US_MS, a,
				     sizeof(a)));
	ctl_para_item(
	    &p, "octets %s",
	    ctl_view_value(s, "stream.octets", CTL_KIND_TEXT, a, sizeof(a)));
	ctl_para_end(&p);
}

/* One rt row: "rt" label (first row only), item, status, detail. */
static void ctl_stats_rt_row(struct ctl_table *t, bool first, const char *item,
			     const char *status, const char *detail)
{
	/* Padded so the items line up with the other sections' (the table
	 * puts two spaces after it). */
	ctl_table_cell(t, "%-*s", CTL_STATS_LABEL - 2, first ? "rt" : "");
	ctl_table_cell(t, "%s", item ? item : "?");
	ctl_table_cell(t, "%s", status ? status : "");
	ctl_table_cell(t, "%s", detail ? detail : "");
	ctl_table_end_row(t);
}

/*
 * rt: one row per placement item, the detail wrapped under itself. Two
 * shapes: the contract's [{"item", "status", "detail"}], and os/rt's own
 * report {"sched": {"status", "fix", "error", ...}, ...} (detail: the fix,
 * else the error).
 */
static int ctl_stats_rt(FILE *f, struct json_object *rt)
{
	struct ctl_table *t = ctl_table_new(4);
	bool first = true;
	size_t i;
	int r;

	if (!t) {
		return -ENOMEM;
	}
	if (rt && json_object_is_type(rt, json_type_array)) {
		for (i = 0; i < json_object_array_length(rt); i++) {
			struct json_object *it =
			    json_object_array_get_idx(rt, i);

			ctl_stats_rt_row(t, first, ctl_json_string(it, "item"),
					 ctl_json_string(it, "status"),
					 ctl_json_string(it, "detail"));
			first = false;
		}
	} else if (rt && json_object_is_type(rt, json_type_object)) {
		json_object_object_foreach(rt, item, v)
		{
			const char *fix = ctl_json_string(v, "fix");

			/* Items are objects; totals ("n_failed") are not. */
			if (!json_object_is_type(v, json_type_object)) {
				continue;
			}
			ctl_stats_rt_row(
			    t, first, item, ctl_json_string(v, "status"),
			    fix ? fix : ctl_json_string(v, "error"));
			first = false;
		}
	}
	if (first) {
		ctl_stats_rt_row(t, true, "-", NULL, NULL);
	}
	r = ctl_table_print(t, f, 0, CTL_WIDTH);
	ctl_table_free(t);
	return r;
}

/*
 * bounds: one row per queue or buffer, "bounds" on the first: its name,
 * its size and unit ("-" where set at run time), what happens when it is
 * full, how often that happened, and the most a ring held.
 */
static int ctl_stats_bounds(FILE *f, struct json_object *bounds)
{
	struct ctl_table *t;
	char a[CTL_FMT_MAX], b[CTL_FMT_MAX], c[CTL_FMT_MAX];
	size_t i, n;
	int r;

	if (!bounds || !json_object_is_type(bounds, json_type_array)) {
		return 0;
	}
	t = ctl_table_new(6);
	if (!t) {
		return -ENOMEM;
	}
	n = json_object_array_length(bounds);
	for (i = 0; i < n; i++) {
		struct json_object *q = json_object_array_get_idx(bounds, i);
		const char *unit = ctl_json_string(q, "unit");

		ctl_table_cell(t, "%-*s", CTL_STATS_LABEL - 2,
			       i ? "" : "bounds");
		ctl_table_cell(t, "%s",
			       ctl_view_value(q, "queue", CTL_KIND_TEXT, a,
					      sizeof(a)));
		ctl_view_value(q, "bound", CTL_KIND_TEXT, b, sizeof(b));
		ctl_table_cell(t, "%s %s", b, unit ? unit : "");
		ctl_table_cell(t, "%s",
			       ctl_view_value(q, "policy", CTL_KIND_TEXT, a,
					      sizeof(a)));
		ctl_table_cell(t, "hit %s",
			       ctl_view_value(q, "overflows", CTL_KIND_TEXT, c,
					      sizeof(c)));
		if (ctl_json_at(q, "high_water")) {
			ctl_table_cell(t, "max %s",
				       ctl_view_value(q, "high_water",
						      CTL_KIND_TEXT, a,
						      sizeof(a)));
		} else {
			ctl_table_cell(t, "%s", "");
		}
		ctl_table_end_row(t);
	}
	r = ctl_table_print(t, f, 0, CTL_WIDTH);
	ctl_table_free(t);
	return r;
}

int ctl_view_stats(FILE *f, struct json_object *s, bool histogram)
{
	struct json_object *dongles = ctl_json_at(s, "dongles");
	int r;

	ctl_stats_head(f, s);
	ctl_stats_stream(f, s);
	if (ctl_json_at(s, "pipewire")) {
		ctl_stats_section(f, "pipewire", ctl_json_at(s, "pipewire"));
	}
	ctl_stats_section(f, "loop", ctl_json_at(s, "loop"));
	if (dongles && json_object_is_type(dongles, json_type_array)) {
		size_t i;

		for (i = 0; i < json_object_array_length(dongles); i++) {
			ctl_stats_section(
			    f, "dongle", json_object_array_get_idx(dongles, i));
		}
	}
	r = ctl_stats_rt(f, ctl_json_at(s, "rt"));
	if (r < 0) {
		return r;
	}
	r = ctl_stats_bounds(f, ctl_json_at(s, "bounds"));
	if (r < 0) {
		return r;
	}
	fputc('\n', f);
	r = ctl_view_ear_table(f, ctl_json_at(s, "ears.left"),
			       ctl_json_at(s, "ears.right"), ctl_stats_ear_rows,
			       ARRAY_SIZE(ctl_stats_ear_rows));
	if (r < 0 || !histogram) {
		return r;
	}
	fputc('\n', f);
	return ctl_view_histograms(f, ctl_json_at(s, "histograms"));
}
