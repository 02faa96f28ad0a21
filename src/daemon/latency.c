/* SPDX-License-Identifier: MIT */
#include "daemon/latency.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hist.h"
#include "core/macro.h"
#include "core/wheel.h"
#include "os/rt.h"

struct latency_run {
	const struct latency_opts *o;
	struct wheel *wheel;
	struct loop *loop;
	struct wheel_timer timer;
	uint64_t deadline_ns;
	uint64_t wanted;
	uint64_t done;
	uint64_t overruns; /* deadlines skipped after a stall */
	struct hist hist;  /* latency, ns */
	struct rt_report rt;
	struct loop_counters counters;
	enum loop_backend backend;
	enum loop_timer loop_timer; /* the one in use */
	char note[256];
	int err;
};

void latency_opts_default(struct latency_opts *ret)
{
	struct loop_config lc;

	loop_config_default(&lc);
	memset(ret, 0, sizeof(*ret));
	ret->interval_ns = 1000 * NSEC_PER_USEC;
	ret->duration_ns = 5 * NSEC_PER_SEC;
	ret->priority = RT_PRIORITY_DEFAULT;
	ret->cpu = -1;
	ret->backend = LOOP_AUTO;
	/* The daemon's own timer, so the test measures what runs. */
	ret->timer = lc.timer;
}

static void latency_tick(struct wheel_timer *t, uint64_t now_ns)
{
	struct latency_run *r = container_of(t, struct latency_run, timer);

	/* The wheel never fires early, so now >= deadline. */
	hist_record(&r->hist, now_ns - r->deadline_ns);
	if (++r->done >= r->wanted) {
		loop_stop(r->loop);
		return;
	}
	/* An absolute period like cyclictest's: a late wake-up does not shift
	 * later deadlines. After a stall longer than a period the missed
	 * deadlines are skipped (and counted) rather than fired in a burst
	 * that would report zero latency. */
	r->deadline_ns += r->o->interval_ns;
	while (r->deadline_ns <= now_ns) {
		r->deadline_ns += r->o->interval_ns;
		r->overruns++;
	}
	wheel_add(r->wheel, t, r->deadline_ns);
}

static void *latency_thread(void *arg)
{
	struct latency_run *r = arg;
	const struct latency_opts *o = r->o;
	struct rt_config rc = rt_config_default();
	struct loop_config lc;
	uint64_t now;
	int err;

	rc.priority = o->priority;
	rc.cpu = o->cpu;
	err = rt_apply(&rc, &r->rt);
	if (err < 0) {
		r->err = err;
		snprintf(r->note, sizeof(r->note), "rt_apply: %s",
			 strerror(-err));
		return NULL;
	}

	now = rt_now_ns();
	r->wheel = wheel_new(now);
	if (!r->wheel) {
		r->err = -ENOMEM;
		snprintf(r->note, sizeof(r->note), "wheel_new: out of memory");
		return NULL;
	}
	loop_config_default(&lc);
	lc.backend = o->backend;
	lc.timer = o->timer;
	lc.spin_guard_ns = o->spin_guard_ns;
	lc.busy_poll_ns = o->busy_poll_ns;
	/* What the kernel's AUTO fallback to epoll can use. */
	if (lc.backend == LOOP_EPOLL) {
		lc.timer = LOOP_TIMER_TIMERFD;
	}
	err = loop_new(&lc, r->wheel, &r->loop);
	if (err < 0) {
		r->err = err;
		snprintf(r->note, sizeof(r->note), "loop_new(%s): %s",
			 loop_backend_name(o->backend), strerror(-err));
		goto out;
	}
	r->backend = loop_backend(r->loop);
	r->loop_timer = r->backend == LOOP_EPOLL ? LOOP_TIMER_TIMERFD : lc.timer;
	snprintf(r->note, sizeof(r->note), "%s", loop_backend_note(r->loop));

	wheel_timer_init(&r->timer, WHEEL_HARD, 0, latency_tick);
	/* Start one period out, so set-up page faults are not measured. */
	r->deadline_ns = rt_now_ns() + o->interval_ns;
	wheel_add(r->wheel, &r->timer, r->deadline_ns);
	err = loop_run(r->loop);
	if (err < 0) {
		r->err = err;
		snprintf(r->note, sizeof(r->note), "loop_run: %s",
			 strerror(-err));
	}
	loop_get_counters(r->loop, &r->counters);
	r->loop = loop_free(r->loop);
out:
	r->wheel = wheel_free(r->wheel);
	return NULL;
}

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static void latency_print(const struct latency_run *r)
{
	const struct latency_opts *o = r->o;
	struct hist_summary s;
	char *rt;
	size_t rt_size = 16384;
	int n;

	if (hist_summarize(&r->hist, &s) < 0) {
		memset(&s, 0, sizeof(s));
	}
	rt = malloc(rt_size);
	if (!rt) {
		return;
	}
	if (o->json) {
		n = rt_report_format_json(&r->rt, rt, rt_size);
		printf("{\"mode\":\"latency\",\"backend\":\"%s\","
		       "\"timer\":\"%s\",\"interval_us\":%.3f,"
		       "\"loops\":%" PRIu64 ",\"overruns\":%" PRIu64 ","
		       "\"priority\":%d,\"cpu\":%d,\"spin_guard_us\":%.3f,"
		       "\"busy_poll_us\":%.3f,"
		       "\"latency_us\":{\"min\":%.3f,\"p50\":%.3f,"
		       "\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,"
		       "\"max\":%.3f,\"mean\":%.3f},"
		       "\"spin_ns_total\":%" PRIu64 ",\"rt\":%s}\n",
		       loop_backend_name(r->backend),
		       loop_timer_name(r->loop_timer),
		       us(o->interval_ns), r->done, r->overruns, o->priority,
		       o->cpu, us(o->spin_guard_ns), us(o->busy_poll_ns),
		       us(s.min), us(s.p50),
		       us(s.p90), us(s.p99), us(s.p999), us(s.max),
		       s.mean / 1000.0, r->counters.spin_ns,
		       n >= 0 ? rt : "null");
	} else {
		printf("ttwsd latency test: %s (%s), timer %s, interval %.0f us, "
		       "%" PRIu64 " loops, priority %d, cpu %d, spin guard "
		       "%.0f us\n",
		       loop_backend_name(r->backend), r->note,
		       loop_timer_name(r->loop_timer),
		       us(o->interval_ns), r->done, o->priority, o->cpu,
		       us(o->spin_guard_ns));
		printf("  latency (us)  min %.2f  p50 %.2f  p90 %.2f  "
		       "p99 %.2f  p99.9 %.2f  max %.2f  (overruns %" PRIu64
		       ")\n",
		       us(s.min), us(s.p50), us(s.p90), us(s.p99), us(s.p999),
		       us(s.max), r->overruns);
		if (o->spin_guard_ns) {
			printf("  spinning: %.3f ms in total, %.2f %% of the "
			       "run\n",
			       (double)r->counters.spin_ns / 1e6,
			       100.0 * (double)r->counters.spin_ns /
				       ((double)(r->done ? r->done : 1) *
					(double)o->interval_ns));
		}
		n = rt_report_format_text(&r->rt, rt, rt_size);
		if (n >= 0) {
			char *line, *save = NULL;

			printf("  real-time placement:\n");
			for (line = strtok_r(rt, "\n", &save); line;
			     line = strtok_r(NULL, "\n", &save)) {
				printf("    %s\n", line);
			}
		}
	}
	free(rt);
}

int latency_run(const struct latency_opts *o)
{
	struct latency_run *r;
	pthread_t th;
	int err;

	if (o->interval_ns == 0) {
		return -EINVAL;
	}
	/* The histogram is big; keep it off the RT thread's stack. */
	r = calloc(1, sizeof(*r));
	if (!r) {
		return -ENOMEM;
	}
	r->o = o;
	r->wanted = o->loops ? o->loops : o->duration_ns / o->interval_ns;
	if (r->wanted == 0) {
		r->wanted = 1;
	}
	hist_init(&r->hist);
	r->rt.dma.fd = -1;
	err = pthread_create(&th, NULL, latency_thread, r);
	if (err) {
		free(r);
		return -err;
	}
	pthread_join(th, NULL);
	err = r->err;
	if (err < 0) {
		fprintf(stderr, "ttwsd: latency test failed: %s\n", r->note);
	} else {
		latency_print(r);
	}
	rt_release(&r->rt);
	free(r);
	return err;
}
