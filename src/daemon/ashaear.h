/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_ASHAEAR_H
#define TTWS_DAEMON_ASHAEAR_H

/*
 * One hearing aid of an ASHA pair (profile = asha): its channel (an ATT
 * channel, daemon/chan.h), the GATT client that reads what the aid is and
 * where it listens (core/ashac), the audio channel opened on the PSM it
 * names, and the AudioControlPoint writes the pair asks for. A link that
 * fails or drops is retried with the [reconnect] back-off, for ever; the
 * pair hears of every change through ops.
 *
 *   IDLE -> CONNECTING (LE link, security) -> DISCOVERING (GATT) ->
 *   OPENING (L2CAP on LE_PSM_OUT) -> READY -> STARTING (Start written,
 *   AudioStatus awaited) -> STREAMING; any failure -> BACKOFF -> CONNECTING
 *
 * RT thread only; allocates in ashaear_new() only, never logs directly
 * (log_rt_pair_event()).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/asha.h"
#include "core/conf.h"

struct chan;
struct wheel;

enum ashaear_state {
	ASHAEAR_IDLE = 0,
	ASHAEAR_CONNECTING,
	ASHAEAR_DISCOVERING,
	ASHAEAR_OPENING,
	ASHAEAR_READY,
	ASHAEAR_STARTING,
	ASHAEAR_STREAMING,
	ASHAEAR_BACKOFF,
	ASHAEAR_STOPPING, /* Stop written: waiting for it to go out */
};

struct ashaear_ops {
	/*
	 * The aid's ReadOnlyProperties, read and valid (core/asha.h), before
	 * its audio channel opens: 0 goes on; a negative errno refuses the
	 * aid (the ear backs off), with why (static) for the log.
	 */
	int (*discovered)(void *user_data, unsigned ear,
			  const struct asha_props *props, const char **why);
	/* The audio channel is open: Start may be written. */
	void (*ready)(void *user_data, unsigned ear, uint64_t now_ns);
	/*
	 * The answer to Start: err 0 and status ASHA_STATUS_OK, the aid
	 * plays what comes; else err -EPROTO (status is the aid's refusal)
	 * or -ETIMEDOUT (no AudioStatus in time). A refused ear backs off
	 * and comes back through ready.
	 */
	void (*started)(void *user_data, unsigned ear, int err, int8_t status,
			uint64_t now_ns);
	/* The ear's link went (err): nothing more is sent to it. */
	void (*gone)(void *user_data, unsigned ear, int err, uint64_t now_ns);
	/* The SDU sent as id left the controller at ns (its completion). */
	void (*sent)(void *user_data, unsigned ear, uint32_t id, uint64_t ns);
};

struct ashaear_stats {
	enum ashaear_state state;
	bool have_props;          /* props and psm below are valid */
	struct asha_props props;
	uint16_t psm;
	uint16_t att_mtu;
	int8_t last_status;       /* the last AudioStatus, 0 until one */
	int last_err;             /* why the last attempt ended, 0: none */
	uint64_t connects;        /* LE links up */
	uint64_t discoveries;     /* GATT discoveries completed */
	uint64_t discovery_failures;
	uint64_t refusals;        /* refused by ops.discovered */
	uint64_t starts, start_failures, start_timeouts;
	uint64_t stops, status_writes, volume_writes;
	uint64_t disconnects;     /* links lost after they were up */
	uint64_t sdus_sent, tx_full; /* SDUs queued; refused (queue full) */
	uint64_t att_malformed;   /* ATT PDUs the client refused */
	uint32_t conn_interval_us; /* the link's, when the controller said */
	uint64_t interval_updates; /* LE Connection Update Complete */
	uint64_t conn_params_told; /* Status "connection parameters updated" */
};

struct ashaear;

/*
 * The aid on ear's channel c (owned from the call on: freed with the ear
 * even when this fails), timers on w, back-off and start timeout from
 * conf (must outlive the ear), pair for the log (may be NULL). -ENOMEM,
 * -EOPNOTSUPP (c has no ATT).
 */
int ashaear_new(unsigned ear, struct chan *c, struct wheel *w,
		const struct conf *conf, const char *pair,
		const struct ashaear_ops *ops, void *user_data,
		struct ashaear **ret);
struct ashaear *ashaear_free(struct ashaear *a);

/* Start connecting (then for ever, with back-off). */
void ashaear_connect(struct ashaear *a, uint64_t now_ns);

/*
 * AudioControlPoint writes (core/asha.h): Start with the other ear's
 * state (READY only: -EBUSY otherwise), Status (STREAMING), Stop; Volume
 * (-128 mute .. 0). 0, or the ATT client's refusal.
 */
int ashaear_audio_start(struct ashaear *a, bool other_connected, int volume,
			uint64_t now_ns);
int ashaear_status(struct ashaear *a, enum asha_update what, uint64_t now_ns);
int ashaear_volume(struct ashaear *a, int volume, uint64_t now_ns);

/* One SDU (sequence number + G.722 frame) on the audio channel; *ret_id
 * numbers it for ops.sent. STREAMING only: -ENOTCONN otherwise. */
int ashaear_send(struct ashaear *a, const uint8_t *sdu, size_t len,
		 uint32_t *ret_id);

/* SDUs the host holds for the aid and the credits the aid has left us
 * (chan_tx_state()); 0 and 0 when not known. */
void ashaear_tx_state(const struct ashaear *a, unsigned *ret_queued,
		      unsigned *ret_credits);

/* Drop the SDUs still queued for the aid (ASHA's flush of a congested
 * ear); how many in *ret. 0 or the channel's error. */
int ashaear_flush(struct ashaear *a, unsigned *ret);

/*
 * The pair stops: an aid that streams is written Stop and stays linked
 * (STOPPING) until ashaear_stopped() sees the write through; any other
 * closes at once without callbacks (IDLE). No retries after this.
 */
void ashaear_close(struct ashaear *a, uint64_t now_ns);

/* Whether the aid is let go; a STOPPING aid whose Stop went through (or
 * force: the wait is over) is closed now, IDLE. */
bool ashaear_stopped(struct ashaear *a, bool force);

enum ashaear_state ashaear_state(const struct ashaear *a);
const char *ashaear_state_name(enum ashaear_state s);
void ashaear_get_stats(const struct ashaear *a, struct ashaear_stats *ret);
void ashaear_reset_stats(struct ashaear *a);

#endif
