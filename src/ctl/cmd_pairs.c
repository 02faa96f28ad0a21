/* SPDX-License-Identifier: MIT */
/*
 * ttwsctl pairs, and what --pair NAME needs of the bus: a pair's objects
 * (org.ttws.Pair1 on /org/ttws/Daemon/pair/NAME, its ears below it).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl/cmd.h"
#include "ctl/jsonpath.h"
#include "ctl/props.h"
#include "ctl/view.h"

int ctl_cmd_ear_objects(struct ctl_bus *b, const char *cmd, const char *pair,
			struct json_object *ears)
{
	static const char *const names[] = {"left", "right"};
	char path[CTL_OBJ_PATH_MAX];
	struct json_object *o;
	size_t i;
	int r;

	for (i = 0; i < 2; i++) {
		if (pair) {
			r = ctl_pair_path(pair, names[i], path, sizeof(path));
			if (r < 0) {
				return ctl_cmd_view_failed(cmd, r);
			}
		} else {
			snprintf(path, sizeof(path), "%s",
				 i ? CTL_PATH_RIGHT : CTL_PATH_LEFT);
		}
		r = ctl_props_get_all(b, cmd, path, CTL_IFACE_EAR, &o);
		if (r != 0) {
			return r;
		}
		json_object_object_add(ears, names[i], o);
	}
	return 0;
}

int ctl_cmd_pair_object(struct ctl_bus *b, const char *cmd, const char *pair,
			struct json_object **ret)
{
	char path[CTL_OBJ_PATH_MAX];
	struct json_object *o = NULL, *ears;
	int r;

	r = ctl_pair_path(pair, NULL, path, sizeof(path));
	if (r < 0) {
		return ctl_cmd_view_failed(cmd, r);
	}
	r = ctl_props_get_all(b, cmd, path, CTL_IFACE_PAIR, &o);
	if (r != 0) {
		return r;
	}
	ears = json_object_new_object();
	if (!ears) {
		json_object_put(o);
		return ctl_cmd_view_failed(cmd, -ENOMEM);
	}
	json_object_object_add(o, "ears", ears);
	r = ctl_cmd_ear_objects(b, cmd, pair, ears);
	if (r != 0) {
		json_object_put(o);
		return r;
	}
	*ret = o;
	return 0;
}

int ctl_cmd_pairs(struct ctl_bus *b, const struct ctl_args *args)
{
	struct json_object *names = NULL, *doc, *list;
	size_t i, n;
	int r;

	r = ctl_props_get(b, args->cmd_name, CTL_PATH_DAEMON, CTL_IFACE_DAEMON,
			  "Pairs", &names);
	if (r != 0) {
		return r;
	}
	doc = json_object_new_object();
	list = json_object_new_array();
	if (!doc || !list || !json_object_is_type(names, json_type_array)) {
		json_object_put(doc);
		json_object_put(list);
		json_object_put(names);
		return ctl_cmd_view_failed(args->cmd_name,
					   doc && list ? -EBADMSG : -ENOMEM);
	}
	json_object_object_add(doc, "pairs", list);
	n = json_object_array_length(names);
	for (i = 0; i < n && r == 0; i++) {
		const char *name =
		    json_object_get_string(json_object_array_get_idx(names, i));
		struct json_object *p;

		r = ctl_cmd_pair_object(b, args->cmd_name, name ? name : "",
					&p);
		if (r == 0) {
			json_object_array_add(list, p);
		}
	}
	if (r == 0 && args->json) {
		r = ctl_cmd_print_json(doc);
	} else if (r == 0) {
		r = ctl_view_pairs(stdout, doc);
		r = r < 0 ? ctl_cmd_view_failed(args->cmd_name, r) : 0;
	}
	json_object_put(names);
	json_object_put(doc);
	return r;
}
