// SPDX-License-Identifier: GPL-2.0
/*
 * A SYN that reaches a listener while close() moves it to TCP_CLOSE must
 * get no ACK from it (issue 31).
 *
 * tcp_v4_rcv() and tcp_v6_rcv() hand a segment for a TCP_LISTEN socket to
 * tcp_v{4,6}_do_rcv() without the socket lock, so close() on another CPU
 * can set TCP_CLOSE in between.  The series' closed-socket ACK (patch 0003)
 * must only answer a SYN that the socket took from its backlog: a former
 * listener has no connection to answer for, and its keys are not stable
 * without the lock.  A version that answered any SYN meeting TCP_CLOSE in
 * tcp_v{4,6}_do_rcv() sent an ACK built from the listener's snd_nxt and
 * rcv_nxt here.
 *
 * The window is a few instructions wide, so a BPF program on a kprobe at
 * the entry of tcp_v{4,6}_do_rcv() (after tcp_v{4,6}_rcv() saw TCP_LISTEN)
 * holds the listener's SYN in a bounded bpf_loop() busy-wait (tcp_hold.bpf.c)
 * while the test closes the listener from another CPU.  The SYN is sent
 * from a raw socket, from a port without a socket, and a packet socket on
 * lo records every TCP segment from the listener's port to it:
 *
 *  - the scenario: the SYN was held and close() returned during the hold
 *    (so tcp_v{4,6}_do_rcv() resumed on a socket in TCP_CLOSE); an
 *    attempt where it did not is retried;
 *  - the verdict: no ACK (without SYN and RST) reached the SYN's port, and
 *    TcpExtTCPSYNChallenge (where the series counts that ACK) did not move.
 *
 * A kernel without the series passes (it sends nothing); so does the
 * series whose closed-socket ACK is restricted to the backlog.  IPv4 and
 * IPv6, three trials each, in a private network namespace; root, two
 * CPUs, the kernel's BTF (CO-RE) and x86_64 (the kprobe program reads the
 * first argument from struct pt_regs), else skipped.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ipv6.h>
#include <netinet/ip.h>
#include <bpf/libbpf.h>

#include "tcp_hold.h"
#include "kselftest_harness.h"
#include "lib/csum.h"

#define TRIALS		3
#define ATTEMPTS	(TRIALS + 3)
/* How long replies to the SYN may take to show up after the hold. */
#define REPLY_WAIT_US	(200 * 1000)

/* The sender of one attempt, on its own CPU: one SYN from a raw socket. */
struct sender {
	int family;
	int sport, dport;
	__u32 iss;
	__u64 sent_ns;
	int err;
};

static void *send_syn(void *arg)
{
	struct sender *s = arg;
	struct sockaddr_storage dst;
	struct tcphdr th;
	socklen_t len;
	int fd;

	memset(&th, 0, sizeof(th));
	th.source = htons(s->sport);
	th.dest = htons(s->dport);
	th.seq = htonl(s->iss);
	th.doff = sizeof(th) / 4;
	th.syn = 1;
	th.window = htons(65535);
	memset(&dst, 0, sizeof(dst));
	fd = socket(s->family, SOCK_RAW, IPPROTO_TCP);
	if (fd < 0) {
		s->err = errno;
		return NULL;
	}
	if (s->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&dst;
		struct in_addr lo = { htonl(INADDR_LOOPBACK) };
		unsigned int sum;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
		/* Pseudo-header: 127.0.0.1 both ways, TCP, length. */
		sum = csum_add(0, &lo, sizeof(lo));
		sum = csum_add(sum, &lo, sizeof(lo));
		sum += IPPROTO_TCP + sizeof(th);
		sum = csum_add(sum, &th, sizeof(th));
		th.check = csum_fold(sum);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&dst;
		int off = offsetof(struct tcphdr, check);

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &off,
			       sizeof(off))) {
			s->err = errno;
			close(fd);
			return NULL;
		}
	}
	s->sent_ns = now_ns();
	if (sendto(fd, &th, sizeof(th), 0, (struct sockaddr *)&dst, len) !=
	    sizeof(th))
		s->err = errno;
	close(fd);
	return NULL;
}

/* What the packet socket saw from @lport to @rport. */
struct replies {
	int acks;	/* ACK without SYN and RST: the closed-socket ACK */
	int synacks;
	int rsts;
};

static void count_replies(int pfd, int lport, int rport, struct replies *r)
{
	unsigned char buf[2048];

	for (;;) {
		struct sockaddr_ll sll;
		socklen_t sl = sizeof(sll);
		const struct tcphdr *th;
		unsigned int hl;
		ssize_t n;

		n = recvfrom(pfd, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&sll, &sl);
		if (n < 0)
			return;
		if (sll.sll_pkttype == PACKET_OUTGOING)
			continue;
		if (ntohs(sll.sll_protocol) == ETH_P_IP) {
			const struct iphdr *ip = (const struct iphdr *)buf;

			if (n < (ssize_t)sizeof(*ip) || ip->protocol != IPPROTO_TCP)
				continue;
			hl = ip->ihl * 4;
		} else if (ntohs(sll.sll_protocol) == ETH_P_IPV6) {
			const struct ipv6hdr *ip6 = (const struct ipv6hdr *)buf;

			if (n < (ssize_t)sizeof(*ip6) || ip6->nexthdr != IPPROTO_TCP)
				continue;
			hl = sizeof(*ip6);
		} else {
			continue;
		}
		if (n < (ssize_t)(hl + sizeof(*th)))
			continue;
		th = (const struct tcphdr *)(buf + hl);
		if (ntohs(th->source) != lport || ntohs(th->dest) != rport)
			continue;
		if (th->rst)
			r->rsts++;
		else if (th->syn && th->ack)
			r->synacks++;
		else if (th->ack)
			r->acks++;
	}
}

FIXTURE(lclose)
{
	struct hold_bpf hb;
	int pfd;
};

FIXTURE_VARIANT(lclose)
{
	int family;
	const char *func;
};

FIXTURE_VARIANT_ADD(lclose, ipv4) {
	.family = AF_INET, .func = "tcp_v4_do_rcv",
};

FIXTURE_VARIANT_ADD(lclose, ipv6) {
	.family = AF_INET6, .func = "tcp_v6_do_rcv",
};

FIXTURE_SETUP(lclose)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	const char *why;

	self->pfd = -1;
#ifndef __x86_64__
	SKIP(return, "x86_64 only: the kprobe reads struct pt_regs");
#endif
	if (geteuid())
		SKIP(return, "needs root (network namespace, BPF, kprobes)");
	if (!pick_cpus())
		SKIP(return, "needs two CPUs: the SYN and close() race");
	why = hold_unsupported(BPF_PROG_TYPE_KPROBE);
	if (why)
		SKIP(return, "%s", why);
	if (access("/sys/bus/event_source/devices/kprobe/type", R_OK))
		SKIP(return, "needs kprobe perf events (CONFIG_KPROBE_EVENTS)");
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, set_lo_up());

	/* Held at the entry of tcp_v{4,6}_do_rcv(), the sock its argument
	 * (tcp_listener_close.bpf.c).
	 */
	ASSERT_EQ(0, hold_open(&self->hb, "tcp_listener_close.bpf.o",
			       "hold_port_kprobe"))
		TH_LOG("the hold program did not load");
	self->hb.link = bpf_program__attach_kprobe(self->hb.prog, false,
						   variant->func);
	ASSERT_NE(NULL, self->hb.link) TH_LOG("kprobe on %s: %s",
					      variant->func, strerror(errno));

	self->pfd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
	ASSERT_LE(0, self->pfd) TH_LOG("packet socket: %s", strerror(errno));
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = if_nametoindex("lo");
	ASSERT_EQ(0, bind(self->pfd, (struct sockaddr *)&sll, sizeof(sll)));
}

FIXTURE_TEARDOWN(lclose)
{
	if (self->pfd >= 0)
		close(self->pfd);
	hold_close(&self->hb);
}

TEST_F(lclose, no_ack_from_closed_listener)
{
	int trial = 0, attempt;

	for (attempt = 0; trial < TRIALS; attempt++) {
		struct held_wait hw = { .map_fd = self->hb.map_fd, .want_end = true };
		struct sender s = { .family = variant->family };
		struct sockaddr_storage addr;
		struct hold h = { .armed = 0 };
		struct replies r = { 0 };
		socklen_t addrlen;
		long before, after;
		__u64 close_ns;
		pthread_t thr;
		int lfd;

		ASSERT_GT(ATTEMPTS, attempt)
			TH_LOG("only %d of %d attempts forced", trial, attempt);
		ASSERT_EQ(0, pin(0));
		lfd = loopback_listener(variant->family, &addr, &addrlen);
		ASSERT_LE(0, lfd) TH_LOG("listener: %s", strerror(errno));
		s.dport = port_of(lfd, 0);
		s.sport = 20000 + (s.dport + attempt) % 20000;
		s.iss = 0x10000000u + attempt;
		count_replies(self->pfd, s.dport, s.sport, &r);	/* drain */
		memset(&r, 0, sizeof(r));
		before = tcpext_count("TCPSYNChallenge");

		h.armed = 1;
		h.port = s.dport;
		ASSERT_EQ(0, hold_write(self->hb.map_fd, &h));
		/* The SYN, sent from the second CPU, is processed there in
		 * softirq and held at the entry of tcp_v{4,6}_do_rcv();
		 * meanwhile the first CPU closes the listener.
		 */
		ASSERT_EQ(0, start_on(&thr, 1, send_syn, &s));
		hw.want_end = false;
		ASSERT_TRUE(wait_for(held_done, &hw))
			TH_LOG("attempt %d: the listener's SYN was never held",
			       attempt);
		close(lfd);
		close_ns = now_ns();
		pthread_join(thr, NULL);
		ASSERT_EQ(0, s.err) TH_LOG("raw SYN: %s", strerror(s.err));
		hw.want_end = true;
		ASSERT_TRUE(wait_for(held_done, &hw));
		usleep(REPLY_WAIT_US);
		count_replies(self->pfd, s.dport, s.sport, &r);
		after = tcpext_count("TCPSYNChallenge");

		if (close_ns >= hw.h.end_ns) {
			TH_LOG("attempt %d: not forced: close() %lld us after the hold",
			       attempt, (long long)(close_ns - hw.h.end_ns) / 1000);
			continue;
		}
		TH_LOG("trial %d: close() %llu us into a %llu us hold: %d ACK, %d SYN-ACK, %d RST",
		       trial, (close_ns - hw.h.start_ns) / 1000,
		       (hw.h.end_ns - hw.h.start_ns) / 1000,
		       r.acks, r.synacks, r.rsts);
		EXPECT_EQ(0, r.acks)
			TH_LOG("trial %d: the closed listener answered the SYN with an ACK",
			       trial);
		EXPECT_EQ(0, r.synacks)
			TH_LOG("trial %d: the SYN reached a live listener", trial);
		EXPECT_EQ(before, after)
			TH_LOG("trial %d: TcpExtTCPSYNChallenge rose by %ld",
			       trial, after - before);
		trial++;
	}
}

TEST_HARNESS_MAIN
