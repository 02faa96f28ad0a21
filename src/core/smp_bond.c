/* SPDX-License-Identifier: MIT */
/*
 * A bond's text form (contracts: smp_bond.h).
 */
#include "core/smp_bond.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/macro.h"

#define SMP_BOND_LINE_MAX 128

enum bond_key {
	BK_VERSION,
	BK_LOCAL,
	BK_PEER,
	BK_PEER_TYPE,
	BK_LTK,
	BK_EDIV,
	BK_RAND,
	BK_KEY_SIZE,
	BK_AUTHENTICATED,
	BK_SC,
	BK_IRK,
	BK_IDENTITY,
	BK_IDENTITY_TYPE,
	BK_N,
};

static const char *const bond_keys[BK_N] = {
	[BK_VERSION] = "version",
	[BK_LOCAL] = "local",
	[BK_PEER] = "peer",
	[BK_PEER_TYPE] = "peer_type",
	[BK_LTK] = "ltk",
	[BK_EDIV] = "ediv",
	[BK_RAND] = "rand",
	[BK_KEY_SIZE] = "key_size",
	[BK_AUTHENTICATED] = "authenticated",
	[BK_SC] = "secure_connections",
	[BK_IRK] = "irk",
	[BK_IDENTITY] = "identity",
	[BK_IDENTITY_TYPE] = "identity_type",
};

/* Keys every file has; the identity three come together or not at all. */
#define BOND_REQUIRED                                                  \
	((1u << BK_VERSION) | (1u << BK_LOCAL) | (1u << BK_PEER) |       \
	 (1u << BK_PEER_TYPE) | (1u << BK_LTK) | (1u << BK_EDIV) |       \
	 (1u << BK_RAND) | (1u << BK_KEY_SIZE) |                         \
	 (1u << BK_AUTHENTICATED) | (1u << BK_SC))
#define BOND_IDENTITY                                                         \
	((1u << BK_IRK) | (1u << BK_IDENTITY) | (1u << BK_IDENTITY_TYPE))

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

/* Exactly 2 * n hex digits into n octets, in text order. */
static int hex_parse(const char *s, size_t len, uint8_t *out, size_t n)
{
	if (len != 2 * n) {
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			return -EINVAL;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static void hex_format(char *out, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

int smp_bdaddr_parse(const char *s, size_t len, struct hci_bdaddr *ret)
{
	struct hci_bdaddr a;

	if (len != 17) {
		return -EINVAL;
	}
	for (unsigned i = 0; i < 6; i++) {
		const char *p = s + 3 * i;
		uint8_t v;

		if (hex_parse(p, 2, &v, 1) < 0 || (i < 5 && p[2] != ':')) {
			return -EINVAL;
		}
		a.b[5 - i] = v;
	}
	*ret = a;
	return 0;
}

static void bdaddr_format(char out[18], const struct hci_bdaddr *a)
{
	snprintf(out, 18, "%02X:%02X:%02X:%02X:%02X:%02X", a->b[5], a->b[4],
		 a->b[3], a->b[2], a->b[1], a->b[0]);
}

static bool value_is(const char *v, size_t n, const char *word)
{
	return n == strlen(word) && memcmp(v, word, n) == 0;
}

/* "public" 0, "random" 1. */
static int addr_type_parse(const char *v, size_t n, uint8_t *ret)
{
	if (value_is(v, n, "public")) {
		*ret = 0;
	} else if (value_is(v, n, "random")) {
		*ret = 1;
	} else {
		return -EINVAL;
	}
	return 0;
}

static int bool_parse(const char *v, size_t n, bool *ret)
{
	if (value_is(v, n, "yes")) {
		*ret = true;
	} else if (value_is(v, n, "no")) {
		*ret = false;
	} else {
		return -EINVAL;
	}
	return 0;
}

/* A decimal number 0..max, no sign, no leading zeros beyond "0". */
static int uint_parse(const char *v, size_t n, unsigned max, unsigned *ret)
{
	unsigned x = 0;

	if (n == 0 || n > 5 || (n > 1 && v[0] == '0')) {
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9') {
			return -EINVAL;
		}
		x = x * 10 + (unsigned)(v[i] - '0');
	}
	if (x > max) {
		return -EINVAL;
	}
	*ret = x;
	return 0;
}

static int bond_field(struct smp_bond *b, enum bond_key k, const char *v,
		      size_t n)
{
	unsigned x;
	int r = 0;

	switch (k) {
	case BK_VERSION:
		r = value_is(v, n, "1") ? 0 : -EINVAL;
		break;
	case BK_LOCAL:
		r = smp_bdaddr_parse(v, n, &b->local);
		break;
	case BK_PEER:
		r = smp_bdaddr_parse(v, n, &b->peer);
		break;
	case BK_PEER_TYPE:
		r = addr_type_parse(v, n, &b->peer_type);
		break;
	case BK_LTK:
		r = hex_parse(v, n, b->ltk, sizeof(b->ltk));
		break;
	case BK_EDIV:
		r = uint_parse(v, n, 0xffff, &x);
		b->ediv = (uint16_t)x;
		break;
	case BK_RAND:
		r = hex_parse(v, n, b->rand, sizeof(b->rand));
		break;
	case BK_KEY_SIZE:
		/* Vol 3, Part H, 3.5.1: 7 to 16 octets. */
		r = uint_parse(v, n, 16, &x);
		if (r == 0 && x < 7) {
			r = -EINVAL;
		}
		b->key_size = (uint8_t)x;
		break;
	case BK_AUTHENTICATED:
		r = bool_parse(v, n, &b->authenticated);
		break;
	case BK_SC:
		r = bool_parse(v, n, &b->secure_connections);
		break;
	case BK_IRK:
		r = hex_parse(v, n, b->irk, sizeof(b->irk));
		break;
	case BK_IDENTITY:
		r = smp_bdaddr_parse(v, n, &b->id_addr);
		break;
	case BK_IDENTITY_TYPE:
		r = addr_type_parse(v, n, &b->id_type);
		break;
	case BK_N:
		r = -EINVAL;
		break;
	}
	return r;
}

static int bond_line(struct smp_bond *b, unsigned *seen, const char *line,
		     size_t n)
{
	const char *eq = memchr(line, '=', n);
	size_t klen;

	if (!eq) {
		return -EINVAL;
	}
	klen = (size_t)(eq - line);
	for (unsigned k = 0; k < BK_N; k++) {
		if (!value_is(line, klen, bond_keys[k])) {
			continue;
		}
		if (*seen & (1u << k)) {
			return -EINVAL; /* repeated */
		}
		*seen |= 1u << k;
		return bond_field(b, (enum bond_key)k, eq + 1, n - klen - 1);
	}
	return -EINVAL;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++) {
		d |= p[i];
	}
	return d == 0;
}

int smp_bond_parse(const char *text, size_t len, struct smp_bond *ret,
		   unsigned *ret_line)
{
	struct smp_bond b;
	unsigned seen = 0, line = 0;
	size_t pos = 0;

	memset(&b, 0, sizeof(b));
	while (pos < len) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;

		line++;
		pos += n + (nl ? 1 : 0);
		if (n > SMP_BOND_LINE_MAX || memchr(s, '\0', n)) {
			goto bad;
		}
		if (n == 0 || s[0] == '#') {
			continue;
		}
		if (bond_line(&b, &seen, s, n) < 0) {
			goto bad;
		}
	}
	line = 0;
	if ((seen & BOND_REQUIRED) != BOND_REQUIRED ||
	    ((seen & BOND_IDENTITY) != 0 &&
	     (seen & BOND_IDENTITY) != BOND_IDENTITY) ||
	    all_zero(b.ltk, sizeof(b.ltk))) {
		goto bad;
	}
	b.have_irk = (seen & BOND_IDENTITY) != 0;
	*ret = b;
	return 0;
bad:
	if (ret_line) {
		*ret_line = line;
	}
	return -EBADMSG;
}

int smp_bond_format(const struct smp_bond *b, char *buf, size_t cap,
		    size_t *ret_len)
{
	char local[18], peer[18], id[18], ltk[33], rnd[17], irk[33];
	int n;

	if (b->peer_type > 1 || b->key_size < 7 || b->key_size > 16 ||
	    (b->have_irk && b->id_type > 1)) {
		return -EINVAL;
	}
	bdaddr_format(local, &b->local);
	bdaddr_format(peer, &b->peer);
	bdaddr_format(id, &b->id_addr);
	hex_format(ltk, b->ltk, sizeof(b->ltk));
	hex_format(rnd, b->rand, sizeof(b->rand));
	hex_format(irk, b->irk, sizeof(b->irk));
	n = snprintf(buf, cap,
		     "# ttws bond: LE Secure Connections keys of one dongle "
		     "and one earbud\n"
		     "version=1\nlocal=%s\npeer=%s\npeer_type=%s\nltk=%s\n"
		     "ediv=%u\nrand=%s\nkey_size=%u\nauthenticated=%s\n"
		     "secure_connections=%s\n",
		     local, peer, b->peer_type ? "random" : "public", ltk,
		     b->ediv, rnd, b->key_size,
		     b->authenticated ? "yes" : "no",
		     b->secure_connections ? "yes" : "no");
	if (n < 0 || (size_t)n >= cap) {
		return -ENOBUFS;
	}
	if (b->have_irk) {
		int m = snprintf(buf + n, cap - (size_t)n,
				 "irk=%s\nidentity=%s\nidentity_type=%s\n",
				 irk, id, b->id_type ? "random" : "public");

		if (m < 0 || (size_t)m >= cap - (size_t)n) {
			return -ENOBUFS;
		}
		n += m;
	}
	*ret_len = (size_t)n;
	return 0;
}

int smp_bond_name(const struct hci_bdaddr *local,
		  const struct hci_bdaddr *peer, uint8_t peer_type, char *buf,
		  size_t cap)
{
	const struct hci_bdaddr *a[2] = { local, peer };
	char hex[2][13];
	int n;

	if (peer_type > 1) {
		return -EINVAL;
	}
	for (unsigned k = 0; k < 2; k++) {
		uint8_t msb[6];

		for (unsigned i = 0; i < 6; i++) {
			msb[i] = a[k]->b[5 - i];
		}
		hex_format(hex[k], msb, 6);
		for (char *p = hex[k]; *p; p++) {
			if (*p >= 'a' && *p <= 'f') {
				*p = (char)(*p - 'a' + 'A');
			}
		}
	}
	n = snprintf(buf, cap, "bond-%s-%s-%s", hex[0], hex[1],
		     peer_type ? "random" : "public");
	return n < 0 || (size_t)n >= cap ? -ENOBUFS : 0;
}
