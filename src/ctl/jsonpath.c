/* SPDX-License-Identifier: MIT */
#include "ctl/jsonpath.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct json_object *ctl_json_at(struct json_object *o, const char *path)
{
	char key[128];

	while (o && *path) {
		size_t len = strcspn(path, ".");

		if (len >= sizeof(key) ||
		    !json_object_is_type(o, json_type_object)) {
			return NULL;
		}
		memcpy(key, path, len);
		key[len] = '\0';
		if (!json_object_object_get_ex(o, key, &o)) {
			return NULL;
		}
		path += len + (path[len] == '.');
	}
	return o;
}

static int ctl_json_number(struct json_object *o, const char *path,
			   struct json_object **ret)
{
	struct json_object *v = ctl_json_at(o, path);

	if (!v || json_object_is_type(v, json_type_null)) {
		return -ENOENT;
	}
	if (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double)) {
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

int ctl_json_double(struct json_object *o, const char *path, double *ret)
{
	struct json_object *v;
	int r = ctl_json_number(o, path, &v);

	if (r < 0) {
		return r;
	}
	*ret = json_object_get_double(v);
	return 0;
}

int ctl_json_int64(struct json_object *o, const char *path, int64_t *ret)
{
	struct json_object *v;
	int r = ctl_json_number(o, path, &v);

	if (r < 0) {
		return r;
	}
	*ret = json_object_get_int64(v);
	return 0;
}

const char *ctl_json_string(struct json_object *o, const char *path)
{
	struct json_object *v = ctl_json_at(o, path);

	if (!v || !json_object_is_type(v, json_type_string)) {
		return NULL;
	}
	return json_object_get_string(v);
}

const char *ctl_json_compact(struct json_object *o)
{
	return json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

char *ctl_json_text(struct json_object *v, char *buf, size_t size)
{
	switch (v ? json_object_get_type(v) : json_type_null) {
	case json_type_null:
		snprintf(buf, size, "-");
		break;
	case json_type_boolean:
		snprintf(buf, size, "%s",
			 json_object_get_boolean(v) ? "true" : "false");
		break;
	case json_type_int:
		/* json-c keeps uint64 values above INT64_MAX apart. */
		if (json_object_get_int64(v) == INT64_MAX) {
			snprintf(buf, size, "%" PRIu64,
				 json_object_get_uint64(v));
		} else {
			snprintf(buf, size, "%" PRId64,
				 json_object_get_int64(v));
		}
		break;
	case json_type_double:
		snprintf(buf, size, "%.10g", json_object_get_double(v));
		break;
	case json_type_string:
		snprintf(buf, size, "%s", json_object_get_string(v));
		break;
	case json_type_array:
	case json_type_object:
		snprintf(buf, size, "%s", ctl_json_compact(v));
		break;
	}
	return buf;
}
