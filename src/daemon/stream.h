/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_STREAM_H
#define TTWS_DAEMON_STREAM_H

/*
 * Framing and scheduling: on every tick of the frame clock (a hard timer
 * at T_0 + n * frame, host ns) cut frame n for each ear, give it that
 * ear's presentation time (its servo's map of the plan's target T_n) and
 * hand it to the ear's link. Until PipeWire feeds it, the source is an
 * internal test tone per ear. RT thread only after stream_new().
 */

#include <stdint.h>

#include "core/conf.h"

struct link;
struct plan;
struct wheel;
struct spsc;

/* One line of the frame log (for the sync report's naive comparison). */
struct stream_frame_rec {
	uint64_t seq;
	uint64_t tx_host_ns;
	uint64_t pts_ear_ns;    /* sent: the configured servo's map */
	uint64_t shadow_pts_ns; /* the naive servo's map of the same T_n */
	uint32_t ear;
	uint32_t pad;
};

struct stream_stats {
	uint64_t ticks;      /* frames cut */
	uint64_t sent[CONF_N_EARS];
	uint64_t skipped[CONF_N_EARS]; /* ear not ready at its frame */
	uint64_t late_ticks; /* frame clock fired after the next deadline */
	uint64_t delay_ns;   /* applied presentation delay */
	uint64_t delay_target_ns;
	uint64_t t0_ns;
};

struct stream;

/*
 * links[ear] may be NULL for an unconfigured ear. frame_log (may be NULL)
 * receives a struct stream_frame_rec per frame sent; a full ring drops
 * records. Nothing is owned. -ENOMEM / -EINVAL.
 */
int stream_new(const struct conf *c, struct wheel *w, struct plan *p,
	       struct link *links[CONF_N_EARS], struct spsc *frame_log,
	       struct stream **ret);
struct stream *stream_free(struct stream *s);

/* Start the frame clock: frame 0 leaves at t0_ns (host ns). */
void stream_start(struct stream *s, uint64_t t0_ns);
void stream_stop(struct stream *s);

void stream_get_stats(const struct stream *s, struct stream_stats *ret);

#endif
