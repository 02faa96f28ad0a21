/* SPDX-License-Identifier: MIT */
/*
 * afalg-shim: an LD_PRELOAD for btvirt on kernels without AF_ALG.
 *
 * BlueZ's emulator gives every LE-capable controller a bt_crypto
 * (src/shared/crypto.c), which opens AF_ALG sockets for AES and CMAC
 * when the controller is created; when that fails btdev_create() returns
 * NULL and btvirt silently drops the client (emulator/server.c). We only
 * need the controller, not its encryption, so socket(AF_ALG, ...) here
 * returns a dummy descriptor (a non-blocking eventfd) that bind, accept,
 * accept4 and setsockopt accept without complaint. Anything that really
 * tries to encrypt (LE Encrypt, SMP) fails: sendmsg on an eventfd is
 * ENOTSOCK and read finds nothing. Tests must not rely on encryption.
 *
 * Built without sanitizers: it runs inside btvirt, which is not.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef AF_ALG
#define AF_ALG 38
#endif

/* Descriptors handed out as AF_ALG sockets; btvirt keeps a few per
 * controller. */
#define SHIM_MAX_FD 4096
static atomic_bool shim_fake[SHIM_MAX_FD];

static bool shim_is_fake(int fd)
{
	return fd >= 0 && fd < SHIM_MAX_FD && atomic_load(&shim_fake[fd]);
}

static int shim_dummy(bool cloexec)
{
	int fd = eventfd(0, EFD_NONBLOCK | (cloexec ? EFD_CLOEXEC : 0));

	if (fd < 0) {
		return -1;
	}
	if (fd >= SHIM_MAX_FD) {
		close(fd);
		errno = EMFILE;
		return -1;
	}
	atomic_store(&shim_fake[fd], true);
	return fd;
}

static void *shim_next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

int socket(int domain, int type, int protocol)
{
	static int (*real)(int, int, int);

	if (domain == AF_ALG) {
		return shim_dummy(type & SOCK_CLOEXEC);
	}
	if (!real) {
		real = (int (*)(int, int, int))shim_next("socket");
	}
	return real(domain, type, protocol);
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	static int (*real)(int, const struct sockaddr *, socklen_t);

	if (shim_is_fake(fd)) {
		return 0;
	}
	if (!real) {
		real = (int (*)(int, const struct sockaddr *, socklen_t))
			shim_next("bind");
	}
	return real(fd, addr, len);
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	static int (*real)(int, int, int, const void *, socklen_t);

	if (shim_is_fake(fd)) {
		return 0;
	}
	if (!real) {
		real = (int (*)(int, int, int, const void *, socklen_t))
			shim_next("setsockopt");
	}
	return real(fd, level, name, val, len);
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	static int (*real)(int, struct sockaddr *, socklen_t *);

	if (shim_is_fake(fd)) {
		return shim_dummy(true);
	}
	if (!real) {
		real = (int (*)(int, struct sockaddr *, socklen_t *))
			shim_next("accept");
	}
	return real(fd, addr, len);
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	static int (*real)(int, struct sockaddr *, socklen_t *, int);

	if (shim_is_fake(fd)) {
		return shim_dummy(flags & SOCK_CLOEXEC);
	}
	if (!real) {
		real = (int (*)(int, struct sockaddr *, socklen_t *, int))
			shim_next("accept4");
	}
	return real(fd, addr, len, flags);
}

int close(int fd)
{
	static int (*real)(int);

	/* Forget the fd first: its number may be reused at once. */
	if (fd >= 0 && fd < SHIM_MAX_FD) {
		atomic_store(&shim_fake[fd], false);
	}
	if (!real) {
		real = (int (*)(int))shim_next("close");
	}
	return real(fd);
}
