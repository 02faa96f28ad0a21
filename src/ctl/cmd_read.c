/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl/cmd.h"
#include "ctl/view.h"

/* A method without arguments that returns one string; *ret borrowed from
 * *ret_reply, which the caller unrefs. The exit code. */
static int ctl_cmd_string(struct ctl_bus *b, const char *cmd,
			  const char *member, sd_bus_message **ret_reply,
			  const char **ret)
{
	int r = ctl_bus_call(b, cmd, CTL_PATH_DAEMON, CTL_IFACE_DAEMON, member,
			     ret_reply, "");

	if (r != 0) {
		return r;
	}
	r = sd_bus_message_read(*ret_reply, "s", ret);
	if (r < 0) {
		*ret_reply = sd_bus_message_unref(*ret_reply);
		return ctl_bus_bad_reply(cmd, member, r);
	}
	return 0;
}

static int ctl_cmd_parse(const char *cmd, const char *text,
			 struct json_object **ret)
{
	enum json_tokener_error jerr;
	struct json_object *o = json_tokener_parse_verbose(text, &jerr);

	if (!o) {
		fprintf(stderr, "ttwsctl: %s: GetStats is not JSON: %s\n", cmd,
			json_tokener_error_desc(jerr));
		return CTL_EXIT_DAEMON;
	}
	*ret = o;
	return 0;
}

int ctl_cmd_get_stats(struct ctl_bus *b, const char *cmd,
		      struct json_object **ret)
{
	sd_bus_message *reply = NULL;
	const char *text;
	int r = ctl_cmd_string(b, cmd, "GetStats", &reply, &text);

	if (r == 0) {
		r = ctl_cmd_parse(cmd, text, ret);
	}
	sd_bus_message_unref(reply);
	return r;
}

int ctl_cmd_stats(struct ctl_bus *b, const struct ctl_args *args)
{
	struct json_object *stats = NULL;
	sd_bus_message *reply = NULL;
	const char *text;
	size_t len;
	int r;

	r = ctl_cmd_string(b, args->cmd_name, "GetStats", &reply, &text);
	if (r != 0) {
		return r;
	}
	if (args->pair) {
		/* One pair: its object of "pairs" (--json), or the document
		 * with that pair in the first pair's places. */
		r = ctl_cmd_parse(args->cmd_name, text, &stats);
		if (r == 0 && args->json) {
			struct json_object *p = ctl_stats_pair(stats, args->pair);

			r = p ? ctl_cmd_print_json(p)
			      : ctl_cmd_no_pair(args->cmd_name, args->pair,
						-ENOENT);
		} else if (r == 0) {
			r = ctl_stats_select_pair(stats, args->pair);
			r = r < 0 ? ctl_cmd_no_pair(args->cmd_name, args->pair,
						    r)
				  : ctl_view_stats(stdout, stats,
						   args->histogram);
			r = r < 0 ? ctl_cmd_view_failed(args->cmd_name, r) : r;
		}
	} else if (args->json) {
		/* GetStats' document as the daemon wrote it. */
		len = strlen(text);
		fputs(text, stdout);
		if (!len || text[len - 1] != '\n') {
			fputc('\n', stdout);
		}
	} else {
		r = ctl_cmd_parse(args->cmd_name, text, &stats);
		if (r == 0) {
			r = ctl_view_stats(stdout, stats, args->histogram);
			r = r < 0 ? ctl_cmd_view_failed(args->cmd_name, r) : 0;
		}
	}
	json_object_put(stats);
	sd_bus_message_unref(reply);
	return r;
}

int ctl_cmd_latency(struct ctl_bus *b, const struct ctl_args *args)
{
	struct json_object *stats = NULL, *o;
	int r = ctl_cmd_get_stats(b, args->cmd_name, &stats);

	if (r != 0) {
		return r;
	}
	if (args->pair) {
		r = ctl_stats_select_pair(stats, args->pair);
		if (r < 0) {
			r = ctl_cmd_no_pair(args->cmd_name, args->pair, r);
			json_object_put(stats);
			return r;
		}
	}
	if (args->json) {
		o = ctl_latency_json(stats);
		r = o ? ctl_cmd_print_json(o)
		      : ctl_cmd_view_failed(args->cmd_name, -ENOMEM);
		json_object_put(o);
	} else {
		r = ctl_view_latency(stdout, stats);
		r = r < 0 ? ctl_cmd_view_failed(args->cmd_name, r) : 0;
	}
	json_object_put(stats);
	return r;
}

/* ListKeys' a(ssss) as [{"name", "value", "mode", "range"}]; only the
 * names starting with prefix when it is not NULL. */
static int ctl_cmd_read_keys(sd_bus_message *m, struct json_object *keys,
			     const char *prefix)
{
	const char *name, *value, *mode, *range;
	int r;

	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(ssss)");
	if (r < 0) {
		return r;
	}
	while ((r = sd_bus_message_read(m, "(ssss)", &name, &value, &mode,
					&range)) > 0) {
		struct json_object *k;

		if (prefix && strncmp(name, prefix, strlen(prefix)) != 0) {
			continue;
		}
		k = json_object_new_object();
		if (!k) {
			return -ENOMEM;
		}
		json_object_object_add(k, "name", json_object_new_string(name));
		json_object_object_add(k, "value",
				       json_object_new_string(value));
		json_object_object_add(k, "mode", json_object_new_string(mode));
		json_object_object_add(k, "range",
				       json_object_new_string(range));
		json_object_array_add(keys, k);
	}
	if (r < 0) {
		return r;
	}
	return sd_bus_message_exit_container(m);
}

int ctl_cmd_keys(struct ctl_bus *b, const struct ctl_args *args)
{
	struct json_object *keys = json_object_new_array();
	sd_bus_message *reply = NULL;
	char prefix[CTL_KEY_MAX];
	int r;

	if (!keys) {
		return ctl_cmd_view_failed(args->cmd_name, -ENOMEM);
	}
	if (args->pair) {
		snprintf(prefix, sizeof(prefix), "pair.%s.", args->pair);
	}
	r = ctl_bus_call(b, args->cmd_name, CTL_PATH_DAEMON, CTL_IFACE_DAEMON,
			 "ListKeys", &reply, "");
	if (r == 0) {
		r = ctl_cmd_read_keys(reply, keys, args->pair ? prefix : NULL);
		r = r < 0 ? ctl_bus_bad_reply(args->cmd_name, "ListKeys", r)
			  : 0;
	}
	if (r == 0 && args->json) {
		r = ctl_cmd_print_json(keys);
	} else if (r == 0) {
		r = ctl_view_keys(stdout, keys);
		r = r < 0 ? ctl_cmd_view_failed(args->cmd_name, r) : 0;
	}
	sd_bus_message_unref(reply);
	json_object_put(keys);
	return r;
}

void ctl_cmd_key_name(const struct ctl_args *args, const char *key,
		      char *buf, size_t size)
{
	if (args->pair && strncmp(key, "pair.", 5) != 0) {
		snprintf(buf, size, "pair.%s.%s", args->pair, key);
	} else {
		snprintf(buf, size, "%s", key);
	}
}

int ctl_cmd_get(struct ctl_bus *b, const struct ctl_args *args)
{
	sd_bus_message *reply = NULL;
	struct json_object *o;
	char name[CTL_KEY_MAX];
	const char *value;
	int r;

	ctl_cmd_key_name(args, args->arg[0], name, sizeof(name));
	r = ctl_bus_call(b, args->cmd_name, CTL_PATH_DAEMON, CTL_IFACE_DAEMON,
			 "Get", &reply, "s", name);
	if (r != 0) {
		return r;
	}
	r = sd_bus_message_read(reply, "s", &value);
	if (r < 0) {
		r = ctl_bus_bad_reply(args->cmd_name, "Get", r);
	} else if (args->json) {
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "value",
				       json_object_new_string(value));
		r = ctl_cmd_print_json(o);
		json_object_put(o);
	} else {
		puts(value);
		r = 0;
	}
	sd_bus_message_unref(reply);
	return r;
}

int ctl_cmd_metrics(struct ctl_bus *b, const struct ctl_args *args)
{
	sd_bus_message *reply = NULL;
	struct json_object *o;
	const char *text;
	int r = ctl_cmd_string(b, args->cmd_name, "GetMetrics", &reply, &text);

	if (r != 0) {
		return r;
	}
	if (args->json) {
		o = json_object_new_object();
		json_object_object_add(o, "metrics",
				       json_object_new_string(text));
		r = ctl_cmd_print_json(o);
		json_object_put(o);
	} else {
		fputs(text, stdout);
	}
	sd_bus_message_unref(reply);
	return r;
}
