/* SPDX-License-Identifier: MIT */
#include "ctl/args.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "core/macro.h"

/* One row per command; "capture start" and "capture stop" are two rows
 * with the same first word. */
struct ctl_cmd_info {
	const char *name; /* one or two words */
	enum ctl_cmd cmd;
	unsigned nargs;	    /* positional arguments after the word(s) */
	const char *params; /* for the usage text */
	const char *what;
};

static const struct ctl_cmd_info ctl_cmds[] = {
    {"status", CTL_CMD_STATUS, 0, "", "daemon and both ears at a glance"},
    {"pairs", CTL_CMD_PAIRS, 0, "", "every pair: sink, codec, delay, ears"},
    {"ears", CTL_CMD_EARS, 0, "", "per-ear detail"},
    {"stats", CTL_CMD_STATS, 0, "[--histogram]",
     "counters (and percentile tables)"},
    {"latency", CTL_CMD_LATENCY, 0, "",
     "per-layer latency and the tail's dominant layer"},
    {"keys", CTL_CMD_KEYS, 0, "", "every configuration key, value and range"},
    {"get", CTL_CMD_GET, 1, "NAME", "one key's value"},
    {"set", CTL_CMD_SET, 2, "NAME VALUE", "change a key (live keys only)"},
    {"reload", CTL_CMD_RELOAD, 0, "", "re-read the configuration file"},
    {"reset-stats", CTL_CMD_RESET_STATS, 0, "", "zero counters and histograms"},
    {"capture start", CTL_CMD_CAPTURE_START, 1, "FILE",
     "btsnoop capture of hci-uart traffic"},
    {"capture stop", CTL_CMD_CAPTURE_STOP, 0, "", "end the capture"},
    {"metrics", CTL_CMD_METRICS, 0, "", "OpenMetrics text exposition"},
    {"monitor", CTL_CMD_MONITOR, 0, "",
     "print state changes until interrupted"},
};

enum {
	CTL_OPT_JSON = 0x100,
	CTL_OPT_HISTOGRAM,
	CTL_OPT_SOCKET,
	CTL_OPT_SYSTEM,
	CTL_OPT_VERSION,
	CTL_OPT_PAIR,
};

static const struct option ctl_options[] = {
    {"json", no_argument, NULL, CTL_OPT_JSON},
    {"histogram", no_argument, NULL, CTL_OPT_HISTOGRAM},
    {"socket", required_argument, NULL, CTL_OPT_SOCKET},
    {"system", no_argument, NULL, CTL_OPT_SYSTEM},
    {"pair", required_argument, NULL, CTL_OPT_PAIR},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, CTL_OPT_VERSION},
    {NULL, 0, NULL, 0},
};

void ctl_usage(FILE *f)
{
	size_t i;

	fputs("Usage: ttwsctl [OPTIONS] COMMAND [ARGS]\n"
	      "\n"
	      "Control and observe ttwsd, the true-wireless sync daemon.\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (i = 0; i < ARRAY_SIZE(ctl_cmds); i++) {
		const struct ctl_cmd_info *c = &ctl_cmds[i];
		char head[40];

		snprintf(head, sizeof(head), "%s%s%s", c->name,
			 c->params[0] ? " " : "", c->params);
		fprintf(f, "  %-22s %s\n", head, c->what);
	}
	fputs("\n"
	      "Options:\n"
	      "  --json                 JSON on stdout: one document, or one\n"
	      "                         object per line (monitor)\n"
	      "  --histogram            stats: add the percentile tables\n"
	      "  --socket PATH          the daemon's private socket (default:\n"
	      "                         $TTWS_CONTROL_SOCKET, "
	      "else " CTL_DEFAULT_SOCKET ")\n"
	      "  --system               use the system bus (" CTL_BUS_NAME ")\n"
	      "  --pair NAME            the pair to show or change (status,\n"
	      "                         ears, stats, latency, monitor; keys,\n"
	      "                         get, set: pair.NAME.KEY); default the\n"
	      "                         first\n"
	      "  -h, --help             this text\n"
	      "  --version              ttwsctl's version\n"
	      "\n"
	      "Exit status: 0 ok, 1 error from the daemon, 2 usage error,\n"
	      "3 daemon unreachable. See ttwsctl(1).\n",
	      f);
}

/* Does row c's name match the typed words? Sets *ret_used to the number
 * of words the name takes (1 or 2). */
static bool ctl_cmd_matches(const struct ctl_cmd_info *c, char **words, int n,
			    int *ret_used, bool *ret_first)
{
	size_t len = strcspn(c->name, " ");

	if (strlen(words[0]) != len || strncmp(c->name, words[0], len) != 0) {
		return false;
	}
	*ret_first = true;
	if (!c->name[len]) {
		*ret_used = 1;
		return true;
	}
	if (n > 1 && strcmp(c->name + len + 1, words[1]) == 0) {
		*ret_used = 2;
		return true;
	}
	return false;
}

/* The row for the typed words; *ret_used as above. */
static int ctl_cmd_find(char **words, int n, const struct ctl_cmd_info **ret,
			int *ret_used, char *err, size_t err_size)
{
	bool first_known = false;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ctl_cmds); i++) {
		if (ctl_cmd_matches(&ctl_cmds[i], words, n, ret_used,
				    &first_known)) {
			*ret = &ctl_cmds[i];
			return 0;
		}
	}
	if (!first_known) {
		snprintf(err, err_size, "unknown command '%s'", words[0]);
	} else if (n > 1) {
		/* Only "capture" has second words. */
		snprintf(err, err_size,
			 "%s: expected start FILE or stop, not '%s'", words[0],
			 words[1]);
	} else {
		snprintf(err, err_size, "%s: expected start FILE or stop",
			 words[0]);
	}
	return -EINVAL;
}

static int ctl_args_command(char **words, int n, struct ctl_args *a, char *err,
			    size_t err_size)
{
	const struct ctl_cmd_info *c;
	int used, r;

	r = ctl_cmd_find(words, n, &c, &used, err, err_size);
	if (r < 0) {
		return r;
	}
	if (n - used < (int)c->nargs) {
		snprintf(err, err_size, "%s: expects %s", c->name, c->params);
		return -EINVAL;
	}
	if (n - used > (int)c->nargs) {
		snprintf(err, err_size, "%s: unexpected argument '%s'", c->name,
			 words[used + c->nargs]);
		return -EINVAL;
	}
	a->cmd = c->cmd;
	a->cmd_name = c->name;
	if (c->nargs > 0) {
		a->arg[0] = words[used];
	}
	if (c->nargs > 1) {
		a->arg[1] = words[used + 1];
	}
	return 0;
}

/* The options; returns the index of the first positional argument. */
static int ctl_args_options(int argc, char **argv, struct ctl_args *a,
			    char *err, size_t err_size)
{
	int c;

	optind = 0; /* GNU: full re-initialisation, for repeated parses */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", ctl_options, NULL)) != -1) {
		switch (c) {
		case CTL_OPT_JSON:
			a->json = true;
			break;
		case CTL_OPT_HISTOGRAM:
			a->histogram = true;
			break;
		case CTL_OPT_SOCKET:
			if (!optarg[0]) {
				snprintf(err, err_size, "--socket: empty path");
				return -EINVAL;
			}
			a->socket = optarg;
			break;
		case CTL_OPT_SYSTEM:
			a->system = true;
			break;
		case CTL_OPT_PAIR:
			if (!ctl_pair_name_valid(optarg)) {
				snprintf(err, err_size,
					 "--pair: '%s' is not a pair name "
					 "(1 to 31 of a-z 0-9 _ -)",
					 optarg);
				return -EINVAL;
			}
			a->pair = optarg;
			break;
		case 'h':
			a->help = true;
			break;
		case CTL_OPT_VERSION:
			a->version = true;
			break;
		case ':':
			snprintf(err, err_size, "option '%s' needs an argument",
				 argv[optind - 1]);
			return -EINVAL;
		default:
			if (optopt >= '0' && optopt <= '9') {
				/* getopt takes "-10" for an option: a value
				 * goes after "--", which ends the options. */
				snprintf(err, err_size,
					 "unknown option '-%c': a negative "
					 "VALUE goes after '--' (set NAME -- "
					 "-10)",
					 optopt);
			} else if (optopt && optopt < 0x100) {
				snprintf(err, err_size, "unknown option '-%c'",
					 optopt);
			} else {
				snprintf(err, err_size, "unknown option '%s'",
					 argv[optind - 1]);
			}
			return -EINVAL;
		}
	}
	return optind;
}

bool ctl_pair_name_valid(const char *name)
{
	size_t n = strlen(name);

	/* ttwsd.conf(5), [pair.NAME]: CONF_PAIR_NAME_MAX - 1 bytes. */
	return n >= 1 && n <= 31 &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

bool ctl_cmd_takes_pair(enum ctl_cmd cmd)
{
	switch (cmd) {
	case CTL_CMD_STATUS:
	case CTL_CMD_EARS:
	case CTL_CMD_STATS:
	case CTL_CMD_LATENCY:
	case CTL_CMD_KEYS:
	case CTL_CMD_GET:
	case CTL_CMD_SET:
	case CTL_CMD_MONITOR:
		return true;
	case CTL_CMD_NONE:
	case CTL_CMD_PAIRS:
	case CTL_CMD_RELOAD:
	case CTL_CMD_RESET_STATS:
	case CTL_CMD_CAPTURE_START:
	case CTL_CMD_CAPTURE_STOP:
	case CTL_CMD_METRICS:
		return false;
	}
	return false;
}

int ctl_args_parse(int argc, char **argv, const char *env_socket,
		   struct ctl_args *ret, char *err, size_t err_size)
{
	struct ctl_args a = {.cmd = CTL_CMD_NONE};
	bool socket_given;
	int first, r;

	err[0] = '\0';
	first = ctl_args_options(argc, argv, &a, err, err_size);
	if (first < 0) {
		return first;
	}
	if (a.help || a.version) {
		*ret = a;
		return 0;
	}
	if (first >= argc) {
		snprintf(err, err_size, "missing command");
		return -EINVAL;
	}
	r = ctl_args_command(argv + first, argc - first, &a, err, err_size);
	if (r < 0) {
		return r;
	}
	if (a.histogram && a.cmd != CTL_CMD_STATS) {
		snprintf(err, err_size, "--histogram applies only to stats");
		return -EINVAL;
	}
	if (a.pair && !ctl_cmd_takes_pair(a.cmd)) {
		snprintf(err, err_size, "--pair does not apply to %s",
			 a.cmd_name);
		return -EINVAL;
	}
	socket_given = a.socket != NULL;
	if (a.system && socket_given) {
		snprintf(err, err_size,
			 "--socket and --system exclude each other");
		return -EINVAL;
	}
	if (!socket_given) {
		a.socket = env_socket && env_socket[0] ? env_socket
						       : CTL_DEFAULT_SOCKET;
	}
	*ret = a;
	return 0;
}
