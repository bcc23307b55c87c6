// SPDX-License-Identifier: GPL-2.0
/*
 * CPUs for a race: the first two CPUs the process may run on, and pinning
 * a thread to one, so the two sides of a race run truly in parallel.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>

#include "cpu.h"

int cpu_pick_two(int *a, int *b)
{
	cpu_set_t set;
	int cpu, found = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	for (cpu = 0; cpu < CPU_SETSIZE && found < 2; cpu++) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		if (!found)
			*a = cpu;
		else
			*b = cpu;
		found++;
	}
	return found;
}

int cpu_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}
