/* SPDX-License-Identifier: MIT */
/*
 * The daemon's logger (src/daemon/log): the journal fields of structured
 * records, RT instants carried through the ring, rate limiting, drops,
 * and an RT path that never allocates.
 *
 * The sink is replaced (log_set_sink()) so the test sees exactly the
 * fields sd_journal_sendv() would get, and the clock is replaced
 * (log_set_clock()) so instants are the test's, not the machine's. The
 * allocator is wrapped at link time (-Wl,--wrap=malloc,...), which counts
 * the calls log.c makes; allocations inside libc (vsnprintf) would not be
 * seen this way.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloccount.h"

#include "core/conf.h"
#include "core/proto.h"
#include "core/servo.h"
#include "daemon/log.h"


/* ---- the fake clock -------------------------------------------------- */

static uint64_t fake_mono_ns, fake_real_ns;

static uint64_t fake_clock(clockid_t clock)
{
	return clock == CLOCK_REALTIME ? fake_real_ns : fake_mono_ns;
}

/* ---- the capturing sink ---------------------------------------------- */

#define CAP_RECORDS 48
#define CAP_FIELDS 24
#define CAP_FIELD_LEN 1100

struct cap_record {
	int priority;
	unsigned n;
	char f[CAP_FIELDS][CAP_FIELD_LEN];
};

/* Every record counts in n; the first CAP_RECORDS - 1 are kept in order
 * and the newest always in rec[CAP_RECORDS - 1] as well (last()). */
static struct {
	unsigned n;
	struct cap_record rec[CAP_RECORDS];
} cap;

static void cap_sink(int priority, const char *const *fields, unsigned n,
		     void *user_data)
{
	struct cap_record *r;
	unsigned i, slot = cap.n < CAP_RECORDS - 1 ? cap.n : CAP_RECORDS - 1;

	assert_ptr_equal(user_data, &cap);
	assert_true(n <= CAP_FIELDS);
	for (;;) {
		r = &cap.rec[slot];
		r->priority = priority;
		r->n = n;
		for (i = 0; i < n; i++) {
			assert_true(strlen(fields[i]) < CAP_FIELD_LEN);
			strcpy(r->f[i], fields[i]);
		}
		if (slot == CAP_RECORDS - 1) {
			break;
		}
		slot = CAP_RECORDS - 1;
	}
	cap.n++;
}

static const struct cap_record *last(void)
{
	assert_true(cap.n > 0);
	return &cap.rec[CAP_RECORDS - 1];
}

/* The value of NAME in r, or NULL. */
static const char *field(const struct cap_record *r, const char *name)
{
	size_t len = strlen(name);
	unsigned i;

	for (i = 0; i < r->n; i++) {
		if (strncmp(r->f[i], name, len) == 0 && r->f[i][len] == '=') {
			return r->f[i] + len + 1;
		}
	}
	return NULL;
}

/* r holds exactly the fields in want (NULL-terminated), in any order. */
static void assert_fields(const struct cap_record *r, const char *const *want)
{
	unsigned n, i, j;

	for (n = 0; want[n]; n++) {
		for (j = 0; j < r->n; j++) {
			if (strcmp(r->f[j], want[n]) == 0) {
				break;
			}
		}
		if (j == r->n) {
			for (i = 0; i < r->n; i++) {
				print_message("  have %s\n", r->f[i]);
			}
			fail_msg("missing field %s", want[n]);
		}
	}
	assert_int_equal(r->n, n);
}

static int setup(void **state)
{
	(void)state;
	log_set_sink(cap_sink, &cap);
	log_set_clock(fake_clock);
	log_set_max_level(LOG_DEBUG);
	log_reset();
	memset(&cap, 0, sizeof(cap));
	fake_mono_ns = 1000 * UINT64_C(1000000000);
	fake_real_ns = UINT64_C(1700000000) * UINT64_C(1000000000);
	return 0;
}

/* ---- tests ------------------------------------------------------------ */

static void rt_event_fields_exact(void **state)
{
	char mid[64], mono[64], real[64], err[32];

	(void)state;
	fake_mono_ns += 123456789;
	log_rt_event(LOG_WARNING, LOG_EV_LINK_DISCONNECT, CONF_EAR_LEFT,
		     LOG_KVS(LOG_KV(LOG_K_BACKOFF_MS, 250),
			     LOG_KV(LOG_K_ERRNO, -ECONNRESET),
			     LOG_KV(LOG_K_SERVO_STATE, SERVO_LOCKED),
			     LOG_KV(LOG_K_OFFSET_NS, -42)),
		     "%s ear: %s; reconnecting in %d ms", "left",
		     "earbud closed the link", 250);
	/* Nothing reaches the sink from the RT side until the drain. */
	assert_int_equal(cap.n, 0);
	assert_int_equal(log_drain(), 1);
	assert_int_equal(cap.n, 1);
	snprintf(mid, sizeof(mid), "MESSAGE_ID=%s",
		 log_event_message_id(LOG_EV_LINK_DISCONNECT));
	snprintf(mono, sizeof(mono), "TTWS_RT_MONOTONIC_USEC=%llu",
		 (unsigned long long)(fake_mono_ns / 1000));
	snprintf(real, sizeof(real), "TTWS_RT_REALTIME_USEC=%llu",
		 (unsigned long long)(fake_real_ns / 1000));
	snprintf(err, sizeof(err), "ERRNO=%d", ECONNRESET);
	{
		const char *want[] = {
			"MESSAGE=left ear: earbud closed the link; "
			"reconnecting in 250 ms",
			"PRIORITY=4",
			"TTWS_THREAD=rt",
			mid,
			"TTWS_EVENT=link-disconnect",
			"TTWS_EAR=left",
			"TTWS_LINK_STATE=idle",
			mono,
			real,
			"TTWS_BACKOFF_MS=250",
			err,
			"TTWS_SERVO_STATE=locked",
			"TTWS_OFFSET_NS=-42",
			NULL,
		};

		assert_fields(&cap.rec[0], want);
	}
	assert_int_equal(cap.rec[0].priority, LOG_WARNING);
	/* Drained: a second drain emits nothing. */
	assert_int_equal(log_drain(), 0);
	assert_int_equal(cap.n, 1);
}

static void rt_event_malformed_and_no_ear(void **state)
{
	static const uint8_t junk[3] = { 0x01, 0x02, 0x03 };
	struct link_msg m;
	char want_kind[64];
	int r;

	(void)state;
	r = proto_decode(junk, sizeof(junk), &m);
	assert_true(r < 0);
	assert_non_null(proto_error_name(r));
	snprintf(want_kind, sizeof(want_kind), "%s", proto_error_name(r));
	log_rt_event(LOG_WARNING, LOG_EV_MALFORMED, CONF_EAR_RIGHT,
		     LOG_KVS(LOG_KV(LOG_K_MALFORMED, r), LOG_KV(LOG_K_LEN, 3)),
		     "right ear: malformed");
	log_rt_event(LOG_INFO, LOG_EV_DONGLE_OPEN, LOG_EAR_NONE, NULL, 0,
		     "hci-uart /dev/ttyUSB0: controller ready");
	assert_int_equal(log_drain(), 2);
	assert_string_equal(field(&cap.rec[0], "TTWS_MALFORMED"), want_kind);
	assert_string_equal(field(&cap.rec[0], "TTWS_LEN"), "3");
	assert_string_equal(field(&cap.rec[0], "TTWS_EAR"), "right");
	assert_null(field(&cap.rec[0], "TTWS_LINK_STATE"));
	assert_string_equal(field(&cap.rec[1], "TTWS_EVENT"), "dongle-open");
	assert_null(field(&cap.rec[1], "TTWS_EAR"));
	/* Untyped: neither an id nor an event. */
	log_rt(LOG_INFO, "plain %d", 7);
	assert_int_equal(log_drain(), 1);
	assert_string_equal(field(&cap.rec[2], "MESSAGE"), "plain 7");
	assert_null(field(&cap.rec[2], "MESSAGE_ID"));
	assert_null(field(&cap.rec[2], "TTWS_EVENT"));
	assert_non_null(field(&cap.rec[2], "TTWS_RT_MONOTONIC_USEC"));
}

/* Several pairs: TTWS_PAIR, the text prefixed "NAME/", the rate limit
 * per pair; no pair (NULL or ""): log_rt_event() exactly. */
static void rt_pair_event_fields(void **state)
{
	unsigned i;

	(void)state;
	log_rt_pair_event(LOG_INFO, LOG_EV_LINK_HELLO, "kitchen",
			  CONF_EAR_LEFT, LOG_KVS(LOG_KV(LOG_K_CI_US, 7500)),
			  "%s ear: HELLO_ACK", "left");
	log_rt_pair_event(LOG_INFO, LOG_EV_LINK_HELLO, "", CONF_EAR_LEFT,
			  NULL, 0, "left ear: HELLO_ACK");
	log_rt_pair_event(LOG_INFO, LOG_EV_LINK_HELLO, NULL, CONF_EAR_LEFT,
			  NULL, 0, "left ear: HELLO_ACK");
	assert_int_equal(log_drain(), 3);
	assert_string_equal(field(&cap.rec[0], "MESSAGE"),
			    "kitchen/left ear: HELLO_ACK");
	assert_string_equal(field(&cap.rec[0], "TTWS_PAIR"), "kitchen");
	assert_string_equal(field(&cap.rec[0], "TTWS_EAR"), "left");
	assert_string_equal(field(&cap.rec[0], "TTWS_CI_US"), "7500");
	assert_string_equal(field(&cap.rec[0], "TTWS_EVENT"), "link-hello");
	for (i = 1; i < 3; i++) {
		assert_string_equal(field(&cap.rec[i], "MESSAGE"),
				    "left ear: HELLO_ACK");
		assert_null(field(&cap.rec[i], "TTWS_PAIR"));
	}
	/* One pair's burst does not silence another's same event. */
	for (i = 0; i < LOG_RATELIMIT_BURST + 3; i++) {
		log_rt_pair_event(LOG_WARNING, LOG_EV_SERVO_STEP, "a",
				  CONF_EAR_RIGHT, NULL, 0, "right ear: step");
	}
	log_rt_pair_event(LOG_WARNING, LOG_EV_SERVO_STEP, "b", CONF_EAR_RIGHT,
			  NULL, 0, "right ear: step");
	log_drain();
	assert_int_equal(cap.n, 3 + LOG_RATELIMIT_BURST + 1);
	assert_string_equal(field(&cap.rec[cap.n - 1], "TTWS_PAIR"), "b");
}

/* log_link_pair(): a pair's view names its pair when there are several. */
static void link_pair_names(void **state)
{
	struct conf *c = calloc(1, sizeof(*c));
	unsigned i, e;

	(void)state;
	assert_non_null(c);
	conf_default(c);
	c->n_pairs = 2;
	for (i = 0; i < 2; i++) {
		snprintf(c->pairs[i].name, sizeof(c->pairs[i].name), "p%u", i);
		for (e = 0; e < CONF_N_EARS; e++) {
			c->pairs[i].link[e].transport = CONF_TRANSPORT_UNIX;
			snprintf(c->pairs[i].link[e].path,
				 sizeof(c->pairs[i].link[e].path),
				 "/run/%u-%u.sock", i, e);
		}
	}
	c->link[CONF_EAR_RIGHT] = c->pairs[1].link[CONF_EAR_RIGHT];
	assert_string_equal(log_link_pair(c, CONF_EAR_RIGHT), "p1");
	c->link[CONF_EAR_RIGHT] = c->pairs[0].link[CONF_EAR_RIGHT];
	assert_string_equal(log_link_pair(c, CONF_EAR_RIGHT), "p0");
	/* The other ear's link, or an unknown one: no pair. */
	c->link[CONF_EAR_LEFT] = c->pairs[1].link[CONF_EAR_RIGHT];
	assert_null(log_link_pair(c, CONF_EAR_LEFT));
	assert_null(log_link_pair(c, LOG_EAR_NONE));
	/* One pair: lines stay as they were. */
	c->n_pairs = 1;
	c->link[CONF_EAR_RIGHT] = c->pairs[0].link[CONF_EAR_RIGHT];
	assert_null(log_link_pair(c, CONF_EAR_RIGHT));
	free(c);
}

static void main_event_fields(void **state)
{
	(void)state;
	log_main_event(LOG_ERR, LOG_EV_CONFIG_REFUSED, LOG_EAR_NONE, NULL, 0,
		       "reload refused: %s", "x.conf:3: bad");
	assert_int_equal(cap.n, 1);
	assert_string_equal(field(&cap.rec[0], "MESSAGE_ID"),
			    log_event_message_id(LOG_EV_CONFIG_REFUSED));
	assert_string_equal(field(&cap.rec[0], "TTWS_THREAD"), "main");
	assert_string_equal(field(&cap.rec[0], "PRIORITY"), "3");
	assert_null(field(&cap.rec[0], "TTWS_RT_MONOTONIC_USEC"));
	log_info("old style %s", "call");
	assert_int_equal(cap.n, 2);
	assert_string_equal(field(&cap.rec[1], "MESSAGE"), "old style call");
	assert_string_equal(field(&cap.rec[1], "PRIORITY"), "6");
}

/* PipeWire's going and coming (daemon_pw.c): their names and pinned ids,
 * the errno made positive, no ear. */
static void pipewire_event_fields(void **state)
{
	(void)state;
	log_main_event(LOG_WARNING, LOG_EV_PIPEWIRE_GONE, LOG_EAR_NONE,
		       LOG_KVS(LOG_KV(LOG_K_ERRNO, -EPIPE)), "PipeWire gone");
	log_main_event(LOG_NOTICE, LOG_EV_PIPEWIRE_BACK, LOG_EAR_NONE, NULL, 0,
		       "PipeWire back");
	assert_int_equal(cap.n, 2);
	assert_string_equal(field(&cap.rec[0], "TTWS_EVENT"), "pipewire-gone");
	assert_string_equal(field(&cap.rec[0], "MESSAGE_ID"),
			    "16fa8a63de2549ba902385c4ea241a41");
	assert_string_equal(field(&cap.rec[0], "ERRNO"), "32");
	assert_string_equal(field(&cap.rec[0], "PRIORITY"), "4");
	assert_null(field(&cap.rec[0], "TTWS_EAR"));
	assert_string_equal(field(&cap.rec[1], "TTWS_EVENT"), "pipewire-back");
	assert_string_equal(field(&cap.rec[1], "MESSAGE_ID"),
			    "7fe16b6c0bdc4c5baf1f03f338fe1cf6");
	assert_string_equal(field(&cap.rec[1], "PRIORITY"), "5");
	assert_null(field(&cap.rec[1], "ERRNO"));
}

static bool is_lower_hex(const char *s)
{
	for (; *s; s++) {
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) {
			return false;
		}
	}
	return true;
}

static void message_ids_distinct_and_wellformed(void **state)
{
	int a, b;

	(void)state;
	assert_null(log_event_message_id(LOG_EV_NONE));
	assert_null(log_event_name(LOG_EV_NONE));
	assert_null(log_event_message_id(LOG_EV_MAX));
	assert_null(log_event_name(LOG_EV_MAX));
	for (a = LOG_EV_NONE + 1; a < LOG_EV_MAX; a++) {
		const char *id = log_event_message_id(a);

		assert_non_null(id);
		assert_non_null(log_event_name(a));
		assert_int_equal(strlen(id), 32);
		assert_true(is_lower_hex(id));
		for (b = a + 1; b < LOG_EV_MAX; b++) {
			assert_string_not_equal(id, log_event_message_id(b));
			assert_string_not_equal(log_event_name(a),
						log_event_name(b));
		}
	}
	/* One pinned: the ids are a published interface (ttwsd(8)). */
	assert_string_equal(log_event_message_id(LOG_EV_LINK_STREAMING),
			    "01d5c25cd65249e484244735498544a9");
}

static void rt_timestamp_preserved(void **state)
{
	uint64_t t0, t1;
	char want[64];

	(void)state;
	t0 = fake_mono_ns + 123456789;
	t1 = t0 + 2500000; /* 2.5 ms later */
	fake_mono_ns = t0;
	log_rt_event(LOG_INFO, LOG_EV_LINK_HELLO, CONF_EAR_LEFT,
		     LOG_KVS(LOG_KV(LOG_K_CI_US, 7500)), "first");
	fake_mono_ns = t1;
	log_rt(LOG_INFO, "second");
	/* The drain runs 7 s later; realtime then is R. */
	fake_mono_ns = t0 + 7 * UINT64_C(1000000000);
	fake_real_ns = UINT64_C(1700000123) * UINT64_C(1000000000);
	assert_int_equal(log_drain(), 2);
	snprintf(want, sizeof(want), "%llu", (unsigned long long)(t0 / 1000));
	assert_string_equal(field(&cap.rec[0], "TTWS_RT_MONOTONIC_USEC"),
			    want);
	/* R - 7 s: the instant the record was written, in realtime. */
	snprintf(want, sizeof(want), "%llu",
		 (unsigned long long)((fake_real_ns -
				       7 * UINT64_C(1000000000)) /
				      1000));
	assert_string_equal(field(&cap.rec[0], "TTWS_RT_REALTIME_USEC"), want);
	snprintf(want, sizeof(want), "%llu", (unsigned long long)(t1 / 1000));
	assert_string_equal(field(&cap.rec[1], "TTWS_RT_MONOTONIC_USEC"),
			    want);
	snprintf(want, sizeof(want), "%llu",
		 (unsigned long long)((fake_real_ns -
				       7 * UINT64_C(1000000000) + 2500000) /
				      1000));
	assert_string_equal(field(&cap.rec[1], "TTWS_RT_REALTIME_USEC"), want);
	assert_string_equal(field(&cap.rec[0], "TTWS_CI_US"), "7500");
}

/* The default sink on a stderr that is not the journal: the RT instant
 * (monotonic, s.us) leads the line. */
static void rt_timestamp_on_stderr(void **state)
{
	char path[] = "/tmp/test-log-XXXXXX", buf[512];
	int fd, saved;
	ssize_t n;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	fake_mono_ns = 1234 * UINT64_C(1000000000) + 567891000;
	log_rt(LOG_NOTICE, "left ear: servo locked, streaming");
	fake_mono_ns += 3 * UINT64_C(1000000000);
	log_set_sink(NULL, NULL);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	assert_int_equal(log_drain(), 1);
	log_main(LOG_INFO, "from main");
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	log_set_sink(cap_sink, &cap);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "ttwsd[rt] [1234.567891]: left ear: servo "
				 "locked, streaming\n"
				 "ttwsd[main]: from main\n");
}

static void ratelimit_suppresses_then_counts(void **state)
{
	const struct cap_record *s;
	unsigned i;

	(void)state;
	for (i = 0; i < 25; i++) {
		fake_mono_ns += 1000000;
		log_rt_event(LOG_WARNING, LOG_EV_SERVO_STEP, CONF_EAR_LEFT,
			     NULL, 0, "left ear: servo step %u", i);
	}
	for (i = 0; i < 3; i++) {
		log_rt_event(LOG_WARNING, LOG_EV_SERVO_STEP, CONF_EAR_RIGHT,
			     NULL, 0, "right ear: servo step %u", i);
	}
	fake_mono_ns += 50000000;
	assert_int_equal(log_drain(), 28);
	/* 10 left (the burst) and the 3 right: a key is kind and ear. */
	assert_int_equal(cap.n, LOG_RATELIMIT_BURST + 3);
	assert_string_equal(field(&cap.rec[9], "MESSAGE"),
			    "left ear: servo step 9");
	assert_string_equal(field(&cap.rec[10], "MESSAGE"),
			    "right ear: servo step 0");
	/* Window not over: nothing said yet. */
	fake_mono_ns += 1000000000;
	log_drain();
	assert_int_equal(cap.n, 13);
	/* Over: one summary for the left ear, none for the right. */
	fake_mono_ns += 5 * UINT64_C(1000000000);
	assert_int_equal(log_drain(), 0);
	assert_int_equal(cap.n, 14);
	s = last();
	assert_string_equal(field(s, "MESSAGE"),
			    "suppressed 15 similar messages "
			    "(TTWS_EVENT=servo-step, TTWS_EAR=left)");
	assert_string_equal(field(s, "TTWS_SUPPRESSED"), "15");
	assert_string_equal(field(s, "TTWS_EVENT"), "servo-step");
	assert_string_equal(field(s, "TTWS_EAR"), "left");
	assert_string_equal(field(s, "MESSAGE_ID"),
			    log_event_message_id(LOG_EV_LOG_SUPPRESSED));
	assert_int_equal(s->priority, LOG_WARNING);
	/* A new window admits the kind again, and the summary is not
	 * repeated. */
	log_rt_event(LOG_WARNING, LOG_EV_SERVO_STEP, CONF_EAR_LEFT, NULL, 0,
		     "left ear: again");
	fake_mono_ns += 6 * UINT64_C(1000000000);
	assert_int_equal(log_drain(), 1);
	assert_int_equal(cap.n, 15);
	assert_string_equal(field(last(), "MESSAGE"), "left ear: again");
}

static void ratelimit_untyped_by_text_and_flush(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < 12; i++) {
		log_warning("the same text");
	}
	log_warning("another text");
	assert_int_equal(cap.n, LOG_RATELIMIT_BURST + 1);
	log_flush();
	assert_int_equal(cap.n, LOG_RATELIMIT_BURST + 2);
	assert_string_equal(field(last(), "MESSAGE"),
			    "suppressed 2 similar messages (like: the same "
			    "text)");
	assert_string_equal(field(last(), "TTWS_SUPPRESSED"), "2");
	assert_null(field(last(), "TTWS_EVENT"));
	/* Flushed: nothing left to say. */
	log_flush();
	assert_int_equal(cap.n, LOG_RATELIMIT_BURST + 2);
}

/* The table is fixed: a key pushed out says its count as it goes. */
static void ratelimit_table_bounded(void **state)
{
	unsigned i, base;

	(void)state;
	for (i = 0; i < 13; i++) {
		log_warning("noisy");
	}
	base = cap.n;
	assert_int_equal(base, LOG_RATELIMIT_BURST);
	for (i = 0; i < LOG_RATELIMIT_SLOTS; i++) {
		fake_mono_ns += 1000;
		log_warning("distinct %u", i);
	}
	/* 32 distinct texts, plus the summary of "noisy" (oldest key). */
	assert_int_equal(cap.n, base + LOG_RATELIMIT_SLOTS + 1);
	assert_string_equal(field(&cap.rec[base + LOG_RATELIMIT_SLOTS - 1],
				  "MESSAGE"),
			    "suppressed 3 similar messages (like: noisy)");
	assert_string_equal(field(last(), "MESSAGE"), "distinct 31");
}

static void ring_full_counts_drops(void **state)
{
	char filler[LOG_RT_LINE_MAX];
	unsigned i, queued = 0;
	uint64_t drops;

	(void)state;
	memset(filler, 'x', sizeof(filler) - 1);
	filler[sizeof(filler) - 1] = '\0';
	assert_int_equal(log_dropped(), 0);
	for (i = 0; i < 2000 && log_dropped() == 0; i++) {
		log_rt(LOG_INFO, "%04u %s", i, filler);
	}
	assert_true(log_dropped() == 1);
	queued = i - 1;
	for (i = 0; i < 5; i++) {
		log_rt(LOG_INFO, "%s", filler);
	}
	drops = log_dropped();
	assert_int_equal(drops, 6);
	/* Each record distinct: none rate-limited. */
	assert_int_equal(log_drain(), queued);
	assert_int_equal(cap.n, queued + 1);
	assert_string_equal(field(last(), "TTWS_EVENT"), "log-dropped");
	assert_string_equal(field(last(), "TTWS_DROPPED"), "6");
	assert_string_equal(field(last(), "MESSAGE"),
			    "6 RT log records dropped (ring full)");
	/* Said once; the ring has room again. */
	log_rt(LOG_INFO, "after");
	assert_int_equal(log_drain(), 1);
	assert_int_equal(cap.n, queued + 2);
	assert_string_equal(field(last(), "MESSAGE"), "after");
	assert_int_equal(log_dropped(), 6);
}

/* volatile: the compiler may not drop a malloc/free pair it can see. */
static void *volatile probe_ptr;

static void rt_path_never_allocates(void **state)
{
	char long_text[600];

	(void)state;
	memset(long_text, 'y', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	/* The wrap sees allocations made from this program. */
	alloccount_n = 0;
	probe_ptr = malloc(16);
	free(probe_ptr);
	assert_int_equal(alloccount_n, 1);

	alloccount_n = 0;
	log_rt_event(LOG_WARNING, LOG_EV_DONGLE_LINE_ERRORS, LOG_EAR_NONE,
		     LOG_KVS(LOG_KV(LOG_K_LINE_FRAME, 1),
			     LOG_KV(LOG_K_LINE_OVERRUN, 2),
			     LOG_KV(LOG_K_LINE_PARITY, 3),
			     LOG_KV(LOG_K_LINE_BUF_OVERRUN, 4)),
		     "hci-uart %s: line errors %d %s", "/dev/ttyS1", 5,
		     long_text);
	log_rt(LOG_INFO, "plain %llu", (unsigned long long)fake_mono_ns);
	assert_int_equal(alloccount_n, 0);
	assert_int_equal(cap.n, 0);
	assert_int_equal(log_drain(), 2);
	/* Cut at LOG_RT_LINE_MAX, the integers intact. */
	assert_int_equal(strlen(field(&cap.rec[0], "MESSAGE")),
			 LOG_RT_LINE_MAX);
	assert_string_equal(field(&cap.rec[0], "TTWS_LINE_BUF_OVERRUN"), "4");
}

static void level_filter_before_ring(void **state)
{
	(void)state;
	log_set_max_level(LOG_INFO);
	log_rt_event(LOG_DEBUG, LOG_EV_LINK_CONNECT, CONF_EAR_LEFT, NULL, 0,
		     "debug");
	log_debug("debug too");
	assert_int_equal(log_drain(), 0);
	assert_int_equal(cap.n, 0);
	log_rt_event(LOG_INFO, LOG_EV_LINK_CONNECT, CONF_EAR_LEFT, NULL, 0,
		     "info");
	assert_int_equal(log_drain(), 1);
	assert_string_equal(field(&cap.rec[0], "TTWS_LINK_STATE"),
			    "connecting");
}

static void too_many_kv_are_cut(void **state)
{
	(void)state;
	log_rt_event(LOG_INFO, LOG_EV_LINK_CONNECTED, CONF_EAR_RIGHT,
		     LOG_KVS(LOG_KV(LOG_K_MTU_RX, 1), LOG_KV(LOG_K_MTU_TX, 2),
			     LOG_KV(LOG_K_CI_US, 3), LOG_KV(LOG_K_CAPS, 4),
			     LOG_KV(LOG_K_LEN, 5),
			     LOG_KV(LOG_K_PROTO_VERSION, 6),
			     LOG_KV(LOG_K_FAILED, 7)),
		     "seven");
	assert_int_equal(log_drain(), 1);
	assert_string_equal(field(&cap.rec[0], "TTWS_PROTO_VERSION"), "6");
	assert_null(field(&cap.rec[0], "TTWS_FAILED"));
}

#define T(name) { "log/" #name, name, setup, NULL, NULL }

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(rt_event_fields_exact),
		T(rt_event_malformed_and_no_ear),
		T(main_event_fields),
		T(rt_pair_event_fields),
		T(link_pair_names),
		T(pipewire_event_fields),
		T(message_ids_distinct_and_wellformed),
		T(rt_timestamp_preserved),
		T(rt_timestamp_on_stderr),
		T(ratelimit_suppresses_then_counts),
		T(ratelimit_untyped_by_text_and_flush),
		T(ratelimit_table_bounded),
		T(ring_full_counts_drops),
		T(rt_path_never_allocates),
		T(level_filter_before_ring),
		T(too_many_kv_are_cut),
	};

	/* Not the journal, whatever started the test: the default sink
	 * writes to stderr (rt_timestamp_on_stderr). */
	unsetenv("JOURNAL_STREAM");
	if (log_init() < 0) {
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
