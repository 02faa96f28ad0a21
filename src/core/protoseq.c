/* SPDX-License-Identifier: MIT */
#include "core/protoseq.h"

#include <errno.h>
#include <string.h>

#define PROTOSEQ_WORDS (PROTOSEQ_WINDOW / 64)

void protoseq_reset(struct protoseq *s)
{
	memset(s, 0, sizeof(*s));
}

static bool protoseq_bit(const struct protoseq *s, unsigned k)
{
	return (s->seen[k / 64] >> (k % 64)) & 1u;
}

static void protoseq_set(struct protoseq *s, unsigned k)
{
	s->seen[k / 64] |= UINT64_C(1) << (k % 64);
}

/* Move the window d numbers up: bit k becomes bit k + d. */
static void protoseq_shift(struct protoseq *s, unsigned d)
{
	unsigned words = d / 64, bits = d % 64;
	int i;

	if (d >= PROTOSEQ_WINDOW) {
		memset(s->seen, 0, sizeof(s->seen));
		return;
	}
	for (i = PROTOSEQ_WORDS - 1; i >= 0; i--) {
		uint64_t v = 0;
		int from = i - (int)words;

		if (from >= 0) {
			v = s->seen[from] << bits;
			if (bits && from > 0) {
				v |= s->seen[from - 1] >> (64 - bits);
			}
		}
		s->seen[i] = v;
	}
}

int protoseq_check(struct protoseq *s, uint16_t seq)
{
	uint16_t ahead = (uint16_t)(seq - s->top);
	uint16_t behind = (uint16_t)(s->top - seq);

	if (!s->any) {
		s->any = true;
		s->top = seq;
		memset(s->seen, 0, sizeof(s->seen));
		protoseq_set(s, 0);
		/* Numbering starts at 0: anything else was skipped. */
		s->gaps += seq;
		return 0;
	}
	if (ahead != 0 && ahead < 0x8000u) {
		protoseq_shift(s, ahead);
		protoseq_set(s, 0);
		s->top = seq;
		s->gaps += ahead - 1u;
		return 0;
	}
	if (behind >= PROTOSEQ_WINDOW) {
		return -ESTALE;
	}
	if (protoseq_bit(s, behind)) {
		return -EEXIST;
	}
	protoseq_set(s, behind);
	s->late++;
	return 0;
}
