/* SPDX-License-Identifier: MIT */
/*
 * The l2cap transport's link security (issue 14, encrypted links): what
 * counts as meeting a level, the words for a granted level and for a
 * connect that failed while asking for one, and the socket calls' errors
 * on hosts without Bluetooth (this machine's kernel has none; the VM test
 * tests/vm/test-vm-ttwsd.sh runs them against a real kernel).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "os/l2cap.h"

static void l2cap_sec_names(void **state)
{
	(void)state;
	assert_string_equal(l2cap_security_name(L2CAP_SECURITY_LEAVE), "leave");
	assert_string_equal(l2cap_security_name(L2CAP_SECURITY_LOW), "low");
	assert_string_equal(l2cap_security_name(L2CAP_SECURITY_MEDIUM),
			    "medium");
	assert_string_equal(l2cap_security_name(L2CAP_SECURITY_HIGH), "high");
	assert_string_equal(l2cap_security_name(L2CAP_SECURITY_FIPS), "fips");
	assert_string_equal(l2cap_security_name((enum l2cap_security)9), "?");
}

/* An encrypted level needs a key; asking for nothing is always met. */
static void l2cap_sec_meets(void **state)
{
	static const struct {
		enum l2cap_security level;
		uint8_t key_size;
		enum l2cap_security want;
		bool meets;
	} cases[] = {
		{ L2CAP_SECURITY_LOW, 0, L2CAP_SECURITY_LEAVE, true },
		{ L2CAP_SECURITY_LOW, 0, L2CAP_SECURITY_LOW, true },
		/* The kernel's answer on an adapter without SMP. */
		{ L2CAP_SECURITY_LOW, 0, L2CAP_SECURITY_MEDIUM, false },
		{ L2CAP_SECURITY_MEDIUM, 16, L2CAP_SECURITY_MEDIUM, true },
		{ L2CAP_SECURITY_MEDIUM, 7, L2CAP_SECURITY_MEDIUM, true },
		/* A level without a key is not an encrypted link. */
		{ L2CAP_SECURITY_MEDIUM, 0, L2CAP_SECURITY_MEDIUM, false },
		{ L2CAP_SECURITY_HIGH, 16, L2CAP_SECURITY_MEDIUM, true },
		/* Just Works (unauthenticated) does not meet high. */
		{ L2CAP_SECURITY_MEDIUM, 16, L2CAP_SECURITY_HIGH, false },
		{ L2CAP_SECURITY_HIGH, 16, L2CAP_SECURITY_HIGH, true },
		{ L2CAP_SECURITY_FIPS, 16, L2CAP_SECURITY_HIGH, true },
		{ L2CAP_SECURITY_HIGH, 16, L2CAP_SECURITY_FIPS, false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct l2cap_link_security s = {
			.level = cases[i].level,
			.key_size = cases[i].key_size,
		};

		if (l2cap_link_security_meets(&s, cases[i].want) !=
		    cases[i].meets) {
			fail_msg("case %zu: level %d key %u want %d", i,
				 (int)cases[i].level,
				 (unsigned)cases[i].key_size,
				 (int)cases[i].want);
		}
	}
}

static void l2cap_sec_format(void **state)
{
	struct l2cap_link_security enc = {
		.level = L2CAP_SECURITY_MEDIUM,
		.key_size = 16,
	};
	struct l2cap_link_security plain = {.level = L2CAP_SECURITY_LOW};
	char buf[64], small[8];
	int n;

	(void)state;
	n = l2cap_link_security_format(&enc, buf, sizeof(buf));
	assert_string_equal(buf, "medium (2), encrypted, 16-byte key");
	assert_int_equal(n, (int)strlen(buf));
	assert_true(l2cap_link_security_format(&plain, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "low (1), NOT encrypted");
	assert_int_equal(l2cap_link_security_format(&enc, small, sizeof(small)),
			 -ENOBUFS);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(l2cap_link_security_format(NULL, buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(l2cap_link_security_format(&enc, buf, 0), -EINVAL);
}

/*
 * With security asked, a refused connect may be a failed pairing: the
 * words say so. Without, they do not blame the pairing.
 */
static void l2cap_sec_connect_hints(void **state)
{
	const char *h;

	(void)state;
	h = l2cap_connect_error_hint(-ECONNREFUSED, L2CAP_SECURITY_MEDIUM);
	assert_non_null(h);
	assert_non_null(strstr(h, "no listener"));
	assert_non_null(strstr(h, "pairing"));
	h = l2cap_connect_error_hint(-ECONNREFUSED, L2CAP_SECURITY_LOW);
	assert_non_null(h);
	assert_null(strstr(h, "pairing"));
	h = l2cap_connect_error_hint(-EACCES, L2CAP_SECURITY_HIGH);
	assert_non_null(h);
	assert_non_null(strstr(h, "pairing"));
	assert_null(l2cap_connect_error_hint(-EACCES, L2CAP_SECURITY_LOW));
	h = l2cap_connect_error_hint(-EBADE, L2CAP_SECURITY_MEDIUM);
	assert_non_null(h);
	assert_non_null(strstr(h, "bond"));
	assert_non_null(l2cap_connect_error_hint(-ETIMEDOUT,
						 L2CAP_SECURITY_MEDIUM));
	assert_null(l2cap_connect_error_hint(-ENOMEM, L2CAP_SECURITY_MEDIUM));
}

/*
 * The socket calls on a socket that is not Bluetooth: the kernel's
 * refusal comes back as an errno (or -EAFNOSUPPORT built without
 * libbluetooth), never a made-up level.
 */
static void l2cap_sec_not_bluetooth(void **state)
{
	struct l2cap_link_security sec = {
		.level = L2CAP_SECURITY_HIGH,
		.key_size = 99,
	};
	int sv[2], r;

	(void)state;
	assert_int_equal(l2cap_link_security(-1, &sec), HAVE_BLUEZ ? -EINVAL :
								     -EAFNOSUPPORT);
	assert_int_equal(l2cap_request_security(-1, L2CAP_SECURITY_MEDIUM),
			 HAVE_BLUEZ ? -EINVAL : -EAFNOSUPPORT);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	r = l2cap_link_security(sv[0], &sec);
	assert_true(r < 0);
	/* Untouched on failure. */
	assert_int_equal(sec.level, L2CAP_SECURITY_HIGH);
	assert_int_equal(sec.key_size, 99);
	assert_true(l2cap_request_security(sv[0], L2CAP_SECURITY_MEDIUM) < 0);
	if (HAVE_BLUEZ) {
		/* LEAVE is no level to ask the kernel for. */
		assert_int_equal(l2cap_request_security(sv[0],
							L2CAP_SECURITY_LEAVE),
				 -EINVAL);
	}
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(l2cap_sec_names),
		cmocka_unit_test(l2cap_sec_meets),
		cmocka_unit_test(l2cap_sec_format),
		cmocka_unit_test(l2cap_sec_connect_hints),
		cmocka_unit_test(l2cap_sec_not_bluetooth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
