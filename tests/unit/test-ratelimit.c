/* SPDX-License-Identifier: MIT */
/*
 * core/ratelimit: burst per key and window, exact counts in the reports,
 * independent keys, a fixed table that pushes out the key whose window
 * started first, and the window's end to the ns. Time is the test's.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <syslog.h>

#include <cmocka.h>

#include "core/ratelimit.h"

/* The logger's configuration (daemon/log.h). */
#define BURST 10u
#define WINDOW_NS (5 * UINT64_C(1000000000))
#define SLOTS 32u
#define T0 (1000 * UINT64_C(1000000000))

#define CAP_MAX 64

struct cap_report {
	struct ratelimit_key key;
	enum ratelimit_reason reason;
	uint32_t suppressed;
	int level;
	uint64_t start_ns;
	char sample[RATELIMIT_SAMPLE_MAX];
};

static struct {
	unsigned n;
	struct cap_report r[CAP_MAX];
} cap;

static struct ratelimit_slot slots[SLOTS];
static struct ratelimit rl;

static void cap_report(const struct ratelimit_report *r, void *user_data)
{
	struct cap_report *c;

	assert_ptr_equal(user_data, &cap);
	assert_true(cap.n < CAP_MAX);
	assert_non_null(r->sample);
	assert_true(strlen(r->sample) < RATELIMIT_SAMPLE_MAX);
	c = &cap.r[cap.n++];
	c->key = r->key;
	c->reason = r->reason;
	c->suppressed = r->suppressed;
	c->level = r->level;
	c->start_ns = r->start_ns;
	strcpy(c->sample, r->sample);
}

static int setup(void **state)
{
	(void)state;
	memset(&cap, 0, sizeof(cap));
	/* Dirty storage: init must clear it. */
	memset(slots, 0xa5, sizeof(slots));
	assert_int_equal(ratelimit_init(&rl, slots, SLOTS, BURST, WINDOW_NS,
					cap_report, &cap),
			 0);
	return 0;
}

static struct ratelimit_key key(uint32_t kind, int32_t scope, uint64_t hash)
{
	return (struct ratelimit_key){
		.kind = kind, .scope = scope, .hash = hash};
}

/* n records of k at now_ns; returns how many passed. */
static unsigned admit_n(const struct ratelimit_key *k, unsigned n, int level,
			const char *text, uint64_t now_ns)
{
	unsigned i, passed = 0;

	for (i = 0; i < n; i++) {
		if (ratelimit_admit(&rl, k, level, text, now_ns) ==
		    RATELIMIT_PASS) {
			passed++;
		}
	}
	return passed;
}

static void init_rejects_bad_arguments(void **state)
{
	struct ratelimit r;
	struct ratelimit_slot s[2];

	(void)state;
	assert_int_equal(ratelimit_init(&r, NULL, 2, 1, 1, cap_report, NULL),
			 -EINVAL);
	assert_int_equal(ratelimit_init(&r, s, 0, 1, 1, cap_report, NULL),
			 -EINVAL);
	assert_int_equal(ratelimit_init(&r, s, 2, 0, 1, cap_report, NULL),
			 -EINVAL);
	assert_int_equal(ratelimit_init(&r, s, 2, 1, 0, cap_report, NULL),
			 -EINVAL);
	assert_int_equal(ratelimit_init(&r, s, 2, 1, 1, NULL, NULL), -EINVAL);
	assert_int_equal(ratelimit_init(NULL, s, 2, 1, 1, cap_report, NULL),
			 -EINVAL);
	assert_int_equal(ratelimit_init(&r, s, 2, 1, 1, cap_report, NULL), 0);
}

static void eleventh_suppressed(void **state)
{
	struct ratelimit_key k = key(7, 0, 0);
	unsigned i;

	(void)state;
	for (i = 0; i < BURST; i++) {
		assert_int_equal(ratelimit_admit(&rl, &k, LOG_WARNING, "x",
						 T0 + i),
				 RATELIMIT_PASS);
	}
	assert_int_equal(ratelimit_admit(&rl, &k, LOG_WARNING, "x", T0 + i),
			 RATELIMIT_SUPPRESS);
	assert_int_equal(ratelimit_admit(&rl, &k, LOG_WARNING, "x", T0 + i),
			 RATELIMIT_SUPPRESS);
	/* Held back, not yet said. */
	assert_int_equal(cap.n, 0);
	ratelimit_sweep(&rl, T0 + WINDOW_NS / 2);
	assert_int_equal(cap.n, 0);
}

static void summary_count_exact(void **state)
{
	struct ratelimit_key k = key(3, 1, 0);

	(void)state;
	assert_int_equal(admit_n(&k, BURST, LOG_INFO, "first text", T0),
			 BURST);
	assert_int_equal(admit_n(&k, 4, LOG_INFO, "other", T0 + 1000), 0);
	/* The most severe held-back level is the report's. */
	assert_int_equal(admit_n(&k, 1, LOG_ERR, "other", T0 + 2000), 0);
	assert_int_equal(admit_n(&k, 2, LOG_DEBUG, "other", T0 + 3000), 0);
	ratelimit_sweep(&rl, T0 + WINDOW_NS - 1);
	assert_int_equal(cap.n, 0);
	ratelimit_sweep(&rl, T0 + WINDOW_NS);
	assert_int_equal(cap.n, 1);
	assert_int_equal(cap.r[0].suppressed, 7);
	assert_int_equal(cap.r[0].level, LOG_ERR);
	assert_int_equal(cap.r[0].reason, RATELIMIT_WINDOW_OVER);
	assert_int_equal(cap.r[0].start_ns, T0);
	assert_int_equal(cap.r[0].key.kind, 3);
	assert_int_equal(cap.r[0].key.scope, 1);
	/* The text of the key's first record. */
	assert_string_equal(cap.r[0].sample, "first text");
	/* Said once; the key starts afresh. */
	ratelimit_sweep(&rl, T0 + 3 * WINDOW_NS);
	assert_int_equal(cap.n, 1);
	assert_int_equal(admit_n(&k, BURST + 1, LOG_INFO, "again",
				 T0 + 3 * WINDOW_NS),
			 BURST);
	ratelimit_flush(&rl);
	assert_int_equal(cap.n, 2);
	assert_int_equal(cap.r[1].suppressed, 1);
	assert_int_equal(cap.r[1].level, LOG_INFO);
	assert_int_equal(cap.r[1].reason, RATELIMIT_FLUSHED);
	assert_string_equal(cap.r[1].sample, "again");
}

/* The first record after the window closes it: report, then it passes. */
static void window_closed_by_next_record(void **state)
{
	struct ratelimit_key k = key(1, -1, 0);

	(void)state;
	assert_int_equal(admit_n(&k, BURST + 5, LOG_NOTICE, "a", T0), BURST);
	assert_int_equal(ratelimit_admit(&rl, &k, LOG_NOTICE, "a",
					 T0 + WINDOW_NS + 7),
			 RATELIMIT_PASS);
	assert_int_equal(cap.n, 1);
	assert_int_equal(cap.r[0].suppressed, 5);
	assert_int_equal(cap.r[0].start_ns, T0);
	/* A new window from that record: BURST in it, the first counted. */
	assert_int_equal(admit_n(&k, BURST, LOG_NOTICE, "a",
				 T0 + WINDOW_NS + 8),
			 BURST - 1);
	ratelimit_flush(&rl);
	assert_int_equal(cap.n, 2);
	assert_int_equal(cap.r[1].suppressed, 1);
	assert_int_equal(cap.r[1].start_ns, T0 + WINDOW_NS + 7);
}

static void keys_independent(void **state)
{
	struct ratelimit_key a = key(5, 0, 0), other_scope = key(5, 1, 0),
			     other_kind = key(6, 0, 0),
			     other_hash = key(5, 0, 42);

	(void)state;
	assert_int_equal(admit_n(&a, BURST + 3, LOG_WARNING, "a", T0), BURST);
	/* a is saturated; each key differing in one part is not. */
	assert_int_equal(admit_n(&other_scope, BURST, LOG_WARNING, "s", T0),
			 BURST);
	assert_int_equal(admit_n(&other_kind, BURST, LOG_WARNING, "k", T0),
			 BURST);
	assert_int_equal(admit_n(&other_hash, BURST, LOG_WARNING, "h", T0),
			 BURST);
	assert_int_equal(admit_n(&a, 1, LOG_WARNING, "a", T0), 0);
	ratelimit_sweep(&rl, T0 + WINDOW_NS);
	/* Only a held anything back, and only a's count is in it. */
	assert_int_equal(cap.n, 1);
	assert_int_equal(cap.r[0].key.kind, 5);
	assert_int_equal(cap.r[0].key.scope, 0);
	assert_int_equal(cap.r[0].key.hash, 0);
	assert_int_equal(cap.r[0].suppressed, 4);
}

/*
 * A full table evicts the key whose window started first, not the first
 * slot, and says that key's count as it goes.
 */
static void full_table_evicts_oldest(void **state)
{
	struct ratelimit_key k;
	unsigned i;

	(void)state;
	/* Key 0 in slot 0 at T0, 3 held back; keys 1..31 at T0 + i; key 1
	 * with 4 held back. */
	k = key(0, 0, 0);
	assert_int_equal(admit_n(&k, BURST + 3, LOG_INFO, "key 0", T0), BURST);
	for (i = 1; i < SLOTS; i++) {
		k = key(i, 0, 0);
		assert_int_equal(admit_n(&k, i == 1 ? BURST + 4 : 1, LOG_INFO,
					 "key i", T0 + i),
				 i == 1 ? BURST : 1);
	}
	assert_int_equal(cap.n, 0);
	/* Key 32 pushes out key 0, the oldest, with its count. */
	k = key(SLOTS, 0, 0);
	assert_int_equal(ratelimit_admit(&rl, &k, LOG_INFO, "new", T0 + 100),
			 RATELIMIT_PASS);
	assert_int_equal(cap.n, 1);
	assert_int_equal(cap.r[0].key.kind, 0);
	assert_int_equal(cap.r[0].reason, RATELIMIT_EVICTED);
	assert_int_equal(cap.r[0].suppressed, 3);
	assert_string_equal(cap.r[0].sample, "key 0");
	/* Key 0 comes back: a new key, admitted afresh; it pushes out key
	 * 1 (now the oldest), whose 4 are said. */
	k = key(0, 0, 0);
	assert_int_equal(ratelimit_admit(&rl, &k, LOG_INFO, "key 0",
					 T0 + 200),
			 RATELIMIT_PASS);
	assert_int_equal(cap.n, 2);
	assert_int_equal(cap.r[1].key.kind, 1);
	assert_int_equal(cap.r[1].reason, RATELIMIT_EVICTED);
	assert_int_equal(cap.r[1].suppressed, 4);
	/* Key 2 goes next, silently: it held nothing back. */
	k = key(SLOTS + 1, 0, 0);
	assert_int_equal(ratelimit_admit(&rl, &k, LOG_INFO, "x", T0 + 300),
			 RATELIMIT_PASS);
	assert_int_equal(cap.n, 2);
	k = key(2, 0, 0);
	assert_int_equal(admit_n(&k, BURST, LOG_INFO, "key 2", T0 + 301),
			 BURST);
}

/* A window restarted later makes its key younger than keys opened after
 * it: the victim is by window start, not by slot or first use. */
static void eviction_by_window_start(void **state)
{
	struct ratelimit_key k;
	unsigned i;

	(void)state;
	for (i = 0; i < SLOTS; i++) {
		k = key(i, 0, 0);
		assert_int_equal(admit_n(&k, i == 1 ? BURST + 2 : 1, LOG_INFO,
					 "k", T0 + i),
				 i == 1 ? BURST : 1);
	}
	/* Key 0's next record, after its window: it restarts there. */
	k = key(0, 0, 0);
	assert_int_equal(ratelimit_admit(&rl, &k, LOG_INFO, "k",
					 T0 + WINDOW_NS),
			 RATELIMIT_PASS);
	assert_int_equal(cap.n, 0);
	k = key(SLOTS, 0, 0);
	assert_int_equal(ratelimit_admit(&rl, &k, LOG_INFO, "new",
					 T0 + WINDOW_NS + 1),
			 RATELIMIT_PASS);
	/* Key 1 (started T0 + 1) went, with its 2; key 0 stayed. */
	assert_int_equal(cap.n, 1);
	assert_int_equal(cap.r[0].key.kind, 1);
	assert_int_equal(cap.r[0].suppressed, 2);
	k = key(0, 0, 0);
	assert_int_equal(admit_n(&k, BURST, LOG_INFO, "k", T0 + WINDOW_NS + 2),
			 BURST - 1);
}

static void window_boundary_exact(void **state)
{
	struct ratelimit_key a = key(9, 0, 0), b = key(9, 1, 0);

	(void)state;
	assert_int_equal(admit_n(&a, BURST, LOG_INFO, "a", T0), BURST);
	/* 1 ns before the end: still the window. */
	assert_int_equal(ratelimit_admit(&rl, &a, LOG_INFO, "a",
					 T0 + WINDOW_NS - 1),
			 RATELIMIT_SUPPRESS);
	assert_int_equal(cap.n, 0);
	/* At the end exactly: a new window, and the old one's report. */
	assert_int_equal(ratelimit_admit(&rl, &a, LOG_INFO, "a",
					 T0 + WINDOW_NS),
			 RATELIMIT_PASS);
	assert_int_equal(cap.n, 1);
	assert_int_equal(cap.r[0].suppressed, 1);
	/* The same boundary for the sweep. */
	assert_int_equal(admit_n(&b, BURST + 1, LOG_INFO, "b", T0), BURST);
	ratelimit_sweep(&rl, T0 + WINDOW_NS - 1);
	assert_int_equal(cap.n, 1);
	ratelimit_sweep(&rl, T0 + WINDOW_NS);
	assert_int_equal(cap.n, 2);
	assert_int_equal(cap.r[1].key.scope, 1);
}

/* Records stamped before the window opened (the RT thread's instants)
 * count inside it rather than wrapping around to "long after". */
static void earlier_instant_is_inside(void **state)
{
	struct ratelimit_key k = key(2, 0, 0);

	(void)state;
	assert_int_equal(admit_n(&k, 1, LOG_INFO, "k", T0), 1);
	assert_int_equal(admit_n(&k, BURST, LOG_INFO, "k", T0 - 1000),
			 BURST - 1);
	ratelimit_sweep(&rl, T0 - 1000);
	ratelimit_sweep(&rl, T0 + WINDOW_NS - 1);
	assert_int_equal(cap.n, 0);
	ratelimit_sweep(&rl, T0 + WINDOW_NS);
	assert_int_equal(cap.n, 1);
	assert_int_equal(cap.r[0].suppressed, 1);
}

static void flush_once_and_reset_forgets(void **state)
{
	struct ratelimit_key a = key(1, 0, 0), b = key(1, 1, 0),
			     c = key(1, 2, 0);

	(void)state;
	assert_int_equal(admit_n(&a, BURST + 1, LOG_INFO, "a", T0), BURST);
	assert_int_equal(admit_n(&b, BURST + 2, LOG_INFO, "b", T0), BURST);
	assert_int_equal(admit_n(&c, BURST, LOG_INFO, "c", T0), BURST);
	ratelimit_flush(&rl);
	/* c held nothing back: no report for it. */
	assert_int_equal(cap.n, 2);
	assert_int_equal(cap.r[0].reason, RATELIMIT_FLUSHED);
	assert_int_equal(cap.r[0].suppressed + cap.r[1].suppressed, 3);
	ratelimit_flush(&rl);
	assert_int_equal(cap.n, 2);
	/* Flushed keys start afresh. */
	assert_int_equal(admit_n(&a, BURST + 1, LOG_INFO, "a", T0 + 1),
			 BURST);
	/* Reset forgets without a word. */
	ratelimit_reset(&rl);
	ratelimit_flush(&rl);
	assert_int_equal(cap.n, 2);
	assert_int_equal(admit_n(&a, BURST, LOG_INFO, "a", T0 + 2), BURST);
}

static void sample_cut_or_empty(void **state)
{
	char long_text[200];
	struct ratelimit_key a = key(0, -1, 1), b = key(0, -1, 2);

	(void)state;
	memset(long_text, 'z', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	assert_int_equal(admit_n(&a, BURST + 1, LOG_INFO, long_text, T0),
			 BURST);
	assert_int_equal(admit_n(&b, BURST + 1, LOG_INFO, NULL, T0), BURST);
	ratelimit_flush(&rl);
	assert_int_equal(cap.n, 2);
	assert_int_equal(strlen(cap.r[0].sample), RATELIMIT_SAMPLE_MAX - 1);
	assert_memory_equal(cap.r[0].sample, long_text,
			    RATELIMIT_SAMPLE_MAX - 1);
	assert_string_equal(cap.r[1].sample, "");
}

/* Published FNV-1a 64 test vectors. */
static void hash_text_fnv1a(void **state)
{
	(void)state;
	assert_true(ratelimit_hash_text("") == UINT64_C(0xcbf29ce484222325));
	assert_true(ratelimit_hash_text("a") == UINT64_C(0xaf63dc4c8601ec8c));
	assert_true(ratelimit_hash_text("foobar") ==
		    UINT64_C(0x85944171f73967e8));
}

#define T(name) { "ratelimit/" #name, name, setup, NULL, NULL }

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(init_rejects_bad_arguments),
		T(eleventh_suppressed),
		T(summary_count_exact),
		T(window_closed_by_next_record),
		T(keys_independent),
		T(full_table_evicts_oldest),
		T(eviction_by_window_start),
		T(window_boundary_exact),
		T(earlier_instant_is_inside),
		T(flush_once_and_reset_forgets),
		T(sample_cut_or_empty),
		T(hash_text_fnv1a),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
