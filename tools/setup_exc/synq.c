// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_setup_exc -S synq: a full SYN queue with net.ipv4.tcp_syncookies=0
 * turns a connect() that normally costs one round trip into a second.
 * Raw SYNs from a second local address fill the listener's SYN queue
 * (backlog + 1 request sockets, lib/rawsyn.c); an nftables rule drops
 * their SYN-ACKs so the handshakes never complete.  A real connect() then
 * has its SYN dropped (TCPReqQFullDrop, ListenDrops).  Raw RSTs empty the
 * queue (EmbryonicRsts) and the client gets in with its first SYN
 * retransmit: connect() takes the initial RTO, 1 s.  A control sample
 * with tcp_syncookies=1 shows the cookie path (TCPReqQFullDoCookies)
 * connecting at once.
 *
 * With -f N it then floods the listener with N raw SYNs from distinct
 * source ports, syncookies=1, in bursts; after each burst a real client
 * connects and sends a pattern that the server checks byte for byte (the
 * SYN flood of the stress run, scripts/measure/stress, which judges
 * bad_bytes= and syncookies_sent=).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/mib.h"
#include "lib/nft.h"
#include "lib/proc.h"
#include "lib/rawsyn.h"
#include "lib/sock.h"
#include "lib/stats.h"
#include "lib/sysctl.h"
#include "setup_exc.h"

#define NFT_TABLE		"tcp_setup_exc"
#define BACKLOG			8
#define SAMPLES			3

#define FMT_FLOOD \
	"%s: scenario=synflood family=%s syns=%lu conns=%lu bytes_verified=%llu bad_bytes=%lu syncookies_sent=%lld\n"

/* -f: SYNs per burst, and what each burst's real connection carries. */
#define FLOOD_BURST		250
#define FLOOD_BYTES		32768

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
	struct rawsyn rp;
	int lfd;
	unsigned short lport;
	struct sockaddr_storage ls;
	socklen_t llen;
	unsigned long fill;
	bool nft;
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
	if (rawsyn_send(&x->rp, base, x->fill, seq, RAWSYN_SYN)) {
		setup_why(t, "raw send: %s", strerror(errno));
		return -1;
	}
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
	if (rawsyn_send(&x->rp, base, x->fill, seq + 1, RAWSYN_RST)) {
		setup_why(t, "raw send: %s", strerror(errno));
		goto fail;
	}
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
	while (f->syns < setup_opts.flood_syns && setup_running(t)) {
		n = setup_opts.flood_syns - f->syns;
		if (n > FLOOD_BURST)
			n = FLOOD_BURST;
		if (rawsyn_send(&x->rp, 1024 + f->syns % 64000, n, random(),
				RAWSYN_SYN)) {
			setup_why(t, "flood: raw send: %s", strerror(errno));
			break;
		}
		f->syns += n;
		if (flood_conn(t, x, f->syns / FLOOD_BURST, f))
			break;
	}
	mib_snapshot(t->b);
	f->cookies_sent = mib_delta(t->a, t->b, "SyncookiesSent");
	printf(FMT_FLOOD, PROG, t->fname, f->syns, f->conns, f->bytes, f->bad,
	       f->cookies_sent);
}

#define FMT_SYNQ \
	"%s: scenario=synq family=%s backlog=%d queued=%lu syncookies=0 samples=%d connected=%lu min_us=%lld p50_us=%llu p99_us=%llu max_us=%llu client_syn_rtx=%lu listen_overflows=%s listen_drops=%s reqq_full_drop=%s syn_retrans=%s timeouts=%s embryonic_rsts=%s synack_dropped=%s cookie_us=%s reqq_full_do_cookies=%s syncookies_sent=%s\n"

static void synq_deltas(struct setup_test *t, struct synq_res *r)
{
	r->overflows = mib_delta(t->a, t->b, "ListenOverflows");
	r->drops = mib_delta(t->a, t->b, "ListenDrops");
	r->reqq_drop = mib_delta(t->a, t->b, "TCPReqQFullDrop");
	r->syn_retrans = mib_delta(t->a, t->b, "TCPSynRetrans");
	r->timeouts = mib_delta(t->a, t->b, "TCPTimeouts");
	r->emb_rsts = mib_delta(t->a, t->b, "EmbryonicRsts");
	stats_summarize(r->lat, r->connected, &r->s);
	r->min_us = r->connected ? (long long)(r->lat[0] / NSEC_PER_USEC) : -1;
	r->nft_dropped = nft_packets("inet " NFT_TABLE);
}

static void synq_report(struct setup_test *t, struct synq_res *r)
{
	char b[10][24];

	printf(FMT_SYNQ, PROG, t->fname,
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
	printf("  %-34s %10s %10s %10s\n", "connect() latency (us)",
	       "min", "p50", "max");
	printf("  %-34s %10lld %10llu %10llu\n",
	       "SYN queue full, syncookies=0", r->min_us, r->s.p50,
	       r->s.max);
	printf("  %-34s %10s %10s %10s\n", "SYN queue full, syncookies=1",
	       "", b[7], "");
	printf("  %lu/%d connects, %lu SYN retransmits\n",
	       r->connected, SAMPLES, r->client_rtx);
	printf("  TcpExt: ReqQFullDrop %s ListenDrops %s SynRetrans %s Timeouts %s\n",
	       b[2], b[1], b[3], b[4]);
}

/*
 * The listener with tcp_syncookies=0, the nft rule that drops its
 * SYN-ACKs to the second address, and the raw socket there.
 */
static int synq_open(struct setup_test *t, struct synq_ctx *x,
		     struct sysctl_saved *sc)
{
	char match[160];

	if (sysctl_change(sc, "/proc/sys/net/ipv4/tcp_syncookies", "0")) {
		setup_why(t, "cannot set net.ipv4.tcp_syncookies=0: %s",
			  strerror(errno));
		return -1;
	}
	x->lfd = setup_listener_open(t, BACKLOG, &x->lport, &x->ls, &x->llen);
	if (x->lfd < 0)
		return -1;
	rawsyn_nft_match(match, sizeof(match), t->family, x->lport);
	if (nft_drop_rule(NFT_TABLE, match)) {
		setup_why(t, "nft: cannot install the rule '%s'", match);
		return -1;
	}
	x->nft = true;
	if (rawsyn_open(&x->rp, t->family, &x->ls, x->lport, match,
			sizeof(match))) {
		setup_why(t, "%s", match);
		return -1;
	}
	return 0;
}

int synq_run(struct setup_test *t)
{
	struct synq_ctx x = { .rp.fd = -1, .lfd = -1 };
	struct sysctl_saved sc = { 0 };
	unsigned long long lat;
	struct synq_res r;
	unsigned long rtx;

	memset(&r, 0, sizeof(r));
	/* inet_csk_reqsk_queue_is_full(): more than the backlog. */
	r.queued = BACKLOG + 1;
	x.fill = r.queued;
	r.cookie_us = -1;
	r.cookies = -1;
	r.cookies_sent = -1;
	if (synq_open(t, &x, &sc))
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
	synq_deltas(t, &r);
	/* The flood keeps the rule: the queue stays full, SYNs draw cookies. */
	if (setup_opts.flood_syns && !t->why[0] && setup_running(t)) {
		struct flood_res f = { 0 };

		if (r.cookie_us < 0)
			setup_why(t, "flood: the syncookies=1 control sample failed");
		else
			synq_flood(t, &x, &f);
	}
	synq_report(t, &r);
	if (!r.connected)
		setup_why(t, "no measured connect completed");
out:
	if (x.nft)
		nft_drop_rule_remove(NFT_TABLE);
	rawsyn_close(&x.rp);
	if (x.lfd >= 0)
		close(x.lfd);
	sysctl_restore(&sc);
	return t->why[0] ? -1 : 0;
}
