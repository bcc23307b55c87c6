// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists:
 *
 * Three exceptions of TCP connection setup turn a connect() that normally
 * costs one round trip into seconds of latency or milliseconds of CPU
 * ("In-depth analysis of common three-way handshake exceptions", seed 004
 * of this project).  This test produces each of them on loopback, in a
 * private network namespace per test, and reports what the client sees
 * together with the TcpExt counters that tell the cause:
 *
 * synq     SYN queue full with net.ipv4.tcp_syncookies=0.  Raw SYNs from
 *          a second local address fill the listener's SYN queue (backlog
 *          + 1 request sockets); an nftables rule drops their SYN-ACKs so
 *          the handshakes never complete.  A real connect() then has its
 *          SYN dropped (TCPReqQFullDrop, ListenDrops).  The test empties
 *          the queue with raw RSTs (EmbryonicRsts) and the client gets in
 *          with its first SYN retransmit: connect() takes the initial RTO,
 *          1 s.  A control sample with tcp_syncookies=1 shows the cookie
 *          path (TCPReqQFullDoCookies) connecting at once.
 *
 * acceptq  Accept queue full: a listener that stops accepting.  (1) Its
 *          accept queue holds backlog + 1 connections; a new SYN is
 *          dropped (ListenOverflows, ListenDrops) until the application
 *          accepts one, the client's SYN retransmit gets in after 1 s.
 *          (2) A client whose SYN got in while there was room believes it
 *          is connected, but its third ACK reaches the server only after
 *          the queue filled up: the client holds it back (TCP_DEFER_ACCEPT
 *          on the connecting socket makes the kernel send it with the
 *          first data) while the last slot fills.  Its request and every
 *          later segment are dropped at the full queue (ListenOverflows),
 *          the server retransmits its SYN-ACK from the request-socket
 *          timer (TCPSynRetrans), and the request is acknowledged only at
 *          the first retransmission after the application accepted one
 *          connection.
 *
 * ports    Local port exhaustion: connect() scans ip_local_port_range for
 *          a free port.  The per-connect() CPU time (thread CPU clock) is
 *          measured with the default range, with a range narrowed to N
 *          ports all in use but one, and with all N in use (connect()
 *          fails with EADDRNOTAVAIL after scanning the whole range).
 *
 * It reports what it measured and does not assert latency thresholds.  A
 * test fails when its scenario was not produced (the queue never filled,
 * no SYN or ACK was dropped, the port range was not exhausted) or when a
 * measurement could not be taken.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <getopt.h>
#include <poll.h>
#include <linux/types.h>
#include <sys/resource.h>

#include "tcp_lat.h"

#define PROG			"tcp_setup_exc"
#define NFT_TABLE		"tcp_setup_exc"

#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE	51
#endif

/* synq: the raw SYNs come from this second local address. */
#define ALT_ADDR4		"127.0.0.2"
#define ALT_ADDR6		"fd00:5e7::2"

#define SC_SYNQ			0x1
#define SC_ACCEPTQ		0x2
#define SC_PORTS		0x4
#define SC_ALL			(SC_SYNQ | SC_ACCEPTQ | SC_PORTS)

#define DEF_TIME_S		30
#define DEF_SAMPLES		3
#define DEF_COUNT		200
#define DEF_SYNQ_BACKLOG	8
#define DEF_ACCQ_BACKLOG	4
#define DEF_PORTS		4096
#define MAX_BACKLOG		128
#define MAX_PORTS		20000

/* How long a handshake step may take before the test gives up on it. */
#define STEP_NS			(2 * NSEC_PER_SEC)
/* A dropped SYN is retransmitted after 1 s, then 3 s (2 s linear): wait 5. */
#define CONNECT_WAIT_NS		(5 * NSEC_PER_SEC)
/* acceptq: the application accepts one connection this long after the request. */
#define ACCEPT_AFTER_NS		(1500 * NSEC_PER_MSEC)
/* acceptq: the request is given this long to be acknowledged. */
#define REQ_WAIT_NS		(5 * NSEC_PER_SEC)
/* acceptq: tries when a stall let the delayed third ACK out first. */
#define ACK_ATTEMPTS		3
#define POLL_NS			(5 * NSEC_PER_MSEC)

#define TCP_ST_SYN_RECV		3
#define TCP_ST_LISTEN		10

#define TH_SYN			0x02
#define TH_RST			0x04

struct options {
	unsigned int scenarios;
	bool ipv4;
	bool ipv6;
	unsigned long time_s;
	unsigned long samples;
	unsigned long count;
	unsigned long port;
	unsigned long backlog;
	unsigned long ports;
	bool verbose;
};

struct test {
	const struct options *o;
	int family;
	const char *fname;
	const char *scenario;
	unsigned long long deadline;
	char why[256];
	struct mib_snap *a, *b, *c, *cur;
};

/* ---- command line ------------------------------------------------------ */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [options]\n"
		"Connection-setup exceptions on loopback: SYN queue full, accept queue full,\n"
		"local port exhaustion.  Each test runs in its own network namespace.\n"
		"\n"
		"  -s, --scenario LIST  synq, acceptq, ports or all, comma separated (default all)\n"
		"  -4                   IPv4 only (127.0.0.1)\n"
		"  -6                   IPv6 only (::1)\n"
		"  -t, --time SECONDS   time bound per test, stop early and report (default %d)\n"
		"  -S, --samples N      synq: measured connects with syncookies off (default %d)\n"
		"  -n, --count N        ports: connect() calls per phase (default %d)\n"
		"  -P, --ports N        ports: size of the narrowed ip_local_port_range,\n"
		"                       even, 64..%d (default %d)\n"
		"  -b, --backlog N      listen() backlog, 1..%d (default %d synq, %d acceptq)\n"
		"  -p, --port PORT      listener port (default 0: any free port)\n"
		"  -v, --verbose        per-sample lines and every TcpExt counter that moved\n"
		"  -h, --help           this text\n"
		"\n"
		"Prints one line per test: \"%s: scenario=... family=... key=value ...\".\n"
		"Needs root (network namespaces, sysctls, raw sockets) and, for synq, the\n"
		"nft command.  Exit: 0 pass, 1 fail or bad arguments, 4 skip.\n",
		program_invocation_short_name, DEF_TIME_S, DEF_SAMPLES, DEF_COUNT,
		MAX_PORTS, DEF_PORTS, MAX_BACKLOG, DEF_SYNQ_BACKLOG,
		DEF_ACCQ_BACKLOG, PROG);
}

static unsigned int parse_scenarios(const char *arg)
{
	char buf[128], *tok, *save;
	unsigned int sc = 0;

	if (strlen(arg) >= sizeof(buf))
		bad_arg("--scenario", arg, "too long");
	snprintf(buf, sizeof(buf), "%s", arg);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "synq"))
			sc |= SC_SYNQ;
		else if (!strcmp(tok, "acceptq"))
			sc |= SC_ACCEPTQ;
		else if (!strcmp(tok, "ports"))
			sc |= SC_PORTS;
		else if (!strcmp(tok, "all"))
			sc |= SC_ALL;
		else
			bad_arg("--scenario", arg,
				"expected synq, acceptq, ports or all");
	}
	if (!sc)
		bad_arg("--scenario", arg, "no scenario given");
	return sc;
}

static void parse_opts(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "scenario",	required_argument,	NULL, 's' },
		{ "time",	required_argument,	NULL, 't' },
		{ "samples",	required_argument,	NULL, 'S' },
		{ "count",	required_argument,	NULL, 'n' },
		{ "ports",	required_argument,	NULL, 'P' },
		{ "backlog",	required_argument,	NULL, 'b' },
		{ "port",	required_argument,	NULL, 'p' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	bool only4 = false, only6 = false;
	int c;

	memset(o, 0, sizeof(*o));
	o->scenarios = SC_ALL;
	o->time_s = DEF_TIME_S;
	o->samples = DEF_SAMPLES;
	o->count = DEF_COUNT;
	o->ports = DEF_PORTS;

	while ((c = getopt_long(argc, argv, "s:46t:S:n:P:b:p:vh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 's':
			o->scenarios = parse_scenarios(optarg);
			break;
		case '4':
			only4 = true;
			break;
		case '6':
			only6 = true;
			break;
		case 't':
			o->time_s = opt_ulong("--time", optarg, 1, 3600);
			break;
		case 'S':
			o->samples = opt_ulong("--samples", optarg, 1, 1000);
			break;
		case 'n':
			o->count = opt_ulong("--count", optarg, 1, 100000);
			break;
		case 'P':
			if (!parse_ulong(optarg, MAX_PORTS, &o->ports) ||
			    o->ports < 64 || (o->ports & 1))
				bad_arg("--ports", optarg,
					"expected an even number, 64..20000");
			break;
		case 'b':
			o->backlog = opt_ulong("--backlog", optarg, 1, MAX_BACKLOG);
			break;
		case 'p':
			o->port = opt_ulong("--port", optarg, 0, 65535);
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			bad_usage();
		}
	}
	no_operands(argc, argv);
	if (only4 && only6) {
		fprintf(stderr, "%s: -4 and -6 exclude each other\n",
			program_invocation_short_name);
		bad_usage();
	}
	o->ipv4 = !only6;
	o->ipv6 = !only4;
}

/* ---- small helpers ------------------------------------------------------ */

static unsigned long long cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (unsigned long long)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static bool running(const struct test *t)
{
	return !lat_stopped() && now_ns() < t->deadline;
}

static void set_why(struct test *t, const char *fmt, ...)
{
	va_list ap;

	if (t->why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(t->why, sizeof(t->why), fmt, ap);
	va_end(ap);
}

/* Counter @name moved by this much since snapshot @from (fresh snapshot). */
static long long moved(struct test *t, const struct mib_snap *from,
		       const char *name)
{
	mib_snapshot(t->cur);
	return mib_delta(from, t->cur, name);
}

struct saved_sysctl {
	const char *path;
	char old[64];
	bool changed;
};

static int sysctl_change(struct saved_sysctl *s, const char *path,
			 const char *val)
{
	s->path = path;
	s->changed = false;
	if (sysctl_read(path, s->old, sizeof(s->old)))
		return -1;
	if (sysctl_write(path, val))
		return -1;
	s->changed = true;
	return 0;
}

static void sysctl_restore(struct saved_sysctl *s)
{
	if (s->changed && sysctl_write(s->path, s->old))
		ksft_print_msg("cannot restore %s to '%s'\n", s->path, s->old);
	s->changed = false;
}

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
static int alt_addr_setup(struct test *t)
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
		set_why(t, "cannot add %s to lo: %s", ALT_ADDR6, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static void close_rst(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static int listener_open(struct test *t, int backlog, unsigned short *port,
			 struct sockaddr_storage *ss, socklen_t *len)
{
	int fd;

	*len = loopback_addr(t->family, t->o->port, ss);
	fd = socket(t->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		set_why(t, "socket: %s", strerror(errno));
		return -1;
	}
	set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (bind(fd, (struct sockaddr *)ss, *len) || listen(fd, backlog) ||
	    local_port(fd, port)) {
		set_why(t, "listener on port %lu: %s", t->o->port,
			strerror(errno));
		close(fd);
		return -1;
	}
	*len = loopback_addr(t->family, *port, ss);
	return fd;
}

static int client_socket(struct test *t)
{
	int fd;

	fd = socket(t->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		set_why(t, "socket: %s", strerror(errno));
	return fd;
}

/* Start a non-blocking connect(); 0 when started or done. */
static int connect_start(struct test *t, int fd,
			 const struct sockaddr_storage *ss, socklen_t len)
{
	if (!connect(fd, (const struct sockaddr *)ss, len) ||
	    errno == EINPROGRESS)
		return 0;
	set_why(t, "connect: %s", strerror(errno));
	return -1;
}

/* Wait until @fd's connect() finished; 0 connected, else -errno. */
static int connect_wait(int fd, unsigned long long until)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	unsigned long long now;
	int err = 0;

	for (;;) {
		now = now_ns();
		if (now >= until || lat_stopped())
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (until - now) / NSEC_PER_MSEC + 1) > 0)
			break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -errno;
	return -err;
}

/* Connect a client to @ss and wait for it; the socket, or -1. */
static int connect_now(struct test *t,
		       const struct sockaddr_storage *ss, socklen_t len)
{
	int fd, err;

	fd = client_socket(t);
	if (fd < 0)
		return -1;
	if (connect_start(t, fd, ss, len)) {
		close(fd);
		return -1;
	}
	err = connect_wait(fd, now_ns() + STEP_NS);
	if (err) {
		set_why(t, "connect to the listener: %s", strerror(-err));
		close_rst(fd);
		return -1;
	}
	return fd;
}

/* Accept one connection within @wait_ns; the socket or -1. */
static int accept_one(int lfd, unsigned long long wait_ns)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };

	if (poll(&pfd, 1, wait_ns / NSEC_PER_MSEC) <= 0)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

static void close_all(int *fds, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++) {
		close_rst(fds[i]);
		fds[i] = -1;
	}
}

/*
 * Sockets of /proc/net/tcp{,6} with local port @lport in state @state;
 * the Recv-Q of the last one (the accept backlog of a listener) in @rxq.
 */
static long proc_tcp_count(int family, unsigned short lport, int state,
			   long *rxq)
{
	char line[512];
	long n = 0;
	FILE *f;

	f = fopen(family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned int port, st;
		unsigned long tx, rx;

		if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x %lx:%lx",
			   &port, &st, &tx, &rx) != 4)
			continue;
		if (port != lport || (int)st != state)
			continue;
		n++;
		if (rxq)
			*rxq = rx;
	}
	fclose(f);
	return n;
}

/* Poll until @want sockets are in @state on @lport (-1: listener backlog). */
static long wait_proc(struct test *t, unsigned short lport, int state,
		      long want, long *rxq)
{
	unsigned long long until = now_ns() + STEP_NS;
	long n, q = -1;

	for (;;) {
		n = proc_tcp_count(t->family, lport, state, &q);
		if (rxq)
			*rxq = q;
		if ((rxq ? q : n) == want || now_ns() >= until || lat_stopped())
			return rxq ? q : n;
		sleep_ns(POLL_NS);
	}
}

/* Poll until TcpExt @name moved since @from, at most @wait_ns. */
static bool wait_moved(struct test *t, const struct mib_snap *from,
		       const char *name, unsigned long long wait_ns)
{
	unsigned long long until = now_ns() + wait_ns;

	for (;;) {
		if (moved(t, from, name) > 0)
			return true;
		if (now_ns() >= until || lat_stopped())
			return false;
		sleep_ns(NSEC_PER_MSEC);
	}
}

static void print_moved(struct test *t, const char *what,
			const struct mib_snap *from, const struct mib_snap *to)
{
	if (t->o->verbose)
		mib_print_deltas(what, from, to, NULL, 0, true);
}

/* "-" for an absent counter, else its value. */
static const char *cnt(char *buf, long long v)
{
	fmt_count(buf, 24, v);
	return buf;
}

/* ---- nftables ----------------------------------------------------------- */

/* The input-hook drop rule of this test (nft_drop_rule() of tcp_lat.h). */
static int nft_rule(struct test *t, const char *match)
{
	if (nft_drop_rule(NFT_TABLE, match)) {
		set_why(t, "nft: cannot install the rule '%s'", match);
		return -1;
	}
	return 0;
}

static const char *ip_kw(int family)
{
	return family == AF_INET ? "ip" : "ip6";
}

/* ---- raw TCP segments (synq) ---------------------------------------------- */

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
	int family;
	unsigned char saddr[16];
	unsigned char daddr[16];
	unsigned int alen;
	__u16 dport;
	struct sockaddr_storage dst;
	socklen_t dlen;
};

static __u32 csum_add(__u32 sum, const void *data, size_t len)
{
	const __u8 *p = data;

	for (; len > 1; p += 2, len -= 2)
		sum += (p[0] << 8) | p[1];
	if (len)
		sum += p[0] << 8;
	return sum;
}

static __u16 tcp_csum(const struct raw_peer *rp, const struct raw_tcp *th)
{
	__u32 sum;

	sum = csum_add(0, rp->saddr, rp->alen);
	sum = csum_add(sum, rp->daddr, rp->alen);
	sum += IPPROTO_TCP + sizeof(*th);
	sum = csum_add(sum, th, sizeof(*th));
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum & 0xffff);
}

/* A raw TCP socket sending from the second local address to @ls. */
static int raw_open(struct test *t, struct raw_peer *rp,
		    const struct sockaddr_storage *ls, unsigned short lport)
{
	struct sockaddr_storage src;
	socklen_t slen;

	memset(rp, 0, sizeof(*rp));
	rp->family = t->family;
	rp->dport = htons(lport);
	slen = inet_addr_port(t->family, alt_addr(t->family), 0, &src);
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
	rp->dlen = loopback_addr(t->family, 0, &rp->dst);
	rp->fd = socket(t->family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);
	if (rp->fd < 0) {
		set_why(t, "raw socket: %s (needs CAP_NET_RAW)", strerror(errno));
		return -1;
	}
	set_int(rp->fd, SOL_SOCKET, SO_RCVBUF, 4096);
	if (bind(rp->fd, (struct sockaddr *)&src, slen)) {
		set_why(t, "bind raw socket to %s: %s", alt_addr(t->family),
			strerror(errno));
		close(rp->fd);
		rp->fd = -1;
		return -1;
	}
	return 0;
}

static int raw_send(struct test *t, const struct raw_peer *rp,
		    unsigned short sport, __u32 seq, __u8 flags)
{
	struct raw_tcp th;

	memset(&th, 0, sizeof(th));
	th.sport = htons(sport);
	th.dport = rp->dport;
	th.seq = htonl(seq);
	th.doff = (sizeof(th) / 4) << 4;
	th.flags = flags;
	th.win = htons(65535);
	th.csum = tcp_csum(rp, &th);
	if (sendto(rp->fd, &th, sizeof(th), 0, (const struct sockaddr *)&rp->dst,
		   rp->dlen) != sizeof(th)) {
		set_why(t, "raw send: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- synq --------------------------------------------------------------- */

struct synq_res {
	unsigned long backlog, queued, samples, connected, client_rtx;
	unsigned long long lat[1000];
	struct lat_summary s;
	long long min_us;
	long long overflows, drops, reqq_drop, syn_retrans, timeouts, emb_rsts;
	long long nft_dropped;
	long long cookie_us, cookies;
};

/*
 * Fill the SYN queue with raw SYNs (seq @seq, source ports from @base),
 * check that it holds them all.
 */
static int synq_fill(struct test *t, const struct raw_peer *rp,
		     unsigned short lport, unsigned short base, __u32 seq,
		     unsigned long fill)
{
	unsigned long i;
	long n;

	for (i = 0; i < fill; i++)
		if (raw_send(t, rp, base + i, seq, TH_SYN))
			return -1;
	n = wait_proc(t, lport, TCP_ST_SYN_RECV, fill, NULL);
	if (n != (long)fill) {
		set_why(t, "SYN queue holds %ld request sockets, expected %lu",
			n, fill);
		return -1;
	}
	return 0;
}

/* Empty the SYN queue: one in-window RST per raw SYN. */
static int synq_drain(struct test *t, const struct raw_peer *rp,
		      unsigned short lport, unsigned short base, __u32 seq,
		      unsigned long fill)
{
	unsigned long i;
	long n;

	for (i = 0; i < fill; i++)
		if (raw_send(t, rp, base + i, seq + 1, TH_RST))
			return -1;
	n = wait_proc(t, lport, TCP_ST_SYN_RECV, 0, NULL);
	if (n) {
		set_why(t, "SYN queue still holds %ld request sockets after the RSTs", n);
		return -1;
	}
	return 0;
}

/*
 * One measured connect() against a full SYN queue: its SYN must be
 * dropped (@drop_counter moves), then the queue is emptied and the SYN
 * retransmit gets in.  With @cookie the SYN is answered with a cookie.
 */
static int synq_sample(struct test *t, const struct raw_peer *rp, int lfd,
		       unsigned short lport, const struct sockaddr_storage *ls,
		       socklen_t llen, unsigned long fill, bool cookie,
		       unsigned long long *lat, unsigned long *rtx)
{
	unsigned short base = 1024 + random() % 60000;
	__u32 seq = random();
	const char *ctr = cookie ? "TCPReqQFullDoCookies" : "TCPReqQFullDrop";
	unsigned long long t0, t1;
	struct tcp_info ti;
	int fd, cfd, err;

	if (base + fill > 65535)
		base = 1024;
	if (synq_fill(t, rp, lport, base, seq, fill))
		return -1;
	fd = client_socket(t);
	if (fd < 0)
		return -1;
	mib_snapshot(t->c);
	t0 = now_ns();
	if (connect_start(t, fd, ls, llen))
		goto fail;
	if (!wait_moved(t, t->c, ctr, 500 * NSEC_PER_MSEC)) {
		set_why(t, "%s did not move: the SYN queue was not full", ctr);
		goto fail;
	}
	if (synq_drain(t, rp, lport, base, seq, fill))
		goto fail;
	err = connect_wait(fd, t0 + CONNECT_WAIT_NS);
	t1 = now_ns();
	if (err) {
		set_why(t, "connect() after the SYN queue drained: %s",
			strerror(-err));
		goto fail;
	}
	*lat = t1 - t0;
	tcp_info_get(fd, &ti);
	*rtx = ti.tcpi_total_retrans;
	cfd = accept_one(lfd, STEP_NS);
	close_rst(cfd);
	close_rst(fd);
	if (t->o->verbose)
		ksft_print_msg("%s %s: %s connect %llu us, %u SYN retransmits\n",
			       t->scenario, t->fname,
			       cookie ? "cookie" : "sample", *lat / NSEC_PER_USEC,
			       ti.tcpi_total_retrans);
	return 0;
fail:
	close_rst(fd);
	return -1;
}

#define FMT_SYNQ \
	"%s: scenario=synq family=%s backlog=%lu queued=%lu syncookies=0 samples=%lu connected=%lu min_us=%lld p50_us=%llu p99_us=%llu max_us=%llu client_syn_rtx=%lu listen_overflows=%s listen_drops=%s reqq_full_drop=%s syn_retrans=%s timeouts=%s embryonic_rsts=%s synack_dropped=%s cookie_us=%s reqq_full_do_cookies=%s\n"

static void synq_report(struct test *t, struct synq_res *r)
{
	char b1[24], b2[24], b3[24], b4[24], b5[24], b6[24], b7[24], b8[24];
	char b9[24];

	ksft_print_msg(FMT_SYNQ, PROG, t->fname, r->backlog, r->queued,
		       r->samples, r->connected, r->min_us, r->s.p50, r->s.p99,
		       r->s.max, r->client_rtx, cnt(b1, r->overflows),
		       cnt(b2, r->drops), cnt(b3, r->reqq_drop),
		       cnt(b4, r->syn_retrans), cnt(b5, r->timeouts),
		       cnt(b6, r->emb_rsts), cnt(b7, r->nft_dropped),
		       cnt(b8, r->cookie_us), cnt(b9, r->cookies));
	ksft_print_msg("  %-34s %10s %10s %10s\n", "connect() latency (us)",
		       "min", "p50", "max");
	ksft_print_msg("  %-34s %10lld %10llu %10llu\n",
		       "SYN queue full, syncookies=0", r->min_us, r->s.p50,
		       r->s.max);
	ksft_print_msg("  %-34s %10s %10s %10s\n", "SYN queue full, syncookies=1",
		       "", cnt(b1, r->cookie_us), "");
	ksft_print_msg("  %lu/%lu connects, %lu SYN retransmits\n",
		       r->connected, r->samples, r->client_rtx);
	ksft_print_msg("  TcpExt: ReqQFullDrop %s ListenDrops %s SynRetrans %s Timeouts %s\n",
		       cnt(b3, r->reqq_drop), cnt(b2, r->drops),
		       cnt(b4, r->syn_retrans), cnt(b5, r->timeouts));
}

static int synq_test(struct test *t)
{
	struct saved_sysctl sc = { 0 };
	struct sockaddr_storage ls;
	struct raw_peer rp = { .fd = -1 };
	struct synq_res *r;
	unsigned short lport;
	unsigned long long lat;
	unsigned long rtx, i;
	char match[160];
	socklen_t llen;
	int lfd = -1, ret = -1;
	bool nft = false;

	r = calloc(1, sizeof(*r));
	if (!r) {
		set_why(t, "out of memory");
		return -1;
	}
	r->backlog = t->o->backlog ? t->o->backlog : DEF_SYNQ_BACKLOG;
	/* inet_csk_reqsk_queue_is_full(): more than the backlog. */
	r->queued = r->backlog + 1;
	r->samples = t->o->samples;
	r->cookie_us = -1;
	r->cookies = -1;

	if (alt_addr_setup(t))
		goto out;
	if (sysctl_change(&sc, "/proc/sys/net/ipv4/tcp_syncookies", "0")) {
		set_why(t, "cannot set net.ipv4.tcp_syncookies=0: %s",
			strerror(errno));
		goto out;
	}
	lfd = listener_open(t, r->backlog, &lport, &ls, &llen);
	if (lfd < 0)
		goto out;
	snprintf(match, sizeof(match), "%s daddr %s tcp sport %u",
		 ip_kw(t->family), alt_addr(t->family), lport);
	if (nft_rule(t, match))
		goto out;
	nft = true;
	if (raw_open(t, &rp, &ls, lport))
		goto out;

	mib_snapshot(t->a);
	for (i = 0; i < r->samples && running(t); i++) {
		if (synq_sample(t, &rp, lfd, lport, &ls, llen, r->queued, false,
				&lat, &rtx))
			break;
		r->lat[r->connected++] = lat;
		r->client_rtx += rtx;
	}
	mib_snapshot(t->b);

	/* Control: the same full queue with syncookies on. */
	if (!t->why[0] && running(t) &&
	    !sysctl_write("/proc/sys/net/ipv4/tcp_syncookies", "1")) {
		if (!synq_sample(t, &rp, lfd, lport, &ls, llen, r->queued,
				 true, &lat, &rtx)) {
			r->cookie_us = lat / NSEC_PER_USEC;
			r->cookies = moved(t, t->b, "TCPReqQFullDoCookies");
		}
	}
	print_moved(t, "synq counters", t->a, t->b);

	r->overflows = mib_delta(t->a, t->b, "ListenOverflows");
	r->drops = mib_delta(t->a, t->b, "ListenDrops");
	r->reqq_drop = mib_delta(t->a, t->b, "TCPReqQFullDrop");
	r->syn_retrans = mib_delta(t->a, t->b, "TCPSynRetrans");
	r->timeouts = mib_delta(t->a, t->b, "TCPTimeouts");
	r->emb_rsts = mib_delta(t->a, t->b, "EmbryonicRsts");
	summarize(r->lat, r->connected, &r->s);
	r->min_us = r->connected ? (long long)(r->lat[0] / NSEC_PER_USEC) : -1;
	r->nft_dropped = nft_drop_rule_remove(NFT_TABLE);
	nft = false;
	synq_report(t, r);

	/* Data checks: the scenario was produced in every sample. */
	if (!r->connected)
		set_why(t, "no measured connect completed");
	else if (r->connected < r->samples && !running(t))
		set_why(t, "time bound reached after %lu of %lu samples",
			r->connected, r->samples);
	else if (r->reqq_drop >= 0 && r->reqq_drop < (long long)r->connected)
		set_why(t, "TCPReqQFullDrop moved %lld times for %lu samples",
			r->reqq_drop, r->connected);
	else if (r->client_rtx < r->connected)
		set_why(t, "%lu SYN retransmits for %lu samples: a SYN was not dropped",
			r->client_rtx, r->connected);
	ret = t->why[0] ? -1 : 0;
out:
	if (nft)
		nft_drop_rule_remove(NFT_TABLE);
	if (rp.fd >= 0)
		close(rp.fd);
	if (lfd >= 0)
		close(lfd);
	sysctl_restore(&sc);
	free(r);
	return ret;
}

/* ---- acceptq ------------------------------------------------------------ */

struct accq_res {
	unsigned long backlog, queued;
	long long syn_us, syn_rtx, syn_ovf, syn_drops, syn_synrtx, syn_tmo;
	long long ack_conn_us, ack_held, ack_attempts, ack_ovf, ack_drops, ack_synrtx;
	long long ack_tmo, synack_ms, req_ms, req_rtx;
};

/*
 * Connect clients @from..@to-1 to the listener on @lport (never accepted)
 * and check that its accept queue holds @to connections.
 */
static int accq_fill(struct test *t, unsigned short lport,
		     const struct sockaddr_storage *ls, socklen_t llen,
		     int *fds, unsigned long from, unsigned long to)
{
	unsigned long i;
	long q;

	for (i = from; i < to; i++) {
		fds[i] = connect_now(t, ls, llen);
		if (fds[i] < 0)
			return -1;
	}
	wait_proc(t, lport, TCP_ST_LISTEN, to, &q);
	if (q != (long)to) {
		set_why(t, "accept queue holds %ld connections, expected %lu",
			q, to);
		return -1;
	}
	return 0;
}

/*
 * Part 1: the accept queue is full, a new SYN is dropped; the application
 * accepts one connection and the SYN retransmit gets in.
 */
static int accq_syn(struct test *t, struct accq_res *r)
{
	int fds[MAX_BACKLOG + 1], lfd, fd = -1, cfd, err, ret = -1;
	struct sockaddr_storage ls;
	unsigned long long t0, t1;
	unsigned short lport;
	struct tcp_info ti;
	socklen_t llen;

	memset(fds, -1, sizeof(fds));
	lfd = listener_open(t, r->backlog, &lport, &ls, &llen);
	if (lfd < 0)
		return -1;
	if (accq_fill(t, lport, &ls, llen, fds, 0, r->queued))
		goto out;
	fd = client_socket(t);
	if (fd < 0)
		goto out;
	mib_snapshot(t->a);
	t0 = now_ns();
	if (connect_start(t, fd, &ls, llen))
		goto out;
	if (!wait_moved(t, t->a, "ListenOverflows", 500 * NSEC_PER_MSEC)) {
		set_why(t, "ListenOverflows did not move: the SYN was not dropped");
		goto out;
	}
	/* The application catches up by one connection. */
	cfd = accept_one(lfd, STEP_NS);
	if (cfd < 0) {
		set_why(t, "accept: %s", strerror(errno));
		goto out;
	}
	close_rst(cfd);
	err = connect_wait(fd, t0 + CONNECT_WAIT_NS);
	t1 = now_ns();
	if (err) {
		set_why(t, "connect() after one accept(): %s", strerror(-err));
		goto out;
	}
	mib_snapshot(t->b);
	tcp_info_get(fd, &ti);
	r->syn_us = (t1 - t0) / NSEC_PER_USEC;
	r->syn_rtx = ti.tcpi_total_retrans;
	r->syn_ovf = mib_delta(t->a, t->b, "ListenOverflows");
	r->syn_drops = mib_delta(t->a, t->b, "ListenDrops");
	r->syn_synrtx = mib_delta(t->a, t->b, "TCPSynRetrans");
	r->syn_tmo = mib_delta(t->a, t->b, "TCPTimeouts");
	print_moved(t, "acceptq SYN-drop counters", t->a, t->b);
	ret = 0;
out:
	close_rst(fd);
	close_all(fds, r->queued);
	close(lfd);
	return ret;
}

/*
 * Part 2: the client's SYN gets in while the accept queue has room; its
 * third ACK is held back (TCP_DEFER_ACCEPT on a connecting socket makes
 * the kernel save that ACK for the first data, or for the delayed-ACK
 * timer, 200 ms) while the last slot of the queue fills.  The request,
 * which carries the third ACK, is dropped at the full queue, and so is
 * every later segment of the client; the server retransmits its SYN-ACK.
 * The application accepts one connection ACCEPT_AFTER_NS after the
 * request and the request gets in with the next retransmission.
 *
 * Returns 1 when the delayed ACK left before the request (the machine
 * stalled): the caller tries again.
 */
static int accq_ack(struct test *t, struct accq_res *r)
{
	int fds[MAX_BACKLOG + 1], lfd, pfd = -1, cfd, err, ret = -1;
	unsigned long long tp0, tw, now;
	struct sockaddr_storage ls;
	bool accepted = false;
	unsigned short lport;
	struct tcp_info ti;
	socklen_t llen;

	memset(fds, -1, sizeof(fds));
	lfd = listener_open(t, r->backlog, &lport, &ls, &llen);
	if (lfd < 0)
		return -1;
	if (accq_fill(t, lport, &ls, llen, fds, 0, r->queued - 1))
		goto out;

	pfd = client_socket(t);
	if (pfd < 0)
		goto out;
	if (set_int(pfd, IPPROTO_TCP, TCP_DEFER_ACCEPT, 1)) {
		set_why(t, "TCP_DEFER_ACCEPT: %s", strerror(errno));
		goto out;
	}
	mib_snapshot(t->c);
	tp0 = now_ns();
	if (connect_start(t, pfd, &ls, llen))
		goto out;
	err = connect_wait(pfd, tp0 + STEP_NS);
	if (err) {
		set_why(t, "client: connect: %s", strerror(-err));
		goto out;
	}
	r->ack_conn_us = (now_ns() - tp0) / NSEC_PER_USEC;
	if (accq_fill(t, lport, &ls, llen, fds, r->queued - 1, r->queued))
		goto out;
	/* The client's request socket still waits for the third ACK. */
	if (proc_tcp_count(t->family, lport, TCP_ST_SYN_RECV, NULL) != 1) {
		ret = 1;
		goto out;
	}

	mib_snapshot(t->a);
	tw = now_ns();
	if (write(pfd, "q", 1) != 1) {
		set_why(t, "client: write: %s", strerror(errno));
		goto out;
	}
	r->ack_held = 1;
	r->req_ms = -1;
	r->synack_ms = -1;
	for (;;) {
		now = now_ns();
		if (now - tw >= REQ_WAIT_NS || !running(t))
			break;
		mib_snapshot(t->cur);
		if (r->synack_ms < 0 &&
		    mib_delta(t->c, t->cur, "TCPSynRetrans") > 0)
			r->synack_ms = (now - tp0) / NSEC_PER_MSEC;
		if (!accepted && now - tw >= ACCEPT_AFTER_NS) {
			memcpy(t->b, t->cur, sizeof(*t->b));
			cfd = accept_one(lfd, STEP_NS);
			if (cfd < 0) {
				set_why(t, "accept: %s", strerror(errno));
				goto out;
			}
			close_rst(cfd);
			accepted = true;
		}
		tcp_info_get(pfd, &ti);
		if (!ti.tcpi_unacked) {
			r->req_ms = (now - tw) / NSEC_PER_MSEC;
			break;
		}
		sleep_ns(POLL_NS);
	}
	if (!accepted)
		mib_snapshot(t->b);
	mib_snapshot(t->c);
	tcp_info_get(pfd, &ti);
	r->req_rtx = ti.tcpi_total_retrans;
	/* While the queue was full: until the application accepted one. */
	r->ack_ovf = mib_delta(t->a, t->b, "ListenOverflows");
	r->ack_drops = mib_delta(t->a, t->b, "ListenDrops");
	r->ack_synrtx = mib_delta(t->a, t->b, "TCPSynRetrans");
	r->ack_tmo = mib_delta(t->a, t->b, "TCPTimeouts");
	print_moved(t, "acceptq ACK-drop counters (queue full)", t->a, t->b);
	print_moved(t, "acceptq ACK-drop counters (after accept)", t->b, t->c);
	if (!accepted)
		set_why(t, "time bound reached before the application accepted");
	ret = t->why[0] ? -1 : 0;
out:
	close_rst(pfd);
	close_all(fds, r->queued);
	close(lfd);
	return ret;
}

#define FMT_ACCQ \
	"%s: scenario=acceptq family=%s backlog=%lu queued=%lu syn_connect_us=%s syn_client_rtx=%s syn_listen_overflows=%s syn_listen_drops=%s syn_syn_retrans=%s syn_timeouts=%s ack_connect_us=%s ack_held=%s ack_attempts=%s ack_listen_overflows=%s ack_listen_drops=%s ack_syn_retrans=%s ack_timeouts=%s synack_rtx_ms=%s req_ms=%s req_rtx=%s\n"

static int acceptq_test(struct test *t)
{
	char b[19][24];
	struct accq_res r;
	int ret = -1;

	memset(&r, 0, sizeof(r));
	r.backlog = t->o->backlog ? t->o->backlog : DEF_ACCQ_BACKLOG;
	/* sk_acceptq_is_full(): more than the backlog. */
	r.queued = r.backlog + 1;
	r.syn_us = -1;
	r.syn_rtx = -1;
	r.syn_ovf = -1;
	r.syn_drops = -1;
	r.syn_synrtx = -1;
	r.syn_tmo = -1;
	r.ack_conn_us = -1;
	r.ack_held = 0;
	r.ack_attempts = 0;
	r.ack_ovf = -1;
	r.ack_drops = -1;
	r.ack_synrtx = -1;
	r.ack_tmo = -1;
	r.synack_ms = -1;
	r.req_ms = -1;
	r.req_rtx = -1;

	if (!accq_syn(t, &r)) {
		/* Again when a stall let the delayed third ACK out first. */
		while (r.ack_attempts < ACK_ATTEMPTS && running(t)) {
			r.ack_attempts++;
			if (accq_ack(t, &r) != 1)
				break;
		}
		if (!r.ack_held && !running(t))
			set_why(t, "time bound reached before the third-ACK part");
		else if (!r.ack_held)
			set_why(t, "the third ACK left before the request in %lld attempts",
				r.ack_attempts);
	}

	ksft_print_msg(FMT_ACCQ, PROG, t->fname, r.backlog, r.queued,
		       cnt(b[0], r.syn_us), cnt(b[1], r.syn_rtx),
		       cnt(b[2], r.syn_ovf), cnt(b[3], r.syn_drops),
		       cnt(b[4], r.syn_synrtx), cnt(b[5], r.syn_tmo),
		       cnt(b[6], r.ack_conn_us), cnt(b[7], r.ack_held),
		       cnt(b[15], r.ack_attempts),
		       cnt(b[8], r.ack_ovf), cnt(b[9], r.ack_drops),
		       cnt(b[10], r.ack_synrtx), cnt(b[11], r.ack_tmo),
		       cnt(b[12], r.synack_ms), cnt(b[13], r.req_ms),
		       cnt(b[14], r.req_rtx));
	ksft_print_msg("  SYN dropped: connect() %s us, %s SYN retransmits\n",
		       b[0], b[1]);
	ksft_print_msg("    TcpExt: ListenOverflows %s ListenDrops %s\n",
		       b[2], b[3]);
	ksft_print_msg("  third ACK dropped: connect() %s us, request acked after %s ms\n",
		       b[6], b[13]);
	ksft_print_msg("    %s request retransmits, first SYN-ACK retransmit %s ms after the SYN\n",
		       b[14], b[12]);
	ksft_print_msg("    TcpExt: ListenOverflows %s ListenDrops %s SynRetrans %s Timeouts %s\n",
		       b[8], b[9], b[10], b[11]);

	if (t->why[0])
		return -1;
	/* Data checks: SYN dropped, then ACKs dropped with SYN-ACK retransmits. */
	if (r.syn_rtx < 1)
		set_why(t, "the client did not retransmit its SYN: no SYN was dropped");
	else if (r.ack_ovf < 1)
		set_why(t, "ListenOverflows did not move while full: no ACK was dropped");
	else if (r.ack_synrtx < 1)
		set_why(t, "no SYN-ACK retransmit while the queue was full");
	else
		ret = 0;
	return ret;
}

/* ---- ports --------------------------------------------------------------- */

struct ports_phase {
	unsigned long n, ok, eaddrnotavail, other;
	unsigned long long *cpu, *wall, cpu_min;
	struct lat_summary c, w;
};

struct ports_res {
	int lo, hi, nlo, nhi;
	unsigned long filled, got_freed;
	unsigned long long fill_ms;
	bool per_sock_range;
	struct ports_phase normal, full, busy;
};

static int phase_alloc(struct ports_phase *p, unsigned long n)
{
	p->cpu = calloc(n, sizeof(*p->cpu));
	p->wall = calloc(n, sizeof(*p->wall));
	return p->cpu && p->wall ? 0 : -1;
}

static void phase_free(struct ports_phase *p)
{
	free(p->cpu);
	free(p->wall);
}

/* One timed blocking connect(): the socket (connected or not) and errno. */
static int timed_connect(struct test *t, struct ports_phase *p,
			 const struct sockaddr_storage *ls, socklen_t llen,
			 int *err)
{
	unsigned long long c0, w0;
	int fd, rc;

	fd = socket(t->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		set_why(t, "socket: %s", strerror(errno));
		return -1;
	}
	set_io_timeouts(fd, 5);
	w0 = now_ns();
	c0 = cpu_ns();
	rc = connect(fd, (const struct sockaddr *)ls, llen);
	*err = rc ? errno : 0;
	p->cpu[p->n] = cpu_ns() - c0;
	p->wall[p->n] = now_ns() - w0;
	p->n++;
	if (!rc)
		p->ok++;
	else if (*err == EADDRNOTAVAIL)
		p->eaddrnotavail++;
	else
		p->other++;
	return fd;
}

/* Accept and close whatever is queued on the (non-blocking) listener. */
static void drain_accept(int lfd)
{
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close_rst(fd);
}

/* Fill every port of the narrowed range with a connection. */
static int ports_fill(struct test *t, struct ports_res *r, int *held,
		      const struct sockaddr_storage *ls, socklen_t llen)
{
	unsigned long long t0 = now_ns();
	unsigned short got;
	int p, fd, range;

	r->per_sock_range = true;
	for (p = r->nlo; p <= r->nhi && running(t); p++) {
		fd = socket(t->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			set_why(t, "socket: %s", strerror(errno));
			return -1;
		}
		/* IP_LOCAL_PORT_RANGE [p, p]: this port, no scan. */
		range = p | p << 16;
		if (r->per_sock_range &&
		    setsockopt(fd, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &range,
			       sizeof(range)))
			r->per_sock_range = false;
		if (connect(fd, (const struct sockaddr *)ls, llen) ||
		    local_port(fd, &got)) {
			set_why(t, "filling port %d: connect: %s", p,
				strerror(errno));
			close(fd);
			return -1;
		}
		held[r->filled++] = fd;
	}
	r->fill_ms = (now_ns() - t0) / NSEC_PER_MSEC;
	if (r->filled != (unsigned long)(r->nhi - r->nlo + 1)) {
		set_why(t, "time bound reached after filling %lu ports", r->filled);
		return -1;
	}
	return 0;
}

static void phase_line(const char *name, struct ports_phase *p)
{
	summarize(p->cpu, p->n, &p->c);
	summarize(p->wall, p->n, &p->w);
	p->cpu_min = p->n ? p->cpu[0] / NSEC_PER_USEC : 0;
	ksft_print_msg("  %-26s %6lu %8llu %8llu %8llu %8llu %9llu\n", name, p->n,
		       p->cpu_min, p->c.p50, p->c.p99, p->c.max, p->w.p50);
}

#define FMT_PORTS \
	"%s: scenario=ports family=%s range_normal=%d-%d range=%d-%d ports=%d filled=%lu fill_ms=%llu count=%lu normal_ok=%lu normal_cpu_min_us=%llu normal_cpu_p50_us=%llu normal_cpu_p99_us=%llu normal_cpu_max_us=%llu normal_wall_p50_us=%llu busy_ok=%lu busy_got_freed=%lu busy_cpu_min_us=%llu busy_cpu_p50_us=%llu busy_cpu_p99_us=%llu busy_cpu_max_us=%llu busy_wall_p50_us=%llu full_eaddrnotavail=%lu full_other=%lu full_cpu_min_us=%llu full_cpu_p50_us=%llu full_cpu_p99_us=%llu full_cpu_max_us=%llu full_wall_p50_us=%llu\n"

static void ports_report(struct test *t, struct ports_res *r)
{
	ksft_print_msg("  %-26s %6s %8s %8s %8s %8s %9s\n", "connect() CPU time (us)",
		       "calls", "min", "p50", "p99", "max", "wall p50");
	phase_line("normal range", &r->normal);
	phase_line("narrow, all but 1 in use", &r->busy);
	phase_line("narrow, all in use", &r->full);
	ksft_print_msg(FMT_PORTS, PROG, t->fname, r->lo, r->hi, r->nlo, r->nhi,
		       r->nhi - r->nlo + 1, r->filled, r->fill_ms, t->o->count,
		       r->normal.ok, r->normal.cpu_min, r->normal.c.p50,
		       r->normal.c.p99, r->normal.c.max, r->normal.w.p50,
		       r->busy.ok, r->got_freed, r->busy.cpu_min, r->busy.c.p50,
		       r->busy.c.p99, r->busy.c.max, r->busy.w.p50,
		       r->full.eaddrnotavail, r->full.other, r->full.cpu_min,
		       r->full.c.p50, r->full.c.p99, r->full.c.max,
		       r->full.w.p50);
	ksft_print_msg("  all in use: %lu/%lu connect() calls failed with EADDRNOTAVAIL\n",
		       r->full.eaddrnotavail, r->full.n);
	ksft_print_msg("  all but 1 in use: %lu/%lu connect() calls took the freed port\n",
		       r->got_freed, r->busy.n);
}

static int ports_test(struct test *t)
{
	struct saved_sysctl s_range = { 0 }, s_somax = { 0 };
	unsigned long n = t->o->ports, count = t->o->count, i;
	struct rlimit old_rl, rl;
	struct sockaddr_storage ls;
	bool rl_changed = false;
	unsigned short lport, got;
	int lfd = -1, fd, err, ret = -1;
	struct ports_res r;
	char val[64];
	int *held;
	socklen_t llen;

	memset(&r, 0, sizeof(r));
	held = calloc(n, sizeof(*held));
	if (!held || phase_alloc(&r.normal, count) ||
	    phase_alloc(&r.full, count) || phase_alloc(&r.busy, count)) {
		set_why(t, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		held[i] = -1;
	if (sysctl_read("/proc/sys/net/ipv4/ip_local_port_range", val,
			sizeof(val)) || sscanf(val, "%d %d", &r.lo, &r.hi) != 2) {
		set_why(t, "cannot read net.ipv4.ip_local_port_range");
		goto out;
	}

	/* Every port of the range held by a client plus room for the rest. */
	if (getrlimit(RLIMIT_NOFILE, &old_rl) == 0 &&
	    old_rl.rlim_cur < n + 256) {
		rl.rlim_cur = n + 256;
		rl.rlim_max = old_rl.rlim_max > rl.rlim_cur ? old_rl.rlim_max :
							     rl.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &rl)) {
			set_why(t, "cannot raise RLIMIT_NOFILE to %lu: %s",
				n + 256, strerror(errno));
			goto out;
		}
		rl_changed = true;
	}
	/* Children are never accepted while the range is full. */
	snprintf(val, sizeof(val), "%lu", n + count + 64);
	if (sysctl_change(&s_somax, "/proc/sys/net/core/somaxconn", val)) {
		set_why(t, "cannot set net.core.somaxconn=%s", val);
		goto out;
	}
	lfd = listener_open(t, n + count + 64, &lport, &ls, &llen);
	if (lfd < 0)
		goto out;

	/* Normal: the namespace's default range, nothing else in use. */
	for (i = 0; i < count && running(t); i++) {
		fd = timed_connect(t, &r.normal, &ls, llen, &err);
		if (fd < 0)
			goto out;
		close_rst(fd);
		drain_accept(lfd);
	}

	/* Narrow the range to n ports that do not hold the listener. */
	r.nlo = r.lo;
	if (lport >= r.nlo && lport < r.nlo + (int)n)
		r.nlo = lport + 1;
	if (r.nlo + (int)n - 1 > 65535)
		r.nlo = lport - n;
	r.nhi = r.nlo + n - 1;
	snprintf(val, sizeof(val), "%d %d", r.nlo, r.nhi);
	if (sysctl_change(&s_range, "/proc/sys/net/ipv4/ip_local_port_range",
			  val)) {
		set_why(t, "cannot set net.ipv4.ip_local_port_range=%s: %s",
			val, strerror(errno));
		goto out;
	}
	if (ports_fill(t, &r, held, &ls, llen))
		goto out;

	/* Full: every port in use, connect() scans them all and fails. */
	for (i = 0; i < count && running(t); i++) {
		fd = timed_connect(t, &r.full, &ls, llen, &err);
		if (fd < 0)
			goto out;
		close_rst(fd);
	}

	/* Busy: free one random port, the next connect() must find it. */
	for (i = 0; i < count && running(t); i++) {
		unsigned long j = random() % n;
		unsigned short freed;

		if (local_port(held[j], &freed)) {
			set_why(t, "getsockname: %s", strerror(errno));
			goto out;
		}
		close_rst(held[j]);
		held[j] = timed_connect(t, &r.busy, &ls, llen, &err);
		if (held[j] < 0)
			goto out;
		if (!err && !local_port(held[j], &got) && got == freed)
			r.got_freed++;
	}
	if (t->o->verbose)
		ksft_print_msg("%s %s: listener port %u, fill with %s\n",
			       t->scenario, t->fname, lport,
			       r.per_sock_range ? "IP_LOCAL_PORT_RANGE" : "connect() scans");
	/* Data checks: the range was exhausted. */
	if (r.normal.n < count || r.full.n < count || r.busy.n < count)
		set_why(t, "time bound reached (%lu, %lu, %lu of %lu calls)",
			r.normal.n, r.full.n, r.busy.n, count);
	else if (r.normal.ok != r.normal.n)
		set_why(t, "%lu of %lu connects with the normal range failed",
			r.normal.n - r.normal.ok, r.normal.n);
	else if (r.full.eaddrnotavail != r.full.n)
		set_why(t,
			"%lu of %lu connects with all ports in use did not fail with EADDRNOTAVAIL",
			r.full.n - r.full.eaddrnotavail, r.full.n);
	else if (r.got_freed != r.busy.n)
		set_why(t, "%lu of %lu connects did not take the one free port",
			r.busy.n - r.got_freed, r.busy.n);
	ret = t->why[0] ? -1 : 0;
out:
	if (r.normal.cpu && r.full.cpu && r.busy.cpu)
		ports_report(t, &r);
	if (held)
		close_all(held, n);
	if (lfd >= 0)
		close(lfd);
	sysctl_restore(&s_range);
	sysctl_restore(&s_somax);
	if (rl_changed)
		setrlimit(RLIMIT_NOFILE, &old_rl);
	phase_free(&r.normal);
	phase_free(&r.full);
	phase_free(&r.busy);
	free(held);
	return ret;
}

/* ---- driver -------------------------------------------------------------- */

static const char * const sc_names[] = { "synq", "acceptq", "ports" };

static bool ipv6_available(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM, 0);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void run_test(const struct options *o, unsigned int sc, int family,
		     bool have_nft)
{
	char name[32];
	struct test t;
	int ret;

	memset(&t, 0, sizeof(t));
	t.o = o;
	t.family = family;
	t.fname = family_name(family);
	t.scenario = sc_names[sc == SC_SYNQ ? 0 : sc == SC_ACCEPTQ ? 1 : 2];
	snprintf(name, sizeof(name), "%s %s", t.scenario, t.fname);

	if (family == AF_INET6 && !ipv6_available()) {
		ksft_test_result_skip("%s: IPv6 not available\n", name);
		return;
	}
	if (sc == SC_SYNQ && !have_nft) {
		ksft_test_result_skip("%s: nft command not found\n", name);
		return;
	}
	if (enter_netns(t.why, sizeof(t.why))) {
		ksft_test_result_skip("%s: %s\n", name, t.why);
		return;
	}
	t.a = malloc(sizeof(*t.a));
	t.b = malloc(sizeof(*t.b));
	t.c = malloc(sizeof(*t.c));
	t.cur = malloc(sizeof(*t.cur));
	if (!t.a || !t.b || !t.c || !t.cur) {
		ksft_test_result_fail("%s: out of memory\n", name);
		goto out;
	}
	mib_snapshot(t.a);
	if (!t.a->n) {
		ksft_test_result_skip("%s: no TcpExt counters in /proc/net/netstat\n",
				      name);
		goto out;
	}
	t.deadline = now_ns() + o->time_s * NSEC_PER_SEC;
	if (sc == SC_SYNQ)
		ret = synq_test(&t);
	else if (sc == SC_ACCEPTQ)
		ret = acceptq_test(&t);
	else
		ret = ports_test(&t);
	if (lat_stopped())
		set_why(&t, "interrupted");
	if (ret || t.why[0])
		ksft_test_result_fail("%s: %s\n", name, t.why);
	else
		ksft_test_result_pass("%s\n", name);
out:
	free(t.a);
	free(t.b);
	free(t.c);
	free(t.cur);
}

int main(int argc, char **argv)
{
	static const unsigned int order[] = { SC_SYNQ, SC_ACCEPTQ, SC_PORTS };
	struct options o;
	bool have_nft;
	unsigned int i, n = 0;

	parse_opts(argc, argv, &o);
	for (i = 0; i < 3; i++)
		if (o.scenarios & order[i])
			n += o.ipv4 + o.ipv6;

	ksft_print_header();
	ksft_set_plan(n);
	lat_catch_signals();
	srandom(now_ns());
	have_nft = !(o.scenarios & SC_SYNQ) ||
		   have_tool("nft --version >/dev/null 2>&1");

	for (i = 0; i < 3; i++) {
		if (!(o.scenarios & order[i]))
			continue;
		if (o.ipv4)
			run_test(&o, order[i], AF_INET, have_nft);
		if (o.ipv6)
			run_test(&o, order[i], AF_INET6, have_nft);
	}

	if (ksft_get_fail_cnt())
		ksft_exit_fail();
	if (!ksft_get_pass_cnt() && ksft_get_xskip_cnt()) {
		ksft_print_cnts();
		exit(KSFT_SKIP);
	}
	ksft_exit_pass();
}
