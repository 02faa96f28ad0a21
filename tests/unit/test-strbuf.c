/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/strbuf.h"

static void strbuf_appends(void **state)
{
	char buf[32];
	struct strbuf sb = { .buf = buf, .size = sizeof(buf) };

	(void)state;
	strbuf_put(&sb, "a=%d", 1);
	strbuf_put(&sb, ", b=%s", "two");
	assert_string_equal(buf, "a=1, b=two");
	assert_int_equal(sb.len, strlen("a=1, b=two"));
	assert_false(sb.overflow);
}

static void strbuf_overflow_keeps_prefix(void **state)
{
	char buf[8];
	struct strbuf sb = { .buf = buf, .size = sizeof(buf) };

	(void)state;
	strbuf_put(&sb, "abcd");
	strbuf_put(&sb, "efghij");
	assert_true(sb.overflow);
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_memory_equal(buf, "abcdefg", 8);
	/* Later appends are dropped, the prefix stays. */
	strbuf_put(&sb, "xyz");
	assert_memory_equal(buf, "abcdefg", 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(strbuf_appends),
		cmocka_unit_test(strbuf_overflow_keeps_prefix),
	};

	return cmocka_run_group_tests_name("strbuf", tests, NULL, NULL);
}
