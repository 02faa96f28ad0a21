/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_DONGLE_PRIVATE_H
#define TTWS_DAEMON_DONGLE_PRIVATE_H

/*
 * Shared by dongle.c (the tty, core/hcihost, line health, reopening with
 * back-off, statistics) and dongle_chan.c (the per-ear channels on top:
 * the chan ops and the host's channel callbacks). RT thread only. Not for
 * other modules: they see daemon/dongle.h only.
 */

#include <stdbool.h>
#include <stdint.h>

#include "core/conf.h"
#include "core/hcihost.h"
#include "core/wheel.h"
#include "daemon/chan.h"
#include "daemon/dongle.h"

struct loop;
struct loop_sock;
struct serial;

struct donglechan {
	struct chan chan;
	struct dongle *d;
	unsigned ear;
	struct hci_bdaddr peer;
	enum hci_addr_type peer_type;
	bool want_open; /* opened by the link, waiting for READY or for
			 * the host to finish closing the last session */
	bool closing;   /* closed by the link: swallow the host's report */
	uint32_t tx_next; /* the next send's id (chan_send()), from 0 */
};

struct dongle {
	struct loop *loop;
	struct wheel *wheel;
	const struct conf *conf;
	const struct conf_link *cl;
	struct spsc *capture;

	struct hcihost *host;
	void *serial_mem; /* serial_size() bytes, reused by every reopen */
	struct serial *serial;
	struct loop_sock *sock;
	bool ready;

	struct donglechan *ch[CONF_N_EARS];
	struct wheel_timer retry_timer; /* soft: reopen back-off */
	struct wheel_timer tick_timer;  /* soft: host timeouts */
	uint64_t backoff_ns;
	uint64_t icount_due_ns;
	struct dongle_stats st;
	struct hcihost_stats host_base; /* the host's counters at the last reset */
	/*
	 * The loop's stamps of the bytes hcihost_input() is parsing (valid
	 * while in_input): what an SDU or a completion found in them is
	 * dated to (struct chan_rx_time).
	 */
	bool in_input;
	uint64_t in_seen_ns;
	uint64_t in_handler_ns;
};

/*
 * core/hcihost's channel callbacks (dongle_chan.c), in dongle.c's struct
 * hcihost_ops; user_data is the struct dongle, ch the ear.
 */
void dongle_chan_open_cb(void *user_data, unsigned ch);
void dongle_interval(void *user_data, unsigned ch, uint32_t interval_us,
		     uint64_t now_ns);
void dongle_sent(void *user_data, unsigned ch, uint64_t cookie,
		 uint64_t now_ns);
void dongle_chan_msg(void *user_data, unsigned ch, const uint8_t *sdu,
		     size_t len, uint64_t rx_ns);
void dongle_chan_closed(void *user_data, unsigned ch, int err);

#endif
