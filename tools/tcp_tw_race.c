// SPDX-License-Identifier: GPL-2.0
/*
 * Why this file exists:
 *
 * A TCP segment that looked up a full socket in FIN_WAIT1 can spin on the
 * socket lock while another CPU processes the peer's ACK, moves the orphaned
 * socket to a FIN_WAIT2 timewait socket and sets the full socket to
 * TCP_CLOSE.  The waiting segment (the peer's RST/ACK or FIN/ACK) is then
 * dropped against the dead full socket and the timewait socket never sees
 * it.  This was reported on LKML in 2020 ("Latency spikes occurs from
 * frequent socket connections"); only the symptom was mitigated (the SYN
 * resend delay after a stale ACK became TCP_TIMEOUT_MIN), the race itself
 * remained.  This tool measures how often the race is hit and what it costs.
 *
 * The tool runs in its own network namespace over loopback, with a server
 * thread and a client thread pinned to two different CPUs.  The server
 * accepts, reads 4 bytes and closes (it sends the first FIN).  The client
 * binds one fixed source port for the whole run, connects, sends a 4-byte
 * sequence number, reads until EOF and then either
 *
 *  - rst mode: closes with SO_LINGER {1, 0}, i.e. sends RST/ACK.  A lost RST
 *    leaves a stale FIN_WAIT2 timewait socket on the server side that meets
 *    the very next SYN from the same 4-tuple.  Depending on how far the new
 *    ISN moved, the timewait socket answers that SYN with a stale ACK (the
 *    client resets it and retransmits the SYN after TCP_TIMEOUT_MIN, visible
 *    as tcpi_total_retrans > 0 right after connect() and in
 *    TcpExtTCPSynRetrans) or, when the new ISN lands inside the old receive
 *    window (reconnect within ~4 ms), with a RST (connect() fails with
 *    ECONNREFUSED; the tool retries).  A SYN can also be dropped outright by
 *    the dying full socket (same race, the SYN is the waiting segment); it
 *    is then retransmitted only after the initial RTO of 1 s.  All of these
 *    are counted as a hit of the connection whose close left the stale peer.
 *
 *  - fin mode: shutdown(SHUT_WR) and poll TCP_INFO until TCP_CLOSE.  A lost
 *    FIN leaves the client in LAST_ACK until its FIN is retransmitted (RTO,
 *    at least 200 ms).  A hit is tcpi_total_retrans growing after connect()
 *    or the close taking 100 ms or more.
 *
 * With -w (widen_us) the tool drives the tcplat debugging module (sysctls
 * under /proc/sys/net/ipv4/tcplat, registered in the initial network
 * namespace and opened before the tool leaves it) to widen the race
 * window, so that a stock kernel hits the race on most connections and a
 * fixed kernel on none.  A wide window alone is not enough: current
 * kernels delay the ACK of the server's FIN and merge it into the client's
 * RST/ACK, and an ACK sent from the client's CPU is processed there before
 * the client can send its RST.  The widened mode therefore also makes the
 * client send that ACK at once (TCP_QUICKACK) and the server close with a
 * lingering close(), which waits for the ACK and creates the timewait
 * socket on the server's CPU; see widen_traffic().
 *
 * In natural mode the race shows up when the ACK leaves separately, e.g.
 * from the delayed-ACK timer on the server's CPU.  A related loss is also
 * counted: a SYN that looks up the full socket just before the client's
 * RST kills it is dropped in TCP_CLOSE and costs the initial SYN RTO (1 s).
 *
 * This is a measurement tool: it prints one "tcp_tw_race: family=... key=value"
 * line per family (and a "tcp_tw_race_detail:" line) and judges nothing.
 * The verdict on the race, forced, is the series' selftest
 * selftests/net/tcp_tw_relookup; the thresholds on these numbers live in
 * the scripts that read them (module/test-sysctl.sh, scripts/measure/).
 * Exit 0 when it measured, 1 when it could not (setup, a lost or wrong
 * byte, a connection that failed), 2 on a usage error (lib/opt.c).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <sys/stat.h>

#include "kselftest.h"	/* ARRAY_SIZE, __printf */
#include "lib/cpu.h"
#include "lib/mib.h"
#include "lib/msg.h"
#include "lib/netns.h"
#include "lib/opt.h"
#include "lib/reconnect.h"
#include "lib/sock.h"
#include "lib/stats.h"
#include "lib/stop.h"
#include "lib/time.h"

#define PROG			"tcp_tw_race"

#define END_MAGIC		0xffffffffU
#define IO_TIMEOUT_S		RECONNECT_IO_TIMEOUT_S
/* How long fin mode waits for the client socket to reach TCP_CLOSE. */
#define FIN_CLOSE_BOUND_NS	(10 * NSEC_PER_SEC)
#define FIN_POLL_NS		NSEC_PER_MSEC
/* fin mode: a close slower than this is a hit even without a retransmit. */
#define SLOW_CLOSE_NS		(100 * NSEC_PER_MSEC)

#define TCPLAT_DIR		"/proc/sys/net/ipv4/tcplat"

enum close_mode {
	MODE_RST,
	MODE_FIN,
};

struct options {
	unsigned long count;
	unsigned long time_s;
	bool ipv4;
	bool ipv6;
	enum close_mode mode;
	unsigned int port;
	bool widen;
	unsigned long widen_us;
	unsigned long widen_mode;
	bool no_netns;
	const char *samples;
	/* -w: the widened traffic, see widen_traffic() */
	bool quickack;
	bool server_linger;
	unsigned long close_delay_us;
};

/* Files of the tcplat module; -1 when absent. */
enum tcplat_file {
	TL_WIDEN_US,
	TL_WIDEN_PORT,
	TL_WIDEN_MODE,
	TL_OBSERVE_PORT,
	TL_CLOSED_SK,
	TL_WIDEN_HITS,
	TL_FW2_TW,
	TL_NR,
};

static const char * const tcplat_names[TL_NR] = {
	[TL_WIDEN_US]	= "race_widen_us",
	[TL_WIDEN_PORT]	= "race_widen_port",
	[TL_WIDEN_MODE]	= "race_widen_mode",
	[TL_OBSERVE_PORT] = "observe_port",
	[TL_CLOSED_SK]	= "closed_sk_segments",
	[TL_WIDEN_HITS]	= "widen_hits",
	[TL_FW2_TW]	= "fw2_timewait",
};

static int tcplat_fd[TL_NR] = { -1, -1, -1, -1, -1, -1, -1 };
static bool tcplat_present;

/* One run: one address family, one close mode. */
struct run {
	const struct options *o;
	int family;
	const char *fname;
	int cpu_server;
	int cpu_client;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool ready;		/* server has a listening socket (or failed) */
	int lfd;
	unsigned short sport;	/* server port, host order */
	int stop;		/* atomic: threads must stop */

	/* Server results. */
	unsigned long srv_accepted;
	unsigned long srv_short;
	unsigned long srv_mismatch;
	char srv_err[256];

	/* Client results. */
	struct reconnect_client c;
	unsigned long done;	/* completed connections */
	bool time_bound_hit;
	unsigned long long *conn_ns;	/* connect() latency per connection */
	unsigned long long *txn_ns;	/* whole transaction per connection */
	unsigned char *hit;		/* per-connection hit flags */
	unsigned long syn_rtx;		/* next connect's SYN retransmitted */
	unsigned long syn_slow;		/* ... and took >= 500 ms (SYN dropped) */
	unsigned long syn_rst;		/* next connect refused by a timewait */
	unsigned long fin_rtx;		/* fin mode: FIN retransmitted */
	unsigned long slow_close;	/* fin mode: close took >= 100 ms */
	unsigned long long elapsed_ns;
};

/* Besides the HIT_SYN_* of reconnect(): */
#define HIT_FIN_RTX	0x8	/* fin mode: FIN retransmitted */
#define HIT_SLOW_CLOSE	0x10	/* fin mode: close took >= 100 ms */

static bool run_stopped(struct run *r)
{
	return stop_flag_get(&r->stop) || stop_requested();
}

#define set_err(buf, fmt, ...) snprintf(buf, sizeof(buf), fmt, ##__VA_ARGS__)

/* ---- command line ---------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [-4] [-6] [-m rst|fin] [-n N] [-t S] [-p PORT] [-w US [-W M]] [-N] [-s FILE]\n"
		"Measure the TCP FIN_WAIT1/timewait close race over loopback.\n"
		"\n"
		"  -4         IPv4 (127.0.0.1); with neither -4 nor -6: both, one run each\n"
		"  -6         IPv6 (::1)\n"
		"  -m MODE    rst: the client closes with SO_LINGER {1,0} (default)\n"
		"             fin: the client shuts down its side, waits for TCP_CLOSE\n"
		"  -n N       connections per run (default 1000)\n"
		"  -t S       time bound per run in seconds (default 30)\n"
		"  -p PORT    server port (default 0: any free port)\n"
		"  -w US      widen the race with the tcplat module by US microseconds\n"
		"             (default 0: the natural race); also makes the client ACK\n"
		"             the server's FIN at once and the server close lingering\n"
		"  -W M       race_widen_mode (default 1: delay the lock holder, the\n"
		"             client then waits US/2 before its close; 2: delay the\n"
		"             waiting FIN/RST)\n"
		"  -N         stay in the current network namespace (lo must be up)\n"
		"  -s FILE    write every connection's latency, \"<family> <us>\" lines\n"
		"  -h         this text\n"
		"\n"
		"Prints \"%s: family=... key=value ...\" per run.  Needs root and two\n"
		"CPUs.  Exit: 0 measured, 1 could not measure, 2 bad arguments.\n",
		PROG, PROG);
}

/*
 * The widened race also needs traffic that lets the window matter: the
 * ACK of the server's FIN and the client's RST/FIN must be separate
 * segments handled on different CPUs.  The client sends the ACK at once
 * (quickack); the server's lingering close waits for that ACK and creates
 * the timewait socket on the server's CPU (server_linger).  When the lock
 * holder is delayed (mode 1), the client sends its RST in the middle of
 * that delay.
 */
static void widen_traffic(struct options *o)
{
	if (!o->widen)
		return;
	o->quickack = true;
	o->server_linger = true;
	o->close_delay_us = o->widen_mode == 1 ? o->widen_us / 2 : 0;
}

static void parse_opt(int c, char **argv, struct options *o)
{
	switch (c) {
	case '4':
		o->ipv4 = true;
		break;
	case '6':
		o->ipv6 = true;
		break;
	case 'm':
		if (!strcmp(optarg, "rst"))
			o->mode = MODE_RST;
		else if (!strcmp(optarg, "fin"))
			o->mode = MODE_FIN;
		else
			opt_bad_arg("-m", optarg, "need 'rst' or 'fin'");
		break;
	case 'n':
		o->count = opt_ulong("-n", optarg, 1, 100000000UL);
		break;
	case 't':
		o->time_s = opt_ulong("-t", optarg, 1, 86400UL);
		break;
	case 'p':
		o->port = opt_ulong("-p", optarg, 0, 65535UL);
		break;
	case 'w':
		/* tcplat's race_widen_us takes 0..100000 */
		o->widen_us = opt_ulong("-w", optarg, 0, 100000UL);
		o->widen = o->widen_us > 0;
		break;
	case 'W':
		o->widen_mode = opt_ulong("-W", optarg, 1, 2UL);
		break;
	case 'N':
		o->no_netns = true;
		break;
	case 's':
		stats_samples_open("-s", optarg);
		o->samples = optarg;
		break;
	default:
		opt_help_or_bad(c, argv, usage);
	}
}

static void parse_opts(int argc, char **argv, struct options *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->count = 1000;
	o->time_s = 30;
	o->mode = MODE_RST;
	o->widen_mode = 1;

	opterr = 0;
	while ((c = getopt(argc, argv, ":46m:n:t:p:w:W:Ns:h")) != -1)
		parse_opt(c, argv, o);
	opt_end(argc, argv, &o->ipv4, &o->ipv6);
	widen_traffic(o);
}

/* ---- counters ------------------------------------------------------- */

/*
 * Counters that tell how a stale peer showed up: challenge ACKs and
 * rate-limited ACKs (a silently dropped SYN costs a full SYN RTO), aborts,
 * timeouts.
 */
static const char * const mib_interesting[] = {
	"TCPSynRetrans", "TCPTimeouts", "TCPChallengeACK", "TCPSYNChallenge",
	"TCPACKSkippedFinWait2", "TCPACKSkippedTimeWait",
	"TCPACKSkippedChallenge", "TCPACKSkippedSeq", "TCPAbortOnClose",
	"TCPAbortOnData", "TCPClosedRelookup", "TWRecycled", "PAWSEstab",
};

static long long tcplat_read(enum tcplat_file which)
{
	char buf[64];
	ssize_t n;

	if (tcplat_fd[which] < 0)
		return -1;
	n = pread(tcplat_fd[which], buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtoll(buf, NULL, 10);
}

static int tcplat_write(enum tcplat_file which, unsigned long val)
{
	char buf[32];
	int len;

	if (tcplat_fd[which] < 0) {
		errno = ENOENT;
		return -1;
	}
	len = snprintf(buf, sizeof(buf), "%lu\n", val);
	if (pwrite(tcplat_fd[which], buf, len, 0) != len)
		return -1;
	return 0;
}

static void tcplat_close_all(void)
{
	int i;

	for (i = 0; i < TL_NR; i++) {
		if (tcplat_fd[i] >= 0)
			close(tcplat_fd[i]);
		tcplat_fd[i] = -1;
	}
	tcplat_present = false;
}

/*
 * Open the tcplat files of the current network namespace.  Called once
 * before unshare() (a module registering its sysctls in init_net only is
 * then still reachable through the open files) and once after it (a module
 * with per-netns sysctls is then used in the test namespace instead).
 */
static void tcplat_open_all(void)
{
	struct stat st;
	char path[128];
	int i;

	if (stat(TCPLAT_DIR, &st) || !S_ISDIR(st.st_mode))
		return;
	tcplat_close_all();
	tcplat_present = true;
	for (i = 0; i < TL_NR; i++) {
		snprintf(path, sizeof(path), "%s/%s", TCPLAT_DIR, tcplat_names[i]);
		tcplat_fd[i] = open(path, i <= TL_OBSERVE_PORT ? O_RDWR : O_RDONLY);
	}
}

static long long delta(long long before, long long after)
{
	if (before < 0 || after < 0)
		return -1;
	return after - before;
}

/* ---- server thread ---------------------------------------------------- */

static void server_ready(struct run *r)
{
	pthread_mutex_lock(&r->lock);
	r->ready = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* Read exactly 4 bytes; returns the number of bytes read or -1. */
static ssize_t read4(int fd, unsigned char *buf)
{
	size_t got = 0;

	while (got < 4) {
		ssize_t n = read(fd, buf + got, 4 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (!n)
			break;
		got += n;
	}
	return got;
}

/* The listening socket, bound to the loopback address; -1 on failure. */
static int server_listen(struct run *r)
{
	struct sockaddr_storage ss;
	socklen_t alen;
	int fd;

	fd = socket(r->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		set_err(r->srv_err, "server: socket: %s", strerror(errno));
		return -1;
	}
	if (sock_set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1)) {
		set_err(r->srv_err, "server: SO_REUSEADDR: %s", strerror(errno));
		goto fail;
	}
	alen = sock_loopback_addr(r->family, r->o->port, &ss);
	if (bind(fd, (struct sockaddr *)&ss, alen)) {
		set_err(r->srv_err, "server: bind %s port %u: %s", r->fname,
			r->o->port, strerror(errno));
		goto fail;
	}
	if (listen(fd, 128)) {
		set_err(r->srv_err, "server: listen: %s", strerror(errno));
		goto fail;
	}
	if (sock_local_port(fd, &r->sport)) {
		set_err(r->srv_err, "server: getsockname: %s", strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/*
 * One accepted connection: read the 4-byte pattern into @val and close,
 * which sends our FIN: this is the side that races.  With server_linger
 * the close also waits for the ACK of that FIN and then turns the socket
 * into a FIN_WAIT2 timewait socket itself, under the socket lock, on this
 * CPU.  Returns the bytes read, or -1 (r->srv_err says why).
 */
static ssize_t server_one(struct run *r, int cfd, unsigned long expected,
			  unsigned int *val)
{
	struct linger lg = { .l_onoff = 1, .l_linger = IO_TIMEOUT_S };
	unsigned char buf[4];
	ssize_t n = -1;

	if (sock_set_io_timeouts(cfd, IO_TIMEOUT_S)) {
		set_err(r->srv_err, "server: SO_RCVTIMEO/SO_SNDTIMEO: %s", strerror(errno));
		goto out;
	}
	n = read4(cfd, buf);
	if (n < 0) {
		set_err(r->srv_err, "server: read on connection %lu: %s",
			expected, strerror(errno));
		goto out;
	}
	memcpy(val, buf, sizeof(*val));
	*val = ntohl(*val);
	if (r->o->server_linger &&
	    setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg))) {
		set_err(r->srv_err, "server: SO_LINGER: %s", strerror(errno));
		n = -1;
	}
out:
	close(cfd);
	return n;
}

/* Check the pattern of connection @expected. */
static void server_check(struct run *r, ssize_t n, unsigned int val,
			 unsigned long expected)
{
	r->srv_accepted++;
	if (n != 4) {
		r->srv_short++;
		msg_warn("server: connection %lu: short read (%zd of 4 bytes)\n",
			 expected, n);
	} else if (val != (unsigned int)expected) {
		r->srv_mismatch++;
		msg_warn("server: connection %lu: got pattern %u, expected %lu\n",
			 expected, val, expected);
	}
}

static void *server_thread(void *arg)
{
	struct run *r = arg;
	unsigned long expected = 0;
	unsigned int val = 0;
	int err, fd, cfd;
	ssize_t n;

	err = cpu_pin(r->cpu_server);
	if (err)
		set_err(r->srv_err, "server: pin to CPU %d: %s", r->cpu_server, strerror(err));
	fd = err ? -1 : server_listen(r);
	r->lfd = fd;
	r->c.sport = r->sport;
	server_ready(r);
	while (fd >= 0) {
		cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0) {
			if (run_stopped(r))
				break;
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			set_err(r->srv_err, "server: accept: %s", strerror(errno));
			break;
		}
		n = server_one(r, cfd, expected, &val);
		if (n < 0 || (n == 4 && val == END_MAGIC))
			break;
		if (n != 4 && run_stopped(r))
			break;	/* the client gave up; it reports why */
		server_check(r, n, val, expected++);
	}
	stop_flag_set(&r->stop);
	return NULL;
}

/* ---- client thread ---------------------------------------------------- */

#define cli_fail(r, fmt, ...) reconnect_fail(&(r)->c, fmt, ##__VA_ARGS__)

/* Send the 4-byte pattern and read until the server's FIN. */
static int client_exchange(struct run *r, int fd, unsigned int pattern)
{
	unsigned int wire = htonl(pattern);
	char buf[64];
	ssize_t n;

	do {
		n = send(fd, &wire, sizeof(wire), MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n != sizeof(wire)) {
		cli_fail(r, "send: %s", n < 0 ? strerror(errno) : "short write");
		return -1;
	}
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (!n)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			cli_fail(r, "read until EOF: %s", strerror(errno));
		else
			cli_fail(r, "read until EOF: server sent %zd unexpected bytes", n);
		return -1;
	}
	/*
	 * The race needs the ACK of the server's FIN and our RST (or FIN) as
	 * two segments.  Current kernels delay that ACK (the FIN puts the
	 * socket in pingpong mode), so it is usually merged into the RST/ACK;
	 * TCP_QUICKACK sends it now, like the 2020 report's traces show.
	 */
	if (r->o->quickack && sock_set_int(fd, IPPROTO_TCP, TCP_QUICKACK, 1)) {
		cli_fail(r, "TCP_QUICKACK: %s", strerror(errno));
		return -1;
	}
	if (r->o->close_delay_us)
		time_sleep_ns(r->o->close_delay_us * NSEC_PER_USEC);
	return 0;
}

/*
 * fin mode close: shutdown(SHUT_WR) and poll TCP_INFO until the socket is
 * in TCP_CLOSE, i.e. the server acknowledged our FIN.
 */
static int client_fin_close(struct run *r, int fd, unsigned int retrans0,
			    unsigned int *flags)
{
	unsigned long long t0, waited;
	struct tcp_info ti;

	t0 = time_ns();
	if (shutdown(fd, SHUT_WR)) {
		cli_fail(r, "shutdown(SHUT_WR): %s", strerror(errno));
		return -1;
	}
	for (;;) {
		if (sock_tcp_info(fd, &ti)) {
			cli_fail(r, "getsockopt(TCP_INFO) after shutdown: %s",
				 strerror(errno));
			return -1;
		}
		waited = time_ns() - t0;
		if (ti.tcpi_state == BPF_TCP_CLOSE)
			break;
		if (waited >= FIN_CLOSE_BOUND_NS) {
			cli_fail(r, "FIN not acknowledged after %llu ms (state %u)",
				 waited / NSEC_PER_MSEC, ti.tcpi_state);
			return -1;
		}
		time_sleep_ns(FIN_POLL_NS);
	}
	if (ti.tcpi_total_retrans > retrans0)
		*flags |= HIT_FIN_RTX;
	if (waited >= SLOW_CLOSE_NS)
		*flags |= HIT_SLOW_CLOSE;
	return 0;
}

static void record_hit(struct run *r, unsigned long idx, unsigned int flags)
{
	if (flags & HIT_SYN_RTX)
		r->syn_rtx++;
	if (flags & HIT_SYN_LATE)
		r->syn_slow++;
	if (flags & HIT_SYN_RST)
		r->syn_rst++;
	if (flags & HIT_FIN_RTX)
		r->fin_rtx++;
	if (flags & HIT_SLOW_CLOSE)
		r->slow_close++;
	r->hit[idx] |= flags;
}

static void *client_thread(void *arg)
{
	struct run *r = arg;
	unsigned long long start, deadline, t0, clat;
	unsigned int flags, retrans;
	unsigned long i;
	int err, fd;

	start = time_ns();
	err = cpu_pin(r->cpu_client);
	if (err) {
		cli_fail(r, "pin to CPU %d: %s", r->cpu_client, strerror(err));
		goto out;
	}
	deadline = start + r->o->time_s * NSEC_PER_SEC;

	for (i = 0; i < r->o->count; i++) {
		if (run_stopped(r))
			break;
		if (time_ns() >= deadline) {
			r->time_bound_hit = true;
			break;
		}
		t0 = time_ns();
		fd = reconnect(&r->c, i == 0, &clat, &flags, &retrans);
		if (fd < 0)
			goto out;
		/* A stale peer met by this connect was left by the previous close. */
		if (flags && i > 0)
			record_hit(r, i - 1, flags);
		r->conn_ns[i] = clat;
		if (client_exchange(r, fd, (unsigned int)i)) {
			close(fd);
			goto out;
		}
		flags = 0;
		if (r->o->mode == MODE_FIN &&
		    client_fin_close(r, fd, retrans, &flags)) {
			close(fd);
			goto out;
		}
		/* rst mode: SO_LINGER {1, 0} makes this close send a RST/ACK. */
		close(fd);
		r->txn_ns[i] = time_ns() - t0;
		r->done = i + 1;
		if (flags)
			record_hit(r, i, flags);
	}

	/*
	 * A last connection from the same port tells the server to stop and
	 * shows whether the last measured close left a stale peer.
	 */
	if (!r->done)
		goto out;
	fd = reconnect(&r->c, false, &clat, &flags, &retrans);
	if (fd < 0)
		goto out;
	if (flags)
		record_hit(r, r->done - 1, flags);
	if (client_exchange(r, fd, END_MAGIC)) {
		close(fd);
		goto out;
	}
	close(fd);
out:
	r->elapsed_ns = time_ns() - start;
	stop_flag_set(&r->stop);
	return NULL;
}

/* ---- counters and the result lines ---------------------------------- */

/* The machine-readable result line; keep the keys stable. */
#define FMT_SUMMARY \
	"%s: family=%s mode=%s widen_us=%lu conns=%lu hits=%lu stale=%lu hit_pct=%.2f over100ms=%lu over1s=%lu p50_us=%llu p99_us=%llu p999_us=%llu max_us=%llu syn_retrans=%s twrelookup=%s closed_sk=%s\n"
/* Details: how the hits were seen, connect() latency, placement. */
#define FMT_DETAIL \
	"%s_detail: family=%s mode=%s widen_mode=%lu quickack=%d server_linger=%d close_delay_us=%lu syn_rtx=%lu syn_rtx_late=%lu syn_rst=%lu fin_rtx=%lu slow_close=%lu connect_p50_us=%llu connect_p99_us=%llu connect_p999_us=%llu connect_max_us=%llu elapsed_ms=%llu server_cpu=%d client_cpu=%d widen_hits=%s fw2_timewait=%s\n"
#define FMT_HITS \
	"  hits %lu (%.2f%%): SYN retransmit %lu (late %lu), RST to SYN %lu, FIN retransmit %lu, slow close %lu; >=100ms %lu, >=1s %lu\n"
#define FMT_COUNTERS \
	"  TcpExtTCPSynRetrans +%s, TcpExtTCPClosedRelookup +%s, tcplat closed_sk_segments +%s\n"

/* The counters around one run: TcpExt and tcplat's, "na" when absent. */
struct counters {
	struct mib_snap mib0, mib1;
	long long csk0, whit0, fw20;
	long long d_syn, d_twr, d_cack, d_csk, d_whit, d_fw2;
};

/* The connections of one run, counted. */
struct tally {
	unsigned long n, hits, proven, stale, over100, over1s;
	double pct;
	struct stats_summary txn, con;
};

static const char *mode_name(enum close_mode m)
{
	return m == MODE_RST ? "rst" : "fin";
}

static int widen_setup(struct run *r)
{
	const struct options *o = r->o;

	if (tcplat_write(TL_WIDEN_US, o->widen_us) ||
	    tcplat_write(TL_WIDEN_PORT, r->sport) ||
	    tcplat_write(TL_WIDEN_MODE, o->widen_mode)) {
		msg_warn("%s: cannot configure tcplat (%s): %s\n", r->fname,
			 TCPLAT_DIR, strerror(errno));
		return -1;
	}
	return 0;
}

static int widen_restore(struct run *r)
{
	if (tcplat_write(TL_WIDEN_MODE, 0) ||
	    tcplat_write(TL_WIDEN_US, 0) ||
	    tcplat_write(TL_WIDEN_PORT, 0)) {
		msg_warn("%s: cannot restore tcplat sysctls to 0: %s\n",
			 r->fname, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * tcplat's observers count only the armed port of the namespace the
 * write comes from (this one): the counters are this run's.
 */
static void counters_before(struct run *r, struct counters *c)
{
	if (tcplat_present && tcplat_write(TL_OBSERVE_PORT, r->sport))
		msg_warn("%s: cannot set tcplat observe_port: %s\n",
			 r->fname, strerror(errno));
	c->csk0 = tcplat_read(TL_CLOSED_SK);
	c->whit0 = tcplat_read(TL_WIDEN_HITS);
	c->fw20 = tcplat_read(TL_FW2_TW);
}

static void counters_after(struct run *r, struct counters *c)
{
	mib_snapshot(&c->mib1);
	c->d_syn = mib_delta(&c->mib0, &c->mib1, "TCPSynRetrans");
	c->d_twr = mib_delta(&c->mib0, &c->mib1, "TCPClosedRelookup");
	c->d_cack = mib_delta(&c->mib0, &c->mib1, "TCPSYNChallenge");
	c->d_csk = delta(c->csk0, tcplat_read(TL_CLOSED_SK));
	c->d_whit = delta(c->whit0, tcplat_read(TL_WIDEN_HITS));
	c->d_fw2 = delta(c->fw20, tcplat_read(TL_FW2_TW));
	if (tcplat_present && tcplat_write(TL_OBSERVE_PORT, 0))
		msg_warn("%s: cannot reset tcplat observe_port: %s\n",
			 r->fname, strerror(errno));
}

/*
 * Count the hits.  A close that was only slow is no proof of a lost
 * segment (a loaded host or TCG can stall a vCPU for 100 ms): "stale"
 * counts only hits shown by a retransmission or a RST, less the SYNs that
 * the connection's own socket answered with an ACK (TcpExtTCPSYNChallenge:
 * a live socket, or, on a kernel with the series, one that the client's
 * RST closed while the SYN waited in its backlog): a SYN retransmission,
 * but no stale timewait peer.
 */
static void tally_run(struct run *r, const struct counters *c, struct tally *t)
{
	unsigned long i;

	memset(t, 0, sizeof(*t));
	t->n = r->done;
	for (i = 0; i < t->n; i++) {
		t->hits += !!r->hit[i];
		t->proven += !!(r->hit[i] & ~HIT_SLOW_CLOSE);
		t->over100 += r->txn_ns[i] >= 100 * NSEC_PER_MSEC;
		t->over1s += r->txn_ns[i] >= NSEC_PER_SEC;
	}
	t->pct = t->n ? 100.0 * t->hits / t->n : 0.0;
	t->stale = t->proven;
	if (c->d_cack > 0)
		t->stale -= t->proven < (unsigned long)c->d_cack ?
			    t->proven : (unsigned long)c->d_cack;
	stats_summarize(r->txn_ns, t->n, &t->txn);
	stats_summarize(r->conn_ns, t->n, &t->con);
}

/* The TcpExt counters of mib_interesting[] that moved, on one line. */
static void print_mib_deltas(const struct counters *c)
{
	long long d;
	size_t i;

	printf("  TcpExt deltas:");
	for (i = 0; i < ARRAY_SIZE(mib_interesting); i++) {
		d = mib_delta(&c->mib0, &c->mib1, mib_interesting[i]);
		if (d > 0)
			printf(" %s=+%lld", mib_interesting[i], d);
	}
	printf("\n");
}

static void print_report(struct run *r, const struct counters *c,
			 const struct tally *t)
{
	const struct options *o = r->o;
	char syn[24], twr[24], csk[24], whit[24], fw2[24];

	mib_fmt_count(syn, sizeof(syn), c->d_syn);
	mib_fmt_count(twr, sizeof(twr), c->d_twr);
	mib_fmt_count(csk, sizeof(csk), c->d_csk);
	mib_fmt_count(whit, sizeof(whit), c->d_whit);
	mib_fmt_count(fw2, sizeof(fw2), c->d_fw2);
	printf(FMT_SUMMARY, PROG, r->fname, mode_name(o->mode),
	       o->widen ? o->widen_us : 0, t->n, t->hits, t->stale, t->pct,
	       t->over100, t->over1s, t->txn.p50, t->txn.p99, t->txn.p999,
	       t->txn.max, syn, twr, csk);
	printf(FMT_DETAIL, PROG, r->fname, mode_name(o->mode),
	       o->widen ? o->widen_mode : 0, o->quickack, o->server_linger,
	       o->close_delay_us, r->syn_rtx, r->syn_slow, r->syn_rst,
	       r->fin_rtx, r->slow_close, t->con.p50, t->con.p99, t->con.p999,
	       t->con.max, r->elapsed_ns / NSEC_PER_MSEC, r->cpu_server,
	       r->cpu_client, whit, fw2);
	printf("  %s/%s: %lu of %lu connections in %llu ms, port %u -> %u, cpus %d/%d%s\n",
	       r->fname, mode_name(o->mode), t->n, o->count,
	       r->elapsed_ns / NSEC_PER_MSEC, r->c.cport, r->sport,
	       r->cpu_client, r->cpu_server,
	       r->time_bound_hit ? " (time bound reached)" : "");
	printf("  %-12s %10s %10s %10s %10s\n", "latency(us)", "p50", "p99",
	       "p99.9", "max");
	printf("  %-12s %10llu %10llu %10llu %10llu\n", "connect",
	       t->con.p50, t->con.p99, t->con.p999, t->con.max);
	printf("  %-12s %10llu %10llu %10llu %10llu\n", "transaction",
	       t->txn.p50, t->txn.p99, t->txn.p999, t->txn.max);
	printf(FMT_HITS, t->hits, t->pct, r->syn_rtx, r->syn_slow, r->syn_rst,
	       r->fin_rtx, r->slow_close, t->over100, t->over1s);
	printf(FMT_COUNTERS, syn, twr, csk);
	print_mib_deltas(c);
}

/*
 * Did the run measure?  Not when a thread failed, a byte was lost or
 * wrong, the two sides disagree on the count, or nothing was measured.
 */
static bool run_measured(struct run *r, unsigned long n)
{
	const char *m = mode_name(r->o->mode);
	bool ok = true;

	if (r->c.err[0]) {
		msg_warn("%s/%s: %s\n", r->fname, m, r->c.err);
		ok = false;
	}
	if (r->srv_err[0]) {
		msg_warn("%s/%s: %s\n", r->fname, m, r->srv_err);
		ok = false;
	}
	if (r->srv_short || r->srv_mismatch) {
		msg_warn("%s/%s: data check failed: %lu short, %lu wrong patterns\n",
			 r->fname, m, r->srv_short, r->srv_mismatch);
		ok = false;
	}
	if (ok && r->srv_accepted != n) {
		msg_warn("%s/%s: server accepted %lu connections, client completed %lu\n",
			 r->fname, m, r->srv_accepted, n);
		ok = false;
	}
	if (stop_requested()) {
		msg_warn("%s/%s: interrupted\n", r->fname, m);
		ok = false;
	}
	if (!n) {
		msg_warn("%s/%s: no connection completed\n", r->fname, m);
		ok = false;
	}
	return ok;
}

/* ---- one run ---------------------------------------------------------- */

/* Is @family usable on loopback in this namespace? */
static bool family_usable(int family, char *why, size_t sz)
{
	struct sockaddr_storage ss;
	socklen_t alen;
	int fd;

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, sz, "socket: %s", strerror(errno));
		return false;
	}
	alen = sock_loopback_addr(family, 0, &ss);
	if (bind(fd, (struct sockaddr *)&ss, alen)) {
		snprintf(why, sz, "bind to loopback: %s", strerror(errno));
		close(fd);
		return false;
	}
	close(fd);
	return true;
}

static int run_init(struct run *r, const struct options *o, int family,
		    const int cpus[2])
{
	char why[128];

	memset(r, 0, sizeof(*r));
	r->o = o;
	r->family = family;
	r->fname = sock_family_name(family);
	r->c.family = family;
	r->c.rst_close = o->mode == MODE_RST;
	r->cpu_server = cpus[0];
	r->cpu_client = cpus[1];
	r->lfd = -1;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	if (o->widen && !tcplat_present) {
		msg_warn("%s: -w %lu: tcplat module not loaded\n", r->fname, o->widen_us);
		return -1;
	}
	if (!family_usable(family, why, sizeof(why))) {
		msg_warn("%s not available: %s\n", r->fname, why);
		return -1;
	}
	r->conn_ns = calloc(o->count, sizeof(*r->conn_ns));
	r->txn_ns = calloc(o->count, sizeof(*r->txn_ns));
	r->hit = calloc(o->count, sizeof(*r->hit));
	if (!r->conn_ns || !r->txn_ns || !r->hit) {
		msg_warn("%s: out of memory for %lu connections\n", r->fname, o->count);
		return -1;
	}
	return 0;
}

static void run_free(struct run *r)
{
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r->conn_ns);
	free(r->txn_ns);
	free(r->hit);
}

/* Start the server thread and wait for its listener; 0 or -1. */
static int server_start(struct run *r, pthread_t *srv)
{
	int err;

	err = pthread_create(srv, NULL, server_thread, r);
	if (err) {
		msg_warn("%s: pthread_create(server): %s\n", r->fname, strerror(err));
		return -1;
	}
	pthread_mutex_lock(&r->lock);
	while (!r->ready)
		pthread_cond_wait(&r->cond, &r->lock);
	pthread_mutex_unlock(&r->lock);
	if (r->lfd < 0) {
		pthread_join(*srv, NULL);
		msg_warn("%s: %s\n", r->fname, r->srv_err);
		return -1;
	}
	return 0;
}

/* Stop the server, wake it if it still waits in accept(). */
static void server_stop(struct run *r, pthread_t srv)
{
	stop_flag_set(&r->stop);
	shutdown(r->lfd, SHUT_RDWR);
	pthread_join(srv, NULL);
	close(r->lfd);
}

/* The client's connections, widened when asked; 0, or -1 on a setup error. */
static int run_client(struct run *r)
{
	pthread_t cli;
	int err, ret = 0;

	if (r->o->widen && widen_setup(r)) {
		widen_restore(r);
		return -1;
	}
	err = pthread_create(&cli, NULL, client_thread, r);
	if (err)
		reconnect_fail(&r->c, "pthread_create(client): %s", strerror(err));
	else
		pthread_join(cli, NULL);
	if (r->o->widen && widen_restore(r))
		ret = -1;
	return ret;
}

/* One run of one family: 0 when it measured, -1 when it could not. */
static int run_test(const struct options *o, int family, const int cpus[2])
{
	struct counters *c = calloc(1, sizeof(*c));
	bool ok = false;
	struct tally t;
	pthread_t srv;
	struct run r;

	if (!c) {
		msg_warn("out of memory\n");
		return -1;
	}
	if (run_init(&r, o, family, cpus))
		goto out;
	mib_snapshot(&c->mib0);
	if (server_start(&r, &srv))
		goto out;
	counters_before(&r, c);
	ok = !run_client(&r);
	server_stop(&r, srv);
	counters_after(&r, c);
	tally_run(&r, c, &t);
	if (stats_samples_write(o->samples, r.fname, r.txn_ns, t.n)) {
		msg_warn("%s: -s %s: %s\n", r.fname, o->samples, strerror(errno));
		ok = false;
	}
	print_report(&r, c, &t);
	ok = run_measured(&r, t.n) && ok;
out:
	run_free(&r);
	free(c);
	return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct options o;
	int cpus[2], ncpu, ret = 0;
	char why[128];

	parse_opts(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);
	stop_catch_signals();

	ncpu = cpu_pick_two(&cpus[0], &cpus[1]);
	if (ncpu < 0) {
		msg_warn("sched_getaffinity: %s\n", strerror(errno));
		return 1;
	}
	if (ncpu < 2) {
		msg_warn("needs two CPUs for the server and client threads, only one available\n");
		return 1;
	}
	/* See tcplat_open_all(): first the namespace we were started in. */
	tcplat_open_all();
	if (!o.no_netns && netns_enter(why, sizeof(why))) {
		msg_warn("%s\n", why);
		return 1;
	}
	tcplat_open_all();

	if (o.ipv4 && run_test(&o, AF_INET, cpus))
		ret = 1;
	if (o.ipv6 && run_test(&o, AF_INET6, cpus))
		ret = 1;
	tcplat_close_all();
	return ret;
}
