/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_CODEC_H
#define TTWS_DAEMON_CODEC_H

/*
 * One ear's audio encoder: LC3 (liblc3) or PCM S16 pass-through behind
 * one interface. One codec per ear, because an LC3 encoder keeps state
 * (overlap, noise-shaping history) across frames of one channel.
 *
 * Every allocation happens in codec_new(): liblc3 runs in caller-provided
 * memory (lc3_encoder_size() + lc3_setup_encoder(), lc3.h) and never
 * calls an allocator itself, so codec_encode() is safe on the RT thread.
 */

#include <stddef.h>
#include <stdint.h>

enum codec_kind {
	CODEC_PCM = 0, /* S16 little-endian mono, 2 octets per sample */
	CODEC_LC3 = 1,
};

/* Format of the PCM handed to codec_encode(). */
enum codec_pcm {
	CODEC_PCM_S16 = 0, /* int16_t, host endian */
	CODEC_PCM_F32 = 1, /* float, full scale +-1.0 */
};

struct codec_config {
	enum codec_kind kind;
	uint32_t rate_hz;     /* 48000 (LC3 also 8/16/24/32 kHz) */
	uint32_t frame_us;    /* 10000 or 7500 */
	uint32_t bitrate_bps; /* LC3 only: 16000..320000 */
};

struct codec;

/*
 * Octets of one LC3 frame at bitrate_bps: liblc3's lc3_frame_bytes(), the
 * floor of bitrate * frame duration / 8 limited to 20..400 (LC3 spec
 * v1.0, 3.2.5). Returns the octets or -EINVAL.
 */
int codec_lc3_octets(uint32_t frame_us, uint32_t bitrate_bps);

/*
 * Validate c and set up an encoder. Returns 0, -EINVAL (bad parameters),
 * -ENOTSUP (LC3 asked for but ttws was built without liblc3) or -ENOMEM.
 */
int codec_new(const struct codec_config *c, struct codec **ret);
struct codec *codec_free(struct codec *c);

enum codec_kind codec_get_kind(const struct codec *c);

/* PCM samples per frame (480 for 10 ms at 48 kHz, 360 for 7.5 ms). */
uint32_t codec_frame_samples(const struct codec *c);

/* Octets of one encoded frame (LC3: codec_lc3_octets; PCM: 2 * samples). */
uint32_t codec_frame_octets(const struct codec *c);

/*
 * Delay the codec adds, in ns at rate_hz: LC3's algorithmic delay
 * (lc3_delay_samples(): 2.5 ms at 10 ms frames, 4 ms at 7.5 ms) plus one
 * frame of buffering; PCM: one frame. For the sink's published latency.
 */
uint64_t codec_delay_ns(const struct codec *c);

/*
 * Encode one frame of codec_frame_samples() samples of pcm (format fmt,
 * consecutive samples of one channel) into out (cap octets, at least
 * codec_frame_octets()). PCM kind: S16 little-endian, F32 rounded to the
 * nearest S16 and clamped. Sets *ret_len to the octets written. Returns 0,
 * -ENOBUFS (cap too small) or -EINVAL. No allocation, no locks.
 */
int codec_encode(struct codec *c, enum codec_pcm fmt, const void *pcm,
		 void *out, size_t cap, size_t *ret_len);

#endif
