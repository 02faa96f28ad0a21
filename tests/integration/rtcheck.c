/* SPDX-License-Identifier: MIT */
/*
 * rtcheck: an LD_PRELOAD shim proving that ttwsd's RT thread, and
 * ttws.sink's process() callback, neither allocate, map memory, block,
 * lock, sleep, print nor log directly once they run.
 *
 * Two extents are watched:
 *  - the thread named "ttws-rt": the RT thread renames itself from
 *    "ttws-rt-init" when its set-up is over (src/daemon/engine.c). The
 *    shim sees the rename (prctl is interposed, so a thread confined by
 *    the seccomp filter never has to ask for its name) and, for threads
 *    renamed otherwise, asks PR_GET_NAME until the name says ttws-rt;
 *  - the sections between ttws_rtcheck_section(1) and (0), which a
 *    test-hook build of src/pw/sink_stream.c calls around process() on
 *    PipeWire's data thread (it finds the function with dlsym: without
 *    the shim there is none and nothing is marked).
 *
 * Each interposed function has its own counter per extent, so a test can
 * prove every one of them is caught (rtcheck-selftest.c). clock_gettime
 * is counted too, as the positive control that the extent was seen at
 * work. Calls are counted, then carried out; only the outermost
 * interposed call is counted when one calls another inside the shim.
 *
 * What a function reaches only from inside libc (malloc's own mmap and
 * brk, stdio's write) is not seen here: those are glibc-internal calls.
 * The seccomp filter (src/os/rt_seccomp.c) sees every syscall of the RT
 * thread instead; the two together are the proof (README).
 *
 * At exit the counts go to $TTWS_RTCHECK_OUT as "name count" lines (both
 * extents summed: every line but clock_gettime must be 0), to
 * $TTWS_RTCHECK_OUT.rt (the RT thread only) and $TTWS_RTCHECK_OUT.process
 * (process() only, plus "sections N": how many were marked).
 *
 * TTWS_RTCHECK_DRY_LOG=1: the syslog and sd-journal functions are counted
 * but not carried out (the selftest calls each one and should not write
 * to the system's logs).
 *
 * Not with AddressSanitizer: ASan must be the first preloaded library and
 * replaces the allocator this shim wraps.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* Every counter, in report order. */
#define RC_COUNTERS(X)                                                         \
	X(malloc) X(calloc) X(realloc) X(reallocarray) X(free)                 \
	X(posix_memalign) X(aligned_alloc) X(memalign) X(valloc) X(pvalloc)    \
	X(mmap) X(mmap64) X(munmap) X(mremap) X(brk) X(sbrk)                   \
	X(pthread_mutex_lock) X(pthread_mutex_trylock)                         \
	X(pthread_mutex_timedlock) X(pthread_mutex_clocklock)                  \
	X(pthread_spin_lock) X(pthread_spin_trylock)                           \
	X(pthread_rwlock_rdlock) X(pthread_rwlock_wrlock)                      \
	X(pthread_rwlock_tryrdlock) X(pthread_rwlock_trywrlock)                \
	X(pthread_rwlock_timedrdlock) X(pthread_rwlock_timedwrlock)            \
	X(pthread_rwlock_clockrdlock) X(pthread_rwlock_clockwrlock)            \
	X(pthread_rwlock_unlock)                                               \
	X(pthread_cond_wait) X(pthread_cond_timedwait)                         \
	X(pthread_cond_clockwait) X(pthread_cond_signal)                       \
	X(pthread_cond_broadcast)                                              \
	X(sem_wait) X(sem_timedwait) X(sem_clockwait) X(sem_trywait)           \
	X(sem_post)                                                            \
	X(sleep) X(usleep) X(nanosleep) X(clock_nanosleep)                     \
	X(write_stdio)                                                         \
	X(printf) X(vprintf) X(fprintf) X(vfprintf) X(dprintf) X(vdprintf)     \
	X(__printf_chk) X(__vprintf_chk) X(__fprintf_chk) X(__vfprintf_chk)    \
	X(__dprintf_chk) X(__vdprintf_chk)                                     \
	X(puts) X(fputs) X(fputs_unlocked) X(fwrite) X(fwrite_unlocked)        \
	X(putchar) X(putchar_unlocked) X(putc) X(putc_unlocked) X(fputc)       \
	X(fputc_unlocked) X(perror) X(fflush)                                  \
	X(syslog) X(vsyslog) X(__syslog_chk) X(__vsyslog_chk)                  \
	X(sd_journal_print) X(sd_journal_printv) X(sd_journal_send)            \
	X(sd_journal_sendv) X(sd_journal_perror)                               \
	X(sd_journal_print_with_location)                                      \
	X(sd_journal_printv_with_location)                                     \
	X(sd_journal_send_with_location)                                       \
	X(sd_journal_sendv_with_location)                                      \
	X(sd_journal_perror_with_location) X(sd_journal_stream_fd)             \
	X(clock_gettime)

#define RC_ENUM(n) RC_##n,
#define RC_NAME(n) #n,
enum rc_fn { RC_COUNTERS(RC_ENUM) RC_N };
static const char *const rc_names[RC_N] = { RC_COUNTERS(RC_NAME) };

enum rc_extent { RC_RT, RC_PROCESS, RC_N_EXTENTS };

static _Atomic unsigned long rc_count[RC_N_EXTENTS][RC_N];
static _Atomic unsigned long rc_sections;
static __thread int rc_is_rt = -1; /* -1 unknown, 0 no, 1 yes (final) */
static __thread bool rc_inside;
static __thread int rc_section_depth;
static bool rc_dry_log;

static bool rc_rt_thread(void)
{
	char name[16] = "";

	if (rc_is_rt >= 0) {
		return rc_is_rt == 1;
	}
	/* A thread named by other means (pthread_setname_np from another
	 * thread, or before the shim saw it): ask until it says ttws-rt.
	 * The raw syscall: the prctl below is the shim's own. */
	if (syscall(SYS_prctl, PR_GET_NAME, name, 0, 0, 0) == 0 &&
	    strcmp(name, "ttws-rt") == 0) {
		rc_is_rt = 1;
		return true;
	}
	return false;
}

static void rc_note(enum rc_fn f)
{
	if (rc_inside) {
		return;
	}
	rc_inside = true;
	if (rc_section_depth > 0) {
		atomic_fetch_add(&rc_count[RC_PROCESS][f], 1);
	} else if (rc_rt_thread()) {
		atomic_fetch_add(&rc_count[RC_RT][f], 1);
	}
	rc_inside = false;
}

/* Exported: the start (on != 0) and end of a checked section on the
 * calling thread (ttws.sink's process(), src/pw/sink_stream.c). */
void ttws_rtcheck_section(int on);

void ttws_rtcheck_section(int on)
{
	if (on) {
		if (rc_section_depth++ == 0) {
			atomic_fetch_add(&rc_sections, 1);
		}
	} else if (rc_section_depth > 0) {
		rc_section_depth--;
	}
}

/* ---- the next definitions ---------------------------------------------
 * Looked up once by the constructor, so that no dlsym runs later on the
 * RT thread (where the seccomp filter would forbid what dlsym might do);
 * looked up on first use too, for calls made before the constructor. */

#define RC_NEXT(name) rc_next_##name
#define RC_DECL_NEXT(ret, name, params) static ret(*RC_NEXT(name)) params
#define RC_RESOLVE(name)                                                       \
	do {                                                                   \
		if (!RC_NEXT(name)) {                                          \
			*(void **)&RC_NEXT(name) = dlsym(RTLD_NEXT, #name);    \
		}                                                              \
	} while (0)

/* The constructor that looks name up at load time. */
#define RC_INIT(name)                                                          \
	__attribute__((constructor)) static void rc_init_##name(void)          \
	{                                                                      \
		RC_RESOLVE(name);                                              \
	}

/* glibc keeps two versions of pthread_cond_wait, _timedwait, _signal and
 * _broadcast on x86-64 (GLIBC_2.2.5, the old condition variable, and
 * GLIBC_2.3.2), and a lookup by name alone may find the old one, which
 * misreads today's pthread_cond_t: ask for the current one first. */
#define RC_RESOLVE_COND(name)                                                  \
	do {                                                                   \
		if (!RC_NEXT(name)) {                                          \
			*(void **)&RC_NEXT(name) =                             \
				dlvsym(RTLD_NEXT, #name, "GLIBC_2.3.2");       \
		}                                                              \
		RC_RESOLVE(name);                                              \
	} while (0)

/* ---- allocation --------------------------------------------------------
 * glibc's own entry points: no dlsym (which may allocate) for these. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

/* Interposed below; declared by libc's headers except these. */
void *memalign(size_t align, size_t n);
void *valloc(size_t n);
void *pvalloc(size_t n);

void *malloc(size_t n)
{
	rc_note(RC_malloc);
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	rc_note(RC_calloc);
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	rc_note(RC_realloc);
	return __libc_realloc(p, n);
}

void *reallocarray(void *p, size_t a, size_t b)
{
	size_t n;

	rc_note(RC_reallocarray);
	if (__builtin_mul_overflow(a, b, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, n);
}

void free(void *p)
{
	if (p) {
		rc_note(RC_free);
	}
	__libc_free(p);
}

int posix_memalign(void **ret, size_t align, size_t n)
{
	void *p;

	rc_note(RC_posix_memalign);
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
	rc_note(RC_aligned_alloc);
	return __libc_memalign(align, n);
}

void *memalign(size_t align, size_t n)
{
	rc_note(RC_memalign);
	return __libc_memalign(align, n);
}

void *valloc(size_t n)
{
	rc_note(RC_valloc);
	return __libc_valloc(n);
}

void *pvalloc(size_t n)
{
	rc_note(RC_pvalloc);
	return __libc_pvalloc(n);
}

/* ---- forwarding interposers, one line each ---------------------------- */

/* ret name(params) { count; return next(args); } */
#define RC_FWD(ret, name, params, args)                                        \
	RC_DECL_NEXT(ret, name, params);                                       \
	RC_INIT(name)                                                          \
	ret name params                                                        \
	{                                                                      \
		rc_note(RC_##name);                                            \
		RC_RESOLVE(name);                                              \
		return RC_NEXT(name) args;                                     \
	}

/* Memory mapping (what a direct call does; malloc's are glibc-internal). */
/* Under _FILE_OFFSET_BITS=64 <sys/mman.h> renames mmap to mmap64: these
 * two are defined by their symbol names, not through the header's. */
void *rc_mmap(void *a, size_t l, int p, int f, int fd, int64_t o)
	__asm__("mmap");
void *rc_mmap64(void *a, size_t l, int p, int f, int fd, int64_t o)
	__asm__("mmap64");
static void *(*rc_next_mmap)(void *, size_t, int, int, int, int64_t);
static void *(*rc_next_mmap64)(void *, size_t, int, int, int, int64_t);

void *rc_mmap(void *a, size_t l, int p, int f, int fd, int64_t o)
{
	rc_note(RC_mmap);
	RC_RESOLVE(mmap);
	return rc_next_mmap(a, l, p, f, fd, o);
}

void *rc_mmap64(void *a, size_t l, int p, int f, int fd, int64_t o)
{
	rc_note(RC_mmap64);
	RC_RESOLVE(mmap64);
	return rc_next_mmap64(a, l, p, f, fd, o);
}

RC_FWD(int, munmap, (void *a, size_t l), (a, l))
RC_FWD(int, brk, (void *a), (a))
RC_FWD(void *, sbrk, (intptr_t d), (d))

RC_DECL_NEXT(void *, mremap, (void *, size_t, size_t, int, ...));
void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *to = NULL;
	va_list ap;

	rc_note(RC_mremap);
	/* The new address is an argument only with MREMAP_FIXED (mremap(2)). */
	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		to = va_arg(ap, void *);
		va_end(ap);
	}
	RC_RESOLVE(mremap);
	return RC_NEXT(mremap)(old, old_len, new_len, flags, to);
}

/* Locks, condition variables, semaphores. */
#define RC_FWD_COND(name, params, args)                                        \
	RC_DECL_NEXT(int, name, params);                                       \
	__attribute__((constructor)) static void rc_init_##name(void)          \
	{                                                                      \
		RC_RESOLVE_COND(name);                                         \
	}                                                                      \
	int name params                                                        \
	{                                                                      \
		rc_note(RC_##name);                                            \
		RC_RESOLVE_COND(name);                                         \
		return RC_NEXT(name) args;                                     \
	}

RC_FWD(int, pthread_mutex_lock, (pthread_mutex_t *m), (m))
RC_FWD(int, pthread_mutex_trylock, (pthread_mutex_t *m), (m))
RC_FWD(int, pthread_mutex_timedlock,
       (pthread_mutex_t *m, const struct timespec *t), (m, t))
RC_FWD(int, pthread_mutex_clocklock,
       (pthread_mutex_t *m, clockid_t c, const struct timespec *t), (m, c, t))
RC_FWD(int, pthread_spin_lock, (pthread_spinlock_t *l), (l))
RC_FWD(int, pthread_spin_trylock, (pthread_spinlock_t *l), (l))
RC_FWD(int, pthread_rwlock_rdlock, (pthread_rwlock_t *l), (l))
RC_FWD(int, pthread_rwlock_wrlock, (pthread_rwlock_t *l), (l))
RC_FWD(int, pthread_rwlock_tryrdlock, (pthread_rwlock_t *l), (l))
RC_FWD(int, pthread_rwlock_trywrlock, (pthread_rwlock_t *l), (l))
RC_FWD(int, pthread_rwlock_timedrdlock,
       (pthread_rwlock_t *l, const struct timespec *t), (l, t))
RC_FWD(int, pthread_rwlock_timedwrlock,
       (pthread_rwlock_t *l, const struct timespec *t), (l, t))
RC_FWD(int, pthread_rwlock_clockrdlock,
       (pthread_rwlock_t *l, clockid_t c, const struct timespec *t),
       (l, c, t))
RC_FWD(int, pthread_rwlock_clockwrlock,
       (pthread_rwlock_t *l, clockid_t c, const struct timespec *t),
       (l, c, t))
RC_FWD(int, pthread_rwlock_unlock, (pthread_rwlock_t *l), (l))
RC_FWD_COND(pthread_cond_wait, (pthread_cond_t *c, pthread_mutex_t *m),
	    (c, m))
RC_FWD_COND(pthread_cond_timedwait,
	    (pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t),
	    (c, m, t))
RC_FWD(int, pthread_cond_clockwait,
       (pthread_cond_t *c, pthread_mutex_t *m, clockid_t k,
	const struct timespec *t),
       (c, m, k, t))
RC_FWD_COND(pthread_cond_signal, (pthread_cond_t *c), (c))
RC_FWD_COND(pthread_cond_broadcast, (pthread_cond_t *c), (c))
RC_FWD(int, sem_wait, (sem_t *s), (s))
RC_FWD(int, sem_timedwait, (sem_t *s, const struct timespec *t), (s, t))
RC_FWD(int, sem_clockwait, (sem_t *s, clockid_t c, const struct timespec *t),
       (s, c, t))
RC_FWD(int, sem_trywait, (sem_t *s), (s))
RC_FWD(int, sem_post, (sem_t *s), (s))

/* Sleeping. */
RC_FWD(unsigned, sleep, (unsigned s), (s))
RC_FWD(int, usleep, (useconds_t us), (us))
RC_FWD(int, nanosleep, (const struct timespec *a, struct timespec *b), (a, b))
RC_FWD(int, clock_nanosleep,
       (clockid_t c, int f, const struct timespec *a, struct timespec *b),
       (c, f, a, b))

/* The positive control. */
RC_FWD(int, clock_gettime, (clockid_t c, struct timespec *ts), (c, ts))

/* ---- stdio and stderr ---------------------------------------------------
 * Some of these are macros in <stdio.h> under optimisation. */
#undef putc
#undef putchar
#undef putc_unlocked
#undef putchar_unlocked
#undef fputc_unlocked
#undef fputs_unlocked
#undef fwrite_unlocked

RC_DECL_NEXT(ssize_t, write, (int, const void *, size_t));
ssize_t write(int fd, const void *buf, size_t n)
{
	if (fd == 1 || fd == 2) {
		rc_note(RC_write_stdio);
	}
	RC_RESOLVE(write);
	return RC_NEXT(write)(fd, buf, n);
}

RC_FWD(int, vprintf, (const char *fmt, va_list ap), (fmt, ap))
RC_FWD(int, vfprintf, (FILE *f, const char *fmt, va_list ap), (f, fmt, ap))
RC_FWD(int, vdprintf, (int fd, const char *fmt, va_list ap), (fd, fmt, ap))
RC_FWD(int, puts, (const char *s), (s))
RC_FWD(int, fputs, (const char *s, FILE *f), (s, f))
RC_FWD(int, fputs_unlocked, (const char *s, FILE *f), (s, f))
RC_FWD(size_t, fwrite, (const void *p, size_t s, size_t n, FILE *f),
       (p, s, n, f))
RC_FWD(size_t, fwrite_unlocked, (const void *p, size_t s, size_t n, FILE *f),
       (p, s, n, f))
RC_FWD(int, putchar, (int c), (c))
RC_FWD(int, putchar_unlocked, (int c), (c))
RC_FWD(int, putc, (int c, FILE *f), (c, f))
RC_FWD(int, putc_unlocked, (int c, FILE *f), (c, f))
RC_FWD(int, fputc, (int c, FILE *f), (c, f))
RC_FWD(int, fputc_unlocked, (int c, FILE *f), (c, f))
RC_FWD(int, fflush, (FILE *f), (f))

RC_DECL_NEXT(void, perror, (const char *));
void perror(const char *s)
{
	rc_note(RC_perror);
	RC_RESOLVE(perror);
	RC_NEXT(perror)(s);
}

/* The fortified entry points (_FORTIFY_SOURCE: PipeWire and other
 * libraries are built with it). Declared here: glibc's headers do not. */
int __printf_chk(int flag, const char *fmt, ...);
int __vprintf_chk(int flag, const char *fmt, va_list ap);
int __fprintf_chk(FILE *f, int flag, const char *fmt, ...);
int __vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap);
int __dprintf_chk(int fd, int flag, const char *fmt, ...);
int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap);
void __syslog_chk(int pri, int flag, const char *fmt, ...);
void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap);

RC_FWD(int, __vprintf_chk, (int fl, const char *fmt, va_list ap),
       (fl, fmt, ap))
RC_FWD(int, __vfprintf_chk, (FILE *f, int fl, const char *fmt, va_list ap),
       (f, fl, fmt, ap))
RC_FWD(int, __vdprintf_chk, (int fd, int fl, const char *fmt, va_list ap),
       (fd, fl, fmt, ap))

/* The variadic ones count, then call their va_list twin's next
 * definition (not the twin itself: one call, one count). */
#define RC_VARIADIC(ret, name, twin, params, last, args)                       \
	ret name params                                                        \
	{                                                                      \
		va_list ap;                                                    \
		ret r;                                                         \
                                                                               \
		rc_note(RC_##name);                                            \
		RC_RESOLVE(twin);                                              \
		va_start(ap, last);                                            \
		r = RC_NEXT(twin) args;                                        \
		va_end(ap);                                                    \
		return r;                                                      \
	}

RC_VARIADIC(int, printf, vprintf, (const char *fmt, ...), fmt, (fmt, ap))
RC_VARIADIC(int, fprintf, vfprintf, (FILE *f, const char *fmt, ...), fmt,
	    (f, fmt, ap))
RC_VARIADIC(int, dprintf, vdprintf, (int fd, const char *fmt, ...), fmt,
	    (fd, fmt, ap))
RC_VARIADIC(int, __printf_chk, __vprintf_chk, (int fl, const char *fmt, ...),
	    fmt, (fl, fmt, ap))
RC_VARIADIC(int, __fprintf_chk, __vfprintf_chk,
	    (FILE *f, int fl, const char *fmt, ...), fmt, (f, fl, fmt, ap))
RC_VARIADIC(int, __dprintf_chk, __vdprintf_chk,
	    (int fd, int fl, const char *fmt, ...), fmt, (fd, fl, fmt, ap))

/* ---- syslog and the journal ---------------------------------------------
 * Counted, then carried out unless TTWS_RTCHECK_DRY_LOG. */

RC_DECL_NEXT(void, vsyslog, (int, const char *, va_list));
RC_DECL_NEXT(void, __vsyslog_chk, (int, int, const char *, va_list));

void vsyslog(int pri, const char *fmt, va_list ap)
{
	rc_note(RC_vsyslog);
	RC_RESOLVE(vsyslog);
	if (!rc_dry_log) {
		RC_NEXT(vsyslog)(pri, fmt, ap);
	}
}

void __vsyslog_chk(int pri, int fl, const char *fmt, va_list ap)
{
	rc_note(RC___vsyslog_chk);
	RC_RESOLVE(__vsyslog_chk);
	if (!rc_dry_log) {
		RC_NEXT(__vsyslog_chk)(pri, fl, fmt, ap);
	}
}

void syslog(int pri, const char *fmt, ...)
{
	va_list ap;

	rc_note(RC_syslog);
	RC_RESOLVE(vsyslog);
	if (!rc_dry_log) {
		va_start(ap, fmt);
		RC_NEXT(vsyslog)(pri, fmt, ap);
		va_end(ap);
	}
}

void __syslog_chk(int pri, int fl, const char *fmt, ...)
{
	va_list ap;

	rc_note(RC___syslog_chk);
	RC_RESOLVE(__vsyslog_chk);
	if (!rc_dry_log) {
		va_start(ap, fmt);
		RC_NEXT(__vsyslog_chk)(pri, fl, fmt, ap);
		va_end(ap);
	}
}

/*
 * sd-journal's writing entry points (sd-journal(3)); libsystemd is not
 * linked to the shim, so their next definitions may be absent (-ENOSYS).
 */
int sd_journal_printv(int pri, const char *fmt, va_list ap);
int sd_journal_print(int pri, const char *fmt, ...);
int sd_journal_sendv(const struct iovec *iov, int n);
int sd_journal_perror(const char *msg);
int sd_journal_printv_with_location(int pri, const char *file,
				    const char *line, const char *func,
				    const char *fmt, va_list ap);
int sd_journal_print_with_location(int pri, const char *file,
				   const char *line, const char *func,
				   const char *fmt, ...);
int sd_journal_sendv_with_location(const char *file, const char *line,
				   const char *func, const struct iovec *iov,
				   int n);
int sd_journal_perror_with_location(const char *file, const char *line,
				    const char *func, const char *msg);
int sd_journal_stream_fd(const char *id, int pri, int level_prefix);

/* ret name(params): count, then next(args) or 0 (dry) or -ENOSYS. */
#define RC_JOURNAL(name, params, args)                                         \
	RC_DECL_NEXT(int, name, params);                                       \
	RC_INIT(name)                                                          \
	int name params                                                        \
	{                                                                      \
		rc_note(RC_##name);                                            \
		RC_RESOLVE(name);                                              \
		if (rc_dry_log) {                                              \
			return 0;                                              \
		}                                                              \
		return RC_NEXT(name) ? RC_NEXT(name) args : -ENOSYS;           \
	}

RC_JOURNAL(sd_journal_printv, (int pri, const char *fmt, va_list ap),
	   (pri, fmt, ap))
RC_JOURNAL(sd_journal_sendv, (const struct iovec *iov, int n), (iov, n))
RC_JOURNAL(sd_journal_perror, (const char *msg), (msg))
RC_JOURNAL(sd_journal_printv_with_location,
	   (int pri, const char *file, const char *line, const char *func,
	    const char *fmt, va_list ap),
	   (pri, file, line, func, fmt, ap))
RC_JOURNAL(sd_journal_sendv_with_location,
	   (const char *file, const char *line, const char *func,
	    const struct iovec *iov, int n),
	   (file, line, func, iov, n))
RC_JOURNAL(sd_journal_perror_with_location,
	   (const char *file, const char *line, const char *func,
	    const char *msg),
	   (file, line, func, msg))
RC_JOURNAL(sd_journal_stream_fd, (const char *id, int pri, int lp),
	   (id, pri, lp))

int sd_journal_print(int pri, const char *fmt, ...)
{
	va_list ap;
	int r;

	rc_note(RC_sd_journal_print);
	RC_RESOLVE(sd_journal_printv);
	if (rc_dry_log) {
		return 0;
	}
	if (!RC_NEXT(sd_journal_printv)) {
		return -ENOSYS;
	}
	va_start(ap, fmt);
	r = RC_NEXT(sd_journal_printv)(pri, fmt, ap);
	va_end(ap);
	return r;
}

int sd_journal_print_with_location(int pri, const char *file,
				   const char *line, const char *func,
				   const char *fmt, ...)
{
	va_list ap;
	int r;

	rc_note(RC_sd_journal_print_with_location);
	RC_RESOLVE(sd_journal_printv_with_location);
	if (rc_dry_log) {
		return 0;
	}
	if (!RC_NEXT(sd_journal_printv_with_location)) {
		return -ENOSYS;
	}
	va_start(ap, fmt);
	r = RC_NEXT(sd_journal_printv_with_location)(pri, file, line, func,
						     fmt, ap);
	va_end(ap);
	return r;
}

/*
 * sd_journal_send() and sd_journal_send_with_location() take a
 * NULL-terminated list of formats, each with its own arguments, and have
 * no va_list twin: C cannot pass such a list on. A few instructions of
 * x86-64 assembly can: save the argument registers (and rax, the vector
 * register count of a variadic call; System V AMD64 ABI, 3.5.7), count,
 * restore them, and jump to the next definition with the caller's stack
 * untouched. rc_send_target() returns where to jump: the next
 * definition, or a function returning 0 (dry) or -ENOSYS (absent).
 * Other architectures do not interpose these two.
 */
#if defined(__x86_64__)
static void *RC_NEXT(sd_journal_send);
static void *RC_NEXT(sd_journal_send_with_location);

static int rc_journal_zero(void)
{
	return 0;
}

static int rc_journal_absent(void)
{
	return -ENOSYS;
}

__attribute__((used, visibility("hidden"))) void *rc_send_target(int which);

__attribute__((used, visibility("hidden"))) void *rc_send_target(int which)
{
	void *next;

	if (which == 0) {
		rc_note(RC_sd_journal_send);
		RC_RESOLVE(sd_journal_send);
		next = RC_NEXT(sd_journal_send);
	} else {
		rc_note(RC_sd_journal_send_with_location);
		RC_RESOLVE(sd_journal_send_with_location);
		next = RC_NEXT(sd_journal_send_with_location);
	}
	if (rc_dry_log) {
		return (void *)rc_journal_zero;
	}
	return next ? next : (void *)rc_journal_absent;
}

/* 7 integer registers and xmm0-7: 56 + 128 bytes, 192 keeps the stack
 * 16-byte aligned for the call (rsp is 8 mod 16 at entry, 0 after the
 * push). */
#define RC_SEND_STUB(name, which)                                              \
	__asm__(".text\n"                                                      \
		".globl " #name "\n"                                           \
		".type " #name ", @function\n" #name ":\n"                     \
		"	pushq %rbp\n"                                          \
		"	movq %rsp, %rbp\n"                                     \
		"	subq $192, %rsp\n"                                     \
		"	movq %rdi, 0(%rsp)\n"                                  \
		"	movq %rsi, 8(%rsp)\n"                                  \
		"	movq %rdx, 16(%rsp)\n"                                 \
		"	movq %rcx, 24(%rsp)\n"                                 \
		"	movq %r8, 32(%rsp)\n"                                  \
		"	movq %r9, 40(%rsp)\n"                                  \
		"	movq %rax, 48(%rsp)\n"                                 \
		"	movups %xmm0, 64(%rsp)\n"                              \
		"	movups %xmm1, 80(%rsp)\n"                              \
		"	movups %xmm2, 96(%rsp)\n"                              \
		"	movups %xmm3, 112(%rsp)\n"                             \
		"	movups %xmm4, 128(%rsp)\n"                             \
		"	movups %xmm5, 144(%rsp)\n"                             \
		"	movups %xmm6, 160(%rsp)\n"                             \
		"	movups %xmm7, 176(%rsp)\n"                             \
		"	movl $" #which ", %edi\n"                              \
		"	call rc_send_target\n"                                 \
		"	movq %rax, %r11\n"                                     \
		"	movq 0(%rsp), %rdi\n"                                  \
		"	movq 8(%rsp), %rsi\n"                                  \
		"	movq 16(%rsp), %rdx\n"                                 \
		"	movq 24(%rsp), %rcx\n"                                 \
		"	movq 32(%rsp), %r8\n"                                  \
		"	movq 40(%rsp), %r9\n"                                  \
		"	movq 48(%rsp), %rax\n"                                 \
		"	movups 64(%rsp), %xmm0\n"                              \
		"	movups 80(%rsp), %xmm1\n"                              \
		"	movups 96(%rsp), %xmm2\n"                              \
		"	movups 112(%rsp), %xmm3\n"                             \
		"	movups 128(%rsp), %xmm4\n"                             \
		"	movups 144(%rsp), %xmm5\n"                             \
		"	movups 160(%rsp), %xmm6\n"                             \
		"	movups 176(%rsp), %xmm7\n"                             \
		"	leave\n"                                               \
		"	jmp *%r11\n"                                           \
		".size " #name ", .-" #name "\n")

RC_SEND_STUB(sd_journal_send, 0);
RC_SEND_STUB(sd_journal_send_with_location, 1);
#endif

/* ---- the thread's name ------------------------------------------------- */

RC_DECL_NEXT(int, prctl,
	     (int, unsigned long, unsigned long, unsigned long, unsigned long));

/* glibc's prctl reads four unsigned long arguments the same way. */
int prctl(int option, ...)
{
	unsigned long a[4];
	va_list ap;
	int i, r;

	va_start(ap, option);
	for (i = 0; i < 4; i++) {
		a[i] = va_arg(ap, unsigned long);
	}
	va_end(ap);
	RC_RESOLVE(prctl);
	r = RC_NEXT(prctl)(option, a[0], a[1], a[2], a[3]);
	if (r == 0 && option == PR_SET_NAME) {
		/* "ttws-rt" is final; any other name: ask again later. */
		rc_is_rt = strncmp((const char *)a[0], "ttws-rt", 16) == 0 ?
				   1 :
				   -1;
	}
	return r;
}

/* ---- set-up and report ------------------------------------------------- */

/* The next definitions of what is not an RC_FWD or RC_JOURNAL (those
 * have their own constructors), and the options. */
__attribute__((constructor)) static void rc_init(void)
{
	const char *dry = getenv("TTWS_RTCHECK_DRY_LOG");

	rc_inside = true;
	rc_dry_log = dry && strcmp(dry, "1") == 0;
	RC_RESOLVE(mmap);
	RC_RESOLVE(mmap64);
	RC_RESOLVE(mremap);
	RC_RESOLVE(write);
	RC_RESOLVE(perror);
	RC_RESOLVE(vsyslog);
	RC_RESOLVE(__vsyslog_chk);
	RC_RESOLVE(prctl);
#if defined(__x86_64__)
	RC_RESOLVE(sd_journal_send);
	RC_RESOLVE(sd_journal_send_with_location);
#endif
	rc_inside = false;
}

static void rc_write(const char *path, const char *suffix, int extent)
{
	char name[4096];
	FILE *f;
	int i;

	if (snprintf(name, sizeof(name), "%s%s", path, suffix) >=
	    (int)sizeof(name)) {
		return;
	}
	f = fopen(name, "w");
	if (!f) {
		return;
	}
	for (i = 0; i < RC_N; i++) {
		unsigned long n = 0;
		int x;

		for (x = 0; x < RC_N_EXTENTS; x++) {
			if (extent < 0 || extent == x) {
				n += atomic_load(&rc_count[x][i]);
			}
		}
		fprintf(f, "%s %lu\n", rc_names[i], n);
	}
	if (extent == RC_PROCESS) {
		fprintf(f, "sections %lu\n", atomic_load(&rc_sections));
	}
	fclose(f);
}

__attribute__((destructor)) static void rc_report(void)
{
	const char *out = getenv("TTWS_RTCHECK_OUT");

	if (!out) {
		return;
	}
	rc_inside = true;
	rc_write(out, "", -1);
	rc_write(out, ".rt", RC_RT);
	rc_write(out, ".process", RC_PROCESS);
}
