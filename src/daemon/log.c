/* SPDX-License-Identifier: MIT */
/*
 * Logging's entry points (daemon/log.h): levels, the RT thread's ring and
 * its drain on the main thread, and the rate limit (core/ratelimit) in
 * front of log_send(). What a record becomes, and where it goes, is
 * log_journal.c's; see log_private.h.
 */
#include "daemon/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/macro.h"
#include "core/ratelimit.h"
#include "core/spsc.h"
#include "daemon/log_private.h"

#define LOG_RING_SIZE (64 * 1024)

/*
 * In the ring: this header, n_kv struct log_kv, pair_len bytes of the
 * pair's name, then len bytes of text (neither with a NUL), written in
 * one spsc_write() so the consumer sees all or none.
 */
struct log_record {
	uint16_t len;
	uint8_t level;
	uint8_t event; /* enum log_event */
	int8_t ear;    /* enum conf_ear or LOG_EAR_NONE */
	uint8_t n_kv;
	uint8_t pair_len; /* 0: not about one of several pairs */
	uint8_t pad;
	uint64_t ts_ns; /* CLOCK_MONOTONIC when logged */
};

_Static_assert(LOG_EV_MAX <= UINT8_MAX && LOG_KV_MAX <= UINT8_MAX &&
		       LOG_RT_LINE_MAX <= UINT16_MAX &&
		       CONF_PAIR_NAME_MAX <= UINT8_MAX,
	       "struct log_record's fields hold these");

static struct spsc log_ring;
static uint8_t *log_mem;
static _Atomic uint64_t log_drops;
_Atomic uint64_t log_cut;
_Atomic uint64_t log_sink_errors;
/* Rate-limit reports (main thread writes, any thread reads). */
static _Atomic uint64_t log_evicted;
static _Atomic uint64_t log_suppressed;
static _Atomic int log_max_level = LOG_INFO;
static uint64_t log_drops_reported;
/* The rate limiter (core/ratelimit) over a fixed table; main thread. */
static struct ratelimit_slot log_rl_slots[LOG_RATELIMIT_SLOTS];
static struct ratelimit log_rl;

static uint64_t log_clock_default(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t (*log_clock)(clockid_t clock) = log_clock_default;

int log_init(void)
{
	if (log_mem) {
		return 0;
	}
	log_mem = malloc(LOG_RING_SIZE);
	if (!log_mem) {
		return -ENOMEM;
	}
	spsc_init(&log_ring, log_mem, LOG_RING_SIZE);
	log_to_journal = log_stderr_is_journal();
	return 0;
}

void log_set_max_level(int level)
{
	atomic_store_explicit(&log_max_level, level, memory_order_relaxed);
}

static bool log_wanted(int level)
{
	return level <= atomic_load_explicit(&log_max_level,
					     memory_order_relaxed);
}

void log_set_clock(uint64_t (*fn)(clockid_t clock))
{
	log_clock = fn ? fn : log_clock_default;
}

const char *log_ear_name(int ear)
{
	if (ear < 0 || ear >= CONF_N_EARS) {
		return NULL;
	}
	return conf_ear_name((enum conf_ear)ear);
}

const char *log_link_pair(const struct conf *view, int ear)
{
	const struct conf_link *l;
	unsigned i;

	if (!view || view->n_pairs < 2 || !log_ear_name(ear)) {
		return NULL;
	}
	l = &view->link[ear];
	for (i = 0; i < view->n_pairs && i < CONF_MAX_PAIRS; i++) {
		const struct conf_link *p = &view->pairs[i].link[ear];

		if (p->transport == l->transport &&
		    strcmp(p->path, l->path) == 0 &&
		    strcmp(p->address, l->address) == 0) {
			return view->pairs[i].name;
		}
	}
	return NULL;
}

/* ---- rate limit (main thread) ---------------------------------------- */

/* A summary: "suppressed K similar messages (...)", keyed as the records
 * it stands for, with the MESSAGE_ID of LOG_EV_LOG_SUPPRESSED. */
static void log_rl_report(const struct ratelimit_report *r, void *user_data)
{
	char text[160];
	enum log_event ev = (enum log_event)r->key.kind;
	const char *ear = log_ear_name(r->key.scope);
	struct log_kv kv = LOG_KV(LOG_K_SUPPRESSED, r->suppressed);
	struct log_entry e = {
		.level = r->level,
		.ev = ev,
		.id_ev = LOG_EV_LOG_SUPPRESSED,
		.ear = r->key.scope,
		.kv = &kv,
		.n_kv = 1,
		.rt = false,
		.text = text,
	};

	(void)user_data;
	atomic_fetch_add_explicit(&log_suppressed, r->suppressed,
				  memory_order_relaxed);
	if (r->reason == RATELIMIT_EVICTED) {
		atomic_fetch_add_explicit(&log_evicted, 1,
					  memory_order_relaxed);
	}
	if (ev == LOG_EV_NONE) {
		snprintf(text, sizeof(text),
			 "suppressed %u similar messages (like: %s)",
			 r->suppressed, r->sample);
	} else {
		snprintf(text, sizeof(text),
			 "suppressed %u similar messages (TTWS_EVENT=%s%s%s)",
			 r->suppressed, log_event_name(ev),
			 ear ? ", TTWS_EAR=" : "", ear ? ear : "");
	}
	log_send(&e);
}

/* Set up on first use: records may come before log_init(). */
static struct ratelimit *log_rl_get(void)
{
	if (!log_rl.slots) {
		/* Constant, valid arguments: cannot fail. */
		(void)ratelimit_init(&log_rl, log_rl_slots,
				     LOG_RATELIMIT_SLOTS, LOG_RATELIMIT_BURST,
				     LOG_RATELIMIT_WINDOW_NS, log_rl_report,
				     NULL);
	}
	return &log_rl;
}

/* Whether e goes out now (the rate limiter counts it when it does not).
 * A key is the event kind and ear, or for an untyped record its text. */
static bool log_rl_admit(const struct log_entry *e, uint64_t now_ns)
{
	const struct ratelimit_key key = {
		.kind = (uint32_t)e->ev,
		.scope = e->ear,
		/* The text names the pair too: one hash keys both. */
		.hash = e->ev == LOG_EV_NONE ? ratelimit_hash_text(e->text) :
			e->pair		     ? ratelimit_hash_text(e->pair) :
						0,
	};

	return ratelimit_admit(log_rl_get(), &key, e->level, e->text,
			       now_ns) == RATELIMIT_PASS;
}

static void log_submit(const struct log_entry *e, uint64_t now_ns)
{
	if (!log_wanted(e->level) || !log_rl_admit(e, now_ns)) {
		return;
	}
	log_send(e);
}

/* ---- main thread ------------------------------------------------------ */

__attribute__((format(printf, 6, 0)))
static void log_main_v(int level, enum log_event ev, int ear,
		       const struct log_kv *kv, unsigned n_kv, const char *fmt,
		       va_list ap)
{
	char buf[LOG_MAIN_LINE_MAX];
	struct log_entry e = {
		.level = level,
		.ev = (unsigned)ev < LOG_EV_MAX ? ev : LOG_EV_NONE,
		.ear = log_ear_name(ear) ? ear : LOG_EAR_NONE,
		.kv = kv,
		.n_kv = kv ? MIN(n_kv, LOG_KV_MAX) : 0,
		.text = buf,
	};

	if (!log_wanted(level)) {
		return;
	}
	e.id_ev = e.ev;
	if (vsnprintf(buf, sizeof(buf), fmt, ap) >= (int)sizeof(buf)) {
		atomic_fetch_add_explicit(&log_cut, 1, memory_order_relaxed);
	}
	log_submit(&e, log_clock(CLOCK_MONOTONIC));
}

void log_main(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_main_v(level, LOG_EV_NONE, LOG_EAR_NONE, NULL, 0, fmt, ap);
	va_end(ap);
}

void log_main_event(int level, enum log_event ev, int ear,
		    const struct log_kv *kv, unsigned n_kv, const char *fmt,
		    ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_main_v(level, ev, ear, kv, n_kv, fmt, ap);
	va_end(ap);
}

/* ---- RT thread -------------------------------------------------------- */

__attribute__((format(printf, 7, 0)))
static void log_rt_v(int level, enum log_event ev, const char *pair,
		     int ear, const struct log_kv *kv, unsigned n_kv,
		     const char *fmt, va_list ap)
{
	_Alignas(8) uint8_t rec[sizeof(struct log_record) +
				LOG_KV_MAX * sizeof(struct log_kv) +
				CONF_PAIR_NAME_MAX + LOG_RT_LINE_MAX + 1];
	struct log_record h;
	size_t kvb, pl = 0, pre = 0;
	char *text;
	int n;

	if (!log_wanted(level) || !log_mem) {
		return;
	}
	if (!kv || n_kv > LOG_KV_MAX) {
		n_kv = kv ? LOG_KV_MAX : 0;
	}
	kvb = n_kv * sizeof(struct log_kv);
	if (pair) {
		pl = strnlen(pair, CONF_PAIR_NAME_MAX - 1);
	}
	text = (char *)rec + sizeof(h) + kvb + pl;
	if (pl) {
		/* The name twice: TTWS_PAIR's value, and the text's
		 * "NAME/" (room for both: LOG_RT_LINE_MAX + 1 > pl + 1). */
		memcpy(text - pl, pair, pl);
		memcpy(text, pair, pl);
		text[pl] = '/';
		pre = pl + 1;
	}
	n = vsnprintf(text + pre, LOG_RT_LINE_MAX + 1 - pre, fmt, ap);
	if (n < 0) {
		return;
	}
	n += (int)pre;
	if ((size_t)n > LOG_RT_LINE_MAX) {
		n = LOG_RT_LINE_MAX;
		atomic_fetch_add_explicit(&log_cut, 1, memory_order_relaxed);
	}
	memset(&h, 0, sizeof(h));
	h.len = (uint16_t)n;
	h.level = (uint8_t)level;
	h.event = (unsigned)ev < LOG_EV_MAX ? (uint8_t)ev : LOG_EV_NONE;
	h.ear = (int8_t)(log_ear_name(ear) ? ear : LOG_EAR_NONE);
	h.n_kv = (uint8_t)n_kv;
	h.pair_len = (uint8_t)pl;
	h.ts_ns = log_clock(CLOCK_MONOTONIC);
	memcpy(rec, &h, sizeof(h));
	if (kvb) {
		memcpy(rec + sizeof(h), kv, kvb);
	}
	if (spsc_write(&log_ring, rec, sizeof(h) + kvb + pl + (size_t)n) < 0) {
		atomic_fetch_add_explicit(&log_drops, 1, memory_order_relaxed);
	}
}

void log_rt(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_rt_v(level, LOG_EV_NONE, NULL, LOG_EAR_NONE, NULL, 0, fmt, ap);
	va_end(ap);
}

void log_rt_event(int level, enum log_event ev, int ear,
		  const struct log_kv *kv, unsigned n_kv, const char *fmt,
		  ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_rt_v(level, ev, NULL, ear, kv, n_kv, fmt, ap);
	va_end(ap);
}

void log_rt_pair_event(int level, enum log_event ev, const char *pair,
		       int ear, const struct log_kv *kv, unsigned n_kv,
		       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_rt_v(level, ev, pair && pair[0] ? pair : NULL, ear, kv, n_kv, fmt,
		 ap);
	va_end(ap);
}

/* ---- drain ------------------------------------------------------------ */

static void log_report_drops(void)
{
	uint64_t d = log_dropped();

	if (d <= log_drops_reported) {
		return;
	}
	log_main_event(LOG_WARNING, LOG_EV_LOG_DROPPED, LOG_EAR_NONE,
		       LOG_KVS(LOG_KV(LOG_K_DROPPED, d - log_drops_reported)),
		       "%llu RT log records dropped (ring full)",
		       (unsigned long long)(d - log_drops_reported));
	log_drops_reported = d;
}

unsigned log_drain(void)
{
	struct log_record r;
	struct log_kv kv[LOG_KV_MAX];
	char text[LOG_RT_LINE_MAX + 1];
	char pair[CONF_PAIR_NAME_MAX];
	uint64_t mono, real;
	unsigned n = 0;

	if (!log_mem) {
		return 0;
	}
	/* One pair for the whole batch: the records' realtime instants
	 * then keep their monotonic order and spacing. */
	mono = log_clock(CLOCK_MONOTONIC);
	real = log_clock(CLOCK_REALTIME);
	while (spsc_peek(&log_ring, &r, sizeof(r)) == 0) {
		size_t kvb = (size_t)MIN(r.n_kv, LOG_KV_MAX) * sizeof(kv[0]);
		size_t pl = r.pair_len;
		struct log_entry e = {
			.level = r.level,
			.ev = (enum log_event)r.event,
			.id_ev = (enum log_event)r.event,
			.ear = r.ear,
			.pair = pl ? pair : NULL,
			.kv = kv,
			.n_kv = (unsigned)(kvb / sizeof(kv[0])),
			.rt = true,
			.rt_mono_ns = r.ts_ns,
			.rt_real_ns = r.ts_ns + (real - mono),
			.text = text,
		};

		/* The producer writes a record in one piece, so the rest
		 * is there whenever its header is. */
		if (spsc_read_avail(&log_ring) < sizeof(r) + kvb + pl + r.len) {
			break;
		}
		spsc_skip(&log_ring, sizeof(r));
		if (kvb) {
			spsc_read(&log_ring, kv, kvb);
		}
		/* The producer keeps it below CONF_PAIR_NAME_MAX; a record
		 * is never cut, so a longer one is skipped past its end. */
		if (pl >= sizeof(pair)) {
			spsc_skip(&log_ring, pl);
			pl = 0;
			e.pair = NULL;
		} else if (pl) {
			spsc_read(&log_ring, pair, pl);
		}
		pair[pl] = '\0';
		spsc_read(&log_ring, text, r.len);
		text[r.len] = '\0';
		log_submit(&e, r.ts_ns);
		n++;
	}
	log_report_drops();
	ratelimit_sweep(log_rl_get(), mono);
	return n;
}

void log_flush(void)
{
	ratelimit_flush(log_rl_get());
}

void log_reset(void)
{
	if (log_mem) {
		spsc_skip(&log_ring, spsc_read_avail(&log_ring));
	}
	atomic_store_explicit(&log_drops, 0, memory_order_relaxed);
	atomic_store_explicit(&log_cut, 0, memory_order_relaxed);
	atomic_store_explicit(&log_sink_errors, 0, memory_order_relaxed);
	atomic_store_explicit(&log_evicted, 0, memory_order_relaxed);
	atomic_store_explicit(&log_suppressed, 0, memory_order_relaxed);
	log_drops_reported = 0;
	ratelimit_reset(log_rl_get());
}

uint64_t log_dropped(void)
{
	return atomic_load_explicit(&log_drops, memory_order_relaxed);
}

void log_get_bounds(struct log_bounds *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (log_mem) {
		ret->ring_bytes = spsc_capacity(&log_ring);
		ret->ring_high_water = spsc_high_water(&log_ring);
	}
	ret->ring_dropped = log_dropped();
	ret->cut = atomic_load_explicit(&log_cut, memory_order_relaxed);
	ret->keys_evicted =
		atomic_load_explicit(&log_evicted, memory_order_relaxed);
	ret->suppressed =
		atomic_load_explicit(&log_suppressed, memory_order_relaxed);
	ret->sink_errors =
		atomic_load_explicit(&log_sink_errors, memory_order_relaxed);
}
