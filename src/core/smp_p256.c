/* SPDX-License-Identifier: MIT */
/*
 * P-256 public key validation (contracts: smp_p256.h). Numbers are eight
 * 32-bit limbs, least significant first. The field operations are the
 * schoolbook ones (add, subtract, shift-and-add multiply) on values
 * already below p: slow next to real ECC code, but the check runs once
 * per pairing and stays short enough to read against SEC 2.
 */
#include "core/smp_p256.h"

#include <errno.h>
#include <string.h>

#include "core/smp_crypto.h"

#define N 8

typedef uint32_t fe[N];

/* SEC 2 (v2), 2.4.2, secp256r1: p = 2^256 - 2^224 + 2^192 + 2^96 - 1. */
static const fe p256_p = {
	0xffffffff, 0xffffffff, 0xffffffff, 0x00000000,
	0x00000000, 0x00000000, 0x00000001, 0xffffffff,
};
/* ... and b; a = -3. */
static const fe p256_b = {
	0x27d2604b, 0x3bce3c3e, 0xcc53b0f6, 0x651d06b0,
	0x769886bc, 0xb3ebbd55, 0xaa3a93e7, 0x5ac635d8,
};

/* Vol 3, Part H, 2.3.5.6.1: the debug public key (wire order). */
static const uint8_t p256_debug_key[SMP_P256_KEY_LEN] = {
	/* X = 20b003d2 f297be2c 5e2c83a7 e9f9a5b9
	 *     eff49111 acf4fddb cc030148 0e359de6 */
	0xe6, 0x9d, 0x35, 0x0e, 0x48, 0x01, 0x03, 0xcc,
	0xdb, 0xfd, 0xf4, 0xac, 0x11, 0x91, 0xf4, 0xef,
	0xb9, 0xa5, 0xf9, 0xe9, 0xa7, 0x83, 0x2c, 0x5e,
	0x2c, 0xbe, 0x97, 0xf2, 0xd2, 0x03, 0xb0, 0x20,
	/* Y = dc809c49 652aeb6d 63329abf 5a52155c
	 *     766345c2 8fed3024 741c8ed0 1589d28b */
	0x8b, 0xd2, 0x89, 0x15, 0xd0, 0x8e, 0x1c, 0x74,
	0x24, 0x30, 0xed, 0x8f, 0xc2, 0x45, 0x63, 0x76,
	0x5c, 0x15, 0x52, 0x5a, 0xbf, 0x9a, 0x32, 0x63,
	0x6d, 0xeb, 0x2a, 0x65, 0x49, 0x9c, 0x80, 0xdc,
};

static void fe_load(fe r, const uint8_t *le32)
{
	for (unsigned i = 0; i < N; i++) {
		r[i] = (uint32_t)le32[4 * i] | (uint32_t)le32[4 * i + 1] << 8 |
		       (uint32_t)le32[4 * i + 2] << 16 |
		       (uint32_t)le32[4 * i + 3] << 24;
	}
}

/* a < b as unsigned 256-bit numbers. */
static bool fe_less(const fe a, const fe b)
{
	for (unsigned i = N; i-- > 0;) {
		if (a[i] != b[i]) {
			return a[i] < b[i];
		}
	}
	return false;
}

/* r = a - b (mod 2^256); returns the borrow. */
static uint32_t fe_sub_raw(fe r, const fe a, const fe b)
{
	uint64_t borrow = 0;

	for (unsigned i = 0; i < N; i++) {
		uint64_t d = (uint64_t)a[i] - b[i] - borrow;

		r[i] = (uint32_t)d;
		borrow = (d >> 63) & 1;
	}
	return (uint32_t)borrow;
}

/* r = a + b mod p, for a, b < p. */
static void fe_add(fe r, const fe a, const fe b)
{
	uint64_t carry = 0;
	fe t;

	for (unsigned i = 0; i < N; i++) {
		uint64_t s = (uint64_t)a[i] + b[i] + carry;

		t[i] = (uint32_t)s;
		carry = s >> 32;
	}
	/* a + b < 2p: one subtraction of p at most. */
	if (carry || !fe_less(t, p256_p)) {
		fe_sub_raw(t, t, p256_p);
	}
	memcpy(r, t, sizeof(t));
}

/* r = a - b mod p, for a, b < p. */
static void fe_sub(fe r, const fe a, const fe b)
{
	fe t;

	if (fe_sub_raw(t, a, b)) {
		uint64_t carry = 0;

		for (unsigned i = 0; i < N; i++) {
			uint64_t s = (uint64_t)t[i] + p256_p[i] + carry;

			t[i] = (uint32_t)s;
			carry = s >> 32;
		}
	}
	memcpy(r, t, sizeof(t));
}

/* r = a * b mod p, for a, b < p: the bits of b from the top, doubling
 * and adding (Horner's rule in base 2). */
static void fe_mul(fe r, const fe a, const fe b)
{
	fe acc = { 0 };

	for (unsigned i = N; i-- > 0;) {
		for (unsigned bit = 32; bit-- > 0;) {
			fe_add(acc, acc, acc);
			if (b[i] >> bit & 1) {
				fe_add(acc, acc, a);
			}
		}
	}
	memcpy(r, acc, sizeof(acc));
}

int smp_p256_check(const uint8_t key[SMP_P256_KEY_LEN])
{
	fe x, y, lhs, rhs, t;

	fe_load(x, key);
	fe_load(y, key + 32);
	/* Coordinates are field elements: below p (SEC 1, 3.2.2.1). */
	if (!fe_less(x, p256_p) || !fe_less(y, p256_p)) {
		return -EINVAL;
	}
	fe_mul(lhs, y, y);
	/* x^3 - 3x + b */
	fe_mul(t, x, x);
	fe_mul(rhs, t, x);
	fe_sub(rhs, rhs, x);
	fe_sub(rhs, rhs, x);
	fe_sub(rhs, rhs, x);
	fe_add(rhs, rhs, p256_b);
	return memcmp(lhs, rhs, sizeof(lhs)) == 0 ? 0 : -EINVAL;
}

bool smp_p256_is_debug_key(const uint8_t key[SMP_P256_KEY_LEN])
{
	return smp_equal(key, p256_debug_key, SMP_P256_KEY_LEN);
}
