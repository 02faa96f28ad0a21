/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_LOG_H
#define TTWS_DAEMON_LOG_H

/*
 * Logging. The main thread writes to journald (when stderr is connected to
 * it, $JOURNAL_STREAM) or to stderr. The RT thread never does: log_rt()
 * formats into a stack buffer and pushes the record into a wait-free ring
 * (core/spsc) that the main thread drains with log_drain(); a full ring
 * drops the record and counts it.
 */

#include <stdarg.h>
#include <stdint.h>
#include <syslog.h>

/* Set up the ring and pick the sink. Before any thread starts. 0/-errno. */
int log_init(void);

/* Lowest priority printed (LOG_DEBUG .. LOG_ERR); default LOG_INFO. */
void log_set_max_level(int level);

/* Main thread (or before the RT thread exists). */
void log_main(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The RT thread only: never blocks, never allocates. */
void log_rt(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Main thread: emit what the RT thread queued. Returns records emitted. */
unsigned log_drain(void);

/* Records the RT thread dropped because the ring was full. */
uint64_t log_dropped(void);

#define log_error(...) log_main(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_main(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_main(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_main(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_main(LOG_DEBUG, __VA_ARGS__)

#endif
