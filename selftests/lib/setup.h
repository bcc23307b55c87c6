/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The frame of the connection-setup programs (tcp_synq_full,
 * tcp_acceptq_full, tcp_port_exhaust): setup_main() parses -4, -6, -t
 * and the program's own options, then runs its one scenario once per
 * address family, each in a network namespace of its own, as one TAP
 * test.  The scenario reports the first reason it failed with
 * setup_why() and gets TcpExt snapshots, deadlines and waits from here.
 */
#ifndef LIB_SETUP_H
#define LIB_SETUP_H

#include <stdbool.h>
#include <sys/socket.h>

#include "kselftest.h"
#include "mib.h"
#include "time.h"

/* How long a handshake step may take before a test gives up on it. */
#define STEP_NS			(2 * NSEC_PER_SEC)
/* A dropped SYN is retransmitted after 1 s, then 3 s (2 s linear): wait 5. */
#define CONNECT_WAIT_NS		(5 * NSEC_PER_SEC)
#define POLL_NS			(5 * NSEC_PER_MSEC)

/* One test: one scenario in one address family, in its own namespace. */
struct setup_test {
	int family;
	const char *fname;
	unsigned long long deadline;
	char why[256];
	struct mib_snap *a, *b, *c, *cur;
};

/* A connection-setup program: its scenario, options and test. */
struct setup_prog {
	const char *scenario;	/* "scenario=" of the result line */
	const char *help;	/* what it does and its own options */
	const char *optstring;	/* its own short options, e.g. "n:P:" */
	void (*opt)(int c, const char *arg);
	int (*run)(struct setup_test *t);
	bool needs_nft;
};

/* Neither interrupted nor past the test's time bound. */
bool setup_running(const struct setup_test *t);
/* The first reason a test fails; later ones are consequences. */
__printf(2, 3) void setup_why(struct setup_test *t, const char *fmt, ...);
/* A counter for a key=value line in a caller's 24-byte buffer. */
const char *setup_cnt(char *buf, long long v);
/* Poll until TcpExt @name moved since @from, at most @wait_ns. */
bool setup_wait_moved(struct setup_test *t, const struct mib_snap *from,
		      const char *name, unsigned long long wait_ns);
/* A non-blocking loopback listener on any port (sock_loopback_listen()). */
int setup_listener_open(struct setup_test *t, int backlog, unsigned short *port,
			struct sockaddr_storage *ss, socklen_t *len);
/* A non-blocking client whose connect() to @ss is under way; or -1. */
int setup_connect_start(struct setup_test *t, const struct sockaddr_storage *ss,
			socklen_t len);
/* sock_close_rst() each of @fds and set it to -1. */
void setup_close_all(int *fds, unsigned long n);
/*
 * Poll until @want sockets are in @state on @lport, or with @rxq until
 * the listener's accept backlog is @want; returns the last count.
 */
long setup_wait_proc(struct setup_test *t, unsigned short lport, int state,
		     long want, long *rxq);
/*
 * main() of a connection-setup program: -4, -6, -t and the program's own
 * options, then one test per address family.
 */
int setup_main(int argc, char **argv, const struct setup_prog *p);

#endif /* LIB_SETUP_H */
