/* SPDX-License-Identifier: MIT */
#include "sim/simear.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/macro.h"
#include "core/proto.h"
#include "sim/simclock.h"
#include "sim/simlink.h"
#include "sim/simrng.h"

/* Room for the largest message an earbud sends (header + payload). */
#define SIMEAR_MSG_MAX 64
#define SIMEAR_BUFFER_FRAMES 64

struct simear {
	struct simear_config cfg;
	struct simear_ops ops;
	void *user_data;
	uint16_t tx_seq;
	uint32_t late_frames;
	/* The interval update the host was last told of (host ns of its
	 * instant; 0 = none yet this session). */
	uint64_t ci_told_ns;
	struct simear_stats st;
};

uint64_t simear_tick(uint64_t ear_ns, uint32_t res_ns)
{
	return res_ns > 1 ? ear_ns - ear_ns % res_ns : ear_ns;
}

int simear_new(const struct simear_config *cfg, const struct simear_ops *ops,
	       void *user_data, struct simear **ret)
{
	struct simear *e;

	if (!cfg->clock || !cfg->link || !ops || !ops->send ||
	    cfg->ts_res_ns == 0 || cfg->ts_res_ns > 1000000 ||
	    !(cfg->render_res_us >= 0.0 && cfg->render_res_us <= 1000.0)) {
		return -EINVAL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		return -ENOMEM;
	}
	e->cfg = *cfg;
	e->ops = *ops;
	e->user_data = user_data;
	*ret = e;
	return 0;
}

struct simear *simear_free(struct simear *e)
{
	free(e);
	return NULL;
}

void simear_connect(struct simear *e)
{
	e->tx_seq = 0;
	e->late_frames = 0;
	e->ci_told_ns = 0;
}

bool simear_frozen(const struct simear *e, uint64_t host_ns)
{
	return e->cfg.freeze_for_ns > 0 && host_ns >= e->cfg.freeze_at_ns &&
	       host_ns - e->cfg.freeze_at_ns < e->cfg.freeze_for_ns;
}

void simear_stats(const struct simear *e, struct simear_stats *ret)
{
	*ret = e->st;
}

static void simear_emit(struct simear *e, const struct link_msg *m,
			uint64_t rx_host_ns)
{
	uint8_t buf[SIMEAR_MSG_MAX];
	size_t len;

	if (proto_encode(m, buf, sizeof(buf), &len) == 0) {
		e->ops.send(e->user_data, buf, len, rx_host_ns);
	}
}

static uint8_t simear_hello_status(struct simear *e, const struct link_hello *h)
{
	uint32_t n = (uint32_t)((uint64_t)h->sample_rate_hz * h->frame_us /
				1000000);

	if (e->ops.hello) {
		return e->ops.hello(e->user_data, h);
	}
	if (h->channels != 1 || h->sample_rate_hz != 48000 ||
	    (h->frame_us != 7500 && h->frame_us != 10000) ||
	    (h->codec == LINK_CODEC_PCM_S16 && h->octets_per_frame != 2 * n) ||
	    (h->codec == LINK_CODEC_LC3 &&
	     (h->octets_per_frame < 20 || h->octets_per_frame > 400))) {
		return LINK_HELLO_E_PARAMS;
	}
	return LINK_HELLO_OK;
}

static void simear_on_hello(struct simear *e, const struct link_msg *m,
			    uint64_t h)
{
	struct link_msg a;
	struct link_hello_ack *ack = &a.hello_ack;
	uint64_t ev, t2, rx;
	uint8_t role = e->cfg.side == SCENARIO_LEFT ? LINK_ROLE_LEFT :
						      LINK_ROLE_RIGHT;

	if (simlink_downlink(e->cfg.link, h, &ev, &t2) < 0 ||
	    simlink_uplink(e->cfg.link, ev + SIMLINK_AIR_NS + SIMLINK_REPLY_NS,
			   NULL, NULL, &rx) < 0) {
		e->st.unanswered++;
		return;
	}
	e->st.hellos++;
	simear_connect(e);
	memset(&a, 0, sizeof(a));
	a.hdr.type = LINK_HELLO_ACK;
	a.hdr.seq = e->tx_seq++;
	ack->version = LINK_VERSION;
	ack->role = role;
	ack->codec = m->hello.codec;
	if (m->hello.role != LINK_ROLE_ANY && m->hello.role != role) {
		ack->status = LINK_HELLO_E_ROLE;
	} else if (m->hello.codec != LINK_CODEC_PCM_S16 &&
		   m->hello.codec != LINK_CODEC_LC3) {
		ack->status = LINK_HELLO_E_CODEC;
	} else {
		ack->status = simear_hello_status(e, &m->hello);
	}
	if (ack->status != LINK_HELLO_OK) {
		ack->codec = LINK_CODEC_NONE;
	}
	ack->clock_res_ns = e->cfg.ts_res_ns;
	ack->caps = LINK_CAP_TWO_STEP | LINK_CAP_RENDER_REPORT |
		    LINK_CAP_STATUS | LINK_CAP_CODEC_PCM | LINK_CAP_CODEC_LC3 |
		    LINK_CAP_CONN_UPDATE;
	ack->buffer_frames = SIMEAR_BUFFER_FRAMES;
	ack->ci_us = simlink_ci_us(e->cfg.link, ev);
	/* The interval in force is in the HELLO_ACK: nothing to tell. */
	if (simlink_ci_change(e->cfg.link, &e->ci_told_ns) < 0 ||
	    e->ci_told_ns > ev) {
		e->ci_told_ns = 0;
	}
	simear_emit(e, &a, rx);
}

/*
 * A connection parameter update whose indication the earbud has by
 * ready_ns (LL_CONNECTION_UPDATE_IND comes SIMEAR_IND_EVENTS connection
 * events before its instant, the least the central leaves: Core 5.4,
 * Vol 6, Part B, 5.1.1) and the host has not heard of this session:
 * CONN_UPDATE with the next uplink, its instant possibly ahead.
 */
#define SIMEAR_IND_EVENTS 6

static void simear_tell_ci(struct simear *e, uint64_t ready_ns)
{
	struct link_msg u;
	uint64_t instant, ear, rx, lead;

	if (simlink_ci_change(e->cfg.link, &instant) < 0) {
		return;
	}
	lead = SIMEAR_IND_EVENTS * (uint64_t)simlink_ci_us(e->cfg.link,
							   instant - 1) *
	       NSEC_PER_USEC;
	if (instant > ready_ns + lead || e->ci_told_ns == instant ||
	    simclock_ear_of_host(e->cfg.clock, instant, &ear) < 0 ||
	    simlink_uplink(e->cfg.link, ready_ns, NULL, NULL, &rx) < 0) {
		return;
	}
	memset(&u, 0, sizeof(u));
	u.hdr.type = LINK_CONN_UPDATE;
	u.hdr.seq = e->tx_seq++;
	u.conn_update.ci_us = simlink_ci_us(e->cfg.link, instant);
	u.conn_update.instant_ear_ns = simear_tick(ear, e->cfg.ts_res_ns);
	e->ci_told_ns = instant;
	e->st.conn_updates++;
	simear_emit(e, &u, rx);
}

static void simear_on_sync(struct simear *e, const struct link_msg *m,
			   uint64_t h)
{
	struct link_msg r, f;
	uint64_t ev, t2, ready, t3, rx, t3_queued, ev3, rx_f;

	if (simlink_downlink(e->cfg.link, h, &ev, &t2) < 0) {
		e->st.unanswered++;
		return;
	}
	/* The reply is queued 50 us after the packet landed, leaves at the
	 * next event (t3), and its precise t3 at the event after that. */
	ready = ev + SIMLINK_AIR_NS + SIMLINK_REPLY_NS;
	simear_tell_ci(e, ready);
	if (simlink_uplink(e->cfg.link, ready, &ev3, &t3, &rx) < 0 ||
	    simclock_ear_of_host(e->cfg.clock, ready, &t3_queued) < 0 ||
	    simlink_uplink(e->cfg.link, ev3 + 1, NULL, NULL, &rx_f) < 0) {
		e->st.unanswered++;
		return;
	}
	e->st.syncs++;
	memset(&r, 0, sizeof(r));
	r.hdr.type = LINK_SYNC_RESP;
	r.hdr.flags = LINK_F_TWO_STEP;
	r.hdr.seq = e->tx_seq++;
	r.sync_resp.req_id = m->sync_req.req_id;
	r.sync_resp.t1_host_ns = m->sync_req.t1_host_ns;
	r.sync_resp.t2_ear_ns = simear_tick(t2, e->cfg.ts_res_ns);
	r.sync_resp.t3_ear_ns = simear_tick(t3_queued, e->cfg.ts_res_ns);
	memset(&f, 0, sizeof(f));
	f.hdr.type = LINK_SYNC_FOLLOWUP;
	f.hdr.seq = e->tx_seq++;
	f.sync_followup.req_id = m->sync_req.req_id;
	f.sync_followup.t3_ear_ns = simear_tick(t3, e->cfg.ts_res_ns);
	simear_emit(e, &r, rx);
	simear_emit(e, &f, MAX(rx_f, rx));
}

/* The start of the earbud's first sample-grid slot at or after pts. */
static uint64_t simear_grid(const struct simear *e, uint64_t pts)
{
	double g = e->cfg.render_res_us * 1e3;
	uint64_t at;

	if (g <= 0.0) {
		return pts;
	}
	at = (uint64_t)llround(ceil((double)pts / g) * g);
	return at < pts ? pts : at;
}

static void simear_on_audio(struct simear *e, const struct link_msg *m,
			    uint64_t h)
{
	struct simear_render rd;
	struct link_msg rep;
	uint64_t ev, t2, rx, done;

	e->st.frames++;
	if (simlink_downlink(e->cfg.link, h, &ev, &t2) < 0) {
		e->st.unanswered++;
		return;
	}
	memset(&rd, 0, sizeof(rd));
	rd.side = e->cfg.side;
	rd.frame_seq = m->audio.frame_seq;
	rd.pts_ear_ns = m->audio.pts_ear_ns;
	rd.t2_ear_ns = simear_tick(t2, e->cfg.ts_res_ns);
	rd.arrive_host_ns = ev + SIMLINK_AIR_NS;
	rd.audio = &m->audio;
	if (simclock_host_of_ear(e->cfg.clock, m->audio.pts_ear_ns,
				 &rd.pts_host_ns) < 0) {
		rd.pts_host_ns = 0;
	}
	rd.late = rd.pts_host_ns == 0 || rd.arrive_host_ns > rd.pts_host_ns;
	rd.frozen = simear_frozen(e, rd.arrive_host_ns);
	if (rd.frozen) {
		/* Received by the radio, never handled: no report either. */
		e->st.frozen++;
		if (e->ops.render) {
			e->ops.render(e->user_data, &rd);
		}
		return;
	}
	if (rd.late) {
		e->st.late++;
		e->late_frames++;
	} else if (simclock_host_of_ear(e->cfg.clock,
					simear_grid(e, m->audio.pts_ear_ns),
					&rd.render_host_ns) < 0) {
		rd.render_host_ns = rd.pts_host_ns;
	}
	if (!rd.late) {
		e->st.rendered++;
	}
	if (e->ops.render) {
		e->ops.render(e->user_data, &rd);
	}
	/* The report leaves once the frame has played (or was dropped). */
	done = rd.late ? rd.arrive_host_ns : rd.render_host_ns;
	simear_tell_ci(e, done);
	if (simlink_uplink(e->cfg.link, done, NULL, NULL, &rx) < 0) {
		return;
	}
	memset(&rep, 0, sizeof(rep));
	rep.hdr.type = LINK_RENDER_REPORT;
	rep.hdr.seq = e->tx_seq++;
	rep.render_report.frame_seq = m->audio.frame_seq;
	rep.render_report.rx_ear_ns = rd.t2_ear_ns;
	rep.render_report.render_ear_ns =
		rd.late ? 0 :
			  simear_tick(simear_grid(e, m->audio.pts_ear_ns),
				      e->cfg.ts_res_ns);
	rep.render_report.late_frames = e->late_frames;
	simear_emit(e, &rep, rx);
}

void simear_on_message(struct simear *e, const uint8_t *msg, size_t len,
		       uint64_t host_ns)
{
	struct link_msg m;

	if (proto_decode(msg, len, &m) < 0) {
		e->st.malformed++;
		return;
	}
	if (!simlink_up(e->cfg.link, host_ns)) {
		e->st.unanswered++;
		return;
	}
	if (simear_frozen(e, host_ns) && m.hdr.type != LINK_AUDIO) {
		e->st.unanswered++;
		return;
	}
	switch (m.hdr.type) {
	case LINK_HELLO:
		simear_on_hello(e, &m, host_ns);
		break;
	case LINK_SYNC_REQ:
		simear_on_sync(e, &m, host_ns);
		break;
	case LINK_AUDIO:
		simear_on_audio(e, &m, host_ns);
		break;
	case LINK_VOLUME:
	case LINK_STOP:
		break;
	default:
		e->st.malformed++;
		break;
	}
}

/* Generator streams of one scenario seed: one per object and side. */
enum simear_stream {
	SIMEAR_STREAM_CLOCK = 0x10,
	SIMEAR_STREAM_LINK = 0x20,
};

static uint64_t simear_ns(double s)
{
	return (uint64_t)llround(s * 1e9);
}

int simear_parts_new(const struct scenario *sc, enum scenario_side side,
		     uint64_t up_ns, uint64_t t0_ns, struct simear_parts *ret)
{
	const struct scenario_ear *se = &sc->ear[side];
	struct simclock_config cc = {
		.offset_ns = (int64_t)llround(se->offset_ms * 1e6),
		.ppm = se->ppm,
		.wander_ppb_per_s = se->wander_ppb_per_s,
		.start_host_ns = up_ns,
		.seed = simrng_derive(sc->seed, SIMEAR_STREAM_CLOCK + side),
	};
	struct simlink_config lc = {
		.start_host_ns = up_ns,
		.ci_us = se->ci_us,
		.anchor_phase_us = se->anchor_phase_us,
		.dongle_ppm = sc->dongle_ppm,
		.loss = se->loss,
		.jitter = se->hci_jitter_dist,
		.jitter_us = se->hci_jitter_us,
		.anchor_jitter_us = se->anchor_jitter_us,
		.seed = simrng_derive(sc->seed, SIMEAR_STREAM_LINK + side),
	};
	struct simear_parts p = {
		.cfg = {
			.side = side,
			.ts_res_ns = se->ts_res_ns ? se->ts_res_ns : 1,
			.render_res_us = se->render_res_us,
		},
	};
	int r;

	memset(ret, 0, sizeof(*ret));
	if (se->ppm_step != 0.0) {
		cc.step_at_host_ns = t0_ns + simear_ns(se->ppm_step_at_s);
		cc.step_ppm = se->ppm_step;
	}
	if (se->ci_change_to_us) {
		lc.ci_change_at_ns = t0_ns + simear_ns(se->ci_change_at_s);
		lc.ci_change_to_us = se->ci_change_to_us;
	}
	if (se->drop_for_s > 0) {
		lc.drop_at_ns = t0_ns + simear_ns(se->drop_at_s);
		lc.drop_for_ns = simear_ns(se->drop_for_s);
		p.disrupted = true;
		p.back_ns = lc.drop_at_ns + lc.drop_for_ns;
	}
	if (se->freeze_for_s > 0) {
		p.cfg.freeze_at_ns = t0_ns + simear_ns(se->freeze_at_s);
		p.cfg.freeze_for_ns = simear_ns(se->freeze_for_s);
		p.disrupted = true;
		p.back_ns = MAX(p.back_ns,
				p.cfg.freeze_at_ns + p.cfg.freeze_for_ns);
	}
	r = simclock_new(&cc, &p.clock);
	if (r < 0) {
		return r;
	}
	r = simlink_new(&lc, p.clock, &p.link);
	if (r < 0) {
		simclock_free(p.clock);
		return r;
	}
	p.cfg.clock = p.clock;
	p.cfg.link = p.link;
	*ret = p;
	return 0;
}

void simear_parts_free(struct simear_parts *p)
{
	p->link = simlink_free(p->link);
	p->clock = simclock_free(p->clock);
}
