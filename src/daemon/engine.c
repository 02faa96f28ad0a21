/* SPDX-License-Identifier: MIT */
#include "daemon/engine.h"
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
#include "daemon/chan.h"
#include "daemon/dongle.h"
#include "daemon/lathist.h"
#include "daemon/log.h"
#include "daemon/pair.h"
#include "daemon/sockchan.h"
#include "os/rt.h"
#include "os/serial.h"
#include "os/sockopt.h"

#define ENGINE_STATS_NS (100 * NSEC_PER_MSEC)
/* The histogram set: per ear, then the global ones. */
#define ENGINE_N_HISTS                                                         \
	(CONF_N_EARS * ENGINE_N_EAR_HISTS + ENGINE_N_GLOBAL_HISTS)


int engine_new(const struct conf *c, struct spsc *frame_log,
	       struct spsc *capture, struct engine **ret)
{
	struct engine *e;

	e = calloc(1, sizeof(*e));
	if (!e) {
		return -ENOMEM;
	}
	/* ~1.2 MiB, written here, so the RT thread faults in none of it. */
	if (lathist_new(ENGINE_N_HISTS, &e->hists) < 0) {
		free(e);
		return -ENOMEM;
	}
	e->hists_per_tick = lathist_per_call(ENGINE_N_HISTS, ENGINE_STATS_NS,
					     ENGINE_HIST_MAX_AGE_NS);
	e->conf = *c;
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
	e->pair = pair_free(e->pair);
	e->stream = NULL;
	for (i = 0; i < CONF_N_EARS; i++) {
		e->links[i] = NULL;
	}
	for (i = 0; i < CONF_N_EARS; i++) {
		e->dongles[i] = dongle_free(e->dongles[i]);
	}
	e->plan = NULL;
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
	free(e);
	return NULL;
}

static void engine_publish(struct engine *e, uint64_t now_ns)
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
	stream_get_stats(e->stream, &s->stream);
	for (i = 0; i < CONF_N_EARS; i++) {
		if (!e->links[i]) {
			continue;
		}
		link_get_stats(e->links[i], &s->ear[i].link);
		servo_status(link_servo(e->links[i]), &s->ear[i].servo);
		servo_status(link_shadow(e->links[i]), &s->ear[i].shadow);
	}
	s->n_dongles = 0;
	for (i = 0; i < CONF_N_EARS; i++) {
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

static void engine_stats_fire(struct wheel_timer *t, uint64_t now_ns)
{
	struct engine *e = container_of(t, struct engine, stats_timer);

#if HAVE_TEST_HOOKS
	engine_hook_stall(e);
#endif
	e->iterations++;
	engine_publish(e, now_ns);
	/* A few histograms per tick, round-robin (lathist_per_call()). */
	lathist_publish(e->hists, e->hists_per_tick);
	wheel_add(e->wheel, t, now_ns + ENGINE_STATS_NS);
}

void engine_set_pipewire(struct engine *e, struct pw_sink *sink,
			 struct spsc *ring)
{
	e->pw.sink = sink;
	e->pw.ring = ring;
}

void engine_notify(void *user_data)
{
	struct engine *e = user_data;
	struct loop *l = atomic_load_explicit(&e->wake, memory_order_acquire);

	if (l) {
		loop_wake(l);
	}
}

/* RT thread: the sink wrote a record (engine_notify woke the loop). */
static void engine_on_wake(struct loop *l, void *user_data)
{
	struct engine *e = user_data;

	stream_pull(e->stream, rt_now_ns());
}

/*
 * An hci-uart dongle's bytes wait in the loop's receive buffers while the
 * RT thread is late: give them room for the line's rate over the worst
 * service latency we plan for (ENGINE_WORST_LATENCY_US, the hypervisor's
 * ms spikes included), i.e. rx_depth reads of max_msg bytes.
 */
#define ENGINE_WORST_LATENCY_US 20000u

static void engine_size_rx(const struct conf *c, struct loop_config *lc)
{
	unsigned e;

	for (e = 0; e < CONF_N_EARS; e++) {
		size_t need, per_read;

		if (c->link[e].transport != CONF_TRANSPORT_HCI_UART) {
			continue;
		}
		need = serial_rx_buffer_size(c->link[e].baud,
					     ENGINE_WORST_LATENCY_US);
		per_read = (need + lc->rx_depth - 1) / lc->rx_depth;
		if (per_read > lc->max_msg) {
			lc->max_msg = per_read;
		}
	}
}

/* The channel an ear's link talks through, by transport. */
static int engine_chan_new(struct engine *e, enum conf_ear ear,
			   struct chan **ret)
{
	const struct conf_link *cl = &e->conf.link[ear];

	switch (cl->transport) {
	case CONF_TRANSPORT_UNIX:
	case CONF_TRANSPORT_L2CAP:
		return sockchan_new(e->loop, &e->conf, cl, ret);
	case CONF_TRANSPORT_HCI_UART: {
		unsigned i;
		int r;

		/* Ears on the same tty share one dongle and its host. */
		for (i = 0; i < CONF_N_EARS; i++) {
			if (e->dongles[i] && dongle_serves(e->dongles[i], cl)) {
				return dongle_chan_new(e->dongles[i], ear, cl,
						       ret);
			}
		}
		i = 0;
		while (e->dongles[i]) {
			i++; /* one dongle per ear at most: always room */
		}
		r = dongle_new(e->loop, e->wheel, &e->conf, cl, e->capture,
			       &e->dongles[i]);
		if (r < 0) {
			return r;
		}
		return dongle_chan_new(e->dongles[i], ear, cl, ret);
	}
	case CONF_TRANSPORT_NONE:
		break;
	}
	return -EINVAL;
}

static struct hist *engine_ear_hist(struct engine *e, unsigned ear,
				    enum engine_ear_hist id)
{
	return lathist_live(e->hists, ear * ENGINE_N_EAR_HISTS + id);
}

/* Where the links and the stream record (engine.h says what each is). */
static void engine_hists_wire(struct engine *e)
{
	unsigned i, g = CONF_N_EARS * ENGINE_N_EAR_HISTS;

	for (i = 0; i < CONF_N_EARS; i++) {
		struct link_hists h = {
			.residual = engine_ear_hist(e, i, ENGINE_EH_RESIDUAL),
			.delivery = engine_ear_hist(e, i, ENGINE_EH_DELIVERY),
			.rx_transport =
				engine_ear_hist(e, i, ENGINE_EH_RX_TRANSPORT),
			.rx_kernel = engine_ear_hist(e, i, ENGINE_EH_RX_KERNEL),
			.rx_loop = engine_ear_hist(e, i, ENGINE_EH_RX_LOOP),
			.rx_handler =
				engine_ear_hist(e, i, ENGINE_EH_RX_HANDLER),
			.tx_submit = engine_ear_hist(e, i, ENGINE_EH_TX_SUBMIT),
			.tx_kernel = engine_ear_hist(e, i, ENGINE_EH_TX_KERNEL),
			.tx_done = engine_ear_hist(e, i, ENGINE_EH_TX_DONE),
		};

		if (e->links[i]) {
			link_set_hists(e->links[i], &h);
		}
	}
	stream_set_hists(e->stream,
			 lathist_live(e->hists, g + ENGINE_GH_WAKEUP),
			 lathist_live(e->hists, g + ENGINE_GH_HANDOFF));
}

static int engine_setup(struct engine *e)
{
	struct rt_config rc = rt_config_default();
	struct chan *chans[CONF_N_EARS];
	struct loop_config lc;
	struct pair_env env;
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
	engine_size_rx(&e->conf, &lc);
	r = loop_new(&lc, e->wheel, &e->loop);
	if (r < 0) {
		snprintf(e->note, sizeof(e->note), "event loop (%s): %s",
			 e->conf.loop.backend, strerror(-r));
		return r;
	}
	snprintf(e->note, sizeof(e->note), "%s", loop_backend_note(e->loop));

	for (i = 0; i < CONF_N_EARS; i++) {
		chans[i] = NULL;
	}
	for (i = 0; i < CONF_N_EARS; i++) {
		if (e->conf.link[i].transport == CONF_TRANSPORT_NONE) {
			continue;
		}
		r = engine_chan_new(e, i, &chans[i]);
		if (r < 0) {
			snprintf(e->note, sizeof(e->note), "%s ear: %s",
				 conf_ear_name(i), strerror(-r));
			for (i = 0; i < CONF_N_EARS; i++) {
				chan_free(chans[i]);
			}
			return r;
		}
	}
	env.wheel = e->wheel;
	env.conf = &e->conf;
	env.frame_log = e->frame_log;
	env.pw = &e->pw;
	env.seed = now;
	env.now = NULL;
	env.now_ctx = NULL;
	r = pair_new(&env, chans,
		     conf_same_controller(&e->conf.link[CONF_EAR_LEFT],
					  &e->conf.link[CONF_EAR_RIGHT]),
		     now + PAIR_START_LEAD_NS, &e->pair);
	if (r < 0) {
		snprintf(e->note, sizeof(e->note), "stream (%s, %s): %s",
			 conf_source_name(e->conf.stream.source),
			 conf_codec_name(e->conf.stream.codec), strerror(-r));
		return r;
	}
	/* The pair owns them; the engine's parts use these names. */
	e->plan = pair_plan(e->pair);
	e->stream = pair_stream(e->pair);
	for (i = 0; i < CONF_N_EARS; i++) {
		e->links[i] = pair_link(e->pair, i);
	}
	stream_set_boundary_fn(e->stream, engine_boundary, e);
	engine_hists_wire(e);
	if (e->pw.sink) {
		loop_set_wake_fn(e->loop, engine_on_wake, e);
		atomic_store_explicit(&e->wake, e->loop, memory_order_release);
	}
	for (i = 0; i < CONF_N_EARS; i++) {
		if (e->dongles[i]) {
			dongle_start(e->dongles[i], now);
		}
	}
	pair_start(e->pair, now);
	wheel_timer_init(&e->stats_timer, WHEEL_SOFT, 10 * NSEC_PER_MSEC,
			 engine_stats_fire);
	wheel_add(e->wheel, &e->stats_timer, now + ENGINE_STATS_NS);
	engine_publish(e, now);
	return 0;
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
	r = loop_run(e->loop);
	if (r < 0) {
		log_rt(LOG_ERR, "event loop failed: %s", strerror(-r));
	}
	/* Tell the earbuds, then let the STOPs leave. */
	pair_stop(e->pair);
	loop_run_once(e->loop, false);
	engine_publish(e, rt_now_ns());
	/* Every histogram's last state, for readers after the stop. */
	lathist_publish(e->hists, ENGINE_N_HISTS);
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

	for (k = 0; k < CONF_N_EARS; k++) {
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

int engine_hist_get(struct engine *e, enum conf_ear ear, unsigned id,
		    struct hist *ret)
{
	if (ear > CONF_N_EARS ||
	    id >= (ear == CONF_N_EARS ? ENGINE_N_GLOBAL_HISTS :
					ENGINE_N_EAR_HISTS)) {
		return -EINVAL;
	}
	return lathist_get(e->hists, ear * ENGINE_N_EAR_HISTS + id, ret);
}

void engine_hists_reset(struct engine *e)
{
	lathist_reset(e->hists);
}
