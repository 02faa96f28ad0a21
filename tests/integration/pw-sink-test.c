/* SPDX-License-Identifier: MIT */
/*
 * pw-sink-test: src/pw/sink against a real PipeWire daemon, for
 * pw-sink.sh.
 *
 *   pw-sink-test gen FILE SECONDS LEAD_S TAIL_S
 *	Write a 48 kHz S16 stereo WAV whose samples count: sample k of the
 *	SECONDS of signal has left = (k mod 8192) + 1 and right =
 *	-(k / 8192) - 1, so (left, right) names k exactly, left is always
 *	positive and right always negative. LEAD_S and TAIL_S of silence
 *	around it (pw-cat drops the last partial quantum).
 *
 *   pw-sink-test run [--format f32|s16] [--no-driver] [--rate-diff X]
 *		      [--latency-ns N] [--latency2-ns N] [--expect SAMPLES]
 *		      [--timeout S]
 *	Create ttws.sink and play the RT thread's part: every cycle, trigger
 *	the graph (driver mode) at the pace of the quantum and rate_diff,
 *	pull the ring through core/framer (480-sample frames, S16 per ear)
 *	and check the counter. Once audio flows the main thread publishes
 *	--latency2-ns. Prints "ready", "latency N" and, on SIGTERM/SIGINT
 *	or after --timeout, one JSON summary line.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/framer.h"
#include "core/ratediff.h"
#include "core/spsc.h"
#include "pw/sink.h"
#include "sim/wav.h"

#define RATE 48000u
#define FRAME 480u
#define MAX_QUANTUM 8192u
#define RING_BYTES (1u << 20)
#define MIN_U(a, b) ((a) < (b) ? (a) : (b))

static int gen(int argc, char **argv)
{
	double secs, lead, tail;
	int16_t buf[2 * 480];
	struct wav *w;
	uint64_t k, n, i;
	int r;

	if (argc != 6) {
		fprintf(stderr, "usage: gen FILE SECONDS LEAD_S TAIL_S\n");
		return 2;
	}
	secs = atof(argv[3]);
	lead = atof(argv[4]);
	tail = atof(argv[5]);
	r = wav_create(argv[2], RATE, 2, &w);
	if (r < 0) {
		fprintf(stderr, "gen: %s: %s\n", argv[2], strerror(-r));
		return 1;
	}
	memset(buf, 0, sizeof(buf));
	for (n = (uint64_t)(lead * RATE); n > 0; n -= MIN_U(n, 480)) {
		wav_write(w, buf, MIN_U(n, 480));
	}
	n = (uint64_t)(secs * RATE);
	for (k = 0; k < n;) {
		for (i = 0; i < 480 && k < n; i++, k++) {
			buf[2 * i] = (int16_t)((k & 0x1fff) + 1);
			buf[2 * i + 1] = (int16_t)(-(int64_t)(k >> 13) - 1);
		}
		wav_write(w, buf, i);
	}
	memset(buf, 0, sizeof(buf));
	for (n = (uint64_t)(tail * RATE); n > 0; n -= MIN_U(n, 480)) {
		wav_write(w, buf, MIN_U(n, 480));
	}
	r = wav_close(w);
	if (r < 0) {
		fprintf(stderr, "gen: %s: %s\n", argv[2], strerror(-r));
		return 1;
	}
	return 0;
}

struct run {
	struct pw_sink *sink;
	struct spsc ring;
	struct framer *framer;
	double rate_diff;
	bool driver;
	atomic_bool stop;
	atomic_bool audio_seen;
	pthread_t thread;

	/* Consumer (the "RT thread") only. */
	uint8_t scratch[MAX_QUANTUM * 8];
	uint64_t frames, discont_frames, bad_nsec;
	uint64_t last_nsec;
	uint64_t max_ring_bytes;
	uint64_t late_wakeups;  /* timer fired more than 5 ms late */
	bool driving_seen;
	/* The counter check. */
	int phase;              /* 0 lead silence, 1 counter, 2 tail */
	uint64_t next_k;        /* next expected counter value */
	uint64_t expect;        /* counter samples in the file, 0: unknown */
	uint64_t counter_samples, counter_errors, swapped, noise_in_silence;
	uint64_t xrun_silence;  /* silent samples inside the counter */
	int64_t first_error_at; /* counter index, -1 none */
	uint64_t lead_samples, tail_samples;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The counter check. Silence before the first counter sample is the lead;
 * after the last one (k = expect - 1) only silence may follow. Silence in
 * between is an upstream underrun (pw-cat late on a busy machine: PipeWire
 * plays a quantum of silence and pw-cat's data follows it); it loses and
 * reorders nothing, so it is counted, not failed. Every non-silent sample
 * must be the next counter value: one lost, repeated or swapped sample
 * fails.
 */
static void check_sample(struct run *r, int16_t l, int16_t rr)
{
	bool silent = l == 0 && rr == 0;
	uint64_t k;

	if (r->phase == 0 && silent) {
		r->lead_samples++;
		return;
	}
	if (r->phase == 0) {
		r->phase = 1;
	}
	if (r->phase == 1 && silent) {
		if (r->expect && r->next_k < r->expect) {
			r->xrun_silence++;
			return;
		}
		r->phase = 2;
	}
	if (r->phase == 2) {
		if (!silent) {
			r->noise_in_silence++;
		}
		r->tail_samples++;
		return;
	}
	if (l < 0 && rr > 0) {
		r->swapped++;
	}
	k = (uint64_t)(l - 1) | ((uint64_t)(-(int32_t)rr - 1) << 13);
	if (l <= 0 || rr >= 0 || k != r->next_k) {
		if (r->first_error_at < 0) {
			r->first_error_at = (int64_t)r->counter_samples;
		}
		r->counter_errors++;
		/* Resynchronise so one gap counts once. */
		if (l > 0 && rr < 0) {
			r->next_k = k;
		}
	}
	r->next_k++;
	r->counter_samples++;
	if (r->expect && r->next_k == r->expect) {
		r->phase = 2;
	}
}

static void consume(struct run *r)
{
	int16_t left[FRAME], right[FRAME];
	struct framer_frame fr;
	uint64_t fill;
	uint32_t i;
	int rc;

	fill = spsc_read_avail(&r->ring);
	if (fill > r->max_ring_bytes) {
		r->max_ring_bytes = fill;
	}
	for (;;) {
		while (framer_pop(r->framer, left, right, &fr) == 0) {
			if (r->frames > 0 && fr.discont) {
				r->discont_frames++;
			}
			if (r->frames > 0 && fr.nsec <= r->last_nsec) {
				r->bad_nsec++;
			}
			r->last_nsec = fr.nsec;
			r->frames++;
			for (i = 0; i < FRAME; i++) {
				check_sample(r, left[i], right[i]);
			}
			atomic_store(&r->audio_seen, true);
		}
		if (getenv("PW_SINK_TEST_DEBUG")) {
			struct framer_quantum dq;

			if (spsc_peek(&r->ring, &dq, sizeof(dq)) == 0) {
				fprintf(stderr,
					"q nsec %" PRIu64 " pos %" PRIu64
					" n %u rd %.6f fl %u now %" PRIu64 "\n",
					dq.nsec, dq.position, dq.samples,
					dq.rate_diff, dq.flags, now_ns());
			}
		}
		rc = framer_pull_ring(r->framer, &r->ring, r->scratch,
				      sizeof(r->scratch));
		if (rc == -EAGAIN) {
			break;
		}
	}
}

/* The RT thread's part: trigger each cycle, then drain the ring. */
/*
 * The RT thread's part: trigger each cycle, then drain the ring. Like
 * ttwsd's RT thread it waits on a timerfd (armed TFD_TIMER_ABSTIME) and
 * renames itself "ttws-rt" once set up, so tests/integration/rtcheck.c,
 * preloaded, counts every allocation, lock, sleep or stdio call it makes
 * from then on: pw_sink_trigger(), pw_sink_quantum() and the framer must
 * make none.
 */
static void *rt_main(void *arg)
{
	struct run *r = arg;
	struct sched_param sp = { .sched_priority = 70 };
	struct itimerspec its;
	uint64_t t, step, expirations;
	uint32_t q;
	int tfd;

	/* SCHED_FIFO where allowed (below PipeWire's data threads at 88);
	 * plain scheduling otherwise. */
	pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (tfd < 0) {
		return NULL;
	}
	memset(&its, 0, sizeof(its));
	t = now_ns();
	prctl(PR_SET_NAME, "ttws-rt");

	while (!atomic_load(&r->stop)) {
		its.it_value.tv_sec = (time_t)(t / 1000000000u);
		its.it_value.tv_nsec = (long)(t % 1000000000u);
		timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
		if (read(tfd, &expirations, sizeof(expirations)) < 0) {
			continue;
		}
		if (now_ns() > t + 5000000u) {
			r->late_wakeups++;
		}
		q = pw_sink_quantum(r->sink);
		if (q == 0) {
			q = FRAME;
		}
		step = ratediff_samples_to_ns(RATE, q, r->rate_diff);
		if (r->driver &&
		    pw_sink_trigger(r->sink, t, r->rate_diff) == 0) {
			r->driving_seen = true;
		}
		consume(r);
		/* Strictly on schedule, even after a late wake-up: the
		 * clock nsec ttws.sink publishes then advances by exactly
		 * quantum / (rate * rate_diff) per cycle, which is what
		 * pw-sink.sh measures through pw-cat. */
		t += step;
	}
	close(tfd);
	return NULL;
}

static int run(int argc, char **argv)
{
	static uint8_t ring_mem[RING_BYTES];
	struct pw_sink_config sc = {
		.format = PW_SINK_F32,
		.quantum = FRAME,
		.max_quantum = MAX_QUANTUM,
		.driver = true,
		.latency_ns = 12500000,
	};
	struct framer_config fc = {
		.in_channels = 2,
		.out_fmt = FRAMER_S16,
		.frame_samples = FRAME,
		.rate_hz = RATE,
		.max_quantum = MAX_QUANTUM,
	};
	struct pw_sink_stats st;
	struct framer_stats fst;
	struct run *r;
	uint64_t latency2 = 0, expect = 0, deadline;
	double timeout = 60.0;
	bool latency2_done = false;
	struct timespec ts;
	sigset_t set;
	int i, rc, sig;

	r = calloc(1, sizeof(*r));
	if (!r) {
		return 1;
	}
	r->rate_diff = 1.0;
	r->first_error_at = -1;
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--format") && i + 1 < argc) {
			sc.format = strcmp(argv[++i], "s16") ? PW_SINK_F32 :
							       PW_SINK_S16;
		} else if (!strcmp(argv[i], "--no-driver")) {
			sc.driver = false;
		} else if (!strcmp(argv[i], "--rate-diff") && i + 1 < argc) {
			r->rate_diff = atof(argv[++i]);
		} else if (!strcmp(argv[i], "--latency-ns") && i + 1 < argc) {
			sc.latency_ns = strtoull(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--latency2-ns") && i + 1 < argc) {
			latency2 = strtoull(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--expect") && i + 1 < argc) {
			expect = strtoull(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			timeout = atof(argv[++i]);
		} else {
			fprintf(stderr, "run: unknown argument %s\n", argv[i]);
			free(r);
			return 2;
		}
	}
	r->driver = sc.driver;
	r->expect = expect;
	fc.in_fmt = sc.format == PW_SINK_S16 ? FRAMER_S16 : FRAMER_F32;
	if (spsc_init(&r->ring, ring_mem, sizeof(ring_mem)) < 0 ||
	    framer_new(&fc, &r->framer) < 0) {
		free(r);
		return 1;
	}
	sc.ring = &r->ring;

	/* SIGTERM/SIGINT are taken by sigtimedwait below, in every thread
	 * (PipeWire's included, which inherit this mask). */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	rc = pw_sink_new(&sc, &r->sink);
	if (rc < 0) {
		fprintf(stderr, "pw_sink_new: %s\n", strerror(-rc));
		framer_free(r->framer);
		free(r);
		return 1;
	}
	if (pthread_create(&r->thread, NULL, rt_main, r) != 0) {
		pw_sink_free(r->sink);
		framer_free(r->framer);
		free(r);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);

	deadline = now_ns() + (uint64_t)(timeout * 1e9);
	for (;;) {
		ts.tv_sec = 0;
		ts.tv_nsec = 50000000;
		sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT || now_ns() > deadline) {
			break;
		}
		/* Main thread: publish the new latency once audio flows. */
		if (latency2 && !latency2_done && atomic_load(&r->audio_seen)) {
			rc = pw_sink_set_latency(r->sink, latency2);
			printf("latency %" PRIu64 " %d\n", latency2, rc);
			fflush(stdout);
			latency2_done = true;
		}
	}

	atomic_store(&r->stop, true);
	pthread_join(r->thread, NULL);
	pw_sink_get_stats(r->sink, &st);
	r->sink = pw_sink_free(r->sink);
	consume(r); /* what was still in the ring */
	framer_get_stats(r->framer, &fst);

	printf("{\"frames\":%" PRIu64 ",\"counter_samples\":%" PRIu64
	       ",\"expect\":%" PRIu64 ",\"counter_errors\":%" PRIu64
	       ",\"first_error_at\":%" PRId64 ",\"swapped\":%" PRIu64,
	       r->frames, r->counter_samples, expect, r->counter_errors,
	       r->first_error_at, r->swapped);
	printf(",\"xrun_silence\":%" PRIu64, r->xrun_silence);
	printf(",\"lead_samples\":%" PRIu64 ",\"tail_samples\":%" PRIu64
	       ",\"noise_in_silence\":%" PRIu64 ",\"discont_frames\":%" PRIu64
	       ",\"bad_nsec\":%" PRIu64 ",\"max_ring_bytes\":%" PRIu64
	       ",\"ring_bytes\":%u",
	       r->lead_samples, r->tail_samples, r->noise_in_silence,
	       r->discont_frames, r->bad_nsec, r->max_ring_bytes, RING_BYTES);
	printf(",\"framer_discont\":%" PRIu64 ",\"bad_records\":%" PRIu64
	       ",\"late_wakeups\":%" PRIu64 ",\"driving_seen\":%s",
	       fst.discont, fst.bad_records, r->late_wakeups,
	       r->driving_seen ? "true" : "false");
	printf(",\"sink\":{\"process_calls\":%" PRIu64 ",\"quanta\":%" PRIu64
	       ",\"samples\":%" PRIu64 ",\"overruns\":%" PRIu64
	       ",\"underruns\":%" PRIu64 ",\"oversize\":%" PRIu64,
	       st.process_calls, st.quanta, st.samples, st.overruns,
	       st.underruns, st.oversize);
	printf(",\"triggers\":%" PRIu64 ",\"triggers_idle\":%" PRIu64
	       ",\"cycles\":%" PRIu64 ",\"cycles_not_driving\":%" PRIu64
	       ",\"trigger_errors\":%" PRIu64 ",\"last_trigger_error\":%d",
	       st.triggers, st.triggers_idle, st.cycles,
	       st.cycles_not_driving, st.trigger_errors, st.last_trigger_error);
	printf(",\"late_cycles\":%" PRIu64 ",\"dropped\":%" PRIu64
	       ",\"stuck\":%" PRIu64 ",\"latency_ns\":%" PRIu64
	       ",\"quantum\":%u,\"node_id\":%u,\"error\":%s}}\n",
	       st.late_cycles, st.dropped, st.stuck, st.latency_ns,
	       st.quantum, st.node_id, st.error ? "true" : "false");
	fflush(stdout);
	framer_free(r->framer);
	free(r);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "gen")) {
		return gen(argc, argv);
	}
	if (argc >= 2 && !strcmp(argv[1], "run")) {
		return run(argc, argv);
	}
	fprintf(stderr, "usage: pw-sink-test gen|run ...\n");
	return 2;
}
