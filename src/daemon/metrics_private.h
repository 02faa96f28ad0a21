/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_METRICS_PRIVATE_H
#define TTWS_DAEMON_METRICS_PRIVATE_H

/*
 * Shared by the two parts of the exposition, metrics.c (entry points,
 * daemon-wide and PipeWire families, histograms) and metrics_ear.c (per
 * ear and per dongle families). Not for other modules.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/metrics.h"
#include "daemon/omtext.h"

/* Exposition time is in seconds (metrics.h). */
static inline double metrics_ns_to_s(int64_t ns)
{
	return (double)ns / 1e9;
}

/* A uint64_t counter at offset off in a stats struct. */
struct metrics_field {
	struct omtext_family fam;
	size_t off;
};

#define METRICS_FIELD(type, field, name, unit, help)                           \
	{                                                                      \
		{name, OMTEXT_COUNTER, unit, help}, offsetof(type, field)      \
	}

/* Write the n counters of t, read from the struct at base, each with the
 * nl labels l (NULL when 0). */
void metrics_fields(struct omtext *w, const struct metrics_field *t, size_t n,
		    const void *base, const struct omtext_label *l, size_t nl);

/* One pair as the exposition sees it. */
struct metrics_pair {
	unsigned index;
	const char *name; /* its pair="NAME" label; NULL: none (old form) */
	const struct engine_ear *ear;	   /* [CONF_N_EARS] */
	const struct stream_stats *stream; /* its frames and delay */
	const struct pw_sink_stats *pw;	   /* its sink, or NULL */
	/* profile = asha: its aids and slots (no ear families then), or
	 * NULL. */
	const struct ashapair_stats *asha;
};

/* The pairs of in, in order, into ret; how many (1..CONF_MAX_PAIRS). */
unsigned metrics_pairs(const struct metrics_input *in,
		       struct metrics_pair ret[CONF_MAX_PAIRS]);

/* The labels of ear e of p (pair="NAME" when named, ear="EAR") into l
 * (room for 2); how many. */
size_t metrics_ear_labels(const struct metrics_pair *p, unsigned e,
			  struct omtext_label *l);

/* Whether ear e of pair p is configured (transport not none): only those
 * have series. */
bool metrics_ear_on(const struct metrics_input *in,
		    const struct metrics_pair *p, unsigned e);

/* The per-ear families: states, counters, decode errors, gauges. */
void metrics_ears(struct omtext *w, const struct metrics_input *in);

/* The ASHA pairs' families (metrics_asha.c): slots, drops, send skew,
 * latency; per aid its state, Start answers and SDUs. */
void metrics_asha(struct omtext *w, const struct metrics_input *in);

/* The per-dongle families: open, counters, UART line errors. */
void metrics_dongles(struct omtext *w, const struct metrics_input *in);

#endif
