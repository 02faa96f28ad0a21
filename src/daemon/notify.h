/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_NOTIFY_H
#define TTWS_DAEMON_NOTIFY_H

/*
 * ttwsd and its service manager (sd_notify(3), Type=notify units):
 *
 *   STATUS=    from before the RT thread starts ("starting: ..."), then
 *              one short human line made from the engine snapshot, sent
 *              only when it changes: "left locked, right connecting;
 *              ttws.sink idle", "...; PipeWire gone since 4 s,
 *              reconnecting", "...; waiting for PipeWire since 2 s"
 *              (not there yet at start).
 *   READY=1    once, when the main thread has seen the RT thread's first
 *              heartbeat: the configuration is loaded (before the engine
 *              exists), the RT thread runs its loop, and the links were
 *              started before that loop (engine_setup() arms their first
 *              connect attempt) — they are being set up.
 *   WATCHDOG=1 every quarter of $WATCHDOG_USEC, and only while healthy:
 *              the RT heartbeat advanced since the previous ping, and,
 *              with source = pipewire, PipeWire has not been gone for
 *              more than NOTIFY_SINK_GRACE_NS. A stalled RT loop (or a
 *              PipeWire that never comes back) gets the service
 *              restarted (WatchdogSec=, Restart=on-failure).
 *
 * Main thread only. The decisions are pure functions of what the caller
 * passes (a snapshot, the time), so they are unit-tested without a
 * service manager: messages go through a send callback.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/conf.h"
#include "core/macro.h"

struct engine_snapshot;

/*
 * How long PipeWire may stay gone (source = pipewire) before the watchdog
 * is no longer fed: long enough for a restart of the daemon and its
 * session manager and for ttws.sink's back-off (at most 5 s between
 * attempts) to find it; short enough that a service left without its
 * audio source is restarted, which also reconnects from scratch.
 */
#define NOTIFY_SINK_GRACE_NS (30 * NSEC_PER_SEC)

/* Longest STATUS= text (bytes, with the NUL). */
#define NOTIFY_STATUS_MAX 160u

/* What the status line and the watchdog look at; pointers not owned. */
struct notify_view {
	const struct engine_snapshot *snap;
	const struct conf *conf;
	bool pipewire;              /* source = pipewire: the sink counts */
	bool sink_registered;       /* the node exists in PipeWire */
	bool sink_streaming;        /* a client plays into it */
	uint64_t sink_gone_since_ns; /* CLOCK_MONOTONIC; 0: not gone */
	bool sink_waiting;          /* gone since the start: PipeWire was
				     * never there (pw_sink_stats
				     * started_gone, no registration) */
};

/* Sends one notification ("READY=1\nSTATUS=..."). Returns what
 * sd_notify() does (> 0 sent, 0 no service manager, -errno). */
typedef int (*notify_send_fn)(const char *msg, void *user_data);

struct notify {
	notify_send_fn send;
	void *send_data;
	uint64_t watchdog_ns;    /* ping interval basis; 0: no watchdog */
	bool ready;              /* READY=1 sent */
	uint64_t ping_heartbeat; /* the heartbeat at the last ping */
	uint64_t last_ping_ns;   /* 0: none yet */
	uint64_t pings;          /* WATCHDOG=1 sent */
	uint64_t withheld;       /* pings due but not sent: unhealthy */
	uint64_t last_withheld_ns;
	char status[NOTIFY_STATUS_MAX]; /* the last STATUS= sent */
};

/*
 * Start: watchdog_ns from sd_watchdog_enabled() (0 when off), send NULL
 * for sd_notify() itself.
 */
void notify_init(struct notify *n, uint64_t watchdog_ns, notify_send_fn send,
		 void *send_data);

/* Before the RT thread runs: STATUS=starting: what (e.g. "configuration
 * loaded, starting the RT thread"). */
void notify_starting(struct notify *n, const char *what);

/*
 * Every main-loop tick (now_ns CLOCK_MONOTONIC): READY=1 with the first
 * STATUS= from the snapshot once the RT heartbeat is >= 1, STATUS= when
 * the text changed, WATCHDOG=1 when due and notify_healthy().
 */
void notify_tick(struct notify *n, const struct notify_view *v,
		 uint64_t now_ns);

/* On the way out: STOPPING=1 and STATUS=stopping. */
void notify_stopping(struct notify *n);

/*
 * Whether a ping may go now: the heartbeat moved since the last ping and
 * the sink (with source = pipewire) is not gone for longer than
 * NOTIFY_SINK_GRACE_NS. Pure.
 */
bool notify_healthy(const struct notify *n, const struct notify_view *v,
		    uint64_t now_ns);

/*
 * The status line into buf (size bytes, NUL-terminated, cut if need be):
 * each configured ear's state ("locked", "syncing", "connecting", ...),
 * then the audio source. Pure.
 */
void notify_status_text(const struct notify_view *v, uint64_t now_ns,
			char *buf, size_t size);

#endif
