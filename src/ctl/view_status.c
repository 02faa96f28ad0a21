/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "core/macro.h"
#include "core/strbuf.h"
#include "ctl/fmt.h"
#include "ctl/jsonpath.h"
#include "ctl/table.h"
#include "ctl/view.h"

static const struct ctl_ear_row ctl_status_rows[] = {
    {"state", "State", CTL_KIND_TEXT},
    {"servo", "ServoState", CTL_KIND_TEXT},
    {"offset", "OffsetNs", CTL_KIND_NS},
    {"rate", "RatePpb", CTL_KIND_PPB},
    {"last residual", "LastResidualNs", CTL_KIND_NS},
    {"frames sent", "FramesSent", CTL_KIND_TEXT},
    {"frames late", "FramesLate", CTL_KIND_TEXT},
    {"frames lost", "FramesLost", CTL_KIND_TEXT},
    {"reconnects", "Reconnects", CTL_KIND_TEXT},
    {"battery", "Battery", CTL_KIND_BATTERY},
};

/* ears: the properties plus GetStats' per-ear detail under "stats". */
static const struct ctl_ear_row ctl_ears_rows[] = {
    {"transport", "Transport", CTL_KIND_TEXT},
    {"state", "State", CTL_KIND_TEXT},
    {"connects", "stats.connects", CTL_KIND_TEXT},
    {"connect failures", "stats.connect_fails", CTL_KIND_TEXT},
    {"disconnects", "stats.disconnects", CTL_KIND_TEXT},
    {"reconnects", "Reconnects", CTL_KIND_TEXT},
    {"conn. interval", "stats.ci_us", CTL_KIND_US_MS},
    {"mtu rx", "stats.mtu_rx", CTL_KIND_TEXT},
    {"mtu tx", "stats.mtu_tx", CTL_KIND_TEXT},
    {"tx completion", "stats.tx_completion", CTL_KIND_TEXT},
    {"servo", "ServoState", CTL_KIND_TEXT},
    {"offset", "OffsetNs", CTL_KIND_NS},
    {"rate", "RatePpb", CTL_KIND_PPB},
    {"last residual", "LastResidualNs", CTL_KIND_NS},
    {"servo samples", "stats.servo.samples", CTL_KIND_TEXT},
    {"servo rejected", "stats.servo.rejected", CTL_KIND_TEXT},
    {"servo steps", "stats.servo.steps", CTL_KIND_TEXT},
    {"naive offset", "stats.naive.offset_ns", CTL_KIND_NS},
    {"naive rate", "stats.naive.rate_ppb", CTL_KIND_PPB},
    {"sync requests", "stats.sync_sent", CTL_KIND_TEXT},
    {"sync samples", "stats.sync_samples", CTL_KIND_TEXT},
    {"sync lost", "stats.sync_lost", CTL_KIND_TEXT},
    {"frames sent", "FramesSent", CTL_KIND_TEXT},
    {"reports", "stats.reports", CTL_KIND_TEXT},
    {"not rendered", "stats.not_rendered", CTL_KIND_TEXT},
    {"frames late", "FramesLate", CTL_KIND_TEXT},
    {"frames lost", "FramesLost", CTL_KIND_TEXT},
    {"ear underruns", "stats.ear_underruns", CTL_KIND_TEXT},
    {"ear buffer", "stats.ear_buffer", CTL_KIND_TEXT},
    {"battery", "Battery", CTL_KIND_BATTERY},
};

int ctl_view_ear_table(FILE *f, struct json_object *left,
		       struct json_object *right,
		       const struct ctl_ear_row *rows, size_t n)
{
	struct ctl_table *t = ctl_table_new(3);
	char a[CTL_FMT_MAX], b[CTL_FMT_MAX];
	size_t i;
	int r;

	if (!t) {
		return -ENOMEM;
	}
	ctl_table_cell(t, "%s", "");
	ctl_table_cell(t, "left");
	ctl_table_cell(t, "right");
	ctl_table_end_row(t);
	for (i = 0; i < n; i++) {
		ctl_table_cell(t, "%s", rows[i].label);
		ctl_table_cell(t, "%s",
			       ctl_view_value(left, rows[i].path, rows[i].kind,
					      a, sizeof(a)));
		ctl_table_cell(t, "%s",
			       ctl_view_value(right, rows[i].path, rows[i].kind,
					      b, sizeof(b)));
		ctl_table_end_row(t);
	}
	r = ctl_table_print(t, f, 0, CTL_WIDTH);
	ctl_table_free(t);
	return r;
}

bool ctl_view_ear_in_sync(struct json_object *ear)
{
	const char *state = ctl_json_string(ear, "State");
	const char *servo = ctl_json_string(ear, "ServoState");

	return state && servo && strcmp(state, "streaming") == 0 &&
	       (strcmp(servo, "locked") == 0 || strcmp(servo, "stable") == 0);
}

static bool ctl_view_ear_configured(struct json_object *ear)
{
	const char *tr = ctl_json_string(ear, "Transport");

	return !tr || strcmp(tr, "none") != 0;
}

/* "in sync: left streaming/locked, right streaming/stable". */
static void ctl_view_pair(struct json_object *ears, char *buf, size_t size)
{
	static const char *const names[] = {"left", "right"};
	struct strbuf sb = {.buf = buf, .size = size};
	bool all = true, any = false;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		struct json_object *e = ctl_json_at(ears, names[i]);

		if (e && !ctl_view_ear_configured(e)) {
			continue;
		}
		any = true;
		all = all && e && ctl_view_ear_in_sync(e);
	}
	strbuf_put(&sb, "%s:", any && all ? "in sync" : "NOT in sync");
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		struct json_object *e = ctl_json_at(ears, names[i]);
		const char *st = ctl_json_string(e, "State");
		const char *sv = ctl_json_string(e, "ServoState");

		if (e && !ctl_view_ear_configured(e)) {
			strbuf_put(&sb, "%s %s not configured", i ? "," : "",
				   names[i]);
		} else {
			strbuf_put(&sb, "%s %s %s/%s", i ? "," : "", names[i],
				   st ? st : "?", sv ? sv : "?");
		}
	}
}

/* The items of rt whose status is `status`, as "a, b"; their count. */
static size_t ctl_view_rt_items(struct json_object *rt, const char *status,
				struct strbuf *sb)
{
	size_t i, count = 0, n = json_object_array_length(rt);

	for (i = 0; i < n; i++) {
		struct json_object *it = json_object_array_get_idx(rt, i);
		const char *st = ctl_json_string(it, "status");
		const char *item = ctl_json_string(it, "item");

		if (!st || strcmp(st, status) != 0) {
			continue;
		}
		if (sb) {
			strbuf_put(sb, "%s%s", count ? ", " : "",
				   item ? item : "?");
		}
		count++;
	}
	return count;
}

void ctl_view_rt_summary(struct json_object *rt, char *buf, size_t size)
{
	static const char *const bad[][2] = {
	    {"failed", "failed"},
	    {"warning", "warnings"},
	};
	struct strbuf sb = {.buf = buf, .size = size};
	size_t k, count, groups = 0;

	buf[0] = '\0';
	if (!rt || !json_object_is_type(rt, json_type_array)) {
		strbuf_put(&sb, "-");
		return;
	}
	for (k = 0; k < ARRAY_SIZE(bad); k++) {
		count = ctl_view_rt_items(rt, bad[k][0], NULL);
		if (!count) {
			continue;
		}
		strbuf_put(&sb, "%s%zu %s (", groups++ ? ", " : "", count,
			   bad[k][count > 1]);
		ctl_view_rt_items(rt, bad[k][0], &sb);
		strbuf_put(&sb, ")");
	}
	if (!groups) {
		strbuf_put(&sb, "ok");
	}
}

void ctl_view_bounds_summary(struct json_object *bounds, char *buf,
			     size_t size)
{
	struct strbuf sb = {.buf = buf, .size = size};
	size_t i, n, hit = 0;

	buf[0] = '\0';
	if (!bounds || !json_object_is_type(bounds, json_type_array)) {
		strbuf_put(&sb, "-");
		return;
	}
	n = json_object_array_length(bounds);
	for (i = 0; i < n; i++) {
		struct json_object *b = json_object_array_get_idx(bounds, i);
		const char *q = ctl_json_string(b, "queue");
		int64_t k;

		if (ctl_json_int64(b, "overflows", &k) < 0 || k <= 0) {
			continue;
		}
		strbuf_put(&sb, "%s%s %lld", hit++ ? ", " : "hit: ",
			   q ? q : "?", (long long)k);
	}
	if (!hit) {
		strbuf_put(&sb, "ok (%zu bounds, none hit)", n);
	}
}

int ctl_view_rt_objects(struct json_object *rt)
{
	static const char *const keys[] = {"item", "status", "detail"};
	size_t i, k, n;

	if (!rt || !json_object_is_type(rt, json_type_array)) {
		return 0;
	}
	n = json_object_array_length(rt);
	for (i = 0; i < n; i++) {
		struct json_object *it = json_object_array_get_idx(rt, i);
		struct json_object *o;

		if (!json_object_is_type(it, json_type_array)) {
			continue;
		}
		o = json_object_new_object();
		if (!o) {
			return -ENOMEM;
		}
		for (k = 0; k < ARRAY_SIZE(keys); k++) {
			struct json_object *v =
			    json_object_array_get_idx(it, k);

			json_object_object_add(o, keys[k], json_object_get(v));
		}
		/* Drops the old array element. */
		json_object_array_put_idx(rt, i, o);
	}
	return 0;
}

/* Several pairs: "pairs  a, b" (one pair: no row). */
static void ctl_view_pairs_row(struct ctl_table *t, struct json_object *names)
{
	char buf[512];
	struct strbuf sb = {.buf = buf, .size = sizeof(buf)};
	size_t i, n;

	if (!names || !json_object_is_type(names, json_type_array) ||
	    (n = json_object_array_length(names)) < 2) {
		return;
	}
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		const char *name = json_object_get_string(
		    json_object_array_get_idx(names, i));

		strbuf_put(&sb, "%s%s", i ? ", " : "", name ? name : "?");
	}
	ctl_table_cell(t, "pairs");
	ctl_table_cell(t, "%s", buf);
	ctl_table_end_row(t);
}

static int ctl_view_status_head(FILE *f, struct json_object *status)
{
	struct json_object *d = ctl_json_at(status, "daemon");
	/* --pair: that pair's codec and delay, not the first pair's. */
	struct json_object *p = ctl_json_at(status, "pair");
	struct ctl_table *t = ctl_table_new(2);
	char buf[512], a[CTL_FMT_MAX];
	int64_t up;
	int r;

	if (!t) {
		return -ENOMEM;
	}
	fprintf(f, "ttwsd %s",
		ctl_view_value(d, "Version", CTL_KIND_TEXT, a, sizeof(a)));
	if (ctl_json_int64(d, "Uptime", &up) == 0 && up >= 0) {
		fprintf(f, ", up %s",
			ctl_fmt_uptime_us(a, sizeof(a), (uint64_t)up));
	}
	fputc('\n', f);
	ctl_view_pairs_row(t, ctl_json_at(d, "Pairs"));
	ctl_view_pair(ctl_json_at(status, "ears"), buf, sizeof(buf));
	ctl_table_cell(t, "pair");
	if (p) {
		ctl_table_cell(t, "%s: %s", ctl_json_string(p, "Name"), buf);
	} else {
		ctl_table_cell(t, "%s", buf);
	}
	ctl_table_end_row(t);
	ctl_table_cell(t, "backend");
	ctl_table_cell(
	    t, "%s",
	    ctl_view_value(d, "Backend", CTL_KIND_TEXT, buf, sizeof(buf)));
	ctl_table_end_row(t);
	ctl_table_cell(t, "source");
	ctl_table_cell(
	    t, "%s, codec %s",
	    ctl_view_value(d, "Source", CTL_KIND_TEXT, buf, sizeof(buf)),
	    p ? ctl_view_value(p, "Codec", CTL_KIND_TEXT, a, sizeof(a))
	      : ctl_view_value(d, "Codec", CTL_KIND_TEXT, a, sizeof(a)));
	ctl_table_end_row(t);
	ctl_table_cell(t, "delay");
	ctl_table_cell(t, "%s",
		       p ? ctl_view_value(p, "DelayUs", CTL_KIND_US_MS, a,
					  sizeof(a))
			 : ctl_view_value(d, "PresentationDelayUs",
					  CTL_KIND_US_MS, a, sizeof(a)));
	ctl_table_end_row(t);
	ctl_table_cell(t, "estimator");
	ctl_table_cell(
	    t, "%s",
	    ctl_view_value(d, "Estimator", CTL_KIND_TEXT, buf, sizeof(buf)));
	ctl_table_end_row(t);
	ctl_view_rt_summary(ctl_json_at(d, "RtPlacement"), buf, sizeof(buf));
	ctl_table_cell(t, "rt placement");
	ctl_table_cell(t, "%s", buf);
	ctl_table_end_row(t);
	/* Queues and buffers that were full since start (GetStats). */
	if (ctl_json_at(status, "bounds")) {
		ctl_view_bounds_summary(ctl_json_at(status, "bounds"), buf,
					sizeof(buf));
		ctl_table_cell(t, "bounds");
		ctl_table_cell(t, "%s", buf);
		ctl_table_end_row(t);
	}
	r = ctl_table_print(t, f, 0, CTL_WIDTH);
	ctl_table_free(t);
	return r;
}

int ctl_view_status(FILE *f, struct json_object *status)
{
	int r = ctl_view_status_head(f, status);

	if (r < 0) {
		return r;
	}
	fputc('\n', f);
	return ctl_view_ear_table(f, ctl_json_at(status, "ears.left"),
				  ctl_json_at(status, "ears.right"),
				  ctl_status_rows, ARRAY_SIZE(ctl_status_rows));
}

int ctl_view_ears(FILE *f, struct json_object *ears)
{
	return ctl_view_ear_table(f, ctl_json_at(ears, "left"),
				  ctl_json_at(ears, "right"), ctl_ears_rows,
				  ARRAY_SIZE(ctl_ears_rows));
}
