/* SPDX-License-Identifier: MIT */
/*
 * What the RT thread publishes for the other threads: the snapshot of
 * its counters and statistics (a seqlock: the writer never waits,
 * readers retry) and the latency histograms, with their names.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "daemon/dongle.h"
#include "daemon/engine_private.h"
#include "daemon/lathist.h"

static void engine_publish_pair(const struct engine_pair *ep,
				struct engine_pair_snapshot *ps)
{
	unsigned i;

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
