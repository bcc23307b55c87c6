// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists: the series changes what tcp_v4_rcv()/tcp_v6_rcv()
 * do with segments that meet a closing or timewait socket (issue 17: "bad
 * input: malformed segments").  This test sends malformed segments (RSTs
 * in and out of the window, SYNs, odd flag combinations, out-of-window
 * FIN and data, ACKs of data never sent) at a kernel socket in every
 * state from SYN_SENT to both timewait substates, over IPv4 and IPv6, and
 * checks the reply and the socket state against RFC 793/9293 and 5961.
 *
 * The program is the remote peer, a tiny packetdrill: in a network
 * namespace of its own, veth0 carries the kernel's addresses (10.0.0.1,
 * fd00::1) and static neighbour entries for the peer (10.0.0.2, fd00::2)
 * pointing at veth1, which has no address, no IPv6 and no forwarding, so
 * the local stack drops what arrives there.  The peer reads and writes
 * raw frames on veth1 (AF_PACKET) and knows every sequence number.
 *
 * Each case first asserts that the socket was in the intended state
 * ("setup failed" otherwise), then the verdict: pass (RFC behaviour),
 * XFAIL (a known upstream deviation, named), fail.  Cases without an RFC
 * verdict are observations.  One "# CASE" line per case lets a script
 * diff two kernels (scripts/measure/bad-segments-ab).
 *
 * Then the stale-ACK cases of SYN_SENT (issue 30, patch 0004): the peer
 * answers the kernel's SYN with ACKs that do not acknowledge it, one to
 * three, after a timer retransmission or while the SYN is still held in
 * a netem queue (its resend fails with -EBUSY), then completes the
 * handshake without SACK and window scaling and checks that no
 * retransmission is left counted (tcpi_retrans), that data flows both
 * ways across duplicate ACKs in CA_Open, and the resend counters.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <poll.h>
#include <sys/ioctl.h>

#include "kselftest.h"
#include "lib/cmd.h"
#include "lib/csum.h"
#include "lib/mib.h"
#include "lib/netns.h"
#include "lib/opt.h"
#include "lib/sock.h"
#include "lib/sysctl.h"
#include "lib/tap.h"
#include "lib/time.h"

#define WAIT_NS		(250 * NSEC_PER_MSEC)	/* replies to one segment */
#define OOW		0x40000000U		/* far outside any window */
#define UNSENT		100000U			/* acks data never sent */
#define KPORT		8000			/* kernel listener */
#define PPORT_SYN_SENT	9000			/* kernel connect()s here */
#define MAXREP		4
#define POLL_NS		(5 * NSEC_PER_MSEC)	/* socket state polls */

enum { S_SYN_SENT, S_SYN_RECV, S_EST, S_FW1, S_FW2, S_CLOSING, S_CW, S_LA,
	S_TW, S_TWFW2, S_NUM };

/* Name, /proc st value, and whether it is a timewait socket. */
static const struct { const char *name; int st; bool tw; } states[] = {
	{ "SYN_SENT", 2, false }, { "SYN_RECV", 3, false },
	{ "ESTABLISHED", 1, false }, { "FIN_WAIT1", 4, false },
	{ "FIN_WAIT2", 5, false }, { "CLOSING", 11, false },
	{ "CLOSE_WAIT", 8, false }, { "LAST_ACK", 9, false },
	{ "TW-TIME_WAIT", 6, true }, { "TW-FIN_WAIT2", 5, true },
};

#define F_FIN	0x01
#define F_SYN	0x02
#define F_RST	0x04
#define F_PSH	0x08
#define F_ACK	0x10
#define F_URG	0x20
#define F_ALL	0xff

enum { Q_EXACT, Q_INWIN, Q_OOW };	/* seq: rcv_nxt, rcv_nxt + 1, far */

static const struct bad { const char *name; int flags, seq, len; bool unsent; }
cases[] = {
	{ .name = "rst-exact", .flags = F_RST, .seq = Q_EXACT },
	{ .name = "rst-inwin", .flags = F_RST, .seq = Q_INWIN },
	{ .name = "rst-oow", .flags = F_RST, .seq = Q_OOW },
	{ .name = "syn", .flags = F_SYN, .seq = Q_EXACT },
	{ .name = "syn-rst", .flags = F_SYN | F_RST, .seq = Q_EXACT },
	{ .name = "syn-fin", .flags = F_SYN | F_FIN, .seq = Q_EXACT },
	{ .name = "fin-rst", .flags = F_FIN | F_RST, .seq = Q_EXACT },
	{ .name = "noflags", .flags = 0, .seq = Q_EXACT },
	{ .name = "allflags", .flags = F_ALL, .seq = Q_EXACT },
	{ .name = "fin-oow", .flags = F_FIN | F_ACK, .seq = Q_OOW },
	{ .name = "ack-unsent", .flags = F_ACK, .seq = Q_EXACT, .unsent = true },
	{ .name = "data-oow", .flags = F_PSH | F_ACK, .seq = Q_OOW, .len = 10 },
};

#define NCASES	ARRAY_SIZE(cases)

/* Expected reply (first frame) and state afterwards; E_ANY: no verdict. */
enum { E_ANY, E_NONE, E_ACK, E_RST };
enum { A_ANY, A_SAME, A_GONE };

struct expect {
	int reply, state;		/* RFC */
	int dreply, dstate;		/* known upstream deviation, if any */
	const char *why;
};

struct seg {
	int flags;
	unsigned int seq, ack, win, len;
	unsigned int tsval;		/* received: its TSval, when ts */
	bool ts;
};

struct peer {
	int family, pkt, lfd, ifindex;
	unsigned char mac0[ETH_ALEN], mac1[ETH_ALEN];
};

struct conn {
	struct peer *p;
	int fd;				/* kernel socket, -1 when closed */
	unsigned short kport, pport;
	unsigned int K, P;		/* kernel snd_nxt, kernel rcv_nxt */
	unsigned int kts;		/* last TSval seen from the kernel */
	unsigned int pts;		/* the peer's last TSval */
	bool ts;			/* the peer sends timestamps */
	char why[160];
};

static unsigned short next_pport = 20000;

/* ---- frames ------------------------------------------------------------- */

static void addrs(int family, bool kernel, void *a)
{
	inet_pton(family, family == AF_INET ? (kernel ? "10.0.0.1" : "10.0.0.2")
		  : (kernel ? "fd00::1" : "fd00::2"), a);
}

/* Send one segment from the peer with TCP options @opt (@optlen, 4n bytes). */
static int send_seg_opt(struct conn *c, const struct seg *s,
			const unsigned char *opt, int optlen)
{
	unsigned char f[512] = {}, *ip = f + ETH_HLEN, *th;
	int v4 = c->p->family == AF_INET, iplen = v4 ? 20 : 40;
	int thlen = 20 + optlen, tlen = thlen + s->len;
	unsigned int sum;

	if (optlen % 4 || optlen > 40 || ETH_HLEN + iplen + tlen > (int)sizeof(f)) {
		snprintf(c->why, sizeof(c->why), "segment too large");
		return -1;
	}
	memcpy(f, c->p->mac0, ETH_ALEN);
	memcpy(f + ETH_ALEN, c->p->mac1, ETH_ALEN);
	f[12] = v4 ? 0x08 : 0x86;
	f[13] = v4 ? 0x00 : 0xdd;
	if (v4) {
		ip[0] = 0x45;
		ip[2] = (iplen + tlen) >> 8;
		ip[3] = (iplen + tlen) & 0xff;
		ip[6] = 0x40;				/* DF */
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		addrs(AF_INET, false, ip + 12);
		addrs(AF_INET, true, ip + 16);
		memcpy(ip + 10, (unsigned short[]){ csum_fold(csum_add(0, ip, 20)) }, 2);
		sum = csum_add(0, ip + 12, 8) + IPPROTO_TCP + tlen;
	} else {
		ip[0] = 0x60;
		ip[4] = tlen >> 8;
		ip[5] = tlen & 0xff;
		ip[6] = IPPROTO_TCP;
		ip[7] = 64;
		addrs(AF_INET6, false, ip + 8);
		addrs(AF_INET6, true, ip + 24);
		sum = csum_add(0, ip + 8, 32) + IPPROTO_TCP + tlen;
	}
	th = ip + iplen;
	th[0] = c->pport >> 8;
	th[1] = c->pport & 0xff;
	th[2] = c->kport >> 8;
	th[3] = c->kport & 0xff;
	*(unsigned int *)(th + 4) = htonl(s->seq);
	*(unsigned int *)(th + 8) = htonl(s->flags & F_ACK ? s->ack : 0);
	th[12] = (thlen / 4) << 4;
	th[13] = s->flags;
	th[14] = 0xff;					/* window 65535 */
	th[15] = 0xff;
	if (optlen)
		memcpy(th + 20, opt, optlen);
	memset(th + thlen, 'x', s->len);
	sum = csum_add(sum, th, tlen);
	memcpy(th + 16, (unsigned short[]){ csum_fold(sum) }, 2);
	if (send(c->p->pkt, f, ETH_HLEN + iplen + tlen, 0) < 0) {
		snprintf(c->why, sizeof(c->why), "send: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The peer's SYN options: MSS 1400. */
static const unsigned char mss_opt[] = { 2, 4, 1400 >> 8, 1400 & 0xff };

/* Send one segment from the peer to the kernel socket of @c. */
static int send_seg(struct conn *c, const struct seg *s, bool mss)
{
	return send_seg_opt(c, s, mss_opt, mss ? sizeof(mss_opt) : 0);
}

/* The timestamps option (NOP, NOP, TS) at @o: a new TSval, the kernel's last. */
static int ts_opt(struct conn *c, unsigned char *o)
{
	unsigned int v = htonl(++c->pts), e = htonl(c->kts);

	o[0] = 1;
	o[1] = 1;
	o[2] = 8;
	o[3] = 10;
	memcpy(o + 4, &v, 4);
	memcpy(o + 8, &e, 4);
	return 12;
}

/* Send one segment, with timestamps when the connection has them. */
static int send_peer(struct conn *c, const struct seg *s)
{
	unsigned char o[12];

	return c->ts ? send_seg_opt(c, s, o, ts_opt(c, o)) : send_seg_opt(c, s, NULL, 0);
}

/* The timestamps option of the TCP header at @th (frame ends at @end). */
static void parse_ts(struct conn *c, struct seg *s, const unsigned char *th,
		     const unsigned char *end)
{
	int thlen = (th[12] >> 4) * 4, i = 20, len;
	unsigned int v;

	s->ts = false;
	while (i < thlen && th + i < end && th[i]) {
		if (th[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= thlen || th + i + 1 >= end)
			break;
		len = th[i + 1];
		if (len < 2 || i + len > thlen || th + i + len > end)
			break;
		if (th[i] == 8 && len == 10) {
			memcpy(&v, th + i + 2, 4);
			s->tsval = ntohl(v);
			s->ts = true;
			c->kts = s->tsval;
		}
		i += len;
	}
}

/*
 * Next TCP segment from kernel port @c->kport to the peer's port
 * @c->pport within @until; 1 got one, 0 none.
 * Checksums are not verified: veth may leave them partial.
 */
static int recv_seg(struct conn *c, struct seg *s, unsigned long long until)
{
	unsigned char f[2048], *ip, *th, a[16];
	struct sockaddr_ll sll;
	int v4 = c->p->family == AF_INET, iplen = v4 ? 20 : 40, plen;
	unsigned long long now;
	struct pollfd pfd = { .fd = c->p->pkt, .events = POLLIN };
	socklen_t sl;
	ssize_t n;

	for (;;) {
		now = time_ns();
		if (now >= until)
			return 0;
		if (poll(&pfd, 1, (until - now) / NSEC_PER_MSEC + 1) <= 0)
			continue;
		sl = sizeof(sll);
		n = recvfrom(c->p->pkt, f, sizeof(f), MSG_DONTWAIT,
			     (struct sockaddr *)&sll, &sl);
		if (n < ETH_HLEN + iplen + 20 || sll.sll_pkttype == PACKET_OUTGOING)
			continue;
		ip = f + ETH_HLEN;
		if (ntohs(*(unsigned short *)(f + 12)) != (v4 ? ETH_P_IP : ETH_P_IPV6))
			continue;
		addrs(c->p->family, false, a);
		if (v4) {
			iplen = (ip[0] & 0xf) * 4;
			plen = ((ip[2] << 8) | ip[3]) - iplen;
			if (ip[9] != IPPROTO_TCP || memcmp(ip + 16, a, 4))
				continue;
		} else {
			plen = (ip[4] << 8) | ip[5];
			if (ip[6] != IPPROTO_TCP || memcmp(ip + 24, a, 16))
				continue;
		}
		th = ip + iplen;
		if (((th[2] << 8) | th[3]) != c->pport ||
		    ((th[0] << 8) | th[1]) != c->kport)
			continue;
		s->seq = ntohl(*(unsigned int *)(th + 4));
		s->ack = ntohl(*(unsigned int *)(th + 8));
		s->flags = th[13];
		s->win = (th[14] << 8) | th[15];
		s->len = plen - (th[12] >> 4) * 4;
		parse_ts(c, s, th, f + n);
		return 1;
	}
}

/* Wait for a segment with exactly @flags (and @seq when @chk_seq). */
static int wait_seg(struct conn *c, int flags, bool chk_seq, unsigned int seq,
		    struct seg *s, const char *what)
{
	unsigned long long until = time_ns() + 2 * NSEC_PER_SEC;

	while (recv_seg(c, s, until))
		if (s->flags == flags && (!chk_seq || s->seq == seq))
			return 0;
	snprintf(c->why, sizeof(c->why), "no %s from the kernel", what);
	return -1;
}

/* ---- socket state --------------------------------------------------------- */

/* /proc state of the socket of @c: index into states[], -1 gone, -2 other. */
static int sock_state(struct conn *c)
{
	FILE *f = fopen(c->p->family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6", "r");
	unsigned int lp, rp, st, tr;
	char line[512];
	bool tw;
	int i, ret = -1;

	if (!f)
		return -2;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%x %x %*x:%*x %x",
			   &lp, &rp, &st, &tr) != 4 || lp != c->kport || rp != c->pport)
			continue;
		ret = -2;
		tw = tr == 3;	/* the timewait timer */
		for (i = 0; i < S_NUM; i++)
			if ((int)st == states[i].st && states[i].tw == tw)
				ret = i;
		break;
	}
	fclose(f);
	return ret;
}

static const char *state_name(int i)
{
	return i >= 0 ? states[i].name : i == -1 ? "gone" : "other";
}

/* Poll until the socket is in @want (at most 2 s); the last state seen. */
static int wait_state(struct conn *c, int want)
{
	unsigned long long until = time_ns() + 2 * NSEC_PER_SEC;
	int st;

	while ((st = sock_state(c)) != want && time_ns() < until)
		time_sleep_ns(POLL_NS);
	return st;
}

/* ---- reaching a state ----------------------------------------------------- */

static int ack_it(struct conn *c, unsigned int ack)
{
	struct seg s = { .flags = F_ACK, .seq = c->P, .ack = ack };

	return send_seg(c, &s, false);
}

static int peer_fin(struct conn *c, unsigned int ack)
{
	struct seg s = { .flags = F_FIN | F_ACK, .seq = c->P, .ack = ack }, r;

	if (send_seg(c, &s, false))
		return -1;
	c->P++;
	return wait_seg(c, F_ACK, true, c->K, &r, "ACK of the peer's FIN") ||
	       r.ack != c->P;
}

static int kernel_fin(struct conn *c, bool do_close)
{
	struct seg r;

	if (do_close) {
		close(c->fd);
		c->fd = -1;
	} else if (shutdown(c->fd, SHUT_WR)) {
		snprintf(c->why, sizeof(c->why), "shutdown: %s", strerror(errno));
		return -1;
	}
	if (wait_seg(c, F_FIN | F_ACK, true, c->K, &r, "FIN"))
		return -1;
	c->K++;
	return 0;
}

/* The kernel connect()s, without waiting, to the peer's port @c->pport. */
static int kernel_connect(struct conn *c)
{
	struct sockaddr_storage ss = { .ss_family = c->p->family };
	struct sockaddr_in *s4 = (void *)&ss;
	struct sockaddr_in6 *s6 = (void *)&ss;

	c->fd = socket(c->p->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	if (c->p->family == AF_INET) {
		s4->sin_port = htons(c->pport);
		addrs(AF_INET, false, &s4->sin_addr);
	} else {
		s6->sin6_port = htons(c->pport);
		addrs(AF_INET6, false, &s6->sin6_addr);
	}
	if (connect(c->fd, (struct sockaddr *)&ss, sizeof(ss)) && errno != EINPROGRESS) {
		snprintf(c->why, sizeof(c->why), "connect: %s", strerror(errno));
		return -1;
	}
	if (sock_local_port(c->fd, &c->kport) || !c->kport) {
		snprintf(c->why, sizeof(c->why), "getsockname: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The kernel connect()s to the peer; we see its SYN and answer nothing. */
static int to_syn_sent(struct conn *c)
{
	struct seg r;

	c->pport = PPORT_SYN_SENT;
	if (kernel_connect(c) || wait_seg(c, F_SYN, false, 0, &r, "SYN"))
		return -1;
	c->K = r.seq + 1;
	c->P = random();	/* the peer's ISN + 1, never sent */
	return 0;
}

/*
 * Drive the connection of @c to state @st, the peer's SYN carrying the
 * options @opt (@optlen bytes); 0 or -1 with c->why.
 */
static int reach_opt(struct conn *c, int st, const unsigned char *opt, int optlen)
{
	struct seg s = { .flags = F_SYN }, r;

	if (st == S_SYN_SENT)
		return to_syn_sent(c);
	c->kport = KPORT;
	c->pport = next_pport++;
	s.seq = random();
	if (send_seg_opt(c, &s, opt, optlen) ||
	    wait_seg(c, F_SYN | F_ACK, false, 0, &r, "SYN-ACK"))
		return -1;
	c->P = s.seq + 1;
	c->K = r.seq + 1;
	if (r.ack != c->P) {
		snprintf(c->why, sizeof(c->why), "SYN-ACK acks %u, not %u", r.ack, c->P);
		return -1;
	}
	if (st == S_SYN_RECV)
		return 0;
	if (ack_it(c, c->K))
		return -1;
	c->fd = sock_accept_one(c->p->lfd, 2 * NSEC_PER_SEC);
	if (c->fd < 0) {
		snprintf(c->why, sizeof(c->why), "accept: %s", strerror(errno));
		return -1;
	}
	switch (st) {
	case S_FW1:
		return kernel_fin(c, false);
	case S_FW2:
		return kernel_fin(c, false) || ack_it(c, c->K);
	case S_CLOSING:
		return kernel_fin(c, false) || peer_fin(c, c->K - 1);
	case S_CW:
		return peer_fin(c, c->K);
	case S_LA:
		return peer_fin(c, c->K) || kernel_fin(c, false);
	case S_TW:
		return kernel_fin(c, false) || ack_it(c, c->K) || peer_fin(c, c->K);
	case S_TWFW2:
		/* An orphan acked in FIN_WAIT1 becomes a FIN_WAIT2 timewait sock. */
		return kernel_fin(c, true) || ack_it(c, c->K);
	}
	return 0;
}

/* Drive the connection of @c to state @st, the peer's SYN with MSS only. */
static int reach(struct conn *c, int st)
{
	return reach_opt(c, st, mss_opt, sizeof(mss_opt));
}

/* ---- expectations ----------------------------------------------------------- */

static void set_exp(struct expect *e, int reply, int state)
{
	memset(e, 0, sizeof(*e));
	e->reply = reply;
	e->state = state;
}

static void dev(struct expect *e, int reply, int state, const char *why)
{
	e->dreply = reply;
	e->dstate = state;
	e->why = why;
}

/*
 * RFC 9293 3.10.7 with RFC 5961 (3.2 RST, 4.2 SYN, 5.2 ACK); deviations of
 * upstream Linux found by reading tcp_input.c, tcp_minisocks.c.
 */
static void expect(int st, const char *cs, struct expect *e)
{
	set_exp(e, E_ANY, A_ANY);
	if (!strcmp(cs, "rst-exact"))
		set_exp(e, E_NONE, A_GONE);
	else if (!strcmp(cs, "rst-oow") || !strcmp(cs, "noflags"))
		set_exp(e, E_NONE, A_SAME);
	else if (!strcmp(cs, "rst-inwin") || !strcmp(cs, "fin-oow") ||
		 !strcmp(cs, "data-oow") || !strcmp(cs, "ack-unsent") ||
		 !strcmp(cs, "syn"))
		set_exp(e, E_ACK, A_SAME);

	switch (st) {
	case S_SYN_SENT:
		/* Not synchronized: drop unless SYN, or ACK unacceptable. */
		if (!strcmp(cs, "rst-inwin") || !strcmp(cs, "fin-oow") ||
		    !strcmp(cs, "data-oow"))
			set_exp(e, E_NONE, A_SAME);
		else if (!strcmp(cs, "ack-unsent"))
			set_exp(e, E_RST, A_SAME);	/* <SEQ=SEG.ACK><RST> */
		else if (!strcmp(cs, "syn"))
			set_exp(e, E_ANY, A_ANY);	/* simultaneous open */
		break;
	case S_SYN_RECV:
		if (!strcmp(cs, "ack-unsent"))
			set_exp(e, E_RST, A_SAME);
		else if (!strcmp(cs, "syn"))
			set_exp(e, E_ANY, A_ANY);	/* RFC 793 vs 5961 */
		else if (!strcmp(cs, "rst-inwin"))
			dev(e, E_NONE, A_GONE,
			    "tcp_check_req() takes any in-window RST");
		break;
	case S_EST:
		if (!strcmp(cs, "ack-unsent"))
			dev(e, E_NONE, A_SAME,
			    "tcp_ack() drops SEG.ACK > SND.NXT silently (6.12; 7.3 sends a challenge ACK)");
		break;
	case S_TW:
		if (!strcmp(cs, "rst-inwin"))
			dev(e, E_NONE, A_SAME,
			    "timewait ignores an RST that is not exactly rcv_nxt");
		else if (!strcmp(cs, "ack-unsent"))
			set_exp(e, E_ANY, A_ANY);	/* RFC: only a FIN arrives */
		break;
	case S_TWFW2:
		if (!strcmp(cs, "rst-inwin"))
			dev(e, E_NONE, A_GONE,
			    "FIN_WAIT2 timewait takes any in-window RST");
		else if (!strcmp(cs, "rst-oow"))
			dev(e, E_ACK, A_SAME,
			    "FIN_WAIT2 timewait ACKs an out-of-window RST");
		else if (!strcmp(cs, "syn"))
			dev(e, E_RST, A_GONE,
			    "FIN_WAIT2 timewait answers an in-window SYN with RST");
		else if (!strcmp(cs, "ack-unsent"))
			dev(e, E_NONE, A_SAME,
			    "timewait does not check SEG.ACK against SND.NXT");
		break;
	}
}

/* ---- one case ---------------------------------------------------------------- */

static const char * const reply_cls_name[] = { "any", "none", "ack", "rst" };

static int reply_class(const struct seg *r, int n)
{
	if (!n)
		return E_NONE;
	if (r[0].flags & F_RST)
		return E_RST;
	if (r[0].flags == F_ACK)
		return E_ACK;
	return E_ANY;
}

/*
 * Relative value for the CASE line: stable across runs and kernels.  A zero
 * (the sequence number of a RST that answers a segment without ACK) is
 * printed as such before any offset: with a random base below 2^24, it
 * would otherwise read as an offset, once in 256 runs.
 */
static void rel(char *buf, size_t sz, const char *k, unsigned int v,
		unsigned int base)
{
	int d = (int)(v - base);

	if (v && d > -(1 << 24) && d < (1 << 24))
		snprintf(buf, sz, "%s%+d", k, d);
	else
		snprintf(buf, sz, "%s=%s", k, v ? "x" : "0");
}

static void reply_str(char *out, size_t sz, const struct conn *c,
		      const struct seg *r, int n)
{
	static const char fl[] = "FSRPAU";
	char sq[24], ak[24];
	size_t len = 0;
	int i, b;

	if (!n)
		snprintf(out, sz, "none");
	for (i = 0; i < n && len < sz; i++) {
		len += snprintf(out + len, sz - len, "%s", i ? "," : "");
		for (b = 0; b < 6 && len < sz; b++)
			if (r[i].flags & (1 << b))
				out[len++] = fl[b];
		rel(sq, sizeof(sq), "s", r[i].seq, c->K);
		rel(ak, sizeof(ak), "a", r[i].ack, c->P);
		len += snprintf(out + len, sz - len, "@%s%s%s", sq,
				r[i].flags & F_ACK ? ak : "",
				r[i].len ? "+data" : "");
	}
}

/*
 * Counters printed per case: RFC 5961 answers, the series' re-lookup (never
 * meant to move for a segment sent to an idle socket), SYN retransmissions
 * and timer expiries (the stale-ACK cases judge patch 0004's resends by the
 * socket's own tcpi_total_retrans and tcpi_total_rto).
 */
static const char * const watch[] = {
	"TCPChallengeACK", "TCPClosedRelookup", "TCPSYNChallenge",
	"TCPSynRetrans", "TCPTimeouts",
};

/* Tcp: OutRsts of /proc/net/snmp (v4 and v6 share it); -1 if absent. */
static long long out_rsts(void)
{
	char hdr[1024], val[1024], *h, *v, *hs, *vs;
	long long ret = -1;
	FILE *f = fopen("/proc/net/snmp", "r");

	if (!f)
		return -1;
	while (fgets(hdr, sizeof(hdr), f) && fgets(val, sizeof(val), f)) {
		if (strncmp(hdr, "Tcp:", 4))
			continue;
		h = strtok_r(hdr + 4, MIB_DELIM, &hs);
		v = strtok_r(val + 4, MIB_DELIM, &vs);
		for (; h && v; h = strtok_r(NULL, MIB_DELIM, &hs),
		     v = strtok_r(NULL, MIB_DELIM, &vs))
			if (!strcmp(h, "OutRsts"))
				ret = strtoll(v, NULL, 10);
	}
	fclose(f);
	return ret;
}

/* Counters consistent with the replies seen?  NULL or what is wrong. */
static const char *check_counters(int st, const char *cs, const struct mib_snap *a,
				  const struct mib_snap *b, long long rst0,
				  const struct seg *r, int n, char *buf, size_t sz)
{
	long long chal = mib_delta(a, b, "TCPChallengeACK"), d;
	int i, acks = 0, rsts = 0;

	for (i = 0; i < n; i++) {
		acks += r[i].flags == F_ACK;
		rsts += !!(r[i].flags & F_RST);
	}
	if (chal > acks) {
		snprintf(buf, sz, "TCPChallengeACK +%lld but %d ACKs seen", chal, acks);
		return buf;
	}
	/* RFC 5961 answers of a full socket are counted as challenge ACKs. */
	if (st >= S_EST && st <= S_LA && acks && chal >= 0 && chal != 1 &&
	    (!strcmp(cs, "rst-inwin") || !strcmp(cs, "syn") ||
	     !strcmp(cs, "ack-unsent"))) {
		snprintf(buf, sz, "challenge ACK seen, TCPChallengeACK +%lld", chal);
		return buf;
	}
	if (rst0 >= 0 && out_rsts() - rst0 != rsts) {
		snprintf(buf, sz, "OutRsts +%lld but %d RSTs seen", out_rsts() - rst0, rsts);
		return buf;
	}
	d = mib_delta(a, b, "TCPClosedRelookup");
	if (d > 0) {
		snprintf(buf, sz, "TCPClosedRelookup +%lld, not meant to move here", d);
		return buf;
	}
	return NULL;
}

static void run_case(struct peer *p, int st, const struct bad *b)
{
	struct conn c = { .p = p, .fd = -1 };
	const char *fam = sock_family_name(p->family), *bad;
	struct mib_snap *ma = malloc(sizeof(*ma)), *mb = malloc(sizeof(*mb));
	char rs[256], cbuf[128];
	struct seg s, r[MAXREP], x;
	unsigned long long until;
	int n = 0, syn_rtx = 0, before, after, cls, want;
	struct expect e;
	long long rst0;
	bool ok, dv;

	if (!ma || !mb) {
		ksft_test_result_fail("%s %s %s: out of memory\n", fam,
				      states[st].name, b->name);
		goto out;
	}
	if (reach(&c, st)) {
		if (!c.why[0])
			snprintf(c.why, sizeof(c.why), "unexpected reply");
		goto setup_failed;
	}
	/* Nothing may be pending: drain, then the socket must be in @st. */
	while (recv_seg(&c, &x, time_ns() + 20 * NSEC_PER_MSEC))
		;
	before = wait_state(&c, st);
	if (before != st) {
		snprintf(c.why, sizeof(c.why), "socket %s, not %s",
			 state_name(before), states[st].name);
		goto setup_failed;
	}

	s.flags = b->flags;
	s.len = b->len;
	s.seq = c.P + (b->seq == Q_INWIN ? 1 : b->seq == Q_OOW ? OOW : 0);
	s.ack = c.K + (b->unsent ? UNSENT : 0);
	if (st == S_SYN_SENT && (!strcmp(b->name, "rst-exact") ||
				 !strcmp(b->name, "rst-oow"))) {
		/* RFC 5961 3.2: in SYN_SENT an RST counts by its ACK. */
		s.flags |= F_ACK;
		s.ack = c.K + (!strcmp(b->name, "rst-oow") ? UNSENT : 0);
	}
	mib_snapshot(ma);
	rst0 = out_rsts();
	if (send_seg(&c, &s, false))
		goto setup_failed;
	until = time_ns() + WAIT_NS;
	while (n < MAXREP && recv_seg(&c, &r[n], until)) {
		/*
		 * The SYN of SYN_SENT is resent by its timer (1 s, late under
		 * a loaded VM) or brought forward by an unacceptable ACK
		 * (2 jiffies; patch 0004: at once): counted, not compared.
		 */
		if (st == S_SYN_SENT && r[n].flags == F_SYN && r[n].seq == c.K - 1) {
			syn_rtx++;
			continue;
		}
		/* Timer retransmissions of the kernel's SYN-ACK or FIN. */
		if (r[n].seq == c.K - 1 &&
		    ((st == S_SYN_RECV && r[n].flags == (F_SYN | F_ACK)) ||
		     ((st == S_FW1 || st == S_CLOSING || st == S_LA) &&
		      (r[n].flags & F_FIN))))
			continue;
		n++;
	}
	after = sock_state(&c);
	mib_snapshot(mb);

	reply_str(rs, sizeof(rs), &c, r, n);
	cls = reply_class(r, n);
	ksft_print_msg("CASE %s %s %s reply=%s state=%s\n", fam, states[st].name,
		       b->name, rs, state_name(after));
	mib_print_deltas("  counters", ma, mb, watch, ARRAY_SIZE(watch), false);
	if (syn_rtx)
		ksft_print_msg("  SYN resent %d time(s), not compared\n", syn_rtx);

	expect(st, b->name, &e);
	want = e.state == A_SAME ? st : -1;
	ok = (e.reply == E_ANY || e.reply == cls) &&
	     (e.state == A_ANY || after == want);
	if (ok && e.reply == E_ACK && (r[0].seq != c.K || r[0].ack != c.P))
		ok = false;
	if (ok && e.reply == E_RST && st == S_SYN_SENT && r[0].seq != s.ack)
		ok = false;
	dv = !ok && e.why && e.dreply == cls &&
	     (e.dstate == A_ANY || after == (e.dstate == A_SAME ? st : -1));
	bad = check_counters(st, b->name, ma, mb, rst0, r, n, cbuf,
			     sizeof(cbuf));
	if (bad)
		ksft_test_result_fail("%s %s %s: counters: %s\n", fam,
				      states[st].name, b->name, bad);
	else if (ok)
		ksft_test_result_pass("%s %s %s%s\n", fam, states[st].name, b->name,
				      e.reply == E_ANY && e.state == A_ANY ?
				      " (observed, no RFC verdict)" : "");
	else if (dv)
		ksft_test_result_xfail("%s %s %s: upstream behaviour: %s\n", fam,
				       states[st].name, b->name, e.why);
	else
		ksft_test_result_fail("%s %s %s: reply %s state %s, RFC wants %s, %s\n",
				      fam, states[st].name, b->name, rs,
				      state_name(after), reply_cls_name[e.reply],
				      e.state == A_GONE ? "gone" :
				      e.state == A_SAME ? "unchanged" : "any state");
	goto out;

setup_failed:
	ksft_print_msg("CASE %s %s %s reply=setup-failed\n", fam, states[st].name,
		       b->name);
	ksft_test_result_fail("%s %s %s: setup failed: %s\n", fam, states[st].name,
			      b->name, c.why);
out:
	sock_close_rst(c.fd);
	free(ma);
	free(mb);
}

/* ---- SYN_SENT: stale ACKs before a SYN-ACK without SACK (issue 30) -------- */

/*
 * The kernel connect()s; the peer answers its SYN with ACKs that do not
 * acknowledge it, as a timewait socket of an earlier connection on the
 * 4-tuple does ("stale ACKs").  The kernel answers each with a RST and
 * sends its SYN again (at once, after 2 jiffies or at its RTO, by
 * kernel); the peer then completes the handshake with a SYN-ACK without
 * SACK and without window scaling, so that nothing cleans up the
 * retransmission counters after the handshake.  tcpi_retrans
 * (retrans_out) must then be 0: a leaked one overcounts the packets in
 * flight for the life of the connection, and the first duplicate ACK in
 * CA_Open WARNs in tcp_fastretrans_alert() (a panic on our VMs).  Then
 * data both ways, with duplicate ACKs from the peer in CA_Open.
 */
#define PPORT_STALE	9001			/* kernel connect()s here */
#define STALE_SYN_NS	(5 * NSEC_PER_SEC)	/* next SYN: at most its RTO */
#define HOLD_MS		5000			/* netem delay holding the SYN */
#define SHORT_TIMER_NS	(950 * NSEC_PER_MSEC)	/* below the 1 s initial RTO */
#define KDATA		100			/* bytes the kernel sends */
#define PDATA		50			/* bytes the peer sends */
#define DUPACKS		3			/* the first updates snd_wl1 */

static const struct stale {
	const char *name;
	int acks;		/* stale ACKs answered before the SYN-ACK */
	bool timer_first;	/* the first SYN is left to its RTO */
	bool ts;		/* SYN-ACK with timestamps (never SACK, wscale) */
	bool busy;		/* the first SYN is still in a host queue */
} stales[] = {
	{ .name = "stale1", .acks = 1, .ts = true },
	{ .name = "stale2", .acks = 2, .ts = true },
	{ .name = "stale2-nots", .acks = 2 },
	{ .name = "stale3", .acks = 3 },
	{ .name = "timer-stale1", .acks = 1, .timer_first = true },
	{ .name = "busy-stale3", .acks = 3, .busy = true },
};

#define NSTALES	ARRAY_SIZE(stales)

/* Send the duplicate ACKs even when tcpi_retrans says the kernel will WARN. */
static bool stale_warn;

/* SYNs this many times resent by patch 0004, not by the timer. */
static int stale_resends_want(const struct stale *t)
{
	int n = t->acks - t->busy;	/* a resend that could not be sent */

	return n < 2 ? n : 2;		/* at most two per connect() */
}

/*
 * Wait for the kernel's SYN (and, with @rst_seq, its RST for the stale ACK
 * whose ack was @rst_seq); 0 and c->K set, or -1 with c->why.  @at: when
 * the SYN came.
 */
static int stale_wait_syn(struct conn *c, bool rst, unsigned int rst_seq,
			  unsigned long long *at, const char *what)
{
	unsigned long long until = time_ns() + STALE_SYN_NS;
	bool got_rst = !rst, got_syn = false;
	struct seg r;

	while (!(got_rst && got_syn) && recv_seg(c, &r, until)) {
		if (rst && r.flags == F_RST && r.seq == rst_seq) {
			got_rst = true;
		} else if (r.flags == F_SYN && !got_syn &&
			   (!c->K || r.seq == c->K - 1)) {
			got_syn = true;
			c->K = r.seq + 1;
			*at = time_ns();
		}
	}
	if (got_rst && got_syn)
		return 0;
	snprintf(c->why, sizeof(c->why), "no %s from the kernel after %s",
		 got_syn ? "RST" : "SYN", what);
	return -1;
}

/* Poll until @fd's tcpi_retransmits is @n or more, up to @until; when, or 0. */
static unsigned long long wait_retransmits(int fd, unsigned int n,
					   unsigned long long until)
{
	struct tcp_info ti;

	while (time_ns() < until) {
		if (!sock_tcp_info(fd, &ti) && ti.tcpi_retransmits >= n)
			return time_ns();
		time_sleep_ns(NSEC_PER_MSEC);
	}
	return 0;
}

/*
 * The busy case: the first SYN is held in a netem queue on veth0, so its
 * clone is still in a host queue when the stale ACK comes and the resend
 * fails (-EBUSY).  Stock kernels, and 0004 with the fix, then arm the SYN
 * timer to TCP_TIMEOUT_MIN: the timer fires well before the 1 s initial
 * RTO.  The hold is then dropped and the timer's next SYN goes out.
 * @timer: "short" or "rto".
 */
static int stale_busy_first(struct conn *c, unsigned long long t0,
			    const char **timer, unsigned long long *syn_at)
{
	struct seg s = { .flags = F_ACK, .seq = random(), .ack = random() };
	unsigned long long until = time_ns() + 2 * NSEC_PER_SEC, fired;
	long long rst0 = out_rsts();
	int ret = 0;

	if (send_seg(c, &s, false))
		return -1;
	while (out_rsts() <= rst0 && time_ns() < until)
		time_sleep_ns(NSEC_PER_MSEC);
	if (out_rsts() <= rst0) {
		snprintf(c->why, sizeof(c->why), "no RST for the stale ACK (OutRsts)");
		ret = -1;
	}
	/* The RTO cannot fire before t0 + 1 s: earlier is the short timer. */
	fired = wait_retransmits(c->fd, 1, t0 + 3 * NSEC_PER_SEC);
	if (!ret && !fired) {
		snprintf(c->why, sizeof(c->why), "SYN timer did not fire within 3 s");
		ret = -1;
	}
	*timer = fired && fired - t0 < SHORT_TIMER_NS ? "short" : "rto";
	ksft_print_msg("  SYN timer after the failed resend fired %llu ms after connect()\n",
		       fired ? (fired - t0) / NSEC_PER_MSEC : 0);
	if (cmd_run("tc qdisc del dev veth0 root 2>&1") && !ret) {
		snprintf(c->why, sizeof(c->why), "tc qdisc del failed");
		ret = -1;
	}
	return ret || stale_wait_syn(c, false, 0, syn_at, "the hold");
}

static void run_stale(struct peer *p, const struct stale *t)
{
	struct conn c = { .p = p, .fd = -1, .pport = PPORT_STALE };
	const char *fam = sock_family_name(p->family), *timer = "-";
	struct mib_snap *ma = malloc(sizeof(*ma)), *mb = malloc(sizeof(*mb));
	unsigned long long t0, ts, at = 0;
	struct tcp_info ti1, ti2;
	char buf[KDATA], fail[160] = "";
	struct pollfd pfd;
	bool held = false;
	int timer_syns;
	long long d;
	struct seg s, r;
	int i, rsts = 0;

	if (!ma || !mb) {
		ksft_test_result_fail("%s SYN_SENT %s: out of memory\n", fam, t->name);
		goto out;
	}
	if (t->busy) {
		if (cmd_run("tc qdisc add dev veth0 root netem delay %dms 2>&1", HOLD_MS)) {
			snprintf(c.why, sizeof(c.why), "tc qdisc add ... netem failed");
			goto setup_failed;
		}
		held = true;
	}
	mib_snapshot(ma);
	t0 = time_ns();
	if (kernel_connect(&c))
		goto setup_failed;
	i = 0;
	if (t->busy) {
		i = stale_busy_first(&c, t0, &timer, &at);
		held = false;		/* dropped by stale_busy_first() */
		if (i)
			goto setup_failed;
		i = 1;
	} else if (stale_wait_syn(&c, false, 0, &at, "connect()") ||
		   (t->timer_first && stale_wait_syn(&c, false, 0, &at, "its SYN"))) {
		goto setup_failed;
	}
	for (; i < t->acks; i++) {
		/* An ACK below the SYN: a timewait socket's old snd_nxt. */
		s = (struct seg){ .flags = F_ACK, .seq = random(),
				  .ack = c.K - 1 - 7919 * (i + 1) };
		if (send_seg(&c, &s, false))
			goto setup_failed;
		ts = time_ns();
		if (stale_wait_syn(&c, true, s.ack, &at, "a stale ACK"))
			goto setup_failed;
		rsts++;
		ksft_print_msg("  stale ACK %d: RST, then SYN %.1f ms later\n", i + 1,
			       (double)(at - ts) / NSEC_PER_MSEC);
	}

	/* SYN-ACK: MSS, timestamps or not; no SACK, no window scaling. */
	c.ts = t->ts;
	c.P = random();
	s = (struct seg){ .flags = F_SYN | F_ACK, .seq = c.P, .ack = c.K };
	{
		unsigned char o[16] = { 2, 4, 1400 >> 8, 1400 & 0xff };

		if (send_seg_opt(&c, &s, o, t->ts ? 4 + ts_opt(&c, o + 4) : 4))
			goto setup_failed;
	}
	c.P++;
	if (wait_seg(&c, F_ACK, true, c.K, &r, "ACK of the SYN-ACK"))
		goto setup_failed;
	if (r.ack != c.P ||
	    sock_connect_wait(c.fd, time_ns() + 2 * NSEC_PER_SEC)) {
		snprintf(c.why, sizeof(c.why), "handshake: ack %u (want %u), connect() failed",
			 r.ack, c.P);
		goto setup_failed;
	}
	if (sock_tcp_info(c.fd, &ti1)) {
		snprintf(c.why, sizeof(c.why), "TCP_INFO: %s", strerror(errno));
		goto setup_failed;
	}
	ksft_print_msg("  after the handshake: tcpi_retrans %u tcpi_lost %u tcpi_total_retrans %u tcpi_total_rto %u tcpi_retransmits %u ca_state %u options 0x%x\n",
		       ti1.tcpi_retrans, ti1.tcpi_lost, ti1.tcpi_total_retrans, ti1.tcpi_total_rto,
		       ti1.tcpi_retransmits, ti1.tcpi_ca_state, ti1.tcpi_options);
	if (ti1.tcpi_options & (TCPI_OPT_SACK | TCPI_OPT_WSCALE) ||
	    !(ti1.tcpi_options & TCPI_OPT_TIMESTAMPS) != !t->ts) {
		snprintf(c.why, sizeof(c.why), "tcpi_options 0x%x: not the options of the SYN-ACK",
			 ti1.tcpi_options);
		goto setup_failed;
	}
	if (ti1.tcpi_retrans) {
		snprintf(fail, sizeof(fail), "tcpi_retrans %u after the handshake (retrans_out leaked)",
			 ti1.tcpi_retrans);
		ksft_print_msg("  %s%s\n", fail, stale_warn ?
			       ": sending the duplicate ACKs (--warn), the kernel WARNs" :
			       ": no duplicate ACKs, they would WARN (see --warn)");
		fflush(stdout);
	}

	/* Data from the kernel, duplicate ACKs in CA_Open, then acked. */
	memset(buf, 'k', sizeof(buf));
	if (sock_set_int(c.fd, IPPROTO_TCP, TCP_NODELAY, 1) ||
	    write(c.fd, buf, KDATA) != KDATA) {
		snprintf(c.why, sizeof(c.why), "write: %s", strerror(errno));
		goto setup_failed;
	}
	ts = time_ns() + 2 * NSEC_PER_SEC;
	while (recv_seg(&c, &r, ts) && !(r.seq == c.K && r.len == KDATA))
		;
	if (r.seq != c.K || r.len != KDATA) {
		snprintf(c.why, sizeof(c.why), "no data from the kernel");
		goto setup_failed;
	}
	s = (struct seg){ .flags = F_ACK, .seq = c.P, .ack = c.K };
	for (i = 0; i < DUPACKS && (!ti1.tcpi_retrans || stale_warn); i++)
		if (send_peer(&c, &s))
			goto setup_failed;
	while (recv_seg(&c, &r, time_ns() + WAIT_NS))
		;			/* a fast retransmit, if any */
	c.K += KDATA;
	s = (struct seg){ .flags = F_PSH | F_ACK, .seq = c.P, .ack = c.K, .len = PDATA };
	if (send_peer(&c, &s))
		goto setup_failed;
	c.P += PDATA;
	pfd = (struct pollfd){ .fd = c.fd, .events = POLLIN };
	if (poll(&pfd, 1, 2000) != 1 || read(c.fd, buf, sizeof(buf)) != PDATA ||
	    memcmp(buf, "xxxxxxxxxx", 10)) {
		snprintf(c.why, sizeof(c.why), "the peer's %d bytes did not arrive", PDATA);
		goto setup_failed;
	}
	if (wait_seg(&c, F_ACK, true, c.K, &r, "ACK of the peer's data"))
		goto setup_failed;
	if (r.ack != c.P) {
		snprintf(c.why, sizeof(c.why), "kernel acks %u, not %u", r.ack, c.P);
		goto setup_failed;
	}
	if (sock_tcp_info(c.fd, &ti2)) {
		snprintf(c.why, sizeof(c.why), "TCP_INFO: %s", strerror(errno));
		goto setup_failed;
	}
	mib_snapshot(mb);

	ksft_print_msg("CASE %s SYN_SENT %s rsts=%d synack=%s,nosack,nows retrans=%u timer=%s data=ok state=%s\n",
		       fam, t->name, rsts, t->ts ? "ts" : "nots", ti1.tcpi_retrans, timer,
		       ti2.tcpi_state == BPF_TCP_ESTABLISHED ? "ESTABLISHED" : "other");
	mib_print_deltas("  counters", ma, mb, watch, ARRAY_SIZE(watch), false);
	if (!fail[0] && ti2.tcpi_state != BPF_TCP_ESTABLISHED)
		snprintf(fail, sizeof(fail), "tcpi_state %u at the end", ti2.tcpi_state);
	if (!fail[0] && ti2.tcpi_retrans)
		snprintf(fail, sizeof(fail), "tcpi_retrans %u at the end", ti2.tcpi_retrans);
	if (!fail[0] && t->busy && strcmp(timer, "short"))
		snprintf(fail, sizeof(fail),
			 "the failed resend left the SYN to its RTO, not TCP_TIMEOUT_MIN");
	d = mib_delta(ma, mb, "TCPSpuriousRtxHostQueues");
	if (!fail[0] && t->busy && d < 1)
		snprintf(fail, sizeof(fail),
			 "TCPSpuriousRtxHostQueues %+lld: the SYN was not held", d);
	/* Kernels with the series: only resends that were sent count, at
	 * most two; the socket's own counts, read after the handshake.  The
	 * timer sent the SYNs this case waited for (timer_first, busy, and
	 * the SYN of each stale ACK beyond the bound), so the others were
	 * resent right behind a RST.  Any other expiry of the timer
	 * (tcpi_total_rto) would be a resend left to it; with the SYN held
	 * in a host queue an expiry may send nothing.
	 */
	timer_syns = t->timer_first + t->busy +
		     (t->acks - t->busy - stale_resends_want(t));
	d = (long long)ti1.tcpi_total_retrans - timer_syns;
	if (!fail[0] && mib_get(mb, "TCPClosedRelookup") >= 0 &&
	    (d != stale_resends_want(t) ||
	     (t->busy ? (int)ti1.tcpi_total_rto < timer_syns :
			(int)ti1.tcpi_total_rto != timer_syns)))
		snprintf(fail, sizeof(fail),
			 "tcpi_total_retrans %u, tcpi_total_rto %u: %lld resent behind a RST, want %d, by the timer %d",
			 ti1.tcpi_total_retrans, ti1.tcpi_total_rto, d,
			 stale_resends_want(t), timer_syns);
	if (fail[0])
		ksft_test_result_fail("%s SYN_SENT %s: %s\n", fam, t->name, fail);
	else
		ksft_test_result_pass("%s SYN_SENT %s\n", fam, t->name);
	goto out;

setup_failed:
	ksft_print_msg("CASE %s SYN_SENT %s reply=setup-failed\n", fam, t->name);
	ksft_test_result_fail("%s SYN_SENT %s: %s%s%s\n", fam, t->name,
			      fail[0] ? fail : "", fail[0] ? "; then " : "",
			      c.why[0] ? c.why : "unexpected reply");
out:
	if (held)
		cmd_run("tc qdisc del dev veth0 root 2>&1");
	sock_close_rst(c.fd);
	free(ma);
	free(mb);
}

/* ---- namespace ------------------------------------------------------------- */

static int get_mac(const char *dev, unsigned char *mac, int *ifindex)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = -1;

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (!ioctl(fd, SIOCGIFHWADDR, &ifr)) {
		memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
		ret = 0;
	}
	if (ifindex && !ioctl(fd, SIOCGIFINDEX, &ifr))
		*ifindex = ifr.ifr_ifindex;
	close(fd);
	return ret;
}

/*
 * The namespace: veth0 (kernel under test) and veth1 (the peer's wire).
 * Sysctls, for determinism: challenge ACKs and out-of-window ACKs not
 * rate-limited; routes with quickack (no delayed ACK to wait for) and
 * rto_min 5s (no FIN retransmission inside a case).
 */
static int setup_ns(char *why, size_t sz)
{
	static const char * const sys[][2] = {
		{ "/proc/sys/net/ipv4/tcp_challenge_ack_limit", "2147483647" },
		{ "/proc/sys/net/ipv4/tcp_invalid_ratelimit", "0" },
		{ "/proc/sys/net/ipv4/ip_forward", "0" },
		{ "/proc/sys/net/ipv4/tcp_syncookies", "0" },
	};
	static const char * const cmds[] = {
		"ip addr add 10.0.0.1/24 dev veth0",
		"ip addr add fd00::1/64 dev veth0 nodad",
		"ip link set veth0 up",
		"ip link set veth1 up",
		"ip neigh add 10.0.0.2 lladdr %s dev veth0 nud permanent",
		"ip neigh add fd00::2 lladdr %s dev veth0 nud permanent",
		"ip route replace 10.0.0.0/24 dev veth0 rto_min 5s quickack 1",
		"ip -6 route replace fd00::/64 dev veth0 rto_min 5s quickack 1",
	};
	unsigned char m[ETH_ALEN];
	char cmd[128], mac[24];
	unsigned int i;

	if (netns_enter(why, sz))
		return -1;
	for (i = 0; i < ARRAY_SIZE(sys); i++)
		if (sysctl_write(sys[i][0], sys[i][1])) {
			snprintf(why, sz, "cannot set %s", sys[i][0]);
			return -1;
		}
	if (cmd_run("ip link add veth0 type veth peer name veth1 2>&1") ||
	    sysctl_write("/proc/sys/net/ipv6/conf/veth1/disable_ipv6", "1") ||
	    get_mac("veth1", m, NULL)) {
		snprintf(why, sz, "veth pair failed (CONFIG_VETH, ip?)");
		return -1;
	}
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
		 m[0], m[1], m[2], m[3], m[4], m[5]);
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		snprintf(cmd, sizeof(cmd), cmds[i], mac);
		if (cmd_run("%s 2>&1", cmd)) {
			snprintf(why, sz, "'%s' failed", cmd);
			return -1;
		}
	}
	return 0;
}

static int open_peer(struct peer *p, int family, char *why, size_t sz)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL) };
	struct sockaddr_storage ss = { .ss_family = family };
	struct sockaddr_in *s4 = (void *)&ss;
	struct sockaddr_in6 *s6 = (void *)&ss;

	memset(p, 0, sizeof(*p));
	p->family = family;
	if (get_mac("veth0", p->mac0, NULL) || get_mac("veth1", p->mac1, &p->ifindex)) {
		snprintf(why, sz, "veth MAC addresses: %s", strerror(errno));
		return -1;
	}
	p->pkt = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	sll.sll_ifindex = p->ifindex;
	if (p->pkt < 0 || bind(p->pkt, (struct sockaddr *)&sll, sizeof(sll))) {
		snprintf(why, sz, "AF_PACKET on veth1: %s", strerror(errno));
		return -1;
	}
	if (family == AF_INET) {
		s4->sin_port = htons(KPORT);
		addrs(AF_INET, true, &s4->sin_addr);
	} else {
		s6->sin6_port = htons(KPORT);
		addrs(AF_INET6, true, &s6->sin6_addr);
	}
	p->lfd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->lfd < 0 || bind(p->lfd, (struct sockaddr *)&ss, sizeof(ss)) ||
	    listen(p->lfd, 1024)) {
		snprintf(why, sz, "listener: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- a hole below a retracted window (patch 0006) ------------------------ */

/* Send @len bytes at @seq from the peer and wait for the kernel's ACK. */
static int data_ack(struct conn *c, unsigned int seq, unsigned int len,
		    struct seg *r)
{
	struct seg s = { .flags = F_PSH | F_ACK, .seq = seq, .ack = c->K, .len = len };

	return send_seg(c, &s, false) ||
	       wait_seg(c, F_ACK, true, c->K, r, "ACK of the peer's data");
}

/*
 * With net.ipv4.tcp_shrink_window=1 and the smallest SO_RCVBUF, a few
 * out-of-order bytes, one skb each, fill sk_rcvbuf and the kernel retracts
 * its window to zero while a hole is open below them.  The two bytes that
 * fill the hole lie inside the window offered before: they must be queued
 * (ACK of all five bytes), not dropped at the zero window (ACK of none),
 * which would stall the connection for good, since the reader has nothing
 * to read.  The packetdrill script of patch 0007 checks the same.
 */
static void run_hole(struct peer *p)
{
	static const unsigned char o[] = { 2, 4, 1400 >> 8, 1400 & 0xff, 1, 3, 3, 7 };
	const char *fam = sock_family_name(p->family);
	struct conn c = { .p = p, .fd = -1 };
	struct seg r;
	const char *path = "/proc/sys/net/ipv4/tcp_shrink_window";
	int rcvbuf = 2304, i;
	char old[16], byte;
	unsigned int P0;

	if (sysctl_read(path, old, sizeof(old)) || sysctl_write(path, "1")) {
		ksft_test_result_skip("%s hole below a retracted window: no %s\n", fam, path);
		return;
	}
	/* MSS 1400, NOP, window scale 7: the kernel's window can shrink. */
	if (reach_opt(&c, S_EST, o, sizeof(o)))
		goto setup;
	if (setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) ||
	    data_ack(&c, c.P, 1, &r) || r.ack != c.P + 1 ||
	    recv(c.fd, &byte, 1, MSG_DONTWAIT) != 1) {
		snprintf(c.why, sizeof(c.why), "first byte not delivered");
		goto setup;
	}
	P0 = c.P + 1;
	for (i = 0; i < 16; i++) {
		if (data_ack(&c, P0 + 2 + 2 * i, 1, &r) || r.ack != P0)
			goto setup;
		if (!r.win)
			break;
	}
	if (r.win) {
		snprintf(c.why, sizeof(c.why), "window %u, not retracted to 0", r.win);
		goto setup;
	}
	if (data_ack(&c, P0, 2, &r))
		ksft_test_result_fail("%s hole below a retracted window: %s\n", fam, c.why);
	else if (r.ack != P0 + 3)
		ksft_test_result_fail("%s hole below a retracted window: filled, ACK +%u, want +3 (%s)\n",
				      fam, r.ack - P0, r.ack == P0 ? "dropped at the zero window" : "?");
	else
		ksft_test_result_pass("%s hole below a retracted window\n", fam);
	goto out;
setup:
	ksft_test_result_fail("%s hole below a retracted window: setup failed: %s\n",
			      fam, c.why[0] ? c.why : "handshake");
out:
	if (c.fd >= 0)
		close(c.fd);
	sysctl_write(path, old);
}

int main(int argc, char **argv)
{
	static const struct option help[] = {
		{ "help", 0, NULL, 'h' }, { "stale-only", 0, NULL, 'S' },
		{ "warn", 0, NULL, 'W' }, { }
	};
	bool only4 = false, only6 = false, stale_only = false;
	int c, fams[2], nf = 0, f, st, per_fam;
	char why[256];
	struct peer p;
	unsigned int k;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":46hSW", help, NULL)) != -1) {
		switch (c) {
		case '4':
			only4 = true;
			continue;
		case '6':
			only6 = true;
			continue;
		case 'S':
			stale_only = true;
			continue;
		case 'W':
			stale_warn = true;
			continue;
		case 'h':
			printf("Usage: %s [-4|-6] [-S] [-W]\n", program_invocation_short_name);
			printf("Test: sends malformed TCP segments at a kernel socket in every\n"
			       "state (SYN_SENT .. both timewait substates) and checks the reply\n"
			       "and state against RFC 9293/5961; then answers the kernel's SYN\n"
			       "with stale ACKs before a SYN-ACK without SACK and checks that no\n"
			       "retransmission is left counted (tcpi_retrans) and the connection\n"
			       "works.  Prints one \"# CASE\" line per case.  Needs root.\n"
			       "  -4 | -6            one address family only\n"
			       "  -S, --stale-only   only the stale-ACK cases of SYN_SENT\n"
			       "  -W, --warn         send the duplicate ACKs even when tcpi_retrans\n"
			       "                     is not 0 (the kernel then WARNs)\n"
			       "Exit: 0 pass, 1 fail, 4 skip.\n");
			return 0;
		}
		opt_bad_option(c, argv);
	}
	opt_no_operands(argc, argv);
	if (only4 && only6) {
		fprintf(stderr, "%s: -4 and -6 exclude each other\n",
			program_invocation_short_name);
		opt_bad_usage();
	}
	if (!only6)
		fams[nf++] = AF_INET;
	if (!only4)
		fams[nf++] = AF_INET6;
	/* Lines, not blocks: what was printed must reach a log before a panic. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	per_fam = (stale_only ? 0 : S_NUM * NCASES + 1) + NSTALES;
	ksft_print_header();
	ksft_set_plan(nf * per_fam);
	srandom(time_ns());
	if (setup_ns(why, sizeof(why)))
		ksft_exit_skip("%s\n", why);
	for (f = 0; f < nf; f++) {
		if (open_peer(&p, fams[f], why, sizeof(why))) {
			for (k = 0; k < (unsigned int)per_fam; k++)
				ksft_test_result_fail("%s: %s\n", sock_family_name(fams[f]), why);
			continue;
		}
		for (st = 0; st < S_NUM && !stale_only; st++)
			for (k = 0; k < NCASES; k++)
				run_case(&p, st, &cases[k]);
		if (!stale_only)
			run_hole(&p);
		for (k = 0; k < NSTALES; k++)
			run_stale(&p, &stales[k]);
		close(p.pkt);
		close(p.lfd);
	}
	tap_exit();
	return 0;
}
