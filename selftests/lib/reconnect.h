/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A client that connects again and again from one fixed source port
 * (tcp_tw_race, tcp_stale_peer, tcp_stale_ack), so each new connection
 * meets what the previous one left behind: a timewait socket or a stale
 * peer.  reconnect() times the connect() and says how it met that peer;
 * reconnect_close_stale() ends a connection so that the server side is
 * left as a stale FIN_WAIT2 timewait socket when the client's RST/ACK is
 * lost (nft_drop_rst()).
 */
#ifndef LIB_RECONNECT_H
#define LIB_RECONNECT_H

#include <stdbool.h>
#include <stdio.h>

#include "time.h"

/* Connect attempts refused by a stale timewait socket before giving up. */
#define RECONNECT_MAX_REFUSED		3
/* How long the server waits for its socket to reach FIN_WAIT2. */
#define RECONNECT_FIN_WAIT2_NS		(5 * NSEC_PER_SEC)
/* Socket send/receive timeout, generous for slow (TCG) virtual machines. */
#define RECONNECT_IO_TIMEOUT_S		10
/* A SYN retransmitted this late was dropped, not answered by a stale ACK. */
#define RECONNECT_SLOW_SYN_NS		(500 * NSEC_PER_MSEC)

/* How a connect() met a stale peer (reconnect()). */
#define HIT_SYN_RTX		0x1	/* its SYN was retransmitted */
#define HIT_SYN_RST		0x2	/* a timewait socket answered with a RST */
#define HIT_SYN_LATE		0x4	/* ... retransmitted after >= 500 ms */

struct reconnect_client {
	int family;
	unsigned short sport;	/* server port */
	unsigned short cport;	/* client port, chosen by the first socket */
	bool rst_close;		/* SO_LINGER {1, 0}: close() sends a RST/ACK */
	char err[256];
};

/* Say in @c->err why the client failed. */
#define reconnect_fail(c, fmt, ...) \
	snprintf((c)->err, sizeof((c)->err), "client: " fmt, ##__VA_ARGS__)

/* A socket bound to the fixed client port (chosen by the first call). */
int reconnect_socket(struct reconnect_client *c);
/*
 * Connect from the fixed port to the server; the socket or -1.  *flags
 * says how the connect() met a stale peer: a timewait socket refused the
 * SYN (HIT_SYN_RST, connect() is retried), or the SYN was retransmitted
 * (HIT_SYN_RTX): answered by a stale ACK, which the client resets and
 * resends its SYN after TCP_TIMEOUT_MIN, or not answered at all (resent
 * after the initial RTO, HIT_SYN_LATE).  Nothing else retransmits on an
 * idle loopback.  *rtx gets tcpi_total_retrans right after connect().
 */
int reconnect(struct reconnect_client *c, bool first, unsigned long long *lat,
	      unsigned int *flags, unsigned int *rtx);

/*
 * The server of a stale-peer client: a blocking listener on loopback, any
 * port, into @c->sport; the socket, or -1 with errno and @c->err set.
 */
int reconnect_listen(struct reconnect_client *c);
/*
 * End the connection @cfd (the client, SO_LINGER {1, 0}) to the listener
 * @lfd: accept it, exchange 4 bytes (@pattern), let the server shut down
 * its sending side, acknowledge its FIN at once (TCP_QUICKACK), wait for
 * the server socket to reach FIN_WAIT2 and close it (orphaned, it becomes
 * a FIN_WAIT2 timewait socket), then close the client with a RST/ACK.
 * Closes @cfd; 0, or -1 with @c->err set.
 */
int reconnect_close_stale(struct reconnect_client *c, int lfd, int cfd,
			  unsigned int pattern);

#endif /* LIB_RECONNECT_H */
