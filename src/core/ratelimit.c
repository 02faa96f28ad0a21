/* SPDX-License-Identifier: MIT */
#include "core/ratelimit.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

int ratelimit_init(struct ratelimit *rl, struct ratelimit_slot *slots,
		   unsigned n_slots, uint32_t burst, uint64_t window_ns,
		   ratelimit_report_fn report, void *user_data)
{
	if (!rl || !slots || !report || n_slots == 0 || burst == 0 ||
	    window_ns == 0) {
		return -EINVAL;
	}
	memset(slots, 0, n_slots * sizeof(*slots));
	rl->slots = slots;
	rl->n_slots = n_slots;
	rl->burst = burst;
	rl->window_ns = window_ns;
	rl->report = report;
	rl->user_data = user_data;
	return 0;
}

static bool ratelimit_key_equal(const struct ratelimit_key *a,
				const struct ratelimit_key *b)
{
	return a->kind == b->kind && a->scope == b->scope && a->hash == b->hash;
}

/* Window over: now is at or past its end. An earlier now is inside. */
static bool ratelimit_window_over(const struct ratelimit *rl,
				  const struct ratelimit_slot *s,
				  uint64_t now_ns)
{
	return now_ns > s->start_ns && now_ns - s->start_ns >= rl->window_ns;
}

/* Say what s held back, if anything, and zero that count. */
static void ratelimit_report(struct ratelimit *rl, struct ratelimit_slot *s,
			     enum ratelimit_reason reason)
{
	struct ratelimit_report r = {
	    .key = s->key,
	    .reason = reason,
	    .suppressed = s->suppressed,
	    .level = s->level,
	    .start_ns = s->start_ns,
	    .sample = s->sample,
	};

	if (!s->suppressed) {
		return;
	}
	rl->report(&r, rl->user_data);
	s->suppressed = 0;
}

static struct ratelimit_slot *ratelimit_find(struct ratelimit *rl,
					     const struct ratelimit_key *key,
					     const char *sample,
					     uint64_t now_ns)
{
	struct ratelimit_slot *s, *victim = NULL;
	size_t len;
	unsigned i;

	for (i = 0; i < rl->n_slots; i++) {
		s = &rl->slots[i];
		if (s->used && ratelimit_key_equal(&s->key, key)) {
			return s;
		}
	}
	/* A free slot, else the one whose window started first (its count
	 * is said before it goes): the table never grows. */
	for (i = 0; i < rl->n_slots; i++) {
		s = &rl->slots[i];
		if (!s->used) {
			victim = s;
			break;
		}
		if (!victim || s->start_ns < victim->start_ns) {
			victim = s;
		}
	}
	if (victim->used) {
		ratelimit_report(rl, victim, RATELIMIT_EVICTED);
	}
	memset(victim, 0, sizeof(*victim));
	victim->used = 1;
	victim->key = *key;
	victim->start_ns = now_ns;
	len = sample ? strnlen(sample, sizeof(victim->sample) - 1) : 0;
	memcpy(victim->sample, sample ? sample : "", len);
	victim->sample[len] = '\0';
	return victim;
}

enum ratelimit_verdict ratelimit_admit(struct ratelimit *rl,
				       const struct ratelimit_key *key,
				       int level, const char *sample,
				       uint64_t now_ns)
{
	struct ratelimit_slot *s = ratelimit_find(rl, key, sample, now_ns);

	if (ratelimit_window_over(rl, s, now_ns)) {
		ratelimit_report(rl, s, RATELIMIT_WINDOW_OVER);
		s->start_ns = now_ns;
		s->count = 0;
	}
	if (++s->count <= rl->burst) {
		return RATELIMIT_PASS;
	}
	if (!s->suppressed || level < s->level) {
		s->level = level;
	}
	s->suppressed++;
	return RATELIMIT_SUPPRESS;
}

void ratelimit_sweep(struct ratelimit *rl, uint64_t now_ns)
{
	unsigned i;

	for (i = 0; i < rl->n_slots; i++) {
		struct ratelimit_slot *s = &rl->slots[i];

		if (s->used && ratelimit_window_over(rl, s, now_ns)) {
			ratelimit_report(rl, s, RATELIMIT_WINDOW_OVER);
			s->used = 0;
		}
	}
}

void ratelimit_flush(struct ratelimit *rl)
{
	unsigned i;

	for (i = 0; i < rl->n_slots; i++) {
		struct ratelimit_slot *s = &rl->slots[i];

		if (s->used) {
			ratelimit_report(rl, s, RATELIMIT_FLUSHED);
			s->used = 0;
		}
	}
}

void ratelimit_reset(struct ratelimit *rl)
{
	memset(rl->slots, 0, rl->n_slots * sizeof(*rl->slots));
}

uint64_t ratelimit_hash_text(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}
