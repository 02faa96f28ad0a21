/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_CHAN_H
#define TTWS_DAEMON_CHAN_H

/*
 * A channel carries ttws-link messages to one earbud, one message per
 * datagram or L2CAP SDU, whatever the transport underneath: an AF_UNIX
 * seqpacket socket, a BlueZ kernel L2CAP socket, or an LE credit-based
 * channel on a dongle the daemon drives itself (hci-uart). The link state
 * machine (daemon/link) only sees this interface.
 *
 * Everything runs in the RT thread: channels never block, allocate or log
 * directly after chan_*_new().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct chan;

/*
 * Which instant of a sent message a stamp gives (chan_cb.sent). Where the
 * packet left the host is best known from the controller's completion
 * (DESIGN.md, "Transports"); the kernel's hand-over to the driver comes
 * before any queueing in the controller.
 */
enum chan_tx_point {
	CHAN_TX_KERNEL = 0, /* the kernel gave it to the driver (SCM_TSTAMP_SND) */
	CHAN_TX_DONE = 1,   /* the controller completed it (Number Of
			       Completed Packets) */
};

/* Who reports completions on this channel (chan_tx_completion()). */
enum chan_txc {
	CHAN_TXC_NONE = 0,	 /* nobody: unix, or a kernel before 6.15 */
	CHAN_TXC_KERNEL = 1,	 /* SO_TIMESTAMPING TX_COMPLETION (l2cap) */
	CHAN_TXC_CONTROLLER = 2, /* our own HCI host (hci-uart) */
};

/*
 * When a received message passed each layer on the host (chan_cb.msg),
 * host ns (CLOCK_MONOTONIC), in this order: arrival_ns <= seen_ns <=
 * handler_ns (loop.h, struct loop_rx). The owner may read the clock once
 * more when it is done with the message: handler_ns to then is the
 * handler's run time.
 */
struct chan_rx_time {
	/*
	 * The host arrival: the kernel's receive timestamp when
	 * has_kernel_ts (unix, l2cap), else seen_ns. On hci-uart (a tty,
	 * no kernel stamp) that is when the loop saw the read that
	 * completed the SDU's last H4 packet: the UART and the tty layer's
	 * buffering are before it.
	 */
	uint64_t arrival_ns;
	uint64_t seen_ns;    /* the loop saw the completion (loop_rx) */
	uint64_t handler_ns; /* the loop called the channel's handler */
	bool has_kernel_ts;
};

/* What the owner (the link) is told. All times host ns (CLOCK_MONOTONIC). */
struct chan_cb {
	/* The channel is open: messages may be sent. */
	void (*open)(void *user_data, uint64_t now_ns);
	/*
	 * One message arrived at t->arrival_ns (see struct chan_rx_time).
	 * msg and t are valid only during the call.
	 */
	void (*msg)(void *user_data, const void *msg, size_t len,
		    const struct chan_rx_time *t);
	/*
	 * Opening failed, or an open channel closed (peer gone, transport
	 * error): err is a negative errno. No callback follows until the next
	 * chan_open().
	 */
	void (*closed)(void *user_data, int err, uint64_t now_ns);
	/*
	 * The message chan_send() numbered id reached point at ns. Comes
	 * after the send, at most once per id and point, possibly never
	 * (stamps lost, channel closed first). May be NULL.
	 */
	void (*sent)(void *user_data, uint32_t id, enum chan_tx_point point,
		     uint64_t ns);
	/*
	 * The transport's own controller says the link now runs at
	 * ci_us (LE Connection Update Complete: hci-uart, where the daemon
	 * is the HCI host). Transports that cannot see it (the kernel's
	 * L2CAP sockets) leave it to the earbud's CONN_UPDATE. May be NULL.
	 */
	void (*interval)(void *user_data, uint32_t ci_us, uint64_t now_ns);
	/*
	 * ATT channels only (chan_set_att()); may be NULL otherwise.
	 * link_up: the link to the earbud is up (and secured as configured)
	 * but its data channel waits for chan_l2_open(): ATT flows. att: one
	 * ATT PDU from the earbud, valid during the call; hostile.
	 * cb.closed ends either stage.
	 */
	void (*link_up)(void *user_data, uint64_t now_ns);
	void (*att)(void *user_data, const uint8_t *pdu, size_t len,
		    uint64_t now_ns);
};

struct chan_ops {
	const char *name; /* "unix", "l2cap", "hci-uart" */
	int (*open)(struct chan *c, uint64_t now_ns);
	int (*send)(struct chan *c, const void *msg, size_t len,
		    uint32_t *ret_id);
	void (*close)(struct chan *c);
	void (*free)(struct chan *c);
	/* ATT (a GATT client above: ASHA); NULL where the transport has
	 * none. */
	int (*set_att)(struct chan *c, bool on);
	int (*att_send)(struct chan *c, const void *pdu, size_t len);
	int (*l2_open)(struct chan *c, uint16_t psm, uint64_t now_ns);
	/* Drop what waits to be sent (not what started); NULL: no queue of
	 * ours to drop from. */
	int (*flush)(struct chan *c, unsigned *ret);
	/* Messages held and the peer's credits left; NULL: unknown. */
	int (*tx_state)(struct chan *c, unsigned *ret_queued,
			unsigned *ret_credits);
};

/* Embedded at the start of each implementation's struct. */
struct chan {
	const struct chan_ops *ops;
	struct chan_cb cb;
	void *user_data;
	bool is_open;
	enum chan_txc tx_completion; /* set by the implementation at open */
	/* The open channel's receive and send MTU, bytes; 0 = not known. */
	uint16_t mtu_rx, mtu_tx;
	/* Sends refused for lack of room since chan creation (RT thread;
	 * see chan_send()). */
	uint64_t tx_full;
};

/* Set the owner's callbacks; before the first chan_open(). */
void chan_set_cb(struct chan *c, const struct chan_cb *cb, void *user_data);

/*
 * Start opening. The result comes through cb.open or cb.closed, possibly
 * from inside this call. 0, or a negative errno when nothing was started
 * (no callback follows).
 */
int chan_open(struct chan *c, uint64_t now_ns);

/*
 * Send one message (copied). 0, -ENOTCONN when not open, or -errno. On
 * success *ret_id (may be NULL) numbers the send for cb.sent: sends are
 * numbered from 0 at each open.
 *
 * Every transport bounds what it holds for an earbud (the kernel's
 * socket buffer, the loop's tx slots, our HCI host's queue) and refuses
 * a send that does not fit with -EAGAIN, -ENOBUFS or -ENOSPC: the
 * message is not sent (the caller drops it) and the refusal is counted
 * here, in tx_full and in the "link_tx" bound (daemon/bounds.h). A
 * refusal the transport learns only later (io_uring's asynchronous send)
 * is the transport's to count.
 */
int chan_send(struct chan *c, const void *msg, size_t len, uint32_t *ret_id);

/* chan->tx_full: sends refused for lack of room (RT thread). */
uint64_t chan_tx_full(const struct chan *c);

/* Who reports send completions on the open channel. */
enum chan_txc chan_tx_completion(const struct chan *c);

/* "none", "kernel", "controller" */
const char *chan_txc_name(enum chan_txc t);

/*
 * ATT channels, for a profile whose data channel's PSM is an attribute
 * of the earbud (ASHA's LE_PSM_OUT): chan_set_att() before chan_open()
 * makes the open stop at cb.link_up, with ATT PDUs flowing both ways
 * (chan_att_send(), cb.att); chan_l2_open() then opens the data channel
 * on psm (LE SPSM 0x0001-0x00ff) and cb.open follows, or cb.closed.
 * -EOPNOTSUPP where the transport has no ATT (unix; kernel l2cap today),
 * else the transport's errors (core/hcihost.h: hcihost_att_send(),
 * hcihost_l2_open()).
 */
int chan_set_att(struct chan *c, bool on);
int chan_att_send(struct chan *c, const void *pdu, size_t len);
int chan_l2_open(struct chan *c, uint16_t psm, uint64_t now_ns);

/*
 * Drop the messages the transport holds for the earbud that have not
 * started to leave; how many in *ret (their ids never reach cb.sent).
 * 0, or -EOPNOTSUPP where the transport keeps no queue of its own (the
 * kernel's socket buffer cannot be emptied from here).
 */
int chan_flush(struct chan *c, unsigned *ret);

/*
 * The send side as a credit-based transport sees it: messages it holds
 * for the earbud (not yet all out) and the credits the earbud has left
 * us (LE credit-based flow control). 0, or -EOPNOTSUPP where the
 * transport cannot tell (the kernel's sockets).
 */
int chan_tx_state(struct chan *c, unsigned *ret_queued,
		  unsigned *ret_credits);

/* Close without a cb.closed callback. A closed channel may be reopened. */
void chan_close(struct chan *c);

struct chan *chan_free(struct chan *c);

const char *chan_name(const struct chan *c);

#endif
