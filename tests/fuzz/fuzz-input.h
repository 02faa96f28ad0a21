/* SPDX-License-Identifier: MIT */
#ifndef TTWS_FUZZ_INPUT_H
#define TTWS_FUZZ_INPUT_H

/*
 * A harness's script: the fuzz input read front to back, little-endian
 * where wider than an octet, zeros once it runs out (so every script is
 * a valid one and libFuzzer's mutations always mean something).
 */

#include <stddef.h>
#include <stdint.h>

struct input {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t take8(struct input *in)
{
	uint8_t v;

	if (!in->n) {
		return 0;
	}
	v = *in->p++;
	in->n--;
	return v;
}

static inline uint16_t take16(struct input *in)
{
	uint16_t lo = take8(in);

	return (uint16_t)(lo | take8(in) << 8);
}

static inline uint32_t take32(struct input *in)
{
	uint32_t lo = take16(in);

	return lo | (uint32_t)take16(in) << 16;
}

static inline uint64_t take64(struct input *in)
{
	uint64_t lo = take32(in);

	return lo | (uint64_t)take32(in) << 32;
}

#endif
