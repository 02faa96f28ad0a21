/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cgroup_parse.h"
#include "core/macro.h"
#include "os/rt.h"
#include "os/rt_private.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifndef TEST_ASAN
#define TEST_ASAN 0
#endif

#define NOBODY 65534
#define OUT_MAX 16384

static cpu_set_t saved_affinity;
static char text[OUT_MAX], json[OUT_MAX];

static bool is_root(void)
{
	return geteuid() == 0;
}

static void skip_because(const char *why)
{
	print_message("[  SKIP    ] %s\n", why);
	skip();
}

/* Put the test process back the way other tests expect it. */
static int restore_process(void **state)
{
	struct sched_param sp = {.sched_priority = 0};

	(void)state;
	sched_setscheduler(0, SCHED_OTHER, &sp);
	sched_setaffinity(0, sizeof(saved_affinity), &saved_affinity);
	munlockall();
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	return sched_getaffinity(0, sizeof(saved_affinity), &saved_affinity);
}

/* VmLck of /proc/self/status in KiB, read independently of rt.c. */
static long vmlck_kib(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f) {
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmLck: %ld kB", &v) == 1) {
			break;
		}
	}
	fclose(f);
	return v;
}

/* ---- a small strict JSON checker (RFC 8259 grammar) ----------------- */

static bool json_value(const char **p, int depth);

static void json_ws(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r') {
		(*p)++;
	}
}

static bool json_string(const char **p)
{
	const char *s = *p;

	if (*s++ != '"') {
		return false;
	}
	while (*s != '"') {
		if ((unsigned char)*s < 0x20) {
			return false; /* includes the NUL terminator */
		}
		if (*s == '\\') {
			s++;
			if (*s == 'u') {
				for (int i = 1; i <= 4; i++) {
					if (!strchr("0123456789abcdefABCDEF",
						    s[i]) ||
					    s[i] == '\0') {
						return false;
					}
				}
				s += 4;
			} else if (!*s || !strchr("\"\\/bfnrt", *s)) {
				return false;
			}
		}
		s++;
	}
	*p = s + 1;
	return true;
}

static bool json_number(const char **p)
{
	const char *s = *p;

	if (*s == '-') {
		s++;
	}
	if (*s == '0') {
		s++;
	} else if (*s >= '1' && *s <= '9') {
		while (*s >= '0' && *s <= '9') {
			s++;
		}
	} else {
		return false;
	}
	*p = s;
	return true;
}

static bool json_container(const char **p, char close, int depth)
{
	(*p)++;
	json_ws(p);
	if (**p == close) {
		(*p)++;
		return true;
	}
	for (;;) {
		json_ws(p);
		if (close == '}') {
			if (!json_string(p)) {
				return false;
			}
			json_ws(p);
			if (*(*p)++ != ':') {
				return false;
			}
		}
		if (!json_value(p, depth + 1)) {
			return false;
		}
		json_ws(p);
		if (**p == ',') {
			(*p)++;
			continue;
		}
		if (**p == close) {
			(*p)++;
			return true;
		}
		return false;
	}
}

static bool json_value(const char **p, int depth)
{
	if (depth > 32) {
		return false;
	}
	json_ws(p);
	switch (**p) {
	case '{':
		return json_container(p, '}', depth);
	case '[':
		return json_container(p, ']', depth);
	case '"':
		return json_string(p);
	case 't':
		return strncmp(*p, "true", 4) == 0 ? (*p += 4, true) : false;
	case 'f':
		return strncmp(*p, "false", 5) == 0 ? (*p += 5, true) : false;
	case 'n':
		return strncmp(*p, "null", 4) == 0 ? (*p += 4, true) : false;
	default:
		return json_number(p);
	}
}

static bool json_ok(const char *s)
{
	const char *p = s;

	if (*p != '{' || !json_value(&p, 0)) {
		return false;
	}
	json_ws(&p);
	return *p == '\0';
}

/* Returns 1 when jq accepts s, 0 when it rejects it, -1 without jq. */
static int jq_ok(const char *s)
{
	char path[] = "/tmp/test-rt-XXXXXX";
	char cmd[128];
	int fd, status;

	if (system("command -v jq >/dev/null 2>&1") != 0) {
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		return -1;
	}
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s)) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "jq -e 'type == \"object\"' %s >/dev/null",
		 path);
	status = system(cmd);
	unlink(path);
	return status == 0;
}

/* ---- config -------------------------------------------------------- */

static void test_config_default(void **state)
{
	struct rt_config c = rt_config_default();

	(void)state;
	assert_int_equal(c.priority, 80);
	assert_int_equal(c.cpu, -1);
	assert_string_equal(c.cgroup, RT_CGROUP_AUTO);
	assert_true(c.lock_memory);
	assert_true(c.prefault_stack_kib > 0);
	assert_true(c.prefault_heap_kib > 0);
	assert_true(c.dma_latency);
}

static void test_invalid_config(void **state)
{
	static const struct {
		int priority, cpu;
		unsigned stack_kib, heap_kib;
	} rows[] = {
	    {100, -1, 0, 0},
	    {-1, -1, 0, 0},
	    {10, RT_CPU_AUTO - 1, 0, 0},
	    {10, CPU_SETSIZE, 0, 0},
	    {10, -1, RT_PREFAULT_MAX_KIB + 1, 0},
	    {10, -1, 0, RT_PREFAULT_MAX_KIB + 1},
	};
	struct rt_report r, before;
	struct rt_config c = rt_config_default();
	size_t i;

	(void)state;
	assert_int_equal(rt_apply(NULL, &r), -EINVAL);
	assert_int_equal(rt_apply(&c, NULL), -EINVAL);
	assert_int_equal(rt_probe(NULL), -EINVAL);
	memset(&r, 0xa5, sizeof(r));
	before = r;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		c.priority = rows[i].priority;
		c.cpu = rows[i].cpu;
		c.prefault_stack_kib = rows[i].stack_kib;
		c.prefault_heap_kib = rows[i].heap_kib;
		assert_int_equal(rt_apply(&c, &r), -EINVAL);
		/* Outputs untouched on failure. */
		assert_memory_equal(&r, &before, sizeof(r));
	}
	/* A cgroup is auto, none or an absolute path. */
	c = rt_config_default();
	snprintf(c.cgroup, sizeof(c.cgroup), "relative/rt");
	assert_int_equal(rt_apply(&c, &r), -EINVAL);
	assert_memory_equal(&r, &before, sizeof(r));
	/* Nothing was changed on the way. */
	assert_int_equal(sched_getscheduler(0) & ~SCHED_RESET_ON_FORK,
			 SCHED_OTHER);
}

/* ---- probe: reports, changes nothing ------------------------------- */

static void test_probe_changes_nothing(void **state)
{
	struct rt_report r;
	cpu_set_t before, after;
	char list[RT_LIST_MAX];
	int pol = sched_getscheduler(0);

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(before), &before), 0);
	assert_int_equal(rt_probe(&r), 0);
	assert_int_equal(sched_getscheduler(0), pol);
	assert_int_equal(sched_getaffinity(0, sizeof(after), &after), 0);
	assert_true(CPU_EQUAL(&before, &after));

	assert_false(r.sched.item.requested);
	assert_int_equal(r.sched.policy, pol & ~SCHED_RESET_ON_FORK);
	assert_false(r.memlock.item.requested);
	assert_false(r.stack.item.requested);
	assert_false(r.heap.item.requested);
	assert_false(r.affinity.item.requested);
	assert_false(r.dma.item.requested);
	assert_int_equal(r.dma.fd, -1);
	/* The read-only checks always run. */
	assert_true(r.cgroup.item.requested);
	assert_true(r.cpuset.item.requested);
	assert_true(r.throttle.item.requested);
	/* cgroup "none": no partition asked for, nothing joined. */
	assert_false(r.partition.item.requested);
	assert_string_equal(r.partition.joined, "");
	/* The affinity string is the kernel's. */
	assert_true(rt_cpulist_format(&before, list, sizeof(list)) > 0);
	assert_string_equal(r.affinity.cpus, list);
	rt_release(&r);
}

/* ---- the RT cgroup: absent here, so said and left alone ------------ */

static void test_cgroup_auto_absent(void **state)
{
	struct rt_config c = {.cpu = RT_CPU_AUTO, .cgroup = RT_CGROUP_AUTO};
	struct rt_report r;
	cpu_set_t before, after;
	char self[2 * RT_PATH_MAX + 64], line[RT_PATH_MAX];
	FILE *f;

	(void)state;
	/* Where the auto cgroup would be: skip if this machine has one. */
	f = fopen("/proc/thread-self/cgroup", "re");
	assert_non_null(f);
	self[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(self, sizeof(self), "/sys/fs/cgroup/unified%s/rt",
				 line + 3);
		}
	}
	fclose(f);
	if (self[0] && access(self, F_OK) == 0) {
		skip_because("this process's cgroup has an rt child");
		return;
	}
	assert_int_equal(sched_getaffinity(0, sizeof(before), &before), 0);
	assert_int_equal(rt_apply(&c, &r), 0);
	assert_int_equal(sched_getaffinity(0, sizeof(after), &after), 0);
	assert_true(CPU_EQUAL(&before, &after));

	assert_true(r.partition.item.requested);
	assert_false(r.partition.item.obtained);
	assert_true(r.partition.item.err < 0);
	assert_string_equal(r.partition.joined, "");
	if (r.partition.item.err == -ENOENT && r.cgroup.item.obtained) {
		assert_non_null(strstr(r.partition.item.fix, "ttws-cgroup"));
	}
	/* cpu = auto without a partition: unpinned, with a warning. */
	assert_true(r.affinity.item.requested);
	assert_true(r.affinity.item.obtained);
	assert_true(r.affinity.cpu_auto);
	assert_int_equal(r.affinity.cpu, -1);
	assert_non_null(strstr(r.affinity.item.fix, "not pinned"));
	assert_true(rt_report_format_text(&r, text, sizeof(text)) > 0);
	assert_non_null(strstr(text, "affinity: warn: auto: not pinned"));
	assert_non_null(strstr(text, "partition: FAILED: no cgroup joined"));
	assert_true(rt_report_n_failed(&r) >= 1);
	rt_release(&r);

	/* A named cgroup that does not exist. */
	snprintf(c.cgroup, sizeof(c.cgroup), "/ttws-test-no-such-cgroup/rt");
	assert_int_equal(rt_apply(&c, &r), 0);
	assert_false(r.partition.item.obtained);
	assert_true(r.partition.item.err < 0);
	assert_string_equal(r.partition.joined, "");
	rt_release(&r);
}

/* ---- root: what the kernel says after apply ------------------------ */

static int first_cpu(const cpu_set_t *set)
{
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (CPU_ISSET(c, set)) {
			return c;
		}
	}
	return -1;
}

static void test_apply_root_matches_kernel(void **state)
{
	struct rt_config c = rt_config_default();
	struct rt_report r;
	struct sched_param sp;
	cpu_set_t set;
	char list[RT_LIST_MAX];
	int fd;

	(void)state;
	if (!is_root()) {
		skip_because("not root: SCHED_FIFO, mlockall and "
			     "/dev/cpu_dma_latency need privileges");
		return;
	}
	/* Low priority: this is a test process, not the RT loop. */
	c.priority = 10;
	c.cpu = first_cpu(&saved_affinity);
	c.prefault_stack_kib = 128;
	c.prefault_heap_kib = 1024;
	assert_int_equal(rt_apply(&c, &r), 0);

	assert_true(rt_report_format_text(&r, text, sizeof(text)) > 0);
	assert_true(rt_report_format_json(&r, json, sizeof(json)) > 0);
	assert_true(json_ok(json));
	printf("%s%s\n", text, json);
	fflush(stdout);

	/* Scheduling, as the kernel reports it. */
	assert_true(r.sched.item.obtained);
	assert_int_equal(r.sched.item.err, 0);
	assert_string_equal(r.sched.item.fix, "");
	assert_int_equal(sched_getscheduler(0) & ~SCHED_RESET_ON_FORK,
			 SCHED_FIFO);
	assert_true(sched_getscheduler(0) & SCHED_RESET_ON_FORK);
	assert_int_equal(sched_getparam(0, &sp), 0);
	assert_int_equal(sp.sched_priority, 10);
	assert_int_equal(r.sched.policy, SCHED_FIFO);
	assert_int_equal(r.sched.priority, 10);

	/* Affinity. */
	assert_true(r.affinity.item.obtained);
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	assert_int_equal(CPU_COUNT(&set), 1);
	assert_true(CPU_ISSET(c.cpu, &set));
	assert_true(rt_cpulist_format(&set, list, sizeof(list)) > 0);
	assert_string_equal(r.affinity.cpus, list);

	/* Memory lock: VmLck from the kernel, except under ASan. */
	if (TEST_ASAN) {
		assert_false(r.memlock.item.obtained);
		assert_true(r.memlock.item.err == -EOPNOTSUPP ||
			    r.memlock.item.err == -ENOMEM ||
			    r.memlock.item.err == -EAGAIN);
		assert_true(r.memlock.item.fix[0] != '\0');
		print_message("[  NOTE    ] ASan build: mlockall is a no-op, "
			      "the report says %s\n",
			      r.memlock.item.fix);
	} else {
		assert_true(r.memlock.item.obtained);
		assert_true(vmlck_kib() > 0);
		assert_true(r.memlock.vmlck_kib > 0);
	}

	assert_true(r.stack.item.obtained);
	assert_int_equal(r.stack.kib, 128);
	assert_true(r.heap.item.obtained);
	assert_int_equal(r.heap.kib, 1024);
	assert_int_equal(r.heap.mallopt_ok, !TEST_ASAN);

	/* DMA latency: held open, close-on-exec, 0 us effective. */
	if (access("/dev/cpu_dma_latency", F_OK) == 0) {
		assert_true(r.dma.item.obtained);
		assert_true(r.dma.fd >= 0);
		assert_true(fcntl(r.dma.fd, F_GETFD) & FD_CLOEXEC);
		assert_int_equal(r.dma.value_us, 0);
	} else {
		assert_false(r.dma.item.obtained);
		assert_int_equal(r.dma.item.err, -ENOENT);
	}
	fd = r.dma.fd;
	assert_null(rt_release(&r));
	assert_int_equal(r.dma.fd, -1);
	if (fd >= 0) {
		assert_int_equal(fcntl(fd, F_GETFD), -1);
		assert_int_equal(errno, EBADF);
	}
}

/* ---- unprivileged: degrades, never crashes ------------------------- */

#define CHILD_CHECK(cond)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			dprintf(out, "CHECK FAILED line %d: %s\n", __LINE__,   \
				#cond);                                        \
			failures++;                                            \
		}                                                              \
	} while (0)

/* Any effective capability (a non-root uid can still hold some). */
static bool has_capabilities(void)
{
	char line[256];
	unsigned long long caps = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f) {
		return false;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "CapEff: %llx", &caps) == 1) {
			break;
		}
	}
	fclose(f);
	return caps != 0;
}

/* Runs in a forked child: no cmocka assertions here, exit status only. */
static int unprivileged_child(int out)
{
	struct rt_config c = rt_config_default();
	struct rlimit rtprio = {0, 0};
	struct rlimit memlock = {64 * 1024, 64 * 1024};
	struct rt_report r;
	int failures = 0, n;

	/*
	 * Deterministic limits whatever the host's: no RT priority, 64 KiB
	 * of lockable memory. Lowering limits needs no privilege.
	 */
	if (setrlimit(RLIMIT_RTPRIO, &rtprio) < 0 ||
	    setrlimit(RLIMIT_MEMLOCK, &memlock) < 0) {
		dprintf(out, "setrlimit: %m\n");
		return 100;
	}
	if (geteuid() == 0) {
		/* Root to nobody clears every capability (capabilities(7)). */
		if (setgroups(0, NULL) < 0 ||
		    setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) < 0) {
			dprintf(out, "drop to %d: %m\n", NOBODY);
			return 101;
		}
	}
	dprintf(out, "running as uid %d\n", (int)geteuid());
	if (has_capabilities()) {
		dprintf(out, "SKIP: this uid holds capabilities\n");
		return 77;
	}

	if (rt_apply(&c, &r) != 0) {
		dprintf(out, "rt_apply failed\n");
		return 102;
	}
	CHILD_CHECK(!r.sched.item.obtained);
	CHILD_CHECK(r.sched.item.err == -EPERM);
	CHILD_CHECK(strstr(r.sched.item.fix, "CAP_SYS_NICE") != NULL);
	CHILD_CHECK(strstr(r.sched.item.fix, "LimitRTPRIO=80") != NULL);
	CHILD_CHECK(r.sched.policy == SCHED_OTHER);
	CHILD_CHECK((sched_getscheduler(0) & ~SCHED_RESET_ON_FORK) ==
		    SCHED_OTHER);
	CHILD_CHECK(!r.memlock.item.obtained);
	CHILD_CHECK(r.memlock.item.err == -ENOMEM);
	CHILD_CHECK(strstr(r.memlock.item.fix, "LimitMEMLOCK=infinity"));
	CHILD_CHECK(r.memlock.limit_kib == 64);
	CHILD_CHECK(!r.memlock.cap_ipc_lock);
	CHILD_CHECK(vmlck_kib() == 0);
	CHILD_CHECK(!r.dma.item.obtained);
	CHILD_CHECK(r.dma.item.err < 0);
	CHILD_CHECK(r.dma.fd == -1);
	CHILD_CHECK(r.dma.item.fix[0] != '\0');
	CHILD_CHECK(r.stack.item.obtained);
	CHILD_CHECK(r.heap.item.obtained);
	CHILD_CHECK(rt_report_n_failed(&r) >= 3);

	n = rt_report_format_text(&r, text, sizeof(text));
	CHILD_CHECK(n > 0);
	dprintf(out, "%s", text);
	n = rt_report_format_json(&r, json, sizeof(json));
	CHILD_CHECK(n > 0);
	CHILD_CHECK(json_ok(json));
	dprintf(out, "%s\n", json);
	rt_release(&r);
	return failures;
}

static void test_apply_unprivileged_degrades(void **state)
{
	char buf[OUT_MAX];
	size_t len = 0;
	int pipefd[2], status;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pipefd[0]);
		_exit(unprivileged_child(pipefd[1]));
	}
	close(pipefd[1]);
	for (;;) {
		ssize_t n = read(pipefd[0], buf + len, sizeof(buf) - 1 - len);

		if (n <= 0) {
			break;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	printf("%s", buf);
	fflush(stdout);
	/* No crash, no abort: a normal exit with every check passed. */
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		skip_because("unprivileged uid holds capabilities");
		return;
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- stack prefault is clamped to the thread's stack --------------- */

struct small_stack_result {
	int r;
	struct rt_report report;
};

static void *small_stack_thread(void *arg)
{
	struct small_stack_result *res = arg;
	struct rt_config c = {.cpu = -1, .prefault_stack_kib = 1024};

	res->r = rt_apply(&c, &res->report);
	return NULL;
}

static void test_stack_prefault_clamped(void **state)
{
	struct small_stack_result *res = calloc(1, sizeof(*res));
	pthread_attr_t attr;
	pthread_t t;

	(void)state;
	assert_non_null(res);
	assert_int_equal(pthread_attr_init(&attr), 0);
	/* Room for rt_apply's frames (and ASan's redzones) plus 128 KiB. */
	assert_int_equal(pthread_attr_setstacksize(&attr, 512 * 1024), 0);
	assert_int_equal(pthread_create(&t, &attr, small_stack_thread, res), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	pthread_attr_destroy(&attr);
	assert_int_equal(res->r, 0);
	assert_true(res->report.stack.item.requested);
	assert_true(res->report.stack.item.obtained);
	assert_true(res->report.stack.kib > 0);
	assert_true(res->report.stack.kib < 512);
	assert_non_null(strstr(res->report.stack.item.fix, "prefault_stack"));
	rt_release(&res->report);
	free(res);
}

/* ---- formatting ---------------------------------------------------- */

static void fill_nasty(struct rt_report *r)
{
	memset(r, 0, sizeof(*r));
	r->dma.fd = -1;
	r->dma.value_us = -1;
	r->affinity.cpu = -1;
	r->sched.item.requested = true;
	r->sched.item.err = -EPERM;
	snprintf(r->sched.item.fix, sizeof(r->sched.item.fix),
		 "quote \" backslash \\ newline \n tab \t bell \a");
	r->cgroup.item.requested = true;
	r->cgroup.item.obtained = true;
	snprintf(r->cgroup.path, sizeof(r->cgroup.path),
		 "/odd\"slice/caf\xc3\xa9/bad\xff\xfe/trunc\xe2\x82");
	snprintf(r->cgroup.mount, sizeof(r->cgroup.mount), "/sys/fs/cgroup");
	snprintf(r->cgroup.controllers, sizeof(r->cgroup.controllers),
		 "cpuset cpu io");
	r->partition.item.requested = true;
	snprintf(r->partition.joined, sizeof(r->partition.joined),
		 "/a\"b/rt");
	snprintf(r->partition.raw, sizeof(r->partition.raw),
		 "isolated invalid (Parent \"is\" not\ta partition root)");
	r->partition.state.type = CGROUP_PARTITION_ISOLATED;
	snprintf(r->partition.state.reason, sizeof(r->partition.state.reason),
		 "Parent \"is\" not\ta partition root");
	r->throttle.item.requested = true;
	r->throttle.item.obtained = true;
	r->throttle.runtime_us = 950000;
	r->throttle.period_us = 1000000;
	r->memlock.limit_kib = UINT64_MAX;
}

static void test_json_well_formed(void **state)
{
	struct rt_report r;
	int n, jq;

	(void)state;
	fill_nasty(&r);
	n = rt_report_format_json(&r, json, sizeof(json));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(json));
	assert_true(json_ok(json));
	assert_non_null(strstr(json, "\"error\":\"EPERM\""));
	assert_non_null(strstr(json, "\"type\":\"isolated\",\"valid\":false"));
	assert_non_null(strstr(json, "\"joined\":\"/a\\\"b/rt\""));
	assert_non_null(strstr(json, "\"state\":\"on\",\"left_us\":50000"));
	n = rt_report_format_text(&r, text, sizeof(text));
	assert_true(n > 0);
	assert_non_null(strstr(text, "(isolated, INVALID: Parent"));
	assert_non_null(strstr(text, "leaves 50000 us"));
	assert_non_null(strstr(json, "caf\xc3\xa9"));
	assert_non_null(strstr(json, "bad\\ufffd\\ufffd"));
	assert_non_null(strstr(json, "\\u000a"));
	jq = jq_ok(json);
	assert_int_not_equal(jq, 0);

	/* And a real one from this machine. */
	assert_int_equal(rt_probe(&r), 0);
	n = rt_report_format_json(&r, json, sizeof(json));
	assert_true(n > 0);
	assert_true(json_ok(json));
	jq = jq_ok(json);
	assert_int_not_equal(jq, 0);
	if (jq < 0) {
		print_message("[  NOTE    ] jq not installed: checked with the "
			      "built-in parser only\n");
	}
	n = rt_report_format_text(&r, text, sizeof(text));
	assert_true(n > 0);
	for (const char *name = "sched\0memlock\0stack-prefault\0"
				"heap-prefault\0affinity\0dma-latency\0"
				"cgroup\0cpuset\0partition\0rt-throttle\0";
	     *name; name += strlen(name) + 1) {
		char key[64];

		snprintf(key, sizeof(key), "%s: ", name);
		assert_non_null(strstr(text, key));
	}
	rt_release(&r);
}

static void test_format_truncation(void **state)
{
	struct rt_report r;
	char small[16];
	char *exact;
	int n;

	(void)state;
	fill_nasty(&r);
	assert_int_equal(rt_report_format_text(&r, small, sizeof(small)),
			 -ENOBUFS);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(rt_report_format_json(&r, small, sizeof(small)),
			 -ENOBUFS);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(rt_report_format_json(&r, small, 0), -EINVAL);
	assert_int_equal(rt_report_format_json(NULL, small, 16), -EINVAL);

	/* Exactly enough fits; one byte less does not. */
	n = rt_report_format_json(&r, json, sizeof(json));
	assert_true(n > 0);
	exact = malloc((size_t)n + 1);
	assert_non_null(exact);
	assert_int_equal(rt_report_format_json(&r, exact, (size_t)n + 1), n);
	assert_string_equal(exact, json);
	assert_int_equal(rt_report_format_json(&r, exact, (size_t)n), -ENOBUFS);
	free(exact);
}

static void test_release(void **state)
{
	struct rt_report r;

	(void)state;
	assert_null(rt_release(NULL));
	assert_int_equal(rt_probe(&r), 0);
	assert_null(rt_release(&r));
	assert_null(rt_release(&r));
	assert_int_equal(r.dma.fd, -1);
}

static void test_cpulist_format(void **state)
{
	cpu_set_t s;
	char buf[64], tiny[4];

	(void)state;
	CPU_ZERO(&s);
	assert_int_equal(rt_cpulist_format(&s, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	CPU_SET(0, &s);
	CPU_SET(1, &s);
	CPU_SET(2, &s);
	CPU_SET(3, &s);
	CPU_SET(6, &s);
	CPU_SET(8, &s);
	CPU_SET(9, &s);
	CPU_SET(CPU_SETSIZE - 1, &s);
	assert_int_equal(rt_cpulist_format(&s, buf, sizeof(buf)),
			 (int)strlen("0-3,6,8-9,1023"));
	assert_string_equal(buf, "0-3,6,8-9,1023");
	assert_int_equal(rt_cpulist_format(&s, tiny, sizeof(tiny)), -ENOBUFS);
	assert_true(strlen(tiny) < sizeof(tiny));
}

/* ---- cgroup parsers (src/core/cgroup_parse) ------------------------ */

/* This machine's /proc/self/cgroup: hybrid v1 + unified. */
static const char proc_cgroup_hybrid[] =
    "9:name=systemd:/\n"
    "8:pids:/\n"
    "4:memory:/process_api/39881b4b84c34950c90ea5903921f306\n"
    "3:cpuset:/\n"
    "1:cpu:/\n"
    "0::/\n";

static void test_parse_proc_cgroup(void **state)
{
	static const struct {
		const char *text;
		int r;
		const char *path;
	} rows[] = {
	    {proc_cgroup_hybrid, 0, "/"},
	    {"0::/system.slice/ttwsd.service\n", 0,
	     "/system.slice/ttwsd.service"},
	    {"0::/ttws-rt.slice", 0, "/ttws-rt.slice"}, /* no newline */
	    {"1:name=systemd:/user.slice\n0::/user.slice/a:b\n", 0,
	     "/user.slice/a:b"},
	    {"12:cpuset:/\n3:cpu,cpuacct:/\n", -ENOENT, NULL}, /* v1 only */
	    {"", -ENOENT, NULL},
	    {"0:cpu:/\n", -ENOENT, NULL}, /* id 0 with controllers */
	    {"10::/\n", -ENOENT, NULL},
	    {"0::relative\n", -EINVAL, NULL},
	    {"0::\n", -EINVAL, NULL},
	    {"garbage\n0::/x\n", 0, "/x"},
	};
	char path[64] = "untouched";
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		strcpy(path, "untouched");
		assert_int_equal(
		    cgroup_parse_proc_cgroup(rows[i].text, path, sizeof(path)),
		    rows[i].r);
		assert_string_equal(path,
				    rows[i].path ? rows[i].path : "untouched");
	}
	assert_int_equal(cgroup_parse_proc_cgroup("0::/0123456789", path, 10),
			 -ENAMETOOLONG);
}

/* This machine's mountinfo, plus odd lines. */
static const char mountinfo_hybrid[] =
    "24 1 0:22 / /proc rw,nosuid - proc proc rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup "
    "rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup "
    "rw,cpuset\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup "
    "rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 "
    "rw\n";

static const char mountinfo_v2[] =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime "
    "shared:9 master:3 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot"
    "\n";

static void test_parse_mountinfo(void **state)
{
	char m[64];

	(void)state;
	assert_int_equal(
	    cgroup_parse_mountinfo_v2(mountinfo_hybrid, m, sizeof(m)), 0);
	assert_string_equal(m, "/sys/fs/cgroup/unified");
	assert_int_equal(cgroup_parse_mountinfo_v2(mountinfo_v2, m, sizeof(m)),
			 0);
	assert_string_equal(m, "/sys/fs/cgroup");

	/* v1: exact super-option match, "cpu" is not "cpuacct". */
	assert_int_equal(
	    cgroup_parse_mountinfo_v1(mountinfo_hybrid, "cpuset", m, sizeof(m)),
	    0);
	assert_string_equal(m, "/sys/fs/cgroup/cpuset");
	assert_int_equal(
	    cgroup_parse_mountinfo_v1(mountinfo_hybrid, "cpu", m, sizeof(m)),
	    0);
	assert_string_equal(m, "/sys/fs/cgroup/cpu");
	assert_int_equal(cgroup_parse_mountinfo_v1(mountinfo_hybrid, "systemd",
						   m, sizeof(m)),
			 -ENOENT);
	assert_int_equal(cgroup_parse_mountinfo_v1(
			     mountinfo_hybrid, "name=systemd", m, sizeof(m)),
			 0);
	assert_int_equal(
	    cgroup_parse_mountinfo_v1(mountinfo_hybrid, NULL, m, sizeof(m)), 0);
	assert_string_equal(m, "/sys/fs/cgroup/cpu");
	assert_int_equal(
	    cgroup_parse_mountinfo_v1(mountinfo_v2, NULL, m, sizeof(m)),
	    -ENOENT);
	assert_int_equal(
	    cgroup_parse_mountinfo_v1(mountinfo_v2, "cpuset", m, sizeof(m)),
	    -ENOENT);

	/* Octal escapes in the mount point; a truncated line is skipped. */
	assert_int_equal(
	    cgroup_parse_mountinfo_v2("5 1 0:1 / /a\\040b rw - cgroup2 none rw",
				      m, sizeof(m)),
	    0);
	assert_string_equal(m, "/a b");
	assert_int_equal(cgroup_parse_mountinfo_v2(
			     "5 1 0:1 / /x rw - cgroup2\n", m, sizeof(m)),
			 -ENOENT);
	assert_int_equal(cgroup_parse_mountinfo_v2("", m, sizeof(m)), -ENOENT);
	assert_int_equal(cgroup_parse_mountinfo_v2(mountinfo_hybrid, m, 8),
			 -ENAMETOOLONG);
}

static void test_parse_cpulist(void **state)
{
	uint64_t m[2];

	(void)state;
	assert_int_equal(cgroup_parse_cpulist("0-3,6,8-9\n", m, 2), 7);
	assert_int_equal(m[0], 0x34fu);
	assert_int_equal(m[1], 0);
	assert_int_equal(cgroup_parse_cpulist("\n", m, 2), 0);
	assert_int_equal(m[0], 0);
	assert_int_equal(cgroup_parse_cpulist("127", m, 2), 1);
	assert_int_equal(m[1], UINT64_C(1) << 63);
	assert_int_equal(cgroup_parse_cpulist("1,1,0-1", m, 2), 2);
	m[0] = 42;
	assert_int_equal(cgroup_parse_cpulist("128", m, 2), -ERANGE);
	assert_int_equal(m[0], 42); /* untouched */
	assert_int_equal(cgroup_parse_cpulist("3-1", m, 2), -EINVAL);
	assert_int_equal(cgroup_parse_cpulist("1,", m, 2), -EINVAL);
	assert_int_equal(cgroup_parse_cpulist("a", m, 2), -EINVAL);
	assert_int_equal(cgroup_parse_cpulist("1-", m, 2), -EINVAL);
	assert_int_equal(cgroup_parse_cpulist("1 2", m, 2), -EINVAL);
	assert_int_equal(m[0], 42);
}

static void test_parse_has_controller(void **state)
{
	(void)state;
	assert_true(
	    cgroup_parse_has_controller("cpuset cpu io memory\n", "cpu"));
	assert_true(
	    cgroup_parse_has_controller("cpuset cpu io memory\n", "memory"));
	assert_true(cgroup_parse_has_controller("cpuset cpu", "cpuset"));
	assert_false(cgroup_parse_has_controller("cpuset io", "cpu"));
	assert_false(cgroup_parse_has_controller("cpu", "cpuset"));
	assert_false(cgroup_parse_has_controller("hugetlb\n", "cpuset"));
	assert_false(cgroup_parse_has_controller("", "cpuset"));
	assert_false(cgroup_parse_has_controller("cpu", ""));
}

/* ---- this machine's cgroup, whatever it is ------------------------- */

static void test_cgroup_report_consistent(void **state)
{
	struct rt_report r;
	struct statfs s;
	char file[2 * RT_PATH_MAX + 32];

	(void)state;
	assert_int_equal(rt_probe(&r), 0);
	assert_true(rt_report_format_text(&r, text, sizeof(text)) > 0);
	printf("%s", text);
	fflush(stdout);
	if (!r.cgroup.item.obtained) {
		assert_true(r.cgroup.item.err < 0);
		assert_true(r.cgroup.item.fix[0] != '\0');
		assert_false(r.cpuset.item.obtained);
		return;
	}
	assert_int_equal(r.cgroup.item.err, 0);
	assert_int_equal(r.cgroup.path[0], '/');
	assert_int_equal(statfs(r.cgroup.mount, &s), 0);
	assert_true((unsigned long)s.f_type ==
		    (unsigned long)CGROUP2_SUPER_MAGIC);
	snprintf(file, sizeof(file), "%s%s/cgroup.procs", r.cgroup.mount,
		 r.cgroup.path);
	assert_int_equal(access(file, F_OK), 0);
	if (r.cgroup.hybrid) {
		assert_non_null(strstr(r.cgroup.item.fix, "hybrid"));
	}
	if (r.cpuset.item.obtained) {
		uint64_t mask[CPU_SETSIZE / 64];

		assert_true(r.cpuset.enabled);
		assert_true(cgroup_parse_cpulist(r.cpuset.cpus_effective, mask,
						 ARRAY_SIZE(mask)) > 0);
	} else {
		assert_true(r.cpuset.item.err < 0);
		assert_non_null(strstr(r.cpuset.item.fix, "cpuset"));
		assert_false(r.cpuset.enabled &&
			     r.cpuset.cpus_effective[0] != '\0');
	}
	assert_true(r.throttle.item.err == 0);
	assert_true(r.throttle.period_us > 0);
	/* Nothing claims cpu.max bounds the RT thread. */
	assert_null(strstr(text, "cpu.max:"));
	rt_release(&r);
}

/* ---- clock and bounded spin ---------------------------------------- */

static void test_now_monotonic(void **state)
{
	uint64_t a, b;

	(void)state;
	a = rt_now_ns();
	b = rt_now_ns();
	assert_true(a > 0);
	assert_true(b >= a);
}

static void test_spin_reaches_deadline(void **state)
{
	(void)state;
	for (int i = 0; i < 20; i++) {
		uint64_t deadline = rt_now_ns() + 50 * NSEC_PER_USEC;
		uint64_t t = rt_spin_until(deadline, NSEC_PER_SEC);

		/* Never early; late only by preemption, loosely bounded. */
		assert_true(t >= deadline);
		assert_true(t < deadline + NSEC_PER_SEC);
	}
	/* A deadline in the past returns at once, with the clock read. */
	{
		uint64_t start = rt_now_ns();
		uint64_t t = rt_spin_until(start - NSEC_PER_MSEC, NSEC_PER_SEC);

		assert_true(t >= start);
		assert_true(t < start + 100 * NSEC_PER_MSEC);
	}
	/* An unbounded bound still stops at the deadline. */
	{
		uint64_t deadline = rt_now_ns() + 10 * NSEC_PER_USEC;

		assert_true(rt_spin_until(deadline, UINT64_MAX) >= deadline);
	}
}

static void test_spin_is_bounded(void **state)
{
	uint64_t start, deadline, t;

	(void)state;
	/* The bound (1 ms) is smaller than the distance (10 s). */
	start = rt_now_ns();
	deadline = start + 10 * NSEC_PER_SEC;
	t = rt_spin_until(deadline, NSEC_PER_MSEC);
	assert_true(t < deadline);
	assert_true(t >= start + NSEC_PER_MSEC);
	assert_true(t < start + 500 * NSEC_PER_MSEC); /* noisy machine */

	/* A zero bound does not spin. */
	start = rt_now_ns();
	t = rt_spin_until(start + NSEC_PER_SEC, 0);
	assert_true(t < start + 100 * NSEC_PER_MSEC);
}

/* ---- a refused move names its cause -------------------------------- */

/*
 * Seen in the gateway VM: ttws-cgroup ran under ttwsd.service's
 * UMask=0027, rt came out drwxr-x--- root and the RT thread's write to
 * rt/cgroup.threads (its own file) failed with EACCES. The fix text names
 * the first obstacle in the kernel's order: the directory, the file, the
 * common ancestor's cgroup.procs.
 */
static void test_cgroup_access_fix(void **state)
{
	struct rt_item it;
	struct rt_move_access a = {
	    .dir = "/sys/fs/cgroup/s.service/rt",
	    .ancestor = "/sys/fs/cgroup/s.service",
	    .dir_err = -EACCES,
	    .dir_mode = 0750,
	    .dir_uid = 0,
	    .file_uid = 997,
	    .procs_uid = 997,
	};

	(void)state;
	memset(&it, 0, sizeof(it));
	rt_cgroup_access_fix(&it, &a);
	assert_non_null(
	    strstr(it.fix, "cannot enter /sys/fs/cgroup/s.service/rt"));
	assert_non_null(strstr(it.fix, "mode 0750"));
	assert_non_null(strstr(it.fix, "UMask="));

	a.dir_err = 0;
	a.file_err = -EACCES;
	a.file_uid = 0;
	rt_cgroup_access_fix(&it, &a);
	assert_non_null(strstr(it.fix, "s.service/rt/cgroup.threads (uid 0)"));
	assert_null(strstr(it.fix, "UMask="));

	a.file_err = 0;
	a.procs_err = -EACCES;
	a.procs_uid = 0;
	rt_cgroup_access_fix(&it, &a);
	assert_non_null(strstr(it.fix,
			       "common ancestor /sys/fs/cgroup/s.service "
			       "(uid 0)"));
	assert_non_null(strstr(it.fix, "Delegate="));

	a.procs_err = 0;
	rt_cgroup_access_fix(&it, &a);
	assert_non_null(strstr(it.fix, "look writable"));
}

/* cmocka_unit_test() would name cases after the functions. */
/* clang-format off */
#define RT_TEST(name, fn) {name, fn, NULL, NULL, NULL}
#define RT_TEST_TEARDOWN(name, fn, td) {name, fn, NULL, td, NULL}

int main(void)
{
	const struct CMUnitTest tests[] = {
		RT_TEST("rt/config_default_values", test_config_default),
		RT_TEST("rt/apply_rejects_invalid_config", test_invalid_config),
		RT_TEST("rt/probe_changes_nothing", test_probe_changes_nothing),
		RT_TEST("rt/cgroup_auto_absent_leaves_thread_unpinned",
			test_cgroup_auto_absent),
		RT_TEST_TEARDOWN("rt/apply_as_root_matches_kernel",
				 test_apply_root_matches_kernel,
				 restore_process),
		RT_TEST("rt/apply_unprivileged_degrades",
			test_apply_unprivileged_degrades),
		RT_TEST("rt/stack_prefault_clamped_to_thread_stack",
			test_stack_prefault_clamped),
		RT_TEST("rt/json_is_well_formed", test_json_well_formed),
		RT_TEST("rt/format_reports_truncation", test_format_truncation),
		RT_TEST("rt/release_accepts_null_and_twice", test_release),
		RT_TEST("rt/cpulist_format", test_cpulist_format),
		RT_TEST("rt/parse_proc_self_cgroup", test_parse_proc_cgroup),
		RT_TEST("rt/parse_mountinfo", test_parse_mountinfo),
		RT_TEST("rt/parse_cpulist", test_parse_cpulist),
		RT_TEST("rt/parse_has_controller", test_parse_has_controller),
		RT_TEST("rt/cgroup_access_fix_names_the_cause",
			test_cgroup_access_fix),
		RT_TEST("rt/cgroup_report_matches_this_machine",
			test_cgroup_report_consistent),
		RT_TEST("rt/now_is_monotonic", test_now_monotonic),
		RT_TEST("rt/spin_until_never_returns_early",
			test_spin_reaches_deadline),
		RT_TEST("rt/spin_until_is_bounded", test_spin_is_bounded),
	};
	/* clang-format on */

	return cmocka_run_group_tests_name("rt", tests, group_setup,
					   restore_process);
}
