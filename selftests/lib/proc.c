// SPDX-License-Identifier: GPL-2.0
/*
 * Sockets as /proc/net/tcp and /proc/net/tcp6 list them: how many are in
 * a state on a local port, and the accept backlog of a listener.
 */
#include <stdio.h>
#include <sys/socket.h>

#include "proc.h"

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
