/* SPDX-License-Identifier: MIT */
/*
 * ttws.sink's pw_stream: connecting it (and the core it lives on), its
 * events on the thread loop, and on the data thread process() (each
 * quantum into the caller's ring) and the graph cycles the RT thread's
 * triggers start.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if HAVE_TEST_HOOKS
#include <dlfcn.h>
#endif

#include <pipewire/pipewire.h>
#include <spa/node/io.h>
#include <spa/param/audio/format-utils.h>
#include <spa/param/latency-utils.h>
#include <spa/pod/builder.h>

#include "core/framer.h"
#include "core/macro.h"
#include "core/ratediff.h"
#include "core/spsc.h"
#include "pw/sink_private.h"

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
static void sink_process(void *data)
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

#if HAVE_TEST_HOOKS
/*
 * Test builds: mark where process() starts and ends for the rtcheck shim
 * (tests/integration/rtcheck.c, LD_PRELOAD), which then counts what is
 * called inside it as it counts the RT thread's calls. The shim defines
 * ttws_rtcheck_section(); without it this stays NULL (sink_connect()).
 */
static void (*_Atomic sink_rtcheck_section)(int on);
#endif

static void on_process(void *data)
{
#if HAVE_TEST_HOOKS
	void (*mark)(int) = atomic_load_explicit(&sink_rtcheck_section,
						 memory_order_relaxed);

	if (mark) {
		mark(1);
	}
	sink_process(data);
	if (mark) {
		mark(0);
	}
#else
	sink_process(data);
#endif
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
	CNT_SET(s->graph_rate, c->rate.denom);
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

void sink_on_trigger(void *data, uint64_t count)
{
	run_triggers(data, false);
}

void sink_on_catchup(void *data, uint64_t count)
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
		sink_bound(s);
	}
	/* Our own sink_drop() removes this listener first, so this is the
	 * server: it died (the stream's core listener saw -EPIPE, 0.3.65
	 * stream.c on_core_error) or removed the node (proxy_removed). */
	if (state == PW_STREAM_STATE_UNCONNECTED) {
		sink_lost(s, -EPIPE);
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

	/* An error on the core object is the connection's: -EPIPE when the
	 * daemon went away (pw-cat and PipeWire's own modules treat it so). */
	if (id == PW_ID_CORE) {
		atomic_store(&s->error, true);
		sink_lost(s, res < 0 ? res : -EPIPE);
	}
}

static const struct pw_core_events sink_core_events = {
	PW_VERSION_CORE_EVENTS,
	.error = on_core_error,
};

const struct spa_pod *sink_build_latency(struct spa_pod_builder *b,
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

/* The stream on s->core, connected. Thread loop, locked. 0 / -errno. */
static int sink_stream_new(struct pw_sink *s)
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
	params[1] = sink_build_latency(&b, s->latency_ns);
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

int sink_connect(struct pw_sink *s)
{
	struct pw_properties *cprops = NULL;

	CNT_ADD(s->n_attempts, 1);
#if HAVE_TEST_HOOKS
	{
		void (*mark)(int);

		*(void **)&mark = dlsym(RTLD_DEFAULT, "ttws_rtcheck_section");
		atomic_store(&sink_rtcheck_section, mark);
	}
#endif
	if (s->cfg.remote) {
		cprops = pw_properties_new(PW_KEY_REMOTE_NAME, s->cfg.remote,
					   NULL);
		if (!cprops) {
			return -ENOMEM;
		}
	}
	/* 0.3.65 connects the socket here, synchronously: -EHOSTDOWN (or
	 * -ECONNREFUSED) when no daemon listens. */
	errno = 0;
	s->core = pw_context_connect(s->context, cprops, 0);
	if (!s->core) {
		return errno ? -errno : -ECONNREFUSED;
	}
	pw_core_add_listener(s->core, &s->core_listener, &sink_core_events,
			     s);
	return sink_stream_new(s);
}
