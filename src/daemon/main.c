/* SPDX-License-Identifier: MIT */
/*
 * ttwsd: the ttws host daemon. This file parses the command line and hands
 * over to the mode asked for.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/conf.h"
#include "core/macro.h"
#include "daemon/latency.h"
#include "daemon/conffile.h"
#include "daemon/daemon.h"
#include "os/rt.h"

/* meson's sysconfdir/ttws/ttwsd.conf (config.h). */
#ifndef TTWS_CONFIG_PATH
#define TTWS_CONFIG_PATH "/etc/ttws/ttwsd.conf"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ttwsd [--config FILE] [--duration S] [--frame-log FILE]"
		" [--stats-file FILE]\n"
		"             [--btsnoop FILE]\n"
		"       ttwsd --check-config [--config FILE]\n"
		"       ttwsd --list-keys [--config FILE]\n"
		"       ttwsd --get KEY [--config FILE]\n"
		"       ttwsd --latency-test [--duration S | --loops N] "
		"[--interval-us N]\n"
		"             [--priority P] [--cpu C] [--spin-guard-us G] "
		"[--backend B]\n"
		"             [--timer timerfd|uring-timeout|uring-wait] [--json]\n"
		"\n"
		"  --config FILE       configuration (default "
		TTWS_CONFIG_PATH ")\n"
		"  --check-config      validate the configuration and exit\n"
		"  --list-keys         every key: name, value, live|restart, "
		"range\n"
		"  --get KEY           print one key's value (e.g. rt.cpu): "
		"the defaults,\n"
		"                      or the values of --config FILE\n"
		"  --frame-log FILE    CSV of every frame sent (ear, seq, "
		"send time, pts)\n"
		"  --stats-file FILE   JSON status written at exit\n"
		"  --btsnoop FILE      capture the hci-uart dongle's traffic "
		"(btmon -r)\n"
		"  --latency-test      measure the RT loop's wake-up latency\n"
		"  --duration S        run (or measure) for S seconds "
		"(latency test: 5)\n"
		"  --loops N           wake-ups to measure (overrides "
		"--duration)\n"
		"  --interval-us N     timer period in us (default 1000)\n"
		"  --priority P        SCHED_FIFO priority, 0 = none "
		"(default 80)\n"
		"  --cpu C             pin the RT thread to CPU C, or auto: "
		"the CPU of\n"
		"                      <own cgroup>/rt, which it joins\n"
		"  --spin-guard-us G   wake G us early and spin to the deadline\n"
		"  --backend B         auto | io_uring | epoll (default auto)\n"
		"  --timer T           timerfd (default) | uring-timeout (an\n"
		"                      io_uring timeout) | uring-wait (the\n"
		"                      wait's own absolute timeout)\n"
		"  --json              one JSON line instead of text\n"
		"  --version           print the version\n");
}

static int parse_u64(const char *s, const char *what, uint64_t max,
		     uint64_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v > max || s[0] == '-') {
		fprintf(stderr, "ttwsd: %s: invalid value '%s'\n", what, s);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static int parse_seconds(const char *s, uint64_t *ret_ns)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v <= 0 || v > 86400 * 7) {
		fprintf(stderr, "ttwsd: --duration: invalid value '%s'\n", s);
		return -EINVAL;
	}
	*ret_ns = (uint64_t)(v * 1e9);
	return 0;
}

/*
 * Every key as "name value live|restart range", one per line: the
 * defaults, or the values of config when given.
 */
static int main_list_keys(const char *config)
{
	char errbuf[CONF_ERR_MAX + CONF_PATH_MAX];
	struct conf_key_info ki;
	struct conf cf;
	unsigned i;

	if (config) {
		if (conffile_load(config, &cf, errbuf, sizeof(errbuf)) < 0) {
			fprintf(stderr, "ttwsd: %s\n", errbuf);
			return 1;
		}
	} else {
		conf_default(&cf);
	}
	for (i = 0; i < conf_n_names(&cf); i++) {
		conf_key_info(&cf, i, &ki);
		printf("%s\t%s\t%s\t%s\n", ki.name,
		       ki.value[0] ? ki.value : "\"\"",
		       ki.apply == CONF_LIVE ? "live" : "restart", ki.range);
	}
	return 0;
}

/*
 * One key's value as the parser sees it (the defaults under the file's
 * values), for scripts such as ttws-cgroup(8): "auto", "1", "/run/x".
 */
static int main_get(const char *config, bool config_given, const char *name)
{
	char errbuf[CONF_ERR_MAX + CONF_PATH_MAX];
	struct conf_key_info ki;
	struct conf cf;

	if (config_given) {
		if (conffile_load(config, &cf, errbuf, sizeof(errbuf)) < 0) {
			fprintf(stderr, "ttwsd: %s\n", errbuf);
			return 1;
		}
	} else {
		conf_default(&cf);
	}
	if (conf_get(&cf, name, &ki) < 0) {
		fprintf(stderr,
			"ttwsd: --get: unknown key '%s' (ttwsd --list-keys "
			"lists them)\n",
			name);
		return 1;
	}
	printf("%s\n", ki.value);
	return 0;
}

enum {
	OPT_LATENCY = 0x100,
	OPT_DURATION,
	OPT_LOOPS,
	OPT_INTERVAL,
	OPT_PRIORITY,
	OPT_CPU,
	OPT_GUARD,
	OPT_BACKEND,
	OPT_TIMER,
	OPT_JSON,
	OPT_CONFIG,
	OPT_CHECK,
	OPT_VERSION,
	OPT_FRAME_LOG,
	OPT_STATS_FILE,
	OPT_BTSNOOP,
	OPT_LIST_KEYS,
	OPT_GET,
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "latency-test", no_argument, NULL, OPT_LATENCY },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "loops", required_argument, NULL, OPT_LOOPS },
		{ "interval-us", required_argument, NULL, OPT_INTERVAL },
		{ "priority", required_argument, NULL, OPT_PRIORITY },
		{ "cpu", required_argument, NULL, OPT_CPU },
		{ "spin-guard-us", required_argument, NULL, OPT_GUARD },
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "timer", required_argument, NULL, OPT_TIMER },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "frame-log", required_argument, NULL, OPT_FRAME_LOG },
		{ "stats-file", required_argument, NULL, OPT_STATS_FILE },
		{ "btsnoop", required_argument, NULL, OPT_BTSNOOP },
		{ "list-keys", no_argument, NULL, OPT_LIST_KEYS },
		{ "get", required_argument, NULL, OPT_GET },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon_opts dopts = { 0 };
	uint64_t run_ns = 0;
	struct latency_opts lat;
	const char *config = TTWS_CONFIG_PATH;
	bool latency = false, check = false, list = false;
	bool config_given = false;
	const char *get = NULL;
	uint64_t v;
	int c, err;

	latency_opts_default(&lat);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		err = 0;
		switch (c) {
		case OPT_LATENCY:
			latency = true;
			break;
		case OPT_DURATION:
			err = parse_seconds(optarg, &lat.duration_ns);
			run_ns = lat.duration_ns;
			lat.loops = 0;
			break;
		case OPT_FRAME_LOG:
			dopts.frame_log = optarg;
			break;
		case OPT_STATS_FILE:
			dopts.stats_file = optarg;
			break;
		case OPT_BTSNOOP:
			dopts.btsnoop = optarg;
			break;
		case OPT_LOOPS:
			err = parse_u64(optarg, "--loops", UINT32_MAX,
					&lat.loops);
			break;
		case OPT_INTERVAL:
			err = parse_u64(optarg, "--interval-us", 10000000, &v);
			if (!err && v < 50) {
				fprintf(stderr, "ttwsd: --interval-us: at "
						"least 50\n");
				err = -EINVAL;
			}
			lat.interval_ns = v * NSEC_PER_USEC;
			break;
		case OPT_PRIORITY:
			err = parse_u64(optarg, "--priority", 99, &v);
			lat.priority = (int)v;
			break;
		case OPT_CPU:
			if (strcmp(optarg, "auto") == 0) {
				lat.cpu = RT_CPU_AUTO;
				break;
			}
			err = parse_u64(optarg, "--cpu", 1023, &v);
			lat.cpu = (int)v;
			break;
		case OPT_GUARD:
			err = parse_u64(optarg, "--spin-guard-us", 10000, &v);
			lat.spin_guard_ns = v * NSEC_PER_USEC;
			break;
		case OPT_BACKEND:
			err = loop_backend_from_string(optarg, &lat.backend);
			if (err) {
				fprintf(stderr, "ttwsd: --backend: '%s' is not "
						"auto, io_uring or epoll\n",
					optarg);
			}
			break;
		case OPT_TIMER:
			/* "uring": the older spelling of uring-timeout. */
			if (strcmp(optarg, "uring") == 0) {
				lat.timer = LOOP_TIMER_URING_TIMEOUT;
			} else if (loop_timer_from_string(optarg,
							  &lat.timer) < 0) {
				fprintf(stderr, "ttwsd: --timer: '%s' is not "
						"timerfd, uring-timeout or "
						"uring-wait\n",
					optarg);
				err = -EINVAL;
			}
			break;
		case OPT_JSON:
			lat.json = true;
			break;
		case OPT_CONFIG:
			config = optarg;
			config_given = true;
			break;
		case OPT_CHECK:
			check = true;
			break;
		case OPT_LIST_KEYS:
			list = true;
			break;
		case OPT_GET:
			get = optarg;
			break;
		case OPT_VERSION:
			printf("ttwsd %s\n", TTWS_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (err) {
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ttwsd: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}

	if (latency) {
		return latency_run(&lat) < 0 ? 1 : 0;
	}

	if (get) {
		return main_get(config, config_given, get);
	}
	if (list) {
		return main_list_keys(config_given ? config : NULL);
	}
	if (check) {
		struct conf cf;
		char errbuf[CONF_ERR_MAX + CONF_PATH_MAX];

		err = conffile_load(config, &cf, errbuf, sizeof(errbuf));
		if (err < 0) {
			fprintf(stderr, "ttwsd: %s\n", errbuf);
			return 1;
		}
		printf("%s: ok\n", config);
		return 0;
	}

	(void)config_given;
	dopts.config = config;
	dopts.duration_ns = run_ns;
	return daemon_run(&dopts);
}
