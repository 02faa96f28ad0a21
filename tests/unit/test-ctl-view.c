/* SPDX-License-Identifier: MIT */
/* ttwsctl's human views and JSON documents (src/ctl view_*.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ctl/jsonpath.h"
#include "ctl/table.h"
#include "ctl/view.h"

/* A GetStats document as the contract (issue 10) describes it. */
static const char stats_json[] =
    "{\"version\":\"0.1.0\",\"uptime_s\":7503.2,\"backend\":\"io_uring\","
    "\"backend_note\":\"\","
    "\"config\":{\"file\":\"/etc/ttws/ttwsd.conf\",\"generation\":3,"
    "\"estimator\":\"ttws\",\"delay_min_us\":30000,"
    "\"delay_max_us\":250000},"
    "\"rt\":[{\"item\":\"sched\",\"status\":\"ok\","
    "\"detail\":\"SCHED_FIFO priority 80\"},"
    "{\"item\":\"cpuset\",\"status\":\"warning\",\"detail\":\"partition "
    "root invalid: the kernel reports ttws-rt.slice's partition as root "
    "invalid (cpus not exclusive); run ttws-cgroup check\"}],"
    "\"stream\":{\"source\":\"tone\",\"codec\":\"pcm\",\"octets\":[480,480],"
    "\"frames\":750321,\"late_ticks\":2,\"encode_errors\":0,"
    "\"delay_us\":40000.0,\"delay_target_us\":40000.0,"
    "\"latency_us\":45012.5},"
    "\"loop\":{\"wakeups\":1500642,\"rx\":1500000,\"rx_no_kernel_ts\":0,"
    "\"tx\":1500000,\"tx_errors\":0,\"timers_expired\":1500642,"
    "\"tx_stamps\":1500000,\"tx_stamps_unmatched\":0,"
    "\"errqueue_errors\":0},"
    "\"ears\":{\"left\":{\"transport\":\"unix\",\"state\":\"streaming\","
    "\"connects\":1,\"connect_fails\":0,\"disconnects\":0,"
    "\"frames_sent\":750321,\"reports\":750300,\"not_rendered\":0,"
    "\"ear_late\":0,\"frames_lost\":0,\"ear_underruns\":0,"
    "\"ear_buffer\":4,\"sync_sent\":75032,\"sync_samples\":75030,"
    "\"sync_lost\":2,\"ci_us\":7500,\"unexpected\":0,"
    "\"rx_no_kernel_ts\":0,\"malformed\":{\"truncated\":2,\"bad_type\":1},"
    "\"mtu_rx\":2048,\"mtu_tx\":2048,\"tx_completion\":\"none\","
    "\"battery_pct\":87,"
    "\"servo\":{\"state\":\"locked\",\"offset_ns\":-1234567890123,"
    "\"rate_ppb\":12345,\"samples\":75030,\"rejected\":12,\"steps\":1,"
    "\"last_residual_ns\":1234},"
    "\"naive\":{\"state\":\"locked\",\"offset_ns\":-1234567890200,"
    "\"rate_ppb\":12400,\"samples\":75030,\"rejected\":0,\"steps\":1,"
    "\"last_residual_ns\":8000}},"
    "\"right\":{\"transport\":\"unix\",\"state\":\"connecting\","
    "\"connects\":3,\"frames_sent\":700000,\"ear_late\":5,"
    "\"frames_lost\":120,\"ci_us\":7500,"
    "\"servo\":{\"state\":\"unlocked\",\"offset_ns\":0,\"rate_ppb\":0,"
    "\"samples\":0,\"rejected\":0,\"steps\":0,\"last_residual_ns\":0}}},"
    "\"dongles\":[],"
    "\"histograms\":{"
    "\"wakeup\":{\"count\":1500642,\"min_us\":1.2,\"p50_us\":3.4,"
    "\"p90_us\":5.6,\"p99_us\":12.3,\"p999_us\":45.6,\"max_us\":812.4,"
    "\"mean_us\":3.9},"
    "\"handoff\":{\"count\":0},"
    "\"left\":{\"residual\":{\"count\":75030,\"min_us\":0.01,"
    "\"p50_us\":0.9,\"p90_us\":2.1,\"p99_us\":4.5,\"p999_us\":9.9,"
    "\"max_us\":31.0,\"mean_us\":1.1},"
    "\"rx_transport\":{\"count\":0}}}}";

static struct json_object *parse(const char *s)
{
	struct json_object *o = json_tokener_parse(s);

	assert_non_null(o);
	return o;
}

/* Every line of text is at most 80 columns, none ends in a space. */
static void assert_fits(const char *text)
{
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[512];

		assert_true(len < sizeof(line));
		memcpy(line, p, len);
		line[len] = '\0';
		if (ctl_text_width(line) > CTL_WIDTH) {
			fail_msg("line wider than 80: '%s'", line);
		}
		if (len && line[len - 1] == ' ') {
			fail_msg("trailing space: '%s'", line);
		}
		p += len + (nl != NULL);
	}
}

/* The line that starts with prefix (after leading spaces), or NULL. */
static const char *line_of(const char *text, const char *prefix)
{
	const char *p = text;

	while (p && *p) {
		const char *s = p;

		while (*s == ' ') {
			s++;
		}
		if (strncmp(s, prefix, strlen(prefix)) == 0) {
			return p;
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return NULL;
}

/* Column of needle on the line starting with prefix. */
static int column_on(const char *text, const char *prefix, const char *needle)
{
	const char *l = line_of(text, prefix), *nl, *hit;

	if (!l) {
		fail_msg("no line '%s' in:\n%s", prefix, text);
	}
	nl = strchr(l, '\n');
	hit = strstr(l, needle);
	if (!hit || (nl && hit > nl)) {
		fail_msg("no '%s' on line '%s'", needle, prefix);
	}
	return (int)(hit - l);
}

typedef int (*view_fn)(FILE *f, struct json_object *o);

static char *render(view_fn fn, struct json_object *o)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(fn(f, o), 0);
	fclose(f);
	return text;
}

static struct json_object *ear_props(const char *state, const char *servo,
				     const char *transport)
{
	char buf[512];

	snprintf(buf, sizeof(buf),
		 "{\"State\":\"%s\",\"Transport\":\"%s\",\"ServoState\":\"%s\","
		 "\"OffsetNs\":-1234567890123,\"RatePpb\":-3210,"
		 "\"LastResidualNs\":870,\"FramesSent\":750321,"
		 "\"FramesLate\":0,\"FramesLost\":12,\"Reconnects\":1,"
		 "\"Battery\":255}",
		 state, transport, servo);
	return parse(buf);
}

static struct json_object *status_doc(struct json_object *left,
				      struct json_object *right)
{
	struct json_object *s = parse(
	    "{\"daemon\":{\"Version\":\"0.1.0\",\"Uptime\":7503000000,"
	    "\"Backend\":\"io_uring\",\"Source\":\"tone\",\"Codec\":\"pcm\","
	    "\"PresentationDelayUs\":40000,\"Estimator\":\"ttws\","
	    "\"RtPlacement\":[[\"sched\",\"ok\",\"SCHED_FIFO 80\"],"
	    "[\"memlock\",\"warning\",\"RLIMIT_MEMLOCK 8 MiB\"],"
	    "[\"cpuset\",\"warning\",\"not isolated\"],"
	    "[\"affinity\",\"failed\",\"CPU 3 is offline\"],"
	    "[\"dma\",\"not requested\",\"\"]]},\"ears\":{}}");

	assert_int_equal(ctl_view_rt_objects(ctl_json_at(s, "daemon."
							    "RtPlacement")),
			 0);
	json_object_object_add(ctl_json_at(s, "ears"), "left", left);
	json_object_object_add(ctl_json_at(s, "ears"), "right", right);
	return s;
}

static void status_at_a_glance(void **state)
{
	struct json_object *s =
	    status_doc(ear_props("streaming", "locked", "unix"),
		       ear_props("streaming", "stable", "unix"));
	char *text = render(ctl_view_status, s);

	(void)state;
	assert_fits(text);
	assert_non_null(strstr(text, "ttwsd 0.1.0, up 2h 05m 03s\n"));
	assert_non_null(strstr(text, "in sync: left streaming/locked, right "
				     "streaming/stable"));
	assert_null(strstr(text, "NOT in sync"));
	assert_non_null(strstr(text, "io_uring"));
	assert_non_null(strstr(text, "tone, codec pcm"));
	assert_non_null(strstr(text, "40.000 ms"));
	assert_non_null(strstr(text, "1 failed (affinity), 2 warnings "
				     "(memlock, cpuset)"));
	/* The ear table: values under their ear's heading. */
	assert_int_equal(column_on(text, "servo ", "locked"),
			 column_on(text, "left", "left"));
	assert_int_equal(column_on(text, "servo ", "stable"),
			 column_on(text, "left", "right"));
	assert_non_null(line_of(text, "offset"));
	assert_non_null(strstr(line_of(text, "offset"), "-1234.567890 s"));
	assert_non_null(strstr(line_of(text, "rate"), "-3.210 ppm"));
	assert_non_null(strstr(line_of(text, "last residual"), "+870 ns"));
	assert_non_null(strstr(line_of(text, "frames sent"), "750321"));
	assert_non_null(strstr(line_of(text, "frames lost"), "12"));
	assert_non_null(strstr(line_of(text, "reconnects"), "1"));
	assert_non_null(strstr(line_of(text, "battery"), "unknown"));
	free(text);
	json_object_put(s);
}

static void status_not_in_sync(void **state)
{
	struct json_object *s =
	    status_doc(ear_props("streaming", "locked", "unix"),
		       ear_props("connecting", "holdover", "unix"));
	char *text = render(ctl_view_status, s);

	(void)state;
	assert_fits(text);
	assert_non_null(strstr(text, "NOT in sync: left streaming/locked, "
				     "right connecting/holdover"));
	assert_true(ctl_view_ear_in_sync(ctl_json_at(s, "ears.left")));
	assert_false(ctl_view_ear_in_sync(ctl_json_at(s, "ears.right")));
	free(text);
	json_object_put(s);
}

/* An ear without a transport does not count against the pair. */
static void status_unconfigured_ear(void **state)
{
	struct json_object *s =
	    status_doc(ear_props("streaming", "stable", "unix"),
		       ear_props("idle", "unlocked", "none"));
	char *text = render(ctl_view_status, s);

	(void)state;
	assert_non_null(strstr(text, "in sync: left streaming/stable, right "
				     "not configured"));
	assert_null(strstr(text, "NOT in sync"));
	free(text);
	json_object_put(s);
}

/* Nothing the daemon sent: dashes, no crash, still 80 columns. */
static void status_missing_members(void **state)
{
	struct json_object *s = parse("{\"daemon\":{},\"ears\":{}}");
	char *text = render(ctl_view_status, s);

	(void)state;
	assert_fits(text);
	assert_non_null(strstr(text, "NOT in sync"));
	assert_non_null(strstr(line_of(text, "offset"), "-"));
	free(text);
	json_object_put(s);
}

static void status_rt_summary(void **state)
{
	struct json_object *rt =
	    parse("[[\"sched\",\"ok\",\"x\"],[\"memlock\",\"ok\",\"\"],"
		  "[\"dma\",\"not requested\",\"\"]]");
	char buf[256];

	(void)state;
	assert_int_equal(ctl_view_rt_objects(rt), 0);
	/* The a(sss) rows became objects. */
	assert_string_equal(
	    ctl_json_string(json_object_array_get_idx(rt, 0), "item"), "sched");
	assert_string_equal(
	    ctl_json_string(json_object_array_get_idx(rt, 2), "status"),
	    "not requested");
	ctl_view_rt_summary(rt, buf, sizeof(buf));
	assert_string_equal(buf, "ok");
	json_object_put(rt);
	rt = parse("[{\"item\":\"sched\",\"status\":\"failed\"},"
		   "{\"item\":\"cgroup\",\"status\":\"warning\"}]");
	ctl_view_rt_summary(rt, buf, sizeof(buf));
	assert_string_equal(buf, "1 failed (sched), 1 warning (cgroup)");
	/* A tiny buffer truncates, never overflows. */
	ctl_view_rt_summary(rt, buf, 8);
	assert_string_equal(buf, "1 faile");
	ctl_view_rt_summary(NULL, buf, sizeof(buf));
	assert_string_equal(buf, "-");
	json_object_put(rt);
}

static void ears_detail(void **state)
{
	struct json_object *stats = parse(stats_json);
	struct json_object *ears = json_object_new_object();
	struct json_object *l = ear_props("streaming", "locked", "unix");
	struct json_object *r = ear_props("connecting", "unlocked", "unix");
	char *text;

	(void)state;
	json_object_object_add(
	    l, "stats", json_object_get(ctl_json_at(stats, "ears.left")));
	json_object_object_add(
	    r, "stats", json_object_get(ctl_json_at(stats, "ears.right")));
	json_object_object_add(ears, "left", l);
	json_object_object_add(ears, "right", r);
	text = render(ctl_view_ears, ears);
	assert_fits(text);
	assert_non_null(strstr(line_of(text, "conn. interval"), "7.500 ms"));
	assert_non_null(strstr(line_of(text, "servo rejected"), "12"));
	assert_non_null(
	    strstr(line_of(text, "naive offset"), "-1234.567890 s"));
	assert_non_null(strstr(line_of(text, "sync lost"), "2"));
	/* Right has no ear_buffer in its stats: a dash under "right". */
	assert_int_equal(column_on(text, "ear buffer", "-"),
			 column_on(text, "left", "right"));
	free(text);
	json_object_put(ears);
	json_object_put(stats);
}

static int stats_plain(FILE *f, struct json_object *o)
{
	return ctl_view_stats(f, o, false);
}

static int stats_hist(FILE *f, struct json_object *o)
{
	return ctl_view_stats(f, o, true);
}

static void stats_summary(void **state)
{
	struct json_object *s = parse(stats_json);
	char *text = render(stats_plain, s);

	(void)state;
	assert_fits(text);
	assert_non_null(strstr(text, "ttwsd 0.1.0, up 2h 05m 03s, backend "
				     "io_uring\n"));
	assert_non_null(strstr(line_of(text, "config"),
			       "/etc/ttws/ttwsd.conf, generation 3, "
			       "estimator ttws,"));
	assert_non_null(strstr(text, "delay 30.000 ms .. 250.000 ms"));
	/* Sections line up: the rt items start where config's do. */
	assert_int_equal(column_on(text, "rt ", "sched"),
			 column_on(text, "config", "/etc"));
	assert_non_null(strstr(line_of(text, "stream"), "tone, pcm"));
	assert_non_null(strstr(text, "frames 750321"));
	assert_non_null(strstr(text, "late ticks 2"));
	assert_non_null(strstr(text, "latency 45.013 ms"));
	assert_non_null(strstr(text, "octets [480,480]"));
	/* Every loop counter, whatever the daemon adds. */
	assert_non_null(strstr(text, "wakeups 1500642"));
	assert_non_null(strstr(text, "errqueue_errors 0"));
	assert_non_null(strstr(line_of(text, "rt"), "sched"));
	assert_non_null(strstr(text, "run ttws-cgroup check"));
	/* Per-ear counters; the malformed row sums its kinds. */
	assert_non_null(strstr(line_of(text, "malformed"), "3"));
	assert_non_null(strstr(line_of(text, "frames lost"), "120"));
	assert_non_null(strstr(line_of(text, "late at earbud"), "5"));
	assert_non_null(strstr(line_of(text, "battery"), "87 %"));
	/* No percentile tables without --histogram. */
	assert_null(strstr(text, "p99.9"));
	free(text);

	text = render(stats_hist, s);
	assert_fits(text);
	assert_non_null(line_of(text, "histogram (us)"));
	assert_non_null(strstr(line_of(text, "histogram (us)"), "p99.9"));
	assert_non_null(strstr(line_of(text, "wakeup"), "1500642"));
	assert_non_null(strstr(line_of(text, "wakeup"), "812.4"));
	assert_non_null(strstr(line_of(text, "left residual"), "0.01"));
	/* Empty TABLEs: count 0 and dashes. */
	assert_non_null(strstr(line_of(text, "handoff"), "0  "));
	assert_non_null(strstr(line_of(text, "left rx_transport"), "-"));
	/* Right-aligned: p99 values end under the p99 heading. */
	assert_int_equal(column_on(text, "wakeup", "12.3") + 4,
			 column_on(text, "histogram (us)", " p99 ") + 4);
	free(text);
	json_object_put(s);
}

/* os/rt's own report shape: {"item": {"status", "fix", "error"}}. */
static void stats_rt_object(void **state)
{
	struct json_object *s =
	    parse("{\"config\":{\"delay_margin_us\":2000},"
		  "\"rt\":{\"sched\":{\"status\":\"ok\",\"fix\":null,"
		  "\"error\":null},\"memlock\":{\"status\":\"FAILED\","
		  "\"fix\":\"raise LimitMEMLOCK\",\"error\":\"EPERM\"},"
		  "\"cgroup\":{\"status\":\"not requested\",\"fix\":null,"
		  "\"error\":\"ENOENT\"},\"n_failed\":1}}");
	char *text = render(stats_plain, s);

	(void)state;
	assert_fits(text);
	assert_non_null(strstr(line_of(text, "rt "), "sched"));
	assert_non_null(strstr(line_of(text, "memlock"), "FAILED"));
	assert_non_null(strstr(line_of(text, "memlock"), "raise LimitMEMLOCK"));
	assert_non_null(strstr(line_of(text, "cgroup"), "ENOENT"));
	assert_non_null(strstr(text, "margin 2.000 ms"));
	assert_null(strstr(text, "n_failed"));
	free(text);
	json_object_put(s);
}

/* A minimal GetStats: dashes, no crash. */
static void stats_missing_members(void **state)
{
	struct json_object *s = parse("{}");
	char *text = render(stats_hist, s);

	(void)state;
	assert_fits(text);
	assert_non_null(strstr(text, "ttwsd -"));
	free(text);
	json_object_put(s);
}

static void keys_table(void **state)
{
	struct json_object *k = parse(
	    "[{\"name\":\"servo.estimator\",\"value\":\"ttws\","
	    "\"mode\":\"live\",\"range\":\"ttws, naive, median-iir\"},"
	    "{\"name\":\"link.left.path\",\"value\":\"\","
	    "\"mode\":\"restart\",\"range\":\"a path: the unix socket, the "
	    "serial device of an hci-uart dongle, or the earbud's address "
	    "for l2cap\"},"
	    "{\"name\":\"reconnect.hello_timeout_ms\",\"value\":\"2000\","
	    "\"mode\":\"live\",\"range\":\"[10, 60000]\"},"
	    "{\"name\":\"link.right.path\",\"value\":\"/tmp/ttwsctl-test."
	    "ylctuq/a-long-directory-name/right.sock\",\"mode\":\"restart\","
	    "\"range\":\"text, at most 255 bytes\"},"
	    "{\"name\":\"stream.delay_max_ms\",\"value\":\"250\","
	    "\"mode\":\"live\",\"range\":\"[1, 2000]\"}]");
	char *text = render(ctl_view_keys, k);

	(void)state;
	assert_fits(text);
	assert_non_null(line_of(text, "NAME"));
	assert_int_equal(column_on(text, "servo.estimator", "ttws"),
			 column_on(text, "NAME", "VALUE"));
	assert_int_equal(column_on(text, "stream.delay_max_ms", "live"),
			 column_on(text, "NAME", "MODE"));
	assert_non_null(strstr(line_of(text, "link.left.path"), "\"\""));
	/* A long value wraps, names and modes never do. */
	assert_non_null(
	    strstr(line_of(text, "reconnect.hello_timeout_ms"), "live"));
	assert_non_null(strstr(line_of(text, "link.right.path"), "restart"));
	assert_non_null(strstr(text, "right.sock"));
	/* The long range wrapped onto a line of its own, under RANGE. */
	{
		const char *next =
		    strchr(line_of(text, "link.left.path"), '\n') + 1;
		int col = column_on(text, "NAME", "RANGE");
		int i;

		for (i = 0; i < col; i++) {
			assert_int_equal(next[i], ' ');
		}
		assert_int_not_equal(next[col], ' ');
		assert_non_null(strstr(text, "l2cap"));
		assert_true(strstr(text, "l2cap") <
			    line_of(text, "stream.delay_max_ms"));
	}
	free(text);
	json_object_put(k);
}

static void monitor_lines(void **state)
{
	struct timespec when = {.tv_sec = 1767268984, .tv_nsec = 123456789};
	struct json_object *old = json_object_new_string("streaming");
	struct json_object *new = json_object_new_string("connecting");
	struct json_object *line, *n = json_object_new_int64(2);
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	f = open_memstream(&text, &len);
	assert_int_equal(ctl_monitor_line(f, &when,
					  "/org/ttws/Daemon/ear/right", "State",
					  old, new, false),
			 0);
	assert_int_equal(ctl_monitor_line(f, &when, "/org/ttws/Daemon/ear/left",
					  "Reconnects", NULL, n, false),
			 0);
	fclose(f);
	/* 2026-01-01 12:03:04.123 UTC */
	assert_string_equal(text,
			    "12:03:04.123  right   State       streaming -> "
			    "connecting\n"
			    "12:03:04.123  left    Reconnects  - -> 2\n");
	free(text);

	text = NULL;
	f = open_memstream(&text, &len);
	assert_int_equal(ctl_monitor_line(f, &when, "/org/ttws/Daemon",
					  "Estimator", old, new, true),
			 0);
	fclose(f);
	/* Exactly one line. */
	assert_non_null(strchr(text, '\n'));
	assert_int_equal(strchr(text, '\n')[1], '\0');
	line = parse(text);
	assert_string_equal(ctl_json_string(line, "time"),
			    "2026-01-01T12:03:04.123+00:00");
	assert_string_equal(ctl_json_string(line, "object"),
			    "/org/ttws/Daemon");
	assert_string_equal(ctl_json_string(line, "property"), "Estimator");
	assert_string_equal(ctl_json_string(line, "old"), "streaming");
	assert_string_equal(ctl_json_string(line, "new"), "connecting");
	json_object_put(line);
	free(text);

	assert_string_equal(ctl_monitor_object("/org/ttws/Daemon"), "daemon");
	assert_string_equal(ctl_monitor_object("/org/ttws/Daemon/ear/left"),
			    "left");
	assert_string_equal(ctl_monitor_object("/org/ttws/Daemon/ear/"),
			    "/org/ttws/Daemon/ear/");
	assert_string_equal(ctl_monitor_object("/x"), "/x");
	json_object_put(old);
	json_object_put(new);
	json_object_put(n);
}

static void json_paths(void **state)
{
	struct json_object *s = parse(stats_json);
	int64_t i = 0;
	double d = 0;
	char buf[64];

	(void)state;
	assert_int_equal(ctl_json_int64(s, "ears.left.servo.rate_ppb", &i), 0);
	assert_int_equal(i, 12345);
	assert_int_equal(ctl_json_double(s, "uptime_s", &d), 0);
	assert_true(d > 7503.1 && d < 7503.3);
	assert_int_equal(ctl_json_int64(s, "ears.left.nothing", &i), -ENOENT);
	assert_int_equal(ctl_json_int64(s, "ears.left.state", &i), -EINVAL);
	assert_int_equal(i, 12345); /* untouched on failure */
	assert_null(ctl_json_string(s, "stream.frames"));
	assert_string_equal(ctl_json_string(s, "stream.codec"), "pcm");
	assert_null(ctl_json_at(s, "stream.codec.deeper"));
	assert_string_equal(ctl_json_text(ctl_json_at(s, "stream.latency_us"),
					  buf, sizeof(buf)),
			    "45012.5");
	assert_string_equal(ctl_json_text(NULL, buf, sizeof(buf)), "-");
	json_object_put(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(status_at_a_glance),
	    cmocka_unit_test(status_not_in_sync),
	    cmocka_unit_test(status_unconfigured_ear),
	    cmocka_unit_test(status_missing_members),
	    cmocka_unit_test(status_rt_summary),
	    cmocka_unit_test(ears_detail),
	    cmocka_unit_test(stats_summary),
	    cmocka_unit_test(stats_rt_object),
	    cmocka_unit_test(stats_missing_members),
	    cmocka_unit_test(keys_table),
	    cmocka_unit_test(monitor_lines),
	    cmocka_unit_test(json_paths),
	};

	return cmocka_run_group_tests_name("ctl-view", tests, NULL, NULL);
}
