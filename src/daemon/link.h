/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_LINK_H
#define TTWS_DAEMON_LINK_H

/*
 * One ear's session with its earbud (ttws-link(7)), run by the RT thread:
 * connect, HELLO, timing exchanges on a dithered hard timer, AUDIO out,
 * RENDER_REPORT / STATUS in, reconnect with back-off when the earbud
 * vanishes (the other ear is a separate link and keeps playing).
 *
 * Everything is allocated by link_new() before the RT loop starts (in
 * ttwsd: engine_setup() on the RT thread, through pair_new()); after that
 * nothing here allocates, blocks or logs directly (log_rt()).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/conf.h"
#include "core/proto.h"
#include "daemon/chan.h"

struct hist;
struct loop;
struct wheel;
struct plan;
struct servo;

enum link_state {
	LINK_ST_IDLE = 0,       /* waiting for the next connect attempt */
	LINK_ST_CONNECTING = 1, /* the channel is opening */
	LINK_ST_HELLO = 2,      /* open, HELLO sent, no HELLO_ACK yet */
	LINK_ST_SYNCING = 3,    /* timing exchanges, servo not locked yet */
	LINK_ST_STREAMING = 4,  /* servo locked: AUDIO flows */
};

/* What the link needs from its RT thread; not owned. */
struct link_env {
	struct loop *loop;
	struct wheel *wheel;
	struct plan *plan;
	const struct conf *conf;
	uint64_t seed; /* dithering of timing requests */
	/*
	 * The host clock (CLOCK_MONOTONIC ns) the link reads for its send
	 * instants (t1, send stamps): NULL = rt_now_ns(). The virtual-time
	 * run of the engine (sim/simvirt) injects its own.
	 */
	uint64_t (*now)(void *ctx);
	void *now_ctx;
};

/*
 * Send stamps of one kind (chan_cb.sent): how many came, and the delay
 * from send() to the stamp for those whose send is still remembered.
 */
struct link_tx_lat {
	uint64_t stamps;
	uint64_t timed;
	uint64_t sum_ns, min_ns, max_ns;
};

/* Counters and state, copied out by the engine's snapshot. */
struct link_stats {
	enum link_state state;
	bool connected;
	uint64_t connects;       /* successful connects */
	uint64_t connect_fails;
	uint64_t disconnects;
	uint64_t hello_timeouts;
	uint64_t supervision_timeouts; /* [sync] supervision_ms without a
					* message: the link was reset */
	uint64_t sync_sent;
	uint64_t sync_samples;   /* complete exchanges fed to the servo */
	uint64_t sync_lost;      /* exchanges never completed */
	uint64_t frames_sent;
	uint64_t send_errors;
	uint64_t reports;        /* RENDER_REPORTs received */
	uint64_t not_rendered;   /* reports with render time 0 */
	uint32_t ear_late;       /* earbud's cumulative late count */
	uint32_t ear_underruns;
	uint16_t ear_buffer;     /* frames buffered at the earbud */
	uint8_t battery_pct;
	uint32_t ci_us;
	uint64_t ci_updates;     /* CONN_UPDATEs taken (ttws-link(7)) */
	uint32_t clock_res_ns;   /* the earbud's timestamp tick (HELLO_ACK) */
	/*
	 * Messages dropped, by kind: core/proto's table (proto.h), the
	 * decode errors (malformed, truncated: "short-header",
	 * "short-payload"; oversized: "too-long") and the two kinds about a
	 * message's place in the session ("out-of-order", "replayed").
	 */
	uint64_t malformed[PROTO_N_ERRORS];
	uint64_t unexpected;     /* well-formed but wrong for the state */
	/* Well-formed but a value out of its range (core/protorange, or an
	 * implausible delivery): dropped; a HELLO_ACK resets the link. */
	uint64_t out_of_range;
	/* Sessions reset because LINK_BAD_RUN messages in a row were
	 * dropped (an earbud that says nothing usable any more). */
	uint64_t bad_resets;
	/* The earbud's sequence numbers (core/protoseq): numbers it
	 * skipped, and messages that came behind a newer one. Counted, not
	 * dropped. */
	uint64_t rx_seq_gaps;
	uint64_t rx_seq_late;
	uint64_t backoff_ns;     /* current reconnect back-off */
	uint64_t rx_no_kernel_ts; /* messages without a kernel timestamp */
	uint16_t mtu_rx, mtu_tx; /* the channel's, bytes; 0 = not known */
	/* Who reports send completions on the current channel. */
	enum chan_txc tx_completion;
	struct link_tx_lat tx_kernel; /* send() -> the kernel's hand-over */
	struct link_tx_lat tx_done;   /* send() -> controller completion */
	uint64_t t1_from_done;	  /* timing samples whose t1 is a completion */
	uint64_t t1_done_rejected; /* completions outside [send, reply] */
};

struct link;
struct chan;

/*
 * Allocate a link for ear over chan (owned from now on: freed with the
 * link, even when this fails). -ENOMEM / -EINVAL (servo configuration).
 */
int link_new(const struct link_env *env, enum conf_ear ear, struct chan *chan,
	     struct link **ret);
struct link *link_free(struct link *l);

/* First connect attempt at now_ns (host ns). RT thread. */
void link_start(struct link *l, uint64_t now_ns);

/* Send STOP and close: shutdown. RT thread. */
void link_shutdown(struct link *l);

/* The earbud is connected and its servo locked: AUDIO may go. */
bool link_ready(const struct link *l);

/*
 * Send frame seq with its presentation time pts_ear_ns (earbud ns), the
 * AUDIO header flags (LINK_F_DISCONT or 0) and data (codec payload, len
 * octets, the HELLO's octets_per_frame). now_ns is the host send instant
 * recorded for the RENDER_REPORT's forward sample; planned_ns (host ns,
 * 0 = unknown) the instant the frame was due to go, the start of its
 * tx_submit latency (struct link_hists). 0 or -errno.
 */
int link_send_audio(struct link *l, uint64_t seq, uint64_t pts_ear_ns,
		    uint8_t flags, const void *data, size_t len,
		    uint64_t now_ns, uint64_t planned_ns);

/*
 * The two ears' links reach their earbuds through one dongle whose crystal
 * paces both links' connection events: let their servos share its rate
 * (servo_pair()). 0 or -EINVAL.
 */
int link_pair(struct link *a, struct link *b);

/* The servo used for presentation times, and the naive shadow servo
 * fed the same samples (for the sync report's comparison). */
const struct servo *link_servo(const struct link *l);
const struct servo *link_shadow(const struct link *l);

/* Let the servos notice silence (holdover). now_ns host ns. */
void link_tick(struct link *l, uint64_t now_ns);

void link_get_stats(const struct link *l, struct link_stats *ret);

/*
 * Where a link records its latency histograms (core/hist, values in ns).
 * What each measures is documented at enum engine_ear_hist (engine.h),
 * whose names these are. Any may be NULL: not recorded. Not owned: they
 * must outlive the link.
 */
struct link_hists {
	struct hist *residual;
	struct hist *delivery;
	struct hist *rx_transport;
	struct hist *rx_kernel;
	struct hist *rx_loop;
	struct hist *rx_handler;
	struct hist *tx_submit;
	struct hist *tx_kernel;
	struct hist *tx_done;
};

/* Record into h's histograms from now on (copied). RT thread, or before
 * it starts. */
void link_set_hists(struct link *l, const struct link_hists *h);

/*
 * The struct conf in link_env holds new live values: switch to the
 * configured estimator's servo (kept warm on the same samples, so no lock
 * is lost and no frame skipped), apply the servo limits, the reconnect
 * bounds and the request rate. RT thread, at a frame boundary.
 */
void link_reconf(struct link *l, uint64_t now_ns);

/* Zero the counters (a statistics reset); state stays. RT thread. */
void link_reset_stats(struct link *l);

const char *link_state_name(enum link_state s);

#endif
