/* SPDX-License-Identifier: MIT */
/*
 * ttwsd.conf's per-link `security` key (issue 14, encrypted links): its
 * default, its values, file:line errors, the unix transport's refusal,
 * the warning for `none`, and Set / reload through the by-name API.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/conf.h"
#include "core/macro.h"

#define ERR_SIZE (CONF_ERR_MAX + 64)

static int parse(const char *text, struct conf *c, char *err)
{
	return conf_parse(text, "t.conf", c, err, ERR_SIZE);
}

static const char l2cap_left[] = "[link.left]\ntransport = l2cap\n"
				 "address = 00:11:22:33:44:55\n";

/* Encrypted unless told: every link's default is medium, not written. */
static void conf_security_default_medium(void **state)
{
	struct conf c;
	char err[ERR_SIZE];
	unsigned e;

	(void)state;
	conf_default(&c);
	for (e = 0; e < CONF_N_EARS; e++) {
		assert_int_equal(c.link[e].security, CONF_SECURITY_MEDIUM);
		assert_int_equal(c.link[e].set, 0);
	}
	assert_int_equal(parse(l2cap_left, &c, err), 0);
	assert_int_equal(c.link[CONF_EAR_LEFT].security, CONF_SECURITY_MEDIUM);
	assert_false(c.link[CONF_EAR_LEFT].set & CONF_LINK_SET_SECURITY);
	assert_null(conf_security_warning(&c.link[CONF_EAR_LEFT]));
}

static void conf_security_values(void **state)
{
	static const struct {
		const char *text;
		enum conf_security want;
	} cases[] = {
		{ "none", CONF_SECURITY_NONE },
		{ "medium", CONF_SECURITY_MEDIUM },
		{ "high", CONF_SECURITY_HIGH },
	};
	char text[256], err[ERR_SIZE];
	struct conf c;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(text, sizeof(text), "%ssecurity = %s\n", l2cap_left,
			 cases[i].text);
		if (parse(text, &c, err) != 0) {
			fail_msg("%s: %s", cases[i].text, err);
		}
		assert_int_equal(c.link[CONF_EAR_LEFT].security, cases[i].want);
		assert_true(c.link[CONF_EAR_LEFT].set & CONF_LINK_SET_SECURITY);
		assert_string_equal(conf_security_name(cases[i].want),
				    cases[i].text);
	}
	assert_string_equal(conf_security_name((enum conf_security)7), "?");
}

/* A bad value names the file, its line and the key. */
static void conf_security_bad_values(void **state)
{
	static const char *const bad[] = { "low", "Medium", "", "2", "fips" };
	char text[256], want[256], err[ERR_SIZE];
	struct conf c;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text), "%ssecurity = %s\n", l2cap_left,
			 bad[i]);
		assert_int_equal(parse(text, &c, err), -EINVAL);
		snprintf(want, sizeof(want),
			 "t.conf:4: [link.left] security: unknown value '%s'",
			 bad[i]);
		assert_string_equal(err, want);
	}
	/* In a pair, with the ear in the name. */
	assert_int_equal(parse("[pair.k]\n"
			       "left.transport = l2cap\n"
			       "left.address = 00:11:22:33:44:55\n"
			       "right.transport = l2cap\n"
			       "right.address = 00:11:22:33:44:56\n"
			       "right.security = off\n",
			       &c, err),
			 -EINVAL);
	assert_string_equal(err, "t.conf:6: [pair.k] right.security: unknown "
				 "value 'off'");
}

/*
 * The unix transport has no link security: written out, refused at the
 * line of whichever of transport and security comes second; unset, the
 * default is no request.
 */
static void conf_security_unix_refused(void **state)
{
	char err[ERR_SIZE];
	struct conf c;

	(void)state;
	assert_int_equal(parse("[link.left]\ntransport = unix\n"
			       "path = /tmp/l\nsecurity = none\n",
			       &c, err),
			 -EINVAL);
	assert_string_equal(err, "t.conf:4: [link.left] security: the unix "
				 "transport has no link security (remove the "
				 "key)");
	assert_int_equal(parse("[link.right]\nsecurity = medium\n"
			       "path = /tmp/r\ntransport = unix\n",
			       &c, err),
			 -EINVAL);
	assert_string_equal(err, "t.conf:4: [link.right] security: the unix "
				 "transport has no link security (remove the "
				 "key)");
	assert_int_equal(parse("[pair.p]\n"
			       "left.transport = unix\nleft.path = /tmp/l\n"
			       "right.transport = unix\nright.path = /tmp/r\n"
			       "right.security = high\n",
			       &c, err),
			 -EINVAL);
	assert_string_equal(err, "t.conf:6: [pair.p] right.security: the "
				 "unix transport has no link security (remove "
				 "the key)");
	/* Unset on unix: fine, and no warning (nothing to encrypt). */
	assert_int_equal(parse("[link.left]\ntransport = unix\n"
			       "path = /tmp/l\n",
			       &c, err),
			 0);
	assert_int_equal(c.link[CONF_EAR_LEFT].security, CONF_SECURITY_MEDIUM);
	assert_null(conf_security_warning(&c.link[CONF_EAR_LEFT]));
	/* The whole-snapshot check says the same (a hand-built conf). */
	c.link[CONF_EAR_LEFT].set |= CONF_LINK_SET_SECURITY;
	assert_int_equal(conf_check(&c, err, ERR_SIZE), -EINVAL);
	assert_non_null(strstr(err, "[link.left] security: the unix"));
}

/* `none` on a radio transport is warned about; nothing else is. */
static void conf_security_warning_cases(void **state)
{
	static const enum conf_transport radio[] = {
		CONF_TRANSPORT_L2CAP,
		CONF_TRANSPORT_HCI_UART,
	};
	struct conf_link l;
	const char *w;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(radio); i++) {
		memset(&l, 0, sizeof(l));
		l.transport = radio[i];
		l.security = CONF_SECURITY_NONE;
		w = conf_security_warning(&l);
		assert_non_null(w);
		assert_non_null(strstr(w, "NOT encrypted"));
		l.security = CONF_SECURITY_MEDIUM;
		assert_null(conf_security_warning(&l));
		l.security = CONF_SECURITY_HIGH;
		assert_null(conf_security_warning(&l));
	}
	memset(&l, 0, sizeof(l));
	l.security = CONF_SECURITY_NONE;
	l.transport = CONF_TRANSPORT_UNIX;
	assert_null(conf_security_warning(&l));
	l.transport = CONF_TRANSPORT_NONE;
	assert_null(conf_security_warning(&l));
}

/* By name (the control API, ttwsd --get): read, set, restart-only. */
static void conf_security_by_name(void **state)
{
	static const char text[] =
		"[link.left]\ntransport = l2cap\naddress = 00:11:22:33:44:55\n"
		"security = none\n"
		"[link.right]\ntransport = unix\npath = /tmp/r.sock\n";
	struct conf c, n;
	struct conf_key_info ki;
	char err[ERR_SIZE], list[128];

	(void)state;
	assert_int_equal(parse(text, &c, err), 0);
	assert_non_null(conf_security_warning(&c.link[CONF_EAR_LEFT]));
	assert_int_equal(conf_get(&c, "link.left.security", &ki), 0);
	assert_string_equal(ki.value, "none");
	assert_string_equal(ki.range, "none|medium|high");
	assert_int_equal(ki.apply, CONF_RESTART);
	assert_int_equal(conf_get(&c, "link.right.security", &ki), 0);
	assert_string_equal(ki.value, "medium");

	assert_int_equal(conf_set(&c, "link.left.security", "high", &n, err,
				  sizeof(err)),
			 0);
	assert_int_equal(n.link[CONF_EAR_LEFT].security, CONF_SECURITY_HIGH);
	assert_int_equal(conf_restart_diff(&c, &n, list, sizeof(list)), 1);
	assert_string_equal(list, "link.left.security");
	assert_int_equal(conf_set(&c, "link.left.security", "low", &n, err,
				  sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "link.left.security: unknown value 'low'");
	assert_int_equal(conf_set(&c, "link.right.security", "none", &n, err,
				  sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "link.right.security: [link.right] security: "
				 "the unix transport has no link security "
				 "(remove the key)");
	/* A unix link that was l2cap with a security: refused too. */
	assert_int_equal(conf_set(&c, "link.left.transport", "unix", &n, err,
				  sizeof(err)),
			 -EINVAL);
}

/*
 * A reload keeps restart-only keys as they run, the record of whether
 * security was written out with them: else a later live Set would find
 * a unix link with a written-out security it never had.
 */
static void conf_security_keep_restart(void **state)
{
	static const char running_text[] =
		"[link.left]\ntransport = unix\npath = /tmp/l.sock\n";
	static const char next_text[] =
		"[link.left]\ntransport = l2cap\naddress = 00:11:22:33:44:55\n"
		"security = high\n";
	struct conf running, next, after;
	char err[ERR_SIZE], list[128];

	(void)state;
	assert_int_equal(parse(running_text, &running, err), 0);
	assert_int_equal(parse(next_text, &next, err), 0);
	assert_int_equal(conf_restart_diff(&running, &next, list, sizeof(list)),
			 4);
	assert_non_null(strstr(list, "link.left.security"));
	conf_keep_restart(&running, &next);
	assert_int_equal(next.link[CONF_EAR_LEFT].transport,
			 CONF_TRANSPORT_UNIX);
	assert_int_equal(next.link[CONF_EAR_LEFT].security,
			 CONF_SECURITY_MEDIUM);
	assert_false(next.link[CONF_EAR_LEFT].set & CONF_LINK_SET_SECURITY);
	assert_int_equal(conf_check(&next, err, ERR_SIZE), 0);
	assert_int_equal(conf_set(&next, "servo.holdover_ms", "2000", &after,
				  err, sizeof(err)),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(conf_security_default_medium),
		cmocka_unit_test(conf_security_values),
		cmocka_unit_test(conf_security_bad_values),
		cmocka_unit_test(conf_security_unix_refused),
		cmocka_unit_test(conf_security_warning_cases),
		cmocka_unit_test(conf_security_by_name),
		cmocka_unit_test(conf_security_keep_restart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
