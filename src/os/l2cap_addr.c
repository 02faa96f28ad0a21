/* SPDX-License-Identifier: MIT */
/*
 * The pure rules of the l2cap transport: device addresses and their
 * types, PSM and MTU ranges, the SO_TIMESTAMPING flags, the default and
 * the checks of a struct l2cap_config. No system calls. See l2cap.h.
 */

#include <errno.h>
#include <linux/net_tstamp.h>
#include <stdio.h>
#include <string.h>

#include "core/macro.h"
#include "os/l2cap.h"
#include "os/l2cap_private.h"

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

int l2cap_bdaddr_parse(const char *s, struct l2cap_bdaddr *ret)
{
	struct l2cap_bdaddr a;

	if (!s || !ret) {
		return -EINVAL;
	}
	/* Each check stops at the NUL, so a short string is never overread. */
	for (int i = 0; i < 6; i++) {
		const char *p = s + 3 * i;
		int hi, lo;

		hi = hex_digit(p[0]);
		if (hi < 0) {
			return -EINVAL;
		}
		lo = hex_digit(p[1]);
		if (lo < 0) {
			return -EINVAL;
		}
		if (p[2] != (i < 5 ? ':' : '\0')) {
			return -EINVAL;
		}
		a.b[5 - i] = (uint8_t)(hi << 4 | lo);
	}
	*ret = a;
	return 0;
}

int l2cap_bdaddr_format(const struct l2cap_bdaddr *a, char *buf, size_t size)
{
	if (!a || !buf) {
		return -EINVAL;
	}
	if (size < L2CAP_BDADDR_STRLEN) {
		return -ENOBUFS;
	}
	return snprintf(buf, size, "%02X:%02X:%02X:%02X:%02X:%02X", a->b[5],
			a->b[4], a->b[3], a->b[2], a->b[1], a->b[0]);
}

bool l2cap_bdaddr_is_any(const struct l2cap_bdaddr *a)
{
	static const struct l2cap_bdaddr any;

	return memcmp(a->b, any.b, sizeof(any.b)) == 0;
}

int l2cap_addr_type_parse(const char *s, enum l2cap_addr_type *ret)
{
	static const enum l2cap_addr_type all[] = {
	    L2CAP_ADDR_BREDR,
	    L2CAP_ADDR_LE_PUBLIC,
	    L2CAP_ADDR_LE_RANDOM,
	};

	if (!s || !ret) {
		return -EINVAL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		if (strcmp(s, l2cap_addr_type_name(all[i])) == 0) {
			*ret = all[i];
			return 0;
		}
	}
	return -EINVAL;
}

const char *l2cap_addr_type_name(enum l2cap_addr_type type)
{
	switch (type) {
	case L2CAP_ADDR_BREDR:
		return "bredr";
	case L2CAP_ADDR_LE_PUBLIC:
		return "public";
	case L2CAP_ADDR_LE_RANDOM:
		return "random";
	}
	return "?";
}

bool l2cap_type_valid(enum l2cap_addr_type type)
{
	switch (type) {
	case L2CAP_ADDR_BREDR:
	case L2CAP_ADDR_LE_PUBLIC:
	case L2CAP_ADDR_LE_RANDOM:
		return true;
	}
	return false;
}

bool l2cap_addr_type_is_le(enum l2cap_addr_type type)
{
	return type == L2CAP_ADDR_LE_PUBLIC || type == L2CAP_ADDR_LE_RANDOM;
}

int l2cap_psm_check(enum l2cap_addr_type type, uint16_t psm)
{
	switch (type) {
	case L2CAP_ADDR_LE_PUBLIC:
	case L2CAP_ADDR_LE_RANDOM:
		/* SPSM 0x0100..0xFFFF is reserved (Vol 3, Part A, 4.22). */
		return psm >= 1 && psm <= L2CAP_LE_PSM_MAX ? 0 : -EINVAL;
	case L2CAP_ADDR_BREDR:
		/*
		 * Vol 3, Part A, 4.2: the least significant bit of the most
		 * significant octet 0, of every other octet 1 (which also
		 * rules out 0).
		 */
		return (psm & 0x0101) == 0x0001 ? 0 : -EINVAL;
	}
	return -EINVAL;
}

bool l2cap_psm_is_dynamic(enum l2cap_addr_type type, uint16_t psm)
{
	if (l2cap_psm_check(type, psm) < 0) {
		return false;
	}
	if (l2cap_addr_type_is_le(type)) {
		return psm >= L2CAP_LE_PSM_DYN_START;
	}
	return psm >= L2CAP_BREDR_PSM_DYN_START;
}

int l2cap_mtu_check(enum l2cap_addr_type type, uint16_t mtu)
{
	if (!l2cap_type_valid(type)) {
		return -EINVAL;
	}
	if (mtu == 0) {
		return 0;
	}
	if (l2cap_addr_type_is_le(type)) {
		return mtu >= L2CAP_LE_MTU_MIN ? 0 : -EINVAL;
	}
	return mtu >= L2CAP_BREDR_MTU_MIN ? 0 : -EINVAL;
}

int l2cap_tx_timestamping_flags(bool completion)
{
	int flags = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
		    SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;

	if (completion) {
		flags |= L2CAP_SOF_TX_COMPLETION;
	}
	return flags;
}

void l2cap_config_default(struct l2cap_config *ret)
{
	*ret = (struct l2cap_config){
	    .local = {.type = L2CAP_ADDR_LE_PUBLIC},
	    .remote = {.type = L2CAP_ADDR_LE_PUBLIC},
	    .psm = 0,
	    .rx_mtu = 0,
	    .security = L2CAP_SECURITY_LEAVE,
	    .tx_timestamps = false,
	    .backlog = 4,
	};
	sockopt_config_default(&ret->sock);
}

static bool security_valid(enum l2cap_security s)
{
	switch (s) {
	case L2CAP_SECURITY_LEAVE:
	case L2CAP_SECURITY_LOW:
	case L2CAP_SECURITY_MEDIUM:
	case L2CAP_SECURITY_HIGH:
	case L2CAP_SECURITY_FIPS:
		return true;
	}
	return false;
}

int l2cap_config_check(const struct l2cap_config *cfg)
{
	if (!l2cap_type_valid(cfg->local.type) ||
	    !l2cap_type_valid(cfg->remote.type) ||
	    !security_valid(cfg->security)) {
		return -EINVAL;
	}
	/* The kernel refuses the mix too (l2cap_sock_connect()). */
	if (l2cap_addr_type_is_le(cfg->local.type) !=
	    l2cap_addr_type_is_le(cfg->remote.type)) {
		return -EINVAL;
	}
	return l2cap_mtu_check(cfg->remote.type, cfg->rx_mtu);
}
