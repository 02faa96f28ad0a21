/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CTL_CMD_H
#define TTWS_CTL_CMD_H

/*
 * The commands of ttwsctl, one function each: ask ttwsd over b, write
 * the answer (human, or JSON with args->json) to stdout, report failures
 * on stderr. Each returns the process exit code (args.h).
 */

#include <json-c/json.h>

#include "ctl/args.h"
#include "ctl/bus.h"

/* cmd_status.c: the D-Bus properties. */
int ctl_cmd_status(struct ctl_bus *b, const struct ctl_args *args);
int ctl_cmd_ears(struct ctl_bus *b, const struct ctl_args *args);

/* cmd_pairs.c: pairs, and a pair's objects for --pair. */
int ctl_cmd_pairs(struct ctl_bus *b, const struct ctl_args *args);

/* {"left": Ear1 properties, "right": ...} into ears: pair's ears, or the
 * first pair's (/org/ttws/Daemon/ear/EAR) when pair is NULL. The exit
 * code. */
int ctl_cmd_ear_objects(struct ctl_bus *b, const char *cmd, const char *pair,
			struct json_object *ears);

/* Pair1's properties of pair, with "ears" as above, into *ret (owned by
 * the caller). The exit code. */
int ctl_cmd_pair_object(struct ctl_bus *b, const char *cmd, const char *pair,
			struct json_object **ret);

/* cmd_read.c: the read-only methods. */

/* GetStats parsed into *ret (owned by the caller); the exit code. */
int ctl_cmd_get_stats(struct ctl_bus *b, const char *cmd,
		      struct json_object **ret);

/* A key's name on the bus: with --pair and a KEY not already
 * "pair.*", "pair.NAME.KEY"; else KEY. */
#define CTL_KEY_MAX 256
void ctl_cmd_key_name(const struct ctl_args *args, const char *key,
		      char *buf, size_t size);

int ctl_cmd_stats(struct ctl_bus *b, const struct ctl_args *args);
int ctl_cmd_latency(struct ctl_bus *b, const struct ctl_args *args);
int ctl_cmd_keys(struct ctl_bus *b, const struct ctl_args *args);
int ctl_cmd_get(struct ctl_bus *b, const struct ctl_args *args);
int ctl_cmd_metrics(struct ctl_bus *b, const struct ctl_args *args);

/* cmd_write.c: the methods that need uid 0 or group ttws. */
int ctl_cmd_set(struct ctl_bus *b, const struct ctl_args *args);
int ctl_cmd_reload(struct ctl_bus *b, const struct ctl_args *args);
int ctl_cmd_reset_stats(struct ctl_bus *b, const struct ctl_args *args);
int ctl_cmd_capture_start(struct ctl_bus *b, const struct ctl_args *args);
int ctl_cmd_capture_stop(struct ctl_bus *b, const struct ctl_args *args);

/* monitor.c */
int ctl_cmd_monitor(struct ctl_bus *b, const struct ctl_args *args);

/* cmd_out.c: write o as one line of compact JSON to stdout; the exit
 * code. */
int ctl_cmd_print_json(struct json_object *o);

/* --pair NAME that GetStats does not have (r -ENOENT), or another
 * failure of ctl_stats_select_pair(): reported, CTL_EXIT_DAEMON. */
int ctl_cmd_no_pair(const char *cmd, const char *pair, int r);

/* A view's failure (-ENOMEM, -EIO): reported, CTL_EXIT_DAEMON. */
int ctl_cmd_view_failed(const char *cmd, int r);

#endif
