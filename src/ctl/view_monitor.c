/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "ctl/jsonpath.h"
#include "ctl/view.h"

#define CTL_PATH_DAEMON "/org/ttws/Daemon"
#define CTL_PATH_EAR "/org/ttws/Daemon/ear/"
#define CTL_PATH_PAIR "/org/ttws/Daemon/pair/"

const char *ctl_monitor_object(const char *path)
{
	if (strcmp(path, CTL_PATH_DAEMON) == 0) {
		return "daemon";
	}
	if (strncmp(path, CTL_PATH_EAR, strlen(CTL_PATH_EAR)) == 0 &&
	    path[strlen(CTL_PATH_EAR)]) {
		return path + strlen(CTL_PATH_EAR);
	}
	if (strncmp(path, CTL_PATH_PAIR, strlen(CTL_PATH_PAIR)) == 0 &&
	    path[strlen(CTL_PATH_PAIR)]) {
		return path + strlen(CTL_PATH_PAIR);
	}
	return path;
}

static int ctl_monitor_json(FILE *f, const char *stamp, const char *path,
			    const char *property, struct json_object *old_value,
			    struct json_object *new_value)
{
	struct json_object *o = json_object_new_object();

	if (!o) {
		return -ENOMEM;
	}
	json_object_object_add(o, "time", json_object_new_string(stamp));
	json_object_object_add(o, "object", json_object_new_string(path));
	json_object_object_add(o, "property", json_object_new_string(property));
	json_object_object_add(o, "old", json_object_get(old_value));
	json_object_object_add(o, "new", json_object_get(new_value));
	fprintf(f, "%s\n", ctl_json_compact(o));
	json_object_put(o);
	return 0;
}

int ctl_monitor_line(FILE *f, const struct timespec *when, const char *path,
		     const char *property, struct json_object *old_value,
		     struct json_object *new_value, bool json)
{
	char stamp[64], zone[8], a[256], b[256];
	unsigned ms = (unsigned)(when->tv_nsec / 1000000);
	struct tm tm;
	int r;

	if (!localtime_r(&when->tv_sec, &tm)) {
		return -EINVAL;
	}
	if (json) {
		/* ISO 8601 with the local offset: "+0200" -> "+02:00". */
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		strftime(zone, sizeof(zone), "%z", &tm);
		snprintf(stamp + strlen(stamp), sizeof(stamp) - strlen(stamp),
			 ".%03u%.3s:%.2s", ms, zone, zone + 3);
		r = ctl_monitor_json(f, stamp, path, property, old_value,
				     new_value);
	} else {
		strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
		fprintf(f, "%s.%03u  %-6s  %-10s  %s -> %s\n", stamp, ms,
			ctl_monitor_object(path), property,
			ctl_json_text(old_value, a, sizeof(a)),
			ctl_json_text(new_value, b, sizeof(b)));
		r = 0;
	}
	if (r == 0 && (fflush(f) != 0 || ferror(f))) {
		r = -EIO;
	}
	return r;
}
