// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists: what a full listen queue does to connection
 * setup is what this project's tools diagnose (scripts/bpftrace/
 * tcp-listen-drops, tcp-lo-stall, tools/tcp_setup_exc, tools/tcp_lo_stall),
 * and every kernel does it the same way.  These tests pin that behaviour,
 * in a network namespace of their own per test, for IPv4 and IPv6:
 *
 * - a full SYN queue with tcp_syncookies=0 drops a SYN (TCPReqQFullDrop,
 *   ListenDrops) and the client gets in with its SYN retransmit;
 *   with tcp_syncookies=1 the SYN is answered with a cookie at once;
 * - a full accept queue drops a SYN (ListenOverflows) until the
 *   application accepts, and drops a held-back third ACK and the request
 *   behind it while the server retransmits its SYN-ACK (TCPSynRetrans);
 * - more clients than a small backlog holds: every request is answered,
 *   byte for byte, once the queue overflowed.
 *
 * The raw SYNs that fill the SYN queue come from a second local address
 * whose SYN-ACKs nftables drops (lib/rawsyn.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "lib/cmd.h"
#include "lib/mib.h"
#include "lib/netns.h"
#include "lib/nft.h"
#include "lib/proc.h"
#include "lib/rawsyn.h"
#include "lib/sock.h"
#include "lib/sysctl.h"
#include "lib/time.h"

#define SYNQ_BACKLOG	8
/* inet_csk_reqsk_queue_is_full() and sk_acceptq_is_full(): more than it. */
#define SYNQ_FILL	(SYNQ_BACKLOG + 1)
#define ACCQ_BACKLOG	4
#define ACCQ_FILL	(ACCQ_BACKLOG + 1)
#define STEP_NS		(2 * NSEC_PER_SEC)
/* A dropped SYN is retransmitted after 1 s, then 3 s: wait 5. */
#define CONNECT_NS	(5 * NSEC_PER_SEC)
#define MOVE_NS		(500 * NSEC_PER_MSEC)
#define NFT_TABLE	"tcp_listen_queues"
#define SYNCOOKIES	"/proc/sys/net/ipv4/tcp_syncookies"

FIXTURE(listen) {
	int lfd;
	unsigned short lport;
	struct sockaddr_storage ls;
	socklen_t llen;
	int fds[ACCQ_FILL];
	struct rawsyn rs;
	bool nft;
	struct sysctl_saved cookies;
	struct mib_snap a, b, cur;
};

FIXTURE_VARIANT(listen) {
	int family;
};

FIXTURE_VARIANT_ADD(listen, ipv4) {
	.family = AF_INET,
};

FIXTURE_VARIANT_ADD(listen, ipv6) {
	.family = AF_INET6,
};

FIXTURE_SETUP(listen)
{
	char why[160];
	int fd;

	self->lfd = -1;
	self->rs.fd = -1;
	memset(self->fds, -1, sizeof(self->fds));
	if (geteuid())
		SKIP(return, "needs root (network namespace, raw sockets, nft)");
	if (netns_enter(why, sizeof(why)))
		SKIP(return, "%s", why);
	fd = socket(variant->family, SOCK_STREAM, 0);
	if (fd < 0)
		SKIP(return, "no %s sockets", sock_family_name(variant->family));
	close(fd);
	mib_snapshot(&self->a);
	if (!self->a.n)
		SKIP(return, "no TcpExt counters in /proc/net/netstat");
}

FIXTURE_TEARDOWN(listen)
{
	unsigned int i;

	if (self->nft)
		nft_drop_rule_remove(NFT_TABLE);
	rawsyn_close(&self->rs);
	for (i = 0; i < ACCQ_FILL; i++)
		sock_close_rst(self->fds[i]);
	if (self->lfd >= 0)
		close(self->lfd);
	sysctl_restore(&self->cookies);
}

/* The listener of a test on any loopback port, backlog @backlog. */
static int listen_open(struct _test_data_listen *self, int family, int backlog)
{
	char why[128];

	self->lfd = sock_loopback_listen(family, backlog, &self->lport,
					 &self->ls, &self->llen, why,
					 sizeof(why));
	return self->lfd;
}

/*
 * A listener of backlog SYNQ_BACKLOG, tcp_syncookies=@cookies, its SYN
 * queue full of raw requests from the second address.  Skips without
 * nft; returns the base source port of the raw SYNs.
 */
static unsigned short synq_fill(struct __test_metadata *_metadata,
				struct _test_data_listen *self, int family,
				const char *cookies, __u32 seq)
{
	unsigned short base = 1024 + random() % 60000;
	char why[160];

	if (!cmd_have_tool("nft --version >/dev/null 2>&1"))
		SKIP(return 0, "nft command not found");
	ASSERT_EQ(0, sysctl_change(&self->cookies, SYNCOOKIES, cookies));
	ASSERT_LE(0, listen_open(self, family, SYNQ_BACKLOG));
	rawsyn_nft_match(why, sizeof(why), family, self->lport);
	ASSERT_EQ(0, nft_drop_rule(NFT_TABLE, why)) TH_LOG("nft rule '%s'", why);
	self->nft = true;
	ASSERT_EQ(0, rawsyn_open(&self->rs, family, &self->ls, self->lport,
				 why, sizeof(why))) TH_LOG("%s", why);
	ASSERT_EQ(0, rawsyn_send(&self->rs, base, SYNQ_FILL, seq, RAWSYN_SYN));
	ASSERT_EQ(SYNQ_FILL, proc_wait_count(family, self->lport,
					     TCP_ST_SYN_RECV, SYNQ_FILL, NULL,
					     STEP_NS))
		TH_LOG("the SYN queue did not fill");
	return base;
}

TEST_F(listen, synq_full_drops_syn)
{
	__u32 seq = random();
	unsigned short base;
	struct tcp_info ti;
	int fd;

	base = synq_fill(_metadata, self, variant->family, "0", seq);
	mib_snapshot(&self->a);
	fd = sock_connect_start(variant->family, &self->ls, self->llen);
	ASSERT_LE(0, fd);
	self->fds[0] = fd;
	ASSERT_TRUE(mib_wait_moved(&self->a, &self->cur, "TCPReqQFullDrop",
				   MOVE_NS)) TH_LOG("the SYN was not dropped");
	/* Empty the SYN queue: one in-window RST per raw SYN. */
	ASSERT_EQ(0, rawsyn_send(&self->rs, base, SYNQ_FILL, seq + 1,
				 RAWSYN_RST));
	ASSERT_EQ(0, proc_wait_count(variant->family, self->lport,
				     TCP_ST_SYN_RECV, 0, NULL, STEP_NS));
	ASSERT_EQ(0, sock_connect_wait(fd, time_ns() + CONNECT_NS));
	mib_snapshot(&self->b);
	ASSERT_EQ(0, sock_tcp_info(fd, &ti));
	EXPECT_LE(1U, ti.tcpi_total_retrans) TH_LOG("no SYN retransmit");
	EXPECT_LE(1, mib_delta(&self->a, &self->b, "TCPReqQFullDrop"));
	EXPECT_LE(1, mib_delta(&self->a, &self->b, "ListenDrops"));
	EXPECT_EQ(0, mib_delta(&self->a, &self->b, "TCPReqQFullDoCookies"));
}

TEST_F(listen, synq_full_cookie_connects)
{
	struct tcp_info ti;
	int fd;

	synq_fill(_metadata, self, variant->family, "1", random());
	mib_snapshot(&self->a);
	fd = sock_connect_start(variant->family, &self->ls, self->llen);
	ASSERT_LE(0, fd);
	self->fds[0] = fd;
	/* Answered at once with a cookie: well within the 1 s SYN RTO. */
	ASSERT_EQ(0, sock_connect_wait(fd, time_ns() + 900 * NSEC_PER_MSEC));
	ASSERT_EQ(0, sock_tcp_info(fd, &ti));
	EXPECT_EQ(0U, ti.tcpi_total_retrans);
	self->fds[1] = sock_accept_one(self->lfd, STEP_NS);
	EXPECT_LE(0, self->fds[1]) TH_LOG("the cookie connection was not accepted");
	mib_snapshot(&self->b);
	EXPECT_LE(1, mib_delta(&self->a, &self->b, "TCPReqQFullDoCookies"));
	EXPECT_LE(1, mib_delta(&self->a, &self->b, "SyncookiesSent"));
	EXPECT_LE(1, mib_delta(&self->a, &self->b, "SyncookiesRecv"));
	EXPECT_EQ(0, mib_delta(&self->a, &self->b, "TCPReqQFullDrop"));
}

/* Connect clients @from..@to-1, never accepted; the accept queue holds @to. */
static void accq_fill(struct __test_metadata *_metadata,
		      struct _test_data_listen *self, int family, int from, int to)
{
	long q;
	int i;

	for (i = from; i < to; i++) {
		self->fds[i] = sock_connect_start(family, &self->ls, self->llen);
		ASSERT_LE(0, self->fds[i]);
		ASSERT_EQ(0, sock_connect_wait(self->fds[i], time_ns() + STEP_NS));
	}
	proc_wait_count(family, self->lport, TCP_ST_LISTEN, to, &q, STEP_NS);
	ASSERT_EQ(to, q) TH_LOG("accept queue");
}

TEST_F(listen, acceptq_full_drops_syn)
{
	unsigned long long t0;
	struct tcp_info ti;
	int fd, cfd;

	ASSERT_LE(0, listen_open(self, variant->family, ACCQ_BACKLOG));
	accq_fill(_metadata, self, variant->family, 0, ACCQ_FILL);
	mib_snapshot(&self->a);
	t0 = time_ns();
	fd = sock_connect_start(variant->family, &self->ls, self->llen);
	ASSERT_LE(0, fd);
	ASSERT_TRUE(mib_wait_moved(&self->a, &self->cur, "ListenOverflows",
				   MOVE_NS)) TH_LOG("the SYN was not dropped");
	/* The application catches up by one connection. */
	cfd = sock_accept_one(self->lfd, STEP_NS);
	ASSERT_LE(0, cfd);
	sock_close_rst(cfd);
	EXPECT_EQ(0, sock_connect_wait(fd, t0 + CONNECT_NS));
	mib_snapshot(&self->b);
	ASSERT_EQ(0, sock_tcp_info(fd, &ti));
	sock_close_rst(fd);
	EXPECT_LE(1U, ti.tcpi_total_retrans) TH_LOG("no SYN retransmit");
	EXPECT_LE(1, mib_delta(&self->a, &self->b, "ListenOverflows"));
	EXPECT_LE(1, mib_delta(&self->a, &self->b, "ListenDrops"));
}

/*
 * A client whose SYN got in while the accept queue had room, its third
 * ACK held back (TCP_DEFER_ACCEPT on a connecting socket: the kernel
 * sends it with the first data) while the last slot fills.  Returns the
 * client, or -1 when a stall let the ACK out first (the caller retries).
 */
static int accq_held_client(struct __test_metadata *_metadata,
			    struct _test_data_listen *self, int family)
{
	int pfd;

	ASSERT_LE(0, listen_open(self, family, ACCQ_BACKLOG));
	accq_fill(_metadata, self, family, 0, ACCQ_FILL - 1);
	pfd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(0, sock_set_int(pfd, IPPROTO_TCP, TCP_DEFER_ACCEPT, 1));
	if (connect(pfd, (struct sockaddr *)&self->ls, self->llen))
		ASSERT_EQ(EINPROGRESS, errno);
	ASSERT_EQ(0, sock_connect_wait(pfd, time_ns() + STEP_NS));
	accq_fill(_metadata, self, family, ACCQ_FILL - 1, ACCQ_FILL);
	if (proc_tcp_count(family, self->lport, TCP_ST_SYN_RECV, NULL) == 1)
		return pfd;
	sock_close_rst(pfd);
	for (pfd = 0; pfd < ACCQ_FILL; pfd++) {
		sock_close_rst(self->fds[pfd]);
		self->fds[pfd] = -1;
	}
	close(self->lfd);
	self->lfd = -1;
	return -1;
}

TEST_F(listen, acceptq_full_drops_third_ack)
{
	unsigned long long tw;
	struct tcp_info ti;
	int pfd = -1, cfd, i;

	for (i = 0; i < 3 && pfd < 0; i++)
		pfd = accq_held_client(_metadata, self, variant->family);
	ASSERT_LE(0, pfd) TH_LOG("the third ACK left before the request 3 times");
	mib_snapshot(&self->a);
	tw = time_ns();
	ASSERT_EQ(1, write(pfd, "q", 1));
	/* The request and the ACK in it are dropped at the full queue. */
	time_sleep_ns(1500 * NSEC_PER_MSEC);
	ASSERT_EQ(0, sock_tcp_info(pfd, &ti));
	EXPECT_EQ(1U, ti.tcpi_unacked) TH_LOG("the request got in while full");
	cfd = sock_accept_one(self->lfd, STEP_NS);
	ASSERT_LE(0, cfd);
	mib_snapshot(&self->b);
	sock_close_rst(cfd);
	EXPECT_LE(1, mib_delta(&self->a, &self->b, "ListenOverflows"));
	/* The request socket's timer: SYN-ACK retransmits while it is full. */
	EXPECT_LE(1, mib_delta(&self->a, &self->b, "TCPSynRetrans"));
	/* With room again, the request gets in. */
	while (!sock_tcp_info(pfd, &ti) && ti.tcpi_unacked &&
	       time_ns() - tw < 10 * NSEC_PER_SEC)
		time_sleep_ns(5 * NSEC_PER_MSEC);
	EXPECT_EQ(0U, ti.tcpi_unacked) TH_LOG("the request was never acknowledged");
	sock_close_rst(pfd);
}

/* ---- overflow_requests_complete ----------------------------------------- */

#define OVF_BACKLOG	2
#define OVF_CLIENTS	8
#define OVF_TXNS	4
#define OVF_RESP	4096
#define OVF_IO_S	30

struct ovf {
	int family, lfd, done;
	struct sockaddr_storage ls;
	socklen_t llen;
	int answered, bad_req, accept_err;
	int ok[OVF_CLIENTS], failed[OVF_CLIENTS];
	struct mib_snap a, cur;
};

struct ovf_client {
	struct ovf *o;
	unsigned int id;
	pthread_t tid;
};

/* The response to "GET /<cli>/<seq>": a pattern derived from both. */
static void ovf_response(unsigned char *buf, unsigned int cli, unsigned int seq)
{
	unsigned int i;

	for (i = 0; i < OVF_RESP; i++)
		buf[i] = (unsigned char)(i * 7 + cli * 31 + seq * 13 + 1);
}

/* One connection at a time: read the request, answer it, close. */
static void *ovf_server(void *arg)
{
	unsigned char resp[OVF_RESP];
	struct ovf *o = arg;
	unsigned int cli, seq;
	char req[64];
	ssize_t n;
	int fd;

	/* Accept nothing until the queue overflowed (at most 2 s). */
	mib_wait_moved(&o->a, &o->cur, "ListenOverflows", STEP_NS);
	while (!__atomic_load_n(&o->done, __ATOMIC_ACQUIRE)) {
		errno = 0;
		fd = sock_accept_one(o->lfd, 50 * NSEC_PER_MSEC);
		if (fd < 0) {
			if (errno && errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				o->accept_err++;
			continue;
		}
		sock_set_io_timeouts(fd, OVF_IO_S);
		n = read(fd, req, sizeof(req) - 1);
		req[n > 0 ? n : 0] = '\0';
		if (sscanf(req, "GET /%u/%u\n", &cli, &seq) != 2) {
			o->bad_req++;
		} else {
			ovf_response(resp, cli, seq);
			if (write(fd, resp, sizeof(resp)) == sizeof(resp))
				o->answered++;
		}
		close(fd);
	}
	return NULL;
}

/* One transaction; whether every byte of the response arrived right. */
static bool ovf_txn(struct ovf *o, unsigned int cli, unsigned int seq)
{
	unsigned char want[OVF_RESP], got[OVF_RESP + 1];
	size_t len = 0;
	char req[64];
	ssize_t n;
	int fd, rlen;

	fd = socket(o->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	/* SO_SNDTIMEO bounds connect() too. */
	sock_set_io_timeouts(fd, OVF_IO_S);
	rlen = snprintf(req, sizeof(req), "GET /%u/%u\n", cli, seq);
	if (connect(fd, (struct sockaddr *)&o->ls, o->llen) ||
	    write(fd, req, rlen) != rlen)
		goto out;
	while (len < sizeof(got) &&
	       (n = read(fd, got + len, sizeof(got) - len)) > 0)
		len += n;
	ovf_response(want, cli, seq);
out:
	close(fd);
	return len == OVF_RESP && !memcmp(got, want, OVF_RESP);
}

static void *ovf_client(void *arg)
{
	struct ovf_client *c = arg;
	unsigned int seq;

	for (seq = 0; seq < OVF_TXNS; seq++) {
		if (ovf_txn(c->o, c->id, seq))
			c->o->ok[c->id]++;
		else
			c->o->failed[c->id]++;
	}
	return NULL;
}

/*
 * Transactions of OVF_CLIENTS clients started at once against a backlog
 * of OVF_BACKLOG: SYNs and third ACKs are dropped at the full accept
 * queue (the 2003 loopback stall), and every request still gets its
 * whole, exact answer.
 */
TEST_F_TIMEOUT(listen, overflow_requests_complete, 180)
{
	struct ovf_client c[OVF_CLIENTS];
	struct ovf *o = calloc(1, sizeof(*o));
	int ok, failed;
	pthread_t srv;
	unsigned int i;

	ASSERT_NE(NULL, o);
	o->family = variant->family;
	o->lfd = listen_open(self, o->family, OVF_BACKLOG);
	ASSERT_LE(0, o->lfd);
	o->ls = self->ls;
	o->llen = self->llen;
	mib_snapshot(&o->a);
	ASSERT_EQ(0, pthread_create(&srv, NULL, ovf_server, o));
	for (i = 0; i < OVF_CLIENTS; i++) {
		c[i].o = o;
		c[i].id = i;
		ASSERT_EQ(0, pthread_create(&c[i].tid, NULL, ovf_client, &c[i]));
	}
	for (i = 0; i < OVF_CLIENTS; i++)
		pthread_join(c[i].tid, NULL);
	__atomic_store_n(&o->done, 1, __ATOMIC_RELEASE);
	pthread_join(srv, NULL);
	mib_snapshot(&self->b);
	EXPECT_LE(1, mib_delta(&o->a, &self->b, "ListenOverflows"))
		TH_LOG("the accept queue never overflowed");
	for (i = 0, ok = 0, failed = 0; i < OVF_CLIENTS; i++) {
		ok += o->ok[i];
		failed += o->failed[i];
	}
	EXPECT_EQ(0, failed) TH_LOG("%d of %d transactions failed", failed,
				    OVF_CLIENTS * OVF_TXNS);
	EXPECT_EQ(OVF_CLIENTS * OVF_TXNS, ok);
	EXPECT_EQ(OVF_CLIENTS * OVF_TXNS, o->answered);
	EXPECT_EQ(0, o->bad_req);
	EXPECT_EQ(0, o->accept_err);
	free(o);
}

TEST_HARNESS_MAIN
