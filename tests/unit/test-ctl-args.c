/* SPDX-License-Identifier: MIT */
/* ttwsctl's command line, exit codes and bus address (src/ctl). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl/args.h"
#include "ctl/busaddr.h"
#include "ctl/errmap.h"
#include "ctl/table.h"

#define MAX_ARGV 16

/* Parse a space-separated command line ("ttwsctl" is prepended). */
static int parse(const char *line, const char *env, struct ctl_args *a,
		 char *err)
{
	static char copy[512];
	char *argv[MAX_ARGV] = {"ttwsctl"};
	int argc = 1;
	char *tok, *save = NULL;

	snprintf(copy, sizeof(copy), "%s", line);
	for (tok = strtok_r(copy, " ", &save); tok && argc < MAX_ARGV - 1;
	     tok = strtok_r(NULL, " ", &save)) {
		argv[argc++] = tok;
	}
	argv[argc] = NULL;
	return ctl_args_parse(argc, argv, env, a, err, CTL_ERR_MAX);
}

static void args_every_command(void **state)
{
	static const struct {
		const char *line;
		enum ctl_cmd cmd;
		const char *arg0, *arg1;
	} cases[] = {
	    {"status", CTL_CMD_STATUS, NULL, NULL},
	    {"ears", CTL_CMD_EARS, NULL, NULL},
	    {"stats", CTL_CMD_STATS, NULL, NULL},
	    {"latency", CTL_CMD_LATENCY, NULL, NULL},
	    {"keys", CTL_CMD_KEYS, NULL, NULL},
	    {"get servo.estimator", CTL_CMD_GET, "servo.estimator", NULL},
	    {"set servo.estimator naive", CTL_CMD_SET, "servo.estimator",
	     "naive"},
	    {"set stream.asha_volume -- -10", CTL_CMD_SET,
	     "stream.asha_volume", "-10"},
	    {"reload", CTL_CMD_RELOAD, NULL, NULL},
	    {"reset-stats", CTL_CMD_RESET_STATS, NULL, NULL},
	    {"capture start /tmp/x.btsnoop", CTL_CMD_CAPTURE_START,
	     "/tmp/x.btsnoop", NULL},
	    {"capture stop", CTL_CMD_CAPTURE_STOP, NULL, NULL},
	    {"metrics", CTL_CMD_METRICS, NULL, NULL},
	    {"monitor", CTL_CMD_MONITOR, NULL, NULL},
	    {"pairs", CTL_CMD_PAIRS, NULL, NULL},
	};
	char err[CTL_ERR_MAX];
	struct ctl_args a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&a, 0xa5, sizeof(a));
		assert_int_equal(parse(cases[i].line, NULL, &a, err), 0);
		assert_int_equal(a.cmd, cases[i].cmd);
		if (cases[i].arg0) {
			assert_string_equal(a.arg[0], cases[i].arg0);
		} else {
			assert_null(a.arg[0]);
		}
		if (cases[i].arg1) {
			assert_string_equal(a.arg[1], cases[i].arg1);
		} else {
			assert_null(a.arg[1]);
		}
		assert_false(a.json);
		assert_false(a.system);
	}
	assert_int_equal(parse("capture stop", NULL, &a, err), 0);
	assert_string_equal(a.cmd_name, "capture stop");
}

static void args_options_anywhere(void **state)
{
	char err[CTL_ERR_MAX];
	struct ctl_args a;

	(void)state;
	assert_int_equal(parse("stats --histogram --json", NULL, &a, err), 0);
	assert_int_equal(a.cmd, CTL_CMD_STATS);
	assert_true(a.histogram);
	assert_true(a.json);
	assert_int_equal(parse("--json status", NULL, &a, err), 0);
	assert_int_equal(a.cmd, CTL_CMD_STATUS);
	assert_true(a.json);
	assert_int_equal(parse("--system monitor", NULL, &a, err), 0);
	assert_true(a.system);
	assert_int_equal(a.cmd, CTL_CMD_MONITOR);
}

/* "--" ends the options: a value may start with '-'. */
static void args_double_dash(void **state)
{
	char err[CTL_ERR_MAX];
	struct ctl_args a;

	(void)state;
	assert_int_equal(parse("set stream.trim_us -5", NULL, &a, err),
			 -EINVAL);
	assert_int_equal(parse("set stream.trim_us -- -5", NULL, &a, err), 0);
	assert_int_equal(a.cmd, CTL_CMD_SET);
	assert_string_equal(a.arg[1], "-5");
}

static void args_socket_choice(void **state)
{
	char err[CTL_ERR_MAX];
	struct ctl_args a;

	(void)state;
	assert_int_equal(parse("status", NULL, &a, err), 0);
	assert_string_equal(a.socket, CTL_DEFAULT_SOCKET);
	assert_string_equal(a.socket, "/run/ttws/control");
	assert_int_equal(parse("status", "/tmp/env.sock", &a, err), 0);
	assert_string_equal(a.socket, "/tmp/env.sock");
	/* An empty variable is no variable. */
	assert_int_equal(parse("status", "", &a, err), 0);
	assert_string_equal(a.socket, CTL_DEFAULT_SOCKET);
	assert_int_equal(
	    parse("--socket /tmp/opt.sock status", "/tmp/env.sock", &a, err),
	    0);
	assert_string_equal(a.socket, "/tmp/opt.sock");
	assert_int_equal(parse("status --socket=/tmp/eq.sock", NULL, &a, err),
			 0);
	assert_string_equal(a.socket, "/tmp/eq.sock");
}

/* Each usage error is -EINVAL (exit 2) with a reason naming the culprit. */
/* --pair NAME: a valid name, for the commands about one pair only. */
static void args_pair(void **state)
{
	struct ctl_args a;
	char err[CTL_ERR_MAX];

	(void)state;
	assert_int_equal(parse("--pair b-2_x status", NULL, &a, err), 0);
	assert_string_equal(a.pair, "b-2_x");
	assert_int_equal(a.cmd, CTL_CMD_STATUS);
	assert_int_equal(parse("set delay_ms 30 --pair kitchen", NULL, &a, err),
			 0);
	assert_string_equal(a.pair, "kitchen");
	assert_int_equal(parse("status", NULL, &a, err), 0);
	assert_null(a.pair);
	assert_int_equal(parse("--pair Kitchen status", NULL, &a, err),
			 -EINVAL);
	assert_non_null(strstr(err, "not a pair name"));
	assert_int_equal(parse("--pair a/b status", NULL, &a, err), -EINVAL);
	assert_int_equal(parse("--pair 0123456789012345678901234567890123 "
			       "status",
			       NULL, &a, err),
			 -EINVAL);
	assert_int_equal(parse("--pair b reload", NULL, &a, err), -EINVAL);
	assert_non_null(strstr(err, "--pair does not apply to reload"));
	assert_int_equal(parse("--pair b pairs", NULL, &a, err), -EINVAL);
	assert_int_equal(parse("--pair b metrics", NULL, &a, err), -EINVAL);
	assert_true(ctl_pair_name_valid("default"));
	assert_false(ctl_pair_name_valid(""));
}

static void args_usage_errors(void **state)
{
	static const struct {
		const char *line;
		const char *reason;
	} cases[] = {
	    {"", "missing command"},
	    {"--json", "missing command"},
	    {"frobnicate", "unknown command 'frobnicate'"},
	    {"status --frob", "unknown option '--frob'"},
	    {"-x status", "unknown option '-x'"},
	    {"set stream.asha_volume -10", "a negative VALUE goes after '--'"},
	    {"get", "get: expects NAME"},
	    {"set servo.estimator", "set: expects NAME VALUE"},
	    {"status now", "status: unexpected argument 'now'"},
	    {"get a b", "get: unexpected argument 'b'"},
	    {"status --histogram", "--histogram applies only to stats"},
	    {"status --socket", "'--socket' needs an argument"},
	    {"--socket= status", "--socket: empty path"},
	    {"--socket /x --system status", "exclude each other"},
	    {"capture", "capture: expected start FILE or stop"},
	    {"capture begin", "not 'begin'"},
	    {"capture start", "capture start: expects FILE"},
	    {"capture stop now", "unexpected argument 'now'"},
	};
	char err[CTL_ERR_MAX];
	struct ctl_args a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(parse(cases[i].line, NULL, &a, err), -EINVAL);
		if (!strstr(err, cases[i].reason)) {
			fail_msg("'%s': got '%s', want '%s'", cases[i].line,
				 err, cases[i].reason);
		}
	}
}

static void args_help_and_version(void **state)
{
	char err[CTL_ERR_MAX];
	struct ctl_args a;

	(void)state;
	assert_int_equal(parse("-h", NULL, &a, err), 0);
	assert_true(a.help);
	assert_int_equal(a.cmd, CTL_CMD_NONE);
	assert_int_equal(parse("--help frobnicate", NULL, &a, err), 0);
	assert_true(a.help);
	assert_int_equal(parse("--version", NULL, &a, err), 0);
	assert_true(a.version);
}

/* The help text names every command and fits 80 columns. */
static void args_usage_text(void **state)
{
	static const char *const words[] = {
	    "status",
	    "ears",
	    "stats",
	    "--histogram",
	    "latency",
	    "keys",
	    "get NAME",
	    "set NAME VALUE",
	    "reload",
	    "reset-stats",
	    "capture start FILE",
	    "capture stop",
	    "metrics",
	    "monitor",
	    "--json",
	    "--socket PATH",
	    "--system",
	    "--help",
	    "--version",
	    "TTWS_CONTROL_SOCKET",
	};
	char *text = NULL, *line, *save = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	ctl_usage(f);
	fclose(f);
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (!strstr(text, words[i])) {
			fail_msg("help lacks '%s'", words[i]);
		}
	}
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		assert_true(ctl_text_width(line) <= 80);
	}
	free(text);
}

/* An answer from the daemon is 1, whatever errno sd-bus maps it to. */
static void errmap_daemon_errors(void **state)
{
	(void)state;
	assert_int_equal(
	    ctl_exit_for_call(-EINVAL, "org.ttws.Error.InvalidConfig"),
	    CTL_EXIT_DAEMON);
	assert_int_equal(
	    ctl_exit_for_call(-EACCES,
			      "org.freedesktop.DBus.Error.AccessDenied"),
	    CTL_EXIT_DAEMON);
	assert_int_equal(
	    ctl_exit_for_call(-EOPNOTSUPP,
			      "org.freedesktop.DBus.Error.NotSupported"),
	    CTL_EXIT_DAEMON);
	/* Even one mapped to a "lost connection" errno. */
	assert_int_equal(ctl_exit_for_call(-ETIMEDOUT, "org.ttws.Error.Busy"),
			 CTL_EXIT_DAEMON);
	assert_int_equal(ctl_exit_for_call(-ENOMEM, NULL), CTL_EXIT_DAEMON);
}

/* No answer at all is 3. */
static void errmap_unreachable(void **state)
{
	(void)state;
	assert_int_equal(
	    ctl_exit_for_call(-ETIMEDOUT, "org.freedesktop.DBus.Error.NoReply"),
	    CTL_EXIT_UNREACHABLE);
	assert_int_equal(
	    ctl_exit_for_call(-EHOSTUNREACH,
			      "org.freedesktop.DBus.Error.ServiceUnknown"),
	    CTL_EXIT_UNREACHABLE);
	assert_int_equal(
	    ctl_exit_for_call(-ECONNRESET, "System.Error.ECONNRESET"),
	    CTL_EXIT_UNREACHABLE);
	assert_int_equal(ctl_exit_for_call(-ENOTCONN, NULL),
			 CTL_EXIT_UNREACHABLE);
	assert_int_equal(ctl_exit_for_call(-EPIPE, NULL), CTL_EXIT_UNREACHABLE);
	/* A local failure that is not about the connection is not 3. */
	assert_int_equal(ctl_exit_for_call(-ENOMEM, "System.Error.ENOMEM"),
			 CTL_EXIT_DAEMON);
}

static void errmap_hints(void **state)
{
	(void)state;
	assert_non_null(strstr(ctl_connect_hint(-ENOENT), "running"));
	assert_non_null(strstr(ctl_connect_hint(-ECONNREFUSED), "running"));
	assert_non_null(strstr(ctl_connect_hint(-EACCES), "permission"));
	assert_non_null(ctl_connect_hint(-EIO));
	assert_non_null(strstr(
	    ctl_call_hint("org.freedesktop.DBus.Error.AccessDenied", NULL),
	    "group ttws"));
	assert_non_null(ctl_call_hint("org.freedesktop.DBus.Error.AccessDenied",
				      "Access denied"));
	/* ttwsd's own message already says who may: no echo. */
	assert_null(ctl_call_hint("org.freedesktop.DBus.Error.AccessDenied",
				  "Set needs uid 0 or membership of group "
				  "ttws (caller uid 65534)"));
	assert_non_null(
	    ctl_call_hint("org.freedesktop.DBus.Error.ServiceUnknown", NULL));
	assert_null(ctl_call_hint("org.ttws.Error.InvalidConfig", "x: bad"));
	assert_null(ctl_call_hint(NULL, NULL));
}

static void busaddr_escapes(void **state)
{
	char buf[128];

	(void)state;
	assert_int_equal(ctl_bus_address("/run/ttws/control", buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "unix:path=/run/ttws/control");
	assert_int_equal(ctl_bus_address("/tmp/a b,c=d;e", buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "unix:path=/tmp/a%20b%2cc%3dd%3be");
	assert_int_equal(
	    ctl_bus_address("/tmp/ttws-ctl.X_1-2/c", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "unix:path=/tmp/ttws-ctl.X_1-2/c");
	/* Exactly full: the NUL must fit too. */
	assert_int_equal(ctl_bus_address("/abc", buf, 14), -ENAMETOOLONG);
	assert_int_equal(ctl_bus_address("/abc", buf, 15), 0);
	assert_int_equal(ctl_bus_address("/a,", buf, 15), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(args_every_command),
	    cmocka_unit_test(args_options_anywhere),
	    cmocka_unit_test(args_double_dash),
	    cmocka_unit_test(args_socket_choice),
	    cmocka_unit_test(args_pair),
	    cmocka_unit_test(args_usage_errors),
	    cmocka_unit_test(args_help_and_version),
	    cmocka_unit_test(args_usage_text),
	    cmocka_unit_test(errmap_daemon_errors),
	    cmocka_unit_test(errmap_unreachable),
	    cmocka_unit_test(errmap_hints),
	    cmocka_unit_test(busaddr_escapes),
	};

	return cmocka_run_group_tests_name("ctl-args", tests, NULL, NULL);
}
