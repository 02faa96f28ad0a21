/* SPDX-License-Identifier: MIT */
#ifndef TTWS_SIM_LIVE_H
#define TTWS_SIM_LIVE_H

/*
 * ttws-earbud-sim --pair: simulated earbud pairs (one, or up to
 * SIMPAIRS_MAX with --pairs) as a real process, on one thread. Each earbud
 * listens on an AF_UNIX SOCK_SEQPACKET socket (the unix transport, standing
 * in for an L2CAP channel) and speaks ttws-link(7) to whoever connects,
 * applying the scenario's model (sim/simclock, sim/simlink) in real time
 * against the host's CLOCK_MONOTONIC: a message from the host is taken at
 * its kernel receive timestamp, waits for the modelled connection event,
 * is stamped in the earbud's own clock, and every reply is sent at the
 * instant the model says the host would receive it.
 *
 * Each frame is "rendered" at its presentation time in the earbud's clock;
 * the render log records the TRUE host instant of that (the model's
 * inverse clock), so the inter-ear error is measured, not estimated.
 */

#include <stdint.h>

#include "sim/scenario.h"

/*
 * One pair of the run: its own scenario (crystals, links, loss), its own
 * sockets and files; nothing of its timing is shared with another pair.
 */
struct live_pair_opts {
	const char *name;                 /* for messages; "p0", ... */
	const struct scenario *scenario;  /* borrowed, outlives the run */
	/* Listening socket per ear; NULL: this process does not serve
	 * that ear (one process per earbud). With l2cap_psm: the ear's
	 * controller address. */
	const char *path[SCENARIO_SIDES];
	const char *render_log;           /* CSV, or NULL */
	/*
	 * Decode every frame and keep what each earbud played in
	 * PREFIX-left.wav / PREFIX-right.wav (mono S16, 48 kHz; frame n's
	 * samples start at n * frame samples, gaps concealed). NULL: no
	 * decoding.
	 */
	const char *wav_prefix;
};

struct live_opts {
	const struct live_pair_opts *pairs; /* borrowed */
	/* 1..SIMPAIRS_MAX; more than one only over the unix transport. */
	unsigned n_pairs;
	/*
	 * Instead of unix sockets: each ear an LE peripheral on its own
	 * emulated controller reached through this H4 stream socket
	 * (btvirt -s's /tmp/bt-server-le), advertising and accepting the
	 * ttws-link L2CAP channel. NULL: the unix transport.
	 */
	const char *hci_server;
	/*
	 * Or, when not 0: each pair's path[] are the two ears' local
	 * controller addresses, and each listens on this LE PSM through the
	 * kernel's Bluetooth stack (BlueZ L2CAP sockets).
	 */
	uint16_t l2cap_psm;
	double duration_s;                /* 0 = until SIGTERM/SIGINT */
	int priority;                     /* SCHED_FIFO, 0 = none */
	uint32_t spin_guard_us;           /* precise reply instants */
};

/*
 * Run until the duration ends or a signal; print a per-ear summary on
 * stdout (with several pairs each line starts with "pair NAME: ").
 * Returns the exit code (0, or 1 with a message on stderr; 1 also for
 * more than one pair over --hci or --l2cap-psm).
 */
int live_run(const struct live_opts *o);

#endif
