/* SPDX-License-Identifier: MIT */
#include "os/unix.h"

#include <errno.h>
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

int unix_seqpacket_listen(const char *path, int backlog, int *ret_fd)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, r;

	r = unix_addr(path, &sa);
	if (r < 0) {
		return r;
	}
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode)) {
			return -EEXIST;
		}
		/* Someone still listening there is not ours to replace. */
		if (unix_seqpacket_connect(path, &probe) == 0) {
			close(probe);
			return -EADDRINUSE;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, backlog) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int unix_seqpacket_accept(int listen_fd, int *ret_fd)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0) {
		return -errno;
	}
	*ret_fd = fd;
	return 0;
}
