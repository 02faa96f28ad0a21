/* SPDX-License-Identifier: MIT */
/*
 * HCI command encoder and event decoder. Layouts: Core 5.4, Vol 4,
 * Part E, 5.4 (packets) and 7 (commands and events); section numbers
 * below are of that Part unless they say otherwise.
 */

#include <errno.h>
#include <string.h>

#include "core/hci.h"
#include "core/macro.h"

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

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

static void get_bdaddr(struct hci_bdaddr *a, const uint8_t *p)
{
	memcpy(a->b, p, sizeof(a->b));
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

/* ---- events -------------------------------------------------------- */

static const struct {
	int err;
	const char *name;
} hci_errors[HCI_N_ERRORS] = {
	{ -EBADMSG, "short-header" },
	{ -EOVERFLOW, "truncated" },
	{ -E2BIG, "trailing" },
	{ -ENOMSG, "unknown" },
	{ -ENODATA, "short" },
	{ -EMSGSIZE, "long" },
	{ -ERANGE, "bad-count" },
};

int hci_error_index(int err)
{
	for (size_t i = 0; i < ARRAY_SIZE(hci_errors); i++) {
		if (hci_errors[i].err == err) {
			return (int)i;
		}
	}
	return -EINVAL;
}

const char *hci_error_name(int err)
{
	int i = hci_error_index(err);

	return i < 0 ? NULL : hci_errors[i].name;
}

/* Exact parameter size: short and long are different errors. */
static int want_exact(size_t have, size_t want)
{
	if (have < want) {
		return -ENODATA;
	}
	if (have > want) {
		return -EMSGSIZE;
	}
	return 0;
}

/*
 * Return parameter octets of the Command Complete for a command known
 * here, 0 for one answered by Command Status (or a NOP), which is then
 * decoded generically.
 */
static size_t cc_return_size(uint16_t opcode)
{
	switch ((enum hci_opcode)opcode) {
	case HCI_OP_NOP:
	case HCI_OP_DISCONNECT:
	case HCI_OP_LE_CREATE_CONNECTION:
	case HCI_OP_LE_CONNECTION_UPDATE:
		return 0;
	case HCI_OP_SET_EVENT_MASK:
	case HCI_OP_RESET:
	case HCI_OP_WRITE_LE_HOST_SUPPORTED:
	case HCI_OP_LE_SET_EVENT_MASK:
	case HCI_OP_LE_SET_ADVERTISING_PARAMETERS:
	case HCI_OP_LE_SET_ADVERTISING_DATA:
	case HCI_OP_LE_SET_ADVERTISING_ENABLE:
	case HCI_OP_LE_SET_SCAN_PARAMETERS:
	case HCI_OP_LE_SET_SCAN_ENABLE:
	case HCI_OP_LE_CREATE_CONNECTION_CANCEL:
		return 1;
	case HCI_OP_READ_BUFFER_SIZE:
		return 8; /* 7.4.5 */
	case HCI_OP_READ_BD_ADDR:
		return 7; /* 7.4.6 */
	case HCI_OP_LE_READ_BUFFER_SIZE:
		return 4; /* 7.8.2 v1 */
	case HCI_OP_LE_READ_BUFFER_SIZE_V2:
		return 7; /* 7.8.2 v2 */
	case HCI_OP_LE_REMOTE_CONN_PARAM_REQ_REPLY:
	case HCI_OP_LE_REMOTE_CONN_PARAM_REQ_NEG_REPLY:
		return 3; /* 7.8.31, 7.8.32: Status, Connection_Handle */
	}
	return 0;
}

/* 7.7.14: Num_HCI_Command_Packets, Command_Opcode, Return_Parameters. */
static int decode_cmd_complete(const uint8_t *p, size_t n,
			       struct hci_evt_cmd_complete *m)
{
	const uint8_t *rp = p + 3;
	size_t rn, want;
	int r;

	if (n < 3) {
		return -ENODATA;
	}
	m->ncmd = p[0];
	m->opcode = get_le16(p + 1);
	rn = n - 3;
	m->params = rn ? rp : NULL;
	m->params_len = (uint8_t)rn;
	m->status = rn ? rp[0] : 0;

	want = cc_return_size(m->opcode);
	if (want == 0) {
		return 0;
	}
	/* A failed command may answer with its status alone. */
	if (rn == 1 && m->status != HCI_SUCCESS) {
		return 0;
	}
	/* The replies to a peer's parameter request may too, even on
	 * success: BlueZ's emulator does (emulator/btdev.c,
	 * cmd_conn_param_reply). Refusing that answer would leave the
	 * command unanswered until its timeout fails the whole host; the
	 * handle, which nothing needs, is then unknown. */
	if (rn == 1 &&
	    (m->opcode == HCI_OP_LE_REMOTE_CONN_PARAM_REQ_REPLY ||
	     m->opcode == HCI_OP_LE_REMOTE_CONN_PARAM_REQ_NEG_REPLY)) {
		m->conn_param_reply_handle = HCI_HANDLE_UNKNOWN;
		return 0;
	}
	r = want_exact(rn, want);
	if (r < 0) {
		return r;
	}

	switch ((enum hci_opcode)m->opcode) {
	case HCI_OP_READ_BD_ADDR:
		get_bdaddr(&m->read_bd_addr, rp + 1);
		break;
	case HCI_OP_READ_BUFFER_SIZE:
		m->read_buffer_size.acl_len = get_le16(rp + 1);
		m->read_buffer_size.sco_len = rp[3];
		m->read_buffer_size.acl_num = get_le16(rp + 4);
		m->read_buffer_size.sco_num = get_le16(rp + 6);
		break;
	case HCI_OP_LE_READ_BUFFER_SIZE:
		m->le_read_buffer_size.acl_len = get_le16(rp + 1);
		m->le_read_buffer_size.acl_num = rp[3];
		break;
	case HCI_OP_LE_READ_BUFFER_SIZE_V2:
		m->le_read_buffer_size.acl_len = get_le16(rp + 1);
		m->le_read_buffer_size.acl_num = rp[3];
		m->le_read_buffer_size.iso_len = get_le16(rp + 4);
		m->le_read_buffer_size.iso_num = rp[6];
		break;
	case HCI_OP_LE_REMOTE_CONN_PARAM_REQ_REPLY:
	case HCI_OP_LE_REMOTE_CONN_PARAM_REQ_NEG_REPLY:
		m->conn_param_reply_handle = get_le16(rp + 1) & 0x0fff;
		break;
	case HCI_OP_NOP:
	case HCI_OP_DISCONNECT:
	case HCI_OP_SET_EVENT_MASK:
	case HCI_OP_RESET:
	case HCI_OP_WRITE_LE_HOST_SUPPORTED:
	case HCI_OP_LE_SET_EVENT_MASK:
	case HCI_OP_LE_SET_ADVERTISING_PARAMETERS:
	case HCI_OP_LE_SET_ADVERTISING_DATA:
	case HCI_OP_LE_SET_ADVERTISING_ENABLE:
	case HCI_OP_LE_SET_SCAN_PARAMETERS:
	case HCI_OP_LE_SET_SCAN_ENABLE:
	case HCI_OP_LE_CREATE_CONNECTION:
	case HCI_OP_LE_CREATE_CONNECTION_CANCEL:
	case HCI_OP_LE_CONNECTION_UPDATE:
		/* Status only. */
		break;
	}
	return 0;
}

/* 7.7.19: Num_Handles, then (Connection_Handle, Num_Completed_Packets)
 * per handle. */
static int decode_num_completed(const uint8_t *p, size_t n,
				struct hci_evt_num_completed *m)
{
	size_t want;
	int r;

	if (n < 1) {
		return -ENODATA;
	}
	m->num_handles = p[0];
	want = 1 + 4 * (size_t)m->num_handles;
	r = want_exact(n, want);
	if (r < 0) {
		return r;
	}
	for (size_t i = 0; i < m->num_handles; i++) {
		m->entry[i].handle = get_le16(p + 1 + 4 * i) & 0x0fff;
		m->entry[i].count = get_le16(p + 3 + 4 * i);
	}
	return 0;
}

/* 7.7.65.1 (18 octets after the subevent) and 7.7.65.10 (30): the same
 * fields with the two RPAs inserted after Peer_Address. */
static int decode_conn_complete(const uint8_t *p, size_t n, bool enhanced,
				struct hci_evt_le_conn_complete *m)
{
	size_t rpa = enhanced ? 12 : 0;
	int r = want_exact(n, 18 + rpa);

	if (r < 0) {
		return r;
	}
	m->enhanced = enhanced;
	m->status = p[0];
	m->handle = get_le16(p + 1) & 0x0fff;
	m->role = p[3];
	m->peer_addr_type = p[4];
	get_bdaddr(&m->peer_addr, p + 5);
	if (enhanced) {
		get_bdaddr(&m->local_rpa, p + 11);
		get_bdaddr(&m->peer_rpa, p + 17);
	}
	m->interval = get_le16(p + 11 + rpa);
	m->latency = get_le16(p + 13 + rpa);
	m->supervision_timeout = get_le16(p + 15 + rpa);
	m->clock_accuracy = p[17 + rpa];
	return 0;
}

/* 7.7.65.2: Num_Reports, then per report Event_Type, Address_Type,
 * Address, Data_Length, Data, RSSI. */
static int decode_adv_report(const uint8_t *p, size_t n,
			     struct hci_evt_le_adv_report *m)
{
	size_t off = 1;

	if (n < 1) {
		return -ENODATA;
	}
	m->num_reports = p[0];
	if (m->num_reports == 0 || m->num_reports > HCI_ADV_REPORT_MAX) {
		return -ERANGE;
	}
	for (size_t i = 0; i < m->num_reports; i++) {
		if (n - off < 9) {
			return -ENODATA;
		}
		m->report[i].event_type = p[off];
		m->report[i].addr_type = p[off + 1];
		get_bdaddr(&m->report[i].addr, p + off + 2);
		m->report[i].data_len = p[off + 8];
		off += 9;
		if (m->report[i].data_len > HCI_ADV_DATA_MAX) {
			return -ERANGE;
		}
		if (n - off < (size_t)m->report[i].data_len + 1) {
			return -ENODATA;
		}
		m->report[i].data = m->report[i].data_len ? p + off : NULL;
		off += m->report[i].data_len;
		m->report[i].rssi = (int8_t)p[off];
		off++;
	}
	return off == n ? 0 : -EMSGSIZE;
}

static int decode_le_meta(const uint8_t *p, size_t n, struct hci_evt *m)
{
	if (n < 1) {
		return -ENODATA;
	}
	m->subevent = p[0];
	p++;
	n--;

	switch ((enum hci_le_subevt)m->subevent) {
	case HCI_LE_CONNECTION_COMPLETE:
		m->kind = HCI_KIND_LE_CONNECTION_COMPLETE;
		return decode_conn_complete(p, n, false, &m->le_conn_complete);
	case HCI_LE_ENHANCED_CONNECTION_COMPLETE:
		m->kind = HCI_KIND_LE_CONNECTION_COMPLETE;
		return decode_conn_complete(p, n, true, &m->le_conn_complete);
	case HCI_LE_ADVERTISING_REPORT:
		m->kind = HCI_KIND_LE_ADVERTISING_REPORT;
		return decode_adv_report(p, n, &m->le_adv_report);
	case HCI_LE_CONNECTION_UPDATE_COMPLETE: {
		struct hci_evt_le_conn_update_complete *u =
			&m->le_conn_update_complete;
		int r = want_exact(n, 9);

		if (r < 0) {
			return r;
		}
		m->kind = HCI_KIND_LE_CONNECTION_UPDATE_COMPLETE;
		u->status = p[0];
		u->handle = get_le16(p + 1) & 0x0fff;
		u->interval = get_le16(p + 3);
		u->latency = get_le16(p + 5);
		u->supervision_timeout = get_le16(p + 7);
		return 0;
	}
	case HCI_LE_REMOTE_CONN_PARAM_REQUEST: {
		struct hci_evt_le_conn_param_req *q =
			&m->le_remote_conn_param_req;
		int r = want_exact(n, 10);

		if (r < 0) {
			return r;
		}
		m->kind = HCI_KIND_LE_REMOTE_CONN_PARAM_REQUEST;
		q->handle = get_le16(p) & 0x0fff;
		q->interval_min = get_le16(p + 2);
		q->interval_max = get_le16(p + 4);
		q->max_latency = get_le16(p + 6);
		q->timeout = get_le16(p + 8);
		return 0;
	}
	}
	return -ENOMSG;
}

static int decode_body(const uint8_t *p, size_t n, struct hci_evt *m)
{
	int r;

	switch ((enum hci_evt_code)m->code) {
	case HCI_EVT_DISCONNECTION_COMPLETE:
		r = want_exact(n, 4);
		if (r < 0) {
			return r;
		}
		m->kind = HCI_KIND_DISCONNECTION_COMPLETE;
		m->disconn_complete.status = p[0];
		m->disconn_complete.handle = get_le16(p + 1) & 0x0fff;
		m->disconn_complete.reason = p[3];
		return 0;
	case HCI_EVT_COMMAND_COMPLETE:
		m->kind = HCI_KIND_COMMAND_COMPLETE;
		return decode_cmd_complete(p, n, &m->cmd_complete);
	case HCI_EVT_COMMAND_STATUS:
		r = want_exact(n, 4);
		if (r < 0) {
			return r;
		}
		m->kind = HCI_KIND_COMMAND_STATUS;
		m->cmd_status.status = p[0];
		m->cmd_status.ncmd = p[1];
		m->cmd_status.opcode = get_le16(p + 2);
		return 0;
	case HCI_EVT_HARDWARE_ERROR:
		r = want_exact(n, 1);
		if (r < 0) {
			return r;
		}
		m->kind = HCI_KIND_HARDWARE_ERROR;
		m->hardware_code = p[0];
		return 0;
	case HCI_EVT_NUMBER_OF_COMPLETED_PACKETS:
		m->kind = HCI_KIND_NUMBER_OF_COMPLETED_PACKETS;
		return decode_num_completed(p, n, &m->num_completed);
	case HCI_EVT_LE_META:
		return decode_le_meta(p, n, m);
	}
	/* Any other wire code: well-framed, not ours. */
	return -ENOMSG;
}

int hci_evt_decode(const uint8_t *pkt, size_t len, struct hci_evt *ret)
{
	struct hci_evt m;
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

	memset(&m, 0, sizeof(m));
	m.code = pkt[0];
	r = decode_body(pkt + HCI_EVT_HDR_SIZE, n, &m);
	if (r < 0) {
		return r;
	}
	*ret = m;
	return 0;
}
