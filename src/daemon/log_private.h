/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_LOG_PRIVATE_H
#define TTWS_DAEMON_LOG_PRIVATE_H

/*
 * Shared by log.c (the public entry points, the RT ring and its drain,
 * levels, the rate limit) and log_journal.c (the event and field tables,
 * a record's "NAME=value" fields, the sinks). Not for other modules: they
 * see daemon/log.h only.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/log.h"

/* A main-thread record's text at most, bytes with the NUL; longer is cut. */
#define LOG_MAIN_LINE_MAX 1024

/* A record on its way to the sink (main thread). */
struct log_entry {
	int level;
	enum log_event ev;    /* TTWS_EVENT */
	enum log_event id_ev; /* MESSAGE_ID: ev, or LOG_EV_LOG_SUPPRESSED */
	int ear;
	const char *pair;     /* TTWS_PAIR, or NULL */
	const struct log_kv *kv;
	unsigned n_kv;
	bool rt;
	uint64_t rt_mono_ns, rt_real_ns; /* when rt */
	const char *text;
};

/* Whether the default sink is journald (else stderr): set by log_init()
 * from log_stderr_is_journal(), read by log_journal.c on the main thread. */
extern bool log_to_journal;

/* Bounds counters (log_get_bounds()): relaxed atomics, any thread adds.
 * log_cut: texts and journal fields cut; log_sink_errors: records the
 * default sink failed to write (log_journal.c). */
extern _Atomic uint64_t log_cut;
extern _Atomic uint64_t log_sink_errors;

/* Whether $JOURNAL_STREAM names our stderr (log_journal.c). */
bool log_stderr_is_journal(void);

/* "left"/"right" for an enum conf_ear, NULL for anything else (log.c). */
const char *log_ear_name(int ear);

/* Main thread: e as fields, to the sink log_set_sink() chose, or the
 * default (log_journal.c). No level or rate-limit check here. */
void log_send(const struct log_entry *e);

#endif
