/* SPDX-License-Identifier: MIT */
#ifndef TTWS_OS_RT_SECCOMP_H
#define TTWS_OS_RT_SECCOMP_H

/*
 * A seccomp filter that confines the calling thread (ttwsd's RT thread)
 * to the syscalls its event loop needs; anything else kills the whole
 * process (SECCOMP_RET_KILL_PROCESS), so a test that sees ttwsd survive
 * knows the thread made no other syscall. seccomp(2),
 * Documentation/userspace-api/seccomp_filter.rst.
 *
 * For tests only: ttwsd installs it in builds with HAVE_TEST_HOOKS and
 * only when TTWS_RT_SECCOMP asks (src/daemon/engine.c), never in a
 * package. Not under AddressSanitizer: its allocator and its
 * thread-exit path make syscalls (mmap, munmap, ...) off the list.
 *
 * The filter is the thread's own: installed without
 * SECCOMP_FILTER_FLAG_TSYNC, after PR_SET_NO_NEW_PRIVS (which is per
 * thread too), so the main and PipeWire threads are not confined. It is
 * raw classic BPF (linux/filter.h) rather than libseccomp: about 120
 * instructions a reader can check against the table in rt_seccomp.c, no
 * build dependency for a test-only feature, and the log mode needs a
 * rule on the instruction pointer, which libseccomp cannot express.
 *
 * The allowed syscalls, each with its reason, are the table in
 * rt_seccomp.c; several are allowed only with certain arguments (write
 * never to fd 0-2, send and recvmsg only with MSG_DONTWAIT, socket only
 * AF_UNIX or AF_BLUETOOTH seqpacket, ioctl only the tty requests of
 * serial.c, flock only LOCK_NB, ...).
 */

#include <stdbool.h>
#include <stdint.h>

enum rt_seccomp_mode {
	RT_SECCOMP_OFF = 0,
	/* A syscall off the list kills the process with SIGSYS. */
	RT_SECCOMP_KILL = 1,
	/*
	 * A syscall off the list is carried out as if allowed and recorded:
	 * the filter traps it (SECCOMP_RET_TRAP), a SIGSYS handler notes the
	 * number (lock-free), writes one line to the log fd the first time
	 * each number is seen, and makes the call itself through a
	 * trampoline whose instruction pointer the filter lets through. For
	 * finding what a new code path needs; x86-64 only (-EOPNOTSUPP
	 * elsewhere). Installs a process-wide SIGSYS handler and unblocks
	 * SIGSYS in the calling thread.
	 */
	RT_SECCOMP_LOG = 2,
	/*
	 * As RT_SECCOMP_LOG, but every syscall is noted, on the list or
	 * not: what the thread calls at all, for reviewing the list.
	 */
	RT_SECCOMP_LOG_ALL = 3,
};

/*
 * The value of TTWS_RT_SECCOMP: NULL, "", "0" or "off" -> RT_SECCOMP_OFF;
 * "1" or "kill" -> RT_SECCOMP_KILL; "log" -> RT_SECCOMP_LOG; "log-all" ->
 * RT_SECCOMP_LOG_ALL. Anything else -EINVAL (*ret untouched).
 */
int rt_seccomp_mode_from_string(const char *s, enum rt_seccomp_mode *ret);

/*
 * Confine the calling thread, for the rest of its life, in mode (OFF does
 * nothing and returns 0). log_fd: where RT_SECCOMP_LOG writes its lines
 * (not closed; ignored in the other modes). Allocates nothing; makes the
 * prctl, seccomp (and in log mode rt_sigaction, rt_sigprocmask) calls
 * itself, before the filter is on. 0, or -EOPNOTSUPP (architecture, or
 * a kernel without SECCOMP_RET_KILL_PROCESS), -EINVAL, or the -errno of
 * prctl(2)/seccomp(2).
 */
int rt_seccomp_confine(enum rt_seccomp_mode mode, int log_fd);

/*
 * Log mode: how many syscalls off the list were carried out so far, and
 * whether syscall number nr was one of them. Any thread.
 */
uint64_t rt_seccomp_logged(void);
bool rt_seccomp_log_seen(long nr);

#endif
