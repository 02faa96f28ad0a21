/* SPDX-License-Identifier: MIT */
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

static void conf_empty_is_defaults(void **state)
{
	struct conf c, d;
	char err[CONF_ERR_MAX + 64];

	(void)state;
	memset(&c, 0xa5, sizeof(c));
	assert_int_equal(parse("", &c, err), 0);
	conf_default(&d);
	assert_memory_equal(&c, &d, sizeof(c));
	assert_int_equal(c.rt.priority, 80);
	/* The RT thread takes its partition's CPU unless told. */
	assert_int_equal(c.rt.cpu, CONF_RT_CPU_AUTO);
	assert_string_equal(c.rt.cgroup, "auto");
	assert_int_equal(c.stream.frame_ns, 10 * NSEC_PER_MSEC);
	/* The test tone unless told: the tone tests need no PipeWire. */
	assert_int_equal(c.stream.source, CONF_SOURCE_TONE);
	assert_int_equal(c.servo.resync_threshold_ns, 15 * NSEC_PER_USEC);
	assert_string_equal(c.servo.estimator, "ttws");
}

static void conf_every_section(void **state)
{
	static const char text[] =
		"# comment\n"
		"[rt]\npriority = 70\ncpu = 1\nlock_memory = no\n"
		"dma_latency = off\nprefault_heap_kib = 1024\n"
		"[loop]\nbackend = epoll\nspin_guard_us = 100\n"
		"busy_poll_us = 50\nsocket_priority = 6\n"
		"[stream]\nsource = pipewire\nframe_us = 7500\ncodec = lc3\n"
		"delay_ms = 45.5\n"
		"delay_min_ms = 20\ndelay_max_ms = 100\nmono = yes\n"
		"tone_left_hz = 1000\n"
		"[servo]\nestimator = median-iir\nresync_threshold_us = 20\n"
		"probe_every_events = 2\nci_us = 30000\n"
		"[reconnect]\nbackoff_min_ms = 50\nbackoff_max_ms = 2000\n"
		"[link.left]\ntransport = unix\npath = /run/ttws/left.sock\n"
		"[link.right]\ntransport = l2cap\n"
		"address = 00:11:22:33:44:55\naddress_random = true\n"
		"psm = 0x81\nmtu = 1000\n";
	struct conf c;
	char err[CONF_ERR_MAX + 64];

	(void)state;
	assert_int_equal(parse(text, &c, err), 0);
	assert_int_equal(c.rt.priority, 70);
	assert_int_equal(c.rt.cpu, 1);
	assert_false(c.rt.lock_memory);
	assert_false(c.rt.dma_latency);
	assert_int_equal(c.rt.prefault_heap_kib, 1024);
	assert_string_equal(c.loop.backend, "epoll");
	assert_int_equal(c.loop.spin_guard_us, 100);
	assert_int_equal(c.loop.busy_poll_us, 50);
	assert_int_equal(c.loop.socket_priority, 6);
	assert_int_equal(c.stream.frame_ns, 7500 * NSEC_PER_USEC);
	assert_int_equal(c.stream.source, CONF_SOURCE_PIPEWIRE);
	assert_int_equal(c.stream.codec, CONF_CODEC_LC3);
	assert_int_equal(c.stream.delay_ns, 45500 * NSEC_PER_USEC);
	assert_true(c.stream.mono);
	assert_int_equal(c.stream.tone_hz[CONF_EAR_LEFT], 1000);
	assert_string_equal(c.servo.estimator, "median-iir");
	assert_int_equal(c.servo.resync_threshold_ns, 20 * NSEC_PER_USEC);
	assert_int_equal(c.servo.probe_every_events, 2);
	assert_int_equal(c.servo.ci_us, 30000);
	assert_int_equal(c.reconnect.backoff_min_ns, 50 * NSEC_PER_MSEC);
	assert_int_equal(c.link[CONF_EAR_LEFT].transport, CONF_TRANSPORT_UNIX);
	assert_string_equal(c.link[CONF_EAR_LEFT].path, "/run/ttws/left.sock");
	assert_int_equal(c.link[CONF_EAR_RIGHT].transport,
			 CONF_TRANSPORT_L2CAP);
	assert_string_equal(c.link[CONF_EAR_RIGHT].address,
			    "00:11:22:33:44:55");
	assert_true(c.link[CONF_EAR_RIGHT].address_random);
	assert_int_equal(c.link[CONF_EAR_RIGHT].psm, 0x81);
	assert_int_equal(c.link[CONF_EAR_RIGHT].mtu, 1000);
	assert_int_equal(c.link[CONF_EAR_LEFT].mtu, 2048); /* the default */
}

static void conf_rt_cpu_and_cgroup(void **state)
{
	struct conf c;
	char err[CONF_ERR_MAX + 64];

	(void)state;
	assert_int_equal(parse("[rt]\ncpu = auto\ncgroup = none\n", &c, err),
			 0);
	assert_int_equal(c.rt.cpu, CONF_RT_CPU_AUTO);
	assert_string_equal(c.rt.cgroup, "none");
	assert_int_equal(parse("[rt]\ncpu = -1\ncgroup = /ttws.rt\n", &c,
			       err),
			 0);
	assert_int_equal(c.rt.cpu, -1);
	assert_string_equal(c.rt.cgroup, "/ttws.rt");
	assert_int_equal(parse("[rt]\ncpu = 3\n", &c, err), 0);
	assert_int_equal(c.rt.cpu, 3);
}

/* Each bad file: its text and the exact start of the error message. */
static const struct {
	const char *text;
	const char *err;
} bad[] = {
	{ "[rt]\npriority = 100\n", "ttwsd.conf:2: [rt] priority: 100 out of range [0, 99]" },
	{ "[rt]\n\npriority = x\n", "ttwsd.conf:3: [rt] priority: 'x' is not an integer" },
	{ "[rt]\nprio = 1\n", "ttwsd.conf:2: [rt] unknown key 'prio'" },
	{ "[rt]\ncpu = -3\n", "ttwsd.conf:2: [rt] cpu: -3 out of range [-1, 1023] or auto" },
	{ "[rt]\ncpu = any\n", "ttwsd.conf:2: [rt] cpu: 'any' is not an integer or auto" },
	{ "[rt]\ncgroup = rt\n", "ttwsd.conf:2: [rt] cgroup: must be auto, none or an absolute path" },
	{ "[rtt]\npriority = 1\n", "ttwsd.conf:2: unknown section [rtt]" },
	{ "[rt]\nlock_memory = maybe\n", "ttwsd.conf:2: [rt] lock_memory: 'maybe' is not a boolean" },
	{ "[stream]\ncodec = mp3\n", "ttwsd.conf:2: [stream] codec: unknown value 'mp3'" },
	{ "[stream]\nsource = alsa\n", "ttwsd.conf:2: [stream] source: unknown value 'alsa'" },
	{ "[stream]\n\nsource = 1\n", "ttwsd.conf:3: [stream] source: unknown value '1'" },
	{ "[stream]\nframe_us = 8000\n", "ttwsd.conf:2: [stream] frame_us: must be 7500 or 10000" },
	{ "[stream]\nframe_us = 5000\n", "ttwsd.conf:2: [stream] frame_us: 5000 out of range" },
	{ "[stream]\ndelay_min_ms = 90\ndelay_max_ms = 80\n", "ttwsd.conf: [stream] delay_min_ms is above" },
	{ "[link.left]\ntransport = tcp\n", "ttwsd.conf:2: [link.left] transport: unknown value 'tcp'" },
	{ "[link.left]\ntransport = unix\n", "ttwsd.conf: [link.left] path: required" },
	{ "[link.right]\ntransport = l2cap\n", "ttwsd.conf: [link.right] address: required" },
	{ "[link.right]\naddress = 00:11:22:33:44\n", "ttwsd.conf:2: [link.right] address: '00:11:22:33:44' is not a Bluetooth address" },
	{ "[link.right]\npsm = 0x100\n", "ttwsd.conf:2: [link.right] psm: 0x100 out of range [1, 255]" },
	{ "[link.left]\n\nmtu = 22\n", "ttwsd.conf:3: [link.left] mtu: 22 out of range [23, 65535]" },
	{ "[link.middle]\npsm = 1\n", "ttwsd.conf:2: unknown section [link.middle]" },
	{ "[loop]\nbackend = kqueue\n", "ttwsd.conf:2: [loop] backend: must be" },
	{ "[servo]\nestimator = magic\n", "ttwsd.conf:2: [servo] estimator: must be" },
	{ "[rt\npriority = 1\n", "ttwsd.conf:1: syntax error" },
	{ "priority = 1\n", "ttwsd.conf:1: key 'priority' outside any [section]" },
	{ "[rt]\npriority 1\n", "ttwsd.conf:2: syntax error" },
	/* The first error wins, later ones do not overwrite it. */
	{ "[rt]\ncpu = 1\npriority = 200\nfoo = 1\n", "ttwsd.conf:3: [rt] priority" },
};

static void conf_bad_files(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct conf c, before;
		char err[CONF_ERR_MAX + 64] = "";

		memset(&c, 0x5a, sizeof(c));
		before = c;
		assert_int_equal(parse(bad[i].text, &c, err), -EINVAL);
		if (strncmp(err, bad[i].err, strlen(bad[i].err)) != 0) {
			fail_msg("case %zu: got '%s', want '%s...'", i, err,
				 bad[i].err);
		}
		/* A rejected reload leaves the running snapshot alone. */
		assert_memory_equal(&c, &before, sizeof(c));
	}
}

static void conf_names(void **state)
{
	(void)state;
	assert_string_equal(conf_transport_name(CONF_TRANSPORT_HCI_UART),
			    "hci-uart");
	assert_string_equal(conf_ear_name(CONF_EAR_RIGHT), "right");
	assert_string_equal(conf_codec_name(CONF_CODEC_LC3), "lc3");
	assert_string_equal(conf_source_name(CONF_SOURCE_PIPEWIRE),
			    "pipewire");
	assert_string_equal(conf_source_name(CONF_SOURCE_TONE), "tone");
}

static void conf_get_by_name(void **state)
{
	struct conf c;
	struct conf_key_info ki;

	(void)state;
	conf_default(&c);
	assert_int_equal(conf_get(&c, "servo.estimator", &ki), 0);
	assert_string_equal(ki.name, "servo.estimator");
	assert_string_equal(ki.value, "ttws");
	assert_int_equal(ki.apply, CONF_LIVE);
	assert_string_equal(ki.range, "ttws|naive|median-iir|lucky-pi");
	assert_int_equal(conf_get(&c, "stream.delay_ms", &ki), 0);
	assert_string_equal(ki.value, "40");
	assert_string_equal(ki.range, "[1, 2000]");
	assert_int_equal(ki.apply, CONF_RESTART);
	assert_int_equal(conf_get(&c, "link.right.mtu", &ki), 0);
	assert_string_equal(ki.value, "2048");
	assert_int_equal(ki.apply, CONF_RESTART);
	assert_int_equal(conf_get(&c, "link.right.transport", &ki), 0);
	assert_string_equal(ki.range, "none|unix|hci-uart|l2cap");
	assert_int_equal(conf_get(&c, "rt.lock_memory", &ki), 0);
	assert_string_equal(ki.value, "yes");
	assert_int_equal(conf_get(&c, "link.mtu", &ki), -ENOENT);
	assert_int_equal(conf_get(&c, "link.middle.mtu", &ki), -ENOENT);
	assert_int_equal(conf_get(&c, "servo", &ki), -ENOENT);
	assert_int_equal(conf_get(&c, "servo.nope", &ki), -ENOENT);
	assert_int_equal(conf_get(&c, ".estimator", &ki), -ENOENT);
}

static void conf_set_by_name(void **state)
{
	struct conf c, n, before;
	char err[CONF_ERR_MAX];

	(void)state;
	conf_default(&c);
	before = c;
	assert_int_equal(conf_set(&c, "stream.delay_max_ms", "100", &n, err,
				  sizeof(err)),
			 0);
	assert_int_equal(n.stream.delay_max_ns, 100 * NSEC_PER_MSEC);
	assert_memory_equal(&c, &before, sizeof(c));
	assert_int_equal(conf_set(&c, "stream.delay_margin_ms", "7.5", &n, err,
				  sizeof(err)),
			 0);
	assert_int_equal(n.stream.delay_margin_ns, 7500 * NSEC_PER_USEC);

	memset(&n, 0x5a, sizeof(n));
	before = n;
	assert_int_equal(conf_set(&c, "stream.delay_max_ms", "5000", &n, err,
				  sizeof(err)),
			 -EINVAL);
	assert_string_equal(err,
			    "stream.delay_max_ms: 5000 out of range [1, 2000]");
	assert_memory_equal(&n, &before, sizeof(n));
	/* Valid alone, inconsistent with the rest. */
	assert_int_equal(conf_set(&c, "stream.delay_min_ms", "300", &n, err,
				  sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "stream.delay_min_ms: "));
	assert_non_null(strstr(err, "delay_min_ms is above delay_max_ms"));
	assert_int_equal(conf_set(&c, "servo.estimator", "kalman", &n, err,
				  sizeof(err)),
			 -EINVAL);
	assert_non_null(
	    strstr(err, "must be ttws, naive, median-iir or lucky-pi"));
	/* The fourth estimator is accepted. */
	assert_int_equal(conf_set(&c, "servo.estimator", "lucky-pi", &n, err,
				  sizeof(err)),
			 0);
	assert_string_equal(n.servo.estimator, "lucky-pi");
	assert_int_equal(conf_set(&c, "servo.bogus", "1", &n, err,
				  sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "servo.bogus: unknown key");
	assert_int_equal(conf_set(&c, "link.left.psm", "0x81", &n, err,
				  sizeof(err)),
			 0);
	assert_int_equal(n.link[CONF_EAR_LEFT].psm, 0x81);
	assert_int_equal(n.link[CONF_EAR_RIGHT].psm, 0x80);
}

/* Every name reads back what setting its own value writes. */
static void conf_every_name_round_trips(void **state)
{
	static const char text[] =
		"[stream]\ndelay_margin_ms = 2.25\n"
		"[link.left]\ntransport = l2cap\naddress = 00:11:22:33:44:55\n"
		"adapter = 66:77:88:99:AA:BB\n"
		"[link.right]\ntransport = unix\npath = /tmp/r.sock\n";
	struct conf c, n;
	struct conf_key_info ki, again;
	char err[CONF_ERR_MAX + 64];
	unsigned i, total;

	(void)state;
	assert_int_equal(parse(text, &c, err), 0);
	total = conf_n_names(&c);
	assert_true(total > 40);
	for (i = 0; i < total; i++) {
		assert_int_equal(conf_key_info(&c, i, &ki), 0);
		assert_int_equal(conf_get(&c, ki.name, &again), 0);
		assert_string_equal(ki.value, again.value);
		if (ki.value[0] == '\0') {
			continue; /* an unset address has no text to set */
		}
		if (strcmp(ki.name, "link.right.security") == 0) {
			/* A unix link refuses it written out, even as its
			 * default (test-conf-security). */
			assert_int_equal(conf_set(&c, ki.name, ki.value, &n, err,
						  sizeof(err)),
					 -EINVAL);
			continue;
		}
		if (conf_set(&c, ki.name, ki.value, &n, err, sizeof(err))) {
			fail_msg("%s = '%s': %s", ki.name, ki.value, err);
		}
		/* Written out now: a link records that (conf_link.set),
		 * the value is what it was. */
		n.link[CONF_EAR_LEFT].set = c.link[CONF_EAR_LEFT].set;
		if (memcmp(&c, &n, sizeof(c)) != 0) {
			fail_msg("%s = '%s' changed the snapshot", ki.name,
				 ki.value);
		}
	}
	assert_int_equal(conf_key_info(&c, total, &ki), -ERANGE);
}

static void conf_restart_keys(void **state)
{
	struct conf c, n;
	char list[128];
	char err[CONF_ERR_MAX];

	(void)state;
	conf_default(&c);
	assert_int_equal(conf_restart_diff(&c, &c, list, sizeof(list)), 0);
	assert_string_equal(list, "");
	assert_int_equal(conf_set(&c, "servo.estimator", "naive", &n, err,
				  sizeof(err)),
			 0);
	assert_int_equal(conf_restart_diff(&c, &n, list, sizeof(list)), 0);
	assert_int_equal(conf_set(&n, "link.left.path", "/tmp/x", &n, err,
				  sizeof(err)),
			 0);
	assert_int_equal(conf_set(&n, "rt.priority", "10", &n, err,
				  sizeof(err)),
			 0);
	assert_int_equal(conf_restart_diff(&c, &n, list, sizeof(list)), 2);
	assert_string_equal(list, "rt.priority, link.left.path");
	/* Too small for both: the first whole name, then "...". */
	assert_int_equal(conf_restart_diff(&c, &n, list, 20), 2);
	assert_string_equal(list, "rt.priority, ...");
	conf_keep_restart(&c, &n);
	assert_int_equal(conf_restart_diff(&c, &n, list, sizeof(list)), 0);
	assert_string_equal(n.servo.estimator, "naive");
	assert_string_equal(n.link[CONF_EAR_LEFT].path, "");
	assert_int_equal(n.rt.priority, 80);
}

static void conf_same_controller_cases(void **state)
{
	struct conf_link a, b;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	assert_false(conf_same_controller(&a, &b)); /* none */
	a.transport = b.transport = CONF_TRANSPORT_UNIX;
	assert_true(conf_same_controller(&a, &b));
	a.transport = b.transport = CONF_TRANSPORT_HCI_UART;
	snprintf(a.path, sizeof(a.path), "/dev/ttyUSB0");
	snprintf(b.path, sizeof(b.path), "/dev/ttyUSB0");
	assert_true(conf_same_controller(&a, &b));
	snprintf(b.path, sizeof(b.path), "/dev/ttyUSB1");
	assert_false(conf_same_controller(&a, &b));
	a.transport = b.transport = CONF_TRANSPORT_L2CAP;
	assert_true(conf_same_controller(&a, &b)); /* both the default */
	snprintf(a.adapter, sizeof(a.adapter), "00:11:22:33:44:55");
	assert_false(conf_same_controller(&a, &b));
	snprintf(b.adapter, sizeof(b.adapter), "00:11:22:33:44:66");
	assert_false(conf_same_controller(&a, &b));
	snprintf(b.adapter, sizeof(b.adapter), "00:11:22:33:44:55");
	assert_true(conf_same_controller(&a, &b));
	/* Bluetooth addresses are hex: case does not matter. */
	snprintf(a.adapter, sizeof(a.adapter), "AA:BB:CC:DD:EE:FF");
	snprintf(b.adapter, sizeof(b.adapter), "aa:bb:cc:dd:ee:ff");
	assert_true(conf_same_controller(&a, &b));
	b.transport = CONF_TRANSPORT_UNIX;
	assert_false(conf_same_controller(&a, &b));
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
	/* 2 pairs x (5 stream keys + 2 x 11 link keys). */
	assert_int_equal(seen_pair, 2 * (5 + 2 * 11));
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(conf_empty_is_defaults),
		cmocka_unit_test(conf_every_section),
		cmocka_unit_test(conf_rt_cpu_and_cgroup),
		cmocka_unit_test(conf_bad_files),
		cmocka_unit_test(conf_names),
		cmocka_unit_test(conf_get_by_name),
		cmocka_unit_test(conf_set_by_name),
		cmocka_unit_test(conf_every_name_round_trips),
		cmocka_unit_test(conf_restart_keys),
		cmocka_unit_test(conf_same_controller_cases),
		cmocka_unit_test(conf_pairs_parse),
		cmocka_unit_test(conf_pairs_old_form),
		cmocka_unit_test(conf_pairs_errors),
		cmocka_unit_test(conf_pairs_limit),
		cmocka_unit_test(conf_pairs_names),
		cmocka_unit_test(conf_pairs_restart),
	};

	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
