/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_SMP_PDU_H
#define TTWS_CORE_SMP_PDU_H

/*
 * Security Manager Protocol PDUs (Core 5.4, Vol 3, Part H, 3.3 to 3.6):
 * the payload of an L2CAP basic frame on the LE Security Manager fixed
 * channel (CID 0x0006, Vol 3, Part A, 2.1). Bytes in, struct out, and
 * back. Every PDU has a fixed length for its code; a decoder refuses
 * anything else, and reserved values of the fields it names.
 *
 * Decode errors:
 *	-EBADMSG   empty
 *	-ENOMSG    a code this decoder does not know (the answer is Pairing
 *	           Failed, Command Not Supported, 3.5.5)
 *	-EMSGSIZE  longer or shorter than the code's PDU, or over the SMP
 *	           MTU of LE Secure Connections (65 octets, 3.2)
 *	-ERANGE    a reserved value: IO Capability over 0x04, OOB data flag
 *	           over 0x01, Maximum Encryption Key Size outside 7..16,
 *	           Identity Address type over 0x01, a Keypress Notification
 *	           type over 0x04 (the answer is Invalid Parameters)
 * Reserved bits of AuthReq and of the key distribution fields are
 * ignored on receipt, as 3.5.1 says, and cleared.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hci.h"

#define SMP_CID 0x0006
/* 3.2: the SMP MTU of LE Secure Connections (the Public Key PDU). */
#define SMP_MTU 65

enum smp_code {
	SMP_PAIRING_REQUEST = 0x01,              /* 3.5.1 */
	SMP_PAIRING_RESPONSE = 0x02,             /* 3.5.2 */
	SMP_PAIRING_CONFIRM = 0x03,              /* 3.5.3 */
	SMP_PAIRING_RANDOM = 0x04,               /* 3.5.4 */
	SMP_PAIRING_FAILED = 0x05,               /* 3.5.5 */
	SMP_ENCRYPTION_INFORMATION = 0x06,       /* 3.6.2 */
	SMP_CENTRAL_IDENTIFICATION = 0x07,       /* 3.6.3 */
	SMP_IDENTITY_INFORMATION = 0x08,         /* 3.6.4 */
	SMP_IDENTITY_ADDRESS_INFORMATION = 0x09, /* 3.6.5 */
	SMP_SIGNING_INFORMATION = 0x0a,          /* 3.6.6 */
	SMP_SECURITY_REQUEST = 0x0b,             /* 3.6.7 */
	SMP_PAIRING_PUBLIC_KEY = 0x0c,           /* 3.5.6 */
	SMP_PAIRING_DHKEY_CHECK = 0x0d,          /* 3.5.7 */
	SMP_KEYPRESS_NOTIFICATION = 0x0e,        /* 3.5.8 */
};

/* 3.5.5: Pairing Failed reasons. */
enum smp_reason {
	SMP_PASSKEY_ENTRY_FAILED = 0x01,
	SMP_OOB_NOT_AVAILABLE = 0x02,
	SMP_AUTHENTICATION_REQUIREMENTS = 0x03,
	SMP_CONFIRM_VALUE_FAILED = 0x04,
	SMP_PAIRING_NOT_SUPPORTED = 0x05,
	SMP_ENCRYPTION_KEY_SIZE = 0x06,
	SMP_COMMAND_NOT_SUPPORTED = 0x07,
	SMP_UNSPECIFIED_REASON = 0x08,
	SMP_REPEATED_ATTEMPTS = 0x09,
	SMP_INVALID_PARAMETERS = 0x0a,
	SMP_DHKEY_CHECK_FAILED = 0x0b,
	SMP_NUMERIC_COMPARISON_FAILED = 0x0c,
	SMP_BREDR_PAIRING_IN_PROGRESS = 0x0d,
	SMP_CTKD_NOT_ALLOWED = 0x0e,
	SMP_KEY_REJECTED = 0x0f,
};

/* 3.5.1: IO capabilities. */
enum smp_io_cap {
	SMP_IO_DISPLAY_ONLY = 0x00,
	SMP_IO_DISPLAY_YES_NO = 0x01,
	SMP_IO_KEYBOARD_ONLY = 0x02,
	SMP_IO_NO_INPUT_NO_OUTPUT = 0x03,
	SMP_IO_KEYBOARD_DISPLAY = 0x04,
};

/* 3.5.1: AuthReq bits. */
#define SMP_AUTH_BONDING 0x01 /* Bonding_Flags = 01 */
#define SMP_AUTH_BONDING_MASK 0x03
#define SMP_AUTH_MITM 0x04
#define SMP_AUTH_SC 0x08
#define SMP_AUTH_KEYPRESS 0x10
#define SMP_AUTH_CT2 0x20
#define SMP_AUTH_DEFINED 0x3f

/* 3.6.1: key distribution bits. */
#define SMP_DIST_ENC_KEY 0x01
#define SMP_DIST_ID_KEY 0x02
#define SMP_DIST_SIGN_KEY 0x04
#define SMP_DIST_LINK_KEY 0x08
#define SMP_DIST_DEFINED 0x0f

#define SMP_KEY_SIZE_MIN 7
#define SMP_KEY_SIZE_MAX 16

/* 3.5.1, 3.5.2 */
struct smp_pairing {
	uint8_t io_cap;        /* enum smp_io_cap */
	uint8_t oob;           /* 0 or 1 */
	uint8_t auth_req;      /* SMP_AUTH_* */
	uint8_t max_key_size;  /* 7..16 octets */
	uint8_t init_key_dist; /* SMP_DIST_* */
	uint8_t resp_key_dist;
};

struct smp_pdu {
	uint8_t code; /* enum smp_code */
	union {
		struct smp_pairing pairing;
		/* Confirm, Random, DHKey Check, Encryption and Identity
		 * Information, Signing Information: 16 octets, wire order. */
		uint8_t value[16];
		uint8_t reason;      /* Pairing Failed */
		uint8_t auth_req;    /* Security Request */
		uint8_t notification;
		struct {
			uint8_t key[64]; /* X then Y, each LSB first */
		} public_key;
		struct {
			uint8_t type; /* 0 public, 1 static random */
			struct hci_bdaddr addr;
		} id_addr;
		struct {
			uint16_t ediv;
			uint8_t rand[8];
		} central_id;
	};
};

/* Decode one SMP PDU of len octets; errors above, *ret untouched. */
int smp_pdu_decode(const uint8_t *p, size_t len, struct smp_pdu *ret);

/*
 * Encode m into buf (cap octets): 0 with *ret_len, -EINVAL (unknown code
 * or a reserved value, as the decoder would refuse), -ENOBUFS.
 */
int smp_pdu_encode(const struct smp_pdu *m, uint8_t *buf, size_t cap,
		   size_t *ret_len);

/* The PDU length (code included) of a code, 0 for an unknown one. */
size_t smp_pdu_size(uint8_t code);

/* A short name of a Pairing Failed reason, for logs ("unknown reason"
 * for a value 3.5.5 does not define). */
const char *smp_reason_name(uint8_t reason);

#endif
