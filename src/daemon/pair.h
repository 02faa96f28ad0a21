/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_PAIR_H
#define TTWS_DAEMON_PAIR_H

/*
 * One earbud pair's part of the RT thread: the frame timeline (core/plan),
 * each ear's link (daemon/link: probe, servos, the session), their servo
 * pairing, the stream that cuts and sends frames (daemon/stream), and the
 * supervision tick. The engine builds one around its real channels and
 * event loop; the virtual-time run (sim/simvirt) builds the same around
 * virtual channels and injected time. So both run one engine: the same
 * code and the same defaults from struct conf.
 *
 * Everything is allocated by pair_new(); after that nothing here
 * allocates, blocks or logs directly.
 */

#include <stdbool.h>
#include <stdint.h>

#include "core/conf.h"

struct chan;
struct link;
struct plan;
struct spsc;
struct stream;
struct stream_pw;
struct wheel;

/* From the links' first connect to frame 0's capture instant: time to
 * connect and lock before the first frame is due. */
#define PAIR_START_LEAD_NS (200 * NSEC_PER_MSEC)

/* Supervision and holdover checks of the links (link_tick()). */
#define PAIR_TICK_NS (100 * NSEC_PER_MSEC)

/* What a pair needs from its RT thread; nothing here is owned. */
struct pair_env {
	struct wheel *wheel;
	const struct conf *conf; /* the RT thread's; must outlive the pair */
	struct spsc *frame_log;  /* may be NULL */
	const struct stream_pw *pw; /* source = pipewire */
	uint64_t seed;           /* dithering of timing requests */
	uint32_t index;          /* the pair's index in its engine (0 for
				  * one pair): tags its frame log records */
	uint64_t (*now)(void *ctx); /* NULL: rt_now_ns() (link_env) */
	void *now_ctx;
};

struct pair;

/*
 * Build a pair whose frame 0 starts at t0_ns (host ns). chans[ear] is
 * that ear's channel, owned from the call on (freed with the pair, even
 * when this fails); NULL for an ear not configured. same_controller:
 * both links hang off one controller, whose crystal paces both, so their
 * servos share its rate (conf_same_controller()). -ENOMEM, -EINVAL,
 * -ENOTSUP (a codec or source this build lacks).
 */
int pair_new(const struct pair_env *env, struct chan *chans[CONF_N_EARS],
	     bool same_controller, uint64_t t0_ns, struct pair **ret);

/* Free the pair; its timers must no longer be filed in a wheel that
 * fires (free the wheel first, or pair_stop()). */
struct pair *pair_free(struct pair *p);

/* Connect both links at now_ns and start the frame clock at t0_ns. */
void pair_start(struct pair *p, uint64_t now_ns);

/* Stop the frame clock and the tick; STOP to both earbuds, channels
 * closed. */
void pair_stop(struct pair *p);

struct link *pair_link(const struct pair *p, enum conf_ear ear);
struct plan *pair_plan(const struct pair *p);
struct stream *pair_stream(const struct pair *p);

#endif
