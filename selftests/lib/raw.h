/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A raw TCP peer, a tiny packetdrill: a test plays the remote end of a
 * connection with a kernel socket by writing and reading Ethernet frames
 * on a veth wire, so it can send any segment (odd flags, any sequence
 * number) and see every reply.  raw_wire_setup() builds the wire in the
 * caller's network namespace; the peer's addresses are never configured,
 * so the local stack never answers for it.
 */
#ifndef LIB_RAW_H
#define LIB_RAW_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/if_ether.h>
#include <sys/socket.h>

#include "kselftest.h"

/* TCP header flags of struct raw_seg. */
#define RAW_FIN		0x01
#define RAW_SYN		0x02
#define RAW_RST		0x04
#define RAW_PSH		0x08
#define RAW_ACK		0x10
#define RAW_URG		0x20
#define RAW_ALL		0xff

/* One segment, sent or received (payload: @len bytes of 'x'). */
struct raw_seg {
	int flags;
	unsigned int seq, ack, win, len;
	unsigned int tsval;		/* received: its TSval, when @ts */
	bool ts;
};

/* The peer of one address family: a packet socket on veth1. */
struct raw_peer {
	int family, pkt, ifindex;
	int lfd;			/* the kernel's listener on RAW_KPORT */
	unsigned char mac0[ETH_ALEN], mac1[ETH_ALEN];
};

/* The peer's end of one connection with a kernel socket. */
struct raw_conn {
	struct raw_peer *p;
	int fd;				/* the kernel's socket, -1: none */
	unsigned short kport, pport;	/* kernel's and peer's port */
	unsigned int K, P;		/* kernel's snd_nxt and rcv_nxt */
	unsigned int kts;		/* last TSval seen from the kernel */
	unsigned int pts;		/* the peer's last TSval */
	bool ts;			/* raw_send_ts() adds timestamps */
	char why[160];			/* why the last call failed */
};

/* TCP states a connection is driven to; TW: timewait sockets. */
enum raw_state { RAW_ST_SYN_SENT, RAW_ST_SYN_RECV, RAW_ST_EST, RAW_ST_FW1,
	RAW_ST_FW2, RAW_ST_CLOSING, RAW_ST_CW, RAW_ST_LA, RAW_ST_TW,
	RAW_ST_TWFW2, RAW_ST_NUM };

#define RAW_KPORT	8000		/* the kernel's listener */
#define RAW_PPORT	20000		/* the peer's port to it */
#define RAW_PPORT_SYN	9000		/* kernel connect()s here (SYN_SENT) */

/*
 * In the current namespace: sysctls for determinism (challenge ACKs and
 * out-of-window ACKs not rate-limited, no syncookies), veth0 with the kernel's addresses (10.0.0.1,
 * fd00::1), veth1 without any (the peer's wire), static neighbours for
 * the peer (10.0.0.2, fd00::2) on veth1's MAC, and routes to the peer
 * with quickack and rto_min 5 s (no delayed ACK to wait for, no
 * retransmission inside a short exchange).  0, or -1 with @why.
 */
int raw_wire_setup(char *why, size_t sz);
/* The kernel's (@kernel) or the peer's address of @family at @a. */
void raw_addr(int family, bool kernel, void *a);
/* That address and @port as a sockaddr; its length. */
socklen_t raw_sockaddr(int family, bool kernel, unsigned short port,
		       struct sockaddr_storage *ss);
/*
 * Open the peer of @family on the wire, and the kernel's listener on
 * RAW_KPORT; 0, or -1 with @why.
 */
int raw_peer_open(struct raw_peer *p, int family, char *why, size_t sz);
void raw_peer_close(struct raw_peer *p);

/* Say why in @c->why (printf format); returns -1. */
__printf(2, 3) int raw_fail(struct raw_conn *c, const char *fmt, ...);
/* Send @s with TCP options @opt (@optlen, a multiple of 4, <= 40). */
int raw_send_opt(struct raw_conn *c, const struct raw_seg *s,
		 const unsigned char *opt, int optlen);
/* Send @s, with raw_mss_opt when @mss. */
int raw_send(struct raw_conn *c, const struct raw_seg *s, bool mss);
/* Send @s, with the timestamps option when @c->ts. */
int raw_send_ts(struct raw_conn *c, const struct raw_seg *s);
/* The timestamps option (NOP, NOP, TS) at @o: a new TSval; its length. */
int raw_ts_opt(struct raw_conn *c, unsigned char *o);
/*
 * The next segment from the kernel's port to the peer's before @until
 * (time_ns()); 1 got one, 0 none.  Checksums are not verified.
 */
int raw_recv(struct raw_conn *c, struct raw_seg *s, unsigned long long until);
/* Wait 2 s for a segment of exactly @flags (and @seq when @chk_seq). */
int raw_wait(struct raw_conn *c, int flags, bool chk_seq, unsigned int seq,
	     struct raw_seg *s, const char *what);
/*
 * Wait 5 s for the kernel's SYN (a first one, or a resend of @c->K - 1)
 * and, with @rst, the RST it sent for an ACK of @rst_seq; 0 and @c->K
 * set, with @at when the SYN came, or -1 with @c->why (after @what).
 */
int raw_wait_syn(struct raw_conn *c, bool rst, unsigned int rst_seq,
		 unsigned long long *at, const char *what);
/*
 * Answer the kernel's SYN with a SYN-ACK (MSS 1400, timestamps when @ts,
 * no SACK, no window scaling); wait for its ACK and connect() to finish.
 */
int raw_synack(struct raw_conn *c, bool ts);
/* Send @len bytes at @seq and wait for the kernel's ACK (in @r). */
int raw_data_ack(struct raw_conn *c, unsigned int seq, unsigned int len,
		 struct raw_seg *r);
/* Drop whatever arrives for @c within @ns. */
void raw_drain(struct raw_conn *c, unsigned long long ns);
/*
 * @n segments @r as text stable across runs and kernels: flags, then
 * seq and ack relative to @c->K and @c->P ("SA@s-1a+1", "none").
 */
void raw_segs_str(char *out, size_t sz, const struct raw_conn *c,
		  const struct raw_seg *r, int n);

/*
 * The state of @c's kernel socket in /proc/net/tcp{,6}: an enum
 * raw_state, -1 gone, -2 another state.
 */
int raw_sock_state(struct raw_conn *c);
/* "SYN_SENT" ... "TW-FIN_WAIT2" for an enum raw_state, "gone", "other". */
const char *raw_state_name(int st);
/* Poll until the socket is in @want (at most 2 s); the last state seen. */
int raw_wait_state(struct raw_conn *c, int want);
/* The kernel connect()s @c->fd, without waiting, to the peer's @pport. */
int raw_connect(struct raw_conn *c, unsigned short pport);
/*
 * Drive @c to @st, the peer's SYN to the listener carrying the options @opt
 * (@optlen bytes; NULL: MSS 1400 only); SYN_SENT: the kernel connect()s to RAW_PPORT_SYN, the
 * peer sees its SYN and answers nothing.  The peer's port is @c->pport, or
 * RAW_PPORT when it is 0.  0 or -1 with @c->why.
 */
int raw_reach(struct raw_conn *c, int st, const unsigned char *opt, int optlen);

#endif /* LIB_RAW_H */
