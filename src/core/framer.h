/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_FRAMER_H
#define TTWS_CORE_FRAMER_H

/*
 * Cut fixed-size per-ear frames out of a stream of interleaved PCM quanta.
 *
 * PipeWire hands a sink one quantum per graph cycle (1024 samples by
 * default, whatever the graph settled on), while the link sends fixed
 * codec frames (480 samples for 10 ms at 48 kHz, 360 for 7.5 ms); neither
 * size divides the other, so a frame usually straddles two quanta. The
 * framer keeps the remainder and, for every frame, the graph position and
 * host instant of its first sample: the position and nsec of the quantum
 * that sample came from (spa_io_clock.position/.nsec of that cycle) plus
 * its offset in the quantum, at the cycle's rate_diff.
 *
 * It deinterleaves stereo (FL, FR) or mono F32 or S16 into one buffer per
 * ear, S16 or F32, optionally the (L + R) / 2 downmix to both ears.
 * Conversions go through float: S16 -> float is s / 32768, float -> S16 is
 * round-to-nearest(f * 32768) clamped to [-32768, 32767], so S16 in,
 * S16 out is exact and a value that went S16 -> F32 in PipeWire's
 * audioconvert comes back exactly (for |s| < 16384 whether the converter
 * scaled by 32767 or 32768).
 *
 * Pure: no clock reads, no logging; all memory is allocated in
 * framer_new(). One thread uses a framer (the RT thread).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct spsc;

enum framer_fmt {
	FRAMER_S16 = 1, /* signed 16-bit, host endian */
	FRAMER_F32 = 2, /* float, host endian, full scale +-1.0 */
};

enum framer_ear {
	FRAMER_LEFT = 0,
	FRAMER_RIGHT = 1,
	FRAMER_N_EARS = 2,
};

struct framer_config {
	enum framer_fmt in_fmt;  /* interleaved input */
	uint32_t in_channels;    /* 1 (mono) or 2 (FL, FR) */
	enum framer_fmt out_fmt; /* each ear's frame */
	uint32_t frame_samples;  /* per frame, e.g. 480 */
	uint32_t rate_hz;        /* sample rate, for the nsec of a sample */
	uint32_t max_quantum;    /* largest quantum ever pushed, samples */
	bool mono;               /* both ears get (L + R) / 2 */
};

/* framer_quantum.flags */
enum framer_quantum_flag {
	/* The producer dropped quanta just before this one (ring full). */
	FRAMER_Q_AFTER_DROP = 1u << 0,
	/* The producer had no position io: nsec/position are not valid. */
	FRAMER_Q_NO_CLOCK = 1u << 1,
};

/*
 * One quantum, and the record header of the sink's SPSC ring: each record
 * is this struct followed by samples * in_channels interleaved samples.
 */
struct framer_quantum {
	uint64_t nsec;     /* host CLOCK_MONOTONIC ns of the cycle
			    * (spa_io_clock.nsec) */
	uint64_t position; /* graph sample index of the first sample
			    * (spa_io_clock.position) */
	double rate_diff;  /* spa_io_clock.rate_diff (graph clock vs
			    * monotonic); <= 0 or not finite means 1.0 */
	uint32_t samples;  /* per channel */
	uint32_t flags;    /* enum framer_quantum_flag */
	uint64_t in_ns;    /* host ns the producer took the quantum (the
			    * sink's process() entry), 0 if unknown; the
			    * framer ignores it, the consumer measures the
			    * hand-over with it */
};

struct framer_frame {
	uint64_t seq;      /* frames popped before this one since reset */
	uint64_t position; /* graph sample index of the first sample */
	uint64_t nsec;     /* host ns of the first sample: quantum nsec +
			    * offset * 1e9 / (rate * rate_diff), rounded to
			    * the nearest ns */
	bool discont;      /* a position jump or a producer drop precedes
			    * the first sample or lies inside the frame */
	bool no_clock;     /* some sample came from a FRAMER_Q_NO_CLOCK
			    * quantum: position/nsec are best effort */
};

struct framer_stats {
	uint64_t quanta;        /* pushed */
	uint64_t samples_in;    /* per channel */
	uint64_t frames_out;
	uint64_t discont;       /* quanta starting a discontinuity */
	uint64_t bad_records;   /* ring records rejected (framer_pull_ring) */
};

struct framer;

/*
 * Validate c (formats known, 1 or 2 channels, frame_samples, rate_hz and
 * max_quantum non-zero) and allocate a framer holding one frame plus one
 * quantum per ear. Returns 0, -EINVAL or -ENOMEM.
 */
int framer_new(const struct framer_config *c, struct framer **ret);
struct framer *framer_free(struct framer *f);

/*
 * Downmix from the next quantum pushed on (a live reconfiguration):
 * samples already buffered keep what they were cut as.
 */
void framer_set_mono(struct framer *f, bool mono);

/* Forget buffered samples and the position history; stats stay. */
void framer_reset(struct framer *f);

/* Bytes of interleaved input PCM in a quantum of `samples`. */
size_t framer_quantum_bytes(const struct framer *f, uint32_t samples);

/* Bytes of one ear's frame in the output format. */
size_t framer_frame_bytes(const struct framer *f);

/*
 * Append quantum q whose samples are at pcm (framer_quantum_bytes(f,
 * q->samples) bytes, any alignment). All or nothing: -ENOSPC when the
 * samples do not fit next to what is buffered, which happens only while a
 * whole frame is waiting (pop it first); -EINVAL when q->samples is 0 or
 * above max_quantum.
 */
int framer_push(struct framer *f, const struct framer_quantum *q,
		const void *pcm);

/* Whole frames ready to pop. */
uint32_t framer_frames_ready(const struct framer *f);

/* Samples buffered per ear (for ring-level accounting). */
uint32_t framer_fill(const struct framer *f);

/*
 * Take the next frame: framer_frame_bytes() into each of left and right
 * (either may be NULL to discard that ear) and its timing into *ret (may
 * be NULL). Returns 0 or -EAGAIN (no whole frame buffered).
 */
int framer_pop(struct framer *f, void *left, void *right,
	       struct framer_frame *ret);

/*
 * Move one record (struct framer_quantum + PCM, as src/pw/sink writes it)
 * from ring into the framer, using scratch (scratch_len bytes, at least
 * framer_quantum_bytes(f, max_quantum)) for the PCM. Consumer side of the
 * ring. Returns 0; -EAGAIN when no whole record is in the ring yet;
 * -ENOSPC when it does not fit in the framer (nothing consumed: pop
 * first); -EBADMSG when the record is malformed (samples 0 or above
 * max_quantum): it is skipped and counted in bad_records.
 */
int framer_pull_ring(struct framer *f, struct spsc *ring, void *scratch,
		     size_t scratch_len);

void framer_get_stats(const struct framer *f, struct framer_stats *ret);

#endif
