/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_CONTROL_H
#define TTWS_DAEMON_CONTROL_H

/*
 * The control API (sd-bus): object /org/ttws/Daemon (org.ttws.Daemon1)
 * and /org/ttws/Daemon/ear/{left,right} (org.ttws.Ear1), served on a
 * private peer-to-peer socket ([control] socket, many clients at once)
 * and, when one is reachable, as org.ttws.Daemon1 on the system bus.
 * Reading is open to whoever reaches it; Set, Reload, ResetStats and
 * Capture* need uid 0 or group ttws (peer credentials). Everything runs
 * on the main thread's sd-event loop and reads the RT thread only
 * through engine snapshots; changes go through daemon/reconf. The API is
 * documented in ttwsd(8), "CONTROL API".
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct engine;
struct reconf;
struct control;

/* What the API needs of the daemon; every function on the main thread. */
struct control_host {
	struct engine *engine;
	struct reconf *reconf;
	uint64_t start_ns; /* CLOCK_MONOTONIC when ttwsd started */
	void *data;
	/* GetStats: one JSON object as malloc'd text (*ret owned by the
	 * caller). 0 or -errno. */
	int (*stats_json)(void *data, char **ret);
	/* GetMetrics: the OpenMetrics exposition, malloc'd. 0 / -errno. */
	int (*metrics_text)(void *data, char **ret);
	/* btsnoop capture of the hci-uart traffic: 0, -ENOTSUP (no hci-uart
	 * dongle), -EALREADY / -ENOENT (running / not running), -errno. */
	int (*capture_start)(void *data, const char *path);
	int (*capture_stop)(void *data);
};

/* Socket file mode when [control] socket_mode is not set. */
#define CONTROL_SOCKET_MODE 0660
#define CONTROL_MAX_CLIENTS 256

/*
 * Listen on socket_path (mode, group ttws when that group exists; the
 * directory is created 0755 if missing) and try the system bus. host is
 * copied. Returns 0, or a negative errno of the private socket (the
 * system bus is optional: its absence is logged, not an error), or
 * -ENOMEM from any part of it, the system bus included.
 */
int control_new(sd_event *ev, const struct control_host *host,
		const char *socket_path, int socket_mode,
		struct control **ret);

/* Close every connection and remove the socket file. Returns NULL. */
struct control *control_free(struct control *c);

/*
 * Main thread, every few ms to 50 ms: emit PropertiesChanged for what
 * changed since the last call, answer ResetStats callers whose reset the
 * RT thread has carried out, and free closed connections.
 */
void control_tick(struct control *c, uint64_t now_ns);

/* Whether a caller waits for something control_tick() completes. */
bool control_busy(const struct control *c);

/* Connected clients on the private socket. */
unsigned control_n_clients(const struct control *c);

#endif
