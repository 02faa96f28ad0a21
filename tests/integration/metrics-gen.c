/* SPDX-License-Identifier: MIT */
/*
 * metrics-gen: ttwsd's metrics exposition (src/daemon/metrics) from a
 * realistic fabricated state, for tests/integration/metrics.sh to hand
 * to the format validators. Both ears on hci-uart dongles (one with a
 * path that needs escaping), source = pipewire with ttws.sink's
 * counters, every histogram filled.
 *
 *	metrics-gen openmetrics|prometheus	exposition on stdout
 *	metrics-gen textfile PATH		metrics_write_textfile(PATH)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/macro.h"
#include "core/proto.h"
#include "daemon/ashapair.h"
#include "daemon/metrics.h"
#include "pw/sink.h"

/* splitmix64: the same samples every run. */
static uint64_t gen_next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* n samples spread over [lo, lo + span) ns. */
static void gen_fill(struct hist *h, uint64_t *seed, unsigned n, uint64_t lo,
		     uint64_t span)
{
	unsigned i;

	hist_init(h);
	for (i = 0; i < n; i++) {
		hist_record(h, lo + gen_next(seed) % span);
	}
}

static void gen_ear(struct engine_snapshot *s, enum conf_ear e, unsigned k)
{
	struct link_stats *l = &s->ear[e].link;
	struct servo_status *sv = &s->ear[e].servo;

	l->state = k ? LINK_ST_SYNCING : LINK_ST_STREAMING;
	l->connected = true;
	l->connects = 2 + k;
	l->disconnects = 1 + k;
	l->sync_sent = 4000;
	l->sync_samples = 3990 - k;
	l->sync_lost = 10 + k;
	l->frames_sent = 120000 - k;
	l->send_errors = k;
	l->reports = 11900;
	l->ear_late = 3;
	l->ear_buffer = 4;
	l->battery_pct = k ? 255 : 87; /* the right one unknown */
	l->ci_us = 7500;
	l->malformed[proto_error_index(-EPROTO)] = 2;
	l->unexpected = 1;
	sv->state = k ? SERVO_LOCKED : SERVO_STABLE;
	sv->offset_ns = k ? -123456789012 : 987654321;
	sv->rate_ppb = k ? -1234 : 25031;
	sv->samples = 3900;
	sv->rejected = 90;
	sv->steps = 1;
	sv->last_residual_ns = k ? -812 : 2300;
	sv->offset_sd_ns = 350;
	s->stream.sent[e] = l->frames_sent;
	s->stream.skipped[e] = 17 + k;
}

int main(int argc, char **argv)
{
	static struct hist hists[CONF_N_EARS][ENGINE_N_EAR_HISTS];
	static struct hist global[ENGINE_N_GLOBAL_HISTS];
	/* Per id: samples spread from lo over span, ns. */
	static const uint64_t range[ENGINE_N_EAR_HISTS][2] = {
	    [ENGINE_EH_RESIDUAL] = {0, 20000},
	    [ENGINE_EH_DELIVERY] = {5000000, 40000000},
	    [ENGINE_EH_RX_TRANSPORT] = {1000000, 15000000},
	    [ENGINE_EH_RX_KERNEL] = {2000, 60000},
	    [ENGINE_EH_RX_LOOP] = {300, 4000},
	    [ENGINE_EH_RX_HANDLER] = {100, 3000},
	    [ENGINE_EH_TX_SUBMIT] = {1000, 30000},
	    [ENGINE_EH_TX_KERNEL] = {5000, 100000},
	    [ENGINE_EH_TX_DONE] = {2000000, 30000000},
	};
	struct engine_snapshot snap = {0};
	struct pw_sink_stats pw = {0};
	struct metrics_input in = {0};
	struct conf c;
	uint64_t seed = 42;
	unsigned e, id;
	int r;

	if (argc < 2) {
		fprintf(stderr, "usage: metrics-gen openmetrics|prometheus|"
				"textfile PATH\n");
		return 2;
	}
	conf_default(&c);
	c.stream.source = CONF_SOURCE_PIPEWIRE;
	c.stream.codec = CONF_CODEC_LC3;
	for (e = 0; e < CONF_N_EARS; e++) {
		c.link[e].transport = CONF_TRANSPORT_HCI_UART;
		gen_ear(&snap, e, e);
		for (id = 0; id < ENGINE_N_EAR_HISTS; id++) {
			gen_fill(&hists[e][id], &seed, 5000, range[id][0],
				 range[id][1]);
			in.ear_hist[e][id] = &hists[e][id];
		}
	}
	gen_fill(&global[ENGINE_GH_WAKEUP], &seed, 100000, 1000, 30000);
	gen_fill(&global[ENGINE_GH_HANDOFF], &seed, 12000, 100000, 9000000);
	in.global_hist[ENGINE_GH_WAKEUP] = &global[ENGINE_GH_WAKEUP];
	in.global_hist[ENGINE_GH_HANDOFF] = &global[ENGINE_GH_HANDOFF];

	snap.backend = LOOP_IO_URING;
	snap.loop.wakeups = 2400000;
	snap.loop.rx = 300000;
	snap.loop.tx = 250000;
	snap.loop.timers_expired = 900000;
	snap.stream.ticks = 120020;
	snap.stream.delay_ns = 45 * NSEC_PER_MSEC;
	snap.stream.delay_target_ns = 42 * NSEC_PER_MSEC;
	snap.stream.latency_ns = 47500 * NSEC_PER_USEC;
	snap.stream.octets[0] = snap.stream.octets[1] = 120;
	snap.stream.pw_quanta = 56000;
	snap.stream.ring_bytes = 7680;
	snap.stream.rate_diff = 1.000025;
	snap.stream.driving = true;
	pw.process_calls = 56010;
	pw.quanta = 56000;
	pw.streaming = true;
	pw.driving = true;
	snap.n_dongles = 2;
	snap.dongle[0].open = true;
	snap.dongle[0].opens = 1;
	snap.dongle[0].icount_available = true;
	snap.dongle[1].open = true;
	snap.dongle[1].opens = 3;
	snap.dongle[1].losses = 2;
	in.dongle_path[0] = "/dev/ttyUSB0";
	in.dongle_path[1] = "/dev/serial/by-id/usb-\"odd\"\\name";

	in.snap = &snap;
	in.conf = &c;
	in.pw = &pw;
	in.uptime_ns = 3723 * NSEC_PER_SEC + 250 * NSEC_PER_MSEC;

	if (argc == 3 && !strcmp(argv[2], "asha")) {
		/* The same ears as an ASHA pair: its own families, and no
		 * ttws-link ear series. */
		struct ashapair_stats *a = &snap.pairs[0].asha;

		c.stream.profile = CONF_PROFILE_ASHA;
		snap.n_pairs = 1;
		snap.pairs[0].is_asha = true;
		a->slots = 30000;
		a->dropped_slots = 3;
		a->mono_slots = 250;
		a->skew_count = 29000;
		a->skew_p50_ns = 180 * NSEC_PER_USEC;
		a->skew_p99_ns = 1500 * NSEC_PER_USEC;
		a->skew_max_ns = 6 * NSEC_PER_MSEC;
		a->latency_ns = 61375 * NSEC_PER_USEC;
		for (e = 0; e < CONF_N_EARS; e++) {
			a->ear[e].state = ASHAEAR_STREAMING;
			a->ear[e].connects = 1 + e;
			a->ear[e].starts = 2;
			a->ear[e].start_failures = 1;
			a->ear[e].sdus_sent = 29990;
		}
	}
	if (!strcmp(argv[1], "textfile") && argc == 3) {
		r = metrics_write_textfile(argv[2], &in);
	} else if (!strcmp(argv[1], "openmetrics")) {
		r = metrics_write(stdout, &in);
	} else if (!strcmp(argv[1], "prometheus")) {
		r = metrics_write_as(stdout, &in, METRICS_PROMETHEUS);
	} else {
		fprintf(stderr, "metrics-gen: unknown mode %s\n", argv[1]);
		return 2;
	}
	if (r < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "metrics-gen: %s\n",
			strerror(r < 0 ? -r : EIO));
		return 1;
	}
	return 0;
}
