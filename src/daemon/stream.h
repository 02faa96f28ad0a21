/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_STREAM_H
#define TTWS_DAEMON_STREAM_H

/*
 * Framing and scheduling: cut frame n for each ear, give it that ear's
 * presentation time (its servo's map of the target instant T_n), encode
 * it (daemon/codec: LC3 or PCM, one encoder per ear) and hand it to the
 * ear's link. RT thread only after stream_new().
 *
 * Two sources ([stream] source):
 * - tone: the frame clock (a hard timer at T_0 + n * frame, host ns)
 *   cuts frame n of an internal test tone per ear; T_n comes from the
 *   plan (core/plan).
 * - pipewire: ttws.sink (src/pw/sink) hands PipeWire's quanta over in an
 *   SPSC ring; core/framer cuts them into frames (left channel -> left
 *   ear, right -> right, or the downmix to both). Each frame leaves as
 *   soon as its last sample is in the ring (stream_pull(), run when the
 *   sink signals a record), and its T_n is the graph instant of its first
 *   sample plus the presentation delay, so a client's delay is true. The
 *   frame clock then only paces the graph: while ttws.sink is its driver,
 *   every tick starts one cycle (pw_sink_trigger) at the earbuds' rate
 *   (core/ratediff of the servos' rates), so the ring neither fills nor
 *   empties however the crystals drift.
 */

#include <stdbool.h>
#include <stdint.h>

#include "core/conf.h"

struct link;
struct plan;
struct wheel;
struct spsc;
struct pw_sink;

/* One line of the frame log (for the sync report's naive comparison). */
struct stream_frame_rec {
	uint64_t seq;
	uint64_t tx_host_ns;
	uint64_t pts_ear_ns;    /* sent: the configured servo's map */
	uint64_t shadow_pts_ns; /* the naive servo's map of the same T_n */
	uint32_t ear;
	uint32_t pair;          /* the pair's index (pair_env.index) */
};

struct stream_stats {
	uint64_t ticks;      /* frames cut */
	uint64_t sent[CONF_N_EARS];
	uint64_t skipped[CONF_N_EARS]; /* ear not ready at its frame */
	uint64_t late_ticks; /* frame clock fired after the next deadline */
	uint64_t delay_ns;   /* applied presentation delay */
	uint64_t delay_target_ns;
	uint64_t t0_ns;
	uint32_t octets[CONF_N_EARS]; /* codec octets per frame */
	uint64_t encode_errors;
	/* Total delay a sample sees from its graph instant to the earbud's
	 * output: presentation delay + the codec's algorithmic delay. What
	 * ttws.sink should publish as SPA_PARAM_Latency. */
	uint64_t latency_ns;
	/* source = pipewire */
	uint64_t pw_quanta;      /* ring records taken */
	uint64_t pw_bad_records; /* malformed records skipped */
	uint64_t pw_discont;     /* frames after a jump in graph position */
	uint64_t pw_no_clock;    /* frames without graph timing */
	uint64_t pw_triggers;    /* graph cycles started (driving) */
	uint64_t pw_idle_ticks;  /* ticks while ttws.sink did not drive */
	uint64_t pw_underruns;   /* a cycle's quantum was not in the ring
				  * by the next trigger */
	uint64_t ring_bytes;     /* ring level at the last pull */
	uint64_t ring_max_bytes;
	double rate_diff;        /* given to the graph (d ear / d host) */
	bool driving;            /* the last tick started a cycle */
	/* Hand-over: process() taking the quantum -> the frame's AUDIO
	 * queued on the transport, ns. */
	uint64_t handoff_count;
	uint64_t handoff_p50_ns, handoff_p99_ns, handoff_max_ns;
};

/* The PipeWire source: the sink and the ring it fills. Not owned. */
struct stream_pw {
	struct pw_sink *sink;
	struct spsc *ring;
};

struct stream;

/*
 * links[ear] may be NULL for an unconfigured ear. frame_log (may be NULL)
 * receives a struct stream_frame_rec per frame sent; a full ring drops
 * records. pw is required for source = pipewire, ignored otherwise.
 * Nothing passed is owned. -ENOMEM, -EINVAL, -ENOTSUP (a codec or source
 * this build lacks).
 */
int stream_new(const struct conf *c, struct wheel *w, struct plan *p,
	       struct link *links[CONF_N_EARS], struct spsc *frame_log,
	       const struct stream_pw *pw, struct stream **ret);
struct stream *stream_free(struct stream *s);

/* Start the frame clock: frame 0 (tone) or the first tick at t0_ns. */
void stream_start(struct stream *s, uint64_t t0_ns);
void stream_stop(struct stream *s);

/*
 * source = pipewire: take what the ring holds and send every whole frame.
 * RT thread, when the sink signalled a record (and on every tick, in
 * case a signal was folded into another). now_ns host ns.
 */
void stream_pull(struct stream *s, uint64_t now_ns);

void stream_get_stats(const struct stream *s, struct stream_stats *ret);

/* The pair index its frame log records carry (0 until set). */
void stream_set_pair_index(struct stream *s, uint32_t index);

/*
 * Record into these histograms (core/hist, ns; not owned, may be NULL:
 * not recorded) from now on: wakeup, the frame clock's lateness (the
 * tick handler's start minus the hard timer's deadline, every tick);
 * handoff, source = pipewire: process() taking the quantum that
 * completed a frame -> that frame's AUDIO handed to both links (the
 * handoff_* of struct stream_stats summarise it). Before stream_start()
 * or on the RT thread.
 */
struct hist;
void stream_set_hists(struct stream *s, struct hist *wakeup,
		      struct hist *handoff);

/*
 * fn(data, now_ns) runs on the RT thread at every frame-clock tick, before
 * the frame is cut: the engine's frame boundary (live configuration,
 * statistics reset). fn may be NULL.
 */
void stream_set_boundary_fn(struct stream *s,
			    void (*fn)(void *data, uint64_t now_ns),
			    void *data);

/*
 * fn(data) runs on the RT thread right after a tick started a PipeWire
 * graph cycle (source = pipewire): the quantum is due within a fraction
 * of a cycle, and the sink's notify will wake the loop for it. fn may
 * be NULL.
 */
void stream_set_trigger_fn(struct stream *s, void (*fn)(void *data),
			   void *data);

/*
 * Whether the cycle the last tick started has not delivered its quantum
 * yet (false when no cycle was started, and for source = tone).
 */
bool stream_awaits_quantum(const struct stream *s);

/*
 * The struct conf given to stream_new() holds new live values (tone
 * frequencies, downmix): re-derive them. RT thread.
 */
void stream_reconf(struct stream *s);

/* Zero the counters (a statistics reset). RT thread. */
void stream_reset_stats(struct stream *s);

#endif
