/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/framer.h"
#include "core/spsc.h"

#define RATE 48000u
#define FRAME 480u
#define QUANTUM 1024u

/* The counter pattern every test feeds: left = k, right = -k - 1 (mod
 * 2^15), so a swapped, dropped or duplicated sample shows. */
static int16_t pat_l(uint64_t k)
{
	return (int16_t)(k & 0x7fff);
}

static int16_t pat_r(uint64_t k)
{
	return (int16_t)(-(int32_t)(k & 0x7fff) - 1);
}

static void fill_s16(int16_t *pcm, uint64_t first, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		pcm[2 * i] = pat_l(first + i);
		pcm[2 * i + 1] = pat_r(first + i);
	}
}

static struct framer *mk(enum framer_fmt in, uint32_t ch, enum framer_fmt out,
			 uint32_t frame, uint32_t maxq, bool mono)
{
	struct framer_config c = {
		.in_fmt = in,
		.in_channels = ch,
		.out_fmt = out,
		.frame_samples = frame,
		.rate_hz = RATE,
		.max_quantum = maxq,
		.mono = mono,
	};
	struct framer *f = NULL;

	assert_int_equal(framer_new(&c, &f), 0);
	assert_non_null(f);
	return f;
}

/* Host ns of a sample `off` samples into a quantum that started at nsec,
 * the framer's documented formula, computed independently. */
static uint64_t expect_nsec(uint64_t nsec, uint64_t off, double rd)
{
	return nsec + (uint64_t)llround((double)off * 1e9 / (RATE * rd));
}

static void framer_rejects_bad_config(void **state)
{
	struct framer_config ok = {
		.in_fmt = FRAMER_F32, .in_channels = 2, .out_fmt = FRAMER_S16,
		.frame_samples = FRAME, .rate_hz = RATE, .max_quantum = 8192,
	};
	struct framer_config c;
	struct framer *f = NULL;

	(void)state;
	c = ok;
	c.in_channels = 3;
	assert_int_equal(framer_new(&c, &f), -EINVAL);
	c = ok;
	c.in_channels = 0;
	assert_int_equal(framer_new(&c, &f), -EINVAL);
	c = ok;
	c.frame_samples = 0;
	assert_int_equal(framer_new(&c, &f), -EINVAL);
	c = ok;
	c.rate_hz = 0;
	assert_int_equal(framer_new(&c, &f), -EINVAL);
	c = ok;
	c.max_quantum = 0;
	assert_int_equal(framer_new(&c, &f), -EINVAL);
	c = ok;
	c.in_fmt = (enum framer_fmt)7;
	assert_int_equal(framer_new(&c, &f), -EINVAL);
	assert_null(f);
	assert_int_equal(framer_new(&ok, &f), 0);
	assert_int_equal(framer_frame_bytes(f), FRAME * 2);
	assert_int_equal(framer_quantum_bytes(f, QUANTUM), QUANTUM * 8);
	f = framer_free(f);
	assert_null(f);
}

/*
 * 1024-sample quanta into 480-sample frames over 1000 quanta: every
 * sample comes out once, in order, on the right ear; each frame's
 * position and nsec are those of its first sample, exactly, even though
 * each quantum's nsec carries its own jitter.
 */
static void framer_cuts_1024_into_480_exactly(void **state)
{
	enum { NQ = 1000 };
	struct framer *f = mk(FRAMER_S16, 2, FRAMER_S16, FRAME, QUANTUM, false);
	static int16_t pcm[2 * QUANTUM];
	int16_t l[FRAME], r[FRAME];
	static uint64_t qnsec[NQ];
	const uint64_t pos0 = 123456789;
	struct framer_quantum q;
	struct framer_frame fr;
	struct framer_stats st;
	uint64_t popped = 0, k, first, qi, off;
	uint32_t i, n;

	(void)state;
	for (n = 0; n < NQ; n++) {
		/* 1024 / 48 kHz = 21.33 ms per cycle, plus up to 1 us of
		 * wake-up jitter that the frames must inherit. */
		qnsec[n] = 5000000000ull + n * 21333333ull +
			   (n * 7919u) % 1000u;
		memset(&q, 0, sizeof(q));
		q.nsec = qnsec[n];
		q.position = pos0 + (uint64_t)n * QUANTUM;
		q.rate_diff = 1.0;
		q.samples = QUANTUM;
		fill_s16(pcm, (uint64_t)n * QUANTUM, QUANTUM);
		assert_int_equal(framer_push(f, &q, pcm), 0);
		while (framer_frames_ready(f) > 0) {
			assert_int_equal(framer_pop(f, l, r, &fr), 0);
			first = popped * FRAME;
			assert_int_equal(fr.seq, popped);
			assert_int_equal(fr.position, pos0 + first);
			qi = first / QUANTUM;
			off = first % QUANTUM;
			assert_int_equal(fr.nsec,
					 expect_nsec(qnsec[qi], off, 1.0));
			assert_false(fr.discont);
			assert_false(fr.no_clock);
			for (i = 0; i < FRAME; i++) {
				k = first + i;
				assert_int_equal(l[i], pat_l(k));
				assert_int_equal(r[i], pat_r(k));
			}
			popped++;
		}
		/* Nothing is lost or invented at any boundary. */
		assert_int_equal(popped * FRAME + framer_fill(f),
				 (uint64_t)(n + 1) * QUANTUM);
		assert_true(framer_fill(f) < FRAME);
	}
	assert_int_equal(popped, (uint64_t)NQ * QUANTUM / FRAME);
	framer_get_stats(f, &st);
	assert_int_equal(st.quanta, NQ);
	assert_int_equal(st.samples_in, (uint64_t)NQ * QUANTUM);
	assert_int_equal(st.frames_out, popped);
	assert_int_equal(st.discont, 0);
	assert_int_equal(framer_pop(f, l, r, &fr), -EAGAIN);
	framer_free(f);
}

/* Random quantum sizes and random pop timing against the same reference. */
static void framer_random_quanta_exact(void **state)
{
	const uint32_t maxq = 2048, frame = 360; /* 7.5 ms */
	struct framer *f = mk(FRAMER_S16, 2, FRAMER_S16, frame, maxq, false);
	static int16_t pcm[2 * 2048];
	int16_t l[360], r[360];
	struct framer_quantum q;
	struct framer_frame fr;
	uint64_t in = 0, popped = 0, pos = 77, nsec = 1000, k;
	uint32_t i, n, it;

	(void)state;
	srand(12345);
	for (it = 0; it < 5000; it++) {
		n = 16 + (uint32_t)rand() % (maxq - 16 + 1);
		memset(&q, 0, sizeof(q));
		q.nsec = nsec;
		q.position = pos;
		q.rate_diff = 1.0;
		q.samples = n;
		fill_s16(pcm, in, n);
		if (framer_push(f, &q, pcm) == -ENOSPC) {
			/* Full: the consumer must pop before more fits. */
			assert_true(framer_frames_ready(f) > 0);
		} else {
			in += n;
			pos += n;
			nsec += (uint64_t)n * 1000000000ull / RATE;
		}
		while (framer_frames_ready(f) > (uint32_t)(rand() % 3)) {
			assert_int_equal(framer_pop(f, l, r, &fr), 0);
			assert_int_equal(fr.position, 77 + popped * frame);
			assert_false(fr.discont);
			for (i = 0; i < frame; i++) {
				k = popped * frame + i;
				assert_int_equal(l[i], pat_l(k));
				assert_int_equal(r[i], pat_r(k));
			}
			popped++;
		}
		assert_int_equal(popped * frame + framer_fill(f), in);
	}
	framer_free(f);
}

/* rate_diff stretches the host time between a quantum's samples. */
static void framer_nsec_follows_rate_diff(void **state)
{
	struct framer *f = mk(FRAMER_S16, 2, FRAMER_S16, FRAME, QUANTUM, false);
	static int16_t pcm[2 * QUANTUM];
	struct framer_quantum q = {
		.nsec = 1000000000ull,
		.position = 0,
		.rate_diff = 1.0005,
		.samples = QUANTUM,
	};
	struct framer_frame fr;

	(void)state;
	fill_s16(pcm, 0, QUANTUM);
	assert_int_equal(framer_push(f, &q, pcm), 0);
	assert_int_equal(framer_pop(f, NULL, NULL, &fr), 0);
	assert_int_equal(fr.nsec, 1000000000ull);
	assert_int_equal(framer_pop(f, NULL, NULL, &fr), 0);
	/* 480 samples at 48 kHz * 1.0005 = 9995002.4987 ns. */
	assert_int_equal(fr.nsec, 1000000000ull + 9995002ull);
	assert_int_equal(fr.position, 480);

	/* A nonsense rate_diff counts as 1.0. */
	framer_reset(f);
	q.rate_diff = NAN;
	assert_int_equal(framer_push(f, &q, pcm), 0);
	assert_int_equal(framer_pop(f, NULL, NULL, &fr), 0);
	assert_int_equal(framer_pop(f, NULL, NULL, &fr), 0);
	assert_int_equal(fr.nsec, 1000000000ull + 10000000ull);
	framer_free(f);
}

/* F32 and S16 in and out, deinterleaved to the right ears. */
static void framer_deinterleaves_formats(void **state)
{
	float in[2 * 8], lf[4], rf[4];
	int16_t l[4], r[4], s16in[2 * 8];
	struct framer_quantum q = { .rate_diff = 1.0, .samples = 8 };
	struct framer *f;
	int i;

	(void)state;
	for (i = 0; i < 8; i++) {
		in[2 * i] = (float)(100 * (i + 1)) / 32768.0f;
		in[2 * i + 1] = -(float)(i + 1) / 32768.0f;
		s16in[2 * i] = (int16_t)(100 * (i + 1));
		s16in[2 * i + 1] = (int16_t)(-(i + 1));
	}

	/* F32 -> S16: exact for values that came from S16. */
	f = mk(FRAMER_F32, 2, FRAMER_S16, 4, 8, false);
	assert_int_equal(framer_push(f, &q, in), 0);
	assert_int_equal(framer_frames_ready(f), 2);
	assert_int_equal(framer_pop(f, l, r, NULL), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(l[i], 100 * (i + 1));
		assert_int_equal(r[i], -(i + 1));
	}
	/* Discarding one ear is allowed. */
	assert_int_equal(framer_pop(f, NULL, r, NULL), 0);
	assert_int_equal(r[0], -5);
	framer_free(f);

	/* S16 -> F32: s / 32768. */
	f = mk(FRAMER_S16, 2, FRAMER_F32, 4, 8, false);
	assert_int_equal(framer_push(f, &q, s16in), 0);
	assert_int_equal(framer_pop(f, lf, rf, NULL), 0);
	for (i = 0; i < 4; i++) {
		assert_true(lf[i] == (float)(100 * (i + 1)) / 32768.0f);
		assert_true(rf[i] == -(float)(i + 1) / 32768.0f);
	}
	framer_free(f);

	/* F32 -> F32 is a plain copy. */
	f = mk(FRAMER_F32, 2, FRAMER_F32, 4, 8, false);
	assert_int_equal(framer_push(f, &q, in), 0);
	assert_int_equal(framer_pop(f, lf, rf, NULL), 0);
	for (i = 0; i < 4; i++) {
		assert_true(lf[i] == in[2 * i]);
		assert_true(rf[i] == in[2 * i + 1]);
	}
	framer_free(f);
}

/* Values a 32767-scaled converter produced from S16 come back exactly. */
static void framer_f32_to_s16_rounds_and_clamps(void **state)
{
	float in[2 * 8] = {
		1.5f, -2.0f,                    /* clamp */
		1.0f, -1.0f,                    /* full scale */
		NAN, 0.5f / 32768.0f,           /* NaN -> 0; half -> even */
		8192.0f / 32767.0f, -12.0f / 32767.0f,
		1.5f / 32768.0f, -1.5f / 32768.0f,
		0, 0, 0, 0, 0, 0,
	};
	int16_t l[8], r[8];
	struct framer_quantum q = { .rate_diff = 1.0, .samples = 8 };
	struct framer *f = mk(FRAMER_F32, 2, FRAMER_S16, 8, 8, false);

	(void)state;
	assert_int_equal(framer_push(f, &q, in), 0);
	assert_int_equal(framer_pop(f, l, r, NULL), 0);
	assert_int_equal(l[0], 32767);
	assert_int_equal(r[0], -32768);
	assert_int_equal(l[1], 32767);
	assert_int_equal(r[1], -32768);
	assert_int_equal(l[2], 0);
	assert_int_equal(r[2], 0);
	assert_int_equal(l[3], 8192);
	assert_int_equal(r[3], -12);
	assert_int_equal(l[4], 2);
	assert_int_equal(r[4], -2);
	framer_free(f);
}

static void framer_mono_downmix(void **state)
{
	int16_t in[2 * 4] = { 1000, 3000, -100, 101, 32767, 32767, -32768,
			      -32768 };
	float fin[2 * 4] = { 0.25f, 0.75f, -1.0f, 1.0f, 0.1f, 0.3f, 0, 0 };
	float lf[4], rf[4];
	int16_t l[4], r[4], m[4] = { 7, -7, 9, -9 };
	struct framer_quantum q = { .rate_diff = 1.0, .samples = 4 };
	struct framer *f;

	(void)state;
	f = mk(FRAMER_S16, 2, FRAMER_S16, 4, 4, true);
	assert_int_equal(framer_push(f, &q, in), 0);
	assert_int_equal(framer_pop(f, l, r, NULL), 0);
	assert_int_equal(l[0], 2000);
	assert_int_equal(l[1], 0); /* 0.5 rounds to even */
	assert_int_equal(l[2], 32767);
	assert_int_equal(l[3], -32768);
	assert_memory_equal(l, r, sizeof(l));
	framer_free(f);

	f = mk(FRAMER_F32, 2, FRAMER_F32, 4, 4, true);
	assert_int_equal(framer_push(f, &q, fin), 0);
	assert_int_equal(framer_pop(f, lf, rf, NULL), 0);
	assert_true(lf[0] == 0.5f);
	assert_true(lf[1] == 0.0f);
	assert_true(fabsf(lf[2] - 0.2f) < 1e-7f);
	assert_memory_equal(lf, rf, sizeof(lf));
	framer_free(f);

	/* A mono input goes to both ears, with or without the option. */
	f = mk(FRAMER_S16, 1, FRAMER_S16, 4, 4, false);
	assert_int_equal(framer_quantum_bytes(f, 4), 8);
	assert_int_equal(framer_push(f, &q, m), 0);
	assert_int_equal(framer_pop(f, l, r, NULL), 0);
	assert_memory_equal(l, m, sizeof(m));
	assert_memory_equal(r, m, sizeof(m));
	framer_free(f);
}

/* Position jumps and producer drops mark the frames they touch. */
static void framer_flags_discontinuities(void **state)
{
	struct framer *f = mk(FRAMER_S16, 2, FRAMER_S16, FRAME, QUANTUM, false);
	static int16_t pcm[2 * QUANTUM];
	struct framer_quantum q = { .nsec = 1, .rate_diff = 1.0,
				    .samples = QUANTUM };
	struct framer_frame fr;
	struct framer_stats st;

	(void)state;
	fill_s16(pcm, 0, QUANTUM);
	q.position = 1000;
	assert_int_equal(framer_push(f, &q, pcm), 0);
	assert_int_equal(framer_pop(f, NULL, NULL, &fr), 0); /* 0..479 */
	assert_false(fr.discont);
	assert_int_equal(framer_pop(f, NULL, NULL, &fr), 0); /* 480..959 */
	assert_false(fr.discont);
	/* The next cycle starts 1024 samples late (an xrun). */
	q.position = 1000 + 2 * QUANTUM;
	assert_int_equal(framer_push(f, &q, pcm), 0);
	/* 960..1439 straddles the jump. */
	assert_int_equal(framer_pop(f, NULL, NULL, &fr), 0);
	assert_true(fr.discont);
	assert_int_equal(fr.position, 1000 + 960);
	assert_int_equal(framer_pop(f, NULL, NULL, &fr), 0);
	assert_false(fr.discont);
	/* Samples from the second quantum keep its positions. */
	assert_int_equal(fr.position, 1000 + 2 * QUANTUM + (1440 - 1024));
	framer_get_stats(f, &st);
	assert_int_equal(st.discont, 1);

	/* A producer drop is a discontinuity even if positions line up;
	 * here the quantum starts exactly on a frame boundary. */
	framer_reset(f);
	q.position = 0;
	q.samples = FRAME;
	assert_int_equal(framer_push(f, &q, pcm), 0);
	q.position = FRAME;
	q.flags = FRAMER_Q_AFTER_DROP;
	assert_int_equal(framer_push(f, &q, pcm), 0);
	assert_int_equal(framer_pop(f, NULL, NULL, &fr), 0);
	assert_false(fr.discont);
	assert_int_equal(framer_pop(f, NULL, NULL, &fr), 0);
	assert_true(fr.discont);

	q.flags = FRAMER_Q_NO_CLOCK;
	q.position = 2 * FRAME;
	assert_int_equal(framer_push(f, &q, pcm), 0);
	assert_int_equal(framer_pop(f, NULL, NULL, &fr), 0);
	assert_true(fr.no_clock);
	framer_free(f);
}

static void framer_full_and_bad_quanta(void **state)
{
	struct framer *f = mk(FRAMER_S16, 2, FRAMER_S16, FRAME, QUANTUM, false);
	static int16_t pcm[2 * QUANTUM];
	struct framer_quantum q = { .rate_diff = 1.0, .samples = QUANTUM };
	int16_t l[FRAME], r[FRAME];
	struct framer_frame fr;
	uint32_t i;

	(void)state;
	fill_s16(pcm, 0, QUANTUM);
	q.samples = 0;
	assert_int_equal(framer_push(f, &q, pcm), -EINVAL);
	q.samples = QUANTUM + 1;
	assert_int_equal(framer_push(f, &q, pcm), -EINVAL);
	/* Capacity is one frame plus one quantum. */
	q.samples = QUANTUM;
	assert_int_equal(framer_push(f, &q, pcm), 0);
	q.samples = FRAME;
	assert_int_equal(framer_push(f, &q, pcm), 0);
	q.samples = 1;
	assert_int_equal(framer_push(f, &q, pcm), -ENOSPC);
	assert_int_equal(framer_fill(f), QUANTUM + FRAME);
	assert_int_equal(framer_pop(f, NULL, NULL, NULL), 0);
	assert_int_equal(framer_push(f, &q, pcm), 0);

	/* The smallest quanta still fill a frame: one sample each. */
	framer_reset(f);
	for (i = 0; i < FRAME; i++) {
		q.position = i;
		assert_int_equal(framer_push(f, &q, pcm + 2 * i), 0);
	}
	assert_int_equal(framer_frames_ready(f), 1);
	for (i = 0; i < QUANTUM; i++) {
		q.position = FRAME + i;
		if (framer_push(f, &q, pcm) < 0) {
			break;
		}
	}
	/* Refused only with a whole frame waiting. */
	assert_true(framer_frames_ready(f) >= 1);
	assert_int_equal(framer_pop(f, l, r, &fr), 0);
	assert_int_equal(fr.position, 0);
	assert_false(fr.discont);
	for (i = 0; i < FRAME; i++) {
		assert_int_equal(l[i], pat_l(i));
		assert_int_equal(r[i], pat_r(i));
	}
	framer_free(f);
}

static void put_record(struct spsc *ring, uint64_t pos, uint32_t n,
		       const int16_t *pcm, uint32_t flags)
{
	struct framer_quantum q = {
		.nsec = pos * 1000, .position = pos, .rate_diff = 1.0,
		.samples = n, .flags = flags,
	};

	assert_int_equal(spsc_write(ring, &q, sizeof(q)), 0);
	assert_int_equal(spsc_write(ring, pcm, (size_t)n * 4), 0);
}

/* Pop the frame starting at sample `first`, from a record starting at
 * sample rec (records carry nsec = position * 1000). */
static void check_ring_frame(struct framer *f, uint64_t first, uint64_t rec)
{
	int16_t l[FRAME], r[FRAME];
	struct framer_frame fr;
	uint32_t i;

	assert_int_equal(framer_pop(f, l, r, &fr), 0);
	assert_int_equal(fr.position, first);
	assert_int_equal(fr.nsec, expect_nsec(rec * 1000, first - rec, 1.0));
	for (i = 0; i < FRAME; i++) {
		assert_int_equal(l[i], pat_l(first + i));
		assert_int_equal(r[i], pat_r(first + i));
	}
}

/* The sink's ring records, through framer_pull_ring(). */
static void framer_pulls_ring_records(void **state)
{
	static uint8_t mem[1 << 16];
	static int16_t pcm[2 * 2048], scratch[2 * 2048];
	struct framer *f = mk(FRAMER_S16, 2, FRAMER_S16, FRAME, 2048, false);
	struct framer_quantum q = { .position = 0, .rate_diff = 1.0,
				    .samples = 100 };
	struct framer_stats st;
	struct spsc ring;
	static uint64_t starts[4000];
	uint64_t in = 0, popped = 0, first;
	uint32_t it, n, nrec = 0, ri = 0;
	int rc;

	(void)state;
	assert_int_equal(spsc_init(&ring, mem, sizeof(mem)), 0);
	assert_int_equal(framer_pull_ring(f, &ring, scratch, sizeof(scratch)),
			 -EAGAIN);
	/* Header alone (the producer between its two writes): wait. */
	assert_int_equal(spsc_write(&ring, &q, sizeof(q)), 0);
	assert_int_equal(framer_pull_ring(f, &ring, scratch, sizeof(scratch)),
			 -EAGAIN);
	fill_s16(pcm, 0, 100);
	assert_int_equal(spsc_write(&ring, pcm, 400), 0);
	assert_int_equal(framer_pull_ring(f, &ring, scratch, sizeof(scratch)),
			 0);
	in = 100;
	starts[nrec++] = 0;
	/* A malformed record is skipped, and the next one still parses. */
	put_record(&ring, 0, 0, pcm, 0);
	assert_int_equal(framer_pull_ring(f, &ring, scratch, sizeof(scratch)),
			 -EBADMSG);
	framer_get_stats(f, &st);
	assert_int_equal(st.bad_records, 1);

	srand(7);
	for (it = 0; it < 3000; it++) {
		n = 1 + (uint32_t)rand() % 2048;
		fill_s16(pcm, in, n);
		if (spsc_write_avail(&ring) >= sizeof(q) + (size_t)n * 4) {
			put_record(&ring, in, n, pcm, 0);
			starts[nrec++] = in;
			in += n;
		}
		for (;;) {
			while (framer_frames_ready(f) > 0) {
				first = popped * FRAME;
				/* The record holding the first sample. */
				while (ri + 1 < nrec &&
				       starts[ri + 1] <= first) {
					ri++;
				}
				check_ring_frame(f, first, starts[ri]);
				popped++;
			}
			rc = framer_pull_ring(f, &ring, scratch,
					      sizeof(scratch));
			if (rc == -EAGAIN) {
				break;
			}
			assert_int_equal(rc, 0);
		}
	}
	assert_int_equal(spsc_read_avail(&ring), 0);
	assert_int_equal(popped * FRAME + framer_fill(f), in);
	framer_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(framer_rejects_bad_config),
		cmocka_unit_test(framer_cuts_1024_into_480_exactly),
		cmocka_unit_test(framer_random_quanta_exact),
		cmocka_unit_test(framer_nsec_follows_rate_diff),
		cmocka_unit_test(framer_deinterleaves_formats),
		cmocka_unit_test(framer_f32_to_s16_rounds_and_clamps),
		cmocka_unit_test(framer_mono_downmix),
		cmocka_unit_test(framer_flags_discontinuities),
		cmocka_unit_test(framer_full_and_bad_quanta),
		cmocka_unit_test(framer_pulls_ring_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
