/* SPDX-License-Identifier: MIT */
/*
 * The service manager's side of ttwsd: READY=1, STATUS= and WATCHDOG=1
 * (notify.h says when each goes).
 */
#include "daemon/notify.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "daemon/engine.h"
#include "daemon/link.h"

static int notify_sd(const char *msg, void *user_data)
{
	return sd_notify(0, msg);
}

void notify_init(struct notify *n, uint64_t watchdog_ns, notify_send_fn send,
		 void *send_data)
{
	memset(n, 0, sizeof(*n));
	n->watchdog_ns = watchdog_ns;
	n->send = send ? send : notify_sd;
	n->send_data = send_data;
}

static void notify_send(struct notify *n, const char *msg)
{
	n->send(msg, n->send_data);
}

void notify_starting(struct notify *n, const char *what)
{
	char msg[NOTIFY_STATUS_MAX + 16];

	snprintf(n->status, sizeof(n->status), "starting: %s", what);
	snprintf(msg, sizeof(msg), "STATUS=%s", n->status);
	notify_send(n, msg);
}

void notify_stopping(struct notify *n)
{
	snprintf(n->status, sizeof(n->status), "stopping");
	notify_send(n, "STOPPING=1\nSTATUS=stopping");
}

/* An ear's link state for people: "locked" is what ttwsctl calls a link
 * whose servo is locked and which streams. */
static const char *notify_ear_word(enum link_state st)
{
	switch (st) {
	case LINK_ST_IDLE:
		return "disconnected";
	case LINK_ST_CONNECTING:
		return "connecting";
	case LINK_ST_HELLO:
		return "handshaking";
	case LINK_ST_SYNCING:
		return "syncing";
	case LINK_ST_STREAMING:
		return "locked";
	}
	return "?";
}

void notify_status_text(const struct notify_view *v, uint64_t now_ns,
			char *buf, size_t size)
{
	size_t len = 0;
	unsigned e, n = 0;
	int k;

	if (!size) {
		return;
	}
	buf[0] = '\0';
	/* snprintf never writes past size; len only grows while it fits. */
#define NOTIFY_ADD(...)                                                        \
	do {                                                                   \
		k = snprintf(buf + len, size - len, __VA_ARGS__);              \
		if (k > 0) {                                                   \
			len = len + (size_t)k < size ? len + (size_t)k :       \
						       size - 1;               \
		}                                                              \
	} while (0)
	for (e = 0; e < CONF_N_EARS; e++) {
		if (conf_pair_link(v->conf, 0, e)->transport == CONF_TRANSPORT_NONE) {
			continue;
		}
		NOTIFY_ADD("%s%s %s", n++ ? ", " : "", conf_ear_name(e),
			   notify_ear_word(v->snap->ear[e].link.state));
	}
	if (!v->pipewire) {
		NOTIFY_ADD("; test tone");
	} else if (v->sink_gone_since_ns) {
		uint64_t gone = now_ns > v->sink_gone_since_ns ?
					now_ns - v->sink_gone_since_ns :
					0;

		if (v->sink_waiting) {
			NOTIFY_ADD("; waiting for PipeWire since %" PRIu64
				   " s",
				   gone / NSEC_PER_SEC);
		} else {
			NOTIFY_ADD("; PipeWire gone since %" PRIu64
				   " s, reconnecting",
				   gone / NSEC_PER_SEC);
		}
	} else if (!v->sink_registered) {
		NOTIFY_ADD("; ttws.sink registering");
	} else {
		NOTIFY_ADD("; ttws.sink %s",
			   v->sink_streaming ? "streaming" : "idle");
	}
#undef NOTIFY_ADD
}

bool notify_healthy(const struct notify *n, const struct notify_view *v,
		    uint64_t now_ns)
{
	/* The RT loop advanced since the last ping (the stats timer counts
	 * the heartbeat every 100 ms, engine.c). */
	if (v->snap->heartbeat == n->ping_heartbeat) {
		return false;
	}
	if (v->pipewire && v->sink_gone_since_ns &&
	    now_ns > v->sink_gone_since_ns &&
	    now_ns - v->sink_gone_since_ns > NOTIFY_SINK_GRACE_NS) {
		return false;
	}
	return true;
}

static void notify_watchdog(struct notify *n, const struct notify_view *v,
			    uint64_t now_ns)
{
	/* A quarter of the timeout, as before: a late tick or two of the
	 * main loop still leaves a ping inside it. */
	uint64_t every_ns = n->watchdog_ns / 4;

	if (!n->watchdog_ns ||
	    (n->last_ping_ns && now_ns - n->last_ping_ns < every_ns)) {
		return;
	}
	if (!notify_healthy(n, v, now_ns)) {
		/* Counted once per ping interval, not per tick. */
		if (now_ns - n->last_withheld_ns >= every_ns) {
			n->withheld++;
			n->last_withheld_ns = now_ns;
		}
		return;
	}
	notify_send(n, "WATCHDOG=1");
	n->ping_heartbeat = v->snap->heartbeat;
	n->last_ping_ns = now_ns;
	n->pings++;
}

void notify_tick(struct notify *n, const struct notify_view *v,
		 uint64_t now_ns)
{
	char text[NOTIFY_STATUS_MAX], msg[NOTIFY_STATUS_MAX + 32];

	if (!n->ready && v->snap->heartbeat == 0) {
		return; /* the RT thread has not run its loop yet */
	}
	notify_status_text(v, now_ns, text, sizeof(text));
	if (!n->ready) {
		n->ready = true;
		snprintf(n->status, sizeof(n->status), "%s", text);
		snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", text);
		notify_send(n, msg);
	} else if (strcmp(text, n->status) != 0) {
		snprintf(n->status, sizeof(n->status), "%s", text);
		snprintf(msg, sizeof(msg), "STATUS=%s", text);
		notify_send(n, msg);
	}
	notify_watchdog(n, v, now_ns);
}
