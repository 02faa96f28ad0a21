/* SPDX-License-Identifier: MIT */
#ifndef TTWS_TESTS_HCIFAKE_H
#define TTWS_TESTS_HCIFAKE_H

/*
 * A fake controller for the hcihost tests (test-hcihost*.c): it decodes
 * what the host writes (commands by opcode and parameters, ACL by handle
 * and L2CAP PDU) and answers with hand-built events and ACL packets, so
 * that every exchange is checked byte by byte against Core 5.4 (Vol 4,
 * Part E for HCI; Vol 3, Part A for L2CAP) rather than against our own
 * codecs. One host at a time, in F; cmocka asserts inside.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hcihost.h"

#define data(args...) ((const uint8_t[]){ args })

#define MS (UINT64_C(1000000))
#define FRAME_MAX 600
#define NOUT 512
#define NMSG 16
#define NSENT 64

/* Opcodes, written out from Vol 4, Part E, 7 (not taken from hci.h). */
#define OP_RESET 0x0c03
#define OP_SET_EVENT_MASK 0x0c01
#define OP_LE_SET_EVENT_MASK 0x2001
#define OP_READ_BD_ADDR 0x1009
#define OP_LE_READ_BUFFER_SIZE_V2 0x2060
#define OP_LE_READ_BUFFER_SIZE 0x2002
#define OP_READ_BUFFER_SIZE 0x1005
#define OP_LE_CREATE_CONN 0x200d
#define OP_LE_CREATE_CONN_CANCEL 0x200e
#define OP_DISCONNECT 0x0406
#define OP_LE_SET_ADV_PARAMS 0x2006
#define OP_LE_SET_ADV_DATA 0x2008
#define OP_LE_SET_ADV_ENABLE 0x200a

#define PSM 0x0080
#define PEER_CID 0x0055 /* the fake peer's L2CAP CID */
#define HOST_CID 0x0040

/* The controller's address, and the two peers of the tests. */
extern const struct hci_bdaddr LOCAL, PEER_A, PEER_B;

struct frame {
	uint8_t b[FRAME_MAX];
	size_t len;
};

struct fake {
	struct hcihost *h;
	struct hcihost_config cfg;
	uint64_t now;

	/* What the host wrote, oldest first. */
	struct frame out[NOUT];
	unsigned out_rd, out_wr;
	int write_err; /* make ops->write fail */

	unsigned ready, downs;
	int down_err;
	struct hci_bdaddr local;
	unsigned opens[HCIHOST_MAX_CHANS], closes[HCIHOST_MAX_CHANS];
	int close_err[HCIHOST_MAX_CHANS];
	bool reopen_on_close; /* re-open from inside chan_closed */

	uint8_t msg[NMSG][HCIHOST_MAX_SDU];
	size_t msg_len[NMSG];
	unsigned msg_ch[NMSG], nmsg;

	uint64_t sent[NSENT];
	unsigned sent_ch[NSENT], nsent;
	unsigned intervals[HCIHOST_MAX_CHANS];
	uint32_t interval_us[HCIHOST_MAX_CHANS];

	unsigned trace_tx, trace_rx, in_frames;

	/* The fake peer's L2CAP view of channel ch. */
	uint16_t peer_credits[HCIHOST_MAX_CHANS]; /* K-frames it may send */
	uint16_t host_mps[HCIHOST_MAX_CHANS];
	unsigned credit_inds[HCIHOST_MAX_CHANS];

	/* ATT channels (hcihost_set_att()): link_up reports, and the last
	 * ATT PDU of each. */
	unsigned link_ups[HCIHOST_MAX_CHANS], atts[HCIHOST_MAX_CHANS];
	uint8_t att[HCIHOST_MAX_CHANS][HCIHOST_ATT_MTU];
	size_t att_len[HCIHOST_MAX_CHANS];
};

extern struct fake F;
/* The host callbacks that record into F. */
extern const struct hcihost_ops hf_ops;

uint16_t hf_le16(const uint8_t *p);
void hf_put16(uint8_t *p, uint16_t v);
unsigned hf_pending(void);
struct frame *hf_pop(void);
void hf_no_output(void);
const uint8_t *hf_expect_cmd(uint16_t opcode, size_t *ret_plen);
void hf_feed(const uint8_t *b, size_t len);
void hf_evt(uint8_t code, const uint8_t *p, size_t plen);
void hf_cc(uint16_t opcode, const uint8_t *ret, size_t n);
void hf_cc_status(uint16_t opcode, uint8_t status);
void hf_cs(uint16_t opcode, uint8_t status);
void hf_le_conn_complete(uint8_t status, uint16_t handle, uint8_t role, const struct hci_bdaddr *peer);
void hf_disconn_complete(uint16_t handle, uint8_t reason);
void hf_nocp(uint16_t handle, uint16_t count);
void hf_acl_in(uint16_t handle, uint8_t pb, const uint8_t *d, size_t n);
void hf_pdu_in(uint16_t handle, uint16_t cid, const uint8_t *d, size_t n, size_t frag);
void hf_sig_in(uint16_t handle, uint8_t code, uint8_t ident, const uint8_t *d, size_t n);
uint16_t hf_pdu_out(uint16_t handle, uint8_t *buf, size_t *ret_len, bool complete_each, unsigned *ret_frags);
const uint8_t *hf_sig_out(uint16_t handle, uint8_t code, uint8_t *ret_ident, size_t *ret_len);
void hf_fake_new(enum hcihost_role role);
int hf_teardown(void **state);
void hf_boot(uint16_t acl_len, uint8_t acl_num);
void hf_central_open(unsigned ch, const struct hci_bdaddr *peer, uint16_t handle, uint16_t mtu, uint16_t mps, uint16_t credits);
void hf_fill(uint8_t *b, size_t n, unsigned seed);

/* A K-frame from the fake peer on channel ch (spends one of its credits),
 * in ACL fragments of at most frag octets. */
void hf_kframe_in(unsigned ch, uint16_t handle, const uint8_t *d, size_t n,
		  size_t frag);

#endif
