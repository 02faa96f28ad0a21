/* SPDX-License-Identifier: MIT */
/*
 * The ttws-link codec. Layouts and semantics: include/ttws/link.h and
 * ttws-link(7). Byte-at-a-time little-endian access, so the code is the
 * same on any host endianness and never does an unaligned load.
 */

#include <errno.h>
#include <string.h>

#include "core/macro.h"
#include "core/proto.h"

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

/*
 * Fixed payload size of a type (AUDIO: its fixed part), or 0 if unknown.
 * No default: the compiler names any type added to link.h and missed here.
 */
static size_t payload_size(uint8_t type)
{
	switch ((enum link_type)type) {
	case LINK_HELLO:
		return LINK_HELLO_SIZE;
	case LINK_HELLO_ACK:
		return LINK_HELLO_ACK_SIZE;
	case LINK_SYNC_REQ:
		return LINK_SYNC_REQ_SIZE;
	case LINK_SYNC_RESP:
		return LINK_SYNC_RESP_SIZE;
	case LINK_SYNC_FOLLOWUP:
		return LINK_SYNC_FOLLOWUP_SIZE;
	case LINK_AUDIO:
		return LINK_AUDIO_FIXED_SIZE;
	case LINK_RENDER_REPORT:
		return LINK_RENDER_REPORT_SIZE;
	case LINK_VOLUME:
		return LINK_VOLUME_SIZE;
	case LINK_STOP:
		return LINK_STOP_SIZE;
	case LINK_STATUS:
		return LINK_STATUS_SIZE;
	case LINK_CONN_UPDATE:
		return LINK_CONN_UPDATE_SIZE;
	}
	return 0;
}

bool proto_type_known(uint8_t type)
{
	return payload_size(type) != 0;
}

bool proto_type_from_earbud(uint8_t type)
{
	return (type & LINK_TYPE_FROM_EARBUD) != 0;
}

const char *proto_type_name(uint8_t type)
{
	switch ((enum link_type)type) {
	case LINK_HELLO:
		return "HELLO";
	case LINK_HELLO_ACK:
		return "HELLO_ACK";
	case LINK_SYNC_REQ:
		return "SYNC_REQ";
	case LINK_SYNC_RESP:
		return "SYNC_RESP";
	case LINK_SYNC_FOLLOWUP:
		return "SYNC_FOLLOWUP";
	case LINK_AUDIO:
		return "AUDIO";
	case LINK_RENDER_REPORT:
		return "RENDER_REPORT";
	case LINK_VOLUME:
		return "VOLUME";
	case LINK_STOP:
		return "STOP";
	case LINK_STATUS:
		return "STATUS";
	case LINK_CONN_UPDATE:
		return "CONN_UPDATE";
	}
	return NULL;
}

/* The table of proto.h: decode errors in check order, then the session
 * kinds. */
static const struct {
	int err;
	const char *name;
} proto_errors[PROTO_N_ERRORS] = {
	{ -ENODATA, "empty" },
	{ -EBADMSG, "short-header" },
	{ -EILSEQ, "bad-magic" },
	{ -EPROTONOSUPPORT, "version" },
	{ -EMSGSIZE, "too-long" },
	{ -EOVERFLOW, "short-payload" },
	{ -E2BIG, "trailing" },
	{ -ENOMSG, "unknown-type" },
	{ -EPROTO, "bad-size" },
	{ -ERANGE, "audio-len" },
	{ -ESTALE, "out-of-order" },
	{ -EEXIST, "replayed" },
};

int proto_error_at(unsigned i)
{
	return i < ARRAY_SIZE(proto_errors) ? proto_errors[i].err : 0;
}

int proto_error_index(int err)
{
	for (size_t i = 0; i < ARRAY_SIZE(proto_errors); i++) {
		if (proto_errors[i].err == err) {
			return (int)i;
		}
	}
	return -EINVAL;
}

const char *proto_error_name(int err)
{
	int i = proto_error_index(err);

	if (i < 0) {
		return NULL;
	}
	return proto_errors[i].name;
}

/*
 * Payload decoders: p holds exactly the type's payload size (checked by
 * the caller), so fixed offsets are in bounds.
 */
static void decode_hello(const uint8_t *p, struct link_hello *m)
{
	m->version_max = p[0];
	m->role = p[1];
	m->codec = p[2];
	m->channels = p[3];
	m->sample_rate_hz = get_le32(p + 4);
	m->frame_us = get_le32(p + 8);
	m->octets_per_frame = get_le16(p + 12);
	m->delay_us = get_le32(p + 16);
}

static void decode_hello_ack(const uint8_t *p, struct link_hello_ack *m)
{
	m->version = p[0];
	m->role = p[1];
	m->codec = p[2];
	m->status = p[3];
	m->clock_res_ns = get_le32(p + 4);
	m->caps = get_le32(p + 8);
	m->buffer_frames = get_le16(p + 12);
	m->ci_us = get_le32(p + 16);
}

static void decode_sync_req(const uint8_t *p, struct link_sync_req *m)
{
	m->req_id = get_le32(p);
	m->t1_host_ns = get_le64(p + 8);
}

static void decode_sync_resp(const uint8_t *p, struct link_sync_resp *m)
{
	m->req_id = get_le32(p);
	m->t1_host_ns = get_le64(p + 8);
	m->t2_ear_ns = get_le64(p + 16);
	m->t3_ear_ns = get_le64(p + 24);
}

static void decode_sync_followup(const uint8_t *p,
				 struct link_sync_followup *m)
{
	m->req_id = get_le32(p);
	m->t3_ear_ns = get_le64(p + 8);
}

static void decode_render_report(const uint8_t *p,
				 struct link_render_report *m)
{
	m->frame_seq = get_le64(p);
	m->rx_ear_ns = get_le64(p + 8);
	m->render_ear_ns = get_le64(p + 16);
	m->buffer_frames = get_le16(p + 24);
	m->late_frames = get_le32(p + 28);
	m->underruns = get_le32(p + 32);
}

static void decode_volume(const uint8_t *p, struct link_volume *m)
{
	m->gain_cdb = (int16_t)get_le16(p);
	m->mute = p[2];
}

static void decode_stop(const uint8_t *p, struct link_stop *m)
{
	m->reason = p[0];
}

static void decode_status(const uint8_t *p, struct link_status *m)
{
	m->battery_pct = p[0];
	m->rssi_dbm = (int8_t)p[1];
	m->buffer_frames = get_le16(p + 2);
	m->link_errors = get_le32(p + 4);
	m->codec_errors = get_le32(p + 8);
	m->underruns = get_le32(p + 12);
}

static void decode_conn_update(const uint8_t *p, struct link_conn_update *m)
{
	m->ci_us = get_le32(p);
	m->instant_ear_ns = get_le64(p + 8);
}

int proto_decode(const uint8_t *buf, size_t len, struct link_msg *ret)
{
	struct link_msg m;
	const uint8_t *p;
	size_t want;

	if (len == 0) {
		return -ENODATA;
	}
	if (len < LINK_HEADER_SIZE) {
		return -EBADMSG;
	}
	if (buf[0] != LINK_MAGIC) {
		return -EILSEQ;
	}
	if (buf[1] != LINK_VERSION) {
		return -EPROTONOSUPPORT;
	}

	memset(&m, 0, sizeof(m));
	m.hdr.magic = buf[0];
	m.hdr.version = buf[1];
	m.hdr.type = buf[2];
	m.hdr.flags = buf[3];
	m.hdr.length = get_le16(buf + 4);
	m.hdr.seq = get_le16(buf + 6);

	if (len > LINK_MSG_MAX || m.hdr.length > LINK_PAYLOAD_MAX) {
		return -EMSGSIZE;
	}
	if (len - LINK_HEADER_SIZE < m.hdr.length) {
		return -EOVERFLOW;
	}
	if (len - LINK_HEADER_SIZE > m.hdr.length) {
		return -E2BIG;
	}

	want = payload_size(m.hdr.type);
	if (want == 0) {
		return -ENOMSG;
	}
	p = buf + LINK_HEADER_SIZE;

	switch ((enum link_type)m.hdr.type) {
	case LINK_HELLO:
		if (m.hdr.length != want) {
			return -EPROTO;
		}
		decode_hello(p, &m.hello);
		break;
	case LINK_HELLO_ACK:
		if (m.hdr.length != want) {
			return -EPROTO;
		}
		decode_hello_ack(p, &m.hello_ack);
		break;
	case LINK_SYNC_REQ:
		if (m.hdr.length != want) {
			return -EPROTO;
		}
		decode_sync_req(p, &m.sync_req);
		break;
	case LINK_SYNC_RESP:
		if (m.hdr.length != want) {
			return -EPROTO;
		}
		decode_sync_resp(p, &m.sync_resp);
		break;
	case LINK_SYNC_FOLLOWUP:
		if (m.hdr.length != want) {
			return -EPROTO;
		}
		decode_sync_followup(p, &m.sync_followup);
		break;
	case LINK_AUDIO:
		/* Variable size: at least the fixed part, then data_len. */
		if (m.hdr.length < want) {
			return -EPROTO;
		}
		m.audio.frame_seq = get_le64(p);
		m.audio.pts_ear_ns = get_le64(p + 8);
		m.audio.data_len = get_le16(p + 16);
		if (m.audio.data_len != m.hdr.length - want) {
			return -ERANGE;
		}
		m.audio.data = m.audio.data_len ? p + want : NULL;
		break;
	case LINK_RENDER_REPORT:
		if (m.hdr.length != want) {
			return -EPROTO;
		}
		decode_render_report(p, &m.render_report);
		break;
	case LINK_VOLUME:
		if (m.hdr.length != want) {
			return -EPROTO;
		}
		decode_volume(p, &m.volume);
		break;
	case LINK_STOP:
		if (m.hdr.length != want) {
			return -EPROTO;
		}
		decode_stop(p, &m.stop);
		break;
	case LINK_STATUS:
		if (m.hdr.length != want) {
			return -EPROTO;
		}
		decode_status(p, &m.status);
		break;
	case LINK_CONN_UPDATE:
		if (m.hdr.length != want) {
			return -EPROTO;
		}
		decode_conn_update(p, &m.conn_update);
		break;
	}

	*ret = m;
	return 0;
}

size_t proto_encoded_size(const struct link_msg *m)
{
	size_t fixed = payload_size(m->hdr.type);

	if (fixed == 0) {
		return 0;
	}
	if (m->hdr.type == LINK_AUDIO) {
		fixed += m->audio.data_len;
	}
	return LINK_HEADER_SIZE + fixed;
}

/*
 * Payload encoders: p has room for the type's payload, already zeroed, so
 * reserved octets need no code.
 */
static void encode_hello(uint8_t *p, const struct link_hello *m)
{
	p[0] = m->version_max;
	p[1] = m->role;
	p[2] = m->codec;
	p[3] = m->channels;
	put_le32(p + 4, m->sample_rate_hz);
	put_le32(p + 8, m->frame_us);
	put_le16(p + 12, m->octets_per_frame);
	put_le32(p + 16, m->delay_us);
}

static void encode_hello_ack(uint8_t *p, const struct link_hello_ack *m)
{
	p[0] = m->version;
	p[1] = m->role;
	p[2] = m->codec;
	p[3] = m->status;
	put_le32(p + 4, m->clock_res_ns);
	put_le32(p + 8, m->caps);
	put_le16(p + 12, m->buffer_frames);
	put_le32(p + 16, m->ci_us);
}

static void encode_sync_req(uint8_t *p, const struct link_sync_req *m)
{
	put_le32(p, m->req_id);
	put_le64(p + 8, m->t1_host_ns);
}

static void encode_sync_resp(uint8_t *p, const struct link_sync_resp *m)
{
	put_le32(p, m->req_id);
	put_le64(p + 8, m->t1_host_ns);
	put_le64(p + 16, m->t2_ear_ns);
	put_le64(p + 24, m->t3_ear_ns);
}

static void encode_sync_followup(uint8_t *p,
				 const struct link_sync_followup *m)
{
	put_le32(p, m->req_id);
	put_le64(p + 8, m->t3_ear_ns);
}

static void encode_audio(uint8_t *p, const struct link_audio *m)
{
	put_le64(p, m->frame_seq);
	put_le64(p + 8, m->pts_ear_ns);
	put_le16(p + 16, m->data_len);
	/* The data itself was moved into place by proto_encode(). */
}

static void encode_render_report(uint8_t *p,
				 const struct link_render_report *m)
{
	put_le64(p, m->frame_seq);
	put_le64(p + 8, m->rx_ear_ns);
	put_le64(p + 16, m->render_ear_ns);
	put_le16(p + 24, m->buffer_frames);
	put_le32(p + 28, m->late_frames);
	put_le32(p + 32, m->underruns);
}

static void encode_volume(uint8_t *p, const struct link_volume *m)
{
	put_le16(p, (uint16_t)m->gain_cdb);
	p[2] = m->mute;
}

static void encode_stop(uint8_t *p, const struct link_stop *m)
{
	p[0] = m->reason;
}

static void encode_status(uint8_t *p, const struct link_status *m)
{
	p[0] = m->battery_pct;
	p[1] = (uint8_t)m->rssi_dbm;
	put_le16(p + 2, m->buffer_frames);
	put_le32(p + 4, m->link_errors);
	put_le32(p + 8, m->codec_errors);
	put_le32(p + 12, m->underruns);
}

static void encode_conn_update(uint8_t *p, const struct link_conn_update *m)
{
	put_le32(p, m->ci_us);
	put_le64(p + 8, m->instant_ear_ns);
}

int proto_encode(const struct link_msg *m, uint8_t *buf, size_t cap,
		 size_t *ret_len)
{
	size_t fixed = payload_size(m->hdr.type);
	size_t total;
	uint8_t *p;

	if (fixed == 0) {
		return -EINVAL;
	}
	if (m->hdr.type == LINK_AUDIO) {
		if (m->audio.data_len > LINK_AUDIO_DATA_MAX) {
			return -EMSGSIZE;
		}
		if (m->audio.data_len > 0 && !m->audio.data) {
			return -EINVAL;
		}
	}
	total = proto_encoded_size(m);
	if (cap < total) {
		return -ENOBUFS;
	}

	/*
	 * AUDIO data may live in buf itself, typically a codec frame encoded
	 * in place at LINK_HEADER_SIZE + LINK_AUDIO_FIXED_SIZE: move it
	 * (memmove, overlap allowed) before writing the header over the
	 * octets it may have come from.
	 */
	if (m->hdr.type == LINK_AUDIO && m->audio.data_len > 0) {
		memmove(buf + LINK_HEADER_SIZE + LINK_AUDIO_FIXED_SIZE,
			m->audio.data, m->audio.data_len);
	}
	memset(buf, 0, LINK_HEADER_SIZE + fixed);
	buf[0] = LINK_MAGIC;
	buf[1] = LINK_VERSION;
	buf[2] = m->hdr.type;
	buf[3] = m->hdr.flags;
	put_le16(buf + 4, (uint16_t)(total - LINK_HEADER_SIZE));
	put_le16(buf + 6, m->hdr.seq);
	p = buf + LINK_HEADER_SIZE;

	switch ((enum link_type)m->hdr.type) {
	case LINK_HELLO:
		encode_hello(p, &m->hello);
		break;
	case LINK_HELLO_ACK:
		encode_hello_ack(p, &m->hello_ack);
		break;
	case LINK_SYNC_REQ:
		encode_sync_req(p, &m->sync_req);
		break;
	case LINK_SYNC_RESP:
		encode_sync_resp(p, &m->sync_resp);
		break;
	case LINK_SYNC_FOLLOWUP:
		encode_sync_followup(p, &m->sync_followup);
		break;
	case LINK_AUDIO:
		encode_audio(p, &m->audio);
		break;
	case LINK_RENDER_REPORT:
		encode_render_report(p, &m->render_report);
		break;
	case LINK_VOLUME:
		encode_volume(p, &m->volume);
		break;
	case LINK_STOP:
		encode_stop(p, &m->stop);
		break;
	case LINK_STATUS:
		encode_status(p, &m->status);
		break;
	case LINK_CONN_UPDATE:
		encode_conn_update(p, &m->conn_update);
		break;
	}

	*ret_len = total;
	return 0;
}

#define DEFINE_ENCODER(name, TYPE)                                            \
	int proto_encode_##name(const struct link_##name *m, uint16_t seq,   \
				uint8_t flags, uint8_t *buf, size_t cap,     \
				size_t *ret_len)                             \
	{                                                                    \
		struct link_msg msg = {                                      \
			.hdr = { .type = TYPE, .flags = flags, .seq = seq }, \
			.name = *m,                                          \
		};                                                           \
                                                                             \
		return proto_encode(&msg, buf, cap, ret_len);                \
	}

DEFINE_ENCODER(hello, LINK_HELLO)
DEFINE_ENCODER(hello_ack, LINK_HELLO_ACK)
DEFINE_ENCODER(sync_req, LINK_SYNC_REQ)
DEFINE_ENCODER(sync_resp, LINK_SYNC_RESP)
DEFINE_ENCODER(sync_followup, LINK_SYNC_FOLLOWUP)
DEFINE_ENCODER(audio, LINK_AUDIO)
DEFINE_ENCODER(render_report, LINK_RENDER_REPORT)
DEFINE_ENCODER(volume, LINK_VOLUME)
DEFINE_ENCODER(stop, LINK_STOP)
DEFINE_ENCODER(status, LINK_STATUS)
DEFINE_ENCODER(conn_update, LINK_CONN_UPDATE)
