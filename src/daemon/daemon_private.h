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
	/* hci-uart: the RT thread's H4 trace, a file only while capturing. */
	struct spsc capture_ring;
	uint8_t *capture_mem;
	FILE *capture_file;
	struct notify notify;    /* READY=1, STATUS=, WATCHDOG=1 */
	uint64_t next_textfile_ns;
	int textfile_err;        /* the last error, logged once */
	/* source = pipewire: the node and the ring it fills. */
	struct pw_sink *sink;
	struct spsc pw_ring;
	uint8_t *pw_mem;
	uint64_t pw_latency_ns; /* last published */
	uint64_t pw_disconnects; /* losses of PipeWire logged */
	uint64_t pw_reconnects;  /* returns logged */
	uint64_t pw_gone_at_ns;  /* the last loss, CLOCK_MONOTONIC */
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
/* After engine_stop(): the sink goes (NULL is fine). */
void daemon_pw_free(struct daemon *d);

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
