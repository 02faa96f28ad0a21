/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_L2LE_H
#define TTWS_CORE_L2LE_H

/*
 * L2CAP LE credit-based connection-oriented channels (Core 5.4, Vol 3,
 * Part A): the signaling commands on the LE signaling channel (CID
 * 0x0005, section 4), K-frames (3.4.3) with SDU segmentation to the
 * peer's MPS and reassembly up to our MTU, and credit accounting in both
 * directions (section 10.1). Pure: bytes in, structs out; the caller
 * routes PDUs by CID (acl_reasm_feed() gives them) and sends what these
 * functions write. No allocation: a channel is a caller-owned struct
 * with a caller-owned receive buffer.
 *
 * Every encoder here writes a whole L2CAP PDU, basic header (Length,
 * CID) included, ready for acl_frag_init().
 *
 * Signaling decode errors (l2le_sig_decode), first failure wins:
 *	-EBADMSG    fewer than the 4-octet command header
 *	-EOVERFLOW  the command's Length runs past the frame
 *	-E2BIG      octets after the command: on CID 0x0005 a C-frame
 *	            carries exactly one command (section 4)
 *	-EINVAL     Identifier 0x00, which section 4 forbids
 *	-ENOMSG     a code this decoder does not know: answer with
 *	            l2le_encode_reject() and L2LE_REJECT_NOT_UNDERSTOOD
 *	-ENODATA    data shorter than the command's layout
 *	-EMSGSIZE   data longer than the command's layout
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define L2LE_HDR_SIZE 4       /* basic header: Length, CID (3.1) */
#define L2LE_SIG_HDR_SIZE 4   /* Code, Identifier, Length (4) */
#define L2LE_SDU_LEN_SIZE 2   /* in the first K-frame of an SDU (3.4.3) */
#define L2LE_CID_SIGNALING 0x0005
#define L2LE_CID_DYN_MIN 0x0040 /* LE-U dynamic CIDs (2.1) */
#define L2LE_CID_DYN_MAX 0x007f
#define L2LE_MTU_MIN 23       /* 4.22 */
#define L2LE_MPS_MIN 23
#define L2LE_MPS_MAX 65533
#define L2LE_CREDITS_MAX 65535
/* SPSM ranges for LE (4.22): 0x0001-0x007F SIG-assigned, 0x0080-0x00FF
 * dynamic. */
#define L2LE_SPSM_MAX 0x00ff

/* Largest signaling PDU encoded here, basic header included. */
#define L2LE_SIG_MAX (L2LE_HDR_SIZE + L2LE_SIG_HDR_SIZE + 10)

/* Signaling command codes (4, Table 4.2) used on LE-U. */
enum l2le_code {
	L2LE_COMMAND_REJECT = 0x01,              /* 4.1 */
	L2LE_DISCONNECTION_REQ = 0x06,           /* 4.6 */
	L2LE_DISCONNECTION_RSP = 0x07,           /* 4.7 */
	L2LE_CONN_PARAM_UPDATE_REQ = 0x12,       /* 4.20 */
	L2LE_CONN_PARAM_UPDATE_RSP = 0x13,       /* 4.21 */
	L2LE_LE_CREDIT_CONN_REQ = 0x14,          /* 4.22 */
	L2LE_LE_CREDIT_CONN_RSP = 0x15,          /* 4.23 */
	L2LE_FLOW_CONTROL_CREDIT_IND = 0x16,     /* 4.24 */
};

/* Command Reject reasons (4.1). */
enum l2le_reject_reason {
	L2LE_REJECT_NOT_UNDERSTOOD = 0x0000,
	L2LE_REJECT_SIG_MTU_EXCEEDED = 0x0001,
	L2LE_REJECT_INVALID_CID = 0x0002,
};

/* LE Credit Based Connection Response results (4.23). */
enum l2le_result {
	L2LE_RESULT_SUCCESS = 0x0000,
	L2LE_RESULT_SPSM_NOT_SUPPORTED = 0x0002,
	L2LE_RESULT_NO_RESOURCES = 0x0004,
	L2LE_RESULT_INSUFFICIENT_AUTHENTICATION = 0x0005,
	L2LE_RESULT_INSUFFICIENT_AUTHORIZATION = 0x0006,
	L2LE_RESULT_KEY_SIZE_TOO_SHORT = 0x0007,
	L2LE_RESULT_INSUFFICIENT_ENCRYPTION = 0x0008,
	L2LE_RESULT_INVALID_SOURCE_CID = 0x0009,
	L2LE_RESULT_SOURCE_CID_ALLOCATED = 0x000a,
	L2LE_RESULT_UNACCEPTABLE_PARAMETERS = 0x000b,
};

/* Connection Parameter Update Response results (4.21). */
enum l2le_param_result {
	L2LE_PARAM_ACCEPTED = 0x0000,
	L2LE_PARAM_REJECTED = 0x0001,
};

/* 4.22 */
struct l2le_conn_req {
	uint16_t spsm;
	uint16_t scid;
	uint16_t mtu;
	uint16_t mps;
	uint16_t credits;
};

/* 4.23: on a refusal every field but result is 0. */
struct l2le_conn_rsp {
	uint16_t dcid;
	uint16_t mtu;
	uint16_t mps;
	uint16_t credits;
	uint16_t result; /* enum l2le_result */
};

/* 4.6 and 4.7 share the layout. DCID is the endpoint on the device that
 * receives the request; the response echoes both. */
struct l2le_disconn {
	uint16_t dcid;
	uint16_t scid;
};

/* 4.20, units as HCI LE Connection Update (1.25 ms, events, 10 ms). */
struct l2le_conn_param {
	uint16_t interval_min;
	uint16_t interval_max;
	uint16_t latency;
	uint16_t timeout;
};

/* 4.24: CID is the source CID of the sender of the credits, i.e. the
 * receiver finds the channel by its remote CID. */
struct l2le_credit_ind {
	uint16_t cid;
	uint16_t credits;
};

/* 4.1: reason, then 0, 2 or 4 octets of data by reason. */
struct l2le_reject {
	uint16_t reason; /* enum l2le_reject_reason */
	uint8_t data_len;
	uint8_t data[4];
};

struct l2le_sig {
	uint8_t code; /* enum l2le_code */
	uint8_t ident;
	union {
		struct l2le_reject reject;
		struct l2le_disconn disconn; /* request and response */
		struct l2le_conn_param conn_param;
		uint16_t conn_param_result; /* enum l2le_param_result */
		struct l2le_conn_req conn_req;
		struct l2le_conn_rsp conn_rsp;
		struct l2le_credit_ind credit_ind;
	};
};

/*
 * Decode the payload of a PDU received on CID 0x0005 (after the basic
 * header). Returns 0, or an error of the table above; *ret untouched on
 * error.
 */
int l2le_sig_decode(const uint8_t *buf, size_t len, struct l2le_sig *ret);

/*
 * Code and Identifier of a command too broken or too new to decode, so
 * that it can be answered (4.1: a reject carries the request's
 * Identifier). Returns 0, or -EBADMSG if len < 2.
 */
int l2le_sig_peek(const uint8_t *buf, size_t len, uint8_t *ret_code,
		  uint8_t *ret_ident);

/*
 * Encode s as a C-frame on CID 0x0005 (basic header included). Returns 0
 * and *ret_len, -EINVAL (unknown code, Identifier 0, reject data_len over
 * 4) or -ENOBUFS; buf untouched on error.
 */
int l2le_sig_encode(const struct l2le_sig *s, uint8_t *buf, size_t cap,
		    size_t *ret_len);

/* Command Reject (4.1) answering Identifier ident; data as for reason:
 * none, the signaling MTU, or the local and remote CID. */
int l2le_encode_reject(uint8_t ident, enum l2le_reject_reason reason,
		       uint16_t a, uint16_t b, uint8_t *buf, size_t cap,
		       size_t *ret_len);

/* ---- channels ------------------------------------------------------ */

enum l2le_state {
	L2LE_CLOSED = 0,
	L2LE_LISTEN,             /* waiting for a request on spsm */
	L2LE_WAIT_CONNECT_RSP,   /* our request is out */
	L2LE_OPEN,
	L2LE_WAIT_DISCONNECT_RSP,
};

/* What this end accepts, and the credits it grants at connection. */
struct l2le_local {
	uint16_t mtu;     /* largest SDU we reassemble, >= 23 */
	uint16_t mps;     /* largest K-frame payload, 23..65533; choosing
			   * LE_ACL_Data_Packet_Length - 4 keeps each
			   * K-frame in one ACL packet */
	uint16_t credits; /* K-frames the peer may send at first */
};

struct l2le_stats {
	uint64_t sdus_tx;
	uint64_t kframes_tx;
	uint64_t stalls;         /* times a send found no credit */
	uint64_t sdus_rx;
	uint64_t kframes_rx;
	uint64_t credits_granted;
	uint64_t err_no_credit;  /* peer sent a K-frame with no credit */
	uint64_t err_mps;        /* K-frame payload over our MPS */
	uint64_t err_mtu;        /* SDU Length over our MTU */
	uint64_t err_short;      /* first K-frame without an SDU Length */
	uint64_t err_overrun;    /* K-frames beyond the SDU Length */
	uint64_t err_credit_overflow; /* peer's credits pushed ours over
				       * 65535 */
};

/* An SDU received. data points into the channel's receive buffer (or
 * into the K-frame for an SDU in one frame): valid until the next
 * l2le_recv() on the channel and as long as the frame passed in. */
struct l2le_sdu {
	const uint8_t *data;
	uint16_t len;
};

/* Public for embedding; modify only through the functions below. */
struct l2le_chan {
	enum l2le_state state;
	uint16_t spsm;
	uint16_t local_cid;
	uint16_t remote_cid;
	struct l2le_local local;
	uint16_t remote_mtu;
	uint16_t remote_mps;
	uint16_t tx_credits; /* K-frames we may still send */
	uint16_t rx_credits; /* K-frames the peer may still send */
	uint16_t result;     /* last refusal, enum l2le_result */
	uint8_t ident;       /* of our outstanding request */
	bool stalled;        /* counted once per stall */
	/* Receive reassembly. */
	uint8_t *rx_buf;
	size_t rx_cap;
	uint16_t rx_sdu_len;
	uint16_t rx_len;
	bool rx_busy;
	/* Transmit segmentation: the SDU is borrowed until sent. */
	const uint8_t *tx_sdu;
	uint16_t tx_len;
	uint16_t tx_off;
	bool tx_busy;
	struct l2le_stats stats;
};

/*
 * A closed channel that will use local's parameters; rx_buf (rx_cap
 * octets, at least local->mtu) receives SDUs. Returns 0, or -EINVAL
 * (MTU under 23, MPS outside 23..65533, rx_cap too small).
 */
int l2le_chan_init(struct l2le_chan *ch, const struct l2le_local *local,
		   uint8_t *rx_buf, size_t rx_cap);

/*
 * Initiator: open a channel to spsm from local_cid (0x0040..0x007F, free
 * on this link), request Identifier ident (non-zero, unique among the
 * link's outstanding requests). Writes the LE Credit Based Connection
 * Request (4.22). Returns 0, -EINVAL or -ENOBUFS; -EISCONN unless
 * closed.
 */
int l2le_connect(struct l2le_chan *ch, uint16_t spsm, uint16_t local_cid,
		 uint8_t ident, uint8_t *buf, size_t cap, size_t *ret_len);

/*
 * The response to our request (4.23). Returns:
 *	0             open: remote CID, MTU, MPS and credits taken
 *	-ECONNREFUSED refused: ch->result holds the result, channel closed
 *	-EPROTO       "success" with a DCID outside 0x0040..0x007F, MTU or
 *	              MPS under 23 or MPS over 65533; channel closed (the
 *	              peer may think it open: send it a Disconnection
 *	              Request for rsp->dcid)
 *	-ESRCH        not waiting for a response, or another Identifier:
 *	              nothing changed
 */
int l2le_on_connect_rsp(struct l2le_chan *ch, uint8_t ident,
			const struct l2le_conn_rsp *rsp);

/* Acceptor: take the next request for spsm. -EISCONN unless closed. */
int l2le_listen(struct l2le_chan *ch, uint16_t spsm);

/*
 * A request arrived (4.22); answer it from local_cid. Checks, in order,
 * and the result each gives: channel set up for req->spsm (listening,
 * or already past it), else SPSM_NOT_SUPPORTED; channel listening, else
 * NO_RESOURCES; SCID within 0x0040..0x007F, else INVALID_SOURCE_CID;
 * MTU >= 23 and MPS within 23..65533, else UNACCEPTABLE_PARAMETERS.
 * (SOURCE_CID_ALLOCATED needs the link's other channels: the caller
 * checks that before and answers with l2le_sig_encode().) Writes the
 * response in every case and returns 0 with *ret_result; the channel is
 * open when *ret_result is SUCCESS. -EINVAL (bad local_cid) or -ENOBUFS
 * write nothing.
 */
int l2le_on_connect_req(struct l2le_chan *ch, uint8_t ident,
			const struct l2le_conn_req *req, uint16_t local_cid,
			uint8_t *buf, size_t cap, size_t *ret_len,
			uint16_t *ret_result);

/*
 * Queue one SDU for sending; sdu is borrowed until l2le_tx_busy() turns
 * false. Returns 0, -ENOTCONN, -EBUSY (an SDU is in progress) or
 * -EMSGSIZE (over the peer's MTU).
 */
int l2le_send(struct l2le_chan *ch, const uint8_t *sdu, size_t len);

/* Whether a queued SDU still has K-frames to go. */
bool l2le_tx_busy(const struct l2le_chan *ch);

/*
 * Write the next K-frame of the queued SDU (3.4.3: basic header, SDU
 * Length in the first frame only, then up to MPS - 2 octets in the
 * first and MPS in later ones), spending one credit. Returns 0 and
 * *ret_len, -ENODATA (nothing queued), -EAGAIN (no credit: stalled
 * until l2le_on_credits()), -ENOTCONN or -ENOBUFS (nothing written).
 */
int l2le_next_kframe(struct l2le_chan *ch, uint8_t *buf, size_t cap,
		     size_t *ret_len);

/*
 * A K-frame arrived for this channel (payload after the basic header).
 * Every frame spends one of the peer's credits. Returns:
 *	1          an SDU is complete: *ret_sdu
 *	0          stored, the SDU is not complete yet
 *	-ENOTCONN  channel not open
 *	-ENOBUFS   the peer had no credit left (10.1)
 *	-EMSGSIZE  payload over our MPS (3.4.3)
 *	-EBADMSG   first K-frame shorter than the SDU Length field
 *	-E2BIG     SDU Length over our MTU (3.4.3)
 *	-EOVERFLOW payload beyond the SDU Length (3.4.3)
 * Each error is counted and drops the partial SDU; the specification
 * then requires the receiver to disconnect the channel (l2le_disconnect).
 */
int l2le_recv(struct l2le_chan *ch, const uint8_t *payload, size_t len,
	      struct l2le_sdu *ret_sdu);

/*
 * Flow Control Credit Ind from the peer (4.24). Returns 0, -ENOTCONN, or
 * -EOVERFLOW when our credits would pass 65535 (they are left unchanged
 * and the specification requires disconnecting). 0 credits are a no-op.
 */
int l2le_on_credits(struct l2le_chan *ch, uint16_t credits);

/*
 * Credits to grant so that the peer again holds window (the K-frames the
 * receiver can take now), or 0 while the peer still holds more than half
 * of window: credit indications are batched, not one per K-frame.
 */
uint16_t l2le_credits_due(const struct l2le_chan *ch, uint16_t window);

/*
 * Grant the peer credits (1..65535) with a Flow Control Credit Ind
 * (4.24, our CID). Returns 0, -EINVAL, -ENOTCONN, -EOVERFLOW (the peer
 * would hold more than 65535) or -ENOBUFS; nothing changes on error.
 */
int l2le_grant(struct l2le_chan *ch, uint16_t credits, uint8_t ident,
	       uint8_t *buf, size_t cap, size_t *ret_len);

/*
 * Close: write a Disconnection Request (4.6) and wait for the response.
 * Returns 0, -ENOTCONN (not open) or -EINVAL/-ENOBUFS.
 */
int l2le_disconnect(struct l2le_chan *ch, uint8_t ident, uint8_t *buf,
		    size_t cap, size_t *ret_len);

/*
 * The peer's Disconnection Request (4.6). If d names this channel (DCID
 * ours, SCID the peer's), write the response (4.7) and close: 0.
 * Otherwise -ENOENT and nothing written: answer with l2le_encode_reject()
 * and L2LE_REJECT_INVALID_CID (4.6).
 */
int l2le_on_disconnect_req(struct l2le_chan *ch, uint8_t ident,
			   const struct l2le_disconn *d, uint8_t *buf,
			   size_t cap, size_t *ret_len);

/* The response to our request: closes, 0; -ENOENT if d is not ours or
 * we did not ask. */
int l2le_on_disconnect_rsp(struct l2le_chan *ch,
			   const struct l2le_disconn *d);

/* "CLOSED", "LISTEN", ...; NULL for anything else. */
const char *l2le_state_name(enum l2le_state s);

#endif
