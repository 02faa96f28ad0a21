/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_HIST_H
#define TTWS_CORE_HIST_H

/*
 * Log-linear latency histogram and an exponentially weighted moving average.
 *
 * The histogram follows HdrHistogram's layout: every power-of-two range
 * [2^m, 2^(m+1)) is cut into HIST_SUB_COUNT linear sub-buckets, so a bucket
 * is never wider than 1/64 of the smallest value it holds, whatever the
 * magnitude. Values are uint64_t in the caller's unit (typically ns); the
 * histogram never interprets them, so keep one unit per histogram.
 *
 * Error bound: a percentile reports the highest value of the bucket that
 * holds the true sample, clamped to the exact max. For a true value v the
 * reported r obeys
 *
 *	v <= r <= v + v / 64	(integer division)
 *
 * i.e. a relative error below 1/64 ~= 1.6 %, never an under-estimate, which
 * is the safe side for a latency budget. Values below 2 * HIST_SUB_COUNT
 * (128) have buckets of width 1 and are exact. The whole uint64_t range is
 * covered; nothing saturates or is dropped.
 *
 * Min, max and mean are exact: they come from separately tracked min/max
 * and a 128-bit running sum, not from the buckets.
 *
 * Memory and cost: struct hist is a fixed ~30 KiB plain struct the caller
 * embeds or allocates once. Recording is O(1) and never allocates; queries
 * walk at most HIST_BUCKETS counters. It holds no pointers, so memcpy() of
 * a quiescent histogram is a complete snapshot that can be queried and
 * merged on another thread. The functions do no locking: a histogram is
 * owned by one writer, and a reader needs a snapshot (copied by the writer,
 * or under a seqlock). Queries on a torn copy stay memory-safe but may be
 * inconsistent.
 *
 * Pure code: no syscalls, no clocks, no globals, no logging.
 */

#include <stdbool.h>
#include <stdint.h>

/* log2 of the linear sub-buckets per power of two; sets the error bound. */
#define HIST_SUB_BITS 6
#define HIST_SUB_COUNT (1u << HIST_SUB_BITS)
/*
 * Group 0 holds values [0, 64) one per bucket; group g >= 1 holds
 * [2^(g+5), 2^(g+6)) in 64 buckets of width 2^(g-1). Group 58 ends at
 * UINT64_MAX.
 */
#define HIST_GROUPS (64 - HIST_SUB_BITS + 1)
#define HIST_BUCKETS (HIST_GROUPS * HIST_SUB_COUNT)

struct hist {
	/* Private to hist.c: use the functions. */
	uint64_t count;
	uint64_t min;	 /* UINT64_MAX while empty */
	uint64_t max;	 /* 0 while empty */
	uint64_t sum_lo; /* exact sum of all values, 128 bits */
	uint64_t sum_hi;
	uint64_t buckets[HIST_BUCKETS];
};

/* Percentiles the daemon reports; values in the histogram's unit. */
struct hist_summary {
	uint64_t count;
	uint64_t min;
	uint64_t p50;
	uint64_t p90;
	uint64_t p99;
	uint64_t p999; /* 99.9th percentile */
	uint64_t max;
	double mean;
};

/* Make caller-owned storage an empty histogram. Does not allocate. */
void hist_init(struct hist *h);

/* Forget every sample; the same as hist_init(), named for call sites. */
void hist_reset(struct hist *h);

/*
 * Add one sample. O(1), no allocation, cannot fail: the total count would
 * need 2^64 calls to wrap.
 */
void hist_record(struct hist *h, uint64_t value);

/*
 * Add count samples of the same value, as count calls to hist_record()
 * would, in O(1). count == 0 changes nothing. Returns 0, or -EOVERFLOW if
 * the total count would pass UINT64_MAX (h is then unchanged).
 */
int hist_record_n(struct hist *h, uint64_t value, uint64_t count);

/* Number of samples recorded. */
uint64_t hist_count(const struct hist *h);

/*
 * Samples at or below value, as a cumulative ("le") bucket count for an
 * exporter. A bucket is counted only when its highest value is <= value,
 * so no sample above value is ever counted; the samples sharing value's
 * own bucket but not above value are left to the next boundary up. For
 * the true counts N(<= x) the result c obeys
 *
 *	N(<= value - value / 64) <= c <= N(<= value)	(integer division)
 *
 * and is exact when value < 128, when value is the top of its bucket,
 * below the min (0) and at or above the max (hist_count()). Like the
 * percentiles, the error only ever makes latencies look worse. Cost: one
 * walk over at most HIST_BUCKETS counters; never above hist_count().
 */
uint64_t hist_count_le(const struct hist *h, uint64_t value);

/*
 * Exact smallest / largest sample. Return 0, or -ENODATA when empty
 * (*ret_* untouched).
 */
int hist_min(const struct hist *h, uint64_t *ret_min);
int hist_max(const struct hist *h, uint64_t *ret_max);

/*
 * Arithmetic mean from the exact sum, rounded once to double (so exact to
 * about 16 significant digits). Returns 0, or -ENODATA when empty.
 */
int hist_mean(const struct hist *h, double *ret_mean);

/*
 * Value at percentile p (0..100): the sample of rank round(p / 100 * count)
 * (at least 1) in ascending order, as HdrHistogram ranks it, reported as its
 * bucket's highest value clamped to the exact max, within the bound at the
 * top of this file. Rank 1 (so p == 0) reports the exact min, p == 100 the
 * exact max. Cost: one walk over at most HIST_BUCKETS counters.
 * Returns 0, -ENODATA when empty, -EINVAL if p is outside [0, 100] or NaN;
 * *ret_value is untouched on error.
 */
int hist_percentile(const struct hist *h, double p, uint64_t *ret_value);

/*
 * Fill *ret with count, min, P50, P90, P99, P99.9, max and mean in one walk
 * over the buckets. Every percentile equals what hist_percentile() returns.
 * Returns 0, or -ENODATA when empty (*ret untouched).
 */
int hist_summarize(const struct hist *h, struct hist_summary *ret);

/*
 * Add every sample of src to dst; afterwards dst is identical to a
 * histogram that recorded both streams. src is only read and may equal dst.
 * Returns 0, or -EOVERFLOW if the total count would pass UINT64_MAX
 * (dst is then unchanged).
 */
int hist_merge(struct hist *dst, const struct hist *src);

/*
 * Exponentially weighted moving average:
 *	value += alpha * (x - value)
 * with the first sample taken as the value, so the average does not start
 * biased towards zero. Plain struct, caller-owned, no pointers; it lives
 * here because it smooths the same latency and error series.
 */
struct ewma {
	/* Private to hist.c: use the functions. */
	double alpha;
	double value;
	bool has_value;
};

/*
 * Prepare e with weight alpha for the newest sample: 1 follows the input,
 * smaller values smooth more. Returns 0, or -EINVAL if alpha is not in
 * (0, 1] (e untouched).
 */
int ewma_init(struct ewma *e, double alpha);

/*
 * The alpha that gives time constant tau for samples dt apart:
 * 1 - exp(-dt / tau). A step input then reaches 1 - 1/e of its height
 * after tau, whatever the sampling rate. dt and tau in one unit of the
 * caller's choice. tau == 0 gives 1 (no smoothing).
 * Returns 0, -EINVAL unless dt > 0 and tau >= 0 are finite, or -ERANGE if
 * dt is so small against tau that alpha underflows to 0. *ret_alpha is
 * untouched on error.
 */
int ewma_alpha_from_tau(double dt, double tau, double *ret_alpha);

/*
 * Feed sample x (the caller's unit) and return the new average. The first
 * sample after ewma_init() becomes the average. A NaN sample makes the
 * average NaN until ewma_init() again, so filter them before.
 */
double ewma_update(struct ewma *e, double x);

/*
 * Current average. Returns 0, or -ENODATA before the first sample
 * (*ret_value untouched).
 */
int ewma_value(const struct ewma *e, double *ret_value);

#endif
