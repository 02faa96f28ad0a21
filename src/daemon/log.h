/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_LOG_H
#define TTWS_DAEMON_LOG_H

/*
 * Logging. The main thread writes to journald (when stderr is connected to
 * it, $JOURNAL_STREAM) or to stderr. The RT thread never does: log_rt()
 * formats into a stack buffer and pushes the record into a wait-free ring
 * (core/spsc) that the main thread drains with log_drain(); a full ring
 * drops the record and counts it.
 *
 * Structured records (log_rt_event(), log_main_event()) carry an event
 * kind, an ear and a few integers; the main thread turns them into journal
 * fields (systemd.journal-fields(7) for the standard ones):
 *
 *   MESSAGE, PRIORITY      the text; syslog level 0..7
 *   TTWS_THREAD            "main" or "rt": which thread wrote the record
 *   MESSAGE_ID             32 lowercase hex digits, fixed per event kind
 *                          (log_event_message_id(); ttwsd(8), LOGGING)
 *   TTWS_EVENT             the kind's name (log_event_name())
 *   TTWS_EAR               "left" or "right"; absent for LOG_EAR_NONE
 *   TTWS_PAIR              the pair's name ([pair.NAME]) of a record
 *                          about one pair's link, only when ttwsd runs
 *                          more than one pair (log_rt_pair_event()); the
 *                          text then starts "NAME/" ("kitchen/left ear:
 *                          ...")
 *   TTWS_LINK_STATE        link events: the state the link entered
 *                          ("connecting", "hello", "syncing", "streaming",
 *                          "idle")
 *   TTWS_RT_MONOTONIC_USEC RT records: the instant the RT thread wrote the
 *                          record, CLOCK_MONOTONIC in us
 *   TTWS_RT_REALTIME_USEC  the same instant in CLOCK_REALTIME us, converted
 *                          with one (realtime, monotonic) pair read at drain
 *   TTWS_SUPPRESSED        rate-limit summaries: how many records of the
 *                          TTWS_EVENT (and TTWS_EAR) or, untyped, of the
 *                          same text were not emitted in the window
 *   plus one field per struct log_kv (enum log_key lists them).
 *
 * Rate limit: more than LOG_RATELIMIT_BURST records of one event kind and
 * ear (untyped: of one text) within LOG_RATELIMIT_WINDOW_NS are not
 * emitted; when the window is over, one record "suppressed K similar
 * messages (...)" with MESSAGE_ID of LOG_EV_LOG_SUPPRESSED says how many.
 * It is applied on the main thread when records are emitted, never on the
 * RT thread, and keeps a fixed table of LOG_RATELIMIT_SLOTS keys.
 */

#include <stdarg.h>
#include <stdint.h>
#include <syslog.h>
#include <time.h>

#define LOG_RATELIMIT_BURST 10u
#define LOG_RATELIMIT_WINDOW_NS (5 * UINT64_C(1000000000))
#define LOG_RATELIMIT_SLOTS 32u

/* Integers a structured record carries at most (more are ignored). */
#define LOG_KV_MAX 6u

/* Text of one RT record at most (bytes, without the NUL); longer is cut. */
#define LOG_RT_LINE_MAX 240u

/* For the ear argument: a record about no ear (a dongle, the daemon). */
#define LOG_EAR_NONE (-1)

/*
 * Event kinds. Each has a fixed MESSAGE_ID; the names are TTWS_EVENT's
 * values. The numbers never leave the process, but the ids and names are
 * an interface: a new kind gets a new id (systemd-id128 new) in
 * log_journal.c and a line in ttwsd(8), LOGGING; an id is never changed or
 * reused.
 */
enum log_event {
	LOG_EV_NONE = 0, /* untyped: no MESSAGE_ID, no TTWS_EVENT */
	/* Link state changes (src/daemon/link.c). */
	LOG_EV_LINK_CONNECT,	/* "link-connect": idle -> connecting */
	LOG_EV_LINK_CONNECTED,	/* "link-connected": channel open, HELLO sent */
	LOG_EV_LINK_HELLO,	/* "link-hello": HELLO_ACK, -> syncing */
	LOG_EV_LINK_SYNCING,	/* "link-syncing": streaming -> syncing */
	LOG_EV_LINK_STREAMING,	/* "link-streaming": servo locked, streaming */
	LOG_EV_LINK_DISCONNECT, /* "link-disconnect": a connected link
				 * dropped */
	LOG_EV_LINK_BACKOFF,	/* "link-backoff": an attempt failed, retry
				 * after TTWS_BACKOFF_MS */
	/* Servo (per ear). */
	LOG_EV_SERVO_LOCK,     /* "servo-lock" */
	LOG_EV_SERVO_UNLOCK,   /* "servo-unlock" */
	LOG_EV_SERVO_STEP,     /* "servo-step": resynchronised */
	LOG_EV_SERVO_HOLDOVER, /* "servo-holdover": samples stopped */
	/* A message from an earbud that did not decode (TTWS_MALFORMED). */
	LOG_EV_MALFORMED, /* "malformed" */
	/* hci-uart dongle (src/daemon/dongle.c). */
	LOG_EV_DONGLE_OPEN,	   /* "dongle-open": controller ready */
	LOG_EV_DONGLE_LOST,	   /* "dongle-lost" */
	LOG_EV_DONGLE_REOPEN,	   /* "dongle-reopen": ready again after a
				    * loss or a failed open */
	LOG_EV_DONGLE_OPEN_FAILED, /* "dongle-open-failed": retry later */
	LOG_EV_DONGLE_LINE_ERRORS, /* "dongle-line-errors": UART errors */
	/* Kernel L2CAP socket: what the kernel granted, read back. */
	LOG_EV_L2CAP_OPTIONS, /* "l2cap-options" */
	/* Daemon (src/daemon/daemon.c). */
	LOG_EV_CONFIG_RELOAD,  /* "config-reload": new file valid */
	LOG_EV_CONFIG_REFUSED, /* "config-refused": kept the running one */
	LOG_EV_RT_PLACEMENT,   /* "rt-placement": a placement item's status */
	/* ttws.sink and its PipeWire (src/daemon/daemon_pw.c). */
	LOG_EV_PIPEWIRE_GONE, /* "pipewire-gone": PipeWire went away, or was
			       * not there at start; ERRNO: why */
	LOG_EV_PIPEWIRE_BACK, /* "pipewire-back": ttws.sink registered
			       * (again) */
	/* The logger itself. */
	LOG_EV_LOG_DROPPED,    /* "log-dropped": RT ring was full */
	LOG_EV_LOG_SUPPRESSED, /* "log-suppressed": rate-limit summary */
	LOG_EV_MAX,
};

/*
 * Integer fields. Each becomes one journal field, in decimal unless said.
 */
enum log_key {
	LOG_K_OFFSET_NS,	/* TTWS_OFFSET_NS: servo ear - host, ns */
	LOG_K_RATE_PPB,		/* TTWS_RATE_PPB: servo rate, ppb */
	LOG_K_RESIDUAL_NS,	/* TTWS_RESIDUAL_NS: servo last residual, ns */
	LOG_K_SERVO_STATE,	/* TTWS_SERVO_STATE: enum servo_state, as its
				 * name ("locked", ...) */
	LOG_K_SERVO_STEPS,	/* TTWS_SERVO_STEPS: steps so far */
	LOG_K_ERRNO,		/* ERRNO: errno, positive (a -errno value is
				 * made positive); journald's standard field */
	LOG_K_BACKOFF_MS,	/* TTWS_BACKOFF_MS: next retry in, ms */
	LOG_K_CI_US,		/* TTWS_CI_US: connection interval, us */
	LOG_K_PROTO_VERSION,	/* TTWS_PROTO_VERSION: ttws-link version */
	LOG_K_CAPS,		/* TTWS_CAPS: earbud capability bits */
	LOG_K_MTU_RX,		/* TTWS_MTU_RX: bytes */
	LOG_K_MTU_TX,		/* TTWS_MTU_TX: bytes */
	LOG_K_MALFORMED,	/* TTWS_MALFORMED: a proto_decode() error, as
				 * proto_error_name() ("bad-magic", ...) */
	LOG_K_LEN,		/* TTWS_LEN: message length, bytes */
	LOG_K_LINE_FRAME,	/* TTWS_LINE_FRAME: UART framing errors */
	LOG_K_LINE_OVERRUN,	/* TTWS_LINE_OVERRUN: UART overruns */
	LOG_K_LINE_PARITY,	/* TTWS_LINE_PARITY: UART parity errors */
	LOG_K_LINE_BUF_OVERRUN, /* TTWS_LINE_BUF_OVERRUN: tty buffer */
	LOG_K_FAILED,		/* TTWS_FAILED: options the kernel refused */
	LOG_K_DROPPED,		/* TTWS_DROPPED: RT records lost */
	LOG_K_SUPPRESSED,	/* TTWS_SUPPRESSED: see above */
	LOG_K_MAX,
};

struct log_kv {
	enum log_key key;
	int64_t value;
};

/* One field: LOG_KV(LOG_K_CI_US, ci). */
#define LOG_KV(k, v) ((struct log_kv){.key = (k), .value = (int64_t)(v)})
/*
 * The kv and n_kv arguments of log_rt_event()/log_main_event() from a
 * list of LOG_KV()s, on the caller's stack:
 *   log_rt_event(LOG_INFO, LOG_EV_LINK_HELLO, ear,
 *                LOG_KVS(LOG_KV(LOG_K_CI_US, ci)), "...", ...);
 */
#define LOG_KVS(...)                                                           \
	((const struct log_kv[]){__VA_ARGS__}),                                \
	    (unsigned)(sizeof((const struct log_kv[]){__VA_ARGS__}) /          \
		       sizeof(struct log_kv))

struct conf;

/* Set up the ring and pick the sink. Before any thread starts. 0/-errno. */
int log_init(void);

/* Lowest priority printed (LOG_DEBUG .. LOG_ERR); default LOG_INFO. */
void log_set_max_level(int level);

/* Main thread (or before the RT thread exists). */
void log_main(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Main thread: a structured record. ear is an enum conf_ear or
 * LOG_EAR_NONE; kv (n_kv of them, may be NULL when 0) is read during the
 * call only.
 */
void log_main_event(int level, enum log_event ev, int ear,
		    const struct log_kv *kv, unsigned n_kv, const char *fmt,
		    ...) __attribute__((format(printf, 6, 7)));

/* The RT thread only: never blocks, never allocates. */
void log_rt(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * The RT thread only: a structured record, formatted into the stack and
 * copied into the ring as binary (kind, ear, kv) plus the text; stamped
 * with CLOCK_MONOTONIC now. Wait-free: no allocation, lock or syscall
 * beyond the vDSO clock read.
 */
void log_rt_event(int level, enum log_event ev, int ear,
		  const struct log_kv *kv, unsigned n_kv, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/*
 * The RT thread only: log_rt_event() for a record about one pair's link.
 * pair NULL or "" is log_rt_event() exactly (one pair: the lines stay as
 * they were); else the text is "PAIR/" followed by fmt's and the journal
 * record has TTWS_PAIR=PAIR (pair: up to CONF_PAIR_NAME_MAX - 1 bytes,
 * longer is cut), and the rate limit counts each pair's records apart.
 */
void log_rt_pair_event(int level, enum log_event ev, const char *pair,
		       int ear, const struct log_kv *kv, unsigned n_kv,
		       const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

/*
 * The name of the pair a link belongs to, for log_rt_pair_event(): view
 * is the configuration that link reads (its pair's conf_pair_view()),
 * ear its ear. NULL when the configuration has fewer than two pairs (or
 * no pair's link[ear] is view's: links are told apart as conf_check()
 * does, by transport, path and address). Points into view. Any thread;
 * no allocation, no system call.
 */
const char *log_link_pair(const struct conf *view, int ear);

/*
 * Main thread: emit what the RT thread queued, then close rate-limit
 * windows that are over. Returns records emitted from the ring.
 */
unsigned log_drain(void);

/* Main thread, at exit: report every suppression still in a window. */
void log_flush(void);

/* Records the RT thread dropped because the ring was full. */
uint64_t log_dropped(void);

/*
 * The logger's bounds and what hit them since log_init() (or
 * log_reset()), for ttwsd's "bounds" status (daemon/bounds.h). Counters
 * are relaxed atomics: any thread may read them.
 */
struct log_bounds {
	uint64_t ring_bytes;      /* the RT ring's size; 0 before log_init() */
	uint64_t ring_high_water; /* the most bytes it held at once */
	uint64_t ring_dropped;    /* RT records dropped: ring full */
	/* Texts cut at LOG_RT_LINE_MAX (RT) or the main thread's line
	 * (1023 bytes), and journal fields cut or left out of a record's
	 * field buffer. */
	uint64_t cut;
	/* Rate limit: windows that lost their key's slot to a new key
	 * (LOG_RATELIMIT_SLOTS keys; the oldest window's summary goes out
	 * first), and records held back past LOG_RATELIMIT_BURST. */
	uint64_t keys_evicted;
	uint64_t suppressed;
	/* Records the default sink could not write: sd_journal_sendv()
	 * failed, or stderr did. */
	uint64_t sink_errors;
};

void log_get_bounds(struct log_bounds *ret);

/* "link-connect", ...; NULL for LOG_EV_NONE or an unknown value. */
const char *log_event_name(enum log_event ev);

/* The kind's MESSAGE_ID (32 lowercase hex digits); NULL as above. */
const char *log_event_message_id(enum log_event ev);

/*
 * Where records go: fields are n_fields "NAME=value" strings, exactly
 * what journald would get (PRIORITY among them), valid during the call.
 * Called on the main thread only.
 */
typedef void (*log_sink_fn)(int priority, const char *const *fields,
			    unsigned n_fields, void *user_data);

/*
 * Replace the sink (NULL: the default, sd_journal_sendv() when stderr is
 * the journal, else a line on stderr). Before the RT thread starts, or
 * from the main thread.
 */
void log_set_sink(log_sink_fn fn, void *user_data);

/*
 * Tests: read clocks through fn (CLOCK_MONOTONIC, CLOCK_REALTIME; returns
 * ns) instead of clock_gettime(); NULL restores it. Before the RT thread
 * starts only.
 */
void log_set_clock(uint64_t (*fn)(clockid_t clock));

/* Tests: forget rate-limit state and the drop report. Main thread. */
void log_reset(void);

#define log_error(...) log_main(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_main(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_main(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_main(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_main(LOG_DEBUG, __VA_ARGS__)

#endif
