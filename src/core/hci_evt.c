/* SPDX-License-Identifier: MIT */
/*
 * HCI event decoder (the command encoder is hci.c): every field a
 * controller sends is range-checked before a struct holds it. Layouts:
 * Core 5.4, Vol 4, Part E, 5.4 (packets) and 7.7 (events); section
 * numbers below are of that Part unless they say otherwise.
 */

#include <errno.h>
#include <string.h>

#include "core/hci.h"
#include "core/macro.h"

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void get_bdaddr(struct hci_bdaddr *a, const uint8_t *p)
{
	memcpy(a->b, p, sizeof(a->b));
}

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
