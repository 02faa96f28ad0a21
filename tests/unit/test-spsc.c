/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/spsc.h"

static void spsc_rejects_bad_capacity(void **state)
{
	struct spsc r;
	uint8_t mem[64];

	(void)state;
	assert_int_equal(spsc_init(&r, mem, 0), -EINVAL);
	assert_int_equal(spsc_init(&r, mem, 1), -EINVAL);
	assert_int_equal(spsc_init(&r, mem, 48), -EINVAL);
	assert_int_equal(spsc_init(&r, NULL, 64), -EINVAL);
	assert_int_equal(spsc_init(&r, mem, 64), 0);
}

static void spsc_all_or_nothing(void **state)
{
	struct spsc r;
	uint8_t mem[16], in[20], out[20];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(in); i++) {
		in[i] = (uint8_t)(i + 1);
	}
	assert_int_equal(spsc_init(&r, mem, sizeof(mem)), 0);
	assert_int_equal(spsc_write_avail(&r), 16);
	assert_int_equal(spsc_write(&r, in, 17), -ENOSPC);
	assert_int_equal(spsc_read_avail(&r), 0);
	assert_int_equal(spsc_write(&r, in, 10), 0);
	assert_int_equal(spsc_write(&r, in, 7), -ENOSPC);
	assert_int_equal(spsc_read(&r, out, 11), -ENODATA);
	assert_int_equal(spsc_peek(&r, out, 10), 0);
	assert_memory_equal(out, in, 10);
	assert_int_equal(spsc_read_avail(&r), 10);
	assert_int_equal(spsc_read(&r, out, 10), 0);
	assert_memory_equal(out, in, 10);
	/* Wraps around the end of the buffer. */
	assert_int_equal(spsc_write(&r, in, 16), 0);
	assert_int_equal(spsc_write_avail(&r), 0);
	memset(out, 0, sizeof(out));
	assert_int_equal(spsc_read(&r, out, 16), 0);
	assert_memory_equal(out, in, 16);
	assert_int_equal(spsc_written(&r), 26);
	assert_int_equal(spsc_consumed(&r), 26);
}

static void spsc_write_some_and_skip(void **state)
{
	struct spsc r;
	uint8_t mem[8], in[12] = "abcdefghijk", out[8];

	(void)state;
	assert_int_equal(spsc_init(&r, mem, sizeof(mem)), 0);
	assert_int_equal(spsc_write_some(&r, in, 12), 8);
	assert_int_equal(spsc_skip(&r, 3), 3);
	assert_int_equal(spsc_write_some(&r, in + 8, 4), 3);
	assert_int_equal(spsc_read(&r, out, 8), 0);
	assert_memory_equal(out, "defghijk", 8);
	assert_int_equal(spsc_skip(&r, 5), 0);
}

#define N_BYTES (8u << 20)

struct pipe_test {
	struct spsc r;
	uint8_t mem[4096];
};

/* Bytes carry their position, so a lost, duplicated or reordered byte
 * shows up as a mismatch on the reader's side. */
static void *spsc_producer(void *arg)
{
	struct pipe_test *t = arg;
	uint8_t chunk[97];
	uint64_t pos = 0;

	while (pos < N_BYTES) {
		size_t n = sizeof(chunk), i, w;

		if (n > N_BYTES - pos) {
			n = N_BYTES - pos;
		}
		for (i = 0; i < n; i++) {
			chunk[i] = (uint8_t)((pos + i) * 7 + ((pos + i) >> 8));
		}
		w = spsc_write_some(&t->r, chunk, n);
		pos += w;
		if (w == 0) {
			sched_yield();
		}
	}
	return NULL;
}

static void spsc_two_threads(void **state)
{
	static struct pipe_test t;
	pthread_t th;
	uint8_t chunk[61];
	uint64_t pos = 0;

	(void)state;
	assert_int_equal(spsc_init(&t.r, t.mem, sizeof(t.mem)), 0);
	assert_int_equal(pthread_create(&th, NULL, spsc_producer, &t), 0);
	while (pos < N_BYTES) {
		size_t n = spsc_read_avail(&t.r), i;

		if (n == 0) {
			sched_yield();
			continue;
		}
		if (n > sizeof(chunk)) {
			n = sizeof(chunk);
		}
		assert_int_equal(spsc_read(&t.r, chunk, n), 0);
		for (i = 0; i < n; i++) {
			uint8_t want = (uint8_t)((pos + i) * 7 +
						 ((pos + i) >> 8));
			if (chunk[i] != want) {
				fail_msg("byte %llu: got %u want %u",
					 (unsigned long long)(pos + i),
					 chunk[i], want);
			}
		}
		pos += n;
	}
	pthread_join(th, NULL);
	assert_int_equal(spsc_written(&t.r), N_BYTES);
	assert_int_equal(spsc_consumed(&t.r), N_BYTES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(spsc_rejects_bad_capacity),
		cmocka_unit_test(spsc_all_or_nothing),
		cmocka_unit_test(spsc_write_some_and_skip),
		cmocka_unit_test(spsc_two_threads),
	};

	return cmocka_run_group_tests_name("spsc", tests, NULL, NULL);
}
