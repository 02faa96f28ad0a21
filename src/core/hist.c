/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "core/hist.h"
#include "core/macro.h"

/* The design promises a histogram small enough to embed per ear and layer. */
_Static_assert(sizeof(struct hist) < 64 * 1024, "struct hist too large");
/* hist_merge() and snapshots rely on plain counters without padding. */
_Static_assert(sizeof(struct hist) == (5 + HIST_BUCKETS) * sizeof(uint64_t),
	       "struct hist has padding");

static unsigned hist_index(uint64_t value)
{
	unsigned msb, shift;

	if (value < HIST_SUB_COUNT) {
		return (unsigned)value;
	}
	msb = 63u - (unsigned)__builtin_clzll(value);
	shift = msb - HIST_SUB_BITS;
	/*
	 * value >> shift is in [64, 128): its low six bits pick the
	 * sub-bucket, and group shift + 1 starts at (shift + 1) * 64.
	 */
	return ((shift + 1) << HIST_SUB_BITS) +
	       (unsigned)((value >> shift) - HIST_SUB_COUNT);
}

/* Largest value that hist_index() files under index i. */
static uint64_t hist_highest_equivalent(unsigned i)
{
	unsigned group = i >> HIST_SUB_BITS;
	unsigned sub = i & (HIST_SUB_COUNT - 1);
	unsigned shift;
	uint64_t lowest;

	if (group == 0) {
		return i;
	}
	shift = group - 1;
	lowest = (uint64_t)(HIST_SUB_COUNT + sub) << shift;
	/* Cannot wrap: the last bucket ends exactly at UINT64_MAX. */
	return lowest + ((UINT64_C(1) << shift) - 1);
}

/* Add a 128-bit quantity to the running sum. */
static void hist_sum_add(struct hist *h, uint64_t hi, uint64_t lo)
{
	h->sum_lo += lo;
	h->sum_hi += hi + (h->sum_lo < lo);
}

/*
 * 64 x 64 -> 128-bit product from 32-bit halves, because unsigned __int128
 * does not exist on 32-bit targets (armhf, i386).
 */
static void hist_mul_64(uint64_t a, uint64_t b, uint64_t *ret_hi,
			uint64_t *ret_lo)
{
	uint64_t a_lo = a & UINT32_MAX, a_hi = a >> 32;
	uint64_t b_lo = b & UINT32_MAX, b_hi = b >> 32;
	uint64_t ll = a_lo * b_lo;
	uint64_t lh = a_lo * b_hi;
	uint64_t hl = a_hi * b_lo;
	uint64_t hh = a_hi * b_hi;
	/* Sum of three values below 2^32 each: no overflow. */
	uint64_t mid = (ll >> 32) + (lh & UINT32_MAX) + (hl & UINT32_MAX);

	*ret_lo = (mid << 32) | (ll & UINT32_MAX);
	*ret_hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	/* So that the first sample always wins the comparison. */
	h->min = UINT64_MAX;
}

void hist_reset(struct hist *h)
{
	hist_init(h);
}

void hist_record(struct hist *h, uint64_t value)
{
	h->buckets[hist_index(value)]++;
	h->count++;
	hist_sum_add(h, 0, value);
	if (value < h->min) {
		h->min = value;
	}
	if (value > h->max) {
		h->max = value;
	}
}

int hist_record_n(struct hist *h, uint64_t value, uint64_t count)
{
	uint64_t hi, lo;

	if (count == 0) {
		/* Otherwise min/max would move without a sample. */
		return 0;
	}
	/* Bucket counts never exceed the total, so this guards them too. */
	if (count > UINT64_MAX - h->count) {
		return -EOVERFLOW;
	}
	h->buckets[hist_index(value)] += count;
	h->count += count;
	/* Cannot wrap: count * value < 2^128 while count < 2^64. */
	hist_mul_64(value, count, &hi, &lo);
	hist_sum_add(h, hi, lo);
	if (value < h->min) {
		h->min = value;
	}
	if (value > h->max) {
		h->max = value;
	}
	return 0;
}

uint64_t hist_count(const struct hist *h)
{
	return h->count;
}

uint64_t hist_count_le(const struct hist *h, uint64_t value)
{
	unsigned i, last;
	uint64_t n = 0;

	if (h->count == 0 || value < h->min) {
		return 0;
	}
	if (value >= h->max) {
		/* Exact, whatever the buckets' widths. */
		return h->count;
	}
	last = hist_index(value);
	if (hist_highest_equivalent(last) > value) {
		/*
		 * The bucket also holds values above value. Group 0 buckets
		 * are one wide, so last > 0 here; the check is for a torn
		 * snapshot's sake.
		 */
		if (last == 0) {
			return 0;
		}
		last--;
	}
	/* Only buckets from the min's can hold counts. */
	for (i = hist_index(h->min); i <= last; i++) {
		n += h->buckets[i];
	}
	/* A torn snapshot's buckets may disagree with its count. */
	return MIN(n, h->count);
}

int hist_min(const struct hist *h, uint64_t *ret_min)
{
	if (h->count == 0) {
		return -ENODATA;
	}
	*ret_min = h->min;
	return 0;
}

int hist_max(const struct hist *h, uint64_t *ret_max)
{
	if (h->count == 0) {
		return -ENODATA;
	}
	*ret_max = h->max;
	return 0;
}

static double hist_mean_of(const struct hist *h)
{
	/* 0x1p64 is 2^64: the high word's weight. */
	return ((double)h->sum_hi * 0x1p64 + (double)h->sum_lo) /
	       (double)h->count;
}

int hist_mean(const struct hist *h, double *ret_mean)
{
	if (h->count == 0) {
		return -ENODATA;
	}
	*ret_mean = hist_mean_of(h);
	return 0;
}

/*
 * HdrHistogram's rank: round to nearest, at least 1. Rounding (rather than
 * ceil) keeps ranks like 99.9 % of 1000 from landing one past the intended
 * sample when p / 100 * count comes out a hair above an integer.
 */
static uint64_t hist_rank(uint64_t count, double p)
{
	double x = p / 100.0 * (double)count + 0.5;
	uint64_t rank;

	/* Also keeps the cast below defined when (double)count rounds up. */
	if (x >= (double)count) {
		return count;
	}
	rank = (uint64_t)x;
	return rank < 1 ? 1 : rank;
}

/*
 * Values at ascending ranks ranks[0..n) in one walk. Only the buckets
 * between min and max can be non-zero, so the walk is bounded by them.
 */
static void hist_values_at_ranks(const struct hist *h, const uint64_t *ranks,
				 size_t n, uint64_t *ret_values)
{
	unsigned i = hist_index(h->min);
	unsigned last = hist_index(h->max);
	uint64_t seen = 0;
	size_t k = 0;

	for (; i <= last && k < n; i++) {
		seen += h->buckets[i];
		while (k < n && seen >= ranks[k]) {
			/*
			 * The bucket's top is never below the true sample, and
			 * the max bounds it from above; rank 1 is the min.
			 */
			if (ranks[k] == 1) {
				ret_values[k] = h->min;
			} else {
				ret_values[k] =
				    MIN(hist_highest_equivalent(i), h->max);
			}
			k++;
		}
	}
	/* Only a torn snapshot gets here: answer something in range. */
	for (; k < n; k++) {
		ret_values[k] = h->max;
	}
}

int hist_percentile(const struct hist *h, double p, uint64_t *ret_value)
{
	uint64_t rank;

	/* Written so that NaN fails too. */
	if (!(p >= 0.0 && p <= 100.0)) {
		return -EINVAL;
	}
	if (h->count == 0) {
		return -ENODATA;
	}
	rank = hist_rank(h->count, p);
	hist_values_at_ranks(h, &rank, 1, ret_value);
	return 0;
}

int hist_summarize(const struct hist *h, struct hist_summary *ret)
{
	/* Ascending, as hist_values_at_ranks() needs. */
	static const double ps[] = {50.0, 90.0, 99.0, 99.9};
	uint64_t ranks[ARRAY_SIZE(ps)];
	uint64_t values[ARRAY_SIZE(ps)];
	size_t k;

	if (h->count == 0) {
		return -ENODATA;
	}
	for (k = 0; k < ARRAY_SIZE(ps); k++) {
		ranks[k] = hist_rank(h->count, ps[k]);
	}
	hist_values_at_ranks(h, ranks, ARRAY_SIZE(ps), values);
	ret->count = h->count;
	ret->min = h->min;
	ret->p50 = values[0];
	ret->p90 = values[1];
	ret->p99 = values[2];
	ret->p999 = values[3];
	ret->max = h->max;
	ret->mean = hist_mean_of(h);
	return 0;
}

int hist_merge(struct hist *dst, const struct hist *src)
{
	unsigned i, last;

	if (src->count == 0) {
		/* Its min/max are the empty sentinels: keep them out. */
		return 0;
	}
	if (src->count > UINT64_MAX - dst->count) {
		return -EOVERFLOW;
	}
	/* Only src's [min, max] buckets can hold counts. */
	last = hist_index(src->max);
	for (i = hist_index(src->min); i <= last; i++) {
		dst->buckets[i] += src->buckets[i];
	}
	dst->count += src->count;
	hist_sum_add(dst, src->sum_hi, src->sum_lo);
	dst->min = MIN(dst->min, src->min);
	dst->max = MAX(dst->max, src->max);
	return 0;
}

int ewma_init(struct ewma *e, double alpha)
{
	/* Written so that NaN fails too. */
	if (!(alpha > 0.0 && alpha <= 1.0)) {
		return -EINVAL;
	}
	e->alpha = alpha;
	e->value = 0.0;
	e->has_value = false;
	return 0;
}

int ewma_alpha_from_tau(double dt, double tau, double *ret_alpha)
{
	double alpha;

	if (!isfinite(dt) || !isfinite(tau) || !(dt > 0.0) || !(tau >= 0.0)) {
		return -EINVAL;
	}
	if (tau == 0.0) {
		*ret_alpha = 1.0;
		return 0;
	}
	/*
	 * -expm1(-x) rather than 1 - exp(-x): with dt much shorter than tau,
	 * exp(-x) is within an ulp or so of 1 and the subtraction would
	 * leave few correct digits of alpha.
	 */
	alpha = -expm1(-dt / tau);
	if (!(alpha > 0.0)) {
		return -ERANGE;
	}
	*ret_alpha = alpha;
	return 0;
}

double ewma_update(struct ewma *e, double x)
{
	if (!e->has_value) {
		e->value = x;
		e->has_value = true;
	} else {
		e->value += e->alpha * (x - e->value);
	}
	return e->value;
}

int ewma_value(const struct ewma *e, double *ret_value)
{
	if (!e->has_value) {
		return -ENODATA;
	}
	*ret_value = e->value;
	return 0;
}
