/* SPDX-License-Identifier: MIT */
/* What every command writes: a JSON document, or why a view failed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl/cmd.h"
#include "ctl/jsonpath.h"

int ctl_cmd_print_json(struct json_object *o)
{
	const char *s = ctl_json_compact(o);

	if (!s) {
		return ctl_cmd_view_failed("json", -ENOMEM);
	}
	puts(s);
	return CTL_EXIT_OK;
}

int ctl_cmd_view_failed(const char *cmd, int r)
{
	fprintf(stderr, "ttwsctl: %s: %s\n", cmd, strerror(-r));
	return CTL_EXIT_DAEMON;
}

int ctl_cmd_no_pair(const char *cmd, const char *pair, int r)
{
	if (r == -ENOENT) {
		fprintf(stderr,
			"ttwsctl: %s: ttwsd has no pair '%s' (see ttwsctl "
			"pairs)\n",
			cmd, pair);
		return CTL_EXIT_DAEMON;
	}
	return ctl_cmd_view_failed(cmd, r);
}
