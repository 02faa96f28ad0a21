/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_ATT_H
#define TTWS_CORE_ATT_H

/*
 * The Attribute Protocol (Core 5.4, Vol 3, Part F) as a GATT client
 * needs it on the LE fixed channel 0x0004: the PDUs of 3.4 that discover
 * a service, its characteristics and a descriptor (GATT, Vol 3, Part G,
 * 4.4.2, 4.6.1, 4.7.1), read, write, and take notifications and
 * indications; and the answers a client with no attributes of its own
 * owes a peer that sends it requests. Pure: bytes in, structs out, and
 * back; no allocation, no clock. Multi-octet fields are little-endian
 * (3.3, Part F). What comes from the peer is hostile: the decoder reads
 * no octet past len and refuses every layout the specification does not
 * allow.
 *
 * Decode errors (att_decode), first failure wins:
 *	-EBADMSG   no opcode, fewer octets than the PDU's layout, or a list
 *	           response that is not a whole number (at least one) of
 *	           elements
 *	-EMSGSIZE  more octets than a fixed-size PDU's layout
 *	-ENOMSG    an opcode this decoder does not take (Read Blob, Prepare
 *	           Write, ...): att_opcode_kind() says what it is, and
 *	           att_answer() what it is owed
 *	-EPROTO    a field the specification forbids: Error Code 0x00,
 *	           a Find Information format other than 1 or 2, a Read By
 *	           Type length under 2, attribute handle 0x0000 in a read,
 *	           write, notification or indication (3.2.2)
 *	-ERANGE    a request's handle range with Starting Handle 0x0000 or
 *	           above the Ending Handle (answered with Invalid Handle:
 *	           3.4.3.1, 3.4.3.3, 3.4.4.1, 3.4.4.9)
 * Data pointers in a decoded PDU point into the buffer decoded.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ATT_CID 0x0004
#define ATT_MTU_DEFAULT 23 /* LE's minimum and default ATT_MTU (3.2.8) */
#define ATT_ERROR_RSP_SIZE 5

/* Opcodes (3.4.8). Bit 6 is the Command Flag, bit 7 the
 * Authentication Signature Flag (3.3.1). */
enum att_opcode {
	ATT_ERROR_RSP = 0x01,
	ATT_MTU_REQ = 0x02,
	ATT_MTU_RSP = 0x03,
	ATT_FIND_INFO_REQ = 0x04,
	ATT_FIND_INFO_RSP = 0x05,
	ATT_FIND_BY_TYPE_REQ = 0x06,
	ATT_FIND_BY_TYPE_RSP = 0x07,
	ATT_READ_BY_TYPE_REQ = 0x08,
	ATT_READ_BY_TYPE_RSP = 0x09,
	ATT_READ_REQ = 0x0a,
	ATT_READ_RSP = 0x0b,
	ATT_READ_BLOB_REQ = 0x0c,
	ATT_READ_BLOB_RSP = 0x0d,
	ATT_READ_MULT_REQ = 0x0e,
	ATT_READ_MULT_RSP = 0x0f,
	ATT_READ_BY_GROUP_REQ = 0x10,
	ATT_READ_BY_GROUP_RSP = 0x11,
	ATT_WRITE_REQ = 0x12,
	ATT_WRITE_RSP = 0x13,
	ATT_PREP_WRITE_REQ = 0x16,
	ATT_PREP_WRITE_RSP = 0x17,
	ATT_EXEC_WRITE_REQ = 0x18,
	ATT_EXEC_WRITE_RSP = 0x19,
	ATT_NOTIFY = 0x1b,
	ATT_INDICATE = 0x1d,
	ATT_CONFIRM = 0x1e,
	ATT_READ_MULT_VAR_REQ = 0x20,
	ATT_READ_MULT_VAR_RSP = 0x21,
	ATT_MULT_NOTIFY = 0x23,
	ATT_WRITE_CMD = 0x52,
	ATT_SIGNED_WRITE_CMD = 0xd2,
};

#define ATT_OP_COMMAND_FLAG 0x40

/* Error codes (3.4.1.1). */
enum att_ecode {
	ATT_E_INVALID_HANDLE = 0x01,
	ATT_E_READ_NOT_PERMITTED = 0x02,
	ATT_E_WRITE_NOT_PERMITTED = 0x03,
	ATT_E_INVALID_PDU = 0x04,
	ATT_E_INSUFFICIENT_AUTHENTICATION = 0x05,
	ATT_E_REQUEST_NOT_SUPPORTED = 0x06,
	ATT_E_INVALID_OFFSET = 0x07,
	ATT_E_INSUFFICIENT_AUTHORIZATION = 0x08,
	ATT_E_PREPARE_QUEUE_FULL = 0x09,
	ATT_E_ATTRIBUTE_NOT_FOUND = 0x0a,
	ATT_E_ATTRIBUTE_NOT_LONG = 0x0b,
	ATT_E_KEY_SIZE_TOO_SHORT = 0x0c,
	ATT_E_INVALID_VALUE_LENGTH = 0x0d,
	ATT_E_UNLIKELY = 0x0e,
	ATT_E_INSUFFICIENT_ENCRYPTION = 0x0f,
	ATT_E_UNSUPPORTED_GROUP_TYPE = 0x10,
	ATT_E_INSUFFICIENT_RESOURCES = 0x11,
	ATT_E_DATABASE_OUT_OF_SYNC = 0x12,
	ATT_E_VALUE_NOT_ALLOWED = 0x13,
};

/* What an opcode is (3.3, 3.4.8). */
enum att_kind {
	ATT_KIND_UNKNOWN = 0, /* not in Core 5.4, Command Flag clear */
	ATT_KIND_REQUEST,
	ATT_KIND_RESPONSE,
	ATT_KIND_COMMAND,     /* known or not: the Command Flag is set */
	ATT_KIND_NOTIFICATION,
	ATT_KIND_INDICATION,
	ATT_KIND_CONFIRMATION,
};

/* GATT attribute types (Assigned Numbers, 3.5 and 3.7) and the
 * characteristic properties (Vol 3, Part G, 3.3.1.1). */
#define ATT_UUID_PRIMARY_SERVICE 0x2800
#define ATT_UUID_SECONDARY_SERVICE 0x2801
#define ATT_UUID_CHARACTERISTIC 0x2803
#define ATT_UUID_CCCD 0x2902
#define ATT_PROP_BROADCAST 0x01
#define ATT_PROP_READ 0x02
#define ATT_PROP_WRITE_NO_RSP 0x04
#define ATT_PROP_WRITE 0x08
#define ATT_PROP_NOTIFY 0x10
#define ATT_PROP_INDICATE 0x20
/* Client Characteristic Configuration values (Part G, 3.3.3.3). */
#define ATT_CCCD_NOTIFY 0x0001
#define ATT_CCCD_INDICATE 0x0002

/*
 * A UUID as ATT carries it: 2 or 16 octets, little-endian (3.2.1). A
 * 16-bit UUID stands for the Bluetooth Base UUID
 * 0000xxxx-0000-1000-8000-00805F9B34FB with xxxx filled in (Vol 3,
 * Part B, 2.5.1), and compares equal to that 128-bit form.
 */
#define ATT_UUID_STR_SIZE 37 /* 36 characters and the NUL */
struct att_uuid {
	uint8_t len;   /* 2 or 16 */
	uint8_t le[16]; /* le[0..len) */
};

struct att_range {
	uint16_t start;
	uint16_t end;
};

/* 3.4.1.1 */
struct att_error {
	uint8_t req_opcode; /* the request that failed */
	uint16_t handle;    /* in error, 0x0000 when none */
	uint8_t code;       /* enum att_ecode */
};

/* 3.4.3.3: the attribute type is a 16-bit UUID; the value to match,
 * 0 to ATT_MTU - 7 octets. */
struct att_find_by_type {
	struct att_range range;
	uint16_t type;
	const uint8_t *value;
	size_t value_len;
};

/* 3.4.4.1 and 3.4.4.9 */
struct att_type_req {
	struct att_range range;
	struct att_uuid type;
};

/*
 * The list of a Find Information (3.4.3.2), Find By Type Value (3.4.3.4)
 * or Read By Type (3.4.4.2) response: data is len octets, a whole
 * number of elem_len-octet elements, at least one. Walk it with the
 * att_iter_*() functions, which check the handles.
 */
struct att_list {
	uint8_t format;   /* Find Information: 1 (16-bit UUIDs) or 2
			   * (128-bit); else 0 */
	uint8_t elem_len; /* 4 or 18; 4; Read By Type's Length, >= 2 */
	const uint8_t *data;
	size_t len;
};

/* Read Request (value_len 0), Write Request and Command, Handle Value
 * Notification and Indication (3.4.4.3, 3.4.5.1, 3.4.5.3, 3.4.7). */
struct att_hv {
	uint16_t handle;
	const uint8_t *value;
	size_t value_len;
};

struct att_pdu {
	uint8_t opcode; /* enum att_opcode */
	union {
		struct att_error error;         /* ERROR_RSP */
		uint16_t mtu;                   /* MTU_REQ, MTU_RSP: the
						 * sender's Rx MTU */
		struct att_range range;         /* FIND_INFO_REQ */
		struct att_find_by_type fbt;    /* FIND_BY_TYPE_REQ */
		struct att_type_req type_req;   /* READ_BY_TYPE_REQ,
						 * READ_BY_GROUP_REQ */
		struct att_list list;           /* FIND_INFO_RSP,
						 * FIND_BY_TYPE_RSP,
						 * READ_BY_TYPE_RSP */
		struct att_hv hv;               /* READ_REQ, WRITE_REQ,
						 * WRITE_CMD, NOTIFY,
						 * INDICATE */
		struct att_hv value;            /* READ_RSP: handle 0 */
	};
};

/*
 * Decode one ATT PDU (buf, len octets: an L2CAP payload on CID 0x0004).
 * Takes Error Response, both Exchange MTU PDUs, Find Information, Find
 * By Type Value, Read By Type, Read By Group Type (request), Read, Write
 * (Request, Response, Command), Handle Value Notification, Indication
 * and Confirmation. Returns 0, or an error of the table above; *ret
 * untouched on error.
 */
int att_decode(const uint8_t *buf, size_t len, struct att_pdu *ret);

/*
 * Encode p into buf (cap octets); the length in *ret_len. Takes the
 * opcodes att_decode() takes, and writes only what it would accept
 * (list data checked as it would be). Returns 0, -EINVAL (an opcode it
 * does not take, or a field att_decode() would refuse) or -ENOBUFS;
 * buf untouched on error.
 */
int att_encode(const struct att_pdu *p, uint8_t *buf, size_t cap,
	       size_t *ret_len);

/* An Error Response for req_opcode (3.4.1.1); 0 or -ENOBUFS; -EINVAL
 * for code 0x00. */
int att_encode_error(uint8_t req_opcode, uint16_t handle, uint8_t code,
		     uint8_t *buf, size_t cap, size_t *ret_len);

/* What opcode is; unknown opcodes with the Command Flag are commands. */
enum att_kind att_opcode_kind(uint8_t opcode);

/* Whether opcode is a command: Command Flag set, never answered (3.3.1:
 * "a server shall ignore a command it does not support"). */
bool att_opcode_is_command(uint8_t opcode);

/*
 * Whether the receiver of opcode owes an answer (a response or an Error
 * Response): requests, and unknown opcodes without the Command Flag —
 * a later version's request that goes unanswered stalls the peer's ATT
 * bearer for 30 s (3.3.3), an unneeded Error Response costs 5 octets.
 * Indications are owed a confirmation instead (false here).
 */
bool att_opcode_needs_answer(uint8_t opcode);

/* The response opcode that completes request req (3.4.8), or 0 for an
 * opcode that is not a request. */
uint8_t att_response_opcode(uint8_t req);

/*
 * What a GATT client with no attributes owes the peer for pdu (len
 * octets, as received), into buf (cap octets). Returns 1 with the
 * answer in buf and *ret_len, 0 when nothing is owed, -ENOBUFS, or
 * -EINVAL for our_mtu under 23. Answers:
 *	Exchange MTU Request       Exchange MTU Response with our_mtu
 *	Find Information, Find By Type Value, Read By Type, Read By Group
 *	Type Requests              Attribute Not Found at the Starting
 *	                           Handle; Invalid Handle for a bad range;
 *	                           Unsupported Group Type for a group type
 *	                           other than a service (3.4.4.9)
 *	a malformed request above  Invalid PDU, handle 0x0000
 *	any other request, and unknown opcodes without the Command Flag
 *	                           Request Not Supported, handle 0x0000
 *	                           (3.4.1.1)
 *	a well-formed Indication   Handle Value Confirmation (3.4.7.3)
 *	anything else              nothing
 */
int att_answer(const uint8_t *pdu, size_t len, uint16_t our_mtu,
	       uint8_t *buf, size_t cap, size_t *ret_len);

/* The Error Code's name as 3.4.1.1 gives it (static), or a sentence
 * for a reserved or application code. */
const char *att_error_name(uint8_t code);

/* An errno for an Error Code: -EACCES (authentication, authorization,
 * encryption, key size: pairing may help), -ENOENT (Attribute Not
 * Found, Invalid Handle), -EOPNOTSUPP (Request Not Supported), else
 * -EPROTO. */
int att_error_errno(uint8_t code);

/* ---- UUIDs ---------------------------------------------------------- */

void att_uuid16(uint16_t v, struct att_uuid *ret);

/* From len little-endian octets: 0, or -EINVAL unless len is 2 or 16. */
int att_uuid_from_le(const uint8_t *buf, size_t len, struct att_uuid *ret);

/* From text: 4 hex digits ("2902") or the 36-character form
 * ("6333651e-c481-4a3e-9169-7c902aad37bb", either case). 0 or -EINVAL. */
int att_uuid_parse(const char *text, struct att_uuid *ret);

/* The 36-character form, lowercase, into buf (ATT_UUID_STR_SIZE). */
void att_uuid_format(const struct att_uuid *u, char *buf);

/* Equal once both are in their 128-bit form. */
bool att_uuid_eq(const struct att_uuid *a, const struct att_uuid *b);

/* ---- list responses ------------------------------------------------- */

/*
 * A walk over a list response, checking each element's handles against
 * the request's range (start..end) and the previous element: handles
 * non-zero, inside the range, strictly increasing; for Find By Type
 * Value, Found Attribute Handle <= Group End Handle, and each group
 * after the previous one's end.
 */
struct att_iter {
	uint8_t opcode;
	uint8_t elem_len;
	const uint8_t *p;
	size_t left;
	struct att_range range;
	uint32_t next_min; /* lowest handle the next element may have */
};

struct att_info {        /* Find Information */
	uint16_t handle;
	struct att_uuid type;
};

struct att_group {       /* Find By Type Value */
	uint16_t found;
	uint16_t group_end;
};

struct att_data {        /* Read By Type: value into the PDU */
	uint16_t handle;
	const uint8_t *value;
	size_t value_len;
};

/* Start a walk over rsp (a decoded list response) for the request's
 * range. 0, or -EINVAL (not a list response, or a bad range). */
int att_iter_init(struct att_iter *it, const struct att_pdu *rsp,
		  struct att_range range);

/*
 * The next element: 1 with *ret, 0 at the end, -EINVAL (the list is of
 * another response), -EPROTO (handle 0x0000, not increasing, group end
 * before found), -ERANGE (outside the request's range). After an error
 * the walk is over.
 */
int att_iter_info(struct att_iter *it, struct att_info *ret);
int att_iter_group(struct att_iter *it, struct att_group *ret);
int att_iter_data(struct att_iter *it, struct att_data *ret);

/*
 * A characteristic declaration read with Read By Type 0x2803 (Part G,
 * 3.3.1): properties, value handle, UUID of 2 or 16 octets.
 */
struct att_chr {
	uint16_t decl;  /* the declaration's handle */
	uint8_t props;  /* ATT_PROP_* */
	uint16_t value; /* the value's handle */
	struct att_uuid uuid;
};

/* 0, -EBADMSG (a value of neither 5 nor 19 octets) or -EPROTO (a value
 * handle not after the declaration's: Part G, 3.3 puts it after). */
int att_chr_parse(const struct att_data *d, struct att_chr *ret);

#endif
