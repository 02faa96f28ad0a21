/* SPDX-License-Identifier: MIT */
/*
 * btsnoop encoder tests: the header and records byte-exact, then a real
 * capture (built with this project's own HCI, ACL, L2CAP and H4
 * encoders) read back by BlueZ's btmon, an independent decoder: what it
 * prints must name the packets written, with the right fields and the
 * right wall-clock time. Skipped, with the reason printed, when btmon is
 * not installed (`./dev setup` installs bluez).
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/acl.h"
#include "core/btsnoop.h"
#include "core/h4.h"
#include "core/hci.h"
#include "core/l2le.h"
#include "core/macro.h"

#define data(args...) ((const uint8_t[]){ args })

/* 2023-11-14 22:13:20.123456 UTC. */
#define TS_US INT64_C(1700000000123456)

static void test_header(void **state)
{
	uint8_t buf[20];
	size_t n = 0;

	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(btsnoop_encode_header(buf, 15, &n), -ENOBUFS);
	assert_int_equal(buf[0], 0xee);
	assert_int_equal(btsnoop_encode_header(buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 16);
	/* "btsnoop\0", version 1, datalink 1002, big-endian. */
	assert_memory_equal(buf, data('b', 't', 's', 'n', 'o', 'o', 'p', 0, 0,
				      0, 0, 1, 0, 0, 0x03, 0xea),
			    16);
	assert_int_equal(buf[16], 0xee);
}

static void test_record(void **state)
{
	struct btsnoop_rec rec = {
		.dir = BTSNOOP_SENT,
		.drops = 0x01020304,
		.ts_unix_us = TS_US,
	};
	uint8_t buf[64];
	size_t n = 0;

	assert_int_equal(btsnoop_encode_record(&rec, data(0x01, 0x03, 0x0c,
							  0x00),
					       4, buf, sizeof(buf), &n),
			 0);
	assert_int_equal(n, 28);
	assert_memory_equal(buf, data(0, 0, 0, 4,       /* original */
				      0, 0, 0, 4,       /* included */
				      0, 0, 0, 2,       /* sent, command */
				      1, 2, 3, 4,       /* drops */
				      /* TS_US + 0x00DCDDB30F2F8000 */
				      0x00, 0xe2, 0xe7, 0xd7, 0x27, 0x4f, 0xa2,
				      0x40,
				      0x01, 0x03, 0x0c, 0x00),
			    28);

	/* Received ACL: direction bit only. */
	rec.dir = BTSNOOP_RECEIVED;
	rec.drops = 0;
	rec.ts_unix_us = 0;
	assert_int_equal(btsnoop_encode_record(&rec, data(0x02, 0x40, 0x20,
							  0x00, 0x00),
					       5, buf, sizeof(buf), &n),
			 0);
	assert_memory_equal(buf, data(0, 0, 0, 5, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0,
				      0, 0,
				      /* the Unix epoch itself */
				      0x00, 0xdc, 0xdd, 0xb3, 0x0f, 0x2f, 0x80,
				      0x00,
				      0x02, 0x40, 0x20, 0x00, 0x00),
			    29);
}

static void test_flags(void **state)
{
	assert_int_equal(btsnoop_flags(H4_CMD, BTSNOOP_SENT), 2);
	assert_int_equal(btsnoop_flags(H4_EVT, BTSNOOP_RECEIVED), 3);
	assert_int_equal(btsnoop_flags(H4_ACL, BTSNOOP_SENT), 0);
	assert_int_equal(btsnoop_flags(H4_ACL, BTSNOOP_RECEIVED), 1);
	assert_int_equal(btsnoop_flags(H4_SCO, BTSNOOP_RECEIVED), 1);
	assert_int_equal(btsnoop_flags(H4_ISO, BTSNOOP_SENT), 0);
	/* The two epochs differ by the 30 years from 1970 to 2000. */
	assert_true(BTSNOOP_TS_2000_US - BTSNOOP_TS_UNIX_EPOCH_US ==
		    INT64_C(946684800000000));
}

static void test_snaplen_and_errors(void **state)
{
	struct btsnoop_rec rec = {
		.dir = BTSNOOP_RECEIVED,
		.ts_unix_us = TS_US,
		.snaplen = 3,
	};
	static const uint8_t evt[] = { 0x04, 0x0e, 0x04, 0x01, 0x03, 0x0c,
				       0x00 };
	uint8_t buf[64];
	size_t n = 99;

	/* Truncated to 3: the original length still says 7. */
	assert_int_equal(btsnoop_encode_record(&rec, evt, sizeof(evt), buf, 27,
					       &n),
			 0);
	assert_int_equal(n, 27);
	assert_memory_equal(buf, data(0, 0, 0, 7, 0, 0, 0, 3, 0, 0, 0, 3), 12);
	assert_memory_equal(buf + 24, evt, 3);

	rec.snaplen = 0;
	memset(buf, 0xee, sizeof(buf));
	n = 99;
	assert_int_equal(btsnoop_encode_record(&rec, evt, sizeof(evt), buf, 30,
					       &n),
			 -ENOBUFS);
	assert_int_equal(n, 99);
	assert_int_equal(buf[0], 0xee);
	assert_int_equal(btsnoop_encode_record(&rec, evt, 0, buf, 64, &n),
			 -EINVAL);
	assert_int_equal(btsnoop_encode_record(&rec, NULL, 1, buf, 64, &n),
			 -EINVAL);
	rec.dir = (enum btsnoop_dir)2;
	assert_int_equal(btsnoop_encode_record(&rec, evt, 7, buf, 64, &n),
			 -EINVAL);
	rec.dir = BTSNOOP_SENT;
	rec.ts_unix_us = -BTSNOOP_TS_UNIX_EPOCH_US - 1;
	assert_int_equal(btsnoop_encode_record(&rec, evt, 7, buf, 64, &n),
			 -EINVAL);
	rec.ts_unix_us = INT64_MAX;
	assert_int_equal(btsnoop_encode_record(&rec, evt, 7, buf, 64, &n),
			 -EINVAL);
	/* Year 0 itself is representable. */
	rec.ts_unix_us = -BTSNOOP_TS_UNIX_EPOCH_US;
	assert_int_equal(btsnoop_encode_record(&rec, evt, 7, buf, 64, &n), 0);
	assert_memory_equal(buf + 16, data(0, 0, 0, 0, 0, 0, 0, 0), 8);
}

/* The frame built in place after the record header: no copy. */
static void test_in_place(void **state)
{
	struct btsnoop_rec rec = { .dir = BTSNOOP_SENT };
	uint8_t buf[64];
	size_t n;

	memcpy(buf + 24, data(0x01, 0x03, 0x0c, 0x00), 4);
	assert_int_equal(btsnoop_encode_record(&rec, buf + 24, 4, buf,
					       sizeof(buf), &n),
			 0);
	assert_int_equal(n, 28);
	assert_memory_equal(buf + 24, data(0x01, 0x03, 0x0c, 0x00), 4);
	assert_memory_equal(buf + 8, data(0, 0, 0, 2), 4);
}

/* ---- read back by btmon -------------------------------------------- */

struct capture {
	uint8_t bytes[8192];
	size_t len;
	int64_t ts_us;
};

/* Append one H4 frame as a record, 1 ms after the previous one. */
static void cap_add(struct capture *c, enum btsnoop_dir dir,
		    const uint8_t *frame, size_t len)
{
	struct btsnoop_rec rec = { .dir = dir, .ts_unix_us = c->ts_us };
	size_t n;

	assert_int_equal(btsnoop_encode_record(&rec, frame, len,
					       c->bytes + c->len,
					       sizeof(c->bytes) - c->len, &n),
			 0);
	c->len += n;
	c->ts_us += 1000;
}

/* An HCI packet built at buf + 1, sent as H4 in place. */
static void cap_h4(struct capture *c, enum btsnoop_dir dir,
		   enum h4_type type, uint8_t *buf, size_t len)
{
	size_t n;

	assert_int_equal(h4_encode(type, buf + 1, len, buf, len + 1, &n), 0);
	cap_add(c, dir, buf, n);
}

/* An L2CAP PDU sent on handle 0x040 through ACL fragments of 27. */
static void cap_l2cap(struct capture *c, enum btsnoop_dir dir,
		      const uint8_t *pdu, size_t len)
{
	struct acl_frag f;
	uint8_t pkt[64];
	size_t n;

	assert_int_equal(acl_frag_init(&f, 0x040, pdu, len, 27,
				       dir == BTSNOOP_SENT ?
					       ACL_PB_FIRST_NON_FLUSHABLE :
					       ACL_PB_FIRST_FLUSHABLE),
			 0);
	while (acl_frag_next(&f, pkt + 1, sizeof(pkt) - 1, &n) == 0) {
		cap_h4(c, dir, H4_ACL, pkt, n);
	}
}

static void build_capture(struct capture *c)
{
	static const uint8_t name[] = { 0x02, 0x01, 0x06, 0x05, 0x09,
					't',  't',  'w',  's' };
	struct hci_le_conn_params cp = {
		.scan_interval = 0x0060,
		.scan_window = 0x0060,
		.peer_addr_type = HCI_ADDR_RANDOM,
		.peer_addr = { { 0x55, 0x44, 0x33, 0x22, 0x11, 0xc0 } },
		.own_addr_type = HCI_ADDR_PUBLIC,
		.interval_min = 6,
		.interval_max = 6,
		.supervision_timeout = 0x0048,
	};
	struct l2le_local la = { 512, 247, 10 }, lb = { 300, 100, 4 };
	uint8_t rx_a[512], rx_b[300], buf[300];
	struct l2le_chan a, b;
	struct l2le_sig s;
	uint16_t result;
	size_t n;

	assert_int_equal(btsnoop_encode_header(c->bytes, sizeof(c->bytes),
					       &c->len),
			 0);
	c->ts_us = TS_US;

	assert_int_equal(hci_cmd_reset(buf + 1, sizeof(buf) - 1, &n), 0);
	cap_h4(c, BTSNOOP_SENT, H4_CMD, buf, n);
	cap_add(c, BTSNOOP_RECEIVED, data(0x04, 0x0e, 0x04, 0x01, 0x03, 0x0c,
					  0x00),
		7);
	assert_int_equal(hci_cmd_le_set_adv_data(name, sizeof(name), buf + 1,
						 sizeof(buf) - 1, &n),
			 0);
	cap_h4(c, BTSNOOP_SENT, H4_CMD, buf, n);
	assert_int_equal(hci_cmd_le_create_conn(&cp, buf + 1, sizeof(buf) - 1,
						&n),
			 0);
	cap_h4(c, BTSNOOP_SENT, H4_CMD, buf, n);
	cap_add(c, BTSNOOP_RECEIVED, data(0x04, 0x0f, 0x04, 0x00, 0x01, 0x0d,
					  0x20),
		7);
	cap_add(c, BTSNOOP_RECEIVED,
		data(0x04, 0x3e, 0x13, 0x01, 0x00, 0x40, 0x00, 0x00, 0x01, 0x55,
		     0x44, 0x33, 0x22, 0x11, 0xc0, 0x06, 0x00, 0x00, 0x00, 0x48,
		     0x00, 0x05),
		22);

	/* The L2CAP exchange, as the two channel ends produce it. */
	assert_int_equal(l2le_chan_init(&a, &la, rx_a, sizeof(rx_a)), 0);
	assert_int_equal(l2le_chan_init(&b, &lb, rx_b, sizeof(rx_b)), 0);
	assert_int_equal(l2le_listen(&b, 0x0080), 0);
	assert_int_equal(l2le_connect(&a, 0x0080, 0x0040, 1, buf, sizeof(buf),
				      &n),
			 0);
	cap_l2cap(c, BTSNOOP_SENT, buf, n);
	assert_int_equal(l2le_sig_decode(buf + 4, n - 4, &s), 0);
	assert_int_equal(l2le_on_connect_req(&b, s.ident, &s.conn_req, 0x0041,
					     buf, sizeof(buf), &n, &result),
			 0);
	cap_l2cap(c, BTSNOOP_RECEIVED, buf, n);
	assert_int_equal(l2le_sig_decode(buf + 4, n - 4, &s), 0);
	assert_int_equal(l2le_on_connect_rsp(&a, s.ident, &s.conn_rsp), 0);
	cap_add(c, BTSNOOP_RECEIVED, data(0x04, 0x13, 0x05, 0x01, 0x40, 0x00,
					  0x02, 0x00),
		8);
	assert_int_equal(l2le_send(&a, (const uint8_t *)"hello, ear", 10), 0);
	assert_int_equal(l2le_next_kframe(&a, buf, sizeof(buf), &n), 0);
	cap_l2cap(c, BTSNOOP_SENT, buf, n);

	assert_int_equal(hci_cmd_disconnect(0x040, HCI_REMOTE_USER_TERMINATED,
					    buf + 1, sizeof(buf) - 1, &n),
			 0);
	cap_h4(c, BTSNOOP_SENT, H4_CMD, buf, n);
	cap_add(c, BTSNOOP_RECEIVED, data(0x04, 0x05, 0x04, 0x00, 0x40, 0x00,
					  0x16),
		7);
}

static const char *find_in_path(const char *prog, char *out, size_t cap)
{
	const char *path = getenv("PATH");
	const char *p;

	if (!path) {
		path = "/usr/bin:/bin";
	}
	for (p = path; *p;) {
		const char *end = strchr(p, ':');
		size_t dl = end ? (size_t)(end - p) : strlen(p);

		if (dl > 0 && (size_t)snprintf(out, cap, "%.*s/%s", (int)dl, p,
					       prog) < cap &&
		    access(out, X_OK) == 0) {
			return out;
		}
		p += dl + (end ? 1 : 0);
	}
	return NULL;
}

static void test_btmon_reads_capture(void **state)
{
	static struct capture c;
	static char out[65536];
	static const char *const want[] = {
		/* The first record carries the wall-clock time, in UTC. */
		"< HCI Command: Reset (0x03|0x0003) plen 0",
		"2023-11-14 22:13:20.123456",
		"> HCI Event: Command Complete (0x0e) plen 4",
		"Reset (0x03|0x0003) ncmd 1",
		"LE Set Advertising Data (0x08|0x0008) plen 32",
		"Name (complete): ttws",
		"< HCI Command: LE Create Connection (0x08|0x000d) plen 25",
		"Peer address: C0:11:22:33:44:55",
		"Min connection interval: 7.50 msec (0x0006)",
		"Supervision timeout: 720 msec (0x0048)",
		"> HCI Event: Command Status (0x0f) plen 4",
		"LE Connection Complete (0x01)",
		"Handle: 64",
		"< ACL Data TX: Handle 64 flags 0x00 dlen 18",
		"LE L2CAP: LE Connection Request (0x14) ident 1 len 10",
		"PSM: 128 (0x0080)",
		"MPS: 247",
		"> ACL Data RX: Handle 64 flags 0x02 dlen 18",
		"LE L2CAP: LE Connection Response (0x15) ident 1 len 10",
		"Destination CID: 65",
		"Result: Connection successful (0x0000)",
		"Number of Completed Packets (0x13) plen 5",
		"< ACL Data TX: Handle 64 flags 0x00 dlen 16",
		"sdu 10",
		"< HCI Command: Disconnect (0x01|0x0006) plen 3",
		"Reason: Remote User Terminated Connection (0x13)",
		"> HCI Event: Disconnect Complete (0x05) plen 4",
	};
	char btmon[4096], path[] = "/tmp/ttws-btsnoop-XXXXXX", cmd[4200];
	size_t got = 0;
	FILE *f;
	int fd, status;

	if (!find_in_path("btmon", btmon, sizeof(btmon))) {
		printf("btmon not found in PATH (install bluez: ./dev setup); "
		       "skipping the read-back check\n");
		skip();
	}

	build_capture(&c);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, c.bytes, c.len), (ssize_t)c.len);
	close(fd);

	/* Wide columns: with -T btmon shortens names to fit 80. */
	snprintf(cmd, sizeof(cmd), "TZ=UTC '%s' -C 200 -T -r '%s' 2>&1",
		 btmon, path);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (got < sizeof(out) - 1) {
		size_t r = fread(out + got, 1, sizeof(out) - 1 - got, f);

		if (r == 0) {
			break;
		}
		got += r;
	}
	out[got] = '\0';
	status = pclose(f);
	/* TTWS_KEEP_CAPTURE=1 leaves the file for a look in Wireshark. */
	if (!getenv("TTWS_KEEP_CAPTURE")) {
		unlink(path);
	}

	if (status != 0) {
		printf("%s", out);
		fail_msg("btmon exited with %d", status);
	}
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		if (!strstr(out, want[i])) {
			printf("%s", out);
			fail_msg("btmon output lacks \"%s\"", want[i]);
		}
	}
	/* btmon found nothing it could not parse. */
	if (strstr(out, "invalid") || strstr(out, "malformed")) {
		printf("%s", out);
		fail_msg("btmon complained");
	}
}

#define T(name, fn)                                                           \
	{                                                                     \
		"btsnoop/" name, fn, NULL, NULL, NULL                         \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("header", test_header),
		T("record", test_record),
		T("flags", test_flags),
		T("snaplen_and_errors", test_snaplen_and_errors),
		T("in_place", test_in_place),
		T("btmon_reads_capture", test_btmon_reads_capture),
	};

	return cmocka_run_group_tests_name("btsnoop", tests, NULL, NULL);
}
