/* SPDX-License-Identifier: MIT */
/*
 * core/cgroup_parse: the files the RT report reads back for the
 * partition (cpuset.cpus.partition), RT throttling (the sysctls) and the
 * partition's CPU (cpu lists). The older parsers (/proc/self/cgroup,
 * mountinfo) are covered in test-rt.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/cgroup_parse.h"
#include "core/macro.h"

static void test_partition_states(void **state)
{
	static const struct {
		const char *text;
		enum cgroup_partition_type type;
		bool valid;
		const char *reason;
	} rows[] = {
	    {"member\n", CGROUP_PARTITION_MEMBER, true, ""},
	    {"root\n", CGROUP_PARTITION_ROOT, true, ""},
	    {"isolated\n", CGROUP_PARTITION_ISOLATED, true, ""},
	    {"isolated", CGROUP_PARTITION_ISOLATED, true, ""},
	    /* 5.x kernels: no reason. */
	    {"root invalid\n", CGROUP_PARTITION_ROOT, false, ""},
	    {"isolated invalid\n", CGROUP_PARTITION_ISOLATED, false, ""},
	    /* >= 6.1: the reason in parentheses, spaces and all. */
	    {"isolated invalid (Parent is not a partition root)\n",
	     CGROUP_PARTITION_ISOLATED, false,
	     "Parent is not a partition root"},
	    {"root invalid (Cpu list in cpuset.cpus not exclusive)\n",
	     CGROUP_PARTITION_ROOT, false,
	     "Cpu list in cpuset.cpus not exclusive"},
	    {"isolated invalid (Invalid cpu list in cpuset.cpus.exclusive)",
	     CGROUP_PARTITION_ISOLATED, false,
	     "Invalid cpu list in cpuset.cpus.exclusive"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct cgroup_partition p;

		memset(&p, 0x5a, sizeof(p));
		assert_int_equal(cgroup_parse_partition(rows[i].text, &p), 0);
		assert_int_equal(p.type, rows[i].type);
		assert_int_equal(p.valid, rows[i].valid);
		assert_string_equal(p.reason, rows[i].reason);
	}
	assert_string_equal(
	    cgroup_partition_type_name(CGROUP_PARTITION_ISOLATED), "isolated");
	assert_string_equal(cgroup_partition_type_name(CGROUP_PARTITION_ROOT),
			    "root");
	assert_string_equal(
	    cgroup_partition_type_name(CGROUP_PARTITION_MEMBER), "member");
}

static void test_partition_rejects(void **state)
{
	static const char *const bad[] = {
	    "",
	    "\n",
	    "Isolated\n",
	    "isolatedx\n",
	    "member invalid\n", /* a member is never invalid */
	    "root valid\n",
	    "root invalid (\n",
	    "root invalid ()\n",
	    "root invalid reason\n",
	    "root invalid (a) tail\n",
	    "root invalid (a\nb)\n",
	    " root\n",
	    "root  invalid\n",
	};
	char longer[CGROUP_PARTITION_REASON_MAX + 40];
	struct cgroup_partition p, before;
	size_t i;

	(void)state;
	memset(&p, 0x5a, sizeof(p));
	before = p;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(cgroup_parse_partition(bad[i], &p), -EINVAL);
		assert_memory_equal(&p, &before, sizeof(p));
	}
	/* A reason longer than the field is an error, not a cut. */
	snprintf(longer, sizeof(longer), "isolated invalid (%0*d)",
		 CGROUP_PARTITION_REASON_MAX, 7);
	assert_int_equal(cgroup_parse_partition(longer, &p), -ENAMETOOLONG);
	assert_memory_equal(&p, &before, sizeof(p));
	assert_int_equal(cgroup_parse_partition(NULL, &p), -EINVAL);
	assert_int_equal(cgroup_parse_partition("root", NULL), -EINVAL);
}

static void test_sysctl_values(void **state)
{
	static const struct {
		const char *text;
		int r;
		int64_t v;
	} rows[] = {
	    {"950000\n", 0, 950000},
	    {"-1\n", 0, -1},
	    {"1000000\n", 0, 1000000},
	    {"0\n", 0, 0},
	    {"9223372036854775807\n", 0, INT64_MAX},
	    {"-9223372036854775808\n", 0, INT64_MIN},
	    {"9223372036854775808\n", -ERANGE, 0},
	    {"-9223372036854775809\n", -ERANGE, 0},
	    {"99999999999999999999\n", -ERANGE, 0},
	    {"", -EINVAL, 0},
	    {"-\n", -EINVAL, 0},
	    {"--1\n", -EINVAL, 0},
	    {"+5\n", -EINVAL, 0},
	    {"95 0000\n", -EINVAL, 0},
	    {"0x10\n", -EINVAL, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		int64_t v = 4242;

		assert_int_equal(cgroup_parse_sysctl_i64(rows[i].text, &v),
				 rows[i].r);
		assert_int_equal(v, rows[i].r == 0 ? rows[i].v : 4242);
	}
}

static void test_rt_throttle(void **state)
{
	static const struct {
		int64_t runtime, period;
		int r;
		enum cgroup_rt_throttle t;
		int64_t left;
	} rows[] = {
	    /* The kernel's default: 50 ms of every second for others. */
	    {950000, 1000000, 0, CGROUP_RT_THROTTLE_ON, 50000},
	    {1, 1000000, 0, CGROUP_RT_THROTTLE_ON, 999999},
	    {-1, 1000000, 0, CGROUP_RT_THROTTLE_OFF, 0},
	    /* Debian's 7.3 kernel reads so by default. */
	    {1000000, 1000000, 0, CGROUP_RT_THROTTLE_FULL, 0},
	    {0, 1000000, 0, CGROUP_RT_THROTTLE_STARVED, 1000000},
	    {-2, 1000000, -EINVAL, 0, 0},
	    {1000001, 1000000, -EINVAL, 0, 0},
	    {950000, 0, -EINVAL, 0, 0},
	    {950000, -1, -EINVAL, 0, 0},
	    {1, (int64_t)INT32_MAX + 1, -EINVAL, 0, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		enum cgroup_rt_throttle t = (enum cgroup_rt_throttle)77;
		int64_t left = 4242;

		assert_int_equal(cgroup_rt_throttle_classify(rows[i].runtime,
							     rows[i].period,
							     &t, &left),
				 rows[i].r);
		if (rows[i].r == 0) {
			assert_int_equal(t, rows[i].t);
			assert_int_equal(left, rows[i].left);
		} else {
			assert_int_equal(t, 77);
			assert_int_equal(left, 4242);
		}
	}
}

/* The lists ttws-cgroup writes and the kernel reads back. */
static void test_cpu_lists(void **state)
{
	uint64_t m[16];

	(void)state;
	assert_int_equal(cgroup_parse_cpulist("1\n", m, 16), 1);
	assert_int_equal(m[0], 2u);
	assert_int_equal(cgroup_parse_cpulist("0-1\n", m, 16), 2);
	assert_int_equal(m[0], 3u);
	assert_int_equal(cgroup_parse_cpulist("3,1023\n", m, 16), 2);
	assert_int_equal(m[15], UINT64_C(1) << 63);
	/* An empty effective list: a partition that lost its CPUs. */
	assert_int_equal(cgroup_parse_cpulist("", m, 16), 0);
	assert_int_equal(cgroup_parse_cpulist("1024", m, 16), -ERANGE);
	assert_int_equal(cgroup_parse_cpulist("1-0", m, 16), -EINVAL);
	assert_int_equal(cgroup_parse_cpulist("-1", m, 16), -EINVAL);
	assert_int_equal(cgroup_parse_cpulist("auto", m, 16), -EINVAL);
}

/* clang-format off */
#define CG_TEST(name, fn) {name, fn, NULL, NULL, NULL}

int main(void)
{
	const struct CMUnitTest tests[] = {
		CG_TEST("cgroup-parse/partition_states", test_partition_states),
		CG_TEST("cgroup-parse/partition_rejects_malformed",
			test_partition_rejects),
		CG_TEST("cgroup-parse/sysctl_values", test_sysctl_values),
		CG_TEST("cgroup-parse/rt_throttle_classify", test_rt_throttle),
		CG_TEST("cgroup-parse/cpu_lists", test_cpu_lists),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}
