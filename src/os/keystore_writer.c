/* SPDX-License-Identifier: MIT */
/*
 * Where the bond writer thread runs (contracts: keystore.h,
 * keystore_writer_place()).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "core/cgroup_parse.h"
#include "os/keystore.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static int read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		return -errno;
	}
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0) {
		return -errno;
	}
	buf[n] = '\0';
	return 0;
}

static int cgroup_of(const char *proc_file, char *path, size_t size)
{
	char buf[4096];
	int r = read_text(proc_file, buf, sizeof(buf));

	return r < 0 ? r : cgroup_parse_proc_cgroup(buf, path, size);
}

/* The unified hierarchy's mount point, where systemd puts it. */
static const char *cgroup2_mount(void)
{
	static const char *const usual[] = { "/sys/fs/cgroup",
					     "/sys/fs/cgroup/unified" };
	struct statfs s;

	for (size_t i = 0; i < sizeof(usual) / sizeof(usual[0]); i++) {
		if (statfs(usual[i], &s) == 0 &&
		    (unsigned long)s.f_type ==
			    (unsigned long)CGROUP2_SUPER_MAGIC) {
			return usual[i];
		}
	}
	return NULL;
}

int keystore_writer_place(void)
{
	char main_cg[1024], self_cg[1024], file[2048], tid[32];
	pid_t pid = getpid();
	const char *mnt;
	cpu_set_t set;
	int fd, n, r = 0;

	/* The main thread's tid is the pid. */
	n = snprintf(file, sizeof(file), "/proc/%d/task/%d/cgroup", (int)pid,
		     (int)pid);
	if (n > 0 && (size_t)n < sizeof(file) &&
	    cgroup_of(file, main_cg, sizeof(main_cg)) == 0 &&
	    cgroup_of("/proc/thread-self/cgroup", self_cg, sizeof(self_cg)) ==
		    0 &&
	    strcmp(main_cg, self_cg) != 0 && (mnt = cgroup2_mount())) {
		/* Out of the RT thread's threaded cgroup (its partition
		 * owns the RT CPU): back into the main thread's. */
		n = snprintf(file, sizeof(file), "%s%s/cgroup.threads", mnt,
			     main_cg);
		snprintf(tid, sizeof(tid), "%d", (int)gettid());
		if (n > 0 && (size_t)n < sizeof(file)) {
			fd = open(file, O_WRONLY | O_CLOEXEC);
			if (fd < 0 ||
			    write(fd, tid, strlen(tid)) != (ssize_t)strlen(tid)) {
				r = -errno;
			}
			if (fd >= 0) {
				close(fd);
			}
		}
	}
	/* The main thread's CPUs, not the RT thread's one. */
	if (sched_getaffinity(pid, sizeof(set), &set) < 0 ||
	    sched_setaffinity(0, sizeof(set), &set) < 0) {
		r = r < 0 ? r : -errno;
	}
	return r;
}
