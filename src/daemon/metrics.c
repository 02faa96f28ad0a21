/* SPDX-License-Identifier: MIT */
#include "daemon/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "core/macro.h"
#include "core/servo.h"
#include "daemon/metrics_private.h"
#include "daemon/omtext.h"
#include "os/loop.h"
#include "pw/sink.h"

/*
 * The families, in the order written: global (the delay and stream ones
 * per pair), PipeWire (per pair), per ear (ear="left"/"right"), per
 * hci-uart dongle (path="/dev/tty..."), then the histograms. With
 * [pair.NAME] sections every per-pair and per-ear series also has
 * pair="NAME". Names are a stable interface (dashboards, alerts):
 * rename only with a note in ttwsd(8). Here: the entry points, the
 * daemon-wide and PipeWire families and the histograms; the per-ear and
 * per-dongle families are in metrics_ear.c.
 */

void metrics_fields(struct omtext *w, const struct metrics_field *t, size_t n,
		    const void *base, const struct omtext_label *l, size_t nl)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t v;

		memcpy(&v, (const char *)base + t[i].off, sizeof(v));
		omtext_u64(w, &t[i].fam, l, nl, v);
	}
}

#define L(field, name, help)                                                   \
	METRICS_FIELD(struct loop_counters, field, name, "", help)
static const struct metrics_field metrics_loop[] = {
    L(wakeups, "ttws_loop_wakeups", "RT loop returns from its wait"),
    L(timers_expired, "ttws_loop_timers_expired", "Timer wheel callbacks run"),
    L(rx, "ttws_loop_rx", "Datagrams or stream chunks received"),
    L(rx_errors, "ttws_loop_rx_errors", "Receive errors"),
    L(rx_nobufs, "ttws_loop_rx_no_buffers",
      "io_uring receive buffer ring ran empty"),
    L(cq_overflow, "ttws_loop_cq_overflows",
      "io_uring completions lost to a full completion queue"),
    L(tx, "ttws_loop_tx", "Datagrams sent"),
    L(tx_errors, "ttws_loop_tx_errors", "Sends that failed"),
    L(tx_no_slot, "ttws_loop_tx_no_slot",
      "Sends refused for want of a slot or buffer space"),
};
#undef L

#define S(field, name, help)                                                   \
	METRICS_FIELD(struct stream_stats, field, name, "", help)
static const struct metrics_field metrics_stream[] = {
    S(ticks, "ttws_stream_frames", "Audio frames cut by the frame clock"),
    S(late_ticks, "ttws_stream_late_ticks",
      "Frame clock ticks that ran after the next deadline"),
    S(encode_errors, "ttws_stream_encode_errors", "Codec encode errors"),
};
/* source = pipewire: the RT thread's side of the ring. */
static const struct metrics_field metrics_pw_stream[] = {
    S(pw_quanta, "ttws_pipewire_ring_records",
      "Quantum records taken from the PipeWire ring"),
    S(pw_bad_records, "ttws_pipewire_ring_bad_records",
      "Malformed ring records skipped"),
    S(pw_underruns, "ttws_pipewire_ring_underruns",
      "Cycles whose quantum was not in the ring by the next trigger"),
    S(pw_discont, "ttws_pipewire_discont_frames",
      "Frames after a jump in graph position"),
    S(pw_no_clock, "ttws_pipewire_no_clock_frames",
      "Frames without graph timing"),
    S(pw_triggers, "ttws_pipewire_triggers",
      "Graph cycles started by the frame clock"),
    S(pw_idle_ticks, "ttws_pipewire_idle_ticks",
      "Frame clock ticks while ttws.sink did not drive its graph"),
};
#undef S

#define P(field, name, help)                                                   \
	METRICS_FIELD(struct pw_sink_stats, field, name, "", help)
static const struct metrics_field metrics_pw_sink[] = {
    P(process_calls, "ttws_pipewire_sink_process_calls",
      "ttws.sink process() calls"),
    P(quanta, "ttws_pipewire_sink_quanta", "Quanta written to the ring"),
    P(overruns, "ttws_pipewire_sink_overruns",
      "Quanta dropped because the ring was full"),
    P(underruns, "ttws_pipewire_sink_underruns",
      "process() calls without a buffer or with an empty one"),
    P(oversize, "ttws_pipewire_sink_oversize",
      "Quanta above the maximum quantum, dropped"),
    P(late_cycles, "ttws_pipewire_sink_late_cycles",
      "Cycles that waited for the previous one to finish"),
    P(dropped, "ttws_pipewire_sink_dropped_triggers", "Triggers never run"),
    P(stuck, "ttws_pipewire_sink_stuck_restarts",
      "Restarts after triggers waited for a cycle that did not finish"),
    P(trigger_errors, "ttws_pipewire_sink_trigger_errors",
      "pw_stream_trigger_process() failures"),
    /* PipeWire gone and back (src/pw/sink_reconnect.c); a start without
     * it is neither. */
    P(disconnects, "ttws_pipewire_sink_disconnects",
      "Times PipeWire went away while ttws.sink was connected"),
    P(reconnects, "ttws_pipewire_sink_reconnects",
      "Times ttws.sink was registered again after PipeWire went away"),
};
#undef P

static void metrics_global(struct omtext *w, const struct metrics_input *in)
{
	static const struct omtext_family up = {"ttws_up", OMTEXT_GAUGE, "",
						"1: ttwsd is running"};
	static const struct omtext_family build = {
	    "ttws_build", OMTEXT_INFO, "",
	    "Version, event loop backend, audio source and codec"};
	static const struct omtext_family estimator = {
	    "ttws_servo_estimator", OMTEXT_STATESET, "",
	    "Clock servo estimator in use"};
	static const struct omtext_family gauges[] = {
	    {"ttws_uptime_seconds", OMTEXT_GAUGE, "seconds",
	     "Time since ttwsd started"},
	    {"ttws_presentation_delay_seconds", OMTEXT_GAUGE, "seconds",
	     "Applied presentation delay"},
	    {"ttws_presentation_delay_target_seconds", OMTEXT_GAUGE, "seconds",
	     "Presentation delay the controller aims for"},
	    {"ttws_audio_latency_seconds", OMTEXT_GAUGE, "seconds",
	     "Graph instant to earbud output: the delay plus the codec's"},
	};
	const struct engine_snapshot *s = in->snap;
	const struct conf *c = in->conf;
	const struct omtext_label info[] = {
	    {"version", TTWS_VERSION},
	    {"backend", loop_backend_name(s->backend)},
	    {"source", conf_source_name(c->stream.source)},
	    {"codec", conf_codec_name(c->stream.codec)},
	};
	struct metrics_pair pairs[CONF_MAX_PAIRS];
	unsigned p, np = metrics_pairs(in, pairs);
	const char *kinds[8];
	size_t n = 0, cur = SIZE_MAX, i;

	omtext_u64(w, &up, NULL, 0, 1);
	omtext_u64(w, &build, info, ARRAY_SIZE(info), 1);
	while (n < ARRAY_SIZE(kinds) && servo_kind_name((enum servo_kind)n)) {
		kinds[n] = servo_kind_name((enum servo_kind)n);
		if (!strcmp(kinds[n], c->servo.estimator)) {
			cur = n;
		}
		n++;
	}
	/* An enum as a stateset must have exactly one state true. */
	if (cur != SIZE_MAX) {
		omtext_stateset(w, &estimator, NULL, 0, kinds, n, cur);
	}
	omtext_f64(w, &gauges[0], NULL, 0, metrics_ns_to_s((int64_t)in->uptime_ns));
	/* Each pair has its own delay and frame clock. */
	for (i = 1; i < ARRAY_SIZE(gauges); i++) {
		for (p = 0; p < np; p++) {
			const struct stream_stats *st = pairs[p].stream;
			const uint64_t v = i == 1   ? st->delay_ns :
					   i == 2   ? st->delay_target_ns :
						      st->latency_ns;
			struct omtext_label l = {"pair", pairs[p].name};

			omtext_f64(w, &gauges[i], &l, l.value ? 1 : 0,
				   metrics_ns_to_s((int64_t)v));
		}
	}
	for (i = 0; i < ARRAY_SIZE(metrics_stream); i++) {
		for (p = 0; p < np; p++) {
			struct omtext_label l = {"pair", pairs[p].name};

			metrics_fields(w, &metrics_stream[i], 1,
				       pairs[p].stream, &l, l.value ? 1 : 0);
		}
	}
	metrics_fields(w, metrics_loop, ARRAY_SIZE(metrics_loop), &s->loop,
		       NULL, 0);
}

static void metrics_pipewire(struct omtext *w, const struct metrics_input *in)
{
	static const struct omtext_family level = {
	    "ttws_pipewire_ring_level_bytes", OMTEXT_GAUGE, "bytes",
	    "Ring level at the last pull"};
	static const struct omtext_family rate = {
	    "ttws_pipewire_rate_ratio", OMTEXT_GAUGE, "ratio",
	    "Rate given to the graph, d ear / d host"};
	static const struct omtext_family driving = {
	    "ttws_pipewire_driving", OMTEXT_GAUGE, "",
	    "1: the last tick started a graph cycle"};
	static const struct omtext_family streaming = {
	    "ttws_pipewire_sink_streaming", OMTEXT_GAUGE, "",
	    "1: the ttws.sink stream is streaming"};
	static const struct omtext_family registered = {
	    "ttws_pipewire_sink_registered", OMTEXT_GAUGE, "",
	    "1: the ttws.sink node exists in PipeWire (0: PipeWire is gone or "
	    "not there yet)"};
	struct metrics_pair pairs[CONF_MAX_PAIRS];
	struct omtext_label l[CONF_MAX_PAIRS];
	unsigned p, np;
	size_t i;

	if (in->conf->stream.source != CONF_SOURCE_PIPEWIRE) {
		return;
	}
	np = metrics_pairs(in, pairs);
	for (p = 0; p < np; p++) {
		l[p] = (struct omtext_label){"pair", pairs[p].name};
	}
/* Pair p's label list: none in the old form. */
#define PL(p) &l[p], (l[p].value ? 1 : 0)
	for (i = 0; i < ARRAY_SIZE(metrics_pw_stream); i++) {
		for (p = 0; p < np; p++) {
			metrics_fields(w, &metrics_pw_stream[i], 1,
				       pairs[p].stream, PL(p));
		}
	}
	for (p = 0; p < np; p++) {
		omtext_f64(w, &level, PL(p), (double)pairs[p].stream->ring_bytes);
	}
	for (p = 0; p < np; p++) {
		omtext_f64(w, &rate, PL(p), pairs[p].stream->rate_diff);
	}
	for (p = 0; p < np; p++) {
		omtext_u64(w, &driving, PL(p), pairs[p].stream->driving);
	}
	for (i = 0; i < ARRAY_SIZE(metrics_pw_sink); i++) {
		for (p = 0; p < np; p++) {
			if (pairs[p].pw) {
				metrics_fields(w, &metrics_pw_sink[i], 1,
					       pairs[p].pw, PL(p));
			}
		}
	}
	for (p = 0; p < np; p++) {
		if (pairs[p].pw) {
			omtext_u64(w, &streaming, PL(p), pairs[p].pw->streaming);
		}
	}
	for (p = 0; p < np; p++) {
		if (pairs[p].pw) {
			omtext_u64(w, &registered, PL(p),
				   pairs[p].pw->registered);
		}
	}
#undef PL
}

#define H(name, help)                                                          \
	{                                                                      \
		name, OMTEXT_HISTOGRAM, "seconds", help                        \
	}
enum { MH_RESIDUAL, MH_DELIVERY, MH_RX, MH_TX, MH_N };
static const struct omtext_family metrics_h_ear[MH_N] = {
    [MH_RESIDUAL] = H("ttws_servo_residual_seconds",
		      "Absolute servo residual of each timing sample"),
    [MH_DELIVERY] =
	H("ttws_link_delivery_seconds", "AUDIO sent to received by the earbud"),
    [MH_RX] =
	H("ttws_link_rx_latency_seconds",
	  "Received link packets by layer: transport (earbud departure to "
	  "arrival stamp), kernel (stamp to the loop), loop (to the "
	  "handler), handler (its run time)"),
    [MH_TX] =
	H("ttws_link_tx_latency_seconds",
	  "Sent frames by layer: submit (frame tick to send), kernel (send "
	  "to kernel TX stamp), done (send to controller completion)"),
};
static const struct omtext_family metrics_h_global[ENGINE_N_GLOBAL_HISTS] = {
    [ENGINE_GH_WAKEUP] = H("ttws_loop_wakeup_latency_seconds",
			   "Frame clock hard deadline to its tick handler"),
    [ENGINE_GH_HANDOFF] = H("ttws_pipewire_handoff_seconds",
			    "PipeWire process() to the frame's AUDIO sent"),
};
#undef H

_Static_assert(ENGINE_N_EAR_HISTS == 9 && ENGINE_N_GLOBAL_HISTS == 2,
	       "give the new engine histogram a family in metrics.c");
/* Per ear histogram id: its family in metrics_h_ear, and its layer. */
static const struct {
	unsigned fam;	   /* MH_* */
	const char *layer; /* NULL: the family has no layer label */
} metrics_ear_hists[ENGINE_N_EAR_HISTS] = {
    [ENGINE_EH_RESIDUAL] = {MH_RESIDUAL, NULL},
    [ENGINE_EH_DELIVERY] = {MH_DELIVERY, NULL},
    [ENGINE_EH_RX_TRANSPORT] = {MH_RX, "transport"},
    [ENGINE_EH_RX_KERNEL] = {MH_RX, "kernel"},
    [ENGINE_EH_RX_LOOP] = {MH_RX, "loop"},
    [ENGINE_EH_RX_HANDLER] = {MH_RX, "handler"},
    [ENGINE_EH_TX_SUBMIT] = {MH_TX, "submit"},
    [ENGINE_EH_TX_KERNEL] = {MH_TX, "kernel"},
    [ENGINE_EH_TX_DONE] = {MH_TX, "done"},
};

/* Ear histogram id of pair p's ear e: from hist_get into buf, else the
 * first pair's ear_hist; NULL when there is none. */
static const struct hist *metrics_ear_hist(const struct metrics_input *in,
					   unsigned p, unsigned e, unsigned id,
					   struct hist *buf)
{
	if (in->hist_get) {
		return buf && in->hist_get(in->hist_data, p, (enum conf_ear)e,
					   id, buf) == 0 ?
			       buf :
			       NULL;
	}
	return p == 0 ? in->ear_hist[e][id] : NULL;
}

static int metrics_hists(struct omtext *w, const struct metrics_input *in)
{
	struct metrics_pair pairs[CONF_MAX_PAIRS];
	struct omtext_label l[3];
	unsigned f, e, id, p, np = metrics_pairs(in, pairs);
	/* ~30 KiB: one, off the stack, reused for every histogram. */
	struct hist *buf = in->hist_get ? malloc(sizeof(*buf)) : NULL;
	size_t n;

	if (in->hist_get && !buf) {
		return -ENOMEM;
	}
	for (f = 0; f < ARRAY_SIZE(metrics_h_ear); f++) {
		for (p = 0; p < np; p++) {
			for (e = 0; e < CONF_N_EARS; e++) {
				n = metrics_ear_labels(&pairs[p], e, l);
				for (id = 0; id < ENGINE_N_EAR_HISTS; id++) {
					const struct hist *h;

					if (metrics_ear_hists[id].fam != f ||
					    !metrics_ear_on(in, &pairs[p], e)) {
						continue;
					}
					h = metrics_ear_hist(in, p, e, id, buf);
					if (!h) {
						continue;
					}
					l[n].name = "layer";
					l[n].value = metrics_ear_hists[id].layer;
					omtext_hist(w, &metrics_h_ear[f], l,
						    l[n].value ? n + 1 : n, h);
				}
			}
		}
	}
	free(buf);
	for (id = 0; id < ENGINE_N_GLOBAL_HISTS; id++) {
		/* The hand-over exists only with source = pipewire. */
		if (!in->global_hist[id] ||
		    (id == ENGINE_GH_HANDOFF &&
		     in->conf->stream.source != CONF_SOURCE_PIPEWIRE)) {
			continue;
		}
		omtext_hist(w, &metrics_h_global[id], NULL, 0,
			    in->global_hist[id]);
	}
	return 0;
}

/*
 * The bounds (daemon/bounds.h): how often each was hit, its size where
 * known and, for the rings, the most they held. Read from the table the
 * caller took; this file calls nothing of bounds.c, so that the tests
 * that compile the exposition alone need not link it.
 */
static void metrics_bounds(struct omtext *w, const struct bounds_table *t)
{
	static const struct omtext_family overflows = {
	    "ttws_queue_overflows", OMTEXT_COUNTER, "",
	    "Times a queue or buffer was full or a size bound was hit, since "
	    "ttwsd started (what then happens: GetStats bounds, ttwsd(8))"};
	static const struct omtext_family capacity = {
	    "ttws_queue_capacity", OMTEXT_GAUGE, "",
	    "Size of the bound, in the unit its label says"};
	static const struct omtext_family high = {
	    "ttws_queue_high_water", OMTEXT_GAUGE, "",
	    "The most a ring held at once, in the unit its label says"};
	struct omtext_label l[2] = {{"queue", NULL}, {"unit", NULL}};
	unsigned i;

	if (!t) {
		return;
	}
	for (i = 0; i < BOUNDS_N; i++) {
		l[0].value = t->row[i].name;
		omtext_u64(w, &overflows, l, 1, t->row[i].overflows);
	}
	for (i = 0; i < BOUNDS_N; i++) {
		if (t->row[i].bound) {
			l[0].value = t->row[i].name;
			l[1].value = t->row[i].unit;
			omtext_u64(w, &capacity, l, 2, t->row[i].bound);
		}
	}
	for (i = 0; i < BOUNDS_N; i++) {
		if (t->row[i].has_high_water) {
			l[0].value = t->row[i].name;
			l[1].value = t->row[i].unit;
			omtext_u64(w, &high, l, 2, t->row[i].high_water);
		}
	}
}

int metrics_write_as(FILE *f, const struct metrics_input *in,
		     enum metrics_format fmt)
{
	struct omtext w;
	int r;

	if (!f || !in || !in->snap || !in->conf ||
	    (fmt != METRICS_OPENMETRICS && fmt != METRICS_PROMETHEUS)) {
		return -EINVAL;
	}
	omtext_init(&w, f, fmt == METRICS_OPENMETRICS);
	metrics_global(&w, in);
	metrics_pipewire(&w, in);
	metrics_ears(&w, in);
	metrics_asha(&w, in);
	metrics_dongles(&w, in);
	metrics_bounds(&w, in->bounds);
	r = metrics_hists(&w, in);
	if (r < 0) {
		return r;
	}
	return omtext_finish(&w);
}

int metrics_write(FILE *f, const struct metrics_input *in)
{
	return metrics_write_as(f, in, METRICS_OPENMETRICS);
}

int metrics_write_textfile(const char *path, const struct metrics_input *in)
{
	char tmp[PATH_MAX];
	FILE *f;
	int fd, r;

	if (!path || !path[0]) {
		return -EINVAL;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		return -ENAMETOOLONG;
	}
	/* O_NOFOLLOW: a planted symlink must not redirect a root write. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0644);
	if (fd < 0) {
		return -errno;
	}
	/* node_exporter runs as another user: undo a strict umask. */
	f = fchmod(fd, 0644) < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
		goto fail;
	}
	r = metrics_write_as(f, in, METRICS_PROMETHEUS);
	if (r == 0 && fflush(f) != 0) {
		r = -errno;
	}
	/* The data on disk before the name points at it. */
	if (r == 0 && fsync(fileno(f)) < 0) {
		r = -errno;
	}
	if (fclose(f) != 0 && r == 0) {
		r = -errno;
	}
	if (r == 0 && rename(tmp, path) < 0) {
		r = -errno;
	}
	if (r == 0) {
		return 0;
	}
fail:
	unlink(tmp);
	return r;
}
