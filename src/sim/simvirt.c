/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/macro.h"
#include "core/plan.h"
#include "core/probe.h"
#include "core/servo.h"
#include "core/wheel.h"
#include "sim/simclock.h"
#include "sim/simlink.h"
#include "sim/simrng.h"
#include "sim/simvirt.h"

/*
 * Virtual CLOCK_MONOTONIC at the start of a run: 20 000 s (5.5 h of
 * uptime), far enough from 0 that the most negative offset a scenario may
 * set (-1e7 ms) still gives an earbud clock above zero.
 */
#define SIMVIRT_T0_NS (UINT64_C(20000) * NSEC_PER_SEC)

/* Generator streams of one seed: one per object and purpose. */
enum simvirt_stream {
	STREAM_CLOCK = 0x10,
	STREAM_LINK = 0x20,
	STREAM_PROBE = 0x30,
};

struct simvirt;

struct sv_side {
	struct simvirt *v;
	enum scenario_side side;
	struct simclock *clock;
	struct simlink *link;
	struct probe probe;
	uint64_t probe_seed;
	uint64_t ci_ns;
	struct wheel_timer probe_timer;
	struct wheel_timer up_timer;
	bool drops;      /* the link drops during the run */
	uint64_t up_ns;  /* ... and is back here */
};

struct sv_est {
	bool enabled;
	struct servo *servo[SCENARIO_SIDES];
	struct plan *plan;
	/* Relock: render instant of the first good frame since a bad one. */
	uint64_t good_since_ns[SCENARIO_SIDES];
};

enum sv_msg_kind {
	SV_MSG_SYNC,   /* SYNC_RESP + follow-up: a four-stamp sample */
	SV_MSG_REPORT, /* RENDER_REPORT: a forward sample */
};

/* A message in flight to the host, filed in the wheel until it lands. */
struct sv_msg {
	struct wheel_timer timer;
	struct simvirt *v;
	struct sv_msg *next_free;
	enum sv_msg_kind kind;
	enum scenario_side side;
	uint64_t t1, t2, t3, t4; /* SYNC; REPORT uses t1 = tx, t2 = rx */
};

#define SV_CHUNK 64

struct sv_chunk {
	struct sv_chunk *next;
	struct sv_msg msg[SV_CHUNK];
};

/* Outcome of one frame at one ear for one estimator. */
enum sv_outcome {
	SV_RENDERED,
	SV_LATE,
	SV_LOST,
	SV_UNSENT,
};

struct simvirt {
	const struct scenario *sc;
	const struct simvirt_options *opt;
	struct simvirt_result *res;
	struct wheel *wheel;
	struct sv_side side[SCENARIO_SIDES];
	struct sv_est est[SIMVIRT_ESTIMATORS];
	struct wheel_timer frame_timer;
	uint64_t start_ns;
	uint64_t end_ns;
	uint64_t frame_ns;
	uint64_t counted_ns; /* frames captured from here on count */
	uint64_t n;          /* next frame */
	struct sv_msg *free_msgs;
	struct sv_chunk *chunks;
	int error; /* the first error a callback met; stops the run */
};

void simvirt_options_default(struct simvirt_options *ret)
{
	*ret = (struct simvirt_options){
		.duration_s = 0.0,
		.warmup_s = 2.0,
		.estimators = (1u << SERVO_NAIVE) | (1u << SERVO_MEDIAN_IIR) |
			      (1u << SERVO_TTWS),
		/*
		 * DESIGN.md asks for a calibration at least every 3 events;
		 * every 2 gives the envelope more samples near its floor,
		 * which is what long intervals with loss lack.
		 */
		.probe_every = 2,
	};
}

static void sv_fail(struct simvirt *v, int r)
{
	if (!v->error) {
		v->error = r;
	}
}

static uint64_t seed_of(uint64_t seed, uint64_t stream)
{
	struct simrng r;

	simrng_seed(&r, seed, stream);
	return simrng_next(&r);
}

static uint64_t ns_of_s(double s)
{
	return (uint64_t)llround(s * 1e9);
}

static struct sv_msg *msg_get(struct simvirt *v)
{
	struct sv_msg *m;

	if (!v->free_msgs) {
		struct sv_chunk *c = calloc(1, sizeof(*c));

		if (!c) {
			return NULL;
		}
		c->next = v->chunks;
		v->chunks = c;
		for (int i = 0; i < SV_CHUNK; i++) {
			c->msg[i].next_free = v->free_msgs;
			v->free_msgs = &c->msg[i];
		}
	}
	m = v->free_msgs;
	v->free_msgs = m->next_free;
	return m;
}

static void msg_put(struct simvirt *v, struct sv_msg *m)
{
	m->next_free = v->free_msgs;
	v->free_msgs = m;
}

static void msg_fire(struct wheel_timer *t, uint64_t now_ns);

/* File a message that reaches the host at rx_ns. */
static void msg_send(struct simvirt *v, enum sv_msg_kind kind,
		     enum scenario_side side, uint64_t rx_ns, uint64_t t1,
		     uint64_t t2, uint64_t t3, uint64_t t4)
{
	struct sv_msg *m = msg_get(v);
	int r;

	if (!m) {
		sv_fail(v, -ENOMEM);
		return;
	}
	wheel_timer_init(&m->timer, WHEEL_HARD, 0, msg_fire);
	m->v = v;
	m->kind = kind;
	m->side = side;
	m->t1 = t1;
	m->t2 = t2;
	m->t3 = t3;
	m->t4 = t4;
	r = wheel_add(v->wheel, &m->timer, rx_ns);
	if (r < 0) {
		msg_put(v, m);
		sv_fail(v, r);
	}
}

/*
 * The host's estimate of how long a frame took to reach the earbud, in
 * host ns, from this estimator's own map: the plan may only know what the
 * daemon would know.
 */
static void observe_delivery(struct sv_est *e, struct servo *s,
			     uint64_t tx_host, uint64_t rx_ear)
{
	uint64_t tx_ear;
	int64_t d;

	if (servo_map(s, tx_host, &tx_ear) < 0) {
		return;
	}
	d = (int64_t)(rx_ear - tx_ear);
	if (d <= 0) {
		return;
	}
	plan_observe_delivery(e->plan,
			      (uint64_t)llround((double)d / servo_rate(s)));
}

static void msg_fire(struct wheel_timer *t, uint64_t now_ns)
{
	struct sv_msg *m = container_of(t, struct sv_msg, timer);
	struct simvirt *v = m->v;

	if (m->kind == SV_MSG_SYNC) {
		v->res->samples[m->side]++;
	}
	for (int k = 0; k < SIMVIRT_ESTIMATORS; k++) {
		struct sv_est *e = &v->est[k];
		struct servo *s = e->servo[m->side];

		if (!e->enabled) {
			continue;
		}
		switch (m->kind) {
		case SV_MSG_SYNC:
			/* -EINVAL only for inconsistent stamps: counted. */
			(void)servo_sync_sample(s, m->t1, m->t2, m->t3, m->t4);
			break;
		case SV_MSG_REPORT:
			(void)servo_forward_sample(s, m->t1, m->t2);
			observe_delivery(e, s, m->t1, m->t2);
			break;
		}
	}
	msg_put(v, m);
}

/*
 * One timing exchange from the host at t1: SYNC_REQ down, SYNC_RESP up
 * from the next event (t3 = that event), then the precise t3 two-step in
 * a follow-up at the event after; the sample reaches the servos with it.
 */
static int sv_exchange(struct sv_side *sd, uint64_t t1)
{
	uint64_t ev, t2, ready, t3, t4, rx;
	int r;

	sd->v->res->exchanges[sd->side]++;
	r = simlink_downlink(sd->link, t1, &ev, &t2);
	if (r < 0) {
		return r;
	}
	r = simclock_host_of_ear(sd->clock, t2 + SIMLINK_REPLY_NS, &ready);
	if (r < 0) {
		return r;
	}
	r = simlink_uplink(sd->link, ready, &ev, &t3, &t4);
	if (r < 0) {
		return r;
	}
	r = simlink_uplink(sd->link, ev + 1, NULL, NULL, &rx);
	if (r < 0) {
		return r;
	}
	msg_send(sd->v, SV_MSG_SYNC, sd->side, rx, t1, t2, t3, t4);
	return 0;
}

static void probe_fire(struct wheel_timer *t, uint64_t now_ns)
{
	struct sv_side *sd = container_of(t, struct sv_side, probe_timer);
	int r;

	r = sv_exchange(sd, now_ns);
	if (r < 0 && r != -ENOTCONN && r != -ETIMEDOUT) {
		sv_fail(sd->v, r);
		return;
	}
	r = wheel_add(sd->v->wheel, &sd->probe_timer,
		      probe_sent(&sd->probe, now_ns));
	if (r < 0) {
		sv_fail(sd->v, r);
	}
}

static int probe_start(struct sv_side *sd, uint64_t now_ns)
{
	int r;

	r = probe_init(&sd->probe, sd->ci_ns,
		       probe_every_for_ci(sd->v->opt->probe_every, sd->ci_ns),
		       sd->probe_seed, now_ns);
	if (r < 0) {
		return r;
	}
	/* A new seed per (re)connection, still from the scenario seed. */
	sd->probe_seed = seed_of(sd->probe_seed, STREAM_PROBE);
	return wheel_add(sd->v->wheel, &sd->probe_timer, probe_due(&sd->probe));
}

/* The link is back: HELLO again, so the servos start over. */
static void up_fire(struct wheel_timer *t, uint64_t now_ns)
{
	struct sv_side *sd = container_of(t, struct sv_side, up_timer);
	struct simvirt *v = sd->v;
	int r;

	for (int k = 0; k < SIMVIRT_ESTIMATORS; k++) {
		if (v->est[k].enabled) {
			servo_reset(v->est[k].servo[sd->side]);
		}
	}
	wheel_cancel(v->wheel, &sd->probe_timer);
	r = probe_start(sd, now_ns);
	if (r < 0) {
		sv_fail(v, r);
	}
}

/*
 * Relock bookkeeping for frames of ear `s` after its link returned:
 * a bad frame (unsent, late, or |error| over the threshold) restarts the
 * clock; the first good one after it starts it.
 */
static void relock_note(struct sv_est *e, int s, enum sv_outcome mine,
			bool both, uint64_t abs_err, uint64_t render_ns)
{
	bool bad = mine == SV_UNSENT || mine == SV_LATE ||
		   (both && abs_err >= SIMVIRT_RELOCK_NS);

	if (bad) {
		e->good_since_ns[s] = 0;
	} else if (both && e->good_since_ns[s] == 0) {
		e->good_since_ns[s] = render_ns;
	}
}

static void frame_fire(struct wheel_timer *t, uint64_t now_ns)
{
	struct simvirt *v = container_of(t, struct simvirt, frame_timer);
	struct simvirt_result *res = v->res;
	uint64_t n = v->n, t2[SCENARIO_SIDES] = { 0 };
	int dl[SCENARIO_SIDES];
	bool counted = now_ns >= v->counted_ns;
	uint64_t next;
	int r;

	/*
	 * The link first, for every frame: its draws must not depend on
	 * any estimator, or the estimators would not see the same input.
	 */
	for (int s = 0; s < SCENARIO_SIDES; s++) {
		struct sv_side *sd = &v->side[s];
		uint64_t ev, ready, rx;

		dl[s] = simlink_downlink(sd->link, now_ns, &ev, &t2[s]);
		if (dl[s] < 0) {
			if (dl[s] != -ENOTCONN && dl[s] != -ETIMEDOUT) {
				sv_fail(v, dl[s]);
				return;
			}
			continue;
		}
		r = simclock_host_of_ear(sd->clock, t2[s] + SIMLINK_REPLY_NS,
					 &ready);
		if (r < 0) {
			sv_fail(v, r);
			return;
		}
		r = simlink_uplink(sd->link, ready, NULL, NULL, &rx);
		if (r == 0) {
			msg_send(v, SV_MSG_REPORT, s, rx, now_ns, t2[s], 0, 0);
		} else if (r != -ENOTCONN && r != -ETIMEDOUT) {
			sv_fail(v, r);
			return;
		}
	}

	for (int k = 0; k < SIMVIRT_ESTIMATORS; k++) {
		struct sv_est *e = &v->est[k];
		struct simvirt_estimator *out = &res->est[k];
		enum sv_outcome oc[SCENARIO_SIDES];
		uint64_t render[SCENARIO_SIDES] = { 0 }, target, abs_err = 0;
		int64_t err = 0;
		bool both;

		if (!e->enabled) {
			continue;
		}
		target = plan_target(e->plan, n);
		for (int s = 0; s < SCENARIO_SIDES; s++) {
			uint64_t pts;

			servo_tick(e->servo[s], now_ns);
			r = plan_pts(e->plan, n, e->servo[s], &pts);
			if (r == -EAGAIN) {
				oc[s] = SV_UNSENT;
			} else if (r < 0) {
				sv_fail(v, r);
				return;
			} else if (dl[s] < 0) {
				oc[s] = SV_LOST;
			} else if (t2[s] > pts) {
				oc[s] = SV_LATE;
			} else {
				r = simclock_host_of_ear(v->side[s].clock, pts,
							 &render[s]);
				if (r < 0) {
					sv_fail(v, r);
					return;
				}
				oc[s] = SV_RENDERED;
			}
			if (!counted) {
				continue;
			}
			switch (oc[s]) {
			case SV_RENDERED:
				out->ear[s].rendered++;
				break;
			case SV_LATE:
				out->ear[s].late++;
				break;
			case SV_LOST:
				out->ear[s].lost++;
				break;
			case SV_UNSENT:
				out->ear[s].unsent++;
				break;
			}
		}
		both = oc[0] == SV_RENDERED && oc[1] == SV_RENDERED;
		if (both) {
			err = (int64_t)(render[SCENARIO_LEFT] -
					render[SCENARIO_RIGHT]);
			abs_err = (uint64_t)(err < 0 ? -err : err);
			if (counted) {
				hist_record(&out->err, abs_err);
				out->err_sum_ns += (double)err;
				out->over_15us += abs_err >= SIMVIRT_RELOCK_NS;
			}
		}
		for (int s = 0; s < SCENARIO_SIDES; s++) {
			if (v->side[s].drops && now_ns >= v->side[s].up_ns) {
				relock_note(e, s, oc[s], both, abs_err, target);
			}
		}
	}

	res->frames++;
	v->n++;
	next = v->start_ns + v->n * v->frame_ns;
	if (next < v->end_ns) {
		r = wheel_add(v->wheel, &v->frame_timer, next);
		if (r < 0) {
			sv_fail(v, r);
		}
	}
}

static int side_setup(struct simvirt *v, enum scenario_side s)
{
	const struct scenario_ear *se = &v->sc->ear[s];
	struct sv_side *sd = &v->side[s];
	struct simclock_config cc = {
		.offset_ns = (int64_t)llround(se->offset_ms * 1e6),
		.ppm = se->ppm,
		.wander_ppb_per_s = se->wander_ppb_per_s,
		.start_host_ns = v->start_ns,
		.seed = seed_of(v->sc->seed, STREAM_CLOCK + s),
	};
	struct simlink_config lc = {
		.start_host_ns = v->start_ns,
		.ci_us = se->ci_us,
		.anchor_phase_us = se->anchor_phase_us,
		.dongle_ppm = v->sc->dongle_ppm,
		.loss = se->loss,
		.jitter = se->hci_jitter_dist,
		.jitter_us = se->hci_jitter_us,
		.seed = seed_of(v->sc->seed, STREAM_LINK + s),
	};
	int r;

	sd->v = v;
	sd->side = s;
	sd->ci_ns = (uint64_t)se->ci_us * NSEC_PER_USEC;
	sd->probe_seed = seed_of(v->sc->seed, STREAM_PROBE + s);
	if (se->drop_for_s > 0) {
		lc.drop_at_ns = v->start_ns + ns_of_s(se->drop_at_s);
		lc.drop_for_ns = ns_of_s(se->drop_for_s);
		sd->drops = lc.drop_at_ns < v->end_ns;
		sd->up_ns = lc.drop_at_ns + lc.drop_for_ns;
	}
	r = simclock_new(&cc, &sd->clock);
	if (r < 0) {
		return r;
	}
	r = simlink_new(&lc, sd->clock, &sd->link);
	if (r < 0) {
		return r;
	}
	wheel_timer_init(&sd->probe_timer, WHEEL_HARD, 0, probe_fire);
	wheel_timer_init(&sd->up_timer, WHEEL_HARD, 0, up_fire);
	r = probe_start(sd, v->start_ns);
	if (r < 0) {
		return r;
	}
	if (sd->drops && sd->up_ns < v->end_ns) {
		r = wheel_add(v->wheel, &sd->up_timer, sd->up_ns);
	}
	return r;
}

static int est_setup(struct simvirt *v, enum servo_kind kind)
{
	struct sv_est *e = &v->est[kind];
	struct plan_config pc;
	uint64_t ci_max = 0;
	int r;

	e->enabled = true;
	for (int s = 0; s < SCENARIO_SIDES; s++) {
		struct servo_config cfg;

		servo_config_default(&cfg);
		cfg.kind = kind;
		cfg.ci_us = v->sc->ear[s].ci_us;
		r = servo_new(&cfg, &e->servo[s]);
		if (r < 0) {
			return r;
		}
		ci_max = MAX(ci_max, v->side[s].ci_ns);
	}
	/* Both links hang off one dongle, whose crystal paces their
	 * connection events: let the two servos share its rate (as the
	 * daemon does). Estimators that cannot use it ignore it. */
	r = servo_pair(e->servo[SCENARIO_LEFT], e->servo[SCENARIO_RIGHT]);
	if (r < 0) {
		return r;
	}
	plan_config_default(&pc);
	pc.frame_ns = v->frame_ns;
	/*
	 * Start with room for a packet that misses one event and waits a
	 * whole interval for the next, as the daemon would from the
	 * negotiated interval; the plan then adapts to what it observes.
	 */
	pc.delay_initial_ns = MIN(MAX(pc.delay_initial_ns,
				      2 * ci_max + pc.margin_ns),
				  pc.delay_max_ns);
	return plan_new(&pc, v->start_ns, &e->plan);
}

static void sv_free(struct simvirt *v)
{
	/* The wheel first: freeing it walks the timers still filed. */
	v->wheel = wheel_free(v->wheel);
	for (int k = 0; k < SIMVIRT_ESTIMATORS; k++) {
		for (int s = 0; s < SCENARIO_SIDES; s++) {
			v->est[k].servo[s] = servo_free(v->est[k].servo[s]);
		}
		v->est[k].plan = plan_free(v->est[k].plan);
	}
	for (int s = 0; s < SCENARIO_SIDES; s++) {
		v->side[s].link = simlink_free(v->side[s].link);
		v->side[s].clock = simclock_free(v->side[s].clock);
	}
	while (v->chunks) {
		struct sv_chunk *c = v->chunks;

		v->chunks = c->next;
		free(c);
	}
}

static void sv_results(struct simvirt *v)
{
	struct simvirt_result *res = v->res;

	for (int s = 0; s < SCENARIO_SIDES; s++) {
		simlink_stats(v->side[s].link, &res->link[s]);
	}
	for (int k = 0; k < SIMVIRT_ESTIMATORS; k++) {
		struct sv_est *e = &v->est[k];
		struct simvirt_estimator *out = &res->est[k];

		if (!e->enabled) {
			continue;
		}
		out->delay_ns = plan_delay(e->plan);
		for (int s = 0; s < SCENARIO_SIDES; s++) {
			struct simvirt_ear *ear = &out->ear[s];

			servo_status(e->servo[s], &ear->status);
			ear->dropped = v->side[s].drops;
			if (ear->dropped && e->good_since_ns[s] != 0) {
				ear->relocked = true;
				ear->relock_s = (double)(e->good_since_ns[s] -
							 v->side[s].up_ns) /
						1e9;
			}
		}
	}
}

int simvirt_run(const struct scenario *sc, const struct simvirt_options *opt,
		struct simvirt_result *ret)
{
	struct simvirt v = { 0 };
	double duration_s;
	int r;

	if (opt->estimators == 0 ||
	    opt->estimators >= (1u << SIMVIRT_ESTIMATORS) ||
	    opt->probe_every < 1 || opt->probe_every > 3 ||
	    !(opt->warmup_s >= 0.0) || !(opt->duration_s >= 0.0) ||
	    opt->duration_s > 1e6) {
		return -EINVAL;
	}
	duration_s = opt->duration_s > 0.0 ? opt->duration_s : sc->duration_s;

	memset(ret, 0, sizeof(*ret));
	ret->scenario = *sc;
	ret->scenario.duration_s = duration_s;
	ret->options = *opt;
	ret->options.duration_s = duration_s;
	for (int k = 0; k < SIMVIRT_ESTIMATORS; k++) {
		ret->est[k].kind = (enum servo_kind)k;
		ret->est[k].enabled = (opt->estimators & (1u << k)) != 0;
		hist_init(&ret->est[k].err);
	}

	v.sc = sc;
	v.opt = opt;
	v.res = ret;
	v.start_ns = SIMVIRT_T0_NS;
	v.end_ns = v.start_ns + ns_of_s(duration_s);
	v.counted_ns = v.start_ns + ns_of_s(opt->warmup_s);
	v.frame_ns = (uint64_t)llround(sc->frame_ms * 1e6);
	if (v.frame_ns == 0) {
		return -EINVAL;
	}
	v.wheel = wheel_new(v.start_ns);
	if (!v.wheel) {
		return -ENOMEM;
	}
	for (int s = 0; s < SCENARIO_SIDES; s++) {
		r = side_setup(&v, (enum scenario_side)s);
		if (r < 0) {
			goto out;
		}
	}
	for (int k = 0; k < SIMVIRT_ESTIMATORS; k++) {
		if (opt->estimators & (1u << k)) {
			r = est_setup(&v, (enum servo_kind)k);
			if (r < 0) {
				goto out;
			}
		}
	}
	wheel_timer_init(&v.frame_timer, WHEEL_HARD, 0, frame_fire);
	r = wheel_add(v.wheel, &v.frame_timer, v.start_ns);
	if (r < 0) {
		goto out;
	}
	ret->counted_from = (v.counted_ns - v.start_ns + v.frame_ns - 1) /
			    v.frame_ns;

	/* The run: jump from deadline to deadline. */
	for (;;) {
		uint64_t next = wheel_next_deadline(v.wheel, NULL);

		if (next >= v.end_ns || v.error) {
			break;
		}
		ret->events += wheel_expire(v.wheel, next);
	}
	r = v.error;
	if (r == 0) {
		sv_results(&v);
	}
out:
	sv_free(&v);
	return r;
}
