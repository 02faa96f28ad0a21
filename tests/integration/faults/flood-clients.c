/* SPDX-License-Identifier: MIT */
/*
 * flood-clients: N concurrent clients of ttwsd's control API on its
 * private socket (flood.sh, issue 14). Each client, on its own
 * connection and thread, connects and then for S seconds makes, back to
 * back, the calls an operator's tools make: GetStats (ttwsctl status
 * --json), GetAll of the daemon and of the right ear, Get of a key, and
 * an Introspect. Every call has a 5 s timeout, so a client that is
 * neither served nor refused shows as a hang, not as a stuck test.
 *
 * A client ends as one of:
 *   served   every call it made was answered;
 *   refused  the daemon turned it away before or at its first call (a
 *            clean close: ECONNRESET, EPIPE, ENOTCONN, ECONNREFUSED, or
 *            EAGAIN from connect(2): its listen backlog full);
 *   failed   anything else (a timeout, an error reply, a broken
 *            connection after it had been served).
 * Prints one line, "clients N served A refused B failed C calls D
 * rtt_p99_us X", and for each failed client a line with the error.
 *
 *   flood-clients SOCKET CLIENTS SECONDS
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "core/hist.h"
#include "core/macro.h"

#define FLOOD_CALL_TIMEOUT_USEC (5 * 1000000ULL)
#define FLOOD_MAX_CLIENTS 512

enum flood_end { FLOOD_SERVED, FLOOD_REFUSED, FLOOD_FAILED };

struct client {
	const char *address;
	uint64_t until_ns;
	struct hist rtt; /* ns, one call */
	unsigned long calls;
	enum flood_end end;
	int err;
	char what[64];
	pthread_t thread;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* One call: 0 or -errno; what names it for the report. */
static int call(sd_bus *bus, const char *path, const char *iface,
		const char *member, const char *sig, const char *arg)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int r;

	if (sig) {
		r = sd_bus_call_method(bus, NULL, path, iface, member, &error,
				       &reply, sig, arg);
	} else {
		r = sd_bus_call_method(bus, NULL, path, iface, member, &error,
				       &reply, NULL);
	}
	sd_bus_error_free(&error);
	sd_bus_message_unref(reply);
	return r < 0 ? r : 0;
}

static bool refusal(int r)
{
	/* EAGAIN: the listen backlog is full (unix(7)). */
	return r == -ECONNRESET || r == -EPIPE || r == -ENOTCONN ||
	       r == -ECONNREFUSED || r == -EAGAIN;
}

static void *client_run(void *arg)
{
	static const struct {
		const char *path, *iface, *member, *sig, *arg;
	} calls[] = {
		{ "/org/ttws/Daemon", "org.ttws.Daemon1", "GetStats", NULL,
		  NULL },
		{ "/org/ttws/Daemon", "org.freedesktop.DBus.Properties",
		  "GetAll", "s", "org.ttws.Daemon1" },
		{ "/org/ttws/Daemon/ear/right",
		  "org.freedesktop.DBus.Properties", "GetAll", "s",
		  "org.ttws.Ear1" },
		{ "/org/ttws/Daemon", "org.ttws.Daemon1", "Get", "s",
		  "servo.estimator" },
		{ "/org/ttws/Daemon", "org.freedesktop.DBus.Introspectable",
		  "Introspect", NULL, NULL },
	};
	struct client *c = arg;
	sd_bus *bus = NULL;
	size_t i = 0;
	int r;

	r = sd_bus_new(&bus);
	if (r >= 0) {
		r = sd_bus_set_address(bus, c->address);
	}
	if (r >= 0) {
		r = sd_bus_set_method_call_timeout(bus,
						   FLOOD_CALL_TIMEOUT_USEC);
	}
	if (r >= 0) {
		r = sd_bus_start(bus);
	}
	snprintf(c->what, sizeof(c->what), "connect");
	while (r >= 0 && now_ns() < c->until_ns) {
		uint64_t t0 = now_ns();

		snprintf(c->what, sizeof(c->what), "%s %s", calls[i].member,
			 calls[i].arg ? calls[i].arg : "");
		r = call(bus, calls[i].path, calls[i].iface, calls[i].member,
			 calls[i].sig, calls[i].arg);
		if (r >= 0) {
			hist_record(&c->rtt, now_ns() - t0);
			c->calls++;
		}
		i = (i + 1) % ARRAY_SIZE(calls);
	}
	c->err = r < 0 ? r : 0;
	if (r >= 0) {
		c->end = FLOOD_SERVED;
	} else if (c->calls == 0 && refusal(r)) {
		c->end = FLOOD_REFUSED;
	} else {
		c->end = FLOOD_FAILED;
	}
	sd_bus_flush_close_unref(bus);
	return NULL;
}

int main(int argc, char **argv)
{
	static struct client cl[FLOOD_MAX_CLIENTS];
	unsigned n, i, ended[3] = { 0 };
	unsigned long calls = 0;
	char address[512];
	static struct hist all;
	uint64_t p99;
	double secs;

	if (argc != 4 || (n = (unsigned)atoi(argv[2])) == 0 ||
	    n > FLOOD_MAX_CLIENTS || (secs = atof(argv[3])) <= 0) {
		fprintf(stderr, "usage: flood-clients SOCKET CLIENTS(1..%u) "
				"SECONDS\n",
			FLOOD_MAX_CLIENTS);
		return 2;
	}
	snprintf(address, sizeof(address), "unix:path=%s", argv[1]);
	hist_init(&all);
	for (i = 0; i < n; i++) {
		cl[i].address = address;
		cl[i].until_ns = now_ns() + (uint64_t)(secs * 1e9);
		hist_init(&cl[i].rtt);
		if (pthread_create(&cl[i].thread, NULL, client_run, &cl[i])) {
			fprintf(stderr, "flood-clients: thread %u: %s\n", i,
				strerror(errno));
			return 1;
		}
	}
	for (i = 0; i < n; i++) {
		pthread_join(cl[i].thread, NULL);
		ended[cl[i].end]++;
		calls += cl[i].calls;
		(void)hist_merge(&all, &cl[i].rtt);
	}
	if (hist_percentile(&all, 99.0, &p99) < 0) {
		p99 = 0;
	}
	printf("clients %u served %u refused %u failed %u calls %lu "
	       "rtt_p99_us %.0f\n",
	       n, ended[FLOOD_SERVED], ended[FLOOD_REFUSED],
	       ended[FLOOD_FAILED], calls, (double)p99 / 1e3);
	for (i = 0; i < n; i++) {
		if (cl[i].end == FLOOD_FAILED) {
			printf("client %u failed after %lu calls at %s: %s\n",
			       i, cl[i].calls, cl[i].what,
			       strerror(-cl[i].err));
		}
	}
	return 0;
}
