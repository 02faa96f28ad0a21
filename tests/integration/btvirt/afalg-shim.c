/* SPDX-License-Identifier: MIT */
/*
 * afalg-shim: an LD_PRELOAD for btvirt on kernels without AF_ALG.
 *
 * BlueZ's emulator gives every LE-capable controller a bt_crypto
 * (src/shared/crypto.c), which opens AF_ALG sockets for AES and CMAC
 * when the controller is created; when that fails btdev_create() returns
 * NULL and btvirt silently drops the client (emulator/server.c). Here
 * socket(AF_ALG, ...) returns a dummy descriptor (a non-blocking
 * eventfd) that bind, accept, accept4 and setsockopt accept, and the
 * "skcipher" "ecb(aes)" algorithm works in user space: the key set on the
 * bound socket goes to each socket accept() makes from it, sendmsg() of
 * whole 16-octet blocks encrypts them (AES-128, test-smp-aes.h, FIPS
 * 197), read() returns the result. That is all bt_crypto_e() needs, so
 * btvirt's LE Encrypt (Core 5.4, Vol 4, Part E, 7.8.22) answers with
 * real ciphertext, in BlueZ's own byte order handling. Other algorithms
 * ("hash" "cmac(aes)", used by BlueZ's host code, not by btdev) stay
 * dummies: sendmsg fails and read finds nothing.
 *
 * Built without sanitizers: it runs inside btvirt, which is not.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "test-smp-aes.h"

#ifndef AF_ALG
#define AF_ALG 38
#endif
#ifndef SOL_ALG
#define SOL_ALG 279
#endif
#define SHIM_ALG_SET_KEY 1 /* linux/if_alg.h */

/* The start of struct sockaddr_alg (linux/if_alg.h). */
struct shim_sockaddr_alg {
	unsigned short salg_family;
	unsigned char salg_type[14];
	unsigned int salg_feat;
	unsigned int salg_mask;
	unsigned char salg_name[64];
};

/* Descriptors handed out as AF_ALG sockets; btvirt keeps a few per
 * controller. btvirt is single-threaded; the flags are atomic anyway. */
#define SHIM_MAX_FD 4096
#define SHIM_OUT_MAX 64
static atomic_bool shim_fake[SHIM_MAX_FD];
static struct {
	bool ecb;        /* "skcipher" "ecb(aes)" */
	bool have_key;
	uint8_t key[16];
	uint8_t out[SHIM_OUT_MAX];
	size_t out_len;
} shim_fd[SHIM_MAX_FD];

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
	memset(&shim_fd[fd], 0, sizeof(shim_fd[fd]));
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
		const struct shim_sockaddr_alg *a = (const void *)addr;

		shim_fd[fd].ecb =
			len >= sizeof(*a) &&
			strcmp((const char *)a->salg_type, "skcipher") == 0 &&
			strcmp((const char *)a->salg_name, "ecb(aes)") == 0;
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
		if (level == SOL_ALG && name == SHIM_ALG_SET_KEY && len == 16) {
			memcpy(shim_fd[fd].key, val, 16);
			shim_fd[fd].have_key = true;
		}
		return 0;
	}
	if (!real) {
		real = (int (*)(int, int, int, const void *, socklen_t))
			shim_next("setsockopt");
	}
	return real(fd, level, name, val, len);
}

/* An operation socket: the algorithm and key of the bound one. */
static int shim_op(int fd, bool cloexec)
{
	int op = shim_dummy(cloexec);

	if (op >= 0) {
		shim_fd[op].ecb = shim_fd[fd].ecb;
		shim_fd[op].have_key = shim_fd[fd].have_key;
		memcpy(shim_fd[op].key, shim_fd[fd].key, 16);
	}
	return op;
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	static int (*real)(int, struct sockaddr *, socklen_t *);

	if (shim_is_fake(fd)) {
		return shim_op(fd, true);
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
		return shim_op(fd, flags & SOCK_CLOEXEC);
	}
	if (!real) {
		real = (int (*)(int, struct sockaddr *, socklen_t *, int))
			shim_next("accept4");
	}
	return real(fd, addr, len, flags);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	static ssize_t (*real)(int, const struct msghdr *, int);

	if (shim_is_fake(fd)) {
		uint8_t in[SHIM_OUT_MAX];
		size_t n = 0;

		if (!shim_fd[fd].ecb || !shim_fd[fd].have_key) {
			errno = ENOTSOCK;
			return -1;
		}
		for (size_t i = 0; i < msg->msg_iovlen; i++) {
			const struct iovec *v = &msg->msg_iov[i];

			if (v->iov_len > sizeof(in) - n) {
				errno = EMSGSIZE;
				return -1;
			}
			memcpy(in + n, v->iov_base, v->iov_len);
			n += v->iov_len;
		}
		if (n % 16) {
			errno = EINVAL;
			return -1;
		}
		/* ECB: each block on its own. */
		for (size_t b = 0; b < n; b += 16) {
			refaes_encrypt(shim_fd[fd].key, in + b,
				       shim_fd[fd].out + b);
		}
		shim_fd[fd].out_len = n;
		return (ssize_t)n;
	}
	if (!real) {
		real = (ssize_t (*)(int, const struct msghdr *, int))
			shim_next("sendmsg");
	}
	return real(fd, msg, flags);
}

ssize_t read(int fd, void *buf, size_t len)
{
	static ssize_t (*real)(int, void *, size_t);

	if (shim_is_fake(fd)) {
		size_t n = shim_fd[fd].out_len;

		if (n == 0) {
			errno = EAGAIN;
			return -1;
		}
		n = n < len ? n : len;
		memcpy(buf, shim_fd[fd].out, n);
		shim_fd[fd].out_len = 0;
		return (ssize_t)n;
	}
	if (!real) {
		real = (ssize_t (*)(int, void *, size_t))shim_next("read");
	}
	return real(fd, buf, len);
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
