/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_ENGINE_PRIVATE_H
#define TTWS_DAEMON_ENGINE_PRIVATE_H

/*
 * The engine's state, shared by its parts: engine.c (set-up, the thread,
 * snapshots) and engine_conf.c (live configuration and statistics reset).
 * Not for use outside src/daemon/engine*.c.
 */

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>

#include "core/plan.h"
#include "core/wheel.h"
#include "daemon/engine.h"
#include "os/rt.h"

struct engine {
	struct conf conf;
	struct spsc *frame_log;
	struct wheel *wheel;
	struct loop *loop;
	struct pair *pair;   /* owns the plan, links and stream below */
	struct plan *plan;
	struct link *links[CONF_N_EARS];
	struct dongle *dongles[CONF_N_EARS]; /* hci-uart, one per tty */
	struct spsc *capture;
	struct stream *stream;
	struct stream_pw pw;          /* source = pipewire */
	_Atomic(struct loop *) wake;  /* for engine_notify(), once running */
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
