/* SPDX-License-Identifier: MIT */
/*
 * What the RT thread records for files: the frame log (--frame-log) and
 * the btsnoop capture of hci-uart traffic (--btsnoop, CaptureStart()).
 * The RT thread writes records into wait-free rings; the main thread
 * drains them into the files.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/btsnoop.h"
#include "core/macro.h"
#include "daemon/daemon_private.h"
#include "daemon/dongle.h"
#include "daemon/log.h"
#include "daemon/stream.h"

#define DAEMON_FRAME_LOG_RING (1u << 20)
#define DAEMON_CAPTURE_RING (1u << 20)

static bool daemon_has_hci_uart(const struct conf *c)
{
	unsigned e;

	for (e = 0; e < conf_n_pairs(c) * CONF_N_EARS; e++) {
		if (conf_pair_link(c, e / CONF_N_EARS, e % CONF_N_EARS)
			    ->transport == CONF_TRANSPORT_HCI_UART) {
			return true;
		}
	}
	return false;
}

#define DAEMON_FRAME_HEADER "ear,seq,tx_host_ns,pts_ear_ns,naive_pts_ear_ns\n"

/*
 * Several pairs: each pair's frames in FRAME_LOG.NAME too (the format of
 * one pair's log, which ttws-earbud-sim --report reads), while FRAME_LOG
 * keeps the first pair's.
 */
static int daemon_open_pair_frame_logs(struct daemon *d)
{
	unsigned i, n = conf_n_pairs(&d->conf);
	char path[CONF_PATH_MAX + CONF_PAIR_NAME_MAX + 2];

	for (i = 0; i < n && n > 1; i++) {
		snprintf(path, sizeof(path), "%s.%s", d->o->frame_log,
			 conf_pair_name(&d->conf, i));
		d->pair_frame_file[i] = fopen(path, "we");
		if (!d->pair_frame_file[i]) {
			log_error("cannot open frame log %s: %s", path,
				  strerror(errno));
			return -errno;
		}
		fputs(DAEMON_FRAME_HEADER, d->pair_frame_file[i]);
	}
	return 0;
}

int daemon_capture_setup(struct daemon *d)
{
	const struct daemon_opts *o = d->o;
	int r;

	if (o->frame_log) {
		d->frame_mem = malloc(DAEMON_FRAME_LOG_RING);
		d->frame_file = fopen(o->frame_log, "we");
		if (!d->frame_mem || !d->frame_file) {
			log_error("cannot open frame log %s: %s", o->frame_log,
				  strerror(errno));
			return -errno;
		}
		spsc_init(&d->frame_ring, d->frame_mem, DAEMON_FRAME_LOG_RING);
		fputs(DAEMON_FRAME_HEADER, d->frame_file);
		r = daemon_open_pair_frame_logs(d);
		if (r < 0) {
			return r;
		}
	}
	/* With an hci-uart dongle the trace always flows, so that a capture
	 * can start at any time; without a file it is drained and dropped. */
	if (daemon_has_hci_uart(&d->conf)) {
		d->capture_mem = malloc(DAEMON_CAPTURE_RING);
		if (!d->capture_mem) {
			return -ENOMEM;
		}
		spsc_init(&d->capture_ring, d->capture_mem,
			  DAEMON_CAPTURE_RING);
	}
	if (o->btsnoop) {
		r = daemon_capture_start(d, o->btsnoop);
		if (r < 0) {
			log_error("cannot open capture %s: %s", o->btsnoop,
				  r == -ENOTSUP ? "no hci-uart dongle" :
						  strerror(-r));
			return r;
		}
	}
	return 0;
}

void daemon_capture_teardown(struct daemon *d)
{
	if (d->frame_file) {
		fclose(d->frame_file);
		d->frame_file = NULL;
	}
	for (unsigned i = 0; i < CONF_MAX_PAIRS; i++) {
		if (d->pair_frame_file[i]) {
			fclose(d->pair_frame_file[i]);
			d->pair_frame_file[i] = NULL;
		}
	}
	daemon_capture_stop(d);
	free(d->capture_mem);
	d->capture_mem = NULL;
	free(d->frame_mem);
	d->frame_mem = NULL;
}

int daemon_capture_start(void *data, const char *path)
{
	struct daemon *d = data;
	uint8_t hdr[BTSNOOP_HDR_SIZE];
	size_t hlen;
	FILE *f;

	if (!d->capture_mem) {
		return -ENOTSUP;
	}
	if (d->capture_file) {
		return -EALREADY;
	}
	f = fopen(path, "we");
	if (!f) {
		return -errno;
	}
	btsnoop_encode_header(hdr, sizeof(hdr), &hlen);
	if (fwrite(hdr, 1, hlen, f) != hlen || fflush(f) != 0) {
		fclose(f);
		return -EIO;
	}
	/* What queued before the capture started is not part of it. */
	spsc_skip(&d->capture_ring, spsc_read_avail(&d->capture_ring));
	d->capture_file = f;
	log_info("capture started: %s", path);
	return 0;
}

int daemon_capture_stop(void *data)
{
	struct daemon *d = data;

	if (!d->capture_file) {
		return d->capture_mem ? -ENOENT : -ENOTSUP;
	}
	daemon_drain_capture(d);
	fclose(d->capture_file);
	d->capture_file = NULL;
	log_info("capture stopped");
	return 0;
}

void daemon_drain_frames(struct daemon *d)
{
	struct stream_frame_rec r;

	if (!d->frame_file) {
		return;
	}
	while (spsc_read(&d->frame_ring, &r, sizeof(r)) == 0) {
		FILE *pf = r.pair < CONF_MAX_PAIRS ? d->pair_frame_file[r.pair] :
						     NULL;

		if (r.pair == 0) {
			fprintf(d->frame_file,
				"%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64
				",%" PRIu64 "\n",
				conf_ear_name(r.ear), r.seq, r.tx_host_ns,
				r.pts_ear_ns, r.shadow_pts_ns);
		}
		if (pf) {
			fprintf(pf,
				"%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64
				",%" PRIu64 "\n",
				conf_ear_name(r.ear), r.seq, r.tx_host_ns,
				r.pts_ear_ns, r.shadow_pts_ns);
		}
	}
}

/* The RT thread's H4 trace into btsnoop records (btmon -r, Wireshark). */
void daemon_drain_capture(struct daemon *d)
{
	struct dongle_trace_rec r;
	uint8_t frame[4096], out[4096 + BTSNOOP_REC_HDR_SIZE];
	struct btsnoop_rec br = { 0 };
	struct timespec rt, mono;
	int64_t offset_us;
	size_t len;

	if (!d->capture_mem) {
		return;
	}
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	offset_us = ((int64_t)rt.tv_sec - (int64_t)mono.tv_sec) * 1000000 +
		    ((int64_t)rt.tv_nsec - (int64_t)mono.tv_nsec) / 1000;
	while (spsc_peek(&d->capture_ring, &r, sizeof(r)) == 0) {
		if (spsc_read_avail(&d->capture_ring) < sizeof(r) + r.len) {
			break;
		}
		spsc_skip(&d->capture_ring, sizeof(r));
		if (r.len > sizeof(frame) || !d->capture_file) {
			spsc_skip(&d->capture_ring, r.len);
			continue;
		}
		spsc_read(&d->capture_ring, frame, r.len);
		br.dir = r.rx ? BTSNOOP_RECEIVED : BTSNOOP_SENT;
		br.ts_unix_us = (int64_t)(r.mono_ns / 1000) + offset_us;
		if (btsnoop_encode_record(&br, frame, r.len, out, sizeof(out),
					  &len) == 0) {
			fwrite(out, 1, len, d->capture_file);
		}
	}
	if (d->capture_file) {
		fflush(d->capture_file);
	}
}
