/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_BOUNDS_H
#define TTWS_DAEMON_BOUNDS_H

/*
 * Every queue and buffer in ttwsd has a bound; this is the one table of
 * them, so that what happens at each bound is counted in one place and
 * shown in the status ("bounds" in GetStats, `ttwsctl status`) and the
 * metrics (ttws_queue_*). A row is a bound: its name, the file that
 * enforces it, its unit and size, its policy when full, and how often it
 * was hit since ttwsd started (not zeroed by ResetStats: an overflow is a
 * health event, not a statistic of the current run).
 *
 * Counters reach a row two ways:
 *  - bounds_count(): the code that hits the bound says so, from any
 *    thread (one relaxed atomic add: wait-free, no allocation, no
 *    syscall, so the RT thread may call it);
 *  - bounds_publish(): the owner of counters kept elsewhere (a ring's own
 *    spsc_refused(), the loop's counters, ttws.sink's overruns) states
 *    their running totals; the RT thread does it for its part every
 *    100 ms (engine_publish()).
 * A row's overflows are the sum of both. The log's own bounds are read
 * from the logger at bounds_take() (log_get_bounds()).
 *
 * One table per process: ttwsd runs one engine. Rows that nothing feeds
 * (a transport not in use) stay at 0.
 */

#include <stdbool.h>
#include <stdint.h>

/* Largest GetStats / GetMetrics text a client gets, bytes: past it the
 * call fails (-EMSGSIZE, counted as BOUNDS_CONTROL_REPLY) rather than
 * the daemon building an unbounded reply. 8 pairs with every histogram
 * take ~0.3 MiB. */
#define BOUNDS_REPLY_MAX (4u << 20)

/* Messages sd-bus may hold for one control client before ttwsd drops
 * that client (a client that calls without reading its replies). */
#define BOUNDS_CONTROL_QUEUE_MAX 64u

enum bounds_id {
	/* PipeWire hand-over (src/pw, daemon_pw.c). */
	BOUNDS_PCM_RING = 0, /* ttws.sink -> RT PCM ring, per pair */
	BOUNDS_PCM_QUANTUM,  /* one quantum above the framer's max_quantum */
	BOUNDS_PW_TRIGGERS,  /* RT -> PipeWire data thread trigger ring */
	/* Logging (log.c, log_journal.c). */
	BOUNDS_LOG_RING,     /* RT -> main log records */
	BOUNDS_LOG_TEXT,     /* a record's text and journal fields */
	BOUNDS_LOG_KEYS,     /* rate-limit table: keys in a window */
	BOUNDS_LOG_BURST,    /* records per key and window */
	BOUNDS_LOG_SINK,     /* journald / stderr refused a record */
	/* Files the RT thread feeds (daemon_capture.c). */
	BOUNDS_FRAME_LOG,    /* --frame-log ring */
	BOUNDS_CAPTURE,      /* btsnoop capture ring (hci-uart) */
	/* Sending to an earbud. */
	BOUNDS_LINK_TX,      /* chan_send() found no room (any transport) */
	BOUNDS_LOOP_TX,      /* the loop's tx slots, shared */
	BOUNDS_TX_STAMP_KEYS, /* sends remembered for TX timestamps */
	/* Receiving. */
	BOUNDS_LOOP_RX_BUFFERS, /* io_uring provided buffers per socket */
	BOUNDS_LOOP_RX_MSG,  /* bytes of one datagram or read */
	BOUNDS_LOOP_CQ,      /* io_uring completion queue */
	BOUNDS_TTY_RX,       /* the kernel's tty buffer (hci-uart) */
	/* Our own HCI host (core/hcihost, acl, l2le; hci-uart). */
	BOUNDS_HCI_TX_QUEUE, /* SDUs queued per channel */
	BOUNDS_HCI_CMD_QUEUE, /* HCI commands waiting for the controller */
	BOUNDS_HCI_SIG_QUEUE, /* L2CAP signaling PDUs waiting for credits */
	BOUNDS_ACL_REASM,    /* one reassembled L2CAP PDU */
	BOUNDS_L2CAP_SDU,    /* one reassembled SDU (our MTU) */
	BOUNDS_HCI_ATT_QUEUE, /* ATT PDUs waiting per channel (ASHA) */
	/* ASHA pairs (daemon/ashaear.c, ashapw.c). */
	BOUNDS_ASHA_CONTROL, /* AudioControlPoint writes waiting per aid */
	BOUNDS_ASHA_FRAMES,  /* 20 ms frames waiting for the slots */
	/* The main thread. */
	BOUNDS_CONTROL_CLIENTS, /* clients on the private socket */
	BOUNDS_CONTROL_QUEUE, /* messages sd-bus holds for one client */
	BOUNDS_CONTROL_REPLY, /* one GetStats / GetMetrics text */
	BOUNDS_RELOAD,       /* configuration offers pending */
	BOUNDS_REPORT_TEXT,  /* fixed-size report texts (rt, STATUS=) */
	BOUNDS_N,
};

/* What happens to what does not fit. */
enum bounds_policy {
	BOUNDS_DROP_NEWEST = 0, /* the new item is dropped, the queue intact */
	BOUNDS_DROP_OLDEST,     /* the oldest item makes room */
	BOUNDS_REFUSE,          /* the caller gets an error, nothing queued */
	BOUNDS_CUT,             /* kept up to the bound, the rest dropped */
	BOUNDS_WAIT,            /* the excess waits in the kernel, none lost */
	BOUNDS_DISCONNECT,      /* the client is dropped */
};

/* One bound, as bounds_take() reports it. Strings are static. */
struct bounds_row {
	const char *name;   /* "log_ring": the status key, the metric label */
	const char *where;  /* the file that enforces it */
	const char *unit;   /* of bound and high_water: "bytes", "sdus", ... */
	enum bounds_policy policy;
	uint64_t bound;     /* 0: set elsewhere at run time, not known here */
	uint64_t overflows; /* times the bound was hit since start */
	uint64_t high_water; /* most in use at once, in unit */
	bool has_high_water;
};

struct bounds_table {
	struct bounds_row row[BOUNDS_N];
};

/*
 * Count n overflows of id. Any thread, wait-free (a relaxed atomic add);
 * the RT thread may call it. An id out of range is ignored.
 */
void bounds_count(enum bounds_id id, uint64_t n);

/*
 * The running totals of counters kept elsewhere for id: overflows so far
 * (replaces what was published before; added to bounds_count()'s), and,
 * when not 0, the bound and the high-water mark now. A total lower than
 * the last one means its counters were zeroed (ResetStats): the row
 * keeps what they had counted. One publisher per id (ttwsd: the RT
 * thread in engine_publish()). Wait-free.
 */
void bounds_publish(enum bounds_id id, uint64_t overflows, uint64_t bound,
		    uint64_t high_water);

/* Every row, in enum order. Any thread; never blocks a counter. */
void bounds_take(struct bounds_table *ret);

/* "drop-newest", "drop-oldest", "refuse", "cut", "wait", "disconnect". */
const char *bounds_policy_name(enum bounds_policy p);

/* Tests: zero every counter and published value. */
void bounds_reset(void);

#endif
