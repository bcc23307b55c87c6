// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists: a full SYN queue with net.ipv4.tcp_syncookies=0
 * turns a connect() that normally costs one round trip into a second
 * ("In-depth analysis of common three-way handshake exceptions", seed 004
 * of this project).  This test produces it on loopback, in a private
 * network namespace per address family, and reports what the client sees
 * with the TcpExt counters that tell the cause.
 *
 * Raw SYNs from a second local address fill the listener's SYN queue
 * (backlog + 1 request sockets); an nftables rule drops their SYN-ACKs so
 * the handshakes never complete.  A real connect() then has its SYN
 * dropped (TCPReqQFullDrop, ListenDrops).  The test empties the queue with
 * raw RSTs (EmbryonicRsts) and the client gets in with its first SYN
 * retransmit: connect() takes the initial RTO, 1 s.  A control sample with
 * tcp_syncookies=1 shows the cookie path (TCPReqQFullDoCookies)
 * connecting at once.
 *
 * With -f N it then floods the listener with N raw SYNs from distinct
 * source ports, syncookies=1, in bursts; after each burst a real client
 * connects and sends a pattern that the server checks byte for byte (the
 * SYN flood of the stress run, scripts/measure/stress).
 *
 * It reports latencies and asserts no threshold; it fails when the
 * scenario was not produced (the queue never filled, no SYN was dropped,
 * the flood drew fewer cookies than half its SYNs), a measurement could
 * not be taken, or a byte arrived wrong.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/types.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include "kselftest.h"
#include "lib/csum.h"
#include "lib/mib.h"
#include "lib/nft.h"
#include "lib/opt.h"
#include "lib/proc.h"
#include "lib/setup.h"
#include "lib/sock.h"
#include "lib/stats.h"
#include "lib/sysctl.h"
#include "lib/time.h"

#define NFT_TABLE		"tcp_synq_full"
/* The raw SYNs come from this second local address. */
#define ALT_ADDR4		"127.0.0.2"
#define ALT_ADDR6		"fd00:5e7::2"
#define BACKLOG			8
#define SAMPLES			3

#define TH_SYN			0x02
#define TH_RST			0x04

/* -f: SYNs per burst, and what each burst's real connection carries. */
#define FLOOD_BURST		250
#define FLOOD_BYTES		32768

static unsigned long flood_syns;

static const char *alt_addr(int family)
{
	return family == AF_INET ? ALT_ADDR4 : ALT_ADDR6;
}

/* The kernel's struct in6_ifreq (linux/ipv6.h clashes with netinet/in.h). */
struct alt_in6_ifreq {
	struct in6_addr addr;
	__u32 prefixlen;
	int ifindex;
};

/*
 * Make the second local address usable: 127.0.0.2 is local already (all
 * of 127/8 is), the IPv6 one is added to lo (no DAD on loopback).
 */
static int alt_addr_setup(struct setup_test *t)
{
	struct alt_in6_ifreq req;
	int fd;

	if (t->family == AF_INET)
		return 0;
	memset(&req, 0, sizeof(req));
	inet_pton(AF_INET6, ALT_ADDR6, &req.addr);
	req.prefixlen = 128;
	req.ifindex = if_nametoindex("lo");
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || (ioctl(fd, SIOCSIFADDR, &req) && errno != EEXIST)) {
		setup_why(t, "cannot add %s to lo: %s", ALT_ADDR6, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* ---- raw TCP segments ----------------------------------------------------- */

struct raw_tcp {
	__u16 sport;
	__u16 dport;
	__u32 seq;
	__u32 ack;
	__u8 doff;
	__u8 flags;
	__u16 win;
	__u16 csum;
	__u16 urg;
};

struct raw_peer {
	int fd;
	unsigned char saddr[16];
	unsigned char daddr[16];
	unsigned int alen;
	__u16 dport;
	struct sockaddr_storage dst;
	socklen_t dlen;
};

static __u16 tcp_csum(const struct raw_peer *rp, const struct raw_tcp *th)
{
	unsigned int sum;

	sum = csum_add(0, rp->saddr, rp->alen);
	sum = csum_add(sum, rp->daddr, rp->alen);
	sum += IPPROTO_TCP + sizeof(*th);
	sum = csum_add(sum, th, sizeof(*th));
	return csum_fold(sum);
}

/* A raw TCP socket sending from the second local address to @ls. */
static int raw_open(struct setup_test *t, struct raw_peer *rp,
		    const struct sockaddr_storage *ls, unsigned short lport)
{
	struct sockaddr_storage src;
	socklen_t slen;

	memset(rp, 0, sizeof(*rp));
	rp->dport = htons(lport);
	slen = sock_inet_addr(t->family, alt_addr(t->family), 0, &src);
	if (t->family == AF_INET) {
		rp->alen = 4;
		memcpy(rp->saddr, &((struct sockaddr_in *)&src)->sin_addr, 4);
		memcpy(rp->daddr, &((struct sockaddr_in *)ls)->sin_addr, 4);
	} else {
		rp->alen = 16;
		memcpy(rp->saddr, &((struct sockaddr_in6 *)&src)->sin6_addr, 16);
		memcpy(rp->daddr, &((struct sockaddr_in6 *)ls)->sin6_addr, 16);
	}
	/* Port 0: an IPv6 raw socket reads sin6_port as the protocol. */
	rp->dlen = sock_loopback_addr(t->family, 0, &rp->dst);
	rp->fd = socket(t->family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);
	if (rp->fd < 0) {
		setup_why(t, "raw socket: %s (needs CAP_NET_RAW)", strerror(errno));
		return -1;
	}
	sock_set_int(rp->fd, SOL_SOCKET, SO_RCVBUF, 4096);
	if (bind(rp->fd, (struct sockaddr *)&src, slen)) {
		setup_why(t, "bind raw socket to %s: %s", alt_addr(t->family),
			  strerror(errno));
		close(rp->fd);
		rp->fd = -1;
		return -1;
	}
	return 0;
}

/* Send one segment per source port @base..@base + @n - 1. */
static int raw_send(struct setup_test *t, const struct raw_peer *rp,
		    unsigned short base, unsigned long n, __u32 seq, __u8 flags)
{
	struct raw_tcp th;
	unsigned long i;

	for (i = 0; i < n; i++) {
		memset(&th, 0, sizeof(th));
		th.sport = htons(base + i);
		th.dport = rp->dport;
		th.seq = htonl(seq);
		th.doff = (sizeof(th) / 4) << 4;
		th.flags = flags;
		th.win = htons(65535);
		th.csum = tcp_csum(rp, &th);
		if (sendto(rp->fd, &th, sizeof(th), 0,
			   (const struct sockaddr *)&rp->dst, rp->dlen) !=
		    sizeof(th)) {
			setup_why(t, "raw send: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* ---- the test --------------------------------------------------------------- */

struct synq_res {
	unsigned long queued, connected, client_rtx;
	unsigned long long lat[SAMPLES];
	struct stats_summary s;
	long long min_us;
	long long overflows, drops, reqq_drop, syn_retrans, timeouts, emb_rsts;
	long long nft_dropped;
	long long cookie_us, cookies, cookies_sent;
};

struct synq_ctx {
	struct raw_peer rp;
	int lfd;
	unsigned short lport;
	struct sockaddr_storage ls;
	socklen_t llen;
	unsigned long fill;
};

/*
 * One measured connect() against a full SYN queue: the raw SYNs fill it,
 * the client's SYN must be dropped (TCPReqQFullDrop moves), then raw RSTs
 * empty the queue and the SYN retransmit gets in.  With @cookie the SYN
 * is answered with a cookie instead.
 */
static int synq_sample(struct setup_test *t, struct synq_ctx *x, bool cookie,
		       unsigned long long *lat, unsigned long *rtx)
{
	const char *ctr = cookie ? "TCPReqQFullDoCookies" : "TCPReqQFullDrop";
	unsigned short base = 1024 + random() % 60000;
	unsigned long long t0;
	__u32 seq = random();
	struct tcp_info ti;
	int fd, err;
	long n;

	if (base + x->fill > 65535)
		base = 1024;
	if (raw_send(t, &x->rp, base, x->fill, seq, TH_SYN))
		return -1;
	n = setup_wait_proc(t, x->lport, TCP_ST_SYN_RECV, x->fill, NULL);
	if (n != (long)x->fill) {
		setup_why(t, "SYN queue holds %ld request sockets, expected %lu",
			  n, x->fill);
		return -1;
	}
	mib_snapshot(t->c);
	t0 = time_ns();
	fd = setup_connect_start(t, &x->ls, x->llen);
	if (fd < 0)
		return -1;
	if (!setup_wait_moved(t, t->c, ctr, 500 * NSEC_PER_MSEC)) {
		setup_why(t, "%s did not move: the SYN queue was not full", ctr);
		goto fail;
	}
	/* Empty the SYN queue: one in-window RST per raw SYN. */
	if (raw_send(t, &x->rp, base, x->fill, seq + 1, TH_RST))
		goto fail;
	n = setup_wait_proc(t, x->lport, TCP_ST_SYN_RECV, 0, NULL);
	if (n) {
		setup_why(t, "SYN queue still holds %ld request sockets after the RSTs",
			  n);
		goto fail;
	}
	err = sock_connect_wait(fd, t0 + CONNECT_WAIT_NS);
	if (err) {
		setup_why(t, "connect() after the SYN queue drained: %s",
			  strerror(-err));
		goto fail;
	}
	*lat = time_ns() - t0;
	sock_tcp_info(fd, &ti);
	*rtx = ti.tcpi_total_retrans;
	sock_close_rst(sock_accept_one(x->lfd, STEP_NS));
	sock_close_rst(fd);
	return 0;
fail:
	sock_close_rst(fd);
	return -1;
}

struct flood_res {
	unsigned long syns, conns, bad;
	unsigned long long bytes;
	long long cookies_sent;
};

/* The byte at offset @i of flood connection @conn. */
static unsigned char flood_byte(unsigned long conn, size_t i)
{
	return (unsigned char)(i * 7 + conn * 13 + 1);
}

/*
 * One real connection through the flood: connect, send FLOOD_BYTES of
 * the pattern, and check every byte on the accepted side.
 */
static int flood_conn(struct setup_test *t, struct synq_ctx *x,
		      unsigned long conn, struct flood_res *f)
{
	static unsigned char buf[FLOOD_BYTES];
	int fd, afd = -1, err;
	size_t i, got = 0;
	ssize_t n;

	fd = setup_connect_start(t, &x->ls, x->llen);
	if (fd < 0)
		return -1;
	err = sock_connect_wait(fd, time_ns() + CONNECT_WAIT_NS);
	if (err) {
		setup_why(t, "flood: connect() %lu: %s", conn, strerror(-err));
		goto out;
	}
	afd = sock_accept_one(x->lfd, STEP_NS);
	if (afd < 0) {
		setup_why(t, "flood: connection %lu was not accepted", conn);
		goto out;
	}
	sock_set_io_timeouts(fd, 5);
	sock_set_io_timeouts(afd, 5);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = flood_byte(conn, i);
	if (write(fd, buf, sizeof(buf)) != sizeof(buf) || shutdown(fd, SHUT_WR)) {
		setup_why(t, "flood: send on connection %lu: %s", conn,
			  strerror(errno));
		goto out;
	}
	while ((n = read(afd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < (size_t)n; i++)
			f->bad += buf[i] != flood_byte(conn, got + i);
		got += n;
	}
	f->bytes += got;
	if (n < 0 || got != FLOOD_BYTES)
		setup_why(t, "flood: connection %lu delivered %zu of %d bytes%s%s",
			  conn, got, FLOOD_BYTES, n < 0 ? ": " : "",
			  n < 0 ? strerror(errno) : "");
	else if (!f->bad)
		f->conns++;
out:
	sock_close_rst(afd);
	sock_close_rst(fd);
	return t->why[0] ? -1 : 0;
}

/* -f N: N raw SYNs at the listener with syncookies=1, in bursts. */
static void synq_flood(struct setup_test *t, struct synq_ctx *x,
		       struct flood_res *f)
{
	unsigned long n;

	mib_snapshot(t->a);
	while (f->syns < flood_syns && setup_running(t)) {
		n = flood_syns - f->syns;
		if (n > FLOOD_BURST)
			n = FLOOD_BURST;
		if (raw_send(t, &x->rp, 1024 + f->syns % 64000, n, random(),
			     TH_SYN))
			break;
		f->syns += n;
		if (flood_conn(t, x, f->syns / FLOOD_BURST, f))
			break;
	}
	mib_snapshot(t->b);
	f->cookies_sent = mib_delta(t->a, t->b, "SyncookiesSent");
	ksft_print_msg("%s: scenario=synflood family=%s syns=%lu conns=%lu bytes_verified=%llu bad_bytes=%lu syncookies_sent=%lld\n",
		       program_invocation_short_name, t->fname, f->syns,
		       f->conns, f->bytes, f->bad, f->cookies_sent);
	if (t->why[0])
		return;
	if (f->syns < flood_syns)
		setup_why(t, "flood: time bound reached after %lu of %lu SYNs",
			  f->syns, flood_syns);
	else if (f->bad)
		setup_why(t, "flood: %lu bytes arrived wrong", f->bad);
	else if (f->cookies_sent < (long long)f->syns / 2)
		setup_why(t, "flood: %lld syncookies for %lu SYNs: the flood did not reach the listener",
			  f->cookies_sent, f->syns);
}

#define FMT_SYNQ \
	"%s: scenario=synq family=%s backlog=%d queued=%lu syncookies=0 samples=%d connected=%lu min_us=%lld p50_us=%llu p99_us=%llu max_us=%llu client_syn_rtx=%lu listen_overflows=%s listen_drops=%s reqq_full_drop=%s syn_retrans=%s timeouts=%s embryonic_rsts=%s synack_dropped=%s cookie_us=%s reqq_full_do_cookies=%s syncookies_sent=%s\n"

static void synq_report(struct setup_test *t, struct synq_res *r)
{
	char b[10][24];

	ksft_print_msg(FMT_SYNQ, program_invocation_short_name, t->fname,
		       BACKLOG, r->queued, SAMPLES, r->connected, r->min_us,
		       r->s.p50, r->s.p99, r->s.max, r->client_rtx,
		       setup_cnt(b[0], r->overflows), setup_cnt(b[1], r->drops),
		       setup_cnt(b[2], r->reqq_drop),
		       setup_cnt(b[3], r->syn_retrans),
		       setup_cnt(b[4], r->timeouts),
		       setup_cnt(b[5], r->emb_rsts),
		       setup_cnt(b[6], r->nft_dropped),
		       setup_cnt(b[7], r->cookie_us),
		       setup_cnt(b[8], r->cookies),
		       setup_cnt(b[9], r->cookies_sent));
	ksft_print_msg("  %-34s %10s %10s %10s\n", "connect() latency (us)",
		       "min", "p50", "max");
	ksft_print_msg("  %-34s %10lld %10llu %10llu\n",
		       "SYN queue full, syncookies=0", r->min_us, r->s.p50,
		       r->s.max);
	ksft_print_msg("  %-34s %10s %10s %10s\n", "SYN queue full, syncookies=1",
		       "", b[7], "");
	ksft_print_msg("  %lu/%d connects, %lu SYN retransmits\n",
		       r->connected, SAMPLES, r->client_rtx);
	ksft_print_msg("  TcpExt: ReqQFullDrop %s ListenDrops %s SynRetrans %s Timeouts %s\n",
		       b[2], b[1], b[3], b[4]);
}

static int synq_test(struct setup_test *t)
{
	struct synq_ctx x = { .rp.fd = -1, .lfd = -1 };
	struct sysctl_saved sc = { 0 };
	unsigned long long lat;
	struct synq_res r;
	unsigned long rtx;
	char match[160];
	bool nft = false;

	memset(&r, 0, sizeof(r));
	/* inet_csk_reqsk_queue_is_full(): more than the backlog. */
	r.queued = BACKLOG + 1;
	x.fill = r.queued;
	r.cookie_us = -1;
	r.cookies = -1;
	r.cookies_sent = -1;

	if (alt_addr_setup(t))
		goto out;
	if (sysctl_change(&sc, "/proc/sys/net/ipv4/tcp_syncookies", "0")) {
		setup_why(t, "cannot set net.ipv4.tcp_syncookies=0: %s",
			  strerror(errno));
		goto out;
	}
	x.lfd = setup_listener_open(t, BACKLOG, &x.lport, &x.ls, &x.llen);
	if (x.lfd < 0)
		goto out;
	snprintf(match, sizeof(match), "%s daddr %s tcp sport %u",
		 t->family == AF_INET ? "ip" : "ip6", alt_addr(t->family),
		 x.lport);
	if (nft_drop_rule(NFT_TABLE, match)) {
		setup_why(t, "nft: cannot install the rule '%s'", match);
		goto out;
	}
	nft = true;
	if (raw_open(t, &x.rp, &x.ls, x.lport))
		goto out;

	mib_snapshot(t->a);
	while (r.connected < SAMPLES && setup_running(t)) {
		if (synq_sample(t, &x, false, &lat, &rtx))
			break;
		r.lat[r.connected++] = lat;
		r.client_rtx += rtx;
	}
	mib_snapshot(t->b);

	/* Control: the same full queue with syncookies on. */
	if (!t->why[0] && setup_running(t) &&
	    !sysctl_write("/proc/sys/net/ipv4/tcp_syncookies", "1") &&
	    !synq_sample(t, &x, true, &lat, &rtx)) {
		r.cookie_us = lat / NSEC_PER_USEC;
		mib_snapshot(t->cur);
		r.cookies = mib_delta(t->b, t->cur, "TCPReqQFullDoCookies");
		r.cookies_sent = mib_delta(t->b, t->cur, "SyncookiesSent");
	}

	r.overflows = mib_delta(t->a, t->b, "ListenOverflows");
	r.drops = mib_delta(t->a, t->b, "ListenDrops");
	r.reqq_drop = mib_delta(t->a, t->b, "TCPReqQFullDrop");
	r.syn_retrans = mib_delta(t->a, t->b, "TCPSynRetrans");
	r.timeouts = mib_delta(t->a, t->b, "TCPTimeouts");
	r.emb_rsts = mib_delta(t->a, t->b, "EmbryonicRsts");
	stats_summarize(r.lat, r.connected, &r.s);
	r.min_us = r.connected ? (long long)(r.lat[0] / NSEC_PER_USEC) : -1;
	r.nft_dropped = nft_packets("inet " NFT_TABLE);
	/* The flood keeps the rule: the queue stays full, SYNs draw cookies. */
	if (flood_syns && !t->why[0] && setup_running(t)) {
		struct flood_res f = { 0 };

		if (r.cookie_us < 0)
			setup_why(t, "flood: the syncookies=1 control sample failed");
		else
			synq_flood(t, &x, &f);
	}
	nft_drop_rule_remove(NFT_TABLE);
	nft = false;
	synq_report(t, &r);

	/* Data checks: the scenario was produced in every sample. */
	if (!r.connected)
		setup_why(t, "no measured connect completed");
	else if (r.connected < SAMPLES && !setup_running(t))
		setup_why(t, "time bound reached after %lu of %d samples",
			  r.connected, SAMPLES);
	else if (r.reqq_drop >= 0 && r.reqq_drop < (long long)r.connected)
		setup_why(t, "TCPReqQFullDrop moved %lld times for %lu samples",
			  r.reqq_drop, r.connected);
	else if (r.client_rtx < r.connected)
		setup_why(t, "%lu SYN retransmits for %lu samples: a SYN was not dropped",
			  r.client_rtx, r.connected);
out:
	if (nft)
		nft_drop_rule_remove(NFT_TABLE);
	if (x.rp.fd >= 0)
		close(x.rp.fd);
	if (x.lfd >= 0)
		close(x.lfd);
	sysctl_restore(&sc);
	return t->why[0] ? -1 : 0;
}

static void synq_opt(int c, const char *arg)
{
	if (c == 'f')
		flood_syns = opt_ulong("-f", arg, 1, 1000000);
}

int main(int argc, char **argv)
{
	static const struct setup_prog prog = {
		.scenario = "synq",
		.help = "SYN queue full with net.ipv4.tcp_syncookies=0: 3 connect()s whose SYN\n"
			"is dropped, one control connect() with syncookies=1.  Needs nft.\n"
			"  -f N        then N raw SYNs with syncookies=1, in bursts of 250, each\n"
			"              followed by a connection whose bytes are checked\n",
		.optstring = "f:",
		.opt = synq_opt,
		.run = synq_test,
		.needs_nft = true,
	};

	return setup_main(argc, argv, &prog);
}
