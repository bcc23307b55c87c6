/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The frame of tools/tcp_setup_exc (tcp_setup_exc.c) and its three
 * scenarios (synq.c, acceptq.c, ports.c): each scenario runs once per
 * address family in a network namespace of its own, reports the first
 * reason it could not measure with setup_why() and gets TcpExt
 * snapshots, deadlines and waits from here.
 */
#ifndef SETUP_EXC_H
#define SETUP_EXC_H

#include <stdbool.h>
#include <sys/socket.h>

#include "kselftest.h"
#include "lib/mib.h"
#include "lib/time.h"

#define PROG			"tcp_setup_exc"
/* How long a handshake step may take before a run gives up on it. */
#define STEP_NS			(2 * NSEC_PER_SEC)
/* A dropped SYN is retransmitted after 1 s, then 3 s (2 s linear): wait 5. */
#define CONNECT_WAIT_NS		(5 * NSEC_PER_SEC)
#define POLL_NS			(5 * NSEC_PER_MSEC)

/* The options of the scenarios (tcp_setup_exc.c parses them). */
struct setup_opts {
	unsigned long flood_syns;	/* -f: synq's SYN flood */
	unsigned long count;		/* -n: ports' connect() calls per phase */
	unsigned long ports;		/* -P: ports' narrowed range size */
};

extern struct setup_opts setup_opts;

/* One scenario in one address family, in its own namespace. */
struct setup_test {
	int family;
	/*
	 * -D: the listener is AF_INET6 with IPV6_V6ONLY off on [::], the
	 * clients (@family) AF_INET: an IPv4 handshake to a dual-stack
	 * listener.
	 */
	bool dual;
	const char *fname;
	unsigned long long deadline;
	char why[256];
	struct mib_snap *a, *b, *c, *cur;
};

/* Neither interrupted nor past the run's time bound. */
bool setup_running(const struct setup_test *t);
/* The first reason a run could not measure; later ones are consequences. */
__printf(2, 3) void setup_why(struct setup_test *t, const char *fmt, ...);
/* A counter for a key=value line in a caller's 24-byte buffer. */
const char *setup_cnt(char *buf, long long v);
/* Poll until TcpExt @name moved since @from, at most @wait_ns. */
bool setup_wait_moved(struct setup_test *t, const struct mib_snap *from,
		      const char *name, unsigned long long wait_ns);
/*
 * A non-blocking loopback listener on any port (sock_loopback_listen()),
 * with -D a dual-stack one on [::]; @ss: the address the clients connect to.
 */
int setup_listener_open(struct setup_test *t, int backlog, unsigned short *port,
			struct sockaddr_storage *ss, socklen_t *len);
/* A non-blocking client whose connect() to @ss is under way; or -1. */
int setup_connect_start(struct setup_test *t, const struct sockaddr_storage *ss,
			socklen_t len);
/* sock_close_rst() each of @fds and set it to -1. */
void setup_close_all(int *fds, unsigned long n);
/*
 * The family under which /proc/net lists the listener and its sockets:
 * with -D AF_INET6, also for the request sockets of IPv4 handshakes
 * (their family is the listener's, inet_reqsk_alloc()).
 */
static inline int setup_proc_family(const struct setup_test *t)
{
	return t->dual ? AF_INET6 : t->family;
}

/*
 * Poll until @want sockets are in @state on @lport, or with @rxq until
 * the listener's accept backlog is @want (STEP_NS at most); the last count.
 */
long setup_wait_proc(struct setup_test *t, unsigned short lport, int state,
		     long want, long *rxq);

/* The scenarios: 0 when they measured, else -1 with t->why set. */
int synq_run(struct setup_test *t);
int acceptq_run(struct setup_test *t);
int ports_run(struct setup_test *t);

#endif /* SETUP_EXC_H */
