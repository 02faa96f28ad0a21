/* SPDX-License-Identifier: MIT */
#ifndef TTWS_SIM_MAIN_PAIRS_H
#define TTWS_SIM_MAIN_PAIRS_H

/*
 * The pairs of ttws-earbud-sim's command line (main_pairs.c), for
 * main_args.c and main.c: --pairs, --pair-names and repeated --scenario
 * checked against the mode and the transport, each pair's scenario, and
 * each pair's files named by sim/simpairs.h's scheme. Not a library
 * interface: messages go to stderr.
 */

#include <stdbool.h>

#include "sim/live.h"
#include "sim/main_args.h"
#include "sim/simpairs.h"

#define MAIN_PAIRS_PATH 4096

/* A --scenario FILE (one per pair at most). 0 or -EINVAL. */
int main_pairs_add_scenario(struct sim_args *cli, const char *path);

/* --pair-names A,B,...: 0 or -EINVAL. */
int main_pairs_names(struct sim_args *cli, const char *csv);

/*
 * Once every option is in: the pairs' count, names and whether files
 * carry them; --pairs, --pair-names and a second --scenario refused
 * where they mean nothing (modes other than --pair and --report, more
 * than one pair over --hci or --l2cap-psm, counts that disagree).
 * 0 or -EINVAL.
 */
int main_pairs_check(struct sim_args *cli);

/*
 * --pair: each pair's scenario into cli->pair_scenario, from
 * cli->scenario (already loaded, --seed applied) or, with one --scenario
 * per pair, from each file (seed_given: cli->scenario.seed is --seed's,
 * for every file). 0, or scenario_load()'s error with a message.
 */
int main_pairs_scenarios(struct sim_args *cli, bool seed_given);

/* One pair's files: the command line's paths, named for the pair; ""
 * where the command line gave none. */
struct main_pairs_file {
	char path[SCENARIO_SIDES][MAIN_PAIRS_PATH];
	char render_log[MAIN_PAIRS_PATH];
	char frame_log[MAIN_PAIRS_PATH];
	char wav_prefix[MAIN_PAIRS_PATH];
};

struct main_pairs_files {
	struct main_pairs_file pair[SIMPAIRS_MAX];
};

/*
 * Fill *files (the caller's, ~160 KiB: not for the stack) and, for
 * --pair, ret_pairs[cli->n_pairs] pointing into it and into cli. Paths
 * the command line did not give stay NULL in ret_pairs (ret_pairs may be
 * NULL for --report). 0, or -ENAMETOOLONG with a message.
 */
int main_pairs_files(const struct sim_args *cli,
		     struct main_pairs_files *files,
		     struct live_pair_opts *ret_pairs);

#endif
