/* SPDX-License-Identifier: MIT */
#ifndef TTWS_OS_KEYSTORE_H
#define TTWS_OS_KEYSTORE_H

/*
 * Bond files (core/smp_bond.h: what is in them) under the state
 * directory: one file per dongle and peer, named by smp_bond_name(),
 * mode 0600, written atomically (a temporary file in the same
 * directory, fsync, rename over the old one, fsync of the directory) so
 * that a crash leaves the old bond or the new one, never half of one.
 *
 * Files are read as hostile input: opened without following links, a
 * regular file of at most KEYSTORE_FILE_MAX octets, parsed strictly, and
 * its addresses must match its name. Blocking file I/O: never from the
 * RT thread in its steady state (ttwsd's dongle loads at set-up and
 * saves from a thread of its own).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hci.h"
#include "core/smp_bond.h"

#define KEYSTORE_FILE_MAX 4096
#define KEYSTORE_DIR_MAX 1024

/*
 * The state directory into buf: $STATE_DIRECTORY (systemd's
 * StateDirectory=; the first of a colon-separated list) or
 * /var/lib/ttws. -ENAMETOOLONG, -EINVAL (not absolute).
 */
int keystore_dir(char *buf, size_t cap);

/* Create dir (0700) if it is missing; its parent must exist. 0 or
 * -errno. */
int keystore_prepare(const char *dir);

/*
 * The bond of local and peer (peer_type 0 public, 1 random) from dir.
 * 0 with *ret; -ENOENT (no file); -EBADMSG (the file is invalid: too
 * long, not a regular file, unparsable, or not the bond its name says);
 * another -errno from the file system. *ret untouched on error.
 */
int keystore_load(const char *dir, const struct hci_bdaddr *local,
		  const struct hci_bdaddr *peer, uint8_t peer_type,
		  struct smp_bond *ret);

/*
 * Every bond in dir with peer (any local address), at most max of them
 * into out: 0 with *ret_n; invalid files are skipped and counted in
 * *ret_corrupt (their names, up to one, in corrupt_name when not NULL,
 * for the log). -errno when dir cannot be read (a missing dir: 0, none).
 */
int keystore_scan(const char *dir, const struct hci_bdaddr *peer,
		  uint8_t peer_type, struct smp_bond *out, unsigned max,
		  unsigned *ret_n, unsigned *ret_corrupt, char *corrupt_name,
		  size_t corrupt_cap);

/* Write b to dir atomically, mode 0600. 0 or -errno. */
int keystore_save(const char *dir, const struct smp_bond *b);

/*
 * For a thread that writes bonds, started by the RT thread: move the
 * calling thread into the main thread's cgroup (out of the RT thread's
 * isolated cpuset partition, through cgroup.threads) and onto the main
 * thread's CPUs. Best effort: 0, or the first -errno (the thread works
 * either way; it only sleeps and writes small files).
 * (keystore_writer.c)
 */
int keystore_writer_place(void);

#endif
