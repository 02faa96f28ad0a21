/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_SMP_CRYPTO_H
#define TTWS_CORE_SMP_CRYPTO_H

/*
 * The LE Secure Connections crypto functions (Core 5.4, Vol 3, Part H,
 * 2.2.5 to 2.2.8: AES-CMAC, f4, f5, f6) computed on an AES-128 block
 * cipher the caller supplies one block at a time: ttws uses the
 * controller's (HCI LE Encrypt, Vol 4, Part E, 7.8.22), so the host holds
 * no AES code and a computation is a sequence of round trips. Each
 * function is a resumable job: start it, then while smp_fn_next() names
 * a block, encrypt it and hand the result to smp_fn_feed().
 *
 * Byte order. Values go in and come out in SMP wire order, least
 * significant octet first, as they travel in SMP PDUs and HCI
 * parameters (public key coordinates, nonces, DHKey, MacKey, LTK,
 * confirm and check values, addresses). Part H defines the functions on
 * values written most significant octet first (RFC 4493's order); the
 * conversion happens in here. An AES block request (struct smp_aes) is
 * in FIPS 197 order, key[0] and in[0] first: the order of RFC 4493. HCI
 * LE Encrypt takes and returns the reverse (its "most significant octet
 * corresponds to key[0]"); the caller converts.
 *
 * Pure: no allocation, no clock, no randomness.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMP_AES_BLOCK 16
/* Longest message one CMAC here covers: f4 and f6 (65 octets). */
#define SMP_CMAC_MSG_MAX 65

/* One AES-128 encryption to perform: FIPS 197 order. */
struct smp_aes {
	uint8_t key[SMP_AES_BLOCK];
	uint8_t in[SMP_AES_BLOCK];
};

/* AES-CMAC (RFC 4493) of up to SMP_CMAC_MSG_MAX octets, resumable. */
struct smp_cmac {
	uint8_t key[SMP_AES_BLOCK];
	uint8_t msg[SMP_CMAC_MSG_MAX];
	uint8_t len;
	uint8_t nblocks;  /* n of RFC 4493 2.4 (1 for an empty message) */
	uint8_t step;     /* 0: subkey L pending, then block 1..nblocks */
	uint8_t k1[SMP_AES_BLOCK], k2[SMP_AES_BLOCK];
	uint8_t x[SMP_AES_BLOCK]; /* the chaining value; the MAC at the end */
};

/*
 * Start a CMAC with key (FIPS order) over msg (as RFC 4493 writes it).
 * -EMSGSIZE over SMP_CMAC_MSG_MAX (nothing changed).
 */
int smp_cmac_start(struct smp_cmac *m, const uint8_t key[SMP_AES_BLOCK],
		   const uint8_t *msg, size_t len);
/* The next block to encrypt, false when the MAC is complete. */
bool smp_cmac_next(const struct smp_cmac *m, struct smp_aes *ret);
/* The encryption of the block smp_cmac_next() named (FIPS order). */
void smp_cmac_feed(struct smp_cmac *m, const uint8_t out[SMP_AES_BLOCK]);
/* The MAC (RFC 4493 order), once smp_cmac_next() is false. */
void smp_cmac_result(const struct smp_cmac *m, uint8_t mac[SMP_AES_BLOCK]);

enum smp_fn_kind {
	SMP_FN_F4 = 0, /* 2.2.6: confirm values */
	SMP_FN_F5 = 1, /* 2.2.7: MacKey and LTK */
	SMP_FN_F6 = 2, /* 2.2.8: DHKey check values */
};

/* Length of an address argument: type (0 public, 1 random) and BD_ADDR,
 * wire order: a[0..5] the BD_ADDR as in HCI, a[6] the type (2.2.7). */
#define SMP_ADDR_LEN 7

struct smp_fn {
	enum smp_fn_kind kind;
	uint8_t stage;       /* f5: 0 the key T, 1 MacKey, 2 LTK */
	bool done;
	struct smp_cmac cmac;
	uint8_t f5_msg[53];  /* f5's message, counter octet first */
	/* Result, wire order: f4 and f6 16 octets; f5 MacKey then LTK. */
	uint8_t out[2 * SMP_AES_BLOCK];
};

/*
 * f4(U, V, X, Z) = AES-CMAC_X(U || V || Z): u, v 32 octets (public key
 * X coordinates), x 16 (a nonce), z one octet.
 */
void smp_f4_start(struct smp_fn *f, const uint8_t u[32], const uint8_t v[32],
		  const uint8_t x[16], uint8_t z);
/*
 * f5(W, N1, N2, A1, A2): w the 32-octet DHKey, n1 n2 nonces, a1 a2
 * addresses (SMP_ADDR_LEN). out: MacKey (16) then LTK (16).
 */
void smp_f5_start(struct smp_fn *f, const uint8_t w[32], const uint8_t n1[16],
		  const uint8_t n2[16], const uint8_t a1[SMP_ADDR_LEN],
		  const uint8_t a2[SMP_ADDR_LEN]);
/*
 * f6(W, N1, N2, R, IOcap, A1, A2) = AES-CMAC_W(N1 || N2 || R || IOcap ||
 * A1 || A2): w the MacKey, r 16 octets, iocap 3 in wire order (IO
 * Capability, OOB data flag, AuthReq: AuthReq is the most significant).
 */
void smp_f6_start(struct smp_fn *f, const uint8_t w[16], const uint8_t n1[16],
		  const uint8_t n2[16], const uint8_t r[16],
		  const uint8_t iocap[3], const uint8_t a1[SMP_ADDR_LEN],
		  const uint8_t a2[SMP_ADDR_LEN]);

/* The next AES block the job needs, false when it is done. */
bool smp_fn_next(const struct smp_fn *f, struct smp_aes *ret);
/* The block's encryption (FIPS order). */
void smp_fn_feed(struct smp_fn *f, const uint8_t out[SMP_AES_BLOCK]);

/* Compare n octets without an early exit (secrets: confirm, check). */
bool smp_equal(const uint8_t *a, const uint8_t *b, size_t n);

/* Reverse n octets of src into dst (they may not overlap). */
void smp_swap(uint8_t *dst, const uint8_t *src, size_t n);

#endif
