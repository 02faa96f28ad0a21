/* SPDX-License-Identifier: MIT */
/*
 * bench-latency: the RT loop's two latencies, for tests/bench/latency.sh.
 *
 *   bench-latency timer [--loops N] [--interval-us N] [--priority P]
 *                       [--cpu C] [--spin-guard-us G] [--backend B]
 *                       [--timer T]
 *     The periodic hard timer's wake-up lateness: exactly what
 *     `ttwsd --latency-test --json` runs (src/daemon/latency.c), here so
 *     the bench can choose the loop's timer and busy-poll window.
 *
 *   bench-latency rx [--busy-poll-us N] [--bursts N] [--gap-us G]
 *                    [--period-us P] [--priority P] [--cpu C]
 *                    [--sender-cpu C] [--backend B] [--timer T]
 *     Completion -> handler latency. A sender thread on another CPU
 *     sends bursts of two datagrams over an AF_UNIX SOCK_SEQPACKET pair,
 *     every period, the second gap us after the first; each carries the
 *     CLOCK_MONOTONIC instant read right before its send(2). The RT
 *     loop's handler reads the clock as its first instruction. The first
 *     datagram of a burst finds the loop asleep (the period is longer
 *     than any window); the second comes while a busy-poll window of
 *     more than gap us is still open, or after the loop went back to
 *     sleep without one. CPU cost: the RT thread's CPU time
 *     (CLOCK_THREAD_CPUTIME_ID) per second of wall time.
 *
 * One JSON line on stdout. Never fails on a number.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/hist.h"
#include "core/macro.h"
#include "core/wheel.h"
#include "daemon/latency.h"
#include "os/loop.h"
#include "os/rt.h"

struct opts {
	struct latency_opts lat;
	uint64_t busy_poll_ns;
	unsigned bursts;
	uint64_t gap_ns;
	uint64_t period_ns;
	int sender_cpu;
};

/* The datagram: when it was sent, which burst, which of the two. */
struct msg {
	uint64_t sent_ns;
	uint32_t burst;
	uint32_t idx;
};

struct rx_run {
	const struct opts *o;
	int sv[2];
	struct loop *loop;
	struct hist lat[2]; /* ns, first and second of a burst */
	unsigned got;
	uint64_t cpu_ns;
	uint64_t wall_ns;
	struct loop_counters counters;
	char note[256];
	atomic_bool ready;
	int err;
};

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void on_rx(struct loop *l, struct loop_sock *s, const struct loop_rx *rx,
		  void *user_data)
{
	uint64_t now = rt_now_ns(); /* the handler's first instruction */
	struct rx_run *r = user_data;
	struct msg m;

	(void)s;
	if (rx->ev != LOOP_EV_DATA || rx->len != sizeof(m)) {
		return;
	}
	memcpy(&m, rx->data, sizeof(m));
	if (m.idx < 2 && now >= m.sent_ns) {
		hist_record(&r->lat[m.idx], now - m.sent_ns);
	}
	if (++r->got >= 2 * r->o->bursts) {
		loop_stop(l);
	}
}

static void place(int cpu, int prio)
{
	struct sched_param sp = {.sched_priority = prio};
	cpu_set_t set;

	if (cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	if (prio > 0) {
		(void)pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	}
}

static void *rx_loop_thread(void *arg)
{
	struct rx_run *r = arg;
	const struct opts *o = r->o;
	struct rt_config rc = rt_config_default();
	struct rt_report rep;
	struct loop_config lc;
	struct loop_sock *s;
	struct wheel *w;
	uint64_t c0, t0;

	rc.priority = o->lat.priority;
	rc.cpu = o->lat.cpu;
	rep.dma.fd = -1;
	r->err = rt_apply(&rc, &rep);
	w = wheel_new(rt_now_ns());
	loop_config_default(&lc);
	lc.backend = o->lat.backend;
	lc.timer = lc.backend == LOOP_EPOLL ? LOOP_TIMER_TIMERFD : o->lat.timer;
	lc.busy_poll_ns = o->busy_poll_ns;
	if (r->err == 0) {
		r->err = w ? loop_new(&lc, w, &r->loop) : -ENOMEM;
	}
	if (r->err == 0) {
		r->err = loop_add_socket(r->loop, r->sv[0], on_rx, r, &s);
	}
	if (r->err < 0) {
		atomic_store(&r->ready, true);
		goto out;
	}
	snprintf(r->note, sizeof(r->note), "%s", loop_backend_note(r->loop));
	c0 = thread_cpu_ns();
	t0 = rt_now_ns();
	atomic_store(&r->ready, true);
	r->err = loop_run(r->loop);
	r->cpu_ns = thread_cpu_ns() - c0;
	r->wall_ns = rt_now_ns() - t0;
	loop_get_counters(r->loop, &r->counters);
out:
	r->loop = loop_free(r->loop);
	wheel_free(w);
	rt_release(&rep);
	return NULL;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = {.tv_sec = (time_t)(t / NSEC_PER_SEC),
			      .tv_nsec = (long)(t % NSEC_PER_SEC)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR) {
	}
}

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static void print_hist(const char *name, const struct hist *h, bool comma)
{
	struct hist_summary s;

	if (hist_summarize(h, &s) < 0) {
		memset(&s, 0, sizeof(s));
	}
	printf("\"%s\":{\"n\":%" PRIu64 ",\"min\":%.3f,\"p50\":%.3f,"
	       "\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f}%s",
	       name, s.count, us(s.min), us(s.p50), us(s.p90), us(s.p99),
	       us(s.max), comma ? "," : "");
}

static int run_rx(const struct opts *o)
{
	struct rx_run *r = calloc(1, sizeof(*r));
	pthread_t th;
	uint64_t t;
	int err;

	if (!r) {
		return -ENOMEM;
	}
	r->o = o;
	hist_init(&r->lat[0]);
	hist_init(&r->lat[1]);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
		       0, r->sv) < 0) {
		free(r);
		return -errno;
	}
	err = pthread_create(&th, NULL, rx_loop_thread, r);
	if (err) {
		free(r);
		return -err;
	}
	while (!atomic_load(&r->ready)) {
		usleep(1000);
	}
	/* The sender: below the loop's priority, on its own CPU. */
	place(o->sender_cpu, o->lat.priority > 1 ? o->lat.priority - 1 : 0);
	t = rt_now_ns() + 20 * NSEC_PER_MSEC;
	for (unsigned b = 0; r->err == 0 && b < o->bursts; b++) {
		for (uint32_t i = 0; i < 2; i++) {
			struct msg m = {.burst = b, .idx = i};

			if (i == 1) {
				(void)rt_spin_until(t + o->gap_ns,
						    o->gap_ns + NSEC_PER_MSEC);
			} else {
				sleep_until(t);
			}
			m.sent_ns = rt_now_ns();
			if (send(r->sv[1], &m, sizeof(m), MSG_NOSIGNAL) < 0) {
				fprintf(stderr, "send: %s\n", strerror(errno));
			}
		}
		t += o->period_ns;
	}
	pthread_join(th, NULL);
	close(r->sv[0]);
	close(r->sv[1]);
	if (r->err < 0) {
		fprintf(stderr, "bench-latency rx: %s\n", strerror(-r->err));
		free(r);
		return -1;
	}
	printf("{\"mode\":\"rx\",\"busy_poll_us\":%.3f,\"gap_us\":%.3f,"
	       "\"period_us\":%.3f,\"note\":\"%s\",",
	       us(o->busy_poll_ns), us(o->gap_ns), us(o->period_ns), r->note);
	print_hist("first_us", &r->lat[0], true);
	print_hist("second_us", &r->lat[1], true);
	printf("\"cpu_pct\":%.2f,\"sleeps\":%" PRIu64 ",\"busy_polls\":%" PRIu64
	       ",\"busy_poll_hits\":%" PRIu64 "}\n",
	       r->wall_ns ? 100.0 * (double)r->cpu_ns / (double)r->wall_ns : 0,
	       r->counters.sleeps, r->counters.busy_polls,
	       r->counters.busy_poll_hits);
	free(r);
	return 0;
}

static int num(const char *s, uint64_t max, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v > max) {
		fprintf(stderr, "bench-latency: bad number '%s'\n", s);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"loops", required_argument, NULL, 'l'},
	    {"interval-us", required_argument, NULL, 'i'},
	    {"priority", required_argument, NULL, 'p'},
	    {"cpu", required_argument, NULL, 'c'},
	    {"spin-guard-us", required_argument, NULL, 'g'},
	    {"backend", required_argument, NULL, 'b'},
	    {"timer", required_argument, NULL, 't'},
	    {"busy-poll-us", required_argument, NULL, 'B'},
	    {"bursts", required_argument, NULL, 'n'},
	    {"gap-us", required_argument, NULL, 'G'},
	    {"period-us", required_argument, NULL, 'P'},
	    {"sender-cpu", required_argument, NULL, 's'},
	    {},
	};
	struct opts o = {
	    .bursts = 3000,
	    .gap_ns = 20 * NSEC_PER_USEC,
	    .period_ns = NSEC_PER_MSEC,
	    .sender_cpu = 0,
	};
	uint64_t v;
	int c, err = 0;
	bool rx;

	if (argc < 2 || (strcmp(argv[1], "timer") && strcmp(argv[1], "rx"))) {
		fprintf(stderr, "usage: bench-latency timer|rx [OPTIONS]\n");
		return 2;
	}
	rx = strcmp(argv[1], "rx") == 0;
	latency_opts_default(&o.lat);
	o.lat.json = true;
	o.lat.loops = 3000;
	optind = 2;
	while (err == 0 &&
	       (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			err = num(optarg, UINT32_MAX, &o.lat.loops);
			break;
		case 'i':
			err = num(optarg, 10000000, &v);
			o.lat.interval_ns = v * NSEC_PER_USEC;
			break;
		case 'p':
			err = num(optarg, 99, &v);
			o.lat.priority = (int)v;
			break;
		case 'c':
			err = num(optarg, 1023, &v);
			o.lat.cpu = (int)v;
			break;
		case 'g':
			err = num(optarg, 10000, &v);
			o.lat.spin_guard_ns = v * NSEC_PER_USEC;
			break;
		case 'b':
			err = loop_backend_from_string(optarg, &o.lat.backend);
			break;
		case 't':
			err = loop_timer_from_string(optarg, &o.lat.timer);
			break;
		case 'B':
			err = num(optarg, 1000, &v);
			o.busy_poll_ns = v * NSEC_PER_USEC;
			o.lat.busy_poll_ns = o.busy_poll_ns;
			break;
		case 'n':
			err = num(optarg, 1000000, &v);
			o.bursts = (unsigned)v;
			break;
		case 'G':
			err = num(optarg, 100000, &v);
			o.gap_ns = v * NSEC_PER_USEC;
			break;
		case 'P':
			err = num(optarg, 1000000, &v);
			o.period_ns = v * NSEC_PER_USEC;
			break;
		case 's':
			err = num(optarg, 1023, &v);
			o.sender_cpu = (int)v;
			break;
		default:
			err = -EINVAL;
			break;
		}
	}
	if (err < 0 || o.bursts == 0 || o.period_ns <= 2 * o.gap_ns) {
		fprintf(stderr, "bench-latency: invalid arguments\n");
		return 2;
	}
	if (rx) {
		return run_rx(&o) < 0 ? 1 : 0;
	}
	return latency_run(&o.lat) < 0 ? 1 : 0;
}
