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
#include "daemon/dongle.h"
#include "daemon/conffile.h"
#include "daemon/engine.h"
#include "daemon/log.h"
#include "daemon/status.h"
#include "os/l2cap.h"

#if HAVE_PIPEWIRE
#include "pw/sink.h"
#endif

#define DAEMON_DRAIN_NS (50 * NSEC_PER_MSEC)
#define DAEMON_FRAME_LOG_RING (1u << 20)
#define DAEMON_CAPTURE_RING (1u << 20)
/* PipeWire -> RT thread: 1 MiB holds 32 quanta of 1024 stereo F32
 * samples, far more than the few that wait at any time. */
#define DAEMON_PW_RING (1u << 20)
/* Republish the sink's latency when the wanted value moved this much:
 * the adaptive delay slews by microseconds per frame, and every update
 * is a param change that PipeWire propagates through the graph. */
#define DAEMON_PW_LATENCY_STEP_NS NSEC_PER_MSEC

struct daemon {
	const struct daemon_opts *o;
	struct conf conf;
	struct engine *engine;
	sd_event *event;
	struct spsc frame_ring;
	uint8_t *frame_mem;
	FILE *frame_file;
	struct spsc capture_ring;
	uint8_t *capture_mem;
	FILE *capture_file;
	uint64_t watchdog_usec;
	uint64_t last_heartbeat;
	uint64_t last_watchdog_ns;
	/* source = pipewire: the node and the ring it fills. */
	struct pw_sink *sink;
	struct spsc pw_ring;
	uint8_t *pw_mem;
	uint64_t pw_latency_ns; /* last published */
};

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

static void daemon_drain_frames(struct daemon *d)
{
	struct stream_frame_rec r;

	if (!d->frame_file) {
		return;
	}
	while (spsc_read(&d->frame_ring, &r, sizeof(r)) == 0) {
		fprintf(d->frame_file,
			"%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n",
			conf_ear_name(r.ear), r.seq, r.tx_host_ns,
			r.pts_ear_ns, r.shadow_pts_ns);
	}
}

/* The RT thread's H4 trace into btsnoop records (btmon -r, Wireshark). */
static void daemon_drain_capture(struct daemon *d)
{
	struct dongle_trace_rec r;
	uint8_t frame[4096], out[4096 + BTSNOOP_REC_HDR_SIZE];
	struct btsnoop_rec br = { 0 };
	struct timespec rt, mono;
	int64_t offset_us;
	size_t len;

	if (!d->capture_file) {
		return;
	}
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	offset_us = ((int64_t)rt.tv_sec - (int64_t)mono.tv_sec) * 1000000 +
		    ((int64_t)rt.tv_nsec - (int64_t)mono.tv_nsec) / 1000;
	while (spsc_peek(&d->capture_ring, &r, sizeof(r)) == 0) {
		if (spsc_read_avail(&d->capture_ring) < sizeof(r) + r.len) {
			break;
		}
		spsc_skip(&d->capture_ring, sizeof(r));
		if (r.len > sizeof(frame)) {
			spsc_skip(&d->capture_ring, r.len);
			continue;
		}
		spsc_read(&d->capture_ring, frame, r.len);
		br.dir = r.rx ? BTSNOOP_RECEIVED : BTSNOOP_SENT;
		br.ts_unix_us = (int64_t)(r.mono_ns / 1000) + offset_us;
		if (btsnoop_encode_record(&br, frame, r.len, out, sizeof(out),
					  &len) == 0) {
			fwrite(out, 1, len, d->capture_file);
		}
	}
	fflush(d->capture_file);
}

static int daemon_on_timer(sd_event_source *s, uint64_t usec, void *user)
{
	struct daemon *d = user;
	struct engine_snapshot snap;
	uint64_t now = usec * NSEC_PER_USEC;

	log_drain();
	daemon_drain_frames(d);
	daemon_drain_capture(d);
	daemon_pw_latency(d);
	/* The watchdog pings only while the RT thread makes progress, so a
	 * hung RT loop gets the service restarted. */
	if (d->watchdog_usec) {
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
	/* A time source is one-shot: re-arm it, or nothing is drained (nor
	 * the watchdog fed) until exit. */
	sd_event_source_set_time(s, usec + DAEMON_DRAIN_NS / NSEC_PER_USEC);
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

static int daemon_on_hup(sd_event_source *s, const struct signalfd_siginfo *si,
			 void *user)
{
	struct daemon *d = user;
	struct conf next;
	char err[CONF_ERR_MAX + CONF_PATH_MAX];

	if (conffile_load(d->o->config, &next, err, sizeof(err)) < 0) {
		log_error("reload refused, keeping the running configuration: "
			  "%s",
			  err);
		return 0;
	}
	/* The engine holds its own copy; live swapping of the RT side's
	 * snapshot is not wired yet, so be honest about it. */
	log_notice("%s is valid; restart ttwsd to apply it", d->o->config);
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
		log_main(strstr(line, "FAILED") ? LOG_WARNING : LOG_INFO,
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

static int daemon_write_stats(struct daemon *d)
{
	struct engine_snapshot snap;
	FILE *f;
	int r;

	engine_snapshot(d->engine, &snap);
	status_log_summary(&snap, &d->conf);
	if (!d->o->stats_file) {
		return 0;
	}
	f = fopen(d->o->stats_file, "we");
	if (!f) {
		log_error("cannot write %s: %s", d->o->stats_file,
			  strerror(errno));
		return -errno;
	}
#if HAVE_PIPEWIRE
	struct pw_sink_stats pst;

	if (d->sink) {
		pw_sink_get_stats(d->sink, &pst);
	}
	r = status_write_json(f, &snap, &d->conf,
			      engine_backend_note(d->engine),
			      d->sink ? &pst : NULL);
#else
	r = status_write_json(f, &snap, &d->conf,
			      engine_backend_note(d->engine), NULL);
#endif
	if (fclose(f) != 0 && r == 0) {
		r = -errno;
	}
	return r;
}

int daemon_run(const struct daemon_opts *o)
{
	struct daemon d = { .o = o };
	char err[CONF_ERR_MAX + CONF_PATH_MAX];
	char *rt_text = NULL;
	sigset_t mask;
	uint64_t now_usec;
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
	if (conffile_load(o->config, &d.conf, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return 1;
	}
	if (daemon_check_transports(&d.conf) == 0) {
		log_error("no ear can be reached with this configuration "
			  "(%s): nothing to do",
			  o->config);
		return 1;
	}
	if (o->frame_log) {
		d.frame_mem = malloc(DAEMON_FRAME_LOG_RING);
		d.frame_file = fopen(o->frame_log, "we");
		if (!d.frame_mem || !d.frame_file) {
			log_error("cannot open frame log %s: %s", o->frame_log,
				  strerror(errno));
			goto out;
		}
		spsc_init(&d.frame_ring, d.frame_mem, DAEMON_FRAME_LOG_RING);
		fprintf(d.frame_file, "ear,seq,tx_host_ns,pts_ear_ns,"
				      "naive_pts_ear_ns\n");
	}

	/* Signals go to sd-event's signalfd; block them in every thread,
	 * the RT thread inherits the mask. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (o->btsnoop) {
		uint8_t hdr[BTSNOOP_HDR_SIZE];
		size_t hlen;

		d.capture_mem = malloc(DAEMON_CAPTURE_RING);
		d.capture_file = fopen(o->btsnoop, "we");
		if (!d.capture_mem || !d.capture_file) {
			log_error("cannot open capture %s: %s", o->btsnoop,
				  strerror(errno));
			goto out;
		}
		spsc_init(&d.capture_ring, d.capture_mem, DAEMON_CAPTURE_RING);
		btsnoop_encode_header(hdr, sizeof(hdr), &hlen);
		fwrite(hdr, 1, hlen, d.capture_file);
	}
	r = engine_new(&d.conf, d.frame_file ? &d.frame_ring : NULL,
		       d.capture_file ? &d.capture_ring : NULL, &d.engine);
	if (r < 0) {
		log_error("engine: %s", strerror(-r));
		goto out;
	}
	if (d.conf.stream.source == CONF_SOURCE_PIPEWIRE) {
		r = daemon_pw_start(&d);
		if (r == -ENOTSUP) {
			log_error("source = pipewire: this ttwsd was built "
				  "without PipeWire");
			goto out;
		}
		if (r < 0) {
			log_error("source = pipewire: cannot create ttws.sink: "
				  "%s (is a PipeWire daemon running for this "
				  "user? see PIPEWIRE_RUNTIME_DIR and "
				  "XDG_RUNTIME_DIR)",
				  strerror(-r));
			goto out;
		}
		log_info("ttws.sink created: %s, %s frames",
			 conf_codec_name(d.conf.stream.codec),
			 d.conf.stream.frame_ns == 10 * NSEC_PER_MSEC ?
				 "10 ms" :
				 "7.5 ms");
	}
	rt_text = malloc(8192);
	r = engine_start(d.engine, rt_text, rt_text ? 8192 : 0);
	if (rt_text) {
		daemon_log_rt(rt_text);
	}
	if (r < 0) {
		log_error("RT thread failed to start: %s (%s)", strerror(-r),
			  engine_backend_note(d.engine));
		goto out;
	}
	log_info("RT loop: %s", engine_backend_note(d.engine));

	r = sd_event_default(&d.event);
	if (r < 0) {
		log_error("sd-event: %s", strerror(-r));
		goto out;
	}
	sd_event_add_signal(d.event, NULL, SIGTERM, daemon_on_exit_signal, &d);
	sd_event_add_signal(d.event, NULL, SIGINT, daemon_on_exit_signal, &d);
	sd_event_add_signal(d.event, NULL, SIGHUP, daemon_on_hup, &d);
	sd_event_now(d.event, CLOCK_MONOTONIC, &now_usec);
	sd_event_add_time(d.event, NULL, CLOCK_MONOTONIC,
			  now_usec + DAEMON_DRAIN_NS / NSEC_PER_USEC, 10000,
			  daemon_on_timer, &d);
	if (o->duration_ns) {
		sd_event_add_time(d.event, NULL, CLOCK_MONOTONIC,
				  now_usec + o->duration_ns / NSEC_PER_USEC, 0,
				  daemon_on_duration, &d);
	}
	if (sd_watchdog_enabled(0, &d.watchdog_usec) <= 0) {
		d.watchdog_usec = 0;
	}
	sd_notify(0, "READY=1\nSTATUS=streaming");
	r = sd_event_loop(d.event);
	if (r < 0) {
		log_error("main loop: %s", strerror(-r));
		goto out;
	}
	engine_stop(d.engine);
	log_drain();
	daemon_drain_frames(&d);
	daemon_drain_capture(&d);
	rc = daemon_write_stats(&d) < 0 ? 1 : 0;
	if (log_dropped()) {
		log_warning("%" PRIu64 " RT log records dropped (ring full)",
			    log_dropped());
	}
out:
	/* The RT thread triggers the sink: stop it before the sink goes,
	 * and the sink (its process() fills the ring and wakes the RT
	 * loop) before the engine and the ring go. */
	if (d.engine) {
		engine_stop(d.engine);
	}
#if HAVE_PIPEWIRE
	d.sink = pw_sink_free(d.sink);
#endif
	d.engine = engine_free(d.engine);
	log_drain();
	d.event = sd_event_unref(d.event);
	if (d.frame_file) {
		fclose(d.frame_file);
	}
	if (d.capture_file) {
		fclose(d.capture_file);
	}
	free(d.capture_mem);
	free(d.pw_mem);
	free(d.frame_mem);
	free(rt_text);
	return rc;
}
