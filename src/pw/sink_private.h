/* SPDX-License-Identifier: MIT */
#ifndef TTWS_PW_SINK_PRIVATE_H
#define TTWS_PW_SINK_PRIVATE_H

/*
 * The sink's state, shared by its parts:
 *   sink.c            creation, freeing, the public calls;
 *   sink_stream.c     the pw_stream: connecting it, its events, process()
 *                     and the graph cycles it drives (data thread);
 *   sink_reconnect.c  PipeWire gone and back: dropping the dead stream and
 *                     core, and connecting again with back-off.
 * Not for use outside src/pw/sink*.c.
 *
 * What stays for the sink's whole life, across reconnects: the thread
 * loop, the context and its data loop, the two events on that loop, the
 * trigger ring, the caller's PCM ring and every atomic. That is all the RT
 * thread touches (pw_sink_trigger(), pw_sink_quantum(),
 * pw_sink_get_stats()), so it never sees a freed PipeWire object. Only
 * the core and the stream (and the io areas in their shared memory) come
 * and go, on the thread loop with its lock held.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <pipewire/pipewire.h>
#include <spa/node/io.h>
#include <spa/pod/builder.h>

#include "core/ratediff.h"
#include "core/spsc.h"
#include "pw/sink.h"

/*
 * Triggers queued for the data thread. More than SINK_MAX_WAITS waiting
 * behind a cycle that has not finished means the graph is stuck (a
 * follower died or hangs): start over from the newest.
 */
#define SINK_TRIG_SLOTS 64u
#define SINK_MAX_WAITS 8u

/*
 * Reconnecting: the first attempt SINK_RETRY_MIN_NS after PipeWire went
 * away, then doubling up to SINK_RETRY_MAX_NS between attempts. A restart
 * of the daemon (systemd, or a crash and its socket unit) takes a few
 * hundred ms, so the first attempts come quickly; a PipeWire that stays
 * down costs one connect() every 5 s. A connection that does not get the
 * node registered within SINK_BIND_TIMEOUT_NS is dropped and retried.
 */
#define SINK_RETRY_MIN_NS (250 * UINT64_C(1000000))
#define SINK_RETRY_MAX_NS (5 * UINT64_C(1000000000))
#define SINK_BIND_TIMEOUT_NS (5 * UINT64_C(1000000000))

struct sink_trig {
	uint64_t nsec;     /* host ns the cycle starts */
	double rate_diff;
};

/* Counters written by one thread, read by any: relaxed atomics. */
#define CNT_ADD(c, n) atomic_fetch_add_explicit(&(c), (n), memory_order_relaxed)
#define CNT_GET(c) atomic_load_explicit(&(c), memory_order_relaxed)
#define CNT_SET(c, v) atomic_store_explicit(&(c), (v), memory_order_relaxed)

struct pw_sink {
	struct pw_sink_config cfg;
	uint32_t stride;             /* bytes per interleaved sample frame */

	/* For the sink's life (see above). */
	struct pw_thread_loop *loop; /* main-loop thread for PipeWire */
	struct pw_context *context;
	struct pw_loop *data_loop;   /* the context's data loop: process()
				      * and the trigger event run here */
	struct spa_source *trigger_ev;
	struct spa_source *catchup_ev;
	struct spa_source *retry_timer; /* on the thread loop */

	/* One connection: replaced on reconnect (thread loop, locked). */
	struct pw_core *core;
	struct spa_hook core_listener;
	struct pw_stream *stream;
	struct spa_hook stream_listener;

	/* The io areas (shared memory), written by the data thread when the
	 * thread loop hands them over (do_set_io); atomics so other threads
	 * may read `driving`. */
	_Atomic(struct spa_io_position *) position;
	_Atomic(struct spa_io_clock *) clock;

	/* RT thread -> data thread: one struct sink_trig per cycle to run,
	 * in a wait-free SPSC ring (core/spsc). */
	struct spsc trig_ring;
	uint8_t trig_mem[SINK_TRIG_SLOTS * sizeof(struct sink_trig)];

	/* Data thread only. */
	struct ratediff_driver drv;
	bool drop_pending;  /* a quantum was dropped since the last record */
	bool cycle_pending; /* started a cycle, process() not seen yet */

	/* Thread loop only (or its lock held). */
	uint64_t latency_ns;
	uint64_t retry_ns;  /* the next wait between attempts */
	bool retry_armed;   /* the retry timer is set for this loss */
	bool pw_inited;

	_Atomic bool driving;
	_Atomic bool streaming;
	_Atomic bool error;
	_Atomic bool registered;        /* the node is bound (PAUSED+) */
	_Atomic bool started_gone;      /* no PipeWire at pw_sink_new() */
	_Atomic uint64_t gone_since_ns; /* CLOCK_MONOTONIC; 0: not gone */
	_Atomic int last_connect_err;
	_Atomic uint32_t quantum;
	_Atomic uint32_t graph_rate; /* the driver clock's rate, Hz */
	_Atomic uint32_t node_id;
	_Atomic int last_trigger_err;
	_Atomic uint64_t latency_pub;
	_Atomic uint64_t last_nsec;
	_Atomic uint64_t n_process, n_quanta, n_samples, n_overruns,
		n_overrun_samples, n_underruns, n_oversize, n_triggers,
		n_triggers_idle, n_cycles, n_cycles_nd, n_trigger_err, n_late,
		n_dropped, n_stuck, n_gone, n_back, n_reg, n_attempts;
};

/* sink_stream.c */

/*
 * Connect a core to PipeWire and create and connect the stream on it.
 * Thread loop, locked (or before the loop runs). 0 or -errno; on failure
 * what was made stays in s->core / s->stream for sink_drop().
 */
int sink_connect(struct pw_sink *s);

/* The new stream's latency param; NULL when the buffer is too small. */
const struct spa_pod *sink_build_latency(struct spa_pod_builder *b,
					 uint64_t ns);

/* Data thread: the trigger event and the catch-up event. */
void sink_on_trigger(void *data, uint64_t count);
void sink_on_catchup(void *data, uint64_t count);

/* sink_reconnect.c */

/*
 * PipeWire went away (the core reported an error, or the server removed
 * the node): mark the sink gone and schedule the reconnection. Thread
 * loop. Idempotent; err is the negative errno PipeWire gave.
 */
void sink_lost(struct pw_sink *s, int err);

/*
 * The first connection failed (err, a negative errno) and the config
 * says wait_for_server: start gone, not counted as a loss, and schedule
 * the first retry. After sink_drop(). Thread loop, locked.
 */
void sink_start_gone(struct pw_sink *s, int err);

/* The node is registered (again): no longer gone. Thread loop. */
void sink_bound(struct pw_sink *s);

/* The retry timer's callback (pw_loop_add_timer()). Thread loop. */
void sink_on_retry(void *data, uint64_t expirations);

/*
 * Drop the stream and the core, after the data thread has let go of
 * them and their io areas. Thread loop, locked (or after it stopped).
 */
void sink_drop(struct pw_sink *s);

/* CLOCK_MONOTONIC now, ns. */
uint64_t sink_now_ns(void);

#endif
