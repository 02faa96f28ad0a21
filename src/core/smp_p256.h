/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_SMP_P256_H
#define TTWS_CORE_SMP_P256_H

/*
 * The check of a peer's P-256 public key before it goes anywhere near a
 * Diffie-Hellman computation (Core 5.4, Vol 3, Part H, 2.3.5.6.1: "the
 * public key shall be validated"; the 2018 erratum against the Fixed
 * Coordinate Invalid Curve attack, CVE-2018-5383, made it mandatory for
 * LE Secure Connections). Controllers since Core 5.1 check in LE Generate
 * DHKey too; ttws does not rely on the controller being that recent.
 *
 * A key is 64 octets as in the Pairing Public Key PDU (3.5.6): X then Y,
 * each 32 octets least significant first. Pure; no secret is involved
 * (public keys only), so the arithmetic need not be constant-time.
 */

#include <stdbool.h>
#include <stdint.h>

#define SMP_P256_KEY_LEN 64

/*
 * 0: (X, Y) is a point of P-256 (SEC 2, 2.4.2: y^2 = x^3 - 3x + b mod p,
 * with both coordinates below p). -EINVAL: it is not (includes the
 * all-zero "point at infinity" some stacks send).
 */
int smp_p256_check(const uint8_t key[SMP_P256_KEY_LEN]);

/*
 * Whether key is Part H's debug public key (2.3.5.6.1): its private key
 * is published, so a pairing with it has no secrecy. A production
 * device must not accept it.
 */
bool smp_p256_is_debug_key(const uint8_t key[SMP_P256_KEY_LEN]);

#endif
