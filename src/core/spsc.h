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

#endif
