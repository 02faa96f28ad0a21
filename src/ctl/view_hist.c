/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>

#include "core/macro.h"
#include "ctl/fmt.h"
#include "ctl/jsonpath.h"
#include "ctl/table.h"
#include "ctl/view.h"

/* The TABLE members shown, in order (mean_us is in the JSON only: the
 * eight columns would not fit 80 with long names). */
static const char *const ctl_hist_cols[] = {
    "min_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us",
};
static const char *const ctl_hist_heads[] = {
    "min", "p50", "p90", "p99", "p99.9", "max",
};

/* A TABLE is the object with a "count"; anything else is a group. */
static bool ctl_hist_is_table(struct json_object *o)
{
	return ctl_json_at(o, "count") != NULL;
}

static void ctl_hist_row(struct ctl_table *t, const char *group,
			 const char *name, struct json_object *tab)
{
	char buf[CTL_FMT_MAX];
	int64_t count = 0;
	size_t i;
	double v;

	ctl_table_cell(t, "%s%s%s", group ? group : "", group ? " " : "", name);
	if (ctl_json_int64(tab, "count", &count) < 0) {
		count = 0;
	}
	ctl_table_cell(t, "%" PRId64, count);
	for (i = 0; i < ARRAY_SIZE(ctl_hist_cols); i++) {
		if (count > 0 &&
		    ctl_json_double(tab, ctl_hist_cols[i], &v) == 0) {
			ctl_table_cell(t, "%s",
				       ctl_fmt_hist_us(buf, sizeof(buf), v));
		} else {
			ctl_table_cell(t, "-");
		}
	}
	ctl_table_end_row(t);
}

int ctl_view_histograms(FILE *f, struct json_object *histograms)
{
	struct ctl_table *t;
	size_t i;
	int r;

	if (!histograms || !json_object_is_type(histograms, json_type_object)) {
		fprintf(f, "histograms: -\n");
		return 0;
	}
	t = ctl_table_new(2 + ARRAY_SIZE(ctl_hist_cols));
	if (!t) {
		return -ENOMEM;
	}
	for (i = 1; i < 2 + ARRAY_SIZE(ctl_hist_cols); i++) {
		ctl_table_align(t, (unsigned)i, CTL_ALIGN_RIGHT);
	}
	ctl_table_cell(t, "histogram (us)");
	ctl_table_cell(t, "count");
	for (i = 0; i < ARRAY_SIZE(ctl_hist_heads); i++) {
		ctl_table_cell(t, "%s", ctl_hist_heads[i]);
	}
	ctl_table_end_row(t);
	json_object_object_foreach(histograms, key, v)
	{
		if (!json_object_is_type(v, json_type_object)) {
			continue;
		}
		if (ctl_hist_is_table(v)) {
			ctl_hist_row(t, NULL, key, v);
			continue;
		}
		json_object_object_foreach(v, name, tab)
		{
			if (json_object_is_type(tab, json_type_object) &&
			    ctl_hist_is_table(tab)) {
				ctl_hist_row(t, key, name, tab);
			}
		}
	}
	r = ctl_table_print(t, f, 0, CTL_WIDTH);
	ctl_table_free(t);
	return r;
}
