/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the bond file parser (src/core/smp_bond.c): the
 * text of a file in the state directory, read at start (os/keystore.c
 * opens it; the parsing is all here, and makes no syscall). Hostile:
 * anyone who can write the directory, a disk that lies.
 *
 * The input is the file's text. Beyond memory safety and UB:
 *   - the parser agrees with a reference parser written again here from
 *     smp_bond.h's description (every line a known key once, values in
 *     range, 128 characters at most, no NUL, the identity keys all or
 *     none, an LTK not all zero): on whether the file is valid, on the
 *     line it names when not, and on every field when it is;
 *   - so it never accepts a key or a random value of the wrong length,
 *     an address type or key size out of range, a malformed address;
 *   - a failure is -EBADMSG, with *ret untouched;
 *   - an accepted bond formats (smp_bond_format()) within
 *     SMP_BOND_TEXT_MAX and a keystore file, exactly sized (one octet
 *     less is -ENOBUFS), and the text parses back to the same bond and
 *     formats to the same text (round trip);
 *   - its file name (smp_bond_name()) is "bond-LOCAL-PEER-TYPE" with the
 *     addresses as the file wrote them, the name keystore.c checks.
 * Then the input's first octets are taken as a bond (any values) and
 * formatted: refused (-EINVAL) exactly when a field is out of range,
 * else parsed back to the same bond (-EBADMSG only for an all-zero LTK).
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/smp_bond.h"
#include "os/keystore.h"

#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the reference parser ------------------------------------------- */

enum { R_VERSION, R_LOCAL, R_PEER, R_PEER_TYPE, R_LTK, R_EDIV, R_RAND,
       R_KEY_SIZE, R_AUTH, R_SC, R_IRK, R_IDENTITY, R_IDENTITY_TYPE, R_N };

static const char *const ref_keys[R_N] = {
	"version", "local", "peer", "peer_type", "ltk", "ediv", "rand",
	"key_size", "authenticated", "secure_connections", "irk",
	"identity", "identity_type",
};

static int ref_hex(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool ref_is(const char *v, size_t n, const char *w)
{
	return strlen(w) == n && strncmp(v, w, n) == 0;
}

/* n octets as 2n hex digits, text order. */
static bool ref_bytes(const char *v, size_t len, uint8_t *out, size_t n)
{
	if (len != 2 * n) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		int d = ref_hex(v[i]);

		if (d < 0) {
			return false;
		}
		out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] | d : d << 4);
	}
	return true;
}

/* "AA:BB:CC:DD:EE:FF", most significant first, into wire order. */
static bool ref_addr(const char *v, size_t n, struct hci_bdaddr *a)
{
	uint8_t msb[6];
	char hex[12];

	if (n != 17) {
		return false;
	}
	for (size_t i = 0; i < 17; i++) {
		if (i % 3 == 2) {
			if (v[i] != ':') {
				return false;
			}
		} else {
			hex[i / 3 * 2 + i % 3] = v[i];
		}
	}
	if (!ref_bytes(hex, 12, msb, 6)) {
		return false;
	}
	for (unsigned i = 0; i < 6; i++) {
		a->b[i] = msb[5 - i];
	}
	return true;
}

static bool ref_type(const char *v, size_t n, uint8_t *t)
{
	*t = ref_is(v, n, "random");
	return ref_is(v, n, "public") || *t;
}

static bool ref_yes_no(const char *v, size_t n, bool *b)
{
	*b = ref_is(v, n, "yes");
	return ref_is(v, n, "no") || *b;
}

/* Decimal, no sign, no leading zero, lo..hi. */
static bool ref_uint(const char *v, size_t n, long lo, long hi, long *ret)
{
	char buf[8];
	char *end;

	if (n == 0 || n > 5 || (n > 1 && v[0] == '0')) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9') {
			return false;
		}
	}
	memcpy(buf, v, n);
	buf[n] = '\0';
	*ret = strtol(buf, &end, 10);
	return *ret >= lo && *ret <= hi;
}

static bool ref_value(struct smp_bond *b, unsigned k, const char *v, size_t n)
{
	long x = 0;
	bool ok = false;

	switch (k) {
	case R_VERSION:
		return ref_is(v, n, "1");
	case R_LOCAL:
		return ref_addr(v, n, &b->local);
	case R_PEER:
		return ref_addr(v, n, &b->peer);
	case R_PEER_TYPE:
		return ref_type(v, n, &b->peer_type);
	case R_LTK:
		return ref_bytes(v, n, b->ltk, 16);
	case R_EDIV:
		ok = ref_uint(v, n, 0, 65535, &x);
		b->ediv = (uint16_t)x;
		return ok;
	case R_RAND:
		return ref_bytes(v, n, b->rand, 8);
	case R_KEY_SIZE:
		/* Core 5.4, Vol 3, Part H, 3.5.1: 7 to 16 octets. */
		ok = ref_uint(v, n, 7, 16, &x);
		b->key_size = (uint8_t)x;
		return ok;
	case R_AUTH:
		return ref_yes_no(v, n, &b->authenticated);
	case R_SC:
		return ref_yes_no(v, n, &b->secure_connections);
	case R_IRK:
		return ref_bytes(v, n, b->irk, 16);
	case R_IDENTITY:
		return ref_addr(v, n, &b->id_addr);
	case R_IDENTITY_TYPE:
		return ref_type(v, n, &b->id_type);
	}
	return false;
}

/* 0 with *ret, or the failing line (1-based; 0: the file as a whole)
 * plus one, negated. */
static long ref_parse(const char *t, size_t len, struct smp_bond *ret)
{
	struct smp_bond b;
	unsigned seen = 0, line = 0, ids;
	size_t pos = 0;
	bool zero = true;

	memset(&b, 0, sizeof(b));
	while (pos < len) {
		size_t n = 0, klen = 0;
		unsigned k;

		while (pos + n < len && t[pos + n] != '\n') {
			n++;
		}
		line++;
		if (n > 128 || memchr(t + pos, '\0', n)) {
			return -(long)line - 1;
		}
		if (n > 0 && t[pos] != '#') {
			while (klen < n && t[pos + klen] != '=') {
				klen++;
			}
			for (k = 0; k < R_N; k++) {
				if (ref_is(t + pos, klen, ref_keys[k])) {
					break;
				}
			}
			if (klen == n || k == R_N || (seen & 1u << k) ||
			    !ref_value(&b, k, t + pos + klen + 1,
				       n - klen - 1)) {
				return -(long)line - 1;
			}
			seen |= 1u << k;
		}
		pos += n + 1;
	}
	ids = seen >> R_IRK & 7;
	for (unsigned i = 0; i < 16; i++) {
		zero = zero && b.ltk[i] == 0;
	}
	if ((seen & ((1u << R_IRK) - 1)) != (1u << R_IRK) - 1 ||
	    (ids != 0 && ids != 7) || zero) {
		return -1;
	}
	b.have_irk = ids == 7;
	*ret = b;
	return 0;
}

/* ---- checks ----------------------------------------------------------- */

static bool bond_equal(const struct smp_bond *a, const struct smp_bond *b)
{
	return memcmp(&a->local, &b->local, sizeof(a->local)) == 0 &&
	       memcmp(&a->peer, &b->peer, sizeof(a->peer)) == 0 &&
	       a->peer_type == b->peer_type &&
	       memcmp(a->ltk, b->ltk, 16) == 0 && a->ediv == b->ediv &&
	       memcmp(a->rand, b->rand, 8) == 0 &&
	       a->key_size == b->key_size &&
	       a->authenticated == b->authenticated &&
	       a->secure_connections == b->secure_connections &&
	       a->have_irk == b->have_irk &&
	       memcmp(a->irk, b->irk, 16) == 0 && a->id_type == b->id_type &&
	       memcmp(&a->id_addr, &b->id_addr, sizeof(a->id_addr)) == 0;
}

static void check_name(const struct smp_bond *b)
{
	char name[SMP_BOND_NAME_MAX], want[SMP_BOND_NAME_MAX];
	const struct hci_bdaddr *a[2] = { &b->local, &b->peer };
	size_t n;

	check(smp_bond_name(&b->local, &b->peer, b->peer_type, name,
			    sizeof(name)) == 0);
	n = (size_t)snprintf(want, sizeof(want), "bond-");
	for (unsigned k = 0; k < 2; k++) {
		for (unsigned i = 6; i-- > 0;) {
			n += (size_t)snprintf(want + n, sizeof(want) - n,
					      "%02X", a[k]->b[i]);
		}
		want[n++] = '-';
	}
	snprintf(want + n, sizeof(want) - n, "%s",
		 b->peer_type ? "random" : "public");
	check(strcmp(name, want) == 0);
	/* Short buffers: -ENOBUFS, never a cut name. */
	check(smp_bond_name(&b->local, &b->peer, b->peer_type, name,
			    strlen(want)) == -ENOBUFS);
	check(smp_bond_name(&b->local, &b->peer, 2, name, sizeof(name)) ==
	      -EINVAL);
}

/* Format b, parse the text back: the same bond, the same text. */
static void round_trip(const struct smp_bond *b)
{
	static char text[SMP_BOND_TEXT_MAX], again[SMP_BOND_TEXT_MAX];
	struct smp_bond b2;
	size_t n = 0, n2 = 0, m = 0;

	check(smp_bond_format(b, text, sizeof(text), &n) == 0);
	check(n < SMP_BOND_TEXT_MAX && n <= KEYSTORE_FILE_MAX);
	check(strlen(text) == n);
	check(smp_bond_parse(text, n, &b2, NULL) == 0);
	check(bond_equal(b, &b2));
	check(smp_bond_format(&b2, again, sizeof(again), &n2) == 0);
	check(n2 == n && memcmp(text, again, n) == 0);
	/* Exactly sized: room for the NUL, and not one octet less. */
	check(smp_bond_format(b, again, n + 1, &m) == 0 && m == n);
	check(smp_bond_format(b, again, n, &m) == -ENOBUFS);
}

/* The input's first octets as a bond, every field any value. */
static void from_octets(const uint8_t *data, size_t size)
{
	uint8_t o[80];
	struct smp_bond b, p;
	static char text[SMP_BOND_TEXT_MAX];
	size_t n = 0;
	unsigned line = 99;
	bool bad, zero = true;
	int r;

	memset(o, 0, sizeof(o));
	memcpy(o, data, size < sizeof(o) ? size : sizeof(o));
	memset(&b, 0, sizeof(b));
	memcpy(b.local.b, o, 6);
	memcpy(b.peer.b, o + 6, 6);
	b.peer_type = o[12] % 3;
	memcpy(b.ltk, o + 13, 16);
	b.ediv = (uint16_t)(o[29] | o[30] << 8);
	memcpy(b.rand, o + 31, 8);
	b.key_size = o[39];
	b.authenticated = o[40] & 1;
	b.secure_connections = o[40] & 2;
	b.have_irk = o[40] & 4;
	memcpy(b.irk, o + 41, 16);
	b.id_type = o[57] % 3;
	memcpy(b.id_addr.b, o + 58, 6);
	bad = b.peer_type > 1 || b.key_size < 7 || b.key_size > 16 ||
	      (b.have_irk && b.id_type > 1);
	r = smp_bond_format(&b, text, sizeof(text), &n);
	check(r == (bad ? -EINVAL : 0));
	if (bad) {
		return;
	}
	for (unsigned i = 0; i < 16; i++) {
		zero = zero && b.ltk[i] == 0;
	}
	r = smp_bond_parse(text, n, &p, &line);
	if (zero) {
		check(r == -EBADMSG && line == 0);
		return;
	}
	check(r == 0);
	if (!b.have_irk) {
		/* Not written, so read as zero. */
		memset(b.irk, 0, sizeof(b.irk));
		b.id_type = 0;
		memset(&b.id_addr, 0, sizeof(b.id_addr));
	}
	check(bond_equal(&b, &p));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct smp_bond b, want, sentinel;
	unsigned line = 12345;
	long ref;
	int r;

	memset(&b, 0x5a, sizeof(b));
	sentinel = b;
	r = smp_bond_parse(text, size, &b, &line);
	ref = ref_parse(text, size, &want);
	if (ref < 0) {
		check(r == -EBADMSG);
		check(line == (unsigned)(-ref - 1));
		check(memcmp(&b, &sentinel, sizeof(b)) == 0);
		/* No line number asked for: the same answer. */
		check(smp_bond_parse(text, size, &b, NULL) == -EBADMSG);
	} else {
		check(r == 0);
		check(bond_equal(&b, &want));
		/* What the reference enforced, said once more. */
		check(b.peer_type <= 1 && b.key_size >= 7 &&
		      b.key_size <= 16 && b.id_type <= 1);
		check(b.have_irk || (b.id_type == 0 &&
		      memcmp(b.irk, (uint8_t[16]){ 0 }, 16) == 0));
		round_trip(&b);
		check_name(&b);
	}
	from_octets(data, size);
	return 0;
}
