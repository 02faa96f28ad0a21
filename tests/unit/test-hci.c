/* SPDX-License-Identifier: MIT */
/*
 * HCI command and event codec tests. Every packet is written out by hand
 * from the layouts of Core 5.4, Vol 4, Part E, section 7 (the section is
 * named on each row), so a layout mistake in the codec cannot hide
 * behind the same mistake in a test helper.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/hci.h"
#include "core/macro.h"

#define data(args...) ((const uint8_t[]){ args })
#define raw_pdu(args...) .bytes = data(args), .len = sizeof(data(args))

/* C0:11:22:33:44:55, a static random address, in wire order. */
static const struct hci_bdaddr peer = {
	{ 0x55, 0x44, 0x33, 0x22, 0x11, 0xc0 }
};

static const struct hci_le_conn_params conn_params = {
	.scan_interval = 0x0060,
	.scan_window = 0x0060,
	.filter_policy = 0,
	.peer_addr_type = HCI_ADDR_RANDOM,
	.peer_addr = { { 0x55, 0x44, 0x33, 0x22, 0x11, 0xc0 } },
	.own_addr_type = HCI_ADDR_PUBLIC,
	.interval_min = 0x0006,
	.interval_max = 0x0006,
	.max_latency = 0,
	.supervision_timeout = 0x0048,
	.min_ce_len = 0,
	.max_ce_len = 0,
};

static const struct hci_le_conn_update conn_update = {
	.handle = 0x0040,
	.interval_min = 0x0018,
	.interval_max = 0x0028,
	.max_latency = 0,
	.supervision_timeout = 0x01f4,
	.min_ce_len = 0,
	.max_ce_len = 0,
};

static const struct hci_le_adv_params adv_params = {
	.interval_min = 0x00a0,
	.interval_max = 0x00a0,
	.type = HCI_ADV_IND,
	.own_addr_type = HCI_ADDR_PUBLIC,
	.peer_addr_type = HCI_ADDR_PUBLIC,
	.channel_map = 0x07,
	.filter_policy = 0,
};

static const struct hci_le_scan_params scan_params = {
	.active = 1,
	.interval = 0x0060,
	.window = 0x0030,
	.own_addr_type = HCI_ADDR_PUBLIC,
	.filter_policy = 0,
};

static const uint8_t adv_data[] = { 0x02, 0x01, 0x06, 0x05, 0x09,
				    't',  't',  'w',  's' };

/* ---- commands, byte-exact ------------------------------------------ */

enum cmd_id {
	C_RESET,
	C_SET_EVENT_MASK,
	C_LE_SET_EVENT_MASK,
	C_READ_BD_ADDR,
	C_READ_BUFFER_SIZE,
	C_LE_READ_BUFFER_SIZE,
	C_LE_READ_BUFFER_SIZE_V2,
	C_WRITE_LE_HOST_SUPPORTED,
	C_LE_SET_SCAN_PARAMS,
	C_LE_SET_SCAN_ENABLE,
	C_LE_CREATE_CONN,
	C_LE_CREATE_CONN_CANCEL,
	C_DISCONNECT,
	C_LE_CONN_UPDATE,
	C_LE_REMOTE_CONN_PARAM_REPLY,
	C_LE_REMOTE_CONN_PARAM_NEG_REPLY,
	C_LE_SET_ADV_PARAMS,
	C_LE_SET_ADV_DATA,
	C_LE_SET_ADV_ENABLE,
};

static int encode(enum cmd_id id, uint8_t *buf, size_t cap, size_t *n)
{
	switch (id) {
	case C_RESET:
		return hci_cmd_reset(buf, cap, n);
	case C_SET_EVENT_MASK:
		return hci_cmd_set_event_mask(
			HCI_EVENT_MASK_DISCONNECTION_COMPLETE |
				HCI_EVENT_MASK_ENCRYPTION_CHANGE |
				HCI_EVENT_MASK_HARDWARE_ERROR |
				HCI_EVENT_MASK_DATA_BUFFER_OVERFLOW |
				HCI_EVENT_MASK_ENCRYPTION_KEY_REFRESH |
				HCI_EVENT_MASK_LE_META,
			buf, cap, n);
	case C_LE_SET_EVENT_MASK:
		return hci_cmd_le_set_event_mask(
			HCI_LE_EVENT_MASK_CONNECTION_COMPLETE |
				HCI_LE_EVENT_MASK_ADVERTISING_REPORT |
				HCI_LE_EVENT_MASK_CONNECTION_UPDATE_COMPLETE |
				HCI_LE_EVENT_MASK_REMOTE_CONN_PARAM_REQUEST |
				HCI_LE_EVENT_MASK_ENHANCED_CONNECTION_COMPLETE,
			buf, cap, n);
	case C_READ_BD_ADDR:
		return hci_cmd_read_bd_addr(buf, cap, n);
	case C_READ_BUFFER_SIZE:
		return hci_cmd_read_buffer_size(buf, cap, n);
	case C_LE_READ_BUFFER_SIZE:
		return hci_cmd_le_read_buffer_size(buf, cap, n);
	case C_LE_READ_BUFFER_SIZE_V2:
		return hci_cmd_le_read_buffer_size_v2(buf, cap, n);
	case C_WRITE_LE_HOST_SUPPORTED:
		return hci_cmd_write_le_host_supported(1, buf, cap, n);
	case C_LE_SET_SCAN_PARAMS:
		return hci_cmd_le_set_scan_params(&scan_params, buf, cap, n);
	case C_LE_SET_SCAN_ENABLE:
		return hci_cmd_le_set_scan_enable(1, 1, buf, cap, n);
	case C_LE_CREATE_CONN:
		return hci_cmd_le_create_conn(&conn_params, buf, cap, n);
	case C_LE_CREATE_CONN_CANCEL:
		return hci_cmd_le_create_conn_cancel(buf, cap, n);
	case C_DISCONNECT:
		return hci_cmd_disconnect(0x0040, HCI_REMOTE_USER_TERMINATED,
					  buf, cap, n);
	case C_LE_CONN_UPDATE:
		return hci_cmd_le_conn_update(&conn_update, buf, cap, n);
	case C_LE_REMOTE_CONN_PARAM_REPLY:
		return hci_cmd_le_remote_conn_param_reply(&conn_update, buf,
							  cap, n);
	case C_LE_REMOTE_CONN_PARAM_NEG_REPLY:
		return hci_cmd_le_remote_conn_param_neg_reply(
			0x0040, HCI_UNACCEPTABLE_CONN_PARAMS, buf, cap, n);
	case C_LE_SET_ADV_PARAMS:
		return hci_cmd_le_set_adv_params(&adv_params, buf, cap, n);
	case C_LE_SET_ADV_DATA:
		return hci_cmd_le_set_adv_data(adv_data, sizeof(adv_data), buf,
					       cap, n);
	case C_LE_SET_ADV_ENABLE:
		return hci_cmd_le_set_adv_enable(1, buf, cap, n);
	}
	return -EINVAL;
}

struct cmd_row {
	const char *name;
	enum cmd_id id;
	const uint8_t *bytes;
	size_t len;
};

static const struct cmd_row cmd_rows[] = {
	/* 7.3.2: opcode 0x0C03, no parameters. */
	{ "Reset", C_RESET, raw_pdu(0x03, 0x0c, 0x00) },
	/* 7.3.1: bits 4, 7, 15, 25, 47, 61. */
	{ "Set_Event_Mask", C_SET_EVENT_MASK,
	  raw_pdu(0x01, 0x0c, 0x08, 0x90, 0x80, 0x00, 0x02, 0x00, 0x80, 0x00,
		  0x20) },
	/* 7.8.1: bits 0, 1, 2, 5, 9. */
	{ "LE_Set_Event_Mask", C_LE_SET_EVENT_MASK,
	  raw_pdu(0x01, 0x20, 0x08, 0x27, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00) },
	/* 7.4.6 */
	{ "Read_BD_ADDR", C_READ_BD_ADDR, raw_pdu(0x09, 0x10, 0x00) },
	/* 7.4.5 */
	{ "Read_Buffer_Size", C_READ_BUFFER_SIZE, raw_pdu(0x05, 0x10, 0x00) },
	/* 7.8.2 */
	{ "LE_Read_Buffer_Size", C_LE_READ_BUFFER_SIZE,
	  raw_pdu(0x02, 0x20, 0x00) },
	{ "LE_Read_Buffer_Size_v2", C_LE_READ_BUFFER_SIZE_V2,
	  raw_pdu(0x60, 0x20, 0x00) },
	/* 7.3.79: LE_Supported_Host 1, unused 0. */
	{ "Write_LE_Host_Support", C_WRITE_LE_HOST_SUPPORTED,
	  raw_pdu(0x6d, 0x0c, 0x02, 0x01, 0x00) },
	/* 7.8.10: active, 60 ms interval, 30 ms window, public, all. */
	{ "LE_Set_Scan_Parameters", C_LE_SET_SCAN_PARAMS,
	  raw_pdu(0x0b, 0x20, 0x07, 0x01, 0x60, 0x00, 0x30, 0x00, 0x00,
		  0x00) },
	/* 7.8.11: enable, filter duplicates. */
	{ "LE_Set_Scan_Enable", C_LE_SET_SCAN_ENABLE,
	  raw_pdu(0x0c, 0x20, 0x02, 0x01, 0x01) },
	/* 7.8.12: 25 octets. */
	{ "LE_Create_Connection", C_LE_CREATE_CONN,
	  raw_pdu(0x0d, 0x20, 0x19,
		  0x60, 0x00, 0x60, 0x00, /* scan interval, window */
		  0x00,                   /* filter policy */
		  0x01,                   /* peer: random */
		  0x55, 0x44, 0x33, 0x22, 0x11, 0xc0,
		  0x00,                   /* own: public */
		  0x06, 0x00, 0x06, 0x00, /* 7.5 ms */
		  0x00, 0x00,             /* latency */
		  0x48, 0x00,             /* 720 ms */
		  0x00, 0x00, 0x00, 0x00) },
	/* 7.8.13 */
	{ "LE_Create_Connection_Cancel", C_LE_CREATE_CONN_CANCEL,
	  raw_pdu(0x0e, 0x20, 0x00) },
	/* 7.1.6: handle 0x0040, Remote User Terminated Connection. */
	{ "Disconnect", C_DISCONNECT,
	  raw_pdu(0x06, 0x04, 0x03, 0x40, 0x00, 0x13) },
	/* 7.8.18: 30-50 ms, latency 0, 5 s. */
	{ "LE_Connection_Update", C_LE_CONN_UPDATE,
	  raw_pdu(0x13, 0x20, 0x0e, 0x40, 0x00, 0x18, 0x00, 0x28, 0x00, 0x00,
		  0x00, 0xf4, 0x01, 0x00, 0x00, 0x00, 0x00) },
	/* 7.8.31: the same layout. */
	{ "LE_Remote_Connection_Parameter_Request_Reply",
	  C_LE_REMOTE_CONN_PARAM_REPLY,
	  raw_pdu(0x20, 0x20, 0x0e, 0x40, 0x00, 0x18, 0x00, 0x28, 0x00, 0x00,
		  0x00, 0xf4, 0x01, 0x00, 0x00, 0x00, 0x00) },
	/* 7.8.32 */
	{ "LE_Remote_Connection_Parameter_Request_Negative_Reply",
	  C_LE_REMOTE_CONN_PARAM_NEG_REPLY,
	  raw_pdu(0x21, 0x20, 0x03, 0x40, 0x00, 0x3b) },
	/* 7.8.5: 100 ms, ADV_IND, public, all three channels. */
	{ "LE_Set_Advertising_Parameters", C_LE_SET_ADV_PARAMS,
	  raw_pdu(0x06, 0x20, 0x0f, 0xa0, 0x00, 0xa0, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00) },
	/* 7.8.7: length 9, data, 22 zero octets of padding. */
	{ "LE_Set_Advertising_Data", C_LE_SET_ADV_DATA,
	  raw_pdu(0x08, 0x20, 0x20, 0x09, 0x02, 0x01, 0x06, 0x05, 0x09, 't',
		  't', 'w', 's', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		  0, 0, 0, 0, 0, 0) },
	/* 7.8.9 */
	{ "LE_Set_Advertising_Enable", C_LE_SET_ADV_ENABLE,
	  raw_pdu(0x0a, 0x20, 0x01, 0x01) },
};

static void test_commands(void **state)
{
	uint8_t buf[HCI_CMD_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(cmd_rows); i++) {
		const struct cmd_row *r = &cmd_rows[i];
		size_t n = 0;

		memset(buf, 0xee, sizeof(buf));
		if (encode(r->id, buf, sizeof(buf), &n) != 0) {
			fail_msg("%s: encode failed", r->name);
		}
		if (n != r->len || memcmp(buf, r->bytes, n) != 0) {
			fail_msg("%s: bytes differ (len %zu, want %zu)",
				 r->name, n, r->len);
		}
		/* Nothing past the packet is touched. */
		assert_int_equal(buf[n], 0xee);
	}
}

/* One octet short: -ENOBUFS and nothing written, for every encoder. */
static void test_commands_short_buffer(void **state)
{
	uint8_t buf[HCI_CMD_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(cmd_rows); i++) {
		const struct cmd_row *r = &cmd_rows[i];
		size_t n = 777;

		memset(buf, 0xee, sizeof(buf));
		assert_int_equal(encode(r->id, buf, r->len - 1, &n), -ENOBUFS);
		assert_int_equal(n, 777);
		for (size_t j = 0; j < sizeof(buf); j++) {
			assert_int_equal(buf[j], 0xee);
		}
		assert_int_equal(encode(r->id, buf, r->len, &n), 0);
	}
}

static void test_command_generic(void **state)
{
	uint8_t buf[HCI_CMD_MAX];
	uint8_t big[256] = { 0 };
	size_t n;

	/* A vendor command (OGF 0x3F). */
	assert_int_equal(hci_cmd_encode(HCI_OPCODE(0x3f, 0x001), data(7, 8), 2,
					buf, sizeof(buf), &n),
			 0);
	assert_int_equal(n, 5);
	assert_memory_equal(buf, data(0x01, 0xfc, 0x02, 0x07, 0x08), 5);
	assert_int_equal(hci_cmd_encode(0x0c03, big, 255, buf, sizeof(buf), &n),
			 0);
	assert_int_equal(n, 258);
	assert_int_equal(hci_cmd_encode(0x0c03, big, 256, buf, sizeof(buf), &n),
			 -EINVAL);
	assert_int_equal(hci_cmd_encode(0x0c03, NULL, 1, buf, sizeof(buf), &n),
			 -EINVAL);

	/* Parameters built in place at buf + 3. */
	buf[3] = 0xaa;
	assert_int_equal(hci_cmd_encode(0x1234, buf + 3, 1, buf, sizeof(buf),
					&n),
			 0);
	assert_memory_equal(buf, data(0x34, 0x12, 0x01, 0xaa), 4);
	assert_int_equal(HCI_OPCODE(0x08, 0x000d), HCI_OP_LE_CREATE_CONNECTION);
}

/* Each range check of the sections, at its edge. */
static void test_command_ranges(void **state)
{
	struct hci_le_conn_params c;
	struct hci_le_conn_update u;
	struct hci_le_adv_params a;
	struct hci_le_scan_params s;
	uint8_t buf[HCI_CMD_MAX], big[40] = { 0 };
	size_t n;

	/* 7.8.12: supervision timeout must exceed
	 * (1 + latency) * interval_max * 2: with 50 ms and latency 4 that
	 * is 500 ms, so 50 (x 10 ms) fails and 51 passes. */
	c = conn_params;
	c.interval_min = c.interval_max = 0x0028;
	c.max_latency = 4;
	c.supervision_timeout = 50;
	assert_int_equal(hci_cmd_le_create_conn(&c, buf, sizeof(buf), &n),
			 -EINVAL);
	c.supervision_timeout = 51;
	assert_int_equal(hci_cmd_le_create_conn(&c, buf, sizeof(buf), &n), 0);
	c = conn_params;
	c.interval_min = 5;
	assert_int_equal(hci_cmd_le_create_conn(&c, buf, sizeof(buf), &n),
			 -EINVAL);
	c = conn_params;
	c.interval_max = 0x0c81;
	assert_int_equal(hci_cmd_le_create_conn(&c, buf, sizeof(buf), &n),
			 -EINVAL);
	c = conn_params;
	c.interval_min = 8; /* min > max */
	assert_int_equal(hci_cmd_le_create_conn(&c, buf, sizeof(buf), &n),
			 -EINVAL);
	c = conn_params;
	c.max_latency = 0x01f4;
	c.supervision_timeout = 0x0c80;
	assert_int_equal(hci_cmd_le_create_conn(&c, buf, sizeof(buf), &n),
			 -EINVAL);
	c.max_latency = 0x01f3;
	assert_int_equal(hci_cmd_le_create_conn(&c, buf, sizeof(buf), &n), 0);
	c = conn_params;
	c.supervision_timeout = 0x0009;
	assert_int_equal(hci_cmd_le_create_conn(&c, buf, sizeof(buf), &n),
			 -EINVAL);
	c = conn_params;
	c.scan_window = 0x0061; /* window > interval */
	assert_int_equal(hci_cmd_le_create_conn(&c, buf, sizeof(buf), &n),
			 -EINVAL);
	c = conn_params;
	c.min_ce_len = 2;
	c.max_ce_len = 1;
	assert_int_equal(hci_cmd_le_create_conn(&c, buf, sizeof(buf), &n),
			 -EINVAL);
	c = conn_params;
	c.filter_policy = 2;
	assert_int_equal(hci_cmd_le_create_conn(&c, buf, sizeof(buf), &n),
			 -EINVAL);

	u = conn_update;
	u.handle = 0x0f00;
	assert_int_equal(hci_cmd_le_conn_update(&u, buf, sizeof(buf), &n),
			 -EINVAL);
	assert_int_equal(hci_cmd_le_remote_conn_param_reply(&u, buf,
							    sizeof(buf), &n),
			 -EINVAL);
	u.handle = 0x0eff;
	assert_int_equal(hci_cmd_le_conn_update(&u, buf, sizeof(buf), &n), 0);
	assert_int_equal(hci_cmd_le_remote_conn_param_neg_reply(
				 0x40, HCI_SUCCESS, buf, sizeof(buf), &n),
			 -EINVAL);

	s = scan_params;
	s.interval = 0x0003;
	s.window = 0x0003;
	assert_int_equal(hci_cmd_le_set_scan_params(&s, buf, sizeof(buf), &n),
			 -EINVAL);
	s = scan_params;
	s.interval = 0x4001;
	assert_int_equal(hci_cmd_le_set_scan_params(&s, buf, sizeof(buf), &n),
			 -EINVAL);
	s = scan_params;
	s.active = 2;
	assert_int_equal(hci_cmd_le_set_scan_params(&s, buf, sizeof(buf), &n),
			 -EINVAL);
	assert_int_equal(hci_cmd_le_set_scan_enable(2, 0, buf, sizeof(buf), &n),
			 -EINVAL);

	/* 7.1.6: only the listed reasons; 0x16 is the controller's own. */
	assert_int_equal(hci_cmd_disconnect(0x40, HCI_LOCAL_HOST_TERMINATED,
					    buf, sizeof(buf), &n),
			 -EINVAL);
	assert_int_equal(hci_cmd_disconnect(0x0f00, HCI_REMOTE_USER_TERMINATED,
					    buf, sizeof(buf), &n),
			 -EINVAL);
	assert_int_equal(hci_cmd_disconnect(0x40, HCI_UNACCEPTABLE_CONN_PARAMS,
					    buf, sizeof(buf), &n),
			 0);

	a = adv_params;
	a.channel_map = 0;
	assert_int_equal(hci_cmd_le_set_adv_params(&a, buf, sizeof(buf), &n),
			 -EINVAL);
	a.channel_map = 0x0f;
	assert_int_equal(hci_cmd_le_set_adv_params(&a, buf, sizeof(buf), &n),
			 -EINVAL);
	a = adv_params;
	a.interval_min = a.interval_max = 0x001f;
	assert_int_equal(hci_cmd_le_set_adv_params(&a, buf, sizeof(buf), &n),
			 -EINVAL);
	/* High duty cycle directed advertising ignores the intervals. */
	a.type = HCI_ADV_DIRECT_IND_HIGH;
	assert_int_equal(hci_cmd_le_set_adv_params(&a, buf, sizeof(buf), &n),
			 0);
	a.type = 5;
	assert_int_equal(hci_cmd_le_set_adv_params(&a, buf, sizeof(buf), &n),
			 -EINVAL);
	assert_int_equal(hci_cmd_le_set_adv_data(big, 32, buf, sizeof(buf), &n),
			 -EINVAL);
	assert_int_equal(hci_cmd_le_set_adv_data(big, 31, buf, sizeof(buf), &n),
			 0);
	assert_int_equal(hci_cmd_le_set_adv_data(NULL, 0, buf, sizeof(buf), &n),
			 0);
	assert_int_equal(n, 35);
	assert_int_equal(hci_cmd_le_set_adv_enable(2, buf, sizeof(buf), &n),
			 -EINVAL);
	assert_int_equal(hci_cmd_write_le_host_supported(2, buf, sizeof(buf),
							 &n),
			 -EINVAL);
}

/* ---- events -------------------------------------------------------- */

struct evt_row {
	const char *name;
	const uint8_t *bytes;
	size_t len;
	int err; /* expected return */
};

static int decode(const uint8_t *b, size_t len, struct hci_evt *e)
{
	memset(e, 0x5a, sizeof(*e));
	return hci_evt_decode(b, len, e);
}

static void test_evt_cmd_complete(void **state)
{
	struct hci_evt e;

	/* 7.7.14 with 7.3.2: ncmd 1, Reset, Success. */
	assert_int_equal(decode(data(0x0e, 0x04, 0x01, 0x03, 0x0c, 0x00), 6,
				&e),
			 0);
	assert_int_equal(e.kind, HCI_KIND_COMMAND_COMPLETE);
	assert_int_equal(e.code, HCI_EVT_COMMAND_COMPLETE);
	assert_int_equal(e.subevent, 0);
	assert_int_equal(e.cmd_complete.ncmd, 1);
	assert_int_equal(e.cmd_complete.opcode, HCI_OP_RESET);
	assert_int_equal(e.cmd_complete.status, 0);
	assert_int_equal(e.cmd_complete.params_len, 1);

	/* 7.4.6: BD_ADDR 00:11:22:33:44:55. */
	static const uint8_t bd[] = { 0x0e, 0x0a, 0x02, 0x09, 0x10, 0x00, 0x55,
				      0x44, 0x33, 0x22, 0x11, 0x00 };
	assert_int_equal(decode(bd, sizeof(bd), &e), 0);
	assert_int_equal(e.cmd_complete.ncmd, 2);
	assert_int_equal(e.cmd_complete.opcode, HCI_OP_READ_BD_ADDR);
	assert_memory_equal(e.cmd_complete.read_bd_addr.b,
			    data(0x55, 0x44, 0x33, 0x22, 0x11, 0x00), 6);
	assert_ptr_equal(e.cmd_complete.params, bd + 5);
	assert_int_equal(e.cmd_complete.params_len, 7);

	/* 7.4.5: ACL 1021 x 8, SCO 64 x 10. */
	assert_int_equal(decode(data(0x0e, 0x0b, 0x01, 0x05, 0x10, 0x00, 0xfd,
				     0x03, 0x40, 0x08, 0x00, 0x0a, 0x00),
				13, &e),
			 0);
	assert_int_equal(e.cmd_complete.read_buffer_size.acl_len, 1021);
	assert_int_equal(e.cmd_complete.read_buffer_size.sco_len, 64);
	assert_int_equal(e.cmd_complete.read_buffer_size.acl_num, 8);
	assert_int_equal(e.cmd_complete.read_buffer_size.sco_num, 10);

	/* 7.8.2 v1: 251 x 15. */
	assert_int_equal(decode(data(0x0e, 0x07, 0x01, 0x02, 0x20, 0x00, 0xfb,
				     0x00, 0x0f),
				9, &e),
			 0);
	assert_int_equal(e.cmd_complete.le_read_buffer_size.acl_len, 251);
	assert_int_equal(e.cmd_complete.le_read_buffer_size.acl_num, 15);
	assert_int_equal(e.cmd_complete.le_read_buffer_size.iso_len, 0);
	assert_int_equal(e.cmd_complete.le_read_buffer_size.iso_num, 0);

	/* 7.8.2 v2: ACL 27 x 3, ISO 100 x 2. */
	assert_int_equal(decode(data(0x0e, 0x0a, 0x01, 0x60, 0x20, 0x00, 0x1b,
				     0x00, 0x03, 0x64, 0x00, 0x02),
				12, &e),
			 0);
	assert_int_equal(e.cmd_complete.le_read_buffer_size.acl_len, 27);
	assert_int_equal(e.cmd_complete.le_read_buffer_size.acl_num, 3);
	assert_int_equal(e.cmd_complete.le_read_buffer_size.iso_len, 100);
	assert_int_equal(e.cmd_complete.le_read_buffer_size.iso_num, 2);

	/* 7.8.31: Status, Connection_Handle (flag bits masked off). */
	assert_int_equal(decode(data(0x0e, 0x06, 0x01, 0x20, 0x20, 0x00, 0x40,
				     0x30),
				8, &e),
			 0);
	assert_int_equal(e.cmd_complete.conn_param_reply_handle, 0x040);

	/* The reply to a parameter request answered with its status alone
	 * (BlueZ's emulator, even on success): accepted, handle unknown. */
	assert_int_equal(decode(data(0x0e, 0x04, 0x01, 0x20, 0x20, 0x00), 6,
				&e),
			 0);
	assert_int_equal(e.cmd_complete.status, HCI_SUCCESS);
	assert_int_equal(e.cmd_complete.conn_param_reply_handle,
			 HCI_HANDLE_UNKNOWN);
	/* Any other command's success needs its return parameters. */
	assert_int_equal(decode(data(0x0e, 0x04, 0x01, 0x09, 0x10, 0x00), 6,
				&e),
			 -ENODATA);

	/* A refused command may answer with its status alone. */
	assert_int_equal(decode(data(0x0e, 0x04, 0x01, 0x09, 0x10, 0x01), 6,
				&e),
			 0);
	assert_int_equal(e.cmd_complete.status, HCI_UNKNOWN_COMMAND);
	assert_int_equal(e.cmd_complete.params_len, 1);
	assert_int_equal(e.cmd_complete.read_bd_addr.b[0], 0);

	/* A NOP only returns command credits. */
	assert_int_equal(decode(data(0x0e, 0x03, 0x05, 0x00, 0x00), 5, &e), 0);
	assert_int_equal(e.cmd_complete.ncmd, 5);
	assert_int_equal(e.cmd_complete.opcode, HCI_OP_NOP);
	assert_int_equal(e.cmd_complete.params_len, 0);
	assert_null(e.cmd_complete.params);

	/* A command the decoder does not know: raw return parameters. */
	assert_int_equal(decode(data(0x0e, 0x06, 0x01, 0x01, 0xfc, 0x00, 0xaa,
				     0xbb),
				8, &e),
			 0);
	assert_int_equal(e.cmd_complete.opcode, 0xfc01);
	assert_int_equal(e.cmd_complete.params_len, 3);
	assert_int_equal(e.cmd_complete.params[2], 0xbb);
}

static void test_evt_others(void **state)
{
	struct hci_evt e;

	/* 7.7.15: Success, ncmd 1, LE Create Connection. */
	assert_int_equal(decode(data(0x0f, 0x04, 0x00, 0x01, 0x0d, 0x20), 6,
				&e),
			 0);
	assert_int_equal(e.kind, HCI_KIND_COMMAND_STATUS);
	assert_int_equal(e.cmd_status.status, 0);
	assert_int_equal(e.cmd_status.ncmd, 1);
	assert_int_equal(e.cmd_status.opcode, HCI_OP_LE_CREATE_CONNECTION);

	/* 7.7.5: handle 0x040 (with flag bits set on the wire), Remote
	 * User Terminated. */
	assert_int_equal(decode(data(0x05, 0x04, 0x00, 0x40, 0x20, 0x13), 6,
				&e),
			 0);
	assert_int_equal(e.kind, HCI_KIND_DISCONNECTION_COMPLETE);
	assert_int_equal(e.disconn_complete.status, 0);
	assert_int_equal(e.disconn_complete.handle, 0x040);
	assert_int_equal(e.disconn_complete.reason, 0x13);

	/* 7.7.16 */
	assert_int_equal(decode(data(0x10, 0x01, 0x07), 3, &e), 0);
	assert_int_equal(e.kind, HCI_KIND_HARDWARE_ERROR);
	assert_int_equal(e.hardware_code, 7);

	/* 7.7.19: two handles, interleaved (handle, count) pairs. */
	assert_int_equal(decode(data(0x13, 0x09, 0x02, 0x40, 0x00, 0x03, 0x00,
				     0x41, 0x00, 0x01, 0x01),
				11, &e),
			 0);
	assert_int_equal(e.kind, HCI_KIND_NUMBER_OF_COMPLETED_PACKETS);
	assert_int_equal(e.num_completed.num_handles, 2);
	assert_int_equal(e.num_completed.entry[0].handle, 0x40);
	assert_int_equal(e.num_completed.entry[0].count, 3);
	assert_int_equal(e.num_completed.entry[1].handle, 0x41);
	assert_int_equal(e.num_completed.entry[1].count, 257);
}

static void test_evt_le(void **state)
{
	struct hci_evt e;

	/* 7.7.65.1: Success, handle 0x40, central, random C0:11:22:33:44:55,
	 * 7.5 ms, latency 0, 720 ms, clock accuracy 5. */
	assert_int_equal(decode(data(0x3e, 0x13, 0x01, 0x00, 0x40, 0x00, 0x00,
				     0x01, 0x55, 0x44, 0x33, 0x22, 0x11, 0xc0,
				     0x06, 0x00, 0x00, 0x00, 0x48, 0x00, 0x05),
				21, &e),
			 0);
	assert_int_equal(e.kind, HCI_KIND_LE_CONNECTION_COMPLETE);
	assert_int_equal(e.subevent, HCI_LE_CONNECTION_COMPLETE);
	assert_false(e.le_conn_complete.enhanced);
	assert_int_equal(e.le_conn_complete.status, 0);
	assert_int_equal(e.le_conn_complete.handle, 0x40);
	assert_int_equal(e.le_conn_complete.role, HCI_ROLE_CENTRAL);
	assert_int_equal(e.le_conn_complete.peer_addr_type, HCI_ADDR_RANDOM);
	assert_memory_equal(e.le_conn_complete.peer_addr.b, peer.b, 6);
	assert_int_equal(e.le_conn_complete.interval, 6);
	assert_int_equal(e.le_conn_complete.latency, 0);
	assert_int_equal(e.le_conn_complete.supervision_timeout, 0x48);
	assert_int_equal(e.le_conn_complete.clock_accuracy, 5);
	assert_int_equal(e.le_conn_complete.local_rpa.b[0], 0);

	/* 7.7.65.10: the same with two RPAs after the peer address. */
	assert_int_equal(decode(data(0x3e, 0x1f, 0x0a, 0x00, 0x41, 0x00, 0x01,
				     0x01, 0x55, 0x44, 0x33, 0x22, 0x11, 0xc0,
				     0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0x4a,
				     0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0x4b,
				     0x18, 0x00, 0x02, 0x00, 0xf4, 0x01, 0x01),
				33, &e),
			 0);
	assert_int_equal(e.kind, HCI_KIND_LE_CONNECTION_COMPLETE);
	assert_int_equal(e.subevent, HCI_LE_ENHANCED_CONNECTION_COMPLETE);
	assert_true(e.le_conn_complete.enhanced);
	assert_int_equal(e.le_conn_complete.handle, 0x41);
	assert_int_equal(e.le_conn_complete.role, HCI_ROLE_PERIPHERAL);
	assert_memory_equal(e.le_conn_complete.peer_addr.b, peer.b, 6);
	assert_memory_equal(e.le_conn_complete.local_rpa.b,
			    data(0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0x4a), 6);
	assert_memory_equal(e.le_conn_complete.peer_rpa.b,
			    data(0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0x4b), 6);
	assert_int_equal(e.le_conn_complete.interval, 0x18);
	assert_int_equal(e.le_conn_complete.latency, 2);
	assert_int_equal(e.le_conn_complete.supervision_timeout, 0x1f4);
	assert_int_equal(e.le_conn_complete.clock_accuracy, 1);

	/* 7.7.65.2: two reports, interleaved per report. */
	static const uint8_t adv[] = {
		0x3e, 0x1f, 0x02, 0x02,
		0x00, 0x01, 0x55, 0x44, 0x33, 0x22, 0x11, 0xc0, 0x09,
		0x02, 0x01, 0x06, 0x05, 0x09, 't', 't', 'w', 's', 0xc4,
		0x04, 0x00, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00, 0x7f,
	};
	assert_int_equal(decode(adv, sizeof(adv), &e), 0);
	assert_int_equal(e.kind, HCI_KIND_LE_ADVERTISING_REPORT);
	assert_int_equal(e.le_adv_report.num_reports, 2);
	assert_int_equal(e.le_adv_report.report[0].event_type, 0);
	assert_int_equal(e.le_adv_report.report[0].addr_type, HCI_ADDR_RANDOM);
	assert_memory_equal(e.le_adv_report.report[0].addr.b, peer.b, 6);
	assert_int_equal(e.le_adv_report.report[0].data_len, 9);
	assert_ptr_equal(e.le_adv_report.report[0].data, adv + 13);
	assert_int_equal(e.le_adv_report.report[0].rssi, -60);
	assert_int_equal(e.le_adv_report.report[1].event_type, 4);
	assert_int_equal(e.le_adv_report.report[1].addr.b[0], 0x66);
	assert_int_equal(e.le_adv_report.report[1].data_len, 0);
	assert_null(e.le_adv_report.report[1].data);
	assert_int_equal(e.le_adv_report.report[1].rssi, 127);

	/* 7.7.65.3 */
	assert_int_equal(decode(data(0x3e, 0x0a, 0x03, 0x00, 0x40, 0x00, 0x18,
				     0x00, 0x01, 0x00, 0xf4, 0x01),
				12, &e),
			 0);
	assert_int_equal(e.kind, HCI_KIND_LE_CONNECTION_UPDATE_COMPLETE);
	assert_int_equal(e.le_conn_update_complete.handle, 0x40);
	assert_int_equal(e.le_conn_update_complete.interval, 0x18);
	assert_int_equal(e.le_conn_update_complete.latency, 1);
	assert_int_equal(e.le_conn_update_complete.supervision_timeout, 0x1f4);

	/* 7.7.65.6 */
	assert_int_equal(decode(data(0x3e, 0x0b, 0x06, 0x40, 0x00, 0x18, 0x00,
				     0x28, 0x00, 0x03, 0x00, 0xf4, 0x01),
				13, &e),
			 0);
	assert_int_equal(e.kind, HCI_KIND_LE_REMOTE_CONN_PARAM_REQUEST);
	assert_int_equal(e.le_remote_conn_param_req.handle, 0x40);
	assert_int_equal(e.le_remote_conn_param_req.interval_min, 0x18);
	assert_int_equal(e.le_remote_conn_param_req.interval_max, 0x28);
	assert_int_equal(e.le_remote_conn_param_req.max_latency, 3);
	assert_int_equal(e.le_remote_conn_param_req.timeout, 0x1f4);
}

/* Malformed events: each row one failure, with the error it must give. */
static const struct evt_row bad_rows[] = {
	{ "empty", raw_pdu(0x0e), -EBADMSG },
	{ "truncated", raw_pdu(0x0e, 0x04, 0x01, 0x03, 0x0c), -EOVERFLOW },
	{ "trailing", raw_pdu(0x0e, 0x04, 0x01, 0x03, 0x0c, 0x00, 0xff),
	  -E2BIG },
	{ "unknown code", raw_pdu(0x08, 0x04, 0x00, 0x40, 0x00, 0x01),
	  -ENOMSG },
	{ "unknown LE subevent", raw_pdu(0x3e, 0x02, 0x14, 0x00), -ENOMSG },
	{ "LE meta without subevent", raw_pdu(0x3e, 0x00), -ENODATA },
	{ "cmd complete short header", raw_pdu(0x0e, 0x02, 0x01, 0x03),
	  -ENODATA },
	{ "cmd complete short return",
	  raw_pdu(0x0e, 0x05, 0x01, 0x09, 0x10, 0x00, 0x55), -ENODATA },
	{ "cmd complete long return",
	  raw_pdu(0x0e, 0x05, 0x01, 0x03, 0x0c, 0x00, 0x00), -EMSGSIZE },
	{ "cmd complete success without status",
	  raw_pdu(0x0e, 0x03, 0x01, 0x03, 0x0c), -ENODATA },
	{ "cmd complete v2 as v1 size",
	  raw_pdu(0x0e, 0x07, 0x01, 0x60, 0x20, 0x00, 0xfb, 0x00, 0x0f),
	  -ENODATA },
	{ "cmd status short", raw_pdu(0x0f, 0x03, 0x00, 0x01, 0x0d), -ENODATA },
	{ "cmd status long",
	  raw_pdu(0x0f, 0x05, 0x00, 0x01, 0x0d, 0x20, 0x00), -EMSGSIZE },
	{ "disconn complete short", raw_pdu(0x05, 0x03, 0x00, 0x40, 0x00),
	  -ENODATA },
	{ "disconn complete long",
	  raw_pdu(0x05, 0x05, 0x00, 0x40, 0x00, 0x13, 0x00), -EMSGSIZE },
	{ "hardware error long", raw_pdu(0x10, 0x02, 0x07, 0x00), -EMSGSIZE },
	{ "nocp empty", raw_pdu(0x13, 0x00), -ENODATA },
	{ "nocp fewer pairs than announced",
	  raw_pdu(0x13, 0x05, 0x02, 0x40, 0x00, 0x03, 0x00), -ENODATA },
	{ "nocp more octets than announced",
	  raw_pdu(0x13, 0x06, 0x01, 0x40, 0x00, 0x03, 0x00, 0xff), -EMSGSIZE },
	{ "conn complete short",
	  raw_pdu(0x3e, 0x12, 0x01, 0x00, 0x40, 0x00, 0x00, 0x01, 0x55, 0x44,
		  0x33, 0x22, 0x11, 0xc0, 0x06, 0x00, 0x00, 0x00, 0x48, 0x00),
	  -ENODATA },
	{ "conn complete long",
	  raw_pdu(0x3e, 0x14, 0x01, 0x00, 0x40, 0x00, 0x00, 0x01, 0x55, 0x44,
		  0x33, 0x22, 0x11, 0xc0, 0x06, 0x00, 0x00, 0x00, 0x48, 0x00,
		  0x05, 0x00),
	  -EMSGSIZE },
	{ "enhanced conn complete with the legacy size",
	  raw_pdu(0x3e, 0x13, 0x0a, 0x00, 0x40, 0x00, 0x00, 0x01, 0x55, 0x44,
		  0x33, 0x22, 0x11, 0xc0, 0x06, 0x00, 0x00, 0x00, 0x48, 0x00,
		  0x05),
	  -ENODATA },
	{ "adv report zero reports", raw_pdu(0x3e, 0x02, 0x02, 0x00), -ERANGE },
	{ "adv report 26 reports", raw_pdu(0x3e, 0x02, 0x02, 0x1a), -ERANGE },
	{ "adv report data over 31",
	  raw_pdu(0x3e, 0x0c, 0x02, 0x01, 0x00, 0x01, 0x55, 0x44, 0x33, 0x22,
		  0x11, 0xc0, 0x20, 0x00),
	  -ERANGE },
	{ "adv report data runs out",
	  raw_pdu(0x3e, 0x0d, 0x02, 0x01, 0x00, 0x01, 0x55, 0x44, 0x33, 0x22,
		  0x11, 0xc0, 0x02, 0xaa, 0xbb),
	  -ENODATA },
	{ "adv report second report missing",
	  raw_pdu(0x3e, 0x0c, 0x02, 0x02, 0x00, 0x01, 0x55, 0x44, 0x33, 0x22,
		  0x11, 0xc0, 0x00, 0xc4),
	  -ENODATA },
	{ "adv report octets after the last",
	  raw_pdu(0x3e, 0x0d, 0x02, 0x01, 0x00, 0x01, 0x55, 0x44, 0x33, 0x22,
		  0x11, 0xc0, 0x00, 0xc4, 0x00),
	  -EMSGSIZE },
	{ "conn update complete short",
	  raw_pdu(0x3e, 0x09, 0x03, 0x00, 0x40, 0x00, 0x18, 0x00, 0x01, 0x00,
		  0xf4),
	  -ENODATA },
	{ "remote conn param long",
	  raw_pdu(0x3e, 0x0c, 0x06, 0x40, 0x00, 0x18, 0x00, 0x28, 0x00, 0x03,
		  0x00, 0xf4, 0x01, 0x00),
	  -EMSGSIZE },
};

static void test_evt_malformed(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_rows); i++) {
		const struct evt_row *r = &bad_rows[i];
		struct hci_evt e, before;
		int ret;

		memset(&e, 0x5a, sizeof(e));
		before = e;
		ret = hci_evt_decode(r->bytes, r->len, &e);
		if (ret != r->err) {
			fail_msg("%s: got %d, want %d", r->name, ret, r->err);
		}
		/* Output untouched on failure. */
		assert_memory_equal(&e, &before, sizeof(e));
	}
}

/* Every strict prefix of a good event is rejected, never read past. */
static void test_evt_every_prefix(void **state)
{
	static const uint8_t good[] = { 0x3e, 0x13, 0x01, 0x00, 0x40, 0x00,
					0x00, 0x01, 0x55, 0x44, 0x33, 0x22,
					0x11, 0xc0, 0x06, 0x00, 0x00, 0x00,
					0x48, 0x00, 0x05 };
	struct hci_evt e;

	for (size_t n = 0; n < sizeof(good); n++) {
		uint8_t *copy = malloc(n ? n : 1);

		memcpy(copy, good, n);
		assert_int_equal(hci_evt_decode(copy, n, &e),
				 n < 2 ? -EBADMSG : -EOVERFLOW);
		free(copy);
	}
	assert_int_equal(hci_evt_decode(good, sizeof(good), &e), 0);
}

static void test_error_names(void **state)
{
	const char *seen[HCI_N_ERRORS] = { 0 };

	for (size_t i = 0; i < ARRAY_SIZE(bad_rows); i++) {
		int idx = hci_error_index(bad_rows[i].err);

		assert_true(idx >= 0 && idx < HCI_N_ERRORS);
		seen[idx] = hci_error_name(bad_rows[i].err);
	}
	/* The rows cover every error, each with its own name. */
	for (int i = 0; i < HCI_N_ERRORS; i++) {
		assert_non_null(seen[i]);
		for (int j = 0; j < i; j++) {
			assert_string_not_equal(seen[i], seen[j]);
		}
	}
	assert_string_equal(hci_error_name(-EOVERFLOW), "truncated");
	assert_null(hci_error_name(0));
	assert_int_equal(hci_error_index(-EINVAL), -EINVAL);
}

#define T(name, fn)                                                           \
	{                                                                     \
		"hci/" name, fn, NULL, NULL, NULL                             \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("commands", test_commands),
		T("commands_short_buffer", test_commands_short_buffer),
		T("command_generic", test_command_generic),
		T("command_ranges", test_command_ranges),
		T("evt_cmd_complete", test_evt_cmd_complete),
		T("evt_others", test_evt_others),
		T("evt_le", test_evt_le),
		T("evt_malformed", test_evt_malformed),
		T("evt_every_prefix", test_evt_every_prefix),
		T("error_names", test_error_names),
	};

	return cmocka_run_group_tests_name("hci", tests, NULL, NULL);
}
