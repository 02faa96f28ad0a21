/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_ENGINE_H
#define TTWS_DAEMON_ENGINE_H

/*
 * The RT thread: real-time placement, the event loop, the timer wheel, the
 * two links, the frame clock. The main thread creates it, starts it,
 * reads snapshots of its state and stops it; they share nothing else.
 */

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "core/conf.h"
#include "core/hist.h"
#include "core/macro.h"
#include "core/servo.h"
#include "daemon/ashapair.h"
#include "daemon/dongle.h"
#include "daemon/link.h"
#include "daemon/stream.h"
#include "os/loop.h"
#include "os/rt.h"

struct spsc;
struct pw_sink;

struct engine_ear {
	struct link_stats link;
	struct servo_status servo;
	struct servo_status shadow;
};

/* hci-uart dongles: one per tty, a tty serves one pair. */
#define ENGINE_MAX_DONGLES (CONF_MAX_PAIRS * CONF_N_EARS)

/* One pair's part of a snapshot. */
struct engine_pair_snapshot {
	struct stream_stats stream; /* its frames, its presentation delay */
	struct engine_ear ear[CONF_N_EARS];
	/* profile = asha: the aids and the slot clock instead (stream and
	 * ear are zero). */
	bool is_asha;
	struct ashapair_stats asha;
};

/* A consistent copy of the RT thread's state (seqlock, taken every
 * 100 ms by the RT thread, read by any thread without blocking it). */
struct engine_snapshot {
	uint64_t taken_ns;
	uint64_t heartbeat;      /* RT loop iterations seen by the stats timer */
	enum loop_backend backend;
	struct loop_counters loop;
	/* The first pair's (pairs[0]), as before there were pairs. */
	struct stream_stats stream;
	struct engine_ear ear[CONF_N_EARS];
	unsigned n_pairs;
	struct engine_pair_snapshot pairs[CONF_MAX_PAIRS];
	unsigned n_dongles;
	struct dongle_stats dongle[ENGINE_MAX_DONGLES]; /* hci-uart */
};

/*
 * Latency and error histograms (core/hist, ns). The RT thread records into
 * its own copies and publishes them round-robin, a few per stats tick
 * (each behind its own seqlock; daemon/lathist), so one publication never
 * copies them all: a published histogram is at most ENGINE_HIST_MAX_AGE_NS
 * old. Since start or the last engine_hists_reset(). All instants are
 * host CLOCK_MONOTONIC unless said otherwise.
 *
 * Per ear. Received link packets, four layers (every message, except
 * rx_transport), in the order a packet goes through them:
 *   rx_transport  the earbud's departure -> the host arrival stamp, for
 *                 the replies of timing exchanges only: t4 minus t3 (the
 *                 connection event that carried the SYNC_RESP, two-step)
 *                 mapped to host time by the servo's model before that
 *                 sample. With SERVO_TTWS the map's origin is the
 *                 reverse-delay floor (plus the mean jitter of the lucky
 *                 replies it fits), so this is the transit ABOVE that
 *                 floor (HCI jitter, queueing; 0 at or below it), never
 *                 the constant delay itself; with the baselines about
 *                 half the round trip's asymmetry (link_sync.c). None
 *                 until the servo has locked.
 *   rx_kernel     the kernel's receive stamp (SO_TIMESTAMPNS) -> the loop
 *                 saw the completion (struct loop_rx.seen_ns): interrupt,
 *                 softirq, socket queue, wake-up of the RT thread. Not
 *                 recorded on hci-uart: a tty has no receive stamp, and
 *                 the arrival there is the loop's own look at the read
 *                 (which the UART's buffering already delays).
 *   rx_loop       seen -> the loop called the channel's handler: waiting
 *                 behind the handlers of completions before it in the
 *                 same round.
 *   rx_handler    the handler's run time: the loop's call -> the link
 *                 done with this message (decode, servo, plan). On
 *                 hci-uart the call is for a whole read, so the H4/HCI/
 *                 L2CAP parsing of what preceded the message in it counts.
 * Sent:
 *   tx_submit     the frame was due -> chan_send() returned: tone, the
 *                 frame-clock deadline that cut it; pipewire, process()
 *                 taking the quantum that completed it. Each ear apart
 *                 (the second ear's includes the first's send).
 *   tx_kernel     chan_send() returned -> the kernel's SCM_TSTAMP_SND
 *                 (l2cap with SO_TIMESTAMPING; on io_uring the send
 *                 syscall itself comes at the end of the loop iteration,
 *                 and is inside). Every send, timing requests included.
 *   tx_done       chan_send() returned -> the controller's completion:
 *                 SO_TIMESTAMPING TX_COMPLETION (l2cap, Linux 6.15), or
 *                 Number Of Completed Packets as the loop saw its bytes
 *                 (hci-uart). Every send. Empty on unix.
 * And:
 *   residual      |last_residual_ns| of the servo after each timing
 *                 sample it accepted (gated and outlier samples are not
 *                 recorded), ear ns (servo.h).
 *   delivery      an AUDIO frame's send -> the earbud's receive stamp of
 *                 it (RENDER_REPORT), through the servo's map: what the
 *                 adaptive presentation delay sees (plan_observe_delivery).
 *                 With SERVO_TTWS that is the forward transit (HCI, the
 *                 wait for a connection event, air time) plus the map's
 *                 origin, the reverse-delay floor.
 */
enum engine_ear_hist {
	ENGINE_EH_RESIDUAL = 0,    /* |servo residual| of each timing sample */
	ENGINE_EH_DELIVERY,        /* AUDIO send -> earbud receive (host ns) */
	/* Received link packets, four layers: */
	ENGINE_EH_RX_TRANSPORT,    /* earbud departure -> host arrival stamp */
	ENGINE_EH_RX_KERNEL,       /* arrival stamp -> completion seen by loop */
	ENGINE_EH_RX_LOOP,         /* completion seen -> handler start */
	ENGINE_EH_RX_HANDLER,      /* handler run time */
	/* Sent frames: */
	ENGINE_EH_TX_SUBMIT,       /* frame planned (tick) -> handed to send */
	ENGINE_EH_TX_KERNEL,       /* send -> kernel TX stamp (SO_TIMESTAMPING) */
	ENGINE_EH_TX_DONE,         /* send -> controller completion */
	ENGINE_N_EAR_HISTS,
};

/*
 * For the whole daemon:
 *   wakeup   the frame clock's hard timer: its tick handler's start minus
 *            its deadline, every tick (both sources).
 *   handoff  source = pipewire: process() taking the quantum that
 *            completed a frame -> that frame's AUDIO handed to both
 *            links (empty with source = tone).
 */
enum engine_global_hist {
	ENGINE_GH_WAKEUP = 0, /* frame clock: hard deadline -> tick handler */
	ENGINE_GH_HANDOFF,    /* PipeWire process() -> AUDIO sent */
	ENGINE_N_GLOBAL_HISTS,
};

#define ENGINE_HIST_MAX_AGE_NS (2 * NSEC_PER_SEC)

struct engine;

/*
 * Allocate everything the RT thread will use. c is copied. frame_log (may
 * be NULL) is the producer side of a ring of struct stream_frame_rec;
 * capture (may be NULL) of struct dongle_trace_rec + the H4 packet, for
 * a btsnoop file of the hci-uart dongles' traffic.
 */
int engine_new(const struct conf *c, struct spsc *frame_log,
	       struct spsc *capture, struct engine **ret);
struct engine *engine_free(struct engine *e);

/* How many pairs the engine runs (conf_n_pairs() of its conf), 1..8,
 * fixed at engine_new(). Any thread. */
unsigned engine_n_pairs(const struct engine *e);

/* Pair i's name ("default" for the old form), fixed at engine_new();
 * NULL when i is out of range. Any thread. */
const char *engine_pair_name(const struct engine *e, unsigned i);

/*
 * source = pipewire: the sink pair's frame clock drives and the ring it
 * fills (not owned; both must outlive the RT thread: stop the engine
 * before pw_sink_free()). Before engine_start(). 0, or -ERANGE.
 */
int engine_set_pipewire(struct engine *e, unsigned pair, struct pw_sink *sink,
			struct spsc *ring);

/*
 * The sink's notify callback (pw_sink_config.notify, with user_data
 * engine_notify_data(e, pair)): marks that pair's ring and wakes the RT
 * loop to take the new record at once. Any thread, wait-free (an atomic
 * or and an eventfd write); does nothing before the loop exists.
 */
void engine_notify(void *user_data);
void *engine_notify_data(struct engine *e, unsigned pair);

/*
 * Copy pair i's part of the latest snapshot (as engine_snapshot(), one
 * pair). 0, or -ERANGE.
 */
int engine_pair_snapshot(struct engine *e, unsigned i,
			 struct engine_pair_snapshot *ret);

/*
 * Start the RT thread and wait until it is in its loop (or failed).
 * Returns 0, or the negative errno of its set-up. rt_text (may be NULL)
 * receives the real-time placement report as text.
 */
int engine_start(struct engine *e, char *rt_text, size_t rt_text_size);

/* Stop the RT thread (links send STOP first) and join it. */
void engine_stop(struct engine *e);

/* Copy the latest snapshot. Any thread, never blocks the RT thread. */
void engine_snapshot(struct engine *e, struct engine_snapshot *ret);

/*
 * Copy the latest published histogram (core/hist, values in ns): ear's
 * id, or with ear == CONF_N_EARS the global id (enum engine_global_hist).
 * Any thread, never blocks the RT thread; ret is caller-owned (~30 KiB,
 * keep it off small stacks). Returns 0, or -EINVAL for an unknown id.
 */
int engine_hist_get(struct engine *e, enum conf_ear ear, unsigned id,
		    struct hist *ret);

/* The same for an ear of pair (engine_hist_get() is pair 0's);
 * -EINVAL for an unknown pair, ear or id. */
int engine_pair_hist_get(struct engine *e, unsigned pair, enum conf_ear ear,
			 unsigned id, struct hist *ret);

/* Names for reports and metrics ("residual", "rx_transport", "wakeup",
 * ...); NULL for an unknown id. */
const char *engine_ear_hist_name(enum engine_ear_hist id);
const char *engine_global_hist_name(enum engine_global_hist id);

/*
 * Live configuration. Offer next (a validated snapshot whose restart-only
 * keys equal the running ones, conf_keep_restart()) to the RT thread,
 * which adopts it at its next frame boundary: one atomic exchange, a copy
 * into its own struct conf, and the derived settings (delay bounds,
 * estimator, servo limits, tone, downmix) applied; it never waits. next
 * stays the caller's and must stay valid until engine_conf_adopted()
 * says so (*ret_generation numbers the offer) or engine_conf_withdraw() took it back. Main thread. Returns 0,
 * or -EBUSY while an earlier offer is still pending.
 */
int engine_reconfigure(struct engine *e, const struct conf *next,
		       uint64_t *ret_generation);

/*
 * Whether the RT thread has adopted the offer numbered generation (its
 * copy is made). Generations, not pointers: a freed snapshot's address
 * may come back for the next one.
 */
bool engine_conf_adopted(struct engine *e, uint64_t generation);

/*
 * Take a pending offer back (the RT thread did not reach a boundary in
 * time). Returns 0 when withdrawn, -EALREADY when it was adopted first.
 */
int engine_conf_withdraw(struct engine *e, const struct conf *next);

/*
 * Ask the RT thread to zero its counters and histograms at its next frame
 * boundary (states, servo models and configuration stay). Any thread;
 * engine_resets_done() counts the resets carried out.
 */
void engine_reset_stats(struct engine *e);
uint64_t engine_resets_done(struct engine *e);

/* What the RT thread's real-time placement obtained; valid after
 * engine_start() returned, never changed afterwards. */
const struct rt_report *engine_rt_report(const struct engine *e);

/* The tty of hci-uart dongle i (0..n_dongles-1, in the order of the
 * snapshot's dongle[]), or NULL. */
const char *engine_dongle_path(const struct engine *e, unsigned i);

/* The loop's backend note ("io_uring ...", "... using epoll"). */
const char *engine_backend_note(const struct engine *e);

#if HAVE_TEST_HOOKS
#define ENGINE_STALL_MAX_S 600u
/*
 * Test builds only (engine_hooks.c): ask the RT thread to stop making
 * progress for seconds (1..ENGINE_STALL_MAX_S). At its next stats tick
 * (within 100 ms) it sleeps that long inside its loop, so its heartbeat
 * stops and the watchdog goes unfed (notify.h). Any thread. 0, or
 * -ERANGE.
 */
int engine_debug_stall(struct engine *e, unsigned seconds);
#endif

#endif
