/* SPDX-License-Identifier: MIT */
/*
 * ttws-earbud-sim's command line (sim/main_args.h): --help's text,
 * getopt_long over every mode's options, each option's value checked as
 * it comes, then what the chosen mode needs, and the scenario (with
 * --seed applied) loaded for --virtual and --pair.
 */
#include "sim/main_args.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/servo.h"
#include "sim/main_pairs.h"
#include "sim/simvirt.h"

/* getopt_long's values for the long options, past any short one. */
enum main_args_opt {
	OPT_VIRTUAL = 0x100,
	OPT_PAIR,
	OPT_SCENARIO,
	OPT_ESTIMATOR,
	OPT_DURATION,
	OPT_WARMUP,
	OPT_SEED,
	OPT_PROBE_EVERY,
	OPT_FIXED_DELAY,
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
	OPT_HCI,
	OPT_L2CAP,
	OPT_WAV_PREFIX,
	OPT_GEN_AUDIO,
	OPT_COMPARE_AUDIO,
	OPT_INPUT,
	OPT_PAIRS,
	OPT_PAIR_NAMES,
};

static const struct option main_args_options[] = {
	{ "virtual", no_argument, NULL, OPT_VIRTUAL },
	{ "pair", no_argument, NULL, OPT_PAIR },
	{ "scenario", required_argument, NULL, OPT_SCENARIO },
	{ "estimator", required_argument, NULL, OPT_ESTIMATOR },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "probe-every", required_argument, NULL, OPT_PROBE_EVERY },
	{ "fixed-delay-ms", required_argument, NULL, OPT_FIXED_DELAY },
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
	{ "hci", required_argument, NULL, OPT_HCI },
	{ "l2cap-psm", required_argument, NULL, OPT_L2CAP },
	{ "wav-prefix", required_argument, NULL, OPT_WAV_PREFIX },
	{ "gen-audio", required_argument, NULL, OPT_GEN_AUDIO },
	{ "compare-audio", no_argument, NULL, OPT_COMPARE_AUDIO },
	{ "input", required_argument, NULL, OPT_INPUT },
	{ "pairs", required_argument, NULL, OPT_PAIRS },
	{ "pair-names", required_argument, NULL, OPT_PAIR_NAMES },
	{ 0 },
};

static void main_args_usage(FILE *f)
{
	fputs("Usage: ttws-earbud-sim --virtual --scenario FILE [OPTIONS]\n"
	      "       ttws-earbud-sim --pair --scenario FILE [--pairs N] "
	      "[OPTIONS]\n"
	      "       ttws-earbud-sim --report --render-log FILE --frame-log "
	      "FILE [--skip-frames N]\n"
	      "                       [--pairs N] [--pair-names A,B] "
	      "[--json]\n"
	      "       ttws-earbud-sim --gen-audio FILE [--duration S]\n"
	      "       ttws-earbud-sim --compare-audio --input FILE "
	      "--wav-prefix PATH [--json]\n"
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
	      "  --estimator NAME       naive, median-iir, ttws, lucky-pi or "
	      "all (default all)\n"
	      "  --duration S           seconds of audio (default: the "
	      "scenario's)\n"
	      "  --warmup S             leave the first S seconds out of "
	      "the metrics\n"
	      "                         (default 2: the initial lock)\n"
	      "  --seed N               override the scenario's seed\n"
	      "  --probe-every N        a timing request at least every N "
	      "connection\n"
	      "                         events, 1..3 (default 0: ttwsd's, "
	      "3)\n"
	      "  --fixed-delay-ms X     a fixed presentation delay of X ms, "
	      "(0, 2000]\n"
	      "                         (default: ttwsd's adaptive delay)\n"
	      "  --json                 one JSON line instead of the report\n"
	      "\n"
	      "Live mode (--pair):\n"
	      "  --left PATH, --right PATH\n"
	      "                         listening sockets of the two earbuds;\n"
	      "                         give one to serve that earbud only\n"
	      "  --l2cap-psm PSM        --left/--right are the earbuds' "
	      "controller addresses:\n"
	      "                         listen on this LE PSM through the "
	      "kernel's BlueZ stack\n"
	      "  --hci SOCKET           instead: each earbud an LE peripheral "
	      "on its own\n"
	      "                         emulated controller (btvirt -s's "
	      "/tmp/bt-server-le)\n"
	      "  --render-log FILE      CSV of every render, with its true "
	      "host instant\n"
	      "  --wav-prefix PATH      decode every frame; what each earbud "
	      "played in\n"
	      "                         PATH-left.wav and PATH-right.wav "
	      "(frame n at\n"
	      "                         sample n x frame samples)\n"
	      "  --priority N           SCHED_FIFO priority (default none)\n"
	      "  --spin-guard-us N      spin the last N us before a reply "
	      "instant\n"
	      "  --pairs N              serve N pairs, 1..8 (unix transport "
	      "only); pair NAME's\n"
	      "                         sockets, render log and WAV files are "
	      "the paths given\n"
	      "                         with -NAME before their extension "
	      "(left.sock:\n"
	      "                         left-p0.sock, left-p1.sock, ...)\n"
	      "  --pair-names A,B,...   the pairs' names (default p0, p1, "
	      "...; [a-z0-9_-])\n"
	      "  --scenario FILE        once (pair k >= 1 then with its own "
	      "seed and crystals,\n"
	      "                         [run] pair_ppm_spread), or once per "
	      "pair\n"
	      "\n"
	      "Report mode (--report): --render-log FILE --frame-log FILE "
	      "[--skip-frames N];\n"
	      "with --pairs N or --pair-names, each pair's from its own "
	      "files (as named above)\n"
	      "and all pairs together\n"
	      "\n"
	      "Audio (--gen-audio FILE): a 48 kHz stereo test file, S seconds "
	      "(default 2)\n"
	      "of a tone per channel (440/660 Hz) with alignment chirps, "
	      "padded with\n"
	      "silence. --compare-audio --input FILE --wav-prefix PATH: per "
	      "ear the\n"
	      "correlation with its input channel, the lag, the samples that "
	      "differ, and\n"
	      "the lag between the ears' outputs.\n"
	      "\n"
	      "Options for all:\n"
	      "  -h, --help             this text\n"
	      "  --version              print the version\n",
	      f);
}

static int main_args_double(const char *name, const char *s, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v < 0) {
		fprintf(stderr, "ttws-earbud-sim: %s: '%s' is not a "
				"non-negative number\n",
			name, s);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

/* --virtual, --pair, --report, --gen-audio FILE, --compare-audio: one
 * only. */
static int main_args_mode(int c, const char *arg, struct sim_args *cli)
{
	if (cli->mode != SIM_NONE) {
		fputs("ttws-earbud-sim: give one of --virtual, "
		      "--pair, --report, --gen-audio and "
		      "--compare-audio\n",
		      stderr);
		return -EINVAL;
	}
	if (c == OPT_VIRTUAL) {
		cli->mode = SIM_VIRTUAL;
	} else if (c == OPT_PAIR) {
		cli->mode = SIM_PAIR;
	} else if (c == OPT_REPORT) {
		cli->mode = SIM_REPORT;
	} else if (c == OPT_GEN_AUDIO) {
		cli->mode = SIM_GEN_AUDIO;
		cli->audio_file = arg;
	} else {
		cli->mode = SIM_COMPARE_AUDIO;
	}
	return 0;
}

/* --l2cap-psm: an LE PSM, 1..0xff (strtoul base 0: decimal, 0x hex). */
static int main_args_psm(const char *arg, uint16_t *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 0);
	if (*end != '\0' || errno != 0 || v == 0 || v > 0xff) {
		fprintf(stderr, "ttws-earbud-sim: --l2cap-psm: "
				"'%s' is not an LE PSM "
				"(1..0xff)\n",
			arg);
		return -EINVAL;
	}
	*ret = (uint16_t)v;
	return 0;
}

/* --skip-frames: a decimal count. */
static int main_args_count(const char *arg, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (!isdigit((unsigned char)arg[0]) || *end != '\0' || errno != 0) {
		fprintf(stderr, "ttws-earbud-sim: "
				"--skip-frames: '%s' is not a "
				"count\n",
			arg);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

/* --estimator: one kind, or "all": all_mask (simvirt's default set). */
static int main_args_estimator(const char *arg, unsigned all_mask,
			       unsigned *ret)
{
	enum servo_kind k;

	if (strcmp(arg, "all") == 0) {
		*ret = all_mask;
	} else if (servo_kind_from_string(arg, &k) == 0) {
		*ret = 1u << k;
	} else {
		fprintf(stderr,
			"ttws-earbud-sim: --estimator: '%s' is "
			"not naive, median-iir, ttws, lucky-pi "
			"or all\n",
			arg);
		return -EINVAL;
	}
	return 0;
}

/* --priority, --spin-guard-us and --pairs (name, without the dashes): a
 * decimal integer, 0..max. */
static int main_args_bounded(const char *name, const char *arg,
			     unsigned long max, unsigned long *ret)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (!isdigit((unsigned char)arg[0]) || *end != '\0' || errno != 0 ||
	    v > max) {
		fprintf(stderr,
			"ttws-earbud-sim: --%s: '%s' is out of "
			"range\n",
			name, arg);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

/* --duration: seconds, (0, 1e6]. */
static int main_args_duration(const char *arg, double *ret)
{
	double v;
	int r;

	r = main_args_double("--duration", arg, &v);
	if (r < 0) {
		return r;
	}
	if (v <= 0 || v > 1e6) {
		fputs("ttws-earbud-sim: --duration must be in "
		      "(0, 1e6] s\n",
		      stderr);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

/* --fixed-delay-ms: simvirt_run()'s range, (0, 2000] ms; 0 would mean
 * adaptive. */
static int main_args_fixed_delay(const char *arg, double *ret)
{
	double v;
	int r;

	r = main_args_double("--fixed-delay-ms", arg, &v);
	if (r < 0) {
		return r;
	}
	if (v <= 0 || v > 2000) {
		fputs("ttws-earbud-sim: --fixed-delay-ms must "
		      "be in (0, 2000] ms\n",
		      stderr);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

/* --probe-every: 0 (ttwsd's default), 1, 2 or 3 connection events. */
static int main_args_probe_every(const char *arg, uint32_t *ret)
{
	if (strlen(arg) != 1 || arg[0] < '0' || arg[0] > '3') {
		fputs("ttws-earbud-sim: --probe-every must be "
		      "0 (ttwsd's default), 1, 2 or 3\n",
		      stderr);
		return -EINVAL;
	}
	*ret = (uint32_t)(arg[0] - '0');
	return 0;
}

/*
 * One option c (getopt_long's value) with its argument arg, into cli;
 * --seed only noted in *seed (applied once the scenario is loaded).
 * all_mask: the estimators of --estimator all.
 */
static int main_args_option(int c, const char *arg, unsigned all_mask,
			    struct sim_args *cli, const char **seed)
{
	unsigned long v;
	int r;

	switch (c) {
	case OPT_VIRTUAL:
	case OPT_PAIR:
	case OPT_REPORT:
	case OPT_GEN_AUDIO:
	case OPT_COMPARE_AUDIO:
		return main_args_mode(c, arg, cli);
	case OPT_WAV_PREFIX:
		cli->wav_prefix = arg;
		return 0;
	case OPT_INPUT:
		cli->audio_file = arg;
		return 0;
	case OPT_FRAME_LOG:
		cli->frame_log = arg;
		return 0;
	case OPT_HCI:
		cli->hci_server = arg;
		return 0;
	case OPT_L2CAP:
		return main_args_psm(arg, &cli->l2cap_psm);
	case OPT_SKIP_FRAMES:
		return main_args_count(arg, &cli->skip_frames);
	case OPT_SCENARIO:
		return main_pairs_add_scenario(cli, arg);
	case OPT_PAIRS:
		r = main_args_bounded("pairs", arg, SIMPAIRS_MAX, &v);
		if (r == 0 && v == 0) {
			fprintf(stderr, "ttws-earbud-sim: --pairs: 1..%d\n",
				SIMPAIRS_MAX);
			r = -EINVAL;
		}
		if (r == 0) {
			cli->n_pairs = (unsigned)v;
		}
		return r;
	case OPT_PAIR_NAMES:
		return main_pairs_names(cli, arg);
	case OPT_ESTIMATOR:
		return main_args_estimator(arg, all_mask, &cli->estimators);
	case OPT_DURATION:
		return main_args_duration(arg, &cli->duration_s);
	case OPT_WARMUP:
		return main_args_double("--warmup", arg, &cli->warmup_s);
	case OPT_SEED:
		*seed = arg;
		return 0;
	case OPT_PROBE_EVERY:
		return main_args_probe_every(arg, &cli->probe_every);
	case OPT_FIXED_DELAY:
		return main_args_fixed_delay(arg, &cli->fixed_delay_ms);
	case OPT_JSON:
		cli->json = true;
		return 0;
	case OPT_LEFT:
		cli->path[SCENARIO_LEFT] = arg;
		return 0;
	case OPT_RIGHT:
		cli->path[SCENARIO_RIGHT] = arg;
		return 0;
	case OPT_RENDER_LOG:
		cli->render_log = arg;
		return 0;
	case OPT_PRIORITY:
		r = main_args_bounded("priority", arg, 99ul, &v);
		if (r == 0) {
			cli->priority = (int)v;
		}
		return r;
	case OPT_SPIN_GUARD:
		r = main_args_bounded("spin-guard-us", arg, 1000000ul, &v);
		if (r == 0) {
			cli->spin_guard_us = (uint32_t)v;
		}
		return r;
	default:
		/* getopt_long's '?': it said what, we say how. */
		main_args_usage(stderr);
		return -EINVAL;
	}
}

/* --seed N: an unsigned 64-bit integer (strtoull base 0). */
static int main_args_seed(const char *seed, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(seed, &end, 0);
	if (seed[0] == '-' || end == seed || *end != '\0' || errno != 0) {
		fprintf(stderr, "ttws-earbud-sim: --seed: '%s' is not "
				"an unsigned 64-bit integer\n",
			seed);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

/* What the chosen mode needs; for --virtual and --pair, the scenario,
 * loaded, with --seed (or NULL) applied. */
static int main_args_check(struct sim_args *cli, const char *seed)
{
	char err[512];
	int r;

	if (cli->mode == SIM_NONE) {
		fputs("ttws-earbud-sim: give a mode, --virtual or --pair "
		      "(--help for more)\n",
		      stderr);
		return -EINVAL;
	}
	r = main_pairs_check(cli);
	if (r < 0) {
		return r;
	}
	if (cli->mode == SIM_GEN_AUDIO) {
		return 0;
	}
	if (cli->mode == SIM_COMPARE_AUDIO) {
		if (!cli->audio_file || !cli->wav_prefix) {
			fputs("ttws-earbud-sim: --compare-audio needs --input "
			      "FILE and --wav-prefix PATH\n",
			      stderr);
			return -EINVAL;
		}
		return 0;
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
	if (cli->mode == SIM_PAIR && !cli->hci_server &&
	    !cli->path[SCENARIO_LEFT] && !cli->path[SCENARIO_RIGHT]) {
		fputs("ttws-earbud-sim: --pair needs --left PATH and/or "
		      "--right PATH, or --hci SOCKET\n",
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
		r = main_args_seed(seed, &cli->scenario.seed);
		if (r < 0) {
			return r;
		}
	}
	if (cli->mode == SIM_PAIR) {
		return main_pairs_scenarios(cli, seed != NULL);
	}
	return 0;
}

int main_args_parse(int argc, char **argv, struct sim_args *cli,
		    bool *ret_exit)
{
	struct simvirt_options def;
	const char *seed = NULL;
	int c, r;

	simvirt_options_default(&def);
	cli->estimators = def.estimators;
	cli->warmup_s = def.warmup_s;
	cli->probe_every = def.probe_every;
	cli->n_pairs = 0; /* not given: main_pairs_check() makes it 1 */
	*ret_exit = false;

	while ((c = getopt_long(argc, argv, "h", main_args_options, NULL)) >=
	       0) {
		if (c == 'h') {
			main_args_usage(stdout);
			*ret_exit = true;
			return 0;
		}
		if (c == OPT_VERSION) {
			printf("ttws-earbud-sim %s\n", TTWS_VERSION);
			*ret_exit = true;
			return 0;
		}
		r = main_args_option(c, optarg, def.estimators, cli, &seed);
		if (r < 0) {
			return r;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ttws-earbud-sim: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	return main_args_check(cli, seed);
}
