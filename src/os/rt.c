/* SPDX-License-Identifier: MIT */
#include <alloca.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/capability.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/macro.h"
#include "os/rt_private.h"

#define DMA_LATENCY_PATH "/dev/cpu_dma_latency"
#define STACK_MARGIN_KIB 64u /* frames above us, guard page, signal room */

struct rt_config rt_config_default(void)
{
	return (struct rt_config){
	    .priority = RT_PRIORITY_DEFAULT,
	    .cpu = -1,
	    .cgroup = RT_CGROUP_AUTO,
	    .lock_memory = true,
	    .prefault_stack_kib = 256,
	    .prefault_heap_kib = 4096,
	    .dma_latency = true,
	};
}

static bool have_cap(unsigned cap)
{
	struct __user_cap_header_struct h = {
	    .version = _LINUX_CAPABILITY_VERSION_3,
	    .pid = 0,
	};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &h, d) < 0) {
		return false;
	}
	return d[cap / 32].effective & (UINT32_C(1) << (cap % 32));
}

int rt_config_from_conf(const struct conf *c, struct rt_config *ret)
{
	struct rt_config rc = rt_config_default();
	int n;

	if (!c || !ret) {
		return -EINVAL;
	}
	rc.priority = c->rt.priority;
	rc.cpu = c->rt.cpu == CONF_RT_CPU_AUTO ? RT_CPU_AUTO : c->rt.cpu;
	rc.lock_memory = c->rt.lock_memory;
	rc.dma_latency = c->rt.dma_latency;
	rc.prefault_heap_kib = c->rt.prefault_heap_kib;
	rc.prefault_stack_kib = c->rt.prefault_stack_kib;
	n = snprintf(rc.cgroup, sizeof(rc.cgroup), "%s", c->rt.cgroup);
	if (n < 0 || (size_t)n >= sizeof(rc.cgroup)) {
		return -EINVAL;
	}
	*ret = rc;
	return 0;
}

/* ---- scheduling ---------------------------------------------------- */

static void apply_sched(const struct rt_config *cfg, struct rt_report *r)
{
	struct rt_item *it = &r->sched.item;
	struct sched_param sp = {.sched_priority = cfg->priority};
	int pol;

	it->requested = cfg->priority > 0;
	/*
	 * sched_setscheduler(2) with pid 0 acts on the calling thread.
	 * SCHED_RESET_ON_FORK keeps helper threads and children that this
	 * thread creates out of SCHED_FIFO, as PipeWire and rtkit do.
	 */
	if (it->requested &&
	    sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) < 0) {
		it->err = -errno;
	}

	pol = sched_getscheduler(0);
	if (pol >= 0) {
		r->sched.reset_on_fork = pol & SCHED_RESET_ON_FORK;
		r->sched.policy = pol & ~SCHED_RESET_ON_FORK;
	}
	if (sched_getparam(0, &sp) == 0) {
		r->sched.priority = sp.sched_priority;
	}
	if (!it->requested) {
		return;
	}
	if (it->err == 0 && r->sched.policy == SCHED_FIFO &&
	    r->sched.priority == cfg->priority) {
		it->obtained = true;
		return;
	}
	if (it->err == 0) {
		/* The call succeeded yet reads back differently. */
		rt_item_fail(it, -EIO);
		rt_item_fix(it, "asked SCHED_FIFO %d, kernel reports %s %d",
			 cfg->priority, rt_policy_name(r->sched.policy),
			 r->sched.priority);
		return;
	}
	rt_item_fail(it, it->err);
	if (it->err == -EPERM) {
		struct rlimit rl;
		bool nice = have_cap(CAP_SYS_NICE);

		if (getrlimit(RLIMIT_RTPRIO, &rl) < 0) {
			rl.rlim_cur = 0;
		}
		if (!nice && rl.rlim_cur != RLIM_INFINITY &&
		    rl.rlim_cur < (rlim_t)cfg->priority) {
			rt_item_fix(it,
				 "RLIMIT_RTPRIO is %llu and CAP_SYS_NICE is "
				 "missing: run as root, grant CAP_SYS_NICE "
				 "(AmbientCapabilities=CAP_SYS_NICE) or set "
				 "LimitRTPRIO=%d in ttwsd.service "
				 "(limits.conf: rtprio %d)",
				 (unsigned long long)rl.rlim_cur, cfg->priority,
				 cfg->priority);
		} else {
			rt_item_fix(it,
				 "privileged but refused: with "
				 "CONFIG_RT_GROUP_SCHED the cgroup needs RT "
				 "runtime (cpu.rt_runtime_us > 0, or run "
				 "ttwsd in the root cpu cgroup); otherwise a "
				 "security policy denied it");
		}
	} else if (it->err == -EBUSY) {
		rt_item_fix(it, "no RT bandwidth left: kernel.sched_rt_runtime_us "
			     "or the cgroup's cpu.rt_runtime_us is exhausted "
			     "or 0");
	} else {
		rt_item_fix(it, "sched_setscheduler(SCHED_FIFO, %d) failed",
			 cfg->priority);
	}
}

/* ---- memory -------------------------------------------------------- */

/* VmLck of /proc/self/status in KiB. */
static int read_vmlck_kib(uint64_t *ret)
{
	char buf[8192];
	const char *p;
	unsigned long long v;
	int r;

	r = rt_read_text("/proc/self/status", buf, sizeof(buf));
	if (r < 0 && r != -EFBIG) {
		return r;
	}
	p = strstr(buf, "\nVmLck:");
	if (!p || sscanf(p + 7, " %llu kB", &v) != 1) {
		return -ENODATA;
	}
	*ret = v;
	return 0;
}

static void apply_memlock(const struct rt_config *cfg, struct rt_report *r)
{
	struct rt_item *it = &r->memlock.item;
	struct rlimit rl;

	it->requested = cfg->lock_memory;
	r->memlock.cap_ipc_lock = have_cap(CAP_IPC_LOCK);
	r->memlock.limit_kib = UINT64_MAX;
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY) {
		r->memlock.limit_kib = (uint64_t)rl.rlim_cur / 1024;
	}

	if (it->requested && r->memlock.limit_kib != UINT64_MAX &&
	    !r->memlock.cap_ipc_lock) {
		/*
		 * mlockall(2): the limit binds unprivileged callers, and with
		 * MCL_FUTURE every later mapping counts against it, so a
		 * small limit makes the next thread stack or io_uring ring
		 * fail. Better unlocked and working.
		 */
		rt_item_fail(it, -ENOMEM);
		rt_item_fix(it,
			 "not attempted: RLIMIT_MEMLOCK is %" PRIu64 " KiB "
			 "and CAP_IPC_LOCK is missing, so MCL_FUTURE would "
			 "make later allocations fail; set "
			 "LimitMEMLOCK=infinity in ttwsd.service "
			 "(limits.conf: memlock unlimited) or grant "
			 "CAP_IPC_LOCK",
			 r->memlock.limit_kib);
	} else if (it->requested && mlockall(MCL_CURRENT | MCL_FUTURE) < 0) {
		rt_item_fail(it, -errno);
		if (it->err == -ENOMEM) {
			rt_item_fix(it, "RLIMIT_MEMLOCK is too small or memory "
				     "is short: LimitMEMLOCK=infinity in "
				     "ttwsd.service");
		} else if (it->err == -EPERM) {
			rt_item_fix(it, "grant CAP_IPC_LOCK or set "
				     "LimitMEMLOCK=infinity in ttwsd.service");
		} else {
			rt_item_fix(it, "some pages could not be locked (memory "
				     "short or a mapping that cannot be "
				     "locked); check free memory");
		}
	} else if (it->requested) {
		it->obtained = true;
	}
}

/* After the prefaults: VmLck then shows what stays resident. */
static void check_memlock(struct rt_report *r)
{
	struct rt_item *it = &r->memlock.item;
	uint64_t kib = 0;
	int k;

	k = read_vmlck_kib(&kib);
	if (k == 0) {
		r->memlock.vmlck_kib = kib;
	}
	if (it->obtained && k == 0 && kib == 0) {
		/* mlockall() said yes but nothing is locked. */
		rt_item_fail(it, -EOPNOTSUPP);
		if (RT_ASAN) {
			rt_item_fix(it, "AddressSanitizer build: the sanitizer "
				     "turns mlockall() into a no-op; use a "
				     "build without -Db_sanitize for RT");
		} else {
			rt_item_fix(it, "mlockall() returned success but VmLck "
				     "is 0 (intercepted by a preloaded "
				     "library?)");
		}
	}
}

static __attribute__((noinline)) void touch_stack(size_t bytes, size_t page)
{
	volatile unsigned char *p = alloca(bytes);
	size_t i;

	/* Walk from the frame down, the way the stack grows. */
	for (i = bytes; i >= page; i -= page) {
		p[i - 1] = 0;
	}
	p[0] = 0;
}

static void apply_stack(const struct rt_config *cfg, struct rt_report *r)
{
	struct rt_item *it = &r->stack.item;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t want = (size_t)cfg->prefault_stack_kib * 1024;
	size_t avail = SIZE_MAX;
	pthread_attr_t attr;

	it->requested = cfg->prefault_stack_kib > 0;
	if (!it->requested) {
		return;
	}
	/*
	 * The thread's stack bounds; the frame address, not a local's,
	 * because ASan may move locals to a fake stack.
	 */
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		void *lo;
		size_t size;

		if (pthread_attr_getstack(&attr, &lo, &size) == 0) {
			uintptr_t here = (uintptr_t)__builtin_frame_address(0);
			uintptr_t low = (uintptr_t)lo;
			size_t margin = STACK_MARGIN_KIB * 1024;

			avail = here > low + margin ? here - low - margin : 0;
		}
		pthread_attr_destroy(&attr);
	}
	if (want > avail) {
		want = avail - avail % 1024;
		rt_item_fix(it,
			 "only %zu of %u KiB fit below the current frame: "
			 "lower prefault_stack_kib or give the RT thread a "
			 "larger stack",
			 want / 1024, cfg->prefault_stack_kib);
	}
	if (want >= page) {
		touch_stack(want, page);
	}
	r->stack.kib = (unsigned)(want / 1024);
	if (want == 0) {
		rt_item_fail(it, -E2BIG);
		return;
	}
	it->obtained = true;
}

static void apply_heap(const struct rt_config *cfg, struct rt_report *r)
{
	struct rt_item *it = &r->heap.item;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t bytes = (size_t)cfg->prefault_heap_kib * 1024;
	volatile unsigned char *p;
	size_t i;

	it->requested = cfg->prefault_heap_kib > 0;
	if (!it->requested) {
		return;
	}
	/*
	 * RT wiki, "Memory for Real-time Applications": never trim the heap
	 * and never serve malloc() from mmap(), so that memory touched here
	 * and freed stays mapped and later allocations do not fault.
	 * mallopt() returns 1 on success.
	 */
	r->heap.mallopt_ok = mallopt(M_TRIM_THRESHOLD, -1) == 1;
	r->heap.mallopt_ok &= mallopt(M_MMAP_MAX, 0) == 1;

	p = malloc(bytes);
	if (!p) {
		rt_item_fail(it, -ENOMEM);
		rt_item_fix(it,
			 "malloc(%u KiB) failed: lower prefault_heap_kib "
			 "or raise LimitMEMLOCK=",
			 cfg->prefault_heap_kib);
		return;
	}
	for (i = 0; i < bytes; i += page) {
		p[i] = 0;
	}
	free((void *)p);
	r->heap.kib = cfg->prefault_heap_kib;
	it->obtained = true;
	if (!r->heap.mallopt_ok) {
		rt_item_fix(it,
			 "mallopt() refused (%s): freed memory may go "
			 "back to the kernel and fault again",
			 RT_ASAN ? "sanitizer allocator"
				 : "not glibc's allocator?");
	}
}

/* ---- affinity, DMA latency ----------------------------------------- */

static void apply_affinity(const struct rt_config *cfg, struct rt_report *r)
{
	struct rt_item *it = &r->affinity.item;
	int cpu = rt_resolve_cpu(cfg, r);
	cpu_set_t set;

	r->affinity.cpu_auto = cfg->cpu == RT_CPU_AUTO;
	it->requested = cfg->cpu != -1;
	r->affinity.cpu = cpu;
	if (cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0) {
			it->err = -errno;
		}
	}
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		rt_cpulist_format(&set, r->affinity.cpus,
				  sizeof(r->affinity.cpus));
	}
	if (!it->requested || cpu < 0) {
		/* auto without a partition: rt_resolve_cpu() said why. */
		return;
	}
	if (it->err == 0 && CPU_COUNT(&set) == 1 && CPU_ISSET(cpu, &set)) {
		it->obtained = true;
		return;
	}
	rt_item_fail(it, it->err ? it->err : -EIO);
	rt_item_fix(it,
		    "CPU %d is offline, absent or outside this thread's "
		    "cpuset (current affinity %s): pick one of those, or "
		    "set [rt] cpu = auto to take the partition's",
		    cpu, r->affinity.cpus);
}

static void apply_dma(const struct rt_config *cfg, struct rt_report *r)
{
	struct rt_item *it = &r->dma.item;
	int32_t zero = 0, v;
	int fd;

	it->requested = cfg->dma_latency;
	r->dma.fd = -1;
	r->dma.value_us = -1;
	if (!it->requested) {
		return;
	}
	/*
	 * Documentation/power/pm_qos_interface.rst: the request lives while
	 * the fd is open; a write of a binary s32 sets it in us.
	 */
	fd = open(DMA_LATENCY_PATH, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rt_item_fail(it, -errno);
		if (it->err == -EACCES || it->err == -EPERM) {
			rt_item_fix(it, DMA_LATENCY_PATH
				 " is root-only: run as "
				 "root, or add a udev rule KERNEL==\""
				 "cpu_dma_latency\", GROUP=\"ttws\", "
				 "MODE=\"0660\" (and DeviceAllow= if the "
				 "unit restricts devices)");
		} else if (it->err == -ENOENT) {
			rt_item_fix(it, "no PM QoS device in this kernel: deep "
				     "C-state exits stay uncontrolled; "
				     "consider processor.max_cstate=1 on the "
				     "kernel command line");
		} else {
			rt_item_fix(it, "cannot open " DMA_LATENCY_PATH);
		}
		return;
	}
	if (write(fd, &zero, sizeof(zero)) != (ssize_t)sizeof(zero)) {
		rt_item_fail(it, -errno);
		rt_item_fix(it, "writing 0 to " DMA_LATENCY_PATH " failed");
		close(fd);
		return;
	}
	/* Reading gives the effective (minimum) request of the system. */
	if (pread(fd, &v, sizeof(v), 0) == (ssize_t)sizeof(v)) {
		r->dma.value_us = v;
	}
	r->dma.fd = fd;
	it->obtained = true;
}

/* ---- entry points -------------------------------------------------- */

static int config_valid(const struct rt_config *cfg)
{
	if (cfg->priority < 0 || cfg->priority > 99) {
		return -EINVAL;
	}
	if (cfg->cpu < RT_CPU_AUTO || cfg->cpu >= CPU_SETSIZE) {
		return -EINVAL;
	}
	if (!memchr(cfg->cgroup, '\0', sizeof(cfg->cgroup)) ||
	    (cfg->cgroup[0] && strcmp(cfg->cgroup, RT_CGROUP_AUTO) != 0 &&
	     strcmp(cfg->cgroup, RT_CGROUP_NONE) != 0 &&
	     cfg->cgroup[0] != '/')) {
		return -EINVAL;
	}
	if (cfg->prefault_stack_kib > RT_PREFAULT_MAX_KIB ||
	    cfg->prefault_heap_kib > RT_PREFAULT_MAX_KIB) {
		return -EINVAL;
	}
	return 0;
}

int rt_apply(const struct rt_config *cfg, struct rt_report *ret)
{
	struct rt_report *r;
	int k;

	if (!cfg || !ret) {
		return -EINVAL;
	}
	k = config_valid(cfg);
	if (k < 0) {
		return k;
	}
	/* Large (several KiB): build it in place; it is ours from here. */
	r = ret;
	memset(r, 0, sizeof(*r));
	r->dma.fd = -1;
	r->dma.value_us = -1;
	r->affinity.cpu = -1;
	r->throttle.runtime_us = -1;

	rt_apply_cgroup(cfg, r);
	apply_affinity(cfg, r);
	apply_stack(cfg, r);
	apply_memlock(cfg, r);
	apply_heap(cfg, r);
	check_memlock(r);
	apply_sched(cfg, r);
	apply_dma(cfg, r);
	rt_probe_cgroup(cfg, r);
	rt_probe_throttle(r);
	return 0;
}

int rt_probe(struct rt_report *ret)
{
	const struct rt_config none = {.cpu = -1, .cgroup = RT_CGROUP_NONE};

	return rt_apply(&none, ret);
}

struct rt_report *rt_release(struct rt_report *r)
{
	if (r && r->dma.fd >= 0) {
		close(r->dma.fd);
		r->dma.fd = -1;
	}
	return NULL;
}

unsigned rt_report_n_failed(const struct rt_report *r)
{
	unsigned n = 0;
	size_t i;

	if (!r) {
		return 0;
	}
	const struct rt_item *items[] = {
	    &r->sched.item,    &r->memlock.item,  &r->stack.item,
	    &r->heap.item,     &r->affinity.item, &r->dma.item,
	    &r->cgroup.item,   &r->cpuset.item,	  &r->partition.item,
	    &r->throttle.item,
	};
	for (i = 0; i < ARRAY_SIZE(items); i++) {
		n += items[i]->requested && !items[i]->obtained;
	}
	return n;
}

/* ---- clock and bounded spin ---------------------------------------- */

uint64_t rt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

uint64_t rt_spin_until(uint64_t deadline_ns, uint64_t max_spin_ns)
{
	uint64_t now = rt_now_ns();
	uint64_t stop;

	/* Saturate: a bound of UINT64_MAX still terminates at deadline. */
	stop = max_spin_ns > UINT64_MAX - now ? UINT64_MAX : now + max_spin_ns;
	stop = MIN(stop, deadline_ns);
	while (now < stop) {
		cpu_relax();
		now = rt_now_ns();
	}
	return now;
}