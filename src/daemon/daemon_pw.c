/* SPDX-License-Identifier: MIT */
/*
 * The main thread's side of source = pipewire: creating ttws.sink for the
 * engine, publishing its latency, and watching it go and come back (the
 * sink reconnects by itself, src/pw/sink_reconnect.c; the daemon logs it
 * and tells the service manager, notify.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/macro.h"
#include "core/spsc.h"
#include "daemon/codec_g722.h"
#include "daemon/daemon_private.h"
#include "daemon/engine.h"
#include "daemon/log.h"
#include "daemon/notify.h"

#if HAVE_PIPEWIRE
#include "pw/sink.h"
#endif

/* PipeWire -> RT thread: 1 MiB holds 32 quanta of 1024 stereo F32
 * samples, far more than the few that wait at any time. */
#define DAEMON_PW_RING (1u << 20)
/* Republish the sink's latency when the wanted value moved this much:
 * the adaptive delay slews by microseconds per frame, and every update
 * is a param change that PipeWire propagates through the graph. */
#define DAEMON_PW_LATENCY_STEP_NS NSEC_PER_MSEC

/* ttws.sink for "default", the name before there were pairs, which
 * users, tests and the gateway depend on. */
void daemon_sink_node_name(const char *pair, char *buf, size_t size)
{
	if (strcmp(pair, CONF_PAIR_DEFAULT) == 0) {
		snprintf(buf, size, "ttws.sink");
	} else {
		snprintf(buf, size, "ttws.sink.%s", pair);
	}
}

#if HAVE_PIPEWIRE
/*
 * Create pair i's node for the RT thread's frame clock: stereo F32, one
 * graph cycle per frame, the driver while it plays; its own ring, its
 * own trigger and latency. Main thread, before the engine starts.
 */
static int daemon_pw_new_sink(struct daemon *d, unsigned i)
{
	struct daemon_sink *ds = &d->sinks[i];
	const char *pair = engine_pair_name(d->engine, i);
	struct conf view;
	struct pw_sink_config pc = {
		.format = PW_SINK_F32,
		.channels = 2,
		.quantum = (uint32_t)(d->conf.stream.frame_ns * 48000 /
				      NSEC_PER_SEC),
		.driver = true,
		.ring = &ds->ring,
		.notify = engine_notify,
		.notify_data = engine_notify_data(d->engine, i),
		/* Services start in any order: a ttwsd up before PipeWire
		 * waits for it (the watchdog's grace counts from here). */
		.wait_for_server = true,
	};
	int r;

	conf_pair_view(&d->conf, i, &view);
	pc.latency_ns = view.stream.delay_ns;
	if (view.stream.profile == CONF_PROFILE_ASHA) {
		/* ASHA's aids take G.722 at 16 kHz in 20 ms frames: the node
		 * runs at that rate (PipeWire converts the graph for it),
		 * one cycle asked per frame. */
		pc.rate_hz = G722_RATE_HZ;
		pc.quantum = G722_FRAME_SAMPLES;
		pc.latency_ns = 3 * 20 * NSEC_PER_MSEC;
	}
	daemon_sink_node_name(pair, ds->node, sizeof(ds->node));
	pc.node_name = ds->node;
	/* The pair's name, except for the one pair of the old form, which
	 * keeps the description it always had. */
	pc.description = strcmp(pair, CONF_PAIR_DEFAULT) == 0 ? NULL : pair;
	ds->mem = malloc(DAEMON_PW_RING);
	if (!ds->mem) {
		return -ENOMEM;
	}
	spsc_init(&ds->ring, ds->mem, DAEMON_PW_RING);
	r = pw_sink_new(&pc, &ds->sink);
	if (r < 0) {
		return r;
	}
	ds->latency_ns = pc.latency_ns;
	return engine_set_pipewire(d->engine, i, ds->sink, &ds->ring);
}

static int daemon_pw_new(struct daemon *d)
{
	unsigned i, n = engine_n_pairs(d->engine);
	int r;

	for (i = 0; i < n; i++) {
		r = daemon_pw_new_sink(d, i);
		d->n_sinks = i + 1;
		if (r < 0) {
			return r;
		}
	}
	d->sink = d->sinks[0].sink;
	return 0;
}

/* A pair's wanted latency (delay + codec) into SPA_PARAM_Latency. */
static void daemon_pw_latency(struct daemon *d, unsigned i)
{
	struct daemon_sink *ds = &d->sinks[i];
	struct engine_pair_snapshot ps;
	uint64_t want, diff;

	if (engine_pair_snapshot(d->engine, i, &ps) < 0) {
		return;
	}
	want = ps.is_asha ? ps.asha.latency_ns : ps.stream.latency_ns;
	diff = want > ds->latency_ns ? want - ds->latency_ns :
				       ds->latency_ns - want;
	if (want == 0 || diff < DAEMON_PW_LATENCY_STEP_NS) {
		return;
	}
	if (pw_sink_set_latency(ds->sink, want) == 0) {
		ds->latency_ns = want;
	}
}

/*
 * PipeWire's goings and comings as the journal tells them: a start
 * without it counts as the first going (pipewire-gone at start) and its
 * first registration as a coming (pipewire-back), on top of the sink's
 * disconnects and reconnects, which count only losses of a connection.
 */
static uint64_t daemon_pw_losses(const struct pw_sink_stats *st)
{
	return st->disconnects + (st->started_gone ? 1 : 0);
}

static uint64_t daemon_pw_returns(const struct pw_sink_stats *st)
{
	return st->reconnects +
	       (st->started_gone && st->registrations > 0 ? 1 : 0);
}

static const char *daemon_pw_error(const struct pw_sink_stats *st)
{
	return strerror(st->last_connect_error < 0 ? -st->last_connect_error :
						      EPIPE);
}

/* PipeWire is not there at start (the sink waits for it). */
static void daemon_pw_log_waiting(struct daemon_sink *ds,
				  const struct pw_sink_stats *st)
{
	ds->disconnects = daemon_pw_losses(st);
	ds->gone_at_ns = st->gone_since_ns;
	log_main_event(LOG_WARNING, LOG_EV_PIPEWIRE_GONE, LOG_EAR_NONE,
		       LOG_KVS(LOG_KV(LOG_K_ERRNO, st->last_connect_error)),
		       "PipeWire not there at start (%s): waiting for it; "
		       "%s will register when it appears (is a "
		       "PipeWire daemon running for this user? see "
		       "PIPEWIRE_RUNTIME_DIR and XDG_RUNTIME_DIR)",
		       daemon_pw_error(st), ds->node);
}

static void daemon_pw_log_gone(struct daemon_sink *ds,
			       const struct pw_sink_stats *st, uint64_t now_ns)
{
	ds->disconnects = daemon_pw_losses(st);
	ds->gone_at_ns = st->gone_since_ns ? st->gone_since_ns : now_ns;
	log_main_event(LOG_WARNING, LOG_EV_PIPEWIRE_GONE, LOG_EAR_NONE,
		       LOG_KVS(LOG_KV(LOG_K_ERRNO, st->last_connect_error)),
		       "PipeWire gone (%s): %s will re-register when "
		       "it is back; the earbuds keep their links",
		       daemon_pw_error(st), ds->node);
}

static void daemon_pw_log_back(struct daemon_sink *ds,
			       const struct pw_sink_stats *st, uint64_t now_ns)
{
	/* The first return of a sink that started without PipeWire. */
	bool first = st->started_gone && ds->reconnects == 0;

	ds->reconnects = daemon_pw_returns(st);
	log_main_event(LOG_NOTICE, LOG_EV_PIPEWIRE_BACK, LOG_EAR_NONE, NULL, 0,
		       "PipeWire %s: %s registered%s (node %u) after %.1f s, "
		       "%" PRIu64 " connection attempts so far",
		       first ? "there" : "back", ds->node,
		       first ? "" : " again", st->node_id,
		       (double)(now_ns - ds->gone_at_ns) / 1e9,
		       st->connect_attempts);
}

/*
 * Say when PipeWire went away and when a sink is back in it. Both may
 * have happened since the last tick: while the sink is gone now, the
 * return came first.
 */
static void daemon_pw_watch(struct daemon_sink *ds,
			    const struct pw_sink_stats *st, uint64_t now_ns)
{
	bool back = daemon_pw_returns(st) > ds->reconnects;

	if (back && st->gone_since_ns) {
		daemon_pw_log_back(ds, st, now_ns);
		back = false;
	}
	if (daemon_pw_losses(st) > ds->disconnects) {
		daemon_pw_log_gone(ds, st, now_ns);
	}
	if (back) {
		daemon_pw_log_back(ds, st, now_ns);
	}
}

void daemon_pw_tick(struct daemon *d, uint64_t now_ns)
{
	struct pw_sink_stats st;
	unsigned i;

	for (i = 0; i < d->n_sinks; i++) {
		if (!d->sinks[i].sink) {
			continue;
		}
		daemon_pw_latency(d, i);
		pw_sink_get_stats(d->sinks[i].sink, &st);
		daemon_pw_watch(&d->sinks[i], &st, now_ns);
	}
}

/* Every sink counts: registered and not waiting only when all are,
 * streaming when any is, gone since the earliest loss. */
void daemon_pw_view(struct daemon *d, struct notify_view *v)
{
	struct pw_sink_stats st;
	unsigned i;

	v->pipewire = d->sink != NULL;
	if (!d->sink) {
		return;
	}
	v->sink_registered = true;
	v->sink_streaming = false;
	v->sink_gone_since_ns = 0;
	v->sink_waiting = false;
	for (i = 0; i < d->n_sinks; i++) {
		if (!d->sinks[i].sink) {
			continue;
		}
		pw_sink_get_stats(d->sinks[i].sink, &st);
		v->sink_registered = v->sink_registered && st.registered;
		v->sink_streaming = v->sink_streaming || st.streaming;
		if (st.gone_since_ns &&
		    (!v->sink_gone_since_ns ||
		     st.gone_since_ns < v->sink_gone_since_ns)) {
			v->sink_gone_since_ns = st.gone_since_ns;
		}
		v->sink_waiting = v->sink_waiting ||
				  (st.gone_since_ns && st.started_gone &&
				   st.registrations == 0);
	}
}

bool daemon_pw_pair_stats(struct daemon *d, unsigned i,
			  struct pw_sink_stats *ret)
{
	if (i >= d->n_sinks || !d->sinks[i].sink) {
		return false;
	}
	pw_sink_get_stats(d->sinks[i].sink, ret);
	return true;
}

void daemon_pw_free(struct daemon *d)
{
	unsigned i;

	for (i = 0; i < d->n_sinks; i++) {
		d->sinks[i].sink = pw_sink_free(d->sinks[i].sink);
		free(d->sinks[i].mem);
		d->sinks[i].mem = NULL;
	}
	d->n_sinks = 0;
	d->sink = NULL;
}

/* Right after the sinks are made: whether they wait for PipeWire. */
static void daemon_pw_started(struct daemon *d)
{
	struct pw_sink_stats st;
	unsigned i;

	for (i = 0; i < d->n_sinks; i++) {
		pw_sink_get_stats(d->sinks[i].sink, &st);
		if (st.started_gone) {
			daemon_pw_log_waiting(&d->sinks[i], &st);
		}
	}
}
#else
static int daemon_pw_new(struct daemon *d)
{
	return -ENOTSUP;
}

void daemon_pw_tick(struct daemon *d, uint64_t now_ns)
{
}

void daemon_pw_view(struct daemon *d, struct notify_view *v)
{
	v->pipewire = false;
}

bool daemon_pw_pair_stats(struct daemon *d, unsigned i,
			  struct pw_sink_stats *ret)
{
	return false;
}

void daemon_pw_free(struct daemon *d)
{
}

static void daemon_pw_started(struct daemon *d)
{
}
#endif

int daemon_start_pipewire(struct daemon *d)
{
	int r = daemon_pw_new(d);

	if (r == -ENOTSUP) {
		log_error("source = pipewire: this ttwsd was built without "
			  "PipeWire");
		return r;
	}
	if (r < 0) {
		log_error("source = pipewire: cannot create %s: %s (is "
			  "a PipeWire daemon running for this user? see "
			  "PIPEWIRE_RUNTIME_DIR and XDG_RUNTIME_DIR)",
			  d->n_sinks ? d->sinks[d->n_sinks - 1].node :
				       "ttws.sink",
			  strerror(-r));
		return r;
	}
	for (unsigned i = 0; i < d->n_sinks; i++) {
		struct conf view;

		conf_pair_view(&d->conf, i, &view);
		log_info("%s created: %s, %s frames", d->sinks[i].node,
			 conf_codec_name(view.stream.codec),
			 view.stream.frame_ns == 10 * NSEC_PER_MSEC ?
				 "10 ms" :
				 "7.5 ms");
	}
	daemon_pw_started(d);
	return 0;
}
