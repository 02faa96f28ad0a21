/* SPDX-License-Identifier: MIT */
/*
 * ttws.sink: creating and freeing it, and the calls other threads make
 * (pw_sink_trigger() from the RT thread, the stats from any). The stream
 * itself is in sink_stream.c, reconnecting in sink_reconnect.c.
 */
#include "pw/sink.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <pipewire/pipewire.h>
#include <spa/pod/builder.h>

#include "core/macro.h"
#include "core/ratediff.h"
#include "core/spsc.h"
#include "pw/sink_private.h"

#define SINK_DEFAULT_NAME "ttws.sink"
#define SINK_DEFAULT_DESC "ttws earbuds"
#define SINK_DEFAULT_RATE 48000u
#define SINK_DEFAULT_MAX_QUANTUM 8192u
#define SINK_DEFAULT_DRIVER_PRIORITY 21000u

int pw_sink_new(const struct pw_sink_config *c, struct pw_sink **ret)
{
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
	s->retry_ns = SINK_RETRY_MIN_NS;
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
	s->trigger_ev = pw_loop_add_event(s->data_loop, sink_on_trigger, s);
	s->catchup_ev = pw_loop_add_event(s->data_loop, sink_on_catchup, s);
	s->retry_timer = pw_loop_add_timer(pw_thread_loop_get_loop(s->loop),
					   sink_on_retry, s);
	if (!s->trigger_ev || !s->catchup_ev || !s->retry_timer) {
		r = -errno ? -errno : -ENOMEM;
		goto fail;
	}
	r = pw_thread_loop_start(s->loop);
	if (r < 0) {
		goto fail;
	}

	/* Without wait_for_server the first connection must work: the
	 * caller says so and exits. With it, a PipeWire that is not there
	 * yet is waited for like one that went away (sink_reconnect.c). */
	pw_thread_loop_lock(s->loop);
	r = sink_connect(s);
	if (r < 0 && s->cfg.wait_for_server) {
		sink_drop(s);
		sink_start_gone(s, r);
		r = 0;
	}
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
		/* No reconnect from here on: the timer goes first. */
		if (s->retry_timer) {
			pw_loop_destroy_source(pw_thread_loop_get_loop(s->loop),
					       s->retry_timer);
			s->retry_timer = NULL;
		}
		sink_drop(s);
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
	params[0] = sink_build_latency(&b, latency_ns);
	if (!params[0]) {
		return -ENOSPC;
	}
	pw_thread_loop_lock(s->loop);
	/* While PipeWire is gone there is no stream: the next one is made
	 * with this value (sink_connect()). */
	r = s->stream ? pw_stream_update_params(s->stream, params, 1) : 0;
	if (r >= 0) {
		s->latency_ns = latency_ns;
	}
	pw_thread_loop_unlock(s->loop);
	if (r < 0) {
		return r;
	}
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

uint32_t pw_sink_graph_rate(const struct pw_sink *s)
{
	uint32_t r = CNT_GET(((struct pw_sink *)s)->graph_rate);

	return r ? r : s->cfg.rate_hz;
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
	st.registered = atomic_load(&s->registered);
	st.gone_since_ns = CNT_GET(s->gone_since_ns);
	st.disconnects = CNT_GET(s->n_gone);
	st.reconnects = CNT_GET(s->n_back);
	st.registrations = CNT_GET(s->n_reg);
	st.started_gone = atomic_load(&s->started_gone);
	st.connect_attempts = CNT_GET(s->n_attempts);
	st.last_connect_error = CNT_GET(s->last_connect_err);
	*ret = st;
}
