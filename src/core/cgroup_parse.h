/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_CGROUP_PARSE_H
#define TTWS_CORE_CGROUP_PARSE_H

/*
 * Parsers for the kernel's cgroup text files. Text in, values out: no file
 * is opened here (src/os/rt reads the files), so every format is tested
 * with literal strings and can be fuzzed.
 *
 * Formats: Documentation/admin-guide/cgroup-v2.rst ("Organizing Processes
 * and Threads", "Core Interface Files", "CPU", "Cpuset") and proc(5)
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

/*
 * Parse cpu.max: "$MAX $PERIOD" in microseconds, $MAX may be "max".
 * *ret_quota_us is -1 for "max" (no bandwidth cap).
 *
 * Errors: -EINVAL malformed or period 0, -ERANGE a number overflows.
 */
int cgroup_parse_cpu_max(const char *text, int64_t *ret_quota_us,
			 uint64_t *ret_period_us);

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
