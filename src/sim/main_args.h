/* SPDX-License-Identifier: MIT */
#ifndef TTWS_SIM_MAIN_ARGS_H
#define TTWS_SIM_MAIN_ARGS_H

/*
 * ttws-earbud-sim's command line (main_args.c), for main.c, which runs
 * the mode it names. Not a library interface: messages go to stderr.
 */

#include <stdbool.h>
#include <stdint.h>

#include "sim/scenario.h"
#include "sim/simpairs.h"

enum sim_mode {
	SIM_NONE = 0,
	SIM_VIRTUAL,
	SIM_PAIR,
	SIM_REPORT,
	SIM_GEN_AUDIO,
	SIM_COMPARE_AUDIO,
};

/* The command line, for every mode. Strings point into argv. */
struct sim_args {
	enum sim_mode mode;
	const char *scenario_path; /* the first --scenario */
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
	/*
	 * Several pairs (--pair and --report; main_pairs.c). n_pairs is 1
	 * unless --pairs or --pair-names says otherwise. named: the run
	 * names its pairs (--pairs above 1, or --pair-names), so every
	 * per-pair file carries the pair's name (sim/simpairs.h).
	 */
	unsigned n_pairs;
	unsigned n_names; /* --pair-names given: how many */
	bool named;
	char pair_name[SIMPAIRS_MAX][SIMPAIRS_NAME_MAX + 1];
	const char *scenario_paths[SIMPAIRS_MAX]; /* each --scenario */
	unsigned n_scenarios;
	/* --pair: each pair's scenario (--seed applied, then derived per
	 * pair from one file, or one file per pair). */
	struct scenario pair_scenario[SIMPAIRS_MAX];
};

/*
 * Parse argv into *cli (zeroed by the caller) and, for --virtual and
 * --pair, load the scenario. --help and --version print and set
 * *ret_exit (return 0, nothing to run). Returns 0, or -EINVAL (or
 * scenario_load()'s error) with a message on stderr.
 */
int main_args_parse(int argc, char **argv, struct sim_args *cli,
		    bool *ret_exit);

#endif
