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

#if HAVE_PIPEWIRE
/*
 * Create ttws.sink for the RT thread's frame clock: stereo F32, one graph
 * cycle per frame, the driver while it plays. Main thread, before the
 * engine starts.
 */
static int daemon_pw_new(struct daemon *d)
{
	struct pw_sink_config pc = {
		.format = PW_SINK_F32,
		.channels = 2,
		.quantum = (uint32_t)(d->conf.stream.frame_ns * 48000 /
				      NSEC_PER_SEC),
		.driver = true,
		.latency_ns = d->conf.stream.delay_ns,
		.ring = &d->pw_ring,
		.notify = engine_notify,
		.notify_data = d->engine,
		/* Services start in any order: a ttwsd up before PipeWire
		 * waits for it (the watchdog's grace counts from here). */
		.wait_for_server = true,
	};
	int r;

	d->pw_mem = malloc(DAEMON_PW_RING);
	if (!d->pw_mem) {
		return -ENOMEM;
	}
	spsc_init(&d->pw_ring, d->pw_mem, DAEMON_PW_RING);
	r = pw_sink_new(&pc, &d->sink);
	if (r < 0) {
		return r;
	}
	d->pw_latency_ns = pc.latency_ns;
	engine_set_pipewire(d->engine, d->sink, &d->pw_ring);
	return 0;
}

/* The RT thread's wanted latency (delay + codec) into SPA_PARAM_Latency. */
static void daemon_pw_latency(struct daemon *d)
{
	struct engine_snapshot snap;
	uint64_t want, diff;

	engine_snapshot(d->engine, &snap);
	want = snap.stream.latency_ns;
	diff = want > d->pw_latency_ns ? want - d->pw_latency_ns :
					 d->pw_latency_ns - want;
	if (want == 0 || diff < DAEMON_PW_LATENCY_STEP_NS) {
		return;
	}
	if (pw_sink_set_latency(d->sink, want) == 0) {
		d->pw_latency_ns = want;
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
static void daemon_pw_log_waiting(struct daemon *d,
				  const struct pw_sink_stats *st)
{
	d->pw_disconnects = daemon_pw_losses(st);
	d->pw_gone_at_ns = st->gone_since_ns;
	log_main_event(LOG_WARNING, LOG_EV_PIPEWIRE_GONE, LOG_EAR_NONE,
		       LOG_KVS(LOG_KV(LOG_K_ERRNO, st->last_connect_error)),
		       "PipeWire not there at start (%s): waiting for it; "
		       "ttws.sink will register when it appears (is a "
		       "PipeWire daemon running for this user? see "
		       "PIPEWIRE_RUNTIME_DIR and XDG_RUNTIME_DIR)",
		       daemon_pw_error(st));
}

static void daemon_pw_log_gone(struct daemon *d,
			       const struct pw_sink_stats *st, uint64_t now_ns)
{
	d->pw_disconnects = daemon_pw_losses(st);
	d->pw_gone_at_ns = st->gone_since_ns ? st->gone_since_ns : now_ns;
	log_main_event(LOG_WARNING, LOG_EV_PIPEWIRE_GONE, LOG_EAR_NONE,
		       LOG_KVS(LOG_KV(LOG_K_ERRNO, st->last_connect_error)),
		       "PipeWire gone (%s): ttws.sink will re-register when "
		       "it is back; the earbuds keep their links",
		       daemon_pw_error(st));
}

static void daemon_pw_log_back(struct daemon *d,
			       const struct pw_sink_stats *st, uint64_t now_ns)
{
	/* The first return of a sink that started without PipeWire. */
	bool first = st->started_gone && d->pw_reconnects == 0;

	d->pw_reconnects = daemon_pw_returns(st);
	log_main_event(LOG_NOTICE, LOG_EV_PIPEWIRE_BACK, LOG_EAR_NONE, NULL, 0,
		       "PipeWire %s (node %u) after %.1f s, %" PRIu64
		       " connection attempts so far",
		       first ? "there: ttws.sink registered" :
			       "back: ttws.sink registered again",
		       st->node_id,
		       (double)(now_ns - d->pw_gone_at_ns) / 1e9,
		       st->connect_attempts);
}

/*
 * Say when PipeWire went away and when ttws.sink is back in it. Both may
 * have happened since the last tick: while the sink is gone now, the
 * return came first.
 */
static void daemon_pw_watch(struct daemon *d, const struct pw_sink_stats *st,
			    uint64_t now_ns)
{
	bool back = daemon_pw_returns(st) > d->pw_reconnects;

	if (back && st->gone_since_ns) {
		daemon_pw_log_back(d, st, now_ns);
		back = false;
	}
	if (daemon_pw_losses(st) > d->pw_disconnects) {
		daemon_pw_log_gone(d, st, now_ns);
	}
	if (back) {
		daemon_pw_log_back(d, st, now_ns);
	}
}

void daemon_pw_tick(struct daemon *d, uint64_t now_ns)
{
	struct pw_sink_stats st;

	if (!d->sink) {
		return;
	}
	daemon_pw_latency(d);
	pw_sink_get_stats(d->sink, &st);
	daemon_pw_watch(d, &st, now_ns);
}

void daemon_pw_view(struct daemon *d, struct notify_view *v)
{
	struct pw_sink_stats st;

	v->pipewire = d->sink != NULL;
	if (!d->sink) {
		return;
	}
	pw_sink_get_stats(d->sink, &st);
	v->sink_registered = st.registered;
	v->sink_streaming = st.streaming;
	v->sink_gone_since_ns = st.gone_since_ns;
	v->sink_waiting = st.gone_since_ns && st.started_gone &&
			  st.registrations == 0;
}

void daemon_pw_free(struct daemon *d)
{
	d->sink = pw_sink_free(d->sink);
}

/* Right after the sink is made: whether it waits for PipeWire. */
static void daemon_pw_started(struct daemon *d)
{
	struct pw_sink_stats st;

	pw_sink_get_stats(d->sink, &st);
	if (st.started_gone) {
		daemon_pw_log_waiting(d, &st);
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
		log_error("source = pipewire: cannot create ttws.sink: %s (is "
			  "a PipeWire daemon running for this user? see "
			  "PIPEWIRE_RUNTIME_DIR and XDG_RUNTIME_DIR)",
			  strerror(-r));
		return r;
	}
	log_info("ttws.sink created: %s, %s frames",
		 conf_codec_name(d->conf.stream.codec),
		 d->conf.stream.frame_ns == 10 * NSEC_PER_MSEC ? "10 ms" :
								 "7.5 ms");
	daemon_pw_started(d);
	return 0;
}
