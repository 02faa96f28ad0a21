/* SPDX-License-Identifier: MIT */
#ifndef TTWS_SIM_REPORT_H
#define TTWS_SIM_REPORT_H

/*
 * The sync report of a live run, computed from the two logs:
 *  - the earbud simulator's render log (per ear and frame: pts, receive
 *    time, the TRUE host instant it was rendered, late), and
 *  - ttwsd's frame log (per ear and frame: send instant, the pts sent and
 *    the pts the naive estimator would have sent for the same target).
 * The inter-ear error of a frame is render_left - render_right in host
 * ns. What naive would have produced is the same render instant moved by
 * (naive pts - sent pts) in the earbud's clock; over a few ms the earbud's
 * rate error (< 100 ppm) changes that by under 0.5 us.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct report_result {
	uint64_t both;              /* frames rendered by both ears */
	double p50_us, p99_us, p999_us, max_us, mean_abs_us;
	double naive_p50_us, naive_p99_us, naive_max_us;
	uint64_t sent[2];           /* AUDIO messages per ear */
	uint64_t received[2];       /* in the render log */
	uint64_t rendered[2];
	uint64_t late[2];
	uint64_t lost[2];           /* sent, never received */
};

/*
 * Read both CSV files and compute. skip_frames: ignore frames with a
 * sequence below it (settling). Returns 0, or a negative errno with a
 * message in err.
 */
int report_compute(const char *render_log, const char *frame_log,
		   uint64_t skip_frames, struct report_result *ret,
		   char *err, size_t err_size);

/* Text report, then (json) one JSON line, on stdout. */
void report_print(const struct report_result *r, bool json);

#endif
