/* SPDX-License-Identifier: MIT */
#include "daemon/stream.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/macro.h"
#include "core/plan.h"
#include "core/servo.h"
#include "core/spsc.h"
#include "core/wheel.h"
#include "daemon/link.h"

#define STREAM_RATE 48000
#define STREAM_MAX_SAMPLES 480 /* 10 ms at 48 kHz */

struct stream {
	const struct conf *conf;
	struct wheel *wheel;
	struct plan *plan;
	struct link *links[CONF_N_EARS];
	struct spsc *frame_log;
	struct wheel_timer tick;
	uint64_t t0_ns;
	uint64_t n;        /* next frame */
	uint64_t samples;  /* per frame */
	double phase_step[CONF_N_EARS]; /* radians per sample */
	int16_t pcm[STREAM_MAX_SAMPLES];
	struct stream_stats st;
};

static void stream_tick(struct wheel_timer *t, uint64_t now_ns);

int stream_new(const struct conf *c, struct wheel *w, struct plan *p,
	       struct link *links[CONF_N_EARS], struct spsc *frame_log,
	       struct stream **ret)
{
	struct stream *s;
	unsigned e;

	s = calloc(1, sizeof(*s));
	if (!s) {
		return -ENOMEM;
	}
	s->conf = c;
	s->wheel = w;
	s->plan = p;
	s->frame_log = frame_log;
	s->samples = c->stream.frame_ns * STREAM_RATE / NSEC_PER_SEC;
	if (s->samples == 0 || s->samples > STREAM_MAX_SAMPLES) {
		free(s);
		return -EINVAL;
	}
	for (e = 0; e < CONF_N_EARS; e++) {
		s->links[e] = links[e];
		s->phase_step[e] = 2.0 * M_PI * c->stream.tone_hz[e] /
				   STREAM_RATE;
	}
	wheel_timer_init(&s->tick, WHEEL_HARD, 0, stream_tick);
	*ret = s;
	return 0;
}

struct stream *stream_free(struct stream *s)
{
	free(s);
	return NULL;
}

/* The test tone of one ear for frame n: phase-continuous across frames
 * because the phase is computed from the absolute sample index. */
static void stream_tone(struct stream *s, unsigned ear, uint64_t n)
{
	uint64_t first = n * s->samples;
	uint64_t i;

	for (i = 0; i < s->samples; i++) {
		double ph = fmod((double)(first + i) * s->phase_step[ear],
				 2.0 * M_PI);

		s->pcm[i] = (int16_t)lrint(sin(ph) * 8192.0);
	}
}

static void stream_send(struct stream *s, unsigned ear, uint64_t n,
			uint64_t target, uint64_t now_ns)
{
	struct link *l = s->links[ear];
	struct stream_frame_rec rec;
	uint64_t pts, shadow = 0;

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
	stream_tone(s, ear, n);
	if (link_send_audio(l, n, pts, s->pcm, s->samples * 2, now_ns) < 0) {
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
		spsc_write(s->frame_log, &rec, sizeof(rec));
	}
}

static void stream_tick(struct wheel_timer *t, uint64_t now_ns)
{
	struct stream *s = container_of(t, struct stream, tick);
	uint64_t frame = s->conf->stream.frame_ns;
	uint64_t n = s->n, target;
	unsigned e;

	target = plan_target(s->plan, n);
	for (e = 0; e < CONF_N_EARS; e++) {
		stream_send(s, e, n, target, now_ns);
	}
	s->st.ticks++;
	s->st.delay_ns = plan_delay(s->plan);
	s->st.delay_target_ns = plan_delay_target(s->plan);
	s->n = n + 1;
	/* A stall longer than a frame: skip the frames whose send instant
	 * has passed rather than bursting them out late. */
	while (s->t0_ns + s->n * frame + frame <= now_ns) {
		s->n++;
		s->st.late_ticks++;
	}
	wheel_add(s->wheel, t, s->t0_ns + s->n * frame);
}

void stream_start(struct stream *s, uint64_t t0_ns)
{
	s->t0_ns = t0_ns;
	s->st.t0_ns = t0_ns;
	s->n = 0;
	wheel_add(s->wheel, &s->tick, t0_ns);
}

void stream_stop(struct stream *s)
{
	wheel_cancel(s->wheel, &s->tick);
}

void stream_get_stats(const struct stream *s, struct stream_stats *ret)
{
	*ret = s->st;
}
