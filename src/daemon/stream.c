/* SPDX-License-Identifier: MIT */
#include "daemon/stream.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/framer.h"
#include "core/hist.h"
#include "core/macro.h"
#include "core/plan.h"
#include "core/ratediff.h"
#include "core/servo.h"
#include "core/spsc.h"
#include "core/wheel.h"
#include "daemon/codec.h"
#include "daemon/link.h"
#include "os/rt.h"

#if HAVE_PIPEWIRE
#include "pw/sink.h"
#endif

#define STREAM_RATE 48000
#define STREAM_MAX_SAMPLES 480 /* 10 ms at 48 kHz */
/* PCM: 2 octets per sample; LC3 frames are at most 400 octets. */
#define STREAM_MAX_OCTETS (2 * STREAM_MAX_SAMPLES)
/* PipeWire's largest quantum (default.clock.max-quantum). */
#define STREAM_MAX_QUANTUM 8192u
/* Frames sent per stream_pull(): a ring full of 8192-sample quanta is
 * drained over a few calls rather than in one long burst. */
#define STREAM_MAX_POPS 32u

struct stream {
	const struct conf *conf;
	struct wheel *wheel;
	struct plan *plan;
	struct link *links[CONF_N_EARS];
	struct spsc *frame_log;
	uint32_t pair_index;  /* in frame log records */
	struct wheel_timer tick;
	uint64_t t0_ns;
	uint64_t n;        /* next frame */
	uint64_t samples;  /* per frame */
	double phase_step[CONF_N_EARS]; /* radians per sample */
	int16_t pcm[CONF_N_EARS][STREAM_MAX_SAMPLES];
	uint8_t payload[STREAM_MAX_OCTETS];
	struct codec *codec[CONF_N_EARS];
	uint64_t codec_delay_ns; /* algorithmic, beyond the frame itself */
	struct stream_stats st;

	/* source = pipewire */
	struct pw_sink *sink;
	struct spsc *ring;
	struct framer *framer;
	uint8_t *scratch;
	size_t scratch_len;
	struct ratediff rd;
	uint64_t next_tick_ns;
	bool triggered;          /* the previous tick started a cycle */
	uint64_t quanta_at_trigger;
	uint64_t last_in_ns;     /* process() instant of the last record */
	/* Not owned, may be NULL (stream_set_hists()). */
	struct hist *handoff;
	struct hist *wakeup;
	/* Run before each frame is cut (stream_set_boundary_fn()). */
	void (*boundary_fn)(void *data, uint64_t now_ns);
	void *boundary_data;
	/* Run after a tick started a graph cycle (stream_set_trigger_fn()). */
	void (*trigger_fn)(void *data);
	void *trigger_data;
};

static void stream_tick(struct wheel_timer *t, uint64_t now_ns);

static int stream_codecs_new(struct stream *s, const struct conf *c)
{
	struct codec_config cc = {
		.kind = c->stream.codec == CONF_CODEC_LC3 ? CODEC_LC3 :
							    CODEC_PCM,
		.rate_hz = STREAM_RATE,
		.frame_us = (uint32_t)(c->stream.frame_ns / NSEC_PER_USEC),
	};
	unsigned e;
	int r;

	for (e = 0; e < CONF_N_EARS; e++) {
		if (!s->links[e]) {
			continue;
		}
		cc.bitrate_bps = c->link[e].bitrate;
		r = codec_new(&cc, &s->codec[e]);
		if (r < 0) {
			return r;
		}
		if (codec_frame_octets(s->codec[e]) > STREAM_MAX_OCTETS ||
		    codec_frame_samples(s->codec[e]) != s->samples) {
			return -EINVAL;
		}
		s->st.octets[e] = codec_frame_octets(s->codec[e]);
		/* codec_delay_ns() counts one frame of buffering; T_n is
		 * anchored at the frame's first sample, so that frame is
		 * already inside the presentation delay. */
		s->codec_delay_ns = codec_delay_ns(s->codec[e]) -
				    c->stream.frame_ns;
	}
	return 0;
}

#if HAVE_PIPEWIRE
static int stream_pw_new(struct stream *s, const struct conf *c,
			 const struct stream_pw *pw)
{
	struct framer_config fc = {
		.in_fmt = FRAMER_F32,
		.in_channels = 2,
		.out_fmt = FRAMER_S16,
		.frame_samples = (uint32_t)s->samples,
		.rate_hz = STREAM_RATE,
		.max_quantum = STREAM_MAX_QUANTUM,
		.mono = c->stream.mono,
	};
	struct ratediff_config rc = {
		.max_ppm = RATEDIFF_DEFAULT_MAX_PPM,
		.alpha = RATEDIFF_DEFAULT_ALPHA,
	};
	int r;

	if (!pw || !pw->sink || !pw->ring) {
		return -EINVAL;
	}
	s->sink = pw->sink;
	s->ring = pw->ring;
	r = framer_new(&fc, &s->framer);
	if (r < 0) {
		return r;
	}
	s->scratch_len = framer_quantum_bytes(s->framer, STREAM_MAX_QUANTUM);
	s->scratch = malloc(s->scratch_len);
	if (!s->scratch) {
		return -ENOMEM;
	}
	return ratediff_init(&s->rd, &rc);
}
#endif

int stream_new(const struct conf *c, struct wheel *w, struct plan *p,
	       struct link *links[CONF_N_EARS], struct spsc *frame_log,
	       const struct stream_pw *pw, struct stream **ret)
{
	struct stream *s;
	unsigned e;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s) {
		return -ENOMEM;
	}
	s->conf = c;
	s->wheel = w;
	s->plan = p;
	s->frame_log = frame_log;
	s->samples = c->stream.frame_ns * STREAM_RATE / NSEC_PER_SEC;
	s->st.rate_diff = 1.0;
	if (s->samples == 0 || s->samples > STREAM_MAX_SAMPLES) {
		r = -EINVAL;
		goto fail;
	}
	for (e = 0; e < CONF_N_EARS; e++) {
		s->links[e] = links[e];
	}
	r = stream_codecs_new(s, c);
	if (r < 0) {
		goto fail;
	}
	switch (c->stream.source) {
	case CONF_SOURCE_TONE:
		break;
	case CONF_SOURCE_PIPEWIRE:
#if HAVE_PIPEWIRE
		r = stream_pw_new(s, c, pw);
#else
		r = -ENOTSUP;
#endif
		if (r < 0) {
			goto fail;
		}
		break;
	}
	stream_reconf(s);
	wheel_timer_init(&s->tick, WHEEL_HARD, 0, stream_tick);
	*ret = s;
	return 0;
fail:
	stream_free(s);
	return r;
}

struct stream *stream_free(struct stream *s)
{
	unsigned e;

	if (!s) {
		return NULL;
	}
	for (e = 0; e < CONF_N_EARS; e++) {
		codec_free(s->codec[e]);
	}
	framer_free(s->framer);
	free(s->scratch);
	free(s);
	return NULL;
}

/* The test tone of one ear for frame n: phase-continuous across frames
 * because the phase is computed from the absolute sample index. */
static void stream_tone(struct stream *s, unsigned ear, uint64_t n)
{
	uint64_t first = n * s->samples;
	uint64_t i;

	if (s->phase_step[ear] == 0.0) {
		/* 0 Hz: silence (the virtual-time run's payload). */
		memset(s->pcm[ear], 0, s->samples * sizeof(s->pcm[ear][0]));
		return;
	}
	for (i = 0; i < s->samples; i++) {
		double ph = fmod((double)(first + i) * s->phase_step[ear],
				 2.0 * M_PI);

		s->pcm[ear][i] = (int16_t)lrint(sin(ph) * 8192.0);
	}
}

/* Frame n of one ear (s->pcm[ear]) to its earbud, to play at target. */
static void stream_send(struct stream *s, unsigned ear, uint64_t n,
			uint64_t target, uint8_t flags, uint64_t now_ns,
			uint64_t planned_ns)
{
	struct link *l = s->links[ear];
	struct stream_frame_rec rec;
	uint64_t pts, shadow = 0;
	size_t len;

	if (!l || !link_ready(l)) {
		if (l) {
			s->st.skipped[ear]++;
		}
		return;
	}
	if (servo_map(link_servo(l), target, &pts) < 0) {
		s->st.skipped[ear]++;
		return;
	}
	servo_map(link_shadow(l), target, &shadow);
	if (codec_encode(s->codec[ear], CODEC_PCM_S16, s->pcm[ear],
			 s->payload, sizeof(s->payload), &len) < 0) {
		s->st.encode_errors++;
		return;
	}
	if (link_send_audio(l, n, pts, flags, s->payload, len, now_ns,
			    planned_ns) < 0) {
		return;
	}
	s->st.sent[ear]++;
	if (s->frame_log) {
		memset(&rec, 0, sizeof(rec));
		rec.seq = n;
		rec.tx_host_ns = now_ns;
		rec.pts_ear_ns = pts;
		rec.shadow_pts_ns = shadow;
		rec.ear = ear;
		rec.pair = s->pair_index;
		spsc_write(s->frame_log, &rec, sizeof(rec));
	}
}

static void stream_note_delay(struct stream *s)
{
	s->st.delay_ns = plan_delay(s->plan);
	s->st.delay_target_ns = plan_delay_target(s->plan);
	s->st.latency_ns = s->st.delay_ns + s->codec_delay_ns;
}

static void stream_tone_tick(struct stream *s, uint64_t now_ns)
{
	uint64_t frame = s->conf->stream.frame_ns;
	uint64_t n = s->n, target;
	uint8_t flags;
	unsigned e;

	target = plan_target(s->plan, n);
	flags = plan_take_jump(s->plan) ? LINK_F_DISCONT : 0;
	for (e = 0; e < CONF_N_EARS; e++) {
		if (s->links[e]) {
			stream_tone(s, e, n);
		}
		/* Planned: the frame-clock deadline that cut frame n. */
		stream_send(s, e, n, target, flags, now_ns,
			    s->t0_ns + n * frame);
	}
	s->st.ticks++;
	stream_note_delay(s);
	s->n = n + 1;
	/* A stall longer than a frame: skip the frames whose send instant
	 * has passed rather than bursting them out late. */
	while (s->t0_ns + s->n * frame + frame <= now_ns) {
		s->n++;
		s->st.late_ticks++;
	}
	wheel_add(s->wheel, &s->tick, s->t0_ns + s->n * frame);
}

#if HAVE_PIPEWIRE
/* One frame cut from the ring (s->pcm holds both ears) to both ears. */
static void stream_pw_frame(struct stream *s, const struct framer_frame *fr,
			    uint64_t now_ns)
{
	uint64_t n = s->n++, target, sent_ns;
	uint8_t flags = 0;
	unsigned e;

	/* Advances the delay's slew and delivery windows to frame n. */
	plan_target(s->plan, n);
	if (fr->no_clock) {
		/* No graph position (PipeWire gave no io): the best guess
		 * of the first sample's instant is now. */
		s->st.pw_no_clock++;
		target = now_ns + plan_delay(s->plan);
	} else {
		target = fr->nsec + plan_delay(s->plan);
	}
	if (plan_take_jump(s->plan)) {
		/* The delay jumped (a longer connection interval). */
		flags = LINK_F_DISCONT;
	}
	if (fr->discont && n > 0) {
		/* The graph's timeline jumped (a drop, a new driver): the
		 * earbuds must not splice the old and the new. */
		flags = LINK_F_DISCONT;
		s->st.pw_discont++;
	}
	for (e = 0; e < CONF_N_EARS; e++) {
		/* Planned: when its last sample came (the record that
		 * completed it; 0, unknown, before the first). */
		stream_send(s, e, n, target, flags, now_ns, s->last_in_ns);
	}
	s->st.ticks++;
	stream_note_delay(s);
	if (s->last_in_ns && s->handoff) {
		sent_ns = rt_now_ns();
		if (sent_ns > s->last_in_ns) {
			hist_record(s->handoff, sent_ns - s->last_in_ns);
		}
	}
}

void stream_pull(struct stream *s, uint64_t now_ns)
{
	struct framer_quantum q;
	struct framer_frame fr;
	uint64_t fill;
	unsigned i;
	int r;

	if (!s->framer) {
		return;
	}
	fill = spsc_read_avail(s->ring);
	s->st.ring_bytes = fill;
	if (fill > s->st.ring_max_bytes) {
		s->st.ring_max_bytes = fill;
	}
	for (i = 0; i < STREAM_MAX_POPS; i++) {
		while (!framer_frames_ready(s->framer)) {
			if (spsc_peek(s->ring, &q, sizeof(q)) < 0) {
				break;
			}
			r = framer_pull_ring(s->framer, s->ring, s->scratch,
					     s->scratch_len);
			if (r == 0) {
				s->st.pw_quanta++;
				s->last_in_ns = q.in_ns;
			} else if (r == -EBADMSG) {
				s->st.pw_bad_records++;
			} else {
				break; /* -EAGAIN: the record is half in */
			}
		}
		if (framer_pop(s->framer, s->pcm[CONF_EAR_LEFT],
			       s->pcm[CONF_EAR_RIGHT], &fr) < 0) {
			break;
		}
		stream_pw_frame(s, &fr, now_ns);
	}
}

/* rate_diff for the graph: the mean of the locked ears' d ear / d host. */
static void stream_pw_rate(struct stream *s)
{
	double sum = 0;
	unsigned e, n = 0;

	for (e = 0; e < CONF_N_EARS; e++) {
		if (s->links[e] && link_ready(s->links[e])) {
			sum += servo_rate(link_servo(s->links[e]));
			n++;
		}
	}
	if (n) {
		ratediff_update(&s->rd, sum / n);
	}
	s->st.rate_diff = ratediff_get(&s->rd);
}

static void stream_pw_tick(struct stream *s, uint64_t now_ns)
{
	uint64_t t = s->next_tick_ns, step;
	uint32_t q;

	stream_pull(s, now_ns);
	stream_pw_rate(s);
	q = pw_sink_quantum(s->sink);
	if (q == 0 || q > STREAM_MAX_QUANTUM) {
		q = (uint32_t)s->samples;
	}
	/* One cycle per tick, at the cycle's nominal start: the clock
	 * ttws.sink publishes then advances by exactly quantum / (rate *
	 * rate_diff) per cycle, whatever this thread's wake-up jitter. */
	if (pw_sink_trigger(s->sink, t, s->st.rate_diff) == 0) {
		if (s->triggered && s->st.pw_quanta == s->quanta_at_trigger) {
			s->st.pw_underruns++;
		}
		s->triggered = true;
		s->quanta_at_trigger = s->st.pw_quanta;
		if (s->trigger_fn) {
			s->trigger_fn(s->trigger_data);
		}
		s->st.pw_triggers++;
		s->st.driving = true;
	} else {
		/* Not the driver (not linked, or another driver leads):
		 * the records come at the system driver's pace. */
		s->triggered = false;
		s->st.driving = false;
		s->st.pw_idle_ticks++;
	}
	step = ratediff_samples_to_ns(STREAM_RATE, q, s->st.rate_diff);
	t += step;
	/* A stall longer than a cycle: skip the missed cycles rather than
	 * running them in a burst. */
	while (t + step <= now_ns) {
		t += step;
		s->st.late_ticks++;
	}
	s->next_tick_ns = t;
	wheel_add(s->wheel, &s->tick, t);
}
#else
void stream_pull(struct stream *s, uint64_t now_ns)
{
}
#endif

static void stream_tick(struct wheel_timer *t, uint64_t now_ns)
{
	struct stream *s = container_of(t, struct stream, tick);
	/* The handler's start: the timer's lateness (wakeup) is measured
	 * to here, not to now_ns, which the loop read once for every timer
	 * that expired with this one. */
	uint64_t start_ns = s->wakeup ? rt_now_ns() : 0;

	if (s->boundary_fn) {
		s->boundary_fn(s->boundary_data, now_ns);
	}
	if (s->wakeup && start_ns >= t->deadline_ns) {
		hist_record(s->wakeup, start_ns - t->deadline_ns);
	}

	switch (s->conf->stream.source) {
	case CONF_SOURCE_TONE:
		stream_tone_tick(s, now_ns);
		break;
	case CONF_SOURCE_PIPEWIRE:
#if HAVE_PIPEWIRE
		stream_pw_tick(s, now_ns);
#endif
		break;
	}
}

void stream_start(struct stream *s, uint64_t t0_ns)
{
	s->t0_ns = t0_ns;
	s->next_tick_ns = t0_ns;
	s->st.t0_ns = t0_ns;
	s->n = 0;
	stream_note_delay(s);
	wheel_add(s->wheel, &s->tick, t0_ns);
}

void stream_stop(struct stream *s)
{
	wheel_cancel(s->wheel, &s->tick);
}

void stream_get_stats(const struct stream *s, struct stream_stats *ret)
{
	struct hist_summary h;

	*ret = s->st;
	if (s->handoff && hist_summarize(s->handoff, &h) == 0) {
		ret->handoff_count = h.count;
		ret->handoff_p50_ns = h.p50;
		ret->handoff_p99_ns = h.p99;
		ret->handoff_max_ns = h.max;
	}
}

void stream_set_trigger_fn(struct stream *s, void (*fn)(void *data),
			   void *data)
{
	s->trigger_fn = fn;
	s->trigger_data = data;
}

bool stream_awaits_quantum(const struct stream *s)
{
	return s->triggered && s->st.pw_quanta == s->quanta_at_trigger;
}

void stream_set_boundary_fn(struct stream *s,
			    void (*fn)(void *data, uint64_t now_ns),
			    void *data)
{
	s->boundary_fn = fn;
	s->boundary_data = data;
}

/* The conf the stream points at has new values: re-derive what it keeps. */
void stream_reconf(struct stream *s)
{
	const struct conf *c = s->conf;
	unsigned e;

	for (e = 0; e < CONF_N_EARS; e++) {
		s->phase_step[e] = 2.0 * M_PI * c->stream.tone_hz[e] /
				   STREAM_RATE;
	}
	if (s->framer) {
		framer_set_mono(s->framer, c->stream.mono);
	}
}

void stream_reset_stats(struct stream *s)
{
	struct stream_stats *st = &s->st;
	unsigned e;

	/* Counters only: the delay, the rate and the codec sizes are
	 * state, and the next frame refreshes them anyway. */
	st->ticks = 0;
	st->late_ticks = 0;
	st->encode_errors = 0;
	for (e = 0; e < CONF_N_EARS; e++) {
		st->sent[e] = 0;
		st->skipped[e] = 0;
	}
	st->pw_quanta = 0;
	st->pw_bad_records = 0;
	st->pw_discont = 0;
	st->pw_no_clock = 0;
	st->pw_triggers = 0;
	st->pw_idle_ticks = 0;
	st->pw_underruns = 0;
	st->ring_max_bytes = 0;
	/* The hand-over histogram belongs to the engine's set, which the
	 * same reset empties (engine_hists_reset()). */
}

void stream_set_pair_index(struct stream *s, uint32_t index)
{
	s->pair_index = index;
}

void stream_set_hists(struct stream *s, struct hist *wakeup,
		      struct hist *handoff)
{
	s->wakeup = wakeup;
	s->handoff = handoff;
}
