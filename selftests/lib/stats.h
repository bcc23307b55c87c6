/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Latency statistics: nearest-rank percentiles and the counts over 100 ms
 * and 1 s of a set of latencies, and the raw samples behind them written
 * to a file (--samples) for distribution plots.
 */
#ifndef LIB_STATS_H
#define LIB_STATS_H

/* A summary in microseconds. */
struct stats_summary {
	unsigned long long p50, p99, p999, max;
	unsigned long over100ms, over1s;
};

/* Sort @v (nanoseconds) and fill @s in microseconds. */
void stats_summarize(unsigned long long *v, unsigned long n,
		     struct stats_summary *s);
/*
 * --samples FILE: start @path empty (at option parsing, so a path that
 * cannot be written is a usage error and nothing runs).
 */
void stats_samples_open(const char *opt, const char *path);
/*
 * Append @n latencies (nanoseconds, in the order measured) to @path, one
 * "<label> <microseconds>" line each: the raw data behind the percentiles,
 * for distribution plots (scripts/plot-cdf).  Call before
 * stats_summarize(), which sorts @v.
 */
int stats_samples_write(const char *path, const char *label,
			const unsigned long long *v, unsigned long n);

#endif /* LIB_STATS_H */
