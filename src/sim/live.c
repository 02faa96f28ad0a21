/* SPDX-License-Identifier: MIT */
#include "sim/live.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/macro.h"
#include "core/hcihost.h"
#include "core/proto.h"
#include "core/wheel.h"
#include "os/l2cap.h"
#include "os/loop.h"
#include "os/sockopt.h"
#include "os/rt.h"
#include "os/unix.h"
#include "sim/lc3dec.h"
#include "sim/simclock.h"
#include "sim/simear.h"
#include "sim/simlink.h"
#include "sim/wav.h"

#define LIVE_POOL 512 /* messages waiting for their modelled send instant */
#define LIVE_MSG_MAX 64
#define LIVE_POLL_NS (20 * NSEC_PER_MSEC)
/* The model runs on its own host time line starting where the virtual
 * mode's does (20000 s), so a scenario's offset_ms means the same in both
 * modes whatever the machine's uptime. */
#define LIVE_MODEL_T0_NS (UINT64_C(20000) * NSEC_PER_SEC)
#define LIVE_RATE 48000
#define LIVE_MAX_SAMPLES 480 /* 10 ms at 48 kHz */
/* A gap in what an earbud played is filled with concealment for up to
 * this many frames in the WAV; the rest of a longer one (a reconnect, a
 * restart) with silence, without decoding. */
#define LIVE_WAV_MAX_CONCEAL 100u
#define LIVE_WAV_MAX_GAP (UINT64_C(48000) * 3600) /* an hour of samples */

struct live_ear;

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
	enum scenario_side side;
	bool on; /* this process serves the ear (live_opts.path) */
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
	uint64_t pool_full, dropped_links;
	uint64_t decoded, concealed;
};

struct live {
	const struct live_opts *o;
	struct wheel *wheel;
	struct loop *loop;
	struct wheel_timer poll_timer;
	struct wheel_timer end_timer;
	struct wheel_timer hci_timer; /* host timeouts in --hci mode */
	FILE *render_log;
	uint64_t start_ns;
	struct live_ear ear[SCENARIO_SIDES];
};

static struct loop *live_signal_loop;

/* Real CLOCK_MONOTONIC <-> the model's host time line. */
static uint64_t live_to_model(const struct live *lv, uint64_t real_ns)
{
	return real_ns - lv->start_ns + LIVE_MODEL_T0_NS;
}

static uint64_t live_to_real(const struct live *lv, uint64_t model_ns)
{
	return model_ns - LIVE_MODEL_T0_NS + lv->start_ns;
}

static void live_on_signal(int sig)
{
	if (live_signal_loop) {
		loop_stop(live_signal_loop);
	}
}

/* One message to the host, over whichever transport this ear uses. */
static void live_send(struct live_ear *e, const uint8_t *buf, size_t len)
{
	if (e->host) {
		if (e->hci_open) {
			hcihost_send(e->host, 0, buf, len, 0);
		}
	} else if (e->sock) {
		loop_send(e->lv->loop, e->sock, buf, len);
	}
}

static void live_pending_fire(struct wheel_timer *t, uint64_t now_ns)
{
	struct live_pending *p = container_of(t, struct live_pending, timer);
	struct live_ear *e = p->ear;

	live_send(e, p->buf, p->len);
	p->next_free = e->free_list;
	e->free_list = p;
}

/* Queue an encoded message to leave at host instant at_ns. */
static struct live_pending *live_take(struct live_ear *e)
{
	struct live_pending *p = e->free_list;

	if (!p) {
		e->pool_full++;
		return NULL;
	}
	e->free_list = p->next_free;
	return p;
}

/* Queue p to leave at the model's host instant at_model_ns. */
static void live_queue(struct live_ear *e, struct live_pending *p,
		       uint64_t at_model_ns)
{
	wheel_add(e->lv->wheel, &p->timer, live_to_real(e->lv, at_model_ns));
}

static void live_released(struct loop *l, int fd, void *user_data)
{
	close(fd);
}

static void live_disconnect(struct live_ear *e)
{
	unsigned i;

	if (e->host) {
		if (!e->hci_open && !e->hci_listening) {
			return;
		}
		/* The radio link is gone: the central sees the LE link drop
		 * (Disconnection Complete) and must connect again. */
		hcihost_close(e->host, 0, rt_now_ns());
		e->hci_open = false;
		e->hci_listening = false;
	} else {
		if (!e->sock) {
			return;
		}
		loop_remove_socket(e->lv->loop, e->sock, live_released, e);
		e->sock = NULL;
		e->fd = -1;
	}
	for (i = 0; i < LIVE_POOL; i++) {
		struct live_pending *p = &e->pool[i];

		if (wheel_pending(&p->timer)) {
			wheel_cancel(e->lv->wheel, &p->timer);
			p->next_free = e->free_list;
			e->free_list = p;
		}
	}
}

/*
 * The decoder for the session HELLO announces, (re)made when the codec or
 * the frame changes. Returns LINK_HELLO_OK or LINK_HELLO_E_PARAMS.
 */
static uint8_t live_decoder_setup(struct live_ear *e,
				  const struct link_hello *hl)
{
	struct lc3dec_config c = {
		.kind = hl->codec == LINK_CODEC_LC3 ? LC3DEC_LC3 : LC3DEC_PCM,
		.rate_hz = hl->sample_rate_hz,
		.frame_us = hl->frame_us,
	};
	uint32_t n = (uint32_t)((uint64_t)c.rate_hz * c.frame_us / 1000000);

	/* What this earbud can play: one channel, 48 kHz, 7.5 or 10 ms,
	 * and octets that fit the codec (LC3 spec v1.0, 3.2.5: 20..400). */
	if (hl->channels != 1 || c.rate_hz != LIVE_RATE ||
	    (c.frame_us != 7500 && c.frame_us != 10000) ||
	    (c.kind == LC3DEC_PCM && hl->octets_per_frame != 2 * n) ||
	    (c.kind == LC3DEC_LC3 && (hl->octets_per_frame < 20 ||
				      hl->octets_per_frame > 400))) {
		return LINK_HELLO_E_PARAMS;
	}
	if (!e->lv->o->wav_prefix) {
		return LINK_HELLO_OK;
	}
	if (e->dec && e->dec_cfg.kind == c.kind &&
	    e->dec_cfg.frame_us == c.frame_us) {
		return LINK_HELLO_OK;
	}
	e->dec = lc3dec_free(e->dec);
	if (lc3dec_new(&c, &e->dec) < 0) {
		return LINK_HELLO_E_CODEC;
	}
	e->dec_cfg = c;
	return LINK_HELLO_OK;
}

/* A frame's slot in the WAV: samples of 48 kHz host time since the
 * model's origin, which both ears of this process share. */
static uint64_t live_wav_index(uint64_t model_ns)
{
	return (uint64_t)llround((double)(model_ns - LIVE_MODEL_T0_NS) *
				 LIVE_RATE / 1e9);
}

/*
 * Fill the WAV up to sample idx: whole frames missed are concealed (LC3's
 * PLC; silence for PCM) up to LIVE_WAV_MAX_CONCEAL of them, then silence;
 * a gap shorter than a frame (the earbud's clock runs slower than the
 * host's, so its frames land a little further apart) repeats the last
 * sample.
 */
static void live_wav_fill(struct live_ear *e, uint64_t idx)
{
	uint32_t n = lc3dec_frame_samples(e->dec);
	uint64_t gap = idx - e->wav_pos, frames = gap / n;

	if (!e->wav_started) {
		/* Before the first frame: silence, nothing concealed. */
		frames = 0;
		gap = idx - e->wav_pos;
		e->wav_started = true;
	}
	for (uint64_t k = 0; k < frames; k++) {
		if (k < LIVE_WAV_MAX_CONCEAL) {
			lc3dec_decode(e->dec, NULL, 0, e->dec_pcm);
			e->concealed++;
		} else if (k == LIVE_WAV_MAX_CONCEAL) {
			memset(e->dec_pcm, 0, sizeof(e->dec_pcm));
		}
		wav_write(e->wav, e->dec_pcm, n);
	}
	gap -= frames * n;
	for (uint64_t k = 0; k < gap; k++) {
		wav_write(e->wav, &e->wav_last, 1);
	}
	e->wav_pos = idx;
}

/*
 * Keep what the earbud played at the instant it played it: frame r's
 * samples start at its true render instant (the acoustic start, sample
 * grid included), on a time line both ears share, so an offset of one
 * sample between the ears shows as a lag of one sample. A frame that came
 * after its presentation time (or to a frozen earbud) was not there when
 * its turn came: the earbud played its concealment there (LC3's PLC;
 * silence for PCM), as for a lost one. A frame starting before the end of
 * the previous one (the earbud's clock runs faster) overwrites nothing:
 * its first samples are dropped.
 */
static void live_wav_frame(struct live_ear *e, const struct simear_render *r,
			   bool missing)
{
	uint64_t at = missing ? r->pts_host_ns : r->render_host_ns;
	uint64_t idx, skip;
	uint32_t n;

	if (!e->wav || !e->dec || at < LIVE_MODEL_T0_NS) {
		return;
	}
	n = lc3dec_frame_samples(e->dec);
	idx = live_wav_index(at);
	if (idx + n <= e->wav_pos ||
	    (idx > e->wav_pos && idx - e->wav_pos > LIVE_WAV_MAX_GAP)) {
		return;
	}
	if (idx > e->wav_pos) {
		live_wav_fill(e, idx);
	}
	if (lc3dec_decode(e->dec, missing ? NULL : r->audio->data,
			  missing ? 0 : r->audio->data_len, e->dec_pcm) != 0 ||
	    missing) {
		e->concealed++;
	} else {
		e->decoded++;
	}
	skip = e->wav_pos - idx;
	wav_write(e->wav, e->dec_pcm + skip, n - (uint32_t)skip);
	e->wav_last = e->dec_pcm[n - 1];
	e->wav_pos = idx + n;
}

/* simear_ops.send: queue the reply for the instant the model says the
 * host has it. */
static void live_ear_send(void *user_data, const uint8_t *msg, size_t len,
			  uint64_t rx_model_ns)
{
	struct live_ear *e = user_data;
	struct live_pending *p;

	if (len > sizeof(p->buf)) {
		return;
	}
	p = live_take(e);
	if (!p) {
		return;
	}
	memcpy(p->buf, msg, len);
	p->len = len;
	live_queue(e, p, rx_model_ns);
}

/* simear_ops.render: the render log and the WAV. */
static void live_ear_render(void *user_data, const struct simear_render *r)
{
	struct live_ear *e = user_data;
	bool played = !r->late && !r->frozen;

	if (e->lv->render_log) {
		fprintf(e->lv->render_log,
			"%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			",%d,%" PRIu64 "\n",
			scenario_side_name(e->side), r->frame_seq,
			r->pts_ear_ns, r->t2_ear_ns,
			played ? live_to_real(e->lv, r->render_host_ns) : 0,
			!played,
			played ? live_to_real(e->lv, r->pts_host_ns) : 0);
	}
	live_wav_frame(e, r, !played);
}

/* simear_ops.hello: can this earbud play the session's stream? */
static uint8_t live_ear_hello(void *user_data, const struct link_hello *h)
{
	return live_decoder_setup(user_data, h);
}

static const struct simear_ops live_ear_ops = {
	.send = live_ear_send,
	.render = live_ear_render,
	.hello = live_ear_hello,
};

/* A message from the host reached "the dongle" at real_ns. */
static void live_on_message(struct live_ear *e, const uint8_t *data,
			    size_t len, uint64_t real_ns)
{
	uint64_t h = live_to_model(e->lv, real_ns);

	if (!simlink_up(e->link, h)) {
		e->dropped_links++;
		live_disconnect(e);
		return;
	}
	simear_on_message(e->ear, data, len, h);
}

static void live_rx(struct loop *l, struct loop_sock *s,
		    const struct loop_rx *rx, void *user_data)
{
	struct live_ear *e = user_data;

	if (rx->ev != LOOP_EV_DATA) {
		if (rx->rx_stopped || rx->ev == LOOP_EV_EOF) {
			live_disconnect(e);
		}
		return;
	}
	/* Its kernel receive timestamp on our side of the socket. */
	live_on_message(e, rx->data, rx->len,
			rx->has_kernel_ts ? rx->kernel_ts_ns : rx->user_ts_ns);
}

/* ---- --hci: the earbud as an LE peripheral on an emulated controller */

static int live_hci_write(void *user_data, const uint8_t *frame, size_t len)
{
	struct live_ear *e = user_data;

	return e->hci_sock ? loop_send(e->lv->loop, e->hci_sock, frame, len) :
			     -ENOTCONN;
}

static void live_hci_listen(struct live_ear *e)
{
	int r;

	if (!e->hci_ready || e->hci_open || e->hci_listening) {
		return;
	}
	r = hcihost_open(e->host, 0, NULL, HCI_ADDR_PUBLIC, rt_now_ns());
	e->hci_listening = r == 0 || r == -EALREADY;
}

static void live_hci_ready(void *user_data, const struct hci_bdaddr *local)
{
	struct live_ear *e = user_data;

	e->hci_ready = true;
	/* The test reads this line to configure ttwsd's peer addresses. */
	printf("ttws-earbud-sim: %s earbud: controller "
	       "%02X:%02X:%02X:%02X:%02X:%02X\n",
	       scenario_side_name(e->side), local->b[5], local->b[4],
	       local->b[3], local->b[2], local->b[1], local->b[0]);
	fflush(stdout);
	live_hci_listen(e);
}

static void live_hci_down(void *user_data, int err)
{
	struct live_ear *e = user_data;

	fprintf(stderr, "ttws-earbud-sim: %s earbud: controller lost: %s\n",
		scenario_side_name(e->side), strerror(-err));
	e->hci_ready = false;
	e->hci_open = false;
	e->hci_listening = false;
	loop_stop(e->lv->loop);
}

static void live_hci_chan_open(void *user_data, unsigned ch)
{
	struct live_ear *e = user_data;

	e->hci_open = true;
	e->hci_listening = false;
	e->connects++;
}

static void live_hci_chan_msg(void *user_data, unsigned ch, const uint8_t *sdu,
			      size_t len, uint64_t rx_ns)
{
	live_on_message(user_data, sdu, len, rx_ns);
}

static void live_hci_chan_closed(void *user_data, unsigned ch, int err)
{
	struct live_ear *e = user_data;
	unsigned i;

	e->hci_open = false;
	e->hci_listening = false;
	for (i = 0; i < LIVE_POOL; i++) {
		struct live_pending *p = &e->pool[i];

		if (wheel_pending(&p->timer)) {
			wheel_cancel(e->lv->wheel, &p->timer);
			p->next_free = e->free_list;
			e->free_list = p;
		}
	}
	/* Advertise again (the poll timer does, while the model's link is
	 * up). */
}

static const struct hcihost_ops live_hci_ops = {
	.write = live_hci_write,
	.ready = live_hci_ready,
	.down = live_hci_down,
	.chan_open = live_hci_chan_open,
	.chan_msg = live_hci_chan_msg,
	.chan_closed = live_hci_chan_closed,
};

static void live_hci_rx(struct loop *l, struct loop_sock *s,
			const struct loop_rx *rx, void *user_data)
{
	struct live_ear *e = user_data;

	if (rx->ev == LOOP_EV_DATA) {
		hcihost_input(e->host, rx->data, rx->len, rx->user_ts_ns);
	} else if (rx->rx_stopped || rx->ev == LOOP_EV_EOF) {
		live_hci_down(e, rx->err ? rx->err : -ECONNRESET);
	}
}

static void live_hci_timer_fire(struct wheel_timer *t, uint64_t now_ns)
{
	struct live *lv = container_of(t, struct live, hci_timer);
	unsigned i;

	for (i = 0; i < SCENARIO_SIDES; i++) {
		if (lv->ear[i].host) {
			hcihost_tick(lv->ear[i].host, now_ns);
		}
	}
	wheel_add(lv->wheel, t, now_ns + 50 * NSEC_PER_MSEC);
}

static int live_hci_init(struct live_ear *e, const char *server)
{
	struct hcihost_config hc;
	int r;

	hcihost_config_default(&hc);
	hc.role = HCIHOST_PERIPHERAL;
	r = hcihost_new(&hc, &live_hci_ops, e, &e->host);
	if (r < 0) {
		return r;
	}
	r = unix_stream_connect(server, &e->hci_fd);
	if (r < 0) {
		fprintf(stderr, "ttws-earbud-sim: cannot reach the controller "
				"emulator at %s: %s\n",
			server, strerror(-r));
		return r;
	}
	r = loop_add_stream(e->lv->loop, e->hci_fd, live_hci_rx, e,
			    &e->hci_sock);
	if (r < 0) {
		return r;
	}
	hcihost_start(e->host, rt_now_ns());
	return 0;
}

/* The next host connection on this ear's listening socket. */
static int live_accept(struct live_ear *e, int *ret_fd)
{
	if (e->lv->o->l2cap_psm) {
		return l2cap_accept(e->listen_fd, ret_fd, NULL);
	}
	return unix_seqpacket_accept(e->listen_fd, ret_fd);
}

/* --l2cap: listen on an LE credit-based channel of the kernel's stack,
 * bound to this ear's own controller address. */
static int live_l2cap_listen(struct live_ear *e, const char *addr)
{
	struct l2cap_config lc;
	struct l2cap_report rep;
	int r;

	memset(&lc, 0, sizeof(lc));
	r = l2cap_bdaddr_parse(addr, &lc.local.bdaddr);
	if (r < 0) {
		fprintf(stderr, "ttws-earbud-sim: '%s' is not a Bluetooth "
				"address\n",
			addr);
		return r;
	}
	lc.local.type = L2CAP_ADDR_LE_PUBLIC;
	lc.remote.type = L2CAP_ADDR_LE_PUBLIC; /* any central */
	lc.psm = e->lv->o->l2cap_psm;
	lc.rx_mtu = 2048;
	lc.security = L2CAP_SECURITY_LOW;
	sockopt_config_default(&lc.sock);
	lc.sock.timestamps = true;
	lc.backlog = 1;
	r = l2cap_listen(&lc, &e->listen_fd, &rep);
	if (r < 0) {
		fprintf(stderr, "ttws-earbud-sim: cannot listen on L2CAP PSM "
				"0x%02x at %s: %s\n",
			lc.psm, addr, strerror(-r));
	}
	return r;
}

static void live_poll_fire(struct wheel_timer *t, uint64_t now_ns)
{
	struct live *lv = container_of(t, struct live, poll_timer);
	unsigned i;

	for (i = 0; i < SCENARIO_SIDES; i++) {
		struct live_ear *e = &lv->ear[i];
		int fd;

		if (!e->on) {
			continue;
		}
		if (e->host) {
			if (!simlink_up(e->link, live_to_model(lv, now_ns))) {
				if (e->hci_open) {
					e->dropped_links++;
				}
				live_disconnect(e);
			} else {
				live_hci_listen(e);
			}
			continue;
		}
		if (!simlink_up(e->link, live_to_model(lv, now_ns))) {
			/* The radio link is gone: the host sees the channel
			 * close and cannot open a new one until it is back. */
			if (e->sock) {
				e->dropped_links++;
				live_disconnect(e);
			}
			while (live_accept(e, &fd) == 0) {
				close(fd);
			}
			continue;
		}
		if (e->sock) {
			continue;
		}
		if (live_accept(e, &fd) < 0) {
			continue;
		}
		if (loop_add_socket(lv->loop, fd, live_rx, e, &e->sock) < 0) {
			close(fd);
			continue;
		}
		e->fd = fd;
		e->connects++;
	}
	if (lv->render_log) {
		fflush(lv->render_log);
	}
	wheel_add(lv->wheel, t, now_ns + LIVE_POLL_NS);
}

static void live_end_fire(struct wheel_timer *t, uint64_t now_ns)
{
	struct live *lv = container_of(t, struct live, end_timer);

	loop_stop(lv->loop);
}

static int live_ear_init(struct live *lv, const struct scenario *sc,
			 enum scenario_side side)
{
	struct live_ear *e = &lv->ear[side];
	struct simear_parts parts;
	unsigned i;
	int r;

	e->lv = lv;
	e->side = side;
	e->path = lv->o->path[side];
	e->fd = -1;
	e->listen_fd = -1;
	r = simear_parts_new(sc, side, LIVE_MODEL_T0_NS, LIVE_MODEL_T0_NS,
			     &parts);
	if (r < 0) {
		return r;
	}
	e->clock = parts.clock;
	e->link = parts.link;
	r = simear_new(&parts.cfg, &live_ear_ops, e, &e->ear);
	if (r < 0) {
		return r;
	}
	for (i = 0; i < LIVE_POOL; i++) {
		wheel_timer_init(&e->pool[i].timer, WHEEL_HARD, 0,
				 live_pending_fire);
		e->pool[i].ear = e;
		e->pool[i].next_free = e->free_list;
		e->free_list = &e->pool[i];
	}
	e->hci_fd = -1;
	if (lv->o->hci_server) {
		return 0; /* connected once the loop exists (live_run) */
	}
	if (lv->o->l2cap_psm) {
		return live_l2cap_listen(e, e->path);
	}
	r = unix_seqpacket_listen(e->path, 4, &e->listen_fd);
	if (r < 0) {
		fprintf(stderr, "ttws-earbud-sim: cannot listen on %s: %s\n",
			e->path, strerror(-r));
		return r;
	}
	return 0;
}

static void live_summary(const struct live *lv)
{
	unsigned i;

	for (i = 0; i < SCENARIO_SIDES; i++) {
		const struct live_ear *e = &lv->ear[i];
		struct simear_stats es;

		if (!e->on) {
			continue;
		}
		simear_stats(e->ear, &es);
		printf("%s earbud: %" PRIu64 " connects, %" PRIu64
		       " frames received, %" PRIu64 " rendered, %" PRIu64
		       " late, %" PRIu64 " timing exchanges, %" PRIu64
		       " malformed, %" PRIu64 " link drops\n",
		       scenario_side_name(e->side), e->connects, es.frames,
		       es.rendered, es.late, es.syncs, e->malformed + es.malformed,
		       e->dropped_links);
		if (e->wav) {
			printf("%s earbud: %" PRIu64 " frames decoded, %" PRIu64
			       " concealed, %" PRIu64 " samples kept\n",
			       scenario_side_name(e->side), e->decoded,
			       e->concealed, wav_frames(e->wav));
		}
	}
}

/* --wav-prefix P: P-left.wav and P-right.wav, mono S16 at 48 kHz. */
static int live_wav_open(struct live *lv)
{
	char path[4096];
	unsigned i;
	int r;

	for (i = 0; i < SCENARIO_SIDES; i++) {
		if (!lv->ear[i].on) {
			continue;
		}
		snprintf(path, sizeof(path), "%s-%s.wav", lv->o->wav_prefix,
			 scenario_side_name(i));
		r = wav_create(path, LIVE_RATE, 1, &lv->ear[i].wav);
		if (r < 0) {
			fprintf(stderr, "ttws-earbud-sim: %s: %s\n", path,
				strerror(-r));
			return r;
		}
	}
	return 0;
}

int live_run(const struct scenario *sc, const struct live_opts *o)
{
	struct live *lv;
	struct loop_config lc;
	struct rt_report rep;
	unsigned i;
	int r, rc = 1;

	lv = calloc(1, sizeof(*lv));
	if (!lv) {
		return 1;
	}
	lv->o = o;
	if (o->priority > 0) {
		struct rt_config rc_ = rt_config_default();

		rc_.priority = o->priority;
		rc_.lock_memory = false;
		rc_.dma_latency = false;
		rc_.prefault_heap_kib = 0;
		if (rt_apply(&rc_, &rep) == 0) {
			rt_release(&rep);
		}
	}
	lv->start_ns = rt_now_ns();
	lv->wheel = wheel_new(lv->start_ns);
	if (!lv->wheel) {
		goto out;
	}
	loop_config_default(&lc);
	lc.spin_guard_ns = (uint64_t)o->spin_guard_us * NSEC_PER_USEC;
	lc.tx_slots = 256;
	r = loop_new(&lc, lv->wheel, &lv->loop);
	if (r < 0) {
		fprintf(stderr, "ttws-earbud-sim: event loop: %s\n",
			strerror(-r));
		goto out;
	}
	for (i = 0; i < SCENARIO_SIDES; i++) {
		/* An ear this process does not serve stays closed (fds -1);
		 * with one path given, another process may serve the other
		 * ear, and each can be killed and restarted on its own. */
		lv->ear[i].on = o->hci_server || o->path[i];
		lv->ear[i].fd = lv->ear[i].listen_fd = lv->ear[i].hci_fd = -1;
		if (!lv->ear[i].on) {
			continue;
		}
		if (live_ear_init(lv, sc, i) < 0) {
			goto out;
		}
		if (o->hci_server && live_hci_init(&lv->ear[i], o->hci_server) < 0) {
			goto out;
		}
	}
	if (o->hci_server) {
		wheel_timer_init(&lv->hci_timer, WHEEL_SOFT, 5 * NSEC_PER_MSEC,
				 live_hci_timer_fire);
		wheel_add(lv->wheel, &lv->hci_timer, lv->start_ns);
	}
	if (o->render_log) {
		lv->render_log = fopen(o->render_log, "we");
		if (!lv->render_log) {
			fprintf(stderr, "ttws-earbud-sim: %s: %s\n",
				o->render_log, strerror(errno));
			goto out;
		}
		fprintf(lv->render_log, "ear,seq,pts_ear_ns,rx_ear_ns,"
					"render_host_ns,late,pts_host_ns\n");
	}
	if (o->wav_prefix && live_wav_open(lv) < 0) {
		goto out;
	}
	wheel_timer_init(&lv->poll_timer, WHEEL_SOFT, 5 * NSEC_PER_MSEC,
			 live_poll_fire);
	wheel_add(lv->wheel, &lv->poll_timer, lv->start_ns);
	if (o->duration_s > 0) {
		wheel_timer_init(&lv->end_timer, WHEEL_SOFT, 0, live_end_fire);
		wheel_add(lv->wheel, &lv->end_timer,
			  lv->start_ns + (uint64_t)(o->duration_s * 1e9));
	}
	live_signal_loop = lv->loop;
	signal(SIGTERM, live_on_signal);
	signal(SIGINT, live_on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (o->hci_server) {
		printf("ttws-earbud-sim: %s pair as LE peripherals on two "
		       "controllers of %s\n",
		       sc->name, o->hci_server);
	} else {
		printf("ttws-earbud-sim: %s earbuds listening on %s and %s\n",
		       sc->name, lv->ear[0].on ? lv->ear[0].path : "-",
		       lv->ear[1].on ? lv->ear[1].path : "-");
	}
	fflush(stdout);
	r = loop_run(lv->loop);
	live_signal_loop = NULL;
	if (r < 0) {
		fprintf(stderr, "ttws-earbud-sim: loop: %s\n", strerror(-r));
		goto out;
	}
	live_summary(lv);
	rc = 0;
out:
	for (i = 0; i < SCENARIO_SIDES; i++) {
		struct live_ear *e = &lv->ear[i];

		if (e->sock) {
			loop_remove_socket(lv->loop, e->sock, NULL, NULL);
		}
	}
	lv->loop = loop_free(lv->loop);
	for (i = 0; i < SCENARIO_SIDES; i++) {
		struct live_ear *e = &lv->ear[i];

		if (e->fd >= 0) {
			close(e->fd);
		}
		if (e->listen_fd >= 0) {
			close(e->listen_fd);
			if (e->path && !lv->o->l2cap_psm) {
				unlink(e->path);
			}
		}
		if (e->hci_fd >= 0) {
			close(e->hci_fd);
		}
		hcihost_free(e->host);
		simear_free(e->ear);
		simlink_free(e->link);
		simclock_free(e->clock);
		lc3dec_free(e->dec);
		if (wav_close(e->wav) < 0) {
			fprintf(stderr, "ttws-earbud-sim: %s earbud: cannot "
					"finish its WAV file\n",
				scenario_side_name(e->side));
			rc = 1;
		}
	}
	if (lv->render_log) {
		fclose(lv->render_log);
	}
	wheel_free(lv->wheel);
	free(lv);
	return rc;
}
