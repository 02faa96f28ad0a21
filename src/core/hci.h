/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_HCI_H
#define TTWS_CORE_HCI_H

/*
 * HCI command encoder and event decoder for a minimal LE host (Core 5.4,
 * Vol 4, Part E): the commands an LE central needs to reset a controller,
 * size its buffers, find and connect the earbuds and tune the connection,
 * plus the three an emulated peripheral needs to advertise; the events
 * that answer them. Bytes in, structs out; the transport lives elsewhere
 * (an H4 packet is h4_encode() of what these encoders write).
 *
 * Packets here are HCI packets without a transport indicator: a command
 * is opcode (2, little-endian), parameter length (1), parameters
 * (Vol 4, Part E, 5.4.1); an event is code (1), parameter length (1),
 * parameters (5.4.4). Multi-octet fields are little-endian (5.2).
 * Array parameters with a common index are interleaved per index, as
 * every controller sends them (Number Of Completed Packets, Advertising
 * Report).
 *
 * Encoders validate parameter ranges from the command's section so that
 * a bad value is -EINVAL here, not an "Invalid HCI Command Parameters"
 * status a round trip later; nothing is written on error.
 *
 * Event decode errors, one per failure, first failure wins, in this
 * order:
 *	-EBADMSG    fewer than the 2 header octets
 *	-EOVERFLOW  the parameter length runs past the packet (truncated)
 *	-E2BIG      octets after the parameters (trailing bytes)
 *	-ENOMSG     event code or LE subevent this decoder does not handle
 *	            (the host may ignore it: it is well-framed)
 *	-ENODATA    parameters shorter than the event's layout ("short"),
 *	            including fewer than its counts announce
 *	-EMSGSIZE   parameters longer than the event's layout ("long"),
 *	            including octets after the last counted entry
 *	-ERANGE     a count or length field outside its range
 *	            (Num_Reports 0 or over 0x19, Data_Length over 31)
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Number of distinct event decode errors, for an array of counters. */
#define HCI_N_ERRORS 7

#define HCI_CMD_HDR_SIZE 3
#define HCI_EVT_HDR_SIZE 2
#define HCI_CMD_MAX (HCI_CMD_HDR_SIZE + 255)
#define HCI_EVT_MAX (HCI_EVT_HDR_SIZE + 255)

/* Vol 4, Part E, 5.4.2: Connection_Handle range. */
#define HCI_HANDLE_MAX 0x0eff
/* A connection handle an answer did not give (handles are 12 bits). */
#define HCI_HANDLE_UNKNOWN 0xffff

/* Vol 4, Part E, 5.4.1: OGF (6 bits) and OCF (10 bits). */
#define HCI_OPCODE(ogf, ocf) ((uint16_t)((ogf) << 10 | (ocf)))

/* Opcodes, with the section of Vol 4, Part E that defines each. */
enum hci_opcode {
	HCI_OP_NOP = 0x0000,
	HCI_OP_DISCONNECT = 0x0406,                      /* 7.1.6 */
	HCI_OP_SET_EVENT_MASK = 0x0c01,                  /* 7.3.1 */
	HCI_OP_RESET = 0x0c03,                           /* 7.3.2 */
	HCI_OP_WRITE_LE_HOST_SUPPORTED = 0x0c6d,         /* 7.3.79 */
	HCI_OP_READ_BUFFER_SIZE = 0x1005,                /* 7.4.5 */
	HCI_OP_READ_BD_ADDR = 0x1009,                    /* 7.4.6 */
	HCI_OP_LE_SET_EVENT_MASK = 0x2001,               /* 7.8.1 */
	HCI_OP_LE_READ_BUFFER_SIZE = 0x2002,             /* 7.8.2 v1 */
	HCI_OP_LE_SET_ADVERTISING_PARAMETERS = 0x2006,   /* 7.8.5 */
	HCI_OP_LE_SET_ADVERTISING_DATA = 0x2008,         /* 7.8.7 */
	HCI_OP_LE_SET_ADVERTISING_ENABLE = 0x200a,       /* 7.8.9 */
	HCI_OP_LE_SET_SCAN_PARAMETERS = 0x200b,          /* 7.8.10 */
	HCI_OP_LE_SET_SCAN_ENABLE = 0x200c,              /* 7.8.11 */
	HCI_OP_LE_CREATE_CONNECTION = 0x200d,            /* 7.8.12 */
	HCI_OP_LE_CREATE_CONNECTION_CANCEL = 0x200e,     /* 7.8.13 */
	HCI_OP_LE_CONNECTION_UPDATE = 0x2013,            /* 7.8.18 */
	HCI_OP_LE_REMOTE_CONN_PARAM_REQ_REPLY = 0x2020,  /* 7.8.31 */
	HCI_OP_LE_REMOTE_CONN_PARAM_REQ_NEG_REPLY = 0x2021, /* 7.8.32 */
	HCI_OP_LE_READ_BUFFER_SIZE_V2 = 0x2060,          /* 7.8.2 v2 */
};

/* Event codes, Vol 4, Part E, 7.7. */
enum hci_evt_code {
	HCI_EVT_DISCONNECTION_COMPLETE = 0x05,       /* 7.7.5 */
	HCI_EVT_COMMAND_COMPLETE = 0x0e,             /* 7.7.14 */
	HCI_EVT_COMMAND_STATUS = 0x0f,               /* 7.7.15 */
	HCI_EVT_HARDWARE_ERROR = 0x10,               /* 7.7.16 */
	HCI_EVT_NUMBER_OF_COMPLETED_PACKETS = 0x13,  /* 7.7.19 */
	HCI_EVT_LE_META = 0x3e,                      /* 7.7.65 */
};

/* LE Meta subevent codes, Vol 4, Part E, 7.7.65.x. */
enum hci_le_subevt {
	HCI_LE_CONNECTION_COMPLETE = 0x01,             /* 7.7.65.1 */
	HCI_LE_ADVERTISING_REPORT = 0x02,              /* 7.7.65.2 */
	HCI_LE_CONNECTION_UPDATE_COMPLETE = 0x03,      /* 7.7.65.3 */
	HCI_LE_REMOTE_CONN_PARAM_REQUEST = 0x06,       /* 7.7.65.6 */
	HCI_LE_ENHANCED_CONNECTION_COMPLETE = 0x0a,    /* 7.7.65.10 */
};

/* Error codes used here, Vol 1, Part F, 1.3. */
enum hci_status {
	HCI_SUCCESS = 0x00,
	HCI_UNKNOWN_COMMAND = 0x01,
	HCI_UNKNOWN_CONNECTION_ID = 0x02,
	HCI_AUTHENTICATION_FAILURE = 0x05,
	HCI_CONNECTION_TIMEOUT = 0x08,
	HCI_COMMAND_DISALLOWED = 0x0c,
	HCI_INVALID_PARAMETERS = 0x12,
	HCI_REMOTE_USER_TERMINATED = 0x13,
	HCI_REMOTE_LOW_RESOURCES = 0x14,
	HCI_REMOTE_POWER_OFF = 0x15,
	HCI_LOCAL_HOST_TERMINATED = 0x16,
	HCI_UNSUPPORTED_REMOTE_FEATURE = 0x1a,
	HCI_PAIRING_UNIT_KEY_UNSUPPORTED = 0x29,
	HCI_UNACCEPTABLE_CONN_PARAMS = 0x3b,
	HCI_CONNECTION_FAILED_TO_ESTABLISH = 0x3e,
};

/*
 * Event mask bits for HCI_Set_Event_Mask (7.3.1); Command Complete,
 * Command Status and Number Of Completed Packets cannot be masked.
 */
#define HCI_EVENT_MASK_DISCONNECTION_COMPLETE (UINT64_C(1) << 4)
#define HCI_EVENT_MASK_ENCRYPTION_CHANGE (UINT64_C(1) << 7)
#define HCI_EVENT_MASK_HARDWARE_ERROR (UINT64_C(1) << 15)
#define HCI_EVENT_MASK_DATA_BUFFER_OVERFLOW (UINT64_C(1) << 25)
#define HCI_EVENT_MASK_ENCRYPTION_KEY_REFRESH (UINT64_C(1) << 47)
#define HCI_EVENT_MASK_LE_META (UINT64_C(1) << 61)

/* LE event mask bits for HCI_LE_Set_Event_Mask (7.8.1): bit n is LE
 * subevent n + 1 for these. With both connection-complete bits set the
 * controller sends only the enhanced one (7.7.65.10). */
#define HCI_LE_EVENT_MASK_CONNECTION_COMPLETE (UINT64_C(1) << 0)
#define HCI_LE_EVENT_MASK_ADVERTISING_REPORT (UINT64_C(1) << 1)
#define HCI_LE_EVENT_MASK_CONNECTION_UPDATE_COMPLETE (UINT64_C(1) << 2)
#define HCI_LE_EVENT_MASK_REMOTE_CONN_PARAM_REQUEST (UINT64_C(1) << 5)
#define HCI_LE_EVENT_MASK_ENHANCED_CONNECTION_COMPLETE (UINT64_C(1) << 9)

/* A BD_ADDR in wire order: b[0] is the least significant octet, so
 * AA:BB:CC:DD:EE:FF is { 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa }. */
struct hci_bdaddr {
	uint8_t b[6];
};

/* Address types, 7.8.12 (Peer/Own_Address_Type). */
enum hci_addr_type {
	HCI_ADDR_PUBLIC = 0x00,
	HCI_ADDR_RANDOM = 0x01,
	HCI_ADDR_PUBLIC_IDENTITY = 0x02, /* peer types in events only */
	HCI_ADDR_RANDOM_IDENTITY = 0x03,
};

/* Advertising_Type, 7.8.5. */
enum hci_adv_type {
	HCI_ADV_IND = 0x00,
	HCI_ADV_DIRECT_IND_HIGH = 0x01,
	HCI_ADV_SCAN_IND = 0x02,
	HCI_ADV_NONCONN_IND = 0x03,
	HCI_ADV_DIRECT_IND_LOW = 0x04,
};

/* Role in LE Connection Complete, 7.7.65.1. */
enum hci_role {
	HCI_ROLE_CENTRAL = 0x00,
	HCI_ROLE_PERIPHERAL = 0x01,
};

/* ---- commands ------------------------------------------------------ */

/* 7.8.10. Intervals and windows in units of 0.625 ms, 0x0004-0x4000,
 * window <= interval. */
struct hci_le_scan_params {
	uint8_t active;          /* LE_Scan_Type: 0 passive, 1 active */
	uint16_t interval;
	uint16_t window;
	uint8_t own_addr_type;   /* enum hci_addr_type, 0x00-0x03 */
	uint8_t filter_policy;   /* 0x00-0x03 */
};

/* 7.8.12. Scan interval/window as above; connection interval in units of
 * 1.25 ms (0x0006-0x0C80), max latency in connection events (<= 0x01F3),
 * supervision timeout in units of 10 ms (0x000A-0x0C80, and longer than
 * (1 + max_latency) * interval_max * 2), CE lengths in units of 0.625 ms
 * (min <= max). */
struct hci_le_conn_params {
	uint16_t scan_interval;
	uint16_t scan_window;
	uint8_t filter_policy;   /* 0: use peer address, 1: accept list */
	uint8_t peer_addr_type;  /* enum hci_addr_type */
	struct hci_bdaddr peer_addr;
	uint8_t own_addr_type;
	uint16_t interval_min;
	uint16_t interval_max;
	uint16_t max_latency;
	uint16_t supervision_timeout;
	uint16_t min_ce_len;
	uint16_t max_ce_len;
};

/* 7.8.18 and 7.8.31: connection parameters for an existing handle,
 * same units and ranges as struct hci_le_conn_params. */
struct hci_le_conn_update {
	uint16_t handle;
	uint16_t interval_min;
	uint16_t interval_max;
	uint16_t max_latency;
	uint16_t supervision_timeout;
	uint16_t min_ce_len;
	uint16_t max_ce_len;
};

/* 7.8.5. Intervals in units of 0.625 ms, 0x0020-0x4000, min <= max
 * (ignored for HCI_ADV_DIRECT_IND_HIGH); channel map bits 0-2 (37, 38,
 * 39), at least one set; peer address used by directed types only. */
struct hci_le_adv_params {
	uint16_t interval_min;
	uint16_t interval_max;
	uint8_t type;            /* enum hci_adv_type */
	uint8_t own_addr_type;
	uint8_t peer_addr_type;  /* public or random */
	struct hci_bdaddr peer_addr;
	uint8_t channel_map;
	uint8_t filter_policy;   /* 0x00-0x03 */
};

/* Largest legacy advertising data, 7.8.7. */
#define HCI_ADV_DATA_MAX 31

/*
 * Every encoder writes one complete command packet into buf (cap octets)
 * and returns 0 with *ret_len, or -EINVAL (a parameter out of the range
 * its section gives) or -ENOBUFS (cap too small); buf and *ret_len are
 * untouched on error.
 */

/* Any command: header + plen octets of params (params may be NULL when
 * plen is 0). -EINVAL if plen > 255. */
int hci_cmd_encode(uint16_t opcode, const uint8_t *params, size_t plen,
		   uint8_t *buf, size_t cap, size_t *ret_len);

int hci_cmd_reset(uint8_t *buf, size_t cap, size_t *ret_len);
int hci_cmd_set_event_mask(uint64_t mask, uint8_t *buf, size_t cap,
			   size_t *ret_len);
int hci_cmd_le_set_event_mask(uint64_t mask, uint8_t *buf, size_t cap,
			      size_t *ret_len);
int hci_cmd_read_bd_addr(uint8_t *buf, size_t cap, size_t *ret_len);
int hci_cmd_read_buffer_size(uint8_t *buf, size_t cap, size_t *ret_len);
int hci_cmd_le_read_buffer_size(uint8_t *buf, size_t cap, size_t *ret_len);
int hci_cmd_le_read_buffer_size_v2(uint8_t *buf, size_t cap,
				   size_t *ret_len);
/* 7.3.79: only meaningful on a BR/EDR/LE controller; le is 0 or 1, the
 * second (Simultaneous_LE_Host) parameter is written as 0 (unused). */
int hci_cmd_write_le_host_supported(uint8_t le, uint8_t *buf, size_t cap,
				    size_t *ret_len);
int hci_cmd_le_set_scan_params(const struct hci_le_scan_params *p,
			       uint8_t *buf, size_t cap, size_t *ret_len);
/* enable and filter_dup are 0 or 1. */
int hci_cmd_le_set_scan_enable(uint8_t enable, uint8_t filter_dup,
			       uint8_t *buf, size_t cap, size_t *ret_len);
int hci_cmd_le_create_conn(const struct hci_le_conn_params *p, uint8_t *buf,
			   size_t cap, size_t *ret_len);
int hci_cmd_le_create_conn_cancel(uint8_t *buf, size_t cap, size_t *ret_len);
/* 7.1.6: reason one of 0x05, 0x13, 0x14, 0x15, 0x1A, 0x29, 0x3B. */
int hci_cmd_disconnect(uint16_t handle, uint8_t reason, uint8_t *buf,
		       size_t cap, size_t *ret_len);
int hci_cmd_le_conn_update(const struct hci_le_conn_update *p, uint8_t *buf,
			   size_t cap, size_t *ret_len);
/* Answers to HCI_LE_Remote_Connection_Parameter_Request (7.8.31/32). */
int hci_cmd_le_remote_conn_param_reply(const struct hci_le_conn_update *p,
				       uint8_t *buf, size_t cap,
				       size_t *ret_len);
int hci_cmd_le_remote_conn_param_neg_reply(uint16_t handle, uint8_t reason,
					   uint8_t *buf, size_t cap,
					   size_t *ret_len);
int hci_cmd_le_set_adv_params(const struct hci_le_adv_params *p,
			      uint8_t *buf, size_t cap, size_t *ret_len);
/* len <= HCI_ADV_DATA_MAX; the parameter is always 32 octets, the unused
 * tail zero (7.8.7). */
int hci_cmd_le_set_adv_data(const uint8_t *data, size_t len, uint8_t *buf,
			    size_t cap, size_t *ret_len);
int hci_cmd_le_set_adv_enable(uint8_t enable, uint8_t *buf, size_t cap,
			      size_t *ret_len);

/* ---- events -------------------------------------------------------- */

/* What hci_evt_decode() found; one per struct in the union below. */
enum hci_evt_kind {
	HCI_KIND_DISCONNECTION_COMPLETE,
	HCI_KIND_COMMAND_COMPLETE,
	HCI_KIND_COMMAND_STATUS,
	HCI_KIND_HARDWARE_ERROR,
	HCI_KIND_NUMBER_OF_COMPLETED_PACKETS,
	HCI_KIND_LE_CONNECTION_COMPLETE, /* legacy and enhanced */
	HCI_KIND_LE_ADVERTISING_REPORT,
	HCI_KIND_LE_CONNECTION_UPDATE_COMPLETE,
	HCI_KIND_LE_REMOTE_CONN_PARAM_REQUEST,
};

/* 7.7.14 with the return parameters of the commands above. */
struct hci_evt_cmd_complete {
	uint8_t ncmd;        /* Num_HCI_Command_Packets */
	uint16_t opcode;
	/*
	 * First return parameter, which is Status for every command here;
	 * 0 when the event has no return parameters (a NOP ncmd update).
	 * For a command this decoder knows, a non-zero status may come with
	 * the status alone (controllers answer an unknown or refused
	 * command that way); the union is then zero.
	 */
	uint8_t status;
	const uint8_t *params; /* return parameters, into the packet */
	uint8_t params_len;
	union {
		struct hci_bdaddr read_bd_addr;
		struct {
			uint16_t acl_len;  /* ACL_Data_Packet_Length */
			uint8_t sco_len;
			uint16_t acl_num;  /* Total_Num_ACL_Data_Packets */
			uint16_t sco_num;
		} read_buffer_size;
		/* v1 leaves iso_len and iso_num 0. acl_len 0 means the
		 * controller shares the BR/EDR buffers (7.8.2). */
		struct {
			uint16_t acl_len;
			uint8_t acl_num;
			uint16_t iso_len;
			uint8_t iso_num;
		} le_read_buffer_size;
		/* 7.8.31, 7.8.32; HCI_HANDLE_UNKNOWN when the answer
		 * carried the status alone */
		uint16_t conn_param_reply_handle;
	};
};

/* 7.7.15 */
struct hci_evt_cmd_status {
	uint8_t status;
	uint8_t ncmd;
	uint16_t opcode;
};

/* 7.7.5 */
struct hci_evt_disconn_complete {
	uint8_t status;
	uint16_t handle;
	uint8_t reason;
};

/* 7.7.19: at most (255 - 1) / 4 entries fit one event. */
#define HCI_NOCP_MAX 63
struct hci_evt_num_completed {
	uint8_t num_handles;
	struct {
		uint16_t handle;
		uint16_t count;
	} entry[HCI_NOCP_MAX];
};

/* 7.7.65.1 and 7.7.65.10. Interval in units of 1.25 ms, latency in
 * connection events, supervision timeout in units of 10 ms. */
struct hci_evt_le_conn_complete {
	bool enhanced;           /* from 7.7.65.10: the RPAs are valid */
	uint8_t status;
	uint16_t handle;
	uint8_t role;            /* enum hci_role */
	uint8_t peer_addr_type;  /* enum hci_addr_type */
	struct hci_bdaddr peer_addr;
	struct hci_bdaddr local_rpa;
	struct hci_bdaddr peer_rpa;
	uint16_t interval;
	uint16_t latency;
	uint16_t supervision_timeout;
	uint8_t clock_accuracy;
};

/* 7.7.65.2: Num_Reports 0x01-0x19, data at most 31 octets. */
#define HCI_ADV_REPORT_MAX 25
struct hci_evt_le_adv_report {
	uint8_t num_reports;
	struct {
		uint8_t event_type;
		uint8_t addr_type;
		struct hci_bdaddr addr;
		uint8_t data_len;
		const uint8_t *data; /* into the packet */
		int8_t rssi;         /* dBm, 127 = not available */
	} report[HCI_ADV_REPORT_MAX];
};

/* 7.7.65.3 */
struct hci_evt_le_conn_update_complete {
	uint8_t status;
	uint16_t handle;
	uint16_t interval;
	uint16_t latency;
	uint16_t supervision_timeout;
};

/* 7.7.65.6 */
struct hci_evt_le_conn_param_req {
	uint16_t handle;
	uint16_t interval_min;
	uint16_t interval_max;
	uint16_t max_latency;
	uint16_t timeout;
};

struct hci_evt {
	enum hci_evt_kind kind;
	uint8_t code;     /* wire event code */
	uint8_t subevent; /* LE subevent, 0 for other events */
	union {
		struct hci_evt_disconn_complete disconn_complete;
		struct hci_evt_cmd_complete cmd_complete;
		struct hci_evt_cmd_status cmd_status;
		uint8_t hardware_code;
		struct hci_evt_num_completed num_completed;
		struct hci_evt_le_conn_complete le_conn_complete;
		struct hci_evt_le_adv_report le_adv_report;
		struct hci_evt_le_conn_update_complete le_conn_update_complete;
		struct hci_evt_le_conn_param_req le_remote_conn_param_req;
	};
};

/*
 * Decode one event packet of len octets into *ret. Never reads outside
 * [pkt, pkt + len); pointers in *ret point into pkt. Handles are masked
 * to their 12 bits. Returns 0, or an error of the table above with *ret
 * untouched.
 */
int hci_evt_decode(const uint8_t *pkt, size_t len, struct hci_evt *ret);

/* Index in [0, HCI_N_ERRORS) of a decode error, in table order, or
 * -EINVAL for any other value. */
int hci_error_index(int err);

/* "short-header", "truncated", "trailing", "unknown", "short", "long",
 * "bad-count"; NULL for any other value. */
const char *hci_error_name(int err);

#endif
