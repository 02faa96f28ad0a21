/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the link state machine (src/daemon/link*.c)
 * driven by a hostile earbud: sequences of messages, not single ones.
 *
 * The harness plays the channel (struct chan, no socket) and the clock
 * (link_env.now), drives the timer wheel itself, and reads the script:
 * the first octet picks the configuration (codec, estimator, frame), then
 * each step is one octet naming an action and the octets it takes:
 *   - the channel opens, closes, fails a send;
 *   - the earbud sends: raw octets; or a well-formed HELLO_ACK, SYNC_RESP,
 *     SYNC_FOLLOWUP, RENDER_REPORT, STATUS or CONN_UPDATE whose fields
 *     the script picks, answering what the link actually sent (the
 *     request id and t1 it is waiting for, a frame it sent) or not; with
 *     its own header sequence in order, repeated or jumping; or a replay
 *     of one of its earlier messages, octet for octet;
 *   - the host: time passes (the wheel fires the probe, HELLO and retry
 *     timers, the link ticks; or up to the next timing request), frames
 *     go out while the link is ready (link_send_audio), send stamps come
 *     back, the configuration changes (link_reconf), the statistics are
 *     reset.
 *
 * Beyond memory safety, UB and leaks, after every step:
 *   - every message the link sent decodes and is host-to-earbud;
 *   - the state is consistent with the channel (a session needs an open
 *     channel; idle means closed; ready means streaming);
 *   - what the earbud said stays inside its ranges in the link's view:
 *     the interval 7.5 ms .. 4 s, the clock tick <= 1 ms, the battery
 *     0..100 or unknown;
 *   - the presentation delay stays inside [delay_min, delay_max] whatever
 *     the reports say (core/plan's bounds hold against the earbud);
 *   - the counters only grow (until a reset), and one message is
 *     dropped under one kind at most (nothing is counted twice);
 *   - the timer wheel's invariants hold.
 */

#include <errno.h>
#include <stdio.h>
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

#include "fuzz-check.h"
#include "fuzz-input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef TTWS_FUZZ_REPLAY
/* link.c reads this clock only without link_env.now: never here. (The
 * replay build, tests/integration/fuzz, links src/os's own.) */
uint64_t rt_now_ns(void);
uint64_t rt_now_ns(void)
{
	abort();
}
#endif

#define MS 1000000ull
#define NHIST 8

/* The fake channel. */
struct fchan {
	struct chan chan;
	bool opening;
	bool fail_send;
	uint32_t next_id;
};

static struct {
	struct conf conf;
	struct wheel *wheel;
	struct plan *plan;
	struct link *link;
	struct fchan fc;
	uint64_t now;
	/* The earbud's clock: host time plus this, at its own rate. */
	uint64_t ear_offset;

	/* What the link sent. */
	bool have_req;
	uint64_t reqs;
	struct link_sync_req req;
	uint8_t hello_codec;
	uint64_t frames[16];
	uint64_t pts[16];
	unsigned nframes;        /* kept: the last min(frames_total, 16) */
	uint64_t frames_total;
	uint64_t next_frame;

	/* What the earbud sent. */
	uint16_t ear_seq;
	uint8_t hist[NHIST][96];
	size_t hist_len[NHIST];
	unsigned nhist;
	uint64_t sent_msgs;     /* messages handed to the link */

	struct link_stats last;
	unsigned steps;
} F;

static uint64_t fz_now(void *ctx)
{
	(void)ctx;
	return F.now;
}

static uint64_t ear_now(void)
{
	return F.now + F.ear_offset;
}

/* ---- the channel --------------------------------------------------- */

static int fc_open(struct chan *c, uint64_t now_ns)
{
	(void)now_ns;
	check(!c->is_open);
	F.fc.opening = true;
	return 0;
}

static int fc_send(struct chan *c, const void *msg, size_t len,
		   uint32_t *ret_id)
{
	struct link_msg m;

	if (!c->is_open) {
		return -ENOTCONN;
	}
	/* Everything the host says is well-formed and host-to-earbud. */
	check(proto_decode(msg, len, &m) == 0);
	check(!proto_type_from_earbud(m.hdr.type));
	switch (m.hdr.type) {
	case LINK_HELLO:
		F.hello_codec = m.hello.codec;
		break;
	case LINK_SYNC_REQ:
		F.have_req = true;
		F.reqs++;
		F.req = m.sync_req;
		break;
	default:
		break;
	}
	if (F.fc.fail_send) {
		F.fc.fail_send = false;
		return -ENOBUFS;
	}
	if (ret_id) {
		*ret_id = F.fc.next_id;
	}
	F.fc.next_id++;
	return 0;
}

static void fc_close(struct chan *c)
{
	c->is_open = false;
	F.fc.opening = false;
}

static void fc_free(struct chan *c)
{
	(void)c;
}

static const struct chan_ops fc_ops = {
	.name = "fuzz",
	.open = fc_open,
	.send = fc_send,
	.close = fc_close,
	.free = fc_free,
};

/* ---- the earbud ---------------------------------------------------- */

/* Hand the link one message, as the channel would. */
static void deliver(const uint8_t *b, size_t len, bool kernel_ts)
{
	const struct chan_rx_time t = {
		.arrival_ns = F.now,
		.seen_ns = F.now,
		.handler_ns = F.now,
		.has_kernel_ts = kernel_ts,
	};
	uint8_t *copy;

	if (!F.fc.chan.is_open) {
		return;
	}
	/* An exactly sized copy: ASan sees a read past it. */
	copy = malloc(len ? len : 1);
	check(copy != NULL);
	memcpy(copy, b, len);
	F.sent_msgs++;
	F.fc.chan.cb.msg(F.fc.chan.user_data, copy, len, &t);
	free(copy);
}

/* Encode m with the header sequence the script picks, send it and keep
 * it for replays. */
static void ear_send(struct input *in, struct link_msg *m)
{
	uint8_t b[96];
	size_t len;
	uint8_t how = take8(in);

	if (how < 224) {
		m->hdr.seq = F.ear_seq++;
	} else if (how < 240) {
		m->hdr.seq = (uint16_t)(F.ear_seq - 1 - (how & 7));
	} else {
		F.ear_seq = (uint16_t)(F.ear_seq + take16(in));
		m->hdr.seq = F.ear_seq++;
	}
	if (proto_encode(m, b, sizeof(b), &len) < 0) {
		return;
	}
	memcpy(F.hist[F.nhist % NHIST], b, len);
	F.hist_len[F.nhist % NHIST] = len;
	F.nhist++;
	deliver(b, len, how & 1);
}

/* A 64-bit earbud time near now, or anything. */
static uint64_t ear_time(struct input *in)
{
	uint8_t how = take8(in);

	if (how < 200) {
		return ear_now() + (int64_t)(int16_t)take16(in) * 1000;
	}
	return take64(in);
}

static void send_hello_ack(struct input *in)
{
	struct link_msg m = { 0 };
	uint8_t v = take8(in);

	m.hdr.type = LINK_HELLO_ACK;
	m.hello_ack.version = v & 1 ? LINK_VERSION : take8(in);
	m.hello_ack.role = v & 2 ? LINK_ROLE_LEFT : take8(in);
	m.hello_ack.codec = v & 4 ? F.hello_codec : take8(in);
	m.hello_ack.status = v & 8 ? LINK_HELLO_OK : take8(in);
	m.hello_ack.clock_res_ns = v & 16 ? 1000 : take32(in);
	m.hello_ack.caps = take32(in);
	m.hello_ack.buffer_frames = take16(in);
	m.hello_ack.ci_us = v & 32 ? 7500u * (1 + take8(in) % 4) : take32(in);
	ear_send(in, &m);
}

static void send_sync_resp(struct input *in)
{
	struct link_msg m = { 0 };
	uint8_t v = take8(in);
	uint64_t t2, t3;

	m.hdr.type = LINK_SYNC_RESP;
	m.hdr.flags = v & 1 ? LINK_F_TWO_STEP : 0;
	m.sync_resp.req_id = v & 2 ? F.req.req_id : take32(in);
	m.sync_resp.t1_host_ns = v & 4 ? F.req.t1_host_ns : take64(in);
	if (v & 8) {
		/* Plausible: t2 then t3 a little later, in the ear clock. */
		t2 = F.req.t1_host_ns + F.ear_offset + take16(in) * 100ull;
		t3 = t2 + take16(in) * 100ull;
	} else {
		t2 = ear_time(in);
		t3 = ear_time(in);
	}
	m.sync_resp.t2_ear_ns = t2;
	m.sync_resp.t3_ear_ns = t3;
	ear_send(in, &m);
}

static void send_followup(struct input *in)
{
	struct link_msg m = { 0 };
	uint8_t v = take8(in);

	m.hdr.type = LINK_SYNC_FOLLOWUP;
	m.sync_followup.req_id = v & 1 ? F.req.req_id : take32(in);
	m.sync_followup.t3_ear_ns =
		v & 2 ? ear_now() - take16(in) * 100ull : ear_time(in);
	ear_send(in, &m);
}

static void send_report(struct input *in)
{
	struct link_msg m = { 0 };
	uint8_t v = take8(in);
	/* 0: the newest frame sent, 1 the one before, ... */
	unsigned back = F.nframes ? take8(in) % F.nframes : 0;
	unsigned k = (unsigned)((F.frames_total - 1 - back) % 16);

	m.hdr.type = LINK_RENDER_REPORT;
	if (v & 1 && F.nframes) {
		m.render_report.frame_seq = F.frames[k];
		m.render_report.rx_ear_ns = F.pts[k] - take16(in) * 1000ull;
		m.render_report.render_ear_ns =
			v & 2 ? 0 : F.pts[k] + take8(in) * 100ull;
	} else {
		m.render_report.frame_seq = take64(in);
		m.render_report.rx_ear_ns = ear_time(in);
		m.render_report.render_ear_ns = v & 2 ? 0 : ear_time(in);
	}
	m.render_report.buffer_frames = take16(in);
	m.render_report.late_frames = take32(in);
	m.render_report.underruns = take32(in);
	ear_send(in, &m);
}

static void send_status(struct input *in)
{
	struct link_msg m = { 0 };

	m.hdr.type = LINK_STATUS;
	m.status.battery_pct = take8(in);
	m.status.rssi_dbm = (int8_t)take8(in);
	m.status.buffer_frames = take16(in);
	m.status.link_errors = take32(in);
	ear_send(in, &m);
}

static void send_conn_update(struct input *in)
{
	struct link_msg m = { 0 };
	uint8_t v = take8(in);

	m.hdr.type = LINK_CONN_UPDATE;
	m.conn_update.ci_us = v & 1 ? 1250u * (6 + take8(in) % 20) :
				      take32(in);
	m.conn_update.instant_ear_ns =
		v & 2 ? ear_now() + take16(in) * 10000ull : ear_time(in);
	ear_send(in, &m);
}

static void send_raw(struct input *in)
{
	uint8_t b[300];
	uint16_t n = take16(in) % sizeof(b);

	for (unsigned i = 0; i < n; i++) {
		b[i] = take8(in);
	}
	/* A header of ours, often, so the decoder gets past the magic. */
	if (n >= 2 && (b[0] & 1)) {
		b[0] = LINK_MAGIC;
		b[1] = LINK_VERSION;
	}
	deliver(b, n, true);
}

static void send_replay(struct input *in)
{
	unsigned back = take8(in) % NHIST;

	if (F.nhist == 0 || back >= F.nhist) {
		return;
	}
	unsigned k = (F.nhist - 1 - back) % NHIST;

	deliver(F.hist[k], F.hist_len[k], true);
}

/* ---- the host ------------------------------------------------------ */

static void advance(uint64_t dt)
{
	F.now += dt;
	/* Drive the wheel through every deadline on the way, as the RT
	 * loop does. */
	for (int i = 0; i < 64; i++) {
		uint64_t next = wheel_next_deadline(F.wheel, NULL);

		if (next > F.now) {
			break;
		}
		wheel_expire(F.wheel, next);
	}
	wheel_expire(F.wheel, F.now);
	link_tick(F.link, F.now);
}

static void send_frame(struct input *in)
{
	static uint8_t pcm[2048 + 8];
	uint64_t pts, seq;
	size_t len;
	int r;

	if (!link_ready(F.link)) {
		return;
	}
	seq = F.next_frame++;
	if (take8(in) == 0xff) {
		/* A jump (a stream restart). */
		seq = F.next_frame += take16(in);
	}
	pts = ear_now() + 40 * MS;
	r = plan_pts(F.plan, seq, link_servo(F.link), &pts);
	(void)r;
	len = take8(in) == 0 ? take16(in) % sizeof(pcm) : 960;
	r = link_send_audio(F.link, seq, pts, 0, pcm, len, F.now, F.now);
	check(r == 0 || r == -EMSGSIZE || r == -ENOBUFS);
	if (r == 0) {
		check(len <= 2048);
		F.frames[F.frames_total % 16] = seq;
		F.pts[F.frames_total % 16] = pts;
		F.frames_total++;
		F.nframes = F.frames_total < 16 ? (unsigned)F.frames_total : 16;
	}
}

static void open_or_close(struct input *in)
{
	uint8_t v = take8(in);

	if (v & 1) {
		/* The link's connect attempt may wait for its back-off. */
		for (int i = 0; i < 16 && !F.fc.opening && !F.fc.chan.is_open;
		     i++) {
			uint64_t next = wheel_next_deadline(F.wheel, NULL);

			if (next > F.now + 500 * MS) {
				break;
			}
			advance(next > F.now ? next - F.now : 0);
		}
		if (F.fc.opening && !F.fc.chan.is_open) {
			F.fc.opening = false;
			F.fc.chan.is_open = true;
			F.fc.next_id = 0;
			F.ear_seq = 0;
			F.fc.chan.cb.open(F.fc.chan.user_data, F.now);
		}
	} else if (F.fc.chan.is_open || F.fc.opening) {
		F.fc.chan.is_open = false;
		F.fc.opening = false;
		F.fc.chan.cb.closed(F.fc.chan.user_data,
				    v & 2 ? -ECONNRESET : -EHOSTUNREACH,
				    F.now);
	}
}

static void send_stamp(struct input *in)
{
	uint32_t back = take8(in) % 8;

	if (!F.fc.chan.is_open || !F.fc.chan.cb.sent || F.fc.next_id == 0 ||
	    back >= F.fc.next_id) {
		return;
	}
	F.fc.chan.cb.sent(F.fc.chan.user_data, F.fc.next_id - 1 - back,
			  take8(in) & 1 ? CHAN_TX_DONE : CHAN_TX_KERNEL,
			  F.now - take16(in));
}

static void reconf(struct input *in)
{
	static const char *const est[] = { "ttws", "naive", "median-iir",
					   "lucky-pi" };

	snprintf(F.conf.servo.estimator, sizeof(F.conf.servo.estimator), "%s",
		 est[take8(in) % ARRAY_SIZE(est)]);
	F.conf.reconnect.backoff_min_ns = (1 + take8(in) % 50) * 10 * MS;
	link_reconf(F.link, F.now);
}

/* ---- the checks ---------------------------------------------------- */

static uint64_t drops(const struct link_stats *s)
{
	uint64_t n = s->unexpected + s->out_of_range;

	for (int i = 0; i < PROTO_N_ERRORS; i++) {
		n += s->malformed[i];
	}
	return n;
}

static void check_state(bool reset)
{
	struct link_stats s;
	const struct link_stats *o = &F.last;

	link_get_stats(F.link, &s);
	check(s.state <= LINK_ST_STREAMING);
	if (s.state >= LINK_ST_HELLO) {
		check(F.fc.chan.is_open && s.connected);
	}
	if (s.state == LINK_ST_IDLE) {
		check(!F.fc.chan.is_open && !s.connected);
	}
	if (link_ready(F.link)) {
		check(s.state == LINK_ST_STREAMING);
	}
	if (s.state >= LINK_ST_SYNCING) {
		check(s.ci_us >= 7500 && s.ci_us <= 4000000);
		check(s.clock_res_ns <= 1000000);
	}
	check(s.battery_pct <= 100 || s.battery_pct == 0xff);
	check(plan_delay(F.plan) >= F.conf.stream.delay_min_ns &&
	      plan_delay(F.plan) <= F.conf.stream.delay_max_ns);
	check(plan_delay_target(F.plan) >= F.conf.stream.delay_min_ns &&
	      plan_delay_target(F.plan) <= F.conf.stream.delay_max_ns);
	if (!reset) {
		check(s.connects >= o->connects &&
		      s.disconnects >= o->disconnects &&
		      s.reports >= o->reports &&
		      s.unexpected >= o->unexpected &&
		      s.out_of_range >= o->out_of_range &&
		      s.bad_resets >= o->bad_resets &&
		      s.sync_samples >= o->sync_samples &&
		      s.frames_sent >= o->frames_sent);
		for (int i = 0; i < PROTO_N_ERRORS; i++) {
			check(s.malformed[i] >= o->malformed[i]);
		}
		/* One message, at most one drop. */
		check(drops(&s) - drops(o) <= 1);
	}
	/* O(timers): not after every step. */
	if (++F.steps % 32 == 0) {
		check(wheel_check(F.wheel) == 0);
	}
	F.last = s;
}

static void step(struct input *in)
{
	uint8_t op = take8(in);
	bool reset = false;

	switch (op % 18) {
	case 0:
		open_or_close(in);
		break;
	case 1:
		send_raw(in);
		break;
	case 2:
		send_hello_ack(in);
		break;
	case 3:
	case 4:
		send_sync_resp(in);
		break;
	case 5:
		send_followup(in);
		break;
	case 6:
		send_report(in);
		break;
	case 7:
		send_status(in);
		break;
	case 8:
		send_conn_update(in);
		break;
	case 9:
		send_replay(in);
		break;
	case 10: {
		uint8_t d = take8(in);

		advance(d < 240 ? d * 100000ull : (d - 239) * 500 * MS);
		break;
	}
	case 11:
	case 12:
		send_frame(in);
		break;
	case 13:
		send_stamp(in);
		break;
	case 14:
		reconf(in);
		break;
	case 15:
		if (take8(in) < 8) {
			link_reset_stats(F.link);
			reset = true;
		}
		break;
	case 16:
		F.fc.fail_send = true;
		break;
	default: {
		/* Fast forward to the link's next timing request (what a
		 * well-behaved earbud answers), 100 ms at most. */
		uint64_t reqs = F.reqs, end = F.now + 100 * MS;

		for (int i = 0; i < 16 && F.reqs == reqs; i++) {
			uint64_t next = wheel_next_deadline(F.wheel, NULL);

			if (next > end) {
				break;
			}
			advance(next > F.now ? next - F.now : 0);
		}
		break;
	}
	}
	check_state(reset);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct plan_config pc;
	struct link_env env;
	uint8_t sel = take8(&in);
	int r;

	memset(&F, 0, sizeof(F));
	F.now = 10000 * MS;
	F.ear_offset = 123456789 * (uint64_t)(1 + (sel >> 4));
	conf_default(&F.conf);
	F.conf.link[CONF_EAR_LEFT].transport = CONF_TRANSPORT_UNIX;
	F.conf.stream.codec = sel & 1 ? CONF_CODEC_LC3 : CONF_CODEC_PCM;
	if (sel & 2) {
		F.conf.stream.frame_ns = 7500000;
	}
	if (sel & 4) {
		snprintf(F.conf.servo.estimator,
			 sizeof(F.conf.servo.estimator), "naive");
	}
	F.conf.reconnect.backoff_min_ns = 10 * MS;
	F.conf.sync.supervision_ns = sel & 8 ? 200 * MS : 1000 * MS;

	F.wheel = wheel_new(F.now);
	check(F.wheel != NULL);
	plan_config_default(&pc);
	pc.frame_ns = F.conf.stream.frame_ns;
	pc.delay_initial_ns = F.conf.stream.delay_ns;
	pc.delay_min_ns = F.conf.stream.delay_min_ns;
	pc.delay_max_ns = F.conf.stream.delay_max_ns;
	pc.margin_ns = F.conf.stream.delay_margin_ns;
	check(plan_new(&pc, F.now, &F.plan) == 0);

	F.fc.chan.ops = &fc_ops;
	memset(&env, 0, sizeof(env));
	env.wheel = F.wheel;
	env.plan = F.plan;
	env.conf = &F.conf;
	env.seed = sel;
	env.now = fz_now;
	r = link_new(&env, CONF_EAR_LEFT, &F.fc.chan, &F.link);
	check(r == 0);
	link_start(F.link, F.now);
	advance(0);
	check_state(true);
	while (in.n > 0) {
		step(&in);
	}
	if (getenv("TTWS_FUZZ_DEBUG")) {
		/* Where a script got to: for writing seeds (gen-corpus.py). */
		fprintf(stderr,
			"link: state %s, %llu samples, %llu frames, %llu "
			"reports, %llu drops, %llu resets\n",
			link_state_name(F.last.state),
			(unsigned long long)F.last.sync_samples,
			(unsigned long long)F.last.frames_sent,
			(unsigned long long)F.last.reports,
			(unsigned long long)drops(&F.last),
			(unsigned long long)F.last.bad_resets);
		fprintf(stderr, "link: unexpected %llu, out of range %llu",
			(unsigned long long)F.last.unexpected,
			(unsigned long long)F.last.out_of_range);
		for (int i = 0; i < PROTO_N_ERRORS; i++) {
			if (F.last.malformed[i]) {
				fprintf(stderr, ", %s %llu",
					proto_error_name(proto_error_at(i)),
					(unsigned long long)
						F.last.malformed[i]);
			}
		}
		fprintf(stderr, "\n");
	}
	check(wheel_check(F.wheel) == 0);
	link_shutdown(F.link);
	F.link = link_free(F.link);
	F.plan = plan_free(F.plan);
	F.wheel = wheel_free(F.wheel);
	return 0;
}
