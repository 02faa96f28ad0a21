/* SPDX-License-Identifier: MIT */
/*
 * HCI command encoder (the event decoder is hci_evt.c). Layouts: Core
 * 5.4, Vol 4, Part E, 5.4 (packets) and 7 (commands); section numbers
 * below are of that Part unless they say otherwise.
 */

#include <errno.h>
#include <string.h>

#include "core/hci.h"
#include "core/macro.h"

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static void put_bdaddr(uint8_t *p, const struct hci_bdaddr *a)
{
	memcpy(p, a->b, sizeof(a->b));
}

/* ---- commands ------------------------------------------------------ */

/* Header into buf; the caller checked cap. */
static uint8_t *cmd_start(uint8_t *buf, uint16_t opcode, size_t plen)
{
	put_le16(buf, opcode);
	buf[2] = (uint8_t)plen;
	return buf + HCI_CMD_HDR_SIZE;
}

static int cmd_room(size_t plen, size_t cap, size_t *ret_len)
{
	if (cap < HCI_CMD_HDR_SIZE + plen) {
		return -ENOBUFS;
	}
	*ret_len = HCI_CMD_HDR_SIZE + plen;
	return 0;
}

int hci_cmd_encode(uint16_t opcode, const uint8_t *params, size_t plen,
		   uint8_t *buf, size_t cap, size_t *ret_len)
{
	size_t n;
	int r;

	if (plen > 255 || (plen > 0 && !params)) {
		return -EINVAL;
	}
	r = cmd_room(plen, cap, &n);
	if (r < 0) {
		return r;
	}
	/* params may already sit at buf + 3 (built in place). */
	if (plen > 0 && params != buf + HCI_CMD_HDR_SIZE) {
		memmove(buf + HCI_CMD_HDR_SIZE, params, plen);
	}
	cmd_start(buf, opcode, plen);
	*ret_len = n;
	return 0;
}

static int cmd_noparam(uint16_t opcode, uint8_t *buf, size_t cap,
		       size_t *ret_len)
{
	return hci_cmd_encode(opcode, NULL, 0, buf, cap, ret_len);
}

/* 7.3.2 */
int hci_cmd_reset(uint8_t *buf, size_t cap, size_t *ret_len)
{
	return cmd_noparam(HCI_OP_RESET, buf, cap, ret_len);
}

static int cmd_mask(uint16_t opcode, uint64_t mask, uint8_t *buf,
		    size_t cap, size_t *ret_len)
{
	uint8_t p[8];

	put_le64(p, mask);
	return hci_cmd_encode(opcode, p, sizeof(p), buf, cap, ret_len);
}

/* 7.3.1: Event_Mask, 8 octets. */
int hci_cmd_set_event_mask(uint64_t mask, uint8_t *buf, size_t cap,
			   size_t *ret_len)
{
	return cmd_mask(HCI_OP_SET_EVENT_MASK, mask, buf, cap, ret_len);
}

/* 7.8.1: LE_Event_Mask, 8 octets. */
int hci_cmd_le_set_event_mask(uint64_t mask, uint8_t *buf, size_t cap,
			      size_t *ret_len)
{
	return cmd_mask(HCI_OP_LE_SET_EVENT_MASK, mask, buf, cap, ret_len);
}

/* 7.4.6 */
int hci_cmd_read_bd_addr(uint8_t *buf, size_t cap, size_t *ret_len)
{
	return cmd_noparam(HCI_OP_READ_BD_ADDR, buf, cap, ret_len);
}

/* 7.4.5 */
int hci_cmd_read_buffer_size(uint8_t *buf, size_t cap, size_t *ret_len)
{
	return cmd_noparam(HCI_OP_READ_BUFFER_SIZE, buf, cap, ret_len);
}

/* 7.8.2 */
int hci_cmd_le_read_buffer_size(uint8_t *buf, size_t cap, size_t *ret_len)
{
	return cmd_noparam(HCI_OP_LE_READ_BUFFER_SIZE, buf, cap, ret_len);
}

int hci_cmd_le_read_buffer_size_v2(uint8_t *buf, size_t cap,
				   size_t *ret_len)
{
	return cmd_noparam(HCI_OP_LE_READ_BUFFER_SIZE_V2, buf, cap, ret_len);
}

/* 7.3.79: LE_Supported_Host, then an unused octet that shall be 0. */
int hci_cmd_write_le_host_supported(uint8_t le, uint8_t *buf, size_t cap,
				    size_t *ret_len)
{
	uint8_t p[2] = { le, 0x00 };

	if (le > 1) {
		return -EINVAL;
	}
	return hci_cmd_encode(HCI_OP_WRITE_LE_HOST_SUPPORTED, p, sizeof(p),
			      buf, cap, ret_len);
}

/* 7.8.10 and 7.8.12: LE_Scan_Interval and LE_Scan_Window range. */
static bool scan_timing_ok(uint16_t interval, uint16_t window)
{
	return interval >= 0x0004 && interval <= 0x4000 &&
	       window >= 0x0004 && window <= interval;
}

/* 7.8.10 */
int hci_cmd_le_set_scan_params(const struct hci_le_scan_params *p,
			       uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t q[7];

	if (p->active > 1 || !scan_timing_ok(p->interval, p->window) ||
	    p->own_addr_type > 0x03 || p->filter_policy > 0x03) {
		return -EINVAL;
	}
	q[0] = p->active;
	put_le16(q + 1, p->interval);
	put_le16(q + 3, p->window);
	q[5] = p->own_addr_type;
	q[6] = p->filter_policy;
	return hci_cmd_encode(HCI_OP_LE_SET_SCAN_PARAMETERS, q, sizeof(q), buf,
			      cap, ret_len);
}

/* 7.8.11 */
int hci_cmd_le_set_scan_enable(uint8_t enable, uint8_t filter_dup,
			       uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t q[2] = { enable, filter_dup };

	if (enable > 1 || filter_dup > 1) {
		return -EINVAL;
	}
	return hci_cmd_encode(HCI_OP_LE_SET_SCAN_ENABLE, q, sizeof(q), buf,
			      cap, ret_len);
}

/*
 * 7.8.12 (and 7.8.18): Connection_Interval 0x0006-0x0C80, Max_Latency
 * <= 0x01F3, Supervision_Timeout 0x000A-0x0C80 and, in ms, larger than
 * (1 + Max_Latency) * Connection_Interval_Max * 2. In the units of the
 * fields (10 ms, 1.25 ms) that is timeout * 10 > (1 + lat) * imax * 2.5,
 * i.e. timeout * 4 > (1 + lat) * imax, exactly in integers.
 */
static bool conn_timing_ok(uint16_t imin, uint16_t imax, uint16_t latency,
			   uint16_t timeout, uint16_t ce_min, uint16_t ce_max)
{
	if (imin < 0x0006 || imax > 0x0c80 || imin > imax) {
		return false;
	}
	if (latency > 0x01f3) {
		return false;
	}
	if (timeout < 0x000a || timeout > 0x0c80) {
		return false;
	}
	if ((uint32_t)timeout * 4 <= (1 + (uint32_t)latency) * imax) {
		return false;
	}
	return ce_min <= ce_max;
}

int hci_cmd_le_create_conn(const struct hci_le_conn_params *p, uint8_t *buf,
			   size_t cap, size_t *ret_len)
{
	uint8_t q[25];

	if (!scan_timing_ok(p->scan_interval, p->scan_window) ||
	    p->filter_policy > 0x01 || p->peer_addr_type > 0x03 ||
	    p->own_addr_type > 0x03 ||
	    !conn_timing_ok(p->interval_min, p->interval_max, p->max_latency,
			    p->supervision_timeout, p->min_ce_len,
			    p->max_ce_len)) {
		return -EINVAL;
	}
	put_le16(q, p->scan_interval);
	put_le16(q + 2, p->scan_window);
	q[4] = p->filter_policy;
	q[5] = p->peer_addr_type;
	put_bdaddr(q + 6, &p->peer_addr);
	q[12] = p->own_addr_type;
	put_le16(q + 13, p->interval_min);
	put_le16(q + 15, p->interval_max);
	put_le16(q + 17, p->max_latency);
	put_le16(q + 19, p->supervision_timeout);
	put_le16(q + 21, p->min_ce_len);
	put_le16(q + 23, p->max_ce_len);
	return hci_cmd_encode(HCI_OP_LE_CREATE_CONNECTION, q, sizeof(q), buf,
			      cap, ret_len);
}

/* 7.8.13 */
int hci_cmd_le_create_conn_cancel(uint8_t *buf, size_t cap, size_t *ret_len)
{
	return cmd_noparam(HCI_OP_LE_CREATE_CONNECTION_CANCEL, buf, cap,
			   ret_len);
}

/* 7.1.6: the reasons a host may give. */
static bool disconnect_reason_ok(uint8_t reason)
{
	switch (reason) {
	case HCI_AUTHENTICATION_FAILURE:
	case HCI_REMOTE_USER_TERMINATED:
	case HCI_REMOTE_LOW_RESOURCES:
	case HCI_REMOTE_POWER_OFF:
	case HCI_UNSUPPORTED_REMOTE_FEATURE:
	case HCI_PAIRING_UNIT_KEY_UNSUPPORTED:
	case HCI_UNACCEPTABLE_CONN_PARAMS:
		return true;
	default:
		/* Not our enum: any other octet is invalid. */
		return false;
	}
}

int hci_cmd_disconnect(uint16_t handle, uint8_t reason, uint8_t *buf,
		       size_t cap, size_t *ret_len)
{
	uint8_t q[3];

	if (handle > HCI_HANDLE_MAX || !disconnect_reason_ok(reason)) {
		return -EINVAL;
	}
	put_le16(q, handle);
	q[2] = reason;
	return hci_cmd_encode(HCI_OP_DISCONNECT, q, sizeof(q), buf, cap,
			      ret_len);
}

/* 7.8.18 and 7.8.31 share this 14-octet layout. */
static int cmd_conn_update(uint16_t opcode, const struct hci_le_conn_update *p,
			   uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t q[14];

	if (p->handle > HCI_HANDLE_MAX ||
	    !conn_timing_ok(p->interval_min, p->interval_max, p->max_latency,
			    p->supervision_timeout, p->min_ce_len,
			    p->max_ce_len)) {
		return -EINVAL;
	}
	put_le16(q, p->handle);
	put_le16(q + 2, p->interval_min);
	put_le16(q + 4, p->interval_max);
	put_le16(q + 6, p->max_latency);
	put_le16(q + 8, p->supervision_timeout);
	put_le16(q + 10, p->min_ce_len);
	put_le16(q + 12, p->max_ce_len);
	return hci_cmd_encode(opcode, q, sizeof(q), buf, cap, ret_len);
}

int hci_cmd_le_conn_update(const struct hci_le_conn_update *p, uint8_t *buf,
			   size_t cap, size_t *ret_len)
{
	return cmd_conn_update(HCI_OP_LE_CONNECTION_UPDATE, p, buf, cap,
			       ret_len);
}

int hci_cmd_le_remote_conn_param_reply(const struct hci_le_conn_update *p,
				       uint8_t *buf, size_t cap,
				       size_t *ret_len)
{
	return cmd_conn_update(HCI_OP_LE_REMOTE_CONN_PARAM_REQ_REPLY, p, buf,
			       cap, ret_len);
}

/* 7.8.32: Connection_Handle, Reason (an error code; 0 is no reason). */
int hci_cmd_le_remote_conn_param_neg_reply(uint16_t handle, uint8_t reason,
					   uint8_t *buf, size_t cap,
					   size_t *ret_len)
{
	uint8_t q[3];

	if (handle > HCI_HANDLE_MAX || reason == HCI_SUCCESS) {
		return -EINVAL;
	}
	put_le16(q, handle);
	q[2] = reason;
	return hci_cmd_encode(HCI_OP_LE_REMOTE_CONN_PARAM_REQ_NEG_REPLY, q,
			      sizeof(q), buf, cap, ret_len);
}

/* 7.8.5 */
int hci_cmd_le_set_adv_params(const struct hci_le_adv_params *p,
			      uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t q[15];
	bool timed = p->type != HCI_ADV_DIRECT_IND_HIGH;

	if (p->type > HCI_ADV_DIRECT_IND_LOW || p->own_addr_type > 0x03 ||
	    p->peer_addr_type > 0x01 || (p->channel_map & 0x07) == 0 ||
	    (p->channel_map & ~0x07) != 0 || p->filter_policy > 0x03) {
		return -EINVAL;
	}
	/* High duty cycle directed advertising ignores the intervals. */
	if (timed && (p->interval_min < 0x0020 || p->interval_max > 0x4000 ||
		      p->interval_min > p->interval_max)) {
		return -EINVAL;
	}
	put_le16(q, p->interval_min);
	put_le16(q + 2, p->interval_max);
	q[4] = p->type;
	q[5] = p->own_addr_type;
	q[6] = p->peer_addr_type;
	put_bdaddr(q + 7, &p->peer_addr);
	q[13] = p->channel_map;
	q[14] = p->filter_policy;
	return hci_cmd_encode(HCI_OP_LE_SET_ADVERTISING_PARAMETERS, q,
			      sizeof(q), buf, cap, ret_len);
}

/* 7.8.7: Advertising_Data_Length, then 31 octets of which the first
 * Advertising_Data_Length are significant. */
int hci_cmd_le_set_adv_data(const uint8_t *data, size_t len, uint8_t *buf,
			    size_t cap, size_t *ret_len)
{
	uint8_t q[1 + HCI_ADV_DATA_MAX] = { 0 };

	if (len > HCI_ADV_DATA_MAX || (len > 0 && !data)) {
		return -EINVAL;
	}
	q[0] = (uint8_t)len;
	if (len > 0) {
		memcpy(q + 1, data, len);
	}
	return hci_cmd_encode(HCI_OP_LE_SET_ADVERTISING_DATA, q, sizeof(q),
			      buf, cap, ret_len);
}

/* 7.8.9 */
int hci_cmd_le_set_adv_enable(uint8_t enable, uint8_t *buf, size_t cap,
			      size_t *ret_len)
{
	if (enable > 1) {
		return -EINVAL;
	}
	return hci_cmd_encode(HCI_OP_LE_SET_ADVERTISING_ENABLE, &enable, 1, buf,
			      cap, ret_len);
}
