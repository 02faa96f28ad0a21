/* SPDX-License-Identifier: MIT */
/*
 * Timer wheel against a binary min-heap, in one process, same workload.
 *
 * The heap is the usual alternative (libevent, libuv, systemd's prioq):
 * an array of (key, timer) pairs with the key inline so sifts compare
 * without chasing pointers, and an index in each timer for O(log n)
 * cancel.
 *
 * Workload: n live timers with deadlines uniform over 0..10 s ahead at ns
 * resolution.
 *  - add+cancel: a random live timer is cancelled and re-added at a new
 *    deadline (a supervision timeout pushed back by traffic).
 *  - expire+re-arm: time advances in steps of about BENCH_PER_STEP mean
 *    expiries and every expired timer re-adds itself 0..10 s ahead (a
 *    loop woken by a tick that finds a handful of timers due).
 * Each figure is ns per operation (per add+cancel pair, per expired and
 * re-armed timer); several rounds alternate which structure goes first,
 * and the median is reported. The last line is one JSON object for
 * tooling; ratio > 1 means the wheel is faster.
 *
 * Usage: bench-wheel [--quick]
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/wheel.h"
#include "core/macro.h"

#define BENCH_SPAN_NS (10 * NSEC_PER_SEC)
#define BENCH_PER_STEP 4
#define BENCH_MAX_ROUNDS 9

static uint64_t bench_rng = UINT64_C(0x9e3779b97f4a7c15);

/* xorshift64*: cheap enough not to dominate either side. */
static inline uint64_t bench_rand(void)
{
	bench_rng ^= bench_rng >> 12;
	bench_rng ^= bench_rng << 25;
	bench_rng ^= bench_rng >> 27;
	return bench_rng * UINT64_C(2685821657736338717);
}

/* Uniform in [0, n) without division (Lemire). */
static inline uint64_t bench_below(uint64_t n)
{
	return (uint64_t)(((unsigned __int128)bench_rand() * n) >> 64);
}

static uint64_t bench_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* ---- baseline: binary min-heap with index tracking ---- */

#define HEAP_NONE UINT32_MAX

struct heap_timer {
	uint64_t deadline_ns;
	uint32_t idx; /* position in the heap, HEAP_NONE when not pending */
	void (*fn)(struct heap_timer *t, uint64_t now_ns);
};

struct heap_ent {
	uint64_t key;
	struct heap_timer *t;
};

struct heap {
	struct heap_ent *a;
	uint32_t n;
	uint32_t cap;
};

static inline void heap_set(struct heap *h, uint32_t i, struct heap_ent e)
{
	h->a[i] = e;
	e.t->idx = i;
}

static void heap_sift_up(struct heap *h, uint32_t i, struct heap_ent e)
{
	while (i > 0) {
		uint32_t p = (i - 1) / 2;

		if (h->a[p].key <= e.key) {
			break;
		}
		heap_set(h, i, h->a[p]);
		i = p;
	}
	heap_set(h, i, e);
}

static void heap_sift_down(struct heap *h, uint32_t i, struct heap_ent e)
{
	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= h->n) {
			break;
		}
		if (c + 1 < h->n && h->a[c + 1].key < h->a[c].key) {
			c++;
		}
		if (e.key <= h->a[c].key) {
			break;
		}
		heap_set(h, i, h->a[c]);
		i = c;
	}
	heap_set(h, i, e);
}

/* t must not be pending: the workload always cancels first. */
static void heap_add(struct heap *h, struct heap_timer *t, uint64_t d)
{
	struct heap_ent e = {.key = d, .t = t};

	t->deadline_ns = d;
	heap_sift_up(h, h->n++, e);
}

static void heap_cancel(struct heap *h, struct heap_timer *t)
{
	uint32_t i = t->idx;
	struct heap_ent last;

	if (i == HEAP_NONE) {
		return;
	}
	t->idx = HEAP_NONE;
	last = h->a[--h->n];
	if (i == h->n) {
		return;
	}
	if (i > 0 && last.key < h->a[(i - 1) / 2].key) {
		heap_sift_up(h, i, last);
	} else {
		heap_sift_down(h, i, last);
	}
}

static unsigned heap_expire(struct heap *h, uint64_t now_ns)
{
	unsigned n = 0;

	while (h->n && h->a[0].key <= now_ns) {
		struct heap_timer *t = h->a[0].t;

		t->idx = HEAP_NONE;
		if (--h->n) {
			heap_sift_down(h, 0, h->a[h->n]);
		}
		t->fn(t, now_ns);
		n++;
	}
	return n;
}

/* ---- the two sides of the workload ---- */

static struct wheel *bench_wheel;
static struct heap bench_heap;

static void bench_wheel_rearm(struct wheel_timer *t, uint64_t now_ns)
{
	wheel_add(bench_wheel, t, now_ns + 1 + bench_below(BENCH_SPAN_NS));
}

static void bench_heap_rearm(struct heap_timer *t, uint64_t now_ns)
{
	heap_add(&bench_heap, t, now_ns + 1 + bench_below(BENCH_SPAN_NS));
}

struct bench_cfg {
	uint32_t live;
	uint64_t ops;	/* add+cancel pairs per round */
	uint64_t fires; /* expirations per round */
	unsigned rounds;
};

struct bench_res {
	double wheel_ac[BENCH_MAX_ROUNDS], heap_ac[BENCH_MAX_ROUNDS];
	double wheel_ex[BENCH_MAX_ROUNDS], heap_ex[BENCH_MAX_ROUNDS];
};

/* Start of virtual time: non-round, far from 0, like CLOCK_MONOTONIC. */
#define BENCH_T0 (UINT64_C(86400) * NSEC_PER_SEC + 123456789)

static double bench_wheel_add_cancel(const struct bench_cfg *c,
				     struct wheel_timer *tm)
{
	uint64_t now = BENCH_T0, t0, i;
	uint32_t k;

	bench_wheel = wheel_new(now);
	if (!bench_wheel) {
		exit(EXIT_FAILURE);
	}
	for (k = 0; k < c->live; k++) {
		wheel_timer_init(&tm[k], WHEEL_HARD, 0, bench_wheel_rearm);
		wheel_add(bench_wheel, &tm[k],
			  now + 1 + bench_below(BENCH_SPAN_NS));
	}
	t0 = bench_clock_ns();
	for (i = 0; i < c->ops; i++) {
		struct wheel_timer *t = &tm[bench_below(c->live)];

		wheel_cancel(bench_wheel, t);
		wheel_add(bench_wheel, t, now + 1 + bench_below(BENCH_SPAN_NS));
	}
	t0 = bench_clock_ns() - t0;
	bench_wheel = wheel_free(bench_wheel);
	return (double)t0 / (double)c->ops;
}

static double bench_heap_add_cancel(const struct bench_cfg *c,
				    struct heap_timer *tm)
{
	uint64_t now = BENCH_T0, t0, i;
	uint32_t k;

	bench_heap.n = 0;
	for (k = 0; k < c->live; k++) {
		tm[k] = (struct heap_timer){.idx = HEAP_NONE,
					    .fn = bench_heap_rearm};
		heap_add(&bench_heap, &tm[k],
			 now + 1 + bench_below(BENCH_SPAN_NS));
	}
	t0 = bench_clock_ns();
	for (i = 0; i < c->ops; i++) {
		struct heap_timer *t = &tm[bench_below(c->live)];

		heap_cancel(&bench_heap, t);
		heap_add(&bench_heap, t, now + 1 + bench_below(BENCH_SPAN_NS));
	}
	t0 = bench_clock_ns() - t0;
	return (double)t0 / (double)c->ops;
}

/* Mean re-arm period is SPAN / 2, so n timers fire at 2n / SPAN per ns. */
static uint64_t bench_step_ns(uint32_t live)
{
	return MAX(UINT64_C(1),
		   BENCH_PER_STEP * (BENCH_SPAN_NS / 2) / live + 7);
}

static double bench_wheel_expire(const struct bench_cfg *c,
				 struct wheel_timer *tm)
{
	uint64_t now = BENCH_T0, step = bench_step_ns(c->live), t0;
	uint64_t fired = 0;
	uint32_t k;

	bench_wheel = wheel_new(now);
	if (!bench_wheel) {
		exit(EXIT_FAILURE);
	}
	for (k = 0; k < c->live; k++) {
		wheel_timer_init(&tm[k], WHEEL_HARD, 0, bench_wheel_rearm);
		wheel_add(bench_wheel, &tm[k],
			  now + 1 + bench_below(BENCH_SPAN_NS));
	}
	t0 = bench_clock_ns();
	while (fired < c->fires) {
		now += step;
		fired += wheel_expire(bench_wheel, now);
	}
	t0 = bench_clock_ns() - t0;
	bench_wheel = wheel_free(bench_wheel);
	return (double)t0 / (double)fired;
}

static double bench_heap_expire(const struct bench_cfg *c,
				struct heap_timer *tm)
{
	uint64_t now = BENCH_T0, step = bench_step_ns(c->live), t0;
	uint64_t fired = 0;
	uint32_t k;

	bench_heap.n = 0;
	for (k = 0; k < c->live; k++) {
		tm[k] = (struct heap_timer){.idx = HEAP_NONE,
					    .fn = bench_heap_rearm};
		heap_add(&bench_heap, &tm[k],
			 now + 1 + bench_below(BENCH_SPAN_NS));
	}
	t0 = bench_clock_ns();
	while (fired < c->fires) {
		now += step;
		fired += heap_expire(&bench_heap, now);
	}
	t0 = bench_clock_ns() - t0;
	return (double)t0 / (double)fired;
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double bench_median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	const bool quick = argc > 1 && !strcmp(argv[1], "--quick");
	const struct bench_cfg full[] = {
	    {64, 4000000, 2000000, 7},
	    {1024, 4000000, 2000000, 7},
	    {65536, 3000000, 2000000, 7},
	    {1u << 20, 2000000, 2000000, 5},
	};
	const struct bench_cfg fast[] = {
	    {64, 200000, 100000, 3},
	    {1024, 200000, 100000, 3},
	    {65536, 200000, 100000, 3},
	    {1u << 20, 200000, 100000, 1},
	};
	const struct bench_cfg *cfg = quick ? fast : full;
	const char *key[] = {"64", "1k", "64k", "1m"};
	double ac_ratio[4], ex_ratio[4];
	struct wheel_timer *wt;
	struct heap_timer *ht;
	unsigned s, r;

	wt = calloc(1u << 20, sizeof(*wt));
	ht = calloc(1u << 20, sizeof(*ht));
	bench_heap.cap = 1u << 20;
	bench_heap.a = calloc(bench_heap.cap, sizeof(*bench_heap.a));
	if (!wt || !ht || !bench_heap.a) {
		fprintf(stderr, "bench-wheel: %s\n", strerror(ENOMEM));
		return EXIT_FAILURE;
	}

	printf("timer wheel vs binary heap, deadlines uniform over 0..10 s, "
	       "median of rounds%s\n\n",
	       quick ? " (--quick)" : "");
	printf("%8s  %-14s %12s %12s %8s\n", "live", "operation", "wheel ns/op",
	       "heap ns/op", "ratio");
	for (s = 0; s < 4; s++) {
		const struct bench_cfg *c = &cfg[s];
		struct bench_res res;
		double w_ac, h_ac, w_ex, h_ex;

		for (r = 0; r < c->rounds; r++) {
			/* Alternate who goes first: caches, turbo, THP. */
			if (r % 2) {
				res.heap_ac[r] = bench_heap_add_cancel(c, ht);
				res.wheel_ac[r] = bench_wheel_add_cancel(c, wt);
				res.heap_ex[r] = bench_heap_expire(c, ht);
				res.wheel_ex[r] = bench_wheel_expire(c, wt);
			} else {
				res.wheel_ac[r] = bench_wheel_add_cancel(c, wt);
				res.heap_ac[r] = bench_heap_add_cancel(c, ht);
				res.wheel_ex[r] = bench_wheel_expire(c, wt);
				res.heap_ex[r] = bench_heap_expire(c, ht);
			}
		}
		w_ac = bench_median(res.wheel_ac, c->rounds);
		h_ac = bench_median(res.heap_ac, c->rounds);
		w_ex = bench_median(res.wheel_ex, c->rounds);
		h_ex = bench_median(res.heap_ex, c->rounds);
		ac_ratio[s] = h_ac / w_ac;
		ex_ratio[s] = h_ex / w_ex;
		printf("%8" PRIu32 "  %-14s %12.1f %12.1f %7.2fx\n", c->live,
		       "add+cancel", w_ac, h_ac, ac_ratio[s]);
		printf("%8" PRIu32 "  %-14s %12.1f %12.1f %7.2fx\n", c->live,
		       "expire+re-arm", w_ex, h_ex, ex_ratio[s]);
		fflush(stdout);
	}
	printf("\n");
	printf("{\"bench\":\"wheel\"");
	for (s = 0; s < 4; s++) {
		printf(",\"add_cancel_ratio_vs_heap_%s\":%.3f"
		       ",\"expire_ratio_vs_heap_%s\":%.3f",
		       key[s], isfinite(ac_ratio[s]) ? ac_ratio[s] : 0.0,
		       key[s], isfinite(ex_ratio[s]) ? ex_ratio[s] : 0.0);
	}
	printf("}\n");
	free(bench_heap.a);
	free(ht);
	free(wt);
	return EXIT_SUCCESS;
}
