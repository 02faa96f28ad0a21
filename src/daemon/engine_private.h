/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_ENGINE_PRIVATE_H
#define TTWS_DAEMON_ENGINE_PRIVATE_H

/*
 * The engine's state, shared by its parts: engine.c (set-up, the thread),
 * engine_pair.c (one pair's set-up and teardown), engine_stats.c
 * (snapshots and histograms) and engine_conf.c (live configuration and
 * statistics reset). Not for use outside src/daemon/engine*.c.
 */

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>

#include "core/plan.h"
#include "core/wheel.h"
#include "daemon/engine.h"
#include "os/rt.h"

/*
 * One pair on the RT thread. Pairs share nothing that a frame touches:
 * each has its own view of the configuration, plan (presentation
 * delay), links, servos, stream and sink.
 */
struct engine_pair {
	struct engine *e;
	unsigned index;
	char name[CONF_PAIR_NAME_MAX]; /* fixed at engine_new() */
	/* conf_pair_view() of the engine's conf, redone when that changes:
	 * what this pair's links and stream point at. */
	struct conf view;
	struct pair *pair;   /* owns the plan, links and stream below */
	/* profile = asha instead (pair, plan, links and stream NULL). */
	struct ashapair *asha;
	struct plan *plan;
	struct link *links[CONF_N_EARS];
	struct stream *stream;
	struct stream_pw pw; /* source = pipewire: this pair's sink */
};

struct ashapair;

struct engine {
	struct conf conf;
	struct spsc *frame_log;
	struct wheel *wheel;
	struct loop *loop;
	unsigned n_pairs;
	struct engine_pair *pairs;    /* n_pairs */
	struct dongle *dongles[ENGINE_MAX_DONGLES]; /* hci-uart, one per tty */
	struct spsc *capture;
	_Atomic(struct loop *) wake;  /* for engine_notify(), once running */
	/* Bit i: pair i's sink wrote a record (engine_notify()). */
	_Atomic uint32_t pw_pending;
	/* RT thread: pairs whose triggered quantum has not come yet (bit
	 * per pair); while any, the loop does not coalesce (os/loop.h). */
	uint32_t pw_awaiting;
	struct wheel_timer stats_timer;
	uint64_t iterations;

	pthread_t thread;
	bool running;
	sem_t started;
	int start_err;
	struct rt_report rt;
	char note[160];

	/*
	 * Live configuration (engine_conf.c): the main thread offers a
	 * snapshot in conf_next, the RT thread takes it at a frame boundary
	 * with one atomic exchange, copies it into conf (which every part
	 * of the RT thread points at) and acknowledges it in conf_adopted.
	 */
	_Atomic(const struct conf *) conf_next;
	uint64_t conf_next_gen;          /* written before conf_next */
	uint64_t conf_gen;               /* main: the last generation offered */
	_Atomic uint64_t conf_adopted;   /* generation the RT thread runs */
	_Atomic bool reset_req;      /* ResetStats: zero at the next boundary */
	_Atomic uint64_t resets_done;

	/* Seqlock: odd while the RT thread writes snap. */
	_Atomic uint32_t snap_seq;
	struct engine_snapshot snap;

	/* The latency histograms (enum engine_ear_hist, engine_global_hist):
	 * recorded by the RT thread, published a few per stats tick. */
	struct lathist *hists;
	unsigned hists_per_tick;

	/* Test builds: seconds the RT thread is asked to stall
	 * (engine_debug_stall()); 0 otherwise. */
	_Atomic unsigned stall_req_s;
};

/* The histogram set: per ear of each pair, then the global ones. */
static inline unsigned engine_n_hists(const struct engine *e)
{
	return e->n_pairs * CONF_N_EARS * ENGINE_N_EAR_HISTS +
	       ENGINE_N_GLOBAL_HISTS;
}

static inline unsigned engine_global_hist0(const struct engine *e)
{
	return e->n_pairs * CONF_N_EARS * ENGINE_N_EAR_HISTS;
}

/* Histogram index of pair's ear's id. */
static inline unsigned engine_ear_hist_index(unsigned pair, unsigned ear,
					     unsigned id)
{
	return (pair * CONF_N_EARS + ear) * ENGINE_N_EAR_HISTS + id;
}

/*
 * RT thread, at set-up (engine_pair.c): ep's channels, then its pair on
 * them, on e's loop and wheel, starting now (CLOCK_MONOTONIC ns). The
 * pair owns the channels; dongles stay e's. On failure: a negative
 * errno, the reason in e->note.
 */
int engine_pair_setup(struct engine *e, struct engine_pair *ep, uint64_t now);

/* Free ep's pair (with its links and channels) and forget the names of
 * its parts; before its dongles go. Accepts a pair never set up. */
void engine_pair_teardown(struct engine_pair *ep);

/*
 * RT thread (engine_stats.c): write the snapshot engine_snapshot()
 * reads, taken at now_ns (CLOCK_MONOTONIC).
 */
void engine_publish(struct engine *e, uint64_t now_ns);

/* RT thread, at a frame boundary: adopt what the main thread offered. */
void engine_boundary(void *user_data, uint64_t now_ns);

/*
 * RT thread: zero every latency histogram (ResetStats). Readers see
 * them empty at once (engine_hist_get()), and what is recorded from here
 * on as it is republished. Costs a memset of each (~30 KiB x 20), so
 * call it at a frame boundary, not per packet.
 */
void engine_hists_reset(struct engine *e);

#if HAVE_TEST_HOOKS
/* RT thread, at a stats tick: carry out a requested stall (sleeps). */
void engine_hook_stall(struct engine *e);
#endif

#endif
