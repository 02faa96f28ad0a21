/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_HCIHOST_PRIVATE_H
#define TTWS_CORE_HCIHOST_PRIVATE_H

/*
 * Shared by the parts of core/hcihost (contracts: hcihost.h). Not for
 * other modules. Section numbers are of Core 5.4: "E" is Vol 4, Part E
 * (HCI), "A" is Vol 3, Part A (L2CAP).
 *
 *   hcihost.c       the public entry points, the pump, event dispatch
 *   hcihost_cmd.c   the command queue, start-up sequence, command answers
 *                   and controller failure
 *   hcihost_conn.c  LE connections: channel life, connecting (central),
 *                   advertising (peripheral), link events
 *   hcihost_l2.c    L2CAP LE credit-based channels: signaling, K-frames,
 *                   ACL fragmentation and flow control
 *   hcihost_sec.c   link security: a bond or LE Secure Connections pairing
 *                   (core/smp), before any L2CAP channel opens
 *   hcihost_crypto.c  the controller's crypto for those pairings
 *
 * Shape: every public entry point updates the time, does its work and
 * then pumps: queued commands go out as the controller's command credit
 * (Num_HCI_Command_Packets) allows, ACL packets as its buffers allow
 * (acl_flow), one fragment per channel in turn so that a busy channel
 * cannot starve the other. Callbacks may re-enter: a nested call only
 * queues, and the outermost call pumps once everything is consistent.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/acl.h"
#include "core/h4.h"
#include "core/hci.h"
#include "core/hcihost.h"
#include "core/l2le.h"
#include "core/smp.h"
#include "core/smp_hci.h"

/* Commands waiting for the controller's command credit. */
#define HH_CMD_QUEUE 16
/* Signaling PDUs waiting per channel (a response, a credit grant, a
 * reject: a handful at most). */
#define HH_SIG_QUEUE 4
/* One L2CAP channel per LE link: its CID on both ends (A 2.1). */
#define HH_LOCAL_CID L2LE_CID_DYN_MIN
/* Disconnect reason for every link we end (E 7.1.6). */
#define HH_DISCONNECT_REASON HCI_REMOTE_USER_TERMINATED
/* Central scanning for the peer's advertisements while connecting, in
 * 0.625 ms units (E 7.8.12): 60 ms interval, 30 ms window. */
#define HH_SCAN_INTERVAL 0x0060
#define HH_SCAN_WINDOW 0x0030
/* Largest L2CAP PDU built or received: a K-frame of a whole SDU
 * (basic header, SDU Length, data) (A 3.4.3). */
#define HH_PDU_MAX (L2LE_HDR_SIZE + L2LE_SDU_LEN_SIZE + HCIHOST_MAX_SDU)
#define HH_MPS_MAX (L2LE_SDU_LEN_SIZE + HCIHOST_MAX_SDU)
/* The flow-control cookie of the last ACL packet of an SDU; every other
 * packet carries 0 and completes silently. */
#define HH_COOKIE_SDU_END 1

/* SMP PDUs waiting per channel: a pairing queues two at most between
 * two pumps (the identity's two PDUs; a PDU and Pairing Failed). */
#define HH_SMP_QUEUE 4
#define HH_SMP_FRAME (L2LE_HDR_SIZE + SMP_MTU)
/* ATT's fixed channel on an LE link (A 2.1), and a queued PDU's frame. */
#define HH_ATT_CID 0x0004
#define HH_ATT_FRAME (L2LE_HDR_SIZE + HCIHOST_ATT_MTU)

/* An HCI status for an answer that came without one (a Command Status
 * of success for a command answered by Command Complete; an Encryption
 * Change "off" with status 0). Vol 1, Part F: Unspecified Error. */
#define HH_STATUS_UNSPECIFIED 0x1f

/* Where a link's security stands (hcihost_sec.c). */
enum hh_sec {
	HH_SEC_OFF = 0,    /* not asked for, or no link */
	HH_SEC_WAIT,       /* peripheral: plain, waiting for the central */
	HH_SEC_ENCRYPTING, /* central: LE Enable Encryption with a bond */
	HH_SEC_PAIRING,    /* SMP running */
	HH_SEC_SECURE,     /* encrypted (and paired, if it had to) */
	HH_SEC_FAILED,     /* Pairing Failed on its way; the link drops next */
};

struct hh_cmd {
	uint8_t frame[1 + HCI_CMD_MAX];
	uint16_t len;
	uint16_t opcode;
	int ch;          /* channel it acts for, -1 for none */
	uint16_t handle; /* Disconnect: the link */
	uint8_t arg;     /* LE Set Advertising Enable: the value */
	bool dead;       /* withdrawn before it went out */
};

struct hh_sdu {
	uint16_t len;
	uint64_t cookie;
	uint8_t data[HCIHOST_MAX_SDU];
};

struct hh_chan {
	enum hcihost_chan_state state;
	bool want_connect;   /* central: Create Connection still to send */
	bool user_closed;    /* hcihost_close() asked for it */
	int close_err;       /* what chan_closed will say, 0 until known */
	struct hci_bdaddr peer;
	uint8_t peer_type;
	uint16_t handle;     /* ACL_HANDLE_NONE: no LE link */
	uint8_t ident;       /* last signaling Identifier we used */
	uint64_t deadline_ns; /* L2CAP set-up or Disconnect answer; 0: none */
	bool stalled;        /* counted in tx_stalls once per stall */
	struct l2le_chan l2;
	uint8_t l2_rx[HCIHOST_MAX_SDU];

	/* Signaling PDUs to send, before any K-frame. */
	uint8_t sig[HH_SIG_QUEUE][L2LE_SIG_MAX];
	uint8_t sig_len[HH_SIG_QUEUE];
	unsigned sig_head, sig_count;

	/* SDUs to send; the head is lent to l2le while txq_started. */
	struct hh_sdu txq[HCIHOST_TX_QUEUE];
	unsigned txq_head, txq_count;
	bool txq_started;

	/* Cookies of SDUs whose last ACL packet is in the controller,
	 * oldest first: completions come back in order per handle (E 4.1.1
	 * and acl.h). */
	uint64_t done[ACL_FLOW_DEPTH];
	unsigned done_head, done_count;

	/* The PDU being fragmented, built in place at txbuf + 5 so that
	 * each fragment becomes an H4 frame at txbuf without a copy. */
	struct acl_frag frag;
	bool frag_sdu_end;
	uint64_t frag_cookie;
	uint8_t txbuf[1 + ACL_HDR_SIZE + HH_PDU_MAX];

	/* Backs one reassembly slot (slots follow handles, not channels). */
	uint8_t rxpdu[HH_PDU_MAX];

	/* Security (hcihost_sec.c). */
	struct hcihost *host;  /* for the SMP callbacks */
	unsigned index;
	enum hcihost_security security; /* cfg's, or hcihost_set_security() */
	enum hh_sec sec;
	bool encrypted;        /* Encryption Change: on */
	bool repaired;         /* paired again after "key missing" */
	bool lkey_held;        /* its pairing uses the controller's key pair */
	int sec_err;           /* FAILED: what chan_closed will say */
	uint64_t sec_deadline_ns; /* ENCRYPTING: the change is due; FAILED:
				   * drop the link */
	struct hci_bdaddr conn_peer; /* the peer as the link reports it */
	uint8_t conn_peer_type;      /* 0 public, 1 random */
	struct smp smp;
	uint8_t smp_tx[HH_SMP_QUEUE][HH_SMP_FRAME];
	uint8_t smp_tx_len[HH_SMP_QUEUE];
	unsigned smp_head, smp_count;

	/* ATT bearer (hcihost_att.c). */
	bool att;        /* hcihost_set_att(): kept across links */
	bool att_up;     /* link_up reported: ATT flows */
	bool l2_asked;   /* hcihost_l2_open() came */
	uint16_t psm;    /* its PSM; 0: cfg.psm */
	uint8_t att_tx[HCIHOST_ATT_QUEUE][HH_ATT_FRAME];
	uint8_t att_tx_len[HCIHOST_ATT_QUEUE];
	unsigned att_head, att_count;
};

struct hcihost {
	struct hcihost_config cfg;
	const struct hcihost_ops *ops;
	void *user_data;

	enum hcihost_state state;
	uint64_t now_ns;
	/* Bumped by every restart and failure: a loop over input or events
	 * that sees it change stops, its packet is gone. */
	unsigned gen;
	int depth;      /* entry points in progress (re-entry from callbacks) */
	bool repump;

	/* Framer over h4mem. */
	struct h4 h4;
	uint8_t *h4mem;
	size_t h4cap;

	/* Commands. */
	struct hh_cmd cmdq[HH_CMD_QUEUE];
	unsigned cmd_head, cmd_count;
	uint8_t ncmd;         /* Num_HCI_Command_Packets (E 7.7.14) */
	bool cmd_out;         /* a command awaits its Complete/Status */
	struct hh_cmd out;    /* ... this one */
	uint64_t cmd_deadline_ns;

	/* The controller. */
	struct hci_bdaddr local;
	uint16_t acl_len;     /* LE_ACL_Data_Packet_Length */
	uint16_t acl_num;
	bool flow_ready;
	struct acl_flow flow;
	struct acl_reasm reasm;
	struct acl_rx slots[HCIHOST_MAX_CHANS];

	/* Central: the one LE Create Connection outstanding (E 7.8.12
	 * allows one at a time). */
	int connecting;       /* channel, -1: none */
	bool cancel_sent;
	uint64_t connect_deadline_ns;
	unsigned next_connect;

	/* Peripheral. */
	bool adv_on;          /* advertising enabled, as far as we know */
	bool adv_busy;        /* an advertising command is queued */
	int adv_ch;           /* the channel advertised for */

	/* The controller's crypto for pairing (hcihost_sec.c): one request
	 * out at a time, for sec_owner (-1: its channel went, the answer
	 * is dropped). The P-256 key pair stays while a pairing holds it
	 * (lkey_users) and is renewed after (Vol 3, Part H, 2.3.6). */
	bool sec_busy;
	int sec_owner;
	enum smp_need sec_need;
	uint64_t sec_deadline_ns;
	unsigned sec_rr;
	bool lkey_valid;
	uint8_t lkey[SMP_P256_KEY_LEN];
	unsigned lkey_users;

	unsigned rr;          /* next channel to send a fragment */
	struct hcihost_stats stats;
	struct hh_chan ch[HCIHOST_MAX_CHANS];
};

/* ---- hcihost.c ----------------------------------------------------- */

/* Debug text through ops->debug (nothing when it is NULL). */
void hh_debug(struct hcihost *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* An entry point starts (time moves to now_ns, 0: stays) and ends
 * (the outermost pumps). */
void hh_enter(struct hcihost *h, uint64_t now_ns);
void hh_leave(struct hcihost *h);
/* The channel whose LE link is handle, or -1. */
int hh_chan_by_handle(const struct hcihost *h, uint16_t handle);
/* One H4 packet to the controller (traced); a failed write fails the
 * host (hh_fail) and is returned. */
int hh_write(struct hcihost *h, const uint8_t *frame, size_t len);

/* ---- hcihost_cmd.c ------------------------------------------------- */

int hh_status_err(uint8_t status);
struct hh_cmd *hh_cmd_queue(struct hcihost *h, int ch, int r,
			    const uint8_t *pkt, size_t n);
void hh_send_cmds(struct hcihost *h);
void hh_cmd_withdraw(struct hcihost *h, uint16_t opcode, int ch);
void hh_fail(struct hcihost *h, int err);
/* Command Complete (cc) or Command Status (cc NULL) for opcode. */
void hh_cmd_answer(struct hcihost *h, uint16_t opcode, uint8_t status,
		   const struct hci_evt_cmd_complete *cc);

/* ---- hcihost_conn.c ------------------------------------------------ */

void hh_chan_reset(struct hcihost *h, struct hh_chan *c);
void hh_chan_finish(struct hcihost *h, unsigned i, int err);
void hh_drop_link(struct hcihost *h, unsigned i, int err);
void hh_forget_links(struct hcihost *h, int err);
void hh_schedule_connect(struct hcihost *h);
void hh_schedule_adv(struct hcihost *h);
void hh_cancel_connect(struct hcihost *h);
void hh_connect_failed(struct hcihost *h, int err);
void hh_on_conn_complete(struct hcihost *h,
			 const struct hci_evt_le_conn_complete *e);
void hh_on_disconn(struct hcihost *h,
		   const struct hci_evt_disconn_complete *e);
void hh_on_remote_param_req(struct hcihost *h,
			    const struct hci_evt_le_conn_param_req *e);
void hh_on_conn_update(struct hcihost *h,
		       const struct hci_evt_le_conn_update_complete *e,
		       uint64_t now_ns);

/* ---- hcihost_l2.c -------------------------------------------------- */

void hh_sig_push(struct hcihost *h, struct hh_chan *c, const uint8_t *pdu,
		 size_t len);
uint8_t hh_next_ident(struct hh_chan *c);
void hh_l2_init(struct hcihost *h, struct hh_chan *c);
void hh_send_acl(struct hcihost *h);
void hh_on_completed(struct hcihost *h,
		     const struct hci_evt_num_completed *e);
void hh_on_acl(struct hcihost *h, const uint8_t *pkt, size_t len);
/* Central: ask for the L2CAP channel on the PSM (A 4.22). */
void hh_l2_connect(struct hcihost *h, unsigned i);

/* ---- hcihost_sec.c ------------------------------------------------- */

/* Whether any channel asks for security. */
bool hh_sec_any(const struct hcihost *h);
/* The host (re)starts or fails: no crypto request is out any more. */
void hh_sec_host_reset(struct hcihost *h);
/* Channel c goes idle. */
void hh_sec_chan_reset(struct hcihost *h, struct hh_chan *c);
/* Channel i's LE link is up: true when its L2CAP channel may open now
 * (no security), else security starts (central) or waits (peripheral). */
bool hh_sec_link_up(struct hcihost *h, unsigned i);
/* Whether a peripheral may accept channel c's L2CAP request. */
bool hh_sec_allows_l2cap(const struct hcihost *h, const struct hh_chan *c);
/* A PDU on the SMP fixed channel of channel i's link. */
void hh_sec_on_smp(struct hcihost *h, unsigned i, const uint8_t *p,
		   size_t len);
/* A security event from the controller (smp_hci.h). */
void hh_sec_on_event(struct hcihost *h, const struct smp_hci_evt *e);
/* The answer to command c if it is a security command (true), or false. */
bool hh_sec_cmd_answer(struct hcihost *h, const struct hh_cmd *c,
		       uint8_t status, const struct hci_evt_cmd_complete *cc);
void hh_sec_tick(struct hcihost *h);
uint64_t hh_sec_deadline(const struct hcihost *h);
/* The next SMP frame of c (an L2CAP basic frame) into pdu; false if
 * none. */
bool hh_sec_next_pdu(struct hh_chan *c, uint8_t *pdu, size_t cap,
		     size_t *ret_len);

/* ---- hcihost_att.c ------------------------------------------------- */

/* Channel i's link is up and secured as asked: the central opens the
 * L2CAP channel on cfg.psm, or (an ATT channel) reports link_up. */
void hh_link_secured(struct hcihost *h, unsigned i);
/* Channel c goes idle: its ATT state goes (not the att flag). */
void hh_att_chan_reset(struct hh_chan *c);
/* A PDU on the ATT fixed channel of channel i's link. */
void hh_att_on_pdu(struct hcihost *h, unsigned i, const uint8_t *p,
		   size_t len);
/* The next ATT frame of c (an L2CAP basic frame) into pdu; false if
 * none. */
bool hh_att_next_pdu(struct hh_chan *c, uint8_t *pdu, size_t cap,
		     size_t *ret_len);

/* ---- hcihost_crypto.c ---------------------------------------------- */

/* Queue the crypto requests of the pairings in progress. */
void hh_sec_pump(struct hcihost *h);
/* c's pairing is done with the controller's key pair (renewed once no
 * pairing holds it). */
void hh_crypto_release_key(struct hcihost *h, struct hh_chan *c);
/* LE Read Local P-256 Public Key Complete, LE Generate DHKey Complete
 * (or their Command Status refusal). */
void hh_crypto_local_key(struct hcihost *h, uint8_t status,
			 const uint8_t key[SMP_P256_KEY_LEN]);
void hh_crypto_dhkey(struct hcihost *h, uint8_t status,
		     const uint8_t dhkey[32]);
/* The answer to c if it is a crypto command (true), else false. */
bool hh_crypto_cmd_answer(struct hcihost *h, const struct hh_cmd *c,
			  uint8_t status,
			  const struct hci_evt_cmd_complete *cc);
/* The request out had no answer in time: the host fails (true). */
bool hh_crypto_tick(struct hcihost *h);

#endif
