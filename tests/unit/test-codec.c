/* SPDX-License-Identifier: MIT */
/*
 * The daemon's encoder (src/daemon/codec) against the simulator's decoder
 * (src/sim/lc3dec, liblc3) and WAV files (src/sim/wav).
 *
 * The allocator is wrapped at link time (-Wl,--wrap=malloc,...) so the
 * test counts every allocation codec.c makes; liblc3 itself imports no
 * allocator at all (nm -D liblc3.so: only memcpy/memmove/memset and libm).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloccount.h"

#include "daemon/codec.h"
#include "sim/lc3dec.h"
#include "sim/wav.h"


#define RATE 48000

static struct codec *mk(enum codec_kind k, uint32_t frame_us, uint32_t br)
{
	struct codec_config c = {
		.kind = k,
		.rate_hz = RATE,
		.frame_us = frame_us,
		.bitrate_bps = br,
	};
	struct codec *x = NULL;

	assert_int_equal(codec_new(&c, &x), 0);
	return x;
}

/* Octets per frame: floor(bitrate * duration / 8), within 20..400. */
static void codec_lc3_octets_per_frame(void **state)
{
	static const uint32_t br[] = { 16000, 24000, 32000, 48000, 64000,
				       80000, 96000, 124000, 128000, 160000,
				       256000, 320000 };
	static const uint32_t dt[] = { 10000, 7500 };
	struct codec *c;
	unsigned i, j;
	uint64_t want;

	(void)state;
	for (j = 0; j < 2; j++) {
		for (i = 0; i < sizeof(br) / sizeof(br[0]); i++) {
			want = (uint64_t)br[i] * dt[j] / 8000000u;
			want = want < 20 ? 20 : want > 400 ? 400 : want;
			assert_int_equal(codec_lc3_octets(dt[j], br[i]),
					 (int)want);
			c = mk(CODEC_LC3, dt[j], br[i]);
			assert_int_equal(codec_frame_octets(c), want);
			assert_int_equal(codec_frame_samples(c),
					 dt[j] == 10000 ? 480 : 360);
			codec_free(c);
		}
	}
	/* The common points, spelled out. */
	assert_int_equal(codec_lc3_octets(10000, 96000), 120);
	assert_int_equal(codec_lc3_octets(7500, 96000), 90);
	assert_int_equal(codec_lc3_octets(10000, 124000), 155);
	assert_int_equal(codec_lc3_octets(7500, 124000), 116);
	assert_int_equal(codec_lc3_octets(7500, 16000), 20);
	assert_int_equal(codec_lc3_octets(10000, 320000), 400);
	assert_int_equal(codec_lc3_octets(10000, 8000), -EINVAL);
	assert_int_equal(codec_lc3_octets(10000, 400000), -EINVAL);
	assert_int_equal(codec_lc3_octets(5000, 96000), -EINVAL);
}

static void codec_rejects_bad_config(void **state)
{
	struct codec_config c = { .kind = CODEC_LC3, .rate_hz = RATE,
				  .frame_us = 10000, .bitrate_bps = 96000 };
	struct codec *x = NULL;

	(void)state;
	c.frame_us = 5000;
	assert_int_equal(codec_new(&c, &x), -EINVAL);
	c.frame_us = 10000;
	c.rate_hz = 44100;
	assert_int_equal(codec_new(&c, &x), -EINVAL);
	c.rate_hz = RATE;
	c.bitrate_bps = 1000;
	assert_int_equal(codec_new(&c, &x), -EINVAL);
	c.kind = (enum codec_kind)9;
	assert_int_equal(codec_new(&c, &x), -EINVAL);
	assert_null(x);
	assert_null(codec_free(NULL));
}

/* Algorithmic delay (lc3_delay_samples) plus one frame of buffering. */
static void codec_reports_delay(void **state)
{
	struct codec *c;

	(void)state;
	c = mk(CODEC_LC3, 10000, 96000);
	assert_int_equal(codec_delay_ns(c), 12500000);
	codec_free(c);
	c = mk(CODEC_LC3, 7500, 96000);
	assert_int_equal(codec_delay_ns(c), 11500000);
	codec_free(c);
	c = mk(CODEC_PCM, 10000, 0);
	assert_int_equal(codec_delay_ns(c), 10000000);
	codec_free(c);
}

/* PCM: S16 little-endian on the wire, bit exact through the decoder. */
static void codec_pcm_passthrough_exact(void **state)
{
	struct lc3dec_config dc = { .kind = LC3DEC_PCM, .rate_hz = RATE,
				    .frame_us = 10000 };
	int16_t in[480], out[480];
	float fin[480];
	uint8_t wire[960];
	struct lc3dec *d = NULL;
	struct codec *c = mk(CODEC_PCM, 10000, 0);
	size_t len = 0;
	int i;

	(void)state;
	for (i = 0; i < 480; i++) {
		in[i] = (int16_t)(i * 137 - 32768);
		fin[i] = (float)in[i] / 32768.0f;
	}
	in[1] = 32767;
	assert_int_equal(codec_frame_octets(c), 960);
	assert_int_equal(codec_encode(c, CODEC_PCM_S16, in, wire, 959, &len),
			 -ENOBUFS);
	assert_int_equal(codec_encode(c, CODEC_PCM_S16, in, wire,
				      sizeof(wire), &len),
			 0);
	assert_int_equal(len, 960);
	assert_int_equal(wire[0], (uint16_t)in[0] & 0xff);
	assert_int_equal(wire[1], (uint16_t)in[0] >> 8);
	assert_int_equal(wire[2], 0xff);
	assert_int_equal(wire[3], 0x7f);
	assert_int_equal(lc3dec_new(&dc, &d), 0);
	assert_int_equal(lc3dec_frame_samples(d), 480);
	assert_int_equal(lc3dec_decode(d, wire, len, out), 0);
	assert_memory_equal(in, out, sizeof(in));

	/* F32 input rounds to the same S16. */
	fin[1] = 1.0f;
	assert_int_equal(codec_encode(c, CODEC_PCM_F32, fin, wire,
				      sizeof(wire), &len),
			 0);
	assert_int_equal(lc3dec_decode(d, wire, len, out), 0);
	assert_memory_equal(in, out, sizeof(in));

	/* Lost or malformed frames are concealed with silence. */
	assert_int_equal(lc3dec_decode(d, NULL, 0, out), 1);
	assert_int_equal(out[7], 0);
	assert_int_equal(lc3dec_decode(d, wire, 10, out), 1);
	lc3dec_free(d);
	codec_free(c);
}

/* Normalised cross-correlation of y against x delayed by lag. */
static double xcorr_at(const int16_t *x, const int16_t *y, size_t n,
		       size_t lag)
{
	double num = 0.0, ex = 0.0, ey = 0.0;
	size_t i;

	for (i = 0; i + lag < n; i++) {
		num += (double)x[i] * y[i + lag];
		ex += (double)x[i] * x[i];
		ey += (double)y[i + lag] * y[i + lag];
	}
	return (ex > 0 && ey > 0) ? num / sqrt(ex * ey) : 0.0;
}

/* Peak over lags 0..max_lag; *ret_lag gets its lag. */
static double xcorr_peak(const int16_t *x, const int16_t *y, size_t n,
			 size_t max_lag, size_t *ret_lag)
{
	double best = -2.0, v;
	size_t lag;

	for (lag = 0; lag <= max_lag; lag++) {
		v = xcorr_at(x, y, n, lag);
		if (v > best) {
			best = v;
			*ret_lag = lag;
		}
	}
	return best;
}

/*
 * A 440 Hz left and a 1 kHz right, each through its own LC3 encoder at
 * 96 kbps and back through liblc3's decoder: correlation >= 0.9 per
 * channel at the codec's delay, and each ear's output resembles its own
 * input, not the other ear's.
 */
static void lc3_roundtrip(uint32_t frame_us)
{
	enum { SECONDS_MS = 500 };
	struct lc3dec_config dc = { .kind = LC3DEC_LC3, .rate_hz = RATE,
				    .frame_us = frame_us };
	const double hz[2] = { 440.0, 1000.0 };
	uint32_t fs = frame_us == 10000 ? 480 : 360;
	size_t nframes = SECONDS_MS * 1000 / frame_us, n = nframes * fs;
	int16_t *in[2], *out[2];
	uint8_t wire[400];
	struct codec *c[2];
	struct lc3dec *d[2];
	size_t len, i, f, lag = 0, lag2 = 0, delay, half;
	double corr, other, at;
	int e;

	for (e = 0; e < 2; e++) {
		in[e] = calloc(n, sizeof(int16_t));
		out[e] = calloc(n, sizeof(int16_t));
		assert_non_null(in[e]);
		assert_non_null(out[e]);
		for (i = 0; i < n; i++) {
			in[e][i] = (int16_t)lrint(
				12000.0 * sin(2 * M_PI * hz[e] * i / RATE));
		}
		c[e] = mk(CODEC_LC3, frame_us, 96000);
		assert_int_equal(lc3dec_new(&dc, &d[e]), 0);
		for (f = 0; f < nframes; f++) {
			assert_int_equal(codec_encode(c[e], CODEC_PCM_S16,
						      in[e] + f * fs, wire,
						      sizeof(wire), &len),
					 0);
			assert_int_equal(len, frame_us == 10000 ? 120 : 90);
			assert_int_equal(lc3dec_decode(d[e], wire, len,
						       out[e] + f * fs),
					 0);
		}
	}
	for (e = 0; e < 2; e++) {
		/* A sine correlates with itself every period, so look
		 * within half a period of liblc3's algorithmic delay
		 * (lc3_delay_samples: 2.5 ms / 4 ms). */
		delay = frame_us == 10000 ? 120 : 192;
		half = (size_t)(RATE / hz[e] / 2);
		corr = xcorr_peak(in[e], out[e] + delay - half, n - delay,
				  2 * half, &lag);
		at = xcorr_at(in[e], out[e], n, delay);
		print_message("lc3 %u us ear %d: corr %.4f at delay, peak "
			      "%.4f at %+d\n",
			      frame_us, e, at, corr, (int)lag - (int)half);
		assert_true(at >= 0.9);
		assert_true(corr >= 0.9);
		assert_true(lag >= half - 2 && lag <= half + 2);
		other = xcorr_peak(in[1 - e], out[e], n, 2 * fs, &lag2);
		assert_true(other < 0.5);
	}
	for (e = 0; e < 2; e++) {
		codec_free(c[e]);
		lc3dec_free(d[e]);
		free(in[e]);
		free(out[e]);
	}
}

static void codec_lc3_sine_roundtrip_10ms(void **state)
{
	(void)state;
	lc3_roundtrip(10000);
}

static void codec_lc3_sine_roundtrip_7_5ms(void **state)
{
	(void)state;
	lc3_roundtrip(7500);
}

/* Set-up allocates; encoding never does. */
static void codec_no_allocation_after_setup(void **state)
{
	int16_t pcm[480];
	float fpcm[480];
	uint8_t wire[960];
	struct codec *lc3, *pcmc;
	unsigned long before;
	size_t len;
	int i;

	(void)state;
	for (i = 0; i < 480; i++) {
		pcm[i] = (int16_t)(i * 50);
		fpcm[i] = (float)i / 480.0f;
	}
	before = alloccount_n;
	lc3 = mk(CODEC_LC3, 10000, 96000);
	pcmc = mk(CODEC_PCM, 10000, 0);
	/* Positive control: the wrapper does see codec.c allocate. */
	assert_true(alloccount_n > before);
	before = alloccount_n;
	for (i = 0; i < 1000; i++) {
		assert_int_equal(codec_encode(lc3, CODEC_PCM_S16, pcm, wire,
					      sizeof(wire), &len),
				 0);
		assert_int_equal(codec_encode(lc3, CODEC_PCM_F32, fpcm, wire,
					      sizeof(wire), &len),
				 0);
		assert_int_equal(codec_encode(pcmc, CODEC_PCM_S16, pcm, wire,
					      sizeof(wire), &len),
				 0);
	}
	assert_int_equal(alloccount_n, before);
	codec_free(lc3);
	codec_free(pcmc);
}

static void lc3dec_conceals_losses(void **state)
{
	struct lc3dec_config dc = { .kind = LC3DEC_LC3, .rate_hz = RATE,
				    .frame_us = 10000 };
	struct lc3dec_stats st;
	struct lc3dec *d = NULL;
	uint8_t junk[500] = { 0 };
	int16_t out[480];

	(void)state;
	assert_int_equal(lc3dec_new(&dc, &d), 0);
	assert_int_equal(lc3dec_decode(d, NULL, 0, out), 1);
	assert_int_equal(lc3dec_decode(d, junk, 10, out), 1);
	assert_int_equal(lc3dec_decode(d, junk, 401, out), 1);
	lc3dec_get_stats(d, &st);
	assert_int_equal(st.plc, 3);
	assert_int_equal(st.bad, 2);
	assert_int_equal(st.frames, 0);
	lc3dec_free(d);
	dc.frame_us = 5000;
	assert_int_equal(lc3dec_new(&dc, &d), -EINVAL);
}

static void wav_roundtrip(void **state)
{
	char path[] = "/tmp/ttws-test-wav-XXXXXX";
	int16_t pcm[2 * 1000], *back = NULL;
	struct wav *w = NULL;
	size_t frames = 0;
	uint16_t ch = 0;
	uint32_t rate = 0;
	int fd, i;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	for (i = 0; i < 2000; i++) {
		pcm[i] = (int16_t)(i * 33 - 30000);
	}
	assert_int_equal(wav_create(path, 48000, 2, &w), 0);
	assert_int_equal(wav_write(w, pcm, 600), 0);
	assert_int_equal(wav_write(w, pcm + 1200, 400), 0);
	assert_int_equal(wav_frames(w), 1000);
	assert_int_equal(wav_close(w), 0);
	assert_int_equal(wav_read(path, &back, &frames, &ch, &rate), 0);
	assert_int_equal(frames, 1000);
	assert_int_equal(ch, 2);
	assert_int_equal(rate, 48000);
	assert_memory_equal(back, pcm, sizeof(pcm));
	free(back);
	unlink(path);
	assert_int_equal(wav_create(path, 48000, 0, &w), -EINVAL);
	assert_int_equal(wav_read("/nonexistent/x.wav", &back, &frames, &ch,
				  &rate),
			 -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(codec_lc3_octets_per_frame),
		cmocka_unit_test(codec_rejects_bad_config),
		cmocka_unit_test(codec_reports_delay),
		cmocka_unit_test(codec_pcm_passthrough_exact),
		cmocka_unit_test(codec_lc3_sine_roundtrip_10ms),
		cmocka_unit_test(codec_lc3_sine_roundtrip_7_5ms),
		cmocka_unit_test(codec_no_allocation_after_setup),
		cmocka_unit_test(lc3dec_conceals_losses),
		cmocka_unit_test(wav_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
