/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Monotonic time in nanoseconds, and a sleep that survives signals: the
 * clock every latency, deadline and poll loop of the programs runs on.
 */
#ifndef LIB_TIME_H
#define LIB_TIME_H

#define NSEC_PER_USEC		1000ULL
#define NSEC_PER_MSEC		1000000ULL
#define NSEC_PER_SEC		1000000000ULL

unsigned long long time_ns(void);
void time_sleep_ns(unsigned long long ns);

#endif /* LIB_TIME_H */
