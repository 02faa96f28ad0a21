/* SPDX-License-Identifier: MIT */
/*
 * --hci: each earbud of the live mode an LE peripheral (core/hcihost) on
 * its own emulated controller, reached over an H4 stream socket (btvirt
 * -s's /tmp/bt-server-le): it advertises while the model's radio link is
 * up, and ttwsd opens the ttws-link L2CAP channel to it.
 *
 * Security, as an earbud without input or output: it answers LE Secure
 * Connections pairing as responder (the same core/smp as ttwsd's host),
 * hands out its identity (a random IRK per run and its public address),
 * refuses the channel until the link is encrypted, and keeps its bonds
 * as files (os/keystore.h) in $TTWS_SIM_STATE_DIR, or in a directory of
 * its own under $TMPDIR that it removes at exit. TTWS_SIM_SECURITY=none
 * makes it an earbud without security (no pairing, a plain channel), for
 * ttwsd's security = none. Files are written with blocking calls from
 * the loop: only when a pairing completes, before the channel opens.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/hcihost.h"
#include "core/smp_pdu.h"
#include "os/keystore.h"
#include "os/loop.h"
#include "os/rt.h"
#include "os/unix.h"
#include "sim/live_private.h"

/* The bond directory of this process: both earbuds' files, told apart
 * by each earbud's own address in their names. */
static char live_hci_keys[KEYSTORE_DIR_MAX];
static bool live_hci_keys_tmp;

/* At exit: the temporary directory and the bond files in it. */
static void live_hci_keys_cleanup(void)
{
	struct dirent *de;
	DIR *d;

	if (!live_hci_keys_tmp || !(d = opendir(live_hci_keys))) {
		return;
	}
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "bond-", 5) == 0 ||
		    strncmp(de->d_name, ".bond-", 6) == 0) {
			unlinkat(dirfd(d), de->d_name, 0);
		}
	}
	closedir(d);
	rmdir(live_hci_keys);
}

static int live_hci_keys_dir(void)
{
	const char *env = getenv("TTWS_SIM_STATE_DIR");
	const char *tmp = getenv("TMPDIR");
	int n;

	if (live_hci_keys[0]) {
		return 0;
	}
	if (env && env[0]) {
		n = snprintf(live_hci_keys, sizeof(live_hci_keys), "%s", env);
		if (n < 0 || (size_t)n >= sizeof(live_hci_keys)) {
			return -ENAMETOOLONG;
		}
		return keystore_prepare(live_hci_keys);
	}
	n = snprintf(live_hci_keys, sizeof(live_hci_keys),
		     "%s/ttws-sim-keys.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (n < 0 || (size_t)n >= sizeof(live_hci_keys) ||
	    !mkdtemp(live_hci_keys)) {
		live_hci_keys[0] = '\0';
		return -errno;
	}
	live_hci_keys_tmp = true;
	atexit(live_hci_keys_cleanup);
	return 0;
}

static int live_hci_bond_find(void *user_data, unsigned ch,
			      const struct hci_bdaddr *local,
			      const struct hci_bdaddr *peer, uint8_t peer_type,
			      struct smp_bond *ret)
{
	int r = keystore_load(live_hci_keys, local, peer, peer_type, ret);

	if (r < 0 && r != -ENOENT) {
		struct live_ear *e = user_data;

		fprintf(stderr,
			"ttws-earbud-sim: %s earbud: bond unreadable in %s: "
			"%s\n",
			scenario_side_name(e->side), live_hci_keys,
			strerror(-r));
	}
	return r;
}

static void live_hci_bond_new(void *user_data, unsigned ch,
			      const struct smp_bond *b)
{
	struct live_ear *e = user_data;
	int r = keystore_save(live_hci_keys, b);

	if (r < 0) {
		fprintf(stderr,
			"ttws-earbud-sim: %s earbud: cannot save the bond in "
			"%s: %s\n",
			scenario_side_name(e->side), live_hci_keys,
			strerror(-r));
	}
}

/* The test reads these lines (stdout): pairing, encryption, failures. */
static void live_hci_security(void *user_data, unsigned ch,
			      const struct hcihost_sec_info *info)
{
	static const char *const what[] = {
		[HCIHOST_SEC_PAIRING] = "pairing",
		[HCIHOST_SEC_PAIRED] = "paired",
		[HCIHOST_SEC_ENCRYPTED] = "encrypted",
		[HCIHOST_SEC_KEY_MISSING] = "key missing",
		[HCIHOST_SEC_FAILED] = "security failed",
	};
	struct live_ear *e = user_data;

	printf("ttws-earbud-sim: %s earbud: %s%s", scenario_side_name(e->side),
	       what[info->event],
	       info->event == HCIHOST_SEC_ENCRYPTED && info->bonded ?
		       " with the stored bond" :
		       "");
	if (info->event == HCIHOST_SEC_FAILED) {
		printf(": %s (SMP reason 0x%02x %s)", strerror(-info->err),
		       info->smp_reason,
		       info->smp_reason ? smp_reason_name(info->smp_reason) :
					  "-");
	}
	printf("\n");
	fflush(stdout);
}

static int live_hci_write(void *user_data, const uint8_t *frame, size_t len)
{
	struct live_ear *e = user_data;

	return e->hci_sock ? loop_send(e->lv->loop, e->hci_sock, frame, len) :
			     -ENOTCONN;
}

void live_hci_listen(struct live_ear *e)
{
	int r;

	if (!e->hci_ready || e->hci_open || e->hci_listening) {
		return;
	}
	r = hcihost_open(e->host, 0, NULL, HCI_ADDR_PUBLIC, rt_now_ns());
	e->hci_listening = r == 0 || r == -EALREADY;
}

static void live_hci_ready(void *user_data, const struct hci_bdaddr *local)
{
	struct live_ear *e = user_data;

	e->hci_ready = true;
	/* The test reads this line to configure ttwsd's peer addresses. */
	printf("ttws-earbud-sim: %s earbud: controller "
	       "%02X:%02X:%02X:%02X:%02X:%02X\n",
	       scenario_side_name(e->side), local->b[5], local->b[4],
	       local->b[3], local->b[2], local->b[1], local->b[0]);
	fflush(stdout);
	live_hci_listen(e);
}

static void live_hci_down(void *user_data, int err)
{
	struct live_ear *e = user_data;

	fprintf(stderr, "ttws-earbud-sim: %s earbud: controller lost: %s\n",
		scenario_side_name(e->side), strerror(-err));
	e->hci_ready = false;
	e->hci_open = false;
	e->hci_listening = false;
	loop_stop(e->lv->loop);
}

static void live_hci_chan_open(void *user_data, unsigned ch)
{
	struct live_ear *e = user_data;

	e->hci_open = true;
	e->hci_listening = false;
	e->connects++;
	e->wire_seq = 0;
}

static void live_hci_chan_msg(void *user_data, unsigned ch, const uint8_t *sdu,
			      size_t len, uint64_t rx_ns)
{
	live_on_message(user_data, sdu, len, rx_ns);
}

static void live_hci_chan_closed(void *user_data, unsigned ch, int err)
{
	struct live_ear *e = user_data;

	e->hci_open = false;
	e->hci_listening = false;
	live_pending_cancel_all(e);
	/* Advertise again (the poll timer does, while the model's link is
	 * up). */
}

static const struct hcihost_ops live_hci_ops = {
	.write = live_hci_write,
	.ready = live_hci_ready,
	.down = live_hci_down,
	.chan_open = live_hci_chan_open,
	.chan_msg = live_hci_chan_msg,
	.chan_closed = live_hci_chan_closed,
	.bond_find = live_hci_bond_find,
	.bond_new = live_hci_bond_new,
	.security = live_hci_security,
};

static void live_hci_rx(struct loop *l, struct loop_sock *s,
			const struct loop_rx *rx, void *user_data)
{
	struct live_ear *e = user_data;

	if (rx->ev == LOOP_EV_DATA) {
		hcihost_input(e->host, rx->data, rx->len, rx->user_ts_ns);
	} else if (rx->rx_stopped || rx->ev == LOOP_EV_EOF) {
		live_hci_down(e, rx->err ? rx->err : -ECONNRESET);
	}
}

static void live_hci_timer_fire(struct wheel_timer *t, uint64_t now_ns)
{
	struct live *lv = container_of(t, struct live, hci_timer);
	unsigned i, s;

	for (i = 0; i < lv->n_pairs; i++) {
		for (s = 0; s < SCENARIO_SIDES; s++) {
			struct live_ear *e = &lv->pair[i].ear[s];

			if (e->host) {
				hcihost_tick(e->host, now_ns);
			}
		}
	}
	wheel_add(lv->wheel, t, now_ns + 50 * NSEC_PER_MSEC);
}

void live_hci_timer_start(struct live *lv)
{
	wheel_timer_init(&lv->hci_timer, WHEEL_SOFT, 5 * NSEC_PER_MSEC,
			 live_hci_timer_fire);
	wheel_add(lv->wheel, &lv->hci_timer, lv->start_ns);
}

int live_hci_init(struct live_ear *e, const char *server)
{
	struct hcihost_config hc;
	const char *sec;
	int r;

	hcihost_config_default(&hc);
	hc.role = HCIHOST_PERIPHERAL;
	sec = getenv("TTWS_SIM_SECURITY");
	if (!sec || strcmp(sec, "none") != 0) {
		hc.security = HCIHOST_SECURITY_ENCRYPT;
		hc.send_identity = true;
		if (getrandom(hc.irk, sizeof(hc.irk), 0) !=
		    (ssize_t)sizeof(hc.irk)) {
			return -EIO;
		}
		r = live_hci_keys_dir();
		if (r < 0) {
			fprintf(stderr,
				"ttws-earbud-sim: no directory for bonds: "
				"%s\n",
				strerror(-r));
			return r;
		}
	}
	r = hcihost_new(&hc, &live_hci_ops, e, &e->host);
	if (r < 0) {
		return r;
	}
	r = unix_stream_connect(server, &e->hci_fd);
	if (r < 0) {
		fprintf(stderr, "ttws-earbud-sim: cannot reach the controller "
				"emulator at %s: %s\n",
			server, strerror(-r));
		return r;
	}
	r = loop_add_stream(e->lv->loop, e->hci_fd, live_hci_rx, e,
			    &e->hci_sock);
	if (r < 0) {
		return r;
	}
	hcihost_start(e->host, rt_now_ns());
	return 0;
}
