/* SPDX-License-Identifier: MIT */
/*
 * The RT thread's engine: creation and freeing, the thread itself (its
 * set-up of real-time policy, wheel, loop and pairs, its run, its stop),
 * the stats tick, and the wake-up by the PipeWire sinks. The pairs'
 * set-up is engine_pair.c, what is published engine_stats.c, live
 * configuration engine_conf.c.
 */
#include "daemon/engine.h"
#include "daemon/ashapair.h"
#include "daemon/engine_private.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "core/macro.h"
#include "core/plan.h"
#include "core/wheel.h"
#include "daemon/dongle.h"
#include "daemon/lathist.h"
#include "daemon/log.h"
#include "daemon/pair.h"
#include "os/rt.h"
#include "os/rt_seccomp.h"
#include "os/serial.h"
#include "os/sockopt.h"

#define ENGINE_STATS_NS (100 * NSEC_PER_MSEC)

int engine_new(const struct conf *c, struct spsc *frame_log,
	       struct spsc *capture, struct engine **ret)
{
	struct engine *e;
	unsigned i;

	e = calloc(1, sizeof(*e));
	if (!e) {
		return -ENOMEM;
	}
	e->conf = *c;
	e->n_pairs = conf_n_pairs(c);
	/* pw_pending has a bit per pair. */
	_Static_assert(CONF_MAX_PAIRS <= 32, "one pw_pending bit per pair");
	e->pairs = calloc(e->n_pairs, sizeof(*e->pairs));
	if (!e->pairs) {
		free(e);
		return -ENOMEM;
	}
	for (i = 0; i < e->n_pairs; i++) {
		struct engine_pair *ep = &e->pairs[i];

		ep->e = e;
		ep->index = i;
		snprintf(ep->name, sizeof(ep->name), "%s",
			 conf_pair_name(c, i));
		conf_pair_view(&e->conf, i, &ep->view);
	}
	/* ~1.2 MiB per pair, written here, so the RT thread faults in none
	 * of it. */
	if (lathist_new(engine_n_hists(e), &e->hists) < 0) {
		free(e->pairs);
		free(e);
		return -ENOMEM;
	}
	e->hists_per_tick = lathist_per_call(engine_n_hists(e),
					     ENGINE_STATS_NS,
					     ENGINE_HIST_MAX_AGE_NS);
	e->frame_log = frame_log;
	e->capture = capture;
	e->rt.dma.fd = -1;
	sem_init(&e->started, 0, 0);
	*ret = e;
	return 0;
}

static void engine_teardown(struct engine *e)
{
	unsigned i;

	atomic_store(&e->wake, NULL);
	/* The loop drives the wheel, and the wheel unlinks the timers still
	 * filed in it, which live in the stream, links and dongles: free
	 * those two first, while every timer's owner is still there. */
	e->loop = loop_free(e->loop);
	e->wheel = wheel_free(e->wheel);
	/* Links own their channels, which must go before their dongle. */
	for (i = 0; i < e->n_pairs; i++) {
		engine_pair_teardown(&e->pairs[i]);
	}
	for (i = 0; i < ENGINE_MAX_DONGLES; i++) {
		e->dongles[i] = dongle_free(e->dongles[i]);
	}
}

struct engine *engine_free(struct engine *e)
{
	if (!e) {
		return NULL;
	}
	if (e->running) {
		engine_stop(e);
	}
	engine_teardown(e);
	rt_release(&e->rt);
	sem_destroy(&e->started);
	lathist_free(e->hists);
	free(e->pairs);
	free(e);
	return NULL;
}

static void engine_stats_fire(struct wheel_timer *t, uint64_t now_ns)
{
	struct engine *e = container_of(t, struct engine, stats_timer);

#if HAVE_TEST_HOOKS
	engine_hook_stall(e);
#endif
	e->iterations++;
	if (!e->pairs[0].stream) {
		/* No frame clock (ASHA pairs only): configuration changes and
		 * resets are taken here instead, every stats tick. */
		engine_boundary(e, now_ns);
	}
	engine_publish(e, now_ns);
	/* A few histograms per tick, round-robin (lathist_per_call()). */
	lathist_publish(e->hists, e->hists_per_tick);
	wheel_add(e->wheel, t, now_ns + ENGINE_STATS_NS);
}

unsigned engine_n_pairs(const struct engine *e)
{
	return e->n_pairs;
}

const char *engine_pair_name(const struct engine *e, unsigned i)
{
	return i < e->n_pairs ? e->pairs[i].name : NULL;
}

int engine_set_pipewire(struct engine *e, unsigned pair, struct pw_sink *sink,
			struct spsc *ring)
{
	if (pair >= e->n_pairs) {
		return -ERANGE;
	}
	e->pairs[pair].pw.sink = sink;
	e->pairs[pair].pw.ring = ring;
	return 0;
}

void *engine_notify_data(struct engine *e, unsigned pair)
{
	return pair < e->n_pairs ? &e->pairs[pair] : NULL;
}

void engine_notify(void *user_data)
{
	struct engine_pair *ep = user_data;
	struct engine *e = ep->e;
	struct loop *l = atomic_load_explicit(&e->wake, memory_order_acquire);

	if (l) {
		atomic_fetch_or_explicit(&e->pw_pending, 1u << ep->index,
					 memory_order_release);
		loop_wake(l);
	}
}

/*
 * RT thread: a sink wrote a record (engine_notify() woke the loop). Only
 * the pairs whose sinks signalled are pulled: the bits, not a scan of
 * every pair.
 */
static void engine_on_wake(struct loop *l, void *user_data)
{
	struct engine *e = user_data;
	uint32_t pending;
	uint64_t now = rt_now_ns();

	pending = atomic_exchange_explicit(&e->pw_pending, 0,
					   memory_order_acq_rel);
	while (pending) {
		unsigned i = (unsigned)__builtin_ctz(pending);

		pending &= pending - 1;
		if (i < e->n_pairs && e->pairs[i].asha) {
			ashapair_pull(e->pairs[i].asha);
		} else if (i < e->n_pairs && e->pairs[i].stream) {
			stream_pull(e->pairs[i].stream, now);
			if (!stream_awaits_quantum(e->pairs[i].stream)) {
				e->pw_awaiting &= ~(1u << i);
			}
		}
	}
	loop_set_expecting(l, e->pw_awaiting != 0);
}

/*
 * An hci-uart dongle's bytes wait in the loop's receive buffers while the
 * RT thread is late: give them room for the line's rate over the worst
 * service latency we plan for (ENGINE_WORST_LATENCY_US, the hypervisor's
 * ms spikes included), i.e. rx_depth reads of max_msg bytes.
 */
#define ENGINE_WORST_LATENCY_US 20000u

static void engine_size_rx(const struct engine *en, struct loop_config *lc)
{
	unsigned e, links = en->n_pairs * CONF_N_EARS;

	/* A socket per link (a dongle's tty replaces its ears' sockets),
	 * twice: a closed socket keeps its slot until it is released
	 * while its reconnect already takes another (loop.h). Without
	 * this, pairs past the fourth never got a slot (-ENOSPC). */
	if (lc->max_sockets < 2 * links) {
		lc->max_sockets = 2 * links;
	}
	for (e = 0; e < links; e++) {
		const struct conf_link *cl =
			&en->pairs[e / CONF_N_EARS].view.link[e % CONF_N_EARS];
		size_t need, per_read;

		if (cl->transport != CONF_TRANSPORT_HCI_UART) {
			continue;
		}
		need = serial_rx_buffer_size(cl->baud,
					     ENGINE_WORST_LATENCY_US);
		per_read = (need + lc->rx_depth - 1) / lc->rx_depth;
		if (per_read > lc->max_msg) {
			lc->max_msg = per_read;
		}
	}
}

static int engine_setup(struct engine *e)
{
	struct rt_config rc = rt_config_default();
	struct loop_config lc;
	uint64_t now;
	unsigned i;
	int r;

	r = rt_config_from_conf(&e->conf, &rc);
	if (r < 0) {
		snprintf(e->note, sizeof(e->note), "[rt] cgroup: %s",
			 strerror(-r));
		return r;
	}
	r = rt_apply(&rc, &e->rt);
	if (r < 0) {
		snprintf(e->note, sizeof(e->note), "real-time set-up: %s",
			 strerror(-r));
		return r;
	}

	now = rt_now_ns();
	e->wheel = wheel_new(now);
	if (!e->wheel) {
		return -ENOMEM;
	}
	loop_config_default(&lc);
	r = loop_backend_from_string(e->conf.loop.backend, &lc.backend);
	if (r < 0) {
		return r;
	}
	lc.spin_guard_ns = (uint64_t)e->conf.loop.spin_guard_us *
			   NSEC_PER_USEC;
	lc.busy_poll_ns = (uint64_t)e->conf.loop.busy_poll_us * NSEC_PER_USEC;
	/* Receive coalescing needs the wait's own deadline (os/loop.h);
	 * the epoll backend has neither. */
	lc.rx_defer_ns = (uint64_t)e->conf.loop.rx_coalesce_us * NSEC_PER_USEC;
	if (lc.rx_defer_ns && lc.backend != LOOP_EPOLL) {
		lc.timer = LOOP_TIMER_URING_WAIT;
	} else {
		lc.rx_defer_ns = 0;
	}
	engine_size_rx(e, &lc);
	r = loop_new(&lc, e->wheel, &e->loop);
	if (r < 0) {
		snprintf(e->note, sizeof(e->note), "event loop (%s): %s",
			 e->conf.loop.backend, strerror(-r));
		return r;
	}
	snprintf(e->note, sizeof(e->note), "%s", loop_backend_note(e->loop));

	for (i = 0; i < e->n_pairs; i++) {
		r = engine_pair_setup(e, &e->pairs[i], now);
		if (r < 0) {
			return r;
		}
	}
	if (e->pairs[0].pw.sink) {
		loop_set_wake_fn(e->loop, engine_on_wake, e);
		atomic_store_explicit(&e->wake, e->loop, memory_order_release);
	}
	for (i = 0; i < ENGINE_MAX_DONGLES; i++) {
		if (e->dongles[i]) {
			dongle_start(e->dongles[i], now);
		}
	}
	for (i = 0; i < e->n_pairs; i++) {
		if (e->pairs[i].asha) {
			ashapair_start(e->pairs[i].asha, now);
		} else {
			pair_start(e->pairs[i].pair, now);
		}
	}
	wheel_timer_init(&e->stats_timer, WHEEL_SOFT, 10 * NSEC_PER_MSEC,
			 engine_stats_fire);
	wheel_add(e->wheel, &e->stats_timer, now + ENGINE_STATS_NS);
	engine_publish(e, now);
	return 0;
}

/*
 * ASHA pairs were written Stop: let those writes out (the loop runs on,
 * up to ENGINE_ASHA_DRAIN_NS), then let every aid go.
 */
#define ENGINE_ASHA_DRAIN_NS (300 * NSEC_PER_MSEC)
static void engine_drain_asha(struct engine *e)
{
	uint64_t until = rt_now_ns() + ENGINE_ASHA_DRAIN_NS;
	bool done = false;

	while (!done) {
		bool force = rt_now_ns() >= until;

		done = true;
		for (unsigned i = 0; i < e->n_pairs; i++) {
			if (e->pairs[i].asha) {
				done &= ashapair_stopped(e->pairs[i].asha,
							 force);
			}
		}
		if (!done) {
			loop_run_once(e->loop, true);
		}
	}
}

static void *engine_thread(void *arg)
{
	struct engine *e = arg;
	int r;

	prctl(PR_SET_NAME, "ttws-rt-init");
	r = engine_setup(e);
	e->start_err = r;
	sem_post(&e->started);
	if (r < 0) {
		return NULL;
	}
	/* From here on the thread is in steady state: the name marks it
	 * for the no-allocation test (tests/integration/rtcheck). */
	prctl(PR_SET_NAME, "ttws-rt");
#if HAVE_TEST_HOOKS
	{
		/* Tests only, on request (TTWS_RT_SECCOMP=1): from here on a
		 * syscall off the loop's list kills ttwsd (os/rt_seccomp.h). */
		enum rt_seccomp_mode m;

		r = rt_seccomp_mode_from_string(getenv("TTWS_RT_SECCOMP"), &m);
		if (r == 0) {
			r = rt_seccomp_confine(m, 2 /* stderr: log mode */);
		}
		if (r < 0) {
			log_rt(LOG_ERR, "TTWS_RT_SECCOMP: %s", strerror(-r));
		} else if (m != RT_SECCOMP_OFF) {
			log_rt(LOG_NOTICE, "TTWS_RT_SECCOMP: the RT thread is "
					   "confined to its loop's syscalls");
		}
	}
#endif
	r = loop_run(e->loop);
	if (r < 0) {
		log_rt(LOG_ERR, "event loop failed: %s", strerror(-r));
	}
	/* Tell the earbuds, then let the STOPs leave. */
	for (unsigned i = 0; i < e->n_pairs; i++) {
		if (e->pairs[i].asha) {
			ashapair_stop(e->pairs[i].asha, rt_now_ns());
		} else {
			pair_stop(e->pairs[i].pair);
		}
	}
	loop_run_once(e->loop, false);
	engine_drain_asha(e);
	engine_publish(e, rt_now_ns());
	/* Every histogram's last state, for readers after the stop. */
	lathist_publish(e->hists, engine_n_hists(e));
	return NULL;
}

int engine_start(struct engine *e, char *rt_text, size_t rt_text_size)
{
	int r;

	r = pthread_create(&e->thread, NULL, engine_thread, e);
	if (r) {
		return -r;
	}
	e->running = true;
	while (sem_wait(&e->started) < 0 && errno == EINTR) {
	}
	if (rt_text && rt_text_size) {
		if (rt_report_format_text(&e->rt, rt_text, rt_text_size) < 0) {
			rt_text[0] = '\0';
		}
	}
	if (e->start_err < 0) {
		pthread_join(e->thread, NULL);
		e->running = false;
		return e->start_err;
	}
	return 0;
}

void engine_stop(struct engine *e)
{
	if (!e->running) {
		return;
	}
	loop_stop(e->loop);
	pthread_join(e->thread, NULL);
	e->running = false;
}

const char *engine_dongle_path(const struct engine *e, unsigned i)
{
	unsigned n = 0, k;

	for (k = 0; k < ENGINE_MAX_DONGLES; k++) {
		if (e->dongles[k] && n++ == i) {
			return dongle_path(e->dongles[k]);
		}
	}
	return NULL;
}

const char *engine_backend_note(const struct engine *e)
{
	return e->note;
}

