// SPDX-License-Identifier: GPL-2.0
/*
 * Monotonic time in nanoseconds, and a sleep that survives signals: the
 * clock every latency, deadline and poll loop of the programs runs on.
 */
#include <errno.h>
#include <time.h>

#include "time.h"

unsigned long long time_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

void time_sleep_ns(unsigned long long ns)
{
	struct timespec ts = {
		.tv_sec = ns / NSEC_PER_SEC,
		.tv_nsec = ns % NSEC_PER_SEC,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}
