/* SPDX-License-Identifier: MIT */
/*
 * daemon/link against a hostile earbud, message by message: each
 * misbehaviour is dropped, counted under its kind (link_stats.malformed
 * by core/proto's table, unexpected, out_of_range) and leaves the session
 * as it was; a run of LINK_BAD_RUN drops, a HELLO_ACK with another codec
 * or an unknown version resets it. The link runs on a channel and a clock
 * of the test's own (no socket, no syscall): a session is opened, locked
 * with consistent timing exchanges, and then each case sends what it
 * needs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/conf.h"
#include "core/plan.h"
#include "core/proto.h"
#include "core/wheel.h"
#include "daemon/chan.h"
#include "daemon/link.h"

#define MS 1000000ull
#define EAR_OFFSET 5000000000ull /* the earbud's clock: host + 5 s */

struct tchan {
	struct chan chan;
	bool opening;
	struct link_sync_req req; /* the last SYNC_REQ sent */
	uint64_t reqs;
	uint64_t audio;
};

static struct {
	struct conf conf;
	struct wheel *wheel;
	struct plan *plan;
	struct link *link;
	struct tchan tc;
	uint64_t now;
	uint16_t ear_seq;
	uint64_t frame;
} T;

static uint64_t t_now(void *ctx)
{
	(void)ctx;
	return T.now;
}

static int tc_open(struct chan *c, uint64_t now_ns)
{
	(void)c;
	(void)now_ns;
	T.tc.opening = true;
	return 0;
}

static int tc_send(struct chan *c, const void *msg, size_t len,
		   uint32_t *ret_id)
{
	static uint32_t id;
	struct link_msg m;

	(void)c;
	assert_int_equal(proto_decode(msg, len, &m), 0);
	if (m.hdr.type == LINK_SYNC_REQ) {
		T.tc.req = m.sync_req;
		T.tc.reqs++;
	} else if (m.hdr.type == LINK_AUDIO) {
		T.tc.audio++;
	}
	if (ret_id) {
		*ret_id = id++;
	}
	return 0;
}

static void tc_close(struct chan *c)
{
	c->is_open = false;
	T.tc.opening = false;
}

static void tc_free(struct chan *c)
{
	(void)c;
}

static const struct chan_ops tc_ops = {
	.name = "test",
	.open = tc_open,
	.send = tc_send,
	.close = tc_close,
	.free = tc_free,
};

static void advance(uint64_t dt)
{
	uint64_t end = T.now + dt;

	while (T.now < end) {
		T.now = end - T.now > MS ? T.now + MS : end;
		wheel_expire(T.wheel, T.now);
		link_tick(T.link, T.now);
	}
}

static void deliver(const uint8_t *b, size_t len)
{
	const struct chan_rx_time t = {
		.arrival_ns = T.now,
		.seen_ns = T.now,
		.handler_ns = T.now,
		.has_kernel_ts = true,
	};

	T.tc.chan.cb.msg(T.tc.chan.user_data, b, len, &t);
}

/* m as the earbud's next message (seq: its next number, or as given). */
static void send_seq(struct link_msg *m, uint16_t seq)
{
	uint8_t b[128];
	size_t len;

	m->hdr.seq = seq;
	assert_int_equal(proto_encode(m, b, sizeof(b), &len), 0);
	deliver(b, len);
}

static void send_msg(struct link_msg *m)
{
	send_seq(m, T.ear_seq++);
}

static struct link_stats stats(void)
{
	struct link_stats s;

	link_get_stats(T.link, &s);
	return s;
}

static uint64_t kind(const struct link_stats *s, int err)
{
	return s->malformed[proto_error_index(err)];
}

/* Every drop counter summed: each case checks the one it expects. */
static uint64_t drops(const struct link_stats *s)
{
	uint64_t n = s->unexpected + s->out_of_range;

	for (int i = 0; i < PROTO_N_ERRORS; i++) {
		n += s->malformed[i];
	}
	return n;
}

static void hello_ack(struct link_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->hdr.type = LINK_HELLO_ACK;
	m->hello_ack.version = LINK_VERSION;
	m->hello_ack.role = LINK_ROLE_LEFT;
	m->hello_ack.codec = LINK_CODEC_PCM_S16;
	m->hello_ack.status = LINK_HELLO_OK;
	m->hello_ack.clock_res_ns = 1;
	m->hello_ack.ci_us = 7500;
}

/* Up to the link's next SYNC_REQ. */
static void await_req(void)
{
	uint64_t reqs = T.tc.reqs;

	for (int i = 0; i < 200 && T.tc.reqs == reqs; i++) {
		advance(MS);
	}
	assert_true(T.tc.reqs > reqs);
}

static void sync_resp(struct link_msg *m, uint32_t req_id, uint64_t t1)
{
	memset(m, 0, sizeof(*m));
	m->hdr.type = LINK_SYNC_RESP;
	m->hdr.flags = LINK_F_TWO_STEP;
	m->sync_resp.req_id = req_id;
	m->sync_resp.t1_host_ns = t1;
	m->sync_resp.t2_ear_ns = t1 + EAR_OFFSET + 2000;
	m->sync_resp.t3_ear_ns = T.now + EAR_OFFSET - 5000;
}

static void followup(struct link_msg *m, uint32_t req_id)
{
	memset(m, 0, sizeof(*m));
	m->hdr.type = LINK_SYNC_FOLLOWUP;
	m->sync_followup.req_id = req_id;
	m->sync_followup.t3_ear_ns = T.now + EAR_OFFSET - 300;
}

/* One consistent two-step exchange, answered 1 ms after the request. */
static void exchange(void)
{
	struct link_msg m;

	await_req();
	advance(MS);
	sync_resp(&m, T.tc.req.req_id, T.tc.req.t1_host_ns);
	send_msg(&m);
	followup(&m, T.tc.req.req_id);
	send_msg(&m);
}

/* A healthy session drops nothing. */
static int setup_clean(void)
{
	struct link_stats s = stats();

	assert_int_equal(drops(&s), 0);
	return 0;
}

static int setup(void **state)
{
	struct plan_config pc;
	struct link_env env = { 0 };
	struct link_msg m;

	(void)state;
	memset(&T, 0, sizeof(T));
	T.now = 1000 * MS;
	conf_default(&T.conf);
	T.conf.link[CONF_EAR_LEFT].transport = CONF_TRANSPORT_UNIX;
	T.conf.reconnect.backoff_min_ns = 10 * MS;
	T.wheel = wheel_new(T.now);
	assert_non_null(T.wheel);
	plan_config_default(&pc);
	pc.frame_ns = T.conf.stream.frame_ns;
	pc.delay_initial_ns = T.conf.stream.delay_ns;
	pc.delay_min_ns = T.conf.stream.delay_min_ns;
	pc.delay_max_ns = T.conf.stream.delay_max_ns;
	assert_int_equal(plan_new(&pc, T.now, &T.plan), 0);
	T.tc.chan.ops = &tc_ops;
	env.wheel = T.wheel;
	env.plan = T.plan;
	env.conf = &T.conf;
	env.seed = 7;
	env.now = t_now;
	assert_int_equal(link_new(&env, CONF_EAR_LEFT, &T.tc.chan, &T.link),
			 0);
	link_start(T.link, T.now);
	for (int i = 0; i < 100 && !T.tc.opening; i++) {
		advance(MS);
	}
	assert_true(T.tc.opening);
	T.tc.chan.is_open = true;
	T.tc.chan.cb.open(T.tc.chan.user_data, T.now);
	hello_ack(&m);
	send_msg(&m);
	assert_int_equal(stats().state, LINK_ST_SYNCING);
	for (int i = 0; i < 40 && stats().state != LINK_ST_STREAMING; i++) {
		exchange();
	}
	assert_int_equal(stats().state, LINK_ST_STREAMING);
	return setup_clean();
}

static int teardown(void **state)
{
	(void)state;
	/* The link's timers live in it: off the wheel before it goes. */
	link_shutdown(T.link);
	T.link = link_free(T.link);
	T.plan = plan_free(T.plan);
	T.wheel = wheel_free(T.wheel);
	return 0;
}

/* A frame out, for the reports. Returns its number. */
static uint64_t frame_out(uint64_t *ret_pts)
{
	static uint8_t pcm[960];
	uint64_t pts = T.now + EAR_OFFSET + 40 * MS, seq = T.frame++;

	assert_int_equal(link_send_audio(T.link, seq, pts, 0, pcm, sizeof(pcm),
					 T.now, T.now),
			 0);
	*ret_pts = pts;
	return seq;
}

static void report(struct link_msg *m, uint64_t seq, uint64_t pts)
{
	memset(m, 0, sizeof(*m));
	m->hdr.type = LINK_RENDER_REPORT;
	m->render_report.frame_seq = seq;
	m->render_report.rx_ear_ns = pts - 30 * MS;
	m->render_report.render_ear_ns = pts;
	m->render_report.buffer_frames = 4;
}

static void status_msg(struct link_msg *m, uint8_t battery)
{
	memset(m, 0, sizeof(*m));
	m->hdr.type = LINK_STATUS;
	m->status.battery_pct = battery;
}

/* The same numbers again, or far behind: dropped before anything reads
 * them. */
static void link_seq_replay_and_stale(void **state)
{
	struct link_msg m;
	struct link_stats s;
	uint16_t seq55;

	(void)state;
	status_msg(&m, 55);
	seq55 = T.ear_seq;
	send_msg(&m);
	status_msg(&m, 77);
	send_msg(&m);
	status_msg(&m, 55);
	send_seq(&m, seq55);
	s = stats();
	assert_int_equal(s.battery_pct, 77);
	assert_int_equal(kind(&s, -EEXIST), 1);
	status_msg(&m, 42);
	send_seq(&m, (uint16_t)(T.ear_seq - 1000));
	s = stats();
	assert_int_equal(s.battery_pct, 77);
	assert_int_equal(kind(&s, -ESTALE), 1);
	assert_int_equal(drops(&s), 2);
	assert_int_equal(s.state, LINK_ST_STREAMING);
}

/* A second answer to one request, an answer to an older one, to none,
 * a SYNC_FOLLOWUP before its SYNC_RESP: none reaches the servo. */
static void link_sync_answers(void **state)
{
	struct link_msg m, first;
	struct link_stats s0, s;
	uint32_t req;
	uint64_t t1;

	(void)state;
	await_req();
	req = T.tc.req.req_id;
	t1 = T.tc.req.t1_host_ns;
	advance(MS);
	s0 = stats();
	/* The SYNC_FOLLOWUP first: out of order, and the exchange waits. */
	followup(&m, req);
	send_msg(&m);
	s = stats();
	assert_int_equal(kind(&s, -ESTALE), 1);
	sync_resp(&first, req, t1);
	send_msg(&first);
	/* The same answer again, numbered afresh: a replay. */
	send_msg(&first);
	s = stats();
	assert_int_equal(kind(&s, -EEXIST), 1);
	followup(&m, req);
	send_msg(&m);
	s = stats();
	assert_int_equal(s.sync_samples, s0.sync_samples + 1);
	/* The exchange is done: its answers are replays now. */
	send_msg(&first);
	followup(&m, req);
	send_msg(&m);
	s = stats();
	assert_int_equal(kind(&s, -EEXIST), 3);
	/* An earlier request's answer, and one for a request never made. */
	await_req();
	sync_resp(&m, req, t1);
	send_msg(&m);
	sync_resp(&m, T.tc.req.req_id + 5, T.tc.req.t1_host_ns);
	send_msg(&m);
	s = stats();
	assert_int_equal(kind(&s, -ESTALE), 2);
	assert_int_equal(s.unexpected, 1);
	assert_int_equal(s.sync_samples, s0.sync_samples + 1);
	assert_int_equal(drops(&s), 6);
	assert_int_equal(s.state, LINK_ST_STREAMING);
}

static void link_report_twice(void **state)
{
	struct link_msg m;
	struct link_stats s;
	uint64_t pts, seq = frame_out(&pts);

	(void)state;
	advance(10 * MS);
	report(&m, seq, pts);
	send_msg(&m);
	send_msg(&m);
	s = stats();
	assert_int_equal(s.reports, 1);
	assert_int_equal(kind(&s, -EEXIST), 1);
	/* A frame never sent. */
	report(&m, seq + 100, pts);
	send_msg(&m);
	s = stats();
	assert_int_equal(s.reports, 1);
	assert_int_equal(s.unexpected, 1);
	assert_int_equal(drops(&s), 2);
}

static void link_conn_update_order(void **state)
{
	struct link_msg m, older;
	struct link_stats s;
	uint64_t ear_now = T.now + EAR_OFFSET;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.hdr.type = LINK_CONN_UPDATE;
	m.conn_update.ci_us = 15000;
	m.conn_update.instant_ear_ns = ear_now - 10 * MS;
	older = m;
	older.conn_update.instant_ear_ns = ear_now - 20 * MS;
	send_msg(&m);
	s = stats();
	assert_int_equal(s.ci_us, 15000);
	send_msg(&m);
	older.conn_update.ci_us = 30000;
	send_msg(&older);
	s = stats();
	assert_int_equal(kind(&s, -EEXIST), 1);
	assert_int_equal(kind(&s, -ESTALE), 1);
	assert_int_equal(s.ci_us, 15000);
	assert_int_equal(drops(&s), 2);
}

static void link_hello_ack_again(void **state)
{
	struct link_msg m;
	struct link_stats s;

	(void)state;
	hello_ack(&m);
	m.hello_ack.ci_us = 30000;
	send_msg(&m);
	s = stats();
	assert_int_equal(kind(&s, -EEXIST), 1);
	assert_int_equal(s.ci_us, 7500);
	assert_int_equal(s.state, LINK_ST_STREAMING);
}

/* The malformed kinds, each counted under its name; the session goes
 * on. */
static void link_malformed_kinds(void **state)
{
	uint8_t b[64] = { LINK_MAGIC, LINK_VERSION, LINK_STATUS, 0,
			  LINK_STATUS_SIZE, 0, 0, 0 };
	struct link_stats s;

	(void)state;
	deliver(b, 5);                         /* short-header */
	deliver(b, 8 + 10);                    /* short-payload */
	deliver(b, 8 + LINK_STATUS_SIZE + 1);  /* trailing */
	b[4] = 0xff;
	b[5] = 0xff;
	deliver(b, 8 + LINK_STATUS_SIZE);      /* too-long */
	b[0] = 0x00;
	deliver(b, 8 + LINK_STATUS_SIZE);      /* bad-magic */
	s = stats();
	assert_int_equal(kind(&s, -EBADMSG), 1);
	assert_int_equal(kind(&s, -EOVERFLOW), 1);
	assert_int_equal(kind(&s, -E2BIG), 1);
	assert_int_equal(kind(&s, -EMSGSIZE), 1);
	assert_int_equal(kind(&s, -EILSEQ), 1);
	assert_int_equal(drops(&s), 5);
	assert_int_equal(s.state, LINK_ST_STREAMING);
	assert_int_equal(s.bad_resets, 0);
}

/* LINK_BAD_RUN - 1 drops, one good message, as many again: no reset;
 * then a run of LINK_BAD_RUN: the session is reset. */
static void link_bad_run(void **state)
{
	uint8_t garbage[16] = { 0 };
	struct link_msg m;
	struct link_stats s;

	(void)state;
	for (int i = 0; i < 15; i++) {
		deliver(garbage, sizeof(garbage));
	}
	status_msg(&m, 50);
	send_msg(&m);
	for (int i = 0; i < 15; i++) {
		deliver(garbage, sizeof(garbage));
	}
	s = stats();
	assert_int_equal(s.bad_resets, 0);
	assert_int_equal(s.state, LINK_ST_STREAMING);
	deliver(garbage, sizeof(garbage));
	s = stats();
	assert_int_equal(s.bad_resets, 1);
	assert_int_equal(s.state, LINK_ST_IDLE);
	assert_false(T.tc.chan.is_open);
	assert_int_equal(kind(&s, -EILSEQ), 31);
}

/* A new session: the numbering starts again, nothing is a replay. */
static void link_reconnect_numbers_afresh(void **state)
{
	uint8_t garbage[16] = { 0 };
	struct link_msg m;
	struct link_stats s;

	(void)state;
	for (int i = 0; i < 16; i++) {
		deliver(garbage, sizeof(garbage));
	}
	assert_int_equal(stats().state, LINK_ST_IDLE);
	for (int i = 0; i < 200 && !T.tc.opening; i++) {
		advance(MS);
	}
	T.tc.chan.is_open = true;
	T.tc.chan.cb.open(T.tc.chan.user_data, T.now);
	T.ear_seq = 0;
	hello_ack(&m);
	send_msg(&m);
	s = stats();
	assert_int_equal(s.state, LINK_ST_SYNCING);
	assert_int_equal(kind(&s, -EEXIST) + kind(&s, -ESTALE), 0);
}

/* An accepting HELLO_ACK must name the HELLO's codec and version 1. */
static void link_hello_ack_choices(void **state)
{
	static const struct {
		uint8_t version, codec;
		bool out_of_range;
	} rows[] = {
		{ LINK_VERSION, LINK_CODEC_LC3, false }, /* another codec */
		{ 2, LINK_CODEC_PCM_S16, true },
		{ 0, LINK_CODEC_PCM_S16, true },
		{ LINK_VERSION, 9, true },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint8_t garbage[16] = { 0 };
		struct link_stats before, s;
		struct link_msg m;

		for (int k = 0; k < 16; k++) {
			deliver(garbage, sizeof(garbage));
		}
		for (int k = 0; k < 200 && !T.tc.opening; k++) {
			advance(MS);
		}
		T.tc.chan.is_open = true;
		T.tc.chan.cb.open(T.tc.chan.user_data, T.now);
		T.ear_seq = 0;
		before = stats();
		assert_int_equal(before.state, LINK_ST_HELLO);
		hello_ack(&m);
		m.hello_ack.version = rows[i].version;
		m.hello_ack.codec = rows[i].codec;
		send_msg(&m);
		s = stats();
		assert_int_equal(s.state, LINK_ST_IDLE);
		assert_int_equal(s.out_of_range,
				 before.out_of_range + rows[i].out_of_range);
		/* Back to a session for the next row. */
		for (int k = 0; k < 400 && !T.tc.opening; k++) {
			advance(MS);
		}
		T.tc.chan.is_open = true;
		T.tc.chan.cb.open(T.tc.chan.user_data, T.now);
		T.ear_seq = 0;
		hello_ack(&m);
		send_msg(&m);
		assert_int_equal(stats().state, LINK_ST_SYNCING);
	}
}

int main(void)
{
#define T_(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T_(link_seq_replay_and_stale),
		T_(link_sync_answers),
		T_(link_report_twice),
		T_(link_conn_update_order),
		T_(link_hello_ack_again),
		T_(link_malformed_kinds),
		T_(link_bad_run),
		T_(link_reconnect_numbers_afresh),
		T_(link_hello_ack_choices),
	};

	return cmocka_run_group_tests_name("link-hostile", tests, NULL, NULL);
}
