/* SPDX-License-Identifier: MIT */
#ifndef TTWS_SIM_WAV_H
#define TTWS_SIM_WAV_H

/*
 * Minimal RIFF/WAVE PCM S16 little-endian files: the simulator writes
 * what each earbud would have played (one mono file per ear), tests
 * write stimulus files and read results back. Only the canonical
 * 44-byte header (fmt chunk of 16 octets, WAVE_FORMAT_PCM) is written;
 * reading skips unknown chunks.
 */

#include <stddef.h>
#include <stdint.h>

struct wav;

/*
 * Create (truncate) path for S16 samples at rate_hz with 1..8 interleaved
 * channels. Returns 0, -EINVAL or -errno of the open.
 */
int wav_create(const char *path, uint32_t rate_hz, uint16_t channels,
	       struct wav **ret);

/* Append n sample frames (n * channels int16_t). 0 or -errno. */
int wav_write(struct wav *w, const int16_t *pcm, size_t n);

/* Sample frames written so far. */
uint64_t wav_frames(const struct wav *w);

/*
 * Patch the header sizes and close. Returns 0 or -errno (the file is
 * closed either way); w is freed. wav_close(NULL) returns 0.
 */
int wav_close(struct wav *w);

/*
 * Read a whole S16 PCM file: *ret_pcm (malloc'd, caller frees) holds
 * *ret_frames * *ret_channels interleaved samples. Returns 0, -errno,
 * -EBADMSG (not RIFF/WAVE or truncated) or -ENOTSUP (not 16-bit PCM).
 */
int wav_read(const char *path, int16_t **ret_pcm, size_t *ret_frames,
	     uint16_t *ret_channels, uint32_t *ret_rate_hz);

#endif
