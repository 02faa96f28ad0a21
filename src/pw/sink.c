/* SPDX-License-Identifier: MIT */
#include "pw/sink.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pipewire/pipewire.h>
#include <spa/node/io.h>
#include <spa/param/audio/format-utils.h>
#include <spa/param/latency-utils.h>
#include <spa/pod/builder.h>

#include "core/framer.h"
#include "core/macro.h"
#include "core/ratediff.h"
#include "core/spsc.h"

#define SINK_DEFAULT_NAME "ttws.sink"
#define SINK_DEFAULT_DESC "ttws earbuds"
#define SINK_DEFAULT_RATE 48000u
#define SINK_DEFAULT_MAX_QUANTUM 8192u
#define SINK_DEFAULT_DRIVER_PRIORITY 21000u

/*
 * Triggers queued for the data thread. More than SINK_MAX_WAITS waiting
 * behind a cycle that has not finished means the graph is stuck (a
 * follower died or hangs): start over from the newest.
 */
#define SINK_TRIG_SLOTS 64u
#define SINK_MAX_WAITS 8u

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

	struct pw_thread_loop *loop; /* main-loop thread for PipeWire */
	struct pw_context *context;
	struct pw_core *core;
	struct spa_hook core_listener;
	struct pw_stream *stream;
	struct spa_hook stream_listener;
	struct pw_loop *data_loop;   /* the context's data loop: process()
				      * and the trigger event run here */
	struct spa_source *trigger_ev;
	struct spa_source *catchup_ev;

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

	/* Main thread only. */
	uint64_t latency_ns;
	bool pw_inited;

	_Atomic bool driving;
	_Atomic bool streaming;
	_Atomic bool error;
	_Atomic uint32_t quantum;
	_Atomic uint32_t node_id;
	_Atomic int last_trigger_err;
	_Atomic uint64_t latency_pub;
	_Atomic uint64_t last_nsec;
	_Atomic uint64_t n_process, n_quanta, n_samples, n_overruns,
		n_overrun_samples, n_underruns, n_oversize, n_triggers,
		n_triggers_idle, n_cycles, n_cycles_nd, n_trigger_err, n_late,
		n_dropped, n_stuck;
};

/* Is the node the driver of the graph it is in? pw_stream computes the
 * same (position->clock.id == clock->id, stream.c impl_set_io) but only
 * when an io area changes; reading the shared areas is always current. */
static bool sink_driving_now(struct pw_sink *s)
{
	struct spa_io_position *p =
		atomic_load_explicit(&s->position, memory_order_acquire);
	struct spa_io_clock *c =
		atomic_load_explicit(&s->clock, memory_order_acquire);

	return p && c && p->clock.id == c->id;
}

/* Data thread, once per graph cycle: the quantum into the ring. */
static void on_process(void *data)
{
	struct pw_sink *s = data;
	struct framer_quantum q;
	struct spa_io_position *p;
	struct pw_buffer *b;
	struct spa_data *d;
	struct timespec now;
	uint32_t off, size, n;
	size_t bytes;

	/* Taken first: the hand-over measurement starts here. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	CNT_ADD(s->n_process, 1);
	/* The cycle this node started has reached it: done. A trigger
	 * that waited for it runs once process() has returned. */
	if (s->cycle_pending) {
		s->cycle_pending = false;
		if (spsc_read_avail(&s->trig_ring) > 0) {
			pw_loop_signal_event(s->data_loop, s->catchup_ev);
		}
	}
	b = pw_stream_dequeue_buffer(s->stream);
	if (!b) {
		CNT_ADD(s->n_underruns, 1);
		return;
	}
	d = &b->buffer->datas[0];
	if (!d->data || !d->chunk) {
		CNT_ADD(s->n_underruns, 1);
		goto done;
	}
	off = MIN(d->chunk->offset, d->maxsize);
	size = MIN(d->chunk->size, d->maxsize - off);
	n = size / s->stride;
	if (n == 0) {
		CNT_ADD(s->n_underruns, 1);
		goto done;
	}
	if (n > s->cfg.max_quantum) {
		CNT_ADD(s->n_oversize, 1);
		s->drop_pending = true;
		goto done;
	}

	memset(&q, 0, sizeof(q));
	p = atomic_load_explicit(&s->position, memory_order_acquire);
	if (p) {
		q.nsec = p->clock.nsec;
		q.position = p->clock.position;
		q.rate_diff = p->clock.rate_diff;
		if (p->clock.duration) {
			CNT_SET(s->quantum, (uint32_t)p->clock.duration);
		}
	} else {
		q.flags |= FRAMER_Q_NO_CLOCK;
	}
	q.samples = n;
	q.in_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	if (s->drop_pending) {
		q.flags |= FRAMER_Q_AFTER_DROP;
	}
	bytes = (size_t)n * s->stride;
	/* Two writes, one record: the consumer waits until both are in
	 * (framer_pull_ring). Space only grows under the producer, so the
	 * check makes both writes succeed. */
	if (spsc_write_avail(s->cfg.ring) < sizeof(q) + bytes) {
		CNT_ADD(s->n_overruns, 1);
		CNT_ADD(s->n_overrun_samples, n);
		s->drop_pending = true;
		goto done;
	}
	spsc_write(s->cfg.ring, &q, sizeof(q));
	spsc_write(s->cfg.ring, SPA_PTROFF(d->data, off, void), bytes);
	s->drop_pending = false;
	CNT_ADD(s->n_quanta, 1);
	CNT_ADD(s->n_samples, n);
	CNT_SET(s->last_nsec, q.nsec);
	if (s->cfg.notify) {
		s->cfg.notify(s->cfg.notify_data);
	}
done:
	pw_stream_queue_buffer(s->stream, b);
}

/* Fill the driver clock for one cycle and start it. Data thread. */
static void start_cycle(struct pw_sink *s, struct spa_io_clock *c,
			const struct sink_trig *t)
{
	struct ratediff_clock ck;
	uint32_t dur;
	int r;

	/* The server writes the quantum it chose for this graph into the
	 * driver's clock (duration, rate); the driver fills in the rest,
	 * as spa/plugins/support/node-driver.c does before it signals
	 * ready. */
	dur = c->duration ? (uint32_t)c->duration : s->cfg.quantum;
	if (dur == 0) {
		dur = 1024;
	}
	if (c->rate.denom == 0) {
		c->rate = SPA_FRACTION(1, s->cfg.rate_hz);
	}
	ratediff_driver_cycle(&s->drv, t->nsec, dur, t->rate_diff, &ck);
	c->nsec = ck.nsec;
	c->position = ck.position;
	c->duration = ck.duration;
	c->delay = 0;
	c->rate_diff = ck.rate_diff;
	c->next_nsec = ck.next_nsec;
	CNT_SET(s->quantum, dur);
	s->cycle_pending = true;
	r = pw_stream_trigger_process(s->stream);
	if (r < 0) {
		s->cycle_pending = false;
		CNT_ADD(s->n_trigger_err, 1);
		atomic_store_explicit(&s->last_trigger_err, r,
				      memory_order_relaxed);
		return;
	}
	CNT_ADD(s->n_cycles, 1);
}

/*
 * Data thread: run the oldest queued trigger, if the graph is free.
 *
 * Filling the clock here rather than on the RT thread keeps every write
 * to it, and every pw_loop_invoke() on the data loop, on the data loop's
 * own thread: pw_stream_trigger_process() of a driving stream invokes
 * do_trigger_process on the data loop (stream.c), a direct call from the
 * loop's thread, while 0.3.65's invoke queue from a foreign thread is one
 * ring that PipeWire's own threads write too.
 *
 * A trigger that comes while the previous cycle is still running (a
 * follower was slow: process() has not run yet) waits in the queue and
 * runs as soon as process() reports the cycle done, with its own nsec.
 * Starting it at once would rewrite the clock under the running cycle and
 * make PipeWire treat the graph as xrun (seen on 0.3.65 with a non-RT
 * pw-cat: a quantum of silence and two position jumps). The eventfd may
 * fold several triggers into one wake-up; the queue keeps each one.
 */
static void run_triggers(struct pw_sink *s, bool catchup)
{
	struct spa_io_clock *c =
		atomic_load_explicit(&s->clock, memory_order_acquire);
	struct sink_trig t;
	size_t n;

	/* A suspended or paused node is still its own driver (nothing
	 * else is in its graph) but has no cycle to run. */
	if (!c || !sink_driving_now(s) || !atomic_load(&s->streaming)) {
		n = spsc_skip(&s->trig_ring, SIZE_MAX) / sizeof(t);
		CNT_ADD(s->n_cycles_nd, n);
		s->cycle_pending = false;
		return;
	}
	n = spsc_read_avail(&s->trig_ring) / sizeof(t);
	if (n == 0) {
		return;
	}
	if (s->cycle_pending) {
		if (n <= SINK_MAX_WAITS) {
			return;
		}
		/* Stuck: keep only the newest trigger. */
		CNT_ADD(s->n_stuck, 1);
		CNT_ADD(s->n_dropped, n - 1);
		spsc_skip(&s->trig_ring, (n - 1) * sizeof(t));
	}
	if (spsc_read(&s->trig_ring, &t, sizeof(t)) < 0) {
		return;
	}
	if (catchup) {
		CNT_ADD(s->n_late, 1);
	}
	start_cycle(s, c, &t);
}

static void on_trigger(void *data, uint64_t count)
{
	run_triggers(data, false);
}

static void on_catchup(void *data, uint64_t count)
{
	run_triggers(data, true);
}

static void on_state_changed(void *data, enum pw_stream_state old,
			     enum pw_stream_state state, const char *error)
{
	struct pw_sink *s = data;

	atomic_store(&s->streaming, state == PW_STREAM_STATE_STREAMING);
	if (state == PW_STREAM_STATE_ERROR) {
		atomic_store(&s->error, true);
	}
	if (state >= PW_STREAM_STATE_PAUSED) {
		atomic_store(&s->node_id, pw_stream_get_node_id(s->stream));
	}
}

struct sink_io {
	uint32_t id;
	uint32_t size;
	void *area;
};

/* Data thread: take the new io area, as pw_stream's own do_set_position
 * does, so process() and start_cycle() never see an area the server is
 * about to replace. */
static int do_set_io(struct spa_loop *loop, bool async, uint32_t seq,
		     const void *data, size_t size, void *user_data)
{
	const struct sink_io *io = data;
	struct pw_sink *s = user_data;
	bool ok;

	switch (io->id) {
	case SPA_IO_Position:
		ok = io->size >= sizeof(struct spa_io_position);
		atomic_store_explicit(&s->position, ok ? io->area : NULL,
				      memory_order_release);
		break;
	case SPA_IO_Clock:
		ok = io->size >= sizeof(struct spa_io_clock);
		atomic_store_explicit(&s->clock, ok ? io->area : NULL,
				      memory_order_release);
		break;
	default:
		return 0;
	}
	atomic_store(&s->driving, sink_driving_now(s));
	return 0;
}

/* Thread loop: an io area changed (a new driver, or the node's own). */
static void on_io_changed(void *data, uint32_t id, void *area, uint32_t size)
{
	struct pw_sink *s = data;
	struct sink_io io = { .id = id, .size = size, .area = area };

	if (id != SPA_IO_Position && id != SPA_IO_Clock) {
		return;
	}
	pw_loop_invoke(s->data_loop, do_set_io, SPA_ID_INVALID, &io,
		       sizeof(io), true, s);
}

static const struct pw_stream_events sink_stream_events = {
	PW_VERSION_STREAM_EVENTS,
	.state_changed = on_state_changed,
	.io_changed = on_io_changed,
	.process = on_process,
};

static void on_core_error(void *data, uint32_t id, int seq, int res,
			  const char *message)
{
	struct pw_sink *s = data;

	if (id == PW_ID_CORE) {
		atomic_store(&s->error, true);
	}
}

static const struct pw_core_events sink_core_events = {
	PW_VERSION_CORE_EVENTS,
	.error = on_core_error,
};

static const struct spa_pod *build_latency(struct spa_pod_builder *b,
					   uint64_t ns)
{
	/* pw_stream keeps a Latency param only in the stream's own
	 * direction; the other direction is PipeWire's to fill from the
	 * peers (stream.c add_param). */
	struct spa_latency_info li = SPA_LATENCY_INFO(SPA_DIRECTION_INPUT,
						      .min_ns = ns,
						      .max_ns = ns);

	return spa_latency_build(b, SPA_PARAM_Latency, &li);
}

static int sink_connect(struct pw_sink *s)
{
	struct spa_audio_info_raw info;
	const struct spa_pod *params[2];
	struct pw_properties *props;
	uint8_t buf[1024];
	struct spa_pod_builder b = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
	enum pw_stream_flags flags;

	props = pw_properties_new(
		PW_KEY_MEDIA_TYPE, "Audio",
		PW_KEY_MEDIA_CATEGORY, "Playback",
		PW_KEY_MEDIA_CLASS, "Audio/Sink",
		PW_KEY_NODE_NAME, s->cfg.node_name,
		PW_KEY_NODE_DESCRIPTION, s->cfg.description,
		/* DSP ports (playback_FL, playback_FR) without a session
		 * manager to configure the adapter. */
		"adapter.auto-port-config",
		"{ mode = dsp monitor = false position = preserve }",
		NULL);
	if (!props) {
		return -ENOMEM;
	}
	if (s->cfg.quantum) {
		pw_properties_setf(props, PW_KEY_NODE_LATENCY, "%u/%u",
				   s->cfg.quantum, s->cfg.rate_hz);
	}
	pw_properties_setf(props, PW_KEY_NODE_RATE, "1/%u", s->cfg.rate_hz);
	if (s->cfg.driver) {
		pw_properties_set(props, PW_KEY_NODE_DRIVER, "true");
		pw_properties_setf(props, PW_KEY_PRIORITY_DRIVER, "%u",
				   s->cfg.driver_priority);
	}

	s->stream = pw_stream_new(s->core, s->cfg.node_name, props);
	if (!s->stream) {
		return -errno ? -errno : -ENOMEM;
	}
	pw_stream_add_listener(s->stream, &s->stream_listener,
			       &sink_stream_events, s);

	memset(&info, 0, sizeof(info));
	info.format = s->cfg.format == PW_SINK_S16 ? SPA_AUDIO_FORMAT_S16 :
						     SPA_AUDIO_FORMAT_F32;
	info.rate = s->cfg.rate_hz;
	info.channels = s->cfg.channels;
	if (s->cfg.channels == 1) {
		info.position[0] = SPA_AUDIO_CHANNEL_MONO;
	} else {
		info.position[0] = SPA_AUDIO_CHANNEL_FL;
		info.position[1] = SPA_AUDIO_CHANNEL_FR;
	}
	params[0] = spa_format_audio_raw_build(&b, SPA_PARAM_EnumFormat,
					       &info);
	params[1] = build_latency(&b, s->latency_ns);
	if (!params[0] || !params[1]) {
		return -ENOSPC;
	}

	flags = PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS |
		PW_STREAM_FLAG_RT_PROCESS;
	if (s->cfg.driver) {
		flags |= PW_STREAM_FLAG_DRIVER;
	}
	return pw_stream_connect(s->stream, PW_DIRECTION_INPUT, PW_ID_ANY,
				 flags, params, 2);
}

int pw_sink_new(const struct pw_sink_config *c, struct pw_sink **ret)
{
	struct pw_properties *cprops;
	struct pw_sink *s;
	int r;

	if (!c || !ret || !c->ring ||
	    (c->format != PW_SINK_F32 && c->format != PW_SINK_S16) ||
	    c->channels > 2) {
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		return -ENOMEM;
	}
	s->cfg = *c;
	if (!s->cfg.node_name) {
		s->cfg.node_name = SINK_DEFAULT_NAME;
	}
	if (!s->cfg.description) {
		s->cfg.description = SINK_DEFAULT_DESC;
	}
	if (!s->cfg.rate_hz) {
		s->cfg.rate_hz = SINK_DEFAULT_RATE;
	}
	if (!s->cfg.channels) {
		s->cfg.channels = 2;
	}
	if (!s->cfg.max_quantum) {
		s->cfg.max_quantum = SINK_DEFAULT_MAX_QUANTUM;
	}
	if (!s->cfg.driver_priority) {
		s->cfg.driver_priority = SINK_DEFAULT_DRIVER_PRIORITY;
	}
	s->stride = (s->cfg.format == PW_SINK_S16 ? 2 : 4) * s->cfg.channels;
	s->latency_ns = c->latency_ns;
	atomic_store(&s->latency_pub, c->latency_ns);
	atomic_store(&s->quantum, s->cfg.quantum);
	ratediff_driver_init(&s->drv, s->cfg.rate_hz);
	spsc_init(&s->trig_ring, s->trig_mem, sizeof(s->trig_mem));

	pw_init(NULL, NULL);
	s->pw_inited = true;

	s->loop = pw_thread_loop_new("ttws-pw", NULL);
	if (!s->loop) {
		r = -errno ? -errno : -ENOMEM;
		goto fail;
	}
	/* client-rt.conf loads module-rt: PipeWire's data thread, where
	 * process() runs, gets SCHED_FIFO where the system allows it. */
	s->context = pw_context_new(
		pw_thread_loop_get_loop(s->loop),
		pw_properties_new(PW_KEY_CONFIG_NAME, "client-rt.conf", NULL),
		0);
	if (!s->context) {
		r = -errno ? -errno : -ENOMEM;
		goto fail;
	}
	s->data_loop = pw_data_loop_get_loop(
		pw_context_get_data_loop(s->context));
	/* Added before the stream exists, so nothing else is invoking on
	 * the data loop yet. */
	s->trigger_ev = pw_loop_add_event(s->data_loop, on_trigger, s);
	s->catchup_ev = pw_loop_add_event(s->data_loop, on_catchup, s);
	if (!s->trigger_ev || !s->catchup_ev) {
		r = -errno ? -errno : -ENOMEM;
		goto fail;
	}
	r = pw_thread_loop_start(s->loop);
	if (r < 0) {
		goto fail;
	}

	pw_thread_loop_lock(s->loop);
	cprops = NULL;
	if (s->cfg.remote) {
		cprops = pw_properties_new(PW_KEY_REMOTE_NAME, s->cfg.remote,
					   NULL);
	}
	s->core = pw_context_connect(s->context, cprops, 0);
	if (!s->core) {
		r = errno ? -errno : -ECONNREFUSED;
		pw_thread_loop_unlock(s->loop);
		goto fail;
	}
	pw_core_add_listener(s->core, &s->core_listener, &sink_core_events,
			     s);
	r = sink_connect(s);
	pw_thread_loop_unlock(s->loop);
	if (r < 0) {
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	pw_sink_free(s);
	return r;
}

static int do_remove_trigger(struct spa_loop *loop, bool async, uint32_t seq,
			     const void *data, size_t size, void *user_data)
{
	struct pw_sink *s = user_data;

	if (s->trigger_ev) {
		pw_loop_destroy_source(s->data_loop, s->trigger_ev);
		s->trigger_ev = NULL;
	}
	if (s->catchup_ev) {
		pw_loop_destroy_source(s->data_loop, s->catchup_ev);
		s->catchup_ev = NULL;
	}
	return 0;
}

struct pw_sink *pw_sink_free(struct pw_sink *s)
{
	if (!s) {
		return NULL;
	}
	if (s->loop) {
		pw_thread_loop_lock(s->loop);
		if (s->stream) {
			pw_stream_disconnect(s->stream);
			pw_stream_destroy(s->stream);
			s->stream = NULL;
		}
		if (s->core) {
			spa_hook_remove(&s->core_listener);
			pw_core_disconnect(s->core);
			s->core = NULL;
		}
		/* The stream is gone, so no one else invokes on the data
		 * loop: remove the event source from its own thread, where
		 * it cannot be mid-dispatch. */
		if (s->trigger_ev || s->catchup_ev) {
			pw_loop_invoke(s->data_loop, do_remove_trigger, 0,
				       NULL, 0, true, s);
		}
		pw_thread_loop_unlock(s->loop);
		pw_thread_loop_stop(s->loop);
	}
	if (s->context) {
		pw_context_destroy(s->context);
	}
	if (s->loop) {
		pw_thread_loop_destroy(s->loop);
	}
	if (s->pw_inited) {
		pw_deinit();
	}
	free(s);
	return NULL;
}

int pw_sink_set_latency(struct pw_sink *s, uint64_t latency_ns)
{
	const struct spa_pod *params[1];
	uint8_t buf[512];
	struct spa_pod_builder b = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
	int r;

	if (latency_ns == s->latency_ns) {
		return 0;
	}
	params[0] = build_latency(&b, latency_ns);
	if (!params[0]) {
		return -ENOSPC;
	}
	pw_thread_loop_lock(s->loop);
	r = pw_stream_update_params(s->stream, params, 1);
	pw_thread_loop_unlock(s->loop);
	if (r < 0) {
		return r;
	}
	s->latency_ns = latency_ns;
	atomic_store(&s->latency_pub, latency_ns);
	return 0;
}

int pw_sink_trigger(struct pw_sink *s, uint64_t nsec, double rate_diff)
{
	struct sink_trig t = { .nsec = nsec, .rate_diff = rate_diff };

	if (!atomic_load_explicit(&s->driving, memory_order_relaxed) ||
	    !atomic_load_explicit(&s->streaming, memory_order_relaxed)) {
		CNT_ADD(s->n_triggers_idle, 1);
		return -EAGAIN;
	}
	if (spsc_write(&s->trig_ring, &t, sizeof(t)) < 0) {
		/* 64 cycles behind: the data thread is not running. */
		CNT_ADD(s->n_dropped, 1);
		return -EAGAIN;
	}
	/* One eventfd write; the data loop runs on_trigger(). */
	pw_loop_signal_event(s->data_loop, s->trigger_ev);
	CNT_ADD(s->n_triggers, 1);
	return 0;
}

uint32_t pw_sink_quantum(const struct pw_sink *s)
{
	return CNT_GET(((struct pw_sink *)s)->quantum);
}

bool pw_sink_is_driving(const struct pw_sink *s)
{
	return atomic_load(&((struct pw_sink *)s)->driving);
}

void pw_sink_get_stats(const struct pw_sink *cs, struct pw_sink_stats *ret)
{
	struct pw_sink *s = (struct pw_sink *)cs;
	struct pw_sink_stats st;

	memset(&st, 0, sizeof(st));
	st.process_calls = CNT_GET(s->n_process);
	st.quanta = CNT_GET(s->n_quanta);
	st.samples = CNT_GET(s->n_samples);
	st.overruns = CNT_GET(s->n_overruns);
	st.overrun_samples = CNT_GET(s->n_overrun_samples);
	st.underruns = CNT_GET(s->n_underruns);
	st.oversize = CNT_GET(s->n_oversize);
	st.triggers = CNT_GET(s->n_triggers);
	st.triggers_idle = CNT_GET(s->n_triggers_idle);
	st.cycles = CNT_GET(s->n_cycles);
	st.cycles_not_driving = CNT_GET(s->n_cycles_nd);
	st.trigger_errors = CNT_GET(s->n_trigger_err);
	st.last_trigger_error = CNT_GET(s->last_trigger_err);
	st.late_cycles = CNT_GET(s->n_late);
	st.dropped = CNT_GET(s->n_dropped);
	st.stuck = CNT_GET(s->n_stuck);
	st.latency_ns = CNT_GET(s->latency_pub);
	st.last_nsec = CNT_GET(s->last_nsec);
	st.quantum = CNT_GET(s->quantum);
	st.node_id = CNT_GET(s->node_id);
	st.driving = atomic_load(&s->driving);
	st.streaming = atomic_load(&s->streaming);
	st.error = atomic_load(&s->error);
	*ret = st;
}
