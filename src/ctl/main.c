/* SPDX-License-Identifier: MIT */
/*
 * ttwsctl: the control CLI of ttwsd (ttwsctl(1)). Parses the command line
 * (args.c), connects (bus.c), runs one command (cmd_*.c, monitor.c) and
 * exits with its code: 0 ok, 1 daemon error, 2 usage, 3 unreachable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctl/args.h"
#include "ctl/bus.h"
#include "ctl/cmd.h"

static int ctl_run(struct ctl_bus *b, const struct ctl_args *a)
{
	switch (a->cmd) {
	case CTL_CMD_NONE:
		return CTL_EXIT_OK;
	case CTL_CMD_STATUS:
		return ctl_cmd_status(b, a);
	case CTL_CMD_EARS:
		return ctl_cmd_ears(b, a);
	case CTL_CMD_STATS:
		return ctl_cmd_stats(b, a);
	case CTL_CMD_LATENCY:
		return ctl_cmd_latency(b, a);
	case CTL_CMD_KEYS:
		return ctl_cmd_keys(b, a);
	case CTL_CMD_GET:
		return ctl_cmd_get(b, a);
	case CTL_CMD_SET:
		return ctl_cmd_set(b, a);
	case CTL_CMD_RELOAD:
		return ctl_cmd_reload(b, a);
	case CTL_CMD_RESET_STATS:
		return ctl_cmd_reset_stats(b, a);
	case CTL_CMD_CAPTURE_START:
		return ctl_cmd_capture_start(b, a);
	case CTL_CMD_CAPTURE_STOP:
		return ctl_cmd_capture_stop(b, a);
	case CTL_CMD_METRICS:
		return ctl_cmd_metrics(b, a);
	case CTL_CMD_MONITOR:
		return ctl_cmd_monitor(b, a);
	case CTL_CMD_PAIRS:
		return ctl_cmd_pairs(b, a);
	}
	return CTL_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	char err[CTL_ERR_MAX];
	struct ctl_args a;
	struct ctl_bus b;
	int r;

	if (ctl_args_parse(argc, argv, getenv("TTWS_CONTROL_SOCKET"), &a, err,
			   sizeof(err)) < 0) {
		fprintf(stderr, "ttwsctl: %s\nTry 'ttwsctl --help'.\n", err);
		return CTL_EXIT_USAGE;
	}
	if (a.help) {
		ctl_usage(stdout);
		return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_DAEMON;
	}
	if (a.version) {
		printf("ttwsctl %s\n", TTWS_VERSION);
		return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_DAEMON;
	}
	r = ctl_bus_open(&b, &a);
	if (r != 0) {
		return r;
	}
	r = ctl_run(&b, &a);
	ctl_bus_close(&b);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "ttwsctl: cannot write the output: %s\n",
			strerror(errno));
		return r ? r : CTL_EXIT_DAEMON;
	}
	return r;
}
