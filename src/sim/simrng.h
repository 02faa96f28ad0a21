/* SPDX-License-Identifier: MIT */
#ifndef TTWS_SIM_SIMRNG_H
#define TTWS_SIM_SIMRNG_H

/*
 * The simulator's pseudo-random numbers: xoshiro256** 1.0 seeded through
 * splitmix64, both by David Blackman and Sebastiano Vigna
 * (https://prng.di.unimi.it/, "Scrambled linear pseudorandom number
 * generators", ACM TOMS 47(4), 2021). Fast, 256 bits of state, and its
 * output depends only on the seed: a scenario replays bit for bit.
 *
 * Every simulated object owns its own generator, seeded from the scenario
 * seed and a stream number, so adding a draw in one object never shifts
 * the numbers another object sees.
 *
 * Pure: no syscalls, no globals, no allocation. The floating-point
 * transforms use libm (log, exp, sqrt, sin, cos), so "bit for bit" holds
 * for one build on one libm.
 */

#include <stdbool.h>
#include <stdint.h>

struct simrng {
	/* Private to simrng.c. */
	uint64_t s[4];
	double spare;     /* second Box-Muller deviate */
	bool have_spare;
};

/*
 * Seed r from (seed, stream): distinct streams of one seed give unrelated
 * sequences. Never fails: splitmix64 cannot produce the all-zero state.
 */
void simrng_seed(struct simrng *r, uint64_t seed, uint64_t stream);

/* Next 64 random bits. */
uint64_t simrng_next(struct simrng *r);

/* The first draw of stream `stream` of seed: a seed for one object and
 * purpose, derived from a scenario's one seed. */
uint64_t simrng_derive(uint64_t seed, uint64_t stream);

/* Uniform on [0, 1), 53 bits of resolution. */
double simrng_uniform(struct simrng *r);

/* Uniform integer on [0, n); 0 when n == 0. Bias below 2^-64 * n. */
uint64_t simrng_below(struct simrng *r, uint64_t n);

/* Exponential with the given mean (>= 0), by inversion. */
double simrng_exponential(struct simrng *r, double mean);

/* Standard normal N(0, 1), Box-Muller (the polar-free form). */
double simrng_normal(struct simrng *r);

/*
 * Lognormal scale * exp(0.5 Z - 0.125), Z standard normal: sigma 0.5 and
 * the mean equal to scale (E[exp(sZ)] = exp(s^2 / 2) = exp(0.125)), the
 * form pinned in DESIGN.md "The scenario model, pinned".
 */
double simrng_lognormal(struct simrng *r, double scale);

/*
 * Pareto (type I) with minimum xm > 0 and shape alpha > 0, by inversion:
 * xm / U^(1 / alpha), U uniform on (0, 1] (Devroye, "Non-Uniform Random
 * Variate Generation", 1986, II.2). P(X > x) = (xm / x)^alpha; the mean
 * is alpha xm / (alpha - 1) for alpha > 1, the variance infinite for
 * alpha <= 2.
 */
double simrng_pareto(struct simrng *r, double xm, double alpha);

#endif
