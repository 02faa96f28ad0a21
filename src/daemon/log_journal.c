/* SPDX-License-Identifier: MIT */
/*
 * The journal side of daemon/log (main thread only): the event kinds'
 * names and MESSAGE_IDs and the integer fields' names, a record turned
 * into its "NAME=value" list, and the sinks, journald through
 * sd_journal_sendv() when stderr is the journal, else one line on stderr.
 * log.c decides what is emitted (levels, RT ring, rate limit); see
 * log_private.h.
 */
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

#include "core/macro.h"
#include "core/proto.h"
#include "core/servo.h"
#include "daemon/log_private.h"

/* The fixed fields (9 at most, log_send()) and the integers, with room. */
#define LOG_FIELDS_MAX (12 + LOG_KV_MAX)
#define LOG_FIELDS_BUF (LOG_MAIN_LINE_MAX + 1024)

/*
 * Per kind: TTWS_EVENT's value and the MESSAGE_ID. The ids were generated
 * once (/proc/sys/kernel/random/uuid, systemd-id128 new) and never
 * change: journalctl MESSAGE_ID=... and ttwsd(8) rely on them.
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
	[LOG_EV_PIPEWIRE_GONE] = "pipewire-gone",
	[LOG_EV_PIPEWIRE_BACK] = "pipewire-back",
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
	[LOG_EV_PIPEWIRE_GONE] = "16fa8a63de2549ba902385c4ea241a41",
	[LOG_EV_PIPEWIRE_BACK] = "7fe16b6c0bdc4c5baf1f03f338fe1cf6",
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

bool log_to_journal;
/* log_set_sink()'s; NULL: log_sink_default(). */
static log_sink_fn log_sink;
static void *log_sink_data;

/* systemd sets $JOURNAL_STREAM to "dev:ino" of the stream it connected
 * to our stderr; only then is journald the right sink (sd-journal(3)). */
bool log_stderr_is_journal(void)
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

void log_set_sink(log_sink_fn fn, void *user_data)
{
	log_sink = fn;
	log_sink_data = user_data;
}

const char *log_event_name(enum log_event ev)
{
	return (unsigned)ev < LOG_EV_MAX ? log_event_names[ev] : NULL;
}

const char *log_event_message_id(enum log_event ev)
{
	return (unsigned)ev < LOG_EV_MAX ? log_event_ids[ev] : NULL;
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
		atomic_fetch_add_explicit(&log_cut, 1, memory_order_relaxed);
		return;
	}
	va_start(ap, fmt);
	r = vsnprintf(f->buf + f->used, room, fmt, ap);
	va_end(ap);
	if (r < 0) {
		return;
	}
	if ((size_t)r >= room) {
		atomic_fetch_add_explicit(&log_cut, 1, memory_order_relaxed);
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

/* A record the default sink could not write is lost: counted for the
 * "log_sink" bound (log.h, struct log_bounds). */
static void log_sink_error(void)
{
	atomic_fetch_add_explicit(&log_sink_errors, 1, memory_order_relaxed);
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
	int r;

	if (log_to_journal) {
		for (i = 0; i < n && i < ARRAY_SIZE(iov); i++) {
			iov[i].iov_base = (void *)fields[i];
			iov[i].iov_len = strlen(fields[i]);
		}
		if (sd_journal_sendv(iov, (int)i) < 0) {
			log_sink_error();
		}
		return;
	}
	if (mono) {
		us = strtoull(mono, NULL, 10);
		r = fprintf(stderr, "ttwsd[%s] [%llu.%06llu]: %s\n",
			    thread ? thread : "rt", us / 1000000,
			    us % 1000000, text ? text : "");
	} else {
		r = fprintf(stderr, "ttwsd[%s]: %s\n",
			    thread ? thread : "main", text ? text : "");
	}
	if (r < 0) {
		log_sink_error();
	}
}

void log_send(const struct log_entry *e)
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
	if (e->pair && e->pair[0]) {
		log_fields_add(&f, "TTWS_PAIR=%s", e->pair);
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
