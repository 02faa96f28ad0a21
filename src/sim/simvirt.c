/* SPDX-License-Identifier: MIT */
#include "sim/simvirt.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/macro.h"
#include "core/plan.h"
#include "core/proto.h"
#include "core/servo.h"
#include "core/wheel.h"
#include "daemon/chan.h"
#include "daemon/link.h"
#include "daemon/pair.h"
#include "sim/simchan.h"
#include "sim/simclock.h"
#include "sim/simear.h"
#include "sim/simlink.h"
#include "sim/simrng.h"

/*
 * Virtual CLOCK_MONOTONIC of frame 0: 20 000 s (5.5 h of uptime), far
 * enough from 0 that the most negative offset a scenario may set (-1e7
 * ms) still gives an earbud clock above zero. The daemon's links start
 * PAIR_START_LEAD_NS earlier, as ttwsd's do.
 */
#define SIMVIRT_T0_NS (UINT64_C(20000) * NSEC_PER_SEC)
/* Frames between being cut and being judged (half a frame later). */
#define SV_RING 64u

/* Generator streams of one seed: one per object and purpose. */
enum simvirt_stream {
	STREAM_PROBE = 0x30, /* clock and link: simear_parts_new() */
};

/* What became of one frame at one ear. */
enum sv_fate {
	SV_UNSENT = 0, /* the daemon did not send it */
	SV_SENT,       /* sent, never reached the earbud: lost */
	SV_RENDERED,
	SV_LATE,
	SV_FROZEN, /* reached a frozen earbud: lost */
};

struct sv_frame {
	uint64_t seq;
	enum sv_fate fate[SCENARIO_SIDES];
	uint64_t pts_host[SCENARIO_SIDES];
	uint64_t render_host[SCENARIO_SIDES];
};

struct sv_world;

struct sv_side {
	struct sv_world *w;
	enum scenario_side side;
	struct simclock *clock;
	struct simlink *link;
	struct simear *ear;
	struct chan *chan; /* the pair's link owns it */
	bool disrupted;    /* the link drops or the earbud freezes */
	uint64_t back_ns;  /* ... and is back here */
	uint64_t good_since_ns;
};

struct sv_world {
	const struct scenario *sc;
	const struct simvirt_options *opt;
	enum servo_kind kind;
	struct simvirt_result *res;
	struct simvirt_estimator *out;
	struct conf conf;
	struct wheel *wheel;
	struct pair *pair;
	struct sv_side side[SCENARIO_SIDES];
	uint64_t start_ns; /* frame 0 */
	uint64_t end_ns;
	uint64_t counted_ns;
	uint64_t frame_ns;
	uint64_t judge_n;
	struct wheel_timer judge_timer;
	struct sv_frame ring[SV_RING];
	uint64_t events;
	int error;
};

void simvirt_options_default(struct simvirt_options *ret)
{
	*ret = (struct simvirt_options){
		.duration_s = 0.0,
		.warmup_s = 2.0,
		.estimators = (1u << SIMVIRT_ESTIMATORS) - 1,
	};
}

static uint64_t ns_of_s(double s)
{
	return (uint64_t)llround(s * 1e9);
}

static void sv_trace(struct sv_side *sd, enum simvirt_trace_kind kind,
		     uint64_t ns, const uint8_t *msg, size_t len)
{
	const struct simvirt_options *o = sd->w->opt;
	struct simvirt_trace t = {
		.kind = kind,
		.estimator = sd->w->kind,
		.side = sd->side,
		.ns = ns,
		.msg = msg,
		.len = len,
	};

	if (o->trace) {
		o->trace(o->trace_data, &t);
	}
}

static struct sv_frame *sv_frame_of(struct sv_world *w, uint64_t seq)
{
	struct sv_frame *f = &w->ring[seq % SV_RING];

	if (f->seq != seq) {
		memset(f, 0, sizeof(*f));
		f->seq = seq;
	}
	return f;
}

/* The host's clock, for the links: the wheel's instant. */
static uint64_t sv_now(void *ctx)
{
	struct sv_world *w = ctx;

	return wheel_now(w->wheel);
}

/* ---- the earbud side ---------------------------------------------------- */

static void sv_ear_send(void *user_data, const uint8_t *msg, size_t len,
			uint64_t rx_host_ns)
{
	struct sv_side *sd = user_data;

	simchan_deliver(sd->chan, msg, len, rx_host_ns);
}

static void sv_ear_render(void *user_data, const struct simear_render *r)
{
	struct sv_side *sd = user_data;
	struct sv_frame *f = sv_frame_of(sd->w, r->frame_seq);

	if (r->frozen) {
		f->fate[sd->side] = SV_FROZEN;
	} else if (r->late) {
		f->fate[sd->side] = SV_LATE;
	} else {
		f->fate[sd->side] = SV_RENDERED;
		f->pts_host[sd->side] = r->pts_host_ns;
		f->render_host[sd->side] = r->render_host_ns;
	}
}

static const struct simear_ops sv_ear_ops = {
	.send = sv_ear_send,
	.render = sv_ear_render,
};

/* ---- the channel -------------------------------------------------------- */

static void sv_to_ear(void *user_data, const uint8_t *msg, size_t len,
		      uint64_t now_ns)
{
	struct sv_side *sd = user_data;
	struct link_msg m;

	sv_trace(sd, SIMVIRT_TRACE_TO_EAR, now_ns, msg, len);
	if (proto_decode(msg, len, &m) == 0 && m.hdr.type == LINK_AUDIO) {
		sv_frame_of(sd->w, m.audio.frame_seq)->fate[sd->side] = SV_SENT;
	}
	simear_on_message(sd->ear, msg, len, now_ns);
}

static void sv_opened(void *user_data, uint64_t now_ns)
{
	struct sv_side *sd = user_data;

	sv_trace(sd, SIMVIRT_TRACE_OPEN, now_ns, NULL, 0);
	simear_connect(sd->ear);
}

static void sv_closed(void *user_data, int err, uint64_t now_ns)
{
	sv_trace(user_data, SIMVIRT_TRACE_CLOSED, now_ns, NULL, 0);
}

static void sv_from_ear(void *user_data, const uint8_t *msg, size_t len,
			uint64_t rx_ns)
{
	sv_trace(user_data, SIMVIRT_TRACE_FROM_EAR, rx_ns, msg, len);
}

static const struct simchan_ops sv_chan_ops = {
	.to_ear = sv_to_ear,
	.opened = sv_opened,
	.closed = sv_closed,
	.from_ear = sv_from_ear,
};

/* ---- judging frames ----------------------------------------------------- */

/*
 * Relock bookkeeping for frames of one ear after its return: a bad frame
 * (unsent, late, or |error| over the threshold) restarts the clock; the
 * first good one after it starts it.
 */
static void sv_relock_note(struct sv_side *sd, enum sv_fate mine, bool both,
			   uint64_t abs_err, uint64_t render_ns)
{
	bool bad = mine == SV_UNSENT || mine == SV_LATE ||
		   (both && abs_err >= SIMVIRT_RELOCK_NS);

	if (bad) {
		sd->good_since_ns = 0;
	} else if (both && sd->good_since_ns == 0) {
		sd->good_since_ns = render_ns;
	}
}

static void sv_count(struct simvirt_ear *ear, enum sv_fate fate)
{
	switch (fate) {
	case SV_RENDERED:
		ear->rendered++;
		break;
	case SV_LATE:
		ear->late++;
		break;
	case SV_SENT:
	case SV_FROZEN:
		ear->lost++;
		break;
	case SV_UNSENT:
		ear->unsent++;
		break;
	}
}

static uint64_t sv_abs_diff(uint64_t a, uint64_t b, int64_t *ret_signed)
{
	int64_t d = (int64_t)(a - b);

	if (ret_signed) {
		*ret_signed = d;
	}
	return (uint64_t)(d < 0 ? -d : d);
}

static void sv_judge(struct sv_world *w, uint64_t n, uint64_t capture_ns)
{
	struct sv_frame *f = sv_frame_of(w, n);
	struct simvirt_estimator *out = w->out;
	bool counted = capture_ns >= w->counted_ns;
	bool both = f->fate[SCENARIO_LEFT] == SV_RENDERED &&
		    f->fate[SCENARIO_RIGHT] == SV_RENDERED;
	uint64_t abs_err = 0;
	int64_t err = 0;

	if (both) {
		abs_err = sv_abs_diff(f->pts_host[SCENARIO_LEFT],
				      f->pts_host[SCENARIO_RIGHT], &err);
	}
	if (counted) {
		uint64_t d = plan_delay(pair_plan(w->pair));

		out->delay_max_ns = MAX(out->delay_max_ns, d);
		out->delay_sum_ns += (double)d;
		for (int s = 0; s < SCENARIO_SIDES; s++) {
			sv_count(&out->ear[s], f->fate[s]);
		}
		if (both) {
			hist_record(&out->err, abs_err);
			hist_record(&out->acoustic,
				    sv_abs_diff(f->render_host[SCENARIO_LEFT],
						f->render_host[SCENARIO_RIGHT],
						NULL));
			out->err_sum_ns += (double)err;
			out->over_15us += abs_err >= SIMVIRT_RELOCK_NS;
		}
	}
	for (int s = 0; s < SCENARIO_SIDES; s++) {
		struct sv_side *sd = &w->side[s];

		/* A bad frame long after the return is not the relock's
		 * (the late-frame rate shows it): SIMVIRT_RELOCK_WINDOW_NS. */
		if (sd->disrupted && capture_ns >= sd->back_ns &&
		    capture_ns - sd->back_ns < SIMVIRT_RELOCK_WINDOW_NS) {
			sv_relock_note(sd, f->fate[s], both, abs_err,
				       f->pts_host[s] ? f->pts_host[s] :
							capture_ns);
		}
	}
	w->res->frames = n + 1;
}

static void sv_judge_fire(struct wheel_timer *t, uint64_t now_ns)
{
	struct sv_world *w = container_of(t, struct sv_world, judge_timer);
	uint64_t n = w->judge_n;
	uint64_t capture = w->start_ns + n * w->frame_ns;

	sv_judge(w, n, capture);
	w->judge_n = n + 1;
	if (capture + w->frame_ns < w->end_ns &&
	    wheel_add(w->wheel, t, capture + w->frame_ns + w->frame_ns / 2) <
		    0) {
		w->error = -EINVAL;
	}
}

/* ---- set-up ------------------------------------------------------------- */

static int sv_side_setup(struct sv_world *w, enum scenario_side s,
			 uint64_t up_ns)
{
	struct sv_side *sd = &w->side[s];
	struct simear_parts p;
	int r;

	sd->w = w;
	sd->side = s;
	r = simear_parts_new(w->sc, s, up_ns, w->start_ns, &p);
	if (r < 0) {
		return r;
	}
	sd->clock = p.clock;
	sd->link = p.link;
	sd->disrupted = p.disrupted && p.back_ns <= w->end_ns;
	sd->back_ns = p.back_ns;
	r = simear_new(&p.cfg, &sv_ear_ops, sd, &sd->ear);
	if (r < 0) {
		return r;
	}
	return simchan_new(w->wheel, sd->link, &sv_chan_ops, sd, &sd->chan);
}

/* ttwsd's defaults, with what the scenario and the options set. */
static void sv_conf(const struct scenario *sc,
		    const struct simvirt_options *opt, enum servo_kind kind,
		    struct conf *c)
{
	conf_default(c);
	snprintf(c->servo.estimator, sizeof(c->servo.estimator), "%s",
		 servo_kind_name(kind));
	c->stream.source = CONF_SOURCE_TONE;
	/* The earbud model never decodes: PCM of silence costs least. */
	c->stream.codec = CONF_CODEC_PCM;
	c->stream.frame_ns = (uint64_t)llround(sc->frame_ms * 1e6);
	c->stream.tone_hz[CONF_EAR_LEFT] = 0;
	c->stream.tone_hz[CONF_EAR_RIGHT] = 0;
	/* Both ears configured, as over the simulator's sockets (no send
	 * stamps: t1 is the send instant). */
	for (int e = 0; e < CONF_N_EARS; e++) {
		c->link[e].transport = CONF_TRANSPORT_UNIX;
	}
	if (opt->probe_every) {
		c->servo.probe_every_events = opt->probe_every;
	}
	if (opt->fixed_delay_ms > 0.0) {
		uint64_t d = (uint64_t)llround(opt->fixed_delay_ms * 1e6);

		c->stream.delay_ns = d;
		c->stream.delay_min_ns = d;
		c->stream.delay_max_ns = d;
	}
}

void simvirt_engine_config(const struct scenario *sc,
			   const struct simvirt_options *opt,
			   enum servo_kind kind, struct conf *ret_conf,
			   uint64_t *ret_seed, uint64_t *ret_up_ns,
			   uint64_t *ret_t0_ns)
{
	sv_conf(sc, opt, kind, ret_conf);
	*ret_seed = simrng_derive(sc->seed, STREAM_PROBE);
	*ret_t0_ns = SIMVIRT_T0_NS;
	*ret_up_ns = SIMVIRT_T0_NS - PAIR_START_LEAD_NS;
}

static void sv_free(struct sv_world *w)
{
	/* The wheel first: freeing it walks the timers still filed. */
	w->wheel = wheel_free(w->wheel);
	w->pair = pair_free(w->pair);
	for (int s = 0; s < SCENARIO_SIDES; s++) {
		struct sv_side *sd = &w->side[s];

		sd->ear = simear_free(sd->ear);
		sd->link = simlink_free(sd->link);
		sd->clock = simclock_free(sd->clock);
	}
}

static void sv_results(struct sv_world *w)
{
	struct simvirt_result *res = w->res;
	struct simvirt_estimator *out = w->out;

	out->delay_ns = plan_delay(pair_plan(w->pair));
	res->events = w->events;
	for (int s = 0; s < SCENARIO_SIDES; s++) {
		struct sv_side *sd = &w->side[s];
		struct simvirt_ear *ear = &out->ear[s];
		const struct link *l = pair_link(w->pair, (enum conf_ear)s);
		struct link_stats ls;

		link_get_stats(l, &ls);
		servo_status(link_servo(l), &ear->status);
		out->exchanges[s] = ls.sync_sent;
		out->samples[s] = ls.sync_samples;
		res->exchanges[s] = ls.sync_sent;
		res->samples[s] = ls.sync_samples;
		simlink_stats(sd->link, &res->link[s]);
		ear->dropped = sd->disrupted;
		if (sd->disrupted && sd->good_since_ns != 0) {
			ear->relocked = true;
			ear->relock_s =
				(double)((int64_t)(sd->good_since_ns -
						   sd->back_ns)) /
				1e9;
		}
	}
}

/* One run of ttwsd's engine with estimator kind. */
static int sv_run_one(const struct scenario *sc,
		      const struct simvirt_options *opt, double duration_s,
		      enum servo_kind kind, struct simvirt_result *res)
{
	struct sv_world *w = calloc(1, sizeof(*w));
	struct chan *chans[CONF_N_EARS];
	struct pair_env env;
	uint64_t up_ns;
	int r;

	if (!w) {
		return -ENOMEM;
	}
	w->sc = sc;
	w->opt = opt;
	w->kind = kind;
	w->res = res;
	w->out = &res->est[kind];
	w->start_ns = SIMVIRT_T0_NS;
	w->end_ns = w->start_ns + ns_of_s(duration_s);
	w->counted_ns = w->start_ns + ns_of_s(opt->warmup_s);
	w->frame_ns = (uint64_t)llround(sc->frame_ms * 1e6);
	up_ns = w->start_ns - PAIR_START_LEAD_NS;
	sv_conf(sc, opt, kind, &w->conf);
	w->wheel = wheel_new(up_ns);
	if (!w->wheel) {
		r = -ENOMEM;
		goto out;
	}
	for (int s = 0; s < SCENARIO_SIDES; s++) {
		r = sv_side_setup(w, (enum scenario_side)s, up_ns);
		if (r < 0) {
			for (int i = 0; i < SCENARIO_SIDES; i++) {
				chan_free(w->side[i].chan);
			}
			goto out;
		}
	}
	env = (struct pair_env){
		.wheel = w->wheel,
		.conf = &w->conf,
		.seed = simrng_derive(sc->seed, STREAM_PROBE), /* as engine_config */
		.now = sv_now,
		.now_ctx = w,
	};
	for (int s = 0; s < SCENARIO_SIDES; s++) {
		chans[s] = w->side[s].chan;
	}
	/* Both links hang off the scenario's one dongle. */
	r = pair_new(&env, chans, true, w->start_ns, &w->pair);
	if (r < 0) {
		goto out;
	}
	wheel_timer_init(&w->judge_timer, WHEEL_HARD, 0, sv_judge_fire);
	r = wheel_add(w->wheel, &w->judge_timer,
		      w->start_ns + w->frame_ns / 2);
	if (r < 0) {
		goto out;
	}
	pair_start(w->pair, up_ns);

	/* The run: jump from deadline to deadline. */
	for (;;) {
		uint64_t next = wheel_next_deadline(w->wheel, NULL);

		if (next >= w->end_ns || w->error) {
			break;
		}
		w->events += wheel_expire(w->wheel, next);
	}
	r = w->error;
	if (r == 0) {
		sv_results(w);
	}
out:
	sv_free(w);
	free(w);
	return r;
}

int simvirt_run(const struct scenario *sc, const struct simvirt_options *opt,
		struct simvirt_result *ret)
{
	double duration_s;
	int r;

	if (opt->estimators == 0 ||
	    opt->estimators >= (1u << SIMVIRT_ESTIMATORS) ||
	    opt->probe_every > 3 || !(opt->warmup_s >= 0.0) ||
	    !(opt->duration_s >= 0.0) || opt->duration_s > 1e6 ||
	    !(opt->fixed_delay_ms >= 0.0) || opt->fixed_delay_ms > 2000.0 ||
	    !(sc->frame_ms > 0.0)) {
		return -EINVAL;
	}
	duration_s = opt->duration_s > 0.0 ? opt->duration_s : sc->duration_s;

	memset(ret, 0, sizeof(*ret));
	ret->scenario = *sc;
	ret->scenario.duration_s = duration_s;
	ret->options = *opt;
	ret->options.duration_s = duration_s;
	ret->counted_from = (uint64_t)ceil(opt->warmup_s * 1e3 / sc->frame_ms -
					   1e-9);
	for (int k = 0; k < SIMVIRT_ESTIMATORS; k++) {
		ret->est[k].kind = (enum servo_kind)k;
		ret->est[k].enabled = (opt->estimators & (1u << k)) != 0;
		hist_init(&ret->est[k].err);
		hist_init(&ret->est[k].acoustic);
	}
	for (int k = 0; k < SIMVIRT_ESTIMATORS; k++) {
		if (!ret->est[k].enabled) {
			continue;
		}
		r = sv_run_one(sc, opt, duration_s, (enum servo_kind)k, ret);
		if (r < 0) {
			return r;
		}
	}
	return 0;
}
