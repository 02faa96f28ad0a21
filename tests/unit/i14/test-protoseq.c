/* SPDX-License-Identifier: MIT */
/*
 * core/protoseq: the replay window over ttws-link sequence numbers. Table
 * cases for each rule, then 200k random numbers against a reference that
 * remembers every number (a set, not a window) and applies the rules as
 * protoseq.h states them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/protoseq.h"

static void protoseq_first_is_taken(void **state)
{
	struct protoseq s;

	(void)state;
	protoseq_reset(&s);
	assert_int_equal(protoseq_check(&s, 40000), 0);
	/* Numbering starts at 0: what came before the first was skipped. */
	assert_int_equal(s.gaps, 40000);
	assert_int_equal(protoseq_check(&s, 40000), -EEXIST);
	assert_int_equal(protoseq_check(&s, 40001), 0);
}

static void protoseq_in_order_and_replay(void **state)
{
	struct protoseq s;

	(void)state;
	protoseq_reset(&s);
	for (unsigned i = 0; i < 1000; i++) {
		assert_int_equal(protoseq_check(&s, (uint16_t)i), 0);
	}
	assert_int_equal(s.gaps, 0);
	assert_int_equal(s.late, 0);
	/* Every number still in the window is a replay; the one just past
	 * it too old to tell. */
	for (unsigned k = 0; k < PROTOSEQ_WINDOW; k++) {
		assert_int_equal(protoseq_check(&s, (uint16_t)(999 - k)),
				 -EEXIST);
	}
	assert_int_equal(protoseq_check(&s, (uint16_t)(999 - PROTOSEQ_WINDOW)),
			 -ESTALE);
	assert_int_equal(protoseq_check(&s, 0), -ESTALE);
}

static void protoseq_overtaken_once(void **state)
{
	struct protoseq s;

	(void)state;
	protoseq_reset(&s);
	assert_int_equal(protoseq_check(&s, 0), 0);
	assert_int_equal(protoseq_check(&s, 3), 0); /* 1 and 2 overtaken */
	assert_int_equal(s.gaps, 2);
	assert_int_equal(protoseq_check(&s, 2), 0);
	assert_int_equal(protoseq_check(&s, 1), 0);
	assert_int_equal(s.late, 2);
	assert_int_equal(protoseq_check(&s, 1), -EEXIST);
	assert_int_equal(protoseq_check(&s, 2), -EEXIST);
	/* A refused number changes nothing. */
	assert_int_equal(s.late, 2);
	assert_int_equal(s.top, 3);
}

static void protoseq_wraps(void **state)
{
	struct protoseq s;

	(void)state;
	protoseq_reset(&s);
	assert_int_equal(protoseq_check(&s, 65534), 0);
	assert_int_equal(protoseq_check(&s, 65535), 0);
	assert_int_equal(protoseq_check(&s, 0), 0);
	assert_int_equal(protoseq_check(&s, 1), 0);
	assert_int_equal(s.gaps, 65534);
	assert_int_equal(protoseq_check(&s, 65535), -EEXIST);
	assert_int_equal(protoseq_check(&s, 0), -EEXIST);
}

static void protoseq_jump(void **state)
{
	struct protoseq s;

	(void)state;
	protoseq_reset(&s);
	assert_int_equal(protoseq_check(&s, 10), 0);
	/* Up to 2^15 - 1 ahead is newer (RFC 1982). */
	assert_int_equal(protoseq_check(&s, 10 + 0x7fff), 0);
	assert_int_equal(s.gaps, 10 + 0x7ffe);
	assert_int_equal(protoseq_check(&s, 10), -ESTALE);
	/* Exactly 2^15 ahead counts as behind: refused, too old. */
	assert_int_equal(protoseq_check(&s, (uint16_t)(10 + 0x7fff + 0x8000)),
			 -ESTALE);
	/* A jump within the window keeps what it still covers. */
	protoseq_reset(&s);
	assert_int_equal(protoseq_check(&s, 100), 0);
	assert_int_equal(protoseq_check(&s, 100 + 70), 0);
	assert_int_equal(protoseq_check(&s, 100), -EEXIST);
	assert_int_equal(protoseq_check(&s, 101), 0);
	assert_int_equal(protoseq_check(&s, 100 + 300), 0);
	/* 170 is 230 behind 400: still covered; 101 is 299 behind. */
	assert_int_equal(protoseq_check(&s, 100 + 70), -EEXIST);
	assert_int_equal(protoseq_check(&s, 101), -ESTALE);
	assert_int_equal(protoseq_check(&s, 100 + 71), 0);
}

/* The reference: every number ever taken, and the highest (serial). */
struct ref {
	bool any;
	uint16_t top;
	bool taken[65536];
};

static int ref_check(struct ref *r, uint16_t seq)
{
	uint16_t ahead = (uint16_t)(seq - r->top);
	uint16_t behind = (uint16_t)(r->top - seq);

	if (!r->any) {
		r->any = true;
		r->top = seq;
		r->taken[seq] = true;
		return 0;
	}
	if (ahead != 0 && ahead < 0x8000u) {
		/* The numbers that fall out of the window are forgotten. */
		unsigned from = ahead >= PROTOSEQ_WINDOW ?
					0 :
					PROTOSEQ_WINDOW - ahead;

		for (unsigned k = from; k < PROTOSEQ_WINDOW; k++) {
			r->taken[(uint16_t)(r->top - k)] = false;
		}
		r->top = seq;
		r->taken[seq] = true;
		return 0;
	}
	if (behind >= PROTOSEQ_WINDOW) {
		return -ESTALE;
	}
	if (r->taken[seq]) {
		return -EEXIST;
	}
	r->taken[seq] = true;
	return 0;
}

static void protoseq_random_vs_reference(void **state)
{
	static struct ref ref;
	struct protoseq s;
	uint32_t x = 12345;
	uint16_t base = 0;

	(void)state;
	memset(&ref, 0, sizeof(ref));
	protoseq_reset(&s);
	for (unsigned i = 0; i < 200000; i++) {
		uint16_t seq;
		int want, got;

		x = x * 1103515245u + 12345u;
		/* Mostly near the top: in order, a little ahead, a little
		 * behind; sometimes anywhere. */
		switch ((x >> 16) % 8) {
		case 0:
			seq = (uint16_t)(x >> 8);
			break;
		case 1:
		case 2:
			seq = (uint16_t)(base - (x >> 20) % 300);
			break;
		default:
			seq = (uint16_t)(base + (x >> 20) % 4);
			break;
		}
		want = ref_check(&ref, seq);
		got = protoseq_check(&s, seq);
		if (got != want) {
			fail_msg("step %u, seq %u (top %u): got %d, want %d", i,
				 seq, s.top, got, want);
		}
		base = s.top;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(protoseq_first_is_taken),
		cmocka_unit_test(protoseq_in_order_and_replay),
		cmocka_unit_test(protoseq_overtaken_once),
		cmocka_unit_test(protoseq_wraps),
		cmocka_unit_test(protoseq_jump),
		cmocka_unit_test(protoseq_random_vs_reference),
	};

	return cmocka_run_group_tests_name("protoseq", tests, NULL, NULL);
}
