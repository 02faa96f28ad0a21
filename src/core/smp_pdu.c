/* SPDX-License-Identifier: MIT */
/*
 * SMP PDU codec (contracts: smp_pdu.h). Sections are of Core 5.4, Vol 3,
 * Part H.
 */
#include "core/smp_pdu.h"

#include <errno.h>
#include <string.h>

#include "core/macro.h"

size_t smp_pdu_size(uint8_t code)
{
	switch ((enum smp_code)code) {
	case SMP_PAIRING_REQUEST:
	case SMP_PAIRING_RESPONSE:
		return 7;
	case SMP_PAIRING_CONFIRM:
	case SMP_PAIRING_RANDOM:
	case SMP_ENCRYPTION_INFORMATION:
	case SMP_IDENTITY_INFORMATION:
	case SMP_SIGNING_INFORMATION:
	case SMP_PAIRING_DHKEY_CHECK:
		return 17;
	case SMP_PAIRING_FAILED:
	case SMP_SECURITY_REQUEST:
	case SMP_KEYPRESS_NOTIFICATION:
		return 2;
	case SMP_CENTRAL_IDENTIFICATION:
		return 11;
	case SMP_IDENTITY_ADDRESS_INFORMATION:
		return 8;
	case SMP_PAIRING_PUBLIC_KEY:
		return 65;
	}
	return 0;
}

static bool smp_pairing_ok(const struct smp_pairing *p)
{
	return p->io_cap <= SMP_IO_KEYBOARD_DISPLAY && p->oob <= 1 &&
	       p->max_key_size >= SMP_KEY_SIZE_MIN &&
	       p->max_key_size <= SMP_KEY_SIZE_MAX;
}

int smp_pdu_decode(const uint8_t *p, size_t len, struct smp_pdu *ret)
{
	struct smp_pdu m;
	size_t want;

	if (len == 0) {
		return -EBADMSG;
	}
	want = smp_pdu_size(p[0]);
	if (want == 0) {
		return -ENOMSG;
	}
	if (len != want || len > SMP_MTU) {
		return -EMSGSIZE;
	}
	memset(&m, 0, sizeof(m));
	m.code = p[0];
	switch ((enum smp_code)m.code) {
	case SMP_PAIRING_REQUEST:
	case SMP_PAIRING_RESPONSE:
		m.pairing.io_cap = p[1];
		m.pairing.oob = p[2];
		m.pairing.auth_req = p[3] & SMP_AUTH_DEFINED;
		m.pairing.max_key_size = p[4];
		m.pairing.init_key_dist = p[5] & SMP_DIST_DEFINED;
		m.pairing.resp_key_dist = p[6] & SMP_DIST_DEFINED;
		if (!smp_pairing_ok(&m.pairing)) {
			return -ERANGE;
		}
		break;
	case SMP_PAIRING_CONFIRM:
	case SMP_PAIRING_RANDOM:
	case SMP_ENCRYPTION_INFORMATION:
	case SMP_IDENTITY_INFORMATION:
	case SMP_SIGNING_INFORMATION:
	case SMP_PAIRING_DHKEY_CHECK:
		memcpy(m.value, p + 1, 16);
		break;
	case SMP_PAIRING_FAILED:
		m.reason = p[1];
		break;
	case SMP_SECURITY_REQUEST:
		m.auth_req = p[1] & SMP_AUTH_DEFINED;
		break;
	case SMP_KEYPRESS_NOTIFICATION:
		/* 3.5.8: 0 to 4 (entry started ... completed). */
		if (p[1] > 4) {
			return -ERANGE;
		}
		m.notification = p[1];
		break;
	case SMP_CENTRAL_IDENTIFICATION:
		m.central_id.ediv = (uint16_t)(p[1] | p[2] << 8);
		memcpy(m.central_id.rand, p + 3, 8);
		break;
	case SMP_IDENTITY_ADDRESS_INFORMATION:
		/* 3.6.5: public or static random. */
		if (p[1] > 1) {
			return -ERANGE;
		}
		m.id_addr.type = p[1];
		memcpy(m.id_addr.addr.b, p + 2, 6);
		break;
	case SMP_PAIRING_PUBLIC_KEY:
		memcpy(m.public_key.key, p + 1, 64);
		break;
	}
	*ret = m;
	return 0;
}

int smp_pdu_encode(const struct smp_pdu *m, uint8_t *buf, size_t cap,
		   size_t *ret_len)
{
	size_t n = smp_pdu_size(m->code);
	uint8_t b[SMP_MTU];

	if (n == 0) {
		return -EINVAL;
	}
	if (n > cap) {
		return -ENOBUFS;
	}
	b[0] = m->code;
	switch ((enum smp_code)m->code) {
	case SMP_PAIRING_REQUEST:
	case SMP_PAIRING_RESPONSE:
		if (!smp_pairing_ok(&m->pairing)) {
			return -EINVAL;
		}
		b[1] = m->pairing.io_cap;
		b[2] = m->pairing.oob;
		b[3] = m->pairing.auth_req & SMP_AUTH_DEFINED;
		b[4] = m->pairing.max_key_size;
		b[5] = m->pairing.init_key_dist & SMP_DIST_DEFINED;
		b[6] = m->pairing.resp_key_dist & SMP_DIST_DEFINED;
		break;
	case SMP_PAIRING_CONFIRM:
	case SMP_PAIRING_RANDOM:
	case SMP_ENCRYPTION_INFORMATION:
	case SMP_IDENTITY_INFORMATION:
	case SMP_SIGNING_INFORMATION:
	case SMP_PAIRING_DHKEY_CHECK:
		memcpy(b + 1, m->value, 16);
		break;
	case SMP_PAIRING_FAILED:
		b[1] = m->reason;
		break;
	case SMP_SECURITY_REQUEST:
		b[1] = m->auth_req & SMP_AUTH_DEFINED;
		break;
	case SMP_KEYPRESS_NOTIFICATION:
		if (m->notification > 4) {
			return -EINVAL;
		}
		b[1] = m->notification;
		break;
	case SMP_CENTRAL_IDENTIFICATION:
		b[1] = (uint8_t)m->central_id.ediv;
		b[2] = (uint8_t)(m->central_id.ediv >> 8);
		memcpy(b + 3, m->central_id.rand, 8);
		break;
	case SMP_IDENTITY_ADDRESS_INFORMATION:
		if (m->id_addr.type > 1) {
			return -EINVAL;
		}
		b[1] = m->id_addr.type;
		memcpy(b + 2, m->id_addr.addr.b, 6);
		break;
	case SMP_PAIRING_PUBLIC_KEY:
		memcpy(b + 1, m->public_key.key, 64);
		break;
	}
	memcpy(buf, b, n);
	*ret_len = n;
	return 0;
}

const char *smp_reason_name(uint8_t reason)
{
	static const char *const names[] = {
		[SMP_PASSKEY_ENTRY_FAILED] = "passkey entry failed",
		[SMP_OOB_NOT_AVAILABLE] = "OOB not available",
		[SMP_AUTHENTICATION_REQUIREMENTS] =
			"authentication requirements",
		[SMP_CONFIRM_VALUE_FAILED] = "confirm value failed",
		[SMP_PAIRING_NOT_SUPPORTED] = "pairing not supported",
		[SMP_ENCRYPTION_KEY_SIZE] = "encryption key size",
		[SMP_COMMAND_NOT_SUPPORTED] = "command not supported",
		[SMP_UNSPECIFIED_REASON] = "unspecified reason",
		[SMP_REPEATED_ATTEMPTS] = "repeated attempts",
		[SMP_INVALID_PARAMETERS] = "invalid parameters",
		[SMP_DHKEY_CHECK_FAILED] = "DHKey check failed",
		[SMP_NUMERIC_COMPARISON_FAILED] = "numeric comparison failed",
		[SMP_BREDR_PAIRING_IN_PROGRESS] = "BR/EDR pairing in progress",
		[SMP_CTKD_NOT_ALLOWED] = "cross-transport key derivation "
					 "not allowed",
		[SMP_KEY_REJECTED] = "key rejected",
	};

	if (reason < ARRAY_SIZE(names) && names[reason]) {
		return names[reason];
	}
	return "unknown reason";
}
