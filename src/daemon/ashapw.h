/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_ASHAPW_H
#define TTWS_DAEMON_ASHAPW_H

/*
 * An ASHA pair's audio from PipeWire: its ttws.sink node runs at 16 kHz
 * (PipeWire's own converter resamples the graph for it), its quanta
 * come through the sink's ring (src/pw/sink.h) and are cut into 20 ms
 * frames per ear (core/framer), which wait in a short queue for the
 * pair's slot clock (daemon/ashapair). The graph is paced by a timer of
 * its own on the host clock, one cycle per quantum: ASHA's aids play at
 * the rate they are fed, with nothing to correct (no clock of theirs is
 * known), so the host's clock is the one the audio follows.
 *
 * The queue starts to feed the slots once ASHAPW_PRIME frames are in
 * (so that a slot never waits for a quantum still on its way), restarts
 * that way after it ran dry (each empty slot counted: the pair sends
 * silence) and drops its oldest frames beyond ASHAPW_QUEUE - 1 (counted).
 *
 * RT thread only; allocates in ashapw_new() only.
 */

#include <stdbool.h>
#include <stdint.h>

#include "daemon/codec_g722.h"
#include "daemon/stream.h"

struct wheel;

/* Frames held for the slots (20 ms each), and the fill to start at. */
#define ASHAPW_QUEUE 8
#define ASHAPW_PRIME 2

struct ashapw_stats {
	uint64_t quanta, bad_records;
	uint64_t frames_in;   /* cut from the quanta */
	uint64_t frames_out;  /* given to slots */
	uint64_t underruns;   /* slots that found the queue empty */
	uint64_t overruns;    /* frames dropped: the queue was full while
			       * the slots took frames */
	uint64_t unheard;     /* frames dropped: no aid was playing */
	uint64_t triggers;    /* graph cycles started */
	uint64_t idle_ticks;  /* not the driver: the graph runs elsewhere */
	uint64_t late_ticks;  /* cycles skipped after a stall */
	uint32_t queued;      /* frames waiting now */
	uint32_t quantum, graph_rate; /* as PipeWire set them */
};

struct ashapw;

/* On pw's sink and ring (not owned), pacing timers on w. -EINVAL,
 * -ENOMEM. */
int ashapw_new(const struct stream_pw *pw, struct wheel *w,
	       struct ashapw **ret);
struct ashapw *ashapw_free(struct ashapw *a);

/* Start (and stop) driving the graph, at now_ns. */
void ashapw_start(struct ashapw *a, uint64_t now_ns);
void ashapw_stop(struct ashapw *a);

/* What the sink wrote: into frames (after the sink's notify). */
void ashapw_pull(struct ashapw *a);

/*
 * The next 20 ms per ear for a slot (S16, 16 kHz): 0, or -ENODATA (the
 * queue is empty or priming: the slot sends silence, counted).
 */
int ashapw_frame(struct ashapw *a, int16_t left[G722_FRAME_SAMPLES],
		 int16_t right[G722_FRAME_SAMPLES]);

/* Whether slots take frames (an aid plays). While not, frames beyond
 * the priming fill are dropped as unheard, not as overruns, so that an
 * aid that comes back starts with fresh audio. */
void ashapw_set_listening(struct ashapw *a, bool on);

/* Frames waiting now (each 20 ms of latency). */
unsigned ashapw_queued(const struct ashapw *a);

void ashapw_get_stats(const struct ashapw *a, struct ashapw_stats *ret);
void ashapw_reset_stats(struct ashapw *a);

#endif
