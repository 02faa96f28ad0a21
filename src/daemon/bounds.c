/* SPDX-License-Identifier: MIT */
/*
 * The table of ttwsd's bounds (daemon/bounds.h): what each bound is, and
 * its counters. The sizes of bounds fixed at build time are written here
 * from the constants that set them; those chosen at run time (ring and
 * loop sizes) come with bounds_publish().
 */
#include "daemon/bounds.h"

#include <stdatomic.h>
#include <string.h>

#include "core/ashac.h"
#include "core/hcihost.h"
#include "core/l2le.h"
#include "daemon/ashapw.h"
#include "daemon/control.h"
#include "daemon/log.h"
#include "os/loop.h"

struct bounds_desc {
	const char *name;
	const char *where;
	const char *unit;
	enum bounds_policy policy;
	uint64_t bound; /* 0: published at run time, or not known here */
	bool fill;      /* a ring whose high-water mark is published */
};

/*
 * hcihost's command and signaling queues are private to it
 * (core/hcihost_private.h: HH_CMD_QUEUE, HH_SIG_QUEUE); their sizes are
 * repeated here until hcihost.h exports them.
 */
#define BOUNDS_HCI_CMDS 16u
#define BOUNDS_HCI_SIGS 4u
/* ttws.sink's trigger ring (src/pw/sink_private.h, SINK_TRIG_SLOTS) and
 * its largest quantum (src/pw/sink.c, SINK_DEFAULT_MAX_QUANTUM: ttwsd
 * keeps the default). */
#define BOUNDS_PW_TRIGS 64u
#define BOUNDS_PW_QUANTUM 8192u

static const struct bounds_desc bounds_desc[BOUNDS_N] = {
	[BOUNDS_PCM_RING] = {"pcm_ring", "src/pw/sink_stream.c", "bytes",
			     BOUNDS_DROP_NEWEST, 0, true},
	[BOUNDS_PCM_QUANTUM] = {"pcm_quantum", "src/pw/sink_stream.c",
				"samples", BOUNDS_DROP_NEWEST,
				BOUNDS_PW_QUANTUM},
	[BOUNDS_PW_TRIGGERS] = {"pw_triggers", "src/pw/sink.c", "triggers",
				BOUNDS_DROP_NEWEST, BOUNDS_PW_TRIGS},
	[BOUNDS_LOG_RING] = {"log_ring", "src/daemon/log.c", "bytes",
			     BOUNDS_DROP_NEWEST, 0},
	[BOUNDS_LOG_TEXT] = {"log_text", "src/daemon/log.c", "bytes",
			     BOUNDS_CUT, LOG_RT_LINE_MAX},
	[BOUNDS_LOG_KEYS] = {"log_keys", "src/daemon/log.c", "keys",
			     BOUNDS_DROP_OLDEST, LOG_RATELIMIT_SLOTS},
	[BOUNDS_LOG_BURST] = {"log_burst", "src/daemon/log.c", "records",
			      BOUNDS_DROP_NEWEST, LOG_RATELIMIT_BURST},
	[BOUNDS_LOG_SINK] = {"log_sink", "src/daemon/log_journal.c",
			     "records", BOUNDS_DROP_NEWEST, 0},
	[BOUNDS_FRAME_LOG] = {"frame_log", "src/daemon/daemon_capture.c",
			      "bytes", BOUNDS_DROP_NEWEST, 0, true},
	[BOUNDS_CAPTURE] = {"capture", "src/daemon/daemon_capture.c", "bytes",
			    BOUNDS_DROP_NEWEST, 0, true},
	[BOUNDS_LINK_TX] = {"link_tx", "src/daemon/chan.c", "messages",
			    BOUNDS_REFUSE, 0},
	[BOUNDS_LOOP_TX] = {"loop_tx", "src/os/loop_sock.c", "sends",
			    BOUNDS_REFUSE, 0},
	[BOUNDS_TX_STAMP_KEYS] = {"tx_stamp_keys", "src/os/loop_deliver.c",
				  "sends", BOUNDS_DROP_OLDEST,
				  LOOP_TXKEY_RING},
	[BOUNDS_LOOP_RX_BUFFERS] = {"loop_rx_buffers", "src/os/loop_uring_rx.c",
				    "buffers", BOUNDS_WAIT, 0},
	[BOUNDS_LOOP_RX_MSG] = {"loop_rx_msg", "src/os/loop.c", "bytes",
				BOUNDS_CUT, 0},
	[BOUNDS_LOOP_CQ] = {"loop_cq", "src/os/loop_uring_setup.c",
			    "completions", BOUNDS_WAIT, 0},
	[BOUNDS_TTY_RX] = {"tty_rx", "src/daemon/dongle.c", "bytes",
			   BOUNDS_DROP_NEWEST, 0},
	[BOUNDS_HCI_TX_QUEUE] = {"hci_tx_queue", "src/core/hcihost.c", "sdus",
				 BOUNDS_REFUSE, HCIHOST_TX_QUEUE},
	[BOUNDS_HCI_CMD_QUEUE] = {"hci_cmd_queue", "src/core/hcihost_cmd.c",
				  "commands", BOUNDS_REFUSE, BOUNDS_HCI_CMDS},
	[BOUNDS_HCI_SIG_QUEUE] = {"hci_sig_queue", "src/core/hcihost_l2.c",
				  "pdus", BOUNDS_DROP_NEWEST, BOUNDS_HCI_SIGS},
	[BOUNDS_HCI_ATT_QUEUE] = {"hci_att_queue", "src/core/hcihost_att.c",
				  "pdus", BOUNDS_REFUSE, HCIHOST_ATT_QUEUE},
	[BOUNDS_ASHA_CONTROL] = {"asha_control", "src/core/ashac_ctl.c",
				 "writes", BOUNDS_REFUSE, ASHAC_QUEUE},
	[BOUNDS_ASHA_FRAMES] = {"asha_frames", "src/daemon/ashapw.c",
				"frames", BOUNDS_DROP_OLDEST, ASHAPW_QUEUE},
	[BOUNDS_ACL_REASM] = {"acl_reasm", "src/core/acl.c", "bytes",
			      BOUNDS_DROP_NEWEST,
			      L2LE_HDR_SIZE + L2LE_SDU_LEN_SIZE +
				      HCIHOST_MAX_SDU},
	[BOUNDS_L2CAP_SDU] = {"l2cap_sdu", "src/core/l2le.c", "bytes",
			      BOUNDS_DROP_NEWEST, HCIHOST_MAX_SDU},
	[BOUNDS_CONTROL_CLIENTS] = {"control_clients",
				    "src/daemon/control_conn.c", "clients",
				    BOUNDS_REFUSE,
				    CONTROL_MAX_CLIENTS},
	[BOUNDS_CONTROL_QUEUE] = {"control_queue",
				  "src/daemon/control_conn.c", "messages",
				  BOUNDS_DISCONNECT,
				  BOUNDS_CONTROL_QUEUE_MAX},
	[BOUNDS_CONTROL_REPLY] = {"control_reply",
				  "src/daemon/daemon_report.c", "bytes",
				  BOUNDS_REFUSE, BOUNDS_REPLY_MAX},
	[BOUNDS_RELOAD] = {"reload", "src/daemon/reconf.c", "offers",
			   BOUNDS_REFUSE, 1},
	[BOUNDS_REPORT_TEXT] = {"report_text", "src/daemon/status.c", "bytes",
				BOUNDS_CUT, 0},
};

/* Each on its own cache line: counters hit from different threads do
 * not share one. */
struct bounds_slot {
	_Alignas(64) _Atomic uint64_t counted;
	_Atomic uint64_t published;
	_Atomic uint64_t bound;
	_Atomic uint64_t high_water;
	/* The publisher's own (one thread): its last total, and what it
	 * had counted before its counters were last zeroed. */
	uint64_t last, base;
};

static struct bounds_slot bounds_slots[BOUNDS_N];

void bounds_count(enum bounds_id id, uint64_t n)
{
	if ((unsigned)id >= BOUNDS_N) {
		return;
	}
	atomic_fetch_add_explicit(&bounds_slots[id].counted, n,
				  memory_order_relaxed);
}

void bounds_publish(enum bounds_id id, uint64_t overflows, uint64_t bound,
		    uint64_t high_water)
{
	struct bounds_slot *s;

	if ((unsigned)id >= BOUNDS_N) {
		return;
	}
	s = &bounds_slots[id];
	/* A total that went down was zeroed (ResetStats zeroes the loop's
	 * and the dongles' counters): keep what it had, so that a row
	 * counts since start. */
	if (overflows < s->last) {
		s->base += s->last;
	}
	s->last = overflows;
	atomic_store_explicit(&s->published, s->base + overflows,
			      memory_order_relaxed);
	if (bound) {
		atomic_store_explicit(&s->bound, bound, memory_order_relaxed);
	}
	if (high_water) {
		atomic_store_explicit(&s->high_water, high_water,
				      memory_order_relaxed);
	}
}

/* The logger keeps its own counters (it is also linked without this
 * table, e.g. by test-log): read them into the log rows. */
static void bounds_take_log(struct bounds_table *t)
{
	struct log_bounds lb;

	log_get_bounds(&lb);
	t->row[BOUNDS_LOG_RING].bound = lb.ring_bytes;
	t->row[BOUNDS_LOG_RING].overflows += lb.ring_dropped;
	t->row[BOUNDS_LOG_RING].high_water = lb.ring_high_water;
	t->row[BOUNDS_LOG_RING].has_high_water = lb.ring_bytes > 0;
	t->row[BOUNDS_LOG_TEXT].overflows += lb.cut;
	t->row[BOUNDS_LOG_KEYS].overflows += lb.keys_evicted;
	t->row[BOUNDS_LOG_BURST].overflows += lb.suppressed;
	t->row[BOUNDS_LOG_SINK].overflows += lb.sink_errors;
}

void bounds_take(struct bounds_table *ret)
{
	unsigned i;

	memset(ret, 0, sizeof(*ret));
	for (i = 0; i < BOUNDS_N; i++) {
		const struct bounds_desc *d = &bounds_desc[i];
		const struct bounds_slot *s = &bounds_slots[i];
		struct bounds_row *r = &ret->row[i];
		uint64_t b = atomic_load_explicit(&s->bound,
						  memory_order_relaxed);

		r->name = d->name;
		r->where = d->where;
		r->unit = d->unit;
		r->policy = d->policy;
		r->bound = b ? b : d->bound;
		r->overflows = atomic_load_explicit(&s->counted,
						    memory_order_relaxed) +
			       atomic_load_explicit(&s->published,
						    memory_order_relaxed);
		r->high_water = atomic_load_explicit(&s->high_water,
						     memory_order_relaxed);
		r->has_high_water = d->fill;
	}
	bounds_take_log(ret);
}

const char *bounds_policy_name(enum bounds_policy p)
{
	switch (p) {
	case BOUNDS_DROP_NEWEST:
		return "drop-newest";
	case BOUNDS_DROP_OLDEST:
		return "drop-oldest";
	case BOUNDS_REFUSE:
		return "refuse";
	case BOUNDS_CUT:
		return "cut";
	case BOUNDS_WAIT:
		return "wait";
	case BOUNDS_DISCONNECT:
		return "disconnect";
	}
	return "?";
}

void bounds_reset(void)
{
	unsigned i;

	for (i = 0; i < BOUNDS_N; i++) {
		atomic_store_explicit(&bounds_slots[i].counted, 0,
				      memory_order_relaxed);
		atomic_store_explicit(&bounds_slots[i].published, 0,
				      memory_order_relaxed);
		atomic_store_explicit(&bounds_slots[i].bound, 0,
				      memory_order_relaxed);
		atomic_store_explicit(&bounds_slots[i].high_water, 0,
				      memory_order_relaxed);
		bounds_slots[i].last = 0;
		bounds_slots[i].base = 0;
	}
}
