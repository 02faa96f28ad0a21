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
 * What the map means: SERVO_TTWS maps a host instant to the earbud time
 * at which a reply sent at that instant would have been stamped if it had
 * met the host's transport at its quickest (the reverse-delay floor, about
 * the 100 us of HCI plus a little jitter). That constant is the same for
 * both ears behind one controller, so it cancels in their difference; it
 * shows as latency, not as misalignment. The baselines map to the NTP
 * midpoint, which is off by half a connection-event wait per link.
 *
 * Servos are independent objects with no locking: one per ear, driven
 * from one thread.
 *
 * Four estimators behind one interface (linuxptp servo_private.h style),
 * so they can be compared on identical input:
 *   SERVO_NAIVE       NTP four-timestamp offset, averaged.
 *   SERVO_MEDIAN_IIR  median of the last 7 offsets, then IIR (alpha 0.15).
 *   SERVO_TTWS        ours, the default (see servo_ttws.c).
 *   SERVO_LUCKY_PI    the strong baseline: minimum-delay ("lucky packet")
 *                     selection, a least-squares frequency and a PI loop
 *                     on the phase, as chrony and linuxptp do it (see
 *                     servo_lucky_pi.c). Maps to the NTP midpoint of the
 *                     luckiest exchanges.
 */

#include <stdbool.h>
#include <stdint.h>

enum servo_kind {
	SERVO_NAIVE = 0,
	SERVO_MEDIAN_IIR = 1,
	SERVO_TTWS = 2,
	SERVO_LUCKY_PI = 3,
};

/* How many kinds there are: per-kind arrays are this long. */
#define SERVO_N_KINDS 4

/*
 * unlocked -> locked after a few samples (SERVO_TTWS: 4; a step re-locks
 * from the 2 samples that showed it); locked -> stable once the
 * estimator's own standard errors are small (SERVO_TTWS: ear(now) within
 * 2 us and the rate within 0.2 ppm, one sigma); locked or stable ->
 * holdover from servo_tick() after holdover_after_ns without a sample, and
 * back on the next sample; anything -> unlocked on servo_reset().
 * A daemon that prefers silence to a smeared image for the first seconds
 * of a bad link waits for SERVO_STABLE; servo_map() works from LOCKED on.
 */
enum servo_state {
	SERVO_UNLOCKED = 0, /* no usable estimate: do not send audio */
	SERVO_LOCKED = 1,   /* offset known, rate still settling */
	SERVO_STABLE = 2,   /* offset and rate settled */
	SERVO_HOLDOVER = 3, /* samples stopped: extrapolating the last model */
};

struct servo_config {
	enum servo_kind kind;
	/* Step after two consecutive residuals over this (ns). Default 15 us.
	 */
	uint64_t resync_threshold_ns;
	/* No sample for this long (host ns) enters holdover. Default 1 s. */
	uint64_t holdover_after_ns;
	/*
	 * Connection interval of the link (us), 1 .. 4000000. SERVO_TTWS
	 * numbers connection events with it (see servo_ttws.c); a wrong
	 * value costs accuracy (it falls back to a plain fit), not
	 * correctness.
	 */
	uint32_t ci_us;
};

/* Counters are cumulative since servo_new(); servo_reset() keeps them. */
struct servo_status {
	enum servo_state state;
	int64_t offset_ns; /* ear - host at the last model origin */
	int64_t rate_ppb;  /* (d ear / d host - 1) * 1e9 */
	uint64_t samples;  /* samples accepted */
	uint64_t rejected; /* samples gated out (or outliers, out of order) */
	uint64_t steps;	   /* resynchronisations (steps) */
	/*
	 * The newest sample's disagreement with the model as it stood
	 * before that sample (ns). SERVO_TTWS: ear-time distance above the
	 * reverse-delay floor (> 0: earlier than the floor allows; < 0:
	 * queued longer than the luckiest samples). Baselines: NTP offset
	 * minus model.
	 */
	int64_t last_residual_ns;
	/*
	 * Added: RENDER_REPORT forward samples seen, and how many of them
	 * the model put before their own departure by more than
	 * resync_threshold_ns (a model running ahead; counted only).
	 */
	uint64_t forward_samples;
	uint64_t forward_violations;
	/*
	 * Added: the estimator's own standard error of ear(now) (ns) and of
	 * the rate (ppb); 0 while unlocked. SERVO_TTWS's is conservative
	 * (measured errors run at 0.4 to 0.9 of it).
	 */
	uint64_t offset_sd_ns;
	uint64_t rate_sd_ppb;
};

struct servo;

/* Defaults: SERVO_TTWS, 15 us, 1 s, 7500 us. */
void servo_config_default(struct servo_config *ret);

/*
 * Create a servo; all its memory is allocated here (SERVO_TTWS: about
 * 250 KiB of fixed windows). Returns 0 and *ret, or -EINVAL (NULL, an
 * unknown kind, a zero threshold or holdover, ci_us out of range; *ret
 * untouched) or -ENOMEM.
 */
int servo_new(const struct servo_config *cfg, struct servo **ret);

/* Free a servo (NULL is fine; unpairs it). Returns NULL. */
struct servo *servo_free(struct servo *s);

/*
 * Added. The two ears of a pair reach the host through one dongle, whose
 * clock paces both links' connection events: let their servos share what
 * they learn of it. SERVO_TTWS pools the dongle-vs-host rate of the two
 * (its error is then common to both ears and cancels in the inter-ear
 * difference, which matters most in the first seconds, and a reconnecting
 * ear inherits it at once); the baselines ignore it. Only pair servos of
 * links on the same controller. Either may be freed first; pairing again
 * replaces an earlier pairing. Returns 0, or -EINVAL (NULL, the same
 * servo twice, or different kinds).
 */
int servo_pair(struct servo *a, struct servo *b);

/*
 * Forget everything (reconnect: the earbud clock may have been reset):
 * samples, offset, state (unlocked). Only SERVO_TTWS's and
 * SERVO_LUCKY_PI's last rate survives, as a soft prior (+-2 ppm) for the
 * next lock, because a reconnect changes neither crystal; samples
 * overrule it within seconds, so even a different earbud re-locks
 * correctly. The connection interval and the clock resolution stay as
 * last set.
 */
void servo_reset(struct servo *s);

/*
 * Added. The link's connection interval is ci_us (1 .. 4000000) from now
 * on: the value HELLO or an LL connection update settled on, when it
 * differs from the configuration. Call it right after servo_reset() for
 * a new connection; mid-connection SERVO_TTWS keeps its model and goes on
 * at reduced accuracy until the next reset. Returns 0 or -EINVAL.
 */
int servo_set_ci(struct servo *s, uint32_t ci_us);

/*
 * Added. The earbud's timestamp tick (ns, 1 .. 1000000; HELLO_ACK
 * clock_res_ns), from the next sample on; 1 (the default) means exact
 * stamps. An earbud that counts in ticks truncates each ear stamp (t2,
 * t3, a RENDER_REPORT's rx_ear) to one, so each is early by a uniform
 * [0, res) ns, res/2 on average. Uncorrected, that biases the NTP offset
 * by -res/2 (the round-trip delay is unbiased: t3 - t2 loses as much as
 * it gains). The servo adds res/2 to every ear stamp before any
 * estimator sees it, which removes the bias and leaves a zero-mean
 * uniform error of +-res/2 per stamp; SERVO_LUCKY_PI also widens its
 * lucky-delay bound by 2 res (the quantisation t3 - t2 carries). Like
 * servo_set_ci(), call it after servo_reset() for a new connection.
 * Returns 0 or -EINVAL (NULL, out of range; nothing changed).
 */
int servo_set_clock_res(struct servo *s, uint32_t res_ns);

/*
 * Added. New step threshold and holdover time (ns, both > 0; see struct
 * servo_config), from the next sample and tick on; the model and the
 * state stay (a live reconfiguration must not cost the lock). Returns 0
 * or -EINVAL (nothing changed).
 */
int servo_set_limits(struct servo *s, uint64_t resync_threshold_ns,
		     uint64_t holdover_after_ns);

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
 * left (host ns) and the earbud instant it arrived (ear ns). Used only as
 * a causality check (see forward_violations): its delay floor depends on
 * each link's interval and phase, so it would bias the inter-ear
 * difference. Returns 0, or -EINVAL for a NULL servo.
 */
int servo_forward_sample(struct servo *s, uint64_t tx_host, uint64_t rx_ear);

/*
 * Let the servo notice time passing without samples (holdover). now_host
 * in host ns.
 */
void servo_tick(struct servo *s, uint64_t now_host);

/*
 * Map a host instant to the earbud clock. Returns 0 and *ret_ear, or
 * -EAGAIN while unlocked (*ret_ear untouched), -EINVAL for NULL.
 */
int servo_map(const struct servo *s, uint64_t host_ns, uint64_t *ret_ear);

/* Host-vs-ear rate as a ratio d ear / d host (1.0 when unknown). */
double servo_rate(const struct servo *s);

void servo_status(const struct servo *s, struct servo_status *ret);

/* "naive", "median-iir", "ttws", "lucky-pi"; NULL for an unknown kind. */
const char *servo_kind_name(enum servo_kind k);
/* The reverse; -EINVAL for an unknown name. */
int servo_kind_from_string(const char *name, enum servo_kind *ret);
/* "unlocked", "locked", "stable", "holdover"; NULL if unknown. */
const char *servo_state_name(enum servo_state st);

#endif
