/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_SMP_HCI_H
#define TTWS_CORE_SMP_HCI_H

/*
 * The HCI commands and events of LE security (Core 5.4, Vol 4, Part E),
 * which core/hci.c does not know: the controller's crypto for pairing
 * (LE Encrypt, LE Rand, LE Read Local P-256 Public Key, LE Generate
 * DHKey), starting encryption (LE Enable Encryption), answering the
 * controller's LTK requests, and the events they lead to. Same
 * conventions as hci.h: packets without the H4 indicator, encoders
 * range-check and write nothing on error, the decoder never reads
 * outside the packet. Keys and data are in HCI order (least significant
 * octet first).
 *
 * smp_hci_evt_decode() takes any event packet and returns -ENOMSG for
 * one that is not among these (hci_evt_decode() handles the rest), and
 * hci.h's other errors for a malformed one of these.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hci.h"

enum smp_hci_opcode {
	SMP_HCI_OP_LE_ENCRYPT = 0x2017,               /* 7.8.22 */
	SMP_HCI_OP_LE_RAND = 0x2018,                  /* 7.8.23 */
	SMP_HCI_OP_LE_ENABLE_ENCRYPTION = 0x2019,     /* 7.8.24 */
	SMP_HCI_OP_LE_LTK_REPLY = 0x201a,             /* 7.8.25 */
	SMP_HCI_OP_LE_LTK_NEG_REPLY = 0x201b,         /* 7.8.26 */
	SMP_HCI_OP_LE_READ_LOCAL_P256 = 0x2025,       /* 7.8.36 */
	SMP_HCI_OP_LE_GENERATE_DHKEY = 0x2026,        /* 7.8.37 (v1) */
};

/* Events and LE subevents. */
#define SMP_HCI_EVT_ENCRYPTION_CHANGE 0x08       /* 7.7.8 (v1) */
#define SMP_HCI_EVT_KEY_REFRESH_COMPLETE 0x30    /* 7.7.39 */
#define SMP_HCI_LE_LTK_REQUEST 0x05              /* 7.7.65.5 */
#define SMP_HCI_LE_READ_LOCAL_P256_COMPLETE 0x08 /* 7.7.65.8 */
#define SMP_HCI_LE_GENERATE_DHKEY_COMPLETE 0x09  /* 7.7.65.9 */

/* LE event mask bits (7.8.1: bit n is subevent n + 1). */
#define SMP_HCI_LE_MASK_LTK_REQUEST (UINT64_C(1) << 4)
#define SMP_HCI_LE_MASK_READ_LOCAL_P256_COMPLETE (UINT64_C(1) << 7)
#define SMP_HCI_LE_MASK_GENERATE_DHKEY_COMPLETE (UINT64_C(1) << 8)

/* Vol 1, Part F: what a refused LTK means to the central. */
#define SMP_HCI_PIN_OR_KEY_MISSING 0x06

/* Encoders: one complete command packet into buf, as hci.h's. */
int smp_hci_le_encrypt(const uint8_t key[16], const uint8_t plain[16],
		       uint8_t *buf, size_t cap, size_t *ret_len);
int smp_hci_le_rand(uint8_t *buf, size_t cap, size_t *ret_len);
/* handle <= HCI_HANDLE_MAX; rand 8 octets, ediv, ltk 16. */
int smp_hci_le_enable_encryption(uint16_t handle, const uint8_t rand[8],
				 uint16_t ediv, const uint8_t ltk[16],
				 uint8_t *buf, size_t cap, size_t *ret_len);
int smp_hci_le_ltk_reply(uint16_t handle, const uint8_t ltk[16],
			 uint8_t *buf, size_t cap, size_t *ret_len);
int smp_hci_le_ltk_neg_reply(uint16_t handle, uint8_t *buf, size_t cap,
			     size_t *ret_len);
int smp_hci_le_read_local_p256(uint8_t *buf, size_t cap, size_t *ret_len);
/* key: X then Y, 32 octets each. */
int smp_hci_le_generate_dhkey(const uint8_t key[64], uint8_t *buf,
			      size_t cap, size_t *ret_len);

enum smp_hci_kind {
	SMP_HCI_ENCRYPTION_CHANGE,
	SMP_HCI_KEY_REFRESH_COMPLETE,
	SMP_HCI_LTK_REQUEST,
	SMP_HCI_LOCAL_P256,
	SMP_HCI_DHKEY,
};

struct smp_hci_evt {
	enum smp_hci_kind kind;
	uint8_t status;    /* all but the LTK request */
	uint16_t handle;   /* encryption change, refresh, LTK request */
	uint8_t enabled;   /* encryption change: 0 off, 1 on (0x01/0x02
			    * for BR/EDR; any non-zero is on) */
	uint8_t rand[8];   /* LTK request */
	uint16_t ediv;
	uint8_t key[64];   /* local P-256 public key */
	uint8_t dhkey[32];
};

/* Decode one event packet; errors as hci_evt_decode(). */
int smp_hci_evt_decode(const uint8_t *pkt, size_t len,
		       struct smp_hci_evt *ret);

/*
 * The n return octets after Status of a Command Complete (LE Encrypt:
 * 16, LE Rand: 8, the LTK replies: 2, the handle). 0 with out filled;
 * -EIO when Status is not success (whatever the length); -EBADMSG when
 * the parameters are not exactly Status and n octets.
 */
int smp_hci_cc_data(const struct hci_evt_cmd_complete *cc, uint8_t *out,
		    size_t n);

#endif
