/* SPDX-License-Identifier: MIT */
#include "daemon/pair.h"

#include <errno.h>
#include <stdlib.h>

#include "core/macro.h"
#include "core/plan.h"
#include "core/wheel.h"
#include "daemon/chan.h"
#include "daemon/link.h"
#include "daemon/stream.h"

struct pair {
	struct pair_env env;
	uint64_t t0_ns;
	struct plan *plan;
	struct link *links[CONF_N_EARS];
	struct stream *stream;
	struct wheel_timer tick;
};

static void pair_tick_fire(struct wheel_timer *t, uint64_t now_ns)
{
	struct pair *p = container_of(t, struct pair, tick);
	unsigned i;

	for (i = 0; i < CONF_N_EARS; i++) {
		if (p->links[i]) {
			link_tick(p->links[i], now_ns);
		}
	}
	wheel_add(p->env.wheel, t, now_ns + PAIR_TICK_NS);
}

static int pair_plan_new(struct pair *p)
{
	const struct conf *c = p->env.conf;
	struct plan_config pc;

	plan_config_default(&pc);
	pc.frame_ns = c->stream.frame_ns;
	pc.delay_initial_ns = c->stream.delay_ns;
	pc.delay_min_ns = c->stream.delay_min_ns;
	pc.delay_max_ns = c->stream.delay_max_ns;
	pc.margin_ns = c->stream.delay_margin_ns;
	return plan_new(&pc, p->t0_ns, &p->plan);
}

int pair_new(const struct pair_env *env, struct chan *chans[CONF_N_EARS],
	     bool same_controller, uint64_t t0_ns, struct pair **ret)
{
	struct link_env le;
	struct pair *p;
	unsigned i;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p) {
		r = -ENOMEM;
		goto fail_chans;
	}
	p->env = *env;
	p->t0_ns = t0_ns;
	wheel_timer_init(&p->tick, WHEEL_SOFT, 10 * NSEC_PER_MSEC,
			 pair_tick_fire);
	r = pair_plan_new(p);
	if (r < 0) {
		goto fail_chans;
	}
	le.loop = NULL;
	le.wheel = env->wheel;
	le.plan = p->plan;
	le.conf = env->conf;
	le.seed = env->seed;
	le.now = env->now;
	le.now_ctx = env->now_ctx;
	for (i = 0; i < CONF_N_EARS; i++) {
		if (!chans[i]) {
			continue;
		}
		/* link_new() owns the channel from here, even on failure. */
		r = link_new(&le, (enum conf_ear)i, chans[i], &p->links[i]);
		chans[i] = NULL;
		if (r < 0) {
			goto fail_chans;
		}
	}
	if (same_controller && p->links[CONF_EAR_LEFT] &&
	    p->links[CONF_EAR_RIGHT]) {
		r = link_pair(p->links[CONF_EAR_LEFT],
			      p->links[CONF_EAR_RIGHT]);
		if (r < 0) {
			goto fail;
		}
	}
	r = stream_new(env->conf, env->wheel, p->plan, p->links,
		       env->frame_log, env->pw, &p->stream);
	if (r < 0) {
		goto fail;
	}
	stream_set_pair_index(p->stream, env->index);
	*ret = p;
	return 0;
fail_chans:
	for (i = 0; i < CONF_N_EARS; i++) {
		chan_free(chans[i]);
		chans[i] = NULL;
	}
fail:
	pair_free(p);
	return r;
}

struct pair *pair_free(struct pair *p)
{
	unsigned i;

	if (!p) {
		return NULL;
	}
	p->stream = stream_free(p->stream);
	for (i = 0; i < CONF_N_EARS; i++) {
		p->links[i] = link_free(p->links[i]);
	}
	p->plan = plan_free(p->plan);
	free(p);
	return NULL;
}

void pair_start(struct pair *p, uint64_t now_ns)
{
	unsigned i;

	for (i = 0; i < CONF_N_EARS; i++) {
		if (p->links[i]) {
			link_start(p->links[i], now_ns);
		}
	}
	stream_start(p->stream, p->t0_ns);
	wheel_add(p->env.wheel, &p->tick, now_ns + PAIR_TICK_NS);
}

void pair_stop(struct pair *p)
{
	unsigned i;

	stream_stop(p->stream);
	wheel_cancel(p->env.wheel, &p->tick);
	for (i = 0; i < CONF_N_EARS; i++) {
		if (p->links[i]) {
			link_shutdown(p->links[i]);
		}
	}
}

struct link *pair_link(const struct pair *p, enum conf_ear ear)
{
	return (unsigned)ear < CONF_N_EARS ? p->links[ear] : NULL;
}

struct plan *pair_plan(const struct pair *p)
{
	return p->plan;
}

struct stream *pair_stream(const struct pair *p)
{
	return p->stream;
}
