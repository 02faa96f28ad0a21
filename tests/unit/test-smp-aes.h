/* SPDX-License-Identifier: MIT */
#ifndef TTWS_TEST_SMP_AES_H
#define TTWS_TEST_SMP_AES_H

/*
 * A reference AES-128 encryption (FIPS 197) for tests: the SMP unit
 * tests play the controller's LE Encrypt with it, and the btvirt AF_ALG
 * shim gives BlueZ's emulator an "ecb(aes)" with it. Written from the
 * standard for clarity, not speed or side channels (test code only):
 * the S-box is computed (5.1.1: multiplicative inverse in GF(2^8), then
 * the affine transformation), not copied as a table.
 *
 *   refaes_encrypt(key, in, out): key, in and out in FIPS 197 order.
 */

#include <stdint.h>
#include <string.h>

/* 4.2: multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1. */
static inline uint8_t refaes_mul(uint8_t a, uint8_t b)
{
	uint8_t p = 0;

	while (b) {
		if (b & 1) {
			p ^= a;
		}
		a = (uint8_t)(a << 1 ^ (a & 0x80 ? 0x1b : 0));
		b >>= 1;
	}
	return p;
}

/* 5.1.1: SubBytes() of one octet. */
static inline uint8_t refaes_sbox(uint8_t x)
{
	uint8_t inv = 0, s;

	/* The inverse by search: x * inv = 1 (0 maps to 0). */
	for (unsigned c = 1; c < 256 && x; c++) {
		if (refaes_mul(x, (uint8_t)c) == 1) {
			inv = (uint8_t)c;
			break;
		}
	}
	s = inv;
	for (unsigned i = 1; i < 5; i++) {
		s ^= (uint8_t)(inv << i | inv >> (8 - i));
	}
	return s ^ 0x63;
}

static inline void refaes_encrypt(const uint8_t key[16], const uint8_t in[16],
				  uint8_t out[16])
{
	/* Computed once (single-threaded callers). */
	static uint8_t sbox[256];
	static int have_sbox;
	uint8_t w[176], s[16], t[16];
	uint8_t rcon = 0x01;

	for (unsigned i = 0; i < 256 && !have_sbox; i++) {
		sbox[i] = refaes_sbox((uint8_t)i);
	}
	have_sbox = 1;
	/* 5.2: KeyExpansion, Nk = 4, 44 words. */
	memcpy(w, key, 16);
	for (unsigned i = 4; i < 44; i++) {
		uint8_t tmp[4];

		memcpy(tmp, w + 4 * (i - 1), 4);
		if (i % 4 == 0) {
			uint8_t t0 = tmp[0];

			tmp[0] = (uint8_t)(sbox[tmp[1]] ^ rcon);
			tmp[1] = sbox[tmp[2]];
			tmp[2] = sbox[tmp[3]];
			tmp[3] = sbox[t0];
			rcon = refaes_mul(rcon, 2);
		}
		for (unsigned j = 0; j < 4; j++) {
			w[4 * i + j] = w[4 * (i - 4) + j] ^ tmp[j];
		}
	}
	/* 5.1: the state is column-major, s[r + 4c]. */
	for (unsigned i = 0; i < 16; i++) {
		s[i] = in[i] ^ w[i];
	}
	for (unsigned round = 1; round <= 10; round++) {
		/* SubBytes and ShiftRows (row r rotates left by r). */
		for (unsigned c = 0; c < 4; c++) {
			for (unsigned r = 0; r < 4; r++) {
				t[r + 4 * c] = sbox[s[r + 4 * ((c + r) % 4)]];
			}
		}
		/* MixColumns, all but the last round (5.1.3). */
		for (unsigned c = 0; c < 4 && round < 10; c++) {
			uint8_t *col = t + 4 * c, a[4];

			memcpy(a, col, 4);
			col[0] = refaes_mul(a[0], 2) ^ refaes_mul(a[1], 3) ^
				 a[2] ^ a[3];
			col[1] = a[0] ^ refaes_mul(a[1], 2) ^
				 refaes_mul(a[2], 3) ^ a[3];
			col[2] = a[0] ^ a[1] ^ refaes_mul(a[2], 2) ^
				 refaes_mul(a[3], 3);
			col[3] = refaes_mul(a[0], 3) ^ a[1] ^ a[2] ^
				 refaes_mul(a[3], 2);
		}
		for (unsigned i = 0; i < 16; i++) {
			s[i] = t[i] ^ w[16 * round + i];
		}
	}
	memcpy(out, s, 16);
}

#endif
