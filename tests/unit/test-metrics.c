/* SPDX-License-Identifier: MIT */
/*
 * The metrics exposition (src/daemon/metrics, src/daemon/omtext) from a
 * fabricated engine snapshot and histograms: exact sample lines, the
 * OpenMetrics rules the text must keep (counter suffixes, cumulative
 * buckets, escaping, no interleaving, "# EOF" last), the Prometheus
 * dialect, and the textfile's atomic replacement.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/proto.h"
#include "daemon/metrics.h"
#include "pw/sink.h"

struct fixture {
	struct conf conf;
	struct engine_snapshot snap;
	struct pw_sink_stats pw;
	struct hist *residual_l, *delivery_l, *rx_kernel_l, *residual_r;
	struct hist *wakeup;
	struct metrics_input in;
};

static int setup(void **state)
{
	struct fixture *x = calloc(1, sizeof(*x));
	struct link_stats *l;

	if (!x) {
		return -1;
	}
	conf_default(&x->conf);
	x->conf.link[CONF_EAR_LEFT].transport = CONF_TRANSPORT_HCI_UART;
	x->conf.link[CONF_EAR_RIGHT].transport = CONF_TRANSPORT_NONE;
	snprintf(x->conf.servo.estimator, sizeof(x->conf.servo.estimator),
		 "ttws");

	l = &x->snap.ear[CONF_EAR_LEFT].link;
	l->state = LINK_ST_STREAMING;
	l->frames_sent = 1234;
	l->send_errors = 2;
	l->connects = 3;
	l->ear_late = 9;
	l->battery_pct = 80;
	l->ear_buffer = 4;
	l->ci_us = 7500;
	l->malformed[proto_error_index(-EILSEQ)] = 3;
	x->snap.stream.skipped[CONF_EAR_LEFT] = 5;
	x->snap.ear[CONF_EAR_LEFT].servo.state = SERVO_STABLE;
	x->snap.ear[CONF_EAR_LEFT].servo.offset_ns = -1500;
	x->snap.ear[CONF_EAR_LEFT].servo.rate_ppb = 2500;
	/* The right ear is unconfigured but its stats are not zero. */
	x->snap.ear[CONF_EAR_RIGHT].link.frames_sent = 777;
	x->snap.ear[CONF_EAR_RIGHT].link.battery_pct = 50;
	x->snap.loop.wakeups = 99;
	x->snap.stream.ticks = 1240;
	x->snap.stream.delay_ns = 40 * NSEC_PER_MSEC;
	x->snap.n_dongles = 1;

	x->residual_l = malloc(sizeof(struct hist));
	x->delivery_l = malloc(sizeof(struct hist));
	x->rx_kernel_l = malloc(sizeof(struct hist));
	x->residual_r = malloc(sizeof(struct hist));
	x->wakeup = malloc(sizeof(struct hist));
	if (!x->residual_l || !x->delivery_l || !x->rx_kernel_l ||
	    !x->residual_r || !x->wakeup) {
		return -1;
	}
	/* 3 x 50 ns, 2 x 1.5 us, 3 ms, 2 s. */
	hist_init(x->residual_l);
	hist_record_n(x->residual_l, 50, 3);
	hist_record_n(x->residual_l, 1500, 2);
	hist_record(x->residual_l, 3 * NSEC_PER_MSEC);
	hist_record(x->residual_l, 2 * NSEC_PER_SEC);
	/* 1000 ns opens the bucket [1000, 1007]; 5000 ns is the max. */
	hist_init(x->delivery_l);
	hist_record(x->delivery_l, 1000);
	hist_record(x->delivery_l, 5000);
	hist_init(x->rx_kernel_l);
	hist_record(x->rx_kernel_l, 20000);
	hist_init(x->residual_r);
	hist_record(x->residual_r, 100);
	hist_init(x->wakeup);
	hist_record_n(x->wakeup, 3000, 10);

	x->in.snap = &x->snap;
	x->in.conf = &x->conf;
	x->in.uptime_ns = 12 * NSEC_PER_SEC + 500 * NSEC_PER_MSEC;
	x->in.dongle_path[0] = "/dev/ttyUSB0";
	x->in.ear_hist[CONF_EAR_LEFT][ENGINE_EH_RESIDUAL] = x->residual_l;
	x->in.ear_hist[CONF_EAR_LEFT][ENGINE_EH_DELIVERY] = x->delivery_l;
	x->in.ear_hist[CONF_EAR_LEFT][ENGINE_EH_RX_KERNEL] = x->rx_kernel_l;
	x->in.ear_hist[CONF_EAR_RIGHT][ENGINE_EH_RESIDUAL] = x->residual_r;
	x->in.global_hist[ENGINE_GH_WAKEUP] = x->wakeup;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *x = *state;

	free(x->residual_l);
	free(x->delivery_l);
	free(x->rx_kernel_l);
	free(x->residual_r);
	free(x->wakeup);
	free(x);
	return 0;
}

/* The exposition as a NUL-terminated string (caller frees). */
static char *render(const struct metrics_input *in, enum metrics_format fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(metrics_write_as(f, in, fmt), 0);
	assert_int_equal(fclose(f), 0);
	assert_non_null(buf);
	return buf;
}

/* Whether text has line as one whole line. */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n') {
			return true;
		}
		p += n;
	}
	return false;
}

static void assert_line(const char *text, const char *line)
{
	if (!has_line(text, line)) {
		fail_msg("missing line: %s", line);
	}
}

/* The value of the sample line that starts with prefix ("name{...} "). */
static double sample_value(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	const char *p = text;

	while ((p = strstr(p, prefix))) {
		if (p == text || p[-1] == '\n') {
			return strtod(p + n, NULL);
		}
		p += n;
	}
	fail_msg("no sample %s", prefix);
	return NAN;
}

static void test_counter_lines(void **state)
{
	struct fixture *x = *state;
	char *om = render(&x->in, METRICS_OPENMETRICS);

	assert_line(om, "# TYPE ttws_link_frames_sent counter");
	assert_line(om, "# HELP ttws_link_frames_sent AUDIO frames sent");
	assert_line(om, "ttws_link_frames_sent_total{ear=\"left\"} 1234");
	/* Lost: 5 skipped by the stream + 2 failed sends. */
	assert_line(om, "ttws_link_frames_lost_total{ear=\"left\"} 7");
	assert_line(om, "ttws_ear_frames_late_total{ear=\"left\"} 9");
	assert_line(om, "ttws_link_connects_total{ear=\"left\"} 3");
	assert_line(om, "ttws_loop_wakeups_total 99");
	assert_line(om, "ttws_stream_frames_total 1240");
	assert_line(om, "ttws_link_malformed_messages_total"
			"{ear=\"left\",kind=\"bad-magic\"} 3");
	assert_line(om, "ttws_link_malformed_messages_total"
			"{ear=\"left\",kind=\"empty\"} 0");
	assert_line(om, "ttws_dongle_opens_total{path=\"/dev/ttyUSB0\"} 0");
	assert_line(om, "ttws_up 1");
	free(om);
}

static void test_gauges_base_units(void **state)
{
	struct fixture *x = *state;
	char *om;

	om = render(&x->in, METRICS_OPENMETRICS);
	assert_line(om, "# UNIT ttws_servo_offset_seconds seconds");
	assert_line(om, "ttws_servo_offset_seconds{ear=\"left\"} -1.5e-06");
	assert_line(om, "ttws_servo_rate_error_ratio{ear=\"left\"} 2.5e-06");
	assert_line(om, "ttws_ear_battery_ratio{ear=\"left\"} 0.8");
	assert_line(om, "ttws_ear_buffer_frames{ear=\"left\"} 4");
	assert_line(om, "ttws_link_connection_interval_seconds"
			"{ear=\"left\"} 0.0075");
	assert_line(om, "ttws_uptime_seconds 12.5");
	assert_line(om, "ttws_presentation_delay_seconds 0.04");
	free(om);

	/* 255: battery unknown, so no sample at all. */
	x->snap.ear[CONF_EAR_LEFT].link.battery_pct = 255;
	om = render(&x->in, METRICS_OPENMETRICS);
	assert_null(strstr(om, "ttws_ear_battery_ratio{"));
	free(om);
}

static void test_statesets(void **state)
{
	struct fixture *x = *state;
	char *om = render(&x->in, METRICS_OPENMETRICS);
	char *pr = render(&x->in, METRICS_PROMETHEUS);

	assert_line(om, "# TYPE ttws_link_state stateset");
	assert_line(om, "ttws_link_state{ear=\"left\","
			"ttws_link_state=\"streaming\"} 1");
	assert_line(om, "ttws_link_state{ear=\"left\","
			"ttws_link_state=\"idle\"} 0");
	assert_line(om, "ttws_servo_state{ear=\"left\","
			"ttws_servo_state=\"stable\"} 1");
	assert_line(om, "ttws_servo_state{ear=\"left\","
			"ttws_servo_state=\"unlocked\"} 0");
	assert_line(om,
		    "ttws_servo_estimator{ttws_servo_estimator=\"ttws\"} 1");
	assert_line(om, "ttws_servo_estimator"
			"{ttws_servo_estimator=\"naive\"} 0");
	assert_line(om, "# TYPE ttws_build info");
	assert_non_null(strstr(om, "\nttws_build_info{version=\""));
	/* Prometheus has neither type: gauges, with the same samples. */
	assert_line(pr, "# TYPE ttws_link_state gauge");
	assert_line(pr, "# TYPE ttws_build_info gauge");
	assert_line(pr, "ttws_link_state{ear=\"left\","
			"ttws_link_state=\"streaming\"} 1");
	free(om);
	free(pr);
}

/* Every bucket line of family{labels} in order; returns their number. */
static size_t bucket_values(const char *text, const char *prefix, double *ret,
			    size_t max)
{
	size_t n = 0, plen = strlen(prefix);
	const char *p = text;

	while ((p = strstr(p, prefix)) && n < max) {
		if (p == text || p[-1] == '\n') {
			const char *sp = strchr(p + plen, ' ');

			assert_non_null(sp);
			ret[n++] = strtod(sp + 1, NULL);
		}
		p += plen;
	}
	return n;
}

static void test_histogram(void **state)
{
	struct fixture *x = *state;
	char *om = render(&x->in, METRICS_OPENMETRICS);
	double b[64];
	size_t n, i;

	assert_line(om, "# TYPE ttws_servo_residual_seconds histogram");
	assert_line(om, "# UNIT ttws_servo_residual_seconds seconds");
	n = bucket_values(
	    om, "ttws_servo_residual_seconds_bucket{ear=\"left\",", b, 64);
	/* 22 boundaries from 100 ns to 1 s, and +Inf. */
	assert_int_equal(n, 23);
	for (i = 1; i < n; i++) {
		assert_true(b[i] >= b[i - 1]);
	}
	assert_line(om, "ttws_servo_residual_seconds_bucket"
			"{ear=\"left\",le=\"1e-07\"} 3");
	assert_line(om, "ttws_servo_residual_seconds_bucket"
			"{ear=\"left\",le=\"1e-06\"} 3");
	assert_line(om, "ttws_servo_residual_seconds_bucket"
			"{ear=\"left\",le=\"2e-06\"} 5");
	assert_line(om, "ttws_servo_residual_seconds_bucket"
			"{ear=\"left\",le=\"0.002\"} 5");
	assert_line(om, "ttws_servo_residual_seconds_bucket"
			"{ear=\"left\",le=\"0.005\"} 6");
	assert_line(om, "ttws_servo_residual_seconds_bucket"
			"{ear=\"left\",le=\"1.0\"} 6");
	assert_line(om, "ttws_servo_residual_seconds_bucket"
			"{ear=\"left\",le=\"+Inf\"} 7");
	assert_line(om, "ttws_servo_residual_seconds_count{ear=\"left\"} 7");
	assert_true(b[n - 1] == sample_value(om,
					     "ttws_servo_residual_seconds_count"
					     "{ear=\"left\"} "));
	/* 150 ns + 3 us + 3 ms + 2 s. */
	assert_true(fabs(sample_value(om, "ttws_servo_residual_seconds_sum"
					  "{ear=\"left\"} ") -
			 2.00300315) < 1e-12);

	/* A sample at a boundary that opens a bucket counts one up. */
	assert_line(om, "ttws_link_delivery_seconds_bucket"
			"{ear=\"left\",le=\"1e-06\"} 0");
	assert_line(om, "ttws_link_delivery_seconds_bucket"
			"{ear=\"left\",le=\"2e-06\"} 1");
	assert_line(om, "ttws_link_delivery_seconds_bucket"
			"{ear=\"left\",le=\"5e-06\"} 2");
	/* Layers are a label of one family; global ones have no ear. */
	assert_line(om, "ttws_link_rx_latency_seconds_bucket"
			"{ear=\"left\",layer=\"kernel\",le=\"2e-05\"} 1");
	assert_line(om, "ttws_link_rx_latency_seconds_count"
			"{ear=\"left\",layer=\"kernel\"} 1");
	assert_line(om, "ttws_loop_wakeup_latency_seconds_bucket"
			"{le=\"5e-06\"} 10");
	assert_line(om, "ttws_loop_wakeup_latency_seconds_sum 3e-05");
	/* Histograms not given are absent, family and all. */
	assert_null(strstr(om, "ttws_link_tx_latency_seconds"));
	assert_null(strstr(om, "ttws_pipewire_handoff_seconds"));
	free(om);

	/* The hand-over only with source = pipewire. */
	x->in.global_hist[ENGINE_GH_HANDOFF] = x->wakeup;
	om = render(&x->in, METRICS_OPENMETRICS);
	assert_null(strstr(om, "ttws_pipewire_handoff_seconds"));
	free(om);
	x->conf.stream.source = CONF_SOURCE_PIPEWIRE;
	om = render(&x->in, METRICS_OPENMETRICS);
	assert_line(om, "ttws_pipewire_handoff_seconds_count 10");
	free(om);
}

static void test_pipewire(void **state)
{
	struct fixture *x = *state;
	char *om;

	x->pw.quanta = 4242;
	x->pw.streaming = true;
	x->pw.registered = true;
	x->pw.disconnects = 3;
	x->pw.reconnects = 2;
	x->snap.stream.pw_quanta = 4240;
	x->snap.stream.rate_diff = 1.5;
	x->in.pw = &x->pw;
	/* source = tone: nothing of PipeWire, even with stats at hand. */
	om = render(&x->in, METRICS_OPENMETRICS);
	assert_null(strstr(om, "ttws_pipewire"));
	free(om);

	x->conf.stream.source = CONF_SOURCE_PIPEWIRE;
	om = render(&x->in, METRICS_OPENMETRICS);
	assert_line(om, "ttws_pipewire_ring_records_total 4240");
	assert_line(om, "ttws_pipewire_rate_ratio 1.5");
	assert_line(om, "ttws_pipewire_sink_quanta_total 4242");
	assert_line(om, "ttws_pipewire_sink_streaming 1");
	/* PipeWire gone and back. */
	assert_line(om, "ttws_pipewire_sink_registered 1");
	assert_line(om, "ttws_pipewire_sink_disconnects_total 3");
	assert_line(om, "ttws_pipewire_sink_reconnects_total 2");
	assert_line(om, "# TYPE ttws_pipewire_sink_registered gauge");
	assert_line(om, "# TYPE ttws_pipewire_sink_disconnects counter");
	free(om);
	x->pw.registered = false;
	om = render(&x->in, METRICS_OPENMETRICS);
	assert_line(om, "ttws_pipewire_sink_registered 0");
	free(om);

	/* No sink: the RT thread's side only. */
	x->in.pw = NULL;
	om = render(&x->in, METRICS_OPENMETRICS);
	assert_line(om, "ttws_pipewire_ring_records_total 4240");
	assert_null(strstr(om, "ttws_pipewire_sink"));
	free(om);
}

static void test_counters_total_suffix(void **state)
{
	struct fixture *x = *state;
	char *om = render(&x->in, METRICS_OPENMETRICS);
	char *pr = render(&x->in, METRICS_PROMETHEUS);
	char fam[128] = "", type[32] = "";
	char *save = NULL, *line;
	unsigned counters = 0, samples = 0;

	/* OpenMetrics: "# TYPE x counter", then only x_total samples. */
	for (line = strtok_r(om, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "# TYPE %127s %31s", fam, type) == 2) {
			counters += !strcmp(type, "counter");
			assert_null(strstr(fam, "_total"));
			continue;
		}
		if (line[0] == '#') {
			continue;
		}
		samples++;
		if (!strcmp(type, "counter")) {
			size_t n = strlen(fam);

			if (strncmp(line, fam, n) ||
			    strncmp(line + n, "_total", 6) ||
			    (line[n + 6] != ' ' && line[n + 6] != '{')) {
				fail_msg("counter %s: %s", fam, line);
			}
		} else if (strstr(line, "_total")) {
			fail_msg("_total outside a counter: %s", line);
		}
	}
	assert_true(counters > 30);
	assert_true(samples > 100);
	/* Prometheus: the family is the sample's name. */
	assert_line(pr, "# TYPE ttws_link_frames_sent_total counter");
	assert_line(pr, "# HELP ttws_link_frames_sent_total AUDIO frames sent");
	assert_null(strstr(pr, "# TYPE ttws_link_frames_sent counter"));
	free(om);
	free(pr);
}

static void test_label_escaping(void **state)
{
	struct fixture *x = *state;
	char *om;

	/* Quote, backslash, newline, a stray 0xff and a valid e-acute. */
	x->in.dongle_path[0] = "/dev/tty\"a\\b\nc\xff\xc3\xa9";
	om = render(&x->in, METRICS_OPENMETRICS);
	assert_line(om,
		    "ttws_dongle_opens_total"
		    "{path=\"/dev/tty\\\"a\\\\b\\nc\xef\xbf\xbd\xc3\xa9\"} 0");
	/* A truncated sequence at the end is replaced, not overrun. */
	free(om);
	x->in.dongle_path[0] = "/dev/x\xe2\x82";
	om = render(&x->in, METRICS_OPENMETRICS);
	assert_line(om, "ttws_dongle_open{path=\"/dev/x\xef\xbf\xbd"
			"\xef\xbf\xbd\"} 0");
	free(om);
}

static void test_unconfigured_ear_absent(void **state)
{
	struct fixture *x = *state;
	char *om = render(&x->in, METRICS_OPENMETRICS);

	assert_non_null(strstr(om, "ear=\"left\""));
	assert_null(strstr(om, "ear=\"right\""));
	assert_null(strstr(om, " 777\n"));
	free(om);

	/* Configured, it appears with its own values. */
	x->conf.link[CONF_EAR_RIGHT].transport = CONF_TRANSPORT_UNIX;
	om = render(&x->in, METRICS_OPENMETRICS);
	assert_line(om, "ttws_link_frames_sent_total{ear=\"right\"} 777");
	assert_line(om, "ttws_servo_residual_seconds_count{ear=\"right\"} 1");
	free(om);
}

static void test_eof_and_dialects(void **state)
{
	struct fixture *x = *state;
	char *om = render(&x->in, METRICS_OPENMETRICS);
	char *pr = render(&x->in, METRICS_PROMETHEUS);
	size_t n = strlen(om);
	const char *p;

	assert_true(n > 6);
	assert_string_equal(om + n - 6, "# EOF\n");
	assert_ptr_equal(strstr(om, "# EOF"), om + n - 6);
	assert_null(strstr(pr, "# EOF"));
	assert_null(strstr(pr, "# UNIT"));
	assert_true(pr[strlen(pr) - 1] == '\n');
	/* HELP text needs no escaping in either dialect. */
	for (p = om; (p = strstr(p, "# HELP ")); p++) {
		const char *end = strchr(p, '\n');

		assert_non_null(end);
		assert_null(memchr(p, '"', (size_t)(end - p)));
		assert_null(memchr(p, '\\', (size_t)(end - p)));
	}
	/* The sample lines are the same in both dialects. */
	for (p = strtok(pr, "\n"); p; p = strtok(NULL, "\n")) {
		if (p[0] != '#') {
			assert_line(om, p);
		}
	}
	free(om);
	free(pr);
}

static void test_families_not_interleaved(void **state)
{
	struct fixture *x = *state;
	char *om = render(&x->in, METRICS_OPENMETRICS);
	char seen[256][96];
	char fam[96] = "";
	size_t n_seen = 0, i;
	char *save = NULL, *line;

	for (line = strtok_r(om, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "# TYPE %95s", fam) == 1) {
			for (i = 0; i < n_seen; i++) {
				assert_string_not_equal(seen[i], fam);
			}
			assert_true(n_seen < 256);
			snprintf(seen[n_seen++], sizeof(seen[0]), "%s", fam);
		} else if (line[0] != '#') {
			/* A sample belongs to the family declared last. */
			if (strncmp(line, fam, strlen(fam))) {
				fail_msg("%s outside family %s", line, fam);
			}
		}
	}
	assert_true(n_seen > 50);
	free(om);
}

static void test_bad_input(void **state)
{
	struct fixture *x = *state;
	struct metrics_input in = x->in;
	FILE *f = fopen("/dev/null", "w");

	assert_non_null(f);
	in.snap = NULL;
	assert_int_equal(metrics_write(f, &in), -EINVAL);
	in = x->in;
	in.conf = NULL;
	assert_int_equal(metrics_write(f, &in), -EINVAL);
	assert_int_equal(metrics_write_as(f, &x->in, (enum metrics_format)7),
			 -EINVAL);
	fclose(f);

	/* A full disk is an error, not a short exposition. */
	f = fopen("/dev/full", "w");
	if (f) {
		setvbuf(f, NULL, _IONBF, 0);
		assert_int_equal(metrics_write(f, &x->in), -EIO);
		fclose(f);
	}
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static void test_textfile(void **state)
{
	struct fixture *x = *state;
	char dir[] = "/tmp/test-metrics-XXXXXX";
	char path[128], tmp[140], link_target[140];
	char *got, *want = render(&x->in, METRICS_PROMETHEUS);
	struct stat st;
	mode_t old;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ttws.prom", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(link_target, sizeof(link_target), "%s/target", dir);

	/* An old file is replaced; 0644 whatever the umask. */
	assert_int_equal(metrics_write_textfile(path, &x->in), 0);
	x->snap.loop.wakeups = 100;
	free(want);
	want = render(&x->in, METRICS_PROMETHEUS);
	old = umask(077);
	assert_int_equal(metrics_write_textfile(path, &x->in), 0);
	umask(old);
	got = read_file(path);
	assert_string_equal(got, want);
	free(got);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(access(tmp, F_OK), -1);

	/* A symlink planted at PATH.tmp is not followed. */
	assert_int_equal(symlink(link_target, tmp), 0);
	assert_int_equal(metrics_write_textfile(path, &x->in), -ELOOP);
	assert_int_equal(access(link_target, F_OK), -1);
	assert_int_equal(unlink(tmp), 0);

	/* rename() fails onto a directory: PATH.tmp does not stay. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_true(metrics_write_textfile(path, &x->in) < 0);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(rmdir(path), 0);

	/* No directory: nothing written. */
	snprintf(path, sizeof(path), "%s/none/ttws.prom", dir);
	assert_int_equal(metrics_write_textfile(path, &x->in), -ENOENT);
	assert_int_equal(metrics_write_textfile("", &x->in), -EINVAL);
	assert_int_equal(rmdir(dir), 0);
	free(want);
}

#define METRICS_TEST(name, fn)                                                 \
	{                                                                      \
		name, fn, setup, teardown, NULL                                \
	}

int main(void)
{
	static const struct CMUnitTest tests[] = {
	    METRICS_TEST("metrics/counter_lines", test_counter_lines),
	    METRICS_TEST("metrics/gauges_base_units", test_gauges_base_units),
	    METRICS_TEST("metrics/statesets", test_statesets),
	    METRICS_TEST("metrics/histogram", test_histogram),
	    METRICS_TEST("metrics/pipewire", test_pipewire),
	    METRICS_TEST("metrics/counters_total_suffix",
			 test_counters_total_suffix),
	    METRICS_TEST("metrics/label_escaping", test_label_escaping),
	    METRICS_TEST("metrics/unconfigured_ear_absent",
			 test_unconfigured_ear_absent),
	    METRICS_TEST("metrics/eof_and_dialects", test_eof_and_dialects),
	    METRICS_TEST("metrics/families_not_interleaved",
			 test_families_not_interleaved),
	    METRICS_TEST("metrics/bad_input", test_bad_input),
	    METRICS_TEST("metrics/textfile", test_textfile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
