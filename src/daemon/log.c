/* SPDX-License-Identifier: MIT */
#include "daemon/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "core/spsc.h"

#define LOG_RING_SIZE (64 * 1024)
#define LOG_LINE_MAX 240

struct log_record {
	uint16_t len; /* of text, without NUL */
	uint8_t level;
	uint8_t pad[5];
	uint64_t ts_ns; /* CLOCK_MONOTONIC when logged */
};

static struct spsc log_ring;
static uint8_t *log_mem;
static _Atomic uint64_t log_drops;
static int log_max_level = LOG_INFO;
static bool log_to_journal;

/* systemd sets $JOURNAL_STREAM to "dev:ino" of the stream it connected
 * to our stderr; only then is journald the right sink (sd-journal(3)). */
static bool log_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2) {
		return false;
	}
	if (fstat(2, &st) < 0) {
		return false;
	}
	return st.st_dev == dev && st.st_ino == ino;
}

int log_init(void)
{
	if (log_mem) {
		return 0;
	}
	log_mem = malloc(LOG_RING_SIZE);
	if (!log_mem) {
		return -ENOMEM;
	}
	spsc_init(&log_ring, log_mem, LOG_RING_SIZE);
	log_to_journal = log_stderr_is_journal();
	return 0;
}

void log_set_max_level(int level)
{
	log_max_level = level;
}

static void log_emit(int level, const char *thread, const char *text)
{
	if (level > log_max_level) {
		return;
	}
	if (log_to_journal) {
		sd_journal_send("MESSAGE=%s", text, "PRIORITY=%i", level,
				"TTWS_THREAD=%s", thread, NULL);
		return;
	}
	fprintf(stderr, "ttwsd[%s]: %s\n", thread, text);
}

void log_main(int level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_emit(level, "main", buf);
}

void log_rt(int level, const char *fmt, ...)
{
	struct {
		struct log_record r;
		char text[LOG_LINE_MAX];
	} rec;
	struct timespec ts;
	va_list ap;
	int n;

	if (level > log_max_level || !log_mem) {
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(rec.text, sizeof(rec.text), fmt, ap);
	va_end(ap);
	if (n < 0) {
		return;
	}
	if ((size_t)n >= sizeof(rec.text)) {
		n = sizeof(rec.text) - 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	memset(&rec.r, 0, sizeof(rec.r));
	rec.r.len = (uint16_t)n;
	rec.r.level = (uint8_t)level;
	rec.r.ts_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (spsc_write(&log_ring, &rec, sizeof(rec.r) + (size_t)n) < 0) {
		atomic_fetch_add_explicit(&log_drops, 1, memory_order_relaxed);
	}
}

unsigned log_drain(void)
{
	struct log_record r;
	char text[LOG_LINE_MAX + 1];
	unsigned n = 0;

	if (!log_mem) {
		return 0;
	}
	while (spsc_peek(&log_ring, &r, sizeof(r)) == 0) {
		/* The producer writes a record in one piece, so the text is
		 * there whenever its header is. */
		if (spsc_read_avail(&log_ring) < sizeof(r) + r.len) {
			break;
		}
		spsc_skip(&log_ring, sizeof(r));
		spsc_read(&log_ring, text, r.len);
		text[r.len] = '\0';
		log_emit(r.level, "rt", text);
		n++;
	}
	return n;
}

uint64_t log_dropped(void)
{
	return atomic_load_explicit(&log_drops, memory_order_relaxed);
}
