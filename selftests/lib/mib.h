/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TcpExt counters of /proc/net/netstat: a snapshot of all of them at one
 * moment, the difference between two snapshots, a single counter read
 * now, and printing what moved; one counter of the Tcp group of
 * /proc/net/snmp (OutRsts ...).  A counter the kernel does not have reads
 * as -1 ("na" in a key=value line).
 */
#ifndef LIB_MIB_H
#define LIB_MIB_H

#include <stdbool.h>
#include <stddef.h>

#define MIB_MAX		256
#define MIB_NAME	48
/* What separates the names and values of a /proc/net/{netstat,snmp} line. */
#define MIB_DELIM	"\n "

/* All TcpExt counters of /proc/net/netstat at one moment. */
struct mib_snap {
	unsigned int n;
	char name[MIB_MAX][MIB_NAME];
	long long val[MIB_MAX];
};

/*
 * Snapshot the TcpExt group of /proc/net/netstat of the calling thread's
 * network namespace.  An unreadable file gives an empty snapshot.
 */
void mib_snapshot(struct mib_snap *s);
/* Value of TcpExt counter @name, or -1 when the kernel does not have it. */
long long mib_get(const struct mib_snap *s, const char *name);
/* @b - @a for counter @name; -1 when the kernel does not have it. */
long long mib_delta(const struct mib_snap *a, const struct mib_snap *b,
		    const char *name);
/*
 * Snapshot into @cur until TcpExt @name moved since @from, at most
 * @wait_ns; whether it moved.
 */
bool mib_wait_moved(const struct mib_snap *from, struct mib_snap *cur,
		    const char *name, unsigned long long wait_ns);
/* One TcpExt counter read now, -1 when absent. */
long long mib_read(const char *name);
/* One counter of Tcp: in /proc/net/snmp (v4 and v6 share it), -1 when absent. */
long long mib_tcp_read(const char *name);
/*
 * Print, as TAP comments, the counters of @names that moved between @a
 * and @b (every counter that moved when @all).
 */
void mib_print_deltas(const char *prefix, const struct mib_snap *a,
		      const struct mib_snap *b, const char * const *names,
		      unsigned int nnames, bool all);
/*
 * True when the kernel has the series: TcpExtTCPClosedRelookup, a counter
 * only the series adds.  A test of a behaviour the series fixes reports
 * an expected failure (XFAIL) where this is false.
 */
bool mib_series_present(void);
/* The same, each line led by @lead ("" in a tool's output). */
void mib_print_deltas_lead(const char *lead, const char *prefix,
			   const struct mib_snap *a, const struct mib_snap *b,
			   const char * const *names, unsigned int nnames,
			   bool all);
/* Counter value for a key=value line: "na" when the kernel lacks it. */
void mib_fmt_count(char *buf, size_t sz, long long v);

#endif /* LIB_MIB_H */
