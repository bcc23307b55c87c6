// SPDX-License-Identifier: GPL-2.0
/*
 * TcpExt counters of /proc/net/netstat: a snapshot of all of them at one
 * moment, the difference between two snapshots, a single counter read
 * now, waiting for one to move, and printing what moved; one counter of
 * the Tcp group of /proc/net/snmp (OutRsts ...).  A counter the kernel
 * does not have reads as -1 ("na" in a key=value line).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest.h"
#include "mib.h"
#include "time.h"

void mib_snapshot(struct mib_snap *s)
{
	size_t hsz = 0, vsz = 0;
	char *hdr = NULL, *val = NULL;
	FILE *f;

	s->n = 0;
	f = fopen("/proc/net/netstat", "r");
	if (!f)
		return;
	while (getline(&hdr, &hsz, f) > 0 && getline(&val, &vsz, f) > 0) {
		char *hsave, *vsave, *h, *v;

		if (strncmp(hdr, "TcpExt:", 7))
			continue;
		h = strtok_r(hdr + 7, MIB_DELIM, &hsave);
		v = strtok_r(val + 7, MIB_DELIM, &vsave);
		while (h && v && s->n < MIB_MAX) {
			snprintf(s->name[s->n], MIB_NAME, "%s", h);
			s->val[s->n] = strtoll(v, NULL, 10);
			s->n++;
			h = strtok_r(NULL, MIB_DELIM, &hsave);
			v = strtok_r(NULL, MIB_DELIM, &vsave);
		}
		break;
	}
	free(hdr);
	free(val);
	fclose(f);
}

long long mib_get(const struct mib_snap *s, const char *name)
{
	unsigned int i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->name[i], name))
			return s->val[i];
	return -1;
}

long long mib_delta(const struct mib_snap *a, const struct mib_snap *b,
		    const char *name)
{
	long long x = mib_get(a, name), y = mib_get(b, name);

	if (x < 0 || y < 0)
		return -1;
	return y - x;
}

long long mib_read(const char *name)
{
	struct mib_snap *s = malloc(sizeof(*s));
	long long v;

	if (!s)
		return -1;
	mib_snapshot(s);
	v = mib_get(s, name);
	free(s);
	return v;
}

long long mib_tcp_read(const char *name)
{
	char hdr[1024], val[1024], *h, *v, *hs, *vs;
	FILE *f = fopen("/proc/net/snmp", "r");
	long long ret = -1;

	if (!f)
		return -1;
	while (fgets(hdr, sizeof(hdr), f) && fgets(val, sizeof(val), f)) {
		if (strncmp(hdr, "Tcp:", 4))
			continue;
		h = strtok_r(hdr + 4, MIB_DELIM, &hs);
		v = strtok_r(val + 4, MIB_DELIM, &vs);
		for (; h && v; h = strtok_r(NULL, MIB_DELIM, &hs),
		     v = strtok_r(NULL, MIB_DELIM, &vs))
			if (!strcmp(h, name))
				ret = strtoll(v, NULL, 10);
	}
	fclose(f);
	return ret;
}

void mib_print_deltas(const char *prefix, const struct mib_snap *a,
		      const struct mib_snap *b, const char * const *names,
		      unsigned int nnames, bool all)
{
	mib_print_deltas_lead("# ", prefix, a, b, names, nnames, all);
}

void mib_print_deltas_lead(const char *lead, const char *prefix,
			   const struct mib_snap *a, const struct mib_snap *b,
			   const char * const *names, unsigned int nnames,
			   bool all)
{
	char line[256];
	size_t len = 0;
	unsigned int i, k;

	for (i = 0; i < b->n; i++) {
		long long d = b->val[i] - mib_get(a, b->name[i]);
		bool want = all;

		if (mib_get(a, b->name[i]) < 0 || !d)
			continue;
		for (k = 0; k < nnames && !want; k++)
			want = !strcmp(b->name[i], names[k]);
		if (!want)
			continue;
		if (len > 80) {
			printf("%s%s:%s\n", lead, prefix, line);
			len = 0;
		}
		len += snprintf(line + len, sizeof(line) - len, " %s=%+lld",
				b->name[i], d);
	}
	if (len)
		printf("%s%s:%s\n", lead, prefix, line);
}

bool mib_series_present(void)
{
	return mib_read("TCPClosedRelookup") >= 0;
}

void mib_fmt_count(char *buf, size_t sz, long long v)
{
	if (v < 0)
		snprintf(buf, sz, "na");
	else
		snprintf(buf, sz, "%lld", v);
}

bool mib_wait_moved(const struct mib_snap *from, struct mib_snap *cur,
		    const char *name, unsigned long long wait_ns)
{
	unsigned long long until = time_ns() + wait_ns;

	for (;;) {
		mib_snapshot(cur);
		if (mib_delta(from, cur, name) > 0)
			return true;
		if (time_ns() >= until)
			return false;
		time_sleep_ns(NSEC_PER_MSEC);
	}
}
