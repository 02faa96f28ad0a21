/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/hist.h"
#include "core/macro.h"

/*
 * Reference definitions, written out independently of hist.c so that a
 * change there shows up as a failure here.
 */

/* The documented rank: round(p / 100 * n), clamped to [1, n]. */
static uint64_t ref_rank(uint64_t n, double p)
{
	double x = p / 100.0 * (double)n + 0.5;

	if (x >= (double)n) {
		return n;
	}
	return x < 1.0 ? 1 : (uint64_t)x;
}

/* A p that lands in the middle of rank k's rounding interval. */
static double p_for_rank(uint64_t k, uint64_t n)
{
	return 100.0 * ((double)k - 0.25) / (double)n;
}

/* The documented bound: v <= r <= v + v / 64. */
static bool within_bound(uint64_t v, uint64_t r)
{
	return r >= v && r - v <= v / 64;
}

static bool close_rel(double a, double b, double rel)
{
	return fabs(a - b) <= rel * fabs(b);
}

/* splitmix64: a fixed seed makes every run see the same samples. */
static uint64_t prng_next(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Exponential with the given mean, in [0, inf). */
static uint64_t prng_exp(uint64_t *state, double mean)
{
	double u = (double)(prng_next(state) >> 11) * 0x1p-53;

	return (uint64_t)(-mean * log1p(-u));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Check every p in ps against the sorted reference, within the bound. */
static void check_against_sorted(const struct hist *h, const uint64_t *sorted,
				 size_t n, const double *ps, size_t nps)
{
	size_t i;

	for (i = 0; i < nps; i++) {
		uint64_t v = sorted[ref_rank(n, ps[i]) - 1], r = 0;

		assert_int_equal(hist_percentile(h, ps[i], &r), 0);
		if (!within_bound(v, r)) {
			fail_msg("p%g: true %llu, reported %llu", ps[i],
				 (unsigned long long)v, (unsigned long long)r);
		}
	}
}

static void test_empty_is_nodata(void **state)
{
	struct hist h;
	struct hist_summary s;
	uint64_t v = 42;
	double m = 4.2;

	hist_init(&h);
	assert_int_equal(hist_count(&h), 0);
	assert_int_equal(hist_min(&h, &v), -ENODATA);
	assert_int_equal(hist_max(&h, &v), -ENODATA);
	assert_int_equal(hist_percentile(&h, 50.0, &v), -ENODATA);
	assert_int_equal(hist_percentile(&h, 0.0, &v), -ENODATA);
	assert_int_equal(hist_percentile(&h, 100.0, &v), -ENODATA);
	assert_int_equal(v, 42);
	assert_int_equal(hist_mean(&h, &m), -ENODATA);
	assert_true(m == 4.2);
	memset(&s, 0xa5, sizeof(s));
	assert_int_equal(hist_summarize(&h, &s), -ENODATA);
	assert_int_equal(s.count, UINT64_C(0xa5a5a5a5a5a5a5a5));
}

static void test_percentile_rejects_bad_p(void **state)
{
	struct hist h;
	uint64_t v = 42;

	hist_init(&h);
	hist_record(&h, 7);
	assert_int_equal(hist_percentile(&h, -0.001, &v), -EINVAL);
	assert_int_equal(hist_percentile(&h, 100.001, &v), -EINVAL);
	assert_int_equal(hist_percentile(&h, NAN, &v), -EINVAL);
	assert_int_equal(hist_percentile(&h, INFINITY, &v), -EINVAL);
	assert_int_equal(v, 42);
	/* The ends themselves are valid. */
	assert_int_equal(hist_percentile(&h, 0.0, &v), 0);
	assert_int_equal(v, 7);
	v = 0;
	assert_int_equal(hist_percentile(&h, 100.0, &v), 0);
	assert_int_equal(v, 7);
}

static void test_small_values_exact(void **state)
{
	struct hist h;
	uint64_t k, v;

	/* Every value below 128 alone: P50 must give it back exactly. */
	for (v = 0; v < 128; v++) {
		uint64_t r = UINT64_MAX;

		hist_init(&h);
		hist_record(&h, v);
		hist_record(&h, v);
		assert_int_equal(hist_percentile(&h, 50.0, &r), 0);
		assert_int_equal(r, v);
	}
	/*
	 * All of 0..127 plus a large max, so clamping to the max cannot
	 * hide a wide bucket: every rank gives its exact value.
	 */
	hist_init(&h);
	for (v = 0; v < 128; v++) {
		hist_record(&h, v);
	}
	hist_record(&h, 1000000);
	for (k = 1; k <= 128; k++) {
		uint64_t r = UINT64_MAX;

		assert_int_equal(hist_percentile(&h, p_for_rank(k, 129), &r),
				 0);
		assert_int_equal(r, k - 1);
	}
}

static void test_uniform_1_to_n(void **state)
{
	/*
	 * Hand-computed for 1..1000: the rank's value, then the top of its
	 * bucket (width 2 in [128, 256), 4 in [256, 512), 8 in [512, 1024)),
	 * clamped to the max.
	 */
	static const struct {
		double p;
		uint64_t want;
	} table[] = {
	    {0.0, 1},	   /* rank 1: exact min */
	    {12.5, 125},   /* rank 125, exact region */
	    {25.0, 251},   /* rank 250 in [250, 251] */
	    {50.0, 503},   /* rank 500 in [500, 503] */
	    {90.0, 903},   /* rank 900 in [896, 903] */
	    {99.0, 991},   /* rank 990 in [984, 991] */
	    {99.9, 999},   /* rank 999 in [992, 999] */
	    {100.0, 1000}, /* rank 1000 in [1000, 1007], clamped */
	};
	const uint64_t n_big = UINT64_C(1) << 20;
	struct hist h;
	uint64_t k, r;
	size_t i;
	double m;

	hist_init(&h);
	for (k = 1; k <= 1000; k++) {
		hist_record(&h, k);
	}
	for (i = 0; i < ARRAY_SIZE(table); i++) {
		r = 0;
		assert_int_equal(hist_percentile(&h, table[i].p, &r), 0);
		assert_int_equal(r, table[i].want);
	}
	/* Every rank, within the bound. */
	for (k = 1; k <= 1000; k++) {
		assert_int_equal(hist_percentile(&h, p_for_rank(k, 1000), &r),
				 0);
		assert_true(within_bound(k, r));
	}
	assert_int_equal(hist_mean(&h, &m), 0);
	assert_true(m == 500.5);

	/* A million values, every 997th rank. */
	hist_init(&h);
	for (k = 1; k <= n_big; k++) {
		hist_record(&h, k);
	}
	for (k = 1; k <= n_big; k += 997) {
		assert_int_equal(hist_percentile(&h, p_for_rank(k, n_big), &r),
				 0);
		assert_true(within_bound(k, r));
	}
	assert_int_equal(hist_percentile(&h, 100.0, &r), 0);
	assert_int_equal(r, n_big);
}

static void test_constant(void **state)
{
	static const double ps[] = {0.0, 1.0, 50.0, 99.0, 99.99, 100.0};
	struct hist h;
	uint64_t v;
	double m;
	size_t i;

	hist_init(&h);
	/* 123457 sits in the bucket [122880, 123903], 1024 wide. */
	for (i = 0; i < 10000; i++) {
		hist_record(&h, 123457);
	}
	for (i = 0; i < ARRAY_SIZE(ps); i++) {
		v = 0;
		assert_int_equal(hist_percentile(&h, ps[i], &v), 0);
		assert_int_equal(v, 123457);
	}
	assert_int_equal(hist_min(&h, &v), 0);
	assert_int_equal(v, 123457);
	assert_int_equal(hist_max(&h, &v), 0);
	assert_int_equal(v, 123457);
	assert_int_equal(hist_mean(&h, &m), 0);
	assert_true(m == 123457.0);
	assert_int_equal(hist_count(&h), 10000);
}

static void test_two_point(void **state)
{
	struct hist h;
	uint64_t r;
	double m;

	hist_init(&h);
	assert_int_equal(hist_record_n(&h, 100, 1000), 0);
	assert_int_equal(hist_record_n(&h, 1000000, 10), 0);

	/* Rank 1000 is the last 100, rank 1001 the first 1000000. */
	assert_int_equal(hist_percentile(&h, p_for_rank(1000, 1010), &r), 0);
	assert_int_equal(r, 100);
	assert_int_equal(hist_percentile(&h, p_for_rank(1001, 1010), &r), 0);
	assert_int_equal(r, 1000000);
	assert_int_equal(hist_percentile(&h, 50.0, &r), 0);
	assert_int_equal(r, 100);
	assert_int_equal(hist_percentile(&h, 99.0, &r), 0);
	assert_int_equal(r, 100);
	assert_int_equal(hist_percentile(&h, 99.5, &r), 0);
	assert_int_equal(r, 1000000);
	assert_int_equal(hist_mean(&h, &m), 0);
	assert_true(close_rel(m, (100.0 * 1000 + 1e6 * 10) / 1010, 1e-15));
}

static void test_exponential_vs_sorted(void **state)
{
	const size_t n = 200000;
	uint64_t *samples = malloc(n * sizeof(*samples));
	uint64_t seed = 0x5eed;
	double ps[1000 + 5];
	struct hist h;
	size_t i, nps = 0;

	assert_non_null(samples);
	hist_init(&h);
	for (i = 0; i < n; i++) {
		/* 1 ms mean in ns, with a 1 % tail a thousand times slower. */
		double mean = (i % 100 == 0) ? 1e9 : 1e6;

		samples[i] = prng_exp(&seed, mean);
		hist_record(&h, samples[i]);
	}
	qsort(samples, n, sizeof(*samples), cmp_u64);

	for (i = 0; i <= 1000; i++) {
		ps[nps++] = (double)i / 10.0;
	}
	ps[nps++] = 99.99;
	ps[nps++] = 99.999;
	ps[nps++] = 0.001;
	ps[nps++] = 0.0001;
	check_against_sorted(&h, samples, n, ps, nps);
	assert_int_equal(hist_count(&h), n);

	free(samples);
}

static void test_large_values(void **state)
{
	const uint64_t b63 = UINT64_C(1) << 63, b62 = UINT64_C(1) << 62;
	const uint64_t vals[] = {
	    UINT64_MAX, b63, UINT64_MAX - 1, b62 + 12345, b63 - 1,
	};
	/* Sorted: b62 + 12345, b63 - 1, b63, MAX - 1, MAX. */
	const uint64_t want[] = {
	    b62 + 12345,		   /* rank 1: exact min */
	    b63 - 1,			   /* top of its bucket */
	    b63 + (UINT64_C(1) << 57) - 1, /* bucket width 2^57 */
	    UINT64_MAX,			   /* clamped to the max */
	    UINT64_MAX,
	};
	const uint64_t sorted[] = {
	    b62 + 12345, b63 - 1, b63, UINT64_MAX - 1, UINT64_MAX,
	};
	struct hist h;
	uint64_t k, r;
	double m;
	size_t i;

	hist_init(&h);
	for (i = 0; i < ARRAY_SIZE(vals); i++) {
		hist_record(&h, vals[i]);
	}
	for (k = 1; k <= 5; k++) {
		assert_int_equal(hist_percentile(&h, p_for_rank(k, 5), &r), 0);
		assert_int_equal(r, want[k - 1]);
		assert_true(within_bound(sorted[k - 1], r));
	}
	assert_int_equal(hist_min(&h, &r), 0);
	assert_int_equal(r, b62 + 12345);
	assert_int_equal(hist_max(&h, &r), 0);
	assert_int_equal(r, UINT64_MAX);
	/* The sum is about 3.25 * 2^64: a 64-bit sum would wrap. */
	assert_int_equal(hist_mean(&h, &m), 0);
	assert_true(close_rel(m, 13.0 * 0x1p62 / 5.0, 1e-12));

	/* Four 2^63 sum to 2^65; the mean is exact. */
	hist_init(&h);
	for (i = 0; i < 4; i++) {
		hist_record(&h, b63);
	}
	assert_int_equal(hist_mean(&h, &m), 0);
	assert_true(m == 0x1p63);
}

static void test_record_n_matches_repeated(void **state)
{
	static const uint64_t vals[] = {0, 1, 127, 128, 1000003, UINT64_MAX};
	struct hist a, b, before;
	uint64_t j;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(vals); i++) {
		hist_init(&a);
		hist_init(&b);
		/* A non-empty start so min/max updates are exercised. */
		hist_record(&a, 500);
		hist_record(&b, 500);
		assert_int_equal(hist_record_n(&a, vals[i], 7), 0);
		for (j = 0; j < 7; j++) {
			hist_record(&b, vals[i]);
		}
		/* Plain counters: equal bytes mean equal histograms. */
		assert_memory_equal(&a, &b, sizeof(a));
	}

	/* count == 0 must not move min or max. */
	hist_init(&a);
	hist_record(&a, 500);
	memcpy(&before, &a, sizeof(a));
	assert_int_equal(hist_record_n(&a, 1, 0), 0);
	assert_int_equal(hist_record_n(&a, 1000000, 0), 0);
	assert_memory_equal(&a, &before, sizeof(a));
}

static void test_record_n_sum_exact(void **state)
{
	uint64_t seed = 42;
	struct hist a, b;
	double m;
	int i;

	/* 3 * 2^62 times 2^40: the sum 3 * 2^102 needs the high word. */
	hist_init(&a);
	assert_int_equal(
	    hist_record_n(&a, 3 * (UINT64_C(1) << 62), UINT64_C(1) << 40), 0);
	assert_int_equal(hist_mean(&a, &m), 0);
	assert_true(m == 3.0 * 0x1p62);

	/* The largest possible sum, (2^64 - 1)^2, does not wrap. */
	hist_init(&a);
	assert_int_equal(hist_record_n(&a, UINT64_MAX, UINT64_MAX), 0);
	assert_int_equal(hist_count(&a), UINT64_MAX);
	assert_int_equal(hist_mean(&a, &m), 0);
	assert_true(m == 0x1p64);

	/*
	 * Random full-width values and counts: a*v + b*v must equal
	 * (a + b)*v in all 128 bits, and the mean must be v.
	 */
	for (i = 0; i < 1000; i++) {
		uint64_t v = prng_next(&seed);
		uint64_t c1 = prng_next(&seed) >> 2;
		uint64_t c2 = prng_next(&seed) >> 2;

		hist_init(&a);
		hist_init(&b);
		assert_int_equal(hist_record_n(&a, v, c1), 0);
		assert_int_equal(hist_record_n(&a, v, c2), 0);
		assert_int_equal(hist_record_n(&b, v, c1 + c2), 0);
		assert_memory_equal(&a, &b, sizeof(a));
		assert_int_equal(hist_mean(&a, &m), 0);
		assert_true(close_rel(m, (double)v, 1e-15));
	}
}

static void test_count_overflow(void **state)
{
	struct hist a, b, before;

	hist_init(&a);
	assert_int_equal(hist_record_n(&a, 10, UINT64_MAX - 5), 0);
	memcpy(&before, &a, sizeof(a));
	assert_int_equal(hist_record_n(&a, 20, 6), -EOVERFLOW);
	assert_memory_equal(&a, &before, sizeof(a));

	hist_init(&b);
	assert_int_equal(hist_record_n(&b, 20, 6), 0);
	assert_int_equal(hist_merge(&a, &b), -EOVERFLOW);
	assert_memory_equal(&a, &before, sizeof(a));

	/* Exactly up to UINT64_MAX is fine. */
	assert_int_equal(hist_record_n(&a, 20, 5), 0);
	assert_int_equal(hist_count(&a), UINT64_MAX);
}

static void test_min_max_mean_exact(void **state)
{
	struct hist h;
	uint64_t v;
	double m;

	hist_init(&h);
	/* Neither 1000003 nor 5000000001 is the top of its bucket. */
	hist_record(&h, 1000003);
	hist_record(&h, 7);
	hist_record(&h, 5000000001);
	hist_record(&h, 129);
	assert_int_equal(hist_min(&h, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(hist_max(&h, &v), 0);
	assert_int_equal(v, 5000000001);
	assert_int_equal(hist_mean(&h, &m), 0);
	/* (1000003 + 7 + 5000000001 + 129) / 4, exact in a double. */
	assert_true(m == 1250250035.0);
	assert_int_equal(hist_percentile(&h, 100.0, &v), 0);
	assert_int_equal(v, 5000000001);
	assert_int_equal(hist_count(&h), 4);

	/* Min 0 must stick even though the empty sentinel is UINT64_MAX. */
	hist_record(&h, 0);
	assert_int_equal(hist_min(&h, &v), 0);
	assert_int_equal(v, 0);
}

static void fill_random(struct hist *h, uint64_t *seed, size_t n, double mean)
{
	size_t i;

	for (i = 0; i < n; i++) {
		hist_record(h, prng_exp(seed, mean));
	}
}

static void test_merge_equals_single(void **state)
{
	struct hist a, b, all, twice, empty, copy;
	uint64_t s1 = 1, s2 = 2;

	hist_init(&a);
	hist_init(&b);
	hist_init(&all);
	/* Different ranges so that the merge touches disjoint buckets. */
	fill_random(&a, &s1, 5000, 1e3);
	fill_random(&b, &s2, 7000, 1e7);
	s1 = 1;
	s2 = 2;
	fill_random(&all, &s1, 5000, 1e3);
	fill_random(&all, &s2, 7000, 1e7);

	assert_int_equal(hist_merge(&a, &b), 0);
	assert_memory_equal(&a, &all, sizeof(a));

	/* Merging in an empty histogram changes nothing... */
	hist_init(&empty);
	memcpy(&copy, &a, sizeof(a));
	assert_int_equal(hist_merge(&a, &empty), 0);
	assert_memory_equal(&a, &copy, sizeof(a));
	/* ...and merging into one copies. */
	assert_int_equal(hist_merge(&empty, &b), 0);
	assert_memory_equal(&empty, &b, sizeof(b));

	/* Into itself: every sample twice. */
	hist_init(&twice);
	s1 = 1;
	s2 = 2;
	fill_random(&twice, &s1, 5000, 1e3);
	fill_random(&twice, &s2, 7000, 1e7);
	s1 = 1;
	s2 = 2;
	fill_random(&twice, &s1, 5000, 1e3);
	fill_random(&twice, &s2, 7000, 1e7);
	assert_int_equal(hist_merge(&a, &a), 0);
	assert_memory_equal(&a, &twice, sizeof(a));
}

static void test_reset(void **state)
{
	struct hist h, fresh;
	uint64_t v;

	hist_init(&fresh);
	hist_init(&h);
	hist_record(&h, 5);
	hist_record(&h, 1 << 20);
	hist_reset(&h);
	assert_memory_equal(&h, &fresh, sizeof(h));
	assert_int_equal(hist_count(&h), 0);
	assert_int_equal(hist_percentile(&h, 50.0, &v), -ENODATA);

	/* No stale min/max from before the reset. */
	hist_record(&h, 500);
	assert_int_equal(hist_min(&h, &v), 0);
	assert_int_equal(v, 500);
	assert_int_equal(hist_max(&h, &v), 0);
	assert_int_equal(v, 500);
}

static void test_summary_matches_percentile(void **state)
{
	struct hist h;
	struct hist_summary s;
	uint64_t seed = 7, v;
	double m;

	hist_init(&h);
	fill_random(&h, &seed, 100000, 2e6);
	assert_int_equal(hist_summarize(&h, &s), 0);

	assert_int_equal(s.count, hist_count(&h));
	assert_int_equal(hist_min(&h, &v), 0);
	assert_int_equal(s.min, v);
	assert_int_equal(hist_max(&h, &v), 0);
	assert_int_equal(s.max, v);
	assert_int_equal(hist_mean(&h, &m), 0);
	assert_true(s.mean == m);
	assert_int_equal(hist_percentile(&h, 50.0, &v), 0);
	assert_int_equal(s.p50, v);
	assert_int_equal(hist_percentile(&h, 90.0, &v), 0);
	assert_int_equal(s.p90, v);
	assert_int_equal(hist_percentile(&h, 99.0, &v), 0);
	assert_int_equal(s.p99, v);
	assert_int_equal(hist_percentile(&h, 99.9, &v), 0);
	assert_int_equal(s.p999, v);
	/* Distinct and ordered for this spread: no field copied twice. */
	assert_true(s.min < s.p50 && s.p50 < s.p90 && s.p90 < s.p99 &&
		    s.p99 < s.p999 && s.p999 < s.max);

	/* Small case with known answers: 1..1000 as in uniform_1_to_n. */
	hist_init(&h);
	for (v = 1; v <= 1000; v++) {
		hist_record(&h, v);
	}
	assert_int_equal(hist_summarize(&h, &s), 0);
	assert_int_equal(s.count, 1000);
	assert_int_equal(s.min, 1);
	assert_int_equal(s.p50, 503);
	assert_int_equal(s.p90, 903);
	assert_int_equal(s.p99, 991);
	assert_int_equal(s.p999, 999);
	assert_int_equal(s.max, 1000);
	assert_true(s.mean == 500.5);
}

static void test_copy_is_snapshot(void **state)
{
	struct hist h, snap;
	uint64_t v;

	hist_init(&h);
	hist_record(&h, 100);
	hist_record(&h, 200);
	memcpy(&snap, &h, sizeof(h));
	assert_int_equal(hist_record_n(&h, 1000000, 100), 0);

	assert_int_equal(hist_count(&snap), 2);
	assert_int_equal(hist_percentile(&snap, 100.0, &v), 0);
	assert_int_equal(v, 200);
	assert_int_equal(hist_percentile(&h, 100.0, &v), 0);
	assert_int_equal(v, 1000000);
}

static void test_torn_snapshot_in_range(void **state)
{
	struct hist h;
	struct hist_summary s;
	uint64_t v;

	hist_init(&h);
	for (v = 1000; v < 2000; v++) {
		hist_record(&h, v);
	}
	/*
	 * A copy taken while the writer records may count samples that are
	 * not in any bucket yet; fake that through the private fields.
	 */
	h.count += 3;
	assert_int_equal(hist_percentile(&h, 100.0, &v), 0);
	assert_true(v >= 1000 && v <= 1999);
	assert_int_equal(hist_summarize(&h, &s), 0);
	assert_true(s.p999 >= 1000 && s.p999 <= 1999);
}

/* The reference for hist_count_le(): samples <= v in a sorted array. */
static uint64_t ref_count_le(const uint64_t *sorted, size_t n, uint64_t v)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sorted[mid] <= v) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo;
}

/* Whether v is the highest value of its bucket, from hist.h's layout. */
static bool ref_bucket_top(uint64_t v)
{
	unsigned msb;

	if (v < 2 * HIST_SUB_COUNT) {
		return true;
	}
	msb = 63u - (unsigned)__builtin_clzll(v);
	/* Width 2^(msb - 6): the top is all ones below that bit. */
	return ((v + 1) & ((UINT64_C(1) << (msb - HIST_SUB_BITS)) - 1)) == 0;
}

static void test_count_le_edges(void **state)
{
	struct hist h;
	uint64_t v;

	hist_init(&h);
	assert_int_equal(hist_count_le(&h, 0), 0);
	assert_int_equal(hist_count_le(&h, UINT64_MAX), 0);

	/* Below 128 every value has its own bucket: exact. */
	for (v = 0; v < 128; v++) {
		hist_record(&h, v);
	}
	for (v = 0; v < 128; v++) {
		assert_int_equal(hist_count_le(&h, v), v + 1);
	}

	/*
	 * 1000 ns opens the bucket [1000, 1007]: while a larger sample
	 * exists, le = 1000 must not count it (1007 might be there too),
	 * le = 1007 must; at or above the max the count is exact.
	 */
	hist_init(&h);
	hist_record(&h, 1000);
	hist_record(&h, 5000);
	assert_int_equal(hist_count_le(&h, 999), 0);
	assert_int_equal(hist_count_le(&h, 1000), 0);
	assert_int_equal(hist_count_le(&h, 1006), 0);
	assert_int_equal(hist_count_le(&h, 1007), 1);
	assert_int_equal(hist_count_le(&h, 4999), 1);
	assert_int_equal(hist_count_le(&h, 5000), 2);
	assert_int_equal(hist_count_le(&h, UINT64_MAX), 2);
	/* The only sample: exact at its own value through the max. */
	hist_init(&h);
	hist_record(&h, 1000);
	assert_int_equal(hist_count_le(&h, 1000), 1);
	assert_int_equal(hist_count_le(&h, 999), 0);

	/* The top group, and record_n counting once per sample. */
	hist_init(&h);
	assert_int_equal(hist_record_n(&h, UINT64_MAX, 3), 0);
	hist_record(&h, 0);
	assert_int_equal(hist_count_le(&h, 0), 1);
	assert_int_equal(hist_count_le(&h, UINT64_MAX - 1), 1);
	assert_int_equal(hist_count_le(&h, UINT64_MAX), 4);
}

static void test_count_le_vs_sorted(void **state)
{
	const size_t n = 20000;
	uint64_t *samples = calloc(n, sizeof(*samples));
	uint64_t seed = 7, prev = 0;
	struct hist h;
	size_t i;

	assert_non_null(samples);
	hist_init(&h);
	for (i = 0; i < n; i++) {
		/* Two scales: ~2 us and ~3 ms, like wake-ups and delivery. */
		samples[i] = prng_exp(&seed, i % 2 ? 2e3 : 3e6);
		hist_record(&h, samples[i]);
	}
	qsort(samples, n, sizeof(*samples), cmp_u64);
	for (i = 0; i < 4000; i++) {
		/* Every sample value, its neighbours, and random values. */
		uint64_t v = i < 3000 ? samples[i * (n / 3000)] + i % 3 - 1
				      : prng_next(&seed) >> (i % 50 + 14);
		uint64_t c = hist_count_le(&h, v);
		uint64_t lo = ref_count_le(samples, n, v - v / 64);
		uint64_t hi = ref_count_le(samples, n, v);

		if (c < lo || c > hi) {
			fail_msg("le %llu: %llu not in [%llu, %llu]",
				 (unsigned long long)v, (unsigned long long)c,
				 (unsigned long long)lo,
				 (unsigned long long)hi);
		}
		if (ref_bucket_top(v)) {
			assert_int_equal(c, hi);
		}
	}
	/* Non-decreasing in value: what cumulative buckets need. */
	for (i = 0; i < 64 * 40; i++) {
		uint64_t v = (UINT64_C(1) << (i / 64)) + (i % 64) * 37;
		uint64_t c = hist_count_le(&h, v);

		if (v < prev) {
			continue;
		}
		assert_true(c >= hist_count_le(&h, prev));
		prev = v;
	}
	assert_int_equal(hist_count_le(&h, samples[n - 1]), n);
	free(samples);
}

static void test_size_bounded(void **state)
{
	assert_true(sizeof(struct hist) < 64 * 1024);
	/* 64 exact values, then 58 power-of-two groups up to 2^64. */
	assert_int_equal(HIST_BUCKETS, 59 * 64);
}

static void test_ewma_init_rejects_bad_alpha(void **state)
{
	static const double bad[] = {0.0, -0.1, 1.0000001, NAN, INFINITY};
	struct ewma e, before;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&e, 0xa5, sizeof(e));
		memcpy(&before, &e, sizeof(e));
		assert_int_equal(ewma_init(&e, bad[i]), -EINVAL);
		assert_memory_equal(&e, &before, sizeof(e));
	}
	assert_int_equal(ewma_init(&e, 1.0), 0);
	assert_int_equal(ewma_init(&e, 1e-9), 0);
}

static void test_ewma_first_sample(void **state)
{
	struct ewma e;
	double v = 42.0;

	assert_int_equal(ewma_init(&e, 0.1), 0);
	assert_int_equal(ewma_value(&e, &v), -ENODATA);
	assert_true(v == 42.0);
	/* Not 0.1 * 100: the first sample is taken whole. */
	assert_true(ewma_update(&e, 100.0) == 100.0);
	assert_int_equal(ewma_value(&e, &v), 0);
	assert_true(v == 100.0);
	/* The second is weighted. */
	assert_true(ewma_update(&e, 200.0) == 110.0);

	/* Re-init forgets the value. */
	assert_int_equal(ewma_init(&e, 0.5), 0);
	assert_int_equal(ewma_value(&e, &v), -ENODATA);
	assert_true(ewma_update(&e, -3.0) == -3.0);
}

static void test_ewma_converges(void **state)
{
	struct ewma e;
	double v = 0.0, want;
	int i;

	/* Step 0 -> 1: after n steps the value is 1 - 0.9^n. */
	assert_int_equal(ewma_init(&e, 0.1), 0);
	ewma_update(&e, 0.0);
	for (i = 1; i <= 200; i++) {
		v = ewma_update(&e, 1.0);
		want = 1.0 - pow(0.9, i);
		assert_true(fabs(v - want) < 1e-12);
	}
	assert_true(fabs(v - 1.0) < 1e-9);

	/* Noise around 5 averages out. */
	assert_int_equal(ewma_init(&e, 0.01), 0);
	for (i = 0; i < 10000; i++) {
		v = ewma_update(&e, (i & 1) ? 4.0 : 6.0);
	}
	assert_true(fabs(v - 5.0) < 0.02);

	/* alpha 1 just follows. */
	assert_int_equal(ewma_init(&e, 1.0), 0);
	ewma_update(&e, 3.0);
	assert_true(ewma_update(&e, -7.5) == -7.5);
}

static void test_ewma_alpha_from_tau(void **state)
{
	static const double steps[] = {10.0, 1000.0};
	struct ewma e;
	double a = 42.0, v = 0.0;
	size_t i;
	int k;

	assert_int_equal(ewma_alpha_from_tau(1.0, 1.0, &a), 0);
	assert_true(close_rel(a, 1.0 - exp(-1.0), 1e-15));
	assert_int_equal(ewma_alpha_from_tau(5.0, 0.0, &a), 0);
	assert_true(a == 1.0);

	/*
	 * dt << tau: alpha ~ x - x^2 / 2 to full precision. 1 - exp(-x)
	 * would be off by about 1e-7 relative here.
	 */
	assert_int_equal(ewma_alpha_from_tau(1e-9, 1.0, &a), 0);
	assert_true(close_rel(a, 1e-9 - 0.5e-18, 1e-13));

	/* A step reaches 1 - 1/e after tau whatever the sampling rate. */
	for (i = 0; i < ARRAY_SIZE(steps); i++) {
		assert_int_equal(ewma_alpha_from_tau(1.0 / steps[i], 1.0, &a),
				 0);
		assert_int_equal(ewma_init(&e, a), 0);
		ewma_update(&e, 0.0);
		for (k = 0; k < (int)steps[i]; k++) {
			v = ewma_update(&e, 1.0);
		}
		assert_true(fabs(v - (1.0 - exp(-1.0))) < 1e-9);
	}

	a = 42.0;
	assert_int_equal(ewma_alpha_from_tau(0.0, 1.0, &a), -EINVAL);
	assert_int_equal(ewma_alpha_from_tau(-1.0, 1.0, &a), -EINVAL);
	assert_int_equal(ewma_alpha_from_tau(1.0, -1.0, &a), -EINVAL);
	assert_int_equal(ewma_alpha_from_tau(NAN, 1.0, &a), -EINVAL);
	assert_int_equal(ewma_alpha_from_tau(1.0, NAN, &a), -EINVAL);
	assert_int_equal(ewma_alpha_from_tau(INFINITY, 1.0, &a), -EINVAL);
	assert_int_equal(ewma_alpha_from_tau(1.0, INFINITY, &a), -EINVAL);
	assert_int_equal(ewma_alpha_from_tau(1e-300, 1e300, &a), -ERANGE);
	assert_true(a == 42.0);
}

#define HIST_TEST(name, fn)                                                    \
	{                                                                      \
		name, fn, NULL, NULL, NULL                                     \
	}

int main(void)
{
	static const struct CMUnitTest tests[] = {
	    HIST_TEST("hist/empty_is_nodata", test_empty_is_nodata),
	    HIST_TEST("hist/percentile_rejects_bad_p",
		      test_percentile_rejects_bad_p),
	    HIST_TEST("hist/small_values_exact", test_small_values_exact),
	    HIST_TEST("hist/uniform_1_to_n", test_uniform_1_to_n),
	    HIST_TEST("hist/constant", test_constant),
	    HIST_TEST("hist/two_point", test_two_point),
	    HIST_TEST("hist/exponential_vs_sorted", test_exponential_vs_sorted),
	    HIST_TEST("hist/large_values", test_large_values),
	    HIST_TEST("hist/record_n_matches_repeated",
		      test_record_n_matches_repeated),
	    HIST_TEST("hist/record_n_sum_exact", test_record_n_sum_exact),
	    HIST_TEST("hist/count_overflow", test_count_overflow),
	    HIST_TEST("hist/min_max_mean_exact", test_min_max_mean_exact),
	    HIST_TEST("hist/merge_equals_single", test_merge_equals_single),
	    HIST_TEST("hist/reset", test_reset),
	    HIST_TEST("hist/summary_matches_percentile",
		      test_summary_matches_percentile),
	    HIST_TEST("hist/copy_is_snapshot", test_copy_is_snapshot),
	    HIST_TEST("hist/torn_snapshot_in_range",
		      test_torn_snapshot_in_range),
	    HIST_TEST("hist/count_le_edges", test_count_le_edges),
	    HIST_TEST("hist/count_le_vs_sorted", test_count_le_vs_sorted),
	    HIST_TEST("hist/size_bounded", test_size_bounded),
	    HIST_TEST("hist/ewma_init_rejects_bad_alpha",
		      test_ewma_init_rejects_bad_alpha),
	    HIST_TEST("hist/ewma_first_sample", test_ewma_first_sample),
	    HIST_TEST("hist/ewma_converges", test_ewma_converges),
	    HIST_TEST("hist/ewma_alpha_from_tau", test_ewma_alpha_from_tau),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
