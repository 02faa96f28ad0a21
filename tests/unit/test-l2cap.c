/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/os/l2cap. Most hosts running the tests (this one
 * included) cannot open Bluetooth sockets, so the pure parts are tested
 * with tables, the apply/read-back path on an AF_UNIX socket (the
 * socket-level options succeed, the Bluetooth ones must fail cleanly),
 * and the socket entry points against what the kernel really says.
 *
 * setsockopt() is wrapped below so that one case can play a kernel older
 * than 6.15, which refuses SOF_TIMESTAMPING_TX_COMPLETION with EINVAL.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "core/macro.h"
#include "os/l2cap.h"

#if HAVE_BLUEZ
#include <bluetooth/bluetooth.h>
#endif

/* ---- a kernel without TX_COMPLETION, on demand ----------------------- */

static bool fake_pre_6_15;
static unsigned n_timestamping_calls;

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	if (level == SOL_SOCKET && name == SO_TIMESTAMPING) {
		n_timestamping_calls++;
		if (fake_pre_6_15 && len >= sizeof(int) &&
		    (*(const int *)val & L2CAP_SOF_TX_COMPLETION)) {
			errno = EINVAL;
			return -1;
		}
	}
	return (int)syscall(SYS_setsockopt, fd, level, name, val, len);
}

/* ---- addresses ------------------------------------------------------- */

static void test_bdaddr_parse(void **state)
{
	static const struct {
		const char *s;
		uint8_t b[6]; /* bdaddr_t order: last pair first */
	} good[] = {
	    {"AA:BB:CC:DD:EE:FF", {0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa}},
	    {"aa:bb:cc:dd:ee:ff", {0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa}},
	    {"aA:0b:C0:d9:E1:f2", {0xf2, 0xe1, 0xd9, 0xc0, 0x0b, 0xaa}},
	    {"00:11:22:33:44:55", {0x55, 0x44, 0x33, 0x22, 0x11, 0x00}},
	    {"00:00:00:00:00:00", {0, 0, 0, 0, 0, 0}},
	    {"FF:FF:FF:FF:FF:FF", {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	    {"C0:FF:EE:00:00:01", {0x01, 0x00, 0x00, 0xee, 0xff, 0xc0}},
	};
	static const char *const bad[] = {
	    "",
	    "AA-BB-CC-DD-EE-FF",
	    "AA.BB.CC.DD.EE.FF",
	    "AA BB CC DD EE FF",
	    "AABBCCDDEEFF",
	    "AA:BB:CC:DD:EE",
	    "AA:BB:CC:DD:EE:",
	    "AA:BB:CC:DD:EE:F",
	    "A:BB:CC:DD:EE:FF",
	    "AA:BB:CC:DD:EE:FF:00",
	    "AA:BB:CC:DD:EE:FFF",
	    "AA:BB:CC:DD:EE:FF ",
	    " AA:BB:CC:DD:EE:FF",
	    "AA:BB:CC:DD:EE:FF\n",
	    "GG:BB:CC:DD:EE:FF",
	    "AA:BB:CC:DD:EE:FG",
	    "AA:BB:CC:DD:EE:-F",
	    "+A:BB:CC:DD:EE:FF",
	    "0x:BB:CC:DD:EE:FF",
	    "AA::BB:CC:DD:EE:F",
	    "AA:BB:CC:DD:EE;FF",
	    "AA:BB:CC:DD:EE:ÿÿ",
	};
	struct l2cap_bdaddr a;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		memset(&a, 0x5a, sizeof(a));
		if (l2cap_bdaddr_parse(good[i].s, &a) != 0) {
			fail_msg("\"%s\" refused", good[i].s);
		}
		assert_memory_equal(a.b, good[i].b, 6);
#if HAVE_BLUEZ
		/* Same bytes as libbluetooth's str2ba(). */
		bdaddr_t ba;

		assert_int_equal(str2ba(good[i].s, &ba), 0);
		assert_memory_equal(a.b, ba.b, 6);
#endif
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&a, 0x5a, sizeof(a));
		if (l2cap_bdaddr_parse(bad[i], &a) != -EINVAL) {
			fail_msg("\"%s\" accepted", bad[i]);
		}
		for (size_t j = 0; j < 6; j++) {
			assert_int_equal(a.b[j], 0x5a); /* untouched */
		}
	}
	assert_int_equal(l2cap_bdaddr_parse(NULL, &a), -EINVAL);
	assert_int_equal(l2cap_bdaddr_parse("AA:BB:CC:DD:EE:FF", NULL),
			 -EINVAL);
}

static void test_bdaddr_format(void **state)
{
	struct l2cap_bdaddr a = {{0xff, 0xee, 0xdd, 0xcc, 0x0b, 0xaa}};
	struct l2cap_bdaddr back;
	char s[L2CAP_BDADDR_STRLEN], small[L2CAP_BDADDR_STRLEN - 1];

	assert_int_equal(l2cap_bdaddr_format(&a, s, sizeof(s)), 17);
	assert_string_equal(s, "AA:0B:CC:DD:EE:FF");
#if HAVE_BLUEZ
	{
		char ref[18];
		bdaddr_t ba;

		memcpy(ba.b, a.b, 6);
		ba2str(&ba, ref);
		assert_string_equal(s, ref);
	}
#endif
	assert_int_equal(l2cap_bdaddr_parse(s, &back), 0);
	assert_memory_equal(back.b, a.b, 6);
	assert_int_equal(l2cap_bdaddr_format(&a, small, sizeof(small)),
			 -ENOBUFS);
	assert_int_equal(l2cap_bdaddr_format(NULL, s, sizeof(s)), -EINVAL);
	assert_int_equal(l2cap_bdaddr_format(&a, NULL, 18), -EINVAL);

	assert_false(l2cap_bdaddr_is_any(&a));
	memset(&a, 0, sizeof(a));
	assert_true(l2cap_bdaddr_is_any(&a));
}

static void test_addr_type_names(void **state)
{
	static const struct {
		const char *s;
		enum l2cap_addr_type t;
		bool le;
	} good[] = {
	    {"public", L2CAP_ADDR_LE_PUBLIC, true},
	    {"random", L2CAP_ADDR_LE_RANDOM, true},
	    {"bredr", L2CAP_ADDR_BREDR, false},
	};
	static const char *const bad[] = {
	    "", "Public", "RANDOM", "le", "le-public", "public ", "br/edr",
	};
	enum l2cap_addr_type t;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		t = (enum l2cap_addr_type)99;
		assert_int_equal(l2cap_addr_type_parse(good[i].s, &t), 0);
		assert_int_equal(t, good[i].t);
		assert_string_equal(l2cap_addr_type_name(t), good[i].s);
		assert_int_equal(l2cap_addr_type_is_le(t), good[i].le);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		t = (enum l2cap_addr_type)99;
		assert_int_equal(l2cap_addr_type_parse(bad[i], &t), -EINVAL);
		assert_int_equal(t, 99);
	}
	assert_int_equal(l2cap_addr_type_parse(NULL, &t), -EINVAL);
	assert_string_equal(l2cap_addr_type_name((enum l2cap_addr_type)7), "?");
	assert_false(l2cap_addr_type_is_le((enum l2cap_addr_type)7));
}

/* ---- PSM and MTU rules ------------------------------------------------ */

static void test_psm_rules(void **state)
{
	static const struct {
		enum l2cap_addr_type t;
		uint16_t psm;
		bool valid;
		bool dynamic;
	} rows[] = {
	    /* LE SPSM, Vol 3, Part A, 4.22. */
	    {L2CAP_ADDR_LE_PUBLIC, 0x0000, false, false},
	    {L2CAP_ADDR_LE_PUBLIC, 0x0001, true, false},
	    {L2CAP_ADDR_LE_PUBLIC, 0x0025, true, false}, /* OTS */
	    {L2CAP_ADDR_LE_PUBLIC, 0x0027, true, false}, /* EATT */
	    {L2CAP_ADDR_LE_PUBLIC, 0x007f, true, false},
	    {L2CAP_ADDR_LE_PUBLIC, 0x0080, true, true},
	    {L2CAP_ADDR_LE_RANDOM, 0x0080, true, true},
	    {L2CAP_ADDR_LE_RANDOM, 0x0081, true, true},
	    {L2CAP_ADDR_LE_RANDOM, 0x00f0, true, true},
	    {L2CAP_ADDR_LE_RANDOM, 0x00ff, true, true},
	    {L2CAP_ADDR_LE_RANDOM, 0x0100, false, false},
	    {L2CAP_ADDR_LE_PUBLIC, 0x1001, false, false},
	    {L2CAP_ADDR_LE_PUBLIC, 0xffff, false, false},
	    /* BR/EDR PSM, Vol 3, Part A, 4.2. */
	    {L2CAP_ADDR_BREDR, 0x0000, false, false},
	    {L2CAP_ADDR_BREDR, 0x0001, true, false},  /* SDP */
	    {L2CAP_ADDR_BREDR, 0x0003, true, false},  /* RFCOMM */
	    {L2CAP_ADDR_BREDR, 0x0019, true, false},  /* AVDTP */
	    {L2CAP_ADDR_BREDR, 0x0002, false, false}, /* even */
	    {L2CAP_ADDR_BREDR, 0x0080, false, false}, /* even */
	    {L2CAP_ADDR_BREDR, 0x0101, false, false}, /* MSO bit 0 set */
	    {L2CAP_ADDR_BREDR, 0x0100, false, false},
	    {L2CAP_ADDR_BREDR, 0x0eff, true, false},
	    {L2CAP_ADDR_BREDR, 0x0f01, false, false}, /* MSO 0x0f odd */
	    {L2CAP_ADDR_BREDR, 0x1000, false, false},
	    {L2CAP_ADDR_BREDR, 0x1001, true, true},
	    {L2CAP_ADDR_BREDR, 0x1003, true, true},
	    {L2CAP_ADDR_BREDR, 0x2001, true, true},
	    {L2CAP_ADDR_BREDR, 0xfeff, true, true},
	    {L2CAP_ADDR_BREDR, 0xffff, false, false},
	    {(enum l2cap_addr_type)7, 0x0081, false, false},
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		int r = l2cap_psm_check(rows[i].t, rows[i].psm);

		if (r != (rows[i].valid ? 0 : -EINVAL)) {
			fail_msg("%s psm %#06x: %d",
				 l2cap_addr_type_name(rows[i].t), rows[i].psm,
				 r);
		}
		if (l2cap_psm_is_dynamic(rows[i].t, rows[i].psm) !=
		    rows[i].dynamic) {
			fail_msg("%s psm %#06x: dynamic wrong",
				 l2cap_addr_type_name(rows[i].t), rows[i].psm);
		}
	}
}

static void test_mtu_rules(void **state)
{
	static const struct {
		enum l2cap_addr_type t;
		uint16_t mtu;
		int r;
	} rows[] = {
	    {L2CAP_ADDR_LE_PUBLIC, 0, 0},
	    {L2CAP_ADDR_LE_PUBLIC, 22, -EINVAL},
	    {L2CAP_ADDR_LE_PUBLIC, 23, 0},
	    {L2CAP_ADDR_LE_RANDOM, 65535, 0},
	    {L2CAP_ADDR_BREDR, 0, 0},
	    {L2CAP_ADDR_BREDR, 23, -EINVAL},
	    {L2CAP_ADDR_BREDR, 47, -EINVAL},
	    {L2CAP_ADDR_BREDR, 48, 0},
	    {L2CAP_ADDR_BREDR, 672, 0},
	    {(enum l2cap_addr_type)9, 0, -EINVAL},
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		assert_int_equal(l2cap_mtu_check(rows[i].t, rows[i].mtu),
				 rows[i].r);
	}
}

/* ---- sockaddr bytes ----------------------------------------------------- */

static void test_sockaddr_bytes(void **state)
{
	static const struct {
		const char *addr;
		enum l2cap_addr_type t;
		uint16_t psm;
		uint8_t bytes[14]; /* after the 2-byte family */
	} rows[] = {
	    /* l2_psm (LE16), l2_bdaddr (reversed), l2_cid, type, pad */
	    {"AA:BB:CC:DD:EE:FF",
	     L2CAP_ADDR_LE_PUBLIC,
	     0x0080,
	     {0x80, 0x00, 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0, 0, 0x01, 0}},
	    {"C0:11:22:33:44:55",
	     L2CAP_ADDR_LE_RANDOM,
	     0x00f1,
	     {0xf1, 0x00, 0x55, 0x44, 0x33, 0x22, 0x11, 0xc0, 0, 0, 0x02, 0}},
	    {"00:1A:7D:DA:71:13",
	     L2CAP_ADDR_BREDR,
	     0x1001,
	     {0x01, 0x10, 0x13, 0x71, 0xda, 0x7d, 0x1a, 0x00, 0, 0, 0x00, 0}},
	    {"00:00:00:00:00:00",
	     L2CAP_ADDR_LE_PUBLIC,
	     0,
	     {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0}},
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct l2cap_addr a = {.type = rows[i].t};
		struct sockaddr_storage ss;
		socklen_t len = 0;
		const uint8_t *p = (const uint8_t *)&ss;
		sa_family_t family;
		int r;

		assert_int_equal(l2cap_bdaddr_parse(rows[i].addr, &a.bdaddr),
				 0);
		memset(&ss, 0x77, sizeof(ss));
		r = l2cap_sockaddr(&a, rows[i].psm, &ss, &len);
		if (!HAVE_BLUEZ) {
			assert_int_equal(r, -EAFNOSUPPORT);
			continue;
		}
		assert_int_equal(r, 0);
		assert_int_equal(len, 14);
		memcpy(&family, p, sizeof(family));
		assert_int_equal(family, AF_BLUETOOTH);
		assert_int_equal(offsetof(struct sockaddr_storage, ss_family),
				 0);
		assert_memory_equal(p + 2, rows[i].bytes, 11);
		/* Zeroed past the address, not left as 0x77. */
		for (size_t j = 13; j < sizeof(ss); j++) {
			assert_int_equal(p[j], 0);
		}
	}
	{
		struct l2cap_addr bad = {.type = (enum l2cap_addr_type)5};
		struct sockaddr_storage ss;
		socklen_t len;

		assert_int_equal(l2cap_sockaddr(&bad, 0x80, &ss, &len),
				 HAVE_BLUEZ ? -EINVAL : -EAFNOSUPPORT);
	}
}

static void test_tx_timestamping_flags(void **state)
{
	assert_int_equal(L2CAP_SOF_TX_COMPLETION, 1 << 18);
	/* TX_SOFTWARE 1<<1, SOFTWARE 1<<4, OPT_ID 1<<7, OPT_TSONLY 1<<11. */
	assert_int_equal(l2cap_tx_timestamping_flags(false), 0x892);
	assert_int_equal(l2cap_tx_timestamping_flags(true), 0x40892);
	assert_int_equal(
	    l2cap_tx_timestamping_flags(false),
	    SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
		SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY);
}

/* ---- the kernel ------------------------------------------------------- */

static bool kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	assert_int_equal(uname(&u), 0);
	assert_int_equal(sscanf(u.release, "%d.%d", &ma, &mi), 2);
	return ma > major || (ma == major && mi >= minor);
}

static void test_kernel_support(void **state)
{
	char why[256];
	int fd, expect;

	memset(why, 0x5a, sizeof(why));
	fd = socket(AF_BLUETOOTH, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	expect = fd >= 0 ? 0 : -errno;
	if (fd >= 0) {
		close(fd);
	}
	if (!HAVE_BLUEZ) {
		assert_int_equal(l2cap_kernel_support(why, sizeof(why)),
				 -EAFNOSUPPORT);
		assert_string_equal(why, "built without libbluetooth");
		return;
	}
	assert_int_equal(l2cap_kernel_support(why, sizeof(why)), expect);
	print_message("[ INFO     ] %d: %s\n", expect, why);
	if (expect == -EAFNOSUPPORT &&
	    access("/sys/module/bluetooth", F_OK) < 0) {
		assert_string_equal(
		    why, "kernel has no Bluetooth (AF_BLUETOOTH not "
			 "available: load the bluetooth module or use "
			 "transport = hci-uart)");
	}
	assert_true(strlen(why) > 0 && strlen(why) < sizeof(why));
	/* NULL reason buffer is fine. */
	assert_int_equal(l2cap_kernel_support(NULL, 0), expect);
	/* Truncated, still terminated. */
	memset(why, 0x5a, sizeof(why));
	l2cap_kernel_support(why, 8);
	assert_int_equal(strlen(why), 7);
}

static void le_cfg(struct l2cap_config *c)
{
	l2cap_config_default(c);
	assert_int_equal(
	    l2cap_bdaddr_parse("AA:BB:CC:DD:EE:FF", &c->remote.bdaddr), 0);
	c->psm = 0x0081;
	c->rx_mtu = 1024;
	c->security = L2CAP_SECURITY_MEDIUM;
	c->tx_timestamps = true;
}

static void test_connect_on_this_machine(void **state)
{
	struct l2cap_config c;
	struct l2cap_report rep;
	int fd = -77, lfd = -77, expect;
	char why[256];

	expect = l2cap_kernel_support(why, sizeof(why));
	le_cfg(&c);
	if (expect == 0) {
		/* A kernel with Bluetooth: no adapter, or it starts. */
		int r = l2cap_connect_start(&c, &fd, &rep);

		print_message("[ INFO     ] connect: %d\n", r);
		if (r == 0 || r == -EINPROGRESS) {
			close(fd);
		}
		skip();
	}
	assert_int_equal(expect, -EAFNOSUPPORT);
	assert_int_equal(l2cap_connect_start(&c, &fd, &rep), -EAFNOSUPPORT);
	assert_int_equal(fd, -77);
	assert_int_equal(l2cap_connect_start(&c, &fd, NULL), -EAFNOSUPPORT);
	c.psm = 0x0080;
	assert_int_equal(l2cap_listen(&c, &lfd, &rep), -EAFNOSUPPORT);
	assert_int_equal(lfd, -77);
}

static void test_connect_rejects_config(void **state)
{
	struct l2cap_config c;
	int fd = -77;

	if (!HAVE_BLUEZ) {
		skip();
	}
	le_cfg(&c);
	c.psm = 0x0100; /* not an SPSM */
	assert_int_equal(l2cap_connect_start(&c, &fd, NULL), -EINVAL);
	le_cfg(&c);
	c.rx_mtu = 22;
	assert_int_equal(l2cap_connect_start(&c, &fd, NULL), -EINVAL);
	le_cfg(&c);
	c.security = (enum l2cap_security)9;
	assert_int_equal(l2cap_connect_start(&c, &fd, NULL), -EINVAL);
	le_cfg(&c);
	c.local.type = L2CAP_ADDR_BREDR; /* LE peer, BR/EDR local */
	assert_int_equal(l2cap_connect_start(&c, &fd, NULL), -EINVAL);
	le_cfg(&c);
	memset(&c.remote.bdaddr, 0, sizeof(c.remote.bdaddr));
	assert_int_equal(l2cap_connect_start(&c, &fd, NULL), -EINVAL);
	le_cfg(&c);
	c.remote.type = L2CAP_ADDR_BREDR;
	c.local.type = L2CAP_ADDR_BREDR;
	c.psm = 0x0081; /* a valid BR/EDR PSM too */
	c.rx_mtu = 40;	/* below the BR/EDR minimum */
	assert_int_equal(l2cap_connect_start(&c, &fd, NULL), -EINVAL);
	le_cfg(&c);
	c.psm = 0;
	assert_int_equal(l2cap_listen(&c, &fd, NULL), -EINVAL);
	assert_int_equal(l2cap_connect_start(NULL, &fd, NULL), -EINVAL);
	le_cfg(&c);
	assert_int_equal(l2cap_connect_start(&c, NULL, NULL), -EINVAL);
	assert_int_equal(fd, -77);
}

/* ---- apply and read back on a socket that exists ---------------------- */

static bool bt_refusal(int err)
{
	/* AF_UNIX has no level SOL_BLUETOOTH / SOL_L2CAP. */
	return err == -EOPNOTSUPP || err == -ENOPROTOOPT;
}

static void apply_on_unix(enum l2cap_addr_type type, bool old_kernel)
{
	struct l2cap_config c;
	struct l2cap_report rep;
	char line[768];
	unsigned failed = 0;
	int sv[2];

	assert_int_equal(
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	le_cfg(&c);
	c.local.type = type;
	c.remote.type = type;
	c.rx_mtu = 672;
	c.sock.priority = 5;
	c.sock.rcvlowat = 100;
	c.sock.timestamps = true;
	fake_pre_6_15 = old_kernel;
	n_timestamping_calls = 0;
	assert_int_equal(l2cap_apply(sv[0], &c, &rep), 0);
	fake_pre_6_15 = false;
	assert_true(l2cap_report_format(&rep, line, sizeof(line)) > 0);
	print_message("[ INFO     ] %s%s: %s\n", l2cap_addr_type_name(type),
		      old_kernel ? " (pre-6.15)" : "", line);

	/* The socket-level options, through the same call. */
	assert_true(rep.sock.priority.ok);
	assert_int_equal(rep.sock.priority.readback, 5);
	assert_true(rep.sock.rcvlowat.ok);
	assert_int_equal(rep.sock.rcvlowat.readback, 100);
	assert_true(rep.sock.timestamps.ok);
	assert_false(rep.sock.busy_poll.requested);

	/* The Bluetooth ones: refused cleanly, reported, not fatal. */
	assert_true(rep.security.requested);
	assert_int_equal(rep.security.value, L2CAP_SECURITY_MEDIUM);
	assert_true(bt_refusal(rep.security.err));
	assert_true(bt_refusal(rep.security.readback_err));
	assert_false(rep.security.ok);
	assert_true(rep.rx_mtu.requested);
	assert_int_equal(rep.rx_mtu.value, 672);
	assert_true(bt_refusal(rep.rx_mtu.err));
	assert_false(rep.rx_mtu.ok);
	assert_false(rep.tx_mtu.requested);
	assert_true(bt_refusal(rep.tx_mtu.readback_err));

	/* SO_TIMESTAMPING is generic: AF_UNIX takes and reports it. */
	assert_true(rep.tx_timestamps.opt.requested);
	assert_int_equal(rep.tx_timestamps.opt.err, 0);
	assert_int_equal(rep.tx_timestamps.opt.readback_err, 0);
	assert_true(rep.tx_timestamps.opt.ok);
	assert_int_equal(rep.tx_timestamps.completion_in_headers,
			 SOF_TIMESTAMPING_LAST >= (1 << 18));
	if (old_kernel || !kernel_at_least(6, 15)) {
		assert_false(rep.tx_timestamps.completion);
		assert_int_equal(rep.tx_timestamps.opt.readback,
				 l2cap_tx_timestamping_flags(false));
		assert_string_equal(rep.tx_timestamps.note,
				    "TX completion timestamps not supported "
				    "by this kernel (needs Linux 6.15)");
		assert_non_null(strstr(line, "completion off (TX completion"));
		assert_int_equal(n_timestamping_calls, 2);
	} else {
		assert_true(rep.tx_timestamps.completion);
		assert_int_equal(rep.tx_timestamps.opt.readback,
				 l2cap_tx_timestamping_flags(true));
		assert_string_equal(rep.tx_timestamps.note, "");
		assert_non_null(strstr(line, "completion on"));
		assert_int_equal(n_timestamping_calls, 1);
	}

	assert_non_null(strstr(line, "security 2: EOPNOTSUPP")
			    ?: strstr(line, "security 2: ENOPROTOOPT"));
	assert_non_null(strstr(line, "priority 5: ok"));
	failed += !rep.security.ok + !rep.rx_mtu.ok;
	assert_int_equal(l2cap_report_n_failed(&rep), failed);
	close(sv[0]);
	close(sv[1]);
}

static void test_apply_on_unix(void **state)
{
	if (!HAVE_BLUEZ) {
		struct l2cap_config c;
		struct l2cap_report rep;

		l2cap_config_default(&c);
		assert_int_equal(l2cap_apply(0, &c, &rep), -EAFNOSUPPORT);
		skip();
	}
	apply_on_unix(L2CAP_ADDR_LE_PUBLIC, false);
	apply_on_unix(L2CAP_ADDR_BREDR, false);
}

static void test_apply_pre_6_15_fallback(void **state)
{
	if (!HAVE_BLUEZ) {
		skip();
	}
	apply_on_unix(L2CAP_ADDR_LE_RANDOM, true);
}

static void test_apply_left_alone(void **state)
{
	struct l2cap_config c;
	struct l2cap_report rep;
	int sv[2];

	if (!HAVE_BLUEZ) {
		skip();
	}
	assert_int_equal(
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	l2cap_config_default(&c);
	n_timestamping_calls = 0;
	assert_int_equal(l2cap_apply(sv[0], &c, &rep), 0);
	assert_false(rep.security.requested);
	assert_false(rep.rx_mtu.requested);
	assert_false(rep.tx_timestamps.opt.requested);
	assert_int_equal(n_timestamping_calls, 0);
	assert_int_equal(rep.tx_timestamps.opt.readback, 0);
	assert_int_equal(l2cap_report_n_failed(&rep), 0);
	close(sv[0]);
	close(sv[1]);
}

static void test_apply_rejects(void **state)
{
	struct l2cap_config c;
	struct l2cap_report rep, before;
	int sv[2], null_fd;

	if (!HAVE_BLUEZ) {
		skip();
	}
	assert_int_equal(
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	memset(&rep, 0x5a, sizeof(rep));
	before = rep;
	le_cfg(&c);
	assert_int_equal(l2cap_apply(-1, &c, &rep), -EINVAL);
	assert_int_equal(l2cap_apply(sv[0], NULL, &rep), -EINVAL);
	assert_int_equal(l2cap_apply(sv[0], &c, NULL), -EINVAL);
	c.security = (enum l2cap_security)5;
	assert_int_equal(l2cap_apply(sv[0], &c, &rep), -EINVAL);
	le_cfg(&c);
	c.rx_mtu = 10;
	assert_int_equal(l2cap_apply(sv[0], &c, &rep), -EINVAL);
	le_cfg(&c);
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(null_fd >= 0);
	assert_int_equal(l2cap_apply(null_fd, &c, &rep), -ENOTSOCK);
	close(null_fd);
	assert_memory_equal(&rep, &before, sizeof(rep));
	close(sv[0]);
	close(sv[1]);
}

static void test_mtu_and_accept_on_unix(void **state)
{
	uint16_t rx = 0x5a5a, tx = 0x5a5a;
	int sv[2], fd = -77;

	if (!HAVE_BLUEZ) {
		assert_int_equal(l2cap_mtu(0, L2CAP_ADDR_LE_PUBLIC, &rx, &tx),
				 -EAFNOSUPPORT);
		assert_int_equal(l2cap_accept(0, &fd, NULL), -EAFNOSUPPORT);
		return;
	}
	assert_int_equal(
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_true(
	    bt_refusal(l2cap_mtu(sv[0], L2CAP_ADDR_LE_PUBLIC, &rx, &tx)));
	assert_true(bt_refusal(l2cap_mtu(sv[0], L2CAP_ADDR_BREDR, &rx, &tx)));
	assert_int_equal(rx, 0x5a5a);
	assert_int_equal(tx, 0x5a5a);
	assert_int_equal(l2cap_mtu(-1, L2CAP_ADDR_BREDR, &rx, &tx), -EINVAL);
	/* Not listening: the kernel's answer, fd untouched. */
	assert_int_equal(l2cap_accept(sv[0], &fd, NULL), -EINVAL);
	assert_int_equal(l2cap_accept(-1, &fd, NULL), -EBADF);
	assert_int_equal(fd, -77);
	close(sv[0]);
	close(sv[1]);
}

/* ---- non-blocking connect outcome --------------------------------------- */

static void test_connect_finish(void **state)
{
	struct sockaddr_in sin = {
	    .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct pollfd p;
	socklen_t len = sizeof(sin);
	int sv[2], lfd, fd, r;

	/* Connected: 0. */
	assert_int_equal(
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(l2cap_connect_finish(sv[0]), 0);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(l2cap_connect_finish(sv[0]), -EBADF);
	assert_int_equal(l2cap_connect_finish(-1), -EBADF);

	/* Refused: a loopback port that was just closed. */
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		print_message("[ INFO     ] no IPv4 loopback: %s\n",
			      strerror(errno));
		if (lfd >= 0) {
			close(lfd);
		}
		skip();
	}
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	close(lfd);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	r = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	r = r < 0 ? -errno : 0;
	if (r == -EINPROGRESS) {
		p = (struct pollfd){.fd = fd, .events = POLLOUT};
		assert_int_equal(poll(&p, 1, 5000), 1);
		assert_int_equal(l2cap_connect_finish(fd), -ECONNREFUSED);
	} else {
		assert_int_equal(r, -ECONNREFUSED);
	}
	close(fd);

	/* Listening and accepting: 0 once writable. */
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	sin.sin_port = 0;
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	len = sizeof(sin);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	r = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	assert_true(r == 0 || errno == EINPROGRESS);
	p = (struct pollfd){.fd = fd, .events = POLLOUT};
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(l2cap_connect_finish(fd), 0);
	close(fd);
	close(lfd);
}

static void test_report_format(void **state)
{
	struct l2cap_report r;
	char line[768], small[40];
	int n;

	memset(&r, 0, sizeof(r));
	r.security = (struct sockopt_result){
	    .requested = true, .value = 2, .readback = 2, .ok = true};
	r.rx_mtu = (struct sockopt_result){
	    .requested = true, .value = 1024, .err = -EISCONN, .readback = 672};
	r.tx_mtu = (struct sockopt_result){.readback_err = -ENOTCONN};
	r.tx_timestamps.opt = (struct sockopt_result){
	    .requested = true, .value = 0x892, .readback = 0x892, .ok = true};
	snprintf(r.tx_timestamps.note, sizeof(r.tx_timestamps.note), "why");
	n = l2cap_report_format(&r, line, sizeof(line));
	assert_int_equal(n, strlen(line));
	print_message("[ INFO     ] %s\n", line);
	assert_non_null(strstr(line, "security 2: ok; "));
	assert_non_null(strstr(line, "rx_mtu 1024: EISCONN ("));
	assert_non_null(strstr(line, ", reads 672; "));
	assert_non_null(strstr(line, "tx_mtu: left, read-back ENOTCONN ("));
	assert_non_null(
	    strstr(line, "tx_timestamps 0x892: ok, completion off (why); "));
	assert_non_null(strstr(line, "busy_poll: left"));
	assert_int_equal(l2cap_report_n_failed(&r), 1);
	assert_int_equal(l2cap_report_format(&r, small, sizeof(small)),
			 -ENOBUFS);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(l2cap_report_format(NULL, line, sizeof(line)),
			 -EINVAL);
	assert_int_equal(l2cap_report_format(&r, line, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    {"l2cap/bdaddr_parse", test_bdaddr_parse, NULL, NULL, NULL},
	    {"l2cap/bdaddr_format", test_bdaddr_format, NULL, NULL, NULL},
	    {"l2cap/addr_type_names", test_addr_type_names, NULL, NULL, NULL},
	    {"l2cap/psm_rules", test_psm_rules, NULL, NULL, NULL},
	    {"l2cap/mtu_rules", test_mtu_rules, NULL, NULL, NULL},
	    {"l2cap/sockaddr_bytes", test_sockaddr_bytes, NULL, NULL, NULL},
	    {"l2cap/tx_timestamping_flags", test_tx_timestamping_flags, NULL,
	     NULL, NULL},
	    {"l2cap/kernel_support", test_kernel_support, NULL, NULL, NULL},
	    {"l2cap/connect_on_this_machine", test_connect_on_this_machine,
	     NULL, NULL, NULL},
	    {"l2cap/connect_rejects_config", test_connect_rejects_config, NULL,
	     NULL, NULL},
	    {"l2cap/apply_on_unix", test_apply_on_unix, NULL, NULL, NULL},
	    {"l2cap/apply_pre_6_15_fallback", test_apply_pre_6_15_fallback,
	     NULL, NULL, NULL},
	    {"l2cap/apply_left_alone", test_apply_left_alone, NULL, NULL, NULL},
	    {"l2cap/apply_rejects", test_apply_rejects, NULL, NULL, NULL},
	    {"l2cap/mtu_and_accept_on_unix", test_mtu_and_accept_on_unix, NULL,
	     NULL, NULL},
	    {"l2cap/connect_finish", test_connect_finish, NULL, NULL, NULL},
	    {"l2cap/report_format", test_report_format, NULL, NULL, NULL},
	};

	return cmocka_run_group_tests_name("l2cap", tests, NULL, NULL);
}
