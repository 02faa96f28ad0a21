/* SPDX-License-Identifier: MIT */
/*
 * bounds-metrics-gen: ttwsd's metrics exposition with every bound's
 * families (ttws_queue_*) filled, for bounds.sh to hand to promtool and
 * the OpenMetrics parser.
 *
 *	bounds-metrics-gen openmetrics|prometheus
 */
#include <stdio.h>
#include <string.h>

#include "daemon/bounds.h"
#include "daemon/metrics.h"

int main(int argc, char **argv)
{
	static struct engine_snapshot snap;
	struct metrics_input in = {0};
	struct bounds_table t;
	struct conf c;
	unsigned i;

	if (argc != 2 || (strcmp(argv[1], "openmetrics") &&
			  strcmp(argv[1], "prometheus"))) {
		fprintf(stderr, "usage: bounds-metrics-gen openmetrics|"
				"prometheus\n");
		return 2;
	}
	for (i = 0; i < BOUNDS_N; i++) {
		bounds_count((enum bounds_id)i, i);
	}
	bounds_publish(BOUNDS_PCM_RING, 3, 1 << 20, 9000);
	bounds_publish(BOUNDS_FRAME_LOG, 1, 1 << 20, 1 << 20);
	bounds_publish(BOUNDS_CAPTURE, 0, 1 << 20, 0);
	bounds_take(&t);
	conf_default(&c);
	in.snap = &snap;
	in.conf = &c;
	in.bounds = &t;
	return metrics_write_as(stdout, &in,
				strcmp(argv[1], "openmetrics") ?
					METRICS_PROMETHEUS :
					METRICS_OPENMETRICS) < 0;
}
