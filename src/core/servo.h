/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_SERVO_H
#define TTWS_CORE_SERVO_H

/*
 * Per-ear clock servo: estimates the map host time -> earbud time
 * (offset and rate) from timestamps. Pure: no clock reads, no allocation
 * after servo_new(), no logging. The same code runs in ttwsd and in the
 * virtual-time scenario bench.
 *
 * Time bases: "host" is CLOCK_MONOTONIC of the host in ns; "ear" is the
 * earbud's own clock in ns. Both are uint64_t; differences are int64_t.
 *
 * Three estimators behind one interface (linuxptp servo_private.h style),
 * so they can be compared on identical input:
 *   SERVO_NAIVE       NTP four-timestamp offset, averaged.
 *   SERVO_MEDIAN_IIR  median of the last 7 offsets, then IIR (alpha 0.15).
 *   SERVO_TTWS        ours, the default (see servo_ttws.c).
 */

#include <stdbool.h>
#include <stdint.h>

enum servo_kind {
	SERVO_NAIVE = 0,
	SERVO_MEDIAN_IIR = 1,
	SERVO_TTWS = 2,
};

enum servo_state {
	SERVO_UNLOCKED = 0, /* no usable estimate: do not send audio */
	SERVO_LOCKED = 1,   /* offset known, rate still settling */
	SERVO_STABLE = 2,   /* offset and rate settled */
	SERVO_HOLDOVER = 3, /* samples stopped: extrapolating the last model */
};

struct servo_config {
	enum servo_kind kind;
	/* Step after two consecutive residuals over this (ns). Default 15 us. */
	uint64_t resync_threshold_ns;
	/* No sample for this long (host ns) enters holdover. Default 1 s. */
	uint64_t holdover_after_ns;
	/* Connection interval of the link (us), a hint for windows. */
	uint32_t ci_us;
};

struct servo_status {
	enum servo_state state;
	int64_t offset_ns;   /* ear - host at the last model origin */
	int64_t rate_ppb;    /* (d ear / d host - 1) * 1e9 */
	uint64_t samples;    /* samples accepted */
	uint64_t rejected;   /* samples gated out */
	uint64_t steps;      /* resynchronisations (steps) */
	/*
	 * The newest sample's disagreement with the model as it stood
	 * before that sample (ns). SERVO_TTWS: ear-time distance above the
	 * reverse-delay floor (> 0: earlier than the floor allows; < 0:
	 * queued longer than the luckiest samples). Baselines: NTP offset
	 * minus model.
	 */
	int64_t last_residual_ns;
	/* Added: RENDER_REPORT forward samples seen, and how many of them
	 * the model put before their own departure by more than
	 * resync_threshold_ns (a model running ahead; counted only). */
	uint64_t forward_samples;
	uint64_t forward_violations;
};

struct servo;

/* Defaults: SERVO_TTWS, 15 us, 1 s, 7500 us. */
void servo_config_default(struct servo_config *ret);

/* Create a servo. Returns 0 and *ret, or -EINVAL / -ENOMEM. */
int servo_new(const struct servo_config *cfg, struct servo **ret);
struct servo *servo_free(struct servo *s);

/* Forget everything (reconnect: the earbud clock may have been reset). */
void servo_reset(struct servo *s);

/*
 * A timing exchange (ttws-link SYNC_REQ/SYNC_RESP, t3 two-step):
 *   t1_host  host instant the request left (host ns; TX completion if known)
 *   t2_ear   earbud instant it received the request (ear ns)
 *   t3_ear   earbud instant its reply left, taken at the connection event
 *            that carried it (ear ns)
 *   t4_host  host instant the reply arrived (host ns, kernel timestamp)
 * Returns 0, or -EINVAL for inconsistent stamps (t4 < t1, t3 < t2).
 */
int servo_sync_sample(struct servo *s, uint64_t t1_host, uint64_t t2_ear,
		      uint64_t t3_ear, uint64_t t4_host);

/*
 * A forward-only sample from a RENDER_REPORT: host instant an AUDIO frame
 * left (host ns) and the earbud instant it arrived (ear ns).
 */
int servo_forward_sample(struct servo *s, uint64_t tx_host, uint64_t rx_ear);

/*
 * Let the servo notice time passing without samples (holdover). now_host
 * in host ns.
 */
void servo_tick(struct servo *s, uint64_t now_host);

/*
 * Map a host instant to the earbud clock. Returns 0 and *ret_ear, or
 * -EAGAIN while unlocked.
 */
int servo_map(const struct servo *s, uint64_t host_ns, uint64_t *ret_ear);

/* Host-vs-ear rate as a ratio d ear / d host (1.0 when unknown). */
double servo_rate(const struct servo *s);

void servo_status(const struct servo *s, struct servo_status *ret);

const char *servo_kind_name(enum servo_kind k);
int servo_kind_from_string(const char *name, enum servo_kind *ret);
const char *servo_state_name(enum servo_state st);

#endif
