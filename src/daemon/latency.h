/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_LATENCY_H
#define TTWS_DAEMON_LATENCY_H

/*
 * ttwsd --latency-test: the real RT loop (wheel + absolute timer + io_uring
 * or epoll) waking for one periodic hard timer, reporting wake-up latency
 * (actual - deadline) in cyclictest's terms.
 */

#include <stdbool.h>
#include <stdint.h>

#include "os/loop.h"

struct latency_opts {
	uint64_t interval_ns;    /* period of the hard timer */
	uint64_t loops;          /* wake-ups to measure; 0 = use duration */
	uint64_t duration_ns;    /* used when loops == 0 */
	int priority;            /* SCHED_FIFO priority, 0 = SCHED_OTHER */
	int cpu;                 /* -1 = no pinning */
	uint64_t spin_guard_ns;  /* 0 = sleep to the deadline */
	uint64_t busy_poll_ns;   /* loop_config.busy_poll_ns, 0 = off */
	enum loop_backend backend;
	enum loop_timer timer;
	bool json;
};

void latency_opts_default(struct latency_opts *ret);

/*
 * Run the test in a new thread placed as the RT thread would be and print
 * the report on stdout (text, or one JSON line). Returns 0, or a negative
 * errno when the loop could not be set up (the message is on stderr).
 */
int latency_run(const struct latency_opts *o);

#endif
