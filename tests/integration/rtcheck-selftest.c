/* SPDX-License-Identifier: MIT */
/*
 * Positive and negative controls for the rtcheck shim (rtcheck.c): every
 * function it claims to catch is called once, through a volatile pointer
 * (so the compiler cannot turn printf into puts, or drop a call), from
 * where the mode says:
 *
 *   rtcheck-selftest rt        a thread that names itself "ttws-rt":
 *                              every counter of $TTWS_RTCHECK_OUT.rt >= 1
 *   rtcheck-selftest section   an unnamed thread, inside
 *                              ttws_rtcheck_section(1)..(0): every counter
 *                              of .process >= 1, "sections 1", .rt all 0
 *   rtcheck-selftest other     the main thread and a thread named
 *                              "ttws-rt-init": every counter 0
 *
 * (checked by tests/integration/rtproof/selftest.sh). Without a mode: rt.
 * Run it with TTWS_RTCHECK_DRY_LOG=1 (the syslog and journal calls are
 * then counted, not sent). The printing functions each print their own
 * name, to stdout, stderr or $TTWS_RTCHECK_SELFTEST_FILE (default
 * /dev/null): proof that the shim carried the call out.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* By symbol: <sys/mman.h> renames mmap under _FILE_OFFSET_BITS=64. */
void *st_mmap(void *a, size_t l, int p, int f, int fd, int64_t o)
	__asm__("mmap");
void *st_mmap64(void *a, size_t l, int p, int f, int fd, int64_t o)
	__asm__("mmap64");
/* glibc's fortified entry points, not declared by its headers. */
int __printf_chk(int flag, const char *fmt, ...);
int __vprintf_chk(int flag, const char *fmt, va_list ap);
int __fprintf_chk(FILE *f, int flag, const char *fmt, ...);
int __vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap);
int __dprintf_chk(int fd, int flag, const char *fmt, ...);
int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap);
void __syslog_chk(int pri, int flag, const char *fmt, ...);
void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap);

/* Called through these, never directly. */
#define V(name) (*(__typeof__(&name) volatile *)&(__typeof__(&name)){ name })

/* $TTWS_RTCHECK_SELFTEST_FILE (default /dev/null), as a FILE and an fd. */
static FILE *out_file;
static int out_fd = -1;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static bool waiting, released;
static atomic_bool helper_stop;

/* Signals the condition variable once someone waits on it. */
static void *helper(void *arg)
{
	struct timespec ts = {0, 1000000};

	while (!atomic_load(&helper_stop)) {
		pthread_mutex_lock(&m);
		if (waiting && !released) {
			released = true;
			pthread_cond_signal(&c);
		}
		pthread_mutex_unlock(&m);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* The va_list entry points, through a variadic front. */
enum { VA_PRINTF, VA_VFPRINTF, VA_VDPRINTF, VA_PRINTF_CHK, VA_FPRINTF_CHK,
       VA_DPRINTF_CHK, VA_SYSLOG, VA_SYSLOG_CHK, VA_JOURNAL,
       VA_JOURNAL_LOC };

static void call_va(int which, const char *fmt, ...)
{
	int (*jv)(int, const char *, va_list);
	int (*jvl)(int, const char *, const char *, const char *,
		   const char *, va_list);
	va_list ap;

	va_start(ap, fmt);
	switch (which) {
	case VA_PRINTF:
		V(vprintf)(fmt, ap);
		break;
	case VA_VFPRINTF:
		V(vfprintf)(out_file, fmt, ap);
		break;
	case VA_VDPRINTF:
		V(vdprintf)(out_fd, fmt, ap);
		break;
	case VA_PRINTF_CHK:
		V(__vprintf_chk)(1, fmt, ap);
		break;
	case VA_FPRINTF_CHK:
		V(__vfprintf_chk)(out_file, 1, fmt, ap);
		break;
	case VA_DPRINTF_CHK:
		V(__vdprintf_chk)(out_fd, 1, fmt, ap);
		break;
	case VA_SYSLOG:
		V(vsyslog)(LOG_DEBUG, fmt, ap);
		break;
	case VA_SYSLOG_CHK:
		V(__vsyslog_chk)(LOG_DEBUG, 1, fmt, ap);
		break;
	case VA_JOURNAL:
		*(void **)&jv = dlsym(RTLD_DEFAULT, "sd_journal_printv");
		if (jv) {
			jv(LOG_DEBUG, fmt, ap);
		}
		break;
	case VA_JOURNAL_LOC:
		*(void **)&jvl = dlsym(RTLD_DEFAULT,
				       "sd_journal_printv_with_location");
		if (jvl) {
			jvl(LOG_DEBUG, "CODE_FILE=x", "CODE_LINE=1", "f", fmt,
			    ap);
		}
		break;
	}
	va_end(ap);
}

/* The sd-journal entry points, from whoever defines them first (the
 * shim, preloaded): this program does not link libsystemd. */
static void journal(void)
{
	struct iovec iov = {.iov_base = "MESSAGE=rtcheck", .iov_len = 15};
	void *f;

#define J(name) (f = dlsym(RTLD_DEFAULT, name))
	if (J("sd_journal_print")) {
		((int (*)(int, const char *, ...))f)(LOG_DEBUG, "%s", "x");
	}
	call_va(VA_JOURNAL, "%s", "x");
	if (J("sd_journal_send")) {
		((int (*)(const char *, ...))f)("MESSAGE=%s", "x", NULL);
	}
	if (J("sd_journal_sendv")) {
		((int (*)(const struct iovec *, int))f)(&iov, 1);
	}
	if (J("sd_journal_perror")) {
		((int (*)(const char *))f)("x");
	}
	if (J("sd_journal_print_with_location")) {
		((int (*)(int, const char *, const char *, const char *,
			  const char *, ...))f)(LOG_DEBUG, "CODE_FILE=x",
						"CODE_LINE=1", "f", "%s", "x");
	}
	call_va(VA_JOURNAL_LOC, "%s", "x");
	if (J("sd_journal_send_with_location")) {
		((int (*)(const char *, const char *, const char *,
			  const char *, ...))f)("CODE_FILE=x", "CODE_LINE=1",
						"f", "MESSAGE=%s", "x", NULL);
	}
	if (J("sd_journal_sendv_with_location")) {
		((int (*)(const char *, const char *, const char *,
			  const struct iovec *, int))f)(
			"CODE_FILE=x", "CODE_LINE=1", "f", &iov, 1);
	}
	if (J("sd_journal_perror_with_location")) {
		((int (*)(const char *, const char *, const char *,
			  const char *))f)("CODE_FILE=x", "CODE_LINE=1", "f",
					   "x");
	}
	if (J("sd_journal_stream_fd")) {
		((int (*)(const char *, int, int))f)("x", LOG_DEBUG, 0);
	}
#undef J
}

static void memory(void)
{
	void *p = V(malloc)(16), *q;
	void *cur;

	p = V(realloc)(p, 32);
	p = V(reallocarray)(p, 4, 16);
	V(free)(p);
	V(free)(V(calloc)(2, 8));
	if (V(posix_memalign)(&q, 64, 64) == 0) {
		free(q);
	}
	free(V(aligned_alloc)(64, 64));
	free(V(memalign)(64, 64));
	free(V(valloc)(64));
	free(V(pvalloc)(64));

	p = V(st_mmap)(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED) {
		q = V(mremap)(p, 4096, 8192, MREMAP_MAYMOVE);
		V(munmap)(q != MAP_FAILED ? q : p, q != MAP_FAILED ? 8192 : 4096);
	}
	p = V(st_mmap64)(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	if (p != MAP_FAILED) {
		munmap(p, 4096);
	}
	cur = V(sbrk)(0);
	V(brk)(cur);
}

static void locks(void)
{
	struct timespec past = {0, 0}, later;
	pthread_mutex_t lm = PTHREAD_MUTEX_INITIALIZER;
	pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
	pthread_spinlock_t sl;
	pthread_cond_t lc = PTHREAD_COND_INITIALIZER;
	sem_t s;

	clock_gettime(CLOCK_REALTIME, &later);
	later.tv_sec += 5;
	V(pthread_mutex_lock)(&lm);
	pthread_mutex_unlock(&lm);
	V(pthread_mutex_trylock)(&lm);
	pthread_mutex_unlock(&lm);
	V(pthread_mutex_timedlock)(&lm, &later);
	pthread_mutex_unlock(&lm);
	V(pthread_mutex_clocklock)(&lm, CLOCK_REALTIME, &later);
	pthread_mutex_unlock(&lm);

	pthread_spin_init(&sl, PTHREAD_PROCESS_PRIVATE);
	V(pthread_spin_lock)(&sl);
	pthread_spin_unlock(&sl);
	V(pthread_spin_trylock)(&sl);
	pthread_spin_unlock(&sl);
	pthread_spin_destroy(&sl);

	V(pthread_rwlock_rdlock)(&rw);
	V(pthread_rwlock_unlock)(&rw);
	V(pthread_rwlock_wrlock)(&rw);
	pthread_rwlock_unlock(&rw);
	V(pthread_rwlock_tryrdlock)(&rw);
	pthread_rwlock_unlock(&rw);
	V(pthread_rwlock_trywrlock)(&rw);
	pthread_rwlock_unlock(&rw);
	V(pthread_rwlock_timedrdlock)(&rw, &later);
	pthread_rwlock_unlock(&rw);
	V(pthread_rwlock_timedwrlock)(&rw, &later);
	pthread_rwlock_unlock(&rw);
	V(pthread_rwlock_clockrdlock)(&rw, CLOCK_REALTIME, &later);
	pthread_rwlock_unlock(&rw);
	V(pthread_rwlock_clockwrlock)(&rw, CLOCK_REALTIME, &later);
	pthread_rwlock_unlock(&rw);

	/* Timed waits with a deadline in the past return at once. */
	pthread_mutex_lock(&lm);
	V(pthread_cond_timedwait)(&lc, &lm, &past);
	V(pthread_cond_clockwait)(&lc, &lm, CLOCK_MONOTONIC, &past);
	pthread_mutex_unlock(&lm);
	V(pthread_cond_signal)(&lc);
	V(pthread_cond_broadcast)(&lc);
	/* The untimed wait, released by the helper thread. */
	pthread_mutex_lock(&m);
	waiting = true;
	released = false;
	while (!released) {
		V(pthread_cond_wait)(&c, &m);
	}
	waiting = false;
	pthread_mutex_unlock(&m);

	sem_init(&s, 0, 4);
	V(sem_wait)(&s);
	V(sem_timedwait)(&s, &later);
	V(sem_clockwait)(&s, CLOCK_MONOTONIC, &past);
	V(sem_trywait)(&s);
	V(sem_post)(&s);
	sem_destroy(&s);
}

static void sleeps(void)
{
	struct timespec ts = {0, 1};

	V(sleep)(0);
	V(usleep)(1);
	V(nanosleep)(&ts, NULL);
	V(clock_nanosleep)(CLOCK_MONOTONIC, 0, &ts, NULL);
}

/* Each line names its function: the test finds them all in the output,
 * so each call was carried out, not only counted. */
static void output(void)
{
	V(write)(2, "", 0);
	V(printf)("%s\n", "printf");
	call_va(VA_PRINTF, "%s\n", "vprintf");
	V(fprintf)(out_file, "%s\n", "fprintf");
	call_va(VA_VFPRINTF, "%s\n", "vfprintf");
	fflush(out_file);
	V(dprintf)(out_fd, "%s\n", "dprintf");
	call_va(VA_VDPRINTF, "%s\n", "vdprintf");
	V(__printf_chk)(1, "%s\n", "__printf_chk");
	call_va(VA_PRINTF_CHK, "%s\n", "__vprintf_chk");
	V(__fprintf_chk)(out_file, 1, "%s\n", "__fprintf_chk");
	call_va(VA_FPRINTF_CHK, "%s\n", "__vfprintf_chk");
	fflush(out_file);
	V(__dprintf_chk)(out_fd, 1, "%s\n", "__dprintf_chk");
	call_va(VA_DPRINTF_CHK, "%s\n", "__vdprintf_chk");
	V(puts)("puts");
	V(fputs)("fputs\n", out_file);
	V(fputs_unlocked)("fputs_unlocked\n", out_file);
	V(fwrite)("fwrite\n", 1, 7, out_file);
	V(fwrite_unlocked)("fwrite_unlocked\n", 1, 16, out_file);
	V(putchar)('\n');
	V(putchar_unlocked)('\n');
	V(putc)('x', out_file);
	V(putc_unlocked)('x', out_file);
	V(fputc)('x', out_file);
	V(fputc_unlocked)('\n', out_file);
	V(perror)("perror");
	V(fflush)(out_file);
	V(syslog)(LOG_DEBUG, "%s", "x");
	call_va(VA_SYSLOG, "%s", "x");
	V(__syslog_chk)(LOG_DEBUG, 1, "%s", "x");
	call_va(VA_SYSLOG_CHK, "%s", "x");
	journal();
}

static void work(void)
{
	struct timespec ts;

	memory();
	locks();
	sleeps();
	output();
	V(clock_gettime)(CLOCK_MONOTONIC, &ts);
}

static void *as_rt(void *arg)
{
	prctl(PR_SET_NAME, "ttws-rt");
	work();
	return NULL;
}

static void *as_init(void *arg)
{
	prctl(PR_SET_NAME, "ttws-rt-init");
	work();
	return NULL;
}

static void *in_section(void *arg)
{
	void (*section)(int);

	*(void **)&section = dlsym(RTLD_DEFAULT, "ttws_rtcheck_section");
	if (!section) {
		fprintf(stderr, "no ttws_rtcheck_section: shim not loaded\n");
		exit(1);
	}
	section(1);
	work();
	section(0);
	return NULL;
}

/* fn on a thread of its own, or work() on this one (fn NULL), with the
 * helper running. */
static int run(void *(*fn)(void *))
{
	pthread_t t, h;

	if (pthread_create(&h, NULL, helper, NULL)) {
		return 1;
	}
	if (!fn) {
		work();
	} else if (pthread_create(&t, NULL, fn, NULL) == 0) {
		pthread_join(t, NULL);
	}
	atomic_store(&helper_stop, true);
	pthread_join(h, NULL);
	atomic_store(&helper_stop, false);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "rt";

	const char *path = getenv("TTWS_RTCHECK_SELFTEST_FILE");

	if (!path) {
		path = "/dev/null";
	}
	out_file = fopen(path, "ae");
	out_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (!out_file || out_fd < 0) {
		return 1;
	}
	if (strcmp(mode, "rt") == 0) {
		return run(as_rt);
	}
	if (strcmp(mode, "section") == 0) {
		return run(in_section);
	}
	if (strcmp(mode, "other") == 0) {
		/* The main thread, twice (stdio buffers now exist), and a
		 * thread still setting up. */
		return run(NULL) || run(NULL) || run(as_init);
	}
	fprintf(stderr, "usage: rtcheck-selftest [rt|section|other]\n");
	return 2;
}
