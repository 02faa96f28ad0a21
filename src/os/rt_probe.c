/* SPDX-License-Identifier: MIT */
/*
 * The read-only part of the RT report: this thread's cgroup v2, its
 * cpuset, the partition state read back, and RT throttling. Each item
 * says what the kernel reports and, when something is missing, the fix.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cgroup_parse.h"
#include "core/macro.h"
#include "os/rt_private.h"

/* Mount point and this thread's path; the hybrid / v1 notes. */
static int probe_place(struct rt_report *r)
{
	struct rt_item *cg = &r->cgroup.item;
	char *mountinfo = NULL;
	int k, m;

	/* proc(5), cgroup-v2.rst "Organizing Processes and Threads". */
	k = rt_cgroup_self(r->cgroup.path, sizeof(r->cgroup.path));
	m = rt_read_text_alloc("/proc/self/mountinfo", &mountinfo);
	if (m < 0) {
		mountinfo = NULL;
	}
	if (k == 0) {
		k = rt_cgroup_mount(mountinfo, r->cgroup.mount,
				    sizeof(r->cgroup.mount));
	}
	if (mountinfo) {
		char any[RT_PATH_MAX];

		r->cgroup.hybrid = cgroup_parse_mountinfo_v1(
				       mountinfo, NULL, any, sizeof(any)) == 0;
		if (cgroup_parse_mountinfo_v1(mountinfo, "cpuset",
					      r->cpuset.v1_mount,
					      sizeof(r->cpuset.v1_mount)) < 0) {
			r->cpuset.v1_mount[0] = '\0';
		}
	}
	free(mountinfo);
	if (m < 0) {
		/* Without it the hybrid v1/v2 and cpuset-on-v1 notes below
		 * cannot be made: say so rather than report "ok". */
		rt_item_fix(cg, "/proc/self/mountinfo unreadable (%s): cgroup "
				"v1 mounts not checked", strerror(-m));
	}
	if (k < 0) {
		r->cgroup.path[0] = '\0';
		r->cgroup.mount[0] = '\0';
		rt_item_fail(cg, k);
		rt_item_fix(cg, "no cgroup v2 membership: a pure cgroup v1 "
				"system; boot with "
				"systemd.unified_cgroup_hierarchy=1 to give "
				"the RT thread a cpuset partition");
	}
	return k;
}

static void probe_controllers(struct rt_report *r, const char *dir)
{
	struct rt_item *cg = &r->cgroup.item;
	char file[RT_DIR_MAX + 32];
	int k;

	snprintf(file, sizeof(file), "%s/cgroup.controllers", dir);
	k = rt_read_text(file, r->cgroup.controllers,
			 sizeof(r->cgroup.controllers));
	rt_strip_newline(r->cgroup.controllers);
	if (k < 0 && k != -EFBIG) {
		r->cgroup.controllers[0] = '\0';
		rt_item_fail(cg, k);
		rt_item_fix(cg,
			    "cannot read %s (cgroup namespace or mount does "
			    "not match /proc/thread-self/cgroup)",
			    file);
		return;
	}
	cg->obtained = true;
	if (r->cgroup.hybrid) {
		rt_item_fix(cg,
			    "hybrid cgroup v1/v2: the unified hierarchy at %s "
			    "has controllers [%s]; cpuset is on v1, so no "
			    "cpuset partition can isolate the RT thread; "
			    "boot with systemd.unified_cgroup_hierarchy=1",
			    r->cgroup.mount, r->cgroup.controllers);
	} else if (r->cgroup.controllers[0] == '\0') {
		rt_item_fix(cg, "no controllers delegated to %s", dir);
	}
}

static void probe_cpuset(const struct rt_config *cfg, struct rt_report *r,
			 const char *dir)
{
	struct rt_item *cs = &r->cpuset.item;
	char file[RT_DIR_MAX + 32];
	int k;

	/* cgroup-v2.rst "Cpuset": cpuset.cpus.effective. */
	r->cpuset.enabled =
	    cgroup_parse_has_controller(r->cgroup.controllers, "cpuset");
	snprintf(file, sizeof(file), "%s/cpuset.cpus.effective", dir);
	k = rt_read_text(file, r->cpuset.cpus_effective,
			 sizeof(r->cpuset.cpus_effective));
	if (k < 0) {
		r->cpuset.cpus_effective[0] = '\0';
	}
	rt_strip_newline(r->cpuset.cpus_effective);
	if (r->cpuset.enabled && k >= 0) {
		uint64_t mask[CPU_SETSIZE / 64];
		int cpu = r->affinity.cpu;

		cs->obtained = true;
		if (cpu >= 0 && cfg->cpu >= 0 &&
		    cgroup_parse_cpulist(r->cpuset.cpus_effective, mask,
					 ARRAY_SIZE(mask)) >= 0 &&
		    !(mask[cpu / 64] & (UINT64_C(1) << (cpu % 64)))) {
			rt_item_fix(cs,
				    "configured CPU %d is not in "
				    "cpuset.cpus.effective (%s)",
				    cpu, r->cpuset.cpus_effective);
		}
		return;
	}
	rt_item_fail(cs, k < 0 ? k : -ENOENT);
	if (r->cpuset.v1_mount[0]) {
		rt_item_fix(cs,
			    "the cpuset controller is bound to cgroup v1 at "
			    "%s, so cgroup v2 cannot use it: boot with "
			    "systemd.unified_cgroup_hierarchy=1 (or "
			    "cgroup_no_v1=cpuset)",
			    r->cpuset.v1_mount);
	} else {
		rt_item_fix(cs,
			    "the cpuset controller is not enabled for %s: "
			    "ttwsd.service (Delegate=cpuset) and ttws-cgroup "
			    "unit-setup enable it",
			    dir);
	}
}

/* The partition item once the file was read and parsed. */
static void judge_partition(struct rt_report *r, int parsed)
{
	struct rt_item *it = &r->partition.item;
	const struct cgroup_partition *p = &r->partition.state;

	if (parsed < 0) {
		rt_item_fail(it, parsed);
		rt_item_fix(it, "cpuset.cpus.partition reads \"%s\", which "
				"is none of member, root, isolated",
			    r->partition.raw);
		return;
	}
	if (p->type == CGROUP_PARTITION_MEMBER) {
		rt_item_fail(it, 0);
		rt_item_fix(it, "%s is not a partition (\"member\"): other "
				"cgroups may use its CPUs; run ttws-cgroup "
				"check",
			    r->partition.joined);
		return;
	}
	if (!p->valid) {
		rt_item_fail(it, 0);
		rt_item_fix(it,
			    "the partition is invalid (%s): its CPUs are not "
			    "exclusive; a local partition needs every "
			    "ancestor to be one, a remote one (Linux >= 6.7) "
			    "cpuset.cpus.exclusive on every ancestor, which "
			    "ttws-cgroup writes; run ttws-cgroup check",
			    p->reason[0] ? p->reason : "no reason given");
		return;
	}
	it->obtained = true;
	if (p->type == CGROUP_PARTITION_ROOT) {
		rt_item_fix(it, "a \"root\" partition (the kernel refused "
				"\"isolated\"): the CPU is exclusive to the "
				"RT cgroup but not in the kernel's isolated "
				"set (load balancing, unbound work may reach "
				"it)");
	}
}

static void probe_partition(struct rt_report *r, const char *dir)
{
	struct rt_item *it = &r->partition.item;
	char file[RT_DIR_MAX + 48];
	int k;

	/* cgroup-v2.rst "Cpuset Interface Files": cpuset.cpus.partition
	 * reads back the state the kernel keeps, not what was written. */
	snprintf(file, sizeof(file), "%s/cpuset.cpus.partition", dir);
	k = rt_read_text(file, r->partition.raw, sizeof(r->partition.raw));
	if (k < 0) {
		r->partition.raw[0] = '\0';
	}
	rt_strip_newline(r->partition.raw);
	snprintf(file, sizeof(file), "%s/cpuset.cpus.exclusive.effective",
		 dir);
	if (rt_read_text(file, r->partition.cpus_exclusive,
			 sizeof(r->partition.cpus_exclusive)) < 0) {
		r->partition.cpus_exclusive[0] = '\0';
	}
	rt_strip_newline(r->partition.cpus_exclusive);
	if (k >= 0) {
		k = cgroup_parse_partition(r->partition.raw,
					   &r->partition.state);
	}
	/* Not requested, or the join failed and said why. */
	if (!it->requested || it->err || it->fix[0]) {
		return;
	}
	if (r->partition.raw[0] == '\0') {
		rt_item_fail(it, k < 0 ? k : -ENOENT);
		rt_item_fix(it, "%s has no cpuset.cpus.partition: the cpuset "
				"controller is not enabled for it",
			    r->partition.joined);
		return;
	}
	judge_partition(r, k);
}

void rt_probe_cgroup(const struct rt_config *cfg, struct rt_report *r)
{
	struct rt_item *cg = &r->cgroup.item;
	struct rt_item *cs = &r->cpuset.item;
	char dir[RT_DIR_MAX];

	cg->requested = cs->requested = true;
	if (probe_place(r) < 0) {
		rt_item_fail(cs, cg->err);
		rt_item_fix(cs, "no cgroup v2 (see cgroup)");
		if (r->partition.item.requested && !r->partition.item.err) {
			rt_item_fail(&r->partition.item, cg->err);
			rt_item_fix(&r->partition.item,
				    "no cgroup v2 (see cgroup)");
		}
		return;
	}
	snprintf(dir, sizeof(dir), "%s%s", r->cgroup.mount,
		 strcmp(r->cgroup.path, "/") ? r->cgroup.path : "");
	probe_controllers(r, dir);
	if (!cg->obtained) {
		rt_item_fail(cs, cg->err);
		rt_item_fix(cs, "no cgroup v2 (see cgroup)");
		return;
	}
	probe_cpuset(cfg, r, dir);
	probe_partition(r, dir);
}

void rt_probe_throttle(struct rt_report *r)
{
	struct rt_item *it = &r->throttle.item;
	enum cgroup_rt_throttle t;
	int64_t left;
	int k;

	it->requested = true;
	/* Documentation/scheduler/sched-rt-group.rst */
	k = rt_read_sysctl_i64("/proc/sys/kernel/sched_rt_runtime_us",
			       &r->throttle.runtime_us);
	if (k == 0) {
		k = rt_read_sysctl_i64("/proc/sys/kernel/sched_rt_period_us",
				       &r->throttle.period_us);
	}
	if (k == 0) {
		k = cgroup_rt_throttle_classify(r->throttle.runtime_us,
						r->throttle.period_us, &t,
						&left);
	}
	if (k < 0) {
		rt_item_fail(it, k);
		rt_item_fix(it, "cannot read the RT throttling sysctls "
				"kernel.sched_rt_runtime_us and "
				"kernel.sched_rt_period_us");
		return;
	}
	switch (t) {
	case CGROUP_RT_THROTTLE_ON:
		it->obtained = true;
		return;
	case CGROUP_RT_THROTTLE_OFF:
		it->obtained = true;
		rt_item_fix(it,
			    "RT throttling is off (sched_rt_runtime_us = -1): "
			    "a runaway SCHED_FIFO thread keeps its CPU and "
			    "only ttwsd's watchdog (WatchdogSec=) stops it; "
			    "set kernel.sched_rt_runtime_us=950000 "
			    "(cgroup cpu.max, CPUQuota=, does not bound "
			    "SCHED_FIFO)");
		return;
	case CGROUP_RT_THROTTLE_FULL:
		it->obtained = true;
		rt_item_fix(it,
			    "sched_rt_runtime_us equals the period: RT "
			    "throttling leaves other tasks nothing (from "
			    "Linux 6.12 the fair deadline server, debugfs "
			    "sched/fair_server, still gives them a share); "
			    "else only ttwsd's watchdog stops a runaway "
			    "SCHED_FIFO thread; kernel.sched_rt_runtime_us="
			    "950000 restores the guard");
		return;
	case CGROUP_RT_THROTTLE_STARVED:
		rt_item_fail(it, 0);
		rt_item_fix(it, "sched_rt_runtime_us is 0: SCHED_FIFO threads "
				"get no CPU time; set "
				"kernel.sched_rt_runtime_us=950000");
		return;
	}
}
