/* SPDX-License-Identifier: MIT */
#ifndef TTWS_PW_SINK_H
#define TTWS_PW_SINK_H

/*
 * ttws.sink: the PipeWire node applications play into.
 *
 * A pw_stream (INPUT, media.class Audio/Sink, 48 kHz, F32 or S16, stereo
 * FL/FR, RT_PROCESS) on its own pw_thread_loop, with
 * adapter.auto-port-config = { mode = dsp position = preserve } so it has
 * playback_FL / playback_FR ports without a session manager.
 *
 * Threads:
 * - main (the creator): pw_sink_new(), pw_sink_set_latency(),
 *   pw_sink_free(). These take the thread loop's lock.
 * - PipeWire's data thread: the stream's process callback copies each
 *   quantum, as one ring record (struct framer_quantum, core/framer.h,
 *   then the interleaved PCM), into the caller's SPSC ring and returns. It
 *   never allocates, locks or logs.
 * - the RT thread (the ring's consumer): pw_sink_trigger(),
 *   pw_sink_quantum(), pw_sink_get_stats(). Wait-free: atomics, a
 *   16-byte write into an SPSC ring and one eventfd write.
 *
 * Ring full: the *newest* quantum is dropped and counted as an overrun.
 * Only the consumer may move an SPSC ring's tail, so the producer cannot
 * drop the oldest without a lock; the next record that does fit carries
 * FRAMER_Q_AFTER_DROP and its position jumps, so the framer sees the gap.
 *
 * Driver mode (config.driver): the node has node.driver = true and
 * PW_STREAM_FLAG_DRIVER. When PipeWire makes it the driver of its graph
 * (it is linked and outranks the other drivers by priority.driver), no
 * cycle runs until the RT thread calls pw_sink_trigger() — so the graph
 * runs at the link's pace. When not linked, the system driver leads
 * whatever else runs and pw_sink_trigger() returns -EAGAIN.
 *
 * PipeWire gone and back: when the core reports an error (the daemon
 * died: -EPIPE) or the server removes the node, the sink drops its stream
 * and core and connects again on its thread loop, SINK_RETRY_MIN_NS
 * (250 ms) after the loss and then doubling up to SINK_RETRY_MAX_NS (5 s)
 * between attempts (sink_private.h), until the node is registered again.
 * The thread loop, the context, its data loop and the rings stay, so the
 * RT thread's calls stay valid throughout; meanwhile pw_sink_trigger()
 * returns -EAGAIN, as when nothing is linked. pw_sink_get_stats() says
 * gone since when and counts losses and returns.
 *
 * PipeWire not there yet: by default the first connection, in
 * pw_sink_new(), is not retried and its error is returned. With
 * config.wait_for_server the sink starts gone instead (gone since
 * pw_sink_new(), started_gone in the stats) and connects with the same
 * back-off until the node is registered: a service started before
 * PipeWire. That start is not counted as a disconnect, nor the first
 * registration after it as a reconnect.
 */

#include <stdbool.h>
#include <stdint.h>

struct spsc;

enum pw_sink_format {
	PW_SINK_F32 = 0, /* SPA_AUDIO_FORMAT_F32, interleaved */
	PW_SINK_S16 = 1, /* SPA_AUDIO_FORMAT_S16, interleaved */
};

struct pw_sink_config {
	const char *node_name;   /* NULL: "ttws.sink" */
	const char *description; /* NULL: "ttws earbuds" */
	const char *remote;      /* NULL: $PIPEWIRE_REMOTE or pipewire-0 */
	uint32_t rate_hz;        /* 0: 48000 */
	enum pw_sink_format format;
	uint32_t channels;       /* 0 or 2: FL FR; 1: MONO */
	uint32_t quantum;        /* node.latency request in samples, e.g.
				  * 480: one graph cycle per 10 ms frame;
				  * 0: no request. PipeWire 0.3.65 rounds
				  * it (and node.force-quantum) down to a
				  * power of two (480 -> 256) unless the
				  * daemon sets clock.power-of-two-quantum
				  * = false */
	uint32_t max_quantum;    /* larger quanta are dropped (counted as
				  * oversize); 0: 8192, PipeWire's max */
	bool driver;             /* drive the graph while streaming */
	uint32_t driver_priority; /* priority.driver; 0: 21000, above the
				   * dummy driver's 20000 */
	uint64_t latency_ns;     /* initial SPA_PARAM_Latency */
	struct spsc *ring;       /* process() writes records here; the
				  * caller owns it, it outlives the sink */
	/*
	 * Called on the data thread after each record is written, so the
	 * consumer can take it at once instead of at its next tick. Must
	 * be wait-free (an eventfd write: os/loop's loop_wake()). May be
	 * NULL.
	 */
	void (*notify)(void *user_data);
	void *notify_data;
	/*
	 * The first connection may fail too: start gone and connect with
	 * the back-off until PipeWire is there (see above). false: a
	 * failed first connection is pw_sink_new()'s error.
	 */
	bool wait_for_server;
};

struct pw_sink_stats {
	uint64_t process_calls;
	uint64_t quanta;          /* records written to the ring */
	uint64_t samples;         /* per channel, written to the ring */
	uint64_t overruns;        /* quanta dropped: ring full */
	uint64_t overrun_samples;
	uint64_t underruns;       /* process() without a buffer or with an
				   * empty one */
	uint64_t oversize;        /* quanta above max_quantum, dropped */
	uint64_t triggers;        /* pw_sink_trigger() calls passed on */
	uint64_t triggers_idle;   /* refused: not the driver */
	uint64_t cycles;          /* graph cycles started by a trigger */
	uint64_t cycles_not_driving; /* trigger reached the data thread
				      * when not driving a running graph */
	uint64_t trigger_errors;  /* pw_stream_trigger_process() < 0 */
	int last_trigger_error;   /* its last negative errno */
	uint64_t late_cycles;     /* cycles that waited for the previous
				   * one to finish (a slow follower) */
	uint64_t dropped;         /* triggers never run: the graph was
				   * stuck, or 64 were queued */
	uint64_t stuck;           /* restarts after 8 triggers waited for a
				   * cycle that did not finish */
	uint64_t latency_ns;      /* published in SPA_PARAM_Latency */
	uint64_t last_nsec;       /* clock nsec of the last quantum */
	uint32_t quantum;         /* last graph duration seen, samples */
	uint32_t node_id;         /* PipeWire global id, 0 until known */
	bool driving;             /* PipeWire made this node the driver */
	bool streaming;           /* pw_stream state STREAMING */
	bool error;               /* stream or core error (on the current
				   * connection: cleared when it is back) */
	bool registered;          /* the node exists in PipeWire (bound) */
	uint64_t gone_since_ns;   /* CLOCK_MONOTONIC ns PipeWire went away;
				   * 0 while it is there */
	uint64_t disconnects;     /* times PipeWire went away (once it was
				   * connected: not a start without it) */
	uint64_t reconnects;      /* times the node was registered again
				   * after a disconnect */
	uint64_t registrations;   /* times the node was registered, the
				   * first included */
	bool started_gone;        /* PipeWire was not there at
				   * pw_sink_new() (wait_for_server) */
	uint64_t connect_attempts; /* connections tried, the first included */
	int last_connect_error;   /* negative errno of the last loss or
				   * failed attempt; 0 if none */
};

struct pw_sink;

/*
 * Connect to PipeWire and create the node. Main thread. Returns 0,
 * -EINVAL (bad config), -ENOMEM, -errno of the connection (0.3.65 says
 * -EHOSTDOWN when no daemon listens) or of pw_stream_connect(); with
 * config.wait_for_server a failed connection is not an error: the sink
 * is returned gone and keeps trying (the error in last_connect_error).
 */
int pw_sink_new(const struct pw_sink_config *c, struct pw_sink **ret);

/*
 * Disconnect and free. Main thread; the RT thread must have stopped
 * calling pw_sink_trigger() and the ring's consumer may stop after this
 * returns (process() no longer runs). NULL is fine; returns NULL.
 */
struct pw_sink *pw_sink_free(struct pw_sink *s);

/*
 * Publish latency_ns (presentation delay + codec + link) as the node's
 * SPA_PARAM_Latency (direction input, min = max = latency_ns), which
 * PipeWire propagates upstream to the clients' delay. Main thread, never
 * the RT thread: it builds a pod and takes the loop lock. No-op when the
 * value is unchanged. Returns 0 or -errno.
 */
int pw_sink_set_latency(struct pw_sink *s, uint64_t latency_ns);

/*
 * Start one graph cycle at host time nsec (CLOCK_MONOTONIC ns, the
 * cycle's nominal start) with rate_diff (the earbuds' d ear / d host,
 * core/ratediff). The data thread fills the driver clock (nsec, position,
 * duration, rate_diff, next_nsec) and calls pw_stream_trigger_process().
 * RT thread (a single caller). Returns 0 or -EAGAIN (not the driver of a
 * running graph now).
 */
int pw_sink_trigger(struct pw_sink *s, uint64_t nsec, double rate_diff);

/* The graph's current quantum (samples per cycle); the config's quantum
 * until PipeWire told. Any thread. */
uint32_t pw_sink_quantum(const struct pw_sink *s);

/* The graph's rate, Hz (the driver clock's, which PipeWire chose): the
 * node's own rate_hz until a cycle told; quanta are in these samples.
 * Any thread. */
uint32_t pw_sink_graph_rate(const struct pw_sink *s);

/* Whether this node drives its graph now. Any thread. */
bool pw_sink_is_driving(const struct pw_sink *s);

/* A snapshot of the counters (each exact, not mutually atomic). Any
 * thread. */
void pw_sink_get_stats(const struct pw_sink *s, struct pw_sink_stats *ret);

#endif
