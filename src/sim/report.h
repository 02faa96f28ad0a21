/* SPDX-License-Identifier: MIT */
#ifndef TTWS_SIM_REPORT_H
#define TTWS_SIM_REPORT_H

/*
 * The sync report of a live run, computed from the two logs:
 *  - the earbud simulator's render log (per ear and frame: pts, receive
 *    time, the TRUE host instant its sound started, late, and the TRUE
 *    host instant the earbud's clock read pts), and
 *  - ttwsd's frame log (per ear and frame: send instant, the pts sent and
 *    the pts the naive estimator would have sent for the same target).
 * Two inter-ear errors per frame rendered by both ears, in host ns:
 *  - mapping: pts_host_left - pts_host_right, where each ear's clock read
 *    its pts. This is what ttwsd controls (its map of each earbud's
 *    clock), the figure the sync bounds are about.
 *  - acoustic: render_host_left - render_host_right, where the sound
 *    started. It adds what the earbud does after pts: an earbud without
 *    ASRC starts on its next sample (scenario render_res_us), so up to one
 *    sample period (20.8 us at 48 kHz) per ear on top of the mapping.
 * Render logs of 6 columns (before pts_host_ns) have one instant per
 * frame: both errors are then computed from render_host_ns.
 * What naive would have produced is the mapping instant moved by
 * (naive pts - sent pts) in the earbud's clock; over a few ms the earbud's
 * rate error (< 100 ppm) changes that by under 0.5 us.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One inter-ear error's distribution, in us (of absolute values). */
struct report_error {
	double p50_us, p99_us, p999_us, max_us, mean_abs_us;
};

struct report_result {
	uint64_t both;              /* frames rendered by both ears */
	bool pts_host;              /* the render log had pts_host_ns */
	struct report_error mapping;  /* pts_host left - right */
	struct report_error acoustic; /* render_host left - right */
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

/*
 * The same for n pairs, each from its own two logs: ret[i] per pair, and
 * *ret_all for all of them together (counts summed, each error's
 * distribution over every pair's frames). Returns 0, or a negative errno
 * with a message in err (naming the file).
 */
int report_compute_pairs(unsigned n, const char *const render_logs[],
			 const char *const frame_logs[],
			 uint64_t skip_frames, struct report_result ret[],
			 struct report_result *ret_all, char *err,
			 size_t err_size);

/*
 * Text report, then (json) one JSON line, on stdout. The JSON keeps
 * "inter_ear_error_us" for the mapping error (its meaning before the
 * render log told the two apart) and adds "acoustic_error_us".
 */
void report_print(const struct report_result *r, bool json);

/*
 * The report of n pairs: each pair's text ("pair NAME: " first), then all
 * pairs'; with json a last line {"pairs":[{"name":..., and the members of
 * report_print()'s object}, ...],"all":{those members}}.
 */
void report_print_pairs(unsigned n, const char *const names[],
			const struct report_result r[],
			const struct report_result *all, bool json);

#endif
