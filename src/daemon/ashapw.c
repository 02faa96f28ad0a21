/* SPDX-License-Identifier: MIT */
/*
 * ASHA's audio from PipeWire (daemon/ashapw.h): the graph's pace, the
 * sink's quanta cut into 20 ms frames, the queue between them and the
 * slots. The framer's discontinuity flags mean nothing here (quanta
 * carry graph positions at the graph's rate, samples at the node's 16
 * kHz) and are not used: ASHA has no timeline to keep.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/framer.h"
#include "core/macro.h"
#include "core/spsc.h"
#include "core/wheel.h"
#include "daemon/ashapw.h"
#include "daemon/bounds.h"

#if HAVE_PIPEWIRE
#include "pw/sink.h"

/* The largest quantum taken from the ring, samples (PipeWire's max). */
#define ASHAPW_MAX_QUANTUM 8192u
/* Records taken per pull, so that a flood cannot hold the RT thread. */
#define ASHAPW_MAX_RECORDS 32u

struct ashapw {
	struct pw_sink *sink;
	struct spsc *ring;
	struct wheel *wheel;
	struct framer *framer;
	uint8_t *scratch;
	size_t scratch_len;
	struct wheel_timer tick;
	bool on;
	uint64_t next_ns;
	bool primed;
	bool listening;
	unsigned head, count;
	int16_t q[ASHAPW_QUEUE][2][G722_FRAME_SAMPLES];
	struct ashapw_stats st;
};

/* One graph cycle per quantum, at the cycle's nominal start. */
static void ashapw_tick(struct wheel_timer *t, uint64_t now_ns)
{
	struct ashapw *a = container_of(t, struct ashapw, tick);
	uint32_t q = pw_sink_quantum(a->sink);
	uint32_t rate = pw_sink_graph_rate(a->sink);
	uint64_t step;

	if (pw_sink_trigger(a->sink, a->next_ns, 1.0) == 0) {
		a->st.triggers++;
	} else {
		a->st.idle_ticks++;
	}
	if (q == 0 || q > ASHAPW_MAX_QUANTUM) {
		q = 1024;
	}
	if (rate == 0) {
		rate = 48000;
	}
	step = (uint64_t)q * NSEC_PER_SEC / rate;
	a->next_ns += step;
	while (a->next_ns + step <= now_ns) {
		a->next_ns += step;
		a->st.late_ticks++;
	}
	wheel_add(a->wheel, &a->tick, a->next_ns);
}

int ashapw_new(const struct stream_pw *pw, struct wheel *w,
	       struct ashapw **ret)
{
	struct framer_config fc = {
		.in_fmt = FRAMER_F32,
		.in_channels = 2,
		.out_fmt = FRAMER_S16,
		.frame_samples = G722_FRAME_SAMPLES,
		.rate_hz = G722_RATE_HZ,
		.max_quantum = ASHAPW_MAX_QUANTUM,
	};
	struct ashapw *a;
	int r;

	if (!pw || !pw->sink || !pw->ring) {
		return -EINVAL;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		return -ENOMEM;
	}
	a->sink = pw->sink;
	a->ring = pw->ring;
	a->wheel = w;
	wheel_timer_init(&a->tick, WHEEL_HARD, 0, ashapw_tick);
	r = framer_new(&fc, &a->framer);
	if (r < 0) {
		ashapw_free(a);
		return r;
	}
	a->scratch_len = framer_quantum_bytes(a->framer, ASHAPW_MAX_QUANTUM);
	a->scratch = malloc(a->scratch_len);
	if (!a->scratch) {
		ashapw_free(a);
		return -ENOMEM;
	}
	*ret = a;
	return 0;
}

struct ashapw *ashapw_free(struct ashapw *a)
{
	if (a) {
		framer_free(a->framer);
		free(a->scratch);
		free(a);
	}
	return NULL;
}

void ashapw_start(struct ashapw *a, uint64_t now_ns)
{
	if (a->on) {
		return;
	}
	a->on = true;
	a->next_ns = now_ns;
	wheel_add(a->wheel, &a->tick, now_ns);
}

void ashapw_stop(struct ashapw *a)
{
	if (a->on) {
		wheel_cancel(a->wheel, &a->tick);
		a->on = false;
	}
}

/* A frame the framer cut, into the queue (the oldest out when full). */
static void ashapw_queue_frame(struct ashapw *a)
{
	unsigned k;

	if (a->count == ASHAPW_QUEUE ||
	    (!a->listening && a->count >= ASHAPW_PRIME)) {
		a->head = (a->head + 1) % ASHAPW_QUEUE;
		a->count--;
		if (a->listening) {
			a->st.overruns++;
			bounds_count(BOUNDS_ASHA_FRAMES, 1);
		} else {
			a->st.unheard++;
		}
	}
	k = (a->head + a->count) % ASHAPW_QUEUE;
	/* Cannot fail: a frame is ready. */
	framer_pop(a->framer, a->q[k][0], a->q[k][1], NULL);
	a->count++;
	a->st.frames_in++;
}

void ashapw_pull(struct ashapw *a)
{
	struct framer_quantum q;
	int r;

	for (unsigned i = 0; i < ASHAPW_MAX_RECORDS; i++) {
		while (framer_frames_ready(a->framer) > 0) {
			ashapw_queue_frame(a);
		}
		if (spsc_peek(a->ring, &q, sizeof(q)) < 0) {
			break;
		}
		r = framer_pull_ring(a->framer, a->ring, a->scratch,
				     a->scratch_len);
		if (r == 0) {
			a->st.quanta++;
		} else if (r == -EBADMSG) {
			a->st.bad_records++;
		} else {
			break; /* the record is half in */
		}
	}
	while (framer_frames_ready(a->framer) > 0) {
		ashapw_queue_frame(a);
	}
}

int ashapw_frame(struct ashapw *a, int16_t left[G722_FRAME_SAMPLES],
		 int16_t right[G722_FRAME_SAMPLES])
{
	if (!a->primed && a->count >= ASHAPW_PRIME) {
		a->primed = true;
	}
	if (!a->primed || a->count == 0) {
		a->primed = false;
		a->st.underruns++;
		return -ENODATA;
	}
	memcpy(left, a->q[a->head][0], sizeof(a->q[0][0]));
	memcpy(right, a->q[a->head][1], sizeof(a->q[0][1]));
	a->head = (a->head + 1) % ASHAPW_QUEUE;
	a->count--;
	a->st.frames_out++;
	return 0;
}

void ashapw_set_listening(struct ashapw *a, bool on)
{
	a->listening = on;
}

unsigned ashapw_queued(const struct ashapw *a)
{
	return a->count;
}

void ashapw_get_stats(const struct ashapw *a, struct ashapw_stats *ret)
{
	*ret = a->st;
	ret->queued = a->count;
	ret->quantum = pw_sink_quantum(a->sink);
	ret->graph_rate = pw_sink_graph_rate(a->sink);
}

void ashapw_reset_stats(struct ashapw *a)
{
	memset(&a->st, 0, sizeof(a->st));
}

#else /* !HAVE_PIPEWIRE */

int ashapw_new(const struct stream_pw *pw, struct wheel *w,
	       struct ashapw **ret)
{
	(void)pw;
	(void)w;
	(void)ret;
	return -ENOTSUP;
}

struct ashapw *ashapw_free(struct ashapw *a)
{
	(void)a;
	return NULL;
}

void ashapw_start(struct ashapw *a, uint64_t now_ns)
{
	(void)a;
	(void)now_ns;
}

void ashapw_stop(struct ashapw *a)
{
	(void)a;
}

void ashapw_pull(struct ashapw *a)
{
	(void)a;
}

int ashapw_frame(struct ashapw *a, int16_t left[G722_FRAME_SAMPLES],
		 int16_t right[G722_FRAME_SAMPLES])
{
	(void)a;
	(void)left;
	(void)right;
	return -ENODATA;
}

void ashapw_set_listening(struct ashapw *a, bool on)
{
	(void)a;
	(void)on;
}

unsigned ashapw_queued(const struct ashapw *a)
{
	(void)a;
	return 0;
}

void ashapw_get_stats(const struct ashapw *a, struct ashapw_stats *ret)
{
	(void)a;
	memset(ret, 0, sizeof(*ret));
}

void ashapw_reset_stats(struct ashapw *a)
{
	(void)a;
}

#endif
