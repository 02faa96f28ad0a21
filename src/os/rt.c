/* SPDX-License-Identifier: MIT */
#include <alloca.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/cgroup_parse.h"
#include "core/macro.h"
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

#define DMA_LATENCY_PATH "/dev/cpu_dma_latency"
#define STACK_MARGIN_KIB 64u /* frames above us, guard page, signal room */
#define MOUNTINFO_MAX (4u << 20)

struct rt_config rt_config_default(void)
{
	return (struct rt_config){
	    .priority = RT_PRIORITY_DEFAULT,
	    .cpu = -1,
	    .lock_memory = true,
	    .prefault_stack_kib = 256,
	    .prefault_heap_kib = 4096,
	    .dma_latency = true,
	};
}

/* ---- small helpers ------------------------------------------------- */

static void item_fix(struct rt_item *it, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void item_fix(struct rt_item *it, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(it->fix, sizeof(it->fix), fmt, ap);
	va_end(ap);
}

static void item_fail(struct rt_item *it, int err)
{
	it->obtained = false;
	it->err = err;
}

static void strip_newline(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ')) {
		s[--n] = '\0';
	}
}

/*
 * Read a small text file into buf (NUL-terminated). Returns the length or
 * a negative errno; -EFBIG when it does not fit.
 */
static int read_text(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	int fd, r = 0;

	if (size == 0) {
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		return -errno;
	}
	for (;;) {
		ssize_t n;

		if (len + 1 >= size) {
			r = -EFBIG;
			break;
		}
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			r = -errno;
			break;
		}
		if (n == 0) {
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return r < 0 ? r : (int)len;
}

/* Read a file of unknown size (mountinfo); *ret is malloc'd. */
static int read_text_alloc(const char *path, char **ret)
{
	size_t size = 16384;
	char *buf = NULL;
	int r;

	for (;;) {
		char *n = realloc(buf, size);

		if (!n) {
			free(buf);
			return -ENOMEM;
		}
		buf = n;
		r = read_text(path, buf, size);
		if (r != -EFBIG || size >= MOUNTINFO_MAX) {
			break;
		}
		size *= 2;
	}
	if (r < 0 && r != -EFBIG) {
		free(buf);
		return r;
	}
	/* Larger than MOUNTINFO_MAX: parse the prefix we have. */
	*ret = buf;
	return 0;
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

static const char *errno_name(int err)
{
	const char *s = strerrorname_np(err < 0 ? -err : err);

	return s ? s : "E?";
}

static const char *errno_desc(int err)
{
	const char *s = strerrordesc_np(err < 0 ? -err : err);

	return s ? s : "unknown error";
}

static const char *policy_name(int policy)
{
	switch (policy) {
	case SCHED_OTHER:
		return "SCHED_OTHER";
	case SCHED_FIFO:
		return "SCHED_FIFO";
	case SCHED_RR:
		return "SCHED_RR";
	case SCHED_BATCH:
		return "SCHED_BATCH";
	case SCHED_IDLE:
		return "SCHED_IDLE";
#ifdef SCHED_DEADLINE
	case SCHED_DEADLINE:
		return "SCHED_DEADLINE";
#endif
	}
	return "unknown";
}

int rt_cpulist_format(const cpu_set_t *set, char *buf, size_t size)
{
	size_t len = 0;
	int c = 0;

	if (!set || !buf || size == 0) {
		return -EINVAL;
	}
	buf[0] = '\0';
	while (c < CPU_SETSIZE) {
		int first, last, n;

		if (!CPU_ISSET(c, set)) {
			c++;
			continue;
		}
		first = c;
		while (c + 1 < CPU_SETSIZE && CPU_ISSET(c + 1, set)) {
			c++;
		}
		last = c++;
		if (first == last) {
			n = snprintf(buf + len, size - len, "%s%d",
				     len ? "," : "", first);
		} else {
			n = snprintf(buf + len, size - len, "%s%d-%d",
				     len ? "," : "", first, last);
		}
		if (n < 0 || (size_t)n >= size - len) {
			buf[len] = '\0';
			return -ENOBUFS;
		}
		len += (size_t)n;
	}
	return (int)len;
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
		item_fail(it, -EIO);
		item_fix(it, "asked SCHED_FIFO %d, kernel reports %s %d",
			 cfg->priority, policy_name(r->sched.policy),
			 r->sched.priority);
		return;
	}
	item_fail(it, it->err);
	if (it->err == -EPERM) {
		struct rlimit rl;
		bool nice = have_cap(CAP_SYS_NICE);

		if (getrlimit(RLIMIT_RTPRIO, &rl) < 0) {
			rl.rlim_cur = 0;
		}
		if (!nice && rl.rlim_cur != RLIM_INFINITY &&
		    rl.rlim_cur < (rlim_t)cfg->priority) {
			item_fix(it,
				 "RLIMIT_RTPRIO is %llu and CAP_SYS_NICE is "
				 "missing: run as root, grant CAP_SYS_NICE "
				 "(AmbientCapabilities=CAP_SYS_NICE) or set "
				 "LimitRTPRIO=%d in ttwsd.service "
				 "(limits.conf: rtprio %d)",
				 (unsigned long long)rl.rlim_cur, cfg->priority,
				 cfg->priority);
		} else {
			item_fix(it,
				 "privileged but refused: with "
				 "CONFIG_RT_GROUP_SCHED the cgroup needs RT "
				 "runtime (cpu.rt_runtime_us > 0, or run "
				 "ttwsd in the root cpu cgroup); otherwise a "
				 "security policy denied it");
		}
	} else if (it->err == -EBUSY) {
		item_fix(it, "no RT bandwidth left: kernel.sched_rt_runtime_us "
			     "or the cgroup's cpu.rt_runtime_us is exhausted "
			     "or 0");
	} else {
		item_fix(it, "sched_setscheduler(SCHED_FIFO, %d) failed",
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

	r = read_text("/proc/self/status", buf, sizeof(buf));
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
		item_fail(it, -ENOMEM);
		item_fix(it,
			 "not attempted: RLIMIT_MEMLOCK is %" PRIu64 " KiB "
			 "and CAP_IPC_LOCK is missing, so MCL_FUTURE would "
			 "make later allocations fail; set "
			 "LimitMEMLOCK=infinity in ttwsd.service "
			 "(limits.conf: memlock unlimited) or grant "
			 "CAP_IPC_LOCK",
			 r->memlock.limit_kib);
	} else if (it->requested && mlockall(MCL_CURRENT | MCL_FUTURE) < 0) {
		item_fail(it, -errno);
		if (it->err == -ENOMEM) {
			item_fix(it, "RLIMIT_MEMLOCK is too small or memory "
				     "is short: LimitMEMLOCK=infinity in "
				     "ttwsd.service");
		} else if (it->err == -EPERM) {
			item_fix(it, "grant CAP_IPC_LOCK or set "
				     "LimitMEMLOCK=infinity in ttwsd.service");
		} else {
			item_fix(it, "some pages could not be locked (memory "
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
		item_fail(it, -EOPNOTSUPP);
		if (RT_ASAN) {
			item_fix(it, "AddressSanitizer build: the sanitizer "
				     "turns mlockall() into a no-op; use a "
				     "build without -Db_sanitize for RT");
		} else {
			item_fix(it, "mlockall() returned success but VmLck "
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
		item_fix(it,
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
		item_fail(it, -E2BIG);
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
		item_fail(it, -ENOMEM);
		item_fix(it,
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
		item_fix(it,
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
	cpu_set_t set;

	it->requested = cfg->cpu >= 0;
	r->affinity.cpu = cfg->cpu;
	if (it->requested) {
		CPU_ZERO(&set);
		CPU_SET(cfg->cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0) {
			it->err = -errno;
		}
	}
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		rt_cpulist_format(&set, r->affinity.cpus,
				  sizeof(r->affinity.cpus));
	}
	if (!it->requested) {
		return;
	}
	if (it->err == 0 && CPU_COUNT(&set) == 1 && CPU_ISSET(cfg->cpu, &set)) {
		it->obtained = true;
		return;
	}
	item_fail(it, it->err ? it->err : -EIO);
	item_fix(it,
		 "CPU %d is offline, absent or outside this process's cpuset "
		 "(current affinity %s): pick one of those or widen "
		 "AllowedCPUs= of ttws-rt.slice",
		 cfg->cpu, r->affinity.cpus);
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
		item_fail(it, -errno);
		if (it->err == -EACCES || it->err == -EPERM) {
			item_fix(it, DMA_LATENCY_PATH
				 " is root-only: run as "
				 "root, or add a udev rule KERNEL==\""
				 "cpu_dma_latency\", GROUP=\"ttws\", "
				 "MODE=\"0660\" (and DeviceAllow= if the "
				 "unit restricts devices)");
		} else if (it->err == -ENOENT) {
			item_fix(it, "no PM QoS device in this kernel: deep "
				     "C-state exits stay uncontrolled; "
				     "consider processor.max_cstate=1 on the "
				     "kernel command line");
		} else {
			item_fix(it, "cannot open " DMA_LATENCY_PATH);
		}
		return;
	}
	if (write(fd, &zero, sizeof(zero)) != (ssize_t)sizeof(zero)) {
		item_fail(it, -errno);
		item_fix(it, "writing 0 to " DMA_LATENCY_PATH " failed");
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

/* ---- cgroup and throttling ----------------------------------------- */

static bool is_cgroup2(const char *path)
{
	struct statfs s;

	return statfs(path, &s) == 0 &&
	       (unsigned long)s.f_type == (unsigned long)CGROUP2_SUPER_MAGIC;
}

static void probe_cgroup(const struct rt_config *cfg, struct rt_report *r)
{
	struct rt_item *cg = &r->cgroup.item;
	struct rt_item *cs = &r->cpuset.item;
	struct rt_item *cm = &r->cpu_max.item;
	char buf[4096], dir[RT_PATH_MAX + RT_PATH_MAX], file[sizeof(dir) + 64];
	char cpu_v1[RT_PATH_MAX] = "";
	char *mountinfo = NULL;
	int k;

	cg->requested = cs->requested = cm->requested = true;
	r->cpu_max.quota_us = -1;

	/* proc(5), cgroup-v2.rst "Organizing Processes and Threads". */
	k = read_text("/proc/self/cgroup", buf, sizeof(buf));
	if (k >= 0 || k == -EFBIG) {
		k = cgroup_parse_proc_cgroup(buf, r->cgroup.path,
					     sizeof(r->cgroup.path));
	}
	if (read_text_alloc("/proc/self/mountinfo", &mountinfo) < 0) {
		mountinfo = NULL;
	}
	if (k == 0) {
		if (is_cgroup2("/sys/fs/cgroup")) {
			snprintf(r->cgroup.mount, sizeof(r->cgroup.mount),
				 "/sys/fs/cgroup");
		} else if (is_cgroup2("/sys/fs/cgroup/unified")) {
			snprintf(r->cgroup.mount, sizeof(r->cgroup.mount),
				 "/sys/fs/cgroup/unified");
		} else if (!mountinfo) {
			k = -ENOENT;
		} else {
			k = cgroup_parse_mountinfo_v2(mountinfo,
						      r->cgroup.mount,
						      sizeof(r->cgroup.mount));
		}
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
		if (cgroup_parse_mountinfo_v1(mountinfo, "cpu", cpu_v1,
					      sizeof(cpu_v1)) < 0) {
			cpu_v1[0] = '\0';
		}
	}
	free(mountinfo);

	if (k == 0) {
		snprintf(dir, sizeof(dir), "%s%s", r->cgroup.mount,
			 strcmp(r->cgroup.path, "/") ? r->cgroup.path : "");
		snprintf(file, sizeof(file), "%s/cgroup.controllers", dir);
		k = read_text(file, r->cgroup.controllers,
			      sizeof(r->cgroup.controllers));
		if (k == -EFBIG) {
			k = 0;
		}
		strip_newline(r->cgroup.controllers);
		if (k < 0) {
			r->cgroup.controllers[0] = '\0';
			item_fail(cg, k);
			item_fix(cg,
				 "cannot read %s (cgroup namespace or "
				 "mount does not match /proc/self/cgroup)",
				 file);
		} else {
			k = 0;
		}
	} else {
		item_fail(cg, k);
		item_fix(cg, "no cgroup v2 membership: a pure cgroup v1 "
			     "system; boot with "
			     "systemd.unified_cgroup_hierarchy=1 to use "
			     "ttws-rt.slice");
	}
	if (k < 0) {
		item_fail(cs, k);
		item_fix(cs, "no cgroup v2 (see cgroup)");
		item_fail(cm, k);
		item_fix(cm, "no cgroup v2 (see cgroup)");
		return;
	}
	cg->obtained = true;
	if (r->cgroup.hybrid) {
		item_fix(cg,
			 "hybrid cgroup v1/v2: the unified hierarchy at %s "
			 "has controllers [%s]; the others are on v1, so "
			 "AllowedCPUs= and CPUQuota= of ttws-rt.slice cannot "
			 "act; boot with systemd.unified_cgroup_hierarchy=1",
			 r->cgroup.mount, r->cgroup.controllers);
	} else if (r->cgroup.controllers[0] == '\0') {
		item_fix(cg, "no controllers delegated to %s", dir);
	}

	/* cgroup-v2.rst "Cpuset": cpuset.cpus.effective. */
	r->cpuset.enabled =
	    cgroup_parse_has_controller(r->cgroup.controllers, "cpuset");
	snprintf(file, sizeof(file), "%s/cpuset.cpus.effective", dir);
	k = read_text(file, r->cpuset.cpus_effective,
		      sizeof(r->cpuset.cpus_effective));
	if (k < 0) {
		r->cpuset.cpus_effective[0] = '\0';
	}
	strip_newline(r->cpuset.cpus_effective);
	if (r->cpuset.enabled && k >= 0) {
		uint64_t mask[CPU_SETSIZE / 64];
		unsigned c = (unsigned)cfg->cpu;

		cs->obtained = true;
		if (cfg->cpu >= 0 &&
		    cgroup_parse_cpulist(r->cpuset.cpus_effective, mask,
					 ARRAY_SIZE(mask)) >= 0 &&
		    !(mask[c / 64] & (UINT64_C(1) << (c % 64)))) {
			item_fix(cs,
				 "configured CPU %d is not in "
				 "cpuset.cpus.effective (%s)",
				 cfg->cpu, r->cpuset.cpus_effective);
		}
	} else {
		item_fail(cs, k < 0 ? k : -ENOENT);
		if (r->cpuset.v1_mount[0]) {
			item_fix(cs,
				 "the cpuset controller is bound to cgroup v1 "
				 "at %s, so cgroup v2 cannot use it: boot with "
				 "systemd.unified_cgroup_hierarchy=1 (or "
				 "cgroup_no_v1=cpuset), then run ttwsd in "
				 "ttws-rt.slice with AllowedCPUs=",
				 r->cpuset.v1_mount);
		} else {
			item_fix(cs,
				 "enable the cpuset controller: echo +cpuset > "
				 "<parent of %s>/cgroup.subtree_control, or "
				 "run ttwsd in ttws-rt.slice with AllowedCPUs=",
				 dir);
		}
	}

	/* cgroup-v2.rst "CPU": cpu.max. */
	snprintf(file, sizeof(file), "%s/cpu.max", dir);
	k = read_text(file, buf, sizeof(buf));
	if (k >= 0) {
		k = cgroup_parse_cpu_max(buf, &r->cpu_max.quota_us,
					 &r->cpu_max.period_us);
	}
	if (k < 0) {
		item_fail(cm, k);
		if (cpu_v1[0]) {
			item_fix(cm,
				 "no CPU bandwidth cap: the cpu controller is "
				 "bound to cgroup v1 at %s; with cgroup v2, "
				 "CPUQuota= on ttws-rt.slice sets one",
				 cpu_v1);
		} else {
			item_fix(cm,
				 "no CPU bandwidth cap: cpu.max is absent (the "
				 "root cgroup has none, or the cpu controller "
				 "is not enabled); CPUQuota= on ttws-rt.slice "
				 "sets one");
		}
		return;
	}
	cm->obtained = true;
	if (r->cpu_max.quota_us < 0) {
		item_fix(cm, "cpu.max is \"max\": no CPU bandwidth cap; "
			     "CPUQuota= on ttws-rt.slice sets one");
	}
}

static int read_sysctl_i64(const char *path, int64_t *ret)
{
	char buf[64], *end;
	long long v;
	int k;

	k = read_text(path, buf, sizeof(buf));
	if (k < 0) {
		return k;
	}
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno || end == buf) {
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static void probe_throttle(struct rt_report *r)
{
	struct rt_item *it = &r->throttle.item;
	int k;

	it->requested = true;
	/* Documentation/scheduler/sched-rt-group.rst */
	k = read_sysctl_i64("/proc/sys/kernel/sched_rt_runtime_us",
			    &r->throttle.runtime_us);
	if (k == 0) {
		k = read_sysctl_i64("/proc/sys/kernel/sched_rt_period_us",
				    &r->throttle.period_us);
	}
	if (k < 0) {
		item_fail(it, k);
		item_fix(it, "cannot read the RT throttling sysctls");
		return;
	}
	it->obtained = true;
	if (r->throttle.runtime_us < 0) {
		item_fix(it, "RT throttling is off (sched_rt_runtime_us = "
			     "-1): a runaway SCHED_FIFO thread can hang its "
			     "CPU; only the watchdog guards against that");
	} else if (r->throttle.runtime_us == 0) {
		item_fix(it, "sched_rt_runtime_us is 0: SCHED_FIFO threads "
			     "get no CPU time; set "
			     "kernel.sched_rt_runtime_us=950000");
	}
}

/* ---- entry points -------------------------------------------------- */

static int config_valid(const struct rt_config *cfg)
{
	if (cfg->priority < 0 || cfg->priority > 99) {
		return -EINVAL;
	}
	if (cfg->cpu < -1 || cfg->cpu >= CPU_SETSIZE) {
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

	apply_affinity(cfg, r);
	apply_stack(cfg, r);
	apply_memlock(cfg, r);
	apply_heap(cfg, r);
	check_memlock(r);
	apply_sched(cfg, r);
	apply_dma(cfg, r);
	probe_cgroup(cfg, r);
	probe_throttle(r);
	return 0;
}

int rt_probe(struct rt_report *ret)
{
	const struct rt_config none = {.cpu = -1};

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
	    &r->cgroup.item,   &r->cpuset.item,	  &r->cpu_max.item,
	    &r->throttle.item,
	};
	for (i = 0; i < ARRAY_SIZE(items); i++) {
		n += items[i]->requested && !items[i]->obtained;
	}
	return n;
}

/* ---- formatting ---------------------------------------------------- */

/* snprintf into a fixed buffer; len counts what would have been written. */
struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void out_printf(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void out_printf(struct out *o, const char *fmt, ...)
{
	size_t avail = o->len < o->size ? o->size - o->len : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(avail ? o->buf + o->len : NULL, avail, fmt, ap);
	va_end(ap);
	if (n > 0) {
		o->len += (size_t)n;
	}
}

static int out_finish(struct out *o)
{
	if (o->len >= o->size) {
		return -ENOBUFS;
	}
	if (o->len > INT_MAX) {
		return -EOVERFLOW;
	}
	return (int)o->len;
}

static const char *status_word(const struct rt_item *it)
{
	if (!it->requested) {
		return "not requested";
	}
	if (!it->obtained) {
		return "FAILED";
	}
	return it->fix[0] ? "warn" : "ok";
}

static void text_item_begin(struct out *o, const char *name,
			    const struct rt_item *it)
{
	out_printf(o, "%s: %s: ", name, status_word(it));
}

static void text_item_end(struct out *o, const struct rt_item *it)
{
	if (it->err) {
		out_printf(o, "; error %s (%s)", errno_name(it->err),
			   errno_desc(it->err));
	}
	if (it->fix[0]) {
		out_printf(o, "; fix: %s", it->fix);
	}
	out_printf(o, "\n");
}

int rt_report_format_text(const struct rt_report *r, char *buf, size_t size)
{
	struct out o = {.buf = buf, .size = size};

	if (!r || !buf || size == 0) {
		return -EINVAL;
	}
	buf[0] = '\0';

	text_item_begin(&o, "sched", &r->sched.item);
	out_printf(&o, "%s priority %d%s", policy_name(r->sched.policy),
		   r->sched.priority,
		   r->sched.reset_on_fork ? " reset-on-fork" : "");
	text_item_end(&o, &r->sched.item);

	text_item_begin(&o, "memlock", &r->memlock.item);
	out_printf(&o, "VmLck %" PRIu64 " KiB, RLIMIT_MEMLOCK ",
		   r->memlock.vmlck_kib);
	if (r->memlock.limit_kib == UINT64_MAX) {
		out_printf(&o, "unlimited");
	} else {
		out_printf(&o, "%" PRIu64 " KiB", r->memlock.limit_kib);
	}
	out_printf(&o, ", CAP_IPC_LOCK %s",
		   r->memlock.cap_ipc_lock ? "yes" : "no");
	text_item_end(&o, &r->memlock.item);

	text_item_begin(&o, "stack-prefault", &r->stack.item);
	out_printf(&o, "%u KiB", r->stack.kib);
	text_item_end(&o, &r->stack.item);

	text_item_begin(&o, "heap-prefault", &r->heap.item);
	out_printf(&o, "%u KiB, mallopt %s", r->heap.kib,
		   r->heap.mallopt_ok ? "kept" : "not set");
	text_item_end(&o, &r->heap.item);

	text_item_begin(&o, "affinity", &r->affinity.item);
	if (r->affinity.cpu >= 0) {
		out_printf(&o, "CPU %d, ", r->affinity.cpu);
	}
	out_printf(&o, "affinity %s", r->affinity.cpus);
	text_item_end(&o, &r->affinity.item);

	text_item_begin(&o, "dma-latency", &r->dma.item);
	out_printf(&o, "%s", r->dma.fd >= 0 ? "held" : "not held");
	if (r->dma.value_us >= 0) {
		out_printf(&o, ", effective %" PRId32 " us", r->dma.value_us);
	}
	text_item_end(&o, &r->dma.item);

	text_item_begin(&o, "cgroup", &r->cgroup.item);
	out_printf(&o, "v2 mount \"%s\" path \"%s\" controllers [%s]%s",
		   r->cgroup.mount, r->cgroup.path, r->cgroup.controllers,
		   r->cgroup.hybrid ? ", hybrid v1/v2" : "");
	text_item_end(&o, &r->cgroup.item);

	text_item_begin(&o, "cpuset", &r->cpuset.item);
	out_printf(&o, "%s, cpus.effective \"%s\"",
		   r->cpuset.enabled ? "enabled" : "not enabled",
		   r->cpuset.cpus_effective);
	if (r->cpuset.v1_mount[0]) {
		out_printf(&o, ", v1 at %s", r->cpuset.v1_mount);
	}
	text_item_end(&o, &r->cpuset.item);

	text_item_begin(&o, "cpu.max", &r->cpu_max.item);
	if (!r->cpu_max.item.obtained) {
		out_printf(&o, "not read");
	} else if (r->cpu_max.quota_us < 0) {
		out_printf(&o, "max %" PRIu64 " (no cap)",
			   r->cpu_max.period_us);
	} else {
		out_printf(&o, "%" PRId64 " %" PRIu64 " us",
			   r->cpu_max.quota_us, r->cpu_max.period_us);
	}
	text_item_end(&o, &r->cpu_max.item);

	text_item_begin(&o, "rt-throttle", &r->throttle.item);
	if (!r->throttle.item.obtained) {
		out_printf(&o, "not read");
	} else if (r->throttle.runtime_us < 0) {
		out_printf(&o, "off");
	} else {
		out_printf(&o,
			   "SCHED_FIFO may run %" PRId64 " of every %" PRId64
			   " us",
			   r->throttle.runtime_us, r->throttle.period_us);
	}
	text_item_end(&o, &r->throttle.item);

	return out_finish(&o);
}

/* A JSON string; invalid UTF-8 bytes become U+FFFD (RFC 8259, 8.1). */
static void json_str(struct out *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	out_printf(o, "\"");
	while (*p) {
		unsigned char c = *p;
		size_t n = 0, i;

		if (c == '"' || c == '\\') {
			out_printf(o, "\\%c", c);
			p++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			out_printf(o, "\\u%04x", c);
			p++;
			continue;
		}
		if (c < 0x80) {
			out_printf(o, "%c", c);
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 2;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 3;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 4;
		}
		for (i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80) {
				n = 0;
				break;
			}
		}
		if (n == 0) {
			out_printf(o, "\\ufffd");
			p++;
			continue;
		}
		out_printf(o, "%.*s", (int)n, (const char *)p);
		p += n;
	}
	out_printf(o, "\"");
}

static void json_str_or_null(struct out *o, const char *s)
{
	if (s[0]) {
		json_str(o, s);
	} else {
		out_printf(o, "null");
	}
}

static void json_item_begin(struct out *o, const char *name,
			    const struct rt_item *it, bool first)
{
	out_printf(o, "%s\"%s\":{\"status\":", first ? "" : ",", name);
	json_str(o, status_word(it));
	out_printf(o, ",\"requested\":%s,\"obtained\":%s,\"errno\":%d,",
		   it->requested ? "true" : "false",
		   it->obtained ? "true" : "false", it->err);
	out_printf(o, "\"error\":");
	if (it->err) {
		json_str(o, errno_name(it->err));
	} else {
		out_printf(o, "null");
	}
	out_printf(o, ",\"fix\":");
	json_str_or_null(o, it->fix);
}

int rt_report_format_json(const struct rt_report *r, char *buf, size_t size)
{
	struct out o = {.buf = buf, .size = size};

	if (!r || !buf || size == 0) {
		return -EINVAL;
	}
	buf[0] = '\0';
	out_printf(&o, "{");

	json_item_begin(&o, "sched", &r->sched.item, true);
	out_printf(&o, ",\"policy\":");
	json_str(&o, policy_name(r->sched.policy));
	out_printf(&o, ",\"priority\":%d,\"reset_on_fork\":%s}",
		   r->sched.priority,
		   r->sched.reset_on_fork ? "true" : "false");

	json_item_begin(&o, "memlock", &r->memlock.item, false);
	out_printf(&o, ",\"vmlck_kib\":%" PRIu64 ",\"limit_kib\":",
		   r->memlock.vmlck_kib);
	if (r->memlock.limit_kib == UINT64_MAX) {
		out_printf(&o, "null");
	} else {
		out_printf(&o, "%" PRIu64, r->memlock.limit_kib);
	}
	out_printf(&o, ",\"cap_ipc_lock\":%s}",
		   r->memlock.cap_ipc_lock ? "true" : "false");

	json_item_begin(&o, "stack_prefault", &r->stack.item, false);
	out_printf(&o, ",\"kib\":%u}", r->stack.kib);

	json_item_begin(&o, "heap_prefault", &r->heap.item, false);
	out_printf(&o, ",\"kib\":%u,\"mallopt_ok\":%s}", r->heap.kib,
		   r->heap.mallopt_ok ? "true" : "false");

	json_item_begin(&o, "affinity", &r->affinity.item, false);
	out_printf(&o, ",\"cpu\":%d,\"cpus\":", r->affinity.cpu);
	json_str(&o, r->affinity.cpus);
	out_printf(&o, "}");

	json_item_begin(&o, "dma_latency", &r->dma.item, false);
	out_printf(&o, ",\"held\":%s,\"value_us\":",
		   r->dma.fd >= 0 ? "true" : "false");
	if (r->dma.value_us >= 0) {
		out_printf(&o, "%" PRId32 "}", r->dma.value_us);
	} else {
		out_printf(&o, "null}");
	}

	json_item_begin(&o, "cgroup", &r->cgroup.item, false);
	out_printf(&o, ",\"mount\":");
	json_str_or_null(&o, r->cgroup.mount);
	out_printf(&o, ",\"path\":");
	json_str_or_null(&o, r->cgroup.path);
	out_printf(&o, ",\"controllers\":");
	json_str(&o, r->cgroup.controllers);
	out_printf(&o, ",\"hybrid\":%s}", r->cgroup.hybrid ? "true" : "false");

	json_item_begin(&o, "cpuset", &r->cpuset.item, false);
	out_printf(&o, ",\"enabled\":%s,\"cpus_effective\":",
		   r->cpuset.enabled ? "true" : "false");
	json_str_or_null(&o, r->cpuset.cpus_effective);
	out_printf(&o, ",\"v1_mount\":");
	json_str_or_null(&o, r->cpuset.v1_mount);
	out_printf(&o, "}");

	json_item_begin(&o, "cpu_max", &r->cpu_max.item, false);
	if (!r->cpu_max.item.obtained) {
		out_printf(&o, ",\"quota_us\":null,\"period_us\":null}");
	} else if (r->cpu_max.quota_us < 0) {
		out_printf(&o,
			   ",\"quota_us\":\"max\",\"period_us\":%" PRIu64 "}",
			   r->cpu_max.period_us);
	} else {
		out_printf(
		    &o, ",\"quota_us\":%" PRId64 ",\"period_us\":%" PRIu64 "}",
		    r->cpu_max.quota_us, r->cpu_max.period_us);
	}

	json_item_begin(&o, "rt_throttle", &r->throttle.item, false);
	if (r->throttle.item.obtained) {
		out_printf(&o,
			   ",\"runtime_us\":%" PRId64 ",\"period_us\":%" PRId64
			   "}",
			   r->throttle.runtime_us, r->throttle.period_us);
	} else {
		out_printf(&o, ",\"runtime_us\":null,\"period_us\":null}");
	}

	out_printf(&o, ",\"n_failed\":%u}", rt_report_n_failed(r));
	return out_finish(&o);
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
