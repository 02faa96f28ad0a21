/* SPDX-License-Identifier: MIT */
/*
 * The RT thread's seccomp filter (rt_seccomp.h): the allow-list, a small
 * classic-BPF emitter for it, installation, and the log mode's SIGSYS
 * handler.
 *
 * The filter reads struct seccomp_data (linux/seccomp.h): nr at offset 0,
 * arch at 4, instruction_pointer at 8, args[i] at 16 + 8 i. Arguments are
 * compared on their low 32 bits: every argument checked below is an int
 * or unsigned int in the kernel's prototype (fd, domain, type, level,
 * cmd, flags, how, advice), which the kernel itself truncates.
 */
#include "os/rt_seccomp.h"

#include <asm/termbits.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define RTS_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__) && defined(AUDIT_ARCH_AARCH64)
#define RTS_ARCH AUDIT_ARCH_AARCH64
#endif

/* include/net/bluetooth/bluetooth.h and l2cap.h; libbluetooth is an
 * optional dependency, so not from its headers. */
#ifndef SOL_BLUETOOTH
#define SOL_BLUETOOTH 274
#endif
#define RTS_SOL_L2CAP 6

/* The termios requests serial.c makes (termios2 where it exists). */
#ifdef TCGETS2
#define RTS_TCGETS TCGETS2
#define RTS_TCSETS TCSETS2
#else
#define RTS_TCGETS TCGETS
#define RTS_TCSETS TCSETS
#endif

/* The flags serial_open_in() opens a dongle's tty with (serial.c). glibc
 * adds the kernel's O_LARGEFILE where it is not 0 in user space
 * (arch/arm64/include/uapi/asm/fcntl.h: 0400000); x86-64 adds nothing. */
#define RTS_TTY_FLAGS (O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
#if defined(__aarch64__)
#define RTS_TTY_MASK (~UINT32_C(0400000))
#else
#define RTS_TTY_MASK ALL
#endif

#define RTS_MAX_VALUES 8

enum rts_op {
	RTS_IN,	 /* (arg & mask) is one of v[0..n-1] */
	RTS_GE,	 /* (arg & mask) >= v[0], unsigned */
};

struct rts_cond {
	uint8_t arg; /* 0..5 */
	uint8_t op;  /* enum rts_op */
	uint8_t n;   /* values in v (RTS_IN) */
	uint32_t mask;
	uint32_t v[RTS_MAX_VALUES];
};

struct rts_rule {
	long nr;
	uint8_t n_cond;
	struct rts_cond cond[2];
};

#define ALL 0xffffffffu
#define ANY(sys) { .nr = (sys) }
#define IF(sys, ...) { .nr = (sys), .n_cond = 1, .cond = { __VA_ARGS__ } }
#define IF2(sys, c1, c2) { .nr = (sys), .n_cond = 2, .cond = { c1, c2 } }
#define ARG_IN(a, m, ...)                                                      \
	{ .arg = (a), .op = RTS_IN, .mask = (m),                               \
	  .n = sizeof((uint32_t[]){ __VA_ARGS__ }) / sizeof(uint32_t),         \
	  .v = { __VA_ARGS__ } }
#define ARG_GE(a, x) { .arg = (a), .op = RTS_GE, .mask = ALL, .v = { (x) } }

/*
 * What the RT thread may call once it runs its loop (engine.c, after
 * PR_SET_NAME "ttws-rt"), and why. Found by reading the loop, transport,
 * dongle and PipeWire-trigger code the thread runs, and checked with the
 * log mode on every path the tests drive (unix, hci-uart, l2cap in the
 * VM, PipeWire, reconnects, shutdown).
 */
static const struct rts_rule rts_rules[] = {
	/* The io_uring backend's one syscall per wake-up: submit and wait
	 * (liburing's io_uring_submit*, io_uring_get_events, and
	 * loop_uring.c's own timed wait with IORING_ENTER_EXT_ARG). */
	ANY(SYS_io_uring_enter),
	/* The epoll backend's wait, and its busy-poll look (timeout 0):
	 * glibc's epoll_wait() is epoll_pwait where the architecture has
	 * no epoll_wait (aarch64). */
#ifdef SYS_epoll_wait
	ANY(SYS_epoll_wait),
#else
	ANY(SYS_epoll_pwait),
#endif
	/* The epoll backend: a socket or tty added, re-armed for EPOLLOUT
	 * and removed as links drop and reconnect. */
	ANY(SYS_epoll_ctl),
	/* Timer expirations (timerfd), the wake-up counter (eventfd), a
	 * dongle's bytes from its tty, a stream after IORING_OP_READ said
	 * -EAGAIN. Never stdin. */
	IF(SYS_read, ARG_GE(0, 3)),
	/* The eventfd that wakes PipeWire's data loop (pw_sink_trigger() ->
	 * pw_loop_signal_event()), loop_wake(), a dongle's tty on the epoll
	 * backend. Never fd 0-2: the RT thread logs through the log ring
	 * only (DESIGN.md, "Threads and the hot path"). */
	IF(SYS_write, ARG_GE(0, 3)),
	/* send(2) on the epoll backend (glibc: sendto), always
	 * MSG_DONTWAIT: a send that could block is killed. */
	IF2(SYS_sendto, ARG_GE(0, 3),
	    ARG_IN(3, MSG_DONTWAIT, MSG_DONTWAIT)),
	/* The epoll backend's receive with SCM_TIMESTAMPNS, and the error
	 * queue's TX timestamps on both backends; always MSG_DONTWAIT. */
	IF2(SYS_recvmsg, ARG_GE(0, 3),
	    ARG_IN(2, MSG_DONTWAIT, MSG_DONTWAIT)),
	/* [loop] timer = timerfd, and the epoll backend's timer. */
	ANY(SYS_timerfd_settime),
	/* Normally the vDSO; a real syscall where the clocksource has no
	 * vDSO read (some VMs: the TCG guests of tests/vm). */
	ANY(SYS_clock_gettime),
	/* A link's reconnect opens a new socket: AF_UNIX (the simulated
	 * earbuds) or AF_BLUETOOTH (kernel L2CAP), seqpacket only. A
	 * datagram socket (journald's, syslog's) is killed. */
	IF2(SYS_socket, ARG_IN(0, ALL, AF_UNIX, AF_BLUETOOTH),
	    ARG_IN(1, 0xf, SOCK_SEQPACKET)),
	/* ... connects it (non-blocking: the loop waits for POLLOUT) ... */
	ANY(SYS_connect),
	/* ... binds an L2CAP socket to the configured adapter ... */
	ANY(SYS_bind),
	/* ... sets and reads back its options (SO_TIMESTAMPNS,
	 * SO_PRIORITY, BT_SECURITY, L2CAP_OPTIONS, SO_ERROR, SO_TYPE) ... */
	IF(SYS_setsockopt,
	   ARG_IN(1, ALL, SOL_SOCKET, SOL_BLUETOOTH, RTS_SOL_L2CAP)),
	IF(SYS_getsockopt,
	   ARG_IN(1, ALL, SOL_SOCKET, SOL_BLUETOOTH, RTS_SOL_L2CAP)),
	/* ... and closes the one it released. Never fd 0-2. */
	IF(SYS_close, ARG_GE(0, 3)),
	/* loop_add_stream(): is the tty non-blocking? */
	IF(SYS_fcntl, ARG_IN(1, ALL, F_GETFL)),
	/* An hci-uart dongle that vanished is reopened with back-off
	 * (dongle.c): openat with exactly serial.c's flags, O_NONBLOCK so
	 * that open() never waits for a carrier. */
	IF(SYS_openat, ARG_IN(2, RTS_TTY_MASK, RTS_TTY_FLAGS)),
	/* ... and set up again (serial.c), and its line health read at each
	 * stats tick (TIOCGICOUNT). Only these tty requests. */
	IF(SYS_ioctl, ARG_IN(1, ALL, RTS_TCGETS, RTS_TCSETS, TIOCEXCL,
			     TIOCNXCL, TCFLSH, TIOCGETD, TIOCGICOUNT)),
	/* ... and locked against a second ttwsd running as root, whom
	 * TIOCEXCL does not stop: LOCK_NB only, a lock that never waits. */
	IF(SYS_flock, ARG_IN(1, ALL, LOCK_EX | LOCK_NB)),
	/* The thread's end, once the loop stopped (glibc's start_thread):
	 * all signals blocked (SIG_BLOCK only: a mask that only grows), the
	 * unused part of its stack given back, then exit(2) of this thread
	 * only (never exit_group). */
	IF(SYS_rt_sigprocmask, ARG_IN(0, ALL, SIG_BLOCK)),
	IF(SYS_madvise, ARG_IN(2, ALL, MADV_DONTNEED)),
	ANY(SYS_exit),
};

#define RTS_N_RULES (sizeof(rts_rules) / sizeof(rts_rules[0]))

/* ---- a classic-BPF emitter ------------------------------------------ */

#define RTS_MAX_INSNS 512

struct rts_prog {
	struct sock_filter ins[RTS_MAX_INSNS];
	unsigned n;
	bool overflow;
};

#define OFF_NR offsetof(struct seccomp_data, nr)
#define OFF_ARCH offsetof(struct seccomp_data, arch)
#define OFF_IP offsetof(struct seccomp_data, instruction_pointer)
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LO32 0
#define HI32 4
#else
#define LO32 4
#define HI32 0
#endif
#define OFF_ARG(i) (offsetof(struct seccomp_data, args) + 8 * (i) + LO32)

static void emit(struct rts_prog *p, uint16_t code, uint32_t k, unsigned jt,
		 unsigned jf)
{
	if (p->n >= RTS_MAX_INSNS || jt > 255 || jf > 255) {
		p->overflow = true;
		return;
	}
	p->ins[p->n++] = (struct sock_filter){
		.code = code, .jt = (uint8_t)jt, .jf = (uint8_t)jf, .k = k
	};
}

static void ret(struct rts_prog *p, uint32_t action)
{
	emit(p, BPF_RET | BPF_K, action, 0, 0);
}

static unsigned cond_len(const struct rts_cond *c)
{
	unsigned n = 1 + (c->mask != ALL); /* load, and */

	return n + (c->op == RTS_IN ? c->n : 1);
}

/*
 * One condition: load the argument, mask it, compare. Passing falls
 * through to the next instruction after the condition; failing jumps
 * `deny` instructions past the condition's last one.
 */
static void emit_cond(struct rts_prog *p, const struct rts_cond *c,
		      unsigned deny)
{
	unsigned i;

	emit(p, BPF_LD | BPF_W | BPF_ABS, (uint32_t)OFF_ARG(c->arg), 0, 0);
	if (c->mask != ALL) {
		emit(p, BPF_ALU | BPF_AND | BPF_K, c->mask, 0, 0);
	}
	if (c->op == RTS_GE) {
		emit(p, BPF_JMP | BPF_JGE | BPF_K, c->v[0], 0, deny);
		return;
	}
	for (i = 0; i < c->n; i++) {
		bool last = i + 1 == c->n;

		/* A match skips the values left; the last miss denies. */
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, c->v[i],
		     last ? 0 : c->n - 1 - i, last ? deny : 0);
	}
}

/*
 * A rule's block, entered with the syscall number in A:
 *   jeq nr ? next : past the block
 *   cond 1, cond 2 (each jumps to the deny on failure)
 *   ret ALLOW
 *   ret deny_action
 * A rule without conditions is the jeq and the ret ALLOW.
 */
static void emit_rule(struct rts_prog *p, const struct rts_rule *r,
		      uint32_t deny_action)
{
	unsigned i, len = 0;

	for (i = 0; i < r->n_cond; i++) {
		len += cond_len(&r->cond[i]);
	}
	if (r->n_cond == 0) {
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r->nr, 0, 1);
		ret(p, SECCOMP_RET_ALLOW);
		return;
	}
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r->nr, 0, len + 2);
	for (i = 0; i < r->n_cond; i++) {
		unsigned rest = 0, k;

		for (k = i + 1; k < r->n_cond; k++) {
			rest += cond_len(&r->cond[k]);
		}
		/* Past the later conditions and the ret ALLOW. */
		emit_cond(p, &r->cond[i], rest + 1);
	}
	ret(p, SECCOMP_RET_ALLOW);
	ret(p, deny_action);
}

/*
 * The program: the architecture first (a syscall of another ABI, e.g.
 * int 0x80 on x86-64, has other numbers: always killed), then in log
 * mode the trampoline's instruction pointer, then the rules, then the
 * default.
 */
static int rts_build(struct rts_prog *p, uint32_t deny_action, bool with_ip,
		     uint64_t ip, bool no_rules)
{
	size_t i, k;

	p->n = 0;
	p->overflow = false;
#ifdef RTS_ARCH
	emit(p, BPF_LD | BPF_W | BPF_ABS, (uint32_t)OFF_ARCH, 0, 0);
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, RTS_ARCH, 1, 0);
	ret(p, SECCOMP_RET_KILL_PROCESS);
#else
	return -EOPNOTSUPP;
#endif
	if (with_ip) {
		emit(p, BPF_LD | BPF_W | BPF_ABS, (uint32_t)(OFF_IP + LO32), 0,
		     0);
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)ip, 0, 3);
		emit(p, BPF_LD | BPF_W | BPF_ABS, (uint32_t)(OFF_IP + HI32), 0,
		     0);
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(ip >> 32), 0, 1);
		ret(p, SECCOMP_RET_ALLOW);
	}
	emit(p, BPF_LD | BPF_W | BPF_ABS, (uint32_t)OFF_NR, 0, 0);
	if (with_ip) {
		/* The SIGSYS handler's return (the restorer's rt_sigreturn,
		 * in libc, not through the trampoline). */
		static const struct rts_rule sigret = ANY(SYS_rt_sigreturn);

		emit_rule(p, &sigret, deny_action);
	}
	for (i = 0; i < RTS_N_RULES && !no_rules; i++) {
		/* A rule's block returns on every path once its number
		 * matched, so only the first rule for a number would ever
		 * be seen (and A holds the number again only on a miss). */
		for (k = 0; k < i; k++) {
			if (rts_rules[k].nr == rts_rules[i].nr) {
				return -EINVAL;
			}
		}
		emit_rule(p, &rts_rules[i], deny_action);
	}
	ret(p, deny_action);
	return p->overflow ? -E2BIG : 0;
}

/* ---- the log mode ---------------------------------------------------- */

#define RTS_SEEN_WORDS 16 /* syscall numbers 0..1023 */

static _Atomic uint64_t rts_seen[RTS_SEEN_WORDS];
static _Atomic uint64_t rts_logged;
static atomic_int rts_log_fd = -1;

#if defined(__x86_64__)
/*
 * long rts_raw(long nr, long a1, ..., long a6): the syscall instruction
 * the log-mode filter lets through (by its address: seccomp_data's
 * instruction_pointer is the address after the syscall instruction, the
 * label rts_raw_ret). x86-64 syscall convention: nr in rax, arguments in
 * rdi, rsi, rdx, r10, r8, r9; a6 is the C caller's 7th argument, on the
 * stack.
 */
__asm__(".text\n"
	".globl rts_raw\n"
	".hidden rts_raw\n"
	".type rts_raw, @function\n"
	"rts_raw:\n"
	"	movq %rdi, %rax\n"
	"	movq %rsi, %rdi\n"
	"	movq %rdx, %rsi\n"
	"	movq %rcx, %rdx\n"
	"	movq %r8, %r10\n"
	"	movq %r9, %r8\n"
	"	movq 8(%rsp), %r9\n"
	"	syscall\n"
	".globl rts_raw_ret\n"
	".hidden rts_raw_ret\n"
	"rts_raw_ret:\n"
	"	ret\n"
	".size rts_raw, .-rts_raw\n");
long rts_raw(long nr, long a1, long a2, long a3, long a4, long a5, long a6);
extern const char rts_raw_ret[];
#define RTS_HAVE_LOG 1
#else
#define RTS_HAVE_LOG 0
#endif

#if RTS_HAVE_LOG
#include <ucontext.h>

/* One line for syscall nr, without stdio (a signal handler). */
static void rts_log_line(long nr)
{
	static const char head[] = "ttws rt_seccomp: the RT thread made syscall ";
	static const char tail[] = " (log mode)\n";
	char buf[sizeof(head) + sizeof(tail) + 24];
	char num[24];
	size_t len = 0, k = 0;
	unsigned long v = (unsigned long)nr;
	int fd = atomic_load_explicit(&rts_log_fd, memory_order_relaxed);

	if (fd < 0) {
		return;
	}
	do {
		num[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && k < sizeof(num));
	memcpy(buf, head, sizeof(head) - 1);
	len = sizeof(head) - 1;
	while (k) {
		buf[len++] = num[--k];
	}
	memcpy(buf + len, tail, sizeof(tail) - 1);
	len += sizeof(tail) - 1;
	(void)rts_raw(SYS_write, fd, (long)buf, (long)len, 0, 0, 0);
}

/*
 * SIGSYS from SECCOMP_RET_TRAP: the kernel skipped the syscall and left
 * its registers in the context (seccomp_filter.rst, "Return values").
 * Note it, carry it out through rts_raw, put the result where the
 * interrupted code expects it (rax). Async-signal-safe: atomics and one
 * raw write the first time a number is seen.
 */
static void rts_on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	greg_t *g = uc->uc_mcontext.gregs;
	long nr = si->si_syscall;

	atomic_fetch_add_explicit(&rts_logged, 1, memory_order_relaxed);
	if (nr >= 0 && nr < RTS_SEEN_WORDS * 64) {
		uint64_t bit = UINT64_C(1) << (nr % 64);
		uint64_t old = atomic_fetch_or_explicit(
			&rts_seen[nr / 64], bit, memory_order_relaxed);

		if (!(old & bit)) {
			rts_log_line(nr);
		}
	}
	g[REG_RAX] = rts_raw(nr, g[REG_RDI], g[REG_RSI], g[REG_RDX],
			     g[REG_R10], g[REG_R8], g[REG_R9]);
}

static int rts_log_setup(int log_fd)
{
	struct sigaction sa;
	sigset_t set;
	int r;

	atomic_store(&rts_log_fd, log_fd);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = rts_on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		return -errno;
	}
	/* A SIGSYS the thread blocks is forced to its default action
	 * (kernel/signal.c, force_sig_info_to_task): death. */
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	r = pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	return -r;
}
#endif

uint64_t rt_seccomp_logged(void)
{
	return atomic_load(&rts_logged);
}

bool rt_seccomp_log_seen(long nr)
{
	if (nr < 0 || nr >= RTS_SEEN_WORDS * 64) {
		return false;
	}
	return atomic_load(&rts_seen[nr / 64]) & (UINT64_C(1) << (nr % 64));
}

/* ---- installing it --------------------------------------------------- */

int rt_seccomp_mode_from_string(const char *s, enum rt_seccomp_mode *ret)
{
	enum rt_seccomp_mode m;

	if (!s || !*s || strcmp(s, "0") == 0 || strcmp(s, "off") == 0) {
		m = RT_SECCOMP_OFF;
	} else if (strcmp(s, "1") == 0 || strcmp(s, "kill") == 0) {
		m = RT_SECCOMP_KILL;
	} else if (strcmp(s, "log") == 0) {
		m = RT_SECCOMP_LOG;
	} else if (strcmp(s, "log-all") == 0) {
		m = RT_SECCOMP_LOG_ALL;
	} else {
		return -EINVAL;
	}
	*ret = m;
	return 0;
}

int rt_seccomp_confine(enum rt_seccomp_mode mode, int log_fd)
{
	struct rts_prog prog;
	struct sock_fprog fp;
	uint32_t action = 0;
	uint64_t ip = 0;
	int r;

	switch (mode) {
	case RT_SECCOMP_OFF:
		return 0;
	case RT_SECCOMP_KILL:
		action = SECCOMP_RET_KILL_PROCESS;
		break;
	case RT_SECCOMP_LOG:
	case RT_SECCOMP_LOG_ALL:
#if RTS_HAVE_LOG
		action = SECCOMP_RET_TRAP;
		ip = (uint64_t)(uintptr_t)rts_raw_ret;
		break;
#else
		return -EOPNOTSUPP;
#endif
	}
	if (!action) {
		return -EINVAL;
	}
	r = rts_build(&prog, action, mode != RT_SECCOMP_KILL, ip,
		      mode == RT_SECCOMP_LOG_ALL);
	if (r < 0) {
		return r;
	}
	/* Kernels before 4.14 would treat KILL_PROCESS as KILL_THREAD:
	 * a dead RT thread in a live process, which no test would see. */
	action = SECCOMP_RET_KILL_PROCESS;
	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) < 0) {
		return errno == EOPNOTSUPP || errno == EINVAL ? -EOPNOTSUPP :
								-errno;
	}
#if RTS_HAVE_LOG
	if (mode != RT_SECCOMP_KILL) {
		r = rts_log_setup(log_fd);
		if (r < 0) {
			return r;
		}
	}
#endif
	/* Without CAP_SYS_ADMIN seccomp(2) requires no_new_privs; it is a
	 * per-thread attribute, as the filter is (no TSYNC). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		return -errno;
	}
	fp.len = (unsigned short)prog.n;
	fp.filter = prog.ins;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) < 0) {
		return -errno;
	}
	return 0;
}
