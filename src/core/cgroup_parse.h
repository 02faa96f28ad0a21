/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_CGROUP_PARSE_H
#define TTWS_CORE_CGROUP_PARSE_H

/*
 * Parsers for the kernel's cgroup text files. Text in, values out: no file
 * is opened here (src/os/rt reads the files), so every format is tested
 * with literal strings and can be fuzzed.
 *
 * Formats: Documentation/admin-guide/cgroup-v2.rst ("Organizing Processes
 * and Threads", "Core Interface Files", "Cpuset") and proc(5)
 * (/proc/pid/cgroup, /proc/pid/mountinfo).
 *
 * All functions take NUL-terminated text, return 0 (or a count) or a
 * negative errno, and leave ret_* untouched on failure.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * From the text of /proc/self/cgroup, copy the cgroup v2 path: the part
 * after "0::" on the unified line ("0::/system.slice/ttwsd.service"),
 * without its newline, into ret_path (size bytes, NUL-terminated).
 *
 * Errors: -ENOENT no "0::" line (a pure cgroup v1 system), -EINVAL the
 * path does not start with '/', -ENAMETOOLONG it does not fit.
 */
int cgroup_parse_proc_cgroup(const char *text, char *ret_path, size_t size);

/*
 * From the text of /proc/self/mountinfo, copy the mount point of the first
 * cgroup2 file system into ret_mount (octal escapes such as "\040" are
 * decoded).
 *
 * Errors: -ENOENT none mounted, -ENAMETOOLONG it does not fit.
 */
int cgroup_parse_mountinfo_v2(const char *text, char *ret_mount, size_t size);

/*
 * Same for the cgroup v1 hierarchy that has controller (e.g. "cpuset")
 * among its super options: tells the caller that the controller is bound
 * to v1 and therefore cannot be enabled on the unified hierarchy.
 * controller NULL matches the first v1 hierarchy of any kind (a "hybrid"
 * system mounts v1 hierarchies next to the unified one).
 *
 * Errors: -ENOENT no such v1 hierarchy, -ENAMETOOLONG it does not fit.
 */
int cgroup_parse_mountinfo_v1(const char *text, const char *controller,
			      char *ret_mount, size_t size);

/* cpuset.cpus.partition's type word. */
enum cgroup_partition_type {
	CGROUP_PARTITION_MEMBER = 0, /* not a partition root */
	CGROUP_PARTITION_ROOT,	     /* exclusive CPUs, load-balanced */
	CGROUP_PARTITION_ISOLATED,   /* exclusive CPUs, no load balancing */
};

#define CGROUP_PARTITION_REASON_MAX 128

struct cgroup_partition {
	enum cgroup_partition_type type;
	bool valid; /* false: "... invalid", the CPUs are not exclusive */
	/* The kernel's reason for invalid (>= 6.1 gives one), else "". */
	char reason[CGROUP_PARTITION_REASON_MAX];
};

/*
 * Parse cpuset.cpus.partition (cgroup-v2.rst, "Cpuset Interface Files"):
 * "member", "root", "isolated", optionally followed by " invalid" and,
 * on newer kernels, " (reason)", e.g. "isolated invalid (Parent is not a
 * partition root)". A trailing newline is accepted.
 *
 * Errors: -EINVAL anything else (also "member invalid"), -ENAMETOOLONG
 * the reason does not fit.
 */
int cgroup_parse_partition(const char *text, struct cgroup_partition *ret);

/* "member", "root" or "isolated". */
const char *cgroup_partition_type_name(enum cgroup_partition_type t);

/*
 * Parse a signed decimal sysctl value such as kernel.sched_rt_runtime_us
 * ("950000\n", "-1\n"): optional '-', digits, then only white space.
 *
 * Errors: -EINVAL malformed, -ERANGE it does not fit int64_t.
 */
int cgroup_parse_sysctl_i64(const char *text, int64_t *ret);

/*
 * What RT throttling (Documentation/scheduler/sched-rt-group.rst) leaves
 * to other tasks: kernel.sched_rt_runtime_us of every
 * kernel.sched_rt_period_us may go to SCHED_FIFO/RR tasks on a CPU, the
 * rest to the others, which bounds a runaway RT thread.
 */
enum cgroup_rt_throttle {
	CGROUP_RT_THROTTLE_ON = 0,  /* runtime < period: a guard exists */
	CGROUP_RT_THROTTLE_OFF,	    /* runtime -1: no throttling at all */
	CGROUP_RT_THROTTLE_FULL,    /* runtime = period: nothing left */
	CGROUP_RT_THROTTLE_STARVED, /* runtime 0: RT tasks never run */
};

/*
 * Classify runtime_us / period_us (both as read; the kernel accepts
 * runtime -1 or 0..period, period >= 1). *ret_left_us is what each
 * period leaves to non-RT tasks (0 when off or full). Errors: -EINVAL values the
 * kernel cannot hold.
 */
int cgroup_rt_throttle_classify(int64_t runtime_us, int64_t period_us,
				enum cgroup_rt_throttle *ret,
				int64_t *ret_left_us);

/*
 * Parse a CPU list as in cpuset.cpus.effective ("0-3,6,8-9", may be
 * empty) into a bitmap of n_words 64-bit words (CPU c is bit c % 64 of
 * word c / 64). Returns the number of CPUs in the list.
 *
 * Errors: -EINVAL malformed or a range runs backwards, -ERANGE a CPU does
 * not fit the bitmap.
 */
int cgroup_parse_cpulist(const char *text, uint64_t *ret_mask, size_t n_words);

/*
 * True when name is one of the space-separated words of a
 * cgroup.controllers or cgroup.subtree_control text ("cpu" does not match
 * "cpuset").
 */
bool cgroup_parse_has_controller(const char *controllers, const char *name);

#endif
