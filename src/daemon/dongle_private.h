/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_DONGLE_PRIVATE_H
#define TTWS_DAEMON_DONGLE_PRIVATE_H

/*
 * Shared by dongle.c (the tty, core/hcihost, line health, reopening with
 * back-off, statistics), dongle_chan.c (the per-ear channels on top:
 * the chan ops and the host's channel callbacks) and dongle_keys.c (link
 * security: the bonds, their files, the security log). RT thread only,
 * but for dongle_keys.c's writer thread. Not for other modules: they see
 * daemon/dongle.h only.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/conf.h"
#include "core/hcihost.h"
#include "core/spsc.h"
#include "core/wheel.h"
#include "daemon/chan.h"
#include "daemon/dongle.h"
#include "os/keystore.h"

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
	bool stale;     /* reported closed when the dongle went: the host's
			 * own report at its restart is old news */
	uint32_t tx_next; /* the next send's id (chan_send()), from 0 */
};

/* Bonds kept in memory: each ear's peer with up to two dongles (a
 * spare one swapped in), loaded at set-up. */
#define DONGLE_BONDS_MAX 4
/* New bonds on their way to the writer thread. */
#define DONGLE_BOND_RING 2048

/*
 * The bonds of a dongle (dongle_keys.c). The RT thread owns the table;
 * new bonds go to a writer thread through a wait-free ring, because
 * files are written with blocking calls (keystore.h). The writer's
 * results come back through the atomics.
 */
struct dongle_keys {
	char dir[KEYSTORE_DIR_MAX];
	bool dir_ok;
	struct smp_bond bond[DONGLE_BONDS_MAX];
	unsigned n_bonds;
	uint64_t loaded, corrupt, save_drops;
	struct spsc ring;
	void *ring_mem;
	pthread_t writer;
	bool writer_on;
	atomic_bool stop;
	/* Wakes the writer early to stop (never used by the RT thread). */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	_Atomic uint64_t saved, save_errors;
	_Atomic int last_save_err;
	_Atomic int place_err;  /* keystore_writer_place(), for the log */
	uint64_t logged_saved, logged_errors; /* RT: what the log said */
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
	struct hcihost_stats bounds_seen; /* ... at the last dongle_bounds() */
	/*
	 * The loop's stamps of the bytes hcihost_input() is parsing (valid
	 * while in_input): what an SDU or a completion found in them is
	 * dated to (struct chan_rx_time).
	 */
	bool in_input;
	uint64_t in_seen_ns;
	uint64_t in_handler_ns;
	struct dongle_keys keys;
	struct hci_bdaddr local; /* the controller's, once ready */
	uint64_t hw_errors_seen; /* the host's hardware_errors, logged */
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
void dongle_chan_link_up(void *user_data, unsigned ch);
void dongle_chan_att(void *user_data, unsigned ch, const uint8_t *pdu,
		     size_t len, uint64_t rx_ns);

/*
 * dongle_keys.c. Set-up (not the steady state): find the state
 * directory and start the writer (-errno), then load the bonds of each
 * ear's peer; dongle_keys_free() stops the writer after it saved what
 * was queued. The rest are core/hcihost's security callbacks (user_data
 * the struct dongle).
 */
int dongle_keys_init(struct dongle *d);
void dongle_keys_load(struct dongle *d, const struct conf_link *cl,
		      const struct hci_bdaddr *peer,
		      enum hci_addr_type peer_type);
void dongle_keys_free(struct dongle *d);
/* RT thread, from the tick: log what the writer did. */
void dongle_keys_poll(struct dongle *d);
int dongle_bond_find(void *user_data, unsigned ch,
		     const struct hci_bdaddr *local,
		     const struct hci_bdaddr *peer, uint8_t peer_type,
		     struct smp_bond *ret);
void dongle_bond_new(void *user_data, unsigned ch, const struct smp_bond *b);
void dongle_security(void *user_data, unsigned ch,
		     const struct hcihost_sec_info *info);

#endif
