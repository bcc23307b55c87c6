// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists:
 *
 * tcp_rcvbuf_growth shows one slow reader's receive buffer growing far
 * past what autotuning granted (tcp_prune_queue() -> tcp_clamp_window()).
 * What an operator pays for is the sum: many slow clients on one host
 * holding receive memory the kernel counts against the global tcp_mem,
 * until every TCP socket of the machine is under memory pressure.  This
 * program measures that sum.
 *
 * It opens -n connections (default 1,000) over a veth pair between
 * two network namespaces with netem delay (20 ms RTT), with the kernel's
 * default tcp_rmem (unless -m) and tcp_wmem.  Every 10 ms the sender
 * offers each connection 1448 bytes (non-blocking, as much as its 16 KiB
 * SO_SNDBUF takes), and every 10 ms each receiver reads at most 10 bytes:
 * the blog's 1 byte per millisecond.  With -w the readers alternate,
 * every -w seconds, between that and fast periods of up to 33,000 bytes
 * per 10 ms.  Every second it samples the global TCP memory of
 * /proc/net/sockstat, the sum and the largest sk_rmem_alloc and sk_rcvbuf
 * over the receivers (SO_MEMINFO) and the senders' queued memory; at the
 * end the senders shut down, every receiver reads its stream to EOF (at
 * most 300 s) and checks each byte.  It prints one summary line of
 * key=value pairs with the distribution of sk_rcvbuf at the end of the
 * timed run (and optionally a CSV time series, one row per second); it is
 * a measurement, not a test: it fails only when it cannot measure or
 * data was lost.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <fcntl.h>
#include <linux/sock_diag.h>
#include <poll.h>
#include <unistd.h>

#include "kselftest.h"
#include "lib/cmd.h"
#include "lib/mib.h"
#include "lib/msg.h"
#include "lib/netns.h"
#include "lib/opt.h"
#include "lib/proc.h"
#include "lib/sock.h"
#include "lib/stop.h"
#include "lib/sysctl.h"
#include "lib/time.h"

#define PROG		"tcp_rcvbuf_scale"

#define R_DEV		"rsr0"
#define S_DEV		"rss0"
#define SAMPLE_NS	NSEC_PER_SEC
#define BATCH		64			/* connects in flight */
#define RBUF		(256 * 1024)
#define PERIOD		65521			/* prime: pattern period */
#define RTT_MS		20UL			/* netem round-trip time */
#define WRITE_BYTES	1448UL			/* per connection per write */
#define WRITE_MS	10UL			/* write period */
#define READ_BYTES	10UL			/* per read: 1 B/ms */
#define READ_MS		10UL			/* read period */
#define FAST_BYTES	33000UL			/* -w fast phase: 3300 B/ms */
#define SNDBUF		16384UL			/* sender SO_SNDBUF */
#define DRAIN_S		300UL			/* bound on the final drain */

struct options {
	unsigned long conns;
	unsigned long time_s;
	unsigned long rmem_max;		/* tcp_rmem[2]; 0: leave the default */
	long shrink_window;		/* -1: leave the default */
	unsigned long switch_s;		/* 0: slow readers only */
	int family;
	const char *csv_path;
};

struct conn {
	int rfd, sfd;
	unsigned long long sent, got, bad;
	bool eof;
};

struct totals {
	long long mem_pages;		/* /proc/net/sockstat TCP mem */
	unsigned long long rmem, rcvbuf, wmem;
	__u32 max_rcvbuf, max_rmem;
	unsigned int at_limit;		/* receivers with rmem >= rcvbuf */
};

static const char * const rcv_counters[] = {
	"PruneCalled", "RcvPruned", "TCPRcvCollapsed", "OfoPruned",
	"TCPWantZeroWindowAdv", "TCPZeroWindowDrop", "TCPRcvQDrop",
	"TCPMemoryPressures", "TCPRcvWndShrink",
};

static const char * const snd_counters[] = { "TCPTimeouts" };

/* Long messages: a format string alone on its line passes checkpatch. */
#define FMT_CSV_HEAD \
	"t_s,tcp_mem_bytes,sum_rmem_alloc,sum_rcvbuf,max_rcvbuf,max_rmem_alloc,at_limit,sum_wmem_queued\n"
#define FMT_HELLO \
	"# %s: %lu %s connections, rtt %lu ms, writes %lu B/%lu ms, reads %lu B/%lu ms, sndbuf %lu, tcp_rmem \"%s\", tcp_mem \"%s\", %lu s\n"
#define FMT_PROGRESS \
	"# t=%llus tcp_mem=%lld rmem_sum=%llu rcvbuf_sum=%llu max_rcvbuf=%u at_limit=%u wmem_sum=%llu\n"
#define FMT_SUMMARY1 \
	"%s: family=%s conns=%lu reader=%s write_bytes=%lu write_ms=%lu read_bytes=%lu read_ms=%lu "
#define FMT_SUMMARY2 \
	"time_s=%lu rtt_ms=%lu sndbuf=%lu shrink_window=%s tcp_rmem=%s tcp_mem_pages=%s "
#define FMT_SUMMARY3 \
	"page=%lld samples=%lu base_mem_bytes=%lld peak_mem_bytes=%lld end_mem_bytes=%lld "
#define FMT_SUMMARY4 \
	"peak_sum_rmem=%llu peak_sum_rcvbuf=%llu peak_sum_wmem=%llu max_rcvbuf=%u max_rmem=%u end_at_limit=%u rcvbuf_p50=%u rcvbuf_p90=%u rcvbuf_p99=%u rcvbuf_max=%u"
#define FMT_LOST \
	"data lost or corrupted: sent %llu, received %llu, %llu bad, %lu streams unfinished\n"

/* The run cannot measure (or lost data): say why and exit 1. */
#define die(fmt, ...) do { msg_warn(fmt, ##__VA_ARGS__); exit(1); } while (0)

/* A sysctl's values, one token for a key=value line: "1 2 3" -> "1,2,3". */
static void commas(char *s)
{
	char *start = s, *out = s;
	bool sep = false;

	for (; *s; s++) {
		if (isspace((unsigned char)*s)) {
			sep = out != start;
			continue;
		}
		if (sep)
			*out++ = ',';
		sep = false;
		*out++ = *s;
	}
	*out = 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [-4|-6] [-n N] [-t S] [-m BYTES] [-W 0|1|2] [-w S] [-o FILE]\n"
		"Total receive memory of many slow TCP readers over veth with netem delay.\n"
		"\n"
		"  -4, -6     address family (default IPv4)\n"
		"  -n N       connections (default 1000)\n"
		"  -t S       timed run in seconds (default 60); then drain and verify\n"
		"  -m BYTES   net.ipv4.tcp_rmem[2] of the receiver (default: leave the\n"
		"             kernel's; the blog's is 268435456)\n"
		"  -W 0|1|2   net.ipv4.tcp_shrink_window of the receiver (default: leave it)\n"
		"  -w S       alternate readers: slow and fast (33000 B every 10 ms),\n"
		"             switching every S seconds (default 0: slow only)\n"
		"  -o FILE    one line per second: memory sums and peaks (CSV)\n"
		"  -h         this text\n"
		"\n"
		"Netem RTT 20 ms; each connection offered 1448 B every 10 ms, read 10 B\n"
		"every 10 ms; sender SO_SNDBUF 16384; drain bound 300 s.  Kernel defaults\n"
		"for tcp_rmem and tcp_wmem.  Needs root, ip, tc; run it in a VM.\n"
		"Exit: 0 measured, every byte verified; 1 could not measure, or data\n"
		"lost; 2 bad arguments.\n",
		PROG);
}

static void parse_opts(int argc, char **argv, struct options *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->conns = 1000;
	o->time_s = 60;
	o->shrink_window = -1;

	opterr = 0;
	while ((c = getopt(argc, argv, ":46n:t:m:W:w:o:h")) != -1) {
		switch (c) {
		case 'n':
			o->conns = opt_short_ulong(c, optarg, 1, 20000);
			break;
		case 't':
			o->time_s = opt_short_ulong(c, optarg, 1, 86400);
			break;
		case 'm':
			o->rmem_max = opt_short_ulong(c, optarg, 131072, 1UL << 30);
			break;
		case 'W':
			o->shrink_window = opt_short_ulong(c, optarg, 0, 2);
			break;
		case 'w':
			o->switch_s = opt_short_ulong(c, optarg, 0, 86400);
			break;
		case 'o':
			o->csv_path = opt_short_file(c, optarg);
			break;
		case '4':
		case '6':
			opt_family(c, &o->family);
			break;
		default:
			opt_help_or_bad(c, argv, usage);
		}
	}
	opt_no_operands(argc, argv);
	if (!o->family)
		o->family = AF_INET;
}

/*
 * The streams: connection @i carries pattern[] from offset i * 7919
 * (mod PERIOD) on, so a lost, repeated or reordered segment shows, while
 * sending and checking cost a memcpy-sized slice, not a byte loop: TCG
 * runs a thousand streams.  pattern[] holds two periods so that any slice
 * of up to PERIOD bytes is contiguous.
 */
static unsigned char pattern[2 * PERIOD];

static void pattern_init(void)
{
	unsigned long long k;

	for (k = 0; k < PERIOD; k++) {
		pattern[k] = ((k + 1) * 0x9e3779b97f4a7c15ULL) >> 56;
		pattern[k + PERIOD] = pattern[k];
	}
}

static inline const unsigned char *pattern_at(unsigned long i,
					      unsigned long long off)
{
	return pattern + (off + i * 7919) % PERIOD;
}

/* ---- connections ----------------------------------------------------- */

static int nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/*
 * Connect @o->conns receivers (in R, where the caller is) to a listener
 * in S, in batches, and pair each accepted socket with its client by port.
 */
static int open_conns(const struct options *o, struct netns_veth *v,
		      struct conn *c)
{
	struct sockaddr_storage ss;
	unsigned short port, *cport;
	unsigned long i, j, k;
	socklen_t alen;
	int lfd, ret = -1;

	cport = calloc(o->conns, sizeof(*cport));
	if (!cport)
		return -1;
	if (netns_veth_enter(v, v->s_ns, "sender"))
		goto out_free;
	lfd = socket(o->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (netns_veth_enter(v, v->r_ns, "receiver") || lfd < 0) {
		msg_warn("listener: %s\n", lfd < 0 ? strerror(errno) : v->err);
		goto out_free;
	}
	alen = sock_inet_addr(o->family, netns_veth_addr(o->family, false), 0,
			      &ss);
	if (bind(lfd, (struct sockaddr *)&ss, alen) || listen(lfd, BATCH * 2) ||
	    sock_local_port(lfd, &port) || sock_set_io_timeouts(lfd, 10)) {
		msg_warn("listener bind/listen: %s\n", strerror(errno));
		goto out_close;
	}
	alen = sock_inet_addr(o->family, netns_veth_addr(o->family, false),
			      port, &ss);
	for (i = 0; i < o->conns; i += BATCH) {
		unsigned long n = o->conns - i < BATCH ? o->conns - i : BATCH;

		for (j = i; j < i + n; j++) {
			c[j].rfd = socket(o->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (c[j].rfd < 0 || nonblock(c[j].rfd) ||
			    (connect(c[j].rfd, (struct sockaddr *)&ss, alen) &&
			     errno != EINPROGRESS) ||
			    sock_local_port(c[j].rfd, &cport[j])) {
				msg_warn("connection %lu: %s\n", j, strerror(errno));
				goto out_close;
			}
		}
		for (j = 0; j < n; j++) {
			struct sockaddr_storage peer;
			socklen_t plen = sizeof(peer);
			unsigned short pp;
			int fd;

			fd = accept4(lfd, (struct sockaddr *)&peer, &plen,
				     SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (fd < 0) {
				msg_warn("accept: %s\n", strerror(errno));
				goto out_close;
			}
			pp = ntohs(((struct sockaddr_in *)&peer)->sin_port);
			for (k = i; k < i + n; k++)
				if (cport[k] == pp && c[k].sfd < 0)
					break;
			if (k == i + n) {
				msg_warn("accepted port %u matches no client\n", pp);
				close(fd);
				goto out_close;
			}
			c[k].sfd = fd;
			if (sock_set_int(fd, SOL_SOCKET, SO_SNDBUF, SNDBUF)) {
				msg_warn("SO_SNDBUF: %s\n", strerror(errno));
				goto out_close;
			}
		}
	}
	ret = 0;
out_close:
	close(lfd);
out_free:
	free(cport);
	return ret;
}

/* ---- sampling -------------------------------------------------------- */

static int meminfo(int fd, __u32 *mi)
{
	socklen_t len = sizeof(__u32) * SK_MEMINFO_VARS;

	memset(mi, 0, len);
	return getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &len);
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* One sample of everything; @rcvbufs gets each receiver's sk_rcvbuf. */
static int sample(const struct options *o, const struct conn *c,
		  struct totals *t, __u32 *rcvbufs)
{
	__u32 mi[SK_MEMINFO_VARS];
	unsigned long i;

	memset(t, 0, sizeof(*t));
	t->mem_pages = proc_sockstat_tcp("mem");
	for (i = 0; i < o->conns; i++) {
		if (meminfo(c[i].rfd, mi))
			return -1;
		t->rmem += mi[SK_MEMINFO_RMEM_ALLOC];
		t->rcvbuf += mi[SK_MEMINFO_RCVBUF];
		if (mi[SK_MEMINFO_RCVBUF] > t->max_rcvbuf)
			t->max_rcvbuf = mi[SK_MEMINFO_RCVBUF];
		if (mi[SK_MEMINFO_RMEM_ALLOC] > t->max_rmem)
			t->max_rmem = mi[SK_MEMINFO_RMEM_ALLOC];
		if (mi[SK_MEMINFO_RMEM_ALLOC] >= mi[SK_MEMINFO_RCVBUF])
			t->at_limit++;
		rcvbufs[i] = mi[SK_MEMINFO_RCVBUF];
		if (meminfo(c[i].sfd, mi))
			return -1;
		t->wmem += mi[SK_MEMINFO_WMEM_QUEUED];
	}
	return 0;
}

/* ---- data ------------------------------------------------------------ */

static void send_some(unsigned long i, struct conn *c, size_t len)
{
	ssize_t n;

	n = send(c->sfd, pattern_at(i, c->sent), len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0)
		c->sent += n;
}

/* Bytes of @buf[0..n) that differ from connection @i's stream at @off. */
static unsigned long long check(unsigned long i, unsigned long long off,
				const unsigned char *buf, size_t n)
{
	unsigned long long bad = 0;
	size_t k, step;

	for (k = 0; k < n; k += step) {
		const unsigned char *p = pattern_at(i, off + k);
		size_t j;

		step = n - k < PERIOD ? n - k : PERIOD;
		if (!memcmp(buf + k, p, step))
			continue;
		for (j = 0; j < step; j++)
			bad += buf[k + j] != p[j];
	}
	return bad;
}

/* Read up to @max bytes of connection @i (0: all there is); -1 on error. */
static int recv_some(unsigned long i, struct conn *c, unsigned char *buf,
		     size_t max)
{
	size_t want = max ? max : RBUF;
	ssize_t n;

	do {
		n = recv(c->rfd, buf, want, MSG_DONTWAIT);
		if (n == 0) {
			c->eof = true;
			return 0;
		}
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->bad += check(i, c->got, buf, n);
		c->got += n;
	} while (!max);
	return 0;
}

/* ---- run ------------------------------------------------------------- */

static void print_counters(const char *tag, const struct mib_snap *a,
			   const struct mib_snap *b, const char * const *names,
			   unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		printf(" %s%s=%lld", tag, names[i], mib_delta(a, b, names[i]));
}

/* Counter snapshots of both namespaces; the main thread ends in R. */
static void snap_both(struct netns_veth *v, struct mib_snap *r,
		      struct mib_snap *s)
{
	mib_snapshot(r);
	if (netns_veth_enter(v, v->s_ns, "sender"))
		die("%s\n", v->err);
	mib_snapshot(s);
	if (netns_veth_enter(v, v->r_ns, "receiver"))
		die("%s\n", v->err);
}

/* One run: the connections, what was sampled, what the drain found. */
struct run {
	const struct options *o;
	struct conn *c;
	__u32 *rcvbufs;
	unsigned char *rbuf;
	struct mib_snap *r0, *r1, *s0, *s1;
	struct netns_veth v;
	FILE *csv;
	char tcp_mem[96], sw[24], tcp_rmem[96];
	long long page, base_pages, peak_pages;
	unsigned long long peak_rmem, peak_rcvbuf_sum, peak_wmem;
	__u32 max_rcvbuf, max_rmem;
	unsigned long samples, open_left;
	unsigned long long sent, got, bad;
	struct totals last;
};

static void run_alloc(struct run *r)
{
	unsigned long i, n = r->o->conns;

	if (sock_reserve_fds(2 * n + 64))
		die("RLIMIT_NOFILE %lu: %s\n", 2 * n + 64, strerror(errno));
	r->c = calloc(n, sizeof(*r->c));
	r->rcvbufs = calloc(n, sizeof(*r->rcvbufs));
	r->rbuf = malloc(RBUF);
	r->r0 = malloc(sizeof(*r->r0));
	r->r1 = malloc(sizeof(*r->r1));
	r->s0 = malloc(sizeof(*r->s0));
	r->s1 = malloc(sizeof(*r->s1));
	if (!r->c || !r->rcvbufs || !r->rbuf || !r->r0 || !r->r1 || !r->s0 ||
	    !r->s1)
		die("out of memory\n");
	for (i = 0; i < n; i++) {
		r->c[i].rfd = -1;
		r->c[i].sfd = -1;
	}
}

/*
 * The namespaces, the sysctls of the receiver's namespace and the
 * connections; exits 1 when one of them cannot be made.
 */
static void run_setup(struct run *r)
{
	const struct options *o = r->o;

	netns_veth_init(&r->v, o->family, RTT_MS);
	if (netns_veth_setup(&r->v, R_DEV, S_DEV))
		die("%s\n", r->v.err);
	if (o->rmem_max) {
		char val[64];

		snprintf(val, sizeof(val), "4096 131072 %lu", o->rmem_max);
		if (sysctl_write("/proc/sys/net/ipv4/tcp_rmem", val))
			die("net.ipv4.tcp_rmem=%s: %s\n", val, strerror(errno));
	}
	sysctl_read("/proc/sys/net/ipv4/tcp_rmem", r->tcp_rmem, sizeof(r->tcp_rmem));
	commas(r->tcp_rmem);
	if (o->shrink_window >= 0) {
		snprintf(r->sw, sizeof(r->sw), "%ld", o->shrink_window);
		if (sysctl_write("/proc/sys/net/ipv4/tcp_shrink_window", r->sw))
			die("net.ipv4.tcp_shrink_window=%s: %s\n", r->sw,
			    strerror(errno));
	}
	r->base_pages = proc_sockstat_tcp("mem");
	if (open_conns(o, &r->v, r->c))
		die("could not open %lu connections\n", o->conns);
}

/* One sample, @el seconds into the run: peaks, CSV row, progress line. */
static void run_sample(struct run *r, unsigned long long el)
{
	struct totals tot;

	if (sample(r->o, r->c, &tot, r->rcvbufs))
		die("SO_MEMINFO: %s\n", strerror(errno));
	r->samples++;
	if (tot.mem_pages > r->peak_pages)
		r->peak_pages = tot.mem_pages;
	if (tot.rmem > r->peak_rmem)
		r->peak_rmem = tot.rmem;
	if (tot.rcvbuf > r->peak_rcvbuf_sum)
		r->peak_rcvbuf_sum = tot.rcvbuf;
	if (tot.wmem > r->peak_wmem)
		r->peak_wmem = tot.wmem;
	if (tot.max_rcvbuf > r->max_rcvbuf)
		r->max_rcvbuf = tot.max_rcvbuf;
	if (tot.max_rmem > r->max_rmem)
		r->max_rmem = tot.max_rmem;
	if (r->csv)
		fprintf(r->csv, "%llu,%lld,%llu,%llu,%u,%u,%u,%llu\n", el,
			tot.mem_pages * r->page, tot.rmem, tot.rcvbuf,
			tot.max_rcvbuf, tot.max_rmem, tot.at_limit, tot.wmem);
	if (el % 10 == 0)
		printf(FMT_PROGRESS, el, tot.mem_pages * r->page, tot.rmem,
		       tot.rcvbuf, tot.max_rcvbuf, tot.at_limit, tot.wmem);
	fflush(stdout);
	r->last = tot;
}

/* Next deadline of a periodic step: @period after @next, never behind @now. */
static unsigned long long next_after(unsigned long long next,
				     unsigned long long now,
				     unsigned long long period)
{
	next += period;
	return next < now ? now + period : next;
}

/* -t seconds of writes, slow (or alternating) reads and samples. */
static void run_loop(struct run *r)
{
	const struct options *o = r->o;
	unsigned long long t0 = time_ns(), end, next_tick, next_read;
	unsigned long long next_sample, now, wake;
	unsigned long i;

	end = t0 + o->time_s * NSEC_PER_SEC;
	next_tick = t0;
	next_read = t0;
	next_sample = t0 + SAMPLE_NS;
	while (!stop_requested() && (now = time_ns()) < end) {
		if (now >= next_tick) {
			for (i = 0; i < o->conns; i++)
				send_some(i, &r->c[i], WRITE_BYTES);
			next_tick = next_after(next_tick, now, WRITE_MS * NSEC_PER_MSEC);
		}
		if (now >= next_read) {
			/* Odd periods of -w read fast. */
			size_t want = o->switch_s &&
				      (now - t0) / (o->switch_s * NSEC_PER_SEC) % 2 ?
				      FAST_BYTES : READ_BYTES;

			for (i = 0; i < o->conns; i++)
				if (recv_some(i, &r->c[i], r->rbuf, want))
					die("recv %lu: %s\n", i, strerror(errno));
			next_read = next_after(next_read, now, READ_MS * NSEC_PER_MSEC);
		}
		if (now >= next_sample) {
			run_sample(r, (now - t0) / NSEC_PER_SEC);
			next_sample += SAMPLE_NS;
		}
		now = time_ns();
		wake = next_tick < next_sample ? next_tick : next_sample;
		if (next_read < wake)
			wake = next_read;
		if (wake > now)
			time_sleep_ns(wake - now);
	}
}

/* The senders close, every receiver reads to EOF; count what arrived. */
static void run_drain(struct run *r)
{
	unsigned long i, n = r->o->conns;
	unsigned long long end;

	for (i = 0; i < n; i++)
		shutdown(r->c[i].sfd, SHUT_WR);
	r->open_left = n;
	end = time_ns() + DRAIN_S * NSEC_PER_SEC;
	while (r->open_left && time_ns() < end && !stop_requested()) {
		r->open_left = 0;
		for (i = 0; i < n; i++) {
			if (r->c[i].eof)
				continue;
			if (recv_some(i, &r->c[i], r->rbuf, 0))
				die("drain recv %lu: %s\n", i, strerror(errno));
			r->open_left += !r->c[i].eof;
		}
		if (r->open_left)
			time_sleep_ns(10 * NSEC_PER_MSEC);
	}
	for (i = 0; i < n; i++) {
		r->sent += r->c[i].sent;
		r->got += r->c[i].got;
		r->bad += r->c[i].bad;
	}
}

static void run_summary(const struct run *r, bool data_ok)
{
	const struct options *o = r->o;
	const __u32 *rb = r->rcvbufs;
	unsigned long n = o->conns;

	printf(FMT_SUMMARY1 FMT_SUMMARY2 FMT_SUMMARY3 FMT_SUMMARY4,
	       PROG, sock_family_name(o->family), n,
	       o->switch_s ? "alternate" : "slow", WRITE_BYTES, WRITE_MS,
	       READ_BYTES, READ_MS, o->time_s, RTT_MS, SNDBUF, r->sw,
	       r->tcp_rmem, r->tcp_mem, r->page, r->samples,
	       r->base_pages * r->page, r->peak_pages * r->page,
	       r->last.mem_pages * r->page, r->peak_rmem, r->peak_rcvbuf_sum,
	       r->peak_wmem, r->max_rcvbuf, r->max_rmem, r->last.at_limit,
	       rb[n / 2], rb[n * 9 / 10], rb[n * 99 / 100], rb[n - 1]);
	print_counters("", r->r0, r->r1, rcv_counters, ARRAY_SIZE(rcv_counters));
	print_counters("snd_", r->s0, r->s1, snd_counters, ARRAY_SIZE(snd_counters));
	printf(" bytes_sent=%llu bytes_verified=%llu bad_bytes=%llu unfinished=%lu data_ok=%s\n",
	       r->sent, r->got - r->bad, r->bad, r->open_left,
	       data_ok ? "yes" : "no");
}

int main(int argc, char **argv)
{
	struct run r = {
		.peak_pages = -1,
		.sw = "default",
		.tcp_mem = "absent",
		.tcp_rmem = "absent",
	};
	struct options o;
	unsigned long i;
	bool data_ok;

	parse_opts(argc, argv, &o);
	r.o = &o;
	r.page = sysconf(_SC_PAGESIZE);
	/* A bad -o is a usage error: before anything else happens. */
	if (o.csv_path) {
		r.csv = fopen(o.csv_path, "w");
		if (!r.csv)
			opt_bad_arg("-o", o.csv_path, strerror(errno));
		fprintf(r.csv, FMT_CSV_HEAD);
	}
	if (geteuid())
		die("needs root (network namespaces, veth)\n");
	if (!cmd_have_tool("ip -V >/dev/null 2>&1") ||
	    !cmd_have_tool("tc -V >/dev/null 2>&1"))
		die("ip or tc (iproute2) not found\n");
	run_alloc(&r);
	pattern_init();
	stop_catch_signals();
	sysctl_read("/proc/sys/net/ipv4/tcp_mem", r.tcp_mem, sizeof(r.tcp_mem));
	commas(r.tcp_mem);
	run_setup(&r);

	snap_both(&r.v, r.r0, r.s0);
	printf(FMT_HELLO, PROG, o.conns, sock_family_name(o.family), RTT_MS,
	       WRITE_BYTES, WRITE_MS, READ_BYTES, READ_MS, SNDBUF, r.tcp_rmem,
	       r.tcp_mem, o.time_s);
	fflush(stdout);
	run_loop(&r);
	/* The end-of-run distribution of sk_rcvbuf over the receivers. */
	if (!r.samples)
		die("no sample taken\n");
	qsort(r.rcvbufs, o.conns, sizeof(*r.rcvbufs), cmp_u32);
	snap_both(&r.v, r.r1, r.s1);
	run_drain(&r);
	data_ok = !r.open_left && !r.bad && r.sent == r.got;
	run_summary(&r, data_ok);

	for (i = 0; i < o.conns; i++) {
		close(r.c[i].rfd);
		close(r.c[i].sfd);
	}
	netns_veth_close(&r.v);
	if (r.csv && fclose(r.csv))
		die("closing %s: %s\n", o.csv_path, strerror(errno));
	if (!data_ok)
		die(FMT_LOST, r.sent, r.got, r.bad, r.open_left);
	return 0;
}
