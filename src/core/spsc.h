/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_SPSC_H
#define TTWS_CORE_SPSC_H

/*
 * Wait-free single-producer single-consumer byte ring.
 *
 * One thread writes, one thread reads; neither ever blocks, spins or
 * allocates. Used to hand PCM from PipeWire's data thread to the RT thread
 * and log records from the RT thread to the main thread.
 *
 * Positions are free-running 64-bit byte counters (they never wrap in
 * practice: 2^64 bytes), so "full" and "empty" need no spare slot. The
 * producer publishes its position with a release store after copying the
 * bytes in; the consumer reads it with an acquire load before copying them
 * out, and the reverse for the consumer's position (C11 memory model).
 *
 * The bound is the capacity: a write that does not fit is refused whole
 * (the newest data is the one dropped; what is queued stays intact) and
 * counted, so every ring can say how often it was full (spsc_refused())
 * and how full it ever got (spsc_high_water()), for ttwsd's "bounds"
 * status. Both are written by the producer alone and read from any thread.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct spsc {
	/* Producer side and consumer side on separate cache lines so the
	 * two threads do not bounce one line between cores. */
	_Alignas(64) _Atomic uint64_t head; /* bytes written, producer */
	uint64_t cached_tail;               /* producer's view of tail */
	/* Producer-written, any thread reads (relaxed): */
	_Atomic uint64_t refused;    /* writes refused: no room */
	_Atomic uint64_t high_water; /* most bytes ever queued at once */
	_Alignas(64) _Atomic uint64_t tail; /* bytes read, consumer */
	uint64_t cached_head;               /* consumer's view of head */
	_Alignas(64) uint8_t *buf;
	size_t cap;  /* power of two */
	size_t mask;
};

/*
 * Use mem (cap bytes, a power of two >= 2, owned by the caller and
 * outliving the ring) as an empty ring. Returns 0 or -EINVAL.
 */
int spsc_init(struct spsc *r, void *mem, size_t cap);

/* Bytes the producer can write now. Producer thread. */
size_t spsc_write_avail(struct spsc *r);

/* Bytes the consumer can read now. Consumer thread. */
size_t spsc_read_avail(struct spsc *r);

/*
 * Copy len bytes in, all or nothing. Returns 0, or -ENOSPC (nothing
 * written). Producer thread.
 */
int spsc_write(struct spsc *r, const void *src, size_t len);

/*
 * Copy up to len bytes in; returns how many were written. Producer.
 */
size_t spsc_write_some(struct spsc *r, const void *src, size_t len);

/*
 * Copy len bytes out, all or nothing. Returns 0, or -ENODATA (nothing
 * consumed). Consumer thread.
 */
int spsc_read(struct spsc *r, void *dst, size_t len);

/* Copy len bytes out without consuming them. 0 or -ENODATA. Consumer. */
int spsc_peek(struct spsc *r, void *dst, size_t len);

/* Drop len bytes (at most what is there); returns how many. Consumer. */
size_t spsc_skip(struct spsc *r, size_t len);

/*
 * Total bytes ever written and read (monotonic), for fill-level and
 * drop accounting. Any thread; the two need not be from the same instant.
 */
uint64_t spsc_written(const struct spsc *r);
uint64_t spsc_consumed(const struct spsc *r);

/*
 * Producer: count a write it did not attempt because it would not fit
 * (a producer that checks spsc_write_avail() for a record written in
 * several pieces). spsc_write() counts its own refusals.
 */
void spsc_note_refused(struct spsc *r);

/*
 * Writes refused for lack of room since spsc_init() (spsc_write()'s
 * -ENOSPC, spsc_note_refused(); a spsc_write_some() cut short counts
 * once). Any thread.
 */
uint64_t spsc_refused(const struct spsc *r);

/*
 * The most bytes queued at once since spsc_init(), as the producer saw
 * the ring right after a write (the consumer may have taken some in the
 * meantime, never added any: it is not an underestimate). Any thread.
 */
uint64_t spsc_high_water(const struct spsc *r);

/* Capacity in bytes, fixed at spsc_init(). Any thread. */
size_t spsc_capacity(const struct spsc *r);

#endif
