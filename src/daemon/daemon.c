/* SPDX-License-Identifier: MIT */
#include "daemon/daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "core/btsnoop.h"
#include "core/macro.h"
#include "core/spsc.h"
#include "daemon/control.h"
#include "daemon/daemon_private.h"
#include "daemon/dongle.h"
#include "daemon/reconf.h"
#include "os/rt.h"
#include "daemon/conffile.h"
#include "daemon/engine.h"
#include "daemon/log.h"
#include "daemon/status.h"
#include "os/l2cap.h"

#if HAVE_PIPEWIRE
#include "pw/sink.h"
#endif

#define DAEMON_DRAIN_NS (50 * NSEC_PER_MSEC)
/* While a caller waits for the RT thread (Set, Reload, ResetStats). */
#define DAEMON_BUSY_NS (5 * NSEC_PER_MSEC)
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
static int daemon_pw_start(struct daemon *d)
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

	if (!d->sink) {
		return;
	}
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
#else
static int daemon_pw_start(struct daemon *d)
{
	return -ENOTSUP;
}

static void daemon_pw_latency(struct daemon *d)
{
}
#endif

static void daemon_watchdog(struct daemon *d, uint64_t now)
{
	struct engine_snapshot snap;

	/* The watchdog pings only while the RT thread makes progress, so a
	 * hung RT loop gets the service restarted. */
	if (!d->watchdog_usec) {
		return;
	}
	engine_snapshot(d->engine, &snap);
	if (snap.heartbeat != d->last_heartbeat) {
		d->last_heartbeat = snap.heartbeat;
		if (now - d->last_watchdog_ns >=
		    d->watchdog_usec * NSEC_PER_USEC / 4) {
			sd_notify(0, "WATCHDOG=1");
			d->last_watchdog_ns = now;
		}
	}
}

static int daemon_on_timer(sd_event_source *s, uint64_t usec, void *user)
{
	struct daemon *d = user;
	uint64_t now = usec * NSEC_PER_USEC, next_ns = DAEMON_DRAIN_NS;

	log_drain();
	daemon_drain_frames(d);
	daemon_drain_capture(d);
	daemon_pw_latency(d);
	daemon_watchdog(d, now);
	reconf_poll(d->reconf, now);
	if (d->control) {
		control_tick(d->control, now);
	}
	daemon_metrics_textfile(d, now);
	if (reconf_pending(d->reconf) ||
	    (d->control && control_busy(d->control))) {
		next_ns = DAEMON_BUSY_NS;
	}
	/* A time source is one-shot: re-arm it, or nothing is drained (nor
	 * the watchdog fed) until exit. */
	sd_event_source_set_time(s, usec + next_ns / NSEC_PER_USEC);
	sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	return 0;
}

static int daemon_on_exit_signal(sd_event_source *s,
				 const struct signalfd_siginfo *si, void *user)
{
	struct daemon *d = user;

	log_info("signal %u: stopping", si->ssi_signo);
	sd_notify(0, "STOPPING=1");
	return sd_event_exit(d->event, 0);
}

static void daemon_reload_done(void *data, int err)
{
	struct daemon *d = data;

	if (err == 0) {
		log_main_event(LOG_NOTICE, LOG_EV_CONFIG_RELOAD, LOG_EAR_NONE,
			       NULL, 0, "%s: adopted (configuration %llu)",
			       d->o->config,
			       (unsigned long long)reconf_generation(
				       d->reconf));
	}
}

static int daemon_on_hup(sd_event_source *s, const struct signalfd_siginfo *si,
			 void *user)
{
	struct daemon *d = user;
	char err[CONF_ERR_MAX + CONF_PATH_MAX], note[256];
	int r;

	r = reconf_reload(d->reconf, rt_now_ns(), note, sizeof(note), err,
			  sizeof(err), daemon_reload_done, d);
	if (r < 0) {
		log_main_event(LOG_ERR, LOG_EV_CONFIG_REFUSED, LOG_EAR_NONE,
			       NULL, 0,
			       "reload refused, keeping the running "
			       "configuration: %s",
			       err);
		return 0;
	}
	if (note[0]) {
		log_main_event(LOG_WARNING, LOG_EV_CONFIG_RELOAD, LOG_EAR_NONE,
			       NULL, 0,
			       "reload of %s: %s (kept at their running values)",
			       d->o->config, note);
	}
	return 0;
}

static int daemon_on_duration(sd_event_source *s, uint64_t usec, void *user)
{
	struct daemon *d = user;

	return sd_event_exit(d->event, 0);
}

static void daemon_log_rt(const char *text)
{
	char *copy = strdup(text), *line, *save = NULL;

	if (!copy) {
		return;
	}
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		bool bad = strstr(line, ": FAILED") || strstr(line, ": warn");

		log_main_event(bad ? LOG_WARNING : LOG_INFO,
			       LOG_EV_RT_PLACEMENT, LOG_EAR_NONE, NULL, 0,
			       "rt %s", line);
	}
	free(copy);
}

/*
 * Say now, clearly, when a configured transport cannot work on this
 * host. Returns how many configured ears can work.
 */
static unsigned daemon_check_transports(const struct conf *c)
{
	char why[256];
	unsigned e, usable = 0;

	for (e = 0; e < CONF_N_EARS; e++) {
		switch (c->link[e].transport) {
		case CONF_TRANSPORT_NONE:
			continue;
		case CONF_TRANSPORT_L2CAP:
			if (l2cap_kernel_support(why, sizeof(why)) < 0) {
				log_error("%s ear: transport = l2cap: %s",
					  conf_ear_name(e), why);
				continue;
			}
			break;
		case CONF_TRANSPORT_HCI_UART:
		case CONF_TRANSPORT_UNIX:
			break;
		}
		usable++;
	}
	return usable;
}

/* Configuration, and whether any ear can be reached with it. */
static int daemon_load(struct daemon *d)
{
	char err[CONF_ERR_MAX + CONF_PATH_MAX];

	if (conffile_load(d->o->config, &d->conf, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -EINVAL;
	}
	if (daemon_check_transports(&d->conf) == 0) {
		log_error("no ear can be reached with this configuration "
			  "(%s): nothing to do",
			  d->o->config);
		return -EINVAL;
	}
	return 0;
}

static int daemon_start_pipewire(struct daemon *d)
{
	int r = daemon_pw_start(d);

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
	return 0;
}

/* The engine (and the sink it drives), started; the RT report logged. */
static int daemon_start_engine(struct daemon *d)
{
	char *rt_text;
	int r;

	r = engine_new(&d->conf, d->frame_file ? &d->frame_ring : NULL,
		       d->capture_mem ? &d->capture_ring : NULL, &d->engine);
	if (r < 0) {
		log_error("engine: %s", strerror(-r));
		return r;
	}
	r = reconf_new(d->engine, d->o->config, &d->conf, &d->reconf);
	if (r < 0) {
		return r;
	}
	if (d->conf.stream.source == CONF_SOURCE_PIPEWIRE) {
		r = daemon_start_pipewire(d);
		if (r < 0) {
			return r;
		}
	}
	rt_text = malloc(8192);
	r = engine_start(d->engine, rt_text, rt_text ? 8192 : 0);
	if (rt_text) {
		daemon_log_rt(rt_text);
		free(rt_text);
	}
	if (r < 0) {
		log_error("RT thread failed to start: %s (%s)", strerror(-r),
			  engine_backend_note(d->engine));
		return r;
	}
	log_info("RT loop: %s", engine_backend_note(d->engine));
	return 0;
}

/* The control API; ttwsd streams on without it, and says why. */
static void daemon_start_control(struct daemon *d)
{
	struct control_host host = {
		.engine = d->engine,
		.reconf = d->reconf,
		.start_ns = d->start_ns,
		.data = d,
		.stats_json = daemon_stats_json,
		.metrics_text = daemon_metrics_text,
		.capture_start = daemon_capture_start,
		.capture_stop = daemon_capture_stop,
	};
	int r;

	r = control_new(d->event, &host, d->conf.control.socket,
			d->conf.control.socket_mode, &d->control);
	if (r < 0) {
		log_error("control API unavailable: %s: %s", d->conf.control.socket,
			  strerror(-r));
		d->control = NULL;
		return;
	}
	log_info("control API on %s", d->conf.control.socket);
}

/* The main loop's sources: signals, the periodic timer, the duration. */
static int daemon_start_loop(struct daemon *d)
{
	uint64_t now_usec;
	int r;

	r = sd_event_default(&d->event);
	if (r < 0) {
		log_error("sd-event: %s", strerror(-r));
		return r;
	}
	sd_event_add_signal(d->event, NULL, SIGTERM, daemon_on_exit_signal, d);
	sd_event_add_signal(d->event, NULL, SIGINT, daemon_on_exit_signal, d);
	sd_event_add_signal(d->event, NULL, SIGHUP, daemon_on_hup, d);
	sd_event_now(d->event, CLOCK_MONOTONIC, &now_usec);
	sd_event_add_time(d->event, NULL, CLOCK_MONOTONIC,
			  now_usec + DAEMON_DRAIN_NS / NSEC_PER_USEC, 1000,
			  daemon_on_timer, d);
	if (d->o->duration_ns) {
		sd_event_add_time(d->event, NULL, CLOCK_MONOTONIC,
				  now_usec + d->o->duration_ns / NSEC_PER_USEC,
				  0, daemon_on_duration, d);
	}
	if (sd_watchdog_enabled(0, &d->watchdog_usec) <= 0) {
		d->watchdog_usec = 0;
	}
	return 0;
}

/* Signals go to sd-event's signalfd; block them in every thread (the RT
 * thread inherits the mask). */
static void daemon_block_signals(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void daemon_teardown(struct daemon *d)
{
	/* The RT thread triggers the sink: stop it before the sink goes,
	 * and the sink (its process() fills the ring and wakes the RT
	 * loop) before the engine and the ring go. The control API and the
	 * reconfiguration read the engine: they go first. */
	d->control = control_free(d->control);
	if (d->engine) {
		engine_stop(d->engine);
	}
	d->reconf = reconf_free(d->reconf);
#if HAVE_PIPEWIRE
	d->sink = pw_sink_free(d->sink);
#endif
	d->engine = engine_free(d->engine);
	log_drain();
	log_flush();
	d->event = sd_event_unref(d->event);
	daemon_capture_teardown(d);
	free(d->pw_mem);
}

int daemon_run(const struct daemon_opts *o)
{
	struct daemon d = { .o = o };
	int r, rc = 1;

	if (log_init() < 0) {
		fprintf(stderr, "ttwsd: out of memory\n");
		return 1;
	}
	/* $TTWS_DEBUG=1: debug messages too (systemd's $SYSTEMD_LOG_LEVEL
	 * habit, for the field). */
	if (getenv("TTWS_DEBUG")) {
		log_set_max_level(LOG_DEBUG);
	}
	d.start_ns = rt_now_ns();
	if (daemon_load(&d) < 0) {
		return 1;
	}
	daemon_block_signals();
	if (daemon_capture_setup(&d) < 0 || daemon_start_engine(&d) < 0 ||
	    daemon_start_loop(&d) < 0) {
		goto out;
	}
	daemon_start_control(&d);
	sd_notify(0, "READY=1\nSTATUS=streaming");
	r = sd_event_loop(d.event);
	if (r < 0) {
		log_error("main loop: %s", strerror(-r));
		goto out;
	}
	d.control = control_free(d.control);
	engine_stop(d.engine);
	log_drain();
	daemon_drain_frames(&d);
	daemon_drain_capture(&d);
	rc = daemon_write_stats(&d) < 0 ? 1 : 0;
out:
	daemon_teardown(&d);
	return rc;
}
