// SPDX-License-Identifier: GPL-2.0
/*
 * Stopping early: SIGINT and SIGTERM set one process-wide flag that every
 * loop of a measurement polls, so an interrupted run still reports what
 * it measured; and a flag one thread sets and others poll.
 */
#include <signal.h>
#include <stddef.h>

#include "stop.h"

/* Set by SIGINT/SIGTERM: every loop stops early and reports. */
static int stop_interrupted;

static void stop_on_signal(int sig)
{
	(void)sig;
	__atomic_store_n(&stop_interrupted, 1, __ATOMIC_RELAXED);
}

bool stop_requested(void)
{
	return __atomic_load_n(&stop_interrupted, __ATOMIC_RELAXED);
}

bool stop_flag_get(int *f)
{
	return __atomic_load_n(f, __ATOMIC_ACQUIRE);
}

void stop_flag_set(int *f)
{
	__atomic_store_n(f, 1, __ATOMIC_RELEASE);
}

void stop_catch_signals(void)
{
	struct sigaction sa = { .sa_handler = stop_on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}
