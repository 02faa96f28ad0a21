/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_ENGINE_H
#define TTWS_DAEMON_ENGINE_H

/*
 * The RT thread: real-time placement, the event loop, the timer wheel, the
 * two links, the frame clock. The main thread creates it, starts it,
 * reads snapshots of its state and stops it; they share nothing else.
 */

#include <stdbool.h>
#include <stdint.h>

#include "core/conf.h"
#include "core/servo.h"
#include "daemon/dongle.h"
#include "daemon/link.h"
#include "daemon/stream.h"
#include "os/loop.h"

struct spsc;
struct pw_sink;

struct engine_ear {
	struct link_stats link;
	struct servo_status servo;
	struct servo_status shadow;
};

/* A consistent copy of the RT thread's state (seqlock, taken every
 * 100 ms by the RT thread, read by any thread without blocking it). */
struct engine_snapshot {
	uint64_t taken_ns;
	uint64_t heartbeat;      /* RT loop iterations seen by the stats timer */
	enum loop_backend backend;
	struct loop_counters loop;
	struct stream_stats stream;
	struct engine_ear ear[CONF_N_EARS];
	unsigned n_dongles;
	struct dongle_stats dongle[CONF_N_EARS]; /* hci-uart, one per tty */
};

struct engine;

/*
 * Allocate everything the RT thread will use. c is copied. frame_log (may
 * be NULL) is the producer side of a ring of struct stream_frame_rec;
 * capture (may be NULL) of struct dongle_trace_rec + the H4 packet, for
 * a btsnoop file of the hci-uart dongles' traffic.
 */
int engine_new(const struct conf *c, struct spsc *frame_log,
	       struct spsc *capture, struct engine **ret);
struct engine *engine_free(struct engine *e);

/*
 * source = pipewire: the sink the frame clock drives and the ring it
 * fills (not owned; both must outlive the RT thread: stop the engine
 * before pw_sink_free()). Before engine_start().
 */
void engine_set_pipewire(struct engine *e, struct pw_sink *sink,
			 struct spsc *ring);

/*
 * The sink's notify callback (pw_sink_config.notify, user_data the
 * engine): wakes the RT loop to take the new record at once. Any thread,
 * wait-free (an eventfd write); does nothing before the loop exists.
 */
void engine_notify(void *user_data);

/*
 * Start the RT thread and wait until it is in its loop (or failed).
 * Returns 0, or the negative errno of its set-up. rt_text (may be NULL)
 * receives the real-time placement report as text.
 */
int engine_start(struct engine *e, char *rt_text, size_t rt_text_size);

/* Stop the RT thread (links send STOP first) and join it. */
void engine_stop(struct engine *e);

/* Copy the latest snapshot. Any thread, never blocks the RT thread. */
void engine_snapshot(struct engine *e, struct engine_snapshot *ret);

/* The tty of hci-uart dongle i (0..n_dongles-1), or NULL. */
const char *engine_dongle_path(const struct engine *e, unsigned i);

/* The loop's backend note ("io_uring ...", "... using epoll"). */
const char *engine_backend_note(const struct engine *e);

#endif
