/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_DAEMON_H
#define TTWS_DAEMON_DAEMON_H

#include <stdint.h>

struct daemon_opts {
	const char *config;     /* path of ttwsd.conf */
	const char *frame_log;  /* CSV of frames sent, or NULL */
	const char *stats_file; /* JSON status written at exit, or NULL */
	const char *btsnoop;    /* capture of hci-uart traffic, or NULL */
	uint64_t duration_ns;   /* run this long then exit; 0 = until signal */
};

/*
 * The daemon's main thread: load the configuration, start the RT engine,
 * then run sd-event (signals, sd_notify and watchdog, draining the RT
 * thread's log and frame log) until SIGTERM/SIGINT or the duration ends.
 * Returns the process exit code.
 */
int daemon_run(const struct daemon_opts *o);

#endif
