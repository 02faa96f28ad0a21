/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_ASHA_H
#define TTWS_CORE_ASHA_H

/*
 * ASHA, Audio Streaming for Hearing Aids (source.android.com, Bluetooth >
 * ASHA): the values of the GATT service 0xFDF0's characteristics on the
 * wire, as the central (ttwsd) reads and writes them. Pure: bytes in,
 * structs out, and back; no allocation. Multi-octet fields are
 * little-endian. What comes from a hearing aid is hostile: every parser
 * range-checks it and says why it refused, for the operator.
 *
 * ReadOnlyProperties, 17 octets:
 *	0	Version (0x01)
 *	1	DeviceCapabilities: bit 0 side (1 right), bit 1 binaural,
 *		bit 2 CSIS supported; bits 3-7 reserved
 *	2-9	HiSyncId: octets 2-3 the maker's company ID, 4-9 a set ID
 *		both aids of a pair share
 *	10	FeatureMap: bit 0 LE CoC audio output streaming
 *	11-12	RenderDelay, ms
 *	13-14	reserved
 *	15-16	SupportedCodecIds, a bitmap: bit N for codec ID N (1: G.722
 *		at 16 kHz)
 * AudioControlPoint: Start (1, codec, audio type, volume, other side
 * connected), Stop (2), Status (3, what changed). AudioStatus: one
 * signed octet, 0 OK, -1 unknown command, -2 illegal parameters.
 * LE_PSM_OUT: the aid's SPSM for the audio channel, 2 octets. Volume:
 * one signed octet, -128 (mute) to 0 (loudest).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ASHA_SERVICE_UUID16 0xfdf0
#define ASHA_PROPS_SIZE 17
#define ASHA_VERSION 0x01
#define ASHA_HISYNCID_SIZE 8

#define ASHA_CAP_RIGHT 0x01
#define ASHA_CAP_BINAURAL 0x02
#define ASHA_CAP_CSIS 0x04
#define ASHA_FEATURE_COC_STREAMING 0x01

/* Codec IDs (Start's codec; bit 1 << ID in SupportedCodecIds). */
#define ASHA_CODEC_G722_16K 1

/* One 20 ms G.722 frame at 16 kHz, and the SDU that carries it behind a
 * one-octet sequence number. */
#define ASHA_G722_FRAME_SIZE 160
#define ASHA_SDU_SIZE (1 + ASHA_G722_FRAME_SIZE)

/* The audio channel's MTU and MPS the central asks for, at least: 167
 * octets (ASHA, "L2CAP": the SDU, its sequence number and room). */
#define ASHA_L2CAP_MIN_MPS 167

#define ASHA_VOLUME_MUTE (-128)
#define ASHA_VOLUME_MAX 0

enum asha_opcode {
	ASHA_OP_START = 1,
	ASHA_OP_STOP = 2,
	ASHA_OP_STATUS = 3,
};

enum asha_audio_type {
	ASHA_AUDIO_UNKNOWN = 0,
	ASHA_AUDIO_RINGTONE = 1,
	ASHA_AUDIO_PHONE_CALL = 2,
	ASHA_AUDIO_MEDIA = 3,
};

/* Status's one octet: what changed on the central's side. */
enum asha_update {
	ASHA_UPDATE_OTHER_DISCONNECTED = 1,
	ASHA_UPDATE_OTHER_CONNECTED = 2,
	ASHA_UPDATE_CONN_PARAMS = 3,
};

/* AudioStatus values. */
#define ASHA_STATUS_OK 0
#define ASHA_STATUS_UNKNOWN_COMMAND (-1)
#define ASHA_STATUS_ILLEGAL_PARAMETERS (-2)

struct asha_props {
	uint8_t version;
	bool right;    /* else left */
	bool binaural; /* one of a pair; else monaural */
	bool csis;
	uint8_t hisyncid[ASHA_HISYNCID_SIZE];
	uint16_t company_id; /* HiSyncId's first two octets */
	uint8_t feature_map;
	uint16_t render_delay_ms;
	uint16_t codecs; /* SupportedCodecIds */
};

/*
 * ReadOnlyProperties from buf (len octets, as read). 0, or with *why set
 * to a static sentence for the operator:
 *	-EMSGSIZE        not 17 octets
 *	-EPROTONOSUPPORT a Version other than 0x01
 *	-ENOTSUP         no LE CoC audio streaming in FeatureMap, or no
 *	                 G.722 at 16 kHz among the codecs
 * Reserved bits are ignored, as a later version may use them. why may be
 * NULL.
 */
int asha_props_parse(const uint8_t *buf, size_t len, struct asha_props *ret,
		     const char **why);

/*
 * Whether a and b are the two aids of one binaural pair: the same
 * HiSyncId, both binaural, one left and one right. 0, or -EXDEV (another
 * set: HiSyncIds differ), -EINVAL (a monaural aid), -EEXIST (both the
 * same side).
 */
int asha_props_pair(const struct asha_props *a, const struct asha_props *b);

/* HiSyncId as 16 hex digits into buf (at least 17 octets). */
void asha_hisyncid_format(const uint8_t id[ASHA_HISYNCID_SIZE], char *buf);

/* LE_PSM_OUT: the SPSM in *ret. -EMSGSIZE when not 2 octets, -ERANGE
 * outside the LE SPSM range 0x0001-0x00ff (Core 5.4, Vol 3, Part A,
 * 4.22). */
int asha_psm_parse(const uint8_t *buf, size_t len, uint16_t *ret);

/* AudioStatus: its signed value in *ret. -EMSGSIZE when not 1 octet,
 * -EPROTO for a value the specification does not define (then *ret holds
 * it all the same). */
int asha_status_parse(const uint8_t *buf, size_t len, int8_t *ret);

/* A sentence for an AudioStatus value (static). */
const char *asha_status_name(int8_t status);

/*
 * AudioControlPoint writes, into buf (size octets); the length in
 * *ret_len. -ENOSPC when size is too small; -EINVAL for a codec other
 * than G.722 at 16 kHz, an audio type or update outside its enum, a
 * volume outside -128 (mute) to 0 (the loudest).
 */
int asha_encode_start(uint8_t codec, enum asha_audio_type type,
		      int volume, bool other_connected, uint8_t *buf,
		      size_t size, size_t *ret_len);
int asha_encode_stop(uint8_t *buf, size_t size, size_t *ret_len);
int asha_encode_status(enum asha_update what, uint8_t *buf, size_t size,
		       size_t *ret_len);

/* Volume: one octet. -EINVAL for a volume outside -128 to 0, -ENOSPC
 * for size 0. */
int asha_encode_volume(int volume, uint8_t *buf, size_t size,
		       size_t *ret_len);

#endif
