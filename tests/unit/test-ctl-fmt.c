/* SPDX-License-Identifier: MIT */
/* ttwsctl's number formats and text layout (src/ctl fmt, table, para). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl/fmt.h"
#include "ctl/para.h"
#include "ctl/table.h"

/* Every line of text is at most width columns, none ends in a space. */
static void assert_fits(const char *text, unsigned width)
{
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[512];

		assert_true(len < sizeof(line));
		memcpy(line, p, len);
		line[len] = '\0';
		if (ctl_text_width(line) > width) {
			fail_msg("line wider than %u: '%s'", width, line);
		}
		if (len && line[len - 1] == ' ') {
			fail_msg("trailing space: '%s'", line);
		}
		p += len + (nl != NULL);
	}
}

/* The column (0-based) where needle starts on the line that has it. */
static int column_of(const char *text, const char *needle)
{
	const char *hit = strstr(text, needle), *bol;

	if (!hit) {
		return -1;
	}
	for (bol = hit; bol > text && bol[-1] != '\n'; bol--) {
	}
	return (int)(hit - bol);
}

static void fmt_ns_units(void **state)
{
	char b[CTL_FMT_MAX];

	(void)state;
	assert_string_equal(ctl_fmt_ns(b, sizeof(b), 0), "+0 ns");
	assert_string_equal(ctl_fmt_ns(b, sizeof(b), 999), "+999 ns");
	assert_string_equal(ctl_fmt_ns(b, sizeof(b), -850), "-850 ns");
	assert_string_equal(ctl_fmt_ns(b, sizeof(b), 1500), "+1.500 us");
	assert_string_equal(ctl_fmt_ns(b, sizeof(b), -12345), "-12.345 us");
	assert_string_equal(ctl_fmt_ns(b, sizeof(b), -2500000), "-2.500 ms");
	assert_string_equal(ctl_fmt_ns(b, sizeof(b), 999999), "+999.999 us");
	assert_string_equal(ctl_fmt_ns(b, sizeof(b), 1000000), "+1.000 ms");
	/* Seconds keep every us of a large offset (no double rounding). */
	assert_string_equal(ctl_fmt_ns(b, sizeof(b), -1234567890123LL),
			    "-1234.567890 s");
	assert_string_equal(ctl_fmt_ns(b, sizeof(b), 86400123456789LL),
			    "+86400.123456 s");
	assert_string_equal(ctl_fmt_ns(b, sizeof(b), INT64_MIN),
			    "-9223372036.854775 s");
	assert_true(strlen(ctl_fmt_ns(b, sizeof(b), INT64_MAX)) < CTL_FMT_MAX);
}

static void fmt_ppm_delay_battery(void **state)
{
	char b[CTL_FMT_MAX];

	(void)state;
	assert_string_equal(ctl_fmt_ppm(b, sizeof(b), 12345), "+12.345 ppm");
	assert_string_equal(ctl_fmt_ppm(b, sizeof(b), -3210), "-3.210 ppm");
	assert_string_equal(ctl_fmt_ppm(b, sizeof(b), 0), "+0.000 ppm");
	assert_string_equal(ctl_fmt_delay_us(b, sizeof(b), 40000), "40.000 ms");
	assert_string_equal(ctl_fmt_delay_us(b, sizeof(b), 7500.5), "7.500 ms");
	assert_string_equal(ctl_fmt_battery(b, sizeof(b), 87), "87 %");
	assert_string_equal(ctl_fmt_battery(b, sizeof(b), 0), "0 %");
	assert_string_equal(ctl_fmt_battery(b, sizeof(b), 100), "100 %");
	assert_string_equal(ctl_fmt_battery(b, sizeof(b), 255), "unknown");
}

static void fmt_uptime(void **state)
{
	char b[CTL_FMT_MAX];

	(void)state;
	assert_string_equal(ctl_fmt_uptime_us(b, sizeof(b), 42000000),
			    "42.0 s");
	assert_string_equal(ctl_fmt_uptime_us(b, sizeof(b), 303000000),
			    "5m 03s");
	assert_string_equal(ctl_fmt_uptime_us(b, sizeof(b), 7503000000ULL),
			    "2h 05m 03s");
	assert_string_equal(
	    ctl_fmt_uptime_us(b, sizeof(b),
			      (3ULL * 86400 + 2 * 3600 + 5 * 60 + 9) * 1000000),
	    "3d 02h 05m");
}

/* Histogram cells: short, precise where it matters, never wider than 7. */
static void fmt_hist_us(void **state)
{
	char b[CTL_FMT_MAX];
	double v;

	(void)state;
	assert_string_equal(ctl_fmt_hist_us(b, sizeof(b), 3.456), "3.46");
	assert_string_equal(ctl_fmt_hist_us(b, sizeof(b), 0.04), "0.04");
	assert_string_equal(ctl_fmt_hist_us(b, sizeof(b), 45.67), "45.7");
	assert_string_equal(ctl_fmt_hist_us(b, sizeof(b), 999.94), "999.9");
	assert_string_equal(ctl_fmt_hist_us(b, sizeof(b), 12345.6), "12346");
	assert_string_equal(ctl_fmt_hist_us(b, sizeof(b), 2.5e6), "2.5s");
	assert_string_equal(ctl_fmt_hist_us(b, sizeof(b), -4.0), "-4.00");
	for (v = 0.001; v < 1e10; v *= 1.7) {
		assert_true(strlen(ctl_fmt_hist_us(b, sizeof(b), v)) <= 7);
	}
}

static char *print_table(struct ctl_table *t, unsigned indent)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(ctl_table_print(t, f, indent, CTL_WIDTH), 0);
	fclose(f);
	return text;
}

static void table_aligns(void **state)
{
	struct ctl_table *t = ctl_table_new(3);
	char *text;

	(void)state;
	assert_non_null(t);
	ctl_table_align(t, 1, CTL_ALIGN_RIGHT);
	ctl_table_cell(t, "name");
	ctl_table_cell(t, "count");
	ctl_table_cell(t, "note");
	ctl_table_end_row(t);
	ctl_table_cell(t, "a");
	ctl_table_cell(t, "%d", 7);
	ctl_table_cell(t, "x");
	ctl_table_end_row(t);
	ctl_table_cell(t, "longer");
	ctl_table_cell(t, "%d", 12345);
	ctl_table_end_row(t); /* missing last cell: empty, no spaces */
	text = print_table(t, 2);
	assert_string_equal(text, "  name    count  note\n"
				  "  a           7  x\n"
				  "  longer  12345\n");
	free(text);
	ctl_table_free(t);
	assert_null(ctl_table_free(NULL));
}

/* Two spaces between columns while it fits 80, else one. */
static void table_gap_shrinks(void **state)
{
	struct ctl_table *t = ctl_table_new(4);
	char *text;

	(void)state;
	/* 20 * 4 + 3 gaps: 86 with two spaces, 83 with one: over; make
	 * it 19 wide: 82 with two, 79 with one. */
	ctl_table_align(t, 3, CTL_ALIGN_RIGHT);
	ctl_table_cell(t, "%s", "aaaaaaaaaaaaaaaaaaa");
	ctl_table_cell(t, "%s", "bbbbbbbbbbbbbbbbbbb");
	ctl_table_cell(t, "%s", "ccccccccccccccccccc");
	ctl_table_cell(t, "%s", "ddddddddddddddddddd");
	ctl_table_end_row(t);
	text = print_table(t, 0);
	assert_fits(text, 80);
	/* One space rather than wrapping: still one line. */
	assert_int_equal(column_of(text, "b"), 20);
	assert_int_equal(strchr(text, '\n')[1], '\0');
	free(text);
	ctl_table_free(t);

	t = ctl_table_new(2);
	ctl_table_cell(t, "%s", "short");
	ctl_table_cell(t, "%s", "x");
	ctl_table_end_row(t);
	text = print_table(t, 0);
	assert_string_equal(text, "short  x\n");
	free(text);
	ctl_table_free(t);
}

/* A long last cell wraps at spaces under itself; nothing is lost. */
static void table_wraps_last_column(void **state)
{
	static const char detail[] =
	    "cpuset partition root invalid: the kernel reports the "
	    "partition of ttws-rt.slice as 'root invalid (Cpu list in "
	    "cpuset.cpus not exclusive)'; see ttws-cgroup check";
	struct ctl_table *t = ctl_table_new(3);
	char *text, *p, joined[sizeof(detail) + 64] = "";
	int col;

	(void)state;
	ctl_table_cell(t, "cpuset");
	ctl_table_cell(t, "warning");
	ctl_table_cell(t, "%s", detail);
	ctl_table_end_row(t);
	text = print_table(t, 0);
	assert_fits(text, 80);
	col = column_of(text, "cpuset partition");
	assert_int_equal(col, 17);
	/* Continuation lines start at the same column, and the words read
	 * back in order. */
	for (p = text; *p;) {
		char *nl = strchr(p, '\n');

		assert_non_null(nl);
		assert_true(nl - p > col);
		if (p != text) {
			assert_memory_equal(p, "                 ", 17);
			strcat(joined, " ");
		}
		strncat(joined, p + col, (size_t)(nl - p - col));
		p = nl + 1;
	}
	assert_true(strchr(strchr(text, '\n') + 1, '\n') != NULL);
	assert_string_equal(joined, detail);
	free(text);
	ctl_table_free(t);
}

/* A long middle cell (a path) is narrowed and broken; the numbers
 * column right of it stays whole. */
static void table_narrows_middle_column(void **state)
{
	static const char path[] =
	    "/tmp/ttwsctl-test.ylctuq/a-rather-long-directory/right.sock";
	struct ctl_table *t = ctl_table_new(4);
	char *text, joined[128] = "";
	const char *p;
	int col_value, col_mode;

	(void)state;
	ctl_table_cell(t, "NAME");
	ctl_table_cell(t, "VALUE");
	ctl_table_cell(t, "MODE");
	ctl_table_cell(t, "RANGE");
	ctl_table_end_row(t);
	ctl_table_cell(t, "link.right.path");
	ctl_table_cell(t, "%s", path);
	ctl_table_cell(t, "restart");
	ctl_table_cell(t, "text, at most 255 bytes");
	ctl_table_end_row(t);
	text = print_table(t, 0);
	assert_fits(text, 80);
	col_value = column_of(text, "VALUE");
	col_mode = column_of(text, "MODE");
	assert_int_equal(column_of(text, "restart"), col_mode);
	assert_int_equal(column_of(text, "/tmp"), col_value);
	/* The path reads back whole from the value column's lines. */
	for (p = strchr(text, '\n') + 1; *p; p = strchr(p, '\n') + 1) {
		const char *nl = strchr(p, '\n');
		size_t n = (size_t)(nl - p) > (size_t)col_value
			       ? strcspn(p + col_value, " \n")
			       : 0;

		strncat(joined, p + col_value, n);
	}
	assert_string_equal(joined, path);
	free(text);
	ctl_table_free(t);
}

/* Columns, not bytes: UTF-8 text that fits is not wrapped, and a wrapped
 * one is never cut inside a character. */
static void table_wraps_utf8_by_columns(void **state)
{
	struct ctl_table *t = ctl_table_new(2);
	char fits[256] = "", longer[512] = "", *text;
	const char *p;
	int i;

	(void)state;
	/* 74 columns, 148 bytes: with "key" and two spaces, exactly 79. */
	for (i = 0; i < 74; i++) {
		strcat(fits, "\xc2\xb5");
	}
	ctl_table_cell(t, "key");
	ctl_table_cell(t, "%s", fits);
	ctl_table_end_row(t);
	text = print_table(t, 0);
	assert_int_equal(strchr(text, '\n')[1], '\0');
	free(text);
	ctl_table_free(t);

	t = ctl_table_new(2);
	for (i = 0; i < 60; i++) {
		strcat(longer, "\xc2\xb5s ");
	}
	ctl_table_cell(t, "key");
	ctl_table_cell(t, "%s", longer);
	ctl_table_end_row(t);
	text = print_table(t, 0);
	assert_fits(text, 80);
	assert_non_null(strchr(strchr(text, '\n') + 1, '\n'));
	for (p = text; *p; p = strchr(p, '\n') + 1) {
		const char *nl = strchr(p, '\n');

		/* Neither starts with a continuation byte nor ends with
		 * the lead byte of a character. */
		assert_int_not_equal((unsigned char)p[5] & 0xc0, 0x80);
		assert_int_not_equal((unsigned char)nl[-1], 0xc2);
	}
	free(text);
	ctl_table_free(t);
}

static void table_text_width(void **state)
{
	(void)state;
	assert_int_equal(ctl_text_width(""), 0);
	assert_int_equal(ctl_text_width("abc"), 3);
	assert_int_equal(ctl_text_width("\xc2\xb5s"), 2); /* "µs" */
}

/* Too many cells is an error the print reports, not a crash. */
static void table_too_many_cells(void **state)
{
	struct ctl_table *t = ctl_table_new(1);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	ctl_table_cell(t, "a");
	ctl_table_cell(t, "b");
	assert_int_equal(ctl_table_print(t, f, 0, 80), -E2BIG);
	fclose(f);
	free(text);
	ctl_table_free(t);
}

static void para_fills_width(void **state)
{
	char *text = NULL, want[32];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct ctl_para p;
	int i;

	(void)state;
	ctl_para_begin(&p, f, "loop", 11, 80);
	for (i = 0; i < 30; i++) {
		ctl_para_item(&p, "counter_%d %d", i, i * 1000);
	}
	ctl_para_end(&p);
	ctl_para_begin(&p, f, "empty", 11, 80);
	ctl_para_end(&p);
	fclose(f);
	assert_fits(text, 80);
	assert_memory_equal(text, "loop       counter_0 0, counter_1 1000", 38);
	for (i = 0; i < 30; i++) {
		snprintf(want, sizeof(want), "counter_%d %d", i, i * 1000);
		assert_non_null(strstr(text, want));
	}
	/* Continuation lines are indented to the items' column. */
	assert_non_null(strstr(text, ",\n           counter_"));
	assert_non_null(strstr(text, "\nempty      -\n"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fmt_ns_units),
	    cmocka_unit_test(fmt_ppm_delay_battery),
	    cmocka_unit_test(fmt_uptime),
	    cmocka_unit_test(fmt_hist_us),
	    cmocka_unit_test(table_aligns),
	    cmocka_unit_test(table_gap_shrinks),
	    cmocka_unit_test(table_wraps_last_column),
	    cmocka_unit_test(table_narrows_middle_column),
	    cmocka_unit_test(table_wraps_utf8_by_columns),
	    cmocka_unit_test(table_text_width),
	    cmocka_unit_test(table_too_many_cells),
	    cmocka_unit_test(para_fills_width),
	};

	return cmocka_run_group_tests_name("ctl-fmt", tests, NULL, NULL);
}
