/* SPDX-License-Identifier: MIT */
#include "pw/sink.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

	/* Published by io_changed (thread loop), read by the data thread.
	 * The areas live in the node's activation memory, mapped for the
	 * node's lifetime. */
	_Atomic(struct spa_io_position *) position;
	_Atomic(struct spa_io_clock *) clock;

	/* RT thread -> data thread: the next cycle's nsec and rate_diff
	 * behind a sequence counter (one writer). */
	_Atomic uint32_t trig_seq;
	_Atomic uint64_t trig_nsec;
	_Atomic uint64_t trig_rd_bits;

	/* Data thread only. */
	struct ratediff_driver drv;
	bool drop_pending;  /* a quantum was dropped since the last record */
	bool cycle_pending; /* started a cycle, process() not seen yet */
	bool owed;          /* a trigger waits for that cycle to finish */
	uint32_t pending_waits;

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
		n_triggers_idle, n_cycles, n_cycles_nd, n_coalesced,
		n_trigger_err, n_late, n_late_dropped, n_stuck;
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
	uint32_t off, size, n;
	size_t bytes;

	CNT_ADD(s->n_process, 1);
	/* The cycle this node started has reached it: done. */
	s->cycle_pending = false;
	if (s->owed) {
		pw_loop_signal_event(s->data_loop, s->catchup_ev);
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
done:
	pw_stream_queue_buffer(s->stream, b);
}

/* Fill the driver clock for one cycle and start it. Data thread. */
static void start_cycle(struct pw_sink *s, uint64_t nsec, double rd)
{
	struct ratediff_clock ck;
	struct spa_io_clock *c;
	uint32_t dur;
	int r;

	c = atomic_load_explicit(&s->clock, memory_order_acquire);
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
	ratediff_driver_cycle(&s->drv, nsec, dur, rd, &ck);
	c->nsec = ck.nsec;
	c->position = ck.position;
	c->duration = ck.duration;
	c->delay = 0;
	c->rate_diff = ck.rate_diff;
	c->next_nsec = ck.next_nsec;
	CNT_SET(s->quantum, dur);
	s->cycle_pending = true;
	s->pending_waits = 0;
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
 * Data thread: a trigger from the RT thread (from_rt) or the catch-up of
 * one that had to wait. Filling the clock here rather than on the RT
 * thread keeps every write to it, and every pw_loop_invoke() on the data
 * loop, on the data loop's own thread: pw_stream_trigger_process() of a
 * driving stream invokes do_trigger_process on the data loop (stream.c),
 * a direct call from the loop's thread, while 0.3.65's invoke queue from
 * a foreign thread is one ring that PipeWire's own threads write too.
 *
 * A trigger that comes while the previous cycle is still running (a
 * follower was slow; process() has not run yet) is held and run as soon
 * as process() reports the cycle done. Starting the next cycle at once
 * would rewrite the clock under the running one and make PipeWire treat
 * the graph as xrun (seen: a quantum of silence and two position jumps
 * from a non-RT pw-cat). A graph that stays stuck for SINK_MAX_WAITS
 * triggers is restarted anyway.
 */
#define SINK_MAX_WAITS 8

static void handle_trigger(struct pw_sink *s, bool from_rt)
{
	uint32_t s1, s2;
	uint64_t nsec, bits;
	double rd;

	do {
		s1 = atomic_load_explicit(&s->trig_seq, memory_order_acquire);
		nsec = atomic_load_explicit(&s->trig_nsec,
					    memory_order_relaxed);
		bits = atomic_load_explicit(&s->trig_rd_bits,
					    memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&s->trig_seq, memory_order_relaxed);
	} while ((s1 & 1) || s1 != s2);
	memcpy(&rd, &bits, sizeof(rd));

	/* A suspended or paused node is still its own driver (nothing
	 * else is in its graph) but has no cycle to run. */
	if (!sink_driving_now(s) || !atomic_load(&s->streaming)) {
		CNT_ADD(s->n_cycles_nd, 1);
		s->cycle_pending = false;
		s->owed = false;
		return;
	}
	if (s->cycle_pending && from_rt) {
		if (++s->pending_waits < SINK_MAX_WAITS) {
			if (s->owed) {
				CNT_ADD(s->n_late_dropped, 1);
			}
			s->owed = true;
			CNT_ADD(s->n_late, 1);
			return;
		}
		CNT_ADD(s->n_stuck, 1);
	}
	s->owed = false;
	start_cycle(s, nsec, rd);
}

static void on_trigger(void *data, uint64_t count)
{
	struct pw_sink *s = data;

	if (count > 1) {
		CNT_ADD(s->n_coalesced, count - 1);
	}
	handle_trigger(s, true);
}

static void on_catchup(void *data, uint64_t count)
{
	handle_trigger(data, false);
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

static void on_io_changed(void *data, uint32_t id, void *area, uint32_t size)
{
	struct pw_sink *s = data;

	switch (id) {
	case SPA_IO_Position:
		atomic_store_explicit(&s->position,
				      size >= sizeof(struct spa_io_position) ?
					      area :
					      NULL,
				      memory_order_release);
		break;
	case SPA_IO_Clock:
		atomic_store_explicit(&s->clock,
				      size >= sizeof(struct spa_io_clock) ?
					      area :
					      NULL,
				      memory_order_release);
		break;
	default:
		break;
	}
	atomic_store(&s->driving, sink_driving_now(s));
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

	pw_init(NULL, NULL);
	s->pw_inited = true;

	s->loop = pw_thread_loop_new("ttws-pw", NULL);
	if (!s->loop) {
		r = -errno ? -errno : -ENOMEM;
		goto fail;
	}
	s->context = pw_context_new(pw_thread_loop_get_loop(s->loop), NULL, 0);
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
	uint32_t seq;
	uint64_t bits;

	if (!atomic_load_explicit(&s->driving, memory_order_relaxed) ||
	    !atomic_load_explicit(&s->streaming, memory_order_relaxed)) {
		CNT_ADD(s->n_triggers_idle, 1);
		return -EAGAIN;
	}
	memcpy(&bits, &rate_diff, sizeof(bits));
	seq = atomic_load_explicit(&s->trig_seq, memory_order_relaxed);
	atomic_store_explicit(&s->trig_seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&s->trig_nsec, nsec, memory_order_relaxed);
	atomic_store_explicit(&s->trig_rd_bits, bits, memory_order_relaxed);
	atomic_store_explicit(&s->trig_seq, seq + 2, memory_order_release);
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
	st.coalesced = CNT_GET(s->n_coalesced);
	st.trigger_errors = CNT_GET(s->n_trigger_err);
	st.last_trigger_error = CNT_GET(s->last_trigger_err);
	st.late_cycles = CNT_GET(s->n_late);
	st.late_dropped = CNT_GET(s->n_late_dropped);
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
