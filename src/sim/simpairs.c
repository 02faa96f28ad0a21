/* SPDX-License-Identifier: MIT */
/*
 * Several earbud pairs from one command line (sim/simpairs.h): names,
 * per-pair file names, per-pair scenarios.
 */
#include "sim/simpairs.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/macro.h"
#include "sim/simrng.h"

#define SIMPAIRS_PPM_MAX 1000.0 /* the scenario's range for a crystal */

bool simpairs_name_valid(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > SIMPAIRS_NAME_MAX) {
		return false;
	}
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-')) {
			return false;
		}
	}
	return true;
}

int simpairs_names_parse(const char *csv,
			 char ret_names[][SIMPAIRS_NAME_MAX + 1],
			 unsigned max)
{
	const char *p = csv;
	unsigned n = 0, i;

	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (n == max) {
			return -E2BIG;
		}
		if (len == 0 || len > SIMPAIRS_NAME_MAX) {
			return -EINVAL;
		}
		memcpy(ret_names[n], p, len);
		ret_names[n][len] = '\0';
		if (!simpairs_name_valid(ret_names[n])) {
			return -EINVAL;
		}
		for (i = 0; i < n; i++) {
			if (strcmp(ret_names[i], ret_names[n]) == 0) {
				return -EINVAL;
			}
		}
		n++;
		if (!end) {
			return (int)n;
		}
		p = end + 1;
	}
}

void simpairs_default_name(unsigned index, char *buf, size_t size)
{
	snprintf(buf, size, "p%u", index);
}

int simpairs_path(const char *path, const char *name, char *buf,
		  size_t size)
{
	const char *base = strrchr(path, '/');
	const char *dot;
	size_t stem;
	int n;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	stem = dot && dot != base ? (size_t)(dot - path) : strlen(path);
	if (stem > INT32_MAX) {
		return -ENAMETOOLONG;
	}
	n = snprintf(buf, size, "%.*s-%s%s", (int)stem, path, name,
		     path + stem);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int simpairs_prefix(const char *prefix, const char *name, char *buf,
		    size_t size)
{
	int n = snprintf(buf, size, "%s-%s", prefix, name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* ppm moved by d, kept where the scenario's checks would keep it:
 * |ppm| <= 1000 and |ppm + step| <= 1000. */
static double simpairs_move(double ppm, double step, double d)
{
	double lo = MAX(-SIMPAIRS_PPM_MAX, -SIMPAIRS_PPM_MAX - step);
	double hi = MIN(SIMPAIRS_PPM_MAX, SIMPAIRS_PPM_MAX - step);
	double v = ppm + d;

	return v < lo ? lo : v > hi ? hi : v;
}

void simpairs_scenario(const struct scenario *base, unsigned index,
		       struct scenario *ret)
{
	double s = base->pair_ppm_spread;
	struct simrng r;
	int i;

	*ret = *base;
	if (index == 0) {
		return;
	}
	ret->seed = simrng_derive(base->seed, SIMPAIRS_STREAM + index);
	/* The rates from a stream of the pair's seed that nothing else
	 * draws from (simear derives 0x10.., simvirt 0x30). */
	simrng_seed(&r, ret->seed, 0);
	for (i = 0; i < SCENARIO_SIDES; i++) {
		struct scenario_ear *e = &ret->ear[i];

		e->ppm = simpairs_move(e->ppm, e->ppm_step,
				       (2.0 * simrng_uniform(&r) - 1.0) * s);
	}
	ret->dongle_ppm = simpairs_move(ret->dongle_ppm, 0.0,
					(2.0 * simrng_uniform(&r) - 1.0) * s);
}
