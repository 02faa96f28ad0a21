/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_DONGLE_H
#define TTWS_DAEMON_DONGLE_H

/*
 * transport = hci-uart: a serial (or USB-serial) HCI dongle the daemon
 * drives itself. One dongle serves both ears (one LE connection and one
 * L2CAP LE credit-based channel each) through core/hcihost; its tty is
 * read and written through the RT loop (a byte stream, one write per H4
 * packet). When the dongle vanishes, both ears' channels close and the
 * tty is reopened with back-off, without allocating (serial_open_in()).
 *
 * Link security (ttwsd.conf security = medium, the default): the host
 * encrypts each ear's link before its channel opens, with the bond from
 * an earlier pairing or after LE Secure Connections pairing (Just Works),
 * and keeps bonds in the state directory ($STATE_DIRECTORY, else
 * /var/lib/ttws; os/keystore.h), one file per dongle and earbud, written
 * by a thread of the dongle's own (never the RT thread). security = high
 * is refused: an earbud without input or output cannot give the
 * authenticated key it asks for.
 */

#include "core/conf.h"
#include "daemon/chan.h"

struct loop;
struct wheel;
struct spsc;

/* One captured H4 packet in the capture ring, followed by len octets. */
struct dongle_trace_rec {
	uint64_t mono_ns; /* CLOCK_MONOTONIC when it was read or written */
	uint16_t len;
	uint8_t rx;       /* 1: controller to host */
	uint8_t pad[5];
};

struct dongle_stats {
	bool open;            /* tty open and the controller set up */
	uint64_t opens, open_fails, losses;
	uint64_t h4_resyncs, h4_bytes_skipped;
	uint64_t evt_errors, acl_errors, l2cap_errors, cmd_timeouts;
	uint64_t trace_drops;
	/* Line health, TIOCGICOUNT totals since the daemon started (0 and
	 * icount_available false where the driver has none, e.g. a pty). */
	bool icount_available;
	uint64_t line_frame, line_overrun, line_parity, line_brk;
	uint64_t line_buf_overrun;
	/* The controller reported a Hardware Error (then reset and reopened
	 * like a lost dongle). */
	uint64_t hardware_errors;
	/* ATT bearers (profile = asha): PDUs each way, refused by a full
	 * queue, over our ATT_MTU, and before the link was secured (all
	 * dropped); SDUs dropped by ASHA's flush. */
	uint64_t att_tx, att_rx, att_queue_full, att_oversize, att_early;
	uint64_t sdus_flushed;
	/* Security (core/hcihost_stats). */
	uint64_t pairings, pairing_failures, smp_timeouts, bad_public_keys;
	uint64_t smp_errors, encryptions, encrypt_failures, key_missing;
	uint64_t unencrypted_refusals;
	bool encrypted[CONF_N_EARS];
	/* Bond files: loaded at start, found invalid (ignored: the ear pairs
	 * again), written, failed to write or dropped (queue full). */
	uint64_t bonds_loaded, bonds_corrupt, bonds_saved, bond_save_errors;
};

struct dongle;

/*
 * A dongle on cl->path (baud, flow control from cl); both must outlive
 * it. capture (may be NULL) receives struct dongle_trace_rec + bytes for
 * a btsnoop file. -ENOMEM / -EINVAL.
 */
int dongle_new(struct loop *l, struct wheel *w, const struct conf *c,
	       const struct conf_link *cl, struct spsc *capture,
	       struct dongle **ret);
struct dongle *dongle_free(struct dongle *d);

/* Whether this dongle serves cl (same tty path). */
bool dongle_serves(const struct dongle *d, const struct conf_link *cl);

/*
 * The channel for ear on this dongle (peer address, PSM and security
 * from cl; the ear's bonds are loaded here). Owned by the caller
 * (chan_free()), which must free it before the dongle. -ENOMEM, -EINVAL
 * (bad address), -EEXIST (ear taken), -EOPNOTSUPP (security = high).
 */
int dongle_chan_new(struct dongle *d, enum conf_ear ear,
		    const struct conf_link *cl, struct chan **ret);

/* Open the tty and set up the controller (retries with back-off). */
void dongle_start(struct dongle *d, uint64_t now_ns);

void dongle_get_stats(const struct dongle *d, struct dongle_stats *ret);

/* Zero the counters (a statistics reset); open state stays. RT thread. */
void dongle_reset_stats(struct dongle *d);

/* The tty path (for status). */
const char *dongle_path(const struct dongle *d);

#endif
