/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_SOCKCHAN_H
#define TTWS_DAEMON_SOCKCHAN_H

/*
 * Channels over a kernel socket that keeps message boundaries: AF_UNIX
 * SOCK_SEQPACKET (the simulator) and BlueZ L2CAP (SOCK_SEQPACKET, one SDU
 * per recvmsg). Receive goes through the RT loop with kernel timestamps.
 */

#include "core/conf.h"
#include "daemon/chan.h"

struct loop;

/*
 * A channel to the earbud described by cfg (transport unix or l2cap), with
 * the socket options of conf's [loop] section. Neither is copied: both
 * must outlive the channel. The owner sets its callbacks with
 * chan_set_cb(). Returns 0, -ENOMEM, or -EPROTONOSUPPORT for another
 * transport.
 */
int sockchan_new(struct loop *l, const struct conf *conf,
		 const struct conf_link *cfg, struct chan **ret);

#endif
