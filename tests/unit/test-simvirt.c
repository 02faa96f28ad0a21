/* SPDX-License-Identifier: MIT */
/*
 * The virtual-time run (sim/simvirt): ttwsd's own engine (daemon/pair) in
 * virtual time against the earbud model. Reproducible from the seed, its
 * accounting adds up, and it adds no policy of its own: a run's trace of
 * what the earbuds sent, replayed into a bare pair built as the engine
 * builds it, makes that pair send exactly what the run's pair sent (the
 * same timing requests at the same instants, the same presentation
 * times).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/conf.h"
#include "core/macro.h"
#include "core/proto.h"
#include "core/wheel.h"
#include "daemon/chan.h"
#include "daemon/pair.h"
#include "sim/scenario.h"
#include "sim/simvirt.h"

/* A hard little scenario: every feature of the model at once. */
static void virt_scenario(struct scenario *sc)
{
	scenario_default(sc);
	sc->duration_s = 30.0;
	sc->seed = 4242;
	sc->dongle_ppm = 15.0;
	sc->ear[0].ppm = 35.0;
	sc->ear[0].wander_ppb_per_s = 3.0;
	sc->ear[0].offset_ms = 4321.0;
	sc->ear[0].ci_us = 15000;
	sc->ear[0].anchor_phase_us = 1000;
	sc->ear[0].loss = 0.05;
	sc->ear[0].hci_jitter_dist = SIMLINK_JITTER_LOGNORMAL;
	sc->ear[0].hci_jitter_us = 50.0;
	sc->ear[1].ppm = -25.0;
	sc->ear[1].ci_us = 7500;
	sc->ear[1].anchor_phase_us = 5000;
	sc->ear[1].hci_jitter_dist = SIMLINK_JITTER_UNIFORM;
	sc->ear[1].hci_jitter_us = 40.0;
	sc->ear[1].drop_at_s = 10.0;
	sc->ear[1].drop_for_s = 3.0;
}

static struct simvirt_result *virt_run(const struct scenario *sc,
				       unsigned estimators)
{
	struct simvirt_result *res = malloc(sizeof(*res));
	struct simvirt_options opt;

	assert_non_null(res);
	simvirt_options_default(&opt);
	opt.estimators = estimators;
	assert_int_equal(simvirt_run(sc, &opt, res), 0);
	return res;
}

static void assert_est_equal(const struct simvirt_estimator *a,
			     const struct simvirt_estimator *b)
{
	assert_int_equal(a->enabled, b->enabled);
	assert_memory_equal(&a->err, &b->err, sizeof(a->err));
	assert_memory_equal(&a->err_sum_ns, &b->err_sum_ns,
			    sizeof(a->err_sum_ns));
	assert_int_equal(a->over_15us, b->over_15us);
	assert_int_equal(a->delay_ns, b->delay_ns);
	for (int s = 0; s < SCENARIO_SIDES; s++) {
		const struct simvirt_ear *x = &a->ear[s], *y = &b->ear[s];

		assert_int_equal(x->rendered, y->rendered);
		assert_int_equal(x->late, y->late);
		assert_int_equal(x->lost, y->lost);
		assert_int_equal(x->unsent, y->unsent);
		assert_int_equal(x->relocked, y->relocked);
		assert_memory_equal(&x->relock_s, &y->relock_s,
				    sizeof(x->relock_s));
		assert_int_equal(x->status.samples, y->status.samples);
		assert_int_equal(x->status.offset_ns, y->status.offset_ns);
		assert_int_equal(x->status.rate_ppb, y->status.rate_ppb);
	}
}

static void test_virtual_reproducible(void **state)
{
	const unsigned all = (1u << SIMVIRT_ESTIMATORS) - 1;
	struct simvirt_result *a, *b, *c;
	struct scenario sc;

	virt_scenario(&sc);
	a = virt_run(&sc, all);
	b = virt_run(&sc, all);
	assert_int_equal(a->frames, b->frames);
	assert_int_equal(a->events, b->events);
	for (int s = 0; s < SCENARIO_SIDES; s++) {
		assert_int_equal(a->exchanges[s], b->exchanges[s]);
		assert_int_equal(a->samples[s], b->samples[s]);
		assert_memory_equal(&a->link[s], &b->link[s],
				    sizeof(a->link[s]));
	}
	for (int k = 0; k < SIMVIRT_ESTIMATORS; k++) {
		assert_true(a->est[k].enabled);
		assert_est_equal(&a->est[k], &b->est[k]);
	}
	/* Another seed, another run: the seed really drives it. */
	sc.seed++;
	c = virt_run(&sc, all);
	assert_true(memcmp(&a->est[SERVO_TTWS].err, &c->est[SERVO_TTWS].err,
			   sizeof(a->est[0].err)) != 0);
	free(a);
	free(b);
	free(c);
}

static void test_virtual_identical_input(void **state)
{
	const unsigned all = (1u << SIMVIRT_ESTIMATORS) - 1;
	struct simvirt_result *both, *one;
	struct scenario sc;

	/*
	 * Each estimator is its own run of the engine: alone it gives
	 * exactly its numbers of a run of all.
	 */
	virt_scenario(&sc);
	both = virt_run(&sc, all);
	for (int k = 0; k < SIMVIRT_ESTIMATORS; k++) {
		one = virt_run(&sc, 1u << k);
		for (int j = 0; j < SIMVIRT_ESTIMATORS; j++) {
			assert_int_equal(one->est[j].enabled, j == k);
		}
		assert_est_equal(&one->est[k], &both->est[k]);
		free(one);
	}
	free(both);
}

static void test_virtual_accounting(void **state)
{
	const unsigned all = (1u << SIMVIRT_ESTIMATORS) - 1;
	struct simvirt_result *res;
	struct scenario sc;

	virt_scenario(&sc);
	res = virt_run(&sc, all);
	/* 30 s of 10 ms frames; 2 s of warm-up are not counted. */
	assert_int_equal(res->frames, 3000);
	assert_int_equal(res->counted_from, 200);
	for (int k = 0; k < SIMVIRT_ESTIMATORS; k++) {
		const struct simvirt_estimator *e = &res->est[k];
		const struct simvirt_ear *l = &e->ear[SCENARIO_LEFT];
		const struct simvirt_ear *r = &e->ear[SCENARIO_RIGHT];

		for (int s = 0; s < SCENARIO_SIDES; s++) {
			const struct simvirt_ear *x = &e->ear[s];

			assert_int_equal(x->rendered + x->late + x->lost +
						 x->unsent,
					 2800);
		}
		/* Only frames both ears played are in the error. */
		assert_true(hist_count(&e->err) <= MIN(l->rendered,
						       r->rendered));
		assert_true(hist_count(&e->err) > 2000);
		/* The right link was down 3 s: 300 frames never got there. */
		assert_int_equal(l->lost, 0);
		assert_true(r->lost + r->unsent >= 300);
		assert_true(r->lost <= 301);
		assert_false(l->dropped);
		assert_true(r->dropped);
	}
	/* ttwsd's default: a request due every 3 events of the 7.5 ms link
	 * (dithered), one in flight at a time, whose reply and follow-up
	 * take two more events (27 of the 30 s up). */
	assert_true(res->exchanges[SCENARIO_RIGHT] >= 27000 / 45);
	assert_true(res->exchanges[SCENARIO_RIGHT] <= 30000 / 7.5);
	assert_true(res->samples[SCENARIO_RIGHT] <
		    res->exchanges[SCENARIO_RIGHT]);
	free(res);
}

static void test_virtual_invalid(void **state)
{
	struct simvirt_result *res = malloc(sizeof(*res));
	struct simvirt_options opt;
	struct scenario sc;

	assert_non_null(res);
	virt_scenario(&sc);
	simvirt_options_default(&opt);
	opt.estimators = 0;
	assert_int_equal(simvirt_run(&sc, &opt, res), -EINVAL);
	simvirt_options_default(&opt);
	opt.probe_every = 4;
	assert_int_equal(simvirt_run(&sc, &opt, res), -EINVAL);
	simvirt_options_default(&opt);
	opt.fixed_delay_ms = -1;
	assert_int_equal(simvirt_run(&sc, &opt, res), -EINVAL);
	simvirt_options_default(&opt);
	opt.warmup_s = -1;
	assert_int_equal(simvirt_run(&sc, &opt, res), -EINVAL);
	free(res);
}


/* ---- trace replay -------------------------------------------------------- */

#define TRACE_MAX 200000
#define TRACE_BYTES 64 /* enough for every header we compare, see below */

struct trace_ev {
	enum simvirt_trace_kind kind;
	enum scenario_side side;
	uint64_t ns;
	size_t len;
	uint8_t msg[2048];
};

struct trace {
	struct trace_ev *ev;
	size_t n;
};

static void trace_record(void *user_data, const struct simvirt_trace *t)
{
	struct trace *tr = user_data;
	struct trace_ev *e;

	assert_true(tr->n < TRACE_MAX);
	e = &tr->ev[tr->n++];
	e->kind = t->kind;
	e->side = t->side;
	e->ns = t->ns;
	e->len = t->len;
	assert_true(t->len <= sizeof(e->msg));
	if (t->len) {
		memcpy(e->msg, t->msg, t->len);
	}
}

/* A channel that plays back what the earbud side did in the trace and
 * records what the link sends. */
struct replay_chan {
	struct chan chan;
	struct wheel *wheel;
	enum scenario_side side;
	struct trace *out; /* what this side's link sent */
};

struct replay_ev {
	struct wheel_timer timer;
	struct replay_chan *c;
	const struct trace_ev *ev;
};

static int replay_open(struct chan *c, uint64_t now_ns)
{
	/* The outcome comes from the trace, at its recorded instant. */
	return 0;
}

static int replay_send(struct chan *c, const void *msg, size_t len,
		       uint32_t *ret_id)
{
	struct replay_chan *r = container_of(c, struct replay_chan, chan);
	struct simvirt_trace t = {
		.kind = SIMVIRT_TRACE_TO_EAR,
		.side = r->side,
		.ns = wheel_now(r->wheel),
		.msg = msg,
		.len = len,
	};

	trace_record(r->out, &t);
	if (ret_id) {
		*ret_id = 0;
	}
	return 0;
}

static void replay_close(struct chan *c)
{
}

static void replay_free(struct chan *c)
{
	free(container_of(c, struct replay_chan, chan));
}

static const struct chan_ops replay_ops = {
	.name = "replay",
	.open = replay_open,
	.send = replay_send,
	.close = replay_close,
	.free = replay_free,
};

static void replay_fire(struct wheel_timer *t, uint64_t now_ns)
{
	struct replay_ev *re = container_of(t, struct replay_ev, timer);
	struct chan *c = &re->c->chan;
	struct chan_rx_time rt = {
		.arrival_ns = now_ns,
		.seen_ns = now_ns,
		.handler_ns = now_ns,
		.has_kernel_ts = true,
	};

	switch (re->ev->kind) {
	case SIMVIRT_TRACE_OPEN:
		c->is_open = true;
		c->cb.open(c->user_data, now_ns);
		break;
	case SIMVIRT_TRACE_CLOSED:
		c->is_open = false;
		c->cb.closed(c->user_data, -ENOTCONN, now_ns);
		break;
	case SIMVIRT_TRACE_FROM_EAR:
		c->cb.msg(c->user_data, re->ev->msg, re->ev->len, &rt);
		break;
	case SIMVIRT_TRACE_TO_EAR:
		break;
	}
}

static uint64_t replay_now(void *ctx)
{
	return wheel_now(ctx);
}

/* The messages one side's link sent, in order, as (instant, bytes). */
static void assert_same_sends(const struct trace *a, const struct trace *b,
			      enum scenario_side side, size_t *ret_syncs,
			      size_t *ret_audio)
{
	size_t i = 0, j = 0, syncs = 0, audio = 0;

	for (;;) {
		struct link_msg ma, mb;

		while (i < a->n && (a->ev[i].kind != SIMVIRT_TRACE_TO_EAR ||
				    a->ev[i].side != side)) {
			i++;
		}
		while (j < b->n && (b->ev[j].kind != SIMVIRT_TRACE_TO_EAR ||
				    b->ev[j].side != side)) {
			j++;
		}
		if (i == a->n || j == b->n) {
			break;
		}
		assert_int_equal(a->ev[i].ns, b->ev[j].ns);
		assert_int_equal(a->ev[i].len, b->ev[j].len);
		assert_memory_equal(a->ev[i].msg, b->ev[j].msg, a->ev[i].len);
		assert_int_equal(proto_decode(a->ev[i].msg, a->ev[i].len, &ma),
				 0);
		assert_int_equal(proto_decode(b->ev[j].msg, b->ev[j].len, &mb),
				 0);
		if (ma.hdr.type == LINK_SYNC_REQ) {
			assert_int_equal(ma.sync_req.t1_host_ns,
					 mb.sync_req.t1_host_ns);
			syncs++;
		} else if (ma.hdr.type == LINK_AUDIO) {
			assert_int_equal(ma.audio.pts_ear_ns,
					 mb.audio.pts_ear_ns);
			audio++;
		}
		i++;
		j++;
	}
	/* Both ran out together: the same number of sends. */
	while (i < a->n && (a->ev[i].kind != SIMVIRT_TRACE_TO_EAR ||
			    a->ev[i].side != side)) {
		i++;
	}
	while (j < b->n && (b->ev[j].kind != SIMVIRT_TRACE_TO_EAR ||
			    b->ev[j].side != side)) {
		j++;
	}
	assert_int_equal(i, a->n);
	assert_int_equal(j, b->n);
	*ret_syncs = syncs;
	*ret_audio = audio;
}

static void test_trace_replay(void **state)
{
	struct trace run = { 0 }, replay = { 0 };
	struct simvirt_result *res = malloc(sizeof(*res));
	struct simvirt_options opt;
	struct replay_ev *evs;
	struct chan *chans[CONF_N_EARS];
	struct pair_env env;
	struct wheel *w;
	struct pair *p;
	struct scenario sc;
	struct conf c;
	uint64_t seed, up, t0, end;
	size_t n_ev = 0, syncs, audio;

	assert_non_null(res);
	run.ev = calloc(TRACE_MAX, sizeof(*run.ev));
	replay.ev = calloc(TRACE_MAX, sizeof(*replay.ev));
	assert_non_null(run.ev);
	assert_non_null(replay.ev);

	/* 8 s with loss, jitter and a drop on the right: reconnects too. */
	virt_scenario(&sc);
	sc.duration_s = 8.0;
	sc.ear[1].drop_at_s = 3.0;
	sc.ear[1].drop_for_s = 1.0;
	simvirt_options_default(&opt);
	opt.estimators = 1u << SERVO_TTWS;
	opt.trace = trace_record;
	opt.trace_data = &run;
	assert_int_equal(simvirt_run(&sc, &opt, res), 0);
	assert_true(run.n > 1000);

	/* The engine as the run built it, over channels that replay the
	 * earbuds' side of the trace at its instants. */
	simvirt_engine_config(&sc, &opt, SERVO_TTWS, &c, &seed, &up, &t0);
	end = t0 + (uint64_t)(sc.duration_s * 1e9);
	w = wheel_new(up);
	assert_non_null(w);
	for (int s = 0; s < CONF_N_EARS; s++) {
		struct replay_chan *rc = calloc(1, sizeof(*rc));

		assert_non_null(rc);
		rc->chan.ops = &replay_ops;
		rc->wheel = w;
		rc->side = (enum scenario_side)s;
		rc->out = &replay;
		chans[s] = &rc->chan;
	}
	evs = calloc(run.n, sizeof(*evs));
	assert_non_null(evs);
	for (size_t i = 0; i < run.n; i++) {
		if (run.ev[i].kind == SIMVIRT_TRACE_TO_EAR) {
			continue;
		}
		evs[n_ev].c = container_of(chans[run.ev[i].side],
					   struct replay_chan, chan);
		evs[n_ev].ev = &run.ev[i];
		wheel_timer_init(&evs[n_ev].timer, WHEEL_HARD, 0, replay_fire);
		assert_int_equal(wheel_add(w, &evs[n_ev].timer, run.ev[i].ns),
				 0);
		n_ev++;
	}
	env = (struct pair_env){
		.wheel = w,
		.conf = &c,
		.seed = seed,
		.now = replay_now,
		.now_ctx = w,
	};
	assert_int_equal(pair_new(&env, chans, true, t0, &p), 0);
	pair_start(p, up);
	for (;;) {
		uint64_t next = wheel_next_deadline(w, NULL);

		if (next >= end) {
			break;
		}
		wheel_expire(w, next);
	}

	for (int s = 0; s < SCENARIO_SIDES; s++) {
		assert_same_sends(&run, &replay, (enum scenario_side)s, &syncs,
				  &audio);
		/* The comparison saw the whole session: requests and the
		 * frames of 8 s (less the right's second down). */
		assert_true(syncs > 100);
		assert_true(audio > 600);
	}

	w = wheel_free(w);
	pair_free(p);
	free(evs);
	free(run.ev);
	free(replay.ev);
	free(res);
}

/* The t1 of a trace's first timing request (0: none). */
static uint64_t first_t1(const struct trace *tr)
{
	for (size_t i = 0; i < tr->n; i++) {
		struct link_msg m;

		if (tr->ev[i].kind == SIMVIRT_TRACE_TO_EAR &&
		    proto_decode(tr->ev[i].msg, tr->ev[i].len, &m) == 0 &&
		    m.hdr.type == LINK_SYNC_REQ) {
			return m.sync_req.t1_host_ns;
		}
	}
	return 0;
}

/*
 * The replay can fail: a pair that behaves differently from the run's
 * (here a different request dithering seed, as a second probing policy
 * would) sends something else at once.
 */
static void test_trace_replay_detects(void **state)
{
	struct trace run = { 0 };
	struct simvirt_result *res = malloc(sizeof(*res));
	struct simvirt_options opt;
	struct scenario sc;
	uint64_t t1_a = 0, t1_b = 0;

	assert_non_null(res);
	run.ev = calloc(TRACE_MAX, sizeof(*run.ev));
	assert_non_null(run.ev);
	virt_scenario(&sc);
	sc.duration_s = 1.0;
	simvirt_options_default(&opt);
	opt.estimators = 1u << SERVO_TTWS;
	opt.trace = trace_record;
	opt.trace_data = &run;
	assert_int_equal(simvirt_run(&sc, &opt, res), 0);
	t1_a = first_t1(&run);
	run.n = 0;
	sc.seed++;
	assert_int_equal(simvirt_run(&sc, &opt, res), 0);
	t1_b = first_t1(&run);
	assert_true(t1_a != 0 && t1_b != 0);
	assert_true(t1_a != t1_b);
	free(run.ev);
	free(res);
}

#define simvirt_unit_test(what)                                               \
	{                                                                     \
		"simvirt/" #what, test_##what, NULL, NULL, NULL               \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		simvirt_unit_test(virtual_reproducible),
		simvirt_unit_test(virtual_identical_input),
		simvirt_unit_test(virtual_accounting),
		simvirt_unit_test(virtual_invalid),
		simvirt_unit_test(trace_replay),
		simvirt_unit_test(trace_replay_detects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
