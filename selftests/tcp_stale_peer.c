// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists:
 *
 * tcp_tw_race measures how often the close race leaves a stale FIN_WAIT2
 * timewait socket behind.  This test builds that stale peer on purpose,
 * without any race, to measure what it costs the next connection from the
 * same 4-tuple on the kernel under test:
 *
 *  1. the client connects from a fixed source port and sends 4 bytes;
 *  2. the server shuts down its sending side (FIN), the client reads EOF
 *     and acknowledges it at once (TCP_QUICKACK), the server waits until
 *     its socket is in FIN_WAIT2 and closes it: the kernel turns it into a
 *     timewait socket in the FIN_WAIT2 substate;
 *  3. the client closes with SO_LINGER {1, 0}; its RST/ACK is dropped by an
 *     nftables rule, exactly what the race does to it;
 *  4. the client reconnects from the same source port and the SYN meets
 *     the stale timewait socket.
 *
 * The rule drops only segments with both RST and ACK set from the client
 * port to the server port: the client's answer to a stale ACK is a bare RST
 * and must get through to kill the stale timewait socket, as it does in the
 * real incident.  The rule is installed once per test with the nft command
 * inside the test's own network namespace (skipped when nft is missing).
 *
 * Expected result on current kernels: when the new ISN lands outside the
 * old receive window (reconnect after more than ~4 ms, see --gap-us), the
 * timewait socket answers the SYN with a stale ACK, the client resets it
 * and resends the SYN after TCP_TIMEOUT_MIN (2 jiffies, 8 ms at HZ=250;
 * 1 s before v5.6).  Inside the window the SYN gets a RST and connect()
 * fails with ECONNREFUSED (the test retries at once).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <linux/bpf.h>

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
#include "lib/tap.h"
#include "lib/time.h"

#define PROG			"tcp_stale_peer"

#define NFT_TABLE		"tcp_stale_peer"
/* How long the server waits for its socket to reach FIN_WAIT2. */
#define FIN_WAIT2_BOUND_NS	(5 * NSEC_PER_SEC)
/* Fast stale-ACK resend (patch 0004): SYNs resent per connect() at most. */
#define FAST_RESENDS_MAX	2
/* --stale-forever: SYN retransmissions by the timer before connect() fails. */
#define FOREVER_SYNCNT		2

enum expectation {
	EXPECT_REPORT,
	EXPECT_RACE,
	EXPECT_FAST,
};

struct options {
	unsigned long count;
	unsigned long time_s;
	bool ipv4;
	bool ipv6;
	unsigned long gap_us;
	unsigned long delay_us;
	bool no_drop;
	bool stale_forever;
	bool no_netns;
	const char *samples;
	enum expectation expect;
};

/* ---- command line ---------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [options]\n"
		"Cost of reconnecting to a stale FIN_WAIT2 timewait peer (built with nftables).\n"
		"\n"
		"  -n, --count N        reconnects per test (default 1000)\n"
		"  -t, --time SECONDS   time bound per test, stop early and report (default 30)\n"
		"  -4                   IPv4 only (127.0.0.1)\n"
		"  -6                   IPv6 only (::1); default: both, as two tests\n"
		"      --gap-us N       pause between close and reconnect (default 10000);\n"
		"                       a reconnect within ~4 ms of the old ISN gets a RST\n"
		"                       instead of a stale ACK\n"
		"      --no-drop        control run: no nftables rule, no stale peer\n"
		"      --delay-us N     netem delay of N us on lo each way (RTT 2N; needs tc)\n"
		"      --stale-forever  a peer that answers every SYN with a stale ACK: every\n"
		"                       RST from the client is dropped and the out-of-window\n"
		"                       ACK rate limit is off; each reconnect (TCP_SYNCNT 2)\n"
		"                       must fail with ETIMEDOUT; reports its duration and\n"
		"                       SYN retransmissions\n"
		"      --no-netns       stay in the current network namespace (to capture\n"
		"                       packets); lo must be up\n"
		"      --samples FILE   write the latency of every reconnect,\n"
		"                       one \"<family> <us>\" line each, to FILE\n"
		"      --expect WHAT    race:   fail unless >= 50%% of reconnects met the stale peer\n"
		"                       fast:   fail unless every reconnect met it and resent\n"
		"                               its SYN right behind its RST (TcpExtTCPSynRetrans\n"
		"                               moved, TcpExtTCPTimeouts did not), none more than\n"
		"                               twice (patch 0004); with --stale-forever:\n"
		"                               exactly two resends right behind a RST\n"
		"                       report: only report (default)\n"
		"  -h, --help           this text\n"
		"\n"
		"Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) and the nft command.\n",
		PROG);
}

enum {
	OPT_GAP_US = 256,
	OPT_NO_DROP,
	OPT_DELAY_US,
	OPT_STALE_FOREVER,
	OPT_NO_NETNS,
	OPT_SAMPLES,
	OPT_EXPECT,
};

static void parse_opts(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "count",	required_argument, NULL, 'n' },
		{ "time",	required_argument, NULL, 't' },
		{ "gap-us",	required_argument, NULL, OPT_GAP_US },
		{ "no-drop",	no_argument,	   NULL, OPT_NO_DROP },
		{ "delay-us",	required_argument, NULL, OPT_DELAY_US },
		{ "stale-forever", no_argument,	   NULL, OPT_STALE_FOREVER },
		{ "no-netns",	no_argument,	   NULL, OPT_NO_NETNS },
		{ "samples",	required_argument, NULL, OPT_SAMPLES },
		{ "expect",	required_argument, NULL, OPT_EXPECT },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL,		0,		   NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->count = 1000;
	o->time_s = 30;
	o->gap_us = 10000;
	o->expect = EXPECT_REPORT;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:t:46h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->count = opt_ulong("--count", optarg, 1, 100000000UL);
			break;
		case 't':
			o->time_s = opt_ulong("--time", optarg, 1, 86400UL);
			break;
		case '4':
			o->ipv4 = true;
			break;
		case '6':
			o->ipv6 = true;
			break;
		case OPT_GAP_US:
			o->gap_us = opt_ulong("--gap-us", optarg, 0, 10000000UL);
			break;
		case OPT_NO_DROP:
			o->no_drop = true;
			break;
		case OPT_DELAY_US:
			o->delay_us = opt_ulong("--delay-us", optarg, 0, 1000000UL);
			break;
		case OPT_STALE_FOREVER:
			o->stale_forever = true;
			break;
		case OPT_NO_NETNS:
			o->no_netns = true;
			break;
		case OPT_SAMPLES:
			stats_samples_open("--samples", optarg);
			o->samples = optarg;
			break;
		case OPT_EXPECT:
			if (!strcmp(optarg, "race"))
				o->expect = EXPECT_RACE;
			else if (!strcmp(optarg, "fast"))
				o->expect = EXPECT_FAST;
			else if (!strcmp(optarg, "report"))
				o->expect = EXPECT_REPORT;
			else
				opt_bad_arg("--expect", optarg,
					    "need 'race', 'fast' or 'report' (every kernel meets the stale peer this test builds: there is no 'fixed')");
			break;
		default:
			opt_help_or_bad(c, argv, usage);
		}
	}
	opt_end(argc, argv, &o->ipv4, &o->ipv6);
	if (o->stale_forever && o->no_drop) {
		fprintf(stderr, "%s: --stale-forever needs the drop rule, not --no-drop\n",
			PROG);
		exit(EXIT_USAGE);
	}
}

/*
 * Drop RST/ACK segments from client port @cport to server port @sport, or
 * with @all every RST (--stale-forever: the bare RST that would kill the
 * stale timewait socket too).
 */
static int nft_install(unsigned short cport, unsigned short sport, bool all)
{
	char match[128];

	snprintf(match, sizeof(match),
		 "tcp sport %u tcp dport %u tcp flags & %s == %s",
		 cport, sport, all ? "rst" : "(rst | ack)", all ? "rst" : "(rst | ack)");
	return nft_drop_rule(NFT_TABLE, match);
}

/* ---- one test ---------------------------------------------------------- */

struct test {
	const struct options *o;
	int family;
	const char *fname;
	int lfd;
	struct reconnect_client c;
	unsigned long done;		/* measured reconnects */
	unsigned long long *conn_ns;	/* reconnect latency */
	unsigned long hits;
	unsigned long syn_rtx;
	unsigned long syn_late;
	unsigned long syn_rst;
	unsigned long syn_max;		/* most SYN retransmissions in one connect() */
	unsigned long fast_max;		/* most of them sent right behind a RST */
	bool time_bound_hit;
};

#define fail_msg(t, fmt, ...) \
	snprintf((t)->c.err, sizeof((t)->c.err), fmt, ##__VA_ARGS__)

#define FMT_FOREVER \
	"%s: reconnect %lu: ETIMEDOUT after %llu ms, %lld SYN retransmissions, %s right behind a RST\n"
#define FMT_NOT_EVERY \
	"%s: expected every reconnect to meet the stale peer and resend its SYN, got %lu and %lu of %lu\n"
#define FMT_HITS \
	"  stale peer met %lu (%.2f%%): SYN retransmit %lu (late %lu), RST to SYN %lu\n"

/*
 * One connection: exchange 4 bytes, let the server close first and wait
 * for its socket to reach FIN_WAIT2, then close the client with a RST.
 */
static int one_connection(struct test *t, int cfd, unsigned int pattern)
{
	unsigned int wire = htonl(pattern), got;
	unsigned long long t0;
	struct tcp_info ti;
	char buf[16];
	ssize_t n;
	int sfd;

	sfd = accept4(t->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (sfd < 0) {
		fail_msg(t, "accept: %s", strerror(errno));
		return -1;
	}
	if (sock_set_io_timeouts(sfd, RECONNECT_IO_TIMEOUT_S)) {
		fail_msg(t, "server SO_RCVTIMEO/SO_SNDTIMEO: %s", strerror(errno));
		goto fail;
	}
	n = send(cfd, &wire, sizeof(wire), MSG_NOSIGNAL);
	if (n != sizeof(wire)) {
		fail_msg(t, "client send: %s", n < 0 ? strerror(errno) : "short write");
		goto fail;
	}
	n = recv(sfd, &got, sizeof(got), MSG_WAITALL);
	if (n != sizeof(got)) {
		fail_msg(t, "server read: %s",
			 n < 0 ? strerror(errno) : "short read");
		goto fail;
	}
	if (ntohl(got) != pattern) {
		fail_msg(t, "server read pattern %u, expected %u", ntohl(got), pattern);
		goto fail;
	}
	if (shutdown(sfd, SHUT_WR)) {
		fail_msg(t, "server shutdown(SHUT_WR): %s", strerror(errno));
		goto fail;
	}
	n = recv(cfd, buf, sizeof(buf), 0);
	if (n != 0) {
		fail_msg(t, "client read of EOF: %s",
			 n < 0 ? strerror(errno) : "unexpected data");
		goto fail;
	}
	/* Acknowledge the server's FIN now instead of after the delayed ACK. */
	if (sock_set_int(cfd, IPPROTO_TCP, TCP_QUICKACK, 1)) {
		fail_msg(t, "client TCP_QUICKACK: %s", strerror(errno));
		goto fail;
	}
	t0 = time_ns();
	for (;;) {
		if (sock_tcp_info(sfd, &ti)) {
			fail_msg(t, "server getsockopt(TCP_INFO): %s", strerror(errno));
			goto fail;
		}
		if (ti.tcpi_state == BPF_TCP_FIN_WAIT2)
			break;
		if (time_ns() - t0 >= FIN_WAIT2_BOUND_NS) {
			fail_msg(t, "server socket not in FIN_WAIT2 after 5 s (state %u)",
				 ti.tcpi_state);
			goto fail;
		}
		time_sleep_ns(100 * NSEC_PER_USEC);
	}
	/* Orphaned in FIN_WAIT2: becomes a FIN_WAIT2 timewait socket. */
	close(sfd);
	/* SO_LINGER {1, 0}: RST/ACK, dropped by the nftables rule. */
	close(cfd);
	return 0;
fail:
	close(sfd);
	return -1;
}

static int server_listen(struct test *t)
{
	struct sockaddr_storage ss;
	socklen_t alen;
	int fd;

	fd = socket(t->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fail_msg(t, "server socket: %s", strerror(errno));
		return -1;
	}
	if (sock_set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1)) {
		fail_msg(t, "server SO_REUSEADDR: %s", strerror(errno));
		goto fail;
	}
	alen = sock_loopback_addr(t->family, 0, &ss);
	if (bind(fd, (struct sockaddr *)&ss, alen)) {
		fail_msg(t, "server bind: %s", strerror(errno));
		goto fail;
	}
	if (listen(fd, 16) || sock_local_port(fd, &t->c.sport)) {
		fail_msg(t, "server listen: %s", strerror(errno));
		goto fail;
	}
	t->lfd = fd;
	return 0;
fail:
	close(fd);
	return -1;
}

/*
 * --stale-forever: after one connection whose RST is dropped, every
 * reconnect meets the stale timewait socket, which (rate limit off) answers
 * every SYN with a stale ACK; every RST the client sends back is dropped
 * too.  connect() must fail with ETIMEDOUT after TCP_SYNCNT timer
 * retransmissions; t->conn_ns gets how long it took, t->syn_max the most
 * SYN retransmissions of one connect() (TcpExtTCPSynRetrans; the socket's
 * own count is cleared when connect() fails) and t->fast_max the most of
 * them sent right behind a RST: the retransmissions that the timer did not
 * send.  The timer counts TcpExtTCPTimeouts each time it fires, also the
 * last time, when connect() gives up without sending a SYN, so a connect()
 * that timed out sent TCPTimeouts - 1 SYNs from the timer.
 */
static int run_forever(struct test *t, int fd)
{
	long long rtx0, rtx1, to0, to1, fast_n;
	struct sockaddr_storage ss;
	char fast[24];
	unsigned long long t0;
	socklen_t alen;
	unsigned long i;
	int refused = 0;

	if (sysctl_write("/proc/sys/net/ipv4/tcp_invalid_ratelimit", "0")) {
		close(fd);
		fail_msg(t, "cannot set tcp_invalid_ratelimit to 0: %s", strerror(errno));
		return -1;
	}
	if (one_connection(t, fd, 0)) {
		close(fd);
		return -1;
	}
	alen = sock_loopback_addr(t->family, t->c.sport, &ss);
	for (i = 0; i < t->o->count && !stop_requested(); ) {
		time_sleep_ns(t->o->gap_us * NSEC_PER_USEC);
		fd = reconnect_socket(&t->c);
		if (fd < 0)
			return -1;
		/* connect() takes SO_SNDTIMEO as its bound: let it time out. */
		if (sock_set_int(fd, IPPROTO_TCP, TCP_SYNCNT, FOREVER_SYNCNT) ||
		    sock_set_io_timeouts(fd, 120)) {
			fail_msg(t, "client TCP_SYNCNT/SO_SNDTIMEO: %s", strerror(errno));
			close(fd);
			return -1;
		}
		rtx0 = mib_read("TCPSynRetrans");
		to0 = mib_read("TCPTimeouts");
		t0 = time_ns();
		if (!connect(fd, (struct sockaddr *)&ss, alen)) {
			fail_msg(t,
				 "connect() succeeded through a peer that answers every SYN with a stale ACK");
			close(fd);
			return -1;
		}
		if (errno == ECONNREFUSED &&
		    refused++ < RECONNECT_MAX_REFUSED) {
			/* An in-window SYN: the timewait socket sent a RST. */
			t->syn_rst++;
			close(fd);
			continue;
		}
		if (errno != ETIMEDOUT) {
			fail_msg(t, "connect() failed with %s, want ETIMEDOUT", strerror(errno));
			close(fd);
			return -1;
		}
		t->conn_ns[i] = time_ns() - t0;
		close(fd);
		rtx1 = mib_read("TCPSynRetrans");
		to1 = mib_read("TCPTimeouts");
		if (rtx0 < 0 || rtx1 < 0 || to0 < 0 || to1 < 0) {
			fail_msg(t, "no TcpExtTCPSynRetrans or TcpExtTCPTimeouts to count the SYNs");
			return -1;
		}
		if ((unsigned long)(rtx1 - rtx0) > t->syn_max)
			t->syn_max = rtx1 - rtx0;
		if (rtx1 > rtx0)
			t->syn_rtx++;
		fast_n = (rtx1 - rtx0) - (to1 - to0 - 1);
		if (fast_n > 0 && (unsigned long)fast_n > t->fast_max)
			t->fast_max = fast_n;
		t->hits++;
		mib_fmt_count(fast, sizeof(fast), fast_n);
		ksft_print_msg(FMT_FOREVER, t->fname, i,
			       t->conn_ns[i] / NSEC_PER_MSEC, rtx1 - rtx0, fast);
		t->done = ++i;
	}
	return 0;
}

/* The loop; returns 0 or -1 with t->c.err set. */
static int run_loop(struct test *t)
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
	if (!t->o->no_drop && nft_install(t->c.cport, t->c.sport, t->o->stale_forever)) {
		close(fd);
		fail_msg(t, "nft: cannot install the RST/ACK drop rule (nf_tables missing?)");
		return -2;
	}
	if (t->o->stale_forever)
		return run_forever(t, fd);
	for (i = 0; ; i++) {
		if (one_connection(t, fd, (unsigned int)i)) {
			close(fd);
			return -1;
		}
		if (i == t->o->count || stop_requested())
			break;
		if (time_ns() >= deadline) {
			t->time_bound_hit = true;
			break;
		}
		if (t->o->gap_us)
			time_sleep_ns(t->o->gap_us * NSEC_PER_USEC);
		fd = reconnect(&t->c, false, &lat, &flags, &rtx);
		if (fd < 0)
			return -1;
		if (rtx > t->syn_max)
			t->syn_max = rtx;
		t->conn_ns[i] = lat;
		t->done = i + 1;
		if (flags & HIT_SYN_RTX)
			t->syn_rtx++;
		if (flags & HIT_SYN_LATE)
			t->syn_late++;
		if (flags & HIT_SYN_RST)
			t->syn_rst++;
		if (flags)
			t->hits++;
	}
	return 0;
}

/* The machine-readable result line; keep the keys stable. */
#define FMT_SUMMARY \
	"%s: family=%s drop=%s gap_us=%lu conns=%lu hits=%lu hit_pct=%.2f over100ms=%lu over1s=%lu p50_us=%llu p99_us=%llu p999_us=%llu max_us=%llu syn_retrans=%s syn_rtx=%lu syn_rtx_late=%lu syn_rst=%lu syn_rtx_max=%lu fast_max=%lu delay_us=%lu rst_dropped=%s\n"

static void run_test(const struct options *o, int family)
{
	char s_syn[24], s_drop[24];
	long long syn0, syn1, to0, to1, dropped = -1;
	struct stats_summary ls;
	bool failed = false;
	unsigned long n;
	struct test t;
	double pct;
	int ret;

	memset(&t, 0, sizeof(t));
	t.o = o;
	t.family = family;
	t.fname = sock_family_name(family);
	t.c.family = family;
	t.c.rst_close = true;
	t.lfd = -1;

	t.conn_ns = calloc(o->count, sizeof(*t.conn_ns));
	if (!t.conn_ns) {
		ksft_test_result_fail("%s: out of memory\n", t.fname);
		return;
	}
	if (server_listen(&t)) {
		if (family == AF_INET6 && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL))
			ksft_test_result_skip("%s: IPv6 not available: %s\n", t.fname, t.c.err);
		else
			ksft_test_result_fail("%s: %s\n", t.fname, t.c.err);
		free(t.conn_ns);
		return;
	}
	syn0 = mib_read("TCPSynRetrans");
	to0 = mib_read("TCPTimeouts");
	ret = run_loop(&t);
	if (!o->no_drop)
		dropped = nft_drop_rule_remove(NFT_TABLE);
	syn1 = mib_read("TCPSynRetrans");
	to1 = mib_read("TCPTimeouts");
	close(t.lfd);

	if (ret == -2) {
		ksft_test_result_skip("%s: %s\n", t.fname, t.c.err);
		free(t.conn_ns);
		return;
	}

	n = t.done;
	if (stats_samples_write(o->samples, t.fname, t.conn_ns, n)) {
		ksft_print_msg("%s: --samples %s: %s\n", t.fname, o->samples,
			       strerror(errno));
		failed = true;
	}
	stats_summarize(t.conn_ns, n, &ls);
	pct = n ? 100.0 * t.hits / n : 0.0;
	mib_fmt_count(s_syn, sizeof(s_syn),
		      syn0 < 0 || syn1 < 0 ? -1 : syn1 - syn0);
	mib_fmt_count(s_drop, sizeof(s_drop), dropped);

	ksft_print_msg(FMT_SUMMARY, PROG, t.fname, o->no_drop ? "no" : "rst_ack",
		       o->gap_us, n, t.hits, pct, ls.over100ms, ls.over1s, ls.p50,
		       ls.p99, ls.p999, ls.max, s_syn, t.syn_rtx, t.syn_late, t.syn_rst,
		       t.syn_max, t.fast_max, o->delay_us, s_drop);
	ksft_print_msg("%s: %lu of %lu reconnects from port %u to %u%s\n",
		       t.fname, n, o->count, t.c.cport, t.c.sport,
		       t.time_bound_hit ? " (time bound reached)" : "");
	ksft_print_msg("  %-12s %10s %10s %10s %10s\n", "latency(us)", "p50", "p99",
		       "p99.9", "max");
	ksft_print_msg("  %-12s %10llu %10llu %10llu %10llu\n", "reconnect",
		       ls.p50, ls.p99, ls.p999, ls.max);
	ksft_print_msg(FMT_HITS, t.hits, pct, t.syn_rtx, t.syn_late, t.syn_rst);
	ksft_print_msg("  TcpExtTCPSynRetrans +%s, RST/ACK dropped by nft %s\n",
		       s_syn, s_drop);

	if (ret) {
		ksft_print_msg("%s: %s\n", t.fname, t.c.err);
		failed = true;
	}
	if (stop_requested()) {
		ksft_print_msg("%s: interrupted\n", t.fname);
		failed = true;
	}
	if (!n)
		failed = true;
	/*
	 * The scenario first: without a dropped RST/ACK there is no stale
	 * peer, and a verdict on reconnects would be about nothing.
	 */
	if (o->expect != EXPECT_REPORT && !o->no_drop && dropped <= 0) {
		ksft_print_msg("%s: nft dropped no RST/ACK (%s): no stale peer was built\n",
			       t.fname, s_drop);
		failed = true;
	}
	if (o->expect == EXPECT_RACE && t.hits * 2 < n) {
		ksft_print_msg("%s: expected >= 50%% stale-peer reconnects, got %.2f%%\n",
			       t.fname, pct);
		failed = true;
	}
	if (o->expect == EXPECT_FAST && (t.hits < n || t.syn_rtx < n)) {
		/* The scenario did not happen on every reconnect. */
		ksft_print_msg(FMT_NOT_EVERY, t.fname, t.hits, t.syn_rtx, n);
		failed = true;
	}
	if (o->expect == EXPECT_FAST && !o->stale_forever &&
	    (to0 < 0 || to1 != to0)) {
		/* Every reconnect's SYN must have left right behind its RST,
		 * none from the retransmission timer (which the 2-jiffy
		 * re-arm of kernels without the fast resend uses).
		 */
		ksft_print_msg("%s: TcpExtTCPTimeouts %+lld: SYNs waited for the retransmission timer, want +0\n",
			       t.fname, to0 < 0 ? -1 : to1 - to0);
		failed = true;
	}
	if (o->expect == EXPECT_FAST && !o->stale_forever &&
	    t.syn_max > FAST_RESENDS_MAX) {
		ksft_print_msg("%s: a connect() resent its SYN %lu times, bound %d\n",
			       t.fname, t.syn_max, FAST_RESENDS_MAX);
		failed = true;
	}
	if (o->expect == EXPECT_FAST && o->stale_forever &&
	    t.fast_max != FAST_RESENDS_MAX) {
		/* Every SYN meets a stale ACK: both fast resends are used. */
		ksft_print_msg("%s: %lu SYNs of one connect() resent right behind a RST, want %d\n",
			       t.fname, t.fast_max, FAST_RESENDS_MAX);
		failed = true;
	}
	ksft_test_result(!failed, "%s: %lu/%lu reconnects met the stale peer\n",
			 t.fname, t.hits, n);
	free(t.conn_ns);
}

static void skip_all(const struct options *o, const char *why)
{
	if (o->ipv4)
		ksft_test_result_skip("ipv4: %s\n", why);
	if (o->ipv6)
		ksft_test_result_skip("ipv6: %s\n", why);
}

int main(int argc, char **argv)
{
	struct options o;
	char why[128];

	parse_opts(argc, argv, &o);

	ksft_print_header();
	ksft_set_plan(o.ipv4 + o.ipv6);

	stop_catch_signals();

	if (!o.no_netns && netns_enter(why, sizeof(why))) {
		skip_all(&o, why);
		goto done;
	}
	if (!o.no_drop && !cmd_have_tool("nft --version >/dev/null 2>&1")) {
		skip_all(&o, "nft command not found (needed to drop the RST/ACK)");
		goto done;
	}
	if (o.delay_us &&
	    cmd_run("tc qdisc add dev lo root netem delay %luus 2>&1", o.delay_us)) {
		skip_all(&o, "cannot add netem delay on lo (tc or sch_netem missing)");
		goto done;
	}

	if (o.ipv4)
		run_test(&o, AF_INET);
	if (o.ipv6)
		run_test(&o, AF_INET6);

done:
	tap_exit();
}
