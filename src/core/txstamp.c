/* SPDX-License-Identifier: MIT */
#include "core/txstamp.h"

#include <errno.h>
#include <time.h> /* before linux/errqueue.h: struct timespec */

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#ifndef SOL_BLUETOOTH
#define SOL_BLUETOOTH 274
#endif
/* include/net/bluetooth/bluetooth.h (Linux 6.15); libbluetooth lags. */
#define TXSTAMP_BT_SCM_ERROR 0x04

/* Is c the error cmsg of one of the families that queue TX reports? */
static bool is_error_cmsg(const struct cmsghdr *c)
{
	return (c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
	       (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR) ||
	       (c->cmsg_level == SOL_BLUETOOTH &&
		c->cmsg_type == TXSTAMP_BT_SCM_ERROR);
}

/*
 * ts[0] of SCM_TIMESTAMPING as ns; also the y2038 layout
 * (SO_TIMESTAMPING_NEW: three struct __kernel_timespec, 64-bit fields),
 * which is the same bytes on 64-bit hosts.
 */
static bool stamp_of(const struct cmsghdr *c, uint64_t *ret_ns)
{
	size_t data = c->cmsg_len - CMSG_LEN(0);

	if (c->cmsg_level != SOL_SOCKET) {
		return false;
	}
	if (c->cmsg_type == SCM_TIMESTAMPING &&
	    data >= sizeof(struct scm_timestamping)) {
		struct scm_timestamping t;

		memcpy(&t, CMSG_DATA(c), sizeof(t));
		*ret_ns = (uint64_t)t.ts[0].tv_sec * 1000000000u +
			  (uint64_t)t.ts[0].tv_nsec;
		return true;
	}
#if defined(SO_TIMESTAMPING_NEW)
	if (SO_TIMESTAMPING_NEW != SCM_TIMESTAMPING &&
	    c->cmsg_type == SO_TIMESTAMPING_NEW && data >= 3 * 16) {
		int64_t sec, nsec;

		memcpy(&sec, CMSG_DATA(c), sizeof(sec));
		memcpy(&nsec, CMSG_DATA(c) + 8, sizeof(nsec));
		*ret_ns = (uint64_t)sec * 1000000000u + (uint64_t)nsec;
		return true;
	}
#endif
	return false;
}

int txstamp_parse(const void *control, size_t len, struct txstamp *ret,
		  int *ret_err)
{
	/* The CMSG_* macros walk a msghdr; this one only frames the bytes. */
	struct msghdr mh = {
	    .msg_control = (void *)control,
	    .msg_controllen = len,
	};
	struct sock_extended_err ee;
	bool have_ee = false, have_ts = false;
	uint64_t ns = 0;

	if (ret_err) {
		*ret_err = 0;
	}
	if (!control || len < sizeof(struct cmsghdr)) {
		return -ENOMSG;
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
	     c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_len < CMSG_LEN(0) ||
		    (const char *)c + c->cmsg_len >
			(const char *)control + len) {
			return -EBADMSG;
		}
		if (stamp_of(c, &ns)) {
			have_ts = true;
		} else if (is_error_cmsg(c)) {
			if (c->cmsg_len < CMSG_LEN(sizeof(ee))) {
				return -EBADMSG;
			}
			memcpy(&ee, CMSG_DATA(c), sizeof(ee));
			have_ee = true;
		}
	}
	if (!have_ee) {
		return -ENOMSG;
	}
	if (ee.ee_origin != SO_EE_ORIGIN_TIMESTAMPING) {
		if (ret_err) {
			*ret_err = ee.ee_errno ? -(int)ee.ee_errno : -EIO;
		}
		return -ENOMSG;
	}
	if (!have_ts || ns == 0) {
		return -EBADMSG;
	}
	ret->kind = (enum txstamp_kind)ee.ee_info;
	ret->key = ee.ee_data;
	ret->realtime_ns = ns;
	return 0;
}

const char *txstamp_kind_name(enum txstamp_kind k)
{
	switch (k) {
	case TXSTAMP_SND:
		return "snd";
	case TXSTAMP_SCHED:
		return "sched";
	case TXSTAMP_ACK:
		return "ack";
	case TXSTAMP_COMPLETION:
		return "completion";
	}
	return "?";
}
