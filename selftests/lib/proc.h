/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sockets as /proc/net/tcp and /proc/net/tcp6 list them: how many are in
 * a state on a local port, and the accept backlog of a listener; and
 * the TCP line of /proc/net/sockstat.
 */
#ifndef LIB_PROC_H
#define LIB_PROC_H

/* The "st" column of /proc/net/tcp{,6} (enum of include/net/tcp_states.h). */
#define TCP_ST_SYN_RECV		3
#define TCP_ST_LISTEN		10

/*
 * Sockets of /proc/net/tcp{,6} with local port @lport in state @state;
 * the Recv-Q of the last one (the accept backlog of a listener) in @rxq.
 * -1 when the file cannot be read.
 */
long proc_tcp_count(int family, unsigned short lport, int state, long *rxq);

/*
 * Poll (5 ms) until @want sockets are in @state on @lport, or with @rxq
 * until the listener's accept backlog is @want, at most @wait_ns; the
 * last count.
 */
long proc_wait_count(int family, unsigned short lport, int state, long want,
		     long *rxq, unsigned long long wait_ns);

/*
 * The value of @key ("tw", "mem", ...) in the TCP line of
 * /proc/net/sockstat (the namespace's own); -1 when it cannot be read.
 */
long long proc_sockstat_tcp(const char *key);

#endif /* LIB_PROC_H */
