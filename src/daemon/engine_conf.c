/* SPDX-License-Identifier: MIT */
/*
 * Live configuration and statistics reset: what the main thread asks of
 * the running RT thread, handed over through atomics only and carried
 * out by the RT thread at a frame boundary (engine_boundary(), run by
 * the frame clock before it cuts the next frame).
 */
#include <errno.h>
#include <stdatomic.h>

#include "daemon/ashapair.h"
#include "daemon/engine_private.h"
#include "daemon/log.h"

int engine_reconfigure(struct engine *e, const struct conf *next,
		       uint64_t *ret_generation)
{
	if (atomic_load_explicit(&e->conf_next, memory_order_acquire)) {
		return -EBUSY;
	}
	/* The RT thread reads conf_next_gen only after it took the pointer
	 * (acquire), which this release store publishes with it. */
	e->conf_next_gen = ++e->conf_gen;
	atomic_store_explicit(&e->conf_next, next, memory_order_release);
	*ret_generation = e->conf_next_gen;
	return 0;
}

bool engine_conf_adopted(struct engine *e, uint64_t generation)
{
	return atomic_load_explicit(&e->conf_adopted, memory_order_acquire) >=
	       generation;
}

int engine_conf_withdraw(struct engine *e, const struct conf *next)
{
	const struct conf *want = next;

	if (atomic_compare_exchange_strong_explicit(
		    &e->conf_next, &want, NULL, memory_order_acq_rel,
		    memory_order_acquire)) {
		return 0;
	}
	return -EALREADY;
}

void engine_reset_stats(struct engine *e)
{
	atomic_store_explicit(&e->reset_req, true, memory_order_release);
}

uint64_t engine_resets_done(struct engine *e)
{
	return atomic_load_explicit(&e->resets_done, memory_order_acquire);
}

const struct rt_report *engine_rt_report(const struct engine *e)
{
	return &e->rt;
}

/*
 * RT thread: every pair's view is made again from e->conf (in place: its
 * links and stream keep pointing at it) and every part re-reads what it
 * derives from it. A loop over the pairs, once per adopted change.
 */
static void engine_apply_conf(struct engine *e, uint64_t now_ns)
{
	unsigned p, i;

	for (p = 0; p < e->n_pairs; p++) {
		struct engine_pair *ep = &e->pairs[p];
		const struct conf *c = &ep->view;

		conf_pair_view(&e->conf, p, &ep->view);
		if (ep->asha) {
			ashapair_reconf(ep->asha, now_ns);
			continue;
		}
		plan_set_bounds(ep->plan, c->stream.delay_min_ns,
				c->stream.delay_max_ns,
				c->stream.delay_margin_ns);
		for (i = 0; i < CONF_N_EARS; i++) {
			if (ep->links[i]) {
				link_reconf(ep->links[i], now_ns);
			}
		}
		stream_reconf(ep->stream);
	}
}

/* RT thread: counters and histograms to zero; states and models stay. */
static void engine_zero_stats(struct engine *e)
{
	unsigned p, i;

	for (p = 0; p < e->n_pairs; p++) {
		struct engine_pair *ep = &e->pairs[p];

		if (ep->asha) {
			ashapair_reset_stats(ep->asha);
			continue;
		}
		for (i = 0; i < CONF_N_EARS; i++) {
			if (ep->links[i]) {
				link_reset_stats(ep->links[i]);
			}
		}
		stream_reset_stats(ep->stream);
	}
	for (i = 0; i < ENGINE_MAX_DONGLES; i++) {
		if (e->dongles[i]) {
			dongle_reset_stats(e->dongles[i]);
		}
	}
	loop_reset_counters(e->loop);
	engine_hists_reset(e);
}

void engine_boundary(void *user_data, uint64_t now_ns)
{
	struct engine *e = user_data;
	const struct conf *next;
	uint64_t gen;

	next = atomic_exchange_explicit(&e->conf_next, NULL,
					memory_order_acq_rel);
	if (next) {
		gen = e->conf_next_gen;
		/* A plain copy into the struct every part points at: no
		 * pointer anywhere in the RT thread refers to next, so the
		 * main thread may free it as soon as this is acknowledged. */
		e->conf = *next;
		engine_apply_conf(e, now_ns);
		/* Publish before acknowledging: whoever waits for the
		 * acknowledgement (Set, Reload) then reads a snapshot that
		 * already shows the new bounds and targets, not one from
		 * the last stats tick. */
		engine_publish(e, now_ns);
		atomic_store_explicit(&e->conf_adopted, gen,
				      memory_order_release);
		log_rt(LOG_INFO, "configuration %llu adopted",
		       (unsigned long long)gen);
	}
	if (atomic_exchange_explicit(&e->reset_req, false,
				     memory_order_acq_rel)) {
		engine_zero_stats(e);
		atomic_fetch_add_explicit(&e->resets_done, 1,
					  memory_order_release);
	}
}
