/* SPDX-License-Identifier: MIT */
/*
 * BlueZ kernel L2CAP sockets: can this kernel open them, non-blocking
 * connect, listen/accept. The rules are l2cap_addr.c, the options
 * l2cap_opt.c, the report's text l2cap_report.c. See l2cap.h.
 */

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "os/l2cap.h"
#include "os/l2cap_private.h"

#if HAVE_BLUEZ
#include <bluetooth/bluetooth.h>
#include <bluetooth/l2cap.h>

_Static_assert(L2CAP_ADDR_BREDR == BDADDR_BREDR, "BDADDR_BREDR");
_Static_assert(L2CAP_ADDR_LE_PUBLIC == BDADDR_LE_PUBLIC, "BDADDR_LE_PUBLIC");
_Static_assert(L2CAP_ADDR_LE_RANDOM == BDADDR_LE_RANDOM, "BDADDR_LE_RANDOM");
_Static_assert(L2CAP_SECURITY_LOW == BT_SECURITY_LOW, "BT_SECURITY_LOW");
_Static_assert(L2CAP_SECURITY_FIPS == BT_SECURITY_FIPS, "BT_SECURITY_FIPS");
_Static_assert(sizeof(bdaddr_t) == sizeof(struct l2cap_bdaddr), "bdaddr_t");
#endif

#define WHY_NO_AF_BLUETOOTH                                                    \
	"kernel has no Bluetooth (AF_BLUETOOTH not available: load the "       \
	"bluetooth module or use transport = hci-uart)"

int l2cap_connect_finish(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	socklen_t len;
	int r, err;

	if (fd < 0) {
		return -EBADF;
	}
	r = poll(&p, 1, 0);
	if (r < 0) {
		return -errno;
	}
	if (p.revents & POLLNVAL) {
		return -EBADF;
	}
	/*
	 * bt_sock_poll() reports nothing while the channel is being set up
	 * (BT_CONNECT, BT_CONNECT2, BT_CONFIG), and SO_ERROR is 0 then.
	 */
	if (r == 0) {
		return -EINPROGRESS;
	}
	err = 0;
	len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
		return -errno;
	}
	if (err) {
		return -err;
	}
	if (!(p.revents & POLLOUT)) {
		/* Hung up without an error code. */
		return -ENOTCONN;
	}
	return 0;
}

#if HAVE_BLUEZ

int l2cap_sockaddr(const struct l2cap_addr *addr, uint16_t psm,
		   struct sockaddr_storage *ret, socklen_t *ret_len)
{
	struct sockaddr_l2 sa;

	if (!addr || !ret || !ret_len || !l2cap_type_valid(addr->type)) {
		return -EINVAL;
	}
	memset(&sa, 0, sizeof(sa));
	sa.l2_family = AF_BLUETOOTH;
	sa.l2_psm = htobs(psm);
	memcpy(&sa.l2_bdaddr, addr->bdaddr.b, sizeof(sa.l2_bdaddr));
	sa.l2_cid = 0;
	sa.l2_bdaddr_type = (uint8_t)addr->type;
	memset(ret, 0, sizeof(*ret));
	memcpy(ret, &sa, sizeof(sa));
	*ret_len = sizeof(sa);
	return 0;
}

static void put_why(char *why, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void put_why(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (!why || size == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
}

int l2cap_kernel_support(char *why, size_t size)
{
	int fd, r;

	fd = socket(AF_BLUETOOTH, SOCK_SEQPACKET | SOCK_CLOEXEC, BTPROTO_L2CAP);
	if (fd >= 0) {
		close(fd);
		put_why(why, size, "kernel L2CAP sockets available");
		return 0;
	}
	r = -errno;
	switch (r) {
	case -EAFNOSUPPORT:
		/*
		 * /sys/module/bluetooth exists whether bluetooth is a module
		 * or built in (it has parameters), and sysfs modules are not
		 * per network namespace. Loaded but refused: a namespace
		 * other than the initial one (bt_sock_create()), or a
		 * seccomp filter such as systemd's RestrictAddressFamilies=,
		 * which also answers EAFNOSUPPORT.
		 */
		if (access("/sys/module/bluetooth", F_OK) == 0) {
			put_why(
			    why, size,
			    "Bluetooth is loaded but AF_BLUETOOTH is refused "
			    "here: Bluetooth sockets exist only in the "
			    "initial network namespace, and "
			    "RestrictAddressFamilies= must list "
			    "AF_BLUETOOTH (or use transport = hci-uart)");
		} else {
			put_why(why, size, WHY_NO_AF_BLUETOOTH);
		}
		break;
	case -EPERM:
	case -EACCES:
		put_why(why, size,
			"Bluetooth sockets refused (%s): a seccomp or LSM "
			"policy blocks AF_BLUETOOTH; allow it or use "
			"transport = hci-uart",
			strerrorname_np(-r) ?: "?");
		break;
	default:
		put_why(why, size,
			"socket(AF_BLUETOOTH, SOCK_SEQPACKET, BTPROTO_L2CAP) "
			"failed: %s",
			strerror(-r));
		break;
	}
	return r;
}

static int bt_socket(const struct l2cap_config *cfg, uint16_t bind_psm,
		     int *ret_fd, struct l2cap_report *ret_report)
{
	struct sockaddr_storage sa;
	struct l2cap_report rep;
	socklen_t len;
	int fd, r;

	r = l2cap_sockaddr(&cfg->local, bind_psm, &sa, &len);
	if (r < 0) {
		return r;
	}
	fd = socket(AF_BLUETOOTH, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    BTPROTO_L2CAP);
	if (fd < 0) {
		return -errno;
	}
	if (bind(fd, (struct sockaddr *)&sa, len) < 0) {
		r = -errno;
		goto fail;
	}
	/* After bind: BT_RCVMTU looks at the bound address type. */
	r = l2cap_apply(fd, cfg, &rep);
	if (r < 0) {
		goto fail;
	}
	*ret_fd = fd;
	if (ret_report) {
		*ret_report = rep;
	}
	return 0;

fail:
	close(fd);
	return r;
}

int l2cap_connect_start(const struct l2cap_config *cfg, int *ret_fd,
			struct l2cap_report *ret_report)
{
	struct sockaddr_storage sa;
	struct l2cap_report rep;
	socklen_t len;
	int fd, r;

	if (!cfg || !ret_fd) {
		return -EINVAL;
	}
	r = l2cap_config_check(cfg);
	if (r < 0) {
		return r;
	}
	r = l2cap_psm_check(cfg->remote.type, cfg->psm);
	if (r < 0) {
		return r;
	}
	if (l2cap_bdaddr_is_any(&cfg->remote.bdaddr)) {
		return -EINVAL;
	}
	r = l2cap_sockaddr(&cfg->remote, cfg->psm, &sa, &len);
	if (r < 0) {
		return r;
	}
	r = bt_socket(cfg, 0, &fd, &rep);
	if (r < 0) {
		return r;
	}
	r = 0;
	if (connect(fd, (struct sockaddr *)&sa, len) < 0) {
		r = -errno;
		if (r != -EINPROGRESS) {
			close(fd);
			return r;
		}
	}
	*ret_fd = fd;
	if (ret_report) {
		*ret_report = rep;
	}
	return r;
}

int l2cap_listen(const struct l2cap_config *cfg, int *ret_fd,
		 struct l2cap_report *ret_report)
{
	struct l2cap_report rep;
	int fd, r;

	if (!cfg || !ret_fd || cfg->backlog < 0) {
		return -EINVAL;
	}
	r = l2cap_config_check(cfg);
	if (r < 0) {
		return r;
	}
	r = l2cap_psm_check(cfg->local.type, cfg->psm);
	if (r < 0) {
		return r;
	}
	r = bt_socket(cfg, cfg->psm, &fd, &rep);
	if (r < 0) {
		return r;
	}
	if (listen(fd, cfg->backlog) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*ret_fd = fd;
	if (ret_report) {
		*ret_report = rep;
	}
	return 0;
}

int l2cap_accept(int listen_fd, int *ret_fd, struct l2cap_addr *ret_peer)
{
	struct sockaddr_l2 sa;
	socklen_t len = sizeof(sa);
	int fd;

	if (!ret_fd) {
		return -EINVAL;
	}
	memset(&sa, 0, sizeof(sa));
	fd = accept4(listen_fd, (struct sockaddr *)&sa, &len,
		     SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	*ret_fd = fd;
	if (ret_peer) {
		memcpy(ret_peer->bdaddr.b, &sa.l2_bdaddr,
		       sizeof(ret_peer->bdaddr.b));
		ret_peer->type = (enum l2cap_addr_type)sa.l2_bdaddr_type;
	}
	return 0;
}

#else /* !HAVE_BLUEZ */

int l2cap_sockaddr(const struct l2cap_addr *addr, uint16_t psm,
		   struct sockaddr_storage *ret, socklen_t *ret_len)
{
	return -EAFNOSUPPORT;
}

int l2cap_kernel_support(char *why, size_t size)
{
	if (why && size > 0) {
		snprintf(why, size, "built without libbluetooth");
	}
	return -EAFNOSUPPORT;
}

int l2cap_connect_start(const struct l2cap_config *cfg, int *ret_fd,
			struct l2cap_report *ret_report)
{
	return -EAFNOSUPPORT;
}

int l2cap_listen(const struct l2cap_config *cfg, int *ret_fd,
		 struct l2cap_report *ret_report)
{
	return -EAFNOSUPPORT;
}

int l2cap_accept(int listen_fd, int *ret_fd, struct l2cap_addr *ret_peer)
{
	return -EAFNOSUPPORT;
}

#endif
