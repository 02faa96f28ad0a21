/* SPDX-License-Identifier: MIT */
/*
 * ttws-earbud-sim --pair (sim/live.h): the earbud pairs in real time.
 * This file holds the run: its pairs (each with its own earbuds, model
 * and files), the loop and wheel they share, the poll and end timers,
 * the render logs, and live_run(). live_ear.c is one earbud over its
 * transport, live_hci.c the --hci transport, live_wav.c the --wav-prefix
 * output; live_private.h is what they share.
 */
#include "sim/live.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/macro.h"
#include "core/wheel.h"
#include "os/loop.h"
#include "os/rt.h"
#include "sim/live_private.h"
#include "sim/simpairs.h"

#define LIVE_POLL_NS (20 * NSEC_PER_MSEC)

static struct loop *live_signal_loop;

static void live_on_signal(int sig)
{
	if (live_signal_loop) {
		loop_stop(live_signal_loop);
	}
}

/* Every 20 ms: each ear follows its link model (a loop over all ears, off
 * the per-message path), and the render logs reach their files. */
static void live_poll_fire(struct wheel_timer *t, uint64_t now_ns)
{
	struct live *lv = container_of(t, struct live, poll_timer);
	unsigned i, s;

	for (i = 0; i < lv->n_pairs; i++) {
		struct live_pair *p = &lv->pair[i];

		for (s = 0; s < SCENARIO_SIDES; s++) {
			if (p->ear[s].on) {
				live_ear_poll(&p->ear[s], now_ns);
			}
		}
		if (p->render_log) {
			fflush(p->render_log);
		}
	}
	wheel_add(lv->wheel, t, now_ns + LIVE_POLL_NS);
}

static void live_end_fire(struct wheel_timer *t, uint64_t now_ns)
{
	struct live *lv = container_of(t, struct live, end_timer);

	loop_stop(lv->loop);
}

/* "pair NAME: " before each line of a run of several pairs, "" for one. */
static const char *live_prefix(const struct live_pair *p, char *buf,
			       size_t size)
{
	if (p->lv->n_pairs == 1) {
		return "";
	}
	snprintf(buf, size, "pair %s: ", p->po->name);
	return buf;
}

static void live_summary(const struct live *lv)
{
	char prefix[64];
	unsigned i, s;

	for (i = 0; i < lv->n_pairs; i++) {
		const struct live_pair *p = &lv->pair[i];

		for (s = 0; s < SCENARIO_SIDES; s++) {
			if (p->ear[s].on) {
				live_ear_summary(&p->ear[s],
						 live_prefix(p, prefix,
							     sizeof(prefix)));
			}
		}
	}
}

/* SCHED_FIFO at priority, nothing else of ttwsd's RT policy; best
 * effort (without the privilege the earbuds still run, less precisely). */
static void live_rt_apply(int priority)
{
	struct rt_config rc_ = rt_config_default();
	struct rt_report rep;

	rc_.priority = priority;
	rc_.lock_memory = false;
	rc_.dma_latency = false;
	rc_.prefault_heap_kib = 0;
	if (rt_apply(&rc_, &rep) == 0) {
		rt_release(&rep);
	}
}

/* --render-log: the pair's CSV, with its header. Returns 0 or -errno,
 * with a message on stderr. */
static int live_render_log_open(struct live_pair *p)
{
	int r;

	p->render_log = fopen(p->po->render_log, "we");
	if (!p->render_log) {
		r = -errno;
		fprintf(stderr, "ttws-earbud-sim: %s: %s\n", p->po->render_log,
			strerror(-r));
		return r;
	}
	fprintf(p->render_log, "ear,seq,pts_ear_ns,rx_ear_ns,"
			       "render_host_ns,late,pts_host_ns\n");
	return 0;
}

/* The ears of pair p this process serves, listening (or, with --hci, on
 * their controllers), its render log and WAVs. Returns 0 or -errno, with
 * a message on stderr. */
static int live_pair_open(struct live_pair *p)
{
	const struct live_opts *o = p->lv->o;
	unsigned i;
	int r;

	for (i = 0; i < SCENARIO_SIDES; i++) {
		/* An ear this process does not serve stays closed (fds -1,
		 * from live_run()); with one path given, another process may
		 * serve the other ear, and each can be killed and restarted
		 * on its own. */
		p->ear[i].on = o->hci_server || p->po->path[i];
		if (!p->ear[i].on) {
			continue;
		}
		r = live_ear_init(p, i);
		if (r < 0) {
			return r;
		}
		if (o->hci_server) {
			r = live_hci_init(&p->ear[i], o->hci_server);
			if (r < 0) {
				return r;
			}
		}
	}
	if (p->po->render_log) {
		r = live_render_log_open(p);
		if (r < 0) {
			return r;
		}
	}
	return p->po->wav_prefix ? live_wav_open(p) : 0;
}

/* The poll timer from now, and the end of --duration (if given). */
static void live_timers_start(struct live *lv)
{
	wheel_timer_init(&lv->poll_timer, WHEEL_SOFT, 5 * NSEC_PER_MSEC,
			 live_poll_fire);
	wheel_add(lv->wheel, &lv->poll_timer, lv->start_ns);
	if (lv->o->duration_s > 0) {
		wheel_timer_init(&lv->end_timer, WHEEL_SOFT, 0, live_end_fire);
		wheel_add(lv->wheel, &lv->end_timer,
			  lv->start_ns + (uint64_t)(lv->o->duration_s * 1e9));
	}
}

/* The lines the tests wait for: the pairs are up. With several pairs,
 * one line per pair with its crystals, which pair k >= 1 draws
 * (sim/simpairs.h). */
static void live_banner(const struct live *lv)
{
	const struct live_opts *o = lv->o;
	unsigned i;

	for (i = 0; i < lv->n_pairs; i++) {
		const struct live_pair *p = &lv->pair[i];
		const struct scenario *sc = p->po->scenario;

		if (o->hci_server) {
			printf("ttws-earbud-sim: %s pair as LE peripherals on "
			       "two controllers of %s\n",
			       sc->name, o->hci_server);
		} else if (lv->n_pairs == 1) {
			printf("ttws-earbud-sim: %s earbuds listening on %s "
			       "and %s\n",
			       sc->name, p->ear[0].on ? p->ear[0].path : "-",
			       p->ear[1].on ? p->ear[1].path : "-");
		} else {
			printf("ttws-earbud-sim: pair %s: %s (seed %" PRIu64
			       ", left %+.3f ppm, right %+.3f ppm, dongle "
			       "%+.3f ppm) listening on %s and %s\n",
			       p->po->name, sc->name, sc->seed,
			       sc->ear[0].ppm, sc->ear[1].ppm, sc->dongle_ppm,
			       p->ear[0].on ? p->ear[0].path : "-",
			       p->ear[1].on ? p->ear[1].path : "-");
		}
	}
	fflush(stdout);
}

/*
 * Undo live_run(): the loop, each pair's ears (live_ear_close()) and
 * render log, the wheel; frees lv. Returns 0, or -EIO (with a message on
 * stderr) when a WAV file could not be finished.
 */
static int live_close(struct live *lv)
{
	unsigned i, s;
	int rc = 0;

	for (i = 0; i < lv->n_pairs; i++) {
		for (s = 0; s < SCENARIO_SIDES; s++) {
			struct live_ear *e = &lv->pair[i].ear[s];

			if (e->sock) {
				loop_remove_socket(lv->loop, e->sock, NULL,
						   NULL);
			}
		}
	}
	lv->loop = loop_free(lv->loop);
	for (i = 0; i < lv->n_pairs; i++) {
		struct live_pair *p = &lv->pair[i];

		for (s = 0; s < SCENARIO_SIDES; s++) {
			if (live_ear_close(&p->ear[s]) < 0) {
				rc = -EIO;
			}
		}
		if (p->render_log) {
			fclose(p->render_log);
		}
	}
	wheel_free(lv->wheel);
	free(lv->pair);
	free(lv);
	return rc;
}

/* lv and its pairs, every descriptor -1: a set-up that fails early must
 * not close 0. NULL when out of memory. */
static struct live *live_alloc(const struct live_opts *o)
{
	struct live *lv = calloc(1, sizeof(*lv));
	unsigned i, s;

	if (!lv) {
		return NULL;
	}
	lv->pair = calloc(o->n_pairs, sizeof(*lv->pair));
	if (!lv->pair) {
		free(lv);
		return NULL;
	}
	lv->o = o;
	lv->n_pairs = o->n_pairs;
	for (i = 0; i < o->n_pairs; i++) {
		struct live_pair *p = &lv->pair[i];

		p->lv = lv;
		p->po = &o->pairs[i];
		for (s = 0; s < SCENARIO_SIDES; s++) {
			p->ear[s].lv = lv;
			p->ear[s].pair = p;
			p->ear[s].side = s;
			p->ear[s].fd = p->ear[s].listen_fd = -1;
			p->ear[s].hci_fd = -1;
		}
	}
	return lv;
}

/* The loop, the pairs, the timers. Returns 0 or -errno, with a message
 * on stderr. */
static int live_setup(struct live *lv)
{
	const struct live_opts *o = lv->o;
	struct loop_config lc;
	unsigned i;
	int r;

	lv->start_ns = rt_now_ns();
	lv->wheel = wheel_new(lv->start_ns);
	if (!lv->wheel) {
		return -ENOMEM;
	}
	loop_config_default(&lc);
	lc.spin_guard_ns = (uint64_t)o->spin_guard_us * NSEC_PER_USEC;
	lc.tx_slots = 256 * o->n_pairs;
	/* Two earbuds per pair, each a listening and an accepted socket:
	 * the default 8 slots served only two pairs' reconnects. */
	lc.max_sockets = 4 * o->n_pairs > lc.max_sockets ? 4 * o->n_pairs
							 : lc.max_sockets;
	r = loop_new(&lc, lv->wheel, &lv->loop);
	if (r < 0) {
		fprintf(stderr, "ttws-earbud-sim: event loop: %s\n",
			strerror(-r));
		return r;
	}
	for (i = 0; i < lv->n_pairs; i++) {
		r = live_pair_open(&lv->pair[i]);
		if (r < 0) {
			return r;
		}
	}
	if (o->hci_server) {
		live_hci_timer_start(lv);
	}
	live_timers_start(lv);
	return 0;
}

int live_run(const struct live_opts *o)
{
	struct live *lv;
	int r, rc = 1;

	if (o->n_pairs < 1 || o->n_pairs > SIMPAIRS_MAX ||
	    (o->n_pairs > 1 && (o->hci_server || o->l2cap_psm))) {
		fprintf(stderr, "ttws-earbud-sim: %u pairs: 1..%d, and one "
				"only over --hci or --l2cap-psm\n",
			o->n_pairs, SIMPAIRS_MAX);
		return 1;
	}
	lv = live_alloc(o);
	if (!lv) {
		return 1;
	}
	if (o->priority > 0) {
		live_rt_apply(o->priority);
	}
	if (live_setup(lv) < 0) {
		goto out;
	}
	live_signal_loop = lv->loop;
	signal(SIGTERM, live_on_signal);
	signal(SIGINT, live_on_signal);
	signal(SIGPIPE, SIG_IGN);
	live_banner(lv);
	r = loop_run(lv->loop);
	live_signal_loop = NULL;
	if (r < 0) {
		fprintf(stderr, "ttws-earbud-sim: loop: %s\n", strerror(-r));
		goto out;
	}
	live_summary(lv);
	rc = 0;
out:
	if (live_close(lv) < 0) {
		rc = 1;
	}
	return rc;
}
