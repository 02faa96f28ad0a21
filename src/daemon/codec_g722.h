/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_CODEC_G722_H
#define TTWS_DAEMON_CODEC_G722_H

/*
 * G.722 at 16 kHz, 64 kbit/s, the codec ASHA hearing aids decode: 20 ms
 * of mono PCM (320 samples) in, one 160-octet frame out (libspandsp). One
 * encoder per ear, as each ear's decoder follows its own stream.
 */

#include <stdint.h>

#define G722_RATE_HZ 16000
#define G722_FRAME_SAMPLES 320 /* 20 ms at 16 kHz */
#define G722_FRAME_OCTETS 160  /* at 64 kbit/s: 4 bits a sample */

struct g722enc;

/* A new encoder in its initial state. Allocates: start-up only. 0 or
 * -ENOMEM. */
int g722enc_new(struct g722enc **ret);

/* NULL. */
struct g722enc *g722enc_free(struct g722enc *e);

/* Back to the initial state, as the aid's decoder is after a Start: no
 * allocation. */
void g722enc_reset(struct g722enc *e);

/* One frame: pcm's 320 samples into out's 160 octets. No allocation, no
 * syscall: RT thread. 0, or -EIO when the library wrote another count. */
int g722enc_frame(struct g722enc *e, const int16_t pcm[G722_FRAME_SAMPLES],
		  uint8_t out[G722_FRAME_OCTETS]);

#endif
