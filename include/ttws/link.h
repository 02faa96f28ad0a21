/* SPDX-License-Identifier: MIT */
#ifndef TTWS_LINK_H
#define TTWS_LINK_H

/*
 * ttws-link: the wire protocol between the ttws host (ttwsd) and one earbud.
 * This header is the contract for earbud firmware authors; ttws-link(7)
 * explains the session, the timing semantics and the error rules.
 *
 * Transport: one message per L2CAP SDU (LE credit-based channel, Core 5.4,
 * Vol 3, Part A, 3.4) or per AF_UNIX SOCK_SEQPACKET datagram. Never two
 * messages in one SDU, never one message across two.
 *
 * Encoding: every integer is little-endian, at the byte offset given below,
 * with no padding other than the "reserved" fields shown. Layouts are
 * naturally aligned from the start of the message, so a little-endian MCU
 * whose receive buffer is 8-byte aligned may overlay packed structs on it.
 * Reserved fields and flag bits: the sender writes 0, the receiver ignores
 * them.
 *
 * Every message = an 8-octet header + a payload whose size is fixed by the
 * type (AUDIO: a fixed part + codec data):
 *
 *	offset size field
 *	0      1    magic    LINK_MAGIC (0xA7)
 *	1      1    version  LINK_VERSION (1)
 *	2      1    type     enum link_type
 *	3      1    flags    per type, LINK_F_*; undefined bits are 0
 *	4      2    length   payload octets following the header
 *	6      2    seq      message sequence, per direction, +1 per message
 *
 * The header layout, and the HELLO and HELLO_ACK payloads, are frozen for
 * every protocol version: a receiver of any version can always read them
 * and negotiate (see ttws-link(7), VERSIONING).
 *
 * Time: "host ns" is the host's CLOCK_MONOTONIC; "earbud ns" is the
 * earbud's own free-running clock, converted to nanoseconds, 64-bit,
 * monotonic, never stepped or slewed by the earbud. The host models it;
 * the earbud never tries to follow the host.
 *
 * This header only declares data: it needs <stdint.h> and nothing of ttws.
 */

#include <stdint.h>

#define LINK_MAGIC 0xA7 /* not ASCII, not 0x00 or 0xFF (erased flash) */
#define LINK_VERSION 1

#define LINK_HEADER_SIZE 8
/* The SDU length field of an LE credit-based channel is 16 bits. */
#define LINK_MSG_MAX 65535
#define LINK_PAYLOAD_MAX (LINK_MSG_MAX - LINK_HEADER_SIZE)

/*
 * Message types. Bit 6 (LINK_TYPE_FROM_EARBUD) gives the direction, so a
 * capture can be read without knowing who sent what.
 */
#define LINK_TYPE_FROM_EARBUD 0x40

enum link_type {
	/* host -> earbud */
	LINK_HELLO = 0x01,
	LINK_SYNC_REQ = 0x02,
	LINK_AUDIO = 0x03,
	LINK_VOLUME = 0x04,
	LINK_STOP = 0x05,
	/* earbud -> host */
	LINK_HELLO_ACK = 0x41,
	LINK_SYNC_RESP = 0x42,
	LINK_SYNC_FOLLOWUP = 0x43,
	LINK_RENDER_REPORT = 0x44,
	LINK_STATUS = 0x45,
	LINK_CONN_UPDATE = 0x46,
};

/* Payload sizes (octets after the header). */
#define LINK_HELLO_SIZE 20
#define LINK_HELLO_ACK_SIZE 20
#define LINK_SYNC_REQ_SIZE 16
#define LINK_SYNC_RESP_SIZE 32
#define LINK_SYNC_FOLLOWUP_SIZE 16
#define LINK_AUDIO_FIXED_SIZE 20 /* followed by data_len octets */
#define LINK_AUDIO_DATA_MAX (LINK_PAYLOAD_MAX - LINK_AUDIO_FIXED_SIZE)
#define LINK_RENDER_REPORT_SIZE 36
#define LINK_VOLUME_SIZE 4
#define LINK_STOP_SIZE 4
#define LINK_STATUS_SIZE 16
#define LINK_CONN_UPDATE_SIZE 16

/* Header flags, meaningful only on the type named. */
/* SYNC_RESP: t3 is provisional; a SYNC_FOLLOWUP with the precise t3
 * follows (PTP's twoStepFlag, IEEE 1588-2019, 13.3.2.8). */
#define LINK_F_TWO_STEP 0x01
/* AUDIO: the timeline restarts here; drop every buffered frame first. */
#define LINK_F_DISCONT 0x01
/* STOP: render the frames already buffered, then stop. */
#define LINK_F_DRAIN 0x01

struct link_header {
	uint8_t magic;   /* LINK_MAGIC; set by the encoder */
	uint8_t version; /* LINK_VERSION; set by the encoder */
	uint8_t type;    /* enum link_type */
	uint8_t flags;   /* LINK_F_* for this type */
	uint16_t length; /* payload octets; set by the encoder */
	uint16_t seq;    /* per direction, from 0 at connect, wraps */
};

enum link_role {
	LINK_ROLE_ANY = 0, /* HELLO only: the host has no expectation */
	LINK_ROLE_LEFT = 1,
	LINK_ROLE_RIGHT = 2,
};

enum link_codec {
	LINK_CODEC_NONE = 0,   /* HELLO_ACK only, with a refusal status */
	LINK_CODEC_PCM_S16 = 1, /* interleaved signed 16-bit little-endian */
	LINK_CODEC_LC3 = 2,    /* LC3 1.0, one frame per channel, in order */
};

enum link_hello_status {
	LINK_HELLO_OK = 0,
	LINK_HELLO_E_VERSION = 1, /* no common protocol version */
	LINK_HELLO_E_CODEC = 2,   /* codec not supported */
	LINK_HELLO_E_PARAMS = 3,  /* rate, duration, channels or octets */
	LINK_HELLO_E_ROLE = 4,    /* this earbud is not the role asked for */
	LINK_HELLO_E_BUSY = 5,    /* another host holds the earbud */
};

/* HELLO_ACK capability bits. */
#define LINK_CAP_TWO_STEP (1u << 0)      /* sends SYNC_FOLLOWUP */
#define LINK_CAP_RENDER_REPORT (1u << 1) /* sends RENDER_REPORT per frame */
#define LINK_CAP_STATUS (1u << 2)        /* sends STATUS */
#define LINK_CAP_VOLUME (1u << 3)        /* applies VOLUME */
#define LINK_CAP_DRAIN (1u << 4)         /* honours LINK_F_DRAIN */
/* Sends CONN_UPDATE when the central changes the connection interval
 * (LL_CONNECTION_UPDATE_IND, Core 5.4, Vol 6, Part B, 5.1.1). */
#define LINK_CAP_CONN_UPDATE (1u << 5)
#define LINK_CAP_CODEC_PCM (1u << 8)     /* could accept LINK_CODEC_PCM_S16 */
#define LINK_CAP_CODEC_LC3 (1u << 9)     /* could accept LINK_CODEC_LC3 */

/*
 * HELLO, host -> earbud, first message of a session. Always sent with
 * header version 1 and this layout, whatever version_max says.
 *
 *	0  1 version_max        highest protocol version the host speaks
 *	1  1 role               enum link_role the host expects
 *	2  1 codec              enum link_codec
 *	3  1 channels           audio channels in each AUDIO data (1 or 2)
 *	4  4 sample_rate_hz     e.g. 48000
 *	8  4 frame_us           frame duration: 7500 or 10000
 *	12 2 octets_per_frame   codec octets per frame per channel
 *	14 2 reserved
 *	16 4 delay_us           requested presentation delay (host send of
 *	                        frame n -> its render), a buffer sizing hint
 */
struct link_hello {
	uint8_t version_max;
	uint8_t role;
	uint8_t codec;
	uint8_t channels;
	uint32_t sample_rate_hz;
	uint32_t frame_us;
	uint16_t octets_per_frame;
	uint32_t delay_us;
};

/*
 * HELLO_ACK, earbud -> host, the answer to HELLO. Same frozen rule.
 *
 *	0  1 version            version for the rest of the session
 *	                        (<= HELLO version_max)
 *	1  1 role               enum link_role of this earbud (never ANY)
 *	2  1 codec              codec accepted (LINK_CODEC_NONE if refused)
 *	3  1 status             enum link_hello_status
 *	4  4 clock_res_ns       earbud clock tick (e.g. 1000 for 1 MHz,
 *	                        30518 for 32.768 kHz)
 *	8  4 caps               LINK_CAP_* bitmap
 *	12 2 buffer_frames      frames the earbud can hold before render
 *	14 2 reserved
 *	16 4 ci_us              connection interval as the earbud sees it
 */
struct link_hello_ack {
	uint8_t version;
	uint8_t role;
	uint8_t codec;
	uint8_t status;
	uint32_t clock_res_ns;
	uint32_t caps;
	uint16_t buffer_frames;
	uint32_t ci_us;
};

/*
 * SYNC_REQ, host -> earbud: open a timing exchange.
 *
 *	0  4 req_id             chosen by the host, echoed
 *	4  4 reserved
 *	8  8 t1_host_ns         opaque to the earbud: echo it verbatim
 */
struct link_sync_req {
	uint32_t req_id;
	uint64_t t1_host_ns;
};

/*
 * SYNC_RESP, earbud -> host, as soon as possible after the SYNC_REQ.
 *
 *	0  4 req_id             of the SYNC_REQ answered
 *	4  4 reserved
 *	8  8 t1_host_ns         echoed
 *	16 8 t2_ear_ns          earbud instant the SYNC_REQ was received
 *	24 8 t3_ear_ns          earbud instant the reply left; with
 *	                        LINK_F_TWO_STEP only an estimate (the instant
 *	                        it was queued), the precise one follows
 */
struct link_sync_resp {
	uint32_t req_id;
	uint64_t t1_host_ns;
	uint64_t t2_ear_ns;
	uint64_t t3_ear_ns;
};

/*
 * SYNC_FOLLOWUP, earbud -> host: the precise t3 of a two-step SYNC_RESP,
 * a message of its own, sent as soon as the earbud knows at which
 * connection event the SYNC_RESP left, and before its next SYNC_RESP.
 *
 *	0  4 req_id             of the SYNC_RESP it completes
 *	4  4 reserved
 *	8  8 t3_ear_ns          anchor of the connection event that carried
 *	                        the SYNC_RESP
 */
struct link_sync_followup {
	uint32_t req_id;
	uint64_t t3_ear_ns;
};

/*
 * AUDIO, host -> earbud: one codec frame and when to play it.
 *
 *	0  8 frame_seq          frame number n, +1 per frame (no wrap)
 *	8  8 pts_ear_ns         earbud instant the first sample of this frame
 *	                        must reach the DAC
 *	16 2 data_len           codec octets that follow; must equal
 *	                        length - LINK_AUDIO_FIXED_SIZE; 0 = conceal
 *	                        this frame (the host has no data for it)
 *	18 2 reserved
 *	20 n data               channels x octets_per_frame (HELLO)
 *
 * Decoded, data points into the received buffer: valid only as long as
 * that buffer is, and never copied by the decoder. NULL when data_len is 0.
 */
struct link_audio {
	uint64_t frame_seq;
	uint64_t pts_ear_ns;
	uint16_t data_len;
	const uint8_t *data;
};

/*
 * RENDER_REPORT, earbud -> host, one per rendered (or dropped) frame.
 *
 *	0  8 frame_seq          frame reported
 *	8  8 rx_ear_ns          earbud instant its AUDIO was received (same
 *	                        stamping point as SYNC_RESP t2)
 *	16 8 render_ear_ns      earbud instant its first sample reached the
 *	                        DAC; 0 if it was not rendered (late, lost)
 *	24 2 buffer_frames      frames buffered after this one started
 *	26 2 reserved
 *	28 4 late_frames        frames dropped for arriving after their pts,
 *	                        cumulative since HELLO
 *	32 4 underruns          DAC starved (no frame due), cumulative
 */
struct link_render_report {
	uint64_t frame_seq;
	uint64_t rx_ear_ns;
	uint64_t render_ear_ns;
	uint16_t buffer_frames;
	uint32_t late_frames;
	uint32_t underruns;
};

/*
 * VOLUME, host -> earbud, any time after HELLO_ACK.
 *
 *	0  2 gain_cdb           signed, in 0.01 dB; 0 = unity; <= -12000
 *	                        (-120 dB) is silence
 *	2  1 mute               0 or 1
 *	3  1 reserved
 */
struct link_volume {
	int16_t gain_cdb;
	uint8_t mute;
};

enum link_stop_reason {
	LINK_STOP_IDLE = 0,     /* no more audio for now */
	LINK_STOP_SHUTDOWN = 1, /* the host is going away */
	LINK_STOP_RECONFIG = 2, /* a new HELLO follows */
	LINK_STOP_ERROR = 3,    /* the host lost sync or its source */
};

/*
 * STOP, host -> earbud: stop rendering (LINK_F_DRAIN: after the frames
 * already buffered). The session stays; timing exchanges go on.
 *
 *	0  1 reason             enum link_stop_reason
 *	1  3 reserved
 */
struct link_stop {
	uint8_t reason;
};

/*
 * STATUS, earbud -> host, at least every 5 s and on change.
 *
 *	0  1 battery_pct        0..100, 0xFF unknown
 *	1  1 rssi_dbm           signed; 127 unknown
 *	2  2 buffer_frames      frames buffered now
 *	4  4 link_errors        malformed or unexpected messages dropped,
 *	                        cumulative since HELLO
 *	8  4 codec_errors       frames that failed to decode, cumulative
 *	12 4 underruns          as in RENDER_REPORT
 */
struct link_status {
	uint8_t battery_pct;
	int8_t rssi_dbm;
	uint16_t buffer_frames;
	uint32_t link_errors;
	uint32_t codec_errors;
	uint32_t underruns;
};

/*
 * CONN_UPDATE, earbud -> host, after HELLO_ACK: the connection interval
 * changed (a connection update procedure took effect, Core 5.4, Vol 6,
 * Part B, 5.1.1). Sent once per change, as soon as the link layer reports
 * the first connection event on the new interval, and only by an earbud
 * that announced LINK_CAP_CONN_UPDATE. Over a kernel L2CAP socket this is
 * the host's only way to learn the new interval: the kernel's HCI layer
 * consumes the LE Connection Update Complete event.
 *
 *	0  4 ci_us              the connection interval now in force (us),
 *	                        7500..4000000
 *	4  4 reserved
 *	8  8 instant_ear_ns     anchor of the connection event at the
 *	                        procedure's instant, the first on the new
 *	                        interval (earbud ns, from the radio's capture
 *	                        as for SYNC_RESP t2)
 */
struct link_conn_update {
	uint32_t ci_us;
	uint64_t instant_ear_ns;
};

/* A decoded message (or one to encode): the header selects the member. */
struct link_msg {
	struct link_header hdr;
	union {
		struct link_hello hello;
		struct link_hello_ack hello_ack;
		struct link_sync_req sync_req;
		struct link_sync_resp sync_resp;
		struct link_sync_followup sync_followup;
		struct link_audio audio;
		struct link_render_report render_report;
		struct link_volume volume;
		struct link_stop stop;
		struct link_status status;
		struct link_conn_update conn_update;
	};
};

#endif
