/* SPDX-License-Identifier: MIT */
/*
 * One earbud of the live mode over its transport (sim/live_private.h):
 * the model's host time line, each reply held until the instant the
 * model says the host receives it, the unix and L2CAP listening sockets
 * with the modelled link drops, and what it rendered into its pair's
 * render log and its WAV.
 */
#include <errno.h>
#include <inttypes.h>
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
#include "os/rt.h"
#include "os/sockopt.h"
#include "os/unix.h"
#include "sim/lc3dec.h"
#include "sim/live_private.h"
#include "sim/simclock.h"
#include "sim/simear.h"
#include "sim/simlink.h"
#include "sim/wav.h"

/* One message to the host, over whichever transport this ear uses. */
/*
 * Every message leaves here. Its seq (header octets 6-7, little-endian,
 * include/ttws/link.h) is set now, from this connection's count of
 * messages sent, as firmware numbers what it sends: the model encodes a
 * reply when it decides it and sends it at the model's instant, later,
 * so numbers given at encoding reach the host out of order (a render
 * report waits for its frame's play time).
 */
static void live_send(struct live_ear *e, uint8_t *buf, size_t len)
{
	if (len >= 8) {
		buf[6] = (uint8_t)(e->wire_seq & 0xff);
		buf[7] = (uint8_t)(e->wire_seq >> 8);
		e->wire_seq++;
	}
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

/* A free reply slot, or NULL (counted in pool_full) when all are queued. */
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

void live_pending_cancel_all(struct live_ear *e)
{
	unsigned i;

	for (i = 0; i < LIVE_POOL; i++) {
		struct live_pending *p = &e->pool[i];

		if (wheel_pending(&p->timer)) {
			wheel_cancel(e->lv->wheel, &p->timer);
			p->next_free = e->free_list;
			e->free_list = p;
		}
	}
}

static void live_disconnect(struct live_ear *e)
{
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
	live_pending_cancel_all(e);
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

/* simear_ops.render: the pair's render log and the WAV. */
static void live_ear_render(void *user_data, const struct simear_render *r)
{
	struct live_ear *e = user_data;
	bool played = !r->late && !r->frozen;

	if (e->pair->render_log) {
		fprintf(e->pair->render_log,
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

void live_on_message(struct live_ear *e, const uint8_t *data, size_t len,
		     uint64_t real_ns)
{
	uint64_t h = live_to_model(e->lv, real_ns);

	if (!simlink_up(e->link, h)) {
		e->dropped_links++;
		live_disconnect(e);
		return;
	}
	simear_on_message(e->ear, data, len, h);
}

/*
 * A message handled more than TTWS_SIM_STALL_MS (environment; 0 or unset
 * = never) after the kernel received it was waiting for a stopped earbud
 * (SIGSTOP, as tests/integration/supervision.sh freezes one, with 50:
 * far above any wake-up delay of a running simulator, far below a
 * freeze). Off by default: a simulator merely starved of CPU (the qemu
 * gateway test's, under TCG) must not make its frames late.
 */
static uint64_t live_stall_ns(void)
{
	static int64_t ns = -1;

	if (ns < 0) {
		const char *v = getenv("TTWS_SIM_STALL_MS");
		long ms = v ? strtol(v, NULL, 10) : 0;

		ns = ms > 0 && ms < 60000 ? (int64_t)ms * (int64_t)NSEC_PER_MSEC
					  : 0;
	}
	return (uint64_t)ns;
}

static void live_rx(struct loop *l, struct loop_sock *s,
		    const struct loop_rx *rx, void *user_data)
{
	struct live_ear *e = user_data;
	uint64_t at;

	if (rx->ev != LOOP_EV_DATA) {
		if (rx->rx_stopped || rx->ev == LOOP_EV_EOF) {
			live_disconnect(e);
		}
		return;
	}
	/* Its kernel receive timestamp on our side of the socket. */
	at = rx->has_kernel_ts ? rx->kernel_ts_ns : rx->user_ts_ns;
	/* A stalled earbud handles what queued up only when it runs again,
	 * as real firmware would: a frame whose presentation time passed
	 * meanwhile is late (dropped and reported so), not played in the
	 * past as the kernel's stamp would have the model believe. */
	if (live_stall_ns() && rx->user_ts_ns > at + live_stall_ns()) {
		at = rx->user_ts_ns;
	}
	live_on_message(e, rx->data, rx->len, at);
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

void live_ear_poll(struct live_ear *e, uint64_t now_ns)
{
	struct live *lv = e->lv;
	int fd, r;

	if (e->host) {
		if (!simlink_up(e->link, live_to_model(lv, now_ns))) {
			if (e->hci_open) {
				e->dropped_links++;
			}
			live_disconnect(e);
		} else {
			live_hci_listen(e);
		}
		return;
	}
	if (!simlink_up(e->link, live_to_model(lv, now_ns))) {
		/* The radio link is gone: the host sees the channel close
		 * and cannot open a new one until it is back. */
		if (e->sock) {
			e->dropped_links++;
			live_disconnect(e);
		}
		while (live_accept(e, &fd) == 0) {
			close(fd);
		}
		return;
	}
	if (e->sock || live_accept(e, &fd) < 0) {
		return;
	}
	r = loop_add_socket(lv->loop, fd, live_rx, e, &e->sock);
	if (r < 0) {
		fprintf(stderr, "ttws-earbud-sim: %s: connection refused: "
				"event loop: %s\n",
			scenario_side_name(e->side), strerror(-r));
		close(fd);
		return;
	}
	e->fd = fd;
	e->connects++;
	e->wire_seq = 0;
}

int live_ear_init(struct live_pair *p, enum scenario_side side)
{
	struct live_ear *e = &p->ear[side];
	struct live *lv = p->lv;
	struct simear_parts parts;
	unsigned i;
	int r;

	e->lv = lv;
	e->pair = p;
	e->side = side;
	e->path = p->po->path[side];
	r = simear_parts_new(p->po->scenario, side, LIVE_MODEL_T0_NS,
			     LIVE_MODEL_T0_NS, &parts);
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

void live_ear_summary(const struct live_ear *e, const char *prefix)
{
	struct simear_stats es;

	simear_stats(e->ear, &es);
	printf("%s%s earbud: %" PRIu64 " connects, %" PRIu64
	       " frames received, %" PRIu64 " rendered, %" PRIu64
	       " late, %" PRIu64 " timing exchanges, %" PRIu64
	       " malformed, %" PRIu64 " link drops\n",
	       prefix, scenario_side_name(e->side), e->connects, es.frames,
	       es.rendered, es.late, es.syncs, e->malformed + es.malformed,
	       e->dropped_links);
	if (e->wav) {
		printf("%s%s earbud: %" PRIu64 " frames decoded, %" PRIu64
		       " concealed, %" PRIu64 " samples kept\n",
		       prefix, scenario_side_name(e->side), e->decoded,
		       e->concealed, wav_frames(e->wav));
	}
}

int live_ear_close(struct live_ear *e)
{
	int rc = 0;

	if (e->fd >= 0) {
		close(e->fd);
	}
	if (e->listen_fd >= 0) {
		close(e->listen_fd);
		if (e->path && !e->lv->o->l2cap_psm) {
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
		fprintf(stderr, "ttws-earbud-sim: %s earbud: cannot finish "
				"its WAV file\n",
			scenario_side_name(e->side));
		rc = -EIO;
	}
	return rc;
}
