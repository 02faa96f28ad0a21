/* SPDX-License-Identifier: MIT */
#include "daemon/sockchan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/macro.h"
#include "daemon/bounds.h"
#include "daemon/log.h"
#include "os/l2cap.h"
#include "os/loop.h"
#include "os/rt.h"
#include "os/sockopt.h"
#include "os/unix.h"

struct sockchan {
	struct chan chan;
	struct loop *loop;
	const struct conf_link *cfg;
	const struct conf *conf;
	int ear;	  /* enum conf_ear of cfg in conf, for log records */
	const char *pair; /* log_link_pair(): NULL with one pair */
	bool connecting; /* an l2cap connect (or its security) waited for */
	/* Waits for the link's security in this connect (the kernel pairs
	 * after an LE channel is up: sockchan_await_security()). */
	unsigned security_waits;
	/* The l2cap options report was logged, with this many refused. */
	bool opts_logged;
	unsigned opts_failed;
	/* The kernel took SOF_TIMESTAMPING_TX_COMPLETION (l2cap, 6.15). */
	enum chan_txc txc;
	struct loop_sock *sock;
	int fd; /* ours until the loop releases it */
};

static void sockchan_released(struct loop *l, int fd, void *user_data)
{
	close(fd);
}

static void sockchan_drop(struct sockchan *s)
{
	if (s->connecting && s->security_waits) {
		/* The kernel tells a connected socket nothing when the
		 * pairing fails without a disconnection: the connect timeout
		 * is where that shows. */
		log_rt_pair_event(LOG_WARNING, LOG_EV_L2CAP_OPTIONS, s->pair,
				  s->ear, LOG_KVS(LOG_KV(LOG_K_ERRNO, -EACCES)),
				  "%s ear: l2cap %s: given up before the link "
				  "was encrypted: the pairing failed or nobody "
				  "confirmed it (BlueZ asks its agent to confirm "
				  "Just Works: pair once with bluetoothctl)",
				  conf_ear_name(s->ear), s->cfg->address);
	}
	if (s->connecting) {
		/* A connect given up (timeout, shutdown): cancel, then the fd
		 * is ours again (loop_cancel_connecting()). */
		if (loop_cancel_connecting(s->loop, s->fd) == 0) {
			close(s->fd);
		}
		s->connecting = false;
		s->fd = -1;
	}
	if (s->sock) {
		/* The released callback closes it once the loop is done. */
		loop_remove_socket(s->loop, s->sock, sockchan_released, s);
		s->sock = NULL;
		s->fd = -1;
	}
	s->chan.is_open = false;
}

static void sockchan_rx(struct loop *l, struct loop_sock *sock,
			const struct loop_rx *rx, void *user_data)
{
	struct sockchan *s = user_data;
	struct chan *c = &s->chan;

	switch (rx->ev) {
	case LOOP_EV_DATA: {
		const struct chan_rx_time t = {
			.arrival_ns = rx->has_kernel_ts ? rx->kernel_ts_ns :
							  rx->seen_ns,
			.seen_ns = rx->seen_ns,
			.handler_ns = rx->user_ts_ns,
			.has_kernel_ts = rx->has_kernel_ts,
		};

		c->cb.msg(c->user_data, rx->data, rx->len, &t);
		return;
	}
	case LOOP_EV_EOF:
		sockchan_drop(s);
		c->cb.closed(c->user_data, -ECONNRESET, rx->user_ts_ns);
		return;
	case LOOP_EV_TX_STAMP:
		/* SND: the kernel gave it to the driver; COMPLETION: the
		 * controller reported it sent (Linux 6.15, Bluetooth). */
		if (c->cb.sent && (rx->tx_kind == TXSTAMP_SND ||
				   rx->tx_kind == TXSTAMP_COMPLETION)) {
			c->cb.sent(c->user_data, rx->tx_seq,
				   rx->tx_kind == TXSTAMP_COMPLETION ?
					   CHAN_TX_DONE :
					   CHAN_TX_KERNEL,
				   rx->kernel_ts_ns);
		}
		return;
	case LOOP_EV_RX_ERROR:
	case LOOP_EV_TX_ERROR:
		/* A send io_uring found no room for (the socket buffer is
		 * the bound): the "link_tx" bound, as chan_send() counts the
		 * refusals it sees at once (chan.h). */
		if (rx->ev == LOOP_EV_TX_ERROR &&
		    (rx->err == -EAGAIN || rx->err == -ENOBUFS)) {
			c->tx_full++;
			bounds_count(BOUNDS_LINK_TX, 1);
		}
		/* A transient error (a full socket buffer) costs one message;
		 * anything that stops receive or breaks the pipe ends the
		 * session, and the link reconnects. */
		if (rx->rx_stopped || rx->err == -EPIPE ||
		    rx->err == -ECONNRESET || rx->err == -ENOTCONN) {
			sockchan_drop(s);
			c->cb.closed(c->user_data, rx->err ? rx->err : -EIO,
				     rx->user_ts_ns);
		}
		return;
	}
}

/* Socket options of [loop] for a link socket (DESIGN.md, "Transports"). */
static void sockchan_sockopts(const struct sockchan *s,
			      struct sockopt_config *ret)
{
	sockopt_config_default(ret);
	ret->busy_poll_us = s->conf->loop.socket_busy_poll_us;
	ret->priority = s->conf->loop.socket_priority;
	ret->timestamps = true;
}

static void sockchan_attach(struct sockchan *s, int fd, uint64_t now_ns)
{
	struct chan *c = &s->chan;
	int r;

	r = loop_add_socket(s->loop, fd, sockchan_rx, s, &s->sock);
	if (r < 0) {
		close(fd);
		c->cb.closed(c->user_data, r, now_ns);
		return;
	}
	s->fd = fd;
	c->is_open = true;
	c->tx_completion = s->txc;
	c->mtu_rx = c->mtu_tx = 0;
	if (s->cfg->transport == CONF_TRANSPORT_L2CAP) {
		/* What the LE Credit Based Connection exchange settled. */
		l2cap_mtu(fd,
			  s->cfg->address_random ? L2CAP_ADDR_LE_RANDOM :
						   L2CAP_ADDR_LE_PUBLIC,
			  &c->mtu_rx, &c->mtu_tx);
	}
	c->cb.open(c->user_data, now_ns);
}

/* ttwsd.conf's security as the kernel's BT_SECURITY level. */
static enum l2cap_security sockchan_security(const struct sockchan *s)
{
	switch (s->cfg->security) {
	case CONF_SECURITY_NONE:
		return L2CAP_SECURITY_LOW;
	case CONF_SECURITY_MEDIUM:
		return L2CAP_SECURITY_MEDIUM;
	case CONF_SECURITY_HIGH:
		return L2CAP_SECURITY_HIGH;
	}
	/* A value conf never makes: the safe side. */
	return L2CAP_SECURITY_MEDIUM;
}

/*
 * Waits for the link's security a connected channel may take before
 * giving up on it: the kernel resumes the socket at the link's first
 * security change with success (the Encryption Change of the pairing or
 * of the bond's key), or at once when it cannot pair at all.
 */
#define SOCKCHAN_SECURITY_WAITS 1

/*
 * The security the kernel granted the connected channel: 0 when it meets
 * the configuration (said once per connect), -EINPROGRESS when not yet
 * and a wait is left (sockchan_await_security()), else -EACCES: the
 * channel must not carry audio. A connect() that succeeded proves
 * nothing: on a new LE link the channel connects before the pairing
 * (l2cap_request_security() in l2cap.h says why), and an adapter
 * without SMP ("security requested but not available") connects it
 * unencrypted for good.
 */
static int sockchan_check_security(struct sockchan *s, int fd)
{
	enum l2cap_security want = sockchan_security(s);
	struct l2cap_link_security sec;
	char text[64];
	int r;

	r = l2cap_link_security(fd, &sec);
	if (r < 0) {
		log_rt_pair_event(LOG_ERR, LOG_EV_L2CAP_OPTIONS, s->pair,
				  s->ear, LOG_KVS(LOG_KV(LOG_K_ERRNO, r)),
				  "%s ear: l2cap %s: link security unreadable "
				  "(%s)%s",
				  conf_ear_name(s->ear), s->cfg->address,
				  strerror(-r),
				  want > L2CAP_SECURITY_LOW ?
					  ": cannot prove the link is "
					  "encrypted, closing it" :
					  "");
		return want > L2CAP_SECURITY_LOW ? -EACCES : 0;
	}
	if (l2cap_link_security_format(&sec, text, sizeof(text)) < 0) {
		text[0] = '\0';
	}
	if (!l2cap_link_security_meets(&sec, want)) {
		if (s->security_waits < SOCKCHAN_SECURITY_WAITS) {
			return -EINPROGRESS;
		}
		log_rt_pair_event(LOG_ERR, LOG_EV_L2CAP_OPTIONS, s->pair,
				  s->ear, LOG_KVS(LOG_KV(LOG_K_ERRNO, -EACCES)),
				  "%s ear: l2cap %s: link security %s, but "
				  "security = %s: closing the channel (the "
				  "pairing failed, or the adapter has no SMP: "
				  "see the kernel log)",
				  conf_ear_name(s->ear), s->cfg->address, text,
				  conf_security_name(s->cfg->security));
		return -EACCES;
	}
	log_rt_pair_event(sec.key_size ? LOG_INFO : LOG_WARNING,
			  LOG_EV_L2CAP_OPTIONS, s->pair, s->ear, NULL, 0,
			  "%s ear: l2cap %s: link security granted: %s",
			  conf_ear_name(s->ear), s->cfg->address, text);
	return 0;
}

static void sockchan_connected(struct loop *l, int fd, int err,
			       void *user_data);

/*
 * Hold a connected channel until the link's security changes: ask for
 * it again on the socket, which the kernel then keeps without POLLOUT
 * until the pairing or encryption is over (l2cap_request_security()),
 * and wait for POLLOUT as for the connect. The link's connect timeout
 * ([reconnect] hello_timeout_ms) still bounds it: sockchan_drop()
 * cancels the wait.
 */
static int sockchan_await_security(struct sockchan *s, int fd)
{
	int r;

	r = l2cap_request_security(fd, sockchan_security(s));
	if (r < 0) {
		return r;
	}
	r = loop_add_connecting(s->loop, fd, sockchan_connected, s);
	if (r < 0) {
		return r;
	}
	s->security_waits++;
	s->connecting = true;
	s->fd = fd;
	return 0;
}

/* A connect that failed, in words: the link says "connect failed" and
 * backs off; this says why, including what a failed pairing looks like. */
static void sockchan_log_connect_error(struct sockchan *s, int err)
{
	const char *hint = l2cap_connect_error_hint(err, sockchan_security(s));

	log_rt_pair_event(LOG_WARNING, LOG_EV_L2CAP_OPTIONS, s->pair, s->ear,
			  LOG_KVS(LOG_KV(LOG_K_ERRNO, err)),
			  "%s ear: l2cap %s: connect failed: %s "
			  "(security = %s)%s%s",
			  conf_ear_name(s->ear), s->cfg->address,
			  strerrorname_np(-err) ?: "?",
			  conf_security_name(s->cfg->security),
			  hint ? ": " : "", hint ? hint : "");
}

/* The connect is over, or (security_waits > 0) the wait for security. */
static void sockchan_connected(struct loop *l, int fd, int err,
			       void *user_data)
{
	struct sockchan *s = user_data;

	s->connecting = false;
	s->fd = -1;
	if (err < 0) {
		sockchan_log_connect_error(s, err);
	} else if (s->cfg->transport == CONF_TRANSPORT_L2CAP) {
		err = sockchan_check_security(s, fd);
		if (err == -EINPROGRESS) {
			err = sockchan_await_security(s, fd);
			if (err == 0) {
				return;
			}
		}
	}
	if (err < 0) {
		close(fd);
		s->chan.cb.closed(s->chan.user_data, err, rt_now_ns());
		return;
	}
	sockchan_attach(s, fd, rt_now_ns());
}

static int sockchan_open_l2cap(struct sockchan *s, int *ret_fd)
{
	struct l2cap_config lc;
	struct l2cap_report rep;
	int r, fd = -1;

	memset(&lc, 0, sizeof(lc));
	r = l2cap_bdaddr_parse(s->cfg->address, &lc.remote.bdaddr);
	if (r < 0) {
		return r;
	}
	lc.remote.type = s->cfg->address_random ? L2CAP_ADDR_LE_RANDOM :
						  L2CAP_ADDR_LE_PUBLIC;
	/* Our side: the configured adapter (the kernel would otherwise
	 * route by its own choice), its public LE address. */
	if (s->cfg->adapter[0]) {
		r = l2cap_bdaddr_parse(s->cfg->adapter, &lc.local.bdaddr);
		if (r < 0) {
			return r;
		}
	}
	lc.local.type = L2CAP_ADDR_LE_PUBLIC;
	lc.psm = s->cfg->psm;
	lc.rx_mtu = s->cfg->mtu;
	/* Before connect(): the kernel pairs, or encrypts with the bond,
	 * before it sends the LE Credit Based Connection Request
	 * (l2cap_le_start(), smp_conn_security()). */
	lc.security = sockchan_security(s);
	sockchan_sockopts(s, &lc.sock);
	lc.tx_timestamps = true;
	r = l2cap_connect_start(&lc, &fd, &rep);
	if (r < 0 && r != -EINPROGRESS) {
		return r;
	}
	s->txc = rep.tx_timestamps.completion ? CHAN_TXC_KERNEL : CHAN_TXC_NONE;
	if (!s->opts_logged || l2cap_report_n_failed(&rep) != s->opts_failed) {
		/* What the kernel took (SO_PRIORITY, BT_SECURITY, MTU, TX
		 * completion timestamps), read back: said at the first
		 * connect and when it changes, not at every retry, where it
		 * would spend the log's rate limit on the records that
		 * matter. "security N" is the request as the socket holds it;
		 * the link's own level follows when the channel is up. */
		char text[1024];

		s->opts_logged = true;
		s->opts_failed = l2cap_report_n_failed(&rep);
		if (l2cap_report_format(&rep, text, sizeof(text)) < 0) {
			text[0] = '\0';
			bounds_count(BOUNDS_REPORT_TEXT, 1);
		}
		log_rt_pair_event(s->opts_failed ? LOG_NOTICE : LOG_INFO,
				  LOG_EV_L2CAP_OPTIONS, s->pair, s->ear,
				  LOG_KVS(LOG_KV(LOG_K_FAILED, s->opts_failed)),
				  "l2cap %s: %s", s->cfg->address, text);
		if (sockopt_report_format(&rep.sock, text, sizeof(text)) < 0) {
			text[0] = '\0';
			bounds_count(BOUNDS_REPORT_TEXT, 1);
		}
		log_rt(LOG_INFO, "l2cap %s: socket: %s", s->cfg->address, text);
	}
	*ret_fd = fd;
	return 0;
}

static int sockchan_open(struct chan *c, uint64_t now_ns)
{
	struct sockchan *s = container_of(c, struct sockchan, chan);
	struct sockopt_config so;
	struct sockopt_report sr;
	int fd = -1, r;

	switch (s->cfg->transport) {
	case CONF_TRANSPORT_UNIX:
		r = unix_seqpacket_connect(s->cfg->path, &fd);
		if (r == 0) {
			sockchan_sockopts(s, &so);
			sockopt_apply(fd, &so, &sr);
			sockchan_attach(s, fd, now_ns);
			return 0;
		}
		break;
	case CONF_TRANSPORT_L2CAP:
		s->security_waits = 0;
		r = sockchan_open_l2cap(s, &fd);
		if (r == 0) {
			/* BlueZ connects asynchronously: the loop waits for
			 * the socket to become writable, never the thread. */
			r = loop_add_connecting(s->loop, fd, sockchan_connected,
						s);
			if (r < 0) {
				close(fd);
				break;
			}
			s->connecting = true;
			s->fd = fd;
			return 0;
		}
		break;
	case CONF_TRANSPORT_HCI_UART:
	case CONF_TRANSPORT_NONE:
	default:
		r = -EPROTONOSUPPORT;
		break;
	}
	c->cb.closed(c->user_data, r, now_ns);
	return 0;
}

static int sockchan_send(struct chan *c, const void *msg, size_t len,
			 uint32_t *ret_id)
{
	struct sockchan *s = container_of(c, struct sockchan, chan);

	/* The loop numbers a socket's sends from 0, as chan.h asks. */
	return loop_send_seq(s->loop, s->sock, msg, len, ret_id);
}

static void sockchan_close(struct chan *c)
{
	sockchan_drop(container_of(c, struct sockchan, chan));
}

static void sockchan_free(struct chan *c)
{
	struct sockchan *s = container_of(c, struct sockchan, chan);

	/* At exit the loop is gone already (it forgets its sockets), so
	 * an fd still open is ours to close. */
	if (s->fd >= 0) {
		close(s->fd);
	}
	free(s);
}

static const struct chan_ops sockchan_unix_ops = {
	.name = "unix",
	.open = sockchan_open,
	.send = sockchan_send,
	.close = sockchan_close,
	.free = sockchan_free,
};

static const struct chan_ops sockchan_l2cap_ops = {
	.name = "l2cap",
	.open = sockchan_open,
	.send = sockchan_send,
	.close = sockchan_close,
	.free = sockchan_free,
};

int sockchan_new(struct loop *l, const struct conf *conf,
		 const struct conf_link *cfg, struct chan **ret)
{
	struct sockchan *s;

	if (cfg->transport != CONF_TRANSPORT_UNIX &&
	    cfg->transport != CONF_TRANSPORT_L2CAP) {
		return -EPROTONOSUPPORT;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		return -ENOMEM;
	}
	s->chan.ops = cfg->transport == CONF_TRANSPORT_UNIX ?
			      &sockchan_unix_ops :
			      &sockchan_l2cap_ops;
	s->loop = l;
	s->conf = conf;
	s->fd = -1;
	s->cfg = cfg;
	s->ear = cfg == &conf->link[CONF_EAR_RIGHT] ? CONF_EAR_RIGHT :
						      CONF_EAR_LEFT;
	s->pair = log_link_pair(conf, s->ear);
	if (conf_security_warning(cfg)) {
		/* At every start, per link: an unencrypted radio link is a
		 * choice someone must keep seeing. */
		log_rt_pair_event(LOG_WARNING, LOG_EV_L2CAP_OPTIONS, s->pair,
				  s->ear, NULL, 0, "%s ear: l2cap %s: %s",
				  conf_ear_name(s->ear), cfg->address,
				  conf_security_warning(cfg));
	}
	*ret = &s->chan;
	return 0;
}
