// SPDX-License-Identifier: GPL-2.0
/*
 * Sockets as /proc/net/tcp and /proc/net/tcp6 list them: how many are in
 * a state on a local port, and the accept backlog of a listener; polled
 * until they reach a count; and the TCP line of /proc/net/sockstat.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proc.h"
#include "time.h"

long proc_tcp_count(int family, unsigned short lport, int state, long *rxq)
{
	char line[512];
	long n = 0;
	FILE *f;

	f = fopen(family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned int port, st;
		unsigned long tx, rx;

		if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x %lx:%lx",
			   &port, &st, &tx, &rx) != 4)
			continue;
		if (port != lport || (int)st != state)
			continue;
		n++;
		if (rxq)
			*rxq = rx;
	}
	fclose(f);
	return n;
}

long proc_wait_count(int family, unsigned short lport, int state, long want,
		     long *rxq, unsigned long long wait_ns)
{
	unsigned long long until = time_ns() + wait_ns;
	long n, q = -1;

	for (;;) {
		n = proc_tcp_count(family, lport, state, &q);
		if (rxq) {
			*rxq = q;
			n = q;
		}
		if (n == want || time_ns() >= until)
			return n;
		time_sleep_ns(5 * NSEC_PER_MSEC);
	}
}

long long proc_sockstat_tcp(const char *key)
{
	char line[256], word[32];
	long long v = -1;
	FILE *f;

	if (snprintf(word, sizeof(word), " %s ", key) >= (int)sizeof(word))
		return -1;
	f = fopen("/proc/net/sockstat", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *m = strstr(line, word);

		if (!strncmp(line, "TCP:", 4) && m)
			v = strtoll(m + strlen(word), NULL, 10);
	}
	fclose(f);
	return v;
}
