// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists: what a stale FIN_WAIT2 timewait peer costs the
 * next connection from the same 4-tuple, as latencies to compare between
 * kernels and between the stale-ACK resend policies of the tcplat module
 * (scripts/measure/ab stale, stale-forever).  It builds the stale peer as
 * selftests/tcp_stale_ack does (which judges the fix): the client's RST/ACK
 * is dropped by an nftables rule, and the client reconnects from the same
 * port -g microseconds later; in a network namespace of its own, over
 * loopback, optionally with a netem delay.  One line per family:
 *
 *   tcp_stale_peer: family=ipv4 drop=rst_ack gap_us=10000 conns=N hits=H ...
 *
 * conns: reconnects measured; hits: those that met the stale peer (a RST
 * to the SYN, or the SYN retransmitted: syn_rtx, after 500 ms or more:
 * syn_rtx_late, refused: syn_rst); p50_us..max_us: reconnect latency;
 * syn_retrans and timeouts: TcpExtTCPSynRetrans and TcpExtTCPTimeouts
 * moved by; syn_rtx_max: most SYN retransmissions of one connect();
 * fast_max (-F): most of them sent right behind a RST; rst_dropped: what
 * the nft rule dropped.  No verdict: exit 0 when it measured, 1 when it
 * could not, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest.h"
#include "lib/cmd.h"
#include "lib/mib.h"
#include "lib/netns.h"
#include "lib/nft.h"
#include "lib/opt.h"
#include "lib/reconnect.h"
#include "lib/sock.h"
#include "lib/stats.h"
#include "lib/stop.h"
#include "lib/sysctl.h"
#include "lib/time.h"

#define PROG		"tcp_stale_peer"
#define NFT_TABLE	"tcp_stale_peer"
/* -F: SYN retransmissions by the timer before connect() fails. */
#define FOREVER_SYNCNT	2

struct options {
	unsigned long count;
	unsigned long time_s;
	bool ipv4, ipv6;
	unsigned long gap_us;
	unsigned long delay_us;
	bool no_drop;
	bool forever;
	bool no_netns;
	const char *samples;
};

static const char usage_text[] =
	"Usage: " PROG " [-4|-6] [-n N] [-t S] [-g US] [-d US] [-D|-F] [-N] [-s FILE]\n"
	"Latency of reconnecting to a stale FIN_WAIT2 timewait peer (built with nftables).\n"
	"\n"
	"  -n N   reconnects per family (default 1000)\n"
	"  -t S   time bound per family in seconds, then report (default 30)\n"
	"  -4|-6  one family (default both)\n"
	"  -g US  pause between close and reconnect (default 10000); within ~4 ms\n"
	"         of the old ISN the SYN gets a RST instead of a stale ACK\n"
	"  -d US  netem delay of US on lo each way (needs tc)\n"
	"  -D     control: no drop rule, no stale peer\n"
	"  -F     a peer that answers every SYN with a stale ACK (every client RST\n"
	"         dropped, ACK rate limit off, TCP_SYNCNT 2): each reconnect ends\n"
	"         in ETIMEDOUT; reports its duration and SYN retransmissions\n"
	"  -N     stay in the current network namespace (lo must be up)\n"
	"  -s F   write every reconnect's latency to F, \"<family> <us>\" a line\n"
	"  -h     this text\n"
	"\n"
	"Needs root and the nft command.\n";

static void parse_opts(int argc, char **argv, struct options *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->count = 1000;
	o->time_s = 30;
	o->gap_us = 10000;
	opterr = 0;
	while ((c = getopt(argc, argv, ":n:t:46g:d:DFNs:h")) != -1) {
		switch (c) {
		case 'n':
			o->count = opt_short_ulong(c, optarg, 1, 100000000UL);
			break;
		case 't':
			o->time_s = opt_short_ulong(c, optarg, 1, 86400UL);
			break;
		case '4':
			o->ipv4 = true;
			break;
		case '6':
			o->ipv6 = true;
			break;
		case 'g':
			o->gap_us = opt_short_ulong(c, optarg, 0, 10000000UL);
			break;
		case 'd':
			o->delay_us = opt_short_ulong(c, optarg, 0, 1000000UL);
			break;
		case 'D':
			o->no_drop = true;
			break;
		case 'F':
			o->forever = true;
			break;
		case 'N':
			o->no_netns = true;
			break;
		case 's':
			o->samples = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			opt_bad_option(c, argv);
		}
	}
	opt_no_operands(argc, argv);
	if (o->forever && o->no_drop)
		opt_usage_error("-F needs the drop rule, not -D");
	if (!o->ipv4 && !o->ipv6) {
		o->ipv4 = true;
		o->ipv6 = true;
	}
}

/* One family's run. */
struct run {
	const struct options *o;
	const char *fname;
	int lfd;
	struct reconnect_client c;
	unsigned long done;		/* measured reconnects */
	unsigned long long *conn_ns;	/* their latency */
	unsigned long hits, syn_rtx, syn_late, syn_rst;
	unsigned long syn_max;		/* most SYN retransmissions in one connect() */
	unsigned long fast_max;		/* most of them sent right behind a RST */
};

/* -F: one reconnect that must end in ETIMEDOUT; 0, 1 (refused) or -1. */
static int forever_one(struct run *t, const struct sockaddr_storage *ss,
		       socklen_t alen)
{
	long long rtx0, to0, rtx, to, fast;
	unsigned long long t0;
	int fd, err;

	fd = reconnect_socket(&t->c);
	if (fd < 0)
		return -1;
	/* connect() takes SO_SNDTIMEO as its bound: let it time out. */
	if (sock_set_int(fd, IPPROTO_TCP, TCP_SYNCNT, FOREVER_SYNCNT) ||
	    sock_set_io_timeouts(fd, 120)) {
		reconnect_fail(&t->c, "TCP_SYNCNT/SO_SNDTIMEO: %s", strerror(errno));
		close(fd);
		return -1;
	}
	rtx0 = mib_read("TCPSynRetrans");
	to0 = mib_read("TCPTimeouts");
	t0 = time_ns();
	err = connect(fd, (struct sockaddr *)ss, alen) ? errno : 0;
	close(fd);
	if (err == ECONNREFUSED)
		return 1;	/* an in-window SYN: the timewait socket sent a RST */
	if (err != ETIMEDOUT) {
		reconnect_fail(&t->c, "connect() ended with %s, want ETIMEDOUT",
			       err ? strerror(err) : "success");
		return -1;
	}
	t->conn_ns[t->done++] = time_ns() - t0;
	rtx = mib_read("TCPSynRetrans") - rtx0;
	to = mib_read("TCPTimeouts") - to0;
	if (rtx0 < 0 || to0 < 0) {
		reconnect_fail(&t->c, "no TcpExtTCPSynRetrans or TcpExtTCPTimeouts");
		return -1;
	}
	/* The timer counts its last firing too, when connect() gives up. */
	fast = rtx - (to - 1);
	if (rtx > (long long)t->syn_max)
		t->syn_max = rtx;
	if (fast > (long long)t->fast_max)
		t->fast_max = fast;
	t->syn_rtx += rtx > 0;
	t->hits++;
	return 0;
}

static int run_forever(struct run *t, int fd)
{
	struct sockaddr_storage ss;
	unsigned long refused = 0;
	socklen_t alen;
	int ret;

	if (sysctl_write("/proc/sys/net/ipv4/tcp_invalid_ratelimit", "0")) {
		reconnect_fail(&t->c, "cannot set tcp_invalid_ratelimit to 0: %s",
			       strerror(errno));
		close(fd);
		return -1;
	}
	if (reconnect_close_stale(&t->c, t->lfd, fd, 0))
		return -1;
	alen = sock_loopback_addr(t->c.family, t->c.sport, &ss);
	while (t->done < t->o->count && !stop_requested()) {
		time_sleep_ns(t->o->gap_us * NSEC_PER_USEC);
		ret = forever_one(t, &ss, alen);
		if (ret < 0)
			return -1;
		if (ret && ++refused > RECONNECT_MAX_REFUSED) {
			reconnect_fail(&t->c, "refused %lu times in a row", refused);
			return -1;
		}
		if (!ret)
			refused = 0;
		t->syn_rst += ret;
	}
	return 0;
}

/* The reconnect loop; 0, or -1 (-2: no drop rule) with t->c.err set. */
static int run_loop(struct run *t)
{
	unsigned long long deadline, lat;
	unsigned int flags, rtx;
	unsigned long i;
	int fd;

	deadline = time_ns() + t->o->time_s * NSEC_PER_SEC;
	fd = reconnect(&t->c, true, &lat, &flags, &rtx);
	if (fd < 0)
		return -1;
	/* The client port is known only now: install the rule. */
	if (!t->o->no_drop &&
	    nft_drop_rst(NFT_TABLE, t->c.cport, t->c.sport, t->o->forever)) {
		close(fd);
		reconnect_fail(&t->c, "nft: cannot install the drop rule (nf_tables missing?)");
		return -1;
	}
	if (t->o->forever)
		return run_forever(t, fd);
	for (i = 0; ; i++) {
		if (reconnect_close_stale(&t->c, t->lfd, fd, i))
			return -1;
		if (i == t->o->count || stop_requested() || time_ns() >= deadline)
			return 0;
		time_sleep_ns(t->o->gap_us * NSEC_PER_USEC);
		fd = reconnect(&t->c, false, &lat, &flags, &rtx);
		if (fd < 0)
			return -1;
		t->syn_max = rtx > t->syn_max ? rtx : t->syn_max;
		t->conn_ns[i] = lat;
		t->done = i + 1;
		t->syn_rtx += !!(flags & HIT_SYN_RTX);
		t->syn_late += !!(flags & HIT_SYN_LATE);
		t->syn_rst += !!(flags & HIT_SYN_RST);
		t->hits += !!flags;
	}
}

/* The machine-readable result line; keep the keys stable. */
#define FMT_SUMMARY1 \
	"%s: family=%s drop=%s gap_us=%lu conns=%lu hits=%lu hit_pct=%.2f over100ms=%lu over1s=%lu "
#define FMT_SUMMARY2 \
	"p50_us=%llu p99_us=%llu p999_us=%llu max_us=%llu syn_retrans=%s timeouts=%s syn_rtx=%lu "
#define FMT_SUMMARY3 \
	"syn_rtx_late=%lu syn_rst=%lu syn_rtx_max=%lu fast_max=%lu delay_us=%lu rst_dropped=%s\n"

static void report(const struct run *t, long long syn, long long to,
		   long long dropped)
{
	const struct options *o = t->o;
	char s_syn[24], s_to[24], s_drop[24];
	struct stats_summary ls;

	stats_summarize(t->conn_ns, t->done, &ls);
	mib_fmt_count(s_syn, sizeof(s_syn), syn);
	mib_fmt_count(s_to, sizeof(s_to), to);
	mib_fmt_count(s_drop, sizeof(s_drop), dropped);
	printf(FMT_SUMMARY1 FMT_SUMMARY2 FMT_SUMMARY3, PROG, t->fname,
	       o->no_drop ? "no" : o->forever ? "rst" : "rst_ack", o->gap_us,
	       t->done, t->hits, t->done ? 100.0 * t->hits / t->done : 0.0,
	       ls.over100ms, ls.over1s, ls.p50, ls.p99, ls.p999, ls.max, s_syn,
	       s_to, t->syn_rtx, t->syn_late, t->syn_rst, t->syn_max, t->fast_max,
	       o->delay_us, s_drop);
	fflush(stdout);
}

/* Measure one family; 0, or 1 when it could not. */
static int run_family(const struct options *o, int family)
{
	long long syn0, to0, syn1, to1, dropped = -1;
	struct run t = {
		.o = o, .fname = sock_family_name(family), .lfd = -1,
		.c = { .family = family, .rst_close = true },
	};
	int ret;

	t.conn_ns = calloc(o->count, sizeof(*t.conn_ns));
	if (!t.conn_ns) {
		fprintf(stderr, "%s: %s: out of memory\n", PROG, t.fname);
		return 1;
	}
	t.lfd = reconnect_listen(&t.c);
	if (t.lfd < 0) {
		fprintf(stderr, "%s: %s: %s\n", PROG, t.fname, t.c.err);
		free(t.conn_ns);
		return 1;
	}
	syn0 = mib_read("TCPSynRetrans");
	to0 = mib_read("TCPTimeouts");
	ret = run_loop(&t);
	if (!o->no_drop)
		dropped = nft_drop_rule_remove(NFT_TABLE);
	syn1 = mib_read("TCPSynRetrans");
	to1 = mib_read("TCPTimeouts");
	close(t.lfd);
	if (!ret && stats_samples_write(o->samples, t.fname, t.conn_ns, t.done)) {
		reconnect_fail(&t.c, "-s %s: %s", o->samples, strerror(errno));
		ret = -1;
	}
	if (t.done)
		report(&t, syn0 < 0 || syn1 < 0 ? -1 : syn1 - syn0,
		       to0 < 0 || to1 < 0 ? -1 : to1 - to0, dropped);
	if (ret)
		fprintf(stderr, "%s: %s: %s\n", PROG, t.fname, t.c.err);
	else if (!t.done)
		fprintf(stderr, "%s: %s: no reconnect measured\n", PROG, t.fname);
	free(t.conn_ns);
	return ret || !t.done || stop_requested();
}

int main(int argc, char **argv)
{
	struct options o;
	char why[128];
	int ret = 0;

	parse_opts(argc, argv, &o);
	if (o.samples)
		stats_samples_open("-s", o.samples);
	stop_catch_signals();
	if (!o.no_netns && netns_enter(why, sizeof(why))) {
		fprintf(stderr, "%s: %s\n", PROG, why);
		return 1;
	}
	if (!o.no_drop && !cmd_have_tool("nft --version >/dev/null 2>&1")) {
		fprintf(stderr, "%s: the nft command is needed to drop the RST/ACK\n", PROG);
		return 1;
	}
	if (o.delay_us &&
	    cmd_run("tc qdisc add dev lo root netem delay %luus 2>&1", o.delay_us)) {
		fprintf(stderr, "%s: cannot add a netem delay on lo (tc or sch_netem missing)\n",
			PROG);
		return 1;
	}
	if (o.ipv4)
		ret |= run_family(&o, AF_INET);
	if (o.ipv6)
		ret |= run_family(&o, AF_INET6);
	return ret;
}
