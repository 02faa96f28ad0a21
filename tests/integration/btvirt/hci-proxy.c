/* SPDX-License-Identifier: MIT */
/*
 * hci-proxy: an H4 bridge between a host and BlueZ's controller emulator
 * that adds what btvirt lacks and what tests need to break.
 *
 * btvirt answers LE Read Local P-256 Public Key and LE Generate DHKey
 * (Core 5.4, Vol 4, Part E, 7.8.36 and 7.8.37) with "Unknown HCI
 * Command" (emulator/btdev.c, cmd_read_local_pk256 and cmd_gen_dhkey
 * return -ENOTSUP, in 5.66 and in BlueZ master of 2026). The proxy
 * answers those two itself as a controller does: Command Status, then
 * LE Read Local P-256 Public Key Complete (7.7.65.8) with a fresh key
 * pair, or LE Generate DHKey Complete (7.7.65.9) with the shared secret,
 * or status 0x12 for a remote key OpenSSL finds invalid (the Core 5.1
 * rule). The curve arithmetic is OpenSSL's. Everything else passes
 * through, frame by frame; LE Encrypt and LE Rand are btvirt's.
 *
 *   hci-proxy --connect SERVER (--pty LINK | --listen PATH)
 *
 * --pty LINK: one "dongle": a pty in raw mode whose slave LINK points to
 *   (socat's PTY,link=LINK,raw,echo=0), bridged to one connection to
 *   SERVER, that is one emulated controller. LINK is removed at exit:
 *   the dongle vanishes with the proxy, as a USB dongle pulled out.
 * --listen PATH: a unix stream socket; each client gets its own
 *   connection to SERVER (its own controller), as btvirt -s gives.
 *
 * Faults: SIGUSR1 sends the host a Hardware Error event (7.7.16, code
 * 0x42) on every link, once. SIGTERM and SIGINT end the proxy (--pty:
 * the pty goes at once). The proxy ends by itself when SERVER closes its
 * side (--pty mode).
 *
 * btvirt drops a controller's LE links silently when it is reset or
 * destroyed (emulator/btdev.c, btdev_reset() and btdev_destroy() call
 * conn_remove(), which tells neither end), where a real peer would see
 * its supervision timeout and a Disconnection Complete. So at a Hardware
 * Error and at the end, the proxy ends the links it saw come up with an
 * HCI Disconnect of its own, reason Connection Timeout (0x08, what the
 * peer would report), --supervision-ms after the fault (default 500), and
 * keeps the answers from the host.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define MAXLINK 8
#define BUF 65536

/* One end: what came in and is not a whole frame yet, and what waits
 * to go out (the proxy never blocks on one end while the other has
 * something to say). */
struct side {
	int fd;
	uint8_t in[BUF];
	size_t len;
	uint8_t out[BUF];
	size_t out_len;
};

#define MAXCONN 4

struct link {
	struct side host, ctl;
	EVP_PKEY *key; /* the "controller's" P-256 key pair */
	/* LE links up on this controller (from its events). */
	uint16_t conn[MAXCONN];
	unsigned nconn;
	/* Disconnects of our own: their answers stay here. */
	unsigned our_disconnects;
	uint16_t dropped[MAXCONN];
	unsigned ndropped;
};

static struct link links[MAXLINK];
static unsigned nlinks;
static const char *server;
static const char *pty_link;
static unsigned supervision_ms = 500;

static void die(const char *what)
{
	fprintf(stderr, "hci-proxy: %s: %s\n", what, strerror(errno));
	if (pty_link) {
		unlink(pty_link);
	}
	exit(1);
}

static int connect_server(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(server) >= sizeof(a.sun_path)) {
		die("socket");
	}
	strcpy(a.sun_path, server);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		die(server);
	}
	return fd;
}

/* Write what s->out holds, as far as the fd takes it now. */
static void flush(struct side *s)
{
	while (s->out_len > 0) {
		ssize_t k = write(s->fd, s->out, s->out_len);

		if (k < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno != EAGAIN) {
				/* The other end went: nothing to tell it. */
				s->out_len = 0;
			}
			return;
		}
		memmove(s->out, s->out + k, s->out_len - (size_t)k);
		s->out_len -= (size_t)k;
	}
}

/* Queue n octets for s (whole frames: ordering is kept per end). */
static void send_to(struct side *s, const uint8_t *p, size_t n)
{
	while (s->out_len + n > sizeof(s->out)) {
		/* Far behind: wait for room rather than drop a frame. */
		struct pollfd w = { .fd = s->fd, .events = POLLOUT };

		if (poll(&w, 1, 1000) <= 0) {
			s->out_len = 0;
			return;
		}
		flush(s);
	}
	memcpy(s->out + s->out_len, p, n);
	s->out_len += n;
	flush(s);
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		die("fcntl");
	}
}

static void reverse(uint8_t *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		dst[n - 1 - i] = src[i];
	}
}

static void host_event(struct link *l, const uint8_t *p, size_t n)
{
	uint8_t b[260];

	b[0] = 0x04;
	memcpy(b + 1, p, n);
	send_to(&l->host, b, n + 1);
}

static void command_status(struct link *l, uint16_t op, uint8_t status)
{
	uint8_t e[6] = { 0x0f, 4, status, 1, (uint8_t)op, (uint8_t)(op >> 8) };

	host_event(l, e, sizeof(e));
}

/* 7.8.36: a new key pair, its public key in HCI order (X, Y, each least
 * significant octet first). */
static void read_local_p256(struct link *l)
{
	uint8_t pub[65], e[3 + 65] = { 0x3e, 66, 0x08 };
	size_t n = 0;

	command_status(l, 0x2025, 0);
	EVP_PKEY_free(l->key);
	l->key = EVP_EC_gen("P-256");
	if (!l->key ||
	    !EVP_PKEY_get_octet_string_param(l->key, OSSL_PKEY_PARAM_PUB_KEY,
					     pub, sizeof(pub), &n) ||
	    n != 65 || pub[0] != 0x04) {
		e[3] = 0x1f; /* Unspecified Error */
		memset(e + 4, 0, 64);
	} else {
		e[3] = 0;
		reverse(e + 4, pub + 1, 32);
		reverse(e + 36, pub + 33, 32);
	}
	host_event(l, e, sizeof(e));
}

/* 7.8.37: the shared secret with the remote key, or 0x12 for a key that
 * is not a point of the curve. */
static void generate_dhkey(struct link *l, const uint8_t *remote)
{
	uint8_t pub[65], secret[32], e[3 + 33] = { 0x3e, 34, 0x09 };
	EVP_PKEY_CTX *pc = NULL, *dc = NULL;
	EVP_PKEY *peer = NULL;
	OSSL_PARAM params[3];
	size_t n = sizeof(secret);
	int ok = 0;

	command_status(l, 0x2026, 0);
	pub[0] = 0x04;
	reverse(pub + 1, remote, 32);
	reverse(pub + 33, remote + 32, 32);
	params[0] = OSSL_PARAM_construct_utf8_string(
		OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
						      pub, sizeof(pub));
	params[2] = OSSL_PARAM_construct_end();
	pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (l->key && pc && EVP_PKEY_fromdata_init(pc) > 0 &&
	    EVP_PKEY_fromdata(pc, &peer, EVP_PKEY_PUBLIC_KEY, params) > 0) {
		dc = EVP_PKEY_CTX_new(l->key, NULL);
		/* validate_peer = 1: the point must be on the curve. */
		ok = dc && EVP_PKEY_derive_init(dc) > 0 &&
		     EVP_PKEY_derive_set_peer_ex(dc, peer, 1) > 0 &&
		     EVP_PKEY_derive(dc, secret, &n) > 0 && n == 32;
	}
	if (ok) {
		e[3] = 0;
		reverse(e + 4, secret, 32);
	} else {
		e[3] = 0x12; /* Invalid HCI Command Parameters */
		memset(e + 4, 0xff, 32);
	}
	host_event(l, e, sizeof(e));
	EVP_PKEY_CTX_free(dc);
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(peer);
}

/* The length of the H4 frame at p (n octets there), 0 if incomplete,
 * -1 for a type H4 does not have. */
static long frame_len(const uint8_t *p, size_t n)
{
	size_t need;

	if (n < 1) {
		return 0;
	}
	switch (p[0]) {
	case 0x01: /* command: opcode, plen */
		need = n >= 4 ? 4 + (size_t)p[3] : 4;
		break;
	case 0x02: /* ACL: handle, 16-bit length */
	case 0x05: /* ISO: handle, 14-bit length */
		need = n >= 5 ? 5 + (size_t)((p[3] | p[4] << 8) &
					     (p[0] == 0x05 ? 0x3fff : 0xffff)) :
				5;
		break;
	case 0x03: /* SCO */
		need = n >= 4 ? 4 + (size_t)p[3] : 4;
		break;
	case 0x04: /* event */
		need = n >= 3 ? 3 + (size_t)p[2] : 3;
		break;
	default:
		return -1;
	}
	return n >= need ? (long)need : 0;
}

/* The links the controller reports, and the answers to our own
 * disconnects (false: keep the event from the host). */
static bool from_ctl(struct link *l, const uint8_t *f, size_t n)
{
	if (n >= 7 && f[0] == 0x04 && f[1] == 0x0f &&
	    (f[5] | f[6] << 8) == 0x0406 && l->our_disconnects > 0) {
		l->our_disconnects--;
		return false;
	}
	if (n >= 7 && f[0] == 0x04 && f[1] == 0x05) {
		uint16_t h = (uint16_t)((f[4] | f[5] << 8) & 0x0fff);

		for (unsigned i = 0; i < l->nconn; i++) {
			if (l->conn[i] == h) {
				l->conn[i] = l->conn[--l->nconn];
				break;
			}
		}
		for (unsigned i = 0; i < l->ndropped; i++) {
			if (l->dropped[i] == h) {
				l->dropped[i] = l->dropped[--l->ndropped];
				return false;
			}
		}
		return true;
	}
	/* LE (Enhanced) Connection Complete, success. */
	if (n >= 7 && f[0] == 0x04 && f[1] == 0x3e &&
	    (f[3] == 0x01 || f[3] == 0x0a) && f[4] == 0 &&
	    l->nconn < MAXCONN) {
		l->conn[l->nconn++] = (uint16_t)((f[5] | f[6] << 8) & 0x0fff);
	}
	return true;
}

/* End every link of l as a lost one, in supervision_ms. */
static void drop_links(struct link *l)
{
	struct timespec ts = {
		.tv_sec = supervision_ms / 1000,
		.tv_nsec = (long)(supervision_ms % 1000) * 1000000L,
	};

	nanosleep(&ts, NULL);
	for (unsigned i = 0; i < l->nconn; i++) {
		uint8_t c[7] = { 0x01, 0x06, 0x04, 3, (uint8_t)l->conn[i],
				 (uint8_t)(l->conn[i] >> 8), 0x08 };

		send_to(&l->ctl, c, sizeof(c));
		l->our_disconnects++;
		if (l->ndropped < MAXCONN) {
			l->dropped[l->ndropped++] = l->conn[i];
		}
	}
	l->nconn = 0;
}

/* From the host: our two commands, or pass through. */
static void from_host(struct link *l, const uint8_t *f, size_t n)
{
	uint16_t op = n >= 4 && f[0] == 0x01 ? (uint16_t)(f[1] | f[2] << 8) :
					       0;

	if (op == 0x2025 && f[3] == 0) {
		read_local_p256(l);
	} else if (op == 0x2026 && f[3] == 64) {
		generate_dhkey(l, f + 4);
	} else {
		send_to(&l->ctl, f, n);
	}
}

/* Read what s has, pass each whole frame on; false when s closed. */
static bool pump(struct link *l, struct side *s, bool host)
{
	ssize_t k = read(s->fd, s->in + s->len, sizeof(s->in) - s->len);
	size_t off = 0;
	long fl;

	if (k <= 0) {
		return k < 0 && (errno == EAGAIN || errno == EINTR);
	}
	s->len += (size_t)k;
	while ((fl = frame_len(s->in + off, s->len - off)) > 0) {
		if (host) {
			from_host(l, s->in + off, (size_t)fl);
		} else if (from_ctl(l, s->in + off, (size_t)fl)) {
			send_to(&l->host, s->in + off, (size_t)fl);
		}
		off += (size_t)fl;
	}
	if (fl < 0) {
		fprintf(stderr, "hci-proxy: lost H4 framing\n");
		return false;
	}
	memmove(s->in, s->in + off, s->len - off);
	s->len -= off;
	return true;
}

static void link_close(unsigned i)
{
	close(links[i].host.fd);
	close(links[i].ctl.fd);
	EVP_PKEY_free(links[i].key);
	links[i] = links[--nlinks];
}

static int open_pty(const char *link)
{
	char tmp[4096];
	struct termios t;
	const char *name;
	int m, s;

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 ||
	    !(name = ptsname(m))) {
		die("pty");
	}
	/* Raw before anyone writes: no echo, no line editing. The slave
	 * stays open here so that its settings do too. */
	s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0 || tcgetattr(s, &t) < 0) {
		die(name);
	}
	cfmakeraw(&t);
	if (tcsetattr(s, TCSANOW, &t) < 0) {
		die("tcsetattr");
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", link);
	unlink(tmp);
	if (symlink(name, tmp) < 0 || rename(tmp, link) < 0) {
		die(link);
	}
	return m;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(a.sun_path)) {
		die("socket");
	}
	strcpy(a.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 8) < 0) {
		die(path);
	}
	return fd;
}

static void add_link(int host_fd)
{
	if (nlinks == MAXLINK) {
		close(host_fd);
		return;
	}
	memset(&links[nlinks], 0, sizeof(links[nlinks]));
	links[nlinks].host.fd = host_fd;
	links[nlinks].ctl.fd = connect_server();
	set_nonblock(host_fd);
	set_nonblock(links[nlinks].ctl.fd);
	nlinks++;
}

int main(int argc, char **argv)
{
	const char *listen_path = NULL;
	int lfd = -1, sfd;
	sigset_t sigs;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--connect")) {
			server = argv[i + 1];
		} else if (!strcmp(argv[i], "--pty")) {
			pty_link = argv[i + 1];
		} else if (!strcmp(argv[i], "--listen")) {
			listen_path = argv[i + 1];
		} else if (!strcmp(argv[i], "--supervision-ms")) {
			supervision_ms = (unsigned)atoi(argv[i + 1]);
		}
	}
	if (!server || !pty_link == !listen_path) {
		fprintf(stderr, "usage: hci-proxy --connect SERVER "
				"(--pty LINK | --listen PATH)\n");
		return 2;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0) {
		die("signalfd");
	}
	if (pty_link) {
		add_link(open_pty(pty_link));
	} else {
		lfd = listen_unix(listen_path);
	}
	printf("hci-proxy: ready\n");
	fflush(stdout);
	for (;;) {
		struct pollfd p[2 + 2 * MAXLINK];
		unsigned n = 0;

		p[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (unsigned i = 0; i < nlinks; i++) {
			struct link *l = &links[i];
			short hw = l->host.out_len ? POLLOUT : 0;
			short cw = l->ctl.out_len ? POLLOUT : 0;

			p[n++] = (struct pollfd){ .fd = l->host.fd,
						  .events = POLLIN | hw };
			p[n++] = (struct pollfd){ .fd = l->ctl.fd,
						  .events = POLLIN | cw };
		}
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR) {
				continue;
			}
			die("poll");
		}
		if (p[0].revents) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) != sizeof(si)) {
				continue;
			}
			if (si.ssi_signo != SIGUSR1) {
				break;
			}
			for (unsigned i = 0; i < nlinks; i++) {
				/* 7.7.16: Hardware Error, code 0x42; the
				 * controller's links are lost with it. */
				host_event(&links[i],
					   (const uint8_t[]){ 0x10, 1, 0x42 },
					   3);
				drop_links(&links[i]);
			}
			continue;
		}
		if (lfd >= 0 && p[1].revents) {
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (c >= 0) {
				add_link(c);
			}
			continue;
		}
		for (unsigned i = 0; i < nlinks; i++) {
			struct pollfd *h = &p[2 + 2 * i], *c = h + 1;
			bool alive = true;

			if (h->revents & POLLOUT) {
				flush(&links[i].host);
			}
			if (c->revents & POLLOUT) {
				flush(&links[i].ctl);
			}
			/* The slave stays open here: a pty master sees no
			 * hang-up when the host closes and reopens it. */
			if (h->revents & POLLIN) {
				alive = pump(&links[i], &links[i].host, true);
			}
			if (alive && (c->revents & (POLLIN | POLLHUP))) {
				alive = pump(&links[i], &links[i].ctl, false);
				if (!alive && pty_link) {
					/* The controller is gone: so is the
					 * dongle. */
					unlink(pty_link);
					return 0;
				}
			}
			if (!alive) {
				link_close(i);
				break;
			}
		}
		if (pty_link && nlinks == 0) {
			break;
		}
	}
	/* The dongle is gone for the host now; its links end for their
	 * peers a supervision timeout later. */
	if (pty_link) {
		unlink(pty_link);
	}
	for (unsigned i = 0; i < nlinks; i++) {
		close(links[i].host.fd);
	}
	for (unsigned i = 0; i < nlinks; i++) {
		drop_links(&links[i]);
		supervision_ms = 0;
	}
	/* Let btvirt take them before the socket closes. */
	for (unsigned i = 0; i < nlinks; i++) {
		struct pollfd w = { .fd = links[i].ctl.fd, .events = POLLOUT };

		while (links[i].ctl.out_len > 0 && poll(&w, 1, 500) > 0) {
			flush(&links[i].ctl);
		}
	}
	usleep(100000);
	if (listen_path) {
		unlink(listen_path);
	}
	return 0;
}
