/* SPDX-License-Identifier: MIT */
#ifndef TTWS_SIM_LC3DEC_H
#define TTWS_SIM_LC3DEC_H

/*
 * The earbud's decoder, for the simulator: one per ear, turning the
 * payload of each AUDIO message back into S16 PCM, LC3 through liblc3 or
 * PCM S16 little-endian taken as is. A lost frame (payload NULL) is
 * concealed by LC3's packet-loss concealment, or silence for PCM.
 * All memory is allocated in lc3dec_new().
 */

#include <stddef.h>
#include <stdint.h>

enum lc3dec_kind {
	LC3DEC_PCM = 0, /* S16 little-endian, 2 octets per sample */
	LC3DEC_LC3 = 1,
};

struct lc3dec_config {
	enum lc3dec_kind kind;
	uint32_t rate_hz;  /* 48000 (LC3 also 8/16/24/32 kHz) */
	uint32_t frame_us; /* 10000 or 7500 */
};

struct lc3dec_stats {
	uint64_t frames;   /* decoded */
	uint64_t plc;      /* concealed (lost or LC3 said so) */
	uint64_t bad;      /* rejected payloads (wrong size), concealed */
};

struct lc3dec;

/* 0, -EINVAL, -ENOTSUP (LC3 without liblc3) or -ENOMEM. */
int lc3dec_new(const struct lc3dec_config *c, struct lc3dec **ret);
struct lc3dec *lc3dec_free(struct lc3dec *d);

/* Samples per frame: what lc3dec_decode() writes. */
uint32_t lc3dec_frame_samples(const struct lc3dec *d);

/*
 * Decode one frame's payload (len octets; NULL for a lost frame) into
 * pcm (lc3dec_frame_samples() S16 samples). LC3 accepts 20..400 octets;
 * PCM needs exactly 2 * samples. A malformed payload is concealed and
 * counted. Returns 0 (decoded), 1 (concealed) or -EINVAL (bad arguments).
 */
int lc3dec_decode(struct lc3dec *d, const void *payload, size_t len,
		  int16_t *pcm);

void lc3dec_get_stats(const struct lc3dec *d, struct lc3dec_stats *ret);

#endif
