/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CTL_ARGS_H
#define TTWS_CTL_ARGS_H

/*
 * ttwsctl's command line: options anywhere (GNU getopt permutation, "--"
 * ends them, so `set NAME -- -5` passes a negative value), then a command
 * and its arguments. Pure: the environment comes in as an argument.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Process exit codes, documented in ttwsctl(1). */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_DAEMON = 1,	  /* the daemon (or the output) failed */
	CTL_EXIT_USAGE = 2,	  /* unknown command/option, missing argument */
	CTL_EXIT_UNREACHABLE = 3, /* cannot connect, or the connection died */
};

enum ctl_cmd {
	CTL_CMD_NONE = 0, /* only --help or --version */
	CTL_CMD_STATUS,
	CTL_CMD_EARS,
	CTL_CMD_STATS,
	CTL_CMD_LATENCY,
	CTL_CMD_KEYS,
	CTL_CMD_GET,
	CTL_CMD_SET,
	CTL_CMD_RELOAD,
	CTL_CMD_RESET_STATS,
	CTL_CMD_CAPTURE_START,
	CTL_CMD_CAPTURE_STOP,
	CTL_CMD_METRICS,
	CTL_CMD_MONITOR,
	CTL_CMD_PAIRS,
};

#define CTL_DEFAULT_SOCKET "/run/ttws/control"
#define CTL_BUS_NAME "org.ttws.Daemon1"

/* Every string is borrowed from argv or env_socket (or a literal). */
struct ctl_args {
	enum ctl_cmd cmd;
	const char *cmd_name; /* "status", "capture start", ... */
	const char *arg[2];   /* the command's positional arguments */
	const char *socket;   /* private socket path (unused with system) */
	const char *pair;     /* --pair NAME, or NULL: the first pair */
	bool json;
	bool histogram;
	bool system;
	bool help;
	bool version;
};

#define CTL_ERR_MAX 160

/*
 * Parse argv (permuted in place by getopt). env_socket is
 * $TTWS_CONTROL_SOCKET or NULL. Returns 0, or -EINVAL on a usage error
 * with a one-line reason in err (err_size bytes, NUL-terminated).
 * ret is filled only on success.
 */
int ctl_args_parse(int argc, char **argv, const char *env_socket,
		   struct ctl_args *ret, char *err, size_t err_size);

/* Whether name is a pair's name as ttwsd.conf(5) allows: 1 to 31 of
 * [a-z0-9_-]. */
bool ctl_pair_name_valid(const char *name);

/* Whether cmd reads or changes one pair (and so takes --pair). */
bool ctl_cmd_takes_pair(enum ctl_cmd cmd);

/* The --help text. */
void ctl_usage(FILE *f);

#endif
