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
 *              from the render log and ttwsd's frame log;
 *   --gen-audio, --compare-audio (sim/audiocheck): the stereo test file
 *              to play into ttws.sink, and what the earbuds played (the
 *              live mode's --wav-prefix files) against it.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/servo.h"
#include "sim/scenario.h"
#include "sim/simreport.h"
#include "sim/simvirt.h"

#include "sim/audiocheck.h"
#include "sim/live.h"
#include "sim/report.h"
#include "sim/wav.h"

enum sim_mode {
	SIM_NONE = 0,
	SIM_VIRTUAL,
	SIM_PAIR,
	SIM_REPORT,
	SIM_GEN_AUDIO,
	SIM_COMPARE_AUDIO,
};

/* The command line, for every mode. */
struct sim_args {
	enum sim_mode mode;
	const char *scenario_path;
	struct scenario scenario; /* loaded, --seed applied */
	unsigned estimators;      /* bit (1 << enum servo_kind) each */
	double duration_s;        /* 0: the scenario's (virtual) or forever */
	double warmup_s;
	uint32_t probe_every;     /* 0: ttwsd's default */
	double fixed_delay_ms;    /* 0: ttwsd's adaptive delay */
	bool json;
	/* Live mode. */
	const char *path[SCENARIO_SIDES];
	const char *render_log;
	const char *hci_server;
	uint16_t l2cap_psm;
	int priority;
	uint32_t spin_guard_us;
	/* Report mode. */
	const char *frame_log;
	uint64_t skip_frames;
	/* Live and audio modes. */
	const char *wav_prefix;
	const char *audio_file;   /* --gen-audio FILE, --input FILE */
};

static void usage(FILE *f)
{
	fputs("Usage: ttws-earbud-sim --virtual --scenario FILE [OPTIONS]\n"
	      "       ttws-earbud-sim --pair --scenario FILE [OPTIONS]\n"
	      "       ttws-earbud-sim --report --render-log FILE --frame-log "
	      "FILE [--skip-frames N] [--json]\n"
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
	      "\n"
	      "Report mode (--report): --render-log FILE --frame-log FILE "
	      "[--skip-frames N]\n"
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

static int parse_double_arg(const char *name, const char *s, double *ret)
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
		case OPT_GEN_AUDIO:
		case OPT_COMPARE_AUDIO:
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
				cli->audio_file = optarg;
			} else {
				cli->mode = SIM_COMPARE_AUDIO;
			}
			break;
		case OPT_WAV_PREFIX:
			cli->wav_prefix = optarg;
			break;
		case OPT_INPUT:
			cli->audio_file = optarg;
			break;
		case OPT_FRAME_LOG:
			cli->frame_log = optarg;
			break;
		case OPT_HCI:
			cli->hci_server = optarg;
			break;
		case OPT_L2CAP: {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 0);
			if (*end != '\0' || errno != 0 || v == 0 || v > 0xff) {
				fprintf(stderr, "ttws-earbud-sim: --l2cap-psm: "
						"'%s' is not an LE PSM "
						"(1..0xff)\n",
					optarg);
				return -EINVAL;
			}
			cli->l2cap_psm = (uint16_t)v;
			break;
		}
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
					"not naive, median-iir, ttws, lucky-pi "
					"or all\n",
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
			if (strlen(optarg) != 1 || optarg[0] < '0' ||
			    optarg[0] > '3') {
				fputs("ttws-earbud-sim: --probe-every must be "
				      "0 (ttwsd's default), 1, 2 or 3\n",
				      stderr);
				return -EINVAL;
			}
			cli->probe_every = (uint32_t)(optarg[0] - '0');
			break;
		case OPT_FIXED_DELAY:
			r = parse_double_arg("--fixed-delay-ms", optarg,
					     &cli->fixed_delay_ms);
			if (r < 0) {
				return r;
			}
			/* simvirt_run()'s range; 0 would mean adaptive. */
			if (cli->fixed_delay_ms <= 0 ||
			    cli->fixed_delay_ms > 2000) {
				fputs("ttws-earbud-sim: --fixed-delay-ms must "
				      "be in (0, 2000] ms\n",
				      stderr);
				return -EINVAL;
			}
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
	opt.fixed_delay_ms = cli->fixed_delay_ms;

	/* Two ~30 KiB histograms per estimator: not for the stack. */
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
		.wav_prefix = cli->wav_prefix,
		.hci_server = cli->hci_server,
		.l2cap_psm = cli->l2cap_psm,
		.duration_s = cli->duration_s,
		.priority = cli->priority,
		.spin_guard_us = cli->spin_guard_us,
	};

	return live_run(&cli->scenario, &o);
}

/* The stimulus for ttws.sink: --duration S (default 2) of signal, a
 * quarter second of silence before and half a second after. */
static int run_gen_audio(const struct sim_args *cli)
{
	double secs = cli->duration_s > 0 ? cli->duration_s : 2.0;
	struct wav *w = NULL;
	int16_t *pcm;
	size_t n;
	int r;

	r = audiocheck_generate(secs, 0.25, 0.5, &pcm, &n);
	if (r == 0) {
		r = wav_create(cli->audio_file, AUDIOCHECK_RATE, 2, &w);
	}
	if (r == 0) {
		r = wav_write(w, pcm, n);
		if (wav_close(w) < 0 && r == 0) {
			r = -EIO;
		}
	}
	free(pcm);
	if (r < 0) {
		fprintf(stderr, "ttws-earbud-sim: %s: %s\n", cli->audio_file,
			strerror(-r));
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

static int run_compare_audio(const struct sim_args *cli)
{
	static const char *const side[2] = { "left", "right" };
	struct audiocheck_result res;
	int16_t *in = NULL, *out[2] = { NULL, NULL };
	size_t in_n, out_n[2];
	uint16_t ch;
	uint32_t rate;
	char path[4096];
	int r, i, rc = EXIT_FAILURE;

	r = wav_read(cli->audio_file, &in, &in_n, &ch, &rate);
	if (r < 0 || ch != 2 || rate != AUDIOCHECK_RATE) {
		fprintf(stderr, "ttws-earbud-sim: %s: %s\n", cli->audio_file,
			r < 0 ? strerror(-r) : "not 48 kHz stereo");
		goto out;
	}
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s-%s.wav", cli->wav_prefix,
			 side[i]);
		r = wav_read(path, &out[i], &out_n[i], &ch, &rate);
		if (r < 0 || ch != 1 || rate != AUDIOCHECK_RATE) {
			fprintf(stderr, "ttws-earbud-sim: %s: %s\n", path,
				r < 0 ? strerror(-r) : "not 48 kHz mono");
			goto out;
		}
	}
	r = audiocheck_compare(in, in_n, (const int16_t *const *)out, out_n,
			       &res);
	if (r < 0) {
		fprintf(stderr, "ttws-earbud-sim: %s holds no signal\n",
			cli->audio_file);
		goto out;
	}
	for (i = 0; i < 2; i++) {
		const struct audiocheck_ear *e = &res.ear[i];

		printf("  %-5s ear: %s, correlation %.4f with its channel, "
		       "%.4f with the other; lag %" PRId64 " samples; %" PRIu64
		       " of %" PRIu64 " samples differ, %" PRIu64
		       " of inserted silence; %" PRIu64 " slips (lag moved by "
		       "at most %" PRId64 "), %" PRIu64 " resyncs\n",
		       side[i], e->found ? "aligned" : "NOT FOUND", e->corr,
		       e->cross_corr, e->lag, e->mismatches, e->compared,
		       e->inserted_silence, e->slips, e->max_lag_drift,
		       e->resyncs);
	}
	printf("  lag between the ears' outputs: %" PRId64
	       " samples at the opening chirp; per 0.5 s period at most "
	       "%.3f, %.3f on average over %" PRIu64 " periods\n",
	       res.inter_ear_lag, res.inter_ear_lag_max_mean,
	       res.inter_ear_lag_mean, res.inter_ear_periods);
	if (cli->json) {
		printf("{\"left_corr\":%.6f,\"right_corr\":%.6f"
		       ",\"inter_ear_lag_samples\":%" PRId64
		       ",\"left_found\":%s,\"right_found\":%s"
		       ",\"left_cross_corr\":%.6f,\"right_cross_corr\":%.6f"
		       ",\"left_lag\":%" PRId64 ",\"right_lag\":%" PRId64
		       ",\"left_mismatches\":%" PRIu64
		       ",\"right_mismatches\":%" PRIu64
		       ",\"left_compared\":%" PRIu64
		       ",\"right_compared\":%" PRIu64
		       ",\"inserted_silence\":%" PRIu64
		       ",\"left_slips\":%" PRIu64 ",\"right_slips\":%" PRIu64
		       ",\"left_max_lag_drift\":%" PRId64
		       ",\"right_max_lag_drift\":%" PRId64
		       ",\"left_resyncs\":%" PRIu64
		       ",\"right_resyncs\":%" PRIu64
		       ",\"inter_ear_lag_max\":%" PRId64
		       ",\"inter_ear_lag_max_mean\":%.4f"
		       ",\"inter_ear_lag_mean\":%.4f"
		       ",\"inter_ear_periods\":%" PRIu64 "}\n",
		       res.ear[0].corr, res.ear[1].corr, res.inter_ear_lag,
		       res.ear[0].found ? "true" : "false",
		       res.ear[1].found ? "true" : "false",
		       res.ear[0].cross_corr, res.ear[1].cross_corr,
		       res.ear[0].lag, res.ear[1].lag, res.ear[0].mismatches,
		       res.ear[1].mismatches, res.ear[0].compared,
		       res.ear[1].compared,
		       res.ear[0].inserted_silence +
			       res.ear[1].inserted_silence,
		       res.ear[0].slips, res.ear[1].slips,
		       res.ear[0].max_lag_drift, res.ear[1].max_lag_drift,
		       res.ear[0].resyncs, res.ear[1].resyncs,
		       res.inter_ear_lag_max, res.inter_ear_lag_max_mean,
		       res.inter_ear_lag_mean, res.inter_ear_periods);
	}
	rc = fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
out:
	free(in);
	free(out[0]);
	free(out[1]);
	return rc;
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
	case SIM_GEN_AUDIO:
		return run_gen_audio(&cli);
	case SIM_COMPARE_AUDIO:
		return run_compare_audio(&cli);
	case SIM_NONE:
		break;
	}
	return 2;
}
