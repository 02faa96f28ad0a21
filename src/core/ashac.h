/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_ASHAC_H
#define TTWS_CORE_ASHAC_H

/*
 * The GATT client of ASHA (source.android.com, Bluetooth > ASHA) for ONE
 * hearing aid: ttwsd is the central and GATT client, the aid the GATT
 * server. A pure state machine driven by the ATT PDUs the aid sends on
 * CID 0x0004 (core/att.h); it writes its own through ops->send. No
 * allocation (the caller owns struct ashac), no clock (time comes in as
 * now_ns, CLOCK_MONOTONIC ns).
 *
 * After ashac_start(), one request at a time (ATT's rule, Core 5.4,
 * Vol 3, Part F, 3.3.2):
 *	Exchange MTU (cfg.mtu; the result min(ours, theirs), at least 23;
 *	  an Error Response keeps 23)
 *	Find By Type Value: the primary service 0xFDF0 (Part G, 4.4.2)
 *	Read By Type 0x2803 over the service, page after page (Part G,
 *	  4.6.1) until Attribute Not Found or the service's end
 *	the five characteristics by UUID, with the properties used:
 *	  ReadOnlyProperties read, AudioControlPoint write, AudioStatus
 *	  read and notify, Volume write without response, LE_PSM_OUT read
 *	Find Information after AudioStatus's value for its Client
 *	  Characteristic Configuration descriptor 0x2902 (Part G, 4.7.1)
 *	Read ReadOnlyProperties (17 octets: one Read Response even at
 *	  ATT_MTU 23), Read LE_PSM_OUT
 *	Write Request 0x0001 to the CCCD: notifications on
 * and then ops->ready. Anything else fails the client (ops->failed, once;
 * nothing more is asked of the aid): a missing service, characteristic,
 * property or descriptor, a value asha.h refuses, an Error Response, a
 * malformed or unexpected response, no answer within cfg.att_timeout_ns
 * (Part F, 3.3.3: the bearer is then dead, nothing more is sent at all).
 *
 * Whatever the state, the aid's own requests are answered (its MTU
 * Request with cfg.mtu, any other with the Error Response att_answer()
 * builds) and its indications confirmed; notifications on AudioStatus
 * go to ops->status, on any other handle they are counted and dropped.
 *
 * Once ready: Start, Stop and Status are Write Requests to
 * AudioControlPoint; Volume a Write Command. They queue (ASHAC_QUEUE)
 * behind the request in flight; a Start holds the queue until it is
 * settled: the Write Response AND an AudioStatus notification (either
 * order: an aid may notify before it answers), or a failure.
 *
 * Callbacks come from inside ashac_start(), ashac_input(), ashac_tick()
 * and the ashac_audio_*(), ashac_status_update(), ashac_volume() calls;
 * they may call those last four and the getters, nothing else.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/asha.h"
#include "core/att.h"

#define ASHAC_QUEUE 4 /* control operations waiting, beyond the one out */
#define ASHAC_ATT_TIMEOUT_NS (30 * UINT64_C(1000000000)) /* Part F 3.3.3 */

struct ashac_cfg {
	uint16_t mtu;              /* our Rx MTU offered, >= 23 (e.g. the
				    * bearer's largest PDU) */
	uint64_t att_timeout_ns;   /* a transaction's limit: ATT's 30 s */
	uint64_t start_timeout_ns; /* Start until settled, e.g. 2 s */
};

enum ashac_state {
	ASHAC_IDLE = 0,  /* before ashac_start() */
	ASHAC_MTU,       /* Exchange MTU */
	ASHAC_SERVICE,   /* Find By Type Value 0xFDF0 */
	ASHAC_CHARS,     /* Read By Type 0x2803 */
	ASHAC_CCCD,      /* Find Information after AudioStatus */
	ASHAC_PROPS,     /* Read ReadOnlyProperties */
	ASHAC_PSM,       /* Read LE_PSM_OUT */
	ASHAC_SUBSCRIBE, /* Write the CCCD */
	ASHAC_READY,
	ASHAC_FAILED,
};

/* The characteristics of ASHA's service. */
enum ashac_chr_id {
	ASHAC_CHR_PROPS = 0,  /* ReadOnlyProperties */
	ASHAC_CHR_CONTROL,    /* AudioControlPoint */
	ASHAC_CHR_STATUS,     /* AudioStatus */
	ASHAC_CHR_VOLUME,     /* Volume */
	ASHAC_CHR_PSM,        /* LE_PSM_OUT */
	ASHAC_CHR_COUNT,
};

struct ashac_ops {
	/* One ATT PDU for the aid (CID 0x0004), len <= ashac_mtu(). 0, or
	 * a negative errno: the client then fails with it. */
	int (*send)(void *user, const uint8_t *pdu, size_t len);
	/* Discovery is done: props and the aid's SPSM for audio (0x0001 to
	 * 0x00ff), valid during the call. Once per ashac_start(). */
	void (*ready)(void *user, const struct asha_props *props, uint16_t psm);
	/*
	 * The client failed, once, and no callback follows; why a static
	 * sentence for the operator.
	 * err: -EACCES (the aid wants pairing or encryption), -ENOENT
	 * (no ASHA service, characteristic or descriptor), -ENOTSUP (a
	 * characteristic without a property used here; or from
	 * asha_props_parse(), like -EPROTONOSUPPORT), -ERANGE and
	 * -EMSGSIZE (LE_PSM_OUT), -EPROTO (a malformed or unexpected
	 * PDU, an Error Response), -ETIMEDOUT (no answer within
	 * cfg.att_timeout_ns), or ops->send's error.
	 */
	void (*failed)(void *user, int err, const char *why);
	/* Every AudioStatus notification: 0 ok, -1 unknown command, -2
	 * illegal parameters (asha.h), or a value ASHA does not define.
	 * May be NULL. */
	void (*status)(void *user, int8_t status);
	/*
	 * ashac_audio_start() settled: 0 (the aid confirmed with AudioStatus
	 * 0: stream), or -EREMOTEIO (another AudioStatus), -ETIMEDOUT (not
	 * settled within cfg.start_timeout_ns), an att_error_errno() (the
	 * aid's Error Response to the write), -EPROTO (a malformed Write
	 * Response), with why. The client stays ready. Not called once
	 * the client has failed. May be NULL.
	 */
	void (*start_done)(void *user, int err, const char *why);
};

struct ashac_stats {
	uint64_t pdus_rx, pdus_tx;
	uint64_t malformed;     /* refused by att_decode(), or a value of
				 * the wrong size */
	uint64_t unexpected;    /* responses to nothing or to another
				 * request, confirmations, commands */
	uint64_t errors_rx;     /* Error Responses to our requests */
	uint64_t timeouts;      /* transactions past cfg.att_timeout_ns */
	uint64_t start_timeouts;
	uint64_t start_failures; /* of which timeouts are a part */
	uint64_t notifications; /* on AudioStatus */
	uint64_t indications;   /* confirmed */
	uint64_t unknown_handle; /* notifications, indications elsewhere */
	uint64_t answered;      /* the aid's requests answered */
	uint64_t queue_full;    /* calls refused with -ENOBUFS */
	uint64_t send_errors;   /* ops->send failed */
};

/* Internal: a control operation, encoded when asked for. */
enum ashac_op_kind {
	ASHAC_OP_NONE = 0,
	ASHAC_OP_START,
	ASHAC_OP_STOP,
	ASHAC_OP_STATUS,
	ASHAC_OP_VOLUME,
};

struct ashac_op {
	enum ashac_op_kind kind;
	uint8_t len;
	uint8_t value[5];
};

struct ashac_chr {
	uint16_t decl;  /* 0: not found */
	uint16_t value;
	uint8_t props;
};

/* Public for embedding; modify only through the functions below. */
struct ashac {
	struct ashac_cfg cfg;
	const struct ashac_ops *ops;
	void *user;
	enum ashac_state state;
	bool dead;          /* a transaction timed out: send nothing */
	uint16_t mtu;       /* ATT_MTU now */
	/* The request out (Part F, 3.3.2): its opcode, 0 for none. */
	uint8_t req;
	uint64_t req_deadline_ns;
	/* Discovery. */
	struct att_range svc;   /* the ASHA service's handles */
	struct att_range ask;   /* the range of the paging request out */
	struct ashac_chr chr[ASHAC_CHR_COUNT];
	uint16_t status_next;   /* the declaration after AudioStatus's, 0 */
	uint16_t cccd;
	struct asha_props props;
	bool have_props;
	uint16_t psm;
	uint8_t att_error;      /* the last Error Response's code */
	/* Control. */
	struct ashac_op queue[ASHAC_QUEUE];
	unsigned q_head, q_len;
	struct ashac_op cur;    /* the operation out, kind NONE if none */
	bool start_waiting;     /* Start sent, not settled */
	bool start_wrote;       /* its Write Response came */
	bool start_status_ok;   /* AudioStatus 0 came while waiting */
	uint64_t start_deadline_ns;
	bool audio_on;          /* started, or a Start queued or out */
	bool have_status;
	int8_t last_status;
	struct ashac_stats stats;
};

/*
 * c idle, with cfg; ops and user outlive c (send, ready and failed are
 * required). -EINVAL for an MTU under 23 or a zero timeout.
 */
int ashac_init(struct ashac *c, const struct ashac_cfg *cfg,
	       const struct ashac_ops *ops, void *user);

/* Begin discovery at now_ns (ns): the Exchange MTU Request. -EALREADY
 * unless idle. A client that failed is started again with ashac_init()
 * on a new bearer. */
int ashac_start(struct ashac *c, uint64_t now_ns);

/*
 * One ATT PDU from the aid (the payload of a CID 0x0004 frame, len
 * octets, hostile), at now_ns. Returns 0, or why the PDU was refused
 * (counted in stats): a decode error of att.h (malformed), -EPROTO
 * (unexpected: a response to nothing, a command, a confirmation). A
 * response so refused during discovery also fails the client.
 */
int ashac_input(struct ashac *c, const uint8_t *pdu, size_t len,
		uint64_t now_ns);

/* Timeouts: call at ashac_next_deadline() (UINT64_MAX: none). */
void ashac_tick(struct ashac *c, uint64_t now_ns);
uint64_t ashac_next_deadline(const struct ashac *c);

/*
 * Start streaming (ASHA's AudioControlPoint Start: codec, audio type,
 * volume -128..0, whether the other aid of the pair is connected).
 * Settles through ops->start_done. 0 (sent or queued), -ENOTCONN (not
 * ready), -EALREADY (started, or a Start queued or out), -EINVAL
 * (asha_encode_start() refuses the values), -ENOBUFS (queue full).
 */
int ashac_audio_start(struct ashac *c, uint8_t codec,
		      enum asha_audio_type type, int volume,
		      bool other_connected, uint64_t now_ns);

/* Stop (allowed whether started or not: after a failed Start the aid's
 * state is unknown). 0, -ENOTCONN, -ENOBUFS. */
int ashac_audio_stop(struct ashac *c, uint64_t now_ns);

/* Status: tell the aid what changed on our side. No AudioStatus is
 * awaited (Android does not wait either). 0, -ENOTCONN, -EINVAL,
 * -ENOBUFS. */
int ashac_status_update(struct ashac *c, enum asha_update what,
			uint64_t now_ns);

/* Volume, -128 (mute) to 0: a Write Command, no answer. A volume still
 * queued takes the new value instead of queueing another. 0,
 * -ENOTCONN, -EINVAL, -ENOBUFS. */
int ashac_volume(struct ashac *c, int volume, uint64_t now_ns);

enum ashac_state ashac_state(const struct ashac *c);
/* "IDLE", "MTU", ...; NULL for anything else. */
const char *ashac_state_name(enum ashac_state s);
/* ReadOnlyProperties once read: 0, or -ENODATA. */
int ashac_props(const struct ashac *c, struct asha_props *ret);
/* LE_PSM_OUT once read, else 0. */
uint16_t ashac_psm(const struct ashac *c);
/* ATT_MTU now: 23 until exchanged. */
uint16_t ashac_mtu(const struct ashac *c);
/* The last AudioStatus notified: 0, or -ENODATA. */
int ashac_last_status(const struct ashac *c, int8_t *ret);

/* A characteristic's name ("ReadOnlyProperties", ...) and 128-bit UUID
 * (static), for logs and tests. */
const char *ashac_chr_name(enum ashac_chr_id id);
const struct att_uuid *ashac_chr_uuid(enum ashac_chr_id id);

#endif
