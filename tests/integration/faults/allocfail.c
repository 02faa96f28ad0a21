/* SPDX-License-Identifier: MIT */
/*
 * allocfail: an LD_PRELOAD shim that makes exactly one allocation of a
 * process fail, so that a test can walk ttwsd's start-up allocation by
 * allocation and check that each failure ends in a clean, non-zero exit
 * (alloc.sh, issue 14: "allocation failure injected at each start-up
 * allocation").
 *
 * Counted, from main() on (what the C runtime and the libraries' own
 * constructors allocate before main() is not ttwsd's to handle), in every
 * thread: malloc, calloc, realloc, posix_memalign, aligned_alloc,
 * memalign, valloc and pvalloc (strdup, asprintf, fopen and the like
 * allocate through malloc, so they count too); with
 * TTWS_ALLOCFAIL_KIND=mmap, mmap instead (thread stacks, io_uring rings,
 * glibc's large allocations).
 *
 * Environment:
 *   TTWS_ALLOCFAIL_AT=N    the Nth counted call fails with ENOMEM (NULL,
 *                          MAP_FAILED, or ENOMEM from posix_memalign);
 *                          unset or 0: none fails, count only
 *   TTWS_ALLOCFAIL_KIND    heap (default) or mmap
 *   TTWS_ALLOCFAIL_OUT     file the shim appends its lines to:
 *                            "ready COUNT" when the process tells its
 *                            service manager READY=1 (sd_notify and
 *                            sd_pid_notify* interposed): COUNT calls
 *                            were made until then, its start-up;
 *                            "failed N FN SIZE" when it made call N
 *                            fail, followed by the caller's stack
 *                            (backtrace_symbols_fd: no allocation).
 *
 * Not tested here: glibc's own NSS set-up, which crashes when its first
 * allocations fail (glibc 2.36 to current master, nss/nss_database.c:
 * __nss_database_get() dereferences the NULL that allocate_once()
 * returns, and nss_database_reload_1() asserts ret > 0 after getline()
 * failed with ENOMEM). ttwsd's first NSS call is getgrnam_r("ttws")
 * (control.c), so the shim makes one NSS lookup itself before main():
 * the walk then fails ttwsd's allocations and the NSS lookups' own,
 * which glibc handles (ENOMEM), not that one-time set-up.
 *
 * Plain builds only: AddressSanitizer owns malloc itself.
 */
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

enum af_kind { AF_HEAP, AF_MMAP };

static _Atomic unsigned long af_calls;
static unsigned long af_at;        /* 0: never fail */
static enum af_kind af_kind = AF_HEAP;
static atomic_bool af_counting;    /* from main() on */
static int af_out = -1;
static __thread bool af_inside;    /* our own bookkeeping allocates not */

/* Declared here for -Wmissing-prototypes: interposed, not defined by us
 * otherwise. */
void *malloc(size_t n);
void *calloc(size_t a, size_t b);
void *realloc(void *p, size_t n);
int posix_memalign(void **ret, size_t align, size_t n);
void *aligned_alloc(size_t align, size_t n);
void *memalign(size_t align, size_t n);
void *valloc(size_t n);
void *pvalloc(size_t n);
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int sd_notify(int unset_environment, const char *state);
int sd_pid_notify(pid_t pid, int unset_environment, const char *state);
int sd_pid_notify_with_fds(pid_t pid, int unset_environment,
			   const char *state, const int *fds, unsigned n_fds);
int __libc_start_main(int (*main)(int, char **, char **), int argc,
		      char **argv, void (*init)(void), void (*fini)(void),
		      void (*rtld_fini)(void), void *stack_end);

/* glibc's own entry points: no dlsym (which may allocate) for these. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

/* One line to the out file with write(2): snprintf into the stack. */
__attribute__((format(printf, 1, 2))) static void af_say(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	if (af_out < 0) {
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0) {
		if ((size_t)n >= sizeof(line)) {
			n = sizeof(line) - 1;
		}
		if (write(af_out, line, (size_t)n) < 0) {
			/* Nothing to report it to. */
		}
	}
}

/* true when this call is the one to fail; says so with the stack. */
static bool af_fail(enum af_kind kind, const char *fn, size_t size)
{
	unsigned long n;
	void *frames[32];
	int depth;

	if (kind != af_kind || !atomic_load(&af_counting) || af_inside) {
		return false;
	}
	n = atomic_fetch_add(&af_calls, 1) + 1;
	if (n != af_at) {
		return false;
	}
	af_inside = true;
	af_say("failed %lu %s %zu\n", n, fn, size);
	depth = backtrace(frames, 32);
	if (af_out >= 0 && depth > 1) {
		backtrace_symbols_fd(frames + 1, depth - 1, af_out);
	}
	af_inside = false;
	return true;
}

__attribute__((constructor)) static void af_init(void)
{
	const char *at = getenv("TTWS_ALLOCFAIL_AT");
	const char *kind = getenv("TTWS_ALLOCFAIL_KIND");
	const char *out = getenv("TTWS_ALLOCFAIL_OUT");
	struct group gr, *res;
	char grbuf[4096];
	void *warm[1];

	af_at = at ? strtoul(at, NULL, 10) : 0;
	if (kind && strcmp(kind, "mmap") == 0) {
		af_kind = AF_MMAP;
	}
	if (out) {
		af_out = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			      0644);
	}
	/* backtrace() loads libgcc_s on its first call, which allocates:
	 * do that now, before anything is counted. */
	backtrace(warm, 1);
	/* glibc's NSS set-up, see the top of the file. */
	if (getgrnam_r("root", &gr, grbuf, sizeof(grbuf), &res) != 0) {
		res = NULL;
	}
}

void *malloc(size_t n)
{
	if (af_fail(AF_HEAP, "malloc", n)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	if (af_fail(AF_HEAP, "calloc", a * b)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	if (af_fail(AF_HEAP, "realloc", n)) {
		errno = ENOMEM;
		return NULL; /* p stays valid, as after a real failure */
	}
	return __libc_realloc(p, n);
}

int posix_memalign(void **ret, size_t align, size_t n)
{
	void *p;

	if (af_fail(AF_HEAP, "posix_memalign", n)) {
		return ENOMEM;
	}
	if (align < sizeof(void *) || (align & (align - 1))) {
		return EINVAL;
	}
	p = __libc_memalign(align, n);
	if (!p) {
		return ENOMEM;
	}
	*ret = p;
	return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
	if (af_fail(AF_HEAP, "aligned_alloc", n)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_memalign(align, n);
}

void *memalign(size_t align, size_t n)
{
	if (af_fail(AF_HEAP, "memalign", n)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_memalign(align, n);
}

void *valloc(size_t n)
{
	if (af_fail(AF_HEAP, "valloc", n)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_valloc(n);
}

void *pvalloc(size_t n)
{
	if (af_fail(AF_HEAP, "pvalloc", n)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_pvalloc(n);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	static void *(*next)(void *, size_t, int, int, int, off_t);

	if (af_fail(AF_MMAP, "mmap", len)) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	if (!next) {
		next = (void *(*)(void *, size_t, int, int, int, off_t))dlsym(
			RTLD_NEXT, "mmap");
	}
	return next(addr, len, prot, flags, fd, off);
}

/* READY=1 ends the start-up: how many calls it took. */
static void af_note_state(const char *state)
{
	static atomic_bool said;

	/* Once: sd_notify() may reach sd_pid_notify() through us again. */
	if (state && strstr(state, "READY=1") &&
	    !atomic_exchange(&said, true)) {
		af_say("ready %lu\n", atomic_load(&af_calls));
	}
}

int sd_notify(int unset_environment, const char *state)
{
	static int (*next)(int, const char *);

	af_note_state(state);
	if (!next) {
		next = (int (*)(int, const char *))dlsym(RTLD_NEXT,
							 "sd_notify");
	}
	return next ? next(unset_environment, state) : 0;
}

int sd_pid_notify(pid_t pid, int unset_environment, const char *state)
{
	static int (*next)(pid_t, int, const char *);

	af_note_state(state);
	if (!next) {
		next = (int (*)(pid_t, int, const char *))dlsym(
			RTLD_NEXT, "sd_pid_notify");
	}
	return next ? next(pid, unset_environment, state) : 0;
}

int sd_pid_notify_with_fds(pid_t pid, int unset_environment,
			   const char *state, const int *fds, unsigned n_fds)
{
	static int (*next)(pid_t, int, const char *, const int *, unsigned);

	af_note_state(state);
	if (!next) {
		next = (int (*)(pid_t, int, const char *, const int *,
				unsigned))dlsym(RTLD_NEXT,
						"sd_pid_notify_with_fds");
	}
	return next ? next(pid, unset_environment, state, fds, n_fds) : 0;
}

/* main() through the C runtime: counting starts with it. */
static int (*af_main)(int, char **, char **);

static int af_main_wrap(int argc, char **argv, char **envp)
{
	atomic_store(&af_counting, true);
	return af_main(argc, argv, envp);
}

int __libc_start_main(int (*main)(int, char **, char **), int argc,
		      char **argv, void (*init)(void), void (*fini)(void),
		      void (*rtld_fini)(void), void *stack_end)
{
	int (*next)(int (*)(int, char **, char **), int, char **,
		    void (*)(void), void (*)(void), void (*)(void), void *);

	next = (int (*)(int (*)(int, char **, char **), int, char **,
			void (*)(void), void (*)(void), void (*)(void),
			void *))dlsym(RTLD_NEXT, "__libc_start_main");
	af_main = main;
	return next(af_main_wrap, argc, argv, init, fini, rtld_fini,
		    stack_end);
}
