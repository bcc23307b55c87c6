/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stopping early: SIGINT and SIGTERM set one process-wide flag that every
 * loop of a measurement polls, so an interrupted run still reports what
 * it measured; and a flag one thread sets and others poll.
 */
#ifndef LIB_STOP_H
#define LIB_STOP_H

#include <stdbool.h>

/* Catch SIGINT and SIGTERM (they set the stop flag), ignore SIGPIPE. */
void stop_catch_signals(void);
/* True once SIGINT or SIGTERM arrived. */
bool stop_requested(void);

/* A stop flag one thread sets and others poll. */
bool stop_flag_get(int *f);
void stop_flag_set(int *f);

#endif /* LIB_STOP_H */
