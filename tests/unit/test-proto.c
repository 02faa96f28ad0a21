/* SPDX-License-Identifier: MIT */
/*
 * ttws-link codec tests. Byte-exact rows in the style of BlueZ
 * unit/test-hfp.c raw_pdu(): each message is written out by hand, octet by
 * octet, from the layouts in include/ttws/link.h, so a layout change that
 * the man page does not follow breaks a test.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/macro.h"
#include "core/proto.h"

#define data(args...) ((const uint8_t[]){ args })
#define raw_pdu(args...)                                                      \
	.bytes = data(args), .len = sizeof(data(args))

/* Deterministic test randomness (splitmix64). */
static uint64_t rng_state = 0x7477730000000001ULL;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static const uint8_t all_types[] = {
	LINK_HELLO,	     LINK_SYNC_REQ,	 LINK_AUDIO,
	LINK_VOLUME,	     LINK_STOP,		 LINK_HELLO_ACK,
	LINK_SYNC_RESP,	     LINK_SYNC_FOLLOWUP, LINK_RENDER_REPORT,
	LINK_STATUS,	     LINK_CONN_UPDATE,
};

/* Field-wise equality: struct padding is not part of a message. */
static void assert_msg_equal(const struct link_msg *a,
			     const struct link_msg *b)
{
	assert_int_equal(a->hdr.type, b->hdr.type);
	assert_int_equal(a->hdr.flags, b->hdr.flags);
	assert_int_equal(a->hdr.seq, b->hdr.seq);

	switch ((enum link_type)a->hdr.type) {
	case LINK_HELLO:
		assert_int_equal(a->hello.version_max, b->hello.version_max);
		assert_int_equal(a->hello.role, b->hello.role);
		assert_int_equal(a->hello.codec, b->hello.codec);
		assert_int_equal(a->hello.channels, b->hello.channels);
		assert_int_equal(a->hello.sample_rate_hz,
				 b->hello.sample_rate_hz);
		assert_int_equal(a->hello.frame_us, b->hello.frame_us);
		assert_int_equal(a->hello.octets_per_frame,
				 b->hello.octets_per_frame);
		assert_int_equal(a->hello.delay_us, b->hello.delay_us);
		break;
	case LINK_HELLO_ACK:
		assert_int_equal(a->hello_ack.version, b->hello_ack.version);
		assert_int_equal(a->hello_ack.role, b->hello_ack.role);
		assert_int_equal(a->hello_ack.codec, b->hello_ack.codec);
		assert_int_equal(a->hello_ack.status, b->hello_ack.status);
		assert_int_equal(a->hello_ack.clock_res_ns,
				 b->hello_ack.clock_res_ns);
		assert_int_equal(a->hello_ack.caps, b->hello_ack.caps);
		assert_int_equal(a->hello_ack.buffer_frames,
				 b->hello_ack.buffer_frames);
		assert_int_equal(a->hello_ack.ci_us, b->hello_ack.ci_us);
		break;
	case LINK_SYNC_REQ:
		assert_int_equal(a->sync_req.req_id, b->sync_req.req_id);
		assert_int_equal(a->sync_req.t1_host_ns,
				 b->sync_req.t1_host_ns);
		break;
	case LINK_SYNC_RESP:
		assert_int_equal(a->sync_resp.req_id, b->sync_resp.req_id);
		assert_int_equal(a->sync_resp.t1_host_ns,
				 b->sync_resp.t1_host_ns);
		assert_int_equal(a->sync_resp.t2_ear_ns,
				 b->sync_resp.t2_ear_ns);
		assert_int_equal(a->sync_resp.t3_ear_ns,
				 b->sync_resp.t3_ear_ns);
		break;
	case LINK_SYNC_FOLLOWUP:
		assert_int_equal(a->sync_followup.req_id,
				 b->sync_followup.req_id);
		assert_int_equal(a->sync_followup.t3_ear_ns,
				 b->sync_followup.t3_ear_ns);
		break;
	case LINK_AUDIO:
		assert_int_equal(a->audio.frame_seq, b->audio.frame_seq);
		assert_int_equal(a->audio.pts_ear_ns, b->audio.pts_ear_ns);
		assert_int_equal(a->audio.data_len, b->audio.data_len);
		if (a->audio.data_len > 0) {
			assert_memory_equal(a->audio.data, b->audio.data,
					    a->audio.data_len);
		}
		break;
	case LINK_RENDER_REPORT:
		assert_int_equal(a->render_report.frame_seq,
				 b->render_report.frame_seq);
		assert_int_equal(a->render_report.rx_ear_ns,
				 b->render_report.rx_ear_ns);
		assert_int_equal(a->render_report.render_ear_ns,
				 b->render_report.render_ear_ns);
		assert_int_equal(a->render_report.buffer_frames,
				 b->render_report.buffer_frames);
		assert_int_equal(a->render_report.late_frames,
				 b->render_report.late_frames);
		assert_int_equal(a->render_report.underruns,
				 b->render_report.underruns);
		break;
	case LINK_VOLUME:
		assert_int_equal(a->volume.gain_cdb, b->volume.gain_cdb);
		assert_int_equal(a->volume.mute, b->volume.mute);
		break;
	case LINK_STOP:
		assert_int_equal(a->stop.reason, b->stop.reason);
		break;
	case LINK_STATUS:
		assert_int_equal(a->status.battery_pct, b->status.battery_pct);
		assert_int_equal(a->status.rssi_dbm, b->status.rssi_dbm);
		assert_int_equal(a->status.buffer_frames,
				 b->status.buffer_frames);
		assert_int_equal(a->status.link_errors, b->status.link_errors);
		assert_int_equal(a->status.codec_errors,
				 b->status.codec_errors);
		assert_int_equal(a->status.underruns, b->status.underruns);
		break;
	case LINK_CONN_UPDATE:
		assert_int_equal(a->conn_update.ci_us, b->conn_update.ci_us);
		assert_int_equal(a->conn_update.instant_ear_ns,
				 b->conn_update.instant_ear_ns);
		break;
	default:
		fail_msg("unknown type 0x%02x", a->hdr.type);
	}
}

/* ---- byte-exact rows ---------------------------------------------- */

struct raw_row {
	const char *name;
	struct link_msg msg;
	const uint8_t *bytes;
	size_t len;
};

static const uint8_t audio_data[] = { 0xde, 0xad, 0xbe, 0xef };

static const struct raw_row raw_rows[] = {
	{
		.name = "HELLO",
		.msg = {
			.hdr = { .type = LINK_HELLO, .seq = 1 },
			.hello = {
				.version_max = 1,
				.role = LINK_ROLE_LEFT,
				.codec = LINK_CODEC_LC3,
				.channels = 1,
				.sample_rate_hz = 48000,
				.frame_us = 7500,
				.octets_per_frame = 100,
				.delay_us = 40000,
			},
		},
		raw_pdu(0xa7, 0x01, 0x01, 0x00, 0x14, 0x00, 0x01, 0x00,
			0x01, 0x01, 0x02, 0x01,
			0x80, 0xbb, 0x00, 0x00,
			0x4c, 0x1d, 0x00, 0x00,
			0x64, 0x00, 0x00, 0x00,
			0x40, 0x9c, 0x00, 0x00),
	},
	{
		.name = "HELLO_ACK",
		.msg = {
			.hdr = { .type = LINK_HELLO_ACK, .seq = 0 },
			.hello_ack = {
				.version = 1,
				.role = LINK_ROLE_RIGHT,
				.codec = LINK_CODEC_PCM_S16,
				.status = LINK_HELLO_OK,
				.clock_res_ns = 30518,
				.caps = LINK_CAP_TWO_STEP |
					LINK_CAP_RENDER_REPORT |
					LINK_CAP_CODEC_PCM,
				.buffer_frames = 32,
				.ci_us = 7500,
			},
		},
		raw_pdu(0xa7, 0x01, 0x41, 0x00, 0x14, 0x00, 0x00, 0x00,
			0x01, 0x02, 0x01, 0x00,
			0x36, 0x77, 0x00, 0x00,
			0x03, 0x01, 0x00, 0x00,
			0x20, 0x00, 0x00, 0x00,
			0x4c, 0x1d, 0x00, 0x00),
	},
	{
		.name = "SYNC_REQ",
		.msg = {
			.hdr = { .type = LINK_SYNC_REQ, .seq = 0x0203 },
			.sync_req = {
				.req_id = 0xdeadbeef,
				.t1_host_ns = 0x0123456789abcdefULL,
			},
		},
		raw_pdu(0xa7, 0x01, 0x02, 0x00, 0x10, 0x00, 0x03, 0x02,
			0xef, 0xbe, 0xad, 0xde, 0x00, 0x00, 0x00, 0x00,
			0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01),
	},
	{
		.name = "SYNC_RESP",
		.msg = {
			.hdr = { .type = LINK_SYNC_RESP,
				 .flags = LINK_F_TWO_STEP,
				 .seq = 0x1234 },
			.sync_resp = {
				.req_id = 0xdeadbeef,
				.t1_host_ns = 0x0123456789abcdefULL,
				.t2_ear_ns = 0x0000001122334455ULL,
				.t3_ear_ns = 0x00000011223350aaULL,
			},
		},
		raw_pdu(0xa7, 0x01, 0x42, 0x01, 0x20, 0x00, 0x34, 0x12,
			0xef, 0xbe, 0xad, 0xde, 0x00, 0x00, 0x00, 0x00,
			0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01,
			0x55, 0x44, 0x33, 0x22, 0x11, 0x00, 0x00, 0x00,
			0xaa, 0x50, 0x33, 0x22, 0x11, 0x00, 0x00, 0x00),
	},
	{
		.name = "SYNC_FOLLOWUP",
		.msg = {
			.hdr = { .type = LINK_SYNC_FOLLOWUP, .seq = 0x1235 },
			.sync_followup = {
				.req_id = 0xdeadbeef,
				.t3_ear_ns = 0x00000011223351bbULL,
			},
		},
		raw_pdu(0xa7, 0x01, 0x43, 0x00, 0x10, 0x00, 0x35, 0x12,
			0xef, 0xbe, 0xad, 0xde, 0x00, 0x00, 0x00, 0x00,
			0xbb, 0x51, 0x33, 0x22, 0x11, 0x00, 0x00, 0x00),
	},
	{
		.name = "AUDIO",
		.msg = {
			.hdr = { .type = LINK_AUDIO,
				 .flags = LINK_F_DISCONT,
				 .seq = 0xffff },
			.audio = {
				.frame_seq = 0x100000002ULL,
				.pts_ear_ns = 5000000000ULL,
				.data_len = sizeof(audio_data),
				.data = audio_data,
			},
		},
		raw_pdu(0xa7, 0x01, 0x03, 0x01, 0x18, 0x00, 0xff, 0xff,
			0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
			0x00, 0xf2, 0x05, 0x2a, 0x01, 0x00, 0x00, 0x00,
			0x04, 0x00, 0x00, 0x00,
			0xde, 0xad, 0xbe, 0xef),
	},
	{
		.name = "AUDIO conceal (no data)",
		.msg = {
			.hdr = { .type = LINK_AUDIO, .seq = 9 },
			.audio = {
				.frame_seq = 3,
				.pts_ear_ns = 1,
			},
		},
		raw_pdu(0xa7, 0x01, 0x03, 0x00, 0x14, 0x00, 0x09, 0x00,
			0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
			0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
			0x00, 0x00, 0x00, 0x00),
	},
	{
		.name = "RENDER_REPORT",
		.msg = {
			.hdr = { .type = LINK_RENDER_REPORT, .seq = 2 },
			.render_report = {
				.frame_seq = 0x10,
				.rx_ear_ns = 0x1122,
				.render_ear_ns = 0x334455,
				.buffer_frames = 5,
				.late_frames = 0x01020304,
				.underruns = 6,
			},
		},
		raw_pdu(0xa7, 0x01, 0x44, 0x00, 0x24, 0x00, 0x02, 0x00,
			0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
			0x22, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
			0x55, 0x44, 0x33, 0x00, 0x00, 0x00, 0x00, 0x00,
			0x05, 0x00, 0x00, 0x00,
			0x04, 0x03, 0x02, 0x01,
			0x06, 0x00, 0x00, 0x00),
	},
	{
		.name = "VOLUME",
		.msg = {
			.hdr = { .type = LINK_VOLUME, .seq = 3 },
			.volume = { .gain_cdb = -600, .mute = 1 },
		},
		raw_pdu(0xa7, 0x01, 0x04, 0x00, 0x04, 0x00, 0x03, 0x00,
			0xa8, 0xfd, 0x01, 0x00),
	},
	{
		.name = "STOP",
		.msg = {
			.hdr = { .type = LINK_STOP, .flags = LINK_F_DRAIN,
				 .seq = 4 },
			.stop = { .reason = LINK_STOP_RECONFIG },
		},
		raw_pdu(0xa7, 0x01, 0x05, 0x01, 0x04, 0x00, 0x04, 0x00,
			0x02, 0x00, 0x00, 0x00),
	},
	{
		.name = "STATUS",
		.msg = {
			.hdr = { .type = LINK_STATUS, .seq = 5 },
			.status = {
				.battery_pct = 87,
				.rssi_dbm = -60,
				.buffer_frames = 4,
				.link_errors = 1,
				.codec_errors = 2,
				.underruns = 0x00010000,
			},
		},
		raw_pdu(0xa7, 0x01, 0x45, 0x00, 0x10, 0x00, 0x05, 0x00,
			0x57, 0xc4, 0x04, 0x00,
			0x01, 0x00, 0x00, 0x00,
			0x02, 0x00, 0x00, 0x00,
			0x00, 0x00, 0x01, 0x00),
	},
	{
		.name = "CONN_UPDATE",
		.msg = {
			.hdr = { .type = LINK_CONN_UPDATE, .seq = 6 },
			.conn_update = {
				.ci_us = 30000,
				.instant_ear_ns = 0x00000011223360ccULL,
			},
		},
		raw_pdu(0xa7, 0x01, 0x46, 0x00, 0x10, 0x00, 0x06, 0x00,
			0x30, 0x75, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
			0xcc, 0x60, 0x33, 0x22, 0x11, 0x00, 0x00, 0x00),
	},
};

static void test_raw_encode(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(raw_rows); i++) {
		const struct raw_row *r = &raw_rows[i];
		uint8_t buf[128];
		size_t n = 0;

		memset(buf, 0x5a, sizeof(buf));
		assert_int_equal(proto_encode(&r->msg, buf, sizeof(buf), &n),
				 0);
		assert_int_equal(n, r->len);
		assert_int_equal(proto_encoded_size(&r->msg), r->len);
		assert_memory_equal(buf, r->bytes, r->len);
		/* Nothing written past the message. */
		assert_int_equal(buf[n], 0x5a);
	}
}

static void test_raw_decode(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(raw_rows); i++) {
		const struct raw_row *r = &raw_rows[i];
		struct link_msg m;

		memset(&m, 0, sizeof(m));
		assert_int_equal(proto_decode(r->bytes, r->len, &m), 0);
		assert_int_equal(m.hdr.magic, LINK_MAGIC);
		assert_int_equal(m.hdr.version, LINK_VERSION);
		assert_int_equal(m.hdr.length, r->len - LINK_HEADER_SIZE);
		assert_msg_equal(&m, &r->msg);
	}
}

/* Every type has a byte-exact row, so a new type needs one. */
static void test_raw_covers_every_type(void **state)
{
	for (size_t t = 0; t < ARRAY_SIZE(all_types); t++) {
		bool found = false;

		for (size_t i = 0; i < ARRAY_SIZE(raw_rows); i++) {
			if (raw_rows[i].msg.hdr.type == all_types[t]) {
				found = true;
			}
		}
		assert_true(found);
	}
	for (unsigned t = 0; t < 256; t++) {
		bool listed = memchr(all_types, (int)t,
				     sizeof(all_types)) != NULL;

		assert_int_equal(proto_type_known((uint8_t)t), listed);
	}
}

/* ---- round trips ---------------------------------------------------- */

static void random_msg(struct link_msg *m, uint8_t type, uint8_t *data,
		       size_t data_cap)
{
	memset(m, 0, sizeof(*m));
	m->hdr.type = type;
	m->hdr.flags = (uint8_t)rng();
	m->hdr.seq = (uint16_t)rng();

	switch ((enum link_type)type) {
	case LINK_HELLO:
		m->hello.version_max = (uint8_t)rng();
		m->hello.role = (uint8_t)rng();
		m->hello.codec = (uint8_t)rng();
		m->hello.channels = (uint8_t)rng();
		m->hello.sample_rate_hz = (uint32_t)rng();
		m->hello.frame_us = (uint32_t)rng();
		m->hello.octets_per_frame = (uint16_t)rng();
		m->hello.delay_us = (uint32_t)rng();
		break;
	case LINK_HELLO_ACK:
		m->hello_ack.version = (uint8_t)rng();
		m->hello_ack.role = (uint8_t)rng();
		m->hello_ack.codec = (uint8_t)rng();
		m->hello_ack.status = (uint8_t)rng();
		m->hello_ack.clock_res_ns = (uint32_t)rng();
		m->hello_ack.caps = (uint32_t)rng();
		m->hello_ack.buffer_frames = (uint16_t)rng();
		m->hello_ack.ci_us = (uint32_t)rng();
		break;
	case LINK_SYNC_REQ:
		m->sync_req.req_id = (uint32_t)rng();
		m->sync_req.t1_host_ns = rng();
		break;
	case LINK_SYNC_RESP:
		m->sync_resp.req_id = (uint32_t)rng();
		m->sync_resp.t1_host_ns = rng();
		m->sync_resp.t2_ear_ns = rng();
		m->sync_resp.t3_ear_ns = rng();
		break;
	case LINK_SYNC_FOLLOWUP:
		m->sync_followup.req_id = (uint32_t)rng();
		m->sync_followup.t3_ear_ns = rng();
		break;
	case LINK_AUDIO:
		m->audio.frame_seq = rng();
		m->audio.pts_ear_ns = rng();
		m->audio.data_len = (uint16_t)(rng() % (data_cap + 1));
		for (size_t i = 0; i < m->audio.data_len; i++) {
			data[i] = (uint8_t)rng();
		}
		m->audio.data = m->audio.data_len ? data : NULL;
		break;
	case LINK_RENDER_REPORT:
		m->render_report.frame_seq = rng();
		m->render_report.rx_ear_ns = rng();
		m->render_report.render_ear_ns = rng();
		m->render_report.buffer_frames = (uint16_t)rng();
		m->render_report.late_frames = (uint32_t)rng();
		m->render_report.underruns = (uint32_t)rng();
		break;
	case LINK_VOLUME:
		m->volume.gain_cdb = (int16_t)rng();
		m->volume.mute = (uint8_t)rng();
		break;
	case LINK_STOP:
		m->stop.reason = (uint8_t)rng();
		break;
	case LINK_STATUS:
		m->status.battery_pct = (uint8_t)rng();
		m->status.rssi_dbm = (int8_t)rng();
		m->status.buffer_frames = (uint16_t)rng();
		m->status.link_errors = (uint32_t)rng();
		m->status.codec_errors = (uint32_t)rng();
		m->status.underruns = (uint32_t)rng();
		break;
	case LINK_CONN_UPDATE:
		m->conn_update.ci_us = (uint32_t)rng();
		m->conn_update.instant_ear_ns = rng();
		break;
	}
}

/*
 * encode -> decode -> equal, and decode -> encode gives the same octets,
 * for random values of every field of every type.
 */
static void test_round_trip(void **state)
{
	static uint8_t data[1024];
	static uint8_t buf[LINK_HEADER_SIZE + LINK_AUDIO_FIXED_SIZE + 1024];
	static uint8_t buf2[sizeof(buf)];

	for (int iter = 0; iter < 20000; iter++) {
		uint8_t type = all_types[iter % ARRAY_SIZE(all_types)];
		struct link_msg m, d;
		size_t n, n2;

		random_msg(&m, type, data, sizeof(data));
		assert_int_equal(proto_encode(&m, buf, sizeof(buf), &n), 0);
		assert_int_equal(n, proto_encoded_size(&m));
		assert_int_equal(proto_decode(buf, n, &d), 0);
		assert_msg_equal(&m, &d);
		assert_int_equal(d.hdr.length, n - LINK_HEADER_SIZE);

		assert_int_equal(proto_encode(&d, buf2, sizeof(buf2), &n2), 0);
		assert_int_equal(n2, n);
		assert_memory_equal(buf, buf2, n);
	}
}

/* The per-type encoders are proto_encode() with the type set. */
static void test_typed_encoders(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(raw_rows); i++) {
		const struct raw_row *r = &raw_rows[i];
		const struct link_msg *m = &r->msg;
		uint16_t seq = m->hdr.seq;
		uint8_t fl = m->hdr.flags;
		uint8_t buf[128];
		size_t n = 0;
		int k = -1;

		switch ((enum link_type)m->hdr.type) {
		case LINK_HELLO:
			k = proto_encode_hello(&m->hello, seq, fl, buf,
					       sizeof(buf), &n);
			break;
		case LINK_HELLO_ACK:
			k = proto_encode_hello_ack(&m->hello_ack, seq, fl, buf,
						   sizeof(buf), &n);
			break;
		case LINK_SYNC_REQ:
			k = proto_encode_sync_req(&m->sync_req, seq, fl, buf,
						  sizeof(buf), &n);
			break;
		case LINK_SYNC_RESP:
			k = proto_encode_sync_resp(&m->sync_resp, seq, fl, buf,
						   sizeof(buf), &n);
			break;
		case LINK_SYNC_FOLLOWUP:
			k = proto_encode_sync_followup(&m->sync_followup, seq,
						       fl, buf, sizeof(buf),
						       &n);
			break;
		case LINK_AUDIO:
			k = proto_encode_audio(&m->audio, seq, fl, buf,
					       sizeof(buf), &n);
			break;
		case LINK_RENDER_REPORT:
			k = proto_encode_render_report(&m->render_report, seq,
						       fl, buf, sizeof(buf),
						       &n);
			break;
		case LINK_VOLUME:
			k = proto_encode_volume(&m->volume, seq, fl, buf,
						sizeof(buf), &n);
			break;
		case LINK_STOP:
			k = proto_encode_stop(&m->stop, seq, fl, buf,
					      sizeof(buf), &n);
			break;
		case LINK_STATUS:
			k = proto_encode_status(&m->status, seq, fl, buf,
						sizeof(buf), &n);
			break;
		case LINK_CONN_UPDATE:
			k = proto_encode_conn_update(&m->conn_update, seq, fl,
						     buf, sizeof(buf), &n);
			break;
		}
		assert_int_equal(k, 0);
		assert_int_equal(n, r->len);
		assert_memory_equal(buf, r->bytes, r->len);
	}
}

/* ---- malformed messages ------------------------------------------- */

struct bad_row {
	const char *name;
	const uint8_t *bytes;
	size_t len;
	int err;
};

static const struct bad_row bad_rows[] = {
	{ "zero-length", NULL, 0, -ENODATA },
	{ "zero-length, non-NULL buffer", data(0xa7), 0, -ENODATA },
	{ "one octet", raw_pdu(0xa7), -EBADMSG },
	{ "truncated header (7 octets)",
	  raw_pdu(0xa7, 0x01, 0x02, 0x00, 0x10, 0x00, 0x00), -EBADMSG },
	{ "bad magic",
	  raw_pdu(0x00, 0x01, 0x02, 0x00, 0x10, 0x00, 0x00, 0x00,
		  0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01),
	  -EILSEQ },
	{ "bad magic beats bad version",
	  raw_pdu(0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00), -EILSEQ },
	{ "unknown version 2",
	  raw_pdu(0xa7, 0x02, 0x02, 0x00, 0x10, 0x00, 0x00, 0x00,
		  0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01),
	  -EPROTONOSUPPORT },
	{ "unknown version 0",
	  raw_pdu(0xa7, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00),
	  -EPROTONOSUPPORT },
	{ "length field over LINK_PAYLOAD_MAX (0xffff)",
	  raw_pdu(0xa7, 0x01, 0x03, 0x00, 0xff, 0xff, 0x00, 0x00),
	  -EMSGSIZE },
	{ "length field LINK_PAYLOAD_MAX + 1",
	  raw_pdu(0xa7, 0x01, 0x03, 0x00, 0xf8, 0xff, 0x00, 0x00),
	  -EMSGSIZE },
	{ "truncated payload (SYNC_REQ, 15 of 16)",
	  raw_pdu(0xa7, 0x01, 0x02, 0x00, 0x10, 0x00, 0x00, 0x00,
		  0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02),
	  -EOVERFLOW },
	{ "header only, length 16",
	  raw_pdu(0xa7, 0x01, 0x02, 0x00, 0x10, 0x00, 0x00, 0x00),
	  -EOVERFLOW },
	{ "trailing octet (SYNC_REQ + 1)",
	  raw_pdu(0xa7, 0x01, 0x02, 0x00, 0x10, 0x00, 0x00, 0x00,
		  0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x00),
	  -E2BIG },
	{ "two messages in one datagram",
	  raw_pdu(0xa7, 0x01, 0x04, 0x00, 0x04, 0x00, 0x03, 0x00,
		  0xa8, 0xfd, 0x01, 0x00,
		  0xa7, 0x01, 0x04, 0x00, 0x04, 0x00, 0x04, 0x00,
		  0xa8, 0xfd, 0x01, 0x00),
	  -E2BIG },
	{ "unknown type 0x00",
	  raw_pdu(0xa7, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00), -ENOMSG },
	{ "unknown type 0x06 with payload",
	  raw_pdu(0xa7, 0x01, 0x06, 0x00, 0x03, 0x00, 0x00, 0x00,
		  0x01, 0x02, 0x03),
	  -ENOMSG },
	{ "unknown earbud type 0x47",
	  raw_pdu(0xa7, 0x01, 0x47, 0x00, 0x00, 0x00, 0x00, 0x00), -ENOMSG },
	{ "unknown type 0xff",
	  raw_pdu(0xa7, 0x01, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00), -ENOMSG },
	{ "SYNC_REQ payload 15 octets",
	  raw_pdu(0xa7, 0x01, 0x02, 0x00, 0x0f, 0x00, 0x00, 0x00,
		  0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02),
	  -EPROTO },
	{ "HELLO payload 24 octets (no optional tail)",
	  raw_pdu(0xa7, 0x01, 0x01, 0x00, 0x18, 0x00, 0x01, 0x00,
		  0x01, 0x01, 0x02, 0x01, 0x80, 0xbb, 0x00, 0x00,
		  0x4c, 0x1d, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00,
		  0x40, 0x9c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00),
	  -EPROTO },
	{ "STOP with no payload",
	  raw_pdu(0xa7, 0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00), -EPROTO },
	{ "CONN_UPDATE payload 12 octets (no instant high word)",
	  raw_pdu(0xa7, 0x01, 0x46, 0x00, 0x0c, 0x00, 0x06, 0x00,
		  0x30, 0x75, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0xcc, 0x60, 0x33, 0x22),
	  -EPROTO },
	{ "CONN_UPDATE payload 20 octets",
	  raw_pdu(0xa7, 0x01, 0x46, 0x00, 0x14, 0x00, 0x06, 0x00,
		  0x30, 0x75, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0xcc, 0x60, 0x33, 0x22, 0x11, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00),
	  -EPROTO },
	{ "CONN_UPDATE with no payload",
	  raw_pdu(0xa7, 0x01, 0x46, 0x00, 0x00, 0x00, 0x06, 0x00), -EPROTO },
	{ "AUDIO shorter than its fixed part",
	  raw_pdu(0xa7, 0x01, 0x03, 0x00, 0x13, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00),
	  -EPROTO },
	{ "AUDIO data_len 5, 4 octets follow",
	  raw_pdu(0xa7, 0x01, 0x03, 0x00, 0x18, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x05, 0x00, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef),
	  -ERANGE },
	{ "AUDIO data_len 3, 4 octets follow",
	  raw_pdu(0xa7, 0x01, 0x03, 0x00, 0x18, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x03, 0x00, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef),
	  -ERANGE },
	{ "AUDIO data_len 0xffff, nothing follows",
	  raw_pdu(0xa7, 0x01, 0x03, 0x00, 0x14, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0xff, 0xff, 0x00, 0x00),
	  -ERANGE },
};

/*
 * Each row fails with its own error, *ret stays untouched, and the
 * decoder reads only [bytes, bytes + len): each row is copied into a heap
 * block of exactly len octets so ASan catches any read past it.
 */
static void test_malformed(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_rows); i++) {
		const struct bad_row *r = &bad_rows[i];
		struct link_msg m, sentinel;
		uint8_t *copy = NULL;
		int k;

		if (r->len > 0) {
			copy = malloc(r->len);
			assert_non_null(copy);
			memcpy(copy, r->bytes, r->len);
		}
		memset(&sentinel, 0xa5, sizeof(sentinel));
		memset(&m, 0xa5, sizeof(m));
		k = proto_decode(copy, r->len, &m);
		if (k != r->err) {
			fail_msg("%s: got %d (%s), want %d (%s)", r->name, k,
				 proto_error_name(k), r->err,
				 proto_error_name(r->err));
		}
		assert_memory_equal(&m, &sentinel, sizeof(m));
		free(copy);
	}
}

/* Every decode error of the table is hit by some row; the two session
 * kinds follow them, and no decode ever returns those. */
static void test_malformed_covers_every_error(void **state)
{
	static const int errs[] = {
		-ENODATA,  -EBADMSG, -EILSEQ, -EPROTONOSUPPORT, -EMSGSIZE,
		-EOVERFLOW, -E2BIG,   -ENOMSG, -EPROTO,	  -ERANGE,
	};

	for (size_t e = 0; e < ARRAY_SIZE(errs); e++) {
		bool found = false;

		for (size_t i = 0; i < ARRAY_SIZE(bad_rows); i++) {
			if (bad_rows[i].err == errs[e]) {
				found = true;
			}
			assert_int_not_equal(bad_rows[i].err, -ESTALE);
			assert_int_not_equal(bad_rows[i].err, -EEXIST);
		}
		assert_true(found);
		assert_int_equal(proto_error_index(errs[e]), (int)e);
	}
	assert_int_equal(ARRAY_SIZE(errs) + 2, PROTO_N_ERRORS);
	assert_int_equal(proto_error_index(-ESTALE), (int)ARRAY_SIZE(errs));
	assert_int_equal(proto_error_index(-EEXIST),
			 (int)ARRAY_SIZE(errs) + 1);
}

/* A datagram over the L2CAP SDU maximum, with a self-consistent header. */
static void test_datagram_too_long(void **state)
{
	size_t len = LINK_MSG_MAX + 1;
	uint8_t *b = calloc(1, len);
	struct link_msg m;

	assert_non_null(b);
	b[0] = LINK_MAGIC;
	b[1] = LINK_VERSION;
	b[2] = LINK_AUDIO;
	b[4] = 0xff;
	b[5] = 0xff;
	assert_int_equal(proto_decode(b, len, &m), -EMSGSIZE);
	free(b);
}

/* The largest message: AUDIO with LINK_AUDIO_DATA_MAX octets. */
static void test_max_length(void **state)
{
	uint8_t *data = malloc(LINK_AUDIO_DATA_MAX + 1);
	uint8_t *buf = malloc(LINK_MSG_MAX + 1);
	struct link_msg m = { .hdr = { .type = LINK_AUDIO } }, d;
	size_t n = 0;

	assert_non_null(data);
	assert_non_null(buf);
	for (size_t i = 0; i <= LINK_AUDIO_DATA_MAX; i++) {
		data[i] = (uint8_t)(i * 7);
	}
	m.audio.data = data;
	m.audio.data_len = LINK_AUDIO_DATA_MAX;
	assert_int_equal(proto_encode(&m, buf, LINK_MSG_MAX, &n), 0);
	assert_int_equal(n, LINK_MSG_MAX);
	assert_int_equal(buf[4] | buf[5] << 8, LINK_PAYLOAD_MAX);
	assert_int_equal(proto_decode(buf, n, &d), 0);
	assert_int_equal(d.audio.data_len, LINK_AUDIO_DATA_MAX);
	assert_memory_equal(d.audio.data, data, LINK_AUDIO_DATA_MAX);

	/* One more octet does not fit a message: refused, buf untouched. */
	memset(buf, 0x5a, LINK_MSG_MAX + 1);
	n = 12345;
	m.audio.data_len = LINK_AUDIO_DATA_MAX + 1;
	assert_int_equal(proto_encode(&m, buf, LINK_MSG_MAX + 1, &n),
			 -EMSGSIZE);
	assert_int_equal(n, 12345);
	for (size_t i = 0; i <= LINK_MSG_MAX; i++) {
		assert_int_equal(buf[i], 0x5a);
	}
	free(data);
	free(buf);
}

/* Every prefix of every valid message fails cleanly, never reads past. */
static void test_every_prefix(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(raw_rows); i++) {
		const struct raw_row *r = &raw_rows[i];

		for (size_t len = 0; len < r->len; len++) {
			uint8_t *copy = malloc(len ? len : 1);
			struct link_msg m;
			int k;

			assert_non_null(copy);
			memcpy(copy, r->bytes, len);
			k = proto_decode(copy, len, &m);
			if (len == 0) {
				assert_int_equal(k, -ENODATA);
			} else if (len < LINK_HEADER_SIZE) {
				assert_int_equal(k, -EBADMSG);
			} else {
				assert_int_equal(k, -EOVERFLOW);
			}
			free(copy);
		}
	}
}

/* ---- encode edge cases ---------------------------------------------- */

/*
 * Too small a buffer: -ENOBUFS for every capacity below the size, with
 * neither the buffer nor *ret_len touched; the exact size succeeds.
 */
static void test_encode_short_buffer(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(raw_rows); i++) {
		const struct raw_row *r = &raw_rows[i];
		uint8_t buf[128];

		for (size_t cap = 0; cap < r->len; cap++) {
			size_t n = 999;

			memset(buf, 0x5a, sizeof(buf));
			assert_int_equal(proto_encode(&r->msg, buf, cap, &n),
					 -ENOBUFS);
			assert_int_equal(n, 999);
			for (size_t j = 0; j < sizeof(buf); j++) {
				assert_int_equal(buf[j], 0x5a);
			}
		}
		{
			size_t n = 0;

			assert_int_equal(proto_encode(&r->msg, buf, r->len,
						      &n),
					 0);
			assert_int_equal(n, r->len);
		}
	}
}

static void test_encode_invalid(void **state)
{
	uint8_t buf[64];
	struct link_msg m = { .hdr = { .type = 0x06 } };
	size_t n = 7;

	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(proto_encode(&m, buf, sizeof(buf), &n), -EINVAL);
	assert_int_equal(proto_encoded_size(&m), 0);

	m.hdr.type = LINK_AUDIO;
	m.audio.data = NULL;
	m.audio.data_len = 1;
	assert_int_equal(proto_encode(&m, buf, sizeof(buf), &n), -EINVAL);
	assert_int_equal(n, 7);
	for (size_t j = 0; j < sizeof(buf); j++) {
		assert_int_equal(buf[j], 0x5a);
	}
}

/* Reserved octets and undefined flag bits: ignored, flags kept. */
static void test_reserved_ignored(void **state)
{
	const uint8_t b[] = {
		0xa7, 0x01, 0x02, 0xfe, 0x10, 0x00, 0x00, 0x00,
		0x07, 0x00, 0x00, 0x00, 0xaa, 0xbb, 0xcc, 0xdd,
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
	};
	uint8_t out[sizeof(b)];
	struct link_msg m;
	size_t n;

	assert_int_equal(proto_decode(b, sizeof(b), &m), 0);
	assert_int_equal(m.hdr.flags, 0xfe);
	assert_int_equal(m.sync_req.req_id, 7);
	assert_int_equal(m.sync_req.t1_host_ns, 0x0102030405060708ULL);

	/* Re-encoding writes the reserved octets as 0. */
	assert_int_equal(proto_encode(&m, out, sizeof(out), &n), 0);
	assert_int_equal(n, sizeof(b));
	assert_memory_equal(out, b, 12);
	assert_int_equal(out[12] | out[13] | out[14] | out[15], 0);
	assert_memory_equal(out + 16, b + 16, 8);
}

/*
 * CONN_UPDATE: the interval at offset 0, the instant at 8, octets 4..7
 * reserved (ignored on decode, written as 0), flags kept.
 */
static void test_conn_update_reserved_ignored(void **state)
{
	const uint8_t b[] = {
		0xa7, 0x01, 0x46, 0x80, 0x10, 0x00, 0x07, 0x00,
		0x88, 0x13, 0x00, 0x00, 0xaa, 0xbb, 0xcc, 0xdd,
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
	};
	uint8_t out[sizeof(b)];
	struct link_msg m;
	size_t n;

	assert_int_equal(proto_decode(b, sizeof(b), &m), 0);
	assert_int_equal(m.hdr.type, LINK_CONN_UPDATE);
	assert_int_equal(m.hdr.flags, 0x80);
	assert_int_equal(m.hdr.seq, 7);
	assert_int_equal(m.conn_update.ci_us, 5000);
	assert_int_equal(m.conn_update.instant_ear_ns, 0x0102030405060708ULL);

	assert_int_equal(proto_encode(&m, out, sizeof(out), &n), 0);
	assert_int_equal(n, LINK_HEADER_SIZE + LINK_CONN_UPDATE_SIZE);
	assert_memory_equal(out, b, 12);
	assert_int_equal(out[12] | out[13] | out[14] | out[15], 0);
	assert_memory_equal(out + 16, b + 16, 8);
}

/* AUDIO decode does not copy: data points into the datagram. */
static void test_audio_zero_copy(void **state)
{
	const struct raw_row *r = NULL;
	struct link_msg m;

	for (size_t i = 0; i < ARRAY_SIZE(raw_rows); i++) {
		if (raw_rows[i].msg.hdr.type == LINK_AUDIO &&
		    raw_rows[i].msg.audio.data_len > 0) {
			r = &raw_rows[i];
			break;
		}
	}
	assert_non_null(r);
	assert_int_equal(proto_decode(r->bytes, r->len, &m), 0);
	assert_ptr_equal(m.audio.data,
			 r->bytes + LINK_HEADER_SIZE + LINK_AUDIO_FIXED_SIZE);

	/* No data: NULL, not a pointer one past the end. */
	{
		const uint8_t e[] = {
			0xa7, 0x01, 0x03, 0x00, 0x14, 0x00, 0x00, 0x00,
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
			0x00, 0x00, 0x00, 0x00,
		};

		assert_int_equal(proto_decode(e, sizeof(e), &m), 0);
		assert_int_equal(m.audio.data_len, 0);
		assert_null(m.audio.data);
	}
}

/*
 * A codec frame encoded straight into the tx buffer, then the AUDIO
 * message built around it; and data overlapping the header region.
 */
static void test_audio_in_place(void **state)
{
	uint8_t buf[LINK_HEADER_SIZE + LINK_AUDIO_FIXED_SIZE + 16];
	uint8_t *slot = buf + LINK_HEADER_SIZE + LINK_AUDIO_FIXED_SIZE;
	struct link_msg m = { .hdr = { .type = LINK_AUDIO, .seq = 1 } };
	struct link_msg d;
	size_t n;

	memset(buf, 0xee, sizeof(buf));
	for (int i = 0; i < 16; i++) {
		slot[i] = (uint8_t)i;
	}
	m.audio.frame_seq = 42;
	m.audio.data = slot;
	m.audio.data_len = 16;
	assert_int_equal(proto_encode(&m, buf, sizeof(buf), &n), 0);
	assert_int_equal(proto_decode(buf, n, &d), 0);
	assert_int_equal(d.audio.frame_seq, 42);
	for (int i = 0; i < 16; i++) {
		assert_int_equal(d.audio.data[i], i);
	}

	/* Data at the start of buf, overlapping where the header goes. */
	for (int i = 0; i < 16; i++) {
		buf[i] = (uint8_t)(100 + i);
	}
	m.audio.data = buf;
	assert_int_equal(proto_encode(&m, buf, sizeof(buf), &n), 0);
	assert_int_equal(proto_decode(buf, n, &d), 0);
	for (int i = 0; i < 16; i++) {
		assert_int_equal(d.audio.data[i], 100 + i);
	}
}

static void test_names(void **state)
{
	const char *seen[PROTO_N_ERRORS];

	for (int i = 0; i < PROTO_N_ERRORS; i++) {
		seen[i] = NULL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_rows); i++) {
		int idx = proto_error_index(bad_rows[i].err);
		const char *name = proto_error_name(bad_rows[i].err);

		assert_true(idx >= 0 && idx < PROTO_N_ERRORS);
		assert_non_null(name);
		seen[idx] = name;
	}
	seen[proto_error_index(-ESTALE)] = proto_error_name(-ESTALE);
	seen[proto_error_index(-EEXIST)] = proto_error_name(-EEXIST);
	assert_string_equal(proto_error_name(-ESTALE), "out-of-order");
	assert_string_equal(proto_error_name(-EEXIST), "replayed");
	/* proto_error_at() walks the table in index order. */
	for (int i = 0; i < PROTO_N_ERRORS; i++) {
		assert_int_equal(proto_error_index(proto_error_at(i)), i);
	}
	assert_int_equal(proto_error_at(PROTO_N_ERRORS), 0);
	/* Distinct names, one per error. */
	for (int i = 0; i < PROTO_N_ERRORS; i++) {
		assert_non_null(seen[i]);
		for (int j = 0; j < i; j++) {
			assert_string_not_equal(seen[i], seen[j]);
		}
	}
	assert_null(proto_error_name(0));
	assert_null(proto_error_name(-EINVAL));
	assert_int_equal(proto_error_index(-ENOBUFS), -EINVAL);

	assert_string_equal(proto_type_name(LINK_SYNC_FOLLOWUP),
			    "SYNC_FOLLOWUP");
	assert_string_equal(proto_type_name(LINK_CONN_UPDATE), "CONN_UPDATE");
	assert_null(proto_type_name(0x06));
	assert_null(proto_type_name(0x47));
	for (size_t t = 0; t < ARRAY_SIZE(all_types); t++) {
		assert_non_null(proto_type_name(all_types[t]));
		assert_int_equal(proto_type_from_earbud(all_types[t]),
				 all_types[t] >= LINK_HELLO_ACK);
	}
}

#define T(name, fn)                                                           \
	{                                                                     \
		"proto/" name, fn, NULL, NULL, NULL                           \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("raw_encode", test_raw_encode),
		T("raw_decode", test_raw_decode),
		T("raw_covers_every_type", test_raw_covers_every_type),
		T("round_trip", test_round_trip),
		T("typed_encoders", test_typed_encoders),
		T("malformed", test_malformed),
		T("malformed_covers_every_error",
		  test_malformed_covers_every_error),
		T("datagram_too_long", test_datagram_too_long),
		T("max_length", test_max_length),
		T("every_prefix", test_every_prefix),
		T("encode_short_buffer", test_encode_short_buffer),
		T("encode_invalid", test_encode_invalid),
		T("reserved_ignored", test_reserved_ignored),
		T("conn_update_reserved_ignored",
		  test_conn_update_reserved_ignored),
		T("audio_zero_copy", test_audio_zero_copy),
		T("audio_in_place", test_audio_in_place),
		T("names", test_names),
	};

	return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
