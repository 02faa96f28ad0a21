/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_ASHAC_PRIVATE_H
#define TTWS_CORE_ASHAC_PRIVATE_H

/*
 * What ashac.c (input, timeouts), ashac_disc.c (discovery) and
 * ashac_ctl.c (the control operations once ready) share. Not for other
 * modules.
 */

#include "core/ashac.h"

/* Our PDUs: at most a Write Request of 5 octets of value, 8 in all,
 * within the default ATT_MTU. */
#define ASHAC_PDU_MAX ATT_MTU_DEFAULT

/* ops->send, counted; nothing once the bearer is dead. 0 or -errno. */
int ashac_send(struct ashac *c, const uint8_t *pdu, size_t len);

/* Encode and send a request, then wait for its answer until
 * cfg.att_timeout_ns from now. On failure the client has failed. */
int ashac_request(struct ashac *c, const struct att_pdu *p, uint64_t now_ns);

/* Fail the client, once (ops->failed). */
void ashac_fail(struct ashac *c, int err, const char *why);

/* Take the aid's Rx MTU (F 3.4.2.2): the smaller of the two; a value
 * under 23 changes nothing. */
void ashac_take_mtu(struct ashac *c, uint16_t theirs);

/* Discovery: ask for the ASHA service (after the MTU exchange). */
void ashac_disc_service(struct ashac *c, uint64_t now_ns);

/* Discovery: the response (or Error Response) to the request out. */
void ashac_disc_response(struct ashac *c, const struct att_pdu *p,
			 uint64_t now_ns);

/* READY: the response (or Error Response) to the control write out,
 * err 0 when it decoded; -EPROTO for a malformed one. */
void ashac_ctl_response(struct ashac *c, const struct att_pdu *p, int err,
			uint64_t now_ns);

/* An AudioStatus value notified or indicated. 0, or -EMSGSIZE (not one
 * octet: counted malformed). */
int ashac_ctl_status(struct ashac *c, const uint8_t *value, size_t len,
		     uint64_t now_ns);

/* The start timeout. */
void ashac_ctl_tick(struct ashac *c, uint64_t now_ns);

/* Send what the queue holds, while nothing is out. */
void ashac_ctl_pump(struct ashac *c, uint64_t now_ns);

#endif
