/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "ctl/fmt.h"
#include "ctl/jsonpath.h"
#include "ctl/view.h"

/* The sum of an object's integer members (malformed-packet counters). */
static int ctl_view_sum(struct json_object *o, int64_t *ret)
{
	int64_t sum = 0;

	if (!o || !json_object_is_type(o, json_type_object)) {
		return -ENOENT;
	}
	json_object_object_foreach(o, key, v)
	{
		(void)key;
		if (json_object_is_type(v, json_type_int)) {
			sum += json_object_get_int64(v);
		}
	}
	*ret = sum;
	return 0;
}

char *ctl_view_value(struct json_object *o, const char *path,
		     enum ctl_kind kind, char *buf, size_t size)
{
	int64_t i;
	double d;

	switch (kind) {
	case CTL_KIND_TEXT:
		return ctl_json_text(ctl_json_at(o, path), buf, size);
	case CTL_KIND_NS:
		if (ctl_json_int64(o, path, &i) < 0) {
			break;
		}
		return ctl_fmt_ns(buf, size, i);
	case CTL_KIND_PPB:
		if (ctl_json_int64(o, path, &i) < 0) {
			break;
		}
		return ctl_fmt_ppm(buf, size, i);
	case CTL_KIND_BATTERY:
		if (ctl_json_int64(o, path, &i) < 0) {
			break;
		}
		return ctl_fmt_battery(buf, size, i);
	case CTL_KIND_SUM:
		if (ctl_view_sum(ctl_json_at(o, path), &i) < 0) {
			break;
		}
		snprintf(buf, size, "%" PRId64, i);
		return buf;
	case CTL_KIND_US_MS:
		if (ctl_json_double(o, path, &d) < 0) {
			break;
		}
		return ctl_fmt_delay_us(buf, size, d);
	}
	snprintf(buf, size, "-");
	return buf;
}
