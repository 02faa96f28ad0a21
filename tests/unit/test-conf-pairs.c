/* SPDX-License-Identifier: MIT */
/* ttwsd.conf's pairs: [pair.NAME], the old form as pair "default", each
 * pair's stream keys (codec, delays, profile) and their errors. */
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

static int parse(const char *text, struct conf *c, char *err)
{
	return conf_parse(text, "ttwsd.conf", c, err, CONF_ERR_MAX + 64);
}

/* Two pairs in the [pair.NAME] form, each with its links and stream. */
static const char pairs_text[] =
	"[stream]\ndelay_ms = 40\n"
	"[pair.a]\n"
	"left.transport = unix\nleft.path = /tmp/a-l.sock\n"
	"right.transport = unix\nright.path = /tmp/a-r.sock\n"
	"delay_ms = 60\ndelay_max_ms = 120\n"
	"[pair.b-2]\n"
	"left.transport = l2cap\nleft.address = 00:11:22:33:44:55\n"
	"right.transport = l2cap\nright.address = 00:11:22:33:44:56\n"
	"right.psm = 0x81\ncodec = lc3\n";

static void conf_pairs_parse(void **state)
{
	struct conf *c = malloc(sizeof(*c)), *v = malloc(sizeof(*v));
	char err[CONF_ERR_MAX + 64];

	(void)state;
	assert_non_null(c);
	assert_non_null(v);
	assert_int_equal(parse(pairs_text, c, err), 0);
	assert_int_equal(conf_n_pairs(c), 2);
	assert_string_equal(conf_pair_name(c, 0), "a");
	assert_string_equal(conf_pair_name(c, 1), "b-2");
	assert_null(conf_pair_name(c, 2));
	assert_int_equal(conf_pair_find(c, "b-2"), 1);
	assert_int_equal(conf_pair_find(c, "c"), -ENOENT);
	/* The old form's links stay unset in the pair form. */
	assert_int_equal(c->link[CONF_EAR_LEFT].transport,
			 CONF_TRANSPORT_NONE);
	assert_string_equal(conf_pair_link(c, 0, CONF_EAR_RIGHT)->path,
			    "/tmp/a-r.sock");
	/* Pair a: its own delays, [stream]'s codec. */
	assert_int_equal(conf_pair_view(c, 0, v), 0);
	assert_string_equal(v->link[CONF_EAR_LEFT].path, "/tmp/a-l.sock");
	assert_int_equal(v->stream.delay_ns, 60 * NSEC_PER_MSEC);
	assert_int_equal(v->stream.delay_max_ns, 120 * NSEC_PER_MSEC);
	assert_int_equal(v->stream.delay_min_ns, 5 * NSEC_PER_MSEC);
	assert_int_equal(v->stream.codec, CONF_CODEC_PCM);
	/* Pair b-2: its codec, [stream]'s delay; its link defaults. */
	assert_int_equal(conf_pair_view(c, 1, v), 0);
	assert_int_equal(v->stream.codec, CONF_CODEC_LC3);
	assert_int_equal(v->stream.delay_ns, 40 * NSEC_PER_MSEC);
	assert_int_equal(v->link[CONF_EAR_LEFT].transport,
			 CONF_TRANSPORT_L2CAP);
	assert_int_equal(v->link[CONF_EAR_LEFT].psm, 0x80);
	assert_int_equal(v->link[CONF_EAR_RIGHT].psm, 0x81);
	assert_int_equal(v->link[CONF_EAR_RIGHT].mtu, 2048);
	assert_int_equal(conf_pair_view(c, 2, v), -ERANGE);
	free(c);
	free(v);
}

/* The old form is one pair named "default", its view the conf itself. */
static void conf_pairs_old_form(void **state)
{
	static const char text[] =
		"[link.left]\ntransport = unix\npath = /tmp/l.sock\n"
		"[link.right]\ntransport = unix\npath = /tmp/r.sock\n";
	struct conf *c = malloc(sizeof(*c)), *v = malloc(sizeof(*v));
	struct conf_key_info ki;
	char err[CONF_ERR_MAX + 64];

	(void)state;
	assert_int_equal(parse(text, c, err), 0);
	assert_int_equal(c->n_pairs, 0);
	assert_int_equal(conf_n_pairs(c), 1);
	assert_string_equal(conf_pair_name(c, 0), "default");
	assert_int_equal(conf_pair_view(c, 0, v), 0);
	assert_memory_equal(c, v, sizeof(*c));
	assert_ptr_equal(conf_pair_link(c, 0, CONF_EAR_LEFT),
			 &c->link[CONF_EAR_LEFT]);
	assert_int_equal(conf_get(c, "link.left.path", &ki), 0);
	assert_string_equal(ki.value, "/tmp/l.sock");
	assert_int_equal(conf_get(c, "pair.default.left.path", &ki), -ENOENT);
	free(c);
	free(v);
}

/* Each bad file names its line and what is wrong. */
static void conf_pairs_errors(void **state)
{
	static const char *const cases[][2] = {
		/* mixed forms, both ways round */
		{ "[link.left]\ntransport = unix\npath = /a\n"
		  "[pair.x]\nleft.transport = unix\n",
		  "ttwsd.conf:4: [pair.x]: [link.left]/[link.right] (line 1) "
		  "and [pair.NAME] sections cannot be mixed: use one form" },
		{ "[pair.x]\nleft.transport = unix\nleft.path = /a\n"
		  "\n[link.right]\ntransport = unix\npath = /b\n",
		  "ttwsd.conf:5: [link.*] sections and [pair.NAME] (line 1) "
		  "cannot be mixed: use one form" },
		/* names */
		{ "[pair.Bad]\nleft.transport = unix\n",
		  "ttwsd.conf:1: [pair.Bad]: a pair's name is 1 to 31 of a-z, "
		  "0-9, '_' and '-'" },
		{ "[pair.]\nleft.transport = unix\n",
		  "ttwsd.conf:1: [pair.]: a pair's name is 1 to 31 of a-z, "
		  "0-9, '_' and '-'" },
		{ "[pair.abcdefghijabcdefghijabcdefghijab]\n",
		  "ttwsd.conf:1: [pair.abcdefghijabcdefghijabcdefghijab]: a "
		  "pair's name is 1 to 31 of a-z, 0-9, '_' and '-'" },
		/* a duplicate */
		{ "[pair.x]\nleft.transport = unix\nleft.path = /a\n"
		  "right.transport = unix\nright.path = /b\n"
		  "[pair.x]\ndelay_ms = 50\n",
		  "ttwsd.conf:6: [pair.x]: a second section for this pair (the "
		  "first is at line 1)" },
		/* one ear only */
		{ "[pair.x]\nleft.transport = unix\nleft.path = /a\n"
		  "[pair.y]\nleft.transport = unix\nleft.path = /c\n"
		  "right.transport = unix\nright.path = /d\n",
		  "ttwsd.conf:1: [pair.x]: a pair needs both ears "
		  "(left.transport and right.transport)" },
		/* the same socket twice, across pairs */
		{ "[pair.x]\nleft.transport = unix\nleft.path = /a\n"
		  "right.transport = unix\nright.path = /b\n"
		  "[pair.y]\nleft.transport = unix\nleft.path = /c\n"
		  "right.transport = unix\nright.path = /a\n",
		  "ttwsd.conf:6: [pair.y] right and [pair.x] left: the same "
		  "path" },
		/* the same earbud address, within a pair */
		{ "[pair.x]\nleft.transport = l2cap\n"
		  "left.address = 00:11:22:33:44:55\n"
		  "right.transport = l2cap\n"
		  "right.address = 00:11:22:33:44:55\n",
		  "ttwsd.conf:1: [pair.x] right and [pair.x] left: the same "
		  "address" },
		/* one hci-uart tty, two pairs */
		{ "[pair.x]\nleft.transport = hci-uart\nleft.path = /dev/t\n"
		  "left.address = 00:11:22:33:44:01\n"
		  "right.transport = hci-uart\nright.path = /dev/t\n"
		  "right.address = 00:11:22:33:44:02\n"
		  "[pair.y]\nleft.transport = hci-uart\nleft.path = /dev/t\n"
		  "left.address = 00:11:22:33:44:03\n"
		  "right.transport = hci-uart\nright.path = /dev/u\n"
		  "right.address = 00:11:22:33:44:04\n",
		  "ttwsd.conf:8: [pair.y] left and [pair.x] left: the same "
		  "path (one hci-uart dongle serves one pair)" },
		/* the old form's two ears on one socket */
		{ "[link.left]\ntransport = unix\npath = /a\n"
		  "[link.right]\ntransport = unix\npath = /a\n",
		  "ttwsd.conf: [link.right] and [link.left]: the same path" },
		/* a pair's delays */
		{ "[pair.x]\nleft.transport = unix\nleft.path = /a\n"
		  "right.transport = unix\nright.path = /b\n"
		  "delay_ms = 300\n",
		  "ttwsd.conf:1: [pair.x] delay_ms is outside "
		  "delay_min_ms..delay_max_ms" },
		/* unknown keys in a pair, and the bare sections */
		{ "[pair.x]\nleft.nope = 1\n",
		  "ttwsd.conf:2: [pair.x] unknown key 'left.nope'" },
		{ "[pair.x]\nmono = yes\n",
		  "ttwsd.conf:2: [pair.x] unknown key 'mono'" },
		{ "[pair]\ncodec = lc3\n",
		  "ttwsd.conf:2: unknown section [pair] (key 'codec')" },
		{ "[link]\npath = /a\n",
		  "ttwsd.conf:2: unknown section [link] (key 'path')" },
		{ "[pair.x]\nleft.transport = unix\nleft.path = /a\n"
		  "right.transport = unix\nright.path = /b\n"
		  "codec = mp3\n",
		  "ttwsd.conf:6: [pair.x] codec: unknown value 'mp3'" },
	};
	char err[CONF_ERR_MAX + 64];
	struct conf *c = malloc(sizeof(*c));
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(err, 0, sizeof(err));
		if (parse(cases[i][0], c, err) != -EINVAL ||
		    strcmp(err, cases[i][1]) != 0) {
			fail_msg("case %zu: got '%s', want '%s'", i, err,
				 cases[i][1]);
		}
	}
	free(c);
}

/* Up to 8 pairs; the 9th is an error at its line. */
static void conf_pairs_limit(void **state)
{
	char text[4096], want[128], err[CONF_ERR_MAX + 64];
	struct conf *c = malloc(sizeof(*c));
	size_t len = 0;
	int i, line = 1;

	(void)state;
	for (i = 0; i < CONF_MAX_PAIRS + 1; i++) {
		if (i == CONF_MAX_PAIRS) {
			assert_int_equal(parse(text, c, err), 0);
			assert_int_equal(conf_n_pairs(c), CONF_MAX_PAIRS);
			snprintf(want, sizeof(want),
				 "ttwsd.conf:%d: [pair.p%d]: at most 8 pairs",
				 line, i);
		}
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"[pair.p%d]\n"
					"left.transport = unix\n"
					"left.path = /tmp/%d-l\n"
					"right.transport = unix\n"
					"right.path = /tmp/%d-r\n",
					i, i, i);
		line += 5;
	}
	assert_int_equal(parse(text, c, err), -EINVAL);
	assert_string_equal(err, want);
	free(c);
}

/* Names of the pair form: pair.NAME[.EAR].key; link.EAR.* are gone. */
static void conf_pairs_names(void **state)
{
	struct conf *c = malloc(sizeof(*c)), *n = malloc(sizeof(*n)),
		    *v = malloc(sizeof(*v));
	struct conf_key_info ki, again;
	char err[CONF_ERR_MAX + 64], buf[256];
	unsigned i, total, seen_pair = 0;

	(void)state;
	assert_int_equal(parse(pairs_text, c, err), 0);
	assert_int_equal(conf_get(c, "pair.a.left.path", &ki), 0);
	assert_string_equal(ki.value, "/tmp/a-l.sock");
	assert_int_equal(ki.apply, CONF_RESTART);
	assert_int_equal(conf_get(c, "pair.b-2.right.psm", &ki), 0);
	assert_string_equal(ki.value, "129");
	/* Unset: reads as [stream]'s, which it follows. */
	assert_int_equal(conf_get(c, "pair.b-2.delay_ms", &ki), 0);
	assert_string_equal(ki.value, "40");
	assert_int_equal(conf_get(c, "pair.a.delay_min_ms", &ki), 0);
	assert_int_equal(ki.apply, CONF_LIVE);
	assert_int_equal(conf_get(c, "pair.a.codec", &ki), 0);
	assert_string_equal(ki.value, "pcm");
	assert_int_equal(conf_get(c, "link.left.path", &ki), -ENOENT);
	assert_int_equal(conf_get(c, "pair.c.left.path", &ki), -ENOENT);
	assert_int_equal(conf_get(c, "pair.a.middle.path", &ki), -ENOENT);
	assert_int_equal(conf_get(c, "pair.a.mono", &ki), -ENOENT);
	assert_int_equal(conf_get(c, "pair.a", &ki), -ENOENT);
	assert_int_equal(conf_get(c, "pair.codec", &ki), -ENOENT);
	assert_int_equal(conf_set(c, "link.left.path", "/x", n, err,
				  sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "pair.NAME.left.KEY"));

	/* Set a pair's live delay bound: that pair only. */
	assert_int_equal(conf_set(c, "pair.b-2.delay_max_ms", "90", n, err,
				  sizeof(err)),
			 0);
	assert_int_equal(conf_pair_view(n, 1, v), 0);
	assert_int_equal(v->stream.delay_max_ns, 90 * NSEC_PER_MSEC);
	assert_int_equal(conf_pair_view(n, 0, v), 0);
	assert_int_equal(v->stream.delay_max_ns, 120 * NSEC_PER_MSEC);
	assert_int_equal(conf_restart_diff(c, n, buf, sizeof(buf)), 0);
	/* An unset pair key follows [stream] when that changes. */
	assert_int_equal(conf_set(c, "stream.delay_margin_ms", "3", n, err,
				  sizeof(err)),
			 0);
	assert_int_equal(conf_pair_view(n, 0, v), 0);
	assert_int_equal(v->stream.delay_margin_ns, 3 * NSEC_PER_MSEC);
	/* Out of a pair's own range: refused with its name. */
	assert_int_equal(conf_set(c, "pair.a.delay_ms", "10", n, err,
				  sizeof(err)),
			 0);
	assert_int_equal(conf_set(c, "pair.a.delay_min_ms", "100", n, err,
				  sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "pair.a.delay_min_ms: [pair.a] delay_ms is "
				 "outside delay_min_ms..delay_max_ms");
	/* Two ears on one socket, by Set too. */
	assert_int_equal(conf_set(c, "pair.a.right.path", "/tmp/a-l.sock", n,
				  err, sizeof(err)),
			 -EINVAL);

	/* Every name reads back, and setting its value keeps every value. */
	total = conf_n_names(c);
	for (i = 0; i < total; i++) {
		assert_int_equal(conf_key_info(c, i, &ki), 0);
		assert_int_equal(conf_get(c, ki.name, &again), 0);
		assert_string_equal(ki.value, again.value);
		seen_pair += strncmp(ki.name, "pair.", 5) == 0;
		assert_null(strstr(ki.name, "link."));
		if (ki.value[0] == '\0') {
			continue;
		}
		if (strncmp(ki.name, "pair.a.", 7) == 0 &&
		    strstr(ki.name, ".security")) {
			/* Pair a's links are unix: refused written out. */
			assert_int_equal(conf_set(c, ki.name, ki.value, n, err,
						  sizeof(err)),
					 -EINVAL);
			continue;
		}
		if (conf_set(c, ki.name, ki.value, n, err, sizeof(err))) {
			fail_msg("%s = '%s': %s", ki.name, ki.value, err);
		}
		assert_int_equal(conf_get(n, ki.name, &again), 0);
		assert_string_equal(ki.value, again.value);
	}
	assert_int_equal(conf_key_info(c, total, &ki), -ERANGE);
	/* 2 pairs x (7 stream keys + 2 x 11 link keys). */
	assert_int_equal(seen_pair, 2 * (7 + 2 * 11));
	free(c);
	free(n);
	free(v);
}

/* Restart keys of pairs, and a changed set of pairs, wait for a restart. */
static void conf_pairs_restart(void **state)
{
	static const char three[] =
		"[pair.a]\nleft.transport = unix\nleft.path = /tmp/1\n"
		"right.transport = unix\nright.path = /tmp/2\n"
		"[pair.b]\nleft.transport = unix\nleft.path = /tmp/3\n"
		"right.transport = unix\nright.path = /tmp/4\n"
		"[pair.c]\nleft.transport = unix\nleft.path = /tmp/5\n"
		"right.transport = unix\nright.path = /tmp/6\n";
	struct conf *c = malloc(sizeof(*c)), *n = malloc(sizeof(*n));
	char err[CONF_ERR_MAX + 64], buf[256];

	(void)state;
	assert_int_equal(parse(pairs_text, c, err), 0);
	assert_int_equal(conf_set(c, "pair.a.codec", "lc3", n, err,
				  sizeof(err)),
			 0);
	assert_int_equal(conf_restart_diff(c, n, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "pair.a.codec");
	conf_keep_restart(c, n);
	assert_int_equal(conf_restart_diff(c, n, buf, sizeof(buf)), 0);
	assert_memory_equal(c, n, sizeof(*c));

	/* Another set of pairs: "pairs", and kept as they run. */
	assert_int_equal(parse(three, n, err), 0);
	assert_int_equal(conf_restart_diff(c, n, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "pairs");
	conf_keep_restart(c, n);
	assert_int_equal(conf_n_pairs(n), 2);
	assert_string_equal(conf_pair_name(n, 1), "b-2");
	assert_int_equal(conf_restart_diff(c, n, buf, sizeof(buf)), 0);
	free(c);
	free(n);
}

/*
 * profile = asha: per pair or for the old form's pair, on hci-uart only
 * (its GATT client runs on ttwsd's own host); errors name file:line.
 */
static void conf_profile_asha(void **state)
{
	static const char asha_pair[] =
		"[pair.aids]\nprofile = asha\n"
		"left.transport = hci-uart\nleft.path = /dev/ttyUSB0\n"
		"left.address = 00:11:22:33:44:55\n"
		"right.transport = hci-uart\nright.path = /dev/ttyUSB0\n"
		"right.address = 00:11:22:33:44:56\n"
		"[pair.buds]\nleft.transport = unix\nleft.path = /tmp/l\n"
		"right.transport = unix\nright.path = /tmp/r\n";
	static const char asha_unix[] =
		"[stream]\nsource = tone\n"
		"[pair.aids]\n"
		"left.transport = unix\nleft.path = /tmp/l\n"
		"right.transport = unix\nright.path = /tmp/r\n"
		"profile = asha\n";
	static const char old_form[] =
		"[stream]\nprofile = asha\n"
		"[link.left]\ntransport = hci-uart\npath = /dev/ttyUSB0\n"
		"address = 00:11:22:33:44:55\n";
	static const char old_unix[] =
		"[stream]\nprofile = asha\n"
		"[link.left]\ntransport = unix\npath = /tmp/l\n";
	struct conf *c = malloc(sizeof(*c)), *v = malloc(sizeof(*v));
	char err[CONF_ERR_MAX + 64];

	(void)state;
	assert_int_equal(parse(asha_pair, c, err), 0);
	assert_int_equal(c->stream.profile, CONF_PROFILE_TTWS_LINK);
	assert_int_equal(conf_pair_view(c, 0, v), 0);
	assert_int_equal(v->stream.profile, CONF_PROFILE_ASHA);
	assert_int_equal(conf_pair_view(c, 1, v), 0);
	assert_int_equal(v->stream.profile, CONF_PROFILE_TTWS_LINK);
	assert_string_equal(conf_profile_name(CONF_PROFILE_ASHA), "asha");
	assert_string_equal(conf_profile_name(CONF_PROFILE_TTWS_LINK),
			    "ttws-link");

	assert_int_equal(parse(asha_unix, c, err), -EINVAL);
	assert_non_null(strstr(err, "ttwsd.conf:3: [pair.aids] profile = asha "
				    "needs transport = hci-uart"));
	assert_non_null(strstr(err, "the left ear has unix"));

	assert_int_equal(parse(old_form, c, err), 0);
	assert_int_equal(c->stream.profile, CONF_PROFILE_ASHA);
	assert_int_equal(parse(old_unix, c, err), -EINVAL);
	assert_non_null(strstr(err, "[stream] profile = asha needs"));

	/* ASHA's Volume: -128..0, per pair or [stream]'s. */
	assert_int_equal(c->stream.asha_volume, -20);
	assert_int_equal(conf_set(c, "stream.asha_volume", "-64", v, err,
				  sizeof(err)),
			 0);
	assert_int_equal(v->stream.asha_volume, -64);
	assert_int_equal(conf_set(c, "stream.asha_volume", "1", v, err,
				  sizeof(err)),
			 -EINVAL);
	assert_int_equal(parse("[stream]\nasha_volume = -129\n", c, err),
			 -EINVAL);
	assert_int_equal(parse("[stream]\nprofile = lea\n", c, err), -EINVAL);
	assert_non_null(strstr(err, "ttwsd.conf:2:"));
	free(c);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(conf_pairs_parse),
		cmocka_unit_test(conf_pairs_old_form),
		cmocka_unit_test(conf_pairs_errors),
		cmocka_unit_test(conf_pairs_limit),
		cmocka_unit_test(conf_pairs_names),
		cmocka_unit_test(conf_pairs_restart),
		cmocka_unit_test(conf_profile_asha),
	};

	return cmocka_run_group_tests_name("conf-pairs", tests, NULL, NULL);
}
