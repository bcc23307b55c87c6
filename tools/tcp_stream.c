// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists:
 *
 * A reader that keeps up never reaches tcp_clamp_window(), so the shrink
 * policy of the series must cost a bulk transfer nothing per segment.
 * make bench measures that under QEMU's icount mode, where a throughput
 * in guest time is bytes per executed instruction.  iperf3 did not
 * resolve it to 1 %: on a path without loss its 2-second runs
 * retransmitted 0 to 573 segments (loss probes, DSACKs of data that had
 * arrived) and the rate moved by +-5 %.  This is the same transfer with
 * less left to chance: one connection, a sender thread and a receiver
 * thread pinned to two CPUs, fixed-size writes and reads, and a measured
 * window that starts after the connection has grown its window.
 *
 * Two options take the chance out of it under TCG, where both vCPUs take
 * turns on one host thread and the sender outruns the reader during its
 * turns.  -T: the reader discards what it reads (MSG_TRUNC) instead of
 * copying it, so the receive path per segment, which the series touches,
 * is a larger share of what is counted.  -B BYTES: the receiver's
 * tcp_rmem starts at BYTES (autotuning left on).  With the defaults the
 * window closed hundreds of times per 0.25 s and some runs retransmitted
 * up to 249 segments; with -T -B 16777216, none in 24 runs (7.3.4, icount
 * shift 0).
 *
 * The path is a veth pair between two network namespaces of its own
 * (netem delay with -r), or with -L the loopback of one namespace.  The
 * sender writes until the receiver has counted -t seconds of data after
 * a warm-up of a quarter of that; the receiver counts the bytes it read
 * in that window.  One line:
 *
 *   tcp_stream: family=ipv4 net=veth rtt_ms=0 size=16384 read=copy rmem=0
 *     shrink_window=1 secs=2.000 bytes=N mbit_per_s=R retrans=N zero_window=N
 *     PruneCalled=N TCPRcvWndShrink=N TCPZeroWindowDrop=N OfoPruned=N
 *
 * retrans is the sender's tcpi_total_retrans over the whole connection,
 * zero_window the receiver namespace's TCPToZeroWindowAdv, then its
 * counters of the receive-memory paths (PruneCalled 0 means the reader
 * kept up).  It judges nothing (scripts/bench-report does).  Exit 0
 * measured, 1 could not measure, 2 bad arguments.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "kselftest.h"
#include "lib/cpu.h"
#include "lib/mib.h"
#include "lib/netns.h"
#include "lib/opt.h"
#include "lib/sock.h"
#include "lib/stop.h"
#include "lib/sysctl.h"
#include "lib/tap.h"
#include "lib/time.h"

#define PROG		"tcp_stream"
#define SIZE_MAX_BYTES	1048576
#define IO_TIMEOUT_S	10
#define R_DEV		"tsr0"
#define S_DEV		"tss0"

struct run {
	int family;
	bool lo;
	bool trunc;		/* -T: the reader discards (MSG_TRUNC) */
	unsigned long rtt_ms, size;
	unsigned long long time_ns;	/* -t: the measured window */
	long shrink;		/* -W, -1: the namespace's default */
	unsigned long rmem;	/* -B: tcp_rmem[1] of the receiver, 0: default */
	int cpu_snd, cpu_rcv;
	int sfd, rfd;		/* sender's and receiver's connected sockets */
	int done;		/* the receiver's window is over */
	unsigned long long bytes, window_ns;
	long long retrans;
	char snd_why[160], rcv_why[160];
};

static void *sender_main(void *arg)
{
	struct run *r = arg;
	struct tcp_info ti;
	char *buf;
	ssize_t n;

	cpu_pin(r->cpu_snd);
	buf = calloc(1, r->size);
	if (!buf) {
		tap_msg(r->snd_why, "out of memory");
		goto out;
	}
	while (!stop_flag_get(&r->done) && !stop_requested()) {
		n = write(r->sfd, buf, r->size);
		if (n < 0 && errno != EINTR) {
			tap_msg(r->snd_why, "write: %s", strerror(errno));
			break;
		}
	}
	r->retrans = sock_tcp_info(r->sfd, &ti) ? -1 : (long long)ti.tcpi_total_retrans;
out:
	shutdown(r->sfd, SHUT_WR);
	free(buf);
	return NULL;
}

/* Read until the window is over, then drain to EOF; count the window. */
static void *receiver_main(void *arg)
{
	struct run *r = arg;
	unsigned long long t, start = 0, end = 0, warm;
	char *buf;
	ssize_t n;

	cpu_pin(r->cpu_rcv);
	buf = malloc(r->size);
	if (!buf) {
		tap_msg(r->rcv_why, "out of memory");
		stop_flag_set(&r->done);
		return NULL;
	}
	warm = r->time_ns / 4;
	for (;;) {
		n = recv(r->rfd, buf, r->size, r->trunc ? MSG_TRUNC : 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (stop_flag_get(&r->done))
			continue;
		t = time_ns();
		if (!start) {
			start = t + warm;
			end = start + r->time_ns;
		} else if (t >= start) {
			/* the read that ends the window counts: its bytes came in it */
			r->bytes += n;
			if (t >= end) {
				r->window_ns = t - start;
				stop_flag_set(&r->done);
			}
		}
	}
	if (n < 0)
		tap_msg(r->rcv_why, "read: %s", strerror(errno));
	else if (!r->window_ns)
		tap_msg(r->rcv_why, "EOF before the end of the window");
	stop_flag_set(&r->done);
	free(buf);
	return NULL;
}

static int set_shrink(struct run *r, char *why, size_t sz)
{
	char val[24];

	if (r->shrink < 0)
		return 0;
	snprintf(val, sizeof(val), "%ld", r->shrink);
	if (sysctl_write("/proc/sys/net/ipv4/tcp_shrink_window", val)) {
		snprintf(why, sz, "tcp_shrink_window=%s: %s", val, strerror(errno));
		return -1;
	}
	return 0;
}

/* -B: the receiver's initial receive buffer, autotuning left on */
static int set_rmem(struct run *r, char *why, size_t sz)
{
	char val[64];

	if (!r->rmem)
		return 0;
	snprintf(val, sizeof(val), "4096 %lu %lu", r->rmem, 2 * r->rmem);
	if (sysctl_write("/proc/sys/net/ipv4/tcp_rmem", val)) {
		snprintf(why, sz, "tcp_rmem=%s: %s", val, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The two ends of the connection: the receiver listens and accepts, the
 * sender connects.  Over veth each socket is made in its namespace (a
 * socket stays in the namespace it was made in); the thread ends in R.
 */
static int connect_pair(struct run *r, struct netns_veth *v, char *why, size_t sz)
{
	struct sockaddr_storage ss;
	unsigned short port;
	socklen_t alen;
	int lfd;

	if (r->lo) {
		lfd = sock_loopback_listen(r->family, 4, &port, &ss, &alen, why, sz);
		if (lfd < 0)
			return -1;
	} else {
		alen = sock_inet_addr(r->family, netns_veth_addr(r->family, true), 0, &ss);
		lfd = socket(r->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&ss, alen) ||
		    listen(lfd, 4) || sock_local_port(lfd, &port)) {
			snprintf(why, sz, "listen: %s", strerror(errno));
			goto fail;
		}
		alen = sock_inet_addr(r->family, netns_veth_addr(r->family, true), port, &ss);
		if (netns_veth_enter(v, v->s_ns, "sender") || set_shrink(r, why, sz))
			goto fail_ns;
	}
	r->sfd = socket(r->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!r->lo && netns_veth_enter(v, v->r_ns, "receiver"))
		goto fail_ns;
	if (r->sfd < 0 || sock_set_io_timeouts(r->sfd, IO_TIMEOUT_S) ||
	    connect(r->sfd, (struct sockaddr *)&ss, alen)) {
		snprintf(why, sz, "connect: %s", strerror(errno));
		goto fail;
	}
	r->rfd = sock_accept_one(lfd, IO_TIMEOUT_S * NSEC_PER_SEC);
	if (r->rfd < 0 || sock_set_io_timeouts(r->rfd, IO_TIMEOUT_S)) {
		snprintf(why, sz, "accept: %s", strerror(errno));
		goto fail;
	}
	close(lfd);
	return 0;
fail_ns:
	if (!why[0])
		snprintf(why, sz, "%s", v->err);
fail:
	if (lfd >= 0)
		close(lfd);
	return -1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [-4|-6] [-L] [-T] [-B BYTES] [-r RTT_MS] [-t SECONDS] [-s BYTES] [-W 0|1|2]\n"
		"Bulk transfer between two network namespaces of its own over veth.\n"
		"\n"
		"  -4, -6       address family (default IPv4)\n"
		"  -L           loopback of one namespace instead of veth (no -r)\n"
		"  -r RTT_MS    netem round-trip time on the veth pair (default 0: none)\n"
		"  -t SECONDS   measured window, after a warm-up of a quarter of it\n"
		"               (default 2; 0.01..3600, decimals allowed)\n"
		"  -s BYTES     write and read size (default 16384, at most %d)\n"
		"  -T           the reader discards the data (MSG_TRUNC) instead of copying it\n"
		"  -B BYTES     the receiver's tcp_rmem: 4096 BYTES 2*BYTES\n"
		"  -W 0|1|2     net.ipv4.tcp_shrink_window in both namespaces\n"
		"  -h           this text\n"
		"\n"
		"Prints \"%s: family=... net=... bytes=... mbit_per_s=... retrans=...\" on\n"
		"one line.  Needs root.  Exit: 0 measured, 1 could not measure, 2 bad arguments.\n",
		PROG, SIZE_MAX_BYTES, PROG);
}

/* -t: seconds, 0.01 to 3600, digits with up to three decimals */
static unsigned long long opt_seconds(const char *val)
{
	unsigned long ms = 0;
	const char *p = val;
	int dec = -1;

	for (; *p; p++) {
		if (*p == '.' && dec < 0 && p != val) {
			dec = 0;
			continue;
		}
		if (*p < '0' || *p > '9' || dec == 3 || ms > 3600000)
			break;
		ms = ms * 10 + (*p - '0');
		if (dec >= 0)
			dec++;
	}
	for (; dec < 3; dec = dec < 0 ? 1 : dec + 1)
		ms *= 10;
	if (*p || p == val || p[-1] == '.' || ms < 10 || ms > 3600000)
		opt_bad_arg("-t", val, "need seconds in 0.01..3600, up to 3 decimals");
	return ms * 1000000ULL;
}

static void parse_opts(int argc, char **argv, struct run *r)
{
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, ":46LTB:r:t:s:W:h")) != -1) {
		switch (c) {
		case '4':
		case '6':
			opt_family(c, &r->family);
			break;
		case 'L':
			r->lo = true;
			break;
		case 'T':
			r->trunc = true;
			break;
		case 'B':
			r->rmem = opt_short_ulong(c, optarg, 4096, 1UL << 30);
			break;
		case 'r':
			r->rtt_ms = opt_short_ulong(c, optarg, 0, 10000);
			break;
		case 't':
			r->time_ns = opt_seconds(optarg);
			break;
		case 's':
			r->size = opt_short_ulong(c, optarg, 1, SIZE_MAX_BYTES);
			break;
		case 'W':
			r->shrink = opt_short_ulong(c, optarg, 0, 2);
			break;
		default:
			opt_help_or_bad(c, argv, usage);
		}
	}
	opt_no_operands(argc, argv);
	if (r->lo && r->rtt_ms)
		opt_bad_arg("-r", "with -L", "loopback has no netem delay");
	if (!r->family)
		r->family = AF_INET;
}

/* The result line; @m0 and @m1 are the receiver's counters around the run. */
static void print_result(const struct run *r, long long shrink,
			 const struct mib_snap *m0, const struct mib_snap *m1)
{
	static const char * const keys[] = { "PruneCalled", "TCPRcvWndShrink",
					     "TCPZeroWindowDrop", "OfoPruned" };
	unsigned int i;
	char cnt[24];

	printf("%s: family=%s net=%s rtt_ms=%lu size=%lu read=%s rmem=%lu ",
	       PROG, sock_family_name(r->family), r->lo ? "lo" : "veth", r->rtt_ms,
	       r->size, r->trunc ? "trunc" : "copy", r->rmem);
	printf("shrink_window=%lld secs=%.3f bytes=%llu mbit_per_s=%.2f ",
	       shrink, (double)r->window_ns / NSEC_PER_SEC, r->bytes,
	       r->bytes * 8e3 / r->window_ns);
	printf("retrans=%lld zero_window=%lld", r->retrans,
	       mib_delta(m0, m1, "TCPToZeroWindowAdv"));
	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		mib_fmt_count(cnt, sizeof(cnt), mib_delta(m0, m1, keys[i]));
		printf(" %s=%s", keys[i], cnt);
	}
	printf("\n");
}

int main(int argc, char **argv)
{
	struct run r = { .time_ns = 2 * NSEC_PER_SEC, .size = 16384, .shrink = -1,
			 .sfd = -1, .rfd = -1 };
	struct mib_snap *m0, *m1;
	struct netns_veth v;
	pthread_t snd, rcv;
	char why[256] = "";
	long long shrink;
	int ret;

	parse_opts(argc, argv, &r);
	stop_catch_signals();
	if (cpu_pick_two(&r.cpu_snd, &r.cpu_rcv) != 2) {
		fprintf(stderr, "%s: needs two CPUs for the sender and receiver\n", PROG);
		return 1;
	}
	m0 = calloc(2, sizeof(*m0));
	if (!m0) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		return 1;
	}
	m1 = m0 + 1;
	netns_veth_init(&v, r.family, r.rtt_ms);
	if (r.lo) {
		ret = netns_enter(why, sizeof(why));
	} else {
		ret = netns_veth_setup(&v, R_DEV, S_DEV);
		if (ret)
			snprintf(why, sizeof(why), "%s", v.err);
	}
	if (ret || set_shrink(&r, why, sizeof(why)) || set_rmem(&r, why, sizeof(why)) ||
	    connect_pair(&r, &v, why, sizeof(why))) {
		fprintf(stderr, "%s: %s%s\n", PROG,
			r.family == AF_INET6 && errno == EADDRNOTAVAIL ?
			"no IPv6 address: " : "", why);
		return 1;
	}
	/* what the receiver's namespace has: -1 on a kernel without it */
	shrink = sysctl_read_ll("/proc/sys/net/ipv4/tcp_shrink_window");
	mib_snapshot(m0);
	if (pthread_create(&rcv, NULL, receiver_main, &r)) {
		fprintf(stderr, "%s: cannot start the receiver thread\n", PROG);
		return 1;
	}
	if (pthread_create(&snd, NULL, sender_main, &r)) {
		fprintf(stderr, "%s: cannot start the sender thread\n", PROG);
		stop_flag_set(&r.done);
		shutdown(r.rfd, SHUT_RDWR);
		pthread_join(rcv, NULL);
		return 1;
	}
	pthread_join(snd, NULL);
	pthread_join(rcv, NULL);
	mib_snapshot(m1);
	close(r.sfd);
	close(r.rfd);
	netns_veth_close(&v);
	if (r.snd_why[0] || r.rcv_why[0] || stop_requested()) {
		fprintf(stderr, "%s: family=%s failed: %s%s%s\n", PROG,
			sock_family_name(r.family),
			stop_requested() ? "interrupted" : r.snd_why,
			r.snd_why[0] && r.rcv_why[0] ? "; " : "", r.rcv_why);
		return 1;
	}
	print_result(&r, shrink, m0, m1);
	free(m0);
	return 0;
}
