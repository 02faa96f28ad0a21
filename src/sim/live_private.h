/* SPDX-License-Identifier: MIT */
#ifndef TTWS_SIM_LIVE_PRIVATE_H
#define TTWS_SIM_LIVE_PRIVATE_H

/*
 * What the four files of the live mode share: live.c (the run: its
 * pairs, the loop and wheel they share, the poll and end timers, the
 * render logs, live_run()), live_ear.c (one earbud over its transport:
 * the model's time line, the replies' send instants, the unix and L2CAP
 * sockets with the modelled link drops), live_hci.c (--hci: each earbud
 * an LE peripheral on its own emulated controller) and live_wav.c
 * (--wav-prefix: decoding what each earbud played into a WAV).
 * Not for other modules: they see sim/live.h only.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/macro.h"
#include "core/proto.h"
#include "core/wheel.h"
#include "sim/lc3dec.h"
#include "sim/live.h"
#include "sim/scenario.h"

struct hcihost;
struct loop;
struct loop_sock;
struct simclock;
struct simear;
struct simear_render;
struct simlink;
struct wav;

#define LIVE_POOL 512 /* messages waiting for their modelled send instant */
#define LIVE_MSG_MAX 64
/* The model runs on its own host time line starting where the virtual
 * mode's does (20000 s), so a scenario's offset_ms means the same in both
 * modes whatever the machine's uptime. */
#define LIVE_MODEL_T0_NS (UINT64_C(20000) * NSEC_PER_SEC)
#define LIVE_RATE 48000
#define LIVE_MAX_SAMPLES 480 /* 10 ms at 48 kHz */

struct live_ear;
struct live_pair;

/* A reply waiting for the instant the model says the host receives it. */
struct live_pending {
	struct wheel_timer timer;
	struct live_ear *ear;
	struct live_pending *next_free;
	size_t len;
	uint8_t buf[LIVE_MSG_MAX];
};

struct live_ear {
	struct live *lv;
	struct live_pair *pair;
	enum scenario_side side;
	bool on; /* this process serves the ear (live_pair_opts.path) */
	const char *path;
	struct simclock *clock;
	struct simlink *link;
	int listen_fd;
	int fd;
	struct loop_sock *sock;
	struct simear *ear; /* the protocol side (sim/simear) */
	struct live_pending pool[LIVE_POOL];
	struct live_pending *free_list;
	/* --hci: a peripheral on its own emulated controller. */
	struct hcihost *host;
	int hci_fd;
	struct loop_sock *hci_sock;
	bool hci_ready;     /* controller set up */
	bool hci_listening; /* advertising, waiting for the central */
	bool hci_open;      /* the L2CAP channel to ttwsd is open */
	/* --wav-prefix: the decoder of the session's codec and what this
	 * earbud played, sample i belonging to frame i / frame_samples. */
	struct lc3dec *dec;
	struct lc3dec_config dec_cfg;
	struct wav *wav;
	uint64_t wav_pos; /* samples written since the origin */
	bool wav_started;
	int16_t wav_last;
	int16_t dec_pcm[LIVE_MAX_SAMPLES];
	/* Counters for the summary (and simear_stats()). */
	uint64_t connects, malformed;
	/* seq of the next message sent on this connection (live_send()) */
	uint16_t wire_seq;
	uint64_t pool_full, dropped_links;
	uint64_t decoded, concealed;
};

/*
 * One pair: its own earbuds (clocks, links, reply pools) and files. Pairs
 * share the loop, the wheel and the model's host time line (the host's
 * clock, which is truth for every pair), nothing of their timing.
 */
struct live_pair {
	struct live *lv;
	const struct live_pair_opts *po;
	FILE *render_log;
	struct live_ear ear[SCENARIO_SIDES];
};

struct live {
	const struct live_opts *o;
	struct wheel *wheel;
	struct loop *loop;
	struct wheel_timer poll_timer;
	struct wheel_timer end_timer;
	struct wheel_timer hci_timer; /* host timeouts in --hci mode */
	uint64_t start_ns;
	unsigned n_pairs;
	struct live_pair *pair; /* n_pairs of them */
};

/* Real CLOCK_MONOTONIC <-> the model's host time line (ns both). */
static inline uint64_t live_to_model(const struct live *lv, uint64_t real_ns)
{
	return real_ns - lv->start_ns + LIVE_MODEL_T0_NS;
}

static inline uint64_t live_to_real(const struct live *lv, uint64_t model_ns)
{
	return model_ns - LIVE_MODEL_T0_NS + lv->start_ns;
}

/* live_ear.c */

/*
 * Make p's earbud on side an earbud: its model from the pair's scenario,
 * its reply pool, and (unix, L2CAP) its listening socket; --hci connects
 * it later (live_hci_init()). Returns 0 or -errno, with a message on
 * stderr when the socket cannot listen. Undone by live_ear_close().
 */
int live_ear_init(struct live_pair *p, enum scenario_side side);

/*
 * Every poll (now_ns: host CLOCK_MONOTONIC): follow the model's radio
 * link: drop the host's connection while it is down, accept the next
 * one (or advertise, --hci) while it is up.
 */
void live_ear_poll(struct live_ear *e, uint64_t now_ns);

/* A message from the host reached "the dongle" at real_ns (host
 * CLOCK_MONOTONIC): into the earbud, or the link drops if the model's
 * radio link is down. */
void live_on_message(struct live_ear *e, const uint8_t *data, size_t len,
		     uint64_t real_ns);

/* Cancel every reply still waiting to be sent, back to the free list. */
void live_pending_cancel_all(struct live_ear *e);

/* The ear's summary lines on stdout, each starting with prefix. */
void live_ear_summary(const struct live_ear *e, const char *prefix);

/*
 * Close what live_ear_init() and the run opened (after the loop is
 * gone): fds (a unix listening socket's file unlinked), the model, the
 * decoder and the WAV. Returns 0, or -EIO (with a message on stderr)
 * when the WAV file could not be finished.
 */
int live_ear_close(struct live_ear *e);

/* live_hci.c */

/*
 * Make e an LE peripheral (hcihost) and connect it to the controller
 * emulator at server (an H4 stream socket); e->host and e->hci_fd are e's
 * (freed by live_run()). Returns 0 or -errno, with a message on stderr
 * when the emulator cannot be reached.
 */
int live_hci_init(struct live_ear *e, const char *server);

/* Advertise for the central, once the controller is ready and while no
 * channel is open. */
void live_hci_listen(struct live_ear *e);

/* Start lv->hci_timer: every ear's host timeouts, from lv->start_ns. */
void live_hci_timer_start(struct live *lv);

/* live_wav.c */

/*
 * The decoder for the session HELLO announces, (re)made when the codec or
 * the frame changes (only with --wav-prefix). Returns LINK_HELLO_OK,
 * LINK_HELLO_E_PARAMS (this earbud cannot play the stream) or
 * LINK_HELLO_E_CODEC (no decoder).
 */
uint8_t live_decoder_setup(struct live_ear *e, const struct link_hello *hl);

/* Keep frame r in e's WAV at its true render instant, or its concealment
 * when missing (late, or the earbud frozen). No-op without a WAV. */
void live_wav_frame(struct live_ear *e, const struct simear_render *r,
		    bool missing);

/* --wav-prefix P (the pair's): create P-left.wav and P-right.wav for the
 * ears served. Returns 0 or -errno, with a message on stderr. */
int live_wav_open(struct live_pair *p);

#endif
