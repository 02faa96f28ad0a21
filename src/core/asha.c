/* SPDX-License-Identifier: MIT */
/*
 * ASHA's characteristic values on the wire (asha.h). Layouts from the
 * ASHA specification (source.android.com, Bluetooth > ASHA), checked
 * against Google's Bumble (bumble/profiles/asha.py), the peer the tests
 * run.
 */
#include "core/asha.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

int asha_props_parse(const uint8_t *buf, size_t len, struct asha_props *ret,
		     const char **why)
{
	const char *dummy;

	if (!why) {
		why = &dummy;
	}
	if (!buf || len != ASHA_PROPS_SIZE) {
		*why = "ReadOnlyProperties is not 17 octets long";
		return -EMSGSIZE;
	}
	memset(ret, 0, sizeof(*ret));
	ret->version = buf[0];
	ret->right = buf[1] & ASHA_CAP_RIGHT;
	ret->binaural = buf[1] & ASHA_CAP_BINAURAL;
	ret->csis = buf[1] & ASHA_CAP_CSIS;
	memcpy(ret->hisyncid, buf + 2, ASHA_HISYNCID_SIZE);
	ret->company_id = get_le16(buf + 2);
	ret->feature_map = buf[10];
	ret->render_delay_ms = get_le16(buf + 11);
	ret->codecs = get_le16(buf + 15);
	if (ret->version != ASHA_VERSION) {
		*why = "ASHA version is not 1.0 (ReadOnlyProperties octet 0)";
		return -EPROTONOSUPPORT;
	}
	if (!(ret->feature_map & ASHA_FEATURE_COC_STREAMING)) {
		*why = "the hearing aid does not take audio over an LE "
		       "credit-based channel (FeatureMap bit 0)";
		return -ENOTSUP;
	}
	if (!(ret->codecs & (1u << ASHA_CODEC_G722_16K))) {
		*why = "the hearing aid does not decode G.722 at 16 kHz "
		       "(SupportedCodecIds bit 1)";
		return -ENOTSUP;
	}
	*why = NULL;
	return 0;
}

int asha_props_pair(const struct asha_props *a, const struct asha_props *b)
{
	if (memcmp(a->hisyncid, b->hisyncid, ASHA_HISYNCID_SIZE) != 0) {
		return -EXDEV;
	}
	if (!a->binaural || !b->binaural) {
		return -EINVAL;
	}
	if (a->right == b->right) {
		return -EEXIST;
	}
	return 0;
}

void asha_hisyncid_format(const uint8_t id[ASHA_HISYNCID_SIZE], char *buf)
{
	unsigned i;

	for (i = 0; i < ASHA_HISYNCID_SIZE; i++) {
		snprintf(buf + 2 * i, 3, "%02x", id[i]);
	}
}

int asha_psm_parse(const uint8_t *buf, size_t len, uint16_t *ret)
{
	uint16_t psm;

	if (!buf || len != 2) {
		return -EMSGSIZE;
	}
	psm = get_le16(buf);
	/* LE SPSMs are 0x0001-0x00ff (Core 5.4, Vol 3, Part A, 4.22). */
	if (psm == 0 || psm > 0x00ff) {
		return -ERANGE;
	}
	*ret = psm;
	return 0;
}

int asha_status_parse(const uint8_t *buf, size_t len, int8_t *ret)
{
	if (!buf || len != 1) {
		return -EMSGSIZE;
	}
	*ret = (int8_t)buf[0];
	if (*ret != ASHA_STATUS_OK && *ret != ASHA_STATUS_UNKNOWN_COMMAND &&
	    *ret != ASHA_STATUS_ILLEGAL_PARAMETERS) {
		return -EPROTO;
	}
	return 0;
}

const char *asha_status_name(int8_t status)
{
	switch (status) {
	case ASHA_STATUS_OK:
		return "ok";
	case ASHA_STATUS_UNKNOWN_COMMAND:
		return "unknown command";
	case ASHA_STATUS_ILLEGAL_PARAMETERS:
		return "illegal parameters";
	default:
		return "a status ASHA does not define";
	}
}

static bool volume_ok(int volume)
{
	return volume >= ASHA_VOLUME_MUTE && volume <= ASHA_VOLUME_MAX;
}

int asha_encode_start(uint8_t codec, enum asha_audio_type type, int volume,
		      bool other_connected, uint8_t *buf, size_t size,
		      size_t *ret_len)
{
	if (codec != ASHA_CODEC_G722_16K || (unsigned)type > ASHA_AUDIO_MEDIA ||
	    !volume_ok(volume)) {
		return -EINVAL;
	}
	if (size < 5) {
		return -ENOSPC;
	}
	buf[0] = ASHA_OP_START;
	buf[1] = codec;
	buf[2] = (uint8_t)type;
	buf[3] = (uint8_t)(int8_t)volume;
	buf[4] = other_connected ? 1 : 0;
	*ret_len = 5;
	return 0;
}

int asha_encode_stop(uint8_t *buf, size_t size, size_t *ret_len)
{
	if (size < 1) {
		return -ENOSPC;
	}
	buf[0] = ASHA_OP_STOP;
	*ret_len = 1;
	return 0;
}

int asha_encode_status(enum asha_update what, uint8_t *buf, size_t size,
		       size_t *ret_len)
{
	if (what < ASHA_UPDATE_OTHER_DISCONNECTED ||
	    what > ASHA_UPDATE_CONN_PARAMS) {
		return -EINVAL;
	}
	if (size < 2) {
		return -ENOSPC;
	}
	buf[0] = ASHA_OP_STATUS;
	buf[1] = (uint8_t)what;
	*ret_len = 2;
	return 0;
}

int asha_encode_volume(int volume, uint8_t *buf, size_t size,
		       size_t *ret_len)
{
	if (!volume_ok(volume)) {
		return -EINVAL;
	}
	if (size < 1) {
		return -ENOSPC;
	}
	buf[0] = (uint8_t)(int8_t)volume;
	*ret_len = 1;
	return 0;
}
