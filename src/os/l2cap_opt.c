/* SPDX-License-Identifier: MIT */
/*
 * Options of an L2CAP socket applied and read back: socket-level ones
 * (os/sockopt), BT_SECURITY, the MTUs, SO_TIMESTAMPING with TX
 * completion. Refusals go into the report, not into the return value.
 * See l2cap.h.
 */

#include <errno.h>
#include <linux/net_tstamp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "os/l2cap.h"
#include "os/l2cap_private.h"

#if HAVE_BLUEZ
#include <bluetooth/bluetooth.h>
#include <bluetooth/l2cap.h>

/*
 * Whether <linux/net_tstamp.h> knows TX_COMPLETION. Its SOF_* flags are
 * enum constants, invisible to #ifdef, but the header's
 * SOF_TIMESTAMPING_LAST moves up with each new flag.
 */
#define HEADERS_HAVE_TX_COMPLETION                                             \
	(SOF_TIMESTAMPING_LAST >= L2CAP_SOF_TX_COMPLETION)

static int get_opt(int fd, int level, int name, void *val, socklen_t len)
{
	socklen_t l = len;

	if (getsockopt(fd, level, name, val, &l) < 0) {
		return -errno;
	}
	return 0;
}

static void apply_security(int fd, enum l2cap_security level,
			   struct sockopt_result *r)
{
	struct bt_security sec;

	*r = (struct sockopt_result){
	    .requested = level != L2CAP_SECURITY_LEAVE,
	    .value = level,
	};
	if (r->requested) {
		memset(&sec, 0, sizeof(sec));
		sec.level = (uint8_t)level;
		if (setsockopt(fd, SOL_BLUETOOTH, BT_SECURITY, &sec,
			       sizeof(sec)) < 0) {
			r->err = -errno;
		}
	}
	memset(&sec, 0, sizeof(sec));
	r->readback_err =
	    get_opt(fd, SOL_BLUETOOTH, BT_SECURITY, &sec, sizeof(sec));
	if (r->readback_err == 0) {
		r->readback = sec.level;
	}
	r->ok = r->requested && r->err == 0 && r->readback_err == 0 &&
		r->readback == (int)level;
}

/* LE: BT_RCVMTU / BT_SNDMTU are 16-bit (l2cap_sock.c). */
static void le_mtu(int fd, bool rx, uint16_t want, struct sockopt_result *r)
{
	uint16_t mtu = want;

	*r = (struct sockopt_result){.requested = want != 0, .value = want};
	if (rx && r->requested &&
	    setsockopt(fd, SOL_BLUETOOTH, BT_RCVMTU, &mtu, sizeof(mtu)) < 0) {
		r->err = -errno;
	}
	mtu = 0;
	r->readback_err = get_opt(fd, SOL_BLUETOOTH, rx ? BT_RCVMTU : BT_SNDMTU,
				  &mtu, sizeof(mtu));
	if (r->readback_err == 0) {
		r->readback = mtu;
	}
	r->ok = r->requested && r->err == 0 && r->readback_err == 0 &&
		r->readback == want;
}

/*
 * BR/EDR: BT_RCVMTU is -EINVAL for a BR/EDR socket; L2CAP_OPTIONS carries
 * imtu and omtu, read-modify-write.
 */
static void bredr_mtu(int fd, bool rx, uint16_t want, struct sockopt_result *r)
{
	struct l2cap_options o;

	*r = (struct sockopt_result){.requested = want != 0, .value = want};
	memset(&o, 0, sizeof(o));
	if (rx && r->requested) {
		r->err = get_opt(fd, SOL_L2CAP, L2CAP_OPTIONS, &o, sizeof(o));
		if (r->err == 0) {
			o.imtu = want;
			if (setsockopt(fd, SOL_L2CAP, L2CAP_OPTIONS, &o,
				       sizeof(o)) < 0) {
				r->err = -errno;
			}
		}
	}
	memset(&o, 0, sizeof(o));
	r->readback_err = get_opt(fd, SOL_L2CAP, L2CAP_OPTIONS, &o, sizeof(o));
	if (r->readback_err == 0) {
		r->readback = rx ? o.imtu : o.omtu;
	}
	r->ok = r->requested && r->err == 0 && r->readback_err == 0 &&
		r->readback == want;
}

static void apply_tx_timestamps(int fd, bool want,
				struct l2cap_tx_timestamps *t)
{
	struct sockopt_result *r = &t->opt;
	int flags = l2cap_tx_timestamping_flags(true);

	*t = (struct l2cap_tx_timestamps){
	    .opt = {.requested = want, .value = flags},
	    .completion_in_headers = HEADERS_HAVE_TX_COMPLETION,
	};
	if (want) {
		if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags,
			       sizeof(flags)) == 0) {
			t->completion = true;
		} else if (errno == EINVAL) {
			/*
			 * sock_set_timestamping() refuses bits outside its
			 * SOF_TIMESTAMPING_MASK: a kernel before 6.15.
			 */
			flags = l2cap_tx_timestamping_flags(false);
			r->value = flags;
			if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags,
				       sizeof(flags)) < 0) {
				r->err = -errno;
			}
			snprintf(t->note, sizeof(t->note),
				 "TX completion timestamps not supported by "
				 "this kernel (needs Linux 6.15)");
		} else {
			r->err = -errno;
			snprintf(t->note, sizeof(t->note),
				 "SO_TIMESTAMPING refused: %s",
				 strerror(-r->err));
		}
	}
	/* getsockopt() fills struct so_timestamping; flags come first. */
	r->readback_err =
	    get_opt(fd, SOL_SOCKET, SO_TIMESTAMPING, &r->readback, sizeof(int));
	r->ok = want && r->err == 0 && r->readback_err == 0 &&
		r->readback == r->value;
}

int l2cap_apply(int fd, const struct l2cap_config *cfg,
		struct l2cap_report *ret)
{
	struct l2cap_report rep;
	bool le;
	int r;

	if (fd < 0 || !cfg || !ret) {
		return -EINVAL;
	}
	r = l2cap_config_check(cfg);
	if (r < 0) {
		return r;
	}
	memset(&rep, 0, sizeof(rep));
	r = sockopt_apply(fd, &cfg->sock, &rep.sock);
	if (r < 0) {
		return r;
	}
	le = l2cap_addr_type_is_le(cfg->remote.type);
	apply_security(fd, cfg->security, &rep.security);
	if (le) {
		le_mtu(fd, true, cfg->rx_mtu, &rep.rx_mtu);
		le_mtu(fd, false, 0, &rep.tx_mtu);
	} else {
		bredr_mtu(fd, true, cfg->rx_mtu, &rep.rx_mtu);
		bredr_mtu(fd, false, 0, &rep.tx_mtu);
	}
	apply_tx_timestamps(fd, cfg->tx_timestamps, &rep.tx_timestamps);
	*ret = rep;
	return 0;
}

int l2cap_mtu(int fd, enum l2cap_addr_type type, uint16_t *ret_rx_mtu,
	      uint16_t *ret_tx_mtu)
{
	struct sockopt_result rx, tx;

	if (fd < 0 || !l2cap_type_valid(type)) {
		return -EINVAL;
	}
	if (l2cap_addr_type_is_le(type)) {
		le_mtu(fd, true, 0, &rx);
		le_mtu(fd, false, 0, &tx);
	} else {
		bredr_mtu(fd, true, 0, &rx);
		bredr_mtu(fd, false, 0, &tx);
	}
	if (rx.readback_err) {
		return rx.readback_err;
	}
	if (tx.readback_err) {
		return tx.readback_err;
	}
	if (ret_rx_mtu) {
		*ret_rx_mtu = (uint16_t)rx.readback;
	}
	if (ret_tx_mtu) {
		*ret_tx_mtu = (uint16_t)tx.readback;
	}
	return 0;
}

#else /* !HAVE_BLUEZ */

int l2cap_apply(int fd, const struct l2cap_config *cfg,
		struct l2cap_report *ret)
{
	return -EAFNOSUPPORT;
}

int l2cap_mtu(int fd, enum l2cap_addr_type type, uint16_t *ret_rx_mtu,
	      uint16_t *ret_tx_mtu)
{
	return -EAFNOSUPPORT;
}

#endif
