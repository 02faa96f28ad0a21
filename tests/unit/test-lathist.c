/* SPDX-License-Identifier: MIT */
/*
 * daemon/lathist: the RT thread's histograms, published round-robin
 * behind per-slot seqlocks.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/hist.h"
#include "core/macro.h"
#include "daemon/lathist.h"

/* One scratch histogram for reads: ~30 KiB, off the stack. */
static struct hist got;

static uint64_t published_count(struct lathist *s, unsigned i)
{
	assert_int_equal(lathist_get(s, i, &got), 0);
	return hist_count(&got);
}

static void lathist_new_rejects(void **state)
{
	struct lathist *s = NULL;

	(void)state;
	assert_int_equal(lathist_new(0, &s), -EINVAL);
	assert_null(s);
	assert_int_equal(lathist_new(3, NULL), -EINVAL);
	assert_null(lathist_free(NULL));
}

static void lathist_range(void **state)
{
	struct lathist *s;

	(void)state;
	assert_int_equal(lathist_new(3, &s), 0);
	assert_int_equal(lathist_size(s), 3);
	assert_non_null(lathist_live(s, 2));
	assert_null(lathist_live(s, 3));
	assert_int_equal(lathist_get(s, 3, &got), -EINVAL);
	/* Distinct storage per histogram. */
	assert_ptr_not_equal(lathist_live(s, 0), lathist_live(s, 1));
	s = lathist_free(s);
}

/* Recorded values reach readers only when published. */
static void lathist_empty_until_published(void **state)
{
	struct lathist *s;
	uint64_t max;

	(void)state;
	assert_int_equal(lathist_new(2, &s), 0);
	assert_int_equal(published_count(s, 0), 0);
	hist_record(lathist_live(s, 0), 1234);
	hist_record(lathist_live(s, 0), 99);
	assert_int_equal(published_count(s, 0), 0);
	lathist_publish(s, 1);
	assert_int_equal(published_count(s, 0), 2);
	assert_int_equal(hist_max(&got, &max), 0);
	assert_int_equal(max, 1234);
	/* A later sample waits for the next round of that histogram. */
	hist_record(lathist_live(s, 0), 5);
	assert_int_equal(published_count(s, 0), 2);
	s = lathist_free(s);
}

/* k per call, in order, wrapping around. */
static void lathist_round_robin(void **state)
{
	const unsigned n = 5;
	struct lathist *s;
	unsigned i;

	(void)state;
	assert_int_equal(lathist_new(n, &s), 0);
	for (i = 0; i < n; i++) {
		hist_record_n(lathist_live(s, i), 10 + i, i + 1);
	}
	lathist_publish(s, 2);
	for (i = 0; i < n; i++) {
		assert_int_equal(published_count(s, i), i < 2 ? i + 1 : 0);
	}
	lathist_publish(s, 2);
	for (i = 0; i < n; i++) {
		assert_int_equal(published_count(s, i), i < 4 ? i + 1 : 0);
	}
	/* The next call copies 4, then wraps to 0. */
	hist_record(lathist_live(s, 0), 7);
	hist_record(lathist_live(s, 1), 7);
	lathist_publish(s, 2);
	assert_int_equal(published_count(s, 4), 5);
	assert_int_equal(published_count(s, 0), 2);
	assert_int_equal(published_count(s, 1), 2); /* not yet again */
	/* k over n is every histogram once. */
	hist_record(lathist_live(s, 3), 7);
	lathist_publish(s, 100);
	assert_int_equal(published_count(s, 1), 3);
	assert_int_equal(published_count(s, 3), 5);
	s = lathist_free(s);
}

static void lathist_reset_empties(void **state)
{
	struct lathist *s;
	uint64_t min;

	(void)state;
	assert_int_equal(lathist_new(3, &s), 0);
	for (unsigned i = 0; i < 3; i++) {
		hist_record(lathist_live(s, i), 500);
	}
	lathist_publish(s, 3);
	assert_int_equal(published_count(s, 2), 1);
	lathist_reset(s);
	/* Live and published read empty at once, before any copy. */
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(hist_count(lathist_live(s, i)), 0);
		assert_int_equal(published_count(s, i), 0);
	}
	/* What comes after the reset, and only that, is published. */
	hist_record(lathist_live(s, 0), 42);
	lathist_publish(s, 1);
	assert_int_equal(published_count(s, 0), 1);
	assert_int_equal(hist_min(&got, &min), 0);
	assert_int_equal(min, 42);
	assert_int_equal(published_count(s, 1), 0);
	/* A second reset empties the new generation too. */
	lathist_reset(s);
	assert_int_equal(published_count(s, 0), 0);
	s = lathist_free(s);
}

/* ceil(n / k) calls between two copies, one period spare. */
static bool age_ok(unsigned n, unsigned k, uint64_t period, uint64_t age)
{
	uint64_t calls = (n + k - 1) / k;

	return calls * period + period <= age;
}

static void lathist_per_call_bound(void **state)
{
	const uint64_t ms = 1000000;

	(void)state;
	/* The daemon's: 20 histograms, a 100 ms tick, 2 s. */
	assert_int_equal(lathist_per_call(20, 100 * ms, 2000 * ms), 2);
	assert_int_equal(lathist_per_call(20, 100 * ms, 1000 * ms), 3);
	assert_int_equal(lathist_per_call(1, 100 * ms, 2000 * ms), 1);
	assert_int_equal(lathist_per_call(20, 100 * ms, 100 * ms), 20);
	assert_int_equal(lathist_per_call(20, 100 * ms, 199 * ms), 20);
	assert_int_equal(lathist_per_call(20, 0, 2000 * ms), 20);
	assert_int_equal(lathist_per_call(0, 100 * ms, 2000 * ms), 1);
	/* The bound holds, and k is the smallest that keeps it. */
	for (unsigned n = 1; n <= 64; n++) {
		for (uint64_t age = 200; age <= 5000; age += 37) {
			unsigned k = lathist_per_call(n, 100, age);

			assert_true(k >= 1 && k <= n);
			assert_true(age_ok(n, k, 100, age));
			if (k > 1) {
				assert_false(age_ok(n, k - 1, 100, age));
			}
		}
	}
}

/*
 * A reader racing the recorder never sees a torn copy: the recorder
 * flips the live histogram between two states and publishes each, and
 * every copy the reader takes equals one of them byte for byte (or the
 * empty one before the first publication).
 */
struct race {
	struct lathist *s;
	struct hist a, b, empty;
	atomic_bool done;
	unsigned long reads, torn;
};

static void *race_reader(void *arg)
{
	struct race *r = arg;
	static struct hist h;

	while (!atomic_load(&r->done) || r->reads < 1000) {
		lathist_get(r->s, 0, &h);
		if (memcmp(&h, &r->a, sizeof(h)) != 0 &&
		    memcmp(&h, &r->b, sizeof(h)) != 0 &&
		    memcmp(&h, &r->empty, sizeof(h)) != 0) {
			r->torn++;
		}
		r->reads++;
	}
	return NULL;
}

static void lathist_reader_never_torn(void **state)
{
	static struct race r;
	pthread_t t;

	(void)state;
	memset(&r, 0, sizeof(r));
	hist_init(&r.a);
	hist_init(&r.b);
	hist_init(&r.empty);
	/* Different buckets, header fields and sums. */
	hist_record_n(&r.a, 100, 1000);
	for (uint64_t v = 1; v <= 3000; v++) {
		hist_record(&r.b, v * 977);
	}
	assert_int_equal(lathist_new(1, &r.s), 0);
	assert_int_equal(pthread_create(&t, NULL, race_reader, &r), 0);
	for (unsigned i = 0; i < 20000; i++) {
		memcpy(lathist_live(r.s, 0), i % 2 ? &r.a : &r.b, sizeof(r.a));
		lathist_publish(r.s, 1);
	}
	atomic_store(&r.done, true);
	assert_int_equal(pthread_join(t, NULL), 0);
	print_message("[ INFO     ] %lu reads\n", r.reads);
	assert_true(r.reads >= 1000);
	assert_int_equal(r.torn, 0);
	r.s = lathist_free(r.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(lathist_new_rejects),
	    cmocka_unit_test(lathist_range),
	    cmocka_unit_test(lathist_empty_until_published),
	    cmocka_unit_test(lathist_round_robin),
	    cmocka_unit_test(lathist_reset_empties),
	    cmocka_unit_test(lathist_per_call_bound),
	    cmocka_unit_test(lathist_reader_never_torn),
	};

	return cmocka_run_group_tests_name("lathist", tests, NULL, NULL);
}
