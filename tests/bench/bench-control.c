/* SPDX-License-Identifier: MIT */
/*
 * Load for ./dev bench control: N clients, each on its own connection to
 * ttwsd's control socket, poll what `ttwsctl status` reads (GetAll of the
 * daemon object and of both ear objects) back to back for S seconds.
 * Prints one line: "calls N rtt_p50_us X rtt_p99_us Y rtt_max_us Z",
 * a status round trip being the three GetAll calls.
 *
 *   bench-control SOCKET CLIENTS SECONDS
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

struct client {
	const char *address;
	uint64_t until_ns;
	struct hist rtt; /* ns */
	int err;
	pthread_t thread;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static int get_all(sd_bus *bus, const char *path, const char *iface)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_call_method(bus, NULL, path,
			       "org.freedesktop.DBus.Properties", "GetAll",
			       &error, &reply, "s", iface);
	sd_bus_error_free(&error);
	sd_bus_message_unref(reply);
	return r;
}

static void *client_run(void *arg)
{
	struct client *c = arg;
	sd_bus *bus = NULL;
	int r;

	r = sd_bus_new(&bus);
	if (r >= 0) {
		r = sd_bus_set_address(bus, c->address);
	}
	if (r >= 0) {
		r = sd_bus_start(bus);
	}
	while (r >= 0 && now_ns() < c->until_ns) {
		uint64_t t0 = now_ns();

		r = get_all(bus, "/org/ttws/Daemon", "org.ttws.Daemon1");
		if (r >= 0) {
			r = get_all(bus, "/org/ttws/Daemon/ear/left",
				    "org.ttws.Ear1");
		}
		if (r >= 0) {
			r = get_all(bus, "/org/ttws/Daemon/ear/right",
				    "org.ttws.Ear1");
		}
		if (r >= 0) {
			hist_record(&c->rtt, now_ns() - t0);
		}
	}
	c->err = r < 0 ? r : 0;
	sd_bus_flush_close_unref(bus);
	return NULL;
}

int main(int argc, char **argv)
{
	struct client *cl;
	struct hist *all;
	struct hist_summary s;
	char address[300];
	unsigned n, i, failed = 0;
	double secs;

	if (argc != 4) {
		fprintf(stderr, "usage: bench-control SOCKET CLIENTS SECONDS\n");
		return 2;
	}
	n = (unsigned)atoi(argv[2]);
	secs = atof(argv[3]);
	if (n == 0 || n > 1000 || !(secs > 0)) {
		fprintf(stderr, "bench-control: bad arguments\n");
		return 2;
	}
	snprintf(address, sizeof(address), "unix:path=%s", argv[1]);
	cl = calloc(n, sizeof(*cl));
	all = malloc(sizeof(*all));
	if (!cl || !all) {
		return 1;
	}
	hist_init(all);
	for (i = 0; i < n; i++) {
		cl[i].address = address;
		cl[i].until_ns = now_ns() + (uint64_t)(secs * 1e9);
		hist_init(&cl[i].rtt);
		pthread_create(&cl[i].thread, NULL, client_run, &cl[i]);
	}
	for (i = 0; i < n; i++) {
		pthread_join(cl[i].thread, NULL);
		failed += cl[i].err != 0;
		hist_merge(all, &cl[i].rtt);
	}
	if (hist_summarize(all, &s) < 0) {
		fprintf(stderr, "bench-control: no call succeeded (%s)\n",
			strerror(-cl[0].err));
		return 1;
	}
	printf("calls %llu failed_clients %u rtt_p50_us %.1f rtt_p99_us %.1f "
	       "rtt_max_us %.1f\n",
	       (unsigned long long)s.count, failed, (double)s.p50 / 1e3,
	       (double)s.p99 / 1e3, (double)s.max / 1e3);
	free(all);
	free(cl);
	return failed ? 1 : 0;
}
