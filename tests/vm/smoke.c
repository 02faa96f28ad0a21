/* SPDX-License-Identifier: MIT */
/*
 * ttws-vm-smoke: inside the test VM, prove that the kernel's Bluetooth
 * stack gives ttws what its l2cap transport relies on, before any ttws
 * code is involved (tests/vm/README.md).
 *
 * hci0 is the host (central); hci1 and hci2 are the two earbuds
 * (peripherals, advertising connectable, set up by smoke-run). Each earbud
 * is a child process listening on an LE credit-based PSM (Core 5.4, Vol 3,
 * Part A, 4.22) and answering every datagram; the parent connects to both
 * and checks:
 *   - both channels open with the configured MTUs (BT_RCVMTU/BT_SNDMTU
 *     read back on both ends; the ends use different MTUs so a swap shows),
 *   - datagrams of 1 byte past the header up to the full MTU both ways,
 *     byte-exact (SDU segmentation and reassembly included),
 *   - every received datagram carries an SCM_TIMESTAMPNS cmsg on both ends,
 *   - SO_PRIORITY and BT_SECURITY read back as set (BT_SECURITY_LOW: no
 *     pairing, there is no agent in the VM),
 *   - what SO_TIMESTAMPING (TX_SOFTWARE, TX_COMPLETION, OPT_ID,
 *     OPT_TSONLY) brings back through the error queue for six sends:
 *     every message's cmsgs and sock_extended_err, per send its SND and
 *     COMPLETION stamps and their delays, poll()'s POLLERR; reported, not
 *     required (test-vm.sh judges it by kernel version),
 *   - the right earbud killed (SIGKILL): the host sees the channel drop,
 *     the left keeps answering, a restarted right earbud is reconnected.
 * Prints one line of JSON on stdout; "ok" is true when every required
 * check passed. Diagnostics go to stderr.
 *
 *   ttws-vm-smoke [CENTRAL_INDEX LEFT_INDEX RIGHT_INDEX]   (default 0 1 2)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/errqueue.h>
#include <linux/net_tstamp.h>

#include <bluetooth/bluetooth.h>
#include <bluetooth/hci.h>
#include <bluetooth/l2cap.h>

/* Added in Linux 6.15 (net_tstamp.h, errqueue.h); older headers lack it. */
#ifndef SOF_TIMESTAMPING_TX_COMPLETION
#define SOF_TIMESTAMPING_TX_COMPLETION (1 << 18)
#endif
#define SMOKE_TSTAMP_COMPLETION 3 /* SCM_TSTAMP_COMPLETION */
/* The kernel's LE_LINK (net/bluetooth/hci.h); BlueZ's hci.h lacks it. */
#define SMOKE_LE_LINK 0x80

#define PSM_LEFT 0x0080
#define PSM_RIGHT 0x0081
/* Different on each end so a swapped BT_SNDMTU/BT_RCVMTU is caught. */
#define MTU_CENTRAL 512
#define MTU_PEER 600
/* TC_PRIO_INTERACTIVE: the highest one without CAP_NET_ADMIN. */
#define PRIORITY 6
#define ROUNDS 20
/*
 * Per connect() attempt. A healthy connect takes well under 1 s here; a
 * stalled one (see tests/vm/README.md, "reconnect stall") never completes,
 * so give up early and try again rather than wait for the kernel.
 */
#define CONNECT_TIMEOUT_MS 8000
#define REPLY_TIMEOUT_MS 5000
#define MAGIC_PING 0x676e6970u
#define MAGIC_PONG 0x676e6f70u

struct ping {
	uint32_t magic;
	uint32_t seq;
	uint16_t reply_len; /* total length of the pong wanted */
	uint16_t pad;
} __attribute__((packed));

/* The earbud's view of its channel, sent back in every reply. */
struct pong {
	uint32_t magic;
	uint32_t seq;
	uint32_t pid;
	uint16_t rcvmtu;
	uint16_t sndmtu;
	int32_t priority;
	uint8_t security;
	uint8_t rx_tstamp; /* the ping arrived with SCM_TIMESTAMPNS */
	uint8_t rx_intact; /* the ping's fill bytes were right */
	uint8_t pad;
} __attribute__((packed));

struct peer {
	const char *name;
	int dev_id;
	uint16_t psm;
	bdaddr_t addr;
	pid_t pid;
	int fd; /* the central's end */
	bool opened;
	int attempts; /* connect() calls it took */
	/* read back on the central's end */
	int rcvmtu, sndmtu, priority, security;
	/* last reply's view of the earbud's end */
	struct pong far;
	uint64_t connect_ns;
	int exchanged, exchange_errors;
	int rx_tstamp_missing, far_tstamp_missing, far_corrupt;
	uint64_t rtt_min_ns, rtt_max_ns;
	int64_t tstamp_age_max_ns; /* now - SCM_TIMESTAMPNS at recvmsg */
	int64_t last_send_ns;	   /* CLOCK_REALTIME just before send() */
};

static char failures[4096];
static size_t failures_len;
static int failures_n;

static void fail(const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "smoke: FAIL: %s\n", msg);
	for (char *c = msg; *c; c++) {
		if (*c == '"' || *c == '\\' || *c < 0x20) {
			*c = '\'';
		}
	}
	n = snprintf(failures + failures_len, sizeof(failures) - failures_len,
		     "%s\"%s\"", failures_n ? "," : "", msg);
	if (n > 0 && (size_t)n < sizeof(failures) - failures_len) {
		failures_len += n;
	}
	failures_n++;
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static void addr_str(const bdaddr_t *a, char out[18])
{
	snprintf(out, 18, "%02X:%02X:%02X:%02X:%02X:%02X", a->b[5], a->b[4],
		 a->b[3], a->b[2], a->b[1], a->b[0]);
}

static int dev_addr(int dev_id, bdaddr_t *ret_addr)
{
	struct hci_dev_info di = {.dev_id = dev_id};
	int fd, r = 0;

	fd = socket(AF_BLUETOOTH, SOCK_RAW | SOCK_CLOEXEC, BTPROTO_HCI);
	if (fd < 0) {
		return -errno;
	}
	if (ioctl(fd, HCIGETDEVINFO, &di) < 0) {
		r = -errno;
	} else {
		bacpy(ret_addr, &di.bdaddr);
	}
	close(fd);
	return r;
}

#define CONN_INFO_LEN                                                          \
	(sizeof(struct hci_conn_info_req) + sizeof(struct hci_conn_info))

/* Whether controller @dev_id has an LE link to @peer (-errno on error). */
static int link_up(int dev_id, const bdaddr_t *peer)
{
	struct sockaddr_hci a = {
	    .hci_family = AF_BLUETOOTH,
	    .hci_dev = dev_id,
	    .hci_channel = HCI_CHANNEL_RAW,
	};
	/* The request is followed by room for the one answer. */
	uint8_t buf[CONN_INFO_LEN] __attribute__((aligned(8))) = {0};
	struct hci_conn_info_req *req = (struct hci_conn_info_req *)buf;
	int fd, r;

	fd = socket(AF_BLUETOOTH, SOCK_RAW | SOCK_CLOEXEC, BTPROTO_HCI);
	if (fd < 0) {
		return -errno;
	}
	bacpy(&req->bdaddr, peer);
	req->type = SMOKE_LE_LINK;
	/* HCIGETCONNINFO looks at the device the socket is bound to. */
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		r = -errno;
	} else if (ioctl(fd, HCIGETCONNINFO, req) < 0) {
		r = errno == ENOENT ? 0 : -errno;
	} else {
		r = 1;
	}
	close(fd);
	return r;
}

static void fill(uint8_t *buf, size_t from, size_t len, uint32_t seq)
{
	for (size_t i = from; i < len; i++) {
		buf[i] = (uint8_t)(seq * 7 + i);
	}
}

static bool intact(const uint8_t *buf, size_t from, size_t len, uint32_t seq)
{
	for (size_t i = from; i < len; i++) {
		if (buf[i] != (uint8_t)(seq * 7 + i)) {
			return false;
		}
	}
	return true;
}

/* An option's value, or -errno (the values read here are never negative). */
static int opt_int(int fd, int level, int name)
{
	uint16_t v16 = 0;
	int v = 0;
	socklen_t len;

	/* BT_SNDMTU/BT_RCVMTU are u16 in the kernel (l2cap_sock.c). */
	if (level == SOL_BLUETOOTH &&
	    (name == BT_SNDMTU || name == BT_RCVMTU)) {
		len = sizeof(v16);
		if (getsockopt(fd, level, name, &v16, &len) < 0) {
			return -errno;
		}
		return v16;
	}
	len = sizeof(v);
	if (getsockopt(fd, level, name, &v, &len) < 0) {
		return -errno;
	}
	return v;
}

static int security_level(int fd)
{
	struct bt_security sec = {0};
	socklen_t len = sizeof(sec);

	if (getsockopt(fd, SOL_BLUETOOTH, BT_SECURITY, &sec, &len) < 0) {
		return -errno;
	}
	return sec.level;
}

/*
 * An L2CAP socket bound to a controller's LE public address, with the
 * options ttws sets. Order matters: BT_RCVMTU is accepted only once bind()
 * made the channel LE.
 */
static int l2_socket(const bdaddr_t *src, uint16_t psm, uint16_t imtu,
		     int flags)
{
	struct sockaddr_l2 a = {
	    .l2_family = AF_BLUETOOTH,
	    .l2_psm = htobs(psm),
	    .l2_bdaddr_type = BDADDR_LE_PUBLIC,
	};
	struct bt_security sec = {.level = BT_SECURITY_LOW};
	int fd, r;

	fd = socket(AF_BLUETOOTH, SOCK_SEQPACKET | SOCK_CLOEXEC | flags,
		    BTPROTO_L2CAP);
	if (fd < 0) {
		return -errno;
	}
	bacpy(&a.l2_bdaddr, src);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    setsockopt(fd, SOL_BLUETOOTH, BT_SECURITY, &sec, sizeof(sec)) < 0 ||
	    setsockopt(fd, SOL_BLUETOOTH, BT_RCVMTU, &imtu, sizeof(imtu)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* Options that live on the connected socket (not inherited by accept). */
static int l2_connected_options(int fd)
{
	int prio = PRIORITY, one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_PRIORITY, &prio, sizeof(prio)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0) {
		return -errno;
	}
	return 0;
}

/* recvmsg() that also says whether SCM_TIMESTAMPNS came with the data. */
static ssize_t recv_stamped(int fd, void *buf, size_t len, int flags,
			    struct timespec *ret_ts)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec)) * 4];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {buf, len};
	struct msghdr msg = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = ctl.buf,
	    .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c;
	ssize_t n;

	ret_ts->tv_sec = ret_ts->tv_nsec = 0;
	n = recvmsg(fd, &msg, flags);
	if (n < 0) {
		return -errno;
	}
	if (msg.msg_flags & MSG_TRUNC) {
		return -EMSGSIZE;
	}
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_TIMESTAMPNS) {
			memcpy(ret_ts, CMSG_DATA(c), sizeof(*ret_ts));
		}
	}
	return n;
}

/* ---- the earbud side (a child process) ---- */

static void peer_serve(int lfd, const char *name)
{
	uint8_t in[MTU_PEER], out[MTU_CENTRAL];

	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		struct pong p = {.magic = MAGIC_PONG, .pid = getpid()};
		int v;

		if (fd < 0) {
			fprintf(stderr, "smoke[%s]: accept: %m\n", name);
			_exit(1);
		}
		if (l2_connected_options(fd) < 0) {
			fprintf(stderr, "smoke[%s]: options: %m\n", name);
		}
		v = opt_int(fd, SOL_BLUETOOTH, BT_RCVMTU);
		p.rcvmtu = v < 0 ? 0 : v;
		v = opt_int(fd, SOL_BLUETOOTH, BT_SNDMTU);
		p.sndmtu = v < 0 ? 0 : v;
		p.priority = opt_int(fd, SOL_SOCKET, SO_PRIORITY);
		v = security_level(fd);
		p.security = v < 0 ? 0xff : v;
		for (;;) {
			struct timespec ts;
			struct ping q;
			ssize_t n = recv_stamped(fd, in, sizeof(in), 0, &ts);
			size_t len;

			if (n <= 0) {
				/* The host closed: wait for the next one. */
				break;
			}
			if ((size_t)n < sizeof(q)) {
				continue;
			}
			memcpy(&q, in, sizeof(q));
			if (q.magic != MAGIC_PING) {
				continue;
			}
			p.seq = q.seq;
			p.rx_tstamp = ts.tv_sec != 0 || ts.tv_nsec != 0;
			p.rx_intact = intact(in, sizeof(q), n, q.seq);
			len = q.reply_len;
			if (len < sizeof(p) || len > sizeof(out)) {
				len = sizeof(p);
			}
			memcpy(out, &p, sizeof(p));
			fill(out, sizeof(p), len, q.seq);
			if (send(fd, out, len, 0) < 0) {
				break;
			}
		}
		close(fd);
	}
}

/* Forks the earbud; returns once it listens. */
static int peer_start(struct peer *pr)
{
	int pipefd[2], lfd;
	char ok;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		return -errno;
	}
	if (pid == 0) {
		/* Never outlive the test, whatever happens to the parent. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(pipefd[0]);
		lfd = l2_socket(&pr->addr, pr->psm, MTU_PEER, 0);
		if (lfd < 0 || listen(lfd, 1) < 0) {
			fprintf(stderr,
				"smoke[%s]: listen on hci%d psm 0x%04x: %s\n",
				pr->name, pr->dev_id, pr->psm,
				strerror(lfd < 0 ? -lfd : errno));
			_exit(1);
		}
		if (write(pipefd[1], "r", 1) != 1) {
			_exit(1);
		}
		close(pipefd[1]);
		peer_serve(lfd, pr->name);
		_exit(0);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &ok, 1) != 1) {
		close(pipefd[0]);
		waitpid(pid, NULL, 0);
		return -EIO;
	}
	close(pipefd[0]);
	pr->pid = pid;
	return 0;
}

static void peer_kill(struct peer *pr)
{
	if (pr->pid > 0) {
		kill(pr->pid, SIGKILL);
		waitpid(pr->pid, NULL, 0);
		pr->pid = 0;
	}
}

/* ---- the host side ---- */

static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = events};
	int r;

	do {
		r = poll(&p, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		return -errno;
	}
	return r == 0 ? -ETIMEDOUT : p.revents;
}

static int connect_start(const bdaddr_t *central, const struct peer *pr)
{
	struct sockaddr_l2 a = {
	    .l2_family = AF_BLUETOOTH,
	    .l2_psm = htobs(pr->psm),
	    .l2_bdaddr_type = BDADDR_LE_PUBLIC,
	};
	int fd, r;

	fd = l2_socket(central, 0, MTU_CENTRAL, SOCK_NONBLOCK);
	if (fd < 0) {
		return fd;
	}
	bacpy(&a.l2_bdaddr, &pr->addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 &&
	    errno != EINPROGRESS) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int connect_finish(int fd, int timeout_ms)
{
	int err = 0, r;
	socklen_t len = sizeof(err);

	r = wait_fd(fd, POLLOUT, timeout_ms);
	if (r < 0) {
		return r;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
		return -errno;
	}
	return -err;
}

static void read_back(struct peer *pr)
{
	pr->rcvmtu = opt_int(pr->fd, SOL_BLUETOOTH, BT_RCVMTU);
	pr->sndmtu = opt_int(pr->fd, SOL_BLUETOOTH, BT_SNDMTU);
	pr->priority = opt_int(pr->fd, SOL_SOCKET, SO_PRIORITY);
	pr->security = security_level(pr->fd);
}

/*
 * Connects the host to @pr, retrying until @deadline_ns (the earbud may not
 * advertise yet). Returns the number of attempts or -errno.
 */
static int connect_peer(const bdaddr_t *central, struct peer *pr,
			uint64_t deadline_ns)
{
	uint64_t start = now_ns(CLOCK_MONOTONIC);
	int attempt = 0, fd, r;

	pr->fd = -1;
	for (;;) {
		pr->attempts = ++attempt;
		fd = connect_start(central, pr);
		r = fd < 0 ? fd : connect_finish(fd, CONNECT_TIMEOUT_MS);
		if (r == 0) {
			break;
		}
		fprintf(stderr, "smoke: connect %s (attempt %d): %s\n",
			pr->name, attempt, strerror(-r));
		if (fd >= 0) {
			close(fd);
		}
		if (now_ns(CLOCK_MONOTONIC) > deadline_ns) {
			return r;
		}
		sleep_ms(200);
	}
	r = l2_connected_options(fd);
	if (r < 0) {
		fail("%s: SO_PRIORITY/SO_TIMESTAMPNS: %s", pr->name,
		     strerror(-r));
	}
	pr->fd = fd;
	pr->opened = true;
	pr->connect_ns = now_ns(CLOCK_MONOTONIC) - start;
	read_back(pr);
	return attempt;
}

/* One ping/pong of the given sizes; updates @pr's statistics. */
static int exchange(struct peer *pr, uint32_t seq, size_t ping_len,
		    size_t pong_len)
{
	uint8_t out[MTU_PEER], in[MTU_CENTRAL];
	struct ping q = {
	    .magic = MAGIC_PING, .seq = seq, .reply_len = (uint16_t)pong_len};
	struct timespec ts;
	uint64_t t0, rtt;
	ssize_t n;
	int r;

	memcpy(out, &q, sizeof(q));
	fill(out, sizeof(q), ping_len, seq);
	pr->last_send_ns = (int64_t)now_ns(CLOCK_REALTIME);
	t0 = now_ns(CLOCK_MONOTONIC);
	if (send(pr->fd, out, ping_len, 0) < 0) {
		r = -errno;
		goto fail;
	}
	for (;;) {
		r = wait_fd(pr->fd, POLLIN, REPLY_TIMEOUT_MS);
		if (r < 0) {
			goto fail;
		}
		n = recv_stamped(pr->fd, in, sizeof(in), MSG_DONTWAIT, &ts);
		if (n == -EAGAIN) {
			continue;
		}
		if (n <= 0) {
			r = n == 0 ? -ECONNRESET : (int)n;
			goto fail;
		}
		if ((size_t)n >= sizeof(pr->far) &&
		    ((struct pong *)in)->seq == seq) {
			break;
		}
	}
	rtt = now_ns(CLOCK_MONOTONIC) - t0;
	memcpy(&pr->far, in, sizeof(pr->far));
	if (pr->far.magic != MAGIC_PONG || (size_t)n != pong_len ||
	    !intact(in, sizeof(pr->far), n, seq) || !pr->far.rx_intact) {
		pr->far_corrupt++;
	}
	if (ts.tv_sec == 0 && ts.tv_nsec == 0) {
		pr->rx_tstamp_missing++;
	} else {
		int64_t age = (int64_t)now_ns(CLOCK_REALTIME) -
			      ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);

		if (age > pr->tstamp_age_max_ns) {
			pr->tstamp_age_max_ns = age;
		}
	}
	if (!pr->far.rx_tstamp) {
		pr->far_tstamp_missing++;
	}
	if (pr->rtt_min_ns == 0 || rtt < pr->rtt_min_ns) {
		pr->rtt_min_ns = rtt;
	}
	if (rtt > pr->rtt_max_ns) {
		pr->rtt_max_ns = rtt;
	}
	pr->exchanged++;
	return 0;
fail:
	pr->exchange_errors++;
	fprintf(stderr, "smoke: %s seq %" PRIu32 ": %s\n", pr->name, seq,
		strerror(-r));
	return r;
}

/* Sizes from the bare header up to the full MTU, both directions. */
static int exchange_rounds(struct peer *pr, uint32_t *seq, int rounds)
{
	static const size_t ping_len[] = {sizeof(struct ping), 100, MTU_PEER};
	static const size_t pong_len[] = {MTU_CENTRAL, sizeof(struct pong),
					  251};
	int ok = 0;

	for (int i = 0; i < rounds; i++) {
		int k = i % 3;

		if (exchange(pr, (*seq)++, ping_len[k], pong_len[k]) == 0) {
			ok++;
		}
	}
	return ok;
}

/*
 * The TX timestamp probe: what the error queue of an L2CAP LE CoC socket
 * brings back (tests/vm/README.md, "What the guest has"). TX_PROBE_ONE
 * pings go one at a time (each waits for its pong), then TX_PROBE_BURST
 * back to back; the first and the last one-at-a-time pings fill the MTU,
 * so the SDU spans several LE frames.
 */
#define TX_PROBE_ONE 4
#define TX_PROBE_BURST 2
#define TX_PROBE_SENDS (TX_PROBE_ONE + TX_PROBE_BURST)
#define TX_PROBE_MSGS 32
#define TX_PROBE_WAIT_MS 1000

struct tx_msg {
	int len;   /* recvmsg(MSG_ERRQUEUE)'s return: payload bytes */
	int flags; /* msg_flags */
	int n_cmsg;
	int cmsg[4][3]; /* level, type, cmsg_len, in order */
	bool has_ee;	/* a sock_extended_err came with it */
	struct sock_extended_err ee;
	bool has_ts;	 /* SCM_TIMESTAMPING came with it */
	int64_t ts_ns;	 /* its ts[0] (software), CLOCK_REALTIME */
	bool has_tsns;	 /* SCM_TIMESTAMPNS came too (SO_TIMESTAMPNS is on) */
	int64_t tsns_ns; /* its value */
};

struct tx_probe {
	bool completion_flag; /* SO_TIMESTAMPING took TX_COMPLETION */
	int completion_errno;
	bool software_flag; /* ... took TX_SOFTWARE */
	int reports;	    /* error-queue messages */
	unsigned types;	    /* bit n: SCM_TSTAMP type n was reported */
	int sends;	    /* send() calls made with timestamping on */
	size_t send_len[TX_PROBE_SENDS];
	int64_t send_ns[TX_PROBE_SENDS]; /* just before send(), REALTIME */
	/* poll() revents with events = 0: before the first send, once the
	 * stamps are queued (before any read) and after the queue is drained */
	int revents_idle, revents_queued, revents_drained;
	int queued_wait_us; /* how long after the last pong POLLERR came */
	int so_error_after; /* SO_ERROR once drained */
	int n_msg;
	struct tx_msg msg[TX_PROBE_MSGS];
};

/* poll() with no events asked: only POLLERR/POLLHUP/POLLNVAL can come. */
static int revents_now(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = 0};

	if (poll(&p, 1, timeout_ms) < 0) {
		return -errno;
	}
	return p.revents;
}

static int tx_probe_read(int fd, struct tx_msg *m)
{
	union {
		char buf[512];
		struct cmsghdr align;
	} ctl;
	uint8_t data[MTU_PEER];
	struct iovec iov = {data, sizeof(data)};
	struct msghdr msg = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = ctl.buf,
	    .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c;
	ssize_t n;

	memset(m, 0, sizeof(*m));
	n = recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
	if (n < 0) {
		return -errno;
	}
	m->len = (int)n;
	m->flags = msg.msg_flags;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (m->n_cmsg < 4) {
			m->cmsg[m->n_cmsg][0] = c->cmsg_level;
			m->cmsg[m->n_cmsg][1] = c->cmsg_type;
			m->cmsg[m->n_cmsg][2] = (int)c->cmsg_len;
			m->n_cmsg++;
		}
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_TIMESTAMPNS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			m->has_tsns = true;
			m->tsns_ns =
			    (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		} else if (c->cmsg_level == SOL_SOCKET &&
			   c->cmsg_type == SO_TIMESTAMPING &&
			   c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			m->has_ts = true;
			m->ts_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		} else if (c->cmsg_level != SOL_SOCKET &&
			   c->cmsg_len >= CMSG_LEN(sizeof(m->ee))) {
			memcpy(&m->ee, CMSG_DATA(c), sizeof(m->ee));
			m->has_ee = true;
		}
	}
	return 0;
}

/* TX_PROBE_BURST pings back to back, then their pongs. */
static void tx_probe_burst(struct peer *pr, uint32_t *seq, struct tx_probe *ret)
{
	uint8_t out[sizeof(struct ping)], in[MTU_CENTRAL];
	uint32_t first = *seq;
	int got = 0;

	for (int i = 0; i < TX_PROBE_BURST; i++) {
		struct ping q = {.magic = MAGIC_PING,
				 .seq = (*seq)++,
				 .reply_len = sizeof(struct pong)};

		memcpy(out, &q, sizeof(q));
		ret->send_len[ret->sends] = sizeof(q);
		ret->send_ns[ret->sends] = (int64_t)now_ns(CLOCK_REALTIME);
		if (send(pr->fd, out, sizeof(q), 0) < 0) {
			pr->exchange_errors++;
			fprintf(stderr, "smoke: %s burst send: %m\n", pr->name);
			return;
		}
		ret->sends++;
	}
	while (got < TX_PROBE_BURST) {
		struct timespec ts;
		ssize_t n;

		if (wait_fd(pr->fd, POLLIN, REPLY_TIMEOUT_MS) < 0) {
			pr->exchange_errors++;
			fprintf(stderr, "smoke: %s burst: no pong\n", pr->name);
			return;
		}
		n = recv_stamped(pr->fd, in, sizeof(in), MSG_DONTWAIT, &ts);
		if (n == -EAGAIN) {
			continue;
		}
		if (n < (ssize_t)sizeof(struct pong)) {
			pr->exchange_errors++;
			return;
		}
		if (((struct pong *)in)->seq - first < TX_PROBE_BURST) {
			got++;
			pr->exchanged++;
		}
	}
}

/*
 * Asks for TX timestamps on the channel (SND and, on 6.15+, COMPLETION:
 * the controller reported the packet sent, Number of Completed Packets),
 * sends TX_PROBE_SENDS pings and records everything the error queue and
 * poll() say about them.
 */
static void tx_probe(struct peer *pr, uint32_t *seq, struct tx_probe *ret)
{
	static const size_t one_len[TX_PROBE_ONE] = {
	    MTU_PEER, sizeof(struct ping), 100, MTU_PEER};
	unsigned base = SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID |
			SOF_TIMESTAMPING_OPT_TSONLY |
			SOF_TIMESTAMPING_TX_SOFTWARE;
	unsigned flags = base | SOF_TIMESTAMPING_TX_COMPLETION;
	unsigned zero = 0;
	int expect, r;
	socklen_t len;
	uint64_t t0, until;

	memset(ret, 0, sizeof(*ret));
	ret->completion_flag = setsockopt(pr->fd, SOL_SOCKET, SO_TIMESTAMPING,
					  &flags, sizeof(flags)) == 0;
	if (!ret->completion_flag) {
		ret->completion_errno = errno;
		ret->software_flag =
		    setsockopt(pr->fd, SOL_SOCKET, SO_TIMESTAMPING, &base,
			       sizeof(base)) == 0;
	} else {
		ret->software_flag = true;
	}
	ret->revents_idle = revents_now(pr->fd, 0);
	for (int i = 0; i < TX_PROBE_ONE; i++) {
		ret->send_len[ret->sends] = one_len[i];
		if (exchange(pr, (*seq)++, one_len[i], sizeof(struct pong)) ==
		    0) {
			ret->send_ns[ret->sends] = pr->last_send_ns;
		}
		ret->sends++;
	}
	tx_probe_burst(pr, seq, ret);
	/* A SND and a COMPLETION per send() when the kernel has both. */
	expect = ret->sends * (ret->completion_flag ? 2 : 1);
	t0 = now_ns(CLOCK_MONOTONIC);
	ret->revents_queued = revents_now(pr->fd, TX_PROBE_WAIT_MS);
	ret->queued_wait_us = (int)((now_ns(CLOCK_MONOTONIC) - t0) / 1000);
	/* Every ping was answered: its stamps are due, or never come. */
	until = now_ns(CLOCK_MONOTONIC) + 300000000ull;
	while (ret->n_msg < TX_PROBE_MSGS && ret->n_msg < expect) {
		struct tx_msg *m = &ret->msg[ret->n_msg];
		uint64_t now = now_ns(CLOCK_MONOTONIC);

		r = tx_probe_read(pr->fd, m);
		if (r == -EAGAIN) {
			if (now >= until) {
				break;
			}
			revents_now(pr->fd, (int)((until - now) / 1000000) + 1);
			continue;
		}
		if (r < 0) {
			fprintf(stderr, "smoke: MSG_ERRQUEUE: %s\n",
				strerror(-r));
			break;
		}
		ret->n_msg++;
		ret->reports++;
		if (m->has_ee && m->ee.ee_origin == SO_EE_ORIGIN_TIMESTAMPING &&
		    m->ee.ee_info < 32) {
			ret->types |= 1u << m->ee.ee_info;
		}
	}
	/* Anything beyond what was expected (it would show in the JSON). */
	sleep_ms(50);
	while (ret->n_msg < TX_PROBE_MSGS &&
	       tx_probe_read(pr->fd, &ret->msg[ret->n_msg]) == 0) {
		ret->n_msg++;
		ret->reports++;
	}
	ret->revents_drained = revents_now(pr->fd, 0);
	len = sizeof(ret->so_error_after);
	if (getsockopt(pr->fd, SOL_SOCKET, SO_ERROR, &ret->so_error_after,
		       &len) < 0) {
		ret->so_error_after = -errno;
	}
	setsockopt(pr->fd, SOL_SOCKET, SO_TIMESTAMPING, &zero, sizeof(zero));
}

/* The send() index a stamp is for, or -1 (OPT_ID: ee_data counts sends). */
static int tx_stamp_send(const struct tx_probe *tx, const struct tx_msg *m)
{
	if (!m->has_ee || m->ee.ee_origin != SO_EE_ORIGIN_TIMESTAMPING ||
	    m->ee.ee_data >= (uint32_t)tx->sends) {
		return -1;
	}
	return (int)m->ee.ee_data;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/*
 * The probe as JSON (the members of "tx_timestamping"): each error-queue
 * message with its cmsgs (level, type, len) and sock_extended_err, times
 * in µs from the first send(); per send() how many SND and COMPLETION
 * stamps came and the delays send→SND and SND→COMPLETION.
 */
static void print_tx_probe(const struct tx_probe *tx)
{
	int64_t t0 = tx->sends ? tx->send_ns[0] : 0;
	int64_t delay[TX_PROBE_SENDS];
	int n_delay = 0;
	bool ids_ok = tx->sends > 0;

	printf("\"completion_flag\":%s,\"completion_errno\":\"%s\","
	       "\"software_flag\":%s,\"reports\":%d,"
	       "\"completion_reported\":%s,\"types_mask\":%u,"
	       "\"revents_idle\":%d,\"revents_queued\":%d,"
	       "\"revents_drained\":%d,\"queued_wait_us\":%d,"
	       "\"so_error_after\":%d,\"msgs\":[",
	       tx->completion_flag ? "true" : "false",
	       tx->completion_errno ? strerrorname_np(tx->completion_errno)
				    : "",
	       tx->software_flag ? "true" : "false", tx->reports,
	       tx->types & (1u << SMOKE_TSTAMP_COMPLETION) ? "true" : "false",
	       tx->types, tx->revents_idle, tx->revents_queued,
	       tx->revents_drained, tx->queued_wait_us, tx->so_error_after);
	for (int i = 0; i < tx->n_msg; i++) {
		const struct tx_msg *m = &tx->msg[i];

		printf("%s{\"len\":%d,\"flags\":%d,\"cmsgs\":[", i ? "," : "",
		       m->len, m->flags);
		for (int k = 0; k < m->n_cmsg; k++) {
			printf("%s[%d,%d,%d]", k ? "," : "", m->cmsg[k][0],
			       m->cmsg[k][1], m->cmsg[k][2]);
		}
		printf("]");
		if (m->has_ee) {
			printf(",\"ee_errno\":%u,\"ee_origin\":%u,"
			       "\"ee_type\":%u,\"ee_code\":%u,"
			       "\"ee_info\":%u,\"ee_data\":%u",
			       m->ee.ee_errno, m->ee.ee_origin, m->ee.ee_type,
			       m->ee.ee_code, m->ee.ee_info, m->ee.ee_data);
		}
		if (m->has_ts) {
			printf(",\"t_us\":%.1f", (m->ts_ns - t0) / 1e3);
		}
		if (m->has_ts && m->has_tsns) {
			printf(",\"timestampns_minus_t_ns\":%" PRId64,
			       m->tsns_ns - m->ts_ns);
		}
		printf("}");
	}
	printf("],\"sends\":[");
	for (int s = 0; s < tx->sends; s++) {
		int n_snd = 0, n_cpl = 0, n_other = 0;
		int64_t snd = 0, cpl = 0;

		for (int i = 0; i < tx->n_msg; i++) {
			const struct tx_msg *m = &tx->msg[i];

			if (tx_stamp_send(tx, m) != s) {
				continue;
			}
			if (m->ee.ee_info == SCM_TSTAMP_SND) {
				n_snd++;
				snd = m->ts_ns;
			} else if (m->ee.ee_info == SMOKE_TSTAMP_COMPLETION) {
				n_cpl++;
				cpl = m->ts_ns;
			} else {
				n_other++;
			}
		}
		printf("%s{\"len\":%zu,\"t_us\":%.1f,\"snd\":%d,"
		       "\"completion\":%d,\"other\":%d",
		       s ? "," : "", tx->send_len[s],
		       (tx->send_ns[s] - t0) / 1e3, n_snd, n_cpl, n_other);
		if (n_snd == 1) {
			printf(",\"send_to_snd_us\":%.1f",
			       (snd - tx->send_ns[s]) / 1e3);
		}
		if (n_snd == 1 && n_cpl == 1) {
			printf(",\"snd_to_completion_us\":%.1f",
			       (cpl - snd) / 1e3);
			delay[n_delay++] = cpl - snd;
		}
		printf("}");
		if (n_snd != 1 || n_other ||
		    n_cpl != (tx->completion_flag ? 1 : 0)) {
			ids_ok = false;
		}
	}
	for (int i = 0; i < tx->n_msg; i++) {
		if (tx_stamp_send(tx, &tx->msg[i]) < 0) {
			ids_ok = false;
		}
	}
	qsort(delay, n_delay, sizeof(delay[0]), cmp_i64);
	printf("],\"one_snd_one_completion_per_send\":%s",
	       ids_ok ? "true" : "false");
	if (n_delay) {
		printf(",\"snd_to_completion_us\":{\"min\":%.1f,"
		       "\"median\":%.1f,\"max\":%.1f}",
		       delay[0] / 1e3, delay[n_delay / 2] / 1e3,
		       delay[n_delay - 1] / 1e3);
	}
}

/* Waits for the host's end of a channel whose earbud died to notice. */
static int wait_hangup(int fd, int timeout_ms, uint64_t *ret_ns)
{
	uint64_t t0 = now_ns(CLOCK_MONOTONIC);
	uint8_t buf[MTU_CENTRAL];

	for (;;) {
		uint64_t spent = (now_ns(CLOCK_MONOTONIC) - t0) / 1000000;
		ssize_t n;
		int r;

		if (spent >= (uint64_t)timeout_ms) {
			return -ETIMEDOUT;
		}
		r = wait_fd(fd, POLLIN, timeout_ms - (int)spent);
		if (r < 0) {
			return r;
		}
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			*ret_ns = now_ns(CLOCK_MONOTONIC) - t0;
			return n == 0 ? 0 : -errno;
		}
	}
}

static void print_peer(const struct peer *pr, int rounds)
{
	char a[18];

	addr_str(&pr->addr, a);
	printf("\"%s\":{\"hci\":%d,\"addr\":\"%s\",\"psm\":%u,"
	       "\"open\":%s,\"attempts\":%d,\"connect_ms\":%.1f,"
	       "\"rcvmtu\":%d,\"sndmtu\":%d,\"priority\":%d,\"security\":%d,"
	       "\"peer_rcvmtu\":%u,\"peer_sndmtu\":%u,\"peer_priority\":%d,"
	       "\"peer_security\":%u,\"exchanged\":%d,\"expected\":%d,"
	       "\"errors\":%d,\"corrupt\":%d,\"rx_tstamp_missing\":%d,"
	       "\"peer_rx_tstamp_missing\":%d,\"tstamp_age_max_us\":%.1f,"
	       "\"rtt_us\":{\"min\":%.1f,\"max\":%.1f}}",
	       pr->name, pr->dev_id, a, pr->psm, pr->opened ? "true" : "false",
	       pr->attempts, pr->connect_ns / 1e6, pr->rcvmtu, pr->sndmtu,
	       pr->priority, pr->security, pr->far.rcvmtu, pr->far.sndmtu,
	       pr->far.priority, pr->far.security, pr->exchanged, rounds,
	       pr->exchange_errors, pr->far_corrupt, pr->rx_tstamp_missing,
	       pr->far_tstamp_missing, pr->tstamp_age_max_ns / 1e3,
	       pr->rtt_min_ns / 1e3, pr->rtt_max_ns / 1e3);
}

static void check_peer(const struct peer *pr, int expected)
{
	if (!pr->opened) {
		fail("%s: channel not open", pr->name);
		return;
	}
	if (pr->rcvmtu != MTU_CENTRAL || pr->sndmtu != MTU_PEER) {
		fail("%s: host MTU rx %d tx %d, configured rx %d tx %d",
		     pr->name, pr->rcvmtu, pr->sndmtu, MTU_CENTRAL, MTU_PEER);
	}
	if (pr->far.rcvmtu != MTU_PEER || pr->far.sndmtu != MTU_CENTRAL) {
		fail("%s: earbud MTU rx %u tx %u, configured rx %d tx %d",
		     pr->name, pr->far.rcvmtu, pr->far.sndmtu, MTU_PEER,
		     MTU_CENTRAL);
	}
	if (pr->priority != PRIORITY || pr->far.priority != PRIORITY) {
		fail("%s: SO_PRIORITY reads %d (host) %d (earbud), set %d",
		     pr->name, pr->priority, pr->far.priority, PRIORITY);
	}
	if (pr->security != BT_SECURITY_LOW ||
	    pr->far.security != BT_SECURITY_LOW) {
		fail("%s: BT_SECURITY reads %d (host) %u (earbud), set %d",
		     pr->name, pr->security, pr->far.security, BT_SECURITY_LOW);
	}
	if (pr->exchanged != expected || pr->exchange_errors) {
		fail("%s: %d of %d exchanges, %d errors", pr->name,
		     pr->exchanged, expected, pr->exchange_errors);
	}
	if (pr->far_corrupt) {
		fail("%s: %d datagrams corrupted", pr->name, pr->far_corrupt);
	}
	if (pr->rx_tstamp_missing || pr->far_tstamp_missing) {
		fail("%s: SCM_TIMESTAMPNS missing on %d (host) %d (earbud) "
		     "datagrams",
		     pr->name, pr->rx_tstamp_missing, pr->far_tstamp_missing);
	}
}

static int parse_index(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 0 || v > HCI_MAX_DEV) {
		fprintf(stderr, "smoke: bad controller index %s\n", s);
		exit(2);
	}
	return (int)v;
}

int main(int argc, char **argv)
{
	struct peer left = {
	    .name = "left", .dev_id = 1, .psm = PSM_LEFT, .fd = -1};
	struct peer right = {
	    .name = "right", .dev_id = 2, .psm = PSM_RIGHT, .fd = -1};
	struct peer after = {.name = "right_after_restart", .fd = -1};
	struct tx_probe tx = {0};
	struct utsname un;
	bdaddr_t central;
	int central_id = 0, r, during, kept_fd;
	uint64_t deadline, hangup_ns = 0, restart_ns = 0, drop_ns = 0;
	bool hangup_seen = false, left_kept = false, link_dropped = false;
	uint32_t seq = 1;
	char ca[18];

	if (argc == 4) {
		central_id = parse_index(argv[1]);
		left.dev_id = parse_index(argv[2]);
		right.dev_id = parse_index(argv[3]);
	} else if (argc != 1) {
		fprintf(stderr, "usage: %s [CENTRAL LEFT RIGHT]\n", argv[0]);
		return 2;
	}
	/* A dead earbud's channel must show up as an error, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	uname(&un);

	if ((r = dev_addr(central_id, &central)) < 0 ||
	    (r = dev_addr(left.dev_id, &left.addr)) < 0 ||
	    (r = dev_addr(right.dev_id, &right.addr)) < 0) {
		fail("HCIGETDEVINFO: %s", strerror(-r));
		goto out;
	}
	if ((r = peer_start(&left)) < 0 || (r = peer_start(&right)) < 0) {
		fail("earbud did not start listening: %s", strerror(-r));
		goto out;
	}

	/*
	 * One after the other, left first: btvirt 5.66 numbers a link's
	 * handle per controller, and only this order lines the numbers up
	 * (see ttws-bt-pad).
	 */
	deadline = now_ns(CLOCK_MONOTONIC) + 30ull * 1000000000u;
	if ((r = connect_peer(&central, &left, deadline)) < 0 ||
	    (r = connect_peer(&central, &right, deadline)) < 0) {
		fail("connect: %s", strerror(-r));
	}
	for (int i = 0; i < ROUNDS; i++) {
		if (left.fd >= 0) {
			exchange_rounds(&left, &seq, 1);
		}
		if (right.fd >= 0) {
			exchange_rounds(&right, &seq, 1);
		}
	}
	check_peer(&left, ROUNDS);
	check_peer(&right, ROUNDS);
	if (left.fd >= 0) {
		tx_probe(&left, &seq, &tx);
		if (!tx.software_flag) {
			fail("SO_TIMESTAMPING not accepted on an L2CAP socket");
		}
	}
	if (left.fd < 0 || right.fd < 0) {
		goto out;
	}

	/*
	 * Kill the right earbud. Its host channel must drop; the left one
	 * must keep answering while the right is away and after it is back.
	 */
	peer_kill(&right);
	r = wait_hangup(right.fd, 10000, &hangup_ns);
	hangup_seen = r == 0 || r == -ECONNRESET || r == -ENOTCONN;
	if (!hangup_seen) {
		fail("right: host channel did not drop after the earbud died: "
		     "%s",
		     strerror(-r));
	}
	close(right.fd);
	right.fd = -1;
	kept_fd = left.fd;
	during = exchange_rounds(&left, &seq, 5);
	/*
	 * With no channel left the kernel drops the LE link after its idle
	 * timeout (HCI_DISCONN_TIMEOUT, 2 s); wait for that so the reconnect
	 * below creates a new link to a re-advertising earbud, as after a
	 * real earbud reset, instead of reusing the old one.
	 */
	drop_ns = now_ns(CLOCK_MONOTONIC);
	for (int i = 0; i < 200; i++) {
		r = link_up(central_id, &right.addr);
		if (r <= 0) {
			break;
		}
		sleep_ms(50);
	}
	drop_ns = now_ns(CLOCK_MONOTONIC) - drop_ns;
	link_dropped = r == 0;
	if (!link_dropped) {
		fail("right: LE link still up %.1f s after its channel closed "
		     "(%s)",
		     drop_ns / 1e9, r < 0 ? strerror(-r) : "up");
	}
	if (link_up(central_id, &left.addr) != 1) {
		fail("left: LE link went down with the right one");
	}
	/* The same earbud (controller, PSM), a new process. */
	after.dev_id = right.dev_id;
	after.psm = right.psm;
	after.addr = right.addr;
	restart_ns = now_ns(CLOCK_MONOTONIC);
	if ((r = peer_start(&after)) < 0) {
		fail("right earbud did not restart: %s", strerror(-r));
		goto out;
	}
	r = connect_peer(&central, &after,
			 now_ns(CLOCK_MONOTONIC) + 30ull * 1000000000u);
	restart_ns = now_ns(CLOCK_MONOTONIC) - restart_ns;
	if (r < 0) {
		fail("right: no reconnect: %s", strerror(-r));
	}
	for (int i = 0; i < ROUNDS; i++) {
		exchange_rounds(&left, &seq, 1);
		if (after.fd >= 0) {
			exchange_rounds(&after, &seq, 1);
		}
	}
	left_kept = during == 5 && left.fd == kept_fd;
	if (!left_kept) {
		fail("left: %d of 5 exchanges while the right was away",
		     during);
	}
	check_peer(&after, ROUNDS);
	check_peer(&left, 2 * ROUNDS + 5 + TX_PROBE_SENDS);

out:
	addr_str(&central, ca);
	printf("{\"ok\":%s,\"kernel\":{\"release\":\"%s\",\"version\":\"%s\"},"
	       "\"config\":{\"mtu_host_rx\":%d,\"mtu_earbud_rx\":%d,"
	       "\"priority\":%d,\"security\":%d,\"addr_type\":\"le_public\"},"
	       "\"central\":{\"hci\":%d,\"addr\":\"%s\"},",
	       failures_n ? "false" : "true", un.release, un.version,
	       MTU_CENTRAL, MTU_PEER, PRIORITY, BT_SECURITY_LOW, central_id,
	       ca);
	print_peer(&left, 2 * ROUNDS + 5 + TX_PROBE_SENDS);
	putchar(',');
	print_peer(&right, ROUNDS);
	printf(",\"tx_timestamping\":{");
	print_tx_probe(&tx);
	printf("},");
	printf("\"reconnect\":{\"peer\":\"right\",\"hangup_seen\":%s,"
	       "\"hangup_ms\":%.1f,\"link_dropped\":%s,\"link_drop_ms\":%.1f,"
	       "\"left_kept_working\":%s,\"reconnected\":%s,"
	       "\"reconnect_ms\":%.1f,",
	       hangup_seen ? "true" : "false", hangup_ns / 1e6,
	       link_dropped ? "true" : "false", drop_ns / 1e6,
	       left_kept ? "true" : "false", after.opened ? "true" : "false",
	       restart_ns / 1e6);
	print_peer(&after, ROUNDS);
	printf("},\"failures\":[%s]}\n", failures);
	peer_kill(&left);
	peer_kill(&right);
	peer_kill(&after);
	return failures_n ? 1 : 0;
}
