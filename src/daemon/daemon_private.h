/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_DAEMON_PRIVATE_H
#define TTWS_DAEMON_DAEMON_PRIVATE_H

/*
 * The main thread's state, shared by daemon.c (set-up, signals, the
 * periodic timer), daemon_report.c (status JSON, metrics, the stats and
 * metrics files) and daemon_capture.c (frame log and btsnoop capture).
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "core/conf.h"
#include "core/spsc.h"
#include "daemon/daemon.h"
#include "daemon/notify.h"

struct engine;
struct reconf;
struct control;
struct pw_sink;

/* source = pipewire: one pair's node and the ring it fills. */
struct daemon_sink {
	struct pw_sink *sink;
	struct spsc ring;
	uint8_t *mem;
	char node[CONF_PAIR_NAME_MAX + 16]; /* ttws.sink[.NAME] */
	uint64_t latency_ns;     /* last published */
	uint64_t disconnects;    /* losses of PipeWire logged */
	uint64_t reconnects;     /* returns logged */
	uint64_t gone_at_ns;     /* the last loss, CLOCK_MONOTONIC */
};

struct daemon {
	const struct daemon_opts *o;
	struct conf conf; /* as loaded at start: what the engine was built on */
	struct engine *engine;
	struct reconf *reconf;   /* the running configuration */
	struct control *control; /* NULL when its socket could not be made */
	sd_event *event;
	uint64_t start_ns;
	struct spsc frame_ring;
	uint8_t *frame_mem;
	FILE *frame_file;
	/* With several pairs, pair i's frames also go to FRAME_LOG.NAME. */
	FILE *pair_frame_file[CONF_MAX_PAIRS];
	/* hci-uart: the RT thread's H4 trace, a file only while capturing. */
	struct spsc capture_ring;
	uint8_t *capture_mem;
	FILE *capture_file;
	struct notify notify;    /* READY=1, STATUS=, WATCHDOG=1 */
	uint64_t next_textfile_ns;
	int textfile_err;        /* the last error, logged once */
	/* source = pipewire: a node per pair, in the engine's pair order;
	 * sink (the first pair's) stays for the status and metrics. */
	unsigned n_sinks;
	struct daemon_sink sinks[CONF_MAX_PAIRS];
	struct pw_sink *sink;
};

/* daemon_report.c */

/* GetStats: the status JSON as malloc'd text. 0 / -errno. */
int daemon_stats_json(void *data, char **ret);
/* GetMetrics: the OpenMetrics exposition as malloc'd text. 0 / -errno. */
int daemon_metrics_text(void *data, char **ret);
/* [metrics] textfile, every interval_s. */
void daemon_metrics_textfile(struct daemon *d, uint64_t now_ns);
/* --stats-file at exit, and the summary in the log. 0 / -errno. */
int daemon_write_stats(struct daemon *d);

/* daemon_pw.c: source = pipewire (stubs without PipeWire). */

/* ttws.sink for the engine, before engine_start(); logs why not. 0 or
 * -errno (-ENOTSUP: built without PipeWire). */
int daemon_start_pipewire(struct daemon *d);
/* Every main-loop tick: the latency param, and PipeWire's going and
 * coming back logged. No-op without a sink. */
void daemon_pw_tick(struct daemon *d, uint64_t now_ns);
/* The sink's part of the service manager's view. */
void daemon_pw_view(struct daemon *d, struct notify_view *v);
/* After engine_stop(): the sinks go (none is fine), and their rings. */
void daemon_pw_free(struct daemon *d);
/* The PipeWire node of the pair named pair: ttws.sink for "default",
 * else ttws.sink.NAME. */
void daemon_sink_node_name(const char *pair, char *buf, size_t size);
/* Pair i's sink stats into ret: true, or false without that sink. */
struct pw_sink_stats;
bool daemon_pw_pair_stats(struct daemon *d, unsigned i,
			  struct pw_sink_stats *ret);

/* daemon_capture.c */

/* Rings for the frame log and the capture, before the engine. 0/-errno. */
int daemon_capture_setup(struct daemon *d);
void daemon_capture_teardown(struct daemon *d);
/* Move what the RT thread queued into the files. Main thread. */
void daemon_drain_frames(struct daemon *d);
void daemon_drain_capture(struct daemon *d);
/* CaptureStart / CaptureStop (control_host). */
int daemon_capture_start(void *data, const char *path);
int daemon_capture_stop(void *data);

#endif
