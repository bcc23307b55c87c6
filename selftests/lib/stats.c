// SPDX-License-Identifier: GPL-2.0
/*
 * Latency statistics: nearest-rank percentiles and the counts over 100 ms
 * and 1 s of a set of latencies, and the raw samples behind them written
 * to a file (--samples) for distribution plots.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opt.h"
#include "stats.h"
#include "time.h"

static int cmp_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a;
	unsigned long long y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile (per mille) of a sorted array, in microseconds. */
static unsigned long long pct_us(const unsigned long long *v,
				 unsigned long n, unsigned int permille)
{
	unsigned long long rank;

	if (!n)
		return 0;
	rank = ((unsigned long long)n * permille + 999) / 1000;
	if (rank < 1)
		rank = 1;
	return v[rank - 1] / NSEC_PER_USEC;
}

void stats_summarize(unsigned long long *v, unsigned long n,
		     struct stats_summary *s)
{
	unsigned long i;

	qsort(v, n, sizeof(*v), cmp_ull);
	s->p50 = pct_us(v, n, 500);
	s->p99 = pct_us(v, n, 990);
	s->p999 = pct_us(v, n, 999);
	s->max = n ? v[n - 1] / NSEC_PER_USEC : 0;
	s->over100ms = 0;
	s->over1s = 0;
	for (i = 0; i < n; i++) {
		s->over100ms += v[i] >= 100 * NSEC_PER_MSEC;
		s->over1s += v[i] >= NSEC_PER_SEC;
	}
}

void stats_samples_open(const char *opt, const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		opt_bad_arg(opt, path, strerror(errno));
	fclose(f);
}

int stats_samples_write(const char *path, const char *label,
			const unsigned long long *v, unsigned long n)
{
	unsigned long i;
	FILE *f;

	if (!path)
		return 0;
	f = fopen(path, "a");
	if (!f)
		return -1;
	for (i = 0; i < n; i++)
		fprintf(f, "%s %llu\n", label, v[i] / NSEC_PER_USEC);
	return fclose(f) ? -1 : 0;
}
