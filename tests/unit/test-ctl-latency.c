/* SPDX-License-Identifier: MIT */
/* ttwsctl latency: per-layer percentiles and the tail's dominant layer
 * (src/ctl/view_latency.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl/jsonpath.h"
#include "ctl/table.h"
#include "ctl/view.h"

#define T(c, p50, p99, max)                                                    \
	"{\"count\":" #c ",\"min_us\":0.1,\"p50_us\":" #p50                    \
	",\"p90_us\":" #p50 ",\"p99_us\":" #p99 ",\"p999_us\":" #max           \
	",\"max_us\":" #max ",\"mean_us\":" #p50 "}"

/*
 * Left: the kernel dominates rx, submit dominates tx. The transport table
 * is empty but carries a huge stale p99 (must never be chosen), and
 * tx_kernel has no samples at all. Right: nothing has samples.
 */
static const char stats_json[] = "{\"histograms\":{\"wakeup\":" T(
    10, 1, 2,
    3) ",\"left\":{"
       "\"residual\":" T(
	   100, 1, 2,
	   3) ","
	      "\"rx_transport\":{\"count\":0,\"p99_us\":99999},"
	      "\"rx_kernel\":" T(
		  1200, 3.4, 45.6,
		  120.5) ","
			 "\"rx_loop\":" T(
			     1200, 1.2, 8.9,
			     30) ","
				 "\"rx_handler\":" T(
				     1200, 0.4, 0.9,
				     1.2) ","
					  "\"tx_submit\":" T(
					      1200, 5.5, 22.26,
					      60) ","
						  "\"tx_kernel\":{\"count\":0},"
						  "\"tx_done\":" T(
						      1200, 2, 11,
						      15) "},"
							  "\"right\":{\"rx_"
							  "transport\":{"
							  "\"count\":0},\"rx_"
							  "kernel\":{\"count\":"
							  "0},"
							  "\"rx_loop\":{"
							  "\"count\":0},\"rx_"
							  "handler\":{"
							  "\"count\":0},"
							  "\"tx_submit\":{"
							  "\"count\":0},\"tx_"
							  "kernel\":{\"count\":"
							  "0},"
							  "\"tx_done\":{"
							  "\"count\":0}}}}";

static struct json_object *parse(const char *s)
{
	struct json_object *o = json_tokener_parse(s);

	assert_non_null(o);
	return o;
}

static void latency_layers_read(void **state)
{
	struct json_object *s = parse(stats_json);
	struct ctl_layer l[CTL_LAYERS_MAX];
	size_t n;

	(void)state;
	n = ctl_latency_layers(ctl_json_at(s, "histograms.left"), CTL_DIR_RX,
			       l);
	assert_int_equal(n, 4);
	assert_string_equal(l[0].name, "transport");
	assert_string_equal(l[1].name, "kernel");
	assert_string_equal(l[2].name, "loop");
	assert_string_equal(l[3].name, "handler");
	assert_false(l[0].present);
	assert_true(l[1].present);
	assert_int_equal(l[1].count, 1200);
	assert_true(l[1].p50_us == 3.4 && l[1].p99_us == 45.6 &&
		    l[1].max_us == 120.5);
	n = ctl_latency_layers(ctl_json_at(s, "histograms.left"), CTL_DIR_TX,
			       l);
	assert_int_equal(n, 3);
	assert_string_equal(l[0].name, "submit");
	assert_string_equal(l[1].name, "kernel");
	assert_string_equal(l[2].name, "done");
	assert_false(l[1].present);
	/* No histograms at all: all absent. */
	n = ctl_latency_layers(NULL, CTL_DIR_RX, l);
	assert_int_equal(n, 4);
	assert_false(l[0].present || l[1].present || l[2].present ||
		     l[3].present);
	json_object_put(s);
}

static void latency_dominant(void **state)
{
	struct ctl_layer l[4] = {
	    {.name = "a", .present = true, .count = 5, .p99_us = 10},
	    {.name = "b", .present = true, .count = 5, .p99_us = 30},
	    {.name = "c", .present = false, .count = 0, .p99_us = 1e9},
	    {.name = "d", .present = true, .count = 5, .p99_us = 30},
	};

	(void)state;
	/* Largest P99; an empty layer never wins; a tie goes to the first
	 * (the earlier layer in the packet's path). */
	assert_int_equal(ctl_latency_dominant(l, 4), 1);
	l[1].present = false;
	assert_int_equal(ctl_latency_dominant(l, 4), 3);
	l[3].present = false;
	assert_int_equal(ctl_latency_dominant(l, 4), 0);
	l[0].present = false;
	assert_int_equal(ctl_latency_dominant(l, 4), -1);
	assert_int_equal(ctl_latency_dominant(l, 0), -1);
}

static void latency_view(void **state)
{
	struct json_object *s = parse(stats_json);
	char *text = NULL, *p;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_int_equal(ctl_view_latency(f, s), 0);
	fclose(f);
	for (p = text; *p;) {
		char *nl = strchr(p, '\n');

		assert_non_null(nl);
		assert_true(nl - p <= CTL_WIDTH);
		p = nl + 1;
	}
	assert_non_null(strstr(text, "tail: rx kernel (p99 45.6 us), tx submit "
				     "(p99 22.3 us)\n"));
	/* Right has no samples: dashes, and no layer named. */
	assert_non_null(strstr(text, "tail: rx -, tx -\n"));
	/* The empty transport row: its count, then dashes only. */
	assert_non_null(
	    strstr(text, "rx     transport      0       -       -"));
	assert_non_null(
	    strstr(text, "kernel      1200    3.40    45.6   120.5"));
	assert_null(strstr(text, "99999"));
	free(text);
	json_object_put(s);
}

static void latency_json(void **state)
{
	struct json_object *s = parse(stats_json);
	struct json_object *j = ctl_latency_json(s);
	double d;

	(void)state;
	assert_non_null(j);
	assert_string_equal(ctl_json_string(j, "left.dominant_rx"), "kernel");
	assert_string_equal(ctl_json_string(j, "left.dominant_tx"), "submit");
	assert_int_equal(ctl_json_double(j, "left.rx.kernel.p99_us", &d), 0);
	assert_true(d == 45.6);
	assert_int_equal(ctl_json_double(j, "left.tx.done.max_us", &d), 0);
	assert_true(d == 15);
	/* Empty layers are null, and so is a direction without samples. */
	assert_non_null(ctl_json_at(j, "left.rx"));
	assert_true(json_object_object_get_ex(ctl_json_at(j, "left.rx"),
					      "transport", NULL));
	assert_null(ctl_json_at(j, "left.rx.transport"));
	assert_null(ctl_json_at(j, "right.dominant_rx"));
	assert_true(json_object_object_get_ex(ctl_json_at(j, "right"),
					      "dominant_tx", NULL));
	json_object_put(j);
	json_object_put(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(latency_layers_read),
	    cmocka_unit_test(latency_dominant),
	    cmocka_unit_test(latency_view),
	    cmocka_unit_test(latency_json),
	};

	return cmocka_run_group_tests_name("ctl-latency", tests, NULL, NULL);
}
