/* SPDX-License-Identifier: MIT */
/*
 * The hci-uart dongle (daemon/dongle.h): its tty through the RT loop,
 * core/hcihost on it, line health, reopening with back-off, statistics.
 * The per-ear channels on top are dongle_chan.c's, link security and
 * bonds dongle_keys.c's; see dongle_private.h.
 */
#include "daemon/dongle.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/asha.h"
#include "core/hcihost.h"
#include "core/macro.h"
#include "core/spsc.h"
#include "core/wheel.h"
#include "daemon/bounds.h"
#include "daemon/dongle_private.h"
#include "daemon/log.h"
#include "os/loop.h"
#include "os/rt.h"
#include "os/serial.h"

#define DONGLE_TICK_NS (50 * NSEC_PER_MSEC)
#define DONGLE_ICOUNT_NS NSEC_PER_SEC

/* Line errors from the driver, once a second: counted, and said when they
 * grow (a wrong baud rate or a UART serviced too late). */
static void dongle_poll_icount(struct dongle *d, uint64_t now_ns)
{
	struct serial_icount delta, total;

	if (!d->serial || now_ns < d->icount_due_ns) {
		return;
	}
	d->icount_due_ns = now_ns + DONGLE_ICOUNT_NS;
	if (serial_icount(d->serial, &delta, &total) < 0) {
		return;
	}
	d->st.icount_available = delta.available;
	if (!delta.available) {
		return;
	}
	d->st.line_frame += delta.frame;
	d->st.line_overrun += delta.overrun;
	d->st.line_parity += delta.parity;
	d->st.line_brk += delta.brk;
	d->st.line_buf_overrun += delta.buf_overrun;
	if (delta.frame || delta.overrun || delta.parity ||
	    delta.buf_overrun) {
		log_rt_event(LOG_WARNING, LOG_EV_DONGLE_LINE_ERRORS,
			     LOG_EAR_NONE,
			     LOG_KVS(LOG_KV(LOG_K_LINE_FRAME, delta.frame),
				     LOG_KV(LOG_K_LINE_OVERRUN, delta.overrun),
				     LOG_KV(LOG_K_LINE_PARITY, delta.parity),
				     LOG_KV(LOG_K_LINE_BUF_OVERRUN,
					    delta.buf_overrun)),
			     "hci-uart %s: line errors: frame %u overrun "
			     "%u parity %u buffer overrun %u",
			     d->cl->path, delta.frame, delta.overrun,
			     delta.parity, delta.buf_overrun);
	}
}

static void dongle_released(struct loop *l, int fd, void *user_data)
{
	struct dongle *d = user_data;

	/* Restores the tty's termios and closes it: the loop is done. */
	serial_close_in(d->serial);
	d->serial = NULL;
}

/* Every channel of this dongle closes; the tty is reopened later. */
static void dongle_lost(struct dongle *d, int err, uint64_t now_ns)
{
	unsigned e;

	if (d->sock) {
		loop_remove_socket(d->loop, d->sock, dongle_released, d);
		d->sock = NULL;
		d->st.losses++;
		log_rt_event(LOG_WARNING, LOG_EV_DONGLE_LOST, LOG_EAR_NONE,
			     LOG_KVS(LOG_KV(LOG_K_ERRNO, err),
				     LOG_KV(LOG_K_BACKOFF_MS,
					    d->backoff_ns / NSEC_PER_MSEC)),
			     "hci-uart %s: dongle lost (%s); reopening "
			     "in %llu ms",
			     d->cl->path, strerror(-err),
			     (unsigned long long)(d->backoff_ns /
						  NSEC_PER_MSEC));
	}
	d->ready = false;
	d->st.open = false;
	for (e = 0; e < CONF_N_EARS; e++) {
		struct donglechan *c = d->ch[e];

		if (!c) {
			continue;
		}
		c->closing = false;
		if (c->chan.is_open) {
			c->chan.is_open = false;
			c->stale = true;
			c->chan.cb.closed(c->chan.user_data, err, now_ns);
		}
	}
	if (!wheel_pending(&d->retry_timer)) {
		wheel_add(d->wheel, &d->retry_timer, now_ns + d->backoff_ns);
		d->backoff_ns = MIN(d->backoff_ns * 2,
				    d->conf->reconnect.backoff_max_ns);
	}
}

static void dongle_rx(struct loop *l, struct loop_sock *s,
		      const struct loop_rx *rx, void *user_data)
{
	struct dongle *d = user_data;

	switch (rx->ev) {
	case LOOP_EV_DATA:
		d->in_input = true;
		d->in_seen_ns = rx->seen_ns;
		d->in_handler_ns = rx->user_ts_ns;
		hcihost_input(d->host, rx->data, rx->len, rx->user_ts_ns);
		d->in_input = false;
		return;
	case LOOP_EV_EOF:
		dongle_lost(d, -ENODEV, rx->user_ts_ns);
		return;
	case LOOP_EV_RX_ERROR:
	case LOOP_EV_TX_ERROR:
		if (rx->rx_stopped || rx->ev == LOOP_EV_TX_ERROR) {
			dongle_lost(d, rx->err ? rx->err : -EIO,
				    rx->user_ts_ns);
		}
		return;
	case LOOP_EV_TX_STAMP:
		return; /* streams have none; completions come as NOCP */
	}
}

static void dongle_open_tty(struct dongle *d, uint64_t now_ns)
{
	struct serial_config sc;
	int r;

	serial_config_default(&sc);
	sc.path = d->cl->path;
	sc.baud = d->cl->baud;
	sc.flow_control = d->cl->flow_control;
	r = serial_open_in(d->serial_mem, serial_size(), &sc, &d->serial);
	if (r == 0) {
		r = loop_add_stream(d->loop, serial_fd(d->serial), dongle_rx,
				    d, &d->sock);
		if (r < 0) {
			serial_close_in(d->serial);
			d->serial = NULL;
		}
	}
	if (r < 0) {
		d->st.open_fails++;
		log_rt_event(LOG_WARNING, LOG_EV_DONGLE_OPEN_FAILED,
			     LOG_EAR_NONE,
			     LOG_KVS(LOG_KV(LOG_K_ERRNO, r),
				     LOG_KV(LOG_K_BACKOFF_MS,
					    d->backoff_ns / NSEC_PER_MSEC)),
			     "hci-uart %s: cannot open: %s", d->cl->path,
			     strerror(-r));
		wheel_add(d->wheel, &d->retry_timer, now_ns + d->backoff_ns);
		d->backoff_ns = MIN(d->backoff_ns * 2,
				    d->conf->reconnect.backoff_max_ns);
		return;
	}
	d->st.opens++;
	hcihost_start(d->host, now_ns);
	for (unsigned e = 0; e < CONF_N_EARS; e++) {
		if (d->ch[e]) {
			d->ch[e]->stale = false;
		}
	}
}

static void dongle_retry_fire(struct wheel_timer *t, uint64_t now_ns)
{
	dongle_open_tty(container_of(t, struct dongle, retry_timer), now_ns);
}

/*
 * The host's bound counters into ttwsd's bounds table (daemon/bounds.h),
 * as what they grew by since the last look: the table counts since
 * start, the host since it was made (ResetStats rebases host_base, not
 * these). RT thread, wait-free.
 */
static void dongle_bounds(struct dongle *d)
{
	struct hcihost_stats hs;
	const struct hcihost_stats *o = &d->bounds_seen;

	hcihost_get_stats(d->host, &hs);
	bounds_count(BOUNDS_HCI_TX_QUEUE, hs.tx_queue_full - o->tx_queue_full);
	bounds_count(BOUNDS_HCI_CMD_QUEUE,
		     hs.cmd_queue_full - o->cmd_queue_full);
	bounds_count(BOUNDS_HCI_SIG_QUEUE,
		     hs.sig_queue_full - o->sig_queue_full);
	bounds_count(BOUNDS_ACL_REASM, hs.acl_oversize - o->acl_oversize);
	bounds_count(BOUNDS_L2CAP_SDU, hs.sdu_oversize - o->sdu_oversize);
	bounds_count(BOUNDS_HCI_ATT_QUEUE,
		     hs.att_queue_full - o->att_queue_full);
	d->bounds_seen = hs;
}

static void dongle_tick_fire(struct wheel_timer *t, uint64_t now_ns)
{
	struct dongle *d = container_of(t, struct dongle, tick_timer);
	uint64_t next = now_ns + DONGLE_TICK_NS;
	uint64_t due;

	dongle_keys_poll(d);
	dongle_bounds(d);
	if (d->sock) {
		dongle_poll_icount(d, now_ns);
		hcihost_tick(d->host, now_ns);
		due = hcihost_next_deadline(d->host);
		if (due > now_ns && due < next) {
			next = due;
		}
	}
	wheel_add(d->wheel, t, next);
}

/* ---- hcihost callbacks ---------------------------------------------- */

static int dongle_write(void *user_data, const uint8_t *frame, size_t len)
{
	struct dongle *d = user_data;

	if (!d->sock) {
		return -ENOTCONN;
	}
	return loop_send(d->loop, d->sock, frame, len);
}

static void dongle_ready(void *user_data, const struct hci_bdaddr *local)
{
	struct dongle *d = user_data;
	uint64_t now = rt_now_ns();
	unsigned e;

	d->ready = true;
	d->st.open = true;
	d->local = *local;
	d->backoff_ns = d->conf->reconnect.backoff_min_ns;
	log_rt_event(LOG_INFO,
		     d->st.losses || d->st.open_fails ? LOG_EV_DONGLE_REOPEN :
							LOG_EV_DONGLE_OPEN,
		     LOG_EAR_NONE, NULL, 0,
		     "hci-uart %s: controller %02X:%02X:%02X:%02X:%02X:%02X "
		     "ready",
		     d->cl->path, local->b[5], local->b[4], local->b[3],
		     local->b[2], local->b[1], local->b[0]);
	for (e = 0; e < CONF_N_EARS; e++) {
		struct donglechan *c = d->ch[e];

		if (c && c->want_open) {
			c->want_open = false;
			if (hcihost_open(d->host, e, &c->peer, c->peer_type,
					 now) < 0) {
				c->chan.cb.closed(c->chan.user_data, -EIO,
						  now);
			}
		}
	}
}

static void dongle_down(void *user_data, int err)
{
	struct dongle *d = user_data;
	struct hcihost_stats hs;

	hcihost_get_stats(d->host, &hs);
	if (hs.hardware_errors != d->hw_errors_seen) {
		/* Vol 4, Part E, 7.7.16: the controller needs a reset; we
		 * reopen it like a dongle that came back. */
		d->hw_errors_seen = hs.hardware_errors;
		log_rt_event(LOG_WARNING, LOG_EV_DONGLE_LOST, LOG_EAR_NONE,
			     NULL, 0,
			     "hci-uart %s: the controller reported a hardware "
			     "error",
			     d->cl->path);
	}
	dongle_lost(d, err, rt_now_ns());
}

static void dongle_trace(void *user_data, bool rx, const uint8_t *frame,
			 size_t len, uint64_t now_ns)
{
	struct dongle *d = user_data;
	struct {
		struct dongle_trace_rec r;
		uint8_t data[HCIHOST_MAX_SDU + 64];
	} rec;

	if (!d->capture) {
		return;
	}
	if (len > sizeof(rec.data)) {
		/* Larger than any packet the host sends or takes: not
		 * captured, but counted with the ring's own refusals. */
		d->st.trace_drops++;
		bounds_count(BOUNDS_CAPTURE, 1);
		return;
	}
	memset(&rec.r, 0, sizeof(rec.r));
	rec.r.mono_ns = now_ns;
	rec.r.len = (uint16_t)len;
	rec.r.rx = rx;
	memcpy(rec.data, frame, len);
	if (spsc_write(d->capture, &rec, sizeof(rec.r) + len) < 0) {
		d->st.trace_drops++;
	}
}

static void dongle_debug(void *user_data, const char *text)
{
	struct dongle *d = user_data;

	log_rt(LOG_DEBUG, "hci-uart %s: %s", d->cl->path, text);
}

static const struct hcihost_ops dongle_host_ops = {
	.debug = dongle_debug,
	.write = dongle_write,
	.ready = dongle_ready,
	.down = dongle_down,
	.chan_open = dongle_chan_open_cb,
	.chan_msg = dongle_chan_msg,
	.chan_closed = dongle_chan_closed,
	.sent = dongle_sent,
	.interval = dongle_interval,
	.trace = dongle_trace,
	.bond_find = dongle_bond_find,
	.bond_new = dongle_bond_new,
	.security = dongle_security,
	.link_up = dongle_chan_link_up,
	.att = dongle_chan_att,
};

/* ---- lifetime ------------------------------------------------------ */

int dongle_new(struct loop *l, struct wheel *w, const struct conf *c,
	       const struct conf_link *cl, struct spsc *capture,
	       struct dongle **ret)
{
	struct hcihost_config hc;
	struct dongle *d;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d) {
		return -ENOMEM;
	}
	d->loop = l;
	d->wheel = w;
	d->conf = c;
	d->cl = cl;
	d->capture = capture;
	d->backoff_ns = c->reconnect.backoff_min_ns;
	d->serial_mem = calloc(1, serial_size());
	if (!d->serial_mem) {
		free(d);
		return -ENOMEM;
	}
	hcihost_config_default(&hc);
	hc.role = HCIHOST_CENTRAL;
	hc.psm = cl->psm;
	/* Connection interval: the configured one, in 1.25 ms units. */
	hc.conn_interval = (uint16_t)(c->servo.ci_us / 1250);
	if (c->stream.profile == CONF_PROFILE_ASHA) {
		/* ASHA's audio channel: MTU and MPS of at least 167 asked
		 * for (source.android.com, ASHA, "L2CAP"), whatever the
		 * controller's buffers (a longer K-frame is fragmented). */
		hc.mps = ASHA_L2CAP_MIN_MPS;
	}
	r = hcihost_new(&hc, &dongle_host_ops, d, &d->host);
	if (r < 0) {
		free(d->serial_mem);
		free(d);
		return r;
	}
	wheel_timer_init(&d->retry_timer, WHEEL_SOFT, 10 * NSEC_PER_MSEC,
			 dongle_retry_fire);
	wheel_timer_init(&d->tick_timer, WHEEL_SOFT, 5 * NSEC_PER_MSEC,
			 dongle_tick_fire);
	*ret = d;
	return 0;
}

struct dongle *dongle_free(struct dongle *d)
{
	if (!d) {
		return NULL;
	}
	/* The loop is gone by now and forgot the tty: close it ourselves. */
	if (d->serial) {
		serial_close_in(d->serial);
	}
	dongle_keys_free(d);
	hcihost_free(d->host);
	free(d->serial_mem);
	free(d);
	return NULL;
}

const char *dongle_path(const struct dongle *d)
{
	return d->cl->path;
}

bool dongle_serves(const struct dongle *d, const struct conf_link *cl)
{
	return strcmp(d->cl->path, cl->path) == 0;
}

void dongle_start(struct dongle *d, uint64_t now_ns)
{
	dongle_open_tty(d, now_ns);
	wheel_add(d->wheel, &d->tick_timer, now_ns + DONGLE_TICK_NS);
}

void dongle_get_stats(const struct dongle *d, struct dongle_stats *ret)
{
	struct hcihost_stats hs;

	const struct hcihost_stats *b = &d->host_base;

	*ret = d->st;
	hcihost_get_stats(d->host, &hs);
	ret->h4_resyncs = hs.h4_resyncs - b->h4_resyncs;
	ret->h4_bytes_skipped = hs.h4_bytes_skipped - b->h4_bytes_skipped;
	ret->evt_errors = hs.evt_errors - b->evt_errors;
	ret->acl_errors = hs.acl_errors - b->acl_errors;
	ret->l2cap_errors = hs.l2cap_errors - b->l2cap_errors;
	ret->cmd_timeouts = hs.cmd_timeouts - b->cmd_timeouts;
	ret->hardware_errors = hs.hardware_errors - b->hardware_errors;
	ret->pairings = hs.pairings - b->pairings;
	ret->att_tx = hs.att_tx - b->att_tx;
	ret->att_rx = hs.att_rx - b->att_rx;
	ret->att_queue_full = hs.att_queue_full - b->att_queue_full;
	ret->att_oversize = hs.att_oversize - b->att_oversize;
	ret->att_early = hs.att_early - b->att_early;
	ret->sdus_flushed = hs.sdus_flushed - b->sdus_flushed;
	ret->pairing_failures = hs.pairing_failures - b->pairing_failures;
	ret->smp_timeouts = hs.smp_timeouts - b->smp_timeouts;
	ret->bad_public_keys = hs.bad_public_keys - b->bad_public_keys;
	ret->smp_errors = hs.smp_errors - b->smp_errors;
	ret->encryptions = hs.encryptions - b->encryptions;
	ret->encrypt_failures = hs.encrypt_failures - b->encrypt_failures;
	ret->key_missing = hs.key_missing - b->key_missing;
	ret->unencrypted_refusals =
		hs.unencrypted_refusals - b->unencrypted_refusals;
	for (unsigned e = 0; e < CONF_N_EARS; e++) {
		ret->encrypted[e] = hcihost_chan_encrypted(d->host, e);
	}
	/* Bond files: since the daemon started (a reset keeps them). */
	ret->bonds_loaded = d->keys.loaded;
	ret->bonds_corrupt = d->keys.corrupt;
	ret->bonds_saved = atomic_load(&d->keys.saved);
	ret->bond_save_errors =
		atomic_load(&d->keys.save_errors) + d->keys.save_drops;
}

void dongle_reset_stats(struct dongle *d)
{
	bool open = d->st.open, icount = d->st.icount_available;

	/* The host's counters are cumulative in core/hcihost: count from
	 * here by keeping where they stand. */
	hcihost_get_stats(d->host, &d->host_base);
	memset(&d->st, 0, sizeof(d->st));
	d->st.open = open;
	d->st.icount_available = icount;
}
