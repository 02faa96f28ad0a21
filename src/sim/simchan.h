/* SPDX-License-Identifier: MIT */
#ifndef TTWS_SIM_SIMCHAN_H
#define TTWS_SIM_SIMCHAN_H

/*
 * A virtual channel (daemon/chan.h) for the virtual-time run of ttwsd's
 * engine: what the link sends goes to the earbud model at the send's
 * virtual instant (simchan_ops.to_ear: sim/simear); what the earbud sends
 * back is filed in the run's wheel and handed to the link when the model
 * says the host has it (simchan_deliver()).
 *
 * Opening models an L2CAP connect over a BLE link: it succeeds
 * SIMCHAN_OPEN_EVENTS connection intervals later if the radio link is
 * up, else it fails then. An open channel closes (cb.closed, -ENOTCONN)
 * at the instant its radio link drops (simlink_drop()). No send stamps
 * (like AF_UNIX): t1 is the send instant the link reads from its clock.
 *
 * Allocates while running (its message pool grows), which is fine here:
 * this is the simulator, not the RT thread.
 */

#include <stddef.h>
#include <stdint.h>

#include "daemon/chan.h"

struct simlink;
struct wheel;

/* An L2CAP connect: request and response, one connection event each. */
#define SIMCHAN_OPEN_EVENTS 2

struct simchan_ops {
	/* The link sent msg at host instant now_ns (the virtual clock). */
	void (*to_ear)(void *user_data, const uint8_t *msg, size_t len,
		       uint64_t now_ns);
	/* The channel opened (a new session: the earbud starts over). */
	void (*opened)(void *user_data, uint64_t now_ns);
	/* Opening failed or the open channel closed (err < 0). May be
	 * NULL. */
	void (*closed)(void *user_data, int err, uint64_t now_ns);
	/* Every message handed to the link (for traces). May be NULL. */
	void (*from_ear)(void *user_data, const uint8_t *msg, size_t len,
			 uint64_t rx_ns);
};

struct simchan;

/*
 * A channel over link (borrowed), whose timers go in wheel (borrowed).
 * Returns 0 and *ret (a struct chan: the link owns it, chan_free()),
 * -ENOMEM.
 */
int simchan_new(struct wheel *wheel, struct simlink *link,
		const struct simchan_ops *ops, void *user_data,
		struct chan **ret);

/*
 * The earbud's message reaches the host at rx_ns (>= now): it is handed
 * to the link then, if the channel is still the same session.
 */
void simchan_deliver(struct chan *c, const uint8_t *msg, size_t len,
		     uint64_t rx_ns);

#endif
