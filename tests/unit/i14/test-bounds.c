/* SPDX-License-Identifier: MIT */
/*
 * Issue 14, "bounded everything": each bound that a unit can reach is
 * filled here, and the test checks that its counter moved, that what is
 * queued stays intact, and that the count reaches the bounds table
 * (daemon/bounds.h), the metrics and ttwsctl's summary.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/macro.h"
#include "core/spsc.h"
#include "core/strbuf.h"
#include "ctl/view.h"
#include "daemon/bounds.h"
#include "daemon/chan.h"
#include "daemon/log.h"
#include "daemon/metrics.h"

/* ---- spsc: refusals and high-water mark -------------------------------- */

static void spsc_counts_refusals(void **state)
{
	struct spsc r;
	uint8_t mem[64], in[64], out[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(in); i++) {
		in[i] = (uint8_t)i;
	}
	assert_int_equal(spsc_init(&r, mem, sizeof(mem)), 0);
	assert_int_equal(spsc_capacity(&r), 64);
	assert_int_equal(spsc_refused(&r), 0);
	assert_int_equal(spsc_high_water(&r), 0);
	/* Fill it in 16-byte records; the fifth is refused whole. */
	for (i = 0; i < 4; i++) {
		assert_int_equal(spsc_write(&r, in + 16 * i, 16), 0);
	}
	assert_int_equal(spsc_write(&r, in, 16), -ENOSPC);
	assert_int_equal(spsc_write(&r, in, 1), -ENOSPC);
	assert_int_equal(spsc_refused(&r), 2);
	assert_int_equal(spsc_high_water(&r), 64);
	/* What was queued is intact: the newest was dropped. */
	assert_int_equal(spsc_read(&r, out, 64), 0);
	assert_memory_equal(out, in, 64);
	/* The mark stays where it was once the ring drains. */
	assert_int_equal(spsc_write(&r, in, 8), 0);
	assert_int_equal(spsc_high_water(&r), 64);
	/* A write cut short counts once; an empty one not at all. */
	assert_int_equal(spsc_write_some(&r, in, 60), 56);
	assert_int_equal(spsc_refused(&r), 3);
	assert_int_equal(spsc_write_some(&r, in, 0), 0);
	assert_int_equal(spsc_refused(&r), 3);
	spsc_note_refused(&r);
	assert_int_equal(spsc_refused(&r), 4);
	assert_int_equal(spsc_init(&r, mem, sizeof(mem)), 0);
	assert_int_equal(spsc_refused(&r), 0);
	assert_int_equal(spsc_high_water(&r), 0);
}

static void spsc_high_water_partial(void **state)
{
	struct spsc r;
	uint8_t mem[256], buf[256] = {0};

	(void)state;
	assert_int_equal(spsc_init(&r, mem, sizeof(mem)), 0);
	assert_int_equal(spsc_write(&r, buf, 100), 0);
	assert_int_equal(spsc_read(&r, buf, 60), 0);
	assert_int_equal(spsc_write(&r, buf, 30), 0);
	/* 100 once, then 40 + 30: the mark is the most at once. */
	assert_int_equal(spsc_high_water(&r), 100);
	assert_int_equal(spsc_write(&r, buf, 120), 0);
	assert_int_equal(spsc_high_water(&r), 190);
	assert_int_equal(spsc_refused(&r), 0);
}

/* ---- strbuf: the caller's buffer is the bound --------------------------- */

static void strbuf_cut_at_bound(void **state)
{
	char buf[8];
	struct strbuf sb = {.buf = buf, .size = sizeof(buf)};

	(void)state;
	strbuf_put(&sb, "%s", "abc");
	assert_false(sb.overflow);
	strbuf_put(&sb, "%s", "defghij");
	assert_true(sb.overflow);
	assert_int_equal(sb.len, 7);
	assert_string_equal(buf, "abcdefg");
	/* Later appends are dropped, the prefix stays terminated. */
	strbuf_put(&sb, "%s", "x");
	assert_string_equal(buf, "abcdefg");
}

/* ---- the table ---------------------------------------------------------- */

static void table_rows_complete(void **state)
{
	struct bounds_table t;
	unsigned i, k;

	(void)state;
	bounds_reset();
	bounds_take(&t);
	for (i = 0; i < BOUNDS_N; i++) {
		const struct bounds_row *r = &t.row[i];

		assert_non_null(r->name);
		assert_non_null(r->where);
		assert_non_null(r->unit);
		assert_string_not_equal(bounds_policy_name(r->policy), "?");
		/* Names are the status keys and metric labels. */
		for (k = 0; k < i; k++) {
			assert_string_not_equal(r->name, t.row[k].name);
		}
	}
	assert_int_equal(t.row[BOUNDS_CONTROL_CLIENTS].bound, 256);
	assert_int_equal(t.row[BOUNDS_CONTROL_REPLY].bound, BOUNDS_REPLY_MAX);
}

struct count_arg {
	enum bounds_id id;
	unsigned n;
};

static void *count_thread(void *p)
{
	const struct count_arg *a = p;
	unsigned i;

	for (i = 0; i < a->n; i++) {
		bounds_count(a->id, 1);
	}
	return NULL;
}

static void table_count_any_thread(void **state)
{
	struct count_arg a = {BOUNDS_CONTROL_CLIENTS, 100000};
	struct bounds_table t;
	pthread_t th[2];
	unsigned i;

	(void)state;
	bounds_reset();
	for (i = 0; i < ARRAY_SIZE(th); i++) {
		assert_int_equal(pthread_create(&th[i], NULL, count_thread, &a),
				 0);
	}
	for (i = 0; i < ARRAY_SIZE(th); i++) {
		pthread_join(th[i], NULL);
	}
	bounds_count(BOUNDS_N, 7); /* out of range: ignored */
	bounds_take(&t);
	assert_int_equal(t.row[BOUNDS_CONTROL_CLIENTS].overflows, 200000);
	for (i = 0; i < BOUNDS_N; i++) {
		if (i != BOUNDS_CONTROL_CLIENTS && i != BOUNDS_LOG_RING &&
		    i != BOUNDS_LOG_TEXT && i != BOUNDS_LOG_KEYS &&
		    i != BOUNDS_LOG_BURST && i != BOUNDS_LOG_SINK) {
			assert_int_equal(t.row[i].overflows, 0);
		}
	}
}

static void table_publish_survives_reset(void **state)
{
	struct bounds_table t;

	(void)state;
	bounds_reset();
	bounds_count(BOUNDS_LOOP_TX, 2);
	bounds_publish(BOUNDS_LOOP_TX, 5, 64, 0);
	bounds_publish(BOUNDS_LOOP_TX, 9, 0, 0);
	bounds_take(&t);
	assert_int_equal(t.row[BOUNDS_LOOP_TX].overflows, 11);
	assert_int_equal(t.row[BOUNDS_LOOP_TX].bound, 64);
	/* The source's counters were zeroed (ResetStats) and counted 3
	 * more: the row keeps the 9 it had. */
	bounds_publish(BOUNDS_LOOP_TX, 3, 0, 0);
	bounds_take(&t);
	assert_int_equal(t.row[BOUNDS_LOOP_TX].overflows, 2 + 9 + 3);
	/* A ring's size and mark come with its totals. */
	bounds_publish(BOUNDS_FRAME_LOG, 1, 1 << 20, 4096);
	bounds_take(&t);
	assert_int_equal(t.row[BOUNDS_FRAME_LOG].bound, 1 << 20);
	assert_true(t.row[BOUNDS_FRAME_LOG].has_high_water);
	assert_int_equal(t.row[BOUNDS_FRAME_LOG].high_water, 4096);
	assert_false(t.row[BOUNDS_LOOP_TX].has_high_water);
}

/* ---- the logger's bounds ---------------------------------------------- */

struct sink_seen {
	unsigned records;
	unsigned dropped_reports;
	unsigned longest;
};

static void test_sink(int priority, const char *const *fields, unsigned n,
		      void *user_data)
{
	struct sink_seen *s = user_data;
	unsigned i;

	(void)priority;
	s->records++;
	for (i = 0; i < n; i++) {
		if (strcmp(fields[i], "TTWS_EVENT=log-dropped") == 0) {
			s->dropped_reports++;
		}
		if (strncmp(fields[i], "MESSAGE=", 8) == 0 &&
		    strlen(fields[i]) - 8 > s->longest) {
			s->longest = (unsigned)strlen(fields[i]) - 8;
		}
	}
}

static void log_ring_full_counted(void **state)
{
	struct sink_seen seen = {0};
	struct log_bounds lb;
	struct bounds_table t;
	unsigned i;

	(void)state;
	assert_int_equal(log_init(), 0);
	log_reset();
	log_set_sink(test_sink, &seen);
	/* Without a drain the RT ring takes what fits, then drops. */
	for (i = 0; i < 4000; i++) {
		log_rt(LOG_WARNING, "record %u of a flood that fills the ring",
		       i);
	}
	log_get_bounds(&lb);
	assert_true(lb.ring_bytes >= 4096);
	assert_true(lb.ring_dropped > 0);
	assert_true(lb.ring_dropped < 4000);
	assert_true(lb.ring_high_water <= lb.ring_bytes);
	assert_true(lb.ring_high_water > lb.ring_bytes - 128);
	bounds_take(&t);
	assert_int_equal(t.row[BOUNDS_LOG_RING].overflows, lb.ring_dropped);
	assert_int_equal(t.row[BOUNDS_LOG_RING].bound, lb.ring_bytes);
	assert_true(t.row[BOUNDS_LOG_RING].has_high_water);
	/* The queued records come out intact, then one report of the drop
	 * (each window lets the first LOG_RATELIMIT_BURST of a text
	 * through: these are all one kind). */
	assert_int_equal(log_drain(), 4000 - (unsigned)lb.ring_dropped);
	assert_int_equal(seen.dropped_reports, 1);
	log_set_sink(NULL, NULL);
	log_reset();
}

static void log_text_cut_counted(void **state)
{
	struct sink_seen seen = {0};
	struct log_bounds lb;
	char big[3000];

	(void)state;
	assert_int_equal(log_init(), 0);
	log_reset();
	log_set_sink(test_sink, &seen);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_rt(LOG_WARNING, "%s", big);
	log_rt(LOG_WARNING, "%s", "short");
	log_drain();
	log_get_bounds(&lb);
	assert_int_equal(lb.cut, 1);
	assert_int_equal(seen.longest, LOG_RT_LINE_MAX);
	/* The main thread's line is cut too (at 1023 bytes), and the
	 * journal fields of it fit. */
	log_main(LOG_WARNING, "%s", big);
	log_get_bounds(&lb);
	assert_int_equal(lb.cut, 2);
	assert_int_equal(seen.longest, 1023);
	log_set_sink(NULL, NULL);
	log_reset();
}

static void log_keys_evicted_counted(void **state)
{
	struct sink_seen seen = {0};
	struct log_bounds lb;
	struct bounds_table t;
	unsigned i;

	(void)state;
	assert_int_equal(log_init(), 0);
	log_reset();
	log_set_sink(test_sink, &seen);
	/* One text past its burst: one record held back... */
	for (i = 0; i < LOG_RATELIMIT_BURST + 1; i++) {
		log_main(LOG_WARNING, "the same text");
	}
	log_get_bounds(&lb);
	assert_int_equal(lb.suppressed, 0); /* reported when its window ends */
	/* ...then more keys than the table holds: the oldest window gives
	 * its slot up, and its summary goes out. */
	for (i = 0; i < LOG_RATELIMIT_SLOTS; i++) {
		log_main(LOG_WARNING, "text number %u", i);
	}
	log_get_bounds(&lb);
	assert_int_equal(lb.keys_evicted, 1);
	assert_int_equal(lb.suppressed, 1);
	bounds_take(&t);
	assert_int_equal(t.row[BOUNDS_LOG_KEYS].overflows, 1);
	assert_int_equal(t.row[BOUNDS_LOG_BURST].overflows, 1);
	assert_int_equal(t.row[BOUNDS_LOG_KEYS].bound, LOG_RATELIMIT_SLOTS);
	log_set_sink(NULL, NULL);
	log_reset();
}

static void log_sink_errors_counted(void **state)
{
	struct log_bounds lb;
	int saved;

	(void)state;
	assert_int_equal(log_init(), 0);
	log_reset();
	log_set_sink(NULL, NULL); /* the default: stderr here */
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	close(STDERR_FILENO);
	log_main(LOG_WARNING, "nowhere to go");
	dup2(saved, STDERR_FILENO);
	close(saved);
	clearerr(stderr);
	log_get_bounds(&lb);
	assert_int_equal(lb.sink_errors, 1);
	log_reset();
}

/* ---- chan: sends refused for lack of room ------------------------------- */

struct fake_chan {
	struct chan chan;
	int next_err;
};

static int fake_open(struct chan *c, uint64_t now_ns)
{
	(void)now_ns;
	c->is_open = true;
	return 0;
}

static int fake_send(struct chan *c, const void *msg, size_t len,
		     uint32_t *ret_id)
{
	struct fake_chan *f = container_of(c, struct fake_chan, chan);

	(void)msg;
	(void)len;
	if (ret_id) {
		*ret_id = 0;
	}
	return f->next_err;
}

static void fake_close(struct chan *c)
{
	(void)c;
}

static void fake_free(struct chan *c)
{
	(void)c;
}

static const struct chan_ops fake_ops = {
	.name = "fake",
	.open = fake_open,
	.send = fake_send,
	.close = fake_close,
	.free = fake_free,
};

static void chan_counts_full(void **state)
{
	struct fake_chan f = {.chan = {.ops = &fake_ops}};
	static const int errs[] = {0, -EAGAIN, -ENOBUFS, -ENOSPC, -EPIPE,
				   -EMSGSIZE};
	struct bounds_table t;
	uint8_t msg[4] = {0};
	size_t i;

	(void)state;
	bounds_reset();
	/* Not open: not a bound. */
	assert_int_equal(chan_send(&f.chan, msg, sizeof(msg), NULL),
			 -ENOTCONN);
	assert_int_equal(chan_open(&f.chan, 0), 0);
	for (i = 0; i < ARRAY_SIZE(errs); i++) {
		f.next_err = errs[i];
		assert_int_equal(chan_send(&f.chan, msg, sizeof(msg), NULL),
				 errs[i]);
	}
	/* EAGAIN, ENOBUFS, ENOSPC: full. EPIPE, EMSGSIZE: broken or bad. */
	assert_int_equal(chan_tx_full(&f.chan), 3);
	bounds_take(&t);
	assert_int_equal(t.row[BOUNDS_LINK_TX].overflows, 3);
}

/* ---- metrics ----------------------------------------------------------- */

static char *metrics_text(const struct bounds_table *t, enum metrics_format fmt)
{
	static struct engine_snapshot snap;
	struct metrics_input in = {0};
	struct conf c;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	conf_default(&c);
	memset(&snap, 0, sizeof(snap));
	in.snap = &snap;
	in.conf = &c;
	in.bounds = t;
	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(metrics_write_as(f, &in, fmt), 0);
	fclose(f);
	return text;
}

static void metrics_show_bounds(void **state)
{
	struct bounds_table t;
	char *text;

	(void)state;
	bounds_reset();
	bounds_count(BOUNDS_CONTROL_CLIENTS, 44);
	bounds_publish(BOUNDS_FRAME_LOG, 3, 1 << 20, 777);
	bounds_take(&t);
	text = metrics_text(&t, METRICS_OPENMETRICS);
	assert_non_null(strstr(text, "# TYPE ttws_queue_overflows counter\n"));
	assert_non_null(strstr(text, "ttws_queue_overflows_total{queue="
				     "\"control_clients\"} 44\n"));
	assert_non_null(strstr(
	    text, "ttws_queue_overflows_total{queue=\"frame_log\"} 3\n"));
	assert_non_null(strstr(text, "ttws_queue_capacity{queue=\"control_"
				     "clients\",unit=\"clients\"} 256\n"));
	assert_non_null(strstr(text, "ttws_queue_high_water{queue=\"frame_"
				     "log\",unit=\"bytes\"} 777\n"));
	/* A bound known only at run time has no capacity sample. */
	assert_null(strstr(text, "ttws_queue_capacity{queue=\"loop_cq\""));
	free(text);
	text = metrics_text(&t, METRICS_PROMETHEUS);
	assert_non_null(
	    strstr(text, "# TYPE ttws_queue_overflows_total counter\n"));
	free(text);
	/* Without a table: no such family. */
	text = metrics_text(NULL, METRICS_OPENMETRICS);
	assert_null(strstr(text, "ttws_queue_"));
	free(text);
}

/* ---- ttwsctl's one-line summary ------------------------------------------ */

static void ctl_summary(void **state)
{
	struct json_object *ok = json_tokener_parse(
	    "[{\"queue\":\"a\",\"overflows\":0},{\"queue\":\"b\","
	    "\"overflows\":0}]");
	struct json_object *hit = json_tokener_parse(
	    "[{\"queue\":\"log_ring\",\"overflows\":12},{\"queue\":\"b\","
	    "\"overflows\":0},{\"queue\":\"link_tx\",\"overflows\":3}]");
	char buf[128];

	(void)state;
	ctl_view_bounds_summary(ok, buf, sizeof(buf));
	assert_string_equal(buf, "ok (2 bounds, none hit)");
	ctl_view_bounds_summary(hit, buf, sizeof(buf));
	assert_string_equal(buf, "hit: log_ring 12, link_tx 3");
	ctl_view_bounds_summary(NULL, buf, sizeof(buf));
	assert_string_equal(buf, "-");
	/* A summary longer than the buffer is cut, still terminated. */
	ctl_view_bounds_summary(hit, buf, 10);
	assert_int_equal(strlen(buf), 9);
	json_object_put(ok);
	json_object_put(hit);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(spsc_counts_refusals),
		cmocka_unit_test(spsc_high_water_partial),
		cmocka_unit_test(strbuf_cut_at_bound),
		cmocka_unit_test(table_rows_complete),
		cmocka_unit_test(table_count_any_thread),
		cmocka_unit_test(table_publish_survives_reset),
		cmocka_unit_test(log_ring_full_counted),
		cmocka_unit_test(log_text_cut_counted),
		cmocka_unit_test(log_keys_evicted_counted),
		cmocka_unit_test(log_sink_errors_counted),
		cmocka_unit_test(chan_counts_full),
		cmocka_unit_test(metrics_show_bounds),
		cmocka_unit_test(ctl_summary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
