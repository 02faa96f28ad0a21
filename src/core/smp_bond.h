/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_SMP_BOND_H
#define TTWS_CORE_SMP_BOND_H

/*
 * A bond: what an LE Secure Connections pairing leaves for the next
 * connection (Core 5.4, Vol 3, Part H, 2.4: the LTK, with EDIV and Rand
 * zero for Secure Connections, 2.4.4; the peer's identity if it gave it,
 * 3.6.4 and 3.6.5), and its text form in a file (src/os/keystore.c does
 * the file). Pure.
 *
 * The text is lines of key=value, '#' comments and blank lines ignored:
 *
 *   version=1
 *   local=00:AA:01:00:00:42         our controller (BD_ADDR, public)
 *   peer=00:AA:01:01:00:42          the earbud as we connect to it
 *   peer_type=public                or random
 *   ltk=<32 hex digits>             octets in HCI order (least
 *                                   significant first)
 *   ediv=0  rand=<16 hex digits>    (two lines; both 0 for SC)
 *   key_size=16                     7..16
 *   authenticated=no                MITM protection (yes/no)
 *   secure_connections=yes
 *   irk=<32 hex digits>             optional, with identity and
 *   identity=AA:BB:CC:DD:EE:FF      identity_type (public or random)
 *   identity_type=public
 *
 * The parser takes the file as hostile input: every line must be one
 * of these keys, once, with a value in range; anything else (unknown or
 * repeated keys, bad hex, an all-zero LTK, an IRK without an identity,
 * a line over 128 characters, a NUL) makes the whole file invalid.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hci.h"

/* Longest text smp_bond_format() writes (it needs less). */
#define SMP_BOND_TEXT_MAX 1024
/* "bond-" + 12 + "-" + 12 + "-" + "public"/"random" + NUL */
#define SMP_BOND_NAME_MAX 40

struct smp_bond {
	struct hci_bdaddr local;
	struct hci_bdaddr peer;
	uint8_t peer_type;      /* 0 public, 1 random */
	uint8_t ltk[16];        /* HCI order */
	uint16_t ediv;
	uint8_t rand[8];
	uint8_t key_size;       /* octets, 7..16 */
	bool authenticated;
	bool secure_connections;
	bool have_irk;
	uint8_t irk[16];        /* HCI order */
	uint8_t id_type;        /* 0 public, 1 static random */
	struct hci_bdaddr id_addr;
};

/* The text of b into buf (cap octets, NUL-terminated): 0 and *ret_len
 * (without the NUL), -ENOBUFS, -EINVAL (b out of range). */
int smp_bond_format(const struct smp_bond *b, char *buf, size_t cap,
		    size_t *ret_len);

/*
 * Parse len octets of text (no NUL needed). 0 with *ret, or -EBADMSG
 * (invalid: *ret_line, when not NULL, is the 1-based line, 0 for a
 * missing key) with *ret untouched.
 */
int smp_bond_parse(const char *text, size_t len, struct smp_bond *ret,
		   unsigned *ret_line);

/* The file name of the bond of local and peer (peer_type 0 or 1):
 * "bond-00AA01000042-00AA01010042-public". -ENOBUFS, -EINVAL. */
int smp_bond_name(const struct hci_bdaddr *local,
		  const struct hci_bdaddr *peer, uint8_t peer_type, char *buf,
		  size_t cap);

/* "AA:BB:CC:DD:EE:FF" (most significant first) to wire order. -EINVAL. */
int smp_bdaddr_parse(const char *s, size_t len, struct hci_bdaddr *ret);

#endif
