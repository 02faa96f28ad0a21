/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_SMP_PRIVATE_H
#define TTWS_CORE_SMP_PRIVATE_H

/*
 * Shared by the two parts of core/smp (contracts: smp.h), not for other
 * modules:
 *
 *   smp.c       the pairing's life and the PDU exchange: features,
 *               public keys, confirm, random and check values, key
 *               distribution, failures and the Security Manager timer
 *   smp_calc.c  what the pairing computes (f4, f5, f6 on the
 *               controller's AES) and asks the controller for, and the
 *               steps that wait on those answers
 */

#include <stdbool.h>
#include <stdint.h>

#include "core/smp.h"

/* ---- smp.c --------------------------------------------------------- */

/* Between start and done or failure. */
bool smp_active(const struct smp *s);
/* Active and still before key agreement (crypto requests happen here). */
bool smp_exchanging(const struct smp *s);
/* Queue m for the peer; every PDU restarts the 30 s timer (H 3.4). */
void smp_send(struct smp *s, const struct smp_pdu *m, uint64_t now_ns);
void smp_send_value(struct smp *s, uint8_t code, const uint8_t v[16],
		    uint64_t now_ns);
/* Pairing Failed with reason, then ops->done(err). */
void smp_fail(struct smp *s, int err, uint8_t reason, uint64_t now_ns);
/* The peer's public key is one we refuse (smp_p256.h; ours reflected). */
bool smp_key_bad(const struct smp *s);

/* ---- smp_calc.c ---------------------------------------------------- */

/* Start the f6 check value Ea or Eb (H 2.2.8). */
void smp_start_check(struct smp *s, enum smp_calc which);
/* Responder: compare the Ea received with the one computed, when both
 * are there; then compute Eb. */
void smp_resp_check(struct smp *s, uint64_t now_ns);
/* Move on with whatever is known now. */
void smp_advance(struct smp *s, uint64_t now_ns);

#endif
