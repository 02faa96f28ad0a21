/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_RATELIMIT_H
#define TTWS_CORE_RATELIMIT_H

/*
 * A per-key burst limiter, as the daemon's logger uses it: of the records
 * of one key, the first `burst` in a window of window_ns are let through
 * and the rest are counted; when the window is over (or the key leaves
 * the table) one report says how many were held back.
 *
 * A key is (kind, scope, hash), all chosen by the caller: for the logger
 * an event kind, an ear, and for untyped records the text's
 * ratelimit_hash_text(). A window opens with the key's first record
 * (ratelimit_admit()) and lasts window_ns; the first record at or after
 * its end, or ratelimit_sweep() at or after its end, closes it. The table
 * has a fixed number of slots, one key each; a new key takes a free slot,
 * else the slot whose window started first (its report goes out first).
 *
 * Time is an argument, ns of one monotonic clock the caller picks (the
 * logger: CLOCK_MONOTONIC); nothing here reads a clock, allocates or
 * keeps globals. A time before the window's start (a record stamped a
 * little earlier than the one that opened the window) counts as inside.
 *
 * Reports go to the callback given to ratelimit_init(), synchronously,
 * from inside ratelimit_admit() (before it returns, so before the caller
 * emits the record it was asked about), ratelimit_sweep() and
 * ratelimit_flush(). The callback must not call back into the same
 * struct ratelimit. Not thread-safe: one limiter, one thread.
 */

#include <stdint.h>

/* Bytes of a key's first text kept for its report, with the NUL. */
#define RATELIMIT_SAMPLE_MAX 64u

struct ratelimit_key {
	uint32_t kind; /* caller's category (the logger: enum log_event) */
	int32_t scope; /* caller's sub-key (the logger: ear or -1) */
	uint64_t hash; /* caller's discriminator, e.g. of a text; or 0 */
};

enum ratelimit_reason {
	RATELIMIT_WINDOW_OVER = 0, /* the key's window ended */
	RATELIMIT_EVICTED = 1,	   /* a new key needed the key's slot */
	RATELIMIT_FLUSHED = 2,	   /* ratelimit_flush() */
};

/*
 * What a report says; only made when at least one record was held back.
 * Valid during the callback only (sample points into the table).
 */
struct ratelimit_report {
	struct ratelimit_key key;
	enum ratelimit_reason reason;
	uint32_t suppressed; /* records not let through in the window, >= 1 */
	int level;	     /* the lowest (syslog: most severe) level among
			      * them */
	uint64_t start_ns;   /* when the window opened */
	const char *sample;  /* the key's first text, cut to
			      * RATELIMIT_SAMPLE_MAX - 1 bytes; "" if none */
};

typedef void (*ratelimit_report_fn)(const struct ratelimit_report *r,
				    void *user_data);

/* One key's state. Private to ratelimit.c; the caller provides the array. */
struct ratelimit_slot {
	struct ratelimit_key key;
	uint64_t start_ns;
	uint32_t count;	     /* records of the key in the window */
	uint32_t suppressed; /* of which held back */
	int level;
	uint8_t used;
	char sample[RATELIMIT_SAMPLE_MAX];
};

/* Private to ratelimit.c; the caller provides the storage. */
struct ratelimit {
	struct ratelimit_slot *slots; /* borrowed, n_slots of them */
	unsigned n_slots;
	uint32_t burst;
	uint64_t window_ns;
	ratelimit_report_fn report;
	void *user_data;
};

/*
 * Set rl up over the caller's slots (n_slots of them, borrowed for rl's
 * life, cleared here): let burst records per key through in each window
 * of window_ns, report to (report, user_data). Returns 0, or -EINVAL
 * (slots or report NULL, n_slots, burst or window_ns 0).
 */
int ratelimit_init(struct ratelimit *rl, struct ratelimit_slot *slots,
		   unsigned n_slots, uint32_t burst, uint64_t window_ns,
		   ratelimit_report_fn report, void *user_data);

enum ratelimit_verdict {
	RATELIMIT_PASS = 0,	/* let the record through */
	RATELIMIT_SUPPRESS = 1, /* hold it back; it is counted */
};

/*
 * A record of key at now_ns, of level (syslog: lower is more severe),
 * text sample (copied when the key takes a slot; NULL: none). May first
 * report the key's window that just ended, or the key it evicts. Returns
 * whether the record goes out.
 */
enum ratelimit_verdict ratelimit_admit(struct ratelimit *rl,
				       const struct ratelimit_key *key,
				       int level, const char *sample,
				       uint64_t now_ns);

/*
 * Close the windows over at now_ns: report those with held-back records
 * and free their slots. For a periodic caller (the logger: each drain).
 */
void ratelimit_sweep(struct ratelimit *rl, uint64_t now_ns);

/* Report every key with held-back records and free every slot (exit). */
void ratelimit_flush(struct ratelimit *rl);

/* Forget every key without a report. */
void ratelimit_reset(struct ratelimit *rl);

/*
 * 64-bit FNV-1a of the NUL-terminated s: the hash of a key made of a
 * text (http://www.isthe.com/chongo/tech/comp/fnv/, public domain).
 */
uint64_t ratelimit_hash_text(const char *s);

#endif
