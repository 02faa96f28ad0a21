/* SPDX-License-Identifier: MIT */
/*
 * rtcheck: an LD_PRELOAD shim proving that ttwsd's RT thread neither
 * allocates, blocks, locks nor logs directly once it is in steady state.
 *
 * The RT thread names itself "ttws-rt" (prctl PR_SET_NAME) when its set-up
 * is over. Every interposed call checks the calling thread's name; calls
 * from "ttws-rt" are counted per function. clock_gettime is counted too,
 * as the positive control that the shim saw the RT thread at work. At exit
 * the counts go to $TTWS_RTCHECK_OUT as "name count" lines.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/uio.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

enum rc_fn {
	RC_MALLOC, RC_CALLOC, RC_REALLOC, RC_FREE, RC_MEMALIGN,
	RC_MUTEX_LOCK, RC_COND_WAIT, RC_NANOSLEEP, RC_CLOCK_NANOSLEEP,
	RC_USLEEP, RC_WRITE_STDIO, RC_FPRINTF, RC_SYSLOG, RC_JOURNAL,
	RC_CLOCK_GETTIME, RC_N,
};

static const char *const rc_names[RC_N] = {
	"malloc", "calloc", "realloc", "free", "memalign",
	"pthread_mutex_lock", "pthread_cond_wait", "nanosleep",
	"clock_nanosleep", "usleep", "write_stdio", "stdio", "syslog",
	"sd_journal", "clock_gettime",
};

static _Atomic unsigned long rc_count[RC_N];
static __thread int rc_is_rt = -1; /* -1 unknown, 0 no, 1 yes (final) */
static __thread bool rc_inside;

static bool rc_rt_thread(void)
{
	char name[16] = "";

	if (rc_is_rt == 1) {
		return true;
	}
	/* The name changes once, from ttws-rt-init to ttws-rt: keep asking
	 * until it says ttws-rt, then remember. */
	if (prctl(PR_GET_NAME, name) == 0 && strcmp(name, "ttws-rt") == 0) {
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
	if (rc_rt_thread()) {
		atomic_fetch_add(&rc_count[f], 1);
	}
	rc_inside = false;
}

/* The functions interposed below are declared by libc's headers, except
 * where noted; -Wmissing-prototypes wants to see these. */
void *malloc(size_t n);
void *calloc(size_t a, size_t b);
void *realloc(void *p, size_t n);
void free(void *p);
int posix_memalign(void **ret, size_t align, size_t n);
void *aligned_alloc(size_t align, size_t n);

/* glibc's own entry points: no dlsym (which may allocate) for these. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

void *malloc(size_t n)
{
	rc_note(RC_MALLOC);
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	rc_note(RC_CALLOC);
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	rc_note(RC_REALLOC);
	return __libc_realloc(p, n);
}

void free(void *p)
{
	if (p) {
		rc_note(RC_FREE);
	}
	__libc_free(p);
}

int posix_memalign(void **ret, size_t align, size_t n)
{
	void *p;

	rc_note(RC_MEMALIGN);
	p = __libc_memalign(align, n);
	if (!p) {
		return ENOMEM;
	}
	*ret = p;
	return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
	rc_note(RC_MEMALIGN);
	return __libc_memalign(align, n);
}

#define RC_NEXT(type, name) ((type)dlsym(RTLD_NEXT, name))

int pthread_mutex_lock(pthread_mutex_t *m)
{
	static int (*next)(pthread_mutex_t *);

	rc_note(RC_MUTEX_LOCK);
	if (!next) {
		next = RC_NEXT(int (*)(pthread_mutex_t *), "pthread_mutex_lock");
	}
	return next(m);
}

int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	static int (*next)(pthread_cond_t *, pthread_mutex_t *);

	rc_note(RC_COND_WAIT);
	if (!next) {
		next = RC_NEXT(int (*)(pthread_cond_t *, pthread_mutex_t *),
			       "pthread_cond_wait");
	}
	return next(c, m);
}

int nanosleep(const struct timespec *a, struct timespec *b)
{
	static int (*next)(const struct timespec *, struct timespec *);

	rc_note(RC_NANOSLEEP);
	if (!next) {
		next = RC_NEXT(int (*)(const struct timespec *,
				       struct timespec *),
			       "nanosleep");
	}
	return next(a, b);
}

int clock_nanosleep(clockid_t c, int f, const struct timespec *a,
		    struct timespec *b)
{
	static int (*next)(clockid_t, int, const struct timespec *,
			   struct timespec *);

	rc_note(RC_CLOCK_NANOSLEEP);
	if (!next) {
		next = RC_NEXT(int (*)(clockid_t, int, const struct timespec *,
				       struct timespec *),
			       "clock_nanosleep");
	}
	return next(c, f, a, b);
}

int usleep(useconds_t us)
{
	static int (*next)(useconds_t);

	rc_note(RC_USLEEP);
	if (!next) {
		next = RC_NEXT(int (*)(useconds_t), "usleep");
	}
	return next(us);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	static ssize_t (*next)(int, const void *, size_t);

	if (fd == 1 || fd == 2) {
		rc_note(RC_WRITE_STDIO);
	}
	if (!next) {
		next = RC_NEXT(ssize_t (*)(int, const void *, size_t),
			       "write");
	}
	return next(fd, buf, n);
}

int vfprintf(FILE *f, const char *fmt, va_list ap)
{
	static int (*next)(FILE *, const char *, va_list);

	rc_note(RC_FPRINTF);
	if (!next) {
		next = RC_NEXT(int (*)(FILE *, const char *, va_list),
			       "vfprintf");
	}
	return next(f, fmt, ap);
}

size_t fwrite(const void *p, size_t size, size_t n, FILE *f)
{
	static size_t (*next)(const void *, size_t, size_t, FILE *);

	rc_note(RC_FPRINTF);
	if (!next) {
		next = RC_NEXT(size_t (*)(const void *, size_t, size_t, FILE *),
			       "fwrite");
	}
	return next(p, size, n, f);
}

int fputs(const char *s, FILE *f)
{
	static int (*next)(const char *, FILE *);

	rc_note(RC_FPRINTF);
	if (!next) {
		next = RC_NEXT(int (*)(const char *, FILE *), "fputs");
	}
	return next(s, f);
}

int fprintf(FILE *f, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfprintf(f, fmt, ap);
	va_end(ap);
	return r;
}

void syslog(int pri, const char *fmt, ...)
{
	static void (*next)(int, const char *, va_list);
	va_list ap;

	rc_note(RC_SYSLOG);
	if (!next) {
		next = RC_NEXT(void (*)(int, const char *, va_list),
			       "vsyslog");
	}
	va_start(ap, fmt);
	next(pri, fmt, ap);
	va_end(ap);
}

int sd_journal_sendv(const struct iovec *iov, int n);

int sd_journal_sendv(const struct iovec *iov, int n)
{
	static int (*next)(const struct iovec *, int);

	rc_note(RC_JOURNAL);
	if (!next) {
		next = RC_NEXT(int (*)(const struct iovec *, int),
			       "sd_journal_sendv");
	}
	return next ? next(iov, n) : -ENOSYS;
}

int clock_gettime(clockid_t c, struct timespec *ts)
{
	static int (*next)(clockid_t, struct timespec *);

	rc_note(RC_CLOCK_GETTIME);
	if (!next) {
		next = RC_NEXT(int (*)(clockid_t, struct timespec *),
			       "clock_gettime");
	}
	return next(c, ts);
}

__attribute__((destructor)) static void rc_report(void)
{
	const char *out = getenv("TTWS_RTCHECK_OUT");
	FILE *f;
	int i;

	if (!out) {
		return;
	}
	rc_inside = true;
	f = fopen(out, "w");
	if (!f) {
		return;
	}
	for (i = 0; i < RC_N; i++) {
		fprintf(f, "%s %lu\n", rc_names[i], atomic_load(&rc_count[i]));
	}
	fclose(f);
}
