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
	};

	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
