// SPDX-License-Identifier: GPL-2.0
/*
 * A client that resets a connection and reconnects at once from the same
 * port sends a RST and then a SYN for the same 4-tuple.  If the SYN finds
 * the server's socket that the RST is closing, it used to be discarded by
 * the closed socket (drop reason TCP_CLOSE), and the client resent it only
 * after its initial RTO, 1 second later.  Two ways in:
 *
 *  softirq  the RST is being processed under the socket lock while the SYN,
 *           on another CPU, waits for that lock; the fix looks the SYN up
 *           again and gives it to the listener (TcpExtTCPClosedRelookup);
 *  backlog  the application owns the socket (here: inside recv()), so the
 *           RST and the SYN queue in its backlog and the RST is processed
 *           first; the fix makes the closed socket answer the SYN with an
 *           ACK, counted as a challenge ACK (TcpExtTCPChallengeACK), which
 *           the client resets before resending its SYN at once (its
 *           tcpi_total_retrans 1, none of them by the timer: tcpi_total_rto
 *           0).
 *
 * The windows are short, so this test widens each without any module: a
 * BPF program on a raw tracepoint holds the server's socket in a bounded
 * bpf_loop() busy-wait (tcp_hold.bpf.c), under the socket lock: while it
 * processes the RST (softirq), or while recv() owns it (backlog; not
 * close(), whose FIN would reach the client's new SYN-SENT socket and act
 * as a stale ACK).  Each trial first checks that the scenario happened (the
 * client's SYN was sent while the socket was held), then the verdict:
 * connect() completes without waiting for the 1-second retransmission.
 * IPv4 and IPv6, in a private network namespace over loopback.  Needs root,
 * two CPUs, BPF on raw tracepoints and the kernel's BTF (the program reads
 * the socket's local port with CO-RE).
 */
#define _GNU_SOURCE
#include <bpf/libbpf.h>

#include "tcp_hold.h"
#include "kselftest_harness.h"

#define TRIALS			3
/* An attempt whose SYN missed the hold (a slow vCPU) is retried. */
#define ATTEMPTS		(TRIALS + 3)
/* A SYN that waited for its RTO took at least this long to connect. */
#define SLOW_CONNECT_NS		(500 * 1000 * 1000ULL)

/* The client of one trial.  The old connection is @fd from port @cport. */
struct client {
	int family;
	struct sockaddr_storage addr;	/* the server */
	socklen_t addrlen;
	int fd;
	int cport;
	int map_fd;
	bool softirq;		/* else reset the old connection first */
	__u64 syn_ns;		/* just before connect() */
	__u64 done_ns;		/* connect() returned */
	__u32 retrans;		/* SYNs resent (tcpi_total_retrans) */
	__u16 rtos;		/* of them by the timer (tcpi_total_rto) */
	int err;
};

/* Reconnect from the old connection's port, timing connect(). */
static void reconnect(struct client *c)
{
	struct sockaddr_storage me;
	socklen_t len = c->addrlen;
	int one = 1, fd;

	memcpy(&me, &c->addr, sizeof(me));
	if (c->family == AF_INET)
		((struct sockaddr_in *)&me)->sin_port = htons(c->cport);
	else
		((struct sockaddr_in6 *)&me)->sin6_port = htons(c->cport);
	fd = socket(c->family, SOCK_STREAM, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&me, len)) {
		c->err = errno;
		goto out;
	}
	c->syn_ns = now_ns();
	if (connect(fd, (struct sockaddr *)&c->addr, c->addrlen))
		c->err = errno;
	c->done_ns = now_ns();
	if (!c->err) {
		struct tcp_info ti;
		socklen_t tl = sizeof(ti);

		memset(&ti, 0, sizeof(ti));
		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl))
			c->err = errno;
		c->retrans = ti.tcpi_total_retrans;
		c->rtos = ti.tcpi_total_rto;
	}
out:
	if (fd >= 0)
		close(fd);
}

static void reset_old(struct client *c)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		c->err = errno;
	close(c->fd);
}

/*
 * The client's thread, on its own CPU: once the server's socket is held,
 * reset the old connection (backlog; in softirq the main thread's RST is
 * what is being held) and reconnect from its port.
 */
static void *client_when_held(void *arg)
{
	struct client *c = arg;
	struct held_wait hw = { .map_fd = c->map_fd };

	if (!wait_for(held_done, &hw)) {
		c->err = ETIMEDOUT;
		return NULL;
	}
	if (!c->softirq)
		reset_old(c);
	if (!c->err)
		reconnect(c);
	return NULL;
}

FIXTURE(syn)
{
	struct hold_bpf hb;
	int lfd;
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

FIXTURE_VARIANT(syn)
{
	int family;
	bool softirq;
	const char *counter;
};

FIXTURE_VARIANT_ADD(syn, ipv4_softirq) {
	.family = AF_INET, .softirq = true, .counter = "TCPClosedRelookup",
};

FIXTURE_VARIANT_ADD(syn, ipv4_backlog) {
	.family = AF_INET, .softirq = false, .counter = "TCPChallengeACK",
};

FIXTURE_VARIANT_ADD(syn, ipv6_softirq) {
	.family = AF_INET6, .softirq = true, .counter = "TCPClosedRelookup",
};

FIXTURE_VARIANT_ADD(syn, ipv6_backlog) {
	.family = AF_INET6, .softirq = false, .counter = "TCPChallengeACK",
};

FIXTURE_SETUP(syn)
{
	const char *tp = variant->softirq ? "tcp_receive_reset" :
					    "tcp_rcv_space_adjust";
	const char *why;

	self->lfd = -1;
	if (geteuid())
		SKIP(return, "needs root (network namespace, BPF)");
	if (!pick_cpus())
		SKIP(return, "needs two CPUs: the RST and the SYN race");
	why = hold_unsupported(BPF_PROG_TYPE_RAW_TRACEPOINT);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, set_lo_up());

	/* The widening program (tcp_hold.bpf.c), on a raw tracepoint that
	 * fires under the server socket's lock, the sock its first argument:
	 * tcp:tcp_receive_reset (softirq: the RST is being processed, the
	 * socket is still in the ehash) or tcp:tcp_rcv_space_adjust
	 * (backlog: recv() owns the socket and has just copied data).
	 */
	ASSERT_EQ(0, hold_open(&self->hb, "tcp_hold.bpf.o", "hold_port_raw_tp"))
		TH_LOG("the widening program did not load");
	self->hb.link = bpf_program__attach_raw_tracepoint(self->hb.prog, tp);
	ASSERT_NE(NULL, self->hb.link) TH_LOG("raw tracepoint %s: %s", tp,
					      strerror(errno));

	self->lfd = loopback_listener(variant->family, &self->addr, &self->addrlen);
	ASSERT_LE(0, self->lfd) TH_LOG("listener: %s", strerror(errno));
}

FIXTURE_TEARDOWN(syn)
{
	if (self->lfd >= 0)
		close(self->lfd);
	hold_close(&self->hb);
}

TEST_F(syn, reaches_listener)
{
	const char *path = variant->softirq ? "softirq" : "backlog";
	long before, after;
	int trial = 0, attempt;

	for (attempt = 0; trial < TRIALS; attempt++) {
		struct client c = {
			.family = variant->family, .addrlen = self->addrlen,
			.map_fd = self->hb.map_fd, .softirq = variant->softirq,
		};
		struct held_wait hw = { .map_fd = self->hb.map_fd, .want_end = true };
		struct hold h = { .armed = 0 };
		pthread_t thr;
		int sfd, sport;

		ASSERT_GT(ATTEMPTS, attempt)
			TH_LOG("only %d of %d attempts forced", trial, attempt);
		before = tcpext_count(variant->counter);
		memcpy(&c.addr, &self->addr, sizeof(c.addr));
		ASSERT_EQ(0, pin(1));
		ASSERT_EQ(0, hold_write(self->hb.map_fd, &h));
		c.fd = socket(variant->family, SOCK_STREAM, 0);
		ASSERT_LE(0, c.fd);
		ASSERT_EQ(0, connect(c.fd, (struct sockaddr *)&self->addr,
				     self->addrlen));
		c.cport = port_of(c.fd, 0);
		sfd = accept(self->lfd, NULL, NULL);
		ASSERT_LE(0, sfd);
		sport = port_of(sfd, 0);

		h.armed = 1;
		h.port = sport;
		ASSERT_EQ(0, hold_write(self->hb.map_fd, &h));
		if (variant->softirq) {
			/* The SYN from the second CPU waits for the lock
			 * that the RST, processed on the first, holds while the server
			 * socket turns TCP_CLOSE.
			 */
			ASSERT_EQ(0, start_on(&thr, 1, client_when_held, &c));
			ASSERT_EQ(0, pin(0));
			reset_old(&c);
			pthread_join(thr, NULL);
			close(sfd);
		} else {
			/* The RST and the SYN from the first CPU queue in
			 * the backlog of the socket that recv() on the
			 * second owns.
			 */
			char b;

			ASSERT_EQ(1, send(c.fd, "x", 1, 0));
			ASSERT_EQ(0, start_on(&thr, 0, client_when_held, &c));
			ASSERT_EQ(1, recv(sfd, &b, 1, 0));
			pthread_join(thr, NULL);
			close(sfd);
		}
		ASSERT_TRUE(wait_for(held_done, &hw))
			TH_LOG("trial %d: the server's socket was never held",
			       trial);
		ASSERT_EQ(0, c.err) TH_LOG("trial %d: client: %s", trial,
					   strerror(c.err));
		/* Drain the new connection so the next trial starts clean. */
		sfd = accept(self->lfd, NULL, NULL);
		ASSERT_LE(0, sfd);
		close(sfd);

		/* The scenario: the SYN left while the socket was held.  The
		 * client saw the hold counted, which the program does after
		 * recording start_ns, so only a SYN after the end can miss;
		 * such an attempt is retried (the counter's move is shown).
		 */
		after = tcpext_count(variant->counter);
		if (c.syn_ns <= hw.h.start_ns || c.syn_ns >= hw.h.end_ns) {
			TH_LOG("attempt %d: not forced: SYN %lld us into a %llu us hold (+%ld)",
			       attempt, (long long)(c.syn_ns - hw.h.start_ns) / 1000,
			       (hw.h.end_ns - hw.h.start_ns) / 1000,
			       after - before);
			continue;
		}

		/* The verdict: no wait for the SYN's retransmission timer. */
		EXPECT_GT(SLOW_CONNECT_NS, c.done_ns - hw.h.end_ns)
			TH_LOG("trial %d: %s: SYN lost, connect() took %llu ms after the hold",
			       trial, path, (c.done_ns - hw.h.end_ns) / 1000000);
		TH_LOG("trial %d: %s: connect() %llu us after the hold ended",
		       trial, path, (c.done_ns - hw.h.end_ns) / 1000);

		trial++;
		/* The path taken: the SYN went through the fix (a kernel
		 * without it fails below, after all its trials).  Exactly
		 * one challenge ACK; at least one re-lookup, as
		 * TcpExtTCPClosedRelookup also counts a FIN of another
		 * connection of the test that lost the timewait race on its
		 * own.
		 */
		if (before < 0)
			continue;
		if (variant->softirq) {
			EXPECT_LE(before + 1, after)
				TH_LOG("trial %d: TcpExt%s rose by %ld, want 1 or more",
				       trial - 1, variant->counter, after - before);
		} else {
			EXPECT_EQ(before + 1, after)
				TH_LOG("trial %d: TcpExt%s rose by %ld, want 1",
				       trial - 1, variant->counter, after - before);
		}
		/* The client's SYNs: none left to the retransmission timer,
		 * not to its initial RTO nor to the TCP_TIMEOUT_MIN re-arm
		 * that a stale ACK used to get; in softirq none resent, from
		 * the backlog one, right behind the RST that the closed
		 * socket's ACK drew.
		 */
		EXPECT_EQ(0, c.rtos)
			TH_LOG("trial %d: tcpi_total_rto %u: SYN left to the timer",
			       trial - 1, c.rtos);
		EXPECT_EQ(variant->softirq ? 0U : 1U, c.retrans)
			TH_LOG("trial %d: tcpi_total_retrans %u, want %u",
			       trial - 1, c.retrans, variant->softirq ? 0U : 1U);
	}
	ASSERT_LE(0, before) TH_LOG("no TcpExt%s: kernel without the fix",
				    variant->counter);
}

TEST_HARNESS_MAIN
