/* SPDX-License-Identifier: MIT */
/*
 * hcihost with security (hcihost_sec.c) against a fake radio written
 * here: one emulated controller per host, the LE links between them, and
 * the controller side of LE security as Core 5.4, Vol 4, Part E gives it
 * (LE Encrypt with test-smp-aes.h, LE Rand, LE Read Local P-256 Public
 * Key and LE Generate DHKey with fixed answers, LE Enable Encryption
 * raising the peer's LTK request, its replies deciding Encryption Change
 * on both ends, as BlueZ's emulator does). Checked: a first connection
 * pairs and stores the bond on both ends; a reconnection encrypts with
 * it and does not pair; a peer that lost its key is paired again once,
 * and a second failure drops the link; no L2CAP channel on a plain link;
 * a bad public key, an encryption that never starts and a controller
 * that never answers; two ears pairing at once on one controller.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/hcihost.h"
#include "core/macro.h"
#include "core/smp.h"
#include "test-smp-aes.h"

#define NCTL 3
#define NQ 512
#define FMAX 300
#define NBOND 4
#define MS UINT64_C(1000000)

struct qframe {
	uint8_t b[FMAX];
	size_t len;
};

struct ctl {
	struct hcihost *h;
	struct hcihost_config cfg;
	struct hci_bdaddr addr;
	/* Events and ACL for the host, oldest first. */
	struct qframe q[NQ];
	unsigned rd, wr;
	/* Radio. */
	bool adv;
	uint16_t handle;   /* its last link's */
	/* Fault switches. */
	bool swallow_encrypt;   /* LE Enable Encryption goes nowhere */
	bool swallow_p256;      /* no LE Read Local P-256 Complete */
	bool refuse_ltk;        /* as peripheral: every LTK request refused */
	bool bad_key;           /* hands out a public key off the curve */
	uint8_t key[64];
	unsigned rands;
	/* The host's bonds and what it saw. */
	struct smp_bond bond[NBOND];
	unsigned nbond;
	unsigned opens[HCIHOST_MAX_CHANS], closes[HCIHOST_MAX_CHANS];
	int close_err[HCIHOST_MAX_CHANS];
	unsigned downs;
	int down_err;
	unsigned msgs;
	unsigned pair_reqs;     /* SMP Pairing Requests it sent */
	unsigned pair_failed;   /* SMP Pairing Failed it received */
	unsigned enc_changes;   /* Encryption Change events it got */
	unsigned sec_events[5];
	bool last_bonded;
	int last_err;
};

static struct ctl C[NCTL];
static uint64_t now;

/* LE links: both ends use one handle (unlike btvirt 5.66). */
#define NLINK 4
struct link {
	bool up;
	uint16_t handle;
	struct ctl *central, *peripheral;
	uint8_t ltk[16]; /* the central's, from LE Enable Encryption */
	bool ltk_set;
};
static struct link L[NLINK];
static uint16_t next_handle = 0x40;

static struct link *link_of(uint16_t handle)
{
	for (unsigned i = 0; i < NLINK; i++) {
		if (L[i].up && L[i].handle == handle) {
			return &L[i];
		}
	}
	return NULL;
}

static struct ctl *other(const struct link *l, const struct ctl *c)
{
	return l->central == c ? l->peripheral : l->central;
}

/* ---- the radio ------------------------------------------------------ */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void enq(struct ctl *c, const uint8_t *b, size_t len)
{
	assert_true(len <= FMAX);
	assert_true(c->wr - c->rd < NQ);
	memcpy(c->q[c->wr % NQ].b, b, len);
	c->q[c->wr % NQ].len = len;
	c->wr++;
}

static void evt(struct ctl *c, uint8_t code, const uint8_t *p, size_t n)
{
	uint8_t b[FMAX];

	b[0] = 0x04;
	b[1] = code;
	b[2] = (uint8_t)n;
	memcpy(b + 3, p, n);
	enq(c, b, n + 3);
}

static void le_evt(struct ctl *c, uint8_t sub, const uint8_t *p, size_t n)
{
	uint8_t b[FMAX];

	b[0] = sub;
	memcpy(b + 1, p, n);
	evt(c, 0x3e, b, n + 1);
}

static void cc(struct ctl *c, uint16_t op, const uint8_t *ret, size_t n)
{
	uint8_t p[FMAX] = { 1 };

	put16(p + 1, op);
	memcpy(p + 3, ret, n);
	evt(c, 0x0e, p, n + 3);
}

static void cc0(struct ctl *c, uint16_t op)
{
	cc(c, op, (const uint8_t[]){ 0 }, 1);
}

static void cs(struct ctl *c, uint16_t op, uint8_t status)
{
	uint8_t p[4] = { status, 1 };

	put16(p + 2, op);
	evt(c, 0x0f, p, 4);
}

static void conn_complete(struct ctl *c, uint8_t role, struct ctl *peer,
			  uint16_t handle)
{
	uint8_t p[18] = { 0 };

	put16(p + 1, handle);
	p[3] = role;
	p[4] = 0x00;
	memcpy(p + 5, peer->addr.b, 6);
	put16(p + 11, 6);
	put16(p + 15, 200);
	le_evt(c, 0x01, p, sizeof(p));
	c->handle = handle;
}

static void enc_change(struct ctl *c, uint16_t handle, uint8_t status,
		       uint8_t on)
{
	uint8_t p[4] = { status };

	put16(p + 1, handle);
	p[3] = on;
	evt(c, 0x08, p, 4);
}

static void disconnect(struct ctl *c, uint16_t handle, uint8_t reason)
{
	struct link *l = link_of(handle);
	uint8_t p[4] = { 0 };

	if (!l) {
		return;
	}
	put16(p + 1, handle);
	p[3] = 0x16;
	evt(c, 0x05, p, 4);
	p[3] = reason;
	evt(other(l, c), 0x05, p, 4);
	l->up = false;
}

static struct ctl *by_addr(const uint8_t *a)
{
	for (unsigned i = 0; i < NCTL; i++) {
		if (C[i].h && memcmp(C[i].addr.b, a, 6) == 0) {
			return &C[i];
		}
	}
	return NULL;
}

static void on_acl(struct ctl *c, const uint8_t *f, size_t len)
{
	uint16_t handle = le16(f + 1) & 0x0fff;
	struct link *l = link_of(handle);
	uint8_t n[5] = { 1 };
	size_t plen = len - 5;
	struct ctl *o;

	/* Completed at once (7.7.19). */
	put16(n + 1, handle);
	put16(n + 3, 1);
	evt(c, 0x13, n, 5);
	if (!l) {
		return;
	}
	o = other(l, c);
	/* An SMP PDU (CID 6) in a first fragment: what pairing sent. */
	if ((f[2] & 0x30) != 0x10 && plen >= 5 && le16(f + 7) == 0x0006) {
		if (f[9] == 0x01) {
			c->pair_reqs++;
		}
		if (f[9] == 0x05) {
			o->pair_failed++;
		}
	}
	enq(o, f, len);
}

static void aes(const uint8_t *p, uint8_t out[16])
{
	uint8_t k[16], in[16], o[16];

	/* 7.8.22: HCI octets are the reverse of FIPS 197. */
	smp_swap(k, p, 16);
	smp_swap(in, p + 16, 16);
	refaes_encrypt(k, in, o);
	smp_swap(out, o, 16);
}

static void on_cmd(struct ctl *c, const uint8_t *f, size_t len)
{
	uint16_t op = le16(f + 1);
	const uint8_t *p = f + 4;
	uint8_t r[80] = { 0 };
	struct link *l;
	struct ctl *o;

	assert_int_equal(f[3], len - 4);
	switch (op) {
	case 0x1009: /* Read BD_ADDR */
		memcpy(r + 1, c->addr.b, 6);
		cc(c, op, r, 7);
		return;
	case 0x2060: /* LE Read Buffer Size v2: 251 x 8 */
		put16(r + 1, 251);
		r[3] = 8;
		cc(c, op, r, 7);
		return;
	case 0x200a: /* LE Set Advertising Enable */
		c->adv = p[0] != 0;
		cc0(c, op);
		return;
	case 0x200d: /* LE Create Connection */
		cs(c, op, 0);
		o = by_addr(p + 6);
		if (!o || !o->adv) {
			return;
		}
		for (unsigned i = 0; i < NLINK; i++) {
			if (!L[i].up) {
				L[i] = (struct link){ .up = true,
						      .handle = next_handle++,
						      .central = c,
						      .peripheral = o };
				o->adv = false;
				conn_complete(c, 0x00, o, L[i].handle);
				conn_complete(o, 0x01, c, L[i].handle);
				return;
			}
		}
		fail();
		return;
	case 0x0406: /* Disconnect */
		cs(c, op, 0);
		disconnect(c, le16(p), p[2]);
		return;
	case 0x2017: /* LE Encrypt */
		aes(p, r + 1);
		cc(c, op, r, 17);
		return;
	case 0x2018: /* LE Rand */
		memset(r + 1, (int)(0x10 * (unsigned)(c - C) + c->rands++), 8);
		cc(c, op, r, 9);
		return;
	case 0x2025: /* LE Read Local P-256 Public Key */
		cs(c, op, 0);
		if (!c->swallow_p256) {
			r[0] = 0;
			memcpy(r + 1, c->key, 64);
			le_evt(c, 0x08, r, 65);
		}
		return;
	case 0x2026: /* LE Generate DHKey: both ends agree */
		cs(c, op, 0);
		memset(r + 1, 0xdd, 32);
		le_evt(c, 0x09, r, 33);
		return;
	case 0x2019: /* LE Enable Encryption */
		l = link_of(le16(p));
		if (!l || l->central != c) {
			cs(c, op, 0x02);
			return;
		}
		cs(c, op, 0);
		memcpy(l->ltk, p + 12, 16);
		l->ltk_set = true;
		if (l->peripheral->refuse_ltk) {
			enc_change(c, l->handle, 0x06, 0);
		} else if (!c->swallow_encrypt) {
			/* 7.7.65.5 at the peripheral. */
			put16(r, l->handle);
			memcpy(r + 2, p + 2, 8);
			put16(r + 10, le16(p + 10));
			le_evt(l->peripheral, 0x05, r, 12);
		}
		return;
	case 0x201a: /* LTK Reply */
		put16(r + 1, le16(p));
		cc(c, op, r, 3);
		l = link_of(le16(p));
		if (l) {
			bool same = l->ltk_set && !memcmp(l->ltk, p + 2, 16);

			enc_change(c, l->handle, same ? 0 : 0x05, same);
			enc_change(l->central, l->handle, same ? 0 : 0x05,
				   same);
		}
		return;
	case 0x201b: /* LTK Negative Reply: the central is told */
		put16(r + 1, le16(p));
		cc(c, op, r, 3);
		l = link_of(le16(p));
		if (l) {
			enc_change(l->central, l->handle, 0x06, 0);
		}
		return;
	default:
		/* Reset, masks, advertising parameters and data. */
		cc0(c, op);
		return;
	}
}

/* ---- the hosts ------------------------------------------------------ */

static struct ctl *ctl_of(void *u)
{
	return u;
}

static int cb_write(void *u, const uint8_t *f, size_t len)
{
	struct ctl *c = ctl_of(u);

	if (f[0] == 0x01) {
		on_cmd(c, f, len);
	} else if (f[0] == 0x02) {
		on_acl(c, f, len);
	}
	return 0;
}

static void cb_ready(void *u, const struct hci_bdaddr *local)
{
	(void)u;
	(void)local;
}

static void cb_down(void *u, int err)
{
	ctl_of(u)->downs++;
	ctl_of(u)->down_err = err;
}

static void cb_open(void *u, unsigned ch)
{
	ctl_of(u)->opens[ch]++;
}

static void cb_msg(void *u, unsigned ch, const uint8_t *sdu, size_t len,
		   uint64_t rx_ns)
{
	(void)ch;
	(void)sdu;
	(void)len;
	(void)rx_ns;
	ctl_of(u)->msgs++;
}

static void cb_closed(void *u, unsigned ch, int err)
{
	ctl_of(u)->closes[ch]++;
	ctl_of(u)->close_err[ch] = err;
}

static int cb_bond_find(void *u, unsigned ch, const struct hci_bdaddr *local,
			const struct hci_bdaddr *peer, uint8_t peer_type,
			struct smp_bond *ret)
{
	struct ctl *c = ctl_of(u);

	(void)ch;
	for (unsigned i = 0; i < c->nbond; i++) {
		if (!memcmp(&c->bond[i].local, local, 6) &&
		    !memcmp(&c->bond[i].peer, peer, 6) &&
		    c->bond[i].peer_type == peer_type) {
			*ret = c->bond[i];
			return 0;
		}
	}
	return -ENOENT;
}

static void cb_bond_new(void *u, unsigned ch, const struct smp_bond *b)
{
	struct ctl *c = ctl_of(u);

	(void)ch;
	for (unsigned i = 0; i < c->nbond; i++) {
		if (!memcmp(&c->bond[i].peer, &b->peer, 6)) {
			c->bond[i] = *b;
			return;
		}
	}
	assert_true(c->nbond < NBOND);
	c->bond[c->nbond++] = *b;
}

static void cb_security(void *u, unsigned ch, const struct hcihost_sec_info *i)
{
	struct ctl *c = ctl_of(u);

	(void)ch;
	assert_true(i->event <= HCIHOST_SEC_FAILED);
	c->sec_events[i->event]++;
	c->last_bonded = i->bonded;
	c->last_err = i->err;
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

/* Hex, most significant first, into wire order. */
static void wire(const char *hex, uint8_t *out, size_t n)
{
	uint8_t t[64];
	size_t k = 0;

	for (const char *p = hex; *p; p++) {
		unsigned v;

		if (*p == ' ') {
			continue;
		}
		assert_int_equal(sscanf(p, "%1x", &v), 1);
		t[k / 2] = (uint8_t)(k % 2 ? t[k / 2] | v : v << 4);
		k++;
	}
	smp_swap(out, t, n);
}

/* P-256 sample B (Vol 2, Part G, 7.1.2.1) for every controller: the
 * pairing checks a peer's key is valid, not that it differs from other
 * controllers'; the reflection check compares with one's own, so the
 * peripherals get B's negation. */
static void set_key(struct ctl *c, bool negate)
{
	wire("1ea1f0f0 1faf1d96 09592284 f19e4c00 47b58afd 8615a69f 559077b2 "
	     "2faaa190",
	     c->key, 32);
	wire("4c55f33e 429dad37 7356703a 9ab85160 472d1130 e28e3676 5f89aff9 "
	     "15b1214a",
	     c->key + 32, 32);
	if (negate) {
		uint8_t p[32];
		int borrow = 0;

		wire("ffffffff 00000001 00000000 00000000 00000000 ffffffff "
		     "ffffffff ffffffff",
		     p, 32);
		for (unsigned i = 0; i < 32; i++) {
			int d = p[i] - c->key[32 + i] - borrow;

			borrow = d < 0;
			c->key[32 + i] = (uint8_t)(d + (borrow ? 256 : 0));
		}
	}
}

static void settle(void)
{
	for (unsigned round = 0; round < 10000; round++) {
		bool any = false;

		for (unsigned i = 0; i < NCTL; i++) {
			struct ctl *c = &C[i];

			while (c->h && c->rd != c->wr) {
				struct qframe *f = &c->q[c->rd++ % NQ];

				if (f->b[0] == 0x04 && f->b[1] == 0x08) {
					c->enc_changes++;
				}
				hcihost_input(c->h, f->b, f->len, now);
				any = true;
			}
		}
		if (!any) {
			return;
		}
	}
	fail_msg("the radio did not settle");
}

static void ctl_start(unsigned i, enum hcihost_role role,
		      enum hcihost_security sec)
{
	struct ctl *c = &C[i];

	memset(c, 0, sizeof(*c));
	hcihost_config_default(&c->cfg);
	c->cfg.role = role;
	c->cfg.security = sec;
	c->cfg.send_identity = role == HCIHOST_PERIPHERAL;
	memset(c->cfg.irk, 0x70 + (int)i, 16);
	c->addr = (struct hci_bdaddr){ { 0x42, 0x00, (uint8_t)i, 0x01, 0xaa,
					 0x00 } };
	set_key(c, role == HCIHOST_PERIPHERAL);
	assert_int_equal(hcihost_new(&c->cfg, &ops, c, &c->h), 0);
	hcihost_start(c->h, now);
	settle();
	assert_int_equal(hcihost_state(c->h), HCIHOST_READY);
}

static int setup(void **state)
{
	(void)state;
	now = 1000 * MS;
	memset(C, 0, sizeof(C));
	memset(L, 0, sizeof(L));
	ctl_start(0, HCIHOST_CENTRAL, HCIHOST_SECURITY_ENCRYPT);
	ctl_start(1, HCIHOST_PERIPHERAL, HCIHOST_SECURITY_ENCRYPT);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (unsigned i = 0; i < NCTL; i++) {
		C[i].h = hcihost_free(C[i].h);
	}
	return 0;
}

static void connect(unsigned central_ch, unsigned peri)
{
	assert_int_equal(hcihost_open(C[peri].h, 0, NULL, HCI_ADDR_PUBLIC,
				      now),
			 0);
	settle();
	assert_int_equal(hcihost_open(C[0].h, central_ch, &C[peri].addr,
				      HCI_ADDR_PUBLIC, now),
			 0);
	settle();
}

static void disconnect_all(unsigned central_ch, unsigned peri)
{
	hcihost_close(C[0].h, central_ch, now);
	settle();
	assert_int_equal(hcihost_chan_state(C[0].h, central_ch),
			 HCIHOST_CH_IDLE);
	assert_int_equal(hcihost_chan_state(C[peri].h, 0), HCIHOST_CH_IDLE);
}

static void test_pair_then_reconnect(void **state)
{
	struct hcihost_stats s0, s1;

	(void)state;
	connect(0, 1);
	assert_int_equal(C[0].opens[0], 1);
	assert_int_equal(C[1].opens[0], 1);
	assert_true(hcihost_chan_encrypted(C[0].h, 0));
	assert_true(hcihost_chan_encrypted(C[1].h, 0));
	assert_int_equal(C[0].pair_reqs, 1);
	/* One bond on each end, the same LTK, under each other's address;
	 * the peripheral's identity reached the central. */
	assert_int_equal(C[0].nbond, 1);
	assert_int_equal(C[1].nbond, 1);
	assert_memory_equal(C[0].bond[0].ltk, C[1].bond[0].ltk, 16);
	assert_memory_equal(C[0].bond[0].peer.b, C[1].addr.b, 6);
	assert_memory_equal(C[0].bond[0].local.b, C[0].addr.b, 6);
	assert_memory_equal(C[1].bond[0].peer.b, C[0].addr.b, 6);
	assert_int_equal(C[0].bond[0].key_size, 16);
	assert_true(C[0].bond[0].secure_connections);
	assert_false(C[0].bond[0].authenticated);
	assert_true(C[0].bond[0].have_irk);
	assert_memory_equal(C[0].bond[0].irk, C[1].cfg.irk, 16);
	assert_memory_equal(C[0].bond[0].id_addr.b, C[1].addr.b, 6);
	assert_int_equal(C[0].sec_events[HCIHOST_SEC_PAIRING], 1);
	assert_int_equal(C[0].sec_events[HCIHOST_SEC_PAIRED], 1);
	hcihost_get_stats(C[0].h, &s0);
	hcihost_get_stats(C[1].h, &s1);
	assert_int_equal(s0.pairings, 1);
	assert_int_equal(s1.pairings, 1);
	assert_int_equal(s0.encryptions, 1);
	/* Data flows. */
	assert_int_equal(hcihost_send(C[0].h, 0, (const uint8_t *)"hi", 2, 1),
			 0);
	settle();
	assert_int_equal(C[1].msgs, 1);

	/* Reconnect: encrypted with the bond, no pairing. */
	disconnect_all(0, 1);
	connect(0, 1);
	assert_int_equal(C[0].opens[0], 2);
	assert_int_equal(C[1].opens[0], 2);
	assert_int_equal(C[0].pair_reqs, 1);
	assert_true(hcihost_chan_encrypted(C[0].h, 0));
	assert_int_equal(C[0].sec_events[HCIHOST_SEC_ENCRYPTED], 1);
	assert_true(C[0].last_bonded);
	assert_int_equal(C[1].sec_events[HCIHOST_SEC_ENCRYPTED], 1);
	hcihost_get_stats(C[0].h, &s0);
	assert_int_equal(s0.pairings, 1);
	assert_int_equal(s0.encryptions, 2);
	assert_int_equal(s0.smp_errors, 0);
}

static void test_key_missing(void **state)
{
	struct hcihost_stats s0;
	uint8_t first[16];

	(void)state;
	connect(0, 1);
	memcpy(first, C[0].bond[0].ltk, 16);
	disconnect_all(0, 1);
	/* The earbud was reset: no bond. The central is told "PIN or Key
	 * Missing" and pairs again, once, on the same link. */
	C[1].nbond = 0;
	connect(0, 1);
	assert_int_equal(C[0].opens[0], 2);
	assert_int_equal(C[0].pair_reqs, 2);
	assert_int_equal(C[0].sec_events[HCIHOST_SEC_KEY_MISSING], 1);
	assert_int_equal(C[0].nbond, 1);
	assert_memory_not_equal(first, C[0].bond[0].ltk, 16);
	assert_memory_equal(C[0].bond[0].ltk, C[1].bond[0].ltk, 16);
	hcihost_get_stats(C[0].h, &s0);
	assert_int_equal(s0.key_missing, 1);

	/* Forgotten again, and now its pairing fails (a public key off the
	 * curve): one attempt, then the link drops for the caller's
	 * back-off. */
	disconnect_all(0, 1);
	C[1].nbond = 0;
	C[1].key[40] ^= 1;
	connect(0, 1);
	assert_int_equal(C[0].pair_reqs, 3);
	assert_int_equal(C[0].opens[0], 2);
	/* The failure drops the link at the next tick. */
	now += 1 * MS;
	hcihost_tick(C[0].h, now);
	settle();
	assert_int_equal(C[0].closes[0], 3);
	assert_int_equal(C[0].close_err[0], -EACCES);
	assert_int_equal(C[1].pair_failed, 1);
	assert_int_equal(C[0].sec_events[HCIHOST_SEC_FAILED], 1);
	assert_int_equal(C[0].last_err, -EKEYREJECTED);
	hcihost_get_stats(C[0].h, &s0);
	assert_int_equal(s0.bad_public_keys, 1);
	assert_int_equal(s0.pairing_failures, 1);
	/* The stored bond stays: it was not replaced by a failed pairing. */
	assert_int_equal(C[0].nbond, 1);
}

/* A peer that keeps refusing our keys is paired again once per link:
 * the new pairing's own encryption refused too, the link drops. */
static void test_key_missing_once(void **state)
{
	struct hcihost_stats s0;

	(void)state;
	connect(0, 1);
	disconnect_all(0, 1);
	C[1].refuse_ltk = true;
	connect(0, 1);
	assert_int_equal(C[0].sec_events[HCIHOST_SEC_KEY_MISSING], 1);
	assert_int_equal(C[0].pair_reqs, 2);
	assert_int_equal(C[0].opens[0], 1);
	now += 1 * MS;
	hcihost_tick(C[0].h, now);
	settle();
	assert_int_equal(C[0].closes[0], 2);
	assert_int_equal(C[0].close_err[0], -EACCES);
	assert_int_equal(C[0].pair_reqs, 2);
	assert_int_equal(C[0].sec_events[HCIHOST_SEC_FAILED], 1);
	assert_int_equal(C[0].last_err, -EIO);
	hcihost_get_stats(C[0].h, &s0);
	assert_int_equal(s0.key_missing, 1);
	assert_int_equal(s0.encrypt_failures, 1);
	/* The next link tries the stored bond again, and pairs once. */
	connect(0, 1);
	assert_int_equal(C[0].sec_events[HCIHOST_SEC_KEY_MISSING], 2);
	assert_int_equal(C[0].pair_reqs, 3);
}

static void test_plain_central_refused(void **state)
{
	struct hcihost_stats s1;

	(void)state;
	hcihost_free(C[0].h);
	ctl_start(0, HCIHOST_CENTRAL, HCIHOST_SECURITY_NONE);
	connect(0, 1);
	/* A 4.23: Insufficient Encryption, to a central that did not
	 * encrypt. */
	assert_int_equal(C[0].opens[0], 0);
	assert_int_equal(C[1].opens[0], 0);
	assert_int_equal(C[0].closes[0], 1);
	assert_int_equal(C[0].close_err[0], -ECONNREFUSED);
	hcihost_get_stats(C[1].h, &s1);
	assert_int_equal(s1.unencrypted_refusals, 1);
	assert_int_equal(C[0].pair_reqs, 0);
}

static void test_encryption_never_starts(void **state)
{
	(void)state;
	connect(0, 1);
	disconnect_all(0, 1);
	C[0].swallow_encrypt = true;
	connect(0, 1);
	assert_int_equal(C[0].opens[0], 1);
	assert_true(hcihost_next_deadline(C[0].h) <=
		    now + C[0].cfg.connect_timeout_ns);
	now += C[0].cfg.connect_timeout_ns;
	hcihost_tick(C[0].h, now);
	settle();
	now += 1 * MS;
	hcihost_tick(C[0].h, now);
	settle();
	assert_int_equal(C[0].closes[0], 2);
	assert_int_equal(C[0].close_err[0], -ETIMEDOUT);
	assert_int_equal(C[0].sec_events[HCIHOST_SEC_FAILED], 1);
}

static void test_controller_silent(void **state)
{
	(void)state;
	/* LE Read Local P-256 Public Key answered by Command Status and
	 * never completed: the host treats the controller as gone. */
	C[0].swallow_p256 = true;
	connect(0, 1);
	assert_int_equal(C[0].downs, 0);
	now += 2 * C[0].cfg.cmd_timeout_ns;
	hcihost_tick(C[0].h, now);
	settle();
	assert_int_equal(C[0].downs, 1);
	assert_int_equal(C[0].down_err, -ETIMEDOUT);
	assert_int_equal(C[0].close_err[0], -ETIMEDOUT);
}

static void test_two_ears(void **state)
{
	struct hcihost_stats s0;

	(void)state;
	ctl_start(2, HCIHOST_PERIPHERAL, HCIHOST_SECURITY_ENCRYPT);
	/* Both open before either pairs: the pairings share the
	 * controller's crypto, one request at a time, and its key pair. */
	assert_int_equal(hcihost_open(C[1].h, 0, NULL, HCI_ADDR_PUBLIC, now),
			 0);
	assert_int_equal(hcihost_open(C[2].h, 0, NULL, HCI_ADDR_PUBLIC, now),
			 0);
	settle();
	assert_int_equal(hcihost_open(C[0].h, 0, &C[1].addr, HCI_ADDR_PUBLIC,
				      now),
			 0);
	assert_int_equal(hcihost_open(C[0].h, 1, &C[2].addr, HCI_ADDR_PUBLIC,
				      now),
			 0);
	settle();
	assert_int_equal(C[0].opens[0], 1);
	assert_int_equal(C[0].opens[1], 1);
	assert_int_equal(C[0].nbond, 2);
	assert_memory_not_equal(C[0].bond[0].ltk, C[0].bond[1].ltk, 16);
	hcihost_get_stats(C[0].h, &s0);
	assert_int_equal(s0.pairings, 2);
	assert_int_equal(s0.pairing_failures, 0);
}

/* A peripheral's stray SMP after its pairing is counted, not taken. */
static void test_smp_after_pairing(void **state)
{
	struct hcihost_stats s1;
	uint8_t b[20] = { 0x02, 0, 0x20, 11, 0, 7, 0, 6, 0, 0x01, 0x03, 0,
			  0x09, 16, 0, 2 };

	(void)state;
	connect(0, 1);
	put16(b + 1, (uint16_t)(C[1].handle | 0x2000));
	hcihost_input(C[1].h, b, 16, now);
	settle();
	hcihost_get_stats(C[1].h, &s1);
	assert_int_equal(s1.smp_errors, 1);
	assert_int_equal(hcihost_chan_state(C[1].h, 0), HCIHOST_CH_OPEN);
}

/* Security events nobody asked for, for no link, or malformed: counted
 * or answered as the spec says, nothing else changes. */
static void test_hostile_events(void **state)
{
	struct hcihost_stats st;
	uint8_t key[3 + 2 + 65] = { 0x04, 0x3e, 66, 0x08, 0x00 };
	uint8_t dh[3 + 2 + 33] = { 0x04, 0x3e, 34, 0x09, 0x00 };
	uint8_t ltk[3 + 13] = { 0x04, 0x3e, 13, 0x05, 0x23, 0x01 };

	(void)state;
	/* Encryption Change and Key Refresh for a handle nobody has. */
	hcihost_input(C[0].h,
		      (const uint8_t[]){ 0x04, 0x08, 4, 0, 0x23, 0x01, 1 }, 7,
		      now);
	hcihost_input(C[0].h, (const uint8_t[]){ 0x04, 0x30, 3, 0, 0x23, 0x01 },
		      6, now);
	/* Truncated and long ones. */
	hcihost_input(C[0].h, (const uint8_t[]){ 0x04, 0x08, 3, 0, 0x23, 0x01 },
		      6, now);
	hcihost_input(C[0].h,
		      (const uint8_t[]){ 0x04, 0x08, 5, 0, 0x23, 0x01, 1, 9 },
		      8, now);
	/* P-256 and DHKey completions nobody asked for. */
	memset(key + 5, 0x11, 64);
	hcihost_input(C[0].h, key, sizeof(key), now);
	hcihost_input(C[0].h, dh, sizeof(dh), now);
	/* An LTK request at a central: refused (7.8.26). */
	hcihost_input(C[0].h, ltk, sizeof(ltk), now);
	settle();
	hcihost_get_stats(C[0].h, &st);
	assert_int_equal(st.evt_errors, 2);
	assert_int_equal(st.encryptions, 0);
	assert_int_equal(st.encrypt_failures, 0);
	assert_int_equal(hcihost_state(C[0].h), HCIHOST_READY);
	/* And the link still pairs and opens as usual. */
	connect(0, 1);
	assert_int_equal(C[0].opens[0], 1);
	assert_int_equal(C[0].pair_reqs, 1);
}

#define T(name, fn)                                                           \
	{                                                                     \
		"smp-host/" name, fn, setup, teardown, NULL                   \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("pair_then_reconnect", test_pair_then_reconnect),
		T("key_missing", test_key_missing),
		T("key_missing_once", test_key_missing_once),
		T("plain_central_refused", test_plain_central_refused),
		T("encryption_never_starts", test_encryption_never_starts),
		T("controller_silent", test_controller_silent),
		T("two_ears", test_two_ears),
		T("smp_after_pairing", test_smp_after_pairing),
		T("hostile_events", test_hostile_events),
	};

	return cmocka_run_group_tests_name("smp-host", tests, NULL, NULL);
}
