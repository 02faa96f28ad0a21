/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_ASHABAL_H
#define TTWS_CORE_ASHABAL_H

/*
 * ASHA's credit balancing between the two ears, decided once per 20 ms
 * slot before the slot's two SDUs are queued. The rule Android's ASHA
 * source applies (AOSP system/bta/hearing_aid/hearing_aid.cc,
 * OnAudioDataReady() and NeedToDropPacket()): an ear whose channel holds
 * more SDUs than the flush threshold (the 8 credits an ASHA channel is
 * given) is behind;
 *  - if the other ear is missing, or the two ears' credits are close
 *    (they differ by less than half the initial credits, less one), both
 *    are congested alike: the slot's frame is dropped on BOTH ears, so
 *    that they stay on the same sequence number;
 *  - else that ear alone is stuck: its queue is flushed, the other ear
 *    untouched;
 * and a drop on both comes at most once per min_drop_gap_ns (Android's
 * IsBelowDropFrequency()); a drop refused by that gap flushes the ear
 * instead. Pure: counts in, a verdict out.
 */

#include <stdbool.h>
#include <stdint.h>

struct ashabal_cfg {
	uint16_t flush_threshold; /* SDUs queued; ASHA's 8 */
	uint16_t init_credits;    /* the peer's credits at connection */
	uint64_t min_drop_gap_ns; /* between two drops on both ears */
};

/* One ear's channel now: present (connected and started), the SDUs the
 * host still holds for it, the credits the aid has left us. */
struct ashabal_ear {
	bool present;
	uint16_t queued;
	uint16_t credits;
};

struct ashabal {
	struct ashabal_cfg cfg;
	bool dropped;          /* a drop happened: last_drop_ns is valid */
	uint64_t last_drop_ns; /* CLOCK_MONOTONIC ns */
};

#define ASHABAL_DROP_BOTH 0x1u   /* send neither ear this slot's SDU */
#define ASHABAL_FLUSH_LEFT 0x2u  /* empty the left ear's queue first */
#define ASHABAL_FLUSH_RIGHT 0x4u /* empty the right ear's queue first */

/* b with cfg. -EINVAL for a flush threshold of 0. */
int ashabal_init(struct ashabal *b, const struct ashabal_cfg *cfg);

/*
 * The verdict for the slot at now_ns (ns), ears[0] left and ears[1]
 * right: ASHABAL_* flags in *ret (0: send both as usual). A flushed ear
 * still gets this slot's SDU unless DROP_BOTH is set too.
 */
void ashabal_decide(struct ashabal *b, const struct ashabal_ear ears[2],
		    uint64_t now_ns, unsigned *ret);

#endif
