/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the framer (src/core/framer.c) fed through the
 * SPSC ring as ttws.sink feeds it: records of a quantum header and its
 * PCM, as PipeWire gave them. What an application plays (any float:
 * NaN, infinities, denormals) and what the graph clock says (position
 * jumps, nsec, rate_diff of any double, flags) is outside ttwsd's
 * control; the record framing is the sink's own (consistent by
 * construction, but a quantum may be 0 or over max_quantum).
 *
 * The first octets pick the configuration; then each record takes its
 * header fields and samples from the input. Beyond memory safety and UB
 * (a float-to-integer conversion of NaN or 1e30 is UB in C), it checks:
 *   - framer_pull_ring() returns only its documented values, and a bad
 *     record is skipped and counted, never stalls the ring;
 *   - frames come out numbered 0, 1, 2, ... and the counts add up:
 *     samples in = frames out x frame + what is buffered;
 *   - S16 in, S16 out is exact: the left ear's samples come out as they
 *     went in, in order.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/framer.h"
#include "core/spsc.h"

#include "fuzz-check.h"
#include "fuzz-input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void take(struct input *in, void *out, size_t n)
{
	uint8_t *o = out;

	for (size_t i = 0; i < n; i++) {
		o[i] = take8(in);
	}
}

#define RING (1u << 16)
#define MAXQ 256u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t ring_mem[RING];
	static uint8_t scratch[MAXQ * 2 * 4];
	static uint8_t rec[sizeof(struct framer_quantum) + MAXQ * 4 * 2 * 4];
	static uint8_t left[480 * 4], right[480 * 4];
	struct input in = { data, size };
	struct framer_config c = { 0 };
	struct framer_stats st;
	struct framer *f;
	struct spsc ring;
	static int16_t want[1 << 17];
	uint64_t popped = 0, pushed = 0, checked = 0;
	bool exact;
	uint8_t sel = take8(&in);
	int r;

	c.in_fmt = sel & 1 ? FRAMER_F32 : FRAMER_S16;
	c.out_fmt = sel & 2 ? FRAMER_F32 : FRAMER_S16;
	c.in_channels = sel & 4 ? 1 : 2;
	c.frame_samples = sel & 8 ? 360 : 480;
	c.rate_hz = 48000;
	c.max_quantum = MAXQ;
	c.mono = sel & 16;
	exact = c.in_fmt == FRAMER_S16 && c.out_fmt == FRAMER_S16 && !c.mono;
	if (framer_new(&c, &f) < 0) {
		return 0;
	}
	check(spsc_init(&ring, ring_mem, sizeof(ring_mem)) == 0);

	while (in.n > 0) {
		struct framer_quantum q = { 0 };
		uint8_t op = take8(&in);
		size_t bytes;

		if (op & 1) {
			/* A record, written whole as the sink does. */
			q.samples = op & 2 ? (uint32_t)take8(&in) * 2 :
					     (uint32_t)take8(&in) << 8 |
						     take8(&in);
			take(&in, &q.nsec, sizeof(q.nsec));
			take(&in, &q.position, sizeof(q.position));
			take(&in, &q.rate_diff, sizeof(q.rate_diff));
			q.flags = take8(&in) & 3;
			bytes = framer_quantum_bytes(f, q.samples);
			if (bytes > sizeof(rec) - sizeof(q)) {
				continue;
			}
			memcpy(rec, &q, sizeof(q));
			take(&in, rec + sizeof(q), bytes);
			if (spsc_write(&ring, rec, sizeof(q) + bytes) == 0 &&
			    q.samples > 0 && q.samples <= MAXQ &&
			    pushed + q.samples <= sizeof(want) / 2) {
				/* The left samples, in the order they must
				 * come out. */
				for (uint32_t i = 0; exact && i < q.samples;
				     i++) {
					memcpy(&want[pushed + i],
					       rec + sizeof(q) +
						       (size_t)i * 2 *
							       c.in_channels,
					       2);
				}
				pushed += q.samples;
			}
			continue;
		}
		/* The consumer: pull what it can, pop every frame. */
		for (;;) {
			r = framer_pull_ring(f, &ring, scratch,
					     sizeof(scratch));
			check(r == 0 || r == -EAGAIN || r == -ENOSPC ||
			      r == -EBADMSG);
			while (framer_frames_ready(f) > 0) {
				struct framer_frame fr;

				check(framer_pop(f, left,
						 op & 2 ? NULL : right, &fr) ==
				      0);
				check(fr.seq == popped);
				popped++;
				/* S16 in, S16 out is exact (framer.h). */
				for (uint32_t i = 0;
				     exact && i < c.frame_samples; i++) {
					int16_t v;

					memcpy(&v, left + 2 * i, 2);
					check(checked < pushed &&
					      v == want[checked]);
					checked++;
				}
			}
			if (r == -EAGAIN) {
				break;
			}
		}
		framer_get_stats(f, &st);
		check(st.frames_out == popped);
		check(st.samples_in ==
		      popped * c.frame_samples + framer_fill(f));
		check(st.samples_in <= pushed);
	}
	f = framer_free(f);
	return 0;
}
