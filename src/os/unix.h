/* SPDX-License-Identifier: MIT */
#ifndef TTWS_OS_UNIX_H
#define TTWS_OS_UNIX_H

#include <stdbool.h>

/*
 * The unix transport: AF_UNIX SOCK_SEQPACKET, one ttws-link message per
 * datagram, standing in for an L2CAP LE credit-based channel (same
 * message boundaries, same reliable in-order delivery). Used by the earbud
 * simulator and the tests.
 */

/*
 * Connect to the socket at path: non-blocking, close-on-exec. AF_UNIX
 * connects complete at once, so 0 means connected. Returns 0 and *ret_fd
 * (owned by the caller), or -ENAMETOOLONG, -ENOENT / -ECONNREFUSED (no
 * earbud listening), or another negative errno of socket(2)/connect(2).
 */
int unix_seqpacket_connect(const char *path, int *ret_fd);

/*
 * Connect a SOCK_STREAM socket to path (e.g. btvirt's /tmp/bt-server-le,
 * where each connection is a new emulated controller speaking H4).
 * Non-blocking, close-on-exec. 0 and *ret_fd, or a negative errno.
 */
int unix_stream_connect(const char *path, int *ret_fd);

/*
 * Listen on path (a stale socket file left by a dead process is replaced;
 * any other existing file is -EEXIST). Non-blocking, close-on-exec.
 * Returns 0 and *ret_fd, or a negative errno.
 */
int unix_seqpacket_listen(const char *path, int backlog, int *ret_fd);

/*
 * Listen for SOCK_STREAM connections on path (the control API's socket):
 * as unix_seqpacket_listen(), and the file gets mode (e.g. 0660; -1 =
 * what umask gives) and group gid (-1 = unchanged) before anyone can
 * connect. 0 and *ret_fd, or a negative errno (-EPERM: chown to a group
 * the process is not in, without CAP_CHOWN).
 */
int unix_stream_listen(const char *path, int backlog, int mode, int gid,
		       int *ret_fd);

#define UNIX_CREDS_MAX_GROUPS 64

/* Who is at the other end of a connected AF_UNIX socket. */
struct unix_creds {
	unsigned uid, gid;
	int pid;
	bool groups_known; /* SO_PEERGROUPS answered (and fit) */
	unsigned n_groups;
	unsigned groups[UNIX_CREDS_MAX_GROUPS]; /* supplementary */
};

/* SO_PEERCRED and SO_PEERGROUPS of fd. 0 or -errno. */
int unix_peer_creds(int fd, struct unix_creds *ret);

/* The gid of group name: 0, -ENOENT (no such group) or -errno. */
int unix_group_gid(const char *name, int *ret_gid);

/* Accept one connection, non-blocking and close-on-exec. 0 / -errno. */
int unix_seqpacket_accept(int listen_fd, int *ret_fd);

/* The same for any socket type (the control API's stream socket). */
int unix_accept(int listen_fd, int *ret_fd);

#endif
