/* SPDX-License-Identifier: MIT */
/*
 * Bond files under the state directory (contracts: keystore.h).
 */
#include "os/keystore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYSTORE_DEFAULT_DIR "/var/lib/ttws"

int keystore_dir(char *buf, size_t cap)
{
	const char *env = getenv("STATE_DIRECTORY");
	size_t n;

	if (!env || !env[0]) {
		env = KEYSTORE_DEFAULT_DIR;
	}
	/* systemd.exec(5): several StateDirectory= entries come as a
	 * colon-separated list; ours is the first. */
	n = strcspn(env, ":");
	if (env[0] != '/') {
		return -EINVAL;
	}
	if (n >= cap) {
		return -ENAMETOOLONG;
	}
	memcpy(buf, env, n);
	buf[n] = '\0';
	return 0;
}

int keystore_prepare(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		return -errno;
	}
	if (stat(dir, &st) < 0) {
		return -errno;
	}
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int keystore_path(const char *dir, const char *name, char *buf,
			 size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* Read a whole bond file of at most KEYSTORE_FILE_MAX octets. */
static int keystore_read(int dirfd, const char *name, char *text,
			 size_t *ret_len)
{
	struct stat st;
	size_t len = 0;
	int fd, r = 0;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
					 O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		/* A link where a file should be is not a bond. */
		return errno == ELOOP ? -EBADMSG : -errno;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > KEYSTORE_FILE_MAX) {
		r = -EBADMSG;
		goto out;
	}
	for (;;) {
		ssize_t k = read(fd, text + len, KEYSTORE_FILE_MAX + 1 - len);

		if (k < 0) {
			if (errno == EINTR) {
				continue;
			}
			r = -errno;
			goto out;
		}
		if (k == 0) {
			break;
		}
		len += (size_t)k;
		if (len > KEYSTORE_FILE_MAX) {
			/* It grew since fstat. */
			r = -EBADMSG;
			goto out;
		}
	}
	*ret_len = len;
out:
	close(fd);
	return r;
}

/* Parse name's file and check it is the bond the name says. */
static int keystore_read_bond(int dirfd, const char *name,
			      struct smp_bond *ret)
{
	char text[KEYSTORE_FILE_MAX + 1], want[SMP_BOND_NAME_MAX];
	struct smp_bond b;
	size_t len = 0;
	int r;

	r = keystore_read(dirfd, name, text, &len);
	if (r < 0) {
		return r;
	}
	if (smp_bond_parse(text, len, &b, NULL) < 0 ||
	    smp_bond_name(&b.local, &b.peer, b.peer_type, want,
			  sizeof(want)) < 0 ||
	    strcmp(want, name) != 0) {
		return -EBADMSG;
	}
	*ret = b;
	return 0;
}

int keystore_load(const char *dir, const struct hci_bdaddr *local,
		  const struct hci_bdaddr *peer, uint8_t peer_type,
		  struct smp_bond *ret)
{
	char name[SMP_BOND_NAME_MAX];
	int dirfd, r;

	r = smp_bond_name(local, peer, peer_type, name, sizeof(name));
	if (r < 0) {
		return r;
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		return -errno;
	}
	r = keystore_read_bond(dirfd, name, ret);
	close(dirfd);
	return r;
}

/* "-<PEER>-<type>" at the end of a bond file name of peer. */
static bool keystore_name_for(const char *name, const struct hci_bdaddr *peer,
			      uint8_t peer_type)
{
	char want[SMP_BOND_NAME_MAX];
	static const struct hci_bdaddr any;
	size_t n = strlen(name);

	/* The name with a zero local address has the same tail. */
	if (smp_bond_name(&any, peer, peer_type, want, sizeof(want)) < 0 ||
	    n != strlen(want)) {
		return false;
	}
	/* "bond-" + 12 hex + the tail. */
	return strncmp(name, "bond-", 5) == 0 &&
	       strcmp(name + 17, want + 17) == 0;
}

int keystore_scan(const char *dir, const struct hci_bdaddr *peer,
		  uint8_t peer_type, struct smp_bond *out, unsigned max,
		  unsigned *ret_n, unsigned *ret_corrupt, char *corrupt_name,
		  size_t corrupt_cap)
{
	unsigned n = 0, corrupt = 0;
	struct dirent *de;
	DIR *d;
	int dirfd;

	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		if (errno == ENOENT) {
			*ret_n = 0;
			*ret_corrupt = 0;
			return 0;
		}
		return -errno;
	}
	d = fdopendir(dirfd);
	if (!d) {
		int r = -errno;

		close(dirfd);
		return r;
	}
	while ((de = readdir(d))) {
		struct smp_bond b;

		if (!keystore_name_for(de->d_name, peer, peer_type)) {
			continue;
		}
		if (keystore_read_bond(dirfd, de->d_name, &b) < 0) {
			if (corrupt++ == 0 && corrupt_name && corrupt_cap) {
				snprintf(corrupt_name, corrupt_cap, "%s",
					 de->d_name);
			}
			continue;
		}
		if (n < max) {
			out[n++] = b;
		}
	}
	closedir(d);
	*ret_n = n;
	*ret_corrupt = corrupt;
	return 0;
}

static int keystore_write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t k = write(fd, p, len);

		if (k < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

int keystore_save(const char *dir, const struct smp_bond *b)
{
	char name[SMP_BOND_NAME_MAX], tmp[KEYSTORE_DIR_MAX + 64];
	char path[KEYSTORE_DIR_MAX + 64], text[SMP_BOND_TEXT_MAX];
	size_t len;
	int fd, dirfd, r;

	r = smp_bond_name(&b->local, &b->peer, b->peer_type, name,
			  sizeof(name));
	if (r < 0) {
		return r;
	}
	r = smp_bond_format(b, text, sizeof(text), &len);
	if (r < 0) {
		return r;
	}
	if (keystore_path(dir, name, path, sizeof(path)) < 0) {
		return -ENAMETOOLONG;
	}
	{
		int n = snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);

		if (n < 0 || (size_t)n >= sizeof(tmp)) {
			return -ENAMETOOLONG;
		}
	}
	/* A leftover from a crash is ours to replace. */
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		return -errno;
	}
	/* The umask may have taken bits: the key is for us alone. */
	r = fchmod(fd, 0600) < 0 ? -errno : 0;
	if (r == 0) {
		r = keystore_write_all(fd, text, len);
	}
	if (r == 0 && fsync(fd) < 0) {
		r = -errno;
	}
	if (close(fd) < 0 && r == 0) {
		r = -errno;
	}
	if (r == 0 && rename(tmp, path) < 0) {
		r = -errno;
	}
	if (r < 0) {
		(void)unlink(tmp);
		return r;
	}
	/* The rename itself is durable once the directory is. */
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		return -errno;
	}
	r = fsync(dirfd) < 0 ? -errno : 0;
	close(dirfd);
	return r;
}
