/* SPDX-License-Identifier: MIT */
/*
 * ttws-earbud-sim: a simulated true-wireless earbud pair (DESIGN.md, "The
 * earbud simulator"). One model (simclock, simlink), two modes, each one
 * file with one entry point; this file runs the mode the command line
 * (main_args.c) names:
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
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/main_args.h"
#include "sim/main_pairs.h"
#include "sim/scenario.h"
#include "sim/simreport.h"
#include "sim/simvirt.h"

#include "sim/audiocheck.h"
#include "sim/live.h"
#include "sim/report.h"
#include "sim/wav.h"


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

static int run_report_one(const struct sim_args *cli)
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

/* --report --pairs N / --pair-names: each pair from its own files. */
static int run_report(const struct sim_args *cli)
{
	const char *render[SIMPAIRS_MAX], *frame[SIMPAIRS_MAX];
	const char *names[SIMPAIRS_MAX];
	struct report_result r[SIMPAIRS_MAX], all;
	struct main_pairs_files *files;
	char err[512];
	unsigned i;
	int rc = EXIT_FAILURE;

	if (!cli->named) {
		return run_report_one(cli);
	}
	files = calloc(1, sizeof(*files));
	if (!files) {
		fputs("ttws-earbud-sim: out of memory\n", stderr);
		return EXIT_FAILURE;
	}
	if (main_pairs_files(cli, files, NULL) < 0) {
		goto out;
	}
	for (i = 0; i < cli->n_pairs; i++) {
		render[i] = files->pair[i].render_log;
		frame[i] = files->pair[i].frame_log;
		names[i] = cli->pair_name[i];
	}
	if (report_compute_pairs(cli->n_pairs, render, frame,
				 cli->skip_frames, r, &all, err,
				 sizeof(err)) < 0) {
		fprintf(stderr, "ttws-earbud-sim: %s\n", err);
		goto out;
	}
	report_print_pairs(cli->n_pairs, names, r, &all, cli->json);
	rc = fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
out:
	free(files);
	return rc;
}

/* --pair: each pair's files named (main_pairs.c), then live_run(). */
static int run_live(const struct sim_args *cli)
{
	struct live_pair_opts pairs[SIMPAIRS_MAX];
	struct main_pairs_files *files;
	struct live_opts o = {
		.pairs = pairs,
		.n_pairs = cli->n_pairs,
		.hci_server = cli->hci_server,
		.l2cap_psm = cli->l2cap_psm,
		.duration_s = cli->duration_s,
		.priority = cli->priority,
		.spin_guard_us = cli->spin_guard_us,
	};
	int rc = EXIT_FAILURE;

	files = calloc(1, sizeof(*files));
	if (!files) {
		fputs("ttws-earbud-sim: out of memory\n", stderr);
		return EXIT_FAILURE;
	}
	if (main_pairs_files(cli, files, pairs) == 0) {
		rc = live_run(&o);
	}
	free(files);
	return rc;
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

	if (main_args_parse(argc, argv, &cli, &done) < 0) {
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
