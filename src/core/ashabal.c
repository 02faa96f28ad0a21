/* SPDX-License-Identifier: MIT */
/*
 * ASHA credit balancing (ashabal.h): Android's rule, restated.
 */
#include "core/ashabal.h"

#include <errno.h>

int ashabal_init(struct ashabal *b, const struct ashabal_cfg *cfg)
{
	if (!cfg || cfg->flush_threshold == 0) {
		return -EINVAL;
	}
	b->cfg = *cfg;
	b->dropped = false;
	b->last_drop_ns = 0;
	return 0;
}

/* Both ears congested alike (or the other one gone): a drop on both
 * keeps them together. AOSP NeedToDropPacket(). */
static bool ashabal_alike(const struct ashabal *b,
			  const struct ashabal_ear *self,
			  const struct ashabal_ear *other)
{
	unsigned diff, limit;

	if (!other->present) {
		return true;
	}
	diff = self->credits > other->credits ?
		       (unsigned)(self->credits - other->credits) :
		       (unsigned)(other->credits - self->credits);
	/* init/2 - 1, which is 0 (never alike) below 2 initial credits. */
	limit = b->cfg.init_credits / 2u;
	limit = limit ? limit - 1u : 0u;
	return diff < limit;
}

static bool ashabal_may_drop(const struct ashabal *b, uint64_t now_ns)
{
	return !b->dropped || now_ns - b->last_drop_ns >= b->cfg.min_drop_gap_ns;
}

void ashabal_decide(struct ashabal *b, const struct ashabal_ear ears[2],
		    uint64_t now_ns, unsigned *ret)
{
	static const unsigned flush[2] = {ASHABAL_FLUSH_LEFT,
					  ASHABAL_FLUSH_RIGHT};
	unsigned e, v = 0;

	for (e = 0; e < 2; e++) {
		const struct ashabal_ear *self = &ears[e], *other = &ears[!e];

		if (!self->present || self->queued <= b->cfg.flush_threshold) {
			continue;
		}
		if (ashabal_alike(b, self, other) &&
		    ((v & ASHABAL_DROP_BOTH) || ashabal_may_drop(b, now_ns))) {
			v |= ASHABAL_DROP_BOTH;
		} else {
			v |= flush[e];
		}
	}
	if (v & ASHABAL_DROP_BOTH) {
		b->dropped = true;
		b->last_drop_ns = now_ns;
	}
	*ret = v;
}
