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
#include "daemon/notify.h"
#include "daemon/status.h"
#include "os/l2cap.h"

#define DAEMON_DRAIN_NS (50 * NSEC_PER_MSEC)
/* While a caller waits for the RT thread (Set, Reload, ResetStats). */
#define DAEMON_BUSY_NS (5 * NSEC_PER_MSEC)
/* engine_start()'s RT report text. */
#define DAEMON_RT_TEXT_MAX 8192

/* The service manager's view: what notify_tick() looks at. */
static void daemon_notify(struct daemon *d, uint64_t now_ns)
{
	struct engine_snapshot snap;
	struct notify_view v = {
		.snap = &snap,
		.conf = &d->conf,
	};

	engine_snapshot(d->engine, &snap);
	daemon_pw_view(d, &v);
	notify_tick(&d->notify, &v, now_ns);
}

static int daemon_on_timer(sd_event_source *s, uint64_t usec, void *user)
{
	struct daemon *d = user;
	uint64_t now = usec * NSEC_PER_USEC, next_ns = DAEMON_DRAIN_NS;

	log_drain();
	daemon_drain_frames(d);
	daemon_drain_capture(d);
	daemon_pw_tick(d, now);
	daemon_notify(d, now);
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

/*
 * Leave the main loop. The control API goes first, here: sd-bus gives
 * each connection attached to the loop an exit source that flushes it,
 * and a flush waits without limit for a client that stopped reading or
 * never finished its handshake (control_conn.c), which would keep ttwsd
 * from stopping.
 */
static int daemon_exit(struct daemon *d)
{
	d->control = control_free(d->control);
	return sd_event_exit(d->event, 0);
}

static int daemon_on_exit_signal(sd_event_source *s,
				 const struct signalfd_siginfo *si, void *user)
{
	struct daemon *d = user;

	log_info("signal %u: stopping", si->ssi_signo);
	notify_stopping(&d->notify);
	return daemon_exit(d);
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

	return daemon_exit(d);
}

/* Bounded search for needle in the len bytes at s (no NUL inside). */
static bool daemon_line_has(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; i + n <= len; i++) {
		if (memcmp(s + i, needle, n) == 0) {
			return true;
		}
	}
	return false;
}

/* The RT report, one log record per line; read in place, so that it
 * needs no memory of its own (start-up may be short of it). */
static void daemon_log_rt(const char *text)
{
	const char *line = text, *end;

	for (; *line; line = *end ? end + 1 : end) {
		size_t len;
		bool bad;

		end = strchr(line, '\n');
		if (!end) {
			end = line + strlen(line);
		}
		len = (size_t)(end - line);
		if (len == 0) {
			continue;
		}
		bad = daemon_line_has(line, len, ": FAILED") ||
		      daemon_line_has(line, len, ": warn");
		log_main_event(bad ? LOG_WARNING : LOG_INFO,
			       LOG_EV_RT_PLACEMENT, LOG_EAR_NONE, NULL, 0,
			       "rt %.*s", (int)len, line);
	}
}

/*
 * Say now, clearly, when a configured transport cannot work on this
 * host. Returns how many configured ears can work.
 */
static unsigned daemon_check_transports(const struct conf *c)
{
	char why[256];
	unsigned e, usable = 0;

	for (e = 0; e < conf_n_pairs(c) * CONF_N_EARS; e++) {
		unsigned p = e / CONF_N_EARS;

		switch (conf_pair_link(c, p, e % CONF_N_EARS)->transport) {
		case CONF_TRANSPORT_NONE:
			continue;
		case CONF_TRANSPORT_L2CAP:
			if (l2cap_kernel_support(why, sizeof(why)) < 0) {
				log_error("pair %s, %s ear: transport = l2cap: "
					  "%s",
					  conf_pair_name(c, p),
					  conf_ear_name(e % CONF_N_EARS), why);
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
		log_error("configuration: %s", strerror(-r));
		return r;
	}
	if (d->conf.stream.source == CONF_SOURCE_PIPEWIRE) {
		r = daemon_start_pipewire(d);
		if (r < 0) {
			return r;
		}
	}
	/* The RT report is what tells an operator whether the placement
	 * worked: no memory for it is a start-up failure like any other. */
	rt_text = malloc(DAEMON_RT_TEXT_MAX);
	if (!rt_text) {
		log_error("RT report: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	/* engine_start() writes no report when the thread never ran. */
	rt_text[0] = '\0';
	r = engine_start(d->engine, rt_text, DAEMON_RT_TEXT_MAX);
	daemon_log_rt(rt_text);
	free(rt_text);
	if (r < 0) {
		log_error("RT thread failed to start: %s (%s)", strerror(-r),
			  engine_backend_note(d->engine));
		return r;
	}
	log_info("RT loop: %s", engine_backend_note(d->engine));
	return 0;
}

/*
 * The control API. ttwsd streams on without it, and says why, when the
 * socket cannot be made (a path or permission problem the operator
 * fixes); short of memory at start-up it gives up instead, like every
 * other start-up step, so that the service manager restarts it whole.
 */
static int daemon_start_control(struct daemon *d)
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
	if (r == -ENOMEM) {
		log_error("control API: %s", strerror(-r));
		d->control = NULL;
		return r;
	}
	if (r < 0) {
		log_error("control API unavailable: %s: %s", d->conf.control.socket,
			  strerror(-r));
		d->control = NULL;
		return 0;
	}
	log_info("control API on %s", d->conf.control.socket);
	return 0;
}

/* The main loop's sources: signals, the periodic timer, the duration.
 * Each one is needed: without its SIGTERM source the blocked signal
 * would never stop ttwsd, without the timer nothing would be drained,
 * READY=1 never sent nor the watchdog fed. */
static int daemon_start_loop(struct daemon *d)
{
	static const struct {
		int sig;
		sd_event_signal_handler_t fn;
	} sigs[] = {
		{ SIGTERM, daemon_on_exit_signal },
		{ SIGINT, daemon_on_exit_signal },
		{ SIGHUP, daemon_on_hup },
	};
	uint64_t now_usec;
	size_t i;
	int r;

	r = sd_event_default(&d->event);
	if (r < 0) {
		log_error("sd-event: %s", strerror(-r));
		return r;
	}
	for (i = 0; i < ARRAY_SIZE(sigs) && r >= 0; i++) {
		r = sd_event_add_signal(d->event, NULL, sigs[i].sig,
					sigs[i].fn, d);
	}
	if (r >= 0) {
		r = sd_event_now(d->event, CLOCK_MONOTONIC, &now_usec);
	}
	if (r >= 0) {
		r = sd_event_add_time(d->event, NULL, CLOCK_MONOTONIC,
				      now_usec + DAEMON_DRAIN_NS /
							 NSEC_PER_USEC,
				      1000, daemon_on_timer, d);
	}
	if (r >= 0 && d->o->duration_ns) {
		r = sd_event_add_time(d->event, NULL, CLOCK_MONOTONIC,
				      now_usec + d->o->duration_ns /
							 NSEC_PER_USEC,
				      0, daemon_on_duration, d);
	}
	if (r < 0) {
		log_error("sd-event: cannot add the main loop's signals and "
			  "timers: %s",
			  strerror(-r));
		return r;
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
	daemon_pw_free(d);
	d->engine = engine_free(d->engine);
	log_drain();
	log_flush();
	d->event = sd_event_unref(d->event);
	daemon_capture_teardown(d);
}

int daemon_run(const struct daemon_opts *o)
{
	struct daemon d = { .o = o };
	uint64_t watchdog_usec;
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
	/* READY=1 comes from the main loop, once the RT thread's first
	 * heartbeat shows its loop runs (notify.h). */
	if (sd_watchdog_enabled(0, &watchdog_usec) <= 0) {
		watchdog_usec = 0;
	}
	notify_init(&d.notify, watchdog_usec * NSEC_PER_USEC, NULL, NULL);
	notify_starting(&d.notify, "configuration loaded, starting the RT "
				   "thread");
	if (daemon_capture_setup(&d) < 0 || daemon_start_engine(&d) < 0 ||
	    daemon_start_loop(&d) < 0 || daemon_start_control(&d) < 0) {
		goto out;
	}
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
