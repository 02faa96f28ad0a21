/* SPDX-License-Identifier: MIT */
#ifndef TTWS_OS_RT_H
#define TTWS_OS_RT_H

/*
 * Real-time placement of the calling thread, and an exact report of what
 * was obtained.
 *
 * rt_apply() does what the Linux RT wiki's "HOWTO build a simple RT
 * application" and "Memory for Real-time Applications" prescribe
 * (wiki.linuxfoundation.org/realtime/documentation/howto/applications/):
 * SCHED_FIFO, mlockall(MCL_CURRENT | MCL_FUTURE), stack and heap prefault
 * with glibc told never to give freed memory back (M_TRIM_THRESHOLD = -1,
 * M_MMAP_MAX = 0), plus CPU affinity and a /dev/cpu_dma_latency request
 * of 0 us. Before all that the thread moves itself into its cgroup v2
 * partition (rt_cgroup.c: `<own cgroup>/rt`, which ttws-cgroup(8)
 * makes an isolated cpuset partition) and, with cpu = RT_CPU_AUTO, pins
 * itself to that partition's CPU. It then reads what the kernel says the
 * thread got: policy, priority, VmLck, affinity, its cgroup and cpuset,
 * the partition state read back, and the RT throttling sysctls (the only
 * kernel bound on a runaway SCHED_FIFO thread: cgroup v2 cpu.max, that
 * is CPUQuota=, throttles fair-class tasks only).
 *
 * Nothing here aborts or logs: a run without privileges gets a report
 * whose items say "not obtained", the negative errno and the fix in
 * words; src/daemon logs it (DESIGN.md, "Real-time placement").
 *
 * Call rt_apply() from the RT thread itself, before it enters its loop:
 * scheduling policy, affinity and the stack prefault act on the calling
 * thread; memory locking, mallopt() and the DMA latency request act on
 * the whole process. The policy is set with SCHED_RESET_ON_FORK, so
 * threads and children created later start as SCHED_OTHER.
 */

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cgroup_parse.h"

struct conf;

#define RT_PRIORITY_DEFAULT 80 /* DESIGN.md, "Threads and the hot path" */
#define RT_PREFAULT_MAX_KIB (1024u * 1024u) /* 1 GiB, either prefault */

#define RT_FIX_MAX 384
#define RT_PATH_MAX 512
#define RT_LIST_MAX 256

/* rt_config.cpu: the lowest CPU of the joined cgroup's cpuset. */
#define RT_CPU_AUTO (-2)
/* rt_config.cgroup: "auto" = `<own cgroup>/rt` when it exists. */
#define RT_CGROUP_AUTO "auto"
/* rt_config.cgroup: stay in the cgroup the thread was started in. */
#define RT_CGROUP_NONE "none"
/* The child cgroup ttws-cgroup(8) makes for the RT thread. */
#define RT_CGROUP_CHILD "rt"

struct rt_config {
	int priority;		     /* SCHED_FIFO 1..99, 0 = leave policy */
	/* Pin to this CPU; -1 = leave affinity; RT_CPU_AUTO = the CPU of
	 * the joined cgroup's partition (unpinned, with a warning, when no
	 * cgroup was joined). */
	int cpu;
	/* Cgroup v2 to move this thread into before anything else:
	 * RT_CGROUP_AUTO, RT_CGROUP_NONE ("" too), or an absolute path in the
	 * cgroup2 hierarchy ("/ttws-rt.slice/ttwsd.service/rt") or in the
	 * file system ("/sys/fs/cgroup/..."). */
	char cgroup[RT_PATH_MAX];
	bool lock_memory;	     /* mlockall(MCL_CURRENT | MCL_FUTURE) */
	unsigned prefault_stack_kib; /* KiB of this thread's stack, 0 = none */
	unsigned prefault_heap_kib;  /* KiB of heap kept resident, 0 = none */
	bool dma_latency;	     /* hold /dev/cpu_dma_latency at 0 us */
};

/*
 * Defaults: priority 80, cpu -1, cgroup "auto", lock_memory, 256 KiB
 * stack, 4096 KiB heap, dma_latency.
 */
struct rt_config rt_config_default(void);

/*
 * The [rt] section of a validated configuration as an rt_config
 * (ttwsd.conf(5): cpu "auto" is RT_CPU_AUTO). Returns 0, or -EINVAL for
 * NULL arguments or an [rt] cgroup that does not fit.
 */
int rt_config_from_conf(const struct conf *c, struct rt_config *ret);

/*
 * One line of the report. requested is false when the configuration said
 * to leave the item alone (its value fields still show the current state);
 * the read-only checks (cgroup, cpuset, throttle) are always requested;
 * the partition item is requested unless the cgroup is "none". err is 0
 * or the negative errno that prevented the item (0 also when the item
 * failed on a state read back, e.g. an invalid partition). fix is "" or
 * what to change, in words: set on failure, and on success when there is
 * a caveat (status "warn").
 */
struct rt_item {
	bool requested;
	bool obtained;
	int err;
	char fix[RT_FIX_MAX];
};

/*
 * What the process got. Caller-owned, no pointers inside; strings are
 * NUL-terminated and "" when unknown. The only resource is dma.fd, closed
 * by rt_release().
 */
struct rt_report {
	struct {
		struct rt_item item;
		int policy;   /* SCHED_OTHER, SCHED_FIFO, ... after the call */
		int priority; /* sched_priority after the call */
		bool reset_on_fork;
	} sched;
	struct {
		struct rt_item item;
		uint64_t vmlck_kib; /* VmLck of /proc/self/status */
		uint64_t limit_kib; /* RLIMIT_MEMLOCK, UINT64_MAX = unlimited */
		bool cap_ipc_lock;  /* CAP_IPC_LOCK in the effective set */
	} memlock;
	struct {
		struct rt_item item;
		unsigned kib; /* touched; less than asked when it did not fit */
	} stack;
	struct {
		struct rt_item item;
		unsigned kib;	 /* malloc'd, touched and freed */
		bool mallopt_ok; /* glibc accepted both mallopt() settings */
	} heap;
	struct {
		struct rt_item item;
		/* As pinned: configured, or resolved from the partition when
		 * auto; -1 = left alone (auto without a partition: -1). */
		int cpu;
		bool cpu_auto; /* configured as auto */
		/* The thread's affinity after the call, e.g. "0-3,6". */
		char cpus[RT_LIST_MAX];
	} affinity;
	struct {
		struct rt_item item;
		int fd; /* held open, O_CLOEXEC; -1 when not held */
		/* Effective system-wide value read back, -1 = unknown. */
		int32_t value_us;
	} dma;
	struct {
		struct rt_item item;
		char mount[RT_PATH_MAX]; /* cgroup2 mount point */
		/* This thread's "0::" path (/proc/thread-self/cgroup), e.g.
		 * "/ttws-rt.slice/ttwsd.service/rt". */
		char path[RT_PATH_MAX];
		char controllers[RT_LIST_MAX]; /* its cgroup.controllers */
		/* v1 hierarchies are mounted next to the unified one. */
		bool hybrid;
	} cgroup;
	struct {
		struct rt_item item;
		bool enabled;			  /* cpuset in controllers */
		char cpus_effective[RT_LIST_MAX]; /* cpuset.cpus.effective */
		char v1_mount[RT_PATH_MAX]; /* where v1 holds cpuset, or "" */
	} cpuset;
	struct {
		struct rt_item item;
		/* The cgroup joined (cgroup2 path), "" when none was. */
		char joined[RT_PATH_MAX];
		/* cpuset.cpus.partition of this thread's cgroup, verbatim
		 * ("isolated", "isolated invalid (Parent is not a partition
		 * root)"), "" when unreadable; state its parse. */
		char raw[RT_LIST_MAX];
		struct cgroup_partition state;
		/* cpuset.cpus.exclusive.effective, "" on kernels < 6.7. */
		char cpus_exclusive[RT_LIST_MAX];
	} partition;
	struct {
		struct rt_item item;
		/* sched_rt_runtime_us, -1 = no throttling. */
		int64_t runtime_us;
		/* sched_rt_period_us, 0 = unknown. */
		int64_t period_us;
	} throttle;
};

/*
 * Apply cfg to the calling thread and process and fill *ret with what was
 * obtained. Returns 0 even when items failed: the report says which and
 * why. After 0 the caller owns ret->dma.fd and must call rt_release().
 *
 * Order: the cgroup first (its cpuset bounds the affinity), affinity
 * (prefaulted pages come from the pinned CPU's node), stack prefault before mlockall (growing a locked stack past
 * RLIMIT_MEMLOCK would be SIGSEGV), heap prefault, SCHED_FIFO last (the
 * page faults above do not run at RT priority), then DMA latency and the
 * read-only checks.
 *
 * mlockall is not attempted when RLIMIT_MEMLOCK is finite and CAP_IPC_LOCK
 * is missing: MCL_FUTURE under a small limit makes later thread stacks and
 * io_uring rings fail to map. Under AddressSanitizer mlockall is a no-op
 * (the sanitizer intercepts it); the VmLck check reports that as
 * -EOPNOTSUPP.
 *
 * Errors (ret untouched): -EINVAL cfg or ret is NULL, priority outside
 * 0..99, cpu outside RT_CPU_AUTO..CPU_SETSIZE-1, a prefault above
 * RT_PREFAULT_MAX_KIB, a cgroup neither auto, none nor an absolute path.
 */
int rt_apply(const struct rt_config *cfg, struct rt_report *ret);

/*
 * Fill *ret with the current state without changing anything (every
 * config item not requested, cgroup "none"). Same errors as rt_apply();
 * owns no fd.
 */
int rt_probe(struct rt_report *ret);

/*
 * Close the DMA latency request (the kernel drops it with the fd). Does
 * not undo the scheduling policy or the memory lock. Accepts NULL and a
 * report already released; returns NULL so that callers can write
 * "r = rt_release(r);".
 */
struct rt_report *rt_release(struct rt_report *r);

/* Number of requested items not obtained. */
unsigned rt_report_n_failed(const struct rt_report *r);

/*
 * Format the report as text, one line per item:
 *   "sched: ok: SCHED_FIFO priority 80 reset-on-fork"
 *   "memlock: FAILED: VmLck 0 KiB, ...; error ENOMEM (...); fix: ..."
 * (status ok, warn, FAILED or "not requested") into buf (size bytes,
 * always NUL-terminated when size > 0). Returns the length written
 * (without the NUL), or -ENOBUFS when it did not fit (buf then holds a
 * truncated prefix), -EINVAL on NULL arguments.
 */
int rt_report_format_text(const struct rt_report *r, char *buf, size_t size);

/*
 * Same as one JSON object on one line, without a trailing newline:
 * {"sched":{"status":"ok","requested":true,"obtained":true,"errno":0,
 *  "error":null,"fix":null,"policy":"SCHED_FIFO","priority":80,...},
 *  "memlock":{...},...,"n_failed":2}
 * ("error" is the errno name, e.g. "EPERM"; absent values are null).
 * Strings from the system are escaped. Errors as rt_report_format_text().
 */
int rt_report_format_json(const struct rt_report *r, char *buf, size_t size);

/*
 * Format a CPU set as a kernel-style list ("0-3,6") into buf. Returns the
 * length, -ENOBUFS when it does not fit, -EINVAL on NULL arguments.
 */
int rt_cpulist_format(const cpu_set_t *set, char *buf, size_t size);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t rt_now_ns(void);

/*
 * Busy-wait until CLOCK_MONOTONIC reaches deadline_ns, but never longer
 * than max_spin_ns from the call: a SCHED_FIFO thread that spins
 * unbounded is stopped by RT throttling for tens of milliseconds
 * (sched_rt_runtime_us). Relaxes the core between reads (PAUSE on x86,
 * YIELD on aarch64). Returns the last clock read, in ns: >= deadline_ns
 * unless the bound stopped it first. A deadline in the past or
 * max_spin_ns 0 return at once.
 */
uint64_t rt_spin_until(uint64_t deadline_ns, uint64_t max_spin_ns);

#endif
