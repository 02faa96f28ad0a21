/* SPDX-License-Identifier: MIT */
#ifndef TTWS_OS_RT_PRIVATE_H
#define TTWS_OS_RT_PRIVATE_H

/*
 * Shared by the parts of os/rt: rt.c (applying the policy), rt_cgroup.c
 * (joining the RT cgroup), rt_probe.c (reading cgroups and sysctls back),
 * rt_format.c (text and JSON) and rt_util.c (these helpers). Not for use
 * outside src/os/rt*.c.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "os/rt.h"

#if defined(__SANITIZE_ADDRESS__)
#define RT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RT_ASAN 1
#endif
#endif
#ifndef RT_ASAN
#define RT_ASAN 0
#endif

/* A cgroup directory: mount point + cgroup path + a child name. */
#define RT_DIR_MAX (2 * RT_PATH_MAX + 16)

void rt_item_fix(struct rt_item *it, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rt_item_fail(struct rt_item *it, int err);

/* Drop trailing newlines and spaces in place. */
void rt_strip_newline(char *s);

/*
 * Read a small text file into buf (NUL-terminated). Returns the length or
 * a negative errno; -EFBIG when it does not fit (buf holds the prefix).
 */
int rt_read_text(const char *path, char *buf, size_t size);

/* Read a file of unknown size (mountinfo); *ret is malloc'd. */
int rt_read_text_alloc(const char *path, char **ret);

/* A sysctl holding one signed integer (/proc/sys/...). */
int rt_read_sysctl_i64(const char *path, int64_t *ret);

/* Write text to an existing file (cgroupfs). 0 or -errno. */
int rt_write_text(const char *path, const char *text);

const char *rt_errno_name(int err);
const char *rt_errno_desc(int err);
const char *rt_policy_name(int policy);

/*
 * The cgroup2 mount point into ret (size bytes): /sys/fs/cgroup,
 * /sys/fs/cgroup/unified (hybrid) or the first in mountinfo. 0 or
 * -ENOENT.
 */
int rt_cgroup_mount(const char *mountinfo, char *ret, size_t size);

/*
 * This thread's cgroup v2 path ("0::" line of /proc/thread-self/cgroup).
 * 0 or a negative errno (-ENOENT: pure cgroup v1).
 */
int rt_cgroup_self(char *ret, size_t size);

/*
 * What a thread move refused with EACCES ran into: the kernel wants the
 * writer able to enter the destination's directory and write its
 * cgroup.threads, and able to write cgroup.procs of the common ancestor
 * of source and destination (cgroup-v2.rst, "Delegation Containment";
 * kernel/cgroup/cgroup.c checks the latter with the opener's
 * credentials). Each *_err is 0 or the negative errno access(2) gave for
 * this thread; mode and uid are from stat(2) (uid -1 when unknown).
 * Strings are borrowed.
 */
struct rt_move_access {
	const char *dir;      /* destination cgroup directory */
	const char *ancestor; /* common ancestor's directory */
	int dir_err;	      /* access(dir, X_OK) */
	unsigned dir_mode;    /* permission bits of dir */
	long dir_uid;
	int file_err; /* access(dir/cgroup.threads, W_OK) */
	long file_uid;
	int procs_err; /* access(ancestor/cgroup.procs, W_OK) */
	long procs_uid;
};

/* rt_cgroup.c: the fix text for a move refused with EACCES or EPERM, the
 * first obstacle in a named (pure: formats a, touches nothing). */
void rt_cgroup_access_fix(struct rt_item *it, const struct rt_move_access *a);

/* rt_cgroup.c: move the calling thread into cfg->cgroup (step 1). */
void rt_apply_cgroup(const struct rt_config *cfg, struct rt_report *r);

/*
 * rt_cgroup.c: the CPU to pin to for cfg->cpu (RT_CPU_AUTO resolved from
 * the joined cgroup's cpuset.cpus.effective), -1 = leave affinity.
 */
int rt_resolve_cpu(const struct rt_config *cfg, struct rt_report *r);

/* rt_probe.c: the read-only checks, after everything was applied. */
void rt_probe_cgroup(const struct rt_config *cfg, struct rt_report *r);
void rt_probe_throttle(struct rt_report *r);

#endif
