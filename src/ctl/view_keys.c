/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "ctl/jsonpath.h"
#include "ctl/table.h"
#include "ctl/view.h"

/* ListKeys: name, value, live/restart, range; the range (the widest
 * column, "allowed values" lists) wraps under itself. */
int ctl_view_keys(FILE *f, struct json_object *keys)
{
	static const char *const cols[] = {"name", "value", "mode", "range"};
	struct ctl_table *t;
	size_t i, c, n;
	int r;

	if (!keys || !json_object_is_type(keys, json_type_array)) {
		return -EINVAL;
	}
	t = ctl_table_new(4);
	if (!t) {
		return -ENOMEM;
	}
	/* Names and modes stay whole; values (paths) and ranges wrap. */
	ctl_table_keep(t, 0);
	ctl_table_keep(t, 2);
	ctl_table_cell(t, "NAME");
	ctl_table_cell(t, "VALUE");
	ctl_table_cell(t, "MODE");
	ctl_table_cell(t, "RANGE");
	ctl_table_end_row(t);
	n = json_object_array_length(keys);
	for (i = 0; i < n; i++) {
		struct json_object *k = json_object_array_get_idx(keys, i);

		for (c = 0; c < 4; c++) {
			const char *s = ctl_json_string(k, cols[c]);

			/* An empty value stays visible. */
			ctl_table_cell(t, "%s",
				       !s		 ? "-"
				       : !s[0] && c == 1 ? "\"\""
							 : s);
		}
		ctl_table_end_row(t);
	}
	r = ctl_table_print(t, f, 0, CTL_WIDTH);
	ctl_table_free(t);
	return r;
}
