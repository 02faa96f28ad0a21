/* SPDX-License-Identifier: MIT */
/*
 * AES-CMAC and the LE Secure Connections functions on a block cipher
 * supplied from outside (contracts: smp_crypto.h). Sections are of
 * Core 5.4, Vol 3, Part H; the CMAC is RFC 4493's.
 */
#include "core/smp_crypto.h"

#include <errno.h>
#include <string.h>

#include "core/macro.h"

/* RFC 4493 2.3: the constant of the subkey doubling, for 128-bit blocks. */
#define SMP_CMAC_RB 0x87

/* 2.2.7: f5's SALT, keyID and Length (most significant octet first). */
static const uint8_t smp_f5_salt[16] = {
	0x6c, 0x88, 0x83, 0x91, 0xaa, 0xf5, 0xa5, 0x38,
	0x60, 0x37, 0x0b, 0xdb, 0x5a, 0x60, 0x83, 0xbe,
};
static const uint8_t smp_f5_key_id[4] = { 0x62, 0x74, 0x6c, 0x65 };

void smp_swap(uint8_t *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		dst[n - 1 - i] = src[i];
	}
}

bool smp_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++) {
		d |= a[i] ^ b[i];
	}
	return d == 0;
}

/* RFC 4493 2.3: one doubling in GF(2^128). */
static void smp_cmac_double(uint8_t out[16], const uint8_t in[16])
{
	uint8_t carry = in[0] >> 7;

	for (unsigned i = 0; i < 15; i++) {
		out[i] = (uint8_t)(in[i] << 1 | in[i + 1] >> 7);
	}
	out[15] = (uint8_t)(in[15] << 1);
	if (carry) {
		out[15] ^= SMP_CMAC_RB;
	}
}

int smp_cmac_start(struct smp_cmac *m, const uint8_t key[SMP_AES_BLOCK],
		   const uint8_t *msg, size_t len)
{
	if (len > SMP_CMAC_MSG_MAX) {
		return -EMSGSIZE;
	}
	memset(m, 0, sizeof(*m));
	memcpy(m->key, key, SMP_AES_BLOCK);
	if (len > 0) {
		memcpy(m->msg, msg, len);
	}
	m->len = (uint8_t)len;
	/* RFC 4493 2.4 step 2: n = ceil(len / 16), at least 1. */
	m->nblocks = (uint8_t)MAX((len + 15) / 16, (size_t)1);
	return 0;
}

/* The block that goes into AES for step (1..nblocks): RFC 4493 2.4
 * steps 4 to 6. */
static void smp_cmac_block(const struct smp_cmac *m, uint8_t out[16])
{
	size_t off = (size_t)(m->step - 1) * 16;
	uint8_t blk[16];

	memset(blk, 0, sizeof(blk));
	if (m->step < m->nblocks) {
		memcpy(blk, m->msg + off, 16);
	} else if (m->len > 0 && m->len % 16 == 0) {
		/* A complete last block: XOR K1. */
		memcpy(blk, m->msg + off, 16);
		for (unsigned i = 0; i < 16; i++) {
			blk[i] ^= m->k1[i];
		}
	} else {
		/* Incomplete (or empty): pad with 10...0, XOR K2. */
		size_t rest = m->len - off;

		memcpy(blk, m->msg + off, rest);
		blk[rest] = 0x80;
		for (unsigned i = 0; i < 16; i++) {
			blk[i] ^= m->k2[i];
		}
	}
	for (unsigned i = 0; i < 16; i++) {
		out[i] = blk[i] ^ m->x[i];
	}
}

bool smp_cmac_next(const struct smp_cmac *m, struct smp_aes *ret)
{
	if (m->step > m->nblocks) {
		return false;
	}
	memcpy(ret->key, m->key, SMP_AES_BLOCK);
	if (m->step == 0) {
		/* RFC 4493 2.3 step 1: L = AES(K, 0^128). */
		memset(ret->in, 0, SMP_AES_BLOCK);
	} else {
		smp_cmac_block(m, ret->in);
	}
	return true;
}

void smp_cmac_feed(struct smp_cmac *m, const uint8_t out[SMP_AES_BLOCK])
{
	if (m->step > m->nblocks) {
		return;
	}
	if (m->step == 0) {
		smp_cmac_double(m->k1, out);
		smp_cmac_double(m->k2, m->k1);
	} else {
		memcpy(m->x, out, SMP_AES_BLOCK);
	}
	m->step++;
}

void smp_cmac_result(const struct smp_cmac *m, uint8_t mac[SMP_AES_BLOCK])
{
	memcpy(mac, m->x, SMP_AES_BLOCK);
}

/* ---- f4, f5, f6 ---------------------------------------------------- */

/* A CMAC whose key and message are assembled most significant first
 * (the msg buffer is at most SMP_CMAC_MSG_MAX: every caller's is). */
static void smp_fn_cmac(struct smp_fn *f, const uint8_t key_wire[16],
			const uint8_t *msg, size_t len)
{
	uint8_t key[16];

	smp_swap(key, key_wire, 16);
	/* Sizes are fixed by the callers: cannot fail. */
	(void)smp_cmac_start(&f->cmac, key, msg, len);
}

void smp_f4_start(struct smp_fn *f, const uint8_t u[32], const uint8_t v[32],
		  const uint8_t x[16], uint8_t z)
{
	uint8_t m[65];

	memset(f, 0, sizeof(*f));
	f->kind = SMP_FN_F4;
	/* 2.2.6: U || V || Z, U most significant. */
	smp_swap(m, u, 32);
	smp_swap(m + 32, v, 32);
	m[64] = z;
	smp_fn_cmac(f, x, m, sizeof(m));
}

void smp_f5_start(struct smp_fn *f, const uint8_t w[32], const uint8_t n1[16],
		  const uint8_t n2[16], const uint8_t a1[SMP_ADDR_LEN],
		  const uint8_t a2[SMP_ADDR_LEN])
{
	uint8_t wm[32];
	uint8_t *m = f->f5_msg;

	memset(f, 0, sizeof(*f));
	f->kind = SMP_FN_F5;
	/* 2.2.7: Counter || keyID || N1 || N2 || A1 || A2 || Length; the
	 * counter (0 for MacKey, 1 for the LTK) is set per stage. */
	memcpy(m + 1, smp_f5_key_id, 4);
	smp_swap(m + 5, n1, 16);
	smp_swap(m + 21, n2, 16);
	smp_swap(m + 37, a1, SMP_ADDR_LEN);
	smp_swap(m + 44, a2, SMP_ADDR_LEN);
	m[51] = 0x01; /* Length = 256 */
	m[52] = 0x00;
	/* T = AES-CMAC_SALT(W). */
	smp_swap(wm, w, 32);
	(void)smp_cmac_start(&f->cmac, smp_f5_salt, wm, sizeof(wm));
}

void smp_f6_start(struct smp_fn *f, const uint8_t w[16], const uint8_t n1[16],
		  const uint8_t n2[16], const uint8_t r[16],
		  const uint8_t iocap[3], const uint8_t a1[SMP_ADDR_LEN],
		  const uint8_t a2[SMP_ADDR_LEN])
{
	uint8_t m[65];

	memset(f, 0, sizeof(*f));
	f->kind = SMP_FN_F6;
	/* 2.2.8: N1 || N2 || R || IOcap || A1 || A2. */
	smp_swap(m, n1, 16);
	smp_swap(m + 16, n2, 16);
	smp_swap(m + 32, r, 16);
	smp_swap(m + 48, iocap, 3);
	smp_swap(m + 51, a1, SMP_ADDR_LEN);
	smp_swap(m + 58, a2, SMP_ADDR_LEN);
	smp_fn_cmac(f, w, m, sizeof(m));
}

bool smp_fn_next(const struct smp_fn *f, struct smp_aes *ret)
{
	return !f->done && smp_cmac_next(&f->cmac, ret);
}

void smp_fn_feed(struct smp_fn *f, const uint8_t out[SMP_AES_BLOCK])
{
	struct smp_aes unused;
	uint8_t mac[16];

	if (f->done) {
		return;
	}
	smp_cmac_feed(&f->cmac, out);
	if (smp_cmac_next(&f->cmac, &unused)) {
		return;
	}
	smp_cmac_result(&f->cmac, mac);
	switch (f->kind) {
	case SMP_FN_F4:
	case SMP_FN_F6:
		smp_swap(f->out, mac, 16);
		f->done = true;
		return;
	case SMP_FN_F5:
		if (f->stage == 0) {
			/* T is the key of both halves. */
			uint8_t t[16];

			memcpy(t, mac, 16);
			f->f5_msg[0] = 0;
			(void)smp_cmac_start(&f->cmac, t, f->f5_msg,
					     sizeof(f->f5_msg));
			f->stage = 1;
			return;
		}
		if (f->stage == 1) {
			/* The most significant half is MacKey. */
			uint8_t t[16];

			smp_swap(f->out, mac, 16);
			memcpy(t, f->cmac.key, 16);
			f->f5_msg[0] = 1;
			(void)smp_cmac_start(&f->cmac, t, f->f5_msg,
					     sizeof(f->f5_msg));
			f->stage = 2;
			return;
		}
		smp_swap(f->out + 16, mac, 16);
		f->done = true;
		return;
	}
}
