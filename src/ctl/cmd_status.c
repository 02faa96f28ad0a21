/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl/cmd.h"
#include "ctl/jsonpath.h"
#include "ctl/props.h"
#include "ctl/view.h"

int ctl_cmd_status(struct ctl_bus *b, const struct ctl_args *args)
{
	struct json_object *status = json_object_new_object();
	struct json_object *daemon = NULL, *ears = json_object_new_object();
	int r;

	if (!status || !ears) {
		json_object_put(status);
		json_object_put(ears);
		return ctl_cmd_view_failed(args->cmd_name, -ENOMEM);
	}
	json_object_object_add(status, "ears", ears);
	r = ctl_props_get_all(b, args->cmd_name, CTL_PATH_DAEMON,
			      CTL_IFACE_DAEMON, &daemon);
	if (r == 0) {
		json_object_object_add(status, "daemon", daemon);
		r = ctl_view_rt_objects(ctl_json_at(daemon, "RtPlacement"));
		r = r < 0 ? ctl_cmd_view_failed(args->cmd_name, r) : 0;
	}
	if (r == 0 && args->pair) {
		struct json_object *pair = NULL;

		/* --pair: that pair's properties; the ears as usual. */
		r = ctl_cmd_pair_object(b, args->cmd_name, args->pair, &pair);
		if (r == 0) {
			json_object_object_del(pair, "ears");
			json_object_object_add(status, "pair", pair);
		}
	}
	if (r == 0) {
		r = ctl_cmd_ear_objects(b, args->cmd_name, args->pair, ears);
	}
	if (r == 0) {
		struct json_object *stats = NULL;

		/* Every queue's bound and overflows (GetStats "bounds"). */
		r = ctl_cmd_get_stats(b, args->cmd_name, &stats);
		if (r == 0) {
			json_object_object_add(
			    status, "bounds",
			    json_object_get(ctl_json_at(stats, "bounds")));
		}
		json_object_put(stats);
	}
	if (r == 0 && args->json) {
		r = ctl_cmd_print_json(status);
	} else if (r == 0) {
		r = ctl_view_status(stdout, status);
		r = r < 0 ? ctl_cmd_view_failed(args->cmd_name, r) : 0;
	}
	json_object_put(status);
	return r;
}

int ctl_cmd_ears(struct ctl_bus *b, const struct ctl_args *args)
{
	struct json_object *ears = json_object_new_object(), *stats = NULL;
	int r;

	if (!ears) {
		return ctl_cmd_view_failed(args->cmd_name, -ENOMEM);
	}
	r = ctl_cmd_ear_objects(b, args->cmd_name, args->pair, ears);
	if (r == 0) {
		r = ctl_cmd_get_stats(b, args->cmd_name, &stats);
	}
	if (r == 0 && args->pair) {
		r = ctl_stats_select_pair(stats, args->pair);
		if (r < 0) {
			r = ctl_cmd_no_pair(args->cmd_name, args->pair, r);
		}
	}
	if (r == 0) {
		json_object_object_foreach(ears, name, props)
		{
			struct json_object *s =
			    ctl_json_at(ctl_json_at(stats, "ears"), name);

			json_object_object_add(props, "stats",
					       json_object_get(s));
		}
		if (args->json) {
			r = ctl_cmd_print_json(ears);
		} else {
			r = ctl_view_ears(stdout, ears);
			r = r < 0 ? ctl_cmd_view_failed(args->cmd_name, r) : 0;
		}
	}
	json_object_put(stats);
	json_object_put(ears);
	return r;
}
