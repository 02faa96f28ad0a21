/* SPDX-License-Identifier: MIT */
/*
 * Fault hooks for tests, compiled only into test builds (meson
 * -Dtest_hooks=true, HAVE_TEST_HOOKS): never in a package. They let the
 * integration and VM tests prove that the watchdog notices a stalled RT
 * loop, without signals or a debugger.
 */
#include "config.h"

#if HAVE_TEST_HOOKS
#include <errno.h>
#include <stdatomic.h>
#include <time.h>

#include "daemon/engine.h"
#include "daemon/engine_private.h"
#include "daemon/log.h"

int engine_debug_stall(struct engine *e, unsigned seconds)
{
	if (seconds < 1 || seconds > ENGINE_STALL_MAX_S) {
		return -ERANGE;
	}
	atomic_store_explicit(&e->stall_req_s, seconds, memory_order_relaxed);
	return 0;
}

void engine_hook_stall(struct engine *e)
{
	unsigned s = atomic_exchange_explicit(&e->stall_req_s, 0,
					      memory_order_relaxed);
	struct timespec left = { .tv_sec = (time_t)s };

	if (!s) {
		return;
	}
	log_rt(LOG_WARNING, "test hook DebugStallRT: the RT thread sleeps "
			    "for %u s",
	       s);
	/* A plain sleep inside the loop: no timer, link or heartbeat runs
	 * until it returns, which is what a hung RT loop looks like from
	 * outside. Signals are blocked here; EINTR only from a debugger. */
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &left, &left) == EINTR) {
	}
}
#endif
