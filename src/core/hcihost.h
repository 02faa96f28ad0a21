/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_HCIHOST_H
#define TTWS_CORE_HCIHOST_H

/*
 * A minimal LE host over one HCI controller, the part of a Bluetooth stack
 * ttws needs when it drives a dongle itself (transport = hci-uart) and
 * when the earbud simulator plays a peripheral on an emulated controller.
 *
 * Bytes in, packets out (BlueZ emulator/btdev.h style): the caller feeds
 * what it read from the controller (H4 bytes) to hcihost_input() and
 * writes every H4 packet the host hands to ops->write() with ONE write.
 * Time is passed in (ns of CLOCK_MONOTONIC); the host never reads a clock,
 * never allocates after hcihost_new() and never logs (ops->debug).
 *
 * It does: Reset, event masks, Read BD_ADDR, (LE) Read Buffer Size; as a
 * central, LE Create Connection to each channel's peer (one at a time, as
 * controllers allow) then an L2CAP LE credit-based channel to the
 * configured PSM; as a peripheral, connectable advertising and accepting
 * the L2CAP channel on the PSM, advertising again after a disconnection.
 * Data: SDU segmentation to K-frames (credits), ACL fragmentation to the
 * controller's buffer size, host-to-controller flow control from Number Of
 * Completed Packets (each completion returns the send's cookie, the best
 * timestamp of when a packet left), reassembly and credit return on
 * receive. Core 5.4: Vol 4 Part E (HCI), Vol 3 Part A (L2CAP).
 *
 * Channels are numbered 0..HCIHOST_MAX_CHANS-1 by the caller (ttwsd: the
 * ear). Each channel is one LE connection with one L2CAP channel on it.
 *
 * Security (cfg.security, off unless asked for): the link is encrypted
 * before its L2CAP channel opens. The central encrypts with the bond
 * ops->bond_find() gives (LE Enable Encryption), or pairs first: LE
 * Secure Connections, Just Works (core/smp.h says what that protects
 * against), on the controller's crypto (LE Read Local P-256 Public Key,
 * LE Generate DHKey, LE Encrypt, LE Rand), and hands the new bond to
 * ops->bond_new(). A peer that answers the stored key with "PIN or Key
 * Missing" is paired again once on that link; any other failure drops
 * the link (chan_closed -EACCES) for the caller's back-off. The
 * peripheral answers pairing as responder, the controller's LTK
 * requests from the pairing or ops->bond_find(), and refuses the L2CAP
 * channel (Insufficient Encryption) until the link is encrypted. Vol 3,
 * Part H (SMP), Vol 4, Part E 7.8.22-26, 7.8.36-37.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hci.h"
#include "core/smp_bond.h"

#define HCIHOST_MAX_CHANS 2
#define HCIHOST_MAX_SDU 2048 /* largest ttws-link message carried */
/* SDUs hcihost_send() holds per channel before -ENOBUFS. */
#define HCIHOST_TX_QUEUE 4
/* Largest ATT PDU carried either way on a channel's ATT bearer
 * (hcihost_set_att()): the ATT_MTU a GATT client on it may offer (Core
 * 5.4, Vol 3, Part F, 3.2.8). ASHA's largest value is 17 octets. */
#define HCIHOST_ATT_MTU 64
/* ATT PDUs hcihost_att_send() holds per channel before -ENOBUFS. */
#define HCIHOST_ATT_QUEUE 4
/* Longest advertised name: 31 octets of AD minus Flags (3) and the
 * name's own length and type (2), Core 5.4, Vol 4, Part E, 7.8.7. */
#define HCIHOST_NAME_MAX 26

enum hcihost_role {
	HCIHOST_CENTRAL = 0,
	HCIHOST_PERIPHERAL = 1,
};

enum hcihost_state {
	HCIHOST_DOWN = 0,    /* not started, or the controller failed */
	HCIHOST_INIT = 1,    /* reset and set-up commands in flight */
	HCIHOST_READY = 2,   /* controller set up: channels may open */
};

/* What a link needs before its L2CAP channel opens. */
enum hcihost_security {
	HCIHOST_SECURITY_NONE = 0,    /* nothing: plain text (the default) */
	HCIHOST_SECURITY_ENCRYPT = 1, /* encrypted: a bond or LE SC pairing */
};

enum hcihost_chan_state {
	HCIHOST_CH_IDLE = 0,
	HCIHOST_CH_CONNECTING = 1, /* LE Create Connection / advertising */
	HCIHOST_CH_L2CAP = 2,      /* LE link up: securing it (if asked
				    * for), opening the L2CAP channel */
	HCIHOST_CH_OPEN = 3,
	HCIHOST_CH_CLOSING = 4,    /* Disconnect sent */
};

struct hcihost_config {
	enum hcihost_role role;
	uint16_t psm;            /* LE PSM of the ttws-link channel */
	uint16_t mtu;            /* our L2CAP MTU, <= HCIHOST_MAX_SDU */
	uint16_t rx_credits;     /* K-frames the peer may send ahead */
	uint16_t conn_interval;  /* central: 1.25 ms units (6 = 7.5 ms) */
	uint16_t supervision_timeout; /* 10 ms units */
	uint64_t cmd_timeout_ns;      /* a command without an answer */
	/*
	 * LE Create Connection without a connection, and an LE link
	 * without an open L2CAP channel (both ends).
	 */
	uint64_t connect_timeout_ns;
	/*
	 * Our L2CAP MPS (23..HCIHOST_MAX_SDU + 2); 0: the controller's LE
	 * ACL buffer length - 4, so that each K-frame the peer sends fits
	 * one ACL packet (l2le.h).
	 */
	uint16_t mps;
	/* Peripheral: advertising interval, 0.625 ms units (0x20..0x4000). */
	uint16_t adv_interval;
	/*
	 * Peripheral: the Complete Local Name advertised (NUL-terminated);
	 * empty: "ttws-L" for channel 0, "ttws-R" for channel 1.
	 */
	char name[HCIHOST_NAME_MAX + 1];
	/* Encryption before the channel opens (see the top). */
	enum hcihost_security security;
	/*
	 * Peripheral with security: distribute an identity when the central
	 * asks (Identity Information and Identity Address Information,
	 * Vol 3, Part H, 3.6.4-5): this IRK and the controller's public
	 * address.
	 */
	bool send_identity;
	uint8_t irk[16];
};

/* Defaults: central, PSM 0x80, MTU 2048, 8 credits, 7.5 ms, 2 s
 * supervision, 2 s command timeout, 5 s connect timeout, MPS from the
 * controller, 30 ms advertising, the per-channel name, no security. */
void hcihost_config_default(struct hcihost_config *ret);

enum hcihost_sec_event {
	HCIHOST_SEC_PAIRING = 0,     /* no usable bond (or the peer lost
				      * it): pairing starts */
	HCIHOST_SEC_PAIRED = 1,      /* pairing done, bond_new() had it */
	HCIHOST_SEC_ENCRYPTED = 2,   /* the link is encrypted (bonded: with
				      * a stored bond, no pairing) */
	HCIHOST_SEC_KEY_MISSING = 3, /* the peer refused our stored key */
	HCIHOST_SEC_FAILED = 4,      /* pairing or encryption failed; the
				      * link is dropped */
};

struct hcihost_sec_info {
	enum hcihost_sec_event event;
	/* FAILED: -EACCES (the peer refused pairing or encryption),
	 * -EBADMSG (a confirm or check value did not match),
	 * -EKEYREJECTED (a bad public key), -EOPNOTSUPP (the peer wants
	 * legacy pairing, a short key or OOB), -ETIMEDOUT, -EPROTO (the
	 * peer broke SMP), -EIO (the controller failed). */
	int err;
	uint8_t smp_reason; /* Pairing Failed reason sent or received, 0 */
	uint8_t hci_status; /* Encryption Change status, 0 */
	bool bonded;        /* ENCRYPTED: with a stored bond */
};

struct hcihost_ops {
	/*
	 * Write one H4 packet (indicator included) to the controller, in one
	 * write. Return 0, or a negative errno (the host then counts it and
	 * treats the controller as gone: ops->down).
	 */
	int (*write)(void *user_data, const uint8_t *frame, size_t len);
	/* The controller is set up (after start) or failed/gone (err). */
	void (*ready)(void *user_data, const struct hci_bdaddr *local);
	void (*down)(void *user_data, int err);
	/*
	 * Channel ch opened; a message arrived (sdu valid during the call);
	 * it closed, err < 0: -ECONNABORTED (hcihost_close(), or the host
	 * restarted), -ECONNRESET (the peer or the link ended it; other HCI
	 * reasons map to -ETIMEDOUT, -EACCES, ...), -ETIMEDOUT (no
	 * connection or no L2CAP channel within connect_timeout_ns),
	 * -EHOSTUNREACH (Connection Failed to be Established),
	 * -ECONNREFUSED (the peer refused the PSM), -EPROTO (the peer broke
	 * L2CAP), -EACCES (security: pairing or encryption failed; also
	 * -ETIMEDOUT for the 30 s pairing timer), or the error given to
	 * ops->down.
	 */
	void (*chan_open)(void *user_data, unsigned ch);
	void (*chan_msg)(void *user_data, unsigned ch, const uint8_t *sdu,
			 size_t len, uint64_t rx_ns);
	void (*chan_closed)(void *user_data, unsigned ch, int err);
	/*
	 * The controller completed the last ACL packet of an SDU sent with
	 * cookie (Number Of Completed Packets), at now_ns. May be NULL.
	 */
	void (*sent)(void *user_data, unsigned ch, uint64_t cookie,
		     uint64_t now_ns);
	/*
	 * The controller reported channel ch's link at a new connection
	 * interval (LE Connection Update Complete, Vol 4, Part E, 7.7.65.3,
	 * success only), interval_us in us (1.25 ms units x 1250). May be
	 * NULL.
	 */
	void (*interval)(void *user_data, unsigned ch, uint32_t interval_us,
			 uint64_t now_ns);
	/*
	 * Every H4 packet written (rx false) or framed from the input (rx
	 * true), for a btsnoop capture. May be NULL.
	 */
	void (*trace)(void *user_data, bool rx, const uint8_t *frame,
		      size_t len, uint64_t now_ns);
	/* Debug text, may be NULL (libraries do not log). */
	void (*debug)(void *user_data, const char *text);
	/*
	 * Security only; each may be NULL. bond_find: the bond of our
	 * controller (local) and peer as it connects (its address and type:
	 * the configured one for a central, the connection's for a
	 * peripheral): 0 with *ret, or -ENOENT (a central then pairs; a
	 * peripheral refuses the controller's LTK request). NULL: no bonds,
	 * every connection pairs. bond_new: a pairing on ch made this bond
	 * (to store; valid during the call).
	 */
	int (*bond_find)(void *user_data, unsigned ch,
			 const struct hci_bdaddr *local,
			 const struct hci_bdaddr *peer, uint8_t peer_type,
			 struct smp_bond *ret);
	void (*bond_new)(void *user_data, unsigned ch,
			 const struct smp_bond *bond);
	/* Security progress on ch, for the log (struct hcihost_sec_info). */
	void (*security)(void *user_data, unsigned ch,
			 const struct hcihost_sec_info *info);
	/*
	 * ATT channels only (hcihost_set_att()); may be NULL otherwise.
	 * link_up: ch's LE link is up and secured as asked: ATT PDUs flow
	 * both ways, and the L2CAP channel waits for hcihost_l2_open().
	 * chan_closed ends it like any other state. att: one ATT PDU from
	 * the peer on the fixed channel 0x0004 (Vol 3, Part A, 2.1), valid
	 * during the call, at rx_ns; hostile: the caller parses it.
	 */
	void (*link_up)(void *user_data, unsigned ch);
	void (*att)(void *user_data, unsigned ch, const uint8_t *pdu,
		    size_t len, uint64_t rx_ns);
};

struct hcihost_stats {
	uint64_t cmds;           /* commands written */
	uint64_t evts;           /* events decoded */
	uint64_t evt_errors;     /* malformed events dropped */
	uint64_t acl_tx, acl_rx; /* ACL packets */
	uint64_t acl_errors;     /* reassembly errors */
	uint64_t sdus_tx, sdus_rx;
	uint64_t tx_queue_full;  /* hcihost_send() refused: queue full */
	uint64_t sdus_flushed;   /* dropped by hcihost_flush() */
	uint64_t l2cap_errors;   /* K-frame / signaling errors */
	uint64_t cmd_timeouts;
	uint64_t connects, connect_fails, disconnects;
	uint64_t h4_resyncs;     /* from the framer */
	uint64_t h4_bytes_skipped;
	uint64_t evt_unknown;    /* well-framed events not handled here */
	uint64_t write_errors;   /* ops->write() failed */
	uint64_t acl_over_completed; /* completions for packets not sent */
	uint64_t tx_stalls;      /* an SDU waited for the peer's credits */
	uint64_t l2cap_unknown_cid; /* PDUs for no channel (ATT, SMP...) */
	uint64_t stray_links;    /* connections no channel wanted: dropped */
	uint64_t hardware_errors; /* Hardware Error events */
	/* Security. */
	uint64_t pairings;         /* completed */
	uint64_t pairing_failures; /* of which: */
	uint64_t smp_timeouts;     /*   30 s without completion */
	uint64_t bad_public_keys;  /*   peer key off the curve, debug, ours */
	uint64_t smp_errors;       /* SMP PDUs refused: malformed, unexpected */
	uint64_t encryptions;      /* links encrypted */
	uint64_t encrypt_failures; /* Encryption Change failures */
	uint64_t key_missing;      /* peers that lost their bond */
	uint64_t unencrypted_refusals; /* L2CAP requests on plain links */
	/* Bounds hit (ttwsd's "bounds" status, daemon/bounds.h): */
	uint64_t cmd_queue_full; /* commands not queued: HH_CMD_QUEUE full */
	uint64_t sig_queue_full; /* signaling PDUs dropped: HH_SIG_QUEUE full */
	uint64_t acl_oversize;   /* PDUs over the reassembly buffer, dropped */
	uint64_t sdu_oversize;   /* SDUs over our MTU (the link is reset) */
	/* ATT bearers (hcihost_set_att()). */
	uint64_t att_tx, att_rx;  /* PDUs */
	uint64_t att_queue_full;  /* hcihost_att_send() refused: queue full */
	uint64_t att_oversize;    /* PDUs from the peer over HCIHOST_ATT_MTU */
	uint64_t att_early;       /* PDUs before link_up (plain link, while
				   * securing): dropped */
};

struct hcihost;

/* Allocate a host (all its buffers). -EINVAL / -ENOMEM. */
int hcihost_new(const struct hcihost_config *cfg,
		const struct hcihost_ops *ops, void *user_data,
		struct hcihost **ret);
struct hcihost *hcihost_free(struct hcihost *h);

/*
 * (Re)start: forget every connection (channels with a link report
 * closed, -ECONNABORTED), reset the framer, send HCI Reset and the set-up
 * sequence: Set Event Mask, LE Set Event Mask, Read BD_ADDR, LE Read
 * Buffer Size v2 (v1 when the controller does not know v2, then Read
 * Buffer Size when the LE length is 0). Channels asked for before READY
 * open once it is reached.
 *
 * Callbacks (ready, down, chan_*, sent) come from inside hcihost_input(),
 * hcihost_tick(), hcihost_open()/close() and hcihost_start(); they may
 * call any hcihost function but hcihost_free().
 */
void hcihost_start(struct hcihost *h, uint64_t now_ns);

/* Bytes read from the controller, at now_ns. */
void hcihost_input(struct hcihost *h, const uint8_t *bytes, size_t len,
		   uint64_t now_ns);

/*
 * Timeouts (commands, connection attempts). Call at least every 100 ms
 * and at hcihost_next_deadline() (UINT64_MAX: nothing pending).
 */
void hcihost_tick(struct hcihost *h, uint64_t now_ns);
uint64_t hcihost_next_deadline(const struct hcihost *h);

/*
 * Central: open channel ch to the peer (LE address and type). Peripheral:
 * peer may be NULL; advertise and accept the next central on the PSM for
 * ch. Returns 0, -EALREADY (not idle), -EINVAL.
 *
 * A failed attempt (the controller's connect error, connect_timeout_ns
 * without a connection, the peer refusing the L2CAP channel) ends in
 * chan_closed and the channel is idle again: the caller retries with
 * its own back-off. A channel whose link drops is idle too, in both
 * roles; a peripheral advertises for as long as any channel listens.
 */
int hcihost_open(struct hcihost *h, unsigned ch, const struct hci_bdaddr *peer,
		 enum hci_addr_type peer_type, uint64_t now_ns);

/*
 * Close ch (Disconnect); chan_closed(-ECONNABORTED) follows when the link
 * is down, or at once (from inside this call) when there is no link yet.
 * Nothing happens to an idle channel.
 */
void hcihost_close(struct hcihost *h, unsigned ch, uint64_t now_ns);

/*
 * Queue one SDU on an open channel (copied). cookie comes back through
 * ops->sent. Returns 0, -ENOTCONN, -EMSGSIZE (over the peer's MTU) or
 * -ENOBUFS (queue full: counted), -EINVAL (no such channel). SDUs whose
 * link drops before they complete are not reported.
 *
 * May be called from any callback. Deadlines it starts use the time of
 * the last call that passed one.
 */
int hcihost_send(struct hcihost *h, unsigned ch, const uint8_t *sdu,
		 size_t len, uint64_t cookie);

/*
 * Drop the SDUs queued on ch that have not started to go out (an SDU
 * whose first K-frame left stays: the peer would see half of it). The
 * number dropped in *ret (their cookies never come back through
 * ops->sent). 0 or -EINVAL. ASHA's balancing flushes a congested ear
 * this way (core/ashabal.h).
 */
int hcihost_flush(struct hcihost *h, unsigned ch, unsigned *ret);

/*
 * Channel ch's send side now: SDUs the host holds (not yet all out to
 * the controller) and the K-frames the peer's credits still allow (A
 * 10.1). 0 and 0 unless open.
 */
void hcihost_tx_state(const struct hcihost *h, unsigned ch,
		      unsigned *ret_queued, unsigned *ret_credits);

/* SDUs hcihost_send() would take now on ch (0 unless open). */
unsigned hcihost_tx_space(const struct hcihost *h, unsigned ch);

enum hcihost_state hcihost_state(const struct hcihost *h);
enum hcihost_chan_state hcihost_chan_state(const struct hcihost *h,
					   unsigned ch);
void hcihost_get_stats(const struct hcihost *h, struct hcihost_stats *ret);

/*
 * Channel ch's security instead of cfg.security (an ear of its own
 * mind). Before hcihost_start() when security is new to the host (the
 * event masks are set at start), and while ch is idle. 0, -EINVAL,
 * -EBUSY.
 */
int hcihost_set_security(struct hcihost *h, unsigned ch,
			 enum hcihost_security sec);

/*
 * ATT channels (a GATT client runs above, e.g. ASHA's, core/ashac.h):
 * once ch's link is up and secured the host reports ops->link_up instead
 * of opening the L2CAP channel on cfg.psm, carries ATT PDUs both ways,
 * and opens the L2CAP channel when told the PSM (hcihost_l2_open()),
 * which the caller learnt over ATT. ATT keeps flowing after that. Central
 * only; while ch is idle: 0, -EINVAL, -EBUSY, -EOPNOTSUPP (peripheral).
 */
int hcihost_set_att(struct hcihost *h, unsigned ch, bool on);

/*
 * Queue one ATT PDU (copied; len 1..HCIHOST_ATT_MTU) for ch's peer.
 * 0, -EINVAL, -EMSGSIZE, -ENOTCONN (no link_up yet, or gone), -ENOBUFS
 * (HCIHOST_ATT_QUEUE full: counted). ATT PDUs go before K-frames.
 */
int hcihost_att_send(struct hcihost *h, unsigned ch, const uint8_t *pdu,
		     size_t len);

/*
 * ATT channel ch after link_up: open its L2CAP channel to psm (LE SPSM,
 * 0x0001-0x00ff, Vol 3, Part A, 4.22); chan_open or chan_closed follows
 * (within connect_timeout_ns). 0, -EINVAL, -ENOTCONN (no link up),
 * -EALREADY (asked already), -EPERM (not an ATT channel).
 */
int hcihost_l2_open(struct hcihost *h, unsigned ch, uint16_t psm,
		    uint64_t now_ns);

/* Whether ch's link is encrypted (Encryption Change, enabled). */
bool hcihost_chan_encrypted(const struct hcihost *h, unsigned ch);

#endif
