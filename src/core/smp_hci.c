/* SPDX-License-Identifier: MIT */
/*
 * HCI commands and events of LE security (contracts: smp_hci.h).
 * Sections are of Core 5.4, Vol 4, Part E.
 */
#include "core/smp_hci.h"

#include <errno.h>
#include <string.h>

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

int smp_hci_le_encrypt(const uint8_t key[16], const uint8_t plain[16],
		       uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t p[32];

	memcpy(p, key, 16);
	memcpy(p + 16, plain, 16);
	return hci_cmd_encode(SMP_HCI_OP_LE_ENCRYPT, p, sizeof(p), buf, cap,
			      ret_len);
}

int smp_hci_le_rand(uint8_t *buf, size_t cap, size_t *ret_len)
{
	return hci_cmd_encode(SMP_HCI_OP_LE_RAND, NULL, 0, buf, cap, ret_len);
}

int smp_hci_le_enable_encryption(uint16_t handle, const uint8_t rand[8],
				 uint16_t ediv, const uint8_t ltk[16],
				 uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t p[28];

	if (handle > HCI_HANDLE_MAX) {
		return -EINVAL;
	}
	put_le16(p, handle);
	memcpy(p + 2, rand, 8);
	put_le16(p + 10, ediv);
	memcpy(p + 12, ltk, 16);
	return hci_cmd_encode(SMP_HCI_OP_LE_ENABLE_ENCRYPTION, p, sizeof(p),
			      buf, cap, ret_len);
}

int smp_hci_le_ltk_reply(uint16_t handle, const uint8_t ltk[16],
			 uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t p[18];

	if (handle > HCI_HANDLE_MAX) {
		return -EINVAL;
	}
	put_le16(p, handle);
	memcpy(p + 2, ltk, 16);
	return hci_cmd_encode(SMP_HCI_OP_LE_LTK_REPLY, p, sizeof(p), buf, cap,
			      ret_len);
}

int smp_hci_le_ltk_neg_reply(uint16_t handle, uint8_t *buf, size_t cap,
			     size_t *ret_len)
{
	uint8_t p[2];

	if (handle > HCI_HANDLE_MAX) {
		return -EINVAL;
	}
	put_le16(p, handle);
	return hci_cmd_encode(SMP_HCI_OP_LE_LTK_NEG_REPLY, p, sizeof(p), buf,
			      cap, ret_len);
}

int smp_hci_le_read_local_p256(uint8_t *buf, size_t cap, size_t *ret_len)
{
	return hci_cmd_encode(SMP_HCI_OP_LE_READ_LOCAL_P256, NULL, 0, buf, cap,
			      ret_len);
}

int smp_hci_le_generate_dhkey(const uint8_t key[64], uint8_t *buf,
			      size_t cap, size_t *ret_len)
{
	return hci_cmd_encode(SMP_HCI_OP_LE_GENERATE_DHKEY, key, 64, buf, cap,
			      ret_len);
}

/* Exact parameter size, as hci.c: short and long are two errors. */
static int want_exact(size_t have, size_t want)
{
	if (have < want) {
		return -ENODATA;
	}
	return have > want ? -EMSGSIZE : 0;
}

static int decode_le(const uint8_t *p, size_t n, struct smp_hci_evt *m)
{
	int r;

	if (n < 1) {
		/* An empty LE Meta event is hci.c's to call short. */
		return -ENOMSG;
	}
	switch (p[0]) {
	case SMP_HCI_LE_LTK_REQUEST:
		r = want_exact(n - 1, 12);
		if (r < 0) {
			return r;
		}
		m->kind = SMP_HCI_LTK_REQUEST;
		m->handle = get_le16(p + 1) & 0x0fff;
		memcpy(m->rand, p + 3, 8);
		m->ediv = get_le16(p + 11);
		return 0;
	case SMP_HCI_LE_READ_LOCAL_P256_COMPLETE:
		r = want_exact(n - 1, 65);
		if (r < 0) {
			return r;
		}
		m->kind = SMP_HCI_LOCAL_P256;
		m->status = p[1];
		memcpy(m->key, p + 2, 64);
		return 0;
	case SMP_HCI_LE_GENERATE_DHKEY_COMPLETE:
		r = want_exact(n - 1, 33);
		if (r < 0) {
			return r;
		}
		m->kind = SMP_HCI_DHKEY;
		m->status = p[1];
		memcpy(m->dhkey, p + 2, 32);
		return 0;
	default:
		return -ENOMSG;
	}
}

int smp_hci_evt_decode(const uint8_t *pkt, size_t len,
		       struct smp_hci_evt *ret)
{
	struct smp_hci_evt m;
	const uint8_t *p;
	size_t n;
	int r;

	if (len < HCI_EVT_HDR_SIZE) {
		return -EBADMSG;
	}
	n = pkt[1];
	if (len - HCI_EVT_HDR_SIZE < n) {
		return -EOVERFLOW;
	}
	if (len - HCI_EVT_HDR_SIZE > n) {
		return -E2BIG;
	}
	p = pkt + HCI_EVT_HDR_SIZE;
	memset(&m, 0, sizeof(m));
	switch (pkt[0]) {
	case SMP_HCI_EVT_ENCRYPTION_CHANGE:
		r = want_exact(n, 4);
		if (r < 0) {
			return r;
		}
		m.kind = SMP_HCI_ENCRYPTION_CHANGE;
		m.status = p[0];
		m.handle = get_le16(p + 1) & 0x0fff;
		m.enabled = p[3];
		break;
	case SMP_HCI_EVT_KEY_REFRESH_COMPLETE:
		r = want_exact(n, 3);
		if (r < 0) {
			return r;
		}
		m.kind = SMP_HCI_KEY_REFRESH_COMPLETE;
		m.status = p[0];
		m.handle = get_le16(p + 1) & 0x0fff;
		break;
	case HCI_EVT_LE_META:
		r = decode_le(p, n, &m);
		if (r < 0) {
			return r;
		}
		break;
	default:
		return -ENOMSG;
	}
	*ret = m;
	return 0;
}

int smp_hci_cc_data(const struct hci_evt_cmd_complete *cc, uint8_t *out,
		    size_t n)
{
	if (cc->params_len >= 1 && cc->status != HCI_SUCCESS) {
		return -EIO;
	}
	if (!cc->params || cc->params_len != 1 + n) {
		return -EBADMSG;
	}
	memcpy(out, cc->params + 1, n);
	return 0;
}
