/* SPDX-License-Identifier: MIT */
/*
 * Bond files (os/keystore) in a temporary directory: written mode 0600
 * whatever the umask, atomically (no temporary left, the old file
 * replaced whole), read back equal; hostile files refused (corrupt, too
 * long, a symbolic link, a directory, a bond whose addresses are not its
 * name's); the scan finds a peer's bonds and counts the bad ones; the
 * state directory from $STATE_DIRECTORY.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "os/keystore.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s/ttws-keystore.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void bond(struct smp_bond *b, uint8_t local, uint8_t peer)
{
	memset(b, 0, sizeof(*b));
	b->local = (struct hci_bdaddr){ { local, 0, 1, 0, 0xaa, 0 } };
	b->peer = (struct hci_bdaddr){ { peer, 0, 1, 1, 0xaa, 0 } };
	for (unsigned i = 0; i < 16; i++) {
		b->ltk[i] = (uint8_t)(local + peer + i);
	}
	b->key_size = 16;
	b->secure_connections = true;
}

static void path_of(const struct smp_bond *b, char *buf, size_t cap)
{
	char name[SMP_BOND_NAME_MAX];

	assert_int_equal(smp_bond_name(&b->local, &b->peer, b->peer_type, name,
				       sizeof(name)),
			 0);
	snprintf(buf, cap, "%s/%s", dir, name);
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void test_save_load(void **state)
{
	struct smp_bond b, c;
	char path[512];
	struct stat st;
	mode_t old;

	(void)state;
	bond(&b, 0x42, 0x43);
	/* A permissive umask must not leak the key. */
	old = umask(0);
	assert_int_equal(keystore_save(dir, &b), 0);
	umask(old);
	path_of(&b, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(keystore_load(dir, &b.local, &b.peer, 0, &c), 0);
	assert_memory_equal(&b, &c, sizeof(b));
	/* Replaced whole by a new pairing; no temporary left behind. */
	b.ltk[0] ^= 0xff;
	assert_int_equal(keystore_save(dir, &b), 0);
	assert_int_equal(keystore_load(dir, &b.local, &b.peer, 0, &c), 0);
	assert_int_equal(c.ltk[0], b.ltk[0]);
	{
		char tmp[600], name[SMP_BOND_NAME_MAX];

		smp_bond_name(&b.local, &b.peer, 0, name, sizeof(name));
		snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
		assert_int_equal(access(tmp, F_OK), -1);
	}
	/* Another type of the same address is another bond. */
	assert_int_equal(keystore_load(dir, &b.local, &b.peer, 1, &c),
			 -ENOENT);
	assert_int_equal(keystore_load("/nonexistent-ttws", &b.local, &b.peer,
				       0, &c),
			 -ENOENT);
}

static void test_hostile_files(void **state)
{
	struct smp_bond b, c, other;
	char path[512], text[SMP_BOND_TEXT_MAX], big[KEYSTORE_FILE_MAX + 10];
	size_t n;

	(void)state;
	bond(&b, 0x42, 0x43);
	path_of(&b, path, sizeof(path));
	/* Garbage. */
	write_file(path, "ltk=nonsense\n", 13);
	memset(&c, 0x5a, sizeof(c));
	assert_int_equal(keystore_load(dir, &b.local, &b.peer, 0, &c),
			 -EBADMSG);
	assert_int_equal(c.key_size, 0x5a);
	/* Valid text, padded past the size limit with comments. */
	assert_int_equal(smp_bond_format(&b, text, sizeof(text), &n), 0);
	memset(big, '#', sizeof(big));
	memcpy(big, text, n);
	big[n] = '\n';
	for (size_t i = n + 1; i < sizeof(big); i += 100) {
		big[i] = '\n';
	}
	write_file(path, big, sizeof(big));
	assert_int_equal(keystore_load(dir, &b.local, &b.peer, 0, &c),
			 -EBADMSG);
	/* Another bond's contents under this name. */
	bond(&other, 0x42, 0x44);
	assert_int_equal(smp_bond_format(&other, text, sizeof(text), &n), 0);
	write_file(path, text, n);
	assert_int_equal(keystore_load(dir, &b.local, &b.peer, 0, &c),
			 -EBADMSG);
	/* A symbolic link to a valid bond is not followed. */
	assert_int_equal(keystore_save(dir, &other), 0);
	unlink(path);
	{
		char target[512];

		path_of(&other, target, sizeof(target));
		assert_int_equal(symlink(target, path), 0);
	}
	assert_int_equal(keystore_load(dir, &b.local, &b.peer, 0, &c),
			 -EBADMSG);
	/* A directory. */
	unlink(path);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(keystore_load(dir, &b.local, &b.peer, 0, &c),
			 -EBADMSG);
	rmdir(path);
	/* And the real thing, finally. */
	assert_int_equal(keystore_save(dir, &b), 0);
	assert_int_equal(keystore_load(dir, &b.local, &b.peer, 0, &c), 0);
}

static void test_scan(void **state)
{
	struct smp_bond b[3], out[4], junk;
	char path[512], bad[SMP_BOND_NAME_MAX];
	unsigned n = 99, corrupt = 99;

	(void)state;
	/* Two dongles with peer 0x43, one with another peer. */
	bond(&b[0], 0x42, 0x43);
	bond(&b[1], 0x52, 0x43);
	bond(&b[2], 0x42, 0x44);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(keystore_save(dir, &b[i]), 0);
	}
	/* A third dongle's file for 0x43, damaged. */
	bond(&junk, 0x62, 0x43);
	path_of(&junk, path, sizeof(path));
	write_file(path, "version=1\n", 10);
	/* Files that are not bonds at all. */
	{
		char other[512];

		snprintf(other, sizeof(other), "%s/README", dir);
		write_file(other, "x", 1);
	}
	assert_int_equal(keystore_scan(dir, &b[0].peer, 0, out, 4, &n,
				       &corrupt, bad, sizeof(bad)),
			 0);
	assert_int_equal(n, 2);
	assert_int_equal(corrupt, 1);
	assert_string_equal(bad, "bond-00AA00010062-00AA01010043-public");
	for (unsigned i = 0; i < n; i++) {
		assert_memory_equal(out[i].peer.b, b[0].peer.b, 6);
	}
	/* Bounded: one asked for, one given. */
	assert_int_equal(keystore_scan(dir, &b[0].peer, 0, out, 1, &n,
				       &corrupt, NULL, 0),
			 0);
	assert_int_equal(n, 1);
	/* A missing directory holds no bonds. */
	assert_int_equal(keystore_scan("/nonexistent-ttws", &b[0].peer, 0, out,
				       4, &n, &corrupt, NULL, 0),
			 0);
	assert_int_equal(n, 0);
}

static void test_dir(void **state)
{
	char buf[KEYSTORE_DIR_MAX], sub[300];

	(void)state;
	setenv("STATE_DIRECTORY", "/var/lib/ttws:/var/lib/other", 1);
	assert_int_equal(keystore_dir(buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/var/lib/ttws");
	unsetenv("STATE_DIRECTORY");
	assert_int_equal(keystore_dir(buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/var/lib/ttws");
	setenv("STATE_DIRECTORY", "relative", 1);
	assert_int_equal(keystore_dir(buf, sizeof(buf)), -EINVAL);
	setenv("STATE_DIRECTORY", "/x", 1);
	assert_int_equal(keystore_dir(buf, 2), -ENAMETOOLONG);
	unsetenv("STATE_DIRECTORY");
	snprintf(sub, sizeof(sub), "%s/state", dir);
	assert_int_equal(keystore_prepare(sub), 0);
	assert_int_equal(keystore_prepare(sub), 0);
	{
		struct stat st;

		assert_int_equal(stat(sub, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0700);
	}
	rmdir(sub);
}

#define T(name, fn)                                                           \
	{                                                                     \
		"smp-keystore/" name, fn, setup, teardown, NULL               \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("save_load", test_save_load),
		T("hostile_files", test_hostile_files),
		T("scan", test_scan),
		T("dir", test_dir),
	};

	return cmocka_run_group_tests_name("smp-keystore", tests, NULL, NULL);
}
