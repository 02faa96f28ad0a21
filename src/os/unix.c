/* SPDX-License-Identifier: MIT */
#include "os/unix.h"

#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int unix_addr(const char *path, struct sockaddr_un *ret)
{
	size_t len = strlen(path);

	if (len == 0) {
		return -EINVAL;
	}
	if (len >= sizeof(ret->sun_path)) {
		return -ENAMETOOLONG;
	}
	memset(ret, 0, sizeof(*ret));
	ret->sun_family = AF_UNIX;
	memcpy(ret->sun_path, path, len + 1);
	return 0;
}

static int unix_connect(const char *path, int type, int *ret_fd)
{
	struct sockaddr_un sa;
	int fd, r;

	r = unix_addr(path, &sa);
	if (r < 0) {
		return r;
	}
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int unix_seqpacket_connect(const char *path, int *ret_fd)
{
	return unix_connect(path, SOCK_SEQPACKET, ret_fd);
}

int unix_stream_connect(const char *path, int *ret_fd)
{
	return unix_connect(path, SOCK_STREAM, ret_fd);
}

/* Replace a stale socket file at path; refuse anything else. */
static int unix_clear_stale(const char *path, int type)
{
	struct stat st;
	int probe;

	if (lstat(path, &st) < 0) {
		return 0;
	}
	if (!S_ISSOCK(st.st_mode)) {
		return -EEXIST;
	}
	/* Someone still listening there is not ours to replace. */
	if (unix_connect(path, type, &probe) == 0) {
		close(probe);
		return -EADDRINUSE;
	}
	unlink(path);
	return 0;
}

/*
 * Bind, set the file's mode and group, then listen: until listen() a
 * connect is refused, so nobody reaches the socket under the mode bind()
 * gave it (which the process-wide umask decides).
 */
static int unix_listen(const char *path, int type, int backlog, int mode,
		       int gid, int *ret_fd)
{
	struct sockaddr_un sa;
	int fd, r;

	r = unix_addr(path, &sa);
	if (r < 0) {
		return r;
	}
	r = unix_clear_stale(path, type);
	if (r < 0) {
		return r;
	}
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if ((mode >= 0 && chmod(path, (mode_t)mode) < 0) ||
	    (gid >= 0 && chown(path, (uid_t)-1, (gid_t)gid) < 0) ||
	    listen(fd, backlog) < 0) {
		r = -errno;
		close(fd);
		unlink(path);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int unix_seqpacket_listen(const char *path, int backlog, int *ret_fd)
{
	return unix_listen(path, SOCK_SEQPACKET, backlog, -1, -1, ret_fd);
}

int unix_stream_listen(const char *path, int backlog, int mode, int gid,
		       int *ret_fd)
{
	return unix_listen(path, SOCK_STREAM, backlog, mode, gid, ret_fd);
}

int unix_peer_creds(int fd, struct unix_creds *ret)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	gid_t groups[UNIX_CREDS_MAX_GROUPS];
	unsigned i;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0) {
		return -errno;
	}
	ret->uid = uc.uid;
	ret->gid = uc.gid;
	ret->pid = uc.pid;
	ret->n_groups = 0;
	ret->groups_known = false;
	/* SO_PEERGROUPS (Linux 4.13): the groups at connect time. More
	 * than fit is ERANGE: the list is then unknown, not partial. */
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
		ret->n_groups = len / sizeof(gid_t);
		for (i = 0; i < ret->n_groups; i++) {
			ret->groups[i] = groups[i];
		}
		ret->groups_known = true;
	}
	return 0;
}

int unix_group_gid(const char *name, int *ret_gid)
{
	struct group gr, *res = NULL;
	char buf[4096];
	int r;

	r = getgrnam_r(name, &gr, buf, sizeof(buf), &res);
	if (r) {
		return -r;
	}
	if (!res) {
		return -ENOENT;
	}
	*ret_gid = (int)gr.gr_gid;
	return 0;
}

int unix_seqpacket_accept(int listen_fd, int *ret_fd)
{
	return unix_accept(listen_fd, ret_fd);
}

int unix_accept(int listen_fd, int *ret_fd)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0) {
		return -errno;
	}
	*ret_fd = fd;
	return 0;
}
