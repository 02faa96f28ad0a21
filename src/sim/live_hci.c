/* SPDX-License-Identifier: MIT */
/*
 * --hci: each earbud of the live mode an LE peripheral (core/hcihost) on
 * its own emulated controller, reached over an H4 stream socket (btvirt
 * -s's /tmp/bt-server-le): it advertises while the model's radio link is
 * up, and ttwsd opens the ttws-link L2CAP channel to it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/hcihost.h"
#include "os/loop.h"
#include "os/rt.h"
#include "os/unix.h"
#include "sim/live_private.h"

static int live_hci_write(void *user_data, const uint8_t *frame, size_t len)
{
	struct live_ear *e = user_data;

	return e->hci_sock ? loop_send(e->lv->loop, e->hci_sock, frame, len) :
			     -ENOTCONN;
}

void live_hci_listen(struct live_ear *e)
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

	e->hci_open = false;
	e->hci_listening = false;
	live_pending_cancel_all(e);
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
	unsigned i, s;

	for (i = 0; i < lv->n_pairs; i++) {
		for (s = 0; s < SCENARIO_SIDES; s++) {
			struct live_ear *e = &lv->pair[i].ear[s];

			if (e->host) {
				hcihost_tick(e->host, now_ns);
			}
		}
	}
	wheel_add(lv->wheel, t, now_ns + 50 * NSEC_PER_MSEC);
}

void live_hci_timer_start(struct live *lv)
{
	wheel_timer_init(&lv->hci_timer, WHEEL_SOFT, 5 * NSEC_PER_MSEC,
			 live_hci_timer_fire);
	wheel_add(lv->wheel, &lv->hci_timer, lv->start_ns);
}

int live_hci_init(struct live_ear *e, const char *server)
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
