/* SPDX-License-Identifier: MIT */
/*
 * Positive control for the rtcheck shim: a thread that names itself
 * "ttws-rt" and then allocates, locks, sleeps and prints must be seen doing
 * each; the same calls from an unnamed thread must not be counted.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void work(void)
{
	struct timespec ts = { 0, 1000 };
	void *volatile p = malloc(64);

	free(p);
	pthread_mutex_lock(&lock);
	pthread_mutex_unlock(&lock);
	nanosleep(&ts, NULL);
	fprintf(stderr, "rtcheck selftest %d\n", 1);
	clock_gettime(CLOCK_MONOTONIC, &ts);
}

static void *rt(void *arg)
{
	prctl(PR_SET_NAME, "ttws-rt");
	work();
	return NULL;
}

int main(void)
{
	pthread_t t;

	work(); /* main thread: not counted */
	pthread_create(&t, NULL, rt, NULL);
	pthread_join(t, NULL);
	return 0;
}
