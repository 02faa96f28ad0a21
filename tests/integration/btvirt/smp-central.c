/* SPDX-License-Identifier: MIT */
/*
 * smp-central: core/hcihost as an LE central with security on, against
 * any peripheral that serves an L2CAP LE credit-based channel on a PSM
 * and echoes what it gets (the Bumble peer of smp-bumble.sh).
 *
 *   smp-central CONTROLLER_SOCKET PEER_ADDRESS public|random PSM ROUNDS
 *
 * CONTROLLER_SOCKET: an H4 stream socket (btvirt's, through hci-proxy for
 * the P-256 commands). Each round: connect, secure the link (pair the
 * first time, then the bond from the first round), open the channel,
 * send 10 SDUs and check their echoes, close. Prints one JSON line per
 * security event and per round, and a last line with what it saw:
 *
 *   {"rounds":N,"pairings":P,"bonded_encryptions":B,"failures":F,
 *    "echoes":E,"ltk":"HEX","local":"AA:..","key_size":16}
 *
 * ltk in HCI order (least significant octet first), as the bond file.
 * Exit 0 when every round echoed; 1 otherwise. A test driver: it polls,
 * reads the clock and prints.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/hcihost.h"
#include "core/smp_bond.h"

#define SEC UINT64_C(1000000000)
#define N_ECHO 10

static struct hcihost *h;
static int fd = -1;
static bool ready, is_open;
static struct hci_bdaddr local, peer;
static uint8_t peer_type;
static struct smp_bond bond;
static bool have_bond;
static unsigned pairings, bonded, failures, echoes, closes, sec_paired;
static int last_close;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "smp-central: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static int cb_write(void *u, const uint8_t *frame, size_t len)
{
	(void)u;
	while (len > 0) {
		ssize_t k = write(fd, frame, len);

		if (k < 0 && errno == EINTR) {
			continue;
		}
		if (k < 0) {
			return -errno;
		}
		frame += k;
		len -= (size_t)k;
	}
	return 0;
}

static void cb_ready(void *u, const struct hci_bdaddr *a)
{
	(void)u;
	local = *a;
	ready = true;
}

static void cb_down(void *u, int err)
{
	(void)u;
	die("controller down: %s", strerror(-err));
}

static void cb_open(void *u, unsigned ch)
{
	(void)u;
	(void)ch;
	is_open = true;
}

static void cb_msg(void *u, unsigned ch, const uint8_t *sdu, size_t len,
		   uint64_t rx_ns)
{
	(void)u;
	(void)ch;
	(void)rx_ns;
	/* Bumble's channel is a byte stream underneath: echoes written
	 * while it waited for credits come back as one SDU. */
	for (size_t off = 0; off + 8 <= len; off += 8) {
		if (memcmp(sdu + off, "ttws-", 5) == 0) {
			echoes++;
		}
	}
}

static void cb_closed(void *u, unsigned ch, int err)
{
	(void)u;
	(void)ch;
	is_open = false;
	closes++;
	last_close = err;
}

static int cb_bond_find(void *u, unsigned ch, const struct hci_bdaddr *l,
			const struct hci_bdaddr *p, uint8_t t,
			struct smp_bond *ret)
{
	(void)u;
	(void)ch;
	if (!have_bond || memcmp(&bond.local, l, 6) ||
	    memcmp(&bond.peer, p, 6) || bond.peer_type != t) {
		return -ENOENT;
	}
	*ret = bond;
	return 0;
}

static void cb_bond_new(void *u, unsigned ch, const struct smp_bond *b)
{
	(void)u;
	(void)ch;
	bond = *b;
	have_bond = true;
}

static void cb_security(void *u, unsigned ch,
			const struct hcihost_sec_info *i)
{
	static const char *const ev[] = { "pairing", "paired", "encrypted",
					   "key-missing", "failed" };

	(void)u;
	(void)ch;
	printf("{\"security\":\"%s\",\"err\":%d,\"smp_reason\":%u,"
	       "\"hci_status\":%u,\"bonded\":%s}\n",
	       ev[i->event], i->err, i->smp_reason, i->hci_status,
	       i->bonded ? "true" : "false");
	fflush(stdout);
	switch (i->event) {
	case HCIHOST_SEC_PAIRING:
		pairings++;
		break;
	case HCIHOST_SEC_PAIRED:
		sec_paired++;
		break;
	case HCIHOST_SEC_ENCRYPTED:
		bonded += i->bonded;
		break;
	case HCIHOST_SEC_KEY_MISSING:
		break;
	case HCIHOST_SEC_FAILED:
		failures++;
		break;
	}
}

static const struct hcihost_ops ops = {
	.write = cb_write,
	.ready = cb_ready,
	.down = cb_down,
	.chan_open = cb_open,
	.chan_msg = cb_msg,
	.chan_closed = cb_closed,
	.bond_find = cb_bond_find,
	.bond_new = cb_bond_new,
	.security = cb_security,
};

static void poll_once(int ms)
{
	uint8_t b[4096];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t t = hcihost_next_deadline(h), now = mono_ns();

	if (t != UINT64_MAX && t > now && (t - now) / 1000000 < (uint64_t)ms) {
		ms = (int)((t - now) / 1000000) + 1;
	}
	if (poll(&p, 1, ms) > 0) {
		ssize_t n = read(fd, b, sizeof(b));

		if (n <= 0) {
			die("controller socket closed");
		}
		hcihost_input(h, b, (size_t)n, mono_ns());
	}
	hcihost_tick(h, mono_ns());
}

static bool wait_for(bool *flag, bool want, uint64_t limit_ns)
{
	uint64_t end = mono_ns() + limit_ns;

	while (*flag != want && mono_ns() < end) {
		poll_once(50);
	}
	return *flag == want;
}

int main(int argc, char **argv)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct hcihost_config cfg;
	unsigned rounds, ok_rounds = 0;
	char text[SMP_BOND_TEXT_MAX];
	size_t n;

	if (argc != 6) {
		fprintf(stderr, "usage: smp-central SOCKET PEER public|random "
				"PSM ROUNDS\n");
		return 2;
	}
	if (smp_bdaddr_parse(argv[2], strlen(argv[2]), &peer) < 0) {
		die("bad address %s", argv[2]);
	}
	peer_type = strcmp(argv[3], "random") == 0;
	rounds = (unsigned)atoi(argv[5]);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || strlen(argv[1]) >= sizeof(a.sun_path)) {
		die("socket");
	}
	strcpy(a.sun_path, argv[1]);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		die("%s: %s", argv[1], strerror(errno));
	}
	hcihost_config_default(&cfg);
	cfg.psm = (uint16_t)strtoul(argv[4], NULL, 0);
	cfg.security = HCIHOST_SECURITY_ENCRYPT;
	cfg.connect_timeout_ns = 10 * SEC;
	if (hcihost_new(&cfg, &ops, NULL, &h) < 0) {
		die("hcihost_new");
	}
	hcihost_start(h, mono_ns());
	if (!wait_for(&ready, true, 5 * SEC)) {
		die("controller not ready");
	}
	for (unsigned r = 0; r < rounds; r++) {
		unsigned before = echoes;

		if (hcihost_open(h, 0, &peer, peer_type ? HCI_ADDR_RANDOM :
							  HCI_ADDR_PUBLIC,
				 mono_ns()) < 0) {
			die("hcihost_open");
		}
		{
			/* Open, or closed for good (a refused pairing). */
			unsigned c0 = closes;
			uint64_t end = mono_ns() + 40 * SEC;

			while (!is_open && closes == c0 && mono_ns() < end) {
				poll_once(50);
			}
		}
		if (!is_open) {
			printf("{\"round\":%u,\"open\":false,"
			       "\"close_err\":%d}\n",
			       r, last_close);
			break;
		}
		for (unsigned k = 0; k < N_ECHO; k++) {
			char m[9];

			snprintf(m, sizeof(m), "ttws-%03u", k);
			while (hcihost_tx_space(h, 0) == 0) {
				poll_once(10);
			}
			hcihost_send(h, 0, (const uint8_t *)m, 8, k);
		}
		{
			uint64_t end = mono_ns() + 10 * SEC;

			while (echoes - before < N_ECHO && mono_ns() < end) {
				poll_once(20);
			}
		}
		printf("{\"round\":%u,\"open\":true,\"encrypted\":%s,"
		       "\"echoes\":%u}\n",
		       r, hcihost_chan_encrypted(h, 0) ? "true" : "false",
		       echoes - before);
		fflush(stdout);
		ok_rounds += echoes - before == N_ECHO &&
			     hcihost_chan_encrypted(h, 0);
		hcihost_close(h, 0, mono_ns());
		{
			bool idle = false;
			uint64_t end = mono_ns() + 5 * SEC;

			while (!idle && mono_ns() < end) {
				poll_once(20);
				idle = hcihost_chan_state(h, 0) ==
				       HCIHOST_CH_IDLE;
			}
		}
		/* Let the peripheral advertise again. */
		for (int k = 0; k < 10; k++) {
			poll_once(50);
		}
	}
	printf("{\"rounds\":%u,\"pairings\":%u,\"paired\":%u,"
	       "\"bonded_encryptions\":%u,\"failures\":%u,\"echoes\":%u,"
	       "\"local\":\"%02X:%02X:%02X:%02X:%02X:%02X\",",
	       ok_rounds, pairings, sec_paired, bonded, failures, echoes,
	       local.b[5], local.b[4], local.b[3], local.b[2], local.b[1],
	       local.b[0]);
	if (have_bond && smp_bond_format(&bond, text, sizeof(text), &n) == 0) {
		printf("\"ltk\":\"");
		for (unsigned i = 0; i < 16; i++) {
			printf("%02x", bond.ltk[i]);
		}
		printf("\",\"key_size\":%u,\"have_irk\":%s", bond.key_size,
		       bond.have_irk ? "true" : "false");
	} else {
		printf("\"ltk\":null");
	}
	printf("}\n");
	hcihost_free(h);
	close(fd);
	return ok_rounds == rounds ? 0 : 1;
}
