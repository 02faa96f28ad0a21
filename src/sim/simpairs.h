/* SPDX-License-Identifier: MIT */
#ifndef TTWS_SIM_SIMPAIRS_H
#define TTWS_SIM_SIMPAIRS_H

/*
 * Several earbud pairs in one simulator (ttws-earbud-sim --pair --pairs
 * N): their names, the file of each pair derived from one path given on
 * the command line, and each pair's scenario derived from one scenario.
 *
 * File naming (the one scheme for sockets, render logs, frame logs and
 * WAV prefixes): when a run names its pairs, pair NAME's file is the path
 * given with "-NAME" inserted before the extension of its last component
 * (/run/x/left.sock -> /run/x/left-p1.sock, render.csv ->
 * render-p1.csv, /tmp/ear-left -> /tmp/ear-left-p1). A WAV prefix has
 * "-left.wav" appended after it, so it takes "-NAME" at its end.
 *
 * Crystals: pair 0 runs the scenario as it is (so a one-pair run is the
 * run it always was); pair k >= 1 runs it with its own seed,
 * simrng_derive(seed, SIMPAIRS_STREAM + k), and each of its crystals
 * (left, right, dongle) moved by a uniform draw in [-s, +s] ppm, s the
 * scenario's [run] pair_ppm_spread: pairs from one file differ in loss,
 * jitter, anchors and rates, as pairs of real earbuds do.
 *
 * Pure: no syscalls, no allocation.
 */

#include <stdbool.h>
#include <stddef.h>

#include "sim/scenario.h"

#define SIMPAIRS_MAX 8       /* ttwsd's CONF_MAX_PAIRS */
#define SIMPAIRS_NAME_MAX 31 /* ttwsd.conf's [pair.NAME] */
/* The stream of a scenario seed the pairs' seeds are drawn from, apart
 * from simear's (0x10..) and simvirt's (0x30). */
#define SIMPAIRS_STREAM 0x100

/* Whether name can name a pair: 1..31 of [a-z0-9_-], as ttwsd.conf's
 * [pair.NAME]. */
bool simpairs_name_valid(const char *name);

/*
 * Split the comma-separated list csv into ret_names (up to max names of
 * SIMPAIRS_NAME_MAX + 1 bytes each). Returns the count, or -EINVAL (an
 * empty or invalid name, a duplicate) or -E2BIG (more than max);
 * ret_names is then unspecified.
 */
int simpairs_names_parse(const char *csv,
			 char ret_names[][SIMPAIRS_NAME_MAX + 1],
			 unsigned max);

/* The default name of pair index: "p0", "p1", ... (buf >= 12 bytes). */
void simpairs_default_name(unsigned index, char *buf, size_t size);

/*
 * Pair name's file from path: "-name" inserted before the extension of
 * the last path component (a leading dot is not an extension). Returns 0,
 * or -ENAMETOOLONG when it does not fit in size bytes.
 */
int simpairs_path(const char *path, const char *name, char *buf,
		  size_t size);

/* The same for a prefix: path with "-name" appended. 0 or
 * -ENAMETOOLONG. */
int simpairs_prefix(const char *prefix, const char *name, char *buf,
		    size_t size);

/*
 * Pair index's scenario, from base (see above); index 0 is base itself.
 * A moved rate error stays within the scenario's range, [-1000, 1000]
 * ppm, with any ppm_step added.
 */
void simpairs_scenario(const struct scenario *base, unsigned index,
		       struct scenario *ret);

#endif
