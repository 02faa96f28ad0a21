/* SPDX-License-Identifier: MIT */
/*
 * BlueZ kernel L2CAP sockets: addresses, PSMs, options with read-back,
 * non-blocking connect, listen/accept. See l2cap.h.
 */

#include <errno.h>
#include <linux/net_tstamp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "core/macro.h"
#include "core/strbuf.h"
#include "os/l2cap.h"

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

/*
 * Whether <linux/net_tstamp.h> knows TX_COMPLETION. Its SOF_* flags are
 * enum constants, invisible to #ifdef, but the header's
 * SOF_TIMESTAMPING_LAST moves up with each new flag.
 */
#define HEADERS_HAVE_TX_COMPLETION                                             \
	(SOF_TIMESTAMPING_LAST >= L2CAP_SOF_TX_COMPLETION)

/* ---- pure helpers -------------------------------------------------- */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

int l2cap_bdaddr_parse(const char *s, struct l2cap_bdaddr *ret)
{
	struct l2cap_bdaddr a;

	if (!s || !ret) {
		return -EINVAL;
	}
	/* Each check stops at the NUL, so a short string is never overread. */
	for (int i = 0; i < 6; i++) {
		const char *p = s + 3 * i;
		int hi, lo;

		hi = hex_digit(p[0]);
		if (hi < 0) {
			return -EINVAL;
		}
		lo = hex_digit(p[1]);
		if (lo < 0) {
			return -EINVAL;
		}
		if (p[2] != (i < 5 ? ':' : '\0')) {
			return -EINVAL;
		}
		a.b[5 - i] = (uint8_t)(hi << 4 | lo);
	}
	*ret = a;
	return 0;
}

int l2cap_bdaddr_format(const struct l2cap_bdaddr *a, char *buf, size_t size)
{
	if (!a || !buf) {
		return -EINVAL;
	}
	if (size < L2CAP_BDADDR_STRLEN) {
		return -ENOBUFS;
	}
	return snprintf(buf, size, "%02X:%02X:%02X:%02X:%02X:%02X", a->b[5],
			a->b[4], a->b[3], a->b[2], a->b[1], a->b[0]);
}

bool l2cap_bdaddr_is_any(const struct l2cap_bdaddr *a)
{
	static const struct l2cap_bdaddr any;

	return memcmp(a->b, any.b, sizeof(any.b)) == 0;
}

int l2cap_addr_type_parse(const char *s, enum l2cap_addr_type *ret)
{
	static const enum l2cap_addr_type all[] = {
	    L2CAP_ADDR_BREDR,
	    L2CAP_ADDR_LE_PUBLIC,
	    L2CAP_ADDR_LE_RANDOM,
	};

	if (!s || !ret) {
		return -EINVAL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		if (strcmp(s, l2cap_addr_type_name(all[i])) == 0) {
			*ret = all[i];
			return 0;
		}
	}
	return -EINVAL;
}

const char *l2cap_addr_type_name(enum l2cap_addr_type type)
{
	switch (type) {
	case L2CAP_ADDR_BREDR:
		return "bredr";
	case L2CAP_ADDR_LE_PUBLIC:
		return "public";
	case L2CAP_ADDR_LE_RANDOM:
		return "random";
	}
	return "?";
}

static bool type_valid(enum l2cap_addr_type type)
{
	switch (type) {
	case L2CAP_ADDR_BREDR:
	case L2CAP_ADDR_LE_PUBLIC:
	case L2CAP_ADDR_LE_RANDOM:
		return true;
	}
	return false;
}

bool l2cap_addr_type_is_le(enum l2cap_addr_type type)
{
	return type == L2CAP_ADDR_LE_PUBLIC || type == L2CAP_ADDR_LE_RANDOM;
}

int l2cap_psm_check(enum l2cap_addr_type type, uint16_t psm)
{
	switch (type) {
	case L2CAP_ADDR_LE_PUBLIC:
	case L2CAP_ADDR_LE_RANDOM:
		/* SPSM 0x0100..0xFFFF is reserved (Vol 3, Part A, 4.22). */
		return psm >= 1 && psm <= L2CAP_LE_PSM_MAX ? 0 : -EINVAL;
	case L2CAP_ADDR_BREDR:
		/*
		 * Vol 3, Part A, 4.2: the least significant bit of the most
		 * significant octet 0, of every other octet 1 (which also
		 * rules out 0).
		 */
		return (psm & 0x0101) == 0x0001 ? 0 : -EINVAL;
	}
	return -EINVAL;
}

bool l2cap_psm_is_dynamic(enum l2cap_addr_type type, uint16_t psm)
{
	if (l2cap_psm_check(type, psm) < 0) {
		return false;
	}
	if (l2cap_addr_type_is_le(type)) {
		return psm >= L2CAP_LE_PSM_DYN_START;
	}
	return psm >= L2CAP_BREDR_PSM_DYN_START;
}

int l2cap_mtu_check(enum l2cap_addr_type type, uint16_t mtu)
{
	if (!type_valid(type)) {
		return -EINVAL;
	}
	if (mtu == 0) {
		return 0;
	}
	if (l2cap_addr_type_is_le(type)) {
		return mtu >= L2CAP_LE_MTU_MIN ? 0 : -EINVAL;
	}
	return mtu >= L2CAP_BREDR_MTU_MIN ? 0 : -EINVAL;
}

int l2cap_tx_timestamping_flags(bool completion)
{
	int flags = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
		    SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;

	if (completion) {
		flags |= L2CAP_SOF_TX_COMPLETION;
	}
	return flags;
}

void l2cap_config_default(struct l2cap_config *ret)
{
	*ret = (struct l2cap_config){
	    .local = {.type = L2CAP_ADDR_LE_PUBLIC},
	    .remote = {.type = L2CAP_ADDR_LE_PUBLIC},
	    .psm = 0,
	    .rx_mtu = 0,
	    .security = L2CAP_SECURITY_LEAVE,
	    .tx_timestamps = false,
	    .backlog = 4,
	};
	sockopt_config_default(&ret->sock);
}

/* ---- report -------------------------------------------------------- */

unsigned l2cap_report_n_failed(const struct l2cap_report *r)
{
	const struct sockopt_result *all[] = {
	    &r->security,
	    &r->rx_mtu,
	    &r->tx_mtu,
	    &r->tx_timestamps.opt,
	};
	unsigned n = sockopt_report_n_failed(&r->sock);

	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		if (all[i]->requested && !all[i]->ok) {
			n++;
		}
	}
	return n;
}

static void put_errno(struct strbuf *o, int err)
{
	strbuf_put(o, "%s (%s)", strerrorname_np(-err) ?: "?", strerror(-err));
}

static void put_value(struct strbuf *o, bool hex, int v)
{
	if (hex) {
		strbuf_put(o, "%#x", (unsigned)v);
	} else {
		strbuf_put(o, "%d", v);
	}
}

static void put_result(struct strbuf *o, const char *name, bool hex,
		       const struct sockopt_result *r)
{
	strbuf_put(o, "%s", name);
	if (!r->requested) {
		strbuf_put(o, ": left");
	} else {
		strbuf_put(o, " ");
		put_value(o, hex, r->value);
		strbuf_put(o, ": ");
		if (r->ok) {
			strbuf_put(o, "ok");
		} else if (r->err) {
			put_errno(o, r->err);
		} else {
			strbuf_put(o, "set but differs");
		}
	}
	if (r->readback_err) {
		strbuf_put(o, ", read-back ");
		put_errno(o, r->readback_err);
	} else if (!r->ok) {
		strbuf_put(o, ", reads ");
		put_value(o, hex, r->readback);
	}
}

int l2cap_report_format(const struct l2cap_report *r, char *buf, size_t size)
{
	const struct l2cap_tx_timestamps *ts;
	struct strbuf o = {.buf = buf, .size = size};
	int n;

	if (!r || !buf || size == 0) {
		return -EINVAL;
	}
	ts = &r->tx_timestamps;
	buf[0] = '\0';
	put_result(&o, "security", false, &r->security);
	strbuf_put(&o, "; ");
	put_result(&o, "rx_mtu", false, &r->rx_mtu);
	strbuf_put(&o, "; ");
	put_result(&o, "tx_mtu", false, &r->tx_mtu);
	strbuf_put(&o, "; ");
	put_result(&o, "tx_timestamps", true, &ts->opt);
	if (ts->opt.requested) {
		strbuf_put(&o, ", completion %s", ts->completion ? "on" : "off");
	}
	if (ts->note[0]) {
		strbuf_put(&o, " (%s)", ts->note);
	}
	strbuf_put(&o, "; ");
	if (o.overflow) {
		return -ENOBUFS;
	}
	n = sockopt_report_format(&r->sock, buf + o.len, size - o.len);
	if (n < 0) {
		return n;
	}
	return (int)o.len + n;
}

/* ---- sockets ------------------------------------------------------- */

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

static bool security_valid(enum l2cap_security s)
{
	switch (s) {
	case L2CAP_SECURITY_LEAVE:
	case L2CAP_SECURITY_LOW:
	case L2CAP_SECURITY_MEDIUM:
	case L2CAP_SECURITY_HIGH:
	case L2CAP_SECURITY_FIPS:
		return true;
	}
	return false;
}

/* What every entry point that makes a socket checks first. */
static int config_check(const struct l2cap_config *cfg)
{
	if (!type_valid(cfg->local.type) || !type_valid(cfg->remote.type) ||
	    !security_valid(cfg->security)) {
		return -EINVAL;
	}
	/* The kernel refuses the mix too (l2cap_sock_connect()). */
	if (l2cap_addr_type_is_le(cfg->local.type) !=
	    l2cap_addr_type_is_le(cfg->remote.type)) {
		return -EINVAL;
	}
	return l2cap_mtu_check(cfg->remote.type, cfg->rx_mtu);
}

int l2cap_sockaddr(const struct l2cap_addr *addr, uint16_t psm,
		   struct sockaddr_storage *ret, socklen_t *ret_len)
{
	struct sockaddr_l2 sa;

	if (!addr || !ret || !ret_len || !type_valid(addr->type)) {
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

static int get_opt(int fd, int level, int name, void *val, socklen_t len)
{
	socklen_t l = len;

	if (getsockopt(fd, level, name, val, &l) < 0) {
		return -errno;
	}
	return 0;
}

static void apply_security(int fd, enum l2cap_security level,
			   struct sockopt_result *r)
{
	struct bt_security sec;

	*r = (struct sockopt_result){
	    .requested = level != L2CAP_SECURITY_LEAVE,
	    .value = level,
	};
	if (r->requested) {
		memset(&sec, 0, sizeof(sec));
		sec.level = (uint8_t)level;
		if (setsockopt(fd, SOL_BLUETOOTH, BT_SECURITY, &sec,
			       sizeof(sec)) < 0) {
			r->err = -errno;
		}
	}
	memset(&sec, 0, sizeof(sec));
	r->readback_err =
	    get_opt(fd, SOL_BLUETOOTH, BT_SECURITY, &sec, sizeof(sec));
	if (r->readback_err == 0) {
		r->readback = sec.level;
	}
	r->ok = r->requested && r->err == 0 && r->readback_err == 0 &&
		r->readback == (int)level;
}

/* LE: BT_RCVMTU / BT_SNDMTU are 16-bit (l2cap_sock.c). */
static void le_mtu(int fd, bool rx, uint16_t want, struct sockopt_result *r)
{
	uint16_t mtu = want;

	*r = (struct sockopt_result){.requested = want != 0, .value = want};
	if (rx && r->requested &&
	    setsockopt(fd, SOL_BLUETOOTH, BT_RCVMTU, &mtu, sizeof(mtu)) < 0) {
		r->err = -errno;
	}
	mtu = 0;
	r->readback_err = get_opt(fd, SOL_BLUETOOTH, rx ? BT_RCVMTU : BT_SNDMTU,
				  &mtu, sizeof(mtu));
	if (r->readback_err == 0) {
		r->readback = mtu;
	}
	r->ok = r->requested && r->err == 0 && r->readback_err == 0 &&
		r->readback == want;
}

/*
 * BR/EDR: BT_RCVMTU is -EINVAL for a BR/EDR socket; L2CAP_OPTIONS carries
 * imtu and omtu, read-modify-write.
 */
static void bredr_mtu(int fd, bool rx, uint16_t want, struct sockopt_result *r)
{
	struct l2cap_options o;

	*r = (struct sockopt_result){.requested = want != 0, .value = want};
	memset(&o, 0, sizeof(o));
	if (rx && r->requested) {
		r->err = get_opt(fd, SOL_L2CAP, L2CAP_OPTIONS, &o, sizeof(o));
		if (r->err == 0) {
			o.imtu = want;
			if (setsockopt(fd, SOL_L2CAP, L2CAP_OPTIONS, &o,
				       sizeof(o)) < 0) {
				r->err = -errno;
			}
		}
	}
	memset(&o, 0, sizeof(o));
	r->readback_err = get_opt(fd, SOL_L2CAP, L2CAP_OPTIONS, &o, sizeof(o));
	if (r->readback_err == 0) {
		r->readback = rx ? o.imtu : o.omtu;
	}
	r->ok = r->requested && r->err == 0 && r->readback_err == 0 &&
		r->readback == want;
}

static void apply_tx_timestamps(int fd, bool want,
				struct l2cap_tx_timestamps *t)
{
	struct sockopt_result *r = &t->opt;
	int flags = l2cap_tx_timestamping_flags(true);

	*t = (struct l2cap_tx_timestamps){
	    .opt = {.requested = want, .value = flags},
	    .completion_in_headers = HEADERS_HAVE_TX_COMPLETION,
	};
	if (want) {
		if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags,
			       sizeof(flags)) == 0) {
			t->completion = true;
		} else if (errno == EINVAL) {
			/*
			 * sock_set_timestamping() refuses bits outside its
			 * SOF_TIMESTAMPING_MASK: a kernel before 6.15.
			 */
			flags = l2cap_tx_timestamping_flags(false);
			r->value = flags;
			if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags,
				       sizeof(flags)) < 0) {
				r->err = -errno;
			}
			snprintf(t->note, sizeof(t->note),
				 "TX completion timestamps not supported by "
				 "this kernel (needs Linux 6.15)");
		} else {
			r->err = -errno;
			snprintf(t->note, sizeof(t->note),
				 "SO_TIMESTAMPING refused: %s",
				 strerror(-r->err));
		}
	}
	/* getsockopt() fills struct so_timestamping; flags come first. */
	r->readback_err =
	    get_opt(fd, SOL_SOCKET, SO_TIMESTAMPING, &r->readback, sizeof(int));
	r->ok = want && r->err == 0 && r->readback_err == 0 &&
		r->readback == r->value;
}

int l2cap_apply(int fd, const struct l2cap_config *cfg,
		struct l2cap_report *ret)
{
	struct l2cap_report rep;
	bool le;
	int r;

	if (fd < 0 || !cfg || !ret) {
		return -EINVAL;
	}
	r = config_check(cfg);
	if (r < 0) {
		return r;
	}
	memset(&rep, 0, sizeof(rep));
	r = sockopt_apply(fd, &cfg->sock, &rep.sock);
	if (r < 0) {
		return r;
	}
	le = l2cap_addr_type_is_le(cfg->remote.type);
	apply_security(fd, cfg->security, &rep.security);
	if (le) {
		le_mtu(fd, true, cfg->rx_mtu, &rep.rx_mtu);
		le_mtu(fd, false, 0, &rep.tx_mtu);
	} else {
		bredr_mtu(fd, true, cfg->rx_mtu, &rep.rx_mtu);
		bredr_mtu(fd, false, 0, &rep.tx_mtu);
	}
	apply_tx_timestamps(fd, cfg->tx_timestamps, &rep.tx_timestamps);
	*ret = rep;
	return 0;
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
	r = config_check(cfg);
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
	r = config_check(cfg);
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

int l2cap_mtu(int fd, enum l2cap_addr_type type, uint16_t *ret_rx_mtu,
	      uint16_t *ret_tx_mtu)
{
	struct sockopt_result rx, tx;

	if (fd < 0 || !type_valid(type)) {
		return -EINVAL;
	}
	if (l2cap_addr_type_is_le(type)) {
		le_mtu(fd, true, 0, &rx);
		le_mtu(fd, false, 0, &tx);
	} else {
		bredr_mtu(fd, true, 0, &rx);
		bredr_mtu(fd, false, 0, &tx);
	}
	if (rx.readback_err) {
		return rx.readback_err;
	}
	if (tx.readback_err) {
		return tx.readback_err;
	}
	if (ret_rx_mtu) {
		*ret_rx_mtu = (uint16_t)rx.readback;
	}
	if (ret_tx_mtu) {
		*ret_tx_mtu = (uint16_t)tx.readback;
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

int l2cap_apply(int fd, const struct l2cap_config *cfg,
		struct l2cap_report *ret)
{
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

int l2cap_mtu(int fd, enum l2cap_addr_type type, uint16_t *ret_rx_mtu,
	      uint16_t *ret_tx_mtu)
{
	return -EAFNOSUPPORT;
}

#endif
