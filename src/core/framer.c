/* SPDX-License-Identifier: MIT */
#include "core/framer.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/macro.h"
#include "core/spsc.h"

/*
 * Segments: one per pushed quantum still (partly) buffered, oldest first.
 * Each holds at least one sample, so while no whole frame is buffered at
 * most frame_samples are live; frame_samples + 2 slots mean a push fails
 * for want of a slot only when a frame is waiting to be popped.
 */

struct framer_seg {
	uint64_t first;    /* absolute index of the quantum's first sample */
	uint64_t pos0;     /* graph position of that sample */
	uint64_t nsec0;    /* host ns of that sample (the cycle's nsec) */
	double rate_diff;
	uint32_t samples;  /* whole quantum */
	bool discont;      /* starts a discontinuity */
	bool no_clock;
};

struct framer {
	struct framer_config cfg;
	size_t in_stride;  /* bytes per interleaved input sample frame */
	size_t out_size;   /* bytes per output sample */
	uint32_t cap;      /* samples per ear in the fifo */
	uint8_t *fifo[FRAMER_N_EARS];
	uint64_t in_total;  /* samples ever pushed since reset */
	uint64_t out_total; /* samples ever popped since reset */
	uint64_t seq;
	struct framer_seg *seg;
	uint32_t seg_cap;
	uint32_t seg_head;  /* index of the oldest */
	uint32_t seg_n;
	bool have_last;     /* a quantum was pushed since reset */
	uint64_t last_end;  /* graph position after the previous quantum */
	struct framer_stats st;
};

static size_t fmt_size(enum framer_fmt fmt)
{
	switch (fmt) {
	case FRAMER_S16:
		return 2;
	case FRAMER_F32:
		return 4;
	}
	return 0;
}

int framer_new(const struct framer_config *c, struct framer **ret)
{
	struct framer *f;
	unsigned e;

	if (!c || !ret || fmt_size(c->in_fmt) == 0 ||
	    fmt_size(c->out_fmt) == 0 || c->in_channels < 1 ||
	    c->in_channels > 2 || c->frame_samples == 0 || c->rate_hz == 0 ||
	    c->max_quantum == 0 ||
	    (uint64_t)c->frame_samples + c->max_quantum > UINT32_MAX / 8) {
		return -EINVAL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		return -ENOMEM;
	}
	f->cfg = *c;
	f->in_stride = fmt_size(c->in_fmt) * c->in_channels;
	f->out_size = fmt_size(c->out_fmt);
	/* A frame minus one sample can be waiting when a whole quantum
	 * arrives. */
	f->cap = c->frame_samples + c->max_quantum;
	f->seg_cap = c->frame_samples + 2;
	f->seg = calloc(f->seg_cap, sizeof(*f->seg));
	if (!f->seg) {
		framer_free(f);
		return -ENOMEM;
	}
	for (e = 0; e < FRAMER_N_EARS; e++) {
		f->fifo[e] = calloc(f->cap, f->out_size);
		if (!f->fifo[e]) {
			framer_free(f);
			return -ENOMEM;
		}
	}
	*ret = f;
	return 0;
}

struct framer *framer_free(struct framer *f)
{
	unsigned e;

	if (!f) {
		return NULL;
	}
	for (e = 0; e < FRAMER_N_EARS; e++) {
		free(f->fifo[e]);
	}
	free(f->seg);
	free(f);
	return NULL;
}

void framer_set_mono(struct framer *f, bool mono)
{
	f->cfg.mono = mono;
}

void framer_reset(struct framer *f)
{
	f->in_total = 0;
	f->out_total = 0;
	f->seq = 0;
	f->seg_head = 0;
	f->seg_n = 0;
	f->have_last = false;
	f->last_end = 0;
}

size_t framer_quantum_bytes(const struct framer *f, uint32_t samples)
{
	return (size_t)samples * f->in_stride;
}

size_t framer_frame_bytes(const struct framer *f)
{
	return (size_t)f->cfg.frame_samples * f->out_size;
}

uint32_t framer_fill(const struct framer *f)
{
	return (uint32_t)(f->in_total - f->out_total);
}

uint32_t framer_frames_ready(const struct framer *f)
{
	return framer_fill(f) / f->cfg.frame_samples;
}

static float in_sample(const struct framer *f, const uint8_t *p)
{
	int16_t s;
	float v;

	switch (f->cfg.in_fmt) {
	case FRAMER_S16:
		memcpy(&s, p, sizeof(s));
		return (float)s * (1.0f / 32768.0f);
	case FRAMER_F32:
		memcpy(&v, p, sizeof(v));
		return v;
	}
	return 0.0f;
}

static void out_sample(const struct framer *f, uint8_t *p, float v)
{
	long l;
	int16_t s;

	switch (f->cfg.out_fmt) {
	case FRAMER_S16:
		/* NaN compares false both ways and lands on 0. */
		if (!(v > -1.0f)) {
			l = v <= -1.0f ? -32768 : 0;
		} else if (v >= 1.0f) {
			l = 32767;
		} else {
			l = lrintf(v * 32768.0f);
			l = MIN(l, 32767L);
		}
		s = (int16_t)l;
		memcpy(p, &s, sizeof(s));
		return;
	case FRAMER_F32:
		memcpy(p, &v, sizeof(v));
		return;
	}
}

static double sane_rate_diff(double rd)
{
	return (isfinite(rd) && rd > 0.0) ? rd : 1.0;
}

/* Host ns of the sample `off` samples after the quantum's first one. */
static uint64_t sample_nsec(const struct framer *f, uint64_t nsec0,
			    double rate_diff, uint64_t off)
{
	double d = (double)off * 1e9 / ((double)f->cfg.rate_hz * rate_diff);

	return nsec0 + (uint64_t)llround(d);
}

int framer_push(struct framer *f, const struct framer_quantum *q,
		const void *pcm)
{
	const uint8_t *in = pcm;
	size_t ss = fmt_size(f->cfg.in_fmt);
	struct framer_seg *sg;
	uint32_t i, w;
	float l, r;

	if (q->samples == 0 || q->samples > f->cfg.max_quantum) {
		return -EINVAL;
	}
	if (q->samples > f->cap - framer_fill(f) ||
	    f->seg_n == f->seg_cap) {
		return -ENOSPC;
	}

	sg = &f->seg[(f->seg_head + f->seg_n) % f->seg_cap];
	memset(sg, 0, sizeof(*sg));
	sg->first = f->in_total;
	sg->pos0 = q->position;
	sg->nsec0 = q->nsec;
	sg->rate_diff = sane_rate_diff(q->rate_diff);
	sg->samples = q->samples;
	sg->no_clock = (q->flags & FRAMER_Q_NO_CLOCK) != 0;
	/* A graph cycle continues the previous one exactly when its position
	 * is where the previous quantum ended; anything else (an xrun, a
	 * driver change, a quantum the sink dropped) is a discontinuity. */
	sg->discont = (q->flags & FRAMER_Q_AFTER_DROP) ||
		      (f->have_last && q->position != f->last_end);
	if (sg->discont) {
		f->st.discont++;
	}
	f->seg_n++;
	f->have_last = true;
	f->last_end = q->position + q->samples;

	w = (uint32_t)(f->in_total % f->cap);
	for (i = 0; i < q->samples; i++) {
		const uint8_t *p = in + (size_t)i * f->in_stride;

		l = in_sample(f, p);
		r = f->cfg.in_channels == 2 ? in_sample(f, p + ss) : l;
		if (f->cfg.mono) {
			l = (l + r) * 0.5f;
			r = l;
		}
		out_sample(f, f->fifo[FRAMER_LEFT] + (size_t)w * f->out_size,
			   l);
		out_sample(f, f->fifo[FRAMER_RIGHT] + (size_t)w * f->out_size,
			   r);
		if (++w == f->cap) {
			w = 0;
		}
	}
	f->in_total += q->samples;
	f->st.quanta++;
	f->st.samples_in += q->samples;
	return 0;
}

static void copy_out(const struct framer *f, unsigned ear, void *dst)
{
	uint32_t n = f->cfg.frame_samples;
	uint32_t r = (uint32_t)(f->out_total % f->cap);
	uint32_t first = MIN(n, f->cap - r);
	uint8_t *d = dst;

	if (!d) {
		return;
	}
	memcpy(d, f->fifo[ear] + (size_t)r * f->out_size,
	       (size_t)first * f->out_size);
	memcpy(d + (size_t)first * f->out_size, f->fifo[ear],
	       (size_t)(n - first) * f->out_size);
}

int framer_pop(struct framer *f, void *left, void *right,
	       struct framer_frame *ret)
{
	uint64_t head = f->out_total, end = head + f->cfg.frame_samples;
	struct framer_frame fr;
	struct framer_seg *sg;
	uint64_t off;
	uint32_t k;

	if (framer_frames_ready(f) == 0) {
		return -EAGAIN;
	}
	memset(&fr, 0, sizeof(fr));
	fr.seq = f->seq;

	/* The first segment holds the frame's first sample. */
	sg = &f->seg[f->seg_head];
	off = head - sg->first;
	fr.position = sg->pos0 + off;
	fr.nsec = sample_nsec(f, sg->nsec0, sg->rate_diff, off);
	fr.discont = sg->discont && head == sg->first;
	for (k = 0; k < f->seg_n; k++) {
		struct framer_seg *s =
			&f->seg[(f->seg_head + k) % f->seg_cap];

		if (s->first >= end) {
			break;
		}
		if (k > 0 && s->discont) {
			fr.discont = true;
		}
		if (s->no_clock) {
			fr.no_clock = true;
		}
	}

	copy_out(f, FRAMER_LEFT, left);
	copy_out(f, FRAMER_RIGHT, right);
	f->out_total = end;
	f->seq++;
	f->st.frames_out++;

	/* Retire the segments this frame used up. */
	while (f->seg_n > 0) {
		sg = &f->seg[f->seg_head];
		if (sg->first + sg->samples > f->out_total) {
			break;
		}
		f->seg_head = (f->seg_head + 1) % f->seg_cap;
		f->seg_n--;
	}
	if (ret) {
		*ret = fr;
	}
	return 0;
}

int framer_pull_ring(struct framer *f, struct spsc *ring, void *scratch,
		     size_t scratch_len)
{
	struct framer_quantum q;
	size_t bytes;
	int r;

	if (spsc_peek(ring, &q, sizeof(q)) < 0) {
		return -EAGAIN;
	}
	/* The producer writes header then PCM as two publishes: wait until
	 * both are in. A record larger than the ring cannot have been
	 * written (spsc_write is all or nothing), so this terminates. */
	bytes = framer_quantum_bytes(f, q.samples);
	if (spsc_read_avail(ring) < sizeof(q) + bytes) {
		return -EAGAIN;
	}
	if (q.samples == 0 || q.samples > f->cfg.max_quantum ||
	    bytes > scratch_len) {
		spsc_skip(ring, sizeof(q) + bytes);
		f->st.bad_records++;
		return -EBADMSG;
	}
	if (q.samples > f->cap - framer_fill(f) ||
	    f->seg_n == f->seg_cap) {
		return -ENOSPC;
	}
	spsc_skip(ring, sizeof(q));
	r = spsc_read(ring, scratch, bytes);
	if (r < 0) {
		return r;
	}
	return framer_push(f, &q, scratch);
}

void framer_get_stats(const struct framer *f, struct framer_stats *ret)
{
	*ret = f->st;
}
