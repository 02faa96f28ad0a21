/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_PROTOSEQ_H
#define TTWS_CORE_PROTOSEQ_H

/*
 * The receive side of a ttws-link direction's sequence numbers
 * (ttws-link(7), HEADER: seq starts at 0 on each connection, +1 per
 * message, modulo 65536): which messages were taken already. A sliding
 * window of the last PROTOSEQ_WINDOW sequence numbers below the highest
 * taken, after the anti-replay window of IPsec (RFC 4303, 3.4.3), with the
 * 16-bit counter compared modulo 2^16 (RFC 1982 serial number
 * arithmetic: a number up to 2^15 - 1 ahead is newer).
 *
 * A message ahead of the highest moves the window (the numbers skipped
 * are the sender's gaps, counted, never refused); one behind it inside
 * the window is taken once (a message that was overtaken); one whose
 * number was taken already is a replay; one further behind than the
 * window is too old to tell and is refused too. Pure, no allocation.
 */

#include <stdbool.h>
#include <stdint.h>

#define PROTOSEQ_WINDOW 256 /* a multiple of 64 */

struct protoseq {
	bool any;      /* a number was taken since the reset */
	uint16_t top;  /* the highest number taken */
	/* Bit k (word k / 64, bit k % 64): number top - k was taken. */
	uint64_t seen[PROTOSEQ_WINDOW / 64];
	uint64_t gaps; /* numbers skipped ahead (sender's own drops) */
	uint64_t late; /* taken behind the highest (overtaken, in window) */
};

/* Forget everything: the next number is taken, whatever it is. */
void protoseq_reset(struct protoseq *s);

/*
 * Whether a message numbered seq is new, and remember it if so.
 * Returns 0 (new: taken), -EEXIST (that number was taken already: a
 * replay) or -ESTALE (more than PROTOSEQ_WINDOW - 1 behind the highest:
 * refused, too old to tell). Refused numbers change nothing.
 */
int protoseq_check(struct protoseq *s, uint16_t seq);

#endif
