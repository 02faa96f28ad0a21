/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_ASHAPAIR_H
#define TTWS_DAEMON_ASHAPAIR_H

/*
 * A pair of ASHA hearing aids (profile = asha): two aids (daemon/ashaear)
 * that must be the two sides of one binaural set (the same HiSyncId, one
 * left, one right: core/asha.h), and the 20 ms slot clock that feeds
 * them. Each slot, one hard timer cuts 20 ms of audio per ear at 16 kHz,
 * encodes it with G.722 (daemon/codec_g722, one encoder per ear, reset at
 * the ear's Start), and queues both SDUs with the SAME sequence number,
 * back to back: the aids align their output on it. Before queueing,
 * Android's balancing rule (core/ashabal) decides whether the slot is
 * dropped on both ears (both congested alike, so that they stay on one
 * sequence number) or one ear's queue is flushed (that ear alone stuck).
 *
 * Start: an aid whose channel opens is started with the other side's
 * state (connected: streaming now); when it then plays, the other aid is
 * told with Status "other connected". An aid that goes leaves the other
 * one alone on the slot clock with the mono downmix, told with Status
 * "other disconnected". (ASHA, source.android.com: "Audio Control
 * Point"; Android does the same.)
 *
 * Timing: the instant each SDU leaves the controller (its completion,
 * Number Of Completed Packets on ttwsd's own host) is recorded per ear,
 * and the difference between the ears' instants for the same slot is the
 * send skew (status: send_skew), what ASHA's aids cannot correct.
 *
 * Audio: with source = pipewire, the pair's ttws.sink node at 16 kHz
 * (daemon/ashapw: left channel to the left aid, right to the right);
 * with source = tone, the internal tone per ear ([stream] tone_left_hz,
 * tone_right_hz). A slot with no audio waiting sends silence (counted),
 * so that the aids keep their sequence.
 *
 * RT thread only; allocates in ashapair_new() only.
 */

#include <stdbool.h>
#include <stdint.h>

#include "core/conf.h"
#include "daemon/ashaear.h"
#include "daemon/ashapw.h"

struct chan;
struct hist;
struct stream_pw;
struct wheel;

/* ASHA's slot: one G.722 frame per ear every 20 ms. */
#define ASHAPAIR_SLOT_NS (20 * NSEC_PER_MSEC)

struct ashapair_env {
	struct wheel *wheel;
	const struct conf *conf; /* the pair's view; outlives the pair */
	const char *name;        /* for the log; NULL for one pair */
	unsigned index;
	const struct stream_pw *pw; /* source = pipewire: the pair's sink */
};

struct ashapair_stats {
	struct ashaear_stats ear[CONF_N_EARS];
	uint64_t slots;         /* slots with an ear to send to */
	uint64_t sent[CONF_N_EARS]; /* SDUs queued */
	uint64_t dropped_slots; /* balancing dropped the slot on both ears */
	uint64_t flushes[CONF_N_EARS]; /* ... or flushed this ear's queue */
	uint64_t flushed_sdus[CONF_N_EARS]; /* SDUs those flushes dropped */
	uint64_t credit_stalls; /* SDUs refused: the ear's queue was full */
	uint64_t mono_slots;    /* slots sent to one ear (the downmix) */
	uint64_t late_slots;    /* slot timer behind by a whole slot */
	uint64_t encode_errors;
	uint64_t pair_mismatches; /* aids refused: not this pair's other side */
	uint8_t seq;            /* the next slot's sequence number */
	int volume;             /* ASHA's Volume written to the aids */
	uint64_t silent_slots;  /* no audio waiting (PipeWire): silence */
	/* What a sample waits from the sink to the aids' output, ns: the
	 * frames queued for the slots, the slot itself, G.722's filters and
	 * the larger of the aids' RenderDelay. What ttws.sink publishes. */
	uint64_t latency_ns;
	struct ashapw_stats pw;
	/* Send skew between the ears (TX completion of one slot's SDUs), ns,
	 * over the slots both ears completed: */
	uint64_t skew_count;
	uint64_t skew_p50_ns, skew_p99_ns, skew_max_ns;
};

struct ashapair;

/*
 * The pair on chans (owned from the call on, freed with the pair even
 * when this fails; both ears needed). -ENOMEM, -EINVAL, -ENOTSUP (no
 * G.722 in this build), -EOPNOTSUPP (a channel without ATT).
 */
int ashapair_new(const struct ashapair_env *env,
		 struct chan *chans[CONF_N_EARS], struct ashapair **ret);
struct ashapair *ashapair_free(struct ashapair *p);

/* Connect both aids; the slot clock starts with the first that plays. */
void ashapair_start(struct ashapair *p, uint64_t now_ns);

/* Stop the slot clock, and both aids: Stop written to each that
 * streams, the others' links closed (ashaear_close()). */
void ashapair_stop(struct ashapair *p, uint64_t now_ns);

/* After ashapair_stop(): whether both aids are let go (their Stop went
 * through); force closes them whatever their state. */
bool ashapair_stopped(struct ashapair *p, bool force);

/*
 * Where each aid's send -> TX completion latency (ns) is recorded (the
 * engine's per-ear tx_done histograms: ttwsctl latency); NULL: nowhere.
 * Not owned.
 */
void ashapair_set_hists(struct ashapair *p,
			struct hist *tx_done[CONF_N_EARS]);

/* The sink wrote (engine_notify): take its quanta. */
void ashapair_pull(struct ashapair *p);

/* Volume to both aids (-128 mute .. 0, ASHA's scale). */
int ashapair_set_volume(struct ashapair *p, int volume, uint64_t now_ns);

/* The pair's view of the configuration changed: its asha_volume to the
 * aids if it moved (the tones are read at each slot). */
void ashapair_reconf(struct ashapair *p, uint64_t now_ns);

void ashapair_get_stats(const struct ashapair *p,
			struct ashapair_stats *ret);
void ashapair_reset_stats(struct ashapair *p);

#endif
