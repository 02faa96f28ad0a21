/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CTL_JSONPATH_H
#define TTWS_CTL_JSONPATH_H

/*
 * Reading json-c trees by dotted path ("ears.left.servo.state"), for the
 * formatters: a missing member or a member of the wrong type is an error
 * the caller turns into "-", never a crash. Returned objects and strings
 * are borrowed from the tree.
 */

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* The member at path under o (o itself for ""), or NULL. */
struct json_object *ctl_json_at(struct json_object *o, const char *path);

/* A number (int or double) at path: 0, -ENOENT (missing or null) or
 * -EINVAL (not a number). ret untouched on failure. */
int ctl_json_double(struct json_object *o, const char *path, double *ret);
int ctl_json_int64(struct json_object *o, const char *path, int64_t *ret);

/* A string at path, or NULL. */
const char *ctl_json_string(struct json_object *o, const char *path);

/*
 * A value as text: strings unquoted, integers in full, doubles with
 * "%.10g", true, false, "-" for null or missing; arrays and objects as
 * compact JSON.
 */
char *ctl_json_text(struct json_object *v, char *buf, size_t size);

/* Compact JSON of o on one line (json-c's string, borrowed from o). */
const char *ctl_json_compact(struct json_object *o);

#endif
