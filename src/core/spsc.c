/* SPDX-License-Identifier: MIT */
#include "core/spsc.h"

#include <errno.h>
#include <string.h>

int spsc_init(struct spsc *r, void *mem, size_t cap)
{
	if (!r || !mem || cap < 2 || (cap & (cap - 1)) != 0) {
		return -EINVAL;
	}
	atomic_store_explicit(&r->head, 0, memory_order_relaxed);
	atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
	atomic_store_explicit(&r->refused, 0, memory_order_relaxed);
	atomic_store_explicit(&r->high_water, 0, memory_order_relaxed);
	r->cached_tail = 0;
	r->cached_head = 0;
	r->buf = mem;
	r->cap = cap;
	r->mask = cap - 1;
	return 0;
}

size_t spsc_write_avail(struct spsc *r)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);

	/* Acquire pairs with the consumer's release in spsc_read(): the
	 * bytes it consumed are no longer read once we see its position. */
	r->cached_tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	return r->cap - (size_t)(head - r->cached_tail);
}

size_t spsc_read_avail(struct spsc *r)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

	r->cached_head = atomic_load_explicit(&r->head, memory_order_acquire);
	return (size_t)(r->cached_head - tail);
}

static void spsc_copy_in(struct spsc *r, uint64_t pos, const void *src,
			 size_t len)
{
	size_t off = (size_t)pos & r->mask;
	size_t first = r->cap - off < len ? r->cap - off : len;

	memcpy(r->buf + off, src, first);
	memcpy(r->buf, (const uint8_t *)src + first, len - first);
}

static void spsc_copy_out(const struct spsc *r, uint64_t pos, void *dst,
			  size_t len)
{
	size_t off = (size_t)pos & r->mask;
	size_t first = r->cap - off < len ? r->cap - off : len;

	memcpy(dst, r->buf + off, first);
	memcpy((uint8_t *)dst + first, r->buf, len - first);
}

/* Producer only: a plain load and store (one writer), read anywhere. */
static void spsc_count(_Atomic uint64_t *c, uint64_t n)
{
	uint64_t v = atomic_load_explicit(c, memory_order_relaxed);

	atomic_store_explicit(c, v + n, memory_order_relaxed);
}

/* Producer, after head moved to head: the fill it sees (cached_tail was
 * just refreshed by spsc_write_avail()). */
static void spsc_note_fill(struct spsc *r, uint64_t head)
{
	uint64_t fill = head - r->cached_tail;

	if (fill > atomic_load_explicit(&r->high_water, memory_order_relaxed)) {
		atomic_store_explicit(&r->high_water, fill,
				      memory_order_relaxed);
	}
}

size_t spsc_write_some(struct spsc *r, const void *src, size_t len)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t avail = spsc_write_avail(r);

	if (len > avail) {
		len = avail;
		spsc_count(&r->refused, 1);
	}
	if (len == 0) {
		return 0;
	}
	spsc_copy_in(r, head, src, len);
	atomic_store_explicit(&r->head, head + len, memory_order_release);
	spsc_note_fill(r, head + len);
	return len;
}

int spsc_write(struct spsc *r, const void *src, size_t len)
{
	if (len > spsc_write_avail(r)) {
		spsc_count(&r->refused, 1);
		return -ENOSPC;
	}
	spsc_write_some(r, src, len);
	return 0;
}

int spsc_peek(struct spsc *r, void *dst, size_t len)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

	if (len > spsc_read_avail(r)) {
		return -ENODATA;
	}
	spsc_copy_out(r, tail, dst, len);
	return 0;
}

int spsc_read(struct spsc *r, void *dst, size_t len)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

	if (len > spsc_read_avail(r)) {
		return -ENODATA;
	}
	spsc_copy_out(r, tail, dst, len);
	atomic_store_explicit(&r->tail, tail + len, memory_order_release);
	return 0;
}

size_t spsc_skip(struct spsc *r, size_t len)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	size_t avail = spsc_read_avail(r);

	if (len > avail) {
		len = avail;
	}
	atomic_store_explicit(&r->tail, tail + len, memory_order_release);
	return len;
}

uint64_t spsc_written(const struct spsc *r)
{
	return atomic_load_explicit(&r->head, memory_order_acquire);
}

uint64_t spsc_consumed(const struct spsc *r)
{
	return atomic_load_explicit(&r->tail, memory_order_acquire);
}

void spsc_note_refused(struct spsc *r)
{
	spsc_count(&r->refused, 1);
}

uint64_t spsc_refused(const struct spsc *r)
{
	return atomic_load_explicit(&r->refused, memory_order_relaxed);
}

uint64_t spsc_high_water(const struct spsc *r)
{
	return atomic_load_explicit(&r->high_water, memory_order_relaxed);
}

size_t spsc_capacity(const struct spsc *r)
{
	return r->cap;
}
