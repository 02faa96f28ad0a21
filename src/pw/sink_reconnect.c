/* SPDX-License-Identifier: MIT */
/*
 * ttws.sink when PipeWire goes away and comes back (the daemon is
 * restarted, crashes, or removes the node): the dead stream and core are
 * dropped and the sink connects again, with back-off, until the node is
 * registered again. Everything here runs on the thread loop (its
 * callbacks hold its lock), so it is serialized with the main thread's
 * pw_sink_set_latency() and pw_sink_free().
 *
 * The RT thread keeps calling pw_sink_trigger() meanwhile: it only sees
 * driving = false and gets -EAGAIN (the stream ticks on without a graph,
 * as when no client plays), and the data loop and its events it signals
 * stay (sink_private.h).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <pipewire/pipewire.h>

#include "core/ratediff.h"
#include "core/spsc.h"
#include "pw/sink_private.h"

uint64_t sink_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Arm the retry timer after ns (0 < ns). Thread loop. */
static void sink_arm(struct pw_sink *s, uint64_t ns)
{
	struct timespec value = {
		.tv_sec = (time_t)(ns / 1000000000u),
		.tv_nsec = (long)(ns % 1000000000u),
	};

	/* A zero timespec would disarm the timer (spa timerfd). */
	if (ns == 0) {
		value.tv_nsec = 1;
	}
	pw_loop_update_timer(pw_thread_loop_get_loop(s->loop), s->retry_timer,
			     &value, NULL, false);
}

static void sink_disarm(struct pw_sink *s)
{
	struct timespec zero = { 0, 0 };

	pw_loop_update_timer(pw_thread_loop_get_loop(s->loop), s->retry_timer,
			     &zero, NULL, false);
}

/* The next wait: doubled, at most SINK_RETRY_MAX_NS. */
static uint64_t sink_backoff(struct pw_sink *s)
{
	uint64_t wait = s->retry_ns;

	s->retry_ns = wait >= SINK_RETRY_MAX_NS / 2 ? SINK_RETRY_MAX_NS :
						       2 * wait;
	return wait;
}

void sink_lost(struct pw_sink *s, int err)
{
	uint64_t expect = 0;

	atomic_store(&s->driving, false);
	atomic_store(&s->streaming, false);
	atomic_store(&s->registered, false);
	atomic_store(&s->node_id, 0);
	atomic_store_explicit(&s->last_connect_err, err, memory_order_relaxed);
	/* Both the core's and the stream's listeners report one loss. */
	if (atomic_compare_exchange_strong(&s->gone_since_ns, &expect,
					   sink_now_ns())) {
		CNT_ADD(s->n_gone, 1);
	}
	/* Not here: the core is in the middle of emitting this event and
	 * must not be destroyed under it. The timer drops it. Once per
	 * connection: the second listener's report of the same loss must
	 * not double the wait. */
	if (!s->retry_armed) {
		s->retry_armed = true;
		sink_arm(s, sink_backoff(s));
	}
}

void sink_start_gone(struct pw_sink *s, int err)
{
	atomic_store(&s->started_gone, true);
	atomic_store_explicit(&s->last_connect_err, err, memory_order_relaxed);
	atomic_store(&s->gone_since_ns, sink_now_ns());
	s->retry_armed = true;
	sink_arm(s, sink_backoff(s));
}

void sink_bound(struct pw_sink *s)
{
	uint64_t reg = CNT_GET(s->n_reg);

	/* Called at each state from PAUSED on: count the node once per
	 * connection. */
	if (!atomic_exchange(&s->registered, true)) {
		reg = CNT_ADD(s->n_reg, 1) + 1;
	}
	if (atomic_exchange(&s->gone_since_ns, 0) != 0) {
		/* A start without PipeWire was no loss, so its end is no
		 * return. */
		if (!(atomic_load(&s->started_gone) && reg == 1)) {
			CNT_ADD(s->n_back, 1);
		}
		atomic_store(&s->error, false);
		sink_disarm(s);
	}
	s->retry_ns = SINK_RETRY_MIN_NS;
}

/*
 * Data thread: forget the io areas (they live in the connection's shared
 * memory, unmapped with the core), the queued triggers and a cycle that
 * will never finish; the next record starts a new timeline.
 */
static int do_forget(struct spa_loop *loop, bool async, uint32_t seq,
		     const void *data, size_t size, void *user_data)
{
	struct pw_sink *s = user_data;
	size_t n;

	atomic_store_explicit(&s->position, NULL, memory_order_release);
	atomic_store_explicit(&s->clock, NULL, memory_order_release);
	atomic_store(&s->driving, false);
	n = spsc_skip(&s->trig_ring, SIZE_MAX) / sizeof(struct sink_trig);
	CNT_ADD(s->n_cycles_nd, n);
	s->cycle_pending = false;
	s->drop_pending = true;
	ratediff_driver_init(&s->drv, s->cfg.rate_hz);
	return 0;
}

void sink_drop(struct pw_sink *s)
{
	/* The listeners go first: our own disconnect is not a loss. */
	if (s->stream) {
		spa_hook_remove(&s->stream_listener);
	}
	if (s->core) {
		spa_hook_remove(&s->core_listener);
	}
	atomic_store(&s->streaming, false);
	atomic_store(&s->registered, false);
	if (s->data_loop && (s->stream || s->core)) {
		pw_loop_invoke(s->data_loop, do_forget, 0, NULL, 0, true, s);
	}
	if (s->stream) {
		pw_stream_disconnect(s->stream);
		pw_stream_destroy(s->stream);
		s->stream = NULL;
	}
	if (s->core) {
		pw_core_disconnect(s->core);
		s->core = NULL;
	}
}

void sink_on_retry(void *data, uint64_t expirations)
{
	struct pw_sink *s = data;
	int r;

	s->retry_armed = false;
	if (atomic_load(&s->gone_since_ns) == 0) {
		return; /* came back meanwhile */
	}
	sink_drop(s);
	r = sink_connect(s);
	if (r < 0) {
		atomic_store_explicit(&s->last_connect_err, r,
				      memory_order_relaxed);
		sink_drop(s);
		s->retry_armed = true;
		sink_arm(s, sink_backoff(s));
		return;
	}
	/* Connected: sink_bound() ends this when the node is registered.
	 * If it is not by then, start over. */
	sink_backoff(s);
	sink_arm(s, SINK_BIND_TIMEOUT_NS);
}
