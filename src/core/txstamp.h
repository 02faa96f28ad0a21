/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_TXSTAMP_H
#define TTWS_CORE_TXSTAMP_H

/*
 * Transmit timestamps read from a socket's error queue: the control data
 * of one recvmsg(MSG_ERRQUEUE) taken apart (kernel
 * Documentation/networking/timestamping.rst, 2.1 and 3). With
 * SO_TIMESTAMPING = ..._TX_* | SOFTWARE | OPT_ID | OPT_TSONLY each report
 * carries two cmsgs:
 *
 *   SOL_SOCKET / SCM_TIMESTAMPING    struct scm_timestamping, ts[0] the
 *                                    software stamp (CLOCK_REALTIME)
 *   the error                        struct sock_extended_err with
 *                                    ee_errno ENOMSG, ee_origin
 *                                    SO_EE_ORIGIN_TIMESTAMPING, ee_info the
 *                                    kind, ee_data the OPT_ID key
 *
 * where the error comes as SOL_IP / IP_RECVERR, SOL_IPV6 / IPV6_RECVERR,
 * or, on Bluetooth sockets (Linux 6.15), SOL_BLUETOOTH / BT_SCM_ERROR.
 * Pure: no syscalls, nothing allocated.
 */

#include <stddef.h>
#include <stdint.h>

/* The kernel's SCM_TSTAMP_* (ee_info); the values are UAPI. */
enum txstamp_kind {
	TXSTAMP_SND = 0,	/* left the socket layer for the driver */
	TXSTAMP_SCHED = 1,	/* entered the qdisc */
	TXSTAMP_ACK = 2,	/* acknowledged (TCP) */
	TXSTAMP_COMPLETION = 3, /* the controller completed it (Bluetooth,
				   Number Of Completed Packets; 6.15) */
};

struct txstamp {
	enum txstamp_kind kind;
	uint32_t key;	      /* OPT_ID: the n-th send of the socket, from 0 */
	uint64_t realtime_ns; /* CLOCK_REALTIME ns */
};

/*
 * Take apart the control data (control, len bytes, as recvmsg() left
 * msg_control / msg_controllen) of one error-queue message.
 *
 * 0 and *ret: a TX timestamp report. -ENOMSG: no timestamp report, and
 * *ret_err holds the queued error as a negative errno (an ICMP error on
 * UDP with IP_RECVERR, say), or 0 when the message carried no extended
 * error at all. -EBADMSG: a timestamp report without its stamp (or with
 * an all-zero software stamp: SOFTWARE reporting off), or a cmsg cut
 * short. ret_err may be NULL.
 */
int txstamp_parse(const void *control, size_t len, struct txstamp *ret,
		  int *ret_err);

/* "snd", "sched", "ack", "completion", or "?" */
const char *txstamp_kind_name(enum txstamp_kind k);

#endif
