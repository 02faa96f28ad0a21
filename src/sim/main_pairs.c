/* SPDX-License-Identifier: MIT */
/*
 * The pairs of ttws-earbud-sim's command line (sim/main_pairs.h): how
 * many, their names, their scenarios and their files.
 */
#include "sim/main_pairs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int main_pairs_add_scenario(struct sim_args *cli, const char *path)
{
	if (cli->n_scenarios == SIMPAIRS_MAX) {
		fprintf(stderr, "ttws-earbud-sim: --scenario: at most %d, "
				"one per pair\n",
			SIMPAIRS_MAX);
		return -EINVAL;
	}
	if (cli->n_scenarios == 0) {
		cli->scenario_path = path;
	}
	cli->scenario_paths[cli->n_scenarios++] = path;
	return 0;
}

int main_pairs_names(struct sim_args *cli, const char *csv)
{
	int n = simpairs_names_parse(csv, cli->pair_name, SIMPAIRS_MAX);

	if (n < 0) {
		fprintf(stderr, "ttws-earbud-sim: --pair-names: '%s' is not "
				"1..%d distinct names of 1..%d characters "
				"[a-z0-9_-], comma-separated\n",
			csv, SIMPAIRS_MAX, SIMPAIRS_NAME_MAX);
		return -EINVAL;
	}
	cli->n_names = (unsigned)n;
	return 0;
}

/* What only --pair and --report take. */
static int main_pairs_check_mode(const struct sim_args *cli)
{
	bool pairs = cli->n_pairs || cli->n_names;

	if (cli->mode == SIM_PAIR || cli->mode == SIM_REPORT) {
		return 0;
	}
	if (pairs) {
		fputs("ttws-earbud-sim: --pairs and --pair-names are for "
		      "--pair and --report\n",
		      stderr);
		return -EINVAL;
	}
	if (cli->n_scenarios > 1) {
		fputs("ttws-earbud-sim: give --scenario once (one per pair "
		      "with --pair --pairs N)\n",
		      stderr);
		return -EINVAL;
	}
	return 0;
}

int main_pairs_check(struct sim_args *cli)
{
	unsigned i;
	int r;

	r = main_pairs_check_mode(cli);
	if (r < 0) {
		return r;
	}
	if (cli->n_pairs && cli->n_names && cli->n_pairs != cli->n_names) {
		fprintf(stderr, "ttws-earbud-sim: --pairs %u but %u names in "
				"--pair-names\n",
			cli->n_pairs, cli->n_names);
		return -EINVAL;
	}
	cli->named = cli->n_pairs > 1 || cli->n_names > 0;
	if (!cli->n_pairs) {
		cli->n_pairs = cli->n_names ? cli->n_names : 1;
	}
	if (!cli->n_names) {
		for (i = 0; i < cli->n_pairs; i++) {
			simpairs_default_name(i, cli->pair_name[i],
					      sizeof(cli->pair_name[i]));
		}
	}
	if (cli->mode != SIM_PAIR) {
		return 0;
	}
	if (cli->n_pairs > 1 && (cli->hci_server || cli->l2cap_psm)) {
		fprintf(stderr, "ttws-earbud-sim: --pairs %u: only the unix "
				"transport serves several pairs (--hci and "
				"--l2cap-psm serve one)\n",
			cli->n_pairs);
		return -EINVAL;
	}
	if (cli->n_scenarios > 1 && cli->n_scenarios != cli->n_pairs) {
		fprintf(stderr, "ttws-earbud-sim: %u --scenario files for %u "
				"pairs: give one, or one per pair\n",
			cli->n_scenarios, cli->n_pairs);
		return -EINVAL;
	}
	return 0;
}

int main_pairs_scenarios(struct sim_args *cli, bool seed_given)
{
	char err[512];
	unsigned i;
	int r;

	if (cli->n_scenarios <= 1) {
		for (i = 0; i < cli->n_pairs; i++) {
			simpairs_scenario(&cli->scenario, i,
					  &cli->pair_scenario[i]);
		}
		return 0;
	}
	cli->pair_scenario[0] = cli->scenario;
	for (i = 1; i < cli->n_scenarios; i++) {
		r = scenario_load(cli->scenario_paths[i],
				  &cli->pair_scenario[i], err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "ttws-earbud-sim: %s\n", err);
			return r;
		}
		if (seed_given) {
			cli->pair_scenario[i].seed = cli->scenario.seed;
		}
	}
	return 0;
}

/* How a path given on the command line becomes pair i's. */
enum main_pairs_kind {
	MAIN_PAIRS_FILE,    /* -NAME before the extension */
	MAIN_PAIRS_PREFIX,  /* -NAME at the end */
	MAIN_PAIRS_LITERAL, /* as given: a controller address */
};

/* path as given (an unnamed run, an address) or named for pair i, into
 * buf; NULL leaves buf empty. 0 or -ENAMETOOLONG with a message. */
static int main_pairs_one(const struct sim_args *cli, unsigned i,
			  const char *path, enum main_pairs_kind kind,
			  char *buf, size_t size)
{
	const char *name = cli->pair_name[i];
	int r = 0, n;

	buf[0] = '\0';
	if (!path) {
		return 0;
	}
	if (!cli->named || kind == MAIN_PAIRS_LITERAL) {
		n = snprintf(buf, size, "%s", path);
		r = n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
	} else if (kind == MAIN_PAIRS_PREFIX) {
		r = simpairs_prefix(path, name, buf, size);
	} else {
		r = simpairs_path(path, name, buf, size);
	}
	if (r < 0) {
		fprintf(stderr, "ttws-earbud-sim: %s: too long with the "
				"pair's name\n",
			path);
	}
	return r;
}

static const char *main_pairs_or_null(const char *s)
{
	return s[0] ? s : NULL;
}

int main_pairs_files(const struct sim_args *cli,
		     struct main_pairs_files *files,
		     struct live_pair_opts *ret_pairs)
{
	enum main_pairs_kind sock = cli->l2cap_psm ? MAIN_PAIRS_LITERAL :
						     MAIN_PAIRS_FILE;
	unsigned i, s;
	int r = 0;

	for (i = 0; i < cli->n_pairs && r == 0; i++) {
		struct main_pairs_file *f = &files->pair[i];

		for (s = 0; s < SCENARIO_SIDES && r == 0; s++) {
			r = main_pairs_one(cli, i, cli->path[s], sock,
					   f->path[s], sizeof(f->path[s]));
		}
		if (r == 0) {
			r = main_pairs_one(cli, i, cli->render_log,
					   MAIN_PAIRS_FILE, f->render_log,
					   sizeof(f->render_log));
		}
		if (r == 0) {
			r = main_pairs_one(cli, i, cli->frame_log,
					   MAIN_PAIRS_FILE, f->frame_log,
					   sizeof(f->frame_log));
		}
		if (r == 0) {
			r = main_pairs_one(cli, i, cli->wav_prefix,
					   MAIN_PAIRS_PREFIX, f->wav_prefix,
					   sizeof(f->wav_prefix));
		}
		if (r < 0 || !ret_pairs) {
			continue;
		}
		ret_pairs[i] = (struct live_pair_opts){
			.name = cli->pair_name[i],
			.scenario = &cli->pair_scenario[i],
			.path = { main_pairs_or_null(f->path[0]),
				  main_pairs_or_null(f->path[1]) },
			.render_log = main_pairs_or_null(f->render_log),
			.wav_prefix = main_pairs_or_null(f->wav_prefix),
		};
	}
	return r;
}
