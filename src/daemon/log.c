/* SPDX-License-Identifier: MIT */
#include "daemon/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
/* sd_journal_sendv() would add CODE_FILE/LINE/FUNC of the sink in this
 * file, the same for every record: noise, so leave them out. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "core/conf.h"
#include "core/macro.h"
#include "core/proto.h"
#include "core/ratelimit.h"
#include "core/servo.h"
#include "core/spsc.h"

#define LOG_RING_SIZE (64 * 1024)
#define LOG_MAIN_LINE_MAX 1024
/* The fixed fields (9 at most, log_send()) and the integers, with room. */
#define LOG_FIELDS_MAX (12 + LOG_KV_MAX)
#define LOG_FIELDS_BUF (LOG_MAIN_LINE_MAX + 1024)

/*
 * In the ring: this header, n_kv struct log_kv, then len bytes of text
 * (no NUL), written in one spsc_write() so the consumer sees all or none.
 */
struct log_record {
	uint16_t len;
	uint8_t level;
	uint8_t event; /* enum log_event */
	int8_t ear;    /* enum conf_ear or LOG_EAR_NONE */
	uint8_t n_kv;
	uint8_t pad[2];
	uint64_t ts_ns; /* CLOCK_MONOTONIC when logged */
};

_Static_assert(LOG_EV_MAX <= UINT8_MAX && LOG_KV_MAX <= UINT8_MAX &&
		       LOG_RT_LINE_MAX <= UINT16_MAX,
	       "struct log_record's fields hold these");

/*
 * Per kind: TTWS_EVENT's value and the MESSAGE_ID. The ids were generated
 * once from /proc/sys/kernel/random/uuid and never change: journalctl
 * MESSAGE_ID=... and ttwsd(8) rely on them.
 */
static const char *const log_event_names[LOG_EV_MAX] = {
	[LOG_EV_LINK_CONNECT] = "link-connect",
	[LOG_EV_LINK_CONNECTED] = "link-connected",
	[LOG_EV_LINK_HELLO] = "link-hello",
	[LOG_EV_LINK_SYNCING] = "link-syncing",
	[LOG_EV_LINK_STREAMING] = "link-streaming",
	[LOG_EV_LINK_DISCONNECT] = "link-disconnect",
	[LOG_EV_LINK_BACKOFF] = "link-backoff",
	[LOG_EV_SERVO_LOCK] = "servo-lock",
	[LOG_EV_SERVO_UNLOCK] = "servo-unlock",
	[LOG_EV_SERVO_STEP] = "servo-step",
	[LOG_EV_SERVO_HOLDOVER] = "servo-holdover",
	[LOG_EV_MALFORMED] = "malformed",
	[LOG_EV_DONGLE_OPEN] = "dongle-open",
	[LOG_EV_DONGLE_LOST] = "dongle-lost",
	[LOG_EV_DONGLE_REOPEN] = "dongle-reopen",
	[LOG_EV_DONGLE_OPEN_FAILED] = "dongle-open-failed",
	[LOG_EV_DONGLE_LINE_ERRORS] = "dongle-line-errors",
	[LOG_EV_L2CAP_OPTIONS] = "l2cap-options",
	[LOG_EV_CONFIG_RELOAD] = "config-reload",
	[LOG_EV_CONFIG_REFUSED] = "config-refused",
	[LOG_EV_RT_PLACEMENT] = "rt-placement",
	[LOG_EV_LOG_DROPPED] = "log-dropped",
	[LOG_EV_LOG_SUPPRESSED] = "log-suppressed",
};

static const char *const log_event_ids[LOG_EV_MAX] = {
	[LOG_EV_LINK_CONNECT] = "e7a8d3afe8e845d0aa53733fa096a2df",
	[LOG_EV_LINK_CONNECTED] = "24e4896ecc5c45da8c264bfd85002da9",
	[LOG_EV_LINK_HELLO] = "50c9f34bb83f495dbd22dafacfb203b7",
	[LOG_EV_LINK_SYNCING] = "06e5090f645e4644802f3af2f0024749",
	[LOG_EV_LINK_STREAMING] = "01d5c25cd65249e484244735498544a9",
	[LOG_EV_LINK_DISCONNECT] = "4c50567719d2478982b6e95cec910275",
	[LOG_EV_LINK_BACKOFF] = "fd9dd98b77dc4f4e81d08ff6c5005dfc",
	[LOG_EV_SERVO_LOCK] = "85f25c0bf92b480ba7beff9925cdc6c7",
	[LOG_EV_SERVO_UNLOCK] = "5d7877f545a14c83959f664332ed4f58",
	[LOG_EV_SERVO_STEP] = "68dcc865612f4a848e0cb3005052fab9",
	[LOG_EV_SERVO_HOLDOVER] = "6c0ee760e01746e6b9c6b744850939fc",
	[LOG_EV_MALFORMED] = "50e1ff4fd6d24c4ab32f075069c1975c",
	[LOG_EV_DONGLE_OPEN] = "f6e783e46f21415397f38c3e72f3436e",
	[LOG_EV_DONGLE_LOST] = "9924e16a08584004a364b870ab113b31",
	[LOG_EV_DONGLE_REOPEN] = "0779fef5951a4922a311043d41465d8e",
	[LOG_EV_DONGLE_OPEN_FAILED] = "d2256b9f1a94428ebf42d3ab26cec3ce",
	[LOG_EV_DONGLE_LINE_ERRORS] = "910bc86419934a74a5bf0bdfc8117ed2",
	[LOG_EV_L2CAP_OPTIONS] = "062d5e431d5c49cfbde363016d5ae1d1",
	[LOG_EV_CONFIG_RELOAD] = "4f280fdabba94a558620b737d5fef10c",
	[LOG_EV_CONFIG_REFUSED] = "82381be1706a49f483a84514c6149d4a",
	[LOG_EV_RT_PLACEMENT] = "66a74186412b4a678db14ab375e6bd66",
	[LOG_EV_LOG_DROPPED] = "357910f721a7454c8df9f4d7e2bdf8f4",
	[LOG_EV_LOG_SUPPRESSED] = "0a9dabc566074d598d6805a0b3da125d",
};

/* Link events: the state the link entered (link_state_name()). */
static const char *const log_event_link_states[LOG_EV_MAX] = {
	[LOG_EV_LINK_CONNECT] = "connecting",
	[LOG_EV_LINK_CONNECTED] = "hello",
	[LOG_EV_LINK_HELLO] = "syncing",
	[LOG_EV_LINK_SYNCING] = "syncing",
	[LOG_EV_LINK_STREAMING] = "streaming",
	[LOG_EV_LINK_DISCONNECT] = "idle",
	[LOG_EV_LINK_BACKOFF] = "idle",
};

static const char *const log_key_names[LOG_K_MAX] = {
	[LOG_K_OFFSET_NS] = "TTWS_OFFSET_NS",
	[LOG_K_RATE_PPB] = "TTWS_RATE_PPB",
	[LOG_K_RESIDUAL_NS] = "TTWS_RESIDUAL_NS",
	[LOG_K_SERVO_STATE] = "TTWS_SERVO_STATE",
	[LOG_K_SERVO_STEPS] = "TTWS_SERVO_STEPS",
	[LOG_K_ERRNO] = "ERRNO",
	[LOG_K_BACKOFF_MS] = "TTWS_BACKOFF_MS",
	[LOG_K_CI_US] = "TTWS_CI_US",
	[LOG_K_PROTO_VERSION] = "TTWS_PROTO_VERSION",
	[LOG_K_CAPS] = "TTWS_CAPS",
	[LOG_K_MTU_RX] = "TTWS_MTU_RX",
	[LOG_K_MTU_TX] = "TTWS_MTU_TX",
	[LOG_K_MALFORMED] = "TTWS_MALFORMED",
	[LOG_K_LEN] = "TTWS_LEN",
	[LOG_K_LINE_FRAME] = "TTWS_LINE_FRAME",
	[LOG_K_LINE_OVERRUN] = "TTWS_LINE_OVERRUN",
	[LOG_K_LINE_PARITY] = "TTWS_LINE_PARITY",
	[LOG_K_LINE_BUF_OVERRUN] = "TTWS_LINE_BUF_OVERRUN",
	[LOG_K_FAILED] = "TTWS_FAILED",
	[LOG_K_DROPPED] = "TTWS_DROPPED",
	[LOG_K_SUPPRESSED] = "TTWS_SUPPRESSED",
};

/* A record on its way to the sink (main thread). */
struct log_entry {
	int level;
	enum log_event ev;    /* TTWS_EVENT */
	enum log_event id_ev; /* MESSAGE_ID: ev, or LOG_EV_LOG_SUPPRESSED */
	int ear;
	const struct log_kv *kv;
	unsigned n_kv;
	bool rt;
	uint64_t rt_mono_ns, rt_real_ns; /* when rt */
	const char *text;
};

static struct spsc log_ring;
static uint8_t *log_mem;
static _Atomic uint64_t log_drops;
static _Atomic int log_max_level = LOG_INFO;
static bool log_to_journal;
static log_sink_fn log_sink;
static void *log_sink_data;
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

/* systemd sets $JOURNAL_STREAM to "dev:ino" of the stream it connected
 * to our stderr; only then is journald the right sink (sd-journal(3)). */
static bool log_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2) {
		return false;
	}
	if (fstat(2, &st) < 0) {
		return false;
	}
	return st.st_dev == dev && st.st_ino == ino;
}

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

void log_set_sink(log_sink_fn fn, void *user_data)
{
	log_sink = fn;
	log_sink_data = user_data;
}

void log_set_clock(uint64_t (*fn)(clockid_t clock))
{
	log_clock = fn ? fn : log_clock_default;
}

const char *log_event_name(enum log_event ev)
{
	return (unsigned)ev < LOG_EV_MAX ? log_event_names[ev] : NULL;
}

const char *log_event_message_id(enum log_event ev)
{
	return (unsigned)ev < LOG_EV_MAX ? log_event_ids[ev] : NULL;
}

static const char *log_ear_name(int ear)
{
	if (ear < 0 || ear >= CONF_N_EARS) {
		return NULL;
	}
	return conf_ear_name((enum conf_ear)ear);
}

/* ---- fields and sinks (main thread) --------------------------------- */

struct log_fields {
	const char *v[LOG_FIELDS_MAX];
	unsigned n;
	size_t used;
	char buf[LOG_FIELDS_BUF];
};

/* Append "NAME=value"; what does not fit is cut or left out. */
__attribute__((format(printf, 2, 3))) static void
log_fields_add(struct log_fields *f, const char *fmt, ...)
{
	size_t room = sizeof(f->buf) - f->used;
	va_list ap;
	int r;

	if (f->n >= LOG_FIELDS_MAX || room < 2) {
		return;
	}
	va_start(ap, fmt);
	r = vsnprintf(f->buf + f->used, room, fmt, ap);
	va_end(ap);
	if (r < 0) {
		return;
	}
	f->v[f->n++] = f->buf + f->used;
	f->used += MIN((size_t)r, room - 1) + 1;
}

static void log_fields_kv(struct log_fields *f, const struct log_kv *kv)
{
	const char *name = (unsigned)kv->key < LOG_K_MAX ?
				   log_key_names[kv->key] :
				   NULL;
	const char *s = NULL;

	if (!name) {
		return;
	}
	if (kv->key == LOG_K_SERVO_STATE) {
		s = servo_state_name((enum servo_state)kv->value);
	} else if (kv->key == LOG_K_MALFORMED) {
		s = proto_error_name((int)kv->value);
	} else if (kv->key == LOG_K_ERRNO) {
		log_fields_add(f, "%s=%lld", name,
			       (long long)(kv->value < 0 ? -kv->value :
							   kv->value));
		return;
	}
	if (s) {
		log_fields_add(f, "%s=%s", name, s);
	} else {
		log_fields_add(f, "%s=%lld", name, (long long)kv->value);
	}
}

static const char *log_field(const char *const *fields, unsigned n,
			     const char *name)
{
	size_t len = strlen(name);
	unsigned i;

	for (i = 0; i < n; i++) {
		if (strncmp(fields[i], name, len) == 0 &&
		    fields[i][len] == '=') {
			return fields[i] + len + 1;
		}
	}
	return NULL;
}

/* The default: journald with every field, or one line on stderr whose
 * RT records start with the instant they were written (monotonic s). */
static void log_sink_default(int priority, const char *const *fields,
			     unsigned n, void *user_data)
{
	const char *text = log_field(fields, n, "MESSAGE");
	const char *thread = log_field(fields, n, "TTWS_THREAD");
	const char *mono = log_field(fields, n, "TTWS_RT_MONOTONIC_USEC");
	struct iovec iov[LOG_FIELDS_MAX];
	unsigned long long us;
	unsigned i;

	if (log_to_journal) {
		for (i = 0; i < n && i < ARRAY_SIZE(iov); i++) {
			iov[i].iov_base = (void *)fields[i];
			iov[i].iov_len = strlen(fields[i]);
		}
		sd_journal_sendv(iov, (int)i);
		return;
	}
	if (mono) {
		us = strtoull(mono, NULL, 10);
		fprintf(stderr, "ttwsd[%s] [%llu.%06llu]: %s\n",
			thread ? thread : "rt", us / 1000000, us % 1000000,
			text ? text : "");
		return;
	}
	fprintf(stderr, "ttwsd[%s]: %s\n", thread ? thread : "main",
		text ? text : "");
}

static void log_send(const struct log_entry *e)
{
	struct log_fields f;
	const char *ear = log_ear_name(e->ear);
	unsigned i;

	f.n = 0;
	f.used = 0;
	log_fields_add(&f, "MESSAGE=%s", e->text);
	log_fields_add(&f, "PRIORITY=%d", e->level);
	log_fields_add(&f, "TTWS_THREAD=%s", e->rt ? "rt" : "main");
	if (log_event_message_id(e->id_ev)) {
		log_fields_add(&f, "MESSAGE_ID=%s",
			       log_event_message_id(e->id_ev));
	}
	if (log_event_name(e->ev)) {
		log_fields_add(&f, "TTWS_EVENT=%s", log_event_name(e->ev));
	}
	if (ear) {
		log_fields_add(&f, "TTWS_EAR=%s", ear);
	}
	if (e->id_ev == e->ev && (unsigned)e->ev < LOG_EV_MAX &&
	    log_event_link_states[e->ev]) {
		log_fields_add(&f, "TTWS_LINK_STATE=%s",
			       log_event_link_states[e->ev]);
	}
	if (e->rt) {
		log_fields_add(&f, "TTWS_RT_MONOTONIC_USEC=%llu",
			       (unsigned long long)(e->rt_mono_ns /
						    NSEC_PER_USEC));
		log_fields_add(&f, "TTWS_RT_REALTIME_USEC=%llu",
			       (unsigned long long)(e->rt_real_ns /
						    NSEC_PER_USEC));
	}
	for (i = 0; i < e->n_kv; i++) {
		log_fields_kv(&f, &e->kv[i]);
	}
	if (log_sink) {
		log_sink(e->level, f.v, f.n, log_sink_data);
	} else {
		log_sink_default(e->level, f.v, f.n, NULL);
	}
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
		.hash = e->ev == LOG_EV_NONE ? ratelimit_hash_text(e->text) : 0,
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
	vsnprintf(buf, sizeof(buf), fmt, ap);
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

static void log_rt_v(int level, enum log_event ev, int ear,
		     const struct log_kv *kv, unsigned n_kv, const char *fmt,
		     va_list ap)
{
	_Alignas(8) uint8_t rec[sizeof(struct log_record) +
				LOG_KV_MAX * sizeof(struct log_kv) +
				LOG_RT_LINE_MAX + 1];
	struct log_record h;
	size_t kvb;
	char *text;
	int n;

	if (!log_wanted(level) || !log_mem) {
		return;
	}
	if (!kv || n_kv > LOG_KV_MAX) {
		n_kv = kv ? LOG_KV_MAX : 0;
	}
	kvb = n_kv * sizeof(struct log_kv);
	text = (char *)rec + sizeof(h) + kvb;
	n = vsnprintf(text, LOG_RT_LINE_MAX + 1, fmt, ap);
	if (n < 0) {
		return;
	}
	if ((size_t)n > LOG_RT_LINE_MAX) {
		n = LOG_RT_LINE_MAX;
	}
	memset(&h, 0, sizeof(h));
	h.len = (uint16_t)n;
	h.level = (uint8_t)level;
	h.event = (unsigned)ev < LOG_EV_MAX ? (uint8_t)ev : LOG_EV_NONE;
	h.ear = (int8_t)(log_ear_name(ear) ? ear : LOG_EAR_NONE);
	h.n_kv = (uint8_t)n_kv;
	h.ts_ns = log_clock(CLOCK_MONOTONIC);
	memcpy(rec, &h, sizeof(h));
	if (kvb) {
		memcpy(rec + sizeof(h), kv, kvb);
	}
	if (spsc_write(&log_ring, rec, sizeof(h) + kvb + (size_t)n) < 0) {
		atomic_fetch_add_explicit(&log_drops, 1, memory_order_relaxed);
	}
}

void log_rt(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_rt_v(level, LOG_EV_NONE, LOG_EAR_NONE, NULL, 0, fmt, ap);
	va_end(ap);
}

void log_rt_event(int level, enum log_event ev, int ear,
		  const struct log_kv *kv, unsigned n_kv, const char *fmt,
		  ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_rt_v(level, ev, ear, kv, n_kv, fmt, ap);
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
		struct log_entry e = {
			.level = r.level,
			.ev = (enum log_event)r.event,
			.id_ev = (enum log_event)r.event,
			.ear = r.ear,
			.kv = kv,
			.n_kv = (unsigned)(kvb / sizeof(kv[0])),
			.rt = true,
			.rt_mono_ns = r.ts_ns,
			.rt_real_ns = r.ts_ns + (real - mono),
			.text = text,
		};

		/* The producer writes a record in one piece, so the rest
		 * is there whenever its header is. */
		if (spsc_read_avail(&log_ring) < sizeof(r) + kvb + r.len) {
			break;
		}
		spsc_skip(&log_ring, sizeof(r));
		if (kvb) {
			spsc_read(&log_ring, kv, kvb);
		}
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
	log_drops_reported = 0;
	ratelimit_reset(log_rl_get());
}

uint64_t log_dropped(void)
{
	return atomic_load_explicit(&log_drops, memory_order_relaxed);
}
