/* SPDX-License-Identifier: MIT */
/*
 * Pairs for people: the `ttwsctl pairs` table, and --pair NAME applied to
 * GetStats' document (that pair's ears, stream and histograms where the
 * first pair's are).
 */
#include <errno.h>
#include <string.h>

#include "core/macro.h"
#include "ctl/fmt.h"
#include "ctl/jsonpath.h"
#include "ctl/table.h"
#include "ctl/view.h"

/* "streaming/locked", "not configured", or "-" without the object. */
static void ctl_pairs_ear(struct json_object *ear, char *buf, size_t size)
{
	const char *tr = ctl_json_string(ear, "Transport");
	const char *st = ctl_json_string(ear, "State");
	const char *sv = ctl_json_string(ear, "ServoState");

	if (!ear) {
		snprintf(buf, size, "-");
	} else if (tr && strcmp(tr, "none") == 0) {
		snprintf(buf, size, "not configured");
	} else {
		snprintf(buf, size, "%s/%s", st ? st : "?", sv ? sv : "?");
	}
}

int ctl_view_pairs(FILE *f, struct json_object *doc)
{
	struct json_object *list = ctl_json_at(doc, "pairs");
	struct ctl_table *t = ctl_table_new(6);
	char a[CTL_FMT_MAX], b[64], c[64];
	size_t i, n;
	int r;

	if (!t) {
		return -ENOMEM;
	}
	ctl_table_keep(t, 0);
	ctl_table_cell(t, "pair");
	ctl_table_cell(t, "sink");
	ctl_table_cell(t, "codec");
	ctl_table_cell(t, "delay");
	ctl_table_cell(t, "left");
	ctl_table_cell(t, "right");
	ctl_table_end_row(t);
	n = list && json_object_is_type(list, json_type_array) ?
		json_object_array_length(list) :
		0;
	for (i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(list, i);
		const char *sink = ctl_json_string(p, "SinkNode");

		ctl_table_cell(t, "%s",
			       ctl_view_value(p, "Name", CTL_KIND_TEXT, b,
					      sizeof(b)));
		/* No node: source = tone. */
		ctl_table_cell(t, "%s", sink && sink[0] ? sink : "-");
		ctl_table_cell(t, "%s",
			       ctl_view_value(p, "Codec", CTL_KIND_TEXT, b,
					      sizeof(b)));
		ctl_table_cell(t, "%s",
			       ctl_view_value(p, "DelayUs", CTL_KIND_US_MS, a,
					      sizeof(a)));
		ctl_pairs_ear(ctl_json_at(p, "ears.left"), b, sizeof(b));
		ctl_pairs_ear(ctl_json_at(p, "ears.right"), c, sizeof(c));
		ctl_table_cell(t, "%s", b);
		ctl_table_cell(t, "%s", c);
		ctl_table_end_row(t);
	}
	r = ctl_table_print(t, f, 0, CTL_WIDTH);
	ctl_table_free(t);
	return r;
}

struct json_object *ctl_stats_pair(struct json_object *stats, const char *name)
{
	struct json_object *list = ctl_json_at(stats, "pairs");
	size_t i, n;

	if (!list || !json_object_is_type(list, json_type_array)) {
		return NULL;
	}
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(list, i);
		const char *pn = ctl_json_string(p, "name");

		if (pn && strcmp(pn, name) == 0) {
			return p;
		}
	}
	return NULL;
}

/* Member key of from (a new reference) as member key of to; nothing when
 * from lacks it. */
static void ctl_stats_copy(struct json_object *to, const char *to_key,
			   struct json_object *from, const char *key)
{
	struct json_object *v;

	if (to && json_object_object_get_ex(from, key, &v)) {
		json_object_object_add(to, to_key, json_object_get(v));
	}
}

int ctl_stats_select_pair(struct json_object *stats, const char *name)
{
	static const char *const stream[][2] = {
	    {"frames", "frames"},
	    {"late_ticks", "late_ticks"},
	    {"delay_us", "delay_us"},
	    {"delay_target_us", "delay_target_us"},
	    {"latency_us", "latency_us"},
	    {"codec", "codec"},
	};
	struct json_object *p = ctl_stats_pair(stats, name), *h, *ph;
	size_t i;

	if (!p) {
		return -ENOENT;
	}
	ctl_stats_copy(stats, "ears", p, "ears");
	for (i = 0; i < ARRAY_SIZE(stream); i++) {
		ctl_stats_copy(ctl_json_at(stats, "stream"), stream[i][0], p,
			       stream[i][1]);
	}
	/* The daemon's histograms stay; the ears' become the pair's. */
	h = ctl_json_at(stats, "histograms");
	ph = ctl_json_at(p, "histograms");
	if (h && json_object_is_type(h, json_type_object)) {
		json_object_object_del(h, "left");
		json_object_object_del(h, "right");
		ctl_stats_copy(h, "left", ph, "left");
		ctl_stats_copy(h, "right", ph, "right");
	}
	json_object_object_add(stats, "pair", json_object_new_string(name));
	return 0;
}
