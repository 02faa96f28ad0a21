/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_LINK_PRIVATE_H
#define TTWS_DAEMON_LINK_PRIVATE_H

/*
 * What link.c (lifecycle, connect, HELLO, the public API), link_rx.c
 * (what the earbud says: decode, replay and range checks, the state
 * machine, drops by kind), link_ci.c (the connection interval),
 * link_servo.c (the servos) and link_sync.c (the timing exchanges: the
 * probe timer, SYNC_RESP and SYNC_FOLLOWUP into the servos,
 * RENDER_REPORT into the servos and the plan, send stamps) share. Not
 * for other modules: they see daemon/link.h only.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/probe.h"
#include "core/proto.h"
#include "core/protoseq.h"
#include "core/servo.h"
#include "core/wheel.h"
#include "daemon/chan.h"
#include "daemon/link.h"

#define LINK_TX_HISTORY 512 /* frames whose send instant we remember */
/* Sends whose instant we remember to time their completion stamps (a
 * power of two; stamps come back within a few connection events). */
#define LINK_SENT_RING 64u
#define LINK_SYNC_STALE_NS (2 * NSEC_PER_SEC)
#define LINK_N_SERVOS SERVO_N_KINDS /* enum servo_kind */
/* The largest presentation delay [stream] delay_max_ms allows. */
#define LINK_DELIVERY_MAX_NS (2000 * NSEC_PER_MSEC)

/*
 * Dropped messages in a row, not one taken between them, after which the
 * session is reset: an earbud that says nothing usable any more (its
 * numbering jumped, its firmware lost its place) is better reconnected at
 * once than left to supervision_ms. A healthy link drops nothing, and one
 * bad message among good ones never adds up to this.
 */
#define LINK_BAD_RUN 16

/* What became of a received, decoded message (link_dispatch()). */
enum link_rx {
	LINK_RX_TAKEN = 0,
	LINK_RX_MALFORMED,    /* does not decode (proto.h) */
	LINK_RX_UNEXPECTED,   /* wrong for the state: st.unexpected */
	LINK_RX_OUT_OF_RANGE, /* a value out of its range: st.out_of_range */
	LINK_RX_OUT_OF_ORDER, /* behind what it must follow (proto.h) */
	LINK_RX_REPLAYED,     /* taken already (proto.h) */
};

struct link_tx {
	uint64_t seq;
	uint64_t tx_ns;      /* host: sent */
	uint64_t planned_ns; /* host: due to go (<= tx_ns), 0 = not known */
	uint64_t pts_ear_ns; /* ear: its presentation time */
	bool reported;       /* its RENDER_REPORT came */
};

struct link {
	struct link_env env;
	enum conf_ear ear;
	const struct conf_link *cf;
	enum link_state state;

	struct chan *chan; /* owned */
	uint16_t tx_seq;
	uint8_t hello_codec;   /* the codec this session's HELLO asked for */
	/* The earbud's sequence numbers this session, and the messages
	 * dropped in a row (LINK_BAD_RUN). */
	struct protoseq rx_seq;
	unsigned bad_run;

	struct wheel_timer retry_timer; /* soft: reconnect back-off */
	struct wheel_timer hello_timer; /* soft: HELLO_ACK timeout */
	struct wheel_timer probe_timer; /* hard: next SYNC_REQ */
	struct probe probe;
	uint64_t backoff_ns;

	/*
	 * One servo of each kind, all fed the same samples, so that a live
	 * change of [servo] estimator switches to one already locked
	 * (link_reconf()): servo points at the configured kind's, shadow at
	 * the naive one (the sync report's comparison).
	 */
	struct servo *kinds[LINK_N_SERVOS];
	struct servo *servo;
	struct servo *shadow;
	/* Supervision: the last message from the earbud, and the last
	 * timing sample the servo took (host ns). */
	uint64_t last_rx_ns;
	uint64_t last_sample_ns;
	/* A connection update announced ahead of its instant
	 * (CONN_UPDATE): the interval, 0 = none, and the instant (ear ns).
	 * The timing switches at the first sample at or after it. */
	uint32_t ci_next_us;
	uint64_t ci_next_ear_ns;
	/* The last CONN_UPDATE taken this session: a repeat of it is a
	 * replay, one with an earlier instant out of order. */
	bool ci_seen;
	uint32_t ci_seen_us;
	uint64_t ci_seen_ear_ns;
	/* The configured servo as last seen (link_servo_note()). */
	enum servo_state seen_servo;
	uint64_t seen_steps;

	/* The timing exchange in flight (one at a time). */
	bool sync_pending;
	bool sync_have_resp;
	bool sync_two_step;   /* the SYNC_RESP in hand said TWO_STEP */
	uint32_t sync_req_id;
	/* The last exchange fed to the servos: an answer to it now is a
	 * replay. */
	bool sync_done_valid;
	bool sync_done_two_step;
	uint32_t sync_done_id;
	uint64_t t1, t2, t3, t4;
	/* The SYNC_REQ's send id (chan_send()) and, once the controller
	 * completed it, that instant: the better t1 (DESIGN.md,
	 * "Transports"). */
	uint32_t sync_tx_id;
	bool have_t1_done;
	uint64_t t1_done;

	/* Send id -> host instant of the send, for stamp latencies. */
	struct {
		uint32_t id;
		bool valid;
		uint64_t ns;
	} sent[LINK_SENT_RING];

	struct link_tx tx[LINK_TX_HISTORY];
	struct link_hists hists; /* link_set_hists(); members may be NULL */
	struct link_stats st;
	uint8_t buf[LINK_HEADER_SIZE + 64];
};

/* link.c */

/*
 * The session ends (the earbud is gone, or talks nonsense): close the
 * channel, reset the servos, reconnect after the back-off. why goes to
 * the log.
 */
void link_drop(struct link *l, uint64_t now_ns, const char *why);

/* The host clock, now (link_env.now). */
uint64_t link_now(const struct link *l);

/* link_rx.c */

/* chan_cb.msg: the earbud's message, timed in its latency layers and
 * taken or dropped (link_rx.c). */
void link_chan_msg(void *user_data, const void *data, size_t len,
		   const struct chan_rx_time *t);

/* link_ci.c */

/* The link runs at ci_us from now_ns on: servos, requests, the plan. */
void link_set_interval(struct link *l, uint32_t ci_us, uint64_t now_ns);

/* A CONN_UPDATE from the earbud (range-checked already). */
enum link_rx link_on_conn_update(struct link *l, const struct link_msg *m,
				 uint64_t now_ns);

/* chan_cb.interval: our own controller's new interval (hci-uart). */
void link_chan_interval(void *user_data, uint32_t ci_us, uint64_t now_ns);

/*
 * A connection update announced for ear instant instant_ear_ns is due:
 * the next timing sample has t3_ear_ns (0: none, then host now_ns is
 * checked against the instant plus a second). Switches the servos and
 * requests to it when it is. RT thread.
 */
void link_ci_due(struct link *l, uint64_t t3_ear_ns, uint64_t now_ns);

/* "left" / "right", for log lines. */
const char *link_name(const struct link *l);

/*
 * Send one message (chan_send()) and remember its host instant for the
 * send stamps; *ret_id (may be NULL) the channel's number for the send.
 * 0 or -errno (counted in send_errors).
 */
int link_send_id(struct link *l, const uint8_t *buf, size_t len,
		 uint32_t *ret_id);

/* Every servo of the link, for what all of them are fed. */
#define link_each_servo(l, i) for ((i) = 0; (i) < LINK_N_SERVOS; (i)++)

/* link_servo.c */

/*
 * Log what changed in the configured servo since the last call: a step,
 * a state change (lock, unlock, holdover). After each sample and tick.
 */
void link_servo_note(struct link *l);

/* link_sync.c */

/* chan_cb.sent: latency statistics, and the t1 of the exchange in flight. */
void link_chan_sent(void *user_data, uint32_t id, enum chan_tx_point point,
		    uint64_t ns);

/* Received timing messages (rx_ns host ns, the reply's arrival): what
 * became of them (the caller counts a drop). */
enum link_rx link_on_sync_resp(struct link *l, const struct link_msg *m,
			       uint64_t rx_ns);
enum link_rx link_on_followup(struct link *l, const struct link_msg *m);
enum link_rx link_on_report(struct link *l, const struct link_msg *m);

/* probe_timer's callback: the next SYNC_REQ. */
void link_probe_fire(struct wheel_timer *t, uint64_t now_ns);

/*
 * Latency histograms (l->hists; engine.h, enum engine_ear_hist): a
 * received message's kernel and loop layers, before it is handled; its
 * handler's run time, after (reads the clock); the submit latency of the
 * send chan_send() numbered id, planned at planned_ns (0: unknown).
 */
void link_lat_rx(struct link *l, const struct chan_rx_time *t);
void link_lat_handler(struct link *l, const struct chan_rx_time *t);
void link_lat_submit(struct link *l, uint32_t id, uint64_t planned_ns);

#endif
