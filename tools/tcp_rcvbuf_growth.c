// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists:
 *
 * Cloudflare showed in 2023 ("Unbounded memory usage by TCP for receive
 * buffers, and how we fixed it") that a receiver which reads slower than
 * its peer sends can make the kernel ignore the receive-buffer limit set
 * by autotuning.  Coalescing lets sk_rmem_alloc pass sk_rcvbuf, the
 * receiver does not advertise a zero window, and tcp_prune_queue() ->
 * tcp_clamp_window() then raises sk_rcvbuf to sk_rmem_alloc, again and
 * again, up to net.ipv4.tcp_rmem[2].  Only then are packets dropped, and
 * the sender backs off until the connection may time out.
 *
 * This tool is their minimal reproducer: a sender writes
 * 1448 bytes every millisecond, a receiver reads 1 byte every millisecond
 * (or never reads, or alternates between slow and fast reads), over a veth
 * pair between two network namespaces with netem delay (20 ms RTT), with
 * the blog's tcp_rmem[2] (256 MiB, window scale 13) and tcp_adv_win_scale
 * (-2, ignored since 6.6) in the receiver's namespace.  Every 100 ms it
 * samples sk_rmem_alloc and sk_rcvbuf (SO_MEMINFO), the advertised window
 * (TCP_INFO tcpi_rcv_wnd) and the receiver's TcpExt counters, and writes
 * them as CSV for plotting.  At the end the receiver drains the stream and
 * checks every byte against the sender's pattern.
 *
 * It measures memory and judges nothing: one "tcp_rcvbuf_growth: family=...
 * key=value" line per family, data_ok=yes|no saying whether every byte
 * arrived intact.  The verdict on the fix is the series' selftest
 * selftests/net/tcp_rcvbuf_bound; thresholds on these numbers live in
 * tools/tests/rcvbuf_clamp.sh, which judges the raw.txt of
 * scripts/measure/ab rcvbuf (the A/B).  scripts/plot-rcvbuf
 * draws the CSV of -o.  Exit 0 when it measured (whatever data_ok says),
 * 1 when it could not (setup, a sample that could not be taken), 2 on a
 * usage error (lib/opt.c).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <linux/types.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>

#include "kselftest.h"	/* ARRAY_SIZE, __printf */
#include "lib/cmd.h"
#include "lib/mib.h"
#include "lib/msg.h"
#include "lib/netns.h"
#include "lib/opt.h"
#include "lib/sock.h"
#include "lib/stop.h"
#include "lib/sysctl.h"
#include "lib/time.h"

#define PROG			"tcp_rcvbuf_growth"

#define SAMPLE_NS		(100 * NSEC_PER_MSEC)
#define OP_NS			NSEC_PER_MSEC
#define FAST_READ		3300	/* the blog's fast reader: 3300 B/ms */
#define DRAIN_BOUND_S		200	/* > TCP_RTO_MAX: one more retransmit */
#define PROGRESS_S		30
#define DEFAULT_RMEM_MAX	(256UL << 20)
/* netem round-trip time, half on each side. */
#define RTT_MS			20UL
/* net.ipv4.tcp_adv_win_scale as in the blog; ignored since 6.6. */
#define ADV_WIN_SCALE		"-2"
#define IO_TIMEOUT_S		1

#define R_DEV			"rbr0"
#define S_DEV			"rbs0"

/*
 * struct tcp_info comes from the kernel's uapi headers (KHDR_INCLUDES):
 * the host's <netinet/tcp.h> stops before tcpi_rcv_wnd.  The kernel
 * copies min(optlen, its size): the returned length says which fields
 * are real.
 */
/* @len covers the __u32 @field. */
#define TI_HAS(len, field) \
	((len) >= offsetof(struct tcp_info, field) + sizeof(__u32))

enum reader_mode {
	READER_SLOW,
	READER_NONE,
	READER_ALTERNATE,
};

static const char * const reader_names[] = {
	[READER_SLOW] = "slow",
	[READER_NONE] = "none",
	[READER_ALTERNATE] = "alternate",
};

struct options {
	unsigned long time_s;
	enum reader_mode reader;
	unsigned long switch_s;
	unsigned long rmem_max;
	long shrink_window;		/* -1: leave the kernel's default */
	unsigned long size;
	const char *csv_path;
	bool ipv4;
	bool ipv6;
};

/*
 * net.ipv4.tcp_mem (pages) of the initial namespace: global, not per netns.
 * tcp_clamp_window() grows sk_rcvbuf only while all TCP memory is below
 * tcp_mem[0], so a small VM caps the growth before tcp_rmem[2].
 */
static long long tcp_mem[3] = { -1, -1, -1 };

/* Receiver-side TcpExt counters: summary keys and CSV columns. */
static const char * const rcv_counters[] = {
	"PruneCalled",
	"RcvPruned",
	"TCPRcvCollapsed",
	"OfoPruned",
	"TCPWantZeroWindowAdv",
	"TCPToZeroWindowAdv",
	"TCPFromZeroWindowAdv",
	"TCPZeroWindowDrop",
	"TCPRcvQDrop",
	"TCPRcvCoalesce",
	"TCPMemoryPressures",
	"TCPRcvWndShrink",	/* patch 0008 (6.12: 0009): sockets switched */
};

#define N_RCV_COUNTERS	ARRAY_SIZE(rcv_counters)

/* Sender-side counters (the sender's namespace). */
static const char * const snd_counters[] = {
	"TCPTimeouts",
};

#define N_SND_COUNTERS	ARRAY_SIZE(snd_counters)

/* One sysctl of the blog's setup in the receiver's namespace. */
struct knob {
	const char *name;
	char value[96];
	bool exists;
	bool written;
	bool effective;
};

struct test {
	const struct options *o;
	int family;
	const char *fname;
	FILE *csv;
	char err[256];

	int orig_ns;
	struct netns_veth net;
	int lfd, sfd, rfd;
	unsigned short port;

	/* sender thread */
	pthread_t sender;
	bool sender_running;
	unsigned char *sbuf;
	unsigned long long bytes_sent;	/* atomic */
	int send_err;			/* atomic */
	int stop_send;			/* atomic */

	/* receiver */
	unsigned char *rbuf;
	size_t rbuf_sz;
	unsigned long long bytes_read;	/* during the timed run */
	unsigned long long bytes_verified;
	unsigned long long first_bad;
	unsigned long long bad_bytes;
	int recv_err;
	bool eof;
	bool early_eof;

	/* samples */
	unsigned long samples;
	unsigned long meminfo_fail, info_fail;
	unsigned long zero_wnd_samples, zero_wnd_events;
	bool has_rcv_wnd, last_zero;
	__u32 start_rcvbuf, peak_rcvbuf, peak_rmem, end_rcvbuf, end_rmem;
	__u32 peak_unread, min_rcv_wnd, max_rcv_wnd;
	__u32 rcv_wscale, snd_wscale;
	long long t_rcvbuf_max_ms;
	__u32 sender_retrans;
	double duration_s, drain_s;

	struct mib_snap *r0, *r1, *s0, *s1;
	long long rcv_delta[N_RCV_COUNTERS];
	long long snd_delta[N_SND_COUNTERS];

	struct knob rmem, wscale, adv, shrink;
	long long rmem2;
};

/* Long messages: a format string alone on its line passes checkpatch. */
#define FMT_ABSENT \
	"note: sysctl net.ipv4.%s from the blog does not exist on this kernel\n"
#define FMT_OBSOLETE \
	"note: net.ipv4.tcp_adv_win_scale=%s is obsolete since 6.6 and ignored by %s\n"
#define FMT_PROGRESS \
	"%s: t=%llds rcvbuf=%u rmem_alloc=%u unread=%d rcv_wnd=%u sent=%llu read=%llu retrans=%u\n"
#define FMT_START \
	"%s: %s -> %s port %u, rtt %lu ms, reader %s, tcp_rmem \"%s\", window_scaling %s, adv_win_scale %s, shrink_window %s\n"
#define FMT_TCPMEM \
	"note: tcp_mem %lld %lld %lld pages: tcp_mem[0] < -m %lu, growth stops there\n"
#define FMT_BAD \
	"%s: %llu bytes differ from the sender's pattern, first at offset %llu\n"
#define FMT_NOMEAS \
	"%s: measurement failed: %lu samples, SO_MEMINFO failed %lu, TCP_INFO failed %lu\n"
#define FMT_HELLO \
	"%s on %s: sender %lu B every 1 ms, reader %s, %lu s per test, samples every 100 ms\n"

#define fail_msg(t, fmt, ...) \
	snprintf((t)->err, sizeof((t)->err), fmt, ##__VA_ARGS__)

/* ---- command line ------------------------------------------------------ */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [-4] [-6] [-t S] [-r MODE] [-w S] [-m BYTES] [-W 0|1|2] [-s BYTES] [-o CSV]\n"
		"Receive-buffer growth of a slow TCP reader (Cloudflare 2023 reproducer)\n"
		"over veth between two network namespaces with netem delay.\n"
		"\n"
		"  -4         IPv4; with neither -4 nor -6: both, one run each\n"
		"  -6         IPv6\n"
		"  -t S       timed run in seconds (default 20); then drain and verify\n"
		"  -r MODE    slow:      read 1 B every 1 ms (default)\n"
		"             none:      never read until the end of the run\n"
		"             alternate: slow and fast (3300 B every 1 ms), switching\n"
		"                        every -w seconds\n"
		"  -w S       alternate period in seconds (default 5; blog: 240)\n"
		"  -m BYTES   net.ipv4.tcp_rmem[2] of the receiver (default %lu,\n"
		"             the blog's 256 MiB, window scale 13)\n"
		"  -W 0|1|2   net.ipv4.tcp_shrink_window (since 6.5) of the receiver\n"
		"             (2: this series); default: leave it\n"
		"  -s BYTES   sender write size (default 1448)\n"
		"  -o FILE    write the 100 ms time series of every run to FILE (CSV)\n"
		"  -h         this text\n"
		"\n"
		"Netem RTT 20 ms, tcp_adv_win_scale -2 (the blog's), a progress line every\n"
		"%d s.  Prints \"%s: family=... key=value ...\" per run.  Needs root\n"
		"(network namespaces), ip and tc (netem).  Run it in a VM.\n"
		"Exit: 0 measured (see data_ok=), 1 could not measure, 2 bad arguments.\n",
		PROG, DEFAULT_RMEM_MAX, PROGRESS_S, PROG);
}

static void parse_opt(int c, char **argv, struct options *o, bool *v4, bool *v6)
{
	unsigned int i;

	switch (c) {
	case 't':
		o->time_s = opt_ulong("-t", optarg, 1, 86400);
		break;
	case 'r':
		for (i = 0; i < ARRAY_SIZE(reader_names); i++)
			if (!strcmp(optarg, reader_names[i]))
				break;
		if (i == ARRAY_SIZE(reader_names))
			opt_bad_arg("-r", optarg, "one of slow, none, alternate");
		o->reader = i;
		break;
	case 'w':
		o->switch_s = opt_ulong("-w", optarg, 1, 86400);
		break;
	case 'm':
		o->rmem_max = opt_ulong("-m", optarg, 4096, 1UL << 30);
		break;
	case 'W':
		o->shrink_window = opt_ulong("-W", optarg, 0, 2);
		break;
	case 's':
		o->size = opt_ulong("-s", optarg, 1, 1 << 20);
		break;
	case 'o':
		o->csv_path = opt_short_file(c, optarg);
		break;
	case '4':
		*v4 = true;
		break;
	case '6':
		*v6 = true;
		break;
	default:
		opt_help_or_bad(c, argv, usage);
	}
}

static void parse_opts(int argc, char **argv, struct options *o)
{
	bool v4 = false, v6 = false;
	int c;

	memset(o, 0, sizeof(*o));
	o->time_s = 20;
	o->reader = READER_SLOW;
	o->switch_s = 5;
	o->rmem_max = DEFAULT_RMEM_MAX;
	o->shrink_window = -1;
	o->size = 1448;

	opterr = 0;
	while ((c = getopt(argc, argv, ":46t:r:w:m:W:s:o:h")) != -1)
		parse_opt(c, argv, o, &v4, &v6);
	opt_no_operands(argc, argv);
	o->ipv4 = v4 || !v6;
	o->ipv6 = v6 || !v4;
}

/* ---- stream pattern ------------------------------------------------------ */

/* Byte @off of the stream: a lost, repeated or reordered byte changes it. */
static inline unsigned char pattern_byte(unsigned long long off)
{
	return ((off + 1) * 0x9e3779b97f4a7c15ULL) >> 56;
}

static void pattern_fill(unsigned char *buf, size_t len,
			 unsigned long long off)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pattern_byte(off + i);
}

/* Check @n received bytes at stream offset t->bytes_verified + bad. */
static void verify(struct test *t, const unsigned char *buf, size_t n)
{
	unsigned long long off = t->bytes_verified + t->bad_bytes;
	size_t i;

	for (i = 0; i < n; i++) {
		if (buf[i] == pattern_byte(off + i)) {
			t->bytes_verified++;
			continue;
		}
		if (!t->bad_bytes)
			t->first_bad = off + i;
		t->bad_bytes++;
	}
}

/* ---- sender thread --------------------------------------------------------- */

static void *sender_main(void *arg)
{
	struct test *t = arg;
	unsigned long long off = 0;
	size_t size = t->o->size;
	int err = 0;

	while (!__atomic_load_n(&t->stop_send, __ATOMIC_RELAXED)) {
		size_t done = 0;

		pattern_fill(t->sbuf, size, off);
		while (done < size) {
			ssize_t n = send(t->sfd, t->sbuf + done, size - done,
					 MSG_NOSIGNAL);

			if (n > 0) {
				done += n;
				off += n;
				__atomic_store_n(&t->bytes_sent, off,
						 __ATOMIC_RELAXED);
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				/* SO_SNDTIMEO: window closed; look at the stop flag. */
				if (__atomic_load_n(&t->stop_send, __ATOMIC_RELAXED))
					goto out;
				continue;
			}
			err = n < 0 ? errno : EPIPE;
			goto out;
		}
		time_sleep_ns(OP_NS);
	}
out:
	__atomic_store_n(&t->send_err, err, __ATOMIC_RELAXED);
	shutdown(t->sfd, SHUT_WR);
	return NULL;
}

/* ---- namespaces and link ------------------------------------------------- */

static int ns_enter(struct test *t, int fd, const char *which)
{
	if (netns_veth_enter(&t->net, fd, which)) {
		fail_msg(t, "%s", t->net.err);
		return -1;
	}
	return 0;
}

/* Sender namespace S, receiver R (netns_veth.h); the main thread ends in R. */
static int netns_setup(struct test *t)
{
	int ret;

	netns_veth_init(&t->net, t->family, RTT_MS);
	ret = netns_veth_setup(&t->net, R_DEV, S_DEV);
	if (ret)
		fail_msg(t, "%s", t->net.err);
	return ret;
}

/* ---- sysctls of the receiver's namespace --------------------------------- */

static void knob_set(struct knob *k, const char *name, const char *val)
{
	char path[128], *p;

	k->name = name;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/%s", name);
	k->exists = !sysctl_read(path, k->value, sizeof(k->value));
	if (!k->exists) {
		snprintf(k->value, sizeof(k->value), "absent");
		printf(FMT_ABSENT, name);
		return;
	}
	if (val) {
		k->written = !sysctl_write(path, val);
		if (!k->written)
			printf("note: cannot write net.ipv4.%s=%s: %s\n",
			       name, val, strerror(errno));
		sysctl_read(path, k->value, sizeof(k->value));
	}
	for (p = k->value; *p; p++)
		if (*p == '\t')
			*p = ' ';
	k->effective = true;
}

/* Kernel release as major * 1000 + minor. */
static int kernel_version(char *rel, size_t sz)
{
	unsigned int major = 0, minor = 0;
	struct utsname u;

	if (uname(&u)) {
		snprintf(rel, sz, "unknown");
		return 0;
	}
	snprintf(rel, sz, "%s", u.release);
	if (sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return 0;
	return major * 1000 + minor;
}

static void sysctls_setup(struct test *t)
{
	char val[96], rel[65], cur[96];
	unsigned long mn = 4096, def = 131072;

	if (!sysctl_read("/proc/sys/net/ipv4/tcp_rmem", cur, sizeof(cur)))
		sscanf(cur, "%lu %lu", &mn, &def);
	if (def > t->o->rmem_max)
		def = t->o->rmem_max;
	if (mn > def)
		mn = def;
	snprintf(val, sizeof(val), "%lu %lu %lu", mn, def, t->o->rmem_max);
	knob_set(&t->rmem, "tcp_rmem", val);
	knob_set(&t->wscale, "tcp_window_scaling", "1");
	knob_set(&t->adv, "tcp_adv_win_scale", ADV_WIN_SCALE);
	/* scaling_ratio replaced it in 6.6 (dfa2f0483360): still there, unused. */
	if (t->adv.exists && kernel_version(rel, sizeof(rel)) >= 6006) {
		t->adv.effective = false;
		printf(FMT_OBSOLETE, t->adv.value, rel);
	}
	snprintf(val, sizeof(val), "%ld", t->o->shrink_window);
	knob_set(&t->shrink, "tcp_shrink_window",
		 t->o->shrink_window < 0 ? NULL : val);
	t->rmem2 = -1;
	if (t->rmem.exists) {
		unsigned long a, b, c;

		if (sscanf(t->rmem.value, "%lu %lu %lu", &a, &b, &c) == 3)
			t->rmem2 = c;
	}
}

/* ---- connection ---------------------------------------------------------- */

/* Listener in S (the blog's sender is the server), client in R. */
static int connect_pair(struct test *t)
{
	struct sockaddr_storage ss;
	socklen_t alen;
	int fd;

	if (ns_enter(t, t->net.s_ns, "sender"))
		return -1;
	fd = socket(t->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ns_enter(t, t->net.r_ns, "receiver")) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (fd < 0) {
		fail_msg(t, "listen socket: %s", strerror(errno));
		return -1;
	}
	t->lfd = fd;
	alen = sock_inet_addr(t->family, netns_veth_addr(t->family, false),
			      0, &ss);
	if (sock_set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) ||
	    bind(fd, (struct sockaddr *)&ss, alen) || listen(fd, 4) ||
	    sock_local_port(fd, &t->port) || sock_set_io_timeouts(fd, 10)) {
		fail_msg(t, "sender bind/listen: %s",
			 strerror(errno));
		return -1;
	}

	t->rfd = socket(t->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (t->rfd < 0) {
		fail_msg(t, "receiver socket: %s", strerror(errno));
		return -1;
	}
	/* No SO_RCVBUF: that would lock sk_rcvbuf and disable autotuning. */
	alen = sock_inet_addr(t->family, netns_veth_addr(t->family, false),
			      t->port, &ss);
	if (sock_set_io_timeouts(t->rfd, 10) ||
	    connect(t->rfd, (struct sockaddr *)&ss, alen)) {
		fail_msg(t, "connect to %s port %u: %s",
			 netns_veth_addr(t->family, false), t->port,
			 strerror(errno));
		return -1;
	}
	t->sfd = accept4(t->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (t->sfd < 0) {
		fail_msg(t, "accept: %s", strerror(errno));
		return -1;
	}
	if (sock_set_io_timeouts(t->sfd, IO_TIMEOUT_S) ||
	    sock_set_io_timeouts(t->rfd, IO_TIMEOUT_S)) {
		fail_msg(t, "SO_RCVTIMEO/SO_SNDTIMEO: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- sampling ------------------------------------------------------------ */

static int rb_tcp_info(int fd, struct tcp_info *ti, socklen_t *len)
{
	*len = sizeof(*ti);
	memset(ti, 0, sizeof(*ti));
	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, len);
}

static void csv_header(FILE *f)
{
	unsigned int i;

	fprintf(f, "family,reader,t_ms,phase,rmem_alloc,rcvbuf,rmem_max,unread,rcv_wnd,");
	fprintf(f, "rcv_space,rcv_ssthresh,zero_window,backlog,sk_drops,");
	fprintf(f, "snd_wnd,snd_unacked_pkts,snd_notsent,snd_retrans,snd_backoff,");
	fprintf(f, "bytes_sent,bytes_read");
	for (i = 0; i < N_RCV_COUNTERS; i++)
		fprintf(f, ",%s", rcv_counters[i]);
	fputc('\n', f);
}

/* "" for a counter or field the kernel does not have. */
static void csv_ll(FILE *f, long long v)
{
	if (v < 0)
		fputc(',', f);
	else
		fprintf(f, ",%lld", v);
}

static const char *phase_name(const struct test *t, int phase)
{
	if (t->o->reader == READER_NONE)
		return "none";
	return phase ? "fast" : "slow";
}

/* One sample of the receiver (and the sender, when @have_si). */
struct sample {
	__u32 mem[SK_MEMINFO_VARS];
	struct tcp_info ri, si;
	socklen_t rlen, slen;
	bool have_si, zero;
	int unread;
	int phase;
	long long t_ms;
	unsigned long long sent;
};

static void csv_row(struct test *t, const struct sample *p)
{
	const struct tcp_info *si = &p->si;
	bool has_si = p->have_si;
	unsigned int i;

	fprintf(t->csv, "%s,%s,%lld,%s,%u,%u,%lld,%d", t->fname,
		reader_names[t->o->reader], p->t_ms, phase_name(t, p->phase),
		p->mem[SK_MEMINFO_RMEM_ALLOC], p->mem[SK_MEMINFO_RCVBUF],
		t->rmem2, p->unread);
	csv_ll(t->csv, t->has_rcv_wnd ? (long long)p->ri.tcpi_rcv_wnd : -1);
	fprintf(t->csv, ",%u,%u", p->ri.tcpi_rcv_space, p->ri.tcpi_rcv_ssthresh);
	csv_ll(t->csv, t->has_rcv_wnd ? p->zero : -1);
	fprintf(t->csv, ",%u,%u", p->mem[SK_MEMINFO_BACKLOG],
		p->mem[SK_MEMINFO_DROPS]);
	csv_ll(t->csv, has_si && TI_HAS(p->slen, tcpi_snd_wnd) ?
	       (long long)si->tcpi_snd_wnd : -1);
	csv_ll(t->csv, has_si ? (long long)si->tcpi_unacked : -1);
	csv_ll(t->csv, has_si ? (long long)si->tcpi_notsent_bytes : -1);
	csv_ll(t->csv, has_si ? (long long)si->tcpi_total_retrans : -1);
	csv_ll(t->csv, has_si ? (long long)si->tcpi_backoff : -1);
	fprintf(t->csv, ",%llu,%llu", p->sent, t->bytes_read);
	for (i = 0; i < N_RCV_COUNTERS; i++)
		csv_ll(t->csv, mib_delta(t->r0, t->r1, rcv_counters[i]));
	fputc('\n', t->csv);
}

/* Peaks, ends and the zero-window count of the run so far. */
static void sample_account(struct test *t, struct sample *p)
{
	const __u32 *mem = p->mem;

	t->samples++;
	if (t->samples == 1) {
		t->start_rcvbuf = mem[SK_MEMINFO_RCVBUF];
		t->rcv_wscale = p->ri.tcpi_rcv_wscale;
		t->snd_wscale = p->ri.tcpi_snd_wscale;
	}
	t->end_rcvbuf = mem[SK_MEMINFO_RCVBUF];
	t->end_rmem = mem[SK_MEMINFO_RMEM_ALLOC];
	if (t->end_rcvbuf > t->peak_rcvbuf)
		t->peak_rcvbuf = t->end_rcvbuf;
	if (t->end_rmem > t->peak_rmem)
		t->peak_rmem = t->end_rmem;
	if (p->unread > 0 && (__u32)p->unread > t->peak_unread)
		t->peak_unread = p->unread;
	if (t->t_rcvbuf_max_ms < 0 && t->rmem2 > 0 &&
	    t->end_rcvbuf >= t->rmem2)
		t->t_rcvbuf_max_ms = p->t_ms;

	t->has_rcv_wnd = TI_HAS(p->rlen, tcpi_rcv_wnd);
	p->zero = t->has_rcv_wnd && !p->ri.tcpi_rcv_wnd;
	if (t->has_rcv_wnd) {
		if (t->samples == 1 || p->ri.tcpi_rcv_wnd < t->min_rcv_wnd)
			t->min_rcv_wnd = p->ri.tcpi_rcv_wnd;
		if (p->ri.tcpi_rcv_wnd > t->max_rcv_wnd)
			t->max_rcv_wnd = p->ri.tcpi_rcv_wnd;
	}
	if (p->zero) {
		t->zero_wnd_samples++;
		if (!t->last_zero)
			t->zero_wnd_events++;
	}
	t->last_zero = p->zero;
	if (p->have_si)
		t->sender_retrans = p->si.tcpi_total_retrans;
}

static void take_sample(struct test *t, unsigned long long t_ns, int phase,
			bool quiet)
{
	socklen_t mlen = sizeof(((struct sample *)0)->mem);
	struct sample p = { .phase = phase, .unread = -1 };
	bool have_mem, have_ri;

	p.t_ms = t_ns / NSEC_PER_MSEC;
	have_mem = !getsockopt(t->rfd, SOL_SOCKET, SO_MEMINFO, p.mem, &mlen) &&
		   mlen > SK_MEMINFO_RCVBUF * sizeof(__u32);
	have_ri = !rb_tcp_info(t->rfd, &p.ri, &p.rlen);
	p.have_si = !rb_tcp_info(t->sfd, &p.si, &p.slen);
	if (ioctl(t->rfd, SIOCINQ, &p.unread))
		p.unread = -1;
	mib_snapshot(t->r1);
	p.sent = __atomic_load_n(&t->bytes_sent, __ATOMIC_RELAXED);

	if (!have_mem)
		t->meminfo_fail++;
	if (!have_ri)
		t->info_fail++;
	if (!have_mem || !have_ri)
		return;
	sample_account(t, &p);

	if (!quiet && p.t_ms >= PROGRESS_S * 1000 &&
	    p.t_ms % (PROGRESS_S * 1000) < 100)
		printf(FMT_PROGRESS, t->fname, p.t_ms / 1000,
		       p.mem[SK_MEMINFO_RCVBUF], p.mem[SK_MEMINFO_RMEM_ALLOC],
		       p.unread, p.ri.tcpi_rcv_wnd, p.sent, t->bytes_read,
		       t->sender_retrans);
	if (t->csv)
		csv_row(t, &p);
}

/* ---- the run --------------------------------------------------------------- */

/* Read up to @n bytes without blocking; false on EOF or error. */
static bool read_some(struct test *t, size_t n)
{
	ssize_t got = recv(t->rfd, t->rbuf, n, MSG_DONTWAIT);

	if (got > 0) {
		verify(t, t->rbuf, got);
		t->bytes_read += got;
		return true;
	}
	if (!got) {
		t->early_eof = true;
		return false;
	}
	if (errno == EAGAIN || errno == EINTR)
		return true;
	t->recv_err = errno;
	return false;
}

static int reader_phase(const struct test *t, unsigned long long el)
{
	if (t->o->reader != READER_ALTERNATE)
		return 0;
	return (el / (t->o->switch_s * NSEC_PER_SEC)) & 1;
}

static void timed_run(struct test *t)
{
	unsigned long long start, end, next, now;
	int phase = 0;

	start = time_ns();
	end = start + t->o->time_s * NSEC_PER_SEC;
	next = start;
	for (;;) {
		now = time_ns();
		if (now >= next) {
			take_sample(t, now - start, phase, false);
			while (next <= now)
				next += SAMPLE_NS;
		}
		if (now >= end || stop_requested() ||
		    __atomic_load_n(&t->send_err, __ATOMIC_RELAXED))
			break;
		phase = reader_phase(t, now - start);
		if (t->o->reader == READER_NONE) {
			time_sleep_ns((next < end ? next : end) - now);
			continue;
		}
		if (!read_some(t, phase ? FAST_READ : 1))
			break;
		time_sleep_ns(OP_NS);
	}
	t->duration_s = (double)(time_ns() - start) / NSEC_PER_SEC;
}

/* After the sender stopped: read the rest of the stream up to its EOF. */
static void drain(struct test *t)
{
	unsigned long long start = time_ns(), deadline;
	bool dead = __atomic_load_n(&t->send_err, __ATOMIC_RELAXED);

	deadline = start + DRAIN_BOUND_S * NSEC_PER_SEC;
	while (!t->early_eof && !t->recv_err) {
		ssize_t got = recv(t->rfd, t->rbuf, t->rbuf_sz,
				   dead ? MSG_DONTWAIT : 0);

		if (got > 0) {
			verify(t, t->rbuf, got);
			continue;
		}
		if (!got) {
			t->eof = true;
			break;
		}
		if (errno != EAGAIN && errno != EINTR) {
			t->recv_err = errno;
			break;
		}
		/* A dead sender sends nothing more: stop at the first gap. */
		if (dead || time_ns() >= deadline)
			break;
	}
	t->drain_s = (double)(time_ns() - start) / NSEC_PER_SEC;
}

/* Counter snapshots of both namespaces; main thread, ends in R. */
static int snap_both(struct test *t, struct mib_snap *r, struct mib_snap *s)
{
	mib_snapshot(r);
	if (ns_enter(t, t->net.s_ns, "sender"))
		return -1;
	mib_snapshot(s);
	return ns_enter(t, t->net.r_ns, "receiver");
}

/* ---- report ---------------------------------------------------------------- */

static double ratio(unsigned long long v, long long max)
{
	return max > 0 ? (double)v / max : 0.0;
}

/*
 * A socket error as one token of the key=value line: its errno name
 * (ECONNRESET), its number if glibc has no name, "-" for none.
 */
static const char *err_key(int err, char *buf, size_t sz)
{
	const char *name;

	if (!err)
		return "-";
	name = strerrorname_np(err);
	if (name)
		return name;
	snprintf(buf, sz, "%d", err);
	return buf;
}

/* The same error for a reader, on stderr. */
static const char *err_text(int err)
{
	return err ? strerror(err) : "no error";
}

#define FMT_SUMMARY1 \
	"%s: family=%s kernel=%s reader=%s switch_s=%lu rtt_ms=%lu size=%lu duration_s=%.1f drain_s=%.1f samples=%lu "
#define FMT_SUMMARY2 \
	"rmem_max=%lld start_rcvbuf=%u peak_rcvbuf=%u peak_rcvbuf_ratio=%.4f rcvbuf_growth=%.1f peak_rmem_alloc=%u peak_rmem_ratio=%.4f end_rcvbuf=%u end_rmem_alloc=%u peak_unread=%u t_rcvbuf_max_s=%s "
#define FMT_SUMMARY3 \
	"rcv_wscale=%u snd_wscale=%u min_rcv_wnd=%s max_rcv_wnd=%s zero_window_samples=%s zero_window_events=%s "
#define FMT_SUMMARY4 \
	"bytes_sent=%llu bytes_read_run=%llu bytes_verified=%llu bad_bytes=%llu eof=%s data_ok=%s send_err=%s recv_err=%s sender_retrans=%u "

/* The counter deltas as "Name=N " keys ("na": not on this kernel). */
static void counter_keys(const struct test *t, char *buf, size_t sz)
{
	char num[32];
	size_t len = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < N_RCV_COUNTERS && len < sz; i++) {
		mib_fmt_count(num, sizeof(num), t->rcv_delta[i]);
		len += snprintf(buf + len, sz - len, "%s=%s ", rcv_counters[i], num);
	}
	for (i = 0; i < N_SND_COUNTERS && len < sz; i++) {
		mib_fmt_count(num, sizeof(num), t->snd_delta[i]);
		len += snprintf(buf + len, sz - len, "%s=%s ", snd_counters[i], num);
	}
}

/* A window count, or -1 when the kernel has no tcpi_rcv_wnd. */
static long long wnd(const struct test *t, long long v)
{
	return t->has_rcv_wnd ? v : -1;
}

static void print_summary(struct test *t, const char *rel, bool data_ok)
{
	char counters[768], zs[24], ze[24], mn[24], mx[24], tmax[24], mem0[24];
	char serr[16], rerr[16];
	long long page = sysconf(_SC_PAGESIZE);

	counter_keys(t, counters, sizeof(counters));
	mib_fmt_count(zs, sizeof(zs), wnd(t, t->zero_wnd_samples));
	mib_fmt_count(ze, sizeof(ze), wnd(t, t->zero_wnd_events));
	mib_fmt_count(mn, sizeof(mn), wnd(t, t->min_rcv_wnd));
	mib_fmt_count(mx, sizeof(mx), wnd(t, t->max_rcv_wnd));
	mib_fmt_count(mem0, sizeof(mem0),
		      tcp_mem[0] < 0 ? -1 : tcp_mem[0] * page);
	if (t->t_rcvbuf_max_ms < 0)
		snprintf(tmax, sizeof(tmax), "na");
	else
		snprintf(tmax, sizeof(tmax), "%.1f", t->t_rcvbuf_max_ms / 1000.0);

	printf(FMT_SUMMARY1 FMT_SUMMARY2 FMT_SUMMARY3 FMT_SUMMARY4
	       "%swindow_scaling=%s adv_win_scale=%s adv_win_scale_used=%s shrink_window=%s tcp_mem0_bytes=%s\n",
	       PROG, t->fname, rel, reader_names[t->o->reader],
	       t->o->switch_s, RTT_MS, t->o->size, t->duration_s,
	       t->drain_s, t->samples,
	       t->rmem2, t->start_rcvbuf, t->peak_rcvbuf,
	       ratio(t->peak_rcvbuf, t->rmem2),
	       ratio(t->peak_rcvbuf, t->start_rcvbuf), t->peak_rmem,
	       ratio(t->peak_rmem, t->rmem2), t->end_rcvbuf, t->end_rmem,
	       t->peak_unread, tmax,
	       t->rcv_wscale, t->snd_wscale, mn, mx, zs, ze,
	       __atomic_load_n(&t->bytes_sent, __ATOMIC_RELAXED),
	       t->bytes_read, t->bytes_verified, t->bad_bytes,
	       t->eof ? "yes" : "no", data_ok ? "yes" : "no",
	       err_key(t->send_err, serr, sizeof(serr)),
	       err_key(t->recv_err, rerr, sizeof(rerr)),
	       t->sender_retrans, counters,
	       t->wscale.value, t->adv.value,
	       t->adv.exists ? (t->adv.effective ? "yes" : "no") : "-",
	       t->shrink.value, mem0);
}

/* The same figures as a table, for a reader. */
static void print_table(struct test *t)
{
	printf("  %-26s %14s %10s\n", t->fname, "bytes", "of rmem[2]");
	printf("  %-26s %14lld %10s\n", "tcp_rmem[2]", t->rmem2, "");
	printf("  %-26s %14u %9.1f%%\n", "sk_rcvbuf at start",
	       t->start_rcvbuf, 100 * ratio(t->start_rcvbuf, t->rmem2));
	printf("  %-26s %14u %9.1f%%\n", "sk_rcvbuf peak",
	       t->peak_rcvbuf, 100 * ratio(t->peak_rcvbuf, t->rmem2));
	printf("  %-26s %14u %9.1f%%\n", "sk_rmem_alloc peak",
	       t->peak_rmem, 100 * ratio(t->peak_rmem, t->rmem2));
	printf("  %-26s %14u %9.1f%%\n", "unread bytes peak",
	       t->peak_unread, 100 * ratio(t->peak_unread, t->rmem2));
	printf("  %-26s %14llu\n", "bytes sent",
	       __atomic_load_n(&t->bytes_sent, __ATOMIC_RELAXED));
	printf("  %-26s %14llu\n", "bytes verified", t->bytes_verified);
}

/* ---- one run ------------------------------------------------------------------ */

static void test_free(struct test *t)
{
	if (t->sender_running) {
		__atomic_store_n(&t->stop_send, 1, __ATOMIC_RELAXED);
		pthread_join(t->sender, NULL);
	}
	if (t->rfd >= 0)
		close(t->rfd);
	if (t->sfd >= 0)
		close(t->sfd);
	if (t->lfd >= 0)
		close(t->lfd);
	/* Back home; closing the last references frees both namespaces. */
	if (t->orig_ns >= 0 && setns(t->orig_ns, CLONE_NEWNET))
		msg_warn("setns back to the initial netns: %s\n", strerror(errno));
	netns_veth_close(&t->net);
	free(t->sbuf);
	free(t->rbuf);
	free(t->r0);
	free(t->r1);
	free(t->s0);
	free(t->s1);
}

static int test_init(struct test *t, const struct options *o, int family,
		     int orig_ns, FILE *csv)
{
	memset(t, 0, sizeof(*t));
	t->o = o;
	t->family = family;
	t->fname = sock_family_name(family);
	t->csv = csv;
	t->orig_ns = orig_ns;
	netns_veth_init(&t->net, family, RTT_MS);
	t->lfd = -1;
	t->sfd = -1;
	t->rfd = -1;
	t->t_rcvbuf_max_ms = -1;
	t->rbuf_sz = 256 * 1024;
	t->sbuf = malloc(o->size);
	t->rbuf = malloc(t->rbuf_sz);
	t->r0 = malloc(sizeof(*t->r0));
	t->r1 = malloc(sizeof(*t->r1));
	t->s0 = malloc(sizeof(*t->s0));
	t->s1 = malloc(sizeof(*t->s1));
	if (!t->sbuf || !t->rbuf || !t->r0 || !t->r1 || !t->s0 || !t->s1) {
		fail_msg(t, "out of memory");
		return -1;
	}
	return 0;
}

/* Namespaces, the blog's sysctls, the connection; 0 or -1 (t->err). */
static int test_setup(struct test *t)
{
	const struct options *o = t->o;

	if (netns_setup(t))
		return -1;
	sysctls_setup(t);
	if (t->rmem2 < 0) {
		fail_msg(t, "cannot read net.ipv4.tcp_rmem");
		return -1;
	}
	if (connect_pair(t) || snap_both(t, t->r0, t->s0))
		return -1;
	printf(FMT_START, t->fname, netns_veth_addr(t->family, false),
	       netns_veth_addr(t->family, true), t->port, RTT_MS,
	       reader_names[o->reader], t->rmem.value, t->wscale.value,
	       t->adv.value, t->shrink.value);
	return 0;
}

/* The timed run, the counters at its end, the drain; 0 or -1 (t->err). */
static int test_traffic(struct test *t)
{
	unsigned long long end_ns;
	unsigned int i;
	int ret;

	ret = pthread_create(&t->sender, NULL, sender_main, t);
	if (ret) {
		fail_msg(t, "pthread_create: %s", strerror(ret));
		return -1;
	}
	t->sender_running = true;
	timed_run(t);
	__atomic_store_n(&t->stop_send, 1, __ATOMIC_RELAXED);
	pthread_join(t->sender, NULL);
	t->sender_running = false;
	/* The state at the end of the run, before the drain. */
	end_ns = t->duration_s * NSEC_PER_SEC;
	take_sample(t, end_ns, reader_phase(t, end_ns), true);
	if (snap_both(t, t->r1, t->s1))
		return -1;
	for (i = 0; i < N_RCV_COUNTERS; i++)
		t->rcv_delta[i] = mib_delta(t->r0, t->r1, rcv_counters[i]);
	for (i = 0; i < N_SND_COUNTERS; i++)
		t->snd_delta[i] = mib_delta(t->s0, t->s1, snd_counters[i]);
	drain(t);
	if (t->csv)
		fflush(t->csv);
	return 0;
}

/* Why data_ok is "no", on stderr: it is a result, not a failure. */
static void explain_data(struct test *t)
{
	unsigned long long sent = __atomic_load_n(&t->bytes_sent, __ATOMIC_RELAXED);

	if (t->bad_bytes)
		msg_warn(FMT_BAD, t->fname, t->bad_bytes, t->first_bad);
	if (t->send_err || t->recv_err || t->early_eof)
		msg_warn("%s: connection broke: sender %s, receiver %s%s\n",
			 t->fname, err_text(t->send_err), err_text(t->recv_err),
			 t->early_eof ? ", early EOF" : "");
	if (!t->eof && !t->recv_err)
		msg_warn("%s: no EOF within %d s of the end of the run\n",
			 t->fname, DRAIN_BOUND_S);
	msg_warn("%s: data check: %llu of %llu bytes verified\n",
		 t->fname, t->bytes_verified, sent);
}

/* One run of one family: 0 when it measured, -1 when it could not. */
static int run_test(const struct options *o, int family, int orig_ns,
		    FILE *csv, const char *rel)
{
	struct test t;
	bool data_ok;
	int ret = -1;

	if (test_init(&t, o, family, orig_ns, csv) || test_setup(&t) ||
	    test_traffic(&t)) {
		msg_warn("%s: %s\n", t.fname, t.err);
		goto out;
	}
	data_ok = t.eof && !t.bad_bytes && !t.recv_err && !t.send_err &&
		  t.bytes_verified == __atomic_load_n(&t.bytes_sent, __ATOMIC_RELAXED);
	print_summary(&t, rel, data_ok);
	print_table(&t);
	if (!data_ok)
		explain_data(&t);
	if (!t.samples || t.meminfo_fail || t.info_fail)
		msg_warn(FMT_NOMEAS, t.fname, t.samples, t.meminfo_fail, t.info_fail);
	else if (stop_requested())
		msg_warn("%s: interrupted\n", t.fname);
	else
		ret = 0;
out:
	test_free(&t);
	return ret;
}

/* Root, ip and tc; tcp_mem read.  Exits 1 when something is missing. */
static void check_setup(const struct options *o)
{
	const char *why = NULL;
	char buf[96];

	if (geteuid())
		why = "needs root (network namespaces, veth, sysctls)";
	else if (!cmd_have_tool("ip -V >/dev/null 2>&1"))
		why = "ip (iproute2) not found";
	else if (RTT_MS && !cmd_have_tool("tc -V >/dev/null 2>&1"))
		why = "tc (iproute2) not found";
	if (why) {
		msg_warn("%s\n", why);
		exit(1);
	}
	if (!sysctl_read("/proc/sys/net/ipv4/tcp_mem", buf, sizeof(buf)))
		sscanf(buf, "%lld %lld %lld", &tcp_mem[0], &tcp_mem[1], &tcp_mem[2]);
	if (tcp_mem[0] >= 0 &&
	    tcp_mem[0] * sysconf(_SC_PAGESIZE) < (long long)o->rmem_max)
		printf(FMT_TCPMEM, tcp_mem[0], tcp_mem[1], tcp_mem[2], o->rmem_max);
}

int main(int argc, char **argv)
{
	struct options o;
	FILE *csv = NULL;
	int orig_ns, ret = 0;
	char rel[65];

	parse_opts(argc, argv, &o);
	if (o.csv_path) {
		csv = fopen(o.csv_path, "w");
		if (!csv)
			opt_bad_arg("-o", o.csv_path, strerror(errno));
		csv_header(csv);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	stop_catch_signals();
	kernel_version(rel, sizeof(rel));
	check_setup(&o);
	orig_ns = netns_open_self();
	if (orig_ns < 0) {
		msg_warn("open /proc/thread-self/ns/net: %s\n", strerror(errno));
		return 1;
	}
	printf(FMT_HELLO, PROG, rel, o.size, reader_names[o.reader], o.time_s);
	if (o.ipv4 && run_test(&o, AF_INET, orig_ns, csv, rel))
		ret = 1;
	if (o.ipv6 && run_test(&o, AF_INET6, orig_ns, csv, rel))
		ret = 1;
	close(orig_ns);
	if (csv && fclose(csv)) {
		msg_warn("closing %s: %s\n", o.csv_path, strerror(errno));
		ret = 1;
	}
	return ret;
}
