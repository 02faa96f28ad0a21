/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_STATUS_H
#define TTWS_DAEMON_STATUS_H

#include <stdio.h>

#include "daemon/engine.h"

struct pw_sink_stats;

/*
 * Write a snapshot as one JSON object and a newline; pw (may be NULL:
 * source = tone) adds ttws.sink's counters under "pipewire". 0 or -errno.
 */
int status_write_json(FILE *f, const struct engine_snapshot *s,
		      const struct conf *c, const char *backend_note,
		      const struct pw_sink_stats *pw);

/* One human line per ear, for the log. */
void status_log_summary(const struct engine_snapshot *s,
			const struct conf *c);

#endif
