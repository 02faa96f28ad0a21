/* SPDX-License-Identifier: MIT */
/*
 * core/txstamp: error-queue control data as the kernel lays it out
 * (put_cmsg() order: SCM_TIMESTAMPING first, then the extended error),
 * built here byte for byte, for every family ttwsd meets and the ways
 * it can be wrong.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "core/txstamp.h"

#define SOL_BT 274
#define BT_SCM_ERR 4

struct ctl {
	union {
		unsigned char buf[512];
		struct cmsghdr align;
	} u;
	size_t len;
};

static void put(struct ctl *c, int level, int type, const void *data,
		size_t n)
{
	struct cmsghdr *h = (struct cmsghdr *)(c->u.buf + c->len);

	assert_true(c->len + CMSG_SPACE(n) <= sizeof(c->u.buf));
	h->cmsg_level = level;
	h->cmsg_type = type;
	h->cmsg_len = CMSG_LEN(n);
	memcpy(CMSG_DATA(h), data, n);
	c->len += CMSG_SPACE(n);
}

static void put_stamp(struct ctl *c, time_t sec, long nsec)
{
	struct scm_timestamping t;

	memset(&t, 0, sizeof(t));
	t.ts[0].tv_sec = sec;
	t.ts[0].tv_nsec = nsec;
	put(c, SOL_SOCKET, SCM_TIMESTAMPING, &t, sizeof(t));
}

static void put_err(struct ctl *c, int level, int type, uint8_t origin,
		    uint32_t info, uint32_t data, uint32_t eno)
{
	struct {
		struct sock_extended_err ee;
		struct sockaddr_in6 offender;
	} e;

	memset(&e, 0, sizeof(e));
	e.ee.ee_errno = eno;
	e.ee.ee_origin = origin;
	e.ee.ee_info = info;
	e.ee.ee_data = data;
	put(c, level, type, &e, sizeof(e));
}

static void test_families(void **state)
{
	static const struct {
		int level, type;
	} fam[] = {
	    {SOL_IP, IP_RECVERR},
	    {SOL_IPV6, IPV6_RECVERR},
	    {SOL_BT, BT_SCM_ERR},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
		struct ctl c = {.len = 0};
		struct txstamp t;
		int err = 1;

		put_stamp(&c, 1700000000, 123456789);
		put_err(&c, fam[i].level, fam[i].type,
			SO_EE_ORIGIN_TIMESTAMPING, SCM_TSTAMP_SND + 3,
			(uint32_t)(41 + i), ENOMSG);
		assert_int_equal(txstamp_parse(c.u.buf, c.len, &t, &err), 0);
		assert_int_equal(err, 0);
		assert_int_equal(t.kind, TXSTAMP_COMPLETION);
		assert_int_equal(t.key, 41 + i);
		assert_true(t.realtime_ns ==
			    UINT64_C(1700000000) * 1000000000u + 123456789u);
	}
}

static void test_order_and_kinds(void **state)
{
	struct ctl c = {.len = 0};
	struct txstamp t;

	(void)state;
	/* The error first, an unrelated cmsg between: still found. */
	put_err(&c, SOL_IP, IP_RECVERR, SO_EE_ORIGIN_TIMESTAMPING,
		SCM_TSTAMP_SND, 7, ENOMSG);
	put(&c, SOL_SOCKET, SCM_TIMESTAMPNS, "0123456789abcdef", 16);
	put_stamp(&c, 5, 6);
	assert_int_equal(txstamp_parse(c.u.buf, c.len, &t, NULL), 0);
	assert_int_equal(t.kind, TXSTAMP_SND);
	assert_int_equal(t.key, 7);
	assert_true(t.realtime_ns == UINT64_C(5000000006));
	assert_string_equal(txstamp_kind_name(TXSTAMP_SND), "snd");
	assert_string_equal(txstamp_kind_name(TXSTAMP_COMPLETION),
			    "completion");
	assert_string_equal(txstamp_kind_name((enum txstamp_kind)9), "?");
}

static void test_other_errors(void **state)
{
	struct ctl c = {.len = 0};
	struct txstamp t;
	int err = 0;

	(void)state;
	/* ICMP port unreachable on UDP with IP_RECVERR. */
	put_err(&c, SOL_IP, IP_RECVERR, SO_EE_ORIGIN_ICMP, 0, 0, ECONNREFUSED);
	assert_int_equal(txstamp_parse(c.u.buf, c.len, &t, &err), -ENOMSG);
	assert_int_equal(err, -ECONNREFUSED);

	/* A stamp alone (no error cmsg): nothing to say which send. */
	c.len = 0;
	put_stamp(&c, 1, 2);
	assert_int_equal(txstamp_parse(c.u.buf, c.len, &t, &err), -ENOMSG);
	assert_int_equal(err, 0);

	/* Nothing at all. */
	assert_int_equal(txstamp_parse(c.u.buf, 0, &t, &err), -ENOMSG);
	assert_int_equal(txstamp_parse(NULL, 64, &t, &err), -ENOMSG);
}

static void test_malformed(void **state)
{
	struct ctl c = {.len = 0};
	struct txstamp t;

	(void)state;
	/* A timestamp report without its stamp. */
	put_err(&c, SOL_BT, BT_SCM_ERR, SO_EE_ORIGIN_TIMESTAMPING,
		SCM_TSTAMP_SND, 1, ENOMSG);
	assert_int_equal(txstamp_parse(c.u.buf, c.len, &t, NULL), -EBADMSG);

	/* An all-zero software stamp: SOFTWARE reporting was off. */
	c.len = 0;
	put_stamp(&c, 0, 0);
	put_err(&c, SOL_BT, BT_SCM_ERR, SO_EE_ORIGIN_TIMESTAMPING,
		SCM_TSTAMP_SND, 1, ENOMSG);
	assert_int_equal(txstamp_parse(c.u.buf, c.len, &t, NULL), -EBADMSG);

	/* An error cmsg too short for its struct. */
	c.len = 0;
	put_stamp(&c, 1, 1);
	put(&c, SOL_IP, IP_RECVERR, "abcd", 4);
	assert_int_equal(txstamp_parse(c.u.buf, c.len, &t, NULL), -EBADMSG);

	/* A cmsg claiming more bytes than the buffer holds. */
	c.len = 0;
	put_stamp(&c, 1, 1);
	put_err(&c, SOL_IP, IP_RECVERR, SO_EE_ORIGIN_TIMESTAMPING,
		SCM_TSTAMP_SND, 1, ENOMSG);
	((struct cmsghdr *)(c.u.buf + CMSG_SPACE(sizeof(struct scm_timestamping))))
	    ->cmsg_len = 400;
	assert_int_equal(txstamp_parse(c.u.buf, c.len, &t, NULL), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_families),
	    cmocka_unit_test(test_order_and_kinds),
	    cmocka_unit_test(test_other_errors),
	    cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests_name("txstamp", tests, NULL, NULL);
}
