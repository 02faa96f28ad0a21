/* SPDX-License-Identifier: MIT */
#include "daemon/lathist.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/macro.h"

/* A published copy: seq is odd while the recorder writes it; gen is the
 * reset generation it was copied in (lathist_reset()). */
struct lathist_slot {
	_Atomic uint32_t seq;
	_Atomic uint64_t gen;
	struct hist h;
};

struct lathist {
	unsigned n;
	unsigned next; /* the next to publish (recorder) */
	/* Bumped by lathist_reset(); written by the recorder only. */
	_Atomic uint64_t gen;
	struct hist *live;	    /* n, the recorder's */
	struct lathist_slot *slots; /* n, published */
};

int lathist_new(unsigned n, struct lathist **ret)
{
	struct lathist *s;
	unsigned i;

	if (n == 0 || !ret) {
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		return -ENOMEM;
	}
	s->n = n;
	s->live = calloc(n, sizeof(*s->live));
	s->slots = calloc(n, sizeof(*s->slots));
	if (!s->live || !s->slots) {
		lathist_free(s);
		return -ENOMEM;
	}
	/* Every page written now, on this thread: calloc's fresh pages are
	 * mapped only when first touched. */
	for (i = 0; i < n; i++) {
		hist_init(&s->live[i]);
		hist_init(&s->slots[i].h);
		atomic_init(&s->slots[i].seq, 0);
		atomic_init(&s->slots[i].gen, 0);
	}
	atomic_init(&s->gen, 0);
	*ret = s;
	return 0;
}

struct lathist *lathist_free(struct lathist *s)
{
	if (s) {
		free(s->live);
		free(s->slots);
		free(s);
	}
	return NULL;
}

unsigned lathist_size(const struct lathist *s)
{
	return s->n;
}

struct hist *lathist_live(struct lathist *s, unsigned i)
{
	return i < s->n ? &s->live[i] : NULL;
}

void lathist_publish(struct lathist *s, unsigned k)
{
	uint64_t gen = atomic_load_explicit(&s->gen, memory_order_relaxed);

	if (k > s->n) {
		k = s->n;
	}
	while (k--) {
		struct lathist_slot *slot = &s->slots[s->next];
		uint32_t seq;

		/* The same seqlock as engine_snapshot()'s: readers retry,
		 * the writer never waits for them. */
		seq = atomic_load_explicit(&slot->seq, memory_order_relaxed);
		atomic_store_explicit(&slot->seq, seq + 1,
				      memory_order_relaxed);
		atomic_thread_fence(memory_order_release);
		atomic_store_explicit(&slot->gen, gen, memory_order_relaxed);
		memcpy(&slot->h, &s->live[s->next], sizeof(slot->h));
		atomic_store_explicit(&slot->seq, seq + 2,
				      memory_order_release);
		s->next = s->next + 1 < s->n ? s->next + 1 : 0;
	}
}

void lathist_reset(struct lathist *s)
{
	uint64_t gen = atomic_load_explicit(&s->gen, memory_order_relaxed);
	unsigned i;

	/* Published copies of the old generation read as empty from here
	 * on, without copying a slot now. */
	atomic_store_explicit(&s->gen, gen + 1, memory_order_release);
	for (i = 0; i < s->n; i++) {
		hist_reset(&s->live[i]);
	}
}

int lathist_get(struct lathist *s, unsigned i, struct hist *ret)
{
	struct lathist_slot *slot;
	uint64_t gen, slot_gen;
	uint32_t a, b;

	if (i >= s->n) {
		return -EINVAL;
	}
	slot = &s->slots[i];
	gen = atomic_load_explicit(&s->gen, memory_order_acquire);
	do {
		a = atomic_load_explicit(&slot->seq, memory_order_acquire);
		slot_gen =
		    atomic_load_explicit(&slot->gen, memory_order_relaxed);
		memcpy(ret, &slot->h, sizeof(*ret));
		atomic_thread_fence(memory_order_acquire);
		b = atomic_load_explicit(&slot->seq, memory_order_relaxed);
	} while ((a & 1) || a != b);
	if (slot_gen != gen) {
		/* Copied before a reset the reader has already seen. */
		hist_init(ret);
	}
	return 0;
}

unsigned lathist_per_call(unsigned n, uint64_t period_ns, uint64_t max_age_ns)
{
	uint64_t calls, k;

	if (n == 0) {
		return 1;
	}
	if (period_ns == 0 || max_age_ns / period_ns < 2) {
		return n;
	}
	/* Calls allowed between two copies of one histogram. */
	calls = max_age_ns / period_ns - 1;
	k = (n + calls - 1) / calls;
	return (unsigned)MIN(k, (uint64_t)n);
}
