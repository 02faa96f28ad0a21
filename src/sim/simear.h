/* SPDX-License-Identifier: MIT */
#ifndef TTWS_SIM_SIMEAR_H
#define TTWS_SIM_SIMEAR_H

/*
 * One simulated earbud's side of ttws-link(7): what it answers to each
 * message the host sends, when (host ns, from the earbud's clock and its
 * link: sim/simclock, sim/simlink), and what it plays. The same model
 * serves the live simulator (sim/live: real sockets, real time) and the
 * virtual-time run of ttwsd's engine (sim/simvirt), so both see one
 * earbud.
 *
 * The earbud, as modelled (tests/scenarios/README.md has the physics):
 *  - its timestamp counter ticks every ts_res_ns: t2, t3 and the render
 *    stamp it reports are truncated to a tick (HELLO_ACK clock_res_ns
 *    says so);
 *  - SYNC_REQ: t2 = the receive stamp; the reply is queued
 *    SIMLINK_REPLY_NS after the packet landed, leaves at the next
 *    connection event, and its precise t3 (that event) follows two-step
 *    in a SYNC_FOLLOWUP at the event after (PTP's Follow_Up: the earbud
 *    knows t3 only once the packet left);
 *  - AUDIO: the frame is in the earbud an air time after its connection
 *    event; if that is after its presentation time it is late (not
 *    played, counted); else it plays from pts of the earbud's clock, or
 *    with render_res_us > 0 from the first instant of its own sample
 *    grid (multiples of render_res_us of earbud time) at or after pts;
 *    the RENDER_REPORT leaves once the frame has played;
 *  - a connection parameter update (simlink_ci_change()) is told to the
 *    host in CONN_UPDATE with the next message the earbud sends after it;
 *  - a freeze: from freeze_at_ns for freeze_for_ns the earbud answers
 *    nothing and plays nothing, its link staying up.
 *
 * Pure: no syscalls, no clock reads; what leaves goes through the
 * caller's ops. Allocates only in simear_new().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/scenario.h"
#include "ttws/link.h"

struct simclock;
struct simlink;

struct simear_config {
	enum scenario_side side;
	struct simclock *clock; /* borrowed; outlives the earbud */
	struct simlink *link;   /* borrowed; outlives the earbud */
	uint32_t ts_res_ns;     /* timestamp tick, >= 1 ns */
	double render_res_us;   /* sample grid, us of earbud time; 0 = exact */
	uint64_t freeze_at_ns;  /* host ns */
	uint64_t freeze_for_ns; /* 0: never freezes */
};

/* What became of one AUDIO frame (simear_ops.render). Host ns. */
struct simear_render {
	enum scenario_side side;
	uint64_t frame_seq;
	uint64_t pts_ear_ns;     /* as the host sent it */
	uint64_t t2_ear_ns;      /* receive stamp, as reported (truncated) */
	uint64_t arrive_host_ns; /* the frame was in the earbud */
	/* Where the host's map put the frame: the instant the earbud's
	 * clock read pts (exact, whatever the grid). */
	uint64_t pts_host_ns;
	/* The acoustic start: pts_host_ns, or the grid instant after it;
	 * 0 when not played. */
	uint64_t render_host_ns;
	bool late;     /* arrived after its presentation time */
	bool frozen;   /* arrived during a freeze: not played */
	const struct link_audio *audio; /* valid during the call */
};

struct simear_ops {
	/*
	 * One encoded message leaves the earbud and reaches the host at
	 * rx_host_ns (>= the instant of the message being handled). The
	 * bytes are valid during the call.
	 */
	void (*send)(void *user_data, const uint8_t *msg, size_t len,
		     uint64_t rx_host_ns);
	/* An AUDIO frame's fate. May be NULL. */
	void (*render)(void *user_data, const struct simear_render *r);
	/*
	 * Can this earbud play the HELLO's stream? LINK_HELLO_OK or an
	 * error status for HELLO_ACK. May be NULL: PCM or LC3 at 48 kHz,
	 * one channel, 7.5 or 10 ms frames.
	 */
	uint8_t (*hello)(void *user_data, const struct link_hello *h);
};

/* Counters, for summaries and tests. */
struct simear_stats {
	uint64_t hellos, syncs, frames, rendered, late, frozen;
	uint64_t malformed, unanswered; /* link down or frozen */
	uint64_t conn_updates;
};

struct simear;

/*
 * Create an earbud. ops and user_data are kept. -EINVAL (no clock or
 * link, ts_res_ns 0 or over 1 ms, a negative or non-finite grid),
 * -ENOMEM.
 */
int simear_new(const struct simear_config *cfg, const struct simear_ops *ops,
	       void *user_data, struct simear **ret);
struct simear *simear_free(struct simear *e);

/* A new session (a connection): message numbering and the late count
 * start over. */
void simear_connect(struct simear *e);

/*
 * One message from the host, which reached the host's controller at
 * host_ns (the link then carries it to the earbud). Malformed bytes are
 * counted and ignored.
 */
void simear_on_message(struct simear *e, const uint8_t *msg, size_t len,
		       uint64_t host_ns);

/* Whether the earbud is frozen at host_ns. */
bool simear_frozen(const struct simear *e, uint64_t host_ns);

void simear_stats(const struct simear *e, struct simear_stats *ret);

/*
 * One scenario side's earbud hardware: its clock and its link, and the
 * earbud's configuration, all from the scenario, for a link that comes up
 * at up_ns (host ns); the scenario's *_at_s instants count from t0_ns
 * (frame 0). The same for the live and the virtual-time modes, seeds
 * included. disrupted: the link drops or the earbud freezes; back_ns:
 * when the later of the two ends.
 */
struct simear_parts {
	struct simclock *clock;
	struct simlink *link;
	struct simear_config cfg; /* clock and link filled in */
	bool disrupted;
	uint64_t back_ns;
};

/* 0, -EINVAL (a value the models refuse), -ENOMEM. *ret is zeroed on
 * failure. */
int simear_parts_new(const struct scenario *sc, enum scenario_side side,
		     uint64_t up_ns, uint64_t t0_ns, struct simear_parts *ret);
void simear_parts_free(struct simear_parts *p);

/* Truncate an earbud stamp to the tick res_ns (>= 1). */
uint64_t simear_tick(uint64_t ear_ns, uint32_t res_ns);

#endif
