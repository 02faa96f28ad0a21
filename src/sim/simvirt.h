/* SPDX-License-Identifier: MIT */
#ifndef TTWS_SIM_SIMVIRT_H
#define TTWS_SIM_SIMVIRT_H

/*
 * Virtual-time mode of ttws-earbud-sim: ttwsd's own per-pair engine
 * (daemon/pair: core/plan, two daemon/link sessions with their probe and
 * servos, daemon/stream cutting and sending the frames), built from
 * ttwsd's defaults (conf_default()) as the daemon builds it, driven by a
 * struct wheel in virtual time (the links read the wheel's clock) and
 * talking over virtual channels (sim/simchan) to the earbud model
 * (sim/simear over sim/simclock and sim/simlink) of one scenario. No
 * clock is read and nothing sleeps: an hour of audio runs in seconds, and
 * the whole run follows from the scenario seed, bit for bit. There is no
 * probing, delay or locking policy here: what the daemon does is what
 * runs (tests/unit/test-simvirt.c replays a run's trace through a bare
 * pair and gets the same exchanges and presentation times).
 *
 * Each enabled estimator is one such run with [servo] estimator set to
 * it (every estimator is a configuration of ttwsd); the earbud model's
 * draws follow the scenario seed, so runs of different estimators see
 * the same crystals and links (their draws diverge only where the
 * daemons behave differently, e.g. frames not sent while unlocked).
 *
 * Truth, per frame both ears played (after a 2 s warm-up): the mapping
 * error pts_L - pts_R, each the host instant at which that earbud's clock
 * reads the presentation time the daemon sent (where a fractional
 * renderer starts it), and the acoustic error render_L - render_R, where
 * each actually starts on its sample grid (the same as the mapping error
 * when the scenario sets no render_res_us). Each other frame of each ear
 * is late (it reached the earbud after its presentation time), lost (the
 * link could not carry it, or the earbud was frozen) or unsent (the
 * daemon did not send it: that ear was not streaming).
 *
 * relock_s, for an ear whose link dropped or whose earbud froze: from
 * its return to the presentation instant of the first frame after which
 * every frame that ear was sent or should have been is rendered with
 * |error| < 15 us for the rest of the 30 s after the return (unsent, late
 * or over-threshold frames reset it; frames the link lost or that the
 * other ear could not play do not count either way).
 */

#include <stdbool.h>
#include <stdint.h>

#include "core/conf.h"
#include "core/hist.h"
#include "core/servo.h"
#include "sim/scenario.h"
#include "sim/simlink.h"

#define SIMVIRT_ESTIMATORS SERVO_N_KINDS /* enum servo_kind */
#define SIMVIRT_RELOCK_NS UINT64_C(15000) /* DESIGN.md: 15 us */
/* relock_s looks at the frames of this long after the return. */
#define SIMVIRT_RELOCK_WINDOW_NS (UINT64_C(30) * NSEC_PER_SEC)

/* One event of a run, for traces (simvirt_options.trace). */
enum simvirt_trace_kind {
	SIMVIRT_TRACE_OPEN,     /* the channel opened at ns */
	SIMVIRT_TRACE_CLOSED,   /* ... or failed / closed at ns */
	SIMVIRT_TRACE_TO_EAR,   /* the link sent msg at ns */
	SIMVIRT_TRACE_FROM_EAR, /* msg was handed to the link at ns */
};

struct simvirt_trace {
	enum simvirt_trace_kind kind;
	enum servo_kind estimator; /* the run it belongs to */
	enum scenario_side side;
	uint64_t ns;
	const uint8_t *msg; /* valid during the call; NULL for OPEN/CLOSED */
	size_t len;
};

struct simvirt_options {
	double duration_s;    /* > 0 overrides the scenario's */
	double warmup_s;      /* frames captured before are not counted */
	unsigned estimators;  /* bit (1 << enum servo_kind) per estimator */
	/* [servo] probe_every_events, 1..3; 0 = ttwsd's default. */
	uint32_t probe_every;
	/* > 0: a fixed presentation delay (ms): [stream] delay, delay_min
	 * and delay_max all set to it. 0 = ttwsd's adaptive default. */
	double fixed_delay_ms;
	/* Called for every event of every run (may be NULL). */
	void (*trace)(void *user_data, const struct simvirt_trace *t);
	void *trace_data;
};

/* Defaults: the scenario's duration, 2 s warm-up, every estimator,
 * ttwsd's probing and adaptive delay, no trace. */
void simvirt_options_default(struct simvirt_options *ret);

struct simvirt_ear {
	uint64_t rendered; /* after warm-up, per estimator */
	uint64_t late;
	uint64_t lost;
	uint64_t unsent;
	bool dropped;    /* this ear's link dropped during the run */
	bool relocked;   /* ... and the error came back under 15 us */
	double relock_s; /* valid if relocked */
	struct servo_status status; /* at the end of the run */
};

struct simvirt_estimator {
	bool enabled;
	enum servo_kind kind;
	struct hist err;      /* |pts_L - pts_R| (ns), counted frames */
	struct hist acoustic; /* |render_L - render_R| (ns) */
	double err_sum_ns;    /* signed, for the mean */
	uint64_t over_15us;  /* counted frames with |error| >= 15 us */
	uint64_t delay_ns;   /* the plan's presentation delay at the end */
	uint64_t delay_max_ns; /* its largest after the warm-up */
	double delay_sum_ns;   /* summed over counted frames: the mean */
	uint64_t exchanges[SCENARIO_SIDES]; /* SYNC_REQs sent */
	uint64_t samples[SCENARIO_SIDES];   /* complete exchanges */
	struct simvirt_ear ear[SCENARIO_SIDES];
};

struct simvirt_result {
	struct scenario scenario; /* as run (duration overridden) */
	struct simvirt_options options;
	uint64_t frames;          /* captured during the run */
	uint64_t counted_from;    /* first frame after the warm-up */
	/* Of the last estimator's run: */
	uint64_t exchanges[SCENARIO_SIDES];  /* SYNC_REQs sent */
	uint64_t samples[SCENARIO_SIDES];    /* and delivered to servos */
	struct simlink_stats link[SCENARIO_SIDES];
	uint64_t events;          /* wheel callbacks run */
	struct simvirt_estimator est[SIMVIRT_ESTIMATORS];
};

/*
 * What a run of estimator kind gives ttwsd's engine: its configuration
 * (ttwsd's defaults with what the scenario and opt set), the seed of its
 * timing-request dithering, the instant its links start (host ns) and
 * frame 0's capture instant. For tests that rebuild the same engine.
 */
void simvirt_engine_config(const struct scenario *sc,
			   const struct simvirt_options *opt,
			   enum servo_kind kind, struct conf *ret_conf,
			   uint64_t *ret_seed, uint64_t *ret_up_ns,
			   uint64_t *ret_t0_ns);

/*
 * Run sc under opt. Returns 0 and fills *ret (caller storage, ~100 KiB:
 * allocate it), or a negative errno: -EINVAL for options out of range
 * (no estimator, probe_every outside 1..3, a negative warm-up), -ENOMEM,
 * or the error of a core module.
 */
int simvirt_run(const struct scenario *sc, const struct simvirt_options *opt,
		struct simvirt_result *ret);

#endif
