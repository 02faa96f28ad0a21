/* SPDX-License-Identifier: MIT */
#include <math.h>

#include "sim/simrng.h"

static uint64_t splitmix64(uint64_t *x)
{
	/* splitmix64.c, Vigna 2015: the recommended xoshiro seeder. */
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void simrng_seed(struct simrng *r, uint64_t seed, uint64_t stream)
{
	/*
	 * Mix the stream in through one splitmix64 step of its own, so that
	 * (seed, stream) and (seed + 1, stream - 1) do not start the same
	 * splitmix64 sequence.
	 */
	uint64_t x = stream;
	uint64_t k = splitmix64(&x) ^ seed;

	for (int i = 0; i < 4; i++) {
		r->s[i] = splitmix64(&k);
	}
	r->have_spare = false;
	r->spare = 0.0;
}

uint64_t simrng_next(struct simrng *r)
{
	/* xoshiro256** 1.0, reference implementation. */
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double simrng_uniform(struct simrng *r)
{
	/* The top 53 bits: the generator's low bits are its weakest. */
	return (double)(simrng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t simrng_below(struct simrng *r, uint64_t n)
{
	/* Lemire's multiply-shift, without the rejection step. */
	return (uint64_t)(((unsigned __int128)simrng_next(r) * n) >> 64);
}

double simrng_exponential(struct simrng *r, double mean)
{
	/* 1 - u is in (0, 1], so the log is finite. */
	return -mean * log(1.0 - simrng_uniform(r));
}

double simrng_normal(struct simrng *r)
{
	double u1, u2, radius;

	if (r->have_spare) {
		r->have_spare = false;
		return r->spare;
	}
	/* Box and Muller, Ann. Math. Statist. 29(2), 1958. */
	u1 = 1.0 - simrng_uniform(r);
	u2 = simrng_uniform(r);
	radius = sqrt(-2.0 * log(u1));
	r->spare = radius * sin(2.0 * M_PI * u2);
	r->have_spare = true;
	return radius * cos(2.0 * M_PI * u2);
}

double simrng_lognormal(struct simrng *r, double scale)
{
	return scale * exp(0.5 * simrng_normal(r) - 0.125);
}

double simrng_pareto(struct simrng *r, double xm, double alpha)
{
	/* 1 - u is in (0, 1]: the draw is at least xm and finite. */
	return xm / pow(1.0 - simrng_uniform(r), 1.0 / alpha);
}

uint64_t simrng_derive(uint64_t seed, uint64_t stream)
{
	struct simrng r;

	simrng_seed(&r, seed, stream);
	return simrng_next(&r);
}
