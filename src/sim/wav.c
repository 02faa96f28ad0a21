/* SPDX-License-Identifier: MIT */
#include "sim/wav.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAV_HEADER 44
#define WAV_FORMAT_PCM 1

struct wav {
	FILE *f;
	uint16_t channels;
	uint64_t frames;
	int err; /* first write error, -errno */
};

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	return get_le16(p) | (uint32_t)get_le16(p + 2) << 16;
}

/* The canonical header; data_bytes is patched in at close. */
static void header(uint8_t h[WAV_HEADER], uint32_t rate, uint16_t ch,
		   uint32_t data_bytes)
{
	memcpy(h, "RIFF", 4);
	put_le32(h + 4, 36 + data_bytes);
	memcpy(h + 8, "WAVEfmt ", 8);
	put_le32(h + 16, 16);
	put_le16(h + 20, WAV_FORMAT_PCM);
	put_le16(h + 22, ch);
	put_le32(h + 24, rate);
	put_le32(h + 28, rate * ch * 2);
	put_le16(h + 32, (uint16_t)(ch * 2));
	put_le16(h + 34, 16);
	memcpy(h + 36, "data", 4);
	put_le32(h + 40, data_bytes);
}

int wav_create(const char *path, uint32_t rate_hz, uint16_t channels,
	       struct wav **ret)
{
	uint8_t h[WAV_HEADER];
	struct wav *w;

	if (!path || !ret || rate_hz == 0 || channels < 1 || channels > 8) {
		return -EINVAL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		return -ENOMEM;
	}
	w->f = fopen(path, "wbe");
	if (!w->f) {
		int r = -errno;

		free(w);
		return r;
	}
	w->channels = channels;
	header(h, rate_hz, channels, 0);
	if (fwrite(h, sizeof(h), 1, w->f) != 1) {
		w->err = -EIO;
	}
	*ret = w;
	return 0;
}

int wav_write(struct wav *w, const int16_t *pcm, size_t n)
{
	uint8_t buf[512];
	size_t i, total = n * w->channels, k = 0;

	if (w->err) {
		return w->err;
	}
	for (i = 0; i < total; i++) {
		put_le16(buf + k, (uint16_t)pcm[i]);
		k += 2;
		if (k == sizeof(buf) || i + 1 == total) {
			if (fwrite(buf, 1, k, w->f) != k) {
				w->err = -EIO;
				return w->err;
			}
			k = 0;
		}
	}
	w->frames += n;
	return 0;
}

uint64_t wav_frames(const struct wav *w)
{
	return w->frames;
}

int wav_close(struct wav *w)
{
	uint8_t b[4];
	uint64_t bytes;
	int r;

	if (!w) {
		return 0;
	}
	r = w->err;
	bytes = w->frames * w->channels * 2;
	if (bytes > UINT32_MAX - 36) {
		r = r ? r : -EFBIG;
		bytes = UINT32_MAX - 36;
	}
	put_le32(b, (uint32_t)(36 + bytes));
	if (!r && (fseek(w->f, 4, SEEK_SET) < 0 ||
		   fwrite(b, 4, 1, w->f) != 1)) {
		r = -EIO;
	}
	put_le32(b, (uint32_t)bytes);
	if (!r && (fseek(w->f, 40, SEEK_SET) < 0 ||
		   fwrite(b, 4, 1, w->f) != 1)) {
		r = -EIO;
	}
	if (fclose(w->f) != 0 && !r) {
		r = -errno;
	}
	free(w);
	return r;
}

static int read_all(const char *path, uint8_t **ret, size_t *ret_len)
{
	uint8_t *buf = NULL, *nb;
	size_t len = 0, cap = 0, n;
	FILE *f;
	int r = 0;

	f = fopen(path, "rbe");
	if (!f) {
		return -errno;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb) {
				r = -ENOMEM;
				break;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0) {
			if (ferror(f)) {
				r = -EIO;
			}
			break;
		}
	}
	fclose(f);
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

int wav_read(const char *path, int16_t **ret_pcm, size_t *ret_frames,
	     uint16_t *ret_channels, uint32_t *ret_rate_hz)
{
	const uint8_t *data = NULL, *fmt = NULL;
	uint32_t data_len = 0, csz;
	uint8_t *buf = NULL;
	size_t len = 0, off, i, n;
	uint16_t ch;
	int16_t *pcm;
	int r;

	r = read_all(path, &buf, &len);
	if (r < 0) {
		return r;
	}
	if (len < 12 || memcmp(buf, "RIFF", 4) || memcmp(buf + 8, "WAVE", 4)) {
		free(buf);
		return -EBADMSG;
	}
	/* Walk the chunks; each is id, le32 size, body padded to even. */
	for (off = 12; off + 8 <= len;) {
		csz = get_le32(buf + off + 4);
		if (csz > len - off - 8) {
			/* A streaming writer may leave the data size at 0 or
			 * max: take what is there. */
			if (!memcmp(buf + off, "data", 4)) {
				csz = (uint32_t)(len - off - 8);
			} else {
				break;
			}
		}
		if (!memcmp(buf + off, "fmt ", 4) && csz >= 16) {
			fmt = buf + off + 8;
		} else if (!memcmp(buf + off, "data", 4)) {
			data = buf + off + 8;
			data_len = csz;
		}
		off += 8 + (size_t)csz + (csz & 1);
	}
	if (!fmt || !data) {
		free(buf);
		return -EBADMSG;
	}
	ch = get_le16(fmt + 2);
	if (get_le16(fmt) != WAV_FORMAT_PCM || get_le16(fmt + 14) != 16 ||
	    ch == 0) {
		free(buf);
		return -ENOTSUP;
	}
	n = data_len / (2u * ch);
	pcm = malloc(n * ch * 2 + 2);
	if (!pcm) {
		free(buf);
		return -ENOMEM;
	}
	for (i = 0; i < n * ch; i++) {
		pcm[i] = (int16_t)get_le16(data + 2 * i);
	}
	*ret_rate_hz = get_le32(fmt + 4);
	*ret_channels = ch;
	*ret_frames = n;
	*ret_pcm = pcm;
	free(buf);
	return 0;
}
