/* SPDX-License-Identifier: MIT */
#ifndef TTWS_OS_UNIX_H
#define TTWS_OS_UNIX_H

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

/* Accept one connection, non-blocking and close-on-exec. 0 / -errno. */
int unix_seqpacket_accept(int listen_fd, int *ret_fd);

#endif
