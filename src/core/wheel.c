/* SPDX-License-Identifier: MIT */
/*
 * Hierarchical timer wheel with exact 1 ns resolution.
 *
 * The layout follows the idea of William Ahern's timeout.c: levels of 64
 * slots, one 64-bit occupancy bitmap per level, and timers that cascade
 * towards level 0 as time approaches them. The placement rule is ours:
 *
 *   a pending timer with firing instant e > now lives at level
 *   L = msb(e ^ now) / 6, slot = digit L of e (bits 6L..6L+5).
 *
 * So e and now agree on every digit above L and e's digit L is larger than
 * now's. Three facts follow, and the whole module rests on them:
 *  1. Every level-L timer fires after every timer of a lower level, and in
 *     a level the slots are ordered: the earliest timer is in the lowest
 *     set bit of the lowest non-empty level (wheel_next_deadline()).
 *  2. When time moves from now to now', with T = msb(now ^ now') / 6,
 *     levels above T are untouched (same digits, same slots), levels
 *     below T and the slots of level T before now's digit T have fully
 *     elapsed (splice them whole onto the expired chain), and only the
 *     one slot of level T that now' lies in must be looked at timer by
 *     timer: those due fire, the rest drop to a lower level. Nothing else
 *     moves, so an advance costs the slots it passes, not the timers that
 *     stay.
 *  3. Timers with the same firing instant are always in the same list,
 *     and lists are appended at the tail, so equal instants keep their add
 *     order through any number of cascades.
 * Level 0 slots are 1 ns wide and 11 levels cover 64 bits (the top level
 * holds bits 60..63), so there is no overflow list and no rounding: a hard
 * timer fires exactly when now >= deadline.
 *
 * An expired batch is the due list, then fully elapsed slots in level and
 * slot order, then the due part of the cascaded slot: sorted except inside
 * a slot of level >= 1. A natural merge sort puts it in order in one pass
 * when it is already sorted and stays stable, so FIFO survives.
 *
 * Soft timers get a firing instant rounded up to a multiple of the largest
 * power of two <= slack: deadlines that are close land on the same instant,
 * hence the same level 0 slot and the same wake-up.
 *
 * Each slot keeps a lower bound of the earliest instant per class, exact
 * unless the timer that set it was cancelled (the slot is then "stale" and
 * rescanned on demand), so wheel_next_deadline() is O(levels) and exact.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/wheel.h"
#include "core/macro.h"

#define WHEEL_BITS 6
#define WHEEL_SLOTS (1u << WHEEL_BITS)
#define WHEEL_MASK (WHEEL_SLOTS - 1)
/* ceil(64 / 6): every uint64_t distance has a level, no overflow list. */
#define WHEEL_LEVELS 11
#define WHEEL_NSLOTS (WHEEL_LEVELS * WHEEL_SLOTS)

/* wheel_timer.where beyond the slot indices. */
#define WHEEL_WHERE_DUE UINT32_C(0xfffffffe) /* fires at next wheel_expire */
#define WHEEL_WHERE_RUN UINT32_C(0xffffffff) /* in the running batch */

struct wheel_slot {
	struct wheel_link head;
	/*
	 * Per class, a lower bound of the slot's firing instants, exact
	 * while the slot's stale bit is clear; UINT64_MAX when none.
	 */
	uint64_t min_ns[2];
};

struct wheel {
	uint64_t now_ns;
	uint64_t levels;	      /* bit L: bits[L] != 0 */
	uint64_t bits[WHEEL_LEVELS];  /* bit s: slot s is non-empty */
	uint64_t stale[WHEEL_LEVELS]; /* bit s: min_ns needs a rescan */
	size_t count;		      /* every pending timer, all lists */
	size_t due_hard;	      /* hard timers on the due list */
	bool running;		      /* inside wheel_expire() */
	struct wheel_link due;	      /* instant <= now_ns when added */
	struct wheel_link run;	      /* batch of the running expiry */
	struct wheel_slot slot[WHEEL_NSLOTS];
};

static inline struct wheel_timer *wheel_timer_of(struct wheel_link *l)
{
	return container_of(l, struct wheel_timer, link);
}

static inline const struct wheel_timer *
wheel_timer_of_const(const struct wheel_link *l)
{
	return container_of(l, const struct wheel_timer, link);
}

/* The level a timer at instant e files under when the time is now. */
static inline unsigned wheel_level(uint64_t e, uint64_t now)
{
	return (unsigned)(63 - __builtin_clzll(e ^ now)) / WHEEL_BITS;
}

static inline unsigned wheel_digit(uint64_t t, unsigned level)
{
	return (unsigned)(t >> (level * WHEEL_BITS)) & WHEEL_MASK;
}

static inline void wheel_list_init(struct wheel_link *h)
{
	h->next = h;
	h->prev = h;
}

static inline bool wheel_list_empty(const struct wheel_link *h)
{
	return h->next == h;
}

static inline void wheel_list_append(struct wheel_link *h, struct wheel_link *n)
{
	struct wheel_link *tail = h->prev;

	n->next = h;
	n->prev = tail;
	tail->next = n;
	h->prev = n;
}

/*
 * The instant a timer fires at. A soft timer is rounded up to a multiple
 * of g, the largest power of two <= slack: at most g - 1 < slack late, and
 * timers with nearby deadlines and similar slack share the instant. When
 * rounding would wrap past UINT64_MAX the deadline itself is used.
 */
static uint64_t wheel_fire_ns(enum wheel_class cls, uint64_t deadline_ns,
			      uint64_t slack_ns)
{
	uint64_t g;

	if (cls != WHEEL_SOFT || slack_ns < 2) {
		return deadline_ns;
	}
	g = UINT64_C(1) << (63 - __builtin_clzll(slack_ns));
	if (deadline_ns > UINT64_MAX - (g - 1)) {
		return deadline_ns;
	}
	return (deadline_ns + g - 1) & ~(g - 1);
}

/* Empty the list and minima of slot idx; the bitmaps are the caller's. */
static void wheel_slot_reset(struct wheel *w, unsigned idx)
{
	struct wheel_slot *s = &w->slot[idx];

	wheel_list_init(&s->head);
	s->min_ns[WHEEL_HARD] = UINT64_MAX;
	s->min_ns[WHEEL_SOFT] = UINT64_MAX;
}

/* Slot idx has become empty: reset it and clear it from the bitmaps. */
static void wheel_slot_clear(struct wheel *w, unsigned idx)
{
	unsigned level = idx / WHEEL_SLOTS;
	uint64_t bit = UINT64_C(1) << (idx % WHEEL_SLOTS);

	wheel_slot_reset(w, idx);
	w->bits[level] &= ~bit;
	w->stale[level] &= ~bit;
	if (!w->bits[level]) {
		w->levels &= ~(UINT64_C(1) << level);
	}
}

/* File t, whose expires_ns is > now_ns, in the slot fact 1 gives it. */
static inline void wheel_file(struct wheel *w, struct wheel_timer *t)
{
	uint64_t e = t->expires_ns;
	unsigned level = wheel_level(e, w->now_ns);
	unsigned digit = wheel_digit(e, level);
	unsigned idx = level * WHEEL_SLOTS + digit;
	struct wheel_slot *s = &w->slot[idx];

	wheel_list_append(&s->head, &t->link);
	t->where = idx;
	if (e < s->min_ns[t->cls]) {
		s->min_ns[t->cls] = e;
	}
	w->bits[level] |= UINT64_C(1) << digit;
	w->levels |= UINT64_C(1) << level;
}

static inline void wheel_enqueue(struct wheel *w, struct wheel_timer *t)
{
	if (t->expires_ns > w->now_ns) {
		wheel_file(w, t);
		return;
	}
	/*
	 * Already due: it fires at the next wheel_expire(), not at once and
	 * not in a running batch, so a callback that re-adds itself in the
	 * past cannot loop forever.
	 */
	wheel_list_append(&w->due, &t->link);
	t->where = WHEEL_WHERE_DUE;
	if (t->cls == WHEEL_HARD) {
		w->due_hard++;
	}
}

static void wheel_unlink(struct wheel *w, struct wheel_timer *t)
{
	struct wheel_link *prev = t->link.prev;
	struct wheel_link *next = t->link.next;
	uint32_t idx = t->where;

	prev->next = next;
	next->prev = prev;
	t->link.prev = NULL;
	t->link.next = NULL;
	w->count--;

	if (idx < WHEEL_NSLOTS) {
		/* prev == next only when both are the head: list empty. */
		if (prev == next) {
			wheel_slot_clear(w, idx);
		} else if (t->expires_ns == w->slot[idx].min_ns[t->cls]) {
			w->stale[idx / WHEEL_SLOTS] |= UINT64_C(1)
						       << (idx % WHEEL_SLOTS);
		}
	} else if (idx == WHEEL_WHERE_DUE && t->cls == WHEEL_HARD) {
		w->due_hard--;
	}
}

void wheel_timer_init(struct wheel_timer *t, enum wheel_class cls,
		      uint64_t slack_ns, wheel_fn fn)
{
	*t = (struct wheel_timer){
	    .cls = cls,
	    .slack_ns = cls == WHEEL_SOFT ? slack_ns : 0,
	    .fn = fn,
	};
}

bool wheel_pending(const struct wheel_timer *t)
{
	return t->link.prev != NULL;
}

struct wheel *wheel_new(uint64_t now_ns)
{
	struct wheel *w;
	unsigned i;

	w = calloc(1, sizeof(*w));
	if (!w) {
		return NULL;
	}
	w->now_ns = now_ns;
	wheel_list_init(&w->due);
	wheel_list_init(&w->run);
	for (i = 0; i < WHEEL_NSLOTS; i++) {
		wheel_slot_reset(w, i);
	}
	return w;
}

static void wheel_list_forget(struct wheel_link *h)
{
	struct wheel_link *l, *next;

	for (l = h->next; l != h; l = next) {
		next = l->next;
		l->prev = NULL;
		l->next = NULL;
	}
}

struct wheel *wheel_free(struct wheel *w)
{
	unsigned i;

	if (!w) {
		return NULL;
	}
	/* So that wheel_pending() is false and a late cancel is a no-op. */
	wheel_list_forget(&w->due);
	wheel_list_forget(&w->run);
	for (i = 0; i < WHEEL_NSLOTS; i++) {
		wheel_list_forget(&w->slot[i].head);
	}
	free(w);
	return NULL;
}

int wheel_add(struct wheel *w, struct wheel_timer *t, uint64_t deadline_ns)
{
	if (!t->fn || (t->cls != WHEEL_HARD && t->cls != WHEEL_SOFT)) {
		return -EINVAL;
	}
	if (t->link.prev) {
		wheel_unlink(w, t);
	}
	t->deadline_ns = deadline_ns;
	t->expires_ns = wheel_fire_ns(t->cls, deadline_ns, t->slack_ns);
	wheel_enqueue(w, t);
	w->count++;
	return 0;
}

void wheel_cancel(struct wheel *w, struct wheel_timer *t)
{
	if (t->link.prev) {
		wheel_unlink(w, t);
	}
}

/* Recompute the exact per-class minima of a stale slot. */
static void wheel_slot_rescan(struct wheel *w, unsigned idx)
{
	struct wheel_slot *s = &w->slot[idx];
	struct wheel_link *l;

	s->min_ns[WHEEL_HARD] = UINT64_MAX;
	s->min_ns[WHEEL_SOFT] = UINT64_MAX;
	for (l = s->head.next; l != &s->head; l = l->next) {
		const struct wheel_timer *t = wheel_timer_of(l);

		if (t->expires_ns < s->min_ns[t->cls]) {
			s->min_ns[t->cls] = t->expires_ns;
		}
	}
	w->stale[idx / WHEEL_SLOTS] &= ~(UINT64_C(1) << (idx % WHEEL_SLOTS));
}

static bool wheel_slot_has_hard(const struct wheel_slot *s)
{
	const struct wheel_link *l;

	for (l = s->head.next; l != &s->head; l = l->next) {
		if (wheel_timer_of_const(l)->cls == WHEEL_HARD) {
			return true;
		}
	}
	return false;
}

uint64_t wheel_next_deadline(struct wheel *w, bool *ret_hard)
{
	uint64_t next = UINT64_MAX;
	bool hard = false;

	if (!wheel_list_empty(&w->due)) {
		next = w->now_ns;
		hard = w->due_hard > 0;
	} else if (w->levels) {
		/* Fact 1: the earliest timer is in this one slot. */
		unsigned level = (unsigned)__builtin_ctzll(w->levels);
		unsigned digit = (unsigned)__builtin_ctzll(w->bits[level]);
		unsigned idx = level * WHEEL_SLOTS + digit;
		const struct wheel_slot *s = &w->slot[idx];

		if (w->stale[level] & (UINT64_C(1) << digit)) {
			wheel_slot_rescan(w, idx);
		}
		next = MIN(s->min_ns[WHEEL_HARD], s->min_ns[WHEEL_SOFT]);
		hard = s->min_ns[WHEEL_HARD] == next;
		if (next == UINT64_MAX) {
			/* Also the "no timer of this class" value: look. */
			hard = wheel_slot_has_hard(s);
		}
	}
	if (ret_hard) {
		*ret_hard = hard;
	}
	return next;
}

/*
 * Append the list of slot idx to the singly linked chain ending at *tailp
 * and empty the slot. The bitmaps are the caller's.
 */
static inline void wheel_splice(struct wheel *w, unsigned idx,
				struct wheel_link ***tailp)
{
	struct wheel_link *h = &w->slot[idx].head;

	**tailp = h->next;
	*tailp = &h->prev->next;
	wheel_slot_reset(w, idx);
}

/*
 * Fact 2: move every timer due at now_ns out of the wheel onto the chain
 * at *tailp, and return the index of the one slot whose timers must be
 * looked at one by one (out of the bitmaps, still to be emptied), or -1.
 * Does not change w->now_ns.
 */
static int wheel_collect(struct wheel *w, uint64_t now_ns,
			 struct wheel_link ***tailp)
{
	unsigned top = wheel_level(w->now_ns, now_ns);
	unsigned lo = wheel_digit(w->now_ns, top);
	unsigned hi = wheel_digit(now_ns, top);
	uint64_t below = w->levels & ((UINT64_C(1) << top) - 1);
	uint64_t bits, elapsed, hibit;
	unsigned digit;
	int cascade = -1;

	/* Levels under top lie in a block now_ns has left: all due. */
	while (below) {
		unsigned level = (unsigned)__builtin_ctzll(below);

		below &= below - 1;
		for (bits = w->bits[level]; bits; bits &= bits - 1) {
			digit = (unsigned)__builtin_ctzll(bits);
			wheel_splice(w, level * WHEEL_SLOTS + digit, tailp);
		}
		w->bits[level] = 0;
		w->stale[level] = 0;
	}
	w->levels &= ~((UINT64_C(1) << top) - 1);

	/* Level top: slots strictly between the two digits are due. */
	elapsed = ((UINT64_C(1) << hi) - 1) & ~((UINT64_C(2) << lo) - 1);
	for (bits = w->bits[top] & elapsed; bits; bits &= bits - 1) {
		digit = (unsigned)__builtin_ctzll(bits);
		wheel_splice(w, top * WHEEL_SLOTS + digit, tailp);
	}
	hibit = UINT64_C(1) << hi;
	if (w->bits[top] & hibit) {
		cascade = (int)(top * WHEEL_SLOTS + hi);
	}
	w->bits[top] &= ~(elapsed | hibit);
	w->stale[top] &= ~(elapsed | hibit);
	if (!w->bits[top]) {
		w->levels &= ~(UINT64_C(1) << top);
	}
	return cascade;
}

/* A timer of the cascaded slot: due, or filed lower (fact 2). */
static inline void wheel_refile(struct wheel *w, struct wheel_link *l,
				struct wheel_link ***tailp)
{
	struct wheel_timer *t = wheel_timer_of(l);

	if (t->expires_ns <= w->now_ns) {
		**tailp = l;
		*tailp = &l->next;
	} else {
		wheel_file(w, t);
	}
}

/*
 * Refile every timer of the cascaded slot idx, in list order (fact 3),
 * then empty it. The slot is a higher level than any timer refiled lands
 * in, so its list is not touched meanwhile.
 */
static void wheel_cascade(struct wheel *w, unsigned idx,
			  struct wheel_link ***tailp)
{
	struct wheel_link *h = &w->slot[idx].head, *l, *next;

	for (l = h->next; l != h; l = next) {
		next = l->next;
		wheel_refile(w, l, tailp);
	}
	wheel_slot_reset(w, idx);
}

/* Whether a fires strictly before b. */
static inline bool wheel_before(struct wheel_link *a, struct wheel_link *b)
{
	return wheel_timer_of(a)->expires_ns < wheel_timer_of(b)->expires_ns;
}

static struct wheel_link *wheel_merge(struct wheel_link *a,
				      struct wheel_link *b)
{
	struct wheel_link *head = NULL, **tail = &head;

	/* a precedes b in the batch: on ties a goes first (stability). */
	while (a && b) {
		if (wheel_before(b, a)) {
			*tail = b;
			tail = &b->next;
			b = b->next;
		} else {
			*tail = a;
			tail = &a->next;
			a = a->next;
		}
	}
	*tail = a ? a : b;
	return head;
}

/*
 * Stable natural merge sort of a NULL-terminated chain by expires_ns.
 * Maximal non-decreasing runs are pushed on a binary counter of merged
 * runs (bin[i] holds about 2^i runs and always precedes bin[i - 1] in the
 * batch), so an already sorted chain costs one pass and no merge, and the
 * stack is 64 pointers, not an allocation.
 */
static struct wheel_link *wheel_sort(struct wheel_link *list)
{
	struct wheel_link *bin[64]; /* bin[0..nbins) in use, may be NULL */
	struct wheel_link *run;
	unsigned i, nbins = 0;

	while (list) {
		struct wheel_link *last = list;

		while (last->next && !wheel_before(last->next, last)) {
			last = last->next;
		}
		run = list;
		list = last->next;
		last->next = NULL;
		for (i = 0; i < nbins && bin[i]; i++) {
			run = wheel_merge(bin[i], run);
			bin[i] = NULL;
		}
		if (i == nbins) {
			nbins++;
		}
		bin[i] = run;
	}
	run = NULL;
	for (i = 0; i < nbins; i++) {
		if (bin[i]) {
			run = run ? wheel_merge(bin[i], run) : bin[i];
		}
	}
	return run;
}

unsigned wheel_expire(struct wheel *w, uint64_t now_ns)
{
	struct wheel_link *chain = NULL, **tailp = &chain;
	struct wheel_link *l, *next;
	int cascade = -1;
	unsigned n = 0;

	/* A callback re-entering would corrupt the batch being run. */
	if (w->running) {
		return 0;
	}
	now_ns = MAX(now_ns, w->now_ns);

	/* Filed before this call with an instant <= the old now: first. */
	if (!wheel_list_empty(&w->due)) {
		*tailp = w->due.next;
		tailp = &w->due.prev->next;
		wheel_list_init(&w->due);
		w->due_hard = 0;
	}
	if (now_ns > w->now_ns && w->levels) {
		cascade = wheel_collect(w, now_ns, &tailp);
	}
	w->now_ns = now_ns;
	if (cascade >= 0) {
		wheel_cascade(w, (unsigned)cascade, &tailp);
	}
	*tailp = NULL;
	if (!chain) {
		return 0;
	}

	/*
	 * Callbacks may cancel or move timers of the batch that have not run
	 * yet, so the batch is a real list the usual unlink works on.
	 */
	for (l = wheel_sort(chain); l; l = next) {
		next = l->next;
		wheel_timer_of(l)->where = WHEEL_WHERE_RUN;
		wheel_list_append(&w->run, l);
	}

	w->running = true;
	while (!wheel_list_empty(&w->run)) {
		struct wheel_timer *t = wheel_timer_of(w->run.next);

		wheel_unlink(w, t);
		t->fn(t, now_ns);
		n++;
	}
	w->running = false;
	return n;
}

size_t wheel_count(const struct wheel *w)
{
	return w->count;
}

uint64_t wheel_now(const struct wheel *w)
{
	return w->now_ns;
}

/*
 * Walk one list checking links and the common timer fields; adds its
 * length to *n. Stops after limit nodes so a corrupted cycle ends.
 */
static int wheel_check_list(const struct wheel_link *h, uint32_t where,
			    size_t limit, size_t *n)
{
	const struct wheel_link *l;
	size_t len = 0;

	if (!h->next || !h->prev || h->prev->next != h || h->next->prev != h) {
		return -EUCLEAN;
	}
	for (l = h->next; l != h; l = l->next) {
		const struct wheel_timer *t = wheel_timer_of_const(l);

		if (++len > limit || !l->next || !l->prev ||
		    l->next->prev != l || l->prev->next != l) {
			return -EUCLEAN;
		}
		if (t->where != where || !t->fn) {
			return -EUCLEAN;
		}
		if (t->cls != WHEEL_HARD && t->cls != WHEEL_SOFT) {
			return -EUCLEAN;
		}
		if (t->expires_ns !=
		    wheel_fire_ns(t->cls, t->deadline_ns, t->slack_ns)) {
			return -EUCLEAN;
		}
	}
	*n += len;
	return 0;
}

static int wheel_check_slot(const struct wheel *w, unsigned idx, size_t *n)
{
	const struct wheel_slot *s = &w->slot[idx];
	unsigned level = idx / WHEEL_SLOTS, digit = idx % WHEEL_SLOTS;
	uint64_t bit = UINT64_C(1) << digit;
	uint64_t min[2] = {UINT64_MAX, UINT64_MAX};
	const struct wheel_link *l;
	size_t len = 0;
	int c, r;

	r = wheel_check_list(&s->head, idx, w->count, &len);
	if (r < 0) {
		return r;
	}
	for (l = s->head.next; l != &s->head; l = l->next) {
		const struct wheel_timer *t = wheel_timer_of_const(l);
		uint64_t e = t->expires_ns;

		/* The placement rule of fact 1, against the current time. */
		if (e <= w->now_ns || wheel_level(e, w->now_ns) != level ||
		    wheel_digit(e, level) != digit) {
			return -EUCLEAN;
		}
		if (e < min[t->cls]) {
			min[t->cls] = e;
		}
	}
	if (!!len != !!(w->bits[level] & bit)) {
		return -EUCLEAN;
	}
	for (c = WHEEL_HARD; c <= WHEEL_SOFT; c++) {
		/* Always a lower bound; exact unless marked stale. */
		if (s->min_ns[c] > min[c]) {
			return -EUCLEAN;
		}
		if (!(w->stale[level] & bit) && s->min_ns[c] != min[c]) {
			return -EUCLEAN;
		}
	}
	*n += len;
	return 0;
}

int wheel_check(const struct wheel *w)
{
	const struct wheel_link *l;
	size_t n = 0, hard = 0;
	uint64_t prev = 0;
	unsigned level, idx;
	int r;

	for (level = 0; level < WHEEL_LEVELS; level++) {
		if (!!w->bits[level] !=
		    !!(w->levels & (UINT64_C(1) << level))) {
			return -EUCLEAN;
		}
		if (w->stale[level] & ~w->bits[level]) {
			return -EUCLEAN;
		}
	}
	if (w->levels >> WHEEL_LEVELS) {
		return -EUCLEAN;
	}
	for (idx = 0; idx < WHEEL_NSLOTS; idx++) {
		r = wheel_check_slot(w, idx, &n);
		if (r < 0) {
			return r;
		}
	}

	r = wheel_check_list(&w->due, WHEEL_WHERE_DUE, w->count, &n);
	if (r < 0) {
		return r;
	}
	for (l = w->due.next; l != &w->due; l = l->next) {
		const struct wheel_timer *t = wheel_timer_of_const(l);

		if (t->expires_ns > w->now_ns) {
			return -EUCLEAN;
		}
		hard += t->cls == WHEEL_HARD;
	}
	if (hard != w->due_hard) {
		return -EUCLEAN;
	}

	/* The running batch: due, and still in firing order. */
	r = wheel_check_list(&w->run, WHEEL_WHERE_RUN, w->count, &n);
	if (r < 0) {
		return r;
	}
	if (!w->running && !wheel_list_empty(&w->run)) {
		return -EUCLEAN;
	}
	for (l = w->run.next; l != &w->run; l = l->next) {
		uint64_t e = wheel_timer_of_const(l)->expires_ns;

		if (e > w->now_ns || e < prev) {
			return -EUCLEAN;
		}
		prev = e;
	}

	if (n != w->count) {
		return -EUCLEAN;
	}
	return 0;
}
