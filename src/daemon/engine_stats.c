/* SPDX-License-Identifier: MIT */
/*
 * What the RT thread publishes for the other threads: the snapshot of
 * its counters and statistics (a seqlock: the writer never waits,
 * readers retry) and the latency histograms, with their names.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "core/spsc.h"
#include "daemon/bounds.h"
#include "daemon/dongle.h"
#include "daemon/ashapair.h"
#include "daemon/engine_private.h"
#include "daemon/lathist.h"

#if HAVE_PIPEWIRE
#include "pw/sink.h"
#endif

static void engine_publish_pair(const struct engine_pair *ep,
				struct engine_pair_snapshot *ps)
{
	unsigned i;

	ps->is_asha = ep->asha != NULL;
	if (ep->asha) {
		ashapair_get_stats(ep->asha, &ps->asha);
		return;
	}
	stream_get_stats(ep->stream, &ps->stream);
	for (i = 0; i < CONF_N_EARS; i++) {
		if (!ep->links[i]) {
			continue;
		}
		link_get_stats(ep->links[i], &ps->ear[i].link);
		servo_status(link_servo(ep->links[i]), &ps->ear[i].servo);
		servo_status(link_shadow(ep->links[i]), &ps->ear[i].shadow);
	}
}

/* A ring the RT thread feeds (frame log, capture): its own refusals,
 * size and high-water mark. */
static void engine_publish_ring(enum bounds_id id, const struct spsc *r)
{
	if (r) {
		bounds_publish(id, spsc_refused(r), spsc_capacity(r),
			       spsc_high_water(r));
	}
}

/*
 * The bounds whose counters live in what the RT thread owns or reads:
 * the rings, the loop, ttws.sink's hand-over, the dongles' ttys (daemon/
 * bounds.h). Every 100 ms, with the snapshot; wait-free (atomic loads
 * and stores).
 */
static void engine_publish_bounds(struct engine *e,
				  const struct engine_snapshot *s)
{
	struct loop_config lc;
	uint64_t pcm = 0, quantum = 0, trig = 0, ring_bytes = 0, ring_hw = 0;
	uint64_t tty = 0;
	unsigned i;

	for (i = 0; i < e->n_pairs; i++) {
		const struct stream_pw *pw = &e->pairs[i].pw;

		if (pw->ring) {
			ring_bytes = spsc_capacity(pw->ring);
			ring_hw = MAX(ring_hw, spsc_high_water(pw->ring));
		}
#if HAVE_PIPEWIRE
		if (pw->sink) {
			struct pw_sink_stats st;

			pw_sink_get_stats(pw->sink, &st);
			pcm += st.overruns;
			quantum += st.oversize;
			trig += st.dropped;
		}
#endif
	}
	bounds_publish(BOUNDS_PCM_RING, pcm, ring_bytes, ring_hw);
	bounds_publish(BOUNDS_PCM_QUANTUM, quantum, 0, 0);
	bounds_publish(BOUNDS_PW_TRIGGERS, trig, 0, 0);
	engine_publish_ring(BOUNDS_FRAME_LOG, e->frame_log);
	engine_publish_ring(BOUNDS_CAPTURE, e->capture);
	/* The loop's sizes are its defaults (engine_setup()) but max_msg,
	 * which engine_size_rx() raises for a fast hci-uart dongle: with a
	 * dongle that one is not known here. */
	loop_config_default(&lc);
	bounds_publish(BOUNDS_LOOP_TX, s->loop.tx_no_slot, lc.tx_slots, 0);
	bounds_publish(BOUNDS_LOOP_RX_BUFFERS, s->loop.rx_nobufs, lc.rx_depth,
		       0);
	bounds_publish(BOUNDS_LOOP_RX_MSG, s->loop.rx_truncated,
		       s->n_dongles ? 0 : lc.max_msg, 0);
	bounds_publish(BOUNDS_LOOP_CQ, s->loop.cq_overflow, 0, 0);
	bounds_publish(BOUNDS_TX_STAMP_KEYS, s->loop.tx_stamps_unmatched, 0,
		       0);
	for (i = 0; i < s->n_dongles; i++) {
		tty += s->dongle[i].line_buf_overrun;
	}
	bounds_publish(BOUNDS_TTY_RX, tty, 0, 0);
}

void engine_publish(struct engine *e, uint64_t now_ns)
{
	struct engine_snapshot *s = &e->snap;
	uint32_t seq;
	unsigned i;

	seq = atomic_load_explicit(&e->snap_seq, memory_order_relaxed);
	atomic_store_explicit(&e->snap_seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	s->taken_ns = now_ns;
	s->heartbeat = e->iterations;
	s->backend = loop_backend(e->loop);
	loop_get_counters(e->loop, &s->loop);
	/* Every 100 ms, not per frame: a loop over the pairs. */
	s->n_pairs = e->n_pairs;
	for (i = 0; i < e->n_pairs; i++) {
		engine_publish_pair(&e->pairs[i], &s->pairs[i]);
	}
	s->stream = s->pairs[0].stream;
	memcpy(s->ear, s->pairs[0].ear, sizeof(s->ear));
	s->n_dongles = 0;
	for (i = 0; i < ENGINE_MAX_DONGLES; i++) {
		if (e->dongles[i]) {
			dongle_get_stats(e->dongles[i],
					 &s->dongle[s->n_dongles++]);
		}
	}
	atomic_store_explicit(&e->snap_seq, seq + 2, memory_order_release);
	engine_publish_bounds(e, s);
}

void engine_snapshot(struct engine *e, struct engine_snapshot *ret)
{
	uint32_t a, b;

	/* Readers retry; the writer never waits for them. */
	do {
		a = atomic_load_explicit(&e->snap_seq, memory_order_acquire);
		memcpy(ret, &e->snap, sizeof(*ret));
		atomic_thread_fence(memory_order_acquire);
		b = atomic_load_explicit(&e->snap_seq, memory_order_relaxed);
	} while ((a & 1) || a != b);
}

int engine_pair_snapshot(struct engine *e, unsigned i,
			 struct engine_pair_snapshot *ret)
{
	uint32_t a, b;

	if (i >= e->n_pairs) {
		return -ERANGE;
	}
	do {
		a = atomic_load_explicit(&e->snap_seq, memory_order_acquire);
		memcpy(ret, &e->snap.pairs[i], sizeof(*ret));
		atomic_thread_fence(memory_order_acquire);
		b = atomic_load_explicit(&e->snap_seq, memory_order_relaxed);
	} while ((a & 1) || a != b);
	return 0;
}

static const char *const engine_ear_hist_names[ENGINE_N_EAR_HISTS] = {
	[ENGINE_EH_RESIDUAL] = "residual",
	[ENGINE_EH_DELIVERY] = "delivery",
	[ENGINE_EH_RX_TRANSPORT] = "rx_transport",
	[ENGINE_EH_RX_KERNEL] = "rx_kernel",
	[ENGINE_EH_RX_LOOP] = "rx_loop",
	[ENGINE_EH_RX_HANDLER] = "rx_handler",
	[ENGINE_EH_TX_SUBMIT] = "tx_submit",
	[ENGINE_EH_TX_KERNEL] = "tx_kernel",
	[ENGINE_EH_TX_DONE] = "tx_done",
};

static const char *const engine_global_hist_names[ENGINE_N_GLOBAL_HISTS] = {
	[ENGINE_GH_WAKEUP] = "wakeup",
	[ENGINE_GH_HANDOFF] = "handoff",
};

const char *engine_ear_hist_name(enum engine_ear_hist id)
{
	return (unsigned)id < ENGINE_N_EAR_HISTS ? engine_ear_hist_names[id] :
						   NULL;
}

const char *engine_global_hist_name(enum engine_global_hist id)
{
	return (unsigned)id < ENGINE_N_GLOBAL_HISTS ?
		       engine_global_hist_names[id] :
		       NULL;
}

int engine_pair_hist_get(struct engine *e, unsigned pair, enum conf_ear ear,
			 unsigned id, struct hist *ret)
{
	if (pair >= e->n_pairs || (unsigned)ear >= CONF_N_EARS ||
	    id >= ENGINE_N_EAR_HISTS) {
		return -EINVAL;
	}
	return lathist_get(e->hists, engine_ear_hist_index(pair, ear, id),
			   ret);
}

int engine_hist_get(struct engine *e, enum conf_ear ear, unsigned id,
		    struct hist *ret)
{
	if (ear == CONF_N_EARS) {
		if (id >= ENGINE_N_GLOBAL_HISTS) {
			return -EINVAL;
		}
		return lathist_get(e->hists, engine_global_hist0(e) + id, ret);
	}
	return engine_pair_hist_get(e, 0, ear, id, ret);
}

void engine_hists_reset(struct engine *e)
{
	lathist_reset(e->hists);
}
