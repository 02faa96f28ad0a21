/* SPDX-License-Identifier: MIT */
/*
 * ttws-earbud-sim: a simulated true-wireless earbud pair (DESIGN.md, "The
 * earbud simulator"). One model (simclock, simlink), two modes, each one
 * file with one entry point; this file only parses the command line and
 * loads the scenario:
 *   --virtual  simvirt_run() (simvirt.c): src/core in virtual time, the
 *              true inter-ear error;
 *   --pair     live_run() (live.c): two earbuds on AF_UNIX SOCK_SEQPACKET
 *              sockets serving a real ttwsd against CLOCK_MONOTONIC;
 *   --report   report_compute() (report.c): the sync report of a live run
 *              from the render log and ttwsd's frame log.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/servo.h"
#include "sim/scenario.h"
#include "sim/simreport.h"
#include "sim/simvirt.h"

#include "sim/live.h"
#include "sim/report.h"

enum sim_mode {
	SIM_NONE = 0,
	SIM_VIRTUAL,
	SIM_PAIR,
	SIM_REPORT,
};

/* The command line, for every mode. */
struct sim_args {
	enum sim_mode mode;
	const char *scenario_path;
	struct scenario scenario; /* loaded, --seed applied */
	unsigned estimators;      /* bit (1 << enum servo_kind) each */
	double duration_s;        /* 0: the scenario's (virtual) or forever */
	double warmup_s;
	uint32_t probe_every;
	bool json;
	/* Live mode. */
	const char *path[SCENARIO_SIDES];
	const char *render_log;
	int priority;
	uint32_t spin_guard_us;
	/* Report mode. */
	const char *frame_log;
	uint64_t skip_frames;
};

static void usage(FILE *f)
{
	fputs("Usage: ttws-earbud-sim --virtual --scenario FILE [OPTIONS]\n"
	      "       ttws-earbud-sim --pair --scenario FILE [OPTIONS]\n"
	      "       ttws-earbud-sim --report --render-log FILE --frame-log "
	      "FILE [--skip-frames N] [--json]\n"
	      "\n"
	      "Simulate a true-wireless earbud pair (crystals, BLE connection\n"
	      "events, loss, HCI jitter) and measure the true inter-ear error.\n"
	      "\n"
	      "Modes:\n"
	      "  --virtual              discrete-event run of src/core in "
	      "virtual time\n"
	      "  --pair                 serve a real ttwsd in real time "
	      "(live mode)\n"
	      "\n"
	      "Options:\n"
	      "  --scenario FILE        scenario (INI, see "
	      "tests/scenarios/README.md)\n"
	      "  --estimator NAME       naive, median-iir, ttws or all "
	      "(default all)\n"
	      "  --duration S           seconds of audio (default: the "
	      "scenario's)\n"
	      "  --warmup S             leave the first S seconds out of "
	      "the metrics\n"
	      "                         (default 2: the initial lock)\n"
	      "  --seed N               override the scenario's seed\n"
	      "  --probe-every N        a timing request at least every N "
	      "connection\n"
	      "                         events, 1..3 (default 2)\n"
	      "  --json                 one JSON line instead of the report\n"
	      "\n"
	      "Live mode (--pair):\n"
	      "  --left PATH, --right PATH\n"
	      "                         listening sockets of the two earbuds\n"
	      "  --render-log FILE      CSV of every render, with its true "
	      "host instant\n"
	      "  --priority N           SCHED_FIFO priority (default none)\n"
	      "  --spin-guard-us N      spin the last N us before a reply "
	      "instant\n"
	      "\n"
	      "Options for both:\n"
	      "  -h, --help             this text\n"
	      "  --version              print the version\n",
	      f);
}

static int parse_double_arg(const char *name, const char *s, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v < 0) {
		fprintf(stderr, "ttws-earbud-sim: %s: '%s' is not a number of "
				"seconds\n",
			name, s);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct sim_args *cli,
		      bool *ret_exit)
{
	enum {
		OPT_VIRTUAL = 0x100,
		OPT_PAIR,
		OPT_SCENARIO,
		OPT_ESTIMATOR,
		OPT_DURATION,
		OPT_WARMUP,
		OPT_SEED,
		OPT_PROBE_EVERY,
		OPT_JSON,
		OPT_LEFT,
		OPT_RIGHT,
		OPT_RENDER_LOG,
		OPT_PRIORITY,
		OPT_SPIN_GUARD,
		OPT_VERSION,
		OPT_REPORT,
		OPT_FRAME_LOG,
		OPT_SKIP_FRAMES,
	};
	static const struct option options[] = {
		{ "virtual", no_argument, NULL, OPT_VIRTUAL },
		{ "pair", no_argument, NULL, OPT_PAIR },
		{ "scenario", required_argument, NULL, OPT_SCENARIO },
		{ "estimator", required_argument, NULL, OPT_ESTIMATOR },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "warmup", required_argument, NULL, OPT_WARMUP },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "probe-every", required_argument, NULL, OPT_PROBE_EVERY },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "left", required_argument, NULL, OPT_LEFT },
		{ "right", required_argument, NULL, OPT_RIGHT },
		{ "render-log", required_argument, NULL, OPT_RENDER_LOG },
		{ "priority", required_argument, NULL, OPT_PRIORITY },
		{ "spin-guard-us", required_argument, NULL, OPT_SPIN_GUARD },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "report", no_argument, NULL, OPT_REPORT },
		{ "frame-log", required_argument, NULL, OPT_FRAME_LOG },
		{ "skip-frames", required_argument, NULL, OPT_SKIP_FRAMES },
		{ 0 },
	};
	struct simvirt_options def;
	const char *seed = NULL;
	char err[512];
	int c, r;

	simvirt_options_default(&def);
	cli->estimators = def.estimators;
	cli->warmup_s = def.warmup_s;
	cli->probe_every = def.probe_every;
	*ret_exit = false;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case OPT_VIRTUAL:
		case OPT_PAIR:
		case OPT_REPORT:
			if (cli->mode != SIM_NONE) {
				fputs("ttws-earbud-sim: give one of --virtual, "
				      "--pair and --report\n",
				      stderr);
				return -EINVAL;
			}
			cli->mode = c == OPT_VIRTUAL ? SIM_VIRTUAL :
				    c == OPT_PAIR    ? SIM_PAIR :
						       SIM_REPORT;
			break;
		case OPT_FRAME_LOG:
			cli->frame_log = optarg;
			break;
		case OPT_SKIP_FRAMES: {
			char *end;

			errno = 0;
			cli->skip_frames = strtoull(optarg, &end, 10);
			if (!isdigit((unsigned char)optarg[0]) ||
			    *end != '\0' || errno != 0) {
				fprintf(stderr, "ttws-earbud-sim: "
						"--skip-frames: '%s' is not a "
						"count\n",
					optarg);
				return -EINVAL;
			}
			break;
		}
		case OPT_SCENARIO:
			cli->scenario_path = optarg;
			break;
		case OPT_ESTIMATOR: {
			enum servo_kind k;

			if (strcmp(optarg, "all") == 0) {
				cli->estimators = def.estimators;
			} else if (servo_kind_from_string(optarg, &k) == 0) {
				cli->estimators = 1u << k;
			} else {
				fprintf(stderr,
					"ttws-earbud-sim: --estimator: '%s' is "
					"not naive, median-iir, ttws or all\n",
					optarg);
				return -EINVAL;
			}
			break;
		}
		case OPT_DURATION:
			r = parse_double_arg("--duration", optarg,
					     &cli->duration_s);
			if (r < 0) {
				return r;
			}
			if (cli->duration_s <= 0 || cli->duration_s > 1e6) {
				fputs("ttws-earbud-sim: --duration must be in "
				      "(0, 1e6] s\n",
				      stderr);
				return -EINVAL;
			}
			break;
		case OPT_WARMUP:
			r = parse_double_arg("--warmup", optarg, &cli->warmup_s);
			if (r < 0) {
				return r;
			}
			break;
		case OPT_SEED:
			seed = optarg;
			break;
		case OPT_PROBE_EVERY:
			if (strlen(optarg) != 1 || optarg[0] < '1' ||
			    optarg[0] > '3') {
				fputs("ttws-earbud-sim: --probe-every must be "
				      "1, 2 or 3\n",
				      stderr);
				return -EINVAL;
			}
			cli->probe_every = (uint32_t)(optarg[0] - '0');
			break;
		case OPT_JSON:
			cli->json = true;
			break;
		case OPT_LEFT:
			cli->path[SCENARIO_LEFT] = optarg;
			break;
		case OPT_RIGHT:
			cli->path[SCENARIO_RIGHT] = optarg;
			break;
		case OPT_RENDER_LOG:
			cli->render_log = optarg;
			break;
		case OPT_PRIORITY:
		case OPT_SPIN_GUARD: {
			unsigned long v;
			char *end;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (!isdigit((unsigned char)optarg[0]) ||
			    *end != '\0' || errno != 0 ||
			    v > (c == OPT_PRIORITY ? 99ul : 1000000ul)) {
				fprintf(stderr,
					"ttws-earbud-sim: --%s: '%s' is out of "
					"range\n",
					c == OPT_PRIORITY ? "priority" :
							    "spin-guard-us",
					optarg);
				return -EINVAL;
			}
			if (c == OPT_PRIORITY) {
				cli->priority = (int)v;
			} else {
				cli->spin_guard_us = (uint32_t)v;
			}
			break;
		}
		case 'h':
			usage(stdout);
			*ret_exit = true;
			return 0;
		case OPT_VERSION:
			printf("ttws-earbud-sim %s\n", TTWS_VERSION);
			*ret_exit = true;
			return 0;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ttws-earbud-sim: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	if (cli->mode == SIM_NONE) {
		fputs("ttws-earbud-sim: give a mode, --virtual or --pair "
		      "(--help for more)\n",
		      stderr);
		return -EINVAL;
	}
	if (cli->mode == SIM_REPORT) {
		if (!cli->render_log || !cli->frame_log) {
			fputs("ttws-earbud-sim: --report needs --render-log "
			      "FILE and --frame-log FILE\n",
			      stderr);
			return -EINVAL;
		}
		return 0;
	}
	if (cli->mode == SIM_PAIR &&
	    (!cli->path[SCENARIO_LEFT] || !cli->path[SCENARIO_RIGHT])) {
		fputs("ttws-earbud-sim: --pair needs --left PATH and --right "
		      "PATH\n",
		      stderr);
		return -EINVAL;
	}
	if (!cli->scenario_path) {
		fputs("ttws-earbud-sim: --scenario FILE is required\n", stderr);
		return -EINVAL;
	}
	r = scenario_load(cli->scenario_path, &cli->scenario, err,
			  sizeof(err));
	if (r < 0) {
		fprintf(stderr, "ttws-earbud-sim: %s\n", err);
		return r;
	}
	if (seed) {
		char *end;

		errno = 0;
		cli->scenario.seed = strtoull(seed, &end, 0);
		if (seed[0] == '-' || end == seed || *end != '\0' ||
		    errno != 0) {
			fprintf(stderr, "ttws-earbud-sim: --seed: '%s' is not "
					"an unsigned 64-bit integer\n",
				seed);
			return -EINVAL;
		}
	}
	return 0;
}

static int run_virtual(const struct sim_args *cli)
{
	struct simvirt_options opt;
	struct simvirt_result *res;
	int r;

	simvirt_options_default(&opt);
	opt.duration_s = cli->duration_s;
	opt.warmup_s = cli->warmup_s;
	opt.estimators = cli->estimators;
	opt.probe_every = cli->probe_every;

	/* Three ~30 KiB histograms: not for the stack. */
	res = calloc(1, sizeof(*res));
	if (!res) {
		fputs("ttws-earbud-sim: out of memory\n", stderr);
		return EXIT_FAILURE;
	}
	r = simvirt_run(&cli->scenario, &opt, res);
	if (r < 0) {
		fprintf(stderr, "ttws-earbud-sim: %s: run failed: %s\n",
			cli->scenario_path, strerror(-r));
		free(res);
		return EXIT_FAILURE;
	}
	if (cli->json) {
		simreport_json(stdout, res);
	} else {
		simreport_human(stdout, res);
	}
	free(res);
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int run_report(const struct sim_args *cli)
{
	struct report_result r;
	char err[512];

	if (report_compute(cli->render_log, cli->frame_log, cli->skip_frames,
			   &r, err, sizeof(err)) < 0) {
		fprintf(stderr, "ttws-earbud-sim: %s\n", err);
		return EXIT_FAILURE;
	}
	report_print(&r, cli->json);
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int run_live(const struct sim_args *cli)
{
	struct live_opts o = {
		.path = { cli->path[SCENARIO_LEFT], cli->path[SCENARIO_RIGHT] },
		.render_log = cli->render_log,
		.duration_s = cli->duration_s,
		.priority = cli->priority,
		.spin_guard_us = cli->spin_guard_us,
	};

	return live_run(&cli->scenario, &o);
}

int main(int argc, char **argv)
{
	struct sim_args cli = { 0 };
	bool done;

	if (parse_args(argc, argv, &cli, &done) < 0) {
		return 2;
	}
	if (done) {
		return EXIT_SUCCESS;
	}
	switch (cli.mode) {
	case SIM_VIRTUAL:
		return run_virtual(&cli);
	case SIM_PAIR:
		return run_live(&cli);
	case SIM_REPORT:
		return run_report(&cli);
	case SIM_NONE:
		break;
	}
	return 2;
}
